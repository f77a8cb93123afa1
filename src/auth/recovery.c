/*
 * recovery — see recovery.h.
 */
#include "auth/recovery.h"

#include <string.h>

#include <sodium.h>

#include "util.h"

#define CODE_CHARS   10
#define HASH_CONTEXT "gatehouse.recovery-code.v1"

void
recovery_code_new(char out[RECOVERY_CODE_TEXT])
{
	char raw[CODE_CHARS + 1];

	random_chars(raw, CODE_CHARS, RECOVERY_ALPHABET);
	memcpy(out, raw, 5);
	out[5] = '-';
	memcpy(out + 6, raw + 5, 5);
	out[11] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

int
recovery_code_hash(const char *server_secret, const char *typed, char out[RECOVERY_HASH_LEN + 1])
{
	unsigned char key[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char code[CODE_CHARS];
	size_t n = 0;
	int rc = -1;

	out[0] = '\0';
	/* bounded before anything else: a huge text costs RECOVERY_TYPED_MAX bytes of reading */
	if (server_secret == NULL || typed == NULL ||
	    strnlen(typed, RECOVERY_TYPED_MAX) == RECOVERY_TYPED_MAX)
		goto done;
	for (const char *p = typed; *p != '\0'; p++) {
		char c = *p;

		if (c == ' ' || c == '-' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n == CODE_CHARS || strchr(RECOVERY_ALPHABET, c) == NULL)
			goto done;
		code[n++] = c;
	}
	if (n != CODE_CHARS)
		goto done;
	/* a key of our own for this use, so the hash means nothing under any other use of the server secret
	 */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)server_secret, strlen(server_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)HASH_CONTEXT, sizeof(HASH_CONTEXT) - 1);
	crypto_auth_hmacsha256_final(&st, key);
	crypto_auth_hmacsha256(mac, (const unsigned char *)code, CODE_CHARS, key);
	hex_encode(mac, sizeof(mac), out);
	rc = 0;
done:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(code, sizeof(code));
	return rc;
}
