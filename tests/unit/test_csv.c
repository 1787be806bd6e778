/*
 * test_csv.c - the CSV feed parser: abuse.ch exports (URLhaus, ThreatFox,
 * Feodo Tracker) with exact counts and values from real extracts, generic
 * CSVs (Meta's indicator files, --column and auto-mapping), the RFC 4180
 * corners (quoted line breaks, "" escapes, BOM, CRLF, over-long records),
 * the refusals, format detection, and the round trip
 * ingest -> export --format csv -> ingest -> export.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/psl.h"
#include "core/tlp.h"
#include "feed/feed.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "share/export.h"
#include "store/store.h"
#include "tap.h"

/* ---- a sink that keeps everything ------------------------------------- */

struct rec {
	char where[32];
	enum bw_ioc_type type;
	char value[BW_IOC_VALUE_MAX + 1];
	char source[BW_SOURCE_NAME_MAX + 1]; /* "" if not stated */
	char external_id[BW_EXTERNAL_ID_MAX + 1];
	int confidence, tlp, revoked;
	int64_t first_seen, last_seen, valid_from, valid_until;
	char tags[4096];  /* "kind:name;kind:name" in record order */
	char rcpts[256];  /* "DE;FR" */
	size_t ntags;
};

struct note {
	char where[32];
	char reason[BW_ERR_MSG_MAX];
};

struct got {
	struct rec *recs;
	size_t nrecs, caprecs;
	struct note *rejects;
	size_t nrejects, caprejects;
	struct note *unsupported;
	size_t nunsupported, capunsupported;
	int stop_after; /* stop with BW_EINVAL after this many records (0: never) */
};

static void
got_free(struct got *g)
{
	bw_free(g->recs);
	bw_free(g->rejects);
	bw_free(g->unsupported);
	memset(g, 0, sizeof(*g));
}

static int
on_record(void *ctx, const struct bw_feed_record *r, const char *where,
	  struct bw_err *err)
{
	struct got *g = ctx;
	struct rec *x;
	size_t used = 0;

	if (g->stop_after && g->nrecs >= (size_t)g->stop_after)
		return bw_err_set(err, BW_EINVAL, "stopped by the sink");
	if (g->nrecs == g->caprecs) {
		struct rec *p = bw_grow(g->recs, &g->caprecs, g->nrecs + 1, sizeof(*p));
		if (p == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		g->recs = p;
	}
	x = &g->recs[g->nrecs++];
	memset(x, 0, sizeof(*x));
	snprintf(x->where, sizeof(x->where), "%s", where);
	x->type = r->ioc.type;
	snprintf(x->value, sizeof(x->value), "%s", r->ioc.value);
	snprintf(x->source, sizeof(x->source), "%s", r->source ? r->source : "");
	snprintf(x->external_id, sizeof(x->external_id), "%s",
		 r->external_id ? r->external_id : "");
	x->confidence = r->confidence;
	x->tlp = r->tlp;
	x->revoked = r->revoked;
	x->first_seen = r->first_seen;
	x->last_seen = r->last_seen;
	x->valid_from = r->valid_from;
	x->valid_until = r->valid_until;
	x->ntags = r->ntags;
	for (size_t i = 0; i < r->ntags; i++) {
		int w = snprintf(x->tags + used, sizeof(x->tags) - used, "%s%s:%s",
				 i ? ";" : "", r->tags[i].kind, r->tags[i].name);
		if (w > 0 && (size_t)w < sizeof(x->tags) - used)
			used += (size_t)w;
	}
	used = 0;
	for (size_t i = 0; i < r->nrecipients; i++) {
		int w = snprintf(x->rcpts + used, sizeof(x->rcpts) - used, "%s%s",
				 i ? ";" : "", r->recipients[i]);
		if (w > 0 && (size_t)w < sizeof(x->rcpts) - used)
			used += (size_t)w;
	}
	return 0;
}

static void
add_note(struct note **v, size_t *n, size_t *cap, const char *where,
	 const char *reason)
{
	if (*n == *cap) {
		struct note *p = bw_grow(*v, cap, *n + 1, sizeof(*p));
		if (p == NULL)
			return;
		*v = p;
	}
	snprintf((*v)[*n].where, sizeof((*v)[*n].where), "%s", where);
	snprintf((*v)[*n].reason, sizeof((*v)[*n].reason), "%s", reason);
	(*n)++;
}

static void
on_reject(void *ctx, const char *where, const char *reason, const char *raw,
	  size_t rawlen)
{
	struct got *g = ctx;

	(void)raw;
	(void)rawlen;
	add_note(&g->rejects, &g->nrejects, &g->caprejects, where, reason);
}

static void
on_unsupported(void *ctx, const char *where, const char *reason)
{
	struct got *g = ctx;

	add_note(&g->unsupported, &g->nunsupported, &g->capunsupported, where, reason);
}

static int
parse_reader(struct bw_reader *r, const char *const *columns, struct got *g,
	     struct bw_err *err)
{
	struct bw_feed_options o = {columns};
	struct bw_feed_sink sink = {on_record, on_reject, on_unsupported, g};

	return bw_feed_parse_csv(r, &o, &sink, err);
}

static int
parse_text(const char *text, size_t len, const char *const *columns,
	   struct got *g, struct bw_err *err)
{
	struct bw_reader *r;
	int rc = bw_reader_open_mem(text, len, "text", &r, err);

	if (rc)
		return rc;
	rc = parse_reader(r, columns, g, err);
	bw_reader_free(r);
	return rc;
}

static int
parse_str(const char *text, const char *const *columns, struct got *g,
	  struct bw_err *err)
{
	return parse_text(text, strlen(text), columns, g, err);
}

static void
data_path(const char *name, char *out, size_t cap)
{
	const char *dir = getenv("BW_TEST_DATA");

	snprintf(out, cap, "%s/csv/%s", dir ? dir : "tests/data", name);
}

static int
parse_file(const char *name, const char *const *columns, struct got *g,
	   struct bw_err *err)
{
	char path[1024];
	struct bw_reader *r;
	int rc;

	data_path(name, path, sizeof(path));
	rc = bw_reader_open(path, &r, err);
	if (rc)
		return rc;
	rc = parse_reader(r, columns, g, err);
	bw_reader_free(r);
	return rc;
}

static size_t
count_type(const struct got *g, enum bw_ioc_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nrecs; i++)
		if (g->recs[i].type == t)
			n++;
	return n;
}

static bool
has(const char *s, const char *want)
{
	bool ok = s && strstr(s, want) != NULL;

	if (!ok)
		printf("#   \"%s\" does not contain \"%s\"\n", s ? s : "(null)", want);
	return ok;
}

/* ---- abuse.ch --------------------------------------------------------- */

static void
test_urlhaus(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};
	size_t tags = 0;

	CHECK_INT(parse_file("urlhaus-head200.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 200);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 0);
	CHECK_INT(count_type(&g, BW_IOC_URL), 200);
	if (g.nrecs != 200)
		goto out;
	for (size_t i = 0; i < g.nrecs; i++)
		tags += g.recs[i].ntags;
	/* 773 names in the tags cells, less one "None" (no tags, line 184) */
	CHECK_INT(tags, 772);
	CHECK_STR(g.recs[182].where, "184");
	CHECK_INT(g.recs[182].ntags, 0);
	CHECK_STR(g.recs[0].where, "2");
	CHECK_STR(g.recs[0].value, "http://117.209.87.242:60905/bin.sh");
	CHECK_STR(g.recs[0].source, "urlhaus");
	CHECK_STR(g.recs[0].external_id, "3520667");
	CHECK_INT(g.recs[0].first_seen, 1745238906); /* 2025-04-21 12:35:06 */
	CHECK_INT(g.recs[0].last_seen, 1745238906);
	CHECK_INT(g.recs[0].confidence, -1);
	CHECK_INT(g.recs[0].tlp, BW_TLP_UNSET);
	/* a family name in the tags stays a plain tag */
	CHECK_STR(g.recs[0].tags, "tag:32-bit;tag:elf;tag:mips;tag:Mozi");
	CHECK_STR(g.recs[199].where, "201");
	CHECK_STR(g.recs[199].value, "http://123.154.153.58:44181/i");
	CHECK_STR(g.recs[199].external_id, "3520338");
out:
	got_free(&g);
}

static void
test_urlhaus_variants(void)
{
	/* the 2019-2020 layout: '#' banner, header in the last comment, no
	 * last_online, bare dates */
	static const char old[] =
		"################################################################\n"
		"# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #\n"
		"################################################################\n"
		"#\n"
		"# id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter\n"
		"\"260692\",\"2019-11-27\",\"http://fs3n2.example.com/dlpro/ra.exe\",\"online\","
		"\"malware_download\",\"exe\",\"\",\"zbetcheckin\"\n"
		"\"260691\",\"2019-11-27\",\"http://192.0.2.235/officeupd.tmp\",\"offline\","
		"\"malware_download\",\"maze,runner\",\"\",\"anonymous\"\n";
	/* csv_online: the same columns as the full dump, banner and all */
	static const char online[] =
		"################################################################\n"
		"# abuse.ch URLhaus Database Dump (CSV - online URLs only)      #\n"
		"################################################################\n"
		"#\n"
		"# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
		"\"3520667\",\"2025-04-21 12:35:06\",\"http://117.209.87.242:60905/bin.sh\",\"online\","
		"\"2025-04-21 12:35:06\",\"malware_download\",\"32-bit,elf,mips,Mozi\","
		"\"https://urlhaus.abuse.ch/url/3520667/\",\"geenensp\"\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(old, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	CHECK_INT(g.nrejects, 0);
	if (g.nrecs == 2) {
		CHECK_STR(g.recs[0].where, "6");
		CHECK_STR(g.recs[0].source, "urlhaus");
		CHECK_INT(g.recs[0].first_seen, 1574812800); /* 2019-11-27 */
		CHECK_INT(g.recs[0].last_seen, 0);
		CHECK_STR(g.recs[1].value, "http://192.0.2.235/officeupd.tmp");
		CHECK_STR(g.recs[1].tags, "tag:maze;tag:runner");
	}
	got_free(&g);
	CHECK_INT(parse_str(online, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 1);
	if (g.nrecs == 1) {
		CHECK_STR(g.recs[0].external_id, "3520667");
		CHECK_INT(g.recs[0].last_seen, 1745238906);
	}
	got_free(&g);
}

static void
test_threatfox(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};
	size_t tags = 0, malware = 0, last = 0;
	long conf = 0;

	CHECK_INT(parse_file("threatfox-urls-head200.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 200);
	CHECK_INT(g.nunsupported, 0);
	/* the last row of the extract has a host with a hex octet */
	CHECK_INT(g.nrejects, 1);
	if (g.nrejects == 1) {
		CHECK_STR(g.rejects[0].where, "210");
		CHECK(has(g.rejects[0].reason, "column ioc_value: URL host:"));
	}
	if (g.nrecs != 200)
		goto out;
	for (size_t i = 0; i < g.nrecs; i++) {
		tags += g.recs[i].ntags;
		if (strstr(g.recs[i].tags, "malware:"))
			malware++;
		if (g.recs[i].last_seen)
			last++;
		conf += g.recs[i].confidence;
		CHECK_INT(strstr(g.recs[i].tags, "Unknown malware") == NULL, 1);
	}
	CHECK_INT(tags, 604);
	CHECK_INT(malware, 69);
	CHECK_INT(last, 60);
	CHECK_INT(conf, 17180);
	CHECK_STR(g.recs[0].where, "10");
	CHECK_STR(g.recs[0].value, "http://195.133.9.204/skare.odd");
	CHECK_STR(g.recs[0].source, "threatfox");
	CHECK_STR(g.recs[0].external_id, "1668950");
	CHECK_INT(g.recs[0].confidence, 100);
	CHECK_INT(g.recs[0].first_seen, 1765112749); /* 2025-12-07 13:05:49 */
	CHECK_INT(g.recs[0].last_seen, 0);
	/* threat_type, then (no "Unknown malware"), then the tags list */
	CHECK_STR(g.recs[0].tags,
		  "tag:payload_delivery;tag:ClickFix;tag:Fake OS Update;tag:xHamster");
	CHECK_STR(g.recs[1].value, "https://shilohbn.ru.com/");
	CHECK_STR(g.recs[1].tags, "tag:botnet_cc;malware:DCRat;tag:c2;tag:dcrat");
	CHECK_INT(g.recs[1].confidence, 50);
	CHECK_STR(g.recs[199].value, "https://handpaw.click/api");
	CHECK_STR(g.recs[199].tags, "tag:botnet_cc;malware:Lumma Stealer;tag:lumma");
out:
	got_free(&g);
}

static void
test_threatfox_types(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_file("threatfox-types-constructed.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 7);
	CHECK_INT(g.nunsupported, 1);
	CHECK_INT(g.nrejects, 4);
	if (g.nrecs == 7) {
		CHECK_STR(g.recs[0].where, "8");
		CHECK_INT(g.recs[0].type, BW_IOC_DOMAIN);
		CHECK_STR(g.recs[0].value, "shilohbn.ru.com");
		CHECK_INT(g.recs[0].confidence, 75);
		CHECK_INT(g.recs[0].first_seen, 1765103042);
		CHECK_INT(g.recs[0].last_seen, 1765105200);
		CHECK_STR(g.recs[0].external_id, "1000001");
		CHECK_INT(g.recs[1].type, BW_IOC_IPV4);
		CHECK_STR(g.recs[1].value, "1.116.73.99"); /* ip:port: the address */
		CHECK_STR(g.recs[1].tags, "tag:botnet_cc;malware:Cobalt Strike;tag:cobaltstrike");
		CHECK_INT(g.recs[2].type, BW_IOC_IPV6);
		CHECK_STR(g.recs[2].value, "2001:db8::5");
		CHECK_STR(g.recs[2].tags, "tag:botnet_cc"); /* "None", "Unknown malware" */
		CHECK_INT(g.recs[3].type, BW_IOC_MD5);
		CHECK_STR(g.recs[3].value, "0123456789abcdef0123456789abcdef");
		CHECK_INT(g.recs[4].type, BW_IOC_SHA1);
		CHECK_INT(g.recs[5].type, BW_IOC_SHA256);
		CHECK_STR(g.recs[5].value,
			  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		CHECK_STR(g.recs[5].tags, "tag:payload;malware:Agent Tesla;tag:exe;tag:AgentTesla");
		CHECK_STR(g.recs[6].where, "19");
		CHECK_STR(g.recs[6].value, "evil.example.org");
		CHECK_INT(g.recs[6].confidence, -1);
	}
	if (g.nunsupported == 1) {
		CHECK_STR(g.unsupported[0].where, "14");
		CHECK(has(g.unsupported[0].reason, "\"sha3_384_hash\""));
	}
	if (g.nrejects == 4) {
		CHECK_STR(g.rejects[0].where, "15");
		CHECK_STR(g.rejects[0].reason,
			  "column confidence_level: not a number from 0 to 100");
		CHECK_STR(g.rejects[1].where, "16");
		CHECK(has(g.rejects[1].reason, "column first_seen_utc: "));
		CHECK_STR(g.rejects[2].where, "17");
		CHECK(has(g.rejects[2].reason, "column ioc_value: "));
		CHECK_STR(g.rejects[3].where, "18");
		CHECK_STR(g.rejects[3].reason, "expected 14 fields, got 5");
	}
	got_free(&g);
}

static void
test_feodo(void)
{
	static const char old[] =
		"# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n"
		"#\n"
		"# Firstseen,DstIP,DstPort,LastOnline,Malware\n"
		"2020-10-29 19:16:38,181.120.29.49,80,2020-11-02,Heodo\n"
		"2020-10-29 19:14:20,64.207.182.168,8080,2020-11-02,Heodo\n"
		"# END 2 entries\n";
	struct got g = {0};
	struct bw_err err = {0, ""};
	size_t pikabot = 0;

	CHECK_INT(parse_file("feodo-ipblocklist.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 28);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(count_type(&g, BW_IOC_IPV4), 28);
	for (size_t i = 0; i < g.nrecs; i++)
		if (strcmp(g.recs[i].tags, "malware:Pikabot") == 0 &&
		    strcmp(g.recs[i].source, "feodotracker") == 0)
			pikabot++;
	CHECK_INT(pikabot, 28);
	if (g.nrecs == 28) {
		CHECK_STR(g.recs[0].where, "10");
		CHECK_STR(g.recs[0].value, "192.9.135.73");
		CHECK_INT(g.recs[0].first_seen, 1684864304); /* 2023-05-23 17:51:44 */
		CHECK_INT(g.recs[0].last_seen, 1711929600);  /* 2024-04-01 */
		CHECK_STR(g.recs[0].external_id, "");
		CHECK_STR(g.recs[27].where, "37");
		CHECK_STR(g.recs[27].value, "172.233.221.61");
		CHECK_INT(g.recs[27].first_seen, 1712214183);
	}
	got_free(&g);
	/* the layout before 2023: unquoted, header in a comment */
	CHECK_INT(parse_str(old, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	if (g.nrecs == 2) {
		CHECK_STR(g.recs[1].value, "64.207.182.168");
		CHECK_STR(g.recs[1].tags, "malware:Heodo");
		CHECK_STR(g.recs[1].source, "feodotracker");
		CHECK_INT(g.recs[1].last_seen, 1604275200); /* 2020-11-02 */
	}
	got_free(&g);
}

/* ---- generic CSV: real files ------------------------------------------ */

static void
test_meta_type_column(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};

	/* indicator_type,indicator_value,comment,ds: the type column types the
	 * value; one md5 in the file has a stray letter */
	CHECK_INT(parse_file("meta-2021-11-pakistan-syria.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 48);
	CHECK_INT(count_type(&g, BW_IOC_DOMAIN), 28);
	CHECK_INT(count_type(&g, BW_IOC_MD5), 17);
	CHECK_INT(count_type(&g, BW_IOC_IPV4), 3);
	CHECK_INT(g.nrejects, 1);
	if (g.nrejects == 1) {
		CHECK_STR(g.rejects[0].where, "17");
		CHECK(has(g.rejects[0].reason, "column indicator_value: "));
	}
	if (g.nrecs == 48) {
		CHECK_STR(g.recs[0].value, "androappstore.com");
		CHECK_STR(g.recs[0].source, ""); /* the ingest default applies */
		CHECK_INT(g.recs[0].ntags, 0);
		CHECK_STR(g.recs[47].value, "c2e55b0d7be1c1991a5b70be7280e528");
	}
	got_free(&g);

	/* types bulwark does not model are counted as unsupported */
	CHECK_INT(parse_file("meta-2022-mobile-apps-extract.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 0);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 25);
	if (g.nunsupported == 25) {
		CHECK_STR(g.unsupported[0].where, "2");
		CHECK_STR(g.unsupported[0].reason,
			  "column indicator_type: \"android_package_name\" is not an "
			  "indicator type bulwark models");
		CHECK(has(g.unsupported[24].reason, "\"ios_app_id\""));
	}
	got_free(&g);
}

static void
test_meta_multiline(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};

	/* CRLF lines, and a Procedure cell with a line break in 17 rows:
	 * "Tactic,Technique,Procedure,Indicator,Commernts" */
	CHECK_INT(parse_file("meta-q1-2023-pakistan-apt.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 36);
	CHECK_INT(count_type(&g, BW_IOC_DOMAIN), 29);
	CHECK_INT(count_type(&g, BW_IOC_MD5), 7);
	CHECK_INT(g.nrejects, 32);
	if (g.nrecs == 36) {
		CHECK_STR(g.recs[0].where, "2");
		CHECK_STR(g.recs[0].value, "bingechat.net");
		CHECK_STR(g.recs[1].where, "4");
		CHECK_STR(g.recs[1].value, "cloudinfinity.co.uk");
		CHECK_STR(g.recs[16].where, "34");
		CHECK_STR(g.recs[16].value, "hookups4u.com");
		CHECK_STR(g.recs[17].where, "36");
		CHECK_STR(g.recs[17].value, "3f827039964a09f1179f66d6b2f9fe31");
		CHECK_STR(g.recs[24].where, "56");
		CHECK_STR(g.recs[24].value, "dev.jdklibraries.com");
		CHECK_STR(g.recs[35].where, "67");
	}
	if (g.nrejects == 32) {
		CHECK_STR(g.rejects[0].where, "43");
		CHECK(has(g.rejects[0].reason, "column Indicator: "));
		CHECK_STR(g.rejects[2].where, "45");
		CHECK_STR(g.rejects[2].reason, "column Indicator: empty value");
		CHECK_STR(g.rejects[31].where, "86");
	}
	got_free(&g);
}

static void
test_phishing_list(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};
	size_t tagged = 0;

	/* domain,label,sources: "domain" maps (and takes the few addresses in
	 * the list), "label" is a tag, "sources" is not the source column */
	CHECK_INT(parse_file("phishing-domains-head400.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 400);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(count_type(&g, BW_IOC_IPV4), 8);
	for (size_t i = 0; i < g.nrecs; i++)
		if (strcmp(g.recs[i].tags, "tag:phishing") == 0 && g.recs[i].source[0] == 0)
			tagged++;
	CHECK_INT(tagged, 400);
	if (g.nrecs == 400) {
		CHECK_STR(g.recs[0].value, "0-chain.com");
		CHECK_STR(g.recs[82].where, "84");
		CHECK_STR(g.recs[82].value, "104.168.169.107");
	}
	got_free(&g);
}

/* ---- generic CSV: mapping --------------------------------------------- */

static void
test_auto_map_fields(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_file("generic-all-fields.csv", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nrecs, 10);
	if (g.nrecs != 10)
		goto out;
	CHECK_STR(g.recs[0].value, "evil.example.com");
	CHECK_STR(g.recs[0].source, "cert-xx");
	CHECK_INT(g.recs[0].confidence, 80);
	CHECK_INT(g.recs[0].tlp, BW_TLP_GREEN);
	CHECK_INT(g.recs[0].first_seen, 1704164645);
	CHECK_INT(g.recs[0].last_seen, 1706745600);
	CHECK_INT(g.recs[0].valid_from, 1704067200);
	CHECK_INT(g.recs[0].valid_until, 1893456000);
	CHECK_STR(g.recs[0].tags, "tag:phishing;campaign:Doppelganger;tag:tag, with a comma;"
				  "malware:Emotet;actor:APT28");
	CHECK_STR(g.recs[0].rcpts, "DE;FR");
	CHECK_STR(g.recs[0].external_id, "ext-1");
	CHECK_INT(g.recs[0].revoked, 0);
	CHECK_INT(g.recs[1].type, BW_IOC_IPV4);
	CHECK_INT(g.recs[1].tlp, BW_TLP_AMBER_STRICT);
	CHECK_INT(g.recs[1].revoked, 1);
	CHECK_INT(g.recs[1].confidence, -1);
	CHECK_STR(g.recs[2].value, "http://example.net/b?x=1");
	CHECK_STR(g.recs[2].tags, "tag:c2;tag:loader;campaign:Ghostwriter");
	CHECK_STR(g.recs[2].external_id, "id \"quoted\"");
	CHECK_INT(g.recs[2].first_seen, 1704164645); /* Unix seconds */
	CHECK_INT(g.recs[2].tlp, BW_TLP_RED);
	CHECK_STR(g.recs[3].value, "2001:db8::1");
	CHECK_INT(g.recs[3].confidence, 0);
	CHECK_INT(g.recs[3].tlp, BW_TLP_CLEAR);
	CHECK_STR(g.recs[4].value, "192.0.2.0/24");
	CHECK_STR(g.recs[4].tags, "actor:Sandworm");
	CHECK_STR(g.recs[4].rcpts, "UA;PL;DE");
	CHECK_STR(g.recs[5].value, "user@example.org");
	CHECK_INT(g.recs[5].tlp, BW_TLP_CLEAR); /* TLP:WHITE */
	CHECK_STR(g.recs[5].tags, "tag:x;tag:y");
	CHECK_STR(g.recs[6].value, "d41d8cd98f00b204e9800998ecf8427e");
	CHECK_INT(g.recs[8].type, BW_IOC_SHA256);
	/* no type stated: detected; the port goes */
	CHECK_INT(g.recs[9].type, BW_IOC_IPV4);
	CHECK_STR(g.recs[9].value, "1.2.3.4");
	CHECK_STR(g.recs[9].where, "11");
out:
	got_free(&g);
}

static void
test_columns_option(void)
{
	static const char text[] =
		"host,score,first,notes,backup\n"
		"evil.example.com,80,2024-01-02,x,192.0.2.1\n"
		"other.example.com,,,,\n";
	static const char *const by_name[] = {"domain=HOST", "confidence=score",
					      "first_seen=first", "ipv4=backup", NULL};
	static const char *const by_number[] = {"any=1", "tags=4", NULL};
	struct got g = {0};
	struct bw_err err = {0, ""};

	/* by name (case-insensitive); two indicator columns: a record each */
	CHECK_INT(parse_str(text, by_name, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 3);
	CHECK_INT(g.nrejects, 0);
	if (g.nrecs == 3) {
		CHECK_STR(g.recs[0].value, "evil.example.com");
		CHECK_INT(g.recs[0].confidence, 80);
		CHECK_INT(g.recs[0].first_seen, 1704153600);
		CHECK_STR(g.recs[1].value, "192.0.2.1");
		CHECK_INT(g.recs[1].confidence, 80);
		CHECK_STR(g.recs[1].where, "2");
		CHECK_STR(g.recs[2].value, "other.example.com");
		CHECK_INT(g.recs[2].confidence, -1);
	}
	got_free(&g);

	/* by number; only the given columns count */
	CHECK_INT(parse_str(text, by_number, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	if (g.nrecs == 2) {
		CHECK_INT(g.recs[0].confidence, -1);
		CHECK_STR(g.recs[0].tags, "tag:x");
	}
	got_free(&g);

	/* without options: host and score are recognised, first is not */
	CHECK_INT(parse_str(text, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	if (g.nrecs == 2) {
		CHECK_INT(g.recs[0].confidence, 80);
		CHECK_INT(g.recs[0].first_seen, 0);
	}
	got_free(&g);
}

static void
test_columns_override_known(void)
{
	static const char *const uh[] = {"url=url", "first_seen=dateadded", NULL};
	static const char *const tf[] = {"url=ioc_value", "external_id=ioc_id", NULL};
	struct got g = {0};
	struct bw_err err = {0, ""};

	/* --column replaces a known format's mapping: only what it names */
	CHECK_INT(parse_file("urlhaus-head200.csv", uh, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 200);
	if (g.nrecs == 200) {
		CHECK_STR(g.recs[0].source, "");
		CHECK_INT(g.recs[0].ntags, 0);
		CHECK_STR(g.recs[0].external_id, "");
		CHECK_INT(g.recs[0].first_seen, 1745238906);
	}
	got_free(&g);
	/* and finds the header in ThreatFox's last comment too */
	CHECK_INT(parse_file("threatfox-urls-head200.csv", tf, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 200);
	CHECK_INT(g.nrejects, 1);
	if (g.nrecs == 200) {
		CHECK_STR(g.recs[0].external_id, "1668950");
		CHECK_INT(g.recs[0].confidence, -1);
	}
	got_free(&g);
}

static void
test_headerless(void)
{
	static const char text[] = "evil.example.com,80\n192.0.2.9,20\n";
	static const char *const cols[] = {"value=1", "confidence=2", NULL};
	static const char *const named[] = {"value=indicator", NULL};
	static const char *const too_far[] = {"value=3", NULL};
	struct got g = {0};
	struct bw_err err = {0, ""};

	/* the first row holds indicators and no name: it is data */
	CHECK_INT(parse_str(text, cols, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	if (g.nrecs == 2) {
		CHECK_STR(g.recs[0].where, "1");
		CHECK_INT(g.recs[1].confidence, 20);
	}
	got_free(&g);
	CHECK_INT(parse_str(text, NULL, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "no header row"));
	CHECK_INT(g.nrecs + g.nrejects, 0);
	got_free(&g);
	CHECK_INT(parse_str(text, named, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "no header row; name the column by its number"));
	CHECK_INT(parse_str(text, too_far, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "\"value=3\": no column 3 (the first row has 2 fields)"));
	got_free(&g);
}

static void
test_bad_cells(void)
{
	static const char text[] =
		"indicator,confidence,tlp,first_seen,recipients,revoked\n"
		"a.example.com,abc,,,,\n"
		"b.example.com,,PURPLE,,,\n"
		"c.example.com,,,yesterday,,\n"
		"d.example.com,,,,DEU,\n"
		"e.example.com,,,,,maybe\n"
		"not a domain,,,,,\n"
		"f.example.com,101\n"
		"g.example.com,,,,,,,\n"
		"h.example.com,100,amber,2024-01-02,de,yes\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(text, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 1);
	CHECK_INT(g.nrejects, 8);
	if (g.nrejects == 8) {
		CHECK_STR(g.rejects[0].reason, "column confidence: not a number from 0 to 100");
		CHECK_STR(g.rejects[0].where, "2");
		CHECK_STR(g.rejects[1].reason, "column tlp: unknown TLP level \"PURPLE\"");
		CHECK(has(g.rejects[2].reason, "column first_seen: "));
		CHECK_STR(g.rejects[3].reason,
			  "column recipients: \"DEU\" is not an ISO 3166-1 alpha-2 country code");
		CHECK_STR(g.rejects[4].reason, "column revoked: expected true or false");
		CHECK(has(g.rejects[5].reason, "column indicator: "));
		CHECK_STR(g.rejects[6].reason, "expected 6 fields, got 2");
		CHECK_STR(g.rejects[7].reason, "expected 6 fields, got 8");
		CHECK_STR(g.rejects[7].where, "9");
	}
	if (g.nrecs == 1) {
		CHECK_STR(g.recs[0].where, "10");
		CHECK_INT(g.recs[0].revoked, 1);
		CHECK_STR(g.recs[0].rcpts, "DE");
	}
	got_free(&g);
}

static void
test_several_indicator_columns(void)
{
	static const char text[] =
		"domain,ip,url,tags\n"
		"evil.example.com,192.0.2.1,,a|b\n"
		"only.example.com,,,c\n"
		",,,d\n"
		"ok.example.com,999.1.1.1,,e\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(text, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 3);
	CHECK_INT(g.nrejects, 2);
	if (g.nrecs == 3) {
		CHECK_STR(g.recs[0].value, "evil.example.com");
		CHECK_STR(g.recs[0].tags, "tag:a;tag:b");
		CHECK_STR(g.recs[1].value, "192.0.2.1");
		CHECK_STR(g.recs[1].tags, "tag:a;tag:b");
		CHECK_STR(g.recs[2].value, "only.example.com");
	}
	if (g.nrejects == 2) {
		CHECK_STR(g.rejects[0].where, "4");
		CHECK_STR(g.rejects[0].reason, "column domain: no indicator in any column");
		/* a bad cell rejects the whole row: ok.example.com is not kept */
		CHECK_STR(g.rejects[1].where, "5");
		CHECK(has(g.rejects[1].reason, "column ip: "));
	}
	got_free(&g);
}

/* ---- RFC 4180 corners ------------------------------------------------- */

static void
test_quoting(void)
{
	static const char text[] =
		"indicator, tags , comment\n"
		"\"evil.example.com\" , \"a,b\" , \"line one\n"
		"line two \"\"quoted\"\"\n"
		"line three\"\n"
		"next.example.com,c,plain\n"
		"  spaced.example.com  ,\"\", x \n"
		"\"bad.example.com\"junk,d,e\n"
		"last.example.com,\"\"\"q\"\"\",f\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(text, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 4);
	CHECK_INT(g.nrejects, 1);
	if (g.nrecs == 4) {
		CHECK_STR(g.recs[0].where, "2");
		CHECK_STR(g.recs[0].tags, "tag:a;tag:b");
		CHECK_STR(g.recs[1].where, "5");
		CHECK_STR(g.recs[2].value, "spaced.example.com");
		CHECK_INT(g.recs[2].ntags, 0);
		CHECK_STR(g.recs[3].tags, "tag:\"q\"");
	}
	if (g.nrejects == 1) {
		CHECK_STR(g.rejects[0].where, "7");
		CHECK_STR(g.rejects[0].reason, "field 1: text after a closing quote");
	}
	got_free(&g);
}

static void
test_bom_crlf_comments(void)
{
	static const char bom[] =
		"\xef\xbb\xbf" "domain,tags\r\n"
		"evil.example.com,x\r\n"
		"\r\n"
		"# a comment between rows\r\n"
		"other.example.com,\"y\r\nz\"\r\n";
	static const char single[] = "# list\n\ndomain\n# mid\nevil.example.com\n\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(bom, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	CHECK_INT(g.nrejects, 0);
	if (g.nrecs == 2) {
		CHECK_STR(g.recs[0].where, "2");
		CHECK_STR(g.recs[0].tags, "tag:x");
		CHECK_STR(g.recs[1].where, "5");
		/* a quoted line break is kept as "\n", without the CR */
		CHECK_STR(g.recs[1].tags, "tag:y\nz");
	}
	got_free(&g);
	/* one column, comments and blank lines anywhere */
	CHECK_INT(parse_str(single, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 1);
	if (g.nrecs == 1)
		CHECK_STR(g.recs[0].where, "5");
	got_free(&g);
}

static void
test_long_records(void)
{
	size_t cap = 4 * BW_READER_LINE_MAX, used = 0;
	char *text = bw_malloc(cap);
	struct got g = {0};
	struct bw_err err = {0, ""};

	if (!CHECK(text != NULL))
		return;
	used += (size_t)snprintf(text + used, cap - used,
				 "indicator,comment\n"
				 "a.example.com,\"");
	/* line 2 opens a quoted cell that goes on over line 3: together
	 * longer than a record may be */
	memset(text + used, 'x', 40000);
	used += 40000;
	text[used++] = '\n';
	memset(text + used, 'y', 40000);
	used += 40000;
	used += (size_t)snprintf(text + used, cap - used,
				 "\"\n"
				 "b.example.com,ok\n"
				 "c.example.com,");
	/* line 5: one line longer than the line limit */
	memset(text + used, 'z', BW_READER_LINE_MAX + 10);
	used += BW_READER_LINE_MAX + 10;
	used += (size_t)snprintf(text + used, cap - used,
				 "\n"
				 "d.example.com,ok\n"
				 "e.example.com,\"not closed\n"
				 "f.example.com,lost\n");
	CHECK_INT(parse_text(text, used, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 2);
	CHECK_INT(g.nrejects, 3);
	if (g.nrecs == 2) {
		CHECK_STR(g.recs[0].value, "b.example.com");
		CHECK_STR(g.recs[0].where, "4");
		CHECK_STR(g.recs[1].value, "d.example.com");
		CHECK_STR(g.recs[1].where, "6");
	}
	if (g.nrejects == 3) {
		CHECK_STR(g.rejects[0].where, "2");
		CHECK(has(g.rejects[0].reason, "record longer than 65536 bytes (lines 2-3"));
		CHECK_STR(g.rejects[1].where, "5");
		CHECK_STR(g.rejects[1].reason, "line longer than 65536 bytes");
		CHECK_STR(g.rejects[2].where, "7");
		CHECK_STR(g.rejects[2].reason,
			  "quoted field not closed at the end of the input");
	}
	got_free(&g);
	bw_free(text);
}

static void
test_columns_limit(void)
{
	size_t cap = 8192, used = 0;
	char *text = bw_malloc(cap);
	struct got g = {0};
	struct bw_err err = {0, ""};

	if (!CHECK(text != NULL))
		return;
	/* a data row with 300 fields under a 3-column header */
	used += (size_t)snprintf(text + used, cap - used, "indicator,a,b\nx.example.com");
	for (int i = 0; i < 299; i++)
		text[used++] = ',';
	used += (size_t)snprintf(text + used, cap - used, "\ny.example.com,1,2\n");
	CHECK_INT(parse_text(text, used, NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs, 1);
	CHECK_INT(g.nrejects, 1);
	if (g.nrejects == 1)
		CHECK_STR(g.rejects[0].reason, "expected 3 fields, got 300");
	got_free(&g);
	/* a header of 300 columns */
	used = (size_t)snprintf(text, cap, "indicator");
	for (int i = 0; i < 299; i++)
		used += (size_t)snprintf(text + used, cap - used, ",c%d", i);
	used += (size_t)snprintf(text + used, cap - used, "\nx.example.com\n");
	CHECK_INT(parse_text(text, used, NULL, &g, &err), BW_ELIMIT);
	CHECK(has(err.msg, "more than 256 columns"));
	CHECK_INT(g.nrecs, 0);
	got_free(&g);
	bw_free(text);
}

/* ---- refusals --------------------------------------------------------- */

static void
test_refusals(void)
{
	static const char names[] = "name,comment\nevil-not-mapped,bar\nx,y\n";
	static const char hosts[] = "host,score\nevil.example.com,1\n";
	static const char *const unknown_key[] = {"colour=host", NULL};
	static const char *const missing[] = {"domain=hostnam", NULL};
	static const char *const out_of_range[] = {"domain=9", NULL};
	static const char *const no_ioc[] = {"confidence=score", NULL};
	static const char *const twice[] = {"domain=host", "confidence=score",
					    "confidence=1", NULL};
	static const char *const no_eq[] = {"domain", NULL};
	static const char binary[] = "indicator\nevil.example.com\0\n";
	struct got g = {0};
	struct bw_err err = {0, ""};

	CHECK_INT(parse_str(names, NULL, &g, &err), BW_EFORMAT);
	CHECK_STR(err.msg, "no column holds indicators (use --column TYPE=NAME)");
	CHECK_INT(g.nrecs + g.nrejects + g.nunsupported, 0);
	CHECK_INT(parse_str(hosts, unknown_key, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "--column \"colour=host\": unknown key \"colour\""));
	CHECK_INT(parse_str(hosts, missing, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "--column \"domain=hostnam\": no column \"hostnam\" in the header"));
	CHECK_INT(parse_str(hosts, out_of_range, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "no column \"9\""));
	CHECK_INT(parse_str(hosts, no_ioc, &g, &err), BW_EFORMAT);
	CHECK_STR(err.msg, "no column holds indicators (use --column TYPE=NAME)");
	CHECK_INT(parse_str(hosts, twice, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "confidence=1"));
	CHECK_INT(parse_str(hosts, no_eq, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "expected KEY=COLUMN"));
	CHECK_INT(parse_text(binary, sizeof(binary) - 1, NULL, &g, &err), BW_EFORMAT);
	CHECK(has(err.msg, "NUL"));
	CHECK_INT(g.nrecs + g.nrejects + g.nunsupported, 0);
	/* nothing at all, or only comments: an empty feed */
	CHECK_INT(parse_str("# nothing yet\n\n", NULL, &g, &err), BW_OK);
	CHECK_INT(parse_str("", NULL, &g, &err), BW_OK);
	CHECK_INT(g.nrecs + g.nrejects + g.nunsupported, 0);
	got_free(&g);
}

static void
test_sink_stops(void)
{
	struct got g = {0};
	struct bw_err err = {0, ""};

	g.stop_after = 3;
	CHECK_INT(parse_file("feodo-ipblocklist.csv", NULL, &g, &err), BW_EINVAL);
	CHECK_INT(g.nrecs, 3);
	CHECK_STR(err.msg, "stopped by the sink");
	got_free(&g);
}

/* ---- detection -------------------------------------------------------- */

static enum bw_feed_format
detect_file(const char *name)
{
	char path[1024], buf[BW_READER_PEEK_MAX];
	FILE *f;
	size_t n;

	data_path(name, path, sizeof(path));
	f = fopen(path, "rb");
	if (f == NULL)
		return BW_FEED_NFORMATS;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return bw_feed_detect(buf, n);
}

static void
test_detection(void)
{
	static const char bulwark[] = BW_EXPORT_CSV_HEADER "\n"
		"domain,evil.example.com,x,,AMBER,,,,,,,,false\n";

	CHECK_STR(bw_feed_format_name(detect_file("urlhaus-head200.csv")), "csv");
	CHECK_STR(bw_feed_format_name(detect_file("threatfox-urls-head200.csv")), "csv");
	CHECK_STR(bw_feed_format_name(detect_file("feodo-ipblocklist.csv")), "csv");
	CHECK_STR(bw_feed_format_name(detect_file("threatfox-types-constructed.csv")), "csv");
	CHECK_STR(bw_feed_format_name(detect_file("meta-q1-2023-pakistan-apt.csv")), "csv");
	CHECK_STR(bw_feed_format_name(detect_file("generic-all-fields.csv")), "csv");
	CHECK_STR(bw_feed_format_name(bw_feed_detect(bulwark, sizeof(bulwark) - 1)), "csv");
	/* lists that name abuse.ch in their comments are not CSV */
	CHECK_STR(bw_feed_format_name(detect_file("urlhaus-filter-hosts-head60.txt")), "hosts");
	CHECK_STR(bw_feed_format_name(detect_file("urlhaus-filter-domains-head60.txt")), "plain");
}

/* ---- round trip through the store ------------------------------------- */

struct run {
	long records, rejected, refused;
	enum bw_feed_format format;
};

static void
on_result(void *ctx, const struct bw_ingest_result *r)
{
	struct run *run = ctx;

	run->records += r->records;
	run->rejected += r->rejected;
	run->refused += r->refused;
	run->format = r->format;
	if (r->refused)
		printf("# refused %s: %s\n", r->file, r->error.msg);
}

static void
ingest_options(struct bw_ingest_options *o, const struct bw_psl *psl, int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->format = BW_FEED_AUTO;
	o->tlp = BW_TLP_UNSET;
	o->confidence = -1;
	o->psl = psl;
	o->now = now;
}

static char *
export_csv(struct bw_store *st, size_t *len)
{
	struct bw_export_options eo;
	struct bw_err err = {0, ""};
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		return NULL;
	memset(&eo, 0, sizeof(eo));
	eo.format = BW_EXPORT_CSV;
	eo.filter.type = BW_IOC_ANY;
	eo.filter.include_expired = 1;
	eo.now = 1800000000;
	if (bw_export(st, &eo, f, &err) != BW_OK)
		printf("# export: %s\n", err.msg);
	fclose(f);
	return buf;
}

static size_t
count_lines(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n')
			k++;
	return k;
}

static void
test_round_trip(void)
{
	static const char *const files[] = {
		"urlhaus-head200.csv", "threatfox-urls-head200.csv",
		"feodo-ipblocklist.csv", "threatfox-types-constructed.csv",
		"meta-2021-11-pakistan-syria.csv", "meta-q1-2023-pakistan-apt.csv",
		"generic-all-fields.csv",
	};
	static const char *const countries[] = {"SE", "NO"};
	static const struct bw_tag extra_tags[] = {{"campaign", "Test run"}};
	char dir[] = "/tmp/bw-test-csv-XXXXXX", path[1024], src[1024];
	struct bw_store *a = NULL, *b = NULL;
	struct bw_psl *psl = NULL;
	struct bw_ingest_options o;
	struct bw_reader *r = NULL;
	struct bw_ingest_result res;
	struct bw_err err = {0, ""};
	struct run run = {0};
	char *e1 = NULL, *e2 = NULL;
	size_t n1 = 0, n2 = 0;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	if (!CHECK(bw_psl_open(&psl, &err) == BW_OK))
		goto out;
	snprintf(path, sizeof(path), "%s/a.db", dir);
	if (!CHECK(bw_store_open(path, 0, &a, &err) == BW_OK))
		goto out;
	ingest_options(&o, psl, 1764000000);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (i == 4) {
			/* command-line defaults on one file: TLP, confidence,
			 * tags and recipients the file does not state */
			o.tlp = BW_TLP_GREEN;
			o.confidence = 35;
			o.tags = extra_tags;
			o.ntags = 1;
			o.recipients = countries;
			o.nrecipients = 2;
			o.source = "meta";
		}
		data_path(files[i], src, sizeof(src));
		CHECK_INT(bw_ingest_path(a, src, &o, on_result, &run, &err), BW_OK);
		ingest_options(&o, psl, 1764000000);
	}
	CHECK_INT(run.refused, 0);
	CHECK_INT(run.records, 200 + 200 + 28 + 7 + 48 + 36 + 10);

	e1 = export_csv(a, &n1);
	if (!CHECK(e1 != NULL))
		goto out;
	/* every record is a row (a few indicators repeat across sources) */
	CHECK(count_lines(e1, n1) > 500);
	CHECK(strstr(e1, "\ndomain,evil.example.com,cert-xx,80,GREEN,2024-01-02T03:04:05Z,"
			 "2024-02-01T00:00:00Z,2024-01-01T00:00:00Z,2030-01-01T00:00:00Z,"
			 "\"actor:APT28|campaign:Doppelganger|malware:Emotet|phishing|"
			 "tag, with a comma\",DE|FR,ext-1,false\n") != NULL);
	CHECK(strstr(e1, ",meta,35,GREEN,") != NULL);
	CHECK(strstr(e1, "campaign:Test run") != NULL);
	CHECK(strstr(e1, ",NO|SE,") != NULL);
	CHECK(strstr(e1, ",\"id \"\"quoted\"\"\",false\n") != NULL);

	/* into a fresh store, format detected, at another time */
	snprintf(path, sizeof(path), "%s/b.db", dir);
	if (!CHECK(bw_store_open(path, 0, &b, &err) == BW_OK))
		goto out;
	ingest_options(&o, psl, 1765000000);
	if (!CHECK(bw_reader_open_mem(e1, n1, "export.csv", &r, &err) == BW_OK))
		goto out;
	CHECK_INT(bw_ingest_reader(b, r, &o, &res, &err), BW_OK);
	CHECK_INT(res.format, BW_FEED_CSV);
	CHECK_INT(res.refused, 0);
	CHECK_INT(res.rejected, 0);
	CHECK_INT(res.unsupported, 0);
	CHECK_INT(res.records, (long)count_lines(e1, n1) - 1);
	e2 = export_csv(b, &n2);
	if (!CHECK(e2 != NULL))
		goto out;
	CHECK_INT(n2, n1);
	CHECK(n1 == n2 && memcmp(e1, e2, n1) == 0);
out:
	bw_reader_free(r);
	free(e1);
	free(e2);
	bw_store_close(a);
	bw_store_close(b);
	bw_psl_free(psl);
	for (int i = 0; i < 6; i++) {
		static const char *const names[] = {"a.db", "a.db-wal", "a.db-shm",
						    "b.db", "b.db-wal", "b.db-shm"};
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	TAP_RUN(test_urlhaus);
	TAP_RUN(test_urlhaus_variants);
	TAP_RUN(test_threatfox);
	TAP_RUN(test_threatfox_types);
	TAP_RUN(test_feodo);
	TAP_RUN(test_meta_type_column);
	TAP_RUN(test_meta_multiline);
	TAP_RUN(test_phishing_list);
	TAP_RUN(test_auto_map_fields);
	TAP_RUN(test_columns_option);
	TAP_RUN(test_columns_override_known);
	TAP_RUN(test_headerless);
	TAP_RUN(test_bad_cells);
	TAP_RUN(test_several_indicator_columns);
	TAP_RUN(test_quoting);
	TAP_RUN(test_bom_crlf_comments);
	TAP_RUN(test_long_records);
	TAP_RUN(test_columns_limit);
	TAP_RUN(test_refusals);
	TAP_RUN(test_sink_stops);
	TAP_RUN(test_detection);
	TAP_RUN(test_round_trip);
	return tap_done();
}
