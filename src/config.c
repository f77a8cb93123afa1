/*
 * config — see config.h.  Owns the settings table; the only place that reads
 * GATEHOUSE_* variables or the INI file.  Never logs the secret key.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "util.h"

enum key_type { KEY_STR, KEY_LONG, KEY_BOOL };

struct key {
	const char *name; /* INI name; variable is GATEHOUSE_<NAME> */
	enum key_type type;
	size_t off;
	const char *def;
	long min, max;
	const char *help;
};

#define S(f) KEY_STR, offsetof(struct config, f)
#define L(f) KEY_LONG, offsetof(struct config, f)
#define B(f) KEY_BOOL, offsetof(struct config, f)

/* clang-format off */
static const struct key keys[] = {
	{ "listen", S(listen), "127.0.0.1:8000", 0, 0, "address:port to listen on" },
	{ "metrics_listen", S(metrics_listen), "", 0, 0, "IP:port of a separate listener that serves only GET /metrics (Prometheus), e.g. 127.0.0.1:9100 (empty: none)" },
	{ "metrics_token", S(metrics_token), "", 0, 0, "when set, GET /metrics on the public port answers a caller that sends Authorization: Bearer <this> (empty: /metrics there is 404)" },
	{ "database", S(database), "sqlite:var/gatehouse.db", 0, 0, "sqlite:PATH, or postgres://user:pass@host:port/db?... (also postgresql:// and libpq's key=value form) for several instances on one database" },
	{ "auto_migrate", B(auto_migrate), "false", 0, 0, "PostgreSQL: apply pending migrations at serve start (default: run `gatehouse migrate`; SQLite always migrates at start)" },
	{ "session_cache_ttl", L(session_cache_ttl), "5", 0, 3600, "PostgreSQL: seconds a resolved session or token is kept in memory (revocations from any instance still apply at once; 0: no cache)" },
	{ "static_dir", S(static_dir), "web/dist", 0, 0, "the built SPA" },
	{ "public_origin", S(public_origin), "", 0, 0, "scheme://host[:port] users see (default http://LISTEN)" },
	{ "trusted_origins", S(trusted_origins), "", 0, 0, "more origins allowed to POST, comma-separated" },
	{ "secret_key", S(secret_key), "", 0, 0, "secret key (default: generated beside the database)" },
	{ "email", S(email), "console", 0, 0, "mail transport: console, file:DIR, smtp://[user:pass@]host:port, smtps://..." },
	{ "email_from", S(email_from), "Gatehouse <noreply@localhost>", 0, 0, "From: of outgoing mail" },
	{ "email_tls", S(email_tls_name), "try", 0, 0, "smtp:// STARTTLS: try, require or off" },
	{ "email_verification", S(email_verification_name), "mandatory", 0, 0, "mandatory, optional or none" },
	{ "product_name", S(product_name), "Gatehouse", 0, 0, "name used in mail" },
	{ "mfa_required", S(mfa_required_name), "none", 0, 0, "who must set up a second factor at sign-in before anything else works: none, staff or all" },
	{ "mfa_social", B(mfa_social), "true", 0, 0, "social login of a user with a second factor asks for it too" },
	{ "mfa_pending_ttl", L(mfa_pending_ttl), "300", 30, 3600, "seconds between the password and the second factor of a login" },
	{ "mfa_issuer", S(mfa_issuer), "", 0, 0, "issuer name authenticator apps show (default: product_name)" },
	{ "log_level", S(log_level_name), "info", 0, 0, "debug, info, warn or error" },
	{ "csp", S(csp), "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
	    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
	    0, 0, "Content-Security-Policy of the SPA's pages (empty: none)" },
	{ "github_client_id", S(github_client_id), "", 0, 0, "GitHub OAuth app client id (empty: GitHub off)" },
	{ "github_client_secret", S(github_client_secret), "", 0, 0, "GitHub OAuth app client secret" },
	{ "github_authorize_url", S(github_authorize_url), "https://github.com/login/oauth/authorize", 0, 0, "GitHub authorize endpoint" },
	{ "github_token_url", S(github_token_url), "https://github.com/login/oauth/access_token", 0, 0, "GitHub token endpoint" },
	{ "github_api_url", S(github_api_url), "https://api.github.com", 0, 0, "GitHub API (for /user, /user/emails)" },
	{ "google_client_id", S(google_client_id), "", 0, 0, "Google OAuth client id (empty: Google off)" },
	{ "google_client_secret", S(google_client_secret), "", 0, 0, "Google OAuth client secret" },
	{ "google_issuer", S(google_issuer), "https://accounts.google.com", 0, 0, "Google's OpenID issuer (discovery)" },
	{ "facebook_client_id", S(facebook_client_id), "", 0, 0, "Facebook app id (empty: Facebook off)" },
	{ "facebook_client_secret", S(facebook_client_secret), "", 0, 0, "Facebook app secret" },
	{ "facebook_authorize_url", S(facebook_authorize_url), "https://www.facebook.com/v19.0/dialog/oauth", 0, 0, "Facebook authorize endpoint" },
	{ "facebook_token_url", S(facebook_token_url), "https://graph.facebook.com/v19.0/oauth/access_token", 0, 0, "Facebook token endpoint" },
	{ "facebook_graph_url", S(facebook_graph_url), "https://graph.facebook.com/v19.0", 0, 0, "Facebook Graph API" },
	{ "oidc_providers", S(oidc_providers), "", 0, 0, "generic OpenID providers, comma-separated names (each: GATEHOUSE_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _LABEL)" },
	{ "social_pipeline", S(social_pipeline), "social_details,social_uid,auth_allowed,social_user,create_user,associate_user,load_extra_data,user_details",
	    0, 0, "social login steps in order (add associate_by_email after social_user to link verified emails)" },
	{ "social_allowed_domains", S(social_allowed_domains), "", 0, 0, "auth_allowed: email domains allowed (comma-separated; empty: any)" },
	{ "social_allowed_emails", S(social_allowed_emails), "", 0, 0, "auth_allowed: addresses allowed (comma-separated; empty: any)" },
	{ "social_state_ttl", L(social_state_ttl), "600", 10, 86400, "seconds a social login may take" },
	{ "social_timeout", L(social_timeout), "10", 1, 120, "seconds for each call to a provider" },
	{ "threads", L(threads), "0", 0, 256, "HTTP threads (0: one per CPU)" },
	{ "hash_threads", L(hash_threads), "0", 0, 256, "password hashing threads (0: one per CPU)" },
	{ "hash_queue", L(hash_queue), "64", 1, 100000, "hash jobs waiting before 503" },
	{ "max_body", L(max_body), "65536", 1024, 1L << 30, "largest request body, bytes" },
	{ "max_header", L(max_header), "8192", 4096, 1L << 20, "memory per connection for the request head, bytes (idle keep-alive connections hold this much each)" },
	{ "timeout", L(timeout), "30", 1, 3600, "idle/slow client timeout, seconds" },
	{ "max_connections", L(max_connections), "4096", 1, 1000000, "open connections at most, per HTTP thread" },
	{ "per_ip_connections", L(per_ip_connections), "64", 0, 1000000, "open connections per client IP, per HTTP thread (0: no limit; not applied with trust_proxy, where every connection comes from the proxy)" },
	{ "head_timeout", L(head_timeout), "5", 1, 3600, "seconds a request head may take after its request line (timeout + this after connecting or after the previous answer)" },
	{ "min_body_rate", L(min_body_rate), "1024", 0, 1L << 30, "bytes per second a request body must average after its first head_timeout seconds (0: no minimum)" },
	{ "hsts_max_age", L(hsts_max_age), "31536000", 0, 10L * 365 * 86400, "Strict-Transport-Security max-age, seconds, on every response of an https public origin (0: none)" },
	{ "session_max_age", L(session_max_age), "1209600", 60, 10L * 365 * 86400, "session lifetime, seconds" },
	{ "session_idle_timeout", L(session_idle_timeout), "0", 0, 10L * 365 * 86400, "end sessions idle this long (0: off)" },
	{ "reauth_max_age", L(reauth_max_age), "300", 1, 86400, "seconds a password check counts as recent for sensitive admin actions" },
	{ "argon2_memory_kib", L(argon2_memory_kib), "19456", 8, 4L * 1024 * 1024, "Argon2id memory, KiB" },
	{ "argon2_iterations", L(argon2_iterations), "2", 1, 100, "Argon2id passes" },
	{ "login_ip_limit", L(login_ip_limit), "60", 1, 1000000, "password attempts (login, password change, token creation; successful ones too) per client IP per window" },
	{ "login_account_limit", L(login_account_limit), "5", 1, 1000000, "failed password attempts (and logins of unverified accounts) per account per window" },
	{ "login_window", L(login_window), "300", 1, 86400, "throttle window, seconds" },
	{ "login_account_inflight", L(login_account_inflight), "2", 1, 100000, "password checks of one account queued or running at once" },
	{ "login_failure_quantum_ms", L(login_failure_quantum_ms), "1000", 0, 60000, "a failed login is answered at the next multiple of this many ms after it was admitted (0: at once)" },
	{ "ipv6_prefix", L(ipv6_prefix), "64", 1, 128, "per-IP limits count IPv6 clients by this prefix length" },
	{ "account_ip_limit", L(account_ip_limit), "20", 1, 1000000, "signup, resend and reset requests per client IP per window (each its own budget)" },
	{ "account_address_limit", L(account_address_limit), "5", 1, 1000000, "signup, resend and reset requests per address per window (each its own budget)" },
	{ "account_window", L(account_window), "3600", 1, 86400, "account request window, seconds" },
	{ "confirm_ttl", L(confirm_ttl), "259200", 1, 365L * 86400, "email confirmation key lifetime, seconds" },
	{ "reset_ttl", L(reset_ttl), "3600", 1, 30L * 86400, "password reset link lifetime, seconds" },
	{ "password_min_length", L(password_min_length), "8", 1, 4096, "shortest password accepted" },
	{ "mail_retry", L(mail_retry), "30", 1, 86400, "first retry after a failed delivery, seconds (doubles)" },
	{ "mail_poll", L(mail_poll), "5", 1, 3600, "outbox scan interval when idle, seconds" },
	{ "mail_lease", L(mail_lease), "120", 1, 86400, "seconds a message being sent stays reserved" },
	{ "webhooks", S(webhooks), "", 0, 0, "webhook endpoints: URL EVENTS SECRET per entry, entries separated by ';' or a new line; EVENTS comma-separated names or *; SECRET whsec_<base64 of 24-64 bytes>; http:// only to a loopback address (README, Webhooks)" },
	{ "webhook_timeout", L(webhook_timeout), "10", 1, 300, "seconds one webhook delivery may take (connecting: at most 5)" },
	{ "webhook_retry_base_ms", L(webhook_retry_base_ms), "5000", 10, 3600000, "first retry after a failed webhook delivery, milliseconds (doubles, capped at an hour)" },
	{ "webhook_max_attempts", L(webhook_max_attempts), "80", 1, 1000, "webhook deliveries tried per message before giving up (80: about three days)" },
	{ "webhook_max_age", L(webhook_max_age), "259200", 1, 30L * 86400, "seconds after its event a webhook message is given up" },
	{ "webhook_lease", L(webhook_lease), "60", 2, 86400, "seconds a webhook message being delivered stays reserved (more than webhook_timeout)" },
	{ "webhook_poll", L(webhook_poll), "2", 1, 3600, "webhook outbox scan interval when idle, seconds" },
	{ "webhook_keep", L(webhook_keep), "604800", 0, 365L * 86400, "seconds delivered or abandoned webhook messages are kept before the hourly purge" },
	{ "debug", B(debug), "false", 0, 0, "debug mode (never in production)" },
	{ "trust_proxy", B(trust_proxy), "false", 0, 0, "take the client IP from X-Forwarded-For (behind nginx)" },
};
/* clang-format on */

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* The names of each choice, in the order of its enum (config.h), NULL-ended. */
static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const tls_modes[] = { "try", "require", "off", NULL };
static const char *const verification_modes[] = { "mandatory", "optional", "none", NULL };
static const char *const mfa_required_modes[] = { "none", "staff", "all", NULL };

/* sqlite:PATH, a PostgreSQL URI, or libpq's "key=value ..." (a lower-case word, then '=') */
static bool
database_ok(const char *db)
{
	size_t word = strspn(db, "abcdefghijklmnopqrstuvwxyz_");

	if (strncmp(db, "sqlite:", 7) == 0)
		return db[7] != '\0';
	return strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0 ||
	    (word > 0 && db[word] == '=');
}

/* The index of v among names, or -1. */
static int
choice(const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

static int set_key(struct config *c, const struct key *k, const char *v, const char *src, char *err,
    size_t errsz);
static int check_origin(const char *o, size_t len);

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
set_key(struct config *c, const struct key *k, const char *v, const char *src, char *err, size_t errsz)
{
	char *base = (char *)c;
	long long n;

	switch (k->type) {
	case KEY_STR: {
		char **p = (char **)(base + k->off);
		free(*p);
		*p = xstrdup(v);
		return 0;
	}
	case KEY_LONG:
		if (parse_ll(v, k->min, k->max, &n) != 0) {
			snprintf(err, errsz, "%s: %s must be an integer from %ld to %ld, not \"%s\"", src,
			    k->name, k->min, k->max, v);
			return -1;
		}
		*(long *)(base + k->off) = (long)n;
		return 0;
	case KEY_BOOL:
		if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		    !strcasecmp(v, "on"))
			*(bool *)(base + k->off) = true;
		else if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
		    !strcasecmp(v, "off") || !*v)
			*(bool *)(base + k->off) = false;
		else {
			snprintf(err, errsz, "%s: %s must be true or false, not \"%s\"", src, k->name, v);
			return -1;
		}
		return 0;
	}
	return -1;
}

struct ini_ctx {
	struct config *c;
	const char *file;
	char *err;
	size_t errsz;
	int failed;
	bool webhooks_seen; /* the webhooks key was set by this file: another line of it adds entries */
};

static int
on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	const struct key *k;

	if (ctx->failed)
		return 0;
	if (section[0] != '\0' && strcasecmp(section, "gatehouse") != 0) {
		snprintf(ctx->err, ctx->errsz, "%s: unknown section [%s] (use [gatehouse] or none)",
		    ctx->file, section);
		ctx->failed = 1;
		return 0;
	}
	if ((k = find_key(name)) == NULL && strncasecmp(name, "oidc_", 5) == 0) {
		struct config_extra *x = xcalloc(1, sizeof(*x));
		x->key = xstrdup(name);
		x->value = xstrdup(value);
		x->next = ctx->c->extra;
		ctx->c->extra = x;
		return 1;
	}
	if (k == NULL) {
		snprintf(ctx->err, ctx->errsz, "%s: unknown setting \"%s\"", ctx->file, name);
		ctx->failed = 1;
		return 0;
	}
	/* the webhook list may go on over several lines (continuation lines, or the key repeated):
	 * each adds entries rather than replacing the ones before */
	if (k->off == offsetof(struct config, webhooks) && ctx->webhooks_seen) {
		char **p = &ctx->c->webhooks;
		size_t old = strlen(*p), add = strlen(value);
		char *joined = xmalloc(old + add + 2);

		memcpy(joined, *p, old);
		joined[old] = '\n';
		memcpy(joined + old + 1, value, add + 1);
		sodium_memzero(*p, old);
		free(*p);
		*p = joined;
		return 1;
	}
	if (set_key(ctx->c, k, value, ctx->file, ctx->err, ctx->errsz) != 0) {
		ctx->failed = 1;
		return 0;
	}
	if (k->off == offsetof(struct config, webhooks))
		ctx->webhooks_seen = true;
	return 1;
}

/* "scheme://host[:port]" with scheme http or https, no path, no trailing slash */
static int
check_origin(const char *o, size_t len)
{
	const char *host;
	size_t i;

	if (len > 7 && strncmp(o, "http://", 7) == 0)
		host = o + 7;
	else if (len > 8 && strncmp(o, "https://", 8) == 0)
		host = o + 8;
	else
		return -1;
	for (i = (size_t)(host - o); i < len; i++) {
		unsigned char ch = (unsigned char)o[i];
		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
			return -1;
	}
	return (size_t)(host - o) < len ? 0 : -1;
}

/* "127.0.0.1:9100" or "[::1]:9100" → metrics_host, metrics_port (1-65535) */
static int
split_metrics_listen(struct config *c)
{
	const char *v = c->metrics_listen, *colon = strrchr(v, ':');
	size_t hl;
	long long port;
	unsigned char addr[16];

	if (colon == NULL || colon == v || parse_ll(colon + 1, 1, 65535, &port) != 0)
		return -1;
	hl = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hl < 3 || v[hl - 1] != ']')
			return -1;
		v++;
		hl -= 2;
	}
	if (hl >= sizeof(c->metrics_host))
		return -1;
	memcpy(c->metrics_host, v, hl);
	c->metrics_host[hl] = '\0';
	c->metrics_port = (unsigned short)port;
	/* an address, not a name: what it binds is what `check --deploy` judges */
	return inet_pton(AF_INET, c->metrics_host, addr) == 1 ||
	        inet_pton(AF_INET6, c->metrics_host, addr) == 1 ?
	    0 :
	    -1;
}

static int
validate(struct config *c, char *err, size_t errsz)
{
	const char *colon = strrchr(c->listen, ':');
	long long port;
	char *tmp = NULL;
	int v;

	if (colon == NULL || (size_t)(colon - c->listen) >= sizeof(c->listen_host) || colon == c->listen ||
	    parse_ll(colon + 1, 0, 65535, &port) != 0) {
		snprintf(err, errsz, "listen must be address:port, not \"%s\"", c->listen);
		return -1;
	}
	memcpy(c->listen_host, c->listen, (size_t)(colon - c->listen));
	c->listen_host[colon - c->listen] = '\0';
	c->listen_port = (unsigned short)port;

	/* a delivery outlasting its lease could go out twice at once (another worker takes the row) */
	if (c->webhook_lease <= c->webhook_timeout) {
		snprintf(err, errsz, "webhook_lease (%ld) must be longer than webhook_timeout (%ld)",
		    c->webhook_lease, c->webhook_timeout);
		return -1;
	}
	if (c->metrics_listen[0] != '\0' && split_metrics_listen(c) != 0) {
		snprintf(err, errsz,
		    "metrics_listen must be IP:port (e.g. 127.0.0.1:9100 or [::1]:9100), not \"%s\"",
		    c->metrics_listen);
		return -1;
	}
	if (!database_ok(c->database)) {
		snprintf(err, errsz,
		    "database must be sqlite:PATH, postgres://..., postgresql://... or libpq's key=value "
		    "form");
		return -1;
	}
	if (c->public_origin[0] == '\0') {
		size_t n = strlen(c->listen) + 8;
		tmp = xmalloc(n);
		snprintf(tmp, n, "http://%s", c->listen);
		free(c->public_origin);
		c->public_origin = tmp;
	}
	if (check_origin(c->public_origin, strlen(c->public_origin)) != 0) {
		snprintf(err, errsz,
		    "public_origin must look like https://example.com[:port] (no path), not \"%s\"",
		    c->public_origin);
		return -1;
	}
	c->secure_cookies = strncmp(c->public_origin, "https://", 8) == 0;
	for (const char *p = c->trusted_origins; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n && check_origin(p, n) != 0) {
			snprintf(err, errsz,
			    "trusted_origins: \"%.*s\" is not an origin like https://example.com", (int)n, p);
			return -1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if ((v = choice(c->log_level_name, log_levels)) < 0) {
		snprintf(err, errsz, "log_level must be debug, info, warn or error");
		return -1;
	}
	c->log_level = (enum config_log_level)v;
	if (c->secret_key[0] != '\0' && strlen(c->secret_key) < 32) {
		snprintf(err, errsz, "secret_key must be at least 32 characters");
		return -1;
	}
	if (strcmp(c->email, "console") == 0)
		c->email_transport = CONFIG_MAIL_CONSOLE;
	else if (strncmp(c->email, "file:", 5) == 0)
		c->email_transport = CONFIG_MAIL_FILE;
	else if (strncmp(c->email, "smtp://", 7) == 0)
		c->email_transport = CONFIG_MAIL_SMTP;
	else if (strncmp(c->email, "smtps://", 8) == 0)
		c->email_transport = CONFIG_MAIL_SMTPS;
	else {
		snprintf(err, errsz, "email must be console, file:DIR, smtp://... or smtps://...");
		return -1;
	}
	if ((v = choice(c->email_tls_name, tls_modes)) < 0) {
		snprintf(err, errsz, "email_tls must be try, require or off");
		return -1;
	}
	c->email_tls = (enum config_email_tls)v;
	if ((v = choice(c->email_verification_name, verification_modes)) < 0) {
		snprintf(err, errsz, "email_verification must be mandatory, optional or none");
		return -1;
	}
	c->email_verification = (enum config_email_verification)v;
	if ((v = choice(c->mfa_required_name, mfa_required_modes)) < 0) {
		snprintf(err, errsz, "mfa_required must be none, staff or all");
		return -1;
	}
	c->mfa_required = (enum config_mfa_required)v;
	if (strchr(c->email_from, '\r') || strchr(c->email_from, '\n') || strchr(c->product_name, '\r') ||
	    strchr(c->product_name, '\n') || !strchr(c->email_from, '@')) {
		snprintf(err, errsz, "email_from must be an address (\"Name <addr@host>\") on one line");
		return -1;
	}
	if (strncmp(c->email, "file:", 5) == 0 && c->email[5] == '\0') {
		snprintf(err, errsz, "email = file:DIR needs a folder");
		return -1;
	}
	if (c->threads == 0 || c->hash_threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (c->threads == 0)
			c->threads = n;
		if (c->hash_threads == 0)
			c->hash_threads = n;
	}
	return 0;
}

int
config_load(struct config *c, const char *file, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_key(c, &keys[i], keys[i].def, "default", err, errsz) != 0)
			fatal("bad default for %s", keys[i].name);
	if (file != NULL) {
		struct ini_ctx ctx = { c, file, err, errsz, 0, false };
		int r = ini_parse(file, on_ini_line, &ctx);
		if (ctx.failed)
			return -1;
		if (r < 0) {
			snprintf(err, errsz, "%s: cannot read: %s", file, strerror(errno));
			return -1;
		}
		if (r > 0) {
			snprintf(err, errsz, "%s:%d: syntax error", file, r);
			return -1;
		}
	}
	for (size_t i = 0; i < NKEYS; i++) {
		char var[64];
		const char *v;
		size_t j;

		snprintf(var, sizeof(var), "GATEHOUSE_%s", keys[i].name);
		for (j = 10; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		if ((v = getenv(var)) != NULL && set_key(c, &keys[i], v, var, err, errsz) != 0)
			return -1;
	}
	return validate(c, err, errsz);
}

const char *
config_oidc(const struct config *c, const char *name, const char *key)
{
	char var[160], ini[160];
	const char *v;
	size_t i;

	snprintf(var, sizeof(var), "GATEHOUSE_OIDC_%s_%s", name, key);
	for (i = 0; var[i]; i++)
		var[i] = (char)(var[i] == '-' ? '_' : toupper((unsigned char)var[i]));
	if ((v = getenv(var)) != NULL)
		return v;
	snprintf(ini, sizeof(ini), "oidc_%s_%s", name, key);
	for (const struct config_extra *x = c->extra; x; x = x->next)
		if (strcasecmp(x->key, ini) == 0)
			return x->value;
	return NULL;
}

void
config_free(struct config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == KEY_STR) {
			char **p = (char **)((char *)c + keys[i].off);
			if ((keys[i].off == offsetof(struct config, secret_key) ||
			        keys[i].off == offsetof(struct config, webhooks) ||
			        keys[i].off == offsetof(struct config, metrics_token)) &&
			    *p)
				sodium_memzero(*p, strlen(*p));
			free(*p);
			*p = NULL;
		}
	while (c->extra) {
		struct config_extra *x = c->extra;
		c->extra = x->next;
		if (strstr(x->key, "secret"))
			sodium_memzero(x->value, strlen(x->value));
		free(x->key);
		free(x->value);
		free(x);
	}
}

const char *
config_sqlite_path(const struct config *c)
{
	return strncmp(c->database, "sqlite:", 7) == 0 ? c->database + 7 : NULL;
}

int
config_ensure_secret(struct config *c, char *err, size_t errsz)
{
	const char *db = config_sqlite_path(c);
	char path[4096], key[65];
	const char *slash;
	int fd = -1, ret = -1;
	ssize_t n;

	if (c->secret_key[0] != '\0')
		return 0;
	if (db == NULL) {
		snprintf(err, errsz,
		    "secret_key must be set (GATEHOUSE_SECRET_KEY) when the database is PostgreSQL: every "
		    "instance on it must sign with the same key");
		return -1;
	}
	slash = strrchr(db, '/');
	if (slash)
		snprintf(path, sizeof(path), "%.*s/gatehouse.secret", (int)(slash - db), db);
	else
		snprintf(path, sizeof(path), "gatehouse.secret");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, key, sizeof(key) - 1);
		if (n < 32) {
			snprintf(err, errsz, "%s: too short; delete it to make a new one", path);
			goto done;
		}
		key[n] = '\0';
		key[strcspn(key, "\r\n")] = '\0';
	} else {
		random_chars(key, 64, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
		    write(fd, key, 64) != 64) {
			snprintf(err, errsz, "%s: cannot create the secret key file: %s", path,
			    strerror(errno));
			goto done;
		}
	}
	free(c->secret_key);
	c->secret_key = xstrdup(key);
	c->secret_generated = true;
	ret = 0;
done:
	sodium_memzero(key, sizeof(key));
	if (fd >= 0)
		close(fd);
	return ret;
}

int
config_origin_allowed(const struct config *c, const char *origin, size_t len)
{
	const char *p;

	if (strlen(c->public_origin) == len && memcmp(c->public_origin, origin, len) == 0)
		return 1;
	for (p = c->trusted_origins; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n == len && memcmp(p, origin, len) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

int
config_check_deploy(const struct config *c)
{
	int n = 0;

	if (!c->secure_cookies) {
		printf("WARNING public_origin is %s: use https in production, or cookies travel in clear "
		       "text\n",
		    c->public_origin);
		n++;
	}
	if (c->secure_cookies && c->hsts_max_age < 180L * 86400) {
		printf("WARNING hsts_max_age is %ld: without HSTS (at least 180 days) a browser may reach %s "
		       "over plain http first\n",
		    c->hsts_max_age, c->public_origin);
		n++;
	}
	if (c->debug) {
		printf("WARNING debug is on\n");
		n++;
	}
	if (c->secret_generated) {
		printf(
		    "WARNING secret_key is the generated one beside the database: set GATEHOUSE_SECRET_KEY "
		    "so every instance shares it and it is backed up apart from the data\n");
		n++;
	}
	if (c->argon2_memory_kib < 19456 || (c->argon2_memory_kib < 47104 && c->argon2_iterations < 2)) {
		printf("WARNING argon2 cost (m=%ld KiB, t=%ld) is below OWASP's minimum (m=19456, t=2)\n",
		    c->argon2_memory_kib, c->argon2_iterations);
		n++;
	}
	for (const char *p = c->trusted_origins; (p = strstr(p, "http://")) != NULL; p += 7) {
		printf("WARNING trusted_origins has a plain-http origin\n");
		n++;
		break;
	}
	if (strcmp(c->listen_host, "127.0.0.1") != 0 && strcmp(c->listen_host, "localhost") != 0 &&
	    strcmp(c->listen_host, "::1") != 0 && strcmp(c->listen_host, "[::1]") != 0) {
		printf("WARNING listening on %s: run gatehouse behind nginx (libmicrohttpd 0.9 should not "
		       "face the internet)\n",
		    c->listen_host);
		n++;
	}
	if (c->metrics_listen[0] && strcmp(c->metrics_host, "127.0.0.1") != 0 &&
	    strcmp(c->metrics_host, "::1") != 0) {
		printf("WARNING metrics_listen is %s: /metrics is open to whoever reaches that address (use "
		       "127.0.0.1 or a private network only Prometheus can reach)\n",
		    c->metrics_listen);
		n++;
	}
	if (c->metrics_token[0] && strlen(c->metrics_token) < 32) {
		printf("WARNING metrics_token is shorter than 32 characters\n");
		n++;
	}
	if (c->email_transport == CONFIG_MAIL_CONSOLE || c->email_transport == CONFIG_MAIL_FILE) {
		printf("WARNING email is %s: mail is not delivered to anyone\n", c->email);
		n++;
	} else if (c->email_transport == CONFIG_MAIL_SMTP && c->email_tls != CONFIG_TLS_REQUIRE) {
		printf("WARNING email_tls is %s: SMTP may run without TLS\n", tls_modes[c->email_tls]);
		n++;
	}
	if (c->email_verification != EMAIL_VERIFICATION_MANDATORY) {
		printf("WARNING email_verification is %s: unconfirmed addresses can sign in\n",
		    verification_modes[c->email_verification]);
		n++;
	}
	if (c->session_max_age > 30L * 86400) {
		printf("WARNING session_max_age is over 30 days\n");
		n++;
	}
	return n;
}

void
config_print_keys(void)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char var[64];
		snprintf(var, sizeof(var), "GATEHOUSE_%s", keys[i].name);
		for (size_t j = 10; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		printf("  %-34s %s (default: %s)\n", var, keys[i].help, keys[i].def[0] ? keys[i].def : "-");
	}
}
