/*
 * api/health — operations: liveness for load balancers (the process answers
 * and the database does too), and the Prometheus exposition (/metrics) for
 * the metrics listener and, with a bearer token, the public port.  Reveals
 * nothing else; the exposition carries counts and route patterns, never a
 * session, token, address or path a client sent.
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api.h"
#include "app.h"
#include "auth/hashpool.h"
#include "http/http.h"
#include "metrics.h"
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

void
api_metrics_render(struct app *app, struct buf *out)
{
	struct metrics_gauges g = { 0 };

	if (app->hashpool != NULL) {
		hashpool_stats(app->hashpool, &g.hash_queued, &g.hash_running);
		g.have_pool = true;
	}
	/* a store that fails leaves its gauges out (and counts a store error) */
	g.have_outbox = store_outbox_depth(app->store, &g.outbox_depth) == 0;
	g.have_sessions = store_sessions_live(app->store, now_unix(), &g.live_sessions) == 0;
	metrics_render(out, &g);
}

/* Authorization: Bearer <metrics_token>, compared in constant time (both
 * sides hashed first, so the length does not show either). */
static bool
bearer_ok(const char *header, const char *token)
{
	unsigned char want[crypto_generichash_BYTES], got[crypto_generichash_BYTES];
	const char *v;
	bool ok;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	for (v = header + 7; *v == ' '; v++)
		;
	crypto_generichash(want, sizeof(want), (const unsigned char *)token, strlen(token), NULL, 0);
	crypto_generichash(got, sizeof(got), (const unsigned char *)v, strlen(v), NULL, 0);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	sodium_memzero(got, sizeof(got));
	return ok;
}

void
api_metrics(struct request *r)
{
	const char *token = r->app->cfg.metrics_token;

	/* not configured: as if there were no such path (the metrics listener is
	 * the default way to scrape) */
	if (token[0] == '\0') {
		respond_error(r, 404, "Not found.");
		return;
	}
	if (!bearer_ok(request_header(r, "Authorization"), token)) {
		respond_error(r, 401, "Authentication credentials were not provided.");
		response_header(r, "WWW-Authenticate", "Bearer");
		return;
	}
	r->resp.len = 0;
	api_metrics_render(r->app, &r->resp);
	r->status = 200;
	r->api = false; /* text, not JSON */
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	response_header(r, "Cache-Control", "no-store");
}
