/*
 * session — the sessionid cookie: making a key at login, finding the
 * session behind a presented key, ending it.  Keys live only in the cookie;
 * the store sees SHA-256 of them.  An unknown key is never adopted.  Must
 * never log or store a key.
 */
#ifndef GATEHOUSE_SESSION_H
#define GATEHOUSE_SESSION_H

#include <jansson.h>

#include "store/store.h"

#define SESSION_KEY_LEN 32

struct request;

/* Look at the request's sessionid cookie: 1 and r->auth = AUTH_SESSION with
 * r->user and r->session filled when it names a live session; 0 when there
 * is none or it is dead (expired, idle, password changed, user inactive);
 * -1 on a store error. */
int session_resolve(struct request *r);
/* Log u in on r: delete any session the request came with, make a new key,
 * store its hash, send Set-Cookie sessionid, rotate the CSRF secret, record
 * last_login.  0, or -1 on a store error. */
int session_login(struct request *r, const struct store_user *u);
/* The same for a password change: u keeps its login on r under a new key
 * (and u's new auth hash); last_login is left alone.  0 or -1. */
int session_rotate(struct request *r, const struct store_user *u);
/* 1 when r came with a session whose password was checked (at login or
 * through session_mark_reauth) less than reauth_max_age seconds ago; 0
 * otherwise, and always 0 for a token: a token cannot re-authenticate. */
int session_reauth_fresh(const struct request *r);
/* Record on r's session that its password was checked just now: 0, or -1
 * (no session, or a store error). */
int session_mark_reauth(struct request *r);
/* End the request's session (if any) and send the deletion cookie. */
int session_logout(struct request *r);
/* A session as JSON for its owner or an admin (new reference): id, created,
 * last_seen, expires, ip, device, user_agent, current (id == current_id). */
struct store_session_info;
json_t *session_info_json(const struct store_session_info *s, int64_t current_id);
/* A fresh per-user auth hash (32 hex chars, out: 33 bytes). */
void session_new_auth_hash(char *out);

#endif
