/*
 * audit — see audit.h.  Plain inputs only: never includes http/ (the
 * request-taking wrapper audit_log lives in api/common.c).
 */
#include "accounts/audit.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "store/store.h"
#include "webhook/webhook.h"

static void
write_row(struct store *st, struct store_audit *a, json_t *detail)
{
	if (detail) {
		char *s = json_dumps(detail, JSON_COMPACT);
		if (s && strlen(s) < sizeof(a->detail))
			strlcpy_ok(a->detail, s, sizeof(a->detail));
		free(s);
	}
	a->at = now_unix();
	if (store_audit_add(st, a) != 0)
		log_msg(LOG_ERROR, "could not write the audit row for %s", a->event);
	/* the webhook messages of this event, on the same connection: in the caller's transaction */
	webhook_on_audit(st, a, detail);
	json_decref(detail);
}

void
audit_write(struct store *st, int64_t actor_id, const char *ip, const char *user_agent, const char *event,
    int64_t user_id, json_t *detail)
{
	struct store_audit a = { 0 };

	strlcpy_ok(a.event, event, sizeof(a.event));
	a.actor_id = actor_id;
	a.user_id = user_id;
	strlcpy_ok(a.ip, ip ? ip : "", sizeof(a.ip));
	strlcpy_ok(a.user_agent, user_agent ? user_agent : "", sizeof(a.user_agent));
	if (!utf8_valid(a.user_agent, strlen(a.user_agent)))
		a.user_agent[0] = '\0';
	write_row(st, &a, detail);
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
	return json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:s, s:s}", "id", (json_int_t)a->id, "at", at,
	    "actor_id", a->actor_id ? json_integer(a->actor_id) : json_null(), "user_id",
	    a->user_id ? json_integer(a->user_id) : json_null(), "event", a->event, "detail",
	    detail ? detail : json_object(), "ip", a->ip, "user_agent", a->user_agent);
}
