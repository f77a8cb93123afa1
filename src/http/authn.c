/*
 * authn — see authn.h.  Glue only: a decision made here would be a rule
 * outside src/auth.
 */
#include "http/authn.h"

#include <sodium.h>

#include "app.h"
#include "auth/mfa.h"
#include "http/body.h"
#include "http/cookie.h"
#include "util.h"

struct auth_env
authn_env(const struct request *r)
{
	struct auth_env env = { .store = r->app->store, .cfg = &r->app->cfg };

	return env;
}

void
authn_input(struct request *r, struct auth_in *in)
{
	const char *cookies = request_header(r, "Cookie");

	*in = (struct auth_in){ 0 };
	if (!cookie_find(cookies, "sessionid", &in->session_key, &in->session_key_len))
		in->session_key = NULL;
	if (!cookie_find(cookies, "csrftoken", &in->csrf_cookie, &in->csrf_cookie_len))
		in->csrf_cookie = NULL;
	in->csrf_header = request_header(r, "X-CSRFToken");
	in->origin = request_header(r, "Origin");
	in->referer = request_header(r, "Referer");
	in->authorization = request_header(r, "Authorization");
	in->user_agent = request_header(r, "User-Agent");
	in->ip = r->ip;
	/* TLS ends at the proxy: the public origin says how the browser came */
	in->https = r->app->cfg.secure_cookies;
	in->now = now_unix();
}

char *
authn_csrf_form_field(struct request *r)
{
	const char *ctype = request_header(r, "Content-Type");
	char detail[64];
	json_t *body = NULL, *v;
	char *out = NULL;

	/* Django reads it from request.POST: an HTML form's POST, nothing else */
	if (r->method != M_POST || !body_is_form(ctype))
		return NULL;
	if (body_parse(ctype, r->body.data ? r->body.data : "", r->body.len, &body, detail, sizeof(detail)) !=
	    0)
		return NULL;
	v = json_object_get(body, "csrfmiddlewaretoken");
	if (json_is_string(v) && json_string_length(v) > 0)
		out = xstrdup(json_string_value(v));
	json_decref(body);
	return out;
}

void
authn_input_mfa(struct request *r, struct auth_in *in)
{
	const char *cookies = request_header(r, "Cookie");

	authn_input(r, in);
	if (!cookie_find(cookies, MFA_COOKIE, &in->mfa_key, &in->mfa_key_len))
		in->mfa_key = NULL;
	if (!cookie_find(cookies, PASSKEY_COOKIE, &in->passkey_key, &in->passkey_key_len))
		in->passkey_key = NULL;
}

void
authn_apply(struct request *r, struct auth_cookies *c)
{
	int64_t now = now_unix();

	for (int i = 0; i < c->n; i++) {
		struct cookie_attrs a = { .max_age = c->c[i].max_age,
			.http_only = c->c[i].http_only,
			.secure = c->c[i].secure };
		struct buf b = { 0 };

		cookie_format(&b, c->c[i].name, c->c[i].value, &a, now);
		response_header(r, "Set-Cookie", b.data);
		if (b.data)
			sodium_memzero(b.data, b.len);
		buf_free(&b);
	}
	auth_cookies_wipe(c);
}

static int
issue(struct request *r, const struct store_user *u, int login)
{
	struct auth_env env = authn_env(r);
	struct auth_in in;
	struct auth_cookies out = { 0 };
	int rc;

	authn_input(r, &in);
	rc = login ? session_login(&env, &in, u, r->caller, &out) :
	             session_rotate(&env, &in, u, r->caller, &out);
	if (rc == 0)
		authn_apply(r, &out);
	auth_cookies_wipe(&out);
	return rc;
}

int
authn_login(struct request *r, const struct store_user *u)
{
	return issue(r, u, 1);
}

int
authn_rotate(struct request *r, const struct store_user *u)
{
	return issue(r, u, 0);
}

int
authn_logout(struct request *r)
{
	struct auth_env env = authn_env(r);
	struct auth_in in;
	struct auth_cookies out = { 0 };
	int rc;

	authn_input(r, &in);
	rc = session_logout(&env, &in, r->caller, &out);
	authn_apply(r, &out);
	return rc;
}

int
authn_reauth_fresh(const struct request *r)
{
	struct auth_env env = authn_env(r);

	return session_reauth_fresh(&env, r->caller, now_unix());
}

int
authn_mark_reauth(struct request *r)
{
	struct auth_env env = authn_env(r);

	return session_mark_reauth(&env, r->caller, now_unix());
}

int
authn_csrf_cookie_secret(struct request *r, char *out)
{
	struct auth_in in;

	authn_input(r, &in);
	return csrf_cookie_secret(&in, out);
}

void
authn_csrf_set_cookie(struct request *r, const char *secret)
{
	struct auth_env env = authn_env(r);
	struct auth_cookies out = { 0 };

	csrf_set_cookie(&env, secret, &out);
	authn_apply(r, &out);
}
