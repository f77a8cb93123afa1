/*
 * webauthn_cbor — see webauthn_cbor.h.  libcbor 0.8's cbor_load allocates what
 * a map or array header announces before reading its members, so every item
 * is first walked header by header with libcbor's streaming decoder
 * (webauthn_cbor_bound): a container may announce no more members than there
 * are bytes left, and only the shortest encoding of each header is taken.
 * Only then does cbor_load build it.  The libfido2 parsers run after these,
 * on bytes these have bounded.
 */
#include "auth/webauthn_cbor.h"

#include <pthread.h>
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>

#include "auth/webauthn.h"

static pthread_once_t scan_once = PTHREAD_ONCE_INIT;
static struct cbor_callbacks scan_cb;

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

static void
scan_init(void)
{
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

/* Length of the one CBOR item at p[0..n): 0 and *len, or -1 when it is cut,
 * malformed, not in its shortest form, of a kind WebAuthn does not use
 * (tags, floats, null, undefined, indefinite lengths), announces more than
 * the bytes left could hold, or holds more than WEBAUTHN_CBOR_ITEMS_MAX items. */
int
webauthn_cbor_bound(const unsigned char *p, size_t n, size_t *len)
{
	struct cbor_decoder_result r;
	struct scan s;
	size_t off = 0, pending = 1, items = 0;

	pthread_once(&scan_once, scan_init);
	while (pending > 0) {
		if (off >= n || ++items > WEBAUTHN_CBOR_ITEMS_MAX)
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

/* The one CBOR item at p[0..n), bounded as webauthn_cbor_bound says: a new item
 * (cbor_decref), with *used its length; NULL when refused. */
cbor_item_t *
webauthn_cbor_take(const unsigned char *p, size_t n, size_t *used)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t len;

	if (webauthn_cbor_bound(p, n, &len) < 0)
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
cbor_item_t *
webauthn_cbor_whole(const unsigned char *p, size_t n)
{
	cbor_item_t *item;
	size_t used;

	if ((item = webauthn_cbor_take(p, n, &used)) == NULL)
		return NULL;
	if (used != n) {
		cbor_decref(&item);
		return NULL;
	}
	return item;
}

bool
webauthn_cbor_text_is(const cbor_item_t *item, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(item) && cbor_string_is_definite(item) && cbor_string_length(item) == n &&
	    memcmp(cbor_string_handle(item), s, n) == 0;
}

/* Map m's text keys against names[0..count): vals[i] gets the value of names[i] (NULL if absent).
 * -1 when m is not a definite map, a key is not text, a key repeats, or (unless others) a key is not
 * in names. */
int
webauthn_cbor_fields(const cbor_item_t *m, const char *const *names, size_t count, cbor_item_t **vals,
    bool others)
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
			if (webauthn_cbor_text_is(pairs[i].key, names[k]))
				break;
		if (k < count)
			vals[k] = pairs[i].value;
		else if (!others)
			return -1;
	}
	return 0;
}

bool
webauthn_cbor_is_bytes(const cbor_item_t *item)
{
	return item != NULL && cbor_isa_bytestring(item) && cbor_bytestring_is_definite(item);
}

/* A CBOR integer as int64_t: 0, or -1 when not an integer or out of range. */
int
webauthn_cbor_int(const cbor_item_t *item, int64_t *out)
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

/* Parse the COSE_Key at p[0..n) (with *used its length; trailing bytes are the caller's): the
 * exact members of an ES256 (EC2, P-256), RS256 (RSA) or EdDSA (OKP, Ed25519) public key, no
 * other.  0, or -1 with *why. */
int
webauthn_cose_parse(const unsigned char *p, size_t n, size_t *used, struct webauthn_cose_key *k,
    const char **why)
{
	cbor_item_t *item, *v[5] = { NULL }; /* kty(1), alg(3), -1, -2, -3 */
	static const int64_t labels[5] = { 1, 3, -1, -2, -3 };
	struct cbor_pair *pairs;
	int64_t label, kty, alg, crv;
	size_t i, j, count;
	int rc = -1;

	*why = WEBAUTHN_ERR_MALFORMED;
	memset(k, 0, sizeof(*k));
	if ((item = webauthn_cbor_take(p, n, used)) == NULL)
		return -1;
	if (!cbor_isa_map(item) || !cbor_map_is_definite(item))
		goto done;
	count = cbor_map_size(item);
	pairs = cbor_map_handle(item);
	for (i = 0; i < count; i++) {
		if (webauthn_cbor_int(pairs[i].key, &label) < 0)
			goto done;
		for (j = 0; j < 5 && labels[j] != label; j++)
			;
		if (j == 5 || v[j] != NULL) /* a member no supported key has, or twice */
			goto done;
		v[j] = pairs[i].value;
	}
	if (webauthn_cbor_int(v[0], &kty) < 0 || webauthn_cbor_int(v[1], &alg) < 0)
		goto done;
	*why = WEBAUTHN_ERR_ALG;
	switch (alg) {
	case WEBAUTHN_ALG_ES256:
		if (kty != 2 || webauthn_cbor_int(v[2], &crv) < 0 || crv != 1)
			goto done;
		*why = WEBAUTHN_ERR_MALFORMED;
		if (!webauthn_cbor_is_bytes(v[3]) || cbor_bytestring_length(v[3]) != 32 ||
		    !webauthn_cbor_is_bytes(v[4]) || cbor_bytestring_length(v[4]) != 32)
			goto done;
		memcpy(k->x, cbor_bytestring_handle(v[3]), 32);
		memcpy(k->y, cbor_bytestring_handle(v[4]), 32);
		break;
	case WEBAUTHN_ALG_EDDSA:
		if (kty != 1 || webauthn_cbor_int(v[2], &crv) < 0 || crv != 6)
			goto done;
		*why = WEBAUTHN_ERR_MALFORMED;
		if (!webauthn_cbor_is_bytes(v[3]) || cbor_bytestring_length(v[3]) != 32 || v[4] != NULL)
			goto done;
		memcpy(k->x, cbor_bytestring_handle(v[3]), 32);
		break;
	case WEBAUTHN_ALG_RS256:
		/* libfido2's rs256_pk holds a 2048-bit modulus and a 3-byte exponent exactly */
		if (kty != 3 || !webauthn_cbor_is_bytes(v[2]) || cbor_bytestring_length(v[2]) != 256 ||
		    !webauthn_cbor_is_bytes(v[3]) || cbor_bytestring_length(v[3]) != 3)
			goto done;
		*why = WEBAUTHN_ERR_MALFORMED;
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

/* A libfido2 public key for k (es256_pk_t, rs256_pk_t or eddsa_pk_t; free with webauthn_cose_pk_free), or
 * NULL when libfido2 refuses the key (a point off the curve, ...). */
void *
webauthn_cose_pk_new(const struct webauthn_cose_key *k)
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

void
webauthn_cose_pk_free(int alg, void *pk)
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

/* Read the extension outputs libfido2 compares: registration (create) or assertion. */
static int
authdata_extensions(const cbor_item_t *m, bool create, struct webauthn_authdata *ad)
{
	static const char *const names[] = { "hmac-secret", "credProtect", "credBlob", "minPinLength" };
	cbor_item_t *v[4];
	int64_t n;

	if (webauthn_cbor_fields(m, names, 4, v, true) < 0)
		return -1;
	if (create) {
		if (v[0] != NULL) {
			if (!cbor_isa_float_ctrl(v[0]) || !cbor_is_bool(v[0]))
				return -1;
			if (cbor_get_bool(v[0]))
				ad->ext_mask |= FIDO_EXT_HMAC_SECRET;
		}
		if (v[1] != NULL) {
			if (webauthn_cbor_int(v[1], &n) < 0 || n < FIDO_CRED_PROT_UV_OPTIONAL ||
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
			if (webauthn_cbor_int(v[3], &n) < 0 || n < 1 || n > 255)
				return -1;
			ad->ext_minpin = (size_t)n;
		}
	} else {
		if (v[0] != NULL) {
			if (!webauthn_cbor_is_bytes(v[0]) || cbor_bytestring_length(v[0]) == 0)
				return -1;
			ad->ext_mask |= FIDO_EXT_HMAC_SECRET;
		}
		if (v[2] != NULL) {
			if (!webauthn_cbor_is_bytes(v[2]) || cbor_bytestring_length(v[2]) == 0)
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
int
webauthn_authdata_parse(const unsigned char *p, size_t n, bool create, struct webauthn_authdata *ad,
    const char **why)
{
	cbor_item_t *ext;
	size_t off = WEBAUTHN_AUTHDATA_HEAD, used;

	memset(ad, 0, sizeof(*ad));
	*why = WEBAUTHN_ERR_MALFORMED;
	if (n < WEBAUTHN_AUTHDATA_HEAD)
		return -1;
	ad->rp_id_hash = p;
	ad->flags = p[32];
	ad->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | p[36];
	if ((ad->flags & WEBAUTHN_FLAG_BS) && !(ad->flags & WEBAUTHN_FLAG_BE))
		return -1;
	if (create != !!(ad->flags & WEBAUTHN_FLAG_AT))
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
		if (webauthn_cose_parse(p + off, n - off, &used, &ad->key, why) < 0)
			return -1;
		*why = WEBAUTHN_ERR_MALFORMED;
		ad->cose = p + off;
		ad->cose_len = used;
		off += used;
	}
	if (ad->flags & WEBAUTHN_FLAG_ED) {
		if ((ext = webauthn_cbor_take(p + off, n - off, &used)) == NULL)
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
