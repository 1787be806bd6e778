/*
 * campaign.h - campaigns: indicators linked by shared infrastructure or
 * context, computed from the store.
 *
 * Two indicators are linked when the store says they share
 *
 *   context         a tag of kind event (the MISP event a record came in),
 *                   report (the STIX report that lists it), campaign, actor
 *                   or malware; plain labels ("phishing") never link
 *   a resolution    a domain|ip pair of the store's resolution table (a
 *                   MISP domain|ip attribute), not revoked, whose domain
 *                   and address both have a live record of the pair's
 *                   source; or the same external id of one source: the
 *                   values of one STIX indicator's pattern
 *   a host          a URL or e-mail address whose host is a domain
 *                   indicator of the store
 *   a network       two addresses in the same IPv4 /24 or IPv6 /64, or
 *                   (with a geo ASN table) the same autonomous system,
 *                   whose seen intervals come within the time window of each
 *                   other; an ASN with more than BW_CAMPAIGN_ASN_MAX
 *                   addresses in the store is a hosting provider and links
 *                   nothing
 *
 * Linked indicators form a campaign (union-find over the store's indicators,
 * path halving and union by size); a campaign has at least two indicators.
 * Its id is the UUIDv5 (bulwark's namespace) of "campaign", the smallest
 * member's type and canonical value: the same store gives the same ids, and
 * an id changes only when a smaller indicator joins.  Nothing is stored:
 * campaigns are recomputed from the records each time (one pass over the
 * live records, then near-linear union-find).
 */
#ifndef BW_INTEL_CAMPAIGN_H
#define BW_INTEL_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/ioc.h"
#include "core/uuid.h"
#include "intel/geo.h"
#include "store/store.h"

/* Most indicators one computation reads (a larger store is refused). */
#define BW_CAMPAIGN_INDICATORS_MAX 20000000L
#define BW_CAMPAIGN_ASN_MAX 64
/* The default window of network links: 7 days. */
#define BW_CAMPAIGN_WINDOW_DEFAULT (7 * 86400)

/* Why members were linked (bits of bw_campaign.reasons). */
enum bw_campaign_reason {
	BW_LINK_EVENT = 1 << 0,    /* event or report tag */
	BW_LINK_TAG = 1 << 1,      /* campaign, actor or malware tag */
	BW_LINK_RESOLUTION = 1 << 2,
	BW_LINK_HOST = 1 << 3,
	BW_LINK_PREFIX = 1 << 4,
	BW_LINK_ASN = 1 << 5,
};

struct bw_campaign_opts {
	int64_t window;          /* seconds; 0: BW_CAMPAIGN_WINDOW_DEFAULT */
	const struct bw_geo *geo; /* for ASN links; NULL: none */
	size_t min_size;         /* smallest campaign reported; 0: 2 */
};

struct bw_campaign_member {
	int64_t indicator_id;
	enum bw_ioc_type type;
	const char *value;
	int64_t first_seen, last_seen;
	const char *const *sources; /* the sources of its live records */
	size_t nsources;
};

struct bw_campaign {
	char id[BW_UUID_TEXT_LEN + 1]; /* UUIDv5 text */
	const struct bw_campaign_member *const *members; /* by type, value */
	size_t nmembers;
	/* distinct tag names of the members' records, sorted */
	const char *const *actors, *const *malware, *const *named, *const *events;
	size_t nactors, nmalware, nnamed, nevents;
	int64_t first_seen, last_seen;
	unsigned reasons;
};

struct bw_campaigns;

/* Computes the campaigns of the store's live records.  *out is freed with
 * bw_campaigns_free() (NULL is a no-op); everything it points to lives as
 * long as it. */
int bw_campaigns_compute(struct bw_store *st, const struct bw_campaign_opts *opts,
			 struct bw_campaigns **out, struct bw_err *err);
void bw_campaigns_free(struct bw_campaigns *c);

/* The campaigns, largest first, then by id; i < count. */
size_t bw_campaigns_count(const struct bw_campaigns *c);
const struct bw_campaign *bw_campaigns_get(const struct bw_campaigns *c,
					   size_t i);
/* How many indicators were read. */
size_t bw_campaigns_indicators(const struct bw_campaigns *c);

/*
 * Writes the campaigns as a STIX 2.1 bundle to out: one campaign object per
 * campaign (name "bulwark campaign ID-PREFIX" unless a campaign tag names
 * it, first_seen, last_seen), an "indicates" relationship from each
 * member's indicator per source, "attributed-to" to its threat actors and
 * "uses" to its malware.  The indicator, threat-actor and malware ids are
 * the ones `bulwark export --format stix` gives the same records
 * (src/share/export_stix.c), so the two bundles join.  now stamps created
 * and modified of the objects without times.
 */
int bw_campaigns_write_stix(const struct bw_campaigns *c, FILE *out,
			    int64_t now, struct bw_err *err);

/* "event", "tag", "resolution", "host", "prefix", "asn" for one bit. */
const char *bw_campaign_reason_name(unsigned bit);

#endif
