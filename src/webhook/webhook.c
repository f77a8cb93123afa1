/*
 * webhook — see webhook.h.
 */
#include "webhook/webhook.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store/store.h"
#include "util.h"
#include "webhook/endpoints.h"

static struct webhook_endpoints endpoints; /* set at start-up, read-only afterwards */

static pthread_mutex_t waker_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*waker)(void *);
static void *waker_arg;

/* the detail keys an event may carry on (all plain: ids, names, reasons) */
static const char *const kept_keys[] = { "method", "reason", "provider", "session_id", "token_id", "name",
	"credential", "unused", "created", NULL };

int
webhook_configure(const char *text, char *err, size_t errsz)
{
	struct webhook_endpoints eps;

	if (webhook_endpoints_parse(text, &eps, err, errsz) != 0)
		return -1;
	webhook_endpoints_wipe(&endpoints);
	endpoints = eps;
	webhook_endpoints_wipe(&eps);
	return 0;
}

void
webhook_unconfigure(void)
{
	webhook_endpoints_wipe(&endpoints);
}

int
webhook_endpoint_count(void)
{
	return endpoints.n;
}

const struct webhook_endpoint *
webhook_endpoint_find(const char *url)
{
	for (int i = 0; i < endpoints.n; i++)
		if (strcmp(endpoints.e[i].url, url) == 0)
			return &endpoints.e[i];
	return NULL;
}

int
webhook_check_deploy(void)
{
	int n = 0;

	for (int i = 0; i < endpoints.n; i++)
		if (strncmp(endpoints.e[i].url, "http://", 7) == 0) {
			printf("WARNING webhook endpoint %d is plain http (loopback): its payloads travel "
			       "unencrypted on this machine; prefer https\n",
			    i + 1);
			n++;
		}
	return n;
}

void
webhook_set_waker(void (*wake)(void *), void *arg)
{
	pthread_mutex_lock(&waker_lock);
	waker = wake;
	waker_arg = arg;
	pthread_mutex_unlock(&waker_lock);
}

static void
wake(void)
{
	pthread_mutex_lock(&waker_lock);
	if (waker)
		waker(waker_arg);
	pthread_mutex_unlock(&waker_lock);
}

static bool
detail_bool(const json_t *detail, const char *key, bool want)
{
	json_t *v = detail ? json_object_get(detail, key) : NULL;

	return json_is_boolean(v) && json_is_true(v) == want;
}

/* The webhook event an audit event maps to, or -1; extra data (e.g. a reason)
 * goes into data. */
static int
map_event(const struct store_audit *a, const json_t *detail, json_t *data)
{
	const char *e = a->event;

	if (strcmp(e, "user.signed_up") == 0)
		return WEBHOOK_USER_CREATED;
	if (strcmp(e, "admin.user.created") == 0) {
		json_object_set_new(data, "method", json_string(a->actor_id ? "admin" : "command_line"));
		return WEBHOOK_USER_CREATED;
	}
	if (strcmp(e, "email.confirmed") == 0)
		return WEBHOOK_USER_EMAIL_CONFIRMED;
	if (strcmp(e, "login.succeeded") == 0)
		return WEBHOOK_USER_LOGIN;
	if (strcmp(e, "login.failed") == 0)
		return WEBHOOK_USER_LOGIN_FAILED;
	if (strcmp(e, "login.throttled") == 0) {
		json_object_set_new(data, "reason", json_string("throttled"));
		return WEBHOOK_USER_LOGIN_FAILED;
	}
	if (strcmp(e, "password.changed") == 0 || strcmp(e, "password.reset") == 0) {
		json_object_set_new(data, "reason", json_string(e[9] == 'r' ? "reset" : "change"));
		return WEBHOOK_USER_PASSWORD_CHANGED;
	}
	if (strcmp(e, "admin.user.updated") == 0)
		return detail_bool(detail, "is_active", false) ? WEBHOOK_USER_DEACTIVATED : -1;
	if (strcmp(e, "session.revoked") == 0 || strcmp(e, "admin.session.revoked") == 0) {
		json_object_set_new(data, "reason", json_string("revoked"));
		return WEBHOOK_SESSION_REVOKED;
	}
	if (strcmp(e, "session.revoked_others") == 0 || strcmp(e, "admin.sessions.revoked_all") == 0) {
		json_object_set_new(data, "reason",
		    json_string(e[0] == 'a' ? "revoked_all" : "revoked_others"));
		return WEBHOOK_SESSION_REVOKED;
	}
	if (strcmp(e, "logout") == 0) {
		json_object_set_new(data, "reason", json_string("logout"));
		return WEBHOOK_SESSION_REVOKED;
	}
	if (strcmp(e, "token.created") == 0)
		return WEBHOOK_TOKEN_CREATED;
	if (strcmp(e, "token.revoked") == 0 || strcmp(e, "admin.token.revoked") == 0)
		return WEBHOOK_TOKEN_REVOKED;
	if (strcmp(e, "social.linked") == 0)
		return WEBHOOK_SOCIAL_CONNECTED;
	if (strcmp(e, "mfa.totp_enabled") == 0) {
		json_object_set_new(data, "factor", json_string("totp"));
		return WEBHOOK_MFA_ENABLED;
	}
	if (strcmp(e, "mfa.totp_removed") == 0) {
		json_object_set_new(data, "factor", json_string("totp"));
		return WEBHOOK_MFA_DISABLED;
	}
	if (strcmp(e, "admin.mfa_removed") == 0) {
		json_object_set_new(data, "factor", json_string("all"));
		return WEBHOOK_MFA_DISABLED;
	}
	if (strcmp(e, "mfa.webauthn_added") == 0)
		return WEBHOOK_PASSKEY_ADDED;
	if (strcmp(e, "mfa.webauthn_removed") == 0)
		return WEBHOOK_PASSKEY_REMOVED;
	if (strcmp(e, "mfa.recovery_code_used") == 0)
		return WEBHOOK_MFA_RECOVERY_CODE_USED;
	return -1;
}

/* The Standard Webhooks body {"type", "timestamp", "data"} for event ev (new string), or NULL. */
static char *
payload(struct store *st, const struct store_audit *a, const json_t *detail, int ev, json_t *data)
{
	char at[32];
	json_t *body;
	char *s;

	json_object_set_new(data, "user_id", a->user_id ? json_integer(a->user_id) : json_null());
	if (a->user_id) {
		struct store_user u;
		if (store_user_by_id(st, a->user_id, &u) == 0)
			json_object_set_new(data, "email", json_string(u.email));
		sodium_memzero(&u, sizeof(u));
	} else if (detail && json_is_string(json_object_get(detail, "email")))
		/* a failed login of an unknown address: what was typed as the address (never a password) */
		json_object_set(data, "email", json_object_get(detail, "email"));
	if (a->actor_id && a->actor_id != a->user_id)
		json_object_set_new(data, "actor_id", json_integer(a->actor_id));
	for (int i = 0; detail && kept_keys[i]; i++) {
		json_t *v = json_object_get(detail, kept_keys[i]);
		if (v && !json_object_get(data, kept_keys[i]) &&
		    (json_is_string(v) || json_is_integer(v) || json_is_boolean(v)))
			json_object_set(data, kept_keys[i], v);
	}
	if (a->ip[0])
		json_object_set_new(data, "ip", json_string(a->ip));
	if (a->user_agent[0])
		json_object_set_new(data, "user_agent", json_string(a->user_agent));
	iso8601(a->at ? a->at : now_unix(), at, sizeof(at));
	body = json_pack("{s:s, s:s, s:O}", "type", webhook_event_name(ev), "timestamp", at, "data", data);
	if (body == NULL)
		return NULL;
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return s;
}

int
webhook_on_audit(struct store *st, const struct store_audit *a, const json_t *detail)
{
	json_t *data;
	char *body = NULL;
	int ev, ret = 0, queued = 0;
	uint32_t bit;

	if (endpoints.n == 0)
		return 0;
	data = json_object();
	if ((ev = map_event(a, detail, data)) < 0)
		goto done;
	bit = 1u << ev;
	for (int i = 0; i < endpoints.n; i++) {
		struct store_webhook w = { 0 };

		if (!(endpoints.e[i].events & bit))
			continue;
		if (body == NULL && (body = payload(st, a, detail, ev, data)) == NULL) {
			ret = -1;
			break;
		}
		/* the webhook-id: random, the same on every attempt of this message */
		memcpy(w.msg_id, "msg_", 4);
		random_chars(w.msg_id + 4, 28,
		    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		strlcpy_ok(w.endpoint, endpoints.e[i].url, sizeof(w.endpoint));
		strlcpy_ok(w.event, webhook_event_name(ev), sizeof(w.event));
		w.payload = body;
		w.created_at = now_unix();
		w.next_attempt_ms = w.created_at * 1000;
		if (store_webhook_add(st, &w) != 0) {
			log_msg(LOG_ERROR, "could not queue the webhook %s", w.event);
			ret = -1;
		} else
			queued++;
	}
done:
	free(body);
	json_decref(data);
	if (queued)
		wake();
	return ret;
}
