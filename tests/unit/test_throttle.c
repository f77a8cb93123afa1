/* Unit tests for src/throttle.c: the sliding window of the memory limiter. */
#include <sodium.h>

#include "test.h"
#include "../../src/throttle.c"

static void
test_window(void)
{
	struct limiter *l = limiter_memory_new();
	long wait = 0;

	for (int i = 0; i < 3; i++) {
		CHECK(limiter_check(l, "k", 3, 10, 100 + i, &wait) == 0);
		limiter_hit(l, "k", 3, 10, 100 + i);
	}
	CHECK(limiter_check(l, "k", 3, 10, 103, &wait) == 1);
	CHECK(wait == 7);                  /* first hit (100) leaves the window at 110 */
	CHECK(limiter_check(l, "other", 3, 10, 103, &wait) == 0);
	CHECK(limiter_check(l, "k", 3, 10, 109, &wait) == 1 && wait == 1);
	CHECK(limiter_check(l, "k", 3, 10, 110, &wait) == 0);  /* sliding: one fell out */
	limiter_hit(l, "k", 3, 10, 110);
	CHECK(limiter_check(l, "k", 3, 10, 110, &wait) == 1 && wait == 1);
	limiter_reset(l, "k");
	CHECK(limiter_check(l, "k", 3, 10, 110, &wait) == 0);
	/* a changed limit resizes, keeping the newest attempts */
	for (int i = 0; i < 5; i++)
		limiter_hit(l, "r", 5, 100, 200 + i);
	CHECK(limiter_check(l, "r", 5, 100, 205, &wait) == 1);
	limiter_hit(l, "r", 2, 100, 205);
	CHECK(limiter_check(l, "r", 2, 100, 205, &wait) == 1 && wait == 99);
	limiter_free(l);
}

static void
test_many_keys(void)
{
	struct limiter *l = limiter_memory_new();
	char key[32];
	long wait;

	for (int i = 0; i < 300000; i++) {
		snprintf(key, sizeof(key), "ip:%d", i);
		limiter_hit(l, key, 5, 60, 1000);
	}
	/* bounded: the table never holds more than its cap */
	unsigned total = 0;
	struct memory *m = l->impl;
	for (int i = 0; i < STRIPES; i++)
		total += m->stripes[i].count;
	CHECK(total <= STRIPES * MAX_ENTRIES_PER_STRIPE);
	/* everything expired: a later hit sweeps its chain */
	limiter_hit(l, "ip:0", 5, 60, 5000);
	CHECK(limiter_check(l, "ip:0", 1, 60, 5000, &wait) == 1);
	limiter_free(l);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_window();
	test_many_keys();
	return test_summary("test_throttle");
}
