/* libFuzzer driver: the small parsers of untrusted strings — CSRF tokens
 * (X-CSRFToken header and cookie), email addresses (login body), the
 * uid and token of password-reset links, and what a person types at the
 * second step: TOTP codes and recovery codes (and a sealed TOTP secret,
 * read back from the database). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/csrf.h"
#include "auth/recovery.h"
#include "auth/reset_token.h"
#include "auth/totp.h"
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
	{
		static int ready;
		static const unsigned char key[TOTP_SECRET_LEN] = "12345678901234567890";
		unsigned char opened[TOTP_SECRET_LEN];
		char h[RECOVERY_HASH_LEN + 1];
		size_t n = 0;
		int64_t step;

		if (!ready)
			ready = totp_global_init() == 0 ? 1 : (abort(), 0);
		step = totp_check(key, sizeof(key), s, 1800000000, 0);
		/* a match is one of the three steps around now, never anything else */
		if (step != 0 && step != -1 && (step < 1800000000 / 30 - 1 || step > 1800000000 / 30 + 1))
			abort();
		if (recovery_code_hash("fuzzing secret of enough length!", s, h) == 0 &&
		    strlen(h) != RECOVERY_HASH_LEN)
			abort();
		if (totp_open("fuzzing secret of enough length!", s, opened, &n) == 0 && n > sizeof(opened))
			abort();
	}
	free(s);
	return 0;
}
