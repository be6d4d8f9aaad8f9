/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal TAP producer for the C unit tests, so that automake's
 * tap-driver counts every assertion group as one test.
 *
 *	static void test_x(void) { ... ok(cond, "what"); ... }
 *	int main(void) { plan(2); run(test_x); ...; return done(); }
 *
 * ok() records a failure and prints a diagnostic with file and line;
 * each run() is one TAP test point.
 */
#ifndef SNAPCOW_TAP_H
#define SNAPCOW_TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_number;
static int tap_failed_points;
static int tap_current_failed;

#define plan(n) printf("1..%d\n", (n))

#define ok(cond, ...)							\
	do {								\
		if (!(cond)) {						\
			tap_current_failed = 1;				\
			printf("# %s:%d: failed: %s: ", __FILE__,	\
			       __LINE__, #cond);			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

#define ok_eq(a, b, ...)						\
	do {								\
		unsigned long long _a = (unsigned long long)(a);	\
		unsigned long long _b = (unsigned long long)(b);	\
		if (_a != _b) {						\
			tap_current_failed = 1;				\
			printf("# %s:%d: %s = %llu, expected %s = %llu: ",\
			       __FILE__, __LINE__, #a, _a, #b, _b);	\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

#define run(fn)								\
	do {								\
		tap_current_failed = 0;					\
		fn();							\
		tap_number++;						\
		if (tap_current_failed)					\
			tap_failed_points++;				\
		printf("%sok %d - %s\n", tap_current_failed ? "not " : "",\
		       tap_number, #fn);				\
		fflush(stdout);						\
	} while (0)

#define done() (tap_failed_points ? 1 : 0)

#endif /* SNAPCOW_TAP_H */
