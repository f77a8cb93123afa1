/* libFuzzer driver: the router's matching and the auth rules on what a
 * client controls, without a server.  The input is
 *
 *   METHOD SP PATH LF
 *   Name: value LF           (any number)
 *
 * The path goes through router_path_match against every route of the table;
 * the Cookie, Origin, Referer, X-CSRFToken and Authorization headers go
 * through cookie_find and then csrf_check (as http and as https),
 * token_resolve and session_resolve against a real SQLite store in a
 * temporary folder (one user with a live session
 * sessionid=fuzzsessionkeyaaaaaaaaaaaaaaaaaa and one API token).
 *
 * What must hold for every input: no crash and no UB (ASan/UBSan); a
 * match never reports more ids than ids[] holds, ids are positive, a slug
 * is 1 to 40 of [a-z0-9-]; every refusal message is printable ASCII; a
 * resolved caller has the kind and a user. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "auth/caller.h"
#include "auth/csrf.h"
#include "auth/session.h"
#include "auth/token.h"
#include "http/cookie.h"
#include "http/router.h"
#include "log.h"
#include "store/store.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SESSION_KEY "fuzzsessionkeyaaaaaaaaaaaaaaaaaa"

static struct config cfg;
static struct auth_env env;

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_router: %s: %s\n", what, err);
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/gatehouse-fuzz-router-XXXXXX", path[256], err[512], key[TOKEN_KEY_LEN + 1];
	struct store_user u = { 0 };
	struct store_session s = { 0 };
	struct store *st;
	int applied;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "failed");
	snprintf(path, sizeof(path), "sqlite:%s/gh.db", dir);
	setenv("GATEHOUSE_DATABASE", path, 1);
	setenv("GATEHOUSE_PUBLIC_ORIGIN", "https://app.example.com", 1);
	setenv("GATEHOUSE_TRUSTED_ORIGINS", "https://admin.example.com, http://localhost:5173", 1);
	setenv("GATEHOUSE_SECRET_KEY", "fuzz-secret-key-fuzz-secret-key-fuzz-secret", 1);
	setenv("GATEHOUSE_SESSION_IDLE_TIMEOUT", "3600", 1);
	setenv("GATEHOUSE_LOG_LEVEL", "error", 1);
	if (sodium_init() < 0)
		die("sodium_init", "failed");
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0)
		die("config", err);
	log_set_level(LOG_ERROR);
	if ((st = store_open(cfg.database, err, sizeof(err))) == NULL)
		die("store", err);
	if (store_migrate(st, &applied, err, sizeof(err)) != 0)
		die("migrate", err);
	env.store = st;
	env.cfg = &cfg;

	strlcpy_ok(u.email, "alice@example.com", sizeof(u.email));
	u.is_active = u.is_staff = true;
	u.date_joined = now_unix();
	session_new_auth_hash(u.auth_hash);
	if (store_user_create(st, &u) != 0)
		die("user", "create failed");
	sha256_hex(SESSION_KEY, strlen(SESSION_KEY), s.key_hash);
	s.user_id = u.id;
	memcpy(s.auth_hash, u.auth_hash, sizeof(s.auth_hash));
	s.created_at = s.last_seen = now_unix();
	s.expires_at = s.created_at + 14 * 86400;
	if (store_session_create(st, &s, "127.0.0.1", "fuzz") != 0)
		die("session", "create failed");
	if (token_create(st, u.id, "fuzz", 0, key, NULL) != 0)
		die("token", "create failed");
	fprintf(stderr, "fuzz_router: token key %s\n", key);
	return 0;
}

static void
must_be_printable(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e) {
			fprintf(stderr, "fuzz_router: %s holds byte 0x%02x\n", what, *p);
			abort();
		}
}

static void
check_routes(const char *path)
{
	for (const struct route *rt = routes; rt->path; rt++) {
		int64_t ids[ROUTE_MAX_IDS + 1] = { 0, 0, -12345 };
		int nids = -1;
		char slug[48];

		memset(slug, 0x7f, sizeof(slug));
		if (!router_path_match(rt->path, path, ids, &nids, slug))
			continue;
		if (nids < 0 || nids > ROUTE_MAX_IDS || ids[ROUTE_MAX_IDS] != -12345)
			abort();
		for (int i = 0; i < nids; i++)
			if (ids[i] <= 0)
				abort();
		if (strstr(rt->path, "<name>") != NULL) {
			size_t n = strnlen(slug, sizeof(slug));

			if (n == 0 || n > 40 || strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
				abort();
		}
		/* a path that matches with no output asked for matches the same */
		if (!router_path_match(rt->path, path, NULL, NULL, NULL))
			abort();
	}
}

static void
check_auth(const char *cookie, struct auth_in *in)
{
	char why[256], detail[128], secret[CSRF_SECRET_LEN + 1];
	struct caller c;
	int rc;

	if (!cookie_find(cookie, "sessionid", &in->session_key, &in->session_key_len))
		in->session_key = NULL;
	if (!cookie_find(cookie, "csrftoken", &in->csrf_cookie, &in->csrf_cookie_len))
		in->csrf_cookie = NULL;
	in->ip = "192.0.2.1";
	in->now = now_unix();
	for (int https = 0; https < 2; https++) {
		in->https = https;
		why[0] = '\0';
		if (csrf_check(&env, in, why, sizeof(why)) != 0) {
			if (strncmp(why, "CSRF Failed: ", 13) != 0)
				abort();
			must_be_printable("csrf message", why);
		}
	}
	if (csrf_cookie_secret(in, secret) == 0 &&
	    strspn(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
	        CSRF_SECRET_LEN)
		abort();
	memset(&c, 0, sizeof(c));
	rc = token_resolve(&env, in, &c, detail, sizeof(detail));
	if (rc < -2 || rc > 1 || (rc == 1) != (c.kind == AUTH_TOKEN) || (rc == 1 && c.user.id <= 0))
		abort();
	if (rc == -1)
		must_be_printable("token message", detail);
	memset(&c, 0, sizeof(c));
	rc = session_resolve(&env, in, &c);
	if (rc < -1 || rc > 1 || (rc == 1) != (c.kind == AUTH_SESSION) || (rc == 1 && c.user.id <= 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line, *next, *path, *cookie = NULL;
	struct auth_in in = { 0 };

	if (memchr(data, '\0', size) != NULL)
		return 0; /* a transport never hands NUL bytes in a head over */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	next = strchr(text, '\n');
	if (next)
		*next++ = '\0';
	path = strchr(text, ' ');
	path = path ? path + 1 : text;
	check_routes(path);
	for (line = next; line != NULL; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		if (strcasecmp(line, "Cookie") == 0)
			cookie = colon;
		else if (strcasecmp(line, "Origin") == 0)
			in.origin = colon;
		else if (strcasecmp(line, "Referer") == 0)
			in.referer = colon;
		else if (strcasecmp(line, "X-CSRFToken") == 0)
			in.csrf_header = colon;
		else if (strcasecmp(line, "Authorization") == 0)
			in.authorization = colon;
		else if (strcasecmp(line, "User-Agent") == 0)
			in.user_agent = colon;
	}
	check_auth(cookie, &in);
	free(text);
	return 0;
}
