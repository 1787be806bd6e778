/*
 * export_misp.c - the store as MISP events: {"response":[{"Event":...}]},
 * one event per source, the shape MISP's events/restSearch returns and
 * `bulwark ingest` (misp.c) reads back.
 *
 * Streaming: the source names are listed first, then each source's records
 * are read with their own cursor and written one attribute at a time (each
 * attribute is built and serialised with jansson, then freed), so memory
 * does not grow with the store.  The event's timestamp and date come from
 * its records and are therefore written after the Attribute array.
 *
 * Deterministic: sources in name order, records in the cursor's order, ids
 * derived from content (UUIDv5), times taken from the records, never from
 * the clock; exporting an unchanged store twice gives the same text.
 *
 * What carries each bulwark field:
 *   type, value        attribute type (domain, ip-dst, url, email-src, md5,
 *                      sha1, sha256) and value
 *   source             Event.Orgc.name
 *   external_id        the attribute uuid when it is a (lower-case) UUID;
 *                      otherwise the uuid is UUIDv5(source, type, value) and
 *                      a bulwark:external-id="..." tag carries the id
 *   tlp                tlp:<level> tag (tlp:amber+strict, tlp:clear)
 *   confidence         bulwark:confidence="N"
 *   first/last_seen    first_seen, last_seen
 *   valid_from/until   bulwark:valid-from="ISO", bulwark:valid-until="ISO"
 *   recipients         bulwark:share-with="CC", one tag each
 *   tags               labels by name (as bulwark:tag="..." when the name
 *                      holds ':' and would read as a machine tag),
 *                      misp-galaxy:threat-actor="X" for actors,
 *                      misp-galaxy:malpedia="X" for malware,
 *                      bulwark:campaign="X" for campaigns
 *   revoked            deleted: true
 * The events are not published and have distribution 0 (this organisation
 * only); attributes inherit it: bulwark never widens the sharing of what it
 * hands to a MISP, whose operator decides.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "share/export.h"

#define TAG_TEXT_MAX (BW_TAG_NAME_MAX + 64)

/* The MISP type and category of a bulwark type. */
static const char *
misp_type(enum bw_ioc_type t, const char **category)
{
	*category = "Network activity";
	switch (t) {
	case BW_IOC_DOMAIN: return "domain";
	case BW_IOC_IPV4:
	case BW_IOC_IPV6:
	case BW_IOC_CIDR: return "ip-dst";
	case BW_IOC_URL: return "url";
	case BW_IOC_EMAIL: *category = "Payload delivery"; return "email-src";
	case BW_IOC_MD5: *category = "Payload delivery"; return "md5";
	case BW_IOC_SHA1: *category = "Payload delivery"; return "sha1";
	case BW_IOC_SHA256: *category = "Payload delivery"; return "sha256";
	case BW_IOC_ANY:
	case BW_IOC_NTYPES: break;
	}
	return NULL;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string of s; bytes that are not UTF-8 (which JSON cannot carry)
 * become U+FFFD.  NULL only when out of memory. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	size_t len, o = 0;
	char *buf;

	if (j != NULL)
		return j;
	len = strlen(s);
	buf = bw_malloc(len * 3 + 1);
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq((const unsigned char *)s + i);
		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
		}
	}
	buf[o] = '\0';
	j = json_string(buf);
	bw_free(buf);
	return j;
}

/* MISP's own form of first_seen/last_seen. */
static const char *
misp_time(int64_t t, char *buf, size_t cap)
{
	char iso[BW_TIME_TEXT_MAX];

	bw_time_format(t, iso);
	snprintf(buf, cap, "%.19s.000000+00:00", iso);
	return buf;
}

static int
add_tag(json_t *tags, const char *name)
{
	json_t *tag = json_object();
	json_t *s = jstr(name);

	if (tag == NULL || s == NULL || json_object_set_new(tag, "name", s) != 0) {
		json_decref(tag);
		return -1;
	}
	return json_array_append_new(tags, tag);
}

/* prefix="value" */
static int
add_machine_tag(json_t *tags, const char *prefix, const char *value)
{
	char text[TAG_TEXT_MAX];

	snprintf(text, sizeof(text), "%s=\"%s\"", prefix, value);
	return add_tag(tags, text);
}

static int
add_tags(json_t *tags, const struct bw_record_out *r, const char *uuid_ext)
{
	char text[TAG_TEXT_MAX], num[16], tb[BW_TIME_TEXT_MAX];
	const char *tlp = bw_tlp_name(r->tlp);
	size_t n;
	int fail = 0;

	if (tlp) {
		n = (size_t)snprintf(text, sizeof(text), "tlp:%s", tlp);
		for (size_t i = 4; i < n; i++)
			if (text[i] >= 'A' && text[i] <= 'Z')
				text[i] = (char)(text[i] - 'A' + 'a');
		fail |= add_tag(tags, text);
	}
	for (size_t i = 0; i < r->ntags; i++) {
		const char *kind = r->tags[i].kind, *name = r->tags[i].name;
		if (strcmp(kind, BW_TAG_KIND_ACTOR) == 0)
			fail |= add_machine_tag(tags, "misp-galaxy:threat-actor", name);
		else if (strcmp(kind, BW_TAG_KIND_MALWARE) == 0)
			fail |= add_machine_tag(tags, "misp-galaxy:malpedia", name);
		else if (strcmp(kind, BW_TAG_KIND_CAMPAIGN) == 0)
			fail |= add_machine_tag(tags, "bulwark:campaign", name);
		else if (strcmp(kind, BW_TAG_KIND_EVENT) == 0)
			fail |= add_machine_tag(tags, "bulwark:event", name);
		else if (strcmp(kind, BW_TAG_KIND_REPORT) == 0)
			fail |= add_machine_tag(tags, "bulwark:report", name);
		else if (strcmp(kind, BW_TAG_KIND_LOOKALIKE) == 0)
			fail |= add_machine_tag(tags, "bulwark:lookalike", name);
		else if (strchr(name, ':'))
			fail |= add_machine_tag(tags, "bulwark:tag", name);
		else
			fail |= add_tag(tags, name);
	}
	if (r->confidence >= 0) {
		snprintf(num, sizeof(num), "%d", r->confidence);
		fail |= add_machine_tag(tags, "bulwark:confidence", num);
	}
	if (r->valid_from)
		fail |= add_machine_tag(tags, "bulwark:valid-from",
					bw_time_format(r->valid_from, tb));
	if (r->valid_until)
		fail |= add_machine_tag(tags, "bulwark:valid-until",
					bw_time_format(r->valid_until, tb));
	for (size_t i = 0; i < r->nrecipients; i++)
		fail |= add_machine_tag(tags, "bulwark:share-with", r->recipients[i]);
	if (uuid_ext)
		fail |= add_machine_tag(tags, "bulwark:external-id", uuid_ext);
	return fail ? -1 : 0;
}

/* A lower-case UUID: one MISP keeps as it is. */
static bool
is_misp_uuid(const char *s)
{
	if (s == NULL || !bw_uuid_valid(s))
		return false;
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			return false;
	return true;
}

/* The attribute of one record; *ts gets its timestamp. */
static json_t *
attribute_json(const struct bw_record_out *r, int64_t *ts)
{
	char uuid[BW_UUID_TEXT_LEN + 1], tbuf[48], num[24];
	const char *category, *type = misp_type(r->type, &category);
	const char *ext = NULL;
	json_t *a = json_object(), *tags = json_array();
	int fail = 0;

	if (a == NULL || tags == NULL || type == NULL)
		goto fail;
	if (is_misp_uuid(r->external_id)) {
		snprintf(uuid, sizeof(uuid), "%s", r->external_id);
	} else {
		const char *parts[3] = {r->source, bw_ioc_type_name(r->type), r->value};
		bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, uuid);
		ext = r->external_id;
	}
	*ts = r->updated > r->last_seen ? r->updated : r->last_seen;
	snprintf(num, sizeof(num), "%lld", (long long)*ts);

	fail |= json_object_set_new(a, "uuid", json_string(uuid));
	fail |= json_object_set_new(a, "type", json_string(type));
	fail |= json_object_set_new(a, "category", json_string(category));
	fail |= json_object_set_new(a, "value", jstr(r->value));
	fail |= json_object_set_new(a, "to_ids", json_true());
	fail |= json_object_set_new(a, "distribution", json_string("5"));
	fail |= json_object_set_new(a, "deleted", json_boolean(r->revoked));
	if (r->first_seen)
		fail |= json_object_set_new(a, "first_seen",
					    json_string(misp_time(r->first_seen, tbuf, sizeof(tbuf))));
	if (r->last_seen)
		fail |= json_object_set_new(a, "last_seen",
					    json_string(misp_time(r->last_seen, tbuf, sizeof(tbuf))));
	fail |= json_object_set_new(a, "timestamp", json_string(num));
	fail |= add_tags(tags, r, ext);
	fail |= json_object_set(a, "Tag", tags);
	if (fail)
		goto fail;
	json_decref(tags);
	return a;
fail:
	json_decref(tags);
	json_decref(a);
	return NULL;
}

/* Writes j compactly; 0 or -1. */
static int
put_json(FILE *out, json_t *j)
{
	return json_dumpf(j, out, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* One event: the records of source (none: nothing is written). */
static int
export_source(struct bw_store *st, const struct bw_export_options *o,
	      const char *source, FILE *out, bool *first_event,
	      struct bw_err *err)
{
	struct bw_record_filter f = o->filter;
	struct bw_store_cursor *c = NULL;
	const struct bw_record_out *r;
	char uuid[BW_UUID_TEXT_LEN + 1], info[BW_SOURCE_NAME_MAX + 64];
	char date[BW_TIME_TEXT_MAX], num[24];
	const char *org_parts[2] = {"misp-org", source};
	json_t *name = NULL, *a;
	int64_t ts, max_ts = 0;
	long n = 0;
	int rc, more;

	f.source = source;
	rc = bw_store_cursor_open(st, &f, &c, err);
	if (rc)
		return rc;
	while ((more = bw_store_cursor_next(c, &r, err)) > 0) {
		if (n == 0) {
			name = jstr(source);
			snprintf(info, sizeof(info), "bulwark: indicators from %s", source);
			a = jstr(info);
			if (name == NULL || a == NULL) {
				json_decref(a);
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			fputs(*first_event ? "\n" : ",\n", out);
			*first_event = false;
			fputs("{\"Event\":{\"uuid\":\"", out);
			fputs(bw_uuid5(bw_uuid_ns_bulwark, source, strlen(source), uuid), out);
			fputs("\",\"info\":", out);
			put_json(out, a);
			json_decref(a);
			fputs(",\"threat_level_id\":\"4\",\"analysis\":\"2\","
			      "\"distribution\":\"0\",\"published\":false,"
			      "\"Orgc\":{\"name\":", out);
			put_json(out, name);
			fputs(",\"uuid\":\"", out);
			fputs(bw_uuid5_parts(bw_uuid_ns_bulwark, org_parts, 2, uuid), out);
			fputs("\"},\"Attribute\":[", out);
		}
		a = attribute_json(r, &ts);
		if (a == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		fputs(n ? ",\n" : "\n", out);
		if (put_json(out, a) != 0) {
			json_decref(a);
			rc = bw_err_set(err, BW_EIO, "writing the export failed");
			goto out;
		}
		json_decref(a);
		if (ts > max_ts)
			max_ts = ts;
		n++;
	}
	if (more < 0) {
		rc = BW_ESTORE;
		goto out;
	}
	if (n > 0) {
		bw_time_format(max_ts, date);
		date[10] = '\0';
		snprintf(num, sizeof(num), "%lld", (long long)max_ts);
		fprintf(out, "\n],\"date\":\"%s\",\"timestamp\":\"%s\"}}", date, num);
	}
out:
	bw_store_cursor_free(c);
	json_decref(name);
	return rc;
}

int
bw_export_misp(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	       struct bw_err *err)
{
	char **names = NULL;
	size_t n = 0;
	bool first = true;
	int rc = BW_OK;

	if (o->filter.source == NULL) {
		rc = bw_store_source_names(st, &names, &n, err);
		if (rc)
			return rc;
	}
	fputs("{\"response\":[", out);
	if (o->filter.source) {
		rc = export_source(st, o, o->filter.source, out, &first, err);
	} else {
		for (size_t i = 0; i < n && rc == BW_OK; i++)
			rc = export_source(st, o, names[i], out, &first, err);
	}
	bw_store_free_names(names);
	if (rc)
		return rc;
	fputs(first ? "]}\n" : "\n]}\n", out);
	return BW_OK;
}
