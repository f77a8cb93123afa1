/*
 * static — serving the built SPA from cfg.static_dir: the file if it exists,
 * else index.html (history-mode routing).  Must never serve anything outside
 * that folder: no "..", no symlink out of it.
 */
#ifndef GATEHOUSE_STATIC_H
#define GATEHOUSE_STATIC_H

#include <stdbool.h>
#include <stdint.h>

struct request;

/* The file a path maps to. */
struct static_file {
	int fd; /* open read-only; the caller closes it */
	uint64_t size;
	const char *content_type; /* static string */
	bool hashed;              /* content-hashed name: cacheable for a year */
	bool html;                /* text/html: gets the CSP */
	bool no_referrer;         /* the path may carry a secret (reset, confirmation, a provider's code) */
};

/* Map a percent-decoded URL path to a file under dir, without a request:
 * the file itself when it is a regular file inside dir, else index.html
 * (history-mode routing).  0 with out filled; -1 when the path is refused
 * (a "." or ".." segment, a backslash) or nothing can be served; -2 when dir
 * itself is missing (the SPA is not built). */
int static_map(const char *dir, const char *path, struct static_file *out);
/* Answer r (GET or HEAD) from cfg.static_dir through static_map. */
void static_serve(struct request *r);
/* 1 if a file name looks content-hashed by a bundler ("index-Ab12Cd34.js"). */
int static_is_hashed(const char *name);

#endif
