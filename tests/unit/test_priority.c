/*
 * test_priority.c - the priority formula of share/priority.h: each part on
 * its own, and the documented order of a fixed set of notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "share/priority.h"
#include "tap.h"

#define NOW 1800000000LL
#define DAY 86400LL

static void
test_parts(void)
{
	struct bw_priority_in in = {BW_SEV_CRITICAL, 100,
				    BW_REL_SIGHTED | BW_REL_SCOPE | BW_REL_BRAND, NOW, NOW, 1.0};
	struct bw_priority_parts p;

	CHECK_INT(bw_priority(&in, &p), BW_PRIORITY_MAX);
	CHECK_INT(p.severity, 250);
	CHECK_INT(p.confidence, 200);
	CHECK_INT(p.relevance, 350);
	CHECK_INT(p.recency, 100);
	CHECK_INT(p.model, 100);

	memset(&in, 0, sizeof(in));
	in.confidence = 0;
	in.now = NOW;
	CHECK_INT(bw_priority(&in, &p), 0);

	/* unknowns: confidence 50, score 0.5, no recency */
	in.confidence = -1;
	in.model_score = -1;
	CHECK_INT(bw_priority(&in, &p), 100 + 50);
	CHECK_INT(p.confidence, 100);
	CHECK_INT(p.model, 50);
	CHECK_INT(p.recency, 0);

	/* half-life of 7 days, the future counts as now */
	in.last_seen = NOW - 7 * DAY;
	bw_priority(&in, &p);
	CHECK_INT(p.recency, 50);
	in.last_seen = NOW - 14 * DAY;
	bw_priority(&in, &p);
	CHECK_INT(p.recency, 25);
	in.last_seen = NOW + DAY;
	bw_priority(&in, &p);
	CHECK_INT(p.recency, 100);

	/* each severity step is 62 or 63 points (integer division); out of range clamps */
	in.severity = BW_SEV_MEDIUM;
	bw_priority(&in, &p);
	CHECK_INT(p.severity, 125);
	in.severity = 9;
	bw_priority(&in, &p);
	CHECK_INT(p.severity, 250);
	in.relevance = BW_REL_SIGHTED;
	bw_priority(&in, &p);
	CHECK_INT(p.relevance, 150);
	in.relevance = BW_REL_BRAND;
	bw_priority(&in, &p);
	CHECK_INT(p.relevance, 100);

	CHECK_INT(bw_priority_severity(1, 1, 1), BW_SEV_CRITICAL);
	CHECK_INT(bw_priority_severity(0, 1, 1), BW_SEV_HIGH);
	CHECK_INT(bw_priority_severity(0, 0, 1), BW_SEV_MEDIUM);
	CHECK_INT(bw_priority_severity(1, 1, 0), BW_SEV_LOW);
	CHECK_STR(bw_severity_name(BW_SEV_CRITICAL), "critical");
}

/* The worked example of the documentation: six notifications for one
 * tenant, in the order the formula must give. */
static void
test_order(void)
{
	static const struct {
		const char *name;
		struct bw_priority_in in;
		int want;
	} items[] = {
		/* a C2 of a known actor, sighted in the tenant's own networks
		 * an hour ago: 250 + 180 + 150 + 100 + 90 */
		{"actor-c2-sighted", {BW_SEV_CRITICAL, 90, BW_REL_SIGHTED, NOW - 3600, NOW, 0.9}, 770},
		/* phishing imitating a government brand, in scope, fresh:
		 * 187 + 170 + 200 + 100 + 80 */
		{"brand-phish", {BW_SEV_HIGH, 85, BW_REL_SCOPE | BW_REL_BRAND, NOW, NOW, 0.8}, 737},
		/* malware host in the ccTLD, a week old, unknown score:
		 * 187 + 160 + 100 + 50 + 50 */
		{"cctld-malware", {BW_SEV_HIGH, 80, BW_REL_SCOPE, NOW - 7 * DAY, NOW, -1}, 547},
		/* the same malware host sighted elsewhere but not national:
		 * 187 + 160 + 0 + 100 + 50 */
		{"foreign-malware", {BW_SEV_HIGH, 80, 0, NOW, NOW, -1}, 497},
		/* a low-confidence national domain, old: 125 + 60 + 100 + 5 + 20 */
		{"weak-national", {BW_SEV_MEDIUM, 30, BW_REL_SCOPE, NOW - 30 * DAY, NOW, 0.2}, 310},
		/* revoked, unknown everything: 62 + 100 + 0 + 0 + 50 */
		{"revoked", {BW_SEV_LOW, -1, 0, 0, NOW, -1}, 212},
	};
	size_t n = sizeof(items) / sizeof(items[0]);
	int prev = BW_PRIORITY_MAX + 1;

	for (size_t i = 0; i < n; i++) {
		int p = bw_priority(&items[i].in, NULL);
		CHECK_INT(p, items[i].want);
		/* strictly decreasing: the documented order */
		if (!CHECK(p < prev))
			printf("# %s is out of order\n", items[i].name);
		prev = p;
	}
	/* sighted from its networks outranks in scope, all else equal */
	{
		struct bw_priority_in a = {BW_SEV_MEDIUM, 80, BW_REL_SIGHTED, NOW, NOW, 0.5};
		struct bw_priority_in b = a;
		b.relevance = BW_REL_SCOPE;
		CHECK(bw_priority(&a, NULL) > bw_priority(&b, NULL));
		/* the model alone moves an item by at most 100 points */
		b = a;
		a.model_score = 0.0;
		b.model_score = 1.0;
		CHECK_INT(bw_priority(&b, NULL) - bw_priority(&a, NULL), 100);
	}
}

int
main(void)
{
	TAP_RUN(test_parts);
	TAP_RUN(test_order);
	return tap_done();
}
