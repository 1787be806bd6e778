/*
 * mem.c - allocation wrappers with optional fault injection.
 *
 * The fault counter is the only mutable static in the library and exists only
 * in fault-injection test builds, where it is driven by a single test thread.
 */
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef BW_FAULT_INJECTION
#include <stdatomic.h>
static atomic_long fail_countdown; /* 0: off; 1: fail next; >1: count down */

static int
should_fail(void)
{
	long v = atomic_load(&fail_countdown);

	if (v == 0)
		return 0;
	if (v == 1)
		return 1;
	atomic_fetch_sub(&fail_countdown, 1);
	return 0;
}

int
bw_mem_fail_after(long nth)
{
	atomic_store(&fail_countdown, nth < 1 ? 1 : nth);
	return 0;
}

void
bw_mem_fail_reset(void)
{
	atomic_store(&fail_countdown, 0);
}
#else
static inline int
should_fail(void)
{
	return 0;
}

int
bw_mem_fail_after(long nth)
{
	(void)nth;
	return -1;
}

void
bw_mem_fail_reset(void)
{
}
#endif

void *
bw_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *
bw_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *
bw_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void *
bw_grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *np;

	if (want <= *cap)
		return p;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return NULL;
	np = bw_realloc(p, ncap * size);
	if (np == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

char *
bw_strndup(const char *s, size_t n)
{
	char *d = bw_malloc(n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
bw_strdup(const char *s)
{
	return bw_strndup(s, strlen(s));
}

void
bw_free(void *p)
{
	free(p);
}
