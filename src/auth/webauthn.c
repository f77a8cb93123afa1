/*
 * webauthn — see webauthn.h.  The ceremonies: the credential's JSON envelope,
 * clientDataJSON, the attestation statement, and the calls into libfido2.
 * The shape of every input is checked before a library sees it: base64url
 * through libsodium (strict: no padding, no stray bits), JSON through jansson
 * (duplicate keys refused), CBOR, COSE keys and authenticator data through
 * webauthn_cbor (bounded before libcbor builds them, read with exact key
 * sets).  libfido2 then parses the authenticator data again (its parser feeds
 * its verification), is checked to have read the same, and checks the
 * signatures.  Must never: accept trailing bytes, a duplicate key, a length
 * past its bound, or compare a challenge other than in constant time.
 */
#include "auth/webauthn.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <sodium.h>

#include "auth/webauthn_cbor.h"
#include "util.h"

/* bounds on the decoded sizes of what a client sends */
#define CLIENT_DATA_MAX 4096  /* clientDataJSON */
#define ATT_OBJECT_MAX  16384 /* attestationObject, with an x5c chain */
#define AUTH_DATA_MAX   2048  /* an assertion's authenticatorData */
#define SIG_MAX         1024  /* RSA-2048: 256; ECDSA DER: <= 72; EdDSA: 64 */
#define USER_HANDLE_MAX 64    /* bytes, per spec */
#define CHALLENGE_MAX   128   /* base64url text of the challenge in clientDataJSON */
#define ORIGIN_MAX      1024
#define TRANSPORTS_MAX  8
#define B64_CAP(n)      (((n) + 2) / 3 * 4) /* base64url text for n bytes, without padding, is shorter */

/* ---------------------------------------------------------------- small helpers */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void);

/* Decode base64url text (no padding) of at most max bytes into a new buffer (*out, freed by the
 * caller; NULL when the text is empty).  0, or -1. */
static int
b64_decode(const char *s, size_t slen, size_t max, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t n;

	*out = NULL;
	*outlen = 0;
	if (slen == 0 || slen > B64_CAP(max))
		return -1;
	buf = xmalloc(slen / 4 * 3 + 3);
	if (sodium_base642bin(buf, slen / 4 * 3 + 3, s, slen, NULL, &n, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n == 0 || n > max) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* base64url (no padding) of n bytes into out: 0, or -1 when it does not fit. */
static int
b64_encode(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > outsz)
		return -1;
	sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* The string member key of obj, 1..max bytes long without a NUL (a caller may have loaded its JSON with
 * JSON_ALLOW_NUL), or NULL. */
static const char *
jstr(json_t *obj, const char *key, size_t max, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	if (*len == 0 || *len > max || memchr(json_string_value(v), '\0', *len) != NULL)
		return NULL;
	return json_string_value(v);
}

/* Decode the base64url string member key of obj (1..max bytes once decoded). */
static int
jb64(json_t *obj, const char *key, size_t max, unsigned char **out, size_t *outlen)
{
	const char *s;
	size_t slen;

	*out = NULL;
	if ((s = jstr(obj, key, B64_CAP(max), &slen)) == NULL)
		return -1;
	return b64_decode(s, slen, max, out, outlen);
}

/* rpIdHash, UP, UV: 0, or -1 with *why. */
static int
authdata_check(const struct webauthn_authdata *ad, const struct webauthn_rp *rp, bool require_uv,
    const char **why)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)rp->rp_id, strlen(rp->rp_id));
	if (sodium_memcmp(h, ad->rp_id_hash, sizeof(h)) != 0) {
		*why = WEBAUTHN_ERR_RP;
		return -1;
	}
	if (!(ad->flags & WEBAUTHN_FLAG_UP)) {
		*why = WEBAUTHN_ERR_UP;
		return -1;
	}
	if (require_uv && !(ad->flags & WEBAUTHN_FLAG_UV)) {
		*why = WEBAUTHN_ERR_UV;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- client data */

struct client_data {
	unsigned char *raw; /* the clientDataJSON bytes, hashed by libfido2 */
	size_t len;
	json_t *root;
	const char *type, *challenge, *origin;
	size_t challenge_len, origin_len;
};

static void
client_data_free(struct client_data *cd)
{
	free(cd->raw);
	json_decref(cd->root);
	memset(cd, 0, sizeof(*cd));
}

/* Decode and parse response.clientDataJSON: 0, or -1 with *why. */
static int
client_data_parse(json_t *credential, struct client_data *cd, const char **why)
{
	json_t *response, *v;
	size_t tlen;

	memset(cd, 0, sizeof(*cd));
	*why = WEBAUTHN_ERR_MALFORMED;
	if (!json_is_object(credential) ||
	    !json_is_object(response = json_object_get(credential, "response")))
		return -1;
	if (jb64(response, "clientDataJSON", CLIENT_DATA_MAX, &cd->raw, &cd->len) < 0)
		return -1;
	cd->root = json_loadb((const char *)cd->raw, cd->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(cd->root) || (cd->type = jstr(cd->root, "type", 64, &tlen)) == NULL ||
	    (cd->challenge = jstr(cd->root, "challenge", CHALLENGE_MAX, &cd->challenge_len)) == NULL ||
	    (cd->origin = jstr(cd->root, "origin", ORIGIN_MAX, &cd->origin_len)) == NULL)
		goto fail;
	if ((v = json_object_get(cd->root, "crossOrigin")) != NULL && !json_is_boolean(v))
		goto fail;
	if (json_is_true(v) || json_object_get(cd->root, "topOrigin") != NULL) {
		*why = WEBAUTHN_ERR_CROSS_ORIGIN;
		goto fail;
	}
	*why = NULL;
	return 0;
fail:
	client_data_free(cd);
	return -1;
}

/* The checks of §7.1 steps 7-10 / §7.2 steps 11-14: type, challenge, origin. */
static int
client_data_check(const struct client_data *cd, const char *type, const char *challenge,
    const struct webauthn_rp *rp, const char **why)
{
	size_t clen = challenge ? strlen(challenge) : 0;

	if (strcmp(cd->type, type) != 0) {
		*why = WEBAUTHN_ERR_TYPE;
		return -1;
	}
	if (clen == 0 || cd->challenge_len != clen || sodium_memcmp(cd->challenge, challenge, clen) != 0) {
		*why = WEBAUTHN_ERR_CHALLENGE;
		return -1;
	}
	if (cd->origin_len != strlen(rp->origin) || memcmp(cd->origin, rp->origin, cd->origin_len) != 0) {
		*why = WEBAUTHN_ERR_ORIGIN;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the credential's envelope */

/* type "public-key", rawId decodes (1..1023 bytes) and id is the same text: the raw id into
 * *raw (freed by the caller).  0, or -1 with *why. */
static int
credential_raw_id(json_t *credential, unsigned char **raw, size_t *rawlen, const char **why)
{
	const char *id, *raw_id, *type;
	size_t idlen, rawidlen, tlen;

	*raw = NULL;
	*why = WEBAUTHN_ERR_MALFORMED;
	if (!json_is_object(credential) || (type = jstr(credential, "type", 32, &tlen)) == NULL ||
	    strcmp(type, "public-key") != 0 ||
	    (id = jstr(credential, "id", B64_CAP(WEBAUTHN_CRED_ID_MAX), &idlen)) == NULL ||
	    (raw_id = jstr(credential, "rawId", B64_CAP(WEBAUTHN_CRED_ID_MAX), &rawidlen)) == NULL)
		return -1;
	if (b64_decode(raw_id, rawidlen, WEBAUTHN_CRED_ID_MAX, raw, rawlen) < 0)
		return -1;
	if (idlen != rawidlen || memcmp(id, raw_id, idlen) != 0) {
		*why = WEBAUTHN_ERR_ID;
		free(*raw);
		*raw = NULL;
		return -1;
	}
	*why = NULL;
	return 0;
}

/* response.transports when it is an array of at most TRANSPORTS_MAX distinct short lower-case
 * names: comma-separated into out; else "". */
static void
transports_copy(json_t *response, char *out, size_t outsz)
{
	json_t *t = json_object_get(response, "transports"), *v;
	size_t i, j, len, at = 0;
	const char *s;

	out[0] = '\0';
	if (!json_is_array(t) || json_array_size(t) > TRANSPORTS_MAX)
		return;
	json_array_foreach (t, i, v) {
		if (!json_is_string(v) || (len = json_string_length(v)) == 0 || len > 16)
			goto insane;
		s = json_string_value(v);
		for (j = 0; j < len; j++)
			if (!((s[j] >= 'a' && s[j] <= 'z') || s[j] == '-'))
				goto insane;
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(t, j)), s) == 0)
				goto insane;
		if (at + len + 2 > outsz)
			goto insane;
		if (at > 0)
			out[at++] = ',';
		memcpy(out + at, s, len);
		at += len;
		out[at] = '\0';
	}
	return;
insane:
	out[0] = '\0';
}

/* ---------------------------------------------------------------- public */

static void
init(void)
{
	fido_init(0);
}

void
webauthn_new_challenge(char *out, size_t outsz)
{
	unsigned char b[WEBAUTHN_CHALLENGE_LEN];

	randombytes_buf(b, sizeof(b));
	if (b64_encode(b, sizeof(b), out, outsz) < 0)
		fatal("webauthn_new_challenge: buffer of %zu bytes", outsz); /* a caller's bug */
	sodium_memzero(b, sizeof(b));
}

int
webauthn_client_challenge(json_t *credential, char *out, size_t outsz, const char **why)
{
	struct client_data cd;
	size_t i;

	if (client_data_parse(credential, &cd, why) < 0)
		return -1;
	for (i = 0; i < cd.challenge_len; i++) {
		char c = cd.challenge[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_'))
			break;
	}
	if (i < cd.challenge_len || cd.challenge_len >= outsz) {
		*why = WEBAUTHN_ERR_CHALLENGE;
		client_data_free(&cd);
		return -1;
	}
	memcpy(out, cd.challenge, cd.challenge_len);
	out[cd.challenge_len] = '\0';
	client_data_free(&cd);
	return 0;
}

int
webauthn_credential_id(json_t *credential, char *out, size_t outsz)
{
	unsigned char *raw;
	size_t rawlen;
	const char *why;
	int rc;

	if (credential_raw_id(credential, &raw, &rawlen, &why) < 0)
		return -1;
	rc = b64_encode(raw, rawlen, out, outsz);
	free(raw);
	return rc;
}

/* The attestation statement: "none" (empty), or "packed" with alg and sig and, for a full
 * attestation, x5c (a non-empty array of certificates, the leaf first).  For packed, *stmt is set to
 * the statement item (borrowed from att). */
static int
attestation_statement(const cbor_item_t *fmt, const cbor_item_t *stmt, int cred_alg, bool *packed, bool *full,
    const char **why)
{
	static const char *const names[] = { "alg", "sig", "x5c" };
	cbor_item_t *v[3], **certs;
	int64_t alg;
	size_t i;

	*why = WEBAUTHN_ERR_MALFORMED;
	if (webauthn_cbor_text_is(fmt, "none")) {
		*packed = false;
		if (!cbor_isa_map(stmt) || !cbor_map_is_definite(stmt) || cbor_map_size(stmt) != 0)
			return -1;
		return 0;
	}
	if (!webauthn_cbor_text_is(fmt, "packed")) {
		*why = WEBAUTHN_ERR_FMT;
		return -1;
	}
	*packed = true;
	if (webauthn_cbor_fields(stmt, names, 3, v, false) < 0 || webauthn_cbor_int(v[0], &alg) < 0 ||
	    !webauthn_cbor_is_bytes(v[1]) || cbor_bytestring_length(v[1]) == 0 ||
	    cbor_bytestring_length(v[1]) > SIG_MAX)
		return -1;
	*full = v[2] != NULL;
	if (*full) {
		if (!cbor_isa_array(v[2]) || !cbor_array_is_definite(v[2]) || cbor_array_size(v[2]) == 0)
			return -1;
		certs = cbor_array_handle(v[2]);
		for (i = 0; i < cbor_array_size(v[2]); i++)
			if (!webauthn_cbor_is_bytes(certs[i]) || cbor_bytestring_length(certs[i]) == 0)
				return -1;
		if (alg != WEBAUTHN_ALG_ES256 && alg != WEBAUTHN_ALG_RS256 && alg != WEBAUTHN_ALG_EDDSA) {
			*why = WEBAUTHN_ERR_ALG;
			return -1;
		}
	} else if (alg != cred_alg) { /* self attestation: signed by the credential key */
		*why = WEBAUTHN_ERR_ALG;
		return -1;
	}
	return 0;
}

/* libfido2's view of the registration: it parses the authenticator data again, and for packed
 * verifies the attestation signature (self: with the credential key; x5c: with the leaf). */
static int
fido_check_registration(const struct webauthn_rp *rp, const struct client_data *cd,
    const unsigned char *ad_raw, size_t ad_len, const struct webauthn_authdata *ad, const cbor_item_t *stmt,
    bool packed, bool full, bool require_uv, const char **why)
{
	fido_cred_t *cred = fido_cred_new();
	unsigned char *stmt_raw = NULL;
	size_t stmt_len = 0, cap = 0;
	int rc = -1, r;

	*why = WEBAUTHN_ERR_MALFORMED;
	if (cred == NULL)
		fatal("out of memory");
	if (fido_cred_set_type(cred, ad->key.alg) != FIDO_OK ||
	    fido_cred_set_rp(cred, rp->rp_id, NULL) != FIDO_OK ||
	    fido_cred_set_clientdata(cred, cd->raw, cd->len) != FIDO_OK ||
	    fido_cred_set_authdata_raw(cred, ad_raw, ad_len) != FIDO_OK ||
	    fido_cred_set_uv(cred, require_uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK ||
	    fido_cred_set_fmt(cred, packed ? "packed" : "none") != FIDO_OK)
		goto done;
	/* libfido2 read the same credential */
	if (fido_cred_id_len(cred) != ad->cred_id_len ||
	    memcmp(fido_cred_id_ptr(cred), ad->cred_id, ad->cred_id_len) != 0 ||
	    fido_cred_flags(cred) != ad->flags || fido_cred_sigcount(cred) != ad->sign_count)
		goto done;
	if (!packed) {
		rc = 0;
		goto done;
	}
	if ((ad->ext_mask && fido_cred_set_extensions(cred, ad->ext_mask) != FIDO_OK) ||
	    (ad->ext_prot && fido_cred_set_prot(cred, ad->ext_prot) != FIDO_OK) ||
	    (ad->ext_minpin && fido_cred_set_pin_minlen(cred, ad->ext_minpin) != FIDO_OK))
		goto done;
	if ((stmt_len = cbor_serialize_alloc(stmt, &stmt_raw, &cap)) == 0 ||
	    fido_cred_set_attstmt(cred, stmt_raw, stmt_len) != FIDO_OK)
		goto done;
	r = full ? fido_cred_verify(cred) : fido_cred_verify_self(cred);
	if (r != FIDO_OK) {
		*why = r == FIDO_ERR_INVALID_SIG ? WEBAUTHN_ERR_ATT_SIG : WEBAUTHN_ERR_MALFORMED;
		goto done;
	}
	rc = 0;
done:
	free(stmt_raw);
	fido_cred_free(&cred);
	return rc;
}

int
webauthn_verify_registration(const struct webauthn_rp *rp, json_t *credential, const char *challenge,
    bool require_uv, struct webauthn_credential *out, const char **why)
{
	static const char *const names[] = { "fmt", "attStmt", "authData" };
	struct client_data cd = { 0 };
	struct webauthn_authdata ad;
	cbor_item_t *att = NULL, *v[3];
	unsigned char *raw_id = NULL, *att_raw = NULL;
	size_t raw_id_len, att_len;
	bool packed = false, full = false;
	const unsigned char *g;
	json_t *response;
	int rc = -1;

	pthread_once(&init_once, init);
	memset(out, 0, sizeof(*out));
	if (credential_raw_id(credential, &raw_id, &raw_id_len, why) < 0 ||
	    client_data_parse(credential, &cd, why) < 0 ||
	    client_data_check(&cd, "webauthn.create", challenge, rp, why) < 0)
		goto done;
	*why = WEBAUTHN_ERR_MALFORMED;
	response = json_object_get(credential, "response");
	if (jb64(response, "attestationObject", ATT_OBJECT_MAX, &att_raw, &att_len) < 0 ||
	    (att = webauthn_cbor_whole(att_raw, att_len)) == NULL ||
	    webauthn_cbor_fields(att, names, 3, v, false) < 0 || v[0] == NULL || v[1] == NULL ||
	    !webauthn_cbor_is_bytes(v[2]))
		goto done;
	if (!cbor_isa_string(v[0]) || !cbor_string_is_definite(v[0]))
		goto done;
	if (webauthn_authdata_parse(cbor_bytestring_handle(v[2]), cbor_bytestring_length(v[2]), true, &ad,
	        why) < 0 ||
	    authdata_check(&ad, rp, require_uv, why) < 0)
		goto done;
	if (ad.cred_id_len != raw_id_len || memcmp(ad.cred_id, raw_id, raw_id_len) != 0) {
		*why = WEBAUTHN_ERR_ID;
		goto done;
	}
	if (attestation_statement(v[0], v[1], ad.key.alg, &packed, &full, why) < 0)
		goto done;
	/* a key libfido2 can use (a point on the curve, ...): the assertions will need it */
	{
		void *pk = webauthn_cose_pk_new(&ad.key);
		if (pk == NULL) {
			*why = WEBAUTHN_ERR_MALFORMED;
			goto done;
		}
		webauthn_cose_pk_free(ad.key.alg, pk);
	}
	if (fido_check_registration(rp, &cd, cbor_bytestring_handle(v[2]), cbor_bytestring_length(v[2]), &ad,
	        v[1], packed, full, require_uv, why) < 0)
		goto done;
	*why = WEBAUTHN_ERR_MALFORMED;
	if (b64_encode(ad.cred_id, ad.cred_id_len, out->cred_id, sizeof(out->cred_id)) < 0 ||
	    b64_encode(ad.cose, ad.cose_len, out->public_key, sizeof(out->public_key)) < 0)
		goto done;
	out->alg = ad.key.alg;
	out->sign_count = ad.sign_count;
	out->user_verified = ad.flags & WEBAUTHN_FLAG_UV;
	out->backup_eligible = ad.flags & WEBAUTHN_FLAG_BE;
	out->backed_up = ad.flags & WEBAUTHN_FLAG_BS;
	g = ad.aaguid;
	snprintf(out->aaguid, sizeof(out->aaguid),
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1], g[2], g[3],
	    g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
	transports_copy(response, out->transports, sizeof(out->transports));
	*why = NULL;
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	if (att)
		cbor_decref(&att);
	free(att_raw);
	free(raw_id);
	client_data_free(&cd);
	return rc;
}

int
webauthn_verify_assertion(const struct webauthn_rp *rp, json_t *credential, const char *challenge,
    bool require_uv, int alg, const char *public_key, uint32_t stored_count, struct webauthn_assertion *out,
    bool *counter_regressed, const char **why)
{
	struct client_data cd = { 0 };
	struct webauthn_authdata ad;
	struct webauthn_cose_key key;
	fido_assert_t *a = NULL;
	unsigned char *raw_id = NULL, *ad_raw = NULL, *sig = NULL, *handle = NULL, *cose = NULL;
	size_t raw_id_len, ad_len, sig_len, handle_len, cose_len, used;
	const char *s, *kwhy;
	json_t *response, *uh;
	void *pk = NULL;
	int rc = -1, r;

	pthread_once(&init_once, init);
	memset(out, 0, sizeof(*out));
	*counter_regressed = false;
	if (credential_raw_id(credential, &raw_id, &raw_id_len, why) < 0 ||
	    client_data_parse(credential, &cd, why) < 0 ||
	    client_data_check(&cd, "webauthn.get", challenge, rp, why) < 0)
		goto done;
	*why = WEBAUTHN_ERR_MALFORMED;
	response = json_object_get(credential, "response");
	if (jb64(response, "authenticatorData", AUTH_DATA_MAX, &ad_raw, &ad_len) < 0 ||
	    jb64(response, "signature", SIG_MAX, &sig, &sig_len) < 0)
		goto done;
	uh = json_object_get(response, "userHandle");
	if (uh != NULL && !json_is_null(uh)) {
		if (!json_is_string(uh))
			goto done;
		if (json_string_length(uh) > 0 &&
		    (b64_decode(json_string_value(uh), json_string_length(uh), USER_HANDLE_MAX, &handle,
		         &handle_len) < 0 ||
		        b64_encode(handle, handle_len, out->user_handle, sizeof(out->user_handle)) < 0))
			goto done;
	}
	if (webauthn_authdata_parse(ad_raw, ad_len, false, &ad, why) < 0 ||
	    authdata_check(&ad, rp, require_uv, why) < 0)
		goto done;

	/* the stored key, as webauthn_verify_registration encoded it */
	*why = WEBAUTHN_ERR_KEY;
	if (public_key == NULL ||
	    b64_decode(public_key, strlen(public_key), WEBAUTHN_B64_MAX, &cose, &cose_len) < 0 ||
	    webauthn_cose_parse(cose, cose_len, &used, &key, &kwhy) < 0 || used != cose_len ||
	    key.alg != alg || (pk = webauthn_cose_pk_new(&key)) == NULL)
		goto done;

	*why = WEBAUTHN_ERR_MALFORMED;
	if ((a = fido_assert_new()) == NULL)
		fatal("out of memory");
	if (fido_assert_set_count(a, 1) != FIDO_OK || fido_assert_set_rp(a, rp->rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata(a, cd.raw, cd.len) != FIDO_OK ||
	    fido_assert_set_authdata_raw(a, 0, ad_raw, ad_len) != FIDO_OK ||
	    fido_assert_set_sig(a, 0, sig, sig_len) != FIDO_OK ||
	    fido_assert_set_up(a, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_assert_set_uv(a, require_uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK ||
	    (ad.ext_mask && fido_assert_set_extensions(a, ad.ext_mask) != FIDO_OK))
		goto done;
	if (fido_assert_flags(a, 0) != ad.flags || fido_assert_sigcount(a, 0) != ad.sign_count)
		goto done;
	r = fido_assert_verify(a, 0, alg, pk);
	if (r != FIDO_OK) {
		*why = r == FIDO_ERR_INVALID_SIG ? WEBAUTHN_ERR_SIG : WEBAUTHN_ERR_MALFORMED;
		goto done;
	}
	/* §7.2 step 21: a counter that does not move forward may be a cloned authenticator */
	if ((stored_count != 0 || ad.sign_count != 0) && ad.sign_count <= stored_count) {
		*why = WEBAUTHN_ERR_COUNTER;
		*counter_regressed = true;
		goto done;
	}
	s = json_string_value(json_object_get(credential, "rawId"));
	if (strlcpy_ok(out->cred_id, s, sizeof(out->cred_id)) < 0)
		goto done;
	out->sign_count = ad.sign_count;
	out->user_verified = ad.flags & WEBAUTHN_FLAG_UV;
	*why = NULL;
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	fido_assert_free(&a);
	webauthn_cose_pk_free(alg, pk);
	free(raw_id);
	free(ad_raw);
	free(sig);
	free(handle);
	free(cose);
	client_data_free(&cd);
	return rc;
}
