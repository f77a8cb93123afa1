/*
 * api/admin — the admin area's API (staff only; the router answers 401/403
 * before any of this runs).  Admins create accounts (without a password:
 * the person gets a reset mail), see and end sessions and tokens, switch
 * flags, and trigger reset mails; they never see or set a password.  Only a
 * superuser grants or removes staff and superuser status, and only a
 * superuser touches a superuser's account.  Creating an account, granting
 * staff or superuser status and deactivating someone also need the actor's
 * password checked on this session within reauth_max_age (api/reauth.c); a
 * token never qualifies.  Every change is audited with who did it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "accounts/accounts.h"
#include "accounts/audit.h"
#include "app.h"
#include "http/http.h"
#include "auth/caller.h"
#include "mail/mailer.h"
#include "http/authn.h"
#include "auth/token.h"
#include "accounts/user.h"
#include "accounts/mfa.h"

static json_t *
admin_user_json(const struct store_user *u)
{
	json_t *j = user_profile_json(u);

	json_object_set_new(j, "is_active", json_boolean(u->is_active));
	return j;
}

static void
add_user(void *ctx, const struct store_user *u)
{
	json_array_append_new(ctx, admin_user_json(u));
}

void
api_admin_users(struct request *r)
{
	const char *search = request_query(r, "search");
	char norm[STORE_EMAIL_MAX + 1] = "";
	json_t *results = json_array();
	int64_t page, total = 0;
	int size;

	if (api_page(r, &page, &size) != 0) {
		json_decref(results);
		return;
	}
	if (search && user_normalize_email(search, norm, sizeof(norm)) != 0) {
		/* not a whole address (that is found by its normal form, however it
		 * was typed): emails are stored lower-case, search the same way */
		size_t i;
		for (i = 0; search[i] && i < sizeof(norm) - 1; i++)
			norm[i] = (char)((search[i] >= 'A' && search[i] <= 'Z') ? search[i] + 32 : search[i]);
		norm[i] = '\0';
	}
	if (store_user_list(r->app->store, norm[0] ? norm : NULL, (page - 1) * size, size, add_user, results,
	        &total) != 0) {
		json_decref(results);
		api_respond_busy(r, NULL);
		return;
	}
	if (page > 1 && (page - 1) * size >= total) {
		json_decref(results);
		respond_error(r, 404, "Invalid page.");
		return;
	}
	respond_json(r, 200, api_paginated(r, page, size, total, results));
}

static int bool_field(json_t *body, const char *name, bool *out, json_t *errors, bool *seen);

/* POST /api/admin/users/ {email, first_name?, last_name?, is_staff?, is_superuser?}:
 * an active account with an unusable password and its address marked
 * verified (the admin vouches for it); the person gets the password-reset
 * mail and sets their own password.  Needs a fresh re-authentication, like
 * granting staff; only a superuser creates staff or superusers. */
void
api_admin_user_create(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object();
	struct accounts_new_user n = { .origin = ACCOUNTS_ADMIN, .email_verified = true };
	struct accounts_actor a;
	struct store_user u;
	bool seen = false;
	int rc;

	if (!api_need_fresh(r))
		goto done;
	if (request_json(r, &body) != 0)
		goto done;
	n.email = api_string_field(body, "email", errors);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "last_name" : "first_name";
		json_t *v = json_object_get(body, name);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v))
			json_object_set_new(errors, name, json_pack("[s]", "Not a valid string."));
		else if (i)
			n.last_name = json_string_value(v);
		else
			n.first_name = json_string_value(v);
	}
	bool_field(body, "is_staff", &n.is_staff, errors, &seen);
	bool_field(body, "is_superuser", &n.is_superuser, errors, &seen);
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if ((n.is_staff || n.is_superuser) && !r->caller->user.is_superuser) {
		respond_error(r, 403, "Only a superuser can grant or remove staff or superuser status.");
		goto done;
	}
	api_actor(r, &a);
	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	rc = accounts_create_user(st, &n, &a, &u);
	if (rc == ACCOUNTS_BAD_EMAIL || rc == ACCOUNTS_TAKEN || rc == ACCOUNTS_BAD_NAME) {
		store_rollback(st);
		if (rc == ACCOUNTS_BAD_NAME)
			respond_json(r, 400,
			    json_pack("{s:[s]}",
			        user_name_valid(n.first_name ? n.first_name : "",
			            n.first_name ? strlen(n.first_name) : 0) ?
			            "last_name" :
			            "first_name",
			        "Enter a valid name."));
		else
			respond_json(r, 400,
			    json_pack("{s:[s]}", "email",
			        rc == ACCOUNTS_TAKEN ? "A user with that email address already exists." :
			                               "Enter a valid email address."));
		goto done;
	}
	if (rc != 0 || accounts_queue_reset(st, &r->app->cfg, &u) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		goto done;
	}
	mailer_wake(r->app->mailer);
	respond_json(r, 201, admin_user_json(&u));
done:
	json_decref(errors);
	json_decref(body);
}

/* The user named by the path's id into u: 0, or -1 after answering 404/503. */
static int
target(struct request *r, struct store_user *u)
{
	return api_store_answer(r, store_user_by_id(r->app->store, r->ids[0], u));
}

/* Staff may act on ordinary users; a superuser's account only a superuser touches. */
static int
may_manage(struct request *r, const struct store_user *u)
{
	if (u->is_superuser && !r->caller->user.is_superuser) {
		respond_error(r, 403, "Only a superuser can manage a superuser's account.");
		return 0;
	}
	return 1;
}

void
api_admin_user(struct request *r)
{
	struct store_user u;
	struct accounts_mfa_state s;
	json_t *j;

	if (target(r, &u) != 0)
		return;
	if (accounts_mfa_state(r->app->store, u.id, &s) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	/* which factors, never a secret */
	j = admin_user_json(&u);
	json_object_set_new(j, "mfa",
	    json_pack("{s:b, s:i, s:i}", "totp", s.totp, "webauthn", s.webauthn, "recovery_codes_unused",
	        s.recovery_unused));
	respond_json(r, 200, j);
}

/* DELETE /api/admin/users/<id>/mfa/: every factor and recovery code of the
 * user goes (a lost phone and no code left); a recent re-authentication. */
void
api_admin_user_mfa_delete(struct request *r)
{
	struct store *st = r->app->store;
	struct accounts_actor a;
	struct store_user u;

	if (target(r, &u) != 0 || !may_manage(r, &u))
		return;
	if (!api_need_fresh(r))
		return;
	api_actor(r, &a);
	if (store_begin(st) != 0)
		goto busy;
	if (accounts_mfa_remove_all(st, &r->app->cfg, &u, &a) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		goto busy;
	}
	mailer_wake(r->app->mailer);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Second factors removed."));
	return;
busy:
	api_respond_busy(r, NULL);
}

/* A boolean field of body into *out when present: 0, or -1 after adding an error. */
static int
bool_field(json_t *body, const char *name, bool *out, json_t *errors, bool *seen)
{
	json_t *v = json_object_get(body, name);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		json_object_set_new(errors, name, json_pack("[s]", "Must be a valid boolean."));
		return -1;
	}
	*out = json_is_true(v);
	*seen = true;
	return 0;
}

void
api_admin_user_update(struct request *r)
{
	struct store *st = r->app->store;
	json_t *body = NULL, *errors = json_object(), *changes = json_object();
	struct store_user u;
	bool active, staff, super, verified, seen = false;

	if (target(r, &u) != 0 || !may_manage(r, &u) || request_json(r, &body) != 0)
		goto done;
	active = u.is_active;
	staff = u.is_staff;
	super = u.is_superuser;
	verified = u.email_verified;
	bool_field(body, "is_active", &active, errors, &seen);
	bool_field(body, "is_staff", &staff, errors, &seen);
	bool_field(body, "is_superuser", &super, errors, &seen);
	bool_field(body, "email_verified", &verified, errors, &seen);
	if (json_object_size(errors) > 0) {
		respond_json(r, 400, errors);
		errors = NULL;
		goto done;
	}
	if (!seen) {
		respond_error(r, 400,
		    "Nothing to change: send is_active, is_staff, is_superuser or email_verified.");
		goto done;
	}
	if (super)
		staff = true; /* a superuser is staff */
	if ((staff != u.is_staff || super != u.is_superuser) && !r->caller->user.is_superuser) {
		respond_error(r, 403, "Only a superuser can grant or remove staff or superuser status.");
		goto done;
	}
	if (u.id == r->caller->user.id && (!active || !staff || (u.is_superuser && !super))) {
		respond_error(r, 400, "You cannot deactivate or demote your own account.");
		goto done;
	}
	/* granting power or locking someone out: a stolen session or token alone must not do it */
	if (((staff && !u.is_staff) || (super && !u.is_superuser) || (!active && u.is_active)) &&
	    !api_need_fresh(r))
		goto done;
	if (store_begin(st) != 0)
		goto busy;
	if (store_user_set_flags(st, u.id, active, staff, super, verified) != 0)
		goto fail;
	if (!active && u.is_active && accounts_deactivate(st, u.id) != 0)
		goto fail; /* deactivated: everything of theirs ends now */
#define CHANGED(field, was, now)                                                                             \
	if ((was) != (now))                                                                                  \
	json_object_set_new(changes, field, json_boolean(now))
	CHANGED("is_active", u.is_active, active);
	CHANGED("is_staff", u.is_staff, staff);
	CHANGED("is_superuser", u.is_superuser, super);
	CHANGED("email_verified", u.email_verified, verified);
#undef CHANGED
	/* in the transaction: the change, its audit row and its webhook messages land together */
	audit_log(r, "admin.user.updated", u.id, changes);
	changes = NULL;
	if (store_commit(st) != 0)
		goto fail;
	u.is_active = active;
	u.is_staff = staff;
	u.is_superuser = super;
	u.email_verified = verified;
	respond_json(r, 200, admin_user_json(&u));
	goto done;
fail:
	store_rollback(st);
busy:
	api_respond_busy(r, NULL);
done:
	json_decref(changes);
	json_decref(errors);
	json_decref(body);
}

static void
add_session(void *ctx, const struct store_session_info *s)
{
	json_array_append_new(ctx, session_info_json(s, 0));
}

static void
add_token(void *ctx, const struct store_token *t)
{
	json_array_append_new(ctx, token_json(t));
}

/* GET /api/admin/users/<id>/sessions/ and .../tokens/: the user's rows, no secrets. */
static void
list_of_user(struct request *r, bool tokens)
{
	struct store_user u;
	json_t *list;
	int rc;

	if (target(r, &u) != 0)
		return;
	list = json_array();
	rc = tokens ? store_token_list(r->app->store, u.id, add_token, list) :
	              store_session_list(r->app->store, u.id, add_session, list);
	if (rc != 0) {
		json_decref(list);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, list);
}

void
api_admin_user_sessions(struct request *r)
{
	list_of_user(r, false);
}

void
api_admin_user_sessions_delete(struct request *r)
{
	struct store_user u;
	struct store *st = r->app->store;

	if (target(r, &u) != 0 || !may_manage(r, &u))
		return;
	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (store_session_delete_user(st, u.id, 0) < 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	audit_log(r, "admin.sessions.revoked_all", u.id, NULL);
	if (store_commit(st) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	respond_empty(r, 204);
}

/* DELETE /api/admin/users/<id>/sessions/<sid>/ and .../tokens/<tid>/: the
 * path names the owner, and the delete is scoped to them. */
static void
delete_one(struct request *r, bool token)
{
	struct store_user u;
	int64_t id = r->ids[1];
	int rc;

	if (target(r, &u) != 0 || !may_manage(r, &u))
		return;
	if (store_begin(r->app->store) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	rc = token ? store_token_delete_id(r->app->store, id, u.id) :
	             store_session_delete_id(r->app->store, id, u.id);
	if (rc == 0) {
		if (token)
			audit_log(r, "admin.token.revoked", u.id,
			    json_pack("{s:I}", "token_id", (json_int_t)id));
		else
			audit_log(r, "admin.session.revoked", u.id,
			    json_pack("{s:I}", "session_id", (json_int_t)id));
		rc = store_commit(r->app->store);
	}
	if (rc != 0) {
		store_rollback(r->app->store);
		api_store_answer(r, rc);
		return;
	}
	respond_empty(r, 204);
}

void
api_admin_session_delete(struct request *r)
{
	delete_one(r, false);
}

void
api_admin_token_delete(struct request *r)
{
	delete_one(r, true);
}

void
api_admin_user_tokens(struct request *r)
{
	list_of_user(r, true);
}

void
api_admin_user_password_reset(struct request *r)
{
	struct store_user u;

	if (target(r, &u) != 0 || !may_manage(r, &u))
		return;
	if (!u.is_active) {
		respond_error(r, 400, "The account is inactive: activate it first.");
		return;
	}
	if (accounts_queue_reset(r->app->store, &r->app->cfg, &u) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	mailer_wake(r->app->mailer);
	audit_log(r, "admin.password_reset.sent", u.id, NULL);
	respond_json(r, 200, json_pack("{s:s}", "detail", "Password reset e-mail sent."));
}

static void
add_audit(void *ctx, const struct store_audit *a)
{
	json_array_append_new(ctx, audit_json(a));
}

void
api_admin_audit(struct request *r)
{
	struct store_audit_filter f = { 0 };
	const char *user = request_query(r, "user"), *actor = request_query(r, "actor");
	json_t *results;
	int64_t page, total = 0;
	long long v;
	int size;

	if (api_page(r, &page, &size) != 0)
		return;
	if (user) {
		if (parse_ll(user, 1, INT64_MAX, &v) != 0) {
			respond_json(r, 400, json_pack("{s:[s]}", "user", "A valid integer is required."));
			return;
		}
		f.user_id = v;
	}
	if (actor) {
		if (parse_ll(actor, 1, INT64_MAX, &v) != 0) {
			respond_json(r, 400, json_pack("{s:[s]}", "actor", "A valid integer is required."));
			return;
		}
		f.actor_id = v;
	}
	f.event = request_query(r, "event");
	if (f.event && (f.event[0] == '\0' || strlen(f.event) > 47))
		f.event = NULL;
	results = json_array();
	if (store_audit_list(r->app->store, &f, (page - 1) * size, size, add_audit, results, &total) != 0) {
		json_decref(results);
		api_respond_busy(r, NULL);
		return;
	}
	if (page > 1 && (page - 1) * size >= total) {
		json_decref(results);
		respond_error(r, 404, "Invalid page.");
		return;
	}
	respond_json(r, 200, api_paginated(r, page, size, total, results));
}
