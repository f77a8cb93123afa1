/*
 * store/pgsql_mail — the PostgreSQL side of email confirmation keys and the
 * mail outbox.  A key is taken (found and deleted) in one statement, so two
 * instances cannot both use it; the outbox is claimed with a lease under
 * FOR UPDATE SKIP LOCKED, so two instances' mailers never send the same
 * message.  Keys arrive hashed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

int
pg_confirmation_create(struct store *st, struct store_confirmation *c)
{
	struct pg_params p = { 0 };

	pg_text(&p, c->key_hash);
	pg_int(&p, c->user_id);
	pg_text(&p, c->email);
	pg_int(&p, c->created_at);
	pg_int(&p, c->expires_at);
	return pg_insert(st, ST_CONFIRM_CREATE, &p, &c->id);
}

int
pg_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, key_hash);
	if ((r = pg_one(st, ST_CONFIRM_TAKE, &p, &rc)) == NULL)
		return rc;
	c->id = pg_col_int(r, 0, 0);
	c->user_id = pg_col_int(r, 0, 1);
	pg_col_text(r, 0, 2, c->email, sizeof(c->email));
	c->created_at = pg_col_int(r, 0, 3);
	c->expires_at = pg_col_int(r, 0, 4);
	strlcpy_ok(c->key_hash, key_hash, sizeof(c->key_hash));
	PQclear(r);
	return 0;
}

int
pg_confirmation_delete_user(struct store *st, int64_t user_id)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return pg_write(st, ST_CONFIRM_DELETE_USER, &p, NULL);
}

int
pg_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now)
{
	struct pg_params p = { 0 };

	pg_text(&p, recipient);
	pg_text(&p, message);
	pg_int(&p, now);
	return pg_write(st, ST_OUTBOX_ADD, &p, NULL);
}

int
pg_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max, int *n)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc, rows;

	*n = 0;
	if (max <= 0)
		return 0;
	pg_int(&p, now);
	pg_int(&p, lease_until);
	pg_int(&p, max);
	/* one statement: the lease is taken with the rows, in their order (next_attempt_at, id) */
	if ((r = pg_run(st, ST_OUTBOX_CLAIM, &p, &rc)) == NULL)
		return -1;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++) {
		struct store_mail *m = &out[*n];

		m->id = pg_col_int(r, i, 0);
		pg_col_text(r, i, 1, m->recipient, sizeof(m->recipient));
		m->message = xstrdup(PQgetisnull(r, i, 2) ? "" : PQgetvalue(r, i, 2));
		m->attempts = (int)pg_col_int(r, i, 3);
		(*n)++;
	}
	PQclear(r);
	return 0;
}

int
pg_outbox_sent(struct store *st, int64_t id, int64_t when)
{
	struct pg_params p = { 0 };

	pg_int(&p, when);
	pg_int(&p, id);
	return pg_write(st, ST_OUTBOX_SENT, &p, NULL);
}

int
pg_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error)
{
	struct pg_params p = { 0 };

	pg_int(&p, next_attempt);
	pg_text(&p, error);
	pg_int(&p, id);
	return pg_write(st, ST_OUTBOX_FAILED, &p, NULL);
}

int
pg_outbox_depth(struct store *st, int64_t *n)
{
	struct pg_params p = { 0 };

	return pg_count(st, ST_OUTBOX_DEPTH, &p, n);
}
