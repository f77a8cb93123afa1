/* Unit tests for src/http/body.c: JSON and form bodies, and what they refuse. */
#include "test.h"
#include "../../src/http/body.c"

static int
parse(const char *ctype, const char *data, size_t len, json_t **out)
{
	char detail[256];

	return body_parse(ctype, data, len, out, detail, sizeof(detail));
}

static void
test_json(void)
{
	json_t *o = NULL;

	CHECK(parse("application/json", "{\"email\":\"a@b.c\"}", 17, &o) == 0);
	CHECK_STR(json_string_value(json_object_get(o, "email")), "a@b.c");
	json_decref(o);
	CHECK(parse("application/json; charset=utf-8", "{}", 2, &o) == 0);
	json_decref(o);
	CHECK(parse("Application/JSON", "{}", 2, &o) == 0);
	json_decref(o);
	CHECK(parse("application/json", "{", 1, &o) == 400 && o == NULL);
	CHECK(parse("application/json", "[1,2]", 5, &o) == 400);
	CHECK(parse("application/json", "{\"a\":1,\"a\":2}", 13, &o) == 400);
	CHECK(parse("application/json", "{\"a\":\"\xff\"}", 9, &o) == 400);
	CHECK(parse("application/json", "{\"a\":\"\\u0000\"}", 14, &o) == 400);
	CHECK(parse("application/json", "", 0, &o) == 0);
	json_decref(o);
	CHECK(parse("application/jsonx", "{}", 2, &o) == 415);
	CHECK(parse("text/plain", "{}", 2, &o) == 415);
	CHECK(parse(NULL, "{}", 2, &o) == 415);
	CHECK(parse(NULL, "", 0, &o) == 0);
	json_decref(o);
}

static void
test_form(void)
{
	json_t *o = NULL;
	const char *f = "email=a%40b.c&password=p+w%21&empty=&flag&email=second%40b.c";

	CHECK(parse("application/x-www-form-urlencoded", f, strlen(f), &o) == 0);
	CHECK_STR(json_string_value(json_object_get(o, "email")), "second@b.c");
	CHECK_STR(json_string_value(json_object_get(o, "password")), "p w!");
	CHECK_STR(json_string_value(json_object_get(o, "empty")), "");
	CHECK_STR(json_string_value(json_object_get(o, "flag")), "");
	json_decref(o);
	CHECK(parse("application/x-www-form-urlencoded", "a=%zz", 5, &o) == 400);
	CHECK(parse("application/x-www-form-urlencoded", "a=%4", 4, &o) == 400);
	CHECK(parse("application/x-www-form-urlencoded", "a=%ff", 5, &o) == 400);
	CHECK(parse("application/x-www-form-urlencoded", "a=%00", 5, &o) == 400);
	CHECK(parse("application/x-www-form-urlencoded", "&&&", 3, &o) == 0);
	CHECK(json_object_size(o) == 0);
	json_decref(o);
	CHECK(parse("application/x-www-form-urlencoded", "%C3%A9=%E2%82%AC", 16, &o) == 0);
	CHECK_STR(json_string_value(json_object_get(o, "\xc3\xa9")), "\xe2\x82\xac");
	json_decref(o);
}

static void
test_utf8(void)
{
	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	CHECK(!utf8_valid("\xc3", 1));
	CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!utf8_valid("a\0b", 3));
}

int
main(void)
{
	test_json();
	test_form();
	test_utf8();
	return test_summary("test_body");
}
