/*
 * oidc — see oidc.h.  The only module that includes cjose.
 */
#include "social/oidc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <sodium.h>

#include "social/fetch.h"
#include "log.h"
#include "util.h"

#define DISCOVERY_TTL    3600
#define JWKS_MIN_REFETCH 60
#define LEEWAY           60

struct oidc {
	char *issuer;
	pthread_mutex_t lock; /* guards everything below */
	json_t *meta;         /* discovery document */
	int64_t meta_at;
	json_t *jwks;
	int64_t jwks_at;
};

struct oidc *
oidc_new(const char *issuer)
{
	struct oidc *o = xcalloc(1, sizeof(*o));

	o->issuer = xstrdup(issuer); /* compared exactly with iss: keep it as configured */
	pthread_mutex_init(&o->lock, NULL);
	return o;
}

void
oidc_free(struct oidc *o)
{
	if (o == NULL)
		return;
	json_decref(o->meta);
	json_decref(o->jwks);
	pthread_mutex_destroy(&o->lock);
	free(o->issuer);
	free(o);
}

static json_t *
get_json(const char *url, long timeout, char *err, size_t errsz)
{
	struct fetch f = { .method = "GET",
		.url = url,
		.timeout = timeout,
		.headers = { "Accept: application/json", NULL } };
	long http_code;

	return fetch_json(&f, &http_code, 0, err, errsz);
}

int
oidc_discover(struct oidc *o, long timeout, char *err, size_t errsz)
{
	struct buf url = { 0 };
	json_t *meta;
	const char *iss;
	int64_t now = now_unix();
	size_t n = strlen(o->issuer);

	pthread_mutex_lock(&o->lock);
	if (o->meta && now - o->meta_at < DISCOVERY_TTL) {
		pthread_mutex_unlock(&o->lock);
		return 0;
	}
	pthread_mutex_unlock(&o->lock);

	buf_printf(&url, "%.*s/.well-known/openid-configuration",
	    (int)(n && o->issuer[n - 1] == '/' ? n - 1 : n), o->issuer);
	meta = get_json(url.data, timeout, err, errsz);
	buf_free(&url);
	if (meta == NULL)
		return -1;
	iss = json_string_value(json_object_get(meta, "issuer"));
	if (iss == NULL || strcmp(iss, o->issuer) != 0 ||
	    !json_is_string(json_object_get(meta, "authorization_endpoint")) ||
	    !json_is_string(json_object_get(meta, "token_endpoint")) ||
	    !json_is_string(json_object_get(meta, "jwks_uri"))) {
		snprintf(err, errsz, "discovery document does not match issuer %s", o->issuer);
		json_decref(meta);
		return -1;
	}
	pthread_mutex_lock(&o->lock);
	json_decref(o->meta);
	o->meta = meta;
	o->meta_at = now;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

int
oidc_endpoint(struct oidc *o, const char *name, char *out, size_t outsz)
{
	const char *v;
	int ret = -1;

	pthread_mutex_lock(&o->lock);
	if (o->meta && (v = json_string_value(json_object_get(o->meta, name))) != NULL)
		ret = strlcpy_ok(out, v, outsz);
	pthread_mutex_unlock(&o->lock);
	return ret;
}

/* The current JWKS (a new reference), fetching it when missing or when
 * refresh is asked and the last fetch is a minute old. */
static json_t *
jwks_get(struct oidc *o, int refresh, long timeout, char *err, size_t errsz)
{
	char uri[1024];
	json_t *k = NULL;
	int64_t now = now_unix();

	pthread_mutex_lock(&o->lock);
	if (o->jwks && (!refresh || now - o->jwks_at < JWKS_MIN_REFETCH))
		k = json_incref(o->jwks);
	pthread_mutex_unlock(&o->lock);
	if (k)
		return k;
	if (oidc_endpoint(o, "jwks_uri", uri, sizeof(uri)) != 0) {
		snprintf(err, errsz, "no jwks_uri");
		return NULL;
	}
	if ((k = get_json(uri, timeout, err, errsz)) == NULL)
		return NULL;
	if (!json_is_array(json_object_get(k, "keys"))) {
		snprintf(err, errsz, "JWKS without keys");
		json_decref(k);
		return NULL;
	}
	pthread_mutex_lock(&o->lock);
	json_decref(o->jwks);
	o->jwks = json_incref(k);
	o->jwks_at = now;
	pthread_mutex_unlock(&o->lock);
	return k;
}

/* A short printable-ASCII copy of provider text for an error message: at
 * most max bytes of in, anything else as '?', so the message stays valid
 * UTF-8 whatever the provider sent (a %.Ns cut could split a character). */
static void
ascii_copy(char *out, size_t outsz, const char *in, size_t max)
{
	size_t i = 0;

	for (; in && in[i] && i < max && i + 1 < outsz; i++)
		out[i] = (unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* The key family an algorithm needs: "RSA" or "EC"; NULL for anything we refuse. */
static const char *
alg_kty(const char *alg)
{
	static const char *rsa[] = { "RS256", "RS384", "RS512", "PS256", "PS384", "PS512" };
	static const char *ec[] = { "ES256", "ES384", "ES512" };

	if (alg == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
		if (strcmp(alg, rsa[i]) == 0)
			return "RSA";
	for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++)
		if (strcmp(alg, ec[i]) == 0)
			return "EC";
	return NULL;
}

/* The JWK in keys for kid (or the only suitable one when kid is NULL). */
static json_t *
find_key(json_t *jwks, const char *kid, const char *kty, const char *alg)
{
	json_t *keys = json_object_get(jwks, "keys"), *k, *found = NULL;
	size_t i;
	int matches = 0;

	json_array_foreach (keys, i, k) {
		const char *kkid = json_string_value(json_object_get(k, "kid"));
		const char *kkty = json_string_value(json_object_get(k, "kty"));
		const char *use = json_string_value(json_object_get(k, "use"));
		const char *kalg = json_string_value(json_object_get(k, "alg"));

		if (kkty == NULL || strcmp(kkty, kty) != 0 || (use && strcmp(use, "sig") != 0) ||
		    (kalg && strcmp(kalg, alg) != 0))
			continue;
		if (kid ? (kkid && strcmp(kid, kkid) == 0) : 1) {
			found = k;
			matches++;
		}
	}
	return matches == 1 ? found : NULL;
}

int
oidc_check_claims(json_t *claims, const char *issuer, const char *client_id, const char *nonce, int64_t now,
    char *err, size_t errsz)
{
	json_t *aud = json_object_get(claims, "aud"), *exp = json_object_get(claims, "exp"),
	       *iat = json_object_get(claims, "iat"), *v;
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *tnonce = json_string_value(json_object_get(claims, "nonce"));
	const char *azp = json_string_value(json_object_get(claims, "azp"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	size_t i;
	int aud_ok = 0;

	if (!json_is_object(claims)) {
		snprintf(err, errsz, "claims are not an object");
		return -1;
	}
	if (iss == NULL || strcmp(iss, issuer) != 0) {
		snprintf(err, errsz, "wrong issuer");
		return -1;
	}
	if (json_is_string(aud))
		aud_ok = strcmp(json_string_value(aud), client_id) == 0;
	else if (json_is_array(aud)) {
		json_array_foreach (aud, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), client_id) == 0)
				aud_ok = 1;
		if (json_array_size(aud) > 1 && (azp == NULL || strcmp(azp, client_id) != 0))
			aud_ok = 0;
	}
	if (!aud_ok) {
		snprintf(err, errsz, "wrong audience");
		return -1;
	}
	if (!json_is_number(exp) || json_number_value(exp) + LEEWAY < (double)now) {
		snprintf(err, errsz, "expired");
		return -1;
	}
	if (!json_is_number(iat) || json_number_value(iat) - LEEWAY > (double)now) {
		snprintf(err, errsz, "issued in the future");
		return -1;
	}
	if (nonce == NULL || tnonce == NULL || strlen(tnonce) != strlen(nonce) ||
	    sodium_memcmp(tnonce, nonce, strlen(nonce)) != 0) {
		snprintf(err, errsz, "wrong nonce");
		return -1;
	}
	if (sub == NULL || sub[0] == '\0' || strlen(sub) > 255) {
		snprintf(err, errsz, "no subject");
		return -1;
	}
	return 0;
}

/* Three non-empty base64url segments of valid lengths: cjose 0.6 asserts
 * (aborting the process) on some malformed base64, so nothing else reaches it. */
static int
jws_shape_ok(const char *t)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int parts = 0;

	for (const char *p = t;; parts++) {
		size_t n = strspn(p, b64url);
		if (n == 0 || n % 4 == 1)
			return 0;
		p += n;
		if (*p == '\0')
			return parts == 2;
		if (*p != '.' || parts == 2)
			return 0;
		p++;
	}
}

int
oidc_verify(struct oidc *o, const char *id_token, const char *client_id, const char *nonce, int64_t now,
    long timeout, json_t **claims, char *err, size_t errsz)
{
	cjose_err cerr;
	cjose_jws_t *jws = NULL;
	cjose_jwk_t *jwk = NULL;
	json_t *jwks = NULL, *key, *c = NULL;
	const char *alg, *kid, *kty;
	char shown[48];
	uint8_t *plain = NULL;
	size_t plen = 0;
	json_error_t jerr;
	int ret = -1;

	*claims = NULL;
	if (id_token == NULL || strlen(id_token) > 16384 || !jws_shape_ok(id_token) ||
	    (jws = cjose_jws_import(id_token, strlen(id_token), &cerr)) == NULL) {
		snprintf(err, errsz, "malformed ID token");
		goto done;
	}
	alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &cerr);
	kid = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_KID, &cerr);
	if ((kty = alg_kty(alg)) == NULL) {
		ascii_copy(shown, sizeof(shown), alg ? alg : "(none)", 20);
		snprintf(err, errsz, "algorithm %s refused", shown);
		goto done;
	}
	if ((jwks = jwks_get(o, 0, timeout, err, errsz)) == NULL)
		goto done;
	if ((key = find_key(jwks, kid, kty, alg)) == NULL) {
		/* keys rotate: look once more, at most every minute */
		json_decref(jwks);
		if ((jwks = jwks_get(o, 1, timeout, err, errsz)) == NULL)
			goto done;
		if ((key = find_key(jwks, kid, kty, alg)) == NULL) {
			ascii_copy(shown, sizeof(shown), kid ? kid : "(none)", 40);
			snprintf(err, errsz, "no key for kid %s", shown);
			goto done;
		}
	}
	if ((jwk = cjose_jwk_import_json((cjose_header_t *)key, &cerr)) == NULL) {
		snprintf(err, errsz, "unusable key");
		goto done;
	}
	if (!cjose_jws_verify(jws, jwk, &cerr)) {
		snprintf(err, errsz, "bad signature");
		goto done;
	}
	if (!cjose_jws_get_plaintext(jws, &plain, &plen, &cerr) ||
	    (c = json_loadb((const char *)plain, plen, 0, &jerr)) == NULL) {
		snprintf(err, errsz, "claims are not JSON");
		goto done;
	}
	if (oidc_check_claims(c, o->issuer, client_id, nonce, now, err, errsz) != 0)
		goto done;
	*claims = c;
	c = NULL;
	ret = 0;
done:
	json_decref(c);
	json_decref(jwks);
	if (jwk)
		cjose_jwk_release(jwk);
	if (jws)
		cjose_jws_release(jws);
	return ret;
}
