/*
 * lpm.h - longest-prefix match over one address family (IPv4 or IPv6), the
 * address part of the look-up index (src/index/index.h).
 *
 * A table is built once from a set of distinct prefixes (single addresses
 * are prefixes of length 32 or 128) and is immutable afterwards, so any
 * number of threads may look up in it at once without locks.
 *
 * Design.  Prefixes never partially overlap: two of them are either nested
 * or disjoint.  Sorting them by (start, length) and sweeping once with a
 * stack cuts the address space into disjoint intervals, each labelled with
 * the innermost (longest) prefix that covers it, or with nothing; each
 * prefix also records its parent (the next shorter prefix covering it).  A
 * look-up finds the interval holding the address, which gives the longest
 * match at once and the shorter covering prefixes by walking the parents.
 *
 * The interval starts are a sorted array (IPv4: 8-byte start and answer
 * pairs; IPv6: 16-byte starts and 4-byte answers).  A first-level table
 * cuts the span from the first to the last start into equal slices (about
 * as many as there are intervals, at most 2^22) and records where each
 * slice's starts begin, so the binary search runs over the few starts of
 * one slice.  A look-up touches the first-level entry, one or two cache
 * lines of starts, and the prefix records of the chain: dependent memory
 * reads, which the batched look-up overlaps across addresses with
 * prefetches (a four-stage software pipeline, each stage 32 addresses
 * behind the one before).  Memory is at most 2 intervals + 2 first-level
 * entries + 1 prefix record (9 bytes) per prefix: 44 bytes per prefix for
 * 1,000,000 mixed prefixes, measured with bench/index/bench_index.
 *
 * An IPv4 table of 4096 prefixes or more also keeps a bitmap of the /24s
 * holding at least one covered address (2^24 bits, 2 MB): a random
 * address misses a block list of a million prefixes about 90% of the
 * time, and the bitmap answers those from one bit of a cache-resident
 * array, where the search reads two cache lines of tens of megabytes.
 */
#ifndef BW_INDEX_LPM_H
#define BW_INDEX_LPM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

struct bw_lpm;

/* One prefix to build from: the address in network byte order (IPv4 in the
 * first 4 bytes), its length (1-32 or 1-128; host bits must be clear) and
 * a caller's id that look-ups return. */
struct bw_lpm_prefix {
	uint8_t addr[16];
	uint8_t len;
	uint32_t id;
};

/* Sorts prefixes into the order bw_lpm_build() needs (by address, then
 * shorter first), so that equal prefixes become neighbours, in id order;
 * family is 4 or 6.  bw_lpm_order() compares two in that order (<0, 0,
 * >0), for merging sorted runs.  bw_lpm_same() returns 1 if a and b are
 * the same prefix. */
void bw_lpm_sort(int family, struct bw_lpm_prefix *p, size_t n);

/* An IPv4 prefix's address and length as one number in that order (40
 * bits), which the sort and the merges of sorted runs compare. */
static inline uint64_t
bw_lpm_key4(const struct bw_lpm_prefix *p)
{
	return ((uint64_t)p->addr[0] << 24 | (uint64_t)p->addr[1] << 16 |
		(uint64_t)p->addr[2] << 8 | p->addr[3]) << 8 | p->len;
}

/* Inline, the IPv4 key as one number: merging two sorted runs of a
 * million prefixes compares once a step (18 ms with a call and a memcmp
 * each, 8 ms this way). */
static inline int
bw_lpm_order(int family, const struct bw_lpm_prefix *a, const struct bw_lpm_prefix *b)
{
	if (family == 4) {
		uint64_t ka = bw_lpm_key4(a), kb = bw_lpm_key4(b);
		if (ka != kb)
			return ka < kb ? -1 : 1;
	} else {
		int c = memcmp(a->addr, b->addr, 16);
		if (c == 0)
			c = (int)a->len - (int)b->len;
		if (c != 0)
			return c;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

int bw_lpm_same(int family, const struct bw_lpm_prefix *a,
		const struct bw_lpm_prefix *b);

/* Builds a table for family 4 or 6 from n prefixes, sorted and distinct
 * (BW_EINVAL otherwise, or for a length out of range or host bits set).
 * The array is only read.  *out owns the table. */
int bw_lpm_build(int family, const struct bw_lpm_prefix *p, size_t n,
		 struct bw_lpm **out, struct bw_err *err);
void bw_lpm_free(struct bw_lpm *t);

/* The prefixes covering addr (network byte order), longest first: writes
 * at most cap ids into ids (and their lengths into lens, if not NULL) and
 * returns how many cover it (at most 33 or 129).  Thread-safe. */
size_t bw_lpm_lookup(const struct bw_lpm *t, const uint8_t *addr,
		     uint32_t *ids, uint8_t *lens, size_t cap);

/* The innermost (longest) prefix covering each of n addresses, as an index
 * usable with bw_lpm_chain(), or UINT32_MAX for none: the batched form,
 * which hashes nothing but overlaps the memory reads of all n addresses.
 * addrs holds n addresses of 4 or 16 bytes each (stride bytes apart). */
void bw_lpm_lookup_batch(const struct bw_lpm *t, const uint8_t *addrs,
			 size_t stride, size_t n, uint32_t *inner);
/* Walks from prefix index p (as returned above) to the shortest covering
 * prefix; same output convention as bw_lpm_lookup(). */
size_t bw_lpm_chain(const struct bw_lpm *t, uint32_t p, uint32_t *ids,
		    uint8_t *lens, size_t cap);

/* ---- snapshot images (src/index/image.h) -------------------------------
 * save adds the table's sections to w; meta (BW_LPM_META numbers, the
 * caller's) must stay valid until the image is committed.  load takes the
 * same sections from img, checks every value a look-up relies on (interval
 * and first-level bounds, parents before children so that a chain ends,
 * prefix ids below nids) and returns a table whose arrays point into the
 * image, which must outlive it; BW_EFORMAT for anything inconsistent. */
#define BW_LPM_META 8
struct bw_image;
struct bw_image_writer;
int bw_lpm_save(const struct bw_lpm *t, struct bw_image_writer *w,
		uint64_t meta[BW_LPM_META], struct bw_err *err);
int bw_lpm_load(struct bw_image *img, int family, uint32_t nids,
		struct bw_lpm **out, struct bw_err *err);

/* Bytes the table occupies, and its number of intervals. */
size_t bw_lpm_bytes(const struct bw_lpm *t);
size_t bw_lpm_intervals(const struct bw_lpm *t);

#endif
