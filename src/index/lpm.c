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
#include "index/image.h"

typedef unsigned __int128 u128;

#define NONE UINT32_MAX
/* A slice number: the address is covered by nothing (the bitmap says). */
#define NO_SLICE (SIZE_MAX - 1)
/* First-level table of at most 2^FIRST_BITS_MAX slices. */
#define FIRST_BITS_MAX 22
/* IPv4 tables of at least this many prefixes get a bitmap of the /24s
 * that hold a covered address, answering most misses from one bit: a
 * random address misses a block list of a million prefixes 90% of the
 * time, and the bitmap (2 MB) stays in the cache where the interval
 * search reads two lines of tens of megabytes. */
#define BLK_MIN 4096
#define BLK_WORDS (((size_t)1 << 24) / 64)

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
	/* IPv4 with many prefixes: bit k set if any address of the /24
	 * k << 8 .. (k << 8) + 255 is covered (2 MB) */
	uint64_t *blk;
	bool image;        /* the arrays live in a snapshot image */
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
	return bw_lpm_order(4, a, b);
}

static int
cmp_prefix6(const void *a, const void *b)
{
	return bw_lpm_order(6, a, b);
}

/* A sort key and the element's place before sorting. */
struct rkey {
	uint64_t key;
	uint64_t at;
};

/* Turns the counts of a byte's values among n keys into where each value
 * starts in the pass; false when every key has the same byte (first's),
 * so that the pass would change nothing. */
static bool
radix_starts(size_t count[256], size_t n, unsigned first)
{
	size_t sum = 0;

	if (count[first] == n)
		return false;
	for (int v = 0; v < 256; v++) {
		size_t c = count[v];
		count[v] = sum;
		sum += c;
	}
	return true;
}

/* LSD radix sort of n keys by their 64-bit key, a byte per pass, into
 * a or tmp; returns which one holds the result.  Passes whose byte is the
 * same in every key are skipped (an IPv4 key has 40 bits in use; IPv6
 * block lists share their first bytes). */
static struct rkey *
radix_sort(struct rkey *a, struct rkey *tmp, size_t n)
{
	size_t count[8][256];

	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			count[b][(a[i].key >> (8 * b)) & 255]++;
	for (int b = 0; b < 8; b++) {
		struct rkey *x;
		if (!radix_starts(count[b], n, (a[0].key >> (8 * b)) & 255))
			continue;
		for (size_t i = 0; i < n; i++)
			tmp[count[b][(a[i].key >> (8 * b)) & 255]++] = a[i];
		x = a;
		a = tmp;
		tmp = x;
	}
	return a;
}

/* LSD radix sort of n 64-bit words by their bytes from..7 (the bytes
 * below from are carried along, in their order before sorting, as the
 * sort is stable), into a or tmp; returns which one holds the result.
 * Passes whose byte is the same in every word are skipped. */
static uint64_t *
radix_sort_words(uint64_t *a, uint64_t *tmp, size_t n, int from)
{
	size_t count[8][256];

	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		for (int b = from; b < 8; b++)
			count[b][(a[i] >> (8 * b)) & 255]++;
	for (int b = from; b < 8; b++) {
		uint64_t *x;
		if (!radix_starts(count[b], n, (a[0] >> (8 * b)) & 255))
			continue;
		for (size_t i = 0; i < n; i++)
			tmp[count[b][(a[i] >> (8 * b)) & 255]++] = a[i];
		x = a;
		a = tmp;
		tmp = x;
	}
	return a;
}

/* IPv4 prefixes, fewer than 2^24: the address and length (40 bits) and
 * the element's place (24 bits) in one word, so that each pass moves 8
 * bytes a prefix instead of 16.  false when memory is short. */
static bool
sort4_packed(struct bw_lpm_prefix *p, size_t n)
{
	uint64_t *k = bw_malloc(n * sizeof(*k)), *tmp = bw_malloc(n * sizeof(*tmp)), *r;
	struct bw_lpm_prefix *out = bw_malloc(n * sizeof(*out));

	if (k == NULL || tmp == NULL || out == NULL) {
		bw_free(k);
		bw_free(tmp);
		bw_free(out);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = bw_lpm_key4(&p[i]) << 24 | i;
	r = radix_sort_words(k, tmp, n, 3);
	for (size_t i = 0; i < n; i++)
		out[i] = p[r[i] & 0xffffff];
	memcpy(p, out, n * sizeof(*p));
	/* the same prefix more than once (rare): in id order */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && r[j] >> 24 == r[i] >> 24; j++)
			;
		if (j - i > 1)
			qsort(p + i, j - i, sizeof(*p), cmp_prefix4);
	}
	bw_free(k);
	bw_free(tmp);
	bw_free(out);
	return true;
}

/*
 * Radix sort on the first 64 bits of the order (IPv4: the address and the
 * length; IPv6: the first 64 address bits; ties then sorted by
 * comparison), then one gather: a million prefixes sort in a
 * few tens of milliseconds against 150 for qsort with a comparison call
 * per step.  Falls back to qsort when memory is short.
 */
void
bw_lpm_sort(int family, struct bw_lpm_prefix *p, size_t n)
{
	int (*cmp)(const void *, const void *) = family == 4 ? cmp_prefix4 : cmp_prefix6;
	struct rkey *k, *tmp, *r;

	if (n < 2)
		return;
	if (family == 4 && n < ((size_t)1 << 24) && sort4_packed(p, n))
		return;
	k = bw_malloc(n * sizeof(*k));
	tmp = bw_malloc(n * sizeof(*tmp));
	if (k == NULL || tmp == NULL) {
		bw_free(k);
		bw_free(tmp);
		qsort(p, n, sizeof(*p), cmp);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].key = family == 4 ? bw_lpm_key4(&p[i])
			   : be64(p[i].addr);
		k[i].at = i;
	}
	r = radix_sort(k, tmp, n);
	/* the gather: independent reads, which overlap (following the
	 * permutation's cycles in place was slower: one miss after another) */
	{
		struct bw_lpm_prefix *out = bw_malloc(n * sizeof(*out));
		if (out == NULL) {
			bw_free(k);
			bw_free(tmp);
			qsort(p, n, sizeof(*p), cmp);
			return;
		}
		for (size_t i = 0; i < n; i++)
			out[i] = p[r[i].at];
		memcpy(p, out, n * sizeof(*p));
		bw_free(out);
	}
	/* runs with the same key: for IPv6 the same first 64 bits, for IPv4
	 * the same prefix (then in id order; rare) */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && r[j].key == r[i].key; j++)
			;
		if (j - i > 1)
			qsort(p + i, j - i, sizeof(*p), cmp);
	}
	bw_free(k);
	bw_free(tmp);
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
	if (t->image) {
		bw_free(t);
		return;
	}
	bw_free(t->iv4);
	bw_free(t->s6);
	bw_free(t->v6);
	bw_free(t->tab);
	bw_free(t->ids);
	bw_free(t->parent);
	bw_free(t->lens);
	bw_free(t->blk);
	bw_free(t);
}

/* ---- building --------------------------------------------------------- */

/* The intervals are written straight into the table's own arrays (sized
 * for the worst case, 2n + 1, and shrunk afterwards), not into a 32-byte
 * staging record each: for a million prefixes that staging array alone
 * was 64 MB of fresh pages to fault in and copy. */
static inline u128
iv_start(const struct bw_lpm *t, size_t i)
{
	return t->family == 4 ? t->iv4[i].start : t->s6[i];
}

static inline uint32_t
iv_val(const struct bw_lpm *t, size_t i)
{
	return t->family == 4 ? t->iv4[i].val : t->v6[i];
}

static inline void
iv_set(struct bw_lpm *t, size_t i, u128 start, uint32_t val)
{
	if (t->family == 4) {
		t->iv4[i].start = (uint32_t)start;
		t->iv4[i].val = val;
	} else {
		t->s6[i] = start;
		t->v6[i] = val;
	}
}

/* Appends an interval boundary; a boundary at the same start replaces the
 * previous one (the later is the more specific), and neighbours with the
 * same value merge. */
static void
emit(struct bw_lpm *t, size_t *n, u128 start, uint32_t val)
{
	if (iv_start(t, *n - 1) == start) {
		iv_set(t, *n - 1, start, val);
		if (*n >= 2 && iv_val(t, *n - 2) == val)
			(*n)--;
		return;
	}
	if (iv_val(t, *n - 1) == val)
		return;
	iv_set(t, *n, start, val);
	(*n)++;
}

/* emit() for IPv4, in 32-bit starts (the sweep below). */
static inline void
emit4(struct iv4 *iv, size_t *n, uint32_t start, uint32_t val)
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

/* The sweep of bw_lpm_build() for IPv4 in 64-bit arithmetic, with the
 * ends of the covering prefixes kept beside the stack: the 128-bit
 * version took a third longer on a million prefixes. */
static size_t
sweep4(struct bw_lpm *t, const struct bw_lpm_prefix *p, size_t n, uint32_t *stack)
{
	uint64_t ends[33];
	struct iv4 *iv = t->iv4;
	size_t ni = 1, sp = 0;

	iv[0].start = 0;
	iv[0].val = 0;
	for (size_t i = 0; i <= n; i++) {
		uint64_t start = i < n ? be32(p[i].addr) : 0;

		while (sp > 0 && (i == n || ends[sp - 1] < start)) {
			uint64_t end = ends[--sp];
			if (end != UINT32_MAX)
				emit4(iv, &ni, (uint32_t)(end + 1), sp ? stack[sp - 1] + 1 : 0);
		}
		if (i == n)
			break;
		t->ids[i] = p[i].id;
		t->lens[i] = p[i].len;
		t->parent[i] = sp ? stack[sp - 1] : NONE;
		emit4(iv, &ni, (uint32_t)start, (uint32_t)i + 1);
		ends[sp] = start | (p[i].len == 32 ? 0 : ((uint64_t)1 << (32 - p[i].len)) - 1);
		stack[sp++] = (uint32_t)i;
	}
	return ni;
}

/* The sweep for IPv6, in 128-bit arithmetic. */
static size_t
sweep6(struct bw_lpm *t, const struct bw_lpm_prefix *p, size_t n, uint32_t *stack)
{
	size_t ni = 1, sp = 0;

	iv_set(t, 0, 0, 0);
	for (size_t i = 0; i <= n; i++) {
		u128 start = i < n ? key_of(6, p[i].addr) : 0;

		while (sp > 0) {
			uint32_t top = stack[sp - 1];
			u128 tk = key_of(6, p[top].addr);
			u128 end = tk | (p[top].len == 128 ? 0 : ((u128)1 << (128 - p[top].len)) - 1);
			if (i < n && end >= start)
				break; /* top covers p[i] */
			sp--;
			if (end != ~(u128)0)
				emit(t, &ni, end + 1, sp ? stack[sp - 1] + 1 : 0);
		}
		if (i == n)
			break;
		t->ids[i] = p[i].id;
		t->lens[i] = p[i].len;
		t->parent[i] = sp ? stack[sp - 1] : NONE;
		emit(t, &ni, start, (uint32_t)i + 1);
		stack[sp++] = (uint32_t)i;
	}
	return ni;
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
	uint32_t *stack = NULL;
	size_t ni;
	int bits = bits_of(family), rc;

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
	stack = bw_malloc((size_t)(bits + 1) * sizeof(*stack));
	if (t == NULL || stack == NULL)
		goto nomem;
	t->family = family;
	if (family == 4) {
		t->iv4 = bw_malloc((2 * n + 1) * sizeof(*t->iv4));
		if (t->iv4 == NULL)
			goto nomem;
	} else {
		t->s6 = bw_malloc((2 * n + 1) * sizeof(*t->s6));
		t->v6 = bw_malloc((2 * n + 1) * sizeof(*t->v6));
		if (t->s6 == NULL || t->v6 == NULL)
			goto nomem;
	}
	t->np = n;
	t->ids = bw_malloc((n ? n : 1) * sizeof(*t->ids));
	t->parent = bw_malloc((n ? n : 1) * sizeof(*t->parent));
	t->lens = bw_malloc(n ? n : 1);
	if (t->ids == NULL || t->parent == NULL || t->lens == NULL)
		goto nomem;

	/* the sweep: the stack holds the chain of prefixes covering the
	 * current position, innermost on top (at most one per length) */
	ni = family == 4 ? sweep4(t, p, n, stack) : sweep6(t, p, n, stack);
	t->n = ni;

	/* give back what the worst case did not use (shrinking in place) */
	if (family == 4) {
		void *q = bw_realloc(t->iv4, ni * sizeof(*t->iv4));
		if (q != NULL)
			t->iv4 = q;
	} else {
		void *q = bw_realloc(t->s6, ni * sizeof(*t->s6));
		if (q != NULL)
			t->s6 = q;
		q = bw_realloc(t->v6, ni * sizeof(*t->v6));
		if (q != NULL)
			t->v6 = q;
	}

	/* first level over [base, last start], base the first start after 0 */
	if (ni >= 2) {
		u128 span;
		unsigned k = 1, bl;

		t->base = iv_start(t, 1);
		span = iv_start(t, ni - 1) - t->base;
		while (k < FIRST_BITS_MAX && ((size_t)1 << k) < ni)
			k++;
		bl = bitlen(span);
		t->shift = bl > k ? bl - k : 0;
		t->nb = (size_t)(span >> t->shift) + 1;
		t->tab = bw_malloc((t->nb + 1) * sizeof(*t->tab));
		if (t->tab == NULL)
			goto nomem;
		if (family == 4) {
			/* the entry of slice b counts the starts up to its
			 * first address: each start is counted in the first
			 * slice that reaches it, then the counts are summed
			 * (walking the slices and the starts side by side
			 * takes a branch per start that a million prefixes
			 * mispredict at random: 13 ms, now 5) */
			uint64_t base4 = (uint64_t)t->base, round = ((uint64_t)1 << t->shift) - 1;
			memset(t->tab, 0, (t->nb + 1) * sizeof(*t->tab));
			for (size_t i = 0; i < ni; i++) {
				uint64_t st = t->iv4[i].start;
				uint64_t b = st <= base4 ? 0 : (st - base4 + round) >> t->shift;
				t->tab[b < t->nb ? b : t->nb]++;
			}
			for (size_t b = 1; b < t->nb; b++)
				t->tab[b] += t->tab[b - 1];
		} else {
			for (size_t b = 0, j = 0; b < t->nb; b++) {
				u128 x = t->base + ((u128)b << t->shift);
				while (j < ni && t->s6[j] <= x)
					j++;
				t->tab[b] = (uint32_t)j;
			}
		}
		t->tab[t->nb] = (uint32_t)ni;
	}
	if (family == 4 && n >= BLK_MIN) {
		t->blk = bw_calloc(BLK_WORDS, sizeof(*t->blk));
		if (t->blk == NULL)
			goto nomem;
		for (size_t i = 0; i < ni; i++) {
			uint32_t lo, hi;
			if (t->iv4[i].val == 0)
				continue;
			lo = t->iv4[i].start >> 8;
			hi = (i + 1 < ni ? t->iv4[i + 1].start - 1 : UINT32_MAX) >> 8;
			for (uint32_t k = lo; k <= hi; k++)
				t->blk[k >> 6] |= UINT64_C(1) << (k & 63);
		}
	}
	bw_free(stack);
	*out = t;
	return BW_OK;
nomem:
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

/* False if no listed prefix covers any address of a's /24. */
static inline bool
blk_maybe(const struct bw_lpm *t, uint32_t a)
{
	return t->blk == NULL || (t->blk[a >> 14] >> ((a >> 8) & 63) & 1);
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
		if (!blk_maybe(t, a))
			return 0;
		v = search4(t, slice4(t, a), a);
	} else {
		u128 a = key_of(6, addr);
		v = search6(t, slice6(t, a), a);
	}
	return v ? bw_lpm_chain(t, v - 1, ids, lens, cap) : 0;
}

/*
 * A software pipeline over the n addresses, each stage DIST addresses
 * behind the one before: (1) prefetch the bitmap word, (2) test it and
 * find the first-level slice, prefetching its entry, (3) read the slice
 * bounds and prefetch the middle of its starts, (4) search, prefetching
 * the prefix record.  Every memory read then has DIST addresses' worth of
 * work to arrive in, where a batch-at-a-time loop used each prefetch
 * right after issuing it.
 */
void
bw_lpm_lookup_batch(const struct bw_lpm *t, const uint8_t *addrs,
		    size_t stride, size_t n, uint32_t *inner)
{
	/* stage distance in addresses; the ring of slices spans stages 2-4 */
	enum { DIST = 32, RING = 128 };
	size_t sl[RING];
	bool v4 = t->family == 4;

	for (size_t i = 0; i < n + 3 * DIST; i++) {
		if (i < n && v4 && t->blk != NULL)
			__builtin_prefetch(&t->blk[be32(addrs + i * stride) >> 14]);
		if (i >= DIST && i - DIST < n) {
			size_t j = i - DIST, s;
			const uint8_t *a = addrs + j * stride;
			if (v4) {
				uint32_t x = be32(a);
				s = blk_maybe(t, x) ? slice4(t, x) : NO_SLICE;
			} else {
				s = slice6(t, key_of(6, a));
			}
			sl[j % RING] = s;
			if (s < NO_SLICE)
				__builtin_prefetch(&t->tab[s]);
		}
		if (i >= 2 * DIST && i - 2 * DIST < n) {
			size_t j = i - 2 * DIST, s = sl[j % RING], mid;
			if (s < NO_SLICE) {
				mid = (t->tab[s] + t->tab[s + 1]) / 2;
				if (v4) {
					__builtin_prefetch(&t->iv4[mid - 1]);
				} else {
					__builtin_prefetch(&t->s6[mid - 1]);
					__builtin_prefetch(&t->v6[mid - 1]);
				}
			}
		}
		if (i >= 3 * DIST && i - 3 * DIST < n) {
			size_t j = i - 3 * DIST, s = sl[j % RING];
			const uint8_t *a = addrs + j * stride;
			uint32_t v;
			if (s == NO_SLICE)
				v = 0;
			else if (v4)
				v = search4(t, s, be32(a));
			else
				v = search6(t, s, key_of(6, a));
			inner[j] = v ? v - 1 : NONE;
			if (v) {
				__builtin_prefetch(&t->parent[v - 1]);
				__builtin_prefetch(&t->ids[v - 1]);
			}
		}
	}
}

/* ---- snapshot images -------------------------------------------------- */

int
bw_lpm_save(const struct bw_lpm *t, struct bw_image_writer *w,
	    uint64_t meta[BW_LPM_META], struct bw_err *err)
{
	size_t tabn = t->tab ? t->nb + 1 : 0;
	int rc;

	meta[0] = (uint64_t)t->family;
	meta[1] = t->n;
	meta[2] = t->nb;
	meta[3] = t->shift;
	meta[4] = (uint64_t)(t->base >> 64);
	meta[5] = (uint64_t)t->base;
	meta[6] = t->np;
	meta[7] = t->blk != NULL;
	if ((rc = bw_image_add(w, meta, BW_LPM_META * sizeof(*meta), err)))
		return rc;
	if (t->family == 4)
		rc = bw_image_add(w, t->iv4, t->n * sizeof(*t->iv4), err);
	else if (!(rc = bw_image_add(w, t->s6, t->n * sizeof(*t->s6), err)))
		rc = bw_image_add(w, t->v6, t->n * sizeof(*t->v6), err);
	if (rc || (rc = bw_image_add(w, t->tab, tabn * sizeof(*t->tab), err)) ||
	    (rc = bw_image_add(w, t->ids, t->np * sizeof(*t->ids), err)) ||
	    (rc = bw_image_add(w, t->parent, t->np * sizeof(*t->parent), err)) ||
	    (rc = bw_image_add(w, t->lens, t->np, err)))
		return rc;
	return bw_image_add(w, t->blk, t->blk ? BLK_WORDS * sizeof(*t->blk) : 0, err);
}

/* The checks of bw_lpm_load() on the arrays (the sizes are checked). */
static int
check_loaded(const struct bw_lpm *t, uint32_t nids, struct bw_err *err)
{
	int bits = bits_of(t->family);

	for (size_t i = 0; i < t->n; i++)
		if (iv_val(t, i) > t->np)
			return bw_err_set(err, BW_EFORMAT, "prefix table: interval %zu names no prefix", i);
	if (t->n >= 2) {
		if (t->tab[t->nb] != t->n)
			return bw_err_set(err, BW_EFORMAT, "prefix table: first level does not end");
		for (size_t b = 0; b <= t->nb; b++)
			if (t->tab[b] < 1 || t->tab[b] > t->n ||
			    (b > 0 && t->tab[b] < t->tab[b - 1]))
				return bw_err_set(err, BW_EFORMAT,
						  "prefix table: first-level entry %zu out of range", b);
	}
	for (size_t i = 0; i < t->np; i++) {
		if (t->ids[i] >= nids)
			return bw_err_set(err, BW_EFORMAT, "prefix table: prefix %zu names no indicator", i);
		if (t->parent[i] != NONE && t->parent[i] >= i)
			return bw_err_set(err, BW_EFORMAT, "prefix table: prefix %zu has a bad parent", i);
		if (t->lens[i] < 1 || t->lens[i] > bits)
			return bw_err_set(err, BW_EFORMAT, "prefix table: prefix %zu has a bad length", i);
	}
	return BW_OK;
}

int
bw_lpm_load(struct bw_image *img, int family, uint32_t nids,
	    struct bw_lpm **out, struct bw_err *err)
{
	const uint64_t *meta;
	const void *p;
	struct bw_lpm *t = NULL;
	int bits = bits_of(family), rc;

	*out = NULL;
	if ((rc = bw_image_take(img, sizeof(*meta), BW_LPM_META, &p, err)))
		return rc;
	meta = p;
	if (meta[0] != (uint64_t)family || meta[1] < 1 || meta[6] >= NONE / 2 ||
	    meta[1] > 2 * meta[6] + 1 || meta[3] >= (uint64_t)bits ||
	    (meta[1] < 2) != (meta[2] == 0) || meta[2] > ((uint64_t)1 << FIRST_BITS_MAX) + 1 ||
	    (family == 4 && (meta[4] != 0 || meta[5] > UINT32_MAX)) || meta[7] > 1 ||
	    (meta[7] && family != 4))
		return bw_err_set(err, BW_EFORMAT, "prefix table header damaged");
	t = bw_calloc(1, sizeof(*t));
	if (t == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	t->image = true;
	t->family = family;
	t->n = (size_t)meta[1];
	t->nb = (size_t)meta[2];
	t->shift = (unsigned)meta[3];
	t->base = (u128)meta[4] << 64 | meta[5];
	t->np = (size_t)meta[6];
	if (family == 4) {
		rc = bw_image_take(img, sizeof(*t->iv4), t->n, &p, err);
		t->iv4 = (struct iv4 *)p;
	} else {
		rc = bw_image_take(img, sizeof(*t->s6), t->n, &p, err);
		t->s6 = (u128 *)p;
		if (rc == BW_OK) {
			rc = bw_image_take(img, sizeof(*t->v6), t->n, &p, err);
			t->v6 = (uint32_t *)p;
		}
	}
	if (rc)
		goto fail;
	if ((rc = bw_image_take(img, sizeof(*t->tab), t->nb ? t->nb + 1 : 0, &p, err)))
		goto fail;
	t->tab = t->nb ? (uint32_t *)p : NULL;
	if ((rc = bw_image_take(img, sizeof(*t->ids), t->np, &p, err)))
		goto fail;
	t->ids = (uint32_t *)p;
	if ((rc = bw_image_take(img, sizeof(*t->parent), t->np, &p, err)))
		goto fail;
	t->parent = (uint32_t *)p;
	if ((rc = bw_image_take(img, 1, t->np, &p, err)))
		goto fail;
	t->lens = (uint8_t *)p;
	if ((rc = bw_image_take(img, sizeof(*t->blk), meta[7] ? BLK_WORDS : 0, &p, err)))
		goto fail;
	t->blk = meta[7] ? (uint64_t *)p : NULL;
	if ((rc = check_loaded(t, nids, err)))
		goto fail;
	*out = t;
	return BW_OK;
fail:
	bw_lpm_free(t);
	return rc;
}

size_t
bw_lpm_bytes(const struct bw_lpm *t)
{
	size_t b = sizeof(*t);

	b += t->n * (t->family == 4 ? sizeof(struct iv4) : sizeof(u128) + sizeof(uint32_t));
	b += t->tab ? (t->nb + 1) * sizeof(uint32_t) : 0;
	b += t->np * (2 * sizeof(uint32_t) + 1);
	b += t->blk ? BLK_WORDS * sizeof(*t->blk) : 0;
	return b;
}

size_t
bw_lpm_intervals(const struct bw_lpm *t)
{
	return t->n;
}
