/*
 * fuzz_snapshot.c - libFuzzer harness for the index snapshot loader
 * (bw_index_from_image: src/index/image.c, index.c, lpm.c).
 *
 * The input is an image file (the checksum is not checked here: it only
 * guards against accidents, and the fuzzer could not get past it; the
 * structural checks are what keep a damaged file from being trusted).  It
 * is copied to an allocation of exactly its size, 64-byte aligned, so ASan
 * sees any read past the end.  An image the loader accepts must answer
 * look-ups of every kind without reading out of bounds, and every match it
 * returns must be a NUL-terminated value of a known type with tags inside
 * the snapshot.  The seeds in fuzz/corpus/snapshot are snapshot files
 * written by `bulwark match` over stores made with `bulwark ingest --format
 * plain`: mixed.index (12 indicators of every type: domains, IPv4 and IPv6
 * addresses and CIDRs, a URL, an e-mail address, MD5, SHA-1), one-domain.index,
 * tagged.index (the 12 from two sources with confidences and the tags
 * malware:emotet, c2, actor:ta542), lapsing.index (the 12 with a
 * valid_until on some, so the file holds when each lapses: written with
 * `bulwark ingest --format csv` and columns value,valid_until) and
 * truncated.index (the first 600 bytes of mixed.index).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "index/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct bw_index *ix, const struct bw_index_match *m, size_t n)
{
	if (n > BW_INDEX_MATCH_MAX)
		n = BW_INDEX_MATCH_MAX;
	for (size_t i = 0; i < n; i++) {
		(void)bw_index_lapsed(ix, m[i].id, 0); /* reads its until, if any */
		if ((int)m[i].type < 0 || m[i].type >= BW_IOC_NTYPES ||
		    m[i].value[m[i].len] != '\0' || m[i].confidence < -1 ||
		    m[i].confidence > 100)
			abort();
		for (size_t k = 0; k < m[i].ntags; k++)
			if (strlen(m[i].tags[k].kind) + strlen(m[i].tags[k].name) > (size_t)1 << 31)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const queries[] = {
		"evil.example", "a.b.evil.example", "EXAMPLE.COM.", "198.51.100.7",
		"10.0.0.1", "2001:db8::1", "2001:db8::/48", "http://evil.example/x.exe",
		"bad@evil.example", "d41d8cd98f00b204e9800998ecf8427e", "192.0.2.0/24",
	};
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	struct bw_index_name names[2] = {{"x.evil.example", 14, 0, 0}, {"evil.example", 12, 0, 0}};
	struct bw_index_addr_query aq[2];
	uint32_t hits[4 * BW_INDEX_MATCH_MAX];
	struct bw_index *ix = NULL;
	struct bw_index_stats st;
	void *raw;
	uint8_t *p;
	size_t n;

	/* exactly size bytes after a 64-byte boundary */
	raw = bw_malloc(size + 64);
	if (raw == NULL)
		return 0;
	p = (uint8_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	if (size > 0)
		memcpy(p, data, size);
	if (bw_index_from_image(raw, p, size, &ix, NULL) != BW_OK)
		return 0; /* raw was freed */
	bw_index_stats(ix, &st);
	(void)bw_index_lapsed_count(ix, INT64_MAX);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		if (bw_index_lookup(ix, queries[i], strlen(queries[i]), m, BW_INDEX_MATCH_MAX, &n,
				    NULL) == BW_OK)
			check(ix, m, n);
		check(ix, m, bw_index_lookup_url(ix, queries[i], strlen(queries[i]), m,
					     BW_INDEX_MATCH_MAX));
	}
	n = bw_index_lookup_domains(ix, names, 2, hits, sizeof(hits) / sizeof(hits[0]));
	memset(aq, 0, sizeof(aq));
	bw_index_parse_addr("198.51.100.7", 12, &aq[0].a);
	bw_index_parse_addr("2001:db8::1", 11, &aq[1].a);
	n += bw_index_lookup_addrs(ix, aq, 2, hits, sizeof(hits) / sizeof(hits[0]));
	if (n != 4)
		abort(); /* the hits array has room for every answer */
	for (size_t i = 0; i < aq[0].n; i++) {
		bw_index_get(ix, hits[aq[0].first + i], &m[0]);
		check(ix, m, 1);
	}
	bw_index_free(ix);
	return 0;
}
