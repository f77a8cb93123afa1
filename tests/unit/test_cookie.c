/* Unit tests for src/http/cookie.c: Cookie header parsing and Set-Cookie formatting. */
#include "test.h"
#include "../../src/http/cookie.c"

static int
find(const char *header, const char *name, char *out, size_t outsz)
{
	const char *v;
	size_t n;

	if (!cookie_find(header, name, &v, &n))
		return 0;
	snprintf(out, outsz, "%.*s", (int)n, v);
	return 1;
}

static void
test_find(void)
{
	char v[128];

	CHECK(find("sessionid=abc; csrftoken=xyz", "sessionid", v, sizeof(v)) && !strcmp(v, "abc"));
	CHECK(find("sessionid=abc; csrftoken=xyz", "csrftoken", v, sizeof(v)) && !strcmp(v, "xyz"));
	CHECK(find("  csrftoken = spaced  ;x=1", "csrftoken", v, sizeof(v)) && !strcmp(v, "spaced"));
	CHECK(find("a=1;csrftoken=\"quoted\"", "csrftoken", v, sizeof(v)) && !strcmp(v, "quoted"));
	/* Django: the last one wins */
	CHECK(find("sessionid=first; sessionid=second", "sessionid", v, sizeof(v)) && !strcmp(v, "second"));
	CHECK(find("sessionid=", "sessionid", v, sizeof(v)) && !strcmp(v, ""));
	CHECK(find("xsessionid=1; sessionidx=2", "sessionid", v, sizeof(v)) == 0);
	CHECK(find("sessionid", "sessionid", v, sizeof(v)) == 0);
	CHECK(find("", "sessionid", v, sizeof(v)) == 0);
	CHECK(find(";;;=;", "sessionid", v, sizeof(v)) == 0);
	CHECK(find(NULL, "sessionid", v, sizeof(v)) == 0);
	CHECK(find("a=b=c", "a", v, sizeof(v)) && !strcmp(v, "b=c"));
	CHECK(find("a=\"", "a", v, sizeof(v)) && !strcmp(v, "\""));
}

static void
test_format(void)
{
	struct buf b = { 0 };
	struct cookie_attrs session = { .max_age = 1209600, .http_only = true };
	struct cookie_attrs gone = { .max_age = -1 };
	struct cookie_attrs secure = { .max_age = 60, .secure = true };
	struct cookie_attrs scoped = { .max_age = 600, .http_only = true, .path = "/api/social/" };

	cookie_format(&b, "sessionid", "k", &session, 0);
	CHECK_STR(b.data,
	    "sessionid=k; expires=Thu, 15 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; "
	    "SameSite=Lax");
	b.len = 0;
	cookie_format(&b, "sessionid", "", &gone, 12345);
	CHECK_STR(b.data,
	    "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax");
	b.len = 0;
	cookie_format(&b, "csrftoken", "t", &secure, 0);
	CHECK_STR(b.data,
	    "csrftoken=t; expires=Thu, 01 Jan 1970 00:01:00 GMT; Max-Age=60; Path=/; SameSite=Lax; Secure");
	b.len = 0;
	cookie_format(&b, "gh_social", "b", &scoped, 0);
	CHECK_STR(b.data,
	    "gh_social=b; expires=Thu, 01 Jan 1970 00:10:00 GMT; HttpOnly; Max-Age=600; Path=/api/social/; "
	    "SameSite=Lax");
	buf_free(&b);
}

int
main(void)
{
	test_find();
	test_format();
	return test_summary("test_cookie");
}
