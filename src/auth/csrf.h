/*
 * csrf — Django-compatible CSRF protection: the 32-character secret in the
 * csrftoken cookie, Django's 64-character masked form, and the check that
 * an unsafe request's X-CSRFToken and Origin match.  Works on plain values
 * (auth/caller.h): never parses a header, never writes a response.  Compares
 * secrets in constant time; never logs a token.
 */
#ifndef GATEHOUSE_CSRF_H
#define GATEHOUSE_CSRF_H

#include <stddef.h>

#include "auth/caller.h"

#define CSRF_SECRET_LEN 32
#define CSRF_TOKEN_LEN  64

/* A fresh secret: 32 chars of [A-Za-z0-9] (out: 33 bytes). */
void csrf_new_secret(char *out);
/* Django's _mask_cipher_secret: 64 chars (out: 65 bytes). */
void csrf_mask(const char *secret, char *out);
/* The secret behind a 32- or 64-char token (out: 33 bytes).  0, or -1 when
 * the length is wrong or a character is outside [A-Za-z0-9]. */
int csrf_unmask(const char *token, size_t len, char *out);
/* Verify an unsafe request: in->origin (must be the public or a trusted
 * origin), else on https in->referer (likewise), then in->csrf_cookie
 * against in->csrf_header.  0, or -1 with a DRF "CSRF Failed: ..." detail
 * in why (client text in it only as a printable ASCII copy). */
int csrf_check(const struct auth_env *env, const struct auth_in *in, char *why, size_t whysz);
/* The valid secret from in->csrf_cookie into out (33 bytes): 0, or -1 if none. */
int csrf_cookie_secret(const struct auth_in *in, char *out);
/* Add the csrftoken=<secret> cookie (one year, readable by the SPA) to out:
 * 0, or -1 when out is full. */
int csrf_set_cookie(const struct auth_env *env, const char *secret, struct auth_cookies *out);

#endif
