/*
 * api/health — liveness for load balancers: the process answers and the
 * database does too.  Reveals nothing else.
 */
#include "api/api.h"
#include "app.h"
#include "http/http.h"
#include "store/store.h"

void
api_healthz(struct request *r)
{
	if (store_ping(r->app->store) == 0)
		respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
	else {
		respond_json(r, 503, json_pack("{s:s}", "status", "database unavailable"));
		response_header(r, "Retry-After", "1");
	}
}
