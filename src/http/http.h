/*
 * The src/http/ layer (docs/architecture.md): the transport.  It owns
 * libmicrohttpd, the strict edge, the request context, the router's order of
 * checks, static files, body and cookie parsing.  It calls the rules in
 * src/auth/ and hands requests to the handlers plugged in from src/api/; it
 * must never read the store, include accounts, social or mail, or log a
 * header or body.
 */
/*
 * http — the HTTP server on libmicrohttpd: one request context per request,
 * body collection with the size limit, suspend/resume around slow work, and
 * responses with any number of headers (several Set-Cookie lines).  The only
 * module that calls libmicrohttpd, so a newer version swaps in here alone.
 * Must never log headers or bodies.
 */
#ifndef GATEHOUSE_HTTP_H
#define GATEHOUSE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct app;
struct caller;
struct hashpool;

enum http_method { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS, M_OTHER };

#define HTTP_MAX_HEADERS 16
#define ROUTE_MAX_IDS    2

struct http_header {
	const char *name; /* static string */
	char *value;      /* owned */
};

/* A header or query argument the client sent: borrowed from the transport
 * for the life of the request. */
struct request_kv {
	const char *name;
	const char *value;
};

struct request {
	struct app *app;
	void *conn; /* struct MHD_Connection, opaque outside http.c */
	const char *method_name;
	enum http_method method;
	char *path; /* owned copy of the decoded path, no query */
	char ip[64];
	double started;
	int64_t ids[2]; /* numbers from "<id>" segments of the route, in order */
	int nids;
	char slug[48]; /* the "<name>" segment of the route */

	/* what the client sent (filled by the transport; the array is owned) */
	struct request_kv *in_headers, *in_args;
	size_t nin_headers, nin_args;

	/* request body (unsafe methods) */
	struct buf body;
	bool body_too_large;

	/* who is calling (auth/caller.h): never NULL, kind AUTH_NONE until the
	 * router's auth step finds a session or a token */
	struct caller *caller;

	/* slow work: a handler that called request_defer is called again after it */
	int phase;   /* 0 on the first handler call, incremented on each resume */
	void *state; /* the handler's, freed by state_free at the end */
	void (*state_free)(void *);
	const void *route; /* the matched route, for the resume */
	void (*deferred_work)(void *);
	void *deferred_arg;
	struct hashpool *deferred_pool;
	bool suspended;
	double answer_at; /* hold the answer until this now_mono() time (0: at once) */
	void *server;     /* the transport's, opaque */

	/* response */
	int status; /* 0 until a response is set */
	bool api;   /* API response: no-store, JSON */
	struct buf resp;
	const char *content_type;
	int fd; /* file response when >= 0 */
	uint64_t fd_size;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	bool broken;  /* an answer could not be built: send a plain 500 */
	bool counted; /* in the metrics (as its answer was queued) */
};

struct http_server;

/* Start listening per app->cfg; NULL with err on failure. */
struct http_server *http_start(struct app *app, char *err, size_t errsz);
/* Stop accepting new connections (first step of a graceful stop). */
void http_quiesce(struct http_server *s);
/* Answer every request that is waiting (and any new one) 503 with
 * Retry-After, wait until none is suspended, then briefly for the answers
 * to go out.  Between http_quiesce and http_stop. */
void http_drain(struct http_server *s);
/* Close every connection and free.  No request may be suspended any more. */
void http_stop(struct http_server *s);

/* The metrics listener (GATEHOUSE_METRICS_LISTEN): a second libmicrohttpd
 * daemon on its own address, one thread, that answers GET and HEAD
 * /metrics with what render appends (called on that thread, which may read
 * the store), 405 for another method there and 404 for any other path.  No
 * session, cookie or CSRF step: the address is the access control.  NULL
 * with err on failure. */
struct http_metrics;
struct http_metrics *http_metrics_start(struct app *app, void (*render)(struct app *app, struct buf *out),
    char *err, size_t errsz);
/* Stop it (waits for a scrape in progress) and free; NULL is fine. */
void http_metrics_stop(struct http_metrics *m);

/* request.c — the request and its answer, free of the transport, so the
 * router and handlers run the same under libmicrohttpd and in a fuzz driver. */

/* A request for method and path (copied); the caller fills ip, in_headers
 * and in_args.  Free with request_free. */
struct request *request_new(struct app *app, const char *method, const char *path);
void request_free(struct request *r);
/* Add a header or query argument as the transport parsed it (borrowed). */
void request_add_header(struct request *r, const char *name, const char *value);
void request_add_arg(struct request *r, const char *name, const char *value);
/* Before sending: when building the answer failed (r->broken), replace it
 * with a bare 500. */
void request_finish_broken(struct request *r);

/* Request accessors (borrowed pointers, valid during the request). */
const char *request_header(struct request *r, const char *name);
const char *request_query(struct request *r, const char *name);

/* The request body as a JSON object (JSON or form, per Content-Type): 0 and
 * *out (caller json_decref's), or -1 after answering 400/415. */
int request_json(struct request *r, json_t **out);

/* Add a response header (value copied).  Past HTTP_MAX_HEADERS the answer
 * becomes a 500 (a bug, never the client's doing). */
void response_header(struct request *r, const char *name, const char *value);
/* JSON response: takes ownership of body (json_decref'd here).  A NULL body
 * (a failed json_pack) or one that cannot be encoded becomes a logged 500 for
 * this request alone: nothing a client sends can stop the process. */
void respond_json(struct request *r, int status, json_t *body);
/* {"detail": detail} — the one place request errors become HTTP (docs/style.md rule 9). */
void respond_error(struct request *r, int status, const char *detail);
/* A file response: fd is owned and closed by the server. */
void respond_file(struct request *r, int status, int fd, uint64_t size, const char *content_type);
void respond_text(struct request *r, int status, const char *text);
/* An answer of len bytes (copied; data may be NULL when len is 0) of the
 * given Content-Type (NULL: none), outside the API's JSON conventions: no
 * Cache-Control of its own, the handler sets one (api/schema.c). */
void respond_bytes(struct request *r, int status, const void *data, size_t len, const char *content_type);
/* An API answer without a body (204). */
void respond_empty(struct request *r, int status);

/* Run work(arg) on the hash pool while this connection is suspended; the
 * handler is called again (r->phase incremented), with arg as r->state, when
 * it is done.  The request owns arg from this call on, whatever it returns:
 * arg_free(arg) runs when the request ends, also when the connection dies
 * first (any earlier r->state is freed now).  0, or -1 when the pool's queue
 * is full (nothing was queued; the handler answers, typically 503). */
int request_defer(struct request *r, void (*work)(void *), void *arg, void (*arg_free)(void *));
/* The same on the pool for outbound network calls (social login), so slow
 * providers never hold up password hashing. */
int request_defer_net(struct request *r, void (*work)(void *), void *arg, void (*arg_free)(void *));
/* Send the answer the handler has set no earlier than at (a now_mono() time):
 * the connection stays suspended meanwhile and no thread waits; a stop
 * answers it at once. */
void request_answer_at(struct request *r, double at);

#endif
