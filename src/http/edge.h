/*
 * edge — the strict edge of the HTTP server, for when gatehouse faces
 * clients directly: the framing rules a request head must keep so that it
 * has exactly one reading, the registry of open connections with the
 * watchdog thread that cuts a connection whose request head is late or whose
 * body trickles in, and the claim on the listening port.  Knows nothing of
 * libmicrohttpd: http.c hands it plain values (header pointers, descriptors).
 * Must never close a descriptor (it only shutdown()s one that is registered,
 * under the lock that unregistering takes) and never logs header values.
 */
#ifndef GATEHOUSE_EDGE_H
#define GATEHOUSE_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One request header as the HTTP library parsed it (borrowed pointers). */
struct edge_header {
	const char *name;
	const char *value;
};

/* The framing rules: header names are tokens; values hold no control
 * character but HTAB; at most one Content-Length, digits only; at most one
 * Transfer-Encoding, and only "chunked", never with Content-Length.  0, or -1
 * with *why a fixed sentence for the 400 answer (never client text). */
int edge_check_framing(const struct edge_header *h, size_t n, const char **why);

/* For a head that libmicrohttpd 0.9 parsed in place (see edge.c): head is
 * its first byte (the method), head_size its length up to and including
 * the empty line, version the parsed HTTP version inside it, h[0..n) the
 * headers in arrival order.  0 when every line ended in CR LF and none was
 * folded, else -1. */
int edge_check_layout(const char *head, size_t head_size, const char *version, const struct edge_header *h,
    size_t n);

/* Limits the watchdog enforces; 0 turns one off. */
struct edge_limits {
	double head_timeout;  /* seconds from the request line to the end of the head */
	double idle_timeout;  /* the server's idle timeout: added to the head timeout for a
	                       * head that starts on a new or idle keep-alive connection */
	double min_body_rate; /* bytes per second a body must keep up after head_timeout */
};

struct edge;
struct edge_conn;

/* A registry with nshards independent locks (one per HTTP thread, so they
 * never contend with each other) and its watchdog thread.  Free with
 * edge_free once every connection is closed. */
struct edge *edge_new(const struct edge_limits *lim, unsigned nshards);
void edge_free(struct edge *e);

/* A connection was accepted on shard's thread: fd is watched until
 * edge_conn_close.  ip: the peer address, for the log line of a cut. */
struct edge_conn *edge_conn_open(struct edge *e, unsigned shard, int fd, const char *ip);
/* The connection is about to be closed: after this returns the watchdog
 * never touches its descriptor again, and c is freed. */
void edge_conn_close(struct edge_conn *c);

/* A request line has been read: the rest of the head is due within
 * head_timeout. */
void edge_head_started(struct edge_conn *c);
/* The head is complete; a body of body bytes follows (0: none, or the
 * request was answered without reading it). */
void edge_head_done(struct edge_conn *c, bool body);
/* n more body bytes arrived. */
void edge_body_progress(struct edge_conn *c, size_t n);
/* The body is complete: nothing is due from the client until the answer is
 * sent. */
void edge_body_done(struct edge_conn *c);
/* The answer was sent; the connection is idle (keep-alive) and its next
 * head is due within idle_timeout + head_timeout. */
void edge_request_done(struct edge_conn *c);

/* How many connections the watchdog has cut since the start. */
unsigned long edge_cuts(struct edge *e);

/* Claim addr for this process before the HTTP threads bind it with
 * SO_REUSEPORT (which would otherwise share a port another process holds):
 * an abstract-socket lock named for the address, so two gatehouses can
 * never both pass, then a plain bind that fails when anything listens there.
 * 0 and *lock_fd (keep it open while serving; close it at the end), or -1
 * with a message in err. */
int edge_claim_port(const struct sockaddr *addr, socklen_t len, const char *label, int *lock_fd, char *err,
    size_t errsz);

#endif
