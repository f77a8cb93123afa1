/*
 * store/pgsql_cache — resolved sessions and tokens kept in memory for at most
 * ttl seconds, so the hot path (a signed-in request) costs no round trip, and
 * the listener thread that keeps them honest: it LISTENs on gatehouse_revoke
 * (the 0008 triggers announce every delete or change of a session, token or
 * user there, from any instance or by hand) and drops what each notification
 * names before this instance answers its next request.  While the listener is
 * not connected the cache is empty and bypassed: no hits, no fills.
 *
 * Guarantees: an entry lives at most ttl seconds; at most CACHE_MAX entries
 * (the oldest goes first); a fill whose read started before an invalidation
 * is thrown away (the epoch), so a revocation racing a read is never
 * re-cached; no negative entries; never a password hash.  Must never hold a
 * raw key: entries are found by key hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

#define CACHE_MAX 4096 /* entries; about 3 KB each */
#define NBUCKETS  8192 /* a power of two */
/* the listener asks the server a question when the line was quiet this long, and gives up on the
 * connection when the answer takes as long again: a half-open TCP link is found in seconds */
#define HEARTBEAT_MS     5000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   2000

struct entry {
	char kind; /* 's' or 't' */
	char key_hash[STORE_KEYHASH_LEN + 1];
	double expires; /* now_mono() */
	struct store_session s;
	struct store_token t;
	struct store_user u;
	struct entry *hnext;         /* the bucket's chain */
	struct entry *older, *newer; /* by fill time: expiry order, all share one ttl */
};

struct pg_cache {
	struct store *st;
	int ttl;
	pthread_mutex_t lock; /* guards everything below but the thread */
	struct entry *bucket[NBUCKETS];
	struct entry *oldest, *newest;
	int count;
	uint64_t epoch; /* bumped by every invalidation */
	bool live;      /* the listener is LISTENing: hits and fills allowed */
	/* the listener's socket (-1: none) and whether it is reading or handling what arrived: a
	 * notification on its way is not served around (a hit then is a miss) */
	int listen_fd;
	bool reading;
	pthread_t thread;
	bool started;
	int stop[2]; /* a byte on stop[1] ends the listener */
};

static unsigned
bucket_of(char kind, const char *key_hash)
{
	unsigned h = (unsigned char)kind;

	/* a SHA-256 in hex: its first characters are as good a hash as any */
	for (int i = 0; i < 8 && key_hash[i]; i++)
		h = h * 31 + (unsigned char)key_hash[i];
	return h & (NBUCKETS - 1);
}

static struct entry *
find(struct pg_cache *c, char kind, const char *key_hash)
{
	for (struct entry *e = c->bucket[bucket_of(kind, key_hash)]; e; e = e->hnext)
		if (e->kind == kind && strcmp(e->key_hash, key_hash) == 0)
			return e;
	return NULL;
}

static void
unlink_entry(struct pg_cache *c, struct entry *e)
{
	struct entry **pp = &c->bucket[bucket_of(e->kind, e->key_hash)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->count--;
	free(e);
}

static void
flush_locked(struct pg_cache *c)
{
	while (c->oldest)
		unlink_entry(c, c->oldest);
	c->epoch++;
}

uint64_t
pg_cache_epoch(struct pg_cache *c)
{
	uint64_t e;

	pthread_mutex_lock(&c->lock);
	e = c->epoch;
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* the live, unexpired entry; an expired one found on the way goes */
static struct entry *
lookup(struct pg_cache *c, char kind, const char *key_hash, double now)
{
	struct pollfd p = { .fd = c->listen_fd, .events = POLLIN };
	struct entry *e;

	if (!c->live || c->reading || (e = find(c, kind, key_hash)) == NULL)
		return NULL;
	if (e->expires <= now) {
		unlink_entry(c, e);
		return NULL;
	}
	/* something arrived that the listener has not read yet: it may revoke this very entry (one
	 * poll() with no wait, on hits only) */
	if (p.fd >= 0 && poll(&p, 1, 0) != 0)
		return NULL;
	return e;
}

int
pg_cache_get_session(struct pg_cache *c, const char *key_hash, struct store_session *s, struct store_user *u)
{
	double now = now_mono();
	struct entry *e;
	int rc = STORE_NOTFOUND;

	pthread_mutex_lock(&c->lock);
	if ((e = lookup(c, 's', key_hash, now)) != NULL) {
		*s = e->s;
		*u = e->u;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
pg_cache_get_token(struct pg_cache *c, const char *key_hash, struct store_token *t, struct store_user *u)
{
	double now = now_mono();
	struct entry *e;
	int rc = STORE_NOTFOUND;

	pthread_mutex_lock(&c->lock);
	if ((e = lookup(c, 't', key_hash, now)) != NULL) {
		*t = e->t;
		*u = e->u;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* e (filled by the caller, outside the lock) goes in unless something was invalidated since the
 * read began; the expired, then the oldest, make room */
static void
put(struct pg_cache *c, uint64_t epoch, struct entry *e)
{
	double now = now_mono();
	struct entry *old;
	unsigned b;

	e->expires = now + c->ttl;
	e->u.password[0] = '\0'; /* never kept, even if a caller loaded it */
	pthread_mutex_lock(&c->lock);
	if (!c->live || epoch != c->epoch) {
		pthread_mutex_unlock(&c->lock);
		free(e);
		return;
	}
	if ((old = find(c, e->kind, e->key_hash)) != NULL)
		unlink_entry(c, old);
	while (c->oldest && (c->oldest->expires <= now || c->count >= CACHE_MAX))
		unlink_entry(c, c->oldest);
	b = bucket_of(e->kind, e->key_hash);
	e->hnext = c->bucket[b];
	c->bucket[b] = e;
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

void
pg_cache_put_session(struct pg_cache *c, uint64_t epoch, const struct store_session *s,
    const struct store_user *u)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->kind = 's';
	strlcpy_ok(e->key_hash, s->key_hash, sizeof(e->key_hash));
	e->s = *s;
	e->u = *u;
	put(c, epoch, e);
}

void
pg_cache_put_token(struct pg_cache *c, uint64_t epoch, const struct store_token *t,
    const struct store_user *u)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->kind = 't';
	strlcpy_ok(e->key_hash, t->key_hash, sizeof(e->key_hash));
	e->t = *t;
	e->u = *u;
	put(c, epoch, e);
}

void
pg_cache_drop(struct pg_cache *c, char kind, int64_t id, const char *key_hash)
{
	struct entry *e, *newer;

	pthread_mutex_lock(&c->lock);
	c->epoch++;
	if ((kind == 's' || kind == 't') && key_hash != NULL) {
		if ((e = find(c, kind, key_hash)) != NULL)
			unlink_entry(c, e);
	} else if (kind == 'u' || kind == 'S' || kind == 'T') {
		for (e = c->oldest; e; e = newer) {
			newer = e->newer;
			if ((kind == 'u' && e->u.id == id) ||
			    (kind == 'S' && e->kind == 's' && e->s.id == id) ||
			    (kind == 'T' && e->kind == 't' && e->t.id == id))
				unlink_entry(c, e);
		}
	} else
		flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void
pg_cache_flush(struct pg_cache *c)
{
	pthread_mutex_lock(&c->lock);
	flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void
pg_cache_touch(struct pg_cache *c, char kind, int64_t id, int64_t when)
{
	pthread_mutex_lock(&c->lock);
	for (struct entry *e = c->oldest; e; e = e->newer) {
		if (kind == 's' && e->kind == 's' && e->s.id == id && e->s.last_seen < when)
			e->s.last_seen = when;
		else if (kind == 't' && e->kind == 't' && e->t.id == id && e->t.last_used < when)
			e->t.last_used = when;
	}
	pthread_mutex_unlock(&c->lock);
}

/* the listener is up (LISTENing) or down: either way nothing cached before stays */
static void
set_live(struct pg_cache *c, bool live, int fd)
{
	pthread_mutex_lock(&c->lock);
	flush_locked(c);
	c->live = live;
	c->listen_fd = fd;
	c->reading = false;
	pthread_mutex_unlock(&c->lock);
}

static void
set_reading(struct pg_cache *c, bool reading)
{
	pthread_mutex_lock(&c->lock);
	c->reading = reading;
	pthread_mutex_unlock(&c->lock);
}

/* "s:<key hash>", "t:<key hash>" or "u:<user id>"; anything else empties the cache */
static void
notified(struct pg_cache *c, const char *payload)
{
	long long id;

	if ((payload[0] == 's' || payload[0] == 't') && payload[1] == ':' &&
	    strlen(payload + 2) == STORE_KEYHASH_LEN)
		pg_cache_drop(c, payload[0], 0, payload + 2);
	else if (payload[0] == 'u' && payload[1] == ':' && parse_ll(payload + 2, 1, INT64_MAX, &id) == 0)
		pg_cache_drop(c, 'u', id, NULL);
	else
		pg_cache_flush(c);
}

/* true when a byte arrived on the stop pipe within ms (-1: forever) */
static bool
stop_wait(struct pg_cache *c, int ms)
{
	struct pollfd p = { .fd = c->stop[0], .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/* serve one LISTEN connection until it is lost (false) or the cache stops (true) */
static bool
listen_on(struct pg_cache *c, PGconn *pg)
{
	double ping_sent = 0, quiet_since = now_mono();

	for (;;) {
		struct pollfd p[2] = { { .fd = c->stop[0], .events = POLLIN },
			{ .fd = PQsocket(pg), .events = POLLIN } };
		PGnotify *n;
		double now;
		int rc;

		if (p[1].fd < 0)
			return false;
		rc = poll(p, 2, HEARTBEAT_MS / 5);
		if (rc < 0 && errno != EINTR)
			return false;
		if (p[0].revents)
			return true;
		now = now_mono();
		if (p[1].revents) {
			/* from before the read until every notification read is handled, hits wait */
			set_reading(c, true);
			if (!PQconsumeInput(pg))
				return false;
			quiet_since = now;
			/* the heartbeat's answer first: libpq parses what follows it only once it is taken */
			while (ping_sent && !PQisBusy(pg)) {
				PGresult *r = PQgetResult(pg);
				if (r == NULL) {
					ping_sent = 0;
					break;
				}
				PQclear(r);
			}
			while ((n = PQnotifies(pg)) != NULL) {
				notified(c, n->extra);
				PQfreemem(n);
			}
			set_reading(c, false);
		}
		if (PQstatus(pg) == CONNECTION_BAD)
			return false;
		if (ping_sent && now - ping_sent >= HEARTBEAT_MS / 1000.0)
			return false; /* no answer: a link that died without a word */
		if (!ping_sent && now - quiet_since >= HEARTBEAT_MS / 1000.0) {
			if (!PQsendQuery(pg, "SELECT 1"))
				return false;
			ping_sent = now;
		}
	}
}

static void *
listener_main(void *arg)
{
	struct pg_cache *c = arg;
	int backoff = 0;
	bool was_down = false;

	for (;;) {
		char err[256] = "";
		bool stop;
		PGconn *pg = pg_connect_listener(c->st, c->stop[0], &stop, err, sizeof(err));
		PGresult *r = NULL;

		if (stop)
			return NULL;
		if (pg != NULL) {
			r = PQexec(pg, "LISTEN gatehouse_revoke");
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				strlcpy_ok(err, PQerrorMessage(pg), sizeof(err));
				PQfinish(pg);
				pg = NULL;
			}
			PQclear(r);
		}
		if (pg == NULL) {
			pg_log_down("cache listener cannot LISTEN (the cache is bypassed)", err);
			was_down = true;
			backoff = backoff ? backoff * 2 : BACKOFF_FIRST_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			if (stop_wait(c, backoff))
				return NULL;
			continue;
		}
		backoff = 0;
		if (was_down)
			log_msg(LOG_INFO, "postgres: cache listener is back: the cache is on again");
		was_down = false;
		/* whatever was revoked while nobody listened is gone with the rest */
		set_live(c, true, PQsocket(pg));
		stop = listen_on(c, pg);
		set_live(c, false, -1);
		if (!stop) {
			pg_log_down("cache listener lost its connection (the cache is bypassed)",
			    PQerrorMessage(pg));
			was_down = true;
		}
		PQfinish(pg);
		if (stop)
			return NULL;
	}
}

struct pg_cache *
pg_cache_new(struct store *st, int ttl, char *err, size_t errsz)
{
	struct pg_cache *c = xcalloc(1, sizeof(*c));

	c->st = st;
	c->ttl = ttl;
	c->listen_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	if (pipe2(c->stop, O_CLOEXEC) != 0) {
		snprintf(err, errsz, "cache: pipe: %s", strerror(errno));
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	if (pthread_create(&c->thread, NULL, listener_main, c) != 0) {
		snprintf(err, errsz, "cache: cannot start the listener thread");
		close(c->stop[0]);
		close(c->stop[1]);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	c->started = true;
	return c;
}

void
pg_cache_free(struct pg_cache *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		ssize_t w;
		do
			w = write(c->stop[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(c->thread, NULL);
	}
	close(c->stop[0]);
	close(c->stop[1]);
	pthread_mutex_lock(&c->lock);
	flush_locked(c);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
