/*
 * mfa — the rules of the second step of a login and of WebAuthn challenges,
 * on plain values (auth/caller.h): the pending login a right password (or a
 * provider) leaves when the user has a second factor, bound to the browser
 * by the HttpOnly gatehouse_mfa cookie and used up by the factor that
 * completes it; the browser-binding cookie of passkey sign-in; single-use,
 * short-lived, bound challenges; the MFA_REQUIRED policy; the opaque
 * WebAuthn user handle.  Keys live only in cookies, the store sees their
 * SHA-256.  Must never log a key, a code or a challenge.
 */
#ifndef GATEHOUSE_MFA_H
#define GATEHOUSE_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/caller.h"
#include "store/store.h"

#define MFA_COOKIE           "gatehouse_mfa"
#define PASSKEY_COOKIE       "gatehouse_passkey"
#define MFA_KEY_LEN          40  /* [a-z0-9] */
#define MFA_CHALLENGE_TTL    300 /* seconds a WebAuthn challenge lives */
#define MFA_CHALLENGE_MAX    64  /* base64url text of a challenge, with NUL */
#define MFA_CHALLENGES_BOUND 8   /* live challenges per binding (tabs, retries) */
#define MFA_USER_HANDLE_MAX  64
#define MFA_SETUP_TTL        600 /* seconds between TOTP set-up and its confirmation */

/* What a challenge is for: it is only ever taken for the same purpose. */
#define MFA_PURPOSE_REGISTER "register" /* a passkey being added, bound to the session */
#define MFA_PURPOSE_SECOND   "second"   /* the second step, bound to the pending login */
#define MFA_PURPOSE_PASSKEY  "passkey"  /* sign-in without a password, bound to the browser */
#define MFA_PURPOSE_REAUTH   "reauth"   /* re-authentication, bound to the session */

/* 1 when MFA_REQUIRED covers u (staff: staff or superusers; all: everyone). */
bool mfa_policy_covers(const struct config *cfg, const struct store_user *u);
/* 1 when u is covered and has no factor yet: its sessions are restricted. */
bool mfa_setup_required(const struct config *cfg, const struct store_user *u);

/* A pending login for u after a first step (method: "password" or
 * "social:<provider>"; next: where to go afterwards, "" for none): stores it
 * and adds the gatehouse_mfa cookie to out.  0, or -1 on a store error. */
int mfa_pending_begin(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    const char *method, const char *next, struct auth_cookies *out);
/* The live pending login in->mfa_key names: 1 with p and u (password not
 * loaded) filled; 0 when there is none or it is dead (expired, the user
 * inactive or their password changed since: a dead one is deleted); -1 on a
 * store error. */
int mfa_pending_find(const struct auth_env *env, const struct auth_in *in, struct store_mfa_pending *p,
    struct store_user *u);
/* Use p up (single use): 1 when this call took it, 0 when another did
 * first, -1 on a store error. */
int mfa_pending_take(const struct auth_env *env, const struct store_mfa_pending *p);
/* Add the deletion of the gatehouse_mfa cookie to out: 0 or -1 (full). */
int mfa_pending_clear_cookie(const struct auth_env *env, struct auth_cookies *out);

/* The binding of passkey sign-in challenges to this browser: the hash of
 * the presented gatehouse_passkey cookie when it has the right shape, else a
 * new key whose cookie is added to out.  0, or -1 (full out). */
int mfa_browser_bind(const struct auth_env *env, const struct auth_in *in, char bind_hash[65],
    struct auth_cookies *out);
/* The hash of the presented gatehouse_passkey cookie: 1, or 0 when absent
 * or malformed. */
int mfa_browser_hash(const struct auth_in *in, char bind_hash[65]);

/* A fresh challenge for purpose, bound to bind_hash (and user_id, 0 for
 * none), stored by hash for MFA_CHALLENGE_TTL: its base64url text in out
 * (MFA_CHALLENGE_MAX).  0, or -1 on a store error. */
int mfa_challenge_new(const struct auth_env *env, const char *purpose, int64_t user_id, const char *bind_hash,
    int64_t now, char *out, size_t outsz);
/* Take (single use) the stored challenge whose text the client answered
 * with: 1 when it existed, was alive at now, was made for purpose and for
 * bind_hash (and, when user_id is not 0, for that user); 0 otherwise (it is
 * used up either way); -1 on a store error. */
int mfa_challenge_take(const struct auth_env *env, const char *challenge, const char *purpose,
    const char *bind_hash, int64_t user_id, int64_t now);

/* The opaque WebAuthn user handle of user_id (base64url of a keyed hash
 * of the id under the server secret: stable, reveals nothing). */
void mfa_user_handle(const struct config *cfg, int64_t user_id, char *out, size_t outsz);

#endif
