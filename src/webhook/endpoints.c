/*
 * webhook/endpoints — see endpoints.h.
 */
#include "webhook/endpoints.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

static const char *const event_names[WEBHOOK_NEVENTS] = {
	[WEBHOOK_USER_CREATED] = "user.created",
	[WEBHOOK_USER_EMAIL_CONFIRMED] = "user.email_confirmed",
	[WEBHOOK_USER_LOGIN] = "user.login",
	[WEBHOOK_USER_LOGIN_FAILED] = "user.login_failed",
	[WEBHOOK_USER_PASSWORD_CHANGED] = "user.password_changed",
	[WEBHOOK_USER_DEACTIVATED] = "user.deactivated",
	[WEBHOOK_SESSION_REVOKED] = "session.revoked",
	[WEBHOOK_TOKEN_CREATED] = "token.created",
	[WEBHOOK_TOKEN_REVOKED] = "token.revoked",
	[WEBHOOK_SOCIAL_CONNECTED] = "social.connected",
	[WEBHOOK_MFA_ENABLED] = "mfa.enabled",
	[WEBHOOK_MFA_DISABLED] = "mfa.disabled",
	[WEBHOOK_PASSKEY_ADDED] = "passkey.added",
	[WEBHOOK_PASSKEY_REMOVED] = "passkey.removed",
	[WEBHOOK_MFA_RECOVERY_CODE_USED] = "mfa.recovery_code_used",
};

#define BLANK " \t"

const char *
webhook_event_name(int e)
{
	return e >= 0 && e < WEBHOOK_NEVENTS ? event_names[e] : NULL;
}

int
webhook_event_by_name(const char *s, size_t len)
{
	for (int i = 0; i < WEBHOOK_NEVENTS; i++)
		if (strlen(event_names[i]) == len && memcmp(event_names[i], s, len) == 0)
			return i;
	return -1;
}

/* a dotted quad whose first number is 127 */
static bool
loopback_v4(const char *h, size_t len)
{
	char tmp[16];
	int a, b, c, d, used = 0;

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, h, len);
	tmp[len] = '\0';
	if (sscanf(tmp, "%3d.%3d.%3d.%3d%n", &a, &b, &c, &d, &used) != 4 || (size_t)used != len)
		return false;
	return a == 127 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255 &&
	    strspn(tmp, "0123456789.") == len;
}

/* 0, or -1 with err: see webhook_endpoints_parse */
static int
check_url(const char *u, size_t len, int entry, char *err, size_t errsz)
{
	const char *host, *end, *port = NULL;
	bool https;
	size_t hostlen;

	if (len > STORE_WEBHOOK_URL_MAX) {
		snprintf(err, errsz, "webhooks entry %d: the URL is longer than %d bytes", entry,
		    STORE_WEBHOOK_URL_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f || u[i] == '#' ||
		    u[i] == '\\') {
			snprintf(err, errsz,
			    "webhooks entry %d: the URL has a character that is not allowed (control, "
			    "non-ASCII, "
			    "'#' or '\\')",
			    entry);
			return -1;
		}
	if (len > 8 && strncmp(u, "https://", 8) == 0)
		https = true;
	else if (len > 7 && strncmp(u, "http://", 7) == 0)
		https = false;
	else {
		snprintf(err, errsz,
		    "webhooks entry %d: the URL must start with https:// (or http:// to a loopback address)",
		    entry);
		return -1;
	}
	host = u + (https ? 8 : 7);
	end = host;
	while (end < u + len && *end != '/' && *end != '?')
		end++;
	if (memchr(host, '@', (size_t)(end - host)) != NULL) {
		snprintf(err, errsz, "webhooks entry %d: the URL must not carry a user or password", entry);
		return -1;
	}
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		if (rb == NULL || rb == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(rb - host - 1)) {
			snprintf(err, errsz, "webhooks entry %d: the URL's IPv6 host is malformed", entry);
			return -1;
		}
		hostlen = (size_t)(rb - host) + 1;
		if (rb + 1 < end) {
			if (rb[1] != ':') {
				snprintf(err, errsz, "webhooks entry %d: the URL's host is malformed", entry);
				return -1;
			}
			port = rb + 2;
		}
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		hostlen = (size_t)((colon ? colon : end) - host);
		if (colon)
			port = colon + 1;
		if (hostlen == 0 ||
		    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") <
		        hostlen ||
		    host[0] == '.' || host[0] == '-') {
			snprintf(err, errsz, "webhooks entry %d: the URL has no host or a malformed one",
			    entry);
			return -1;
		}
	}
	if (port) {
		size_t plen = (size_t)(end - port);
		long v = 0;

		if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen) {
			snprintf(err, errsz, "webhooks entry %d: the URL's port is malformed", entry);
			return -1;
		}
		for (size_t i = 0; i < plen; i++)
			v = v * 10 + (port[i] - '0');
		if (v < 1 || v > 65535) {
			snprintf(err, errsz, "webhooks entry %d: the URL's port is out of range", entry);
			return -1;
		}
	}
	/* plain http only where nothing travels over a network: the body is signed, not encrypted */
	if (!https && !loopback_v4(host, hostlen) && !(hostlen == 5 && memcmp(host, "[::1]", 5) == 0) &&
	    !(hostlen == 9 && strncasecmp(host, "localhost", 9) == 0)) {
		snprintf(err, errsz,
		    "webhooks entry %d: http:// is allowed only to a loopback address (127.0.0.1, [::1], "
		    "localhost): use https://",
		    entry);
		return -1;
	}
	return 0;
}

static int
parse_events(const char *s, size_t len, uint32_t *events, int entry, char *err, size_t errsz)
{
	const char *p = s, *end = s + len;

	*events = 0;
	if (len == 1 && s[0] == '*') {
		*events = (1u << WEBHOOK_NEVENTS) - 1;
		return 0;
	}
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);
		int e = webhook_event_by_name(p, n);

		if (n == 0) {
			snprintf(err, errsz, "webhooks entry %d: an empty event name in the list", entry);
			return -1;
		}
		if (e < 0) {
			char name[48] = "?";
			/* named back only when it looks like an event name: a secret put in the wrong
			 * place (a field left out) must not be printed */
			if (n <= 40 && strspn(p, "abcdefghijklmnopqrstuvwxyz._") >= n &&
			    !memmem(p, n, "whsec", 5))
				snprintf(name, sizeof(name), "%.*s", (int)n, p);
			snprintf(err, errsz,
			    "webhooks entry %d: unknown event \"%s\" (known: user.created, "
			    "user.email_confirmed, user.login, user.login_failed, user.password_changed, "
			    "user.deactivated, "
			    "session.revoked, token.created, token.revoked, social.connected, mfa.enabled, "
			    "mfa.disabled, "
			    "passkey.added, passkey.removed, mfa.recovery_code_used, or *)",
			    entry, name);
			return -1;
		}
		*events |= 1u << e;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

static int
parse_secret(const char *s, size_t len, struct webhook_endpoint *ep, int entry, char *err, size_t errsz)
{
	unsigned char key[WEBHOOK_KEY_MAX + 8];
	size_t keylen = 0;
	const char *b64_end = NULL;
	int rc;

	if (len < 6 || strncmp(s, "whsec_", 6) != 0) {
		snprintf(err, errsz,
		    "webhooks entry %d: the secret must be whsec_ and base64 (Standard Webhooks)", entry);
		return -1;
	}
	rc = sodium_base642bin(key, sizeof(key), s + 6, len - 6, NULL, &keylen, &b64_end,
	    sodium_base64_VARIANT_ORIGINAL);
	if (rc != 0 || b64_end != s + len)
		rc = sodium_base642bin(key, sizeof(key), s + 6, len - 6, NULL, &keylen, &b64_end,
		    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (rc != 0 || b64_end != s + len) {
		sodium_memzero(key, sizeof(key));
		snprintf(err, errsz,
		    "webhooks entry %d: the secret after whsec_ is not valid base64 of 24 to 64 bytes",
		    entry);
		return -1;
	}
	if (keylen < WEBHOOK_KEY_MIN || keylen > WEBHOOK_KEY_MAX) {
		sodium_memzero(key, sizeof(key));
		snprintf(err, errsz, "webhooks entry %d: the secret is %zu bytes; it must be 24 to 64", entry,
		    keylen);
		return -1;
	}
	memcpy(ep->key, key, keylen);
	ep->keylen = keylen;
	sodium_memzero(key, sizeof(key));
	return 0;
}

/* one entry s[0..len), not blank */
static int
parse_entry(const char *s, size_t len, struct webhook_endpoints *out, int entry, char *err, size_t errsz)
{
	const char *tok[4];
	size_t toklen[4];
	int ntok = 0;
	const char *p = s, *end = s + len;
	struct webhook_endpoint *ep;

	while (p < end) {
		size_t n;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		n = 0;
		while (p + n < end && p[n] != ' ' && p[n] != '\t')
			n++;
		if (ntok == 4)
			break;
		tok[ntok] = p;
		toklen[ntok++] = n;
		p += n;
	}
	if (ntok != 3) {
		snprintf(err, errsz,
		    "webhooks entry %d: expected \"URL EVENTS SECRET\" (three fields), got %s", entry,
		    ntok > 3 ? "more" : "fewer");
		return -1;
	}
	if (out->n == WEBHOOK_MAX_ENDPOINTS) {
		snprintf(err, errsz, "webhooks: at most %d endpoints", WEBHOOK_MAX_ENDPOINTS);
		return -1;
	}
	ep = &out->e[out->n];
	memset(ep, 0, sizeof(*ep));
	if (check_url(tok[0], toklen[0], entry, err, errsz) != 0 ||
	    parse_events(tok[1], toklen[1], &ep->events, entry, err, errsz) != 0 ||
	    parse_secret(tok[2], toklen[2], ep, entry, err, errsz) != 0)
		return -1;
	memcpy(ep->url, tok[0], toklen[0]);
	ep->url[toklen[0]] = '\0';
	for (int i = 0; i < out->n; i++)
		if (strcmp(out->e[i].url, ep->url) == 0) {
			snprintf(err, errsz,
			    "webhooks entry %d: the same URL as entry %d (list its events once)", entry,
			    i + 1);
			return -1;
		}
	out->n++;
	return 0;
}

int
webhook_endpoints_parse(const char *text, struct webhook_endpoints *out, char *err, size_t errsz)
{
	const char *p = text ? text : "";
	int entry = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t n = strcspn(p, ";\r\n");

		if (strspn(p, BLANK) < n && parse_entry(p, n, out, ++entry, err, errsz) != 0) {
			webhook_endpoints_wipe(out);
			return -1;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

void
webhook_endpoints_wipe(struct webhook_endpoints *eps)
{
	sodium_memzero(eps, sizeof(*eps));
}

int
webhook_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp, const char *body,
    size_t bodylen, char *out, size_t outsz)
{
	crypto_auth_hmacsha256_state state;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[24];

	if (outsz < 3 + sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_ORIGINAL))
		return -1;
	snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	crypto_auth_hmacsha256_init(&state, key, keylen);
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)msg_id, strlen(msg_id));
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)body, bodylen);
	crypto_auth_hmacsha256_final(&state, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outsz - 3, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&state, sizeof(state));
	return 0;
}
