/*
 * api/common — small pieces every group of handlers shares, so request
 * validation and refusals read and sound the same everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "accounts/accounts.h"
#include "accounts/audit.h"
#include "app.h"
#include "http/http.h"
#include "auth/caller.h"
#include "auth/throttle.h"
#include "http/authn.h"
#include "util.h"

const char *
api_string_field(json_t *obj, const char *name, json_t *errors)
{
	json_t *v = json_object_get(obj, name);
	const char *msg = NULL;

	if (v == NULL || json_is_null(v))
		msg = "This field is required.";
	else if (!json_is_string(v))
		msg = "Not a valid string.";
	else if (json_string_length(v) == 0)
		msg = "This field may not be blank.";
	if (msg) {
		json_object_set_new(errors, name, json_pack("[s]", msg));
		return NULL;
	}
	return json_string_value(v);
}

void
api_respond_throttled(struct request *r, long wait)
{
	char detail[96], ra[24];

	snprintf(detail, sizeof(detail), "Request was throttled. Expected available in %ld second%s.", wait,
	    wait == 1 ? "" : "s");
	snprintf(ra, sizeof(ra), "%ld", wait);
	respond_error(r, 429, detail);
	response_header(r, "Retry-After", ra);
}

void
api_respond_busy(struct request *r, const char *detail)
{
	respond_error(r, 503, detail ? detail : "Service temporarily unavailable.");
	response_header(r, "Retry-After", "1");
}

void
api_body_free(json_t *body)
{
	const char *name;
	json_t *v;

	if (body == NULL)
		return;
	json_object_foreach (body, name, v) {
		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(body);
}

int
api_page(struct request *r, int64_t *page, int *size)
{
	const char *p = request_query(r, "page"), *n = request_query(r, "page_size");
	long long v;

	*page = 1;
	*size = 25;
	if (p) {
		if (parse_ll(p, 1, 1000000000, &v) != 0) {
			respond_error(r, 400, "Invalid page.");
			return -1;
		}
		*page = v;
	}
	if (n) {
		if (parse_ll(n, 1, 100, &v) != 0) {
			respond_error(r, 400, "page_size must be a whole number from 1 to 100.");
			return -1;
		}
		*size = (int)v;
	}
	return 0;
}

/* path?<query with page replaced by page> as a relative URL */
static json_t *
page_link(struct request *r, int64_t page)
{
	static const char *keep[] = { "search", "user", "actor", "event", "page_size" };
	struct buf b = { 0 };
	json_t *s;

	buf_printf(&b, "%s?page=%lld", r->path, (long long)page);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = request_query(r, keep[i]);
		if (v == NULL)
			continue;
		buf_printf(&b, "&%s=", keep[i]);
		for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~')
				buf_append(&b, c, 1);
			else
				buf_printf(&b, "%%%02X", *c);
		}
	}
	s = json_string(b.data);
	buf_free(&b);
	return s ? s : json_null();
}

json_t *
api_paginated(struct request *r, int64_t page, int size, int64_t total, json_t *results)
{
	return json_pack("{s:I, s:o, s:o, s:o}", "count", (json_int_t)total, "next",
	    page * size < total ? page_link(r, page + 1) : json_null(), "previous",
	    page > 1 ? page_link(r, page - 1) : json_null(), "results", results);
}

void
api_ip_key(struct request *r, const char *prefix, char *out, size_t outsz)
{
	char group[96];

	limiter_ip_group(r->ip, (int)r->app->cfg.ipv6_prefix, group, sizeof(group));
	snprintf(out, outsz, "%s:ip:%s", prefix, group);
}

int
api_reserve_two(struct request *r, const char *key1, long limit1, const char *key2, long limit2, long window)
{
	struct limiter *l = r->app->limiter;
	int64_t now = now_unix();
	long wait = 0;
	int rc;

	rc = limiter_reserve(l, key1, limit1, window, now, &wait);
	if (rc == 0) {
		rc = limiter_reserve(l, key2, limit2, window, now, &wait);
		if (rc == 0)
			return 0;
		limiter_release(l, key1); /* refused after all: not an attempt */
	}
	if (rc < 0)
		api_respond_busy(r, NULL);
	else
		api_respond_throttled(r, wait);
	return 1;
}

int
api_password_reserve(struct request *r, const char *ip_key, const char *account_key)
{
	const struct config *cfg = &r->app->cfg;

	return api_reserve_two(r, ip_key, cfg->login_ip_limit, account_key, cfg->login_account_limit,
	    cfg->login_window);
}

/* The signed-in user's per-account and per-IP keys: the login ones, so a
 * stolen session buys no more guesses than the login form. */
static void
reauth_keys(struct request *r, char *ip, size_t ipsz, char *account, size_t accountsz)
{
	api_ip_key(r, "login", ip, ipsz);
	snprintf(account, accountsz, "login:account:%s", r->caller->user.email);
}

int
api_reauth_throttled(struct request *r)
{
	char ip[112], account[STORE_EMAIL_MAX + 24];

	reauth_keys(r, ip, sizeof(ip), account, sizeof(account));
	return api_password_reserve(r, ip, account);
}

void
api_reauth_failed(struct request *r)
{
	(void)r; /* counted when api_reauth_throttled admitted it */
}

void
api_reauth_succeeded(struct request *r)
{
	char ip[112], account[STORE_EMAIL_MAX + 24];

	reauth_keys(r, ip, sizeof(ip), account, sizeof(account));
	limiter_release(r->app->limiter, account);
}

void
api_reauth_cancel(struct request *r)
{
	char ip[112], account[STORE_EMAIL_MAX + 24];

	reauth_keys(r, ip, sizeof(ip), account, sizeof(account));
	limiter_release(r->app->limiter, account);
	limiter_release(r->app->limiter, ip);
}

void
api_actor(struct request *r, struct accounts_actor *a)
{
	a->id = r->caller->kind != AUTH_NONE ? r->caller->user.id : 0;
	a->ip = r->ip;
	a->user_agent = request_header(r, "User-Agent");
}

void
audit_log(struct request *r, const char *event, int64_t user_id, json_t *detail)
{
	struct accounts_actor a;

	api_actor(r, &a);
	audit_write(r->app->store, a.id, a.ip, a.user_agent, event, user_id, detail);
}

int
api_store_answer(struct request *r, int rc)
{
	if (rc == 0)
		return 0;
	if (rc == STORE_NOTFOUND)
		respond_error(r, 404, "Not found.");
	else
		api_respond_busy(r, NULL);
	return -1;
}

/* ---- password work on the hash pool ---- */

static void
pwjob_free(void *arg)
{
	struct api_pwjob *j = arg;

	if (j->extra) {
		if (j->extra_free)
			j->extra_free(j->extra);
		sodium_memzero(j->extra, j->extra_size);
		free(j->extra);
	}
	if (j->verify_pw) {
		sodium_memzero(j->verify_pw, j->verify_len);
		free(j->verify_pw);
	}
	if (j->new_pw) {
		sodium_memzero(j->new_pw, j->new_len);
		free(j->new_pw);
	}
	sodium_memzero(j, sizeof(*j));
	free(j);
}

/* On a hash worker: the only slow part of the handlers that use it. */
static void
pwjob_run(void *arg)
{
	struct api_pwjob *j = arg;

	if (j->verify_pw) {
		if (j->stored[0] != '\0' && j->stored[0] != '!') {
			j->verified = password_verify(j->stored, j->verify_pw, j->verify_len) == 1;
			if (j->verified && j->rehash && !j->new_pw &&
			    password_needs_rehash(&j->params, j->stored))
				j->rehashed = j->hashed = password_hash(&j->params, j->verify_pw,
				                              j->verify_len, j->newhash,
				                              sizeof(j->newhash)) == 0;
		} else {
			/* no usable hash: a hash's cost, no answer */
			password_dummy_verify(&j->params, j->verify_pw, j->verify_len);
			j->verified = false;
		}
		if (!j->verified)
			return;
	}
	if (j->new_pw)
		j->hashed = password_hash(&j->params, j->new_pw, j->new_len, j->newhash,
		                sizeof(j->newhash)) == 0;
}

struct api_pwjob *
api_pwjob_new(struct request *r, size_t extra_size)
{
	struct api_pwjob *j = xcalloc(1, sizeof(*j));

	j->params = *r->app->pw;
	if (extra_size) {
		j->extra = xcalloc(1, extra_size);
		j->extra_size = extra_size;
	}
	/* owned by the request from now on (request_defer keeps it so) */
	if (r->state_free && r->state)
		r->state_free(r->state);
	r->state = j;
	r->state_free = pwjob_free;
	return j;
}

void
api_pwjob_verify(struct api_pwjob *j, const char *stored, const char *pw, size_t len)
{
	strlcpy_ok(j->stored, stored ? stored : "", sizeof(j->stored));
	j->verify_pw = xstrndup(pw, len);
	j->verify_len = len;
}

void
api_pwjob_hash(struct api_pwjob *j, const char *pw, size_t len)
{
	j->new_pw = xstrndup(pw, len);
	j->new_len = len;
}

int
api_pwjob_defer(struct request *r, struct api_pwjob *j, const char *busy)
{
	if (request_defer(r, pwjob_run, j, pwjob_free) == 0)
		return 0;
	api_respond_busy(r, busy ? busy : "Too many requests in progress, try again shortly.");
	return -1;
}

int
api_need_fresh(struct request *r)
{
	if (authn_reauth_fresh(r))
		return 1;
	respond_json(r, 403,
	    json_pack("{s:s, s:s}", "detail", "Confirm your password to continue.", "code",
	        "reauthentication_required"));
	return 0;
}
