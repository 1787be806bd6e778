/*
 * dnsbl.c - the DNSBL snapshot and its answers (see dnsbl.h).
 */
#include "net/dnsbl.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "core/tlp.h"

#define REASONS_MAX 1000000

struct ip_ent {
	uint32_t addr;
	uint32_t reason;
};

/* Sorted entries and, once sorted, a bucket index on their top bits:
 * entries with addr >> shift == k are e[idx[k] .. idx[k + 1]), about a
 * cache line of them per bucket.  The index stays small (512 KiB for a
 * million addresses) and so in the cache, and a look-up costs one miss in
 * the entries instead of the twenty steps of a binary search. */
struct ip_tab {
	struct ip_ent *e;
	size_t n, cap;
	uint32_t *idx;
	unsigned shift;
};

/* 8 bytes, so the table of a million names stays small: the length and
 * the reason are in the names arena before the name ([len][reason][name]). */
struct dom_slot {
	uint32_t tag; /* high half of the name's hash, never 0; 0: empty */
	uint32_t off; /* of the name in the arena */
};

#define NAMES_ARENA_MAX UINT32_MAX
/* Entries per bucket of an ip_tab index: 8 of 8 bytes, one cache line. */
#define IP_BUCKET 8

struct zone {
	uint8_t apex[BW_DNS_NAME_MAX];
	size_t len;
	uint8_t soa[2 * BW_DNS_NAME_MAX + 20];
	size_t soa_len;
};

struct bw_dnsbl {
	long refs;
	uint32_t ttl;
	struct zone ipz, namez;
	uint8_t ns[16];
	size_t ns_len;
	struct ip_tab exact;
	struct ip_tab cidr[33]; /* by prefix length; [32] unused (exact) */
	struct dom_slot *dom;
	size_t dmask, ndom;
	/* bit k: some listed name has k labels (k < 128), so a look-up
	 * probes only the suffixes that can match */
	uint64_t depths[2];
	uint8_t *names;
	size_t nlen, ncap;
	struct bw_strmap *reason_map;
	const uint8_t **reason; /* TXT RDATA: <len><text> */
	size_t nreason, rcap;
	struct bw_dnsbl_stats stats;
};

void
bw_dnsbl_conf_init(struct bw_dnsbl_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->ip_zone, sizeof(c->ip_zone), "%s", BW_DNSBL_DEFAULT_IP_ZONE);
	snprintf(c->name_zone, sizeof(c->name_zone), "%s", BW_DNSBL_DEFAULT_NAME_ZONE);
	c->include_clear = 1;
	c->ttl = 300;
	c->max_entries = BW_DNSBL_ENTRIES_DEFAULT_MAX;
}

static uint64_t
hash_name(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint32_t
tag_of(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1; /* never 0, the empty mark */
}

static int
zone_init(struct zone *z, const char *text, struct bw_err *err)
{
	uint8_t tmp[BW_DNS_NAME_MAX];
	size_t tl, o = 0;

	if (bw_dns_name_from_text(text, tmp, &tl, err))
		return bw_err_prefix(err, "dnsbl zone");
	if (tl < 2 || tl + 11 > BW_DNS_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "dnsbl zone: bad name '%.80s'", text);
	bw_dns_name_lower(tmp, tl, z->apex);
	z->len = tl;
	memcpy(z->soa, "\11localhost\0", 11);
	o = 11;
	z->soa[o] = 10;
	memcpy(z->soa + o + 1, "hostmaster", 10);
	memcpy(z->soa + o + 11, z->apex, tl);
	o += 11 + tl;
	/* serial 1, refresh 3600, retry 600, expire 86400, minimum 300 */
	memcpy(z->soa + o, "\0\0\0\1\0\0\x0e\x10\0\0\x02\x58\0\x01\x51\x80\0\0\x01\x2c", 20);
	z->soa_len = o + 20;
	return BW_OK;
}

static int
tab_add(struct ip_tab *t, uint32_t addr, uint32_t reason)
{
	if (t->n == t->cap) {
		size_t cap = t->cap;
		struct ip_ent *e = bw_grow(t->e, &cap, t->n + 1, sizeof(*e));
		if (e == NULL)
			return BW_ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].addr = addr;
	t->e[t->n].reason = reason;
	t->n++;
	return BW_OK;
}

static int
cmp_ip(const void *x, const void *y)
{
	const struct ip_ent *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static void
tab_sort(struct ip_tab *t)
{
	size_t o = 0;

	if (t->n > 1)
		qsort(t->e, t->n, sizeof(t->e[0]), cmp_ip);
	for (size_t i = 0; i < t->n; i++)
		if (o == 0 || t->e[o - 1].addr != t->e[i].addr)
			t->e[o++] = t->e[i];
	t->n = o;
}

/* Builds t's bucket index: about IP_BUCKET entries per bucket (a cache
 * line of them), at most 2^24 buckets. */
static int
tab_index(struct ip_tab *t)
{
	unsigned bits = 1;
	size_t k = 0, nb;

	if (t->n == 0)
		return BW_OK;
	while (bits < 24 && ((size_t)IP_BUCKET << bits) < t->n)
		bits++;
	t->shift = 32 - bits;
	nb = (size_t)1 << bits;
	t->idx = bw_malloc((nb + 1) * sizeof(*t->idx));
	if (t->idx == NULL)
		return BW_ENOMEM;
	for (size_t b = 0; b <= nb; b++) {
		while (k < t->n && (t->e[k].addr >> t->shift) < b)
			k++;
		t->idx[b] = (uint32_t)k;
	}
	return BW_OK;
}

static const struct ip_ent *
tab_find(const struct ip_tab *t, uint32_t addr)
{
	size_t lo, hi;

	if (t->idx == NULL)
		return NULL;
	lo = t->idx[addr >> t->shift];
	hi = t->idx[(addr >> t->shift) + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->e[lo].addr == addr ? &t->e[lo] : NULL;
}

/* The reason index for key, creating its TXT from text. */
static int
reason_of(struct bw_dnsbl *b, const char *key, const char *text, uint32_t *out)
{
	void *v;
	size_t tl = strlen(text);
	uint8_t *rd;

	if (bw_strmap_find(b->reason_map, key, strlen(key), &v)) {
		*out = (uint32_t)((uintptr_t)v - 1);
		return BW_OK;
	}
	if (tl > 255)
		tl = 255;
	rd = bw_strmap_alloc(b->reason_map, tl + 1);
	if (rd == NULL)
		return BW_ENOMEM;
	rd[0] = (uint8_t)tl;
	memcpy(rd + 1, text, tl);
	if (b->nreason == b->rcap) {
		size_t cap = b->rcap;
		const uint8_t **r = bw_grow(b->reason, &cap, b->nreason + 1, sizeof(*r));
		if (r == NULL)
			return BW_ENOMEM;
		b->reason = r;
		b->rcap = cap;
	}
	b->reason[b->nreason] = rd;
	if (bw_strmap_put(b->reason_map, key, strlen(key), (void *)(uintptr_t)(b->nreason + 1), NULL))
		return BW_ENOMEM;
	*out = (uint32_t)b->nreason++;
	return BW_OK;
}

/* Domains are collected in the names arena as [len][wire without root]
 * first, hashed once all are in. */
static int
dom_collect(struct bw_dnsbl *b, const char *value, uint32_t reason)
{
	uint8_t w[BW_DNS_NAME_MAX], low[BW_DNS_NAME_MAX];
	size_t wl;

	if (bw_dns_name_from_text(value, w, &wl, NULL) || wl < 2)
		return BW_OK; /* not a name: skip */
	wl--; /* without the root label */
	if (b->nlen + wl + 5 > NAMES_ARENA_MAX)
		return BW_ELIMIT;
	if (b->nlen + wl + 5 > b->ncap) {
		size_t cap = b->ncap;
		uint8_t *p = bw_grow(b->names, &cap, b->nlen + wl + 5, 1);
		if (p == NULL)
			return BW_ENOMEM;
		b->names = p;
		b->ncap = cap;
	}
	bw_dns_name_lower(w, wl, low);
	b->names[b->nlen] = (uint8_t)wl;
	memcpy(b->names + b->nlen + 1, &reason, 4);
	memcpy(b->names + b->nlen + 5, low, wl);
	b->nlen += wl + 5;
	b->ndom++;
	{
		int k = bw_dns_name_labels(w, wl + 1);
		if (k < 128)
			b->depths[k / 64] |= (uint64_t)1 << (k % 64);
	}
	return BW_OK;
}

/* The arena offset of the entry [len][reason][name] for name, or -1. */
static long
dom_find(const struct bw_dnsbl *b, const uint8_t *name, size_t len)
{
	uint64_t h;
	uint32_t tag;
	size_t i;

	if (b->dom == NULL)
		return -1;
	h = hash_name(name, len);
	tag = tag_of(h);
	for (i = (size_t)h & b->dmask; b->dom[i].tag != 0; i = (i + 1) & b->dmask) {
		const uint8_t *e = b->names + b->dom[i].off;
		if (b->dom[i].tag == tag && e[0] == len && memcmp(e + 5, name, len) == 0)
			return (long)b->dom[i].off;
	}
	return -1;
}

static int
dom_index(struct bw_dnsbl *b)
{
	size_t size = 16, n = 0;

	while (size < 2 * b->ndom)
		size *= 2;
	b->dom = bw_calloc(size, sizeof(*b->dom));
	if (b->dom == NULL)
		return BW_ENOMEM;
	b->dmask = size - 1;
	for (size_t off = 0; off < b->nlen;) {
		size_t len = b->names[off];
		const uint8_t *name = b->names + off + 5;
		if (dom_find(b, name, len) < 0) {
			uint64_t h = hash_name(name, len);
			size_t i = (size_t)h & b->dmask;
			while (b->dom[i].tag != 0)
				i = (i + 1) & b->dmask;
			b->dom[i].tag = tag_of(h);
			b->dom[i].off = (uint32_t)off;
			n++;
		}
		off += 5 + len;
	}
	b->stats.domains = n;
	return BW_OK;
}

static int
add_row(struct bw_dnsbl *b, int type, const char *value, uint32_t reason)
{
	char tmp[64];
	const char *slash;
	struct in_addr a;
	unsigned long bits = 32;

	if (type == BW_IOC_DOMAIN)
		return dom_collect(b, value, reason);
	if (type != BW_IOC_IPV4 && type != BW_IOC_CIDR)
		return BW_OK;
	slash = strchr(value, '/');
	if (slash) {
		size_t n = (size_t)(slash - value);
		char *end;
		if (n >= sizeof(tmp))
			return BW_OK;
		memcpy(tmp, value, n);
		tmp[n] = '\0';
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits < 1 || bits > 32)
			return BW_OK;
	} else {
		snprintf(tmp, sizeof(tmp), "%s", value);
	}
	if (inet_pton(AF_INET, tmp, &a) != 1)
		return BW_OK; /* IPv6: not served by an ip4set */
	{
		uint32_t ip = ntohl(a.s_addr);
		if (bits == 32)
			return tab_add(&b->exact, ip, reason);
		ip &= ~(uint32_t)0 << (32 - bits);
		return tab_add(&b->cidr[bits], ip, reason);
	}
}

static int
load_rows(struct bw_dnsbl *b, sqlite3 *db, const struct bw_dnsbl_conf *c, struct bw_err *err)
{
	static const char *const q_act =
		"SELECT a.type, a.target, a.authz_id, z.authority, z.reference FROM action a"
		" JOIN authz z ON z.id = a.authz_id WHERE a.state = 'active'";
	static const char *const q_clear =
		"SELECT i.type, i.value, r.source_id, s.name FROM record r"
		" JOIN indicator i ON i.id = r.indicator_id JOIN source s ON s.id = r.source_id"
		" WHERE r.tlp = ?1 AND r.revoked = 0 AND r.expired = 0 AND i.type IN (?2, ?3, ?4)";
	sqlite3_stmt *s = NULL;
	char key[48], text[300];
	size_t total = 0;
	int64_t last_id = -1;
	uint32_t last_reason = 0;
	int r, rc = BW_OK;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !c->include_clear)
			break;
		if (sqlite3_prepare_v2(db, pass ? q_clear : q_act, -1, &s, NULL) != SQLITE_OK)
			goto dberr;
		if (pass) {
			sqlite3_bind_int(s, 1, BW_TLP_CLEAR);
			sqlite3_bind_int(s, 2, BW_IOC_DOMAIN);
			sqlite3_bind_int(s, 3, BW_IOC_IPV4);
			sqlite3_bind_int(s, 4, BW_IOC_CIDR);
		}
		last_id = -1;
		while ((r = sqlite3_step(s)) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(s, 1);
			int64_t id = sqlite3_column_int64(s, 2);
			uint32_t reason;
			if (v == NULL)
				continue;
			if (++total > c->max_entries) {
				rc = bw_err_set(err, BW_ELIMIT, "dnsbl: more than %zu entries",
						c->max_entries);
				goto out;
			}
			/* rows come in runs of one source or authorisation */
			if (id != last_id) {
				const char *a = (const char *)sqlite3_column_text(s, 3);
				const char *ref = pass ? "" : (const char *)sqlite3_column_text(s, 4);
				snprintf(key, sizeof(key), "%c%lld", pass ? 's' : 'a', (long long)id);
				if (pass)
					snprintf(text, sizeof(text), "listed: reported by %s (TLP:CLEAR)",
						 a ? a : "?");
				else
					snprintf(text, sizeof(text), "listed: disruption ordered by %s, ref. %s",
						 a ? a : "?", ref ? ref : "?");
				if (reason_of(b, key, text, &last_reason))
					goto nomem;
				last_id = id;
			}
			reason = last_reason;
			rc = add_row(b, sqlite3_column_int(s, 0), v, reason);
			if (rc == BW_ELIMIT) {
				rc = bw_err_set(err, BW_ELIMIT, "dnsbl: the domain names take over %llu bytes",
						(unsigned long long)NAMES_ARENA_MAX);
				goto out;
			}
			if (rc)
				goto nomem;
		}
		if (r != SQLITE_DONE)
			goto dberr;
		sqlite3_finalize(s);
		s = NULL;
	}
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "dnsbl: out of memory");
	goto out;
dberr:
	rc = bw_err_set(err, BW_ESTORE, "dnsbl: reading the store: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	return rc;
}

int
bw_dnsbl_load(struct bw_store *st, const struct bw_dnsbl_conf *c, struct bw_dnsbl **out,
	      struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_dnsbl *b;
	int rc, txn = 0;

	*out = NULL;
	b = bw_calloc(1, sizeof(*b));
	if (b == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	b->refs = 1;
	b->ttl = c->ttl;
	memcpy(b->ns, "\11localhost\0", 11);
	b->ns_len = 11;
	if ((rc = zone_init(&b->ipz, c->ip_zone, err)) || (rc = zone_init(&b->namez, c->name_zone, err)))
		goto out;
	rc = bw_strmap_new(REASONS_MAX, &b->reason_map, err);
	if (rc)
		goto out;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "dnsbl: %s", sqlite3_errmsg(db));
		goto out;
	}
	txn = 1;
	rc = load_rows(b, db, c, err);
	if (rc)
		goto out;
	tab_sort(&b->exact);
	b->stats.ipv4 = b->exact.n;
	for (int i = 1; i < 32; i++) {
		tab_sort(&b->cidr[i]);
		b->stats.cidr += b->cidr[i].n;
	}
	rc = tab_index(&b->exact);
	for (int i = 1; i < 32 && rc == BW_OK; i++)
		rc = tab_index(&b->cidr[i]);
	if (rc == BW_OK)
		rc = dom_index(b);
	if (rc) {
		rc = bw_err_set(err, BW_ENOMEM, "dnsbl: out of memory");
		goto out;
	}
	b->stats.reasons = b->nreason;
	*out = b;
	b = NULL;
out:
	if (txn)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	bw_dnsbl_unref(b);
	return rc;
}

void
bw_dnsbl_ref(struct bw_dnsbl *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void
bw_dnsbl_unref(struct bw_dnsbl *b)
{
	if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	bw_free(b->exact.e);
	bw_free(b->exact.idx);
	for (int i = 0; i < 33; i++) {
		bw_free(b->cidr[i].e);
		bw_free(b->cidr[i].idx);
	}
	bw_free(b->dom);
	bw_free(b->names);
	bw_free(b->reason);
	bw_strmap_free(b->reason_map);
	bw_free(b);
}

void
bw_dnsbl_get_stats(const struct bw_dnsbl *b, struct bw_dnsbl_stats *s)
{
	*s = b->stats;
}

int
bw_dnsbl_in_zone(const struct bw_dnsbl *b, const uint8_t *qname, size_t len)
{
	return bw_dns_name_under(qname, len, b->ipz.apex, b->ipz.len, NULL) ||
	       bw_dns_name_under(qname, len, b->namez.apex, b->namez.len, NULL);
}

/* The IPv4 address of the reversed labels in pre[0..plen) ("4.3.2.1" for
 * 1.2.3.4, digits only, no leading zero), or -1. */
static int64_t
ip_of(const uint8_t *pre, size_t plen)
{
	uint32_t oct[4];
	size_t i = 0;
	int n = 0;

	while (i < plen) {
		size_t l = pre[i++];
		uint32_t v = 0;
		if (n == 4 || l == 0 || l > 3 || i + l > plen)
			return -1;
		for (size_t k = 0; k < l; k++) {
			uint8_t c = pre[i + k];
			if (c < '0' || c > '9' || (k == 0 && c == '0' && l > 1))
				return -1;
			v = v * 10 + (uint32_t)(c - '0');
		}
		if (v > 255)
			return -1;
		oct[n++] = v;
		i += l;
	}
	if (n != 4)
		return -1;
	return (int64_t)(oct[3] << 24 | oct[2] << 16 | oct[1] << 8 | oct[0]);
}

/* The listing of the reversed IPv4 labels in pre[0..plen), or -1. */
static long
ip_lookup(const struct bw_dnsbl *b, const uint8_t *pre, size_t plen)
{
	int64_t v = ip_of(pre, plen);
	uint32_t ip;
	const struct ip_ent *e;

	if (v < 0)
		return -1;
	ip = (uint32_t)v;
	if ((e = tab_find(&b->exact, ip)) != NULL)
		return e->reason;
	for (int bits = 31; bits >= 1; bits--) {
		if (b->cidr[bits].n == 0)
			continue;
		if ((e = tab_find(&b->cidr[bits], ip & (~(uint32_t)0 << (32 - bits)))) != NULL)
			return e->reason;
	}
	return -1;
}

/* The offsets in the lower-cased prefix low[0..plen) of the names a
 * listing could match: the name itself, then each parent (a listing covers
 * subdomains), skipping the depths nothing is listed at.  Returns their
 * number. */
static size_t
name_probes(const struct bw_dnsbl *b, const uint8_t *low, size_t plen,
	    size_t at[BW_DNS_NAME_MAX / 2])
{
	size_t n = 0;
	int k = 0;

	for (size_t j = 0; j < plen; j += 1 + (size_t)low[j])
		k++;
	for (size_t i = 0; i < plen; i += 1 + (size_t)low[i], k--)
		if (k >= 128 || (b->depths[k / 64] >> (k % 64) & 1))
			at[n++] = i;
	return n;
}

static long
name_lookup(const struct bw_dnsbl *b, const uint8_t *pre, size_t plen)
{
	uint8_t low[BW_DNS_NAME_MAX];
	size_t at[BW_DNS_NAME_MAX / 2], n;

	bw_dns_name_lower(pre, plen, low);
	n = name_probes(b, low, plen, at);
	for (size_t j = 0; j < n; j++) {
		long off = dom_find(b, low + at[j], plen - at[j]);
		uint32_t reason;
		if (off >= 0) {
			memcpy(&reason, b->names + off + 1, 4);
			return reason;
		}
	}
	return -1;
}

void
bw_dnsbl_prefetch(const struct bw_dnsbl *b, const uint8_t *qname, size_t len, int stage)
{
	size_t pre;

	if (bw_dns_name_under(qname, len, b->ipz.apex, b->ipz.len, &pre)) {
		const struct ip_tab *t = &b->exact;
		int64_t ip = ip_of(qname, pre);
		uint32_t k;

		if (ip < 0 || t->idx == NULL)
			return;
		k = (uint32_t)ip >> t->shift;
		/* the bucket's bounds, then its entries (a line or two) */
		if (stage == 0) {
			__builtin_prefetch(&t->idx[k]);
		} else {
			__builtin_prefetch(&t->e[t->idx[k]]);
			if (t->idx[k + 1] > t->idx[k])
				__builtin_prefetch(&t->e[t->idx[k + 1] - 1]);
		}
	} else if (b->dom && bw_dns_name_under(qname, len, b->namez.apex, b->namez.len, &pre)) {
		uint8_t low[BW_DNS_NAME_MAX];
		size_t at[BW_DNS_NAME_MAX / 2], n;

		bw_dns_name_lower(qname, pre, low);
		n = name_probes(b, low, pre, at);
		for (size_t j = 0; j < n; j++) {
			uint64_t h = hash_name(low + at[j], pre - at[j]);
			size_t i = (size_t)h & b->dmask;
			uint32_t tag = tag_of(h);
			if (stage == 0) {
				__builtin_prefetch(&b->dom[i]);
				continue;
			}
			for (; b->dom[i].tag != 0; i = (i + 1) & b->dmask)
				if (b->dom[i].tag == tag) {
					__builtin_prefetch(b->names + b->dom[i].off);
					break;
				}
		}
	}
}

static int
put(struct bw_dns_writer *w, int section, const uint8_t *owner, size_t olen, uint16_t type,
    uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	return bw_dns_w_rr(w, section, owner, olen, type, BW_DNS_CLASS_IN, ttl, rd, rdlen);
}

int
bw_dnsbl_answer(const struct bw_dnsbl *b, const uint8_t *qname, size_t len, uint16_t qtype,
		struct bw_dns_writer *w)
{
	static const uint8_t listed[4] = {127, 0, 0, 2};
	const struct zone *z = &b->ipz;
	size_t pre;
	long reason;
	int hits = 0;

	if (!bw_dns_name_under(qname, len, z->apex, z->len, &pre)) {
		z = &b->namez;
		if (!bw_dns_name_under(qname, len, z->apex, z->len, &pre))
			return BW_DNS_REFUSED;
	}
	if (pre == 0) {
		if (qtype == BW_DNS_SOA || qtype == BW_DNS_ANY) {
			if (put(w, 1, z->apex, z->len, BW_DNS_SOA, b->ttl, z->soa, z->soa_len))
				return -1;
			hits++;
		}
		if (qtype == BW_DNS_NS || qtype == BW_DNS_ANY) {
			if (put(w, 1, z->apex, z->len, BW_DNS_NS, b->ttl, b->ns, b->ns_len))
				return -1;
			hits++;
		}
		if (!hits && put(w, 2, z->apex, z->len, BW_DNS_SOA, b->ttl, z->soa, z->soa_len))
			return -1;
		return BW_DNS_NOERROR;
	}
	reason = z == &b->ipz ? ip_lookup(b, qname, pre) : name_lookup(b, qname, pre);
	if (reason < 0) {
		if (put(w, 2, z->apex, z->len, BW_DNS_SOA, b->ttl, z->soa, z->soa_len))
			return -1;
		return BW_DNS_NXDOMAIN;
	}
	if (qtype == BW_DNS_A || qtype == BW_DNS_ANY) {
		if (put(w, 1, qname, len, BW_DNS_A, b->ttl, listed, 4))
			return -1;
		hits++;
	}
	if (qtype == BW_DNS_TXT || qtype == BW_DNS_ANY) {
		const uint8_t *rd = b->reason[reason];
		if (put(w, 1, qname, len, BW_DNS_TXT, b->ttl, rd, (size_t)rd[0] + 1))
			return -1;
		hits++;
	}
	if (!hits && put(w, 2, z->apex, z->len, BW_DNS_SOA, b->ttl, z->soa, z->soa_len))
		return -1;
	return BW_DNS_NOERROR;
}
