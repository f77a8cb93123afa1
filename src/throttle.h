/*
 * throttle — sliding-window counters of failed attempts ("at most N in W
 * seconds per key") behind an ops table, so a shared backend (Redis, the SQL
 * store) can replace the in-process one.  Keys are built by callers, e.g.
 * "login:ip:127.0.0.1"; must never be given a password or secret.
 */
#ifndef GATEHOUSE_THROTTLE_H
#define GATEHOUSE_THROTTLE_H

#include <stdint.h>

struct limiter;

struct limiter_ops {
	const char *name;
	/* 0 when under the limit; 1 when blocked, *retry_after = seconds until allowed */
	int (*check)(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after);
	/* record one attempt at now */
	void (*hit)(struct limiter *l, const char *key, long limit, long window, int64_t now);
	/* forget key (e.g. after a successful login) */
	void (*reset)(struct limiter *l, const char *key);
	void (*free)(struct limiter *l);
};

struct limiter {
	const struct limiter_ops *ops;
	void *impl;
};

/* The in-process backend. */
struct limiter *limiter_memory_new(void);

int limiter_check(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after);
void limiter_hit(struct limiter *l, const char *key, long limit, long window, int64_t now);
void limiter_reset(struct limiter *l, const char *key);
void limiter_free(struct limiter *l);

#endif
