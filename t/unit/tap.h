/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_TAP_H
#define BF_TAP_H

/*
 * A tiny TAP producer for unit tests: ok(cond, fmt, ...), is_str(),
 * is_int(), then return tap_done().  One static counter per test
 * program is fine here: unit tests are programs, not lib/.
 */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

static inline int
tap_ok(int cond, const char *file, int line, const char *what)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, what);
	if (!cond) {
		tap_fail++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

#define ok(cond, what) tap_ok(!!(cond), __FILE__, __LINE__, (what))

#define is_str(got, want, what) do { \
	const char *g_ = (got), *w_ = (want); \
	if (!tap_ok(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, \
	    __FILE__, __LINE__, (what))) \
		printf("#   got '%s'\n#  want '%s'\n", g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)"); \
} while (0)

#define is_int(got, want, what) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, (what))) \
		printf("#   got %lld\n#  want %lld\n", g_, w_); \
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
