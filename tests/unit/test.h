/*
 * Minimal unit-test harness: CHECK records a pass or a failure and goes on,
 * test_summary() prints "N passed, N failed" and gives the exit status.
 * Each tests/unit/test_*.c is its own binary and may #include the .c it tests.
 */
#ifndef GATEHOUSE_TEST_H
#define GATEHOUSE_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (cond)                                                                                    \
			test_passed++;                                                                       \
		else {                                                                                       \
			test_failed++;                                                                       \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
		}                                                                                            \
	} while (0)

#define CHECK_STR(got, want)                                                                                 \
	do {                                                                                                 \
		const char *g_ = (got), *w_ = (want);                                                        \
		if (g_ && w_ && strcmp(g_, w_) == 0)                                                         \
			test_passed++;                                                                       \
		else {                                                                                       \
			test_failed++;                                                                       \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,              \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                         \
		}                                                                                            \
	} while (0)

static inline int
test_summary(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
