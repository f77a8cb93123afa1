/*
 * useragent — a readable device name ("Firefox on Linux") from a User-Agent
 * header, for the sessions page.  Best effort, pure, never trusted for
 * anything but display.
 */
#ifndef GATEHOUSE_USERAGENT_H
#define GATEHOUSE_USERAGENT_H

#include <stddef.h>

void useragent_describe(const char *ua, char *out, size_t outsz);

#endif
