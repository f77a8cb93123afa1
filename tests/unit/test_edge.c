/* Unit tests for src/http/edge.c: framing rules, the in-place layout walk, the
 * watchdog's cuts and the port claim. */
#include "test.h"
#include "../../src/http/edge.c"

#include <fcntl.h>
#include <poll.h>

#define H(n, v)                                                                                              \
	{                                                                                                    \
		n, v                                                                                         \
	}

static int
framing(const struct edge_header *h, size_t n, const char *want_why)
{
	const char *why = NULL;
	int r = edge_check_framing(h, n, &why);

	if (want_why == NULL)
		return r == 0;
	return r == -1 && why != NULL && strstr(why, want_why) != NULL;
}

static void
test_framing(void)
{
	struct edge_header ok[] = { H("Host", "x"), H("Content-Length", "12"), H("X-A", "b\tc ") };
	struct edge_header chunked[] = { H("Host", "x"), H("transfer-encoding", "Chunked") };
	struct edge_header clte[] = { H("Content-Length", "5"), H("Transfer-Encoding", "chunked") };
	struct edge_header tecl[] = { H("Transfer-Encoding", "chunked"), H("Content-Length", "5") };
	struct edge_header cl2[] = { H("Content-Length", "5"), H("content-length", "5") };
	struct edge_header cl2d[] = { H("Content-Length", "5"), H("Content-Length", "6") };
	struct edge_header gzip[] = { H("Transfer-Encoding", "gzip") };
	struct edge_header chgz[] = { H("Transfer-Encoding", "chunked, gzip") };
	struct edge_header te2[] = { H("Transfer-Encoding", "chunked"), H("Transfer-Encoding", "chunked") };
	struct edge_header clbad[] = { H("Content-Length", "5, 5") };
	struct edge_header clneg[] = { H("Content-Length", "-1") };
	struct edge_header clempty[] = { H("Content-Length", "") };
	struct edge_header ctl[] = { H("X", "a\rb") };
	struct edge_header del[] = { H("X", "a\x7f") };
	struct edge_header obs[] = { H("X", "caf\xc3\xa9") };
	struct edge_header sp[] = { H("Host ", "x") };
	struct edge_header empty[] = { H("", "x") };

	CHECK(framing(ok, 3, NULL));
	CHECK(framing(ok, 0, NULL));
	CHECK(framing(chunked, 2, NULL));
	CHECK(framing(clte, 2, "with Transfer-Encoding"));
	CHECK(framing(tecl, 2, "with Transfer-Encoding"));
	CHECK(framing(cl2, 2, "Repeated Content-Length"));
	CHECK(framing(cl2d, 2, "Repeated Content-Length"));
	CHECK(framing(gzip, 1, "only chunked"));
	CHECK(framing(chgz, 1, "only chunked"));
	CHECK(framing(te2, 2, "Repeated Transfer-Encoding"));
	CHECK(framing(clbad, 1, "Malformed Content-Length"));
	CHECK(framing(clneg, 1, "Malformed Content-Length"));
	CHECK(framing(clempty, 1, "Malformed Content-Length"));
	CHECK(framing(ctl, 1, "Control character"));
	CHECK(framing(del, 1, "Control character"));
	CHECK(framing(obs, 1, NULL));
	CHECK(framing(sp, 1, "header name"));
	CHECK(framing(empty, 1, "Malformed header"));
}

/* Rewrite a raw head as libmicrohttpd 0.9 does (CR LF -> NUL NUL, bare LF
 * -> NUL, ':' -> NUL, value after blanks) into buf; fills h and version. */
static size_t
rewrite(const char *raw, char *buf, struct edge_header *h, size_t *nh, const char **version)
{
	size_t len = strlen(raw), i = 0, line = 0;
	bool first = true;

	memcpy(buf, raw, len + 1);
	*nh = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && buf[i] != '\n')
			i++;
		if (i > start && buf[i - 1] == '\r')
			buf[i - 1] = '\0';
		buf[i] = '\0';
		line = i - start - (buf[i - 1] == '\0' && i > start ? 1 : 0);
		if (first) {
			char *sp = strrchr(buf + start, ' ');
			*sp = '\0';
			*version = sp + 1;
			buf[start + strcspn(buf + start, " ")] = '\0';
			first = false;
		} else if (line == 0) {
			return i + 1;
		} else {
			char *colon = strchr(buf + start, ':'), *v;
			*colon = '\0';
			v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			h[*nh].name = buf + start;
			h[*nh].value = v;
			(*nh)++;
		}
		i++;
	}
	return i;
}

static int
layout(const char *raw)
{
	char buf[512];
	struct edge_header h[16];
	size_t n, size;
	const char *version = NULL;

	size = rewrite(raw, buf, h, &n, &version);
	return edge_check_layout(buf, size, version, h, n);
}

static void
test_layout(void)
{
	char buf[128];
	struct edge_header h[4];
	size_t n, size;
	const char *version;

	CHECK(layout("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A:  b \r\nE:\r\nT: \t\r\n\r\n") == 0);
	CHECK(layout("GET / HTTP/1.1\r\n\r\n") == 0);
	CHECK(layout("GET / HTTP/1.1\nHost: x\r\n\r\n") == -1);
	CHECK(layout("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n") == -1);
	CHECK(layout("GET / HTTP/1.1\r\nHost: x\r\n\n") == -1);
	CHECK(layout("GET / HTTP/1.1\n\n") == -1);
	/* a NUL inside a value ends it early: the bytes after it break the walk */
	memcpy(buf, "GET\0/\0HTTP/1.1\0\0X\0 a\0b\0\0\0\0", 27);
	h[0].name = buf + 16;
	h[0].value = buf + 19;
	CHECK(edge_check_layout(buf, 27, buf + 6, h, 1) == -1);
	/* a folded line: the name was moved out of the buffer */
	size = rewrite("GET / HTTP/1.1\r\nX: y\r\n\r\n", buf, h, &n, &version);
	{
		static char moved[] = "Xfolded";
		h[0].name = moved;
		CHECK(edge_check_layout(buf, size, version, h, n) == -1);
	}
	/* the size must end exactly after the empty line */
	size = rewrite("GET / HTTP/1.1\r\nX: y\r\n\r\n", buf, h, &n, &version);
	CHECK(edge_check_layout(buf, size, version, h, n) == 0);
	CHECK(edge_check_layout(buf, size + 1, version, h, n) == -1);
	CHECK(edge_check_layout(buf, size - 1, version, h, n) == -1);
	/* a header left out of the list, or a version outside the head */
	CHECK(edge_check_layout(buf, size, version, h, 0) == -1);
	CHECK(edge_check_layout(buf, size, "HTTP/1.1", h, n) == -1);
	CHECK(edge_check_layout(NULL, 0, NULL, h, 0) == -1);
}

/* 1 when the peer end of a socketpair sees the connection end within ms */
static int
ended_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void
test_watchdog(void)
{
	struct edge_limits lim = { .head_timeout = 0.3, .idle_timeout = 1.5, .min_body_rate = 1000 };
	struct edge *e = edge_new(&lim, 2);
	int late[2], slow[2], fast[2], idle[2];
	struct edge_conn *cl, *cs, *cf, *ci;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, late) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, slow) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fast) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, idle) == 0);
	cl = edge_conn_open(e, 0, late[0], "192.0.2.1");
	cs = edge_conn_open(e, 1, slow[0], "192.0.2.2");
	cf = edge_conn_open(e, 0, fast[0], "192.0.2.3");
	ci = edge_conn_open(e, 1, idle[0], "192.0.2.4");
	edge_head_started(cl); /* a head that never ends: cut after 0.3 s */
	edge_head_started(cs);
	edge_head_done(cs, true); /* a body that never comes: cut after 0.3 s */
	edge_head_started(cf);
	edge_head_done(cf, false); /* answered: nothing due */
	/* idle: due within idle + head = 1.8 s of opening */
	CHECK(ended_within(late[1], 1200));
	CHECK(ended_within(slow[1], 1200));
	CHECK(!ended_within(idle[1], 0));
	CHECK(!ended_within(fast[1], 0));
	CHECK(ended_within(idle[1], 3000));
	CHECK(!ended_within(fast[1], 0));
	CHECK(edge_cuts(e) == 3);
	edge_request_done(cf); /* keep-alive: idle + head from now */
	CHECK(!ended_within(fast[1], 1000));
	CHECK(ended_within(fast[1], 2500));
	edge_conn_close(cl);
	edge_conn_close(cs);
	edge_conn_close(cf);
	edge_conn_close(ci);
	edge_free(e);
	for (int i = 0; i < 2; i++) {
		close(late[i]);
		close(slow[i]);
		close(fast[i]);
		close(idle[i]);
	}
}

static void
test_claim_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char err[256];
	int l = socket(AF_INET, SOCK_STREAM, 0), lock1 = -1, lock2 = -1;

	/* a port someone else listens on */
	CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0);
	CHECK(getsockname(l, (struct sockaddr *)&a, &alen) == 0);
	CHECK(edge_claim_port((struct sockaddr *)&a, sizeof(a), "here", &lock1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "already in use") != NULL && lock1 == -1);
	close(l);
	/* free now: claimed once, not twice */
	CHECK(edge_claim_port((struct sockaddr *)&a, sizeof(a), "here", &lock1, err, sizeof(err)) == 0);
	CHECK(lock1 >= 0);
	CHECK(edge_claim_port((struct sockaddr *)&a, sizeof(a), "here", &lock2, err, sizeof(err)) == -1);
	CHECK(strstr(err, "another gatehouse") != NULL);
	close(lock1);
	CHECK(edge_claim_port((struct sockaddr *)&a, sizeof(a), "here", &lock2, err, sizeof(err)) == 0);
	close(lock2);
}

int
main(void)
{
	test_framing();
	test_layout();
	test_watchdog();
	test_claim_port();
	return test_summary("test_edge");
}
