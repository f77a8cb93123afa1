/* Unit tests for src/auth/totp.c: RFC 6238 Appendix B (SHA-1 rows), RFC 4648
 * base32 vectors (and liboath's own encoder on random secrets), the otpauth://
 * URI text, totp_check's window, replay refusal and text rules, and the
 * sealed form of a secret (round trip, wrong key, every tampered or cut
 * form, random nonce). */
#include <sodium.h>

#include "test.h"
#include "../../src/auth/totp.c"

/* RFC 6238's SHA-1 seed, ASCII "12345678901234567890" */
static const unsigned char rfc_secret[] = "12345678901234567890";
#define RFC_LEN 20

static void
test_rfc6238_vectors(void)
{
	static const struct {
		int64_t t;
		const char *code;
	} rows[] = {
		{ 59, "94287082" },
		{ 1111111109, "07081804" },
		{ 1111111111, "14050471" },
		{ 1234567890, "89005924" },
		{ 2000000000, "69279037" },
		{ 20000000000, "65353130" },
	};
	char out[9];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK(totp_code_at(rfc_secret, RFC_LEN, rows[i].t / TOTP_PERIOD, 8, out) == 0);
		CHECK_STR(out, rows[i].code);
		/* the 6-digit code is the same truncation mod 10^6: the last six digits */
		CHECK(totp_code_at(rfc_secret, RFC_LEN, rows[i].t / TOTP_PERIOD, 6, out) == 0);
		CHECK_STR(out, rows[i].code + 2);
	}
}

static void
test_code_at_refuses(void)
{
	char out[10];

	CHECK(totp_code_at(rfc_secret, RFC_LEN, 1, 5, out) == -1);
	CHECK(totp_code_at(rfc_secret, RFC_LEN, 1, 9, out) == -1);
	CHECK(totp_code_at(rfc_secret, RFC_LEN, -1, 6, out) == -1);
	CHECK(totp_code_at(rfc_secret, 0, 1, 6, out) == -1);
	CHECK(totp_code_at(NULL, RFC_LEN, 1, 6, out) == -1);
	CHECK(totp_code_at(rfc_secret, RFC_LEN, 0, 7, out) == 0 && strlen(out) == 7);
}

static void
test_base32_rfc4648(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "f", "MY" },
		{ "fo", "MZXQ" },
		{ "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" },
		{ "fooba", "MZXW6YTB" },
		{ "foobar", "MZXW6YTBOI" },
	};
	char out[TOTP_BASE32_MAX];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(totp_base32((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof(out)) == 0);
		CHECK_STR(out, v[i].out);
	}
	CHECK(totp_base32(rfc_secret, RFC_LEN, out, sizeof(out)) == 0);
	CHECK_STR(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	/* exactly the room needed, and one byte less */
	CHECK(totp_base32((const unsigned char *)"foobar", 6, out, 11) == 0);
	CHECK_STR(out, "MZXW6YTBOI");
	CHECK(totp_base32((const unsigned char *)"foobar", 6, out, 10) == -1);
	CHECK_STR(out, "");
	CHECK(totp_base32(rfc_secret, RFC_LEN, out, 0) == -1);
}

/* liboath's encoder pads with '='; ours must equal it without the padding */
static void
test_base32_matches_liboath(void)
{
	unsigned char s[24];
	char ours[TOTP_BASE32_MAX + 8], *theirs;
	size_t theirs_len;

	for (size_t len = 1; len <= sizeof(s); len++) {
		randombytes_buf(s, len);
		CHECK(totp_base32(s, len, ours, sizeof(ours)) == 0);
		CHECK(oath_base32_encode((const char *)s, len, &theirs, &theirs_len) == OATH_OK);
		while (theirs_len > 0 && theirs[theirs_len - 1] == '=')
			theirs[--theirs_len] = '\0';
		CHECK_STR(ours, theirs);
		free(theirs);
	}
}

static void
test_new_secret(void)
{
	unsigned char a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN];
	char b32[TOTP_BASE32_MAX];

	totp_new_secret(a);
	totp_new_secret(b);
	CHECK(memcmp(a, b, TOTP_SECRET_LEN) != 0);
	CHECK(totp_base32(a, TOTP_SECRET_LEN, b32, sizeof(b32)) == 0 && strlen(b32) == 32);
}

static void
test_otpauth_uri(void)
{
	char *uri;

	uri = totp_otpauth_uri("Gate House", "a.b+tag@example.com", rfc_secret, RFC_LEN);
	CHECK_STR(uri,
	    "otpauth://totp/Gate%20House:a.b%2Btag%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	    "&issuer=Gate%20House&algorithm=SHA1&digits=6&period=30");
	free(uri);
	/* every reserved or non-ASCII byte is encoded; unreserved ones stay */
	uri = totp_otpauth_uri("A:B&c=d?/#%", "\xc3\xa9-x_y.z~", rfc_secret, RFC_LEN);
	CHECK_STR(uri,
	    "otpauth://totp/A%3AB%26c%3Dd%3F%2F%23%25:%C3%A9-x_y.z~?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	    "&issuer=A%3AB%26c%3Dd%3F%2F%23%25&algorithm=SHA1&digits=6&period=30");
	free(uri);
	CHECK(totp_otpauth_uri(NULL, "a", rfc_secret, RFC_LEN) == NULL);
	CHECK(totp_otpauth_uri("i", NULL, rfc_secret, RFC_LEN) == NULL);
	CHECK(totp_otpauth_uri("i", "a", NULL, RFC_LEN) == NULL);
	CHECK(totp_otpauth_uri("i", "a", rfc_secret, 0) == NULL);
	CHECK(totp_otpauth_uri("i", "a", rfc_secret, TOTP_SECRET_LEN + 1) == NULL);
}

/* T = 1111111109 is step 37037036, whose 6-digit code is "081804" (RFC 6238). */
#define T0    1111111109
#define STEP0 37037036

static void
code6(int64_t step, char out[7])
{
	CHECK(totp_code_at(rfc_secret, RFC_LEN, step, 6, out) == 0);
}

static void
test_check_window(void)
{
	char c[7];

	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0, 0) == STEP0);
	/* anywhere inside the step */
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", STEP0 * 30, 0) == STEP0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", STEP0 * 30 + 29, 0) == STEP0);
	/* one step of skew either way */
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0 + 30, 0) == STEP0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0 - 30, 0) == STEP0);
	/* two steps away: refused */
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0 + 60, 0) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0 - 60, 0) == 0);
	/* the same for codes computed at other steps, on a random secret */
	unsigned char s[TOTP_SECRET_LEN];
	int64_t now = 1780000000, step = now / 30;

	totp_new_secret(s);
	for (int d = -3; d <= 3; d++) {
		char w[7];
		int collides = 0;

		CHECK(totp_code_at(s, sizeof(s), step + d, 6, c) == 0);
		/* a code of a far step may equal one in the window by chance (1 in ~333000): then skip */
		for (int k = -1; k <= 1; k++) {
			CHECK(totp_code_at(s, sizeof(s), step + k, 6, w) == 0);
			if (k != d && strcmp(w, c) == 0)
				collides = 1;
		}
		if (collides)
			continue;
		CHECK(totp_check(s, sizeof(s), c, now, 0) == (d >= -1 && d <= 1 ? step + d : 0));
	}
	/* a wrong code */
	code6(STEP0, c);
	c[5] = c[5] == '9' ? '0' : (char)(c[5] + 1);
	CHECK(totp_check(rfc_secret, RFC_LEN, c, T0, 0) == 0);
	/* the RFC secret's code under another secret (unless that one has the same code there by chance) */
	int same = 0;

	for (int k = -1; k <= 1; k++) {
		CHECK(totp_code_at(s, sizeof(s), STEP0 + k, 6, c) == 0);
		same |= strcmp(c, "081804") == 0;
	}
	if (!same)
		CHECK(totp_check(s, sizeof(s), "081804", T0, 0) == 0);
}

static void
test_check_replay(void)
{
	char older[7], newer[7];

	/* the accepted step is recorded: the same code again is refused, in its step and the next */
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0, STEP0) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0 + 30, STEP0) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0, STEP0 + 1) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0, STEP0 - 1) == STEP0);
	/* once the newer code (step+1) was accepted, the older one (still in the window) is refused */
	code6(STEP0 - 1, older);
	code6(STEP0 + 1, newer);
	CHECK(totp_check(rfc_secret, RFC_LEN, newer, T0, 0) == STEP0 + 1);
	CHECK(totp_check(rfc_secret, RFC_LEN, older, T0, 0) == STEP0 - 1);
	CHECK(totp_check(rfc_secret, RFC_LEN, older, T0, STEP0 + 1) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "081804", T0, STEP0 + 1) == 0);
}

/* Two steps of the window with the same code (found by searching the RFC secret's steps; checked here):
 * the earlier step is returned, and once it is recorded the later one still accepts the same digits
 * (they are that step's code too), then nothing. */
static void
test_check_same_code_twice_in_window(void)
{
	static const struct {
		int64_t a, b;
		const char *code;
	} v[] = {
		{ 59061240, 59061241, "963181" },
		{ 61331809, 61331811, "768734" },
	};
	char c[7];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t now = (v[i].a + 1) * TOTP_PERIOD;

		code6(v[i].a, c);
		CHECK_STR(c, v[i].code);
		code6(v[i].b, c);
		CHECK_STR(c, v[i].code);
		CHECK(totp_check(rfc_secret, RFC_LEN, v[i].code, now, 0) == v[i].a);
		CHECK(totp_check(rfc_secret, RFC_LEN, v[i].code, now, v[i].a) == v[i].b);
		CHECK(totp_check(rfc_secret, RFC_LEN, v[i].code, now, v[i].b) == 0);
	}
}

static void
test_check_text(void)
{
	static const char *bad[] = { "", "08180", "0818041", "08180a", "a81804", "O81804", "081804\n",
		"\t081804", "081-804", "+81804", "-81804",
		"\xef\xbc\x90"
		"81804",
		"0818 04 1", "081804x", "      " };
	char big[TOTP_TYPED_MAX + 1], *huge;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(totp_check(rfc_secret, RFC_LEN, bad[i], T0, 0) == -1);
	CHECK(totp_check(rfc_secret, RFC_LEN, NULL, T0, 0) == -1);
	/* spaces anywhere are ignored */
	CHECK(totp_check(rfc_secret, RFC_LEN, "081 804", T0, 0) == STEP0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "  0 8 1 8 0 4  ", T0, 0) == STEP0);
	/* the bound: TOTP_TYPED_MAX - 1 bytes are read, TOTP_TYPED_MAX refused */
	memset(big, ' ', sizeof(big));
	memcpy(big, "081804", 6);
	big[TOTP_TYPED_MAX - 1] = '\0';
	CHECK(totp_check(rfc_secret, RFC_LEN, big, T0, 0) == STEP0);
	big[TOTP_TYPED_MAX - 1] = ' ';
	big[TOTP_TYPED_MAX] = '\0';
	CHECK(totp_check(rfc_secret, RFC_LEN, big, T0, 0) == -1);
	/* a megabyte of digits: refused after reading the bound */
	huge = malloc(1 << 20);
	memset(huge, '1', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	CHECK(totp_check(rfc_secret, RFC_LEN, huge, T0, 0) == -1);
	free(huge);
	/* the wrong shape is -1 even when the secret is unusable; a right shape with no match is 0 */
	CHECK(totp_check(rfc_secret, RFC_LEN, "12345", T0, 0) == -1);
	CHECK(totp_check(rfc_secret, RFC_LEN, "000000", T0, INT64_MAX) == 0);
}

static void
test_check_early_times(void)
{
	char c[7];

	/* step 0 is never a candidate (0 means "no match"); step 1 is, from now = 0 */
	code6(1, c);
	CHECK(totp_check(rfc_secret, RFC_LEN, c, 0, 0) == 1);
	CHECK(totp_check(rfc_secret, RFC_LEN, c, 59, 0) == 1);
	code6(0, c);
	CHECK(totp_check(rfc_secret, RFC_LEN, c, 0, -1) == 0);
	CHECK(totp_check(rfc_secret, RFC_LEN, "287082", -100, 0) == 0);
}

#define KEY1 "server-secret-one-0123456789abcdef0123456789"
#define KEY2 "server-secret-two-0123456789abcdef0123456789"

static void
test_seal_roundtrip(void)
{
	unsigned char s[TOTP_SECRET_LEN], back[TOTP_SECRET_LEN];
	char sealed[TOTP_SEALED_MAX], again[TOTP_SEALED_MAX];
	size_t len = 99;
	/* a server secret longer than any hash key: it must still work */
	char longkey[300];

	totp_new_secret(s);
	CHECK(totp_seal(KEY1, s, sizeof(s), sealed, sizeof(sealed)) == 0);
	CHECK(strncmp(sealed, "v1:", 3) == 0);
	CHECK(strlen(sealed) < TOTP_SEALED_MAX);
	CHECK(totp_open(KEY1, sealed, back, &len) == 0);
	CHECK(len == TOTP_SECRET_LEN && memcmp(s, back, len) == 0);
	/* random nonce: another seal of the same secret differs, and opens the same */
	CHECK(totp_seal(KEY1, s, sizeof(s), again, sizeof(again)) == 0);
	CHECK(strcmp(sealed, again) != 0);
	CHECK(totp_open(KEY1, again, back, &len) == 0 && len == TOTP_SECRET_LEN && memcmp(s, back, len) == 0);
	/* shorter secrets round-trip with their length */
	CHECK(totp_seal(KEY1, s, 10, sealed, sizeof(sealed)) == 0);
	CHECK(totp_open(KEY1, sealed, back, &len) == 0 && len == 10 && memcmp(s, back, 10) == 0);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CHECK(totp_seal(longkey, s, sizeof(s), sealed, sizeof(sealed)) == 0);
	CHECK(totp_open(longkey, sealed, back, &len) == 0 && len == TOTP_SECRET_LEN);
	longkey[299 - 1] = 'K';
	CHECK(totp_open(longkey, sealed, back, &len) == -1 && len == 0);
}

static void
test_seal_refuses(void)
{
	unsigned char s[TOTP_SECRET_LEN + 1] = { 1 };
	char sealed[TOTP_SEALED_MAX];

	CHECK(totp_seal(KEY1, s, 0, sealed, sizeof(sealed)) == -1);
	CHECK(totp_seal(KEY1, s, TOTP_SECRET_LEN + 1, sealed, sizeof(sealed)) == -1);
	CHECK(totp_seal(NULL, s, TOTP_SECRET_LEN, sealed, sizeof(sealed)) == -1);
	/* 3 + 80 characters + NUL: 84 is enough, 83 is not */
	CHECK(totp_seal(KEY1, s, TOTP_SECRET_LEN, sealed, 83) == -1);
	CHECK_STR(sealed, "");
	CHECK(totp_seal(KEY1, s, TOTP_SECRET_LEN, sealed, 84) == 0 && strlen(sealed) == 83);
}

static void
test_open_refuses(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char s[TOTP_SECRET_LEN], back[TOTP_SECRET_LEN];
	char sealed[TOTP_SEALED_MAX], t[TOTP_SEALED_MAX + 8];
	size_t len, n;
	int all_refused = 1, cut_refused = 1;

	totp_new_secret(s);
	CHECK(totp_seal(KEY1, s, sizeof(s), sealed, sizeof(sealed)) == 0);
	n = strlen(sealed);
	/* another server secret */
	CHECK(totp_open(KEY2, sealed, back, &len) == -1 && len == 0);
	/* every character changed to every other base64 character */
	for (size_t i = 3; i < n; i++) {
		for (const char *c = b64; *c; c++) {
			if (*c == sealed[i])
				continue;
			memcpy(t, sealed, n + 1);
			t[i] = *c;
			if (totp_open(KEY1, t, back, &len) != -1)
				all_refused = 0;
		}
	}
	CHECK(all_refused);
	/* every truncation, and one character more */
	for (size_t i = 0; i < n; i++) {
		memcpy(t, sealed, i);
		t[i] = '\0';
		if (totp_open(KEY1, t, back, &len) != -1)
			cut_refused = 0;
	}
	CHECK(cut_refused);
	memcpy(t, sealed, n);
	memcpy(t + n, "A", 2);
	CHECK(totp_open(KEY1, t, back, &len) == -1);
	/* not ours: another version, no prefix, standard base64, padding, garbage */
	memcpy(t, sealed, n + 1);
	t[1] = '2';
	CHECK(totp_open(KEY1, t, back, &len) == -1);
	CHECK(totp_open(KEY1, sealed + 3, back, &len) == -1);
	CHECK(totp_open(KEY1, "", back, &len) == -1);
	CHECK(totp_open(KEY1, "v1:", back, &len) == -1);
	CHECK(totp_open(KEY1, "v1:====", back, &len) == -1);
	CHECK(totp_open(KEY1, "v1:not base64 at all!", back, &len) == -1);
	CHECK(totp_open(KEY1, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", back, &len) == -1);
	CHECK(totp_open(NULL, sealed, back, &len) == -1);
	CHECK(totp_open(KEY1, NULL, back, &len) == -1);
	/* a sealed text past TOTP_SEALED_MAX is not read to its end */
	memset(t, 'A', sizeof(t) - 1);
	memcpy(t, "v1:", 3);
	t[sizeof(t) - 1] = '\0';
	CHECK(totp_open(KEY1, t, back, &len) == -1);
	/* the original still opens */
	CHECK(totp_open(KEY1, sealed, back, &len) == 0 && memcmp(back, s, sizeof(s)) == 0);
}

/* A box made under our key of a plaintext longer than TOTP_SECRET_LEN: refused,
 * never written past the caller's TOTP_SECRET_LEN bytes. */
static void
test_open_refuses_long_plaintext(void)
{
	unsigned char key[crypto_secretbox_KEYBYTES], pt[TOTP_SECRET_LEN + 1] = { 7 };
	unsigned char raw[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + sizeof(pt)];
	unsigned char back[TOTP_SECRET_LEN + 4];
	char sealed[TOTP_SEALED_MAX];
	size_t len;

	seal_key(KEY1, key);
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	CHECK(crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, pt, sizeof(pt), raw, key) == 0);
	memcpy(sealed, "v1:", 3);
	sodium_bin2base64(sealed + 3, sizeof(sealed) - 3, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memset(back, 0xAA, sizeof(back));
	CHECK(totp_open(KEY1, sealed, back, &len) == -1);
	CHECK(back[TOTP_SECRET_LEN] == 0xAA);
	/* the same construction with 20 bytes opens: the test builds boxes as totp_seal does */
	CHECK(crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, pt, TOTP_SECRET_LEN, raw, key) == 0);
	sodium_bin2base64(sealed + 3, sizeof(sealed) - 3, raw, sizeof(raw) - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	CHECK(totp_open(KEY1, sealed, back, &len) == 0 && len == TOTP_SECRET_LEN && back[0] == 7);
}

int
main(void)
{
	if (sodium_init() < 0 || totp_global_init() != 0)
		return 1;
	test_rfc6238_vectors();
	test_code_at_refuses();
	test_base32_rfc4648();
	test_base32_matches_liboath();
	test_new_secret();
	test_otpauth_uri();
	test_check_window();
	test_check_replay();
	test_check_same_code_twice_in_window();
	test_check_text();
	test_check_early_times();
	test_seal_roundtrip();
	test_seal_refuses();
	test_open_refuses();
	test_open_refuses_long_plaintext();
	return test_summary("test_totp");
}
