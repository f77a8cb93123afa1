/* Unit tests for src/auth/recovery.c: the shape and alphabet of new codes,
 * their spread, the normalisation of what a person types, the refusals, and
 * the hash against OpenSSL's HMAC computed here independently. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "test.h"
#include "../../src/auth/recovery.c"

#define KEY1   "server-secret-one-0123456789abcdef0123456789"
#define KEY2   "server-secret-two-0123456789abcdef0123456789"
#define NCODES 2000

static int
cmp_codes(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_new_shape_and_alphabet(void)
{
	static char codes[NCODES][RECOVERY_CODE_TEXT];
	int seen[256] = { 0 }, shape_ok = 1, alphabet_ok = 1, unique = 1, every_char = 1;
	char h[RECOVERY_HASH_LEN + 1];

	for (int i = 0; i < NCODES; i++) {
		char *c = codes[i];

		recovery_code_new(c);
		if (strlen(c) != 11 || c[5] != '-')
			shape_ok = 0;
		for (int k = 0; k < 11; k++) {
			if (k == 5)
				continue;
			if (c[k] == '\0' || strchr(RECOVERY_ALPHABET, c[k]) == NULL)
				alphabet_ok = 0;
			seen[(unsigned char)c[k]]++;
		}
	}
	CHECK(shape_ok);
	CHECK(alphabet_ok);
	/* no look-alikes, no upper case in the alphabet itself */
	for (const char *p = "01ilo"; *p; p++)
		CHECK(strchr(RECOVERY_ALPHABET, *p) == NULL && seen[(unsigned char)*p] == 0);
	CHECK(strlen(RECOVERY_ALPHABET) == 31);
	/* 20000 draws over 31 characters: each appears (expected ~645 times; missing one is ~e^-650) */
	for (const char *p = RECOVERY_ALPHABET; *p; p++)
		if (seen[(unsigned char)*p] < 400)
			every_char = 0;
	CHECK(every_char);
	qsort(codes, NCODES, sizeof(codes[0]), cmp_codes);
	for (int i = 1; i < NCODES; i++)
		if (strcmp(codes[i - 1], codes[i]) == 0)
			unique = 0;
	CHECK(unique);
	/* a new code hashes: it is a valid code as shown */
	CHECK(recovery_code_hash(KEY1, codes[0], h) == 0);
}

static void
test_hash_normalisation(void)
{
	static const char *same[] = { "abcde-fghjk", "ABCDE-FGHJK", "abcde fghjk", "abcdefghjk",
		"  AbCdE-fGhJk \n", "a-b-c-d-e-f-g-h-j-k", "\tabcde--fghjk\r\n", "ab cde fgh jk" };
	char first[RECOVERY_HASH_LEN + 1], h[RECOVERY_HASH_LEN + 1];

	CHECK(recovery_code_hash(KEY1, same[0], first) == 0);
	CHECK(strlen(first) == RECOVERY_HASH_LEN);
	for (const char *p = first; *p; p++)
		CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	for (size_t i = 1; i < sizeof(same) / sizeof(same[0]); i++) {
		CHECK(recovery_code_hash(KEY1, same[i], h) == 0);
		CHECK_STR(h, first);
	}
	/* one character different, or the same characters in another order: another hash */
	CHECK(recovery_code_hash(KEY1, "abcde-fghjm", h) == 0);
	CHECK(strcmp(h, first) != 0);
	CHECK(recovery_code_hash(KEY1, "fghjk-abcde", h) == 0);
	CHECK(strcmp(h, first) != 0);
}

/* The hash is HMAC-SHA256(HMAC-SHA256(server_secret, context), normalised code), in hex:
 * computed here with OpenSSL, a second implementation. */
static void
test_hash_known_answer(void)
{
	unsigned char key[32], mac[32];
	unsigned int klen = 0, mlen = 0;
	char want[RECOVERY_HASH_LEN + 1], h[RECOVERY_HASH_LEN + 1];
	const char *ctx = "gatehouse.recovery-code.v1";

	CHECK(HMAC(EVP_sha256(), KEY1, (int)strlen(KEY1), (const unsigned char *)ctx, strlen(ctx), key,
	          &klen) != NULL);
	CHECK(
	    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)"23456789zz", 10, mac, &mlen) != NULL);
	CHECK(klen == 32 && mlen == 32);
	hex_encode(mac, 32, want);
	CHECK(recovery_code_hash(KEY1, "23456-789ZZ", h) == 0);
	CHECK_STR(h, want);
}

static void
test_hash_refuses(void)
{
	static const char *bad[] = {
		"",
		"   ",
		"-----",
		"abcde-fghj",   /* 9 */
		"abcde-fghjkm", /* 11 */
		"abcde-fghji",  /* i */
		"abcde-fghjl",  /* l */
		"abcde-fghjo",  /* o */
		"abcde-fghj0",  /* 0 */
		"abcde-fghj1",  /* 1 */
		"abcde_fghjk",  /* _ is not a separator */
		"abcde.fghjk",
		"abcde-fghj\xc3\xa9", /* é */
		"\xef\xbc\xa1"
		"bcde-fghjk",
		"abcde-fghjk-abcde-fghjk",
		"abcde\x01"
		"fghjk",
	};
	char h[RECOVERY_HASH_LEN + 1], big[RECOVERY_TYPED_MAX + 1], *huge;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(h, "x", 2);
		CHECK(recovery_code_hash(KEY1, bad[i], h) == -1);
		CHECK_STR(h, "");
	}
	CHECK(recovery_code_hash(KEY1, NULL, h) == -1);
	CHECK(recovery_code_hash(NULL, "abcde-fghjk", h) == -1);
	/* the bound: RECOVERY_TYPED_MAX - 1 bytes are read, RECOVERY_TYPED_MAX refused */
	memset(big, '-', sizeof(big));
	memcpy(big, "abcdefghjk", 10);
	big[RECOVERY_TYPED_MAX - 1] = '\0';
	CHECK(recovery_code_hash(KEY1, big, h) == 0);
	big[RECOVERY_TYPED_MAX - 1] = '-';
	big[RECOVERY_TYPED_MAX] = '\0';
	CHECK(recovery_code_hash(KEY1, big, h) == -1);
	huge = malloc(1 << 20);
	memset(huge, 'a', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	CHECK(recovery_code_hash(KEY1, huge, h) == -1);
	free(huge);
}

static void
test_hash_keyed(void)
{
	char a[RECOVERY_HASH_LEN + 1], b[RECOVERY_HASH_LEN + 1], c[RECOVERY_HASH_LEN + 1];
	char longkey[300];

	CHECK(recovery_code_hash(KEY1, "abcde-fghjk", a) == 0);
	CHECK(recovery_code_hash(KEY2, "abcde-fghjk", b) == 0);
	CHECK(strcmp(a, b) != 0);
	/* deterministic: the same secret and code give the same hash (it is looked up) */
	CHECK(recovery_code_hash(KEY1, "ABCDE FGHJK", c) == 0);
	CHECK_STR(c, a);
	/* a server secret longer than a hash block still keys it */
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CHECK(recovery_code_hash(longkey, "abcde-fghjk", c) == 0);
	CHECK(strcmp(c, a) != 0 && strcmp(c, b) != 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_new_shape_and_alphabet();
	test_hash_normalisation();
	test_hash_known_answer();
	test_hash_refuses();
	test_hash_keyed();
	return test_summary("test_recovery");
}
