/*
 * user — see user.h.
 */
#include "user.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

int
user_normalize_email(const char *in, char *out, size_t outsz)
{
	const char *end, *at;
	size_t n;

	while (*in == ' ' || *in == '\t')
		in++;
	end = in + strlen(in);
	while (end > in && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - in);
	if (n == 0 || n > STORE_EMAIL_MAX || n >= outsz || !utf8_valid(in, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\')
			return -1;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	at = strchr(out, '@');
	if (at == NULL || at == out || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    at[1] == '.' || out[n - 1] == '.' || strstr(at, ".."))
		return -1;
	/* like Django's EmailValidator: a dotted domain, or localhost */
	if (strchr(at + 1, '.') == NULL && strcmp(at + 1, "localhost") != 0)
		return -1;
	return 0;
}

json_t *
user_profile_json(const struct store_user *u)
{
	char joined[32], last[32];

	iso8601(u->date_joined, joined, sizeof(joined));
	if (u->last_login)
		iso8601(u->last_login, last, sizeof(last));
	return json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:s, s:o, s:b}",
	    "id", (json_int_t)u->id, "email", u->email, "first_name", u->first_name,
	    "last_name", u->last_name, "is_staff", u->is_staff, "is_superuser", u->is_superuser,
	    "date_joined", joined, "last_login", u->last_login ? json_string(last) : json_null(),
	    "email_verified", u->email_verified);
}
