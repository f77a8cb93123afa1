/*
 * token — DRF-style API tokens: "Authorization: Token <key>".  Keys are 160
 * random bits shown once at creation; the store keeps SHA-256 of them.  Must
 * never log or store a key.
 */
#ifndef GATEHOUSE_TOKEN_H
#define GATEHOUSE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TOKEN_KEY_LEN 40

struct request;
struct store;

/* Look at the Authorization header.  0: no Token credentials offered (the
 * caller tries the session); 1: r->auth = AUTH_TOKEN with r->user/r->token
 * filled; -1: credentials offered but bad — detail gets DRF's message for a
 * 401; -2 on a store error. */
int token_resolve(struct request *r, char *detail, size_t detailsz);
struct store_token;
/* Create a token for user_id named name, expiring after days (0: never);
 * the key goes to key (TOKEN_KEY_LEN + 1 bytes), to be shown once, and the
 * stored row to out (may be NULL).  0 or -1. */
int token_create(struct store *st, int64_t user_id, const char *name, long days, char *key,
    struct store_token *out);
/* A token as JSON for its owner or an admin: id, name, created, last_used, expires (new reference). */
json_t *token_json(const struct store_token *t);

#endif
