/*
 * store/pgsql_admin — the PostgreSQL side of lists and admin writes: a
 * user's sessions and tokens, the user list, account flags, and the audit
 * log.  Whatever ends or changes a signed-in caller also leaves this
 * instance's cache at once (the others hear it from the 0008 triggers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

/* one callback type per row type: no calls through cast function pointers */
struct session_cb {
	void (*fn)(void *, const struct store_session_info *);
	void *ctx;
};
struct token_cb {
	void (*fn)(void *, const struct store_token *);
	void *ctx;
};
struct user_cb {
	void (*fn)(void *, const struct store_user *);
	void *ctx;
};
struct audit_cb {
	void (*fn)(void *, const struct store_audit *);
	void *ctx;
};

static void
session_row(const PGresult *r, int row, void *arg)
{
	struct session_cb *cb = arg;
	struct store_session_info i;

	i.id = pg_col_int(r, row, 0);
	i.user_id = pg_col_int(r, row, 1);
	i.created_at = pg_col_int(r, row, 2);
	i.last_seen = pg_col_int(r, row, 3);
	i.expires_at = pg_col_int(r, row, 4);
	pg_col_text(r, row, 5, i.ip, sizeof(i.ip));
	pg_col_text(r, row, 6, i.user_agent, sizeof(i.user_agent));
	cb->fn(cb->ctx, &i);
}

int
pg_session_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_session_info *),
    void *ctx)
{
	struct session_cb cb = { each, ctx };
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return pg_each_row(st, ST_SESSION_LIST, &p, session_row, &cb);
}

int
pg_session_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	int rc = pg_delete_owned(st, ST_SESSION_DELETE_ID, id, user_id);

	pg_invalidate(st, 'S', id, NULL);
	return rc;
}

static void
token_row(const PGresult *r, int row, void *arg)
{
	struct token_cb *cb = arg;
	struct store_token t = { 0 };

	t.id = pg_col_int(r, row, 0);
	t.user_id = pg_col_int(r, row, 1);
	pg_col_text(r, row, 2, t.name, sizeof(t.name));
	t.created_at = pg_col_int(r, row, 3);
	t.expires_at = pg_col_int(r, row, 4);
	t.last_used = pg_col_int(r, row, 5);
	cb->fn(cb->ctx, &t);
}

int
pg_token_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_token *), void *ctx)
{
	struct token_cb cb = { each, ctx };
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return pg_each_row(st, ST_TOKEN_LIST, &p, token_row, &cb);
}

int
pg_token_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	int rc = pg_delete_owned(st, ST_TOKEN_DELETE_ID, id, user_id);

	pg_invalidate(st, 'T', id, NULL);
	return rc;
}

static void
user_row(const PGresult *r, int row, void *arg)
{
	struct user_cb *cb = arg;
	struct store_user u;

	pg_read_user(r, row, 0, &u);
	cb->fn(cb->ctx, &u);
}

int
pg_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *, const struct store_user *), void *ctx, int64_t *total)
{
	struct user_cb cb = { each, ctx };
	struct pg_params p = { 0 };

	/* PostgreSQL refuses text that is not UTF-8, and holds none: such a search matches nothing
	 * (as on SQLite), it is not an error */
	*total = 0;
	if (search && !utf8_valid(search, strlen(search)))
		return 0;
	pg_text(&p, search && *search ? search : NULL);
	if (pg_count(st, ST_USER_COUNT, &p, total) != 0)
		return -1;
	pg_int(&p, limit);
	pg_int(&p, offset);
	return pg_each_row(st, ST_USER_LIST, &p, user_row, &cb);
}

int
pg_user_set_flags(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
    bool email_verified)
{
	struct pg_params p = { 0 };
	int rc;

	pg_int(&p, is_active);
	pg_int(&p, is_staff);
	pg_int(&p, is_superuser);
	pg_int(&p, email_verified);
	pg_int(&p, id);
	rc = pg_write(st, ST_USER_SET_FLAGS, &p, NULL);
	pg_invalidate(st, 'u', id, NULL);
	return rc;
}

int
pg_audit_add(struct store *st, struct store_audit *a)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_int(&p, a->at);
	pg_int(&p, a->actor_id);
	pg_int(&p, a->user_id);
	pg_text(&p, a->event);
	pg_text(&p, a->detail[0] ? a->detail : "{}");
	pg_text(&p, a->ip);
	pg_text(&p, a->user_agent);
	if ((r = pg_one(st, ST_AUDIT_ADD, &p, &rc)) == NULL)
		return rc == STORE_NOTFOUND ? -1 : rc;
	a->id = pg_col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static void
audit_row(const PGresult *r, int row, void *arg)
{
	struct audit_cb *cb = arg;
	struct store_audit a;

	a.id = pg_col_int(r, row, 0);
	a.at = pg_col_int(r, row, 1);
	a.actor_id = pg_col_int(r, row, 2);
	a.user_id = pg_col_int(r, row, 3);
	pg_col_text(r, row, 4, a.event, sizeof(a.event));
	pg_col_text(r, row, 5, a.detail, sizeof(a.detail));
	pg_col_text(r, row, 6, a.ip, sizeof(a.ip));
	pg_col_text(r, row, 7, a.user_agent, sizeof(a.user_agent));
	cb->fn(cb->ctx, &a);
}

/* $1 user, $2 actor, $3 event or $4 its prefix (a trailing '*'); returns the prefix it made
 * (free it), or NULL */
static char *
audit_filter(struct pg_params *p, const struct store_audit_filter *f)
{
	size_t n = f->event ? strlen(f->event) : 0;
	char *prefix = NULL;

	pg_int(p, f->user_id);
	pg_int(p, f->actor_id);
	if (n && f->event[n - 1] == '*') {
		prefix = xstrndup(f->event, n - 1);
		pg_text(p, NULL);
		pg_text(p, prefix);
	} else {
		pg_text(p, n ? f->event : NULL);
		pg_text(p, NULL);
	}
	return prefix;
}

int
pg_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *, const struct store_audit *), void *ctx, int64_t *total)
{
	struct audit_cb cb = { each, ctx };
	struct pg_params p = { 0 };
	char *prefix;
	int rc = -1;

	*total = 0;
	if (f->event && !utf8_valid(f->event, strlen(f->event)))
		return 0; /* no event is named so (see pg_user_list) */
	prefix = audit_filter(&p, f);

	if (pg_count(st, ST_AUDIT_COUNT, &p, total) == 0) {
		pg_int(&p, limit);
		pg_int(&p, offset);
		rc = pg_each_row(st, ST_AUDIT_LIST, &p, audit_row, &cb);
	}
	free(prefix);
	return rc;
}

int
pg_sessions_live(struct store *st, int64_t now, int64_t *n)
{
	struct pg_params p = { 0 };

	pg_int(&p, now);
	return pg_count(st, ST_SESSIONS_LIVE, &p, n);
}
