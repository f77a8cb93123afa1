/*
 * Unit tests of store/pgsql/pgsql_cache.c without a database: the table on
 * its own (the listener thread is not started; "live" is set by hand as the
 * listener would once it LISTENs).  Hits are copies, fills racing an
 * invalidation are thrown away, every kind of invalidation drops what it
 * names and nothing else, touches move forward only, nothing is served or
 * kept while the listener is down, entries expire, the table stays bounded,
 * notification payloads are parsed strictly, and threads may share it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pgsql/pgsql_cache.c"
#include "test.h"

static struct pg_cache *
cache_new(int ttl)
{
	struct pg_cache *c = xcalloc(1, sizeof(*c));

	c->ttl = ttl;
	pthread_mutex_init(&c->lock, NULL);
	c->live = true;
	c->listen_fd = -1;
	c->stop[0] = c->stop[1] = -1;
	return c;
}

static void
cache_free(struct pg_cache *c)
{
	flush_locked(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void
key_of(int n, char out[STORE_KEYHASH_LEN + 1])
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", n);
	sha256_hex(buf, strlen(buf), out);
}

static void
session_of(int n, int64_t user_id, struct store_session *s, struct store_user *u)
{
	memset(s, 0, sizeof(*s));
	memset(u, 0, sizeof(*u));
	key_of(n, s->key_hash);
	s->id = n;
	s->user_id = user_id;
	s->last_seen = 1000;
	u->id = user_id;
	snprintf(u->email, sizeof(u->email), "u%lld@example.com", (long long)user_id);
	snprintf(u->password, sizeof(u->password), "$argon2id$secret");
	u->is_active = true;
}

static void
token_of(int n, int64_t user_id, struct store_token *t, struct store_user *u)
{
	memset(t, 0, sizeof(*t));
	memset(u, 0, sizeof(*u));
	key_of(n, t->key_hash);
	t->id = n;
	t->user_id = user_id;
	t->last_used = 1000;
	u->id = user_id;
}

static bool
has_session(struct pg_cache *c, int n)
{
	char k[STORE_KEYHASH_LEN + 1];
	struct store_session s;
	struct store_user u;

	key_of(n, k);
	return pg_cache_get_session(c, k, &s, &u) == 0;
}

static bool
has_token(struct pg_cache *c, int n)
{
	char k[STORE_KEYHASH_LEN + 1];
	struct store_token t;
	struct store_user u;

	key_of(n, k);
	return pg_cache_get_token(c, k, &t, &u) == 0;
}

static void
test_hit_is_a_copy_without_password(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s, got;
	struct store_user u, gotu;

	session_of(1, 7, &s, &u);
	CHECK(pg_cache_get_session(c, s.key_hash, &got, &gotu) == STORE_NOTFOUND);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(pg_cache_get_session(c, s.key_hash, &got, &gotu) == 0);
	CHECK(got.id == 1 && got.user_id == 7 && strcmp(got.key_hash, s.key_hash) == 0);
	CHECK_STR(gotu.email, "u7@example.com");
	CHECK(gotu.password[0] == '\0'); /* never kept */
	/* a session and a token with the same key hash are different entries */
	CHECK(!has_token(c, 1));
	cache_free(c);
}

static void
test_fill_racing_an_invalidation_is_dropped(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s;
	struct store_user u;
	uint64_t before;

	session_of(2, 8, &s, &u);
	before = pg_cache_epoch(c);
	/* a revocation lands between the read and the fill: the read may be old */
	pg_cache_drop(c, 's', 0, s.key_hash);
	pg_cache_put_session(c, before, &s, &u);
	CHECK(!has_session(c, 2));
	/* an unrelated one too: the epoch is global, a fill then simply waits for the next read */
	before = pg_cache_epoch(c);
	pg_cache_drop(c, 'u', 999, NULL);
	pg_cache_put_session(c, before, &s, &u);
	CHECK(!has_session(c, 2));
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(has_session(c, 2));
	cache_free(c);
}

static void
test_invalidations_drop_what_they_name(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s;
	struct store_token t;
	struct store_user u;

	for (int n = 10; n < 14; n++) {
		session_of(n, n < 12 ? 1 : 2, &s, &u);
		pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
		token_of(n + 100, n < 12 ? 1 : 2, &t, &u);
		pg_cache_put_token(c, pg_cache_epoch(c), &t, &u);
	}
	/* by key hash */
	key_of(10, s.key_hash);
	pg_cache_drop(c, 's', 0, s.key_hash);
	CHECK(!has_session(c, 10) && has_session(c, 11) && has_token(c, 110));
	key_of(111, t.key_hash);
	pg_cache_drop(c, 't', 0, t.key_hash);
	CHECK(!has_token(c, 111) && has_token(c, 110));
	/* by id */
	pg_cache_drop(c, 'S', 12, NULL);
	CHECK(!has_session(c, 12) && has_session(c, 13));
	pg_cache_drop(c, 'T', 113, NULL);
	CHECK(!has_token(c, 113) && has_token(c, 112));
	/* a session id is not a token id */
	pg_cache_drop(c, 'T', 13, NULL);
	CHECK(has_session(c, 13));
	/* by user: every session and token of user 1, nothing of user 2 */
	pg_cache_drop(c, 'u', 1, NULL);
	CHECK(!has_session(c, 11) && !has_token(c, 110));
	CHECK(has_session(c, 13) && has_token(c, 112));
	/* an unknown kind empties everything */
	pg_cache_drop(c, '?', 0, NULL);
	CHECK(!has_session(c, 13) && !has_token(c, 112) && c->count == 0);
	cache_free(c);
}

static void
test_touch_moves_forward_only(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s, got;
	struct store_token t, gott;
	struct store_user u;
	uint64_t e;

	session_of(20, 3, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	token_of(20, 3, &t, &u);
	pg_cache_put_token(c, pg_cache_epoch(c), &t, &u);
	e = pg_cache_epoch(c);
	pg_cache_touch(c, 's', 20, 2000);
	pg_cache_touch(c, 's', 20, 1500);
	pg_cache_touch(c, 't', 20, 3000);
	CHECK(pg_cache_get_session(c, s.key_hash, &got, &u) == 0 && got.last_seen == 2000);
	CHECK(pg_cache_get_token(c, t.key_hash, &gott, &u) == 0 && gott.last_used == 3000);
	CHECK(pg_cache_epoch(c) == e); /* a touch is not a revocation */
	cache_free(c);
}

static void
test_listener_down_means_no_cache(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s;
	struct store_user u;
	uint64_t e;

	session_of(30, 4, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(has_session(c, 30));
	set_live(c, false, -1);
	CHECK(!has_session(c, 30) && c->count == 0);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(c->count == 0);
	/* a read that began while it was down is not kept once it is back */
	e = pg_cache_epoch(c);
	set_live(c, true, -1);
	pg_cache_put_session(c, e, &s, &u);
	CHECK(!has_session(c, 30));
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(has_session(c, 30));
	cache_free(c);
}

/* a notification on its way (unread on the socket, or being handled) makes a hit a miss */
static void
test_notification_on_its_way_is_not_served_around(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s;
	struct store_user u;
	int fds[2];

	CHECK(pipe(fds) == 0);
	set_live(c, true, fds[0]);
	session_of(35, 4, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(has_session(c, 35));
	CHECK(write(fds[1], "n", 1) == 1);
	CHECK(!has_session(c, 35));
	CHECK(c->count == 1); /* not dropped: the listener decides */
	{
		char b;
		CHECK(read(fds[0], &b, 1) == 1);
	}
	set_reading(c, true);
	CHECK(!has_session(c, 35));
	set_reading(c, false);
	CHECK(has_session(c, 35));
	close(fds[0]);
	close(fds[1]);
	c->listen_fd = -1;
	cache_free(c);
}

static void
test_entries_expire_and_the_table_is_bounded(void)
{
	struct pg_cache *c = cache_new(0);
	struct store_session s;
	struct store_user u;

	session_of(40, 5, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(!has_session(c, 40)); /* ttl 0: expired at once, and dropped on the way */
	CHECK(c->count == 0);
	c->ttl = 60;
	for (int n = 0; n < CACHE_MAX + 10; n++) {
		session_of(1000 + n, 5, &s, &u);
		pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	}
	CHECK(c->count == CACHE_MAX);
	CHECK(!has_session(c, 1000) && !has_session(c, 1009)); /* the oldest went */
	CHECK(has_session(c, 1010) && has_session(c, 1000 + CACHE_MAX + 9));
	/* a second fill of one key replaces it */
	session_of(1010, 5, &s, &u);
	s.last_seen = 4242;
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	CHECK(c->count == CACHE_MAX);
	cache_free(c);
}

static void
test_notification_payloads(void)
{
	struct pg_cache *c = cache_new(60);
	struct store_session s;
	struct store_token t;
	struct store_user u;
	char payload[80];

	session_of(50, 6, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	token_of(51, 6, &t, &u);
	pg_cache_put_token(c, pg_cache_epoch(c), &t, &u);
	session_of(52, 9, &s, &u);
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	key_of(50, payload + 2);
	payload[0] = 's', payload[1] = ':';
	notified(c, payload);
	CHECK(!has_session(c, 50) && has_token(c, 51) && has_session(c, 52));
	notified(c, "u:6");
	CHECK(!has_token(c, 51) && has_session(c, 52));
	/* a short key hash, a bad user id: nothing is trusted, everything goes */
	notified(c, "u:12x");
	CHECK(!has_session(c, 52));
	pg_cache_put_session(c, pg_cache_epoch(c), &s, &u);
	notified(c, "s:abc");
	CHECK(!has_session(c, 52));
	cache_free(c);
}

struct worker {
	struct pg_cache *c;
	int seed;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	struct store_session s, got;
	struct store_user u, gotu;

	for (int i = 0; i < 20000; i++) {
		int n = (i * 7 + w->seed) % 300;

		session_of(n, n % 17, &s, &u);
		switch (i % 5) {
		case 0:
		case 1:
			pg_cache_put_session(w->c, pg_cache_epoch(w->c), &s, &u);
			break;
		case 2:
			if (pg_cache_get_session(w->c, s.key_hash, &got, &gotu) == 0 &&
			    (got.id != n || gotu.id != n % 17))
				return "wrong entry";
			break;
		case 3:
			pg_cache_drop(w->c, i % 2 ? 's' : 'u', n % 17, s.key_hash);
			break;
		default:
			pg_cache_touch(w->c, 's', n, i);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct pg_cache *c = cache_new(60);
	struct worker w[4];
	pthread_t t[4];
	void *ret;
	int bad = 0;

	for (int i = 0; i < 4; i++) {
		w[i].c = c;
		w[i].seed = i * 31;
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		bad += ret != NULL;
	}
	CHECK(bad == 0);
	CHECK(c->count >= 0 && c->count <= 300);
	cache_free(c);
}

int
main(void)
{
	test_hit_is_a_copy_without_password();
	test_fill_racing_an_invalidation_is_dropped();
	test_invalidations_drop_what_they_name();
	test_touch_moves_forward_only();
	test_listener_down_means_no_cache();
	test_notification_on_its_way_is_not_served_around();
	test_entries_expire_and_the_table_is_bounded();
	test_notification_payloads();
	test_threads();
	return test_summary("test_pgsql_cache");
}
