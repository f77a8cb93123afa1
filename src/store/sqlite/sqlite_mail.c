/*
 * store/sqlite_mail — the SQLite side of email confirmation keys and the
 * mail outbox (claim with a lease, sent, failed).  Keys arrive hashed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/sqlite/sqlite_int.h"
#include "util.h"

int
sq_confirmation_create(struct store *st, struct store_confirmation *c)
{
	sqlite3_stmt *s = sq_prep(st, ST_CONFIRM_CREATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, c->key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, c->user_id);
	sqlite3_bind_text(s, 3, c->email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, c->created_at);
	sqlite3_bind_int64(s, 5, c->expires_at);
	if ((ret = sq_step_write(st, s)) == 0)
		c->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

int
sq_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c)
{
	sqlite3_stmt *s = sq_prep(st, ST_CONFIRM_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	c->id = sqlite3_column_int64(s, 0);
	c->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, c->email, sizeof(c->email));
	c->created_at = sqlite3_column_int64(s, 3);
	c->expires_at = sqlite3_column_int64(s, 4);
	strlcpy_ok(c->key_hash, key_hash, sizeof(c->key_hash));
	sq_done(s);
	return sq_exec1(st, ST_CONFIRM_DELETE, c->id) == 0 ? 0 : -1;
}

int
sq_confirmation_delete_user(struct store *st, int64_t user_id)
{
	return sq_exec1(st, ST_CONFIRM_DELETE_USER, user_id);
}

int
sq_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_OUTBOX_ADD);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, now);
	return sq_step_write(st, s);
}

int
sq_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max, int *n)
{
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (sq_begin(st) != 0)
		return -1;
	if ((s = sq_prep(st, ST_OUTBOX_DUE)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		struct store_mail *m = &out[*n];
		const unsigned char *msg = sqlite3_column_text(s, 2);

		m->id = sqlite3_column_int64(s, 0);
		sq_col_text(s, 1, m->recipient, sizeof(m->recipient));
		m->message = xstrdup(msg ? (const char *)msg : "");
		m->attempts = sqlite3_column_int(s, 3);
		(*n)++;
	}
	sq_done(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	/* the lease: another instance (or this one after a crash) retries after it */
	for (int i = 0; i < *n; i++)
		if (sq_exec2(st, ST_OUTBOX_LEASE, lease_until, out[i].id) != 0)
			goto fail;
	if (sq_commit(st) != 0)
		goto fail;
	return 0;
fail:
	sq_rollback(st);
	for (int i = 0; i < *n; i++)
		store_mail_free(&out[i]);
	*n = 0;
	return -1;
}

int
sq_outbox_sent(struct store *st, int64_t id, int64_t when)
{
	return sq_exec2(st, ST_OUTBOX_SENT, when, id);
}

int
sq_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error)
{
	sqlite3_stmt *s = sq_prep(st, ST_OUTBOX_FAILED);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, next_attempt);
	sqlite3_bind_text(s, 2, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, id);
	return sq_step_write(st, s);
}

/* Step a read statement to the end, calling row(s, ctx) per row. */

int
sq_outbox_depth(struct store *st, int64_t *n)
{
	sqlite3_stmt *s = sq_prep(st, ST_OUTBOX_DEPTH);

	if (s == NULL)
		return -1;
	return sq_count_rows(s, n);
}
