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
 *   national   the indicators of "all" (the same TLP rule) that are
 *              national to the tenant: in its scope (share/tenant_scope.h:
 *              ccTLD, extra CIDRs, ASNs and domains, brands, minus
 *              exclusions; addresses located in its country or announced
 *              by one of its ASNs through the geo data of the
 *              configuration), or sighted from it: a row of the sighting
 *              table whose observer is an IP address that lies in the
 *              scope (an observer that is not an address never counts)
 *   actions    the active disruption actions (table action, state
 *              'active' and not past expires), the same for every tenant:
 *              they are enforced in public DNS (RPZ) anyway, so they are
 *              marked TLP:CLEAR.  Each action is three STIX objects: an
 *              indicator of its target (its own id, derived from the
 *              action's, not the id of the target in "all"), a
 *              course-of-action saying what is done (x_bulwark_action_kind
 *              "block" or "sinkhole", x_bulwark_sinkhole, the legal basis
 *              as x_bulwark_authority, x_bulwark_reference,
 *              x_bulwark_jurisdiction, and x_bulwark_expires), and a
 *              relationship "mitigates" from the course-of-action to the
 *              indicator.  Operator names and reasons are not shared.
 *   inbound    write-only: a STIX bundle POSTed to its objects/ is
 *              ingested as the caller's own (below)
 * All but inbound are read-only.
 *
 * Under each collection: objects/ (an envelope), manifest/ (the same page
 * as manifest records), objects/{id}/ (the object as an envelope, 404 if
 * the caller cannot see it) and objects/{id}/versions/.  One version of
 * each object is served (its "modified"), so match[version] accepts only
 * first, last and all.  A query argument an endpoint does not take is
 * refused with 400 (a filter the server would ignore could widen what a
 * client believes it asked for).
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
 * national is the walk of "all" with the indicators that are not national
 * left out; so that a page of a sparse national collection does not cost
 * the whole store, a page looks at most BW_TAXII_SCAN_MAX rows and may
 * then end early, even empty, with "more" and a next token (the TAXII
 * client follows it as any other).  actions are ordered by the id of the
 * action_event that made each action active (its date_added is that
 * event's time; an action without such an event comes first, dated by
 * its "updated"), so an action activated again comes again.
 *
 * Inbound: every tenant may POST to its inbound collection.  The tenants
 * are the vetted national teams of the programme, and sharing both ways is
 * its point; what a tenant posts is recorded under its own source name
 * ("tenant:CC", whatever the bundle's identities say), so it is
 * attributable and can be revoked with the source.  The key, the path,
 * Accept and Content-Type of a post are checked before its body is read
 * (bw_taxii_post_gate); a body over max_content_length gets 413 before it
 * is read (net/http.c); a body that
 * is not a STIX 2.1 bundle, or is broken anywhere, gets 422 with nothing
 * kept (the ingest driver's one transaction); otherwise 202 with a status
 * resource, which the poster (and only it) may read again at
 * status/{id}/.  Records carry the TLP of their markings (AMBER when
 * unmarked, as `bulwark ingest` without --tlp) and their recipients from
 * x_bulwark_recipients (a list of country codes, --share-with's field).
 * The counts of a status are per record (one per indicator value), not per
 * STIX object: success_count the records stored, failure_count the
 * indicators rejected or not supported; other objects are context and not
 * counted.  Ingestion is synchronous, so pending_count is always 0.
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
/* Advertised in the API root: the largest body a POST may have (the
 * server refuses a larger one with 413 before reading it); the default,
 * and the range of taxii_max_content_length in bulwark.conf(5). */
#define BW_TAXII_MAX_CONTENT_LENGTH (10 * 1024 * 1024)
#define BW_TAXII_CONTENT_LENGTH_MIN 1024
#define BW_TAXII_CONTENT_LENGTH_MAX (256 * 1024 * 1024)
/* Rows a page of the national collection looks at before it ends early. */
#define BW_TAXII_SCAN_MAX 20000
/* Longest match[...] or next value looked at. */
#define BW_TAXII_PARAM_MAX 4096
/* "indicator--" + 36 + NUL, with room */
#define BW_TAXII_ID_MAX 64

/* Readable collections per tenant, numbered 0 all, 1 addressed, 2
 * national, 3 actions; their ids are UUIDv5 of "taxii-collection" and the
 * name ("all", "addressed", "national", "actions", "inbound") in
 * bulwark's namespace. */
#define BW_TAXII_COLLECTIONS 4
#define BW_TAXII_ALL 0
#define BW_TAXII_ADDRESSED 1
#define BW_TAXII_NATIONAL 2
#define BW_TAXII_ACTIONS 3
/* Where a TAXII post is logged: ingest_log.file is this and the status id. */
#define BW_TAXII_STATUS_FILE "taxii-status/"

/* 1 if path belongs to TAXII (the caller routes it to bw_taxii_handle). */
int bw_taxii_path(const char *path);

struct bw_psl;
struct bw_geo;

/* What the daemon's configuration says to TAXII (kept by the caller for
 * as long as requests run; read-only, shared by all threads). */
struct bw_taxii_config {
	/* the largest POST body, advertised in the API root; 0: the default
	 * BW_TAXII_MAX_CONTENT_LENGTH */
	size_t max_content_length;
	/* country and ASN data for the national collection; NULL (or a geo
	 * with neither database): scope entries and sightings only */
	const struct bw_geo *geo;
};

/* Answers one TAXII request: authenticates the key on st (a connection the
 * calling thread owns for the call; a post writes through it, with psl
 * for registrable domains), fills resp (the body is allocated by
 * jansson and released through resp->release), and puts the tenant's
 * country into tenant (3 bytes, "-" if none) and the key id into *key_id
 * for the caller's log.  cfg may be NULL (the defaults). */
void bw_taxii_handle(struct bw_store *st, const struct bw_psl *psl,
		     const struct bw_taxii_config *cfg,
		     const struct bw_http_request *req,
		     struct bw_http_response *resp, char tenant[3],
		     long long *key_id);

/* The bw_http_refusal of the daemon (ctx unused): the answers the HTTP
 * server gives by itself to a POST under /taxii2/ (411, 503, anything
 * else as its status) as TAXII error objects of the TAXII media type; a
 * 503 says Retry-After. */
void bw_taxii_refusal(void *ctx, int status, struct bw_http_response *resp);

/* A TAXII error object of status with title and description (NULL: none)
 * into resp, as application/taxii+json (for other modules answering
 * under /taxii2/). */
void bw_taxii_error(struct bw_http_response *resp, int status,
		    const char *title, const char *description);

/* The STIX id of the indicator (type, canonical value) into out
 * (BW_TAXII_ID_MAX bytes); returns out. */
char *bw_taxii_indicator_id(enum bw_ioc_type type, const char *value, char *out);

/* The id of collection number i (BW_TAXII_ALL ... BW_TAXII_ACTIONS) into
 * out (BW_TAXII_ID_MAX bytes); NULL if i is out of range. */
char *bw_taxii_collection_id(unsigned i, char *out);

/* What a page lists: the objects themselves, their manifest records
 * ({"id", "date_added", "version", "media_type"}) or only their versions
 * (the "modified" of each, under "versions" instead of "objects"). */
enum bw_taxii_kind { BW_TAXII_OBJECTS, BW_TAXII_MANIFEST, BW_TAXII_VERSIONS };

/* Checks a POST before its body is read (net/http.h's body_gate): the
 * key, the path, Accept, arguments, Content-Type and a Content-Length
 * (411 without one, e.g. a chunked body).  0 if the body may be read;
 * else resp is filled (401, 405, 406, 400, 415, 411) and 1 returned. */
int bw_taxii_post_gate(struct bw_store *st, const struct bw_http_request *req,
		       struct bw_http_response *resp);

/* The id of the inbound collection into out (BW_TAXII_ID_MAX bytes). */
char *bw_taxii_inbound_id(char *out);

/*
 * Ingests the STIX bundle body (len bytes, at most max, 0 meaning
 * BW_TAXII_MAX_CONTENT_LENGTH) posted by tenant country at time now, as
 * one transaction under source "tenant:CC".  BW_OK: *status gets the new
 * status resource.  BW_EFORMAT: not a STIX bundle or broken (err says
 * why), nothing kept.  BW_ELIMIT: too large.  BW_ESTORE, BW_ENOMEM: the
 * store or memory failed, nothing kept.
 */
int bw_taxii_post(struct bw_store *st, const struct bw_psl *psl,
		  const char *country, const char *body, size_t len, size_t max,
		  int64_t now, json_t **status, struct bw_err *err);

/* The status resource id as tenant country posted it: *status gets it;
 * BW_ENOTFOUND for an unknown id or another tenant's. */
int bw_taxii_status(struct bw_store *st, const char *country, const char *id,
		    json_t **status, struct bw_err *err);

/* A request for objects, without HTTP (for the handler and tests). */
struct bw_taxii_query {
	const char *collection;  /* collection id */
	int64_t added_after;     /* only objects added after; INT64_MIN: all */
	const char *next;        /* a token from an earlier page, or NULL */
	size_t limit;            /* 1..BW_TAXII_LIMIT_MAX; 0: the maximum */
	const char *match_type;  /* comma-separated lists, or NULL */
	const char *match_id;
	const char *match_spec_version;
	enum bw_taxii_kind kind; /* 0: the objects */
	const struct bw_geo *geo; /* for national; NULL: no geo data */
};

/*
 * One page of the objects of a collection as country (a tenant's code)
 * sees them at time now: *envelope gets a new TAXII envelope ({"more",
 * "next" when more, "objects" unless empty}; for BW_TAXII_MANIFEST the
 * objects are manifest records, for BW_TAXII_VERSIONS a "versions" list
 * of timestamps takes their place), *first and *last the
 * date_added of its first and last object (0 when empty).  For national,
 * q->geo gives the country and ASN data (NULL: none).  BW_ENOTFOUND for an
 * unknown collection (and for national when country has no tenant),
 * BW_EINVAL for a bad token or filter (err says which), BW_ESTORE on a
 * store error.
 */
int bw_taxii_objects(struct bw_store *st, const char *country,
		     const struct bw_taxii_query *q, int64_t now,
		     json_t **envelope, int64_t *first, int64_t *last,
		     struct bw_err *err);

#endif
