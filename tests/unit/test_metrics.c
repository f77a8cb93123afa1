/* Unit tests for the Prometheus exposition (src/metrics.c): label escaping,
 * route patterns as labels (one series per pattern, "{id}", fixed slots for
 * anything else), status and method outside the tables, cumulative histogram
 * buckets with "le" inclusive and +Inf = _count, provider names escaped or
 * "other", the gauges only when read, and HELP/TYPE before every sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../../src/metrics.c"

/* the line of out that starts with prefix, copied to line; 1 when found */
static int
find_line(const char *out, const char *prefix, char *line, size_t linesz)
{
	size_t n = strlen(prefix);

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0) {
			size_t len = strcspn(p, "\n");
			if (len >= linesz)
				len = linesz - 1;
			memcpy(line, p, len);
			line[len] = '\0';
			return 1;
		}
	return 0;
}

/* the value after the last space of the line starting with prefix, or -1 */
static double
sample(const char *out, const char *prefix)
{
	char line[512];
	const char *sp;

	if (!find_line(out, prefix, line, sizeof(line)) || (sp = strrchr(line, ' ')) == NULL)
		return -1;
	return strtod(sp + 1, NULL);
}

static void
test_escaping(void)
{
	struct buf b = { 0 };

	metrics_label_value(&b, "a\\b\"c\nd");
	buf_append(&b, "", 1);
	CHECK_STR(b.data, "a\\\\b\\\"c\\nd");
	b.len = 0;
	metrics_label_value(&b, "caf\xc3\xa9 {x}");
	buf_append(&b, "", 1);
	CHECK_STR(b.data, "caf\xc3\xa9 {x}"); /* UTF-8 and braces as they are */
	b.len = 0;
	metrics_label_value(&b, "");
	CHECK(b.len == 0);
	buf_free(&b);
}

static void
test_routes_and_requests(void)
{
	const char *patterns[] = { "/api/login/", "/api/tokens/<id>/", "/api/tokens/<id>/",
		"/api/admin/users/<id>/tokens/<tid>/" };
	char err[128] = "";
	struct buf b = { 0 };

	CHECK(metrics_set_routes(patterns, 4, err, sizeof(err)) == 0);
	metrics_count_request(0, 2, 200, 0.001);
	/* two entries of the table with one pattern (GET and DELETE): one series per method */
	metrics_count_request(1, 0, 200, 0.002);
	metrics_count_request(2, 5, 204, 0.003);
	metrics_count_request(2, 5, 204, 0.003);
	metrics_count_request(3, 0, 404, 0.004);
	metrics_count_request(METRICS_ROUTE_STATIC, 0, 200, 0.001);
	metrics_count_request(METRICS_ROUTE_UNMATCHED, 1, 404, 0.001);
	metrics_count_request(99, 0, 404, 0.001); /* past the table: unmatched */
	metrics_count_request(-7, 0, 404, 0.001);
	metrics_count_request(0, 42, 299, 0.001); /* unknown method and status */
	metrics_render(&b, NULL);
	buf_append(&b, "", 1);

	CHECK(
	    sample(b.data,
	        "gatehouse_http_requests_total{route=\"/api/login/\",method=\"POST\",status=\"200\"}") == 1);
	CHECK(
	    sample(b.data,
	        "gatehouse_http_requests_total{route=\"/api/tokens/{id}/\",method=\"GET\",status=\"200\"}") ==
	    1);
	CHECK(sample(b.data,
	          "gatehouse_http_requests_total{route=\"/api/tokens/{id}/"
	          "\",method=\"DELETE\",status=\"204\"}") == 2);
	CHECK(
	    sample(b.data,
	        "gatehouse_http_requests_total{route=\"/api/admin/users/{id}/tokens/{tid}/\",method=\"GET\","
	        "status=\"404\"}") == 1);
	CHECK(sample(b.data,
	          "gatehouse_http_requests_total{route=\"static\",method=\"GET\",status=\"200\"}") == 1);
	CHECK(sample(b.data,
	          "gatehouse_http_requests_total{route=\"unmatched\",method=\"HEAD\",status=\"404\"}") == 1);
	CHECK(sample(b.data,
	          "gatehouse_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}") == 2);
	CHECK(sample(b.data,
	          "gatehouse_http_requests_total{route=\"/api/login/\",method=\"OTHER\",status=\"other\"}") ==
	    1);
	/* one latency series for the pattern, fed by both entries */
	CHECK(sample(b.data, "gatehouse_http_request_duration_seconds_count{route=\"/api/tokens/{id}/\"}") ==
	    3);
	CHECK(strstr(b.data, "<id>") == NULL);
	/* a route nobody called has no latency series yet */
	CHECK(strstr(b.data, "gatehouse_http_request_duration_seconds_count{route=\"/api/x/\"}") == NULL);
	buf_free(&b);

	/* more routes than the module holds: an error naming the bound, at start-up */
	{
		const char **many = calloc(MAX_ROUTES + 1, sizeof(*many));
		for (int i = 0; i <= MAX_ROUTES; i++)
			many[i] = "/api/x/";
		CHECK(metrics_set_routes(many, MAX_ROUTES + 1, err, sizeof(err)) == -1);
		CHECK(strstr(err, "MAX_ROUTES") != NULL);
		free(many);
		CHECK(metrics_set_routes(patterns, 4, err, sizeof(err)) == 0);
	}
}

static void
test_histogram(void)
{
	struct buf b = { 0 };

	/* le is inclusive: 0.001 lands in le="0.001"; 100 s only in +Inf; NaN and negatives count as 0 s */
	metrics_observe_hash_wait(0.001);
	metrics_observe_hash_wait(0.003);
	metrics_observe_hash_wait(0.7);
	metrics_observe_hash_wait(100);
	metrics_observe_hash_wait(-1);
	metrics_render(&b, NULL);
	buf_append(&b, "", 1);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"0.001\"}") == 2);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"0.005\"}") == 3);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"0.5\"}") == 3);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"1\"}") == 4);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"30\"}") == 4);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_bucket{le=\"+Inf\"}") == 5);
	CHECK(sample(b.data, "gatehouse_hashpool_wait_seconds_count") == 5);
	{
		double sum = sample(b.data, "gatehouse_hashpool_wait_seconds_sum");
		CHECK(sum > 100.703 && sum < 100.705);
	}
	/* the buckets in order and never falling */
	{
		double prev = -1;
		int n = 0;
		for (const char *p = b.data;
		     (p = strstr(p, "gatehouse_hashpool_wait_seconds_bucket{")) != NULL; p++) {
			double v = strtod(strchr(p, '}') + 2, NULL);
			CHECK(v >= prev);
			prev = v;
			n++;
		}
		CHECK(n == (int)NWAIT + 1);
	}
	buf_free(&b);
}

static void
test_labels_from_fixed_sets(void)
{
	const char *names[] = { "github", "we\"ird\\name\n" };
	struct buf b = { 0 };

	metrics_set_providers(names, 2);
	metrics_count_social_error("github");
	metrics_count_social_error("github");
	metrics_count_social_error("we\"ird\\name\n");
	metrics_count_social_error("not-configured");
	metrics_count_social_error(NULL);
	metrics_count_mail_failure(2);
	metrics_count_mail_failure(3); /* smtps: smtp */
	metrics_count_mail_failure(0);
	metrics_count_mail_failure(-1); /* ignored */
	metrics_count_login(METRICS_LOGIN_PASSKEY, METRICS_LOGIN_INACTIVE);
	metrics_count_login(METRICS_LOGIN_METHODS, METRICS_LOGIN_SUCCESS); /* ignored */
	metrics_count_pool_full();
	metrics_count_store_error();
	metrics_count_webhook_failure();
	metrics_render(&b, NULL);
	buf_append(&b, "", 1);
	CHECK(sample(b.data, "gatehouse_social_provider_errors_total{provider=\"github\"}") == 2);
	CHECK(
	    sample(b.data, "gatehouse_social_provider_errors_total{provider=\"we\\\"ird\\\\name\\n\"}") == 1);
	CHECK(sample(b.data, "gatehouse_social_provider_errors_total{provider=\"other\"}") == 2);
	CHECK(sample(b.data, "gatehouse_mail_delivery_failures_total{transport=\"smtp\"}") == 2);
	CHECK(sample(b.data, "gatehouse_mail_delivery_failures_total{transport=\"console\"}") == 1);
	CHECK(sample(b.data, "gatehouse_mail_delivery_failures_total{transport=\"file\"}") == 0);
	CHECK(sample(b.data, "gatehouse_logins_total{method=\"passkey\",outcome=\"inactive\"}") == 1);
	CHECK(sample(b.data, "gatehouse_logins_total{method=\"password\",outcome=\"success\"}") == 0);
	CHECK(sample(b.data, "gatehouse_hashpool_rejected_total") == 1);
	CHECK(sample(b.data, "gatehouse_store_errors_total") == 1);
	CHECK(sample(b.data, "gatehouse_webhook_delivery_failures_total") == 1);
	CHECK(strstr(b.data, "not-configured") == NULL);
	buf_free(&b);
}

static void
test_gauges_and_layout(void)
{
	struct metrics_gauges g = { .have_pool = true,
		.hash_queued = 7,
		.hash_running = 2,
		.have_outbox = true,
		.outbox_depth = 3,
		.have_sessions = false };
	struct buf b = { 0 };
	char type_of[64][96];
	int ntypes = 0;

	metrics_init("1.2.3 \"beta\"");
	metrics_render(&b, NULL);
	buf_append(&b, "", 1);
	CHECK(strstr(b.data, "gatehouse_hashpool_jobs") == NULL);
	CHECK(strstr(b.data, "gatehouse_mail_outbox_depth") == NULL);
	CHECK(strstr(b.data, "gatehouse_sessions_live") == NULL);
	CHECK(sample(b.data, "gatehouse_build_info{version=\"1.2.3 \\\"beta\\\"\"}") == 1);
	CHECK(sample(b.data, "gatehouse_start_time_seconds") > 1.7e9);
	b.len = 0;
	metrics_render(&b, &g);
	buf_append(&b, "", 1);
	CHECK(sample(b.data, "gatehouse_hashpool_jobs{state=\"queued\"}") == 7);
	CHECK(sample(b.data, "gatehouse_hashpool_jobs{state=\"running\"}") == 2);
	CHECK(sample(b.data, "gatehouse_mail_outbox_depth") == 3);
	CHECK(strstr(b.data, "gatehouse_sessions_live") == NULL); /* not read: left out */
	CHECK(b.len > 1 && b.data[b.len - 2] == '\n');

	/* every sample belongs to the family its last # TYPE named; HELP comes first */
	for (char *line = b.data; *line;) {
		char *end = strchr(line, '\n');
		char name[96];
		size_t n;

		CHECK(end != NULL);
		if (end == NULL)
			break;
		*end = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			char *next = end + 1;
			n = strcspn(line + 7, " ");
			CHECK(strncmp(next, "# TYPE ", 7) == 0 && strncmp(next + 7, line + 7, n) == 0);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			n = strcspn(line + 7, " ");
			if (ntypes < 64) {
				snprintf(type_of[ntypes], sizeof(type_of[0]), "%.*s", (int)n, line + 7);
				ntypes++;
			}
			CHECK(strcmp(line + 7 + n + 1, "counter") == 0 ||
			    strcmp(line + 7 + n + 1, "gauge") == 0 ||
			    strcmp(line + 7 + n + 1, "histogram") == 0);
		} else {
			n = strcspn(line, "{ ");
			snprintf(name, sizeof(name), "%.*s", (int)n, line);
			CHECK(ntypes > 0 &&
			    strncmp(name, type_of[ntypes - 1], strlen(type_of[ntypes - 1])) == 0);
			CHECK(strncmp(name, "gatehouse_", 10) == 0);
		}
		line = end + 1;
	}
	buf_free(&b);
}

int
main(void)
{
	metrics_init("test");
	test_escaping();
	test_routes_and_requests();
	test_histogram();
	test_labels_from_fixed_sets();
	test_gauges_and_layout();
	return test_summary("metrics");
}
