/* Unit tests for src/auth/csrf.c: Django's mask/unmask and token shapes
 * (vectors from Django's tests/csrf_tests), and csrf_check on plain inputs
 * with DRF's "CSRF Failed: ..." messages. */
#include <sodium.h>

#include "test.h"
#include "../../src/auth/csrf.c"

static void
test_mask_roundtrip(void)
{
	char secret[CSRF_SECRET_LEN + 1], masked[CSRF_TOKEN_LEN + 1], back[CSRF_SECRET_LEN + 1];

	for (int i = 0; i < 200; i++) {
		csrf_new_secret(secret);
		CHECK(strlen(secret) == 32);
		csrf_mask(secret, masked);
		CHECK(strlen(masked) == 64);
		CHECK(csrf_unmask(masked, 64, back) == 0);
		CHECK_STR(back, secret);
	}
}

/* Vector from Django 3.2 (django.middleware.csrf): mask
 * "abcdefghijklmnopqrstuvwxyzABCDEF" over secret "0123456789ABCDEFGHIJKLMNOPQRSTUV"
 * with its _mask_cipher_secret arithmetic; _unmask_cipher_token(token) == secret. */
static void
test_django_vector(void)
{
	const char *secret = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
	const char *token = "abcdefghijklmnopqrstuvwxyzABCDEF"
	                    "02468acegiKMOQSUWY02468acegikmoq";
	char back[CSRF_SECRET_LEN + 1];

	char again[CSRF_TOKEN_LEN + 1];

	CHECK(csrf_unmask(token, 64, back) == 0);
	CHECK_STR(back, secret);
	/* our masking gives the same cipher for the same mask */
	for (int i = 0; i < CSRF_SECRET_LEN; i++)
		again[i] = chars[(char_index(secret[i]) + char_index(token[i])) % NCHARS];
	again[CSRF_SECRET_LEN] = '\0';
	CHECK_STR(again, token + CSRF_SECRET_LEN);
}

static void
test_unmask_rejects(void)
{
	char out[CSRF_SECRET_LEN + 1];

	CHECK(csrf_unmask("abc", 3, out) == -1);
	CHECK(csrf_unmask("0123456789ABCDEFGHIJKLMNOPQRSTU", 31, out) == -1);
	CHECK(csrf_unmask("0123456789ABCDEFGHIJKLMNOPQRSTU!", 32, out) == -1);
	CHECK(csrf_unmask("0123456789ABCDEFGHIJKLMNOPQRSTU-0123456789ABCDEFGHIJKLMNOPQRSTUV", 64, out) == -1);
	CHECK(csrf_unmask("0123456789ABCDEFGHIJKLMNOPQRSTUV0", 33, out) == -1);
	CHECK(csrf_unmask("0123456789ABCDEFGHIJKLMNOPQRSTUV", 32, out) == 0);
	CHECK_STR(out, "0123456789ABCDEFGHIJKLMNOPQRSTUV");
}

/* Django's tests/csrf_tests: one secret and two masked forms of it. */
#define TEST_SECRET         "lcccccccX2kcccccccY2jcccccccssIC"
#define MASKED_TEST_SECRET1 "1bcdefghij2bcdefghij3bcdefghij4bcdefghij5bcdefghij6bcdefghijABCD"
#define MASKED_TEST_SECRET2 "2JgchWvM1tpxT2lfz9aydoXW9yT1DN3NdLiejYxOOlzzV4nhBbYqmqZYbAV3V5Bf"
#define A32                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B32                 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C32                 "cccccccccccccccccccccccccccccccc"
#define STAR64              "****************************************************************"

static void
test_django_unmask_cases(void)
{
	static const struct {
		const char *secret, *masked;
	} cases[] = {
		{ TEST_SECRET, MASKED_TEST_SECRET1 },
		{ TEST_SECRET, MASKED_TEST_SECRET2 },
		{ A32, "vFioG3XOLyGyGsPRFyB9iYUs341ufzIEvFioG3XOLyGyGsPRFyB9iYUs341ufzIE" },
		{ A32, A32 A32 },
		{ A32, B32 B32 },
		{ B32, A32 B32 },
		{ B32, B32 C32 },
		{ C32, A32 C32 },
	};
	char out[CSRF_SECRET_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(csrf_unmask(cases[i].masked, 64, out) == 0);
		CHECK_STR(out, cases[i].secret);
	}
}

static int
all_allowed(const char *s)
{
	for (; *s; s++)
		if (char_index(*s) < 0)
			return 0;
	return 1;
}

/* Django's test_mask_cipher_secret: every mask gives a 64-char token of the
 * allowed characters that unmasks to the secret, and the mask is random. */
static void
test_django_mask_cases(void)
{
	static const char *secrets[] = { A32, TEST_SECRET, "da4SrUiHJYoJ0HYQ0vcgisoIuFOxx4ER" };
	char m1[CSRF_TOKEN_LEN + 1], m2[CSRF_TOKEN_LEN + 1], back[CSRF_SECRET_LEN + 1];

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		csrf_mask(secrets[i], m1);
		csrf_mask(secrets[i], m2);
		CHECK(strlen(m1) == CSRF_TOKEN_LEN && all_allowed(m1));
		CHECK(strcmp(m1, m2) != 0);
		CHECK(csrf_unmask(m1, 64, back) == 0);
		CHECK_STR(back, secrets[i]);
	}
}

static void
test_new_secret_alphabet(void)
{
	char a[CSRF_SECRET_LEN + 1], b[CSRF_SECRET_LEN + 1];

	csrf_new_secret(a);
	csrf_new_secret(b);
	a[CSRF_SECRET_LEN] = b[CSRF_SECRET_LEN] = '\0';
	CHECK(strlen(a) == CSRF_SECRET_LEN && all_allowed(a));
	CHECK(strcmp(a, b) != 0);
}

/* --- csrf_check on plain inputs --- */

static char public_https[] = "https://app.example.com", public_http[] = "http://127.0.0.1:8000";
static char trusted[] = " https://admin.example.com , https://other.example.org", none[] = "";
static struct config cfg;
static struct auth_env env = { .store = NULL, .cfg = &cfg };

static void
use_https(int https, int with_trusted)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.public_origin = https ? public_https : public_http;
	cfg.trusted_origins = with_trusted ? trusted : none;
	cfg.secure_cookies = https;
}

/* A POST from the SPA itself: cookie TEST_SECRET, header MASKED_TEST_SECRET2. */
static struct auth_in
good_in(void)
{
	struct auth_in in = { 0 };

	in.csrf_cookie = TEST_SECRET;
	in.csrf_cookie_len = 32;
	in.csrf_header = MASKED_TEST_SECRET2;
	in.origin = cfg.public_origin;
	in.https = cfg.secure_cookies;
	in.now = 1700000000;
	return in;
}

static int
check(const struct auth_in *in, char *why, size_t whysz)
{
	why[0] = '\0';
	return csrf_check(&env, in, why, whysz);
}

static void
test_check_same_origin_passes(void)
{
	char why[256];

	for (int https = 0; https < 2; https++) {
		use_https(https, 0);
		struct auth_in in = good_in();

		CHECK(check(&in, why, sizeof(why)) == 0);
		CHECK_STR(why, "");
	}
}

static void
test_check_other_origin_refused(void)
{
	char why[256];

	for (int https = 0; https < 2; https++) {
		use_https(https, 0);
		struct auth_in in = good_in();

		in.origin = "https://evil.example.net";
		CHECK(check(&in, why, sizeof(why)) == -1);
		CHECK_STR(why,
		    "CSRF Failed: Origin checking failed - https://evil.example.net does not match any "
		    "trusted origins.");
		/* the origin must match whole: no prefix, no path, no other port or scheme */
		in.origin = https ? "https://app.example.com.evil.net" : "http://127.0.0.1:80001";
		CHECK(check(&in, why, sizeof(why)) == -1);
		in.origin = https ? "https://app.example.com/" : "http://127.0.0.1:8000/";
		CHECK(check(&in, why, sizeof(why)) == -1);
		in.origin = https ? "http://app.example.com" : "https://127.0.0.1:8000";
		CHECK(check(&in, why, sizeof(why)) == -1);
		in.origin = "null";
		CHECK(check(&in, why, sizeof(why)) == -1);
		CHECK_STR(why,
		    "CSRF Failed: Origin checking failed - null does not match any trusted origins.");
	}
}

static void
test_check_origin_in_message_is_sanitized(void)
{
	char why[512];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.origin = "https://\xc3\xa9vil\r\n.example";
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK(strncmp(why, "CSRF Failed: Origin checking failed - ", 38) == 0);
	for (const char *p = why; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

static void
test_check_trusted_origin_passes(void)
{
	char why[256];
	use_https(1, 1);
	struct auth_in in = good_in();

	in.origin = "https://admin.example.com";
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.origin = "https://other.example.org";
	CHECK(check(&in, why, sizeof(why)) == 0);
	use_https(1, 0);
	CHECK(check(&in, why, sizeof(why)) == -1);
}

static void
test_check_https_without_origin_needs_referer(void)
{
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.origin = NULL;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: Referer checking failed - no Referer.");
}

static void
test_check_https_referer_same_origin_passes(void)
{
	char why[256];
	use_https(1, 1);
	struct auth_in in = good_in();

	in.origin = NULL;
	in.referer = "https://app.example.com/account/security?tab=1";
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.referer = "https://app.example.com";
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.referer = "https://admin.example.com/x";
	CHECK(check(&in, why, sizeof(why)) == 0);
}

static void
test_check_https_referer_other_origin_refused(void)
{
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.origin = NULL;
	in.referer = "https://evil.example.net/page";
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why,
	    "CSRF Failed: Referer checking failed - https://evil.example.net/page does not match any trusted "
	    "origins.");
	/* starts with the public origin but is another host */
	in.referer = "https://app.example.com.evil.net/";
	CHECK(check(&in, why, sizeof(why)) == -1);
	in.referer = "https://app.example.com:8443/";
	CHECK(check(&in, why, sizeof(why)) == -1);
	/* the insecure twin of the public origin */
	in.referer = "http://app.example.com/";
	CHECK(check(&in, why, sizeof(why)) == -1);
	in.referer = "not a url";
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why,
	    "CSRF Failed: Referer checking failed - not a url does not match any trusted origins.");
}

/* Django checks the Referer only on https: on http a missing or foreign
 * Referer is no reason to refuse (the token still is). */
static void
test_check_http_ignores_referer(void)
{
	char why[256];
	use_https(0, 0);
	struct auth_in in = good_in();

	in.origin = NULL;
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.referer = "https://evil.example.net/";
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.csrf_header = NULL;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF token missing.");
}

/* Django's test_does_token_match through csrf_check: masked and raw tokens
 * of the cookie's secret pass, others are "incorrect". */
static void
test_check_masked_and_raw_tokens(void)
{
	static const struct {
		const char *header, *cookie;
		int ok;
	} cases[] = {
		{ MASKED_TEST_SECRET1, TEST_SECRET, 1 },
		{ MASKED_TEST_SECRET2, TEST_SECRET, 1 },
		{ A32 A32, A32, 1 },
		{ TEST_SECRET, TEST_SECRET, 1 },
		{ A32, A32, 1 },
		{ A32, TEST_SECRET, 0 },
		{ A32 A32, TEST_SECRET, 0 },
		/* a masked cookie (Django before 4.1 set those) holds the same secret */
		{ TEST_SECRET, MASKED_TEST_SECRET1, 1 },
		{ MASKED_TEST_SECRET2, MASKED_TEST_SECRET1, 1 },
	};
	char why[256];

	use_https(1, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_in in = good_in();

		in.csrf_header = cases[i].header;
		in.csrf_cookie = cases[i].cookie;
		in.csrf_cookie_len = strlen(cases[i].cookie);
		CHECK(check(&in, why, sizeof(why)) == (cases[i].ok ? 0 : -1));
		if (!cases[i].ok)
			CHECK_STR(why,
			    "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.");
	}
}

/* One character off, first or last, of either form: incorrect. */
static void
test_check_one_char_off_refused(void)
{
	char why[256], raw[] = TEST_SECRET, masked[] = MASKED_TEST_SECRET2;
	use_https(1, 0);
	struct auth_in in = good_in();
	size_t pos[] = { 0, 31 };

	for (size_t i = 0; i < 2; i++) {
		char keep = raw[pos[i]];

		raw[pos[i]] = keep == 'a' ? 'b' : 'a';
		in.csrf_header = raw;
		CHECK(check(&in, why, sizeof(why)) == -1);
		CHECK_STR(why, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.");
		raw[pos[i]] = keep;
		keep = masked[32 + pos[i]];
		masked[32 + pos[i]] = keep == 'a' ? 'b' : 'a';
		in.csrf_header = masked;
		CHECK(check(&in, why, sizeof(why)) == -1);
		masked[32 + pos[i]] = keep;
	}
	in.csrf_header = raw;
	CHECK(check(&in, why, sizeof(why)) == 0);
	in.csrf_header = masked;
	CHECK(check(&in, why, sizeof(why)) == 0);
}

static void
test_check_cookie_missing(void)
{
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.csrf_cookie = NULL;
	in.csrf_cookie_len = 0;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF cookie not set.");
	/* a cookie of the wrong shape counts as none */
	in.csrf_cookie = "aaaa";
	in.csrf_cookie_len = 4;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF cookie not set.");
	in.csrf_cookie = STAR64;
	in.csrf_cookie_len = 64;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF cookie not set.");
}

static void
test_check_header_missing(void)
{
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.csrf_header = NULL;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF token missing.");
	in.csrf_header = "";
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK_STR(why, "CSRF Failed: CSRF token missing.");
}

static void
test_check_header_bad_length(void)
{
	static const char *bad[] = { "aaaaaaaaaaaaaaaa", A32 "a", A32 A32 "a", "a" };
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.csrf_header = bad[i];
		CHECK(check(&in, why, sizeof(why)) == -1);
		CHECK_STR(why,
		    "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.");
	}
}

static void
test_check_header_bad_chars(void)
{
	static const char *bad[] = { STAR64, "lcccccccX2kcccccccY2jcccccccssI-",
		"lcccccccX2kcccccccY2jcccccccssI\xc3", " lcccccccX2kcccccccY2jcccccccssI" };
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.csrf_header = bad[i];
		CHECK(check(&in, why, sizeof(why)) == -1);
		CHECK_STR(why,
		    "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.");
	}
}

/* Origin is checked before the token: a foreign page learns nothing of it. */
static void
test_check_origin_before_token(void)
{
	char why[256];
	use_https(1, 0);
	struct auth_in in = good_in();

	in.origin = "https://evil.example.net";
	in.csrf_cookie = NULL;
	in.csrf_header = NULL;
	CHECK(check(&in, why, sizeof(why)) == -1);
	CHECK(strstr(why, "Origin checking failed") != NULL);
}

static void
test_cookie_secret_from_input(void)
{
	struct auth_in in = { 0 };
	char out[CSRF_SECRET_LEN + 1];

	CHECK(csrf_cookie_secret(&in, out) == -1);
	in.csrf_cookie = MASKED_TEST_SECRET1;
	in.csrf_cookie_len = 64;
	CHECK(csrf_cookie_secret(&in, out) == 0);
	CHECK_STR(out, TEST_SECRET);
	/* the length given counts, not the NUL */
	in.csrf_cookie = TEST_SECRET "; sessionid=x";
	in.csrf_cookie_len = 32;
	CHECK(csrf_cookie_secret(&in, out) == 0);
	CHECK_STR(out, TEST_SECRET);
	in.csrf_cookie_len = 33;
	CHECK(csrf_cookie_secret(&in, out) == -1);
}

static void
test_set_cookie_attributes(void)
{
	struct auth_cookies out = { 0 };

	use_https(1, 0);
	CHECK(csrf_set_cookie(&env, TEST_SECRET, &out) == 0);
	CHECK(out.n == 1);
	CHECK_STR(out.c[0].name, "csrftoken");
	CHECK_STR(out.c[0].value, TEST_SECRET);
	CHECK(out.c[0].max_age == 31449600);
	CHECK(!out.c[0].http_only); /* the SPA reads it */
	CHECK(out.c[0].secure);
	use_https(0, 0);
	CHECK(csrf_set_cookie(&env, TEST_SECRET, &out) == 0);
	CHECK(out.n == 2 && !out.c[1].secure);
	auth_cookies_wipe(&out);
	CHECK(out.n == 0 && out.c[0].value[0] == '\0');
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_mask_roundtrip();
	test_django_vector();
	test_unmask_rejects();
	test_django_unmask_cases();
	test_django_mask_cases();
	test_new_secret_alphabet();
	test_check_same_origin_passes();
	test_check_other_origin_refused();
	test_check_origin_in_message_is_sanitized();
	test_check_trusted_origin_passes();
	test_check_https_without_origin_needs_referer();
	test_check_https_referer_same_origin_passes();
	test_check_https_referer_other_origin_refused();
	test_check_http_ignores_referer();
	test_check_masked_and_raw_tokens();
	test_check_one_char_off_refused();
	test_check_cookie_missing();
	test_check_header_missing();
	test_check_header_bad_length();
	test_check_header_bad_chars();
	test_check_origin_before_token();
	test_cookie_secret_from_input();
	test_set_cookie_attributes();
	return test_summary("test_csrf");
}
