/*
 * provider — what one kind of provider must supply (its ops table), the ops
 * tables there are, and the helpers they share to turn provider text into a
 * struct social_profile.  Private to src/social/.  Adding a provider is one
 * file with one `const struct social_provider_ops` and one entry in the
 * built-in table of social.c (or, for an OpenID Connect issuer, no code at
 * all: oidc_providers in the config).  An ops function must never log a
 * code, a token or a secret, and keeps provider text only through the
 * profile_* helpers (valid UTF-8 without control characters).
 */
#ifndef GATEHOUSE_SOCIAL_PROVIDER_H
#define GATEHOUSE_SOCIAL_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "social/social.h"

struct config;

struct social_provider_ops {
	const char *kind; /* "github", "google", "facebook", "oidc" */
	/* Built-in providers: the name and label they are listed under, and
	 * configure(), which fills p's client and URLs from cfg and returns 1
	 * when cfg turns the provider on, else 0.  NULL for issuers named in
	 * oidc_providers (social_new fills those). */
	const char *name, *label;
	int (*configure)(struct social_provider *p, const struct config *cfg);
	const char *scope;        /* asked for at authorize */
	bool nonce;               /* send the OIDC nonce with the authorize request */
	bool client_secret_basic; /* token endpoint: HTTP Basic, else client_id/secret in the form */
	/* Optional, blocking: load what a flow needs (discovery).  0 or -1 with err. */
	int (*prepare)(const struct social_provider *p, long timeout, char *err, size_t errsz);
	/* Optional: the authorize / token endpoint into out; NULL: p->authorize_url
	 * / p->token_url.  0, or -1 with err for the user. */
	int (*authorize_endpoint)(const struct social_provider *p, char *out, size_t outsz, char *err,
	    size_t errsz);
	int (*token_endpoint)(const struct social_provider *p, long timeout, char *out, size_t outsz,
	    char *err, size_t errsz);
	/* Blocking: the profile, from the token endpoint's answer (which holds a
	 * checked access_token) and whatever API calls it takes.  0, or -1 with
	 * err for the user. */
	int (*exchange)(const struct social_provider *p, const struct config *cfg, json_t *token,
	    const char *nonce, struct social_profile *out, char *err, size_t errsz);
	/* Optional: free what configure or social_new gave p. */
	void (*release)(struct social_provider *p);
};

extern const struct social_provider_ops social_github_ops;   /* github.c */
extern const struct social_provider_ops social_facebook_ops; /* facebook.c */
extern const struct social_provider_ops social_google_ops;   /* oidc_provider.c */
extern const struct social_provider_ops social_oidc_ops;     /* oidc_provider.c */

/* profile.c.  1 when s is text that may be kept or shown: valid UTF-8 with
 * no control characters. */
int social_text_ok(const char *s);
/* 1 when t is 1 to 1024 printable ASCII characters without space: what may
 * go into a header (an access token, a URL from a discovery document). */
int social_ascii_word(const char *t);
/* The provider's subject, kept only when it is sane text (else uid stays empty). */
void profile_set_uid(struct social_profile *out, const char *uid);
/* "Given Family" → first and last name, cut to 150 bytes, dropped when not sane text. */
void profile_split_name(const char *full, struct social_profile *out);
/* Given and family names as they are, cut to 150 bytes, dropped when not sane text. */
void profile_set_names(const char *given, const char *family, struct social_profile *out);
/* The address normalized, or none; verified only as the provider says. */
void profile_set_email(struct social_profile *out, const char *email, bool verified);

#endif
