/*
 * webauthn_cbor — the binary shapes of WebAuthn for webauthn.c: CBOR items
 * bounded before libcbor builds them, COSE public keys (and the libfido2 keys
 * made from them), and the authenticator data's fixed layout.  Every input is
 * the client's: each length is checked against the bytes there are, only the
 * shortest encodings of the item kinds WebAuthn uses are accepted, and
 * nothing may follow what is read unless the caller asks for the length.
 * Must never: read past p[0..n), hand libcbor an item it has not bounded, or
 * accept a key a member too many or too few.
 */
#ifndef GATEHOUSE_WEBAUTHN_CBOR_H
#define GATEHOUSE_WEBAUTHN_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#define WEBAUTHN_FLAG_UP 0x01
#define WEBAUTHN_FLAG_UV 0x04
#define WEBAUTHN_FLAG_BE 0x08
#define WEBAUTHN_FLAG_BS 0x10
#define WEBAUTHN_FLAG_AT 0x40
#define WEBAUTHN_FLAG_ED 0x80

#define WEBAUTHN_AUTHDATA_HEAD  37 /* rpIdHash, flags, signCount */
#define WEBAUTHN_CBOR_ITEMS_MAX 64 /* items in one CBOR value: an attestation object has about 15 */

/* A public key as its COSE_Key said it (WebAuthn L2 §6.5.1.1). */
struct webauthn_cose_key {
	int alg;
	unsigned char x[32], y[32]; /* ES256: the point; EdDSA: x */
	unsigned char rsa[259];     /* RS256: n (256 bytes) || e (3 bytes), libfido2's rs256_pk layout */
};

/* Authenticator data (WebAuthn L2 §6.1); the pointers are into the bytes it was read from. */
struct webauthn_authdata {
	const unsigned char *rp_id_hash;
	uint8_t flags;
	uint32_t sign_count;
	/* attested credential data (registration) */
	const unsigned char *aaguid, *cred_id, *cose;
	size_t cred_id_len, cose_len;
	struct webauthn_cose_key key;
	/* the extensions libfido2 knows, so its exact comparison can be told what the authenticator said */
	int ext_mask, ext_prot;
	size_t ext_minpin;
};

/* The length of the one CBOR item at p[0..n) into *len: 0, or -1 when it is cut, malformed, not in its
 * shortest form, of a kind WebAuthn does not use (tags, floats, null, undefined, indefinite lengths),
 * announces more members than the bytes left could hold, or holds more than WEBAUTHN_CBOR_ITEMS_MAX. */
int webauthn_cbor_bound(const unsigned char *p, size_t n, size_t *len);
/* The one CBOR item at p[0..n) (bounded as above) as a new item (cbor_decref), *used its length; or NULL. */
cbor_item_t *webauthn_cbor_take(const unsigned char *p, size_t n, size_t *used);
/* The whole of p[0..n) as one CBOR item (nothing may follow it), or NULL. */
cbor_item_t *webauthn_cbor_whole(const unsigned char *p, size_t n);
/* 1 if item is the definite text string s. */
bool webauthn_cbor_text_is(const cbor_item_t *item, const char *s);
/* 1 if item is a definite byte string. */
bool webauthn_cbor_is_bytes(const cbor_item_t *item);
/* A CBOR integer within int32 as int64_t: 0, or -1. */
int webauthn_cbor_int(const cbor_item_t *item, int64_t *out);
/* The values of map m's text keys names[0..count) into vals (NULL when absent, borrowed from m): 0, or -1
 * when m is not a definite map, a key is not text or repeats, or (unless others) is not in names. */
int webauthn_cbor_fields(const cbor_item_t *m, const char *const *names, size_t count, cbor_item_t **vals,
    bool others);

/* Parse the COSE_Key at p[0..n) (*used its length; what follows is the caller's): exactly the members
 * of an ES256 (EC2, P-256), RS256 (RSA-2048, 3-byte exponent) or EdDSA (OKP, Ed25519) key.  0, or -1
 * with *why (WEBAUTHN_ERR_ALG for another algorithm, else WEBAUTHN_ERR_MALFORMED). */
int webauthn_cose_parse(const unsigned char *p, size_t n, size_t *used, struct webauthn_cose_key *k,
    const char **why);
/* The libfido2 key for k (es256_pk_t, rs256_pk_t or eddsa_pk_t by k->alg; webauthn_cose_pk_free), or
 * NULL when libfido2 refuses it (a point off the curve, ...). */
void *webauthn_cose_pk_new(const struct webauthn_cose_key *k);
void webauthn_cose_pk_free(int alg, void *pk);

/* Read authenticator data p[0..n): the attested credential data present for a registration (create)
 * and absent for an assertion, extensions exactly when the ED flag says so, nothing after.  0, or -1
 * with *why. */
int webauthn_authdata_parse(const unsigned char *p, size_t n, bool create, struct webauthn_authdata *ad,
    const char **why);

#endif
