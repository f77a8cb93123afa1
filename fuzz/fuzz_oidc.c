/* libFuzzer driver: ID tokens from a provider (untrusted): the first byte
 * picks between the whole verification path (compact JWS → header → key →
 * signature → claims) and the claim checks on arbitrary JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>

#include "social/oidc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the struct is private to oidc.c: preload through a token-free discovery stand-in */
static struct oidc *o;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[256];
	json_t *claims = NULL;

	if (size < 1)
		return 0;
	if (o == NULL)
		o = oidc_new("https://issuer.test"); /* never discovered: JWKS fetch fails fast */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1) {
		if (oidc_verify(o, s, "client", "nonce", 1800000000, 1, &claims, err, sizeof(err)) == 0)
			abort(); /* nothing can verify without a key */
		json_decref(claims);
	} else {
		json_t *j = json_loads(s, 0, NULL);
		if (j)
			oidc_check_claims(j, "https://issuer.test", "client", "nonce", 1800000000, err,
			    sizeof(err));
		json_decref(j);
	}
	free(s);
	return 0;
}
