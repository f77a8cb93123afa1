/*
 * api/reauth — POST /api/auth/reauthenticate/ {password}: the signed-in
 * person proves their password again, and their session records when.  The
 * admin actions that grant power or lock someone out ask for that to be
 * recent (session_reauth_fresh).  The password is checked on the hash pool
 * and counts against the account like a login (reserved by
 * api_reauth_throttled, given back by api_reauth_succeeded or _cancel).  A token cannot re-authenticate: it
 * has no session to mark.  Never logs or keeps the password.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "accounts/audit.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "auth/password.h"
#include "http/authn.h"

#define TOKEN_CANNOT "Re-authentication needs a signed-in session; an API token cannot re-authenticate."

void
api_reauthenticate(struct request *r)
{
	json_t *body = NULL, *errors = json_object();
	struct api_pwjob *j;
	struct store_user u;
	const char *pw;

	if (r->caller->kind != AUTH_SESSION) {
		respond_error(r, 403, TOKEN_CANNOT);
		goto done;
	}
	if (request_json(r, &body) != 0)
		goto done;
	/* a second factor proves it's you as well as the password does */
	if (json_object_get(body, "method") != NULL && json_object_get(body, "password") == NULL) {
		api_mfa_reauthenticate(r, body);
		goto done;
	}
	if ((pw = api_string_field(body, "password", errors)) == NULL) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	/* counted now, before the hash: concurrent guesses cannot all pass */
	if (api_reauth_throttled(r))
		goto done;
	if (store_user_by_id(r->app->store, r->caller->user.id, &u) != 0) {
		api_reauth_cancel(r);
		api_respond_busy(r, NULL);
		goto done;
	}
	j = api_pwjob_new(r, 0);
	api_pwjob_verify(j, u.password, pw, json_string_length(json_object_get(body, "password")));
	sodium_memzero(u.password, sizeof(u.password));
	if (api_pwjob_defer(r, j, NULL) != 0)
		api_reauth_cancel(r);
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

void
api_reauthenticate_finish(struct request *r)
{
	struct api_pwjob *j = r->state;

	if (!j->verified) {
		api_reauth_failed(r); /* the attempt stays counted */
		audit_log(r, "auth.reauthentication_failed", r->caller->user.id, NULL);
		respond_json(r, 400, json_pack("{s:[s]}", "password", "Incorrect password."));
		return;
	}
	api_reauth_succeeded(r);
	if (authn_mark_reauth(r) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	log_msg(LOG_INFO, "user %lld re-authenticated", (long long)r->caller->user.id);
	audit_log(r, "auth.reauthenticated", r->caller->user.id, NULL);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Password confirmed."));
}
