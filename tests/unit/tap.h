/*
 * tap.h - a tiny Test Anything Protocol harness for the unit tests.
 *
 * Each test file defines test functions and a main() that runs them with
 * TAP_RUN(fn); every CHECK prints one TAP line ("ok N - ..." or "not ok N
 * - ... at file:line"), and tap_done() prints the plan and returns the exit
 * status.  meson runs the binaries with protocol 'tap'.
 */
#ifndef BW_TESTS_TAP_H
#define BW_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

struct tap_state {
	int n, failed;
	const char *test;
};

static struct tap_state tap_state;

static inline int
tap_check(int ok, const char *what, const char *file, int line)
{
	tap_state.n++;
	if (ok) {
		printf("ok %d - %s: %s\n", tap_state.n, tap_state.test, what);
	} else {
		tap_state.failed++;
		printf("not ok %d - %s: %s at %s:%d\n", tap_state.n, tap_state.test,
		       what, file, line);
	}
	fflush(stdout);
	return ok;
}

#define CHECK(cond) tap_check(!!(cond), #cond, __FILE__, __LINE__)

#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (!tap_check(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, \
			       #got " == \"" #want "\"", __FILE__, __LINE__))  \
			printf("#   got:  \"%s\"\n#   want: \"%s\"\n",          \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");        \
	} while (0)

#define CHECK_INT(got, want)                                                   \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (!tap_check(g_ == w_, #got " == " #want, __FILE__, __LINE__)) \
			printf("#   got:  %lld\n#   want: %lld\n", g_, w_);        \
	} while (0)

#define TAP_RUN(fn)                                                            \
	do {                                                                   \
		tap_state.test = #fn;                                          \
		fn();                                                          \
	} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_state.n);
	return tap_state.failed ? 1 : 0;
}

#endif
