/*
 * mfa — see mfa.h.
 */
#include "auth/mfa.h"

#include <string.h>

#include <sodium.h>

#include "auth/webauthn.h"
#include "config.h"
#include "util.h"

static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

bool
mfa_policy_covers(const struct config *cfg, const struct store_user *u)
{
	switch (cfg->mfa_required) {
	case MFA_REQUIRED_ALL:
		return true;
	case MFA_REQUIRED_STAFF:
		return u->is_staff || u->is_superuser;
	default:
		return false;
	}
}

bool
mfa_setup_required(const struct config *cfg, const struct store_user *u)
{
	return mfa_policy_covers(cfg, u) && !u->mfa_enabled;
}

static int
key_valid(const char *v, size_t n)
{
	if (v == NULL || n != MFA_KEY_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9')))
			return 0;
	return 1;
}

int
mfa_pending_begin(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    const char *method, const char *next, struct auth_cookies *out)
{
	struct store_mfa_pending p = { 0 };
	char key[MFA_KEY_LEN + 1];
	int ret = -1;

	if (out->n >= AUTH_MAX_COOKIES)
		return -1;
	random_chars(key, MFA_KEY_LEN, key_chars);
	sha256_hex(key, MFA_KEY_LEN, p.key_hash);
	p.user_id = u->id;
	memcpy(p.auth_hash, u->auth_hash, sizeof(p.auth_hash));
	strlcpy_ok(p.method, method, sizeof(p.method));
	strlcpy_ok(p.next, next ? next : "", sizeof(p.next));
	p.created_at = in->now;
	p.expires_at = in->now + env->cfg->mfa_pending_ttl;
	if (store_mfa_pending_create(env->store, &p) != 0)
		goto done;
	if (auth_cookie_add(out, MFA_COOKIE, key, env->cfg->mfa_pending_ttl, true, in->https) != 0)
		goto done;
	ret = 0;
done:
	sodium_memzero(key, sizeof(key));
	return ret;
}

int
mfa_pending_find(const struct auth_env *env, const struct auth_in *in, struct store_mfa_pending *p,
    struct store_user *u)
{
	char kh[65];
	int rc;

	if (!key_valid(in->mfa_key, in->mfa_key_len))
		return 0;
	sha256_hex(in->mfa_key, in->mfa_key_len, kh);
	rc = store_mfa_pending_get(env->store, kh, p);
	if (rc != 0)
		return rc == STORE_NOTFOUND ? 0 : -1;
	rc = store_user_by_id(env->store, p->user_id, u);
	if (rc != 0 && rc != STORE_NOTFOUND)
		return -1;
	if (rc == STORE_NOTFOUND || p->expires_at <= in->now || !u->is_active ||
	    sodium_memcmp(p->auth_hash, u->auth_hash, STORE_AUTHHASH_LEN) != 0) {
		store_mfa_pending_delete(env->store, kh);
		memset(p, 0, sizeof(*p));
		memset(u, 0, sizeof(*u));
		return 0;
	}
	sodium_memzero(u->password, sizeof(u->password));
	return 1;
}

int
mfa_pending_take(const struct auth_env *env, const struct store_mfa_pending *p)
{
	struct store_mfa_pending taken;
	int rc = store_mfa_pending_take(env->store, p->key_hash, &taken);

	if (rc == 0)
		return 1;
	return rc == STORE_NOTFOUND ? 0 : -1;
}

int
mfa_pending_clear_cookie(const struct auth_env *env, struct auth_cookies *out)
{
	return auth_cookie_add(out, MFA_COOKIE, "", -1, true, env->cfg->secure_cookies);
}

int
mfa_browser_hash(const struct auth_in *in, char bind_hash[65])
{
	if (!key_valid(in->passkey_key, in->passkey_key_len))
		return 0;
	sha256_hex(in->passkey_key, in->passkey_key_len, bind_hash);
	return 1;
}

int
mfa_browser_bind(const struct auth_env *env, const struct auth_in *in, char bind_hash[65],
    struct auth_cookies *out)
{
	char key[MFA_KEY_LEN + 1];
	int rc;

	(void)env;
	if (mfa_browser_hash(in, bind_hash))
		return 0;
	random_chars(key, MFA_KEY_LEN, key_chars);
	sha256_hex(key, MFA_KEY_LEN, bind_hash);
	rc = auth_cookie_add(out, PASSKEY_COOKIE, key, MFA_CHALLENGE_TTL, true, in->https);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
mfa_challenge_new(const struct auth_env *env, const char *purpose, int64_t user_id, const char *bind_hash,
    int64_t now, char *out, size_t outsz)
{
	struct store_challenge c = { 0 };

	webauthn_new_challenge(out, outsz);
	sha256_hex(out, strlen(out), c.challenge_hash);
	strlcpy_ok(c.purpose, purpose, sizeof(c.purpose));
	c.user_id = user_id;
	strlcpy_ok(c.bind_hash, bind_hash, sizeof(c.bind_hash));
	c.expires_at = now + MFA_CHALLENGE_TTL;
	return store_challenge_create(env->store, &c, MFA_CHALLENGES_BOUND) == 0 ? 0 : -1;
}

int
mfa_challenge_take(const struct auth_env *env, const char *challenge, const char *purpose,
    const char *bind_hash, int64_t user_id, int64_t now)
{
	struct store_challenge c;
	char h[65];
	int rc;

	if (challenge == NULL || challenge[0] == '\0' || strlen(challenge) >= MFA_CHALLENGE_MAX)
		return 0;
	sha256_hex(challenge, strlen(challenge), h);
	rc = store_challenge_take(env->store, h, &c);
	if (rc != 0)
		return rc == STORE_NOTFOUND ? 0 : -1;
	if (c.expires_at <= now || strcmp(c.purpose, purpose) != 0 ||
	    sodium_memcmp(c.bind_hash, bind_hash, STORE_KEYHASH_LEN) != 0 ||
	    (user_id != 0 && c.user_id != user_id))
		return 0;
	return 1;
}

void
mfa_user_handle(const struct config *cfg, int64_t user_id, char *out, size_t outsz)
{
	unsigned char h[32], key[crypto_generichash_KEYBYTES];
	char msg[64];
	int n;

	/* a key of its own, derived from the server secret, for this one use */
	crypto_generichash(key, sizeof(key), (const unsigned char *)cfg->secret_key, strlen(cfg->secret_key),
	    (const unsigned char *)"gatehouse webauthn user handle", 30);
	n = snprintf(msg, sizeof(msg), "user:%lld", (long long)user_id);
	crypto_generichash(h, sizeof(h), (const unsigned char *)msg, (size_t)n, key, sizeof(key));
	sodium_bin2base64(out, outsz, h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof(key));
}
