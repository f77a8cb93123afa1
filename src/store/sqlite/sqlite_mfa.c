/*
 * store/sqlite_mfa — the SQLite side of second factors: a user's
 * authenticator app (its secret sealed by the caller), recovery codes (by
 * hash), WebAuthn credentials, the single-use WebAuthn challenges and the
 * logins waiting for their second step.  Every check that must hold under
 * concurrent requests (a TOTP step accepted once, a recovery code used once,
 * a signature counter value used once, a challenge or pending login taken
 * once) is one write statement whose changed-row count decides: SQLite's
 * single writer makes it atomic.  Never sees a raw secret, code or key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/sqlite/sqlite_int.h"
#include "util.h"

/* a write's rows changed, or -1 when it failed (STORE_CONFLICT passed on as itself) */
static int
write_changes(struct store *st, sqlite3_stmt *s, int64_t *changed)
{
	sqlite3 *db = sqlite3_db_handle(s);
	int ret = sq_step_write(st, s);

	*changed = ret == 0 ? sqlite3_changes(db) : 0;
	return ret;
}

/* a write meant for one row: 0, STORE_NOTFOUND when it touched none, STORE_CONFLICT or -1 */
static int
write_one(struct store *st, sqlite3_stmt *s)
{
	int64_t changed;
	int ret = write_changes(st, s, &changed);

	return ret == 0 && changed == 0 ? STORE_NOTFOUND : ret;
}

/* DELETE up to ?2 rows expired at ?1: *deleted gets how many */
static int
purge(struct store *st, enum stmt which, int64_t now, int limit, int *deleted)
{
	sqlite3_stmt *s = sq_prep(st, which);
	int64_t changed;

	*deleted = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	if (write_changes(st, s, &changed) != 0)
		return -1;
	*deleted = (int)changed;
	return 0;
}

/* delete by one text key: 0, STORE_NOTFOUND or -1 */
static int
delete_text(struct store *st, enum stmt which, const char *key)
{
	sqlite3_stmt *s = sq_prep(st, which);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return write_one(st, s);
}

int
sq_user_set_mfa(struct store *st, int64_t id, bool enabled)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_SET_MFA);

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, enabled ? 1 : 0);
	sqlite3_bind_int64(s, 2, id);
	return write_one(st, s);
}

/* ---- TOTP ---- */

int
sq_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOTP_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	t->user_id = user_id;
	sq_col_text(s, 0, t->secret, sizeof(t->secret));
	t->confirmed = sqlite3_column_int(s, 1) != 0;
	t->last_step = sqlite3_column_int64(s, 2);
	t->created_at = sqlite3_column_int64(s, 3);
	sq_done(s);
	return 0;
}

int
sq_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOTP_PUT_PENDING);
	int64_t changed;
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_text(s, 2, sealed, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if ((ret = write_changes(st, s, &changed)) != 0)
		return ret;
	/* the upsert's WHERE refused: a confirmed secret is there */
	return changed == 0 ? STORE_CONFLICT : 0;
}

int
sq_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOTP_CONFIRM);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, step);
	sqlite3_bind_int64(s, 3, not_before);
	sqlite3_bind_int64(s, 4, now);
	return write_one(st, s);
}

int
sq_totp_use_step(struct store *st, int64_t user_id, int64_t step)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOTP_USE_STEP);
	struct store_totp t;
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, step);
	if ((ret = write_one(st, s)) != STORE_NOTFOUND)
		return ret;
	/* the update alone decided; this only names why it refused */
	if ((ret = sq_totp_get(st, user_id, &t)) < 0)
		return -1;
	ret = ret == 0 && t.confirmed ? STORE_CONFLICT : STORE_NOTFOUND;
	explicit_bzero(t.secret, sizeof(t.secret));
	return ret;
}

int
sq_totp_delete(struct store *st, int64_t user_id)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOTP_DELETE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	return write_one(st, s);
}

/* ---- recovery codes ---- */

static int
recovery_replace_in(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now)
{
	sqlite3_stmt *s;
	int ret;

	if (sq_exec1(st, ST_RECOVERY_DELETE_USER, user_id) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if ((s = sq_prep(st, ST_RECOVERY_ADD)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, user_id);
		sqlite3_bind_text(s, 2, hashes[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, now);
		if ((ret = sq_step_write(st, s)) != 0)
			return ret;
	}
	return 0;
}

int
sq_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now)
{
	bool own = !sq_in_transaction(st);
	int ret;

	/* the old codes and the new land together or not at all: in the caller's transaction, or ours */
	if (own && sq_begin(st) != 0)
		return -1;
	ret = recovery_replace_in(st, user_id, hashes, n, now);
	if (own) {
		if (ret == 0 && sq_commit(st) != 0)
			ret = -1;
		if (ret != 0)
			sq_rollback(st);
	}
	return ret;
}

int
sq_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_RECOVERY_USE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_text(s, 2, code_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	return write_one(st, s);
}

int
sq_recovery_count(struct store *st, int64_t user_id, int *total, int *unused)
{
	sqlite3_stmt *s = sq_prep(st, ST_RECOVERY_COUNT);
	int ret;

	*total = *unused = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	if ((ret = sq_step_one(s)) != 0)
		return -1; /* an aggregate always has its row */
	*total = sqlite3_column_int(s, 0);
	*unused = sqlite3_column_int(s, 1);
	sq_done(s);
	return 0;
}

int
sq_recovery_delete_user(struct store *st, int64_t user_id)
{
	return sq_exec1(st, ST_RECOVERY_DELETE_USER, user_id) == 0 ? 0 : -1;
}

/* ---- WebAuthn ---- */

static void
read_webauthn(sqlite3_stmt *s, struct store_webauthn *w)
{
	w->id = sqlite3_column_int64(s, 0);
	w->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, w->cred_id, sizeof(w->cred_id));
	sq_col_text(s, 3, w->public_key, sizeof(w->public_key));
	w->alg = sqlite3_column_int(s, 4);
	w->sign_count = sqlite3_column_int64(s, 5);
	sq_col_text(s, 6, w->name, sizeof(w->name));
	sq_col_text(s, 7, w->transports, sizeof(w->transports));
	w->created_at = sqlite3_column_int64(s, 8);
	w->last_used = sqlite3_column_int64(s, 9);
}

int
sq_webauthn_add(struct store *st, struct store_webauthn *w)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_ADD);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, w->user_id);
	sqlite3_bind_text(s, 2, w->cred_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, w->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, w->alg);
	sqlite3_bind_int64(s, 5, w->sign_count);
	sqlite3_bind_text(s, 6, w->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, w->transports, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, w->created_at);
	if ((ret = sq_step_write(st, s)) == 0) {
		w->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
		w->last_used = 0;
	}
	return ret;
}

static int
webauthn_one(sqlite3_stmt *s, struct store_webauthn *w)
{
	int ret;

	if ((ret = sq_step_one(s)) != 0)
		return ret;
	read_webauthn(s, w);
	sq_done(s);
	return 0;
}

int
sq_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_GET);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, cred_id, -1, SQLITE_STATIC);
	return webauthn_one(s, w);
}

int
sq_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_GET_ID);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	return webauthn_one(s, w);
}

struct webauthn_cb {
	void (*fn)(void *, const struct store_webauthn *);
	void *ctx;
};

static void
webauthn_row(sqlite3_stmt *s, void *arg)
{
	struct webauthn_cb *cb = arg;
	struct store_webauthn w;

	read_webauthn(s, &w);
	cb->fn(cb->ctx, &w);
}

int
sq_webauthn_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_webauthn *),
    void *ctx)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_LIST);
	struct webauthn_cb cb = { each, ctx };

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	return sq_each_row(s, webauthn_row, &cb);
}

int
sq_webauthn_count(struct store *st, int64_t user_id, int *n)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_COUNT);
	int64_t total = 0;

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	if (sq_count_rows(s, &total) != 0)
		return -1;
	*n = (int)total;
	return 0;
}

int
sq_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_RENAME);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	return write_one(st, s);
}

int
sq_webauthn_delete(struct store *st, int64_t id, int64_t user_id)
{
	return sq_delete_owned(st, ST_WEBAUTHN_DELETE, id, user_id);
}

int
sq_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_WEBAUTHN_USED);
	int64_t exists = 0;
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, old_count);
	sqlite3_bind_int64(s, 3, new_count);
	sqlite3_bind_int64(s, 4, now);
	if ((ret = write_one(st, s)) != STORE_NOTFOUND)
		return ret;
	/* the update alone decided; this only names why it refused */
	if ((s = sq_prep(st, ST_WEBAUTHN_EXISTS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (sq_count_rows(s, &exists) != 0)
		return -1;
	return exists ? STORE_CONFLICT : STORE_NOTFOUND;
}

static int
mfa_delete_user_in(struct store *st, int64_t user_id)
{
	sqlite3_stmt *s;

	if (sq_exec1(st, ST_TOTP_DELETE, user_id) != 0 ||
	    sq_exec1(st, ST_RECOVERY_DELETE_USER, user_id) != 0 ||
	    sq_exec1(st, ST_WEBAUTHN_DELETE_USER, user_id) != 0)
		return -1;
	if ((s = sq_prep(st, ST_USER_SET_MFA)) == NULL)
		return -1;
	sqlite3_bind_int(s, 1, 0);
	sqlite3_bind_int64(s, 2, user_id);
	return write_one(st, s);
}

int
sq_mfa_delete_user(struct store *st, int64_t user_id)
{
	bool own = !sq_in_transaction(st);
	int ret;

	if (own && sq_begin(st) != 0)
		return -1;
	ret = mfa_delete_user_in(st, user_id);
	if (own) {
		/* no such user: nothing was there to delete either */
		if (ret == 0 && sq_commit(st) != 0)
			ret = -1;
		if (ret != 0)
			sq_rollback(st);
	}
	return ret;
}

/* ---- challenges ---- */

int
sq_challenge_create(struct store *st, const struct store_challenge *c, int per_bind)
{
	sqlite3_stmt *s;
	int ret;

	if ((s = sq_prep(st, ST_CHALLENGE_CREATE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, c->challenge_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, c->user_id);
	sqlite3_bind_text(s, 4, c->bind_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, c->expires_at);
	if ((ret = sq_step_write(st, s)) != 0)
		return ret; /* nothing changed */
	/* then the binding's oldest others make room: a few tabs, never an unbounded pile (after the
	 * insert, so a refused one costs nothing; the new one is kept whatever the clock says) */
	if ((s = sq_prep(st, ST_CHALLENGE_TRIM)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, c->bind_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, per_bind > 1 ? per_bind - 1 : 0);
	sqlite3_bind_text(s, 3, c->challenge_hash, -1, SQLITE_STATIC);
	return sq_step_write(st, s) == 0 ? 0 : -1;
}

int
sq_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c)
{
	sqlite3_stmt *s = sq_prep(st, ST_CHALLENGE_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, challenge_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	strlcpy_ok(c->challenge_hash, challenge_hash, sizeof(c->challenge_hash));
	sq_col_text(s, 0, c->purpose, sizeof(c->purpose));
	c->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, c->bind_hash, sizeof(c->bind_hash));
	c->expires_at = sqlite3_column_int64(s, 3);
	sq_done(s);
	/* single use: the delete decides, so of two concurrent takes exactly one gets it */
	ret = delete_text(st, ST_CHALLENGE_DELETE, challenge_hash);
	return ret == 0 ? 0 : ret == STORE_NOTFOUND ? STORE_NOTFOUND : -1;
}

int
sq_challenge_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return purge(st, ST_CHALLENGE_PURGE, now, limit, deleted);
}

/* ---- pending logins ---- */

int
sq_mfa_pending_create(struct store *st, const struct store_mfa_pending *p)
{
	sqlite3_stmt *s = sq_prep(st, ST_PENDING_CREATE);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, p->key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, p->user_id);
	sqlite3_bind_text(s, 3, p->auth_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->method, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, p->next, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, p->created_at);
	sqlite3_bind_int64(s, 7, p->expires_at);
	return sq_step_write(st, s);
}

int
sq_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *p)
{
	sqlite3_stmt *s = sq_prep(st, ST_PENDING_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	strlcpy_ok(p->key_hash, key_hash, sizeof(p->key_hash));
	p->user_id = sqlite3_column_int64(s, 0);
	sq_col_text(s, 1, p->auth_hash, sizeof(p->auth_hash));
	sq_col_text(s, 2, p->method, sizeof(p->method));
	sq_col_text(s, 3, p->next, sizeof(p->next));
	p->created_at = sqlite3_column_int64(s, 4);
	p->expires_at = sqlite3_column_int64(s, 5);
	sq_done(s);
	return 0;
}

int
sq_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *p)
{
	int ret;

	if ((ret = sq_mfa_pending_get(st, key_hash, p)) != 0)
		return ret;
	/* single use: the delete decides, so of two concurrent takes exactly one gets it */
	ret = delete_text(st, ST_PENDING_DELETE, key_hash);
	return ret == 0 ? 0 : ret == STORE_NOTFOUND ? STORE_NOTFOUND : -1;
}

int
sq_mfa_pending_delete(struct store *st, const char *key_hash)
{
	return delete_text(st, ST_PENDING_DELETE, key_hash);
}

int
sq_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return purge(st, ST_PENDING_PURGE, now, limit, deleted);
}
