/*
 * token — DRF-style API tokens: "Authorization: Token <key>".  Keys are 160
 * random bits shown once at creation; the store keeps SHA-256 of them.  Works
 * on plain values (auth/caller.h): never parses anything but the
 * Authorization value it is given, never writes a response.  Must never log
 * or store a key.  DRF's own keys (40 hex characters) have the same shape:
 * `gatehouse import-django` stores their SHA-256 and they resolve here as
 * they are, through the same hashed lookup.
 */
#ifndef GATEHOUSE_TOKEN_H
#define GATEHOUSE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/caller.h"

#define TOKEN_KEY_LEN 40

struct store;

/* Look at in->authorization.  0: no Token credentials offered (the caller
 * tries the session); 1: c->kind = AUTH_TOKEN with c->user/c->token
 * filled; -1: credentials offered but bad — detail gets DRF's message for a
 * 401; -2 on a store error. */
int token_resolve(const struct auth_env *env, const struct auth_in *in, struct caller *c, char *detail,
    size_t detailsz);
struct store_token;
/* Create a token for user_id named name, expiring after days (0: never);
 * the key goes to key (TOKEN_KEY_LEN + 1 bytes), to be shown once, and the
 * stored row to out (may be NULL).  0 or -1. */
int token_create(struct store *st, int64_t user_id, const char *name, long days, char *key,
    struct store_token *out);
/* A token as JSON for its owner or an admin: id, name, created, last_used, expires (new reference). */
json_t *token_json(const struct store_token *t);

#endif
