/* libFuzzer driver: the small parsers of untrusted strings — CSRF tokens
 * (X-CSRFToken header and cookie), email addresses (login body), and the
 * uid and token of password-reset links. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/csrf.h"
#include "auth/reset_token.h"
#include "accounts/user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char secret[CSRF_SECRET_LEN + 1], email[STORE_EMAIL_MAX + 1], *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (csrf_unmask(s, size, secret) == 0 && strlen(secret) != CSRF_SECRET_LEN)
		abort();
	if (user_normalize_email(s, email, sizeof(email)) == 0 &&
	    (strlen(email) > STORE_EMAIL_MAX || !strchr(email, '@')))
		abort();
	{
		int64_t id;
		struct store_user u = { .id = 1 };
		if (reset_uid_decode(s, &id) == 0 && id < 1)
			abort();
		reset_token_check("fuzzing secret of enough length!", &u, s, 1800000000, 3600);
	}
	free(s);
	return 0;
}
