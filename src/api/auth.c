/*
 * api/auth — the seed's login endpoints: CSRF cookie, login, logout.
 * Login never says which of email or password was wrong, costs one password
 * hash whether or not the account exists, and runs that hash on the hash pool
 * while the connection is suspended.  An attempt is counted (per IP, per
 * account) when it is admitted and given back when the password was right;
 * a failure is answered on a fixed time grid, so its timing does not tell an
 * unknown address from a slow legacy hash.  Must never log or keep the password.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "accounts/accounts.h"
#include "app.h"
#include "auth/csrf.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "metrics.h"
#include "auth/password.h"
#include "http/authn.h"
#include "auth/throttle.h"
#include "accounts/user.h"

#define INVALID_CREDENTIALS "Invalid credentials"

void
api_login_set_cookie(struct request *r)
{
	char secret[CSRF_SECRET_LEN + 1];

	/* keep a valid secret (Django's ensure_csrf_cookie), else make one */
	if (authn_csrf_cookie_secret(r, secret) != 0)
		csrf_new_secret(secret);
	authn_csrf_set_cookie(r, secret);
	sodium_memzero(secret, sizeof(secret));
	respond_json(r, 200, json_pack("{s:s}", "detail", "CSRF cookie set"));
}

/* The login's own state, carried by its password job (api_pwjob). */
struct login {
	struct limiter *limiter;
	char email[STORE_EMAIL_MAX + 1];
	char ip_key[112], account_key[STORE_EMAIL_MAX + 16];
	struct store_user user;
	bool found;
	bool in_flight;  /* holds a place among the account's checks in flight */
	double admitted; /* now_mono() when the attempt was counted */
};

/* The job's extra_free: a place among the account's checks goes back,
 * however the request ends. */
static void
login_leave(void *extra)
{
	struct login *l = extra;

	if (l->in_flight)
		limiter_leave(l->limiter, l->account_key);
	l->in_flight = false;
}

/* Give back both reservations of an attempt that was never checked. */
static void
login_uncount(struct request *r, struct login *l)
{
	limiter_release(r->app->limiter, l->account_key);
	limiter_release(r->app->limiter, l->ip_key);
}

void
api_login(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	json_t *body = NULL, *errors = json_object(), *pwv;
	const char *email, *password;
	struct api_pwjob *j;
	struct login *l;
	int rc;

	if (request_json(r, &body) != 0)
		goto done;
	email = api_string_field(body, "email", errors);
	password = api_string_field(body, "password", errors);
	if (password && (pwv = json_object_get(body, "password")) &&
	    json_string_length(pwv) > PASSWORD_MAX_BYTES) {
		json_object_set_new(errors, "password",
		    json_pack("[s]", "Ensure this field has no more than 4096 characters."));
		password = NULL;
	}
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	j = api_pwjob_new(r, sizeof(*l));
	j->extra_free = login_leave;
	l = j->extra;
	l->limiter = r->app->limiter;
	if (user_normalize_email(email, l->email, sizeof(l->email)) != 0)
		l->email[0] = '\0'; /* cannot exist; still costs a hash below */
	api_ip_key(r, "login", l->ip_key, sizeof(l->ip_key));
	snprintf(l->account_key, sizeof(l->account_key), "login:account:%s", l->email[0] ? l->email : email);

	/* one account never holds more than a few places of the hash pool, however
	 * many addresses it is tried from; refused here, nothing is counted */
	if (limiter_enter(l->limiter, l->account_key, (unsigned)cfg->login_account_inflight) != 0) {
		metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_THROTTLED);
		api_respond_throttled(r, 1);
		goto done;
	}
	l->in_flight = true;
	/* counted now, before the hash: concurrent guesses cannot all pass */
	if (api_password_reserve(r, l->ip_key, l->account_key) != 0) {
		metrics_count_login(METRICS_LOGIN_PASSWORD,
		    r->status == 429 ? METRICS_LOGIN_THROTTLED : METRICS_LOGIN_UNAVAILABLE);
		log_msg(LOG_WARN, "login throttled for %s", r->ip);
		if (r->status == 429)
			audit_log(r, "login.throttled", 0,
			    json_pack("{s:s}", "email", l->email[0] ? l->email : "(invalid)"));
		goto done;
	}
	l->admitted = now_mono();
	if (l->email[0]) {
		rc = store_user_by_email(r->app->store, l->email, &l->user);
		if (rc < 0) {
			metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_UNAVAILABLE);
			login_uncount(r, l);
			api_respond_busy(r, NULL);
			goto done;
		}
		l->found = rc == 0;
	}
	/* an unknown address or no usable password costs a dummy verify */
	api_pwjob_verify(j, l->found ? l->user.password : NULL, password,
	    json_string_length(json_object_get(body, "password")));
	j->rehash = true;
	if (api_pwjob_defer(r, j, "Too many logins in progress, try again shortly.") != 0) {
		metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_UNAVAILABLE);
		login_uncount(r, l);
	}
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

/* A failed check is answered on the next multiple of the quantum after its
 * admission: a timer on the suspended connection, no thread, no CPU.  Every
 * kind of failure that takes less than the quantum (unknown address, native
 * or legacy hash, no usable password) is answered after the same time. */
static void
login_pad(struct request *r, const struct login *l)
{
	double q = (double)r->app->cfg.login_failure_quantum_ms / 1000.0, elapsed;

	if (q <= 0)
		return;
	elapsed = now_mono() - l->admitted;
	request_answer_at(r, l->admitted + ceil(elapsed / q) * q);
}

void
api_login_finish(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	struct api_pwjob *j = r->state;
	struct login *l = j->extra;
	int rc;

	/* the hash is done: its place among the account's checks goes back */
	login_leave(l);
	/* a failure keeps both reservations: the attempt stays counted */
	if (!j->verified || !l->user.is_active) {
		metrics_count_login(METRICS_LOGIN_PASSWORD,
		    j->verified ? METRICS_LOGIN_INACTIVE : METRICS_LOGIN_BAD_CREDENTIALS);
		/* the reason class only: never what was typed */
		audit_log(r, "login.failed", l->found ? l->user.id : 0,
		    json_pack("{s:s, s:s}", "reason",
		        !l->found        ? "unknown_email" :
		            !j->verified ? "wrong_password" :
		                           "inactive",
		        "email", l->email[0] ? l->email : "(invalid)"));
		respond_error(r, 400, INVALID_CREDENTIALS);
		login_pad(r, l);
		return;
	}
	/* only someone who knows the password learns that the address is
	 * unconfirmed; it counts like a failure, so an unconfirmed signup cannot
	 * keep the hash pool busy */
	if (!l->user.email_verified && cfg->email_verification == EMAIL_VERIFICATION_MANDATORY) {
		metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_UNVERIFIED);
		audit_log(r, "login.failed", l->user.id,
		    json_pack("{s:s, s:s}", "reason", "unverified", "email", l->user.email));
		respond_error(r, 400, "E-mail is not verified.");
		return;
	}
	if (j->rehashed && accounts_upgrade_hash(r->app->store, l->user.id, j->newhash) != 0)
		log_msg(LOG_WARN, "could not store the upgraded hash of user %lld", (long long)l->user.id);
	/* the right password: this attempt does not count against the account */
	limiter_release(r->app->limiter, l->account_key);
	/* a second factor, when the user has one: a pending login, no session yet */
	if ((rc = api_mfa_begin(r, &l->user, "password", NULL)) != 0) {
		metrics_count_login(METRICS_LOGIN_PASSWORD,
		    rc > 0 ? METRICS_LOGIN_MFA_PENDING : METRICS_LOGIN_UNAVAILABLE);
		return;
	}
	if (authn_login(r, &l->user) != 0) {
		metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_UNAVAILABLE);
		api_respond_busy(r, NULL);
		return;
	}
	metrics_count_login(METRICS_LOGIN_PASSWORD, METRICS_LOGIN_SUCCESS);
	audit_log(r, "login.succeeded", l->user.id, json_pack("{s:s}", "method", "password"));
	respond_json(r, 200, json_pack("{s:s}", "detail", "Success"));
}

void
api_logout(struct request *r)
{
	struct store *st = r->app->store;
	bool own = r->caller->kind == AUTH_SESSION;

	/* a session's end, its audit row and its webhook message land together */
	if (own && store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (own)
		audit_log(r, "logout", r->caller->user.id, NULL);
	if (authn_logout(r) != 0 || (own && store_commit(st) != 0)) {
		if (own)
			store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, json_pack("{s:s}", "detail", "Logout Successful"));
}
