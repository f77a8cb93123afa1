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
#include "accounts/accounts.h"
#include "app.h"
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

#define CONFIRM_KEY_LEN  40
#define BAD_CONFIRMATION "Invalid or expired confirmation link."
#define BAD_RESET        "Invalid or expired reset link."

static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* What the second phase of signup, reset-confirm and change needs, carried
 * by the password job (api_pwjob: the passwords, wiped). */
struct pwstate {
	struct store_user user;
	char email[STORE_EMAIL_MAX + 1];
	char first_name[STORE_NAME_MAX * 4 + 1], last_name[STORE_NAME_MAX * 4 + 1];
	char uid[RESET_UID_MAX + 1], token[RESET_TOKEN_MAX];
};

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
		json_object_set_new(errors, name,
		    json_pack("[s]", "Ensure this field has no more than 150 characters."));
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

void
api_signup(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct api_pwjob *j;
	struct pwstate *ps;
	const char *pw;
	size_t len = 0;
	char email[STORE_EMAIL_MAX + 1];

	if (request_json(r, &body) != 0)
		goto done;
	j = api_pwjob_new(r, sizeof(*ps));
	ps = j->extra;
	if (email_field(body, errors, email, sizeof(email)))
		strlcpy_ok(ps->email, email, sizeof(ps->email));
	pw = new_password_field(r, body, "password", ps->email, errors, &len);
	name_field(body, "first_name", errors, ps->first_name, sizeof(ps->first_name));
	name_field(body, "last_name", errors, ps->last_name, sizeof(ps->last_name));
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (throttled(r, "signup", ps->email))
		goto done;
	api_pwjob_hash(j, pw, len);
	api_pwjob_defer(r, j, NULL);
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

void
api_signup_finish(struct request *r)
{
	struct api_pwjob *j = r->state;
	struct pwstate *ps = j->extra;
	struct store *st = r->app->store;
	bool none = r->app->cfg.email_verification == EMAIL_VERIFICATION_NONE;
	struct accounts_new_user n = { .origin = ACCOUNTS_SIGNUP,
		.email = ps->email,
		.first_name = ps->first_name,
		.last_name = ps->last_name,
		.password_hash = j->newhash };
	struct accounts_actor a;
	struct store_user u;
	int rc;

	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	api_actor(r, &a);
	rc = accounts_create_user(st, &n, &a, &u);
	if (rc == ACCOUNTS_TAKEN) {
		/* taken: the same answer as a new signup; the owner is told by mail
		 * (an insert that lost a race has no row to name: nothing to send) */
		if (u.id) {
			if (mail_queue(st, &r->app->cfg, MAIL_SIGNUP_EXISTS, u.email, NULL) != 0)
				goto fail;
			audit_log(r, "user.signup_with_taken_address", u.id, NULL);
		}
	} else if (rc != 0 || (!none && confirmation_send(r, &u) != 0))
		goto fail; /* the fields were checked already: only a store error is left */
	if (commit_and_wake(r) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 201,
	    json_pack("{s:s}", "detail", none ? "Account created." : "Verification e-mail sent."));
	return;
fail:
	store_rollback(st);
	api_respond_busy(r, NULL);
}

/* ---- POST /api/signup/confirm/ ---- */

void
api_signup_confirm(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object();
	struct store_confirmation c;
	struct accounts_actor a;
	struct store_user u;
	const char *key;
	char kh[65];
	int rc, urc = STORE_NOTFOUND;

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
	if (rc == 0 && (urc = store_user_by_id(st, c.user_id, &u)) < 0)
		goto fail; /* the key goes back with the rollback: the link still works later */
	if (rc == STORE_NOTFOUND || c.expires_at <= now_unix() || urc != 0 || strcmp(u.email, c.email) != 0 ||
	    !u.is_active) {
		/* a dead key: it stays deleted */
		if (store_commit(st) != 0)
			store_rollback(st);
		respond_error(r, 400, BAD_CONFIRMATION);
		goto done;
	}
	api_actor(r, &a);
	if (accounts_confirm_email(st, &u, &a) != 0 || store_commit(st) != 0)
		goto fail;
	log_msg(LOG_INFO, "user %lld confirmed their email address", (long long)u.id);
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
	    r->app->cfg.email_verification != EMAIL_VERIFICATION_NONE) {
		if (store_begin(st) != 0 || confirmation_send(r, &u) != 0 || commit_and_wake(r) != 0) {
			store_rollback(st);
			api_respond_busy(r, NULL);
			goto done;
		}
	}
	respond_json(r, 200,
	    json_pack("{s:s}", "detail",
	        "If this address has an unconfirmed account, a new confirmation e-mail is on its way."));
done:
	json_decref(errors);
	json_decref(body);
}

/* ---- POST /api/password/reset/ ---- */

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
		q = accounts_queue_reset(st, &r->app->cfg, &u);
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

/* The user named by uid whose token is valid right now, into u: 0, -1 (no such
 * link), or -2 when the store could not answer (the link may be good: 503). */
static int
reset_user(struct request *r, const char *uid, const char *token, struct store_user *u)
{
	int64_t id;
	int rc;

	if (reset_uid_decode(uid, &id) != 0)
		return -1;
	if ((rc = store_user_by_id(r->app->store, id, u)) < 0)
		return -2;
	if (rc != 0 || !u->is_active)
		return -1;
	return reset_token_check(r->app->cfg.secret_key, u, token, now_unix(), r->app->cfg.reset_ttl) == 0 ?
	    0 :
	    -1;
}

void
api_password_reset_confirm(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct api_pwjob *j;
	struct pwstate *ps;
	const char *uid, *token, *pw;
	size_t len = 0;
	int rc;

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
	j = api_pwjob_new(r, sizeof(*ps));
	ps = j->extra;
	if ((rc = reset_user(r, uid, token, &ps->user)) != 0) {
		if (rc == -2)
			api_respond_busy(r, NULL);
		else
			respond_error(r, 400, BAD_RESET);
		goto done;
	}
	if ((pw = new_password_field(r, body, "new_password", ps->user.email, errors, &len)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	/* kept for the second check after hashing (a concurrent use of the same link) */
	strlcpy_ok(ps->uid, uid, sizeof(ps->uid));
	strlcpy_ok(ps->token, token, sizeof(ps->token));
	api_pwjob_hash(j, pw, len);
	api_pwjob_defer(r, j, NULL);
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

void
api_password_reset_confirm_finish(struct request *r)
{
	struct api_pwjob *j = r->state;
	struct pwstate *ps = j->extra;
	struct store *st = r->app->store;
	struct accounts_actor a;
	struct store_user u;
	int rc;

	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	/* again, inside the transaction: only one use of a link can win */
	if ((rc = reset_user(r, ps->uid, ps->token, &u)) != 0) {
		store_rollback(st);
		if (rc == -2)
			api_respond_busy(r, NULL);
		else
			respond_error(r, 400, BAD_RESET);
		return;
	}
	api_actor(r, &a);
	if (accounts_set_password(st, &r->app->cfg, &u, j->newhash, ACCOUNTS_PW_RESET, &a) != 0 ||
	    commit_and_wake(r) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, json_pack("{s:s}", "detail", "Password has been reset with the new password."));
}

/* ---- POST /api/password/change/ ---- */

void
api_password_change(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct api_pwjob *j;
	struct pwstate *ps;
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
	j = api_pwjob_new(r, sizeof(*ps));
	ps = j->extra;
	if (store_user_by_id(r->app->store, r->caller->user.id, &ps->user) != 0) {
		api_reauth_cancel(r);
		api_respond_busy(r, NULL);
		goto done;
	}
	api_pwjob_verify(j, ps->user.password, old,
	    json_string_length(json_object_get(body, "old_password")));
	api_pwjob_hash(j, pw, len);
	if (api_pwjob_defer(r, j, NULL) != 0)
		api_reauth_cancel(r);
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

void
api_password_change_finish(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	struct api_pwjob *j = r->state;
	struct pwstate *ps = j->extra;
	struct store *st = r->app->store;
	struct accounts_actor a;

	if (!j->verified) {
		api_reauth_failed(r); /* the attempt stays counted */
		respond_json(r, 400,
		    json_pack("{s:[s]}", "old_password",
		        "Your old password was entered incorrectly. Please enter it again."));
		return;
	}
	api_reauth_succeeded(r);
	if (!j->hashed || store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	api_actor(r, &a);
	/* every session ends; this one goes on under a new key (authn_rotate) */
	if (accounts_set_password(st, cfg, &ps->user, j->newhash, ACCOUNTS_PW_CHANGE, &a) != 0 ||
	    (r->caller->kind == AUTH_SESSION && authn_rotate(r, &ps->user) != 0) || commit_and_wake(r) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, json_pack("{s:s}", "detail", "New password has been saved."));
}
