/*
 * session — see session.h.
 */
#include "auth/session.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "http/cookie.h"
#include "auth/csrf.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "auth/useragent.h"

/* Django's session key alphabet: 32 of 36 characters is 165 bits. */
static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static int issue(struct request *r, const struct store_user *u, bool login);

/* last_seen is rewritten at most once a minute, so the hot path stays
 * read-only; a short idle timeout needs it fresher than that. */
static int64_t
touch_interval(const struct config *cfg)
{
	if (cfg->session_idle_timeout > 0 && cfg->session_idle_timeout < 120)
		return cfg->session_idle_timeout / 2 > 0 ? cfg->session_idle_timeout / 2 : 1;
	return 60;
}

static int
key_valid(const char *v, size_t n)
{
	if (n != SESSION_KEY_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9')))
			return 0;
	return 1;
}

/* The hash of the presented sessionid, when it has a valid shape. */
static int
cookie_key_hash(struct request *r, char out[65])
{
	const char *v;
	size_t n;

	if (!cookie_find(request_header(r, "Cookie"), "sessionid", &v, &n) || !key_valid(v, n))
		return 0;
	sha256_hex(v, n, out);
	return 1;
}

void
session_new_auth_hash(char *out)
{
	unsigned char raw[STORE_AUTHHASH_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), out);
}

int
session_resolve(struct request *r)
{
	const struct config *cfg = &r->app->cfg;
	char kh[65];
	int64_t now;
	int rc;

	if (!cookie_key_hash(r, kh))
		return 0;
	rc = store_session_get(r->app->store, kh, &r->caller->session, &r->caller->user);
	if (rc != 0)
		return rc == STORE_NOTFOUND ? 0 : -1;
	now = now_unix();
	if (r->caller->session.expires_at <= now ||
	    (cfg->session_idle_timeout > 0 && r->caller->session.last_seen + cfg->session_idle_timeout <= now) ||
	    sodium_memcmp(r->caller->session.auth_hash, r->caller->user.auth_hash, STORE_AUTHHASH_LEN) != 0 ||
	    !r->caller->user.is_active) {
		/* dead for good: remove it so it cannot come back */
		store_session_delete(r->app->store, kh);
		memset(&r->caller->session, 0, sizeof(r->caller->session));
		memset(&r->caller->user, 0, sizeof(r->caller->user));
		return 0;
	}
	if (now - r->caller->session.last_seen >= touch_interval(cfg))
		store_session_touch(r->app->store, r->caller->session.id, now);
	r->caller->kind = AUTH_SESSION;
	return 1;
}

int
session_login(struct request *r, const struct store_user *u)
{
	return issue(r, u, true);
}

int
session_rotate(struct request *r, const struct store_user *u)
{
	return issue(r, u, false);
}

/* A new key for u on r (the one the browser came with is deleted first). */
static int
issue(struct request *r, const struct store_user *u, bool login)
{
	const struct config *cfg = &r->app->cfg;
	struct cookie_attrs a = { .max_age = cfg->session_max_age, .http_only = true,
	    .secure = cfg->secure_cookies };
	struct store_session s = { 0 };
	char key[SESSION_KEY_LEN + 1], old[65], csrf[CSRF_SECRET_LEN + 1];
	const char *ua = request_header(r, "User-Agent");
	char ua_cut[256];
	struct buf b = { 0 };
	int64_t now = now_unix();
	int ret = -1;

	/* no fixation: whatever session the browser came with ends here */
	if (cookie_key_hash(r, old))
		store_session_delete(r->app->store, old);
	random_chars(key, SESSION_KEY_LEN, key_chars);
	sha256_hex(key, SESSION_KEY_LEN, s.key_hash);
	s.user_id = u->id;
	memcpy(s.auth_hash, u->auth_hash, sizeof(s.auth_hash));
	s.created_at = s.last_seen = now;
	s.reauth_at = now;           /* the password (or a provider) was just checked */
	s.expires_at = now + cfg->session_max_age;
	strlcpy_ok(ua_cut, ua ? ua : "", sizeof(ua_cut));
	if (!utf8_valid(ua_cut, strlen(ua_cut)))
		ua_cut[0] = '\0';
	if (store_session_create(r->app->store, &s, r->ip, ua_cut) != 0)
		goto done;
	if (login)
		store_user_set_last_login(r->app->store, u->id, now);

	cookie_format(&b, "sessionid", key, &a, now);
	response_header(r, "Set-Cookie", b.data);
	csrf_new_secret(csrf);
	csrf_set_cookie(r, csrf);
	r->caller->kind = AUTH_SESSION;
	r->caller->session = s;
	r->caller->user = *u;
	if (login)
		r->caller->user.last_login = now;
	ret = 0;
done:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(csrf, sizeof(csrf));
	if (b.data)
		sodium_memzero(b.data, b.len);
	buf_free(&b);
	return ret;
}

int
session_logout(struct request *r)
{
	struct cookie_attrs a = { .max_age = -1, .secure = r->app->cfg.secure_cookies };
	struct buf b = { 0 };
	char kh[65];
	int ret = 0;

	if (cookie_key_hash(r, kh))
		ret = store_session_delete(r->app->store, kh) < 0 ? -1 : 0;
	cookie_format(&b, "sessionid", "", &a, now_unix());
	response_header(r, "Set-Cookie", b.data);
	buf_free(&b);
	r->caller->kind = AUTH_NONE;
	return ret;
}

int
session_reauth_fresh(const struct request *r)
{
	int64_t at = r->caller->session.reauth_at;

	return r->caller->kind == AUTH_SESSION && at > 0 && now_unix() - at < r->app->cfg.reauth_max_age;
}

int
session_mark_reauth(struct request *r)
{
	int64_t now = now_unix();

	if (r->caller->kind != AUTH_SESSION || store_session_set_reauth(r->app->store, r->caller->session.id, now) != 0)
		return -1;
	r->caller->session.reauth_at = now;
	return 0;
}

json_t *
session_info_json(const struct store_session_info *s, int64_t current_id)
{
	char created[32], seen[32], expires[32], device[96];

	iso8601(s->created_at, created, sizeof(created));
	iso8601(s->last_seen, seen, sizeof(seen));
	iso8601(s->expires_at, expires, sizeof(expires));
	useragent_describe(s->user_agent, device, sizeof(device));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)s->id, "created", created,
	    "last_seen", seen, "expires", expires, "ip", s->ip, "device", device, "user_agent", s->user_agent,
	    "current", s->id == current_id);
}
