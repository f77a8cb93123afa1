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
#include "http.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdatomic.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "app.h"
#include "body.h"
#include "edge.h"
#include "hashpool.h"
#include "log.h"
#include "router.h"

/* One libmicrohttpd daemon, each with its own epoll thread and its own
 * SO_REUSEPORT listening socket, per HTTP thread: the kernel spreads new
 * connections evenly, where one daemon's thread pool was seen to pile most
 * keep-alive connections onto one thread (bench/RESULTS.md). */
struct http_thread {
	struct http_server *server;
	unsigned index;              /* the edge registry's shard */
};

struct http_server {
	struct MHD_Daemon **daemons;
	struct http_thread *threads;
	unsigned n;
	struct app *app;
	struct edge *edge;
	int port_lock;               /* edge_claim_port's, held while serving */
	bool mhd09;                  /* libmicrohttpd 0.9.x: check the head's layout */
	char hsts[64];               /* Strict-Transport-Security value, or "" */
	atomic_bool stopping;
	atomic_int suspended;        /* connections suspended right now */
	atomic_int live;             /* requests begun and not yet completed */
};

#define STOP_DETAIL "The server is restarting; try again in a few seconds."

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", M_GET }, { "HEAD", M_HEAD }, { "POST", M_POST }, { "PUT", M_PUT },
	{ "PATCH", M_PATCH }, { "DELETE", M_DELETE }, { "OPTIONS", M_OPTIONS },
};

static void
client_ip(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *fwd;

	strlcpy_ok(r->ip, "unknown", sizeof(r->ip));
	if (r->app->cfg.trust_proxy) {
		/* behind our own nginx: X-Real-IP, else the last X-Forwarded-For hop */
		if ((fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP")) == NULL &&
		    (fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For")) != NULL) {
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

static struct request *
request_new(struct http_server *s, struct MHD_Connection *c, const char *url, const char *method)
{
	struct request *r = xcalloc(1, sizeof(*r));

	r->app = s->app;
	r->conn = c;
	r->started = now_mono();
	r->method = M_OTHER;
	r->method_name = method;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].name) == 0) {
			r->method = methods[i].m;
			r->method_name = methods[i].name;
			break;
		}
	r->path = xstrdup(url);
	r->fd = -1;
	client_ip(r, c);
	atomic_fetch_add(&s->live, 1);
	return r;
}

static void
request_free(struct request *r)
{
	if (r->state_free && r->state)
		r->state_free(r->state);
	for (int i = 0; i < r->nheaders; i++) {
		/* Set-Cookie values carry session keys: wipe them */
		sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].value);
	}
	if (r->body.data) {
		sodium_memzero(r->body.data, r->body.len);   /* may hold a password */
		buf_free(&r->body);
	}
	buf_free(&r->resp);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	sodium_memzero(&r->user, sizeof(r->user));
	free(r);
}

const char *
request_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
request_query(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int
request_json(struct request *r, json_t **out)
{
	char detail[256];
	int status = body_parse(request_header(r, "Content-Type"), r->body.data ? r->body.data : "",
	    r->body.len, out, detail, sizeof(detail));

	if (status == 0)
		return 0;
	respond_error(r, status, detail);
	return -1;
}

void
response_header(struct request *r, const char *name, const char *value)
{
	if (r->nheaders >= HTTP_MAX_HEADERS)
		fatal("too many response headers (%s)", name);
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

void
respond_json(struct request *r, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (s == NULL)
		fatal("json_dumps failed");
	r->resp.len = 0;
	buf_puts(&r->resp, s);
	free(s);
	r->status = status;
	r->api = true;
	r->content_type = "application/json";
}

void
respond_error(struct request *r, int status, const char *detail)
{
	respond_json(r, status, json_pack("{s:s}", "detail", detail));
}

void
respond_file(struct request *r, int status, int fd, uint64_t size, const char *content_type)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->fd_size = size;
	r->status = status;
	r->content_type = content_type;
}

void
respond_text(struct request *r, int status, const char *text)
{
	r->resp.len = 0;
	buf_puts(&r->resp, text);
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
}

void
respond_empty(struct request *r, int status)
{
	r->resp.len = 0;
	r->status = status;
	r->api = true;
	r->content_type = NULL;
}

static int
defer_on(struct request *r, struct hashpool *pool, void (*work)(void *), void *arg)
{
	if (pool == NULL || hashpool_reserve(pool) != 0)
		return -1;
	r->deferred_pool = pool;
	r->deferred_work = work;
	r->deferred_arg = arg;
	return 0;
}

int
request_defer(struct request *r, void (*work)(void *), void *arg)
{
	return defer_on(r, r->app->hashpool, work, arg);
}

int
request_defer_net(struct request *r, void (*work)(void *), void *arg)
{
	return defer_on(r, r->app->netpool, work, arg);
}

/* a job on a pool: the request and its server */
struct deferred {
	struct request *r;
	struct http_server *s;
};

static void
run_deferred(void *arg)
{
	struct deferred *d = arg;

	/* stopping: the request will be answered 503 without its work */
	if (!atomic_load(&d->s->stopping))
		d->r->deferred_work(d->r->deferred_arg);
}

static void
resume_deferred(void *arg)
{
	struct deferred *d = arg;
	struct MHD_Connection *c = d->r->conn;

	free(d);
	MHD_resume_connection(c);
}

/* close: end the connection after this answer (framing errors, stopping) */
static enum MHD_Result
send_response(struct http_server *s, struct request *r, bool close)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->fd >= 0) {
		resp = MHD_create_response_from_fd64(r->fd_size, r->fd);
		r->fd = -1;                       /* MHD closes it */
	} else {
		resp = MHD_create_response_from_buffer(r->resp.len, r->resp.data, MHD_RESPMEM_MUST_FREE);
		r->resp.data = NULL;              /* MHD frees it */
		r->resp.len = r->resp.cap = 0;
	}
	if (resp == NULL)
		return MHD_NO;
	/* DESIGN §3: on every response */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Vary", "Cookie, Authorization");
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->api ? "application/json; charset=utf-8" : r->content_type);
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
	return ret;
}

static struct edge_conn *
conn_edge(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

struct header_list {
	struct edge_header *h;
	size_t n, cap;
	struct edge_header inline_h[32];
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_list *l = cls;

	(void)kind;
	if (l->n == l->cap) {
		struct edge_header *h = xmalloc(2 * l->cap * sizeof(*h));
		memcpy(h, l->h, l->n * sizeof(*h));
		if (l->h != l->inline_h)
			free(l->h);
		l->h = h;
		l->cap *= 2;
	}
	l->h[l->n].name = key;
	l->h[l->n].value = value;
	l->n++;
	return MHD_YES;
}

/* The edge's rules for a complete head: 0, or -1 with *why for the 400. */
static int
check_head(struct http_server *s, struct MHD_Connection *c, const char *method, const char *version,
    const char **why)
{
	struct header_list l = { .cap = 32 };
	const union MHD_ConnectionInfo *ci;
	int ret = -1;

	l.h = l.inline_h;
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &l);
	if (edge_check_framing(l.h, l.n, why) != 0)
		goto done;
	if (s->mhd09 && ((ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE)) == NULL ||
	    edge_check_layout(method, ci->header_size, version, l.h, l.n) != 0)) {
		*why = "Malformed request head (lines must end in CR LF, headers may not be folded).";
		goto done;
	}
	ret = 0;
done:
	if (l.h != l.inline_h)
		free(l.h);
	return ret;
}

/* answer now and close: the body, if any, is never read */
static enum MHD_Result
refuse(struct http_server *s, struct request *r, int status, const char *detail)
{
	respond_error(r, status, detail);
	if (status == 503)
		response_header(r, "Retry-After", "5");
	return send_response(s, r, true);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_thread *t = cls;
	struct http_server *s = t->server;
	struct request *r = *con_cls;
	size_t max = (size_t)s->app->cfg.max_body;

	if (r == NULL) {
		const char *cl, *te, *why;
		long long n;

		r = request_new(s, c, url, method);
		*con_cls = r;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
		/* a body follows unless this call answers */
		edge_head_done(conn_edge(c), te != NULL || (cl != NULL && strcmp(cl, "0") != 0));
		if (check_head(s, c, method, version, &why) != 0)
			return refuse(s, r, 400, why);
		if (atomic_load(&s->stopping))
			return refuse(s, r, 503, STOP_DETAIL);
		if (cl != NULL && (parse_ll(cl, 0, LLONG_MAX, &n) != 0 || (unsigned long long)n > max)) {
			/* too large: answer before reading a byte of it (MHD then closes) */
			r->body_too_large = true;
			respond_error(r, 413, "Request body too large.");
			return send_response(s, r, false);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		edge_body_progress(conn_edge(c), *upload_data_size);
		if (!r->body_too_large) {
			if (r->body.len + *upload_data_size > max) {
				r->body_too_large = true;     /* chunked past the limit */
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
		r->deferred_work = NULL;     /* done; the handler may defer again */
		if (atomic_load(&s->stopping)) {
			/* its work was skipped, or ran but is not acted on: nothing was committed */
			for (int i = 0; i < r->nheaders; i++) {
				sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
				free(r->headers[i].value);
			}
			r->nheaders = 0;
			return refuse(s, r, 503, STOP_DETAIL);
		}
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
		struct deferred *d = xmalloc(sizeof(*d));

		d->r = r;
		d->s = s;
		/* suspend first, then hand over: the resume can never come before the suspend */
		atomic_fetch_add(&s->suspended, 1);
		MHD_suspend_connection(c);
		r->suspended = true;
		hashpool_submit(r->deferred_pool, run_deferred, resume_deferred, d);
		return MHD_YES;
	}
	if (r->deferred_work != NULL) {
		/* a handler that deferred and answered anyway: its place goes back */
		hashpool_release(r->deferred_pool);
		r->deferred_work = NULL;
	}
	if (r->status == 0)
		respond_error(r, 500, "Internal error.");
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
	log_access(r->method_name, r->path, r->status, (now_mono() - r->started) * 1000.0,
	    r->auth != AUTH_NONE ? r->user.id : 0, r->ip);
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
	return NULL;                 /* the request context is made on the first handler call */
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct http_thread *t = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		char ip[INET6_ADDRSTRLEN] = "unknown";

		if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			    ip, sizeof(ip));
		else if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
			    ip, sizeof(ip));
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
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *ai = NULL;
	struct edge_limits lim = { .head_timeout = (double)cfg->head_timeout, .idle_timeout = (double)cfg->timeout,
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
		s->daemons[i] = MHD_start_daemon(flags, cfg->listen_port, NULL, NULL, on_request, &s->threads[i],
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s->threads[i],
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s->threads[i],
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
			snprintf(err, errsz, "cannot listen on %s (in use, or not a local address?)", cfg->listen);
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
}

void
http_drain(struct http_server *s)
{
	double start = now_mono(), said = start;

	atomic_store(&s->stopping, true);
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
	/* the 503s on their way out, and requests still sending their body (a
	 * request dispatched just as the stop began may still suspend) */
	while (atomic_load(&s->suspended) > 0 || (atomic_load(&s->live) > 0 && now_mono() - start < 2))
		usleep(10 * 1000);
}

void
http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (s->daemons[i])
			MHD_stop_daemon(s->daemons[i]);
	edge_free(s->edge);
	if (s->port_lock >= 0)
		close(s->port_lock);
	free(s->threads);
	free(s->daemons);
	free(s);
}
