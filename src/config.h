/*
 * config — the one table of settings: name, type, default, bounds.  Values
 * come from defaults, then an INI file (--config), then GATEHOUSE_* variables
 * (environment wins).  Read-only after start-up; must never print secret_key.
 */
#ifndef GATEHOUSE_CONFIG_H
#define GATEHOUSE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Settings that are a choice among names: parsed into these when the config
 * loads, so nothing compares their text afterwards. */
enum config_email_tls { CONFIG_TLS_TRY, CONFIG_TLS_REQUIRE, CONFIG_TLS_OFF };
enum config_email_verification {
	EMAIL_VERIFICATION_MANDATORY,
	EMAIL_VERIFICATION_OPTIONAL,
	EMAIL_VERIFICATION_NONE
};
enum config_log_level { CONFIG_LOG_DEBUG, CONFIG_LOG_INFO, CONFIG_LOG_WARN, CONFIG_LOG_ERROR };
enum config_mfa_required { MFA_REQUIRED_NONE, MFA_REQUIRED_STAFF, MFA_REQUIRED_ALL };
enum config_mail_transport { CONFIG_MAIL_CONSOLE, CONFIG_MAIL_FILE, CONFIG_MAIL_SMTP, CONFIG_MAIL_SMTPS };

struct config {
	char *listen;         /* host:port */
	char *metrics_listen; /* IP:port of the metrics listener; "" none */
	char *metrics_token;  /* bearer token for /metrics on the public port; "" none (never logged) */
	char *database;       /* sqlite:PATH | postgres://... | postgresql://... | libpq key=value */
	char *static_dir;
	char *public_origin;   /* scheme://host[:port]; default http://<listen> */
	char *trusted_origins; /* comma-separated origins allowed in Origin */
	char *secret_key;      /* default: generated, stored beside the database */
	char *email;           /* mail transport: console | file:DIR | smtp://... | smtps://... */
	char *email_from;
	char *email_tls_name;          /* try | require | off: as configured (see email_tls) */
	char *email_verification_name; /* mandatory | optional | none (see email_verification) */
	char *product_name;
	char *mfa_required_name; /* none | staff | all (see mfa_required) */
	char *mfa_issuer;        /* shown by authenticator apps; empty: product_name */
	char *log_level_name;    /* debug | info | warn | error (see log_level) */
	char *csp;               /* Content-Security-Policy for the SPA's HTML */
	/* social login (empty client id: provider off) */
	char *github_client_id, *github_client_secret, *github_authorize_url, *github_token_url,
	    *github_api_url;
	char *google_client_id, *google_client_secret, *google_issuer;
	char *facebook_client_id, *facebook_client_secret, *facebook_authorize_url, *facebook_token_url,
	    *facebook_graph_url;
	char *oidc_providers; /* names of generic OIDC providers; each has GATEHOUSE_OIDC_<NAME>_* */
	char *social_pipeline, *social_allowed_domains, *social_allowed_emails;
	long social_state_ttl, social_timeout;
	long threads, hash_threads, hash_queue;
	long max_body, max_header, timeout, max_connections, per_ip_connections;
	long head_timeout, min_body_rate, hsts_max_age;
	long session_max_age, session_idle_timeout, reauth_max_age;
	long argon2_memory_kib, argon2_iterations;
	long login_ip_limit, login_account_limit, login_window;
	long login_account_inflight, login_failure_quantum_ms, ipv6_prefix;
	long account_ip_limit, account_address_limit, account_window;
	long confirm_ttl, reset_ttl, password_min_length;
	long mail_retry, mail_poll, mail_lease;
	char *webhooks; /* endpoint list (webhook/endpoints.h parses it) */
	long webhook_timeout, webhook_retry_base_ms, webhook_max_attempts, webhook_max_age, webhook_lease,
	    webhook_poll, webhook_keep;
	long session_cache_ttl;
	long mfa_pending_ttl;
	bool debug, trust_proxy, auto_migrate, mfa_social;

	/* derived by config_load */
	enum config_email_tls email_tls;
	enum config_email_verification email_verification;
	enum config_mfa_required mfa_required;
	enum config_log_level log_level;
	enum config_mail_transport email_transport; /* from the scheme of email */
	char listen_host[64];
	unsigned short listen_port;
	char metrics_host[64]; /* from metrics_listen, without brackets */
	unsigned short metrics_port;
	bool secure_cookies;        /* public origin is https */
	bool secret_generated;      /* secret_key came from the generated file */
	struct config_extra *extra; /* oidc_* keys from the INI file */
};

struct config_extra {
	char *key, *value;
	struct config_extra *next;
};

/* Fill c from defaults, the INI file (NULL: none) and the environment, then
 * validate.  0, or -1 with a message in err.  Free with config_free. */
int config_load(struct config *c, const char *file, char *err, size_t errsz);
void config_free(struct config *c);
/* Load or create the generated secret beside a sqlite database when no
 * secret_key is configured.  0 or -1 with err. */
int config_ensure_secret(struct config *c, char *err, size_t errsz);
/* The sqlite file path of c->database, or NULL when it is not sqlite:. */
const char *config_sqlite_path(const struct config *c);
/* Print deploy warnings to stdout; returns how many. */
int config_check_deploy(const struct config *c);
/* 1 if origin (exact "scheme://host[:port]") is the public or a trusted origin. */
int config_origin_allowed(const struct config *c, const char *origin, size_t len);
/* A generic OIDC provider's setting ("issuer", "client_id", "client_secret",
 * "label") from GATEHOUSE_OIDC_<NAME>_<KEY> or the INI key oidc_<name>_<key>;
 * NULL when unset.  Borrowed. */
const char *config_oidc(const struct config *c, const char *name, const char *key);
/* Print every key, its variable and default (for `gatehouse check --help`). */
void config_print_keys(void);

#endif
