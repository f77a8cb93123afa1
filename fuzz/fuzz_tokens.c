/* libFuzzer driver: the small parsers of untrusted strings — CSRF tokens
 * (X-CSRFToken header and cookie) and email addresses (login body). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "csrf.h"
#include "user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char secret[CSRF_SECRET_LEN + 1], email[STORE_EMAIL_MAX + 1], *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (csrf_unmask(s, size, secret) == 0 && strlen(secret) != CSRF_SECRET_LEN)
		abort();
	if (user_normalize_email(s, email, sizeof(email)) == 0 && (strlen(email) > STORE_EMAIL_MAX || !strchr(email, '@')))
		abort();
	free(s);
	return 0;
}
