/*
 * test_strmap.c - the string-keyed hash map: lookups, replacement,
 * insertion order, growth, the entry cap, binary keys and the arena.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/strmap.h"
#include "tap.h"

static void
test_basic(void)
{
	struct bw_strmap *m = NULL;
	struct bw_err err = {0, ""};
	int one = 1, two = 2, three = 3;
	void *v = NULL;

	CHECK_INT(bw_strmap_new(0, &m, &err), BW_EINVAL);
	CHECK(m == NULL);
	CHECK_INT(bw_strmap_new(100, &m, &err), BW_OK);
	CHECK_INT(bw_strmap_count(m), 0);
	CHECK(bw_strmap_get(m, "a", 1) == NULL);
	CHECK_INT(bw_strmap_find(m, "a", 1, &v), 0);

	CHECK_INT(bw_strmap_put(m, "alpha", 5, &one, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "beta", 4, &two, &err), BW_OK);
	CHECK_INT(bw_strmap_count(m), 2);
	CHECK(bw_strmap_get(m, "alpha", 5) == &one);
	CHECK(bw_strmap_get(m, "beta", 4) == &two);
	/* a prefix or an extension of a key is another key */
	CHECK(bw_strmap_get(m, "alph", 4) == NULL);
	CHECK(bw_strmap_get(m, "alphas", 6) == NULL);

	/* replacing keeps the count and the position */
	CHECK_INT(bw_strmap_put(m, "alpha", 5, &three, &err), BW_OK);
	CHECK_INT(bw_strmap_count(m), 2);
	CHECK(bw_strmap_get(m, "alpha", 5) == &three);

	/* a NULL value is present, and find tells it from absence */
	CHECK_INT(bw_strmap_put(m, "nothing", 7, NULL, &err), BW_OK);
	v = &one;
	CHECK_INT(bw_strmap_find(m, "nothing", 7, &v), 1);
	CHECK(v == NULL);
	CHECK_INT(bw_strmap_find(m, "nothing", 7, NULL), 1);

	/* the empty key and keys with NUL bytes */
	CHECK_INT(bw_strmap_put(m, "", 0, &one, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "a\0b", 3, &two, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "a\0c", 3, &three, &err), BW_OK);
	CHECK(bw_strmap_get(m, "", 0) == &one);
	CHECK(bw_strmap_get(m, "a\0b", 3) == &two);
	CHECK(bw_strmap_get(m, "a\0c", 3) == &three);
	CHECK(bw_strmap_get(m, "a", 1) == NULL);
	CHECK_INT(bw_strmap_count(m), 6);
	bw_strmap_free(m);
	bw_strmap_free(NULL);
}

static void
test_order_and_growth(void)
{
	struct bw_strmap *m = NULL;
	struct bw_err err = {0, ""};
	char key[32];
	size_t pos = 0, n = 0, klen;
	const char *k;
	void *v;
	int in_order = 1, found = 1;
	const size_t count = 100000;

	CHECK_INT(bw_strmap_new(1000000, &m, &err), BW_OK);
	for (size_t i = 0; i < count; i++) {
		int len = snprintf(key, sizeof(key), "indicator--%zu", i * 7919);
		if (bw_strmap_put(m, key, (size_t)len, (void *)(uintptr_t)(i + 1), &err)) {
			CHECK(!"put failed");
			break;
		}
	}
	CHECK_INT(bw_strmap_count(m), count);
	for (size_t i = 0; i < count; i++) {
		int len = snprintf(key, sizeof(key), "indicator--%zu", i * 7919);
		if (bw_strmap_get(m, key, (size_t)len) != (void *)(uintptr_t)(i + 1))
			found = 0;
	}
	CHECK(found);
	CHECK(bw_strmap_get(m, "indicator--1", 12) == NULL);
	/* iteration gives insertion order, keys NUL-terminated */
	while (bw_strmap_next(m, &pos, &k, &klen, &v)) {
		int len = snprintf(key, sizeof(key), "indicator--%zu", n * 7919);
		if ((size_t)len != klen || strcmp(k, key) != 0 ||
		    v != (void *)(uintptr_t)(n + 1))
			in_order = 0;
		n++;
	}
	CHECK_INT(n, count);
	CHECK(in_order);
	CHECK_INT(bw_strmap_next(m, &pos, NULL, NULL, NULL), 0);
	bw_strmap_free(m);
}

static void
test_cap(void)
{
	struct bw_strmap *m = NULL;
	struct bw_err err = {0, ""};
	int x = 0;

	CHECK_INT(bw_strmap_new(3, &m, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "a", 1, &x, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "b", 1, &x, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "c", 1, &x, &err), BW_OK);
	CHECK_INT(bw_strmap_put(m, "d", 1, &x, &err), BW_ELIMIT);
	CHECK(strstr(err.msg, "more than 3 entries") != NULL);
	/* replacing an existing key is still allowed at the cap */
	CHECK_INT(bw_strmap_put(m, "b", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_strmap_count(m), 3);
	bw_strmap_free(m);
}

static void
test_arena(void)
{
	struct bw_strmap *m = NULL;
	struct bw_err err = {0, ""};
	char big[200000];
	char *s, *b;
	long *p;
	int aligned = 1, zeroed = 1;

	CHECK_INT(bw_strmap_new(10, &m, &err), BW_OK);
	s = bw_strmap_strdup(m, "hello world", 5);
	CHECK_STR(s, "hello");
	for (int i = 0; i < 1000; i++) {
		p = bw_strmap_alloc(m, 3 * sizeof(long));
		if (p == NULL || ((uintptr_t)p % sizeof(long)) != 0)
			aligned = 0;
		else if (p[0] || p[1] || p[2])
			zeroed = 0;
		else
			p[0] = p[1] = p[2] = -1;
		(void)bw_strmap_strdup(m, "x", 1); /* unaligned in between */
	}
	CHECK(aligned);
	CHECK(zeroed);
	/* a block larger than a chunk, then small ones again */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	b = bw_strmap_strdup(m, big, sizeof(big) - 1);
	CHECK(b != NULL && strlen(b) == sizeof(big) - 1 && b[1000] == 'z');
	s = bw_strmap_strdup(m, "after", 5);
	CHECK_STR(s, "after");
	CHECK_STR(b + sizeof(big) - 4, "zzz");
	bw_strmap_free(m);
}

int
main(void)
{
	TAP_RUN(test_basic);
	TAP_RUN(test_order_and_growth);
	TAP_RUN(test_cap);
	TAP_RUN(test_arena);
	return tap_done();
}
