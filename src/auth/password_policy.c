/*
 * password_policy — see password_policy.h.
 */
#include "auth/password_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/password.h"
#include "util.h"

/* generated from data/common-passwords.txt (sorted, C locale) */
extern const char *const common_passwords[];
extern const size_t common_passwords_count;

#define MAX_SIMILARITY 0.7

static int
cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

int
password_policy_is_common(const char *pw, size_t len)
{
	char lower[PASSWORD_MAX_BYTES + 1];
	int found;

	if (len > PASSWORD_MAX_BYTES)
		return 0;
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)pw[i]);
	lower[len] = '\0';
	found = bsearch(lower, common_passwords, common_passwords_count, sizeof(common_passwords[0]), cmp) !=
	    NULL;
	sodium_memzero(lower, sizeof(lower));
	return found;
}

/* Python's SequenceMatcher.quick_ratio on lower-cased bytes: 2 * (common
 * characters as multisets) / (total length).  Django 3.2 compares with it. */
static double
quick_ratio(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned counts[256] = { 0 };
	size_t common = 0;

	if (alen + blen == 0)
		return 0;
	for (size_t i = 0; i < blen; i++)
		counts[(unsigned char)tolower((unsigned char)b[i])]++;
	for (size_t i = 0; i < alen; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)a[i]);
		if (counts[c]) {
			counts[c]--;
			common++;
		}
	}
	return 2.0 * (double)common / (double)(alen + blen);
}

static int
word_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* Django's UserAttributeSimilarityValidator over the email: each \W+-separated
 * part and the whole address; parts far shorter than the password are skipped
 * (Django 4's exceeds_maximum_length_ratio). */
static int
too_similar(const char *pw, size_t len, const char *email)
{
	size_t elen = strlen(email), start = 0;

	for (size_t i = 0; i <= elen; i++) {
		if (i < elen && word_char((unsigned char)email[i]))
			continue;
		if (i > start) {
			size_t plen = i - start;
			if (!((double)len >= 10.0 * (double)plen / MAX_SIMILARITY) &&
			    quick_ratio(pw, len, email + start, plen) >= MAX_SIMILARITY)
				return 1;
		}
		start = i + 1;
	}
	return !((double)len >= 10.0 * (double)elen / MAX_SIMILARITY) &&
	    quick_ratio(pw, len, email, elen) >= MAX_SIMILARITY;
}

/* UTF-8 characters in s[0..len) (Django counts characters, not bytes) */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

int
password_policy_check(const char *pw, size_t len, long min_length, const char *email, json_t *messages)
{
	int n = 0;
	size_t digits = 0;
	char msg[128];

	if (len > PASSWORD_MAX_BYTES) {
		json_array_append_new(messages,
		    json_string("Ensure this field has no more than 4096 characters."));
		return 1;
	}
	if (utf8_chars(pw, len) < (size_t)min_length) {
		snprintf(msg, sizeof(msg),
		    "This password is too short. It must contain at least %ld character%s.", min_length,
		    min_length == 1 ? "" : "s");
		json_array_append_new(messages, json_string(msg));
		n++;
	}
	if (email && *email && too_similar(pw, len, email)) {
		json_array_append_new(messages,
		    json_string("The password is too similar to the email address."));
		n++;
	}
	if (password_policy_is_common(pw, len)) {
		json_array_append_new(messages, json_string("This password is too common."));
		n++;
	}
	for (size_t i = 0; i < len; i++)
		if (isdigit((unsigned char)pw[i]))
			digits++;
	if (len > 0 && digits == len) {
		json_array_append_new(messages, json_string("This password is entirely numeric."));
		n++;
	}
	return n;
}
