/*
 * totp — see totp.h.  liboath computes the codes (HOTP of the time step), so
 * there is no hand-written HMAC-SHA-1 here; libsodium does the randomness,
 * the sealing and the constant-time comparison.
 */
#include "auth/totp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "util.h"

#define SEAL_PREFIX  "v1:"
#define SEAL_CONTEXT "gatehouse.totp-secret.v1"
#define SEAL_RAW_MAX (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOTP_SECRET_LEN)

static void seal_key(const char *server_secret, unsigned char key[crypto_secretbox_KEYBYTES]);
static size_t pct_len(const char *s);
static char *pct_put(char *p, const char *s);

int
totp_global_init(void)
{
	return oath_init() == OATH_OK ? 0 : -1;
}

void
totp_new_secret(unsigned char secret[TOTP_SECRET_LEN])
{
	randombytes_buf(secret, TOTP_SECRET_LEN);
}

int
totp_base32(const unsigned char *secret, size_t len, char *out, size_t outsz)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t need = (len * 8 + 4) / 5, o = 0;
	unsigned int acc = 0, bits = 0;

	if (outsz == 0 || need >= outsz || (len > 0 && secret == NULL)) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | secret[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alpha[(acc >> bits) & 31];
		}
		acc &= (1u << bits) - 1; /* keep only the bits not yet written */
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

/* RFC 3986 unreserved characters stay, every other byte is %XX. */
static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '.' || c == '_' || c == '~';
}

static size_t
pct_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

static char *
pct_put(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

char *
totp_otpauth_uri(const char *issuer, const char *account, const unsigned char *secret, size_t len)
{
	static const char scheme[] = "otpauth://totp/", q_secret[] = "?secret=", q_issuer[] = "&issuer=",
	                  tail[] = "&algorithm=SHA1&digits=6&period=30";
	char b32[TOTP_BASE32_MAX], *uri = NULL, *p;
	size_t ilen, alen, blen, total;

	if (issuer == NULL || account == NULL || secret == NULL || len == 0 || len > TOTP_SECRET_LEN ||
	    totp_base32(secret, len, b32, sizeof(b32)) != 0)
		goto done;
	ilen = pct_len(issuer);
	alen = pct_len(account);
	blen = strlen(b32);
	/* the exact size up front: one allocation, so no realloc leaves a copy of the secret behind */
	total = sizeof(scheme) - 1 + ilen + 1 + alen + sizeof(q_secret) - 1 + blen + sizeof(q_issuer) - 1 +
	    ilen + sizeof(tail) - 1 + 1;
	uri = xmalloc(total);
	p = uri;
	memcpy(p, scheme, sizeof(scheme) - 1);
	p += sizeof(scheme) - 1;
	p = pct_put(p, issuer);
	*p++ = ':';
	p = pct_put(p, account);
	memcpy(p, q_secret, sizeof(q_secret) - 1);
	p += sizeof(q_secret) - 1;
	memcpy(p, b32, blen);
	p += blen;
	memcpy(p, q_issuer, sizeof(q_issuer) - 1);
	p += sizeof(q_issuer) - 1;
	p = pct_put(p, issuer);
	memcpy(p, tail, sizeof(tail));
done:
	sodium_memzero(b32, sizeof(b32));
	return uri;
}

int
totp_code_at(const unsigned char *secret, size_t len, int64_t step, int digits, char *out)
{
	if (secret == NULL || len == 0 || step < 0 || digits < 6 || digits > 8)
		return -1;
	if (oath_hotp_generate((const char *)secret, len, (uint64_t)step, (unsigned)digits, false,
	        OATH_HOTP_DYNAMIC_TRUNCATION, out) != OATH_OK) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int64_t
totp_check(const unsigned char *secret, size_t len, const char *typed, int64_t now, int64_t last_step)
{
	char code[TOTP_DIGITS + 1], want[TOTP_DIGITS + 1];
	int64_t step, found = 0;
	size_t n = 0;
	const char *p;

	/* bounded before anything else: a huge text costs TOTP_TYPED_MAX bytes of reading */
	if (typed == NULL || strnlen(typed, TOTP_TYPED_MAX) == TOTP_TYPED_MAX)
		return -1;
	for (p = typed; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || n == TOTP_DIGITS)
			break;
		code[n++] = *p;
	}
	if (*p != '\0' || n != TOTP_DIGITS) {
		sodium_memzero(code, sizeof(code));
		return -1;
	}
	code[n] = '\0';
	/* floor division: the step of a time before 1970 is negative, never a candidate */
	step = now / TOTP_PERIOD - (now % TOTP_PERIOD < 0 ? 1 : 0);
	for (int64_t s = step - 1; s <= step + 1; s++) {
		int match;

		/* every candidate is computed and compared, whatever matched before */
		if (s <= 0 || totp_code_at(secret, len, s, TOTP_DIGITS, want) != 0)
			continue;
		match = sodium_memcmp(code, want, TOTP_DIGITS) == 0;
		if (match && s > last_step && found == 0)
			found = s;
	}
	sodium_memzero(code, sizeof(code));
	sodium_memzero(want, sizeof(want));
	return found;
}

static void
seal_key(const char *server_secret, unsigned char key[crypto_secretbox_KEYBYTES])
{
	crypto_auth_hmacsha256_state st;

	/* HMAC-SHA256 takes a key of any length (the server secret is >= 32 characters, no upper bound) */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)server_secret, strlen(server_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)SEAL_CONTEXT, sizeof(SEAL_CONTEXT) - 1);
	crypto_auth_hmacsha256_final(&st, key);
	sodium_memzero(&st, sizeof(st));
}

int
totp_seal(const char *server_secret, const unsigned char *secret, size_t len, char *out, size_t outsz)
{
	unsigned char key[crypto_secretbox_KEYBYTES], raw[SEAL_RAW_MAX];
	size_t rawlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	size_t plen = sizeof(SEAL_PREFIX) - 1;
	int rc = -1;

	if (server_secret == NULL || secret == NULL || len == 0 || len > TOTP_SECRET_LEN ||
	    outsz < plen + sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		goto done;
	seal_key(server_secret, key);
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, secret, len, raw, key) != 0)
		goto done;
	memcpy(out, SEAL_PREFIX, plen);
	sodium_bin2base64(out + plen, outsz - plen, raw, rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = 0;
done:
	if (rc != 0 && outsz > 0)
		out[0] = '\0';
	sodium_memzero(key, sizeof(key));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int
totp_open(const char *server_secret, const char *sealed, unsigned char *secret, size_t *len)
{
	unsigned char key[crypto_secretbox_KEYBYTES], raw[SEAL_RAW_MAX];
	size_t plen = sizeof(SEAL_PREFIX) - 1, slen, rawlen, mlen;
	int rc = -1;

	*len = 0;
	if (server_secret == NULL || sealed == NULL)
		goto done;
	slen = strnlen(sealed, TOTP_SEALED_MAX);
	if (slen >= TOTP_SEALED_MAX || slen < plen || memcmp(sealed, SEAL_PREFIX, plen) != 0)
		goto done;
	if (sodium_base642bin(raw, sizeof(raw), sealed + plen, slen - plen, NULL, &rawlen, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    rawlen <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto done;
	mlen = rawlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	seal_key(server_secret, key);
	if (crypto_secretbox_open_easy(secret, raw + crypto_secretbox_NONCEBYTES,
	        rawlen - crypto_secretbox_NONCEBYTES, raw, key) != 0)
		goto done;
	*len = mlen;
	rc = 0;
done:
	if (rc != 0 && secret != NULL)
		sodium_memzero(secret, TOTP_SECRET_LEN);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}
