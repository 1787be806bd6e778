/*
 * test_stix.c - STIX 2.1 ingestion and export.
 *
 * Ingestion: the OASIS example bundles of tests/data/stix with exact
 * records, rejects and unsupported counts and values; a TAXII envelope; a
 * handmade bundle for what the examples lack (TLP markings defined in the
 * bundle, several markings on one object, OR expansion, hashes, IPv6
 * networks, recipients, revoked, STIX 2.0 style, every kind of reject); the
 * negative files; the cti-pattern-validator vectors (patterns.tsv) and more
 * pattern cases; a generated bundle of 20,000 indicators.
 *
 * Export: structure and references of the bundle, deterministic ids, the
 * TLP 2.0 marking definitions, the edge cases (valid_until not after
 * valid_from, CVE ids, invalid UTF-8, an empty store), and the round trip:
 * real plain, DROP and STIX data into a store, exported as STIX, ingested
 * into a fresh store, both compared through the CSV export field by field.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/psl.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "feed/feed.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "share/export.h"
#include "store/store.h"
#include "tap.h"

/* ---- a sink that keeps everything ------------------------------------- */

struct rec {
	char type[16];
	char value[BW_IOC_VALUE_MAX + 1];
	char source[BW_SOURCE_NAME_MAX + 1]; /* "" when not stated */
	char ext[BW_EXTERNAL_ID_MAX + 1];    /* "" when not stated */
	int tlp, confidence, revoked;
	int64_t first_seen, last_seen, valid_from, valid_until;
	char tags[2048];    /* "kind:name|..." in the parser's order */
	char recipients[256];
	char where[64];
};

struct got {
	struct rec *recs;
	size_t n, cap;
	char **rejects; /* "where: reason" */
	size_t nrejects;
	char **unsupported;
	size_t nunsupported;
};

static char *
joined(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 3;
	char *s = malloc(n);

	snprintf(s, n, "%s: %s", a, b);
	return s;
}

static int
on_record(void *ctx, const struct bw_feed_record *r, const char *where,
	  struct bw_err *err)
{
	struct got *g = ctx;
	struct rec *x;
	size_t used = 0;

	(void)err;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->recs = realloc(g->recs, g->cap * sizeof(*g->recs));
	}
	x = &g->recs[g->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->type, sizeof(x->type), "%s", bw_ioc_type_name(r->ioc.type));
	snprintf(x->value, sizeof(x->value), "%s", r->ioc.value);
	snprintf(x->source, sizeof(x->source), "%s", r->source ? r->source : "");
	snprintf(x->ext, sizeof(x->ext), "%s", r->external_id ? r->external_id : "");
	x->tlp = r->tlp;
	x->confidence = r->confidence;
	x->revoked = r->revoked;
	x->first_seen = r->first_seen;
	x->last_seen = r->last_seen;
	x->valid_from = r->valid_from;
	x->valid_until = r->valid_until;
	for (size_t i = 0; i < r->ntags && used < sizeof(x->tags); i++)
		used += (size_t)snprintf(x->tags + used, sizeof(x->tags) - used, "%s%s:%s",
					 i ? "|" : "", r->tags[i].kind, r->tags[i].name);
	used = 0;
	for (size_t i = 0; i < r->nrecipients && used < sizeof(x->recipients); i++)
		used += (size_t)snprintf(x->recipients + used, sizeof(x->recipients) - used,
					 "%s%s", i ? "|" : "", r->recipients[i]);
	snprintf(x->where, sizeof(x->where), "%s", where);
	return 0;
}

static void
on_reject(void *ctx, const char *where, const char *reason, const char *raw,
	  size_t rawlen)
{
	struct got *g = ctx;

	(void)raw;
	(void)rawlen;
	g->rejects = realloc(g->rejects, (g->nrejects + 1) * sizeof(char *));
	g->rejects[g->nrejects++] = joined(where, reason);
}

static void
on_unsupported(void *ctx, const char *where, const char *reason)
{
	struct got *g = ctx;

	g->unsupported = realloc(g->unsupported, (g->nunsupported + 1) * sizeof(char *));
	g->unsupported[g->nunsupported++] = joined(where, reason);
}

static void
got_free(struct got *g)
{
	for (size_t i = 0; i < g->nrejects; i++)
		free(g->rejects[i]);
	for (size_t i = 0; i < g->nunsupported; i++)
		free(g->unsupported[i]);
	free(g->rejects);
	free(g->unsupported);
	free(g->recs);
	memset(g, 0, sizeof(*g));
}

static int
parse_reader(struct bw_reader *in, struct got *g, struct bw_err *err)
{
	struct bw_feed_sink sink = {on_record, on_reject, on_unsupported, g};

	memset(g, 0, sizeof(*g));
	return bw_feed_parse_stix(in, NULL, &sink, err);
}

static int
parse_text(const char *text, struct got *g, struct bw_err *err)
{
	struct bw_reader *in;
	int rc = bw_reader_open_mem(text, strlen(text), "test", &in, err);

	if (rc)
		return rc;
	rc = parse_reader(in, g, err);
	bw_reader_free(in);
	return rc;
}

static const char *
data_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("BW_TEST_DATA");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	return path;
}

static int
parse_file(const char *name, struct got *g, struct bw_err *err)
{
	struct bw_reader *in;
	char rel[256];
	int rc;

	snprintf(rel, sizeof(rel), "stix/%s", name);
	memset(g, 0, sizeof(*g));
	rc = bw_reader_open(data_path(rel), &in, err);
	if (rc)
		return rc;
	rc = parse_reader(in, g, err);
	bw_reader_free(in);
	return rc;
}

static const struct rec *
find(const struct got *g, const char *type, const char *value)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->recs[i].type, type) == 0 && strcmp(g->recs[i].value, value) == 0)
			return &g->recs[i];
	return NULL;
}

static int
has(char **list, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], want) == 0)
			return 1;
	printf("#   missing \"%s\"; have:\n", want);
	for (size_t i = 0; i < n; i++)
		printf("#     \"%s\"\n", list[i]);
	return 0;
}

static int64_t
ts(const char *s)
{
	int64_t t = 0;

	bw_time_parse(s, strlen(s), &t, NULL);
	return t;
}

/* ---- the OASIS examples ----------------------------------------------- */

static void
test_c2_ip(void)
{
	struct got g;
	struct bw_err err = {0, ""};
	const struct rec *r;

	CHECK_INT(parse_file("indicator-for-c2-ip-address.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 0);
	r = find(&g, "ipv4", "10.0.0.0");
	CHECK(r != NULL);
	if (r) {
		CHECK_STR(r->where, "objects[0]");
		CHECK_STR(r->source, "");  /* no created_by_ref: the driver's default */
		CHECK_STR(r->ext, "indicator--33fe3b22-0201-47cf-85d0-97c02164528d");
		CHECK_INT(r->first_seen, ts("2014-05-08T09:00:00Z"));
		CHECK_INT(r->last_seen, ts("2014-05-08T09:00:00Z"));
		CHECK_INT(r->valid_from, ts("2014-05-08T09:00:00Z"));
		CHECK_INT(r->valid_until, 0);
		CHECK_INT(r->tlp, BW_TLP_UNSET);
		CHECK_INT(r->confidence, -1);
		CHECK_INT(r->revoked, 0);
		CHECK_STR(r->tags, "");
	}
	got_free(&g);
}

static void
test_apt1(void)
{
	static const char *const cidrs[] = {"223.166.0.0/15", "58.246.0.0/15",
					    "112.64.0.0/15", "139.226.0.0/15"};
	static const char *const domains[] = {"hugesoft.org", "arrowservice.net",
					      "msnhome.org"};
	static const char *const md5s[] = {"001dd76872d80801692ff942308c64e6",
					   "002325a0a67fded0381b5648d7fe9b8e",
					   "00dbb9e1c09dbdafb360f3163ba5a3de"};
	struct got g;
	struct bw_err err = {0, ""};
	const struct rec *r;

	CHECK_INT(parse_file("apt1.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 10);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 2);
	CHECK(has(g.unsupported, g.nunsupported,
		  "objects[20].pattern: object type x509-certificate not supported"));
	CHECK(has(g.unsupported, g.nunsupported,
		  "objects[21].pattern: object type x509-certificate not supported"));
	for (int i = 0; i < 4; i++) {
		r = find(&g, "cidr", cidrs[i]);
		if (!CHECK(r != NULL))
			continue;
		/* the report lists every indicator: a tag of kind report */
		CHECK_STR(r->tags, "malware:HUC Packet Transmit Tool (HTRAN)"
				   "|report:APT1: Exposing One of China's Cyber Espionage Units");
		CHECK_INT(r->first_seen, ts("2015-05-15T09:12:16Z"));
		CHECK_INT(r->valid_from, ts("2015-05-15T09:12:16Z"));
	}
	CHECK_STR(find(&g, "cidr", "223.166.0.0/15")->ext,
		  "indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5");
	CHECK_STR(find(&g, "cidr", "223.166.0.0/15")->where, "objects[10]");
	for (int i = 0; i < 3; i++) {
		r = find(&g, "domain", domains[i]);
		if (CHECK(r != NULL))
			CHECK_STR(r->tags, "actor:Ugly Gorilla|report:APT1: Exposing One of China's Cyber Espionage Units");
	}
	for (int i = 0; i < 3; i++) {
		r = find(&g, "md5", md5s[i]);
		if (CHECK(r != NULL))
			CHECK_STR(r->tags, "report:APT1: Exposing One of China's Cyber Espionage Units");
	}
	got_free(&g);
}

static void
test_marking_definitions(void)
{
	struct got g;
	struct bw_err err = {0, ""};

	CHECK_INT(parse_file("using-marking-definitions.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	if (g.n == 1) {
		CHECK_STR(g.recs[0].value, "10.0.0.0");
		/* TLP 1.0 amber by its fixed id, next to a statement marking */
		CHECK_INT(g.recs[0].tlp, BW_TLP_AMBER);
		CHECK_STR(g.recs[0].source, "Stark Industries");
		CHECK_STR(g.recs[0].where, "objects[1]");
	}
	got_free(&g);
}

static void
test_malware_tags(void)
{
	struct got g;
	struct bw_err err = {0, ""};
	const struct rec *r;

	CHECK_INT(parse_file("indicator-for-malicious-url.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	r = find(&g, "url", "http://x4z9arb.cn/4712/");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->tags, "malware:x4z9arb backdoor");
		CHECK_INT(r->first_seen, ts("2014-06-29T13:49:37Z"));
	}
	got_free(&g);

	CHECK_INT(parse_file("indicators-for-C2-with-COA.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.nrejects + g.nunsupported, 0);
	r = find(&g, "ipv4", "10.0.0.0");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->tags, "malware:Poison Ivy");
		CHECK_STR(r->source, "The MITRE Corporation - DHS Support Team");
	}
	r = find(&g, "sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->tags, "malware:Poison Ivy");
		CHECK_INT(r->first_seen, ts("2017-01-27T13:49:53Z"));
		CHECK_INT(r->valid_from, ts("2014-05-08T09:00:00Z"));
	}
	got_free(&g);

	CHECK_INT(parse_file("sighting-of-an-indicator.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	r = find(&g, "url", "http://paypa1.banking.com/");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->source, "Alpha Threat Analysis Org.");
		CHECK_INT(r->valid_from, ts("2015-06-29T09:10:15Z"));
	}
	got_free(&g);
}

static void
test_context_only(void)
{
	static const char *const files[] = {
		"defining-campaigns-threat-actors-intrusion-sets.json",
		"identifying-a-threat-actor-profile.json",
		"tlp-amber.json",
		"identity_custom.json",
	};
	struct got g;
	struct bw_err err = {0, ""};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		CHECK_INT(parse_file(files[i], &g, &err), BW_OK);
		CHECK_INT(g.n + g.nrejects + g.nunsupported, 0);
		got_free(&g);
	}
	CHECK_INT(parse_file("malicious-email-indicator-with-attachment.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(g.nrejects, 0);
	CHECK(has(g.unsupported, g.nunsupported,
		  "objects[2].pattern: object type email-message not supported"));
	CHECK(has(g.unsupported, g.nunsupported,
		  "objects[3].pattern: object type email-message not supported"));
	got_free(&g);
}

static void
test_taxii_envelope(void)
{
	struct got g;
	struct bw_err err = {0, ""};
	const struct rec *r;

	CHECK_INT(parse_file("taxii-envelope.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 4);
	CHECK_INT(g.nrejects + g.nunsupported, 0);
	r = find(&g, "sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c");
	if (CHECK(r != NULL)) {
		/* the relationship comes before the indicator and the malware
		 * after it, in two versions */
		CHECK_STR(r->tags, "malware:Poison Ivy");
		CHECK_STR(r->where, "objects[1]");
	}
	CHECK(find(&g, "url", "http://z4z10farb.cn/4712") != NULL);
	/* two versions of one indicator: two records, the store keeps the last */
	CHECK_STR(g.recs[2].value, "http://x4z9arb.cn/4712");
	CHECK_INT(g.recs[2].last_seen, ts("2016-12-25T12:30:59Z"));
	CHECK_STR(g.recs[3].value, "http://x4z9arb.cn/4712");
	CHECK_INT(g.recs[3].last_seen, ts("2017-01-27T13:49:53Z"));
	CHECK_INT(g.recs[3].valid_from, ts("2016-11-03T12:30:59Z"));
	got_free(&g);
}

static void
test_features(void)
{
	struct got g;
	struct bw_err err = {0, ""};
	const struct rec *r;

	CHECK_INT(parse_file("bulwark-features.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 10);
	CHECK_INT(g.nrejects, 6);
	CHECK_INT(g.nunsupported, 2);

	/* two observations: two records of one object */
	r = find(&g, "domain", "login.example.com");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->where, "objects[4]");
		CHECK_STR(r->source, "CERT Example");
		/* the first external reference that has an id */
		CHECK_STR(r->ext, "CE-2024-0001");
		CHECK_INT(r->confidence, 85);
		/* GREEN (TLP 1.0 id) and AMBER+STRICT (TLP 2.0 object with its
		 * own id) and a statement: the most restrictive wins */
		CHECK_INT(r->tlp, BW_TLP_AMBER_STRICT);
		CHECK_INT(r->first_seen, ts("2024-03-01T10:00:00Z"));
		CHECK_INT(r->last_seen, ts("2024-03-02T11:30:00Z"));
		CHECK_INT(r->valid_from, ts("2024-03-01T10:00:00Z"));
		CHECK_INT(r->valid_until, ts("2099-12-31T23:59:59Z"));
		CHECK_STR(r->tags, "tag:phishing|tag:c2|malware:ExampleRAT");
		CHECK_STR(r->recipients, "DE|FR");
		CHECK_INT(r->revoked, 0);
	}
	r = find(&g, "ipv4", "198.51.100.7");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->where, "objects[4]");
		CHECK_INT(r->tlp, BW_TLP_AMBER_STRICT);
		CHECK_STR(r->tags, "tag:phishing|tag:c2|malware:ExampleRAT");
	}
	/* three hashes in one observation, revoked, TLP 1.0 red defined in
	 * the bundle under its own id */
	r = find(&g, "sha1", "8c1aa8645b79c1d4e51ae5f5ca48ce15fb37dff2");
	if (CHECK(r != NULL)) {
		CHECK_INT(r->revoked, 1);
		CHECK_INT(r->tlp, BW_TLP_RED);
		CHECK_STR(r->tags, "actor:Example Actor");
		CHECK_STR(r->ext, "indicator--00000002-0000-4000-8000-000000000002");
	}
	CHECK(find(&g, "sha256", "c6dae6aa7c98b66479dec9f759b3a44c3d22794a2d069e73c602ed6996b21267") != NULL);
	CHECK(find(&g, "md5", "59903a2339d519448add7ed4c71b49c9") != NULL);
	/* intrusion set and campaign; TLP 2.0 clear by its fixed id */
	r = find(&g, "email", "phish@example.org");
	if (CHECK(r != NULL)) {
		CHECK_INT(r->tlp, BW_TLP_CLEAR);
		CHECK_STR(r->tags, "campaign:Operation Example|actor:APT-Example");
		CHECK_STR(r->source, "");
	}
	/* IPv6 ISSUBSET, a comment, an escaped quote; a revoked relationship
	 * and one to an object not in the bundle give no tags */
	r = find(&g, "cidr", "2001:db8:abcd::/48");
	if (CHECK(r != NULL))
		CHECK_STR(r->tags, "");
	r = find(&g, "url", "http://bad.example.net/it's/here");
	if (CHECK(r != NULL)) {
		CHECK_STR(r->tags, "");
		CHECK_INT(r->tlp, BW_TLP_UNSET);
	}
	r = find(&g, "ipv6", "2001:db8::bad");
	if (CHECK(r != NULL))
		CHECK_STR(r->where, "objects[7]");
	/* STIX 2.0 style: no pattern_type, labels */
	r = find(&g, "domain", "legacy.example");
	if (CHECK(r != NULL))
		CHECK_STR(r->tags, "tag:malicious-activity");

	CHECK(has(g.unsupported, g.nunsupported, "objects[8]: pattern_type yara not supported"));
	CHECK(has(g.unsupported, g.nunsupported, "objects[9].pattern: pattern uses AND"));
	CHECK(has(g.rejects, g.nrejects,
		  "objects[10].pattern: invalid pattern: expected ']' at offset 34"));
	CHECK(has(g.rejects, g.nrejects, "objects[11]: indicator without a pattern"));
	CHECK(has(g.rejects, g.nrejects,
		  "objects[12].pattern: not a valid IPv4 address (octets are 0-255)"));
	CHECK(has(g.rejects, g.nrejects, "objects[13]: not a JSON object"));
	CHECK(has(g.rejects, g.nrejects, "objects[14]: STIX object without a \"type\" string"));
	CHECK(has(g.rejects, g.nrejects,
		  "objects[15].confidence: confidence is not an integer from 0 to 100"));
	got_free(&g);
}

static void
test_refused(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"not json at all", "expected a JSON object"},
		{"[{\"type\":\"indicator\"}]", "expected a JSON object"},
		{"{\"type\":\"bundle\",\"objects\":{}}", "expected an array"},
		{"{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 'a.example']\"}",
		 "not a STIX bundle"},
		{"{\"spec_version\":\"2.1\"}", "no \"objects\" array"},
		{"{\"type\":\"bundle\",\"objects\":[", "unexpected end"},
		/* an element that is not JSON, after a good indicator */
		{"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":"
		 "\"[domain-name:value = 'a.example']\"},{\"type\" \"x\"}]}",
		 "objects[1] is not valid JSON"},
	};
	struct got g;
	struct bw_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		CHECK_INT(parse_text(bad[i].text, &g, &err), BW_EFORMAT);
		if (!CHECK(strstr(err.msg, bad[i].why) != NULL))
			printf("#   message: %s\n", err.msg);
		got_free(&g);
	}
	/* the validator's negative files */
	CHECK_INT(parse_file("invalid_braces.json", &g, &err), BW_EFORMAT);
	got_free(&g);
	CHECK_INT(parse_file("identity.json", &g, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "not a STIX bundle") != NULL);
	got_free(&g);
	CHECK_INT(parse_file("invalid_timestamp.json", &g, &err), BW_EFORMAT);
	got_free(&g);

	/* an empty bundle may leave out "objects" */
	CHECK_INT(parse_text("{\"type\":\"bundle\",\"id\":\"bundle--1\"}", &g, &err), BW_OK);
	CHECK_INT(g.n, 0);
	got_free(&g);
	/* a duplicate key is the element's fault alone */
	CHECK_INT(parse_text("{\"type\":\"bundle\",\"objects\":["
			     "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"id\":\"indicator--2\","
			     "\"pattern\":\"[domain-name:value = 'dup.example']\"},"
			     "{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 'ok.example']\"}]}",
			     &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nrejects, 1);
	if (g.nrejects)
		CHECK(strncmp(g.rejects[0], "objects[0]: duplicate object key", 32) == 0);
	got_free(&g);
}

/* ---- patterns --------------------------------------------------------- */

/* Parses a bundle holding one indicator with pattern. */
static int
parse_pattern(const char *pattern, struct got *g)
{
	json_t *b = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}",
			      "type", "bundle", "id", "bundle--0a0b0c0d-0000-4000-8000-000000000000",
			      "objects", "type", "indicator", "spec_version", "2.1",
			      "id", "indicator--0a0b0c0d-0000-4000-8000-000000000001",
			      "created", "2024-01-01T00:00:00.000Z",
			      "modified", "2024-01-01T00:00:00.000Z",
			      "pattern", pattern, "pattern_type", "stix",
			      "valid_from", "2024-01-01T00:00:00Z");
	char *text = json_dumps(b, 0);
	struct bw_err err = {0, ""};
	int rc = parse_text(text, g, &err);

	free(text);
	json_decref(b);
	return rc;
}

/* values: "type:value|type:value" of the records, in order */
static void
expect_values(const char *pattern, const char *values)
{
	struct got g;
	char have[8192];
	size_t used = 0;

	have[0] = '\0';
	if (!tap_check(parse_pattern(pattern, &g) == BW_OK, pattern, __FILE__, __LINE__))
		return;
	for (size_t i = 0; i < g.n; i++)
		used += (size_t)snprintf(have + used, sizeof(have) - used, "%s%s:%s",
					 i ? "|" : "", g.recs[i].type, g.recs[i].value);
	if (!tap_check(strcmp(have, values) == 0 && g.nrejects == 0 && g.nunsupported == 0,
		       pattern, __FILE__, __LINE__)) {
		printf("#   got:  %s (%zu rejected, %zu unsupported)\n#   want: %s\n", have,
		       g.nrejects, g.nunsupported, values);
		for (size_t i = 0; i < g.nrejects; i++)
			printf("#   %s\n", g.rejects[i]);
		for (size_t i = 0; i < g.nunsupported; i++)
			printf("#   %s\n", g.unsupported[i]);
	}
	got_free(&g);
}

static void
expect_unsupported(const char *pattern, const char *reason)
{
	struct got g;
	char want[512];

	snprintf(want, sizeof(want), "objects[0].pattern: %s", reason);
	if (!tap_check(parse_pattern(pattern, &g) == BW_OK, pattern, __FILE__, __LINE__))
		return;
	if (!tap_check(g.n == 0 && g.nrejects == 0 && g.nunsupported == 1 &&
		       strcmp(g.unsupported[0], want) == 0,
		       pattern, __FILE__, __LINE__))
		printf("#   %zu records, %zu rejected, %zu unsupported (%s); want %s\n", g.n,
		       g.nrejects, g.nunsupported, g.nunsupported ? g.unsupported[0] : "",
		       want);
	got_free(&g);
}

static void
expect_rejected(const char *pattern, const char *reason)
{
	struct got g;

	if (!tap_check(parse_pattern(pattern, &g) == BW_OK, pattern, __FILE__, __LINE__))
		return;
	if (!tap_check(g.n == 0 && g.nunsupported == 0 && g.nrejects == 1 &&
		       strstr(g.rejects[0], reason) != NULL &&
		       strncmp(g.rejects[0], "objects[0].pattern: ", 20) == 0,
		       pattern, __FILE__, __LINE__))
		printf("#   %zu records, %zu rejected (%s), %zu unsupported; want \"%s\"\n",
		       g.n, g.nrejects, g.nrejects ? g.rejects[0] : "", g.nunsupported,
		       reason);
	got_free(&g);
}

/*
 * Every vector of the reference validator: "valid" ones are accepted or
 * unsupported, never rejected; "invalid" ones are rejected or unsupported.
 * Exactly: the three patterns in bulwark's subset give their records, the
 * other valid ones are unsupported; the invalid ones are rejected with a
 * syntax error, except the bad SHA-256 (rejected by the hash check) and
 * the duplicate qualifiers (unsupported: qualifiers are outside the subset
 * before their count matters).
 */
static void
test_pattern_vectors(void)
{
	FILE *f = fopen(data_path("stix/patterns.tsv"), "r");
	char line[4096];
	int nvalid = 0, ninvalid = 0, exact = 0, lines = 0;

	if (!CHECK(f != NULL))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *label = line, *pattern, *expected = NULL, *tab;
		struct got g;
		int rc, ok;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		pattern = tab + 1;
		tab = strchr(pattern, '\t');
		if (tab) {
			*tab = '\0';
			expected = tab + 1;
		}
		lines++;
		rc = parse_pattern(pattern, &g);
		if (strcmp(label, "valid") == 0) {
			nvalid++;
			ok = rc == BW_OK && g.nrejects == 0 && (g.n > 0) != (g.nunsupported > 0);
			if (strcmp(pattern, "[file:hashes.'SHA-256' = "
					    "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']") == 0) {
				exact++;
				ok = ok && g.n == 1 && strcmp(g.recs[0].type, "sha256") == 0 &&
				     strcmp(g.recs[0].value, "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f") == 0;
			} else if (strcmp(pattern, "[url:value = 'http://example.com/foo' OR "
						   "url:value = 'http://example.com/bar']") == 0) {
				exact++;
				ok = ok && g.n == 2 && strcmp(g.recs[0].value, "http://example.com/foo") == 0 &&
				     strcmp(g.recs[1].value, "http://example.com/bar") == 0;
			} else if (strcmp(pattern, "[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a69faa']") == 0) {
				exact++;
				ok = ok && g.n == 1 && strcmp(g.recs[0].type, "md5") == 0 &&
				     strcmp(g.recs[0].value, "cead3f77f6cda6ec00f57d76c9a69faa") == 0;
			} else {
				ok = ok && g.n == 0 && g.nunsupported == 1;
			}
		} else {
			ninvalid++;
			ok = rc == BW_OK && g.n == 0 && g.nrejects + g.nunsupported == 1;
			if (expected && strstr(expected, "Duplicate qualifier"))
				ok = ok && g.nunsupported == 1;
			else if (expected && strstr(expected, "not a valid SHA-256 hash"))
				ok = ok && g.nrejects == 1 &&
				     strstr(g.rejects[0], "expected 64 hex digits for sha256") != NULL;
			else
				ok = ok && g.nrejects == 1 && strstr(g.rejects[0], "invalid pattern: ") != NULL;
		}
		if (!tap_check(ok, pattern, __FILE__, __LINE__))
			printf("#   %s: rc %d, %zu records, %zu rejected (%s), %zu unsupported (%s)\n",
			       label, rc, g.n, g.nrejects, g.nrejects ? g.rejects[0] : "",
			       g.nunsupported, g.nunsupported ? g.unsupported[0] : "");
		got_free(&g);
	}
	fclose(f);
	CHECK_INT(lines, 66);
	CHECK_INT(nvalid, 49);
	CHECK_INT(ninvalid, 17);
	CHECK_INT(exact, 3);
}

static void
test_patterns_subset(void)
{
	/* hash names, quoted or not, in any case */
	expect_values("[file:hashes.MD5 = 'CEAD3F77F6CDA6EC00F57D76C9A69FAA']",
		      "md5:cead3f77f6cda6ec00f57d76c9a69faa");
	expect_values("[file:hashes.'md5' = 'cead3f77f6cda6ec00f57d76c9a69faa']",
		      "md5:cead3f77f6cda6ec00f57d76c9a69faa");
	expect_values("[file:hashes.'SHA-1' = '8c1aa8645b79c1d4e51ae5f5ca48ce15fb37dff2']",
		      "sha1:8c1aa8645b79c1d4e51ae5f5ca48ce15fb37dff2");
	expect_values("[file:hashes.SHA1 = '8c1aa8645b79c1d4e51ae5f5ca48ce15fb37dff2']",
		      "sha1:8c1aa8645b79c1d4e51ae5f5ca48ce15fb37dff2");
	expect_values("[file:hashes.sha256 = 'c6dae6aa7c98b66479dec9f759b3a44c3d22794a2d069e73c602ed6996b21267']",
		      "sha256:c6dae6aa7c98b66479dec9f759b3a44c3d22794a2d069e73c602ed6996b21267");
	expect_values("[file:'hashes'.'Sha-256' = 'c6dae6aa7c98b66479dec9f759b3a44c3d22794a2d069e73c602ed6996b21267']",
		      "sha256:c6dae6aa7c98b66479dec9f759b3a44c3d22794a2d069e73c602ed6996b21267");
	/* addresses and networks */
	expect_values("[ipv4-addr:value = '198.51.100.1']", "ipv4:198.51.100.1");
	expect_values("[ipv4-addr:value = '198.51.100.0/24']", "cidr:198.51.100.0/24");
	expect_values("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", "cidr:198.51.100.0/24");
	expect_values("[ipv4-addr:value ISSUBSET '198.51.100.7/32']", "ipv4:198.51.100.7");
	expect_values("[ipv6-addr:value = '2001:DB8::1']", "ipv6:2001:db8::1");
	expect_values("[ipv6-addr:value ISSUBSET '2001:db8::/32']", "cidr:2001:db8::/32");
	/* the other types */
	expect_values("[domain-name:value = 'Evil.Example.COM.']", "domain:evil.example.com");
	expect_values("[url:value = 'HTTP://Evil.Example.com:80/a/../b']", "url:http://evil.example.com/b");
	expect_values("[email-addr:value = 'Bad@Example.com']", "email:bad@example.com");
	/* escapes in literals */
	expect_values("[url:value = 'http://x.example/it\\'s']", "url:http://x.example/it's");
	/* ORs, parentheses, comments, white space, == */
	expect_values("[domain-name:value = 'a.example' OR domain-name:value = 'b.example'] OR "
		      "([ipv4-addr:value = '192.0.2.1'] OR [url:value = 'http://c.example/'])",
		      "domain:a.example|domain:b.example|ipv4:192.0.2.1|url:http://c.example/");
	expect_values("[(domain-name:value = 'a.example' OR (email-addr:value = 'x@b.example'))]",
		      "domain:a.example|email:x@b.example");
	expect_values("  /* c */ [ domain-name:value\t== 'a.example' ] // end", "domain:a.example");
	expect_values("[domain-name:'value' = 'a.example']", "domain:a.example");

	/* outside the subset */
	expect_unsupported("[domain-name:value = 'a.example' AND domain-name:value = 'b.example']",
			   "pattern uses AND");
	expect_unsupported("[domain-name:value = 'a.example'] AND [ipv4-addr:value = '192.0.2.1']",
			   "pattern uses AND");
	expect_unsupported("[domain-name:value = 'a.example'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.1']",
			   "pattern uses FOLLOWEDBY");
	expect_unsupported("[domain-name:value = 'a.example'] WITHIN 60 SECONDS", "pattern uses WITHIN");
	expect_unsupported("[domain-name:value = 'a.example'] REPEATS 2 TIMES", "pattern uses REPEATS");
	expect_unsupported("[domain-name:value = 'a.example'] START t'2024-01-01T00:00:00Z' "
			   "STOP t'2024-01-02T00:00:00Z'", "pattern uses START/STOP");
	expect_unsupported("[domain-name:value != 'a.example']", "operator != not supported");
	expect_unsupported("[domain-name:value NOT = 'a.example']", "pattern uses NOT");
	expect_unsupported("[domain-name:value LIKE '%.example']", "operator LIKE not supported");
	expect_unsupported("[domain-name:value MATCHES '^a']", "operator MATCHES not supported");
	expect_unsupported("[domain-name:value IN ('a.example', 'b.example')]", "operator IN not supported");
	expect_unsupported("[domain-name:value ISSUBSET 'a.example']", "operator ISSUBSET not supported");
	expect_unsupported("[process:name = 'evil.exe']", "object type process not supported");
	expect_unsupported("[file:name = 'evil.exe']", "property file:name not supported");
	expect_unsupported("[file:hashes.'SHA-512' = 'ab']", "hash algorithm SHA-512 not supported");
	expect_unsupported("[file:hashes[*] = 'cead3f77f6cda6ec00f57d76c9a69faa']",
			   "property file:hashes[*] not supported");
	expect_unsupported("[domain-name:value = 'a.example' OR process:pid = 4]",
			   "object type process not supported");

	/* wrong values and syntax */
	expect_rejected("[ipv4-addr:value = '2001:db8::1']", "expected an IPv4 address, got IPv6");
	expect_rejected("[file:hashes.MD5 = 'abc']", "expected 32 hex digits for md5");
	expect_rejected("[domain-name:value = 5]", "domain-name:value must be compared with a string literal");
	expect_rejected("[domain-name:value = 'a.example'", "invalid pattern: expected ']'");
	expect_rejected("[domain-name:value = 'a.example] ", "invalid pattern");
	expect_rejected("[domain-name:value = 'a\\x']", "invalid pattern");
	expect_rejected("[file:hashes.SHA-256 = 'c6dae6aa']", "invalid pattern");
	expect_rejected("[domain-name:value = 'a.example'] or [domain-name:value = 'b.example']",
			"invalid pattern: unexpected text after the pattern");
	expect_rejected("", "invalid pattern: expected '['");
	expect_rejected("[]", "invalid pattern");
	expect_rejected("[domain-name:value = 'a.example'] /* open", "invalid pattern");
	{
		/* nesting is bounded */
		char deep[400];
		size_t k = 0;
		for (int i = 0; i < 100; i++)
			deep[k++] = '(';
		k += (size_t)snprintf(deep + k, sizeof(deep) - k, "[domain-name:value = 'a.example']");
		for (int i = 0; i < 100; i++)
			deep[k++] = ')';
		deep[k] = '\0';
		expect_rejected(deep, "nested too deeply");
	}
	{
		/* one record per comparison, up to the limit */
		size_t cap = 4097 * 40 + 16, k = 0;
		char *big = malloc(cap);
		struct got g;
		k += (size_t)snprintf(big + k, cap - k, "[");
		for (int i = 0; i < 4097; i++)
			k += (size_t)snprintf(big + k, cap - k, "%sipv4-addr:value = '10.%d.%d.1'",
					      i ? " OR " : "", i / 256, i % 256);
		snprintf(big + k, cap - k, "]");
		CHECK_INT(parse_pattern(big, &g), BW_OK);
		CHECK_INT(g.n, 0);
		CHECK(g.nrejects == 1 && strstr(g.rejects[0], "more than 4096 comparisons"));
		got_free(&g);
		memcpy(strstr(big, " OR ipv4-addr:value = '10.16.0.1'"), "]", 2);
		CHECK_INT(parse_pattern(big, &g), BW_OK);
		CHECK_INT(g.n, 4096);
		CHECK_INT(g.nrejects, 0);
		got_free(&g);
		free(big);
	}
}

/* A bundle of n indicators, a tenth of them related to one of 100 malware
 * objects listed after them, in memory. */
static void
test_generated(void)
{
	const int n = 20000;
	size_t cap = (size_t)n * 600, k = 0;
	char *b = malloc(cap);
	struct got g;
	struct bw_err err = {0, ""};
	int tagged = 0, right = 1;

	k += (size_t)snprintf(b + k, cap - k, "{\"type\":\"bundle\",\"id\":\"bundle--x\",\"objects\":[");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(b + k, cap - k,
				      "%s{\"type\":\"indicator\",\"spec_version\":\"2.1\","
				      "\"id\":\"indicator--%08d-0000-4000-8000-000000000000\","
				      "\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
				      "\"pattern\":\"[domain-name:value = 'host%d.example.com']\","
				      "\"pattern_type\":\"stix\",\"valid_from\":\"2024-01-01T00:00:00Z\"}",
				      i ? "," : "", i, i);
	for (int i = 0; i < n; i += 10)
		k += (size_t)snprintf(b + k, cap - k,
				      ",{\"type\":\"relationship\",\"id\":\"relationship--%d\","
				      "\"relationship_type\":\"indicates\","
				      "\"source_ref\":\"indicator--%08d-0000-4000-8000-000000000000\","
				      "\"target_ref\":\"malware--%d\"}",
				      i, i, i % 100);
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(b + k, cap - k,
				      ",{\"id\":\"malware--%d\",\"name\":\"family %d\",\"type\":\"malware\"}",
				      i, i);
	snprintf(b + k, cap - k, "]}");
	CHECK_INT(parse_text(b, &g, &err), BW_OK);
	CHECK_INT(g.n, n);
	CHECK_INT(g.nrejects + g.nunsupported, 0);
	for (size_t i = 0; i < g.n; i++) {
		char want[64];
		if (i % 10 == 0) {
			snprintf(want, sizeof(want), "malware:family %zu", i % 100);
			tagged++;
			if (strcmp(g.recs[i].tags, want) != 0)
				right = 0;
		} else if (g.recs[i].tags[0]) {
			right = 0;
		}
	}
	CHECK_INT(tagged, n / 10);
	CHECK(right);
	got_free(&g);
	free(b);
}

/* ---- the fast reader against jansson ---------------------------------- */

/* Everything a parse produced, as one string. */
static void
outcome(int rc, const struct bw_err *err, const struct got *g, char *out, size_t cap)
{
	/* a refused file is refused, whichever check saw it first */
	size_t k = (size_t)snprintf(out, cap, "rc=%d;", rc);

	(void)err;
	if (rc)
		return;
	for (size_t i = 0; i < g->n && k < cap; i++) {
		const struct rec *r = &g->recs[i];
		k += (size_t)snprintf(out + k, cap - k,
				      "R %s %s src=%s ext=%s tlp=%d c=%d rv=%d %lld %lld %lld %lld "
				      "tags=%s rc=%s @%s;",
				      r->type, r->value, r->source, r->ext, r->tlp, r->confidence,
				      r->revoked, (long long)r->first_seen, (long long)r->last_seen,
				      (long long)r->valid_from, (long long)r->valid_until, r->tags,
				      r->recipients, r->where);
	}
	for (size_t i = 0; i < g->nrejects && k < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "X %s;", g->rejects[i]);
	for (size_t i = 0; i < g->nunsupported && k < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "U %s;", g->unsupported[i]);
}

/*
 * Parses a bundle made of context + elem twice: as it is (the fast reader
 * reads what it can) and with a member whose name is escaped put first in
 * elem (the fast reader gives up on that, so jansson reads it).  Both must
 * come out the same.
 */
static int
same_both_ways(const char *context, const char *elem, char *why, size_t whycap)
{
	size_t n = strlen(context) + strlen(elem) + 128;
	char *a = malloc(n), *b = malloc(n);
	char oa[8192], ob[8192];
	struct got ga, gb;
	struct bw_err ea = {0, ""}, eb = {0, ""};
	const char *brace = strchr(elem, '{');
	int rca, rcb, same;

	snprintf(a, n, "{\"type\":\"bundle\",\"objects\":[%s%s]}", context, elem);
	if (brace && brace == elem + strspn(elem, " \t\r\n"))
		snprintf(b, n, "{\"type\":\"bundle\",\"objects\":[%s%.*s\"\\u0078_force\":0%s%s]}",
			 context, (int)(brace - elem + 1), elem,
			 brace[1 + strspn(brace + 1, " \t\r\n")] == '}' ? "" : ",", brace + 1);
	else
		snprintf(b, n, "%s", a);
	rca = parse_text(a, &ga, &ea);
	rcb = parse_text(b, &gb, &eb);
	outcome(rca, &ea, &ga, oa, sizeof(oa));
	outcome(rcb, &eb, &gb, ob, sizeof(ob));
	same = strcmp(oa, ob) == 0;
	if (!same)
		snprintf(why, whycap, "fast: %.300s\n#   jansson: %.300s", oa, ob);
	got_free(&ga);
	got_free(&gb);
	free(a);
	free(b);
	return same;
}

static void
test_fast_reader(void)
{
	static const char *const context =
		"{\"type\":\"identity\",\"id\":\"identity--1\",\"name\":\"Ident\"},"
		"{\"type\":\"malware\",\"id\":\"malware--1\",\"name\":\"Mal\"},"
		"{\"type\":\"relationship\",\"source_ref\":\"indicator--1\",\"target_ref\":\"malware--1\",\"id\":\"relationship--1\"},";
#define IND(rest) "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"created_by_ref\":\"identity--1\"," rest "}"
#define PAT "\"pattern\":\"[domain-name:value = 'a.example']\""
	static const char *const cases[] = {
		IND(PAT),
		IND(PAT ",\"id\":\"indicator--2\""),                       /* duplicate */
		IND(PAT ",\"external_references\":[{\"a\":1,\"a\":2}]"),  /* nested duplicate */
		IND(PAT ",\"kill_chain_phases\":[{\"k\":[{\"x\":1,\"x\":1}]}]"),
		IND(PAT ",\"labels\":[\"a\\u0000b\"]"),                   /* NUL */
		IND(PAT ",\"labels\":[\"\\ud800\"]"),                     /* lone high surrogate */
		IND(PAT ",\"labels\":[\"\\udc00x\"]"),                    /* lone low surrogate */
		IND(PAT ",\"labels\":[\"\\ud83d\\ude00 \\u00e9\\u20ac\\/\\b\\f\\n\\r\\t\\\"\"]"),
		IND(PAT ",\"labels\":[\"\xff\"]"),                         /* invalid UTF-8 */
		IND(PAT ",\"labels\":[\"\xc0\x80\"]"),                    /* overlong */
		IND(PAT ",\"labels\":[\"\xed\xa0\x80\"]"),               /* encoded surrogate */
		IND(PAT ",\"labels\":[\"\xf4\x90\x80\x80\"]"),          /* above U+10FFFF */
		IND(PAT ",\"labels\":[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]"),
		IND(PAT ",\"labels\":[\"tab\there\"]"),                    /* control character */
		IND(PAT ",\"labels\":\"not an array\""),
		IND(PAT ",\"labels\":[1,\"x\",null,{\"y\":[]},\"x\"]"),
		IND(PAT ",\"confidence\":85.0"),
		IND(PAT ",\"confidence\":1e2"),
		IND(PAT ",\"confidence\":-0"),
		IND(PAT ",\"confidence\":007"),
		IND(PAT ",\"confidence\":12345678901234567890123"),
		IND(PAT ",\"confidence\":100"),
		IND(PAT ",\"confidence\":\"50\""),
		IND(PAT ",\"revoked\":\"yes\""),
		IND(PAT ",\"revoked\":true"),
		IND(PAT ",\"valid_until\":null"),
		IND(PAT ",\"valid_from\":\"2024-02-30T00:00:00Z\""),
		IND("\"pattern\":\"\\u005bdomain-name:value = 'b.example\\u0027]\""),
		IND("\"pattern\":\"[url:value = 'http://x.example/\\\\']\""),
		IND("\"pattern\":5"),
		IND(PAT ",\"pattern_type\":[\"stix\"]"),
		IND(PAT ",\"x_bulwark_recipients\":[\"de\",\"FR\"]"),
		IND(PAT ",\"x_bulwark_recipients\":[\"de\",7]"),
		IND(PAT ",\"x_bulwark_recipients\":\"DE\""),
		IND(PAT ",\"external_references\":[5,{\"external_id\":\"\"},{\"external_id\":\"E-1\"}]"),
		IND(PAT ",\"object_marking_refs\":[\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\",3]"),
		"{\"type\":\"indic\\u0061tor\"," PAT "}",
		"{\"type\":7," PAT "}",
		"{\"t\\u0079pe\":\"indicator\"," PAT "}",
		" { \"type\" : \"indicator\" , " PAT " , \"x\" : [ ] , \"y\" : { } } ",
		IND(PAT ",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]"),
		IND(PAT ",\"x\":tru"),
		IND(PAT ",\"x\":nul"),
		IND(PAT ",\"x\":-"),
		IND(PAT ",\"x\":1.5e+3"),
		IND(PAT ",\"x\":[1,]"),
		IND(PAT ",\"x\":{\"a\":1,}"),
		IND(PAT ","),
		IND(PAT " \"y\":1"),
		IND(PAT ",\"y\"1"),
		IND(PAT ",\"y\":\"\\x\""),
		IND(PAT ",\"y\":\"\\u12G4\""),
		"[\"not an object\"]",
		"\"a string\"",
		"12",
		"{}",
	};
	char why[1024];
	int failures = 0, mutants = 0;
	uint64_t seed = 88172645463325252ull;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!tap_check(same_both_ways(context, cases[i], why, sizeof(why)), cases[i],
			       __FILE__, __LINE__))
			printf("#   %s\n", why);

	/* byte mutations of the real indicators */
	{
		static const char *const files[] = {"bulwark-features.json", "apt1.json",
						    "indicators-for-C2-with-COA.json"};
		static const char bytes[] = "\"\\{}[],:0aZ \x01\x7f\xc3\xa9\xff\xed-.eu";
		for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
			char rel[128];
			json_error_t jerr;
			json_t *b, *o;
			size_t i;
			snprintf(rel, sizeof(rel), "stix/%s", files[fi]);
			b = json_load_file(data_path(rel), 0, &jerr);
			if (!CHECK(b != NULL))
				continue;
			json_array_foreach(json_object_get(b, "objects"), i, o) {
				char *text;
				size_t len;
				if (!json_is_object(o) ||
				    !json_is_string(json_object_get(o, "type")) ||
				    strcmp(json_string_value(json_object_get(o, "type")), "indicator") != 0)
					continue;
				text = json_dumps(o, JSON_COMPACT);
				len = strlen(text);
				if (!same_both_ways(context, text, why, sizeof(why)) && failures++ < 5)
					printf("#   %s\n#   %s\n", text, why);
				for (int m = 0; m < 60; m++) {
					char *mut = strdup(text);
					seed ^= seed << 13;
					seed ^= seed >> 7;
					seed ^= seed << 17;
					size_t at = 1 + (size_t)(seed % (len - 1));
					mut[at] = bytes[(seed >> 32) % (sizeof(bytes) - 1)];
					if ((seed >> 40) % 4 == 0)
						mut[at + (at + 1 < len)] = '\0'; /* truncated */
					mutants++;
					if (!same_both_ways(context, mut, why, sizeof(why)) && failures++ < 5)
						printf("#   %s\n#   %s\n", mut, why);
					free(mut);
				}
				free(text);
			}
			json_decref(b);
		}
	}
	CHECK(mutants > 1000);
	CHECK_INT(failures, 0);
#undef IND
#undef PAT
}

/* ---- export and round trip -------------------------------------------- */

struct tmp {
	char dir[64];
	char a[128], b[128], out[128];
};

static void
rm_db(const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void
tmp_done(struct tmp *t)
{
	rm_db(t->a);
	rm_db(t->b);
	unlink(t->out);
	rmdir(t->dir);
}

static int
tmp_make(struct tmp *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/bw-stix-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->a, sizeof(t->a), "%s/a.sqlite", t->dir);
	snprintf(t->b, sizeof(t->b), "%s/b.sqlite", t->dir);
	snprintf(t->out, sizeof(t->out), "%s/export.json", t->dir);
	return 0;
}

struct results {
	int files, refused;
	long records, rejected;
};

static void
on_result(void *ctx, const struct bw_ingest_result *r)
{
	struct results *x = ctx;

	x->files++;
	x->refused += r->refused;
	x->records += r->records;
	x->rejected += r->rejected;
	if (r->refused)
		printf("#   refused %s: %s\n", r->file, r->error.msg);
}

/* The export as text (caller frees). */
static char *
export_text(struct bw_store *st, enum bw_export_format format, int64_t now)
{
	struct bw_export_options o;
	struct bw_err err = {0, ""};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	memset(&o, 0, sizeof(o));
	o.format = format;
	o.filter.include_expired = 1;
	o.now = now;
	rc = bw_export(st, &o, f, &err);
	fclose(f);
	if (rc) {
		printf("#   export failed: %s\n", err.msg);
		free(buf);
		return NULL;
	}
	return buf;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text into lines (in place), skipping the header; sorted. */
static char **
csv_lines(char *text, size_t *n)
{
	char **lines = NULL;
	size_t cap = 0;

	*n = 0;
	while (*text) {
		char *l = text, *nl = strchr(text, '\n');
		if (nl) {
			*nl = '\0';
			text = nl + 1;
		} else {
			text += strlen(text);
		}
		if (*l == '\0' || strncmp(l, "type,value,", 11) == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		lines[(*n)++] = l;
	}
	qsort(lines, *n, sizeof(*lines), cmp_str);
	return lines;
}

#define NFIELDS 13

/* Splits one CSV line of bulwark's export into its fields (in place). */
static int
csv_fields(char *l, char **f)
{
	int n = 0;
	char *w = l;

	while (n < NFIELDS) {
		f[n++] = w;
		if (*l == '"') {
			l++;
			for (;;) {
				if (*l == '"' && l[1] == '"') {
					*w++ = '"';
					l += 2;
				} else if (*l == '"') {
					l++;
					break;
				} else if (*l == '\0') {
					break;
				} else {
					*w++ = *l++;
				}
			}
		} else {
			while (*l && *l != ',')
				*w++ = *l++;
		}
		if (*l == ',') {
			*w++ = '\0';
			w = ++l;
			continue;
		}
		*w = '\0';
		break;
	}
	return n;
}

static const char *const field_names[NFIELDS] = {
	"type", "value", "source", "confidence", "tlp", "first_seen", "last_seen",
	"valid_from", "valid_until", "tags", "recipients", "external_id", "revoked",
};

static int
ingest_into(struct bw_store *st, const char *path, const struct bw_ingest_options *o,
	    struct results *res)
{
	struct bw_err err = {0, ""};
	int rc = bw_ingest_path(st, path, o, on_result, res, &err);

	if (rc)
		printf("#   ingest %s: %s\n", path, err.msg);
	return rc;
}

static void
test_roundtrip(void)
{
	static const char *const stix_files[] = {
		"stix/apt1.json", "stix/bulwark-features.json", "stix/taxii-envelope.json",
		"stix/indicators-for-C2-with-COA.json", "stix/indicator-for-malicious-url.json",
		"stix/using-marking-definitions.json", "stix/sighting-of-an-indicator.json",
		"stix/indicator-for-c2-ip-address.json",
	};
	struct tmp t;
	struct bw_psl *psl = NULL;
	struct bw_store *a = NULL, *b = NULL;
	struct bw_err err = {0, ""};
	struct bw_ingest_options o;
	struct results ra = {0, 0, 0, 0}, rb = {0, 0, 0, 0};
	struct bw_tag tags[2] = {{"tag", "botnet"}, {"campaign", "Drop Watch"}};
	const char *rcpts[2] = {"NL", "BE"};
	char *ta = NULL, *tb = NULL, *stix = NULL, *again = NULL;
	char **la = NULL, **lb = NULL;
	size_t na = 0, nb = 0;
	int64_t now = bw_time_now();
	int mismatches = 0, vf_defaults = 0;
	int seen_tlp[BW_TLP_NLEVELS] = {0}, seen_type[BW_IOC_NTYPES] = {0};
	int seen_conf = 0, seen_rcpt = 0, seen_ext = 0, seen_noext = 0, seen_revoked = 0;
	int seen_until = 0, seen_kind[4] = {0};
	FILE *f;

	if (!CHECK(tmp_make(&t) == 0))
		return;
	if (!CHECK(bw_psl_open(&psl, &err) == BW_OK) ||
	    !CHECK(bw_store_open(t.a, 0, &a, &err) == BW_OK) ||
	    !CHECK(bw_store_open(t.b, 0, &b, &err) == BW_OK))
		goto out;

	memset(&o, 0, sizeof(o));
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	o.psl = psl;
	o.now = now;
	/* plain list as it comes */
	CHECK_INT(ingest_into(a, data_path("stix/roundtrip-domains.txt"), &o, &ra), BW_OK);
	/* DROP with what a curator adds on the command line */
	o.tlp = BW_TLP_GREEN;
	o.confidence = 90;
	o.tags = tags;
	o.ntags = 2;
	o.recipients = rcpts;
	o.nrecipients = 2;
	CHECK_INT(ingest_into(a, data_path("stix/roundtrip-drop.txt"), &o, &ra), BW_OK);
	o.tlp = BW_TLP_RED;
	o.ntags = 1;
	o.nrecipients = 0;
	CHECK_INT(ingest_into(a, data_path("stix/roundtrip-dropv6.txt"), &o, &ra), BW_OK);
	memset(&o, 0, sizeof(o));
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	o.psl = psl;
	o.now = now;
	for (size_t i = 0; i < sizeof(stix_files) / sizeof(stix_files[0]); i++)
		CHECK_INT(ingest_into(a, data_path(stix_files[i]), &o, &ra), BW_OK);
	CHECK_INT(ra.refused, 0);
	CHECK(ra.records > 400);

	stix = export_text(a, BW_EXPORT_STIX, now);
	if (!CHECK(stix != NULL))
		goto out;
	/* the same store gives the same bundle */
	again = export_text(a, BW_EXPORT_STIX, now);
	CHECK(again != NULL && strcmp(again, stix) == 0);
	f = fopen(t.out, "w");
	if (!CHECK(f != NULL))
		goto out;
	fputs(stix, f);
	fclose(f);
	CHECK_INT(ingest_into(b, t.out, &o, &rb), BW_OK);
	CHECK_INT(rb.refused, 0);
	CHECK_INT(rb.rejected, 0);

	ta = export_text(a, BW_EXPORT_CSV, now);
	tb = export_text(b, BW_EXPORT_CSV, now);
	if (!CHECK(ta != NULL && tb != NULL))
		goto out;
	la = csv_lines(ta, &na);
	lb = csv_lines(tb, &nb);
	CHECK_INT(na, nb);
	CHECK_INT(na, rb.records);
	for (size_t i = 0; i < na && i < nb; i++) {
		char *fa[NFIELDS], *fb[NFIELDS];
		if (csv_fields(la[i], fa) != NFIELDS || csv_fields(lb[i], fb) != NFIELDS) {
			mismatches++;
			continue;
		}
		for (int k = 0; k < NFIELDS; k++) {
			const char *want = fa[k];
			/* STIX cannot leave valid_from unset: it comes back as
			 * first_seen */
			if (k == 7 && want[0] == '\0') {
				want = fa[5];
				vf_defaults++;
			}
			if (strcmp(want, fb[k]) != 0) {
				if (mismatches++ < 10)
					printf("#   %s %s: %s: \"%s\" became \"%s\"\n", fa[0], fa[1],
					       field_names[k], want, fb[k]);
			}
		}
		/* what the data covered */
		seen_type[bw_ioc_type_from_name(fa[0])]++;
		seen_conf += fa[3][0] != '\0';
		for (int l = 0; l < BW_TLP_NLEVELS; l++)
			seen_tlp[l] += strcmp(fa[4], bw_tlp_name((enum bw_tlp)l)) == 0;
		seen_until += fa[8][0] != '\0';
		seen_kind[0] += strstr(fa[9], "malware:") != NULL;
		seen_kind[1] += strstr(fa[9], "actor:") != NULL;
		seen_kind[2] += strstr(fa[9], "campaign:") != NULL;
		seen_kind[3] += fa[9][0] && strchr(fa[9], ':') == NULL;
		seen_rcpt += fa[10][0] != '\0';
		seen_ext += fa[11][0] != '\0';
		seen_noext += fa[11][0] == '\0';
		seen_revoked += strcmp(fa[12], "true") == 0;
	}
	CHECK_INT(mismatches, 0);
	CHECK(vf_defaults > 0);
	for (int ty = BW_IOC_DOMAIN; ty < BW_IOC_NTYPES; ty++)
		if (!tap_check(seen_type[ty] > 0, bw_ioc_type_name((enum bw_ioc_type)ty),
			       __FILE__, __LINE__))
			printf("#   no %s record in the round trip\n",
			       bw_ioc_type_name((enum bw_ioc_type)ty));
	for (int l = 0; l < BW_TLP_NLEVELS; l++)
		CHECK(seen_tlp[l] > 0);
	CHECK(seen_conf > 0 && seen_rcpt > 0 && seen_ext > 0 && seen_noext > 0);
	CHECK(seen_revoked > 0 && seen_until > 0);
	CHECK(seen_kind[0] > 0 && seen_kind[1] > 0 && seen_kind[2] > 0 && seen_kind[3] > 0);
out:
	free(la);
	free(lb);
	free(ta);
	free(tb);
	free(stix);
	free(again);
	bw_store_close(a);
	bw_store_close(b);
	bw_psl_free(psl);
	tmp_done(&t);
}

/* Adds one record straight to the store. */
static int
put(struct bw_store *st, const char *value, const char *source,
    const char *ext, int64_t first, int64_t vfrom, int64_t vuntil,
    const struct bw_tag *tags, size_t ntags)
{
	struct bw_ioc ioc;
	struct bw_record_in in;
	enum bw_upsert_result res;
	struct bw_err err = {0, ""};
	int rc;

	if (bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, &err))
		return -1;
	memset(&in, 0, sizeof(in));
	in.ioc = &ioc;
	in.source = source;
	in.external_id = ext;
	in.confidence = -1;
	in.tlp = BW_TLP_AMBER;
	in.first_seen = first;
	in.last_seen = first;
	in.valid_from = vfrom;
	in.valid_until = vuntil;
	in.tags = tags;
	in.ntags = ntags;
	if ((rc = bw_store_begin(st, &err)) ||
	    (rc = bw_store_upsert(st, &in, first, &res, &err)) ||
	    (rc = bw_store_commit(st, &err)))
		printf("#   upsert: %s\n", err.msg);
	return rc;
}

/* The object of bundle b with this name (indicators) or name (SDOs). */
static json_t *
object_named(json_t *b, const char *type, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(b, "objects"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return o;
	return NULL;
}

static void
test_export_details(void)
{
	struct tmp t;
	struct bw_store *st = NULL;
	struct bw_err err = {0, ""};
	struct bw_tag bad_tag[2] = {{"tag", "bad\xff" "byte"}, {"malware", "Emo'tet"}};
	int64_t t0 = ts("2024-05-01T12:00:00Z");
	char *text = NULL, *later = NULL;
	json_t *b = NULL, *o, *item;
	json_error_t jerr;
	size_t i;
	struct got g;
	int refs_ok = 1;

	memset(&g, 0, sizeof(g));
	if (!CHECK(tmp_make(&t) == 0))
		return;
	if (!CHECK(bw_store_open(t.a, 0, &st, &err) == BW_OK))
		goto out;

	/* an empty store: a bundle without objects, which ingests to nothing */
	text = export_text(st, BW_EXPORT_STIX, t0);
	CHECK(text && strncmp(text, "{\"type\":\"bundle\",\"id\":\"bundle--", 31) == 0 &&
	      strstr(text, "objects") == NULL);
	if (text) {
		CHECK_INT(parse_text(text, &g, &err), BW_OK);
		CHECK_INT(g.n, 0);
		got_free(&g);
	}
	free(text);

	CHECK_INT(put(st, "expired.example", "feed one", NULL, t0 + 100, 0, t0 + 50, NULL, 0), 0);
	CHECK_INT(put(st, "http://q.example/it's", "feed one", "CVE-2021-44228", t0, 0, 0, bad_tag, 2), 0);
	CHECK_INT(put(st, "192.0.2.55", "cve", "ADV-7", t0, t0 - 10, 0, NULL, 0), 0);
	text = export_text(st, BW_EXPORT_STIX, t0 + 1000);
	b = text ? json_loads(text, 0, &jerr) : NULL;
	if (!CHECK(b != NULL))
		goto out;

	/* valid_until not after valid_from: valid_from one ms before it */
	o = object_named(b, "indicator", "expired.example");
	if (CHECK(o != NULL)) {
		CHECK_STR(json_string_value(json_object_get(o, "valid_from")), "2024-05-01T12:00:49.999Z");
		CHECK_STR(json_string_value(json_object_get(o, "valid_until")), "2024-05-01T12:00:50.000Z");
		CHECK_STR(json_string_value(json_object_get(o, "created")), "2024-05-01T12:01:40.000Z");
		CHECK_STR(json_string_value(json_object_get(o, "pattern")),
			  "[domain-name:value = 'expired.example']");
	}
	/* escaping; a CVE id needs source_name "cve"; invalid UTF-8 */
	o = object_named(b, "indicator", "http://q.example/it's");
	if (CHECK(o != NULL)) {
		CHECK_STR(json_string_value(json_object_get(o, "pattern")),
			  "[url:value = 'http://q.example/it\\'s']");
		item = json_array_get(json_object_get(o, "external_references"), 0);
		CHECK_STR(json_string_value(json_object_get(item, "source_name")), "cve");
		CHECK_STR(json_string_value(json_object_get(item, "external_id")), "CVE-2021-44228");
		CHECK_STR(json_string_value(json_array_get(json_object_get(o, "labels"), 0)),
			  "bad\xef\xbf\xbd" "byte");
		CHECK_STR(json_string_value(json_object_get(o, "valid_from")), "2024-05-01T12:00:00.000Z");
	}
	CHECK(object_named(b, "malware", "Emo'tet") != NULL);
	/* a source called "cve" with another kind of id */
	o = object_named(b, "indicator", "192.0.2.55");
	if (CHECK(o != NULL)) {
		item = json_array_get(json_object_get(o, "external_references"), 0);
		CHECK_STR(json_string_value(json_object_get(item, "source_name")), "bulwark:cve");
		CHECK_STR(json_string_value(json_object_get(o, "valid_from")), "2024-05-01T11:59:50.000Z");
	}
	/* the TLP 2.0 amber marking exactly as published */
	o = NULL;
	json_array_foreach(json_object_get(b, "objects"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "type")), "marking-definition") == 0)
			o = item;
	if (CHECK(o != NULL)) {
		char *m = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_STR(m, "{\"created\":\"2022-10-01T00:00:00.000Z\",\"extensions\":"
			     "{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\":"
			     "{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"amber\"}},"
			     "\"id\":\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\","
			     "\"name\":\"TLP:AMBER\",\"spec_version\":\"2.1\",\"type\":\"marking-definition\"}");
		free(m);
	}
	/* every reference resolves inside the bundle */
	json_array_foreach(json_object_get(b, "objects"), i, item) {
		const char *refs[3] = {
			json_string_value(json_object_get(item, "created_by_ref")),
			json_string_value(json_object_get(item, "target_ref")),
			json_string_value(json_array_get(json_object_get(item, "object_marking_refs"), 0)),
		};
		for (int k = 0; k < 3; k++) {
			size_t j;
			json_t *other;
			int found = refs[k] == NULL;
			json_array_foreach(json_object_get(b, "objects"), j, other)
				if (refs[k] && strcmp(refs[k], json_string_value(json_object_get(other, "id"))) == 0)
					found = 1;
			if (!found)
				refs_ok = 0;
		}
	}
	CHECK(refs_ok);
	/* the ids do not depend on the time of the export */
	later = export_text(st, BW_EXPORT_STIX, t0 + 999999);
	CHECK(later != NULL && strcmp(strchr(later, '\n'), strchr(text, '\n')) == 0 &&
	      strcmp(later, text) != 0);
out:
	json_decref(b);
	free(text);
	free(later);
	bw_store_close(st);
	tmp_done(&t);
}

int
main(void)
{
	TAP_RUN(test_c2_ip);
	TAP_RUN(test_apt1);
	TAP_RUN(test_marking_definitions);
	TAP_RUN(test_malware_tags);
	TAP_RUN(test_context_only);
	TAP_RUN(test_taxii_envelope);
	TAP_RUN(test_features);
	TAP_RUN(test_refused);
	TAP_RUN(test_pattern_vectors);
	TAP_RUN(test_patterns_subset);
	TAP_RUN(test_generated);
	TAP_RUN(test_fast_reader);
	TAP_RUN(test_roundtrip);
	TAP_RUN(test_export_details);
	return tap_done();
}
