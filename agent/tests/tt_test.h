/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal test harness: CHECK() counts one passed or failed check and
 * prints failures with their location; tt_test_summary() prints
 * "N passed, N failed" and gives the exit status.
 */
#ifndef TT_TEST_H
#define TT_TEST_H

#include <stdio.h>
#include <string.h>

static unsigned int tt_passed, tt_failed;

#define CHECK(cond) do {						\
	if (cond) {							\
		tt_passed++;						\
	} else {							\
		tt_failed++;						\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__,	\
			#cond);						\
	}								\
} while (0)

#define CHECK_MSG(cond, ...) do {					\
	if (cond) {							\
		tt_passed++;						\
	} else {							\
		tt_failed++;						\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__,	\
			#cond);						\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

#define CHECK_STR(a, b) CHECK_MSG(strcmp((a), (b)) == 0,		\
				  "\"%s\" != \"%s\"", (a), (b))

#define TEST(name) static void name(void)
#define RUN(name) do {							\
	unsigned int f0 = tt_failed;					\
	name();								\
	fprintf(stderr, "%s %s\n", tt_failed == f0 ? "ok  " : "FAIL",	\
		#name);							\
} while (0)

static inline int tt_test_summary(void)
{
	fflush(stderr);
	printf("%u passed, %u failed\n", tt_passed, tt_failed);
	return tt_failed ? 1 : 0;
}

#endif
