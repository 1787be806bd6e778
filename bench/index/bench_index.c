/*
 * bench_index.c - build time, memory and look-up speed of the index.
 *
 *   bench_index [-d DOMAINS] [-c CIDRS] [-q QUERIES] [-s STORE_DOMAINS]
 *
 * Synthetic but shaped like real lists: domains of 1-3 labels under a mix
 * of TLDs (a third of them subdomains), prefixes 70% IPv4 (/8-/32, mostly
 * /24 and /32) and 30% IPv6 (/16-/128, mostly /32-/64 and /128).  Queries
 * are generated before timing: hits (a listed name under a random extra
 * label, an address inside a listed prefix) and misses (names of the same
 * shape that are not listed, random addresses).  -s also writes a
 * temporary store with that many domains and times bw_index_build() on it.
 * The machine is shared: run big sizes once.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "index/index.h"
#include "store/store.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Look-ups are timed in CPU time, since the machine is shared; builds in
 * wall-clock time, since they also wait for the disk. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
peak_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static const char *const tlds[] = {
	"com", "com", "com", "net", "org", "ru", "xyz", "top", "info", "de",
	"co.uk", "cn", "online", "site", "io", "br", "in", "shop",
};

static size_t
make_label(char *out, size_t min, size_t max)
{
	size_t n = min + rnd() % (max - min + 1);

	for (size_t i = 0; i < n; i++)
		out[i] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rnd() % (i && i + 1 < n ? 37 : 36)];
	return n;
}

/* A name like "shop-x1.example.com" or "example.co.uk" into out. */
static size_t
make_name(char *out)
{
	size_t n = 0;
	const char *tld = tlds[rnd() % (sizeof(tlds) / sizeof(tlds[0]))];

	if (rnd() % 3 == 0) {
		n += make_label(out, 1, 10);
		out[n++] = '.';
	}
	n += make_label(out + n, 5, 14);
	out[n++] = '.';
	memcpy(out + n, tld, strlen(tld));
	n += strlen(tld);
	out[n] = '\0';
	return n;
}

/* n strings packed into one buffer */
struct names {
	char *buf;
	size_t *off, *len, n;
};

static struct names
gen_names(size_t n)
{
	struct names s = {malloc(n * 40), malloc(n * sizeof(size_t)),
			  malloc(n * sizeof(size_t)), n};
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		s.off[i] = used;
		s.len[i] = make_name(s.buf + used);
		used += s.len[i] + 1;
	}
	return s;
}

static void
report_lookups(const char *what, size_t n, double t)
{
	printf("  %-34s %8.1f ns/query  %6.1f M/s\n", what, t * 1e9 / (double)n,
	       (double)n / t / 1e6);
}

static size_t sink; /* keeps the compiler from dropping look-ups */

static void
bench_domains(size_t nd, size_t nq)
{
	struct names listed = gen_names(nd), miss;
	struct bw_index_builder *b = NULL;
	struct bw_index *ix = NULL;
	struct bw_index_stats st;
	struct bw_err err = {0, ""};
	struct names hit = {malloc(nq * 48), malloc(nq * sizeof(size_t)),
			    malloc(nq * sizeof(size_t)), nq};
	struct bw_index_name *q = malloc(nq * sizeof(*q));
	uint32_t *hits = malloc((64 * 4 + 256) * sizeof(uint32_t));
	struct bw_index_match m[4];
	long rss0 = peak_rss_mb();
	double t0, t1, t2;
	size_t found;

	printf("domains: %zu listed\n", nd);
	t0 = wall_s();
	bw_index_builder_new(0, &b, &err);
	for (size_t i = 0; i < nd; i++) {
		struct bw_index_entry e = {BW_IOC_DOMAIN, listed.buf + listed.off[i],
					   listed.len[i], (int64_t)i + 1, -1, NULL, 0};
		if (bw_index_builder_add(b, &e, &err)) {
			fprintf(stderr, "add: %s\n", err.msg);
			exit(1);
		}
	}
	t1 = wall_s();
	if (bw_index_builder_finish(b, &ix, &err)) {
		fprintf(stderr, "finish: %s\n", err.msg);
		exit(1);
	}
	t2 = wall_s();
	bw_index_builder_free(b);
	bw_index_stats(ix, &st);
	printf("  build: add %.2f s + finish %.2f s = %.2f s; peak RSS %ld -> %ld MB\n",
	       t1 - t0, t2 - t1, t2 - t0, rss0, peak_rss_mb());
	printf("  snapshot %.1f MB: strings %.1f MB, records %.1f MB, table %.1f MB;"
	       " %zu distinct\n", st.bytes / 1e6, st.string_bytes / 1e6,
	       st.record_bytes / 1e6, st.domain_bytes / 1e6, st.indicators);
	printf("  bytes per domain beyond the strings: %.1f (strings %.1f)\n",
	       (double)(st.bytes - st.string_bytes) / (double)st.indicators,
	       (double)st.string_bytes / (double)st.indicators);

	/* queries, packed as in a log buffer: hits under an extra label;
	 * misses of the same shape */
	for (size_t i = 0, used = 0; i < nq; i++) {
		size_t k = rnd() % nd;
		hit.off[i] = used;
		hit.len[i] = (size_t)snprintf(hit.buf + used, 48, "www.%s",
					      listed.buf + listed.off[k]);
		used += hit.len[i] + 1;
	}
	miss = gen_names(nq);

	for (int pass = 0; pass < 2; pass++) {
		const char *kind = pass ? "miss" : "hit";
		char label[64];
		found = 0;
		t0 = now_s();
		for (size_t i = 0; i < nq; i++) {
			const struct names *x = pass ? &miss : &hit;
			const char *s = x->buf + x->off[i];
			size_t len = x->len[i];
			found += bw_index_lookup_domain(ix, s, len, m, 4);
		}
		t1 = now_s();
		snprintf(label, sizeof(label), "single %s (%zu matched)", kind, found);
		report_lookups(label, nq, t1 - t0);
		sink += found;

		for (size_t i = 0; i < nq; i++) {
			const struct names *x = pass ? &miss : &hit;
			q[i].name = x->buf + x->off[i];
			q[i].len = x->len[i];
		}
		found = 0;
		t0 = now_s();
		for (size_t i = 0; i < nq; i += 64) {
			size_t k = nq - i < 64 ? nq - i : 64, done = 0;
			while (done < k)
				done += bw_index_lookup_domains(ix, q + i + done, k - done,
								hits, 64 * 4 + 256);
			for (size_t j = 0; j < k; j++)
				found += q[i + j].n;
		}
		t1 = now_s();
		snprintf(label, sizeof(label), "batched %s (%zu matched)", kind, found);
		report_lookups(label, nq, t1 - t0);
		sink += found;
	}
	free(hit.buf);
	free(hit.off);
	free(hit.len);
	free(q);
	free(hits);
	free(listed.buf);
	free(listed.off);
	free(listed.len);
	free(miss.buf);
	free(miss.off);
	free(miss.len);
	bw_index_free(ix);
}

static void
bench_cidrs(size_t nc, size_t nq)
{
	struct bw_index_builder *b = NULL;
	struct bw_index *ix = NULL;
	struct bw_index_stats st;
	struct bw_err err = {0, ""};
	struct bw_index_addr *listed = malloc(nc * sizeof(*listed));
	struct bw_index_addr_query *q = malloc(nq * sizeof(*q));
	uint32_t *hits = malloc(64 * 130 * sizeof(uint32_t));
	struct bw_index_match m[4];
	long rss0 = peak_rss_mb();
	double t0, t1, t2;
	size_t found;

	printf("prefixes: %zu listed (70%% IPv4, 30%% IPv6)\n", nc);
	t0 = wall_s();
	bw_index_builder_new(0, &b, &err);
	for (size_t i = 0; i < nc; i++) {
		struct bw_ioc ioc;
		char text[80];
		int v6 = rnd() % 10 < 3, len;
		uint64_t r = rnd();
		if (!v6) {
			static const int l4[] = {8, 12, 16, 16, 20, 22, 24, 24, 24, 24,
						 24, 28, 29, 30, 32, 32, 32, 32, 32, 32};
			len = l4[r % 20];
			snprintf(text, sizeof(text), "%u.%u.%u.%u/%d", (unsigned)(r >> 8) & 255,
				 (unsigned)(r >> 16) & 255, (unsigned)(r >> 24) & 255,
				 (unsigned)(r >> 32) & 255, len);
		} else {
			static const int l6[] = {16, 29, 32, 32, 36, 40, 44, 48, 48, 48,
						 56, 64, 64, 64, 64, 96, 128, 128, 128, 128};
			uint64_t r2 = rnd();
			len = l6[r % 20];
			snprintf(text, sizeof(text), "2%03x:%x:%x:%x:%x:%x:%x:%x/%d",
				 (unsigned)(r >> 8) & 0xfff, (unsigned)(r >> 20) & 0xffff,
				 (unsigned)(r >> 36) & 0xffff, (unsigned)r2 & 0xffff,
				 (unsigned)(r2 >> 16) & 0xffff, (unsigned)(r2 >> 32) & 0xffff,
				 (unsigned)(r2 >> 48) & 0xffff, (unsigned)(r >> 52) & 0xfff, len);
		}
		/* canonical form (host bits cleared) as the store would hold it */
		if (bw_ioc_parse(text, strlen(text), BW_IOC_CIDR, &ioc, &err)) {
			fprintf(stderr, "%s: %s\n", text, err.msg);
			exit(1);
		}
		{
			struct bw_index_entry e = {ioc.type, ioc.value, ioc.len, 0, -1, NULL, 0};
			if (bw_index_builder_add(b, &e, &err)) {
				fprintf(stderr, "add: %s\n", err.msg);
				exit(1);
			}
		}
		/* an address inside, for the hit queries */
		{
			char a[64];
			size_t al = strcspn(ioc.value, "/");
			memcpy(a, ioc.value, al);
			a[al] = '\0';
			bw_index_parse_addr(a, al, &listed[i]);
			if (len < (v6 ? 128 : 32)) {
				int bits = v6 ? 128 : 32;
				for (int k = len; k < bits; k++)
					if (rnd() & 1)
						listed[i].addr[k / 8] |= (uint8_t)(0x80 >> (k % 8));
			}
		}
	}
	t1 = wall_s();
	if (bw_index_builder_finish(b, &ix, &err)) {
		fprintf(stderr, "finish: %s\n", err.msg);
		exit(1);
	}
	t2 = wall_s();
	bw_index_builder_free(b);
	bw_index_stats(ix, &st);
	printf("  build: add (with canonical re-parse) %.2f s + finish %.2f s;"
	       " peak RSS %ld -> %ld MB\n", t1 - t0, t2 - t1, rss0, peak_rss_mb());
	printf("  %zu distinct (%zu merged); IPv4 table %.1f MB, IPv6 table %.1f MB;"
	       " %.1f bytes per prefix in the tables\n", st.indicators, st.merged,
	       st.ipv4_bytes / 1e6, st.ipv6_bytes / 1e6,
	       (double)(st.ipv4_bytes + st.ipv6_bytes) / (double)st.indicators);

	for (int pass = 0; pass < 2; pass++) {
		char label[64];
		for (size_t i = 0; i < nq; i++) {
			if (pass == 0) {
				q[i].a = listed[rnd() % nc];
			} else {
				uint64_t r = rnd(), r2 = rnd();
				q[i].a.family = r % 10 < 3 ? 6 : 4;
				memcpy(q[i].a.addr, &r2, 8);
				memcpy(q[i].a.addr + 8, &r, 8);
				if (q[i].a.family == 6)
					q[i].a.addr[0] = (uint8_t)(0x20 | (q[i].a.addr[0] & 0x0f));
			}
		}
		found = 0;
		t0 = now_s();
		for (size_t i = 0; i < nq; i++)
			found += bw_index_lookup_addr(ix, &q[i].a, m, 4);
		t1 = now_s();
		snprintf(label, sizeof(label), "single %s (%zu matched)",
			 pass ? "random" : "inside", found);
		report_lookups(label, nq, t1 - t0);
		sink += found;
		found = 0;
		t0 = now_s();
		for (size_t i = 0; i < nq; i += 64) {
			size_t k = nq - i < 64 ? nq - i : 64, done = 0;
			while (done < k)
				done += bw_index_lookup_addrs(ix, q + i + done, k - done, hits,
							      64 * 130);
			for (size_t j = 0; j < k; j++)
				found += q[i + j].n;
		}
		t1 = now_s();
		snprintf(label, sizeof(label), "batched %s (%zu matched)",
			 pass ? "random" : "inside", found);
		report_lookups(label, nq, t1 - t0);
		sink += found;
	}
	free(listed);
	free(q);
	free(hits);
	bw_index_free(ix);
}

/* Writes n domains, each with one record and one of 50 tags, straight into
 * a new store (the schema of src/store/store.c), then times the build. */
static void
bench_store(size_t n)
{
	char path[] = "/tmp/bw-bench-index-XXXXXX";
	char db[64], tagname[128];
	struct bw_store *st = NULL;
	struct bw_index *ix = NULL;
	struct bw_index_stats s;
	struct bw_err err = {0, ""};
	sqlite3 *h;
	sqlite3_stmt *ind, *rec, *rt;
	char name[64];
	double t0, t1, c0, c1;
	int fd = mkstemp(path);
	long rss0;

	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);
	if (bw_store_open(db, 0, &st, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	h = bw_store_db(st);
	t0 = wall_s();
	sqlite3_exec(h, "BEGIN; INSERT INTO source(name, created) VALUES ('bench', 0);", 0, 0, 0);
	for (int t = 1; t <= 50; t++) {
		snprintf(tagname, sizeof(tagname), "INSERT INTO tag VALUES (%d, 'malware', 'family%d')", t, t);
		sqlite3_exec(h, tagname, 0, 0, 0);
	}
	sqlite3_prepare_v2(h, "INSERT INTO indicator(id, type, value, created) VALUES (?1, 1, ?2, 0)", -1, &ind, 0);
	sqlite3_prepare_v2(h, "INSERT INTO record(id, indicator_id, source_id, confidence, tlp,"
			   " first_seen, last_seen, added, updated) VALUES (?1, ?1, 1, 50, 2, 0, 0, 0, 0)",
			   -1, &rec, 0);
	sqlite3_prepare_v2(h, "INSERT INTO record_tag VALUES (?1, ?2)", -1, &rt, 0);
	for (size_t i = 1; i <= n; i++) {
		size_t len = make_name(name);
		sqlite3_bind_int64(ind, 1, (int64_t)i);
		sqlite3_bind_text(ind, 2, name, (int)len, SQLITE_STATIC);
		if (sqlite3_step(ind) != SQLITE_DONE) { /* a repeated name */
			sqlite3_reset(ind);
			continue;
		}
		sqlite3_reset(ind);
		sqlite3_bind_int64(rec, 1, (int64_t)i);
		sqlite3_step(rec);
		sqlite3_reset(rec);
		sqlite3_bind_int64(rt, 1, (int64_t)i);
		sqlite3_bind_int64(rt, 2, (int64_t)(1 + rnd() % 50));
		sqlite3_step(rt);
		sqlite3_reset(rt);
	}
	sqlite3_finalize(ind);
	sqlite3_finalize(rec);
	sqlite3_finalize(rt);
	sqlite3_exec(h, "COMMIT", 0, 0, 0);
	t1 = wall_s();
	printf("store: %zu domains written in %.1f s\n", n, t1 - t0);
	rss0 = peak_rss_mb();
	t0 = wall_s();
	c0 = now_s();
	if (bw_index_build(st, 1, &ix, &err)) {
		fprintf(stderr, "build: %s\n", err.msg);
		exit(1);
	}
	t1 = wall_s();
	c1 = now_s();
	bw_index_stats(ix, &s);
	printf("  bw_index_build: %.2f s (%.2f s CPU) for %zu indicators (%zu records,"
	       " %zu tag sets); peak RSS %ld -> %ld MB\n", t1 - t0, c1 - c0, s.indicators,
	       s.records, s.tagsets, rss0, peak_rss_mb());
	bw_index_free(ix);
	bw_store_close(st);
	unlink(db);
	snprintf(path, sizeof(path), "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db);
	unlink(path);
}

int
main(int argc, char **argv)
{
	size_t nd = 1000000, nc = 1000000, nq = 2000000, ns = 0;
	int c;

	while ((c = getopt(argc, argv, "d:c:q:s:")) != -1) {
		switch (c) {
		case 'd': nd = strtoul(optarg, NULL, 10); break;
		case 'c': nc = strtoul(optarg, NULL, 10); break;
		case 'q': nq = strtoul(optarg, NULL, 10); break;
		case 's': ns = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_index [-d DOMAINS] [-c CIDRS] [-q QUERIES]"
				" [-s STORE_DOMAINS]\n");
			return 2;
		}
	}
	if (nd)
		bench_domains(nd, nq);
	if (nc)
		bench_cidrs(nc, nq);
	if (ns)
		bench_store(ns);
	return sink == (size_t)-1;
}
