/*
 * facebook — Facebook as a plain OAuth2 provider: the Graph API's /me gives
 * the id (the subject), the name and an email that Facebook does not vouch
 * for, so it is never taken as verified.  Must never log the access token;
 * keeps Facebook's text only through the profile_* helpers.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "social/oauth2.h"
#include "social/provider.h"

static int
configure(struct social_provider *p, const struct config *cfg)
{
	if (!cfg->facebook_client_id[0])
		return 0;
	p->client_id = cfg->facebook_client_id;
	p->client_secret = cfg->facebook_client_secret;
	p->authorize_url = cfg->facebook_authorize_url;
	p->token_url = cfg->facebook_token_url;
	p->api_url = cfg->facebook_graph_url;
	return 1;
}

static int
exchange(const struct social_provider *p, const struct config *cfg, json_t *tok, const char *nonce,
    struct social_profile *out, char *err, size_t errsz)
{
	char url[1200];
	json_t *me;
	const char *id;

	(void)nonce;
	snprintf(url, sizeof(url), "%s/me?fields=id,name,email", p->api_url);
	if ((me = oauth2_api_get(p, cfg, url, json_string_value(json_object_get(tok, "access_token")), err,
	         errsz)) == NULL)
		return -1;
	if ((id = json_string_value(json_object_get(me, "id"))) == NULL || !*id || strlen(id) > 200) {
		snprintf(err, errsz, "Facebook sent no user id");
		json_decref(me);
		return -1;
	}
	profile_set_uid(out, id);
	profile_split_name(json_string_value(json_object_get(me, "name")), out);
	/* Facebook does not say whether the address was confirmed: never "verified" */
	profile_set_email(out, json_string_value(json_object_get(me, "email")), false);
	json_decref(me);
	return 0;
}

const struct social_provider_ops social_facebook_ops = {
	.kind = "facebook",
	.name = "facebook",
	.label = "Facebook",
	.configure = configure,
	.scope = "email public_profile",
	.exchange = exchange,
};
