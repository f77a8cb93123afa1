/*
 * metrics — see metrics.h.  Every series lives in a fixed array of relaxed
 * atomics sized at compile time; the tables of names (routes, providers) are
 * written once at start-up, before any thread counts, and only read after.
 * A histogram keeps one count per bucket (not cumulative) plus an overflow
 * slot, and the renderer adds them up: a scrape racing an observation sees
 * buckets that still rise and a _count equal to the +Inf bucket.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_ROUTES    128 /* distinct route patterns */
#define ROUTE_SLOTS   (MAX_ROUTES + 2)
#define SLOT_STATIC   MAX_ROUTES
#define SLOT_UNMATCH  (MAX_ROUTES + 1)
#define NMETHODS      8
#define MAX_PROVIDERS 16
#define NTRANSPORTS   3

typedef _Atomic uint64_t counter;

/* the same order as enum http_method (src/http/http.h) */
static const char *const method_names[NMETHODS] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
	"OPTIONS", "OTHER" };

/* every status the server answers with; anything else is "other" */
static const int status_codes[] = { 200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 409, 410, 411,
	412, 413, 414, 415, 416, 429, 431, 500, 501, 503, 505 };
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1)

static const double latency_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NLAT (sizeof(latency_bounds) / sizeof(latency_bounds[0]))
static const double wait_bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NWAIT (sizeof(wait_bounds) / sizeof(wait_bounds[0]))

static const char *const login_methods[METRICS_LOGIN_METHODS] = { "password", "passkey", "second_factor" };
static const char *const login_outcomes[METRICS_LOGIN_OUTCOMES] = { "success", "bad_credentials", "throttled",
	"inactive", "unverified", "mfa_pending", "unavailable" };
static const char *const transports[NTRANSPORTS] = { "console", "file", "smtp" };

struct histogram {
	const double *bounds;
	size_t nbounds;
	counter *buckets; /* nbounds + 1: the last is past every bound */
	counter sum_ns;
};

static char version[64] = "unknown";
static double start_time;

/* the route table, once at start-up */
static char route_names[ROUTE_SLOTS][96];
static int route_slot[MAX_ROUTES]; /* table index → distinct pattern's slot */
static size_t nroute_entries, nroute_names;

static char provider_names[MAX_PROVIDERS][64];
static size_t nproviders;

static counter requests[ROUTE_SLOTS][NMETHODS][NSTATUS];
static counter latency_buckets[ROUTE_SLOTS][NLAT + 1];
static counter latency_sum_ns[ROUTE_SLOTS];
static counter logins[METRICS_LOGIN_METHODS][METRICS_LOGIN_OUTCOMES];
static counter wait_buckets[NWAIT + 1];
static counter wait_sum_ns;
static counter pool_full;
static counter mail_failures[NTRANSPORTS];
static counter social_errors[MAX_PROVIDERS + 1]; /* the last: "other" */
static counter store_errors;
static counter webhook_failures;

static void
add(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static uint64_t
to_ns(double seconds)
{
	if (!(seconds > 0)) /* also NaN */
		return 0;
	if (seconds > 1e9)
		seconds = 1e9;
	return (uint64_t)(seconds * 1e9);
}

static void
observe(counter *buckets, const double *bounds, size_t n, counter *sum_ns, double seconds)
{
	size_t i = 0;

	while (i < n && seconds > bounds[i])
		i++;
	add(&buckets[i], 1);
	add(sum_ns, to_ns(seconds));
}

void
metrics_init(const char *v)
{
	struct timespec ts;

	snprintf(version, sizeof(version), "%s", v ? v : "unknown");
	clock_gettime(CLOCK_REALTIME, &ts);
	start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(route_names[SLOT_STATIC], sizeof(route_names[SLOT_STATIC]), "static");
	snprintf(route_names[SLOT_UNMATCH], sizeof(route_names[SLOT_UNMATCH]), "unmatched");
}

/* "/api/tokens/<id>/" → "/api/tokens/{id}/" */
static void
route_label(const char *pattern, char *out, size_t outsz)
{
	size_t o = 0;

	for (const char *p = pattern; *p && o + 1 < outsz; p++)
		out[o++] = *p == '<' ? '{' : *p == '>' ? '}' : *p;
	out[o] = '\0';
}

int
metrics_set_routes(const char *const *patterns, size_t n, char *err, size_t errsz)
{
	if (n > MAX_ROUTES) {
		snprintf(err, errsz, "metrics: %zu routes, at most %d (raise MAX_ROUTES in src/metrics.c)", n,
		    MAX_ROUTES);
		return -1;
	}
	nroute_names = 0;
	for (size_t i = 0; i < n; i++) {
		char label[sizeof(route_names[0])];
		size_t j;

		route_label(patterns[i], label, sizeof(label));
		for (j = 0; j < nroute_names; j++)
			if (strcmp(route_names[j], label) == 0)
				break;
		if (j == nroute_names)
			memcpy(route_names[nroute_names++], label, sizeof(label));
		route_slot[i] = (int)j;
	}
	nroute_entries = n;
	return 0;
}

void
metrics_set_providers(const char *const *names, size_t n)
{
	nproviders = 0;
	for (size_t i = 0; i < n && nproviders < MAX_PROVIDERS; i++)
		if (strlen(names[i]) < sizeof(provider_names[0]))
			snprintf(provider_names[nproviders++], sizeof(provider_names[0]), "%s", names[i]);
}

static size_t
status_index(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_count_request(int route, int method, int status, double seconds)
{
	size_t slot;

	if (route == METRICS_ROUTE_STATIC)
		slot = SLOT_STATIC;
	else if (route >= 0 && (size_t)route < nroute_entries)
		slot = (size_t)route_slot[route];
	else
		slot = SLOT_UNMATCH;
	if (method < 0 || method >= NMETHODS)
		method = NMETHODS - 1;
	add(&requests[slot][method][status_index(status)], 1);
	observe(latency_buckets[slot], latency_bounds, NLAT, &latency_sum_ns[slot], seconds);
}

void
metrics_count_login(enum metrics_login_method method, enum metrics_login_outcome outcome)
{
	if ((unsigned)method < METRICS_LOGIN_METHODS && (unsigned)outcome < METRICS_LOGIN_OUTCOMES)
		add(&logins[method][outcome], 1);
}

void
metrics_observe_hash_wait(double seconds)
{
	observe(wait_buckets, wait_bounds, NWAIT, &wait_sum_ns, seconds);
}

void
metrics_count_pool_full(void)
{
	add(&pool_full, 1);
}

void
metrics_count_mail_failure(int transport)
{
	if (transport >= NTRANSPORTS) /* smtps */
		transport = NTRANSPORTS - 1;
	if (transport >= 0)
		add(&mail_failures[transport], 1);
}

void
metrics_count_social_error(const char *provider)
{
	size_t i;

	for (i = 0; i < nproviders; i++)
		if (provider && strcmp(provider_names[i], provider) == 0)
			break;
	add(&social_errors[i < nproviders ? i : MAX_PROVIDERS], 1);
}

void
metrics_count_store_error(void)
{
	add(&store_errors, 1);
}

void
metrics_count_webhook_failure(void)
{
	add(&webhook_failures, 1);
}

/* ---- the exposition ---- */

void
metrics_label_value(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(out, "\\\\");
		else if (*s == '"')
			buf_puts(out, "\\\"");
		else if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, s, 1);
	}
}

static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* one histogram's series; labels: "" or `name="value"` already escaped */
static void
histogram(struct buf *out, const char *name, const char *labels, counter *buckets, const double *bounds,
    size_t n, counter *sum_ns)
{
	uint64_t cum = 0;
	const char *sep = labels[0] ? "," : "";

	for (size_t i = 0; i < n; i++) {
		cum += get(&buckets[i]);
		buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
		    (unsigned long long)cum);
	}
	cum += get(&buckets[n]);
	buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
	buf_printf(out, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	    (double)get(sum_ns) / 1e9);
	buf_printf(out, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	    (unsigned long long)cum);
}

static bool
route_used(size_t slot)
{
	for (size_t b = 0; b <= NLAT; b++)
		if (get(&latency_buckets[slot][b]) != 0)
			return true;
	return false;
}

static const char *
slot_name(size_t slot)
{
	return route_names[slot];
}

static bool
slot_exists(size_t slot)
{
	return slot < nroute_names || slot == SLOT_STATIC || slot == SLOT_UNMATCH;
}

void
metrics_render(struct buf *out, const struct metrics_gauges *g)
{
	struct buf lb = { 0 };

	head(out, "gatehouse_build_info", "gauge", "Always 1; the version of this gatehouse.");
	buf_puts(out, "gatehouse_build_info{version=\"");
	metrics_label_value(out, version);
	buf_puts(out, "\"} 1\n");
	head(out, "gatehouse_start_time_seconds", "gauge", "When this process started, in Unix seconds.");
	buf_printf(out, "gatehouse_start_time_seconds %.3f\n", start_time);

	head(out, "gatehouse_http_requests_total", "counter",
	    "Answered HTTP requests by route pattern, method and status.");
	for (size_t s = 0; s < ROUTE_SLOTS; s++) {
		if (!slot_exists(s))
			continue;
		for (size_t m = 0; m < NMETHODS; m++)
			for (size_t c = 0; c < NSTATUS; c++) {
				uint64_t v = get(&requests[s][m][c]);
				if (v == 0)
					continue;
				buf_puts(out, "gatehouse_http_requests_total{route=\"");
				metrics_label_value(out, slot_name(s));
				if (c < NSTATUS - 1)
					buf_printf(out, "\",method=\"%s\",status=\"%d\"} %llu\n",
					    method_names[m], status_codes[c], (unsigned long long)v);
				else
					buf_printf(out, "\",method=\"%s\",status=\"other\"} %llu\n",
					    method_names[m], (unsigned long long)v);
			}
	}
	head(out, "gatehouse_http_request_duration_seconds", "histogram",
	    "Time from the request line to the answer, by route pattern.");
	for (size_t s = 0; s < ROUTE_SLOTS; s++) {
		if (!slot_exists(s) || !route_used(s))
			continue;
		lb.len = 0;
		buf_puts(&lb, "route=\"");
		metrics_label_value(&lb, slot_name(s));
		buf_puts(&lb, "\"");
		histogram(out, "gatehouse_http_request_duration_seconds", lb.data, latency_buckets[s],
		    latency_bounds, NLAT, &latency_sum_ns[s]);
	}

	head(out, "gatehouse_logins_total", "counter",
	    "Sign-in attempts by method (password, passkey, second_factor) and outcome.");
	for (size_t m = 0; m < METRICS_LOGIN_METHODS; m++)
		for (size_t o = 0; o < METRICS_LOGIN_OUTCOMES; o++)
			buf_printf(out, "gatehouse_logins_total{method=\"%s\",outcome=\"%s\"} %llu\n",
			    login_methods[m], login_outcomes[o], (unsigned long long)get(&logins[m][o]));

	if (g && g->have_pool) {
		head(out, "gatehouse_hashpool_jobs", "gauge",
		    "Password hashing jobs on the hash pool: queued (waiting for a worker) or running.");
		buf_printf(out, "gatehouse_hashpool_jobs{state=\"queued\"} %u\n", g->hash_queued);
		buf_printf(out, "gatehouse_hashpool_jobs{state=\"running\"} %u\n", g->hash_running);
	}
	head(out, "gatehouse_hashpool_wait_seconds", "histogram",
	    "Time a password hashing job waited in the queue before a worker took it.");
	histogram(out, "gatehouse_hashpool_wait_seconds", "", wait_buckets, wait_bounds, NWAIT, &wait_sum_ns);
	head(out, "gatehouse_hashpool_rejected_total", "counter",
	    "Requests answered 503 because the hash pool's queue was full.");
	buf_printf(out, "gatehouse_hashpool_rejected_total %llu\n", (unsigned long long)get(&pool_full));

	if (g && g->have_outbox) {
		head(out, "gatehouse_mail_outbox_depth", "gauge",
		    "Mails in the outbox not yet delivered (and not given up).");
		buf_printf(out, "gatehouse_mail_outbox_depth %lld\n", (long long)g->outbox_depth);
	}
	head(out, "gatehouse_mail_delivery_failures_total", "counter",
	    "Mail delivery attempts that failed, by transport.");
	for (size_t t = 0; t < NTRANSPORTS; t++)
		buf_printf(out, "gatehouse_mail_delivery_failures_total{transport=\"%s\"} %llu\n",
		    transports[t], (unsigned long long)get(&mail_failures[t]));

	head(out, "gatehouse_social_provider_errors_total", "counter",
	    "Calls to a social login provider (discovery, code exchange, profile) that failed.");
	for (size_t p = 0; p < nproviders; p++) {
		buf_puts(out, "gatehouse_social_provider_errors_total{provider=\"");
		metrics_label_value(out, provider_names[p]);
		buf_printf(out, "\"} %llu\n", (unsigned long long)get(&social_errors[p]));
	}
	if (get(&social_errors[MAX_PROVIDERS]) != 0)
		buf_printf(out, "gatehouse_social_provider_errors_total{provider=\"other\"} %llu\n",
		    (unsigned long long)get(&social_errors[MAX_PROVIDERS]));

	head(out, "gatehouse_store_errors_total", "counter",
	    "Store (database) calls that returned an error.");
	buf_printf(out, "gatehouse_store_errors_total %llu\n", (unsigned long long)get(&store_errors));
	if (g && g->have_sessions) {
		head(out, "gatehouse_sessions_live", "gauge", "Sessions that have not expired.");
		buf_printf(out, "gatehouse_sessions_live %lld\n", (long long)g->live_sessions);
	}
	head(out, "gatehouse_webhook_delivery_failures_total", "counter",
	    "Webhook delivery attempts that failed.");
	buf_printf(out, "gatehouse_webhook_delivery_failures_total %llu\n",
	    (unsigned long long)get(&webhook_failures));
	buf_free(&lb);
}
