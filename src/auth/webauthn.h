/*
 * webauthn — the relying party's side of WebAuthn (Level 2, §7.1 and §7.2):
 * fresh challenges, and the verification of a registration (the result of
 * navigator.credentials.create) and of an assertion (navigator.credentials.get)
 * sent as JSON with base64url strings.  Works on plain values: the caller finds
 * and takes the stored, single-use challenge and keeps the credential.  The
 * CBOR goes through libcbor, the signatures through libfido2, base64url through
 * libsodium; no hand-written parser or signature code.  Every byte of the input
 * is the client's: every length is bounded, a shape that is not exactly the
 * expected one is refused.  Compares challenges in constant time; never logs.
 */
#ifndef GATEHOUSE_WEBAUTHN_H
#define GATEHOUSE_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WEBAUTHN_CHALLENGE_LEN 32   /* random bytes */
#define WEBAUTHN_B64_MAX       1400 /* base64url text bound for an id or key we store (incl NUL) */
#define WEBAUTHN_CRED_ID_MAX   1023 /* bytes, per spec */

#define WEBAUTHN_ALG_ES256 (-7)
#define WEBAUTHN_ALG_RS256 (-257)
#define WEBAUTHN_ALG_EDDSA (-8)

/* The reasons a verification gives in *why: static strings for a person. */
#define WEBAUTHN_ERR_MALFORMED    "Malformed credential."
#define WEBAUTHN_ERR_ORIGIN       "Wrong origin."
#define WEBAUTHN_ERR_RP           "Wrong relying party."
#define WEBAUTHN_ERR_TYPE         "The response is for another step."
#define WEBAUTHN_ERR_CHALLENGE    "The challenge does not match."
#define WEBAUTHN_ERR_CROSS_ORIGIN "Cross-origin requests are not accepted."
#define WEBAUTHN_ERR_UP           "User presence was not confirmed."
#define WEBAUTHN_ERR_UV           "User verification was required but not performed."
#define WEBAUTHN_ERR_FMT          "Unsupported attestation format."
#define WEBAUTHN_ERR_ALG          "Unsupported key algorithm."
#define WEBAUTHN_ERR_ATT_SIG      "The attestation signature is not valid."
#define WEBAUTHN_ERR_SIG          "The security key's signature is not valid."
#define WEBAUTHN_ERR_COUNTER      "The security key's signature counter went backwards."
#define WEBAUTHN_ERR_ID           "The credential id does not match."
#define WEBAUTHN_ERR_KEY          "The stored key is not usable."

/* rp_id: host of the public origin; origin: "https://app.example" exactly */
struct webauthn_rp {
	const char *rp_id;
	const char *origin;
};

/* A verified new credential, what the store keeps. */
struct webauthn_credential {
	char cred_id[WEBAUTHN_B64_MAX];    /* base64url (no padding) of the credential id */
	int alg;                           /* COSE alg: -7 ES256, -257 RS256, -8 EdDSA */
	char public_key[WEBAUTHN_B64_MAX]; /* base64url (no padding) of the COSE_Key bytes as the
	                                    * authenticator sent them; webauthn_verify_assertion takes it back
	                                    */
	uint32_t sign_count;
	bool user_verified, backup_eligible, backed_up;
	char aaguid[37];      /* 8-4-4-4-12 lower-case hex */
	char transports[128]; /* comma-separated, from the client's response.transports if sane, else "" */
};

/* A verified assertion. */
struct webauthn_assertion {
	char cred_id[WEBAUTHN_B64_MAX]; /* base64url of rawId */
	char user_handle[128];          /* base64url of response.userHandle ("" if absent) */
	uint32_t sign_count;
	bool user_verified;
};

/* A fresh challenge: WEBAUTHN_CHALLENGE_LEN random bytes as base64url text (out >= 64 bytes). */
void webauthn_new_challenge(char *out, size_t outsz);

/* Read the challenge out of a PublicKeyCredential JSON's response.clientDataJSON (so the caller can
 * find and take the stored challenge before verifying): 0 with out filled (base64url text as sent), -1
 * with *why set to a short person-readable reason when the shape is wrong.  Works for both registration
 * and assertion credentials. */
int webauthn_client_challenge(json_t *credential, char *out, size_t outsz, const char **why);

/* Verify a registration (navigator.credentials.create result as JSON: {id, rawId, type:"public-key",
 * response:{clientDataJSON, attestationObject, transports?}} with base64url strings) against the
 * expected challenge (base64url text), the RP, require_uv.  Checks per WebAuthn L2 §7.1: type
 * "webauthn.create", challenge equal (constant time), origin equal to rp->origin exactly, no
 * cross-origin / topOrigin, rpIdHash = SHA-256(rp_id), UP flag set, UV set when require_uv, AT flag +
 * attested credential data present and nothing after it but extensions (ED flag), alg in {ES256,
 * RS256, EdDSA}, fmt "none" (attStmt empty) or "packed" (self attestation: alg matches and the
 * signature over authData||clientDataHash by the credential key; or x5c: the signature by the leaf,
 * no chain trust), credential id length <= 1023, id == rawId.  0 and *out filled, or -1 with *why (a
 * static string for a person). */
int webauthn_verify_registration(const struct webauthn_rp *rp, json_t *credential, const char *challenge,
    bool require_uv, struct webauthn_credential *out, const char **why);

/* Verify an assertion (navigator.credentials.get result as JSON: {id, rawId, type, response:
 * {clientDataJSON, authenticatorData, signature, userHandle?}}) with the stored key (alg + public_key
 * as webauthn_verify_registration produced them): type "webauthn.get", challenge, origin, rpIdHash,
 * UP, UV when require_uv, the signature (libfido2 fido_assert_verify), and the sign counter: when
 * stored_count or the new count is non-zero, the new count must be greater than stored_count, else -1
 * with *why "The security key's signature counter went backwards." and *counter_regressed = true (the
 * caller audits it).  0 and *out filled, or -1 with *why (*counter_regressed false). */
int webauthn_verify_assertion(const struct webauthn_rp *rp, json_t *credential, const char *challenge,
    bool require_uv, int alg, const char *public_key, uint32_t stored_count, struct webauthn_assertion *out,
    bool *counter_regressed, const char **why);

/* The credential id (base64url of rawId, validated: decodes, 1..1023 bytes, equals id) of an assertion
 * or registration JSON, so the caller can look up the stored key: 0, or -1. */
int webauthn_credential_id(json_t *credential, char *out, size_t outsz);

#endif
