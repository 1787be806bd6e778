/*
 * test_match.c - the matcher over an index built in the test: sightings in
 * line order across batch and arena boundaries, several matches on a line,
 * format detection per input, a callback that stops the run; and the
 * sighting aggregator (keys, hours, its limit, flushing into a store).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed/reader.h"
#include "intel/match.h"
#include "storetest.h"
#include "tap.h"

#define MAXS 4096

struct got {
	int n;
	long line[MAXS];
	int64_t store_id[MAXS], time[MAXS];
	char value[8][256], observer[8][64], indicator[8][256];
	int stop_after; /* return BW_EIO after this many, if > 0 */
	int bad;
	long bad_line[8];
};

static int
on_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	struct got *g = ctx;

	if (g->n < MAXS) {
		g->line[g->n] = s->line;
		g->store_id[g->n] = s->indicator->store_id;
		g->time[g->n] = s->time;
		if (g->n < 8) {
			snprintf(g->value[g->n], 256, "%.*s", (int)s->value_len, s->value);
			snprintf(g->observer[g->n], 64, "%.*s", (int)s->observer_len, s->observer);
			snprintf(g->indicator[g->n], 256, "%s", s->indicator->value);
		}
	}
	g->n++;
	if (g->stop_after > 0 && g->n == g->stop_after)
		return bw_err_set(err, BW_EIO, "stopped by the callback");
	return BW_OK;
}

static void
on_bad(void *ctx, const char *file, long line, const char *why)
{
	struct got *g = ctx;

	(void)file;
	(void)why;
	if (g->bad < 8)
		g->bad_line[g->bad] = line;
	g->bad++;
}

static struct bw_index *
make_index(void)
{
	static const struct bw_tag tags[] = {{"tag", "phishing"}};
	const struct bw_index_entry e[] = {
		{BW_IOC_DOMAIN, "evil.example", 12, 11, 80, tags, 1},
		{BW_IOC_CIDR, "10.0.0.0/8", 10, 12, -1, NULL, 0},
		{BW_IOC_IPV4, "10.1.2.3", 8, 13, 50, NULL, 0},
		{BW_IOC_URL, "http://x.example/a", 18, 14, -1, NULL, 0},
		{BW_IOC_DOMAIN, "long.example", 12, 15, -1, NULL, 0},
	};
	struct bw_index_builder *b = NULL;
	struct bw_index *ix = NULL;

	if (bw_index_builder_new(1795952487, &b, NULL) != BW_OK)
		return NULL;
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		if (bw_index_builder_add(b, &e[i], NULL) != BW_OK)
			goto out;
	bw_index_builder_finish(b, &ix, NULL);
out:
	bw_index_builder_free(b);
	return ix;
}

static int
run_mem(struct bw_matcher *m, const char *text, size_t n,
	struct bw_match_stats *st, struct bw_err *err)
{
	struct bw_reader *r = NULL;
	int rc = bw_reader_open_mem(text, n, "mem", &r, err);

	if (rc)
		return rc;
	rc = bw_matcher_run_reader(m, r, "mem", st, err);
	bw_reader_free(r);
	return rc;
}

static struct got g;

static void
test_batches(void)
{
	struct bw_index *ix = make_index();
	struct bw_matcher *m = NULL;
	struct bw_match_options o = {0};
	struct bw_match_stats st;
	struct bw_err err;
	char *text = malloc(700 * 200);
	size_t n = 0;
	int in_order = 1, want = 0;

	if (!CHECK(ix != NULL))
		return;
	o.format = BW_LOGFMT_AUTO;
	o.on_sighting = on_sighting;
	o.on_bad = on_bad;
	o.ctx = &g;
	CHECK_INT(bw_matcher_new(ix, &o, &m, &err), BW_OK);
	/* 700 BIND lines, every 7th a subdomain of evil.example, two bad */
	for (int i = 1; i <= 700; i++) {
		if (i == 300 || i == 301)
			n += (size_t)snprintf(text + n, 200, "garbage line %d\n", i);
		else
			n += (size_t)snprintf(text + n, 200,
					      "29-Nov-2026 11:41:27.967 client @0x7f 192.0.2.%d#5 "
					      "(%s): query: %s IN A +E(0)K (127.0.0.1)\n",
					      i % 250, i % 7 ? "good.example" : "a.Evil.EXAMPLE.",
					      i % 7 ? "good.example" : "a.Evil.EXAMPLE.");
		if (i % 7 == 0 && i != 301)
			want++;
	}
	memset(&g, 0, sizeof(g));
	CHECK_INT(run_mem(m, text, n, &st, &err), BW_OK);
	CHECK_INT(st.format, BW_LOGFMT_BIND);
	CHECK_INT(st.lines, 700);
	CHECK_INT(st.records, 698);
	CHECK_INT(st.bad, 2);
	CHECK_INT(g.bad, 2);
	CHECK_INT(g.bad_line[0], 300);
	CHECK_INT(g.bad_line[1], 301);
	CHECK_INT(g.n, want);
	CHECK_INT(st.sightings, want);
	CHECK_INT(st.matched, want);
	for (int i = 0; i < g.n; i++)
		if (g.line[i] % 7 != 0 || (i > 0 && g.line[i] <= g.line[i - 1]))
			in_order = 0;
	CHECK(in_order);
	CHECK_INT(g.line[0], 7);
	CHECK_STR(g.value[0], "a.Evil.EXAMPLE.");
	CHECK_STR(g.indicator[0], "evil.example");
	CHECK_STR(g.observer[0], "192.0.2.7");
	CHECK_INT(g.store_id[0], 11);
	CHECK_INT(g.time[0], 1795952487);

	/* the same matcher, another input of another format: detected anew */
	static const char squid[] =
		"1795952491.667 0 192.0.2.1 TCP_TUNNEL/200 0 CONNECT 10.1.2.3:443 - HIER_DIRECT/10.1.2.3 -\n"
		"1795952492.667 0 192.0.2.1 TCP_MISS/200 9 GET http://X.example:80/a - HIER_DIRECT/1.1.1.1 text/html\n"
		"1795952493.667 0 192.0.2.1 TCP_MISS/200 9 GET http://www.evil.example/ - HIER_DIRECT/1.1.1.1 text/html\n"
		"1795952494.667 0 192.0.2.1 TCP_TUNNEL/200 0 CONNECT 11.1.2.3:443 - HIER_DIRECT/11.1.2.3 -\n";
	memset(&g, 0, sizeof(g));
	CHECK_INT(run_mem(m, squid, sizeof(squid) - 1, &st, &err), BW_OK);
	CHECK_INT(st.format, BW_LOGFMT_SQUID);
	CHECK_INT(g.n, 4);
	CHECK_STR(g.indicator[0], "10.1.2.3"); /* the longest prefix first */
	CHECK_STR(g.indicator[1], "10.0.0.0/8");
	CHECK_INT(g.line[1], 1);
	CHECK_STR(g.indicator[2], "http://x.example/a");
	CHECK_STR(g.value[2], "http://X.example:80/a");
	CHECK_STR(g.indicator[3], "evil.example");
	CHECK_INT(g.line[3], 3);
	CHECK_INT(st.matched, 3);

	/* a callback error stops the run with its code */
	memset(&g, 0, sizeof(g));
	g.stop_after = 3;
	CHECK_INT(run_mem(m, text, n, &st, &err), BW_EIO);
	CHECK_INT(g.n, 3);
	CHECK_STR(err.msg, "stopped by the callback");

	/* an input of no known format */
	memset(&g, 0, sizeof(g));
	CHECK_INT(run_mem(m, "what is this\n", 13, &st, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "cannot tell the log format") != NULL);
	bw_matcher_free(m);
	free(text);
	bw_index_free(ix);
}

/* Values of 4 KB: the arena fills before the batch does. */
static void
test_arena(void)
{
	struct bw_index *ix = make_index();
	struct bw_matcher *m = NULL;
	struct bw_match_options o = {0};
	struct bw_match_stats st;
	struct bw_err err;
	size_t per = 4000, n = 0;
	char *text = malloc(600 * (per + 64));
	int in_order = 1;

	o.format = BW_LOGFMT_PLAIN;
	o.on_sighting = on_sighting;
	o.ctx = &g;
	CHECK_INT(bw_matcher_new(ix, &o, &m, &err), BW_OK);
	for (int i = 1; i <= 600; i++) {
		n += (size_t)snprintf(text + n, 64, "http://long.example/%d?", i);
		memset(text + n, 'q', per);
		n += per;
		text[n++] = '\n';
	}
	memset(&g, 0, sizeof(g));
	CHECK_INT(run_mem(m, text, n, &st, &err), BW_OK);
	CHECK_INT(st.records, 600);
	CHECK_INT(g.n, 600);
	for (int i = 0; i < g.n; i++)
		if (g.line[i] != i + 1 || g.store_id[i] != 15)
			in_order = 0;
	CHECK(in_order);
	bw_matcher_free(m);
	free(text);
	bw_index_free(ix);
}

static void
test_aggregator(void)
{
	char dir[] = "/tmp/bw-test-match-XXXXXX", path[128], cmd[160];
	struct bw_sightings *a = NULL;
	struct bw_store *st = NULL;
	struct bw_err err;
	const int64_t h = 1795950000;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s.db", dir);
	CHECK_INT(bw_sightings_new(0, &a, &err), BW_EINVAL);
	CHECK_INT(bw_sightings_new(3, &a, &err), BW_OK);
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.1", 9, h + 10, &err), BW_OK);
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.1", 9, h + 5, &err), BW_OK);
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.1", 9, h + 3599, &err), BW_OK);
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.1", 9, h + 3600, &err), BW_OK); /* next hour */
	CHECK_INT(bw_sightings_add(a, 2, "", 0, h, &err), BW_OK);
	CHECK_INT(bw_sightings_keys(a), 3);
	CHECK_INT(bw_sightings_total(a), 5);
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.2", 9, h, &err), BW_ELIMIT);
	CHECK_INT(bw_sightings_add(a, 2, "", 0, h + 1, &err), BW_OK); /* known key */
	CHECK_INT(bw_sightings_add(a, 0, "", 0, h, &err), BW_EINVAL);
	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	CHECK_INT(bw_sightings_flush(a, st, &err), BW_OK);
	CHECK_INT(bw_sightings_keys(a), 0);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting"), 3);
	CHECK_INT(count(st, "SELECT count FROM sighting WHERE indicator_id = 1 AND hour = 1795950000"), 3);
	CHECK_INT(count(st, "SELECT first_seen FROM sighting WHERE indicator_id = 1 AND hour = 1795950000"), h + 5);
	CHECK_INT(count(st, "SELECT last_seen FROM sighting WHERE indicator_id = 1 AND hour = 1795950000"), h + 3599);
	CHECK_INT(count(st, "SELECT count FROM sighting WHERE indicator_id = 2"), 2);
	/* after a flush the keys are free again (these two are never flushed) */
	CHECK_INT(bw_sightings_add(a, 1, "192.0.2.2", 9, h, &err), BW_OK);
	CHECK_INT(bw_sightings_add(a, 2, "", 0, h + 2, &err), BW_OK);
	/* many keys: the table grows */
	bw_sightings_free(a);
	a = NULL;
	CHECK_INT(bw_sightings_new(100000, &a, &err), BW_OK);
	for (int i = 0; i < 5000; i++)
		bw_sightings_add(a, 1 + i % 50, "192.0.2.9", 9, h + (i / 50) * 3600, &err);
	CHECK_INT(bw_sightings_keys(a), 5000);
	for (int i = 0; i < 5000; i++)
		bw_sightings_add(a, 1 + i % 50, "192.0.2.9", 9, h + (i / 50) * 3600 + 1, &err);
	CHECK_INT(bw_sightings_keys(a), 5000);
	CHECK_INT(bw_sightings_total(a), 10000);
	CHECK_INT(bw_sightings_flush(a, st, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting"), 3 + 5000);
	CHECK_INT(count(st, "SELECT sum(count) FROM sighting"), 6 + 10000);
	bw_sightings_free(a);
	bw_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* ---- parallel runs: the same sightings, bad lines and counts as one
 * thread, in the same order, for a file of several pieces ---------------- */

struct text {
	char *p;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static int
text_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%ld %.*s %s %lld\n", s->line, (int)s->value_len,
			 s->value, s->indicator->value, (long long)s->indicator->store_id);

	(void)err;
	text_add(ctx, line, (size_t)n);
	return BW_OK;
}

static struct text bad_text;

static void
text_bad(void *ctx, const char *file, long line, const char *why)
{
	char b[256];
	int n = snprintf(b, sizeof(b), "%s:%ld: %s\n", file, line, why);

	(void)ctx;
	text_add(&bad_text, b, (size_t)n);
}

static void *
par_begin(void *ctx, size_t piece)
{
	(void)ctx;
	(void)piece;
	return calloc(1, sizeof(struct text));
}

static int
par_end(void *ctx, size_t piece, void *pctx, struct bw_err *err)
{
	struct text *all = ctx, *t = pctx;

	(void)piece;
	if (err != NULL && t->len > 0)
		text_add(all, t->p, t->len);
	free(t->p);
	free(t);
	return BW_OK;
}

static void
test_parallel(void)
{
	static const char *const lines[] = {
		"10.1.2.3", "x.evil.example", "nothing.test", "not a value at all",
		"10.200.0.1", "http://x.example/a", "EVIL.EXAMPLE.", "192.0.2.1",
		"a.long.example", "# a comment",
	};
	char path[] = "/tmp/bw-test-par-XXXXXX";
	struct bw_index *ix = make_index();
	struct bw_matcher *m = NULL;
	struct bw_match_options o = {0};
	struct bw_match_pieces pc;
	struct bw_match_stats s1, s2;
	struct bw_err err;
	struct text seq = {0}, par = {0}, seqbad = {0};
	uint64_t x = 88172645463325252ull;
	size_t written = 0;
	FILE *f;
	int fd = mkstemp(path);

	if (!CHECK(fd >= 0 && ix != NULL))
		return;
	f = fdopen(fd, "w");
	while (written < BW_MATCH_PARALLEL_MIN + (3u << 20)) {
		const char *l;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		l = lines[x % (sizeof(lines) / sizeof(lines[0]))];
		written += (size_t)fprintf(f, "%s\n", l);
	}
	fputs("10.1.2.3", f); /* the last line has no newline */
	fclose(f);

	o.format = BW_LOGFMT_PLAIN;
	o.on_sighting = text_sighting;
	o.on_bad = text_bad;
	o.ctx = &seq;
	CHECK_INT(bw_matcher_new(ix, &o, &m, &err), BW_OK);
	CHECK_INT(bw_matcher_run(m, path, &s1, &err), BW_OK);
	seqbad = bad_text;
	memset(&bad_text, 0, sizeof(bad_text));
	CHECK(s1.sightings > 100000);
	CHECK(s1.bad > 1000);

	pc.begin = par_begin;
	pc.end = par_end;
	pc.ctx = &par;
	for (unsigned t = 2; t <= 3; t++) {
		par.len = 0;
		bad_text.len = 0;
		CHECK_INT(bw_matcher_run_parallel(ix, &o, &pc, path, t, &s2, &err), BW_OK);
		CHECK(par.len == seq.len && memcmp(par.p, seq.p, seq.len) == 0);
		/* the first BW_MATCH_BAD_KEPT bad lines of each piece, in order:
		 * the report starts as the sequential one does */
		CHECK(bad_text.len > 0 && bad_text.len < seqbad.len &&
		      memcmp(bad_text.p, seqbad.p, 10 * 30) == 0);
		CHECK_INT(s2.lines, s1.lines);
		CHECK_INT(s2.records, s1.records);
		CHECK_INT(s2.bad, s1.bad);
		CHECK_INT(s2.skipped, s1.skipped);
		CHECK_INT(s2.matched, s1.matched);
		CHECK_INT(s2.sightings, s1.sightings);
		CHECK_INT(s2.format, BW_LOGFMT_PLAIN);
	}
	/* zeek and csv depend on their header: not cut in pieces */
	o.format = BW_LOGFMT_CSV;
	CHECK_INT(bw_matcher_run_parallel(ix, &o, &pc, path, 2, &s2, &err), BW_ENOTFOUND);
	CHECK_INT(bw_matcher_run_parallel(ix, &o, &pc, "-", 2, &s2, &err), BW_ENOTFOUND);
	bw_matcher_free(m);
	bw_index_free(ix);
	unlink(path);
	free(seq.p);
	free(par.p);
	free(seqbad.p);
	free(bad_text.p);
}

int
main(void)
{
	TAP_RUN(test_batches);
	TAP_RUN(test_arena);
	TAP_RUN(test_aggregator);
	TAP_RUN(test_parallel);
	return tap_done();
}
