/* Unit tests for src/http/static.c: which names count as content-hashed,
 * path refusal, and static_map (no request) over a real folder. */
#include "test.h"
#include "../../src/http/static.c"

static char root[] = "/tmp/gatehouse-test-static-XXXXXX";
static char outside[] = "/tmp/gatehouse-test-outside-XXXXXX";

static void
put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	fputs(text, f);
	fclose(f);
}

static void
setup_tree(void)
{
	char path[512], target[512];

	if (mkdtemp(root) == NULL || mkdtemp(outside) == NULL)
		exit(1);
	put(root, "index.html", "<!doctype html><title>spa</title>\n"); /* 34 bytes */
	snprintf(path, sizeof(path), "%s/assets", root);
	mkdir(path, 0700);
	put(root, "assets/app-Ab12Cd34.js", "console.log(1)\n");
	put(root, "robots.txt", "User-agent: *\n");
	put(root, "Logo.SVG", "<svg/>");
	put(outside, "secret.txt", "outside the static folder\n");
	snprintf(path, sizeof(path), "%s/escape.txt", root);
	snprintf(target, sizeof(target), "%s/secret.txt", outside);
	if (symlink(target, path) != 0)
		exit(1);
	snprintf(path, sizeof(path), "%s/assets/inner.txt", root);
	if (symlink("../robots.txt", path) != 0)
		exit(1);
}

static void
teardown_tree(void)
{
	static const char *files[] = { "index.html", "assets/app-Ab12Cd34.js", "robots.txt", "Logo.SVG",
		"escape.txt", "assets/inner.txt" };
	char path[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/assets", root);
	rmdir(path);
	rmdir(root);
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	unlink(path);
	rmdir(outside);
}

/* static_map, closing the fd: rc; *type and *size as mapped */
static int
map(const char *path, struct static_file *f)
{
	int rc = static_map(root, path, f);

	if (rc == 0) {
		CHECK(f->fd >= 0);
		close(f->fd);
	} else {
		CHECK(f->fd == -1);
	}
	return rc;
}

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

static void
test_map_serves_file(void)
{
	struct static_file f;

	CHECK(map("/assets/app-Ab12Cd34.js", &f) == 0);
	CHECK_STR(f.content_type, "text/javascript; charset=utf-8");
	CHECK(f.size == 15 && f.hashed && !f.html && !f.no_referrer);
	CHECK(map("/robots.txt", &f) == 0);
	CHECK_STR(f.content_type, "text/plain; charset=utf-8");
	CHECK(!f.hashed);
	CHECK(map("///robots.txt", &f) == 0);
	CHECK_STR(f.content_type, "text/plain; charset=utf-8");
	CHECK(map("/Logo.SVG", &f) == 0);
	CHECK_STR(f.content_type, "image/svg+xml");
	/* a symlink that stays inside is followed */
	CHECK(map("/assets/inner.txt", &f) == 0);
	CHECK_STR(f.content_type, "text/plain; charset=utf-8");
}

static void
test_map_falls_back_to_index(void)
{
	static const char *spa[] = { "/", "", "/login", "/account/security", "/assets/", "/assets",
		"/missing.js", "/index.html", "/robots.txt/", "/a\xc3\xa9" };
	struct static_file f;

	for (size_t i = 0; i < sizeof(spa) / sizeof(spa[0]); i++) {
		CHECK(map(spa[i], &f) == 0);
		CHECK_STR(f.content_type, "text/html; charset=utf-8");
		CHECK(f.size == 34 && f.html && !f.hashed);
	}
}

static void
test_map_refuses_dot_segments(void)
{
	static const char *bad[] = { "/..", "/../etc/passwd", "/assets/../../x", "/assets/../index.html",
		"/./robots.txt", "/a\\..\\b", "/assets/..", "/.." };
	struct static_file f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(map(bad[i], &f) == -1);
}

/* A symlink out of the folder is never followed: the SPA answers instead. */
static void
test_map_symlink_out_not_served(void)
{
	struct static_file f;

	CHECK(map("/escape.txt", &f) == 0);
	CHECK_STR(f.content_type, "text/html; charset=utf-8");
	CHECK(f.size == 34);
}

static void
test_map_secret_paths_no_referrer(void)
{
	static const char *secret[] = { "/reset-password/MQ/abc-123/", "/confirm-email/abc/",
		"/auth/github/callback" };
	struct static_file f;

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		CHECK(map(secret[i], &f) == 0);
		CHECK(f.no_referrer && f.html);
	}
	CHECK(map("/reset-password", &f) == 0);
	CHECK(!f.no_referrer);
	CHECK(map("/authx/", &f) == 0);
	CHECK(!f.no_referrer);
}

static void
test_map_missing_folder(void)
{
	struct static_file f;

	CHECK(static_map("/nonexistent/gatehouse/static", "/", &f) == -2);
	CHECK(f.fd == -1);
	/* a folder without index.html: nothing to fall back to */
	CHECK(static_map(outside, "/login", &f) == -1);
	CHECK(static_map(outside, "/secret.txt", &f) == 0);
	close(f.fd);
}

int
main(void)
{
	setup_tree();
	test_hashed();
	test_bad_path();
	test_map_serves_file();
	test_map_falls_back_to_index();
	test_map_refuses_dot_segments();
	test_map_symlink_out_not_served();
	test_map_secret_paths_no_referrer();
	test_map_missing_folder();
	teardown_tree();
	return test_summary("test_static");
}
