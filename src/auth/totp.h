/*
 * totp — authenticator-app codes (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
 * steps, computed by liboath), their secrets (random, shown once as base32
 * and an otpauth:// URI) and how a secret is kept at rest: sealed with
 * libsodium secretbox under a key derived from the server secret.
 *
 * The caller stores the last accepted time step beside the secret and passes
 * it back to totp_check, so a code is accepted at most once.
 *
 * Must never log or return a secret or a code, compare a code other than in
 * constant time, or keep a copy of a secret past the call (every key and
 * plain secret on the stack is wiped with sodium_memzero).
 */
#ifndef GATEHOUSE_TOTP_H
#define GATEHOUSE_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20 /* bytes: 160 bits, RFC 4226's recommendation */
#define TOTP_PERIOD     30
#define TOTP_DIGITS     6
#define TOTP_SEALED_MAX 128 /* sealed secret text incl. NUL */
#define TOTP_BASE32_MAX 40  /* base32 of the secret incl. NUL */
#define TOTP_TYPED_MAX  64  /* longest text totp_check reads before refusing it (spaces included) */

/* once at start-up (main calls it before threads): oath_init; 0 or -1 */
int totp_global_init(void);
/* a fresh random secret (libsodium randombytes) */
void totp_new_secret(unsigned char secret[TOTP_SECRET_LEN]);
/* RFC 4648 base32 without padding, upper case (what authenticator apps expect): 0 or -1 (out too small) */
int totp_base32(const unsigned char *secret, size_t len, char *out, size_t outsz);
/* otpauth://totp/<issuer>:<account>?secret=<b32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30,
 * issuer and account percent-encoded (RFC 3986 unreserved kept); malloc'd string, NULL on failure
 * (NULL argument, len 0 or > TOTP_SECRET_LEN).  The caller frees it, and should wipe it first:
 * it holds the secret. */
char *totp_otpauth_uri(const char *issuer, const char *account, const unsigned char *secret, size_t len);
/* the code of time step `step` with `digits` digits (6..8) into out (digits+1 bytes): 0 or -1 (liboath;
 * a negative step, digits out of range) */
int totp_code_at(const unsigned char *secret, size_t len, int64_t step, int digits, char *out);
/* Check a code a person typed (ASCII digits; spaces allowed and ignored; exactly TOTP_DIGITS digits
 * otherwise): the time step it matches among now's step -1, 0, +1 that is greater than last_step
 * (so an accepted code is never accepted again), compared in constant time, each candidate
 * step computed; 0 when none matches (including a replay), -1 when the text cannot be a code.
 * When two candidate steps match (a 1-in-10^6 coincidence) the earlier one is returned.
 * Steps <= 0 (the first 30 s of 1970) are never candidates.  A text of TOTP_TYPED_MAX bytes or
 * more is refused (-1) without reading past that bound. */
int64_t totp_check(const unsigned char *secret, size_t len, const char *typed, int64_t now,
    int64_t last_step);
/* Seal/open the secret for storage with a key derived from the server secret
 * (HMAC-SHA256 keyed by server_secret over a fixed context string; libsodium
 * crypto_secretbox_easy with a random nonce); the sealed text is "v1:" + base64 (sodium_bin2base64,
 * URL-safe no padding) of nonce||box, fits TOTP_SEALED_MAX. seal: 0, or -1 (len 0 or > TOTP_SECRET_LEN,
 * out too small).  open: secret must hold TOTP_SECRET_LEN bytes; 0 and *len set, or -1 when it was
 * sealed under another key, is truncated, tampered or not ours (secret then holds nothing). */
int totp_seal(const char *server_secret, const unsigned char *secret, size_t len, char *out, size_t outsz);
int totp_open(const char *server_secret, const char *sealed, unsigned char *secret, size_t *len);

#endif
