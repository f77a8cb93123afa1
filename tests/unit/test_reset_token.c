/* Unit tests for src/auth/reset_token.c: uid encoding and the HMAC reset token. */
#include <sodium.h>

#include "test.h"
#include "../../src/auth/reset_token.c"

static const char *secret = "0123456789abcdef0123456789abcdef-test";

static void
test_uid(void)
{
	char uid[RESET_UID_MAX + 1];
	int64_t id = 0;

	reset_uid_encode(1, uid, sizeof(uid));
	CHECK_STR(uid, "MQ"); /* Django: urlsafe_base64_encode(b"1") */
	reset_uid_encode(12345, uid, sizeof(uid));
	CHECK(reset_uid_decode(uid, &id) == 0 && id == 12345);
	CHECK(reset_uid_decode("MQ", &id) == 0 && id == 1);
	CHECK(reset_uid_decode("", &id) == -1);
	CHECK(reset_uid_decode("!!", &id) == -1);
	CHECK(reset_uid_decode("MA", &id) == -1);       /* "0" */
	CHECK(reset_uid_decode("LTE", &id) == -1);      /* "-1" */
	CHECK(reset_uid_decode("YWJj", &id) == -1);     /* "abc" */
	CHECK(reset_uid_decode("MQ==", &id) == -1);     /* padding is not ours */
	CHECK(reset_uid_decode("MQBqdW5r", &id) == -1); /* "1\0junk" */
}

static void
test_token(void)
{
	struct store_user u = { .id = 7, .last_login = 1000 };
	char tok[RESET_TOKEN_MAX], tampered[RESET_TOKEN_MAX];

	strlcpy_ok(u.email, "a@b.c", sizeof(u.email));
	strlcpy_ok(u.password, "argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", sizeof(u.password));
	strlcpy_ok(u.auth_hash, "00112233445566778899aabbccddeeff", sizeof(u.auth_hash));
	reset_token_make(secret, &u, 5000, tok, sizeof(tok));
	CHECK(reset_token_check(secret, &u, tok, 5000, 3600) == 0);
	CHECK(reset_token_check(secret, &u, tok, 8600, 3600) == 0);
	CHECK(reset_token_check(secret, &u, tok, 8601, 3600) == -1); /* expired */
	CHECK(reset_token_check("another secret of enough length!!", &u, tok, 5000, 3600) == -1);
	memcpy(tampered, tok, sizeof(tok));
	tampered[strlen(tampered) - 1] ^= 1;
	CHECK(reset_token_check(secret, &u, tampered, 5000, 3600) == -1);
	/* a later issue time does not verify with the old MAC */
	memcpy(tampered, tok, sizeof(tok));
	tampered[0] = tampered[0] == 'z' ? 'y' : 'z';
	CHECK(reset_token_check(secret, &u, tampered, 5000, 1L << 40) == -1);
	{
		struct store_user v = u;
		v.last_login = 1001; /* logged in since */
		CHECK(reset_token_check(secret, &v, tok, 5000, 3600) == -1);
		v = u;
		v.password[10] = 'X'; /* password changed */
		CHECK(reset_token_check(secret, &v, tok, 5000, 3600) == -1);
		v = u;
		v.id = 8;
		CHECK(reset_token_check(secret, &v, tok, 5000, 3600) == -1);
		v = u;
		strlcpy_ok(v.email, "c@d.e", sizeof(v.email));
		CHECK(reset_token_check(secret, &v, tok, 5000, 3600) == -1);
	}
	CHECK(reset_token_check(secret, &u, "", 5000, 3600) == -1);
	CHECK(reset_token_check(secret, &u, "-", 5000, 3600) == -1);
	CHECK(reset_token_check(secret, &u, "zz-00", 5000, 3600) == -1);
	CHECK(reset_token_check(secret, &u, "ZZ-00000000000000000000000000000000", 5000, 3600) == -1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_uid();
	test_token();
	return test_summary("test_reset_token");
}
