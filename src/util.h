/*
 * util — allocation that cannot fail, a growable byte buffer, bounded number
 * parsing, clocks, randomness and hex.  Owns no state.  Must never log or
 * keep a copy of what passes through it.
 */
#ifndef GATEHOUSE_UTIL_H
#define GATEHOUSE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Abort the process on allocation failure (docs/style.md rule 10): callers need no NULL checks. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Print "gatehouse: <message>" to stderr and exit(1). Start-up and broken invariants only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Growable buffer, always NUL-terminated after its len bytes. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Parse a whole decimal string into [min, max]; 0 or -1 (not a number, trailing junk, out of range). */
int parse_ll(const char *s, long long min, long long max, long long *out);
/* Bounded copy; 0, or -1 when src did not fit (dst then holds a truncated, terminated copy). */
int strlcpy_ok(char *dst, const char *src, size_t dstsz);

int64_t now_unix(void); /* wall clock, seconds; GATEHOUSE_FAKE_TIME_OFFSET never applies */
double now_mono(void);  /* monotonic seconds, for durations */
/* RFC 1123 date ("Thu, 01 Jan 1970 00:00:00 GMT") for cookies; out needs 30 bytes. */
void http_date(int64_t t, char *out, size_t outsz);
/* ISO 8601 UTC with seconds ("2026-11-27T08:32:35Z"); out needs 21 bytes. */
void iso8601(int64_t t, char *out, size_t outsz);

/* n random characters from alphabet (uniform, rejection sampled) into out, NUL-terminated (out: n+1). */
void random_chars(char *out, size_t n, const char *alphabet);
/* Lower-case hex of SHA-256(data) into out (65 bytes). */
void sha256_hex(const void *data, size_t len, char out[65]);
void hex_encode(const unsigned char *in, size_t n, char *out); /* out: 2n+1 */

/* 1 if s[0..len) is valid UTF-8 without NUL bytes. */
int utf8_valid(const char *s, size_t len);
/* A copy of at most max bytes of in that is safe to put in a message: printable
 * ASCII kept, every other byte '?', "..." when cut.  out is always terminated. */
void ascii_sanitize(const char *in, size_t max, char *out, size_t outsz);

#endif
