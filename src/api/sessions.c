/*
 * api/sessions — a signed-in user's own sessions and API tokens (docs/design.md §2,
 * issue 6).  Revocation is immediate: the row goes, so the next request with
 * that cookie or key is anonymous.  Token keys are shown once, at creation,
 * which needs the current password.  Nobody reaches another user's rows: every
 * query is scoped to r->caller->user.id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "accounts/audit.h"
#include "http/http.h"
#include "auth/caller.h"
#include "auth/password.h"
#include "http/authn.h"
#include "auth/throttle.h"
#include "auth/token.h"

struct session_list {
	json_t *list;
	int64_t current;
};

static void
add_session(void *ctx, const struct store_session_info *s)
{
	struct session_list *c = ctx;

	json_array_append_new(c->list, session_info_json(s, c->current));
}

void
api_sessions_list(struct request *r)
{
	struct session_list c = { json_array(), r->caller->kind == AUTH_SESSION ? r->caller->session.id : 0 };

	if (store_session_list(r->app->store, r->caller->user.id, add_session, &c) != 0) {
		json_decref(c.list);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, c.list);
}

void
api_session_delete(struct request *r)
{
	struct store *st = r->app->store;
	int64_t id = r->ids[0];
	int rc;

	/* the delete, its audit row and its webhook messages land together */
	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if ((rc = store_session_delete_id(st, id, r->caller->user.id)) == 0) {
		audit_log(r, "session.revoked", r->caller->user.id,
		    json_pack("{s:I}", "session_id", (json_int_t)id));
		rc = store_commit(st);
	}
	if (rc != 0) {
		store_rollback(st);
		api_store_answer(r, rc);
		return;
	}
	if (r->caller->kind == AUTH_SESSION && id == r->caller->session.id)
		authn_logout(r); /* this browser's own: clear its cookie too */
	respond_empty(r, 204);
}

void
api_sessions_revoke_others(struct request *r)
{
	struct store *st = r->app->store;
	int64_t keep = r->caller->kind == AUTH_SESSION ? r->caller->session.id : 0;

	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (store_session_delete_user(st, r->caller->user.id, keep) < 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	audit_log(r, "session.revoked_others", r->caller->user.id, NULL);
	if (store_commit(st) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, json_pack("{s:s}", "detail", "Signed out of all other sessions."));
}

static void
add_token(void *ctx, const struct store_token *t)
{
	json_array_append_new(ctx, token_json(t));
}

void
api_tokens_list(struct request *r)
{
	json_t *list = json_array();

	if (store_token_list(r->app->store, r->caller->user.id, add_token, list) != 0) {
		json_decref(list);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, list);
}

/* Creating a token re-authenticates: the password is checked on the hash
 * pool (api_pwjob); this is what the second phase needs besides. */
struct token_req {
	char name[STORE_NAME_MAX * 4 + 1];
	long days;
};

/* Make the token, audit it (checked: how the caller proved it's them) and
 * answer 201 with its key, shown this once. */
static void
token_respond_new(struct request *r, const char *name, long days, const char *checked)
{
	struct store_token t;
	char key[TOKEN_KEY_LEN + 1];
	json_t *out;

	if (store_begin(r->app->store) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (token_create(r->app->store, r->caller->user.id, name, days, key, &t) != 0) {
		store_rollback(r->app->store);
		api_respond_busy(r, NULL);
		return;
	}
	audit_log(r, "token.created", r->caller->user.id,
	    json_pack("{s:I, s:s, s:s}", "token_id", (json_int_t)t.id, "name", t.name, "checked", checked));
	if (store_commit(r->app->store) != 0) {
		store_rollback(r->app->store);
		sodium_memzero(key, sizeof(key));
		api_respond_busy(r, NULL);
		return;
	}
	out = token_json(&t);
	json_object_set_new(out, "key", json_string(key));
	sodium_memzero(key, sizeof(key));
	respond_json(r, 201, out);
}

void
api_tokens_create(struct request *r)
{
	json_t *body = NULL, *errors = json_object(), *days;
	struct api_pwjob *j;
	struct token_req *t;
	const char *name, *pw;
	struct store_user u;
	size_t chars = 0;
	bool skip_pw;

	if (request_json(r, &body) != 0)
		goto done;
	name = api_string_field(body, "name", errors);
	/* with a second factor, a recent check of it (or of the password, sign-in
	 * included) on this session stands in for the password: an account that
	 * signs in by provider or passkey alone has none to give */
	skip_pw = json_object_get(body, "password") == NULL && r->caller->kind == AUTH_SESSION &&
	    r->caller->user.mfa_enabled && authn_reauth_fresh(r);
	pw = skip_pw ? NULL : api_string_field(body, "password", errors);
	if (name) {
		for (const char *p = name; *p; p++)
			if (((unsigned char)*p & 0xc0) != 0x80)
				chars++;
		if (chars > STORE_NAME_MAX)
			json_object_set_new(errors, "name",
			    json_pack("[s]", "Ensure this field has no more than 150 characters."));
	}
	days = json_object_get(body, "expires_in_days");
	if (days && !json_is_null(days) &&
	    (!json_is_integer(days) || json_integer_value(days) < 1 || json_integer_value(days) > 3650))
		json_object_set_new(errors, "expires_in_days",
		    json_pack("[s]", "Ensure this value is a whole number from 1 to 3650."));
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (skip_pw) {
		token_respond_new(r, name, json_is_integer(days) ? (long)json_integer_value(days) : 0,
		    "recent_check");
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
	j = api_pwjob_new(r, sizeof(*t));
	t = j->extra;
	strlcpy_ok(t->name, name, sizeof(t->name));
	t->days = json_is_integer(days) ? (long)json_integer_value(days) : 0;
	api_pwjob_verify(j, u.password, pw, json_string_length(json_object_get(body, "password")));
	sodium_memzero(u.password, sizeof(u.password));
	if (api_pwjob_defer(r, j, NULL) != 0)
		api_reauth_cancel(r);
done:
	json_decref(errors);
	api_body_free(body); /* wipes the passwords it holds */
}

void
api_tokens_create_finish(struct request *r)
{
	struct api_pwjob *j = r->state;
	struct token_req *req = j->extra;

	if (!j->verified) {
		api_reauth_failed(r); /* the attempt stays counted */
		respond_json(r, 400, json_pack("{s:[s]}", "password", "Incorrect password."));
		return;
	}
	api_reauth_succeeded(r);
	token_respond_new(r, req->name, req->days, "password");
}

void
api_token_delete(struct request *r)
{
	struct store *st = r->app->store;
	int64_t id = r->ids[0];
	int rc;

	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if ((rc = store_token_delete_id(st, id, r->caller->user.id)) == 0) {
		audit_log(r, "token.revoked", r->caller->user.id,
		    json_pack("{s:I}", "token_id", (json_int_t)id));
		rc = store_commit(st);
	}
	if (rc != 0) {
		store_rollback(st);
		api_store_answer(r, rc);
		return;
	}
	respond_empty(r, 204);
}
