/*
 * store/pgsql_social — the PostgreSQL side of social login: pending states
 * (single use: found and deleted in one statement; bounded per browser and
 * per IP, purged in batches through the expires_at index) and identities
 * keyed on (provider, subject).  state_hash, the primary key, stands where
 * SQLite uses its rowid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

int
pg_social_state_create(struct store *st, const struct store_social_state *ss, int per_browser, int per_ip)
{
	struct pg_params p = { 0 };
	int64_t live = 0;

	/* this browser's oldest attempts make room (a user may open a few tabs) */
	pg_text(&p, ss->browser_hash);
	pg_int(&p, per_browser > 1 ? per_browser - 1 : 0);
	if (pg_write(st, ST_STATE_TRIM_BROWSER, &p, NULL) != 0)
		return -1;
	/* a client that drops the cookie gets a new browser each time: the IP bounds it */
	memset(&p, 0, sizeof(p));
	pg_text(&p, ss->ip);
	pg_int(&p, now_unix());
	pg_int(&p, per_ip);
	if (pg_count(st, ST_STATE_COUNT_IP, &p, &live) != 0)
		return -1;
	if (live >= per_ip)
		return STORE_TOO_MANY;
	memset(&p, 0, sizeof(p));
	pg_text(&p, ss->state_hash);
	pg_text(&p, ss->provider);
	pg_text(&p, ss->browser_hash);
	pg_text(&p, ss->verifier);
	pg_text(&p, ss->nonce);
	pg_text(&p, ss->next);
	pg_int(&p, ss->link_user_id);
	pg_int(&p, ss->expires_at);
	pg_text(&p, ss->ip);
	return pg_insert(st, ST_STATE_CREATE, &p, NULL);
}

int
pg_social_state_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	struct pg_params p = { 0 };
	int64_t n = 0;

	*deleted = 0;
	pg_int(&p, now);
	pg_int(&p, limit);
	if (pg_write(st, ST_STATE_PURGE, &p, &n) != 0)
		return -1;
	*deleted = (int)n;
	return 0;
}

int
pg_social_state_take(struct store *st, const char *state_hash, struct store_social_state *ss)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, state_hash);
	if ((r = pg_one(st, ST_STATE_TAKE, &p, &rc)) == NULL)
		return rc; /* STORE_NOTFOUND also when someone else took it first */
	strlcpy_ok(ss->state_hash, state_hash, sizeof(ss->state_hash));
	pg_col_text(r, 0, 0, ss->provider, sizeof(ss->provider));
	pg_col_text(r, 0, 1, ss->browser_hash, sizeof(ss->browser_hash));
	pg_col_text(r, 0, 2, ss->verifier, sizeof(ss->verifier));
	pg_col_text(r, 0, 3, ss->nonce, sizeof(ss->nonce));
	pg_col_text(r, 0, 4, ss->next, sizeof(ss->next));
	ss->link_user_id = pg_col_int(r, 0, 5);
	ss->expires_at = pg_col_int(r, 0, 6);
	PQclear(r);
	return 0;
}

static void
read_identity(const PGresult *r, int row, struct store_identity *i)
{
	i->id = pg_col_int(r, row, 0);
	i->user_id = pg_col_int(r, row, 1);
	pg_col_text(r, row, 2, i->provider, sizeof(i->provider));
	pg_col_text(r, row, 3, i->uid, sizeof(i->uid));
	pg_col_text(r, row, 4, i->extra, sizeof(i->extra));
	i->created_at = pg_col_int(r, row, 5);
}

int
pg_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, provider);
	pg_text(&p, uid);
	if ((r = pg_one(st, ST_IDENTITY_GET, &p, &rc)) == NULL)
		return rc;
	read_identity(r, 0, i);
	PQclear(r);
	return 0;
}

int
pg_identity_create(struct store *st, struct store_identity *i)
{
	struct pg_params p = { 0 };

	pg_int(&p, i->user_id);
	pg_text(&p, i->provider);
	pg_text(&p, i->uid);
	pg_text(&p, i->extra[0] ? i->extra : "{}");
	pg_int(&p, i->created_at);
	return pg_insert(st, ST_IDENTITY_CREATE, &p, &i->id);
}

int
pg_identity_update_extra(struct store *st, int64_t id, const char *extra)
{
	struct pg_params p = { 0 };

	pg_text(&p, extra);
	pg_int(&p, id);
	return pg_write(st, ST_IDENTITY_EXTRA, &p, NULL);
}

struct identity_cb {
	void (*fn)(void *, const struct store_identity *);
	void *ctx;
};

static void
identity_row(const PGresult *r, int row, void *arg)
{
	struct identity_cb *cb = arg;
	struct store_identity i;

	read_identity(r, row, &i);
	cb->fn(cb->ctx, &i);
}

int
pg_identity_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_identity *),
    void *ctx)
{
	struct identity_cb cb = { each, ctx };
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return pg_each_row(st, ST_IDENTITY_LIST, &p, identity_row, &cb);
}

int
pg_identity_delete(struct store *st, int64_t id, int64_t user_id)
{
	return pg_delete_owned(st, ST_IDENTITY_DELETE, id, user_id);
}
