/*
 * report.h - the figures of a tenant's periodic (weekly) report, computed
 * from the store.
 *
 * What the report counts, for the tenant of one country and the period
 * [from, to):
 *
 *   visible     an indicator with at least one record the tenant may see
 *               (not revoked; TLP CLEAR, GREEN or AMBER, or AMBER+STRICT
 *               and RED naming the country as a recipient), exactly as the
 *               TAXII collections decide;
 *   national    visible, and in the tenant's scope (bw_tenant_scope_match)
 *               or sighted from it (a sighting, at any time before `to`,
 *               whose observer address is in the scope);
 *   known       national and first added (the earliest visible record)
 *               before `to`: the threats in scope at the end of the period,
 *               broken down by type, malware family, actor and campaign
 *               (tags of kind "malware", "actor", and "campaign" or
 *               "report" - a STIX report's name - on the visible records;
 *               campaigns correlated by `bulwark campaigns` are not used,
 *               since they link through records the tenant may not see);
 *   new         known and first added in [from, to);
 *   sightings   the counts of sighting rows whose hour is in [from, to),
 *               whose observer is in the scope and whose indicator is
 *               visible, summed per day (UTC) for the chart;
 *   lookalikes  national indicators that imitate one of the tenant's
 *               protected brands (scope reason "brand" for a host that is
 *               not the brand's own domain), or tagged kind "lookalike"
 *               with a name starting "CC:" by the lookalike detector, with
 *               the actors and families tagged on them;
 *   actions     disruption actions whose target is national and that were
 *               active at some time in the period or changed state in it;
 *   previous    the same "new" and "sightings" figures for the period of
 *               equal length just before, for "what changed".
 *
 * The report is plain data (struct bw_report below) so that the renderers
 * (report_render.h) and the tests read the same figures.
 */
#ifndef BW_SHARE_REPORT_H
#define BW_SHARE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "intel/geo.h"
#include "store/store.h"

/* Longest period a report covers (days), and how many rows a list keeps. */
#define BW_REPORT_MAX_DAYS 366
#define BW_REPORT_TOP 20

struct bw_report_count {
	char *name; /* owned */
	long count;
};

struct bw_report_item {
	enum bw_ioc_type type;
	char *value;      /* owned, canonical */
	int confidence;   /* highest among visible records, -1 if none */
	int64_t added;    /* earliest visible record */
	int64_t last_seen;
	char *why;        /* owned: "cctld:ee", "brand:err.ee", "sighted" ... */
	char *tags;       /* owned: "actor:X, malware:Y", may be "" */
};

struct bw_report_action {
	int64_t id;
	enum bw_ioc_type type;
	char *target; /* owned */
	char kind[16];
	char state[16];
	int64_t created, expires;
};

struct bw_report {
	char country[3];
	char *tenant_name; /* owned */
	int64_t from, to, generated;

	long known, new_indicators, prev_new_indicators;
	long by_type[BW_IOC_NTYPES]; /* of known */
	long sightings, prev_sightings, sighted_indicators, observers;
	size_t ndays;
	long *daily_sightings; /* ndays entries, day i starts at from + i*86400 */

	struct bw_report_count *families, *actors, *campaigns; /* by count, then name */
	size_t nfamilies, nactors, ncampaigns;
	struct bw_report_item *top_new; /* up to BW_REPORT_TOP, by confidence */
	size_t ntop_new;
	long lookalikes_total;
	struct bw_report_item *lookalikes; /* the first 500, by indicator id */
	size_t nlookalikes;
	struct bw_report_count *lookalike_actors; /* "kind:name" tags on them */
	size_t nlookalike_actors;
	struct bw_report_action *actions;
	size_t nactions;
};

/*
 * Computes the report of the tenant of country for [from, to) (whole days
 * are not required; the daily series starts at from).  geo may be NULL (the
 * country and ASN parts of the scope are then skipped, as in
 * bw_tenant_scope_match).  BW_ENOTFOUND without such a tenant, BW_EINVAL
 * for an empty or longer than BW_REPORT_MAX_DAYS period.  Reads in one
 * read transaction, so the figures are consistent with each other.
 */
int bw_report_build(struct bw_store *st, const char *country, int64_t from,
		    int64_t to, int64_t now, const struct bw_geo *geo,
		    struct bw_report **out, struct bw_err *err);
void bw_report_free(struct bw_report *r);

#endif
