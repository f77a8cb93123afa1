/*
 * social — see social.h.
 */
#include "social/social.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "accounts/accounts.h"
#include "config.h"
#include "social/fetch.h"
#include "log.h"
#include "social/oidc.h"
#include "auth/session.h"
#include "accounts/user.h"

#define MAX_PROVIDERS 16

static int text_ok(const char *s);
static int ascii_word(const char *t);

struct social {
	struct social_provider p[MAX_PROVIDERS];
	int n;
};

static struct social_provider *
add(struct social *s, const char *name, const char *label, enum social_kind kind, const char *id,
    const char *secret)
{
	struct social_provider *p;

	if (s->n >= MAX_PROVIDERS)
		return NULL;
	p = &s->p[s->n++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->kind = kind;
	p->client_id = id;
	p->client_secret = secret;
	return p;
}

static int
name_ok(const char *n, size_t len)
{
	if (len == 0 || len > 40)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)n[i]) || isdigit((unsigned char)n[i]) || n[i] == '-'))
			return 0;
	return 1;
}

int
social_step_known(const char *name, size_t len)
{
	static const char *steps[] = { "social_details", "social_uid", "auth_allowed", "social_user",
		"associate_by_email", "create_user", "associate_user", "load_extra_data", "user_details" };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (strlen(steps[i]) == len && memcmp(steps[i], name, len) == 0)
			return 1;
	return 0;
}

struct social *
social_new(const struct config *cfg, char *err, size_t errsz)
{
	struct social *s = xcalloc(1, sizeof(*s));
	struct social_provider *p;

	for (const char *q = cfg->social_pipeline; *q;) {
		size_t n = strcspn(q, ",");
		while (n && *q == ' ')
			q++, n--;
		if (n && !social_step_known(q, strcspn(q, ", "))) {
			snprintf(err, errsz, "social_pipeline: unknown step \"%.*s\"", (int)n, q);
			goto fail;
		}
		q += n;
		if (*q == ',')
			q++;
	}
	if (cfg->github_client_id[0] && (p = add(s, "github", "GitHub", SOCIAL_GITHUB, cfg->github_client_id,
	    cfg->github_client_secret)) != NULL) {
		p->authorize_url = cfg->github_authorize_url;
		p->token_url = cfg->github_token_url;
		p->api_url = cfg->github_api_url;
	}
	if (cfg->google_client_id[0] && (p = add(s, "google-oauth2", "Google", SOCIAL_OIDC, cfg->google_client_id,
	    cfg->google_client_secret)) != NULL)
		p->oidc = oidc_new(cfg->google_issuer);
	if (cfg->facebook_client_id[0] && (p = add(s, "facebook", "Facebook", SOCIAL_FACEBOOK,
	    cfg->facebook_client_id, cfg->facebook_client_secret)) != NULL) {
		p->authorize_url = cfg->facebook_authorize_url;
		p->token_url = cfg->facebook_token_url;
		p->api_url = cfg->facebook_graph_url;
	}
	for (const char *q = cfg->oidc_providers; *q;) {
		size_t n = strcspn(q, ",");
		char name[64];
		const char *issuer, *id, *secret, *label;

		while (n && *q == ' ')
			q++, n--;
		while (n && q[n - 1] == ' ')
			n--;
		if (n) {
			if (!name_ok(q, n)) {
				snprintf(err, errsz, "oidc_providers: \"%.*s\" must be lower-case letters, digits and -",
				    (int)n, q);
				goto fail;
			}
			snprintf(name, sizeof(name), "%.*s", (int)n, q);
			if (social_find(s, name)) {
				snprintf(err, errsz, "oidc_providers: %s is named twice", name);
				goto fail;
			}
			issuer = config_oidc(cfg, name, "issuer");
			id = config_oidc(cfg, name, "client_id");
			secret = config_oidc(cfg, name, "client_secret");
			label = config_oidc(cfg, name, "label");
			if (!issuer || !id || !secret || strncmp(issuer, "http", 4) != 0) {
				snprintf(err, errsz, "OIDC provider %s needs GATEHOUSE_OIDC_%s_ISSUER, _CLIENT_ID and "
				    "_CLIENT_SECRET", name, name);
				goto fail;
			}
			if ((p = add(s, name, label ? label : name, SOCIAL_OIDC, id, secret)) == NULL) {
				snprintf(err, errsz, "too many social providers");
				goto fail;
			}
			p->oidc = oidc_new(issuer);
		}
		q += strcspn(q, ",");
		if (*q == ',')
			q++;
	}
	for (int i = 0; i < s->n; i++)
		if (!text_ok(s->p[i].label)) {
			/* labels go into JSON answers: never text jansson would refuse */
			snprintf(err, errsz, "the label of social provider %s is not valid UTF-8 text", s->p[i].name);
			goto fail;
		}
	return s;
fail:
	social_free(s);
	return NULL;
}

void
social_free(struct social *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n; i++)
		oidc_free(s->p[i].oidc);
	free(s);
}

const struct social_provider *
social_find(const struct social *s, const char *name)
{
	for (int i = 0; s && i < s->n; i++)
		if (strcmp(s->p[i].name, name) == 0)
			return &s->p[i];
	return NULL;
}

json_t *
social_list_json(const struct social *s)
{
	json_t *list = json_array();
	char url[128];

	for (int i = 0; s && i < s->n; i++) {
		snprintf(url, sizeof(url), "/api/social/%s/authorize/", s->p[i].name);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", s->p[i].name, "label", s->p[i].label,
		    "authorize_url", url));
	}
	return list;
}

void
social_ip_key(const char *ip, char *out, size_t outsz)
{
	struct in6_addr a;

	/* one IPv6 host holds a whole /64: count it as one client */
	if (strchr(ip, ':') && inet_pton(AF_INET6, ip, &a) == 1 && !IN6_IS_ADDR_V4MAPPED(&a))
		snprintf(out, outsz, "%x:%x:%x:%x::/64", a.s6_addr[0] << 8 | a.s6_addr[1], a.s6_addr[2] << 8 | a.s6_addr[3],
		    a.s6_addr[4] << 8 | a.s6_addr[5], a.s6_addr[6] << 8 | a.s6_addr[7]);
	else
		snprintf(out, outsz, "%s", ip);
}

int
social_prepare(const struct social_provider *p, long timeout, char *err, size_t errsz)
{
	return p->kind == SOCIAL_OIDC ? oidc_discover(p->oidc, timeout, err, errsz) : 0;
}

int
social_authorize_url(const struct social_provider *p, const struct config *cfg, const char *state,
    const char *challenge, const char *nonce, struct buf *out, char *err, size_t errsz)
{
	char endpoint[1024], redirect[600];
	const char *scope = p->kind == SOCIAL_GITHUB ? "read:user user:email" :
	    p->kind == SOCIAL_FACEBOOK ? "email public_profile" : "openid email profile";

	if (p->kind == SOCIAL_OIDC) {
		/* the provider's own text goes into a Location header: a URL, nothing else */
		if (oidc_endpoint(p->oidc, "authorization_endpoint", endpoint, sizeof(endpoint)) != 0 ||
		    strncmp(endpoint, "http", 4) != 0 || !ascii_word(endpoint)) {
			snprintf(err, errsz, "%s is not reachable", p->label);
			return -1;
		}
	} else
		strlcpy_ok(endpoint, p->authorize_url, sizeof(endpoint));
	snprintf(redirect, sizeof(redirect), "%s/auth/%s/callback", cfg->public_origin, p->name);
	buf_puts(out, endpoint);
	buf_puts(out, strchr(endpoint, '?') ? "&" : "?");
	buf_puts(out, "response_type=code&client_id=");
	fetch_urlencode(out, p->client_id);
	buf_puts(out, "&redirect_uri=");
	fetch_urlencode(out, redirect);
	buf_puts(out, "&scope=");
	fetch_urlencode(out, scope);
	buf_puts(out, "&state=");
	fetch_urlencode(out, state);
	buf_puts(out, "&code_challenge=");
	fetch_urlencode(out, challenge);
	buf_puts(out, "&code_challenge_method=S256");
	if (p->kind == SOCIAL_OIDC) {
		buf_puts(out, "&nonce=");
		fetch_urlencode(out, nonce);
	}
	return 0;
}

/* Text from a provider that may be kept or shown: valid UTF-8 with no
 * control characters (jansson checks UTF-8, but a cut may split a character
 * and "\u0001" decodes to a control character). */
static int
text_ok(const char *s)
{
	size_t n = strlen(s);

	if (!utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The provider's subject, kept only when it is sane text. */
static void
set_uid(struct social_profile *out, const char *uid)
{
	out->uid[0] = '\0';
	if (uid && strlen(uid) < sizeof(out->uid) && text_ok(uid))
		strlcpy_ok(out->uid, uid, sizeof(out->uid));
}

/* "Given Family" → first and last name */
static void
split_name(const char *full, struct social_profile *out)
{
	const char *sp;

	if (full == NULL || !text_ok(full))
		return;
	if ((sp = strrchr(full, ' ')) != NULL) {
		snprintf(out->first_name, sizeof(out->first_name), "%.*s", (int)(sp - full) > 150 ? 150 : (int)(sp - full),
		    full);
		snprintf(out->last_name, sizeof(out->last_name), "%.150s", sp + 1);
	} else
		snprintf(out->first_name, sizeof(out->first_name), "%.150s", full);
	/* a cut may split a UTF-8 sequence: drop the name rather than store bad text */
	if (!text_ok(out->first_name))
		out->first_name[0] = '\0';
	if (!text_ok(out->last_name))
		out->last_name[0] = '\0';
}

static void
set_email(struct social_profile *out, const char *email, bool verified)
{
	if (email && user_normalize_email(email, out->email, sizeof(out->email)) == 0)
		out->email_verified = verified;
	else
		out->email[0] = '\0';
}

/* 1 to 1024 printable ASCII characters, no space: what may go into a header
 * (an access token, a URL from a discovery document). */
static int
ascii_word(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 1024)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

/* POST the code to the token endpoint: the parsed answer, or NULL with err. */
static json_t *
token_request(const struct social_provider *p, const struct config *cfg, const char *endpoint, const char *code,
    const char *verifier, char *err, size_t errsz)
{
	struct buf body = { 0 }, user = { 0 }, pass = { 0 };
	char redirect[600];
	struct fetch f = { .method = "POST", .url = endpoint, .timeout = cfg->social_timeout,
	    .headers = { "Accept: application/json", "Content-Type: application/x-www-form-urlencoded", NULL } };
	json_t *j;
	long status;

	snprintf(redirect, sizeof(redirect), "%s/auth/%s/callback", cfg->public_origin, p->name);
	buf_puts(&body, "grant_type=authorization_code&code=");
	fetch_urlencode(&body, code);
	buf_puts(&body, "&redirect_uri=");
	fetch_urlencode(&body, redirect);
	buf_puts(&body, "&code_verifier=");
	fetch_urlencode(&body, verifier);
	if (p->kind == SOCIAL_OIDC) {
		/* client_secret_basic: RFC 6749 2.3.1 form-encodes both before Basic */
		fetch_urlencode(&user, p->client_id);
		fetch_urlencode(&pass, p->client_secret);
		f.basic_user = user.data;
		f.basic_password = pass.data;
	} else {
		buf_puts(&body, "&client_id=");
		fetch_urlencode(&body, p->client_id);
		buf_puts(&body, "&client_secret=");
		fetch_urlencode(&body, p->client_secret);
	}
	f.body = body.data;
	j = fetch_json(&f, &status, 1, err, errsz);
	sodium_memzero(body.data, body.len);
	buf_free(&body);
	if (pass.data)
		sodium_memzero(pass.data, pass.len);
	buf_free(&user);
	buf_free(&pass);
	if (j == NULL) {
		log_msg(LOG_WARN, "social: %s token endpoint: %s", p->name, err);
		snprintf(err, errsz, "Could not reach %s. Please try again later.", p->label);
		return NULL;
	}
	if (status >= 500) {
		snprintf(err, errsz, "%s answered %ld", p->label, status);
		json_decref(j);
		return NULL;
	}
	if (!json_is_string(json_object_get(j, "access_token")) || !ascii_word(json_string_value(json_object_get(j,
	    "access_token")))) {
		snprintf(err, errsz, "%s refused the code", p->label);
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
api_get(const struct social_provider *p, const struct config *cfg, const char *url, const char *token,
    char *err, size_t errsz)
{
	char auth[1200];
	struct fetch f = { .method = "GET", .url = url, .timeout = cfg->social_timeout,
	    .headers = { "Accept: application/json", auth, NULL } };
	long status;
	json_t *j;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	j = fetch_json(&f, &status, 0, err, errsz);
	sodium_memzero(auth, sizeof(auth));
	if (j == NULL) {
		log_msg(LOG_WARN, "social: %s API: %s", p->name, err);
		snprintf(err, errsz, "Could not reach %s. Please try again later.", p->label);
	}
	return j;
}

static int
exchange_github(const struct social_provider *p, const struct config *cfg, const char *access,
    struct social_profile *out, char *err, size_t errsz)
{
	char url[1100];
	json_t *user, *emails, *e;
	size_t i;
	const char *login;

	snprintf(url, sizeof(url), "%s/user", p->api_url);
	if ((user = api_get(p, cfg, url, access, err, errsz)) == NULL)
		return -1;
	if (!json_is_integer(json_object_get(user, "id"))) {
		snprintf(err, errsz, "GitHub sent no user id");
		json_decref(user);
		return -1;
	}
	snprintf(out->uid, sizeof(out->uid), "%lld", (long long)json_integer_value(json_object_get(user, "id")));
	split_name(json_string_value(json_object_get(user, "name")), out);
	login = json_string_value(json_object_get(user, "login"));
	{
		json_t *x = json_pack("{s:s?}", "login", login && strlen(login) < 256 && text_ok(login) ? login : NULL);
		char *s = json_dumps(x, JSON_COMPACT);
		if (s && strlen(s) < sizeof(out->extra))
			strlcpy_ok(out->extra, s, sizeof(out->extra));
		free(s);
		json_decref(x);
	}
	json_decref(user);
	/* the primary address, and only when GitHub says it is verified */
	snprintf(url, sizeof(url), "%s/user/emails", p->api_url);
	if ((emails = api_get(p, cfg, url, access, err, errsz)) == NULL)
		return -1;
	json_array_foreach(emails, i, e)
		if (json_is_true(json_object_get(e, "primary")) && json_is_true(json_object_get(e, "verified")))
			set_email(out, json_string_value(json_object_get(e, "email")), true);
	json_decref(emails);
	return 0;
}

static int
exchange_facebook(const struct social_provider *p, const struct config *cfg, const char *access,
    struct social_profile *out, char *err, size_t errsz)
{
	char url[1200];
	json_t *me;
	const char *id;

	snprintf(url, sizeof(url), "%s/me?fields=id,name,email", p->api_url);
	if ((me = api_get(p, cfg, url, access, err, errsz)) == NULL)
		return -1;
	if ((id = json_string_value(json_object_get(me, "id"))) == NULL || !*id || strlen(id) > 200) {
		snprintf(err, errsz, "Facebook sent no user id");
		json_decref(me);
		return -1;
	}
	set_uid(out, id);
	split_name(json_string_value(json_object_get(me, "name")), out);
	/* Facebook does not say whether the address was confirmed: never "verified" */
	set_email(out, json_string_value(json_object_get(me, "email")), false);
	json_decref(me);
	return 0;
}

static int
exchange_oidc(const struct social_provider *p, const struct config *cfg, json_t *tok, const char *nonce,
    struct social_profile *out, char *err, size_t errsz)
{
	json_t *claims = NULL, *info = NULL, *src;
	const char *sub, *email;
	char url[1024];
	int ret = -1;

	if (oidc_verify(p->oidc, json_string_value(json_object_get(tok, "id_token")), p->client_id, nonce,
	    now_unix(), cfg->social_timeout, &claims, err, errsz) != 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "Invalid ID token from %s (%s).", p->label, why);
		return -1;
	}
	sub = json_string_value(json_object_get(claims, "sub"));
	set_uid(out, sub);
	src = claims;
	/* some providers keep email and names for the userinfo endpoint */
	if (!json_is_string(json_object_get(claims, "email")) &&
	    oidc_endpoint(p->oidc, "userinfo_endpoint", url, sizeof(url)) == 0 &&
	    (info = api_get(p, cfg, url, json_string_value(json_object_get(tok, "access_token")), err, errsz)) != NULL) {
		const char *isub = json_string_value(json_object_get(info, "sub"));
		if (isub == NULL || strcmp(isub, sub) != 0) {
			snprintf(err, errsz, "%s userinfo is for another subject", p->label);
			goto done;
		}
		src = info;
	}
	email = json_string_value(json_object_get(src, "email"));
	set_email(out, email, json_is_true(json_object_get(src, "email_verified")));
	if (json_is_string(json_object_get(src, "given_name")) || json_is_string(json_object_get(src, "family_name"))) {
		const char *g = json_string_value(json_object_get(src, "given_name"));
		const char *f = json_string_value(json_object_get(src, "family_name"));
		snprintf(out->first_name, sizeof(out->first_name), "%.150s", g ? g : "");
		snprintf(out->last_name, sizeof(out->last_name), "%.150s", f ? f : "");
		if (!text_ok(out->first_name))
			out->first_name[0] = '\0';
		if (!text_ok(out->last_name))
			out->last_name[0] = '\0';
	} else
		split_name(json_string_value(json_object_get(src, "name")), out);
	ret = 0;
done:
	json_decref(info);
	json_decref(claims);
	return ret;
}

int
social_exchange(const struct social_provider *p, const struct config *cfg, const char *code,
    const char *verifier, const char *nonce, struct social_profile *out, char *err, size_t errsz)
{
	char endpoint[1024];
	json_t *tok;
	int ret;

	memset(out, 0, sizeof(*out));
	if (p->kind == SOCIAL_OIDC) {
		if (oidc_discover(p->oidc, cfg->social_timeout, err, errsz) != 0 ||
		    oidc_endpoint(p->oidc, "token_endpoint", endpoint, sizeof(endpoint)) != 0) {
			snprintf(err, errsz, "Could not reach %s.", p->label);
			return -1;
		}
	} else
		strlcpy_ok(endpoint, p->token_url, sizeof(endpoint));
	if ((tok = token_request(p, cfg, endpoint, code, verifier, err, errsz)) == NULL)
		return -1;
	switch (p->kind) {
	case SOCIAL_GITHUB:
		ret = exchange_github(p, cfg, json_string_value(json_object_get(tok, "access_token")), out, err, errsz);
		break;
	case SOCIAL_FACEBOOK:
		ret = exchange_facebook(p, cfg, json_string_value(json_object_get(tok, "access_token")), out, err, errsz);
		break;
	default:
		ret = exchange_oidc(p, cfg, tok, nonce, out, err, errsz);
	}
	{
		/* wipe the tokens before letting go */
		json_t *at = json_object_get(tok, "access_token");
		if (json_is_string(at))
			sodium_memzero((char *)json_string_value(at), json_string_length(at));
	}
	json_decref(tok);
	return ret;
}

/* ---- the pipeline ---- */

struct ctx {
	const struct config *cfg;
	struct store *st;
	const struct social_provider *p;
	const struct social_profile *profile;
	int64_t link_user_id;
	struct store_identity identity;
	bool have_identity, have_user;
	struct social_result *res;
};

static int
fail(struct ctx *c, int status, const char *fmt, const char *arg)
{
	c->res->status = status;
	snprintf(c->res->detail, sizeof(c->res->detail), fmt, arg);
	return -1;
}

static int
in_list(const char *list, const char *item)
{
	for (const char *q = list; *q;) {
		size_t n = strcspn(q, ",");
		const char *s = q;
		size_t m = n;
		while (m && *s == ' ')
			s++, m--;
		while (m && s[m - 1] == ' ')
			m--;
		if (m && strlen(item) == m && strncasecmp(s, item, m) == 0)
			return 1;
		q += n;
		if (*q == ',')
			q++;
	}
	return 0;
}

static int
step_details(struct ctx *c)
{
	(void)c;                     /* the profile was fetched by social_exchange */
	return 0;
}

static int
step_uid(struct ctx *c)
{
	if (c->profile->uid[0] == '\0')
		return fail(c, 400, "%s did not identify the account.", c->p->label);
	return 0;
}

static int
step_auth_allowed(struct ctx *c)
{
	const char *email = c->profile->email, *at = strchr(email, '@');

	if (!c->cfg->social_allowed_domains[0] && !c->cfg->social_allowed_emails[0])
		return 0;
	if (at && c->profile->email_verified &&
	    (in_list(c->cfg->social_allowed_emails, email) || in_list(c->cfg->social_allowed_domains, at + 1)))
		return 0;
	return fail(c, 403, "%s", "Your email address is not allowed to sign in here.");
}

static int
step_social_user(struct ctx *c)
{
	int rc = store_identity_get(c->st, c->p->name, c->profile->uid, &c->identity);

	if (rc < 0)
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	if (rc == STORE_NOTFOUND) {
		if (c->link_user_id && store_user_by_id(c->st, c->link_user_id, &c->res->user) == 0)
			c->have_user = true;
		return 0;
	}
	if (c->link_user_id && c->identity.user_id != c->link_user_id)
		return fail(c, 400, "This %s account is already connected to another user.", c->p->label);
	c->have_identity = true;
	if (store_user_by_id(c->st, c->identity.user_id, &c->res->user) != 0)
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	c->have_user = true;
	return 0;
}

static int
step_associate_by_email(struct ctx *c)
{
	struct store_user u;

	/* only an address the provider vouches for may reach an existing account,
	 * and only an account whose own address was confirmed: anyone can sign up
	 * with someone else's address and a password of their own, and linking
	 * the owner's provider to that account would let both in */
	if (c->have_user || !c->profile->email_verified || !c->profile->email[0])
		return 0;
	switch (store_user_by_email(c->st, c->profile->email, &u)) {
	case 0:
		break;
	case STORE_NOTFOUND:
		return 0;
	default:
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	}
	sodium_memzero(u.password, sizeof(u.password));
	if (!u.email_verified)
		return fail(c, 400, "An account already uses this email address but has not confirmed it. If it is "
		    "yours, sign in with your password (or reset it), then connect %s from your account page.",
		    c->p->label);
	c->res->user = u;
	c->have_user = true;
	return 0;
}

static int
step_create_user(struct ctx *c)
{
	struct accounts_new_user n = { .origin = ACCOUNTS_SOCIAL, .email = c->profile->email,
	    .first_name = c->profile->first_name, .last_name = c->profile->last_name, .method = c->p->name,
	    .email_verified = c->profile->email_verified };
	struct store_user u;

	if (c->have_user)
		return 0;
	if (!c->profile->email[0])
		return fail(c, 400, "%s did not share an email address; add one there and try again.", c->p->label);
	/* no password (an unusable one; a reset can set a real one) */
	switch (accounts_create_user(c->st, &n, NULL, &u)) {
	case 0:
		break;
	case ACCOUNTS_TAKEN:
		return fail(c, 400, "An account already uses this email address. Sign in with your password, then "
		    "connect %s from your account page.", c->p->label);
	case ACCOUNTS_BAD_EMAIL:
		return fail(c, 400, "%s shared an email address that cannot be used here.", c->p->label);
	default:
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	}
	c->res->user = u;
	c->res->created = true;
	c->have_user = true;
	return 0;
}

static int
step_associate_user(struct ctx *c)
{
	if (c->have_identity || !c->have_user)
		return 0;
	memset(&c->identity, 0, sizeof(c->identity));
	c->identity.user_id = c->res->user.id;
	strlcpy_ok(c->identity.provider, c->p->name, sizeof(c->identity.provider));
	strlcpy_ok(c->identity.uid, c->profile->uid, sizeof(c->identity.uid));
	strlcpy_ok(c->identity.extra, c->profile->extra[0] ? c->profile->extra : "{}", sizeof(c->identity.extra));
	c->identity.created_at = now_unix();
	if (store_identity_create(c->st, &c->identity) != 0)
		return fail(c, 400, "This %s account is already connected to another user.", c->p->label);
	c->have_identity = true;
	c->res->linked = true;
	return 0;
}

static int
step_load_extra_data(struct ctx *c)
{
	if (c->have_identity && c->profile->extra[0] && strcmp(c->identity.extra, c->profile->extra) != 0 &&
	    store_identity_update_extra(c->st, c->identity.id, c->profile->extra) != 0)
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	return 0;
}

static int
step_user_details(struct ctx *c)
{
	struct store_user *u = &c->res->user;

	/* fill in names the account lacks; never overwrite what the user set */
	if (!c->have_user || (u->first_name[0] && u->last_name[0]) ||
	    (!c->profile->first_name[0] && !c->profile->last_name[0]))
		return 0;
	if (!u->first_name[0])
		strlcpy_ok(u->first_name, c->profile->first_name, sizeof(u->first_name));
	if (!u->last_name[0])
		strlcpy_ok(u->last_name, c->profile->last_name, sizeof(u->last_name));
	if (store_user_set_names(c->st, u->id, u->first_name, u->last_name) != 0)
		return fail(c, 503, "%s", "Service temporarily unavailable.");
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct ctx *);
} steps[] = {
	{ "social_details", step_details }, { "social_uid", step_uid }, { "auth_allowed", step_auth_allowed },
	{ "social_user", step_social_user }, { "associate_by_email", step_associate_by_email },
	{ "create_user", step_create_user }, { "associate_user", step_associate_user },
	{ "load_extra_data", step_load_extra_data }, { "user_details", step_user_details },
};

void
social_pipeline(const struct config *cfg, struct store *st, const struct social_provider *p,
    const struct social_profile *profile, int64_t link_user_id, struct social_result *res)
{
	struct ctx c = { cfg, st, p, profile, link_user_id, { 0 }, false, false, res };

	memset(res, 0, sizeof(*res));
	for (const char *q = cfg->social_pipeline; *q;) {
		size_t n = strcspn(q, ","), m;
		const char *s = q;

		while (n && *s == ' ')
			s++, n--;
		m = strcspn(s, ", ");
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			if (strlen(steps[i].name) == m && memcmp(steps[i].name, s, m) == 0 && steps[i].run(&c) != 0)
				return;
		q = s + n;
		if (*q == ',')
			q++;
	}
	if (!c.have_user)
		fail(&c, 400, "%s", "No account for this sign-in (the pipeline has no create_user step).");
	else if (!res->user.is_active)
		fail(&c, 403, "%s", "This account is inactive.");
	else if (link_user_id && res->user.id != link_user_id)
		fail(&c, 400, "This %s account is already connected to another user.", p->label);
}
