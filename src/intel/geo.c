/*
 * geo.c - country of an address through libmaxminddb, ASN of an address
 * through a sorted range table loaded from CSV (design in geo.h).
 *
 * Loading appends ranges as they come and marks the table unsorted when a
 * start is not above the previous one; look-ups need the table sorted and
 * free of overlaps, so bw_geo_load_asn_csv sorts (only if needed) and cuts
 * overlapping ranges apart (only if there are any) before it returns.  The
 * npm files are in order with one overlap, so the usual load is one pass,
 * one check and one sweep.
 */
#include "intel/geo.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/dynlib.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "feed/reader.h"

/* libmaxminddb is opened by the first MMDB file (core/dynlib.h). */
#define MMDB_FUNCTIONS(F) F(MMDB_open) F(MMDB_close) F(MMDB_strerror) F(MMDB_get_value) \
	F(MMDB_lookup_sockaddr)

BW_DYNLIB_DEFINE(libmmdb, MMDB_FUNCTIONS, "country look-up",
		 "libmaxminddb.so.0 libmaxminddb.so");

/* Grows array p (capacity cap) to want elements or jumps to nomem. */
#define GROW_OR_FAIL(p, cap, want)                                             \
	do {                                                                   \
		void *t_ = bw_grow((p), &(cap), (want), sizeof(*(p)));        \
		if (t_ == NULL)                                                \
			goto nomem;                                            \
		(p) = t_;                                                      \
	} while (0)

/* Distinct organisation names accepted (the npm data: about 80,000). */
#define ORGS_MAX 1000000

struct range4 {
	uint32_t start, end; /* host byte order */
	uint32_t asn, org;
};

struct range6 {
	unsigned char start[16], end[16]; /* network byte order */
	uint32_t asn, org;
};

struct bw_geo {
	bool mmdb_open;
	MMDB_s mmdb;
	struct range4 *r4;
	size_t n4, cap4;
	struct range6 *r6;
	size_t n6, cap6;
	/* organisation names: org number -> name; name -> number + 1 */
	const char **orgs;
	size_t norgs, cap_orgs;
	struct bw_strmap *org_ids;
	size_t org_bytes;
	size_t overlaps;
};

int
bw_geo_new(struct bw_geo **out, struct bw_err *err)
{
	struct bw_geo *g = bw_calloc(1, sizeof(*g));
	int rc;

	if (g == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_strmap_new(ORGS_MAX, &g->org_ids, err);
	if (rc) {
		bw_free(g);
		return rc;
	}
	*out = g;
	return BW_OK;
}

void
bw_geo_free(struct bw_geo *g)
{
	if (g == NULL)
		return;
	if (g->mmdb_open)
		libmmdb.MMDB_close(&g->mmdb);
	bw_free(g->r4);
	bw_free(g->r6);
	bw_free(g->orgs);
	bw_strmap_free(g->org_ids);
	bw_free(g);
}

int
bw_geo_open_mmdb(struct bw_geo *g, const char *path, struct bw_err *err)
{
	MMDB_s m;
	int rc = bw_dynlib_ready(&libmmdb_lib, err), st;

	if (rc)
		return rc;
	st = libmmdb.MMDB_open(path, MMDB_MODE_MMAP, &m);

	if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR)
		return bw_err_set(err, BW_EIO, "%s: %s", path, libmmdb.MMDB_strerror(st));
	if (st == MMDB_OUT_OF_MEMORY_ERROR)
		return bw_err_set(err, BW_ENOMEM, "%s: out of memory", path);
	if (st != MMDB_SUCCESS)
		return bw_err_set(err, BW_EFORMAT, "%s: not a MaxMind DB file: %s",
				  path, libmmdb.MMDB_strerror(st));
	if (g->mmdb_open)
		libmmdb.MMDB_close(&g->mmdb);
	g->mmdb = m;
	g->mmdb_open = true;
	return BW_OK;
}

int
bw_geo_has_country(const struct bw_geo *g)
{
	return g->mmdb_open;
}

int
bw_geo_has_asn(const struct bw_geo *g)
{
	return g->n4 + g->n6 > 0;
}

/* addr as text -> family and 16 bytes (IPv4 in the first 4). */
static int
parse_addr(const char *s, size_t len, int *family, unsigned char a[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1) {
		*family = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		*family = AF_INET6;
		return 1;
	}
	return 0;
}

static uint32_t
be32(const unsigned char a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | a[3];
}

/* 1 and the code in cc when the entry has a two-letter code under
 * key1[/key2]; 0 otherwise, with *fail set on a database error. */
static int
mmdb_code(MMDB_entry_s *entry, char cc[3], int *fail, const char *key1,
	  const char *key2)
{
	MMDB_entry_data_s d;
	int st = key2 ? libmmdb.MMDB_get_value(entry, &d, key1, key2, NULL)
		      : libmmdb.MMDB_get_value(entry, &d, key1, NULL);

	if (st != MMDB_SUCCESS) {
		if (st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
			*fail = st;
		return 0;
	}
	if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    d.data_size != 2)
		return 0;
	for (int i = 0; i < 2; i++) {
		char c = d.utf8_string[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return 0;
		cc[i] = c;
	}
	cc[2] = '\0';
	return 1;
}

int
bw_geo_country(const struct bw_geo *g, const char *addr, char cc[3],
	       struct bw_err *err)
{
	unsigned char a[16];
	int family, st, fail = 0;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	MMDB_lookup_result_s res;

	if (!parse_addr(addr, strlen(addr), &family, a))
		return bw_err_set(err, BW_EINVAL, "not an IP address: %.64s", addr);
	if (!g->mmdb_open)
		return bw_err_set(err, BW_ENOTFOUND, "no country database loaded");
	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a, 4);
		sa = (const struct sockaddr *)&sin;
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, a, 16);
		sa = (const struct sockaddr *)&sin6;
	}
	res = libmmdb.MMDB_lookup_sockaddr(&g->mmdb, sa, &st);
	if (st != MMDB_SUCCESS) {
		/* an IPv6 address in an IPv4-only database */
		if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
			return bw_err_set(err, BW_ENOTFOUND,
					  "%s: no country (IPv4-only database)", addr);
		return bw_err_set(err, BW_EFORMAT, "country database: %s",
				  libmmdb.MMDB_strerror(st));
	}
	if (!res.found_entry)
		return bw_err_set(err, BW_ENOTFOUND, "%s: no country", addr);
	if (mmdb_code(&res.entry, cc, &fail, "country_code", NULL) ||
	    mmdb_code(&res.entry, cc, &fail, "country", "iso_code"))
		return BW_OK;
	if (fail)
		return bw_err_set(err, BW_EFORMAT, "country database: %s",
				  libmmdb.MMDB_strerror(fail));
	return bw_err_set(err, BW_ENOTFOUND, "%s: no country in the record", addr);
}

/* Splits one CSV field at *p (quoted with "" escapes, or bare) into out
 * (cap bytes with NUL); advances *p past the field and its comma and sets
 * *more when a comma followed (another field comes).  Returns the field
 * length, or -1 when malformed or too long. */
static long
csv_field(const char **p, const char *end, char *out, size_t cap, int *more)
{
	const char *s = *p;
	size_t n = 0;

	if (s < end && *s == '"') {
		s++;
		for (;;) {
			if (s >= end)
				return -1; /* unterminated quote */
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"') {
					s++;
				} else {
					s++;
					break;
				}
			}
			if (n + 1 >= cap)
				return -1;
			out[n++] = *s++;
		}
		if (s < end && *s != ',')
			return -1;
	} else {
		while (s < end && *s != ',') {
			if (*s == '"' || n + 1 >= cap)
				return -1;
			out[n++] = *s++;
		}
	}
	*more = s < end;
	if (s < end)
		s++; /* the comma */
	out[n] = '\0';
	*p = s;
	return (long)n;
}

static int
org_number(struct bw_geo *g, const char *org, size_t len, uint32_t *out,
	   struct bw_err *err)
{
	void *v;
	char *copy;
	const char **names;
	int rc;

	if (bw_strmap_find(g->org_ids, org, len, &v)) {
		*out = (uint32_t)((uintptr_t)v - 1);
		return BW_OK;
	}
	if (g->norgs >= ORGS_MAX)
		return bw_err_set(err, BW_ELIMIT,
				  "more than %d organisation names", ORGS_MAX);
	copy = bw_strmap_strdup(g->org_ids, org, len);
	if (copy == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	names = bw_grow(g->orgs, &g->cap_orgs, g->norgs + 1, sizeof(*g->orgs));
	if (names == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	g->orgs = names;
	rc = bw_strmap_put(g->org_ids, org, len, (void *)(uintptr_t)(g->norgs + 1),
			   err);
	if (rc)
		return rc;
	g->orgs[g->norgs] = copy;
	*out = (uint32_t)g->norgs++;
	g->org_bytes += 2 * (len + 1) + 48; /* name, key, map entry */
	return BW_OK;
}

static int
cmp_r4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	/* by start, the longer range first at equal starts */
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end;
}

static int
cmp_r6(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;
	int c = memcmp(x->start, y->start, 16);

	return c != 0 ? c : memcmp(y->end, x->end, 16);
}

/* x + 1 (carry out ignored: callers never step past the last address). */
static void
inc6(unsigned char x[16])
{
	for (int i = 15; i >= 0 && ++x[i] == 0; i--)
		;
}

static void
dec6(unsigned char x[16])
{
	for (int i = 15; i >= 0 && x[i]-- == 0; i--)
		;
}

/*
 * Overlapping ranges (rare in the data) are cut into disjoint pieces where
 * the range starting later wins: it is the more specific or the newer
 * announcement.  One sweep over the ranges sorted by start keeps a stack
 * of the ranges still open (innermost on top) and emits the pieces between
 * the points where the winner changes; a range nested in another splits
 * it in two.  pos is the first address not yet emitted.
 */
static int
split4(struct bw_geo *g, struct bw_err *err)
{
	struct range4 *out = NULL, **stack = NULL, *src = g->r4;
	size_t nout = 0, capout = 0, depth = 0, capstack = 0;
	uint64_t pos = 0;
	int rc = BW_OK;

	for (size_t i = 0; i <= g->n4; i++) {
		uint64_t next = i < g->n4 ? src[i].start : UINT64_C(1) << 32;

		while (depth > 0 && (uint64_t)stack[depth - 1]->end < next) {
			struct range4 *t = stack[--depth];
			if (pos <= t->end) {
				GROW_OR_FAIL(out, capout, nout + 1);
				out[nout] = *t;
				out[nout++].start = (uint32_t)pos;
				pos = (uint64_t)t->end + 1;
			}
		}
		if (i == g->n4)
			break;
		if (depth > 0 && pos < next) {
			GROW_OR_FAIL(out, capout, nout + 1);
			out[nout] = *stack[depth - 1];
			out[nout].start = (uint32_t)pos;
			out[nout++].end = (uint32_t)(next - 1);
		}
		pos = next;
		GROW_OR_FAIL(stack, capstack, depth + 1);
		stack[depth++] = &src[i];
	}
	bw_free(g->r4);
	g->r4 = out;
	g->n4 = nout;
	g->cap4 = capout;
	out = NULL;
	goto done;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
done:
	bw_free(out);
	bw_free(stack);
	return rc;
}

static int
split6(struct bw_geo *g, struct bw_err *err)
{
	struct range6 *out = NULL, **stack = NULL, *src = g->r6;
	size_t nout = 0, capout = 0, depth = 0, capstack = 0;
	unsigned char pos[16] = { 0 };
	bool pos_end = false; /* pos is past the last address */
	int rc = BW_OK;

	for (size_t i = 0; i <= g->n6; i++) {
		while (depth > 0 &&
		       (i == g->n6 ||
			memcmp(stack[depth - 1]->end, src[i].start, 16) < 0)) {
			struct range6 *t = stack[--depth];
			if (!pos_end && memcmp(pos, t->end, 16) <= 0) {
				GROW_OR_FAIL(out, capout, nout + 1);
				out[nout] = *t;
				memcpy(out[nout++].start, pos, 16);
				memcpy(pos, t->end, 16);
				inc6(pos);
				pos_end = memcmp(t->end, "\xff\xff\xff\xff\xff\xff\xff\xff"
						 "\xff\xff\xff\xff\xff\xff\xff\xff", 16) == 0;
			}
		}
		if (i == g->n6)
			break;
		if (depth > 0 && !pos_end && memcmp(pos, src[i].start, 16) < 0) {
			GROW_OR_FAIL(out, capout, nout + 1);
			out[nout] = *stack[depth - 1];
			memcpy(out[nout].start, pos, 16);
			memcpy(out[nout].end, src[i].start, 16);
			dec6(out[nout++].end);
		}
		memcpy(pos, src[i].start, 16);
		pos_end = false;
		GROW_OR_FAIL(stack, capstack, depth + 1);
		stack[depth++] = &src[i];
	}
	bw_free(g->r6);
	g->r6 = out;
	g->n6 = nout;
	g->cap6 = capout;
	out = NULL;
	goto done;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
done:
	bw_free(out);
	bw_free(stack);
	return rc;
}

/* Sorts the tables if loading left them out of order and cuts
 * overlapping ranges apart (split4/split6). */
static int
finish_tables(struct bw_geo *g, bool sort4, bool sort6, struct bw_err *err)
{
	size_t over4 = 0, over6 = 0;
	int rc;

	if (sort4)
		qsort(g->r4, g->n4, sizeof(*g->r4), cmp_r4);
	if (sort6)
		qsort(g->r6, g->n6, sizeof(*g->r6), cmp_r6);
	/* ranges starting inside an earlier one (the furthest end so far) */
	for (size_t i = 1, m = 0; i < g->n4; i++) {
		if (g->r4[i].start <= g->r4[m].end)
			over4++;
		if (g->r4[i].end > g->r4[m].end)
			m = i;
	}
	for (size_t i = 1, m = 0; i < g->n6; i++) {
		if (memcmp(g->r6[i].start, g->r6[m].end, 16) <= 0)
			over6++;
		if (memcmp(g->r6[i].end, g->r6[m].end, 16) > 0)
			m = i;
	}
	if (over4 > 0 && (rc = split4(g, err)) != BW_OK)
		return rc;
	if (over6 > 0 && (rc = split6(g, err)) != BW_OK)
		return rc;
	g->overlaps += over4 + over6;
	/* give back what doubling left over (about a third of the table) */
	if (g->n4 > 0 && g->cap4 > g->n4) {
		struct range4 *x = bw_realloc(g->r4, g->n4 * sizeof(*g->r4));
		if (x != NULL) {
			g->r4 = x;
			g->cap4 = g->n4;
		}
	}
	if (g->n6 > 0 && g->cap6 > g->n6) {
		struct range6 *x = bw_realloc(g->r6, g->n6 * sizeof(*g->r6));
		if (x != NULL) {
			g->r6 = x;
			g->cap6 = g->n6;
		}
	}
	return BW_OK;
}

static int load_asn(struct bw_geo *g, struct bw_reader *r, const char *path,
		    struct bw_err *err);

int
bw_geo_load_asn_csv(struct bw_geo *g, const char *path, struct bw_err *err)
{
	struct bw_reader *r = NULL;
	int rc = bw_reader_open(path, &r, err);

	if (rc == BW_OK)
		rc = load_asn(g, r, path, err);
	bw_reader_free(r);
	return rc;
}

int
bw_geo_load_asn_mem(struct bw_geo *g, const void *buf, size_t len,
		    const char *name, struct bw_err *err)
{
	struct bw_reader *r = NULL;
	int rc = bw_reader_open_mem(buf, len, name, &r, err);

	if (rc == BW_OK)
		rc = load_asn(g, r, name, err);
	bw_reader_free(r);
	return rc;
}

/* Reads the lines of r into the table (path names it in messages). */
static int
load_asn(struct bw_geo *g, struct bw_reader *r, const char *path,
	 struct bw_err *err)
{
	const char *line;
	size_t len;
	long lineno = 0;
	int too_long, got, rc;
	bool sort4 = false, sort6 = false;

	while ((got = bw_reader_line(r, &line, &len, &lineno, &too_long, err)) == 1) {
		const char *p = line, *end = line + len;
		char f_start[BW_GEO_LINE_MAX], f_end[BW_GEO_LINE_MAX];
		char f_asn[32], f_org[BW_GEO_ORG_MAX + 1];
		unsigned char a[16], b[16];
		int fa, fb, more = 0;
		long ls, le, la, lo;
		unsigned long long asn = 0;
		uint32_t org = 0;

		if (too_long || len > BW_GEO_LINE_MAX) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s:%ld: line longer than %d bytes", path,
					lineno, BW_GEO_LINE_MAX);
			goto out;
		}
		if (len == 0 || (lineno == 1 && len >= 9 &&
				 memcmp(line, "start_ip,", 9) == 0))
			continue; /* blank line, header */
		ls = csv_field(&p, end, f_start, sizeof(f_start), &more);
		le = ls < 0 || !more ? -1 : csv_field(&p, end, f_end, sizeof(f_end), &more);
		la = le < 0 || !more ? -1 : csv_field(&p, end, f_asn, sizeof(f_asn), &more);
		lo = la < 0 || !more ? -1 : csv_field(&p, end, f_org, sizeof(f_org), &more);
		if (lo < 0 || more) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s:%ld: expected start_ip,end_ip,asn,as_org "
					"(as_org at most %d bytes)",
					path, lineno, BW_GEO_ORG_MAX);
			goto out;
		}
		if (!parse_addr(f_start, (size_t)ls, &fa, a) ||
		    !parse_addr(f_end, (size_t)le, &fb, b)) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s:%ld: not an IP address: %.64s", path,
					lineno, parse_addr(f_start, (size_t)ls, &fa, a)
							? f_end : f_start);
			goto out;
		}
		if (fa != fb) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s:%ld: start and end of different families",
					path, lineno);
			goto out;
		}
		if (memcmp(a, b, 16) > 0) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s:%ld: start above end", path, lineno);
			goto out;
		}
		if (la == 0 || la > 10) {
			rc = bw_err_set(err, BW_EFORMAT, "%s:%ld: bad ASN", path,
					lineno);
			goto out;
		}
		for (long i = 0; i < la; i++) {
			if (f_asn[i] < '0' || f_asn[i] > '9') {
				rc = bw_err_set(err, BW_EFORMAT,
						"%s:%ld: bad ASN", path, lineno);
				goto out;
			}
			asn = asn * 10 + (unsigned)(f_asn[i] - '0');
		}
		if (asn > UINT32_MAX) {
			rc = bw_err_set(err, BW_EFORMAT, "%s:%ld: ASN above 2^32-1",
					path, lineno);
			goto out;
		}
		if ((fa == AF_INET ? g->n4 : g->n6) >= BW_GEO_RANGES_MAX) {
			rc = bw_err_set(err, BW_ELIMIT,
					"%s:%ld: more than %d IPv%d ranges", path,
					lineno, BW_GEO_RANGES_MAX,
					fa == AF_INET ? 4 : 6);
			goto out;
		}
		rc = org_number(g, f_org, strlen(f_org), &org, err);
		if (rc)
			goto out;
		if (fa == AF_INET) {
			struct range4 *x;
			x = bw_grow(g->r4, &g->cap4, g->n4 + 1, sizeof(*g->r4));
			if (x == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			g->r4 = x;
			x[g->n4] = (struct range4){ be32(a), be32(b), (uint32_t)asn, org };
			if (g->n4 > 0 && x[g->n4].start <= x[g->n4 - 1].start)
				sort4 = true;
			g->n4++;
		} else {
			struct range6 *x;
			x = bw_grow(g->r6, &g->cap6, g->n6 + 1, sizeof(*g->r6));
			if (x == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			g->r6 = x;
			memcpy(x[g->n6].start, a, 16);
			memcpy(x[g->n6].end, b, 16);
			x[g->n6].asn = (uint32_t)asn;
			x[g->n6].org = org;
			if (g->n6 > 0 && memcmp(x[g->n6].start, x[g->n6 - 1].start, 16) <= 0)
				sort6 = true;
			g->n6++;
		}
	}
	if (got < 0) {
		rc = -got;
		goto out;
	}
	rc = finish_tables(g, sort4, sort6, err);
out:
	if (rc) {
		/* never leave a half-loaded or unsorted table behind */
		g->n4 = 0;
		g->n6 = 0;
		g->overlaps = 0;
	}
	return rc;
}

int
bw_geo_asn(const struct bw_geo *g, const char *addr, struct bw_geo_asn *out,
	   struct bw_err *err)
{
	unsigned char a[16];
	int family;
	size_t lo = 0, hi;

	if (!parse_addr(addr, strlen(addr), &family, a))
		return bw_err_set(err, BW_EINVAL, "not an IP address: %.64s", addr);
	if (family == AF_INET) {
		uint32_t v = be32(a);
		/* the first range starting above v; the one before may hold v */
		hi = g->n4;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (g->r4[mid].start <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && v <= g->r4[lo - 1].end) {
			out->asn = g->r4[lo - 1].asn;
			out->org = g->orgs[g->r4[lo - 1].org];
			return BW_OK;
		}
	} else {
		hi = g->n6;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(g->r6[mid].start, a, 16) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && memcmp(a, g->r6[lo - 1].end, 16) <= 0) {
			out->asn = g->r6[lo - 1].asn;
			out->org = g->orgs[g->r6[lo - 1].org];
			return BW_OK;
		}
	}
	return bw_err_set(err, BW_ENOTFOUND, "%s: no AS announces it", addr);
}

int
bw_geo_check(const struct bw_geo *g)
{
	for (size_t i = 0; i < g->n4; i++)
		if (g->r4[i].start > g->r4[i].end ||
		    (i > 0 && g->r4[i].start <= g->r4[i - 1].end) ||
		    g->r4[i].org >= g->norgs)
			return 0;
	for (size_t i = 0; i < g->n6; i++)
		if (memcmp(g->r6[i].start, g->r6[i].end, 16) > 0 ||
		    (i > 0 && memcmp(g->r6[i].start, g->r6[i - 1].end, 16) <= 0) ||
		    g->r6[i].org >= g->norgs)
			return 0;
	return 1;
}

void
bw_geo_stats(const struct bw_geo *g, struct bw_geo_stats *out)
{
	out->ranges4 = g->n4;
	out->ranges6 = g->n6;
	out->orgs = g->norgs;
	out->overlaps = g->overlaps;
	out->bytes = g->cap4 * sizeof(*g->r4) + g->cap6 * sizeof(*g->r6) +
		     g->cap_orgs * sizeof(*g->orgs) + g->org_bytes;
}
