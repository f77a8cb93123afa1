/*
 * password_policy — the rules a new password must pass (Django's four
 * validators): minimum length, not too similar to the email address, not one
 * of ~20,000 common passwords (data/README.md), not entirely numeric; and at
 * most PASSWORD_MAX_BYTES.  Never logs or keeps the password.
 */
#ifndef GATEHOUSE_PASSWORD_POLICY_H
#define GATEHOUSE_PASSWORD_POLICY_H

#include <stddef.h>

#include <jansson.h>

/* Append one message per broken rule to messages (a JSON array of strings,
 * Django's wording); returns how many were added (0: acceptable).  email may
 * be NULL. */
int password_policy_check(const char *pw, size_t len, long min_length, const char *email, json_t *messages);
/* 1 if pw (compared lower-cased) is in the common-password list. */
int password_policy_is_common(const char *pw, size_t len);

#endif
