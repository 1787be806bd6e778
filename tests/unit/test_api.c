/*
 * test_api.c - the check API without HTTP: the TLP rule on exact levels,
 * and a property test: random indicators, each with records of random TLP
 * levels, recipient sets, tags and confidences, checked for every tenant
 * against an oracle written from the rule (listed or not, tags and
 * confidence of the visible records only); plus bad values, revoked
 * records and a rebuild after a write.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ioc.h"
#include "core/tlp.h"
#include "net/api.h"
#include "share/tenant.h"
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
	o = json_pack("{s:s,s:s,s:o,s:o}", "indicator", t, "type", "domain", "tags", tags,
		      "confidence", conf >= 0 ? json_integer(conf) : json_null());
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
			free(text);
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
	free(text);
	CHECK_INT(bw_api_check(api, "DE", "domain", "", &text, &status, &err), BW_OK);
	CHECK_INT(status, 400);
	free(text);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(bw_api_check(api, "DE", "url", big, &text, &status, &err), BW_OK);
	CHECK_INT(status, 400);
	free(text);
	CHECK_INT(bw_api_check(api, "DE", "email", "a@b.example", &text, &status, &err), BW_EINVAL);
	CHECK_INT(bw_api_check(api, "DE", "ip", "192.0.2.1", &text, &status, &err), BW_OK);
	CHECK_INT(status, 200);
	CHECK_STR(text, "{\"listed\":false,\"matches\":[]}");
	free(text);

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
	CHECK_STR(text, "{\"listed\":true,\"matches\":[{\"indicator\":\"192.0.2.0/24\",\"type\":\"cidr\",\"tags\":[],\"confidence\":55}]}");
	free(text);
	CHECK_INT(bw_api_check(api, "DE", "ip", "198.51.100.7", &text, &status, &err), BW_OK);
	CHECK_STR(text, "{\"listed\":false,\"matches\":[]}");
	free(text);
	CHECK_INT(bw_api_check(api, "FR", "ip", "198.51.100.7", &text, &status, &err), BW_OK);
	CHECK_STR(text, "{\"listed\":true,\"matches\":[{\"indicator\":\"198.51.100.7\",\"type\":\"ipv4\",\"tags\":[],\"confidence\":55}]}");
	free(text);
	/* the URL check finds the host's listed network */
	CHECK_INT(bw_api_check(api, "EE", "url", "http://192.0.2.9/x", &text, &status, &err), BW_OK);
	CHECK(text && strstr(text, "\"indicator\":\"192.0.2.0/24\"") != NULL);
	free(text);
	bw_api_free(api);
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
	TAP_RUN(test_values);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
