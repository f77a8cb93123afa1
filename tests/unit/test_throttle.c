/*
 * Unit tests of throttle.c on a real SQLite store in a temp file: reserve and
 * release, the sliding window and Retry-After, counters that outlive the
 * process's limiter, atomic reservations under threads, bounded purging,
 * the in-flight cap and IPv6 grouping.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store/store.h"
#include "test.h"
#include "test_store.h"
#include "auth/throttle.h"

static char dir[] = "/tmp/gh-throttle-XXXXXX";
static char dsn[128];

static struct store *
open_store(void)
{
	return test_store_open(dsn);
}

static void
test_reserve_release(void)
{
	struct store *st = open_store();
	struct limiter *l = limiter_store_new(st);
	long wait = 0;

	for (int i = 0; i < 3; i++)
		CHECK(limiter_reserve(l, "k", 3, 10, 100 + i, &wait) == 0);
	/* the fourth is refused and not recorded */
	CHECK(limiter_reserve(l, "k", 3, 10, 103, &wait) == 1 && wait == 7);
	CHECK(limiter_reserve(l, "other", 3, 10, 103, &wait) == 0);
	/* a release gives one place back */
	limiter_release(l, "k");
	CHECK(limiter_reserve(l, "k", 3, 10, 103, &wait) == 0);
	CHECK(limiter_reserve(l, "k", 3, 10, 103, &wait) == 1);
	/* sliding: at 110 the attempt of 100 is out of (100, 110] */
	CHECK(limiter_reserve(l, "k", 3, 10, 110, &wait) == 0);
	CHECK(limiter_reserve(l, "k", 3, 10, 110, &wait) == 1 && wait == 1);
	limiter_reset(l, "k");
	CHECK(limiter_reserve(l, "k", 3, 10, 110, &wait) == 0);
	/* a release of a key with nothing recorded is harmless */
	limiter_release(l, "never");
	limiter_free(l);
	store_close(st);
}

static void
test_survives_restart(void)
{
	struct store *st = open_store();
	struct limiter *l = limiter_store_new(st);
	long wait = 0;

	for (int i = 0; i < 2; i++)
		CHECK(limiter_reserve(l, "restart", 2, 300, 1000, &wait) == 0);
	limiter_free(l);
	store_close(st);
	st = open_store();
	l = limiter_store_new(st);
	CHECK(limiter_reserve(l, "restart", 2, 300, 1001, &wait) == 1 && wait == 299);
	limiter_free(l);
	store_close(st);
}

struct race {
	struct limiter *l;
	int admitted;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	long wait;

	for (int i = 0; i < 10; i++)
		if (limiter_reserve(r->l, "race", 7, 60, 5000, &wait) == 0)
			__atomic_add_fetch(&r->admitted, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
test_atomic_under_threads(void)
{
	struct store *st = open_store();
	struct race r = { limiter_store_new(st), 0 };
	pthread_t t[8];

	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, racer, &r);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK(r.admitted == 7);
	limiter_free(r.l);
	store_close(st);
}

static void
test_purge_bounded(void)
{
	struct store *st = open_store();
	struct limiter *l = limiter_store_new(st);
	char key[32];
	long wait;

	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "p:%d", i);
		CHECK(limiter_reserve(l, key, 5, 10, 20000, &wait) == 0);
	}
	CHECK(limiter_purge(l, 20005, 100) == 0); /* nothing expired yet */
	CHECK(limiter_purge(l, 20010, 20) == 20); /* at most the batch */
	CHECK(limiter_purge(l, 20010, 100) == 30);
	CHECK(limiter_purge(l, 20010, 100) == 0);
	limiter_free(l);
	store_close(st);
}

static void
test_inflight(void)
{
	struct store *st = open_store();
	struct limiter *l = limiter_store_new(st);

	CHECK(limiter_enter(l, "a", 2) == 0);
	CHECK(limiter_enter(l, "a", 2) == 0);
	CHECK(limiter_enter(l, "a", 2) == -1);
	CHECK(limiter_enter(l, "b", 2) == 0);
	limiter_leave(l, "a");
	CHECK(limiter_enter(l, "a", 2) == 0);
	limiter_leave(l, "a");
	limiter_leave(l, "a");
	limiter_leave(l, "b");
	limiter_leave(l, "nobody");
	CHECK(limiter_enter(l, "a", 1) == 0);
	limiter_leave(l, "a");
	limiter_free(l);
	store_close(st);
}

static void
test_ip_group(void)
{
	char out[96];

	limiter_ip_group("203.0.113.7", 64, out, sizeof(out));
	CHECK_STR(out, "203.0.113.7");
	limiter_ip_group("2001:db8::1", 64, out, sizeof(out));
	CHECK_STR(out, "2001:db8::/64");
	limiter_ip_group("2001:0db8:0000:0000:ffff:1:2:3", 64, out, sizeof(out));
	CHECK_STR(out, "2001:db8::/64");
	limiter_ip_group("2001:db8:0:1::1", 64, out, sizeof(out));
	CHECK_STR(out, "2001:db8:0:1::/64");
	limiter_ip_group("2001:db8:aaaa:bbbb::1", 48, out, sizeof(out));
	CHECK_STR(out, "2001:db8:aaaa::/48");
	limiter_ip_group("2001:db8::1", 128, out, sizeof(out));
	CHECK_STR(out, "2001:db8::1/128");
	limiter_ip_group("::ffff:198.51.100.2", 64, out, sizeof(out));
	CHECK_STR(out, "198.51.100.2");
	limiter_ip_group("unknown", 64, out, sizeof(out));
	CHECK_STR(out, "unknown");
	limiter_ip_group("not an address at all, and long", 64, out, 8);
	CHECK_STR(out, "not an ");
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(dsn, sizeof(dsn), "sqlite:%s/t.db", dir);
	test_reserve_release();
	test_survives_restart();
	test_atomic_under_threads();
	test_purge_bounded();
	test_inflight();
	test_ip_group();
	{
		char p[160];
		const char *sfx[] = { "/t.db", "/t.db-wal", "/t.db-shm" };
		for (size_t i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s%s", dir, sfx[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return test_summary("throttle");
}
