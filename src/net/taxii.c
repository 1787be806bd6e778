/*
 * taxii.c - TAXII 2.1 discovery, API root, collections and objects over
 * the store, under the TLP 2.0 rights of the caller (design in taxii.h).
 *
 * Visibility in SQL: the record levels a tenant sees without being named
 * (CLEAR, GREEN, AMBER) and those it sees only as a named recipient
 * (AMBER+STRICT, RED) are not written here but derived from
 * bw_tenant_may_see when a query is built, so the TAXII view cannot drift
 * from the rule the check API applies; an active record is one neither
 * revoked nor expired whose valid_until has not passed.
 *
 * A page is one index-driven walk of record ids above the token's
 * position: a visible record whose indicator has no older visible record
 * stands for that indicator.  Filters (match[type], match[id],
 * match[spec_version]) are applied as rows come, so a page costs the rows
 * up to its end, not the whole collection.
 *
 * national is that walk with a filter in C per row (the tenant's scope,
 * loaded once per page, and the observers of the indicator's sightings,
 * read by the sighting table's primary key), bounded by a scan budget;
 * actions is its own walk over action, authz and action_event, ordered by
 * the activation event, with a token of three numbers (event, action,
 * object) since an action is three STIX objects.
 *
 * The module keeps no state: each request prepares its statements on the
 * caller's connection.
 */
#include "net/taxii.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/psl.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "intel/geo.h"
#include "share/export.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"

#define AUTH_MAX 512
#define ACCEPT_MAX 2048
#define HOST_MAX 255
#define SQL_MAX 2048
#define PATTERN_MAX (2 * BW_IOC_VALUE_MAX + 64)
#define LABELS_MAX 64
/* date_added of the TLP 2.0 marking definitions (their "created") */
#define MARKINGS_ADDED 1664582400 /* 2022-10-01T00:00:00Z */
#define TOKEN_PREFIX "bw1."
/* the token of the actions collection: activation event, action, object */
#define ACTION_TOKEN_PREFIX "bw1a."

enum coll {
	COLL_ALL = BW_TAXII_ALL,
	COLL_ADDRESSED = BW_TAXII_ADDRESSED,
	COLL_NATIONAL = BW_TAXII_NATIONAL,
	COLL_ACTIONS = BW_TAXII_ACTIONS,
};

static const char *const coll_names[BW_TAXII_COLLECTIONS] = {
	"all", "addressed", "national", "actions"};
static const char *const coll_titles[BW_TAXII_COLLECTIONS] = {
	"Everything you may see",
	"Shared with you by name",
	"National to you",
	"Active disruption actions",
};
static const char *const coll_descr[BW_TAXII_COLLECTIONS] = {
	"Every indicator with at least one active record your country may see"
	" under TLP 2.0, carrying the most restrictive marking among those records.",
	"The indicators with an AMBER+STRICT or RED record that names your country"
	" among its recipients; only those records count here.",
	"The indicators of the collection of everything you may see that are in"
	" your national scope (ccTLD, address ranges and ASNs of your country,"
	" the domains, prefixes and brands the operator added) or were sighted"
	" from an address in it.",
	"The disruption actions in force now: for each, an indicator of its"
	" target, a course-of-action saying what is done under which legal"
	" basis, and the relationship between them (TLP:CLEAR).",
};

char *
bw_taxii_indicator_id(enum bw_ioc_type type, const char *value, char *out)
{
	const char *parts[2] = {bw_ioc_type_name(type), value};

	memcpy(out, "indicator--", 11);
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 2, out + 11);
	return out;
}

char *
bw_taxii_inbound_id(char *out)
{
	const char *parts[2] = {"taxii-collection", "inbound"};

	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 2, out);
	return out;
}

char *
bw_taxii_collection_id(unsigned i, char *out)
{
	const char *parts[2];

	if (i >= BW_TAXII_COLLECTIONS)
		return NULL;
	parts[0] = "taxii-collection";
	parts[1] = coll_names[i];
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 2, out);
	return out;
}

int
bw_taxii_path(const char *path)
{
	return strncmp(path, BW_TAXII_PREFIX, strlen(BW_TAXII_PREFIX)) == 0 ||
	       strcmp(path, "/taxii2") == 0;
}

/* ---- visibility in SQL -------------------------------------------------- */

/* The SQL condition "record `a` is active and visible" for collection c,
 * with :now and :cc parameters; levels from bw_tenant_may_see. */
static int
visible_sql(enum coll c, const char *a, char *buf, size_t cap)
{
	char tlp[512];
	int n;

	if (bw_tenant_visible_sql(a, ":cc", c == COLL_ALL || c == COLL_NATIONAL, tlp, sizeof(tlp)))
		return BW_ELIMIT;
	n = snprintf(buf, cap,
		     "(%s.revoked = 0 AND %s.expired = 0"
		     " AND (%s.valid_until IS NULL OR %s.valid_until >= :now) AND %s)",
		     a, a, a, a, tlp);
	return n < 0 || (size_t)n >= cap ? BW_ELIMIT : BW_OK;
}

static int
prepare(struct bw_store *st, const char *sql, sqlite3_stmt **s, struct bw_err *err)
{
	if (sqlite3_prepare_v2(bw_store_db(st), sql, -1, s, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "preparing a TAXII query: %s",
				  sqlite3_errmsg(bw_store_db(st)));
	return BW_OK;
}

static void
bind_common(sqlite3_stmt *s, const char *cc, int64_t now)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(s, ":now")) > 0)
		sqlite3_bind_int64(s, i, now);
	if ((i = sqlite3_bind_parameter_index(s, ":cc")) > 0)
		sqlite3_bind_text(s, i, cc, -1, SQLITE_TRANSIENT);
}

/* ---- filters ------------------------------------------------------------ */

/* 1 if item occurs in the comma-separated list (NULL: everything). */
static int
in_list(const char *list, const char *item)
{
	size_t n = strlen(item);

	if (list == NULL)
		return 1;
	for (const char *p = list;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == n && memcmp(p, item, n) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static int
parse_token(const char *t, int64_t *pos, struct bw_err *err)
{
	char *end;
	long long v;

	if (strncmp(t, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return bw_err_set(err, BW_EINVAL, "next: not a token of this server");
	t += strlen(TOKEN_PREFIX);
	if (!((*t >= '0' && *t <= '9') || *t == '-'))
		return bw_err_set(err, BW_EINVAL, "next: not a token of this server");
	v = strtoll(t, &end, 10);
	if (*end != '\0' || v < -BW_TLP_NLEVELS || v == LLONG_MAX)
		return bw_err_set(err, BW_EINVAL, "next: not a token of this server");
	*pos = v;
	return BW_OK;
}

/* ---- one indicator as STIX ---------------------------------------------- */

static json_t *
ts(int64_t t)
{
	char buf[BW_TIME_TEXT_MAX];

	return json_string(bw_time_format_ms(t, buf));
}

static void
set(json_t *o, const char *k, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*ok = false;
}

/* The indicator ind (type, value) as the caller sees it: built from the
 * records recs yields (its visible ones in the collection; recs and
 * labels are bound to ind and reset here).  BW_EINVAL for an indicator
 * that cannot be written (unknown type, text that is not UTF-8). */
static int
indicator_json(sqlite3_stmt *recs, sqlite3_stmt *labels, int64_t ind,
	       enum bw_ioc_type type, const char *value, json_t **out,
	       struct bw_err *err)
{
	char id[BW_TAXII_ID_MAX], pat[PATTERN_MAX];
	int64_t created = INT64_MAX, modified = 0, vfrom = INT64_MAX, vuntil = 0;
	int tlp = -1, conf = -1, step, nrec = 0, until_all = 1;
	json_t *o = NULL, *la = NULL;
	bool ok = true;

	*out = NULL;
	sqlite3_bind_int64(recs, sqlite3_bind_parameter_index(recs, ":ind"), ind);
	while ((step = sqlite3_step(recs)) == SQLITE_ROW) {
		int t = sqlite3_column_int(recs, 0);
		int64_t fs = sqlite3_column_int64(recs, 2), ls = sqlite3_column_int64(recs, 3);
		int64_t vf = sqlite3_column_type(recs, 4) == SQLITE_NULL ? fs
			     : sqlite3_column_int64(recs, 4);

		nrec++;
		/* the most restrictive marking: the numeric order of enum
		 * bw_tlp is CLEAR < GREEN < AMBER < AMBER+STRICT < RED */
		if (t > tlp)
			tlp = t;
		if (sqlite3_column_type(recs, 1) != SQLITE_NULL &&
		    sqlite3_column_int(recs, 1) > conf)
			conf = sqlite3_column_int(recs, 1);
		if (fs < created)
			created = fs;
		if ((ls > fs ? ls : fs) > modified)
			modified = ls > fs ? ls : fs;
		if (vf < vfrom)
			vfrom = vf;
		if (sqlite3_column_type(recs, 5) == SQLITE_NULL)
			until_all = 0;
		else if (sqlite3_column_int64(recs, 5) > vuntil)
			vuntil = sqlite3_column_int64(recs, 5);
	}
	sqlite3_reset(recs);
	if (step != SQLITE_DONE)
		return bw_err_set(err, BW_ESTORE, "reading records: %s",
				  sqlite3_errmsg(sqlite3_db_handle(recs)));
	if (nrec == 0 || bw_tlp_stix_id((enum bw_tlp)tlp) == NULL)
		return bw_err_set(err, BW_ESTORE, "indicator %lld has no visible record",
				  (long long)ind);
	if (bw_export_stix_pattern(type, value, pat, sizeof(pat)) == NULL)
		return bw_err_set(err, BW_EINVAL, "indicator of unknown type %d", (int)type);

	o = json_object();
	if (o == NULL)
		goto nomem;
	set(o, "type", json_string("indicator"), &ok);
	set(o, "spec_version", json_string("2.1"), &ok);
	set(o, "id", json_string(bw_taxii_indicator_id(type, value, id)), &ok);
	set(o, "created", ts(created), &ok);
	set(o, "modified", ts(modified), &ok);
	set(o, "name", json_string(value), &ok);
	set(o, "pattern", json_string(pat), &ok);
	set(o, "pattern_type", json_string("stix"), &ok);
	if (!until_all)
		vuntil = 0;
	if (vuntil && vuntil <= vfrom)
		vfrom = vuntil - 1; /* valid_until must be later than valid_from */
	set(o, "valid_from", ts(vfrom), &ok);
	if (vuntil)
		set(o, "valid_until", ts(vuntil), &ok);
	if (conf >= 0)
		set(o, "confidence", json_integer(conf), &ok);

	sqlite3_bind_int64(labels, sqlite3_bind_parameter_index(labels, ":ind"), ind);
	while ((step = sqlite3_step(labels)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(labels, 0);
		if (name == NULL || (la && json_array_size(la) >= LABELS_MAX))
			continue;
		if (la == NULL) {
			la = json_array();
			set(o, "labels", la, &ok);
			if (la == NULL)
				break;
		}
		/* a label that is not UTF-8 is left out (jansson refuses it) */
		json_array_append_new(la, json_string(name));
	}
	sqlite3_reset(labels);
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		json_decref(o);
		return bw_err_set(err, BW_ESTORE, "reading labels: %s",
				  sqlite3_errmsg(sqlite3_db_handle(labels)));
	}
	set(o, "object_marking_refs", json_pack("[s]", bw_tlp_stix_id((enum bw_tlp)tlp)), &ok);
	if (!ok) {
		/* a name that is not UTF-8 fails json_string too */
		json_decref(o);
		return bw_err_set(err, BW_EINVAL, "indicator %lld cannot be written as JSON",
				  (long long)ind);
	}
	*out = o;
	return BW_OK;
nomem:
	return bw_err_set(err, BW_ENOMEM, "out of memory");
}

/* ---- objects ------------------------------------------------------------ */

static int
collection_index(const char *id)
{
	char buf[BW_TAXII_ID_MAX];

	for (unsigned i = 0; i < BW_TAXII_COLLECTIONS; i++)
		if (strcmp(id, bw_taxii_collection_id(i, buf)) == 0)
			return (int)i;
	return -1;
}

/* Adds o (taking the reference) with its position and date; counts. */
struct page {
	json_t *objects;
	size_t n, limit;
	int more;
	int64_t last_pos, first_added, last_added;
	enum bw_taxii_kind kind;
};

/* What a page lists of object o (taking the reference): o itself, its
 * manifest record or its version; NULL when out of memory. */
static json_t *
shape(enum bw_taxii_kind kind, json_t *o, int64_t added)
{
	json_t *v, *r = NULL;

	if (o == NULL || kind == BW_TAXII_OBJECTS)
		return o;
	/* a marking definition has no "modified": its version is "created" */
	v = json_object_get(o, "modified");
	if (v == NULL)
		v = json_object_get(o, "created");
	if (v == NULL)
		goto out;
	if (kind == BW_TAXII_VERSIONS)
		r = json_incref(v);
	else
		r = json_pack("{s:O, s:o, s:O, s:s}", "id", json_object_get(o, "id"),
			      "date_added", ts(added), "version", v,
			      "media_type", BW_STIX_MEDIA);
out:
	json_decref(o);
	return r;
}

static int
page_add(struct page *p, json_t *o, int64_t pos, int64_t added, struct bw_err *err)
{
	if (p->n == p->limit) {
		json_decref(o);
		p->more = 1;
		return BW_OK;
	}
	o = shape(p->kind, o, added);
	if (o == NULL || json_array_append_new(p->objects, o) != 0)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if (p->n == 0)
		p->first_added = added;
	p->last_added = added;
	p->last_pos = pos;
	p->n++;
	return BW_OK;
}

/* ---- national ----------------------------------------------------------- */

/* What decides whether an indicator is national to the caller: its scope,
 * the geo data, and the observers of the indicator's sightings. */
struct national {
	struct bw_tenant_scope *scope;
	const struct bw_geo *geo;
	sqlite3_stmt *obs;
};

/* 1 if the address text a (an observer) lies in the scope. */
static bool
observer_national(const struct national *n, const char *a)
{
	unsigned char b[16];
	char canon[INET6_ADDRSTRLEN];
	struct bw_scope_match m;
	struct bw_err ignore;
	enum bw_ioc_type t;

	if (strlen(a) >= INET6_ADDRSTRLEN)
		return false;
	if (inet_pton(AF_INET, a, b) == 1) {
		t = BW_IOC_IPV4;
		inet_ntop(AF_INET, b, canon, sizeof(canon));
	} else if (inet_pton(AF_INET6, a, b) == 1) {
		/* an IPv4 client as a dual-stack socket names it */
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)b)) {
			t = BW_IOC_IPV4;
			inet_ntop(AF_INET, b + 12, canon, sizeof(canon));
		} else {
			t = BW_IOC_IPV6;
			inet_ntop(AF_INET6, b, canon, sizeof(canon));
		}
	} else {
		return false; /* a host name or a label: not an address */
	}
	return bw_tenant_scope_match(n->scope, t, canon, n->geo, &m, &ignore) == BW_OK &&
	       m.national;
}

/* *yes: indicator ind (type, value) is in the scope or was sighted from
 * an address in it. */
static int
is_national(const struct national *n, int64_t ind, enum bw_ioc_type type,
	    const char *value, bool *yes, struct bw_err *err)
{
	struct bw_scope_match m;
	struct bw_err ignore;
	int step;

	*yes = bw_tenant_scope_match(n->scope, type, value, n->geo, &m, &ignore) == BW_OK &&
	       m.national;
	if (*yes)
		return BW_OK;
	sqlite3_bind_int64(n->obs, 1, ind);
	while ((step = sqlite3_step(n->obs)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(n->obs, 0);
		if (o && observer_national(n, o)) {
			*yes = true;
			break;
		}
	}
	sqlite3_reset(n->obs);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return bw_err_set(err, BW_ESTORE, "reading sightings: %s",
				  sqlite3_errmsg(sqlite3_db_handle(n->obs)));
	return BW_OK;
}

/* ---- actions ------------------------------------------------------------ */

/* The position of an object of the actions collection: the activation
 * event, the action, the object in it (0 indicator, 1 course-of-action,
 * 2 relationship). */
struct apos {
	int64_t ev, aid;
	int k;
};

static int
apos_after(const struct apos *a, const struct apos *b)
{
	if (a->ev != b->ev)
		return a->ev > b->ev;
	if (a->aid != b->aid)
		return a->aid > b->aid;
	return a->k > b->k;
}

/* "bw1a.EV.AID.K" */
static int
parse_action_token(const char *t, struct apos *out, struct bw_err *err)
{
	long long v[3];
	char *end;

	t += strlen(ACTION_TOKEN_PREFIX);
	for (int i = 0; i < 3; i++) {
		if (*t < '0' || *t > '9')
			goto bad;
		v[i] = strtoll(t, &end, 10);
		if (v[i] == LLONG_MAX || *end != (i < 2 ? '.' : '\0'))
			goto bad;
		t = end + (i < 2);
	}
	if (v[2] > 2)
		goto bad;
	out->ev = v[0];
	out->aid = v[1];
	out->k = (int)v[2];
	return BW_OK;
bad:
	return bw_err_set(err, BW_EINVAL, "next: not a token of this server");
}

/* The id of object part ("indicator", "course-of-action", "relationship")
 * of action aid into out. */
static char *
action_object_id(const char *part, int64_t aid, char *out)
{
	char num[24];
	const char *parts[3] = {"taxii-action", num, part};
	size_t n = strlen(part);

	snprintf(num, sizeof(num), "%lld", (long long)aid);
	memcpy(out, part, n);
	memcpy(out + n, "--", 2);
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, out + n + 2);
	return out;
}

/* One row of the actions walk. */
struct action_row {
	int64_t aid, created, expires, added;
	enum bw_ioc_type type;
	const char *target, *kind, *sinkhole, *authority, *reference, *jurisdiction;
};

/* Object k of action a as STIX 2.1; NULL when it cannot be written (an
 * unknown type, text that is not UTF-8) or out of memory. */
static json_t *
action_json(const struct action_row *a, int k)
{
	char ind[BW_TAXII_ID_MAX], coa[BW_TAXII_ID_MAX], rel[BW_TAXII_ID_MAX];
	char pat[PATTERN_MAX], name[BW_IOC_VALUE_MAX + 64];
	const char *clear = bw_tlp_stix_id(BW_TLP_CLEAR);
	int64_t created = a->created < a->added ? a->created : a->added;
	json_t *o = json_object();
	bool ok = o != NULL;
	bool sink = strcmp(a->kind, "sinkhole") == 0;

	action_object_id("indicator", a->aid, ind);
	action_object_id("course-of-action", a->aid, coa);
	action_object_id("relationship", a->aid, rel);
	if (k == 0) {
		if (bw_export_stix_pattern(a->type, a->target, pat, sizeof(pat)) == NULL) {
			json_decref(o);
			return NULL;
		}
		set(o, "type", json_string("indicator"), &ok);
		set(o, "spec_version", json_string("2.1"), &ok);
		set(o, "id", json_string(ind), &ok);
		set(o, "created", ts(created), &ok);
		set(o, "modified", ts(a->added), &ok);
		set(o, "name", json_string(a->target), &ok);
		set(o, "indicator_types", json_pack("[s]", "malicious-activity"), &ok);
		set(o, "pattern", json_string(pat), &ok);
		set(o, "pattern_type", json_string("stix"), &ok);
		set(o, "valid_from", ts(a->added), &ok);
		if (a->expires > a->added)
			set(o, "valid_until", ts(a->expires), &ok);
	} else if (k == 1) {
		snprintf(name, sizeof(name), "%s %s", sink ? "sinkhole" : "block", a->target);
		set(o, "type", json_string("course-of-action"), &ok);
		set(o, "spec_version", json_string("2.1"), &ok);
		set(o, "id", json_string(coa), &ok);
		set(o, "created", ts(created), &ok);
		set(o, "modified", ts(a->added), &ok);
		set(o, "name", json_string(name), &ok);
		set(o, "description",
		    json_string(sink ? "Answered with the sinkhole address by the RPZ of the"
				       " programme while the action is in force."
				     : a->type == BW_IOC_DOMAIN
				       ? "Answered NXDOMAIN by the RPZ of the programme while"
					 " the action is in force."
				       : "Blocked by the RPZ and block lists of the programme"
					 " while the action is in force."),
		    &ok);
		set(o, "x_bulwark_action_kind", json_string(a->kind), &ok);
		if (sink && a->sinkhole)
			set(o, "x_bulwark_sinkhole", json_string(a->sinkhole), &ok);
		set(o, "x_bulwark_expires", ts(a->expires), &ok);
		set(o, "x_bulwark_authority", json_string(a->authority), &ok);
		set(o, "x_bulwark_reference", json_string(a->reference), &ok);
		set(o, "x_bulwark_jurisdiction", json_string(a->jurisdiction), &ok);
	} else {
		set(o, "type", json_string("relationship"), &ok);
		set(o, "spec_version", json_string("2.1"), &ok);
		set(o, "id", json_string(rel), &ok);
		set(o, "created", ts(created), &ok);
		set(o, "modified", ts(a->added), &ok);
		set(o, "relationship_type", json_string("mitigates"), &ok);
		set(o, "source_ref", json_string(coa), &ok);
		set(o, "target_ref", json_string(ind), &ok);
	}
	if (o)
		set(o, "object_marking_refs", json_pack("[s]", clear), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *const action_types[3] = {"indicator", "course-of-action", "relationship"};

/* The actions part of a page: the objects of the actions in force after
 * position from, filtered by q. */
static int
actions_page(struct bw_store *st, const struct bw_taxii_query *q, int64_t now,
	     const struct apos *from, struct page *p, struct apos *last,
	     struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	bool want[3];
	int rc = BW_OK, step;

	for (int k = 0; k < 3; k++)
		want[k] = in_list(q->match_type, action_types[k]) &&
			  in_list(q->match_spec_version, "2.1");
	if (!want[0] && !want[1] && !want[2])
		return BW_OK;
	rc = prepare(st,
		     "SELECT a.id, a.type, a.target, a.kind, a.sinkhole, a.created, a.expires,"
		     " coalesce(e.id, 0) AS ev, coalesce(e.time, a.updated),"
		     " z.authority, z.reference, z.jurisdiction"
		     " FROM action a JOIN authz z ON z.id = a.authz_id"
		     " LEFT JOIN action_event e ON e.id = (SELECT max(x.id) FROM action_event x"
		     "  WHERE x.action_id = a.id AND x.to_state = 'active')"
		     " WHERE a.state = 'active' AND a.expires > :now"
		     " AND z.revoked IS NULL AND z.valid_from <= :now AND z.valid_until > :now"
		     " AND (coalesce(e.id, 0), a.id) >= (:ev, :aid)"
		     " AND coalesce(e.time, a.updated) > :after"
		     " ORDER BY ev, a.id",
		     &s, err);
	if (rc)
		return rc;
	bind_common(s, NULL, now);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":ev"), from->ev);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":aid"), from->aid);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":after"), q->added_after);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct action_row a;
		struct apos at;
		const char *tx[6];

		for (int i = 0; i < 6; i++)
			tx[i] = (const char *)sqlite3_column_text(s, i < 3 ? i + 2 : i + 6);
		a.aid = sqlite3_column_int64(s, 0);
		a.type = (enum bw_ioc_type)sqlite3_column_int(s, 1);
		a.target = tx[0];
		a.kind = tx[1];
		a.sinkhole = tx[2];
		a.created = sqlite3_column_int64(s, 5);
		a.expires = sqlite3_column_int64(s, 6);
		a.added = sqlite3_column_int64(s, 8);
		a.authority = tx[3];
		a.reference = tx[4];
		a.jurisdiction = tx[5];
		if (a.target == NULL || a.kind == NULL || a.authority == NULL ||
		    a.reference == NULL || a.jurisdiction == NULL)
			continue;
		at.ev = sqlite3_column_int64(s, 7);
		at.aid = a.aid;
		for (at.k = 0; at.k < 3; at.k++) {
			char id[BW_TAXII_ID_MAX];
			json_t *o;

			if (!apos_after(&at, from) || !want[at.k])
				continue;
			if (q->match_id &&
			    !in_list(q->match_id, action_object_id(action_types[at.k], a.aid, id)))
				continue;
			if (p->n == p->limit) {
				p->more = 1;
				goto done;
			}
			o = action_json(&a, at.k);
			if (o == NULL)
				break; /* not representable: the action is left out */
			if ((rc = page_add(p, o, 0, a.added, err)))
				goto done;
			*last = at;
		}
	}
	if (step != SQLITE_DONE)
		rc = bw_err_set(err, BW_ESTORE, "reading actions: %s",
				sqlite3_errmsg(bw_store_db(st)));
done:
	sqlite3_finalize(s);
	return rc;
}

int
bw_taxii_objects(struct bw_store *st, const char *country,
		 const struct bw_taxii_query *q, int64_t now,
		 json_t **envelope, int64_t *first, int64_t *last,
		 struct bw_err *err)
{
	char vis_r[SQL_MAX / 4], vis_r2[SQL_MAX / 4], sql[SQL_MAX];
	sqlite3_stmt *walk = NULL, *recs = NULL, *labels = NULL;
	struct page p = {NULL, 0, 0, 0, 0, 0, 0, BW_TAXII_OBJECTS};
	struct national nat = {NULL, NULL, NULL};
	struct apos afrom = {0, 0, -1}, alast = {0, 0, -1};
	json_t *env = NULL;
	int64_t pos = INT64_MIN;
	size_t scanned = 0;
	int ci, rc = BW_OK, step;
	bool want_ind, want_mark, budget;

	*envelope = NULL;
	*first = *last = 0;
	ci = q->collection ? collection_index(q->collection) : -1;
	if (ci < 0)
		return bw_err_set(err, BW_ENOTFOUND, "no such collection");
	if (q->limit > BW_TAXII_LIMIT_MAX)
		return bw_err_set(err, BW_EINVAL, "limit: at most %d", BW_TAXII_LIMIT_MAX);
	if (q->next && ci == COLL_ACTIONS &&
	    strncmp(q->next, ACTION_TOKEN_PREFIX, strlen(ACTION_TOKEN_PREFIX)) == 0) {
		if ((rc = parse_action_token(q->next, &afrom, err)))
			return rc;
		pos = -1; /* past the markings */
	} else if (q->next && (rc = parse_token(q->next, &pos, err))) {
		return rc;
	} else if (q->next && ci == COLL_ACTIONS && pos >= 0) {
		return bw_err_set(err, BW_EINVAL, "next: not a token of this collection");
	}
	p.limit = q->limit ? q->limit : BW_TAXII_LIMIT_MAX;
	if (q->kind != BW_TAXII_OBJECTS && q->kind != BW_TAXII_MANIFEST &&
	    q->kind != BW_TAXII_VERSIONS)
		return bw_err_set(err, BW_EINVAL, "unknown kind of listing");
	p.kind = q->kind;
	p.objects = json_array();
	if (p.objects == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	want_ind = ci != COLL_ACTIONS && in_list(q->match_type, "indicator") &&
		   in_list(q->match_spec_version, "2.1");
	want_mark = in_list(q->match_type, "marking-definition") &&
		    in_list(q->match_spec_version, "2.1");
	/* a national page looks at a bounded number of rows, unless it is
	 * asked for given objects (one object's 404 needs a full answer) */
	budget = ci == COLL_NATIONAL && q->match_id == NULL;
	if (ci == COLL_NATIONAL && want_ind) {
		rc = bw_tenant_scope_load(st, country, &nat.scope, err);
		if (rc == BW_OK)
			rc = prepare(st, "SELECT DISTINCT observer FROM sighting"
				     " WHERE indicator_id = ?", &nat.obs, err);
		if (rc)
			goto out;
		nat.geo = q->geo;
	}

	/* 1: the marking definitions, positions -5..-1, in every collection
	 * (its objects refer to them) */
	for (int t = 0; t < BW_TLP_NLEVELS && want_mark; t++) {
		int64_t mpos = t - BW_TLP_NLEVELS;
		if (mpos <= pos || MARKINGS_ADDED <= q->added_after ||
		    !in_list(q->match_id, bw_tlp_stix_id((enum bw_tlp)t)))
			continue;
		rc = page_add(&p, bw_export_stix_tlp_marking(t), mpos, MARKINGS_ADDED, err);
		if (rc)
			goto out;
		if (p.more)
			break;
	}

	/* 2: the active disruption actions in order of activation */
	if (ci == COLL_ACTIONS && !p.more) {
		if ((rc = actions_page(st, q, now, &afrom, &p, &alast, err)))
			goto out;
	}

	/* 2: the indicators in order of their oldest visible record */
	if (want_ind && !p.more) {
		if (visible_sql((enum coll)ci, "r", vis_r, sizeof(vis_r)) ||
		    visible_sql((enum coll)ci, "r2", vis_r2, sizeof(vis_r2))) {
			rc = bw_err_set(err, BW_ELIMIT, "TAXII query too long");
			goto out;
		}
		snprintf(sql, sizeof(sql),
			 "SELECT r.id, r.added, i.id, i.type, i.value"
			 " FROM record r JOIN indicator i ON i.id = r.indicator_id"
			 " WHERE r.id > :pos AND r.added > :after AND %s"
			 " AND NOT EXISTS (SELECT 1 FROM record r2"
			 "  WHERE r2.indicator_id = r.indicator_id AND r2.id < r.id AND %s)"
			 " ORDER BY r.id",
			 vis_r, vis_r2);
		if ((rc = prepare(st, sql, &walk, err)))
			goto out;
		snprintf(sql, sizeof(sql),
			 "SELECT r.tlp, r.confidence, r.first_seen, r.last_seen,"
			 " r.valid_from, r.valid_until FROM record r"
			 " WHERE r.indicator_id = :ind AND %s", vis_r);
		if ((rc = prepare(st, sql, &recs, err)))
			goto out;
		snprintf(sql, sizeof(sql),
			 "SELECT DISTINCT t.name FROM record_tag rt JOIN tag t ON t.id = rt.tag_id"
			 " WHERE t.kind = '" BW_TAG_KIND_LABEL "' AND rt.record_id IN"
			 " (SELECT r.id FROM record r WHERE r.indicator_id = :ind AND %s)"
			 " ORDER BY t.name", vis_r);
		if ((rc = prepare(st, sql, &labels, err)))
			goto out;
		bind_common(walk, country, now);
		bind_common(recs, country, now);
		bind_common(labels, country, now);
		sqlite3_bind_int64(walk, sqlite3_bind_parameter_index(walk, ":pos"),
				   pos < 0 ? 0 : pos);
		sqlite3_bind_int64(walk, sqlite3_bind_parameter_index(walk, ":after"),
				   q->added_after);
		/* while walk is active the connection keeps one read snapshot,
		 * so recs and labels see the same records as walk */
		while ((step = sqlite3_step(walk)) == SQLITE_ROW) {
			int64_t rpos = sqlite3_column_int64(walk, 0);
			int64_t added = sqlite3_column_int64(walk, 1);
			int64_t ind = sqlite3_column_int64(walk, 2);
			enum bw_ioc_type type = (enum bw_ioc_type)sqlite3_column_int(walk, 3);
			const char *value = (const char *)sqlite3_column_text(walk, 4);
			char id[BW_TAXII_ID_MAX];
			json_t *o;

			if (budget && scanned++ == BW_TAXII_SCAN_MAX) {
				/* ends early: the next page goes on after the last
				 * row looked at */
				p.more = 1;
				break;
			}
			if (value == NULL)
				goto skipped;
			if (q->match_id && !in_list(q->match_id, bw_taxii_indicator_id(type, value, id)))
				goto skipped;
			if (p.n == p.limit) {
				p.more = 1;
				break;
			}
			if (nat.scope) {
				bool yes;
				if ((rc = is_national(&nat, ind, type, value, &yes, err)))
					goto out;
				if (!yes)
					goto skipped;
			}
			rc = indicator_json(recs, labels, ind, type, value, &o, err);
			if (rc == BW_EINVAL)
				goto skipped; /* not representable: left out, not fatal */
			if (rc)
				goto out;
			if ((rc = page_add(&p, o, rpos, added, err)))
				goto out;
			continue;
skipped:
			/* national: a page may end on a row it left out */
			if (budget)
				p.last_pos = rpos;
		}
		if (step != SQLITE_DONE && step != SQLITE_ROW) {
			rc = bw_err_set(err, BW_ESTORE, "reading the collection: %s",
					sqlite3_errmsg(bw_store_db(st)));
			goto out;
		}
		rc = BW_OK;
	}

	env = json_object();
	if (env == NULL || json_object_set_new(env, "more", json_boolean(p.more)) != 0)
		goto nomem;
	if (p.more) {
		char tok[80];
		if (ci == COLL_ACTIONS && alast.k >= 0)
			snprintf(tok, sizeof(tok), ACTION_TOKEN_PREFIX "%lld.%lld.%d",
				 (long long)alast.ev, (long long)alast.aid, alast.k);
		else
			snprintf(tok, sizeof(tok), TOKEN_PREFIX "%lld", (long long)p.last_pos);
		if (json_object_set_new(env, "next", json_string(tok)) != 0)
			goto nomem;
	}
	if (p.n > 0) {
		if (json_object_set(env, q->kind == BW_TAXII_VERSIONS ? "versions" : "objects",
				    p.objects) != 0)
			goto nomem;
		*first = p.first_added;
		*last = p.last_added;
	}
	*envelope = env;
	env = NULL;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	sqlite3_finalize(walk);
	sqlite3_finalize(recs);
	sqlite3_finalize(labels);
	sqlite3_finalize(nat.obs);
	bw_tenant_scope_free(nat.scope);
	json_decref(p.objects);
	json_decref(env);
	return rc;
}

/* ---- inbound ------------------------------------------------------------ */

#define SOURCE_PREFIX "tenant:"

/* A random (version 4) UUID into out (37 bytes). */
static void
uuid4(char *out)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
}

/* The status resource of one logged post. */
static json_t *
status_json(const char *id, int64_t time, long long records, long long failed)
{
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I}", "id", id,
			 "status", "complete", "request_timestamp", ts(time),
			 "total_count", (json_int_t)(records + failed),
			 "success_count", (json_int_t)records,
			 "failure_count", (json_int_t)failed, "pending_count", (json_int_t)0);
}

int
bw_taxii_post(struct bw_store *st, const struct bw_psl *psl, const char *country,
	      const char *body, size_t len, size_t max, int64_t now, json_t **status,
	      struct bw_err *err)
{
	char id[40], name[64], source[sizeof(SOURCE_PREFIX) + 3];
	struct bw_ingest_options o;
	struct bw_ingest_result *res = NULL;
	struct bw_reader *in = NULL;
	int rc;

	*status = NULL;
	if (max == 0)
		max = BW_TAXII_MAX_CONTENT_LENGTH;
	if (len > max)
		return bw_err_set(err, BW_ELIMIT, "a bundle of more than %zu bytes", max);
	if (body == NULL || len == 0)
		return bw_err_set(err, BW_EFORMAT, "an empty body is not a STIX bundle");
	uuid4(id);
	snprintf(name, sizeof(name), BW_TAXII_STATUS_FILE "%s", id);
	snprintf(source, sizeof(source), SOURCE_PREFIX "%s", country);
	memset(&o, 0, sizeof(o));
	o.format = BW_FEED_STIX;
	o.source = source;
	o.source_fixed = 1;
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	o.psl = psl;
	o.now = now;
	res = bw_calloc(1, sizeof(*res));
	if (res == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if ((rc = bw_reader_open_mem(body, len, name, &in, err)))
		goto out;
	if ((rc = bw_ingest_reader(st, in, &o, res, err)))
		goto out;
	if (res->refused) {
		rc = bw_err_set(err, BW_EFORMAT, "%s", res->error.msg);
		goto out;
	}
	*status = status_json(id, now, res->records, res->rejected + res->unsupported);
	if (*status == NULL)
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_reader_free(in);
	bw_free(res);
	return rc;
}

int
bw_taxii_status(struct bw_store *st, const char *country, const char *id,
		json_t **status, struct bw_err *err)
{
	char name[64], source[sizeof(SOURCE_PREFIX) + 3];
	sqlite3_stmt *s = NULL;
	int rc, step;

	*status = NULL;
	if (strlen(id) != 36 || !bw_uuid_valid(id))
		return bw_err_set(err, BW_ENOTFOUND, "no such status");
	snprintf(name, sizeof(name), BW_TAXII_STATUS_FILE "%s", id);
	snprintf(source, sizeof(source), SOURCE_PREFIX "%s", country);
	rc = prepare(st, "SELECT time, records, rejected + unsupported FROM ingest_log"
		     " WHERE file = ?1 AND source = ?2 ORDER BY id DESC LIMIT 1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		*status = status_json(id, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
				      sqlite3_column_int64(s, 2));
		rc = *status ? BW_OK : bw_err_set(err, BW_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = bw_err_set(err, BW_ENOTFOUND, "no such status");
	} else {
		rc = bw_err_set(err, BW_ESTORE, "reading a status: %s",
				sqlite3_errmsg(bw_store_db(st)));
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- HTTP --------------------------------------------------------------- */

/* The collection resource of "inbound". */
static json_t *
inbound_json(void)
{
	char id[BW_TAXII_ID_MAX];

	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:[s]}", "id", bw_taxii_inbound_id(id),
			 "title", "Inbound",
			 "description", "POST STIX 2.1 bundles here: their indicators are"
			 " shared as yours under their TLP 2.0 markings (AMBER when unmarked),"
			 " with recipients named in x_bulwark_recipients.",
			 "can_read", 0, "can_write", 1, "media_types", BW_STIX_MEDIA);
}

static void
send_json(struct bw_http_response *r, int status, const char *type, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	bw_http_set_dumped(r, status, type, s, BW_TAXII_MEDIA,
			   "{\"title\":\"internal error\",\"http_status\":\"500\"}");
}

/* A 200 answer of o with the X-TAXII-Date-Added-First/Last headers when
 * first is not 0: the dates live after the body's NUL in one allocation,
 * which the server releases only after copying the headers. */
static void
send_dated(struct bw_http_response *r, const char *type, json_t *o,
	   int64_t first, int64_t last)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t n = s ? strlen(s) : 0;
	char *buf = s ? bw_malloc(n + 1 + 2 * BW_TIME_TEXT_MAX) : NULL;

	json_decref(o);
	if (buf == NULL) {
		bw_http_free_dumped(s);
		send_json(r, 500, BW_TAXII_MEDIA, NULL);
		return;
	}
	memcpy(buf, s, n + 1);
	bw_http_free_dumped(s);
	r->status = 200;
	r->content_type = type;
	r->body = buf;
	r->len = n;
	r->release = bw_free;
	if (first) {
		char *d1 = buf + n + 1, *d2 = d1 + BW_TIME_TEXT_MAX;
		bw_time_format_ms(first, d1);
		bw_time_format_ms(last, d2);
		r->header_name = "X-TAXII-Date-Added-First";
		r->header_value = d1;
		r->header2_name = "X-TAXII-Date-Added-Last";
		r->header2_value = d2;
	}
}

/* A TAXII 2.1 error message. */
static void
send_error(struct bw_http_response *r, int status, const char *title,
	   const char *description)
{
	char code[8];

	snprintf(code, sizeof(code), "%d", status);
	send_json(r, status, BW_TAXII_MEDIA,
		  description ? json_pack("{s:s, s:s, s:s}", "title", title,
					  "description", description, "http_status", code)
			      : json_pack("{s:s, s:s}", "title", title, "http_status", code));
}

void
bw_taxii_error(struct bw_http_response *resp, int status, const char *title,
	       const char *description)
{
	send_error(resp, status, title, description);
}

void
bw_taxii_refusal(void *ctx, int status, struct bw_http_response *resp)
{
	(void)ctx;
	switch (status) {
	case 411:
		send_error(resp, 411, "length required",
			   "a POST needs a Content-Length header (chunked bodies are not taken)");
		break;
	case 503:
		send_error(resp, 503, "service unavailable",
			   "too many uploads at once; try again shortly");
		resp->header_name = "Retry-After";
		resp->header_value = "1";
		break;
	default:
		send_error(resp, status, "request refused", NULL);
	}
}

/* The API key of an Authorization header (Bearer KEY, or Basic with the
 * key as password) into key (cap bytes); 0 if there is none. */
static size_t
auth_key(const char *h, char *key, size_t cap)
{
	size_t n, len;

	if (h == NULL || strlen(h) > AUTH_MAX)
		return 0;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		n = strlen(h);
		while (n > 0 && h[n - 1] == ' ')
			n--;
		if (n == 0 || n >= cap)
			return 0;
		memcpy(key, h, n);
		key[n] = '\0';
		return n;
	}
	if (strncasecmp(h, "Basic ", 6) == 0) {
		char dec[AUTH_MAX];
		const char *colon;

		h += 6;
		while (*h == ' ')
			h++;
		n = strlen(h);
		while (n > 0 && h[n - 1] == ' ')
			n--;
		if (sodium_base642bin((unsigned char *)dec, sizeof(dec) - 1, h, n, NULL,
				      &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			return 0;
		dec[len] = '\0';
		colon = memchr(dec, ':', len);
		n = colon ? len - (size_t)(colon - dec) - 1 : 0;
		if (n == 0 || n >= cap || memchr(colon + 1, '\0', n) != NULL) {
			sodium_memzero(dec, sizeof(dec));
			return 0;
		}
		memcpy(key, colon + 1, n);
		key[n] = '\0';
		sodium_memzero(dec, sizeof(dec));
		return n;
	}
	return 0;
}

/* Does the media range [s, s+n) accept type/subtype;version=2.1? */
static int
range_accepts(const char *s, size_t n, const char *sub)
{
	const char *semi = memchr(s, ';', n);
	size_t tl = semi ? (size_t)(semi - s) : n, sl = strlen(sub);
	bool version_ok = true, q_zero = false;

	while (tl > 0 && s[tl - 1] == ' ')
		tl--;
	for (const char *p = semi; p && p < s + n;) {
		const char *e = memchr(p + 1, ';', (size_t)(s + n - p - 1));
		const char *v = p + 1;
		size_t vl = (size_t)((e ? e : s + n) - v);

		while (vl > 0 && *v == ' ') {
			v++;
			vl--;
		}
		while (vl > 0 && v[vl - 1] == ' ')
			vl--;
		if (vl >= 8 && strncasecmp(v, "version=", 8) == 0)
			version_ok = vl == 11 && memcmp(v + 8, "2.1", 3) == 0;
		else if (vl >= 2 && strncasecmp(v, "q=", 2) == 0)
			q_zero = strspn(v + 2, "0.") == vl - 2; /* q=0, q=0.000 */
		p = e;
	}
	if (q_zero)
		return 0;
	if ((tl == 3 && memcmp(s, "*/*", 3) == 0) ||
	    (tl == 13 && strncasecmp(s, "application/*", 13) == 0))
		return 1;
	return tl == 12 + sl && strncasecmp(s, "application/", 12) == 0 &&
	       strncasecmp(s + 12, sub, sl) == 0 && version_ok;
}

/* What the Accept header allows: bit 1 taxii+json, bit 2 stix+json. */
static unsigned
accepted(const char *h)
{
	unsigned ok = 0;

	if (h == NULL || *h == '\0')
		return 1;
	if (strlen(h) > ACCEPT_MAX)
		return 0;
	for (const char *p = h;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		if (range_accepts(p, n, "taxii+json"))
			ok |= 1;
		if (range_accepts(p, n, "stix+json"))
			ok |= 2;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return ok;
}

/* The base URL of the server from the Host header ("" if unusable). */
static void
base_url(const struct bw_http_request *req, char *out, size_t cap)
{
	const char *h = bw_http_header(req, "Host");
	size_t n = h ? strlen(h) : 0;

	out[0] = '\0';
	if (n == 0 || n > HOST_MAX || strspn(h, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != n)
		return;
	snprintf(out, cap, "http://%s", h);
}

static int64_t
parse_added_after(const char *v, struct bw_err *err, int *bad)
{
	int64_t t = 0;

	*bad = 0;
	if (v == NULL)
		return INT64_MIN;
	if (strlen(v) > BW_TIME_TEXT_MAX || bw_time_parse(v, strlen(v), &t, err) != BW_OK) {
		*bad = 1;
		return 0;
	}
	return t;
}

/* The query arguments an endpoint takes, NULL-terminated. */
static const char *const params_objects[] = {
	"added_after", "limit", "next", "match[type]", "match[id]",
	"match[spec_version]", "match[version]", NULL};
static const char *const params_object[] = {
	"added_after", "limit", "next", "match[spec_version]", "match[version]", NULL};
static const char *const params_versions[] = {
	"added_after", "limit", "next", "match[spec_version]", NULL};
static const char *const params_none[] = {NULL};

struct arg_check {
	const char *const *allowed;
	char msg[BW_TAXII_PARAM_MAX / 16];
};

static int
check_arg(void *ctx, const char *name, const char *value)
{
	struct arg_check *ac = ctx;
	size_t n = strlen(name);

	(void)value;
	for (const char *const *a = ac->allowed; *a; a++)
		if (strcmp(*a, name) == 0)
			return 0;
	/* the name is echoed only when short and printable */
	if (n > 0 && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_[]-.") == n)
		snprintf(ac->msg, sizeof(ac->msg), "unknown query parameter %s", name);
	else
		snprintf(ac->msg, sizeof(ac->msg), "unknown query parameter");
	return 1;
}

/* 0 if every query argument is one of allowed; else a 400 is sent. */
static int
refuse_unknown_args(const struct bw_http_request *req, struct bw_http_response *resp,
		    const char *const *allowed)
{
	struct arg_check ac;

	ac.allowed = allowed;
	ac.msg[0] = '\0';
	if (bw_http_query_each(req, check_arg, &ac) == 0)
		return 0;
	send_error(resp, 400, "bad request", ac.msg);
	return 1;
}

/* objects/, manifest/, objects/{obj}/ and objects/{obj}/versions/ of
 * collection coll: kind says which listing, obj the object id or NULL. */
static void
handle_objects(struct bw_store *st, const struct bw_taxii_config *cfg,
	       const struct bw_http_request *req,
	       struct bw_http_response *resp, const char *country,
	       const char *coll, unsigned acc, enum bw_taxii_kind kind,
	       const char *obj)
{
	const char *const *params = obj == NULL ? params_objects
				    : kind == BW_TAXII_VERSIONS ? params_versions
				    : params_object;
	struct bw_taxii_query q = {coll, INT64_MIN, NULL, 0, NULL, NULL, NULL, kind, NULL};
	const char *v, *ver;
	char msg[BW_ERR_MSG_MAX + 32];
	struct bw_err err;
	json_t *env = NULL;
	int64_t first = 0, last = 0;
	int rc, bad;

	if (refuse_unknown_args(req, resp, params))
		return;
	for (size_t i = 0; params[i]; i++) {
		unsigned c = 0;
		v = bw_http_query(req, params[i], &c);
		if (c > 1 || (v && strlen(v) > BW_TAXII_PARAM_MAX)) {
			snprintf(msg, sizeof(msg), "%s: given more than once or too long", params[i]);
			send_error(resp, 400, "bad request", msg);
			return;
		}
	}
	q.added_after = parse_added_after(bw_http_query(req, "added_after", NULL), &err, &bad);
	if (bad) {
		send_error(resp, 400, "bad request", "added_after: not a timestamp");
		return;
	}
	if ((v = bw_http_query(req, "limit", NULL)) != NULL) {
		char *end;
		long long l = strtoll(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || l < 1) {
			send_error(resp, 400, "bad request", "limit: a positive integer");
			return;
		}
		q.limit = l > BW_TAXII_LIMIT_MAX ? BW_TAXII_LIMIT_MAX : (size_t)l;
	}
	/* one version of each object is kept: last, first and all are it */
	if ((ver = bw_http_query(req, "match[version]", NULL)) != NULL &&
	    !(in_list(ver, "last") || in_list(ver, "first") || in_list(ver, "all"))) {
		send_error(resp, 400, "bad request", "match[version]: only last, first or all");
		return;
	}
	q.next = bw_http_query(req, "next", NULL);
	q.match_type = bw_http_query(req, "match[type]", NULL);
	q.match_id = obj ? obj : bw_http_query(req, "match[id]", NULL);
	q.match_spec_version = bw_http_query(req, "match[spec_version]", NULL);
	q.geo = cfg->geo;
	rc = bw_taxii_objects(st, country, &q, bw_time_now(), &env, &first, &last, &err);
	if (rc == BW_ENOTFOUND) {
		send_error(resp, 404, "collection not found", NULL);
		return;
	}
	if (rc == BW_EINVAL) {
		send_error(resp, 400, "bad request", err.msg);
		return;
	}
	if (rc) {
		send_error(resp, 500, "internal error", NULL);
		return;
	}
	/* an object the caller cannot see does not exist for it; with a
	 * filter or a token an empty page is an answer, not a 404 */
	if (obj && q.added_after == INT64_MIN && q.next == NULL &&
	    q.match_spec_version == NULL &&
	    json_object_get(env, kind == BW_TAXII_VERSIONS ? "versions" : "objects") == NULL) {
		json_decref(env);
		send_error(resp, 404, "object not found", NULL);
		return;
	}
	/* taxii+json as the specification says, unless the client asked only
	 * for stix+json (manifest and versions are TAXII resources) */
	send_dated(resp, (acc & 1) || kind != BW_TAXII_OBJECTS ? BW_TAXII_MEDIA : BW_STIX_MEDIA,
		   env, first, last);
}

/* 1 if the Content-Type h is application/stix+json, version 2.1 or none. */
static int
stix_content_type(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	return n > 0 && n <= ACCEPT_MAX && strncasecmp(h, "application/stix+json", 21) == 0 &&
	       (h[21] == '\0' || h[21] == ';' || h[21] == ' ') &&
	       range_accepts(h, n, "stix+json");
}

/* The checks of a POST that need no body: the path (only the inbound
 * collection's objects/ takes one), Accept, arguments, Content-Type.  0 if
 * it may go on; else resp is filled. */
static int
post_precheck(const struct bw_http_request *req, struct bw_http_response *resp)
{
	char in[BW_TAXII_ID_MAX], want[BW_TAXII_ID_MAX + 64];
	const char *path = bw_http_path(req), *cl;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), BW_TAXII_ROOT "collections/%s/objects/",
			     bw_taxii_inbound_id(in));
	if (strcmp(path, want) != 0 && !(strncmp(path, want, n - 1) == 0 && path[n - 1] == '\0')) {
		send_error(resp, 405, "method not allowed",
			   "only the inbound collection's objects/ takes a POST");
		resp->header_name = "Allow";
		resp->header_value = "GET, HEAD";
		return 1;
	}
	if (!(accepted(bw_http_header(req, "Accept")) & 1)) {
		send_error(resp, 406, "not acceptable", "this server speaks " BW_TAXII_MEDIA);
		return 1;
	}
	if (refuse_unknown_args(req, resp, params_none))
		return 1;
	if (!stix_content_type(bw_http_header(req, "Content-Type"))) {
		send_error(resp, 415, "unsupported media type",
			   "post a STIX bundle as " BW_STIX_MEDIA);
		return 1;
	}
	/* the server reserves memory by the declared length: a body must
	 * have one (a chunked upload has none) */
	cl = bw_http_header(req, "Content-Length");
	if (cl == NULL || *cl == '\0' || strlen(cl) > 19 || strspn(cl, "0123456789") != strlen(cl)) {
		send_error(resp, 411, "length required",
			   "a POST needs a Content-Length header (chunked bodies are not taken)");
		return 1;
	}
	return 0;
}

/* Authenticates the request's key: 0 with *t and *kid, else resp is
 * filled (401, or 500 when the store fails). */
static int
authenticate(struct bw_store *st, const struct bw_http_request *req,
	     struct bw_http_response *resp, struct bw_tenant *t, int64_t *kid)
{
	char key[BW_API_KEY_BUF];
	struct bw_err err;
	size_t klen;
	int rc;

	klen = auth_key(bw_http_header(req, "Authorization"), key, sizeof(key));
	rc = klen ? bw_tenant_authenticate(st, key, klen, t, kid, &err) : BW_ENOTFOUND;
	sodium_memzero(key, sizeof(key));
	if (rc == BW_OK)
		return 0;
	if (rc == BW_ENOTFOUND) {
		send_error(resp, 401, "unauthorized",
			   "a valid API key is required: Authorization: Bearer KEY,"
			   " or HTTP Basic with the key as password");
		resp->header_name = "WWW-Authenticate";
		resp->header_value = "Bearer realm=\"bulwark\", Basic realm=\"bulwark\"";
	} else {
		send_error(resp, 500, "internal error", NULL);
	}
	return 1;
}

int
bw_taxii_post_gate(struct bw_store *st, const struct bw_http_request *req,
		   struct bw_http_response *resp)
{
	struct bw_tenant t;
	int64_t kid = 0;

	if (authenticate(st, req, resp, &t, &kid))
		return 1;
	return post_precheck(req, resp);
}

/* POST to the inbound collection's objects/: a STIX bundle of country. */
static void
handle_post(struct bw_store *st, const struct bw_psl *psl, size_t max,
	    const struct bw_http_request *req, struct bw_http_response *resp,
	    const char *country)
{
	char msg[BW_ERR_MSG_MAX + 64];
	const char *body;
	struct bw_err err;
	json_t *status = NULL;
	size_t len;
	int rc;

	if (bw_http_body(req, &body, &len) != BW_OK) {
		snprintf(msg, sizeof(msg), "the body exceeds max_content_length (%zu bytes)", max);
		send_error(resp, 413, "request too large", msg);
		return;
	}
	rc = bw_taxii_post(st, psl, country, body, len, max, bw_time_now(), &status, &err);
	if (rc == BW_OK) {
		send_json(resp, 202, BW_TAXII_MEDIA, status);
		return;
	}
	if (rc == BW_EFORMAT || rc == BW_EINVAL) {
		snprintf(msg, sizeof(msg), "nothing was added: %s", err.msg);
		send_error(resp, 422, "unprocessable bundle", msg);
	} else if (rc == BW_ELIMIT) {
		send_error(resp, 413, "request too large", err.msg);
	} else {
		send_error(resp, 500, "internal error", NULL);
	}
}

/* 1 if s (n bytes) looks like a STIX id: "type--" and lowercase
 * letters, digits and hyphens, shorter than BW_TAXII_ID_MAX. */
static int
stix_id_ok(const char *s, size_t n)
{
	const char *dd;

	if (n == 0 || n >= BW_TAXII_ID_MAX)
		return 0;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
		return 0;
	dd = strstr(s, "--");
	return dd != NULL && dd > s && (size_t)(dd - s) + 2 < n;
}

void
bw_taxii_handle(struct bw_store *st, const struct bw_psl *psl,
		const struct bw_taxii_config *cfg_in,
		const struct bw_http_request *req,
		struct bw_http_response *resp, char tenant[3], long long *key_id)
{
	static const struct bw_taxii_config defaults = {0, NULL};
	const struct bw_taxii_config *cfg = cfg_in ? cfg_in : &defaults;
	const size_t maxlen = cfg->max_content_length ? cfg->max_content_length
						      : BW_TAXII_MAX_CONTENT_LENGTH;
	const char *path = bw_http_path(req);
	const char *rest;
	char base[HOST_MAX + 16], cid[BW_TAXII_ID_MAX];
	struct bw_tenant t;
	struct bw_err err;
	int64_t kid = 0;
	unsigned acc;
	int rc, post;

	snprintf(tenant, 3, "-");
	*key_id = 0;
	if (authenticate(st, req, resp, &t, &kid))
		return;
	snprintf(tenant, 3, "%s", t.country);
	*key_id = (long long)kid;

	acc = accepted(bw_http_header(req, "Accept"));
	post = strcmp(bw_http_method(req), "POST") == 0;
	if (post) {
		if (post_precheck(req, resp))
			return;
		handle_post(st, psl, maxlen, req, resp, t.country);
		return;
	}
	if (strcmp(path, "/taxii2") == 0 || strcmp(path, BW_TAXII_PREFIX) == 0) {
		char root[HOST_MAX + 64];
		if (!(acc & 1))
			goto not_acceptable;
		if (refuse_unknown_args(req, resp, params_none))
			return;
		base_url(req, base, sizeof(base));
		snprintf(root, sizeof(root), "%s" BW_TAXII_ROOT, base);
		send_json(resp, 200, BW_TAXII_MEDIA,
			  json_pack("{s:s, s:s, s:s, s:[s]}",
				    "title", "bulwark",
				    "description", "Threat intelligence shared under TLP 2.0",
				    "default", root, "api_roots", root));
		return;
	}
	if (strncmp(path, BW_TAXII_ROOT, strlen(BW_TAXII_ROOT)) != 0 &&
	    strcmp(path, "/taxii2/bulwark") != 0) {
		send_error(resp, 404, "not found", "no such API root");
		return;
	}
	rest = path + strlen(BW_TAXII_ROOT) - 1; /* from the "/" */
	if (*rest != '/')
		rest = "/";
	if (strcmp(rest, "/") == 0) {
		if (!(acc & 1))
			goto not_acceptable;
		if (refuse_unknown_args(req, resp, params_none))
			return;
		send_json(resp, 200, BW_TAXII_MEDIA,
			  json_pack("{s:s, s:s, s:[s], s:i}",
				    "title", "bulwark",
				    "description", "Indicators by TLP 2.0 and recipient",
				    "versions", BW_TAXII_MEDIA,
				    "max_content_length", (json_int_t)maxlen));
		return;
	}
	if (strcmp(rest, "/collections") == 0 || strcmp(rest, "/collections/") == 0) {
		json_t *a = json_array();
		if (!(acc & 1)) {
			json_decref(a);
			goto not_acceptable;
		}
		if (refuse_unknown_args(req, resp, params_none)) {
			json_decref(a);
			return;
		}
		for (unsigned i = 0; a && i < BW_TAXII_COLLECTIONS; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b, s:b, s:[s]}",
							   "id", bw_taxii_collection_id(i, cid),
							   "title", coll_titles[i],
							   "description", coll_descr[i],
							   "can_read", 1, "can_write", 0,
							   "media_types", BW_STIX_MEDIA));
		if (a)
			json_array_append_new(a, inbound_json());
		send_json(resp, 200, BW_TAXII_MEDIA, a ? json_pack("{s:o}", "collections", a) : NULL);
		return;
	}
	if (strncmp(rest, "/status/", 8) == 0) {
		const char *sid = rest + 8, *se = strchr(sid, '/');
		size_t sl = se ? (size_t)(se - sid) : strlen(sid);
		char idb[40];
		json_t *status = NULL;

		if ((se && strcmp(se, "/") != 0) || sl != 36)
			goto not_found;
		if (!(acc & 1))
			goto not_acceptable;
		if (refuse_unknown_args(req, resp, params_none))
			return;
		memcpy(idb, sid, sl);
		idb[sl] = '\0';
		rc = bw_taxii_status(st, t.country, idb, &status, &err);
		if (rc == BW_ENOTFOUND)
			send_error(resp, 404, "status not found", NULL);
		else if (rc)
			send_error(resp, 500, "internal error", NULL);
		else
			send_json(resp, 200, BW_TAXII_MEDIA, status);
		return;
	}
	if (strncmp(rest, "/collections/", 13) == 0) {
		const char *c = rest + 13, *slash = strchr(c, '/');
		size_t cl = slash ? (size_t)(slash - c) : strlen(c);
		char id[BW_TAXII_ID_MAX];
		int ci;

		if (cl == 0 || cl >= sizeof(id)) {
			send_error(resp, 404, "collection not found", NULL);
			return;
		}
		memcpy(id, c, cl);
		id[cl] = '\0';
		if (strcmp(id, bw_taxii_inbound_id(cid)) == 0) {
			if (slash == NULL || strcmp(slash, "/") == 0) {
				if (!(acc & 1))
					goto not_acceptable;
				if (refuse_unknown_args(req, resp, params_none))
					return;
				send_json(resp, 200, BW_TAXII_MEDIA, inbound_json());
				return;
			}
			if (strcmp(slash, "/objects/") == 0 || strcmp(slash, "/objects") == 0 ||
			    strcmp(slash, "/manifest/") == 0 || strcmp(slash, "/manifest") == 0 ||
			    strncmp(slash, "/objects/", 9) == 0) {
				send_error(resp, 403, "forbidden",
					   "the inbound collection is write-only");
				return;
			}
			goto not_found;
		}
		ci = collection_index(id);
		if (ci < 0) {
			send_error(resp, 404, "collection not found", NULL);
			return;
		}
		if (slash == NULL || strcmp(slash, "/") == 0) {
			if (!(acc & 1))
				goto not_acceptable;
			if (refuse_unknown_args(req, resp, params_none))
				return;
			send_json(resp, 200, BW_TAXII_MEDIA,
				  json_pack("{s:s, s:s, s:s, s:b, s:b, s:[s]}",
					    "id", id, "title", coll_titles[ci],
					    "description", coll_descr[ci],
					    "can_read", 1, "can_write", 0,
					    "media_types", BW_STIX_MEDIA));
			return;
		}
		if (strcmp(slash, "/objects/") == 0 || strcmp(slash, "/objects") == 0) {
			if (acc == 0)
				goto not_acceptable;
			handle_objects(st, cfg, req, resp, t.country, id, acc, BW_TAXII_OBJECTS, NULL);
			return;
		}
		if (strcmp(slash, "/manifest/") == 0 || strcmp(slash, "/manifest") == 0) {
			if (!(acc & 1))
				goto not_acceptable;
			handle_objects(st, cfg, req, resp, t.country, id, acc, BW_TAXII_MANIFEST, NULL);
			return;
		}
		if (strncmp(slash, "/objects/", 9) == 0) {
			const char *o = slash + 9, *oe = strchr(o, '/');
			size_t ol = oe ? (size_t)(oe - o) : strlen(o);
			char oid[BW_TAXII_ID_MAX];
			enum bw_taxii_kind kind;

			if (oe == NULL || strcmp(oe, "/") == 0)
				kind = BW_TAXII_OBJECTS;
			else if (strcmp(oe, "/versions/") == 0 || strcmp(oe, "/versions") == 0)
				kind = BW_TAXII_VERSIONS;
			else
				goto not_found;
			if (!stix_id_ok(o, ol)) {
				send_error(resp, 404, "object not found", NULL);
				return;
			}
			if (kind == BW_TAXII_OBJECTS ? acc == 0 : !(acc & 1))
				goto not_acceptable;
			memcpy(oid, o, ol);
			oid[ol] = '\0';
			handle_objects(st, cfg, req, resp, t.country, id, acc, kind, oid);
			return;
		}
	}
not_found:
	send_error(resp, 404, "not found", NULL);
	return;
not_acceptable:
	send_error(resp, 406, "not acceptable",
		   "this server speaks " BW_TAXII_MEDIA);
}
