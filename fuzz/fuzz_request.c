/* libFuzzer driver: whole requests through the real router and handlers with
 * a real SQLite store in a temporary folder.  The input is
 *
 *   METHOD SP PATH[?QUERY] LF
 *   Name: value LF           (any number; an empty line ends them)
 *   LF
 *   BODY
 *
 * The store holds a staff superuser alice@example.com (password
 * "correct horse battery staple") with a live session whose cookie is
 * sessionid=fuzzsessionkeyaaaaaaaaaaaaaaaaaa, so authenticated and admin
 * paths are reachable; a GitHub provider points at 127.0.0.1:1, so social
 * calls fail fast without a network.  Slow work (password hashes, provider
 * calls) runs inline where the server would suspend the connection.
 *
 * What must hold for every input: an answer is set, it is never a 500 (an
 * answer that could not be built, or a handler that set none), and every
 * API answer is valid JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "auth/hashpool.h"
#include "http/http.h"
#include "log.h"
#include "auth/password.h"
#include "http/router.h"
#include "auth/session.h"
#include "social/social.h"
#include "store/store.h"
#include "auth/throttle.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SESSION_KEY "fuzzsessionkeyaaaaaaaaaaaaaaaaaa"

static struct app app;
static struct password_params pw;

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_request: %s: %s\n", what, err);
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/gatehouse-fuzz-XXXXXX", path[256], err[512];
	struct store_user u = { 0 };
	struct store_session s = { 0 };
	int applied;
	FILE *f;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "failed");
	snprintf(path, sizeof(path), "sqlite:%s/gh.db", dir);
	setenv("GATEHOUSE_DATABASE", path, 1);
	snprintf(path, sizeof(path), "%s/static", dir);
	mkdir(path, 0700);
	setenv("GATEHOUSE_STATIC_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/static/index.html", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("<!doctype html><title>t</title>\n", f);
		fclose(f);
	}
	setenv("GATEHOUSE_PUBLIC_ORIGIN", "http://127.0.0.1:8000", 1);
	setenv("GATEHOUSE_SECRET_KEY", "fuzz-secret-key-fuzz-secret-key-fuzz-secret", 1);
	setenv("GATEHOUSE_ARGON2_MEMORY_KIB", "8192", 1);
	setenv("GATEHOUSE_ARGON2_ITERATIONS", "1", 1);
	setenv("GATEHOUSE_LOG_LEVEL", "error", 1);
	setenv("GATEHOUSE_EMAIL_VERIFICATION", "optional", 1);
	setenv("GATEHOUSE_GITHUB_CLIENT_ID", "fuzz-client", 1);
	setenv("GATEHOUSE_GITHUB_CLIENT_SECRET", "fuzz-secret", 1);
	setenv("GATEHOUSE_GITHUB_AUTHORIZE_URL", "http://127.0.0.1:1/login/oauth/authorize", 1);
	setenv("GATEHOUSE_GITHUB_TOKEN_URL", "http://127.0.0.1:1/login/oauth/access_token", 1);
	setenv("GATEHOUSE_GITHUB_API_URL", "http://127.0.0.1:1", 1);
	setenv("GATEHOUSE_SOCIAL_TIMEOUT", "1", 1);

	if (sodium_init() < 0)
		die("sodium_init", "failed");
	if (config_load(&app.cfg, NULL, err, sizeof(err)) != 0)
		die("config", err);
	log_set_level(LOG_ERROR);
	pw.iterations = 1;
	pw.memory_kib = 64; /* FUZZING builds cap Argon2 at 64 KiB: fast hashes */
	app.pw = &pw;
	if ((app.store = store_open(app.cfg.database, err, sizeof(err))) == NULL)
		die("store", err);
	if (store_migrate(app.store, &applied, err, sizeof(err)) != 0)
		die("migrate", err);
	if ((app.social = social_new(&app.cfg, err, sizeof(err))) == NULL)
		die("social", err);
	app.hashpool = hashpool_new(1, 8, 0);
	app.netpool = hashpool_new(1, 8, 0);
	app.limiter = limiter_store_new(app.store);

	strlcpy_ok(u.email, "alice@example.com", sizeof(u.email));
	if (password_hash(app.pw, "correct horse battery staple", 28, u.password, sizeof(u.password)) != 0)
		die("hash", "failed (argon2 settings?)");
	u.is_active = u.is_staff = u.is_superuser = u.email_verified = true;
	u.date_joined = now_unix();
	session_new_auth_hash(u.auth_hash);
	if (store_user_create(app.store, &u) != 0)
		die("user", "create failed");
	sha256_hex(SESSION_KEY, strlen(SESSION_KEY), s.key_hash);
	s.user_id = u.id;
	memcpy(s.auth_hash, u.auth_hash, sizeof(s.auth_hash));
	s.created_at = s.last_seen = now_unix();
	s.expires_at = s.created_at + 14 * 86400;
	if (store_session_create(app.store, &s, "127.0.0.1", "fuzz") != 0)
		die("session", "create failed");
	return 0;
}

/* One line of in[*pos..len), without its LF, NUL-terminated in a new string. */
static char *
next_line(const char *in, size_t len, size_t *pos)
{
	size_t start = *pos, end = start;

	while (end < len && in[end] != '\n')
		end++;
	*pos = end < len ? end + 1 : end;
	return xstrndup(in + start, end - start);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *line, *sp, *query, *owned[80];
	size_t pos = 0, nowned = 0;
	struct request *r;

	if (memchr(data, '\0', size) != NULL)
		return 0; /* a transport never hands NUL bytes in a head over */
	line = next_line(in, size, &pos);
	owned[nowned++] = line;
	if ((sp = strchr(line, ' ')) == NULL)
		goto done;
	*sp = '\0';
	query = strchr(sp + 1, '?');
	if (query)
		*query++ = '\0';
	r = request_new(&app, line, sp + 1);
	strlcpy_ok(r->ip, "127.0.0.1", sizeof(r->ip));
	/* query arguments as libmicrohttpd would split them (no decoding here) */
	if (query && nowned < 79) {
		char *q = xstrdup(query), *kv = q;

		owned[nowned++] = q;
		while (kv != NULL) {
			char *amp = strchr(kv, '&'), *eq;

			if (amp)
				*amp++ = '\0';
			if ((eq = strchr(kv, '=')) != NULL)
				*eq++ = '\0';
			if (*kv)
				request_add_arg(r, kv, eq);
			kv = amp;
		}
	}
	while (pos < size && nowned < 79) {
		char *h = next_line(in, size, &pos), *colon;

		owned[nowned++] = h;
		if (h[0] == '\0')
			break;
		if ((colon = strchr(h, ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		request_add_header(r, h, colon);
	}
	if (pos < size) {
		if (size - pos > (size_t)app.cfg.max_body)
			r->body_too_large = true;
		else
			buf_append(&r->body, in + pos, size - pos);
	}

	for (int round = 0; round < 8; round++) {
		if (r->status == 0)
			router_dispatch(r);
		if (r->deferred_work == NULL)
			break;
		if (r->status != 0) {
			hashpool_release(r->deferred_pool);
			r->deferred_work = NULL;
			break;
		}
		/* where the server suspends: run the work, then resume the handler */
		r->deferred_work(r->deferred_arg);
		hashpool_release(r->deferred_pool);
		r->deferred_work = NULL;
		r->phase++;
	}
	if (r->status == 0 || r->broken || (r->status >= 500 && r->status != 503)) {
		fprintf(stderr, "fuzz_request: status %d, broken %d for %s %s\n", r->status, r->broken,
		    r->method_name, r->path);
		abort();
	}
	if (r->api && r->resp.len > 0) {
		json_error_t jerr;
		json_t *v = json_loadb(r->resp.data, r->resp.len, 0, &jerr);

		if (v == NULL) {
			fprintf(stderr, "fuzz_request: API answer is not JSON: %s\n", jerr.text);
			abort();
		}
		json_decref(v);
	}
	request_free(r);
done:
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return 0;
}
