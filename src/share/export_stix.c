/*
 * export_stix.c - the store as one STIX 2.1 bundle.
 *
 * The bundle is streamed: one indicator object per record as the store
 * cursor yields it, each followed by its "indicates" relationships; what
 * several records share is remembered (in string maps) and written once at
 * the end: an identity per source, a malware, threat-actor or campaign
 * object per tag of those kinds, and the TLP 2.0 marking definitions of the
 * levels used, exactly as the TLP 2.0 extension
 * (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d) publishes
 * them.  Memory grows with the number of distinct sources and tags, not
 * with the number of records.  Every object is built and serialised with
 * jansson, so strings are escaped right.
 *
 * Ids are UUIDv5 in bulwark's namespace, so the same store exports the same
 * ids every time and a consumer sees updates, not new objects:
 *   indicator     (source, type name, canonical value)
 *   identity      (source name)
 *   SDO           (tag kind, tag name)
 *   relationship  ("relationship", indicator id, target id)
 *   bundle        ("bundle", export time)
 * The parser (feed/stix.c) recognises the indicator ids it derives itself,
 * so that re-ingesting an export does not invent external ids.
 *
 * Mapping of a record (what STIX cannot carry is noted):
 *   created = first_seen; modified = max(last_seen, first_seen)
 *   valid_from = valid_from, or first_seen when unset (STIX requires it,
 *     so "unset" does not survive a round trip)
 *   valid_until when set; when it is not later than valid_from, valid_from
 *     is written as valid_until - 1 ms so that the bundle stays valid and
 *     the expiry, which matters more, is kept
 *   confidence, revoked, labels (tags of kind "tag"), created_by_ref (the
 *   source's identity), object_marking_refs (the TLP 2.0 marking),
 *   external_references [{source_name, external_id}] (source_name is "cve"
 *   or "capec" when the id is one, as the STIX schema demands), and the
 *   custom property x_bulwark_recipients (ISO country codes)
 *   tags of kind actor become threat-actor objects (an intrusion set read
 *   from STIX comes back as a threat actor)
 *   tags of kind report become report objects whose object_refs list
 *   their indicators (published: the earliest first_seen), as the STIX
 *   parser reads a report's membership
 * Identities and SDOs span the records that refer to them: created is the
 * earliest first_seen, modified the latest modified.  Text that is not
 * valid UTF-8 (feeds are not always clean) has U+FFFD for each bad byte.
 * A store with nothing to export gives a bundle without "objects" (the
 * array may not be empty in STIX 2.1).
 */
#include "share/export.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"

#define ENTITIES_MAX (16u * 1024 * 1024)
#define STIX_ID_MAX 64

#define TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP2_CREATED "2022-10-01T00:00:00.000Z"

/* A source or an SDO written at the end. */
struct entity {
	const char *kind; /* tag kind; NULL for an identity */
	const char *name;
	int64_t created, modified;
	char id[STIX_ID_MAX];
	json_t *refs; /* a report's object_refs (its indicators), owned */
};

struct xs {
	FILE *out;
	const struct bw_export_options *o;
	bool opened;
	bool tlp_used[BW_TLP_NLEVELS];
	struct bw_strmap *sources;  /* source name -> struct entity */
	struct bw_strmap *sdos;     /* kind \x1f name -> struct entity */
	char key[BW_TAG_NAME_MAX + 32];
	char pattern[2 * BW_IOC_VALUE_MAX + 64];
	char id[STIX_ID_MAX];
};

static const char *const tlp2_values[BW_TLP_NLEVELS] = {
	"clear", "green", "amber", "amber+strict", "red",
};

static void
make_id(char *out, const char *type, const char *const *parts, size_t n)
{
	size_t tl = strlen(type);

	memcpy(out, type, tl);
	memcpy(out + tl, "--", 2);
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, n, out + tl + 2);
}

/* The STIX type of the object standing for a tag kind. */
static const char *
sdo_type(const char *kind)
{
	if (strcmp(kind, BW_TAG_KIND_MALWARE) == 0)
		return "malware";
	if (strcmp(kind, BW_TAG_KIND_ACTOR) == 0)
		return "threat-actor";
	if (strcmp(kind, BW_TAG_KIND_REPORT) == 0)
		return "report";
	return "campaign";
}

/*
 * A JSON string of s.  Text from the store should be UTF-8, but feeds are
 * not always: an invalid sequence becomes U+FFFD rather than failing the
 * whole export (jansson refuses invalid UTF-8).
 */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k = 0;
	char *buf;

	if (j || n > SIZE_MAX / 3 - 1)
		return j;
	buf = bw_malloc(3 * n + 1);
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool good = len > 0 && i + len <= n;
		uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;

		for (size_t m = 1; good && m < len; m++) {
			if ((p[i + m] & 0xc0) != 0x80)
				good = false;
			cp = (cp << 6) | (p[i + m] & 0x3fu);
		}
		if (good && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
			     (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
			     (cp >= 0xd800 && cp <= 0xdfff)))
			good = false;
		if (good) {
			memcpy(buf + k, p + i, len);
			k += len;
			i += len;
		} else {
			memcpy(buf + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	buf[k] = '\0';
	j = json_string(buf);
	bw_free(buf);
	return j;
}

static json_t *
time_ms(int64_t t)
{
	char buf[BW_TIME_TEXT_MAX];

	return json_string(bw_time_format_ms(t, buf));
}

/* One millisecond before t: "...:59.999Z" of the second before. */
static json_t *
time_ms_before(int64_t t)
{
	char buf[BW_TIME_TEXT_MAX];
	size_t n;

	bw_time_format(t - 1, buf);
	n = strlen(buf);
	if (n >= 1 && n + 4 < sizeof(buf))
		memcpy(buf + n - 1, ".999Z", 6);
	return json_string(buf);
}

/* Writes one object of the objects array; takes the reference to o. */
static int
emit(struct xs *x, json_t *o, struct bw_err *err)
{
	int rc = BW_OK;

	if (o == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory building a STIX object");
	if (!x->opened) {
		char bid[STIX_ID_MAX], when[BW_TIME_TEXT_MAX];
		const char *parts[2] = {"bundle", bw_time_format(x->o->now, when)};
		make_id(bid, "bundle", parts, 2);
		fprintf(x->out, "{\"type\":\"bundle\",\"id\":\"%s\",\"objects\":[\n", bid);
		x->opened = true;
	} else {
		fputs(",\n", x->out);
	}
	if (json_dumpf(o, x->out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		rc = bw_err_set(err, BW_EIO, "writing the STIX export failed");
	json_decref(o);
	return rc;
}

/* json_object_set_new that remembers a failure in *ok. */
static void
set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The external-reference source_name the STIX schema accepts for this id:
 * "cve" for a CVE id, "capec" for a CAPEC id, the source otherwise (but
 * never "cve" or "capec" with another kind of id). */
static const char *
reference_source(const char *source, const char *eid, char *buf, size_t cap)
{
	if (strncmp(eid, "CVE-", 4) == 0 && strlen(eid) >= 13 && eid[8] == '-') {
		char year[5];
		memcpy(year, eid + 4, 4);
		year[4] = '\0';
		const char *num = eid + 9;
		if (all_digits(year) && all_digits(num) &&
		    ((num[0] == '0' && strlen(num) == 4) ||
		     (num[0] != '0' && strlen(num) >= 4)))
			return "cve";
	}
	if (strncmp(eid, "CAPEC-", 6) == 0 && all_digits(eid + 6))
		return "capec";
	if (strcmp(source, "cve") == 0 || strcmp(source, "capec") == 0) {
		snprintf(buf, cap, "bulwark:%s", source);
		return buf;
	}
	return source;
}

/* The STIX pattern of an indicator, with ' and \ escaped in the literal. */
const char *
bw_export_stix_pattern(enum bw_ioc_type type, const char *value, char *buf,
		       size_t cap)
{
	const char *head, *op = "=";
	size_t k;
	int n;

	switch (type) {
	case BW_IOC_DOMAIN: head = "domain-name:value"; break;
	case BW_IOC_IPV4: head = "ipv4-addr:value"; break;
	case BW_IOC_IPV6: head = "ipv6-addr:value"; break;
	case BW_IOC_CIDR:
		head = strchr(value, ':') ? "ipv6-addr:value" : "ipv4-addr:value";
		op = "ISSUBSET";
		break;
	case BW_IOC_URL: head = "url:value"; break;
	case BW_IOC_EMAIL: head = "email-addr:value"; break;
	case BW_IOC_MD5: head = "file:hashes.MD5"; break;
	case BW_IOC_SHA1: head = "file:hashes.'SHA-1'"; break;
	case BW_IOC_SHA256: head = "file:hashes.'SHA-256'"; break;
	default: return NULL;
	}
	n = snprintf(buf, cap, "[%s %s '", head, op);
	if (n < 0 || (size_t)n + 3 > cap)
		return NULL;
	k = (size_t)n;
	for (const char *v = value; *v && k + 4 < cap; v++) {
		if (*v == '\'' || *v == '\\')
			buf[k++] = '\\';
		buf[k++] = *v;
	}
	memcpy(buf + k, "']", 3);
	return buf;
}

static const char *
pattern_of(struct xs *x, const struct bw_record_out *r)
{
	return bw_export_stix_pattern(r->type, r->value, x->pattern, sizeof(x->pattern));
}

/* The entity for key in map, created on first use; widens its time span. */
static int
entity(struct bw_strmap *map, const char *key, size_t klen, const char *kind,
       const char *name, int64_t created, int64_t modified, struct entity **out,
       struct bw_err *err)
{
	struct entity *e = bw_strmap_get(map, key, klen);

	*out = NULL;
	if (e == NULL) {
		e = bw_strmap_alloc(map, sizeof(*e));
		if (e == NULL ||
		    (e->name = bw_strmap_strdup(map, name, strlen(name))) == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		e->kind = kind;
		e->created = created;
		e->modified = modified;
		if (kind == NULL) {
			make_id(e->id, "identity", &name, 1);
		} else {
			const char *parts[2] = {kind, name};
			make_id(e->id, sdo_type(kind), parts, 2);
		}
		int rc = bw_strmap_put(map, key, klen, e, err);
		if (rc)
			return rc;
	} else {
		if (created < e->created)
			e->created = created;
		if (modified > e->modified)
			e->modified = modified;
	}
	*out = e;
	return BW_OK;
}

static int
write_record(struct xs *x, const struct bw_record_out *r, struct bw_err *err)
{
	const char *id_parts[3] = {r->source, bw_ioc_type_name(r->type), r->value};
	int64_t modified = r->last_seen > r->first_seen ? r->last_seen : r->first_seen;
	int64_t valid_from = r->valid_from ? r->valid_from : r->first_seen;
	const char *pattern = pattern_of(x, r);
	struct entity *src;
	json_t *o, *labels = NULL;
	bool ok = true;
	char ind_id[STIX_ID_MAX], refsrc[BW_SOURCE_NAME_MAX + 16];
	int rc;

	if (pattern == NULL)
		return bw_err_set(err, BW_EINVAL, "record of unknown type %d", (int)r->type);
	rc = entity(x->sources, r->source, strlen(r->source), NULL, r->source,
		    r->first_seen, modified, &src, err);
	if (rc)
		return rc;
	if (r->tlp >= 0 && r->tlp < BW_TLP_NLEVELS)
		x->tlp_used[r->tlp] = true;
	make_id(ind_id, "indicator", id_parts, 3);

	o = json_object();
	if (o == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	set(o, "type", json_string("indicator"), &ok);
	set(o, "spec_version", json_string("2.1"), &ok);
	set(o, "id", json_string(ind_id), &ok);
	set(o, "created", time_ms(r->first_seen), &ok);
	set(o, "modified", time_ms(modified), &ok);
	set(o, "name", jstr(r->value), &ok);
	set(o, "pattern", jstr(pattern), &ok);
	set(o, "pattern_type", json_string("stix"), &ok);
	if (r->valid_until && r->valid_until <= valid_from)
		set(o, "valid_from", time_ms_before(r->valid_until), &ok);
	else
		set(o, "valid_from", time_ms(valid_from), &ok);
	if (r->valid_until)
		set(o, "valid_until", time_ms(r->valid_until), &ok);
	if (r->confidence >= 0)
		set(o, "confidence", json_integer(r->confidence), &ok);
	for (size_t i = 0; i < r->ntags; i++) {
		if (strcmp(r->tags[i].kind, BW_TAG_KIND_LABEL) != 0)
			continue;
		if (labels == NULL) {
			labels = json_array();
			set(o, "labels", labels, &ok);
		}
		if (labels == NULL || json_array_append_new(labels, jstr(r->tags[i].name)))
			ok = false;
	}
	set(o, "created_by_ref", json_string(src->id), &ok);
	if (bw_tlp_stix_id(r->tlp))
		set(o, "object_marking_refs",
		    json_pack("[s]", bw_tlp_stix_id(r->tlp)), &ok);
	if (r->revoked)
		set(o, "revoked", json_true(), &ok);
	if (r->external_id && r->external_id[0]) {
		json_t *ref = json_object();
		set(o, "external_references", json_pack("[o]", ref), &ok);
		if (ref) {
			set(ref, "source_name",
			    jstr(reference_source(r->source, r->external_id, refsrc,
						  sizeof(refsrc))), &ok);
			set(ref, "external_id", jstr(r->external_id), &ok);
		}
	}
	if (r->nrecipients) {
		json_t *a = json_array();
		set(o, "x_bulwark_recipients", a, &ok);
		for (size_t i = 0; a && i < r->nrecipients; i++)
			if (json_array_append_new(a, jstr(r->recipients[i])))
				ok = false;
	}
	if (!ok) {
		json_decref(o);
		return bw_err_set(err, BW_ENOMEM, "out of memory building a STIX indicator");
	}
	rc = emit(x, o, err);
	if (rc)
		return rc;

	/* the malware, actors and campaigns it indicates */
	for (size_t i = 0; i < r->ntags; i++) {
		const char *kind = r->tags[i].kind, *name = r->tags[i].name;
		const char *rel_parts[3];
		struct entity *e;
		int n;

		/* the kind as a constant: the cursor's strings do not last */
		if (strcmp(kind, BW_TAG_KIND_MALWARE) == 0)
			kind = BW_TAG_KIND_MALWARE;
		else if (strcmp(kind, BW_TAG_KIND_ACTOR) == 0)
			kind = BW_TAG_KIND_ACTOR;
		else if (strcmp(kind, BW_TAG_KIND_CAMPAIGN) == 0)
			kind = BW_TAG_KIND_CAMPAIGN;
		else if (strcmp(kind, BW_TAG_KIND_REPORT) == 0)
			kind = BW_TAG_KIND_REPORT;
		else
			continue;
		n = snprintf(x->key, sizeof(x->key), "%s\x1f%s", kind, name);
		if (n < 0 || (size_t)n >= sizeof(x->key))
			continue;
		rc = entity(x->sdos, x->key, (size_t)n, kind, name, r->first_seen,
			    modified, &e, err);
		if (rc)
			return rc;
		/* a report lists its indicators instead of a relationship */
		if (strcmp(kind, BW_TAG_KIND_REPORT) == 0) {
			if (e->refs == NULL && (e->refs = json_array()) == NULL)
				return bw_err_set(err, BW_ENOMEM, "out of memory");
			if (json_array_append_new(e->refs, json_string(ind_id)))
				return bw_err_set(err, BW_ENOMEM, "out of memory");
			continue;
		}
		rel_parts[0] = "relationship";
		rel_parts[1] = ind_id;
		rel_parts[2] = e->id;
		make_id(x->id, "relationship", rel_parts, 3);
		o = json_object();
		if (o == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		set(o, "type", json_string("relationship"), &ok);
		set(o, "spec_version", json_string("2.1"), &ok);
		set(o, "id", json_string(x->id), &ok);
		set(o, "created", time_ms(r->first_seen), &ok);
		set(o, "modified", time_ms(modified), &ok);
		set(o, "relationship_type", json_string("indicates"), &ok);
		set(o, "source_ref", json_string(ind_id), &ok);
		set(o, "target_ref", json_string(e->id), &ok);
		if (!ok) {
			json_decref(o);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
		rc = emit(x, o, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

static int
write_entities(struct xs *x, struct bw_strmap *map, struct bw_err *err)
{
	size_t pos = 0;
	void *v;
	int rc;

	while (bw_strmap_next(map, &pos, NULL, NULL, &v)) {
		const struct entity *e = v;
		const char *type = e->kind == NULL ? "identity" : sdo_type(e->kind);
		json_t *o = json_object();
		bool ok = o != NULL;

		if (o) {
			set(o, "type", json_string(type), &ok);
			set(o, "spec_version", json_string("2.1"), &ok);
			set(o, "id", json_string(e->id), &ok);
			set(o, "created", time_ms(e->created), &ok);
			set(o, "modified", time_ms(e->modified), &ok);
			set(o, "name", jstr(e->name), &ok);
			if (e->kind && strcmp(e->kind, BW_TAG_KIND_MALWARE) == 0)
				set(o, "is_family", json_true(), &ok);
			if (e->kind && strcmp(e->kind, BW_TAG_KIND_REPORT) == 0) {
				set(o, "published", time_ms(e->created), &ok);
				set(o, "object_refs", json_incref(e->refs), &ok);
			}
		}
		if (!ok) {
			json_decref(o);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
		rc = emit(x, o, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

json_t *
bw_export_stix_tlp_marking(int tlp)
{
	char name[32];

	if (tlp < 0 || tlp >= BW_TLP_NLEVELS)
		return NULL;
	snprintf(name, sizeof(name), "TLP:%s", bw_tlp_name((enum bw_tlp)tlp));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}",
			 "type", "marking-definition",
			 "spec_version", "2.1",
			 "id", bw_tlp_stix_id((enum bw_tlp)tlp),
			 "created", TLP2_CREATED,
			 "name", name,
			 "extensions", TLP2_EXTENSION,
			 "extension_type", "property-extension",
			 "tlp_2_0", tlp2_values[tlp]);
}

static int
write_markings(struct xs *x, struct bw_err *err)
{
	for (int t = 0; t < BW_TLP_NLEVELS; t++) {
		int rc;

		if (!x->tlp_used[t])
			continue;
		rc = emit(x, bw_export_stix_tlp_marking(t), err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

int
bw_export_stix(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	       struct bw_err *err)
{
	struct xs *x;
	struct bw_store_cursor *c = NULL;
	const struct bw_record_out *r;
	int rc, n;

	x = bw_calloc(1, sizeof(*x));
	if (x == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	x->out = out;
	x->o = o;
	if ((rc = bw_strmap_new(ENTITIES_MAX, &x->sources, err)) ||
	    (rc = bw_strmap_new(ENTITIES_MAX, &x->sdos, err)) ||
	    (rc = bw_store_cursor_open(st, &o->filter, &c, err)))
		goto out;
	while ((n = bw_store_cursor_next(c, &r, err)) > 0) {
		rc = write_record(x, r, err);
		if (rc)
			goto out;
	}
	if (n < 0) {
		rc = err && err->code ? err->code : BW_ESTORE;
		goto out;
	}
	if ((rc = write_entities(x, x->sources, err)) ||
	    (rc = write_entities(x, x->sdos, err)) ||
	    (rc = write_markings(x, err)))
		goto out;
	if (x->opened) {
		fputs("\n]}\n", out);
	} else {
		/* no objects: a bundle without the (then optional) array */
		char bid[STIX_ID_MAX], when[BW_TIME_TEXT_MAX];
		const char *parts[2] = {"bundle", bw_time_format(o->now, when)};
		make_id(bid, "bundle", parts, 2);
		fprintf(out, "{\"type\":\"bundle\",\"id\":\"%s\"}\n", bid);
	}
	if (ferror(out))
		rc = bw_err_set(err, BW_EIO, "writing the STIX export failed");
out:
	bw_store_cursor_free(c);
	bw_strmap_free(x->sources);
	if (x->sdos) {
		size_t pos = 0;
		void *v;
		while (bw_strmap_next(x->sdos, &pos, NULL, NULL, &v))
			json_decref(((struct entity *)v)->refs);
	}
	bw_strmap_free(x->sdos);
	bw_free(x);
	return rc;
}
