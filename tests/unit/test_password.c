/*
 * Unit test for src/auth/password.c: agrees with Django on every vector in
 * vectors/django_hashes.h (made by Django's own hashers), round-trips our
 * own Argon2id format, asks for rehash of everything else, and survives
 * malformed, truncated, mutated and over-expensive hash strings.
 * Must never: need network, Django or more than a few seconds.
 */
#include "../../src/auth/password.c"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "test.h"
#include "vectors/django_hashes.h"

#define NVEC (sizeof django_hashes / sizeof django_hashes[0])

static const struct password_params small = { 1, 8192 };
static const struct password_params deflt = { PASSWORD_DEFAULT_ITERATIONS, PASSWORD_DEFAULT_MEMORY_KIB };

static double now(void);
static int cheap(const char *);
static int seen_before(size_t);
static void test_statics(void);
static void test_vectors(void);
static void test_roundtrip(void);
static void test_hash_errors(void);
static void test_needs_rehash(void);
static void test_malformed(void);
static void test_bounds(void);
static void test_mutations(void);
static void test_garbage(void);
static void *dummy_thread(void *);
static void test_dummy(void);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* vectors cheap enough to verify hundreds of times */
static int
cheap(const char *enc)
{
	return strncmp(enc, "pbkdf2_sha256$1000$", 19) == 0 || strncmp(enc, "pbkdf2_sha1$1000$", 17) == 0 ||
	    strstr(enc, "$m=8,") != NULL || strstr(enc, "$m=64,") != NULL || strstr(enc, "$m=512,") != NULL ||
	    strstr(enc, "$2b$04$") != NULL || strncmp(enc, "scrypt$16$", 10) == 0;
}

static int
seen_before(size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(django_hashes[j].encoded, django_hashes[i].encoded) == 0)
			return 1;
	return 0;
}

static void
test_statics(void)
{
	unsigned long long v = 0;
	struct slice f[4];
	struct argon2_desc d;

	CHECK(parse_dec((struct slice){ "0", 1 }, 10, &v) == 0 && v == 0);
	CHECK(parse_dec((struct slice){ "260000", 6 }, 260000, &v) == 0 && v == 260000);
	CHECK(parse_dec((struct slice){ "260001", 6 }, 260000, &v) == -1);
	CHECK(parse_dec((struct slice){ "01", 2 }, 10, &v) == -1);
	CHECK(parse_dec((struct slice){ "+1", 2 }, 10, &v) == -1);
	CHECK(parse_dec((struct slice){ " 1", 2 }, 10, &v) == -1);
	CHECK(parse_dec((struct slice){ "", 0 }, 10, &v) == -1);
	CHECK(
	    parse_dec((struct slice){ "18446744073709551615", 20 }, ULLONG_MAX, &v) == 0 && v == ULLONG_MAX);
	CHECK(parse_dec((struct slice){ "18446744073709551616", 20 }, ULLONG_MAX, &v) == -1);

	CHECK(split("a$b$c$d$e", f, 4) == 4);
	CHECK(f[3].len == 3 && memcmp(f[3].p, "d$e", 3) == 0);
	CHECK(split("abc", f, 4) == 1 && f[0].len == 3);
	CHECK(split("$", f, 4) == 2 && f[0].len == 0 && f[1].len == 0);

	CHECK(parse_argon2("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", &d) == 0);
	CHECK(d.type == Argon2_id && d.version == 0x13 && d.m == 19456 && d.t == 2 && d.p == 1 &&
	    d.salt.len == 11 && d.hash.len == 6);
	CHECK(parse_argon2("$argon2i$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", &d) == 0);
	CHECK(d.type == Argon2_i && d.version == 0x10);
	CHECK(parse_argon2("$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=18$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=19$t=1,m=8,p=1$c2FsdHNhbHQ$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=19$m=8,t=1,p=1,x=2$c2FsdHNhbHQ$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=19$m=8,t=1$c2FsdHNhbHQ$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=19$m=8,t=1,p=1$$aGFzaA", &d) == -1);
	CHECK(parse_argon2("$argon2id$v=19$m=8,t=1,p=1$c2Fs$aGFz$aA", &d) == -1);
}

static void
test_vectors(void)
{
	size_t i, matches = 0;

	for (i = 0; i < NVEC; i++) {
		const struct django_hash *h = &django_hashes[i];
		int got = password_verify(h->encoded, h->password, strlen(h->password));

		CHECK(got == h->expect_match);
		if (got != h->expect_match)
			fprintf(stderr, "  vector %zu: %s with \"%s\": got %d\n", i, h->encoded, h->password,
			    got);
		matches += (size_t)got;
	}
	/* the file holds both kinds */
	CHECK(matches > 20 && matches < NVEC);
}

static void
test_roundtrip(void)
{
	char a[PASSWORD_ENCODED_MAX], b[PASSWORD_ENCODED_MAX];
	const char *prefix = "argon2$argon2id$v=19$m=8192,t=1,p=1$";
	const char *uni = "p\303\244ssw\303\266rd \360\237\224\221";
	const char bin[] = { 'a', '\0', 'b', '\377' };

	CHECK(password_hash(&small, "hunter2", 7, a, sizeof a) == 0);
	CHECK(strncmp(a, prefix, strlen(prefix)) == 0);
	/* 22 chars of salt, '$', 43 of hash */
	CHECK(strlen(a) == strlen(prefix) + 22 + 1 + 43);
	CHECK(password_verify(a, "hunter2", 7) == 1);
	CHECK(password_verify(a, "hunter3", 7) == 0);
	CHECK(password_verify(a, "hunter2", 6) == 0);
	CHECK(password_verify(a, "hunter2x", 8) == 0);
	CHECK(password_needs_rehash(&small, a) == 0);

	CHECK(password_hash(&small, "hunter2", 7, b, sizeof b) == 0);
	CHECK(strcmp(a, b) != 0); /* fresh salt */

	CHECK(password_hash(&small, uni, strlen(uni), a, sizeof a) == 0);
	CHECK(password_verify(a, uni, strlen(uni)) == 1);
	CHECK(password_verify(a, uni, strlen(uni) - 1) == 0);

	CHECK(password_hash(&small, "", 0, a, sizeof a) == 0);
	CHECK(password_verify(a, "", 0) == 1);
	CHECK(password_verify(a, NULL, 0) == 1);
	CHECK(password_verify(a, " ", 1) == 0);

	/* bytes, not C strings: an embedded NUL counts */
	CHECK(password_hash(&small, bin, sizeof bin, a, sizeof a) == 0);
	CHECK(password_verify(a, bin, sizeof bin) == 1);
	CHECK(password_verify(a, bin, 1) == 0);

	/* the production default */
	CHECK(password_hash(&deflt, "hunter2", 7, a, sizeof a) == 0);
	CHECK(strncmp(a, "argon2$argon2id$v=19$m=19456,t=2,p=1$", 37) == 0);
	CHECK(password_verify(a, "hunter2", 7) == 1);
	CHECK(password_needs_rehash(&deflt, a) == 0);
	CHECK(password_needs_rehash(&small, a) == 1);
}

static void
test_hash_errors(void)
{
	char out[PASSWORD_ENCODED_MAX], tiny[40];
	static char longpw[PASSWORD_MAX_BYTES + 1];
	struct password_params bad;

	memset(longpw, 'a', sizeof longpw);
	memset(tiny, 'x', sizeof tiny);
	CHECK(password_hash(&small, "pw", 2, tiny, sizeof tiny) == -1);
	CHECK(tiny[0] == '\0');
	CHECK(password_hash(&small, "pw", 2, out, 0) == -1);
	CHECK(password_hash(&small, "pw", 2, NULL, 10) == -1);
	CHECK(password_hash(NULL, "pw", 2, out, sizeof out) == -1);
	CHECK(password_hash(&small, NULL, 2, out, sizeof out) == -1);
	CHECK(password_hash(&small, longpw, sizeof longpw, out, sizeof out) == -1);
	CHECK(password_hash(&small, longpw, PASSWORD_MAX_BYTES, out, sizeof out) == 0);
	CHECK(password_verify(out, longpw, PASSWORD_MAX_BYTES) == 1);
	CHECK(password_verify(out, longpw, sizeof longpw) == 0);

	bad = small;
	bad.iterations = 0;
	CHECK(password_hash(&bad, "pw", 2, out, sizeof out) == -1);
	bad.iterations = 101;
	CHECK(password_hash(&bad, "pw", 2, out, sizeof out) == -1);
	bad = small;
	bad.memory_kib = 7;
	CHECK(password_hash(&bad, "pw", 2, out, sizeof out) == -1);
	bad.memory_kib = 1024 * 1024 + 1;
	CHECK(password_hash(&bad, "pw", 2, out, sizeof out) == -1);
	bad.memory_kib = SIZE_MAX;
	CHECK(password_hash(&bad, "pw", 2, out, sizeof out) == -1);
}

static void
test_needs_rehash(void)
{
	char a[PASSWORD_ENCODED_MAX], b[PASSWORD_ENCODED_MAX];
	struct password_params other;
	size_t i;

	/* every Django hash, argon2id p=1 at our cost included (16-byte hash) */
	for (i = 0; i < NVEC; i++) {
		if (seen_before(i))
			continue;
		CHECK(password_needs_rehash(&deflt, django_hashes[i].encoded) == 1);
		CHECK(password_needs_rehash(&small, django_hashes[i].encoded) == 1);
	}
	CHECK(password_hash(&small, "pw", 2, a, sizeof a) == 0);
	CHECK(password_needs_rehash(&small, a) == 0);
	other = small;
	other.iterations = 2;
	CHECK(password_needs_rehash(&other, a) == 1);
	other = small;
	other.memory_kib = 16384;
	CHECK(password_needs_rehash(&other, a) == 1);
	CHECK(password_needs_rehash(NULL, a) == 1);
	CHECK(password_needs_rehash(&small, NULL) == 1);
	CHECK(password_needs_rehash(&small, "") == 1);
	CHECK(password_needs_rehash(&small, "!") == 1);
	CHECK(password_needs_rehash(&small, "garbage") == 1);

	/* same params but argon2i, or p=2, or another version: rehash */
	memcpy(b, a, sizeof b);
	memmove(b + 14, b + 15, strlen(b + 15) + 1); /* argon2id -> argon2i */
	CHECK(strncmp(b, "argon2$argon2i$v=19$", 20) == 0);
	CHECK(password_needs_rehash(&small, b) == 1);
	memcpy(b, a, sizeof b);
	b[strlen("argon2$argon2id$v=19$m=8192,t=1,p=")] = '2';
	CHECK(password_needs_rehash(&small, b) == 1);
	memcpy(b, a, sizeof b);
	b[strlen("argon2$argon2id$v=1")] = '6';
	CHECK(password_needs_rehash(&small, b) == 1);
	/* short hash (last 11 chars = 8 bytes dropped) */
	memcpy(b, a, sizeof b);
	b[strlen(b) - 11] = '\0';
	CHECK(password_needs_rehash(&small, b) == 1);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"!",
		"!zXf8bNqY2hT9cLkW4vR7mJ1pD6sG3aE0uQ5oI8yB",
		"$",
		"$$$$",
		"argon2",
		"argon2$",
		"argon2$argon2id",
		"argon2$argon2id$",
		"argon2$argon2id$v=19$",
		"argon2$argon2id$v=19$m=,t=,p=$$",
		"argon2$argon2id$v=19$m=8,t=1,p=1$$",
		"argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$",
		"argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$!!!!",
		"argon2$argon2id$v=19$m=8,t=1,p=1$!!!!!!!!!!!$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=8,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=8,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=8,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=-8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"pbkdf2_sha256",
		"pbkdf2_sha256$",
		"pbkdf2_sha256$$$",
		"pbkdf2_sha256$1000$$",
		"pbkdf2_sha256$1000$salt$",
		"pbkdf2_sha256$0$salt$AAAA",
		"pbkdf2_sha256$-1$salt$AAAA",
		"pbkdf2_sha256$abc$salt$AAAA",
		"pbkdf2_sha256$1000$$AAAA",
		"pbkdf2_sha256$1000$salt$not base64 at all",
		"pbkdf2_sha1$1000$salt",
		"pbkdf2_sha512$1000$salt$AAAA",
		"bcrypt",
		"bcrypt$",
		"bcrypt$$",
		"bcrypt$$2b$",
		"bcrypt$$2b$04$",
		"bcrypt$$2b$04$......................",
		"bcrypt$$2b$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"bcrypt$$2c$04$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"bcrypt$$2b$03$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"bcrypt$$2b$x4$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"bcrypt$$2b$04$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaW",
		"bcrypt_sha256$",
		"bcrypt_sha256$$2b$04$",
		"scrypt",
		"scrypt$",
		"scrypt$$$$$",
		"scrypt$1024$salt$8$1$",
		"scrypt$1024$$8$1$AAAA",
		"scrypt$1023$salt$8$1$AAAA",
		"scrypt$1$salt$8$1$AAAA",
		"scrypt$0$salt$8$1$AAAA",
		"scrypt$1024$salt$0$1$AAAA",
		"scrypt$1024$salt$8$0$AAAA",
		"scrypt$1024$salt$8$1$AAAA$extra",
		"scrypt$1024$salt$8$1",
		"md5$salt$0123456789abcdef0123456789abcdef",
		"sha1$salt$0123456789abcdef0123456789abcdef01234567",
		"0123456789abcdef0123456789abcdef",
		"crypt$$ab1234567890",
		"unsalted_md5$$x",
		"\377\376\375",
		"argon2$\001\002",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(password_verify(bad[i], "pw", 2) == 0);
		CHECK(password_verify(bad[i], "", 0) == 0);
		CHECK(password_needs_rehash(&small, bad[i]) == 1);
	}
	CHECK(password_verify(NULL, "pw", 2) == 0);
	CHECK(password_verify("pbkdf2_sha256$1$s$AAAA", NULL, 2) == 0);
	CHECK(password_dummy_verify(NULL, "pw", 2) == -1);
}

/* Parameters past the bounds are refused before any work is done. */
static void
test_bounds(void)
{
	static const char *const costly[] = {
		"pbkdf2_sha256$10000001$salt$AAAA",
		"pbkdf2_sha256$99999999999999999999999$salt$AAAA",
		"pbkdf2_sha1$4294967296$salt$AAAA",
		"argon2$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=4294967296,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=65536,t=101,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2i$m=65536,t=4294967295,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=65536,t=1,p=65$c2FsdHNhbHQ$aGFzaGhhc2g",
		"argon2$argon2id$v=19$m=1048576,t=100,p=200$c2FsdHNhbHQ$aGFz",
		"bcrypt$$2b$17$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"bcrypt$$2b$31$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"bcrypt_sha256$$2b$99$abcdefghijklmnopqrstuuSmhT9zSe5UvlLl4.DEZH3BmPEaVXaWu",
		"scrypt$2097152$salt$8$1$AAAA",
		"scrypt$1048576$salt$32$1$AAAA", /* 4 GiB */
		"scrypt$1048576$salt$9$1$AAAA",  /* just over 1 GiB */
		"scrypt$16384$salt$33$1$AAAA",
		"scrypt$16384$salt$8$17$AAAA",
		"scrypt$18446744073709551616$salt$8$1$AAAA",
	};
	size_t i;
	double t0 = now();

	for (i = 0; i < sizeof costly / sizeof costly[0]; i++)
		CHECK(password_verify(costly[i], "pw", 2) == 0);
	CHECK(now() - t0 < 0.5);
}

/*
 * Truncate, extend and corrupt every cheap vector at every position: no
 * crash, and never a match (Django would not match either).
 */
static void
test_mutations(void)
{
	static const char repl[] = { 'A', '0', '9', '$', ',', '=', '\001', '\377' };
	char buf[PASSWORD_ENCODED_MAX + 8];
	size_t i, pos, r, len, tried = 0, matched = 0;

	for (i = 0; i < NVEC; i++) {
		const struct django_hash *h = &django_hashes[i];
		size_t pwlen = strlen(h->password);

		/* one hash per cheap kind is enough */
		if (!h->expect_match || !cheap(h->encoded) || seen_before(i) ||
		    strcmp(h->password, "correct horse battery staple") != 0)
			continue;
		len = strlen(h->encoded);
		for (pos = 0; pos < len; pos++) {
			memcpy(buf, h->encoded, pos);
			buf[pos] = '\0';
			matched += (size_t)password_verify(buf, h->password, pwlen);
			tried++;
			for (r = 0; r < sizeof repl; r++) {
				if (h->encoded[pos] == repl[r])
					continue;
				memcpy(buf, h->encoded, len + 1);
				buf[pos] = repl[r];
				matched += (size_t)password_verify(buf, h->password, pwlen);
				tried++;
			}
		}
		for (r = 0; r < sizeof repl; r++) {
			memcpy(buf, h->encoded, len);
			buf[len] = repl[r];
			buf[len + 1] = '\0';
			matched += (size_t)password_verify(buf, h->password, pwlen);
			tried++;
		}
		memcpy(buf, h->encoded, len);
		memcpy(buf + len, "\n", 2);
		matched += (size_t)password_verify(buf, h->password, pwlen);
		tried++;
	}
	CHECK(tried > 5000);
	CHECK(matched == 0);
	if (matched)
		fprintf(stderr, "  %zu of %zu mutations matched\n", matched, tried);
}

/* Random printable tails after every known prefix: never a match. */
static void
test_garbage(void)
{
	static const char *const prefixes[] = {
		"",
		"argon2$",
		"argon2$argon2id$",
		"argon2$argon2i$",
		"argon2$argon2id$v=19$",
		"argon2$argon2id$v=19$m=8,t=1,p=1$",
		"pbkdf2_sha256$",
		"pbkdf2_sha256$10$",
		"pbkdf2_sha1$10$s$",
		"bcrypt$",
		"bcrypt$$2b$04$",
		"bcrypt_sha256$$2b$04$",
		"scrypt$",
		"scrypt$16$",
		"scrypt$16$salt$1$1$",
	};
	static const char chars[] = "$=,+/.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char buf[PASSWORD_ENCODED_MAX + 64];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i, k, n, plen, matched = 0;

	for (i = 0; i < 4000; i++) {
		const char *pre = prefixes[i % (sizeof prefixes / sizeof prefixes[0])];

		plen = strlen(pre);
		memcpy(buf, pre, plen);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (size_t)(x % 120);
		for (k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[plen + k] = chars[x % (sizeof chars - 1)];
		}
		buf[plen + n] = '\0';
		matched += (size_t)password_verify(buf, "pw", 2);
		(void)password_needs_rehash(&small, buf);
	}
	CHECK(matched == 0);

	/* one past the length limit is refused, whatever it holds */
	memset(buf, 'A', PASSWORD_ENCODED_MAX);
	buf[PASSWORD_ENCODED_MAX] = '\0';
	CHECK(password_verify(buf, "pw", 2) == 0);
	CHECK(password_needs_rehash(&small, buf) == 1);
}

static void *
dummy_thread(void *arg)
{
	int *rc = arg;
	int i;

	for (i = 0; i < 3; i++)
		if (password_dummy_verify(&small, "pw", 2) != 0)
			*rc = -1;
	return NULL;
}

static void
test_dummy(void)
{
	char enc[PASSWORD_ENCODED_MAX];
	pthread_t th[4];
	int rcs[4] = { 0, 0, 0, 0 };
	double t, real = 1e9, dummy = 1e9;
	size_t i;

	CHECK(password_dummy_verify(&small, "pw", 2) == 0);
	CHECK(password_needs_rehash(&small, dummy_encoded) == 0);
	CHECK(password_dummy_verify(&small, "", 0) == 0);
	CHECK(password_dummy_verify(&small, NULL, 0) == 0);
	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, dummy_thread, &rcs[i]) == 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(rcs[i] == 0);
	}

	/* new cost, new dummy: it costs what a real verification does */
	CHECK(password_hash(&deflt, "real", 4, enc, sizeof enc) == 0);
	CHECK(password_dummy_verify(&deflt, "warm", 4) == 0);
	CHECK(password_needs_rehash(&deflt, dummy_encoded) == 0);
	for (i = 0; i < 5; i++) {
		t = now();
		(void)password_verify(enc, "wrong", 5);
		t = now() - t;
		real = t < real ? t : real;
		t = now();
		(void)password_dummy_verify(&deflt, "wrong", 5);
		t = now() - t;
		dummy = t < dummy ? t : dummy;
	}
	CHECK(dummy > real / 3 && dummy < real * 3);

	{
		struct password_params bad = { 0, 8192 };

		CHECK(password_dummy_verify(&bad, "pw", 2) == -1);
		/* and the next good call builds a dummy again */
		CHECK(password_dummy_verify(&small, "pw", 2) == 0);
		CHECK(password_needs_rehash(&small, dummy_encoded) == 0);
	}
}

int
main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	test_statics();
	test_vectors();
	test_roundtrip();
	test_hash_errors();
	test_needs_rehash();
	test_malformed();
	test_bounds();
	test_mutations();
	test_garbage();
	test_dummy();
	return test_summary("test_password");
}
