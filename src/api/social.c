/*
 * api/social — social login over HTTP (docs/social-contract.md).  The
 * authorize step makes state (single use, short-lived), a PKCE verifier and
 * an OIDC nonce, and binds them to this browser with an HttpOnly cookie; the
 * callback POST checks all of that before the code is exchanged on the
 * network pool, then runs the pipeline and logs in like a password login (new
 * session key, CSRF rotated).  Any failure answers 400/403 with no session;
 * the pipeline's domain errors become statuses in pipeline_status alone.
 * Connecting a provider to the signed-in user starts only from POST
 * .../connect/ (CSRF-checked), never from a link: a GET authorize by a
 * signed-in browser is refused.  Pending states are bounded per browser and
 * per client IP.  Must never put client or provider text into an answer
 * unchecked (fixed text, or valid UTF-8 already checked).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "accounts/audit.h"
#include "http/cookie.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "http/authn.h"
#include "social/social.h"
#include "store/store.h"
#include "metrics.h"

#define BIND_COOKIE        "gh_social"
#define BIND_LEN           32
#define BAD_STATE          "Invalid or expired sign-in attempt. Please try again."
#define STATES_PER_BROWSER 10   /* pending sign-ins kept per browser: the oldest go */
#define STATES_PER_IP      1000 /* live ones per client IP (IPv6: per /64): then 429 */
#define PURGE_EVERY        60   /* seconds between two purges of expired states */
#define PURGE_BATCH        5000

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

void
api_social_providers(struct request *r)
{
	respond_json(r, 200, social_list_json(r->app->social));
}

static const struct social_provider *
provider(struct request *r)
{
	const struct social_provider *p = social_find(r->app->social, r->slug);

	if (p == NULL)
		respond_error(r, 404, "Not found.");
	return p;
}

/* The browser-binding cookie's value, when it has the right shape. */
static int
bind_cookie(struct request *r, char out[BIND_LEN + 1])
{
	const char *v;
	size_t n;

	if (!cookie_find(request_header(r, "Cookie"), BIND_COOKIE, &v, &n) || n != BIND_LEN ||
	    strspn(v, alnum) < BIND_LEN)
		return -1;
	memcpy(out, v, BIND_LEN);
	out[BIND_LEN] = '\0';
	return 0;
}

/* A same-origin path to go to afterwards, else "/": valid UTF-8, no control
 * characters, no backslash, not "//host". */
static void
safe_next(const char *next, char *out, size_t outsz)
{
	size_t n = next ? strlen(next) : 0;

	strlcpy_ok(out, "/", outsz);
	if (n == 0 || n >= outsz || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    !utf8_valid(next, n))
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)next[i] < 0x20 || next[i] == 0x7f || next[i] == '\\')
			return;
	strlcpy_ok(out, next, outsz);
}

/* Expired states go in batches through the expires_at index, at most once a
 * minute (sooner while a full batch comes back), never on every request. */
static void
purge_states(struct store *st, int64_t now)
{
	static _Atomic int64_t last;
	int64_t seen = atomic_load(&last);
	int deleted = 0;

	if (now - seen < PURGE_EVERY || !atomic_compare_exchange_strong(&last, &seen, now))
		return;
	if (store_social_state_purge(st, now, PURGE_BATCH, &deleted) == 0 && deleted == PURGE_BATCH)
		atomic_store(&last, 0);
}

struct prepare_job {
	const struct social_provider *p;
	long timeout;
	int ok;
	char err[256];
};

static void
prepare_run(void *arg)
{
	struct prepare_job *j = arg;

	j->ok = social_prepare(j->p, j->timeout, j->err, sizeof(j->err)) == 0;
}

/* Phase 0 of a flow for an OIDC provider: load its discovery document on the
 * network pool.  1 when the handler must return (deferred, or answered). */
static int
prepare(struct request *r, const struct social_provider *p)
{
	struct prepare_job *j;
	char err[256];

	if (r->phase == 0 && social_needs_prepare(p)) {
		/* discovery may need the network: do it off the HTTP threads */
		j = xcalloc(1, sizeof(*j));
		j->p = p;
		j->timeout = r->app->cfg.social_timeout;
		if (request_defer_net(r, prepare_run, j, free) != 0)
			api_respond_busy(r, NULL);
		return 1;
	}
	if (r->phase > 0 && !((struct prepare_job *)r->state)->ok) {
		metrics_count_social_error(p->name);
		log_msg(LOG_WARN, "social: %s discovery failed: %s", p->name,
		    ((struct prepare_job *)r->state)->err);
		snprintf(err, sizeof(err), "Could not reach %s. Please try again later.", p->label);
		respond_error(r, 400, err);
		return 1;
	}
	return 0;
}

/* Make a state for provider p bound to this browser (and, when link_user_id
 * is set, to that user for connecting) and answer with the provider's URL:
 * {"url"} when as_json, else a 302 to it. */
static void
start_flow(struct request *r, const struct social_provider *p, const char *next, int64_t link_user_id,
    bool as_json)
{
	const struct config *cfg = &r->app->cfg;
	struct store_social_state s = { 0 };
	char state[33], bind[BIND_LEN + 1], challenge[64], err[256];
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct buf url = { 0 }, cookie = { 0 };
	int64_t now = now_unix();
	/* the browser binding goes only to the social endpoints */
	struct cookie_attrs bind_attrs = { .max_age = cfg->social_state_ttl,
		.http_only = true,
		.secure = cfg->secure_cookies,
		.path = "/api/social/" };
	int rc;

	random_chars(state, 32, alnum);
	random_chars(s.verifier, 64, alnum);
	random_chars(s.nonce, 32, alnum);
	crypto_hash_sha256(digest, (const unsigned char *)s.verifier, strlen(s.verifier));
	sodium_bin2base64(challenge, sizeof(challenge), digest, sizeof(digest),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (bind_cookie(r, bind) != 0)
		random_chars(bind, BIND_LEN, alnum);
	sha256_hex(state, 32, s.state_hash);
	sha256_hex(bind, BIND_LEN, s.browser_hash);
	strlcpy_ok(s.provider, p->name, sizeof(s.provider));
	safe_next(next, s.next, sizeof(s.next));
	social_ip_key(r->ip, s.ip, sizeof(s.ip));
	s.link_user_id = link_user_id;
	s.expires_at = now + cfg->social_state_ttl;
	if (social_authorize_url(p, cfg, state, challenge, s.nonce, &url, err, sizeof(err)) != 0) {
		respond_error(r, 400, err);
		goto done;
	}
	purge_states(r->app->store, now);
	rc = store_social_state_create(r->app->store, &s, STATES_PER_BROWSER, STATES_PER_IP);
	if (rc == STORE_TOO_MANY) {
		respond_error(r, 429,
		    "Too many sign-in attempts from your network. Please try again in a few minutes.");
		response_header(r, "Retry-After", "60");
		goto done;
	}
	if (rc != 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	cookie_format(&cookie, BIND_COOKIE, bind, &bind_attrs, now);
	response_header(r, "Set-Cookie", cookie.data);
	if (as_json)
		respond_json(r, 200, json_pack("{s:s}", "url", url.data));
	else {
		respond_empty(r, 302);
		response_header(r, "Location", url.data);
	}
done:
	buf_free(&url);
	if (cookie.data)
		sodium_memzero(cookie.data, cookie.len);
	buf_free(&cookie);
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(state, sizeof(state));
}

void
api_social_authorize(struct request *r)
{
	const struct social_provider *p = provider(r);
	const char *accept = request_header(r, "Accept");
	char detail[200];

	if (p == NULL)
		return;
	/* a plain link (maybe from another site) never connects a provider to the
	 * signed-in user: that takes POST .../connect/ with CSRF */
	if (r->caller->kind == AUTH_SESSION) {
		snprintf(detail, sizeof(detail),
		    "You are already signed in. To connect %s, use Connect on your "
		    "account page.",
		    p->label);
		respond_error(r, 400, detail);
		return;
	}
	if (prepare(r, p))
		return;
	start_flow(r, p, request_query(r, "next"), 0, accept && strstr(accept, "application/json"));
}

void
api_social_connect(struct request *r)
{
	const struct social_provider *p = provider(r);
	json_t *body = NULL;

	if (p == NULL)
		return;
	/* the router checked CSRF for a session; a token is not a browser to bind */
	if (r->caller->kind != AUTH_SESSION) {
		respond_error(r, 403, "Connect providers from a signed-in browser session.");
		return;
	}
	if (r->body.len > 0 && request_json(r, &body) != 0)
		return;
	if (body && !json_is_object(body)) {
		respond_error(r, 400, "Expected a JSON object.");
		goto done;
	}
	if (prepare(r, p))
		goto done;
	start_flow(r, p, json_string_value(json_object_get(body, "next")), r->caller->user.id, true);
done:
	json_decref(body);
}

struct exchange_job {
	const struct social_provider *p;
	const struct config *cfg;
	char code[1024];
	struct store_social_state s;
	struct social_profile profile;
	int ok;
	char err[256];
};

static void
exchange_free(void *arg)
{
	sodium_memzero(arg, sizeof(struct exchange_job));
	free(arg);
}

static void
exchange_run(void *arg)
{
	struct exchange_job *j = arg;

	j->ok = social_exchange(j->p, j->cfg, j->code, j->s.verifier, j->s.nonce, &j->profile, j->err,
	            sizeof(j->err)) == 0;
}

static void
callback_start(struct request *r, const struct social_provider *p)
{
	json_t *body = NULL;
	struct exchange_job *j = NULL;
	const char *state, *code, *error;
	char hash[65], bind[BIND_LEN + 1], bind_hash[65], detail[256];
	int rc;

	if (request_json(r, &body) != 0)
		goto done;
	state = json_string_value(json_object_get(body, "state"));
	if (state == NULL || state[0] == '\0') {
		respond_error(r, 400, BAD_STATE);
		goto done;
	}
	j = xcalloc(1, sizeof(*j));
	sha256_hex(state, strlen(state), hash);
	rc = store_social_state_take(r->app->store, hash, &j->s);
	if (rc < 0) {
		api_respond_busy(r, NULL);
		goto done;
	}
	/* the state must be ours, fresh, for this provider, and from this browser */
	if (rc != 0 || j->s.expires_at <= now_unix() || strcmp(j->s.provider, p->name) != 0 ||
	    bind_cookie(r, bind) != 0 ||
	    (sha256_hex(bind, BIND_LEN, bind_hash), sodium_memcmp(bind_hash, j->s.browser_hash, 64) != 0)) {
		audit_log(r, "login.failed", 0,
		    json_pack("{s:s, s:s}", "reason", "social_state", "provider", p->name));
		respond_error(r, 400, BAD_STATE);
		goto done;
	}
	/* a connect belongs to the browser session that started it, still signed in */
	if (j->s.link_user_id &&
	    (r->caller->kind != AUTH_SESSION || r->caller->user.id != j->s.link_user_id)) {
		audit_log(r, "login.failed", 0,
		    json_pack("{s:s, s:s}", "reason", "social_link_session", "provider", p->name));
		respond_error(r, 400, "Sign in again, then connect from your account page.");
		goto done;
	}
	error = json_string_value(json_object_get(body, "error"));
	if (error) {
		char e[41];
		size_t i;
		for (i = 0; i < sizeof(e) - 1 && error[i]; i++)
			e[i] = (error[i] >= 'a' && error[i] <= 'z') || error[i] == '_' ? error[i] : '?';
		e[i] = '\0';
		snprintf(detail, sizeof(detail), "%s sign-in was cancelled or refused (%s).", p->label, e);
		respond_error(r, 400, detail);
		goto done;
	}
	code = json_string_value(json_object_get(body, "code"));
	if (code == NULL || code[0] == '\0' || strlen(code) >= sizeof(j->code)) {
		snprintf(detail, sizeof(detail), "%s did not send an authorization code.", p->label);
		respond_error(r, 400, detail);
		goto done;
	}
	strlcpy_ok(j->code, code, sizeof(j->code));
	j->p = p;
	j->cfg = &r->app->cfg;
	rc = request_defer_net(r, exchange_run, j, exchange_free);
	j = NULL; /* the request's now, queued or not */
	if (rc != 0)
		api_respond_busy(r, NULL);
done:
	if (j)
		exchange_free(j);
	json_decref(body);
}

/* The one place a pipeline error becomes an HTTP status: 403 for who may
 * not sign in at all, 503 when the store failed, 400 for the rest (the user
 * can do something about it).  No default: a new error must be placed here. */
static int
pipeline_status(enum social_error e)
{
	switch (e) {
	case SOCIAL_OK:
		return 200;
	case SOCIAL_ERR_DOMAIN_NOT_ALLOWED:
	case SOCIAL_ERR_INACTIVE:
		return 403;
	case SOCIAL_ERR_STORE:
		return 503;
	case SOCIAL_ERR_NO_UID:
	case SOCIAL_ERR_IDENTITY_OF_OTHER_USER:
	case SOCIAL_ERR_EMAIL_TAKEN_UNVERIFIED:
	case SOCIAL_ERR_NO_EMAIL:
	case SOCIAL_ERR_EMAIL_TAKEN:
	case SOCIAL_ERR_NO_ACCOUNT:
		break;
	}
	return 400;
}

static void
callback_finish(struct request *r, const struct social_provider *p)
{
	struct exchange_job *j = r->state;
	struct store *st = r->app->store;
	struct social_result res;
	char next[sizeof(j->s.next)];

	if (!j->ok) {
		metrics_count_social_error(p->name);
		log_msg(LOG_WARN, "social: %s: %s", p->name, j->err);
		audit_log(r, "login.failed", 0,
		    json_pack("{s:s, s:s}", "reason", "social_provider", "provider", p->name));
		/* the reason may quote the provider: only whole, valid text is shown */
		respond_error(r, 400,
		    j->err[0] && utf8_valid(j->err, strlen(j->err)) ? j->err : "Sign-in failed.");
		return;
	}
	/* a state stored before next was checked as it is now goes home */
	safe_next(j->s.next, next, sizeof(next));
	if (store_begin(st) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	social_pipeline(&r->app->cfg, st, p, &j->profile, j->s.link_user_id, &res);
	if (res.error != SOCIAL_OK) {
		store_rollback(st);
		audit_log(r, "login.failed", res.user.id,
		    json_pack("{s:s, s:s, s:s}", "reason", "social_pipeline", "provider", p->name, "detail",
		        res.detail));
		if (pipeline_status(res.error) == 503)
			api_respond_busy(r, NULL);
		else
			respond_error(r, pipeline_status(res.error), res.detail);
		return;
	}
	/* in the transaction: the new identity, its audit row and its webhook messages land together */
	if (res.linked)
		audit_log(r, "social.linked", res.user.id, json_pack("{s:s}", "provider", p->name));
	if (store_commit(st) != 0) {
		store_rollback(st);
		api_respond_busy(r, NULL);
		return;
	}
	if (j->s.link_user_id) {
		respond_json(r, 200, json_pack("{s:s, s:s}", "detail", "Connected", "next", next));
		return;
	}
	/* a second factor, when the user has one, completes a social login too */
	if (r->app->cfg.mfa_social) {
		char how[80];

		snprintf(how, sizeof(how), "social:%s", p->name);
		if (api_mfa_begin(r, &res.user, how, next) != 0)
			return;
	}
	if (authn_login(r, &res.user) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	audit_log(r, "login.succeeded", res.user.id,
	    json_pack("{s:s, s:b}", "method", p->name, "created", res.created));
	respond_json(r, 200, json_pack("{s:s, s:s}", "detail", "Success", "next", next));
}

void
api_social_callback(struct request *r)
{
	const struct social_provider *p = provider(r);

	if (p == NULL)
		return;
	if (r->phase == 0)
		callback_start(r, p);
	else
		callback_finish(r, p);
}

struct identities {
	struct request *r;
	json_t *list;
	int count;
	int64_t target; /* set: note whether this id is among them */
	bool found;
};

static void
add_identity(void *ctx, const struct store_identity *i)
{
	struct identities *c = ctx;
	const struct social_provider *p = social_find(c->r->app->social, i->provider);
	char created[32];

	iso8601(i->created_at, created, sizeof(created));
	c->count++;
	if (i->id == c->target)
		c->found = true;
	if (c->list)
		json_array_append_new(c->list,
		    json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)i->id, "provider", i->provider,
		        "label", p ? p->label : i->provider, "uid", i->uid, "created", created));
}

void
api_social_identities(struct request *r)
{
	struct identities c = { r, json_array(), 0, 0, false };

	if (store_identity_list(r->app->store, r->caller->user.id, add_identity, &c) != 0) {
		json_decref(c.list);
		api_respond_busy(r, NULL);
		return;
	}
	respond_json(r, 200, c.list);
}

void
api_social_identity_delete(struct request *r)
{
	struct identities c = { r, NULL, 0, r->ids[0], false };
	struct store_user u;

	if (store_user_by_id(r->app->store, r->caller->user.id, &u) != 0 ||
	    store_identity_list(r->app->store, u.id, add_identity, &c) != 0) {
		api_respond_busy(r, NULL);
		return;
	}
	if (!c.found) {
		sodium_memzero(u.password, sizeof(u.password));
		respond_error(r, 404, "Not found.");
		return;
	}
	/* never cut the last way in: no usable password and no other identity */
	if ((u.password[0] == '\0' || u.password[0] == '!') && c.count <= 1) {
		sodium_memzero(u.password, sizeof(u.password));
		respond_error(r, 400,
		    "This is your only way to sign in: set a password first (use Forgot password).");
		return;
	}
	sodium_memzero(u.password, sizeof(u.password));
	if (api_store_answer(r, store_identity_delete(r->app->store, r->ids[0], u.id)) != 0)
		return;
	audit_log(r, "social.unlinked", u.id, json_pack("{s:I}", "identity_id", (json_int_t)r->ids[0]));
	respond_empty(r, 204);
}
