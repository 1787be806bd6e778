/*
 * lpm.c - longest-prefix match by disjoint sorted intervals and a
 * first-level table (see lpm.h for the design).
 *
 * Keys are handled as unsigned 128-bit integers while building (an IPv4
 * address is a number below 2^32) and stored per family: 8-byte
 * (start, value) pairs for IPv4 so that the start and the answer share a
 * cache line, 16-byte starts plus a separate value array for IPv6.
 */
#include "index/lpm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

typedef unsigned __int128 u128;

#define NONE UINT32_MAX
/* First-level table of at most 2^FIRST_BITS_MAX slices. */
#define FIRST_BITS_MAX 22
/* Look-ups overlap this many addresses. */
#define BATCH 16

struct iv4 {
	uint32_t start;
	uint32_t val; /* prefix index + 1; 0: no prefix covers the interval */
};

struct bw_lpm {
	int family;
	size_t n;          /* intervals; [0] always starts at address 0 */
	struct iv4 *iv4;   /* IPv4 intervals */
	u128 *s6;          /* IPv6 interval starts */
	uint32_t *v6;      /* IPv6 interval values */
	/* first level: slice b holds the starts whose count of starts <= addr
	 * lies in [tab[b], tab[b + 1]] for base + (b << shift) <= addr */
	uint32_t *tab;
	size_t nb;
	unsigned shift;
	u128 base;
	/* prefixes, in sorted order */
	size_t np;
	uint32_t *ids, *parent;
	uint8_t *lens;
};

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	       (uint32_t)p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline u128
key_of(int family, const uint8_t *addr)
{
	if (family == 4)
		return be32(addr);
	return (u128)be64(addr) << 64 | be64(addr + 8);
}

static int
bits_of(int family)
{
	return family == 4 ? 32 : 128;
}

static int
cmp_prefix4(const void *a, const void *b)
{
	const struct bw_lpm_prefix *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 4);

	return c ? c : (int)x->len - (int)y->len;
}

static int
cmp_prefix6(const void *a, const void *b)
{
	const struct bw_lpm_prefix *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	return c ? c : (int)x->len - (int)y->len;
}

void
bw_lpm_sort(int family, struct bw_lpm_prefix *p, size_t n)
{
	if (n > 1)
		qsort(p, n, sizeof(*p), family == 4 ? cmp_prefix4 : cmp_prefix6);
}

int
bw_lpm_same(int family, const struct bw_lpm_prefix *a,
	    const struct bw_lpm_prefix *b)
{
	return a->len == b->len &&
	       memcmp(a->addr, b->addr, family == 4 ? 4 : 16) == 0;
}

void
bw_lpm_free(struct bw_lpm *t)
{
	if (t == NULL)
		return;
	bw_free(t->iv4);
	bw_free(t->s6);
	bw_free(t->v6);
	bw_free(t->tab);
	bw_free(t->ids);
	bw_free(t->parent);
	bw_free(t->lens);
	bw_free(t);
}

/* ---- building --------------------------------------------------------- */

struct tmp_iv {
	u128 start;
	uint32_t val;
};

/* Appends an interval boundary; a boundary at the same start replaces the
 * previous one (the later is the more specific), and neighbours with the
 * same value merge. */
static void
emit(struct tmp_iv *iv, size_t *n, u128 start, uint32_t val)
{
	if (iv[*n - 1].start == start) {
		iv[*n - 1].val = val;
		if (*n >= 2 && iv[*n - 2].val == val)
			(*n)--;
		return;
	}
	if (iv[*n - 1].val == val)
		return;
	iv[*n].start = start;
	iv[*n].val = val;
	(*n)++;
}

static unsigned
bitlen(u128 x)
{
	unsigned b = 0;

	while (x) {
		b++;
		x >>= 1;
	}
	return b;
}

static int
check_prefixes(int family, const struct bw_lpm_prefix *p, size_t n,
	       struct bw_err *err)
{
	int bits = bits_of(family);

	for (size_t i = 0; i < n; i++) {
		u128 k = key_of(family, p[i].addr), host;

		if (p[i].len < 1 || p[i].len > bits)
			return bw_err_set(err, BW_EINVAL,
					  "prefix length %d out of range for IPv%d",
					  p[i].len, family);
		host = p[i].len == bits ? 0 : ((u128)1 << (bits - p[i].len)) - 1;
		if (k & host)
			return bw_err_set(err, BW_EINVAL, "prefix with host bits set");
		if (i > 0) {
			u128 pk = key_of(family, p[i - 1].addr);
			if (pk > k || (pk == k && p[i - 1].len >= p[i].len))
				return bw_err_set(err, BW_EINVAL,
						  "prefixes not sorted or not distinct");
		}
	}
	return BW_OK;
}

int
bw_lpm_build(int family, const struct bw_lpm_prefix *p, size_t n,
	     struct bw_lpm **out, struct bw_err *err)
{
	struct bw_lpm *t = NULL;
	struct tmp_iv *iv = NULL;
	uint32_t *stack = NULL;
	size_t ni = 1, sp = 0;
	int bits = bits_of(family), rc;
	u128 maxkey = family == 4 ? (u128)UINT32_MAX : ~(u128)0;

	*out = NULL;
	if (family != 4 && family != 6)
		return bw_err_set(err, BW_EINVAL, "address family must be 4 or 6");
	if (n >= NONE / 2)
		return bw_err_set(err, BW_ELIMIT, "more than %u prefixes",
				  NONE / 2 - 1);
	rc = check_prefixes(family, p, n, err);
	if (rc)
		return rc;
	t = bw_calloc(1, sizeof(*t));
	iv = bw_malloc((2 * n + 1) * sizeof(*iv));
	stack = bw_malloc((size_t)(bits + 1) * sizeof(*stack));
	if (t == NULL || iv == NULL || stack == NULL)
		goto nomem;
	t->family = family;
	t->np = n;
	t->ids = bw_malloc((n ? n : 1) * sizeof(*t->ids));
	t->parent = bw_malloc((n ? n : 1) * sizeof(*t->parent));
	if (t->ids && t->parent) {
		bw_index_advise_huge(t->ids, n * sizeof(*t->ids));
		bw_index_advise_huge(t->parent, n * sizeof(*t->parent));
	}
	t->lens = bw_malloc(n ? n : 1);
	if (t->ids == NULL || t->parent == NULL || t->lens == NULL)
		goto nomem;

	/* the sweep: the stack holds the chain of prefixes covering the
	 * current position, innermost on top (at most one per length) */
	iv[0].start = 0;
	iv[0].val = 0;
	for (size_t i = 0; i <= n; i++) {
		u128 start = i < n ? key_of(family, p[i].addr) : 0;

		while (sp > 0) {
			uint32_t top = stack[sp - 1];
			u128 tk = key_of(family, p[top].addr);
			u128 end = tk | (p[top].len == bits ? 0
					 : ((u128)1 << (bits - p[top].len)) - 1);
			if (i < n && end >= start)
				break; /* top covers p[i] */
			sp--;
			if (end != maxkey)
				emit(iv, &ni, end + 1, sp ? stack[sp - 1] + 1 : 0);
		}
		if (i == n)
			break;
		t->ids[i] = p[i].id;
		t->lens[i] = p[i].len;
		t->parent[i] = sp ? stack[sp - 1] : NONE;
		emit(iv, &ni, start, (uint32_t)i + 1);
		stack[sp++] = (uint32_t)i;
	}
	t->n = ni;

	if (family == 4) {
		t->iv4 = bw_malloc(ni * sizeof(*t->iv4));
		if (t->iv4 == NULL)
			goto nomem;
		bw_index_advise_huge(t->iv4, ni * sizeof(*t->iv4));
		for (size_t i = 0; i < ni; i++) {
			t->iv4[i].start = (uint32_t)iv[i].start;
			t->iv4[i].val = iv[i].val;
		}
	} else {
		t->s6 = bw_malloc(ni * sizeof(*t->s6));
		t->v6 = bw_malloc(ni * sizeof(*t->v6));
		if (t->s6 == NULL || t->v6 == NULL)
			goto nomem;
		bw_index_advise_huge(t->s6, ni * sizeof(*t->s6));
		bw_index_advise_huge(t->v6, ni * sizeof(*t->v6));
		for (size_t i = 0; i < ni; i++) {
			t->s6[i] = iv[i].start;
			t->v6[i] = iv[i].val;
		}
	}

	/* first level over [base, last start], base the first start after 0 */
	if (ni >= 2) {
		u128 span;
		unsigned k = 1, bl;
		size_t j = 0;

		t->base = iv[1].start;
		span = iv[ni - 1].start - t->base;
		while (k < FIRST_BITS_MAX && ((size_t)1 << k) < ni)
			k++;
		bl = bitlen(span);
		t->shift = bl > k ? bl - k : 0;
		t->nb = (size_t)(span >> t->shift) + 1;
		t->tab = bw_malloc((t->nb + 1) * sizeof(*t->tab));
		if (t->tab == NULL)
			goto nomem;
		bw_index_advise_huge(t->tab, (t->nb + 1) * sizeof(*t->tab));
		for (size_t b = 0; b < t->nb; b++) {
			u128 x = t->base + ((u128)b << t->shift);
			while (j < ni && iv[j].start <= x)
				j++;
			t->tab[b] = (uint32_t)j;
		}
		t->tab[t->nb] = (uint32_t)ni;
	}
	bw_free(iv);
	bw_free(stack);
	*out = t;
	return BW_OK;
nomem:
	bw_free(iv);
	bw_free(stack);
	bw_lpm_free(t);
	return bw_err_set(err, BW_ENOMEM, "out of memory building a prefix table");
}

/* ---- looking up ------------------------------------------------------- */

/* The slice of the first level an address falls in, or SIZE_MAX when the
 * address lies before every boundary but the one at 0. */
static inline size_t
slice4(const struct bw_lpm *t, uint32_t a)
{
	uint32_t base = (uint32_t)t->base, b;

	if (t->n < 2 || a < base)
		return SIZE_MAX;
	b = (a - base) >> t->shift;
	return b < t->nb ? b : t->nb - 1;
}

static inline size_t
slice6(const struct bw_lpm *t, u128 a)
{
	u128 b;

	if (t->n < 2 || a < t->base)
		return SIZE_MAX;
	b = (a - t->base) >> t->shift;
	return b < t->nb ? (size_t)b : t->nb - 1;
}

static inline uint32_t
search4(const struct bw_lpm *t, size_t s, uint32_t a)
{
	size_t lo, hi;

	if (s == SIZE_MAX)
		return t->iv4[0].val;
	lo = t->tab[s];
	hi = t->tab[s + 1];
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (t->iv4[m].start <= a)
			lo = m + 1;
		else
			hi = m;
	}
	return t->iv4[lo - 1].val;
}

static inline uint32_t
search6(const struct bw_lpm *t, size_t s, u128 a)
{
	size_t lo, hi;

	if (s == SIZE_MAX)
		return t->v6[0];
	lo = t->tab[s];
	hi = t->tab[s + 1];
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (t->s6[m] <= a)
			lo = m + 1;
		else
			hi = m;
	}
	return t->v6[lo - 1];
}

size_t
bw_lpm_chain(const struct bw_lpm *t, uint32_t p, uint32_t *ids, uint8_t *lens,
	     size_t cap)
{
	size_t n = 0;

	while (p != NONE && p < t->np) {
		if (n < cap) {
			ids[n] = t->ids[p];
			if (lens)
				lens[n] = t->lens[p];
		}
		n++;
		p = t->parent[p];
	}
	return n;
}

size_t
bw_lpm_lookup(const struct bw_lpm *t, const uint8_t *addr, uint32_t *ids,
	      uint8_t *lens, size_t cap)
{
	uint32_t v;

	if (t->family == 4) {
		uint32_t a = be32(addr);
		v = search4(t, slice4(t, a), a);
	} else {
		u128 a = key_of(6, addr);
		v = search6(t, slice6(t, a), a);
	}
	return v ? bw_lpm_chain(t, v - 1, ids, lens, cap) : 0;
}

void
bw_lpm_lookup_batch(const struct bw_lpm *t, const uint8_t *addrs,
		    size_t stride, size_t n, uint32_t *inner)
{
	size_t sl[BATCH];

	for (size_t done = 0; done < n; done += BATCH) {
		size_t m = n - done < BATCH ? n - done : BATCH;
		const uint8_t *a = addrs + done * stride;

		/* 1: the first-level slices */
		for (size_t i = 0; i < m; i++) {
			if (t->family == 4)
				sl[i] = slice4(t, be32(a + i * stride));
			else
				sl[i] = slice6(t, key_of(6, a + i * stride));
			if (sl[i] != SIZE_MAX)
				__builtin_prefetch(&t->tab[sl[i]]);
		}
		/* 2: the middle of each slice's starts */
		for (size_t i = 0; i < m; i++) {
			size_t mid;
			if (sl[i] == SIZE_MAX)
				continue;
			mid = (t->tab[sl[i]] + t->tab[sl[i] + 1]) / 2;
			if (t->family == 4) {
				__builtin_prefetch(&t->iv4[mid - 1]);
			} else {
				__builtin_prefetch(&t->s6[mid - 1]);
				__builtin_prefetch(&t->v6[mid - 1]);
			}
		}
		/* 3: the searches */
		for (size_t i = 0; i < m; i++) {
			uint32_t v;
			if (t->family == 4)
				v = search4(t, sl[i], be32(a + i * stride));
			else
				v = search6(t, sl[i], key_of(6, a + i * stride));
			inner[done + i] = v ? v - 1 : NONE;
			if (v)
				__builtin_prefetch(&t->parent[v - 1]);
		}
	}
}

size_t
bw_lpm_bytes(const struct bw_lpm *t)
{
	size_t b = sizeof(*t);

	b += t->n * (t->family == 4 ? sizeof(struct iv4) : sizeof(u128) + sizeof(uint32_t));
	b += t->tab ? (t->nb + 1) * sizeof(uint32_t) : 0;
	b += t->np * (2 * sizeof(uint32_t) + 1);
	return b;
}

size_t
bw_lpm_intervals(const struct bw_lpm *t)
{
	return t->n;
}
