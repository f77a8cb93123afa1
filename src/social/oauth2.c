/*
 * oauth2 — see oauth2.h.  The one place that builds an authorize URL, posts a
 * code to a token endpoint and calls a provider's API; what differs between
 * providers comes from their ops (provider.h), never from a switch here.
 */
#include "social/oauth2.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "log.h"
#include "social/fetch.h"
#include "social/provider.h"

int
social_needs_prepare(const struct social_provider *p)
{
	return p->ops->prepare != NULL;
}

int
social_prepare(const struct social_provider *p, long timeout, char *err, size_t errsz)
{
	return p->ops->prepare ? p->ops->prepare(p, timeout, err, errsz) : 0;
}

static void
redirect_uri(const struct social_provider *p, const struct config *cfg, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/auth/%s/callback", cfg->public_origin, p->name);
}

int
social_authorize_url(const struct social_provider *p, const struct config *cfg, const char *state,
    const char *challenge, const char *nonce, struct buf *out, char *err, size_t errsz)
{
	char endpoint[1024], redirect[600];

	if (p->ops->authorize_endpoint) {
		if (p->ops->authorize_endpoint(p, endpoint, sizeof(endpoint), err, errsz) != 0)
			return -1;
	} else
		strlcpy_ok(endpoint, p->authorize_url, sizeof(endpoint));
	redirect_uri(p, cfg, redirect, sizeof(redirect));
	buf_puts(out, endpoint);
	buf_puts(out, strchr(endpoint, '?') ? "&" : "?");
	buf_puts(out, "response_type=code&client_id=");
	fetch_urlencode(out, p->client_id);
	buf_puts(out, "&redirect_uri=");
	fetch_urlencode(out, redirect);
	buf_puts(out, "&scope=");
	fetch_urlencode(out, p->ops->scope);
	buf_puts(out, "&state=");
	fetch_urlencode(out, state);
	buf_puts(out, "&code_challenge=");
	fetch_urlencode(out, challenge);
	buf_puts(out, "&code_challenge_method=S256");
	if (p->ops->nonce) {
		buf_puts(out, "&nonce=");
		fetch_urlencode(out, nonce);
	}
	return 0;
}

/* POST the code to the token endpoint: the parsed answer, or NULL with err. */
static json_t *
token_request(const struct social_provider *p, const struct config *cfg, const char *endpoint,
    const char *code, const char *verifier, char *err, size_t errsz)
{
	struct buf body = { 0 }, user = { 0 }, pass = { 0 };
	char redirect[600];
	struct fetch f = { .method = "POST",
		.url = endpoint,
		.timeout = cfg->social_timeout,
		.headers = { "Accept: application/json", "Content-Type: application/x-www-form-urlencoded",
		    NULL } };
	json_t *j;
	long http_code;

	redirect_uri(p, cfg, redirect, sizeof(redirect));
	buf_puts(&body, "grant_type=authorization_code&code=");
	fetch_urlencode(&body, code);
	buf_puts(&body, "&redirect_uri=");
	fetch_urlencode(&body, redirect);
	buf_puts(&body, "&code_verifier=");
	fetch_urlencode(&body, verifier);
	if (p->ops->client_secret_basic) {
		/* client_secret_basic: RFC 6749 2.3.1 form-encodes both before Basic */
		fetch_urlencode(&user, p->client_id);
		fetch_urlencode(&pass, p->client_secret);
		f.basic_user = user.data;
		f.basic_password = pass.data;
	} else {
		buf_puts(&body, "&client_id=");
		fetch_urlencode(&body, p->client_id);
		buf_puts(&body, "&client_secret=");
		fetch_urlencode(&body, p->client_secret);
	}
	f.body = body.data;
	j = fetch_json(&f, &http_code, 1, err, errsz);
	sodium_memzero(body.data, body.len);
	buf_free(&body);
	if (pass.data)
		sodium_memzero(pass.data, pass.len);
	buf_free(&user);
	buf_free(&pass);
	if (j == NULL) {
		log_msg(LOG_WARN, "social: %s token endpoint: %s", p->name, err);
		snprintf(err, errsz, "Could not reach %s. Please try again later.", p->label);
		return NULL;
	}
	if (http_code >= 500) {
		snprintf(err, errsz, "%s answered %ld", p->label, http_code);
		json_decref(j);
		return NULL;
	}
	if (!json_is_string(json_object_get(j, "access_token")) ||
	    !social_ascii_word(json_string_value(json_object_get(j, "access_token")))) {
		snprintf(err, errsz, "%s refused the code", p->label);
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
oauth2_api_get(const struct social_provider *p, const struct config *cfg, const char *url, const char *token,
    char *err, size_t errsz)
{
	char auth[1200];
	struct fetch f = { .method = "GET",
		.url = url,
		.timeout = cfg->social_timeout,
		.headers = { "Accept: application/json", auth, NULL } };
	long http_code;
	json_t *j;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	j = fetch_json(&f, &http_code, 0, err, errsz);
	sodium_memzero(auth, sizeof(auth));
	if (j == NULL) {
		log_msg(LOG_WARN, "social: %s API: %s", p->name, err);
		snprintf(err, errsz, "Could not reach %s. Please try again later.", p->label);
	}
	return j;
}

int
social_exchange(const struct social_provider *p, const struct config *cfg, const char *code,
    const char *verifier, const char *nonce, struct social_profile *out, char *err, size_t errsz)
{
	char endpoint[1024];
	json_t *tok, *at;
	int ret;

	memset(out, 0, sizeof(*out));
	if (p->ops->token_endpoint) {
		if (p->ops->token_endpoint(p, cfg->social_timeout, endpoint, sizeof(endpoint), err, errsz) !=
		    0)
			return -1;
	} else
		strlcpy_ok(endpoint, p->token_url, sizeof(endpoint));
	if ((tok = token_request(p, cfg, endpoint, code, verifier, err, errsz)) == NULL)
		return -1;
	ret = p->ops->exchange(p, cfg, tok, nonce, out, err, errsz);
	/* wipe the tokens before letting go */
	at = json_object_get(tok, "access_token");
	if (json_is_string(at))
		sodium_memzero((char *)json_string_value(at), json_string_length(at));
	json_decref(tok);
	return ret;
}
