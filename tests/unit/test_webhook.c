/*
 * Unit tests of webhooks above the store: the GATEHOUSE_WEBHOOKS parser
 * (accepted forms, every refusal, no secret in an error), the event names,
 * the Standard Webhooks signature (the specification's published vector),
 * the retry rule and backoff, and audit rows turned into outbox rows on a
 * real SQLite store: one per endpoint that wants the event, in the caller's
 * transaction (a rollback leaves none), payloads with ids and no secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "accounts/audit.h"
#include "store/store.h"
#include "util.h"
#include "test.h"
#include "test_store.h"
#include "webhook/endpoints.h"
#include "webhook/webhook.h"
#include "webhook/worker.h"

#define SECRET24 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static int
parse(const char *text, struct webhook_endpoints *eps, char *err, size_t errsz)
{
	err[0] = '\0';
	return webhook_endpoints_parse(text, eps, err, errsz);
}

static void
refused(const char *text, const char *want)
{
	struct webhook_endpoints eps;
	char err[512];

	CHECK(parse(text, &eps, err, sizeof(err)) == -1);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "for [%s]: error [%s] lacks [%s]\n", text, err, want);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == NULL);
	CHECK(eps.n == 0);
}

static void
test_parse(void)
{
	struct webhook_endpoints eps;
	char err[512];

	CHECK(parse(NULL, &eps, err, sizeof(err)) == 0 && eps.n == 0);
	CHECK(parse("", &eps, err, sizeof(err)) == 0 && eps.n == 0);
	CHECK(parse(" ; \n\t;", &eps, err, sizeof(err)) == 0 && eps.n == 0);
	CHECK(
	    parse("https://h.example.com/in user.created,user.login " SECRET24, &eps, err, sizeof(err)) == 0);
	CHECK(eps.n == 1);
	CHECK_STR(eps.e[0].url, "https://h.example.com/in");
	CHECK(eps.e[0].events == ((1u << WEBHOOK_USER_CREATED) | (1u << WEBHOOK_USER_LOGIN)));
	CHECK(eps.e[0].keylen == 24);
	CHECK(parse("https://a.example.com * " SECRET24
	            ";\r\n\thttp://127.0.0.1:8080/x?y=1  token.revoked   " SECRET24
	            "\nhttp://[::1]/v6 mfa.enabled " SECRET24 ";http://LOCALHOST:1/ session.revoked " SECRET24
	            ";",
	          &eps, err, sizeof(err)) == 0);
	CHECK(eps.n == 4);
	CHECK(eps.e[0].events == (1u << WEBHOOK_NEVENTS) - 1);
	CHECK_STR(eps.e[1].url, "http://127.0.0.1:8080/x?y=1");
	CHECK(eps.e[1].events == 1u << WEBHOOK_TOKEN_REVOKED);
	CHECK_STR(eps.e[2].url, "http://[::1]/v6");
	/* unpadded base64 of 64 bytes */
	{
		unsigned char k[64];
		char b64[100], text[300];

		memset(k, 7, sizeof(k));
		sodium_bin2base64(b64, sizeof(b64), k, sizeof(k), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
		snprintf(text, sizeof(text), "https://k.example.com/ * whsec_%s", b64);
		CHECK(parse(text, &eps, err, sizeof(err)) == 0 && eps.e[0].keylen == 64 &&
		    eps.e[0].key[63] == 7);
	}

	refused("https://h.example.com/ user.created,user.nope " SECRET24, "unknown event \"user.nope\"");
	refused("https://h.example.com/ user.created,," SECRET24, "three fields");
	refused("https://h.example.com/ user.created,,user.login " SECRET24, "empty event name");
	refused("https://h.example.com/ , " SECRET24, "empty event name");
	refused("https://h.example.com/ ** " SECRET24, "unknown event");
	/* a secret in the events' place (the events left out) is not printed back */
	refused("https://h.example.com/ " SECRET24 " whsec_AAAA", "unknown event \"?\"");
	refused("https://h.example.com/ user.created," SECRET24 " whsec_AAAA", "unknown event \"?\"");
	refused("http://h.example.com/ * " SECRET24, "loopback");
	refused("http://128.0.0.1/ * " SECRET24, "loopback");
	refused("http://127.0.0.1.example.com/ * " SECRET24, "loopback");
	refused("http://localhost.example.com/ * " SECRET24, "loopback");
	refused("http://[::2]/ * " SECRET24, "loopback");
	refused("ftp://h.example.com/ * " SECRET24, "must start with https://");
	refused("https:// * " SECRET24, "must start with https://");
	refused("https:///x * " SECRET24, "no host");
	refused("https://h.example.com:0/ * " SECRET24, "port");
	refused("https://h.example.com:65536/ * " SECRET24, "port");
	refused("https://h.example.com:/ * " SECRET24, "port");
	refused("https://h.example.com:8x/ * " SECRET24, "port");
	refused("https://[::1/ * " SECRET24, "IPv6");
	refused("https://u:p@h.example.com/ * " SECRET24, "user or password");
	refused("https://h.example.com/#f * " SECRET24, "not allowed");
	refused("https://h.example.com/\x7f * " SECRET24, "not allowed");
	refused("https://h.example.com/\xc3\xa9 * " SECRET24, "not allowed");
	refused("https://h.example.com/ * MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_");
	refused("https://h.example.com/ * whsec_", "0 bytes");
	refused("https://h.example.com/ * whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", "not valid base64");
	refused("https://h.example.com/ * whsec_AAAAAAAAAAAAAAAAAAAAAA==", "16 bytes");
	refused("https://h.example.com/ * " SECRET24 " extra", "three fields");
	refused("https://h.example.com/ *", "three fields");
	refused("https://a.example.com/ * " SECRET24 ";https://a.example.com/ user.login " SECRET24,
	    "same URL");
	{
		char big[700];
		memset(big, 'a', sizeof(big));
		memcpy(big, "https://", 8);
		snprintf(big + 600, 100, " * %s", SECRET24);
		refused(big, "longer than");
	}
	{
		struct buf b = { 0 };
		for (int i = 0; i <= WEBHOOK_MAX_ENDPOINTS; i++)
			buf_printf(&b, "https://h%d.example.com/ * %s;", i, SECRET24);
		refused(b.data, "at most");
		buf_free(&b);
	}
}

static void
test_events(void)
{
	for (int i = 0; i < WEBHOOK_NEVENTS; i++) {
		const char *n = webhook_event_name(i);
		CHECK(n != NULL && webhook_event_by_name(n, strlen(n)) == i);
	}
	CHECK(webhook_event_name(WEBHOOK_NEVENTS) == NULL && webhook_event_name(-1) == NULL);
	CHECK(webhook_event_by_name("user.login", 9) == -1);
	CHECK(webhook_event_by_name("user.logins", 11) == -1);
}

static void
test_sign(void)
{
	struct webhook_endpoints eps;
	char err[256], sig[WEBHOOK_SIGNATURE_MAX], small[20];
	const char *body = "{\"test\": 2432232314}";

	/* the vector published with the Standard Webhooks specification */
	CHECK(parse("https://h.example.com/ * " SECRET24, &eps, err, sizeof(err)) == 0);
	CHECK(webhook_sign(eps.e[0].key, eps.e[0].keylen, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	          strlen(body), sig, sizeof(sig)) == 0);
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	CHECK(webhook_sign(eps.e[0].key, eps.e[0].keylen, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
	          strlen(body), sig, sizeof(sig)) == 0);
	CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
	CHECK(webhook_sign(eps.e[0].key, eps.e[0].keylen, "m", 1, body, strlen(body), small, sizeof(small)) ==
	    -1);
	webhook_endpoints_wipe(&eps);
}

static void
test_rule(void)
{
	CHECK(webhook_outcome_of(200) == WEBHOOK_DELIVERED);
	CHECK(webhook_outcome_of(204) == WEBHOOK_DELIVERED);
	CHECK(webhook_outcome_of(299) == WEBHOOK_DELIVERED);
	CHECK(webhook_outcome_of(0) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(301) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(408) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(429) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(500) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(503) == WEBHOOK_RETRY);
	CHECK(webhook_outcome_of(400) == WEBHOOK_GIVE_UP);
	CHECK(webhook_outcome_of(401) == WEBHOOK_GIVE_UP);
	CHECK(webhook_outcome_of(404) == WEBHOOK_GIVE_UP);
	CHECK(webhook_outcome_of(410) == WEBHOOK_GIVE_UP);
	CHECK(webhook_backoff_ms(5000, 1) == 5000);
	CHECK(webhook_backoff_ms(5000, 2) == 10000);
	CHECK(webhook_backoff_ms(5000, 3) == 20000);
	CHECK(webhook_backoff_ms(5000, 10) == 2560000);
	CHECK(webhook_backoff_ms(5000, 11) == 3600000);
	CHECK(webhook_backoff_ms(5000, 1000) == 3600000);
	CHECK(webhook_backoff_ms(3600000, 1) == 3600000);
}

static int rows_seen;
static json_t *last_payload;

static int64_t
outbox_count(struct store *st, const char *event)
{
	/* the rows are claimed (leased far ahead) to be read: each once */
	struct store_webhook w[16];
	int n = 0, c = 0;

	if (store_webhook_claim(st, INT64_MAX / 4, INT64_MAX / 2, w, 16, &n) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcmp(w[i].event, event) == 0) {
			json_error_t e;
			c++;
			json_decref(last_payload);
			last_payload = json_loads(w[i].payload, 0, &e);
		}
		rows_seen++;
		store_webhook_failed(st, w[i].id, 400, "read by the test", 0, true, 1);
		store_webhook_free(&w[i]);
	}
	return c;
}

static void
test_audit_rows(void)
{
	char dir[] = "/tmp/gh-webhook-XXXXXX", dsn[300], err[256];
	struct store *st;
	struct store_user u = { 0 };
	json_t *data;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(dsn, sizeof(dsn), "sqlite:%s/w.db", dir);
	st = test_store_open(dsn);
	snprintf(u.email, sizeof(u.email), "hooked@example.com");
	snprintf(u.password, sizeof(u.password), "pbkdf2_sha256$1$salt$notarealhash");
	snprintf(u.auth_hash, sizeof(u.auth_hash), "%032d", 1);
	u.is_active = true;
	CHECK(store_user_create(st, &u) == 0);

	CHECK(webhook_configure("https://all.example.com/ * " SECRET24
	                        ";https://logins.example.com/ user.login " SECRET24,
	          err, sizeof(err)) == 0);
	CHECK(webhook_endpoint_count() == 2);
	CHECK(webhook_endpoint_find("https://logins.example.com/") != NULL);
	CHECK(webhook_endpoint_find("https://logins.example.com") == NULL);

	/* rolled back: the change, its audit row and its webhook rows go together */
	CHECK(store_begin(st) == 0);
	audit_write(st, u.id, "192.0.2.1", "agent", "login.succeeded", u.id,
	    json_pack("{s:s}", "method", "password"));
	store_rollback(st);
	CHECK(outbox_count(st, "user.login") == 0);

	/* committed: one per endpoint that wants it */
	rows_seen = 0;
	CHECK(store_begin(st) == 0);
	audit_write(st, u.id, "192.0.2.1", "agent", "login.succeeded", u.id,
	    json_pack("{s:s}", "method", "password"));
	CHECK(store_commit(st) == 0);
	CHECK(outbox_count(st, "user.login") == 2 && rows_seen == 2);
	CHECK(last_payload != NULL);
	CHECK_STR(json_string_value(json_object_get(last_payload, "type")), "user.login");
	data = json_object_get(last_payload, "data");
	CHECK(json_integer_value(json_object_get(data, "user_id")) == u.id);
	CHECK_STR(json_string_value(json_object_get(data, "email")), "hooked@example.com");
	CHECK_STR(json_string_value(json_object_get(data, "method")), "password");
	CHECK_STR(json_string_value(json_object_get(data, "ip")), "192.0.2.1");
	CHECK(json_object_get(data, "actor_id") == NULL); /* the user themselves */

	/* only the endpoint that wants it; a detail key that is not kept stays out */
	rows_seen = 0;
	audit_write(st, 0, NULL, NULL, "token.created", u.id,
	    json_pack("{s:I, s:s, s:s}", "token_id", (json_int_t)7, "name", "ci", "checked", "password"));
	CHECK(outbox_count(st, "token.created") == 1 && rows_seen == 1);
	data = json_object_get(last_payload, "data");
	CHECK(json_integer_value(json_object_get(data, "token_id")) == 7);
	CHECK(json_object_get(data, "checked") == NULL);
	{
		char *s = json_dumps(last_payload, 0);
		CHECK(strstr(s, "pbkdf2") == NULL && strstr(s, u.auth_hash) == NULL);
		free(s);
	}

	/* not every admin change is a deactivation */
	audit_write(st, 9, NULL, NULL, "admin.user.updated", u.id, json_pack("{s:b}", "is_staff", 1));
	CHECK(outbox_count(st, "user.deactivated") == 0);
	audit_write(st, 9, NULL, NULL, "admin.user.updated", u.id, json_pack("{s:b}", "is_active", 0));
	CHECK(outbox_count(st, "user.deactivated") == 1);
	CHECK(json_integer_value(json_object_get(json_object_get(last_payload, "data"), "actor_id")) == 9);

	/* a failed login of an unknown address: no user, the address typed */
	audit_write(st, 0, "192.0.2.2", NULL, "login.failed", 0,
	    json_pack("{s:s, s:s}", "reason", "unknown_email", "email", "who@example.com"));
	CHECK(outbox_count(st, "user.login_failed") == 1);
	data = json_object_get(last_payload, "data");
	CHECK(json_is_null(json_object_get(data, "user_id")));
	CHECK_STR(json_string_value(json_object_get(data, "email")), "who@example.com");
	CHECK_STR(json_string_value(json_object_get(data, "reason")), "unknown_email");

	/* events with no webhook: nothing */
	rows_seen = 0;
	audit_write(st, 0, NULL, NULL, "auth.reauthenticated", u.id, NULL);
	audit_write(st, 0, NULL, NULL, "mfa.webauthn_renamed", u.id, NULL);
	CHECK(outbox_count(st, "") == 0 && rows_seen == 0);

	/* no endpoint: nothing queued at all */
	webhook_unconfigure();
	CHECK(webhook_endpoint_count() == 0);
	audit_write(st, 0, NULL, NULL, "login.succeeded", u.id, NULL);
	CHECK(outbox_count(st, "user.login") == 0 && rows_seen == 0);

	json_decref(last_payload);
	store_close(st);
	{
		char f[400];
		const char *suffix[] = { "", "-wal", "-shm" };
		for (int i = 0; i < 3; i++) {
			snprintf(f, sizeof(f), "%s/w.db%s", dir, suffix[i]);
			unlink(f);
		}
		rmdir(dir);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_parse();
	test_events();
	test_sign();
	test_rule();
	test_audit_rows();
	return test_summary("webhook");
}
