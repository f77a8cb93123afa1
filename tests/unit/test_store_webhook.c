/*
 * Unit tests of the webhook outbox's persistence (store.h, sqlite_webhooks.c,
 * pgsql_webhooks.c) on a real store: a migrated SQLite file in a temp folder,
 * or the PostgreSQL database named by GATEHOUSE_TEST_STORE_DSN (the same
 * tests; tests/api/store-webhook-pg.test.mjs runs them so in make api-pg).
 * Every op; a claim leases what it takes (nobody else gets it until the lease
 * runs out); racing claimers never take the same row; a done row is never
 * claimed again nor changed by a late outcome; purge takes only done rows.
 * Every row a run makes ends done, so a second run on the same database
 * claims nothing of the first's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"
#include "test_store.h"

static char dir[] = "/tmp/gh-store-webhook-XXXXXX";
static char path[256];
static char tag[32]; /* makes this run's message ids unique on a shared database */
static int serial;
static int64_t base; /* this run's "now", in ms: after every earlier run's rows */

static int64_t
add(struct store *st, int64_t due_ms, const char *event)
{
	struct store_webhook w = { 0 };
	char id[80];

	snprintf(id, sizeof(id), "msg_%s_%d", tag, ++serial);
	if (strlen(id) >= sizeof(w.msg_id)) {
		fprintf(stderr, "message id too long\n");
		exit(1);
	}
	memcpy(w.msg_id, id, strlen(id) + 1);
	snprintf(w.endpoint, sizeof(w.endpoint), "https://hooks.example.com/%s", tag);
	snprintf(w.event, sizeof(w.event), "%s", event);
	w.payload =
	    "{\"type\":\"user.login\",\"timestamp\":\"2026-12-03T10:00:00Z\",\"data\":{\"user_id\":1}}";
	w.created_at = base / 1000;
	w.next_attempt_ms = due_ms;
	if (store_webhook_add(st, &w) != 0 || w.id <= 0) {
		fprintf(stderr, "cannot add a webhook row\n");
		exit(1);
	}
	return w.id;
}

static int
claim(struct store *st, int64_t now, int64_t lease, struct store_webhook *out, int max)
{
	int n = -1;

	if (store_webhook_claim(st, now, lease, out, max, &n) != 0)
		return -1;
	return n;
}

/* done: given up (so no later run claims it) */
static void
finish(struct store *st, int64_t id)
{
	CHECK(store_webhook_failed(st, id, 0, "done by the test", 0, true, base / 1000) == 0);
}

static void
test_ops(struct store *st)
{
	struct store_webhook w[8], got;
	int64_t a, b, c;

	/* added in a rolled-back transaction: gone */
	CHECK(store_begin(st) == 0);
	a = add(st, base, "user.login");
	store_rollback(st);
	CHECK(store_webhook_get(st, a, &got) == STORE_NOTFOUND);

	a = add(st, base, "user.login");
	b = add(st, base + 10, "user.created");
	c = add(st, base + 1000, "token.created"); /* not due yet */
	CHECK(store_webhook_get(st, a, &got) == 0);
	CHECK(got.id == a && got.attempts == 0 && !got.delivered && got.done_at == 0 && got.last_status == 0);
	CHECK(strncmp(got.msg_id, "msg_", 4) == 0 && strcmp(got.event, "user.login") == 0);
	CHECK(got.payload && strstr(got.payload, "\"user_id\":1") != NULL);
	CHECK(got.next_attempt_ms == base && got.created_at == base / 1000);
	store_webhook_free(&got);
	CHECK(got.payload == NULL);

	/* due now: a and b, in their order, leased until base + 500 */
	CHECK(claim(st, base + 20, base + 500, w, 8) == 2);
	CHECK(w[0].id == a && w[1].id == b);
	CHECK(strcmp(w[1].event, "user.created") == 0 && w[1].payload[0] == '{');
	store_webhook_free(&w[0]);
	store_webhook_free(&w[1]);
	/* leased: nobody gets them before the lease runs out */
	CHECK(claim(st, base + 499, base + 900, w, 8) == 0);
	/* after it: a, b again, and c is due too; max bounds the batch */
	CHECK(claim(st, base + 1000, base + 2000, w, 2) == 2);
	CHECK(w[0].id == a && w[1].id == b);
	store_webhook_free(&w[0]);
	store_webhook_free(&w[1]);
	CHECK(claim(st, base + 1000, base + 2000, w, 8) == 1 && w[0].id == c);
	store_webhook_free(&w[0]);
	CHECK(store_webhook_failed(st, c, 503, "HTTP 503", base + 100000, false, base / 1000) == 0);
	CHECK(store_webhook_failed(st, b, 0, "connection refused", base + 5000, false, base / 1000) == 0);

	/* a failure: counted, recorded, due again at its time */
	CHECK(store_webhook_failed(st, a, 500, "HTTP 500", base + 3000, false, base / 1000) == 0);
	CHECK(store_webhook_get(st, a, &got) == 0);
	CHECK(got.attempts == 1 && got.last_status == 500 && strcmp(got.last_error, "HTTP 500") == 0);
	CHECK(got.next_attempt_ms == base + 3000 && got.done_at == 0 && !got.delivered);
	store_webhook_free(&got);
	CHECK(claim(st, base + 2999, base + 4000, w, 8) == 0);
	CHECK(claim(st, base + 3000, base + 4000, w, 8) == 1 && w[0].id == a);
	store_webhook_free(&w[0]);

	/* delivered: done, never claimed again, and a late outcome changes nothing */
	CHECK(store_webhook_delivered(st, a, 204, base / 1000 + 5) == 0);
	CHECK(store_webhook_failed(st, a, 500, "late", base + 9000, false, base / 1000) == 0);
	CHECK(store_webhook_get(st, a, &got) == 0);
	CHECK(got.delivered && got.done_at == base / 1000 + 5 && got.attempts == 2 && got.last_status == 204);
	CHECK(got.last_error[0] == '\0');
	store_webhook_free(&got);

	/* given up: done, not delivered */
	CHECK(store_webhook_failed(st, b, 410, "HTTP 410", 0, true, base / 1000 + 6) == 0);
	CHECK(store_webhook_get(st, b, &got) == 0);
	CHECK(!got.delivered && got.done_at == base / 1000 + 6 && got.last_status == 410);
	store_webhook_free(&got);
	CHECK(claim(st, base + 100000, base + 200000, w, 8) == 1 && w[0].id == c);
	store_webhook_free(&w[0]);
	finish(st, c);
	CHECK(claim(st, base + 100000, base + 200000, w, 8) == 0);
}

struct racer {
	struct store *st;
	int64_t ids[64];
	int n;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct store_webhook w[3];
	int n, empty = 0;

	/* take small batches until the others have taken the rest */
	while (empty < 3 && r->n < 64) {
		if (store_webhook_claim(r->st, base + 50000, base + 60000, w, 3, &n) != 0)
			n = 0;
		for (int i = 0; i < n; i++) {
			if (r->n < 64)
				r->ids[r->n++] = w[i].id;
			store_webhook_free(&w[i]);
		}
		empty = n == 0 ? empty + 1 : 0;
	}
	return NULL;
}

static void
test_race(struct store *st)
{
	enum { ROWS = 40, THREADS = 4 };
	struct racer r[THREADS];
	pthread_t t[THREADS];
	int64_t ids[ROWS];
	int seen[ROWS] = { 0 }, total = 0;

	for (int i = 0; i < ROWS; i++)
		ids[i] = add(st, base + 40000 + i, "user.login");
	for (int i = 0; i < THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].st = st;
		CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		for (int k = 0; k < r[i].n; k++)
			for (int j = 0; j < ROWS; j++)
				if (r[i].ids[k] == ids[j]) {
					seen[j]++;
					total++;
				}
	}
	CHECK(total == ROWS);
	for (int j = 0; j < ROWS; j++)
		CHECK(seen[j] == 1);
	for (int j = 0; j < ROWS; j++)
		finish(st, ids[j]);
}

static void
test_purge(struct store *st)
{
	int64_t old = add(st, base, "user.login"), pending = add(st, base + 10 * 86400000LL, "user.login");
	int64_t recent = add(st, base, "user.login");
	struct store_webhook got;
	int deleted = -1;

	CHECK(store_webhook_delivered(st, old, 200, 1000) == 0);
	CHECK(store_webhook_failed(st, recent, 400, "HTTP 400", 0, true, base / 1000) == 0);
	CHECK(store_webhook_purge(st, 2000, 10000, &deleted) == 0);
	CHECK(deleted >= 1);
	CHECK(store_webhook_get(st, old, &got) == STORE_NOTFOUND);
	CHECK(store_webhook_get(st, recent, &got) == 0);
	store_webhook_free(&got);
	CHECK(store_webhook_get(st, pending, &got) == 0 && got.done_at == 0);
	store_webhook_free(&got);
	/* a limit of 0 deletes nothing */
	CHECK(store_webhook_purge(st, base / 1000 + 1, 0, &deleted) == 0 && deleted == 0);
	finish(st, pending);
	CHECK(store_webhook_get(st, 999999999999LL, &got) == STORE_NOTFOUND);
}

int
main(void)
{
	const char *pg = getenv("GATEHOUSE_TEST_STORE_DSN");
	char dsn[512];
	struct store *st;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	/* after every earlier run's rows (those are all done anyway) */
	base = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 100LL * 86400000;
	snprintf(tag, sizeof(tag), "%ld-%ld", (long)getpid(), (long)now.tv_sec);
	if (pg != NULL && *pg) {
		snprintf(dsn, sizeof(dsn), "%s", pg);
	} else {
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/webhook.db", dir);
		snprintf(dsn, sizeof(dsn), "sqlite:%s", path);
	}
	st = test_store_open(dsn);
	test_ops(st);
	test_race(st);
	test_purge(st);
	store_close(st);
	if (path[0]) {
		char f[300];
		const char *suffix[] = { "", "-wal", "-shm" };

		for (int i = 0; i < 3; i++) {
			snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
			unlink(f);
		}
		rmdir(dir);
	}
	{
		char name[64];
		snprintf(name, sizeof(name), "store_webhook (%s)", pg && *pg ? "postgres" : "sqlite");
		return test_summary(name);
	}
}
