/*
 * Unit tests of the second factors' persistence (store.h, sqlite_mfa.c,
 * pgsql_mfa.c) on a real store: a migrated SQLite file in a temp folder, or
 * the PostgreSQL database named by GATEHOUSE_TEST_STORE_DSN (the same tests;
 * tests/api/store-mfa-pg.test.mjs runs them so in make api-pg).  Every op, the guarantees that must hold
 * under concurrent requests (a TOTP step, a recovery code, a signature
 * counter value, a challenge and a pending login each used once, checked with
 * racing threads), mfa_enabled loaded with every user row, and the factors
 * going with their user.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"
#include "test.h"
#include "test_store.h"

static char dir[] = "/tmp/gh-store-mfa-XXXXXX";
static char path[256];
static char dsn[512];
static char tag[32]; /* makes this run's addresses and keys unique on a shared database */
static int serial;

static int64_t
add_user(struct store *st, const char *name)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.email, sizeof(u.email), "%s-%s-%d@example.com", name, tag, ++serial);
	snprintf(u.password, sizeof(u.password), "!unusable");
	snprintf(u.auth_hash, sizeof(u.auth_hash), "%032d", serial);
	u.is_active = u.email_verified = true;
	u.date_joined = 1000;
	if (store_user_create(st, &u) != 0) {
		fprintf(stderr, "cannot create user %s\n", u.email);
		exit(1);
	}
	return u.id;
}

/* a 64-hex-character "hash" unique to this run: n names it */
static void
hash_of(char out[STORE_KEYHASH_LEN + 1], const char *kind, int n)
{
	char seed[128];
	unsigned long h = 1469598103u;

	snprintf(seed, sizeof(seed), "%s/%s/%d", tag, kind, n);
	for (const char *p = seed; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	snprintf(out, STORE_KEYHASH_LEN + 1, "%016lx%016lx%016lx%016lx", h, h ^ 0x5555u, h ^ 0xaaaau,
	    (unsigned long)n);
}

/* the raw database, for what the store has no op for (a user deleted by hand) */
static int
raw_exec_user(struct store *st, const char *sql, int64_t id)
{
	char num[24];
	int ok;

	snprintf(num, sizeof(num), "%lld", (long long)id);
	if (strcmp(store_backend(st), "sqlite") == 0) {
		sqlite3 *db;
		sqlite3_stmt *s = NULL;

		if (sqlite3_open(path, &db) != SQLITE_OK)
			return -1;
		sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
		ok = sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_bind_int64(s, 1, id) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
		sqlite3_close(db);
	} else {
		PGconn *pg = PQconnectdb(dsn);
		const char *v[1] = { num };
		PGresult *r = PQexecParams(pg, sql, 1, NULL, v, NULL, NULL, 0);

		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		PQfinish(pg);
	}
	return ok ? 0 : -1;
}

/* ---- user rows carry mfa_enabled ---- */

struct listed {
	int64_t id;
	int seen, mfa;
};

static void
on_user(void *ctx, const struct store_user *u)
{
	struct listed *l = ctx;

	if (u->id == l->id) {
		l->seen++;
		l->mfa = u->mfa_enabled;
	}
}

/* every query that fills a store_user agrees with want */
static void
check_user_rows(struct store *st, int64_t id, const char *skey, const char *tkey, bool want)
{
	struct store_user u;
	struct store_session s;
	struct store_token t;
	struct listed l = { id, 0, -1 };
	int64_t total;

	memset(&u, 0, sizeof(u));
	u.mfa_enabled = !want;
	CHECK(store_user_by_id(st, id, &u) == 0 && u.mfa_enabled == want);
	u.mfa_enabled = !want;
	CHECK(store_user_by_email(st, u.email, &u) == 0 && u.mfa_enabled == want && u.id == id);
	CHECK(u.password[0] == '!'); /* the column after them is still the password */
	u.mfa_enabled = !want;
	CHECK(store_session_get(st, skey, &s, &u) == 0 && u.id == id && u.mfa_enabled == want);
	CHECK(s.reauth_at == 1234); /* the column after the user's is still read as itself */
	u.mfa_enabled = !want;
	CHECK(store_token_get(st, tkey, &t, &u) == 0 && u.id == id && u.mfa_enabled == want);
	CHECK(store_user_list(st, u.email, 0, 10, on_user, &l, &total) == 0 && l.seen == 1 &&
	    l.mfa == (int)want);
}

static void
test_user_mfa_enabled(struct store *st)
{
	int64_t id = add_user(st, "flag");
	struct store_session s;
	struct store_token t;

	memset(&s, 0, sizeof(s));
	hash_of(s.key_hash, "session", 1);
	s.user_id = id;
	snprintf(s.auth_hash, sizeof(s.auth_hash), "%032d", 1);
	s.created_at = s.last_seen = 1000;
	s.expires_at = 99999999999;
	s.reauth_at = 1234;
	CHECK(store_session_create(st, &s, "127.0.0.1", "test") == 0);
	memset(&t, 0, sizeof(t));
	hash_of(t.key_hash, "token", 1);
	t.user_id = id;
	snprintf(t.name, sizeof(t.name), "ci");
	t.created_at = 1000;
	CHECK(store_token_create(st, &t) == 0);

	check_user_rows(st, id, s.key_hash, t.key_hash, false);
	CHECK(store_user_set_mfa(st, id, true) == 0);
	check_user_rows(st, id, s.key_hash, t.key_hash, true);
	CHECK(store_user_set_mfa(st, id, true) == 0); /* unchanged is still found */
	CHECK(store_user_set_mfa(st, id, false) == 0);
	check_user_rows(st, id, s.key_hash, t.key_hash, false);
	CHECK(store_user_set_mfa(st, 987654321, true) == STORE_NOTFOUND);
}

/* ---- TOTP ---- */

struct race {
	struct store *st;
	pthread_barrier_t *go;
	int (*op)(struct race *r);
	int64_t a, b, c;
	const char *key;
	int rc;
};

static void *
racer(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->go);
	r->rc = r->op(r);
	return NULL;
}

#define RACERS 6

/* RACERS threads run op at once: how many got 0; *others gets how many got want_other */
static int
race(struct store *st, int (*op)(struct race *), int64_t a, int64_t b, int64_t c, const char *key,
    int want_other, int *others)
{
	pthread_t th[RACERS];
	struct race r[RACERS];
	pthread_barrier_t go;
	int won = 0;

	*others = 0;
	pthread_barrier_init(&go, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		r[i] = (struct race){ st, &go, op, a, b, c, key, -9 };
		pthread_create(&th[i], NULL, racer, &r[i]);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		won += r[i].rc == 0;
		*others += r[i].rc == want_other;
	}
	pthread_barrier_destroy(&go);
	return won;
}

static int
use_step(struct race *r)
{
	return store_totp_use_step(r->st, r->a, r->b);
}

static void
test_totp(struct store *st)
{
	int64_t id = add_user(st, "totp"), other = add_user(st, "totp-other");
	struct store_totp t;
	char longer[STORE_SEALED_MAX + 1];
	int others;

	CHECK(store_totp_get(st, id, &t) == STORE_NOTFOUND);
	CHECK(store_totp_use_step(st, id, 1) == STORE_NOTFOUND);
	CHECK(store_totp_confirm(st, id, 1, 0, 1000) == STORE_NOTFOUND);
	CHECK(store_totp_put_pending(st, id, "sealed-1", 1000) == 0);
	memset(&t, 0, sizeof(t));
	CHECK(store_totp_get(st, id, &t) == 0);
	CHECK_STR(t.secret, "sealed-1");
	CHECK(t.user_id == id && !t.confirmed && t.last_step == 0 && t.created_at == 1000);
	/* an unconfirmed one is not usable */
	CHECK(store_totp_use_step(st, id, 5) == STORE_NOTFOUND);
	/* set-up started again: replaced */
	CHECK(store_totp_put_pending(st, id, "sealed-2", 1100) == 0);
	CHECK(store_totp_get(st, id, &t) == 0 && strcmp(t.secret, "sealed-2") == 0 && t.created_at == 1100);
	/* too old for the confirmation window */
	CHECK(store_totp_confirm(st, id, 50, 1101, 1150) == STORE_NOTFOUND);
	CHECK(store_totp_get(st, id, &t) == 0 && !t.confirmed);
	CHECK(store_totp_confirm(st, id, 50, 1100, 1150) == 0);
	CHECK(store_totp_get(st, id, &t) == 0 && t.confirmed && t.last_step == 50 && t.created_at == 1150);
	CHECK_STR(t.secret, "sealed-2");
	/* confirmed once only; a new set-up cannot replace it */
	CHECK(store_totp_confirm(st, id, 60, 0, 1160) == STORE_NOTFOUND);
	CHECK(store_totp_put_pending(st, id, "sealed-3", 1200) == STORE_CONFLICT);
	CHECK(store_totp_get(st, id, &t) == 0 && strcmp(t.secret, "sealed-2") == 0 && t.confirmed &&
	    t.last_step == 50 && t.created_at == 1150);
	/* the replay guard: the confirming step, an older one, then each newer one once */
	CHECK(store_totp_use_step(st, id, 50) == STORE_CONFLICT);
	CHECK(store_totp_use_step(st, id, 49) == STORE_CONFLICT);
	CHECK(store_totp_use_step(st, id, 51) == 0);
	CHECK(store_totp_use_step(st, id, 51) == STORE_CONFLICT);
	CHECK(store_totp_use_step(st, id, 53) == 0);
	CHECK(store_totp_use_step(st, id, 52) == STORE_CONFLICT);
	CHECK(store_totp_get(st, id, &t) == 0 && t.last_step == 53);
	/* one code sent by several requests at once: accepted once */
	CHECK(race(st, use_step, id, 100, 0, NULL, STORE_CONFLICT, &others) == 1 && others == RACERS - 1);
	CHECK(store_totp_get(st, id, &t) == 0 && t.last_step == 100);
	/* the other user is untouched by all of it */
	CHECK(store_totp_get(st, other, &t) == STORE_NOTFOUND);
	CHECK(store_totp_use_step(st, other, 200) == STORE_NOTFOUND);
	/* a value that would not fit when read back is refused, nothing stored */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CHECK(store_totp_put_pending(st, other, longer, 1000) == -1);
	longer[STORE_SEALED_MAX - 1] = '\0';
	CHECK(store_totp_put_pending(st, other, longer, 1000) == 0);
	CHECK(store_totp_get(st, other, &t) == 0 && strlen(t.secret) == STORE_SEALED_MAX - 1);
	CHECK(store_totp_delete(st, id) == 0);
	CHECK(store_totp_delete(st, id) == STORE_NOTFOUND);
	CHECK(store_totp_get(st, id, &t) == STORE_NOTFOUND);
	CHECK(store_totp_use_step(st, id, 500) == STORE_NOTFOUND);
	/* removed, it may be set up again */
	CHECK(store_totp_put_pending(st, id, "sealed-4", 2000) == 0);
	CHECK(store_totp_get(st, id, &t) == 0 && !t.confirmed && t.last_step == 0);
}

/* ---- recovery codes ---- */

static int
use_code(struct race *r)
{
	return store_recovery_use(r->st, r->a, r->key, r->b);
}

static void
test_recovery(struct store *st)
{
	int64_t id = add_user(st, "codes"), other = add_user(st, "codes-other");
	char h[10][STORE_KEYHASH_LEN + 1], h2[10][STORE_KEYHASH_LEN + 1];
	int total = -1, unused = -1, others;

	for (int i = 0; i < 10; i++) {
		hash_of(h[i], "code", i);
		hash_of(h2[i], "code2", i);
	}
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 0 && unused == 0);
	CHECK(store_recovery_use(st, id, h[0], 1000) == STORE_NOTFOUND);
	CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 10, 1000) == 0);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 10);
	CHECK(store_recovery_use(st, id, h[3], 1100) == 0);
	CHECK(store_recovery_use(st, id, h[3], 1101) == STORE_NOTFOUND);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 9);
	/* another user's code, an unknown one */
	CHECK(store_recovery_use(st, other, h[4], 1100) == STORE_NOTFOUND);
	CHECK(store_recovery_use(st, id, h2[4], 1100) == STORE_NOTFOUND);
	/* the same code for two users is two codes */
	CHECK(store_recovery_replace(st, other, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 2, 1000) == 0);
	CHECK(store_recovery_use(st, other, h[0], 1100) == 0);
	CHECK(store_recovery_use(st, id, h[0], 1100) == 0);
	/* used at time 0 still counts as used */
	CHECK(store_recovery_use(st, other, h[1], 0) == 0);
	CHECK(store_recovery_use(st, other, h[1], 0) == STORE_NOTFOUND);
	/* one code sent by several requests at once: accepted once */
	CHECK(race(st, use_code, id, 1200, 0, h[5], STORE_NOTFOUND, &others) == 1 && others == RACERS - 1);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 7);
	/* new codes: the old ones stop working */
	CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) h2, 10, 2000) == 0);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 10);
	CHECK(store_recovery_use(st, id, h[6], 2100) == STORE_NOTFOUND);
	CHECK(store_recovery_use(st, id, h2[6], 2100) == 0);
	/* a duplicate in the batch: nothing changes (its own transaction, rolled back) */
	{
		char dup[3][STORE_KEYHASH_LEN + 1];

		memcpy(dup[0], h[7], sizeof(dup[0]));
		memcpy(dup[1], h[8], sizeof(dup[1]));
		memcpy(dup[2], h[7], sizeof(dup[2]));
		CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) dup, 3, 3000) ==
		    STORE_CONFLICT);
		CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 9);
		CHECK(store_recovery_use(st, id, h[8], 3100) == STORE_NOTFOUND);
	}
	/* inside the caller's transaction, rolled back: nothing changes either */
	CHECK(store_begin(st) == 0);
	CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 4, 4000) == 0);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 4 && unused == 4);
	store_rollback(st);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 10 && unused == 9);
	/* and committed: it lands */
	CHECK(store_begin(st) == 0);
	CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 4, 4000) == 0);
	CHECK(store_commit(st) == 0);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 4 && unused == 4);
	/* zero codes: a replace that only deletes */
	CHECK(store_recovery_replace(st, other, NULL, 0, 5000) == 0);
	CHECK(store_recovery_count(st, other, &total, &unused) == 0 && total == 0 && unused == 0);
	CHECK(store_recovery_delete_user(st, id) == 0);
	CHECK(store_recovery_delete_user(st, id) == 0);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 0 && unused == 0);
}

/* ---- WebAuthn ---- */

static struct store_webauthn
credential(int64_t user_id, const char *cred_id, const char *name, int64_t created)
{
	struct store_webauthn w;

	memset(&w, 0, sizeof(w));
	w.user_id = user_id;
	snprintf(w.cred_id, sizeof(w.cred_id), "%s-%s", cred_id, tag);
	snprintf(w.public_key, sizeof(w.public_key), "pQECAyYgASFYIKey-%s", cred_id);
	w.alg = -7;
	snprintf(w.name, sizeof(w.name), "%s", name);
	snprintf(w.transports, sizeof(w.transports), "internal,hybrid");
	w.created_at = created;
	return w;
}

struct names {
	int n;
	int64_t ids[8];
};

static void
on_cred(void *ctx, const struct store_webauthn *w)
{
	struct names *l = ctx;

	if (l->n < 8)
		l->ids[l->n] = w->id;
	l->n++;
}

static int
used(struct race *r)
{
	return store_webauthn_used(r->st, r->a, r->b, r->c, 5000);
}

static void
test_webauthn(struct store *st)
{
	int64_t id = add_user(st, "keys"), other = add_user(st, "keys-other");
	struct store_webauthn a = credential(id, "cred-a", "My laptop", 1000);
	struct store_webauthn b = credential(id, "cred-b", "Phone ☎", 1001);
	struct store_webauthn c = credential(other, "cred-c", "Key", 1002), w, dup;
	struct names l = { 0 };
	int n = -1, others;

	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 0);
	CHECK(store_webauthn_add(st, &a) == 0 && a.id > 0);
	CHECK(store_webauthn_add(st, &b) == 0 && b.id > a.id);
	CHECK(store_webauthn_add(st, &c) == 0);
	/* a credential id is registered once, whoever asks */
	dup = credential(other, "cred-a", "again", 1003);
	CHECK(store_webauthn_add(st, &dup) == STORE_CONFLICT);
	dup = credential(id, "cred-a", "again", 1003);
	CHECK(store_webauthn_add(st, &dup) == STORE_CONFLICT);
	/* inside a transaction the conflict leaves it usable (PostgreSQL: no aborted transaction) */
	CHECK(store_begin(st) == 0);
	CHECK(store_webauthn_add(st, &dup) == STORE_CONFLICT);
	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 2);
	CHECK(store_commit(st) == 0);

	memset(&w, 0, sizeof(w));
	CHECK(store_webauthn_get(st, a.cred_id, &w) == 0);
	CHECK(w.id == a.id && w.user_id == id && w.alg == -7 && w.sign_count == 0 && w.created_at == 1000 &&
	    w.last_used == 0);
	CHECK_STR(w.cred_id, a.cred_id);
	CHECK_STR(w.public_key, a.public_key);
	CHECK_STR(w.name, "My laptop");
	CHECK_STR(w.transports, "internal,hybrid");
	CHECK(store_webauthn_get(st, "no-such-credential", &w) == STORE_NOTFOUND);
	CHECK(store_webauthn_get_id(st, b.id, id, &w) == 0);
	CHECK_STR(w.name, "Phone ☎");
	CHECK(store_webauthn_get_id(st, b.id, other, &w) == STORE_NOTFOUND);
	CHECK(store_webauthn_get_id(st, c.id, id, &w) == STORE_NOTFOUND);
	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 2);
	CHECK(store_webauthn_list(st, id, on_cred, &l) == 0 && l.n == 2 && l.ids[0] == b.id &&
	    l.ids[1] == a.id);

	CHECK(store_webauthn_rename(st, a.id, id, "Work laptop") == 0);
	CHECK(store_webauthn_get_id(st, a.id, id, &w) == 0 && strcmp(w.name, "Work laptop") == 0);
	CHECK(store_webauthn_rename(st, a.id, other, "Mine now") == STORE_NOTFOUND);
	CHECK(store_webauthn_get_id(st, a.id, id, &w) == 0 && strcmp(w.name, "Work laptop") == 0);

	/* the counter: compare-and-set */
	CHECK(store_webauthn_used(st, a.id, 0, 5, 2000) == 0);
	CHECK(store_webauthn_get_id(st, a.id, id, &w) == 0 && w.sign_count == 5 && w.last_used == 2000);
	CHECK(store_webauthn_used(st, a.id, 0, 6, 2001) == STORE_CONFLICT);
	CHECK(store_webauthn_get_id(st, a.id, id, &w) == 0 && w.sign_count == 5 && w.last_used == 2000);
	CHECK(store_webauthn_used(st, a.id, 5, 6, 2002) == 0);
	CHECK(store_webauthn_used(st, 987654321, 0, 1, 2003) == STORE_NOTFOUND);
	/* an authenticator without a counter reports 0 each time */
	CHECK(
	    store_webauthn_used(st, b.id, 0, 0, 2004) == 0 && store_webauthn_used(st, b.id, 0, 0, 2005) == 0);
	/* two assertions with one counter value at once: one passes */
	CHECK(race(st, used, a.id, 6, 7, NULL, STORE_CONFLICT, &others) == 1 && others == RACERS - 1);
	CHECK(store_webauthn_get_id(st, a.id, id, &w) == 0 && w.sign_count == 7 && w.last_used == 5000);

	/* the longest values round-trip; longer ones are refused */
	dup = credential(other, "long", "long", 1004);
	memset(dup.cred_id, 'A', STORE_B64_MAX - 1);
	dup.cred_id[STORE_B64_MAX - 1] = '\0';
	memset(dup.public_key, 'B', STORE_B64_MAX - 1);
	dup.public_key[STORE_B64_MAX - 1] = '\0';
	memcpy(dup.cred_id, tag, strlen(tag)); /* unique to this run */
	CHECK(store_webauthn_add(st, &dup) == 0);
	CHECK(store_webauthn_get(st, dup.cred_id, &w) == 0 && strlen(w.cred_id) == STORE_B64_MAX - 1 &&
	    strlen(w.public_key) == STORE_B64_MAX - 1);
	{
		char name[300];

		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		CHECK(store_webauthn_rename(st, dup.id, other, name) == -1);
		CHECK(store_webauthn_get_id(st, dup.id, other, &w) == 0 && strcmp(w.name, "long") == 0);
	}

	CHECK(store_webauthn_delete(st, a.id, other) == STORE_NOTFOUND);
	CHECK(store_webauthn_delete(st, a.id, 0) == STORE_NOTFOUND);
	CHECK(store_webauthn_delete(st, a.id, id) == 0);
	CHECK(store_webauthn_delete(st, a.id, id) == STORE_NOTFOUND);
	CHECK(store_webauthn_get(st, a.cred_id, &w) == STORE_NOTFOUND);
	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 1);
	CHECK(store_webauthn_count(st, other, &n) == 0 && n == 2);
	/* its id may be registered again once removed */
	dup = credential(id, "cred-a", "back", 1005);
	CHECK(store_webauthn_add(st, &dup) == 0 && dup.id > a.id);
}

/* ---- removing every factor ---- */

static void
test_mfa_delete_user(struct store *st)
{
	int64_t id = add_user(st, "remove"), other = add_user(st, "remove-other");
	char h[2][STORE_KEYHASH_LEN + 1];
	struct store_webauthn w = credential(id, "remove-a", "a", 1000),
	                      w2 = credential(other, "remove-b", "b", 1000);
	struct store_totp t;
	struct store_user u;
	int total, unused, n;

	hash_of(h[0], "rm", 0);
	hash_of(h[1], "rm", 1);
	for (int i = 0; i < 2; i++) {
		int64_t who = i ? other : id;

		CHECK(store_totp_put_pending(st, who, "sealed", 1000) == 0);
		CHECK(store_totp_confirm(st, who, 10, 0, 1000) == 0);
		CHECK(
		    store_recovery_replace(st, who, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 2, 1000) == 0);
		CHECK(store_user_set_mfa(st, who, true) == 0);
	}
	CHECK(store_webauthn_add(st, &w) == 0 && store_webauthn_add(st, &w2) == 0);
	CHECK(store_mfa_delete_user(st, id) == 0);
	CHECK(store_totp_get(st, id, &t) == STORE_NOTFOUND);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 0);
	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 0);
	CHECK(store_user_by_id(st, id, &u) == 0 && !u.mfa_enabled);
	/* again: nothing left, still done */
	CHECK(store_mfa_delete_user(st, id) == 0);
	/* the other user keeps everything */
	CHECK(store_totp_get(st, other, &t) == 0 && t.confirmed);
	CHECK(store_recovery_count(st, other, &total, &unused) == 0 && total == 2);
	CHECK(store_webauthn_count(st, other, &n) == 0 && n == 1);
	CHECK(store_user_by_id(st, other, &u) == 0 && u.mfa_enabled);
	CHECK(store_mfa_delete_user(st, 987654321) == STORE_NOTFOUND);
}

/* ---- challenges ---- */

static struct store_challenge
challenge(const char *bind, int n, int64_t expires)
{
	struct store_challenge c;

	memset(&c, 0, sizeof(c));
	hash_of(c.challenge_hash, bind, n);
	snprintf(c.purpose, sizeof(c.purpose), "mfa");
	c.user_id = 42;
	hash_of(c.bind_hash, bind, -1);
	c.expires_at = expires;
	return c;
}

static int
take_challenge(struct race *r)
{
	struct store_challenge c;

	return store_challenge_take(r->st, r->key, &c);
}

static void
test_challenges(struct store *st)
{
	struct store_challenge c[5], d = challenge("bind-b", 0, 5000), got;
	int deleted = -1, others;

	for (int i = 0; i < 5; i++)
		c[i] = challenge("bind-a", i, 5000 + i);
	CHECK(store_challenge_create(st, &d, 3) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(store_challenge_create(st, &c[i], 3) == 0);
	/* a hash is made once */
	CHECK(store_challenge_create(st, &c[3], 3) == STORE_CONFLICT);
	/* three per binding: the oldest of bind-a went, bind-b's stays */
	memset(&got, 0, sizeof(got));
	CHECK(store_challenge_take(st, c[0].challenge_hash, &got) == STORE_NOTFOUND);
	CHECK(store_challenge_take(st, c[1].challenge_hash, &got) == 0);
	CHECK_STR(got.challenge_hash, c[1].challenge_hash);
	CHECK_STR(got.purpose, "mfa");
	CHECK_STR(got.bind_hash, c[1].bind_hash);
	CHECK(got.user_id == 42 && got.expires_at == 5001);
	/* single use */
	CHECK(store_challenge_take(st, c[1].challenge_hash, &got) == STORE_NOTFOUND);
	CHECK(store_challenge_take(st, d.challenge_hash, &got) == 0 && got.expires_at == 5000);
	/* per_bind 1: only the newest */
	CHECK(store_challenge_create(st, &c[4], 1) == 0);
	CHECK(store_challenge_take(st, c[2].challenge_hash, &got) == STORE_NOTFOUND);
	CHECK(store_challenge_take(st, c[3].challenge_hash, &got) == STORE_NOTFOUND);
	/* expired ones are found too: the caller decides */
	CHECK(store_challenge_take(st, c[4].challenge_hash, &got) == 0 && got.expires_at == 5004);
	/* several requests with one challenge at once: one gets it */
	d = challenge("bind-race", 0, 9000);
	CHECK(store_challenge_create(st, &d, 5) == 0);
	CHECK(race(st, take_challenge, 0, 0, 0, d.challenge_hash, STORE_NOTFOUND, &others) == 1 &&
	    others == RACERS - 1);

	/* purge: expired ones, at most limit at a time; live ones stay */
	for (int i = 0; i < 5; i++) {
		struct store_challenge e = challenge("bind-purge", i, i < 3 ? 100 + i : 99999999999);

		CHECK(store_challenge_create(st, &e, 10) == 0);
	}
	CHECK(store_challenge_purge(st, 102, 2, &deleted) == 0 && deleted == 2);
	CHECK(store_challenge_purge(st, 102, 100, &deleted) == 0 && deleted >= 1);
	CHECK(store_challenge_purge(st, 102, 100, &deleted) == 0 && deleted == 0);
	for (int i = 0; i < 5; i++) {
		struct store_challenge e = challenge("bind-purge", i, 0);

		CHECK(store_challenge_take(st, e.challenge_hash, &got) == (i < 3 ? STORE_NOTFOUND : 0));
	}
}

/* ---- pending logins ---- */

static struct store_mfa_pending
pending(int64_t user_id, int n, int64_t expires)
{
	struct store_mfa_pending p;

	memset(&p, 0, sizeof(p));
	hash_of(p.key_hash, "pending", n);
	p.user_id = user_id;
	snprintf(p.auth_hash, sizeof(p.auth_hash), "%032d", n);
	snprintf(p.method, sizeof(p.method), n % 2 ? "social:github" : "password");
	snprintf(p.next, sizeof(p.next), n % 2 ? "/after?x=1" : "");
	p.created_at = expires - 300;
	p.expires_at = expires;
	return p;
}

static int
take_pending(struct race *r)
{
	struct store_mfa_pending p;

	return store_mfa_pending_take(r->st, r->key, &p);
}

static void
test_pending(struct store *st)
{
	int64_t id = add_user(st, "pending");
	struct store_mfa_pending p = pending(id, 1, 5000), q = pending(id, 2, 5000), got;
	int deleted = -1, others;

	CHECK(store_mfa_pending_get(st, p.key_hash, &got) == STORE_NOTFOUND);
	CHECK(store_mfa_pending_create(st, &p) == 0);
	CHECK(store_mfa_pending_create(st, &p) == STORE_CONFLICT);
	CHECK(store_mfa_pending_create(st, &q) == 0);
	for (int i = 0; i < 2; i++) {
		memset(&got, 0, sizeof(got));
		CHECK(store_mfa_pending_get(st, p.key_hash, &got) == 0);
		CHECK_STR(got.key_hash, p.key_hash);
		CHECK_STR(got.auth_hash, p.auth_hash);
		CHECK_STR(got.method, "social:github");
		CHECK_STR(got.next, "/after?x=1");
		CHECK(got.user_id == id && got.created_at == 4700 && got.expires_at == 5000);
	}
	CHECK(store_mfa_pending_take(st, p.key_hash, &got) == 0 && got.user_id == id);
	CHECK_STR(got.method, "social:github");
	CHECK(store_mfa_pending_take(st, p.key_hash, &got) == STORE_NOTFOUND);
	CHECK(store_mfa_pending_get(st, p.key_hash, &got) == STORE_NOTFOUND);
	CHECK(store_mfa_pending_delete(st, q.key_hash) == 0);
	CHECK(store_mfa_pending_delete(st, q.key_hash) == STORE_NOTFOUND);
	/* one pending login completed by several requests at once: one gets it */
	p = pending(id, 3, 5000);
	CHECK(store_mfa_pending_create(st, &p) == 0);
	CHECK(race(st, take_pending, 0, 0, 0, p.key_hash, STORE_NOTFOUND, &others) == 1 &&
	    others == RACERS - 1);
	/* a user who does not exist cannot have one */
	q = pending(987654321, 4, 5000);
	CHECK(store_mfa_pending_create(st, &q) == STORE_CONFLICT);
	/* purge */
	for (int i = 10; i < 15; i++) {
		struct store_mfa_pending e = pending(id, i, i < 13 ? 200 : 99999999999);

		CHECK(store_mfa_pending_create(st, &e) == 0);
	}
	CHECK(store_mfa_pending_purge(st, 200, 2, &deleted) == 0 && deleted == 2);
	CHECK(store_mfa_pending_purge(st, 200, 100, &deleted) == 0 && deleted >= 1);
	CHECK(store_mfa_pending_purge(st, 200, 100, &deleted) == 0 && deleted == 0);
	for (int i = 10; i < 15; i++) {
		struct store_mfa_pending e = pending(id, i, 0);

		CHECK(store_mfa_pending_get(st, e.key_hash, &got) == (i < 13 ? STORE_NOTFOUND : 0));
	}
}

/* ---- the factors go with their user ---- */

static void
test_cascade(struct store *st)
{
	int64_t id = add_user(st, "cascade");
	char h[1][STORE_KEYHASH_LEN + 1];
	struct store_webauthn w = credential(id, "cascade", "c", 1000);
	struct store_mfa_pending p = pending(id, 100, 99999999999), got;
	struct store_totp t;
	int total, unused, n;

	hash_of(h[0], "cascade", 0);
	CHECK(store_totp_put_pending(st, id, "sealed", 1000) == 0);
	CHECK(store_recovery_replace(st, id, (const char(*)[STORE_KEYHASH_LEN + 1]) h, 1, 1000) == 0);
	CHECK(store_webauthn_add(st, &w) == 0);
	CHECK(store_mfa_pending_create(st, &p) == 0);
	CHECK(raw_exec_user(st,
	          strcmp(store_backend(st), "sqlite") == 0 ? "DELETE FROM users WHERE id = ?" :
	                                                     "DELETE FROM users WHERE id = $1",
	          id) == 0);
	CHECK(store_totp_get(st, id, &t) == STORE_NOTFOUND);
	CHECK(store_recovery_count(st, id, &total, &unused) == 0 && total == 0);
	CHECK(store_webauthn_count(st, id, &n) == 0 && n == 0);
	CHECK(store_webauthn_get(st, w.cred_id, &w) == STORE_NOTFOUND);
	CHECK(store_mfa_pending_get(st, p.key_hash, &got) == STORE_NOTFOUND);
}

/* PostgreSQL with the session cache on: a cached session's user row follows mfa_enabled, changed here
 * (dropped at once) or by another instance (0009's trigger announces it) */
static void
test_pg_cache(struct store *st)
{
	int64_t id = add_user(st, "cache");
	struct store_session s, got;
	struct store_user u;
	char err[256];
	int64_t seen;
	bool hit = false;

	CHECK(store_cache_start(st, 60, err, sizeof(err)) == 0);
	memset(&s, 0, sizeof(s));
	hash_of(s.key_hash, "cache-session", 1);
	s.user_id = id;
	snprintf(s.auth_hash, sizeof(s.auth_hash), "%032d", 1);
	s.created_at = s.last_seen = 1000;
	s.expires_at = 99999999999;
	CHECK(store_session_create(st, &s, "127.0.0.1", "test") == 0);
	/* a session touched behind the cache's back (not announced) shows whether reads are served from it */
	for (int i = 0; i < 100 && !hit; i++) {
		CHECK(store_session_get(st, s.key_hash, &got, &u) == 0);
		seen = got.last_seen;
		raw_exec_user(st, "UPDATE sessions SET last_seen = last_seen + 1 WHERE user_id = $1", id);
		CHECK(store_session_get(st, s.key_hash, &got, &u) == 0);
		hit = got.last_seen == seen;
		if (!hit)
			usleep(50000); /* the listener is not up yet: nothing is kept */
	}
	CHECK(hit);
	CHECK(!u.mfa_enabled);
	CHECK(store_user_set_mfa(st, id, true) == 0);
	CHECK(store_session_get(st, s.key_hash, &got, &u) == 0 && u.mfa_enabled);
	/* by another instance: announced, dropped once the notification arrives */
	CHECK(store_session_get(st, s.key_hash, &got, &u) == 0 && u.mfa_enabled);
	raw_exec_user(st, "UPDATE users SET mfa_enabled = 0 WHERE id = $1", id);
	for (int i = 0; i < 100; i++) {
		CHECK(store_session_get(st, s.key_hash, &got, &u) == 0);
		if (!u.mfa_enabled)
			break;
		usleep(50000);
	}
	CHECK(!u.mfa_enabled);
	/* every factor removed at once, inside its own transaction: dropped at its commit too */
	CHECK(store_user_set_mfa(st, id, true) == 0);
	CHECK(store_session_get(st, s.key_hash, &got, &u) == 0 && u.mfa_enabled);
	CHECK(store_session_get(st, s.key_hash, &got, &u) == 0 && u.mfa_enabled);
	CHECK(store_mfa_delete_user(st, id) == 0);
	CHECK(store_session_get(st, s.key_hash, &got, &u) == 0 && !u.mfa_enabled);
}

int
main(void)
{
	const char *pg = getenv("GATEHOUSE_TEST_STORE_DSN");
	struct store *st;

	snprintf(tag, sizeof(tag), "%ld-%ld", (long)getpid(), (long)time(NULL));
	if (pg != NULL && *pg) {
		snprintf(dsn, sizeof(dsn), "%s", pg);
	} else {
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/mfa.db", dir);
		snprintf(dsn, sizeof(dsn), "sqlite:%s", path);
	}
	st = test_store_open(dsn);
	test_user_mfa_enabled(st);
	test_totp(st);
	test_recovery(st);
	test_webauthn(st);
	test_mfa_delete_user(st);
	test_challenges(st);
	test_pending(st);
	test_cascade(st);
	if (strcmp(store_backend(st), "postgres") == 0)
		test_pg_cache(st);
	store_close(st);
	if (path[0]) {
		char f[300];

		for (const char *suffix = ""; suffix; suffix = *suffix ? NULL : "-wal") {
			snprintf(f, sizeof(f), "%s%s", path, suffix);
			unlink(f);
		}
		snprintf(f, sizeof(f), "%s-shm", path);
		unlink(f);
		rmdir(dir);
	}
	return test_summary(path[0] ? "store_mfa" : "store_mfa (postgres)");
}
