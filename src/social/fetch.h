/*
 * fetch — outbound HTTP for talking to OAuth/OpenID providers: libcurl with
 * TLS verification on, connect and total timeouts, a cap on the response
 * size, and no redirects followed.  Blocking: call it from a worker thread,
 * never from an HTTP thread.  The only libcurl user in src/social (every call
 * to a provider goes through here).  Never logs request bodies or tokens.
 */
#ifndef GATEHOUSE_FETCH_H
#define GATEHOUSE_FETCH_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define FETCH_MAX_BYTES (1024 * 1024)

struct fetch {
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *body;                        /* form body for POST, or NULL */
	const char *headers[6];                  /* "Name: value", NULL-terminated */
	const char *basic_user, *basic_password; /* HTTP Basic auth when set */
	long timeout;                            /* seconds */
};

/* Perform f; the body goes to out, the HTTP response code to *http_code.  0, or -1 with a
 * short reason in err (timeout, connection refused, too large...). */
int fetch_perform(const struct fetch *f, struct buf *out, long *http_code, char *err, size_t errsz);
/* fetch_perform, then parse a JSON body (any type).  NULL with err on any
 * failure, including a non-2xx code when !any_code. */
json_t *fetch_json(const struct fetch *f, long *http_code, int any_code, char *err, size_t errsz);
/* Append s percent-encoded (RFC 3986 unreserved kept) to b. */
void fetch_urlencode(struct buf *b, const char *s);

#endif
