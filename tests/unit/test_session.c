/* Unit tests for src/auth/session.c on a real SQLite store in a temporary
 * folder: what session_resolve accepts (never an unknown key; not expired,
 * idle, password-changed or inactive-user sessions), and the cookies
 * session_login / rotate / logout hand back. */
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "test.h"
#include "test_store.h"
#include "config.h"
#include "auth/caller.h"
#include "auth/csrf.h"
#include "auth/session.h"
#include "store/store.h"
#include "util.h"

#define NOW 1700000000

static char dir[] = "/tmp/gatehouse-test-session-XXXXXX";
static char origin[] = "https://app.example.com", none[] = "";
static struct store *st;
static struct config cfg;
static struct auth_env env;

static void
setup(void)
{
	char dsn[256];

	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(dsn, sizeof(dsn), "sqlite:%s/s.db", dir);
	st = test_store_open(dsn);
	cfg.public_origin = origin;
	cfg.trusted_origins = none;
	cfg.secure_cookies = true;
	cfg.session_max_age = 14 * 86400;
	cfg.session_idle_timeout = 0;
	cfg.reauth_max_age = 300;
	env.store = st;
	env.cfg = &cfg;
}

static void
teardown(void)
{
	static const char *suffix[] = { "", "-wal", "-shm" };
	char path[256];

	store_close(st);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/s.db%s", dir, suffix[i]);
		unlink(path);
	}
	rmdir(dir);
}

static struct store_user
make_user(const char *email)
{
	struct store_user u = { 0 };

	strlcpy_ok(u.email, email, sizeof(u.email));
	u.is_active = true;
	u.date_joined = NOW;
	session_new_auth_hash(u.auth_hash);
	if (store_user_create(st, &u) != 0)
		exit(1);
	return u;
}

static struct auth_in
in_with(const char *key, int64_t now)
{
	struct auth_in in = { 0 };

	in.session_key = key;
	in.session_key_len = key ? strlen(key) : 0;
	in.ip = "192.0.2.7";
	in.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
	in.https = true;
	in.now = now;
	return in;
}

/* resolve key at now: the rc, with c filled */
static int
resolve(const char *key, int64_t now, struct caller *c)
{
	struct auth_in in = in_with(key, now);

	memset(c, 0, sizeof(*c));
	return session_resolve(&env, &in, c);
}

/* Log u in at now, presenting old (may be NULL); the new key into key (33 bytes). */
static int
login(const struct store_user *u, const char *old, int64_t now, char *key, struct auth_cookies *out)
{
	struct auth_in in = in_with(old, now);
	struct caller c = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = session_login(&env, &in, u, &c, out);
	key[0] = '\0';
	if (rc == 0 && out->n > 0 && strcmp(out->c[0].name, "sessionid") == 0)
		strlcpy_ok(key, out->c[0].value, SESSION_KEY_LEN + 1);
	return rc;
}

static int
key_shape_ok(const char *k)
{
	if (strlen(k) != SESSION_KEY_LEN)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9')))
			return 0;
	return 1;
}

static void
test_no_cookie_is_anonymous(void)
{
	struct caller c;

	CHECK(resolve(NULL, NOW, &c) == 0);
	CHECK(c.kind == AUTH_NONE);
}

static void
test_unknown_key_never_adopted(void)
{
	const char *planted = "attackerplantedkey00000000000000";
	struct store_user u = make_user("fixate@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	CHECK(resolve(planted, NOW, &c) == 0);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0);
	/* logging in with it gives a key of our own; the planted one stays dead */
	CHECK(login(&u, planted, NOW, key, &out) == 0);
	CHECK(key_shape_ok(key));
	CHECK(strcmp(key, planted) != 0);
	CHECK(resolve(planted, NOW, &c) == 0);
	CHECK(resolve(key, NOW, &c) == 1);
	auth_cookies_wipe(&out);
}

static void
test_malformed_keys_ignored(void)
{
	static const char *bad[] = { "", "short", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
		"abcdefghijklmnopqrstuvwxyz01234-", "abcdefghijklmnopqrstuvwxyz0123456",
		"abcdefghijklmnopqrstuvwxyz01234\xc3" };
	struct caller c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(resolve(bad[i], NOW, &c) == 0);
		CHECK(c.kind == AUTH_NONE);
	}
}

static void
test_login_sets_session_and_csrf_cookies(void)
{
	struct store_user u = make_user("login@example.com"), back;
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(out.n == 2);
	CHECK_STR(out.c[0].name, "sessionid");
	CHECK(key_shape_ok(out.c[0].value));
	CHECK(out.c[0].http_only && out.c[0].secure);
	CHECK(out.c[0].max_age == cfg.session_max_age);
	CHECK_STR(out.c[1].name, "csrftoken");
	CHECK(strlen(out.c[1].value) == CSRF_SECRET_LEN);
	CHECK(!out.c[1].http_only && out.c[1].secure);
	CHECK(resolve(key, NOW + 1, &c) == 1);
	CHECK(c.kind == AUTH_SESSION && c.user.id == u.id);
	CHECK(c.session.expires_at == NOW + cfg.session_max_age);
	CHECK(store_user_by_id(st, u.id, &back) == 0 && back.last_login == NOW);
	/* a second login: another key and another CSRF secret */
	{
		struct auth_cookies out2;
		char key2[SESSION_KEY_LEN + 1];

		CHECK(login(&u, NULL, NOW, key2, &out2) == 0);
		CHECK(strcmp(key, key2) != 0);
		CHECK(strcmp(out.c[1].value, out2.c[1].value) != 0);
		auth_cookies_wipe(&out2);
	}
	cfg.secure_cookies = false;
	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(!out.c[0].secure && !out.c[1].secure);
	cfg.secure_cookies = true;
	auth_cookies_wipe(&out);
}

static void
test_login_ends_the_session_it_came_with(void)
{
	struct store_user u = make_user("fixation@example.com");
	struct auth_cookies out;
	struct caller c;
	char first[SESSION_KEY_LEN + 1], second[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, first, &out) == 0);
	CHECK(resolve(first, NOW, &c) == 1);
	CHECK(login(&u, first, NOW, second, &out) == 0);
	CHECK(resolve(first, NOW, &c) == 0);
	CHECK(resolve(second, NOW, &c) == 1);
	auth_cookies_wipe(&out);
}

static void
test_login_with_full_cookie_list_fails(void)
{
	struct store_user u = make_user("full@example.com");
	struct auth_in in = in_with(NULL, NOW);
	struct auth_cookies out = { 0 };
	struct caller c = { 0 };

	out.n = AUTH_MAX_COOKIES - 1;
	CHECK(session_login(&env, &in, &u, &c, &out) == -1);
	CHECK(out.n == AUTH_MAX_COOKIES - 1);
	CHECK(c.kind == AUTH_NONE);
}

static void
test_rotate_new_key_keeps_last_login(void)
{
	struct store_user u = make_user("rotate@example.com"), back;
	struct auth_in in;
	struct auth_cookies out;
	struct caller c = { 0 };
	char first[SESSION_KEY_LEN + 1], second[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, first, &out) == 0);
	/* the password changes: a new auth hash, and this browser goes on under a new key */
	session_new_auth_hash(u.auth_hash);
	CHECK(store_user_set_password(st, u.id, "", u.auth_hash) == 0);
	in = in_with(first, NOW + 100);
	memset(&out, 0, sizeof(out));
	CHECK(session_rotate(&env, &in, &u, &c, &out) == 0);
	CHECK(out.n == 2);
	CHECK_STR(out.c[0].name, "sessionid");
	CHECK_STR(out.c[1].name, "csrftoken");
	strlcpy_ok(second, out.c[0].value, sizeof(second));
	CHECK(strcmp(first, second) != 0);
	CHECK(c.kind == AUTH_SESSION && c.session.created_at == NOW + 100);
	CHECK(resolve(first, NOW + 101, &c) == 0);
	CHECK(resolve(second, NOW + 101, &c) == 1);
	CHECK(store_user_by_id(st, u.id, &back) == 0 && back.last_login == NOW);
	auth_cookies_wipe(&out);
}

static void
test_logout_deletes_session_and_cookie(void)
{
	struct store_user u = make_user("logout@example.com");
	struct auth_in in;
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, NOW, &c) == 1);
	in = in_with(key, NOW);
	memset(&out, 0, sizeof(out));
	CHECK(session_logout(&env, &in, &c, &out) == 0);
	CHECK(c.kind == AUTH_NONE);
	CHECK(out.n == 1);
	CHECK_STR(out.c[0].name, "sessionid");
	CHECK(out.c[0].max_age < 0);
	CHECK(out.c[0].secure);
	CHECK(resolve(key, NOW, &c) == 0);
	/* with no session at all: still the deletion cookie, and no error */
	in = in_with(NULL, NOW);
	memset(&out, 0, sizeof(out));
	CHECK(session_logout(&env, &in, &c, &out) == 0);
	CHECK(out.n == 1 && out.c[0].max_age < 0);
}

static void
test_expired_session_refused_and_deleted(void)
{
	struct store_user u = make_user("expired@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];
	int64_t end = NOW + cfg.session_max_age;

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, end - 1, &c) == 1);
	CHECK(resolve(key, end, &c) == 0);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0 && c.session.id == 0);
	/* deleted, not just refused: it does not come back at an earlier clock */
	CHECK(resolve(key, NOW + 1, &c) == 0);
}

static void
test_idle_session_refused(void)
{
	struct store_user u = make_user("idle@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	cfg.session_idle_timeout = 600;
	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, NOW + 400, &c) == 1);  /* use refreshes last_seen */
	CHECK(resolve(key, NOW + 900, &c) == 1);  /* 500 s after the last use */
	CHECK(resolve(key, NOW + 1500, &c) == 0); /* 600 s idle */
	CHECK(c.kind == AUTH_NONE);
	CHECK(resolve(key, NOW + 901, &c) == 0);
	cfg.session_idle_timeout = 0;
}

static void
test_password_change_ends_session(void)
{
	struct store_user u = make_user("authhash@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1], fresh[STORE_AUTHHASH_LEN + 1];

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, NOW, &c) == 1);
	session_new_auth_hash(fresh);
	CHECK(store_user_set_password(st, u.id, "", fresh) == 0);
	CHECK(resolve(key, NOW, &c) == 0);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0);
}

static void
test_inactive_user_session_refused(void)
{
	struct store_user u = make_user("inactive@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, NOW, &c) == 1);
	CHECK(store_user_set_flags(st, u.id, false, false, false, false) == 0);
	CHECK(resolve(key, NOW, &c) == 0);
	CHECK(c.kind == AUTH_NONE && c.user.id == 0);
	/* and it stays dead when the user is enabled again */
	CHECK(store_user_set_flags(st, u.id, true, false, false, false) == 0);
	CHECK(resolve(key, NOW, &c) == 0);
}

static void
test_reauth_fresh_window(void)
{
	struct store_user u = make_user("reauth@example.com");
	struct auth_cookies out;
	struct caller c;
	char key[SESSION_KEY_LEN + 1];

	CHECK(login(&u, NULL, NOW, key, &out) == 0);
	CHECK(resolve(key, NOW + 10, &c) == 1);
	CHECK(session_reauth_fresh(&env, &c, NOW + 10) == 1);
	CHECK(session_reauth_fresh(&env, &c, NOW + cfg.reauth_max_age) == 0);
	CHECK(session_mark_reauth(&env, &c, NOW + 1000) == 0);
	CHECK(session_reauth_fresh(&env, &c, NOW + 1001) == 1);
	/* recorded in the store: a later request sees it */
	CHECK(resolve(key, NOW + 1002, &c) == 1);
	CHECK(session_reauth_fresh(&env, &c, NOW + 1002) == 1);
	/* a token or nobody never counts, and cannot be marked */
	c.kind = AUTH_TOKEN;
	CHECK(session_reauth_fresh(&env, &c, NOW + 1002) == 0);
	CHECK(session_mark_reauth(&env, &c, NOW + 1002) == -1);
	c.kind = AUTH_NONE;
	CHECK(session_reauth_fresh(&env, &c, NOW + 1002) == 0);
}

static void
test_cookie_list_bounds(void)
{
	struct auth_cookies out = { 0 };
	char big[AUTH_COOKIE_VALUE_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(auth_cookie_add(&out, "x", big, 1, false, false) == -1);
	big[AUTH_COOKIE_VALUE_MAX] = '\0';
	for (int i = 0; i < AUTH_MAX_COOKIES; i++)
		CHECK(auth_cookie_add(&out, "x", big, 1, false, false) == 0);
	CHECK(auth_cookie_add(&out, "x", "v", 1, false, false) == -1);
	CHECK(out.n == AUTH_MAX_COOKIES);
	CHECK_STR(out.c[AUTH_MAX_COOKIES - 1].value, big);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	setup();
	test_no_cookie_is_anonymous();
	test_unknown_key_never_adopted();
	test_malformed_keys_ignored();
	test_login_sets_session_and_csrf_cookies();
	test_login_ends_the_session_it_came_with();
	test_login_with_full_cookie_list_fails();
	test_rotate_new_key_keeps_last_login();
	test_logout_deletes_session_and_cookie();
	test_expired_session_refused_and_deleted();
	test_idle_session_refused();
	test_password_change_ends_session();
	test_inactive_user_session_refused();
	test_reauth_fresh_window();
	test_cookie_list_bounds();
	teardown();
	return test_summary("test_session");
}
