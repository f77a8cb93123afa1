/*
 * store/sqlite_import — the SQLite side of `gatehouse import-django` and `gatehouse export`: the link
 * from a Django primary key to the user it became (django_users, migration 0011) and every token with
 * its key hash for the export.  Never sees a token key or a password.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util.h"

int
sq_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d)
{
	sqlite3_stmt *s = sq_prep(st, django_pk ? ST_DJANGO_USER_GET : ST_DJANGO_USER_BY_USER);
	int ret;

	if (s == NULL)
		return -1;
	if (django_pk) {
		sqlite3_bind_text(s, 1, django_model, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, django_pk, -1, SQLITE_STATIC);
	} else
		sqlite3_bind_int64(s, 1, user_id);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	sq_col_text(s, 0, d->django_model, sizeof(d->django_model));
	sq_col_text(s, 1, d->django_pk, sizeof(d->django_pk));
	d->user_id = sqlite3_column_int64(s, 2);
	sq_col_text(s, 3, d->row_hash, sizeof(d->row_hash));
	sq_col_text(s, 4, d->password_hash, sizeof(d->password_hash));
	d->imported_at = sqlite3_column_int64(s, 5);
	sq_done(s);
	return 0;
}

int
sq_django_user_put(struct store *st, const struct store_django_user *d)
{
	sqlite3_stmt *s = sq_prep(st, ST_DJANGO_USER_PUT);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, d->django_model, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, d->django_pk, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, d->user_id);
	sqlite3_bind_text(s, 4, d->row_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, d->password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, d->imported_at);
	if ((ret = sq_step_write(st, s)) != 0)
		return ret;
	/* no row: the user is linked to another Django pk (the NOT EXISTS guard) */
	return sqlite3_changes(sqlite3_db_handle(s)) == 0 ? STORE_CONFLICT : 0;
}

struct each_cb {
	void (*fn)(void *, const struct store_token *);
	void *ctx;
};

static void
token_row(sqlite3_stmt *s, void *arg)
{
	struct each_cb *cb = arg;
	struct store_token t = { 0 };

	t.id = sqlite3_column_int64(s, 0);
	t.user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, t.name, sizeof(t.name));
	t.created_at = sqlite3_column_int64(s, 3);
	t.expires_at = sqlite3_column_int64(s, 4);
	t.last_used = sqlite3_column_int64(s, 5);
	sq_col_text(s, 6, t.key_hash, sizeof(t.key_hash));
	cb->fn(cb->ctx, &t);
}

int
sq_token_each(struct store *st, void (*each)(void *, const struct store_token *), void *ctx)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOKEN_EACH);
	struct each_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	return sq_each_row(s, token_row, &cb);
}

/* BEGIN IMMEDIATE took the database's one write lock: no other import (nor any writer) runs meanwhile */
int
sq_import_lock(struct store *st)
{
	(void)st;
	return 0;
}
