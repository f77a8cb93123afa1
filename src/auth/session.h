/*
 * session — the sessionid cookie: making a key at login, finding the
 * session behind a presented key, ending it.  Keys live only in the cookie;
 * the store sees SHA-256 of them.  An unknown key is never adopted.  Works
 * on plain values (auth/caller.h): never parses a header, never writes a
 * response (the cookies to set are handed back); must never log or store a
 * key.
 */
#ifndef GATEHOUSE_SESSION_H
#define GATEHOUSE_SESSION_H

#include <jansson.h>

#include "auth/caller.h"
#include "store/store.h"

#define SESSION_KEY_LEN 32

/* The session behind in->session_key: 1 and c->kind = AUTH_SESSION with
 * c->user and c->session filled when it names a live session; 0 when there
 * is none or it is dead (expired, idle, password changed, user inactive;
 * a dead one is deleted); -1 on a store error. */
int session_resolve(const struct auth_env *env, const struct auth_in *in, struct caller *c);
/* Log u in: delete the session in->session_key names (if any), make a new
 * key, store its hash (with in->ip and in->user_agent), record last_login,
 * fill c, and add to out the sessionid cookie and a fresh csrftoken (login
 * rotates the CSRF secret).  0, or -1 on a store error or a full out. */
int session_login(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    struct caller *c, struct auth_cookies *out);
/* The same for a password change: u keeps its login under a new key (and
 * u's new auth hash); last_login is left alone.  0 or -1. */
int session_rotate(const struct auth_env *env, const struct auth_in *in, const struct store_user *u,
    struct caller *c, struct auth_cookies *out);
/* 1 when c is a session whose password was checked (at login or through
 * session_mark_reauth) less than reauth_max_age seconds before now; 0
 * otherwise, and always 0 for a token: a token cannot re-authenticate. */
int session_reauth_fresh(const struct auth_env *env, const struct caller *c, int64_t now);
/* Record on c's session that its password was checked at now: 0, or -1
 * (no session, or a store error). */
int session_mark_reauth(const struct auth_env *env, struct caller *c, int64_t now);
/* End the session in->session_key names (if any), add the sessionid
 * deletion cookie to out, and make c anonymous.  0, or -1 on a store error. */
int session_logout(const struct auth_env *env, const struct auth_in *in, struct caller *c,
    struct auth_cookies *out);
/* A session as JSON for its owner or an admin (new reference): id, created,
 * last_seen, expires, ip, device, user_agent, current (id == current_id). */
struct store_session_info;
json_t *session_info_json(const struct store_session_info *s, int64_t current_id);
/* A fresh per-user auth hash (32 hex chars, out: 33 bytes). */
void session_new_auth_hash(char *out);

#endif
