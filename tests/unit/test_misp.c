/*
 * test_misp.c - MISP ingestion and export.
 *
 * Ingestion: every sample event of tests/data/misp (real PyMISP test events,
 * plus one handmade event for the attribute types and tags the samples lack)
 * with exact record, reject and unsupported counts and values; the list and
 * REST shapes built from the same events; refusals (galaxy, index listing,
 * manifest, not JSON) and the size limit; the feed directory.
 *
 * Export: the JSON structure, determinism, and the round trip: real plain,
 * DROP and MISP data into a store, exported as MISP, ingested into a fresh
 * store, and both stores compared through the CSV export line by line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/psl.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "feed/feed.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "share/export.h"
#include "store/store.h"
#include "tap.h"

/* ---- a sink that keeps everything --------------------------------------- */

struct rec {
	char type[16];
	char value[BW_IOC_VALUE_MAX + 1];
	char source[BW_SOURCE_NAME_MAX + 1];
	char ext[BW_EXTERNAL_ID_MAX + 1];
	int has_source, has_ext;
	int tlp, confidence, revoked;
	int64_t first_seen, last_seen, valid_from, valid_until;
	char tags[4096];
	char recipients[256];
	char where[128];
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
	if (r->source) {
		x->has_source = 1;
		snprintf(x->source, sizeof(x->source), "%s", r->source);
	}
	if (r->external_id) {
		x->has_ext = 1;
		snprintf(x->ext, sizeof(x->ext), "%s", r->external_id);
	}
	x->tlp = r->tlp;
	x->confidence = r->confidence;
	x->revoked = r->revoked;
	x->first_seen = r->first_seen;
	x->last_seen = r->last_seen;
	x->valid_from = r->valid_from;
	x->valid_until = r->valid_until;
	for (size_t i = 0; i < r->ntags; i++)
		used += (size_t)snprintf(x->tags + used, sizeof(x->tags) - used, "%s%s:%s",
					 i ? "|" : "", r->tags[i].kind, r->tags[i].name);
	used = 0;
	for (size_t i = 0; i < r->nrecipients; i++)
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

static const struct rec *
find(const struct got *g, const char *type, const char *value)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->recs[i].type, type) == 0 && strcmp(g->recs[i].value, value) == 0)
			return &g->recs[i];
	return NULL;
}

/* True if some line of list starts with where and contains what. */
static int
listed(char **list, size_t n, const char *where, const char *what)
{
	char prefix[160];

	snprintf(prefix, sizeof(prefix), "%s: ", where);
	for (size_t i = 0; i < n; i++)
		if (strncmp(list[i], prefix, strlen(prefix)) == 0 && strstr(list[i], what))
			return 1;
	return 0;
}

/* ---- inputs ------------------------------------------------------------- */

static const char *
data_path(const char *name, char *buf, size_t cap)
{
	const char *dir = getenv("BW_TEST_DATA");

	snprintf(buf, cap, "%s/misp/%s", dir ? dir : "tests/data", name);
	return buf;
}

static char *
slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f = fopen(data_path(name, path, sizeof(path)), "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static int
parse_reader(struct bw_reader *in, struct got *g, struct bw_err *err)
{
	struct bw_feed_sink sink = {on_record, on_reject, on_unsupported, g};

	memset(g, 0, sizeof(*g));
	err->code = 0;
	err->msg[0] = '\0';
	return bw_feed_parse_misp(in, NULL, &sink, err);
}

static int
parse_file(const char *name, struct got *g, struct bw_err *err)
{
	char path[1024];
	struct bw_reader *in;
	int rc;

	if (bw_reader_open(data_path(name, path, sizeof(path)), &in, err) != BW_OK) {
		memset(g, 0, sizeof(*g));
		printf("# cannot open %s: %s\n", path, err->msg);
		return -1;
	}
	rc = parse_reader(in, g, err);
	bw_reader_free(in);
	return rc;
}

static int
parse_mem(const char *text, size_t len, struct got *g, struct bw_err *err)
{
	struct bw_reader *in;
	int rc;

	if (bw_reader_open_mem(text, len, "mem", &in, err) != BW_OK)
		return -1;
	rc = parse_reader(in, g, err);
	bw_reader_free(in);
	return rc;
}

static void
expect_rec(const struct got *g, const char *type, const char *value,
	   const char *where, const char *ext, const char *source, int tlp)
{
	const struct rec *r = find(g, type, value);

	if (!tap_check(r != NULL, value, __FILE__, __LINE__))
		return;
	CHECK_STR(r->where, where);
	if (ext)
		CHECK_STR(r->ext, ext);
	else
		CHECK(!r->has_ext);
	if (source)
		CHECK_STR(r->source, source);
	else
		CHECK(!r->has_source);
	CHECK_INT(r->tlp, tlp);
}

/* ---- the sample events, one by one ------------------------------------- */

static void
test_feed_event_file(void)
{
	struct got g;
	struct bw_err err;

	/* CIRCL's Xorist event in feed form: hashes, links, regkey, text. */
	CHECK_INT(parse_file("57c4445b-c548-4654-af0b-4be3950d210f.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 3);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 6);
	expect_rec(&g, "md5", "0749bae92ca336a02c83d126e04ec628", "Event.Attribute[5]",
		   "57c4448b-454c-4d17-90d1-4d2f950d210f", "CIRCL", BW_TLP_CLEAR);
	expect_rec(&g, "sha1", "77b0c41b7d340b8a3d903f21347bbf06aa766b5b",
		   "Event.Attribute[6]", "57c4448a-bef0-4ba7-a071-444e950d210f", "CIRCL",
		   BW_TLP_CLEAR);
	expect_rec(&g, "sha256",
		   "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68",
		   "Event.Attribute[7]", "57c4448b-3fa4-4d65-9ccc-4afa950d210f", "CIRCL",
		   BW_TLP_CLEAR);
	if (g.n == 3) {
		/* only machine tags (circl:, ms-caro-malware:, ...): no labels */
		CHECK_STR(g.recs[0].tags, "event:57c4445b-c548-4654-af0b-4be3950d210f");
		CHECK_INT(g.recs[0].confidence, -1);
		CHECK_INT(g.recs[0].first_seen, 0);
		CHECK_INT(g.recs[0].revoked, 0);
	}
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[0]", "link"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[1]", "link"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[2]", "type comment"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[3]", "type text"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[4]", "type filename"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[8]", "type regkey|value"));
	got_free(&g);
}

static void
test_bare_event(void)
{
	struct got g;
	struct bw_err err;

	/* A bare event whose two attributes are both context (to_ids false). */
	CHECK_INT(parse_file("misp_event.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 2);
	CHECK(listed(g.unsupported, g.nunsupported, "Attribute[0]", "to_ids is false"));
	CHECK(listed(g.unsupported, g.nunsupported, "Attribute[1]", "type text"));
	got_free(&g);

	/* Only "Object": attributes without uuid, event without Orgc. */
	CHECK_INT(parse_file("mispevent_testfiles__event_obj_attr_tag.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 1);
	expect_rec(&g, "url", "https://www.circl.lu/", "Object[1].Attribute[0]", NULL, NULL,
		   BW_TLP_UNSET);
	CHECK(listed(g.unsupported, g.nunsupported, "Object[0].Attribute[0]", "type filename"));
	got_free(&g);
}

static void
test_existing_event(void)
{
	struct got g;
	struct bw_err err;
	const struct rec *r;

	/* CIRCL's Sednit event: 122 attributes, 49 objects, galaxies. */
	CHECK_INT(parse_file("mispevent_testfiles__existing_event.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 68); /* 19 domain + 12 ip-dst + 37 sha1, all to_ids */
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 54); /* 15 filename, 38 text, 1 link */
	expect_rec(&g, "domain", "movieultimate.com", "Attribute[2]",
		   "5a3c3045-ab0c-4d38-8efe-459002de0b81", "CIRCL", BW_TLP_CLEAR);
	expect_rec(&g, "sha1", "8a68f26d01372114f660e32ac4c9117e5d0577f1",
		   "Object[32].Attribute[0]", "5a3ce404-7bfc-4316-bd32-55ea950d210f", "CIRCL",
		   BW_TLP_CLEAR);
	expect_rec(&g, "domain", "webviewres.net", "Object[48].Attribute[1]",
		   "5a3ce6ae-3b00-420a-82fd-45fb950d210f", "CIRCL", BW_TLP_CLEAR);
	r = find(&g, "domain", "viters.org");
	if (CHECK(r != NULL)) {
		/* The threat-actor galaxy and tag (once), tool, mitre-malware and
		 * exploit-kit clusters as malware; workflow: tags dropped. */
		CHECK_STR(r->tags,
			  "actor:Sofacy|malware:Sednit EK|malware:GAMEFISH|"
			  "malware:JHUHUGIT|malware:X-Tunnel|malware:XTunnel|"
			  "malware:ADVSTORESHELL|malware:EVILTOSS|malware:USBStealer|"
			  "malware:X-Agent|malware:XAgentOSX|malware:CHOPSTICK|"
			  "malware:DealersChoice|malware:Downdelph|"
			  "event:5a3c2fcd-8328-42bb-a95e-4f4402de0b81");
		CHECK_STR(r->where, "Object[44].Attribute[1]");
	}
	CHECK(listed(g.unsupported, g.nunsupported, "Attribute[0]", "link"));
	got_free(&g);
}

static void
test_objects_and_sightings(void)
{
	struct got g;
	struct bw_err err;
	const struct rec *r;

	/* US-CERT SamSam report, mostly file objects. */
	CHECK_INT(parse_file("reportlab_testfiles__mainly_objects_1.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 17);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 57);
	expect_rec(&g, "md5", "7048daac38c935b38e086adcd8035d2a", "Event.Object[13].Attribute[2]",
		   "484bf645-2a7e-4663-b740-117f1528e0d5", "CIRCL", BW_TLP_CLEAR);
	r = find(&g, "sha256", "9b23bfc35b18ed80104c496b2aa722b3e56ff9ceb9dae60d1aff7230321c1d12");
	if (CHECK(r != NULL))
		CHECK_STR(r->tags, "malware:SamSam|malware:Samas-Samsam|"
			  "event:5c066053-0e94-46eb-9746-4b7d950d210f");
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Object[0].Attribute[0]", ""));
	got_free(&g);

	/* Orgc (the creator) is the source, not Org; no TLP tag. */
	CHECK_INT(parse_file("reportlab_testfiles__sighting_1.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 5);
	CHECK_INT(g.nrejects, 0);
	CHECK_INT(g.nunsupported, 0);
	expect_rec(&g, "url", "http://sistemait.it/softaculous/backup/client.rar",
		   "Event.Attribute[4]", "5b6464e9-e73c-484d-a0b3-c0070acd0835",
		   "Synovus Financial", BW_TLP_UNSET);
	r = find(&g, "domain", "ooiasjdnqjwbeasdasd.com");
	if (CHECK(r != NULL)) {
		/* "PasteBin: MALWAREMESSIAGH" is no machine tag: a label */
		CHECK_STR(r->tags, "tag:PasteBin: MALWAREMESSIAGH|malware:Gozi|"
			  "event:5b646415-7b48-40d5-86b4-c0070acd0835");
		CHECK_STR(r->ext, "5b6464ca-e73c-4707-9b8a-d0350acd0835");
	}
	got_free(&g);
}

static void
test_handmade_types(void)
{
	struct got g;
	struct bw_err err;
	const struct rec *r;

	CHECK_INT(parse_file("handmade-types.json", &g, &err), BW_OK);
	CHECK_INT(g.n, 22);
	CHECK_INT(g.nrejects, 5);
	CHECK_INT(g.nunsupported, 3);

	r = find(&g, "domain", "evil-example.com");
	if (CHECK(r != NULL)) {
		/* event-level tags: TLP, confidence-level, share-with, label, actor */
		CHECK_STR(r->source, "Example CERT");
		CHECK_INT(r->tlp, BW_TLP_GREEN);
		CHECK_INT(r->confidence, 75);
		CHECK_STR(r->recipients, "DE");
		CHECK_STR(r->tags, "tag:Phishing wave|actor:APT28|"
			  "event:6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e");
		CHECK_STR(r->where, "Event.Attribute[0]");
	}
	expect_rec(&g, "domain", "c2.evil-example.com", "Event.Attribute[1]",
		   "11111111-1111-4111-8111-111111111102", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "cidr", "198.51.100.0/24", "Event.Attribute[2]",
		   "11111111-1111-4111-8111-111111111103", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "ipv6", "2001:db8::1", "Event.Attribute[3]",
		   "11111111-1111-4111-8111-111111111104", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "ipv4", "203.0.113.5", "Event.Attribute[4]",
		   "11111111-1111-4111-8111-111111111105", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "ipv6", "2001:db8::5", "Event.Attribute[5]",
		   "11111111-1111-4111-8111-111111111106", "Example CERT", BW_TLP_GREEN);
	/* domain|ip: two records, the address with a distinct id */
	expect_rec(&g, "domain", "dual.example.net", "Event.Attribute[6]",
		   "11111111-1111-4111-8111-111111111107", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "ipv4", "192.0.2.7", "Event.Attribute[6]",
		   "11111111-1111-4111-8111-111111111107|ip", "Example CERT", BW_TLP_GREEN);
	r = find(&g, "url", "http://evil-example.com/login.php?a=1");
	if (CHECK(r != NULL)) {
		/* attribute tags win over the event's; times from the attribute */
		CHECK_INT(r->tlp, BW_TLP_AMBER_STRICT);
		CHECK_INT(r->confidence, 85);
		CHECK_INT(r->first_seen, 1709287200); /* 2024-03-01T10:00:00Z */
		CHECK_INT(r->last_seen, 1709641800);  /* 2024-03-05T12:30:00Z */
	}
	expect_rec(&g, "md5", "d41d8cd98f00b204e9800998ecf8427e", "Event.Attribute[8]",
		   "11111111-1111-4111-8111-111111111109", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "Event.Attribute[9]",
		   "11111111-1111-4111-8111-111111111110", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "sha256",
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "Event.Attribute[10]", "11111111-1111-4111-8111-111111111111", "Example CERT",
		   BW_TLP_GREEN);
	expect_rec(&g, "email", "phisher@evil-example.com", "Event.Attribute[11]",
		   "11111111-1111-4111-8111-111111111112", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "email", "victim@example.org", "Event.Attribute[12]",
		   "11111111-1111-4111-8111-111111111113", "Example CERT", BW_TLP_GREEN);
	expect_rec(&g, "email", "relay@evil-example.com", "Event.Attribute[13]",
		   "11111111-1111-4111-8111-111111111114", "Example CERT", BW_TLP_GREEN);
	r = find(&g, "domain", "revoked.example.org");
	if (CHECK(r != NULL))
		CHECK_INT(r->revoked, 1);
	CHECK(find(&g, "domain", "context.example.org") == NULL);
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[15]", "to_ids is false"));
	CHECK(listed(g.rejects, g.nrejects, "Event.Attribute[16]", "IPv4"));
	CHECK(listed(g.rejects, g.nrejects, "Event.Attribute[17]", "md5"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[18]", "type regkey "));
	r = find(&g, "domain", "tagged.example.org");
	if (CHECK(r != NULL)) {
		/* the bulwark: machine tags, TLP:RED upper-case, a galaxy on the
		 * attribute; mitre-attack-pattern and workflow dropped */
		CHECK_STR(r->ext, "EXT-42");
		CHECK_INT(r->tlp, BW_TLP_RED);
		CHECK_INT(r->confidence, 75);
		CHECK_INT(r->valid_from, 1704067200);  /* 2024-01-01 */
		CHECK_INT(r->valid_until, 1893456000); /* 2030-01-01 */
		CHECK_STR(r->recipients, "FR|DE");
		CHECK_STR(r->tags, "campaign:Operation X|tag:ns:label|malware:LockBit|"
				   "tag:Phishing wave|actor:APT28|"
				   "event:6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e");
	}
	/* domain|ip with a bad address: the domain half is kept */
	expect_rec(&g, "domain", "half.example.net", "Event.Attribute[20]",
		   "11111111-1111-4111-8111-111111111121", "Example CERT", BW_TLP_GREEN);
	CHECK(listed(g.rejects, g.nrejects, "Event.Attribute[20]", "address part"));
	CHECK(listed(g.unsupported, g.nunsupported, "Event.Attribute[21]", "type sha512"));
	/* the uuid bulwark's export derives for a record without an id */
	expect_rec(&g, "ipv4", "8.8.8.8", "Event.Attribute[22]", NULL, "Example CERT",
		   BW_TLP_GREEN);
	CHECK(listed(g.rejects, g.nrejects, "Event.Attribute[23]", "without a \"type\""));
	expect_rec(&g, "domain", "portal.evil-example.com", "Event.Attribute[24]",
		   "11111111-1111-4111-8111-111111111125", "Example CERT", BW_TLP_GREEN);
	/* a deleted object revokes its attributes; a bad first_seen is ignored */
	r = find(&g, "domain", "obj-deleted.example.com");
	if (CHECK(r != NULL)) {
		CHECK_INT(r->revoked, 1);
		CHECK_STR(r->where, "Event.Object[0].Attribute[0]");
	}
	r = find(&g, "sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	if (CHECK(r != NULL)) {
		CHECK_INT(r->first_seen, 0);
		CHECK_STR(r->where, "Event.Object[1].Attribute[0]");
	}
	CHECK(listed(g.rejects, g.nrejects, "Event.Object[2]", "not a JSON object"));
	got_free(&g);
}

/* ---- what is refused ---------------------------------------------------- */

static void
test_refused(void)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{"this is not json", "not JSON"},
		{"", "empty"},
		{"{\"Event\": {\"info\": \"x\", ", "not JSON"},
		{"{\"type\": \"bundle\", \"objects\": []}", "not MISP event data"},
		{"{\"57c4445b-c548-4654-af0b-4be3950d210f\": {\"info\": \"x\"}}",
		 "feed manifest"},
		{"[1, 2, \"x\"]", "no MISP event in the list"},
		{"{\"response\": [{\"name\": \"x\"}]}", "no MISP event"},
		{"{\"response\": {\"x\": 1}}", "no events"},
		{"{\"info\": \"index entry\", \"attribute_count\": \"4\"}", "summary"},
	};
	struct got g;
	struct bw_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_mem(cases[i].text, strlen(cases[i].text), &g, &err);
		if (!tap_check(rc == BW_EFORMAT, cases[i].text, __FILE__, __LINE__))
			printf("#   rc %d: %s\n", rc, err.msg);
		if (!tap_check(strstr(err.msg, cases[i].why) != NULL, cases[i].why,
			       __FILE__, __LINE__))
			printf("#   message: %s\n", err.msg);
		got_free(&g);
	}

	/* A galaxy definition and an events/index listing: real files. */
	CHECK_INT(parse_file("mispevent_testfiles__galaxy.json", &g, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "galaxy") != NULL);
	got_free(&g);
	CHECK_INT(parse_file("search_index_result.json", &g, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "events/index listing (1 event summaries") != NULL);
	got_free(&g);

	/* Empty results are results. */
	CHECK_INT(parse_mem("{\"response\": []}", 16, &g, &err), BW_OK);
	CHECK_INT(g.n, 0);
	got_free(&g);
	CHECK_INT(parse_mem("[]", 2, &g, &err), BW_OK);
	got_free(&g);
}

static void
test_size_limit(void)
{
	size_t len = BW_FEED_JSON_ELEMENT_MAX + 16;
	char *big = malloc(len);
	struct got g;
	struct bw_err err;
	static const char head[] = "{\"Event\":{\"info\":\"";

	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'a', len - sizeof(head) - 3);
	memcpy(big + len - 4, "\"}}\n", 4);
	CHECK_INT(parse_mem(big, len, &g, &err), BW_ELIMIT);
	CHECK(strstr(err.msg, "at most") != NULL);
	got_free(&g);
	/* the same event as the element of a list */
	big[0] = '[';
	memcpy(big + 1, head, sizeof(head) - 1);
	memcpy(big + len - 5, "\"}}]\n", 5);
	CHECK_INT(parse_mem(big, len, &g, &err), BW_ELIMIT);
	got_free(&g);
	free(big);
}

/* ---- lists and REST results -------------------------------------------- */

static void
test_lists(void)
{
	size_t la, lb;
	char *a = slurp("57c4445b-c548-4654-af0b-4be3950d210f.json", &la);
	char *b = slurp("reportlab_testfiles__sighting_1.json", &lb);
	char *bare = slurp("misp_event.json", NULL);
	char *doc;
	size_t cap, n, copies = 3000;
	struct got g;
	struct bw_err err;

	if (!CHECK(a && b && bare))
		return;
	cap = (la + lb + strlen(bare)) * 2 + 64;
	doc = malloc(cap);

	/* a root list: [xorist, sighting] */
	n = (size_t)snprintf(doc, cap, "[%s,\n%s]", a, b);
	CHECK_INT(parse_mem(doc, n, &g, &err), BW_OK);
	CHECK_INT(g.n, 8);
	CHECK_INT(g.nunsupported, 6);
	expect_rec(&g, "md5", "0749bae92ca336a02c83d126e04ec628", "[0].Event.Attribute[5]",
		   "57c4448b-454c-4d17-90d1-4d2f950d210f", "CIRCL", BW_TLP_CLEAR);
	expect_rec(&g, "url", "http://sistemait.it/softaculous/backup/client.rar",
		   "[1].Event.Attribute[4]", "5b6464e9-e73c-484d-a0b3-c0070acd0835",
		   "Synovus Financial", BW_TLP_UNSET);
	got_free(&g);

	/* a REST result, streamed (response first), with a bare event */
	n = (size_t)snprintf(doc, cap, "{\"response\": [%s, %s, %s]}", b, bare, a);
	CHECK_INT(parse_mem(doc, n, &g, &err), BW_OK);
	CHECK_INT(g.n, 8);
	CHECK_INT(g.nunsupported, 8);
	expect_rec(&g, "sha256",
		   "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68",
		   "response[2].Event.Attribute[7]", "57c4448b-3fa4-4d65-9ccc-4afa950d210f",
		   "CIRCL", BW_TLP_CLEAR);
	CHECK(listed(g.unsupported, g.nunsupported, "response[1].Attribute[0]", "to_ids"));
	got_free(&g);

	/* the same, read whole because response is not the first member;
	 * an element that is not an event is rejected alone */
	n = (size_t)snprintf(doc, cap, "{\"version\": 2, \"response\": [%s, 17, %s]}", a, b);
	CHECK_INT(parse_mem(doc, n, &g, &err), BW_OK);
	CHECK_INT(g.n, 8);
	CHECK_INT(g.nrejects, 1);
	CHECK(listed(g.rejects, g.nrejects, "response[1]", "not a MISP event"));
	expect_rec(&g, "domain", "ooiasjdnqjwbeasdasd.com", "response[2].Event.Attribute[0]",
		   "5b6464ca-e73c-4707-9b8a-d0350acd0835", "Synovus Financial", BW_TLP_UNSET);
	got_free(&g);

	/* attributes/restSearch: {"response": {"Attribute": [...]}} */
	n = (size_t)snprintf(doc, cap,
			     "{\"response\": {\"Attribute\": [{\"type\": \"ip-dst\", "
			     "\"value\": \"192.0.2.1\", \"to_ids\": true, \"uuid\": "
			     "\"5b6464ca-0000-4707-9b8a-d0350acd0835\"}]}}");
	CHECK_INT(parse_mem(doc, n, &g, &err), BW_OK);
	expect_rec(&g, "ipv4", "192.0.2.1", "response.Attribute[0]",
		   "5b6464ca-0000-4707-9b8a-d0350acd0835", NULL, BW_TLP_UNSET);
	got_free(&g);
	free(doc);

	/* Streaming: 3000 events (9 MB) in one list, read in bounded memory. */
	cap = copies * (la + 2) + 16;
	doc = malloc(cap);
	n = 0;
	doc[n++] = '[';
	for (size_t i = 0; i < copies; i++) {
		if (i)
			doc[n++] = ',';
		memcpy(doc + n, a, la);
		n += la;
	}
	doc[n++] = ']';
	CHECK_INT(parse_mem(doc, n, &g, &err), BW_OK);
	CHECK_INT(g.n, 3 * copies);
	CHECK_INT(g.nunsupported, 6 * copies);
	if (g.n == 3 * copies)
		CHECK_STR(g.recs[g.n - 1].where, "[2999].Event.Attribute[7]");
	got_free(&g);
	free(doc);
	free(a);
	free(b);
	free(bare);
}

/* ---- the store: feed directory, export, round trip ---------------------- */

#define MAX_RESULTS 16

struct results {
	struct bw_ingest_result r[MAX_RESULTS];
	size_t n;
};

static void
on_result(void *ctx, const struct bw_ingest_result *r)
{
	struct results *rs = ctx;

	if (r->refused)
		printf("# %s refused: %s\n", r->file, r->error.msg);
	if (rs->n < MAX_RESULTS)
		rs->r[rs->n++] = *r;
}

struct env {
	char dir[256];
	struct bw_psl *psl;
};

static int
env_open(struct env *e)
{
	const char *tmp = getenv("TMPDIR");
	struct bw_err err;

	snprintf(e->dir, sizeof(e->dir), "%s/bw-misp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	if (bw_psl_open(&e->psl, &err) != BW_OK) {
		printf("# psl: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
env_close(struct env *e)
{
	char cmd[512];

	bw_psl_free(e->psl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", e->dir);
}

static struct bw_store *
store_open(struct env *e, const char *name)
{
	char path[512];
	struct bw_store *st;
	struct bw_err err;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	if (bw_store_open(path, 0, &st, &err) != BW_OK) {
		printf("# store: %s\n", err.msg);
		return NULL;
	}
	return st;
}

static void
options(struct bw_ingest_options *o, struct env *e, enum bw_feed_format f,
	int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->format = f;
	o->tlp = BW_TLP_UNSET;
	o->confidence = -1;
	o->psl = e->psl;
	o->now = now;
}

static int
ingest(struct bw_store *st, const char *path, const struct bw_ingest_options *o,
       struct results *rs)
{
	struct bw_err err;
	int rc;

	rs->n = 0;
	rc = bw_ingest_path(st, path, o, on_result, rs, &err);
	if (rc)
		printf("# ingest %s: %s\n", path, err.msg);
	return rc;
}

/* The export as a string (caller frees). */
static char *
export_text(struct bw_store *st, enum bw_export_format f, const char *source,
	    int include_expired)
{
	struct bw_export_options o;
	struct bw_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int rc;

	memset(&o, 0, sizeof(o));
	o.format = f;
	o.filter.include_expired = include_expired;
	o.filter.source = source;
	o.now = 1;
	rc = bw_export(st, &o, out, &err);
	fclose(out);
	if (rc) {
		printf("# export: %s\n", err.msg);
		free(buf);
		return NULL;
	}
	return buf;
}

static void
test_feed_directory(void)
{
	static const struct {
		const char *uuid;
		long records, unsupported;
	} want[] = {
		{"57c4445b-c548-4654-af0b-4be3950d210f", 3, 6},
		{"5a3c2fcd-8328-42bb-a95e-4f4402de0b81", 68, 54},
		{"5b646415-7b48-40d5-86b4-c0070acd0835", 5, 0},
		{"5758ebf5-c898-48e6-9fe9-5665c0a83866", 0, 2},
	};
	struct env e;
	struct bw_store *st;
	struct bw_ingest_options o;
	struct results rs;
	char path[1024], sub[600];
	FILE *f;
	char *ev;

	if (!CHECK(env_open(&e) == 0))
		return;
	st = store_open(&e, "feed.db");
	if (!CHECK(st != NULL))
		goto out;
	options(&o, &e, BW_FEED_AUTO, 1735689600);
	CHECK_INT(ingest(st, data_path("feed", path, sizeof(path)), &o, &rs), BW_OK);
	CHECK_INT(rs.n, 4);
	for (size_t i = 0; i < 4 && i < rs.n; i++) {
		const struct bw_ingest_result *r = &rs.r[i];
		size_t fl = strlen(r->file);
		CHECK(fl > 41 && strncmp(r->file + fl - 41, want[i].uuid, 36) == 0);
		CHECK_INT(r->format, BW_FEED_MISP);
		CHECK_INT(r->refused, 0);
		CHECK_INT(r->records, want[i].records);
		CHECK_INT(r->rejected, 0);
		CHECK_INT(r->unsupported, want[i].unsupported);
	}
	/* 68 attributes of the Sednit event hold 66 distinct indicators */
	if (rs.n == 4) {
		CHECK_INT(rs.r[1].added, 66);
		CHECK_INT(rs.r[1].updated, 2);
	}

	/* A feed whose manifest lists an event file that is missing. */
	snprintf(sub, sizeof(sub), "%s/feed2", e.dir);
	mkdir(sub, 0700);
	snprintf(path, sizeof(path), "%s/manifest.json", sub);
	f = fopen(path, "w");
	fputs("{\"57c4445b-c548-4654-af0b-4be3950d210f\": {\"info\": \"x\"},\n"
	      " \"00000000-0000-4000-8000-000000000000\": {\"info\": \"gone\"}}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/57c4445b-c548-4654-af0b-4be3950d210f.json", sub);
	f = fopen(path, "w");
	ev = slurp("57c4445b-c548-4654-af0b-4be3950d210f.json", NULL);
	fputs(ev ? ev : "", f);
	free(ev);
	fclose(f);
	CHECK_INT(ingest(st, sub, &o, &rs), BW_OK);
	CHECK_INT(rs.n, 2);
	if (rs.n == 2) {
		CHECK_INT(rs.r[0].refused, 0);
		CHECK_INT(rs.r[0].records, 3);
		CHECK_INT(rs.r[1].refused, 1);
	}
	bw_store_close(st);
out:
	env_close(&e);
}

/* The attribute of an export with this value, or NULL. */
static json_t *
find_attribute(json_t *doc, const char *value, const char **source)
{
	size_t i, k;
	json_t *ev, *a;

	json_array_foreach(json_object_get(doc, "response"), i, ev) {
		json_t *event = json_object_get(ev, "Event");
		json_array_foreach(json_object_get(event, "Attribute"), k, a) {
			if (strcmp(json_string_value(json_object_get(a, "value")), value) == 0) {
				*source = json_string_value(json_object_get(
					json_object_get(event, "Orgc"), "name"));
				return a;
			}
		}
	}
	return NULL;
}

static int
has_tag(json_t *a, const char *name)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(a, "Tag"), i, t)
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
			return 1;
	return 0;
}

static const char *
member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(none)";
}

/* Checks the structure of a MISP export of store st. */
static void
check_export_structure(struct bw_store *st, const char *text)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr), *a, *ev;
	char **names = NULL;
	size_t nnames = 0, i;
	const char *source = NULL;
	char uuid[BW_UUID_TEXT_LEN + 1];
	struct bw_err err;

	if (!CHECK(doc != NULL)) {
		printf("# %s\n", jerr.text);
		return;
	}
	CHECK_INT(bw_store_source_names(st, &names, &nnames, &err), BW_OK);
	CHECK_INT(json_array_size(json_object_get(doc, "response")), nnames);
	json_array_foreach(json_object_get(doc, "response"), i, ev) {
		json_t *event = json_object_get(ev, "Event");
		const char *name = member(json_object_get(event, "Orgc"), "name");
		long long max_ts = 0;
		size_t k;

		if (i >= nnames)
			break;
		/* one event per source, in name order, with derived ids */
		CHECK_STR(name, names[i]);
		CHECK_STR(member(event, "uuid"),
			  bw_uuid5(bw_uuid_ns_bulwark, names[i], strlen(names[i]), uuid));
		CHECK(json_is_false(json_object_get(event, "published")));
		CHECK_STR(member(event, "distribution"), "0");
		json_array_foreach(json_object_get(event, "Attribute"), k, a) {
			long long ts = atoll(member(a, "timestamp"));
			if (ts > max_ts)
				max_ts = ts;
		}
		CHECK_INT(atoll(member(event, "timestamp")), max_ts);
	}
	bw_store_free_names(names);

	/* DROP: a non-UUID external id travels in a tag */
	a = find_attribute(doc, "1.10.16.0/20", &source);
	if (CHECK(a != NULL)) {
		const char *parts[3] = {"spamhaus", "cidr", "1.10.16.0/20"};
		CHECK_STR(source, "spamhaus");
		CHECK_STR(member(a, "type"), "ip-dst");
		CHECK_STR(member(a, "category"), "Network activity");
		CHECK_STR(member(a, "uuid"), bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, uuid));
		CHECK(has_tag(a, "bulwark:external-id=\"SBL256894\""));
		CHECK(has_tag(a, "tlp:amber"));
		CHECK(json_is_true(json_object_get(a, "to_ids")));
		CHECK(json_is_false(json_object_get(a, "deleted")));
	}
	/* a MISP attribute keeps its uuid; times and tags */
	a = find_attribute(doc, "http://evil-example.com/login.php?a=1", &source);
	if (CHECK(a != NULL)) {
		CHECK_STR(source, "Example CERT");
		CHECK_STR(member(a, "type"), "url");
		CHECK_STR(member(a, "uuid"), "11111111-1111-4111-8111-111111111108");
		CHECK_STR(member(a, "first_seen"), "2024-03-01T10:00:00.000000+00:00");
		CHECK_STR(member(a, "last_seen"), "2024-03-05T12:30:00.000000+00:00");
		CHECK(has_tag(a, "tlp:amber+strict"));
		CHECK(has_tag(a, "bulwark:confidence=\"85\""));
		CHECK(has_tag(a, "misp-galaxy:threat-actor=\"APT28\""));
		CHECK(has_tag(a, "Phishing wave"));
		CHECK(has_tag(a, "bulwark:share-with=\"DE\""));
	}
	a = find_attribute(doc, "tagged.example.org", &source);
	if (CHECK(a != NULL)) {
		CHECK(has_tag(a, "tlp:red"));
		CHECK(has_tag(a, "misp-galaxy:malpedia=\"LockBit\""));
		CHECK(has_tag(a, "bulwark:campaign=\"Operation X\""));
		CHECK(has_tag(a, "bulwark:tag=\"ns:label\""));
		CHECK(has_tag(a, "bulwark:valid-until=\"2030-01-01T00:00:00Z\""));
		CHECK(has_tag(a, "bulwark:external-id=\"EXT-42\""));
	}
	a = find_attribute(doc, "phisher@evil-example.com", &source);
	if (CHECK(a != NULL)) {
		CHECK_STR(member(a, "type"), "email-src");
		CHECK_STR(member(a, "category"), "Payload delivery");
	}
	a = find_attribute(doc, "revoked.example.org", &source);
	if (CHECK(a != NULL))
		CHECK(json_is_true(json_object_get(a, "deleted")));
	a = find_attribute(doc, "0749bae92ca336a02c83d126e04ec628", &source);
	if (CHECK(a != NULL)) {
		CHECK_STR(member(a, "type"), "md5");
		CHECK(has_tag(a, "tlp:clear"));
	}
	json_decref(doc);
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted (the store orders records by indicator id,
 * which differs between two stores fed in different orders). */
static char **
sorted_lines(char *text, size_t *n)
{
	size_t cap = 1024;
	char **v = malloc(cap * sizeof(char *));
	char *line = text, *nl;

	*n = 0;
	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line) - 1;
		else
			*nl = '\0';
		if (*n == cap)
			v = realloc(v, (cap *= 2) * sizeof(char *));
		v[(*n)++] = line;
	}
	qsort(v, *n, sizeof(char *), cmp_line);
	return v;
}

/* Compares two CSV exports as sets of lines; returns the number of lines. */
static long
compare_lines(char *a, char *b)
{
	size_t na, nb, diff = 0;
	char **la = sorted_lines(a, &na), **lb = sorted_lines(b, &nb);

	CHECK_INT(na, nb);
	for (size_t i = 0; i < na && i < nb; i++)
		if (strcmp(la[i], lb[i]) != 0 && diff++ < 5)
			printf("#   before: %s\n#   after:  %s\n", la[i], lb[i]);
	tap_check(diff == 0 && na == nb,
		  "CSV exports before and after the MISP round trip agree", __FILE__,
		  __LINE__);
	free(la);
	free(lb);
	return (long)na;
}

static void
test_round_trip(void)
{
	static const struct bw_tag tags[] = {
		{"tag", "blocklist"},
		{"tag", "urlhaus:online"},
		{"campaign", "Summer 2025"},
		{"malware", "Emotet"},
	};
	static const char *const rcpts[] = {"DE", "NL"};
	static const char *const events[] = {
		"57c4445b-c548-4654-af0b-4be3950d210f.json",
		"mispevent_testfiles__existing_event.json",
		"reportlab_testfiles__mainly_objects_1.json",
		"reportlab_testfiles__sighting_1.json",
		"mispevent_testfiles__event_obj_attr_tag.json",
		"handmade-types.json",
	};
	const int64_t now_a = 1735689600; /* 2025-01-01 */
	const int64_t now_b = now_a + 40 * 86400;
	struct env e;
	struct bw_store *a = NULL, *b = NULL;
	struct bw_ingest_options o;
	struct results rs;
	char path[1024];
	char *csv_a = NULL, *csv_b = NULL, *misp1 = NULL, *misp2 = NULL, *part = NULL;
	long lines, records = 0;
	FILE *f;

	if (!CHECK(env_open(&e) == 0))
		return;
	a = store_open(&e, "a.db");
	b = store_open(&e, "b.db");
	if (!CHECK(a != NULL && b != NULL))
		goto out;

	/* an empty store: an empty result */
	part = export_text(b, BW_EXPORT_MISP, NULL, 1);
	CHECK(part && strcmp(part, "{\"response\":[]}\n") == 0);
	free(part);
	part = NULL;

	/* plain, with every field the command line can add */
	options(&o, &e, BW_FEED_PLAIN, now_a);
	o.confidence = 60;
	o.tlp = BW_TLP_GREEN;
	o.tags = tags;
	o.ntags = sizeof(tags) / sizeof(tags[0]);
	o.recipients = rcpts;
	o.nrecipients = 2;
	ingest(a, data_path("roundtrip/urlhaus-filter-domains-online.txt", path, sizeof(path)),
	       &o, &rs);
	CHECK(rs.n == 1 && !rs.r[0].refused && rs.r[0].records > 2800);
	records += rs.n ? rs.r[0].records : 0;
	/* DROP (external ids that are no UUIDs), v4 and v6 */
	options(&o, &e, BW_FEED_DROP, now_a);
	ingest(a, data_path("roundtrip/drop.txt", path, sizeof(path)), &o, &rs);
	CHECK(rs.n == 1 && !rs.r[0].refused && rs.r[0].records > 1300);
	ingest(a, data_path("roundtrip/dropv6.txt", path, sizeof(path)), &o, &rs);
	CHECK(rs.n == 1 && !rs.r[0].refused && rs.r[0].records > 50);
	/* the MISP samples */
	options(&o, &e, BW_FEED_MISP, now_a);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		ingest(a, data_path(events[i], path, sizeof(path)), &o, &rs);
		CHECK(rs.n == 1 && !rs.r[0].refused);
	}

	csv_a = export_text(a, BW_EXPORT_CSV, NULL, 1);
	misp1 = export_text(a, BW_EXPORT_MISP, NULL, 1);
	misp2 = export_text(a, BW_EXPORT_MISP, NULL, 1);
	if (!CHECK(csv_a && misp1 && misp2))
		goto out;
	/* deterministic */
	CHECK(strcmp(misp1, misp2) == 0);
	check_export_structure(a, misp1);

	/* without include_expired, revoked records stay out */
	free(misp2);
	misp2 = export_text(a, BW_EXPORT_MISP, NULL, 0);
	CHECK(misp2 && strstr(misp2, "revoked.example.org") == NULL &&
	      strstr(misp2, "\"deleted\":true") == NULL);
	/* one source only */
	part = export_text(a, BW_EXPORT_MISP, "spamhaus", 1);
	CHECK(part && strncmp(part, "{\"response\":[\n{\"Event\":", 23) == 0 &&
	      strstr(part + 20, "{\"Event\"") == NULL && strstr(part, "SBL256894"));

	/* ingest(export(a)) into b, later */
	snprintf(path, sizeof(path), "%s/export.json", e.dir);
	f = fopen(path, "w");
	fputs(misp1, f);
	fclose(f);
	options(&o, &e, BW_FEED_AUTO, now_b);
	ingest(b, path, &o, &rs);
	if (CHECK(rs.n == 1)) {
		CHECK_INT(rs.r[0].format, BW_FEED_MISP);
		CHECK_INT(rs.r[0].refused, 0);
		CHECK_INT(rs.r[0].rejected, 0);
		CHECK_INT(rs.r[0].unsupported, 0);
		CHECK_INT(rs.r[0].added, rs.r[0].records);
	}
	csv_b = export_text(b, BW_EXPORT_CSV, NULL, 1);
	if (!CHECK(csv_b != NULL))
		goto out;
	lines = compare_lines(csv_a, csv_b);
	/* header + one line per record, every record exported */
	if (rs.n == 1)
		CHECK_INT(lines, rs.r[0].records + 1);
	CHECK(lines > records);
	printf("# round trip: %ld records, MISP export %zu bytes\n", lines - 1,
	       strlen(misp1));
out:
	free(csv_a);
	free(csv_b);
	free(misp1);
	free(misp2);
	free(part);
	bw_store_close(a);
	bw_store_close(b);
	env_close(&e);
}

int
main(void)
{
	TAP_RUN(test_feed_event_file);
	TAP_RUN(test_bare_event);
	TAP_RUN(test_existing_event);
	TAP_RUN(test_objects_and_sightings);
	TAP_RUN(test_handmade_types);
	TAP_RUN(test_refused);
	TAP_RUN(test_size_limit);
	TAP_RUN(test_lists);
	TAP_RUN(test_feed_directory);
	TAP_RUN(test_round_trip);
	return tap_done();
}
