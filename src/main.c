/*
 * main — the command line (docs/design.md §5): serve, migrate, createuser,
 * changepassword, createtoken, check, import-django, export, version.  Owns start-up and the
 * orderly stop.  Must never print a password or a key except the one
 * `createtoken` exists to show, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "accounts/accounts.h"
#include "app.h"
#include "accounts/audit.h"
#include "accounts/django.h"
#include "accounts/export.h"
#include "accounts/import.h"
#include "auth/totp.h"
#include "config.h"
#include "auth/hashpool.h"
#include "api/api.h"
#include "http/http.h"
#include "http/router.h"
#include "metrics.h"
#include "log.h"
#include "mail/mailer.h"
#include "auth/password.h"
#include "auth/password_policy.h"
#include "auth/session.h"
#include "social/social.h"
#include "store/store.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "accounts/user.h"
#include "auth/useragent.h"
#include "webhook/webhook.h"
#include "webhook/worker.h"

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	/* clang-format off */
	fputs("usage: gatehouse [--config FILE] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  serve                                  run the server (default)\n"
	    "  migrate                                apply schema migrations\n"
	    "  createuser EMAIL [--staff] [--superuser] [--first-name N] [--last-name N] [--allow-weak-password]\n"
	    "                                         password from stdin, or prompted twice\n"
	    "  changepassword EMAIL [--allow-weak-password]\n"
	    "                                         set a new password; ends the user's sessions\n"
	    "  createtoken EMAIL [--name NAME] [--expires DAYS]\n"
	    "                                         make an API token and print it once\n"
	    "  sessions EMAIL                         list the user's sessions\n"
	    "  logout-everywhere EMAIL                end all of the user's sessions\n"
	    "  check [--deploy]                       validate the configuration\n"
	    "  import-django [--dry-run] FILE|-       import users, DRF tokens and social accounts from\n"
	    "                                         `manage.py dumpdata` JSON (exit 0: done; 3: done, rows\n"
	    "                                         skipped (on stderr); 1: nothing imported; 2: usage)\n"
	    "  export [FILE|-]                        users (with password hashes), identities and token\n"
	    "                                         hashes as JSON lines; a FILE is written 0600\n"
	    "  version                                print the version\n"
	    "\n"
	    "settings (environment wins over --config FILE):\n", f);
	/* clang-format on */
	config_print_keys();
}

/* The Argon2 cost of new hashes, from the configuration (app->pw points here). */
static struct password_params hash_cost;

/* Configuration, secret and store: what every command but version needs. */
static int
app_open(struct app *app, const char *cfgfile, int migrate)
{
	char err[512];
	int applied;

	if (config_load(&app->cfg, cfgfile, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return -1;
	}
	log_set_level(app->cfg.log_level == CONFIG_LOG_DEBUG ? LOG_DEBUG :
	        app->cfg.log_level == CONFIG_LOG_WARN        ? LOG_WARN :
	        app->cfg.log_level == CONFIG_LOG_ERROR       ? LOG_ERROR :
	                                                       LOG_INFO);
	/* a bad endpoint list refuses to start, before anything could queue an event for it */
	if (webhook_configure(app->cfg.webhooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return -1;
	}
	hash_cost.iterations = (unsigned long long)app->cfg.argon2_iterations;
	hash_cost.memory_kib = (size_t)app->cfg.argon2_memory_kib;
	app->pw = &hash_cost;
	/* a shared database needs an explicit secret: say so before trying to reach it (a generated
	 * one, beside a SQLite file, needs the file's folder, which opening the store creates) */
	if (config_sqlite_path(&app->cfg) == NULL && config_ensure_secret(&app->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return -1;
	}
	if ((app->store = store_open(app->cfg.database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return -1;
	}
	if (config_ensure_secret(&app->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return -1;
	}
	/* SQLite migrates at start (docs/design.md §4); a shared database waits for `gatehouse migrate`
	 * (or auto_migrate), and nothing but migrate runs on a schema that is not this binary's */
	if (migrate) {
		if (strcmp(store_backend(app->store), "sqlite") == 0 || app->cfg.auto_migrate) {
			if (store_migrate(app->store, &applied, err, sizeof(err)) != 0) {
				fprintf(stderr, "gatehouse: %s\n", err);
				return -1;
			}
			if (applied)
				log_msg(LOG_INFO, "applied %d migration%s", applied, applied == 1 ? "" : "s");
		}
		if (store_schema_check(app->store, err, sizeof(err)) != 0) {
			fprintf(stderr, "gatehouse: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void
app_close(struct app *app)
{
	hashpool_free(app->hashpool);
	hashpool_free(app->netpool);
	social_free(app->social);
	limiter_free(app->limiter);
	store_close(app->store);
	config_free(&app->cfg);
	webhook_unconfigure();
}

/* What has expired goes: sessions, pending second steps, WebAuthn challenges
 * (a bounded batch each: the hour after takes the rest). */
static void
purge_expired(struct app *app)
{
	int64_t now = now_unix();
	int n;

	store_session_delete_expired(app->store, now);
	store_mfa_pending_purge(app->store, now, 10000, &n);
	store_challenge_purge(app->store, now, 10000, &n);
	/* delivered or abandoned webhook messages, after webhook_keep */
	store_webhook_purge(app->store, now - app->cfg.webhook_keep, 10000, &n);
}

/* The fixed label sets of /metrics: the route table's patterns and the
 * configured providers' names. */
static int
metrics_setup(struct app *app, char *err, size_t errsz)
{
	const char *patterns[256], *names[16];
	json_t *providers = social_list_json(app->social), *p;
	size_t n = 0, np = 0, i;
	int rc;

	metrics_init(GATEHOUSE_VERSION);
	for (const struct route *rt = routes; rt->path; rt++) {
		if (n == sizeof(patterns) / sizeof(patterns[0])) {
			snprintf(err, errsz, "metrics: more than %zu routes", n);
			json_decref(providers);
			return -1;
		}
		patterns[n++] = rt->path;
	}
	rc = metrics_set_routes(patterns, n, err, errsz);
	json_array_foreach (providers, i, p)
		if (np < sizeof(names) / sizeof(names[0]))
			names[np++] = json_string_value(json_object_get(p, "name"));
	metrics_set_providers(names, np);
	json_decref(providers);
	return rc;
}

static int
cmd_serve(struct app *app)
{
	struct http_server *http;
	struct webhook_worker *webhooks;
	struct http_metrics *metrics = NULL;
	sigset_t set;
	char err[256];
	int sig = 0;

	/* block the stop signals before any thread exists, so every thread
	 * inherits the mask and only this one (sigtimedwait) ever takes them;
	 * a worker started earlier could take SIGTERM and die by default */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((app->social = social_new(&app->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return 1;
	}
	if (metrics_setup(app, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return 1;
	}
	app->hashpool = hashpool_new((unsigned)app->cfg.hash_threads, (unsigned)app->cfg.hash_queue, 1);
	hashpool_on_wait(app->hashpool, metrics_observe_hash_wait);
	/* provider calls block on the network, not the CPU: a few more threads */
	app->netpool = hashpool_new(4, 64, 0);
	app->limiter = limiter_store_new(app->store);
	/* half the client timeout, at most 10 s: a database that stops answering is a 503 in time */
	store_set_deadline(app->store,
	    (int)(app->cfg.timeout * 1000 / 2 < 10000 ? app->cfg.timeout * 1000 / 2 : 10000));
	if (store_cache_start(app->store, (int)app->cfg.session_cache_ttl, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return 1;
	}
	/* the first unknown-email login should not pay for making the dummy hash */
	password_dummy_verify(app->pw, "", 0);
	purge_expired(app);

	if ((http = http_start(app, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return 1;
	}
	if (app->cfg.metrics_listen[0] != '\0' &&
	    (metrics = http_metrics_start(app, api_metrics_render, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatehouse: %s\n", err);
		http_quiesce(http);
		http_drain(http);
		http_stop(http);
		return 1;
	}
	app->mailer = mailer_start(app);
	webhooks = webhook_worker_start(app);
	if (metrics != NULL)
		log_msg(LOG_INFO, "metrics on http://%s/metrics", app->cfg.metrics_listen);
	log_msg(LOG_INFO,
	    "gatehouse %s listening on http://%s (public origin %s, %ld threads, %ld hash threads)",
	    GATEHOUSE_VERSION, app->cfg.listen, app->cfg.public_origin, app->cfg.threads,
	    app->cfg.hash_threads);
	for (;;) {
		struct timespec hour = { 3600, 0 };
		sig = sigtimedwait(&set, NULL, &hour);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig < 0 && errno == EAGAIN)
			purge_expired(app);
	}
	log_msg(LOG_INFO, "stopping (signal %d)", sig);
	/* no new connections; every waiting request answered 503; then close everything */
	http_quiesce(http);
	http_drain(http);
	http_stop(http);
	/* before the store closes: a scrape reads it (the connection it opened
	 * on its thread is closed with the store) */
	http_metrics_stop(metrics);
	mailer_stop(app->mailer);
	app->mailer = NULL;
	webhook_worker_stop(webhooks);
	return 0;
}

static int
cmd_migrate(struct app *app)
{
	char err[512];
	int applied;

	if (store_migrate(app->store, &applied, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: %s\n", err);
		return 1;
	}
	printf("applied %d migration%s\n", applied, applied == 1 ? "" : "s");
	return 0;
}

/* Read a password: first line of stdin when it is not a terminal, else
 * prompted twice without echo.  0 and the password in out, or -1. */
static int
read_password(char *out, size_t outsz)
{
	char again[PASSWORD_MAX_BYTES + 2];
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), ret = -1;
	size_t n;

	if (!tty) {
		if (fgets(out, (int)outsz, stdin) == NULL) {
			fprintf(stderr, "gatehouse: no password on standard input\n");
			return -1;
		}
		n = strcspn(out, "\r\n");
		if (out[n] == '\0' && n == outsz - 1) {
			fprintf(stderr, "gatehouse: password longer than %d bytes\n", PASSWORD_MAX_BYTES);
			return -1;
		}
		out[n] = '\0';
		return 0;
	}
	tcgetattr(STDIN_FILENO, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fputs("Password: ", stderr);
	if (fgets(out, (int)outsz, stdin) == NULL)
		goto done;
	fputs("\nPassword (again): ", stderr);
	if (fgets(again, sizeof(again), stdin) == NULL)
		goto done;
	fputc('\n', stderr);
	out[strcspn(out, "\r\n")] = '\0';
	again[strcspn(again, "\r\n")] = '\0';
	if (strcmp(out, again) != 0) {
		fprintf(stderr, "gatehouse: the passwords do not match\n");
		goto done;
	}
	ret = 0;
done:
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	sodium_memzero(again, sizeof(again));
	return ret;
}

/* A new password's Argon2id hash into hash; 0 or -1 with a message.  A
 * password that breaks the rules is refused at a terminal unless weak_ok
 * (--allow-weak-password), and accepted with a warning from a script. */
static int
new_password_hash(struct app *app, const char *email, int weak_ok, char *hash, size_t hashsz)
{
	char pw[PASSWORD_MAX_BYTES + 2];
	json_t *msgs = json_array();
	int ret = -1;

	if (read_password(pw, sizeof(pw)) != 0)
		goto done;
	if (strlen(pw) == 0) {
		fprintf(stderr, "gatehouse: the password may not be blank\n");
		goto done;
	}
	if (strlen(pw) > PASSWORD_MAX_BYTES) {
		fprintf(stderr, "gatehouse: password longer than %d bytes\n", PASSWORD_MAX_BYTES);
		goto done;
	}
	if (password_policy_check(pw, strlen(pw), app->cfg.password_min_length, email, msgs) > 0) {
		size_t i;
		json_t *m;
		json_array_foreach (msgs, i, m)
			fprintf(stderr, "gatehouse: %s\n", json_string_value(m));
		/* like Django's createsuperuser: a person at the prompt must insist,
		 * a script feeding stdin has chosen its password (warned above) */
		if (!weak_ok && isatty(STDIN_FILENO)) {
			fprintf(stderr,
			    "gatehouse: choose another password (or pass --allow-weak-password)\n");
			goto done;
		}
		fprintf(stderr, "gatehouse: warning: accepting it anyway\n");
	}
	if (password_hash(app->pw, pw, strlen(pw), hash, hashsz) != 0) {
		fprintf(stderr, "gatehouse: cannot hash the password\n");
		goto done;
	}
	ret = 0;
done:
	sodium_memzero(pw, sizeof(pw));
	json_decref(msgs);
	return ret;
}

static int
cmd_createuser(struct app *app, int argc, char **argv)
{
	struct accounts_new_user n = { .origin = ACCOUNTS_CLI,
		.email_verified = true }; /* an operator vouches */
	struct store_user u;
	char norm[STORE_EMAIL_MAX + 1], hash[PASSWORD_ENCODED_MAX];
	int rc, weak_ok = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--allow-weak-password"))
			weak_ok = 1;
		else if (!strcmp(argv[i], "--staff"))
			n.is_staff = true;
		else if (!strcmp(argv[i], "--superuser"))
			n.is_staff = n.is_superuser = true;
		else if ((!strcmp(argv[i], "--first-name") || !strcmp(argv[i], "--last-name")) &&
		    i + 1 < argc) {
			const char *v = argv[++i];
			bool first = argv[i - 1][2] == 'f';
			/* stored as given and served as JSON later: refuse what could
			 * not be shown (bad UTF-8) or would mislead (controls) */
			if (!user_name_valid(v, strlen(v))) {
				fprintf(stderr,
				    "gatehouse: createuser: %s must be valid UTF-8 of at most %d characters, "
				    "without control characters\n",
				    first ? "--first-name" : "--last-name", STORE_NAME_MAX);
				return 1;
			}
			if (first)
				n.first_name = v;
			else
				n.last_name = v;
		} else if (argv[i][0] != '-' && n.email == NULL)
			n.email = argv[i];
		else {
			fprintf(stderr, "gatehouse: createuser: unexpected \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (n.email == NULL) {
		fprintf(stderr, "gatehouse: createuser needs an EMAIL\n");
		return 2;
	}
	if (user_normalize_email(n.email, norm, sizeof(norm)) != 0) {
		fprintf(stderr,
		    "gatehouse: createuser: not a valid email address (ASCII before the @; no control or "
		    "invisible characters)\n");
		return 1;
	}
	if (store_user_by_email(app->store, norm, &u) == 0) {
		fprintf(stderr, "gatehouse: a user with email %s already exists\n", norm);
		return 1;
	}
	if (new_password_hash(app, norm, weak_ok, hash, sizeof(hash)) != 0)
		return 1;
	n.password_hash = hash;
	rc = accounts_create_user(app->store, &n, NULL, &u);
	sodium_memzero(hash, sizeof(hash));
	if (rc == ACCOUNTS_TAKEN) {
		fprintf(stderr, "gatehouse: a user with email %s already exists\n", norm);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "gatehouse: could not create the user\n");
		return 1;
	}
	printf("created user %lld <%s>%s\n", (long long)u.id, u.email,
	    u.is_superuser ? " (superuser)" :
	        u.is_staff ? " (staff)" :
	                     "");
	return 0;
}

static int
find_user(struct app *app, const char *email, struct store_user *u)
{
	char norm[STORE_EMAIL_MAX + 1];

	if (email == NULL || user_normalize_email(email, norm, sizeof(norm)) != 0) {
		fprintf(stderr, "gatehouse: a valid EMAIL is needed\n");
		return -1;
	}
	if (store_user_by_email(app->store, norm, u) != 0) {
		fprintf(stderr, "gatehouse: no user with email %s\n", norm);
		return -1;
	}
	return 0;
}

static int
cmd_changepassword(struct app *app, int argc, char **argv)
{
	struct store_user u;
	char hash[PASSWORD_ENCODED_MAX];
	int rc, weak_ok = argc == 2 && !strcmp(argv[1], "--allow-weak-password");

	if ((argc != 1 && !weak_ok) || find_user(app, argv[0], &u) != 0)
		return argc != 1 && !weak_ok ? 2 : 1;
	if (new_password_hash(app, u.email, weak_ok, hash, sizeof(hash)) != 0)
		return 1;
	/* the policy for an operator's change (accounts.h): every session
	 * ends, tokens stay, the owner is told by mail; all or nothing */
	rc = store_begin(app->store) != 0 ?
	    -1 :
	    accounts_set_password(app->store, &app->cfg, &u, hash, ACCOUNTS_PW_CLI, NULL);
	sodium_memzero(hash, sizeof(hash));
	if (rc != 0 || store_commit(app->store) != 0) {
		store_rollback(app->store);
		fprintf(stderr, "gatehouse: could not change the password\n");
		return 1;
	}
	printf("password changed for %s; their sessions have ended and they are told by mail\n", u.email);
	return 0;
}

static int
cmd_createtoken(struct app *app, int argc, char **argv)
{
	const char *email = NULL, *name = "";
	struct store_user u;
	struct store_token t;
	long long days = 0;
	char key[TOKEN_KEY_LEN + 1];

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--expires") && i + 1 < argc) {
			if (parse_ll(argv[++i], 1, 36500, &days) != 0) {
				fprintf(stderr, "gatehouse: --expires takes a number of days (1-36500)\n");
				return 2;
			}
		} else if (argv[i][0] != '-' && email == NULL)
			email = argv[i];
		else {
			fprintf(stderr, "gatehouse: createtoken: unexpected \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (find_user(app, email, &u) != 0)
		return 1;
	if (token_create(app->store, u.id, name, (long)days, key, &t) != 0) {
		fprintf(stderr, "gatehouse: could not create the token\n");
		return 1;
	}
	audit_log_cli(app->store, "token.created", u.id,
	    json_pack("{s:I, s:s}", "token_id", (json_int_t)t.id, "name", name));
	fprintf(stderr, "token for %s%s%s (shown once; store it now):\n", u.email, name[0] ? ", named " : "",
	    name);
	printf("%s\n", key);
	sodium_memzero(key, sizeof(key));
	return 0;
}

static void
print_session(void *ctx, const struct store_session_info *s)
{
	char created[32], seen[32], device[96];

	(void)ctx;
	iso8601(s->created_at, created, sizeof(created));
	iso8601(s->last_seen, seen, sizeof(seen));
	useragent_describe(s->user_agent, device, sizeof(device));
	printf("%-8lld %-20s %-20s %-16s %s\n", (long long)s->id, created, seen, s->ip, device);
}

static int
cmd_sessions(struct app *app, int argc, char **argv)
{
	struct store_user u;

	if (argc != 1)
		return 2;
	if (find_user(app, argv[0], &u) != 0)
		return 1;
	printf("%-8s %-20s %-20s %-16s %s\n", "ID", "CREATED", "LAST SEEN", "IP", "DEVICE");
	return store_session_list(app->store, u.id, print_session, NULL) == 0 ? 0 : 1;
}

static int
cmd_logout_everywhere(struct app *app, int argc, char **argv)
{
	struct store_user u;

	if (argc != 1)
		return 2;
	if (find_user(app, argv[0], &u) != 0)
		return 1;
	if (store_session_delete_user(app->store, u.id, 0) < 0) {
		fprintf(stderr, "gatehouse: could not end the sessions\n");
		return 1;
	}
	audit_log_cli(app->store, "admin.sessions.revoked_all", u.id, NULL);
	printf("every session of %s has ended\n", u.email);
	return 0;
}

/* All of f (at most max bytes) into a new buffer: 0 with *out and *len, or -1 with err. */
static int
read_all(FILE *f, size_t max, char **out, size_t *len, char *err, size_t errsz)
{
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > max) {
			snprintf(err, errsz, "larger than %zu MiB", max >> 20);
			buf_free(&b);
			return -1;
		}
		buf_append(&b, chunk, n);
	}
	if (ferror(f)) {
		snprintf(err, errsz, "%s", strerror(errno));
		buf_free(&b);
		return -1;
	}
	*len = b.len;
	*out = b.len ? b.data : xstrdup("");
	return 0;
}

static void
print_problem(void *ctx, const char *model, const char *pk, const char *what)
{
	char safe[DJANGO_PK_MAX + 1], msg[512];

	(void)ctx;
	ascii_sanitize(what, sizeof(msg) - 1, msg, sizeof(msg));
	if (pk == NULL) {
		fprintf(stderr, "gatehouse: import-django: %s: %s\n", model, msg);
		return;
	}
	ascii_sanitize(pk, DJANGO_PK_MAX, safe, sizeof(safe));
	fprintf(stderr, "gatehouse: import-django: %s pk %s: %s\n", model, safe, msg);
}

static int
cmd_import_django(struct app *app, int argc, char **argv)
{
	const char *path = NULL;
	struct django_dump *d = NULL;
	struct import_counts c;
	char err[512], *text = NULL;
	size_t len = 0;
	bool dry_run = false;
	FILE *f;
	int ret = 1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry_run = true;
		else if (path == NULL && (argv[i][0] != '-' || !strcmp(argv[i], "-")))
			path = argv[i];
		else {
			fprintf(stderr, "gatehouse: import-django: unexpected \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "gatehouse: import-django needs a FILE (or - for standard input)\n");
		return 2;
	}
	if ((f = strcmp(path, "-") ? fopen(path, "rb") : stdin) == NULL) {
		fprintf(stderr, "gatehouse: import-django: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (read_all(f, DJANGO_INPUT_MAX, &text, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: import-django: %s: %s\n", path, err);
		goto done;
	}
	if (django_dump_parse(text, len, app->cfg.oidc_providers, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: import-django: %s: %s; nothing was imported\n", path, err);
		goto done;
	}
	/* one transaction: all of it or nothing; a dry run does all of it and rolls back */
	if (store_begin(app->store) != 0 || store_import_lock(app->store) != 0) {
		store_rollback(app->store);
		fprintf(stderr,
		    "gatehouse: import-django: cannot start a transaction; nothing was imported\n");
		goto done;
	}
	if (import_django(app->store, d, &c, print_problem, NULL, err, sizeof(err)) != 0) {
		store_rollback(app->store);
		fprintf(stderr, "gatehouse: import-django: %s; nothing was imported\n", err);
		goto done;
	}
	if (dry_run)
		store_rollback(app->store);
	else if (store_commit(app->store) != 0) {
		store_rollback(app->store);
		fprintf(stderr, "gatehouse: import-django: the commit failed; nothing was imported\n");
		goto done;
	}
	import_print_summary(stdout, d, &c, dry_run);
	ret = c.users_skipped + c.tokens_skipped + c.socials_skipped ? 3 : 0;
done:
	if (f != stdin)
		fclose(f);
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	django_dump_free(d);
	return ret;
}

static int
cmd_export(struct app *app, int argc, char **argv)
{
	const char *path = argc > 0 ? argv[0] : "-";
	struct export_counts c;
	char err[256], tmp[4096], dir[4096];
	FILE *f = stdout;
	int fd = -1, ret = 1;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-' && argv[0][1] != '\0')) {
		fprintf(stderr, "gatehouse: export takes one FILE or - (standard output)\n");
		return 2;
	}
	if (strcmp(path, "-") != 0) {
		/* beside the target, 0600 from the start (mkstemp), renamed into place when whole */
		if (strlcpy_ok(dir, path, sizeof(dir)) != 0 ||
		    snprintf(tmp, sizeof(tmp), "%s/.gatehouse-export-XXXXXX", dirname(dir)) >=
		        (int)sizeof(tmp)) {
			fprintf(stderr, "gatehouse: export: path too long\n");
			return 2;
		}
		if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0600) != 0 || (f = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "gatehouse: export: %s: %s\n", path, strerror(errno));
			if (fd >= 0) {
				close(fd);
				unlink(tmp);
			}
			return 1;
		}
	}
	if (export_write(app->store, f, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse: export: %s\n", err);
		goto done;
	}
	if (f != stdout && (fflush(f) != 0 || fsync(fileno(f)) != 0 || rename(tmp, path) != 0)) {
		fprintf(stderr, "gatehouse: export: %s: %s\n", path, strerror(errno));
		goto done;
	}
	fprintf(stderr, "exported %zu users, %zu social identities, %zu token hashes%s%s\n", c.users,
	    c.identities, c.tokens, f != stdout ? " to " : "", f != stdout ? path : "");
	ret = 0;
done:
	if (f != stdout) {
		fclose(f);
		if (ret != 0)
			unlink(tmp);
	}
	return ret;
}

static int
cmd_check(struct app *app, int deploy)
{
	/* a PostgreSQL DSN may hold a password: name the backend only */
	printf("configuration ok: listen %s, database %s, public origin %s\n", app->cfg.listen,
	    strcmp(store_backend(app->store), "sqlite") == 0 ? app->cfg.database : "PostgreSQL",
	    app->cfg.public_origin);
	if (webhook_endpoint_count() > 0)
		printf("%d webhook endpoint%s\n", webhook_endpoint_count(),
		    webhook_endpoint_count() == 1 ? "" : "s");
	if (deploy) {
		int n = config_check_deploy(&app->cfg) + webhook_check_deploy();
		printf("%d deployment warning%s\n", n, n == 1 ? "" : "s");
		return n ? 1 : 0;
	}
	return 0;
}

/* A core file of this process would hold the secret key, session keys in
 * flight and passwords being hashed: none is ever written.  Not dumpable
 * also keeps other processes of the same user from ptrace-attaching. */
static void
no_core_dumps(void)
{
	struct rlimit zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		fatal("cannot turn core dumps off: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("cannot turn core dumps off: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
	struct app app = { 0 };
	const char *cfgfile = NULL, *cmd = "serve";
	int i = 1, ret;

	no_core_dumps();

	if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
		cfgfile = argv[i + 1];
		i += 2;
	}
	if (i < argc)
		cmd = argv[i++];
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("gatehouse %s\n", GATEHOUSE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatal("libcurl failed to initialise");
	if (totp_global_init() != 0)
		fatal("liboath failed to initialise");
	if (strcmp(cmd, "serve") && strcmp(cmd, "migrate") && strcmp(cmd, "createuser") &&
	    strcmp(cmd, "changepassword") && strcmp(cmd, "createtoken") && strcmp(cmd, "check") &&
	    strcmp(cmd, "sessions") && strcmp(cmd, "logout-everywhere") && strcmp(cmd, "import-django") &&
	    strcmp(cmd, "export")) {
		fprintf(stderr, "gatehouse: unknown command \"%s\"\n\n", cmd);
		usage(stderr);
		return 2;
	}
	if (app_open(&app, cfgfile, strcmp(cmd, "migrate") != 0) != 0) {
		app_close(&app);
		return 1;
	}
	if (!strcmp(cmd, "serve"))
		ret = cmd_serve(&app);
	else if (!strcmp(cmd, "migrate"))
		ret = cmd_migrate(&app);
	else if (!strcmp(cmd, "createuser"))
		ret = cmd_createuser(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "changepassword"))
		ret = cmd_changepassword(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "createtoken"))
		ret = cmd_createtoken(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "sessions"))
		ret = cmd_sessions(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "logout-everywhere"))
		ret = cmd_logout_everywhere(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "import-django"))
		ret = cmd_import_django(&app, argc - i, argv + i);
	else if (!strcmp(cmd, "export"))
		ret = cmd_export(&app, argc - i, argv + i);
	else
		ret = cmd_check(&app, i < argc && !strcmp(argv[i], "--deploy"));
	app_close(&app);
	curl_global_cleanup();
	return ret;
}
