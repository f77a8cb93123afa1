/*
 * store — picks the backend by the DSN's scheme and forwards every call
 * through its ops table (docs/style.md rule 3).  Holds no data of its own.
 * Every call that fails (-1: the database, not "not found" or a conflict)
 * is counted for /metrics here, the one place all of them pass.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

/* strip: the backend gets the DSN without its scheme (sqlite: a path) or whole (libpq parses it) */
static const struct {
	const char *scheme;
	const struct store_ops *ops;
	bool strip;
} backends[] = {
	{ "sqlite:", &store_sqlite_ops, true },
	{ "postgres://", &store_pgsql_ops, false },
	{ "postgresql://", &store_pgsql_ops, false },
};

/* libpq's key=value form: "host=... dbname=..." (a word, then '=') */
static bool
pg_keyvalue(const char *dsn)
{
	size_t n = strspn(dsn, "abcdefghijklmnopqrstuvwxyz_");

	return n > 0 && dsn[n] == '=';
}

static const struct store_ops *
backend_of(const char *dsn, const char **rest)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t n = strlen(backends[i].scheme);

		if (strncmp(dsn, backends[i].scheme, n) == 0) {
			*rest = backends[i].strip ? dsn + n : dsn;
			return backends[i].ops;
		}
	}
	*rest = dsn;
	return pg_keyvalue(dsn) ? &store_pgsql_ops : NULL;
}

/* rc as is; a failure counted (gatehouse_store_errors_total) */
static int
counted(int rc)
{
	if (rc < 0)
		metrics_count_store_error();
	return rc;
}

struct store *
store_open(const char *dsn, char *err, size_t errsz)
{
	const char *rest;
	const struct store_ops *ops = backend_of(dsn, &rest);
	struct store *st;

	if (ops == NULL) {
		snprintf(err, errsz,
		    "no store backend for \"%s\" (sqlite:PATH, postgres://... or libpq's key=value form)",
		    dsn);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	if (ops->open(st, rest, err, errsz) != 0) {
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st);
}

const char *
store_backend(const struct store *st)
{
	return st->ops->name;
}

int
store_migrate(struct store *st, int *applied, char *err, size_t errsz)
{
	return st->ops->migrate(st, applied, err, errsz);
}
int
store_schema_check(struct store *st, char *err, size_t errsz)
{
	return st->ops->schema_check(st, err, errsz);
}
int
store_cache_start(struct store *st, int ttl, char *err, size_t errsz)
{
	return st->ops->cache_start ? st->ops->cache_start(st, ttl, err, errsz) : 0;
}
void
store_set_deadline(struct store *st, int ms)
{
	if (st->ops->set_deadline)
		st->ops->set_deadline(st, ms);
}
int
store_ping(struct store *st)
{
	return counted(st->ops->ping(st));
}
int
store_user_create(struct store *st, struct store_user *u)
{
	return counted(st->ops->user_create(st, u));
}
int
store_user_by_email(struct store *st, const char *email, struct store_user *u)
{
	return counted(st->ops->user_by_email(st, email, u));
}
int
store_user_by_id(struct store *st, int64_t id, struct store_user *u)
{
	return counted(st->ops->user_by_id(st, id, u));
}
int
store_user_set_password(struct store *st, int64_t id, const char *hash, const char *new_auth_hash)
{
	return counted(st->ops->user_set_password(st, id, hash, new_auth_hash));
}
int
store_user_set_last_login(struct store *st, int64_t id, int64_t when)
{
	return counted(st->ops->user_set_last_login(st, id, when));
}
int
store_session_create(struct store *st, struct store_session *s, const char *ip, const char *ua)
{
	return counted(st->ops->session_create(st, s, ip, ua));
}
int
store_session_get(struct store *st, const char *key_hash, struct store_session *s, struct store_user *u)
{
	return counted(st->ops->session_get(st, key_hash, s, u));
}
int
store_session_delete(struct store *st, const char *key_hash)
{
	return counted(st->ops->session_delete(st, key_hash));
}
int
store_session_touch(struct store *st, int64_t id, int64_t when)
{
	return counted(st->ops->session_touch(st, id, when));
}
int
store_session_set_reauth(struct store *st, int64_t id, int64_t when)
{
	return counted(st->ops->session_set_reauth(st, id, when));
}
int
store_session_delete_user(struct store *st, int64_t user_id, int64_t except_id)
{
	return counted(st->ops->session_delete_user(st, user_id, except_id));
}
int
store_session_delete_expired(struct store *st, int64_t now)
{
	return counted(st->ops->session_delete_expired(st, now));
}
int
store_token_create(struct store *st, struct store_token *t)
{
	return counted(st->ops->token_create(st, t));
}
int
store_token_get(struct store *st, const char *key_hash, struct store_token *t, struct store_user *u)
{
	return counted(st->ops->token_get(st, key_hash, t, u));
}
int
store_token_touch(struct store *st, int64_t id, int64_t when)
{
	return counted(st->ops->token_touch(st, id, when));
}
int
store_token_delete_user(struct store *st, int64_t user_id)
{
	return counted(st->ops->token_delete_user(st, user_id));
}
int
store_begin(struct store *st)
{
	return counted(st->ops->begin(st));
}
int
store_commit(struct store *st)
{
	return counted(st->ops->commit(st));
}
void
store_rollback(struct store *st)
{
	st->ops->rollback(st);
}
int
store_user_set_verified(struct store *st, int64_t id)
{
	return counted(st->ops->user_set_verified(st, id));
}
int
store_confirmation_create(struct store *st, struct store_confirmation *c)
{
	return counted(st->ops->confirmation_create(st, c));
}
int
store_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c)
{
	return counted(st->ops->confirmation_take(st, key_hash, c));
}
int
store_confirmation_delete_user(struct store *st, int64_t user_id)
{
	return counted(st->ops->confirmation_delete_user(st, user_id));
}
int
store_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now)
{
	return counted(st->ops->outbox_add(st, recipient, message, now));
}
int
store_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max,
    int *n)
{
	return counted(st->ops->outbox_claim(st, now, lease_until, out, max, n));
}
int
store_outbox_sent(struct store *st, int64_t id, int64_t when)
{
	return counted(st->ops->outbox_sent(st, id, when));
}
int
store_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error)
{
	return counted(st->ops->outbox_failed(st, id, next_attempt, error));
}
int
store_outbox_depth(struct store *st, int64_t *n)
{
	return counted(st->ops->outbox_depth(st, n));
}
int
store_sessions_live(struct store *st, int64_t now, int64_t *n)
{
	return counted(st->ops->sessions_live(st, now, n));
}

int
store_session_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_session_info *),
    void *ctx)
{
	return counted(st->ops->session_list(st, user_id, each, ctx));
}
int
store_session_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	return counted(st->ops->session_delete_id(st, id, user_id));
}
int
store_token_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_token *),
    void *ctx)
{
	return counted(st->ops->token_list(st, user_id, each, ctx));
}
int
store_token_delete_id(struct store *st, int64_t id, int64_t user_id)
{
	return counted(st->ops->token_delete_id(st, id, user_id));
}
int
store_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *, const struct store_user *), void *ctx, int64_t *total)
{
	return counted(st->ops->user_list(st, search, offset, limit, each, ctx, total));
}
int
store_user_set_flags(struct store *st, int64_t id, bool a, bool s, bool su, bool v)
{
	return counted(st->ops->user_set_flags(st, id, a, s, su, v));
}
int
store_audit_add(struct store *st, struct store_audit *a)
{
	return counted(st->ops->audit_add(st, a));
}
int
store_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *, const struct store_audit *), void *ctx, int64_t *total)
{
	return counted(st->ops->audit_list(st, f, offset, limit, each, ctx, total));
}

int
store_social_state_create(struct store *st, const struct store_social_state *s, int per_browser, int per_ip)
{
	return counted(st->ops->social_state_create(st, s, per_browser, per_ip));
}
int
store_social_state_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return counted(st->ops->social_state_purge(st, now, limit, deleted));
}
int
store_social_state_take(struct store *st, const char *h, struct store_social_state *s)
{
	return counted(st->ops->social_state_take(st, h, s));
}
int
store_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i)
{
	return counted(st->ops->identity_get(st, provider, uid, i));
}
int
store_identity_create(struct store *st, struct store_identity *i)
{
	return counted(st->ops->identity_create(st, i));
}
int
store_identity_update_extra(struct store *st, int64_t id, const char *extra)
{
	return counted(st->ops->identity_update_extra(st, id, extra));
}
int
store_identity_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_identity *),
    void *ctx)
{
	return counted(st->ops->identity_list(st, user_id, each, ctx));
}
int
store_identity_delete(struct store *st, int64_t id, int64_t user_id)
{
	return counted(st->ops->identity_delete(st, id, user_id));
}
int
store_user_set_names(struct store *st, int64_t id, const char *f, const char *l)
{
	return counted(st->ops->user_set_names(st, id, f, l));
}

int
store_throttle_reserve(struct store *st, const char *k, long limit, long window, int64_t now,
    long *retry_after)
{
	return counted(st->ops->throttle_reserve(st, k, limit, window, now, retry_after));
}
int
store_throttle_release(struct store *st, const char *k)
{
	return counted(st->ops->throttle_release(st, k));
}
int
store_throttle_reset(struct store *st, const char *k)
{
	return counted(st->ops->throttle_reset(st, k));
}
int
store_throttle_purge(struct store *st, int64_t now, int max, int *n)
{
	return counted(st->ops->throttle_purge(st, now, max, n));
}

void
store_mail_free(struct store_mail *m)
{
	free(m->message);
	m->message = NULL;
}

/* ---- second factors ---- */

/* a text value that fits the row struct's field of size bytes (NUL included), else logged: a longer
 * one would be cut when read back, so it is never stored */
static bool
fits(const char *s, size_t size, const char *what)
{
	if (s != NULL && strnlen(s, size) < size)
		return true;
	log_msg(LOG_ERROR, "store: %s %s", what, s == NULL ? "missing" : "too long");
	return false;
}
#define FITS(s, field, what) fits((s), sizeof(field), (what))

int
store_user_set_mfa(struct store *st, int64_t id, bool enabled)
{
	return counted(st->ops->user_set_mfa(st, id, enabled));
}
int
store_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	return counted(st->ops->totp_get(st, user_id, t));
}
int
store_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now)
{
	if (!FITS(sealed, ((struct store_totp *)0)->secret, "TOTP secret"))
		return -1;
	return counted(st->ops->totp_put_pending(st, user_id, sealed, now));
}
int
store_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now)
{
	return counted(st->ops->totp_confirm(st, user_id, step, not_before, now));
}
int
store_totp_use_step(struct store *st, int64_t user_id, int64_t step)
{
	return counted(st->ops->totp_use_step(st, user_id, step));
}
int
store_totp_delete(struct store *st, int64_t user_id)
{
	return counted(st->ops->totp_delete(st, user_id));
}
int
store_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now)
{
	if (n < 0 || (n > 0 && hashes == NULL))
		return -1;
	for (int i = 0; i < n; i++)
		if (!FITS(hashes[i], hashes[i], "recovery code hash"))
			return -1;
	return counted(st->ops->recovery_replace(st, user_id, hashes, n, now));
}
int
store_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now)
{
	return counted(st->ops->recovery_use(st, user_id, code_hash, now));
}
int
store_recovery_count(struct store *st, int64_t user_id, int *total, int *unused)
{
	return counted(st->ops->recovery_count(st, user_id, total, unused));
}
int
store_recovery_delete_user(struct store *st, int64_t user_id)
{
	return counted(st->ops->recovery_delete_user(st, user_id));
}
int
store_webauthn_add(struct store *st, struct store_webauthn *w)
{
	if (!FITS(w->cred_id, w->cred_id, "WebAuthn credential id") ||
	    !FITS(w->public_key, w->public_key, "WebAuthn public key") ||
	    !FITS(w->name, w->name, "WebAuthn name") ||
	    !FITS(w->transports, w->transports, "WebAuthn transports"))
		return -1;
	return counted(st->ops->webauthn_add(st, w));
}
int
store_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w)
{
	return counted(st->ops->webauthn_get(st, cred_id, w));
}
int
store_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w)
{
	return counted(st->ops->webauthn_get_id(st, id, user_id, w));
}
int
store_webauthn_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_webauthn *),
    void *ctx)
{
	return counted(st->ops->webauthn_list(st, user_id, each, ctx));
}
int
store_webauthn_count(struct store *st, int64_t user_id, int *n)
{
	return counted(st->ops->webauthn_count(st, user_id, n));
}
int
store_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name)
{
	if (!FITS(name, ((struct store_webauthn *)0)->name, "WebAuthn name"))
		return -1;
	return counted(st->ops->webauthn_rename(st, id, user_id, name));
}
int
store_webauthn_delete(struct store *st, int64_t id, int64_t user_id)
{
	return counted(st->ops->webauthn_delete(st, id, user_id));
}
int
store_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now)
{
	return counted(st->ops->webauthn_used(st, id, old_count, new_count, now));
}
int
store_mfa_delete_user(struct store *st, int64_t user_id)
{
	return counted(st->ops->mfa_delete_user(st, user_id));
}
int
store_challenge_create(struct store *st, const struct store_challenge *c, int per_bind)
{
	if (!FITS(c->challenge_hash, c->challenge_hash, "challenge hash") ||
	    !FITS(c->purpose, c->purpose, "challenge purpose") ||
	    !FITS(c->bind_hash, c->bind_hash, "challenge binding"))
		return -1;
	return counted(st->ops->challenge_create(st, c, per_bind));
}
int
store_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c)
{
	return counted(st->ops->challenge_take(st, challenge_hash, c));
}
int
store_challenge_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return counted(st->ops->challenge_purge(st, now, limit, deleted));
}
int
store_mfa_pending_create(struct store *st, const struct store_mfa_pending *p)
{
	if (!FITS(p->key_hash, p->key_hash, "pending login key hash") ||
	    !FITS(p->auth_hash, p->auth_hash, "pending login auth hash") ||
	    !FITS(p->method, p->method, "pending login method") ||
	    !FITS(p->next, p->next, "pending login next"))
		return -1;
	return counted(st->ops->mfa_pending_create(st, p));
}
int
store_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *p)
{
	return counted(st->ops->mfa_pending_get(st, key_hash, p));
}
int
store_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *p)
{
	return counted(st->ops->mfa_pending_take(st, key_hash, p));
}
int
store_mfa_pending_delete(struct store *st, const char *key_hash)
{
	return counted(st->ops->mfa_pending_delete(st, key_hash));
}
int
store_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted)
{
	return counted(st->ops->mfa_pending_purge(st, now, limit, deleted));
}

int
store_webhook_add(struct store *st, struct store_webhook *w)
{
	return counted(st->ops->webhook_add(st, w));
}
int
store_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out,
    int max, int *n)
{
	return counted(st->ops->webhook_claim(st, now_ms, lease_until_ms, out, max, n));
}
int
store_webhook_delivered(struct store *st, int64_t id, int status, int64_t when)
{
	return counted(st->ops->webhook_delivered(st, id, status, when));
}
int
store_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when)
{
	return counted(st->ops->webhook_failed(st, id, status, error, next_attempt_ms, give_up, when));
}
int
store_webhook_get(struct store *st, int64_t id, struct store_webhook *w)
{
	return counted(st->ops->webhook_get(st, id, w));
}
int
store_webhook_purge(struct store *st, int64_t before, int limit, int *deleted)
{
	return counted(st->ops->webhook_purge(st, before, limit, deleted));
}
void
store_webhook_free(struct store_webhook *w)
{
	free(w->payload);
	w->payload = NULL;
}
/* import from Django and export */
int
store_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d)
{
	return counted(st->ops->django_user_get(st, django_model, django_pk, user_id, d));
}
int
store_django_user_put(struct store *st, const struct store_django_user *d)
{
	return counted(st->ops->django_user_put(st, d));
}
int
store_token_each(struct store *st, void (*each)(void *ctx, const struct store_token *t), void *ctx)
{
	return counted(st->ops->token_each(st, each, ctx));
}
int
store_import_lock(struct store *st)
{
	return counted(st->ops->import_lock(st));
}
