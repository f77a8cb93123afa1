/* Unit tests for src/http/static.c: which names count as content-hashed, and path refusal. */
#include "test.h"
#include "../../src/http/static.c"

static void
test_hashed(void)
{
	CHECK(static_is_hashed("assets/app-Ab12Cd34.js"));
	CHECK(static_is_hashed("assets/index-Bk-3xQ9Q.css"));
	CHECK(static_is_hashed("assets/vendor-lib-D0_9aZ_k.js"));
	CHECK(static_is_hashed("main.3f2a1b9c8d7e6f50.js"));
	CHECK(!static_is_hashed("index.html"));
	CHECK(!static_is_hashed("robots.txt"));
	CHECK(!static_is_hashed("favicon-32x32.png"));
	CHECK(!static_is_hashed("docs/my-document.pdf"));
	CHECK(!static_is_hashed("noext"));
	CHECK(!static_is_hashed(""));
}

static void
test_bad_path(void)
{
	CHECK(bad_path(".."));
	CHECK(bad_path("../etc/passwd"));
	CHECK(bad_path("assets/../../x"));
	CHECK(bad_path("a/./b"));
	CHECK(bad_path("a\\..\\b"));
	CHECK(bad_path("a/.."));
	CHECK(!bad_path("a/..b/c"));
	CHECK(!bad_path("assets/app.js"));
	CHECK(!bad_path(".well-known/x"));
}

int
main(void)
{
	test_hashed();
	test_bad_path();
	return test_summary("test_static");
}
