/*
 * test_api.c - the check API without HTTP: the TLP rule on exact levels,
 * and a property test: random indicators, each with records of random TLP
 * levels, recipient sets, tags and confidences, checked for every tenant
 * against an oracle written from the rule (listed or not, tags and
 * confidence of the visible records only); plus bad values, revoked
 * records and a rebuild after a write; and "national" per tenant (ccTLD,
 * scope CIDR and domain, an ASN through geo data, sightings from an
 * address in the scope but not from a name), never beyond TLP; checks
 * from several threads while snapshots are rebuilt under them; and the
 * digest of the view's inputs, which decides whether a commit needs a
 * rebuild (it moves with tenants, scopes and new sightings, not keys);
 * and expiry: lapsed indicators dropped at once without a rebuild, a
 * record expiring under a listed indicator rebuilt for.
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "intel/geo.h"
#include "net/api.h"
#include "net/taxii.h"
#include "net/view.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"
#include "store/store.h"
#include "tap.h"

static char dir[] = "/tmp/bw-test-api-XXXXXX";
static char db[256];

#define NIND 300
#define MAXREC 3
static const char *const countries[] = {"DE", "FR", "EE", "AT"};
#define NCC 4

struct rec {
	int tlp, conf; /* conf -1: unstated */
	unsigned rcpt; /* bit i: countries[i] */
	int tag;       /* tag number, -1: none */
	int revoked;
};

struct ind {
	int n;
	struct rec r[MAXREC];
};

static struct ind inds[NIND];

static unsigned long rng = 0x9e3779b97f4a7c15UL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
test_rule(void)
{
	/* every level, with and without being a recipient */
	CHECK_INT(bw_tenant_may_see(BW_TLP_CLEAR, 0), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_GREEN, 0), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_AMBER, 0), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_AMBER_STRICT, 0), 0);
	CHECK_INT(bw_tenant_may_see(BW_TLP_RED, 0), 0);
	CHECK_INT(bw_tenant_may_see(BW_TLP_CLEAR, 1), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_AMBER, 1), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_AMBER_STRICT, 1), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_RED, 1), 1);
	CHECK_INT(bw_tenant_may_see(BW_TLP_UNSET, 1), 0);
	CHECK_INT(bw_tenant_may_see(5, 1), 0);
	CHECK_INT(bw_tenant_may_see(-7, 0), 0);
}

static int
fill_store(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	int rc;

	if (bw_store_open(db, 0, &st, &err) || bw_store_begin(st, &err))
		return -1;
	for (int i = 0; i < NIND; i++) {
		char name[64];
		struct bw_ioc ioc;

		snprintf(name, sizeof(name), "d%d.example", i);
		if (bw_ioc_parse(name, strlen(name), BW_IOC_ANY, &ioc, NULL))
			return -1;
		inds[i].n = 1 + (int)rnd(MAXREC);
		for (int j = 0; j < inds[i].n; j++) {
			struct rec *r = &inds[i].r[j];
			struct bw_record_in in;
			struct bw_tag tag;
			const char *rc_list[NCC];
			char src[16], tname[16];
			size_t nr = 0;
			enum bw_upsert_result res;

			r->tlp = (int)rnd(5);
			r->conf = (int)rnd(102) - 1;
			r->rcpt = rnd(16);
			r->tag = (int)rnd(6) - 1;
			r->revoked = rnd(10) == 0;
			memset(&in, 0, sizeof(in));
			snprintf(src, sizeof(src), "src%d", j);
			in.ioc = &ioc;
			in.source = src;
			in.confidence = r->conf;
			in.tlp = r->tlp;
			in.revoked = r->revoked;
			for (int c = 0; c < NCC; c++)
				if (r->rcpt & (1u << c))
					rc_list[nr++] = countries[c];
			in.recipients = rc_list;
			in.nrecipients = nr;
			if (r->tag >= 0) {
				snprintf(tname, sizeof(tname), "T%d", r->tag);
				tag.kind = (r->tag & 1) ? BW_TAG_KIND_ACTOR : BW_TAG_KIND_LABEL;
				tag.name = tname;
				in.tags = &tag;
				in.ntags = 1;
			}
			rc = bw_store_upsert(st, &in, 1000, &res, &err);
			if (rc) {
				printf("# upsert: %s\n", err.msg);
				return -1;
			}
		}
	}
	rc = bw_store_commit(st, &err);
	bw_store_close(st);
	return rc ? -1 : 0;
}

/* The oracle: what country c may see of indicator i, as the expected
 * "matches" entry (NULL if not listed). */
static json_t *
expect(int i, int c)
{
	json_t *tags = json_array(), *o;
	int conf = -1, nvis = 0;
	char t[16];
	int seen[6] = {0};

	for (int j = 0; j < inds[i].n; j++) {
		const struct rec *r = &inds[i].r[j];
		int vis;
		if (r->revoked)
			continue;
		switch (r->tlp) {
		case BW_TLP_CLEAR: case BW_TLP_GREEN: case BW_TLP_AMBER:
			vis = 1;
			break;
		default: /* AMBER+STRICT, RED */
			vis = (r->rcpt >> c) & 1;
		}
		if (!vis)
			continue;
		nvis++;
		if (r->conf > conf)
			conf = r->conf;
		if (r->tag >= 0)
			seen[r->tag] = 1;
	}
	if (nvis == 0) {
		json_decref(tags);
		return NULL;
	}
	/* sorted as strings: "T0" < "T2" < "T4" < "actor:T1" < ... */
	for (int k = 0; k < 6; k += 2)
		if (seen[k]) {
			snprintf(t, sizeof(t), "T%d", k);
			json_array_append_new(tags, json_string(t));
		}
	for (int k = 1; k < 6; k += 2)
		if (seen[k]) {
			snprintf(t, sizeof(t), "actor:T%d", k);
			json_array_append_new(tags, json_string(t));
		}
	snprintf(t, sizeof(t), "d%d.example", i);
	o = json_pack("{s:s,s:s,s:o,s:o,s:b}", "indicator", t, "type", "domain", "tags", tags,
		      "confidence", conf >= 0 ? json_integer(conf) : json_null(), "national", 0);
	return o;
}

static void
test_property(void)
{
	struct bw_api_config cfg;
	struct bw_api *api = NULL;
	struct bw_err err;
	long bad = 0, listed = 0, hidden = 0, strict_hidden = 0;

	CHECK_INT(fill_store(), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = db;
	cfg.workers = 2;
	cfg.refresh_ms = 50;
	if (!CHECK(bw_api_new(&cfg, &api, &err) == BW_OK))
		printf("# %s\n", err.msg);
	if (api == NULL)
		return;
	for (int i = 0; i < NIND; i++) {
		char name[64];
		/* a subdomain: the suffix match must find the listed parent */
		snprintf(name, sizeof(name), "www.d%d.example", i);
		for (int c = 0; c < NCC; c++) {
			char *text = NULL;
			int status = 0;
			json_t *got, *want = expect(i, c), *m;

			if (bw_api_check(api, countries[c], "domain", name, &text, &status, &err)) {
				bad++;
				json_decref(want);
				continue;
			}
			got = json_loads(text, 0, NULL);
			bw_free(text);
			m = json_array_get(json_object_get(got, "matches"), 0);
			if (status != 200 || got == NULL ||
			    json_is_true(json_object_get(got, "listed")) != (want != NULL) ||
			    json_array_size(json_object_get(got, "matches")) != (want ? 1u : 0u) ||
			    (want && !json_equal(m, want))) {
				if (bad++ < 5) {
					char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
					char *w = want ? json_dumps(want, JSON_COMPACT) : NULL;
					printf("# %s for %s: got %s want %s\n", name, countries[c],
					       g ? g : "?", w ? w : "not listed");
					free(g);
					free(w);
				}
			}
			if (want) {
				listed++;
			} else {
				hidden++;
				/* some record is AMBER+STRICT without this country */
				for (int j = 0; j < inds[i].n; j++)
					if (inds[i].r[j].tlp == BW_TLP_AMBER_STRICT &&
					    !inds[i].r[j].revoked)
						strict_hidden++;
			}
			json_decref(want);
			json_decref(got);
		}
	}
	CHECK_INT(bad, 0);
	/* the random data exercised both outcomes and AMBER+STRICT */
	CHECK(listed > 100);
	CHECK(hidden > 100);
	CHECK(strict_hidden > 10);
	printf("# %ld listed, %ld not listed (%ld with AMBER+STRICT records)\n", listed,
	       hidden, strict_hidden);
	bw_api_free(api);
}

static void
test_values(void)
{
	struct bw_api_config cfg;
	struct bw_api *api = NULL;
	struct bw_store *st = NULL;
	struct bw_err err;
	char *text = NULL, big[3000];
	int status = 0;
	size_t active = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = db;
	cfg.workers = 1;
	CHECK_INT(bw_api_new(&cfg, &api, &err), BW_OK);
	if (api == NULL)
		return;
	/* the index holds the indicators with a record not revoked */
	for (int i = 0; i < NIND; i++)
		for (int j = 0; j < inds[i].n; j++)
			if (!inds[i].r[j].revoked) {
				active++;
				break;
			}
	CHECK(active < NIND);
	CHECK_INT(bw_api_indicators(api), active);
	CHECK_INT(bw_api_check(api, "DE", "ip", "not-an-ip", &text, &status, &err), BW_OK);
	CHECK_INT(status, 400);
	CHECK_STR(text, "{\"error\":\"ip: not an IPv4 or IPv6 address\"}");
	bw_free(text);
	CHECK_INT(bw_api_check(api, "DE", "domain", "", &text, &status, &err), BW_OK);
	CHECK_INT(status, 400);
	bw_free(text);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(bw_api_check(api, "DE", "url", big, &text, &status, &err), BW_OK);
	CHECK_INT(status, 400);
	bw_free(text);
	CHECK_INT(bw_api_check(api, "DE", "email", "a@b.example", &text, &status, &err), BW_EINVAL);
	CHECK_INT(bw_api_check(api, "DE", "ip", "192.0.2.1", &text, &status, &err), BW_OK);
	CHECK_INT(status, 200);
	CHECK_STR(text, "{\"listed\":false,\"matches\":[]}");
	bw_free(text);

	/* a new CLEAR indicator and a new RED one for FR, after a rebuild */
	CHECK_INT(bw_store_open(db, BW_STORE_NOCREATE, &st, &err), BW_OK);
	if (st) {
		struct bw_ioc a, b;
		struct bw_record_in in;
		const char *fr[] = {"FR"};
		enum bw_upsert_result res;

		bw_ioc_parse("192.0.2.0/24", 12, BW_IOC_ANY, &a, NULL);
		bw_ioc_parse("198.51.100.7", 12, BW_IOC_ANY, &b, NULL);
		memset(&in, 0, sizeof(in));
		in.source = "late";
		in.confidence = 55;
		CHECK_INT(bw_store_begin(st, &err), BW_OK);
		in.ioc = &a;
		in.tlp = BW_TLP_CLEAR;
		CHECK_INT(bw_store_upsert(st, &in, 2000, &res, &err), BW_OK);
		in.ioc = &b;
		in.tlp = BW_TLP_RED;
		in.recipients = fr;
		in.nrecipients = 1;
		CHECK_INT(bw_store_upsert(st, &in, 2000, &res, &err), BW_OK);
		CHECK_INT(bw_store_commit(st, &err), BW_OK);
		bw_store_close(st);
	}
	CHECK_INT(bw_api_refresh(api, &err), BW_OK);
	CHECK_INT(bw_api_indicators(api), active + 2);
	CHECK_INT(bw_api_check(api, "DE", "ip", "192.0.2.1", &text, &status, &err), BW_OK);
	CHECK_STR(text, "{\"listed\":true,\"matches\":[{\"indicator\":\"192.0.2.0/24\",\"type\":\"cidr\",\"tags\":[],\"confidence\":55,\"national\":false}]}");
	bw_free(text);
	CHECK_INT(bw_api_check(api, "DE", "ip", "198.51.100.7", &text, &status, &err), BW_OK);
	CHECK_STR(text, "{\"listed\":false,\"matches\":[]}");
	bw_free(text);
	CHECK_INT(bw_api_check(api, "FR", "ip", "198.51.100.7", &text, &status, &err), BW_OK);
	CHECK_STR(text, "{\"listed\":true,\"matches\":[{\"indicator\":\"198.51.100.7\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":55,\"national\":false}]}");
	bw_free(text);
	/* the URL check finds the host's listed network */
	CHECK_INT(bw_api_check(api, "EE", "url", "http://192.0.2.9/x", &text, &status, &err), BW_OK);
	CHECK(text && strstr(text, "\"indicator\":\"192.0.2.0/24\"") != NULL);
	bw_free(text);
	bw_api_free(api);
}

/* Adds a record of source src (tlp, recipients rc, tag as an actor, ending
 * at until, 0 for never) for text, as of now. */
static int
add_at(struct bw_store *st, const char *text, const char *src, int tlp, const char *rc,
       const char *tag, int64_t until, int64_t now)
{
	struct bw_ioc ioc;
	struct bw_record_in in;
	struct bw_tag t;
	const char *r[1] = {rc};
	enum bw_upsert_result res;

	if (bw_ioc_parse(text, strlen(text), BW_IOC_ANY, &ioc, NULL))
		return -1;
	memset(&in, 0, sizeof(in));
	in.ioc = &ioc;
	in.source = src;
	in.confidence = -1;
	in.tlp = tlp;
	in.recipients = r;
	in.nrecipients = rc ? 1 : 0;
	in.valid_until = until;
	if (tag) {
		t.kind = BW_TAG_KIND_ACTOR;
		t.name = tag;
		in.tags = &t;
		in.ntags = 1;
	}
	return bw_store_upsert(st, &in, now, &res, NULL);
}

/* Adds a record of source src (tlp, recipients rc) for text. */
static int
add(struct bw_store *st, const char *text, const char *src, int tlp, const char *rc,
    const char *tag)
{
	return add_at(st, text, src, tlp, rc, tag, 0, 1000);
}

/* A sighting of the store indicator of value from observer. */
static int
sight(struct bw_store *st, const char *value, const char *observer)
{
	sqlite3_stmt *s = NULL;
	struct bw_sighting_in in;
	int64_t id = 0;

	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT id FROM indicator WHERE value = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	memset(&in, 0, sizeof(in));
	in.indicator_id = id;
	in.observer = observer;
	in.first = in.last = 7200;
	in.count = 3;
	return id ? bw_store_record_sighting(st, &in, NULL) : -1;
}

/* What country sees of value (kind): the answer, to be freed. */
static char *
ask(struct bw_api *api, const char *cc, const char *kind, const char *value)
{
	char *text = NULL;
	int status = 0;

	if (bw_api_check(api, cc, kind, value, &text, &status, NULL) != BW_OK || status != 200) {
		bw_free(text);
		return NULL;
	}
	return text;
}

#define ASK(cc, kind, value, want)                                             \
	do {                                                                   \
		char *t_ = ask(api, cc, kind, value);                          \
		CHECK_STR(t_, want);                                           \
		bw_free(t_);                                                   \
	} while (0)

/* A store of the test's own at dir/name (its path into path), with a
 * tenant for each country of ccs ("DE EE": two-letter codes, one space
 * between); NULL if it cannot be opened. */
static struct bw_store *
scratch_store(char *path, size_t cap, const char *name, const char *ccs)
{
	struct bw_store *st = NULL;
	struct bw_err err;

	snprintf(path, cap, "%s/%s", dir, name);
	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	for (const char *c = ccs; st != NULL && c[0] != '\0'; c += c[2] ? 3 : 2) {
		char cc[3] = {c[0], c[1], '\0'}, tname[16];
		snprintf(tname, sizeof(tname), "CERT %s", cc);
		CHECK_INT(bw_tenant_add(st, cc, tname, 1000, NULL, &err), BW_OK);
	}
	return st;
}

/* "national" per tenant: its ccTLD, a CIDR of its scope, a sighting from
 * an address in its scope (not from a name), under TLP as always. */
static void
test_national(void)
{
	char ndb[300];
	struct bw_api_config cfg;
	struct bw_api *api = NULL;
	struct bw_store *st = NULL;
	struct bw_err err;

	st = scratch_store(ndb, sizeof(ndb), "national.db", "DE EE");
	if (st == NULL)
		return;
	CHECK_INT(bw_tenant_scope_add(st, "DE", "cidr:203.0.113.0/24", 1000, &err), BW_OK);
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(add(st, "evil.ee", "a", BW_TLP_CLEAR, NULL, NULL), BW_OK);
	CHECK_INT(add(st, "bad.example", "a", BW_TLP_GREEN, NULL, NULL), BW_OK);
	CHECK_INT(add(st, "other.example", "a", BW_TLP_GREEN, NULL, NULL), BW_OK);
	CHECK_INT(add(st, "203.0.113.77", "a", BW_TLP_AMBER, NULL, NULL), BW_OK);
	CHECK_INT(add(st, "198.51.100.0/24", "a", BW_TLP_CLEAR, NULL, NULL), BW_OK);
	/* RED for DE only, though national to EE: EE must not learn of it */
	CHECK_INT(add(st, "red.ee", "b", BW_TLP_RED, "DE", "Secret"), BW_OK);
	/* public for all, plus an AMBER+STRICT record for EE with a tag */
	CHECK_INT(add(st, "mixed.example", "a", BW_TLP_CLEAR, NULL, "Open"), BW_OK);
	CHECK_INT(add(st, "mixed.example", "b", BW_TLP_AMBER_STRICT, "EE", "Strict"), BW_OK);
	CHECK_INT(sight(st, "bad.example", "203.0.113.5"), BW_OK);
	CHECK_INT(sight(st, "other.example", "host-a.example"), BW_OK);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	bw_store_close(st);

	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = ndb;
	cfg.workers = 2;
	CHECK_INT(bw_api_new(&cfg, &api, &err), BW_OK);
	if (api == NULL)
		return;
	ASK("EE", "domain", "www.evil.ee",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"evil.ee\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
	ASK("DE", "domain", "www.evil.ee",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"evil.ee\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	/* a tenant-less country sees it, national to nobody */
	ASK("FR", "domain", "evil.ee",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"evil.ee\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	ASK("DE", "domain", "bad.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"bad.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
	ASK("EE", "domain", "bad.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"bad.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	ASK("DE", "domain", "other.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"other.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	ASK("DE", "ip", "203.0.113.77",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"203.0.113.77\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
	ASK("EE", "ip", "203.0.113.77",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"203.0.113.77\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	ASK("DE", "ip", "198.51.100.9",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"198.51.100.0/24\",\"type\":\"cidr\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	ASK("EE", "domain", "red.ee", "{\"listed\":false,\"matches\":[]}");
	ASK("FR", "domain", "red.ee", "{\"listed\":false,\"matches\":[]}");
	ASK("DE", "domain", "red.ee",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"red.ee\",\"type\":\"domain\",\"tags\":[\"actor:Secret\"],\"confidence\":null,\"national\":false}]}");
	ASK("EE", "domain", "mixed.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"mixed.example\",\"type\":\"domain\",\"tags\":[\"actor:Open\",\"actor:Strict\"],\"confidence\":null,\"national\":false}]}");
	ASK("DE", "domain", "mixed.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"mixed.example\",\"type\":\"domain\",\"tags\":[\"actor:Open\"],\"confidence\":null,\"national\":false}]}");

	/* a new tenant and a scope change reach the answer after a rebuild */
	CHECK_INT(bw_store_open(ndb, BW_STORE_NOCREATE, &st, &err), BW_OK);
	if (st) {
		CHECK_INT(bw_tenant_add(st, "FR", "CERT FR", 1000, NULL, &err), BW_OK);
		CHECK_INT(bw_tenant_scope_add(st, "FR", "domain:other.example", 1000, &err), BW_OK);
		bw_store_close(st);
	}
	CHECK_INT(bw_api_refresh(api, &err), BW_OK);
	ASK("FR", "domain", "x.other.example",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"other.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
	bw_api_free(api);
	api = NULL;

	/* with geo data (the ASN fixture: 46.131.0.0/17 is AS3249): an
	 * address, and a sighting from an address, of an ASN in the scope */
	{
		struct bw_taxii_config tc;
		struct bw_geo *geo = NULL;
		char asn[300];
		const char *d = getenv("BW_TEST_DATA");

		snprintf(asn, sizeof(asn), "%s/geo/asn-ipv4.csv", d ? d : "tests/data");
		CHECK_INT(bw_geo_new(&geo, &err), BW_OK);
		CHECK_INT(bw_geo_load_asn_csv(geo, asn, &err), BW_OK);
		CHECK_INT(bw_store_open(ndb, BW_STORE_NOCREATE, &st, &err), BW_OK);
		if (st) {
			CHECK_INT(bw_tenant_scope_add(st, "EE", "asn:3249", 1000, &err), BW_OK);
			CHECK_INT(bw_store_begin(st, &err), BW_OK);
			CHECK_INT(add(st, "46.131.12.1", "a", BW_TLP_CLEAR, NULL, NULL), BW_OK);
			CHECK_INT(add(st, "seen.example", "a", BW_TLP_CLEAR, NULL, NULL), BW_OK);
			CHECK_INT(sight(st, "seen.example", "46.131.12.7"), BW_OK);
			CHECK_INT(bw_store_commit(st, &err), BW_OK);
			bw_store_close(st);
		}
		memset(&tc, 0, sizeof(tc));
		tc.geo = geo;
		cfg.taxii = &tc;
		CHECK_INT(bw_api_new(&cfg, &api, &err), BW_OK);
		if (api) {
			ASK("EE", "ip", "46.131.12.1",
			    "{\"listed\":true,\"matches\":[{\"indicator\":\"46.131.12.1\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
			ASK("DE", "ip", "46.131.12.1",
			    "{\"listed\":true,\"matches\":[{\"indicator\":\"46.131.12.1\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
			ASK("EE", "domain", "seen.example",
			    "{\"listed\":true,\"matches\":[{\"indicator\":\"seen.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":true}]}");
			ASK("DE", "domain", "seen.example",
			    "{\"listed\":true,\"matches\":[{\"indicator\":\"seen.example\",\"type\":\"domain\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
			bw_api_free(api);
		}
		bw_geo_free(geo);
	}
}

/* Checks from several threads while snapshots (with their views) are
 * rebuilt and swapped under them: every answer complete and right for the
 * indicators that do not change (run under ASan, a view freed too early
 * would show). */
struct racer {
	struct bw_api *api;
	long bad, done;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 3000; i++) {
		char *t = NULL, name[64];
		int status = 0, n = i % NIND;
		json_t *want = expect(n, 0), *got, *m;

		snprintf(name, sizeof(name), "d%d.example", n);
		if (bw_api_check(r->api, countries[0], "domain", name, &t, &status, NULL) != BW_OK ||
		    status != 200) {
			r->bad++;
			json_decref(want);
			bw_free(t);
			continue;
		}
		got = json_loads(t, 0, NULL);
		m = json_array_get(json_object_get(got, "matches"), 0);
		if (got == NULL || (want ? !json_equal(m, want) : m != NULL))
			r->bad++;
		json_decref(got);
		json_decref(want);
		bw_free(t);
		r->done++;
	}
	return NULL;
}

static void
test_concurrent(void)
{
	struct bw_api_config cfg;
	struct bw_api *api = NULL;
	struct bw_err err;
	struct racer r[3];
	pthread_t th[3];
	int refreshes = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = db;
	cfg.workers = 3;
	cfg.refresh_ms = 5;
	CHECK_INT(bw_api_new(&cfg, &api, &err), BW_OK);
	if (api == NULL)
		return;
	for (int i = 0; i < 3; i++) {
		r[i].api = api;
		r[i].bad = r[i].done = 0;
		CHECK(pthread_create(&th[i], NULL, race, &r[i]) == 0);
	}
	for (int i = 0; i < 20; i++)
		refreshes += bw_api_refresh(api, &err) == BW_OK;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(r[i].bad, 0);
		CHECK_INT(r[i].done, 3000);
	}
	CHECK_INT(refreshes, 20);
	bw_api_free(api);
}

/* The digest of what a view reads besides the records. */
static uint64_t
inputs(struct bw_store *st)
{
	uint64_t v = 0;
	struct bw_err err;

	if (bw_view_inputs(st, &v, &err) != BW_OK)
		printf("# %s\n", err.msg);
	return v;
}

static void
test_inputs(void)
{
	char idb[300], key[BW_API_KEY_BUF];
	struct bw_store *st = NULL;
	struct bw_err err;
	uint64_t v0, v1, v2, v3;

	st = scratch_store(idb, sizeof(idb), "inputs.db", "");
	if (st == NULL)
		return;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(add(st, "seen.example", "a", BW_TLP_CLEAR, NULL, NULL), BW_OK);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	v0 = inputs(st);
	CHECK_INT(bw_tenant_add(st, "DE", "CERT DE", 1000, NULL, &err), BW_OK);
	v1 = inputs(st);
	CHECK(v1 != v0);
	/* a key is no input of the view */
	CHECK_INT(bw_tenant_key_add(st, "DE", 1000, key, NULL, &err), BW_OK);
	CHECK(inputs(st) == v1);
	CHECK_INT(bw_tenant_scope_add(st, "DE", "domain:seen.example", 1000, &err), BW_OK);
	v2 = inputs(st);
	CHECK(v2 != v1);
	CHECK_INT(bw_tenant_scope_remove(st, "DE", "domain:seen.example", 1000, &err), BW_OK);
	CHECK(inputs(st) != v2);
	/* a new sighting row moves it; the same one again (same hour, an
	 * upsert of its count) does not */
	v2 = inputs(st);
	CHECK_INT(sight(st, "seen.example", "192.0.2.1"), BW_OK);
	v3 = inputs(st);
	CHECK(v3 != v2);
	CHECK_INT(sight(st, "seen.example", "192.0.2.1"), BW_OK);
	CHECK(inputs(st) == v3);
	bw_store_close(st);
}

/* Whether the answer to country's check of the address ip holds want
 * within tenths tenths of a second (the refresh thread's rebuild). */
static int
answers_within(struct bw_api *api, const char *cc, const char *ip, const char *want,
	       int tenths)
{
	for (int i = 0; i < tenths; i++) {
		char *t = ask(api, cc, "ip", ip);
		int ok = t != NULL && strstr(t, want) != NULL;
		bw_free(t);
		if (ok)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/* Expiry in the daemon.  An indicator whose only record expires is dropped
 * from the answers at once, with no rebuild (the snapshot keeps when each
 * indicator lapses).  A record that expires under an indicator another
 * record keeps listed changes who may see it: that makes the snapshot
 * stale, and the refresh thread rebuilds it (here DE loses an indicator
 * whose remaining record is RED for FR). */
static void
test_lapses(void)
{
	char ldb[300];
	struct bw_api_config cfg;
	struct bw_api *api = NULL;
	struct bw_store *st = NULL;
	struct bw_err err;
	int64_t soon = bw_time_now() + 2;
	char *t = NULL;

	st = scratch_store(ldb, sizeof(ldb), "lapse.db", "DE FR");
	if (st == NULL)
		return;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(add_at(st, "203.0.113.5", "a", BW_TLP_CLEAR, NULL, NULL, soon, bw_time_now()), BW_OK);
	CHECK_INT(add_at(st, "203.0.113.9", "a", BW_TLP_CLEAR, NULL, NULL, 0, bw_time_now()), BW_OK);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);

	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = ldb;
	cfg.workers = 1;
	cfg.refresh_ms = 100;
	CHECK_INT(bw_api_new(&cfg, &api, &err), BW_OK);
	if (api == NULL)
		goto out;
	ASK("DE", "ip", "203.0.113.5",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"203.0.113.5\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	CHECK_INT(bw_api_indicators(api), 2);
	while (bw_time_now() <= soon)
		usleep(100 * 1000);
	ASK("DE", "ip", "203.0.113.5", "{\"listed\":false,\"matches\":[]}");
	ASK("DE", "ip", "203.0.113.9",
	    "{\"listed\":true,\"matches\":[{\"indicator\":\"203.0.113.9\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":null,\"national\":false}]}");
	usleep(1500 * 1000); /* the refresh thread ran: it rebuilt nothing */
	CHECK_INT(bw_api_indicators(api), 2);

	/* a CLEAR record that expires, and a RED one for FR that does not;
	 * the rebuild for them also lets the lapsed indicator go */
	soon = bw_time_now() + 5;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(add_at(st, "198.51.100.4", "a", BW_TLP_CLEAR, NULL, NULL, soon, bw_time_now()), BW_OK);
	CHECK_INT(add_at(st, "198.51.100.4", "b", BW_TLP_RED, "FR", NULL, 0, bw_time_now()), BW_OK);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK(answers_within(api, "FR", "198.51.100.4", "\"listed\":true", 40));
	CHECK_INT(bw_api_indicators(api), 2);
	t = ask(api, "DE", "ip", "198.51.100.4");
	CHECK(t != NULL && strstr(t, "\"listed\":true") != NULL);
	bw_free(t);
	while (bw_time_now() <= soon)
		usleep(100 * 1000);
	/* rebuilt: DE no longer sees it */
	CHECK(answers_within(api, "DE", "198.51.100.4", "{\"listed\":false,\"matches\":[]}", 50));
	t = ask(api, "FR", "ip", "198.51.100.4");
	CHECK(t != NULL && strstr(t, "\"listed\":true") != NULL);
	bw_free(t);
out:
	bw_api_free(api);
	bw_store_close(st);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/api.db", dir);
	TAP_RUN(test_rule);
	TAP_RUN(test_property);
	TAP_RUN(test_concurrent);
	TAP_RUN(test_values);
	TAP_RUN(test_national);
	TAP_RUN(test_inputs);
	TAP_RUN(test_lapses);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
