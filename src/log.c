/*
 * log — see log.h.  The only module that writes to stderr after start-up.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO; /* set once at start-up */
static const char *level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level min)
{
	min_level = min;
}

void
json_quote(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	buf_append(b, "\"", 1);
	while (*p) {
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t n = 1;

		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			buf_append(b, e, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			buf_append(b, esc, 6);
		} else if (*p < 0x80) {
			buf_append(b, p, 1);
		} else {
			/* a client's path or header may hold any bytes: a log line
			 * stays valid JSON, invalid UTF-8 becomes U+FFFD */
			n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 1;
			if (strnlen((const char *)p, n) == n && utf8_valid((const char *)p, n))
				buf_append(b, p, n);
			else {
				buf_append(b, "\\ufffd", 6);
				n = 1;
			}
		}
		p += n;
	}
	buf_append(b, "\"", 1);
}

static void
line_start(struct buf *b, enum log_level lvl)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	buf_printf(b, "{\"ts\":%lld.%03ld,\"level\":\"%s\"", (long long)tv.tv_sec, (long)(tv.tv_usec / 1000),
	    level_names[lvl]);
}

static void
line_end(struct buf *b)
{
	ssize_t r;

	buf_append(b, "}\n", 2);
	r = write(STDERR_FILENO, b->data, b->len);
	(void)r;
	buf_free(b);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct buf b = { 0 };
	char msg[1024];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_start(&b, lvl);
	buf_puts(&b, ",\"msg\":");
	json_quote(&b, msg);
	line_end(&b);
}

void
log_access(const char *method, const char *path, int status, double ms, int64_t user_id, const char *ip)
{
	struct buf b = { 0 };

	if (LOG_INFO < min_level)
		return;
	line_start(&b, LOG_INFO);
	buf_puts(&b, ",\"msg\":\"request\",\"method\":");
	json_quote(&b, method);
	buf_puts(&b, ",\"path\":");
	json_quote(&b, path);
	buf_printf(&b, ",\"status\":%d,\"ms\":%.3f", status, ms);
	if (user_id > 0)
		buf_printf(&b, ",\"user_id\":%lld", (long long)user_id);
	else
		buf_puts(&b, ",\"user_id\":null");
	buf_puts(&b, ",\"ip\":");
	json_quote(&b, ip ? ip : "");
	line_end(&b);
}
