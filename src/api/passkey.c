/*
 * api/passkey — sign-in with a passkey and no password
 * (docs/mfa-contract.md): the browser asks for a challenge bound to it by
 * the HttpOnly gatehouse_passkey cookie, its authenticator answers with a
 * discoverable credential and user verification, and a verified assertion
 * of a registered credential signs its user in: the passkey is both
 * factors.  Attempts count per client IP and per credential like password
 * logins.  Must never log a challenge or a credential's key.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "auth/caller.h"
#include "auth/mfa.h"
#include "auth/throttle.h"
#include "auth/webauthn.h"
#include "http/authn.h"
#include "http/http.h"
#include "util.h"
#include "metrics.h"

#define PASSKEY_IP_LIMIT 30 /* options per client IP per minute */
#define BAD_CHALLENGE    "The challenge is unknown, expired or was already used. Try again."
#define UNKNOWN          "This passkey is not registered here."

void
api_passkey_options(struct request *r)
{
	struct auth_env env = authn_env(r);
	struct auth_in in;
	struct auth_cookies out = { 0 };
	struct webauthn_rp rp;
	char key[112], bind[65], host[256], challenge[MFA_CHALLENGE_MAX];
	long wait = 0;
	int rc;

	api_ip_key(r, "passkey:options", key, sizeof(key));
	rc = limiter_reserve(r->app->limiter, key, PASSKEY_IP_LIMIT, 60, now_unix(), &wait);
	if (rc != 0) {
		if (rc < 0)
			api_respond_busy(r, NULL);
		else
			api_respond_throttled(r, wait);
		return;
	}
	authn_input_mfa(r, &in);
	if (mfa_browser_bind(&env, &in, bind, &out) != 0 ||
	    mfa_challenge_new(&env, MFA_PURPOSE_PASSKEY, 0, bind, in.now, challenge, sizeof(challenge)) !=
	        0) {
		auth_cookies_wipe(&out);
		api_respond_busy(r, NULL);
		return;
	}
	authn_apply(r, &out);
	api_webauthn_rp(r, &rp, host, sizeof(host));
	respond_json(r, 200,
	    json_pack("{s:{s:s, s:s, s:i, s:s, s:[]}}", "publicKey", "challenge", challenge, "rpId", rp.rp_id,
	        "timeout", MFA_CHALLENGE_TTL * 1000, "userVerification", "required", "allowCredentials"));
}

static void
refuse(struct request *r, const char *why, int64_t user_id, const char *reason)
{
	metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_BAD_CREDENTIALS);
	audit_log(r, "login.failed", user_id, json_pack("{s:s, s:s}", "reason", reason, "method", "passkey"));
	respond_json(r, 400, json_pack("{s:[s]}", "credential", why));
}

void
api_passkey_login(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	struct store *st = r->app->store;
	struct auth_env env = authn_env(r);
	struct auth_in in;
	struct webauthn_rp rp;
	struct webauthn_assertion as;
	struct store_webauthn w;
	struct store_user u;
	json_t *body = NULL, *cred;
	char bind[65], host[256], challenge[MFA_CHALLENGE_MAX], cred_id[WEBAUTHN_B64_MAX];
	char ip_key[112], cred_key[96], cred_hash[65], handle[MFA_USER_HANDLE_MAX];
	const char *why = NULL;
	bool regressed = false;
	int rc;

	if (request_json(r, &body) != 0)
		goto done;
	cred = json_object_get(body, "credential");
	if (!json_is_object(cred) ||
	    webauthn_client_challenge(cred, challenge, sizeof(challenge), &why) != 0 ||
	    webauthn_credential_id(cred, cred_id, sizeof(cred_id)) != 0) {
		respond_json(r, 400, json_pack("{s:[s]}", "credential", why ? why : "Malformed credential."));
		goto done;
	}
	/* counted before anything is checked, like a password login */
	api_ip_key(r, "login", ip_key, sizeof(ip_key));
	sha256_hex(cred_id, strlen(cred_id), cred_hash);
	snprintf(cred_key, sizeof(cred_key), "passkey:cred:%s", cred_hash);
	if (api_reserve_two(r, ip_key, cfg->login_ip_limit, cred_key, cfg->login_account_limit,
	        cfg->login_window) != 0) {
		metrics_count_login(METRICS_LOGIN_PASSKEY,
		    r->status == 429 ? METRICS_LOGIN_THROTTLED : METRICS_LOGIN_UNAVAILABLE);
		goto done;
	}
	authn_input_mfa(r, &in);
	if (!mfa_browser_hash(&in, bind)) {
		refuse(r, BAD_CHALLENGE, 0, "challenge");
		goto done;
	}
	if ((rc = mfa_challenge_take(&env, challenge, MFA_PURPOSE_PASSKEY, bind, 0, in.now)) != 1) {
		if (rc < 0)
			goto busy;
		refuse(r, BAD_CHALLENGE, 0, "challenge");
		goto done;
	}
	if ((rc = store_webauthn_get(st, cred_id, &w)) != 0) {
		if (rc < 0)
			goto busy;
		refuse(r, UNKNOWN, 0, "unknown_credential");
		goto done;
	}
	if ((rc = store_user_by_id(st, w.user_id, &u)) != 0) {
		if (rc < 0)
			goto busy;
		refuse(r, UNKNOWN, 0, "unknown_credential");
		goto done;
	}
	sodium_memzero(u.password, sizeof(u.password));
	api_webauthn_rp(r, &rp, host, sizeof(host));
	if (webauthn_verify_assertion(&rp, cred, challenge, true, w.alg, w.public_key, (uint32_t)w.sign_count,
	        &as, &regressed, &why) != 0) {
		if (regressed)
			audit_log(r, "mfa.counter_regressed", u.id,
			    json_pack("{s:I, s:I}", "credential", (json_int_t)w.id, "stored_count",
			        (json_int_t)w.sign_count));
		refuse(r, why ? why : "The signature is not valid.", u.id,
		    regressed ? "counter_regressed" : "assertion");
		goto done;
	}
	/* a user handle, when the authenticator gives one, must be this user's */
	mfa_user_handle(cfg, u.id, handle, sizeof(handle));
	if (as.user_handle[0] &&
	    (strlen(as.user_handle) != strlen(handle) ||
	        sodium_memcmp(as.user_handle, handle, strlen(handle)) != 0)) {
		refuse(r, UNKNOWN, u.id, "user_handle");
		goto done;
	}
	if ((rc = store_webauthn_used(st, w.id, w.sign_count, as.sign_count, in.now)) != 0) {
		if (rc < 0)
			goto busy;
		refuse(r, "The security key's signature counter went backwards.", u.id, "counter_race");
		goto done;
	}
	if (!u.is_active) {
		metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_INACTIVE);
		audit_log(r, "login.failed", u.id,
		    json_pack("{s:s, s:s}", "reason", "inactive", "method", "passkey"));
		respond_error(r, 400, "Invalid credentials");
		goto done;
	}
	if (!u.email_verified && cfg->email_verification == EMAIL_VERIFICATION_MANDATORY) {
		metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_UNVERIFIED);
		audit_log(r, "login.failed", u.id,
		    json_pack("{s:s, s:s}", "reason", "unverified", "method", "passkey"));
		respond_error(r, 400, "E-mail is not verified.");
		goto done;
	}
	/* the right passkey: this attempt does not count against the credential */
	limiter_release(r->app->limiter, cred_key);
	if (authn_login(r, &u) != 0)
		goto busy;
	metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_SUCCESS);
	audit_log(r, "login.succeeded", u.id, json_pack("{s:s}", "method", "passkey"));
	respond_json(r, 200, json_pack("{s:s}", "detail", "Success"));
	goto done;
busy:
	metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_UNAVAILABLE);
	api_respond_busy(r, NULL);
done:
	api_body_free(body);
}
