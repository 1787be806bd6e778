/*
 * guard.h - what must never be disrupted automatically.
 *
 * Three sources, loaded together into one read-only struct bw_guard:
 *   - the shipped lists, files DIR/NAME.txt (data/guard/ in the tree): one
 *     domain, address or prefix per line, '#' starts a comment; the list
 *     is named after the file (popular-domains, cdn-cloud-ranges,
 *     public-resolvers); see data/SOURCES.md for their origin;
 *   - the tenants' protected brands (tenant_scope entries of kind brand),
 *     as list "brand:CC";
 *   - the operator's own lists (table guard_entry), added and removed with
 *     `bulwark disrupt guard add|remove` (audited).  These are also the
 *     exceptions of the RPZ zone (CNAME rpz-passthru.): a change that puts
 *     a value on its first list or takes it off its last writes the zone's
 *     journal row in the same transaction (src/net/rpz.h).
 *
 * A domain is guarded when it, one of its parents (so: its registrable
 * domain) or one of its subdomains is on a list: blocking it would block
 * the listed name too.  An address or prefix is guarded when it overlaps a
 * listed address or prefix.  A guarded target is never actioned by the
 * policy: it goes to review with the reason (list and entry).
 *
 * Loading reads every list once (tens of thousands of entries, a few MiB);
 * a check is a few hash look-ups for a domain and a binary search for an
 * address.  After loading, any number of threads may check at once.
 */
#ifndef BW_DISRUPT_GUARD_H
#define BW_DISRUPT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "store/store.h"

#define BW_GUARD_ENTRIES_MAX 2000000
#define BW_GUARD_FILE_MAX (64 * 1024 * 1024)
#define BW_GUARD_LIST_NAME_MAX 64
#define BW_GUARD_REASON_MAX 512

struct bw_guard;

struct bw_guard_hit {
	char list[BW_GUARD_LIST_NAME_MAX + 8];
	char entry[256];
	char why[64];     /* "listed", "parent listed", "covers a listed name", "overlaps" */
};

/* Loads the shipped lists in dir (NULL or "" to skip them; BW_EIO if dir
 * cannot be read), the brands of every tenant and the operator lists. */
int bw_guard_load(struct bw_store *st, const char *dir, struct bw_guard **out,
		  struct bw_err *err);
void bw_guard_free(struct bw_guard *g);

/* Entries loaded (domains + ranges). */
size_t bw_guard_count(const struct bw_guard *g);

/* 1 (and *hit filled, if not NULL) when (type, canonical value) is
 * guarded; 0 otherwise.  Types other than domain, ipv4, ipv6 and cidr are
 * never guarded. */
int bw_guard_check(const struct bw_guard *g, enum bw_ioc_type type,
		   const char *value, struct bw_guard_hit *hit);

/* Operator lists (own transaction, audited as guard.add / guard.remove).
 * list: 1..BW_GUARD_LIST_NAME_MAX of [a-z0-9_-]; value: a domain, address
 * or prefix in any form bw_ioc_parse reads. */
int bw_guard_add(struct bw_store *st, const char *list, const char *value,
		 const char *reason, const char *op, int64_t now,
		 struct bw_err *err);
int bw_guard_remove(struct bw_store *st, const char *list, const char *value,
		    const char *op, int64_t now, struct bw_err *err);

struct bw_guard_entry {
	char list[BW_GUARD_LIST_NAME_MAX + 1];
	enum bw_ioc_type type;
	char value[254];
	char reason[BW_GUARD_REASON_MAX + 1];
	int64_t added;
};

/* The operator entries, by type and value, into an array freed with
 * bw_free(). */
int bw_guard_entries(struct bw_store *st, struct bw_guard_entry **out,
		     size_t *n, struct bw_err *err);

#endif
