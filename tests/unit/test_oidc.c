/* Unit tests for src/social/oidc.c: ID-token verification against a JWKS, and the
 * attacks it must refuse (no network: the JWKS and discovery are preloaded). */
#include <sodium.h>
#include <cjose/cjose.h>

#include "test.h"
#include "../../src/social/oidc.c"

#define ISS "https://issuer.test"
#define AUD "client-1"
#define NOW 1800000000

static cjose_jwk_t *key, *other;

static char *
sign(cjose_jwk_t *k, const char *alg, const char *kid, json_t *claims)
{
	cjose_err e;
	cjose_header_t *h = cjose_header_new(&e);
	char *payload = json_dumps(claims, JSON_COMPACT), *out;
	const char *ser;
	cjose_jws_t *jws;

	cjose_header_set(h, CJOSE_HDR_ALG, alg, &e);
	if (kid)
		cjose_header_set(h, CJOSE_HDR_KID, kid, &e);
	jws = cjose_jws_sign(k, h, (const uint8_t *)payload, strlen(payload), &e);
	cjose_jws_export(jws, &ser, &e);
	out = xstrdup(ser);
	cjose_jws_release(jws);
	cjose_header_release(h);
	free(payload);
	json_decref(claims);
	return out;
}

static json_t *
good_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "iss", ISS, "aud", AUD, "sub", "u-1", "exp",
	    NOW + 300, "iat", NOW - 5, "nonce", "n0nce");
}

static int
verify(struct oidc *o, const char *tok)
{
	json_t *claims = NULL;
	char err[256];
	int rc = oidc_verify(o, tok, AUD, "n0nce", NOW, 1, &claims, err, sizeof(err));

	json_decref(claims);
	return rc;
}

/* The error of a refused token: it must be valid UTF-8 (it reaches a JSON answer). */
static int
refused_err_ok(struct oidc *o, const char *tok)
{
	json_t *claims = NULL;
	char err[256] = "";
	int rc = oidc_verify(o, tok, AUD, "n0nce", NOW, 1, &claims, err, sizeof(err));

	json_decref(claims);
	return rc == -1 && err[0] && utf8_valid(err, strlen(err));
}

/* base64url of a string, for hand-made tokens */
static void
b64(const char *s, char *out, size_t outsz)
{
	sodium_bin2base64(out, outsz, (const unsigned char *)s, strlen(s),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
main(void)
{
	cjose_err e;
	struct oidc *o;
	char *pub, *tok;
	json_t *jwks, *c;

	if (sodium_init() < 0)
		return 1;
	key = cjose_jwk_create_RSA_random(2048, NULL, 0, &e);
	other = cjose_jwk_create_RSA_random(2048, NULL, 0, &e);
	cjose_jwk_set_kid(key, "k1", 2, &e);
	cjose_jwk_set_kid(other, "k1", 2, &e); /* same kid, other key: a forgery */
	pub = cjose_jwk_to_json(key, false, &e);
	jwks = json_pack("{s:[o]}", "keys", json_loads(pub, 0, NULL));

	o = oidc_new(ISS);
	o->meta = json_pack("{s:s, s:s, s:s, s:s}", "issuer", ISS, "authorization_endpoint", ISS "/auth",
	    "token_endpoint", ISS "/token", "jwks_uri", "http://127.0.0.1:1/jwks"); /* refetch fails fast */
	o->meta_at = now_unix();
	o->jwks = jwks;
	o->jwks_at = now_unix();

	tok = sign(key, "RS256", "k1", good_claims());
	CHECK(verify(o, tok) == 0);
	free(tok);
	/* wrong signature: same kid, another key */
	tok = sign(other, "RS256", "k1", good_claims());
	CHECK(verify(o, tok) == -1);
	free(tok);
	/* unknown kid */
	tok = sign(key, "RS256", "k2", good_claims());
	CHECK(verify(o, tok) == -1);
	free(tok);
	/* wrong issuer, audience, expired, future iat, nonce */
	c = good_claims();
	json_object_set_new(c, "iss", json_string("https://evil.test"));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	c = good_claims();
	json_object_set_new(c, "aud", json_string("client-2"));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s, s]", AUD, "client-2"));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok); /* several aud, no azp */
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s, s]", AUD, "client-2"));
	json_object_set_new(c, "azp", json_string(AUD));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == 0);
	free(tok);
	c = good_claims();
	json_object_set_new(c, "exp", json_integer(NOW - 120));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	c = good_claims();
	json_object_set_new(c, "iat", json_integer(NOW + 600));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	c = good_claims();
	json_object_set_new(c, "nonce", json_string("other"));
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	c = good_claims();
	json_object_del(c, "nonce");
	tok = sign(key, "RS256", "k1", c);
	CHECK(verify(o, tok) == -1);
	free(tok);
	/* HS256 "signed" with the public key's JSON: algorithm confusion */
	{
		cjose_jwk_t *oct = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &e);
		cjose_jwk_set_kid(oct, "k1", 2, &e);
		tok = sign(oct, "HS256", "k1", good_claims());
		CHECK(verify(o, tok) == -1);
		free(tok);
		cjose_jwk_release(oct);
	}
	/* alg none, by hand */
	{
		char h[128], p[512], t[700];
		json_t *gc = good_claims();
		char *claims = json_dumps(gc, JSON_COMPACT);

		b64("{\"alg\":\"none\",\"kid\":\"k1\"}", h, sizeof(h));
		b64(claims, p, sizeof(p));
		snprintf(t, sizeof(t), "%s.%s.", h, p);
		CHECK(verify(o, t) == -1);
		free(claims);
		json_decref(gc);
	}
	CHECK(verify(o, "not.a.token") == -1);
	CHECK(!jws_shape_ok("a.b.c")); /* length 1 mod 4: cjose would abort */
	CHECK(!jws_shape_ok("abcd.abcd"));
	CHECK(!jws_shape_ok("abcd.abcd.ab!d"));
	CHECK(!jws_shape_ok("abcd..abcd"));
	CHECK(jws_shape_ok("abcd.abcde_.ab-d"));
	CHECK(verify(o, "") == -1);
	CHECK(verify(o, NULL) == -1);
	/* a kid the "%.40s" of an error message would have cut inside a character */
	{
		static const char *const kids[] = {
			"k\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			"\xa9",
			"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
			"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82"
			"\xac",
		};
		for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
			tok = sign(key, "RS256", kids[i], good_claims());
			CHECK(refused_err_ok(o, tok));
			free(tok);
		}
	}
	oidc_free(o);
	free(pub);
	cjose_jwk_release(key);
	cjose_jwk_release(other);
	return test_summary("test_oidc");
}
