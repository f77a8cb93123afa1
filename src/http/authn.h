/*
 * authn — the auth rules (auth/session, auth/csrf, auth/token) applied to a
 * request: reads what the request presented into a struct auth_in, hands
 * the rules the app's store and settings, and turns the cookies they hand
 * back into Set-Cookie lines (through cookie_format, the one formatter).
 * Holds no rule of its own: every decision stays in src/auth.  Must never
 * log a cookie or a header.
 */
#ifndef GATEHOUSE_AUTHN_H
#define GATEHOUSE_AUTHN_H

#include "auth/caller.h"
#include "auth/csrf.h"
#include "auth/session.h"
#include "http/http.h"

/* The app's store and settings as the rules take them. */
struct auth_env authn_env(const struct request *r);
/* What r presented: its sessionid and csrftoken cookies, X-CSRFToken,
 * Origin, Referer, Authorization, User-Agent, ip, https (per the public
 * origin) and now.  Pointers borrowed from r. */
void authn_input(struct request *r, struct auth_in *in);
/* The same plus the second step's cookies (gatehouse_mfa, gatehouse_passkey):
 * only the handlers that use them read them, not every request. */
void authn_input_mfa(struct request *r, struct auth_in *in);
/* The CSRF token of an HTML form POST (application/x-www-form-urlencoded or
 * multipart/form-data): its csrfmiddlewaretoken field, as Django reads it
 * before the X-CSRFToken header; NULL for anything else (caller frees). */
char *authn_csrf_form_field(struct request *r);
/* Add a Set-Cookie header for each cookie in c, then wipe c. */
void authn_apply(struct request *r, struct auth_cookies *c);

/* The request-level forms of the session and CSRF rules, for handlers:
 * the same contracts as session_* and csrf_* on r's input and r->caller,
 * with the cookies set on r's answer. */
int authn_login(struct request *r, const struct store_user *u);
int authn_rotate(struct request *r, const struct store_user *u);
int authn_logout(struct request *r);
int authn_reauth_fresh(const struct request *r);
int authn_mark_reauth(struct request *r);
int authn_csrf_cookie_secret(struct request *r, char *out);
void authn_csrf_set_cookie(struct request *r, const char *secret);

#endif
