/*
 * oauth2 — the OAuth2 client every provider shares (RFC 6749 with PKCE,
 * RFC 7636): the authorize URL, the code exchange at the token endpoint and
 * bearer GETs on a provider's API, all through fetch.c.  It implements
 * social_prepare, social_authorize_url and social_exchange (social.h) by
 * calling the provider's ops.  Blocking: worker threads only.  Must never log
 * or show a code, a token, a verifier or a client secret (only the fetch
 * error, which holds none), and wipes them when done.
 */
#ifndef GATEHOUSE_SOCIAL_OAUTH2_H
#define GATEHOUSE_SOCIAL_OAUTH2_H

#include <stddef.h>

#include <jansson.h>

#include "social/social.h"

struct config;

/* GET url with "Authorization: Bearer token": the JSON answer (caller
 * json_decref's), or NULL with a reason for the user in err. */
json_t *oauth2_api_get(const struct social_provider *p, const struct config *cfg, const char *url,
    const char *token, char *err, size_t errsz);

#endif
