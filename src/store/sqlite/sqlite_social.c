/*
 * store/sqlite_social — the SQLite side of social login: pending states
 * (single use, bounded per browser and per IP, purged in batches through the
 * expires_at index, never by a scan on each request) and identities keyed on
 * (provider, subject).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/sqlite/sqlite_int.h"
#include "util.h"

int
sq_social_state_create(struct store *st, const struct store_social_state *ss, int per_browser, int per_ip)
{
	sqlite3_stmt *s;
	int64_t live = 0;

	/* this browser's oldest attempts make room (a user may open a few tabs) */
	if ((s = sq_prep(st, ST_STATE_TRIM_BROWSER)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, ss->browser_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, per_browser > 1 ? per_browser - 1 : 0);
	if (sq_step_write(st, s) != 0)
		return -1;
	/* a client that drops the cookie gets a new browser each time: the IP bounds it */
	if ((s = sq_prep(st, ST_STATE_COUNT_IP)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, ss->ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now_unix());
	sqlite3_bind_int(s, 3, per_ip);
	if (sq_count_rows(s, &live) != 0)
		return -1;
	if (live >= per_ip)
		return STORE_TOO_MANY;
	if ((s = sq_prep(st, ST_STATE_CREATE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, ss->state_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ss->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ss->browser_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ss->verifier, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, ss->nonce, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, ss->next, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, ss->link_user_id);
	sqlite3_bind_int64(s, 8, ss->expires_at);
	sqlite3_bind_text(s, 9, ss->ip, -1, SQLITE_STATIC);
	return sq_step_write(st, s);
}

int
sq_social_state_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	sqlite3_stmt *s = sq_prep(st, ST_STATE_PURGE);
	sqlite3 *db;

	*deleted = 0;
	if (s == NULL)
		return -1;
	db = sqlite3_db_handle(s);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	if (sq_step_write(st, s) != 0)
		return -1;
	*deleted = sqlite3_changes(db);
	return 0;
}

int
sq_social_state_take(struct store *st, const char *state_hash, struct store_social_state *ss)
{
	sqlite3_stmt *s = sq_prep(st, ST_STATE_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, state_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	strlcpy_ok(ss->state_hash, state_hash, sizeof(ss->state_hash));
	sq_col_text(s, 0, ss->provider, sizeof(ss->provider));
	sq_col_text(s, 1, ss->browser_hash, sizeof(ss->browser_hash));
	sq_col_text(s, 2, ss->verifier, sizeof(ss->verifier));
	sq_col_text(s, 3, ss->nonce, sizeof(ss->nonce));
	sq_col_text(s, 4, ss->next, sizeof(ss->next));
	ss->link_user_id = sqlite3_column_int64(s, 5);
	ss->expires_at = sqlite3_column_int64(s, 6);
	sq_done(s);
	/* single use: gone before anything else happens */
	if ((s = sq_prep(st, ST_STATE_DELETE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, state_hash, -1, SQLITE_STATIC);
	if (sq_step_write(st, s) != 0 || sqlite3_changes(sqlite3_db_handle(s)) != 1)
		return STORE_NOTFOUND; /* someone else took it first */
	return 0;
}

static void
read_identity(sqlite3_stmt *s, struct store_identity *i)
{
	i->id = sqlite3_column_int64(s, 0);
	i->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, i->provider, sizeof(i->provider));
	sq_col_text(s, 3, i->uid, sizeof(i->uid));
	sq_col_text(s, 4, i->extra, sizeof(i->extra));
	i->created_at = sqlite3_column_int64(s, 5);
}

int
sq_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i)
{
	sqlite3_stmt *s = sq_prep(st, ST_IDENTITY_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, uid, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	read_identity(s, i);
	sq_done(s);
	return 0;
}

int
sq_identity_create(struct store *st, struct store_identity *i)
{
	sqlite3_stmt *s = sq_prep(st, ST_IDENTITY_CREATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, i->user_id);
	sqlite3_bind_text(s, 2, i->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, i->uid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, i->extra[0] ? i->extra : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, i->created_at);
	if ((ret = sq_step_write(st, s)) == 0)
		i->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

int
sq_identity_update_extra(struct store *st, int64_t id, const char *extra)
{
	sqlite3_stmt *s = sq_prep(st, ST_IDENTITY_EXTRA);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, extra, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	return sq_step_write(st, s);
}

struct identity_cb {
	void (*fn)(void *, const struct store_identity *);
	void *ctx;
};

static void
identity_row(sqlite3_stmt *s, void *arg)
{
	struct identity_cb *cb = arg;
	struct store_identity i;

	read_identity(s, &i);
	cb->fn(cb->ctx, &i);
}

int
sq_identity_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_identity *),
    void *ctx)
{
	sqlite3_stmt *s = sq_prep(st, ST_IDENTITY_LIST);
	struct identity_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	return sq_each_row(s, identity_row, &cb);
}

int
sq_identity_delete(struct store *st, int64_t id, int64_t user_id)
{
	return sq_delete_owned(st, ST_IDENTITY_DELETE, id, user_id);
}
