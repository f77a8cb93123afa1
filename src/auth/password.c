/*
 * password: new hashes are Argon2id through libsodium; stored hashes verify
 * in our own format and in every Django format a migrating site may hold:
 *
 *   argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash   (ours, Django >= 3.2)
 *   argon2$argon2i$[v=19$]m=..,t=..,p=..$salt$hash  (Django 1.10 - 3.1)
 *   pbkdf2_sha256$iter$salt$b64, pbkdf2_sha1$iter$salt$b64
 *   bcrypt_sha256$$2b$cost$..., bcrypt$$2b$cost$...
 *   scrypt$n$salt$r$p$b64                          (Django >= 4.0)
 *
 * Owns: parsing those strings, the bounds on the cost a stored hash may ask
 * for (a hash is data; a corrupt or hostile row must not buy a minute of CPU
 * or a gigabyte per login), and the dummy hash for unknown accounts.
 * Must never: log or keep a password or derived key, compare a derived value
 * with anything but sodium_memcmp, call sodium_init(), or hold a lock while
 * hashing for a caller.
 *
 * Verification follows Django's own rule: a hash matches when re-encoding
 * the password with the stored parameters gives back the stored text, so
 * non-canonical numbers or base64 that Django would reject are rejected here.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <crypt.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "auth/password.h"

/*
 * Bounds on stored parameters. FUZZING builds cap them hard so the fuzzer
 * spends its time in the parsers, not in legitimately expensive hashes.
 */
/* clang-format off */
#ifdef FUZZING
#define PBKDF2_MAX_ITER		1000ULL
#define ARGON2_MAX_T		4ULL
#define ARGON2_MAX_M_KIB	64ULL
#define ARGON2_MAX_P		8ULL
#define BCRYPT_MAX_COST		5
#define SCRYPT_MAX_N		(1ULL << 10)
#define SCRYPT_MAX_R		8ULL
#define SCRYPT_MAX_P		2ULL
#define SCRYPT_MAX_MEM		(64ULL * 1024)
#else
#define PBKDF2_MAX_ITER		10000000ULL
#define ARGON2_MAX_T		100ULL
#define ARGON2_MAX_M_KIB	(1024ULL * 1024)	/* 1 GiB */
#define ARGON2_MAX_P		64ULL
#define BCRYPT_MAX_COST		16			/* Django writes 12 */
#define SCRYPT_MAX_N		(1ULL << 20)
#define SCRYPT_MAX_R		32ULL
#define SCRYPT_MAX_P		16ULL
#define SCRYPT_MAX_MEM		(1024ULL * 1024 * 1024)	/* as argon2 */
#endif

#define OUR_SALT_BYTES	16
#define OUR_HASH_BYTES	32
#define MAX_DK_BYTES	64		/* scrypt's dklen, the largest we derive */
#define BCRYPT_LEN	60		/* "$2b$12$" + 22 salt + 31 hash */
#define BCRYPT_KEY_MAX	72		/* bcrypt reads no further */

struct slice {
	const char	*p;
	size_t		 len;
};

struct argon2_desc {
	argon2_type		 type;
	unsigned long long	 version;
	unsigned long long	 m, t, p;
	struct slice		 salt, hash;
};

static int	has_prefix(const char *, const char *);
static size_t	split(const char *, struct slice *, size_t);
static int	parse_dec(struct slice, unsigned long long, unsigned long long *);
static int	b64_equal(const unsigned char *, size_t, struct slice);
static int	b64_decoded_len(struct slice, size_t *);
static int	is_b64(struct slice);
static int	parse_argon2(const char *, struct argon2_desc *);
static int	verify_argon2(const char *, const char *, size_t);
static int	verify_pbkdf2(const char *, const EVP_MD *, size_t,
		    const char *, size_t);
static int	verify_bcrypt(const char *, int, const char *, size_t);
static int	verify_scrypt(const char *, const char *, size_t);

static pthread_mutex_t		dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char			dummy_encoded[PASSWORD_ENCODED_MAX];
static struct password_params	dummy_params;
/* clang-format on */

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Split s on '$' into at most nf fields, the last one taking the rest
 * (Python's s.split('$', nf - 1)). Returns the number of fields found.
 */
static size_t
split(const char *s, struct slice *f, size_t nf)
{
	size_t n = 0;
	const char *d;

	while (n + 1 < nf && (d = strchr(s, '$')) != NULL) {
		f[n].p = s;
		f[n].len = (size_t)(d - s);
		n++;
		s = d + 1;
	}
	f[n].p = s;
	f[n].len = strlen(s);
	return n + 1;
}

/* Canonical decimal only (no sign, space or leading zero), at most max. */
static int
parse_dec(struct slice s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (s.len == 0 || s.len > 20 || (s.len > 1 && s.p[0] == '0'))
		return -1;
	for (i = 0; i < s.len; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		d = (unsigned)(s.p[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* 1 if want is exactly the padded standard base64 of bin, in constant time. */
static int
b64_equal(const unsigned char *bin, size_t binlen, struct slice want)
{
	char buf[sodium_base64_ENCODED_LEN(MAX_DK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	size_t n;
	int eq = 0;

	if (binlen > MAX_DK_BYTES)
		goto done;
	sodium_bin2base64(buf, sizeof buf, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
	n = strlen(buf);
	eq = n == want.len && sodium_memcmp(buf, want.p, n) == 0;
done:
	sodium_memzero(buf, sizeof buf);
	return eq;
}

/* Length of unpadded standard base64 s once decoded; -1 if s is not that. */
static int
b64_decoded_len(struct slice s, size_t *out)
{
	unsigned char bin[PASSWORD_ENCODED_MAX];
	const char *end = NULL;
	int rc = -1;

	if (sodium_base642bin(bin, sizeof bin, s.p, s.len, NULL, out, &end,
	        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
	    end == s.p + s.len)
		rc = 0;
	sodium_memzero(bin, sizeof bin);
	return rc;
}

/*
 * Only [A-Za-z0-9+/]: libargon2's decoder reads a byte >= 0x80 as a digit
 * (signed char), so "corrupted" hashes could otherwise still match.
 */
static int
is_b64(struct slice s)
{
	size_t i;

	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

/*
 * Parse the PHC string after Django's "argon2" prefix:
 * "$argon2id$" or "$argon2i$", optional "v=16$"/"v=19$" (absent means 16,
 * as libargon2 reads it), "m=M,t=T,p=P$", salt "$" hash. Numbers must be
 * canonical so that libargon2, parsing the same text, sees the same values
 * that are bounds-checked here. No bounds are applied.
 */
static int
parse_argon2(const char *s, struct argon2_desc *d)
{
	struct slice f[5], kv[3];
	size_t nf, i;
	static const char *const keys[3] = { "m=", "t=", "p=" };
	unsigned long long *vals[3];

	vals[0] = &d->m;
	vals[1] = &d->t;
	vals[2] = &d->p;
	if (s[0] != '$')
		return -1;
	nf = split(s + 1, f, 5);
	if (nf < 4)
		return -1;
	if (f[0].len == 8 && memcmp(f[0].p, "argon2id", 8) == 0)
		d->type = Argon2_id;
	else if (f[0].len == 7 && memcmp(f[0].p, "argon2i", 7) == 0)
		d->type = Argon2_i;
	else
		return -1;
	i = 1;
	d->version = ARGON2_VERSION_10;
	if (f[1].len >= 2 && memcmp(f[1].p, "v=", 2) == 0) {
		struct slice v = { f[1].p + 2, f[1].len - 2 };

		if (parse_dec(v, UINT32_MAX, &d->version) == -1 ||
		    (d->version != ARGON2_VERSION_10 && d->version != ARGON2_VERSION_13))
			return -1;
		i = 2;
	}
	/* exactly params, salt, hash remain, and the hash holds no '$' */
	if (nf != i + 3 || memchr(f[i + 2].p, '$', f[i + 2].len) != NULL)
		return -1;
	{
		struct slice params = f[i];
		const char *c = params.p, *end = params.p + params.len;
		size_t k;

		for (k = 0; k < 3; k++) {
			const char *comma = memchr(c, ',', (size_t)(end - c));
			const char *stop = comma != NULL && k < 2 ? comma : end;

			kv[k].p = c + 2;
			if ((size_t)(stop - c) < 2 || memcmp(c, keys[k], 2) != 0)
				return -1;
			kv[k].len = (size_t)(stop - c) - 2;
			if (parse_dec(kv[k], UINT32_MAX, vals[k]) == -1)
				return -1;
			if (k < 2 && stop == end)
				return -1;
			c = stop + 1;
		}
	}
	d->salt = f[i + 1];
	d->hash = f[i + 2];
	if (d->salt.len == 0 || d->hash.len == 0 || !is_b64(d->salt) || !is_b64(d->hash))
		return -1;
	return 0;
}

static int
verify_argon2(const char *phc, const char *pw, size_t pwlen)
{
	struct argon2_desc d;
	int ok = 0;

	if (parse_argon2(phc, &d) == -1)
		goto done;
	if (d.t < 1 || d.t > ARGON2_MAX_T || d.p < 1 || d.p > ARGON2_MAX_P || d.m < 8 * d.p ||
	    d.m > ARGON2_MAX_M_KIB)
		goto done;
	/*
	 * libsodium is about twice as fast as libargon2 but only does p=1,
	 * v=19, which is every hash we write (and the dummy hash, so unknown
	 * accounts cost the same). Django's p=8 and v=16 go to libargon2.
	 */
	if (d.p == 1 && d.version == ARGON2_VERSION_13) {
		if (d.type == Argon2_id)
			ok = crypto_pwhash_argon2id_str_verify(phc, pw, pwlen) == 0;
		else
			ok = crypto_pwhash_argon2i_str_verify(phc, pw, pwlen) == 0;
	} else
		ok = argon2_verify(phc, pw, pwlen, d.type) == ARGON2_OK;
done:
	return ok;
}

/* "<iter>$<salt>$<b64>" after the algorithm name; dk is md's size. */
static int
verify_pbkdf2(const char *rest, const EVP_MD *md, size_t dklen, const char *pw, size_t pwlen)
{
	unsigned char dk[MAX_DK_BYTES];
	struct slice f[3];
	unsigned long long iter;
	int ok = 0;

	if (split(rest, f, 3) != 3 || f[1].len == 0 || dklen > sizeof dk ||
	    parse_dec(f[0], PBKDF2_MAX_ITER, &iter) == -1 || iter == 0)
		goto done;
	if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, (const unsigned char *)f[1].p, (int)f[1].len, (int)iter, md,
	        (int)dklen, dk) != 1)
		goto done;
	ok = b64_equal(dk, dklen, f[2]);
done:
	sodium_memzero(dk, sizeof dk);
	return ok;
}

/*
 * setting is Django's data after "bcrypt$" / "bcrypt_sha256$": a whole
 * "$2b$12$<22 salt><31 hash>" string. Like pyca/bcrypt (which Django uses),
 * the key is cut at 72 bytes, a NUL in it is refused, and "$2a$"/"$2y$" hash
 * as "$2b$"; the prefix itself must match as text.
 */
static int
verify_bcrypt(const char *setting, int prehash, const char *pw, size_t pwlen)
{
	static const char alphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char key[BCRYPT_KEY_MAX + 1], salt[BCRYPT_LEN + 1];
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct crypt_data *cd = NULL;
	const char *res;
	size_t i, n;
	int cost, ok = 0;

	if (strlen(setting) != BCRYPT_LEN || setting[0] != '$' || setting[1] != '2' ||
	    strchr("aby", setting[2]) == NULL || setting[3] != '$' || setting[6] != '$' || setting[4] < '0' ||
	    setting[4] > '9' || setting[5] < '0' || setting[5] > '9')
		goto done;
	cost = (setting[4] - '0') * 10 + (setting[5] - '0');
	if (cost < 4 || cost > BCRYPT_MAX_COST)
		goto done;
	for (i = 7; i < BCRYPT_LEN; i++)
		if (setting[i] == '\0' || strchr(alphabet, setting[i]) == NULL)
			goto done;

	if (prehash) {
		/* Django: bcrypt(hex(sha256(password))), 64 bytes, no cut */
		crypto_hash_sha256(digest, (const unsigned char *)pw, pwlen);
		sodium_bin2hex(key, sizeof key, digest, sizeof digest);
	} else {
		if (memchr(pw, '\0', pwlen) != NULL)
			goto done;
		n = pwlen < BCRYPT_KEY_MAX ? pwlen : BCRYPT_KEY_MAX;
		memcpy(key, pw, n);
		key[n] = '\0';
	}
	memcpy(salt, setting, sizeof salt);
	salt[2] = 'b';
	/* struct crypt_data is ~32 KiB: keep it off worker stacks */
	if ((cd = calloc(1, sizeof *cd)) == NULL)
		goto done;
	res = crypt_r(key, salt, cd);
	if (res == NULL || strlen(res) != BCRYPT_LEN)
		goto done;
	ok = sodium_memcmp(res + 3, setting + 3, BCRYPT_LEN - 3) == 0;
done:
	sodium_memzero(key, sizeof key);
	sodium_memzero(digest, sizeof digest);
	if (cd != NULL) {
		sodium_memzero(cd, sizeof *cd);
		free(cd);
	}
	return ok;
}

/* Django 4.x: "<n>$<salt>$<r>$<p>$<b64 of 64-byte key>" after "scrypt$". */
static int
verify_scrypt(const char *rest, const char *pw, size_t pwlen)
{
	unsigned char dk[MAX_DK_BYTES];
	struct slice f[6];
	unsigned long long n, r, p;
	int ok = 0;

	if (split(rest, f, 6) != 5 || f[1].len == 0 || parse_dec(f[0], SCRYPT_MAX_N, &n) == -1 ||
	    parse_dec(f[2], SCRYPT_MAX_R, &r) == -1 || parse_dec(f[3], SCRYPT_MAX_P, &p) == -1)
		goto done;
	if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
		goto done;
	/* OpenSSL's own accounting: B is 128*r*p, V is 128*r*(N+2) */
	if (128 * r * (p + n + 2) > SCRYPT_MAX_MEM)
		goto done;
	if (EVP_PBE_scrypt(pw, pwlen, (const unsigned char *)f[1].p, f[1].len, n, r, p, SCRYPT_MAX_MEM, dk,
	        sizeof dk) != 1)
		goto done;
	ok = b64_equal(dk, sizeof dk, f[4]);
done:
	sodium_memzero(dk, sizeof dk);
	return ok;
}

int
password_hash(const struct password_params *p, const char *pw, size_t pwlen, char *out, size_t outsz)
{
	unsigned char salt[OUR_SALT_BYTES], hash[OUR_HASH_BYTES];
	char salt64[sodium_base64_ENCODED_LEN(OUR_SALT_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	char hash64[sodium_base64_ENCODED_LEN(OUR_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	int n, rc = -1;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (p == NULL || (pw == NULL && pwlen != 0) || pwlen > PASSWORD_MAX_BYTES)
		goto done;
	/* only what password_verify() will accept back */
	if (p->iterations < 1 || p->iterations > ARGON2_MAX_T || p->memory_kib < 8 ||
	    p->memory_kib > ARGON2_MAX_M_KIB)
		goto done;
	randombytes_buf(salt, sizeof salt);
	if (crypto_pwhash(hash, sizeof hash, pw != NULL ? pw : "", pwlen, salt, p->iterations,
	        p->memory_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
		goto done;
	sodium_bin2base64(salt64, sizeof salt64, salt, sizeof salt,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(hash64, sizeof hash64, hash, sizeof hash,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	n = snprintf(out, outsz, "argon2$argon2id$v=19$m=%zu,t=%llu,p=1$%s$%s", p->memory_kib, p->iterations,
	    salt64, hash64);
	if (n < 0 || (size_t)n >= outsz) {
		sodium_memzero(out, outsz);
		goto done;
	}
	rc = 0;
done:
	sodium_memzero(hash, sizeof hash);
	sodium_memzero(hash64, sizeof hash64);
	return rc;
}

int
password_verify(const char *encoded, const char *pw, size_t pwlen)
{
	size_t len;
	int ok = 0;

	if (encoded == NULL || (pw == NULL && pwlen != 0) || pwlen > PASSWORD_MAX_BYTES)
		goto done;
	if (pw == NULL)
		pw = "";
	len = strnlen(encoded, PASSWORD_ENCODED_MAX);
	/* "" and Django's unusable "!..." fall through as unsupported */
	if (len == 0 || len >= PASSWORD_ENCODED_MAX)
		goto done;
	if (has_prefix(encoded, "argon2$"))
		ok = verify_argon2(encoded + strlen("argon2"), pw, pwlen);
	else if (has_prefix(encoded, "pbkdf2_sha256$"))
		ok = verify_pbkdf2(encoded + strlen("pbkdf2_sha256$"), EVP_sha256(), 32, pw, pwlen);
	else if (has_prefix(encoded, "pbkdf2_sha1$"))
		ok = verify_pbkdf2(encoded + strlen("pbkdf2_sha1$"), EVP_sha1(), 20, pw, pwlen);
	else if (has_prefix(encoded, "bcrypt_sha256$"))
		ok = verify_bcrypt(encoded + strlen("bcrypt_sha256$"), 1, pw, pwlen);
	else if (has_prefix(encoded, "bcrypt$"))
		ok = verify_bcrypt(encoded + strlen("bcrypt$"), 0, pw, pwlen);
	else if (has_prefix(encoded, "scrypt$"))
		ok = verify_scrypt(encoded + strlen("scrypt$"), pw, pwlen);
done:
	return ok;
}

int
password_needs_rehash(const struct password_params *p, const char *encoded)
{
	struct argon2_desc d;
	size_t saltlen, hashlen;

	if (p == NULL || encoded == NULL || strnlen(encoded, PASSWORD_ENCODED_MAX) >= PASSWORD_ENCODED_MAX ||
	    !has_prefix(encoded, "argon2$") || parse_argon2(encoded + strlen("argon2"), &d) == -1)
		return 1;
	if (d.type != Argon2_id || d.version != ARGON2_VERSION_13 || d.p != 1 || d.t != p->iterations ||
	    d.m != p->memory_kib)
		return 1;
	if (b64_decoded_len(d.salt, &saltlen) == -1 || b64_decoded_len(d.hash, &hashlen) == -1 ||
	    saltlen < OUR_SALT_BYTES || hashlen != OUR_HASH_BYTES)
		return 1;
	return 0;
}

int
password_dummy_verify(const struct password_params *p, const char *pw, size_t pwlen)
{
	char enc[PASSWORD_ENCODED_MAX];
	unsigned char junk[16];
	int locked = 0, rc = -1;

	if (p == NULL || pthread_mutex_lock(&dummy_lock) != 0)
		goto done;
	locked = 1;
	if (dummy_encoded[0] == '\0' || dummy_params.iterations != p->iterations ||
	    dummy_params.memory_kib != p->memory_kib) {
		/* once per cost setting; nobody knows this password */
		randombytes_buf(junk, sizeof junk);
		if (password_hash(p, (const char *)junk, sizeof junk, dummy_encoded, sizeof dummy_encoded) ==
		    -1)
			goto done;
		dummy_params = *p;
	}
	memcpy(enc, dummy_encoded, sizeof enc);
	pthread_mutex_unlock(&dummy_lock);
	locked = 0;
	(void)password_verify(enc, pw, pwlen);
	rc = 0;
done:
	if (locked)
		pthread_mutex_unlock(&dummy_lock);
	sodium_memzero(junk, sizeof junk);
	return rc;
}
