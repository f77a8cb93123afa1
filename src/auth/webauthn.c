/*
 * webauthn — see webauthn.h.  The shape of every input is checked here before
 * a library sees it: base64url through libsodium (strict: no padding, no
 * stray bits), JSON through jansson (duplicate keys refused), CBOR through
 * libcbor in two passes: libcbor's streaming decoder first walks the item
 * header by header to bound it (a definite map or array may not announce more
 * members than there are bytes left, since libcbor 0.8's cbor_load allocates
 * what a header announces before reading it; only the item kinds WebAuthn uses,
 * in their shortest encoding, at most CBOR_ITEMS_MAX of them), then cbor_load
 * builds the tree, read with exact key sets.  The authenticator data is a fixed
 * binary layout read here with bounds; libfido2 then parses it again (its
 * parser is the one that feeds its verification) and checks the signatures.
 * Must never: accept trailing bytes, a duplicate key, a length past its bound,
 * or compare a challenge other than in constant time.
 */
#include "auth/webauthn.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <sodium.h>

#include "util.h"

/* bounds on the decoded sizes of what a client sends */
#define CLIENT_DATA_MAX 4096  /* clientDataJSON */
#define ATT_OBJECT_MAX  16384 /* attestationObject, with an x5c chain */
#define AUTH_DATA_MAX   2048  /* an assertion's authenticatorData */
#define SIG_MAX         1024  /* RSA-2048: 256; ECDSA DER: <= 72; EdDSA: 64 */
#define USER_HANDLE_MAX 64    /* bytes, per spec */
#define CHALLENGE_MAX   128   /* base64url text of the challenge in clientDataJSON */
#define ORIGIN_MAX      1024
#define CBOR_ITEMS_MAX  64 /* items in one CBOR value: an attestation object has about 15 */
#define TRANSPORTS_MAX  8
#define B64_CAP(n)      (((n) + 2) / 3 * 4) /* base64url text for n bytes, without padding, is shorter */

#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define FLAG_BE 0x08
#define FLAG_BS 0x10
#define FLAG_AT 0x40
#define FLAG_ED 0x80

#define AUTHDATA_HEAD 37 /* rpIdHash, flags, signCount */

#define ERR_MALFORMED    "Malformed credential."
#define ERR_ORIGIN       "Wrong origin."
#define ERR_RP           "Wrong relying party."
#define ERR_TYPE         "The response is for another step."
#define ERR_CHALLENGE    "The challenge does not match."
#define ERR_CROSS_ORIGIN "Cross-origin requests are not accepted."
#define ERR_UP           "User presence was not confirmed."
#define ERR_UV           "User verification was required but not performed."
#define ERR_FMT          "Unsupported attestation format."
#define ERR_ALG          "Unsupported key algorithm."
#define ERR_ATT_SIG      "The attestation signature is not valid."
#define ERR_SIG          "The security key's signature is not valid."
#define ERR_COUNTER      "The security key's signature counter went backwards."
#define ERR_ID           "The credential id does not match."
#define ERR_KEY          "The stored key is not usable."

/* ---------------------------------------------------------------- small helpers */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct cbor_callbacks scan_cb;

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

/* The string member key of obj, 1..max bytes long, or NULL. */
static const char *
jstr(json_t *obj, const char *key, size_t max, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	if (*len == 0 || *len > max)
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

/* ---------------------------------------------------------------- CBOR: bound, then load */

/* What the streaming decoder saw of one item: how many bytes its shortest
 * encoding takes, and how many members it announces. */
struct scan {
	bool ok;
	size_t want; /* shortest encoding of the header (and a string's bytes) */
	size_t add;  /* items this one announces (array: n, map: 2n) */
};

static size_t
head_len(uint64_t v)
{
	return v < 24 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffff ? 5 : 9;
}

static void
scan_int(void *ctx, uint64_t v)
{
	struct scan *s = ctx;

	s->ok = true;
	s->want = head_len(v);
}

static void
scan_u8(void *ctx, uint8_t v)
{
	scan_int(ctx, v);
}

static void
scan_u16(void *ctx, uint16_t v)
{
	scan_int(ctx, v);
}

static void
scan_u32(void *ctx, uint32_t v)
{
	scan_int(ctx, v);
}

static void
scan_u64(void *ctx, uint64_t v)
{
	scan_int(ctx, v);
}

static void
scan_string(void *ctx, cbor_data data, size_t len)
{
	struct scan *s = ctx;

	(void)data;
	s->ok = len <= SIZE_MAX - 9;
	s->want = head_len(len) + len;
}

static void
scan_array(void *ctx, size_t n)
{
	struct scan *s = ctx;

	s->ok = true;
	s->want = head_len(n);
	s->add = n;
}

static void
scan_map(void *ctx, size_t n)
{
	struct scan *s = ctx;

	s->ok = n <= SIZE_MAX / 2;
	s->want = head_len(n);
	s->add = s->ok ? n * 2 : 0;
}

static void
scan_bool(void *ctx, bool v)
{
	struct scan *s = ctx;

	(void)v;
	s->ok = true;
	s->want = 1;
}

/* Length of the one CBOR item at p[0..n): 0 and *len, or -1 when it is cut,
 * malformed, not in its shortest form, of a kind WebAuthn does not use
 * (tags, floats, null, undefined, indefinite lengths), announces more than
 * the bytes left could hold, or holds more than CBOR_ITEMS_MAX items. */
static int
cbor_bound(const unsigned char *p, size_t n, size_t *len)
{
	struct cbor_decoder_result r;
	struct scan s;
	size_t off = 0, pending = 1, items = 0;

	pthread_once(&init_once, init);
	while (pending > 0) {
		if (off >= n || ++items > CBOR_ITEMS_MAX)
			return -1;
		memset(&s, 0, sizeof(s));
		r = cbor_stream_decode(p + off, n - off, &scan_cb, &s);
		if (r.status != CBOR_DECODER_FINISHED || !s.ok || r.read != s.want || r.read > n - off)
			return -1;
		off += r.read;
		pending--;
		if (s.add > n - off) /* every member takes a byte at least */
			return -1;
		pending += s.add;
	}
	*len = off;
	return 0;
}

/* The one CBOR item at p[0..n), bounded as cbor_bound says: a new item
 * (cbor_decref), with *used its length; NULL when refused. */
static cbor_item_t *
cbor_take(const unsigned char *p, size_t n, size_t *used)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t len;

	if (cbor_bound(p, n, &len) < 0)
		return NULL;
	item = cbor_load(p, len, &res);
	if (item == NULL)
		return NULL;
	if (res.error.code != CBOR_ERR_NONE || res.read != len) {
		cbor_decref(&item);
		return NULL;
	}
	*used = len;
	return item;
}

/* The whole of p[0..n) as one CBOR item, or NULL (trailing bytes refused). */
static cbor_item_t *
cbor_whole(const unsigned char *p, size_t n)
{
	cbor_item_t *item;
	size_t used;

	if ((item = cbor_take(p, n, &used)) == NULL)
		return NULL;
	if (used != n) {
		cbor_decref(&item);
		return NULL;
	}
	return item;
}

static bool
text_is(const cbor_item_t *item, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(item) && cbor_string_is_definite(item) && cbor_string_length(item) == n &&
	    memcmp(cbor_string_handle(item), s, n) == 0;
}

/* Map m's text keys against names[0..count): vals[i] gets the value of names[i] (NULL if absent).
 * -1 when m is not a definite map, a key is not text, a key repeats, or (unless others) a key is not
 * in names. */
static int
map_fields(const cbor_item_t *m, const char *const *names, size_t count, cbor_item_t **vals, bool others)
{
	struct cbor_pair *pairs;
	size_t n, i, j, k;

	if (!cbor_isa_map(m) || !cbor_map_is_definite(m))
		return -1;
	for (k = 0; k < count; k++)
		vals[k] = NULL;
	n = cbor_map_size(m);
	pairs = cbor_map_handle(m);
	for (i = 0; i < n; i++) {
		if (!cbor_isa_string(pairs[i].key) || !cbor_string_is_definite(pairs[i].key))
			return -1;
		for (j = 0; j < i; j++)
			if (cbor_string_length(pairs[j].key) == cbor_string_length(pairs[i].key) &&
			    memcmp(cbor_string_handle(pairs[j].key), cbor_string_handle(pairs[i].key),
			        cbor_string_length(pairs[i].key)) == 0)
				return -1;
		for (k = 0; k < count; k++)
			if (text_is(pairs[i].key, names[k]))
				break;
		if (k < count)
			vals[k] = pairs[i].value;
		else if (!others)
			return -1;
	}
	return 0;
}

static bool
is_bytes(const cbor_item_t *item)
{
	return item != NULL && cbor_isa_bytestring(item) && cbor_bytestring_is_definite(item);
}

/* A CBOR integer as int64_t: 0, or -1 when not an integer or out of range. */
static int
cbor_int64(const cbor_item_t *item, int64_t *out)
{
	uint64_t v;

	if (item == NULL || !(cbor_isa_uint(item) || cbor_isa_negint(item)))
		return -1;
	v = cbor_get_int(item);
	if (v > INT32_MAX)
		return -1;
	*out = cbor_isa_uint(item) ? (int64_t)v : -1 - (int64_t)v;
	return 0;
}

/* ---------------------------------------------------------------- COSE keys */

struct cose_key {
	int alg;
	unsigned char x[32], y[32]; /* ES256: the point; EdDSA: x */
	unsigned char rsa[259];     /* RS256: n (256 bytes) || e (3 bytes), libfido2's rs256_pk layout */
};

/* Parse the COSE_Key at p[0..n) (with *used its length; trailing bytes are the caller's): the
 * exact members of an ES256 (EC2, P-256), RS256 (RSA) or EdDSA (OKP, Ed25519) public key, no
 * other.  0, or -1 with *why. */
static int
cose_key_parse(const unsigned char *p, size_t n, size_t *used, struct cose_key *k, const char **why)
{
	cbor_item_t *item, *v[5] = { NULL }; /* kty(1), alg(3), -1, -2, -3 */
	static const int64_t labels[5] = { 1, 3, -1, -2, -3 };
	struct cbor_pair *pairs;
	int64_t label, kty, alg, crv;
	size_t i, j, count;
	int rc = -1;

	*why = ERR_MALFORMED;
	memset(k, 0, sizeof(*k));
	if ((item = cbor_take(p, n, used)) == NULL)
		return -1;
	if (!cbor_isa_map(item) || !cbor_map_is_definite(item))
		goto done;
	count = cbor_map_size(item);
	pairs = cbor_map_handle(item);
	for (i = 0; i < count; i++) {
		if (cbor_int64(pairs[i].key, &label) < 0)
			goto done;
		for (j = 0; j < 5 && labels[j] != label; j++)
			;
		if (j == 5 || v[j] != NULL) /* a member no supported key has, or twice */
			goto done;
		v[j] = pairs[i].value;
	}
	if (cbor_int64(v[0], &kty) < 0 || cbor_int64(v[1], &alg) < 0)
		goto done;
	*why = ERR_ALG;
	switch (alg) {
	case WEBAUTHN_ALG_ES256:
		if (kty != 2 || cbor_int64(v[2], &crv) < 0 || crv != 1)
			goto done;
		*why = ERR_MALFORMED;
		if (!is_bytes(v[3]) || cbor_bytestring_length(v[3]) != 32 || !is_bytes(v[4]) ||
		    cbor_bytestring_length(v[4]) != 32)
			goto done;
		memcpy(k->x, cbor_bytestring_handle(v[3]), 32);
		memcpy(k->y, cbor_bytestring_handle(v[4]), 32);
		break;
	case WEBAUTHN_ALG_EDDSA:
		if (kty != 1 || cbor_int64(v[2], &crv) < 0 || crv != 6)
			goto done;
		*why = ERR_MALFORMED;
		if (!is_bytes(v[3]) || cbor_bytestring_length(v[3]) != 32 || v[4] != NULL)
			goto done;
		memcpy(k->x, cbor_bytestring_handle(v[3]), 32);
		break;
	case WEBAUTHN_ALG_RS256:
		/* libfido2's rs256_pk holds a 2048-bit modulus and a 3-byte exponent exactly */
		if (kty != 3 || !is_bytes(v[2]) || cbor_bytestring_length(v[2]) != 256 || !is_bytes(v[3]) ||
		    cbor_bytestring_length(v[3]) != 3)
			goto done;
		*why = ERR_MALFORMED;
		if (v[4] != NULL)
			goto done;
		memcpy(k->rsa, cbor_bytestring_handle(v[2]), 256);
		memcpy(k->rsa + 256, cbor_bytestring_handle(v[3]), 3);
		break;
	default:
		goto done;
	}
	k->alg = (int)alg;
	*why = NULL;
	rc = 0;
done:
	cbor_decref(&item);
	return rc;
}

/* A libfido2 public key for k (es256_pk_t, rs256_pk_t or eddsa_pk_t; free with pk_free), or NULL
 * when libfido2 refuses the key (a point off the curve, ...). */
static void *
pk_new(const struct cose_key *k)
{
	unsigned char xy[64];
	void *pk = NULL;

	switch (k->alg) {
	case WEBAUTHN_ALG_ES256:
		memcpy(xy, k->x, 32);
		memcpy(xy + 32, k->y, 32);
		pk = es256_pk_new();
		if (pk && es256_pk_from_ptr(pk, xy, sizeof(xy)) != FIDO_OK)
			es256_pk_free((es256_pk_t **)&pk);
		break;
	case WEBAUTHN_ALG_RS256:
		pk = rs256_pk_new();
		if (pk && rs256_pk_from_ptr(pk, k->rsa, sizeof(k->rsa)) != FIDO_OK)
			rs256_pk_free((rs256_pk_t **)&pk);
		break;
	case WEBAUTHN_ALG_EDDSA:
		pk = eddsa_pk_new();
		if (pk && eddsa_pk_from_ptr(pk, k->x, 32) != FIDO_OK)
			eddsa_pk_free((eddsa_pk_t **)&pk);
		break;
	}
	return pk;
}

static void
pk_free(int alg, void *pk)
{
	if (pk == NULL)
		return;
	if (alg == WEBAUTHN_ALG_ES256)
		es256_pk_free((es256_pk_t **)&pk);
	else if (alg == WEBAUTHN_ALG_RS256)
		rs256_pk_free((rs256_pk_t **)&pk);
	else
		eddsa_pk_free((eddsa_pk_t **)&pk);
}

/* ---------------------------------------------------------------- authenticator data */

struct authdata {
	const unsigned char *rp_id_hash;
	uint8_t flags;
	uint32_t sign_count;
	/* attested credential data (registration) */
	const unsigned char *aaguid, *cred_id, *cose;
	size_t cred_id_len, cose_len;
	struct cose_key key;
	/* the extensions libfido2 knows, so its exact comparison can be told what the authenticator said */
	int ext_mask, ext_prot;
	size_t ext_minpin;
};

/* Read the extension outputs libfido2 compares: registration (create) or assertion. */
static int
authdata_extensions(const cbor_item_t *m, bool create, struct authdata *ad)
{
	static const char *const names[] = { "hmac-secret", "credProtect", "credBlob", "minPinLength" };
	cbor_item_t *v[4];
	int64_t n;

	if (map_fields(m, names, 4, v, true) < 0)
		return -1;
	if (create) {
		if (v[0] != NULL) {
			if (!cbor_isa_float_ctrl(v[0]) || !cbor_is_bool(v[0]))
				return -1;
			if (cbor_get_bool(v[0]))
				ad->ext_mask |= FIDO_EXT_HMAC_SECRET;
		}
		if (v[1] != NULL) {
			if (cbor_int64(v[1], &n) < 0 || n < FIDO_CRED_PROT_UV_OPTIONAL ||
			    n > FIDO_CRED_PROT_UV_REQUIRED)
				return -1;
			ad->ext_prot = (int)n;
		}
		if (v[2] != NULL) {
			if (!cbor_isa_float_ctrl(v[2]) || !cbor_is_bool(v[2]))
				return -1;
			if (cbor_get_bool(v[2]))
				ad->ext_mask |= FIDO_EXT_CRED_BLOB;
		}
		if (v[3] != NULL) {
			if (cbor_int64(v[3], &n) < 0 || n < 1 || n > 255)
				return -1;
			ad->ext_minpin = (size_t)n;
		}
	} else {
		if (v[0] != NULL) {
			if (!is_bytes(v[0]) || cbor_bytestring_length(v[0]) == 0)
				return -1;
			ad->ext_mask |= FIDO_EXT_HMAC_SECRET;
		}
		if (v[2] != NULL) {
			if (!is_bytes(v[2]) || cbor_bytestring_length(v[2]) == 0)
				return -1;
			ad->ext_mask |= FIDO_EXT_CRED_BLOB;
		}
		if (v[1] != NULL || v[3] != NULL) /* registration-only outputs */
			return -1;
	}
	return 0;
}

/* Read authenticator data p[0..n) (WebAuthn L2 §6.1): the attested credential data must be
 * present for a registration (create) and absent for an assertion, extensions only when the ED
 * flag says so, and nothing after.  Pointers into p.  0, or -1 with *why. */
static int
authdata_parse(const unsigned char *p, size_t n, bool create, struct authdata *ad, const char **why)
{
	cbor_item_t *ext;
	size_t off = AUTHDATA_HEAD, used;

	memset(ad, 0, sizeof(*ad));
	*why = ERR_MALFORMED;
	if (n < AUTHDATA_HEAD)
		return -1;
	ad->rp_id_hash = p;
	ad->flags = p[32];
	ad->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | p[36];
	if ((ad->flags & FLAG_BS) && !(ad->flags & FLAG_BE))
		return -1;
	if (create != !!(ad->flags & FLAG_AT))
		return -1;
	if (create) {
		if (n - off < 18)
			return -1;
		ad->aaguid = p + off;
		ad->cred_id_len = (size_t)p[off + 16] << 8 | p[off + 17];
		off += 18;
		if (ad->cred_id_len == 0 || ad->cred_id_len > WEBAUTHN_CRED_ID_MAX ||
		    n - off < ad->cred_id_len)
			return -1;
		ad->cred_id = p + off;
		off += ad->cred_id_len;
		if (cose_key_parse(p + off, n - off, &used, &ad->key, why) < 0)
			return -1;
		*why = ERR_MALFORMED;
		ad->cose = p + off;
		ad->cose_len = used;
		off += used;
	}
	if (ad->flags & FLAG_ED) {
		if ((ext = cbor_take(p + off, n - off, &used)) == NULL)
			return -1;
		if (authdata_extensions(ext, create, ad) < 0) {
			cbor_decref(&ext);
			return -1;
		}
		cbor_decref(&ext);
		off += used;
	}
	if (off != n)
		return -1;
	*why = NULL;
	return 0;
}

/* rpIdHash, UP, UV: 0, or -1 with *why. */
static int
authdata_check(const struct authdata *ad, const struct webauthn_rp *rp, bool require_uv, const char **why)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)rp->rp_id, strlen(rp->rp_id));
	if (sodium_memcmp(h, ad->rp_id_hash, sizeof(h)) != 0) {
		*why = ERR_RP;
		return -1;
	}
	if (!(ad->flags & FLAG_UP)) {
		*why = ERR_UP;
		return -1;
	}
	if (require_uv && !(ad->flags & FLAG_UV)) {
		*why = ERR_UV;
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
	*why = ERR_MALFORMED;
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
		*why = ERR_CROSS_ORIGIN;
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
	size_t clen = strlen(challenge);

	if (strcmp(cd->type, type) != 0) {
		*why = ERR_TYPE;
		return -1;
	}
	if (clen == 0 || cd->challenge_len != clen || sodium_memcmp(cd->challenge, challenge, clen) != 0) {
		*why = ERR_CHALLENGE;
		return -1;
	}
	if (cd->origin_len != strlen(rp->origin) || memcmp(cd->origin, rp->origin, cd->origin_len) != 0) {
		*why = ERR_ORIGIN;
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
	*why = ERR_MALFORMED;
	if (!json_is_object(credential) || (type = jstr(credential, "type", 32, &tlen)) == NULL ||
	    strcmp(type, "public-key") != 0 ||
	    (id = jstr(credential, "id", B64_CAP(WEBAUTHN_CRED_ID_MAX), &idlen)) == NULL ||
	    (raw_id = jstr(credential, "rawId", B64_CAP(WEBAUTHN_CRED_ID_MAX), &rawidlen)) == NULL)
		return -1;
	if (b64_decode(raw_id, rawidlen, WEBAUTHN_CRED_ID_MAX, raw, rawlen) < 0)
		return -1;
	if (idlen != rawidlen || memcmp(id, raw_id, idlen) != 0) {
		*why = ERR_ID;
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
	scan_cb = cbor_empty_callbacks; /* every other kind leaves scan.ok false: refused */
	scan_cb.uint8 = scan_u8;
	scan_cb.uint16 = scan_u16;
	scan_cb.uint32 = scan_u32;
	scan_cb.uint64 = scan_u64;
	scan_cb.negint8 = scan_u8;
	scan_cb.negint16 = scan_u16;
	scan_cb.negint32 = scan_u32;
	scan_cb.negint64 = scan_u64;
	scan_cb.byte_string = scan_string;
	scan_cb.string = scan_string;
	scan_cb.array_start = scan_array;
	scan_cb.map_start = scan_map;
	scan_cb.boolean = scan_bool;
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
		*why = ERR_CHALLENGE;
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

	*why = ERR_MALFORMED;
	if (text_is(fmt, "none")) {
		*packed = false;
		if (!cbor_isa_map(stmt) || !cbor_map_is_definite(stmt) || cbor_map_size(stmt) != 0)
			return -1;
		return 0;
	}
	if (!text_is(fmt, "packed")) {
		*why = ERR_FMT;
		return -1;
	}
	*packed = true;
	if (map_fields(stmt, names, 3, v, false) < 0 || cbor_int64(v[0], &alg) < 0 || !is_bytes(v[1]) ||
	    cbor_bytestring_length(v[1]) == 0 || cbor_bytestring_length(v[1]) > SIG_MAX)
		return -1;
	*full = v[2] != NULL;
	if (*full) {
		if (!cbor_isa_array(v[2]) || !cbor_array_is_definite(v[2]) || cbor_array_size(v[2]) == 0)
			return -1;
		certs = cbor_array_handle(v[2]);
		for (i = 0; i < cbor_array_size(v[2]); i++)
			if (!is_bytes(certs[i]) || cbor_bytestring_length(certs[i]) == 0)
				return -1;
		if (alg != WEBAUTHN_ALG_ES256 && alg != WEBAUTHN_ALG_RS256 && alg != WEBAUTHN_ALG_EDDSA) {
			*why = ERR_ALG;
			return -1;
		}
	} else if (alg != cred_alg) { /* self attestation: signed by the credential key */
		*why = ERR_ALG;
		return -1;
	}
	return 0;
}

/* libfido2's view of the registration: it parses the authenticator data again, and for packed
 * verifies the attestation signature (self: with the credential key; x5c: with the leaf). */
static int
fido_check_registration(const struct webauthn_rp *rp, const struct client_data *cd,
    const unsigned char *ad_raw, size_t ad_len, const struct authdata *ad, const cbor_item_t *stmt,
    bool packed, bool full, bool require_uv, const char **why)
{
	fido_cred_t *cred = fido_cred_new();
	unsigned char *stmt_raw = NULL;
	size_t stmt_len = 0, cap = 0;
	int rc = -1, r;

	*why = ERR_MALFORMED;
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
		*why = r == FIDO_ERR_INVALID_SIG ? ERR_ATT_SIG : ERR_MALFORMED;
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
	struct authdata ad;
	cbor_item_t *att = NULL, *v[3];
	unsigned char *raw_id = NULL, *att_raw = NULL;
	size_t raw_id_len, att_len;
	bool packed = false, full = false;
	const unsigned char *g;
	json_t *response;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (credential_raw_id(credential, &raw_id, &raw_id_len, why) < 0 ||
	    client_data_parse(credential, &cd, why) < 0 ||
	    client_data_check(&cd, "webauthn.create", challenge, rp, why) < 0)
		goto done;
	*why = ERR_MALFORMED;
	response = json_object_get(credential, "response");
	if (jb64(response, "attestationObject", ATT_OBJECT_MAX, &att_raw, &att_len) < 0 ||
	    (att = cbor_whole(att_raw, att_len)) == NULL || map_fields(att, names, 3, v, false) < 0 ||
	    v[0] == NULL || v[1] == NULL || !is_bytes(v[2]))
		goto done;
	if (!cbor_isa_string(v[0]) || !cbor_string_is_definite(v[0]))
		goto done;
	if (authdata_parse(cbor_bytestring_handle(v[2]), cbor_bytestring_length(v[2]), true, &ad, why) < 0 ||
	    authdata_check(&ad, rp, require_uv, why) < 0)
		goto done;
	if (ad.cred_id_len != raw_id_len || memcmp(ad.cred_id, raw_id, raw_id_len) != 0) {
		*why = ERR_ID;
		goto done;
	}
	if (attestation_statement(v[0], v[1], ad.key.alg, &packed, &full, why) < 0)
		goto done;
	/* a key libfido2 can use (a point on the curve, ...): the assertions will need it */
	{
		void *pk = pk_new(&ad.key);
		if (pk == NULL) {
			*why = ERR_MALFORMED;
			goto done;
		}
		pk_free(ad.key.alg, pk);
	}
	if (fido_check_registration(rp, &cd, cbor_bytestring_handle(v[2]), cbor_bytestring_length(v[2]), &ad,
	        v[1], packed, full, require_uv, why) < 0)
		goto done;
	*why = ERR_MALFORMED;
	if (b64_encode(ad.cred_id, ad.cred_id_len, out->cred_id, sizeof(out->cred_id)) < 0 ||
	    b64_encode(ad.cose, ad.cose_len, out->public_key, sizeof(out->public_key)) < 0)
		goto done;
	out->alg = ad.key.alg;
	out->sign_count = ad.sign_count;
	out->user_verified = ad.flags & FLAG_UV;
	out->backup_eligible = ad.flags & FLAG_BE;
	out->backed_up = ad.flags & FLAG_BS;
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
	struct authdata ad;
	struct cose_key key;
	fido_assert_t *a = NULL;
	unsigned char *raw_id = NULL, *ad_raw = NULL, *sig = NULL, *handle = NULL, *cose = NULL;
	size_t raw_id_len, ad_len, sig_len, handle_len, cose_len, used;
	const char *s, *kwhy;
	json_t *response, *uh;
	void *pk = NULL;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	*counter_regressed = false;
	if (credential_raw_id(credential, &raw_id, &raw_id_len, why) < 0 ||
	    client_data_parse(credential, &cd, why) < 0 ||
	    client_data_check(&cd, "webauthn.get", challenge, rp, why) < 0)
		goto done;
	*why = ERR_MALFORMED;
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
	if (authdata_parse(ad_raw, ad_len, false, &ad, why) < 0 ||
	    authdata_check(&ad, rp, require_uv, why) < 0)
		goto done;

	/* the stored key, as webauthn_verify_registration encoded it */
	*why = ERR_KEY;
	if (public_key == NULL ||
	    b64_decode(public_key, strlen(public_key), WEBAUTHN_B64_MAX, &cose, &cose_len) < 0 ||
	    cose_key_parse(cose, cose_len, &used, &key, &kwhy) < 0 || used != cose_len || key.alg != alg ||
	    (pk = pk_new(&key)) == NULL)
		goto done;

	*why = ERR_MALFORMED;
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
		*why = r == FIDO_ERR_INVALID_SIG ? ERR_SIG : ERR_MALFORMED;
		goto done;
	}
	/* §7.2 step 21: a counter that does not move forward may be a cloned authenticator */
	if ((stored_count != 0 || ad.sign_count != 0) && ad.sign_count <= stored_count) {
		*why = ERR_COUNTER;
		*counter_regressed = true;
		goto done;
	}
	s = json_string_value(json_object_get(credential, "rawId"));
	if (strlcpy_ok(out->cred_id, s, sizeof(out->cred_id)) < 0)
		goto done;
	out->sign_count = ad.sign_count;
	out->user_verified = ad.flags & FLAG_UV;
	*why = NULL;
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	fido_assert_free(&a);
	pk_free(alg, pk);
	free(raw_id);
	free(ad_raw);
	free(sig);
	free(handle);
	free(cose);
	client_data_free(&cd);
	return rc;
}
