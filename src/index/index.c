/*
 * index.c - the look-up snapshot: builder, store loader, hash tables and
 * look-ups (see index.h for the semantics and the measured numbers).
 *
 * Layout of a snapshot:
 *   inds[]       12-byte record per indicator (value offset and length,
 *                type, confidence, tag-set number); store_ids[] beside it
 *   arena        one entry per indicator: its number (4 bytes), then the
 *                value, NUL-terminated
 *   dom, exact   hash tables of 64-byte buckets, each 10 slots of a 16-bit
 *                fingerprint and the 32-bit arena offset of an entry, a
 *                count and an overflow flag; 60% full.  A key lives in its
 *                home bucket unless that was full, in which case it went to
 *                the next bucket with room and the home bucket's flag is
 *                set, so a miss reads one cache line unless the flag says
 *                to walk on (simulated: 1.06 lines per miss at 60%, against
 *                2.3 for 8-slot buckets at 80% with plain linear probing).
 *                A slot names the arena entry, so a hit is verified with one
 *                more cache line and yields the indicator number from the
 *                same line; the record is read only to report the match.
 *                The key is always compared, so a fingerprint collision
 *                costs time, never a wrong match.  The exact table holds
 *                URLs, e-mail addresses and hashes together: their
 *                canonical texts can never be equal across types (a URL has
 *                "://", an e-mail an '@', hashes differ in length)
 *   lpm[0], [1]  IPv4 and IPv6 prefix tables (lpm.h)
 *   tags         tag strings once each; tag sets once each, as arrays of
 *                struct bw_tag sorted by kind and name
 *
 * Hashing.  A domain's hash is computed label by label from the right
 * (up to 16 bytes of a label folded in one 64x64->128-bit multiply), so the
 * state after each label is the hash of that suffix: one pass over a query
 * name yields every suffix to probe.  The query is lower-cased and checked
 * 8 bytes at a time (SWAR), noting where labels start on the way; the
 * fingerprints of a bucket are compared with SSE2 where there is SSE2.
 * The seed is random
 * per snapshot, so a feed cannot be crafted to pile its names into one
 * bucket.
 *
 * Builder.  Indicators are appended to the record array and the arena as
 * they come; tags and tag sets are interned on the way.  finish() sizes
 * the tables once (no rehashing), inserts with the hashes of the next 16
 * keys computed and their buckets prefetched, merges duplicates found on
 * insertion, sorts and sweeps the prefixes, and only then lays the tag sets
 * out, when no string can move any more.
 */
#include "index/index.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__SSE2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <tmmintrin.h>
#define HAVE_QUAD_SSSE3 1
#endif

#include "core/mem.h"
#include "index/image.h"
#include "index/lpm.h"

typedef unsigned __int128 u128;

#define SLOTS 10
#define NO_REF UINT32_MAX         /* no arena entry */
#define NO_ID UINT32_MAX          /* no indicator */
#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
#define NAME_BUF (NAME_MAX_LEN + 11) /* room to load 8 bytes past the end */
#define ENTRY_HDR 4                  /* the indicator number before a value */
#define BATCH 16                     /* keys hashed ahead of inserting */
#define GROUP 8                      /* queries in one pipeline stage */
#define GROUP_PROBES 24              /* probes gathered for one stage */
#define STORE_TAGS_MAX 4096          /* tags gathered for one indicator */

#define HK1 0xa0761d6478bd642full
#define HK2 0xe7037ed1a0b428dbull
#define HK3 0x8ebc6af09c88c6e3ull

struct ind {
	uint32_t off;   /* value in the arena */
	uint16_t len;
	uint8_t type;   /* enum bw_ioc_type; 0 for a record merged away */
	int8_t conf;
	uint32_t tagset;
};

struct bucket {
	uint16_t fp[SLOTS];
	uint8_t n;          /* slots in use, filled in order */
	uint8_t ovf;        /* a key whose home this is lives further on */
	uint16_t pad;
	uint32_t ref[SLOTS]; /* arena offsets of entries */
};

_Static_assert(sizeof(struct bucket) == 64, "a bucket is one cache line");

struct table {
	struct bucket *b; /* 64-byte aligned inside raw */
	void *raw;
	size_t nb, n;
};

struct tagset {
	uint32_t first, n; /* into tagv */
};

struct bw_index {
	uint64_t seed;
	struct ind *inds;
	int64_t *store_ids;
	size_t ninds;
	char *arena;
	size_t arena_len;
	struct table dom, exact;
	struct bw_lpm *lpm[2];
	char *tagstr;
	struct bw_tag *tagv;
	struct tagset *tagsets;
	size_t ntagv, ntagsets;
	struct bw_index_stats stats;
	void *attached; /* bw_index_attach */
	void (*attached_free)(void *);
	/* per indicator: the last valid_until of its records (INT64_MAX: a
	 * record without one), after which it has lapsed (bw_index_lapsed);
	 * NULL when no indicator lapses */
	int64_t *until;
	/* where it came from (bw_index_fresh): the store's identity and
	 * generation when built, the earliest valid_until among its records
	 * and the earliest among those that expire before their indicator
	 * lapses (INT64_MAX for none); 0/0 when built without a store */
	uint64_t store_ident;
	int64_t store_gen, store_maxrec, expires, changes;
	/* a snapshot loaded from a file: inds, store_ids, arena, the tables'
	 * buckets, tagstr and tagsets point into this block (bw_image_read),
	 * or into this mapping of the file when image_map_len is not 0
	 * (bw_image_map) */
	void *image;
	size_t image_map_len;
};

/* builder-side tag and tag-set interning */
struct btag {
	uint32_t kind, name; /* offsets in tagstr */
};

struct bset {
	uint32_t first, n; /* sorted tag numbers in setv */
};

struct lpm_job;
struct dup_pairs;

struct bw_index_builder {
	int64_t now;
	uint64_t seed;
	struct ind *inds;
	int64_t *store_ids;
	int64_t *until;   /* as in struct bw_index, for every indicator once
			     one has an until before INT64_MAX (NULL before:
			     a store without valid_until pays nothing) */
	size_t ninds, inds_cap, sids_cap, until_cap;
	int64_t changes;  /* as in struct bw_index */
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t *doms, *exacts;
	size_t ndoms, doms_cap, nexacts, exacts_cap;
	struct bw_lpm_prefix *pfx[2];
	size_t npfx[2], pfx_cap[2];
	bool pfx_sorted; /* both in bw_lpm_sort order (builder_sort_prefixes) */
	struct lpm_job *job4; /* building the IPv4 table (builder_append) */
	char *tagstr;
	size_t tagstr_len, tagstr_cap;
	struct btag *tags;
	size_t ntags, tags_cap;
	uint32_t *tag_ht; /* tag number + 1; 0 empty */
	size_t tag_ht_cap;
	uint32_t *setv;
	size_t setv_len, setv_cap;
	struct bset *sets;
	size_t nsets, sets_cap;
	uint32_t *set_ht; /* set number + 1; 0 empty */
	size_t set_ht_cap;
	uint32_t *scratch; /* tag numbers of the indicator being added */
	size_t scratch_cap;
	struct bw_index_stats stats;
};

static int lpm_job_join(struct bw_index_builder *b, struct bw_lpm **lpm,
			struct dup_pairs *dups, struct bw_err *err);
static void merge_prefixes(int family, struct bw_lpm_prefix *v, size_t na,
			   const struct bw_lpm_prefix *x, size_t n, uint32_t shift);
static bool quad_to_addr(const char *text, size_t len, struct bw_index_addr *a);

/* ---- hashing ---------------------------------------------------------- */

static inline uint64_t
mum(uint64_t a, uint64_t b)
{
	u128 r = (u128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* 8 bytes at p as a little-endian number. */
static inline uint64_t
load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline uint32_t
load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Folds one label (1..63 bytes at p; 8 bytes past its end must be
 * readable) into h.  Up to 16 bytes take one multiply. */
static inline uint64_t
hash_label(uint64_t h, const char *p, size_t len)
{
	uint64_t w0, w1;

	while (len > 16) {
		h = mum(load8(p) ^ h ^ HK2, load8(p + 8) ^ HK1);
		p += 16;
		len -= 16;
	}
	w0 = load8(p) & (~UINT64_C(0) >> (64 - 8 * (len < 8 ? len : 8)));
	w1 = len > 8 ? load8(p + 8) & (~UINT64_C(0) >> (128 - 8 * len)) : 0;
	return mum(w0 ^ h ^ HK2, w1 ^ HK1 ^ len);
}

/* Lower-case map of the characters a canonical name may hold; '.' is
 * itself, 0 marks a byte that cannot be in a name, 1 a non-ASCII byte. */
static const unsigned char name_chars[256] = {
	['-'] = '-', ['.'] = '.', ['_'] = '_',
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
	['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
	['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
	['z'] = 'z',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
	['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
	['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
	['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
	['Z'] = 'z',
	[0x80] = 1, [0x81] = 1, [0x82] = 1, [0x83] = 1, [0x84] = 1, [0x85] = 1,
	[0x86] = 1, [0x87] = 1, [0x88] = 1, [0x89] = 1, [0x8a] = 1, [0x8b] = 1,
	[0x8c] = 1, [0x8d] = 1, [0x8e] = 1, [0x8f] = 1, [0x90] = 1, [0x91] = 1,
	[0x92] = 1, [0x93] = 1, [0x94] = 1, [0x95] = 1, [0x96] = 1, [0x97] = 1,
	[0x98] = 1, [0x99] = 1, [0x9a] = 1, [0x9b] = 1, [0x9c] = 1, [0x9d] = 1,
	[0x9e] = 1, [0x9f] = 1, [0xa0] = 1, [0xa1] = 1, [0xa2] = 1, [0xa3] = 1,
	[0xa4] = 1, [0xa5] = 1, [0xa6] = 1, [0xa7] = 1, [0xa8] = 1, [0xa9] = 1,
	[0xaa] = 1, [0xab] = 1, [0xac] = 1, [0xad] = 1, [0xae] = 1, [0xaf] = 1,
	[0xb0] = 1, [0xb1] = 1, [0xb2] = 1, [0xb3] = 1, [0xb4] = 1, [0xb5] = 1,
	[0xb6] = 1, [0xb7] = 1, [0xb8] = 1, [0xb9] = 1, [0xba] = 1, [0xbb] = 1,
	[0xbc] = 1, [0xbd] = 1, [0xbe] = 1, [0xbf] = 1, [0xc0] = 1, [0xc1] = 1,
	[0xc2] = 1, [0xc3] = 1, [0xc4] = 1, [0xc5] = 1, [0xc6] = 1, [0xc7] = 1,
	[0xc8] = 1, [0xc9] = 1, [0xca] = 1, [0xcb] = 1, [0xcc] = 1, [0xcd] = 1,
	[0xce] = 1, [0xcf] = 1, [0xd0] = 1, [0xd1] = 1, [0xd2] = 1, [0xd3] = 1,
	[0xd4] = 1, [0xd5] = 1, [0xd6] = 1, [0xd7] = 1, [0xd8] = 1, [0xd9] = 1,
	[0xda] = 1, [0xdb] = 1, [0xdc] = 1, [0xdd] = 1, [0xde] = 1, [0xdf] = 1,
	[0xe0] = 1, [0xe1] = 1, [0xe2] = 1, [0xe3] = 1, [0xe4] = 1, [0xe5] = 1,
	[0xe6] = 1, [0xe7] = 1, [0xe8] = 1, [0xe9] = 1, [0xea] = 1, [0xeb] = 1,
	[0xec] = 1, [0xed] = 1, [0xee] = 1, [0xef] = 1, [0xf0] = 1, [0xf1] = 1,
	[0xf2] = 1, [0xf3] = 1, [0xf4] = 1, [0xf5] = 1, [0xf6] = 1, [0xf7] = 1,
	[0xf8] = 1, [0xf9] = 1, [0xfa] = 1, [0xfb] = 1, [0xfc] = 1, [0xfd] = 1,
	[0xfe] = 1, [0xff] = 1,
};

/* SWAR helpers on 8 ASCII bytes (high bits clear): a mask with the high
 * bit of every byte in [lo, hi], or equal to c. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t
bytes_in(uint64_t w, unsigned char lo, unsigned char hi)
{
	return ((w | HIGHS) - lo * ONES) & ((hi | 0x80) * ONES - w) & HIGHS;
}

static inline uint64_t
bytes_eq(uint64_t w, unsigned char c)
{
	return ~((w ^ (c * ONES)) + ~HIGHS) & HIGHS;
}

/* One step of scan_name() on the k (1..8) bytes in w, written to out. */
static inline void
scan_word(uint64_t w, size_t k, char *out, size_t at, uint8_t *starts,
	  size_t *n, uint64_t *bad, uint64_t *other)
{
	uint64_t live = k == 8 ? HIGHS : HIGHS & ((UINT64_C(1) << (8 * k)) - 1);
	uint64_t dots;

	*other |= w & live;
	w |= bytes_in(w, 'A', 'Z') >> 2;
	dots = bytes_eq(w, '.') & live;
	/* '-' '.' '/' '0'..'9' are 0x2d..0x39: all but '/' may be in a name */
	*bad |= ~((bytes_in(w, '-', '9') & ~bytes_eq(w, '/')) | bytes_in(w, 'a', 'z') |
		  bytes_eq(w, '_')) & live;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	memcpy(out + at, &w, 8);
	while (dots) {
		starts[(*n)++] = (uint8_t)(at + (size_t)__builtin_ctzll(dots) / 8 + 1);
		dots &= dots - 1;
	}
}

/* Lower-cases a name (len <= NAME_MAX_LEN bytes at s) into buf (NAME_BUF
 * bytes, zero-padded after the name), 8 bytes at a time, noting where each
 * label starts in starts (NAME_MAX_LEN + 3 entries; the entry after the
 * last label is len + 1).  Reads no byte past s + len.  Returns the number
 * of labels; 0 if the name holds a byte no name holds; -1 if it holds
 * non-ASCII bytes (for IDNA). */
static int
scan_name(const char *s, size_t len, char *buf, uint8_t *starts)
{
	uint64_t bad = 0, other = 0, w;
	size_t n = 1, i = 0;

	starts[0] = 0;
	for (; i + 8 <= len; i += 8)
		scan_word(load8(s + i), 8, buf, i, starts, &n, &bad, &other);
	if (i < len) {
		/* the last 8 bytes, shifted past those already seen, when
		 * there are 8 (no over-read, no store-forwarding stall) */
		size_t k = len - i;
		if (len >= 8) {
			w = load8(s + len - 8) >> (8 * (8 - k));
		} else {
			w = 0;
			for (size_t j = len; j > 0; j--)
				w = w << 8 | (unsigned char)s[j - 1];
		}
		scan_word(w, k, buf, i, starts, &n, &bad, &other);
	}
	memset(buf + len, 0, 8);
	if (other)
		return -1;
	if (bad)
		return 0;
	starts[n] = (uint8_t)(len + 1);
	return (int)n;
}

/* The hash of a whole scanned name. */
static uint64_t
name_hash(uint64_t seed, const char *buf, const uint8_t *starts, int nlabels)
{
	uint64_t h = seed;

	for (int k = nlabels - 1; k >= 0; k--)
		h = hash_label(h, buf + starts[k], (size_t)starts[k + 1] - 1 - starts[k]);
	return h;
}

struct probe {
	uint64_t h;
	uint32_t bucket;  /* home bucket */
	uint32_t mask;    /* fp_mask() of the home bucket */
	uint8_t off, len; /* the suffix in the query's name */
	uint8_t walk;     /* the key may be in a later bucket */
};

/* The hashes of every suffix of at least two labels of a scanned name,
 * least specific first; 0 for a malformed name (an empty label, or one
 * longer than 63 bytes). */
static size_t
name_probes(uint64_t seed, const char *buf, const uint8_t *starts, int nlabels,
	    struct probe *pr)
{
	uint64_t h = seed;
	size_t n = 0, len = (size_t)starts[nlabels] - 1;

	for (int k = nlabels - 1; k >= 0; k--) {
		size_t st = starts[k], ll = (size_t)starts[k + 1] - 1 - st;
		if (ll - 1 >= LABEL_MAX_LEN)
			return 0;
		h = hash_label(h, buf + st, ll);
		if (k < nlabels - 1) {
			pr[n].h = h;
			pr[n].off = (uint8_t)st;
			pr[n].len = (uint8_t)(len - st);
			n++;
		}
	}
	return n;
}

/* The hash of an exact-set key; reads only the len bytes at s (the values
 * looked up live in callers' buffers). */
static uint64_t
hash_exact(uint64_t seed, int type, const char *s, size_t len)
{
	uint64_t h = seed ^ ((uint64_t)type * HK3), w = 0;
	size_t i = 0;

	for (; i + 8 < len; i += 8)
		h = mum(h ^ load8(s + i), HK1);
	if (len == 0)
		return mum(h, HK2);
	for (size_t k = len; k > i; k--)
		w = w << 8 | (unsigned char)s[k - 1];
	return mum(h ^ w, HK2 ^ len);
}

static inline size_t
home_of(const struct table *t, uint64_t h)
{
	return (size_t)(((u128)h * t->nb) >> 64);
}

static inline uint16_t
fp_of(uint64_t h)
{
	return (uint16_t)h;
}

/* ---- tables ----------------------------------------------------------- */

/* Asks for transparent huge pages on the whole pages inside [p, p + n),
 * for the name tables and the arena: a batched name look-up reads a bucket
 * and an arena entry at random, and with ten million names on ordinary
 * pages the page walks made hits 27% and misses 10% slower (bench_index).
 * Nothing else asks: the address tables answered as fast on ordinary pages,
 * and on a VM that hands free huge pages back to its host a process's
 * first touch of one costs more than the walks it saves (bench/README.md,
 * session 9).  Only a hint; a no-op where unsupported. */
static void
advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;

	if (n >= ((size_t)2 << 20) && e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

static int
table_init(struct table *t, size_t n)
{
	/* 60% full (see the top of the file) */
	size_t nb = (n * 5 + 3 * SLOTS - 1) / (3 * SLOTS);

	if (nb == 0)
		nb = 1;
	t->raw = bw_calloc(1, nb * sizeof(struct bucket) + 63);
	if (t->raw == NULL)
		return BW_ENOMEM;
	t->b = (struct bucket *)(((uintptr_t)t->raw + 63) & ~(uintptr_t)63);
	advise_huge(t->raw, nb * sizeof(struct bucket) + 63);
	t->nb = nb;
	t->n = 0;
	return BW_OK;
}

static void
table_free(struct table *t)
{
	bw_free(t->raw);
	memset(t, 0, sizeof(*t));
}

/* True if the arena entry at ref holds the value s (len bytes).  The
 * bound costs one compare and keeps a damaged snapshot file (whose slots
 * are checked only against the arena's size when loaded) inside it. */
static inline bool
key_eq(const struct bw_index *ix, uint32_t ref, const char *s, size_t len)
{
	const char *v = ix->arena + ref + ENTRY_HDR;

	return (size_t)ref + ENTRY_HDR + len < ix->arena_len &&
	       memcmp(v, s, len) == 0 && v[len] == '\0';
}

/* The indicator number of the arena entry at ref, or NO_ID (a damaged
 * snapshot file; never for a built one). */
static inline uint32_t
entry_id(const struct bw_index *ix, uint32_t ref)
{
	uint32_t id = load32(ix->arena + ref);

	return id < ix->ninds ? id : NO_ID;
}

/* The slots of b whose fingerprint is fp: slot i is bit 2i. */
static inline unsigned
fp_mask(const struct bucket *b, uint16_t fp)
{
	unsigned m = 0;
#ifdef __SSE2__
	__m128i f = _mm_set1_epi16((short)fp);
	__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)b->fp);
	__m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(b->fp + 2));

	m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(lo, f)) |
	    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(hi, f)) << 4;
#else
	for (int i = 0; i < SLOTS; i++)
		m |= (unsigned)(b->fp[i] == fp) << (2 * i);
#endif
	return m & 0x55555u & ((1u << (2 * b->n)) - 1);
}

/* The arena offset of the entry of key s in t, or NO_REF. */
static inline uint32_t
table_find(const struct bw_index *ix, const struct table *t, uint64_t h,
	   const char *s, size_t len)
{
	size_t bi = home_of(t, h);
	uint16_t fp = fp_of(h);
	const struct bucket *b = &t->b[bi];
	bool walk = b->ovf;

	for (;;) {
		for (unsigned m = fp_mask(b, fp); m; m &= m - 1) {
			uint32_t ref = b->ref[__builtin_ctz(m) / 2];
			if (key_eq(ix, ref, s, len))
				return ref;
		}
		/* the keys of the home bucket that did not fit are in the
		 * buckets after it, up to the first that had room */
		if (!walk || b->n < SLOTS)
			return NO_REF;
		bi = bi + 1 == t->nb ? 0 : bi + 1;
		b = &t->b[bi];
	}
}

/* Inserts indicator id; returns NO_ID, or the number of an indicator with
 * the same key already there (nothing inserted). */
static uint32_t
table_insert(const struct bw_index *ix, struct table *t, uint64_t h,
	     uint32_t id)
{
	const struct ind *d = &ix->inds[id];
	uint32_t ref = table_find(ix, t, h, ix->arena + d->off, d->len);
	size_t bi = home_of(t, h);
	struct bucket *b = &t->b[bi];

	if (ref != NO_REF)
		return load32(ix->arena + ref);
	while (b->n == SLOTS) {
		t->b[home_of(t, h)].ovf = 1;
		bi = bi + 1 == t->nb ? 0 : bi + 1;
		b = &t->b[bi];
	}
	b->fp[b->n] = fp_of(h);
	b->ref[b->n] = d->off - ENTRY_HDR;
	b->n++;
	t->n++;
	return NO_ID;
}

static size_t
table_bytes(const struct table *t)
{
	return t->nb * sizeof(struct bucket);
}

/* ---- snapshot --------------------------------------------------------- */

void
bw_index_free(struct bw_index *ix)
{
	if (ix == NULL)
		return;
	if (ix->image == NULL) {
		bw_free(ix->inds);
		bw_free(ix->store_ids);
		bw_free(ix->until);
		bw_free(ix->arena);
		table_free(&ix->dom);
		table_free(&ix->exact);
		bw_free(ix->tagstr);
		bw_free(ix->tagsets);
	}
	bw_lpm_free(ix->lpm[0]);
	bw_lpm_free(ix->lpm[1]);
	bw_free(ix->tagv);
	if (ix->image != NULL)
		bw_image_unmap(ix->image, ix->image_map_len);
	if (ix->attached_free)
		ix->attached_free(ix->attached);
	bw_free(ix);
}

void
bw_index_attach(struct bw_index *ix, void *data, void (*free_fn)(void *))
{
	if (ix->attached_free)
		ix->attached_free(ix->attached);
	ix->attached = data;
	ix->attached_free = free_fn;
}

void *
bw_index_attachment(const struct bw_index *ix)
{
	return ix->attached;
}

void
bw_index_stats(const struct bw_index *ix, struct bw_index_stats *out)
{
	*out = ix->stats;
}

bool
bw_index_lapses(const struct bw_index *ix)
{
	return ix->until != NULL;
}

bool
bw_index_lapsed(const struct bw_index *ix, uint32_t id, int64_t now)
{
	return ix->until != NULL && ix->until[id] < now;
}

size_t
bw_index_lapsed_count(const struct bw_index *ix, int64_t now)
{
	size_t n = 0;

	if (ix->until != NULL)
		for (size_t i = 0; i < ix->ninds; i++)
			n += ix->inds[i].type != 0 && ix->until[i] < now;
	return n;
}

void
bw_index_get(const struct bw_index *ix, uint32_t id, struct bw_index_match *m)
{
	const struct ind *d = &ix->inds[id];
	const struct tagset *ts = &ix->tagsets[d->tagset];

	m->id = id;
	m->type = (enum bw_ioc_type)d->type;
	m->value = ix->arena + d->off;
	m->len = d->len;
	m->confidence = d->conf;
	m->tags = ts->n ? ix->tagv + ts->first : NULL;
	m->ntags = ts->n;
	m->store_id = ix->store_ids[id];
}

void
bw_index_prefetch(const struct bw_index *ix, uint32_t id)
{
	__builtin_prefetch(&ix->inds[id]);
	__builtin_prefetch(&ix->store_ids[id]);
}

/* ---- builder: tags ---------------------------------------------------- */

static uint64_t
hash_bytes(const char *s, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

static int
str_add(struct bw_index_builder *b, const char *s, size_t len, uint32_t *off)
{
	if (b->tagstr_len + len + 1 > BW_INDEX_STRINGS_MAX)
		return BW_ELIMIT;
	if (b->tagstr_len + len + 1 > b->tagstr_cap) {
		size_t cap = b->tagstr_cap;
		char *p = bw_grow(b->tagstr, &cap, b->tagstr_len + len + 1, 1);
		if (p == NULL)
			return BW_ENOMEM;
		b->tagstr = p;
		b->tagstr_cap = cap;
	}
	memcpy(b->tagstr + b->tagstr_len, s, len);
	b->tagstr[b->tagstr_len + len] = '\0';
	*off = (uint32_t)b->tagstr_len;
	b->tagstr_len += len + 1;
	return BW_OK;
}

/* Open-addressing helper: doubles a table of numbers + 1 when half full,
 * re-placing entries with rehash(b, number). */
typedef uint64_t (*rehash_fn)(const struct bw_index_builder *b, uint32_t n);

static int
ht_grow(const struct bw_index_builder *b, uint32_t **ht, size_t *cap,
	size_t count, rehash_fn rehash)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	uint32_t *n;

	if (count * 2 < *cap)
		return BW_OK;
	n = bw_calloc(ncap, sizeof(*n));
	if (n == NULL)
		return BW_ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		size_t j;
		if ((*ht)[i] == 0)
			continue;
		j = rehash(b, (*ht)[i] - 1) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = (*ht)[i];
	}
	bw_free(*ht);
	*ht = n;
	*cap = ncap;
	return BW_OK;
}

static uint64_t
tag_hash(const char *kind, size_t kl, const char *name, size_t nl)
{
	return hash_bytes(name, nl, hash_bytes(kind, kl, 0xcbf29ce484222325ull) ^ 0x1f);
}

static uint64_t
tag_rehash(const struct bw_index_builder *b, uint32_t n)
{
	const char *k = b->tagstr + b->tags[n].kind, *nm = b->tagstr + b->tags[n].name;

	return tag_hash(k, strlen(k), nm, strlen(nm));
}

static int
intern_tag(struct bw_index_builder *b, const char *kind, const char *name,
	   uint32_t *out)
{
	size_t kl = strlen(kind), nl = strlen(name), j;
	uint64_t h = tag_hash(kind, kl, name, nl);
	struct btag t;
	int rc;

	rc = ht_grow(b, &b->tag_ht, &b->tag_ht_cap, b->ntags + 1, tag_rehash);
	if (rc)
		return rc;
	for (j = h & (b->tag_ht_cap - 1); b->tag_ht[j]; j = (j + 1) & (b->tag_ht_cap - 1)) {
		const struct btag *o = &b->tags[b->tag_ht[j] - 1];
		if (strcmp(b->tagstr + o->kind, kind) == 0 &&
		    strcmp(b->tagstr + o->name, name) == 0) {
			*out = b->tag_ht[j] - 1;
			return BW_OK;
		}
	}
	if (b->ntags + 1 >= BW_INDEX_INDICATORS_MAX)
		return BW_ELIMIT;
	if ((rc = str_add(b, kind, kl, &t.kind)) || (rc = str_add(b, name, nl, &t.name)))
		return rc;
	if (b->ntags == b->tags_cap) {
		struct btag *p = bw_grow(b->tags, &b->tags_cap, b->ntags + 1, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		b->tags = p;
	}
	b->tags[b->ntags] = t;
	b->tag_ht[j] = (uint32_t)++b->ntags;
	*out = (uint32_t)(b->ntags - 1);
	return BW_OK;
}

static uint64_t
set_hash(const uint32_t *v, size_t n)
{
	uint64_t h = HK3 ^ n;

	for (size_t i = 0; i < n; i++)
		h = mum(h ^ v[i], HK1);
	return h;
}

static uint64_t
set_rehash(const struct bw_index_builder *b, uint32_t n)
{
	return set_hash(b->setv + b->sets[n].first, b->sets[n].n);
}

/* The number of the tag set holding the n sorted, distinct tag numbers. */
static int
intern_set(struct bw_index_builder *b, const uint32_t *v, size_t n,
	   uint32_t *out)
{
	uint64_t h = set_hash(v, n);
	size_t j;
	int rc;

	rc = ht_grow(b, &b->set_ht, &b->set_ht_cap, b->nsets + 1, set_rehash);
	if (rc)
		return rc;
	for (j = h & (b->set_ht_cap - 1); b->set_ht[j]; j = (j + 1) & (b->set_ht_cap - 1)) {
		const struct bset *o = &b->sets[b->set_ht[j] - 1];
		if (o->n == n && (n == 0 || memcmp(b->setv + o->first, v, n * sizeof(*v)) == 0)) {
			*out = b->set_ht[j] - 1;
			return BW_OK;
		}
	}
	if (b->setv_len + n >= BW_INDEX_INDICATORS_MAX)
		return BW_ELIMIT;
	if (b->setv_len + n > b->setv_cap) {
		uint32_t *p = bw_grow(b->setv, &b->setv_cap, b->setv_len + n, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		b->setv = p;
	}
	if (b->nsets == b->sets_cap) {
		struct bset *p = bw_grow(b->sets, &b->sets_cap, b->nsets + 1, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		b->sets = p;
	}
	if (n > 0)
		memcpy(b->setv + b->setv_len, v, n * sizeof(*v));
	b->sets[b->nsets].first = (uint32_t)b->setv_len;
	b->sets[b->nsets].n = (uint32_t)n;
	b->setv_len += n;
	b->set_ht[j] = (uint32_t)++b->nsets;
	*out = (uint32_t)(b->nsets - 1);
	return BW_OK;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts and de-duplicates v in place, keeps at most BW_INDEX_TAGS_MAX,
 * and interns the result. */
static int
intern_tagnums(struct bw_index_builder *b, uint32_t *v, size_t n, uint32_t *out)
{
	size_t m = 0;

	if (n == 0) {
		*out = 0; /* the empty set, interned first */
		return BW_OK;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || v[m - 1] != v[i])
			v[m++] = v[i];
	if (m > BW_INDEX_TAGS_MAX) {
		b->stats.tags_dropped += m - BW_INDEX_TAGS_MAX;
		m = BW_INDEX_TAGS_MAX;
	}
	return intern_set(b, v, m, out);
}

static int
scratch_room(struct bw_index_builder *b, size_t n)
{
	uint32_t *p;

	if (n <= b->scratch_cap)
		return BW_OK;
	p = bw_grow(b->scratch, &b->scratch_cap, n, sizeof(*p));
	if (p == NULL)
		return BW_ENOMEM;
	b->scratch = p;
	return BW_OK;
}

/* The union of two tag sets. */
static int
union_sets(struct bw_index_builder *b, uint32_t x, uint32_t y, uint32_t *out)
{
	size_t nx = b->sets[x].n, ny = b->sets[y].n;
	int rc;

	if (x == y || ny == 0) {
		*out = x;
		return BW_OK;
	}
	if (nx == 0) {
		*out = y;
		return BW_OK;
	}
	rc = scratch_room(b, nx + ny);
	if (rc)
		return rc;
	/* setv may move while interning: copy out first */
	memcpy(b->scratch, b->setv + b->sets[x].first, nx * sizeof(uint32_t));
	memcpy(b->scratch + nx, b->setv + b->sets[y].first, ny * sizeof(uint32_t));
	return intern_tagnums(b, b->scratch, nx + ny, out);
}

/* ---- builder: indicators ---------------------------------------------- */

int
bw_index_builder_new(int64_t now, struct bw_index_builder **out,
		     struct bw_err *err)
{
	struct bw_index_builder *b = bw_calloc(1, sizeof(*b));
	uint32_t empty;

	*out = NULL;
	if (b == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	b->now = now;
	b->stats.built = now;
	b->changes = INT64_MAX;
	if (getrandom(&b->seed, sizeof(b->seed), GRND_NONBLOCK) != sizeof(b->seed))
		b->seed = (uint64_t)now * HK1 ^ (uint64_t)(uintptr_t)b;
	/* tag set 0 is the empty set */
	if (intern_set(b, NULL, 0, &empty) != BW_OK) {
		bw_index_builder_free(b);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	*out = b;
	return BW_OK;
}

void
bw_index_builder_free(struct bw_index_builder *b)
{
	if (b == NULL)
		return;
	lpm_job_join(b, NULL, NULL, NULL); /* before its prefixes are freed */
	bw_free(b->inds);
	bw_free(b->store_ids);
	bw_free(b->until);
	bw_free(b->arena);
	bw_free(b->doms);
	bw_free(b->exacts);
	bw_free(b->pfx[0]);
	bw_free(b->pfx[1]);
	bw_free(b->tagstr);
	bw_free(b->tags);
	bw_free(b->tag_ht);
	bw_free(b->setv);
	bw_free(b->sets);
	bw_free(b->set_ht);
	bw_free(b->scratch);
	bw_free(b);
}

static bool
domain_canonical(const char *v, size_t len)
{
	size_t ll = 0;
	int labels = 1;

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '.') {
			if (ll == 0)
				return false;
			ll = 0;
			labels++;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++ll > LABEL_MAX_LEN)
				return false;
		} else {
			return false;
		}
	}
	return ll > 0 && labels >= 2;
}

static bool
hex_canonical(const char *v, size_t len, size_t want)
{
	if (len != want)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return false;
	return true;
}

/* True if bw_ioc_parse() gives back exactly (type, v). */
static bool
reparses_same(enum bw_ioc_type type, const char *v, size_t len)
{
	struct bw_ioc ioc;

	if (bw_ioc_parse(v, len, type, &ioc, NULL) != BW_OK)
		return false;
	return ioc.type == type && ioc.len == len && memcmp(ioc.value, v, len) == 0;
}

/* The binary prefix of a canonical address or CIDR. */
static bool
parse_prefix(enum bw_ioc_type type, const char *v, size_t len,
	     struct bw_lpm_prefix *p, int *family)
{
	char buf[64];
	const char *slash = memchr(v, '/', len);
	size_t alen = slash ? (size_t)(slash - v) : len;
	int fam = memchr(v, ':', alen) ? 6 : 4;

	if (alen >= sizeof(buf))
		return false;
	memcpy(buf, v, alen);
	buf[alen] = '\0';
	memset(p->addr, 0, sizeof(p->addr));
	if (inet_pton(fam == 4 ? AF_INET : AF_INET6, buf, p->addr) != 1)
		return false;
	if ((type == BW_IOC_IPV4 && fam != 4) || (type == BW_IOC_IPV6 && fam != 6))
		return false;
	if (slash) {
		int l = 0;
		for (const char *q = slash + 1; q < v + len; q++)
			l = l * 10 + (*q - '0');
		p->len = (uint8_t)l;
	} else {
		p->len = fam == 4 ? 32 : 128;
	}
	*family = fam;
	return true;
}

/* A prefix length after '/' written as inet_ntop and bw_ioc_parse write
 * it: 1 to max - 1 (a full-length prefix is an address), no leading zero. */
static bool
canon_plen(const char *s, size_t len, int max, uint8_t *out)
{
	int v = 0;

	if (len == 0 || len > 3 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v >= max)
		return false;
	*out = (uint8_t)v;
	return true;
}

/* An IPv6 address exactly as glibc's inet_ntop() writes it, without an
 * embedded IPv4 part: lower-case groups without leading zeros, the first
 * longest run of two or more zero groups written "::".  False for
 * anything else, canonical or not (the caller then asks bw_ioc_parse). */
static bool
canon_ipv6(const char *s, size_t len, uint8_t out[16])
{
	uint16_t w[8];
	int nw = 0, gap = -1, fill = 0, best = -1, bestlen = 0, run = 0;
	size_t i = 0;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < len) {
		unsigned v = 0;
		size_t st = i;
		while (i < len && i - st < 5) {
			unsigned char c = (unsigned char)s[i];
			unsigned d = c >= '0' && c <= '9' ? c - '0'
				     : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 16;
			if (d == 16)
				break;
			v = v << 4 | d;
			i++;
		}
		if (i == st || i - st > 4 || (i - st > 1 && s[st] == '0') || nw == 8)
			return false;
		w[nw++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < len && s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = nw;
			i++;
		} else if (i == len) {
			return false; /* a trailing single ':' */
		}
	}
	if (gap >= 0) {
		fill = 8 - nw;
		if (fill < 2)
			return false;
		memmove(w + gap + fill, w + gap, (size_t)(nw - gap) * sizeof(*w));
		memset(w + gap, 0, (size_t)fill * sizeof(*w));
		nw = 8;
	}
	if (nw != 8)
		return false;
	for (int k = 0; k <= 8; k++) {
		if (k < 8 && w[k] == 0) {
			run++;
			continue;
		}
		if (run > bestlen) {
			bestlen = run;
			best = k - run;
		}
		run = 0;
	}
	if (bestlen < 2)
		best = -1;
	/* inet_ntop writes these with a dotted IPv4 part */
	if (best == 0 && (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff)))
		return false;
	/* "::" must stand for exactly the zero run inet_ntop picks */
	if (best != gap || (gap >= 0 && fill != bestlen))
		return false;
	for (int k = 0; k < 8; k++) {
		out[2 * k] = (uint8_t)(w[k] >> 8);
		out[2 * k + 1] = (uint8_t)w[k];
	}
	return true;
}

/* The binary prefix of an address or CIDR of type type that is exactly in
 * the canonical form bw_ioc_parse() writes (so it needs no re-parse): the
 * fast path of the builder for the many addresses of a block list.  False
 * means "not known canonical here", not "invalid". */
static bool
canon_prefix(enum bw_ioc_type type, const char *v, size_t len,
	     struct bw_lpm_prefix *p, int *family)
{
	const char *slash = memchr(v, '/', len);
	size_t alen = slash ? (size_t)(slash - v) : len;
	bool v6 = memchr(v, ':', alen) != NULL;
	int bits = v6 ? 128 : 32;

	if ((type == BW_IOC_CIDR) != (slash != NULL) ||
	    (type == BW_IOC_IPV4 && v6) || (type == BW_IOC_IPV6 && !v6))
		return false;
	memset(p->addr, 0, sizeof(p->addr));
	if (v6) {
		if (!canon_ipv6(v, alen, p->addr))
			return false;
	} else {
		/* the fast dotted-quad parser first, as for look-ups: it
		 * takes exactly the strings bw_ioc_parse_ipv4 takes */
		struct bw_index_addr a;
		if (alen >= 7 && alen <= 15 && quad_to_addr(v, alen, &a))
			memcpy(p->addr, a.addr, 4);
		else if (!bw_ioc_parse_ipv4(v, alen, p->addr))
			return false;
	}
	p->len = (uint8_t)bits;
	if (slash) {
		int whole, part;
		if (!canon_plen(slash + 1, len - alen - 1, bits, &p->len))
			return false;
		/* host bits set: the rest of the byte the prefix ends in,
		 * then whole bytes */
		whole = p->len / 8;
		part = p->len % 8;
		if (part != 0 && (p->addr[whole++] & (0xff >> part)))
			return false;
		for (int k = whole; k < bits / 8; k++)
			if (p->addr[k])
				return false;
	}
	*family = v6 ? 6 : 4;
	return true;
}

static int
push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	if (*n == *cap) {
		uint32_t *p = bw_grow(*v, cap, *n + 1, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		*v = p;
	}
	(*v)[(*n)++] = x;
	return BW_OK;
}

/* Ends of validity (INT64_MAX: none) are kept only once one has one: room
 * in *v for want of them; when there was no array yet, the first have
 * entries (which had no end) are set to INT64_MAX. */
static int
ends_room(int64_t **v, size_t *cap, size_t want, size_t have)
{
	bool fresh = *v == NULL;
	int64_t *p = bw_grow(*v, cap, want, sizeof(*p));

	if (p == NULL)
		return BW_ENOMEM;
	*v = p;
	if (fresh)
		for (size_t i = 0; i < have; i++)
			p[i] = INT64_MAX;
	return BW_OK;
}

static int
until_room(struct bw_index_builder *b, size_t n)
{
	return ends_room(&b->until, &b->until_cap, n, b->ninds);
}

/* Adds one indicator whose tags are already tag numbers (tagnums is
 * reordered).  Returns BW_EINVAL (not canonical), BW_ELIMIT or BW_ENOMEM. */
static int
add_internal(struct bw_index_builder *b, enum bw_ioc_type type,
	     const char *value, size_t len, int64_t store_id, int conf,
	     int64_t until, uint32_t *tagnums, size_t ntags)
{
	struct bw_lpm_prefix pfx;
	int family = 0, rc;
	uint32_t id = (uint32_t)b->ninds, set;
	bool ok;

	switch (type) {
	case BW_IOC_DOMAIN: ok = domain_canonical(value, len); break;
	case BW_IOC_IPV4:
	case BW_IOC_IPV6:
	case BW_IOC_CIDR:
		ok = canon_prefix(type, value, len, &pfx, &family) ||
		     (reparses_same(type, value, len) &&
		      parse_prefix(type, value, len, &pfx, &family));
		break;
	case BW_IOC_URL:
	case BW_IOC_EMAIL: ok = reparses_same(type, value, len); break;
	case BW_IOC_MD5: ok = hex_canonical(value, len, 32); break;
	case BW_IOC_SHA1: ok = hex_canonical(value, len, 40); break;
	case BW_IOC_SHA256: ok = hex_canonical(value, len, 64); break;
	default: ok = false; break;
	}
	if (!ok || conf < -1 || conf > 100)
		return BW_EINVAL;
	if (b->ninds >= BW_INDEX_INDICATORS_MAX)
		return BW_ELIMIT;
	if (b->arena_len + ENTRY_HDR + len + 1 > BW_INDEX_STRINGS_MAX)
		return BW_ELIMIT;
	rc = intern_tagnums(b, tagnums, ntags, &set);
	if (rc)
		return rc;

	if (b->ninds == b->inds_cap) {
		struct ind *p = bw_grow(b->inds, &b->inds_cap, b->ninds + 1, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		b->inds = p;
	}
	if (b->ninds == b->sids_cap) {
		int64_t *p = bw_grow(b->store_ids, &b->sids_cap, b->ninds + 1, sizeof(*p));
		if (p == NULL)
			return BW_ENOMEM;
		b->store_ids = p;
	}
	if (until != INT64_MAX || b->until != NULL) {
		rc = until_room(b, b->ninds + 1);
		if (rc)
			return rc;
	}
	if (b->arena_len + ENTRY_HDR + len + 1 > b->arena_cap) {
		char *p = bw_grow(b->arena, &b->arena_cap,
				  b->arena_len + ENTRY_HDR + len + 1, 1);
		if (p == NULL)
			return BW_ENOMEM;
		if (p != b->arena) /* moved: the new block is advised anew */
			advise_huge(p, b->arena_cap);
		b->arena = p;
	}
	if (type == BW_IOC_DOMAIN) {
		rc = push_u32(&b->doms, &b->ndoms, &b->doms_cap, id);
	} else if (family) {
		int f = family == 4 ? 0 : 1;
		if (b->npfx[f] == b->pfx_cap[f]) {
			struct bw_lpm_prefix *p = bw_grow(b->pfx[f], &b->pfx_cap[f],
							  b->npfx[f] + 1, sizeof(*p));
			if (p == NULL)
				return BW_ENOMEM;
			b->pfx[f] = p;
		}
		pfx.id = id;
		b->pfx[f][b->npfx[f]++] = pfx;
		b->pfx_sorted = false;
		rc = BW_OK;
	} else {
		rc = push_u32(&b->exacts, &b->nexacts, &b->exacts_cap, id);
	}
	if (rc)
		return rc;
	memcpy(b->arena + b->arena_len, &id, ENTRY_HDR);
	memcpy(b->arena + b->arena_len + ENTRY_HDR, value, len);
	b->arena[b->arena_len + ENTRY_HDR + len] = '\0';
	b->inds[id].off = (uint32_t)(b->arena_len + ENTRY_HDR);
	b->inds[id].len = (uint16_t)len;
	b->inds[id].type = (uint8_t)type;
	b->inds[id].conf = (int8_t)conf;
	b->inds[id].tagset = set;
	b->store_ids[id] = store_id;
	if (b->until != NULL)
		b->until[id] = until;
	b->arena_len += ENTRY_HDR + len + 1;
	b->ninds++;
	return BW_OK;
}

static int
limit_error(struct bw_err *err)
{
	return bw_err_set(err, BW_ELIMIT, "index limit reached (%u indicators, %u bytes of values)",
			  BW_INDEX_INDICATORS_MAX, BW_INDEX_STRINGS_MAX);
}

int
bw_index_builder_add(struct bw_index_builder *b, const struct bw_index_entry *e,
		     struct bw_err *err)
{
	int rc;

	if (e->len > BW_IOC_VALUE_MAX)
		return bw_err_set(err, BW_EINVAL, "indicator value longer than %d bytes",
				  BW_IOC_VALUE_MAX);
	if (e->ntags > STORE_TAGS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %d tags on one indicator",
				  STORE_TAGS_MAX);
	rc = scratch_room(b, e->ntags);
	if (rc)
		return bw_err_set(err, rc, "out of memory");
	for (size_t i = 0; i < e->ntags; i++) {
		rc = intern_tag(b, e->tags[i].kind, e->tags[i].name, &b->scratch[i]);
		if (rc)
			return bw_err_set(err, rc, "cannot keep tag \"%s\": %s",
					  e->tags[i].name, bw_rc_name(rc));
	}
	rc = add_internal(b, e->type, e->value, e->len, e->store_id, e->confidence,
			  INT64_MAX, b->scratch, e->ntags);
	if (rc == BW_EINVAL)
		return bw_err_set(err, rc, "not a canonical %s: \"%.*s\"",
				  bw_ioc_type_name(e->type) ? bw_ioc_type_name(e->type) : "indicator",
				  (int)(e->len > 200 ? 200 : e->len), e->value);
	if (rc == BW_ELIMIT)
		return limit_error(err);
	if (rc)
		return bw_err_set(err, rc, "out of memory");
	return BW_OK;
}

/* ---- builder: finish -------------------------------------------------- */

/* Folds indicator dup into keep: highest confidence, union of tags. */
static int
merge_into(struct bw_index_builder *b, struct bw_index *ix, uint32_t keep,
	   uint32_t dup)
{
	struct ind *k = &ix->inds[keep], *d = &ix->inds[dup];
	uint32_t set;
	int rc = union_sets(b, k->tagset, d->tagset, &set);

	if (rc)
		return rc;
	k->tagset = set;
	if (d->conf > k->conf)
		k->conf = d->conf;
	if (ix->until != NULL && ix->until[keep] != ix->until[dup]) {
		/* one value, two indicators' records: it lapses with the later
		 * and the earlier changes its tags or confidence */
		int64_t lo = ix->until[keep] < ix->until[dup] ? ix->until[keep] : ix->until[dup];
		if (lo < b->changes)
			b->changes = lo;
		if (ix->until[dup] > ix->until[keep])
			ix->until[keep] = ix->until[dup];
	}
	if (ix->store_ids[keep] == 0)
		ix->store_ids[keep] = ix->store_ids[dup];
	d->type = 0;
	b->stats.merged++;
	return BW_OK;
}

static uint64_t
key_hash(const struct bw_index *ix, uint32_t id)
{
	const struct ind *d = &ix->inds[id];

	if (d->type == BW_IOC_DOMAIN) {
		char buf[NAME_BUF];
		uint8_t starts[NAME_MAX_LEN + 3];
		int nl = scan_name(ix->arena + d->off, d->len, buf, starts);
		return name_hash(ix->seed, buf, starts, nl > 0 ? nl : 0);
	}
	return hash_exact(ix->seed, d->type, ix->arena + d->off, d->len);
}

static int
fill_table(struct bw_index_builder *b, struct bw_index *ix, struct table *t,
	   const uint32_t *ids, size_t n)
{
	uint64_t ring[BATCH];
	int rc = table_init(t, n);

	if (rc)
		return rc;
	for (size_t i = 0; i < n + BATCH; i++) {
		/* insert key i - BATCH, whose bucket was prefetched, then
		 * hash key i into the ring slot it leaves */
		if (i >= BATCH) {
			size_t j = i - BATCH;
			uint32_t other = table_insert(ix, t, ring[j % BATCH], ids[j]);
			if (other != NO_ID && (rc = merge_into(b, ix, other, ids[j])))
				return rc;
		}
		if (i < n) {
			uint64_t h = key_hash(ix, ids[i]);
			ring[i % BATCH] = h;
			__builtin_prefetch(&t->b[home_of(t, h)], 1);
		}
	}
	return BW_OK;
}

/* Pairs (kept, duplicate) of indicator numbers with the same prefix, in
 * the order the sweep met them: folded together (merge_into) only once
 * the snapshot's records exist, and always IPv4's before IPv6's, the
 * order in which tag sets are interned being part of the result. */
struct dup_pairs {
	uint32_t *v;
	size_t n, cap; /* u32s: twice the pairs */
};

/* Compacts the sorted prefixes p[0, n) to their first of each prefix
 * (*m of them) and notes the others in dups. */
static int
dedupe_prefixes(int family, struct bw_lpm_prefix *p, size_t n, size_t *m,
		struct dup_pairs *dups)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k > 0 && bw_lpm_same(family, &p[k - 1], &p[i])) {
			uint32_t *v = bw_grow(dups->v, &dups->cap, dups->n + 2, sizeof(*v));
			if (v == NULL)
				return BW_ENOMEM;
			dups->v = v;
			v[dups->n++] = p[k - 1].id;
			v[dups->n++] = p[i].id;
			continue;
		}
		p[k++] = p[i];
	}
	*m = k;
	return BW_OK;
}

static int
merge_dups(struct bw_index_builder *b, struct bw_index *ix, const struct dup_pairs *dups)
{
	int rc = BW_OK;

	for (size_t i = 0; i + 1 < dups->n && rc == BW_OK; i += 2)
		rc = merge_into(b, ix, dups->v[i], dups->v[i + 1]);
	return rc;
}

/* Sorts p[0, n) (unless sorted), dedupes and sweeps it into *out; the
 * duplicates go to dups. */
static int
build_lpm(int family, struct bw_lpm_prefix *p, size_t n, bool sorted,
	  struct dup_pairs *dups, struct bw_lpm **out, struct bw_err *err)
{
	size_t m;

	if (!sorted)
		bw_lpm_sort(family, p, n);
	if (dedupe_prefixes(family, p, n, &m, dups) != BW_OK)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	return bw_lpm_build(family, p, m, out, err);
}

/*
 * The IPv4 prefix table of a split join, built on a thread of its own
 * from the moment the halves are joined: merging the second half's sorted
 * prefixes into the first's, deduplicating and sweeping them was the
 * longest step left on one thread (60 ms of a million prefixes), and the
 * rest of appending the second half, the hash tables and the IPv6 table
 * need none of it.  It owns the second half's prefix array; it writes
 * b->pfx[0], which nothing else reads until it is joined (finish, or the
 * builder's free).
 */
struct lpm_job {
	pthread_t thread;
	struct bw_lpm_prefix *v; /* b->pfx[0]: b's prefixes, room for x's */
	struct bw_lpm_prefix *x; /* the second half's prefixes, sorted */
	size_t na, nx;           /* b's prefixes before the merge, x's */
	uint32_t shift;          /* added to x's ids */
	struct bw_lpm *lpm;
	struct dup_pairs dups;
	int rc;
	struct bw_err err;
};

static void *
lpm_job_run(void *arg)
{
	struct lpm_job *j = arg;

	merge_prefixes(4, j->v, j->na, j->x, j->nx, j->shift);
	bw_free(j->x);
	j->x = NULL;
	j->rc = build_lpm(4, j->v, j->na + j->nx, true, &j->dups, &j->lpm, &j->err);
	return NULL;
}

/* Waits for b's IPv4 job, if it has one, and hands its results over:
 * the table (NULL if it failed) and its duplicates. */
static int
lpm_job_join(struct bw_index_builder *b, struct bw_lpm **lpm, struct dup_pairs *dups,
	     struct bw_err *err)
{
	struct lpm_job *j = b->job4;
	int rc;

	if (j == NULL)
		return BW_OK;
	pthread_join(j->thread, NULL);
	b->job4 = NULL;
	rc = j->rc;
	if (rc != BW_OK && err != NULL)
		*err = j->err;
	if (lpm != NULL && rc == BW_OK)
		*lpm = j->lpm;
	else
		bw_lpm_free(j->lpm);
	if (dups != NULL && rc == BW_OK)
		*dups = j->dups;
	else
		bw_free(j->dups.v);
	bw_free(j);
	return rc;
}

static int
cmp_tag(const void *a, const void *b)
{
	const struct bw_tag *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	return c ? c : strcmp(x->name, y->name);
}

/* Lays the interned tag sets out as struct bw_tag arrays; the snapshot
 * takes the tag strings. */
static int
fill_tags(struct bw_index_builder *b, struct bw_index *ix)
{
	ix->tagsets = bw_malloc(b->nsets * sizeof(*ix->tagsets));
	ix->tagv = bw_malloc((b->setv_len ? b->setv_len : 1) * sizeof(*ix->tagv));
	if (ix->tagsets == NULL || ix->tagv == NULL)
		return BW_ENOMEM;
	ix->tagstr = b->tagstr;
	b->tagstr = NULL;
	for (size_t s = 0; s < b->nsets; s++) {
		const struct bset *bs = &b->sets[s];
		struct bw_tag *v = ix->tagv + bs->first;
		for (size_t i = 0; i < bs->n; i++) {
			const struct btag *t = &b->tags[b->setv[bs->first + i]];
			v[i].kind = ix->tagstr + t->kind;
			v[i].name = ix->tagstr + t->name;
		}
		qsort(v, bs->n, sizeof(*v), cmp_tag);
		ix->tagsets[s].first = bs->first;
		ix->tagsets[s].n = bs->n;
	}
	ix->ntagv = b->setv_len;
	ix->ntagsets = b->nsets;
	return BW_OK;
}

/* Reserves room for n indicators and about bytes of values before the
 * first is added (bw_index_build knows n from the records it read):
 * without it the arrays grow by doubling, each step a copy into fresh
 * memory.  Only on an empty builder; failing is not an error (the arrays
 * then grow as before). */
static void
builder_reserve(struct bw_index_builder *b, size_t n, size_t bytes)
{
	struct ind *inds;
	int64_t *sids;
	char *arena;

	if (b->ninds != 0 || b->inds != NULL || b->store_ids != NULL || b->arena != NULL ||
	    n == 0 || n > BW_INDEX_INDICATORS_MAX || bytes > BW_INDEX_STRINGS_MAX)
		return;
	inds = bw_malloc(n * sizeof(*inds));
	sids = bw_malloc(n * sizeof(*sids));
	arena = bw_malloc(bytes);
	if (inds == NULL || sids == NULL || arena == NULL) {
		bw_free(inds);
		bw_free(sids);
		bw_free(arena);
		return;
	}
	advise_huge(arena, bytes);
	b->inds = inds;
	b->store_ids = sids;
	b->arena = arena;
	b->inds_cap = b->sids_cap = n;
	b->arena_cap = bytes;
}

/* Appends u32s v[0, n), each plus d, to *dst. */
static int
append_ids(uint32_t **dst, size_t *len, size_t *cap, const uint32_t *v, size_t n,
	   uint32_t d)
{
	uint32_t *p;

	if (n == 0)
		return BW_OK; /* bw_grow gives NULL back for an empty list */
	p = bw_grow(*dst, cap, *len + n, sizeof(*p));
	if (p == NULL)
		return BW_ENOMEM;
	*dst = p;
	for (size_t i = 0; i < n; i++)
		p[(*len)++] = v[i] + d;
	return BW_OK;
}

/* Merges the n sorted prefixes of x, their ids raised by shift, into the
 * na sorted ones at the front of v (room for na + n), from the back: the
 * two halves of a split join each sort their own on their own thread
 * (builder_sort_prefixes), so that the sort of a large address list, the
 * longest step of finishing it, runs on both.  x's ids, raised, are all
 * above v's, so an equal prefix from v goes first, as in one sort of the
 * whole. */
static void
merge_prefixes(int family, struct bw_lpm_prefix *v, size_t na,
	       const struct bw_lpm_prefix *x, size_t n, uint32_t shift)
{
	size_t k = na + n;

	while (n > 0) {
		struct bw_lpm_prefix e = x[n - 1];
		e.id += shift;
		if (na > 0 && bw_lpm_order(family, &v[na - 1], &e) > 0) {
			v[--k] = v[--na];
		} else {
			v[--k] = e;
			n--;
		}
	}
}

/* Puts b's prefixes in bw_lpm_sort order, so that builder_append merges
 * them instead of leaving all of them to one sort when b is finished. */
static void
builder_sort_prefixes(struct bw_index_builder *b)
{
	bw_lpm_sort(4, b->pfx[0], b->npfx[0]);
	bw_lpm_sort(6, b->pfx[1], b->npfx[1]);
	b->pfx_sorted = true;
}

/* Below this many IPv4 prefixes the table is built in finish. */
#define LPM_JOB_MIN 1024

/* Moves x's IPv4 prefixes, their ids raised by shift, behind b's and
 * starts a thread merging them and building the table (struct lpm_job);
 * if no thread can be started, merges them here. */
static int
start_lpm_job(struct bw_index_builder *b, struct bw_index_builder *x, uint32_t shift)
{
	size_t na = b->npfx[0], nx = x->npfx[0];
	struct bw_lpm_prefix *v;
	struct lpm_job *j;

	v = bw_grow(b->pfx[0], &b->pfx_cap[0], na + nx, sizeof(*v));
	if (v == NULL)
		return BW_ENOMEM;
	b->pfx[0] = v;
	j = bw_calloc(1, sizeof(*j));
	if (j == NULL)
		return BW_ENOMEM;
	j->v = v;
	j->x = x->pfx[0];
	j->na = na;
	j->nx = nx;
	j->shift = shift;
	x->pfx[0] = NULL;
	x->npfx[0] = x->pfx_cap[0] = 0;
	b->npfx[0] = na + nx;
	if (pthread_create(&j->thread, NULL, lpm_job_run, j) == 0) {
		b->job4 = j;
		return BW_OK;
	}
	merge_prefixes(4, v, na, j->x, nx, shift);
	bw_free(j->x);
	bw_free(j);
	return BW_OK;
}

/*
 * Appends what builder x added to b, as if b had added it itself after
 * its own: x's indicators take the numbers after b's (in the arena's
 * entry headers too), its values follow b's in the arena and its tag
 * sets are interned in b in x's order, which is the order b would have
 * met them in.  x's tag numbers must be b's (x interns no tags of its
 * own: it only joins records whose tags b numbered).  BW_ELIMIT when the
 * two together exceed a limit of the snapshot.
 */
static int
builder_append(struct bw_index_builder *b, struct bw_index_builder *x)
{
	size_t d = b->ninds, a = b->arena_len, n = x->ninds;
	uint32_t *setmap = NULL;
	void *p;
	int rc = BW_OK;

	b->stats.records += x->stats.records;
	b->stats.skipped += x->stats.skipped;
	b->stats.tags_dropped += x->stats.tags_dropped;
	if (x->changes < b->changes)
		b->changes = x->changes;
	if (n == 0)
		return BW_OK;
	if (d + n > BW_INDEX_INDICATORS_MAX || a + x->arena_len > BW_INDEX_STRINGS_MAX)
		return BW_ELIMIT;
	/* the IPv4 prefixes first, so that their table is built while the
	 * rest is appended and finished */
	if (b->pfx_sorted && x->pfx_sorted && b->job4 == NULL && x->npfx[0] > 0 &&
	    b->npfx[0] + x->npfx[0] >= LPM_JOB_MIN &&
	    start_lpm_job(b, x, (uint32_t)d) != BW_OK)
		return BW_ENOMEM;
	setmap = bw_malloc(x->nsets * sizeof(*setmap));
	if (setmap == NULL)
		return BW_ENOMEM;
	for (size_t i = 0; i < x->nsets && rc == BW_OK; i++)
		rc = intern_set(b, x->setv + x->sets[i].first, x->sets[i].n, &setmap[i]);
	if (rc)
		goto out;
	rc = BW_ENOMEM;
	if ((p = bw_grow(b->inds, &b->inds_cap, d + n, sizeof(*b->inds))) == NULL)
		goto out;
	b->inds = p;
	if ((p = bw_grow(b->store_ids, &b->sids_cap, d + n, sizeof(*b->store_ids))) == NULL)
		goto out;
	b->store_ids = p;
	if ((x->until != NULL || b->until != NULL) && until_room(b, d + n) != BW_OK)
		goto out;
	if ((p = bw_grow(b->arena, &b->arena_cap, a + x->arena_len, 1)) == NULL)
		goto out;
	if (p != b->arena)
		advise_huge(p, b->arena_cap);
	b->arena = p;
	if (append_ids(&b->doms, &b->ndoms, &b->doms_cap, x->doms, x->ndoms, (uint32_t)d) ||
	    append_ids(&b->exacts, &b->nexacts, &b->exacts_cap, x->exacts, x->nexacts,
		       (uint32_t)d))
		goto out;
	for (int f = 0; f < 2; f++) {
		struct bw_lpm_prefix *v;
		if (x->npfx[f] == 0)
			continue;
		v = bw_grow(b->pfx[f], &b->pfx_cap[f], b->npfx[f] + x->npfx[f], sizeof(*v));
		if (v == NULL)
			goto out;
		b->pfx[f] = v;
		if (b->pfx_sorted && x->pfx_sorted) {
			merge_prefixes(f == 0 ? 4 : 6, v, b->npfx[f], x->pfx[f], x->npfx[f],
				       (uint32_t)d);
			b->npfx[f] += x->npfx[f];
			continue;
		}
		for (size_t i = 0; i < x->npfx[f]; i++) {
			v[b->npfx[f]] = x->pfx[f][i];
			v[b->npfx[f]++].id += (uint32_t)d;
		}
	}
	b->pfx_sorted = b->pfx_sorted && x->pfx_sorted;
	memcpy(b->arena + a, x->arena, x->arena_len);
	for (size_t i = 0; i < n; i++) {
		struct ind e = x->inds[i];
		uint32_t id = (uint32_t)(d + i);
		e.off += (uint32_t)a;
		e.tagset = setmap[e.tagset];
		b->inds[id] = e;
		memcpy(b->arena + e.off - ENTRY_HDR, &id, ENTRY_HDR);
	}
	memcpy(b->store_ids + d, x->store_ids, n * sizeof(*b->store_ids));
	for (size_t i = 0; b->until != NULL && i < n; i++)
		b->until[d + i] = x->until != NULL ? x->until[i] : INT64_MAX;
	b->ninds += n;
	b->arena_len += x->arena_len;
	rc = BW_OK;
out:
	bw_free(setmap);
	return rc;
}

int
bw_index_builder_finish(struct bw_index_builder *b, struct bw_index **out,
			struct bw_err *err)
{
	struct bw_index *ix;
	struct bw_index_stats *s;
	struct dup_pairs dups4 = {NULL, 0, 0}, dups6 = {NULL, 0, 0};
	int rc;

	*out = NULL;
	ix = bw_calloc(1, sizeof(*ix));
	if (ix == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	/* arrays grew by doubling: give the slack back */
	if (b->ninds > 0 && b->ninds < b->inds_cap) {
		void *p = bw_realloc(b->inds, b->ninds * sizeof(*b->inds));
		if (p != NULL) {
			b->inds = p;
			b->inds_cap = b->ninds;
		}
	}
	if (b->ninds > 0 && b->ninds < b->sids_cap) {
		void *p = bw_realloc(b->store_ids, b->ninds * sizeof(*b->store_ids));
		if (p != NULL) {
			b->store_ids = p;
			b->sids_cap = b->ninds;
		}
	}
	if (b->arena_len > 0 && b->arena_len < b->arena_cap) {
		void *p = bw_realloc(b->arena, b->arena_len);
		if (p != NULL) {
			b->arena = p;
			b->arena_cap = b->arena_len;
		}
	}
	ix->seed = b->seed;
	ix->inds = b->inds;
	ix->store_ids = b->store_ids;
	ix->ninds = b->ninds;
	ix->arena = b->arena;
	ix->arena_len = b->arena_len;
	b->inds = NULL;
	b->store_ids = NULL;
	b->arena = NULL;
	if (b->until != NULL) {
		ix->until = bw_realloc(b->until, b->ninds * sizeof(*b->until));
		if (ix->until == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		b->until = NULL;
	}
	if (ix->inds == NULL) {
		/* an empty snapshot still has one record slot to point at */
		ix->inds = bw_calloc(1, sizeof(*ix->inds));
		ix->store_ids = bw_calloc(1, sizeof(*ix->store_ids));
		if (ix->inds == NULL || ix->store_ids == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
	}

	if ((rc = fill_table(b, ix, &ix->dom, b->doms, b->ndoms)) ||
	    (rc = fill_table(b, ix, &ix->exact, b->exacts, b->nexacts))) {
		bw_err_set(err, rc, "out of memory building the index");
		goto fail;
	}
	/* IPv6 while the IPv4 job, if there is one, runs; the duplicates are
	 * folded afterwards, IPv4's first as one thread would */
	rc = build_lpm(6, b->pfx[1], b->npfx[1], b->pfx_sorted, &dups6, &ix->lpm[1], err);
	if (b->job4 != NULL) {
		int jrc = lpm_job_join(b, &ix->lpm[0], &dups4, rc == BW_OK ? err : NULL);
		if (rc == BW_OK)
			rc = jrc;
	} else if (rc == BW_OK) {
		rc = build_lpm(4, b->pfx[0], b->npfx[0], b->pfx_sorted, &dups4, &ix->lpm[0],
			       err);
	}
	if (rc)
		goto fail;
	if ((rc = merge_dups(b, ix, &dups4)) || (rc = merge_dups(b, ix, &dups6))) {
		bw_err_set(err, rc, "out of memory");
		goto fail;
	}
	ix->changes = b->changes; /* merges above may have moved it */
	rc = fill_tags(b, ix);
	if (rc) {
		bw_err_set(err, rc, "out of memory building the index");
		goto fail;
	}

	s = &ix->stats;
	*s = b->stats;
	for (size_t i = 0; i < ix->ninds; i++) {
		if (ix->inds[i].type == 0)
			continue;
		s->indicators++;
		s->by_type[ix->inds[i].type]++;
		s->string_bytes += ix->inds[i].len;
	}
	s->tags = b->ntags;
	s->tagsets = b->nsets;
	s->record_bytes = ix->ninds * (sizeof(struct ind) + sizeof(int64_t)) +
			  (ix->until ? ix->ninds * sizeof(*ix->until) : 0) +
			  (ix->arena_len - s->string_bytes);
	s->domain_bytes = table_bytes(&ix->dom);
	s->exact_bytes = table_bytes(&ix->exact);
	s->ipv4_bytes = bw_lpm_bytes(ix->lpm[0]);
	s->ipv6_bytes = bw_lpm_bytes(ix->lpm[1]);
	s->tag_bytes = b->tagstr_len + ix->ntagv * sizeof(struct bw_tag) +
		       ix->ntagsets * sizeof(struct tagset);
	s->bytes = sizeof(*ix) + s->string_bytes + s->record_bytes +
		   s->domain_bytes + s->exact_bytes + s->ipv4_bytes +
		   s->ipv6_bytes + s->tag_bytes;

	/* leave the builder empty */
	bw_free(b->doms);
	bw_free(b->exacts);
	bw_free(b->pfx[0]);
	bw_free(b->pfx[1]);
	b->doms = b->exacts = NULL;
	b->pfx[0] = b->pfx[1] = NULL;
	b->ndoms = b->nexacts = b->npfx[0] = b->npfx[1] = 0;
	b->doms_cap = b->exacts_cap = b->pfx_cap[0] = b->pfx_cap[1] = 0;
	b->ninds = b->inds_cap = b->sids_cap = 0;
	b->arena_len = b->arena_cap = 0;
	bw_free(dups4.v);
	bw_free(dups6.v);
	*out = ix;
	return BW_OK;
fail:
	bw_free(dups4.v);
	bw_free(dups6.v);
	bw_index_free(ix);
	return rc;
}

/* ---- the store -------------------------------------------------------- */

struct tagmap {
	int64_t store_id;
	uint32_t num;
};

static int
cmp_tagmap(const void *a, const void *b)
{
	const struct tagmap *x = a, *y = b;

	return x->store_id < y->store_id ? -1 : x->store_id > y->store_id;
}

static int
db_fail(sqlite3 *db, struct bw_err *err, const char *what)
{
	return bw_err_set(err, BW_ESTORE, "%s: %s", what, sqlite3_errmsg(db));
}

/* The store's identity and the generation of its active indicator set
 * (schema 8, src/store/store.c): the counter its triggers bump, and the
 * newest record id (a new record bumps no counter). */
static int
store_generation(sqlite3 *db, uint64_t *ident, int64_t *gen, int64_t *maxrec,
		 struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT ident, gen, (SELECT coalesce(max(id), 0) FROM record)"
			       " FROM index_gen WHERE id = 1",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "reading the index generation");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ident = (uint64_t)sqlite3_column_int64(s, 0);
		*gen = sqlite3_column_int64(s, 1);
		*maxrec = sqlite3_column_int64(s, 2);
		rc = BW_OK;
	} else {
		rc = rc == SQLITE_DONE ? bw_err_set(err, BW_ESTORE, "index generation missing")
				       : db_fail(db, err, "reading the index generation");
	}
	sqlite3_finalize(s);
	return rc;
}

/* Interns every tag of the store; map gets (store id, tag number) by id. */
static int
load_tags(sqlite3 *db, struct bw_index_builder *b, struct tagmap **map,
	  size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc;

	*map = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT id, kind, name FROM tag ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "reading tags");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(s, 1);
		const char *name = (const char *)sqlite3_column_text(s, 2);
		struct tagmap *p;
		if (*n == cap) {
			p = bw_grow(*map, &cap, *n + 1, sizeof(*p));
			if (p == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			*map = p;
		}
		(*map)[*n].store_id = sqlite3_column_int64(s, 0);
		rc = intern_tag(b, kind ? kind : "", name ? name : "", &(*map)[*n].num);
		if (rc) {
			bw_err_set(err, rc, "cannot keep tag \"%s\"", name ? name : "");
			goto out;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, err, "reading tags");
		goto out;
	}
	rc = BW_OK;
	if (*n > 1)
		qsort(*map, *n, sizeof(**map), cmp_tagmap);
out:
	sqlite3_finalize(s);
	return rc;
}

/* One active record, as read from the store: its indicator, its own id
 * (needed only to merge its tags in) and then its valid_until, its tag
 * numbers (tagv[tfirst .. tfirst + tn)) and its confidence (NO_CONF when
 * it states none, or none in 0-100).  24 bytes: a store of ten million
 * records holds them all while it is read. */
struct arec {
	int64_t ind;
	union {
		int64_t rec;     /* while the tags are merged (record id order) */
		int64_t until;   /* then (load_indicators): INT64_MAX for none */
	} k;
	uint32_t tfirst;
	uint16_t tn;
	int16_t conf;
};

#define NO_CONF INT16_MIN

static int
cmp_arec(const void *a, const void *b)
{
	const struct arec *x = a, *y = b;

	if (x->ind != y->ind)
		return x->ind < y->ind ? -1 : 1;
	/* sorted after the fold: records of one indicator in any order give
	 * the same indicator, this only keeps the order repeatable */
	return x->k.until < y->k.until ? -1 : x->k.until > y->k.until;
}

/*
 * A build reads the store on two connections when it is large enough:
 * SQLite scans the records at about 190 ns a row and the indicators at
 * about 110, and joining them (a value parsed and added per indicator) is
 * another 90 ns, so with one thread a million prefixes took 0.28 s before
 * the tables were built.  The second thread reads the indicator table and
 * the last fifth of the records (the costs above balance there) on a
 * connection of its own while the build's thread reads the rest of the
 * records; the records are then joined with the indicators in two halves,
 * by indicator, into two builders, and the second builder is appended to
 * the first (builder_append) in the order one thread would have added
 * them, so the snapshot is the same as a one-thread build's, number for
 * number.  The second connection must read the same state of the store as
 * the first: it reads the store's generation in its own transaction and,
 * if that differs from what the first read (a writer got in between), its
 * rows are not used and the build reads what it would have read itself.
 * So does it when anything else fails here: the second thread only ever
 * saves time.
 */
#define PARALLEL_MIN_RECORDS 20000

/* The records a reader collects: in record id order as read. */
struct arecs {
	struct arec *v;
	int64_t *vu;              /* their valid_until (INT64_MAX for none),
				     once one has one: NULL until then */
	size_t n, cap, vucap;
	int64_t expires;          /* the earliest valid_until among them */
};

static int
vu_room(struct arecs *out, size_t want)
{
	return ends_room(&out->vu, &out->vucap, want, out->n);
}

/* Room for n records before the first is read: grown by doubling, a
 * million records were copied twice over.  Failing is not an error (the
 * array then grows). */
static void
arecs_reserve(struct arecs *out, size_t n)
{
	if (out->v != NULL || n == 0 || n > SIZE_MAX / sizeof(*out->v))
		return;
	out->v = bw_malloc(n * sizeof(*out->v));
	if (out->v == NULL)
		return;
	out->cap = n;
}

/* Appends the records of src (read after dst's) to dst. */
static int
arecs_append(struct arecs *dst, const struct arecs *src)
{
	struct arec *a;

	if (src->n == 0)
		return BW_OK;
	a = bw_grow(dst->v, &dst->cap, dst->n + src->n, sizeof(*a));
	if (a == NULL)
		return BW_ENOMEM;
	dst->v = a;
	if ((src->vu != NULL || dst->vu != NULL) && vu_room(dst, dst->n + src->n) != BW_OK)
		return BW_ENOMEM;
	memcpy(a + dst->n, src->v, src->n * sizeof(*a));
	for (size_t i = 0; dst->vu != NULL && i < src->n; i++)
		dst->vu[dst->n + i] = src->vu != NULL ? src->vu[i] : INT64_MAX;
	dst->n += src->n;
	if (src->expires < dst->expires)
		dst->expires = src->expires;
	return BW_OK;
}

struct indreader {
	pthread_t thread;
	const char *path;        /* the store's file (the store owns it) */
	uint64_t ident;          /* the store state the build's thread reads */
	int64_t gen, maxrec, now;
	int64_t rec_from;        /* reads records with ids above this */
	char *rows;              /* the indicator table, packed, bw_malloc'd */
	size_t len, cap;
	struct arecs recs;
	bool ok;                 /* rows and recs hold all of it, same state */
};

#define ROW_HDR (sizeof(int64_t) + 1 + sizeof(uint16_t))

/* Appends the active records with ids in (from, to] to out: the statement
 * of the store's own connection or of the reader's. */
static int
read_records(sqlite3 *db, int64_t now, int64_t from, int64_t to, size_t room,
	     struct arecs *out, struct bw_err *err)
{
	/* none is -1 and INT64_MAX (never ends) in SQL, not NULL: one
	 * column call each instead of asking the type first */
	static const char rec_sql[] =
		"SELECT id, indicator_id, coalesce(confidence, -1),"
		" coalesce(valid_until, 9223372036854775807) FROM record"
		" WHERE id > ?2 AND id <= ?3 AND revoked = 0 AND expired = 0"
		" AND (valid_until IS NULL OR valid_until >= ?1) ORDER BY id";
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, rec_sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "reading records");
	arecs_reserve(out, room);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct arec *a;
		int64_t vu = sqlite3_column_int64(s, 3);
		int c = sqlite3_column_int(s, 2);

		if (out->n == out->cap) {
			a = bw_grow(out->v, &out->cap, out->n + 1, sizeof(*a));
			if (a == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			out->v = a;
		}
		if (out->vu != NULL || vu != INT64_MAX) {
			if (vu_room(out, out->n + 1) != BW_OK) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			out->vu[out->n] = vu;
			if (vu < out->expires)
				out->expires = vu;
		}
		a = &out->v[out->n];
		a->k.rec = sqlite3_column_int64(s, 0);
		a->ind = sqlite3_column_int64(s, 1);
		a->conf = c >= 0 && c <= 100 ? (int16_t)c : NO_CONF;
		a->tfirst = a->tn = 0;
		out->n++;
	}
	rc = rc == SQLITE_DONE ? BW_OK : db_fail(db, err, "reading records");
out:
	sqlite3_finalize(s);
	return rc;
}

static void *
indreader_run(void *arg)
{
	struct indreader *rd = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct bw_err e;
	uint64_t ident = 0;
	int64_t gen = 0, maxrec = 0;
	int rc;

	if (sqlite3_open_v2(rd->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    store_generation(db, &ident, &gen, &maxrec, &e) != BW_OK ||
	    ident != rd->ident || gen != rd->gen || maxrec != rd->maxrec ||
	    sqlite3_prepare_v2(db, "SELECT id, type, value FROM indicator ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int t = sqlite3_column_int(s, 1);
		const char *v = (const char *)sqlite3_column_text(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);
		uint8_t type = (uint8_t)t;
		uint16_t n16;
		char *p;

		/* what the merge skips (no value, too long, no such type) is
		 * kept as type 0 (BW_IOC_ANY, never stored): skipped the same */
		if (v == NULL || n > BW_IOC_VALUE_MAX || t <= BW_IOC_ANY || t >= BW_IOC_NTYPES)
			n = 0, type = 0;
		if (rd->len + ROW_HDR + n > rd->cap) {
			p = bw_grow(rd->rows, &rd->cap, rd->len + ROW_HDR + n, 1);
			if (p == NULL)
				goto out;
			rd->rows = p;
		}
		p = rd->rows + rd->len;
		n16 = (uint16_t)n;
		memcpy(p, &id, sizeof(id));
		p[sizeof(id)] = (char)type;
		memcpy(p + sizeof(id) + 1, &n16, sizeof(n16));
		memcpy(p + ROW_HDR, v, n);
		rd->len += ROW_HDR + n;
	}
	rd->ok = rc == SQLITE_DONE &&
		 read_records(db, rd->now, rd->rec_from, rd->maxrec,
				      (size_t)(rd->maxrec - rd->rec_from), &rd->recs, &e) == BW_OK;
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return NULL;
}

/* Starts the reader when it can help: a store on a file, enough records
 * to be worth a thread and a connection, and a second CPU to run on.
 * false: the build reads everything itself. */
static bool
indreader_start(struct indreader *rd, sqlite3 *db, uint64_t ident, int64_t gen,
		int64_t maxrec, int64_t now)
{
	cpu_set_t cpus;
	const char *path = sqlite3_db_filename(db, "main");

	memset(rd, 0, sizeof(*rd));
	rd->recs.expires = INT64_MAX;
	rd->rec_from = INT64_MAX;
	if (maxrec < PARALLEL_MIN_RECORDS || path == NULL || path[0] == '\0' ||
	    sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || CPU_COUNT(&cpus) < 2)
		return false;
	rd->path = path;
	rd->ident = ident;
	rd->gen = gen;
	rd->maxrec = maxrec;
	rd->now = now;
	rd->rec_from = maxrec - maxrec / 5;
	if (pthread_create(&rd->thread, NULL, indreader_run, rd) == 0)
		return true;
	rd->rec_from = INT64_MAX;
	return false;
}

/* The next indicator row: from the reader's rows when it read them, else
 * from the statement.  SQLITE_ROW, SQLITE_DONE or an SQLite error. */
struct indsrc {
	sqlite3_stmt *s;
	const struct indreader *rd;
	size_t off;
};

static int
indsrc_next(struct indsrc *q, int64_t *id, int *type, const char **v, size_t *len)
{
	uint16_t n16;
	const char *p;
	int rc;

	if (q->s != NULL) {
		rc = sqlite3_step(q->s);
		if (rc != SQLITE_ROW)
			return rc;
		*id = sqlite3_column_int64(q->s, 0);
		*type = sqlite3_column_int(q->s, 1);
		*v = (const char *)sqlite3_column_text(q->s, 2);
		*len = (size_t)sqlite3_column_bytes(q->s, 2);
		return SQLITE_ROW;
	}
	if (q->off >= q->rd->len)
		return SQLITE_DONE;
	p = q->rd->rows + q->off;
	memcpy(id, p, sizeof(*id));
	*type = (unsigned char)p[sizeof(*id)];
	memcpy(&n16, p + sizeof(*id) + 1, sizeof(n16));
	*v = p + ROW_HDR;
	*len = n16;
	if (*type == 0) /* a value the reader could not keep */
		*v = NULL;
	q->off += ROW_HDR + n16;
	return SQLITE_ROW;
}

/*
 * Puts the records in indicator order.  They come in record id order,
 * which is indicator order except for records added later to indicators
 * that already existed (a second source, a feed ingested again): usually
 * a few out of place among millions.  Those are taken out, sorted alone
 * and merged back from the end, so one late record does not cost a sort
 * of the whole store (a tenth of the build of a million).  The records
 * kept in place are in (indicator, record) order: their indicators never
 * decrease and records come in id order.
 */
static int
sort_arecs(struct arec *r, size_t nr)
{
	struct arec *late;
	size_t nlate = 0, nkeep = 0, i, j, k;
	int64_t top = INT64_MIN;

	for (i = 0; i < nr; i++) {
		if (r[i].ind < top)
			nlate++;
		else
			top = r[i].ind;
	}
	if (nlate == 0)
		return BW_OK;
	if (nlate > nr / 8) {
		qsort(r, nr, sizeof(*r), cmp_arec);
		return BW_OK;
	}
	late = bw_malloc(nlate * sizeof(*late));
	if (late == NULL)
		return BW_ENOMEM;
	top = INT64_MIN;
	for (i = 0, j = 0; i < nr; i++) {
		if (r[i].ind < top) {
			late[j++] = r[i];
		} else {
			top = r[i].ind;
			r[nkeep++] = r[i];
		}
	}
	qsort(late, nlate, sizeof(*late), cmp_arec);
	for (i = nkeep, j = nlate, k = nr; j > 0;) {
		if (i > 0 && cmp_arec(&r[i - 1], &late[j - 1]) > 0)
			r[--k] = r[--i];
		else
			r[--k] = late[--j];
	}
	bw_free(late);
	return BW_OK;
}



/* Indicators among records in indicator order. */
static size_t
count_indicators(const struct arec *r, size_t nr)
{
	size_t n = nr > 0;

	for (size_t j = 1; j < nr; j++)
		n += r[j].ind != r[j - 1].ind;
	return n;
}

/* Joins the records r[0, nr), in indicator order with their tags in
 * tagv, with the indicator rows of q: each indicator with at least one
 * record goes into b with the highest confidence and the union of the
 * tags of its records.  Rows before the first record's indicator are
 * passed over. */
static int
merge_records(struct bw_index_builder *b, const struct arec *r, size_t nr,
	      const uint32_t *tagv, struct indsrc *q, struct bw_err *err)
{
	size_t j = 0;
	int rc = SQLITE_DONE;

	while (j < nr) {
		int64_t id;
		const char *v;
		size_t len, ntags = 0;
		int type, conf = -1;
		int64_t until = INT64_MIN, first_end = INT64_MAX;

		rc = indsrc_next(q, &id, &type, &v, &len);
		if (rc != SQLITE_ROW)
			break;

		while (j < nr && r[j].ind < id)
			j++; /* a record of a missing indicator */
		if (j == nr || r[j].ind != id)
			continue;
		for (; j < nr && r[j].ind == id; j++) {
			size_t k = r[j].tn;
			b->stats.records++;
			if (r[j].k.until > until)
				until = r[j].k.until;
			if (r[j].k.until < first_end)
				first_end = r[j].k.until;
			if (r[j].conf != NO_CONF && r[j].conf > conf)
				conf = r[j].conf;
			if (k > STORE_TAGS_MAX - ntags)
				k = STORE_TAGS_MAX - ntags;
			if (k == 0)
				continue;
			rc = scratch_room(b, ntags + k);
			if (rc)
				return bw_err_set(err, rc, "out of memory");
			memcpy(b->scratch + ntags, tagv + r[j].tfirst, k * sizeof(*tagv));
			ntags += k;
		}
		/* it lapses with its last record; one that ends before then
		 * changes its tags or confidence (the snapshot's "changes") */
		if (first_end < until && first_end < b->changes)
			b->changes = first_end;
		if (v == NULL || len > BW_IOC_VALUE_MAX) {
			b->stats.skipped++; /* not canonical */
			continue;
		}
		rc = add_internal(b, (enum bw_ioc_type)type, v, len, id, conf, until,
				  b->scratch, ntags);
		if (rc == BW_EINVAL)
			b->stats.skipped++;
		else if (rc == BW_ELIMIT)
			return limit_error(err);
		else if (rc)
			return bw_err_set(err, rc, "out of memory building the index");
	}
	/* the rows of the reader end in SQLITE_DONE; a statement may fail */
	if (j < nr && rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(q->s), err, "reading indicators");
	return BW_OK;
}

/* The second half of the join, on a thread of its own into a builder of
 * its own. */
struct half {
	pthread_t thread;
	struct bw_index_builder *b;
	const struct arec *r;
	size_t nr;
	const uint32_t *tagv;
	struct indsrc q;
	int rc;
	struct bw_err err;
};

static void *
half_run(void *arg)
{
	struct half *h = arg;

	h->rc = merge_records(h->b, h->r, h->nr, h->tagv, &h->q, &h->err);
	if (h->rc == BW_OK)
		builder_sort_prefixes(h->b);
	return NULL;
}

/*
 * Reads the active records, their tags and the indicators as sequential
 * table scans and joins them here: a nested-loop join in SQLite costs
 * three B-tree searches per row (1.3 us a row measured, more than the
 * whole rest of the build), a table scan a few dozen nanoseconds.  Records
 * come in record id order (the reader's share after this thread's) and
 * record_tag rows in (record id, tag) order, so the tags merge in one
 * pass; the records are then put in indicator order (normally they
 * already are: a store adds an indicator and its first record together)
 * and joined with the indicators, which come in id order.
 */
static int
load_indicators(sqlite3 *db, int64_t now, struct bw_index_builder *b,
		const struct tagmap *map, size_t nmap, struct indreader *rd,
		int64_t *expires, unsigned *joiners, struct bw_err *err)
{
	static const char tag_sql[] =
		"SELECT record_id, tag_id FROM record_tag ORDER BY record_id, tag_id";
	static const char ind_sql[] = "SELECT id, type, value FROM indicator ORDER BY id";
	sqlite3_stmt *s = NULL;
	struct indsrc q = {NULL, NULL, 0};
	struct arecs recs = {NULL, NULL, 0, 0, 0, INT64_MAX};
	struct half h;
	struct arec *r;
	uint32_t *tagv = NULL;
	size_t nr, ntagv = 0, tagcap = 0, j, cut = 0;
	bool split = false;
	int rc;

	memset(&h, 0, sizeof(h));
	/* 1: the active records, this thread's share, then the reader's */
	rc = read_records(db, now, 0, rd != NULL ? rd->rec_from : INT64_MAX,
			  rd != NULL ? (size_t)rd->maxrec : 0, &recs, err);
	if (rd != NULL) {
		pthread_join(rd->thread, NULL);
		if (rc == BW_OK && rd->ok) {
			if (arecs_append(&recs, &rd->recs) == BW_OK)
				q.rd = rd;
			else
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		} else if (rc == BW_OK) {
			rc = read_records(db, now, rd->rec_from, INT64_MAX, 0, &recs, err);
		}
		bw_free(rd->recs.v);
		bw_free(rd->recs.vu);
		rd->recs.v = NULL;
		rd->recs.vu = NULL;
	}
	if (rc)
		goto out;
	if (recs.expires < *expires)
		*expires = recs.expires;
	r = recs.v;
	nr = recs.n;

	/* 2: their tags, merged by record id */
	if (nmap > 0 && nr > 0) {
		if (sqlite3_prepare_v2(db, tag_sql, -1, &s, NULL) != SQLITE_OK) {
			rc = db_fail(db, err, "reading record tags");
			goto out;
		}
		j = 0;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			int64_t rid = sqlite3_column_int64(s, 0);
			struct tagmap key = {sqlite3_column_int64(s, 1), 0};
			const struct tagmap *m;
			while (j < nr && r[j].k.rec < rid)
				j++;
			if (j == nr)
				break;
			if (r[j].k.rec != rid || r[j].tn >= STORE_TAGS_MAX)
				continue;
			m = bsearch(&key, map, nmap, sizeof(*map), cmp_tagmap);
			if (m == NULL)
				continue;
			if (ntagv == tagcap) {
				uint32_t *t = bw_grow(tagv, &tagcap, ntagv + 1, sizeof(*t));
				if (t == NULL) {
					rc = bw_err_set(err, BW_ENOMEM, "out of memory");
					goto out;
				}
				tagv = t;
			}
			if (r[j].tn == 0)
				r[j].tfirst = (uint32_t)ntagv;
			tagv[ntagv++] = m->num;
			r[j].tn++;
		}
		if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			rc = db_fail(db, err, "reading record tags");
			goto out;
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	/* the record ids have done their work: each record's slot takes its
	 * end of validity (kept apart until now, and only if one has one) */
	for (j = 0; j < nr; j++)
		r[j].k.until = recs.vu != NULL ? recs.vu[j] : INT64_MAX;
	bw_free(recs.vu);
	recs.vu = NULL;
	if (sort_arecs(r, nr) != BW_OK) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}

	/* 3: the indicators with at least one active record; with the
	 * reader's rows, the second half of them on a second thread, cut
	 * between two indicators */
	if (q.rd == NULL) {
		if (sqlite3_prepare_v2(db, ind_sql, -1, &s, NULL) != SQLITE_OK) {
			rc = db_fail(db, err, "reading indicators");
			goto out;
		}
		q.s = s;
	} else if (nr >= PARALLEL_MIN_RECORDS) {
		for (cut = nr / 2; cut < nr && r[cut].ind == r[cut - 1].ind; cut++)
			;
		split = cut < nr && bw_index_builder_new(b->now, &h.b, &h.err) == BW_OK;
	}
	/* room for the indicators to come and values of about 24 bytes */
	j = count_indicators(r, nr);
	builder_reserve(b, j, j * (ENTRY_HDR + 1 + 24));
	if (split) {
		j = count_indicators(r + cut, nr - cut);
		builder_reserve(h.b, j, j * (ENTRY_HDR + 1 + 24));
		h.r = r + cut;
		h.nr = nr - cut;
		h.tagv = tagv;
		h.q = q;
		split = pthread_create(&h.thread, NULL, half_run, &h) == 0;
	}
	*joiners = split ? 2 : 1;
	rc = merge_records(b, r, split ? cut : nr, tagv, &q, err);
	if (split && rc == BW_OK)
		builder_sort_prefixes(b);
	if (split) {
		pthread_join(h.thread, NULL);
		if (rc == BW_OK && h.rc != BW_OK) {
			rc = h.rc;
			*err = h.err;
		}
		if (rc == BW_OK && (rc = builder_append(b, h.b)) != BW_OK)
			rc = rc == BW_ELIMIT ? limit_error(err)
					     : bw_err_set(err, rc, "out of memory building the index");
	}
out:
	bw_index_builder_free(h.b);
	sqlite3_finalize(s);
	bw_free(recs.v);
	bw_free(recs.vu);
	bw_free(tagv);
	return rc;
}

int
bw_index_build(struct bw_store *st, int64_t now, struct bw_index **out,
	       struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_index_builder *b = NULL;
	struct tagmap *map = NULL;
	size_t nmap = 0;
	struct indreader rd;
	bool reader = false;
	uint64_t ident = 0;
	int64_t gen = 0, maxrec = 0, expires = INT64_MAX;
	unsigned joiners = 1;
	int rc;

	*out = NULL;
	memset(&rd, 0, sizeof(rd));
	if (sqlite3_exec(db, "SAVEPOINT bw_index_build", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "starting to read the store");
	rc = bw_index_builder_new(now, &b, err);
	if (rc)
		goto out;
	if ((rc = store_generation(db, &ident, &gen, &maxrec, err)))
		goto out;
	reader = indreader_start(&rd, db, ident, gen, maxrec, now);
	rc = load_tags(db, b, &map, &nmap, err);
	if (rc == BW_OK) /* joins the reader on every path */
		rc = load_indicators(db, now, b, map, nmap, reader ? &rd : NULL,
				     &expires, &joiners, err);
	else if (reader)
		pthread_join(rd.thread, NULL);
	bw_free(rd.rows);
	bw_free(rd.recs.v);
	bw_free(rd.recs.vu);
	if (rc)
		goto out;
	/* the store is read: let writers go before the tables are built */
	sqlite3_exec(db, "RELEASE bw_index_build", NULL, NULL, NULL);
	rc = bw_index_builder_finish(b, out, err);
	if (rc == BW_OK) {
		(*out)->stats.store_readers = reader && rd.ok ? 2 : 1;
		(*out)->stats.join_threads = joiners;
		(*out)->store_ident = ident;
		(*out)->store_gen = gen;
		(*out)->store_maxrec = maxrec;
		(*out)->expires = expires;
	}
	bw_index_builder_free(b);
	bw_free(map);
	return rc;
out:
	sqlite3_exec(db, "ROLLBACK TO bw_index_build; RELEASE bw_index_build",
		     NULL, NULL, NULL);
	bw_index_builder_free(b);
	bw_free(map);
	return rc;
}

/* ---- look-ups: names -------------------------------------------------- */

/* The canonical form of a query name in buf, with its label starts;
 * returns the number of labels, 0 when the name can match nothing.  ASCII
 * names are only lower-cased (one trailing dot dropped); names with
 * non-ASCII bytes go through IDNA. */
static int
prepare_name(const char *s, size_t len, char *buf, uint8_t *starts)
{
	char idn[NAME_MAX_LEN + 1];
	size_t n = 0;
	bool other = false;
	int nl;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return 0;
	if (len <= NAME_MAX_LEN) {
		nl = scan_name(s, len, buf, starts);
		if (nl >= 0)
			return nl;
	} else {
		/* too long for ASCII, but Unicode may shrink */
		if (len > 4 * NAME_MAX_LEN)
			return 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = name_chars[(unsigned char)s[i]];
			if (c == 0)
				return 0;
			other |= c == 1;
		}
		if (!other)
			return 0;
	}
	if (bw_ioc_domain_normalise(s, len, idn, &n, NULL, NULL) != BW_OK ||
	    n == 0 || n > NAME_MAX_LEN)
		return 0;
	nl = scan_name(idn, n, buf, starts);
	return nl > 0 ? nl : 0;
}

/* One group of a batched name look-up: up to GROUP queries, their
 * canonical names and the probes of their suffixes. */
struct group {
	size_t first, m, np;              /* queries q[first .. first + m) */
	size_t pstart[GROUP + 1];         /* probes of query i: [pstart[i], pstart[i + 1]) */
	char bufs[GROUP][NAME_BUF];
	struct probe pr[GROUP_PROBES + NAME_MAX_LEN / 2 + 1];
};

/* Stage 1: normalise and hash the next queries, prefetching the home
 * bucket of every probe; returns the number of queries taken. */
static size_t
stage_hash(const struct bw_index *ix, const struct bw_index_name *q, size_t nq,
	   size_t first, struct group *g)
{
	const struct table *t = &ix->dom;
	uint8_t starts[NAME_MAX_LEN + 3];
	size_t m = 0, np = 0;

	while (first + m < nq && m < GROUP && np <= GROUP_PROBES) {
		const struct bw_index_name *x = &q[first + m];
		int nl = prepare_name(x->name, x->len, g->bufs[m], starts);
		size_t k = nl > 1 ? name_probes(ix->seed, g->bufs[m], starts, nl, g->pr + np) : 0;

		g->pstart[m] = np;
		for (size_t i = np; i < np + k; i++) {
			g->pr[i].bucket = (uint32_t)home_of(t, g->pr[i].h);
			__builtin_prefetch(&t->b[g->pr[i].bucket]);
		}
		np += k;
		m++;
	}
	g->pstart[m] = np;
	g->first = first;
	g->m = m;
	g->np = np;
	return m;
}

/* Stage 2: read the buckets; prefetch the entry a fingerprint names. */
static void
stage_buckets(const struct bw_index *ix, struct group *g)
{
	const struct table *t = &ix->dom;

	for (size_t p = 0; p < g->np; p++) {
		struct probe *r = &g->pr[p];
		const struct bucket *b = &t->b[r->bucket];
		r->mask = fp_mask(b, fp_of(r->h));
		r->walk = b->ovf && b->n == SLOTS;
		if (r->mask)
			__builtin_prefetch(ix->arena + b->ref[__builtin_ctz(r->mask) / 2]);
	}
}

/* Stage 3: verify, the most specific suffix first.  Returns false when
 * hits ran out of room before query *answered of the group. */
static bool
stage_verify(const struct bw_index *ix, struct bw_index_name *q,
	     const struct group *g, uint32_t *hits, size_t cap, size_t *used,
	     size_t *answered)
{
	const struct table *t = &ix->dom;

	for (size_t i = 0; i < g->m; i++) {
		struct bw_index_name *x = &q[g->first + i];
		size_t u = *used;

		if (cap - u < g->pstart[i + 1] - g->pstart[i]) {
			*answered = g->first + i;
			return false;
		}
		x->first = (uint32_t)u;
		for (size_t p = g->pstart[i + 1]; p > g->pstart[i]; p--) {
			const struct probe *r = &g->pr[p - 1];
			const struct bucket *b = &t->b[r->bucket];
			const char *s = g->bufs[i] + r->off;
			uint32_t ref = NO_REF;
			for (unsigned fm = r->mask; fm; fm &= fm - 1) {
				uint32_t c = b->ref[__builtin_ctz(fm) / 2];
				if (key_eq(ix, c, s, r->len)) {
					ref = c;
					break;
				}
			}
			if (ref == NO_REF && r->walk)
				ref = table_find(ix, t, r->h, s, r->len);
			if (ref != NO_REF && entry_id(ix, ref) != NO_ID)
				hits[u++] = entry_id(ix, ref);
		}
		x->n = (uint32_t)(u - x->first);
		*used = u;
	}
	return true;
}

/*
 * A software pipeline over groups of queries.  Step k hashes group k
 * (prefetching its buckets), reads the buckets of group k - 1 (prefetched
 * a whole hashing stage ago; prefetching the entries its fingerprints
 * name) and verifies group k - 2 (whose entries were prefetched a whole
 * hashing stage ago).  About 20 KB of stack.
 */
size_t
bw_index_lookup_domains(const struct bw_index *ix, struct bw_index_name *q,
			size_t nq, uint32_t *hits, size_t hits_cap)
{
	enum { EMPTY_SLOT, HASHED, READ };
	struct group g[3];
	int state[3] = {EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT};
	size_t next = 0, used = 0, answered = nq;

	for (size_t k = 0;; k++) {
		size_t hs = k % 3, rs = (k + 2) % 3, vs = (k + 1) % 3;

		if (next < nq) {
			next += stage_hash(ix, q, nq, next, &g[hs]);
			state[hs] = HASHED;
		}
		if (state[rs] == HASHED) {
			stage_buckets(ix, &g[rs]);
			state[rs] = READ;
		}
		if (state[vs] == READ) {
			if (!stage_verify(ix, q, &g[vs], hits, hits_cap, &used, &answered))
				return answered;
			state[vs] = EMPTY_SLOT;
		}
		if (next == nq && state[0] == EMPTY_SLOT && state[1] == EMPTY_SLOT &&
		    state[2] == EMPTY_SLOT)
			return nq;
	}
}

static size_t
emit_matches(const struct bw_index *ix, const uint32_t *ids, size_t n,
	     struct bw_index_match *out, size_t cap)
{
	for (size_t i = 0; i < n && i < cap; i++)
		bw_index_get(ix, ids[i], &out[i]);
	return n;
}

size_t
bw_index_lookup_domain(const struct bw_index *ix, const char *name, size_t len,
		       struct bw_index_match *out, size_t cap)
{
	uint32_t hits[BW_INDEX_MATCH_MAX];
	struct bw_index_name q = {name, len, 0, 0};

	bw_index_lookup_domains(ix, &q, 1, hits, BW_INDEX_MATCH_MAX);
	return emit_matches(ix, hits, q.n, out, cap);
}

/* ---- look-ups: addresses ---------------------------------------------- */

/*
 * The common case of an address log, a strict dotted quad (what
 * bw_ioc_parse_ipv4() accepts: four decimal octets 0-255 without leading
 * zeros), without a branch that depends on the octets' lengths: the dots
 * are found with one SSE2 compare of the 7-15 bytes (copied to a zeroed
 * 16-byte block, so nothing past the text is read), and each octet is
 * the dot product of its first three bytes with the weights of its length
 * (a byte past a short octet is a dot or a zero, weighted 0).  Random
 * octet lengths cost the scalar parser a mispredicted branch per octet,
 * which was a fifth of matching an address log.  Returns false for
 * anything else, including addresses it does not handle (the caller then
 * asks bw_ioc_parse_ipv4, which has the last word).
 */
/* The 7-15 bytes of a candidate dotted quad as two words (bytes past
 * the text zero), from loads inside the text (a copy to the stack and a
 * 16-byte load of it stalls on store forwarding for longer than the rest
 * of the parse). */
static inline void
quad_load(const char *s, size_t len, uint64_t *lo, uint64_t *hi)
{
	if (len >= 8) {
		*lo = load8(s);
		*hi = len > 8 ? load8(s + len - 8) >> (8 * (16 - len)) : 0;
	} else {
		*lo = *hi = 0;
		for (size_t j = len; j > 0; j--)
			*lo = *lo << 8 | (unsigned char)s[j - 1];
	}
}

static inline bool
parse_quad(const char *s, size_t len, uint8_t out[4])
{
	static const uint8_t w[4][3] = {{0, 0, 0}, {1, 0, 0}, {10, 1, 0}, {100, 10, 1}};
	unsigned dots, digits, live = (1u << len) - 1, d1, d2;
	u128 x;
	size_t st[4], ln[4];
	uint64_t lo, hi;

	quad_load(s, len, &lo, &hi);
	/* byte i of the text is bits 8i..8i+7 of x, on any byte order */
	x = (u128)hi << 64 | lo;
#if defined(__SSE2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		__m128i v = _mm_set_epi64x((long long)hi, (long long)lo);
		dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
		/* bytes >= 0x80 are negative here, so never digits */
		digits = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1))));
	}
#else
	dots = digits = 0;
	for (size_t i = 0; i < 16; i++) {
		unsigned c = (unsigned)(x >> (8 * i)) & 0xff;
		dots |= (unsigned)(c == '.') << i;
		digits |= (unsigned)(c >= '0' && c <= '9') << i;
	}
#endif
	dots &= live;
	d1 = dots & (dots - 1);
	d2 = d1 & (d1 - 1);
	/* exactly three dots, every other byte a digit */
	if ((digits & live) != (live & ~dots) || d2 == 0 || (d2 & (d2 - 1)) != 0)
		return false;
	st[0] = 0;
	st[1] = (size_t)__builtin_ctz(dots) + 1;
	dots &= dots - 1;
	st[2] = (size_t)__builtin_ctz(dots) + 1;
	dots &= dots - 1;
	st[3] = (size_t)__builtin_ctz(dots) + 1;
	ln[0] = st[1] - 1;
	ln[1] = st[2] - st[1] - 1;
	ln[2] = st[3] - st[2] - 1;
	ln[3] = len - st[3];
	for (int k = 0; k < 4; k++) {
		/* the octet's first three bytes, from registers (past its end:
		 * a dot or zero bits, weighted 0) */
		uint32_t t = (uint32_t)(x >> (8 * st[k]));
		unsigned c0 = t & 0xff, c1 = (t >> 8) & 0xff, c2 = (t >> 16) & 0xff, v;
		if (ln[k] - 1 > 2 || (ln[k] > 1 && c0 == '0'))
			return false;
		v = (c0 - '0') * w[ln[k]][0] + (c1 - '0') * w[ln[k]][1] + (c2 - '0') * w[ln[k]][2];
		if (v > 255)
			return false;
		out[k] = (uint8_t)v;
	}
	return true;
}

bool
bw_index_parse_quad_portable(const char *s, size_t len, uint8_t out[4])
{
	return parse_quad(s, len, out);
}

#ifdef HAVE_QUAD_SSSE3
/*
 * parse_quad() on a CPU with SSSE3 (all x86-64 CPUs since 2006; checked
 * at run time, the build targets plain x86-64), in a fixed number of
 * vector steps instead of a loop over the octets: the same checks on the
 * masks of dots, digits and zeros (every byte a digit or a dot; three
 * dots, none first, last or next to another; at most three digits in a
 * row; no octet of two or three digits starting with 0), then one shuffle
 * chosen by the four octet lengths (81 patterns) puts each octet's digits
 * right-aligned in a 32-bit lane, and two multiply-adds with the weights
 * (0, 100, 10, 1) give the four values, checked against 255 together.
 * About 10 ns an address against 19 for parse_quad() (bench/match's 10M
 * addresses, the parse alone), which was a fifth of matching an address
 * log on one core.  Accepts exactly what parse_quad() accepts, with the
 * same result (tests/unit/test_index.c compares both with
 * bw_ioc_parse_ipv4 on random strings; parse_quad() is what runs where
 * SSSE3 is missing).
 */
/* The shuffle of each combination of octet lengths (l0-1)*27 + (l1-1)*9 +
 * (l2-1)*3 + (l3-1): lane k gets 0x80 (zero) then octet k's digits at the
 * end. */
static const uint8_t quad_shuffle[81][16] __attribute__((aligned(16))) = {
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x06}, /* 1.1.1.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x06, 0x07}, /* 1.1.1.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x06, 0x07, 0x08}, /* 1.1.1.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07}, /* 1.1.2.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08}, /* 1.1.2.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09}, /* 1.1.2.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 1.1.3.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 1.1.3.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 1.1.3.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x80, 0x80, 0x07}, /* 1.2.1.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x80, 0x07, 0x08}, /* 1.2.1.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x07, 0x08, 0x09}, /* 1.2.1.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 1.2.2.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 1.2.2.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 1.2.2.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 1.2.3.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 1.2.3.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x02, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 1.2.3.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 1.3.1.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 1.3.1.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 1.3.1.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 1.3.2.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 1.3.2.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 1.3.2.3 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 1.3.3.1 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 1.3.3.2 */
	{0x80, 0x80, 0x80, 0x00, 0x80, 0x02, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 1.3.3.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x80, 0x80, 0x07}, /* 2.1.1.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x80, 0x07, 0x08}, /* 2.1.1.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x80, 0x05, 0x80, 0x07, 0x08, 0x09}, /* 2.1.1.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 2.1.2.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 2.1.2.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x80, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 2.1.2.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 2.1.3.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 2.1.3.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x03, 0x80, 0x05, 0x06, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 2.1.3.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 2.2.1.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 2.2.1.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 2.2.1.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 2.2.2.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 2.2.2.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 2.2.2.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 2.2.3.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 2.2.3.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x03, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 2.2.3.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 2.3.1.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 2.3.1.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 2.3.1.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 2.3.2.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 2.3.2.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 2.3.2.3 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x80, 0x80, 0x0b}, /* 2.3.3.1 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x80, 0x0b, 0x0c}, /* 2.3.3.2 */
	{0x80, 0x80, 0x00, 0x01, 0x80, 0x03, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x0b, 0x0c, 0x0d}, /* 2.3.3.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x80, 0x08}, /* 3.1.1.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x80, 0x08, 0x09}, /* 3.1.1.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x06, 0x80, 0x08, 0x09, 0x0a}, /* 3.1.1.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 3.1.2.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 3.1.2.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x06, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 3.1.2.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 3.1.3.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 3.1.3.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80, 0x04, 0x80, 0x06, 0x07, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 3.1.3.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x80, 0x80, 0x09}, /* 3.2.1.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x80, 0x09, 0x0a}, /* 3.2.1.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x80, 0x07, 0x80, 0x09, 0x0a, 0x0b}, /* 3.2.1.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 3.2.2.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 3.2.2.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x80, 0x07, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 3.2.2.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x80, 0x80, 0x0b}, /* 3.2.3.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x80, 0x0b, 0x0c}, /* 3.2.3.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x80, 0x04, 0x05, 0x80, 0x07, 0x08, 0x09, 0x80, 0x0b, 0x0c, 0x0d}, /* 3.2.3.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08, 0x80, 0x80, 0x80, 0x0a}, /* 3.3.1.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08, 0x80, 0x80, 0x0a, 0x0b}, /* 3.3.1.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x80, 0x08, 0x80, 0x0a, 0x0b, 0x0c}, /* 3.3.1.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09, 0x80, 0x80, 0x80, 0x0b}, /* 3.3.2.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09, 0x80, 0x80, 0x0b, 0x0c}, /* 3.3.2.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x80, 0x08, 0x09, 0x80, 0x0b, 0x0c, 0x0d}, /* 3.3.2.3 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a, 0x80, 0x80, 0x80, 0x0c}, /* 3.3.3.1 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a, 0x80, 0x80, 0x0c, 0x0d}, /* 3.3.3.2 */
	{0x80, 0x00, 0x01, 0x02, 0x80, 0x04, 0x05, 0x06, 0x80, 0x08, 0x09, 0x0a, 0x80, 0x0c, 0x0d, 0x0e}, /* 3.3.3.3 */
};

/* For a text of 8 + i bytes (i < 8; the one caller gives 7 to 15) loaded
 * as its first 8 bytes then its last 8: byte k of the text (k < 8 + i) is
 * byte k, or 16 + k - (8 + i) of the load; the bytes after the text are
 * zero. */
static const uint8_t quad_tail[8][16] __attribute__((aligned(16))) = {
	{0, 1, 2, 3, 4, 5, 6, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 13, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 0x80, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 0x80, 0x80},
	{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 0x80},
};

__attribute__((target("ssse3"))) static bool
parse_quad_ssse3(const char *s, size_t len, struct bw_index_addr *a)
{
	unsigned live = (1u << len) - 1, dots, digits, zeros, bad, d1, d2, p1, p2, p3, idx;
	uint64_t lo, hi;
	__m128i v, q;

	if (len >= 8) {
		/* the first and the last 8 bytes straight into the vector
		 * and shuffled into place: the shifted last word went
		 * through the stack on its way into the vector (no
		 * SSE4.1), a store and reload at the head of the parse */
		v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)s),
				       _mm_loadl_epi64((const __m128i *)(const void *)(s + len - 8)));
		v = _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)(const void *)
						       quad_tail[len - 8]));
	} else {
		quad_load(s, len, &lo, &hi);
		v = _mm_cvtsi64_si128((long long)lo);
	}
	dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & live;
	zeros = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('0'))) & live;
	/* bytes >= 0x80 are negative here, so never digits */
	digits = (unsigned)_mm_movemask_epi8(
			 _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
				       _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)))) & live;
	d1 = dots & (dots - 1);
	d2 = d1 & (d1 - 1);
	bad = (digits | dots) ^ live;
	bad |= (unsigned)(d2 == 0 || (d2 & (d2 - 1)) != 0);
	bad |= dots & (1u | (1u << (len - 1)) | (dots >> 1));
	bad |= digits & (digits >> 1) & (digits >> 2) & (digits >> 3);
	bad |= zeros & (1u | (dots << 1)) & (digits >> 1);
	if (bad)
		return false;
	p1 = (unsigned)__builtin_ctz(dots);
	p2 = (unsigned)__builtin_ctz(d1);
	p3 = (unsigned)__builtin_ctz(d2);
	idx = (p1 - 1) * 27 + (p2 - p1 - 2) * 9 + (p3 - p2 - 2) * 3 + ((unsigned)len - p3 - 2);
	q = _mm_shuffle_epi8(_mm_sub_epi8(v, _mm_set1_epi8('0')),
			     _mm_load_si128((const __m128i *)(const void *)quad_shuffle[idx]));
	q = _mm_madd_epi16(_mm_maddubs_epi16(q, _mm_set1_epi32(0x010a6400)), _mm_set1_epi16(1));
	if (_mm_movemask_epi8(_mm_cmpgt_epi32(q, _mm_set1_epi32(255))) != 0)
		return false;
	q = _mm_packs_epi32(q, q);
	q = _mm_and_si128(_mm_packus_epi16(q, q), _mm_cvtsi32_si128(-1));
	/* family 4, the octets, zeros: the first 16 bytes of *a in one store
	 * straight from the vector (see set_ipv4()) */
	_mm_storeu_si128((__m128i *)(void *)a,
			 _mm_or_si128(_mm_slli_si128(q, 1), _mm_cvtsi32_si128(4)));
	a->addr[15] = 0;
	return true;
}
#endif

/* Fills a with the IPv4 address q.  The caller copies a at once (the log
 * parser's record is copied into the batch): written byte by byte and
 * read back in one 16-byte load, it stalled that load for longer than
 * the parse took (a store-forwarding failure, a tenth of matching an
 * address log), so the first 16 bytes go in one store as they are read. */
static inline void
set_ipv4(struct bw_index_addr *a, const uint8_t q[4])
{
#if defined(__SSE2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct bw_index_addr, family) == 0 &&
		       offsetof(struct bw_index_addr, addr) == 1 &&
		       sizeof(struct bw_index_addr) == 17, "struct bw_index_addr layout");
	uint32_t w;

	memcpy(&w, q, 4);
	_mm_storeu_si128((__m128i *)(void *)a,
			 _mm_or_si128(_mm_slli_si128(_mm_cvtsi32_si128((int)w), 1),
				      _mm_cvtsi32_si128(4)));
	a->addr[15] = 0;
#else
	a->family = 4;
	memcpy(a->addr, q, 4);
	memset(a->addr + 4, 0, sizeof(a->addr) - 4);
#endif
}

/* A dotted quad into *a; false (a untouched) if text is not one.  The
 * vector parser stores its result into *a itself: through a 4-byte array
 * the octets went from the vector to a register, to the stack and back,
 * at the end of the parse of every address. */
static inline bool
quad_to_addr(const char *text, size_t len, struct bw_index_addr *a)
{
	uint8_t q[4];

#ifdef HAVE_QUAD_SSSE3
	if (__builtin_cpu_supports("ssse3"))
		return parse_quad_ssse3(text, len, a);
#endif
	if (!parse_quad(text, len, q))
		return false;
	set_ipv4(a, q);
	return true;
}

int
bw_index_parse_addr(const char *text, size_t len, struct bw_index_addr *a)
{
	char buf[64];
	uint8_t q[4];

	/* a dotted quad, the common case, first */
	if (len >= 7 && len <= 15 && text[0] != '[') {
		if (quad_to_addr(text, len, a))
			return 1;
		if (bw_ioc_parse_ipv4(text, len, q)) {
			set_ipv4(a, q);
			return 1;
		}
	}
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(buf))
		return 0;
	if (memchr(text, ':', len) == NULL) {
		a->family = 4;
		return bw_ioc_parse_ipv4(text, len, a->addr) ? 1 : 0;
	}
	/* inet_pton reads up to a NUL: "192::1\0junk" must not pass as 192::1 */
	if (memchr(text, '\0', len) != NULL)
		return 0;
	memcpy(buf, text, len);
	buf[len] = '\0';
	a->family = 6;
	return inet_pton(AF_INET6, buf, a->addr) == 1 ? 1 : 0;
}

static const struct bw_lpm *
lpm_of(const struct bw_index *ix, int family)
{
	return family == 4 ? ix->lpm[0] : family == 6 ? ix->lpm[1] : NULL;
}

/* Addresses handed to the prefix tables at once (their pipelines want
 * many in flight). */
#define ADDR_CHUNK 256

size_t
bw_index_lookup_addrs(const struct bw_index *ix, struct bw_index_addr_query *q,
		      size_t nq, uint32_t *hits, size_t hits_cap)
{
	uint8_t a4[ADDR_CHUNK][4], a6[ADDR_CHUNK][16];
	uint32_t in4[ADDR_CHUNK], in6[ADDR_CHUNK];
	size_t used = 0;

	for (size_t done = 0; done < nq; done += ADDR_CHUNK) {
		size_t m = nq - done < ADDR_CHUNK ? nq - done : ADDR_CHUNK, n4 = 0, n6 = 0;

		for (size_t i = 0; i < m; i++) {
			const struct bw_index_addr *a = &q[done + i].a;
			if (a->family == 4)
				memcpy(a4[n4++], a->addr, 4);
			else if (a->family == 6)
				memcpy(a6[n6++], a->addr, 16);
		}
		if (n4)
			bw_lpm_lookup_batch(ix->lpm[0], a4[0], 4, n4, in4);
		if (n6)
			bw_lpm_lookup_batch(ix->lpm[1], a6[0], 16, n6, in6);
		n4 = n6 = 0;
		for (size_t i = 0; i < m; i++) {
			struct bw_index_addr_query *x = &q[done + i];
			const struct bw_lpm *t = lpm_of(ix, x->a.family);
			uint32_t inner = x->a.family == 4 ? in4[n4++]
					 : x->a.family == 6 ? in6[n6++] : NO_ID;
			size_t k = 0;
			if (t != NULL && inner != NO_ID) {
				k = bw_lpm_chain(t, inner, hits + used, NULL, hits_cap - used);
				if (k > hits_cap - used)
					return done + i;
			}
			x->first = (uint32_t)used;
			x->n = (uint32_t)k;
			used += k;
		}
	}
	return nq;
}

size_t
bw_index_lookup_addr(const struct bw_index *ix, const struct bw_index_addr *a,
		     struct bw_index_match *out, size_t cap)
{
	uint32_t ids[BW_INDEX_MATCH_MAX];
	const struct bw_lpm *t = lpm_of(ix, a->family);
	size_t n;

	if (t == NULL)
		return 0;
	n = bw_lpm_lookup(t, a->addr, ids, NULL, BW_INDEX_MATCH_MAX);
	return emit_matches(ix, ids, n, out, cap);
}

size_t
bw_index_lookup_ip(const struct bw_index *ix, const char *text, size_t len,
		   struct bw_index_match *out, size_t cap)
{
	struct bw_index_addr a;

	if (!bw_index_parse_addr(text, len, &a))
		return 0;
	return bw_index_lookup_addr(ix, &a, out, cap);
}

/* ---- look-ups: exact sets and URLs ------------------------------------ */

static size_t
find_exact(const struct bw_index *ix, enum bw_ioc_type type, const char *v,
	   size_t len, struct bw_index_match *out, size_t cap)
{
	uint64_t h = hash_exact(ix->seed, type, v, len);
	uint32_t ref = table_find(ix, &ix->exact, h, v, len);

	if (ref == NO_REF || entry_id(ix, ref) == NO_ID)
		return 0;
	if (cap > 0)
		bw_index_get(ix, entry_id(ix, ref), out);
	return 1;
}

/* The host of a canonical URL, looked up as a name or an address. */
static size_t
lookup_url_host(const struct bw_index *ix, const char *url, size_t len,
		struct bw_index_match *out, size_t cap)
{
	const char *p = memchr(url, ':', len), *end = url + len, *host, *h_end;
	struct bw_index_addr a;

	if (p == NULL || end - p < 3 || p[1] != '/' || p[2] != '/')
		return 0;
	host = p + 3;
	h_end = host;
	while (h_end < end && *h_end != '/' && *h_end != '?')
		h_end++;
	for (const char *at = h_end; at > host; at--)
		if (at[-1] == '@') {
			host = at;
			break;
		}
	if (host < h_end && *host == '[') {
		const char *rb = memchr(host, ']', (size_t)(h_end - host));
		if (rb == NULL)
			return 0;
		h_end = rb + 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(h_end - host));
		if (colon)
			h_end = colon;
	}
	if (bw_index_parse_addr(host, (size_t)(h_end - host), &a))
		return bw_index_lookup_addr(ix, &a, out, cap);
	return bw_index_lookup_domain(ix, host, (size_t)(h_end - host), out, cap);
}

size_t
bw_index_lookup_url(const struct bw_index *ix, const char *url, size_t len,
		    struct bw_index_match *out, size_t cap)
{
	struct bw_ioc ioc;
	size_t n;

	if (bw_ioc_parse(url, len, BW_IOC_URL, &ioc, NULL) != BW_OK ||
	    ioc.type != BW_IOC_URL)
		return 0;
	n = find_exact(ix, BW_IOC_URL, ioc.value, ioc.len, out, cap);
	return n + lookup_url_host(ix, ioc.value, ioc.len, out + (n < cap ? n : cap),
				   cap > n ? cap - n : 0);
}

size_t
bw_index_lookup_exact(const struct bw_index *ix, enum bw_ioc_type type,
		      const char *value, size_t len, struct bw_index_match *out,
		      size_t cap)
{
	char hex[64];
	struct bw_ioc ioc;

	if (type == BW_IOC_ANY || type == BW_IOC_MD5 || type == BW_IOC_SHA1 ||
	    type == BW_IOC_SHA256) {
		enum bw_ioc_type t = len == 32 ? BW_IOC_MD5 : len == 40 ? BW_IOC_SHA1
				     : len == 64 ? BW_IOC_SHA256 : BW_IOC_ANY;
		if (t == BW_IOC_ANY || (type != BW_IOC_ANY && type != t))
			return 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)value[i];
			if (c >= 'A' && c <= 'F')
				c |= 0x20;
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return 0;
			hex[i] = (char)c;
		}
		return find_exact(ix, t, hex, len, out, cap);
	}
	if (type != BW_IOC_URL && type != BW_IOC_EMAIL)
		return 0;
	if (bw_ioc_parse(value, len, type, &ioc, NULL) != BW_OK || ioc.type != type)
		return 0;
	return find_exact(ix, type, ioc.value, ioc.len, out, cap);
}

int
bw_index_lookup(const struct bw_index *ix, const char *text, size_t len,
		struct bw_index_match *out, size_t cap, size_t *n,
		struct bw_err *err)
{
	struct bw_ioc ioc;
	int rc;

	*n = 0;
	rc = bw_ioc_parse(text, len, BW_IOC_ANY, &ioc, err);
	if (rc)
		return rc;
	switch (ioc.type) {
	case BW_IOC_DOMAIN:
		*n = bw_index_lookup_domain(ix, ioc.value, ioc.len, out, cap);
		break;
	case BW_IOC_IPV4:
	case BW_IOC_IPV6:
		*n = bw_index_lookup_ip(ix, ioc.value, ioc.len, out, cap);
		break;
	case BW_IOC_CIDR: {
		/* the listed prefixes covering the whole query prefix */
		struct bw_lpm_prefix p;
		int family = 0;
		uint32_t ids[BW_INDEX_MATCH_MAX];
		uint8_t lens[BW_INDEX_MATCH_MAX];
		const struct bw_lpm *t;
		size_t k, m = 0;
		if (!parse_prefix(BW_IOC_CIDR, ioc.value, ioc.len, &p, &family))
			return bw_err_set(err, BW_EINVAL, "not a valid CIDR");
		t = lpm_of(ix, family);
		k = bw_lpm_lookup(t, p.addr, ids, lens, BW_INDEX_MATCH_MAX);
		for (size_t i = 0; i < k && i < BW_INDEX_MATCH_MAX; i++) {
			if (lens[i] > p.len)
				continue;
			if (m < cap)
				bw_index_get(ix, ids[i], &out[m]);
			m++;
		}
		*n = m;
		break;
	}
	case BW_IOC_URL:
		*n = bw_index_lookup_url(ix, ioc.value, ioc.len, out, cap);
		break;
	case BW_IOC_EMAIL:
	case BW_IOC_MD5:
	case BW_IOC_SHA1:
	case BW_IOC_SHA256:
		*n = bw_index_lookup_exact(ix, ioc.type, ioc.value, ioc.len, out, cap);
		break;
	default:
		return bw_err_set(err, BW_EINVAL, "not an indicator type the index holds");
	}
	return BW_OK;
}

/* ---- snapshot files --------------------------------------------------- */

/* What the image's kind field says: an index snapshot of this layout. */
#define IMAGE_KIND UINT64_C(0x4258444e49000003) /* "BW" "INDEX", layout 3 */
#define META_FIXED 19
#define META_STATS (16 + BW_IOC_NTYPES)
#define META_N (META_FIXED + META_STATS)

/* The statistics as numbers, in a fixed order (save), or back (load). */
static void
stats_io(struct bw_index_stats *st, uint64_t *v, bool save)
{
	size_t *f[] = {&st->indicators, &st->records, &st->skipped, &st->merged,
		       &st->tags, &st->tagsets, &st->tags_dropped, &st->string_bytes,
		       &st->record_bytes, &st->domain_bytes, &st->exact_bytes,
		       &st->ipv4_bytes, &st->ipv6_bytes, &st->tag_bytes, &st->bytes};
	size_t k = 0;

	if (save)
		v[k++] = (uint64_t)st->built;
	else
		st->built = (int64_t)v[k++];
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++, k++) {
		if (save)
			v[k] = *f[i];
		else
			*f[i] = (size_t)v[k];
	}
	for (int t = 0; t < BW_IOC_NTYPES; t++, k++) {
		if (save)
			v[k] = st->by_type[t];
		else
			st->by_type[t] = (size_t)v[k];
	}
}

int
bw_index_save(const struct bw_index *ix, const char *path, struct bw_err *err)
{
	struct bw_image_writer *w = NULL;
	uint64_t meta[META_N], lmeta[2][BW_LPM_META];
	uint32_t *tagoff = NULL;
	size_t nrec = ix->ninds ? ix->ninds : 1;
	int rc;

	if (ix->image == NULL && ix->store_gen == 0)
		return bw_err_set(err, BW_EINVAL, "a snapshot not built from a store is not saved");
	tagoff = bw_malloc((ix->ntagv ? ix->ntagv : 1) * 2 * sizeof(*tagoff));
	if (tagoff == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < ix->ntagv; i++) {
		tagoff[2 * i] = (uint32_t)(ix->tagv[i].kind - ix->tagstr);
		tagoff[2 * i + 1] = (uint32_t)(ix->tagv[i].name - ix->tagstr);
	}
	memset(meta, 0, sizeof(meta));
	meta[0] = ix->ninds;
	meta[1] = ix->arena_len;
	meta[2] = ix->dom.nb;
	meta[3] = ix->dom.n;
	meta[4] = ix->exact.nb;
	meta[5] = ix->exact.n;
	meta[7] = ix->ntagv;
	meta[8] = ix->ntagsets;
	meta[9] = ix->seed;
	meta[10] = ix->store_ident;
	meta[11] = (uint64_t)ix->store_gen;
	meta[12] = (uint64_t)ix->expires;
	meta[13] = sizeof(struct ind);
	meta[14] = sizeof(struct bucket);
	meta[15] = BW_IOC_NTYPES;
	meta[16] = (uint64_t)ix->store_maxrec;
	meta[17] = (uint64_t)ix->changes;
	meta[18] = ix->until != NULL; /* then a section of them after the store ids */
	{
		struct bw_index_stats st = ix->stats;
		stats_io(&st, meta + META_FIXED, true);
	}
	/* the tag strings' length: up to the end of the last one */
	{
		size_t tl = 0;
		for (size_t i = 0; i < ix->ntagv; i++) {
			size_t e = tagoff[2 * i] + strlen(ix->tagv[i].kind) + 1;
			if (e > tl)
				tl = e;
			e = tagoff[2 * i + 1] + strlen(ix->tagv[i].name) + 1;
			if (e > tl)
				tl = e;
		}
		meta[6] = tl;
	}
	if ((rc = bw_image_writer_new(IMAGE_KIND, &w, err)))
		goto out;
	if ((rc = bw_image_add(w, meta, sizeof(meta), err)) ||
	    (rc = bw_image_add(w, ix->inds, nrec * sizeof(*ix->inds), err)) ||
	    (rc = bw_image_add(w, ix->store_ids, nrec * sizeof(*ix->store_ids), err)) ||
	    (ix->until != NULL &&
	     (rc = bw_image_add(w, ix->until, ix->ninds * sizeof(*ix->until), err))) ||
	    (rc = bw_image_add(w, ix->arena, ix->arena_len, err)) ||
	    (rc = bw_image_add(w, ix->dom.b, table_bytes(&ix->dom), err)) ||
	    (rc = bw_image_add(w, ix->exact.b, table_bytes(&ix->exact), err)) ||
	    (rc = bw_image_add(w, ix->tagstr, (size_t)meta[6], err)) ||
	    (rc = bw_image_add(w, tagoff, ix->ntagv * 2 * sizeof(*tagoff), err)) ||
	    (rc = bw_image_add(w, ix->tagsets, ix->ntagsets * sizeof(*ix->tagsets), err)) ||
	    (rc = bw_lpm_save(ix->lpm[0], w, lmeta[0], err)) ||
	    (rc = bw_lpm_save(ix->lpm[1], w, lmeta[1], err)))
		goto out;
	rc = bw_image_commit(w, path, err);
out:
	bw_image_writer_free(w);
	bw_free(tagoff);
	return rc;
}

/* Every slot of every bucket names a place inside the arena, and at least
 * one bucket has room (so that an overflow walk ends). */
static int
check_table(const struct bw_index *ix, const struct table *t, const char *what,
	    struct bw_err *err)
{
	bool room = false;

	for (size_t i = 0; i < t->nb; i++) {
		const struct bucket *b = &t->b[i];
		if (b->n > SLOTS)
			return bw_err_set(err, BW_EFORMAT, "%s table: bucket %zu overfull", what, i);
		room |= b->n < SLOTS;
		for (unsigned k = 0; k < b->n; k++)
			if ((size_t)b->ref[k] + ENTRY_HDR >= ix->arena_len)
				return bw_err_set(err, BW_EFORMAT,
						  "%s table: bucket %zu points outside the values",
						  what, i);
	}
	if (!room)
		return bw_err_set(err, BW_EFORMAT, "%s table: every bucket full", what);
	return BW_OK;
}

/* The checks on a loaded snapshot that the look-ups rely on. */
static int
check_image(const struct bw_index *ix, struct bw_err *err)
{
	if (ix->arena_len > 0 && ix->arena[ix->arena_len - 1] != '\0')
		return bw_err_set(err, BW_EFORMAT, "index snapshot: values not terminated");
	for (size_t i = 0; i < ix->ninds; i++) {
		const struct ind *d = &ix->inds[i];
		if (d->type >= BW_IOC_NTYPES || d->conf < -1 || d->conf > 100 ||
		    d->tagset >= ix->ntagsets || d->off < ENTRY_HDR ||
		    (size_t)d->off + d->len >= ix->arena_len || ix->arena[d->off + d->len] != '\0')
			return bw_err_set(err, BW_EFORMAT, "index snapshot: indicator %zu damaged", i);
	}
	for (size_t i = 0; i < ix->ntagsets; i++)
		if (ix->tagsets[i].n > BW_INDEX_TAGS_MAX ||
		    ix->tagsets[i].first > ix->ntagv ||
		    ix->tagsets[i].n > ix->ntagv - ix->tagsets[i].first)
			return bw_err_set(err, BW_EFORMAT, "index snapshot: tag set %zu damaged", i);
	return BW_OK;
}

/* bw_index_from_image for raw a block (map_len 0) or a mapping of
 * map_len bytes (bw_image_map) */
static int
from_image(void *raw, size_t map_len, const void *p, size_t len, struct bw_index **out,
	   struct bw_err *err)
{
	struct bw_index *ix = NULL;
	struct bw_image img;
	const uint64_t *meta;
	const uint32_t *tagoff;
	const void *q;
	size_t tagstr_len, nrec;
	int rc;

	*out = NULL;
	if ((rc = bw_image_open(p, len, &img, err)))
		goto fail;
	if (img.kind != IMAGE_KIND) {
		rc = bw_err_set(err, BW_EVERSION, "not an index snapshot of this version");
		goto fail;
	}
	if ((rc = bw_image_take(&img, sizeof(uint64_t), META_N, &q, err)))
		goto fail;
	meta = q;
	if (meta[13] != sizeof(struct ind) || meta[14] != sizeof(struct bucket) ||
	    meta[15] != BW_IOC_NTYPES) {
		rc = bw_err_set(err, BW_EVERSION, "index snapshot of another layout");
		goto fail;
	}
	if (meta[0] > BW_INDEX_INDICATORS_MAX || meta[1] > BW_INDEX_STRINGS_MAX ||
	    meta[2] < 1 || meta[4] < 1 || meta[2] > UINT32_MAX || meta[4] > UINT32_MAX ||
	    meta[6] > BW_INDEX_STRINGS_MAX || meta[7] > BW_INDEX_INDICATORS_MAX ||
	    meta[8] < 1 || meta[8] > BW_INDEX_INDICATORS_MAX || meta[18] > 1 ||
	    (meta[18] == 1 && meta[0] == 0)) {
		rc = bw_err_set(err, BW_EFORMAT, "index snapshot header damaged");
		goto fail;
	}
	ix = bw_calloc(1, sizeof(*ix));
	if (ix == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	ix->image = raw;
	ix->image_map_len = map_len;
	raw = NULL;
	ix->ninds = (size_t)meta[0];
	ix->arena_len = (size_t)meta[1];
	ix->dom.nb = (size_t)meta[2];
	ix->dom.n = (size_t)meta[3];
	ix->exact.nb = (size_t)meta[4];
	ix->exact.n = (size_t)meta[5];
	tagstr_len = (size_t)meta[6];
	ix->ntagv = (size_t)meta[7];
	ix->ntagsets = (size_t)meta[8];
	ix->seed = meta[9];
	ix->store_ident = meta[10];
	ix->store_gen = (int64_t)meta[11];
	ix->expires = (int64_t)meta[12];
	ix->store_maxrec = (int64_t)meta[16];
	ix->changes = (int64_t)meta[17];
	{
		uint64_t v[META_STATS];
		memcpy(v, meta + META_FIXED, sizeof(v));
		stats_io(&ix->stats, v, false);
	}
	nrec = ix->ninds ? ix->ninds : 1;
	if ((rc = bw_image_take(&img, sizeof(struct ind), nrec, &q, err)))
		goto fail;
	ix->inds = (struct ind *)q;
	if ((rc = bw_image_take(&img, sizeof(int64_t), nrec, &q, err)))
		goto fail;
	ix->store_ids = (int64_t *)q;
	if (meta[18] == 1) {
		if ((rc = bw_image_take(&img, sizeof(int64_t), ix->ninds, &q, err)))
			goto fail;
		ix->until = (int64_t *)q;
	}
	if ((rc = bw_image_take(&img, 1, ix->arena_len, &q, err)))
		goto fail;
	ix->arena = (char *)q;
	if ((rc = bw_image_take(&img, sizeof(struct bucket), ix->dom.nb, &q, err)))
		goto fail;
	ix->dom.b = (struct bucket *)q;
	if ((rc = bw_image_take(&img, sizeof(struct bucket), ix->exact.nb, &q, err)))
		goto fail;
	ix->exact.b = (struct bucket *)q;
	if ((rc = bw_image_take(&img, 1, tagstr_len, &q, err)))
		goto fail;
	ix->tagstr = (char *)q;
	if ((rc = bw_image_take(&img, 2 * sizeof(uint32_t), ix->ntagv, &q, err)))
		goto fail;
	tagoff = q;
	if ((rc = bw_image_take(&img, sizeof(struct tagset), ix->ntagsets, &q, err)))
		goto fail;
	ix->tagsets = (struct tagset *)q;
	if (tagstr_len > 0 && ix->tagstr[tagstr_len - 1] != '\0') {
		rc = bw_err_set(err, BW_EFORMAT, "index snapshot: tags not terminated");
		goto fail;
	}
	/* tags become pointers again: one per distinct (tag set, tag) */
	ix->tagv = bw_malloc((ix->ntagv ? ix->ntagv : 1) * sizeof(*ix->tagv));
	if (ix->tagv == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ix->ntagv; i++) {
		if (tagoff[2 * i] >= tagstr_len || tagoff[2 * i + 1] >= tagstr_len) {
			rc = bw_err_set(err, BW_EFORMAT, "index snapshot: tag %zu damaged", i);
			goto fail;
		}
		ix->tagv[i].kind = ix->tagstr + tagoff[2 * i];
		ix->tagv[i].name = ix->tagstr + tagoff[2 * i + 1];
	}
	if ((rc = check_table(ix, &ix->dom, "domain", err)) ||
	    (rc = check_table(ix, &ix->exact, "exact", err)) ||
	    (rc = check_image(ix, err)) ||
	    (rc = bw_lpm_load(&img, 4, (uint32_t)ix->ninds, &ix->lpm[0], err)) ||
	    (rc = bw_lpm_load(&img, 6, (uint32_t)ix->ninds, &ix->lpm[1], err)))
		goto fail;
	*out = ix;
	return BW_OK;
fail:
	if (raw != NULL)
		bw_image_unmap(raw, map_len);
	bw_index_free(ix);
	return rc;
}

int
bw_index_from_image(void *raw, const void *p, size_t len, struct bw_index **out,
		    struct bw_err *err)
{
	return from_image(raw, 0, p, len, out, err);
}

/* bw_index_load (map false) or bw_index_map */
static int
load_file(const char *path, bool map, struct bw_index **out, bool *mapped,
	  struct bw_err *err)
{
	struct bw_image img;
	void *raw = NULL;
	size_t map_len = 0;
	int rc;

	*out = NULL;
	*mapped = false;
	rc = map ? bw_image_map(path, &raw, &map_len, &img, err)
		 : bw_image_read(path, &raw, &img, err);
	if (rc)
		return rc;
	rc = from_image(raw, map_len, img.base, img.len, out, err);
	*mapped = rc == BW_OK && map_len > 0;
	return rc;
}

int
bw_index_load(const char *path, struct bw_index **out, struct bw_err *err)
{
	bool mapped;

	return load_file(path, false, out, &mapped, err);
}

int
bw_index_map(const char *path, struct bw_index **out, bool *mapped, struct bw_err *err)
{
	return load_file(path, true, out, mapped, err);
}

/* Why a snapshot of source src is not what the store would give now, or
 * NULL if it is. */
static int
source_stale(const struct bw_index_source *src, struct bw_store *st,
	     int64_t now, bool skips_lapsed, const char **why, struct bw_err *err)
{
	uint64_t ident = 0;
	int64_t gen = 0, maxrec = 0;
	int rc = store_generation(bw_store_db(st), &ident, &gen, &maxrec, err);

	*why = NULL;
	if (rc)
		return rc;
	if (src->ident != ident)
		*why = "it was built from another store";
	else if (src->gen != gen || src->maxrec != maxrec)
		*why = "the store's indicators changed since";
	else if (skips_lapsed && now > src->changes)
		*why = "a record of an indicator in it that is still listed has expired since";
	else if (!skips_lapsed && now > src->expires)
		*why = "an indicator in it has expired since";
	return BW_OK;
}

int
bw_index_fresh(const struct bw_index *ix, struct bw_store *st, int64_t now,
	       bool skips_lapsed, const char **why, struct bw_err *err)
{
	struct bw_index_source src;
	int rc;

	bw_index_source(ix, &src);
	rc = source_stale(&src, st, now, skips_lapsed, why, err);
	if (rc == BW_OK && *why == NULL && now < ix->stats.built)
		*why = "it was built in the future (clock moved back)";
	return rc;
}

void
bw_index_source(const struct bw_index *ix, struct bw_index_source *out)
{
	out->ident = ix->store_ident;
	out->gen = ix->store_gen;
	out->maxrec = ix->store_maxrec;
	out->expires = ix->expires;
	out->changes = ix->changes;
}

int
bw_index_file_source(const char *path, struct bw_index_source *out,
		      struct bw_err *err)
{
	uint64_t meta[META_N], kind = 0;
	size_t n = 0;
	int rc = bw_image_peek(path, &kind, meta, sizeof(meta), &n, err);

	if (rc == BW_ELIMIT)
		return bw_err_set(err, BW_EVERSION, "%s: another snapshot layout", path);
	if (rc)
		return rc;
	if (kind != IMAGE_KIND || n != sizeof(meta) || meta[13] != sizeof(struct ind) ||
	    meta[14] != sizeof(struct bucket) || meta[15] != BW_IOC_NTYPES)
		return bw_err_set(err, BW_EVERSION, "%s: another snapshot layout", path);
	out->ident = meta[10];
	out->gen = (int64_t)meta[11];
	out->expires = (int64_t)meta[12];
	out->maxrec = (int64_t)meta[16];
	out->changes = (int64_t)meta[17];
	return BW_OK;
}

/* A snapshot written by a thread of its own (BW_INDEX_SAVE_BEHIND). */
struct bw_index_saver {
	pthread_t thread;
	const struct bw_index *ix;
	const char *path; /* the caller's, alive until bw_index_open_done */
	int rc;
	struct bw_err err;
};

static void *
saver_run(void *arg)
{
	struct bw_index_saver *s = arg;

	s->rc = bw_index_save(s->ix, s->path, &s->err);
	return NULL;
}

/* Writes ix to path, or starts a thread that does (behind): a failed
 * write is only noted in how (the caller has an index all the same). */
static void
save_to(const struct bw_index *ix, const char *path, bool behind,
	struct bw_index_origin *how)
{
	struct bw_index_saver *s = behind ? bw_calloc(1, sizeof(*s)) : NULL;
	struct bw_err e;

	if (s != NULL) {
		s->ix = ix;
		s->path = path;
		if (pthread_create(&s->thread, NULL, saver_run, s) == 0) {
			how->saving = s;
			return;
		}
		bw_free(s); /* no thread: written here */
	}
	if (bw_index_save(ix, path, &e) == BW_OK)
		how->saved = true;
	else
		snprintf(how->save_error, sizeof(how->save_error), "%s", e.msg);
}

void
bw_index_open_done(struct bw_index_origin *how)
{
	struct bw_index_saver *s = how->saving;

	if (s == NULL)
		return;
	pthread_join(s->thread, NULL);
	if (s->rc == BW_OK)
		how->saved = true;
	else
		snprintf(how->save_error, sizeof(how->save_error), "%s", s->err.msg);
	bw_free(s);
	how->saving = NULL;
}

/* Builds the index and, with a path, writes it there (see save_to). */
static int
build_and_save(struct bw_store *st, const char *path, int64_t now, bool behind,
	       struct bw_index **out, struct bw_index_origin *how, struct bw_err *err)
{
	int rc = bw_index_build(st, now, out, err);

	if (rc)
		return rc;
	if (path != NULL)
		save_to(*out, path, behind, how);
	return BW_OK;
}

int
bw_index_open(struct bw_store *st, const char *path, int64_t now, unsigned flags,
	      struct bw_index **out, struct bw_index_origin *how, struct bw_err *err)
{
	struct bw_index *ix = NULL;
	struct bw_err e;
	const char *why = NULL;
	int rc;

	*out = NULL;
	memset(how, 0, sizeof(*how));
	if (path != NULL) {
		bool mapped;
		rc = load_file(path, (flags & BW_INDEX_MAP) != 0, &ix, &mapped, &e);
		if (rc == BW_OK) {
			rc = bw_index_fresh(ix, st, now, (flags & BW_INDEX_SKIPS_LAPSED) != 0, &why,
					    err);
			if (rc) {
				bw_index_free(ix);
				return rc;
			}
			if (why == NULL) {
				how->loaded = true;
				how->mapped = mapped;
				*out = ix;
				return BW_OK;
			}
			snprintf(how->why, sizeof(how->why), "stale: %s", why);
			bw_index_free(ix);
			ix = NULL;
		} else if (rc == BW_ENOMEM) {
			return bw_err_set(err, rc, "%s", e.msg);
		} else {
			snprintf(how->why, sizeof(how->why), "%s", e.msg);
		}
	}
	rc = build_and_save(st, path, now, (flags & BW_INDEX_SAVE_BEHIND) != 0, &ix, how, err);
	if (rc)
		return rc;
	*out = ix;
	return BW_OK;
}

int
bw_index_refresh(struct bw_store *st, const char *path, int64_t now,
		 struct bw_index_origin *how, struct bw_err *err)
{
	struct bw_index_source src;
	struct bw_index *ix = NULL;
	struct bw_err e;
	const char *why = NULL;
	int rc;

	memset(how, 0, sizeof(*how));
	rc = bw_index_file_source(path, &src, &e);
	if (rc == BW_ENOTFOUND)
		return BW_OK;
	if (rc == BW_OK) {
		/* the file is for `bulwark match`, which skips lapsed indicators */
		rc = source_stale(&src, st, now, true, &why, err);
		if (rc)
			return rc;
		if (why == NULL)
			return BW_OK;
		snprintf(how->why, sizeof(how->why), "stale: %s", why);
	} else if (rc == BW_ENOMEM) {
		return bw_err_set(err, rc, "%s", e.msg);
	} else {
		snprintf(how->why, sizeof(how->why), "%s", e.msg);
	}
	rc = build_and_save(st, path, now, false, &ix, how, err);
	bw_index_free(ix);
	return rc;
}
