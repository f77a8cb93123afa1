/*
 * session — see session.h.  Also owns the auth_cookies list of caller.h.
 */
#include "auth/session.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "auth/csrf.h"
#include "auth/caller.h"
#include "log.h"
#include "auth/useragent.h"
#include "util.h"

/* Django's session key alphabet: 32 of 36 characters is 165 bits. */
static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static int issue(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    struct caller *c, struct auth_cookies *out, bool login);

int
auth_cookie_add(struct auth_cookies *out, const char *name, const char *value, int64_t max_age,
    bool http_only, bool secure)
{
	struct auth_cookie *k;

	if (out->n >= AUTH_MAX_COOKIES || strlen(value) > AUTH_COOKIE_VALUE_MAX)
		return -1;
	k = &out->c[out->n++];
	k->name = name;
	strlcpy_ok(k->value, value, sizeof(k->value));
	k->max_age = max_age;
	k->http_only = http_only;
	k->secure = secure;
	return 0;
}

void
auth_cookies_wipe(struct auth_cookies *out)
{
	sodium_memzero(out, sizeof(*out));
}

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
	if (v == NULL || n != SESSION_KEY_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9')))
			return 0;
	return 1;
}

/* The hash of the presented sessionid, when it has a valid shape. */
static int
cookie_key_hash(const struct auth_in *in, char out[65])
{
	if (!key_valid(in->session_key, in->session_key_len))
		return 0;
	sha256_hex(in->session_key, in->session_key_len, out);
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
session_resolve(const struct auth_env *env, const struct auth_in *in, struct caller *c)
{
	const struct config *cfg = env->cfg;
	char kh[65];
	int64_t now = in->now;
	int rc;

	if (!cookie_key_hash(in, kh))
		return 0;
	rc = store_session_get(env->store, kh, &c->session, &c->user);
	if (rc != 0)
		return rc == STORE_NOTFOUND ? 0 : -1;
	if (c->session.expires_at <= now ||
	    (cfg->session_idle_timeout > 0 && c->session.last_seen + cfg->session_idle_timeout <= now) ||
	    sodium_memcmp(c->session.auth_hash, c->user.auth_hash, STORE_AUTHHASH_LEN) != 0 ||
	    !c->user.is_active) {
		/* dead for good: remove it so it cannot come back */
		store_session_delete(env->store, kh);
		memset(&c->session, 0, sizeof(c->session));
		memset(&c->user, 0, sizeof(c->user));
		return 0;
	}
	if (now - c->session.last_seen >= touch_interval(cfg))
		store_session_touch(env->store, c->session.id, now);
	c->kind = AUTH_SESSION;
	return 1;
}

int
session_login(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    struct caller *c, struct auth_cookies *out)
{
	return issue(env, in, u, c, out, true);
}

int
session_rotate(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    struct caller *c, struct auth_cookies *out)
{
	return issue(env, in, u, c, out, false);
}

/* A new key for u (the one the browser came with is deleted first). */
static int
issue(const struct auth_env *env, const struct auth_in *in, const struct store_user *u, struct caller *c,
    struct auth_cookies *out, bool login)
{
	const struct config *cfg = env->cfg;
	struct store_session s = { 0 };
	char key[SESSION_KEY_LEN + 1], old[65], csrf[CSRF_SECRET_LEN + 1];
	char ua_cut[256];
	int64_t now = in->now;
	int ret = -1;

	if (out->n + 2 > AUTH_MAX_COOKIES)
		return -1;
	/* no fixation: whatever session the browser came with ends here */
	if (cookie_key_hash(in, old))
		store_session_delete(env->store, old);
	random_chars(key, SESSION_KEY_LEN, key_chars);
	sha256_hex(key, SESSION_KEY_LEN, s.key_hash);
	s.user_id = u->id;
	memcpy(s.auth_hash, u->auth_hash, sizeof(s.auth_hash));
	s.created_at = s.last_seen = now;
	s.reauth_at = now; /* the password (or a provider) was just checked */
	s.expires_at = now + cfg->session_max_age;
	strlcpy_ok(ua_cut, in->user_agent ? in->user_agent : "", sizeof(ua_cut));
	if (!utf8_valid(ua_cut, strlen(ua_cut)))
		ua_cut[0] = '\0';
	if (store_session_create(env->store, &s, in->ip ? in->ip : "", ua_cut) != 0)
		goto done;
	if (login)
		store_user_set_last_login(env->store, u->id, now);

	auth_cookie_add(out, "sessionid", key, cfg->session_max_age, true, cfg->secure_cookies);
	csrf_new_secret(csrf);
	csrf_set_cookie(env, csrf, out);
	c->kind = AUTH_SESSION;
	c->session = s;
	c->user = *u;
	if (login)
		c->user.last_login = now;
	ret = 0;
done:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(csrf, sizeof(csrf));
	return ret;
}

int
session_logout(const struct auth_env *env, const struct auth_in *in, struct caller *c,
    struct auth_cookies *out)
{
	char kh[65];
	int ret = 0;

	if (cookie_key_hash(in, kh))
		ret = store_session_delete(env->store, kh) < 0 ? -1 : 0;
	if (auth_cookie_add(out, "sessionid", "", -1, false, env->cfg->secure_cookies) != 0)
		ret = -1;
	c->kind = AUTH_NONE;
	return ret;
}

int
session_reauth_fresh(const struct auth_env *env, const struct caller *c, int64_t now)
{
	int64_t at = c->session.reauth_at;

	return c->kind == AUTH_SESSION && at > 0 && now - at < env->cfg->reauth_max_age;
}

int
session_mark_reauth(const struct auth_env *env, struct caller *c, int64_t now)
{
	if (c->kind != AUTH_SESSION || store_session_set_reauth(env->store, c->session.id, now) != 0)
		return -1;
	c->session.reauth_at = now;
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
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)s->id, "created",
	    created, "last_seen", seen, "expires", expires, "ip", s->ip, "device", device, "user_agent",
	    s->user_agent, "current", s->id == current_id);
}
