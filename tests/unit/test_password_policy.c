/* Unit tests for src/auth/password_policy.c: Django's four validators. */
#include "test.h"
#include "../../src/auth/password_policy.c"

static int
problems(const char *pw, const char *email, const char *want)
{
	json_t *msgs = json_array();
	size_t i;
	json_t *m;
	int n = password_policy_check(pw, strlen(pw), 8, email, msgs), found = want == NULL;

	json_array_foreach (msgs, i, m)
		if (want && strcmp(json_string_value(m), want) == 0)
			found = 1;
	json_decref(msgs);
	return found ? n : -1;
}

static void
test_rules(void)
{
	CHECK(problems("a good long password", "alice@example.com", NULL) == 0);
	CHECK(problems("short1!", "alice@example.com",
	          "This password is too short. It must contain at least 8 characters.") == 1);
	/* 8 characters of UTF-8 count as 8 even when they are 16 bytes */
	CHECK(
	    problems("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "x@y.z", NULL) == 0);
	CHECK(problems("12345678901", "alice@example.com", "This password is entirely numeric.") >= 1);
	CHECK(problems("password1234", "alice@example.com", "This password is too common.") == 1);
	CHECK(problems("QWERTYUIOP", "alice@example.com", "This password is too common.") == 1);
	CHECK(problems("alicesmith1", "alicesmith@example.com",
	          "The password is too similar to the email address.") == 1);
	/* Django 3.2 accepts this one too: no part is close enough */
	CHECK(problems("alicesmith", "alice.smith@example.com", NULL) == 0);
	CHECK(problems("example.com1", "bob@example.com",
	          "The password is too similar to the email address.") == 1);
	CHECK(problems("zebra crossing 42", "alice.smith@example.com", NULL) == 0);
	CHECK(problems("1234", "a@b.c", NULL) == 3); /* short, common, numeric */
	CHECK(password_policy_is_common("iloveyou", 8));
	CHECK(password_policy_is_common("ILoveYou", 8));
	CHECK(!password_policy_is_common("iloveyou but not really", 23));
}

static void
test_too_long(void)
{
	char big[PASSWORD_MAX_BYTES + 2];
	json_t *msgs = json_array();

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(password_policy_check(big, strlen(big), 8, "a@b.c", msgs) == 1);
	CHECK_STR(json_string_value(json_array_get(msgs, 0)),
	    "Ensure this field has no more than 4096 characters.");
	json_decref(msgs);
}

static void
test_list_sorted(void)
{
	size_t bad = 0;

	CHECK(common_passwords_count > 10000);
	for (size_t i = 1; i < common_passwords_count; i++)
		if (strcmp(common_passwords[i - 1], common_passwords[i]) >= 0)
			bad++;
	CHECK(bad == 0);
}

int
main(void)
{
	test_rules();
	test_too_long();
	test_list_sorted();
	return test_summary("test_password_policy");
}
