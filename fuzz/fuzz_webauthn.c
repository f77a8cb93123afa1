/* libFuzzer driver: WebAuthn responses (untrusted: every byte is the client's).  The first byte
 * picks what the rest is:
 *   0  the whole credential JSON, given to both verifiers, the challenge and the id readers
 *      (fuzz/corpus/webauthn holds a seed for each kind, cut from the vectors);
 *   1  the raw attestationObject inside a valid registration (tests/unit/webauthn_vectors.h);
 *   2  the raw authenticatorData inside a valid assertion, verified with the registered key;
 *   3  the stored COSE public key the valid assertion is verified with;
 *   4  the raw clientDataJSON inside a valid assertion.
 * An assertion can only verify with its own authenticator data, key and client data: anything
 * else that passes is a bug (abort). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/webauthn.h"
#include "util.h"
#include "../tests/unit/webauthn_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct webauthn_rp rp = { WV_RP_ID, WV_ORIGIN };
static struct webauthn_credential key; /* of WV_GET_REG */
static json_t *reg_vec, *get_vec;
static unsigned char *ad_ok, *cd_ok, *cose_ok;
static size_t ad_ok_len, cd_ok_len, cose_ok_len;

static unsigned char *
bytes_of(const char *b64, size_t *n)
{
	unsigned char *p = xmalloc(strlen(b64) + 1);

	if (sodium_base642bin(p, strlen(b64) + 1, b64, strlen(b64), NULL, n, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		abort();
	return p;
}

static void
init(void)
{
	const char *why;
	json_t *r;

	if (sodium_init() < 0)
		abort();
	r = json_loads(WV_GET_REG, 0, NULL);
	if (webauthn_verify_registration(&rp, r, WV_CHALLENGE, false, &key, &why) != 0)
		abort();
	json_decref(r);
	reg_vec = json_loads(WV_REG_BASE, 0, NULL);
	get_vec = json_loads(WV_GET_OK, 0, NULL);
	ad_ok = bytes_of(json_string_value(
	                     json_object_get(json_object_get(get_vec, "response"), "authenticatorData")),
	    &ad_ok_len);
	cd_ok = bytes_of(json_string_value(
	                     json_object_get(json_object_get(get_vec, "response"), "clientDataJSON")),
	    &cd_ok_len);
	cose_ok = bytes_of(key.public_key, &cose_ok_len);
}

/* a copy of vec with response.<member> set to the base64url of p[0..n) */
static json_t *
with_member(json_t *vec, const char *member, const uint8_t *p, size_t n)
{
	json_t *j = json_deep_copy(vec);
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *t = xmalloc(cap);

	sodium_bin2base64(t, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_set_new(json_object_get(j, "response"), member, json_string(t));
	free(t);
	return j;
}

static int
assertion(json_t *j, const char *public_key)
{
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed;
	int rc;

	rc = webauthn_verify_assertion(&rp, j, WV_CHALLENGE, false, key.alg, public_key, 0, &a, &regressed,
	    &why);
	if (rc == 0 ? why != NULL || regressed : why == NULL)
		abort();
	return rc;
}

static int
registration(json_t *j)
{
	struct webauthn_credential c;
	const char *why = NULL;
	int rc = webauthn_verify_registration(&rp, j, WV_CHALLENGE, false, &c, &why);

	if (rc == 0 ? why != NULL || strlen(c.cred_id) == 0 || strlen(c.public_key) == 0 : why == NULL)
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[WEBAUTHN_B64_MAX], pk[WEBAUTHN_B64_MAX];
	const char *why;
	json_t *j;

	if (reg_vec == NULL)
		init();
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if ((j = json_loadb((const char *)data + 1, size - 1, 0, NULL)) == NULL)
			return 0;
		registration(j);
		assertion(j, key.public_key);
		webauthn_client_challenge(j, out, sizeof(out), &why);
		webauthn_credential_id(j, out, sizeof(out));
		json_decref(j);
		break;
	case 1:
		j = with_member(reg_vec, "attestationObject", data + 1, size - 1);
		registration(j);
		json_decref(j);
		break;
	case 2:
		j = with_member(get_vec, "authenticatorData", data + 1, size - 1);
		if (assertion(j, key.public_key) == 0 &&
		    (size - 1 != ad_ok_len || memcmp(data + 1, ad_ok, ad_ok_len)))
			abort();
		json_decref(j);
		break;
	case 3:
		if (size - 1 > (WEBAUTHN_B64_MAX - 1) / 4 * 3)
			return 0;
		sodium_bin2base64(pk, sizeof(pk), data + 1, size - 1,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if (assertion(get_vec, pk) == 0 &&
		    (size - 1 != cose_ok_len || memcmp(data + 1, cose_ok, cose_ok_len)))
			abort();
		break;
	case 4:
		j = with_member(get_vec, "clientDataJSON", data + 1, size - 1);
		if (assertion(j, key.public_key) == 0 &&
		    (size - 1 != cd_ok_len || memcmp(data + 1, cd_ok, cd_ok_len)))
			abort();
		json_decref(j);
		break;
	}
	return 0;
}
