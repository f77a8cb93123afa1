/*
 * api/mfa — second factors (docs/mfa-contract.md): the second step of a
 * login (the pending login a right password or a provider left, completed
 * by a TOTP code, a recovery code or a WebAuthn assertion), and the owner's
 * management of their factors.  The rules live in src/auth (totp, recovery,
 * webauthn, mfa) and src/accounts/mfa; this file wires them to requests.
 * Every wrong answer is counted (per pending login or session, and per
 * account) before it is checked, and given back only when it was right.
 * Must never log or return a TOTP secret after its set-up, a code, a key
 * or a challenge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "accounts/audit.h"
#include "accounts/mfa.h"
#include "api/api.h"
#include "app.h"
#include "auth/caller.h"
#include "auth/mfa.h"
#include "auth/recovery.h"
#include "auth/throttle.h"
#include "auth/totp.h"
#include "auth/webauthn.h"
#include "http/authn.h"
#include "http/http.h"
#include "log.h"
#include "mail/mailer.h"
#include "util.h"
#include "metrics.h"

#define MFA_PENDING_LIMIT 5  /* wrong answers per pending login (or session) */
#define MFA_ACCOUNT_LIMIT 10 /* wrong answers per account per window */
#define MFA_WINDOW        3600
#define PASSKEY_NAME_MAX  64 /* characters */

#define WRONG_TOTP     "That code is not valid. Check the time on your device and try again."
#define WRONG_RECOVERY "That recovery code is not valid or was already used."
#define BAD_CHALLENGE  "The challenge is unknown, expired or was already used. Try again."
#define NOT_YOURS      "This passkey is not registered for this account."
#define TOKEN_CANNOT   "Second factors are managed from a signed-in session; an API token cannot."

/* ---------- shared pieces ---------- */

static void
respond_expired(struct request *r)
{
	respond_json(r, 401,
	    json_pack("{s:s, s:s}", "detail", "Your sign-in has expired. Sign in again.", "code",
	        "mfa_expired"));
	/* every 401 names a scheme (RFC 9110 §15.5.2), as the router's do */
	response_header(r, "WWW-Authenticate", "Token");
}

static void
respond_field(struct request *r, const char *field, const char *message)
{
	respond_json(r, 400, json_pack("{s:[s]}", field, message));
}

/* A signed-in session (not a token): 1, or 0 after answering 403. */
static int
need_session(struct request *r)
{
	if (r->caller->kind == AUTH_SESSION)
		return 1;
	respond_error(r, 403, TOKEN_CANNOT);
	return 0;
}

void
api_webauthn_rp(struct request *r, struct webauthn_rp *rp, char *host, size_t hostsz)
{
	const char *o = r->app->cfg.public_origin, *p = strstr(o, "://");
	size_t n;

	p = p ? p + 3 : o;
	n = strcspn(p, ":/");
	if (n >= hostsz)
		n = hostsz - 1;
	memcpy(host, p, n);
	host[n] = '\0';
	rp->rp_id = host;
	rp->origin = o;
}

static void
respond_setup_missing(struct request *r)
{
	respond_json(r, 409,
	    json_pack("{s:s, s:s}", "detail", "Start the set-up again.", "code", "mfa_setup_missing"));
}

static json_t *
transports_json(const char *csv)
{
	json_t *a = json_array();
	char buf[128], *save = NULL;

	strlcpy_ok(buf, csv, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static json_t *
passkey_json(const struct store_webauthn *w)
{
	char created[32], used[32];

	iso8601(w->created_at, created, sizeof(created));
	iso8601(w->last_used, used, sizeof(used));
	return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)w->id, "name", w->name, "created",
	    created, "last_used", w->last_used ? json_string(used) : json_null(), "transports",
	    transports_json(w->transports));
}

static void
add_passkey(void *ctx, const struct store_webauthn *w)
{
	json_array_append_new(ctx, passkey_json(w));
}

static void
add_descriptor(void *ctx, const struct store_webauthn *w)
{
	json_array_append_new(ctx,
	    json_pack("{s:s, s:s, s:o}", "type", "public-key", "id", w->cred_id, "transports",
	        transports_json(w->transports)));
}

static json_t *
codes_json(char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT])
{
	json_t *a = json_array();

	for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
		json_array_append_new(a, json_string(codes[i]));
	return a;
}

/* Request options for an assertion by user_id's passkeys, its challenge
 * made for purpose and bound to bind_hash: the answer, or NULL after
 * answering (400 no passkey, 503). */
static json_t *
assertion_options(struct request *r, int64_t user_id, const char *purpose, const char *bind_hash)
{
	struct auth_env env = authn_env(r);
	struct webauthn_rp rp;
	char host[256], challenge[MFA_CHALLENGE_MAX];
	json_t *allow = json_array();

	api_webauthn_rp(r, &rp, host, sizeof(host));
	if (store_webauthn_list(r->app->store, user_id, add_descriptor, allow) != 0)
		goto busy;
	if (json_array_size(allow) == 0) {
		json_decref(allow);
		respond_error(r, 400, "You have no passkey.");
		return NULL;
	}
	if (mfa_challenge_new(&env, purpose, user_id, bind_hash, now_unix(), challenge, sizeof(challenge)) !=
	    0)
		goto busy;
	return json_pack("{s:{s:s, s:s, s:i, s:s, s:o}}", "publicKey", "challenge", challenge, "rpId",
	    rp.rp_id, "timeout", MFA_CHALLENGE_TTL * 1000, "userVerification", "preferred",
	    "allowCredentials", allow);
busy:
	json_decref(allow);
	api_respond_busy(r, NULL);
	return NULL;
}

/* The outcome of checking one second-factor answer. */
enum check {
	CHECK_OK,
	CHECK_WRONG, /* answered 400 (and audited) */
	CHECK_DONE,  /* answered otherwise (503, 400 for the method) */
};

/* Check body's answer (method totp, recovery_code or webauthn) for u; for
 * webauthn the challenge must have been made for purpose and bind_hash.
 * allow_recovery: recovery codes complete a login, never re-authenticate. */
static enum check
check_answer(struct request *r, json_t *body, const struct store_user *u, const char *purpose,
    const char *bind_hash, bool allow_recovery, const char **method_out)
{
	struct store *st = r->app->store;
	const struct config *cfg = &r->app->cfg;
	struct auth_env env = authn_env(r);
	const char *method = json_string_value(json_object_get(body, "method"));
	const char *reason = NULL, *field = "code", *message = NULL;
	int64_t now = now_unix();

	*method_out = method ? method : "";
	if (method && strcmp(method, "totp") == 0) {
		const char *code = json_string_value(json_object_get(body, "code"));
		unsigned char secret[TOTP_SECRET_LEN * 2];
		size_t len = 0;
		struct store_totp t;
		int64_t step;
		int rc = store_totp_get(st, u->id, &t);

		if (rc != 0 && rc != STORE_NOTFOUND)
			goto busy;
		if (rc == STORE_NOTFOUND || !t.confirmed) {
			respond_field(r, "method", "You have no authenticator app set up.");
			return CHECK_DONE;
		}
		message = WRONG_TOTP;
		if (code == NULL) {
			reason = "missing";
		} else if (totp_open(cfg->secret_key, t.secret, secret, &len) != 0) {
			log_msg(LOG_ERROR,
			    "the TOTP secret of user %lld cannot be opened (secret key changed?)",
			    (long long)u->id);
			reason = "sealed";
		} else if ((step = totp_check(secret, len, code, now, t.last_step)) <= 0) {
			reason = "wrong_code";
		} else if ((rc = store_totp_use_step(st, u->id, step)) != 0) {
			if (rc < 0) {
				sodium_memzero(secret, sizeof(secret));
				goto busy;
			}
			reason = "replayed_code"; /* a concurrent request used it first */
		}
		sodium_memzero(secret, sizeof(secret));
		sodium_memzero(&t, sizeof(t));
	} else if (method && strcmp(method, "recovery_code") == 0 && allow_recovery) {
		const char *code = json_string_value(json_object_get(body, "code"));
		char h[RECOVERY_HASH_LEN + 1];
		int rc;

		message = WRONG_RECOVERY;
		if (code == NULL || recovery_code_hash(cfg->secret_key, code, h) != 0) {
			reason = "malformed_code";
		} else if ((rc = store_recovery_use(st, u->id, h, now)) != 0) {
			if (rc < 0)
				goto busy;
			reason = "wrong_code";
		}
	} else if (method && strcmp(method, "webauthn") == 0) {
		json_t *cred = json_object_get(body, "credential");
		struct webauthn_rp rp;
		struct webauthn_assertion as;
		struct store_webauthn w;
		char host[256], challenge[MFA_CHALLENGE_MAX], cred_id[WEBAUTHN_B64_MAX];
		const char *why = NULL;
		bool regressed = false;
		int rc;

		int n = 0;

		if (store_webauthn_count(st, u->id, &n) != 0)
			goto busy;
		if (n == 0) {
			respond_field(r, "method", "You have no passkey.");
			return CHECK_DONE;
		}
		field = "credential";
		api_webauthn_rp(r, &rp, host, sizeof(host));
		if (!json_is_object(cred) ||
		    webauthn_client_challenge(cred, challenge, sizeof(challenge), &why) != 0 ||
		    webauthn_credential_id(cred, cred_id, sizeof(cred_id)) != 0) {
			reason = "malformed";
			message = why ? why : "Malformed credential.";
		} else if ((rc = mfa_challenge_take(&env, challenge, purpose, bind_hash, u->id, now)) != 1) {
			if (rc < 0)
				goto busy;
			reason = "challenge";
			message = BAD_CHALLENGE;
		} else if ((rc = store_webauthn_get(st, cred_id, &w)) != 0 || w.user_id != u->id) {
			if (rc < 0)
				goto busy;
			reason = "unknown_credential";
			message = NOT_YOURS;
		} else if (webauthn_verify_assertion(&rp, cred, challenge, false, w.alg, w.public_key,
		               (uint32_t)w.sign_count, &as, &regressed, &why) != 0) {
			reason = regressed ? "counter_regressed" : "assertion";
			message = why ? why : "The signature is not valid.";
			if (regressed)
				audit_log(r, "mfa.counter_regressed", u->id,
				    json_pack("{s:I, s:I}", "credential", (json_int_t)w.id, "stored_count",
				        (json_int_t)w.sign_count));
		} else if ((rc = store_webauthn_used(st, w.id, w.sign_count, as.sign_count, now)) != 0) {
			if (rc < 0)
				goto busy;
			reason = "counter_race";
			message = "The security key's signature counter went backwards.";
		}
	} else {
		respond_field(r, "method",
		    allow_recovery ? "Choose webauthn, totp or recovery_code." :
		                     "Choose password, webauthn or totp.");
		return CHECK_DONE;
	}
	if (reason) {
		audit_log(r, "mfa.failed", u->id,
		    json_pack("{s:s, s:s}", "method", method, "reason", reason));
		respond_field(r, field, message);
		return CHECK_WRONG;
	}
	return CHECK_OK;
busy:
	api_respond_busy(r, NULL);
	return CHECK_DONE;
}

/* Count one answer against key1 (the pending login or session) and the
 * account: 0 admitted, 1 after answering 429/503. */
static int
answer_reserve(struct request *r, const char *key1, int64_t user_id, char *acct, size_t acctsz)
{
	snprintf(acct, acctsz, "mfa:account:%lld", (long long)user_id);
	return api_reserve_two(r, key1, MFA_PENDING_LIMIT, acct, MFA_ACCOUNT_LIMIT, MFA_WINDOW);
}

/* ---------- the second step of a login ---------- */

int
api_mfa_begin(struct request *r, const struct store_user *u, const char *method, const char *next)
{
	struct auth_env env = authn_env(r);
	struct auth_in in;
	struct auth_cookies out = { 0 };
	struct accounts_mfa_state s;
	json_t *methods, *body;

	if (!u->mfa_enabled)
		return 0;
	if (accounts_mfa_state(r->app->store, u->id, &s) != 0) {
		api_respond_busy(r, NULL);
		return -1;
	}
	if (!s.totp && s.webauthn == 0)
		return 0; /* the last factor went meanwhile: nothing to ask */
	authn_input_mfa(r, &in);
	if (mfa_pending_begin(&env, &in, u, method, next, &out) != 0) {
		auth_cookies_wipe(&out);
		api_respond_busy(r, NULL);
		return -1;
	}
	authn_apply(r, &out);
	methods = accounts_mfa_methods(&s);
	audit_log(r, "login.mfa_pending", u->id, json_pack("{s:s}", "method", method));
	body = json_pack("{s:s, s:s, s:{s:o, s:I}}", "detail", "Confirm it's you with your second factor.",
	    "code", "mfa_required", "mfa", "methods", methods, "expires_in",
	    (json_int_t)r->app->cfg.mfa_pending_ttl);
	if (next && next[0])
		json_object_set_new(body, "next", json_string(next));
	respond_json(r, 401, body);
	response_header(r, "WWW-Authenticate", "Token");
	return 1;
}

/* The live pending login of r: 1 found; 0 after answering 401; -1 after 503. */
static int
pending_of(struct request *r, struct store_mfa_pending *p, struct store_user *u)
{
	struct auth_env env = authn_env(r);
	struct auth_in in;
	int rc;

	authn_input_mfa(r, &in);
	rc = mfa_pending_find(&env, &in, p, u);
	if (rc < 0)
		api_respond_busy(r, NULL);
	else if (rc == 0)
		respond_expired(r);
	return rc;
}

void
api_mfa_pending(struct request *r)
{
	struct store_mfa_pending p;
	struct store_user u;
	struct accounts_mfa_state s;
	json_t *body;

	if (pending_of(r, &p, &u) != 1)
		return;
	if (accounts_mfa_state(r->app->store, u.id, &s) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	body = json_pack("{s:o, s:I}", "methods", accounts_mfa_methods(&s), "expires_in",
	    (json_int_t)(p.expires_at - now_unix()));
	if (p.next[0])
		json_object_set_new(body, "next", json_string(p.next));
	respond_json(r, 200, body);
}

void
api_mfa_pending_options(struct request *r)
{
	struct store_mfa_pending p;
	struct store_user u;
	json_t *opts;

	if (pending_of(r, &p, &u) != 1)
		return;
	if ((opts = assertion_options(r, u.id, MFA_PURPOSE_SECOND, p.key_hash)) != NULL)
		respond_json(r, 200, opts);
}

void
api_mfa_authenticate(struct request *r)
{
	struct store *st = r->app->store;
	struct auth_env env = authn_env(r);
	struct store_mfa_pending p;
	struct store_user u;
	struct auth_cookies out = { 0 };
	json_t *body = NULL, *answer;
	char key1[96], acct[48], how[160];
	const char *method = "";
	int rc;

	if (pending_of(r, &p, &u) != 1)
		return;
	if (request_json(r, &body) != 0)
		goto done;
	snprintf(key1, sizeof(key1), "mfa:pending:%s", p.key_hash);
	if (answer_reserve(r, key1, u.id, acct, sizeof(acct)) != 0) {
		metrics_count_login(METRICS_LOGIN_SECOND_FACTOR,
		    r->status == 429 ? METRICS_LOGIN_THROTTLED : METRICS_LOGIN_UNAVAILABLE);
		goto done;
	}
	switch (check_answer(r, body, &u, MFA_PURPOSE_SECOND, p.key_hash, true, &method)) {
	case CHECK_OK:
		break;
	case CHECK_WRONG:
		metrics_count_login(METRICS_LOGIN_SECOND_FACTOR, METRICS_LOGIN_BAD_CREDENTIALS);
		goto done; /* stays counted */
	default:
		limiter_release(r->app->limiter, acct);
		limiter_release(r->app->limiter, key1);
		goto done;
	}
	/* right: the answer does not count against the account */
	limiter_release(r->app->limiter, acct);
	if ((rc = mfa_pending_take(&env, &p)) != 1) {
		if (rc < 0)
			api_respond_busy(r, NULL);
		else
			respond_expired(r); /* a concurrent request completed it first */
		goto done;
	}
	if (authn_login(r, &u) != 0) {
		metrics_count_login(METRICS_LOGIN_SECOND_FACTOR, METRICS_LOGIN_UNAVAILABLE);
		api_respond_busy(r, NULL);
		goto done;
	}
	metrics_count_login(METRICS_LOGIN_SECOND_FACTOR, METRICS_LOGIN_SUCCESS);
	if (mfa_pending_clear_cookie(&env, &out) == 0)
		authn_apply(r, &out);
	snprintf(how, sizeof(how), "%s+%s", p.method, method);
	audit_log(r, "login.succeeded", u.id, json_pack("{s:s}", "method", how));
	if (strcmp(method, "recovery_code") == 0) {
		struct accounts_mfa_state s;

		audit_log(r, "mfa.recovery_code_used", u.id,
		    json_pack("{s:i}", "unused",
		        accounts_mfa_state(st, u.id, &s) == 0 ? s.recovery_unused : -1));
		if (mail_queue(st, &r->app->cfg, MAIL_MFA_RECOVERY_USED, u.email, NULL) == 0)
			mailer_wake(r->app->mailer);
	}
	answer = json_pack("{s:s}", "detail", "Success");
	if (p.next[0])
		json_object_set_new(answer, "next", json_string(p.next));
	respond_json(r, 200, answer);
done:
	api_body_free(body);
}

/* ---------- re-authentication by a second factor ---------- */

int
api_mfa_reauthenticate(struct request *r, json_t *body)
{
	char key1[48], acct[48];
	const char *method = "";

	snprintf(key1, sizeof(key1), "mfa:session:%lld", (long long)r->caller->session.id);
	if (answer_reserve(r, key1, r->caller->user.id, acct, sizeof(acct)) != 0)
		return -1;
	switch (check_answer(r, body, &r->caller->user, MFA_PURPOSE_REAUTH, r->caller->session.key_hash,
	    false, &method)) {
	case CHECK_OK:
		break;
	case CHECK_WRONG:
		audit_log(r, "auth.reauthentication_failed", r->caller->user.id,
		    json_pack("{s:s}", "method", method));
		return -1;
	default:
		limiter_release(r->app->limiter, acct);
		limiter_release(r->app->limiter, key1);
		return -1;
	}
	limiter_release(r->app->limiter, acct);
	limiter_release(r->app->limiter, key1);
	if (authn_mark_reauth(r) != 0) {
		api_respond_busy(r, NULL);
		return -1;
	}
	audit_log(r, "auth.reauthenticated", r->caller->user.id, json_pack("{s:s}", "method", method));
	respond_json(r, 200, json_pack("{s:s}", "detail", "Identity confirmed."));
	return 0;
}

void
api_reauth_webauthn_options(struct request *r)
{
	json_t *opts;

	if (!need_session(r))
		return;
	opts = assertion_options(r, r->caller->user.id, MFA_PURPOSE_REAUTH, r->caller->session.key_hash);
	if (opts)
		respond_json(r, 200, opts);
}

/* ---------- the owner's factors ---------- */

void
api_mfa_status(struct request *r)
{
	struct accounts_mfa_state s;
	json_t *list = json_array(), *totp;
	char since[32];

	if (!need_session(r))
		goto fail;
	if (accounts_mfa_state(r->app->store, r->caller->user.id, &s) != 0 ||
	    store_webauthn_list(r->app->store, r->caller->user.id, add_passkey, list) != 0) {
		api_respond_busy(r, NULL);
		goto fail;
	}
	iso8601(s.totp_since, since, sizeof(since));
	totp = s.totp ? json_pack("{s:b, s:s}", "enabled", 1, "created", since) :
	                json_pack("{s:b}", "enabled", 0);
	respond_json(r, 200,
	    json_pack("{s:o, s:{s:i, s:i}, s:o, s:b, s:b}", "totp", totp, "recovery_codes", "total",
	        s.recovery_total, "unused", s.recovery_unused, "webauthn", list, "required",
	        mfa_policy_covers(&r->app->cfg, &r->caller->user), "reauth_fresh", authn_reauth_fresh(r)));
	return;
fail:
	json_decref(list);
}

void
api_mfa_totp_setup(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	unsigned char secret[TOTP_SECRET_LEN];
	char sealed[TOTP_SEALED_MAX], b32[TOTP_BASE32_MAX];
	char *uri = NULL;
	struct store_totp t;
	int rc;

	if (!need_session(r) || !api_need_fresh(r))
		return;
	rc = store_totp_get(r->app->store, r->caller->user.id, &t);
	if (rc != 0 && rc != STORE_NOTFOUND) {
		api_respond_busy(r, NULL);
		return;
	}
	if (rc == 0 && t.confirmed)
		goto exists;
	totp_new_secret(secret);
	if (totp_seal(cfg->secret_key, secret, sizeof(secret), sealed, sizeof(sealed)) != 0 ||
	    totp_base32(secret, sizeof(secret), b32, sizeof(b32)) != 0 ||
	    (uri = totp_otpauth_uri(cfg->mfa_issuer[0] ? cfg->mfa_issuer : cfg->product_name,
	         r->caller->user.email, secret, sizeof(secret))) == NULL) {
		api_respond_busy(r, NULL);
		goto done;
	}
	rc = store_totp_put_pending(r->app->store, r->caller->user.id, sealed, now_unix());
	if (rc == STORE_CONFLICT)
		goto exists;
	if (rc != 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	respond_json(r, 200,
	    json_pack("{s:s, s:s, s:s, s:i, s:i}", "secret", b32, "otpauth_url", uri, "algorithm", "SHA1",
	        "digits", TOTP_DIGITS, "period", TOTP_PERIOD));
	goto done;
exists:
	respond_json(r, 409,
	    json_pack("{s:s, s:s}", "detail", "An authenticator app is already set up. Remove it first.",
	        "code", "mfa_totp_exists"));
done:
	if (uri) {
		sodium_memzero(uri, strlen(uri));
		free(uri);
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b32, sizeof(b32));
	sodium_memzero(&t, sizeof(t));
}

/* Run change (an addition or removal of a factor, already validated) with
 * its lifecycle in one transaction; answer 503 and return -1 on failure. */
static int
commit_change(struct request *r, int (*change)(struct request *, void *), void *arg, const char *event,
    json_t *detail, int mail, char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT], bool *made)
{
	struct store *st = r->app->store;
	struct accounts_actor a;
	int rc;

	api_actor(r, &a);
	if (store_begin(st) != 0) {
		json_decref(detail);
		api_respond_busy(r, NULL);
		return -1;
	}
	if ((rc = change(r, arg)) != 0) {
		json_decref(detail);
		store_rollback(st);
		return -1; /* change answered */
	}
	if (accounts_mfa_changed(st, &r->app->cfg, &r->caller->user, &a, event, detail, mail, codes, made) !=
	        0 ||
	    store_commit(st) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return -1;
	}
	mailer_wake(r->app->mailer);
	return 0;
}

struct totp_confirm {
	int64_t step;
};

static int
totp_confirm_change(struct request *r, void *arg)
{
	struct totp_confirm *c = arg;
	int64_t now = now_unix();
	int rc = store_totp_confirm(r->app->store, r->caller->user.id, c->step, now - MFA_SETUP_TTL, now);

	if (rc == STORE_NOTFOUND)
		respond_setup_missing(r);
	else if (rc != 0)
		api_respond_busy(r, NULL);
	return rc;
}

void
api_mfa_totp_confirm(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	json_t *body = NULL, *answer;
	struct store_totp t = { 0 };
	struct totp_confirm c = { 0 };
	unsigned char secret[TOTP_SECRET_LEN * 2];
	char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT], key1[48], acct[48];
	const char *code;
	size_t len = 0;
	bool made = false;
	int rc;

	if (!need_session(r))
		return;
	if (request_json(r, &body) != 0)
		goto done;
	rc = store_totp_get(r->app->store, r->caller->user.id, &t);
	if (rc != 0 && rc != STORE_NOTFOUND) {
		api_respond_busy(r, NULL);
		goto done;
	}
	if (rc == STORE_NOTFOUND || t.confirmed || t.created_at + MFA_SETUP_TTL < now_unix()) {
		respond_setup_missing(r);
		goto done;
	}
	snprintf(key1, sizeof(key1), "mfa:session:%lld", (long long)r->caller->session.id);
	if (answer_reserve(r, key1, r->caller->user.id, acct, sizeof(acct)) != 0)
		goto done;
	code = json_string_value(json_object_get(body, "code"));
	if (totp_open(cfg->secret_key, t.secret, secret, &len) != 0) {
		limiter_release(r->app->limiter, acct);
		limiter_release(r->app->limiter, key1);
		respond_setup_missing(r);
		goto done;
	}
	if (code == NULL || (c.step = totp_check(secret, len, code, now_unix(), 0)) <= 0) {
		audit_log(r, "mfa.failed", r->caller->user.id,
		    json_pack("{s:s, s:s}", "method", "totp", "reason", "setup"));
		respond_field(r, "code", WRONG_TOTP);
		goto done;
	}
	limiter_release(r->app->limiter, acct);
	limiter_release(r->app->limiter, key1);
	if (commit_change(r, totp_confirm_change, &c, "mfa.totp_enabled", NULL, MAIL_MFA_TOTP_ADDED, codes,
	        &made) != 0)
		goto done;
	answer = json_pack("{s:s}", "detail", "Authenticator app enabled.");
	if (made)
		json_object_set_new(answer, "recovery_codes", codes_json(codes));
	respond_json(r, 200, answer);
done:
	sodium_memzero(codes, sizeof(codes));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&t, sizeof(t));
	api_body_free(body);
}

static int
totp_delete_change(struct request *r, void *arg)
{
	(void)arg;
	return api_store_answer(r, store_totp_delete(r->app->store, r->caller->user.id));
}

void
api_mfa_totp_delete(struct request *r)
{
	struct store_totp t;
	int rc;

	if (!need_session(r) || !api_need_fresh(r))
		return;
	/* only a confirmed one is a factor; an abandoned set-up is not found */
	rc = store_totp_get(r->app->store, r->caller->user.id, &t);
	if (rc == 0 && !t.confirmed)
		rc = STORE_NOTFOUND;
	sodium_memzero(&t, sizeof(t));
	if (api_store_answer(r, rc) != 0)
		return;
	if (commit_change(r, totp_delete_change, NULL, "mfa.totp_removed", NULL, MAIL_MFA_TOTP_REMOVED, NULL,
	        NULL) == 0)
		respond_json(r, 200, json_pack("{s:s}", "detail", "Authenticator app removed."));
}

void
api_mfa_recovery_regenerate(struct request *r)
{
	struct store *st = r->app->store;
	struct accounts_mfa_state s;
	char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT];

	if (!need_session(r) || !api_need_fresh(r))
		return;
	if (accounts_mfa_state(st, r->caller->user.id, &s) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (!s.totp && s.webauthn == 0) {
		respond_json(r, 409,
		    json_pack("{s:s, s:s}", "detail", "Set up an authenticator app or a passkey first.",
		        "code", "mfa_not_enabled"));
		return;
	}
	if (store_begin(st) != 0)
		goto busy;
	if (accounts_mfa_new_recovery(st, &r->app->cfg, r->caller->user.id, codes) != 0 ||
	    mail_queue(st, &r->app->cfg, MAIL_MFA_RECOVERY_GENERATED, r->caller->user.email, NULL) != 0 ||
	    store_commit(st) != 0) {
		store_rollback(st);
		goto busy;
	}
	mailer_wake(r->app->mailer);
	audit_log(r, "mfa.recovery_codes_generated", r->caller->user.id, NULL);
	respond_json(r, 200, json_pack("{s:o}", "recovery_codes", codes_json(codes)));
	sodium_memzero(codes, sizeof(codes));
	return;
busy:
	sodium_memzero(codes, sizeof(codes));
	api_respond_busy(r, NULL);
}

void
api_mfa_webauthn_register_options(struct request *r)
{
	struct auth_env env = authn_env(r);
	const struct store_user *u = &r->caller->user;
	struct webauthn_rp rp;
	char host[256], challenge[MFA_CHALLENGE_MAX], handle[MFA_USER_HANDLE_MAX],
	    display[STORE_NAME_MAX * 8 + 2];
	json_t *exclude = json_array();

	if (!need_session(r) || !api_need_fresh(r))
		goto fail;
	api_webauthn_rp(r, &rp, host, sizeof(host));
	if (store_webauthn_list(r->app->store, u->id, add_descriptor, exclude) != 0 ||
	    mfa_challenge_new(&env, MFA_PURPOSE_REGISTER, u->id, r->caller->session.key_hash, now_unix(),
	        challenge, sizeof(challenge)) != 0) {
		api_respond_busy(r, NULL);
		goto fail;
	}
	mfa_user_handle(&r->app->cfg, u->id, handle, sizeof(handle));
	snprintf(display, sizeof(display), "%s%s%s", u->first_name,
	    u->first_name[0] && u->last_name[0] ? " " : "", u->last_name);
	respond_json(r, 200,
	    json_pack("{s:{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], "
	              "s:i, s:s, "
	              "s:{s:s, s:b, s:s}, s:o}}",
	        "publicKey", "challenge", challenge, "rp", "id", rp.rp_id, "name", r->app->cfg.product_name,
	        "user", "id", handle, "name", u->email, "displayName", display[0] ? display : u->email,
	        "pubKeyCredParams", "type", "public-key", "alg", -7, "type", "public-key", "alg", -8, "type",
	        "public-key", "alg", -257, "timeout", MFA_CHALLENGE_TTL * 1000, "attestation", "none",
	        "authenticatorSelection", "residentKey", "preferred", "requireResidentKey", 0,
	        "userVerification", "preferred", "excludeCredentials", exclude));
	return;
fail:
	json_decref(exclude);
}

struct passkey_add {
	struct store_webauthn w;
};

static int
passkey_add_change(struct request *r, void *arg)
{
	struct passkey_add *a = arg;
	int rc = store_webauthn_add(r->app->store, &a->w);

	if (rc == STORE_CONFLICT)
		respond_error(r, 409, "This passkey is already registered.");
	else if (rc != 0)
		api_respond_busy(r, NULL);
	return rc;
}

/* A passkey name from body: 0 with out set ("Passkey" when absent), or -1 after answering 400. */
static int
passkey_name(struct request *r, json_t *body, bool required, char *out, size_t outsz)
{
	json_t *v = json_object_get(body, "name");
	const char *s;
	size_t chars = 0;

	if (v == NULL || json_is_null(v)) {
		if (required) {
			respond_field(r, "name", "This field is required.");
			return -1;
		}
		strlcpy_ok(out, "Passkey", outsz);
		return 0;
	}
	if (!json_is_string(v)) {
		respond_field(r, "name", "Not a valid string.");
		return -1;
	}
	s = json_string_value(v);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			respond_field(r, "name", "The name cannot contain control characters.");
			return -1;
		}
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	while (*s == ' ')
		s++;
	if (*s == '\0') {
		respond_field(r, "name", "This field may not be blank.");
		return -1;
	}
	if (chars > PASSKEY_NAME_MAX || strlcpy_ok(out, s, outsz) != 0) {
		respond_field(r, "name", "Ensure this field has no more than 64 characters.");
		return -1;
	}
	return 0;
}

void
api_mfa_webauthn_register(struct request *r)
{
	struct auth_env env = authn_env(r);
	json_t *body = NULL, *cred, *answer;
	struct passkey_add a = { 0 };
	struct webauthn_rp rp;
	struct webauthn_credential c;
	char host[256], challenge[MFA_CHALLENGE_MAX], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT];
	const char *why = NULL;
	bool made = false;
	int rc;

	if (!need_session(r) || !api_need_fresh(r))
		return;
	if (request_json(r, &body) != 0)
		goto done;
	if (passkey_name(r, body, false, a.w.name, sizeof(a.w.name)) != 0)
		goto done;
	cred = json_object_get(body, "credential");
	if (!json_is_object(cred) ||
	    webauthn_client_challenge(cred, challenge, sizeof(challenge), &why) != 0) {
		respond_field(r, "credential", why ? why : "Malformed credential.");
		goto done;
	}
	rc = mfa_challenge_take(&env, challenge, MFA_PURPOSE_REGISTER, r->caller->session.key_hash,
	    r->caller->user.id, now_unix());
	if (rc != 1) {
		if (rc < 0)
			api_respond_busy(r, NULL);
		else
			respond_field(r, "credential", BAD_CHALLENGE);
		goto done;
	}
	api_webauthn_rp(r, &rp, host, sizeof(host));
	if (webauthn_verify_registration(&rp, cred, challenge, false, &c, &why) != 0) {
		audit_log(r, "mfa.failed", r->caller->user.id,
		    json_pack("{s:s, s:s}", "method", "webauthn", "reason", "registration"));
		respond_field(r, "credential", why ? why : "Malformed credential.");
		goto done;
	}
	a.w.user_id = r->caller->user.id;
	strlcpy_ok(a.w.cred_id, c.cred_id, sizeof(a.w.cred_id));
	strlcpy_ok(a.w.public_key, c.public_key, sizeof(a.w.public_key));
	strlcpy_ok(a.w.transports, c.transports, sizeof(a.w.transports));
	a.w.alg = c.alg;
	a.w.sign_count = c.sign_count;
	a.w.created_at = now_unix();
	if (commit_change(r, passkey_add_change, &a, "mfa.webauthn_added",
	        json_pack("{s:s}", "name", a.w.name), MAIL_MFA_PASSKEY_ADDED, codes, &made) != 0)
		goto done;
	answer = passkey_json(&a.w);
	if (made)
		json_object_set_new(answer, "recovery_codes", codes_json(codes));
	respond_json(r, 201, answer);
done:
	sodium_memzero(codes, sizeof(codes));
	api_body_free(body);
}

void
api_mfa_webauthn_rename(struct request *r)
{
	json_t *body = NULL;
	struct store_webauthn w;
	char name[257];

	if (!need_session(r))
		return;
	if (request_json(r, &body) != 0 || passkey_name(r, body, true, name, sizeof(name)) != 0)
		goto done;
	if (api_store_answer(r, store_webauthn_rename(r->app->store, r->ids[0], r->caller->user.id, name)) !=
	        0 ||
	    api_store_answer(r, store_webauthn_get_id(r->app->store, r->ids[0], r->caller->user.id, &w)) != 0)
		goto done;
	audit_log(r, "mfa.webauthn_renamed", r->caller->user.id,
	    json_pack("{s:I, s:s}", "credential", (json_int_t)w.id, "name", w.name));
	respond_json(r, 200, passkey_json(&w));
done:
	api_body_free(body);
}

static int
passkey_delete_change(struct request *r, void *arg)
{
	(void)arg;
	return api_store_answer(r, store_webauthn_delete(r->app->store, r->ids[0], r->caller->user.id));
}

void
api_mfa_webauthn_delete(struct request *r)
{
	if (!need_session(r) || !api_need_fresh(r))
		return;
	if (commit_change(r, passkey_delete_change, NULL, "mfa.webauthn_removed",
	        json_pack("{s:I}", "credential", (json_int_t)r->ids[0]), MAIL_MFA_PASSKEY_REMOVED, NULL,
	        NULL) == 0)
		respond_json(r, 200, json_pack("{s:s}", "detail", "Passkey removed."));
}
