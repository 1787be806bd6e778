/*
 * campaign.c - campaigns from the store (see campaign.h).
 *
 * One pass over the live records (the cursor gives them by type, value and
 * source, so the records of one indicator come together) makes one member
 * per indicator and links it at once through a map from link keys to the
 * first member that had the key:
 *
 *   "t" kind name      event, report, campaign, actor and malware tags
 *   "x" source ext     the external id (the values of one STIX pattern)
 *   "d" domain         domain indicators, for the URL and e-mail hosts
 *                      (which are kept aside and linked after the pass, so
 *                      that the domain may come after the URL)
 *
 * After the pass, the resolution table (every domain|ip pair of every
 * source) links each address to the domains it resolves to, where both
 * halves have a live record of the pair's source: the indicator ids the
 * query gives are found among the members through an array sorted by id.
 *
 * Addresses get one entry per network, /24 (IPv4) or /64 (IPv6) and, with
 * a geo table, ASN, in one flat array; after the pass it is sorted by
 * network and first_seen and each network's run is swept once: a member is
 * linked to the network's running group when it was
 * first seen within the window after the group's latest last_seen.
 *
 * Union-find uses path halving and union by size.  The members of each
 * root are then gathered, sorted, and their tags collected.  All strings
 * live in one string map arena (interned), so a campaign set is freed at
 * once.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "intel/campaign.h"

#define KEY_MAX (BW_TAG_NAME_MAX + BW_SOURCE_NAME_MAX + BW_EXTERNAL_ID_MAX + 8)

struct member {
	struct bw_campaign_member pub;
	/* its sources and tags: ranges of the set's flat arrays (the records
	 * of one indicator come together, so its entries are contiguous) */
	size_t src_off, tag_off, ntags;
};

/* A tag that names something (interned strings). */
struct ntag {
	const char *kind, *name;
};

/* An address in a network: kind 0 an IPv4 /24, 1 an IPv6 /64, 2 an ASN,
 * with the network's number in net. */
struct netentry {
	uint64_t net;
	int kind;
	size_t m;
	int64_t first, last;
};

struct bw_campaigns {
	struct bw_strmap *strings; /* interned strings, and the arena */
	struct member *m;
	size_t n, cap;
	size_t *parent, *size;
	struct bw_campaign *c;
	size_t nc;
	const char **srcs;  /* the members' sources, by src_off */
	size_t nsrcs, srccap;
	struct ntag *tags;  /* the members' naming tags, by tag_off */
	size_t ntags, tagcap;
	/* the members of all campaigns, and the tag arrays, in one block each */
	const struct bw_campaign_member **mlist;
	const char **tlist;
};

const char *
bw_campaign_reason_name(unsigned bit)
{
	switch (bit) {
	case BW_LINK_EVENT: return "event";
	case BW_LINK_TAG: return "tag";
	case BW_LINK_RESOLUTION: return "resolution";
	case BW_LINK_HOST: return "host";
	case BW_LINK_PREFIX: return "prefix";
	case BW_LINK_ASN: return "asn";
	default: return NULL;
	}
}

void
bw_campaigns_free(struct bw_campaigns *c)
{
	if (c == NULL)
		return;
	bw_free(c->m);
	bw_free(c->srcs);
	bw_free(c->tags);
	bw_free(c->parent);
	bw_free(c->size);
	bw_free(c->c);
	bw_free(c->mlist);
	bw_free(c->tlist);
	bw_strmap_free(c->strings);
	bw_free(c);
}

size_t
bw_campaigns_count(const struct bw_campaigns *c)
{
	return c->nc;
}

const struct bw_campaign *
bw_campaigns_get(const struct bw_campaigns *c, size_t i)
{
	return i < c->nc ? &c->c[i] : NULL;
}

size_t
bw_campaigns_indicators(const struct bw_campaigns *c)
{
	return c->n;
}

/* ---- union-find --------------------------------------------------------- */

static size_t
find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Links a and b; the reason is kept on the root. */
static void
unite(struct bw_campaigns *c, unsigned *why, size_t a, size_t b, unsigned reason)
{
	size_t ra = find(c->parent, a), rb = find(c->parent, b);

	if (ra != rb) {
		if (c->size[ra] < c->size[rb]) {
			size_t t = ra;
			ra = rb;
			rb = t;
		}
		c->parent[rb] = ra;
		c->size[ra] += c->size[rb];
		why[ra] |= why[rb];
	}
	why[ra] |= reason;
}

/* ---- the pass over the store -------------------------------------------- */

static const char *
intern(struct bw_strmap *s, const char *str, struct bw_err *err)
{
	size_t n = strlen(str);
	void *v = NULL;
	char *copy;

	if (bw_strmap_find(s, str, n, &v))
		return v;
	copy = bw_strmap_strdup(s, str, n);
	if (copy == NULL || bw_strmap_put(s, str, n, copy, err)) {
		bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		return NULL;
	}
	return copy;
}

static int
linking_kind(const char *kind)
{
	return strcmp(kind, BW_TAG_KIND_EVENT) == 0 ||
	       strcmp(kind, BW_TAG_KIND_REPORT) == 0 ||
	       strcmp(kind, BW_TAG_KIND_CAMPAIGN) == 0 ||
	       strcmp(kind, BW_TAG_KIND_ACTOR) == 0 ||
	       strcmp(kind, BW_TAG_KIND_MALWARE) == 0;
}

/* Links member i through key: the first member with the key is the
 * anchor of all later ones. */
static int
link_key(struct bw_campaigns *c, struct bw_strmap *keys, unsigned *why,
	 const char *key, size_t klen, size_t i, unsigned reason,
	 struct bw_err *err)
{
	void *v = NULL;

	if (bw_strmap_find(keys, key, klen, &v)) {
		unite(c, why, (size_t)(uintptr_t)v - 1, i, reason);
		return BW_OK;
	}
	return bw_strmap_put(keys, key, klen, (void *)(uintptr_t)(i + 1), err);
}

/* Adds the networks of address member i (its /24 or /64, and its ASN
 * with a geo table) to the array *ne. */
static int
add_nets(struct netentry **ne, size_t *n, size_t *cap, const struct member *m,
	 size_t i, const struct bw_geo *geo, struct bw_err *err)
{
	unsigned char a[16];
	struct netentry e[2];
	size_t k = 0;

	if (m->pub.type == BW_IOC_IPV4 && inet_pton(AF_INET, m->pub.value, a) == 1) {
		e[k].kind = 0;
		e[k++].net = (uint64_t)a[0] << 16 | (uint64_t)a[1] << 8 | a[2];
	} else if (m->pub.type == BW_IOC_IPV6 && inet_pton(AF_INET6, m->pub.value, a) == 1) {
		e[k].kind = 1;
		e[k].net = 0;
		for (int j = 0; j < 8; j++)
			e[k].net = e[k].net << 8 | a[j];
		k++;
	} else {
		return BW_OK;
	}
	if (geo && bw_geo_has_asn(geo)) {
		struct bw_geo_asn as;
		if (bw_geo_asn(geo, m->pub.value, &as, NULL) == BW_OK && as.asn) {
			e[k].kind = 2;
			e[k++].net = as.asn;
		}
	}
	for (size_t j = 0; j < k; j++) {
		struct netentry *g = bw_grow(*ne, cap, *n + 1, sizeof(**ne));
		if (g == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		*ne = g;
		e[j].m = i;
		e[j].first = m->pub.first_seen;
		e[j].last = m->pub.last_seen > m->pub.first_seen ? m->pub.last_seen
								 : m->pub.first_seen;
		(*ne)[(*n)++] = e[j];
	}
	return BW_OK;
}

static int
cmp_net(const void *a, const void *b)
{
	const struct netentry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->m < y->m ? -1 : x->m > y->m;
}

/* Links the n entries of one network, sorted by first_seen: each joins the
 * running group when first seen within window of the group's latest
 * last_seen, else starts a new one. */
static void
sweep(struct bw_campaigns *c, unsigned *why, const struct netentry *e, size_t n,
      int64_t window, unsigned reason)
{
	int64_t reach = e[0].last;
	size_t anchor = e[0].m;

	for (size_t i = 1; i < n; i++) {
		if (e[i].first <= reach + window) {
			unite(c, why, anchor, e[i].m, reason);
			if (e[i].last > reach)
				reach = e[i].last;
		} else {
			anchor = e[i].m;
			reach = e[i].last;
		}
	}
}

/* A member by its indicator id, for the resolution pairs. */
struct byid {
	int64_t id;
	size_t m;
};

static int
cmp_byid(const void *a, const void *b)
{
	const struct byid *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct byid *
member_by_id(const struct byid *ids, size_t n, int64_t id)
{
	struct byid key = {id, 0};

	return bsearch(&key, ids, n, sizeof(*ids), cmp_byid);
}

/* Links every address to the domains it resolves to: the pairs of the
 * resolution table that are not revoked and whose two halves have a live
 * record of the pair's source (as the members were read). */
static int
link_resolutions(struct bw_campaigns *c, struct bw_store *st, unsigned *why,
		 struct bw_err *err)
{
	struct byid *ids = NULL;
	sqlite3_stmt *s = NULL;
	int rc, step;

	if (c->n == 0)
		return BW_OK;
	ids = bw_calloc(c->n, sizeof(*ids));
	if (ids == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
	for (size_t i = 0; i < c->n; i++) {
		ids[i].id = c->m[i].pub.indicator_id;
		ids[i].m = i;
	}
	qsort(ids, c->n, sizeof(*ids), cmp_byid);
	rc = bw_store_prepare(st,
			      "SELECT res.ip_id, d.id FROM resolution res"
			      " JOIN indicator d ON d.type = ?1 AND d.value = res.domain"
			      " JOIN record ri ON ri.indicator_id = res.ip_id"
			      "  AND ri.source_id = res.source_id"
			      "  AND ri.revoked = 0 AND ri.expired = 0"
			      " JOIN record rd ON rd.indicator_id = d.id"
			      "  AND rd.source_id = res.source_id"
			      "  AND rd.revoked = 0 AND rd.expired = 0"
			      " WHERE res.revoked = 0", &s, err);
	if (rc)
		goto out;
	sqlite3_bind_int(s, 1, BW_IOC_DOMAIN);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const struct byid *ip = member_by_id(ids, c->n, sqlite3_column_int64(s, 0));
		const struct byid *dom = member_by_id(ids, c->n, sqlite3_column_int64(s, 1));
		if (ip && dom)
			unite(c, why, dom->m, ip->m, BW_LINK_RESOLUTION);
	}
	if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "reading resolutions for campaigns");
out:
	sqlite3_finalize(s);
	bw_free(ids);
	return rc;
}

/* Adds a record's facts to member m (index i). */
static int
add_record(struct bw_campaigns *c, struct bw_strmap *keys, unsigned *why,
	   size_t i, const struct bw_record_out *r, struct bw_err *err)
{
	struct member *m = &c->m[i];
	char key[KEY_MAX];
	int n, rc;

	if (r->first_seen && (m->pub.first_seen == 0 || r->first_seen < m->pub.first_seen))
		m->pub.first_seen = r->first_seen;
	if (r->last_seen > m->pub.last_seen)
		m->pub.last_seen = r->last_seen;
	{
		const char *s = intern(c->strings, r->source, err), **ns;
		if (s == NULL)
			return BW_ENOMEM;
		ns = bw_grow(c->srcs, &c->srccap, c->nsrcs + 1, sizeof(*c->srcs));
		if (ns == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		c->srcs = ns;
		c->srcs[c->nsrcs++] = s;
		m->pub.nsources++;
	}
	for (size_t t = 0; t < r->ntags; t++) {
		const char *kind = r->tags[t].kind, *name = r->tags[t].name;
		struct ntag *nt;

		if (!linking_kind(kind))
			continue;
		n = snprintf(key, sizeof(key), "t%s\x1f%s", kind, name);
		if (n < 0 || (size_t)n >= sizeof(key))
			continue;
		rc = link_key(c, keys, why, key, (size_t)n, i,
			      strcmp(kind, BW_TAG_KIND_EVENT) == 0 ||
					      strcmp(kind, BW_TAG_KIND_REPORT) == 0
				      ? BW_LINK_EVENT : BW_LINK_TAG, err);
		if (rc)
			return rc;
		nt = bw_grow(c->tags, &c->tagcap, c->ntags + 1, sizeof(*c->tags));
		if (nt == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		c->tags = nt;
		if ((nt[c->ntags].name = intern(c->strings, name, err)) == NULL ||
		    (nt[c->ntags].kind = intern(c->strings, kind, err)) == NULL)
			return BW_ENOMEM;
		c->ntags++;
		m->ntags++;
	}
	if (r->external_id && r->external_id[0]) {
		n = snprintf(key, sizeof(key), "x%s\x1f%s", r->source, r->external_id);
		if (n > 0 && (size_t)n < sizeof(key)) {
			rc = link_key(c, keys, why, key, (size_t)n, i, BW_LINK_RESOLUTION, err);
			if (rc)
				return rc;
		}
	}
	return BW_OK;
}

struct hostlink {
	size_t m;
	const char *host;
};

static int
cmp_member_ptr(const void *a, const void *b)
{
	const struct bw_campaign_member *x = *(const struct bw_campaign_member *const *)a;
	const struct bw_campaign_member *y = *(const struct bw_campaign_member *const *)b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->value, y->value);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_campaign(const void *a, const void *b)
{
	const struct bw_campaign *x = a, *y = b;

	if (x->nmembers != y->nmembers)
		return x->nmembers > y->nmembers ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Sorted distinct names of kind among the members of campaign k, appended
 * at *tl; returns how many. */
static size_t
gather_tags(struct bw_campaigns *c, const struct bw_campaign *k, const char *kind,
	    const char **tl)
{
	size_t n = 0, w = 0;

	for (size_t i = 0; i < k->nmembers; i++) {
		const struct member *m = (const struct member *)k->members[i];
		for (size_t t = m->tag_off; t < m->tag_off + m->ntags; t++)
			if (strcmp(c->tags[t].kind, kind) == 0)
				tl[n++] = c->tags[t].name;
	}
	qsort(tl, n, sizeof(*tl), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (w == 0 || strcmp(tl[w - 1], tl[i]) != 0)
			tl[w++] = tl[i];
	return w;
}

static int
build(struct bw_campaigns *c, const unsigned *why, size_t min_size,
      struct bw_err *err)
{
	size_t *count = NULL, *start = NULL, nc = 0, ntags = 0, pos = 0, tpos = 0;
	int rc = BW_OK;

	count = bw_calloc(c->n + 1, sizeof(*count));
	start = bw_calloc(c->n + 1, sizeof(*start));
	if (count == NULL || start == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		goto out;
	}
	for (size_t i = 0; i < c->n; i++)
		count[find(c->parent, i)]++;
	for (size_t i = 0; i < c->n; i++)
		if (count[i] >= min_size) {
			nc++;
			start[i] = pos;
			pos += count[i];
		}
	for (size_t i = 0; i < c->n; i++)
		if (count[find(c->parent, i)] >= min_size)
			ntags += c->m[i].ntags;
	c->c = bw_calloc(nc ? nc : 1, sizeof(*c->c));
	c->mlist = bw_calloc(pos ? pos : 1, sizeof(*c->mlist));
	c->tlist = bw_calloc(4 * ntags + 1, sizeof(*c->tlist));
	if (c->c == NULL || c->mlist == NULL || c->tlist == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
		goto out;
	}
	/* members, grouped by root (start[] moves to the group's end) */
	for (size_t i = 0; i < c->n; i++) {
		size_t r = find(c->parent, i);
		if (count[r] >= min_size)
			c->mlist[start[r]++] = &c->m[i].pub;
	}
	pos = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct bw_campaign *k;
		const struct bw_campaign_member *first;
		const char *parts[3];

		if (count[i] < min_size)
			continue;
		k = &c->c[c->nc++];
		k->members = c->mlist + pos;
		k->nmembers = count[i];
		k->reasons = why[i];
		pos += count[i];
		qsort((void *)k->members, k->nmembers, sizeof(*k->members), cmp_member_ptr);
		first = k->members[0];
		parts[0] = "campaign";
		parts[1] = bw_ioc_type_name(first->type);
		parts[2] = first->value;
		bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, k->id);
		for (size_t j = 0; j < k->nmembers; j++) {
			const struct bw_campaign_member *m = k->members[j];
			if (m->first_seen && (k->first_seen == 0 || m->first_seen < k->first_seen))
				k->first_seen = m->first_seen;
			if (m->last_seen > k->last_seen)
				k->last_seen = m->last_seen;
		}
		k->actors = c->tlist + tpos;
		tpos += k->nactors = gather_tags(c, k, BW_TAG_KIND_ACTOR, c->tlist + tpos);
		k->malware = c->tlist + tpos;
		tpos += k->nmalware = gather_tags(c, k, BW_TAG_KIND_MALWARE, c->tlist + tpos);
		k->named = c->tlist + tpos;
		tpos += k->nnamed = gather_tags(c, k, BW_TAG_KIND_CAMPAIGN, c->tlist + tpos);
		k->events = c->tlist + tpos;
		tpos += k->nevents = gather_tags(c, k, BW_TAG_KIND_EVENT, c->tlist + tpos);
		{
			size_t nr = gather_tags(c, k, BW_TAG_KIND_REPORT, c->tlist + tpos);
			tpos += nr;
			k->nevents += nr;
		}
	}
out:
	bw_free(count);
	bw_free(start);
	return rc;
}

int
bw_campaigns_compute(struct bw_store *st, const struct bw_campaign_opts *opts,
		     struct bw_campaigns **out, struct bw_err *err)
{
	struct bw_record_filter f = {BW_IOC_ANY, 0, 0, NULL};
	struct bw_campaigns *c;
	struct bw_store_cursor *cur = NULL;
	struct bw_strmap *keys = NULL;
	struct netentry *nets = NULL;
	size_t nnets = 0, netcap = 0;
	struct hostlink *hl = NULL;
	size_t nhl = 0, hlcap = 0, mcap;
	unsigned *why = NULL;
	const struct bw_record_out *r;
	int64_t last_ind = -1, window;
	size_t min_size;
	int rc, s;

	*out = NULL;
	window = opts && opts->window > 0 ? opts->window : BW_CAMPAIGN_WINDOW_DEFAULT;
	min_size = opts && opts->min_size >= 2 ? opts->min_size : 2;
	c = bw_calloc(1, sizeof(*c));
	if (c == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
	if ((rc = bw_strmap_new((size_t)BW_CAMPAIGN_INDICATORS_MAX, &c->strings, err)) ||
	    (rc = bw_strmap_new(4 * (size_t)BW_CAMPAIGN_INDICATORS_MAX, &keys, err)))
		goto out;
	rc = bw_store_cursor_open(st, &f, &cur, err);
	if (rc)
		goto out;
	while ((s = bw_store_cursor_next(cur, &r, err)) == 1) {
		size_t i;

		if (r->indicator_id != last_ind) {
			struct member *nm;
			if (c->n >= (size_t)BW_CAMPAIGN_INDICATORS_MAX) {
				rc = bw_err_set(err, BW_ELIMIT, "more than %ld indicators",
						BW_CAMPAIGN_INDICATORS_MAX);
				goto out;
			}
			mcap = c->cap;
			nm = bw_grow(c->m, &mcap, c->n + 1, sizeof(*c->m));
			if (nm == NULL)
				goto nomem;
			c->m = nm;
			if (mcap != c->cap) {
				size_t *np = bw_realloc(c->parent, mcap * sizeof(*np));
				if (np == NULL)
					goto nomem;
				c->parent = np;
				np = bw_realloc(c->size, mcap * sizeof(*np));
				if (np == NULL)
					goto nomem;
				c->size = np;
				unsigned *nw = bw_realloc(why, mcap * sizeof(*nw));
				if (nw == NULL)
					goto nomem;
				why = nw;
				c->cap = mcap;
			}
			i = c->n++;
			memset(&c->m[i], 0, sizeof(c->m[i]));
			c->m[i].src_off = c->nsrcs;
			c->m[i].tag_off = c->ntags;
			c->parent[i] = i;
			c->size[i] = 1;
			why[i] = 0;
			c->m[i].pub.indicator_id = r->indicator_id;
			c->m[i].pub.type = r->type;
			if ((c->m[i].pub.value = bw_strmap_strdup(c->strings, r->value,
								  strlen(r->value))) == NULL)
				goto nomem;
			last_ind = r->indicator_id;
			if (r->type == BW_IOC_DOMAIN) {
				char key[260];
				int n = snprintf(key, sizeof(key), "d%s", r->value);
				if (n > 0 && (size_t)n < sizeof(key) &&
				    (rc = bw_strmap_put(keys, key, (size_t)n,
							(void *)(uintptr_t)(i + 1), err)))
					goto out;
			} else if (r->type == BW_IOC_URL || r->type == BW_IOC_EMAIL) {
				char host[256];
				struct hostlink *nh;
				if (bw_ioc_host(r->type, r->value, host, sizeof(host))) {
					nh = bw_grow(hl, &hlcap, nhl + 1, sizeof(*hl));
					if (nh == NULL)
						goto nomem;
					hl = nh;
					hl[nhl].m = i;
					if ((hl[nhl].host = intern(c->strings, host, err)) == NULL)
						goto nomem;
					nhl++;
				}
			}
		}
		i = c->n - 1;
		rc = add_record(c, keys, why, i, r, err);
		if (rc)
			goto out;
	}
	if (s < 0) {
		rc = err ? err->code : BW_ESTORE;
		goto out;
	}
	bw_store_cursor_free(cur);
	cur = NULL;
	for (size_t i = 0; i < c->n; i++)
		c->m[i].pub.sources = c->srcs + c->m[i].src_off;

	if ((rc = link_resolutions(c, st, why, err)))
		goto out;
	/* hosts of URLs and addresses that are domain indicators */
	for (size_t k = 0; k < nhl; k++) {
		char key[260];
		int n = snprintf(key, sizeof(key), "d%s", hl[k].host);
		void *v = NULL;
		if (n > 0 && (size_t)n < sizeof(key) && bw_strmap_find(keys, key, (size_t)n, &v))
			unite(c, why, (size_t)(uintptr_t)v - 1, hl[k].m, BW_LINK_HOST);
	}
	/* networks within the window */
	for (size_t i = 0; i < c->n; i++)
		if ((rc = add_nets(&nets, &nnets, &netcap, &c->m[i], i,
				   opts ? opts->geo : NULL, err)))
			goto out;
	qsort(nets, nnets, sizeof(*nets), cmp_net);
	for (size_t i = 0, j; i < nnets; i = j) {
		for (j = i + 1; j < nnets && nets[j].kind == nets[i].kind &&
				nets[j].net == nets[i].net; j++)
			;
		if (nets[i].kind == 2 && j - i > BW_CAMPAIGN_ASN_MAX)
			continue;
		sweep(c, why, nets + i, j - i, window,
		      nets[i].kind == 2 ? BW_LINK_ASN : BW_LINK_PREFIX);
	}
	rc = build(c, why, min_size, err);
	if (rc)
		goto out;
	qsort(c->c, c->nc, sizeof(*c->c), cmp_campaign);
	*out = c;
	c = NULL;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory computing campaigns");
out:
	bw_free(nets);
	bw_store_cursor_free(cur);
	bw_strmap_free(keys);
	bw_free(hl);
	bw_free(why);
	bw_campaigns_free(c);
	return rc;
}

/* ---- STIX --------------------------------------------------------------- */

#define STIX_ID_MAX 80

/* "type--uuid5(parts)" as export_stix.c makes its ids. */
static void
stix_id(char *out, const char *type, const char *const *parts, size_t n)
{
	size_t tl = strlen(type);

	memcpy(out, type, tl);
	memcpy(out + tl, "--", 2);
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, n, out + tl + 2);
}

static int
put_obj(FILE *out, json_t *o, int *first, struct bw_err *err)
{
	int rc = BW_OK;

	if (o == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory building STIX campaigns");
	if (!*first)
		fputs(",\n", out);
	*first = 0;
	if (json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		rc = bw_err_set(err, BW_EIO, "writing STIX campaigns failed");
	json_decref(o);
	return rc;
}

static int
relationship(FILE *out, int *first, const char *src, const char *type,
	     const char *dst, const char *ts, struct bw_err *err)
{
	char id[STIX_ID_MAX];
	const char *parts[3] = {src, type, dst};

	stix_id(id, "relationship", parts, 3);
	return put_obj(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				      "type", "relationship", "spec_version", "2.1",
				      "id", id, "created", ts, "modified", ts,
				      "relationship_type", type, "source_ref", src,
				      "target_ref", dst), first, err);
}

int
bw_campaigns_write_stix(const struct bw_campaigns *c, FILE *out, int64_t now,
			struct bw_err *err)
{
	char bid[STIX_ID_MAX], nowt[BW_TIME_TEXT_MAX];
	int first = 1, rc = BW_OK;

	bw_time_format_ms(now, nowt);
	{
		const char *parts[2] = {"campaigns", nowt};
		stix_id(bid, "bundle", parts, 2);
	}
	/* no campaigns: a bundle without the (then optional) array, which may
	 * not be empty */
	if (c->nc == 0) {
		fprintf(out, "{\"type\":\"bundle\",\"id\":\"%s\"}\n", bid);
		return ferror(out) ? bw_err_set(err, BW_EIO, "writing STIX campaigns failed")
				   : BW_OK;
	}
	fprintf(out, "{\"type\":\"bundle\",\"id\":\"%s\",\"objects\":[\n", bid);
	for (size_t k = 0; k < c->nc && rc == BW_OK; k++) {
		const struct bw_campaign *cp = &c->c[k];
		char cid[STIX_ID_MAX], fs[BW_TIME_TEXT_MAX], ls[BW_TIME_TEXT_MAX];
		char name[BW_TAG_NAME_MAX + 64], desc[256];
		const char *created = nowt;
		json_t *o;

		memcpy(cid, "campaign--", 10);
		memcpy(cid + 10, cp->id, BW_UUID_TEXT_LEN + 1);
		if (cp->first_seen)
			created = bw_time_format_ms(cp->first_seen, fs);
		if (cp->nnamed)
			snprintf(name, sizeof(name), "%s", cp->named[0]);
		else
			snprintf(name, sizeof(name), "bulwark campaign %.8s", cp->id);
		snprintf(desc, sizeof(desc), "%zu indicators linked by shared "
			 "infrastructure or context (bulwark campaigns)", cp->nmembers);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "campaign",
			      "spec_version", "2.1", "id", cid, "created", created,
			      "modified", nowt, "name", name, "description", desc);
		if (o && cp->first_seen)
			json_object_set_new(o, "first_seen", json_string(fs));
		if (o && cp->last_seen && cp->last_seen >= cp->first_seen)
			json_object_set_new(o, "last_seen",
					    json_string(bw_time_format_ms(cp->last_seen, ls)));
		rc = put_obj(out, o, &first, err);
		for (size_t i = 0; rc == BW_OK && i < cp->nmembers; i++) {
			const struct bw_campaign_member *m = cp->members[i];
			for (size_t s = 0; rc == BW_OK && s < m->nsources; s++) {
				const char *parts[3] = {m->sources[s], bw_ioc_type_name(m->type),
							m->value};
				char iid[STIX_ID_MAX];
				stix_id(iid, "indicator", parts, 3);
				rc = relationship(out, &first, iid, "indicates", cid, nowt, err);
			}
		}
		for (size_t i = 0; rc == BW_OK && i < cp->nactors; i++) {
			const char *parts[2] = {BW_TAG_KIND_ACTOR, cp->actors[i]};
			char aid[STIX_ID_MAX];
			stix_id(aid, "threat-actor", parts, 2);
			rc = relationship(out, &first, cid, "attributed-to", aid, nowt, err);
		}
		for (size_t i = 0; rc == BW_OK && i < cp->nmalware; i++) {
			const char *parts[2] = {BW_TAG_KIND_MALWARE, cp->malware[i]};
			char mid[STIX_ID_MAX];
			stix_id(mid, "malware", parts, 2);
			rc = relationship(out, &first, cid, "uses", mid, nowt, err);
		}
	}
	fputs("\n]}\n", out);
	if (rc == BW_OK && ferror(out))
		rc = bw_err_set(err, BW_EIO, "writing STIX campaigns failed");
	return rc;
}
