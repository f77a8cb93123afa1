/*
 * store/pgsql_mfa — the PostgreSQL side of second factors: a user's
 * authenticator app (its secret sealed by the caller), recovery codes (by
 * hash), WebAuthn credentials, the single-use WebAuthn challenges and the
 * logins waiting for their second step.  Every check that must hold across
 * instances (a TOTP step accepted once, a recovery code used once, a
 * signature counter value used once, a challenge or pending login taken
 * once) is one statement: a conditional UPDATE (a concurrent one on the same
 * row is waited for and its result checked again) or a DELETE ... RETURNING.
 * A refused insert is ON CONFLICT DO NOTHING, so it never aborts the
 * caller's transaction.  mfa_enabled is part of the user row cached with
 * sessions and tokens: changing it drops them here, and 0009's trigger tells
 * the other instances.  Never sees a raw secret, code or key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/pgsql/pgsql_int.h"
#include "util.h"

/* a write meant for one row: 0, STORE_NOTFOUND when it touched none, STORE_CONFLICT or -1 */
static int
write_one(struct store *st, enum stmt which, const struct pg_params *p)
{
	int64_t changed;
	int rc = pg_write(st, which, p, &changed);

	return rc == 0 && changed == 0 ? STORE_NOTFOUND : rc;
}

/* one integer, $1 */
static int
write_id(struct store *st, enum stmt which, int64_t id)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	return pg_write(st, which, &p, NULL);
}

/* DELETE up to $2 rows expired at $1: *deleted gets how many */
static int
purge(struct store *st, enum stmt which, int64_t now, int limit, int *deleted)
{
	struct pg_params p = { 0 };
	int64_t n = 0;

	*deleted = 0;
	pg_int(&p, now);
	pg_int(&p, limit > 0 ? limit : 0);
	if (pg_write(st, which, &p, &n) != 0)
		return -1;
	*deleted = (int)n;
	return 0;
}

static int
set_mfa(struct store *st, int64_t id, bool enabled)
{
	struct pg_params p = { 0 };
	int rc;

	pg_int(&p, enabled ? 1 : 0);
	pg_int(&p, id);
	rc = write_one(st, ST_USER_SET_MFA, &p);
	/* cached sessions and tokens hold the user row: theirs go (after the write, whatever it returned:
	 * a failed one may still have committed) */
	pg_invalidate(st, 'u', id, NULL);
	return rc;
}

int
pg_user_set_mfa(struct store *st, int64_t id, bool enabled)
{
	return set_mfa(st, id, enabled);
}

/* ---- TOTP ---- */

int
pg_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_int(&p, user_id);
	if ((r = pg_one(st, ST_TOTP_GET, &p, &rc)) == NULL)
		return rc;
	t->user_id = user_id;
	pg_col_text(r, 0, 0, t->secret, sizeof(t->secret));
	t->confirmed = pg_col_int(r, 0, 1) != 0;
	t->last_step = pg_col_int(r, 0, 2);
	t->created_at = pg_col_int(r, 0, 3);
	PQclear(r);
	return 0;
}

int
pg_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	pg_text(&p, sealed);
	pg_int(&p, now);
	/* no row back: the upsert's WHERE refused, a confirmed secret is there */
	return pg_insert(st, ST_TOTP_PUT_PENDING, &p, NULL);
}

int
pg_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	pg_int(&p, step);
	pg_int(&p, not_before);
	pg_int(&p, now);
	return write_one(st, ST_TOTP_CONFIRM, &p);
}

int
pg_totp_use_step(struct store *st, int64_t user_id, int64_t step)
{
	struct pg_params p = { 0 };
	struct store_totp t;
	int rc;

	pg_int(&p, user_id);
	pg_int(&p, step);
	if ((rc = write_one(st, ST_TOTP_USE_STEP, &p)) != STORE_NOTFOUND)
		return rc;
	/* the update alone decided; this only names why it refused */
	if ((rc = pg_totp_get(st, user_id, &t)) < 0)
		return -1;
	rc = rc == 0 && t.confirmed ? STORE_CONFLICT : STORE_NOTFOUND;
	explicit_bzero(t.secret, sizeof(t.secret));
	return rc;
}

int
pg_totp_delete(struct store *st, int64_t user_id)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return write_one(st, ST_TOTP_DELETE, &p);
}

/* ---- recovery codes ---- */

static int
recovery_replace_in(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now)
{
	int rc;

	if (write_id(st, ST_RECOVERY_DELETE_USER, user_id) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct pg_params p = { 0 };

		pg_int(&p, user_id);
		pg_text(&p, hashes[i]);
		pg_int(&p, now);
		if ((rc = pg_insert(st, ST_RECOVERY_ADD, &p, NULL)) != 0)
			return rc;
	}
	return 0;
}

/* what follows runs inside the caller's transaction, or inside one of its own (*own) */
static int
tx_open(struct store *st, bool *own)
{
	*own = !pg_in_transaction(st);
	return *own ? pg_begin(st) : 0;
}

/* the end of tx_open's: all of it lands, or none; rc passed on (the caller's own transaction is its
 * to end) */
static int
tx_close(struct store *st, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc == 0 && pg_commit(st) != 0)
		rc = -1;
	if (rc != 0)
		pg_rollback(st);
	return rc;
}

int
pg_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now)
{
	bool own;

	if (tx_open(st, &own) != 0)
		return -1;
	return tx_close(st, own, recovery_replace_in(st, user_id, hashes, n, now));
}

int
pg_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	pg_text(&p, code_hash);
	pg_int(&p, now);
	return write_one(st, ST_RECOVERY_USE, &p);
}

int
pg_recovery_count(struct store *st, int64_t user_id, int *total, int *unused)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	*total = *unused = 0;
	pg_int(&p, user_id);
	if ((r = pg_one(st, ST_RECOVERY_COUNT, &p, &rc)) == NULL)
		return -1; /* an aggregate always has its row */
	*total = (int)pg_col_int(r, 0, 0);
	*unused = (int)pg_col_int(r, 0, 1);
	PQclear(r);
	return 0;
}

int
pg_recovery_delete_user(struct store *st, int64_t user_id)
{
	return write_id(st, ST_RECOVERY_DELETE_USER, user_id) == 0 ? 0 : -1;
}

/* ---- WebAuthn ---- */

static void
read_webauthn(const PGresult *r, int row, struct store_webauthn *w)
{
	w->id = pg_col_int(r, row, 0);
	w->user_id = pg_col_int(r, row, 1);
	pg_col_text(r, row, 2, w->cred_id, sizeof(w->cred_id));
	pg_col_text(r, row, 3, w->public_key, sizeof(w->public_key));
	w->alg = (int)pg_col_int(r, row, 4);
	w->sign_count = pg_col_int(r, row, 5);
	pg_col_text(r, row, 6, w->name, sizeof(w->name));
	pg_col_text(r, row, 7, w->transports, sizeof(w->transports));
	w->created_at = pg_col_int(r, row, 8);
	w->last_used = pg_col_int(r, row, 9);
}

int
pg_webauthn_add(struct store *st, struct store_webauthn *w)
{
	struct pg_params p = { 0 };
	int rc;

	pg_int(&p, w->user_id);
	pg_text(&p, w->cred_id);
	pg_text(&p, w->public_key);
	pg_int(&p, w->alg);
	pg_int(&p, w->sign_count);
	pg_text(&p, w->name);
	pg_text(&p, w->transports);
	pg_int(&p, w->created_at);
	if ((rc = pg_insert(st, ST_WEBAUTHN_ADD, &p, &w->id)) == 0)
		w->last_used = 0;
	return rc;
}

static int
webauthn_one(struct store *st, enum stmt which, const struct pg_params *p, struct store_webauthn *w)
{
	PGresult *r;
	int rc;

	if ((r = pg_one(st, which, p, &rc)) == NULL)
		return rc;
	read_webauthn(r, 0, w);
	PQclear(r);
	return 0;
}

int
pg_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w)
{
	struct pg_params p = { 0 };

	pg_text(&p, cred_id);
	return webauthn_one(st, ST_WEBAUTHN_GET, &p, w);
}

int
pg_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	pg_int(&p, user_id);
	return webauthn_one(st, ST_WEBAUTHN_GET_ID, &p, w);
}

struct webauthn_cb {
	void (*fn)(void *, const struct store_webauthn *);
	void *ctx;
};

static void
webauthn_row(const PGresult *r, int row, void *arg)
{
	struct webauthn_cb *cb = arg;
	struct store_webauthn w;

	read_webauthn(r, row, &w);
	cb->fn(cb->ctx, &w);
}

int
pg_webauthn_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_webauthn *),
    void *ctx)
{
	struct webauthn_cb cb = { each, ctx };
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return pg_each_row(st, ST_WEBAUTHN_LIST, &p, webauthn_row, &cb);
}

int
pg_webauthn_count(struct store *st, int64_t user_id, int *n)
{
	struct pg_params p = { 0 };
	int64_t total = 0;

	*n = 0;
	pg_int(&p, user_id);
	if (pg_count(st, ST_WEBAUTHN_COUNT, &p, &total) != 0)
		return -1;
	*n = (int)total;
	return 0;
}

int
pg_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	pg_int(&p, user_id);
	pg_text(&p, name);
	return write_one(st, ST_WEBAUTHN_RENAME, &p);
}

int
pg_webauthn_delete(struct store *st, int64_t id, int64_t user_id)
{
	return pg_delete_owned(st, ST_WEBAUTHN_DELETE, id, user_id);
}

int
pg_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now)
{
	struct pg_params p = { 0 };
	int64_t exists = 0;
	int rc;

	pg_int(&p, id);
	pg_int(&p, old_count);
	pg_int(&p, new_count);
	pg_int(&p, now);
	if ((rc = write_one(st, ST_WEBAUTHN_USED, &p)) != STORE_NOTFOUND)
		return rc;
	/* the update alone decided; this only names why it refused */
	memset(&p, 0, sizeof(p));
	pg_int(&p, id);
	if (pg_count(st, ST_WEBAUTHN_EXISTS, &p, &exists) != 0)
		return -1;
	return exists ? STORE_CONFLICT : STORE_NOTFOUND;
}

static int
mfa_delete_user_in(struct store *st, int64_t user_id)
{
	if (write_id(st, ST_TOTP_DELETE, user_id) != 0 ||
	    write_id(st, ST_RECOVERY_DELETE_USER, user_id) != 0 ||
	    write_id(st, ST_WEBAUTHN_DELETE_USER, user_id) != 0)
		return -1;
	/* no such user: nothing was there to delete either */
	return set_mfa(st, user_id, false);
}

int
pg_mfa_delete_user(struct store *st, int64_t user_id)
{
	bool own;

	if (tx_open(st, &own) != 0)
		return -1;
	return tx_close(st, own, mfa_delete_user_in(st, user_id));
}

/* ---- challenges ---- */

int
pg_challenge_create(struct store *st, const struct store_challenge *c, int per_bind)
{
	struct pg_params p = { 0 };
	int rc;

	pg_text(&p, c->challenge_hash);
	pg_text(&p, c->purpose);
	pg_int(&p, c->user_id);
	pg_text(&p, c->bind_hash);
	pg_int(&p, c->expires_at);
	if ((rc = pg_insert(st, ST_CHALLENGE_CREATE, &p, NULL)) != 0)
		return rc; /* nothing changed */
	/* then the binding's oldest others make room: a few tabs, never an unbounded pile (after the
	 * insert, so a refused one costs nothing; the new one is kept whatever the clock says) */
	memset(&p, 0, sizeof(p));
	pg_text(&p, c->bind_hash);
	pg_int(&p, per_bind > 1 ? per_bind - 1 : 0);
	pg_text(&p, c->challenge_hash);
	return pg_write(st, ST_CHALLENGE_TRIM, &p, NULL) == 0 ? 0 : -1;
}

int
pg_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, challenge_hash);
	if ((r = pg_one(st, ST_CHALLENGE_TAKE, &p, &rc)) == NULL)
		return rc; /* STORE_NOTFOUND also when someone else took it first */
	strlcpy_ok(c->challenge_hash, challenge_hash, sizeof(c->challenge_hash));
	pg_col_text(r, 0, 0, c->purpose, sizeof(c->purpose));
	c->user_id = pg_col_int(r, 0, 1);
	pg_col_text(r, 0, 2, c->bind_hash, sizeof(c->bind_hash));
	c->expires_at = pg_col_int(r, 0, 3);
	PQclear(r);
	return 0;
}

int
pg_challenge_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return purge(st, ST_CHALLENGE_PURGE, now, limit, deleted);
}

/* ---- pending logins ---- */

int
pg_mfa_pending_create(struct store *st, const struct store_mfa_pending *mp)
{
	struct pg_params p = { 0 };

	pg_text(&p, mp->key_hash);
	pg_int(&p, mp->user_id);
	pg_text(&p, mp->auth_hash);
	pg_text(&p, mp->method);
	pg_text(&p, mp->next);
	pg_int(&p, mp->created_at);
	pg_int(&p, mp->expires_at);
	return pg_insert(st, ST_PENDING_CREATE, &p, NULL);
}

static int
pending_one(struct store *st, enum stmt which, const char *key_hash, struct store_mfa_pending *mp)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	pg_text(&p, key_hash);
	if ((r = pg_one(st, which, &p, &rc)) == NULL)
		return rc;
	strlcpy_ok(mp->key_hash, key_hash, sizeof(mp->key_hash));
	mp->user_id = pg_col_int(r, 0, 0);
	pg_col_text(r, 0, 1, mp->auth_hash, sizeof(mp->auth_hash));
	pg_col_text(r, 0, 2, mp->method, sizeof(mp->method));
	pg_col_text(r, 0, 3, mp->next, sizeof(mp->next));
	mp->created_at = pg_col_int(r, 0, 4);
	mp->expires_at = pg_col_int(r, 0, 5);
	PQclear(r);
	return 0;
}

int
pg_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *mp)
{
	return pending_one(st, ST_PENDING_GET, key_hash, mp);
}

int
pg_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *mp)
{
	/* single use: found and deleted in one statement; of two concurrent takes one gets the row */
	return pending_one(st, ST_PENDING_TAKE, key_hash, mp);
}

int
pg_mfa_pending_delete(struct store *st, const char *key_hash)
{
	struct pg_params p = { 0 };

	pg_text(&p, key_hash);
	return write_one(st, ST_PENDING_DELETE, &p);
}

int
pg_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return purge(st, ST_PENDING_PURGE, now, limit, deleted);
}
