/*
 * store/sqlite_throttle — the SQLite side of the limiter (throttle.h): one
 * row per admitted attempt, keyed by a hash of the limiter's key.  The check
 * and the insert are one statement, so SQLite's single writer makes them
 * atomic across threads and processes.  Rows per key stay at most the limit
 * (a refused attempt writes nothing); expired rows go in bounded batches.
 * Must never see a password, nor a key in the clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/sqlite/sqlite_int.h"
#include "util.h"

int
sq_throttle_reserve(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after)
{
	sqlite3_stmt *s = sq_prep(st, ST_THROTTLE_ADD);
	int rc;

	*retry_after = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, window);
	sqlite3_bind_int64(s, 4, limit);
	if ((rc = sq_step_write(st, s)) != 0)
		return -1;
	if (sqlite3_changes(sqlite3_db_handle(s)) == 1)
		return 0;
	/* refused: allowed again when the limit-th newest attempt leaves the window */
	if ((s = sq_prep(st, ST_THROTTLE_WAIT)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, window);
	sqlite3_bind_int64(s, 4, limit);
	rc = sq_step_one(s);
	if (rc < 0)
		return -1;
	*retry_after = 1;
	if (rc == 0) {
		int64_t wait = sqlite3_column_int64(s, 0) + window - now;
		if (wait > 1)
			*retry_after = (long)wait;
		sq_done(s);
	}
	return STORE_CONFLICT;
}

static int
by_key(struct store *st, enum stmt which, const char *key_hash)
{
	sqlite3_stmt *s = sq_prep(st, which);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	return sq_step_write(st, s);
}

int
sq_throttle_release(struct store *st, const char *key_hash)
{
	return by_key(st, ST_THROTTLE_RELEASE, key_hash);
}

int
sq_throttle_reset(struct store *st, const char *key_hash)
{
	return by_key(st, ST_THROTTLE_RESET, key_hash);
}

int
sq_throttle_purge(struct store *st, int64_t now, int max, int *n)
{
	sqlite3_stmt *s = sq_prep(st, ST_THROTTLE_PURGE);

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	if (sq_step_write(st, s) != 0)
		return -1;
	*n = sqlite3_changes(sqlite3_db_handle(s));
	return 0;
}
