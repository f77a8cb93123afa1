/*
 * reset_token — see reset_token.h.
 */
#include "auth/reset_token.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

#define MAC_HEX 32 /* 128 bits of HMAC-SHA256, hex */

void
reset_uid_encode(int64_t id, char *out, size_t outsz)
{
	char dec[24];
	int n = snprintf(dec, sizeof(dec), "%lld", (long long)id);

	sodium_bin2base64(out, outsz, (const unsigned char *)dec, (size_t)n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
reset_uid_decode(const char *uid, int64_t *id)
{
	unsigned char dec[24];
	size_t n;
	long long v;
	char s[25];

	if (strlen(uid) > RESET_UID_MAX ||
	    sodium_base642bin(dec, sizeof(dec) - 1, uid, strlen(uid), NULL, &n, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n == 0 || memchr(dec, '\0', n) != NULL)
		return -1;
	memcpy(s, dec, n);
	s[n] = '\0';
	if (s[0] == '0' || parse_ll(s, 1, INT64_MAX, &v) != 0)
		return -1;
	*id = (int64_t)v;
	return 0;
}

static void
mac(const char *secret, const struct store_user *u, int64_t ts, char out[MAC_HEX + 1])
{
	crypto_auth_hmacsha256_state st;
	unsigned char h[crypto_auth_hmacsha256_BYTES];
	char buf[96];
	int n;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"gatehouse.password-reset", 24);
	n = snprintf(buf, sizeof(buf), "|%lld|%lld|%lld|", (long long)u->id, (long long)u->last_login,
	    (long long)ts);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)buf, (size_t)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)u->password, strlen(u->password) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)u->auth_hash, strlen(u->auth_hash) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)u->email, strlen(u->email) + 1);
	crypto_auth_hmacsha256_final(&st, h);
	hex_encode(h, MAC_HEX / 2, out);
	sodium_memzero(h, sizeof(h));
}

static void
base36(int64_t v, char *out, size_t outsz)
{
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v > 0 && n < sizeof(tmp));
	for (size_t i = 0; i < n && i + 1 < outsz; i++)
		out[i] = tmp[n - 1 - i];
	out[n < outsz ? n : outsz - 1] = '\0';
}

void
reset_token_make(const char *secret, const struct store_user *u, int64_t now, char *out, size_t outsz)
{
	char ts[16], m[MAC_HEX + 1];

	base36(now, ts, sizeof(ts));
	mac(secret, u, now, m);
	snprintf(out, outsz, "%s-%s", ts, m);
	sodium_memzero(m, sizeof(m));
}

int
reset_token_check(const char *secret, const struct store_user *u, const char *token, int64_t now, int64_t ttl)
{
	const char *dash = strchr(token, '-');
	char want[MAC_HEX + 1];
	int64_t ts = 0;
	int ret;

	if (dash == NULL || dash == token || dash - token > 12 || strlen(dash + 1) != MAC_HEX)
		return -1;
	for (const char *p = token; p < dash; p++) {
		int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'z') ? *p - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		ts = ts * 36 + d;
	}
	if (ts > now + 60 || now - ts > ttl)
		return -1;
	mac(secret, u, ts, want);
	ret = sodium_memcmp(want, dash + 1, MAC_HEX) == 0 ? 0 : -1;
	sodium_memzero(want, sizeof(want));
	return ret;
}
