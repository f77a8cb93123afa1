/*
 * store/pgsql_throttle — the PostgreSQL side of the limiter (throttle.h):
 * one row per admitted attempt, keyed by a hash of the limiter's key.  The
 * count and the insert run under a transaction-scoped advisory lock on the
 * key, so attempts spread over several instances count as on one: N failed
 * logins over two instances are N.  Rows per key stay at most the limit (a
 * refused attempt writes nothing).  Must never see a password, nor a key in
 * the clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

/* refused: allowed again when the limit-th newest attempt leaves the window */
static int
retry_after_of(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, key_hash);
	pg_int(&p, now);
	pg_int(&p, window);
	pg_int(&p, limit);
	r = pg_one(st, ST_THROTTLE_WAIT, &p, &rc);
	if (r == NULL && rc < 0)
		return -1;
	*retry_after = 1;
	if (r != NULL) {
		int64_t wait = pg_col_int(r, 0, 0) + window - now;
		if (wait > 1)
			*retry_after = (long)wait;
		PQclear(r);
	}
	return 0;
}

int
pg_throttle_reserve(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after)
{
	/* a caller already inside store_begin(): the lock lives until its commit */
	bool own = !pg_in_transaction(st);
	struct pg_params p = { 0 };
	int64_t added = 0;
	int ret = -1;

	*retry_after = 0;
	if (own && pg_begin(st) != 0)
		return -1;
	pg_text(&p, key_hash);
	if (pg_write(st, ST_THROTTLE_LOCK, &p, NULL) != 0)
		goto done;
	pg_int(&p, now);
	pg_int(&p, window);
	pg_int(&p, limit);
	if (pg_write(st, ST_THROTTLE_ADD, &p, &added) != 0)
		goto done;
	if (added == 1)
		ret = 0;
	else if (retry_after_of(st, key_hash, limit, window, now, retry_after) == 0)
		ret = STORE_CONFLICT;
done:
	if (own) {
		if (ret >= 0 && pg_commit(st) != 0)
			ret = -1; /* an attempt not recorded is not admitted */
		else if (ret < 0)
			pg_rollback(st);
	}
	if (ret < 0)
		*retry_after = 0;
	return ret;
}

static int
by_key(struct store *st, enum stmt which, const char *key_hash)
{
	struct pg_params p = { 0 };

	pg_text(&p, key_hash);
	return pg_write(st, which, &p, NULL);
}

int
pg_throttle_release(struct store *st, const char *key_hash)
{
	return by_key(st, ST_THROTTLE_RELEASE, key_hash);
}

int
pg_throttle_reset(struct store *st, const char *key_hash)
{
	return by_key(st, ST_THROTTLE_RESET, key_hash);
}

int
pg_throttle_purge(struct store *st, int64_t now, int max, int *n)
{
	struct pg_params p = { 0 };
	int64_t k = 0;

	*n = 0;
	pg_int(&p, now);
	pg_int(&p, max);
	if (pg_write(st, ST_THROTTLE_PURGE, &p, &k) != 0)
		return -1;
	*n = (int)k;
	return 0;
}
