/*
 * guard.c - guard lists: loading and checking (see guard.h).
 *
 * Domains live in two hash maps: `names` holds every listed domain,
 * `parents` every proper parent (of two labels or more) of a listed
 * domain, so that "the target or a parent is listed" is one look-up per
 * label of the target and "the target covers a listed name" one more.
 * Address ranges are an array sorted by first address with, for each
 * position, the highest last address up to it: the ranges that may
 * overlap [lo, hi] are those starting at or before hi, and the running
 * maximum says at once whether any of them reaches lo.
 */
#include "disrupt/guard.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "disrupt/action.h"
#include "disrupt/audit.h"
#include "disrupt/ipnet.h"
#include "feed/reader.h"

struct origin {
	const char *list, *entry;
};

struct grange {
	struct bw_iprange r;
	struct origin o;
};

struct bw_guard {
	struct bw_strmap *names;   /* domain -> struct origin * */
	struct bw_strmap *parents; /* parent of a listed domain -> struct origin * */
	struct bw_strmap *lists;   /* list name -> itself (interned) */
	struct grange *ranges;
	uint8_t (*maxhi)[16];
	size_t nranges, cap;
	size_t count;
};

void
bw_guard_free(struct bw_guard *g)
{
	if (g == NULL)
		return;
	bw_strmap_free(g->names);
	bw_strmap_free(g->parents);
	bw_strmap_free(g->lists);
	bw_free(g->ranges);
	bw_free(g->maxhi);
	bw_free(g);
}

size_t
bw_guard_count(const struct bw_guard *g)
{
	return g->count;
}

static const char *
intern(struct bw_guard *g, const char *list, struct bw_err *err)
{
	void *v;
	char *copy;

	if (bw_strmap_find(g->lists, list, strlen(list), &v))
		return v;
	copy = bw_strmap_strdup(g->lists, list, strlen(list));
	if (copy == NULL || bw_strmap_put(g->lists, list, strlen(list), copy, err) != BW_OK) {
		bw_err_set(err, BW_ENOMEM, "out of memory");
		return NULL;
	}
	return copy;
}

/* Adds one canonical entry of list (interned). */
static int
add_entry(struct bw_guard *g, const char *list, enum bw_ioc_type type,
	  const char *value, struct bw_err *err)
{
	struct origin *o;
	int rc;

	if (g->count >= BW_GUARD_ENTRIES_MAX)
		return bw_err_set(err, BW_ELIMIT, "guard lists: more than %d entries",
				  BW_GUARD_ENTRIES_MAX);
	if (type == BW_IOC_DOMAIN) {
		size_t n = strlen(value);
		if (bw_strmap_find(g->names, value, n, NULL))
			return BW_OK; /* the first list naming it wins */
		o = bw_strmap_alloc(g->names, sizeof(*o));
		if (o == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		o->list = list;
		o->entry = bw_strmap_strdup(g->names, value, n);
		if (o->entry == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		rc = bw_strmap_put(g->names, value, n, o, err);
		if (rc)
			return rc;
		/* parents with at least two labels */
		for (const char *p = strchr(value, '.'); p && strchr(p + 1, '.'); p = strchr(p + 1, '.')) {
			const char *parent = p + 1;
			if (!bw_strmap_find(g->parents, parent, strlen(parent), NULL)) {
				rc = bw_strmap_put(g->parents, parent, strlen(parent), o, err);
				if (rc)
					return rc;
			}
		}
		g->count++;
		return BW_OK;
	}
	if (type == BW_IOC_IPV4 || type == BW_IOC_IPV6 || type == BW_IOC_CIDR) {
		struct grange *r;
		if (g->nranges == g->cap) {
			size_t cap = g->cap;
			struct grange *nv = bw_grow(g->ranges, &cap, g->nranges + 1, sizeof(*nv));
			if (nv == NULL)
				return bw_err_set(err, BW_ENOMEM, "out of memory");
			g->ranges = nv;
			g->cap = cap;
		}
		r = &g->ranges[g->nranges];
		if (bw_iprange_parse(value, &r->r) != 0)
			return BW_OK;
		r->o.list = list;
		r->o.entry = bw_strmap_strdup(g->lists, value, strlen(value));
		if (r->o.entry == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		g->nranges++;
		g->count++;
	}
	return BW_OK;
}

static int
load_file(struct bw_guard *g, const char *path, const char *list, struct bw_err *err)
{
	struct bw_reader *rd = NULL;
	char line[1024];
	long lineno = 0;
	int rc, got;

	rc = bw_reader_open_file(path, &rd, err);
	if (rc)
		return rc;
	while ((got = bw_reader_text_line(rd, line, sizeof(line), BW_GUARD_FILE_MAX, &lineno,
					  err)) == 1) {
		struct bw_ioc ioc;
		size_t l = bw_reader_cut_comment(line);
		if (l == 0)
			continue;
		if (bw_ioc_parse(line, l, BW_IOC_ANY, &ioc, err) != BW_OK) {
			rc = bw_err_prefix(err, "%s:%ld", path, lineno);
			break;
		}
		rc = add_entry(g, list, ioc.type, ioc.value, err);
		if (rc)
			break;
	}
	if (got < 0)
		rc = -got;
	bw_reader_free(rd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
load_dir(struct bw_guard *g, const char *dir, struct bw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = BW_OK;

	if (d == NULL)
		return bw_err_set(err, BW_EIO, "cannot read guard lists in %s: %s", dir,
				  strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char **nv;
		if (l < 5 || l - 4 > BW_GUARD_LIST_NAME_MAX || strcmp(e->d_name + l - 4, ".txt") != 0 ||
		    e->d_name[0] == '.')
			continue;
		nv = bw_grow(names, &cap, n + 1, sizeof(*names));
		if (nv == NULL || (nv[n] = bw_strdup(e->d_name)) == NULL) {
			if (nv)
				names = nv;
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		names = nv;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && rc == BW_OK; i++) {
		char path[4096], list[BW_GUARD_LIST_NAME_MAX + 1];
		const char *in;
		snprintf(list, sizeof(list), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		in = intern(g, list, err);
		rc = in ? load_file(g, path, in, err) : BW_ENOMEM;
	}
out:
	for (size_t i = 0; i < n; i++)
		bw_free(names[i]);
	bw_free(names);
	closedir(d);
	return rc;
}

static int
load_store(struct bw_guard *g, struct bw_store *st, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = BW_OK, step;

	/* the tenants' protected brands */
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT t.country, s.value FROM tenant_scope s"
			       " JOIN tenant t ON t.id = s.tenant_id WHERE s.kind = 'brand'"
			       " AND s.included = 1 ORDER BY t.country, s.value", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading protected brands");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		char list[16];
		const char *in;
		snprintf(list, sizeof(list), "brand:%s", (const char *)sqlite3_column_text(s, 0));
		in = intern(g, list, err);
		if (in == NULL) {
			rc = BW_ENOMEM;
			goto out;
		}
		rc = add_entry(g, in, BW_IOC_DOMAIN, (const char *)sqlite3_column_text(s, 1), err);
		if (rc)
			goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (step != SQLITE_DONE)
		return bw_store_fail(st, err, "reading protected brands");
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT list, type, value FROM guard_entry"
			       " ORDER BY list, type, value", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading guard entries");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *in = intern(g, (const char *)sqlite3_column_text(s, 0), err);
		if (in == NULL) {
			rc = BW_ENOMEM;
			goto out;
		}
		rc = add_entry(g, in, (enum bw_ioc_type)sqlite3_column_int(s, 1),
			       (const char *)sqlite3_column_text(s, 2), err);
		if (rc)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "reading guard entries");
out:
	sqlite3_finalize(s);
	return rc;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct grange *x = a, *y = b;

	return memcmp(x->r.lo, y->r.lo, 16);
}

int
bw_guard_load(struct bw_store *st, const char *dir, struct bw_guard **out,
	      struct bw_err *err)
{
	struct bw_guard *g;
	int rc;

	*out = NULL;
	g = bw_calloc(1, sizeof(*g));
	if (g == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if ((rc = bw_strmap_new(BW_GUARD_ENTRIES_MAX, &g->names, err)) ||
	    (rc = bw_strmap_new(4 * BW_GUARD_ENTRIES_MAX, &g->parents, err)) ||
	    (rc = bw_strmap_new(100000, &g->lists, err)))
		goto fail;
	if (dir && dir[0] && (rc = load_dir(g, dir, err)))
		goto fail;
	if (st && (rc = load_store(g, st, err)))
		goto fail;
	if (g->nranges) {
		qsort(g->ranges, g->nranges, sizeof(*g->ranges), range_cmp);
		g->maxhi = bw_calloc(g->nranges, sizeof(*g->maxhi));
		if (g->maxhi == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < g->nranges; i++) {
			const uint8_t *hi = g->ranges[i].r.hi;
			if (i > 0 && memcmp(g->maxhi[i - 1], hi, 16) > 0)
				hi = g->maxhi[i - 1];
			memcpy(g->maxhi[i], hi, 16);
		}
	}
	*out = g;
	return BW_OK;
fail:
	bw_guard_free(g);
	return rc;
}

static void
set_hit(struct bw_guard_hit *hit, const struct origin *o, const char *why)
{
	if (hit == NULL)
		return;
	snprintf(hit->list, sizeof(hit->list), "%s", o->list);
	snprintf(hit->entry, sizeof(hit->entry), "%s", o->entry);
	snprintf(hit->why, sizeof(hit->why), "%s", why);
}

int
bw_guard_check(const struct bw_guard *g, enum bw_ioc_type type,
	       const char *value, struct bw_guard_hit *hit)
{
	void *v;

	if (type == BW_IOC_DOMAIN) {
		if (bw_strmap_find(g->names, value, strlen(value), &v)) {
			set_hit(hit, v, "listed");
			return 1;
		}
		for (const char *p = strchr(value, '.'); p; p = strchr(p + 1, '.'))
			if (bw_strmap_find(g->names, p + 1, strlen(p + 1), &v)) {
				set_hit(hit, v, "a parent domain is listed");
				return 1;
			}
		if (bw_strmap_find(g->parents, value, strlen(value), &v)) {
			set_hit(hit, v, "it covers a listed name");
			return 1;
		}
		return 0;
	}
	if (type == BW_IOC_IPV4 || type == BW_IOC_IPV6 || type == BW_IOC_CIDR) {
		struct bw_iprange r;
		size_t lo = 0, hi = g->nranges;
		if (g->nranges == 0 || bw_iprange_parse(value, &r) != 0)
			return 0;
		/* the ranges starting at or before r.hi: [0, lo) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(g->ranges[mid].r.lo, r.hi, 16) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0 || memcmp(g->maxhi[lo - 1], r.lo, 16) < 0)
			return 0;
		for (size_t i = lo; i-- > 0;) {
			if (memcmp(g->ranges[i].r.hi, r.lo, 16) >= 0) {
				set_hit(hit, &g->ranges[i].o, "overlaps a listed range");
				return 1;
			}
			if (memcmp(g->maxhi[i], r.lo, 16) < 0)
				break;
		}
	}
	return 0;
}

/* ---- operator lists -------------------------------------------------------- */

static int
check_list(const char *list, struct bw_err *err)
{
	size_t n = list ? strlen(list) : 0;

	if (n == 0 || n > BW_GUARD_LIST_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "list name: 1 to %d characters",
				  BW_GUARD_LIST_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)list[i]) || isdigit((unsigned char)list[i]) ||
		      list[i] == '-' || list[i] == '_'))
			return bw_err_set(err, BW_EINVAL, "list name '%s': a-z, 0-9, '-' and '_'", list);
	return BW_OK;
}

/* *on: 1 if (type, value) is on any operator list. */
static int
on_any_list(struct bw_store *st, const struct bw_ioc *ioc, int *on, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT 1 FROM guard_entry WHERE type = ?1 AND value = ?2",
			       -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the guard lists");
	sqlite3_bind_int(s, 1, ioc->type);
	sqlite3_bind_text(s, 2, ioc->value, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	*on = step == SQLITE_ROW;
	return step == SQLITE_ROW || step == SQLITE_DONE ? BW_OK
							 : bw_store_fail(st, err, "reading the guard lists");
}

/* An operator entry is also an exception in the RPZ zone (CNAME
 * rpz-passthru., src/net/rpz.h): when the value enters or leaves the set of
 * all operator lists, the change writes a journal row for the zone in its
 * transaction, pointing to its audit entry. */
static int
guard_change(struct bw_store *st, int add, const char *list, const char *value,
	     const char *reason, const char *op, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_ioc ioc;
	char subject[300], *detail = NULL;
	json_t *dj = NULL;
	int rc, before = 0, after = 0;

	if ((rc = bw_audit_check_operator(op, "operator", err)) || (rc = check_list(list, err)))
		return rc;
	if (value == NULL)
		return bw_err_set(err, BW_EINVAL, "a value is required");
	rc = bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, err);
	if (rc)
		return rc;
	if (ioc.type != BW_IOC_DOMAIN && ioc.type != BW_IOC_IPV4 && ioc.type != BW_IOC_IPV6 &&
	    ioc.type != BW_IOC_CIDR)
		return bw_err_set(err, BW_EINVAL, "%s: a %s; guard lists hold domains, addresses and prefixes",
				  ioc.value, bw_ioc_type_name(ioc.type));
	if (reason && strlen(reason) > BW_GUARD_REASON_MAX)
		return bw_err_set(err, BW_EINVAL, "reason longer than %d bytes", BW_GUARD_REASON_MAX);
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = on_any_list(st, &ioc, &before, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(bw_store_db(st),
			       add ? "INSERT OR REPLACE INTO guard_entry(list, type, value, reason, added)"
				     " VALUES (?1, ?2, ?3, ?4, ?5)"
				   : "DELETE FROM guard_entry WHERE list = ?1 AND type = ?2 AND value = ?3",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "changing a guard list");
		goto out;
	}
	sqlite3_bind_text(s, 1, list, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, ioc.type);
	sqlite3_bind_text(s, 3, ioc.value, -1, SQLITE_STATIC);
	if (add) {
		if (reason)
			sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, now);
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "changing a guard list");
		goto out;
	}
	if (!add && sqlite3_changes(bw_store_db(st)) == 0) {
		rc = bw_err_set(err, BW_ENOTFOUND, "%s is not on guard list %s", ioc.value, list);
		goto out;
	}
	snprintf(subject, sizeof(subject), "guard:%s", list);
	dj = json_pack("{s:s, s:s, s:o}", "type", bw_ioc_type_name(ioc.type), "value", ioc.value,
		       "reason", reason ? json_string(reason) : json_null());
	detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	if (detail == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	rc = bw_audit_append(st, now, op, add ? "guard.add" : "guard.remove", subject, detail,
			     NULL, err);
	if (rc == BW_OK)
		rc = on_any_list(st, &ioc, &after, err);
	if (rc == BW_OK && before != after)
		rc = bw_action_journal_exception(st, ioc.type, ioc.value, after, now, err);
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
out:
	sqlite3_finalize(s);
	json_decref(dj);
	bw_free(detail);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_guard_add(struct bw_store *st, const char *list, const char *value,
	     const char *reason, const char *op, int64_t now, struct bw_err *err)
{
	return guard_change(st, 1, list, value, reason, op, now, err);
}

int
bw_guard_remove(struct bw_store *st, const char *list, const char *value,
		const char *op, int64_t now, struct bw_err *err)
{
	return guard_change(st, 0, list, value, NULL, op, now, err);
}

/* One row of (list, type, value, reason, added) into element (a struct
 * bw_guard_entry). */
static void
entry_row(sqlite3_stmt *s, void *element)
{
	struct bw_guard_entry *e = element;

	bw_store_copy_text(s, 0, e->list, sizeof(e->list));
	e->type = (enum bw_ioc_type)sqlite3_column_int(s, 1);
	bw_store_copy_text(s, 2, e->value, sizeof(e->value));
	bw_store_copy_text(s, 3, e->reason, sizeof(e->reason));
	e->added = sqlite3_column_int64(s, 4);
}

int
bw_guard_entries(struct bw_store *st, struct bw_guard_entry **out, size_t *n,
		 struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT list, type, value, reason, added"
			       " FROM guard_entry ORDER BY type, value, list", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading guard entries");
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, entry_row, &rows, n,
				"reading guard entries", err);
	sqlite3_finalize(s);
	*out = rows;
	return rc;
}
