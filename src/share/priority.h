/*
 * priority.h - how urgent a notification is for one tenant.
 *
 * The priority is an integer from 0 to 1000, the sum of five parts, so
 * that each part can be read back from a notification and an operator can
 * say why one item came before another:
 *
 *   severity     0..250   250 * severity / 4 (integer division: 0, 62,
 *                         125, 187, 250), severity 0 (info) .. 4
 *                         (critical); see bw_priority_severity
 *   confidence   0..200   2 * confidence; an unstated confidence (-1)
 *                         counts as 50
 *   relevance    0..350   national relevance to the tenant:
 *                         +150 sighted from the tenant's networks,
 *                         +100 in its scope (ccTLD, domain, prefix, ASN,
 *                              country),
 *                         +100 imitating one of its brands
 *   recency      0..100   100 * 2^(-age / 7 days), age = now - last_seen
 *                         (0 when last_seen is unknown; a time in the
 *                         future counts as now)
 *   model        0..100   100 * score, the model's score in [0, 1]; an
 *                         unknown score (negative) counts as 0.5
 *
 * Sighted from its networks weighs most among the relevance reasons: it
 * means the tenant's own machines already met the indicator.  Ties are
 * broken by the caller (the outbox delivers equal priorities oldest
 * first).  The order the weights give on fixed inputs is fixed by
 * tests/unit/test_priority.c; see there for a worked example.
 *
 * Pure functions, thread-safe.
 */
#ifndef BW_SHARE_PRIORITY_H
#define BW_SHARE_PRIORITY_H

#include <stdint.h>

#define BW_PRIORITY_MAX 1000

enum bw_severity {
	BW_SEV_INFO = 0,
	BW_SEV_LOW = 1,
	BW_SEV_MEDIUM = 2,
	BW_SEV_HIGH = 3,
	BW_SEV_CRITICAL = 4,
};

enum bw_relevance {
	BW_REL_SIGHTED = 1 << 0,  /* sighted from the tenant's networks */
	BW_REL_SCOPE = 1 << 1,    /* in the tenant's national scope */
	BW_REL_BRAND = 1 << 2,    /* imitates one of the tenant's brands */
};

struct bw_priority_in {
	int severity;        /* enum bw_severity; clamped to 0..4 */
	int confidence;      /* 0..100, -1 unknown */
	unsigned relevance;  /* enum bw_relevance flags */
	int64_t last_seen;   /* seconds UTC, 0 unknown */
	int64_t now;
	double model_score;  /* 0..1, negative: no score */
};

/* The parts, for explanations; their sum is the priority. */
struct bw_priority_parts {
	int severity, confidence, relevance, recency, model;
};

/* The priority (0..BW_PRIORITY_MAX); parts (may be NULL) gets the parts. */
int bw_priority(const struct bw_priority_in *in, struct bw_priority_parts *parts);

/* Severity from what the sources say of the indicator: critical with an
 * actor or campaign tag, high with a malware family, medium otherwise;
 * low when every record is revoked or expired (active == 0). */
int bw_priority_severity(int has_actor_or_campaign, int has_malware, int active);

/* The name of a severity ("info" .. "critical"). */
const char *bw_severity_name(int severity);

#endif
