/*
 * webhook/endpoints — the webhook events by name, the GATEHOUSE_WEBHOOKS list
 * (which endpoint wants which events, signed with which secret) parsed and
 * checked strictly, and the Standard Webhooks signature.  Plain values only:
 * no store, no thread, no network.  Must never put a secret into an error
 * message or a log line.
 */
#ifndef GATEHOUSE_WEBHOOK_ENDPOINTS_H
#define GATEHOUSE_WEBHOOK_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum webhook_event {
	WEBHOOK_USER_CREATED,
	WEBHOOK_USER_EMAIL_CONFIRMED,
	WEBHOOK_USER_LOGIN,
	WEBHOOK_USER_LOGIN_FAILED,
	WEBHOOK_USER_PASSWORD_CHANGED,
	WEBHOOK_USER_DEACTIVATED,
	WEBHOOK_SESSION_REVOKED,
	WEBHOOK_TOKEN_CREATED,
	WEBHOOK_TOKEN_REVOKED,
	WEBHOOK_SOCIAL_CONNECTED,
	WEBHOOK_MFA_ENABLED,
	WEBHOOK_MFA_DISABLED,
	WEBHOOK_PASSKEY_ADDED,
	WEBHOOK_PASSKEY_REMOVED,
	WEBHOOK_MFA_RECOVERY_CODE_USED,
	WEBHOOK_NEVENTS
};

#define WEBHOOK_MAX_ENDPOINTS 16
#define WEBHOOK_KEY_MIN       24 /* bytes of a whsec_ secret, decoded */
#define WEBHOOK_KEY_MAX       64
/* "v1," and the base64 of a SHA-256 HMAC, with its NUL */
#define WEBHOOK_SIGNATURE_MAX 64

struct webhook_endpoint {
	char url[STORE_WEBHOOK_URL_MAX + 1];
	uint32_t events; /* bit (1u << enum webhook_event) per event wanted */
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t keylen;
};

struct webhook_endpoints {
	int n;
	struct webhook_endpoint e[WEBHOOK_MAX_ENDPOINTS];
};

/* "user.created", ... (static), or NULL out of range. */
const char *webhook_event_name(int e);
/* The event named s[0..len), or -1. */
int webhook_event_by_name(const char *s, size_t len);

/* Parse text (NULL or blank: no endpoint): entries separated by ';' or a new
 * line, each "URL EVENTS SECRET" separated by spaces or tabs; EVENTS is "*"
 * or comma-separated event names; SECRET is "whsec_" and the standard base64
 * of 24 to 64 bytes; the URL is https://, or http:// to a loopback host
 * (127.0.0.0/8, [::1], localhost), with no user:password@, no fragment, at
 * most STORE_WEBHOOK_URL_MAX bytes, each URL once.  0, or -1 with err (which
 * names the entry, never its secret) and out wiped. */
int webhook_endpoints_parse(const char *text, struct webhook_endpoints *out, char *err, size_t errsz);
/* Wipe the secrets. */
void webhook_endpoints_wipe(struct webhook_endpoints *eps);

/* The webhook-signature header's value for one attempt: "v1," and the base64
 * of HMAC-SHA256(key, msg_id "." timestamp "." body).  0, or -1 when out is
 * too small. */
int webhook_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp,
    const char *body, size_t bodylen, char *out, size_t outsz);

#endif
