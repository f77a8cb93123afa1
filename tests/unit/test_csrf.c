/* Unit tests for src/auth/csrf.c: Django's mask/unmask and token shapes. */
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

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_mask_roundtrip();
	test_django_vector();
	test_unmask_rejects();
	return test_summary("test_csrf");
}
