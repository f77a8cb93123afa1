/*
 * social — the social-login layer, and its public face.  It owns the
 * configured providers (GitHub, Google, Facebook, any OpenID Connect issuer:
 * one ops table each, provider.h), the OAuth2 client that talks to them
 * (authorize URL with state, PKCE S256 and nonce; code exchange; profile
 * fetch; oauth2.c, blocking: worker threads only), and the pipeline of named
 * steps that turns a provider profile into a user (python-social-auth's
 * design, pipeline.c).  Identities are keyed on (provider, subject), never on
 * email; an email links to an existing account only when the provider vouches
 * for it and the account confirmed it.  Text from a provider is kept only when
 * it is valid UTF-8 without control characters.
 *
 * It must never touch the transport or the handlers (never http/, never api/):
 * it answers with domain errors (enum social_error) and text for the user, and
 * src/api/social.c alone decides which HTTP answer each one becomes.  It never
 * logs codes, tokens or secrets, and src/social/fetch.c is its only libcurl
 * user.
 */
#ifndef GATEHOUSE_SOCIAL_H
#define GATEHOUSE_SOCIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util.h"

struct config;
struct oidc;
struct social_provider_ops;

/* One configured provider.  What it can do is in ops (provider.h). */
struct social_provider {
	char name[64], label[64];
	const struct social_provider_ops *ops;
	const char *client_id, *client_secret;           /* borrowed from the config */
	const char *authorize_url, *token_url, *api_url; /* plain OAuth2 providers (GitHub, Facebook) */
	struct oidc *oidc;                               /* OIDC providers: owned */
};

struct social;

/* The providers configured in cfg (which must outlive the result).  NULL with err. */
struct social *social_new(const struct config *cfg, char *err, size_t errsz);
void social_free(struct social *s);
const struct social_provider *social_find(const struct social *s, const char *name);
/* The providers as [{"name","label","authorize_url"}] (new reference). */
json_t *social_list_json(const struct social *s);

/* What a provider says about the person, after the exchange. */
struct social_profile {
	char uid[256];
	char email[STORE_EMAIL_MAX + 1];
	bool email_verified;
	char first_name[STORE_NAME_MAX * 4 + 1], last_name[STORE_NAME_MAX * 4 + 1];
	char extra[1024]; /* JSON kept with the identity (login name, ...) */
};

/* The key that bounds a client's pending sign-ins: the address, or for IPv6
 * its /64 (one host commonly holds all of it). */
void social_ip_key(const char *ip, char *out, size_t outsz);

/* 1 when p must load something over the network (social_prepare) before a
 * flow starts: then call social_prepare from a worker thread. */
int social_needs_prepare(const struct social_provider *p);
/* Blocking (worker thread): make sure an OIDC provider's discovery is loaded. */
int social_prepare(const struct social_provider *p, long timeout, char *err, size_t errsz);
/* The provider's authorize URL for state/challenge/nonce into out.  0, or -1
 * with a reason in err that may be shown to the user. */
int social_authorize_url(const struct social_provider *p, const struct config *cfg, const char *state,
    const char *challenge, const char *nonce, struct buf *out, char *err, size_t errsz);
/* Blocking (worker thread): exchange code (with the PKCE verifier) and fetch
 * the profile; verifies the ID token for OIDC.  0, or -1 with a reason in err
 * that may be shown to the user. */
int social_exchange(const struct social_provider *p, const struct config *cfg, const char *code,
    const char *verifier, const char *nonce, struct social_profile *out, char *err, size_t errsz);

/* Why the pipeline refused a sign-in (the caller picks the answer). */
enum social_error {
	SOCIAL_OK = 0,
	SOCIAL_ERR_NO_UID,                 /* the provider did not say who it is */
	SOCIAL_ERR_DOMAIN_NOT_ALLOWED,     /* auth_allowed: address not in the allowed lists */
	SOCIAL_ERR_IDENTITY_OF_OTHER_USER, /* connect: the identity belongs to someone else */
	SOCIAL_ERR_EMAIL_TAKEN_UNVERIFIED, /* associate_by_email: the account never confirmed it */
	SOCIAL_ERR_NO_EMAIL,               /* create_user: the provider shared no address */
	SOCIAL_ERR_EMAIL_TAKEN,            /* create_user: an account already has the address */
	SOCIAL_ERR_NO_ACCOUNT,             /* the pipeline ended with no user (no create_user step) */
	SOCIAL_ERR_INACTIVE,               /* the user is not active */
	SOCIAL_ERR_STORE,                  /* the store failed: try again later */
};

/* The pipeline's outcome. */
struct social_result {
	enum social_error error; /* SOCIAL_OK, or why not */
	char detail[256];        /* for the user when error is set: fixed text and the provider's label */
	struct store_user user;
	bool created, linked;
};

/* Run cfg->social_pipeline for profile from provider p; link_user_id (0:
 * none) is the signed-in user who asked to connect.  Inside a transaction
 * the caller opens and commits when res->error is SOCIAL_OK. */
void social_pipeline(const struct config *cfg, struct store *st, const struct social_provider *p,
    const struct social_profile *profile, int64_t link_user_id, struct social_result *res);
/* 1 if name (len bytes) is a step social_pipeline knows. */
int social_step_known(const char *name, size_t len);

#endif
