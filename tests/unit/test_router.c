/* Unit tests for router_path_match (src/http/router.c), called without a
 * request: trailing slash, "<id>" numbers, "<name>" slugs, and the paths
 * that must not match (double slashes, "..", encodings, case, extra
 * segments). */
#include <stdint.h>

#include "test.h"
#include "http/router.h"

/* match and return nids (-1: no match); ids and slug filled */
static int
m(const char *pattern, const char *path, int64_t ids[ROUTE_MAX_IDS + 1], char slug[48])
{
	int nids = -7;

	ids[0] = ids[1] = ids[2] = -1;
	memset(slug, 0, 48);
	if (!router_path_match(pattern, path, ids, &nids, slug))
		return -1;
	return nids;
}

static void
test_trailing_slash_optional(void)
{
	int64_t ids[3];
	char slug[48];

	CHECK(m("/api/login/", "/api/login/", ids, slug) == 0);
	CHECK(m("/api/login/", "/api/login", ids, slug) == 0);
	CHECK(m("/api/login/", "/api/login//", ids, slug) == -1);
	CHECK(m("/api/login/", "/api/logi", ids, slug) == -1);
	CHECK(m("/api/login/", "/api/login/x", ids, slug) == -1);
	CHECK(m("/api/login/", "/api/", ids, slug) == -1);
	CHECK(m("/api/login/", "", ids, slug) == -1);
	CHECK(m("/api/sessions/<id>/", "/api/sessions/5", ids, slug) == 1);
	CHECK(ids[0] == 5);
	CHECK(m("/api/social/<name>/", "/api/social/github", ids, slug) == 0);
	CHECK_STR(slug, "github");
}

static void
test_id_numbers(void)
{
	int64_t ids[3];
	char slug[48];

	CHECK(m("/api/tokens/<id>/", "/api/tokens/1/", ids, slug) == 1);
	CHECK(ids[0] == 1);
	CHECK(m("/api/tokens/<id>/", "/api/tokens/123456789/", ids, slug) == 1);
	CHECK(ids[0] == 123456789);
	/* leading zeros read as the number (as Django's <int:>) */
	CHECK(m("/api/tokens/<id>/", "/api/tokens/007/", ids, slug) == 1);
	CHECK(ids[0] == 7);
	/* 18 digits is the most: every such number fits an int64 */
	CHECK(m("/api/tokens/<id>/", "/api/tokens/999999999999999999/", ids, slug) == 1);
	CHECK(ids[0] == 999999999999999999LL);
	CHECK(m("/api/tokens/<id>/", "/api/tokens/000000000000000001/", ids, slug) == 1);
	CHECK(ids[0] == 1);
}

static void
test_id_refusals(void)
{
	static const char *bad[] = {
		"/api/tokens/0/",
		"/api/tokens/000/",
		"/api/tokens/-1/",
		"/api/tokens/+1/",
		"/api/tokens//",
		"/api/tokens/",
		"/api/tokens",
		"/api/tokens/1x/",
		"/api/tokens/x1/",
		"/api/tokens/ 1/",
		"/api/tokens/1 /",
		"/api/tokens/1.0/",
		"/api/tokens/0x10/",
		"/api/tokens/1e3/",
		"/api/tokens/9223372036854775807/", /* 19 digits, even INT64_MAX */
		"/api/tokens/9223372036854775808/",
		"/api/tokens/1000000000000000000/",
		"/api/tokens/99999999999999999999999999999999999999/",
		"/api/tokens/%31/",
		"/api/tokens/\xd9\xa1/",
	};
	int64_t ids[3];
	char slug[48];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(m("/api/tokens/<id>/", bad[i], ids, slug) == -1);
		CHECK(ids[1] == -1 && ids[2] == -1);
	}
}

static void
test_two_ids_in_order(void)
{
	int64_t ids[3];
	char slug[48];

	CHECK(m("/api/admin/users/<id>/sessions/<sid>/", "/api/admin/users/12/sessions/34/", ids, slug) == 2);
	CHECK(ids[0] == 12 && ids[1] == 34 && ids[2] == -1);
	CHECK(m("/api/admin/users/<id>/sessions/<sid>/", "/api/admin/users/12/sessions/", ids, slug) == -1);
	CHECK(m("/api/admin/users/<id>/sessions/<sid>/", "/api/admin/users/12/sessions/34/56/", ids, slug) ==
	    -1);
}

/* A pattern with more "<id>" than ids[] holds never writes past it. */
static void
test_ids_bounded(void)
{
	int64_t ids[3];
	char slug[48];

	CHECK(m("/a/<id>/<id>/<id>/", "/a/1/2/3/", ids, slug) == ROUTE_MAX_IDS);
	CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == -1);
}

static void
test_name_slug_bounds(void)
{
	char forty[41], fortyone[42], path[128];
	int64_t ids[3];
	char slug[48];

	memset(forty, 'a', 40);
	forty[40] = '\0';
	memset(fortyone, 'b', 41);
	fortyone[41] = '\0';
	CHECK(m("/api/social/<name>/authorize/", "/api/social/github/authorize/", ids, slug) == 0);
	CHECK_STR(slug, "github");
	CHECK(m("/api/social/<name>/authorize/", "/api/social/my-idp-2/authorize", ids, slug) == 0);
	CHECK_STR(slug, "my-idp-2");
	CHECK(m("/api/social/<name>/authorize/", "/api/social/x/authorize/", ids, slug) == 0);
	CHECK_STR(slug, "x");
	snprintf(path, sizeof(path), "/api/social/%s/authorize/", forty);
	CHECK(m("/api/social/<name>/authorize/", path, ids, slug) == 0);
	CHECK_STR(slug, forty);
	snprintf(path, sizeof(path), "/api/social/%s/authorize/", fortyone);
	CHECK(m("/api/social/<name>/authorize/", path, ids, slug) == -1);
	CHECK_STR(slug, "");
}

static void
test_name_refusals(void)
{
	static const char *bad[] = {
		"/api/social//authorize/",
		"/api/social/GitHub/authorize/",
		"/api/social/git_hub/authorize/",
		"/api/social/git.hub/authorize/",
		"/api/social/git%2Fhub/authorize/",
		"/api/social/gith\xc3\xbc"
		"b/authorize/",
		"/api/social/github /authorize/",
		"/api/social/..%2F/authorize/",
		"/api/social/../authorize/",
	};
	int64_t ids[3];
	char slug[48];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(m("/api/social/<name>/authorize/", bad[i], ids, slug) == -1);
}

static void
test_shape_refusals(void)
{
	static const char *bad[] = {
		"//api/login/",
		"/api//login/",
		"/api/login/../login/",
		"/api/./login/",
		"/api/x/../login/",
		"/API/login/",
		"/api/Login/",
		"/api/LOGIN/",
		"/api/login%2F",
		"/api/login%2f",
		"/api%2Flogin/",
		"/api/login/extra/",
		"/api/login/extra",
		"/api/login/?x=1",
		"/api/login/#x",
		"api/login/",
		"/api/login\\",
		"/api/login/\t",
	};
	int64_t ids[3];
	char slug[48];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(m("/api/login/", bad[i], ids, slug) == -1);
	CHECK(m("/api/sessions/<id>/", "/api/sessions/5/6/", ids, slug) == -1);
	CHECK(m("/api/sessions/<id>/", "/api/sessions/5/../6/", ids, slug) == -1);
}

static void
test_null_outputs(void)
{
	CHECK(router_path_match("/api/admin/users/<id>/sessions/<sid>/", "/api/admin/users/1/sessions/2/",
	          NULL, NULL, NULL) == 1);
	CHECK(router_path_match("/api/social/<name>/", "/api/social/github/", NULL, NULL, NULL) == 1);
	CHECK(router_path_match("/api/social/<name>/", "/api/social/", NULL, NULL, NULL) == 0);
}

/* Every route of the table matches its own pattern with "<id>" and
 * "<name>" filled in, and the slashless form of those that end in '/'. */
static void
test_table_routes_match_themselves(void)
{
	for (const struct route *rt = routes; rt->path; rt++) {
		char path[256], *o = path;
		const char *p = rt->path;
		size_t len;

		while (*p && o < path + sizeof(path) - 8) {
			if (strncmp(p, "<name>", 6) == 0) {
				memcpy(o, "github", 6);
				o += 6;
				p += 6;
			} else if (*p == '<') {
				*o++ = '4';
				*o++ = '2';
				p = strchr(p, '>') + 1;
			} else {
				*o++ = *p++;
			}
		}
		*o = '\0';
		CHECK(router_path_match(rt->path, path, NULL, NULL, NULL) == 1);
		len = strlen(path);
		if (path[len - 1] != '/')
			continue; /* /healthz, /metrics: no slash to leave out */
		path[len - 1] = '\0';
		CHECK(router_path_match(rt->path, path, NULL, NULL, NULL) == 1);
	}
}

int
main(void)
{
	test_trailing_slash_optional();
	test_id_numbers();
	test_id_refusals();
	test_two_ids_in_order();
	test_ids_bounded();
	test_name_slug_bounds();
	test_name_refusals();
	test_shape_refusals();
	test_null_outputs();
	test_table_routes_match_themselves();
	return test_summary("test_router");
}
