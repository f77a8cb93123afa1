/*
 * token — see token.h.  Parsing follows DRF's TokenAuthentication (keyword
 * case-insensitive, exactly two parts); unknown, revoked, expired and
 * inactive all answer the same "Invalid token." so none can be told apart.
 */
#include "auth/token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth/caller.h"
#include "store/store.h"
#include "util.h"

#define TOUCH_INTERVAL 60

int
token_resolve(const struct auth_env *env, const struct auth_in *in, struct caller *c, char *detail,
    size_t detailsz)
{
	const char *h = in->authorization, *p, *key, *end;
	size_t klen;
	char kh[65];
	int64_t now;
	int rc;

	if (h == NULL)
		return 0;
	p = h;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "token", 5) != 0 || (p[5] != '\0' && p[5] != ' ' && p[5] != '\t'))
		return 0; /* another scheme: not ours (DRF returns None) */
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		snprintf(detail, detailsz, "Invalid token header. No credentials provided.");
		return -1;
	}
	key = p;
	end = key + strcspn(key, " \t");
	klen = (size_t)(end - key);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0') {
		snprintf(detail, detailsz, "Invalid token header. Token string should not contain spaces.");
		return -1;
	}
	if (!utf8_valid(key, klen)) {
		snprintf(detail, detailsz,
		    "Invalid token header. Token string should not contain invalid characters.");
		return -1;
	}
	snprintf(detail, detailsz, "Invalid token.");
	if (klen != TOKEN_KEY_LEN)
		return -1;
	sha256_hex(key, klen, kh);
	rc = store_token_get(env->store, kh, &c->token, &c->user);
	if (rc < 0)
		return -2;
	now = in->now;
	if (rc == STORE_NOTFOUND || (c->token.expires_at && c->token.expires_at <= now) ||
	    !c->user.is_active) {
		memset(&c->token, 0, sizeof(c->token));
		memset(&c->user, 0, sizeof(c->user));
		return -1;
	}
	if (now - c->token.last_used >= TOUCH_INTERVAL)
		store_token_touch(env->store, c->token.id, now);
	c->kind = AUTH_TOKEN;
	detail[0] = '\0';
	return 1;
}

int
token_create(struct store *st, int64_t user_id, const char *name, long days, char *key,
    struct store_token *out)
{
	struct store_token t = { 0 };
	unsigned char raw[TOKEN_KEY_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), key);
	sodium_memzero(raw, sizeof(raw));
	sha256_hex(key, TOKEN_KEY_LEN, t.key_hash);
	t.user_id = user_id;
	strlcpy_ok(t.name, name ? name : "", sizeof(t.name));
	t.created_at = now_unix();
	t.expires_at = days > 0 ? t.created_at + (int64_t)days * 86400 : 0;
	if (store_token_create(st, &t) != 0)
		return -1;
	if (out) {
		*out = t;
		memset(out->key_hash, 0, sizeof(out->key_hash));
	}
	return 0;
}

static json_t *
time_or_null(int64_t t)
{
	char s[32];

	if (t == 0)
		return json_null();
	iso8601(t, s, sizeof(s));
	return json_string(s);
}

json_t *
token_json(const struct store_token *t)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)t->id, "name", t->name, "created",
	    time_or_null(t->created_at), "last_used", time_or_null(t->last_used), "expires",
	    time_or_null(t->expires_at));
}
