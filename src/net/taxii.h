/*
 * taxii.h - the TAXII 2.1 (OASIS) read side of the daemon: discovery, one
 * API root, the collections of the calling tenant and their objects.
 *
 * Everything lives under /taxii2/: the discovery resource is /taxii2/ and
 * the one API root is /taxii2/bulwark/.  Every resource needs an API key,
 * as "Authorization: Bearer KEY" or as HTTP Basic with the key as the
 * password (the user name is ignored), for TAXII clients that only speak
 * Basic.  Responses are application/taxii+json;version=2.1; an Accept
 * header naming neither that (nor application/taxii+json, application/ *,
 * * / *) nor, for objects, application/stix+json;version=2.1 gets 406.
 * Errors are TAXII error objects {"title", "description", "http_status"}.
 *
 * Collections (the same ids for every tenant, the content is the caller's):
 *   all        every indicator the tenant may see under TLP 2.0
 *   addressed  the indicators with an AMBER+STRICT or RED record that
 *              names the tenant among its recipients (only those records
 *              count there)
 * ("national" is not served yet.)  Each is read-only.
 *
 * Objects: one STIX 2.1 indicator per store indicator with at least one
 * active record the tenant may see in that collection (bw_tenant_may_see,
 * exact levels), built from the visible records only; its
 * object_marking_refs is the most restrictive TLP 2.0 level among them
 * (RED > AMBER+STRICT > AMBER > GREEN > CLEAR), so the object never claims
 * a wider audience than any part of it.  The five TLP 2.0 marking
 * definitions come first in every collection (date_added 2022-10-01).
 *
 * Order and pagination: an indicator's position is the row id of its
 * oldest visible record (record ids only grow and records are never
 * deleted), its date_added that record's `added`.  The `next` token
 * encodes the position of the last object of the page, so a walk returns
 * every object exactly once, whatever timestamps objects share and while
 * new objects are added (they come after).  An indicator whose oldest
 * visible record stops being visible (revoked, expired) moves to its next
 * record's position and may be seen again; one whose older record becomes
 * visible (a changed TLP or recipient) moves back and is seen by the next
 * poll only with added_after of before that record.
 *
 * All functions are thread-safe given a store connection per thread.
 */
#ifndef BW_NET_TAXII_H
#define BW_NET_TAXII_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "net/http.h"
#include "store/store.h"

#define BW_TAXII_PREFIX "/taxii2/"
#define BW_TAXII_ROOT "/taxii2/bulwark/"
#define BW_TAXII_MEDIA "application/taxii+json;version=2.1"
#define BW_STIX_MEDIA "application/stix+json;version=2.1"

/* Objects per page: the default and the most a client may ask for. */
#define BW_TAXII_LIMIT_MAX 1000
/* Advertised in the API root; no resource takes a body yet. */
#define BW_TAXII_MAX_CONTENT_LENGTH (10 * 1024 * 1024)
/* Longest match[...] or next value looked at. */
#define BW_TAXII_PARAM_MAX 4096
/* "indicator--" + 36 + NUL, with room */
#define BW_TAXII_ID_MAX 64

/* Collections per tenant; their ids are UUIDv5 of "taxii-collection" and
 * the name ("all", "addressed") in bulwark's namespace. */
#define BW_TAXII_COLLECTIONS 2

/* 1 if path belongs to TAXII (the caller routes it to bw_taxii_handle). */
int bw_taxii_path(const char *path);

/* Answers one TAXII request: authenticates the key on st (a connection the
 * calling thread owns for the call), fills resp (the body is allocated by
 * jansson and released through resp->release), and puts the tenant's
 * country into tenant (3 bytes, "-" if none) and the key id into *key_id
 * for the caller's log. */
void bw_taxii_handle(struct bw_store *st, const struct bw_http_request *req,
		     struct bw_http_response *resp, char tenant[3],
		     long long *key_id);

/* The STIX id of the indicator (type, canonical value) into out
 * (BW_TAXII_ID_MAX bytes); returns out. */
char *bw_taxii_indicator_id(enum bw_ioc_type type, const char *value, char *out);

/* The id of collection number i (0: all, 1: addressed) into out
 * (BW_TAXII_ID_MAX bytes); NULL if i is out of range. */
char *bw_taxii_collection_id(unsigned i, char *out);

/* A request for objects, without HTTP (for the handler and tests). */
struct bw_taxii_query {
	const char *collection;  /* collection id */
	int64_t added_after;     /* only objects added after; INT64_MIN: all */
	const char *next;        /* a token from an earlier page, or NULL */
	size_t limit;            /* 1..BW_TAXII_LIMIT_MAX; 0: the maximum */
	const char *match_type;  /* comma-separated lists, or NULL */
	const char *match_id;
	const char *match_spec_version;
};

/*
 * One page of the objects of a collection as country (a tenant's code)
 * sees them at time now: *envelope gets a new TAXII envelope ({"more",
 * "next" when more, "objects" unless empty}), *first and *last the
 * date_added of its first and last object (0 when empty).  BW_ENOTFOUND
 * for an unknown collection, BW_EINVAL for a bad token or filter (err says
 * which), BW_ESTORE on a store error.
 */
int bw_taxii_objects(struct bw_store *st, const char *country,
		     const struct bw_taxii_query *q, int64_t now,
		     json_t **envelope, int64_t *first, int64_t *last,
		     struct bw_err *err);

#endif
