/*
 * view.c - per-tenant visibility and national relevance of an index
 * snapshot (see view.h for what it holds and why).
 *
 * Building, inside the caller's read transaction:
 *   1. the store id -> indicator number map of the snapshot (sorted pairs);
 *   2. the country slots: tenants and the recipients of active restricted
 *      records, sorted;
 *   3. the restricted indicators: every active record of each indicator
 *      that has an active AMBER+STRICT or RED record, in one ordered query,
 *      with tags (interned: one struct bw_tag per distinct kind and name,
 *      so that equal tags are equal pointers) and, for AMBER+STRICT and RED
 *      records, the recipients as a bit set over the slots;
 *   4. national bits: every indicator of the snapshot against every
 *      tenant's scope, then every distinct (indicator, observer) of the
 *      sighting table, the observer's verdict per tenant cached by
 *      observer text.
 * Arrays grow with bw_grow; nothing is shared with the store afterwards.
 */
#include "net/view.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "core/tlp.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"

#define NO_RCPT UINT32_MAX
/* Distinct sighting observers whose verdicts are cached. */
#define OBSERVERS_MAX (1u << 20)

/* The condition of an active record r, with ?1 the build time (as the
 * index decides it). */
#define ACTIVE(r)                                                              \
	" " r ".revoked = 0 AND " r ".expired = 0 AND (" r ".valid_until IS NULL"  \
	" OR " r ".valid_until >= ?1) "

struct vrec {
	int8_t tlp;
	int8_t confidence;  /* -1..100 */
	uint32_t rcpt;      /* first word in rcpt, NO_RCPT if not kept */
	uint32_t tag_first; /* into tagp */
	uint32_t ntags;
};

struct vind {
	uint32_t num; /* indicator number in the snapshot */
	uint32_t first, n; /* its records in vr */
};

struct idmap {
	int64_t sid;
	uint32_t num;
};

struct bw_view {
	size_t ninds;
	char (*slot_cc)[3];
	size_t nslots;
	unsigned char *slot_tenant;
	size_t words; /* per recipient set */
	uint64_t *restricted; /* one bit per indicator */
	struct vind *vi;
	size_t nvi, vi_cap;
	struct vrec *vr;
	size_t nvr, vr_cap;
	uint64_t *rcpt;
	size_t nrcpt, rcpt_cap;
	const struct bw_tag **tagp;
	size_t ntagp, tagp_cap;
	struct bw_strmap *tags;
	uint64_t **national; /* per slot; NULL for a slot without a tenant */
	struct bw_view_stats stats;
};

static inline int
bit(const uint64_t *b, size_t i)
{
	return (int)((b[i / 64] >> (i % 64)) & 1u);
}

static inline void
set_bit(uint64_t *b, size_t i)
{
	b[i / 64] |= (uint64_t)1 << (i % 64);
}

void
bw_view_free(struct bw_view *v)
{
	if (v == NULL)
		return;
	if (v->national)
		for (size_t i = 0; i < v->nslots; i++)
			bw_free(v->national[i]);
	bw_free(v->national);
	bw_free(v->slot_cc);
	bw_free(v->slot_tenant);
	bw_free(v->restricted);
	bw_free(v->vi);
	bw_free(v->vr);
	bw_free(v->rcpt);
	bw_free(v->tagp);
	bw_strmap_free(v->tags);
	bw_free(v);
}

void
bw_view_free_any(void *v)
{
	bw_view_free(v);
}

static int
db_err(sqlite3 *db, struct bw_err *err, const char *what)
{
	return bw_err_set(err, BW_ESTORE, "view: %s: %s", what, sqlite3_errmsg(db));
}

static int
nomem(struct bw_err *err)
{
	return bw_err_set(err, BW_ENOMEM, "out of memory");
}

static int
cmp_idmap(const void *a, const void *b)
{
	const struct idmap *x = a, *y = b;

	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* The indicator number of store id sid, or -1. */
static int64_t
num_of(const struct idmap *map, size_t n, int64_t sid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (map[mid].sid < sid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && map[lo].sid == sid ? (int64_t)map[lo].num : -1;
}

static int
cmp_cc(const void *a, const void *b)
{
	return memcmp(a, b, 2);
}

int
bw_view_slot(const struct bw_view *v, const char *country)
{
	size_t lo = 0, hi = v->nslots;

	if (country == NULL || country[0] == '\0' || country[1] == '\0')
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(v->slot_cc[mid], country, 2);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
is_cc(const unsigned char *s)
{
	return s && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/* 2: the country slots, sorted and distinct; tenants marked. */
static int
load_slots(sqlite3 *db, int64_t now, struct bw_view *v, struct bw_err *err)
{
	static const char sql[] =
		"SELECT country, 1 FROM tenant"
		" UNION ALL "
		"SELECT DISTINCT rr.country, 0 FROM record_recipient rr"
		" JOIN record r ON r.id = rr.record_id"
		" WHERE r.tlp IN (3, 4) AND" ACTIVE("r");
	sqlite3_stmt *s = NULL;
	/* two letters and, in place of the NUL, 1 for a tenant's */
	char (*cc)[3] = NULL;
	size_t n = 0, out = 0;
	int step, rc = BW_OK;

	_Static_assert(BW_TLP_AMBER_STRICT == 3 && BW_TLP_RED == 4, "TLP numbers in SQL");
	cc = bw_calloc(BW_VIEW_SLOTS_MAX * 2, sizeof(*cc));
	if (cc == NULL) {
		rc = nomem(err);
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = db_err(db, err, "preparing the countries");
		goto out;
	}
	sqlite3_bind_int64(s, 1, now);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *c = sqlite3_column_text(s, 0);
		if (!is_cc(c))
			continue; /* no tenant can be named so */
		if (n == BW_VIEW_SLOTS_MAX * 2)
			break; /* cannot happen: at most 676 of each */
		memcpy(cc[n], c, 2);
		cc[n][2] = (char)(sqlite3_column_int(s, 1) ? 1 : 0);
		n++;
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		rc = db_err(db, err, "reading the countries");
		goto out;
	}
	qsort(cc, n, sizeof(*cc), cmp_cc);
	v->slot_cc = bw_calloc(n ? n : 1, sizeof(*v->slot_cc));
	v->slot_tenant = bw_calloc(n ? n : 1, 1);
	if (v->slot_cc == NULL || v->slot_tenant == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && memcmp(v->slot_cc[out - 1], cc[i], 2) == 0) {
			v->slot_tenant[out - 1] |= (unsigned char)cc[i][2];
			continue;
		}
		memcpy(v->slot_cc[out], cc[i], 2);
		v->slot_cc[out][2] = '\0';
		v->slot_tenant[out] = (unsigned char)cc[i][2];
		out++;
	}
	v->nslots = out;
	v->words = (out + 63) / 64;
	if (v->words == 0)
		v->words = 1;
out:
	sqlite3_finalize(s);
	bw_free(cc);
	return rc;
}

/* The interned tag of (kind, name). */
static const struct bw_tag *
intern(struct bw_view *v, const char *kind, const char *name, struct bw_err *err)
{
	char key[BW_TAG_NAME_MAX * 2 + 64];
	struct bw_tag *t;
	size_t kl = strlen(kind), nl = strlen(name);
	void *val = NULL;

	if (kl + nl + 2 > sizeof(key)) {
		bw_err_set(err, BW_ELIMIT, "view: a tag longer than %zu bytes", sizeof(key));
		return NULL;
	}
	memcpy(key, kind, kl);
	key[kl] = '\x1f';
	memcpy(key + kl + 1, name, nl);
	if (bw_strmap_find(v->tags, key, kl + 1 + nl, &val))
		return val;
	t = bw_strmap_alloc(v->tags, sizeof(*t));
	if (t == NULL || (t->kind = bw_strmap_strdup(v->tags, kind, kl)) == NULL ||
	    (t->name = bw_strmap_strdup(v->tags, name, nl)) == NULL) {
		nomem(err);
		return NULL;
	}
	if (bw_strmap_put(v->tags, key, kl + 1 + nl, t, err) != BW_OK)
		return NULL;
	return t;
}

/* One active record of a restricted indicator, with its tags and (for
 * AMBER+STRICT and RED) its recipients. */
static int
add_record(sqlite3 *db, struct bw_view *v, sqlite3_stmt *tags, sqlite3_stmt *rcpt,
	   int64_t rid, int tlp, int conf, struct bw_err *err)
{
	struct vrec *r;
	int step;

	if (v->nvr == v->vr_cap) {
		struct vrec *n = bw_grow(v->vr, &v->vr_cap, v->nvr + 1, sizeof(*v->vr));
		if (n == NULL)
			return nomem(err);
		v->vr = n;
	}
	if (v->nvr >= UINT32_MAX - 1 || v->ntagp >= UINT32_MAX - BW_RECORD_TAGS_MAX)
		return bw_err_set(err, BW_ELIMIT, "view: too many restricted records");
	r = &v->vr[v->nvr];
	memset(r, 0, sizeof(*r));
	r->tlp = (int8_t)tlp;
	r->confidence = (int8_t)(conf >= 0 && conf <= 100 ? conf : -1);
	r->rcpt = NO_RCPT;
	r->tag_first = (uint32_t)v->ntagp;
	sqlite3_reset(tags);
	sqlite3_bind_int64(tags, 1, rid);
	while ((step = sqlite3_step(tags)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(tags, 0);
		const char *nm = (const char *)sqlite3_column_text(tags, 1);
		const struct bw_tag *t;

		if (k == NULL || nm == NULL)
			continue;
		if (r->ntags >= BW_INDEX_TAGS_MAX)
			continue; /* as the index does: beyond the cap, dropped */
		t = intern(v, k, nm, err);
		if (t == NULL)
			return err ? err->code : BW_ENOMEM;
		if (v->ntagp == v->tagp_cap) {
			const struct bw_tag **n = bw_grow(v->tagp, &v->tagp_cap, v->ntagp + 1,
							  sizeof(*v->tagp));
			if (n == NULL)
				return nomem(err);
			v->tagp = n;
		}
		v->tagp[v->ntagp++] = t;
		r->ntags++;
	}
	if (step != SQLITE_DONE)
		return db_err(db, err, "reading tags");
	if (tlp == BW_TLP_AMBER_STRICT || tlp == BW_TLP_RED) {
		if (v->nrcpt + v->words > v->rcpt_cap) {
			uint64_t *n = bw_grow(v->rcpt, &v->rcpt_cap, v->nrcpt + v->words,
					      sizeof(*v->rcpt));
			if (n == NULL)
				return nomem(err);
			v->rcpt = n;
		}
		if (v->nrcpt > UINT32_MAX - v->words - 1)
			return bw_err_set(err, BW_ELIMIT, "view: too many recipient sets");
		r->rcpt = (uint32_t)v->nrcpt;
		memset(v->rcpt + v->nrcpt, 0, v->words * sizeof(*v->rcpt));
		v->nrcpt += v->words;
		sqlite3_reset(rcpt);
		sqlite3_bind_int64(rcpt, 1, rid);
		while ((step = sqlite3_step(rcpt)) == SQLITE_ROW) {
			int slot = bw_view_slot(v, (const char *)sqlite3_column_text(rcpt, 0));
			if (slot >= 0)
				set_bit(v->rcpt + r->rcpt, (size_t)slot);
		}
		if (step != SQLITE_DONE)
			return db_err(db, err, "reading recipients");
	}
	v->nvr++;
	return BW_OK;
}

/* 3: the restricted indicators and all their active records. */
static int
load_restricted(sqlite3 *db, int64_t now, const struct idmap *map, size_t nmap,
		struct bw_view *v, struct bw_err *err)
{
	static const char sql[] =
		"SELECT r.indicator_id, r.id, r.tlp, r.confidence FROM record r"
		" WHERE" ACTIVE("r") "AND r.indicator_id IN"
		"  (SELECT x.indicator_id FROM record x WHERE x.tlp IN (3, 4) AND" ACTIVE("x") ")"
		" ORDER BY r.indicator_id, r.id";
	sqlite3_stmt *s = NULL, *tags = NULL, *rcpt = NULL;
	int64_t last = -1, num = -1;
	int step, rc = BW_OK;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT t.kind, t.name FROM record_tag rt"
				   " JOIN tag t ON t.id = rt.tag_id WHERE rt.record_id = ?1",
			       -1, &tags, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT country FROM record_recipient WHERE record_id = ?1",
			       -1, &rcpt, NULL) != SQLITE_OK) {
		rc = db_err(db, err, "preparing the restricted records");
		goto out;
	}
	sqlite3_bind_int64(s, 1, now);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t sid = sqlite3_column_int64(s, 0);
		int conf = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 3);

		if (sid != last) {
			last = sid;
			num = num_of(map, nmap, sid);
			if (num >= 0) {
				if (v->nvi == v->vi_cap) {
					struct vind *n = bw_grow(v->vi, &v->vi_cap, v->nvi + 1,
								 sizeof(*v->vi));
					if (n == NULL) {
						rc = nomem(err);
						goto out;
					}
					v->vi = n;
				}
				v->vi[v->nvi].num = (uint32_t)num;
				v->vi[v->nvi].first = (uint32_t)v->nvr;
				v->vi[v->nvi].n = 0;
				v->nvi++;
				set_bit(v->restricted, (size_t)num);
			}
		}
		if (num < 0)
			continue; /* not in the snapshot (its value was skipped) */
		rc = add_record(db, v, tags, rcpt, sqlite3_column_int64(s, 1),
				sqlite3_column_int(s, 2), conf, err);
		if (rc)
			goto out;
		v->vi[v->nvi - 1].n++;
	}
	if (step != SQLITE_DONE)
		rc = db_err(db, err, "reading the restricted records");
out:
	sqlite3_finalize(s);
	sqlite3_finalize(tags);
	sqlite3_finalize(rcpt);
	return rc;
}

static int
cmp_vind(const void *a, const void *b)
{
	const struct vind *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/* The tenants (by slot) whose scope holds the address observer, into
 * bits (v->words words); 0 bits if it is not an address. */
static void
observer_bits(const struct bw_view *v, struct bw_tenant_scope **scopes,
	      const struct bw_geo *geo, const char *observer, size_t len,
	      uint64_t *bits)
{
	struct bw_ioc *ioc;
	struct bw_scope_match m;

	memset(bits, 0, v->words * sizeof(*bits));
	ioc = bw_malloc(sizeof(*ioc));
	if (ioc == NULL)
		return;
	if (bw_ioc_parse(observer, len, BW_IOC_ANY, ioc, NULL) == BW_OK &&
	    (ioc->type == BW_IOC_IPV4 || ioc->type == BW_IOC_IPV6)) {
		for (size_t s = 0; s < v->nslots; s++)
			if (scopes[s] &&
			    bw_tenant_scope_match(scopes[s], ioc->type, ioc->value, geo, &m,
						  NULL) == BW_OK &&
			    m.national)
				set_bit(bits, s);
	}
	bw_free(ioc);
}

/* 4: national bits per tenant. */
static int
build_national(struct bw_store *st, const struct bw_index *ix, const struct idmap *map,
	       size_t nmap, const struct bw_geo *geo, struct bw_view *v,
	       struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_tenant_scope **scopes = NULL;
	struct bw_strmap *seen = NULL;
	sqlite3_stmt *s = NULL;
	size_t words = (v->ninds + 63) / 64, ntenants = 0;
	uint64_t *tmp = NULL;
	int step, rc = BW_OK;

	scopes = bw_calloc(v->nslots ? v->nslots : 1, sizeof(*scopes));
	v->national = bw_calloc(v->nslots ? v->nslots : 1, sizeof(*v->national));
	tmp = bw_calloc(v->words, sizeof(*tmp));
	if (scopes == NULL || v->national == NULL || tmp == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < v->nslots; i++) {
		if (!v->slot_tenant[i])
			continue;
		rc = bw_tenant_scope_load(st, v->slot_cc[i], &scopes[i], err);
		if (rc)
			goto out;
		v->national[i] = bw_calloc(words ? words : 1, sizeof(uint64_t));
		if (v->national[i] == NULL) {
			rc = nomem(err);
			goto out;
		}
		ntenants++;
	}
	v->stats.tenants = ntenants;
	if (ntenants == 0)
		goto out;
	for (size_t i = 0; i < v->ninds; i++) {
		struct bw_index_match m;
		struct bw_scope_match sm;

		bw_index_get(ix, (uint32_t)i, &m);
		for (size_t t = 0; t < v->nslots; t++)
			if (scopes[t] &&
			    bw_tenant_scope_match(scopes[t], m.type, m.value, geo, &sm, NULL) == BW_OK &&
			    sm.national)
				set_bit(v->national[t], i);
	}
	/* sightings: the observers' verdicts cached by their text */
	rc = bw_strmap_new(OBSERVERS_MAX, &seen, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT indicator_id, observer FROM sighting",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = db_err(db, err, "preparing the sightings");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t num = num_of(map, nmap, sqlite3_column_int64(s, 0));
		const char *obs = (const char *)sqlite3_column_text(s, 1);
		size_t olen = (size_t)sqlite3_column_bytes(s, 1);
		uint64_t *bits = NULL;
		void *val = NULL;

		if (num < 0 || obs == NULL || olen == 0 || olen > BW_SIGHTING_OBSERVER_MAX)
			continue;
		if (bw_strmap_find(seen, obs, olen, &val)) {
			bits = val;
		} else {
			bits = bw_strmap_count(seen) < OBSERVERS_MAX
				       ? bw_strmap_alloc(seen, v->words * sizeof(*bits))
				       : NULL;
			if (bits == NULL || bw_strmap_put(seen, obs, olen, bits, NULL) != BW_OK)
				bits = tmp; /* not cached */
			observer_bits(v, scopes, geo, obs, olen, bits);
		}
		for (size_t t = 0; t < v->nslots; t++)
			if (v->national[t] && bit(bits, t))
				set_bit(v->national[t], (size_t)num);
	}
	if (step != SQLITE_DONE) {
		rc = db_err(db, err, "reading the sightings");
		goto out;
	}
	v->stats.observers = bw_strmap_count(seen);
	for (size_t t = 0; t < v->nslots; t++)
		if (v->national[t])
			for (size_t w = 0; w < words; w++)
				v->stats.national += (size_t)__builtin_popcountll(v->national[t][w]);
out:
	sqlite3_finalize(s);
	bw_strmap_free(seen);
	if (scopes)
		for (size_t i = 0; i < v->nslots; i++)
			bw_tenant_scope_free(scopes[i]);
	bw_free(scopes);
	bw_free(tmp);
	return rc;
}

int
bw_view_build(struct bw_store *st, const struct bw_index *ix, int64_t now,
	      const struct bw_geo *geo, struct bw_view **out, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_index_stats is;
	struct bw_view *v;
	struct idmap *map = NULL;
	size_t words;
	int rc;

	*out = NULL;
	v = bw_calloc(1, sizeof(*v));
	if (v == NULL)
		return nomem(err);
	bw_index_stats(ix, &is);
	v->ninds = is.indicators;
	words = (v->ninds + 63) / 64;
	v->restricted = bw_calloc(words ? words : 1, sizeof(uint64_t));
	map = bw_malloc((v->ninds ? v->ninds : 1) * sizeof(*map));
	if (v->restricted == NULL || map == NULL) {
		rc = nomem(err);
		goto fail;
	}
	rc = bw_strmap_new(BW_VIEW_TAGS_MAX, &v->tags, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < v->ninds; i++) {
		struct bw_index_match m;
		bw_index_get(ix, (uint32_t)i, &m);
		map[i].sid = m.store_id;
		map[i].num = (uint32_t)i;
	}
	if (v->ninds) /* map may be NULL then, which qsort must not see */
		qsort(map, v->ninds, sizeof(*map), cmp_idmap);
	if ((rc = load_slots(db, now, v, err)) ||
	    (rc = load_restricted(db, now, map, v->ninds, v, err)))
		goto fail;
	/* in indicator order already, unless store ids and numbers disagree */
	if (v->nvi)
		qsort(v->vi, v->nvi, sizeof(*v->vi), cmp_vind);
	rc = build_national(st, ix, map, v->ninds, geo, v, err);
	if (rc)
		goto fail;
	v->stats.slots = v->nslots;
	v->stats.restricted = v->nvi;
	v->stats.records = v->nvr;
	v->stats.bytes = sizeof(*v) + words * 8 * (1 + v->stats.tenants) +
			 v->vi_cap * sizeof(*v->vi) + v->vr_cap * sizeof(*v->vr) +
			 v->rcpt_cap * 8 + v->tagp_cap * sizeof(*v->tagp) +
			 v->nslots * (sizeof(*v->slot_cc) + 1 + sizeof(*v->national));
	bw_free(map);
	*out = v;
	return BW_OK;
fail:
	bw_free(map);
	bw_view_free(v);
	return rc;
}

void
bw_view_stats(const struct bw_view *v, struct bw_view_stats *out)
{
	*out = v->stats;
}

int
bw_view_inputs(struct bw_store *st, uint64_t *out, struct bw_err *err)
{
	/* one row per tenant and scope entry, and the number of sightings;
	 * the row digests are added up, so the order of rows does not matter */
	static const char sql[] =
		"SELECT 0, id, country, NULL, NULL FROM tenant"
		" UNION ALL SELECT 1, tenant_id, kind, value, included FROM tenant_scope"
		" UNION ALL SELECT 2, count(*), NULL, NULL, NULL FROM sighting";
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	uint64_t sum = 0;
	int step;

	*out = 0;
	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium cannot start");
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(db, err, "reading the view's inputs");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		crypto_generichash_state g;
		unsigned char d[crypto_generichash_BYTES_MIN];
		uint64_t h;
		crypto_generichash_init(&g, NULL, 0, sizeof(d));
		for (int c = 0; c < 5; c++) {
			unsigned char type = (unsigned char)sqlite3_column_type(s, c);
			crypto_generichash_update(&g, &type, 1);
			if (type == SQLITE_INTEGER) {
				int64_t iv = sqlite3_column_int64(s, c);
				crypto_generichash_update(&g, (const unsigned char *)&iv, sizeof(iv));
			} else if (type != SQLITE_NULL) {
				const unsigned char *t = sqlite3_column_blob(s, c);
				uint64_t tl = (uint64_t)sqlite3_column_bytes(s, c);
				crypto_generichash_update(&g, (const unsigned char *)&tl, sizeof(tl));
				crypto_generichash_update(&g, t, tl);
			}
		}
		crypto_generichash_final(&g, d, sizeof(d));
		memcpy(&h, d, sizeof(h));
		sum += h;
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return db_err(db, err, "reading the view's inputs");
	*out = sum;
	return BW_OK;
}

int
bw_view_see(const struct bw_view *v, int slot, const struct bw_index_match *m,
	    struct bw_view_seen *out)
{
	const struct vind *vi;
	struct vind key;
	size_t nt = 0, nvis = 0;
	int conf = -1;

	if (m->id >= v->ninds)
		return 0;
	out->national = slot >= 0 && (size_t)slot < v->nslots && v->national &&
			v->national[slot] && bit(v->national[slot], m->id);
	if (!bit(v->restricted, m->id)) {
		/* every active record is CLEAR, GREEN or AMBER: all of it */
		out->confidence = m->confidence;
		out->tags = m->tags;
		out->ntags = m->ntags;
		return 1;
	}
	key.num = m->id;
	vi = bsearch(&key, v->vi, v->nvi, sizeof(*v->vi), cmp_vind);
	if (vi == NULL)
		return 0; /* cannot happen: the bit says it is there */
	for (uint32_t i = vi->first; i < vi->first + vi->n; i++) {
		const struct vrec *r = &v->vr[i];
		int rcpt = r->rcpt != NO_RCPT && slot >= 0 && (size_t)slot < v->nslots &&
			   bit(v->rcpt + r->rcpt, (size_t)slot);

		if (!bw_tenant_may_see(r->tlp, rcpt))
			continue;
		nvis++;
		if (r->confidence > conf)
			conf = r->confidence;
		for (uint32_t j = 0; j < r->ntags; j++) {
			const struct bw_tag *t = v->tagp[r->tag_first + j];
			size_t k = 0;
			while (k < nt && (out->buf[k].kind != t->kind || out->buf[k].name != t->name))
				k++;
			if (k == nt && nt < BW_INDEX_TAGS_MAX)
				out->buf[nt++] = *t;
		}
	}
	if (nvis == 0)
		return 0;
	out->confidence = conf;
	out->tags = out->buf;
	out->ntags = nt;
	return 1;
}
