/*
 * oidc — OpenID Connect for one issuer: the discovery document, the JWKS
 * (refetched once, at most every minute, when a token names an unknown kid),
 * and ID-token verification with cjose: asymmetric algorithms only (no
 * "none", no HS*), the key chosen by kid and matching the algorithm's key
 * type, then iss, aud/azp, exp, iat and nonce.  Thread-safe; blocking (it may
 * fetch), so call it from a worker thread.  Never logs a token; its errors
 * quote provider text (an alg, a kid) only cut and made plain ASCII.
 */
#ifndef GATEHOUSE_OIDC_H
#define GATEHOUSE_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct oidc;

struct oidc *oidc_new(const char *issuer);
void oidc_free(struct oidc *o);
/* Make sure the discovery document is loaded (cached for an hour).  0 or -1 with err. */
int oidc_discover(struct oidc *o, long timeout, char *err, size_t errsz);
/* An endpoint from the discovery document ("authorization_endpoint", ...),
 * copied into out; 0, or -1 when not discovered or absent. */
int oidc_endpoint(struct oidc *o, const char *name, char *out, size_t outsz);
/* Verify an ID token for client_id and nonce at now.  0 and *claims (caller
 * json_decref's), or -1 with err. */
int oidc_verify(struct oidc *o, const char *id_token, const char *client_id, const char *nonce, int64_t now,
    long timeout, json_t **claims, char *err, size_t errsz);
/* The claim checks alone (for unit tests and the fuzzer): 0 or -1 with err. */
int oidc_check_claims(json_t *claims, const char *issuer, const char *client_id, const char *nonce,
    int64_t now, char *err, size_t errsz);

#endif
