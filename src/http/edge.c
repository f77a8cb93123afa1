/*
 * edge — see edge.h.
 *
 * Framing.  A request must have one reading, whoever parses it: a
 * Content-Length beside a Transfer-Encoding, two Content-Lengths, or a
 * transfer coding the server does not decode are the classic ways to make a
 * proxy and a server disagree on where a request ends, so all are refused.
 *
 * Line ends and folding.  libmicrohttpd 0.9 accepts a bare LF as a line end
 * and joins obs-fold continuation lines, and says so nowhere after parsing.
 * What it leaves behind is the read buffer, rewritten in place: each CR LF
 * becomes two NULs, a bare LF one NUL, the ':' after a header name a NUL,
 * and a value starts after the spaces and tabs that follow the colon.  A
 * folded line is joined into a copy elsewhere in the connection's memory.
 * So a head whose lines all ended in CR LF, unfolded, lies in the buffer as
 *
 *   METHOD NUL URI... VERSION NUL NUL  (name NUL [SP|HTAB]* value NUL NUL)*  NUL NUL
 *
 * with each header's name and value exactly where this walk expects them
 * and the last NUL at head + head_size; any bare LF shifts the walk by one
 * byte and any fold moves a name out of the buffer, so either fails it.
 * The walk starts at the version, because the URI is unescaped in place.
 * (A bare LF followed by a literal NUL byte and a CR LF leaves the same bytes
 * as CR LF CR LF and ends the head there for libmicrohttpd too, so it has
 * one reading.)  This depends on 0.9's parser: http.c applies it only when
 * MHD_get_version() is 0.9.x; libmicrohttpd 1.x refuses bare LF and folding
 * itself at its strict client discipline level, which http.c sets instead.
 *
 * Deadlines.  The library's own timeout counts idle time only, so a client
 * that sends one header line a second keeps a connection forever.  The
 * watchdog holds each connection to: the head complete within head_timeout
 * of its request line, and within idle_timeout + head_timeout of the
 * connection's start or of the previous answer (which also bounds a request
 * line trickled byte by byte, which no callback sees start); a body at
 * min_body_rate bytes a second on average after a grace of head_timeout
 * seconds.  A connection between requests is never cut sooner than the idle
 * timeout would have cut it.  Cutting is shutdown(SHUT_RDWR): the HTTP
 * thread then sees the socket end and closes it as for any client that left.
 */
#include "http/edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* how often the watchdog looks, seconds */
#define WATCH_TICK 0.2

enum phase { PHASE_HEAD, PHASE_BODY, PHASE_BUSY };

struct edge_shard {
	pthread_mutex_t lock;
	struct edge_conn *head;
};

struct edge_conn {
	struct edge *edge;
	struct edge_shard *shard;
	struct edge_conn *prev, *next;
	int fd;
	bool cut;
	enum phase phase;
	double deadline;   /* PHASE_HEAD: the head must be complete by then */
	double body_start; /* PHASE_BODY */
	unsigned long long body_bytes;
	char ip[48];
};

struct edge {
	struct edge_limits lim;
	unsigned nshards;
	struct edge_shard *shards;
	pthread_t thread;
	pthread_mutex_t lock; /* stopping, cond */
	pthread_cond_t cond;
	bool stopping;
	unsigned long cuts; /* under lock */
};

static bool is_tchar(unsigned char ch);

static bool
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* s without trailing spaces and tabs equals word, case-insensitively */
static bool
value_is(const char *s, const char *word)
{
	size_t n = strlen(s), w = strlen(word);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n == w && strncasecmp(s, word, w) == 0;
}

int
edge_check_framing(const struct edge_header *h, size_t n, const char **why)
{
	size_t ncl = 0, nte = 0;
	const char *te = NULL, *cl = NULL;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p;

		if (h[i].name == NULL || h[i].value == NULL || h[i].name[0] == '\0') {
			*why = "Malformed header.";
			return -1;
		}
		for (p = (const unsigned char *)h[i].name; *p; p++)
			if (!is_tchar(*p)) {
				*why = "Malformed header name.";
				return -1;
			}
		for (p = (const unsigned char *)h[i].value; *p; p++)
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
				*why = "Control character in a header value.";
				return -1;
			}
		if (strcasecmp(h[i].name, "Content-Length") == 0) {
			ncl++;
			cl = h[i].value;
		} else if (strcasecmp(h[i].name, "Transfer-Encoding") == 0) {
			nte++;
			te = h[i].value;
		}
	}
	if (ncl > 0 && nte > 0) {
		*why = "Content-Length with Transfer-Encoding.";
		return -1;
	}
	if (ncl > 1) {
		*why = "Repeated Content-Length.";
		return -1;
	}
	if (nte > 1) {
		*why = "Repeated Transfer-Encoding.";
		return -1;
	}
	if (te != NULL && !value_is(te, "chunked")) {
		*why = "Unsupported Transfer-Encoding (only chunked).";
		return -1;
	}
	if (cl != NULL) {
		size_t d = strspn(cl, "0123456789");
		if (d == 0 || cl[d + strspn(cl + d, " \t")] != '\0') {
			*why = "Malformed Content-Length.";
			return -1;
		}
	}
	return 0;
}

int
edge_check_layout(const char *head, size_t head_size, const char *version, const struct edge_header *h,
    size_t n)
{
	uintptr_t lo = (uintptr_t)head, hi = lo + head_size;
	const char *end = head + head_size, *p, *q;

	if (head == NULL || version == NULL || (uintptr_t)version < lo || (uintptr_t)version >= hi)
		return -1;
	if ((q = memchr(version, '\0', (size_t)(end - version))) == NULL || end - q < 2 || q[1] != '\0')
		return -1;
	p = q + 2;
	for (size_t i = 0; i < n; i++) {
		const char *v = h[i].value;

		/* the name where the previous line ended, then NUL (was ':') */
		if (h[i].name != p || (q = memchr(p, '\0', (size_t)(end - p))) == NULL || q == p)
			return -1;
		/* blanks up to the value, which must lie in the buffer */
		if (v == NULL || (uintptr_t)v <= (uintptr_t)q || (uintptr_t)v >= hi)
			return -1;
		for (q++; q < v; q++)
			if (*q != ' ' && *q != '\t')
				return -1;
		/* the value, then two NULs (was CR LF) */
		if ((q = memchr(v, '\0', (size_t)(end - v))) == NULL || end - q < 2 || q[1] != '\0')
			return -1;
		p = q + 2;
	}
	return end - p == 2 && p[0] == '\0' && p[1] == '\0' ? 0 : -1;
}

/* --- registry and watchdog ------------------------------------------------ */

static void
cut(struct edge_conn *c, const char *reason)
{
	c->cut = true;
	pthread_mutex_lock(&c->edge->lock);
	c->edge->cuts++;
	pthread_mutex_unlock(&c->edge->lock);
	(void)shutdown(c->fd, SHUT_RDWR);
	log_msg(LOG_INFO, "edge: closed a connection from %s: %s", c->ip, reason);
}

static void
watch_shard(struct edge *e, struct edge_shard *s, double now)
{
	double grace = e->lim.head_timeout;

	pthread_mutex_lock(&s->lock);
	for (struct edge_conn *c = s->head; c; c = c->next) {
		if (c->cut)
			continue;
		if (c->phase == PHASE_HEAD && c->deadline > 0 && now > c->deadline)
			cut(c, "request head not complete in time");
		else if (c->phase == PHASE_BODY && e->lim.min_body_rate > 0 && now - c->body_start > grace &&
		    (double)c->body_bytes < e->lim.min_body_rate * (now - c->body_start - grace))
			cut(c, "request body slower than the minimum rate");
	}
	pthread_mutex_unlock(&s->lock);
}

static void *
watchdog(void *arg)
{
	struct edge *e = arg;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(WATCH_TICK * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
		if (e->stopping)
			break;
		pthread_mutex_unlock(&e->lock);
		for (unsigned i = 0; i < e->nshards; i++)
			watch_shard(e, &e->shards[i], now_mono());
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

struct edge *
edge_new(const struct edge_limits *lim, unsigned nshards)
{
	struct edge *e = xcalloc(1, sizeof(*e));
	pthread_condattr_t ca;

	e->lim = *lim;
	e->nshards = nshards ? nshards : 1;
	e->shards = xcalloc(e->nshards, sizeof(*e->shards));
	for (unsigned i = 0; i < e->nshards; i++)
		pthread_mutex_init(&e->shards[i].lock, NULL);
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&e->thread, NULL, watchdog, e) != 0)
		fatal("cannot start the connection watchdog thread");
	return e;
}

void
edge_free(struct edge *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	for (unsigned i = 0; i < e->nshards; i++) {
		/* connections still registered belong to a library that is gone */
		while (e->shards[i].head) {
			struct edge_conn *c = e->shards[i].head;
			e->shards[i].head = c->next;
			free(c);
		}
		pthread_mutex_destroy(&e->shards[i].lock);
	}
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e->shards);
	free(e);
}

static double
idle_deadline(const struct edge *e, double now)
{
	if (e->lim.head_timeout <= 0)
		return 0;
	return now + e->lim.idle_timeout + e->lim.head_timeout;
}

struct edge_conn *
edge_conn_open(struct edge *e, unsigned shard, int fd, const char *ip)
{
	struct edge_conn *c = xcalloc(1, sizeof(*c));

	c->edge = e;
	c->shard = &e->shards[shard % e->nshards];
	c->fd = fd;
	c->phase = PHASE_HEAD;
	c->deadline = idle_deadline(e, now_mono());
	strlcpy_ok(c->ip, ip ? ip : "unknown", sizeof(c->ip));
	pthread_mutex_lock(&c->shard->lock);
	c->next = c->shard->head;
	if (c->next)
		c->next->prev = c;
	c->shard->head = c;
	pthread_mutex_unlock(&c->shard->lock);
	return c;
}

void
edge_conn_close(struct edge_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->shard->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->shard->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&c->shard->lock);
	free(c);
}

void
edge_head_started(struct edge_conn *c)
{
	double d;

	if (c == NULL || c->edge->lim.head_timeout <= 0)
		return;
	d = now_mono() + c->edge->lim.head_timeout;
	pthread_mutex_lock(&c->shard->lock);
	c->phase = PHASE_HEAD;
	if (c->deadline == 0 || d < c->deadline)
		c->deadline = d;
	pthread_mutex_unlock(&c->shard->lock);
}

void
edge_head_done(struct edge_conn *c, bool body)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->shard->lock);
	c->phase = body ? PHASE_BODY : PHASE_BUSY;
	c->body_start = now_mono();
	c->body_bytes = 0;
	pthread_mutex_unlock(&c->shard->lock);
}

void
edge_body_progress(struct edge_conn *c, size_t n)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->shard->lock);
	c->body_bytes += n;
	pthread_mutex_unlock(&c->shard->lock);
}

void
edge_body_done(struct edge_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->shard->lock);
	c->phase = PHASE_BUSY;
	pthread_mutex_unlock(&c->shard->lock);
}

void
edge_request_done(struct edge_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->shard->lock);
	c->phase = PHASE_HEAD;
	c->deadline = idle_deadline(c->edge, now_mono());
	pthread_mutex_unlock(&c->shard->lock);
}

unsigned long
edge_cuts(struct edge *e)
{
	unsigned long n;

	pthread_mutex_lock(&e->lock);
	n = e->cuts;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* --- the listening port --------------------------------------------------- */

int
edge_claim_port(const struct sockaddr *addr, socklen_t len, const char *label, int *lock_fd, char *err,
    size_t errsz)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	int one = 1, fd = -1, probe = -1, ret = -1, n;

	*lock_fd = -1;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	if (port == 0)
		return 0; /* an ephemeral port is nobody else's */

	/* abstract socket: unique in the network namespace, gone with the process */
	n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "gatehouse-listen-%s-%u", host, port);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errsz, "cannot claim %s: %s", label, strerror(errno));
		goto done;
	}
	if (bind(fd, (struct sockaddr *)&un,
	        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) != 0) {
		if (errno == EADDRINUSE)
			snprintf(err, errsz, "cannot listen on %s: another gatehouse is already serving it",
			    label);
		else
			snprintf(err, errsz, "cannot claim %s: %s", label, strerror(errno));
		goto done;
	}

	/* without SO_REUSEPORT this bind fails while any socket listens there */
	if ((probe = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", label, strerror(errno));
		goto done;
	}
	if (addr->sa_family == AF_INET6)
		(void)setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(probe, addr, len) != 0) {
		if (errno == EADDRINUSE)
			snprintf(err, errsz,
			    "cannot listen on %s: the address is already in use by another process", label);
		else
			snprintf(err, errsz, "cannot listen on %s: %s", label, strerror(errno));
		goto done;
	}
	*lock_fd = fd;
	fd = -1;
	ret = 0;
done:
	if (probe >= 0)
		close(probe);
	if (fd >= 0)
		close(fd);
	return ret;
}
