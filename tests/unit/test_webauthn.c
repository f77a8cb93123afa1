/* Unit tests for src/auth/webauthn.c against fixed vectors (tests/unit/webauthn_vectors.h, made by
 * tests/unit/webauthn_vectors.mjs with the API tests' software authenticator): ES256, RS256 and
 * EdDSA registrations (none and packed self attestation) and assertions pass; each refusal gives its
 * reason; malformed JSON, base64url and CBOR, cut or flipped at every byte, are refused without a
 * crash (run under SANITIZE=1 too). */
#include <sodium.h>

#include "test.h"
#include "webauthn_vectors.h"
#include "../../src/auth/webauthn.c"
#include "../../src/auth/webauthn_cbor.c"

static const struct webauthn_rp rp = { WV_RP_ID, WV_ORIGIN };

static json_t *
load(const char *s)
{
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);

	if (j == NULL)
		fatal("test_webauthn: a vector is not JSON");
	return j;
}

static int
reg_json(json_t *j, bool uv, struct webauthn_credential *c, const char **why)
{
	return webauthn_verify_registration(&rp, j, WV_CHALLENGE, uv, c, why);
}

static int
reg(const char *vec, bool uv, struct webauthn_credential *c, const char **why)
{
	json_t *j = load(vec);
	int rc = reg_json(j, uv, c, why);

	json_decref(j);
	return rc;
}

static int
get_json(json_t *j, bool uv, const struct webauthn_credential *c, uint32_t stored,
    struct webauthn_assertion *a, bool *regressed, const char **why)
{
	return webauthn_verify_assertion(&rp, j, WV_CHALLENGE, uv, c->alg, c->public_key, stored, a,
	    regressed, why);
}

static int
get(const char *vec, bool uv, const struct webauthn_credential *c, uint32_t stored,
    struct webauthn_assertion *a, bool *regressed, const char **why)
{
	json_t *j = load(vec);
	int rc = get_json(j, uv, c, stored, a, regressed, why);

	json_decref(j);
	return rc;
}

/* a registration refused with the reason want, and nothing left in the output */
static void
reg_refused(const char *vec, bool uv, const char *want, int line)
{
	struct webauthn_credential c;
	const char *why = NULL;
	int rc = reg(vec, uv, &c, &why);

	if (rc != -1 || why == NULL || strcmp(why, want) != 0 || c.cred_id[0] != '\0' ||
	    c.public_key[0] != '\0')
		fprintf(stderr, "line %d: rc %d, why \"%s\", want \"%s\"\n", line, rc, why ? why : "(null)",
		    want);
	CHECK(rc == -1);
	CHECK_STR(why, want);
	CHECK(c.cred_id[0] == '\0' && c.public_key[0] == '\0');
}
#define REG_REFUSED(vec, uv, want) reg_refused(vec, uv, want, __LINE__)

static void
get_refused(const char *vec, bool uv, const struct webauthn_credential *c, uint32_t stored, const char *want,
    bool want_regressed, int line)
{
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed = !want_regressed;
	int rc = get(vec, uv, c, stored, &a, &regressed, &why);

	if (rc != -1 || why == NULL || strcmp(why, want) != 0)
		fprintf(stderr, "line %d: rc %d, why \"%s\", want \"%s\"\n", line, rc, why ? why : "(null)",
		    want);
	CHECK(rc == -1);
	CHECK_STR(why, want);
	CHECK(regressed == want_regressed);
	CHECK(a.cred_id[0] == '\0');
}
#define GET_REFUSED(vec, uv, c, stored, want) get_refused(vec, uv, c, stored, want, false, __LINE__)

static void
test_new_challenge(void)
{
	char a[64], b[64];
	unsigned char bin[64];
	size_t n;

	webauthn_new_challenge(a, sizeof(a));
	webauthn_new_challenge(b, sizeof(b));
	CHECK(strlen(a) == 43);
	CHECK(strcmp(a, b) != 0);
	CHECK(sodium_base642bin(bin, sizeof(bin), a, strlen(a), NULL, &n, NULL,
	          sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    n == WEBAUTHN_CHALLENGE_LEN);
}

static void
test_client_challenge(void)
{
	char out[128];
	const char *why = NULL;
	json_t *j;

	j = load(WV_ES256_REG_NONE);
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == 0);
	CHECK_STR(out, WV_CHALLENGE);
	CHECK(webauthn_client_challenge(j, out, 43, &why) == -1); /* no room for the NUL */
	json_decref(j);
	j = load(WV_GET_OK);
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == 0);
	CHECK_STR(out, WV_CHALLENGE);
	json_decref(j);
	j = load(WV_REG_OTHER_CHALLENGE);
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == 0);
	CHECK_STR(out, WV_OTHER_CHALLENGE);
	json_decref(j);
	j = load("{\"response\":{\"clientDataJSON\":\"e30\"}}"); /* "{}" */
	why = NULL;
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == -1);
	CHECK_STR(why, WEBAUTHN_ERR_MALFORMED);
	json_decref(j);
	/* {"type":"webauthn.get","challenge":"a b","origin":"x"}: not base64url text */
	j = load("{\"response\":{\"clientDataJSON\":"
	         "\"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiYSBiIiwib3JpZ2luIjoieCJ9\"}}");
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == -1);
	json_decref(j);
	j = json_string("x");
	CHECK(webauthn_client_challenge(j, out, sizeof(out), &why) == -1);
	json_decref(j);
}

static void
test_credential_id(void)
{
	char out[WEBAUTHN_B64_MAX];
	json_t *j = load(WV_GET_OK);

	CHECK(webauthn_credential_id(j, out, sizeof(out)) == 0);
	CHECK_STR(out, json_string_value(json_object_get(j, "id")));
	CHECK(webauthn_credential_id(j, out, 10) == -1);
	json_object_set_new(j, "rawId", json_string("AAAA="));
	CHECK(webauthn_credential_id(j, out, sizeof(out)) == -1);
	json_object_del(j, "rawId");
	CHECK(webauthn_credential_id(j, out, sizeof(out)) == -1);
	json_decref(j);
	j = load(WV_GET_ID_MISMATCH);
	CHECK(webauthn_credential_id(j, out, sizeof(out)) == -1);
	json_decref(j);
	j = load(WV_REG_ID_1024);
	CHECK(webauthn_credential_id(j, out, sizeof(out)) == -1);
	json_decref(j);
}

/* One algorithm: registrations (none, packed self) and assertions with their counters. */
static void
alg_case(int alg, const char *reg_none, const char *a1, const char *a2, const char *a_bad,
    const char *reg_packed, const char *reg_packed_bad, const char *packed_a1)
{
	struct webauthn_credential c, p, wrong;
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed = true;
	unsigned char cose[WEBAUTHN_B64_MAX];
	size_t n;
	json_t *j;

	CHECK(reg(reg_none, true, &c, &why) == 0);
	CHECK(why == NULL);
	CHECK(c.alg == alg);
	j = load(reg_none);
	CHECK_STR(c.cred_id, json_string_value(json_object_get(j, "rawId")));
	json_decref(j);
	CHECK(sodium_base642bin(cose, sizeof(cose), c.public_key, strlen(c.public_key), NULL, &n, NULL,
	          sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	CHECK(n > 0 && cose[0] == (alg == WEBAUTHN_ALG_RS256 || alg == WEBAUTHN_ALG_EDDSA ? 0xa4 : 0xa5));
	CHECK(c.sign_count == 0);
	CHECK(c.user_verified && !c.backup_eligible && !c.backed_up);
	CHECK_STR(c.aaguid, "00000000-0000-0000-0000-000000000000");
	CHECK_STR(c.transports, "internal,hybrid");
	CHECK(reg(reg_none, false, &c, &why) == 0);

	CHECK(get(a1, true, &c, 0, &a, &regressed, &why) == 0);
	CHECK(why == NULL && !regressed);
	CHECK(a.sign_count == 1 && a.user_verified);
	CHECK_STR(a.cred_id, c.cred_id);
	CHECK_STR(a.user_handle, WV_USER_HANDLE);
	CHECK(get(a2, true, &c, 1, &a, &regressed, &why) == 0);
	CHECK(a.sign_count == 2);
	/* a replay of the first assertion once the counter moved */
	get_refused(a1, false, &c, 1, WEBAUTHN_ERR_COUNTER, true, __LINE__);
	get_refused(a1, false, &c, 2, WEBAUTHN_ERR_COUNTER, true, __LINE__);
	GET_REFUSED(a_bad, false, &c, 0, WEBAUTHN_ERR_SIG);

	CHECK(reg(reg_packed, true, &p, &why) == 0);
	CHECK(p.alg == alg);
	CHECK(get(packed_a1, true, &p, 0, &a, &regressed, &why) == 0);
	GET_REFUSED(packed_a1, false, &c, 0, WEBAUTHN_ERR_SIG); /* another credential's key */
	GET_REFUSED(a1, false, &p, 0, WEBAUTHN_ERR_SIG);
	REG_REFUSED(reg_packed_bad, false, WEBAUTHN_ERR_ATT_SIG);

	/* the stored key is taken for what the caller says it is */
	wrong = c;
	wrong.alg = alg == WEBAUTHN_ALG_ES256 ? WEBAUTHN_ALG_RS256 : WEBAUTHN_ALG_ES256;
	GET_REFUSED(a1, false, &wrong, 0, WEBAUTHN_ERR_KEY);
	wrong = c;
	snprintf(wrong.public_key, sizeof(wrong.public_key), "%s", "pQECAyYgASFYIA");
	GET_REFUSED(a1, false, &wrong, 0, WEBAUTHN_ERR_KEY);
	wrong.public_key[0] = '\0';
	GET_REFUSED(a1, false, &wrong, 0, WEBAUTHN_ERR_KEY);
	wrong = c; /* the key with a byte after it */
	cose[n] = 0;
	sodium_bin2base64(wrong.public_key, sizeof(wrong.public_key), cose, n + 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	GET_REFUSED(a1, false, &wrong, 0, WEBAUTHN_ERR_KEY);
	wrong = c; /* cut by a byte */
	sodium_bin2base64(wrong.public_key, sizeof(wrong.public_key), cose, n - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	GET_REFUSED(a1, false, &wrong, 0, WEBAUTHN_ERR_KEY);
}

static void
test_algorithms(void)
{
	alg_case(WEBAUTHN_ALG_ES256, WV_ES256_REG_NONE, WV_ES256_ASSERT_1, WV_ES256_ASSERT_2,
	    WV_ES256_ASSERT_BAD_SIG, WV_ES256_REG_PACKED, WV_ES256_REG_PACKED_BAD_SIG,
	    WV_ES256_PACKED_ASSERT_1);
	alg_case(WEBAUTHN_ALG_RS256, WV_RS256_REG_NONE, WV_RS256_ASSERT_1, WV_RS256_ASSERT_2,
	    WV_RS256_ASSERT_BAD_SIG, WV_RS256_REG_PACKED, WV_RS256_REG_PACKED_BAD_SIG,
	    WV_RS256_PACKED_ASSERT_1);
	alg_case(WEBAUTHN_ALG_EDDSA, WV_EDDSA_REG_NONE, WV_EDDSA_ASSERT_1, WV_EDDSA_ASSERT_2,
	    WV_EDDSA_ASSERT_BAD_SIG, WV_EDDSA_REG_PACKED, WV_EDDSA_REG_PACKED_BAD_SIG,
	    WV_EDDSA_PACKED_ASSERT_1);
}

static void
test_registration_refusals(void)
{
	struct webauthn_credential c;
	const char *why = NULL;

	CHECK(reg(WV_REG_BASE, true, &c, &why) == 0);
	REG_REFUSED(WV_REG_WRONG_ORIGIN, false, WEBAUTHN_ERR_ORIGIN);
	REG_REFUSED(WV_REG_WRONG_RPID, false, WEBAUTHN_ERR_RP);
	REG_REFUSED(WV_REG_WRONG_TYPE, false, WEBAUTHN_ERR_TYPE);
	REG_REFUSED(WV_REG_OTHER_CHALLENGE, false, WEBAUTHN_ERR_CHALLENGE);
	REG_REFUSED(WV_REG_NO_UP, false, WEBAUTHN_ERR_UP);
	REG_REFUSED(WV_REG_NO_UV, true, WEBAUTHN_ERR_UV);
	CHECK(reg(WV_REG_NO_UV, false, &c, &why) == 0);
	CHECK(!c.user_verified);
	REG_REFUSED(WV_REG_PACKED_NO_UV, true, WEBAUTHN_ERR_UV);
	CHECK(reg(WV_REG_PACKED_NO_UV, false, &c, &why) == 0);
	REG_REFUSED(WV_REG_CROSS_ORIGIN, false, WEBAUTHN_ERR_CROSS_ORIGIN);
	REG_REFUSED(WV_REG_ID_MISMATCH, false, WEBAUTHN_ERR_ID);
	/* the shapes of the authenticator data */
	REG_REFUSED(WV_REG_COSE_NONMINIMAL_ALG, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_COSE_DUP_KEY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_COSE_EXTRA_KEY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_COSE_OFF_CURVE, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_COSE_ES384, false, WEBAUTHN_ERR_ALG);
	REG_REFUSED(WV_REG_TRAILING_BYTE, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ED_NO_EXTENSIONS, false, WEBAUTHN_ERR_MALFORMED);
	CHECK(reg(WV_REG_ED_CRED_PROTECT, true, &c, &why) ==
	    0); /* extensions the RP did not ask for: ignored */
	REG_REFUSED(WV_REG_ED_DUP_EXTENSION, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_NO_AT, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_BS_WITHOUT_BE, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ID_LEN_PAST_END, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_SHORT_AUTHDATA, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ID_1024, false, WEBAUTHN_ERR_MALFORMED);
	/* the attestation object */
	REG_REFUSED(WV_REG_ATT_FIDO_U2F, false, WEBAUTHN_ERR_FMT);
	REG_REFUSED(WV_REG_ATT_NONE_STMT, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_EXTRA_KEY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_DUP_KEY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_TRAILING, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_TRUNCATED, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_INDEFINITE, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_TAGGED, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_HUGE_MAP, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_HUGE_ARRAY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_GARBAGE, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_ATT_FMT_BYTES, false, WEBAUTHN_ERR_MALFORMED);
	/* packed with an attestation certificate: its signature, checked with the leaf's key */
	CHECK(reg(WV_REG_X5C, true, &c, &why) == 0);
	CHECK(c.alg == WEBAUTHN_ALG_ES256);
	{
		struct webauthn_assertion a;
		bool regressed;
		CHECK(get(WV_X5C_ASSERT_1, true, &c, 0, &a, &regressed, &why) == 0);
	}
	REG_REFUSED(WV_REG_X5C_BAD_SIG, false, WEBAUTHN_ERR_ATT_SIG);
	REG_REFUSED(WV_REG_X5C_NOT_CERT, false, WEBAUTHN_ERR_ATT_SIG);
	REG_REFUSED(WV_REG_X5C_EMPTY, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_X5C_ECDAA, false, WEBAUTHN_ERR_MALFORMED);
	REG_REFUSED(WV_REG_PACKED_ALG_MISMATCH, false, WEBAUTHN_ERR_ALG);
	/* an expected challenge that is not the one sent, or none */
	{
		json_t *j = load(WV_REG_BASE);
		CHECK(webauthn_verify_registration(&rp, j, WV_OTHER_CHALLENGE, false, &c, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_CHALLENGE);
		CHECK(webauthn_verify_registration(&rp, j, "", false, &c, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_CHALLENGE);
		CHECK(webauthn_verify_registration(&rp, j, WV_CHALLENGE "A", false, &c, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_CHALLENGE);
		json_decref(j);
	}
	/* another RP configuration than the one the credential was made for */
	{
		struct webauthn_rp other = { "example", WV_ORIGIN };
		json_t *j = load(WV_REG_BASE);
		CHECK(webauthn_verify_registration(&other, j, WV_CHALLENGE, false, &c, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_RP);
		other.rp_id = WV_RP_ID;
		other.origin = WV_ORIGIN "/";
		CHECK(webauthn_verify_registration(&other, j, WV_CHALLENGE, false, &c, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_ORIGIN);
		json_decref(j);
	}
}

static void
test_assertion_refusals(void)
{
	struct webauthn_credential c;
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed = true;

	CHECK(reg(WV_GET_REG, true, &c, &why) == 0);
	CHECK(get(WV_GET_OK, true, &c, 0, &a, &regressed, &why) == 0);
	CHECK(!regressed && a.sign_count == 1);
	GET_REFUSED(WV_GET_WRONG_ORIGIN, false, &c, 0, WEBAUTHN_ERR_ORIGIN);
	GET_REFUSED(WV_GET_WRONG_RPID, false, &c, 0, WEBAUTHN_ERR_RP);
	GET_REFUSED(WV_GET_WRONG_TYPE, false, &c, 0, WEBAUTHN_ERR_TYPE);
	GET_REFUSED(WV_GET_OTHER_CHALLENGE, false, &c, 0, WEBAUTHN_ERR_CHALLENGE);
	GET_REFUSED(WV_GET_NO_UP, false, &c, 0, WEBAUTHN_ERR_UP);
	GET_REFUSED(WV_GET_NO_UV, true, &c, 0, WEBAUTHN_ERR_UV);
	CHECK(get(WV_GET_NO_UV, false, &c, 0, &a, &regressed, &why) == 0);
	CHECK(!a.user_verified);
	GET_REFUSED(WV_GET_BAD_SIG, false, &c, 0, WEBAUTHN_ERR_SIG);
	GET_REFUSED(WV_GET_BAD_AUTHDATA, false, &c, 0, WEBAUTHN_ERR_SIG);
	GET_REFUSED(WV_GET_ID_MISMATCH, false, &c, 0, WEBAUTHN_ERR_ID);
	GET_REFUSED(WV_GET_CROSS_ORIGIN, false, &c, 0, WEBAUTHN_ERR_CROSS_ORIGIN);
	GET_REFUSED(WV_GET_AT_FLAG, false, &c, 0, WEBAUTHN_ERR_MALFORMED);
	GET_REFUSED(WV_GET_ED_NO_EXTENSIONS, false, &c, 0, WEBAUTHN_ERR_MALFORMED);
	CHECK(get(WV_GET_NO_USER_HANDLE, true, &c, 0, &a, &regressed, &why) == 0);
	CHECK_STR(a.user_handle, "");

	/* the counter: both zero passes (an authenticator without one); else it must move forward */
	CHECK(get(WV_GET_COUNT_0, true, &c, 0, &a, &regressed, &why) == 0);
	CHECK(a.sign_count == 0 && !regressed);
	get_refused(WV_GET_COUNT_0, false, &c, 3, WEBAUTHN_ERR_COUNTER, true, __LINE__);
	get_refused(WV_GET_COUNT_7, false, &c, 7, WEBAUTHN_ERR_COUNTER, true, __LINE__);
	get_refused(WV_GET_COUNT_7, false, &c, 4000000000u, WEBAUTHN_ERR_COUNTER, true, __LINE__);
	CHECK(get(WV_GET_COUNT_7, true, &c, 6, &a, &regressed, &why) == 0);
	CHECK(a.sign_count == 7 && !regressed);
	/* a bad signature is refused before the counter is looked at: no audit for a forgery */
	get_refused(WV_GET_BAD_SIG, false, &c, 100, WEBAUTHN_ERR_SIG, false, __LINE__);

	/* the RP's configuration */
	{
		struct webauthn_rp other = { "example", WV_ORIGIN };
		json_t *j = load(WV_GET_OK);
		CHECK(webauthn_verify_assertion(&other, j, WV_CHALLENGE, false, c.alg, c.public_key, 0, &a,
		          &regressed, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_RP);
		CHECK(webauthn_verify_assertion(&rp, j, WV_OTHER_CHALLENGE, false, c.alg, c.public_key, 0, &a,
		          &regressed, &why) == -1);
		CHECK_STR(why, WEBAUTHN_ERR_CHALLENGE);
		json_decref(j);
	}
}

/* Set response.<member> (or the top-level member when response is false) of a copy of vec to v
 * (stolen; NULL deletes it) and expect a refusal with the reason want. */
static void
shape_refused(const char *vec, bool registration, bool in_response, const char *member, json_t *v,
    const char *want, int line)
{
	static struct webauthn_credential c; /* the ES256 key of WV_GET_REG */
	struct webauthn_credential out;
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed;
	json_t *j = load(vec), *obj = in_response ? json_object_get(j, "response") : j;
	int rc;

	if (c.alg == 0 && reg(WV_GET_REG, false, &c, &why) != 0)
		fatal("test_webauthn: WV_GET_REG");
	if (v)
		json_object_set_new(obj, member, v);
	else
		json_object_del(obj, member);
	rc = registration ? reg_json(j, false, &out, &why) : get_json(j, false, &c, 0, &a, &regressed, &why);
	if (rc != -1 || why == NULL || strcmp(why, want) != 0)
		fprintf(stderr, "line %d: %s: rc %d, why \"%s\", want \"%s\"\n", line, member, rc,
		    why ? why : "(null)", want);
	CHECK(rc == -1);
	CHECK_STR(why, want);
	json_decref(j);
}
#define SHAPE(vec, reg, in_resp, member, v, want) shape_refused(vec, reg, in_resp, member, v, want, __LINE__)

/* base64url of a C string, for clientDataJSON */
static json_t *
b64_text(const char *s, size_t n)
{
	char out[2048];

	sodium_bin2base64(out, sizeof(out), (const unsigned char *)s, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return json_string(out);
}
#define B64_TEXT(lit) b64_text(lit, sizeof(lit) - 1)

static void
test_json_shapes(void)
{
	static const char *const reg_members[] = { "id", "rawId", "type", "response" };
	static const char *const reg_resp[] = { "clientDataJSON", "attestationObject" };
	static const char *const get_resp[] = { "clientDataJSON", "authenticatorData", "signature" };
	static const char *const bad_b64[] = { "", "!!!!", "AAAA=", "AA==", "A", "AB", "AAA/", "AAA+",
		"AA AA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3"
		"\xa9" };
	char *huge;
	size_t i, k;

	/* each required member missing, of the wrong type, or not base64url */
	for (i = 0; i < 4; i++) {
		SHAPE(WV_GET_REG, true, false, reg_members[i], NULL, WEBAUTHN_ERR_MALFORMED);
		SHAPE(WV_GET_REG, true, false, reg_members[i], json_integer(1), WEBAUTHN_ERR_MALFORMED);
		SHAPE(WV_GET_OK, false, false, reg_members[i], NULL, WEBAUTHN_ERR_MALFORMED);
		SHAPE(WV_GET_OK, false, false, reg_members[i], json_array(), WEBAUTHN_ERR_MALFORMED);
	}
	for (i = 0; i < 2; i++) {
		SHAPE(WV_GET_REG, true, true, reg_resp[i], NULL, WEBAUTHN_ERR_MALFORMED);
		SHAPE(WV_GET_REG, true, true, reg_resp[i], json_null(), WEBAUTHN_ERR_MALFORMED);
		for (k = 0; k < sizeof(bad_b64) / sizeof(bad_b64[0]); k++)
			SHAPE(WV_GET_REG, true, true, reg_resp[i], json_string(bad_b64[k]),
			    WEBAUTHN_ERR_MALFORMED);
	}
	for (i = 0; i < 3; i++) {
		SHAPE(WV_GET_OK, false, true, get_resp[i], NULL, WEBAUTHN_ERR_MALFORMED);
		SHAPE(WV_GET_OK, false, true, get_resp[i], json_true(), WEBAUTHN_ERR_MALFORMED);
		for (k = 0; k < sizeof(bad_b64) / sizeof(bad_b64[0]); k++)
			SHAPE(WV_GET_OK, false, true, get_resp[i], json_string(bad_b64[k]),
			    WEBAUTHN_ERR_MALFORMED);
	}
	SHAPE(WV_GET_REG, true, false, "type", json_string("public-key "), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, false, "type", json_string("password"), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, false, "type", json_stringn("public-key\0x", 12), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, false, "id", json_string("AAAA"), WEBAUTHN_ERR_ID);
	SHAPE(WV_GET_OK, false, true, "userHandle", json_integer(5), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "userHandle", json_string("*"), WEBAUTHN_ERR_MALFORMED);
	/* 65 bytes: one past the spec's user handle */
	SHAPE(WV_GET_OK, false, true, "userHandle",
	    json_string(
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	    WEBAUTHN_ERR_MALFORMED);
	/* huge strings are refused by their length before any decoding */
	huge = xmalloc(200001);
	memset(huge, 'A', 200000);
	huge[200000] = '\0';
	SHAPE(WV_GET_REG, true, true, "attestationObject", json_string(huge), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_REG, true, true, "clientDataJSON", json_string(huge), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "authenticatorData", json_string(huge), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, false, "rawId", json_string(huge), WEBAUTHN_ERR_MALFORMED);
	free(huge);

	/* clientDataJSON that is not the expected JSON */
	SHAPE(WV_GET_OK, false, true, "clientDataJSON", B64_TEXT("{"), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON", B64_TEXT("[]"), WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE
	             "\",\"origin\":\"" WV_ORIGIN "\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\",\"origin\":\"" WV_ORIGIN
	             "\"} trailing"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT(
	        "{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\",\"origin\":\"\xff\xfe\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\",\"origin\":\"" WV_ORIGIN
	             "\\u0000\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":32,\"origin\":\"" WV_ORIGIN "\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\",\"origin\":\"" WV_ORIGIN
	             "\",\"crossOrigin\":\"false\"}"),
	    WEBAUTHN_ERR_MALFORMED);
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"type\":\"webauthn.get\",\"challenge\":\"" WV_CHALLENGE "\",\"origin\":\"" WV_ORIGIN
	             "\",\"topOrigin\":\"https://other.example\"}"),
	    WEBAUTHN_ERR_CROSS_ORIGIN);
	/* a well-formed one whose hash the signature does not cover (the members in another order) */
	SHAPE(WV_GET_OK, false, true, "clientDataJSON",
	    B64_TEXT("{\"challenge\":\"" WV_CHALLENGE "\",\"type\":\"webauthn.get\",\"origin\":\"" WV_ORIGIN
	             "\",\"crossOrigin\":false}"),
	    WEBAUTHN_ERR_SIG);
	/* a signature of another length */
	SHAPE(WV_GET_OK, false, true, "signature", json_string("AAAA"), WEBAUTHN_ERR_SIG);
}

/* base64url of the bytes of response.<member> of vec, into *out (freed by the caller) */
static size_t
member_bytes(const char *vec, const char *member, unsigned char **out)
{
	json_t *j = load(vec);
	const char *s = json_string_value(json_object_get(json_object_get(j, "response"), member));
	size_t n = 0, cap = strlen(s);

	*out = xmalloc(cap);
	if (sodium_base642bin(*out, cap, s, strlen(s), NULL, &n, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		fatal("test_webauthn: member_bytes");
	json_decref(j);
	return n;
}

/* vec with response.<member> replaced by the base64url of p[0..n): verified as a registration (or an
 * assertion with key c): the return code */
static int
with_member(const char *vec, const char *member, const unsigned char *p, size_t n,
    const struct webauthn_credential *c)
{
	struct webauthn_credential out;
	struct webauthn_assertion a;
	const char *why = NULL;
	bool regressed;
	char *text = xmalloc(n * 2 + 8);
	json_t *j = load(vec);
	int rc;

	sodium_bin2base64(text, n * 2 + 8, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_set_new(json_object_get(j, "response"), member, json_string(text));
	rc = c ? get_json(j, false, c, 0, &a, &regressed, &why) : reg_json(j, false, &out, &why);
	CHECK(rc == 0 ? why == NULL : why != NULL);
	json_decref(j);
	free(text);
	return rc;
}

/* Every prefix of a valid attestation object and authenticator data is refused; every one-bit flip
 * ends with an answer (and no sanitizer report); a flip in the signed bytes is refused. */
static void
test_cut_and_flip(void)
{
	struct webauthn_credential c;
	unsigned char *att, *ad, *sig;
	size_t natt, nad, nsig, i, passed;
	const char *why;

	CHECK(reg(WV_GET_REG, false, &c, &why) == 0);
	natt = member_bytes(WV_ES256_REG_PACKED, "attestationObject", &att);
	CHECK(with_member(WV_ES256_REG_PACKED, "attestationObject", att, natt, NULL) == 0);
	for (i = 1; i < natt; i++)
		CHECK(with_member(WV_ES256_REG_PACKED, "attestationObject", att, i, NULL) == -1);
	passed = 0;
	for (i = 0; i < natt * 8; i++) {
		att[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (with_member(WV_ES256_REG_PACKED, "attestationObject", att, natt, NULL) == 0)
			passed++;
		att[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	/* only the aaguid and the flags' UV, BE, RFU bits are outside both the signature and a check,
	 * and the packed signature covers them: nothing flipped passes */
	CHECK(passed == 0);
	free(att);

	nad = member_bytes(WV_GET_OK, "authenticatorData", &ad);
	CHECK(with_member(WV_GET_OK, "authenticatorData", ad, nad, &c) == 0);
	for (i = 0; i < nad; i++)
		CHECK(with_member(WV_GET_OK, "authenticatorData", ad, i, &c) == -1);
	for (i = 0; i < nad * 8; i++) {
		ad[i / 8] ^= (unsigned char)(1u << (i % 8));
		CHECK(with_member(WV_GET_OK, "authenticatorData", ad, nad, &c) == -1);
		ad[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	free(ad);

	nsig = member_bytes(WV_GET_OK, "signature", &sig);
	for (i = 0; i < nsig * 8; i++) {
		sig[i / 8] ^= (unsigned char)(1u << (i % 8));
		CHECK(with_member(WV_GET_OK, "signature", sig, nsig, &c) == -1);
		sig[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	for (i = 1; i < nsig; i++)
		CHECK(with_member(WV_GET_OK, "signature", sig, i, &c) == -1);
	free(sig);
}

/* The CBOR bound: shortest forms only, no tags or floats, announced sizes within the bytes. */
static void
test_cbor_bound(void)
{
	static const struct {
		const char *hex;
		int ok;
	} cases[] = {
		{ "00", 1 },
		{ "17", 1 },
		{ "1818", 1 },
		{ "1817", 0 },
		{ "190100", 1 },
		{ "1900ff", 0 },
		{ "1a00010000", 1 },
		{ "1a0000ffff", 0 },
		{ "1b0000000100000000", 1 },
		{ "1b00000000ffffffff", 0 },
		{ "20", 1 },
		{ "3806", 0 },
		{ "40", 1 },
		{ "4101", 1 },
		{ "4201", 0 },
		{ "5801ff", 0 },
		{ "60", 1 },
		{ "a0", 1 },
		{ "a10102", 1 },
		{ "a101", 0 },
		{ "80", 1 },
		{ "820102", 1 },
		{ "8201", 0 },
		{ "f4", 1 },
		{ "f5", 1 },
		{ "f6", 0 },
		{ "f7", 0 },
		{ "f93c00", 0 },
		{ "c001", 0 },
		{ "9f01ff", 0 },
		{ "bf0102ff", 0 },
		{ "5f4101ff", 0 },
		{ "bbffffffffffffffff", 0 },
		{ "9bffffffffffffffff", 0 },
		{ "9a0000ffff01", 0 },
		{ "", 0 },
		{ "ff", 0 },
		{ "1c", 0 },
	};
	unsigned char buf[64];
	size_t i, n, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].hex) / 2;
		if (sodium_hex2bin(buf, sizeof(buf), cases[i].hex, strlen(cases[i].hex), NULL, &n, NULL) != 0)
			fatal("test_webauthn: hex");
		int rc = webauthn_cbor_bound(buf, n, &len);
		if ((rc == 0) != cases[i].ok)
			fprintf(stderr, "webauthn_cbor_bound(%s) = %d\n", cases[i].hex, rc);
		CHECK((rc == 0) == cases[i].ok);
		CHECK(rc != 0 || len == n);
	}
	/* 65 nested arrays: past CBOR_ITEMS_MAX */
	memset(buf, 0x81, 64);
	buf[63] = 0x00;
	CHECK(webauthn_cbor_bound(buf, 64, &len) == 0);
	CHECK(webauthn_cbor_bound(buf, 63, &len) == -1);
	{
		unsigned char deep[80];
		memset(deep, 0x81, sizeof(deep));
		deep[79] = 0;
		CHECK(webauthn_cbor_bound(deep, sizeof(deep), &len) == -1);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_new_challenge();
	test_client_challenge();
	test_credential_id();
	test_algorithms();
	test_registration_refusals();
	test_assertion_refusals();
	test_json_shapes();
	test_cut_and_flip();
	test_cbor_bound();
	return test_summary("webauthn");
}
