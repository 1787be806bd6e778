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
 *   inbound    write-only: a STIX bundle POSTed to its objects/ is
 *              ingested as the caller's own (below)
 * ("national" is not served yet.)  all and addressed are read-only.
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
 * server refuses a larger one with 413 before reading it). */
#define BW_TAXII_MAX_CONTENT_LENGTH (10 * 1024 * 1024)
/* Longest match[...] or next value looked at. */
#define BW_TAXII_PARAM_MAX 4096
/* "indicator--" + 36 + NUL, with room */
#define BW_TAXII_ID_MAX 64

/* Readable collections per tenant; their ids are UUIDv5 of
 * "taxii-collection" and the name ("all", "addressed", "inbound") in
 * bulwark's namespace. */
#define BW_TAXII_COLLECTIONS 2
/* Where a TAXII post is logged: ingest_log.file is this and the status id. */
#define BW_TAXII_STATUS_FILE "taxii-status/"

/* 1 if path belongs to TAXII (the caller routes it to bw_taxii_handle). */
int bw_taxii_path(const char *path);

struct bw_psl;

/* Answers one TAXII request: authenticates the key on st (a connection the
 * calling thread owns for the call; a post writes through it, with psl
 * for registrable domains), fills resp (the body is allocated by
 * jansson and released through resp->release), and puts the tenant's
 * country into tenant (3 bytes, "-" if none) and the key id into *key_id
 * for the caller's log. */
void bw_taxii_handle(struct bw_store *st, const struct bw_psl *psl,
		     const struct bw_http_request *req,
		     struct bw_http_response *resp, char tenant[3],
		     long long *key_id);

/* The STIX id of the indicator (type, canonical value) into out
 * (BW_TAXII_ID_MAX bytes); returns out. */
char *bw_taxii_indicator_id(enum bw_ioc_type type, const char *value, char *out);

/* The id of collection number i (0: all, 1: addressed) into out
 * (BW_TAXII_ID_MAX bytes); NULL if i is out of range. */
char *bw_taxii_collection_id(unsigned i, char *out);

/* What a page lists: the objects themselves, their manifest records
 * ({"id", "date_added", "version", "media_type"}) or only their versions
 * (the "modified" of each, under "versions" instead of "objects"). */
enum bw_taxii_kind { BW_TAXII_OBJECTS, BW_TAXII_MANIFEST, BW_TAXII_VERSIONS };

/* Checks a POST before its body is read (net/http.h's body_gate): the
 * key, the path, Accept, arguments and Content-Type.  0 if the body may be
 * read; else resp is filled (401, 405, 406, 400, 415) and 1 returned. */
int bw_taxii_post_gate(struct bw_store *st, const struct bw_http_request *req,
		       struct bw_http_response *resp);

/* The id of the inbound collection into out (BW_TAXII_ID_MAX bytes). */
char *bw_taxii_inbound_id(char *out);

/*
 * Ingests the STIX bundle body (len bytes, at most
 * BW_TAXII_MAX_CONTENT_LENGTH) posted by tenant country at time now, as one
 * transaction under source "tenant:CC".  BW_OK: *status gets the new
 * status resource.  BW_EFORMAT: not a STIX bundle or broken (err says
 * why), nothing kept.  BW_ELIMIT: too large.  BW_ESTORE, BW_ENOMEM: the
 * store or memory failed, nothing kept.
 */
int bw_taxii_post(struct bw_store *st, const struct bw_psl *psl,
		  const char *country, const char *body, size_t len,
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
};

/*
 * One page of the objects of a collection as country (a tenant's code)
 * sees them at time now: *envelope gets a new TAXII envelope ({"more",
 * "next" when more, "objects" unless empty}; for BW_TAXII_MANIFEST the
 * objects are manifest records, for BW_TAXII_VERSIONS a "versions" list
 * of timestamps takes their place), *first and *last the
 * date_added of its first and last object (0 when empty).  BW_ENOTFOUND
 * for an unknown collection, BW_EINVAL for a bad token or filter (err says
 * which), BW_ESTORE on a store error.
 */
int bw_taxii_objects(struct bw_store *st, const char *country,
		     const struct bw_taxii_query *q, int64_t now,
		     json_t **envelope, int64_t *first, int64_t *last,
		     struct bw_err *err);

#endif
