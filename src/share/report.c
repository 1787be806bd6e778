/*
 * report.c - computes a tenant's report figures from the store (see
 * report.h for what each figure means).
 *
 * The work is a handful of sequential scans in one read transaction, not
 * one query per indicator: observers of sightings are placed in the scope
 * once each, the visible indicators come from one grouped query in id
 * order (so the national set is a sorted array searched by bsearch), and
 * the tags of the visible records from one more.  A weekly report over a
 * store of a million indicators is then a few seconds, dominated by the
 * scope match of each visible indicator.
 */
#include "share/report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"

#define DAY 86400
/* Most distinct observers and tag names a report keeps track of. */
#define MAX_OBSERVERS 10000000
#define MAX_TAGS 1000000
/* Most lookalikes listed by name (all are counted). */
#define MAX_LOOKALIKES_LISTED 500

/* Where a query says "record r is visible to ?1": prep() puts ctx.visible_sql
 * there (the programme's one TLP rule, bw_tenant_visible_sql). */
#define VISIBLE_RECORD "%s"

enum { NAT_NEW = 1, NAT_PREV_NEW = 2, NAT_LOOKALIKE = 4, NAT_KNOWN = 8 };

struct visible {
	int64_t id;
	int national;
	unsigned flags;
};

struct sight {
	int64_t indicator_id;
	const char *observer; /* in the observer map's arena */
	int64_t hour;
	long count;
};

struct ctx {
	struct bw_store *st;
	sqlite3 *db;
	char visible_sql[640]; /* "record r is visible to ?1" in SQL */
	const char *country;
	int64_t from, to, prev_from;
	const struct bw_tenant_scope *scope;
	const struct bw_geo *geo;
	struct bw_report *r;
	struct bw_err *err;

	struct bw_strmap *observers; /* observer -> (void *)1 if in scope */
	struct sight *sights;        /* in-scope sightings in [prev_from, to) */
	size_t nsights, sights_cap;
	int64_t *sighted;            /* indicators sighted from the scope, sorted */
	size_t nsighted, sighted_cap;
	int64_t *tagged_lookalike;   /* "lookalike" tags for this country, sorted */
	size_t nlookalike_tagged, lookalike_cap;
	struct visible *vis;         /* visible indicators, by id */
	size_t nvis, vis_cap;
};

static int
db_err(struct ctx *c, const char *what)
{
	return bw_err_set(c->err, BW_ESTORE, "report: %s: %s", what,
			  sqlite3_errmsg(c->db));
}

/* Prepares sql, with ctx.visible_sql in place of its VISIBLE_RECORD (if any). */
static int
prep(struct ctx *c, const char *sql, sqlite3_stmt **s)
{
	char text[2048];
	int n = snprintf(text, sizeof(text), sql, c->visible_sql);

	if (n < 0 || (size_t)n >= sizeof(text))
		return bw_err_set(c->err, BW_ELIMIT, "report: a query is too long");
	if (sqlite3_prepare_v2(c->db, text, -1, s, NULL) != SQLITE_OK)
		return db_err(c, "preparing a query");
	return BW_OK;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_vis(const void *key, const void *elem)
{
	int64_t x = *(const int64_t *)key, y = ((const struct visible *)elem)->id;

	return (x > y) - (x < y);
}

static int
has_id(const int64_t *ids, size_t n, int64_t id)
{
	return n && bsearch(&id, ids, n, sizeof(*ids), cmp_i64) != NULL;
}

static struct visible *
find_visible(struct ctx *c, int64_t id)
{
	return c->nvis ? bsearch(&id, c->vis, c->nvis, sizeof(*c->vis), cmp_vis) : NULL;
}

static int
push_id(int64_t **arr, size_t *n, size_t *cap, int64_t id)
{
	int64_t *p = bw_grow(*arr, cap, *n + 1, sizeof(**arr));

	if (!p)
		return BW_ENOMEM;
	*arr = p;
	p[(*n)++] = id;
	return BW_OK;
}

static void
sort_unique(int64_t *ids, size_t *n)
{
	size_t w = 0;

	if (*n == 0)
		return; /* ids may be NULL, which qsort must not see */
	qsort(ids, *n, sizeof(*ids), cmp_i64);
	for (size_t i = 0; i < *n; i++)
		if (w == 0 || ids[w - 1] != ids[i])
			ids[w++] = ids[i];
	*n = w;
}

/* Whether an observer (an address as the log wrote it) is in the scope;
 * anything that is not an address is not. */
static int
observer_in_scope(struct ctx *c, const char *obs)
{
	struct bw_ioc ioc;
	struct bw_scope_match m;

	if (bw_ioc_parse(obs, strlen(obs), BW_IOC_ANY, &ioc, NULL) != BW_OK)
		return 0;
	if (ioc.type != BW_IOC_IPV4 && ioc.type != BW_IOC_IPV6)
		return 0;
	if (bw_tenant_scope_match(c->scope, ioc.type, ioc.value, c->geo, &m, NULL) != BW_OK)
		return 0;
	return m.national;
}

/* Pass 1: the sightings before `to` whose observer is in the scope; which
 * indicators they make national, and the rows of the two windows. */
static int
scan_sightings(struct ctx *c)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	rc = bw_strmap_new(MAX_OBSERVERS, &c->observers, c->err);
	if (rc)
		return rc;
	rc = prep(c, "SELECT indicator_id, observer, hour, count FROM sighting"
		  " WHERE hour < ?1", &s);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, c->to);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), hour = sqlite3_column_int64(s, 2);
		const char *obs = (const char *)sqlite3_column_text(s, 1);
		size_t olen = (size_t)sqlite3_column_bytes(s, 1);
		void *v = NULL;
		struct sight *sg;

		if (!obs)
			continue;
		/* the value is the map's own copy of an in-scope observer, NULL
		 * for one out of scope */
		if (!bw_strmap_find(c->observers, obs, olen, &v)) {
			if (observer_in_scope(c, obs)) {
				v = bw_strmap_strdup(c->observers, obs, olen);
				if (!v)
					goto nomem;
			}
			rc = bw_strmap_put(c->observers, obs, olen, v, c->err);
			if (rc)
				goto out;
		}
		if (!v)
			continue;
		rc = push_id(&c->sighted, &c->nsighted, &c->sighted_cap, id);
		if (rc)
			goto nomem;
		if (hour < c->prev_from)
			continue;
		sg = bw_grow(c->sights, &c->sights_cap, c->nsights + 1, sizeof(*sg));
		if (!sg)
			goto nomem;
		c->sights = sg;
		c->sights[c->nsights++] = (struct sight){
			.indicator_id = id, .observer = v, .hour = hour,
			.count = (long)sqlite3_column_int64(s, 3)};
	}
	if (step != SQLITE_DONE) {
		rc = db_err(c, "reading sightings");
		goto out;
	}
	sort_unique(c->sighted, &c->nsighted);
	rc = BW_OK;
	goto out;
nomem:
	rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory reading sightings");
out:
	sqlite3_finalize(s);
	return rc;
}

/* Pass 2: indicators the lookalike detector tagged for this country. */
static int
scan_lookalike_tags(struct ctx *c)
{
	sqlite3_stmt *s = NULL;
	char prefix[4];
	int rc, step;

	snprintf(prefix, sizeof(prefix), "%s:", c->country);
	rc = prep(c, "SELECT DISTINCT r.indicator_id FROM record r"
		  " JOIN record_tag rt ON rt.record_id = r.id"
		  " JOIN tag t ON t.id = rt.tag_id"
		  " WHERE t.kind = 'lookalike' AND substr(t.name, 1, 3) = ?2"
		  " AND " VISIBLE_RECORD, &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, c->country, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, prefix, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if (push_id(&c->tagged_lookalike, &c->nlookalike_tagged,
			    &c->lookalike_cap, sqlite3_column_int64(s, 0))) {
			rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory");
			goto out;
		}
	if (step != SQLITE_DONE) {
		rc = db_err(c, "reading lookalike tags");
		goto out;
	}
	sort_unique(c->tagged_lookalike, &c->nlookalike_tagged);
	rc = BW_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

static void
item_free(struct bw_report_item *it)
{
	bw_free(it->value);
	bw_free(it->why);
	bw_free(it->tags);
	memset(it, 0, sizeof(*it));
}

/* Orders the "top new" list: higher confidence, then newer, then value. */
static int
item_before(const struct bw_report_item *a, const struct bw_report_item *b)
{
	if (a->confidence != b->confidence)
		return a->confidence > b->confidence;
	if (a->added != b->added)
		return a->added > b->added;
	return strcmp(a->value, b->value) < 0;
}

static char *
why_text(const struct bw_scope_match *m, int sighted, int tagged)
{
	char buf[BW_SCOPE_VALUE_MAX + 32];

	if (m->national)
		snprintf(buf, sizeof(buf), "%s:%s", bw_scope_kind_name(m->why), m->detail);
	else if (tagged)
		snprintf(buf, sizeof(buf), "lookalike tag");
	else if (sighted)
		snprintf(buf, sizeof(buf), "sighted");
	else
		buf[0] = '\0';
	return bw_strdup(buf);
}

/* A brand match is a lookalike unless the host is the brand's own domain
 * or under it. */
static int
imitates_brand(const struct bw_scope_match *m, enum bw_ioc_type type, const char *value)
{
	size_t vl, bl;

	if (!m->national || m->why != BW_SCOPE_BRAND || type != BW_IOC_DOMAIN)
		return 0;
	vl = strlen(value);
	bl = strlen(m->detail);
	if (vl == bl && memcmp(value, m->detail, vl) == 0)
		return 0;
	if (vl > bl && value[vl - bl - 1] == '.' && memcmp(value + vl - bl, m->detail, bl) == 0)
		return 0;
	return 1;
}

static int
add_item(struct bw_report_item **arr, size_t *n, size_t *cap,
	 const struct bw_report_item *it)
{
	struct bw_report_item *p = bw_grow(*arr, cap, *n + 1, sizeof(**arr));

	if (!p)
		return BW_ENOMEM;
	*arr = p;
	p[(*n)++] = *it;
	return BW_OK;
}

/* Keeps the BW_REPORT_TOP best new indicators; takes ownership of it. */
static void
offer_top_new(struct bw_report *r, struct bw_report_item *it)
{
	size_t i;

	if (r->ntop_new == BW_REPORT_TOP && !item_before(it, &r->top_new[BW_REPORT_TOP - 1])) {
		item_free(it);
		return;
	}
	if (r->ntop_new == BW_REPORT_TOP)
		item_free(&r->top_new[--r->ntop_new]);
	for (i = r->ntop_new; i > 0 && item_before(it, &r->top_new[i - 1]); i--)
		r->top_new[i] = r->top_new[i - 1];
	r->top_new[i] = *it;
	r->ntop_new++;
}

/* Pass 3: every visible indicator; which are national, known, new. */
static int
scan_indicators(struct ctx *c)
{
	struct bw_report *r = c->r;
	sqlite3_stmt *s = NULL;
	size_t la_cap = 0;
	int rc, step;

	rc = prep(c, "SELECT i.id, i.type, i.value, min(r.added), max(r.last_seen),"
		  " max(coalesce(r.confidence, -1)) FROM indicator i"
		  " JOIN record r ON r.indicator_id = i.id WHERE " VISIBLE_RECORD
		  " GROUP BY i.id ORDER BY i.id", &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, c->country, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		enum bw_ioc_type type = (enum bw_ioc_type)sqlite3_column_int(s, 1);
		const char *value = (const char *)sqlite3_column_text(s, 2);
		int64_t added = sqlite3_column_int64(s, 3);
		struct bw_scope_match m = {0};
		int sighted = has_id(c->sighted, c->nsighted, id);
		int tagged = has_id(c->tagged_lookalike, c->nlookalike_tagged, id);
		struct visible *v;
		struct bw_report_item it = {0};

		if (!value || type <= BW_IOC_ANY || type >= BW_IOC_NTYPES)
			continue;
		v = bw_grow(c->vis, &c->vis_cap, c->nvis + 1, sizeof(*v));
		if (!v)
			goto nomem;
		c->vis = v;
		v = &c->vis[c->nvis++];
		*v = (struct visible){.id = id};
		/* a value the scope cannot read is simply not national by scope */
		(void)bw_tenant_scope_match(c->scope, type, value, c->geo, &m, NULL);
		if (!m.national && !sighted && !tagged)
			continue;
		v->national = 1;
		if (added >= c->to)
			continue;
		v->flags |= NAT_KNOWN;
		r->known++;
		r->by_type[type]++;
		if (added >= c->from)
			v->flags |= NAT_NEW, r->new_indicators++;
		else if (added >= c->prev_from)
			v->flags |= NAT_PREV_NEW, r->prev_new_indicators++;
		if (tagged || imitates_brand(&m, type, value))
			v->flags |= NAT_LOOKALIKE;
		if (!(v->flags & (NAT_NEW | NAT_LOOKALIKE)))
			continue;
		it.type = type;
		it.confidence = sqlite3_column_int(s, 5);
		it.added = added;
		it.last_seen = sqlite3_column_int64(s, 4);
		if (v->flags & NAT_LOOKALIKE)
			r->lookalikes_total++;
		if ((v->flags & NAT_LOOKALIKE) && r->nlookalikes < MAX_LOOKALIKES_LISTED) {
			struct bw_report_item la = it;

			la.value = bw_strdup(value);
			la.why = why_text(&m, sighted, tagged);
			if (!la.value || !la.why || add_item(&r->lookalikes, &r->nlookalikes, &la_cap, &la)) {
				item_free(&la);
				goto nomem;
			}
		}
		if (v->flags & NAT_NEW) {
			it.value = bw_strdup(value);
			it.why = why_text(&m, sighted, tagged);
			if (!it.value || !it.why) {
				item_free(&it);
				goto nomem;
			}
			offer_top_new(r, &it);
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_err(c, "reading indicators");
		goto out;
	}
	rc = BW_OK;
	goto out;
nomem:
	rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory reading indicators");
out:
	sqlite3_finalize(s);
	return rc;
}

static int
cmp_count(const void *a, const void *b)
{
	const struct bw_report_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Turns a name -> count map into a sorted array of copies. */
static int
counts_from_map(struct bw_strmap *m, struct bw_report_count **out, size_t *n)
{
	size_t pos = 0, i = 0, total = bw_strmap_count(m);
	const char *key;
	void *val;

	*n = 0;
	*out = bw_calloc(total ? total : 1, sizeof(**out));
	if (!*out)
		return BW_ENOMEM;
	while (bw_strmap_next(m, &pos, &key, NULL, &val)) {
		(*out)[i].name = bw_strdup(key);
		if (!(*out)[i].name)
			return BW_ENOMEM; /* the caller frees what is there */
		(*out)[i].count = *(long *)val;
		*n = ++i;
	}
	qsort(*out, *n, sizeof(**out), cmp_count);
	return BW_OK;
}

static int
bump(struct bw_strmap *m, const char *name, struct bw_err *err)
{
	long *cnt = bw_strmap_get(m, name, strlen(name));
	int rc;

	if (!cnt) {
		cnt = bw_strmap_alloc(m, sizeof(*cnt));
		if (!cnt)
			return bw_err_set(err, BW_ENOMEM, "report: out of memory");
		rc = bw_strmap_put(m, name, strlen(name), cnt, err);
		if (rc)
			return rc;
	}
	(*cnt)++;
	return BW_OK;
}

/* Pass 4: malware, actor, campaign and report tags of the known national
 * indicators, each counted once per indicator. */
static int
scan_tags(struct ctx *c)
{
	struct bw_report *r = c->r;
	struct bw_strmap *fam = NULL, *act = NULL, *camp = NULL, *la_act = NULL;
	sqlite3_stmt *s = NULL;
	int64_t last_ind = -1, last_tag = -1;
	int rc, step;

	if ((rc = bw_strmap_new(MAX_TAGS, &fam, c->err)) ||
	    (rc = bw_strmap_new(MAX_TAGS, &act, c->err)) ||
	    (rc = bw_strmap_new(MAX_TAGS, &camp, c->err)) ||
	    (rc = bw_strmap_new(MAX_TAGS, &la_act, c->err)))
		goto out;
	rc = prep(c, "SELECT r.indicator_id, t.id, t.kind, t.name FROM record r"
		  " JOIN record_tag rt ON rt.record_id = r.id"
		  " JOIN tag t ON t.id = rt.tag_id"
		  " WHERE t.kind IN ('malware', 'actor', 'campaign', 'report') AND " VISIBLE_RECORD
		  " ORDER BY r.indicator_id, t.id", &s);
	if (rc)
		goto out;
	sqlite3_bind_text(s, 1, c->country, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ind = sqlite3_column_int64(s, 0), tag = sqlite3_column_int64(s, 1);
		const char *kind = (const char *)sqlite3_column_text(s, 2);
		const char *name = (const char *)sqlite3_column_text(s, 3);
		struct visible *v;
		char label[600];

		if (ind == last_ind && tag == last_tag)
			continue;
		last_ind = ind;
		last_tag = tag;
		v = find_visible(c, ind);
		if (!v || !(v->flags & NAT_KNOWN) || !kind || !name)
			continue;
		rc = bump(strcmp(kind, "actor") == 0 ? act : strcmp(kind, "malware") == 0 ? fam : camp,
			  name, c->err);
		if (rc)
			goto out;
		if (v->flags & NAT_LOOKALIKE) {
			snprintf(label, sizeof(label), "%s:%s", kind, name);
			rc = bump(la_act, label, c->err);
			if (rc)
				goto out;
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_err(c, "reading tags");
		goto out;
	}
	if (counts_from_map(fam, &r->families, &r->nfamilies) ||
	    counts_from_map(act, &r->actors, &r->nactors) ||
	    counts_from_map(camp, &r->campaigns, &r->ncampaigns) ||
	    counts_from_map(la_act, &r->lookalike_actors, &r->nlookalike_actors))
		rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory");
out:
	sqlite3_finalize(s);
	bw_strmap_free(fam);
	bw_strmap_free(act);
	bw_strmap_free(camp);
	bw_strmap_free(la_act);
	return rc;
}

/* The "kind:name, ..." text of the visible tags of one listed item. */
static int
item_tags(struct ctx *c, sqlite3_stmt *s, struct bw_report_item *it)
{
	char buf[1024];
	size_t len = 0;
	int step;

	buf[0] = '\0';
	sqlite3_reset(s);
	sqlite3_bind_int(s, 2, it->type);
	sqlite3_bind_text(s, 3, it->value, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%s:%s", len ? ", " : "",
				 (const char *)sqlite3_column_text(s, 0),
				 (const char *)sqlite3_column_text(s, 1));
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break; /* a long list is cut, never overrun */
		len += (size_t)n;
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return db_err(c, "reading the tags of an indicator");
	it->tags = bw_strdup(buf);
	return it->tags ? BW_OK : bw_err_set(c->err, BW_ENOMEM, "report: out of memory");
}

static int
list_tags(struct ctx *c)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = prep(c, "SELECT DISTINCT t.kind, t.name FROM indicator i"
		  " JOIN record r ON r.indicator_id = i.id"
		  " JOIN record_tag rt ON rt.record_id = r.id"
		  " JOIN tag t ON t.id = rt.tag_id"
		  " WHERE i.type = ?2 AND i.value = ?3 AND t.kind != 'lookalike'"
		  " AND " VISIBLE_RECORD " ORDER BY t.kind, t.name", &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, c->country, -1, SQLITE_STATIC);
	for (size_t i = 0; i < c->r->ntop_new && !rc; i++)
		rc = item_tags(c, s, &c->r->top_new[i]);
	for (size_t i = 0; i < c->r->nlookalikes && !rc; i++)
		rc = item_tags(c, s, &c->r->lookalikes[i]);
	sqlite3_finalize(s);
	return rc;
}

/* The sightings of visible indicators from in-scope observers. */
static int
sum_sightings(struct ctx *c)
{
	struct bw_report *r = c->r;
	struct bw_strmap *obs = NULL;
	int64_t *ids = NULL;
	size_t nids = 0, ids_cap = 0;
	int rc;

	rc = bw_strmap_new(MAX_OBSERVERS, &obs, c->err);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->nsights; i++) {
		const struct sight *sg = &c->sights[i];

		if (!find_visible(c, sg->indicator_id))
			continue;
		if (sg->hour < c->from) {
			r->prev_sightings += sg->count;
			continue;
		}
		r->sightings += sg->count;
		r->daily_sightings[(sg->hour - c->from) / DAY] += sg->count;
		if ((rc = bw_strmap_put(obs, sg->observer, strlen(sg->observer), NULL, c->err)))
			goto out;
		if (push_id(&ids, &nids, &ids_cap, sg->indicator_id)) {
			rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory");
			goto out;
		}
	}
	sort_unique(ids, &nids);
	r->sighted_indicators = (long)nids;
	r->observers = (long)bw_strmap_count(obs);
out:
	bw_free(ids);
	bw_strmap_free(obs);
	return rc;
}

/* Actions on national targets, active or changed in the period. */
static int
scan_actions(struct ctx *c)
{
	struct bw_report *r = c->r;
	sqlite3_stmt *s = NULL, *ind = NULL;
	size_t cap = 0;
	int rc, step;

	rc = prep(c, "SELECT a.id, a.type, a.target, a.kind, a.state, a.created, a.expires"
		  " FROM action a WHERE a.created < ?2 AND (a.state IN ('active', 'held')"
		  " OR EXISTS (SELECT 1 FROM action_event e WHERE e.action_id = a.id"
		  " AND e.time >= ?1 AND e.time < ?2)) ORDER BY a.id", &s);
	if (rc)
		return rc;
	rc = prep(c, "SELECT id FROM indicator WHERE type = ?1 AND value = ?2", &ind);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, c->from);
	sqlite3_bind_int64(s, 2, c->to);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		enum bw_ioc_type type = (enum bw_ioc_type)sqlite3_column_int(s, 1);
		const char *target = (const char *)sqlite3_column_text(s, 2);
		struct bw_scope_match m = {0};
		struct bw_report_action *a;
		int national = 0;

		if (!target)
			continue;
		(void)bw_tenant_scope_match(c->scope, type, target, c->geo, &m, NULL);
		national = m.national;
		if (!national) {
			sqlite3_reset(ind);
			sqlite3_bind_int(ind, 1, type);
			sqlite3_bind_text(ind, 2, target, -1, SQLITE_STATIC);
			if (sqlite3_step(ind) == SQLITE_ROW) {
				struct visible *v = find_visible(c, sqlite3_column_int64(ind, 0));

				national = v && v->national;
			}
		}
		if (!national)
			continue;
		a = bw_grow(r->actions, &cap, r->nactions + 1, sizeof(*a));
		if (!a)
			goto nomem;
		r->actions = a;
		a = &r->actions[r->nactions];
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(s, 0);
		a->type = type;
		a->target = bw_strdup(target);
		if (!a->target)
			goto nomem;
		snprintf(a->kind, sizeof(a->kind), "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(a->state, sizeof(a->state), "%s", (const char *)sqlite3_column_text(s, 4));
		a->created = sqlite3_column_int64(s, 5);
		a->expires = sqlite3_column_int64(s, 6);
		r->nactions++;
	}
	if (step != SQLITE_DONE) {
		rc = db_err(c, "reading actions");
		goto out;
	}
	rc = BW_OK;
	goto out;
nomem:
	rc = bw_err_set(c->err, BW_ENOMEM, "report: out of memory reading actions");
out:
	sqlite3_finalize(s);
	sqlite3_finalize(ind);
	return rc;
}

int
bw_report_build(struct bw_store *st, const char *country, int64_t from,
		int64_t to, int64_t now, const struct bw_geo *geo,
		struct bw_report **out, struct bw_err *err)
{
	struct bw_tenant tenant;
	struct bw_tenant_scope *scope = NULL;
	struct ctx c = {0};
	struct bw_report *r = NULL;
	int rc, in_txn = 0;

	*out = NULL;
	if (to <= from || to - from > (int64_t)BW_REPORT_MAX_DAYS * DAY)
		return bw_err_set(err, BW_EINVAL,
				  "report: the period must be non-empty and at most %d days",
				  BW_REPORT_MAX_DAYS);
	rc = bw_tenant_get(st, country, &tenant, err);
	if (rc)
		return rc;
	rc = bw_tenant_scope_load(st, tenant.country, &scope, err);
	if (rc)
		return rc;
	r = bw_calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	memcpy(r->country, tenant.country, sizeof(r->country));
	r->tenant_name = bw_strdup(tenant.name);
	r->from = from;
	r->to = to;
	r->generated = now;
	r->ndays = (size_t)((to - from + DAY - 1) / DAY);
	r->daily_sightings = bw_calloc(r->ndays, sizeof(*r->daily_sightings));
	r->top_new = bw_calloc(BW_REPORT_TOP, sizeof(*r->top_new));
	if (!r->tenant_name || !r->daily_sightings || !r->top_new)
		goto nomem;

	c = (struct ctx){.st = st, .db = bw_store_db(st), .country = r->country,
			 .from = from, .to = to, .prev_from = from - (to - from),
			 .scope = scope, .geo = geo, .r = r, .err = err};
	memcpy(c.visible_sql, "r.revoked = 0 AND ", 19);
	if (bw_tenant_visible_sql("r", "?1", 1, c.visible_sql + 18, sizeof(c.visible_sql) - 18)) {
		rc = bw_err_set(err, BW_ELIMIT, "report: the visibility condition is too long");
		goto out;
	}
	if (sqlite3_exec(c.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(&c, "starting a read transaction");
		goto out;
	}
	in_txn = 1;
	if ((rc = scan_sightings(&c)) || (rc = scan_lookalike_tags(&c)) ||
	    (rc = scan_indicators(&c)) || (rc = scan_tags(&c)) ||
	    (rc = list_tags(&c)) || (rc = sum_sightings(&c)) ||
	    (rc = scan_actions(&c)))
		goto out;
	*out = r;
	r = NULL;
	rc = BW_OK;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "report: out of memory");
out:
	if (in_txn)
		sqlite3_exec(c.db, "COMMIT", NULL, NULL, NULL);
	bw_strmap_free(c.observers);
	bw_free(c.sights);
	bw_free(c.sighted);
	bw_free(c.tagged_lookalike);
	bw_free(c.vis);
	bw_tenant_scope_free(scope);
	bw_report_free(r);
	return rc;
}

static void
counts_free(struct bw_report_count *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bw_free(a[i].name);
	bw_free(a);
}

void
bw_report_free(struct bw_report *r)
{
	if (!r)
		return;
	bw_free(r->tenant_name);
	bw_free(r->daily_sightings);
	counts_free(r->families, r->nfamilies);
	counts_free(r->actors, r->nactors);
	counts_free(r->campaigns, r->ncampaigns);
	counts_free(r->lookalike_actors, r->nlookalike_actors);
	for (size_t i = 0; i < r->ntop_new; i++)
		item_free(&r->top_new[i]);
	bw_free(r->top_new);
	for (size_t i = 0; i < r->nlookalikes; i++)
		item_free(&r->lookalikes[i]);
	bw_free(r->lookalikes);
	for (size_t i = 0; i < r->nactions; i++)
		bw_free(r->actions[i].target);
	bw_free(r->actions);
	bw_free(r);
}
