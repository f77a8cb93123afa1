/*
 * csrf — see csrf.h.  The algorithm and the messages follow Django 4.x's
 * CsrfViewMiddleware so the seed's SPA and Django-made tokens keep working.
 */
#include "auth/csrf.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "util.h"

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
csrf_cookie_secret(const struct auth_in *in, char *out)
{
	if (in->csrf_cookie == NULL)
		return -1;
	return csrf_unmask(in->csrf_cookie, in->csrf_cookie_len, out);
}

int
csrf_set_cookie(const struct auth_env *env, const char *secret, struct auth_cookies *out)
{
	return auth_cookie_add(out, "csrftoken", secret, 31449600, false, env->cfg->secure_cookies);
}

/* Django checks the Referer of https requests that carry no Origin. */
static int
referer_ok(const struct config *cfg, const char *referer)
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
	return config_origin_allowed(cfg, referer, n);
}

int
csrf_check(const struct auth_env *env, const struct auth_in *in, char *why, size_t whysz)
{
	const char *origin = in->origin;
	const char *header = in->csrf_header;
	char cookie[CSRF_SECRET_LEN + 1], given[CSRF_SECRET_LEN + 1];
	size_t hlen;
	int ret = -1;

	if (origin != NULL) {
		if (!config_origin_allowed(env->cfg, origin, strlen(origin))) {
			char shown[128];

			/* the client's text, only as a printable ASCII copy */
			ascii_sanitize(origin, 100, shown, sizeof(shown));
			snprintf(why, whysz,
			    "CSRF Failed: Origin checking failed - %s does not match any trusted origins.",
			    shown);
			return -1;
		}
	} else if (in->https) {
		const char *referer = in->referer;
		if (referer == NULL) {
			snprintf(why, whysz, "CSRF Failed: Referer checking failed - no Referer.");
			return -1;
		}
		if (!referer_ok(env->cfg, referer)) {
			char shown[128];

			ascii_sanitize(referer, 100, shown, sizeof(shown));
			snprintf(why, whysz,
			    "CSRF Failed: Referer checking failed - %s does not match any trusted origins.",
			    shown);
			return -1;
		}
	}
	if (csrf_cookie_secret(in, cookie) != 0) {
		snprintf(why, whysz, "CSRF Failed: CSRF cookie not set.");
		return -1;
	}
	if (header == NULL || header[0] == '\0') {
		snprintf(why, whysz, "CSRF Failed: CSRF token missing.");
		goto done;
	}
	hlen = strlen(header);
	if (hlen != CSRF_SECRET_LEN && hlen != CSRF_TOKEN_LEN) {
		snprintf(why, whysz,
		    "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.");
		goto done;
	}
	if (csrf_unmask(header, hlen, given) != 0) {
		snprintf(why, whysz,
		    "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.");
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
