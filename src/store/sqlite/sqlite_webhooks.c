/*
 * store/sqlite_webhooks — the SQLite side of the webhook outbox: add (inside
 * the caller's transaction), claim with a lease, delivered, failed, get,
 * purge.  Holds payloads that never carry a secret; never sees an endpoint's
 * signing secret (that stays in the configuration).
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util.h"

/* the columns of ST_WEBHOOK_DUE and ST_WEBHOOK_GET, in their order */
static void
read_row(sqlite3_stmt *s, struct store_webhook *w)
{
	const unsigned char *payload = sqlite3_column_text(s, 4);

	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(s, 0);
	sq_col_text(s, 1, w->msg_id, sizeof(w->msg_id));
	sq_col_text(s, 2, w->endpoint, sizeof(w->endpoint));
	sq_col_text(s, 3, w->event, sizeof(w->event));
	w->payload = xstrdup(payload ? (const char *)payload : "");
	w->created_at = sqlite3_column_int64(s, 5);
	w->next_attempt_ms = sqlite3_column_int64(s, 6);
	w->attempts = sqlite3_column_int(s, 7);
	w->last_status = sqlite3_column_int(s, 8);
	sq_col_text(s, 9, w->last_error, sizeof(w->last_error));
	w->delivered = sqlite3_column_int(s, 10) != 0;
	w->done_at = sqlite3_column_int64(s, 11);
}

int
sq_webhook_add(struct store *st, struct store_webhook *w)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBHOOK_ADD);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, w->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, w->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, w->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, w->payload ? w->payload : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, w->created_at);
	sqlite3_bind_int64(s, 6, w->next_attempt_ms);
	if ((ret = sq_step_write(st, s)) == 0)
		w->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

int
sq_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out, int max,
    int *n)
{
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;

	*n = 0;
	if (max <= 0)
		return 0;
	/* BEGIN IMMEDIATE: the write lock first, so two claimers never read the same due rows */
	if (sq_begin(st) != 0)
		return -1;
	if ((s = sq_prep(st, ST_WEBHOOK_DUE)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, max);
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_row(s, &out[(*n)++]);
	if (*n < max && rc != SQLITE_DONE) {
		sq_log_error(sqlite3_db_handle(s), sqlite3_sql(s));
		sq_done(s);
		goto fail;
	}
	sq_done(s);
	for (int i = 0; i < *n; i++)
		if (sq_exec2(st, ST_WEBHOOK_LEASE, lease_until_ms, out[i].id) != 0)
			goto fail;
	if (sq_commit(st) != 0)
		goto fail;
	return 0;
fail:
	sq_rollback(st);
	for (int i = 0; i < *n; i++)
		store_webhook_free(&out[i]);
	*n = 0;
	return -1;
}

int
sq_webhook_delivered(struct store *st, int64_t id, int status, int64_t when)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBHOOK_DELIVERED);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, status);
	sqlite3_bind_int64(s, 3, when);
	return sq_step_write(st, s) == 0 ? 0 : -1;
}

int
sq_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBHOOK_FAILED);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, status);
	sqlite3_bind_text(s, 3, error ? error : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, next_attempt_ms);
	sqlite3_bind_int(s, 5, give_up ? 1 : 0);
	sqlite3_bind_int64(s, 6, when);
	return sq_step_write(st, s) == 0 ? 0 : -1;
}

int
sq_webhook_get(struct store *st, int64_t id, struct store_webhook *w)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBHOOK_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	read_row(s, w);
	sq_done(s);
	return 0;
}

int
sq_webhook_purge(struct store *st, int64_t before, int limit, int *deleted)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBHOOK_PURGE);

	*deleted = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int(s, 2, limit);
	if (sq_step_write(st, s) != 0)
		return -1;
	*deleted = sqlite3_changes(sqlite3_db_handle(s));
	return 0;
}
