/*
 * password: hashing new passwords (Argon2id, libsodium) and verifying
 * stored hashes, ours and Django's (pbkdf2_sha256, pbkdf2_sha1, argon2id,
 * argon2i, bcrypt_sha256, bcrypt, scrypt).
 *
 * Owns: the encoded hash format, the cost bounds a stored hash may ask for,
 * and the dummy hash that makes unknown accounts cost one verification.
 * Must never: log, store or return a password; compare secrets with memcmp;
 * leave derived keys in memory; call sodium_init() (main does).
 */
#ifndef GATEHOUSE_PASSWORD_H
#define GATEHOUSE_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX_BYTES   4096 /* longer passwords are rejected by callers before hashing */
#define PASSWORD_ENCODED_MAX 512  /* buffer size that fits any encoded hash we write */

struct password_params {
	unsigned long long iterations; /* argon2 t, default 2 */
	size_t memory_kib;             /* argon2 m in KiB, default 19456 (19 MiB) */
};

#define PASSWORD_DEFAULT_ITERATIONS 2ULL
#define PASSWORD_DEFAULT_MEMORY_KIB ((size_t)19456)

/*
 * Hash pw (pwlen bytes, any content) with Argon2id (p=1, 16-byte random salt,
 * 32-byte hash) into Django's format,
 * "argon2$argon2id$v=19$m=19456,t=2,p=1$<salt b64 no pad>$<hash b64 no pad>",
 * written NUL-terminated into out. Returns 0, or -1 when out is too small,
 * memory runs out, pwlen > PASSWORD_MAX_BYTES, or p is outside what
 * password_verify accepts (t 1..100, m 8..1048576 KiB); out is then "".
 */
int password_hash(const struct password_params *p, const char *pw, size_t pwlen, char *out, size_t outsz);

/*
 * 1 if pw matches encoded, 0 otherwise: mismatch, unusable ("!...") or empty
 * hash, malformed or unsupported format, cost parameters out of bounds,
 * encoded longer than PASSWORD_ENCODED_MAX - 1, pwlen > PASSWORD_MAX_BYTES.
 * Never crashes on any NUL-terminated string. Thread-safe.
 */
int password_verify(const char *encoded, const char *pw, size_t pwlen);

/*
 * 1 if encoded is not an argon2id v=19 hash with exactly p's t and m, p=1,
 * a 32-byte hash and at least a 16-byte salt, i.e. it should be replaced by
 * password_hash() after a successful login; 0 if it is current.
 */
int password_needs_rehash(const struct password_params *p, const char *encoded);

/*
 * Costs the same as password_verify() against a hash made with p; the
 * result is discarded. For unknown accounts, so that timing does not tell
 * whether an account exists. Thread-safe: the dummy hash is made on the
 * first call for given p (that call costs one hash more; call it once at
 * start-up to avoid it). Returns 0, or -1 if the dummy hash cannot be made.
 */
int password_dummy_verify(const struct password_params *p, const char *pw, size_t pwlen);

#endif
