/*
 * tenant_scope.c - national scope entries in the store and the matcher
 * over them (design in tenant_scope.h).
 *
 * The default ccTLD is never stored as an inclusion: it is implied by the
 * tenant's country, and a row with included = 0 records that the operator
 * took it out.  Every other row is an inclusion.  Values are stored in
 * canonical form, so the primary key (tenant, kind, value) makes adding
 * twice a no-op.
 */
#include "share/tenant_scope.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/mem.h"
#include "share/tenant.h"

static const char *const kind_names[] = {
	[BW_SCOPE_CCTLD] = "cctld",   [BW_SCOPE_CIDR] = "cidr",
	[BW_SCOPE_ASN] = "asn",       [BW_SCOPE_DOMAIN] = "domain",
	[BW_SCOPE_BRAND] = "brand",   [BW_SCOPE_COUNTRY] = "country",
};

const char *
bw_scope_kind_name(enum bw_scope_kind kind)
{
	if ((int)kind <= 0 || (size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

static enum bw_scope_kind
kind_from_name(const char *s, size_t n)
{
	for (int k = BW_SCOPE_CCTLD; k <= BW_SCOPE_BRAND; k++)
		if (strlen(kind_names[k]) == n && memcmp(kind_names[k], s, n) == 0)
			return (enum bw_scope_kind)k;
	return BW_SCOPE_NONE;
}

void
bw_tenant_cctld(const char *country, char out[3])
{
	char a = country[0], b = a ? country[1] : '\0';

	a = (char)(a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a);
	b = (char)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
	if (a == 'g' && b == 'b') {
		a = 'u';
		b = 'k';
	}
	out[0] = a;
	out[1] = b;
	out[2] = '\0';
}

/* A ccTLD: one label of letters, digits and '-' (an IDN ccTLD as
 * "xn--..."), at most 63 bytes, lower-cased, a leading '.' dropped. */
static int
parse_cctld(const char *v, char *out, struct bw_err *err)
{
	size_t n;

	if (*v == '.')
		v++;
	n = strlen(v);
	if (n < 2 || n > 63)
		return bw_err_set(err, BW_EINVAL, "cctld: \"%.64s\" is not a top-level "
				  "domain (2 to 63 characters)", v);
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return bw_err_set(err, BW_EINVAL,
					  "cctld: \"%.64s\" is not one label", v);
		out[i] = c;
	}
	out[n] = '\0';
	return BW_OK;
}

static int
parse_asn(const char *v, uint32_t *asn, struct bw_err *err)
{
	unsigned long long x = 0;
	const char *p = v;

	if ((p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's'))
		p += 2;
	if (*p == '\0' || strlen(p) > 10)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (x == 0 || x > UINT32_MAX)
		goto bad;
	*asn = (uint32_t)x;
	return BW_OK;
bad:
	return bw_err_set(err, BW_EINVAL,
			  "asn: \"%.32s\" is not an AS number (1 to 4294967295)", v);
}

int
bw_scope_entry_parse(const char *spec, struct bw_scope_entry *out,
		     struct bw_err *err)
{
	const char *colon = strchr(spec, ':');
	const char *v;
	struct bw_ioc ioc;
	uint32_t asn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (colon == NULL ||
	    (out->kind = kind_from_name(spec, (size_t)(colon - spec))) == BW_SCOPE_NONE)
		return bw_err_set(err, BW_EINVAL,
				  "\"%.64s\": expected cctld:, cidr:, asn:, domain: or "
				  "brand: and a value", spec);
	v = colon + 1;
	if (strlen(v) > BW_SCOPE_VALUE_MAX)
		return bw_err_set(err, BW_EINVAL, "%s: value longer than %d bytes",
				  kind_names[out->kind], BW_SCOPE_VALUE_MAX);
	out->included = 1;
	switch (out->kind) {
	case BW_SCOPE_CCTLD:
		return parse_cctld(v, out->value, err);
	case BW_SCOPE_ASN:
		rc = parse_asn(v, &asn, err);
		if (rc == BW_OK)
			snprintf(out->value, sizeof(out->value), "%u", asn);
		return rc;
	case BW_SCOPE_CIDR:
		rc = bw_ioc_parse(v, strlen(v), BW_IOC_CIDR, &ioc, err);
		if (rc == BW_OK && ioc.type != BW_IOC_CIDR && ioc.type != BW_IOC_IPV4 &&
		    ioc.type != BW_IOC_IPV6)
			rc = bw_err_set(err, BW_EINVAL, "cidr: \"%.64s\" is not a prefix", v);
		break;
	case BW_SCOPE_DOMAIN:
	case BW_SCOPE_BRAND:
		rc = bw_ioc_parse(v, strlen(v), BW_IOC_DOMAIN, &ioc, err);
		if (rc == BW_OK && ioc.type != BW_IOC_DOMAIN)
			rc = bw_err_set(err, BW_EINVAL, "%s: \"%.64s\" is not a domain",
					kind_names[out->kind], v);
		break;
	default:
		return bw_err_set(err, BW_EINVAL, "bad scope kind");
	}
	if (rc)
		return rc;
	if (ioc.len > BW_SCOPE_VALUE_MAX)
		return bw_err_set(err, BW_EINVAL, "%s: value longer than %d bytes",
				  kind_names[out->kind], BW_SCOPE_VALUE_MAX);
	memcpy(out->value, ioc.value, ioc.len + 1);
	return BW_OK;
}

/* ---- the store ---- */

/* Runs a one-row statement over (tenant, kind, value); returns the
 * SQLite step result. */
static int
run3(sqlite3_stmt *s, int64_t tenant, const struct bw_scope_entry *e)
{
	sqlite3_bind_int64(s, 1, tenant);
	sqlite3_bind_text(s, 2, kind_names[e->kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, e->value, -1, SQLITE_STATIC);
	return sqlite3_step(s);
}

/* included of the row of e: 1, 0, or -1 if there is no row. */
static int
row_state(struct bw_store *st, int64_t tenant, const struct bw_scope_entry *e,
	  int *state, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = bw_store_prepare(st, "SELECT included FROM tenant_scope"
			  " WHERE tenant_id = ? AND kind = ? AND value = ?", &s, err);

	if (rc)
		return rc;
	switch (run3(s, tenant, e)) {
	case SQLITE_ROW:
		*state = sqlite3_column_int(s, 0) ? 1 : 0;
		break;
	case SQLITE_DONE:
		*state = -1;
		break;
	default:
		rc = bw_store_fail(st, err, "reading the scope");
	}
	sqlite3_finalize(s);
	return rc;
}

static bool
is_default(const struct bw_tenant *t, const struct bw_scope_entry *e)
{
	char tld[3];

	bw_tenant_cctld(t->country, tld);
	return e->kind == BW_SCOPE_CCTLD && strcmp(e->value, tld) == 0;
}

/* Common start of add and remove: parse, begin, find the tenant. */
static int
begin_change(struct bw_store *st, const char *country, const char *spec,
	     struct bw_tenant *t, struct bw_scope_entry *e, int *state,
	     struct bw_err *err)
{
	int rc = bw_scope_entry_parse(spec, e, err);

	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_tenant_get(st, country, t, err);
	if (rc == BW_OK)
		rc = row_state(st, t->id, e, state, err);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

static int
exec3(struct bw_store *st, const char *sql, int64_t tenant,
      const struct bw_scope_entry *e, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = bw_store_prepare(st, sql, &s, err);

	if (rc)
		return rc;
	if (sqlite3_bind_parameter_count(s) == 4)
		sqlite3_bind_int64(s, 4, now);
	if (run3(s, tenant, e) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "changing the scope");
	sqlite3_finalize(s);
	return rc;
}

int
bw_tenant_scope_add(struct bw_store *st, const char *country, const char *spec,
		    int64_t now, struct bw_err *err)
{
	struct bw_tenant t;
	struct bw_scope_entry e;
	sqlite3_stmt *s = NULL;
	int state, rc;

	rc = begin_change(st, country, spec, &t, &e, &state, err);
	if (rc)
		return rc;
	if (is_default(&t, &e)) {
		/* in scope unless excluded: drop the exclusion */
		if (state == 0)
			rc = exec3(st, "DELETE FROM tenant_scope WHERE tenant_id = ?"
				       " AND kind = ? AND value = ?", t.id, &e, now, err);
	} else if (state < 0) {
		rc = bw_store_prepare(st, "SELECT count(*) FROM tenant_scope WHERE tenant_id = ?",
			  &s, err);
		if (rc)
			goto out;
		sqlite3_bind_int64(s, 1, t.id);
		if (sqlite3_step(s) != SQLITE_ROW) {
			rc = bw_store_fail(st, err, "counting the scope");
			goto out;
		}
		if (sqlite3_column_int64(s, 0) >= BW_TENANT_SCOPE_MAX) {
			rc = bw_err_set(err, BW_ELIMIT, "%s already has %d scope entries",
					t.country, BW_TENANT_SCOPE_MAX);
			goto out;
		}
		rc = exec3(st, "INSERT INTO tenant_scope (tenant_id, kind, value,"
			       " included, added) VALUES (?, ?, ?, 1, ?)",
			   t.id, &e, now, err);
	}
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
out:
	sqlite3_finalize(s);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_tenant_scope_remove(struct bw_store *st, const char *country,
		       const char *spec, int64_t now, struct bw_err *err)
{
	struct bw_tenant t;
	struct bw_scope_entry e;
	int state, rc;

	rc = begin_change(st, country, spec, &t, &e, &state, err);
	if (rc)
		return rc;
	if (is_default(&t, &e) ? state == 0 : state < 0)
		rc = bw_err_set(err, BW_ENOTFOUND, "%s:%s is not in the scope of %s",
				kind_names[e.kind], e.value, t.country);
	else if (is_default(&t, &e))
		rc = exec3(st, "INSERT INTO tenant_scope (tenant_id, kind, value,"
			       " included, added) VALUES (?, ?, ?, 0, ?)",
			   t.id, &e, now, err);
	else
		rc = exec3(st, "DELETE FROM tenant_scope WHERE tenant_id = ?"
			       " AND kind = ? AND value = ?", t.id, &e, now, err);
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_tenant_scope_list(struct bw_store *st, const char *country,
		     struct bw_scope_entry **out, size_t *n, struct bw_err *err)
{
	struct bw_tenant t;
	struct bw_scope_entry *v = NULL, *grown;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	int rc, step;

	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT kind, value, included, added FROM tenant_scope"
		      " WHERE tenant_id = ? ORDER BY kind, value", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, t.id);
	/* slot 0: the default ccTLD */
	v = bw_grow(NULL, &cap, 1, sizeof(*v));
	if (v == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	memset(&v[0], 0, sizeof(v[0]));
	v[0].kind = BW_SCOPE_CCTLD;
	bw_tenant_cctld(t.country, v[0].value);
	v[0].is_default = 1;
	v[0].included = 1;
	cnt = 1;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_scope_entry e;
		const char *k = (const char *)sqlite3_column_text(s, 0);
		const char *val = (const char *)sqlite3_column_text(s, 1);

		memset(&e, 0, sizeof(e));
		e.kind = k ? kind_from_name(k, strlen(k)) : BW_SCOPE_NONE;
		if (e.kind == BW_SCOPE_NONE || val == NULL ||
		    strlen(val) > BW_SCOPE_VALUE_MAX) {
			rc = bw_err_set(err, BW_EFORMAT, "bad scope row for %s", t.country);
			goto out;
		}
		memcpy(e.value, val, strlen(val) + 1);
		e.included = sqlite3_column_int(s, 2) ? 1 : 0;
		e.added = sqlite3_column_int64(s, 3);
		if (is_default(&t, &e)) {
			v[0].included = e.included;
			v[0].added = e.added;
			continue;
		}
		grown = bw_grow(v, &cap, cnt + 1, sizeof(*v));
		if (grown == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		v = grown;
		v[cnt++] = e;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "listing the scope");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	sqlite3_finalize(s);
	bw_free(v);
	return rc;
}

/* ---- matching ---- */

struct item {
	enum bw_scope_kind kind;
	const char *value; /* into the list array */
	size_t len;
	int family; /* cidr: AF_INET or AF_INET6 */
	unsigned char net[16];
	int plen;
	uint32_t asn;
};

struct bw_tenant_scope {
	char country[3];
	struct bw_scope_entry *entries;
	struct item *items;
	size_t n;
};

void
bw_tenant_scope_free(struct bw_tenant_scope *s)
{
	if (s == NULL)
		return;
	bw_free(s->entries);
	bw_free(s->items);
	bw_free(s);
}

/* "addr" or "addr/len" -> family, 16 bytes, prefix length. */
static int
parse_prefix(const char *v, int *family, unsigned char a[16], int *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);

	if (n == 0 || n >= INET6_ADDRSTRLEN)
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		*family = AF_INET6;
	else
		return 0;
	*plen = *family == AF_INET ? 32 : 128;
	if (slash) {
		int x = 0;
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return 0;
			x = x * 10 + (*p - '0');
		}
		if (x > *plen)
			return 0;
		*plen = x;
	}
	return 1;
}

int
bw_tenant_scope_load(struct bw_store *st, const char *country,
		     struct bw_tenant_scope **out, struct bw_err *err)
{
	struct bw_tenant_scope *s = bw_calloc(1, sizeof(*s));
	size_t n = 0;
	int rc;

	if (s == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_tenant_country_parse(country, s->country, err);
	if (rc == BW_OK)
		rc = bw_tenant_scope_list(st, country, &s->entries, &n, err);
	if (rc)
		goto out;
	s->items = bw_calloc(n, sizeof(*s->items));
	if (s->items == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bw_scope_entry *e = &s->entries[i];
		struct item *it = &s->items[s->n];

		if (!e->included)
			continue;
		it->kind = e->kind;
		it->value = e->value;
		it->len = strlen(e->value);
		if (e->kind == BW_SCOPE_CIDR &&
		    !parse_prefix(e->value, &it->family, it->net, &it->plen)) {
			rc = bw_err_set(err, BW_EFORMAT, "bad stored prefix %s", e->value);
			goto out;
		}
		if (e->kind == BW_SCOPE_ASN && parse_asn(e->value, &it->asn, err)) {
			rc = BW_EFORMAT;
			goto out;
		}
		s->n++;
	}
	*out = s;
	s = NULL;
out:
	bw_tenant_scope_free(s);
	return rc;
}

/* host is d or under d. */
static bool
under(const char *host, size_t hl, const char *d, size_t dl)
{
	if (hl == dl)
		return memcmp(host, d, dl) == 0;
	return hl > dl && host[hl - dl - 1] == '.' &&
	       memcmp(host + hl - dl, d, dl) == 0;
}

/* Whether the tokens of host (split at '.' and '-') hold the tokens of
 * brand in a row, or the brand's first label alone when it is 5 or more
 * characters long. */
static bool
impersonates(const char *host, size_t hl, const char *brand, size_t bl)
{
	size_t first = strcspn(brand, ".");

	for (size_t i = 0; i < hl; i++) {
		size_t j = 0, k = i;

		if (i > 0 && host[i - 1] != '.' && host[i - 1] != '-')
			continue; /* not at a token start */
		/* brand tokens in a row: separators may be '.' or '-' */
		while (j < bl && k < hl &&
		       (host[k] == brand[j] ||
			(brand[j] == '.' && host[k] == '-'))) {
			j++;
			k++;
		}
		if (j == bl && (k == hl || host[k] == '.' || host[k] == '-'))
			return true;
		if (first >= 5 && i + first <= hl &&
		    memcmp(host + i, brand, first) == 0 &&
		    (i + first == hl || host[i + first] == '.' || host[i + first] == '-'))
			return true;
	}
	return false;
}

static void
found(struct bw_scope_match *out, enum bw_scope_kind why, const char *detail)
{
	out->national = 1;
	out->why = why;
	snprintf(out->detail, sizeof(out->detail), "%s", detail);
}

static void
match_host(const struct bw_tenant_scope *s, const char *host, size_t hl,
	   struct bw_scope_match *out)
{
	const char *dot = memrchr(host, '.', hl);
	const char *tld = dot ? dot + 1 : host;
	size_t tl = hl - (size_t)(tld - host);
	static const enum bw_scope_kind order[] = {
		BW_SCOPE_DOMAIN, BW_SCOPE_BRAND, BW_SCOPE_CCTLD,
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < s->n; i++) {
			const struct item *it = &s->items[i];
			bool hit;

			if (it->kind != order[o])
				continue;
			if (it->kind == BW_SCOPE_CCTLD)
				hit = tl == it->len && memcmp(tld, it->value, tl) == 0;
			else if (it->kind == BW_SCOPE_DOMAIN)
				hit = under(host, hl, it->value, it->len);
			else
				hit = under(host, hl, it->value, it->len) ||
				      impersonates(host, hl, it->value, it->len);
			if (hit) {
				found(out, it->kind, it->value);
				return;
			}
		}
	}
}

static bool
prefix_in(const unsigned char *a, int alen, const unsigned char *net, int nlen)
{
	int full = nlen / 8, rest = nlen % 8;

	if (alen < nlen)
		return false;
	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

static int
match_addr(const struct bw_tenant_scope *s, const char *value,
	   const struct bw_geo *geo, struct bw_scope_match *out,
	   struct bw_err *err)
{
	unsigned char a[16];
	char first[INET6_ADDRSTRLEN], cc[3];
	int family, plen;
	struct bw_geo_asn asn;
	struct bw_err ignore;

	if (!parse_prefix(value, &family, a, &plen))
		return bw_err_set(err, BW_EINVAL, "not an address or prefix: %.64s",
				  value);
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		if (it->kind == BW_SCOPE_CIDR && it->family == family &&
		    prefix_in(a, plen, it->net, it->plen)) {
			found(out, BW_SCOPE_CIDR, it->value);
			return BW_OK;
		}
	}
	if (geo == NULL || inet_ntop(family, a, first, sizeof(first)) == NULL)
		return BW_OK;
	if (bw_geo_has_asn(geo) && bw_geo_asn(geo, first, &asn, &ignore) == BW_OK) {
		for (size_t i = 0; i < s->n; i++) {
			const struct item *it = &s->items[i];
			if (it->kind == BW_SCOPE_ASN && it->asn == asn.asn) {
				found(out, BW_SCOPE_ASN, it->value);
				return BW_OK;
			}
		}
	}
	if (bw_geo_has_country(geo) &&
	    bw_geo_country(geo, first, cc, &ignore) == BW_OK &&
	    strcmp(cc, s->country) == 0)
		found(out, BW_SCOPE_COUNTRY, cc);
	return BW_OK;
}

/* The host part of a canonical URL into buf (brackets of an IPv6 host
 * dropped); 0 if there is none. */
static size_t
url_host(const char *url, char *buf, size_t cap)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n;

	if (p == NULL)
		return 0;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (close == NULL)
			return 0;
		p++;
		end = close;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon)
			end = colon;
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= cap)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

int
bw_tenant_scope_match(const struct bw_tenant_scope *s, enum bw_ioc_type type,
		      const char *value, const struct bw_geo *geo,
		      struct bw_scope_match *out, struct bw_err *err)
{
	char host[BW_IOC_VALUE_MAX + 1];
	unsigned char tmp[16];
	const char *at;
	size_t hl;

	memset(out, 0, sizeof(*out));
	switch (type) {
	case BW_IOC_DOMAIN:
		hl = strlen(value);
		if (hl == 0 || hl > BW_IOC_VALUE_MAX)
			return bw_err_set(err, BW_EINVAL, "not a domain");
		match_host(s, value, hl, out);
		return BW_OK;
	case BW_IOC_EMAIL:
		at = strrchr(value, '@');
		if (at == NULL || at[1] == '\0')
			return bw_err_set(err, BW_EINVAL, "not an email address: %.64s",
					  value);
		match_host(s, at + 1, strlen(at + 1), out);
		return BW_OK;
	case BW_IOC_URL:
		hl = url_host(value, host, sizeof(host));
		if (hl == 0)
			return bw_err_set(err, BW_EINVAL, "no host in URL %.64s", value);
		if (inet_pton(AF_INET, host, tmp) == 1 ||
		    inet_pton(AF_INET6, host, tmp) == 1)
			return match_addr(s, host, geo, out, err);
		match_host(s, host, hl, out);
		return BW_OK;
	case BW_IOC_IPV4:
	case BW_IOC_IPV6:
	case BW_IOC_CIDR:
		return match_addr(s, value, geo, out, err);
	default:
		return BW_OK; /* hashes: never national */
	}
}
