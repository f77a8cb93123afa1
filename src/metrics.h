/*
 * metrics — the process's Prometheus counters, gauges and histograms, and
 * their text exposition (format 0.0.4).  A top module: any layer may count
 * here.  Counting is lock-free (relaxed atomics on fixed arrays) and never
 * allocates; every label comes from a small fixed set (route patterns, never
 * raw paths; status codes from a table; configured provider names; mail
 * transports), so nothing a client sends can add a series.  Must never hold
 * or print a session key, token, email address or any other value a client
 * sent.
 */
#ifndef GATEHOUSE_METRICS_H
#define GATEHOUSE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Route slots past the configured routes: a file of the SPA, and an /api/
 * path that matched no route (or an answer given before routing). */
#define METRICS_ROUTE_STATIC    (-1)
#define METRICS_ROUTE_UNMATCHED (-2)

enum metrics_login_method {
	METRICS_LOGIN_PASSWORD,      /* POST /api/login/ */
	METRICS_LOGIN_PASSKEY,       /* POST /api/passkey/login/ */
	METRICS_LOGIN_SECOND_FACTOR, /* POST /api/mfa/authenticate/ (the second step) */
	METRICS_LOGIN_METHODS
};

enum metrics_login_outcome {
	METRICS_LOGIN_SUCCESS,
	METRICS_LOGIN_BAD_CREDENTIALS,
	METRICS_LOGIN_THROTTLED,
	METRICS_LOGIN_INACTIVE,
	METRICS_LOGIN_UNVERIFIED,
	METRICS_LOGIN_MFA_PENDING,
	METRICS_LOGIN_UNAVAILABLE, /* 503: the store failed or the hash pool was full */
	METRICS_LOGIN_OUTCOMES
};

/* What is read at scrape time by the caller (who may reach the store and
 * the pools): a value whose have_* is false is left out of the output. */
struct metrics_gauges {
	bool have_pool;
	unsigned hash_queued, hash_running;
	bool have_outbox;
	int64_t outbox_depth;
	bool have_sessions;
	int64_t live_sessions;
};

/* At start-up, before any thread counts: the version for gatehouse_build_info
 * (copied) and the start time. */
void metrics_init(const char *version);
/* The route table's patterns, in table order ("<id>" is shown as "{id}"; the
 * same pattern twice is one series).  0, or -1 with err when there are more
 * than the module holds (a build with more routes must raise the bound). */
int metrics_set_routes(const char *const *patterns, size_t n, char *err, size_t errsz);
/* The configured social providers' names (copied; past 16, or a name too
 * long, counted as "other"). */
void metrics_set_providers(const char *const *names, size_t n);

/* One answered request: route is an index into the patterns given to
 * metrics_set_routes, or METRICS_ROUTE_STATIC / METRICS_ROUTE_UNMATCHED;
 * method is enum http_method's value (GET, HEAD, POST, PUT, PATCH, DELETE,
 * OPTIONS, OTHER); seconds from the request line to the answer. */
void metrics_count_request(int route, int method, int status, double seconds);
void metrics_count_login(enum metrics_login_method method, enum metrics_login_outcome outcome);
/* A job's time from its queueing on the hash pool to its start. */
void metrics_observe_hash_wait(double seconds);
/* A request answered 503 because the hash pool's queue was full. */
void metrics_count_pool_full(void);
/* A mail delivery attempt that failed; transport is enum
 * config_mail_transport's value (smtps counts as smtp). */
void metrics_count_mail_failure(int transport);
/* A call to a social provider (discovery, code exchange, profile) that failed. */
void metrics_count_social_error(const char *provider);
/* A store call that returned an error (not "not found" or a conflict). */
void metrics_count_store_error(void);
/* A webhook delivery attempt that failed (for the webhook worker). */
void metrics_count_webhook_failure(void);

/* Append the whole exposition to out: every counter, the histograms, and the
 * gauges in g (may be NULL). */
void metrics_render(struct buf *out, const struct metrics_gauges *g);
/* Append s as a label value, escaped per the format (\\, \", \n). */
void metrics_label_value(struct buf *out, const char *s);

#endif
