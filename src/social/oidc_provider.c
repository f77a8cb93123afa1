/*
 * oidc_provider — any OpenID Connect issuer as a provider (Google, and those
 * named in oidc_providers), on top of oidc.c: endpoints from the discovery
 * document (a URL, nothing else, may go into a Location header), the nonce
 * sent and checked, client_secret_basic at the token endpoint, the subject
 * and claims from the verified ID token, and the userinfo endpoint only for
 * the same subject.  Must never log the ID or access token; keeps the
 * issuer's text only through the profile_* helpers.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "social/oauth2.h"
#include "social/oidc.h"
#include "social/provider.h"

static int
configure_google(struct social_provider *p, const struct config *cfg)
{
	if (!cfg->google_client_id[0])
		return 0;
	p->client_id = cfg->google_client_id;
	p->client_secret = cfg->google_client_secret;
	p->oidc = oidc_new(cfg->google_issuer);
	return 1;
}

static int
prepare(const struct social_provider *p, long timeout, char *err, size_t errsz)
{
	return oidc_discover(p->oidc, timeout, err, errsz);
}

static int
authorize_endpoint(const struct social_provider *p, char *out, size_t outsz, char *err, size_t errsz)
{
	/* the provider's own text goes into a Location header: a URL, nothing else */
	if (oidc_endpoint(p->oidc, "authorization_endpoint", out, outsz) != 0 ||
	    strncmp(out, "http", 4) != 0 || !social_ascii_word(out)) {
		snprintf(err, errsz, "%s is not reachable", p->label);
		return -1;
	}
	return 0;
}

static int
token_endpoint(const struct social_provider *p, long timeout, char *out, size_t outsz, char *err,
    size_t errsz)
{
	if (oidc_discover(p->oidc, timeout, err, errsz) != 0 ||
	    oidc_endpoint(p->oidc, "token_endpoint", out, outsz) != 0) {
		snprintf(err, errsz, "Could not reach %s.", p->label);
		return -1;
	}
	return 0;
}

static int
exchange(const struct social_provider *p, const struct config *cfg, json_t *tok, const char *nonce,
    struct social_profile *out, char *err, size_t errsz)
{
	json_t *claims = NULL, *info = NULL, *src;
	const char *sub, *email;
	char url[1024];
	int ret = -1;

	if (oidc_verify(p->oidc, json_string_value(json_object_get(tok, "id_token")), p->client_id, nonce,
	        now_unix(), cfg->social_timeout, &claims, err, errsz) != 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "Invalid ID token from %s (%s).", p->label, why);
		return -1;
	}
	sub = json_string_value(json_object_get(claims, "sub"));
	profile_set_uid(out, sub);
	src = claims;
	/* some providers keep email and names for the userinfo endpoint */
	if (!json_is_string(json_object_get(claims, "email")) &&
	    oidc_endpoint(p->oidc, "userinfo_endpoint", url, sizeof(url)) == 0 &&
	    (info = oauth2_api_get(p, cfg, url, json_string_value(json_object_get(tok, "access_token")), err,
	         errsz)) != NULL) {
		const char *isub = json_string_value(json_object_get(info, "sub"));
		if (isub == NULL || strcmp(isub, sub) != 0) {
			snprintf(err, errsz, "%s userinfo is for another subject", p->label);
			goto done;
		}
		src = info;
	}
	email = json_string_value(json_object_get(src, "email"));
	profile_set_email(out, email, json_is_true(json_object_get(src, "email_verified")));
	if (json_is_string(json_object_get(src, "given_name")) ||
	    json_is_string(json_object_get(src, "family_name")))
		profile_set_names(json_string_value(json_object_get(src, "given_name")),
		    json_string_value(json_object_get(src, "family_name")), out);
	else
		profile_split_name(json_string_value(json_object_get(src, "name")), out);
	ret = 0;
done:
	json_decref(info);
	json_decref(claims);
	return ret;
}

static void
release(struct social_provider *p)
{
	oidc_free(p->oidc);
	p->oidc = NULL;
}

/* an issuer named in oidc_providers: social_new gives it its client and oidc */
const struct social_provider_ops social_oidc_ops = {
	.kind = "oidc",
	.scope = "openid email profile",
	.nonce = true,
	.client_secret_basic = true,
	.prepare = prepare,
	.authorize_endpoint = authorize_endpoint,
	.token_endpoint = token_endpoint,
	.exchange = exchange,
	.release = release,
};

const struct social_provider_ops social_google_ops = {
	.kind = "google",
	.name = "google-oauth2",
	.label = "Google",
	.configure = configure_google,
	.scope = "openid email profile",
	.nonce = true,
	.client_secret_basic = true,
	.prepare = prepare,
	.authorize_endpoint = authorize_endpoint,
	.token_endpoint = token_endpoint,
	.exchange = exchange,
	.release = release,
};
