/*
 * The src/social/ layer (docs/architecture.md): social login, from the
 * authorize URL to the pipeline that turns a provider profile into a user.
 * Its blocking calls run on the network pool, never on an HTTP thread.  It
 * may use accounts, auth, the store and the top; it must never include the
 * transport or the handlers.
 */
/*
 * social — social login: the configured providers (GitHub, Google,
 * Facebook, any OpenID Connect issuer), the authorize URL with state, PKCE
 * S256 and nonce, the code exchange and profile fetch (blocking: worker
 * threads only), and the pipeline of named steps that turns a provider
 * profile into a user (python-social-auth's design).  Identities are keyed on
 * (provider, subject), never on email; an email links to an existing account
 * only when the provider vouches for it and the account confirmed it.  Text
 * from a provider is kept only when it is valid UTF-8 without control
 * characters.  Never logs codes, tokens or secrets.
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

enum social_kind { SOCIAL_GITHUB, SOCIAL_FACEBOOK, SOCIAL_OIDC };

struct social_provider {
	char name[64], label[64];
	enum social_kind kind;
	const char *client_id, *client_secret;      /* borrowed from the config */
	const char *authorize_url, *token_url, *api_url;  /* GitHub, Facebook */
	struct oidc *oidc;                           /* OIDC providers */
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
	char extra[1024];            /* JSON kept with the identity (login name, ...) */
};

/* The key that bounds a client's pending sign-ins: the address, or for IPv6
 * its /64 (one host commonly holds all of it). */
void social_ip_key(const char *ip, char *out, size_t outsz);

/* Blocking (worker thread): make sure an OIDC provider's discovery is loaded. */
int social_prepare(const struct social_provider *p, long timeout, char *err, size_t errsz);
/* The provider's authorize URL for state/challenge/nonce into out. */
int social_authorize_url(const struct social_provider *p, const struct config *cfg, const char *state,
    const char *challenge, const char *nonce, struct buf *out, char *err, size_t errsz);
/* Blocking (worker thread): exchange code (with the PKCE verifier) and fetch
 * the profile; verifies the ID token for OIDC.  0, or -1 with a reason in err
 * that may be shown to the user. */
int social_exchange(const struct social_provider *p, const struct config *cfg, const char *code,
    const char *verifier, const char *nonce, struct social_profile *out, char *err, size_t errsz);

/* The pipeline's outcome. */
struct social_result {
	int status;                  /* 0 on success, else the HTTP status to answer */
	char detail[256];
	struct store_user user;
	bool created, linked;
};

/* Run cfg->social_pipeline for profile from provider p; link_user_id (0:
 * none) is the signed-in user who asked to connect.  Inside a transaction
 * the caller opens and commits when res->status is 0. */
void social_pipeline(const struct config *cfg, struct store *st, const struct social_provider *p,
    const struct social_profile *profile, int64_t link_user_id, struct social_result *res);
/* 1 if name is a step social_pipeline knows. */
int social_step_known(const char *name, size_t len);

#endif
