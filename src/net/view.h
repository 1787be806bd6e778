/*
 * view.h - what each tenant may see of one index snapshot, in memory, so
 * that the check endpoints (/v1/check, /v1/gate) answer without reading
 * the store.
 *
 * The index (src/index) merges all active records of an indicator,
 * whatever their TLP.  A view, built from the same read of the store as
 * its snapshot and attached to it (bw_index_attach, so that the holder
 * swaps and reclaims both at once), adds per indicator number:
 *
 *   visibility  An indicator whose active records are all CLEAR, GREEN or
 *               AMBER is "public": every tenant sees all of it, so the
 *               index's merged tags and confidence are the answer.  An
 *               indicator with an active AMBER+STRICT or RED record is
 *               "restricted" (one bit per indicator): the view keeps its
 *               active records (TLP, confidence, tags, recipients as a
 *               bit set over country slots) and a caller sees the records
 *               bw_tenant_may_see lets it see, exact levels compared, never
 *               a rank.  Tags and confidence are then those of the visible
 *               records only; none visible means not listed.
 *   national    One bit set per tenant: the indicator is in the tenant's
 *               scope (bw_tenant_scope_match, with the geo data if any) or
 *               was sighted from it (a sighting row whose observer is an
 *               IP address in the scope; an observer that is not an
 *               address never counts).
 *
 * Country slots: the tenants' countries and every country named as a
 * recipient of an active restricted record, sorted; a country without a
 * slot (a tenant added after the build) sees the public records only and
 * nothing is national for it, until the next build.
 *
 * Costs: a public indicator costs one bit test per look-up; a restricted
 * one a binary search over the restricted indicators and a pass over its
 * records.  Memory: one bit per indicator, plus one per indicator and
 * tenant, plus the restricted records.  Building runs scope matching for
 * every indicator and tenant: linear in both.
 *
 * A view is immutable once built: any number of threads may read it.
 */
#ifndef BW_NET_VIEW_H
#define BW_NET_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "index/index.h"
#include "store/store.h"

struct bw_view;
struct bw_geo;

/* Most country slots (every two-letter code) and distinct tag strings. */
#define BW_VIEW_SLOTS_MAX (26 * 26)
#define BW_VIEW_TAGS_MAX (1u << 22)

/* Builds the view of ix, which was built from st at time now; the caller
 * holds a read transaction on st across both builds so that they see the
 * same state (an indicator of the store missing from ix is left out).  geo
 * may be NULL.  *out is freed with bw_view_free, or handed to ix with
 * bw_index_attach(ix, view, bw_view_free_any). */
int bw_view_build(struct bw_store *st, const struct bw_index *ix, int64_t now,
		  const struct bw_geo *geo, struct bw_view **out,
		  struct bw_err *err);
void bw_view_free(struct bw_view *v);
/* The same with the signature bw_index_attach wants. */
void bw_view_free_any(void *v);

/* The slot of country (two upper-case letters), or -1 if it has none. */
int bw_view_slot(const struct bw_view *v, const char *country);

/* What a tenant sees of one matched indicator. */
struct bw_view_seen {
	int confidence;             /* 0..100, -1 if no visible record says */
	int national;               /* for this tenant */
	const struct bw_tag *tags;  /* the visible records' tags, no two
				       equal, in no particular order */
	size_t ntags;
	struct bw_tag buf[BW_INDEX_TAGS_MAX]; /* tags points here or into ix */
};

/* Whether the tenant of slot (-1: a country without a slot) may see the
 * indicator m (a match in the view's snapshot): 1 with *out filled, or 0
 * (not listed for it).  Never allocates; thread-safe. */
int bw_view_see(const struct bw_view *v, int slot, const struct bw_index_match *m,
		struct bw_view_seen *out);

struct bw_view_stats {
	size_t slots, tenants;
	size_t restricted;        /* indicators with an AMBER+STRICT/RED record */
	size_t records;           /* their active records */
	size_t national;          /* (indicator, tenant) pairs that are national */
	size_t observers;         /* distinct sighting observers looked at */
	size_t bytes;
};

void bw_view_stats(const struct bw_view *v, struct bw_view_stats *out);

/* A digest of what a view reads besides the records, their tags,
 * recipients and indicators (which the index's source covers: schema 8's
 * index_gen and the newest record id, see bw_index_fresh): the tenants,
 * their scopes and the number of sighting rows (rows are only ever added,
 * so a new (indicator, observer) pair always adds one).  Equal digests
 * and index sources mean an equal view; the caller reads it in the
 * transaction it builds from, or before reading what it compares it to. */
int bw_view_inputs(struct bw_store *st, uint64_t *out, struct bw_err *err);

#endif
