/*
 * api/accounts — accounts by email: signup with confirmation, resend,
 * password reset, password change (docs/design.md §2 Accounts, issue 4).
 *
 * No answer tells whether an address has an account: signup, resend and
 * reset reply the same either way and the owner hears about it by mail.
 * Every mail is written to the outbox in the same transaction as the change
 * that needs it.  Passwords are hashed on the hash pool with the connection
 * suspended; they are wiped after use and never logged.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "accounts/audit.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "mail/mail.h"
#include "mail/mailer.h"
#include "auth/password.h"
#include "auth/password_policy.h"
#include "auth/reset_token.h"
#include "http/router.h"
#include "http/authn.h"
#include "accounts/user.h"

#define CONFIRM_KEY_LEN 40
#define BAD_CONFIRMATION "Invalid or expired confirmation link."
#define BAD_RESET "Invalid or expired reset link."

static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* Work for the hash pool: check an old password and/or hash a new one. */
struct pwjob {
	struct password_params params;
	char *old_pw, *new_pw;           /* owned, wiped */
	size_t old_len, new_len;
	char stored[STORE_HASH_MAX];     /* hash to check old_pw against */
	bool old_ok, hashed;
	char newhash[PASSWORD_ENCODED_MAX];
	/* what the second phase needs */
	struct store_user user;
	char email[STORE_EMAIL_MAX + 1];
	char first_name[STORE_NAME_MAX * 4 + 1], last_name[STORE_NAME_MAX * 4 + 1];
	char uid[RESET_UID_MAX + 1], token[RESET_TOKEN_MAX];
};

static void
pwjob_free(void *arg)
{
	struct pwjob *j = arg;

	if (j->old_pw) {
		sodium_memzero(j->old_pw, j->old_len);
		free(j->old_pw);
	}
	if (j->new_pw) {
		sodium_memzero(j->new_pw, j->new_len);
		free(j->new_pw);
	}
	sodium_memzero(j, sizeof(*j));
	free(j);
}

static void
pwjob_run(void *arg)
{
	struct pwjob *j = arg;

	if (j->old_pw) {
		j->old_ok = password_verify(j->stored, j->old_pw, j->old_len) == 1;
		if (!j->old_ok)
			return;
	}
	if (j->new_pw)
		j->hashed = password_hash(&j->params, j->new_pw, j->new_len, j->newhash, sizeof(j->newhash)) == 0;
}

static struct pwjob *
pwjob_new(struct request *r)
{
	struct pwjob *j = xcalloc(1, sizeof(*j));

	j->params = r->app->pw;
	return j;
}

/* Hand j to the hash pool; the handler runs again with r->phase 1: 0.  On a
 * full queue: -1 after answering 503, and j is freed. */
static int
pwjob_defer(struct request *r, struct pwjob *j)
{
	if (request_defer(r, pwjob_run, j) != 0) {
		pwjob_free(j);
		api_respond_busy(r, "Too many requests in progress, try again shortly.");
		return -1;
	}
	r->state = j;
	r->state_free = pwjob_free;
	return 0;
}

/* Per-IP and per-address limit on one of signup, resend and reset (all
 * requests count).  Each endpoint has its own budgets, so calls of one can
 * never use up another's: nobody blocks someone else's reset by asking for
 * confirmation mail for their address.  1 after answering 429 (or 503), else
 * 0 with the attempt counted. */
static int
throttled(struct request *r, const char *what, const char *email)
{
	const struct config *cfg = &r->app->cfg;
	char ipkey[128], addrkey[STORE_EMAIL_MAX + 32];

	api_ip_key(r, what, ipkey, sizeof(ipkey));
	snprintf(addrkey, sizeof(addrkey), "%s:address:%s", what, email);
	return api_reserve_two(r, ipkey, cfg->account_ip_limit, addrkey, cfg->account_address_limit,
	    cfg->account_window);
}

/* The body's email, normalised into out; NULL after adding a field error. */
static const char *
email_field(json_t *body, json_t *errors, char *out, size_t outsz)
{
	const char *email = api_string_field(body, "email", errors);

	if (email == NULL)
		return NULL;
	if (user_normalize_email(email, out, outsz) != 0) {
		json_object_set_new(errors, "email", json_pack("[s]", "Enter a valid email address."));
		return NULL;
	}
	return out;
}

/* An optional name field of at most 150 characters into out. */
static void
name_field(json_t *body, const char *name, json_t *errors, char *out, size_t outsz)
{
	json_t *v = json_object_get(body, name);
	size_t chars = 0;
	const char *s;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		json_object_set_new(errors, name, json_pack("[s]", "Not a valid string."));
		return;
	}
	s = json_string_value(v);
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
	if (chars > STORE_NAME_MAX || strlen(s) >= outsz) {
		json_object_set_new(errors, name, json_pack("[s]", "Ensure this field has no more than 150 characters."));
		return;
	}
	/* the same rule as the CLI: no control or bidi characters in a name
	 * that admins and X-Auth headers will show */
	if (!user_name_valid(s, strlen(s))) {
		json_object_set_new(errors, name, json_pack("[s]", "Enter a valid name."));
		return;
	}
	strlcpy_ok(out, s, outsz);
}

/* A new password from field name, checked against the rules; NULL after adding errors. */
static const char *
new_password_field(struct request *r, json_t *body, const char *name, const char *email, json_t *errors,
    size_t *len)
{
	const char *pw = api_string_field(body, name, errors);
	json_t *msgs;

	if (pw == NULL)
		return NULL;
	*len = json_string_length(json_object_get(body, name));
	msgs = json_array();
	if (password_policy_check(pw, *len, r->app->cfg.password_min_length, email, msgs) > 0) {
		json_object_set_new(errors, name, msgs);
		return NULL;
	}
	json_decref(msgs);
	return pw;
}

/* Make a confirmation key for u (old ones of u end), queue its mail.  Inside a transaction. */
static int
confirmation_send(struct request *r, const struct store_user *u)
{
	struct store_confirmation c = { 0 };
	char key[CONFIRM_KEY_LEN + 1], path[64];
	int ret = -1;

	random_chars(key, CONFIRM_KEY_LEN, key_chars);
	sha256_hex(key, CONFIRM_KEY_LEN, c.key_hash);
	c.user_id = u->id;
	strlcpy_ok(c.email, u->email, sizeof(c.email));
	c.created_at = now_unix();
	c.expires_at = c.created_at + r->app->cfg.confirm_ttl;
	snprintf(path, sizeof(path), "/confirm-email/%s", key);
	if (store_confirmation_delete_user(r->app->store, u->id) == 0 &&
	    store_confirmation_create(r->app->store, &c) == 0 &&
	    mail_queue(r->app->store, &r->app->cfg, MAIL_CONFIRM, u->email, path) == 0)
		ret = 0;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(path, sizeof(path));
	return ret;
}

static int
commit_and_wake(struct request *r)
{
	if (store_commit(r->app->store) != 0) {
		store_rollback(r->app->store);
		return -1;
	}
	mailer_wake(r->app->mailer);
	return 0;
}

/* ---- POST /api/signup/ ---- */

static void
signup_start(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct pwjob *j = NULL;
	const char *pw;
	size_t len = 0;
	char email[STORE_EMAIL_MAX + 1];

	if (request_json(r, &body) != 0)
		goto done;
	j = pwjob_new(r);
	if (email_field(body, errors, email, sizeof(email)))
		strlcpy_ok(j->email, email, sizeof(j->email));
	pw = new_password_field(r, body, "password", j->email, errors, &len);
	name_field(body, "first_name", errors, j->first_name, sizeof(j->first_name));
	name_field(body, "last_name", errors, j->last_name, sizeof(j->last_name));
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (throttled(r, "signup", j->email))
		goto done;
	j->new_pw = xstrndup(pw, len);
	j->new_len = len;
	pwjob_defer(r, j);
	j = NULL;
done:
	if (j)
		pwjob_free(j);
	json_decref(errors);
	if (body) {
		api_wipe_field(body, "password");
		json_decref(body);
	}
}

static void
signup_finish(struct request *r)
{
	struct pwjob *j = r->state;
	struct store *st = r->app->store;
	bool none = strcmp(r->app->cfg.email_verification, "none") == 0;
	struct store_user u = { 0 }, existing;
	int rc;

	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	rc = store_user_by_email(st, j->email, &existing);
	if (rc == 0) {
		/* taken: the same answer as a new signup; the owner is told by mail */
		if (mail_queue(st, &r->app->cfg, MAIL_SIGNUP_EXISTS, existing.email, NULL) != 0)
			goto fail;
	} else if (rc == STORE_NOTFOUND) {
		strlcpy_ok(u.email, j->email, sizeof(u.email));
		strlcpy_ok(u.password, j->newhash, sizeof(u.password));
		strlcpy_ok(u.first_name, j->first_name, sizeof(u.first_name));
		strlcpy_ok(u.last_name, j->last_name, sizeof(u.last_name));
		u.is_active = true;
		u.date_joined = now_unix();
		session_new_auth_hash(u.auth_hash);
		rc = store_user_create(st, &u);
		if (rc == STORE_CONFLICT) {
			/* a concurrent signup took it first: answer as for any taken address */
			store_rollback(st);
			goto answer;
		}
		if (rc != 0 || (!none && confirmation_send(r, &u) != 0))
			goto fail;
	} else
		goto fail;
	if (commit_and_wake(r) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (u.id)
		audit_log(r, "user.signed_up", u.id, NULL);
	else
		audit_log(r, "user.signup_with_taken_address", existing.id, NULL);
answer:
	respond_json(r, 201, json_pack("{s:s}", "detail", none ? "Account created." : "Verification e-mail sent."));
	return;
fail:
	store_rollback(st);
	api_respond_busy(r, NULL);
}

void
api_signup(struct request *r)
{
	if (r->phase == 0)
		signup_start(r);
	else
		signup_finish(r);
}

/* ---- POST /api/signup/confirm/ ---- */

void
api_signup_confirm(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object();
	struct store_confirmation c;
	struct store_user u;
	const char *key;
	char kh[65];
	int rc;

	if (request_json(r, &body) != 0)
		goto done;
	if ((key = api_string_field(body, "key", errors)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (strlen(key) != CONFIRM_KEY_LEN || strspn(key, key_chars) != CONFIRM_KEY_LEN) {
		respond_error(r, 400, BAD_CONFIRMATION);
		goto done;
	}
	sha256_hex(key, CONFIRM_KEY_LEN, kh);
	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	rc = store_confirmation_take(st, kh, &c);
	if (rc < 0)
		goto fail;
	if (rc == STORE_NOTFOUND || c.expires_at <= now_unix() ||
	    store_user_by_id(st, c.user_id, &u) != 0 || strcmp(u.email, c.email) != 0 || !u.is_active) {
		/* a dead key: it stays deleted */
		if (store_commit(st) != 0)
			store_rollback(st);
		respond_error(r, 400, BAD_CONFIRMATION);
		goto done;
	}
	if (store_user_set_verified(st, u.id) != 0 || store_confirmation_delete_user(st, u.id) < 0 ||
	    store_commit(st) != 0)
		goto fail;
	log_msg(LOG_INFO, "user %lld confirmed their email address", (long long)u.id);
	audit_log(r, "email.confirmed", u.id, NULL);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Email confirmed."));
	goto done;
fail:
	store_rollback(st);
	api_respond_busy(r, NULL);
done:
	json_decref(errors);
	json_decref(body);
}

/* ---- POST /api/signup/resend/ ---- */

void
api_signup_resend(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object();
	char email[STORE_EMAIL_MAX + 1];
	struct store_user u;
	int rc;

	if (request_json(r, &body) != 0)
		goto done;
	if (email_field(body, errors, email, sizeof(email)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (throttled(r, "resend", email))
		goto done;
	rc = store_user_by_email(st, email, &u);
	if (rc < 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	if (rc == 0 && !u.email_verified && u.is_active &&
	    strcmp(r->app->cfg.email_verification, "none") != 0) {
		if (store_begin(st) != 0 || confirmation_send(r, &u) != 0 || commit_and_wake(r) != 0) {
			store_rollback(st);
			api_respond_busy(r, NULL);
			goto done;
		}
	}
	respond_json(r, 200, json_pack("{s:s}", "detail",
	    "If this address has an unconfirmed account, a new confirmation e-mail is on its way."));
done:
	json_decref(errors);
	json_decref(body);
}

/* ---- POST /api/password/reset/ ---- */

int
accounts_queue_reset(struct request *r, const struct store_user *u)
{
	char uid[RESET_UID_MAX + 1], token[RESET_TOKEN_MAX], path[160];
	int ret;

	reset_uid_encode(u->id, uid, sizeof(uid));
	reset_token_make(r->app->cfg.secret_key, u, now_unix(), token, sizeof(token));
	snprintf(path, sizeof(path), "/reset-password/%s/%s", uid, token);
	ret = mail_queue(r->app->store, &r->app->cfg, MAIL_RESET, u->email, path);
	sodium_memzero(token, sizeof(token));
	sodium_memzero(path, sizeof(path));
	return ret;
}

void
api_password_reset(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object();
	char email[STORE_EMAIL_MAX + 1];
	struct store_user u;
	int rc, q = 0;

	if (request_json(r, &body) != 0)
		goto done;
	if (email_field(body, errors, email, sizeof(email)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (throttled(r, "reset", email))
		goto done;
	rc = store_user_by_email(st, email, &u);
	if (rc < 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	if (rc == 0 && u.is_active) {
		q = accounts_queue_reset(r, &u);
		if (q == 0)
			audit_log(r, "password.reset_requested", u.id, NULL);
	} else if (rc == STORE_NOTFOUND)
		q = mail_queue(st, &r->app->cfg, MAIL_RESET_UNKNOWN, email, NULL);
	if (q != 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	mailer_wake(r->app->mailer);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Password reset e-mail has been sent."));
done:
	json_decref(errors);
	json_decref(body);
}

/* ---- POST /api/password/reset/confirm/ ---- */

/* The user named by uid whose token is valid right now, into u: 0, or -1. */
static int
reset_user(struct request *r, const char *uid, const char *token, struct store_user *u)
{
	int64_t id;

	if (reset_uid_decode(uid, &id) != 0 || store_user_by_id(r->app->store, id, u) != 0 || !u->is_active)
		return -1;
	return reset_token_check(r->app->cfg.secret_key, u, token, now_unix(), r->app->cfg.reset_ttl);
}

static void
reset_confirm_start(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct pwjob *j = NULL;
	const char *uid, *token, *pw;
	size_t len = 0;

	if (request_json(r, &body) != 0)
		goto done;
	uid = api_string_field(body, "uid", errors);
	token = api_string_field(body, "token", errors);
	pw = api_string_field(body, "new_password", errors);
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	j = pwjob_new(r);
	if (reset_user(r, uid, token, &j->user) != 0) {
		respond_error(r, 400, BAD_RESET);
		goto done;
	}
	if ((pw = new_password_field(r, body, "new_password", j->user.email, errors, &len)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	/* kept for the second check after hashing (a concurrent use of the same link) */
	strlcpy_ok(j->uid, uid, sizeof(j->uid));
	strlcpy_ok(j->token, token, sizeof(j->token));
	j->new_pw = xstrndup(pw, len);
	j->new_len = len;
	pwjob_defer(r, j);
	j = NULL;
done:
	if (j)
		pwjob_free(j);
	json_decref(errors);
	if (body) {
		api_wipe_field(body, "new_password");
		json_decref(body);
	}
}

static void
reset_confirm_finish(struct request *r)
{
	struct pwjob *j = r->state;
	struct store *st = r->app->store;
	struct store_user u;
	char auth[STORE_AUTHHASH_LEN + 1];

	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	/* again, inside the transaction: only one use of a link can win */
	if (reset_user(r, j->uid, j->token, &u) != 0) {
		store_rollback(st);
		respond_error(r, 400, BAD_RESET);
		return;
	}
	session_new_auth_hash(auth);
	if (store_user_set_password(st, u.id, j->newhash, auth) != 0 ||
	    store_session_delete_user(st, u.id, 0) < 0 || store_token_delete_user(st, u.id) < 0 ||
	    store_user_set_verified(st, u.id) != 0 || store_confirmation_delete_user(st, u.id) < 0 ||
	    mail_queue(st, &r->app->cfg, MAIL_PASSWORD_CHANGED, u.email, NULL) != 0 || commit_and_wake(r) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	log_msg(LOG_INFO, "user %lld reset their password; sessions and tokens ended", (long long)u.id);
	audit_log(r, "password.reset", u.id, NULL);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Password has been reset with the new password."));
}

void
api_password_reset_confirm(struct request *r)
{
	if (r->phase == 0)
		reset_confirm_start(r);
	else
		reset_confirm_finish(r);
}

/* ---- POST /api/password/change/ ---- */

static void
change_start(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct pwjob *j = NULL;
	const char *old, *pw;
	size_t len = 0;

	if (request_json(r, &body) != 0)
		goto done;
	old = api_string_field(body, "old_password", errors);
	pw = new_password_field(r, body, "new_password", r->caller->user.email, errors, &len);
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	/* counted now, before the hash: concurrent guesses cannot all pass */
	if (api_reauth_throttled(r))
		goto done;
	j = pwjob_new(r);
	if (store_user_by_id(r->app->store, r->caller->user.id, &j->user) != 0) {
		api_reauth_cancel(r);
		api_respond_busy(r, NULL);
		goto done;
	}
	strlcpy_ok(j->stored, j->user.password, sizeof(j->stored));
	j->old_len = json_string_length(json_object_get(body, "old_password"));
	j->old_pw = xstrndup(old, j->old_len);
	j->new_pw = xstrndup(pw, len);
	j->new_len = len;
	if (pwjob_defer(r, j) != 0)
		api_reauth_cancel(r);
	j = NULL;
done:
	if (j)
		pwjob_free(j);
	json_decref(errors);
	if (body) {
		api_wipe_field(body, "old_password");
		api_wipe_field(body, "new_password");
		json_decref(body);
	}
}

static void
change_finish(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	struct pwjob *j = r->state;
	struct store *st = r->app->store;

	if (!j->old_ok) {
		api_reauth_failed(r);        /* the attempt stays counted */
		respond_json(r, 400, json_pack("{s:[s]}", "old_password",
		    "Your old password was entered incorrectly. Please enter it again."));
		return;
	}
	api_reauth_succeeded(r);
	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	session_new_auth_hash(j->user.auth_hash);
	strlcpy_ok(j->user.password, j->newhash, sizeof(j->user.password));
	/* every session ends; this one goes on under a new key (session_rotate) */
	if (store_user_set_password(st, j->user.id, j->newhash, j->user.auth_hash) != 0 ||
	    store_session_delete_user(st, j->user.id, 0) < 0 ||
	    mail_queue(st, cfg, MAIL_PASSWORD_CHANGED, j->user.email, NULL) != 0 ||
	    (r->caller->kind == AUTH_SESSION && authn_rotate(r, &j->user) != 0) || commit_and_wake(r) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	log_msg(LOG_INFO, "user %lld changed their password; other sessions ended", (long long)j->user.id);
	audit_log(r, "password.changed", j->user.id, NULL);
	respond_json(r, 200, json_pack("{s:s}", "detail", "New password has been saved."));
}

void
api_password_change(struct request *r)
{
	if (r->phase == 0)
		change_start(r);
	else
		change_finish(r);
}
