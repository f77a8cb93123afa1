/*
 * static — see static.h.  Paths arrive percent-decoded from the HTTP layer;
 * any ".." segment is refused before touching the file system, and the
 * resolved real path must still lie inside the real static folder.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "http/http.h"

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".gif", "image/gif" },
	{ ".webp", "image/webp" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".woff", "font/woff" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".wasm", "application/wasm" },
};

static const char *
content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int
hash_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-';
}

int
static_is_hashed(const char *name)
{
	const char *base = strrchr(name, '/'), *dot, *p;
	size_t run = 0;

	base = base ? base + 1 : name;
	if ((dot = strrchr(base, '.')) == NULL || dot - base < 10)
		return 0;
	/* Vite/Rollup: name-<8 chars of [A-Za-z0-9_-]>.ext; webpack: name.<hash>.ext */
	for (p = dot - 8; p < dot; p++) {
		if (!hash_char(*p))
			return 0;
		/* a hash has digits or capitals; plain words ("my-document.pdf") don't */
		if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
			run++;
	}
	if (run > 0 && (dot[-9] == '-' || dot[-9] == '.'))
		return 1;
	run = 0;
	for (p = dot; p > base && hash_char(p[-1]) && p[-1] != '-'; p--)
		run++;
	return run >= 8 && p > base && p[-1] == '.';
}

/* 1 if any segment of path is "." or "..", or it holds a backslash or NUL-ish byte */
static int
bad_path(const char *path)
{
	const char *p = path;

	if (strchr(path, '\\'))
		return 1;
	while (*p) {
		const char *seg, *end;

		while (*p == '/')
			p++;
		seg = p;
		end = seg + strcspn(seg, "/");
		if ((end - seg == 1 && seg[0] == '.') || (end - seg == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		p = end;
	}
	return 0;
}

/* Open root/rel if it is a regular file whose real path lies under realroot: fd or -1. */
static int
open_inside(const char *realroot, const char *rel, struct stat *st)
{
	char path[PATH_MAX], real[PATH_MAX];
	size_t rl = strlen(realroot);
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", realroot, rel) >= (int)sizeof(path))
		return -1;
	if (realpath(path, real) == NULL)
		return -1;
	if (strncmp(real, realroot, rl) != 0 || real[rl] != '/')
		return -1;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
static_map(const char *dir, const char *path, struct static_file *out)
{
	const char *rel = path;
	char realroot[PATH_MAX];
	struct stat st;
	int fd = -1;
	const char *served = "index.html";

	*out = (struct static_file){ .fd = -1 };
	if (realpath(dir, realroot) == NULL)
		return -2;
	while (*rel == '/')
		rel++;
	if (*rel != '\0' && bad_path(rel))
		return -1;
	if (*rel != '\0' && (fd = open_inside(realroot, rel, &st)) >= 0) {
		served = rel;
		out->hashed = static_is_hashed(rel) != 0;
	}
	if (fd < 0 && (fd = open_inside(realroot, "index.html", &st)) < 0)
		return -1;
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	out->content_type = content_type(served);
	out->html = strcmp(out->content_type, "text/html; charset=utf-8") == 0;
	/* a link with a secret in its path: the page's own asset requests must
	 * not carry it as Referer before the SPA takes it out of the address bar */
	out->no_referrer = strncmp(path, "/reset-password/", 16) == 0 ||
	    strncmp(path, "/confirm-email/", 15) == 0 || strncmp(path, "/auth/", 6) == 0;
	return 0;
}

void
static_serve(struct request *r)
{
	struct static_file f;
	int rc;

	if (r->method != M_GET && r->method != M_HEAD) {
		respond_error(r, 405, "Method not allowed.");
		response_header(r, "Allow", "GET, HEAD");
		return;
	}
	rc = static_map(r->app->cfg.static_dir, r->path, &f);
	if (rc == -2) {
		respond_text(r, 404, "Not found (the SPA is not built: run make run).\n");
		return;
	}
	if (rc != 0) {
		respond_text(r, 404, "Not found.\n");
		return;
	}
	respond_file(r, 200, f.fd, f.size, f.content_type);
	response_header(r, "Cache-Control", f.hashed ? "public, max-age=31536000, immutable" : "no-cache");
	if (f.html && r->app->cfg.csp[0])
		response_header(r, "Content-Security-Policy", r->app->cfg.csp);
	if (f.no_referrer)
		response_header(r, "Referrer-Policy", "no-referrer");
}
