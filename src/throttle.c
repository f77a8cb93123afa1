/*
 * throttle — see throttle.h.  The memory backend keeps, per key, the times of
 * the last `limit` attempts (an exact sliding-window log).  The table is split
 * into stripes, each with its own lock, so no request waits on a global lock;
 * entries whose newest attempt is older than their window are swept lazily
 * and the table is capped so a key flood cannot grow memory without bound.
 */
#include "throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

#define STRIPES 32
#define BUCKETS 512              /* per stripe */
#define MAX_ENTRIES_PER_STRIPE 8192
#define MAX_LOG 1024             /* attempts remembered per key at most */

struct entry {
	char *key;
	int64_t *ts;                 /* ring of attempt times, oldest at head */
	unsigned n, head, cap;
	long window;
	struct entry *next;
};

struct stripe {
	pthread_mutex_t lock;
	struct entry *bucket[BUCKETS];
	unsigned count;
};

struct memory {
	struct stripe stripes[STRIPES];
	unsigned char seed[crypto_shorthash_KEYBYTES];  /* keyed hash: no crafted collisions */
};

static void
where(struct memory *m, const char *key, struct stripe **s, struct entry ***slot)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), m->seed);
	memcpy(&v, h, sizeof(v));
	*s = &m->stripes[v % STRIPES];
	*slot = &(*s)->bucket[(v / STRIPES) % BUCKETS];
}

static void
entry_free(struct entry *e)
{
	free(e->key);
	free(e->ts);
	free(e);
}

static void
prune(struct entry *e, int64_t now)
{
	while (e->n && e->ts[e->head] <= now - e->window) {
		e->head = (e->head + 1) % e->cap;
		e->n--;
	}
}

/* Drop entries with nothing left in their window from one bucket chain. */
static void
sweep(struct stripe *s, struct entry **slot, int64_t now)
{
	struct entry **pp = slot, *e;

	while ((e = *pp) != NULL) {
		prune(e, now);
		if (e->n == 0) {
			*pp = e->next;
			entry_free(e);
			s->count--;
		} else
			pp = &e->next;
	}
}

static struct entry *
find(struct entry **slot, const char *key)
{
	for (struct entry *e = *slot; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static int
mem_check(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after)
{
	struct stripe *s;
	struct entry **slot, *e;
	int blocked = 0;

	where(l->impl, key, &s, &slot);
	pthread_mutex_lock(&s->lock);
	if ((e = find(slot, key)) != NULL) {
		e->window = window;
		prune(e, now);
		if (limit > MAX_LOG)
			limit = MAX_LOG;
		if ((long)e->n >= limit) {
			/* allowed again when the attempt that makes the count reach the limit ages out */
			int64_t t = e->ts[(e->head + e->n - (unsigned)limit) % e->cap];
			long wait = (long)(t + window - now);
			*retry_after = wait > 0 ? wait : 1;
			blocked = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return blocked;
}

static void
mem_hit(struct limiter *l, const char *key, long limit, long window, int64_t now)
{
	struct stripe *s;
	struct entry **slot, *e;

	if (limit > MAX_LOG)
		limit = MAX_LOG;
	where(l->impl, key, &s, &slot);
	pthread_mutex_lock(&s->lock);
	sweep(s, slot, now);
	if ((e = find(slot, key)) == NULL) {
		if (s->count >= MAX_ENTRIES_PER_STRIPE) {
			/* full: drop this chain's oldest-looking entry rather than grow */
			struct entry *victim = *slot;
			if (victim) {
				*slot = victim->next;
				entry_free(victim);
				s->count--;
			}
		}
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->next = *slot;
		*slot = e;
		s->count++;
	}
	e->window = window;
	if (e->cap != (unsigned)limit) {
		/* (re)size the ring to the limit, keeping the newest attempts */
		int64_t *ts = xcalloc((size_t)limit, sizeof(*ts));
		unsigned keep = e->n < (unsigned)limit ? e->n : (unsigned)limit;
		for (unsigned i = 0; i < keep; i++)
			ts[i] = e->ts[(e->head + e->n - keep + i) % e->cap];
		free(e->ts);
		e->ts = ts;
		e->cap = (unsigned)limit;
		e->head = 0;
		e->n = keep;
	}
	prune(e, now);
	if (e->n == e->cap) {
		e->head = (e->head + 1) % e->cap;
		e->n--;
	}
	e->ts[(e->head + e->n) % e->cap] = now;
	e->n++;
	pthread_mutex_unlock(&s->lock);
}

static void
mem_reset(struct limiter *l, const char *key)
{
	struct stripe *s;
	struct entry **slot, **pp, *e;

	where(l->impl, key, &s, &slot);
	pthread_mutex_lock(&s->lock);
	for (pp = slot; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			entry_free(e);
			s->count--;
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

static void
mem_free(struct limiter *l)
{
	struct memory *m = l->impl;

	for (int i = 0; i < STRIPES; i++) {
		for (int b = 0; b < BUCKETS; b++) {
			struct entry *e = m->stripes[i].bucket[b], *next;
			for (; e; e = next) {
				next = e->next;
				entry_free(e);
			}
		}
		pthread_mutex_destroy(&m->stripes[i].lock);
	}
	free(m);
	free(l);
}

static const struct limiter_ops memory_ops = {
	.name = "memory",
	.check = mem_check,
	.hit = mem_hit,
	.reset = mem_reset,
	.free = mem_free,
};

struct limiter *
limiter_memory_new(void)
{
	struct limiter *l = xcalloc(1, sizeof(*l));
	struct memory *m = xcalloc(1, sizeof(*m));

	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&m->stripes[i].lock, NULL);
	randombytes_buf(m->seed, sizeof(m->seed));
	l->ops = &memory_ops;
	l->impl = m;
	return l;
}

int limiter_check(struct limiter *l, const char *key, long limit, long window, int64_t now, long *retry_after) { return l->ops->check(l, key, limit, window, now, retry_after); }
void limiter_hit(struct limiter *l, const char *key, long limit, long window, int64_t now) { l->ops->hit(l, key, limit, window, now); }
void limiter_reset(struct limiter *l, const char *key) { l->ops->reset(l, key); }
void limiter_free(struct limiter *l) { if (l) l->ops->free(l); }
