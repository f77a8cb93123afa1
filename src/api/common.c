/*
 * api/common — small pieces every group of handlers shares, so request
 * validation and refusals read and sound the same everywhere.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "http.h"
#include "throttle.h"
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
api_wipe_field(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
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
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			    *c == '-' || *c == '.' || *c == '_' || *c == '~')
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
	return json_pack("{s:I, s:o, s:o, s:o}", "count", (json_int_t)total,
	    "next", page * size < total ? page_link(r, page + 1) : json_null(),
	    "previous", page > 1 ? page_link(r, page - 1) : json_null(), "results", results);
}

static void
account_key(struct request *r, char *key, size_t keysz)
{
	snprintf(key, keysz, "login:account:%s", r->user.email);
}

int
api_reauth_throttled(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	char key[STORE_EMAIL_MAX + 24];
	long wait = 0;

	account_key(r, key, sizeof(key));
	if (!limiter_check(r->app->limiter, key, cfg->login_account_limit, cfg->login_window, now_unix(), &wait))
		return 0;
	api_respond_throttled(r, wait);
	return 1;
}

void
api_reauth_failed(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	char key[STORE_EMAIL_MAX + 24];

	account_key(r, key, sizeof(key));
	limiter_hit(r->app->limiter, key, cfg->login_account_limit, cfg->login_window, now_unix());
}
