/*
 * router — see router.h.  Owns the order of the middleware; handlers can rely
 * on it (an unsafe request that reaches them passed CSRF; r->caller->kind is set).
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth/caller.h"
#include "auth/csrf.h"
#include "auth/mfa.h"
#include "auth/session.h"
#include "auth/token.h"
#include "http/authn.h"
#include "http/static.h"
#include "log.h"

static const char *method_names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER" };

/* "/api/login" and "/api/login/" both match "/api/login/" (no redirect). */
int
router_path_match(const char *pattern, const char *path, int64_t *ids, int *nids, char *slug)
{
	const char *p = pattern, *q = path;
	int n = 0;

	while (*p) {
		if (strncmp(p, "<name>", 6) == 0) {
			size_t len = strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789-");
			if (len == 0 || len > 40)
				return 0;
			if (slug) {
				memcpy(slug, q, len);
				slug[len] = '\0';
			}
			p += 6;
			q += len;
			continue;
		}
		if (*p == '<') {
			const char *end = strchr(p, '>');
			long long v;
			size_t digits = strspn(q, "0123456789");
			char num[20];

			if (end == NULL || digits == 0 || digits > 18)
				return 0;
			memcpy(num, q, digits);
			num[digits] = '\0';
			if (parse_ll(num, 1, INT64_MAX, &v) != 0)
				return 0;
			if (ids && n < ROUTE_MAX_IDS)
				ids[n] = (int64_t)v;
			n++;
			p = end + 1;
			q += digits;
			continue;
		}
		if (*p != *q) {
			/* the trailing slash may be left out */
			if (p[0] == '/' && p[1] == '\0' && *q == '\0')
				break;
			return 0;
		}
		p++;
		q++;
	}
	if (*q != '\0')
		return 0;
	if (nids)
		*nids = n < ROUTE_MAX_IDS ? n : ROUTE_MAX_IDS; /* never more than ids[] holds */
	return 1;
}

void
respond_unauthenticated(struct request *r, const char *detail)
{
	respond_error(r, 401, detail ? detail : "Authentication credentials were not provided.");
	response_header(r, "WWW-Authenticate", "Token");
}

static int
unsafe(enum http_method m)
{
	return m != M_GET && m != M_HEAD && m != M_OPTIONS;
}

/* The Allow header for a path: its routes' methods, plus HEAD and OPTIONS. */
static void
allow_header(struct request *r, const char *path)
{
	char allow[128] = "";
	size_t n = 0;

	for (const struct route *rt = routes; rt->path && n < sizeof(allow); rt++)
		if (router_path_match(rt->path, path, NULL, NULL, NULL))
			n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", method_names[rt->method],
			    rt->method == M_GET ? ", HEAD, " : ", ");
	if (n < sizeof(allow))
		snprintf(allow + n, sizeof(allow) - n, "OPTIONS");
	response_header(r, "Allow", allow);
}

/* Forward auth answers yes only to what it checks: no generic OPTIONS. */
static int
exact_methods(const char *path)
{
	for (const struct route *rt = routes; rt->path; rt++)
		if ((rt->flags & ROUTE_EXACT_METHODS) && router_path_match(rt->path, path, NULL, NULL, NULL))
			return 1;
	return 0;
}

void
router_dispatch(struct request *r)
{
	const struct route *rt, *found = NULL;
	int path_known = 0, rc;
	char why[256];

	if (r->phase > 0) {
		/* resumed after deferred work: the route's second half */
		found = r->route;
		(found->finish ? found->finish : found->handler)(r);
		return;
	}
	if (strncmp(r->path, "/api/", 5) != 0 && strcmp(r->path, "/api") != 0 &&
	    strcmp(r->path, "/healthz") != 0 && strcmp(r->path, "/metrics") != 0) {
		static_serve(r);
		return;
	}
	r->api = true;
	for (rt = routes; rt->path; rt++) {
		if (!router_path_match(rt->path, r->path, r->ids, &r->nids, r->slug))
			continue;
		path_known = 1;
		if (rt->method == r->method || (rt->method == M_GET && r->method == M_HEAD)) {
			found = rt;
			break;
		}
	}
	if (found == NULL) {
		if (!path_known)
			respond_error(r, 404, "Not found.");
		else if (r->method == M_OPTIONS && !exact_methods(r->path))
			respond_json(r, 200, json_object());
		else {
			char detail[96];
			/* method_name is one of ours ("OTHER" for anything unknown) */
			snprintf(detail, sizeof(detail), "Method \"%s\" not allowed.", r->method_name);
			respond_error(r, 405, detail);
		}
		if (path_known)
			allow_header(r, r->path);
		return;
	}
	r->route = found;
	if (!(found->flags & ROUTE_NO_AUTH)) {
		struct auth_env env = authn_env(r);
		struct auth_in in;

		authn_input(r, &in);
		rc = token_resolve(&env, &in, r->caller, why, sizeof(why));
		if (rc == -1) {
			respond_unauthenticated(r, why);
			return;
		}
		if (rc == 0)
			rc = session_resolve(&env, &in, r->caller);
		if (rc < 0) {
			respond_error(r, 503, "Service temporarily unavailable.");
			response_header(r, "Retry-After", "1");
			return;
		}
		if (unsafe(r->method) && r->caller->kind != AUTH_TOKEN) {
			char *field = authn_csrf_form_field(r);

			if (field != NULL)
				in.csrf_header = field;
			rc = csrf_check(&env, &in, why, sizeof(why));
			free(field);
			if (rc != 0) {
				respond_error(r, 403, why);
				return;
			}
		}
		if ((found->flags & (ROUTE_LOGIN_REQUIRED | ROUTE_STAFF)) && r->caller->kind == AUTH_NONE) {
			respond_unauthenticated(r, NULL);
			return;
		}
		if ((found->flags & ROUTE_STAFF) && !r->caller->user.is_staff) {
			respond_error(r, 403, "You do not have permission to perform this action.");
			return;
		}
		/* MFA_REQUIRED: a user without a factor may only set one up */
		if (r->caller->kind != AUTH_NONE && !(found->flags & ROUTE_MFA_SETUP) &&
		    mfa_setup_required(&r->app->cfg, &r->caller->user)) {
			respond_json(r, 403,
			    json_pack("{s:s, s:s}", "detail", "Set up a second factor to continue.", "code",
			        "mfa_setup_required"));
			return;
		}
	}
	found->handler(r);
}
