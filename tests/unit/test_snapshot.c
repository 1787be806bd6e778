/*
 * test_snapshot.c - index snapshot files (src/index/image.c, the snapshot
 * part of src/index/index.c and lpm.c): a snapshot saved and loaded
 * answers every look-up and a whole matcher run exactly as the snapshot
 * built from the store; it is not used once the store's active set changes
 * (an indicator added, revoked, its tags changed) or an indicator in it
 * expires; a truncated, damaged or foreign file is refused, and damaged
 * images never make a look-up read out of bounds (the ASan build checks).
 *
 * Data: the Maltrail sample of tests/data/index (domains, addresses,
 * CIDRs, URLs with their malware families as tags) in a store, plus a few
 * records of the kinds it lacks (IPv6, e-mail, hash, an expiry).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "feed/reader.h"
#include "index/image.h"
#include "index/index.h"
#include "intel/match.h"
#include "store/store.h"
#include "tap.h"

#define NOW 1795952487
#define MAXV 4000

static char dir[] = "/tmp/bw-test-snapshot-XXXXXX";
static char db[128], snap[128];
static char values[MAXV][256];
static size_t nvalues;

static int
put(struct bw_store *st, const char *value, enum bw_ioc_type hint,
    const char *source, int conf, int revoked, int64_t valid_until,
    const char *tag)
{
	struct bw_ioc ioc;
	struct bw_tag tv[1];
	char kind[32];
	struct bw_record_in in;
	enum bw_upsert_result res;
	struct bw_err err = {0, ""};

	if (bw_ioc_parse(value, strlen(value), hint, &ioc, &err) != BW_OK || ioc.len > 255)
		return 1; /* not an indicator: skipped */
	memset(&in, 0, sizeof(in));
	in.ioc = &ioc;
	in.source = source;
	in.confidence = conf;
	in.tlp = BW_TLP_UNSET;
	in.revoked = revoked;
	in.valid_until = valid_until;
	if (tag && bw_tag_parse(tag, kind, sizeof(kind), &tv[0], &err) == 0) {
		in.tags = tv;
		in.ntags = 1;
	}
	if (bw_store_upsert(st, &in, NOW, &res, &err) != BW_OK) {
		printf("#   upsert %s: %s\n", value, err.msg);
		return -1;
	}
	if (nvalues < MAXV)
		memcpy(values[nvalues++], ioc.value, ioc.len + 1);
	return 0;
}

/* The Maltrail sample into st; returns the rows stored. */
static int
load_maltrail(struct bw_store *st)
{
	const char *data = getenv("BW_TEST_DATA");
	char path[1024], line[2048], tag[300];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/index/maltrail_sample.csv", data ? data : "tests/data");
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *c1, *c2, *c3;
		enum bw_ioc_type hint;
		line[strcspn(line, "\r\n")] = '\0';
		c1 = strchr(line, ',');
		c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		c3 = c2 ? strchr(c2 + 1, ',') : NULL;
		if (c3 == NULL || strncmp(line, "indicator,", 10) == 0)
			continue;
		*c1 = *c2 = *c3 = '\0';
		if (strcmp(c1 + 1, "domain") == 0)
			hint = BW_IOC_DOMAIN;
		else if (strcmp(c1 + 1, "cidr") == 0)
			hint = BW_IOC_CIDR;
		else if (strcmp(c1 + 1, "url") == 0)
			hint = BW_IOC_URL;
		else
			hint = BW_IOC_ANY;
		snprintf(tag, sizeof(tag), "%s:%s", strcmp(c2 + 1, "malware") == 0 ? "malware" : "tag",
			 c3 + 1);
		if (put(st, line, hint, "maltrail", 60, 0, 0, tag) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* Every match of a query as one line of text, in order. */
static void
describe(const struct bw_index *ix, const char *q, char *out, size_t cap)
{
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	size_t n = 0, at = 0;

	if (bw_index_lookup(ix, q, strlen(q), m, BW_INDEX_MATCH_MAX, &n, NULL) != BW_OK)
		n = 0;
	at += (size_t)snprintf(out + at, cap - at, "%zu:", n);
	for (size_t i = 0; i < n && i < BW_INDEX_MATCH_MAX && at < cap; i++) {
		at += (size_t)snprintf(out + at, cap - at, " %s/%d/%d/%lld/", m[i].value,
				       (int)m[i].type, m[i].confidence, (long long)m[i].store_id);
		for (size_t k = 0; k < m[i].ntags && at < cap; k++)
			at += (size_t)snprintf(out + at, cap - at, "%s:%s,", m[i].tags[k].kind,
					       m[i].tags[k].name);
	}
}

/* The queries: every listed value, a subdomain or neighbour of each. */
static int
same_answers(const struct bw_index *a, const struct bw_index *b, size_t *hits,
	     size_t *subhits)
{
	char q[300], x[8192], y[8192];
	int diff = 0;

	*hits = *subhits = 0;
	for (size_t i = 0; i < nvalues; i++) {
		for (int v = 0; v < 2; v++) {
			if (v == 0)
				snprintf(q, sizeof(q), "%s", values[i]);
			else
				snprintf(q, sizeof(q), "sub.%s", values[i]);
			describe(a, q, x, sizeof(x));
			describe(b, q, y, sizeof(y));
			if (strcmp(x, y) != 0) {
				if (diff++ < 3)
					printf("#   %s: %s | %s\n", q, x, y);
			}
			if (x[0] != '0')
				++*(v == 0 ? hits : subhits);
		}
	}
	return diff;
}

struct out {
	char *p;
	size_t len, cap;
};

static int
on_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	struct out *o = ctx;
	char line[1024];
	int n = snprintf(line, sizeof(line), "%ld %.*s %s %d %lld %zu\n", s->line,
			 (int)s->value_len, s->value, s->indicator->value,
			 s->indicator->confidence, (long long)s->indicator->store_id,
			 s->indicator->ntags);

	(void)err;
	if (o->len + (size_t)n + 1 > o->cap) {
		size_t cap = o->cap;
		char *p = bw_grow(o->p, &cap, o->len + (size_t)n + 1, 1);
		if (p == NULL)
			return BW_ENOMEM;
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, line, (size_t)n + 1);
	o->len += (size_t)n;
	return BW_OK;
}

/* A plain log of every listed value and a subdomain of each, matched. */
static int
match_all(const struct bw_index *ix, struct out *o)
{
	struct bw_match_options opt;
	struct bw_matcher *m = NULL;
	struct bw_reader *r = NULL;
	struct bw_match_stats st;
	size_t cap = nvalues * 300 + 1, n = 0;
	char *text = malloc(cap);
	int rc;

	if (text == NULL)
		return BW_ENOMEM;
	for (size_t i = 0; i < nvalues; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s\nx.%s\n", values[i], values[i]);
	memset(&opt, 0, sizeof(opt));
	opt.format = BW_LOGFMT_PLAIN;
	opt.on_sighting = on_sighting;
	opt.ctx = o;
	rc = bw_matcher_new(ix, &opt, &m, NULL);
	if (rc == BW_OK)
		rc = bw_reader_open_mem(text, n, "mem", &r, NULL);
	if (rc == BW_OK)
		rc = bw_matcher_run_reader(m, r, "mem", &st, NULL);
	bw_reader_free(r);
	bw_matcher_free(m);
	free(text);
	return rc;
}

static struct bw_store *st;

static void
test_roundtrip(void)
{
	struct bw_index *built = NULL, *loaded = NULL;
	struct bw_index_stats a, b;
	struct bw_err err = {0, ""};
	struct out o1 = {0}, o2 = {0};
	size_t hits = 0, subhits = 0;
	int n = load_maltrail(st);

	/* 932 domain, 545 ip, 898 cidr, 510 url rows; the ones bw_ioc_parse
	 * refuses (paths without a host, "address:port" rows that are not
	 * addresses) are skipped */
	CHECK(n > 2000);
	CHECK_INT(put(st, "2001:db8::/32", BW_IOC_CIDR, "local", 40, 0, 0, "tag:v6net"), 0);
	CHECK_INT(put(st, "2001:db8::1", BW_IOC_IPV6, "local", 45, 0, 0, NULL), 0);
	CHECK_INT(put(st, "bad@evil.example", BW_IOC_EMAIL, "local", -1, 0, 0, NULL), 0);
	CHECK_INT(put(st, "d41d8cd98f00b204e9800998ecf8427e", BW_IOC_MD5, "local", 10, 0, 0, NULL), 0);
	CHECK_INT(bw_index_build(st, NOW, &built, &err), BW_OK);
	if (!CHECK(built != NULL))
		return;
	CHECK_INT(bw_index_save(built, snap, &err), BW_OK);
	{
		/* the file's header says what the snapshot was built from */
		struct bw_index_source want, got;
		char none[160];
		bw_index_source(built, &want);
		memset(&got, 0, sizeof(got));
		CHECK_INT(bw_index_file_source(snap, &got, &err), BW_OK);
		CHECK(got.ident == want.ident && got.gen == want.gen &&
		      got.maxrec == want.maxrec && got.expires == want.expires);
		CHECK(want.gen > 0 && want.maxrec > 2000);
		snprintf(none, sizeof(none), "%s/none.index", dir);
		CHECK_INT(bw_index_file_source(none, &got, &err), BW_ENOTFOUND);
	}
	CHECK_INT(bw_index_load(snap, &loaded, &err), BW_OK);
	if (!CHECK(loaded != NULL)) {
		printf("#   %s\n", err.msg);
		bw_index_free(built);
		return;
	}
	bw_index_stats(built, &a);
	bw_index_stats(loaded, &b);
	CHECK_INT(b.indicators, a.indicators);
	CHECK_INT(b.by_type[BW_IOC_CIDR], a.by_type[BW_IOC_CIDR]);
	CHECK_INT(b.tags, a.tags);
	CHECK_INT(b.built, NOW);
	CHECK(a.indicators > 2000);
	CHECK_INT(same_answers(built, loaded, &hits, &subhits), 0);
	/* every listed value matches itself; the subdomains of the listed
	 * domains match too ("sub." before a URL or address is no query) */
	CHECK_INT(hits, nvalues);
	CHECK(subhits >= a.by_type[BW_IOC_DOMAIN]);
	CHECK_INT(match_all(built, &o1), BW_OK);
	CHECK_INT(match_all(loaded, &o2), BW_OK);
	CHECK(o1.len > 100000);
	CHECK(o1.len == o2.len && memcmp(o1.p, o2.p, o1.len) == 0);
	/* a loaded snapshot saves to an identical file */
	{
		char again[160];
		struct bw_index *l2 = NULL;
		snprintf(again, sizeof(again), "%s/again.index", dir);
		CHECK_INT(bw_index_save(loaded, again, &err), BW_OK);
		CHECK_INT(bw_index_load(again, &l2, &err), BW_OK);
		if (l2)
			CHECK_INT(same_answers(built, l2, &hits, &subhits), 0);
		bw_index_free(l2);
	}
	bw_free(o1.p);
	bw_free(o2.p);
	bw_index_free(built);
	bw_index_free(loaded);
}

/* bw_index_open: built and written, then loaded; *why says why not. */
static int
open_how(int64_t now, struct bw_index_origin *how)
{
	struct bw_index *ix = NULL;
	struct bw_err err = {0, ""};
	int rc = bw_index_open(st, snap, now, false, &ix, how, &err);

	if (rc)
		printf("#   %s\n", err.msg);
	bw_index_free(ix);
	return rc;
}

static void
test_staleness(void)
{
	struct bw_index_origin how;
	struct bw_index *ix = NULL;
	struct bw_index_match m[4];
	struct bw_err err = {0, ""};
	long n = 0;

	unlink(snap);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK(strstr(how.why, "no snapshot") != NULL);
	CHECK_INT(open_how(NOW + 10, &how), BW_OK);
	CHECK(how.loaded && !how.saved);

	/* a new indicator */
	CHECK_INT(put(st, "new.example", BW_IOC_DOMAIN, "local", 50, 0, 0, NULL), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK(strstr(how.why, "changed") != NULL);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(how.loaded);

	/* the same data again moves only last_seen: still fresh */
	CHECK_INT(put(st, "new.example", BW_IOC_DOMAIN, "local", 50, 0, 0, NULL), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(how.loaded);

	/* revoked */
	CHECK_INT(put(st, "new.example", BW_IOC_DOMAIN, "local", 50, 1, 0, NULL), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK_INT(bw_index_open(st, snap, NOW, false, &ix, &how, &err), BW_OK);
	CHECK(how.loaded);
	if (ix)
		CHECK_INT(bw_index_lookup_domain(ix, "new.example", 11, m, 4), 0);
	bw_index_free(ix);
	ix = NULL;

	/* a new tag on a listed indicator */
	CHECK_INT(put(st, "2001:db8::1", BW_IOC_IPV6, "local", 45, 0, 0, "tag:extra"), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);

	/* an indicator that expires at NOW + 100: fresh until then, not after */
	CHECK_INT(put(st, "short.example", BW_IOC_DOMAIN, "local", 50, 0, NOW + 100, NULL), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK_INT(open_how(NOW + 100, &how), BW_OK);
	CHECK(how.loaded);
	CHECK_INT(bw_index_open(st, snap, NOW + 101, false, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK(strstr(how.why, "expired") != NULL);
	if (ix)
		CHECK_INT(bw_index_lookup_domain(ix, "short.example", 13, m, 4), 0);
	bw_index_free(ix);
	ix = NULL;

	/* the expiry job marking records expired bumps the generation too */
	CHECK_INT(put(st, "short2.example", BW_IOC_DOMAIN, "local", 50, 0, NOW + 1000, NULL), 0);
	CHECK_INT(open_how(NOW + 200, &how), BW_OK);
	CHECK_INT(bw_store_mark_expired(st, NOW + 2000, &n, &err), BW_OK);
	CHECK(n >= 1);
	CHECK_INT(open_how(NOW + 200, &how), BW_OK);
	CHECK(!how.loaded);

	/* another store with the same snapshot path: never used */
	{
		char db2[160];
		struct bw_store *st2 = NULL;
		snprintf(db2, sizeof(db2), "%s/other.db", dir);
		CHECK_INT(bw_store_open(db2, 0, &st2, &err), BW_OK);
		if (st2) {
			CHECK_INT(bw_index_open(st2, snap, NOW, false, &ix, &how, &err), BW_OK);
			CHECK(!how.loaded);
			CHECK(strstr(how.why, "another store") != NULL);
			bw_index_free(ix);
			ix = NULL;
			bw_store_close(st2);
		}
	}

	/* without a path: built, nothing written */
	CHECK_INT(bw_index_open(st, NULL, NOW, false, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && !how.saved);
	bw_index_free(ix);
}

/* BW_INDEX_SAVE_BEHIND: the index is returned while a thread writes the
 * snapshot; bw_index_open_done() waits for it and says how it went.  The
 * file is the one a save in line writes (the next open loads it), and the
 * index answers while it is being written. */
static void
test_save_behind(void)
{
	struct bw_index_origin how;
	struct bw_index *ix = NULL;
	struct bw_index_match m[4];
	struct bw_err err = {0, ""};
	char bad[200];

	unlink(snap);
	CHECK_INT(bw_index_open(st, snap, NOW, BW_INDEX_SAVE_BEHIND, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && !how.saved && how.saving != NULL);
	if (ix)
		CHECK_INT(bw_index_lookup_ip(ix, "2001:db8::1", 11, m, 4), 2);
	bw_index_open_done(&how);
	CHECK(how.saved && how.saving == NULL && how.save_error[0] == '\0');
	bw_index_open_done(&how); /* again: nothing to wait for */
	CHECK(how.saved);
	bw_index_free(ix);
	ix = NULL;
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(how.loaded);
	/* a fresh file is loaded: nothing is written behind */
	CHECK_INT(bw_index_open(st, snap, NOW, BW_INDEX_SAVE_BEHIND, &ix, &how, &err), BW_OK);
	CHECK(how.loaded && how.saving == NULL);
	bw_index_open_done(&how);
	bw_index_free(ix);
	ix = NULL;

	/* a path that cannot be written: the failure comes with the wait */
	snprintf(bad, sizeof(bad), "%s/x.index", snap);
	CHECK_INT(bw_index_open(st, bad, NOW, BW_INDEX_SAVE_BEHIND, &ix, &how, &err), BW_OK);
	bw_index_open_done(&how);
	CHECK(!how.saved && how.save_error[0] != '\0');
	bw_index_free(ix);
}

/* Lapsed indicators.  A reader that skips them itself (skips_lapsed, as
 * `bulwark match` does) goes on loading the file after the only record of
 * an indicator expires; the expiry of a record whose indicator another
 * record keeps listed changes that indicator's tags, so it makes the file
 * stale for every reader.  The last valid_until of each indicator goes
 * through the file. */
static void
test_lapses(void)
{
	char db2[160], snap2[176];
	struct bw_store *s2 = NULL;
	struct bw_index *ix = NULL;
	struct bw_index_origin how;
	struct bw_index_source src;
	struct bw_index_match m[4];
	struct bw_err err = {0, ""};
	const char *why = NULL;

	snprintf(db2, sizeof(db2), "%s/lapse.db", dir);
	snprintf(snap2, sizeof(snap2), "%s.index", db2);
	if (!CHECK(bw_store_open(db2, 0, &s2, &err) == BW_OK))
		return;
	CHECK_INT(put(s2, "keep.example", BW_IOC_DOMAIN, "local", 50, 0, 0, NULL), 0);
	CHECK_INT(put(s2, "brief.example", BW_IOC_DOMAIN, "local", 60, 0, NOW + 100, "tag:brief"), 0);
	CHECK_INT(put(s2, "192.0.2.0/24", BW_IOC_CIDR, "local", 40, 0, NOW + 300, NULL), 0);
	CHECK_INT(put(s2, "192.0.2.7", BW_IOC_IPV4, "local", 70, 0, NOW + 100, NULL), 0);

	CHECK_INT(bw_index_open(s2, snap2, NOW, true, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && how.saved);
	if (ix == NULL)
		goto out;
	bw_index_source(ix, &src);
	CHECK(src.expires == NOW + 100);
	CHECK(src.changes == INT64_MAX);
	if (CHECK(bw_index_lookup_domain(ix, "brief.example", 13, m, 4) == 1)) {
		CHECK(!bw_index_lapsed(ix, m[0].id, NOW + 100));
		CHECK(bw_index_lapsed(ix, m[0].id, NOW + 101));
	}
	if (CHECK(bw_index_lookup_domain(ix, "keep.example", 12, m, 4) == 1))
		CHECK(!bw_index_lapsed(ix, m[0].id, INT64_MAX));
	bw_index_free(ix);
	ix = NULL;

	/* brief.example and 192.0.2.7 have lapsed: the file still serves */
	CHECK_INT(bw_index_open(s2, snap2, NOW + 101, true, &ix, &how, &err), BW_OK);
	CHECK(how.loaded);
	if (ix == NULL)
		goto out;
	if (CHECK(bw_index_lookup_ip(ix, "192.0.2.7", 9, m, 4) == 2)) {
		CHECK(m[0].type == BW_IOC_IPV4 && bw_index_lapsed(ix, m[0].id, NOW + 101));
		CHECK(m[1].type == BW_IOC_CIDR && !bw_index_lapsed(ix, m[1].id, NOW + 101));
		CHECK(bw_index_lapsed(ix, m[1].id, NOW + 301));
	}
	if (CHECK(bw_index_lookup_domain(ix, "brief.example", 13, m, 4) == 1))
		CHECK(bw_index_lapsed(ix, m[0].id, NOW + 101));
	/* not for a reader that answers from it as it is */
	CHECK_INT(bw_index_fresh(ix, s2, NOW + 101, false, &why, &err), BW_OK);
	CHECK(why != NULL && strstr(why, "expired") != NULL);
	CHECK_INT(bw_index_fresh(ix, s2, NOW + 301, true, &why, &err), BW_OK);
	CHECK(why == NULL);
	bw_index_free(ix);
	ix = NULL;
	/* the writer's refresh (bulwark ingest) leaves such a file alone */
	CHECK_INT(bw_index_refresh(s2, snap2, NOW + 101, &how, &err), BW_OK);
	CHECK(!how.saved && how.why[0] == '\0');

	/* a second source keeps brief.example listed after NOW + 100 */
	CHECK_INT(put(s2, "brief.example", BW_IOC_DOMAIN, "other", 30, 0, 0, NULL), 0);
	CHECK_INT(bw_index_open(s2, snap2, NOW, true, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && how.saved);
	if (ix == NULL)
		goto out;
	bw_index_source(ix, &src);
	CHECK(src.changes == NOW + 100);
	if (CHECK(bw_index_lookup_domain(ix, "brief.example", 13, m, 4) == 1)) {
		CHECK(!bw_index_lapsed(ix, m[0].id, NOW + 101));
		CHECK_INT(m[0].ntags, 1);
		CHECK_INT(m[0].confidence, 60);
	}
	bw_index_free(ix);
	ix = NULL;
	CHECK_INT(bw_index_open(s2, snap2, NOW + 100, true, &ix, &how, &err), BW_OK);
	CHECK(how.loaded);
	bw_index_free(ix);
	ix = NULL;
	/* then its first record expires: its tag and confidence go */
	CHECK_INT(bw_index_open(s2, snap2, NOW + 101, true, &ix, &how, &err), BW_OK);
	CHECK(!how.loaded && strstr(how.why, "still listed") != NULL);
	if (ix != NULL && CHECK(bw_index_lookup_domain(ix, "brief.example", 13, m, 4) == 1)) {
		CHECK_INT(m[0].ntags, 0);
		CHECK_INT(m[0].confidence, 30);
	}
out:
	bw_index_free(ix);
	bw_store_close(s2);
}

static int
slurp(const char *path, char **p, size_t *n)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*n = (size_t)sb.st_size;
	*p = malloc(*n + 1);
	if (*p == NULL || read(fd, *p, *n) != (ssize_t)*n) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
spill(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_corrupt(void)
{
	struct bw_index_origin how;
	struct bw_index *ix = NULL;
	struct bw_err err = {0, ""};
	char bad[160], *img = NULL;
	size_t n = 0;
	int refused = 0, accepted = 0;

	unlink(snap);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	if (!CHECK(slurp(snap, &img, &n) == 0))
		return;
	snprintf(bad, sizeof(bad), "%s/bad.index", dir);

	/* truncated */
	CHECK_INT(spill(bad, img, n - 64), 0);
	CHECK_INT(bw_index_load(bad, &ix, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "truncated") != NULL);
	{
		struct bw_index_source src;
		CHECK_INT(bw_index_file_source(bad, &src, &err), BW_EFORMAT);
		CHECK_INT(spill(bad, img, 40), 0);
		CHECK_INT(bw_index_file_source(bad, &src, &err), BW_EFORMAT);
		CHECK_INT(spill(bad, img, n), 0);
		CHECK_INT(bw_index_file_source(bad, &src, &err), BW_OK);
		img[8] ^= 0x7; /* another format version */
		CHECK_INT(spill(bad, img, n), 0);
		CHECK_INT(bw_index_file_source(bad, &src, &err), BW_EVERSION);
		img[8] ^= 0x7;
	}
	/* one byte changed in the middle */
	img[n / 2] ^= 0x40;
	CHECK_INT(spill(bad, img, n), 0);
	CHECK_INT(bw_index_load(bad, &ix, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "checksum") != NULL);
	img[n / 2] ^= 0x40;
	/* another format version, another byte order, not a snapshot */
	img[8] ^= 0x7;
	CHECK_INT(spill(bad, img, n), 0);
	CHECK_INT(bw_index_load(bad, &ix, &err), BW_EVERSION);
	img[8] ^= 0x7;
	img[12] ^= 0x3;
	CHECK_INT(spill(bad, img, n), 0);
	CHECK_INT(bw_index_load(bad, &ix, &err), BW_EVERSION);
	img[12] ^= 0x3;
	CHECK_INT(spill(bad, "hello\n", 6), 0);
	CHECK_INT(bw_index_load(bad, &ix, &err), BW_EFORMAT);
	CHECK(ix == NULL);

	/* bw_index_open on a damaged file rebuilds it and writes it anew */
	CHECK_INT(spill(snap, img, n / 2), 0);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(!how.loaded && how.saved);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(how.loaded);

	/* damage past the checksum: random bytes of the image changed, fed to
	 * the loader itself; each is refused or answers look-ups within its
	 * bounds (ASan and UBSan would stop the test otherwise) */
	for (int round = 0; round < 400; round++) {
		void *raw = bw_malloc(n + 64);
		char *p, d[8192];
		if (raw == NULL)
			break;
		p = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
		memcpy(p, img, n);
		for (int k = 0; k < 1 + round % 8; k++) {
			size_t at = BW_IMAGE_HEADER + next_rand() % (n - BW_IMAGE_HEADER);
			p[at] = (char)next_rand();
		}
		if (bw_index_from_image(raw, p, n, &ix, &err) != BW_OK) {
			refused++;
			continue;
		}
		accepted++;
		for (size_t i = 0; i < nvalues; i += 7)
			describe(ix, values[i], d, sizeof(d));
		describe(ix, "a.b.c.example", d, sizeof(d));
		describe(ix, "10.1.2.3", d, sizeof(d));
		describe(ix, "2001:db8::7", d, sizeof(d));
		bw_index_free(ix);
		ix = NULL;
	}
	printf("# damaged images: %d refused, %d accepted\n", refused, accepted);
	CHECK(refused > 0);
	CHECK_INT(refused + accepted, 400);
	free(img);
}

/* Whether this process has a mapping of the file at path. */
static bool
mapped_here(const char *path)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, path) != NULL;
	fclose(f);
	return found;
}

/* bw_index_map: the file mapped answers as the file read; the mapping
 * goes with the index, and with a refused file; a file someone else may
 * write is read instead. */
static void
test_mapped(void)
{
	struct bw_index_origin how;
	struct bw_index *read = NULL, *mapped = NULL, *ix = NULL;
	struct bw_err err = {0, ""};
	struct out o1 = {0}, o2 = {0};
	char bad[160], *img = NULL;
	size_t n = 0, hits = 0, subhits = 0;
	bool was_mapped = false;

	unlink(snap);
	CHECK_INT(open_how(NOW, &how), BW_OK);
	CHECK(how.saved);
	CHECK_INT(bw_index_load(snap, &read, &err), BW_OK);
	CHECK_INT(bw_index_map(snap, &mapped, &was_mapped, &err), BW_OK);
	if (!CHECK(read != NULL && mapped != NULL)) {
		printf("#   %s\n", err.msg);
		goto out;
	}
	CHECK(was_mapped);
	CHECK(mapped_here(snap));
	CHECK_INT(same_answers(read, mapped, &hits, &subhits), 0);
	CHECK(hits > 2000);
	CHECK_INT(match_all(read, &o1), BW_OK);
	CHECK_INT(match_all(mapped, &o2), BW_OK);
	CHECK(o1.len > 100000 && o1.len == o2.len && memcmp(o1.p, o2.p, o1.len) == 0);
	bw_index_free(mapped);
	mapped = NULL;
	CHECK(!mapped_here(snap));

	/* as bw_index_open gives it */
	CHECK_INT(bw_index_open(st, snap, NOW, BW_INDEX_MAP, &ix, &how, &err), BW_OK);
	CHECK(how.loaded && how.mapped);
	bw_index_free(ix);
	ix = NULL;
	CHECK(!mapped_here(snap));

	/* writable by the group: read, not mapped */
	CHECK_INT(chmod(snap, 0620), 0);
	CHECK_INT(bw_index_map(snap, &mapped, &was_mapped, &err), BW_OK);
	CHECK(mapped != NULL && !was_mapped && !mapped_here(snap));
	if (mapped)
		CHECK_INT(same_answers(read, mapped, &hits, &subhits), 0);
	bw_index_free(mapped);
	mapped = NULL;
	CHECK_INT(chmod(snap, 0600), 0);

	/* a damaged file is refused, and not left mapped */
	if (!CHECK(slurp(snap, &img, &n) == 0))
		goto out;
	snprintf(bad, sizeof(bad), "%s/bad-mapped.index", dir);
	img[n / 2] ^= 0x40;
	CHECK_INT(spill(bad, img, n), 0);
	CHECK_INT(bw_index_map(bad, &mapped, &was_mapped, &err), BW_EFORMAT);
	CHECK(mapped == NULL && !was_mapped && strstr(err.msg, "checksum") != NULL &&
	      !mapped_here(bad));
	img[n / 2] ^= 0x40;
	img[8] ^= 0x7; /* another format version: refused at the header */
	CHECK_INT(spill(bad, img, n), 0);
	CHECK_INT(bw_index_map(bad, &mapped, &was_mapped, &err), BW_EVERSION);
	CHECK(mapped == NULL && !mapped_here(bad));
out:
	free(img);
	bw_free(o1.p);
	bw_free(o2.p);
	bw_index_free(mapped);
	bw_index_free(read);
}

int
main(void)
{
	struct bw_err err = {0, ""};
	char cmd[200];

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return tap_done();
	}
	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(snap, sizeof(snap), "%s/s.db.index", dir);
	if (!CHECK(bw_store_open(db, 0, &st, &err) == BW_OK)) {
		printf("#   %s\n", err.msg);
		return tap_done();
	}
	TAP_RUN(test_roundtrip);
	TAP_RUN(test_staleness);
	TAP_RUN(test_save_behind);
	TAP_RUN(test_lapses);
	TAP_RUN(test_corrupt);
	TAP_RUN(test_mapped);
	bw_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
