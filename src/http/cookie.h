/*
 * cookie — parsing the Cookie request header and writing Set-Cookie values,
 * the way Django does (so the seed's clients see the same cookies).  Pure
 * functions over caller-supplied buffers; never logs a value.
 */
#ifndef GATEHOUSE_COOKIE_H
#define GATEHOUSE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Find cookie name in a Cookie header ("a=1; b=2").  Like Django's
 * parse_cookie the last occurrence wins; surrounding spaces and one pair of
 * double quotes are removed.  1 and a slice into header when found, else 0. */
int cookie_find(const char *header, const char *name, const char **val, size_t *len);

struct cookie_attrs {
	int64_t max_age; /* seconds; < 0 deletes the cookie */
	bool http_only;
	bool secure;
	const char *path; /* NULL: "/" */
};

/* "name=value; expires=...; [HttpOnly; ]Max-Age=N; Path=P; SameSite=Lax[; Secure]"
 * (Django's attribute order) into b.  max_age < 0 writes Django's deletion form. */
void cookie_format(struct buf *b, const char *name, const char *value, const struct cookie_attrs *a,
    int64_t now);

#endif
