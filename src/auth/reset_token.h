/*
 * reset_token — password-reset links without stored state, as Django's
 * PasswordResetTokenGenerator: "<uid>/<token>", where the token is the issue
 * time and an HMAC (server secret) over the user's id, password hash, auth
 * hash, last login and email.  Any of those changing — the password is
 * reset, the user logs in — kills every earlier link; the time bounds it.
 * Must never log a token.
 */
#ifndef GATEHOUSE_RESET_TOKEN_H
#define GATEHOUSE_RESET_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define RESET_UID_MAX   32
#define RESET_TOKEN_MAX 64

/* Django's urlsafe_base64_encode(str(id)) without padding. */
void reset_uid_encode(int64_t id, char *out, size_t outsz);
/* 0 and *id, or -1 when uid is not a valid encoding of a positive id. */
int reset_uid_decode(const char *uid, int64_t *id);
/* The token for u issued at now into out (RESET_TOKEN_MAX). u->password must be loaded. */
void reset_token_make(const char *secret, const struct store_user *u, int64_t now, char *out, size_t outsz);
/* 0 when token was made for u as it is now, at most ttl seconds ago; else -1. */
int reset_token_check(const char *secret, const struct store_user *u, const char *token, int64_t now,
    int64_t ttl);

#endif
