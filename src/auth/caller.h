/*
 * The src/auth/ layer (docs/architecture.md): the rules -- sessions, CSRF,
 * API tokens, password hashing and policy, the hash pool, throttling, reset
 * tokens -- taking plain values and returning results, so a unit test calls
 * them without a socket.  It may use the store and the top; it must never
 * include the transport (src/http/), the handlers, accounts or social, and
 * never compare a secret other than in constant time.
 */
/*
 * caller — the plain values the auth rules (session, csrf, token) work on,
 * so they never see the transport: what the request presented (struct
 * auth_in), what they need of the app (struct auth_env), who is calling as
 * they found it (struct caller: nobody, a session or an API token, with the
 * stored rows), and the cookies they want set (struct auth_cookies), which
 * the HTTP side formats.  The rules fill these; they never parse headers
 * and never write a response.  A struct caller holds no key, only stored
 * rows (hashes); an auth_cookies may hold a fresh key until auth_cookies_wipe.
 */
#ifndef GATEHOUSE_CALLER_H
#define GATEHOUSE_CALLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct config;

enum auth_kind { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN };

struct caller {
	enum auth_kind kind;
	struct store_user user;
	struct store_session session; /* kind == AUTH_SESSION */
	struct store_token token;     /* kind == AUTH_TOKEN */
};

/* What the rules need of the app: borrowed, read-only. */
struct auth_env {
	struct store *store;
	/* public_origin, trusted_origins, secure_cookies, session_max_age,
	 * session_idle_timeout, reauth_max_age are read */
	const struct config *cfg;
};

/* What one request presented, already split out by the transport (every
 * pointer borrowed; NULL when absent). */
struct auth_in {
	const char *session_key; /* the sessionid cookie's value, session_key_len bytes */
	size_t session_key_len;
	const char *csrf_cookie; /* the csrftoken cookie's value, csrf_cookie_len bytes */
	size_t csrf_cookie_len;
	const char *mfa_key; /* the gatehouse_mfa cookie's value (a pending login), mfa_key_len bytes */
	size_t mfa_key_len;
	const char *passkey_key; /* the gatehouse_passkey cookie's value (passkey sign-in binding) */
	size_t passkey_key_len;
	const char *csrf_header;   /* X-CSRFToken */
	const char *origin;        /* Origin */
	const char *referer;       /* Referer */
	const char *authorization; /* Authorization */
	const char *user_agent;    /* User-Agent */
	const char *ip;            /* the client's address as the transport decided it */
	bool https;                /* the request reached the public origin over https */
	int64_t now;               /* wall clock, seconds */
};

#define AUTH_MAX_COOKIES      4
#define AUTH_COOKIE_VALUE_MAX 64

/* One Set-Cookie the rules want; the HTTP side formats it (cookie_format). */
struct auth_cookie {
	const char *name; /* static string */
	char value[AUTH_COOKIE_VALUE_MAX + 1];
	int64_t max_age; /* seconds; < 0 deletes the cookie */
	bool http_only;
	bool secure;
};

struct auth_cookies {
	struct auth_cookie c[AUTH_MAX_COOKIES];
	int n;
};

/* Append a cookie to out (value copied; a full list or an over-long value
 * is a bug: -1 and nothing added). */
int auth_cookie_add(struct auth_cookies *out, const char *name, const char *value, int64_t max_age,
    bool http_only, bool secure);
/* Wipe every value (they may be session keys) and empty the list. */
void auth_cookies_wipe(struct auth_cookies *out);

#endif
