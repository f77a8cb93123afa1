/*
 * throttle — see throttle.h.  The store backend hands the store a SHA-256 of
 * each key (keys hold email addresses, which need not sit in the database in
 * the clear) and purges expired attempts in bounded batches at most once a
 * minute, from a password endpoint, never on every request.  Nothing is ever
 * evicted early, so no flood of keys can aim at someone else's counter: rows
 * only appear for admitted attempts, so their number is bounded by the
 * admitted rate times the window.
 *
 * The in-flight table lives in process memory: an entry exists only while a
 * request holds it, so it never holds more than the requests in flight and
 * needs no eviction at all.
 */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store/store.h"
#include "util.h"

#define PURGE_EVERY 60   /* seconds between purges */
#define PURGE_BATCH 5000 /* rows per purge at most: one request pays for a few ms */
#define STRIPES     64

/* ---- the store backend ---- */

static void
key_hash(const char *key, char out[65])
{
	sha256_hex(key, strlen(key), out);
}

static int
store_reserve(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after)
{
	char h[65];
	int rc;

	key_hash(key, h);
	rc = store_throttle_reserve(l->impl, h, limit, window, now, retry_after);
	return rc == 0 ? 0 : rc == STORE_CONFLICT ? 1 : -1;
}

static void
store_release(struct limiter *l, const char *key)
{
	char h[65];

	key_hash(key, h);
	if (store_throttle_release(l->impl, h) != 0)
		log_msg(LOG_WARN, "throttle: could not release an attempt");
}

static void
store_reset(struct limiter *l, const char *key)
{
	char h[65];

	key_hash(key, h);
	if (store_throttle_reset(l->impl, h) != 0)
		log_msg(LOG_WARN, "throttle: could not reset a counter");
}

static int
store_purge(struct limiter *l, int64_t now, int max)
{
	int n = 0;

	if (store_throttle_purge(l->impl, now, max, &n) != 0)
		return -1;
	return n;
}

static void
store_free(struct limiter *l)
{
	(void)l; /* the store is the app's */
}

static const struct limiter_ops store_ops = {
	.name = "store",
	.reserve = store_reserve,
	.release = store_release,
	.reset = store_reset,
	.purge = store_purge,
	.free = store_free,
};

/* ---- work in flight, per key ---- */

struct flight {
	char *key;
	unsigned n;
	struct flight *next;
};

struct limiter_inflight {
	struct {
		pthread_mutex_t lock;
		struct flight *head;
	} stripe[STRIPES];
	unsigned char seed[crypto_shorthash_KEYBYTES]; /* keyed: no crafted pile-ups */
};

static struct limiter_inflight *
inflight_new(void)
{
	struct limiter_inflight *f = xcalloc(1, sizeof(*f));

	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&f->stripe[i].lock, NULL);
	randombytes_buf(f->seed, sizeof(f->seed));
	return f;
}

static void
inflight_free(struct limiter_inflight *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < STRIPES; i++) {
		struct flight *e, *next;
		for (e = f->stripe[i].head; e; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
		pthread_mutex_destroy(&f->stripe[i].lock);
	}
	free(f);
}

static unsigned
stripe_of(struct limiter_inflight *f, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), f->seed);
	memcpy(&v, h, sizeof(v));
	return (unsigned)(v % STRIPES);
}

int
limiter_enter(struct limiter *l, const char *key, unsigned max)
{
	struct limiter_inflight *f = l->inflight;
	unsigned i = stripe_of(f, key);
	struct flight *e;
	int ret = 0;

	pthread_mutex_lock(&f->stripe[i].lock);
	for (e = f->stripe[i].head; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->next = f->stripe[i].head;
		f->stripe[i].head = e;
	}
	if (e->n >= max)
		ret = -1;
	else
		e->n++;
	pthread_mutex_unlock(&f->stripe[i].lock);
	return ret;
}

void
limiter_leave(struct limiter *l, const char *key)
{
	struct limiter_inflight *f = l->inflight;
	unsigned i = stripe_of(f, key);
	struct flight **pp, *e;

	pthread_mutex_lock(&f->stripe[i].lock);
	for (pp = &f->stripe[i].head; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->key, key) == 0) {
			if (e->n > 0)
				e->n--;
			if (e->n == 0) {
				*pp = e->next;
				free(e->key);
				free(e);
			}
			break;
		}
	pthread_mutex_unlock(&f->stripe[i].lock);
}

/* ---- the limiter ---- */

struct limiter *
limiter_store_new(struct store *st)
{
	struct limiter *l = xcalloc(1, sizeof(*l));

	l->ops = &store_ops;
	l->impl = st;
	l->inflight = inflight_new();
	return l;
}

int
limiter_reserve(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after)
{
	int64_t due = __atomic_load_n(&l->next_purge, __ATOMIC_RELAXED);

	/* one caller a minute wins the exchange and purges a bounded batch */
	if (now >= due &&
	    __atomic_compare_exchange_n(&l->next_purge, &due, now + PURGE_EVERY, false, __ATOMIC_RELAXED,
	        __ATOMIC_RELAXED)) {
		int n = l->ops->purge(l, now, PURGE_BATCH);
		if (n == PURGE_BATCH) /* more left: the next caller takes another batch */
			__atomic_store_n(&l->next_purge, now, __ATOMIC_RELAXED);
	}
	return l->ops->reserve(l, key, limit, window, now, retry_after);
}

void
limiter_release(struct limiter *l, const char *key)
{
	l->ops->release(l, key);
}
void
limiter_reset(struct limiter *l, const char *key)
{
	l->ops->reset(l, key);
}
int
limiter_purge(struct limiter *l, int64_t now, int max)
{
	return l->ops->purge(l, now, max);
}

void
limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	inflight_free(l->inflight);
	l->ops->free(l);
	free(l);
}

void
limiter_ip_group(const char *ip, int v6_prefix, char *out, size_t outsz)
{
	struct in6_addr a6;
	struct in_addr a4;
	char txt[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			if (inet_ntop(AF_INET, &a4, txt, sizeof(txt)) != NULL) {
				snprintf(out, outsz, "%s", txt);
				return;
			}
		}
		if (v6_prefix < 0)
			v6_prefix = 0;
		if (v6_prefix > 128)
			v6_prefix = 128;
		for (int bit = v6_prefix; bit < 128; bit++)
			a6.s6_addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
		if (inet_ntop(AF_INET6, &a6, txt, sizeof(txt)) != NULL) {
			snprintf(out, outsz, "%s/%d", txt, v6_prefix);
			return;
		}
	}
	if (inet_pton(AF_INET, ip, &a4) == 1 && inet_ntop(AF_INET, &a4, txt, sizeof(txt)) != NULL) {
		snprintf(out, outsz, "%s", txt);
		return;
	}
	snprintf(out, outsz, "%s", ip);
}
