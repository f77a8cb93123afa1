/*
 * router — the {method, path, handler} table and the middleware chain every
 * request goes through: limits (in http) → security headers (in http) →
 * auth (Token header, else session cookie) → CSRF → login required → handler.
 * Paths outside /api/, /healthz and /metrics go to the SPA's static files.
 */
#ifndef GATEHOUSE_ROUTER_H
#define GATEHOUSE_ROUTER_H

#include "http/http.h"

#define ROUTE_LOGIN_REQUIRED 0x1    /* anonymous → 401 */
#define ROUTE_NO_AUTH        0x2    /* operations endpoints: skip auth and CSRF */
#define ROUTE_STAFF          0x4    /* staff only: anonymous → 401, others → 403 */
#define ROUTE_EXACT_METHODS  0x8    /* no generic OPTIONS answer: every other method is 405 */

struct route {
	enum http_method method;
	const char *path;                /* canonical, ends in '/'; "<id>" matches a number (r->ids[]) */
	void (*handler)(struct request *r);
	unsigned flags;
};

/* The table, in src/api/routes.c, ended by a NULL path. */
extern const struct route routes[];

/* Run the request through the chain (or, after a resume, straight back into
 * its handler).  Always leaves a response on r unless the handler deferred. */
void router_dispatch(struct request *r);
/* Answer 401 the way DRF does (WWW-Authenticate: Token). */
void respond_unauthenticated(struct request *r, const char *detail);

#endif
