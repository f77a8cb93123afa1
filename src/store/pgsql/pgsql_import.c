/*
 * store/pgsql_import — the PostgreSQL side of `gatehouse import-django` and `gatehouse export`: the
 * link from a Django primary key to the user it became (django_users, migration 0011) and every token
 * with its key hash for the export.  Never sees a token key or a password.
 */
#include <stdio.h>
#include <string.h>

#include "store/pgsql/pgsql_int.h"
#include "util.h"

int
pg_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	if (django_pk) {
		pg_text(&p, django_model);
		pg_text(&p, django_pk);
	} else
		pg_int(&p, user_id);
	if ((r = pg_one(st, django_pk ? ST_DJANGO_USER_GET : ST_DJANGO_USER_BY_USER, &p, &rc)) == NULL)
		return rc;
	pg_col_text(r, 0, 0, d->django_model, sizeof(d->django_model));
	pg_col_text(r, 0, 1, d->django_pk, sizeof(d->django_pk));
	d->user_id = pg_col_int(r, 0, 2);
	pg_col_text(r, 0, 3, d->row_hash, sizeof(d->row_hash));
	pg_col_text(r, 0, 4, d->password_hash, sizeof(d->password_hash));
	d->imported_at = pg_col_int(r, 0, 5);
	PQclear(r);
	return 0;
}

int
pg_django_user_put(struct store *st, const struct store_django_user *d)
{
	struct pg_params p = { 0 };
	int64_t changed = 0;
	int rc;

	pg_text(&p, d->django_model);
	pg_text(&p, d->django_pk);
	pg_int(&p, d->user_id);
	pg_text(&p, d->row_hash);
	pg_text(&p, d->password_hash);
	pg_int(&p, d->imported_at);
	if ((rc = pg_write(st, ST_DJANGO_USER_PUT, &p, &changed)) != 0)
		return rc;
	/* no row: the user is linked to another Django pk (the NOT EXISTS guard) */
	return changed == 0 ? STORE_CONFLICT : 0;
}

struct each_cb {
	void (*fn)(void *, const struct store_token *);
	void *ctx;
};

static void
token_row(const PGresult *r, int row, void *arg)
{
	struct each_cb *cb = arg;
	struct store_token t = { 0 };

	t.id = pg_col_int(r, row, 0);
	t.user_id = pg_col_int(r, row, 1);
	pg_col_text(r, row, 2, t.name, sizeof(t.name));
	t.created_at = pg_col_int(r, row, 3);
	t.expires_at = pg_col_int(r, row, 4);
	t.last_used = pg_col_int(r, row, 5);
	pg_col_text(r, row, 6, t.key_hash, sizeof(t.key_hash));
	cb->fn(cb->ctx, &t);
}

int
pg_token_each(struct store *st, void (*each)(void *, const struct store_token *), void *ctx)
{
	struct each_cb cb = { each, ctx };

	return pg_each_row(st, ST_TOKEN_EACH, NULL, token_row, &cb);
}

int
pg_import_lock(struct store *st)
{
	int rc;
	PGresult *r = pg_run(st, ST_IMPORT_LOCK, NULL, &rc);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}
