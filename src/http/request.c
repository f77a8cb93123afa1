/*
 * request — see http.h.  The request as handlers see it and the answer they
 * build, with no knowledge of the transport: the HTTP module fills a request
 * from libmicrohttpd, the request-level fuzz driver fills one by hand, and
 * both run the same router and handlers.  Owns the rule that an answer which
 * cannot be built is a 500 for that request alone, never an exit.  Must never
 * log headers, bodies or answer values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "app.h"
#include "http/body.h"
#include "auth/hashpool.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "metrics.h"

/* clang-format off */
static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", M_GET }, { "HEAD", M_HEAD }, { "POST", M_POST }, { "PUT", M_PUT },
	{ "PATCH", M_PATCH }, { "DELETE", M_DELETE }, { "OPTIONS", M_OPTIONS },
};
/* clang-format on */

static const char internal_error[] = "{\"detail\":\"Internal error.\"}";

/* The request and its caller in one allocation: the hot path stays at one
 * calloc per request. */
struct request_block {
	struct request r;
	struct caller c;
};

struct request *
request_new(struct app *app, const char *method, const char *path)
{
	struct request_block *b = xcalloc(1, sizeof(*b));
	struct request *r = &b->r;

	r->app = app;
	r->caller = &b->c;
	r->caller->kind = AUTH_NONE;
	r->started = now_mono();
	r->method = M_OTHER;
	r->method_name = "OTHER"; /* a client's own method name is never echoed */
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].name) == 0) {
			r->method = methods[i].m;
			r->method_name = methods[i].name;
			break;
		}
	r->path = xstrdup(path);
	r->fd = -1;
	strlcpy_ok(r->ip, "unknown", sizeof(r->ip));
	return r;
}

void
request_free(struct request *r)
{
	if (r->state_free && r->state)
		r->state_free(r->state);
	for (int i = 0; i < r->nheaders; i++) {
		/* Set-Cookie values carry session keys: wipe them */
		sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].value);
	}
	if (r->body.data) {
		sodium_memzero(r->body.data, r->body.len); /* may hold a password */
		buf_free(&r->body);
	}
	buf_free(&r->resp);
	if (r->fd >= 0)
		close(r->fd);
	free(r->in_headers);
	free(r->in_args);
	free(r->path);
	sodium_memzero(&r->caller->user, sizeof(r->caller->user));
	free(r);
}

static void
kv_add(struct request_kv **v, size_t *n, const char *name, const char *value)
{
	/* grow in steps of 16: a head is at most max_header bytes */
	if (*n % 16 == 0)
		*v = xrealloc(*v, (*n + 16) * sizeof(**v));
	(*v)[*n].name = name;
	(*v)[*n].value = value;
	(*n)++;
}

void
request_add_header(struct request *r, const char *name, const char *value)
{
	kv_add(&r->in_headers, &r->nin_headers, name, value);
}

void
request_add_arg(struct request *r, const char *name, const char *value)
{
	kv_add(&r->in_args, &r->nin_args, name, value);
}

/* The first one, as libmicrohttpd's lookup does; names are case-insensitive
 * for headers and exact for query arguments. */
const char *
request_header(struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nin_headers; i++)
		if (strcasecmp(r->in_headers[i].name, name) == 0)
			return r->in_headers[i].value;
	return NULL;
}

const char *
request_query(struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nin_args; i++)
		if (strcmp(r->in_args[i].name, name) == 0)
			return r->in_args[i].value;
	return NULL;
}

int
request_json(struct request *r, json_t **out)
{
	char detail[256];
	int status = body_parse(request_header(r, "Content-Type"), r->body.data ? r->body.data : "",
	    r->body.len, out, detail, sizeof(detail));

	if (status == 0)
		return 0;
	respond_error(r, status, detail);
	return -1;
}

/* A bug, never the client's doing: the one request gets a plain 500. */
static void
broken(struct request *r, const char *what)
{
	log_msg(LOG_ERROR, "answer to %s %s could not be built: %s; sent 500", r->method_name,
	    r->route ? "(routed)" : "(unrouted)", what);
	r->broken = true;
}

void
response_header(struct request *r, const char *name, const char *value)
{
	if (r->nheaders >= HTTP_MAX_HEADERS) {
		broken(r, "too many response headers");
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

void
respond_json(struct request *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	r->resp.len = 0;
	if (s == NULL) {
		broken(r, body ? "json_dumps failed" : "json_pack failed");
		status = 500;
		buf_puts(&r->resp, internal_error);
	} else {
		buf_puts(&r->resp, s);
		free(s);
	}
	r->status = status;
	r->api = true;
	r->content_type = "application/json";
}

void
respond_error(struct request *r, int status, const char *detail)
{
	/* detail must be valid UTF-8; a bad one is a bug and becomes a 500 above */
	respond_json(r, status, json_pack("{s:s}", "detail", detail));
}

void
respond_file(struct request *r, int status, int fd, uint64_t size, const char *content_type)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->fd_size = size;
	r->status = status;
	r->content_type = content_type;
}

void
respond_text(struct request *r, int status, const char *text)
{
	r->resp.len = 0;
	buf_puts(&r->resp, text);
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
}

void
respond_bytes(struct request *r, int status, const void *data, size_t len, const char *content_type)
{
	r->resp.len = 0;
	if (len > 0)
		buf_append(&r->resp, data, len);
	r->status = status;
	r->api = false;
	r->content_type = content_type;
}

void
respond_empty(struct request *r, int status)
{
	r->resp.len = 0;
	r->status = status;
	r->api = true;
	r->content_type = NULL;
}

void
request_finish_broken(struct request *r)
{
	if (!r->broken)
		return;
	for (int i = 0; i < r->nheaders; i++) {
		sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->resp.len = 0;
	buf_puts(&r->resp, internal_error);
	r->status = 500;
	r->api = true;
	r->content_type = "application/json";
	r->answer_at = 0;
}

static int
defer_on(struct request *r, struct hashpool *pool, void (*work)(void *), void *arg)
{
	if (pool == NULL || hashpool_reserve(pool) != 0)
		return -1;
	r->deferred_pool = pool;
	r->deferred_work = work;
	r->deferred_arg = arg;
	return 0;
}

/* The request owns arg from here on, queued or not: freed with it (also
 * when the connection dies while the work is queued or running), or when a
 * later deferral hands it another. */
static void
adopt(struct request *r, void *arg, void (*arg_free)(void *))
{
	if (r->state == arg)
		return;
	if (r->state_free && r->state)
		r->state_free(r->state);
	r->state = arg;
	r->state_free = arg_free;
}

int
request_defer(struct request *r, void (*work)(void *), void *arg, void (*arg_free)(void *))
{
	adopt(r, arg, arg_free);
	if (defer_on(r, r->app->hashpool, work, arg) == 0)
		return 0;
	if (r->app->hashpool != NULL)
		metrics_count_pool_full(); /* the caller answers 503 */
	return -1;
}

int
request_defer_net(struct request *r, void (*work)(void *), void *arg, void (*arg_free)(void *))
{
	adopt(r, arg, arg_free);
	return defer_on(r, r->app->netpool, work, arg);
}

void
request_answer_at(struct request *r, double at)
{
	r->answer_at = at;
}
