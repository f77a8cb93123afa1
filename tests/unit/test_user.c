/* Unit tests for src/user.c: email normal form and the profile JSON. */
#include "test.h"
#include "../../src/user.c"

static const char *
norm(const char *in)
{
	static char out[STORE_EMAIL_MAX + 1];

	return user_normalize_email(in, out, sizeof(out)) == 0 ? out : NULL;
}

int
main(void)
{
	struct store_user u = { .id = 7, .date_joined = 0, .is_staff = true };
	json_t *j;

	CHECK_STR(norm("  Alice@Example.COM "), "alice@example.com");
	CHECK_STR(norm("a.b+tag@sub.example.org"), "a.b+tag@sub.example.org");
	CHECK_STR(norm("root@localhost"), "root@localhost");
	CHECK(norm("a@b") == NULL);                 /* Django: no dotless domains */
	CHECK(norm("a@b..c") == NULL);
	CHECK(norm("a@.b.c") == NULL);
	CHECK(norm("a@b.c.") == NULL);
	CHECK(norm("@b.c") == NULL);
	CHECK(norm("a@@b.c") == NULL);
	CHECK(norm("a b@c.d") == NULL);
	CHECK(norm("a@c.d, e@f.g") == NULL);
	CHECK(norm("<a@c.d>") == NULL);
	CHECK(norm("") == NULL);
	CHECK(norm("   ") == NULL);
	CHECK(norm("\xff@c.d") == NULL);
	CHECK(norm("caf\xc3\xa9@example.com") != NULL);

	strlcpy_ok(u.email, "a@b.c", sizeof(u.email));
	j = user_profile_json(&u);
	CHECK(json_is_null(json_object_get(j, "last_login")));
	CHECK_STR(json_string_value(json_object_get(j, "date_joined")), "1970-01-01T00:00:00Z");
	CHECK(json_is_true(json_object_get(j, "is_staff")));
	CHECK(json_object_get(j, "password") == NULL && json_object_get(j, "auth_hash") == NULL);
	json_decref(j);
	return test_summary("test_user");
}
