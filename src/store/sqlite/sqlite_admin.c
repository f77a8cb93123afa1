/*
 * store/sqlite_admin — the SQLite side of lists and admin writes: a user's
 * sessions and tokens, the user list, account flags, and the audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/sqlite/sqlite_int.h"
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
session_row(sqlite3_stmt *s, void *arg)
{
	struct session_cb *cb = arg;
	struct store_session_info i;

	i.id = sqlite3_column_int64(s, 0);
	i.user_id = sqlite3_column_int64(s, 1);
	i.created_at = sqlite3_column_int64(s, 2);
	i.last_seen = sqlite3_column_int64(s, 3);
	i.expires_at = sqlite3_column_int64(s, 4);
	sq_col_text(s, 5, i.ip, sizeof(i.ip));
	sq_col_text(s, 6, i.user_agent, sizeof(i.user_agent));
	cb->fn(cb->ctx, &i);
}

int
sq_session_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_session_info *),
    void *ctx)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSION_LIST);
	struct session_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	return sq_each_row(s, session_row, &cb);
}

/* DELETE ... WHERE id = ?1 AND (?2 = 0 OR user_id = ?2): 0, STORE_NOTFOUND or -1 */
int
sq_session_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	return sq_delete_owned(st, ST_SESSION_DELETE_ID, id, user_id);
}

static void
token_row(sqlite3_stmt *s, void *arg)
{
	struct token_cb *cb = arg;
	struct store_token t = { 0 };

	t.id = sqlite3_column_int64(s, 0);
	t.user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, t.name, sizeof(t.name));
	t.created_at = sqlite3_column_int64(s, 3);
	t.expires_at = sqlite3_column_int64(s, 4);
	t.last_used = sqlite3_column_int64(s, 5);
	cb->fn(cb->ctx, &t);
}

int
sq_token_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_token *), void *ctx)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOKEN_LIST);
	struct token_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	return sq_each_row(s, token_row, &cb);
}

int
sq_token_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	return sq_delete_owned(st, ST_TOKEN_DELETE_ID, id, user_id);
}

static void
user_row(sqlite3_stmt *s, void *arg)
{
	struct user_cb *cb = arg;
	struct store_user u;

	sq_read_user(s, 0, &u);
	cb->fn(cb->ctx, &u);
}

int
sq_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *, const struct store_user *), void *ctx, int64_t *total)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_COUNT);
	struct user_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	if (search && *search)
		sqlite3_bind_text(s, 1, search, -1, SQLITE_STATIC);
	if (sq_count_rows(s, total) != 0 || (s = sq_prep(st, ST_USER_LIST)) == NULL)
		return -1;
	if (search && *search)
		sqlite3_bind_text(s, 1, search, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	sqlite3_bind_int64(s, 3, offset);
	return sq_each_row(s, user_row, &cb);
}

int
sq_user_set_flags(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
    bool email_verified)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_SET_FLAGS);

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, is_active);
	sqlite3_bind_int(s, 2, is_staff);
	sqlite3_bind_int(s, 3, is_superuser);
	sqlite3_bind_int(s, 4, email_verified);
	sqlite3_bind_int64(s, 5, id);
	return sq_step_write(st, s);
}

int
sq_audit_add(struct store *st, struct store_audit *a)
{
	sqlite3_stmt *s = sq_prep(st, ST_AUDIT_ADD);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->at);
	sqlite3_bind_int64(s, 2, a->actor_id);
	sqlite3_bind_int64(s, 3, a->user_id);
	sqlite3_bind_text(s, 4, a->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->detail[0] ? a->detail : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, a->ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, a->user_agent, -1, SQLITE_STATIC);
	if ((ret = sq_step_write(st, s)) == 0)
		a->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

static void
audit_row(sqlite3_stmt *s, void *arg)
{
	struct audit_cb *cb = arg;
	struct store_audit a;

	a.id = sqlite3_column_int64(s, 0);
	a.at = sqlite3_column_int64(s, 1);
	a.actor_id = sqlite3_column_int64(s, 2);
	a.user_id = sqlite3_column_int64(s, 3);
	sq_col_text(s, 4, a.event, sizeof(a.event));
	sq_col_text(s, 5, a.detail, sizeof(a.detail));
	sq_col_text(s, 6, a.ip, sizeof(a.ip));
	sq_col_text(s, 7, a.user_agent, sizeof(a.user_agent));
	cb->fn(cb->ctx, &a);
}

static void
bind_audit_filter(sqlite3_stmt *s, const struct store_audit_filter *f)
{
	size_t n = f->event ? strlen(f->event) : 0;

	sqlite3_bind_int64(s, 1, f->user_id);
	sqlite3_bind_int64(s, 2, f->actor_id);
	if (n && f->event[n - 1] == '*')
		sqlite3_bind_text(s, 4, f->event, (int)n - 1, SQLITE_STATIC);
	else if (n)
		sqlite3_bind_text(s, 3, f->event, (int)n, SQLITE_STATIC);
}

int
sq_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *, const struct store_audit *), void *ctx, int64_t *total)
{
	sqlite3_stmt *s = sq_prep(st, ST_AUDIT_COUNT);
	struct audit_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	bind_audit_filter(s, f);
	if (sq_count_rows(s, total) != 0 || (s = sq_prep(st, ST_AUDIT_LIST)) == NULL)
		return -1;
	bind_audit_filter(s, f);
	sqlite3_bind_int(s, 5, limit);
	sqlite3_bind_int64(s, 6, offset);
	return sq_each_row(s, audit_row, &cb);
}

int
sq_sessions_live(struct store *st, int64_t now, int64_t *n)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSIONS_LIVE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	return sq_count_rows(s, n);
}
