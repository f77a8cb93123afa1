/*
 * store/pgsql_webhooks — the PostgreSQL side of the webhook outbox: add
 * (inside the caller's transaction), claim with a lease (FOR UPDATE SKIP
 * LOCKED: instances sharing the database never hold the same row), delivered,
 * failed, get, purge.  Never sees an endpoint's signing secret.
 */
#include <stdlib.h>
#include <string.h>

#include "store/pgsql/pgsql_int.h"
#include "util.h"

/* the columns of ST_WEBHOOK_CLAIM and ST_WEBHOOK_GET, in their order */
static void
read_row(const PGresult *r, int i, struct store_webhook *w)
{
	memset(w, 0, sizeof(*w));
	w->id = pg_col_int(r, i, 0);
	pg_col_text(r, i, 1, w->msg_id, sizeof(w->msg_id));
	pg_col_text(r, i, 2, w->endpoint, sizeof(w->endpoint));
	pg_col_text(r, i, 3, w->event, sizeof(w->event));
	w->payload = xstrdup(PQgetisnull(r, i, 4) ? "" : PQgetvalue(r, i, 4));
	w->created_at = pg_col_int(r, i, 5);
	w->next_attempt_ms = pg_col_int(r, i, 6);
	w->attempts = (int)pg_col_int(r, i, 7);
	w->last_status = (int)pg_col_int(r, i, 8);
	pg_col_text(r, i, 9, w->last_error, sizeof(w->last_error));
	w->delivered = pg_col_int(r, i, 10) != 0;
	w->done_at = pg_col_int(r, i, 11);
}

int
pg_webhook_add(struct store *st, struct store_webhook *w)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, w->msg_id);
	pg_text(&p, w->endpoint);
	pg_text(&p, w->event);
	pg_text(&p, w->payload ? w->payload : "");
	pg_int(&p, w->created_at);
	pg_int(&p, w->next_attempt_ms);
	if ((r = pg_one(st, ST_WEBHOOK_ADD, &p, &rc)) == NULL)
		return rc == STORE_NOTFOUND ? -1 : rc;
	w->id = pg_col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

int
pg_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out, int max,
    int *n)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc, rows;

	*n = 0;
	if (max <= 0)
		return 0;
	pg_int(&p, now_ms);
	pg_int(&p, lease_until_ms);
	pg_int(&p, max);
	if ((r = pg_run(st, ST_WEBHOOK_CLAIM, &p, &rc)) == NULL)
		return -1;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++)
		read_row(r, i, &out[(*n)++]);
	PQclear(r);
	return 0;
}

int
pg_webhook_delivered(struct store *st, int64_t id, int status, int64_t when)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	pg_int(&p, status);
	pg_int(&p, when);
	return pg_write(st, ST_WEBHOOK_DELIVERED, &p, NULL) == 0 ? 0 : -1;
}

int
pg_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	pg_int(&p, status);
	pg_text(&p, error ? error : "");
	pg_int(&p, next_attempt_ms);
	pg_int(&p, give_up ? 1 : 0);
	pg_int(&p, when);
	return pg_write(st, ST_WEBHOOK_FAILED, &p, NULL) == 0 ? 0 : -1;
}

int
pg_webhook_get(struct store *st, int64_t id, struct store_webhook *w)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_int(&p, id);
	if ((r = pg_one(st, ST_WEBHOOK_GET, &p, &rc)) == NULL)
		return rc;
	read_row(r, 0, w);
	PQclear(r);
	return 0;
}

int
pg_webhook_purge(struct store *st, int64_t before, int limit, int *deleted)
{
	struct pg_params p = { 0 };
	int64_t n = 0;

	*deleted = 0;
	pg_int(&p, before);
	pg_int(&p, limit > 0 ? limit : 0);
	if (pg_write(st, ST_WEBHOOK_PURGE, &p, &n) != 0)
		return -1;
	*deleted = (int)n;
	return 0;
}
