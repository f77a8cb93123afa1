/*
 * social — the configured providers (see social.h): the built-in ones that
 * the config turns on, then the OpenID Connect issuers named in
 * oidc_providers, each with the ops of its kind (provider.h); looking one up
 * by name, listing them for the login page, and the per-client key that
 * bounds pending sign-ins.  Must never hold a provider's secrets beyond
 * borrowing them from the config, and never log them.
 */
#include "social/social.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "social/oidc.h"
#include "social/provider.h"

#define MAX_PROVIDERS 16

/* The built-in providers, in the order the login page lists them: adding one
 * is its file and its line here. */
static const struct social_provider_ops *const builtin[] = {
	&social_github_ops,
	&social_google_ops,
	&social_facebook_ops,
};

struct social {
	struct social_provider p[MAX_PROVIDERS];
	int n;
};

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

/* social_pipeline's steps, as named in cfg: all known */
static int
check_pipeline(const struct config *cfg, char *err, size_t errsz)
{
	for (const char *q = cfg->social_pipeline; *q;) {
		size_t n = strcspn(q, ",");
		while (n && *q == ' ')
			q++, n--;
		if (n && !social_step_known(q, strcspn(q, ", "))) {
			snprintf(err, errsz, "social_pipeline: unknown step \"%.*s\"", (int)n, q);
			return -1;
		}
		q += n;
		if (*q == ',')
			q++;
	}
	return 0;
}

/* The issuers named in oidc_providers, each from its GATEHOUSE_OIDC_<name>_* keys. */
static int
add_oidc_providers(struct social *s, const struct config *cfg, char *err, size_t errsz)
{
	struct social_provider *p;

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
				snprintf(err, errsz,
				    "oidc_providers: \"%.*s\" must be lower-case letters, digits and -",
				    (int)n, q);
				return -1;
			}
			snprintf(name, sizeof(name), "%.*s", (int)n, q);
			if (social_find(s, name)) {
				snprintf(err, errsz, "oidc_providers: %s is named twice", name);
				return -1;
			}
			issuer = config_oidc(cfg, name, "issuer");
			id = config_oidc(cfg, name, "client_id");
			secret = config_oidc(cfg, name, "client_secret");
			label = config_oidc(cfg, name, "label");
			if (!issuer || !id || !secret || strncmp(issuer, "http", 4) != 0) {
				snprintf(err, errsz,
				    "OIDC provider %s needs GATEHOUSE_OIDC_%s_ISSUER, _CLIENT_ID and "
				    "_CLIENT_SECRET",
				    name, name);
				return -1;
			}
			if (s->n >= MAX_PROVIDERS) {
				snprintf(err, errsz, "too many social providers");
				return -1;
			}
			p = &s->p[s->n++];
			snprintf(p->name, sizeof(p->name), "%s", name);
			snprintf(p->label, sizeof(p->label), "%s", label ? label : name);
			p->ops = &social_oidc_ops;
			p->client_id = id;
			p->client_secret = secret;
			p->oidc = oidc_new(issuer);
		}
		q += strcspn(q, ",");
		if (*q == ',')
			q++;
	}
	return 0;
}

struct social *
social_new(const struct config *cfg, char *err, size_t errsz)
{
	struct social *s = xcalloc(1, sizeof(*s));
	struct social_provider *p;

	if (check_pipeline(cfg, err, errsz) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		p = &s->p[s->n];
		if (builtin[i]->configure(p, cfg) != 1) {
			memset(p, 0, sizeof(*p));
			continue;
		}
		snprintf(p->name, sizeof(p->name), "%s", builtin[i]->name);
		snprintf(p->label, sizeof(p->label), "%s", builtin[i]->label);
		p->ops = builtin[i];
		s->n++;
	}
	if (add_oidc_providers(s, cfg, err, errsz) != 0)
		goto fail;
	for (int i = 0; i < s->n; i++)
		if (!social_text_ok(s->p[i].label)) {
			/* labels go into JSON answers: never text jansson would refuse */
			snprintf(err, errsz, "the label of social provider %s is not valid UTF-8 text",
			    s->p[i].name);
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
		if (s->p[i].ops->release)
			s->p[i].ops->release(&s->p[i]);
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
		json_array_append_new(list,
		    json_pack("{s:s, s:s, s:s}", "name", s->p[i].name, "label", s->p[i].label,
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
		snprintf(out, outsz, "%x:%x:%x:%x::/64", a.s6_addr[0] << 8 | a.s6_addr[1],
		    a.s6_addr[2] << 8 | a.s6_addr[3], a.s6_addr[4] << 8 | a.s6_addr[5],
		    a.s6_addr[6] << 8 | a.s6_addr[7]);
	else
		snprintf(out, outsz, "%s", ip);
}
