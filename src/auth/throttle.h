/*
 * throttle — sliding-window limits ("at most N attempts in W seconds per
 * key") that are reserved, then decided: an attempt counts the moment it is
 * admitted, atomically, so concurrent requests can never all pass a check
 * made before any of them was recorded; the caller releases the reservation
 * when the outcome shows the attempt should not count (a right password
 * against a limit on failures).  The counters live behind an ops table; the
 * store backend keeps them in the database, so they survive a restart and a
 * second process sees them.  Also a per-key cap on work in flight (process
 * memory: it is about this process's hash pool).
 *
 * Keys are built by callers, e.g. "login:ip:" + limiter_ip_group(); they must
 * never hold a password or secret.  Only password, signup, resend and reset
 * endpoints touch the limiter: never the session check.
 */
#ifndef GATEHOUSE_THROTTLE_H
#define GATEHOUSE_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct limiter;
struct store;

struct limiter_ops {
	const char *name;
	/* Atomically: when key has fewer than limit attempts in (now - window, now],
	 * record one at now and return 0; else 1 with *retry_after = seconds until
	 * one is allowed; -1 on a backend error (the caller answers 503). */
	int (*reserve)(struct limiter *l, const char *key, long limit, long window, int64_t now,
	    long *retry_after);
	/* Take back one attempt of key that turned out not to count (its newest:
	 * any one of them counts the same). */
	void (*release)(struct limiter *l, const char *key);
	/* Forget every attempt of key. */
	void (*reset)(struct limiter *l, const char *key);
	/* Drop at most max attempts older than their window: how many went, or -1. */
	int (*purge)(struct limiter *l, int64_t now, int max);
	void (*free)(struct limiter *l);
};

struct limiter_inflight;

struct limiter {
	const struct limiter_ops *ops;
	void *impl;
	struct limiter_inflight *inflight; /* per-key work in flight, this process */
	int64_t next_purge;                /* unix time of the next bounded purge (atomic) */
};

/* Counters in the store's database (the store outlives the limiter). */
struct limiter *limiter_store_new(struct store *st);

/* reserve/release/reset through the ops table; reserve also purges expired
 * attempts now and then (at most once a minute, a bounded batch). */
int limiter_reserve(struct limiter *l, const char *key, long limit, long window, int64_t now,
    long *retry_after);
void limiter_release(struct limiter *l, const char *key);
void limiter_reset(struct limiter *l, const char *key);
int limiter_purge(struct limiter *l, int64_t now, int max);
void limiter_free(struct limiter *l);

/* Work in flight for key: 0 and counted when fewer than max are, else -1.
 * Each 0 must be followed by exactly one limiter_leave with the same key. */
int limiter_enter(struct limiter *l, const char *key, unsigned max);
void limiter_leave(struct limiter *l, const char *key);

/* The client group a per-IP limit counts against, into out: an IPv4 address
 * as it is (IPv4-mapped IPv6 too), an IPv6 address cut to its first
 * v6_prefix bits as "addr/prefix" (one /64 is one subscriber), anything
 * else (not an address) as given, cut to fit. */
void limiter_ip_group(const char *ip, int v6_prefix, char *out, size_t outsz);

#endif
