/*
 * misp.c - MISP event data: feed event files, bare events, lists of events
 * and REST results.
 *
 * Shapes read (the first byte and, for an object, its first member decide):
 *
 *   {"Event":{...}}                 a feed event file, events/view
 *   {"Attribute":[...], ...}        a bare event (also just "Object"/"info")
 *   [{"Event":{...}}, ...]          a list of events
 *   {"response":[{"Event":...}]}    a REST search result
 *   {"response":{"Attribute":[]}}   an attributes/restSearch result
 *
 * Memory stays bounded whatever the file size: a list and a response whose
 * first member is the array are streamed one event at a time with jscan and
 * each event is parsed with jansson; a single object is read whole with
 * bw_reader_fill, and one event may be at most BW_FEED_JSON_ELEMENT_MAX.
 *
 * What an attribute becomes:
 *   domain, hostname, hostname|port          domain
 *   ip-src, ip-dst, ip-src|port, ip-dst|port address or CIDR
 *   domain|ip                                two records, the domain and the
 *                                            address (whose external id gets
 *                                            a "|ip" suffix so that the two
 *                                            records keep distinct ids)
 *   url                                      url
 *   md5, sha1, sha256, filename|<hash>       the hash
 *   email, email-src, email-dst              email
 * "link" is a reference to a report about the event, not an indicator, and
 * is counted unsupported like every other type; so is an attribute whose
 * to_ids is false (context, not something to detect).  to_ids absent counts
 * as true: MISP's own default for the types above is to_ids on.  deleted
 * (on the attribute or its object) makes the record revoked.
 *
 * Tags (the attribute's, then the event's): tlp:<level> (the most
 * restrictive one wins when a level states several); misp-galaxy clusters
 * of actor and malware galaxy types, as Galaxy[] entries or as
 * misp-galaxy:<type>="X" tags, become actor and malware tags; the machine
 * tags bulwark writes itself (bulwark:confidence, valid-from, valid-until,
 * share-with, campaign, external-id, tag); the confidence-level taxonomy
 * when no bulwark:confidence says more; other machine tags
 * (namespace:predicate[="value"]) are dropped; everything else is a label.
 * A value stated on the attribute wins over the event's.
 *
 * A file holding no event data at all (a galaxy, a feed manifest, an
 * events/index listing of event summaries) is refused whole: BW_EFORMAT.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "feed/feed.h"
#include "feed/jscan.h"
#include "feed/reader.h"

#define READ_STEP (1024u * 1024)
#define PREFIX_MAX 48
#define WHERE_MAX 128

/* What the tags (and galaxies) of one level, event or attribute, state. */
struct scope {
	int tlp;
	int conf_tag;   /* bulwark:confidence, or -1 */
	int conf_level; /* confidence-level taxonomy, or -1 */
	int64_t valid_from, valid_until;
	bool has_ext;
	char ext[BW_EXTERNAL_ID_MAX + 1];
	struct bw_tag tags[BW_RECORD_TAGS_MAX];
	char names[BW_RECORD_TAGS_MAX][BW_TAG_NAME_MAX + 1];
	size_t ntags;
	char rcpt[BW_RECORD_RECIPIENTS_MAX][3];
	size_t nrcpt;
};

struct misp {
	const struct bw_feed_sink *sink;
	struct bw_err *err;
	struct scope ev, at;
	struct bw_feed_record rec;
	const char *source;      /* Orgc/Org name of the current event */
	char prefix[PREFIX_MAX]; /* "response[2]." or "[2]." or "" */
	const char *list_key;    /* "response", or "" for a root array */
	char ext[BW_EXTERNAL_ID_MAX + 1];
	char pair[BW_IOC_VALUE_MAX + 1]; /* the domain half of a domain|ip */
	long events, summaries, others;
};

/* ---- tags --------------------------------------------------------------- */

static void
scope_reset(struct scope *sc)
{
	sc->tlp = BW_TLP_UNSET;
	sc->conf_tag = sc->conf_level = -1;
	sc->valid_from = sc->valid_until = 0;
	sc->has_ext = false;
	sc->ntags = 0;
	sc->nrcpt = 0;
}

static void
scope_add_tag(struct scope *sc, const char *kind, const char *name, size_t len)
{
	if (len == 0 || len > BW_TAG_NAME_MAX || memchr(name, '\0', len))
		return;
	for (size_t i = 0; i < sc->ntags; i++)
		if (strcmp(sc->tags[i].kind, kind) == 0 &&
		    strlen(sc->names[i]) == len && memcmp(sc->names[i], name, len) == 0)
			return;
	if (sc->ntags >= BW_RECORD_TAGS_MAX)
		return;
	memcpy(sc->names[sc->ntags], name, len);
	sc->names[sc->ntags][len] = '\0';
	sc->tags[sc->ntags].kind = kind;
	sc->tags[sc->ntags].name = sc->names[sc->ntags];
	sc->ntags++;
}

static void
scope_add_recipient(struct scope *sc, const char *s, size_t len)
{
	char cc[3];

	if (len != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
		return;
	cc[0] = (char)toupper((unsigned char)s[0]);
	cc[1] = (char)toupper((unsigned char)s[1]);
	cc[2] = '\0';
	for (size_t i = 0; i < sc->nrcpt; i++)
		if (strcmp(sc->rcpt[i], cc) == 0)
			return;
	if (sc->nrcpt < BW_RECORD_RECIPIENTS_MAX)
		memcpy(sc->rcpt[sc->nrcpt++], cc, 3);
}

static bool
eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* The tag kind of a galaxy (cluster) type, or NULL for galaxies that are
 * neither actors nor malware (attack patterns, sectors, countries, ...). */
static const char *
galaxy_kind(const char *type, size_t len)
{
	static const char *const actors[] = {
		"threat-actor", "microsoft-activity-group", "mitre-intrusion-set",
		"mitre-enterprise-attack-intrusion-set",
		"mitre-mobile-attack-intrusion-set",
		"mitre-pre-attack-intrusion-set", "intrusion-set",
	};
	static const char *const malware[] = {
		"malpedia", "ransomware", "rat", "botnet", "tool", "banker",
		"stealer", "backdoor", "android", "exploit-kit", "cryptominers",
		"malware", "mitre-malware", "mitre-tool",
		"mitre-enterprise-attack-malware", "mitre-enterprise-attack-tool",
		"mitre-mobile-attack-malware", "mitre-mobile-attack-tool",
	};

	for (size_t i = 0; i < sizeof(actors) / sizeof(actors[0]); i++)
		if (eq(type, len, actors[i]))
			return BW_TAG_KIND_ACTOR;
	for (size_t i = 0; i < sizeof(malware) / sizeof(malware[0]); i++)
		if (eq(type, len, malware[i]))
			return BW_TAG_KIND_MALWARE;
	return NULL;
}

/* A MISP machine tag: namespace:predicate, optionally ="value" (or an
 * unquoted =value).  Namespace and predicate hold no white space, '=' or
 * '"'; the predicate may hold ':' (tlp:ex:chr). */
struct mtag {
	const char *ns, *pred, *val;
	size_t nslen, predlen, vallen;
	bool has_val;
};

static bool
split_machine_tag(const char *s, struct mtag *m)
{
	const char *colon = strchr(s, ':'), *p;
	size_t rest;

	if (colon == NULL || colon == s)
		return false;
	for (p = s; p < colon; p++)
		if (isspace((unsigned char)*p) || *p == '=' || *p == '"')
			return false;
	m->ns = s;
	m->nslen = (size_t)(colon - s);
	m->pred = p = colon + 1;
	while (*p && *p != '=') {
		if (isspace((unsigned char)*p) || *p == '"')
			return false;
		p++;
	}
	m->predlen = (size_t)(p - m->pred);
	if (m->predlen == 0)
		return false;
	m->has_val = false;
	m->val = NULL;
	m->vallen = 0;
	if (*p == '\0')
		return true;
	p++;
	rest = strlen(p);
	m->has_val = true;
	if (rest >= 2 && p[0] == '"' && p[rest - 1] == '"') {
		m->val = p + 1;
		m->vallen = rest - 2;
	} else {
		m->val = p;
		m->vallen = rest;
	}
	return true;
}

/* "85" -> 85; -1 unless a whole number 0-100. */
static int
parse_percent(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 100 ? v : -1;
}

static void
read_bulwark_tag(struct scope *sc, const struct mtag *m, bool attribute)
{
	const char *p = m->pred, *v = m->val;
	size_t pl = m->predlen, vl = m->vallen;
	int64_t t;

	if (eq(p, pl, "confidence")) {
		int c = parse_percent(v, vl);
		if (c >= 0)
			sc->conf_tag = c;
	} else if (eq(p, pl, "valid-until") || eq(p, pl, "valid-from")) {
		if (bw_time_parse(v, vl, &t, NULL) == BW_OK && t > 0) {
			if (eq(p, pl, "valid-until"))
				sc->valid_until = t;
			else
				sc->valid_from = t;
		}
	} else if (eq(p, pl, "share-with")) {
		scope_add_recipient(sc, v, vl);
	} else if (eq(p, pl, "campaign")) {
		scope_add_tag(sc, BW_TAG_KIND_CAMPAIGN, v, vl);
	} else if (eq(p, pl, "tag")) {
		scope_add_tag(sc, BW_TAG_KIND_LABEL, v, vl);
	} else if (eq(p, pl, "event") || eq(p, pl, "report") || eq(p, pl, "lookalike")) {
		/* what bulwark's own MISP export writes for these kinds */
		scope_add_tag(sc, eq(p, pl, "event") ? BW_TAG_KIND_EVENT
				  : eq(p, pl, "report") ? BW_TAG_KIND_REPORT
							: BW_TAG_KIND_LOOKALIKE, v, vl);
	} else if (eq(p, pl, "external-id") && attribute && vl > 0 &&
		   vl <= BW_EXTERNAL_ID_MAX && !memchr(v, '\0', vl)) {
		/* On an event it would give every attribute the same id. */
		memcpy(sc->ext, v, vl);
		sc->ext[vl] = '\0';
		sc->has_ext = true;
	}
}

static void
read_tag(struct scope *sc, const char *name, bool attribute)
{
	static const struct {
		const char *pred;
		int confidence;
	} levels[] = {
		{"completely-confident", 100}, {"usually-confident", 75},
		{"fairly-confident", 50},      {"rarely-confident", 25},
		{"unconfident", 0},
	};
	struct mtag m;

	if (!split_machine_tag(name, &m)) {
		scope_add_tag(sc, BW_TAG_KIND_LABEL, name, strlen(name));
		return;
	}
	if (eq(m.ns, m.nslen, "tlp") && !m.has_val) {
		int level = bw_tlp_parse(m.pred, m.predlen);
		/* Two levels on one thing: keep the more restrictive. */
		if (level != BW_TLP_UNSET && level > sc->tlp)
			sc->tlp = level;
	} else if (eq(m.ns, m.nslen, "misp-galaxy") && m.has_val) {
		const char *kind = galaxy_kind(m.pred, m.predlen);
		if (kind)
			scope_add_tag(sc, kind, m.val, m.vallen);
	} else if (eq(m.ns, m.nslen, "confidence-level") && !m.has_val) {
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (eq(m.pred, m.predlen, levels[i].pred))
				sc->conf_level = levels[i].confidence;
	} else if (eq(m.ns, m.nslen, "bulwark") && m.has_val) {
		read_bulwark_tag(sc, &m, attribute);
	}
	/* any other machine tag: a classification bulwark does not model */
}

/* Tag: [{"name": "..."}, ...] (plain strings accepted too). */
static void
read_tags(struct scope *sc, json_t *tags, bool attribute)
{
	size_t i;
	json_t *t;

	if (!json_is_array(tags))
		return;
	json_array_foreach(tags, i, t) {
		json_t *name = json_is_object(t) ? json_object_get(t, "name") : t;
		if (json_is_string(name))
			read_tag(sc, json_string_value(name), attribute);
	}
}

/* Galaxy: [{"type": ..., "GalaxyCluster": [{"type": ..., "value": ...}]}] */
static void
read_galaxies(struct scope *sc, json_t *galaxies)
{
	size_t i, k;
	json_t *g, *c;

	if (!json_is_array(galaxies))
		return;
	json_array_foreach(galaxies, i, g) {
		json_t *gtype = json_object_get(g, "type");
		json_array_foreach(json_object_get(g, "GalaxyCluster"), k, c) {
			json_t *type = json_object_get(c, "type");
			json_t *value = json_object_get(c, "value");
			const char *kind;

			if (!json_is_string(type))
				type = gtype;
			if (!json_is_string(type) || !json_is_string(value))
				continue;
			kind = galaxy_kind(json_string_value(type), json_string_length(type));
			if (kind)
				scope_add_tag(sc, kind, json_string_value(value),
					      json_string_length(value));
		}
	}
}

/* ---- attributes --------------------------------------------------------- */

enum part {
	WHOLE,       /* the value as it is */
	BEFORE_BAR,  /* "1.2.3.4|80" -> the address */
	AFTER_BAR,   /* "file.exe|<md5>" -> the hash */
	DOMAIN_IP,   /* "example.com|1.2.3.4" -> both */
};

struct attr_type {
	const char *name;
	enum bw_ioc_type hint;
	enum part part;
};

static const struct attr_type attr_types[] = {
	{"domain", BW_IOC_DOMAIN, WHOLE},
	{"hostname", BW_IOC_DOMAIN, WHOLE},
	{"hostname|port", BW_IOC_DOMAIN, BEFORE_BAR},
	{"ip-src", BW_IOC_CIDR, WHOLE},
	{"ip-dst", BW_IOC_CIDR, WHOLE},
	{"ip-src|port", BW_IOC_CIDR, BEFORE_BAR},
	{"ip-dst|port", BW_IOC_CIDR, BEFORE_BAR},
	{"domain|ip", BW_IOC_DOMAIN, DOMAIN_IP},
	{"url", BW_IOC_URL, WHOLE},
	{"md5", BW_IOC_MD5, WHOLE},
	{"sha1", BW_IOC_SHA1, WHOLE},
	{"sha256", BW_IOC_SHA256, WHOLE},
	{"filename|md5", BW_IOC_MD5, AFTER_BAR},
	{"filename|sha1", BW_IOC_SHA1, AFTER_BAR},
	{"filename|sha256", BW_IOC_SHA256, AFTER_BAR},
	{"email", BW_IOC_EMAIL, WHOLE},
	{"email-src", BW_IOC_EMAIL, WHOLE},
	{"email-dst", BW_IOC_EMAIL, WHOLE},
};

static const struct attr_type *
find_type(const char *name)
{
	for (size_t i = 0; i < sizeof(attr_types) / sizeof(attr_types[0]); i++)
		if (strcmp(attr_types[i].name, name) == 0)
			return &attr_types[i];
	return NULL;
}

/* true, 1, "1", "true" */
static bool
json_truthy(json_t *v)
{
	if (json_is_true(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
		return strcmp(json_string_value(v), "1") == 0 ||
		       strcasecmp(json_string_value(v), "true") == 0;
	return false;
}

/* false, 0, "0", "false" */
static bool
json_falsy(json_t *v)
{
	if (json_is_false(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	if (json_is_string(v))
		return strcmp(json_string_value(v), "0") == 0 ||
		       strcasecmp(json_string_value(v), "false") == 0;
	return false;
}

static int64_t
read_time(json_t *v)
{
	int64_t t;

	if (!json_is_string(v) ||
	    bw_time_parse(json_string_value(v), json_string_length(v), &t, NULL) != BW_OK)
		return 0;
	return t;
}

/* True if uuid is the one bulwark's MISP export derives for a record
 * without an external id of its own (see export_misp.c). */
static bool
is_derived_uuid(const char *uuid, const char *source, const struct bw_ioc *ioc)
{
	const char *parts[3] = {source, bw_ioc_type_name(ioc->type), ioc->value};
	char derived[BW_UUID_TEXT_LEN + 1];

	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, derived);
	return strcasecmp(uuid, derived) == 0;
}

/* Fills m->rec (whose ioc is already parsed) from the two scopes and the
 * attribute, and hands it to the sink. */
static int
emit(struct misp *m, json_t *a, bool revoked, bool second_half,
     const char *where)
{
	struct bw_feed_record *r = &m->rec;
	const struct scope *at = &m->at, *ev = &m->ev;
	json_t *uuid = json_object_get(a, "uuid");

	r->source = m->source;
	r->tlp = at->tlp != BW_TLP_UNSET ? at->tlp : ev->tlp;
	r->confidence = at->conf_tag >= 0     ? at->conf_tag
			: at->conf_level >= 0 ? at->conf_level
			: ev->conf_tag >= 0   ? ev->conf_tag
					      : ev->conf_level;
	r->valid_from = at->valid_from ? at->valid_from : ev->valid_from;
	r->valid_until = at->valid_until ? at->valid_until : ev->valid_until;
	r->first_seen = read_time(json_object_get(a, "first_seen"));
	r->last_seen = read_time(json_object_get(a, "last_seen"));
	r->revoked = revoked;
	r->ntags = 0;
	for (size_t i = 0; i < at->ntags; i++)
		bw_feed_record_add_tag(r, at->tags[i].kind, at->tags[i].name);
	for (size_t i = 0; i < ev->ntags; i++)
		bw_feed_record_add_tag(r, ev->tags[i].kind, ev->tags[i].name);
	r->nrecipients = 0;
	for (size_t i = 0; i < at->nrcpt; i++)
		r->recipients[r->nrecipients++] = at->rcpt[i];
	for (size_t i = 0; i < ev->nrcpt && r->nrecipients < BW_RECORD_RECIPIENTS_MAX; i++) {
		bool dup = false;
		for (size_t k = 0; k < at->nrcpt; k++)
			if (strcmp(at->rcpt[k], ev->rcpt[i]) == 0)
				dup = true;
		if (!dup)
			r->recipients[r->nrecipients++] = ev->rcpt[i];
	}

	r->external_id = NULL;
	if (at->has_ext) {
		r->external_id = at->ext;
	} else if (json_is_string(uuid) && json_string_length(uuid) > 0 &&
		   json_string_length(uuid) + 3 <= BW_EXTERNAL_ID_MAX) {
		const char *u = json_string_value(uuid);
		if (second_half) {
			snprintf(m->ext, sizeof(m->ext), "%s|ip", u);
			r->external_id = m->ext;
		} else if (!(m->source && is_derived_uuid(u, m->source, &r->ioc))) {
			r->external_id = u;
		}
	}
	return m->sink->record(m->sink->ctx, r, where, m->err);
}

/* Parses len bytes of v as hint into m->rec.ioc; rejects and returns false
 * on failure.  what names the part for the reason ("address part"). */
static bool
parse_value(struct misp *m, const char *v, size_t len, enum bw_ioc_type hint,
	    const char *what, const char *raw, size_t rawlen, const char *where)
{
	struct bw_err perr;
	char reason[BW_ERR_MSG_MAX + 64];

	bw_feed_record_init(&m->rec);
	if (bw_ioc_parse(v, len, hint, &m->rec.ioc, &perr) == BW_OK) {
		enum bw_ioc_type t = m->rec.ioc.type;
		bool ok = hint == BW_IOC_CIDR
				  ? (t == BW_IOC_IPV4 || t == BW_IOC_IPV6 || t == BW_IOC_CIDR)
				  : t == hint;
		if (ok)
			return true;
		snprintf(perr.msg, sizeof(perr.msg), "a %s, not a %s",
			 bw_ioc_type_name(t), bw_ioc_type_name(hint));
	}
	if (what)
		snprintf(reason, sizeof(reason), "%s: %s", what, perr.msg);
	else
		snprintf(reason, sizeof(reason), "%s", perr.msg);
	m->sink->reject(m->sink->ctx, where, reason, raw, rawlen);
	return false;
}

static int
do_attribute(struct misp *m, json_t *a, bool obj_deleted, const char *where)
{
	const struct attr_type *t;
	json_t *jtype, *jval;
	const char *v, *bar;
	size_t len;
	char reason[160];
	bool revoked;
	int rc;

	if (!json_is_object(a)) {
		m->sink->reject(m->sink->ctx, where, "attribute is not a JSON object",
				NULL, 0);
		return BW_OK;
	}
	jtype = json_object_get(a, "type");
	jval = json_object_get(a, "value");
	if (!json_is_string(jtype)) {
		m->sink->reject(m->sink->ctx, where, "attribute without a \"type\" string",
				json_is_string(jval) ? json_string_value(jval) : NULL,
				json_is_string(jval) ? json_string_length(jval) : 0);
		return BW_OK;
	}
	if (strcmp(json_string_value(jtype), "link") == 0) {
		m->sink->unsupported(m->sink->ctx, where,
				     "attribute type link: a reference to a report, not an indicator");
		return BW_OK;
	}
	t = find_type(json_string_value(jtype));
	if (t == NULL) {
		snprintf(reason, sizeof(reason),
			 "attribute type %.64s is not an indicator type bulwark models",
			 json_string_value(jtype));
		m->sink->unsupported(m->sink->ctx, where, reason);
		return BW_OK;
	}
	if (json_falsy(json_object_get(a, "to_ids"))) {
		m->sink->unsupported(m->sink->ctx, where,
				     "to_ids is false (context, not an indicator)");
		return BW_OK;
	}
	if (!json_is_string(jval)) {
		m->sink->reject(m->sink->ctx, where, "attribute without a \"value\" string",
				NULL, 0);
		return BW_OK;
	}
	v = json_string_value(jval);
	len = json_string_length(jval);
	revoked = obj_deleted || json_truthy(json_object_get(a, "deleted"));

	scope_reset(&m->at);
	read_tags(&m->at, json_object_get(a, "Tag"), true);
	read_galaxies(&m->at, json_object_get(a, "Galaxy"));

	switch (t->part) {
	case WHOLE:
		if (!parse_value(m, v, len, t->hint, NULL, v, len, where))
			return BW_OK;
		return emit(m, a, revoked, false, where);
	case BEFORE_BAR:
		bar = memrchr(v, '|', len);
		if (!parse_value(m, v, bar ? (size_t)(bar - v) : len, t->hint,
				 NULL, v, len, where))
			return BW_OK;
		return emit(m, a, revoked, false, where);
	case AFTER_BAR:
		bar = memrchr(v, '|', len);
		if (bar == NULL) {
			snprintf(reason, sizeof(reason), "%s value without '|'",
				 t->name);
			m->sink->reject(m->sink->ctx, where, reason, v, len);
			return BW_OK;
		}
		if (!parse_value(m, bar + 1, len - (size_t)(bar - v) - 1, t->hint,
				 NULL, v, len, where))
			return BW_OK;
		return emit(m, a, revoked, false, where);
	case DOMAIN_IP:
		bar = memchr(v, '|', len);
		if (bar == NULL) {
			m->sink->reject(m->sink->ctx, where, "domain|ip value without '|'",
					v, len);
			return BW_OK;
		}
		m->pair[0] = '\0';
		if (parse_value(m, v, (size_t)(bar - v), BW_IOC_DOMAIN, "domain part",
				v, len, where)) {
			snprintf(m->pair, sizeof(m->pair), "%s", m->rec.ioc.value);
			rc = emit(m, a, revoked, false, where);
			if (rc)
				return rc;
		}
		if (parse_value(m, bar + 1, len - (size_t)(bar - v) - 1, BW_IOC_CIDR,
				"address part", v, len, where)) {
			/* the resolution itself, kept whole by the store */
			m->rec.resolves = m->pair[0] ? m->pair : NULL;
			return emit(m, a, revoked, true, where);
		}
		return BW_OK;
	}
	return BW_OK;
}

/* ---- events ------------------------------------------------------------- */

static const char *
org_name(json_t *ev, const char *key)
{
	json_t *name = json_object_get(json_object_get(ev, key), "name");

	if (json_is_string(name) && json_string_length(name) > 0)
		return json_string_value(name);
	return NULL;
}

/* One event object; base is the path to it inside the element ("Event."
 * or ""). */
static int
do_event(struct misp *m, json_t *ev, const char *base)
{
	char where[WHERE_MAX];
	json_t *attrs = json_object_get(ev, "Attribute");
	json_t *objs = json_object_get(ev, "Object");
	json_t *a, *o;
	size_t i, k;
	int rc;

	m->events++;
	m->source = org_name(ev, "Orgc");
	if (m->source == NULL)
		m->source = org_name(ev, "Org");
	scope_reset(&m->ev);
	read_tags(&m->ev, json_object_get(ev, "Tag"), false);
	read_galaxies(&m->ev, json_object_get(ev, "Galaxy"));
	/* the event itself, so that its attributes stay linked in the store
	 * (campaigns, src/intel/campaign.h); not the event of bulwark's own
	 * export, whose uuid is derived from the source (export_misp.c) */
	if (json_is_string(json_object_get(ev, "uuid"))) {
		const char *u = json_string_value(json_object_get(ev, "uuid"));
		char derived[BW_UUID_TEXT_LEN + 1];

		if (m->source == NULL ||
		    strcasecmp(u, bw_uuid5(bw_uuid_ns_bulwark, m->source,
					    strlen(m->source), derived)) != 0)
			scope_add_tag(&m->ev, BW_TAG_KIND_EVENT, u, strlen(u));
	}

	if (attrs && !json_is_array(attrs)) {
		snprintf(where, sizeof(where), "%s%sAttribute", m->prefix, base);
		m->sink->reject(m->sink->ctx, where, "\"Attribute\" is not an array",
				NULL, 0);
	}
	json_array_foreach(attrs, i, a) {
		snprintf(where, sizeof(where), "%s%sAttribute[%zu]", m->prefix, base, i);
		rc = do_attribute(m, a, false, where);
		if (rc)
			return rc;
	}
	if (objs && !json_is_array(objs)) {
		snprintf(where, sizeof(where), "%s%sObject", m->prefix, base);
		m->sink->reject(m->sink->ctx, where, "\"Object\" is not an array",
				NULL, 0);
	}
	json_array_foreach(objs, k, o) {
		json_t *oattrs = json_object_get(o, "Attribute");
		bool deleted = json_truthy(json_object_get(o, "deleted"));

		if (!json_is_object(o) || (oattrs && !json_is_array(oattrs))) {
			snprintf(where, sizeof(where), "%s%sObject[%zu]", m->prefix, base, k);
			m->sink->reject(m->sink->ctx, where,
					"object is not a JSON object with an \"Attribute\" array",
					NULL, 0);
			continue;
		}
		json_array_foreach(oattrs, i, a) {
			snprintf(where, sizeof(where), "%s%sObject[%zu].Attribute[%zu]",
				 m->prefix, base, k, i);
			rc = do_attribute(m, a, deleted, where);
			if (rc)
				return rc;
		}
	}
	return BW_OK;
}

enum kind { EVENT, SUMMARY, OTHER };

/* What a JSON value is: an event (*ev and *base set), an event summary of
 * an events/index listing (which names an event but holds no attributes),
 * or something else. */
static enum kind
classify(json_t *j, json_t **ev, const char **base)
{
	json_t *e, *count;

	if (!json_is_object(j))
		return OTHER;
	e = json_object_get(j, "Event");
	if (json_is_object(e)) {
		*ev = e;
		*base = "Event.";
		return EVENT;
	}
	*ev = j;
	*base = "";
	if (json_object_get(j, "Attribute") || json_object_get(j, "Object"))
		return EVENT;
	if (json_object_get(j, "info")) {
		count = json_object_get(j, "attribute_count");
		if (json_object_get(j, "EventTag") ||
		    (count && !json_falsy(count) && !json_is_null(count)))
			return SUMMARY;
		return EVENT;
	}
	return OTHER;
}

/* One element of a list of events. */
static int
do_element(struct misp *m, json_t *j, const char *where)
{
	json_t *ev;
	const char *base;

	switch (classify(j, &ev, &base)) {
	case EVENT:
		return do_event(m, ev, base);
	case SUMMARY:
		m->summaries++;
		m->sink->unsupported(m->sink->ctx, where,
				     "an event summary without attributes (events/index)");
		return BW_OK;
	case OTHER:
		break;
	}
	m->others++;
	m->sink->reject(m->sink->ctx, where,
			"not a MISP event (no Event, Attribute, Object or info member)",
			NULL, 0);
	return BW_OK;
}

/* After a list: refuse it if none of its elements was event data. */
static int
list_verdict(struct misp *m)
{
	if (m->events > 0 || (m->summaries == 0 && m->others == 0))
		return BW_OK;
	if (m->summaries > 0)
		return bw_err_set(m->err, BW_EFORMAT,
				  "a MISP events/index listing (%ld event summaries without "
				  "attributes), not event data: export the events themselves",
				  m->summaries);
	return bw_err_set(m->err, BW_EFORMAT,
			  "no MISP event in the list (%ld elements are not events)",
			  m->others);
}

static int
on_element(void *ctx, const char *text, size_t len, size_t index,
	   struct bw_err *err)
{
	struct misp *m = ctx;
	const char *key = m->list_key;
	char where[WHERE_MAX];
	json_error_t jerr;
	json_t *j;
	int rc;

	(void)err;
	snprintf(m->prefix, sizeof(m->prefix), "%s[%zu].", key, index);
	snprintf(where, sizeof(where), "%s[%zu]", key, index);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		char reason[256];
		m->others++;
		snprintf(reason, sizeof(reason), "not valid JSON: %s", jerr.text);
		m->sink->reject(m->sink->ctx, where, reason, text, len);
		return BW_OK;
	}
	rc = do_element(m, j, where);
	json_decref(j);
	return rc;
}

static int
stream_list(struct misp *m, struct bw_reader *in, const char *key)
{
	struct bw_jscan_cb cb = {on_element, NULL, m};
	int rc;

	m->list_key = key ? key : "";
	rc = bw_jscan_run(in, key, &cb, BW_FEED_JSON_ELEMENT_MAX, NULL, m->err);
	if (rc)
		return rc;
	return list_verdict(m);
}

/* True if the document at h is an object whose first member is
 * "response" holding an array: then it can be streamed. */
static bool
response_first(const char *h, size_t n)
{
	static const char key[] = "\"response\"";
	size_t i = 0;

	while (i < n && isspace((unsigned char)h[i]))
		i++;
	if (i >= n || h[i++] != '{')
		return false;
	while (i < n && isspace((unsigned char)h[i]))
		i++;
	if (n - i < sizeof(key) - 1 || memcmp(h + i, key, sizeof(key) - 1) != 0)
		return false;
	i += sizeof(key) - 1;
	while (i < n && isspace((unsigned char)h[i]))
		i++;
	if (i >= n || h[i++] != ':')
		return false;
	while (i < n && isspace((unsigned char)h[i]))
		i++;
	return i < n && h[i] == '[';
}

/* Reads the whole input (at most one event's worth) and parses it. */
static int
load_whole(struct bw_reader *in, json_t **out, struct bw_err *err)
{
	size_t want = READ_STEP, n;
	const char *p;
	json_error_t jerr;
	int rc;

	*out = NULL;
	for (;;) {
		rc = bw_reader_fill(in, want, BW_FEED_JSON_ELEMENT_MAX, &p, &n, err);
		if (rc)
			return rc;
		if (n < want)
			break;
		if (want == BW_FEED_JSON_ELEMENT_MAX)
			return bw_err_set(err, BW_ELIMIT,
					  "MISP event document of %u bytes or more: one event may "
					  "be at most %u bytes (split it, or give a list of events)",
					  BW_FEED_JSON_ELEMENT_MAX, BW_FEED_JSON_ELEMENT_MAX - 1);
		want = want > BW_FEED_JSON_ELEMENT_MAX / 2 ? BW_FEED_JSON_ELEMENT_MAX
							   : want * 2;
	}
	*out = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return bw_err_set(err, BW_EFORMAT, "not JSON: line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	bw_reader_consume(in, n);
	return BW_OK;
}

/* Why a root object that is no event is not one, for the error. */
static int
refuse_object(json_t *j, struct misp *m)
{
	const char *key;
	json_t *v;
	bool uuid_keys = json_object_size(j) > 0;

	if (json_object_get(j, "GalaxyCluster"))
		return bw_err_set(m->err, BW_EFORMAT,
				  "a MISP galaxy definition, not event data");
	json_object_foreach(j, key, v) {
		if (!bw_uuid_valid(key))
			uuid_keys = false;
	}
	if (uuid_keys)
		return bw_err_set(m->err, BW_EFORMAT,
				  "a MISP feed manifest, not event data: ingest the feed "
				  "directory that holds it");
	return bw_err_set(m->err, BW_EFORMAT,
			  "not MISP event data: no Event, Attribute, Object, info or "
			  "response member");
}

static int
do_document(struct misp *m, json_t *j)
{
	json_t *resp, *ev, *e;
	const char *base;
	char where[WHERE_MAX];
	size_t i;
	int rc;

	resp = json_object_get(j, "response");
	if (resp && !json_object_get(j, "Event") && !json_object_get(j, "Attribute")) {
		if (json_is_array(resp)) {
			json_array_foreach(resp, i, e) {
				snprintf(m->prefix, sizeof(m->prefix), "response[%zu].", i);
				snprintf(where, sizeof(where), "response[%zu]", i);
				rc = do_element(m, e, where);
				if (rc)
					return rc;
			}
			return list_verdict(m);
		}
		/* attributes/restSearch: {"response": {"Attribute": [...]}} */
		snprintf(m->prefix, sizeof(m->prefix), "response.");
		if (classify(resp, &ev, &base) == EVENT)
			return do_event(m, ev, base);
		return bw_err_set(m->err, BW_EFORMAT,
				  "a MISP REST result whose response holds no events");
	}
	m->prefix[0] = '\0';
	switch (classify(j, &ev, &base)) {
	case EVENT:
		return do_event(m, ev, base);
	case SUMMARY:
		return bw_err_set(m->err, BW_EFORMAT,
				  "a MISP event summary without attributes, not event data");
	case OTHER:
		break;
	}
	return refuse_object(j, m);
}

int
bw_feed_parse_misp(struct bw_reader *in, const struct bw_feed_options *o,
		   const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct misp *m = NULL;
	json_t *doc = NULL;
	const char *h;
	size_t n, i = 0;
	int rc;

	(void)o;
	rc = bw_reader_peek(in, &h, &n, err);
	if (rc)
		return rc;
	if (n >= 3 && memcmp(h, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && isspace((unsigned char)h[i]))
		i++;
	if (i >= n)
		return bw_err_set(err, BW_EFORMAT, "empty input, not MISP JSON");
	if (h[i] != '{' && h[i] != '[')
		return bw_err_set(err, BW_EFORMAT,
				  "not JSON (starts with neither '{' nor '['), not MISP");
	m = bw_calloc(1, sizeof(*m));
	if (m == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	m->sink = sink;
	m->err = err;

	if (h[i] == '[') {
		rc = stream_list(m, in, NULL);
	} else if (response_first(h + i, n - i)) {
		rc = stream_list(m, in, "response");
	} else {
		/* a BOM is not JSON to jansson */
		if (i >= 3 && memcmp(h, "\xef\xbb\xbf", 3) == 0)
			bw_reader_consume(in, 3);
		rc = load_whole(in, &doc, err);
		if (rc == BW_OK)
			rc = do_document(m, doc);
	}
	json_decref(doc);
	bw_free(m);
	return rc;
}
