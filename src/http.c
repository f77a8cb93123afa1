/*
 * http — see http.h.  libmicrohttpd runs an epoll loop per thread of its
 * pool; each request gets a struct request on the first call of the access
 * handler (headers only), collects its body on the following calls, and is
 * answered on the call where no body is left, which keeps keep-alive on.
 * Slow work suspends the connection and resumes it from the hash pool.
 */
#include "http.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
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
#include "hashpool.h"
#include "log.h"
#include "router.h"

/* One libmicrohttpd daemon, each with its own epoll thread and its own
 * SO_REUSEPORT listening socket, per HTTP thread: the kernel spreads new
 * connections evenly, where one daemon's thread pool was seen to pile most
 * keep-alive connections onto one thread (bench/RESULTS.md). */
struct http_server {
	struct MHD_Daemon **daemons;
	unsigned n;
	struct app *app;

	/* answers held until a time (request_answer_at), soonest first */
	pthread_mutex_t hold_lock;
	pthread_cond_t hold_cond;            /* on CLOCK_MONOTONIC */
	struct held *held;
	bool holding;                        /* false once stopping: answer at once */
	bool holder_started;
	pthread_t holder;
};

struct held {
	struct request *r;
	struct held *next;
};

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
	MHD_get_connection_values(c, (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND), collect, r);
	client_ip(r, c);
	return r;
}

static void
run_deferred(void *arg)
{
	struct request *r = arg;

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

static enum MHD_Result
send_response(struct request *r)
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
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request *r = *con_cls;
	size_t max = (size_t)s->app->cfg.max_body;

	(void)version;
	if (r == NULL) {
		const char *cl;
		long long n;

		r = http_request_new(s, c, url, method);
		*con_cls = r;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && (parse_ll(cl, 0, LLONG_MAX, &n) != 0 || (unsigned long long)n > max)) {
			/* too large: answer before reading a byte of it (MHD then closes) */
			r->body_too_large = true;
			respond_error(r, 413, "Request body too large.");
			return send_response(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
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
	if (r->suspended) {
		r->suspended = false;
		r->phase++;
		r->deferred_work = NULL;     /* done; the handler may defer again */
	}
	if (r->status == 0) {
		if (r->body_too_large)
			respond_error(r, 413, "Request body too large.");
		else
			router_dispatch(r);
	}
	if (r->deferred_work != NULL && r->status == 0) {
		/* suspend first, then hand over: the resume can never come before the suspend */
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
	return send_response(r);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	log_access(r->method_name, r->path, r->status, (now_mono() - r->started) * 1000.0,
	    r->auth != AUTH_NONE ? r->user.id : 0, r->ip);
	request_free(r);
	*con_cls = NULL;
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
	char host[64], port[8];
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    MHD_USE_ITC;
	size_t hl = strlen(cfg->listen_host);

	signal(SIGPIPE, SIG_IGN);
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
	for (unsigned i = 0; i < s->n; i++) {
		/* limits are per daemon, that is per HTTP thread: the kernel's
		 * SO_REUSEPORT hash does not split connections exactly evenly, so a
		 * divided cap would refuse connections while another thread had room */
		s->daemons[i] = MHD_start_daemon(flags, cfg->listen_port, NULL, NULL, on_request, s,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
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
	release_held(s);
	for (unsigned i = 0; i < s->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(s->daemons[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
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
	pthread_mutex_destroy(&s->hold_lock);
	pthread_cond_destroy(&s->hold_cond);
	free(s->daemons);
	free(s);
}
