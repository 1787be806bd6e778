/*
 * test_logfmt.c - the telemetry log parsers on real logs (BIND 9.18,
 * Unbound 1.17, Squid 5.7, Zeek dns.log in TSV and JSON; extracts in
 * tests/data/logs), on the variants each server writes with other
 * settings, on hostile lines, and format detection.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/logfmt.h"
#include "tap.h"

/* What the parser said about every line of a file. */
struct run {
	int lines, records, skipped, bad;
	int by_kind[4];
	/* the first 8 records and the record of line `want` */
	struct {
		int line;
		int64_t time;
		char observer[300];
		char value[5000];
		int kind;
	} rec[8], at;
	int want;
	char first_bad[256];
	int first_bad_line;
};

static char *
slurp(const char *name, size_t *n)
{
	const char *dir = getenv("BW_TEST_DATA");
	char path[1024];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/logs/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	*n = (size_t)len;
	return buf;
}

static void
keep(char *dst, size_t cap, const char *s, size_t n)
{
	snprintf(dst, cap, "%.*s", (int)n, s);
}

static void
run_text(struct bw_logfmt_parser *p, const char *text, size_t n, struct run *r)
{
	const char *s = text, *end = text + n;
	int want = r->want;

	memset(r, 0, sizeof(*r));
	r->want = want;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		struct bw_logrec rec;
		const char *why = NULL;
		enum bw_logline k;

		r->lines++;
		k = bw_logfmt_parse(p, s, (size_t)(e - s), &rec, &why);
		if (k == BW_LOGLINE_RECORD) {
			if (r->records < 8) {
				r->rec[r->records].line = r->lines;
				r->rec[r->records].time = rec.time;
				keep(r->rec[r->records].observer, 300, rec.observer,
				     rec.observer_len);
				keep(r->rec[r->records].value, 5000, rec.value, rec.value_len);
				r->rec[r->records].kind = rec.kind;
			}
			if (r->lines == r->want) {
				r->at.line = r->lines;
				r->at.time = rec.time;
				keep(r->at.observer, 300, rec.observer, rec.observer_len);
				keep(r->at.value, 5000, rec.value, rec.value_len);
				r->at.kind = rec.kind;
			}
			r->records++;
			r->by_kind[rec.kind]++;
		} else if (k == BW_LOGLINE_SKIP) {
			r->skipped++;
		} else {
			if (r->bad == 0) {
				snprintf(r->first_bad, sizeof(r->first_bad), "%s", why);
				r->first_bad_line = r->lines;
			}
			r->bad++;
		}
		s = nl ? nl + 1 : end;
	}
}

static int
run_file(enum bw_logfmt f, const char *name, int want, struct run *r)
{
	struct bw_logfmt_parser *p = NULL;
	size_t n = 0;
	char *text = slurp(name, &n);

	if (text == NULL || bw_logfmt_parser_new(f, &p, NULL) != BW_OK) {
		free(text);
		return -1;
	}
	r->want = want;
	run_text(p, text, n, r);
	bw_logfmt_parser_free(p);
	free(text);
	return 0;
}

/* One line through a fresh parser of format f. */
static enum bw_logline
one(enum bw_logfmt f, const char *line, struct bw_logrec *rec, char *value,
    char *observer)
{
	struct bw_logfmt_parser *p = NULL;
	const char *why;
	enum bw_logline k;

	if (bw_logfmt_parser_new(f, &p, NULL) != BW_OK)
		return BW_LOGLINE_BAD;
	k = bw_logfmt_parse(p, line, strlen(line), rec, &why);
	if (k == BW_LOGLINE_RECORD) {
		keep(value, 5000, rec->value, rec->value_len);
		keep(observer, 300, rec->observer, rec->observer_len);
	} else {
		value[0] = observer[0] = '\0';
	}
	bw_logfmt_parser_free(p);
	return k;
}

static struct run r;

static void
test_bind_real(void)
{
	CHECK_INT(run_file(BW_LOGFMT_BIND, "bind-query.log", 361, &r), 0);
	CHECK_INT(r.lines, 361);
	CHECK_INT(r.records, 361);
	CHECK_INT(r.bad, 0);
	/* 29-Nov-2026 11:41:27.967 client @0x7f8bc7a32098 127.0.0.10#44379
	 * (delfi.lv): query: delfi.lv IN A +E(0)K (127.0.0.1) */
	CHECK_INT(r.rec[0].time, 1795952487);
	CHECK_STR(r.rec[0].observer, "127.0.0.10");
	CHECK_STR(r.rec[0].value, "delfi.lv");
	CHECK_INT(r.rec[0].kind, BW_LOGVAL_NAME);
	CHECK_STR(r.rec[1].value, "bojijac.info");
	/* the last line: 29-Nov-2026 11:41:28.631 client @0x7f8bc46f6c98
	 * 127.0.0.13#52927 (vopyravijo.org): query: vopyravijo.org IN A ... */
	CHECK_INT(r.at.time, 1795952488);
	CHECK_STR(r.at.observer, "127.0.0.13");
	CHECK_STR(r.at.value, "vopyravijo.org");
	/* line 306 (596-605 of the full log): an upper-case name */
	CHECK_INT(run_file(BW_LOGFMT_BIND, "bind-query.log", 306, &r), 0);
	CHECK_STR(r.at.value, "cdn.SOC.INNOCREED.COM");
	CHECK_INT(r.at.time, 1795952488);
}

static void
test_bind_variants(void)
{
	struct bw_logrec rec;
	char v[5000], o[300];

	/* category and severity printed */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "29-Nov-2026 11:02:03.123 queries: info: client @0x7f0a1c0b2d90 "
		      "192.0.2.1#53211 (Example.COM): query: Example.COM IN A +E(0) (10.0.0.1)",
		      &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_STR(v, "Example.COM");
	CHECK_STR(o, "192.0.2.1");
	CHECK_INT(rec.time, 1795950123);
	/* no time, no client object (BIND 9.9), IPv6 client, a view */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "client 2001:db8::53#40000 (a.example.net): view internal: "
		      "query: a.example.net IN AAAA + (2001:db8::1)", &rec, v, o),
		  BW_LOGLINE_RECORD);
	CHECK_STR(v, "a.example.net");
	CHECK_STR(o, "2001:db8::53");
	CHECK_INT(rec.time, 0);
	/* print-time iso8601-utc */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "2026-11-29T11:02:03.123Z client @0x1 192.0.2.1#1 (x.example): "
		      "query: x.example IN A + (10.0.0.1)", &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_INT(rec.time, 1795950123);
	/* other messages of the log are skipped, not bad */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "29-Nov-2026 11:02:03.123 client @0x1 192.0.2.1#1 (x.example): "
		      "query failed (SERVFAIL) for x.example/IN/A at query.c:7185",
		      &rec, v, o), BW_LOGLINE_SKIP);
	CHECK_INT(one(BW_LOGFMT_BIND, "29-Nov-2026 11:02:03.123 general: info: zone "
		      "example/IN: loaded serial 1", &rec, v, o), BW_LOGLINE_SKIP);
	/* syslog from a host named "client" */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "Nov 29 11:02:03 client named[812]: client @0x7f 192.0.2.7#5 "
		      "(y.example): query: y.example IN A + (10.0.0.1)", &rec, v, o),
		  BW_LOGLINE_RECORD);
	CHECK_STR(v, "y.example");
	CHECK_STR(o, "192.0.2.7");
	/* broken lines */
	CHECK_INT(one(BW_LOGFMT_BIND, "hello world", &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_BIND, "client @0x1 notanaddress#5 (x.example): query: "
		      "x.example IN A +", &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_BIND, "client @0x1 192.0.2.1#5 (x.example): query: "
		      "x.example", &rec, v, o), BW_LOGLINE_BAD);
	/* a bad date is no date: the line still has its query */
	CHECK_INT(one(BW_LOGFMT_BIND,
		      "29-Xyz-2026 11:02:03.123 client @0x1 192.0.2.1#1 (x.example): "
		      "query: x.example IN A + (10.0.0.1)", &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_INT(rec.time, 0);
}

static void
test_unbound_real(void)
{
	CHECK_INT(run_file(BW_LOGFMT_UNBOUND, "unbound.log", 5, &r), 0);
	CHECK_INT(r.lines, 368);
	/* 4 start-up lines, 361 queries, "service stopped" and two stats */
	CHECK_INT(r.records, 361);
	CHECK_INT(r.skipped, 7);
	CHECK_INT(r.bad, 0);
	/* [1795952487] unbound[5086:0] info: 127.0.0.10 delfi.lv. A IN */
	CHECK_INT(r.at.line, 5);
	CHECK_INT(r.at.time, 1795952487);
	CHECK_STR(r.at.observer, "127.0.0.10");
	CHECK_STR(r.at.value, "delfi.lv.");
	CHECK_INT(r.at.kind, BW_LOGVAL_NAME);
	CHECK_STR(r.rec[1].value, "bojijac.info.");
	CHECK_INT(run_file(BW_LOGFMT_UNBOUND, "unbound.log", 310, &r), 0);
	CHECK_STR(r.at.value, "cdn.SOC.INNOCREED.COM.");
	CHECK_INT(r.at.time, 1795952487);
}

static void
test_unbound_variants(void)
{
	struct bw_logrec rec;
	char v[5000], o[300];

	CHECK_INT(one(BW_LOGFMT_UNBOUND, "info: 192.0.2.1 example.com. A IN", &rec, v, o),
		  BW_LOGLINE_RECORD);
	CHECK_STR(v, "example.com.");
	CHECK_STR(o, "192.0.2.1");
	CHECK_INT(rec.time, 0);
	/* log-replies */
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "[1732878123] unbound[123:0] info: ::1 "
		      "Example.org. AAAA IN NOERROR 0.000000 1 45", &rec, v, o),
		  BW_LOGLINE_RECORD);
	CHECK_STR(v, "Example.org.");
	CHECK_STR(o, "::1");
	CHECK_INT(rec.time, 1732878123);
	/* syslog, log-tag-queryreply */
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "Nov 29 11:02:03 ns1 unbound: [123:0] query: "
		      "10.1.2.3 x.example. A IN", &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_STR(v, "x.example.");
	CHECK_INT(rec.time, 0);
	/* log-time-iso */
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "2026-11-29T11:02:03.123+01:00 unbound[1:0] info: "
		      "10.1.2.3 x.example. A IN", &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_INT(rec.time, 1795950123 - 3600);
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "[1795952485] unbound[5086:0] notice: init module 0: "
		      "subnetcache", &rec, v, o), BW_LOGLINE_SKIP);
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "[1795952487] unbound[5086:0] info: 127.0.0.10 "
		      "delfi.lv.", &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "[17959x] unbound[5086:0] info: 127.0.0.10 "
		      "delfi.lv. A IN", &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_UNBOUND, "some other program: info: hello", &rec, v, o),
		  BW_LOGLINE_BAD);
}

static void
test_squid_real(void)
{
	CHECK_INT(run_file(BW_LOGFMT_SQUID, "squid-access.log", 97, &r), 0);
	CHECK_INT(r.lines, 400);
	CHECK_INT(r.records, 400);
	CHECK_INT(r.bad, 0);
	/* 134 CONNECTs give hosts, 266 GETs URLs */
	CHECK_INT(r.by_kind[BW_LOGVAL_URL], 266);
	CHECK_INT(r.by_kind[BW_LOGVAL_NAME] + r.by_kind[BW_LOGVAL_ADDR], 134);
	/* 1795952491.667      0 127.0.0.1 TCP_TUNNEL/400 0 CONNECT delfi.lv:443 */
	CHECK_INT(r.rec[0].time, 1795952491);
	CHECK_STR(r.rec[0].observer, "127.0.0.1");
	CHECK_STR(r.rec[0].value, "delfi.lv");
	CHECK_INT(r.rec[0].kind, BW_LOGVAL_NAME);
	CHECK_STR(r.rec[1].value, "http://www.bojijac.info/wp-content/x.js");
	CHECK_INT(r.rec[1].kind, BW_LOGVAL_URL);
	CHECK_STR(r.rec[2].value, "http://mymotherlode.com/login.php?");
	/* line 97: CONNECT 117.26.110.114:443 */
	CHECK_STR(r.at.value, "117.26.110.114");
	CHECK_INT(r.at.kind, BW_LOGVAL_ADDR);
	CHECK_INT(r.at.time, 1795952492);
}

static void
test_squid_variants(void)
{
	struct bw_logrec rec;
	char v[5000], o[300];

	CHECK_INT(one(BW_LOGFMT_SQUID, "1795952491.667      5 2001:db8::7 TCP_TUNNEL/200 "
		      "3000 CONNECT [2001:db8::1]:443 - HIER_DIRECT/2001:db8::1 -",
		      &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_STR(v, "2001:db8::1");
	CHECK_STR(o, "2001:db8::7");
	CHECK_INT(rec.kind, BW_LOGVAL_ADDR);
	CHECK_INT(one(BW_LOGFMT_SQUID, "1795952491.667      0 192.0.2.9 NONE_NONE/400 0 "
		      "NONE error:invalid-request - HIER_NONE/- -", &rec, v, o),
		  BW_LOGLINE_SKIP);
	CHECK_INT(one(BW_LOGFMT_SQUID, "1795952491.667 0 192.0.2.9 TCP_MISS/200",
		      &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_SQUID, "yesterday 0 192.0.2.9 TCP_MISS/200 1 GET "
		      "http://x.example/ - -", &rec, v, o), BW_LOGLINE_BAD);
}

static void
test_zeek_tsv_real(void)
{
	CHECK_INT(run_file(BW_LOGFMT_ZEEK, "zeek-dns.log", 40, &r), 0);
	CHECK_INT(r.lines, 168);
	CHECK_INT(r.records, 160);
	CHECK_INT(r.skipped, 8);
	CHECK_INT(r.bad, 0);
	CHECK_INT(r.rec[0].line, 9);
	CHECK_INT(r.rec[0].time, 1754306946);
	CHECK_STR(r.rec[0].observer, "192.168.64.6");
	CHECK_STR(r.rec[0].value, "desktop-fdp9pg2._dosvc._tcp.local");
	CHECK_STR(r.rec[1].observer, "fe80::812f:78e9:6f5c:c599");
	/* a query with spaces and a UTF-8 apostrophe (mDNS) */
	CHECK_STR(r.at.value, "kishor\xe2\x80\x99s macbook air._companion-link._tcp.local");
	CHECK_STR(r.at.observer, "192.168.64.1");
	CHECK_INT(r.at.time, 1754307329);
	CHECK_INT(run_file(BW_LOGFMT_ZEEK, "zeek-dns.log", 101, &r), 0);
	CHECK_STR(r.at.value, "optimizationguide-pa.googleapis.com");
	CHECK_STR(r.at.observer, "192.168.64.28");
	CHECK_INT(r.at.time, 1754309269);
}

static void
test_zeek_tsv_header(void)
{
	static const char text[] =
		"#separator \\x2c\n"
		"#unset_field,?\n"
		"#fields,query,uid,id.orig_h,ts\n"
		"a.example,C1,192.0.2.1,1700000000.5\n"
		"?,C2,192.0.2.1,1700000001.5\n"
		"b.example,C3,?,?\n"
		"c.example,C4\n"
		"#fields,ts,uid\n"
		"1700000000.5,C5\n";
	struct bw_logfmt_parser *p = NULL;

	CHECK_INT(bw_logfmt_parser_new(BW_LOGFMT_ZEEK, &p, NULL), BW_OK);
	r.want = 6;
	run_text(p, text, sizeof(text) - 1, &r);
	CHECK_INT(r.records, 2);
	CHECK_STR(r.rec[0].value, "a.example");
	CHECK_STR(r.rec[0].observer, "192.0.2.1");
	CHECK_INT(r.rec[0].time, 1700000000);
	/* unset query: nothing to match; unset time and client */
	CHECK_STR(r.at.value, "b.example");
	CHECK_STR(r.at.observer, "");
	CHECK_INT(r.at.time, 0);
	CHECK_INT(r.skipped, 4); /* 3 header lines and the unset query */
	/* too few fields; a #fields without query, and the data under it */
	CHECK_INT(r.bad, 3);
	CHECK_INT(r.first_bad_line, 7);
	bw_logfmt_parser_free(p);
}

static void
test_zeek_json_real(void)
{
	CHECK_INT(run_file(BW_LOGFMT_ZEEK, "zeek-dns-json.log", 2, &r), 0);
	CHECK_INT(r.lines, 60);
	CHECK_INT(r.records, 60);
	CHECK_INT(r.bad, 0);
	CHECK_INT(r.rec[0].time, 1591425407);
	CHECK_STR(r.rec[0].observer, "192.168.100.121");
	CHECK_STR(r.rec[0].value, "8.8.8.8.in-addr.arpa");
	/* line 2 has a TXT answer full of quotes and backslashes */
	CHECK_STR(r.at.value, "l.ns.ostrykebs.pl");
}

static void
test_zeek_json_variants(void)
{
	struct bw_logrec rec;
	char v[5000], o[300];

	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":\"2026-11-29T11:02:03.123456Z\","
		      "\"id.orig_h\":\"2001:db8::1\",\"x\":{\"y\":[1,{\"z\":\"}\"}]},"
		      "\"query\":\"ex\\u0061mple.COM\"}", &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_STR(v, "example.COM");
	CHECK_STR(o, "2001:db8::1");
	CHECK_INT(rec.time, 1795950123);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":1.5,\"query\":\"\\ud83d\\ude00.example\"}",
		      &rec, v, o), BW_LOGLINE_RECORD);
	CHECK_STR(v, "\xf0\x9f\x98\x80.example");
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":1.5,\"uid\":\"C1\"}", &rec, v, o),
		  BW_LOGLINE_SKIP);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":1.5,\"query\":\"a.example\"", &rec, v, o),
		  BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":1.5,\"query\":\"a\\u0000b\"}", &rec, v, o),
		  BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"ts\":1.5,\"query\":\"\\ud800x\"}", &rec, v, o),
		  BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"query\":42}", &rec, v, o), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_ZEEK, "{\"query\":\"a.example\"} x", &rec, v, o),
		  BW_LOGLINE_BAD);
}

static void
test_csv(void)
{
	static const char text[] =
		"# Timestamp;Client;Host;Bytes\n"
		"2026-11-29 11:02:03;192.0.2.1;evil.example;10\n"
		"1795950123.5;\"192.0.2.2\";\"http://x.example/a;b\"\"c\";20\n"
		"# a comment\n"
		";;;\n"
		"never;192.0.2.3;y.example;1\n"
		"1795950123;192.0.2.3\n"
		";;2001:db8::1;\n";
	struct bw_logfmt_parser *p = NULL;
	struct bw_logrec rec;
	char v[5000], o[300];

	CHECK_INT(bw_logfmt_parser_new(BW_LOGFMT_CSV, &p, NULL), BW_OK);
	r.want = 8;
	run_text(p, text, sizeof(text) - 1, &r);
	CHECK_INT(r.records, 3);
	CHECK_STR(r.rec[0].value, "evil.example");
	CHECK_STR(r.rec[0].observer, "192.0.2.1");
	CHECK_INT(r.rec[0].time, 1795950123);
	CHECK_INT(r.rec[0].kind, BW_LOGVAL_NAME);
	CHECK_STR(r.rec[1].value, "http://x.example/a;b\"c");
	CHECK_STR(r.rec[1].observer, "192.0.2.2");
	CHECK_INT(r.rec[1].kind, BW_LOGVAL_URL);
	CHECK_STR(r.at.value, "2001:db8::1");
	CHECK_INT(r.at.kind, BW_LOGVAL_ADDR);
	CHECK_INT(r.at.time, 0);
	CHECK_INT(r.skipped, 3); /* header, comment, empty value */
	CHECK_INT(r.bad, 2);     /* bad time, too few fields */
	CHECK_STR(r.first_bad, "bad time");
	bw_logfmt_parser_free(p);

	/* named columns */
	static const char text2[] = "when,who,what,host\n5,192.0.2.1,x.example,y.example\n";
	CHECK_INT(bw_logfmt_parser_new(BW_LOGFMT_CSV, &p, NULL), BW_OK);
	CHECK_INT(bw_logfmt_set_columns(p, "WHEN", "who", "what", NULL), BW_OK);
	r.want = 0;
	run_text(p, text2, sizeof(text2) - 1, &r);
	CHECK_INT(r.records, 1);
	CHECK_STR(r.rec[0].value, "x.example");
	CHECK_INT(r.rec[0].time, 5);
	bw_logfmt_parser_reset(p);
	CHECK_INT(bw_logfmt_parse(p, "a,b\n", 3, &rec, &(const char *){NULL}),
		  BW_LOGLINE_BAD); /* a header without the named value column */
	CHECK(bw_logfmt_set_columns(p, NULL, NULL,
				    "0123456789012345678901234567890123456789"
				    "0123456789012345678901234567890123456789",
				    NULL) == BW_EINVAL);
	bw_logfmt_parser_free(p);
	CHECK_INT(one(BW_LOGFMT_CSV, "no,header,here", &rec, v, o), BW_LOGLINE_BAD);
}

static void
test_plain(void)
{
	static const char text[] =
		"# list\n"
		"  Evil.Example.  \n"
		"\n"
		"192.0.2.1 # comment\n"
		"[2001:db8::1]\n"
		"hxxp://x\n"
		"http://x.example/p\n"
		"two words\n";

	struct bw_logfmt_parser *p = NULL;

	CHECK_INT(bw_logfmt_parser_new(BW_LOGFMT_PLAIN, &p, NULL), BW_OK);
	r.want = 0;
	run_text(p, text, sizeof(text) - 1, &r);
	CHECK_INT(r.records, 5);
	CHECK_STR(r.rec[0].value, "Evil.Example.");
	CHECK_STR(r.rec[0].observer, "");
	CHECK_INT(r.rec[0].time, 0);
	CHECK_STR(r.rec[1].value, "192.0.2.1");
	CHECK_INT(r.rec[1].kind, BW_LOGVAL_ADDR);
	CHECK_INT(r.rec[2].kind, BW_LOGVAL_ADDR);
	CHECK_INT(r.rec[3].kind, BW_LOGVAL_URL);
	CHECK_INT(r.rec[4].kind, BW_LOGVAL_URL);
	CHECK_INT(r.bad, 1);
	bw_logfmt_parser_free(p);
}

/* An address record carries the address parsed (the matcher looks it up
 * without parsing it again), whichever path the line took. */
static void
test_parsed_addr(void)
{
	static const struct {
		enum bw_logfmt f;
		const char *line, *value;
		int family;
		uint8_t b0, b15;
	} cases[] = {
		{BW_LOGFMT_PLAIN, "198.51.100.7", "198.51.100.7", 4, 198, 0},
		{BW_LOGFMT_PLAIN, "  10.1.2.3  ", "10.1.2.3", 4, 10, 0},
		{BW_LOGFMT_PLAIN, "1.2.3.4 # c", "1.2.3.4", 4, 1, 0},
		{BW_LOGFMT_PLAIN, "2001:db8::ff", "2001:db8::ff", 6, 0x20, 0xff},
		{BW_LOGFMT_PLAIN, "[2001:db8::1]", "[2001:db8::1]", 6, 0x20, 1},
	};
	struct bw_logrec rec;
	char value[5000], observer[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rec, 0x55, sizeof(rec));
		CHECK_INT(one(cases[i].f, cases[i].line, &rec, value, observer),
			  BW_LOGLINE_RECORD);
		CHECK_STR(value, cases[i].value);
		CHECK_INT(rec.kind, BW_LOGVAL_ADDR);
		CHECK_INT(rec.addr.family, cases[i].family);
		CHECK_INT(rec.addr.addr[0], cases[i].b0);
		CHECK_INT(rec.addr.addr[15], cases[i].b15);
	}
	/* a name-like plain value stays a name, a value with a control
	 * character is refused, a bad quad is a name */
	CHECK_INT(one(BW_LOGFMT_PLAIN, "a.example", &rec, value, observer), BW_LOGLINE_RECORD);
	CHECK_INT(rec.kind, BW_LOGVAL_NAME);
	CHECK_INT(one(BW_LOGFMT_PLAIN, "1.2.3.4\x01", &rec, value, observer), BW_LOGLINE_BAD);
	CHECK_INT(one(BW_LOGFMT_PLAIN, "1.2.3.256", &rec, value, observer), BW_LOGLINE_RECORD);
	CHECK_INT(rec.kind, BW_LOGVAL_NAME);
	CHECK_INT(one(BW_LOGFMT_PLAIN, "a.example\x7f", &rec, value, observer), BW_LOGLINE_BAD);
}

static enum bw_logfmt
detect_text(const char *text, size_t n, bool at_end)
{
	struct bw_logfmt_parser *p = NULL;
	enum bw_logfmt f;

	if (bw_logfmt_parser_new(BW_LOGFMT_AUTO, &p, NULL) != BW_OK)
		return BW_LOGFMT_NFORMATS;
	f = bw_logfmt_parser_detect(p, text, n, at_end);
	if (f != bw_logfmt_parser_format(p))
		f = BW_LOGFMT_NFORMATS;
	bw_logfmt_parser_free(p);
	return f;
}

static enum bw_logfmt
detect_file(const char *name)
{
	size_t n = 0;
	char *text = slurp(name, &n);
	enum bw_logfmt f;

	if (text == NULL)
		return BW_LOGFMT_NFORMATS;
	/* only the head, cut mid-line, as the matcher sees it */
	f = detect_text(text, n > 4000 ? 4000 : n, n <= 4000);
	free(text);
	return f;
}

static void
test_detect(void)
{
	static const char csv[] = "time,client,domain\n1,192.0.2.1,a.example\n";
	static const char plain[] = "a.example\nb.example\n192.0.2.1\n";
	static const char junk[] = "hello there\nthis is prose\n";

	CHECK_INT(detect_file("bind-query.log"), BW_LOGFMT_BIND);
	CHECK_INT(detect_file("unbound.log"), BW_LOGFMT_UNBOUND);
	CHECK_INT(detect_file("squid-access.log"), BW_LOGFMT_SQUID);
	CHECK_INT(detect_file("zeek-dns.log"), BW_LOGFMT_ZEEK);
	CHECK_INT(detect_file("zeek-dns-json.log"), BW_LOGFMT_ZEEK);
	CHECK_INT(detect_text(csv, sizeof(csv) - 1, true), BW_LOGFMT_CSV);
	CHECK_INT(detect_text(plain, sizeof(plain) - 1, true), BW_LOGFMT_PLAIN);
	CHECK_INT(detect_text(junk, sizeof(junk) - 1, true), BW_LOGFMT_AUTO);
	CHECK_INT(detect_text("", 0, true), BW_LOGFMT_AUTO);
	/* a fixed parser stays what it is */
	{
		struct bw_logfmt_parser *p = NULL;
		CHECK_INT(bw_logfmt_parser_new(BW_LOGFMT_SQUID, &p, NULL), BW_OK);
		CHECK_INT(bw_logfmt_parser_detect(p, csv, sizeof(csv) - 1, true),
			  BW_LOGFMT_SQUID);
		bw_logfmt_parser_free(p);
	}
	{
		int ok;
		CHECK_INT(bw_logfmt_from_name("unbound", &ok), BW_LOGFMT_UNBOUND);
		CHECK_INT(ok, 1);
		bw_logfmt_from_name("syslog", &ok);
		CHECK_INT(ok, 0);
		CHECK_STR(bw_logfmt_name(BW_LOGFMT_ZEEK), "zeek");
	}
}

/* Every prefix of a real line, binary noise and an overlong value: never a
 * crash (the sanitizer build checks), never a record outside the line. */
static void
test_hostile(void)
{
	static const char *const lines[BW_LOGFMT_NFORMATS] = {
		NULL,
		"29-Nov-2026 11:41:27.967 client @0x7f8bc7a32098 127.0.0.10#44379 "
		"(delfi.lv): query: delfi.lv IN A +E(0)K (127.0.0.1)",
		"[1795952487] unbound[5086:0] info: 127.0.0.10 delfi.lv. A IN",
		"{\"ts\":1591425407.765563,\"id.orig_h\":\"192.168.100.121\","
		"\"query\":\"l.ns.ostrykebs.pl\",\"answers\":[\"a\\\"b\"]}",
		"1795952491.667      0 127.0.0.1 TCP_TUNNEL/400 0 CONNECT delfi.lv:443 - "
		"FIRSTUP_PARENT/127.0.0.1 -",
		"\"1795952491\",\"127.0.0.1\",\"delfi.lv\"",
		"delfi.lv",
	};
	int odd = 0, leaks = 0;
	char *big;
	uint32_t seed = 12345;

	for (int f = BW_LOGFMT_BIND; f < BW_LOGFMT_NFORMATS; f++) {
		struct bw_logfmt_parser *p = NULL;
		const char *l = lines[f];
		size_t n = strlen(l);
		if (bw_logfmt_parser_new((enum bw_logfmt)f, &p, NULL) != BW_OK)
			continue;
		if (f == BW_LOGFMT_CSV)
			bw_logfmt_set_columns(p, NULL, NULL, NULL, NULL);
		for (size_t k = 0; k <= n; k++) {
			struct bw_logrec rec;
			const char *why = NULL;
			char *copy = malloc(k ? k : 1); /* exact size: ASan sees overreads */
			memcpy(copy, l, k);
			if (f == BW_LOGFMT_CSV) {
				bw_logfmt_parser_reset(p);
				bw_logfmt_parse(p, "time,client,value", 17, &rec, &why);
			}
			enum bw_logline res = bw_logfmt_parse(p, copy, k, &rec, &why);
			if (res == BW_LOGLINE_RECORD &&
			    (rec.value_len == 0 || rec.value_len > BW_LOGFMT_VALUE_MAX))
				odd++;
			if (res != BW_LOGLINE_RECORD && why == NULL)
				odd++;
			free(copy);
		}
		/* random bytes, including NUL and newlines inside */
		for (int i = 0; i < 2000; i++) {
			unsigned char buf[96];
			size_t m = 1 + i % 96;
			struct bw_logrec rec;
			const char *why = NULL;
			char *copy = malloc(m);
			for (size_t j = 0; j < m; j++) {
				seed = seed * 1103515245u + 12345u;
				buf[j] = (unsigned char)(seed >> 16);
			}
			/* half of them start like a real line */
			if (i % 2)
				memcpy(buf, l, m < n / 2 ? m : n / 2);
			memcpy(copy, buf, m);
			if (bw_logfmt_parse(p, copy, m, &rec, &why) == BW_LOGLINE_RECORD) {
				for (size_t j = 0; j < rec.value_len; j++)
					if ((unsigned char)rec.value[j] < 0x20)
						leaks++;
			}
			free(copy);
		}
		bw_logfmt_parser_free(p);
	}
	CHECK_INT(odd, 0);
	CHECK_INT(leaks, 0);

	/* an overlong query name and an overlong client */
	big = malloc(20000);
	{
		struct bw_logrec rec;
		const char *why = NULL;
		struct bw_logfmt_parser *p = NULL;
		int len = snprintf(big, 20000, "client @0x1 192.0.2.1#5 (x): query: ");
		memset(big + len, 'a', 5000);
		memcpy(big + len + 5000, " IN A +", 7);
		bw_logfmt_parser_new(BW_LOGFMT_BIND, &p, NULL);
		CHECK_INT(bw_logfmt_parse(p, big, (size_t)len + 5007, &rec, &why),
			  BW_LOGLINE_BAD);
		CHECK_STR(why, "value longer than 4096 bytes");
		bw_logfmt_parser_free(p);
		bw_logfmt_parser_new(BW_LOGFMT_ZEEK, &p, NULL);
		len = snprintf(big, 20000, "{\"id.orig_h\":\"");
		memset(big + len, 'b', 300);
		len += 300;
		len += snprintf(big + len, 20000 - (size_t)len, "\",\"query\":\"x.example\"}");
		CHECK_INT(bw_logfmt_parse(p, big, (size_t)len, &rec, &why), BW_LOGLINE_BAD);
		bw_logfmt_parser_free(p);
		/* a NUL in a BIND query name */
		bw_logfmt_parser_new(BW_LOGFMT_BIND, &p, NULL);
		memcpy(big, "client 192.0.2.1#5 (x): query: a\0b IN A +", 42);
		CHECK_INT(bw_logfmt_parse(p, big, 42, &rec, &why), BW_LOGLINE_BAD);
		bw_logfmt_parser_free(p);
	}
	free(big);
}

int
main(void)
{
	TAP_RUN(test_bind_real);
	TAP_RUN(test_bind_variants);
	TAP_RUN(test_unbound_real);
	TAP_RUN(test_unbound_variants);
	TAP_RUN(test_squid_real);
	TAP_RUN(test_squid_variants);
	TAP_RUN(test_zeek_tsv_real);
	TAP_RUN(test_zeek_tsv_header);
	TAP_RUN(test_zeek_json_real);
	TAP_RUN(test_zeek_json_variants);
	TAP_RUN(test_parsed_addr);
	TAP_RUN(test_csv);
	TAP_RUN(test_plain);
	TAP_RUN(test_detect);
	TAP_RUN(test_hostile);
	return tap_done();
}
