/*
 * store/pgsql_conn — this thread's connection to PostgreSQL and what runs on
 * it: opened on first use (libpq defaults first, so the DSN's own settings
 * win), replaced when the server closed it, tried again after a loss with a
 * backoff (100 ms doubling to 2 s) during which a call fails at once, logged
 * at most once every 10 s while the database is down; every query a
 * statement prepared on the connection (again after a reconnect), parameters
 * and results as text; transactions, and the invalidations they hold back
 * until their commit.  Must never print the DSN (it may hold a password).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "util.h"
#include "store/pgsql/pgsql_int.h"

/* a lost connection is tried again at once, then after 100 ms doubling up to 2 s */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   2000
/* seconds a new connection may take */
#define CONNECT_TIMEOUT_S 5
#define STR(x)            #x
#define XSTR(x)           STR(x)
/* one "database down" line per this many seconds, however many requests fail */
#define LOG_DOWN_EVERY 10.0

static pthread_mutex_t down_lock = PTHREAD_MUTEX_INITIALIZER;
static double down_logged;  /* now_mono() of the last "down" line */
static unsigned down_quiet; /* lines left out since */
static bool down;           /* a "down" line went out and no "back" yet */

/* PQerrorMessage ends with a newline and may hold several lines: the first */
void
pg_first_line(const char *msg, char *out, size_t outsz)
{
	size_t n = msg ? strcspn(msg, "\n") : 0;

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

void
pg_log_down(const char *what, const char *detail)
{
	double now = now_mono();
	char line[256];

	pg_first_line(detail, line, sizeof(line));
	pthread_mutex_lock(&down_lock);
	down = true;
	if (down_logged == 0 || now - down_logged >= LOG_DOWN_EVERY) {
		if (down_quiet)
			log_msg(LOG_ERROR, "postgres: %s: %s (%u more since the last report)", what, line,
			    down_quiet);
		else
			log_msg(LOG_ERROR, "postgres: %s: %s", what, line);
		down_logged = now;
		down_quiet = 0;
	} else
		down_quiet++;
	pthread_mutex_unlock(&down_lock);
}

static void
log_back(void)
{
	pthread_mutex_lock(&down_lock);
	if (down) {
		log_msg(LOG_INFO, "postgres: connected again");
		down = false;
		down_logged = 0;
		down_quiet = 0;
	}
	pthread_mutex_unlock(&down_lock);
}

/* notices (e.g. "relation already exists, skipping") are not errors: debug only */
static void
on_notice(void *arg, const char *message)
{
	char line[256];

	(void)arg;
	pg_first_line(message, line, sizeof(line));
	log_msg(LOG_DEBUG, "postgres: %s", line);
}

/* the libpq settings of every connection (kw/val: 16 slots, NULL-terminated).  Defaults go before
 * "dbname" so the DSN's own settings win; the merged options and the listener's application_name
 * go after it. */
static void
conn_params(struct pgsql_impl *im, bool listener, const char **kw, const char **val)
{
	int n = 0;

	kw[n] = "connect_timeout",
	val[n++] = im->connect_timeout[0] ? im->connect_timeout : XSTR(CONNECT_TIMEOUT_S);
	kw[n] = "application_name", val[n++] = "gatehouse";
	kw[n] = "client_encoding", val[n++] = "UTF8";
	kw[n] = "keepalives", val[n++] = "1";
	kw[n] = "keepalives_idle", val[n++] = "10";
	kw[n] = "keepalives_interval", val[n++] = "5";
	kw[n] = "keepalives_count", val[n++] = "3";
	kw[n] = "tcp_user_timeout", val[n++] = "20000";
	if (!im->dsn_has_options)
		kw[n] = "options", val[n++] = STATEMENT_TIMEOUT;
	kw[n] = "dbname", val[n++] = im->dsn;
	if (im->options)
		kw[n] = "options", val[n++] = im->options;
	if (listener)
		kw[n] = "application_name", val[n++] = "gatehouse-listen";
	kw[n] = NULL, val[n] = NULL;
}

PGconn *
pg_connect(struct pgsql_impl *im, bool listener, char *err, size_t errsz)
{
	const char *kw[16], *val[16];
	PGconn *pg;

	conn_params(im, listener, kw, val);
	pg = PQconnectdbParams(kw, val, 1);
	if (pg == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		pg_first_line(PQerrorMessage(pg), err, errsz);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, on_notice, NULL);
	return pg;
}

/* libpq's non-blocking connect, so close() never waits for a database that does not answer; it
 * does not apply connect_timeout itself */
PGconn *
pg_connect_listener(struct store *st, int stop_fd, bool *stopped, char *err, size_t errsz)
{
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	double deadline = now_mono() + CONNECT_TIMEOUT_S;
	const char *kw[16], *val[16];
	PGconn *pg;

	*stopped = false;
	conn_params(st->impl, true, kw, val);
	if ((pg = PQconnectStartParams(kw, val, 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	while (PQstatus(pg) != CONNECTION_BAD && ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		struct pollfd p[2] = { { .fd = stop_fd, .events = POLLIN },
			{ .fd = PQsocket(pg), .events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT } };
		double left = deadline - now_mono();
		int rc;

		if (left <= 0) {
			snprintf(err, errsz, "timeout expired");
			PQfinish(pg);
			return NULL;
		}
		rc = poll(p, 2, (int)(left * 1000) + 1);
		if (rc < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			*stopped = true;
			PQfinish(pg);
			return NULL;
		}
		if (p[1].revents)
			ps = PQconnectPoll(pg);
	}
	if (ps != PGRES_POLLING_OK || PQstatus(pg) != CONNECTION_OK) {
		pg_first_line(PQerrorMessage(pg), err, errsz);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, on_notice, NULL);
	return pg;
}

struct pg_conn *
pg_conn_mine(struct pgsql_impl *im)
{
	struct pg_conn *c = pthread_getspecific(im->tls);

	if (c != NULL)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->im = im;
	pthread_mutex_lock(&im->lock);
	c->next = im->conns;
	im->conns = c;
	pthread_mutex_unlock(&im->lock);
	pthread_setspecific(im->tls, c);
	return c;
}

void
pg_conn_drop(struct pg_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	memset(c->prepared, 0, sizeof(c->prepared));
	c->next_try = 0; /* the next use tries again at once */
}

/* An idle connection the server closed (a restart, pg_terminate_backend, an idle timeout) has its
 * goodbye or EOF waiting to be read: found before anything is sent, it is replaced, and even a write
 * runs on the new one (nothing was sent on the old).  One poll() with no wait. */
static bool
conn_closed(struct pg_conn *c)
{
	struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };

	if (p.fd < 0)
		goto closed;
	/* a terminated backend's FATAL message and the EOF behind it may take two reads */
	for (int i = 0; i < 4 && poll(&p, 1, 0) > 0; i++)
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK)
			goto closed;
	return false;
closed:
	pg_log_down("connection lost", PQerrorMessage(c->pg));
	pg_conn_drop(c);
	return true;
}

/* This thread's connection, connected; NULL while the database is unreachable (backing off), or
 * when a transaction lost its connection (nothing may run outside it until commit/rollback). */
struct pg_conn *
pg_conn_get(struct store *st, char *err, size_t errsz)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c = pg_conn_mine(im);
	double now;

	if (c->pg != NULL && (c->in_tx || !conn_closed(c)))
		return c;
	if (c->in_tx) {
		snprintf(err, errsz, "the connection was lost inside a transaction");
		return NULL;
	}
	now = now_mono();
	if (now < c->next_try) {
		snprintf(err, errsz, "database unreachable, next try in %.0f ms", (c->next_try - now) * 1000);
		return NULL;
	}
	if ((c->pg = pg_connect(im, false, err, errsz)) == NULL) {
		pg_log_down("cannot connect", err);
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_FIRST_MS;
		if (c->backoff_ms > BACKOFF_MAX_MS)
			c->backoff_ms = BACKOFF_MAX_MS;
		c->next_try = now + c->backoff_ms / 1000.0;
		return NULL;
	}
	c->backoff_ms = 0;
	memset(c->prepared, 0, sizeof(c->prepared));
	log_back();
	return c;
}

static struct pg_conn *
conn_get(struct store *st)
{
	char err[256];

	return pg_conn_get(st, err, sizeof(err));
}

void
pg_int(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_MAXPARAMS)
		fatal("pgsql: too many parameters");
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

void
pg_text(struct pg_params *p, const char *s)
{
	if (p->n >= PG_MAXPARAMS)
		fatal("pgsql: too many parameters");
	p->v[p->n++] = s;
}

/* the connection is gone (or the server is going away): it is of no further use */
static bool
conn_lost(PGconn *pg, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pg) == CONNECTION_BAD)
		return true;
	return state != NULL &&
	    (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	        strcmp(state, "57P03") == 0);
}

/* A failed call on c: STORE_CONFLICT for an integrity violation, else -1, logged; a lost
 * connection is dropped (the next use reconnects).  *lost says which. */
static int
failed(struct pg_conn *c, PGresult *r, const char *what, bool *lost)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char line[256];

	*lost = conn_lost(c->pg, r);
	if (*lost) {
		pg_log_down("connection lost", PQerrorMessage(c->pg));
		pg_conn_drop(c);
		return -1;
	}
	if (state != NULL && strncmp(state, "23", 2) == 0)
		return STORE_CONFLICT;
	pg_first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg), line, sizeof(line));
	log_msg(LOG_ERROR, "postgres: %s: %s", what, line);
	return -1;
}

void
pg_set_deadline(struct pgsql_impl *im, int ms)
{
	int s = ms / 1000;

	im->deadline_ms = ms > 0 ? ms : 0;
	/* a reconnect to a database that accepts but never answers costs no more than one answer may */
	if (ms > 0)
		snprintf(im->connect_timeout, sizeof(im->connect_timeout), "%d",
		    s < 2                     ? 2 :
		        s > CONNECT_TIMEOUT_S ? CONNECT_TIMEOUT_S :
		                                s);
}

/* The answer to what was just sent on c, read within the deadline: the last result (PQclear it), or
 * NULL when none came in time.  A server that stopped answering (frozen, a dead link neither TCP
 * nor statement_timeout notices yet) must not hold this thread past the request timeout: the
 * connection is closed (what it was doing is abandoned, and rolled back by the server when it
 * notices), the next use of this slot waits a moment, and the caller answers 503. */
static PGresult *
await_result(struct pg_conn *c, bool *timed_out)
{
	int ms = c->im->deadline_ms;
	double deadline = now_mono() + ms / 1000.0;
	PGresult *last = NULL, *r;

	*timed_out = false;
	for (;;) {
		while (ms > 0 && PQisBusy(c->pg)) {
			struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };
			double left = deadline - now_mono();
			int rc;

			if (left <= 0 || (rc = poll(&p, 1, (int)(left * 1000) + 1)) == 0) {
				PQclear(last);
				pg_log_down("no answer in time", "the connection is closed and opened again");
				pg_conn_drop(c);
				c->next_try = now_mono() + 1.0;
				*timed_out = true;
				return NULL;
			}
			if (rc < 0 && errno != EINTR)
				break;
			if (rc > 0 && !PQconsumeInput(c->pg))
				break; /* PQgetResult reports the broken connection */
		}
		if ((r = PQgetResult(c->pg)) == NULL)
			return last;
		PQclear(last);
		last = r;
		if (PQstatus(c->pg) == CONNECTION_BAD)
			return last;
	}
}

/* PQexec, PQprepare and PQexecPrepared within the deadline (NULL: timed out, c dropped) */
static PGresult *
exec_sql(struct pg_conn *c, const char *sql, bool *timed_out)
{
	if (!PQsendQuery(c->pg, sql)) {
		*timed_out = false;
		return PQgetResult(c->pg);
	}
	return await_result(c, timed_out);
}

static PGresult *
prepare(struct pg_conn *c, const char *name, const char *sql, bool *timed_out)
{
	if (!PQsendPrepare(c->pg, name, sql, 0, NULL)) {
		*timed_out = false;
		return PQgetResult(c->pg);
	}
	return await_result(c, timed_out);
}

static PGresult *
exec_prepared(struct pg_conn *c, const char *name, const struct pg_params *p, bool *timed_out)
{
	if (!PQsendQueryPrepared(c->pg, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0)) {
		*timed_out = false;
		return PQgetResult(c->pg);
	}
	return await_result(c, timed_out);
}

PGresult *
pg_run(struct store *st, enum stmt which, const struct pg_params *p, int *rc)
{
	/* a read that found its connection dead (e.g. the server restarted while it was idle) may run
	 * again at once on a new one; a write may have committed before the answer was lost: never */
	bool retry = strncmp(pg_stmt_sql[which], "SELECT", 6) == 0;
	struct pg_conn *c;
	char name[16];
	bool lost, timed_out;

	snprintf(name, sizeof(name), "gh%d", (int)which);
	for (;;) {
		PGresult *r;
		ExecStatusType es;

		if ((c = conn_get(st)) == NULL) {
			*rc = -1;
			return NULL;
		}
		retry = retry && !c->in_tx;
		if (!c->prepared[which]) {
			if ((r = prepare(c, name, pg_stmt_sql[which], &timed_out)) == NULL && timed_out) {
				*rc = -1;
				return NULL;
			}
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				*rc = failed(c, r, pg_stmt_sql[which], &lost);
				PQclear(r);
				if (*rc == STORE_CONFLICT)
					*rc = -1;
				if (lost && retry) {
					retry = false;
					continue;
				}
				return NULL;
			}
			PQclear(r);
			c->prepared[which] = true;
		}
		if ((r = exec_prepared(c, name, p, &timed_out)) == NULL && timed_out) {
			*rc = -1;
			return NULL;
		}
		es = PQresultStatus(r);
		if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
			*rc = 0;
			return r;
		}
		*rc = failed(c, r, pg_stmt_sql[which], &lost);
		PQclear(r);
		if (lost && retry) {
			retry = false;
			continue;
		}
		return NULL;
	}
}

int
pg_write(struct store *st, enum stmt which, const struct pg_params *p, int64_t *changed)
{
	int rc;
	PGresult *r = pg_run(st, which, p, &rc);

	if (changed)
		*changed = 0;
	if (r == NULL)
		return rc;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int
pg_insert(struct store *st, enum stmt which, const struct pg_params *p, int64_t *id)
{
	int rc;
	PGresult *r = pg_run(st, which, p, &rc);

	if (r == NULL)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : STORE_CONFLICT;
	if (rc == 0 && id)
		*id = pg_col_int(r, 0, 0);
	PQclear(r);
	return rc;
}

PGresult *
pg_one(struct store *st, enum stmt which, const struct pg_params *p, int *rc)
{
	PGresult *r = pg_run(st, which, p, rc);

	if (r == NULL)
		return NULL;
	if (PQntuples(r) < 1) {
		PQclear(r);
		*rc = STORE_NOTFOUND;
		return NULL;
	}
	return r;
}

int
pg_each_row(struct store *st, enum stmt which, const struct pg_params *p,
    void (*row)(const PGresult *, int, void *), void *ctx)
{
	int rc, n;
	PGresult *r = pg_run(st, which, p, &rc);

	if (r == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		row(r, i, ctx);
	PQclear(r);
	return 0;
}

int
pg_count(struct store *st, enum stmt which, const struct pg_params *p, int64_t *total)
{
	int rc;
	PGresult *r = pg_one(st, which, p, &rc);

	if (r == NULL)
		return -1;
	*total = pg_col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

int
pg_delete_owned(struct store *st, enum stmt which, int64_t id, int64_t user_id)
{
	struct pg_params p = { 0 };
	int64_t changed;
	int rc;

	pg_int(&p, id);
	pg_int(&p, user_id);
	if ((rc = pg_write(st, which, &p, &changed)) != 0)
		return rc;
	return changed == 0 ? STORE_NOTFOUND : 0;
}

void
pg_col_text(const PGresult *r, int row, int col, char *out, size_t outsz)
{
	strlcpy_ok(out, PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col), outsz);
}

int64_t
pg_col_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void
pg_read_user(const PGresult *r, int row, int i, struct store_user *u)
{
	u->id = pg_col_int(r, row, i);
	pg_col_text(r, row, i + 1, u->email, sizeof(u->email));
	pg_col_text(r, row, i + 2, u->first_name, sizeof(u->first_name));
	pg_col_text(r, row, i + 3, u->last_name, sizeof(u->last_name));
	u->is_active = pg_col_int(r, row, i + 4) != 0;
	u->is_staff = pg_col_int(r, row, i + 5) != 0;
	u->is_superuser = pg_col_int(r, row, i + 6) != 0;
	u->email_verified = pg_col_int(r, row, i + 7) != 0;
	u->date_joined = pg_col_int(r, row, i + 8);
	u->last_login = pg_col_int(r, row, i + 9); /* NULL reads as 0 */
	pg_col_text(r, row, i + 10, u->auth_hash, sizeof(u->auth_hash));
	u->mfa_enabled = pg_col_int(r, row, i + 11) != 0;
	u->password[0] = '\0';
}

/* ---- transactions ---- */

/* a plain command on c (BEGIN, COMMIT, ROLLBACK): its result, or NULL with c dropped when lost */
static PGresult *
command(struct pg_conn *c, const char *sql, bool *lost)
{
	bool timed_out;
	PGresult *r = exec_sql(c, sql, &timed_out);

	*lost = false;
	if (r == NULL && timed_out)
		return NULL; /* not "lost": nothing may be tried again at once on a hung server */
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		return r;
	failed(c, r, sql, lost);
	PQclear(r);
	return NULL;
}

int
pg_begin(struct store *st)
{
	struct pg_conn *c = conn_get(st);
	PGresult *r;
	bool lost;

	if (c == NULL)
		return -1;
	if (c->in_tx) {
		log_msg(LOG_ERROR, "postgres: BEGIN inside a transaction");
		return -1;
	}
	/* nothing has happened yet: a connection found dead is replaced once */
	if ((r = command(c, "BEGIN", &lost)) == NULL && lost && (c = conn_get(st)) != NULL)
		r = command(c, "BEGIN", &lost);
	if (r == NULL)
		return -1;
	PQclear(r);
	c->in_tx = true;
	c->npend = 0;
	c->pend_overflow = false;
	return 0;
}

int
pg_commit(struct store *st)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c = pthread_getspecific(im->tls);
	PGresult *r;
	bool lost, ok = false;

	if (c == NULL || !c->in_tx) {
		log_msg(LOG_ERROR, "postgres: COMMIT without a transaction");
		return -1;
	}
	c->in_tx = false;
	if (c->pg == NULL)
		return -1; /* lost on the way: whatever it did is rolled back (or unknown): failed */
	if ((r = command(c, "COMMIT", &lost)) != NULL) {
		/* a transaction that had failed answers COMMIT with ROLLBACK */
		ok = strcmp(PQcmdStatus(r), "COMMIT") == 0;
		PQclear(r);
	}
	if (ok && im->cache) {
		if (c->pend_overflow)
			pg_cache_flush(im->cache);
		else
			for (int i = 0; i < c->npend; i++)
				pg_cache_drop(im->cache, c->pend[i].kind, c->pend[i].id, c->pend[i].key_hash);
	}
	c->npend = 0;
	c->pend_overflow = false;
	if (!ok && r != NULL)
		log_msg(LOG_WARN, "postgres: a transaction failed and was rolled back");
	return ok ? 0 : -1;
}

void
pg_rollback(struct store *st)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c = pthread_getspecific(im->tls);
	PGresult *r;
	bool lost;

	if (c == NULL || !c->in_tx)
		return; /* a failed commit already ended it */
	c->in_tx = false;
	c->npend = 0;
	c->pend_overflow = false;
	if (c->pg != NULL && (r = command(c, "ROLLBACK", &lost)) != NULL)
		PQclear(r);
}

bool
pg_in_transaction(struct store *st)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c = pthread_getspecific(im->tls);

	return c != NULL && c->in_tx;
}

/* ---- the cache's hooks ---- */

struct pg_cache *
pg_cache_of(struct store *st)
{
	struct pgsql_impl *im = st->impl;

	return im->cache;
}

void
pg_invalidate(struct store *st, char kind, int64_t id, const char *key_hash)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c;

	if (im->cache == NULL)
		return;
	pg_cache_drop(im->cache, kind, id, key_hash);
	/* inside a transaction the change is not visible yet: a read on another thread may cache the
	 * old row again before the commit; drop it once more then */
	c = pthread_getspecific(im->tls);
	if (c == NULL || !c->in_tx)
		return;
	if (c->npend == NPENDING) {
		c->pend_overflow = true;
		return;
	}
	c->pend[c->npend].kind = kind;
	c->pend[c->npend].id = id;
	strlcpy_ok(c->pend[c->npend].key_hash, key_hash ? key_hash : "", sizeof(c->pend[c->npend].key_hash));
	c->npend++;
}
