/* Unit tests for src/auth/token.c: the Authorization header as DRF's
 * TokenAuthentication reads it (keyword case-insensitive, exactly two
 * parts, its exact messages), and token_resolve against a real SQLite store
 * in a temporary folder (unknown, expired, inactive, live). */
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "test.h"
#include "test_store.h"
#include "config.h"
#include "auth/caller.h"
#include "auth/session.h"
#include "auth/token.h"
#include "store/store.h"
#include "util.h"

#define NO_CREDS  "Invalid token header. No credentials provided."
#define SPACES    "Invalid token header. Token string should not contain spaces."
#define BAD_CHARS "Invalid token header. Token string should not contain invalid characters."
#define INVALID   "Invalid token."
#define NOW       1700000000

static char dir[] = "/tmp/gatehouse-test-token-XXXXXX";
static struct store *st;
static struct config cfg;
static struct auth_env env;

static void
setup(void)
{
	char dsn[256];

	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(dsn, sizeof(dsn), "sqlite:%s/t.db", dir);
	st = test_store_open(dsn);
	env.store = st;
	env.cfg = &cfg;
}

static void
teardown(void)
{
	char path[256];

	store_close(st);
	for (size_t i = 0; i < 3; i++) {
		static const char *suffix[] = { "", "-wal", "-shm" };

		snprintf(path, sizeof(path), "%s/t.db%s", dir, suffix[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int64_t
make_user(const char *email, bool active)
{
	struct store_user u = { 0 };

	strlcpy_ok(u.email, email, sizeof(u.email));
	u.is_active = active;
	u.date_joined = NOW;
	session_new_auth_hash(u.auth_hash);
	if (store_user_create(st, &u) != 0)
		exit(1);
	return u.id;
}

/* token_resolve on just an Authorization value: rc, with detail and c filled. */
static int
resolve(const char *authorization, struct caller *c, char *detail, size_t detailsz, int64_t now)
{
	struct auth_in in = { .authorization = authorization, .now = now };

	memset(c, 0, sizeof(*c));
	strlcpy_ok(detail, "untouched", detailsz);
	return token_resolve(&env, &in, c, detail, detailsz);
}

static void
test_no_header_is_not_ours(void)
{
	struct caller c;
	char d[128];

	CHECK(resolve(NULL, &c, d, sizeof(d), NOW) == 0);
	CHECK(c.kind == AUTH_NONE);
}

static void
test_other_schemes_are_not_ours(void)
{
	static const char *other[] = { "Bearer abc", "Basic dXNlcjpwYXNz", "Tokens abc", "Tokenabc",
		"Toke abc", "", "   ", "Bearer", "TokenX abc def" };
	struct caller c;
	char d[128];

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK(resolve(other[i], &c, d, sizeof(d), NOW) == 0);
		CHECK(c.kind == AUTH_NONE);
	}
}

static void
test_keyword_alone_no_credentials(void)
{
	static const char *alone[] = { "Token", "token", "TOKEN", "Token ", "  Token\t \t" };
	struct caller c;
	char d[128];

	for (size_t i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
		CHECK(resolve(alone[i], &c, d, sizeof(d), NOW) == -1);
		CHECK_STR(d, NO_CREDS);
	}
}

static void
test_three_parts_contain_spaces(void)
{
	static const char *three[] = { "Token a b", "Token a\tb", "token  abc  def ", "Token a b c" };
	struct caller c;
	char d[128];

	for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++) {
		CHECK(resolve(three[i], &c, d, sizeof(d), NOW) == -1);
		CHECK_STR(d, SPACES);
	}
}

/* DRF splits on whitespace: extra blanks around the two parts are no error. */
static void
test_extra_blanks_around_parts(void)
{
	static const char *blanks[] = { "Token  abc", "  Token abc", "Token abc  ", "Token\tabc",
		"\tToken \t abc\t" };
	struct caller c;
	char d[128];

	for (size_t i = 0; i < sizeof(blanks) / sizeof(blanks[0]); i++) {
		CHECK(resolve(blanks[i], &c, d, sizeof(d), NOW) == -1);
		CHECK_STR(d, INVALID); /* parsed as the key "abc", which is unknown */
	}
}

static void
test_keyword_case_insensitive(void)
{
	static const char *kw[] = { "Token", "token", "TOKEN", "tOkEn" };
	char key[TOKEN_KEY_LEN + 1], h[128], d[128];
	struct caller c;
	int64_t uid = make_user("case@example.com", true);

	CHECK(token_create(st, uid, "case", 0, key, NULL) == 0);
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		snprintf(h, sizeof(h), "%s %s", kw[i], key);
		CHECK(resolve(h, &c, d, sizeof(d), NOW) == 1);
		CHECK(c.kind == AUTH_TOKEN && c.user.id == uid);
	}
}

static void
test_non_ascii_key(void)
{
	struct caller c;
	char d[128];

	/* valid UTF-8 is a well-formed (unknown) key; invalid UTF-8 is DRF's UnicodeError */
	CHECK(resolve("Token caf\xc3\xa9", &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, INVALID);
	CHECK(resolve("Token caf\xe9", &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, BAD_CHARS);
	CHECK(resolve("Token \xff\xfe", &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, BAD_CHARS);
}

static void
test_wrong_length_key_invalid(void)
{
	char key[TOKEN_KEY_LEN + 1], h[128], d[128];
	struct caller c;
	int64_t uid = make_user("len@example.com", true);

	CHECK(token_create(st, uid, "len", 0, key, NULL) == 0);
	snprintf(h, sizeof(h), "Token %.39s", key);
	CHECK(resolve(h, &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, INVALID);
	snprintf(h, sizeof(h), "Token %s0", key);
	CHECK(resolve(h, &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, INVALID);
	CHECK(c.kind == AUTH_NONE);
}

static void
test_unknown_key_invalid(void)
{
	struct caller c;
	char d[128];

	CHECK(resolve("Token 0123456789abcdef0123456789abcdef01234567", &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, INVALID);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0);
}

static void
test_live_token_resolves(void)
{
	char key[TOKEN_KEY_LEN + 1], h[128], d[128];
	struct store_token t;
	struct caller c;
	int64_t uid = make_user("live@example.com", true);

	CHECK(token_create(st, uid, "ci", 30, key, &t) == 0);
	snprintf(h, sizeof(h), "Token %s", key);
	CHECK(resolve(h, &c, d, sizeof(d), t.created_at + 86400) == 1);
	CHECK_STR(d, "");
	CHECK(c.kind == AUTH_TOKEN);
	CHECK(c.user.id == uid && c.token.id == t.id);
	CHECK_STR(c.user.email, "live@example.com");
	/* another key of the same shape is not it */
	key[0] = key[0] == 'a' ? 'b' : 'a';
	snprintf(h, sizeof(h), "Token %s", key);
	CHECK(resolve(h, &c, d, sizeof(d), t.created_at + 86400) == -1);
	CHECK_STR(d, INVALID);
}

static void
test_expired_token_invalid(void)
{
	char key[TOKEN_KEY_LEN + 1], h[128], d[128];
	struct store_token t;
	struct caller c;
	int64_t uid = make_user("expired@example.com", true);

	CHECK(token_create(st, uid, "short", 1, key, &t) == 0);
	snprintf(h, sizeof(h), "Token %s", key);
	CHECK(resolve(h, &c, d, sizeof(d), t.expires_at - 1) == 1);
	CHECK(resolve(h, &c, d, sizeof(d), t.expires_at) == -1);
	CHECK_STR(d, INVALID);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0 && c.token.id == 0);
}

static void
test_inactive_user_token_invalid(void)
{
	char key[TOKEN_KEY_LEN + 1], h[128], d[128];
	struct caller c;
	int64_t uid = make_user("off@example.com", true);

	CHECK(token_create(st, uid, "off", 0, key, NULL) == 0);
	snprintf(h, sizeof(h), "Token %s", key);
	CHECK(resolve(h, &c, d, sizeof(d), NOW) == 1);
	CHECK(store_user_set_flags(st, uid, false, false, false, false) == 0);
	CHECK(resolve(h, &c, d, sizeof(d), NOW) == -1);
	CHECK_STR(d, INVALID);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	setup();
	test_no_header_is_not_ours();
	test_other_schemes_are_not_ours();
	test_keyword_alone_no_credentials();
	test_three_parts_contain_spaces();
	test_extra_blanks_around_parts();
	test_keyword_case_insensitive();
	test_non_ascii_key();
	test_wrong_length_key_invalid();
	test_unknown_key_invalid();
	test_live_token_resolves();
	test_expired_token_invalid();
	test_inactive_user_token_invalid();
	teardown();
	return test_summary("test_token");
}
