/*
 * github — GitHub as a plain OAuth2 provider: the numeric user id is the
 * subject, the login name is kept as extra data, and the email is the
 * primary address and only when GitHub says it is verified.  Must never log
 * the access token; keeps GitHub's text only through the profile_* helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "social/oauth2.h"
#include "social/provider.h"

static int
configure(struct social_provider *p, const struct config *cfg)
{
	if (!cfg->github_client_id[0])
		return 0;
	p->client_id = cfg->github_client_id;
	p->client_secret = cfg->github_client_secret;
	p->authorize_url = cfg->github_authorize_url;
	p->token_url = cfg->github_token_url;
	p->api_url = cfg->github_api_url;
	return 1;
}

static int
exchange(const struct social_provider *p, const struct config *cfg, json_t *tok, const char *nonce,
    struct social_profile *out, char *err, size_t errsz)
{
	const char *access = json_string_value(json_object_get(tok, "access_token"));
	char url[1100];
	json_t *user, *emails, *e;
	size_t i;
	const char *login;

	(void)nonce;
	snprintf(url, sizeof(url), "%s/user", p->api_url);
	if ((user = oauth2_api_get(p, cfg, url, access, err, errsz)) == NULL)
		return -1;
	if (!json_is_integer(json_object_get(user, "id"))) {
		snprintf(err, errsz, "GitHub sent no user id");
		json_decref(user);
		return -1;
	}
	snprintf(out->uid, sizeof(out->uid), "%lld",
	    (long long)json_integer_value(json_object_get(user, "id")));
	profile_split_name(json_string_value(json_object_get(user, "name")), out);
	login = json_string_value(json_object_get(user, "login"));
	{
		json_t *x = json_pack("{s:s?}", "login",
		    login && strlen(login) < 256 && social_text_ok(login) ? login : NULL);
		char *s = json_dumps(x, JSON_COMPACT);
		if (s && strlen(s) < sizeof(out->extra))
			strlcpy_ok(out->extra, s, sizeof(out->extra));
		free(s);
		json_decref(x);
	}
	json_decref(user);
	/* the primary address, and only when GitHub says it is verified */
	snprintf(url, sizeof(url), "%s/user/emails", p->api_url);
	if ((emails = oauth2_api_get(p, cfg, url, access, err, errsz)) == NULL)
		return -1;
	json_array_foreach (emails, i, e)
		if (json_is_true(json_object_get(e, "primary")) &&
		    json_is_true(json_object_get(e, "verified")))
			profile_set_email(out, json_string_value(json_object_get(e, "email")), true);
	json_decref(emails);
	return 0;
}

const struct social_provider_ops social_github_ops = {
	.kind = "github",
	.name = "github",
	.label = "GitHub",
	.configure = configure,
	.scope = "read:user user:email",
	.exchange = exchange,
};
