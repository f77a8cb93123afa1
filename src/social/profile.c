/*
 * profile — the gate between a provider's text and a struct social_profile
 * (see provider.h): only valid UTF-8 without control characters is kept, cut
 * where a column would overflow and dropped when the cut split a character.
 * Must never log what it is given (names and addresses are personal data).
 */
#include <stdio.h>
#include <string.h>

#include "accounts/user.h"
#include "social/provider.h"
#include "util.h"

/* jansson checks UTF-8, but a cut may split a character and "\u0001" decodes
 * to a control character */
int
social_text_ok(const char *s)
{
	size_t n = strlen(s);

	if (!utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
social_ascii_word(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 1024)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

void
profile_set_uid(struct social_profile *out, const char *uid)
{
	out->uid[0] = '\0';
	if (uid && strlen(uid) < sizeof(out->uid) && social_text_ok(uid))
		strlcpy_ok(out->uid, uid, sizeof(out->uid));
}

/* a cut may split a UTF-8 sequence: drop the name rather than store bad text */
static void
drop_bad_cuts(struct social_profile *out)
{
	if (!social_text_ok(out->first_name))
		out->first_name[0] = '\0';
	if (!social_text_ok(out->last_name))
		out->last_name[0] = '\0';
}

void
profile_split_name(const char *full, struct social_profile *out)
{
	const char *sp;

	if (full == NULL || !social_text_ok(full))
		return;
	if ((sp = strrchr(full, ' ')) != NULL) {
		snprintf(out->first_name, sizeof(out->first_name), "%.*s",
		    (int)(sp - full) > 150 ? 150 : (int)(sp - full), full);
		snprintf(out->last_name, sizeof(out->last_name), "%.150s", sp + 1);
	} else
		snprintf(out->first_name, sizeof(out->first_name), "%.150s", full);
	drop_bad_cuts(out);
}

void
profile_set_names(const char *given, const char *family, struct social_profile *out)
{
	snprintf(out->first_name, sizeof(out->first_name), "%.150s", given ? given : "");
	snprintf(out->last_name, sizeof(out->last_name), "%.150s", family ? family : "");
	drop_bad_cuts(out);
}

void
profile_set_email(struct social_profile *out, const char *email, bool verified)
{
	if (email && user_normalize_email(email, out->email, sizeof(out->email)) == 0)
		out->email_verified = verified;
	else
		out->email[0] = '\0';
}
