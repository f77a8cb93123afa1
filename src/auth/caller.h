/*
 * The src/auth/ layer (docs/architecture.md): the rules -- sessions, CSRF,
 * API tokens, password hashing and policy, the hash pool, throttling, reset
 * tokens -- taking plain values and returning results, so a unit test calls
 * them without a socket.  It may use the store and the top; it must never
 * include the transport (src/http/), the handlers, accounts or social, and
 * never compare a secret other than in constant time.
 */
/*
 * caller — who is making a request, as the auth rules found it: nobody, a
 * session (its user and row) or an API token (its user and row).  Filled by
 * session_resolve / token_resolve from plain inputs; the transport only
 * carries a pointer to it, so the request type never embeds store rows.
 * Holds no key and no secret: only the stored rows (hashes).
 */
#ifndef GATEHOUSE_CALLER_H
#define GATEHOUSE_CALLER_H

#include "store/store.h"

enum auth_kind { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN };

struct caller {
	enum auth_kind kind;
	struct store_user user;
	struct store_session session;   /* kind == AUTH_SESSION */
	struct store_token token;       /* kind == AUTH_TOKEN */
};

#endif
