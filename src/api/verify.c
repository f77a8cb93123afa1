/*
 * api/verify — forward auth for nginx auth_request: 200 with the caller's
 * identity in X-Auth-* headers, or 401.  nginx copies those headers to the
 * protected backend, which must take them only from nginx.
 */
#include <stdio.h>

#include "api/api.h"
#include "http/http.h"
#include "auth/caller.h"

void
api_verify(struct request *r)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)r->caller->user.id);
	response_header(r, "X-Auth-User-Id", id);
	response_header(r, "X-Auth-Email", r->caller->user.email);
	response_header(r, "X-Auth-Staff", r->caller->user.is_staff ? "true" : "false");
	respond_json(r, 200,
	    json_pack("{s:I, s:s}", "id", (json_int_t)r->caller->user.id, "email", r->caller->user.email));
}
