/*
 * The src/api/ layer (docs/architecture.md): the handlers, the only layer
 * that may include every other one; routes.c is the route table.  A handler
 * must never parse HTTP itself or bypass the store's wrappers.
 */
/*
 * api — the HTTP handlers, one file per group of endpoints; src/api/routes.c
 * maps them to paths.  A handler may assume the router has resolved auth and
 * checked CSRF for unsafe methods (router.h).
 */
#ifndef GATEHOUSE_API_H
#define GATEHOUSE_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/password.h"
#include "store/store.h"

struct request;

/* common.c — helpers every handler group shares */
/* The string field name of obj: its value (borrowed), or NULL after adding
 * DRF's message for a missing, blank or non-string value to errors. */
const char *api_string_field(json_t *obj, const char *name, json_t *errors);
/* 429 with Retry-After and DRF's "Request was throttled..." message. */
void api_respond_throttled(struct request *r, long wait);
/* 503 with Retry-After: 1 (store error or hash queue full). */
void api_respond_busy(struct request *r, const char *detail);
/* Page and page size from ?page=&page_size= (defaults 1 and 25, size at
 * most 100): 0, or -1 after answering 400. */
int api_page(struct request *r, int64_t *page, int *size);
/* DRF's paginated body {"count","next","previous","results"} (results taken over). */
json_t *api_paginated(struct request *r, int64_t page, int size, int64_t total, json_t *results);
/* prefix + ":ip:" + the client's group (IPv6 by its configured prefix). */
void api_ip_key(struct request *r, const char *prefix, char *out, size_t outsz);
/* Reserve one attempt of key1 and of key2 (same window), both or neither:
 * 0, or 1 after answering 429 (or 503 when the counters cannot be reached). */
int api_reserve_two(struct request *r, const char *key1, long limit1, const char *key2, long limit2,
    long window);
/* Admit one password check: reserves, atomically, one attempt of the per-IP
 * budget (every attempt counts) and of account_key's budget (kept for a
 * failure, released by the caller for a right password).  0 admitted; 1 after
 * answering 429 (or 503 when the counters cannot be reached). */
int api_password_reserve(struct request *r, const char *ip_key, const char *account_key);
/* Re-authentication (the old password to change it, the password to make a
 * token) counts against the signed-in account and the client IP like a login.
 * Reserve, then decide:
 *   if (api_reauth_throttled(r)) return;   -- 1 after answering 429/503; 0: counted
 *   ... check the password on the hash pool ...
 *   right password:           api_reauth_succeeded(r)  (the account's attempt goes back)
 *   wrong password:           api_reauth_failed(r)     (it stays; nothing to do)
 *   never checked (503 etc.): api_reauth_cancel(r)     (both go back) */
int api_reauth_throttled(struct request *r);
/* A password or second-factor check on r's session within REAUTH_MAX_AGE:
 * 1, or 0 after answering 403 {"code": "reauthentication_required"}. */
int api_need_fresh(struct request *r);
void api_reauth_failed(struct request *r);
void api_reauth_succeeded(struct request *r);
void api_reauth_cancel(struct request *r);
/* Free a parsed request body (NULL is fine), wiping every string in it
 * first: a body may hold passwords, and no handler has to list which. */
void api_body_free(json_t *body);
/* The audit actor of r: its signed-in user (0: none), IP and User-Agent
 * (borrowed from r). */
struct accounts_actor;
void api_actor(struct request *r, struct accounts_actor *a);
/* Event about user_id (0: no subject) by r's caller, with r's IP and user
 * agent (accounts/audit.h audit_write); detail (may be NULL) is taken over. */
void audit_log(struct request *r, const char *event, int64_t user_id, json_t *detail);
/* A store result as the answer: 0 for 0; otherwise -1 after answering
 * STORE_NOTFOUND with 404 {"detail":"Not found."} and anything else (busy,
 * error, conflict) with 503 (api_respond_busy). */
int api_store_answer(struct request *r, int rc);

/* The one way handlers defer password work to the hash pool, as a
 * start/finish pair:
 *   start (r->phase 0): j = api_pwjob_new(r, sizeof(struct my_state));
 *       api_pwjob_verify(j, stored_hash, pw, len) and/or api_pwjob_hash(j, new_pw, len);
 *       fill j->extra; if (api_pwjob_defer(r, j, NULL) != 0) { undo counters; return; }
 *   finish (r->phase 1): j = r->state; read j->verified / j->hashed / j->newhash.
 * The request owns the job from api_pwjob_new on: it is freed (passwords and
 * extra wiped) when the request ends, however it ends. */
struct api_pwjob {
	struct password_params params;
	/* inputs: set through api_pwjob_verify / api_pwjob_hash */
	char stored[STORE_HASH_MAX]; /* verify against this; "" or "!...": no usable hash */
	char *verify_pw, *new_pw;    /* owned copies, wiped */
	size_t verify_len, new_len;
	bool rehash; /* after a right password, rehash it if params moved on */
	/* outputs (on the worker) */
	bool verified; /* verify_pw matched stored */
	bool hashed;   /* newhash holds new_pw's hash (or the rehash of verify_pw) */
	bool rehashed;
	char newhash[PASSWORD_ENCODED_MAX];
	/* the handler's own state (extra_size bytes, zeroed), wiped and freed with
	 * the job; extra_free (optional) runs first, to give back what it holds */
	void *extra;
	size_t extra_size;
	void (*extra_free)(void *extra);
};
/* A job for r with extra_size bytes of handler state, owned by r at once. */
struct api_pwjob *api_pwjob_new(struct request *r, size_t extra_size);
/* Check pw (len bytes, copied) against the encoded hash stored (NULL, "" or
 * "!..." costs a dummy verify of the same price and fails). */
void api_pwjob_verify(struct api_pwjob *j, const char *stored, const char *pw, size_t len);
/* Hash pw (len bytes, copied); when a verify is set too, only after it passed. */
void api_pwjob_hash(struct api_pwjob *j, const char *pw, size_t len);
/* Queue j on the hash pool: 0, or -1 after answering 503 with busy (NULL: the
 * generic "Too many requests in progress" text) when the queue is full. */
int api_pwjob_defer(struct request *r, struct api_pwjob *j, const char *busy);

/* The handlers.  One that defers slow work (api_pwjob_defer) is a pair:
 * api_X starts it and api_X_finish, named beside it in routes.c, answers
 * when the work is done. */

/* auth.c */
void api_login_set_cookie(struct request *r);
void api_login(struct request *r);
void api_login_finish(struct request *r);
void api_logout(struct request *r);
/* users.c */
void api_profile(struct request *r);
/* accounts.c */
void api_signup(struct request *r);
void api_signup_finish(struct request *r);
void api_signup_confirm(struct request *r);
void api_signup_resend(struct request *r);
void api_password_reset(struct request *r);
void api_password_reset_confirm(struct request *r);
void api_password_reset_confirm_finish(struct request *r);
void api_password_change(struct request *r);
void api_password_change_finish(struct request *r);
/* sessions.c */
void api_sessions_list(struct request *r);
void api_session_delete(struct request *r);
void api_sessions_revoke_others(struct request *r);
void api_tokens_list(struct request *r);
void api_tokens_create(struct request *r);
void api_tokens_create_finish(struct request *r);
void api_token_delete(struct request *r);
/* admin.c */
void api_admin_users(struct request *r);
void api_admin_user_create(struct request *r);
void api_admin_user(struct request *r);
void api_admin_user_update(struct request *r);
void api_admin_user_sessions(struct request *r);
void api_admin_user_sessions_delete(struct request *r);
void api_admin_session_delete(struct request *r);
void api_admin_user_tokens(struct request *r);
void api_admin_token_delete(struct request *r);
void api_admin_user_password_reset(struct request *r);
void api_admin_audit(struct request *r);
/* social.c */
void api_social_providers(struct request *r);
void api_social_authorize(struct request *r);
void api_social_connect(struct request *r);
void api_social_callback(struct request *r);
void api_social_identities(struct request *r);
void api_social_identity_delete(struct request *r);
/* reauth.c: POST /api/auth/reauthenticate/ {password} */
void api_reauthenticate(struct request *r);
void api_reauthenticate_finish(struct request *r);
/* mfa.c (docs/mfa-contract.md) */
/* After a right first step (method "password" or "social:<provider>", next
 * "" or where to go after): when u has a second factor, store a pending
 * login, set its cookie and answer 401 mfa_required: 1.  0 when u has none
 * (the caller signs in as before); -1 after answering 503. */
int api_mfa_begin(struct request *r, const struct store_user *u, const char *method, const char *next);
/* POST /api/auth/reauthenticate/ with {"method": "totp"|"webauthn", ...}:
 * answers either way; 0 when the session was marked. */
int api_mfa_reauthenticate(struct request *r, json_t *body);
/* The WebAuthn relying party of r's app: origin = the public origin, rpId =
 * its host (copied into host, hostsz bytes). */
struct webauthn_rp;
void api_webauthn_rp(struct request *r, struct webauthn_rp *rp, char *host, size_t hostsz);
void api_mfa_pending(struct request *r);
void api_mfa_pending_options(struct request *r);
void api_mfa_authenticate(struct request *r);
void api_reauth_webauthn_options(struct request *r);
void api_mfa_status(struct request *r);
void api_mfa_totp_setup(struct request *r);
void api_mfa_totp_confirm(struct request *r);
void api_mfa_totp_delete(struct request *r);
void api_mfa_recovery_regenerate(struct request *r);
void api_mfa_webauthn_register_options(struct request *r);
void api_mfa_webauthn_register(struct request *r);
void api_mfa_webauthn_rename(struct request *r);
void api_mfa_webauthn_delete(struct request *r);
/* passkey.c: sign-in with a passkey, no password */
void api_passkey_options(struct request *r);
void api_passkey_login(struct request *r);
/* admin.c: DELETE /api/admin/users/<id>/mfa/ */
void api_admin_user_mfa_delete(struct request *r);
/* verify.c */
void api_verify(struct request *r);
/* schema.c: GET /api/schema/ (docs/openapi.yaml, built in) */
void api_schema(struct request *r);
/* health.c */
void api_healthz(struct request *r);
struct app;
struct buf;
/* GET /metrics on the public port: 404 unless metrics_token is set, then 401
 * without Authorization: Bearer <metrics_token>. */
void api_metrics(struct request *r);
/* The whole exposition, with the gauges read now (the store on the calling
 * thread); the metrics listener's renderer. */
void api_metrics_render(struct app *app, struct buf *out);

#endif
