/*
 * test_campaign.c - campaigns from the store.
 *
 * Real MISP events (tests/data/misp: the Sednit, Xorist and SamSam
 * events) and the APT1 STIX report go in through the ingest driver: the
 * indicators of each event or report form exactly one campaign, and they
 * stay four campaigns.
 * Then records written directly check each other link (shared indicator
 * across events, the two halves of a domain|ip attribute, a URL on a
 * domain indicator, a /24 inside and outside the time window, plain labels
 * that must not link), the deterministic id, and the STIX writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/psl.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "feed/ingest.h"
#include "intel/campaign.h"
#include "store/store.h"
#include "tap.h"

static char dir[] = "/tmp/bw-test-campaign-XXXXXX";

static const char *
data(const char *name)
{
	static char buf[1024];
	const char *d = getenv("BW_TEST_DATA");
	snprintf(buf, sizeof(buf), "%s/%s", d ? d : "tests/data", name);
	return buf;
}

static void
count_result(void *ctx, const struct bw_ingest_result *r)
{
	*(long *)ctx += r->refused ? -1000000 : r->records;
}

/* The campaign holding value, or NULL. */
static const struct bw_campaign *
campaign_of(const struct bw_campaigns *cs, const char *value)
{
	for (size_t k = 0; k < bw_campaigns_count(cs); k++) {
		const struct bw_campaign *c = bw_campaigns_get(cs, k);
		for (size_t i = 0; i < c->nmembers; i++)
			if (strcmp(c->members[i]->value, value) == 0)
				return c;
	}
	return NULL;
}

static int
has_event(const struct bw_campaign *c, const char *uuid)
{
	for (size_t i = 0; i < c->nevents; i++)
		if (strcmp(c->events[i], uuid) == 0)
			return 1;
	return 0;
}

static void
test_misp_events(void)
{
	static const struct {
		const char *file, *uuid, *member;
		size_t n; /* indicators of the event in the store */
	} ev[] = {
		{"misp/mispevent_testfiles__existing_event.json",
		 "5a3c2fcd-8328-42bb-a95e-4f4402de0b81", "viters.org", 66},
		{"misp/57c4445b-c548-4654-af0b-4be3950d210f.json",
		 "57c4445b-c548-4654-af0b-4be3950d210f", NULL, 0},
		{"misp/reportlab_testfiles__mainly_objects_1.json",
		 "5c066053-0e94-46eb-9746-4b7d950d210f", NULL, 0},
	};
	struct bw_ingest_options o = {0};
	struct bw_store *st = NULL;
	struct bw_psl *psl = NULL;
	struct bw_campaigns *cs = NULL;
	struct bw_err err;
	char path[300];
	long records = 0;

	snprintf(path, sizeof(path), "%s/misp.db", dir);
	if (!CHECK(bw_store_open(path, 0, &st, &err) == BW_OK) ||
	    !CHECK(bw_psl_open(&psl, &err) == BW_OK))
		goto out;
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	o.psl = psl;
	o.now = 1700000000;
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		CHECK_INT(bw_ingest_path(st, data(ev[i].file), &o, count_result, &records,
					 &err), BW_OK);
	/* the APT1 bundle: a report that lists all its indicators */
	CHECK_INT(bw_ingest_path(st, data("stix/apt1.json"), &o, count_result, &records,
				 &err), BW_OK);
	CHECK(records > 90);
	if (!CHECK(bw_campaigns_compute(st, NULL, &cs, &err) == BW_OK))
		goto out;
	/* one campaign per event and one for the report, each holding
	 * exactly its indicators */
	CHECK_INT((long)bw_campaigns_count(cs), 4);
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		size_t holding = 0;
		for (size_t k = 0; k < bw_campaigns_count(cs); k++)
			holding += has_event(bw_campaigns_get(cs, k), ev[i].uuid);
		CHECK_INT((long)holding, 1);
	}
	{
		const struct bw_campaign *c = campaign_of(cs, "viters.org");
		if (CHECK(c != NULL)) {
			CHECK_INT((long)c->nmembers, 66);
			CHECK_INT((long)c->nevents, 1);
			CHECK_STR(c->events[0], "5a3c2fcd-8328-42bb-a95e-4f4402de0b81");
			CHECK_INT((long)c->nactors, 1);
			CHECK_STR(c->actors[0], "Sofacy");
			CHECK(c->nmalware >= 10);
			CHECK(c->reasons & BW_LINK_EVENT);
			CHECK(c->reasons & BW_LINK_TAG);
		}
	}
	{
		const struct bw_campaign *c = campaign_of(cs, "223.166.0.0/15");
		if (CHECK(c != NULL)) {
			CHECK_INT((long)c->nmembers, 10);
			CHECK_INT((long)c->nevents, 1);
			CHECK_STR(c->events[0],
				  "APT1: Exposing One of China's Cyber Espionage Units");
			CHECK_INT((long)c->nactors, 1);
			CHECK_STR(c->actors[0], "Ugly Gorilla");
		}
	}
	/* every indicator of the store is in one of them: nothing linked
	 * across events, nothing left out */
	{
		size_t total = 0;
		for (size_t k = 0; k < bw_campaigns_count(cs); k++)
			total += bw_campaigns_get(cs, k)->nmembers;
		CHECK_INT((long)total, (long)bw_campaigns_indicators(cs));
	}
out:
	bw_campaigns_free(cs);
	bw_psl_free(psl);
	bw_store_close(st);
}

/* One record; resolves: the domain a source says resolves to an address
 * (the store's resolution table), or NULL. */
static int
put_rec(struct bw_store *st, const char *value, const char *source, const char *ext,
	const char *tagkind, const char *tagname, int64_t first, int64_t last, int revoked,
	const char *resolves)
{
	struct bw_ioc ioc;
	struct bw_tag tag = {tagkind, tagname};
	struct bw_record_in r = {0};
	enum bw_upsert_result res;
	struct bw_err err;

	if (bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, &err))
		return -1;
	r.ioc = &ioc;
	r.source = source;
	r.external_id = ext;
	r.confidence = -1;
	r.tlp = BW_TLP_GREEN;
	r.revoked = revoked;
	r.first_seen = first;
	r.last_seen = last;
	r.resolves = resolves;
	if (tagkind) {
		r.tags = &tag;
		r.ntags = 1;
	}
	return bw_store_upsert(st, &r, 1700000000, &res, &err);
}

static int
put(struct bw_store *st, const char *value, const char *source, const char *ext,
    const char *tagkind, const char *tagname, int64_t first, int64_t last)
{
	return put_rec(st, value, source, ext, tagkind, tagname, first, last, 0, NULL);
}

/* One MISP domain|ip attribute as src/feed/misp.c writes it: the domain
 * with the attribute's id, the address with "|ip" after it and the pair
 * for the store's resolution table. */
static int
put_pair(struct bw_store *st, const char *domain, const char *ip, const char *source,
	 const char *ext, int revoked, int64_t t)
{
	char ipext[64];

	if (put(st, domain, source, ext, NULL, NULL, t, t))
		return -1;
	snprintf(ipext, sizeof(ipext), "%s|ip", ext);
	return put_rec(st, ip, source, ipext, NULL, NULL, t, t, revoked, domain);
}

static void
test_links(void)
{
	const int64_t day = 86400, t0 = 1690000000;
	struct bw_store *st = NULL;
	struct bw_campaigns *cs = NULL;
	struct bw_err err;
	char path[300], want[BW_UUID_TEXT_LEN + 1];
	const struct bw_campaign *a, *b;

	snprintf(path, sizeof(path), "%s/links.db", dir);
	if (!CHECK(bw_store_open(path, 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	/* event A, event B sharing 203.0.113.5, event C apart */
	CHECK_INT(put(st, "a1.example", "s1", NULL, "event", "A", t0, t0), 0);
	CHECK_INT(put(st, "203.0.113.5", "s1", NULL, "event", "A", t0, t0), 0);
	CHECK_INT(put(st, "203.0.113.5", "s2", NULL, "event", "B", t0, t0), 0);
	CHECK_INT(put(st, "b1.example", "s2", NULL, "event", "B", t0, t0), 0);
	CHECK_INT(put(st, "c1.example", "s3", NULL, "event", "C", t0, t0), 0);
	CHECK_INT(put(st, "c2.example", "s3", NULL, "event", "C", t0, t0), 0);
	/* a domain|ip pair */
	CHECK_INT(put_pair(st, "pair.example", "192.0.2.77", "s4", "u-1", 0, t0), 0);
	/* a URL on a domain indicator */
	CHECK_INT(put(st, "http://pair.example/gate.php", "s5", NULL, NULL, NULL, t0, t0), 0);
	/* the same /24: within the window, and a year later */
	CHECK_INT(put(st, "198.51.100.1", "s6", NULL, NULL, NULL, t0, t0 + day), 0);
	CHECK_INT(put(st, "198.51.100.200", "s7", NULL, NULL, NULL, t0 + 3 * day,
		      t0 + 3 * day), 0);
	CHECK_INT(put(st, "198.51.100.99", "s8", NULL, NULL, NULL, t0 + 365 * day,
		      t0 + 365 * day), 0);
	/* plain labels never link */
	CHECK_INT(put(st, "l1.example", "s9", NULL, "tag", "phishing", t0, t0), 0);
	CHECK_INT(put(st, "l2.example", "s9", NULL, "tag", "phishing", t0, t0), 0);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);

	if (!CHECK(bw_campaigns_compute(st, NULL, &cs, &err) == BW_OK))
		goto out;
	CHECK_INT((long)bw_campaigns_count(cs), 4);
	a = campaign_of(cs, "a1.example");
	b = campaign_of(cs, "b1.example");
	CHECK(a != NULL && a == b);
	if (a) {
		CHECK_INT((long)a->nmembers, 3);
		CHECK_INT((long)a->nevents, 2);
		/* the id: UUIDv5 of the smallest member (domain a1.example) */
		{
			const char *parts[3] = {"campaign", "domain", "a1.example"};
			CHECK_STR(a->id, bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, want));
		}
		CHECK_INT(a->first_seen, t0);
	}
	CHECK(campaign_of(cs, "c1.example") != NULL &&
	      campaign_of(cs, "c1.example") != a);
	a = campaign_of(cs, "pair.example");
	if (CHECK(a != NULL)) {
		CHECK_INT((long)a->nmembers, 3);
		CHECK(a == campaign_of(cs, "192.0.2.77"));
		CHECK(a == campaign_of(cs, "http://pair.example/gate.php"));
		CHECK_INT(a->reasons, BW_LINK_RESOLUTION | BW_LINK_HOST);
	}
	a = campaign_of(cs, "198.51.100.1");
	if (CHECK(a != NULL)) {
		CHECK_INT((long)a->nmembers, 2);
		CHECK(a == campaign_of(cs, "198.51.100.200"));
		CHECK_INT(a->reasons, BW_LINK_PREFIX);
	}
	CHECK(campaign_of(cs, "198.51.100.99") == NULL);
	CHECK(campaign_of(cs, "l1.example") == NULL);

	/* a wider window takes the address of a year later in */
	bw_campaigns_free(cs);
	cs = NULL;
	{
		struct bw_campaign_opts o = {400 * day, NULL, 2};
		if (CHECK(bw_campaigns_compute(st, &o, &cs, &err) == BW_OK)) {
			a = campaign_of(cs, "198.51.100.99");
			CHECK(a != NULL && a->nmembers == 3);
		}
	}
	/* the STIX writer: one campaign object per campaign */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (CHECK(f != NULL)) {
			CHECK_INT(bw_campaigns_write_stix(cs, f, 1700000000, &err), BW_OK);
			fclose(f);
			{
				size_t n = 0;
				for (const char *p = buf; (p = strstr(p, "\"type\":\"campaign\"")); p++)
					n++;
				CHECK_INT((long)n, (long)bw_campaigns_count(cs));
			}
			CHECK(strstr(buf, "\"relationship_type\":\"indicates\"") != NULL);
			free(buf);
		}
	}
out:
	bw_campaigns_free(cs);
	bw_store_close(st);
}

/* Links made through the resolution table alone: a domain of one source
 * resolving to three addresses in unrelated networks (its record keeps
 * only the last attribute's external id, the table keeps every pair), a
 * revoked pair, and a pair whose domain half another source reports. */
static void
test_resolution_pairs(void)
{
	const int64_t t0 = 1690000000;
	struct bw_store *st = NULL;
	struct bw_campaigns *cs = NULL;
	struct bw_err err;
	char path[300];
	const struct bw_campaign *a;

	snprintf(path, sizeof(path), "%s/pairs.db", dir);
	if (!CHECK(bw_store_open(path, 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(put_pair(st, "multi.example", "192.0.2.10", "m1", "attr-a", 0, t0), 0);
	CHECK_INT(put_pair(st, "multi.example", "198.18.0.1", "m1", "attr-b", 0, t0), 0);
	CHECK_INT(put_pair(st, "multi.example", "2001:db8::1", "m1", "attr-c", 0, t0), 0);
	/* withdrawn: the pair links nothing */
	CHECK_INT(put_pair(st, "gone.example", "203.0.113.9", "m1", "attr-d", 1, t0), 0);
	CHECK_INT(put(st, "203.0.113.9", "m2", NULL, NULL, NULL, t0, t0), 0);
	/* the domain half comes from another source only: no pair of one source */
	CHECK_INT(put(st, "split.example", "m3", NULL, NULL, NULL, t0, t0), 0);
	CHECK_INT(put_rec(st, "100.64.0.1", "m4", NULL, NULL, NULL, t0, t0, 0, "split.example"), 0);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);

	if (!CHECK(bw_campaigns_compute(st, NULL, &cs, &err) == BW_OK))
		goto out;
	CHECK_INT((long)bw_campaigns_count(cs), 1);
	a = campaign_of(cs, "multi.example");
	if (CHECK(a != NULL)) {
		CHECK_INT((long)a->nmembers, 4);
		CHECK(a == campaign_of(cs, "192.0.2.10"));
		CHECK(a == campaign_of(cs, "198.18.0.1"));
		CHECK(a == campaign_of(cs, "2001:db8::1"));
		CHECK_INT(a->reasons, BW_LINK_RESOLUTION);
	}
	CHECK(campaign_of(cs, "gone.example") == NULL);
	CHECK(campaign_of(cs, "203.0.113.9") == NULL);
	CHECK(campaign_of(cs, "split.example") == NULL);
	CHECK(campaign_of(cs, "100.64.0.1") == NULL);
out:
	bw_campaigns_free(cs);
	bw_store_close(st);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	TAP_RUN(test_misp_events);
	TAP_RUN(test_links);
	TAP_RUN(test_resolution_pairs);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
