/*
 * csrf — see csrf.h.  The algorithm and the messages follow Django 4.x's
 * CsrfViewMiddleware so the seed's SPA and Django-made tokens keep working.
 */
#include "auth/csrf.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "http/cookie.h"
#include "http/http.h"

static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
#define NCHARS 62

static int
char_index(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return 26 + c - 'A';
	if (c >= '0' && c <= '9')
		return 52 + c - '0';
	return -1;
}

void
csrf_new_secret(char *out)
{
	random_chars(out, CSRF_SECRET_LEN, chars);
}

void
csrf_mask(const char *secret, char *out)
{
	char mask[CSRF_SECRET_LEN + 1];

	random_chars(mask, CSRF_SECRET_LEN, chars);
	for (int i = 0; i < CSRF_SECRET_LEN; i++) {
		out[i] = mask[i];
		out[CSRF_SECRET_LEN + i] = chars[(char_index(secret[i]) + char_index(mask[i])) % NCHARS];
	}
	out[CSRF_TOKEN_LEN] = '\0';
}

int
csrf_unmask(const char *token, size_t len, char *out)
{
	if (len != CSRF_SECRET_LEN && len != CSRF_TOKEN_LEN)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (char_index(token[i]) < 0)
			return -1;
	if (len == CSRF_SECRET_LEN) {
		memcpy(out, token, CSRF_SECRET_LEN);
	} else {
		for (int i = 0; i < CSRF_SECRET_LEN; i++) {
			int m = char_index(token[i]), c = char_index(token[CSRF_SECRET_LEN + i]);
			out[i] = chars[(c - m + NCHARS) % NCHARS];
		}
	}
	out[CSRF_SECRET_LEN] = '\0';
	return 0;
}

int
csrf_cookie_secret(struct request *r, char *out)
{
	const char *v;
	size_t n;

	if (!cookie_find(request_header(r, "Cookie"), "csrftoken", &v, &n))
		return -1;
	return csrf_unmask(v, n, out);
}

void
csrf_set_cookie(struct request *r, const char *secret)
{
	struct cookie_attrs a = { .max_age = 31449600, .http_only = false,
	    .secure = r->app->cfg.secure_cookies };
	struct buf b = { 0 };

	cookie_format(&b, "csrftoken", secret, &a, now_unix());
	response_header(r, "Set-Cookie", b.data);
	buf_free(&b);
}

/* Django checks the Referer of https requests that carry no Origin. */
static int
referer_ok(struct request *r, const char *referer)
{
	const char *p;
	size_t n;

	if (referer == NULL)
		return 0;
	/* origin part of the referer: scheme://host[:port] up to the next '/' */
	p = strstr(referer, "://");
	if (p == NULL)
		return 0;
	p += 3;
	n = (size_t)(p - referer) + strcspn(p, "/?#");
	return config_origin_allowed(&r->app->cfg, referer, n);
}

int
csrf_check(struct request *r, char *why, size_t whysz)
{
	const char *origin = request_header(r, "Origin");
	const char *header = request_header(r, "X-CSRFToken");
	char cookie[CSRF_SECRET_LEN + 1], given[CSRF_SECRET_LEN + 1];
	size_t hlen;
	int ret = -1;

	if (origin != NULL) {
		if (!config_origin_allowed(&r->app->cfg, origin, strlen(origin))) {
			char shown[128];

			/* the client's text, only as a printable ASCII copy */
			ascii_sanitize(origin, 100, shown, sizeof(shown));
			snprintf(why, whysz, "CSRF Failed: Origin checking failed - %s does not match any trusted origins.",
			    shown);
			return -1;
		}
	} else if (r->app->cfg.secure_cookies) {
		const char *referer = request_header(r, "Referer");
		if (referer == NULL) {
			snprintf(why, whysz, "CSRF Failed: Referer checking failed - no Referer.");
			return -1;
		}
		if (!referer_ok(r, referer)) {
			char shown[128];

			ascii_sanitize(referer, 100, shown, sizeof(shown));
			snprintf(why, whysz, "CSRF Failed: Referer checking failed - %s does not match any trusted origins.",
			    shown);
			return -1;
		}
	}
	if (csrf_cookie_secret(r, cookie) != 0) {
		snprintf(why, whysz, "CSRF Failed: CSRF cookie not set.");
		return -1;
	}
	if (header == NULL || header[0] == '\0') {
		snprintf(why, whysz, "CSRF Failed: CSRF token missing.");
		goto done;
	}
	hlen = strlen(header);
	if (hlen != CSRF_SECRET_LEN && hlen != CSRF_TOKEN_LEN) {
		snprintf(why, whysz, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.");
		goto done;
	}
	if (csrf_unmask(header, hlen, given) != 0) {
		snprintf(why, whysz, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.");
		goto done;
	}
	if (sodium_memcmp(given, cookie, CSRF_SECRET_LEN) != 0) {
		snprintf(why, whysz, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.");
		goto done;
	}
	ret = 0;
done:
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(given, sizeof(given));
	return ret;
}
