/*
 * csrf — Django-compatible CSRF protection: the 32-character secret in the
 * csrftoken cookie, Django's 64-character masked form, and the check that
 * an unsafe request's X-CSRFToken and Origin match.  Compares secrets in
 * constant time; never logs a token.
 */
#ifndef GATEHOUSE_CSRF_H
#define GATEHOUSE_CSRF_H

#include <stddef.h>

#define CSRF_SECRET_LEN 32
#define CSRF_TOKEN_LEN 64

struct request;

/* A fresh secret: 32 chars of [A-Za-z0-9] (out: 33 bytes). */
void csrf_new_secret(char *out);
/* Django's _mask_cipher_secret: 64 chars (out: 65 bytes). */
void csrf_mask(const char *secret, char *out);
/* The secret behind a 32- or 64-char token (out: 33 bytes).  0, or -1 when
 * the length is wrong or a character is outside [A-Za-z0-9]. */
int csrf_unmask(const char *token, size_t len, char *out);
/* Verify an unsafe request (Origin, cookie, header).  0, or -1 with a DRF
 * "CSRF Failed: ..." detail in why. */
int csrf_check(struct request *r, char *why, size_t whysz);
/* The valid secret from the request's csrftoken cookie into out (33 bytes): 0, or -1 if none. */
int csrf_cookie_secret(struct request *r, char *out);
/* Queue Set-Cookie: csrftoken=<secret> on r. */
void csrf_set_cookie(struct request *r, const char *secret);

#endif
