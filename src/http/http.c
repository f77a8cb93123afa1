/*
 * http — see http.h.  libmicrohttpd runs an epoll loop per thread of its
 * pool; each request gets a struct request on the first call of the access
 * handler (headers only), collects its body on the following calls, and is
 * answered on the call where no body is left, which keeps keep-alive on.
 * Slow work suspends the connection and resumes it from the hash pool.
 *
 * The edge (edge.h) sees every connection from start to close and every
 * request from its request line (URI log callback) to its end: the first
 * handler call refuses ambiguous framing with 400 and Connection: close
 * before a byte of body is read.  The check of line ends and folding reads
 * libmicrohttpd 0.9's in-place rewrite of the head (edge.c says how), so it
 * runs only when MHD_get_version() is 0.9.x; a build against 1.x asks the
 * library for its strict client discipline instead, which refuses both.
 *
 * A stop (http_drain) answers every request that is waiting (suspended for
 * the hash or network pool, or held until a time) 503 with Retry-After:
 * queued work is skipped, running work finishes first, since its worker
 * still uses the request.  libmicrohttpd aborts the process when a daemon
 * stops with a connection suspended, so http_stop comes only after that.
 */
#include "http/http.h"
#include "auth/caller.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "app.h"
#include "http/body.h"
#include "http/edge.h"
#include "auth/hashpool.h"
#include "log.h"
#include "metrics.h"
#include "http/router.h"

/* One libmicrohttpd daemon, each with its own epoll thread and its own
 * SO_REUSEPORT listening socket, per HTTP thread: the kernel spreads new
 * connections evenly, where one daemon's thread pool was seen to pile most
 * keep-alive connections onto one thread (bench/RESULTS.md). */
struct http_thread {
	struct http_server *server;
	unsigned index; /* the edge registry's shard */
};

struct http_server {
	struct MHD_Daemon **daemons;
	struct http_thread *threads;
	unsigned n;
	struct app *app;
	struct edge *edge;
	int port_lock; /* edge_claim_port's, held while serving */
	bool mhd09;    /* libmicrohttpd 0.9.x: check the head's layout */
	char hsts[64]; /* Strict-Transport-Security value, or "" */
	atomic_bool stopping;
	atomic_int suspended; /* connections suspended right now */
	atomic_int live;      /* requests begun and not yet completed */

	/* answers held until a time (request_answer_at), soonest first */
	pthread_mutex_t hold_lock;
	pthread_cond_t hold_cond; /* on CLOCK_MONOTONIC */
	struct held *held;
	bool holding; /* false once stopping: answer at once */
	bool holder_started;
	pthread_t holder;
};

struct held {
	struct request *r;
	struct held *next;
};

#define STOP_DETAIL "The server is restarting; try again in a few seconds."

static void
client_ip(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *fwd;

	strlcpy_ok(r->ip, "unknown", sizeof(r->ip));
	if (r->app->cfg.trust_proxy) {
		/* behind our own nginx: X-Real-IP, else the last X-Forwarded-For hop */
		if ((fwd = request_header(r, "X-Real-IP")) == NULL &&
		    (fwd = request_header(r, "X-Forwarded-For")) != NULL) {
			const char *comma = strrchr(fwd, ',');
			if (comma)
				fwd = comma + 1;
		}
		if (fwd != NULL) {
			while (*fwd == ' ')
				fwd++;
			size_t n = strcspn(fwd, " ,");
			if (n > 0 && n < sizeof(r->ip)) {
				memcpy(r->ip, fwd, n);
				r->ip[n] = '\0';
				return;
			}
		}
	}
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
		    r->ip, sizeof(r->ip));
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
		    r->ip, sizeof(r->ip));
}

static enum MHD_Result
collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct request *r = cls;

	if (kind == MHD_HEADER_KIND)
		request_add_header(r, key, value ? value : "");
	else if (kind == MHD_GET_ARGUMENT_KIND)
		request_add_arg(r, key, value);
	return MHD_YES;
}

static struct request *
http_request_new(struct http_server *s, struct MHD_Connection *c, const char *url, const char *method)
{
	struct request *r = request_new(s->app, method, url);

	r->conn = c;
	r->server = s;
	MHD_get_connection_values(c, (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND), collect,
	    r);
	client_ip(r, c);
	atomic_fetch_add(&s->live, 1);
	return r;
}

/* The metrics label of r: its route's index in routes[], or a fixed slot for
 * the SPA's files and for /api/ paths no route took (nor a raw path ever). */
static int
request_route_slot(const struct request *r)
{
	if (r->route != NULL)
		return (int)((const struct route *)r->route - routes);
	if (r->api || strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/api") == 0)
		return METRICS_ROUTE_UNMATCHED;
	return METRICS_ROUTE_STATIC;
}

static void
run_deferred(void *arg)
{
	struct request *r = arg;
	struct http_server *s = r->server;

	/* stopping: the request will be answered 503 without its work */
	if (!atomic_load(&s->stopping))
		r->deferred_work(r->deferred_arg);
}

static void
resume_deferred(void *arg)
{
	struct request *r = arg;

	MHD_resume_connection(r->conn);
}

/* The holder thread: resumes each held connection when its time comes. */
static void *
holder_main(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->hold_lock);
	for (;;) {
		struct held *h = s->held;

		if (h == NULL) {
			if (!s->holding)
				break;
			pthread_cond_wait(&s->hold_cond, &s->hold_lock);
			continue;
		}
		if (s->holding && h->r->answer_at > now_mono()) {
			struct timespec ts;
			double at = h->r->answer_at;

			ts.tv_sec = (time_t)at;
			ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&s->hold_cond, &s->hold_lock, &ts);
			continue;
		}
		s->held = h->next;
		h->r->answer_at = 0;
		MHD_resume_connection(h->r->conn);
		free(h);
	}
	pthread_mutex_unlock(&s->hold_lock);
	return NULL;
}

/* Suspend c until r->answer_at: 0, or -1 when stopping (answer now). */
static int
hold(struct http_server *s, struct MHD_Connection *c, struct request *r)
{
	struct held *h, **pp;

	pthread_mutex_lock(&s->hold_lock);
	if (!s->holding) {
		pthread_mutex_unlock(&s->hold_lock);
		return -1;
	}
	h = xmalloc(sizeof(*h));
	h->r = r;
	for (pp = &s->held; *pp && (*pp)->r->answer_at <= r->answer_at; pp = &(*pp)->next)
		;
	h->next = *pp;
	*pp = h;
	/* suspended under the lock: the holder cannot resume it first */
	atomic_fetch_add(&s->suspended, 1);
	MHD_suspend_connection(c);
	r->suspended = true;
	pthread_cond_signal(&s->hold_cond);
	pthread_mutex_unlock(&s->hold_lock);
	return 0;
}

/* Answer every held request now, and any later one at once. */
static void
release_held(struct http_server *s)
{
	pthread_mutex_lock(&s->hold_lock);
	s->holding = false;
	pthread_cond_signal(&s->hold_cond);
	pthread_mutex_unlock(&s->hold_lock);
}

static bool
has_header(const struct request *r, const char *name)
{
	for (int i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

/* close: end the connection after this answer (framing errors, stopping) */
static enum MHD_Result
send_response(struct http_server *s, struct request *r, bool close)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->fd >= 0) {
		resp = MHD_create_response_from_fd64(r->fd_size, r->fd);
		r->fd = -1; /* MHD closes it */
	} else {
		resp = MHD_create_response_from_buffer(r->resp.len, r->resp.data, MHD_RESPMEM_MUST_FREE);
		r->resp.data = NULL; /* MHD frees it */
		r->resp.len = r->resp.cap = 0;
	}
	if (resp == NULL)
		return MHD_NO;
	/* docs/design.md §3: on every response */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (!has_header(r, "Referrer-Policy")) /* a handler may ask for a stricter one */
		MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Vary", "Cookie, Authorization");
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type",
		    r->api ? "application/json; charset=utf-8" : r->content_type);
	if (r->api)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (s->hsts[0])
		MHD_add_response_header(resp, "Strict-Transport-Security", s->hsts);
	if (close)
		MHD_add_response_header(resp, "Connection", "close");
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	/* counted as it is queued, so a client that has its answer finds it in
	 * the next scrape (the completion callback may run later) */
	if (!r->counted) {
		r->counted = true;
		metrics_count_request(request_route_slot(r), (int)r->method, r->status,
		    now_mono() - r->started);
	}
	return ret;
}

static struct edge_conn *
conn_edge(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* The edge's rules for a complete head: 0, or -1 with *why for the 400. */
static int
check_head(struct http_server *s, struct MHD_Connection *c, struct request *r, const char *method,
    const char *version, const char **why)
{
	struct edge_header inline_h[32], *h = inline_h;
	const union MHD_ConnectionInfo *ci;
	int ret = -1;

	if (r->nin_headers > sizeof(inline_h) / sizeof(inline_h[0]))
		h = xmalloc(r->nin_headers * sizeof(*h));
	for (size_t i = 0; i < r->nin_headers; i++) {
		h[i].name = r->in_headers[i].name;
		h[i].value = r->in_headers[i].value;
	}
	if (edge_check_framing(h, r->nin_headers, why) != 0)
		goto done;
	if (s->mhd09 &&
	    ((ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE)) == NULL ||
	        edge_check_layout(method, ci->header_size, version, h, r->nin_headers) != 0)) {
		*why = "Malformed request head (lines must end in CR LF, headers may not be folded).";
		goto done;
	}
	ret = 0;
done:
	if (h != inline_h)
		free(h);
	return ret;
}

/* Answer now and close: a body, if any, is never read. */
static enum MHD_Result
refuse(struct http_server *s, struct request *r, int status, const char *detail)
{
	/* whatever was set before (a held answer, its cookies) goes */
	for (int i = 0; i < r->nheaders; i++) {
		sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	respond_error(r, status, detail);
	if (status == 503)
		response_header(r, "Retry-After", "5");
	request_finish_broken(r);
	return send_response(s, r, true);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_thread *t = cls;
	struct http_server *s = t->server;
	struct request *r = *con_cls;
	size_t max = (size_t)s->app->cfg.max_body;

	if (r == NULL) {
		const char *cl, *te, *why;
		long long n;

		r = http_request_new(s, c, url, method);
		*con_cls = r;
		cl = request_header(r, "Content-Length");
		te = request_header(r, "Transfer-Encoding");
		/* a body follows unless this call answers */
		edge_head_done(conn_edge(c), te != NULL || (cl != NULL && strcmp(cl, "0") != 0));
		if (check_head(s, c, r, method, version, &why) != 0)
			return refuse(s, r, 400, why);
		if (atomic_load(&s->stopping))
			return refuse(s, r, 503, STOP_DETAIL);
		if (cl != NULL && (parse_ll(cl, 0, LLONG_MAX, &n) != 0 || (unsigned long long)n > max)) {
			/* too large: answer before reading a byte of it (MHD then closes) */
			r->body_too_large = true;
			respond_error(r, 413, "Request body too large.");
			request_finish_broken(r);
			return send_response(s, r, false);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		edge_body_progress(conn_edge(c), *upload_data_size);
		if (!r->body_too_large) {
			if (r->body.len + *upload_data_size > max) {
				r->body_too_large = true; /* chunked past the limit */
				sodium_memzero(r->body.data, r->body.len);
				buf_free(&r->body);
			} else
				buf_append(&r->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	edge_body_done(conn_edge(c));
	if (r->suspended) {
		r->suspended = false;
		atomic_fetch_sub(&s->suspended, 1);
		r->phase++;
		r->deferred_work = NULL; /* done; the handler may defer again */
		/* its work was skipped, or ran and is not acted on (the work itself
		 * commits nothing), or its answer was held: 503 all the same */
		if (atomic_load(&s->stopping))
			return refuse(s, r, 503, STOP_DETAIL);
	}
	if (r->status == 0 && atomic_load(&s->stopping))
		return refuse(s, r, 503, STOP_DETAIL);
	if (r->status == 0) {
		if (r->body_too_large)
			respond_error(r, 413, "Request body too large.");
		else
			router_dispatch(r);
	}
	if (r->deferred_work != NULL && r->status == 0) {
		/* suspend first, then hand over: the resume can never come before the suspend */
		atomic_fetch_add(&s->suspended, 1);
		MHD_suspend_connection(c);
		r->suspended = true;
		hashpool_submit(r->deferred_pool, run_deferred, resume_deferred, r);
		return MHD_YES;
	}
	if (r->deferred_work != NULL) {
		/* a handler that deferred and answered anyway: its place goes back */
		hashpool_release(r->deferred_pool);
		r->deferred_work = NULL;
	}
	if (r->status == 0)
		respond_error(r, 500, "Internal error.");
	request_finish_broken(r);
	if (r->answer_at > now_mono() && hold(s, c, r) == 0)
		return MHD_YES;
	return send_response(s, r, atomic_load(&s->stopping));
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_thread *t = cls;
	struct request *r = *con_cls;

	(void)toe;
	edge_request_done(conn_edge(c));
	if (r == NULL)
		return;
	/* resumed, but its client had gone: MHD ends it here without calling the handler again, so the
	 * suspended count goes back here (else a stop would wait for it forever in http_drain) */
	if (r->suspended) {
		r->suspended = false;
		atomic_fetch_sub(&t->server->suspended, 1);
	}
	log_access(r->method_name, r->path, r->status, (now_mono() - r->started) * 1000.0,
	    r->caller->kind != AUTH_NONE ? r->caller->user.id : 0, r->ip);
	/* an answer set but never queued (its client left while it was held) */
	if (r->status != 0 && !r->counted)
		metrics_count_request(request_route_slot(r), (int)r->method, r->status,
		    now_mono() - r->started);
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&t->server->live, 1);
}

/* The request line has been read (before the headers): the head is due. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)uri;
	edge_head_started(conn_edge(c));
	return NULL; /* the request is made on the first handler call */
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_thread *t = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		char ip[INET6_ADDRSTRLEN] = "unknown";

		if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET,
			    &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, ip,
			    sizeof(ip));
		else if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, ip,
			    sizeof(ip));
		*socket_context = fd ? edge_conn_open(t->server->edge, t->index, fd->connect_fd, ip) : NULL;
	} else {
		/* before the descriptor is closed: the watchdog lets go of it here */
		edge_conn_close(*socket_context);
		*socket_context = NULL;
	}
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_msg(LOG_WARN, "http: %s", msg);
}

struct http_server *
http_start(struct app *app, char *err, size_t errsz)
{
	const struct config *cfg = &app->cfg;
	struct http_server *s = xcalloc(1, sizeof(*s));
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_PASSIVE },
	                *ai = NULL;
	struct edge_limits lim = { .head_timeout = (double)cfg->head_timeout,
		.idle_timeout = (double)cfg->timeout,
		.min_body_rate = (double)cfg->min_body_rate };
	char host[64], port[8];
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    MHD_USE_ITC;
	size_t hl = strlen(cfg->listen_host);
	/* behind a proxy every connection comes from the proxy: its own limits apply */
	unsigned per_ip = cfg->trust_proxy ? 0 : (unsigned)cfg->per_ip_connections;

	signal(SIGPIPE, SIG_IGN);
	s->port_lock = -1;
	s->mhd09 = strncmp(MHD_get_version(), "0.9.", 4) == 0;
	if (cfg->secure_cookies && cfg->hsts_max_age > 0)
		snprintf(s->hsts, sizeof(s->hsts), "max-age=%ld", cfg->hsts_max_age);
	/* "[::1]" → "::1" */
	if (hl >= 2 && cfg->listen_host[0] == '[' && cfg->listen_host[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), cfg->listen_host + 1);
	else
		snprintf(host, sizeof(host), "%s", cfg->listen_host);
	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		snprintf(err, errsz, "cannot resolve listen address %s", cfg->listen);
		free(s);
		return NULL;
	}
	/* SO_REUSEPORT below would share a port another process listens on */
	if (edge_claim_port(ai->ai_addr, ai->ai_addrlen, cfg->listen, &s->port_lock, err, errsz) != 0) {
		freeaddrinfo(ai);
		free(s);
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->app = app;
	{
		pthread_condattr_t ca;

		pthread_mutex_init(&s->hold_lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->hold_cond, &ca);
		pthread_condattr_destroy(&ca);
		s->holding = true;
		if (pthread_create(&s->holder, NULL, holder_main, s) != 0) {
			snprintf(err, errsz, "cannot start the holder thread");
			freeaddrinfo(ai);
			http_stop(s);
			return NULL;
		}
		s->holder_started = true;
	}
	s->n = (unsigned)cfg->threads;
	s->daemons = xcalloc(s->n, sizeof(*s->daemons));
	s->threads = xcalloc(s->n, sizeof(*s->threads));
	s->edge = edge_new(&lim, s->n);
	for (unsigned i = 0; i < s->n; i++) {
		s->threads[i].server = s;
		s->threads[i].index = i;
		/* limits are per daemon, that is per HTTP thread: the kernel's
		 * SO_REUSEPORT hash does not split connections exactly evenly, so a
		 * divided cap would refuse connections while another thread had room */
		s->daemons[i] = MHD_start_daemon(flags, cfg->listen_port, NULL, NULL, on_request,
		    &s->threads[i], MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
		    ai->ai_addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)cfg->max_header, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		    &s->threads[i], MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s->threads[i],
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s->threads[i],
#if MHD_VERSION >= 0x00097701
		    /* refuses bare LF and folded lines (edge.c does it for 0.9.75) */
		    MHD_OPTION_CLIENT_DISCIPLINE_LVL, (int)1,
#else
		    /* spaces in the URI, HTTP/1.1 without Host */
		    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
#endif
		    MHD_OPTION_END);
		if (s->daemons[i] == NULL) {
			snprintf(err, errsz, "cannot listen on %s (in use, or not a local address?)",
			    cfg->listen);
			freeaddrinfo(ai);
			http_stop(s);
			return NULL;
		}
	}
	freeaddrinfo(ai);
	return s;
}

void
http_quiesce(struct http_server *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(s->daemons[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	/* nothing listens any more: a successor may start while this one drains */
	if (s->port_lock >= 0) {
		close(s->port_lock);
		s->port_lock = -1;
	}
}

void
http_drain(struct http_server *s)
{
	double start, said = now_mono();

	atomic_store(&s->stopping, true);
	release_held(s); /* held answers resume now, and become 503s */
	/* a suspended connection must be resumed and answered before its daemon
	 * stops; its job may still be running, bounded by one hash or one
	 * provider call (social_timeout), so this waits as long as it takes */
	while (atomic_load(&s->suspended) > 0) {
		if (now_mono() - said > 5) {
			log_msg(LOG_INFO, "stopping: %d request%s still waiting for work in progress",
			    atomic_load(&s->suspended), atomic_load(&s->suspended) == 1 ? "" : "s");
			said = now_mono();
		}
		usleep(10 * 1000);
	}
	/* the 503s on their way out (the last resumed one may not even be
	 * queued yet), and requests still sending their body; a request
	 * dispatched just as the stop began may still suspend */
	start = now_mono();
	while (atomic_load(&s->suspended) > 0 || (atomic_load(&s->live) > 0 && now_mono() - start < 2))
		usleep(10 * 1000);
}

void
http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->holder_started) {
		release_held(s);
		pthread_join(s->holder, NULL);
	}
	for (unsigned i = 0; i < s->n; i++)
		if (s->daemons && s->daemons[i])
			MHD_stop_daemon(s->daemons[i]);
	edge_free(s->edge);
	if (s->port_lock >= 0)
		close(s->port_lock);
	pthread_mutex_destroy(&s->hold_lock);
	pthread_cond_destroy(&s->hold_cond);
	free(s->threads);
	free(s->daemons);
	free(s);
}

/* ---- the metrics listener ---- */

struct http_metrics {
	struct MHD_Daemon *daemon;
	struct app *app;
	void (*render)(struct app *app, struct buf *out);
};

static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result
metrics_answer(struct MHD_Connection *c, unsigned status, char *body, size_t len, const char *type,
    const char *allow)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
metrics_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	static int seen; /* a marker: the head has been read */
	struct http_metrics *m = cls;
	struct buf b = { 0 };

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0) {
		buf_puts(&b, "Not found.\n");
		return metrics_answer(c, 404, b.data, b.len, "text/plain; charset=utf-8", NULL);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		buf_puts(&b, "Method not allowed.\n");
		return metrics_answer(c, 405, b.data, b.len, "text/plain; charset=utf-8", "GET, HEAD");
	}
	m->render(m->app, &b);
	return metrics_answer(c, 200, b.data, b.len, metrics_type, NULL);
}

struct http_metrics *
http_metrics_start(struct app *app, void (*render)(struct app *app, struct buf *out), char *err, size_t errsz)
{
	const struct config *cfg = &app->cfg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | AI_PASSIVE },
	                *ai = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct http_metrics *m;
	char port[8];

	snprintf(port, sizeof(port), "%u", cfg->metrics_port);
	if (getaddrinfo(cfg->metrics_host, port, &hints, &ai) != 0 || ai == NULL) {
		snprintf(err, errsz, "cannot use metrics_listen %s (an IP address and a port)",
		    cfg->metrics_listen);
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m = xcalloc(1, sizeof(*m));
	m->app = app;
	m->render = render;
	/* one thread: scrapes are rare, and a store read here uses one connection */
	m->daemon = MHD_start_daemon(flags, cfg->metrics_port, NULL, NULL, metrics_request, m,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)cfg->max_header, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (m->daemon == NULL) {
		snprintf(err, errsz, "cannot listen on metrics_listen %s (in use, or not a local address?)",
		    cfg->metrics_listen);
		free(m);
		return NULL;
	}
	return m;
}

void
http_metrics_stop(struct http_metrics *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}
