/*
 * cookie — see cookie.h.  Owns the cookie syntax, nothing else.
 */
#include "http/cookie.h"

#include <string.h>

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

int
cookie_find(const char *header, const char *name, const char **val, size_t *len)
{
	size_t nlen = strlen(name);
	int found = 0;
	const char *p = header;

	if (header == NULL)
		return 0;
	while (*p) {
		const char *end = strchr(p, ';'), *eq, *k, *v, *ke, *ve;

		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			k = p;
			ke = eq;
			v = eq + 1;
			ve = end;
			while (k < ke && is_space(*k))
				k++;
			while (ke > k && is_space(ke[-1]))
				ke--;
			while (v < ve && is_space(*v))
				v++;
			while (ve > v && is_space(ve[-1]))
				ve--;
			if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"') {
				v++;
				ve--;
			}
			if ((size_t)(ke - k) == nlen && memcmp(k, name, nlen) == 0) {
				*val = v;
				*len = (size_t)(ve - v);
				found = 1;
			}
		}
		p = *end ? end + 1 : end;
	}
	return found;
}

void
cookie_format(struct buf *b, const char *name, const char *value, const struct cookie_attrs *a, int64_t now)
{
	const char *path = a->path ? a->path : "/";
	char date[40];

	if (a->max_age < 0) {
		buf_printf(b,
		    "%s=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=%s; SameSite=Lax%s",
		    name, path, a->secure ? "; Secure" : "");
		return;
	}
	http_date(now + a->max_age, date, sizeof(date));
	buf_printf(b, "%s=%s; expires=%s; %sMax-Age=%lld; Path=%s; SameSite=Lax%s", name, value, date,
	    a->http_only ? "HttpOnly; " : "", (long long)a->max_age, path, a->secure ? "; Secure" : "");
}
