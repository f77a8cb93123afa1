/*
 * router — the {method, path, handler} table and the middleware chain every
 * request goes through: limits (in http) → security headers (in http) →
 * auth (Token header, else session cookie) → CSRF → login required → handler.
 * Paths outside /api/, /healthz and /metrics go to the SPA's static files.
 */
#ifndef GATEHOUSE_ROUTER_H
#define GATEHOUSE_ROUTER_H

#include "http/http.h"

#define ROUTE_LOGIN_REQUIRED 0x1  /* anonymous → 401 */
#define ROUTE_NO_AUTH        0x2  /* operations endpoints: skip auth and CSRF */
#define ROUTE_STAFF          0x4  /* staff only: anonymous → 401, others → 403 */
#define ROUTE_EXACT_METHODS  0x8  /* no generic OPTIONS answer: every other method is 405 */
#define ROUTE_MFA_SETUP      0x10 /* open to a session restricted by MFA_REQUIRED (auth/mfa.h) */

struct route {
	enum http_method method;
	const char *path; /* canonical, ends in '/'; "<id>" matches a number (r->ids[]) */
	void (*handler)(struct request *r);
	unsigned flags;
	/* for a handler that defers (request_defer): called instead of handler
	 * when the request resumes, so slow handlers are a start/finish pair;
	 * NULL: handler is called again, r->phase tells it why */
	void (*finish)(struct request *r);
};

/* The table, in src/api/routes.c, ended by a NULL path. */
extern const struct route routes[];

/* 1 if path matches the route pattern (see struct route), else 0: "/x" and
 * "/x/" both match "/x/"; "<id>" takes 1 to 18 digits (a positive int64, so
 * none of 0, a sign or an overflow), stored in ids[] (at most ROUTE_MAX_IDS;
 * the count in *nids); "<name>" takes 1 to 40 of [a-z0-9-], copied to slug
 * (41 bytes).  ids, nids and slug may be NULL.  Needs no request. */
int router_path_match(const char *pattern, const char *path, int64_t *ids, int *nids, char *slug);
/* Run the request through the chain (or, after a resume, straight back into
 * its handler).  Always leaves a response on r unless the handler deferred. */
void router_dispatch(struct request *r);
/* Answer 401 the way DRF does (WWW-Authenticate: Token). */
void respond_unauthenticated(struct request *r, const char *detail);

#endif
