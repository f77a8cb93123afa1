/*
 * audit — see audit.h.
 */
#include "accounts/audit.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http/http.h"
#include "auth/caller.h"
#include "log.h"
#include "store/store.h"

static void
write_row(struct store *st, struct store_audit *a, json_t *detail)
{
	if (detail) {
		char *s = json_dumps(detail, JSON_COMPACT);
		if (s && strlen(s) < sizeof(a->detail))
			strlcpy_ok(a->detail, s, sizeof(a->detail));
		free(s);
		json_decref(detail);
	}
	a->at = now_unix();
	if (store_audit_add(st, a) != 0)
		log_msg(LOG_ERROR, "could not write the audit row for %s", a->event);
}

void
audit_log(struct request *r, const char *event, int64_t user_id, json_t *detail)
{
	struct store_audit a = { 0 };
	const char *ua = request_header(r, "User-Agent");

	strlcpy_ok(a.event, event, sizeof(a.event));
	a.actor_id = r->caller->kind != AUTH_NONE ? r->caller->user.id : 0;
	a.user_id = user_id;
	strlcpy_ok(a.ip, r->ip, sizeof(a.ip));
	strlcpy_ok(a.user_agent, ua ? ua : "", sizeof(a.user_agent));
	if (!utf8_valid(a.user_agent, strlen(a.user_agent)))
		a.user_agent[0] = '\0';
	write_row(r->app->store, &a, detail);
}

void
audit_log_cli(struct store *st, const char *event, int64_t user_id, json_t *detail)
{
	struct store_audit a = { 0 };

	strlcpy_ok(a.event, event, sizeof(a.event));
	a.user_id = user_id;
	strlcpy_ok(a.user_agent, "gatehouse command line", sizeof(a.user_agent));
	write_row(st, &a, detail);
}

json_t *
audit_json(const struct store_audit *a)
{
	char at[32];
	json_error_t err;
	json_t *detail = json_loads(a->detail, 0, &err);

	iso8601(a->at, at, sizeof(at));
	return json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:s, s:s}",
	    "id", (json_int_t)a->id, "at", at,
	    "actor_id", a->actor_id ? json_integer(a->actor_id) : json_null(),
	    "user_id", a->user_id ? json_integer(a->user_id) : json_null(),
	    "event", a->event, "detail", detail ? detail : json_object(),
	    "ip", a->ip, "user_agent", a->user_agent);
}
