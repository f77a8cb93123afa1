/*
 * The src/accounts/ layer (docs/architecture.md): rules over users (email
 * normal form, names, public JSON) and the audit log.  It may use auth,
 * mail, the store and the top; it must never include the transport, the
 * handlers or social login.
 */
/*
 * user — rules about accounts that more than one caller needs: the shape and
 * normal form of an email address, what a stored name may hold, and the
 * public JSON of a user.  Never puts the password hash or auth hash into
 * JSON.  The normal form decides whether two addresses are one account, so
 * every entry point (signup, login, reset, admin, CLI, social pipeline) goes
 * through user_normalize_email and nothing else.
 */
#ifndef GATEHOUSE_USER_H
#define GATEHOUSE_USER_H

#include <stddef.h>

#include <jansson.h>

#include "store/store.h"

/* The normal form of the address in into out (outsz >= STORE_EMAIL_MAX + 1):
 * surrounding spaces trimmed; an ASCII local part as Django's EmailValidator
 * takes it (a dot-atom, or a quoted string of printable ASCII, unquoted
 * when it needs no quotes), lower-cased; the domain through IDNA (UTS #46,
 * non-transitional, STD3, NFC) to its ASCII form, so fullwidth or otherwise
 * mapped letters become the plain ones; a dotted domain, localhost or an IP
 * literal.  0, or -1 when it is not an address: invalid UTF-8, any control
 * or invisible character (zero-width, bidi control, soft hyphen...) anywhere,
 * a non-ASCII local part, a domain IDNA refuses, more than 254 bytes. */
int user_normalize_email(const char *in, char *out, size_t outsz);
/* 1 when s (len bytes) may be stored as a first or last name: valid UTF-8,
 * at most 150 characters, no control characters, no bidi controls; else 0. */
int user_name_valid(const char *s, size_t len);
/* The profile object of the API reference (new reference; NULL only when
 * memory runs out, which respond_json turns into a 500).  Stored text that
 * is not valid UTF-8 goes out with U+FFFD in its place. */
json_t *user_profile_json(const struct store_user *u);

#endif
