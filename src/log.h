/*
 * log — JSON lines on stderr, one write(2) per line so threads never
 * interleave.  Must never be handed a password, cookie, token or key: callers
 * pass only what is safe to keep.
 */
#ifndef GATEHOUSE_LOG_H
#define GATEHOUSE_LOG_H

#include <stdint.h>

#include "util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* {"ts":..,"level":..,"msg":"<formatted>"} */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One access-log line; user_id 0 means anonymous. */
void log_access(const char *method, const char *path, int status, double ms, int64_t user_id, const char *ip);
/* Append s as a JSON string literal (with quotes) to b. */
void json_quote(struct buf *b, const char *s);

#endif
