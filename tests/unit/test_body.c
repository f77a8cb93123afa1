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

#define MP "multipart/form-data; boundary=XyZ"

static void
test_multipart(void)
{
	json_t *o = NULL;
	bool file;
	const char *ok =
	    "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n"
	    "--XyZ\r\ncontent-disposition: form-data; name=pw\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n\r\nline1\r\nline2\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n\xc3\xa9\r\n--XyZ--\r\nepilogue";

	CHECK(parse(MP, ok, strlen(ok), &o) == 0);
	CHECK_STR(json_string_value(json_object_get(o, "email")), "\xc3\xa9"); /* the last wins */
	CHECK_STR(json_string_value(json_object_get(o, "pw")), "line1\r\nline2");
	json_decref(o);
	/* an empty form, a quoted boundary with its special characters, an empty value */
	CHECK(parse(MP, "--XyZ--", 7, &o) == 0 && json_object_size(o) == 0);
	json_decref(o);
	{
		const char *b = "--a'(+_,-./:=? b\r\nContent-Disposition: form-data; "
		                "name=\"e\"\r\n\r\n\r\n--a'(+_,-./:=? b--";
		CHECK(parse("multipart/form-data; boundary=\"a'(+_,-./:=? b\"", b, strlen(b), &o) == 0);
		CHECK_STR(json_string_value(json_object_get(o, "e")), "");
		json_decref(o);
	}
	/* refused: 400 */
	CHECK(parse("multipart/form-data", "--XyZ--", 7, &o) == 400 && o == NULL);
	CHECK(parse("multipart/form-data; boundary=", "----", 4, &o) == 400);
	CHECK(parse("multipart/form-data; boundary=\"XyZ", "--XyZ--", 7, &o) == 400);
	CHECK(parse("multipart/form-data; boundary=a b ", "--a b --", 8, &o) == 400);
	CHECK(parse("multipart/form-data; boundary=a<b", "--a<b--", 7, &o) == 400);
	CHECK(parse(MP, "", 0, &o) == 400);
	CHECK(parse(MP, "preamble\r\n--XyZ--", 17, &o) == 400);
	{
		const char *nd = "--XyZ\r\n\r\nx\r\n--XyZ--"; /* no disposition */
		CHECK(parse(MP, nd, strlen(nd), &o) == 400);
	}
	{
		static const char *bad[] = {
			"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno close",
			"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n",
			"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\"\r\n\r\nx\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nno colon\r\n\r\nx\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n--XyZ--",
			"--XyZjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(parse(MP, bad[i], strlen(bad[i]), &o) == 400 && o == NULL);
	}
	/* a file part, even an empty file input, and a non-text part */
	{
		static const char *files[] = {
			"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
			"filename=\"a.png\"\r\n\r\nx\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
			"filename=\"\"\r\n\r\n\r\n--XyZ--",
			"--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\nContent-Type: "
			"image/png\r\n\r\nx\r\n--XyZ--",
		};
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			CHECK(multipart_parse(MP, files[i], strlen(files[i]), &file) == NULL && file);
		}
		CHECK(parse(MP, files[0], strlen(files[0]), &o) == 400 && o == NULL);
	}
	/* every prefix of a good body is refused or parsed, never read past */
	for (size_t n = 0; n < strlen(ok); n++) {
		char *copy = malloc(n ? n : 1);

		memcpy(copy, ok, n);
		if (parse(MP, copy, n, &o) == 0)
			json_decref(o);
		free(copy);
	}
	CHECK(body_is_form("multipart/form-data; boundary=x") &&
	    body_is_form("application/x-www-form-urlencoded") && !body_is_form("application/json") &&
	    !body_is_form(NULL));
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
	test_multipart();
	test_utf8();
	return test_summary("test_body");
}
