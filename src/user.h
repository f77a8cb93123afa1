/*
 * user — rules about accounts that more than one caller needs: the shape and
 * normal form of an email address, and the public JSON of a user.  Never puts
 * the password hash or auth hash into JSON.
 */
#ifndef GATEHOUSE_USER_H
#define GATEHOUSE_USER_H

#include <stddef.h>

#include <jansson.h>

#include "store/store.h"

/* Trim spaces and lower-case in into out (STORE_EMAIL_MAX + 1 bytes).
 * 0, or -1 when it is not a plausible address (one '@', both sides
 * non-empty, a dotted domain (or localhost) without spaces, at most 254 bytes, UTF-8). */
int user_normalize_email(const char *in, char *out, size_t outsz);
/* The profile object of DESIGN §2 (new reference). */
json_t *user_profile_json(const struct store_user *u);

#endif
