/*
 * rpz.c - the RPZ snapshot (see rpz.h).
 *
 * Load: one read transaction takes the active actions and the tail of the
 * journal.  Each action becomes its trigger owner (the primary owner; a
 * domain also has the "*." twin), the actions are sorted by owner, and each
 * run of actions on one owner is turned into its record set by one
 * function, gen(), which the IXFR code calls too: the difference between
 * two serials is computed per touched owner as gen(actions then) against
 * gen(actions now), so that overlapping actions (two blocks of one domain,
 * a block beside a sinkhole) never delete a record another action still
 * needs.  Records live in one byte arena ([owner len][owner][type][rdlen]
 * [rdata]) with an offset array; owners are grouped and found through an
 * open-addressing hash of the lower-case owner.
 *
 * Entries: an action is known by its id; an operator exception (pass) by
 * its trigger owner (cmp_ent), so that its journal rows, which point to
 * different audit entries, still pair up.  gen() makes an exception's
 * CNAME rpz-passthru. only when no action is on the owner.
 *
 * Update: a snapshot made by bw_rpz_update is an overlay on the last full
 * snapshot F, and holds only what changed since F: the entries added
 * (acts), those of F removed (gone), the journal rows after F's head, the
 * names of those, and the records of the owners they touch.  An update
 * copies the previous overlay's parts (what changed since F) and adds the
 * new rows, so a change to a zone of 500,000 actions costs as much as a
 * change to an empty one.  Past TOUCHED_MAX touched rows the overlay is
 * folded into a new full snapshot from memory (materialize), and every
 * UPDATES_MAX updates the zone is read again from the store.
 */
#include "net/rpz.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct act {
	int64_t id;
	size_t owner_off; /* into names: the primary owner, lower-case, with the apex */
	uint8_t olen;
	uint8_t domain;   /* has a "*." twin */
	uint8_t block;    /* 1 block, 0 sinkhole (or passthru) */
	uint8_t pass;     /* an operator exception: CNAME rpz-passthru. */
	uint8_t ov;       /* owner_off is into an overlay's arena (owner_of) */
	uint8_t fam;      /* sinkhole: 4 or 6 */
	uint8_t sink[16];
};

struct jent {
	int64_t serial;
	int add;
	struct act a;
};

struct group {
	size_t first, count;
};

/* Records in wire pieces: [olen][owner][type hi lo][rdlen hi lo][rdata]. */
struct rrbuf {
	uint8_t *data;
	size_t len, cap;
	size_t *off;
	size_t n, ncap;
};

struct bw_rpz {
	long refs;
	uint8_t apex[BW_DNS_NAME_MAX];
	size_t apex_len;
	uint8_t ns_rdata[16];
	size_t ns_len;
	uint8_t soa_rdata[2 * BW_DNS_NAME_MAX + 20];
	size_t soa_len;
	uint32_t serial, ttl, base;
	struct rrbuf rrs;
	struct group *groups;
	size_t ngroups, gcap;
	size_t *hash; /* group index + 1; 0 empty */
	size_t hmask;
	uint8_t *names;
	size_t nlen, ncap;
	struct act *acts;
	size_t nacts, acap;
	struct jent *journal;
	size_t njournal, jcap;
	int64_t journal_from;
	unsigned updates; /* incremental updates since the last full load */
	/* An update is an overlay on the last full snapshot: full (shared,
	 * one reference held) answers for every owner except the touched
	 * ones (the primary owners of the entries changed since full), whose
	 * records are in this snapshot's own rrs/groups/hash.  Its entries
	 * too: acts holds only those in the zone now and not in full, gone
	 * those of full no longer in it (sorted by cmp_ent), journal only the
	 * rows after full's head, names only their owners (ov set), so that
	 * an update costs what changed since full, not the size of the zone.
	 * NULL: this snapshot is full. */
	struct bw_rpz *full;
	struct act *gone;
	size_t ngone;
	size_t *touched;  /* owner offsets into names, hashed by touched_tab */
	uint8_t *touched_len;
	size_t ntouched;
	size_t *touched_tab; /* index + 1; 0 empty */
	size_t touched_mask;
	struct bw_rpz_stats stats;
};

/* The owner of entry a of snapshot z: in z's arena, or in its full
 * snapshot's for an overlay's entry that came from there. */
static const uint8_t *
owner_of(const struct bw_rpz *z, const struct act *a)
{
	return (a->ov || z->full == NULL ? z->names : z->full->names) + a->owner_off;
}

void
bw_rpz_conf_init(struct bw_rpz_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->zone, sizeof(c->zone), "%s", BW_RPZ_DEFAULT_ZONE);
	c->serial_base = 1;
	c->ttl = BW_RPZ_DEFAULT_TTL;
	c->refresh = 60;
	c->retry = 30;
	c->expire = 86400;
	c->minimum = 30;
	c->max_records = BW_RPZ_RECORDS_DEFAULT_MAX;
	c->journal_max = BW_RPZ_JOURNAL_MAX;
}

/* ---- triggers --------------------------------------------------------- */

static int
parse_prefix(const char *target, int *fam, uint8_t addr[16], unsigned *bits)
{
	char tmp[64];
	const char *slash = strchr(target, '/');
	size_t n = slash ? (size_t)(slash - target) : strlen(target);
	unsigned long b;
	char *end;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, target, n);
	tmp[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, tmp, addr) == 1)
		*fam = 4;
	else if (inet_pton(AF_INET6, tmp, addr) == 1)
		*fam = 6;
	else
		return -1;
	*bits = *fam == 4 ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return -1;
		b = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || b > *bits || b == 0)
			return -1;
		*bits = (unsigned)b;
	}
	return 0;
}

static const char *const special_labels[] = {
	"rpz-ip", "rpz-nsip", "rpz-nsdname", "rpz-client-ip", NULL,
};

int
bw_rpz_trigger_text(int type, const char *target, char *buf, size_t n, struct bw_err *err)
{
	size_t o = 0;
	int fam;
	uint8_t a[16];
	unsigned bits;

	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "rpz: no room");
	buf[0] = '\0';
	if (type == BW_IOC_DOMAIN) {
		const char *last = strrchr(target, '.');
		last = last ? last + 1 : target;
		for (int i = 0; special_labels[i]; i++)
			if (strcmp(last, special_labels[i]) == 0)
				return bw_err_set(err, BW_EINVAL, "rpz: '%.80s' ends in a special label", target);
		if (target[0] == '\0' || strlen(target) >= n)
			return bw_err_set(err, BW_EINVAL, "rpz: bad domain '%.80s'", target);
		snprintf(buf, n, "%s", target);
		return BW_OK;
	}
	if (type != BW_IOC_IPV4 && type != BW_IOC_IPV6 && type != BW_IOC_CIDR)
		return bw_err_set(err, BW_EINVAL, "rpz: a %s is not an RPZ trigger",
				  bw_ioc_type_name((enum bw_ioc_type)type));
	if (parse_prefix(target, &fam, a, &bits))
		return bw_err_set(err, BW_EINVAL, "rpz: '%.80s' is not an address or CIDR", target);
	if (fam == 4) {
		o = (size_t)snprintf(buf, n, "%u.%u.%u.%u.%u.rpz-ip", bits, a[3], a[2], a[1], a[0]);
	} else {
		unsigned w[8];
		int best = -1, bestlen = 1, run = 0;
		for (int i = 0; i < 8; i++) {
			w[i] = (unsigned)(a[2 * i] << 8 | a[2 * i + 1]);
			run = w[i] == 0 ? run + 1 : 0;
			if (run > bestlen) {
				bestlen = run;
				best = i - run + 1;
			}
		}
		o = (size_t)snprintf(buf, n, "%u", bits);
		for (int i = 7; i >= 0 && o < n; i--) {
			if (best >= 0 && i >= best && i < best + bestlen) {
				if (i == best)
					o += (size_t)snprintf(buf + o, n - o, ".zz");
				continue;
			}
			o += (size_t)snprintf(buf + o, n - o, ".%x", w[i]);
		}
		if (o < n)
			o += (size_t)snprintf(buf + o, n - o, ".rpz-ip");
	}
	if (o >= n)
		return bw_err_set(err, BW_ELIMIT, "rpz: trigger name too long");
	return BW_OK;
}

/* ---- record buffers --------------------------------------------------- */

static int
rrbuf_add(struct rrbuf *b, const uint8_t *owner, size_t olen, uint16_t type, const uint8_t *rd,
	  size_t rdlen)
{
	size_t need = 1 + olen + 4 + rdlen;
	uint8_t *p;

	if (b->len + need > b->cap) {
		size_t cap = b->cap;
		p = bw_grow(b->data, &cap, b->len + need, 1);
		if (p == NULL)
			return BW_ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	if (b->n == b->ncap) {
		size_t cap = b->ncap;
		size_t *q = bw_grow(b->off, &cap, b->n + 1, sizeof(*q));
		if (q == NULL)
			return BW_ENOMEM;
		b->off = q;
		b->ncap = cap;
	}
	p = b->data + b->len;
	b->off[b->n++] = b->len;
	p[0] = (uint8_t)olen;
	memcpy(p + 1, owner, olen);
	p += 1 + olen;
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(rdlen >> 8);
	p[3] = (uint8_t)rdlen;
	if (rdlen)
		memcpy(p + 4, rd, rdlen);
	b->len += need;
	return BW_OK;
}

static void
rrbuf_get(const struct rrbuf *b, size_t i, uint32_t ttl, struct bw_rpz_rr *rr)
{
	const uint8_t *p = b->data + b->off[i];

	rr->owner_len = p[0];
	rr->owner = p + 1;
	p += 1 + p[0];
	rr->type = (uint16_t)(p[0] << 8 | p[1]);
	rr->rdlen = (size_t)(p[2] << 8 | p[3]);
	rr->rdata = p + 4;
	rr->ttl = ttl;
}

/* Length in bytes of record i. */
static size_t
rrbuf_size(const struct rrbuf *b, size_t i)
{
	const uint8_t *p = b->data + b->off[i];
	size_t olen = p[0];
	return 1 + olen + 4 + (size_t)(p[1 + olen + 2] << 8 | p[1 + olen + 3]);
}

static int
rrbuf_has(const struct rrbuf *b, const struct rrbuf *o, size_t j)
{
	size_t sz = rrbuf_size(o, j);
	for (size_t i = 0; i < b->n; i++)
		if (rrbuf_size(b, i) == sz && memcmp(b->data + b->off[i], o->data + o->off[j], sz) == 0)
			return 1;
	return 0;
}

static void
rrbuf_free(struct rrbuf *b)
{
	bw_free(b->data);
	bw_free(b->off);
	memset(b, 0, sizeof(*b));
}

/* ---- record sets ------------------------------------------------------ */

static int
cmp_addr(const void *x, const void *y)
{
	const struct act *a = *(const struct act *const *)x, *b = *(const struct act *const *)y;
	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	return memcmp(a->sink, b->sink, 16);
}

#define SET_MAX 64

/* The records of the actions set[0..n) that share one trigger owner. */
static int
gen(const struct bw_rpz *z, const struct act *const *set, size_t n, struct rrbuf *out)
{
	const struct act *s[SET_MAX];
	size_t ns = 0;
	int block = 0, pass = 0, rc;
	uint8_t wild[BW_DNS_NAME_MAX];
	const uint8_t *owner;
	size_t olen;
	static const uint8_t root = 0;
	static const uint8_t passthru[] = "\14rpz-passthru";

	if (n == 0)
		return BW_OK;
	owner = owner_of(z, set[0]);
	olen = set[0]->olen;
	for (size_t i = 0; i < n; i++) {
		if (set[i]->pass)
			pass = 1;
		else if (set[i]->block)
			block = 1;
		else if (ns < SET_MAX)
			s[ns++] = set[i];
	}
	/* an exception only where no action names the trigger */
	pass = pass && !block && ns == 0;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, owner, olen);
	for (int w = 0; w < (set[0]->domain ? 2 : 1); w++) {
		const uint8_t *on = w ? wild : owner;
		size_t ol = w ? olen + 2 : olen;
		if (block || pass) {
			rc = block ? rrbuf_add(out, on, ol, BW_DNS_CNAME, &root, 1)
				   : rrbuf_add(out, on, ol, BW_DNS_CNAME, passthru, sizeof(passthru));
			if (rc)
				return rc;
			continue;
		}
		qsort(s, ns, sizeof(s[0]), cmp_addr);
		for (size_t i = 0; i < ns; i++) {
			if (i > 0 && cmp_addr(&s[i - 1], &s[i]) == 0)
				continue;
			rc = rrbuf_add(out, on, ol, s[i]->fam == 4 ? BW_DNS_A : BW_DNS_AAAA, s[i]->sink,
				       s[i]->fam == 4 ? 4 : 16);
			if (rc)
				return rc;
		}
	}
	return BW_OK;
}

/* ---- load ------------------------------------------------------------- */

static int
names_add(struct bw_rpz *z, const uint8_t *name, size_t len, size_t *off)
{
	if (z->nlen + len > z->ncap) {
		size_t cap = z->ncap;
		uint8_t *p = bw_grow(z->names, &cap, z->nlen + len, 1);
		if (p == NULL)
			return BW_ENOMEM;
		z->names = p;
		z->ncap = cap;
	}
	memcpy(z->names + z->nlen, name, len);
	*off = z->nlen;
	z->nlen += len;
	return BW_OK;
}

static uint64_t name_hash(const uint8_t *p, size_t n);

/* Fills a from one row (type, target, kind, sinkhole at columns col..; an
 * operator exception has kind 'passthru' and may name its type in text)
 * and gives it id: an action's own, an exception one from its owner (an
 * exception is known by its trigger, see same_ent); returns 1 if the entry
 * cannot be expressed, -1 on allocation failure. */
static int
act_from_row(struct bw_rpz *z, sqlite3_stmt *s, int col, int64_t id, struct act *a)
{
	char text[BW_DNS_NAME_TEXT_MAX];
	uint8_t rel[BW_DNS_NAME_MAX], full[BW_DNS_NAME_MAX];
	size_t rlen;
	const char *target = (const char *)sqlite3_column_text(s, col + 1);
	const char *kind = (const char *)sqlite3_column_text(s, col + 2);
	const char *sink = (const char *)sqlite3_column_text(s, col + 3);
	int type = sqlite3_column_type(s, col) == SQLITE_TEXT
			   ? (int)bw_ioc_type_from_name((const char *)sqlite3_column_text(s, col))
			   : sqlite3_column_int(s, col);

	memset(a, 0, sizeof(*a));
	a->id = id;
	a->ov = z->full != NULL;
	if (target == NULL || kind == NULL)
		return 1;
	a->pass = strcmp(kind, "passthru") == 0;
	if (bw_rpz_trigger_text(type, target, text, sizeof(text), NULL))
		return 1;
	if (bw_dns_name_from_text(text, rel, &rlen, NULL))
		return 1;
	/* room for the "*." twin as well */
	if (rlen - 1 + z->apex_len + 2 > BW_DNS_NAME_MAX)
		return 1;
	bw_dns_name_lower(rel, rlen - 1, full);
	memcpy(full + rlen - 1, z->apex, z->apex_len);
	a->domain = type == BW_IOC_DOMAIN;
	if (strcmp(kind, "block") == 0) {
		a->block = 1;
	} else if (a->pass) {
		/* CNAME rpz-passthru. (gen) */
	} else if (strcmp(kind, "sinkhole") == 0 && sink) {
		if (inet_pton(AF_INET, sink, a->sink) == 1)
			a->fam = 4;
		else if (inet_pton(AF_INET6, sink, a->sink) == 1)
			a->fam = 6;
		else
			return 1;
	} else {
		return 1;
	}
	a->olen = (uint8_t)(rlen - 1 + z->apex_len);
	if (names_add(z, full, a->olen, &a->owner_off))
		return -1;
	/* negative, so never an action's id; equal hashes are told apart by
	 * the owner (same_ent) */
	if (a->pass)
		a->id = -1 - (int64_t)(name_hash(full, a->olen) >> 2);
	return 0;
}

static int
cmp_owner(const struct bw_rpz *z, const struct act *a, const struct act *b)
{
	size_t n = a->olen < b->olen ? a->olen : b->olen;
	int c = memcmp(owner_of(z, a), owner_of(z, b), n);
	if (c)
		return c;
	return a->olen < b->olen ? -1 : a->olen > b->olen;
}

static int
cmp_act(const void *x, const void *y, void *ctx)
{
	const struct act *a = x, *b = y;
	int c = cmp_owner(ctx, a, b);
	if (c)
		return c;
	/* actions before exceptions, blocks first: a run of more than SET_MAX
	 * entries on one owner keeps them when gen() sees only the first
	 * SET_MAX */
	if (a->pass != b->pass)
		return a->pass ? 1 : -1;
	if (a->block != b->block)
		return a->block ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The order of entries by identity: an action is known by its id, an
 * operator exception by its trigger owner. */
static int
cmp_ent(const struct bw_rpz *z, const struct act *a, const struct act *b)
{
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->pass != b->pass)
		return a->pass ? 1 : -1;
	return a->pass ? cmp_owner(z, a, b) : 0;
}

static uint64_t
name_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int
add_group(struct bw_rpz *z, size_t first, size_t count)
{
	if (z->ngroups == z->gcap) {
		size_t cap = z->gcap;
		struct group *g = bw_grow(z->groups, &cap, z->ngroups + 1, sizeof(*g));
		if (g == NULL)
			return BW_ENOMEM;
		z->groups = g;
		z->gcap = cap;
	}
	z->groups[z->ngroups].first = first;
	z->groups[z->ngroups].count = count;
	z->ngroups++;
	return BW_OK;
}

/* Groups the records by owner (they come out of gen() contiguous per
 * owner) and hashes the groups. */
static int
build_index(struct bw_rpz *z)
{
	size_t hsize = 16;
	struct bw_rpz_rr a, b;

	for (size_t i = 0; i < z->rrs.n;) {
		size_t j = i + 1;
		rrbuf_get(&z->rrs, i, 0, &a);
		for (; j < z->rrs.n; j++) {
			rrbuf_get(&z->rrs, j, 0, &b);
			if (b.owner_len != a.owner_len || memcmp(a.owner, b.owner, a.owner_len) != 0)
				break;
		}
		if (add_group(z, i, j - i))
			return BW_ENOMEM;
		i = j;
	}
	while (hsize < 2 * z->ngroups)
		hsize *= 2;
	z->hash = bw_calloc(hsize, sizeof(*z->hash));
	if (z->hash == NULL)
		return BW_ENOMEM;
	z->hmask = hsize - 1;
	for (size_t g = 0; g < z->ngroups; g++) {
		size_t h;
		rrbuf_get(&z->rrs, z->groups[g].first, 0, &a);
		h = (size_t)name_hash(a.owner, a.owner_len) & z->hmask;
		while (z->hash[h] != 0)
			h = (h + 1) & z->hmask;
		z->hash[h] = g + 1;
	}
	return BW_OK;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
make_apex(struct bw_rpz *z, const struct bw_rpz_conf *c, struct bw_err *err)
{
	uint8_t tmp[BW_DNS_NAME_MAX], mname[BW_DNS_NAME_MAX], rname[BW_DNS_NAME_MAX];
	size_t tl, ml, rl;
	int rc;

	rc = bw_dns_name_from_text(c->zone, tmp, &tl, err);
	if (rc)
		return bw_err_prefix(err, "rpz zone");
	if (tl < 2)
		return bw_err_set(err, BW_EINVAL, "rpz zone: the root cannot be the zone");
	bw_dns_name_lower(tmp, tl, z->apex);
	z->apex_len = tl;
	/* mname localhost., rname hostmaster.<zone> */
	rc = bw_dns_name_from_text("localhost.", mname, &ml, err);
	if (rc)
		return rc;
	if (tl + 11 > BW_DNS_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "rpz zone: name too long");
	rname[0] = 10;
	memcpy(rname + 1, "hostmaster", 10);
	memcpy(rname + 11, z->apex, tl);
	rl = tl + 11;
	memcpy(z->soa_rdata, mname, ml);
	memcpy(z->soa_rdata + ml, rname, rl);
	put32(z->soa_rdata + ml + rl, z->serial);
	put32(z->soa_rdata + ml + rl + 4, c->refresh);
	put32(z->soa_rdata + ml + rl + 8, c->retry);
	put32(z->soa_rdata + ml + rl + 12, c->expire);
	put32(z->soa_rdata + ml + rl + 16, c->minimum);
	z->soa_len = ml + rl + 20;
	memcpy(z->ns_rdata, mname, ml);
	z->ns_len = ml;
	return BW_OK;
}

/* The journal's head and tail serials (0 when empty): two sub-queries,
 * because SQLite answers a lone min() or max() from the end of the
 * B-tree but scans every row for both in one. */
#define HEAD_SQL                                                                                   \
	"SELECT coalesce((SELECT max(serial) FROM rpz_change), 0),"                                \
	" coalesce((SELECT min(serial) FROM rpz_change), 0)"

/* The journal rows after serial ?1, in serial order: an action's row
 * joined to the action; an operator exception's names its trigger itself
 * (its id comes from the owner, act_from_row). */
#define JOURNAL_SQL                                                                                \
	"SELECT c.serial, c.op, a.id, a.type, a.target, a.kind, a.sinkhole"                        \
	" FROM rpz_change c JOIN action a ON a.id = c.action_id WHERE c.serial > ?1"               \
	" UNION ALL SELECT c.serial, c.op, 0, c.guard_type, c.guard_value, 'passthru', NULL"       \
	" FROM rpz_change c WHERE c.action_id IS NULL AND c.serial > ?1"                           \
" ORDER BY 1"

/* Appends the rows of s to z's actions: the trigger from column col on,
 * and the action's id from column 0 when col > 0 (an operator exception
 * has none).  Adds the rows kept to *kept and those the zone cannot express
 * to *refused (NULL: not counted).  Returns the last sqlite3_step result
 * (SQLITE_DONE when all went well) or -1 when out of memory. */
static int
append_acts(struct bw_rpz *z, sqlite3_stmt *s, int col, size_t *kept, size_t *refused)
{
	int r;

	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct act *a = bw_grow(z->acts, &z->acap, z->nacts + 1, sizeof(*a));
		if (a == NULL)
			return -1;
		z->acts = a;
		r = act_from_row(z, s, col, col > 0 ? sqlite3_column_int64(s, 0) : 0,
				 &z->acts[z->nacts]);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (refused != NULL)
				(*refused)++;
			continue;
		}
		z->nacts++;
		(*kept)++;
	}
	return r;
}

static int
read_rows(struct bw_rpz *z, sqlite3 *db, const struct bw_rpz_conf *c, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t minser = 0;
	int rc = BW_OK, r;

	if (sqlite3_prepare_v2(db, HEAD_SQL, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto dberr;
	z->stats.change = sqlite3_column_int64(s, 0);
	minser = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	s = NULL;

	if (sqlite3_prepare_v2(db, "SELECT id, type, target, kind, sinkhole FROM action"
				   " WHERE state = 'active'", -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	r = append_acts(z, s, 1, &z->stats.actions, &z->stats.skipped);
	if (r < 0)
		goto nomem;
	if (r != SQLITE_DONE)
		goto dberr;
	z->stats.actions += z->stats.skipped;
	sqlite3_finalize(s);
	s = NULL;

	/* the operator's exceptions (rpz.h) */
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT type, value, 'passthru', NULL FROM guard_entry",
			       -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	r = append_acts(z, s, 0, &z->stats.passthru, NULL);
	if (r < 0)
		goto nomem;
	if (r != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(s);
	s = NULL;

	z->journal_from = z->stats.change - (int64_t)c->journal_max;
	if (z->journal_from < minser - 1)
		z->journal_from = minser - 1;
	if (z->journal_from < 0)
		z->journal_from = 0;
	if (sqlite3_prepare_v2(db, JOURNAL_SQL, -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(s, 1, z->journal_from);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct jent *nj = bw_grow(z->journal, &z->jcap, z->njournal + 1, sizeof(*nj)), *j;
		const char *op = (const char *)sqlite3_column_text(s, 1);
		if (nj == NULL)
			goto nomem;
		z->journal = nj;
		j = &z->journal[z->njournal];
		r = act_from_row(z, s, 3, sqlite3_column_int64(s, 2), &j->a);
		if (r < 0)
			goto nomem;
		if (r > 0)
			continue; /* not in the zone either */
		j->serial = sqlite3_column_int64(s, 0);
		j->add = op && strcmp(op, "add") == 0;
		z->njournal++;
	}
	if (r != SQLITE_DONE)
		goto dberr;
	z->stats.journal = z->njournal;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
	goto out;
dberr:
	rc = bw_err_set(err, BW_ESTORE, "rpz: reading the store: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	return rc;
}

static int finish_zone(struct bw_rpz *z, const struct bw_rpz_conf *c, int sorted,
		       struct bw_err *err);

int
bw_rpz_load(struct bw_store *st, const struct bw_rpz_conf *c, struct bw_rpz **out,
	    struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_rpz *z;
	int rc, txn = 0;

	*out = NULL;
	z = bw_calloc(1, sizeof(*z));
	if (z == NULL)
		return bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
	z->refs = 1;
	z->ttl = c->ttl;
	z->base = c->serial_base;
	rc = make_apex(z, c, err);
	if (rc)
		goto out;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "rpz: %s", sqlite3_errmsg(db));
		goto out;
	}
	txn = 1;
	rc = read_rows(z, db, c, err);
	if (rc)
		goto out;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	txn = 0;
	rc = finish_zone(z, c, 0, err);
	if (rc)
		goto out;
	*out = z;
	z = NULL;
out:
	if (txn)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	bw_rpz_unref(z);
	return rc;
}

/* Sorts the actions, makes the records and the index, sets the serial. */
static int
finish_zone(struct bw_rpz *z, const struct bw_rpz_conf *c, int sorted, struct bw_err *err)
{
	const struct act *set[SET_MAX];
	int rc;

	z->serial = c->serial_base + (uint32_t)z->stats.change;
	rc = make_apex(z, c, err);
	if (rc)
		return rc;
	if (!sorted && z->nacts > 1)
		qsort_r(z->acts, z->nacts, sizeof(z->acts[0]), cmp_act, z);
	for (size_t i = 0; i < z->nacts;) {
		size_t j = i + 1, n = 0;
		while (j < z->nacts && cmp_owner(z, &z->acts[i], &z->acts[j]) == 0)
			j++;
		for (size_t k = i; k < j && n < SET_MAX; k++)
			set[n++] = &z->acts[k];
		rc = gen(z, set, n, &z->rrs);
		if (rc)
			return bw_err_set(err, rc, "rpz: out of memory");
		if (z->rrs.n > c->max_records)
			return bw_err_set(err, BW_ELIMIT, "rpz: more than %zu records", c->max_records);
		i = j;
	}
	z->stats.records = z->rrs.n;
	if (build_index(z))
		return bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
	return BW_OK;
}

void
bw_rpz_ref(struct bw_rpz *z)
{
	__atomic_add_fetch(&z->refs, 1, __ATOMIC_RELAXED);
}

static void drop_records(struct bw_rpz *z);

void
bw_rpz_unref(struct bw_rpz *z)
{
	if (z == NULL || __atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	drop_records(z);
	bw_rpz_unref(z->full);
	bw_free(z->gone);
	bw_free(z->names);
	bw_free(z->acts);
	bw_free(z->journal);
	bw_free(z);
}

uint32_t
bw_rpz_serial(const struct bw_rpz *z)
{
	return z->serial;
}

void
bw_rpz_get_stats(const struct bw_rpz *z, struct bw_rpz_stats *s)
{
	*s = z->stats;
}

const uint8_t *
bw_rpz_apex(const struct bw_rpz *z, size_t *len)
{
	*len = z->apex_len;
	return z->apex;
}

void
bw_rpz_soa(const struct bw_rpz *z, struct bw_rpz_rr *rr)
{
	rr->owner = z->apex;
	rr->owner_len = z->apex_len;
	rr->type = BW_DNS_SOA;
	rr->ttl = z->ttl;
	rr->rdata = z->soa_rdata;
	rr->rdlen = z->soa_len;
}

void
bw_rpz_ns(const struct bw_rpz *z, struct bw_rpz_rr *rr)
{
	rr->owner = z->apex;
	rr->owner_len = z->apex_len;
	rr->type = BW_DNS_NS;
	rr->ttl = z->ttl;
	rr->rdata = z->ns_rdata;
	rr->rdlen = z->ns_len;
}

/* 1 if the lower-case owner low is touched in z (a "*." owner counts as
 * its primary owner). */
static int
is_touched(const struct bw_rpz *z, const uint8_t *low, size_t len)
{
	for (int pass = 0; pass < 2; pass++) {
		size_t h;
		if (pass == 1) {
			if (len < 3 || low[0] != 1 || low[1] != '*')
				break;
			low += 2;
			len -= 2;
		}
		if (z->touched_tab == NULL)
			return 0;
		h = (size_t)name_hash(low, len) & z->touched_mask;
		while (z->touched_tab[h] != 0) {
			size_t i = z->touched_tab[h] - 1;
			if (z->touched_len[i] == len && memcmp(z->names + z->touched[i], low, len) == 0)
				return 1;
			h = (h + 1) & z->touched_mask;
		}
	}
	return 0;
}

static int own_find(const struct bw_rpz *z, const uint8_t *low, size_t len, size_t *first,
		    size_t *count);

int
bw_rpz_find(const struct bw_rpz *z, const uint8_t *name, size_t len, size_t *first, size_t *count)
{
	uint8_t low[BW_DNS_NAME_MAX];

	if (len > BW_DNS_NAME_MAX)
		return 0;
	bw_dns_name_lower(name, len, low);
	if (z->full == NULL)
		return own_find(z, low, len, first, count);
	if (own_find(z, low, len, first, count)) {
		*first += z->full->rrs.n;
		return 1;
	}
	if (is_touched(z, low, len))
		return 0;
	return own_find(z->full, low, len, first, count);
}

static int
own_find(const struct bw_rpz *z, const uint8_t *low, size_t len, size_t *first, size_t *count)
{
	size_t h;

	if (z->hash == NULL)
		return 0;
	h = (size_t)name_hash(low, len) & z->hmask;
	while (z->hash[h] != 0) {
		const struct group *g = &z->groups[z->hash[h] - 1];
		struct bw_rpz_rr rr;
		rrbuf_get(&z->rrs, g->first, z->ttl, &rr);
		if (rr.owner_len == len && memcmp(rr.owner, low, len) == 0) {
			*first = g->first;
			*count = g->count;
			return 1;
		}
		h = (h + 1) & z->hmask;
	}
	return 0;
}

void
bw_rpz_record(const struct bw_rpz *z, size_t i, struct bw_rpz_rr *rr)
{
	if (z->full && i < z->full->rrs.n)
		rrbuf_get(&z->full->rrs, i, z->ttl, rr);
	else
		rrbuf_get(&z->rrs, z->full ? i - z->full->rrs.n : i, z->ttl, rr);
}

static int
cmp_ent_r(const void *x, const void *y, void *ctx)
{
	return cmp_ent(ctx, x, y);
}

/* 1 if the entry a is among the n sorted (cmp_ent) entries of v. */
static int
has_ent(const struct bw_rpz *z, const struct act *v, size_t n, const struct act *a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_ent(z, &v[mid], a);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Compares a's owner with the lower-case wire name o of length len. */
static int
cmp_owner_to(const struct bw_rpz *z, const struct act *a, const uint8_t *o, size_t len)
{
	size_t n = a->olen < len ? a->olen : len;
	int c = memcmp(owner_of(z, a), o, n);
	if (c)
		return c;
	return a->olen < len ? -1 : a->olen > len;
}

/* The first of the n entries of v (sorted by cmp_act) whose owner is not
 * below o. */
static size_t
run_start(const struct bw_rpz *z, const struct act *v, size_t n, const uint8_t *o, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_owner_to(z, &v[mid], o, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entries on owner o (lower-case wire form) in the zone now, in
 * cmp_act order, at most SET_MAX, into set; returns how many.  For an
 * overlay: its own entries merged with those of its full snapshot that are
 * not gone. */
static size_t
owner_run(const struct bw_rpz *z, const uint8_t *o, size_t len, const struct act **set)
{
	const struct bw_rpz *b = z->full ? z->full : z;
	size_t i = run_start(z, b->acts, b->nacts, o, len), j = 0, n = 0, nown = 0;

	if (z->full) {
		j = run_start(z, z->acts, z->nacts, o, len);
		nown = z->nacts;
	}
	while (n < SET_MAX) {
		const struct act *x = NULL, *y = NULL;
		while (z->full && i < b->nacts && cmp_owner_to(z, &b->acts[i], o, len) == 0 &&
		       has_ent(z, z->gone, z->ngone, &b->acts[i]))
			i++;
		if (i < b->nacts && cmp_owner_to(z, &b->acts[i], o, len) == 0)
			x = &b->acts[i];
		if (j < nown && cmp_owner_to(z, &z->acts[j], o, len) == 0)
			y = &z->acts[j];
		if (x == NULL && y == NULL)
			break;
		if (x && (y == NULL || cmp_act(x, y, (void *)z) <= 0)) {
			set[n++] = x;
			i++;
		} else {
			set[n++] = y;
			j++;
		}
	}
	return n;
}

/* The index of the first journal entry of z after serial rel. */
static size_t
journal_after(const struct bw_rpz *z, int64_t rel)
{
	size_t lo = 0, hi = z->njournal;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->journal[mid].serial <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The journal entries after serial rel, in serial order (an overlay's
 * full snapshot's, then its own), as a new array of *n pointers; NULL
 * when out of memory. */
static const struct jent **
journal_slice(const struct bw_rpz *z, int64_t rel, size_t *n)
{
	const struct bw_rpz *b = z->full;
	size_t lb = b ? journal_after(b, rel) : 0, lz = journal_after(z, rel), k = 0;
	size_t total = (b ? b->njournal - lb : 0) + z->njournal - lz;
	const struct jent **v = bw_calloc(total ? total : 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = lb; b && i < b->njournal; i++)
		v[k++] = &b->journal[i];
	for (size_t i = lz; i < z->njournal; i++)
		v[k++] = &z->journal[i];
	*n = k;
	return v;
}

/* ---- transfers -------------------------------------------------------- */

static int
cmp_jent_ent(const void *x, const void *y, void *ctx)
{
	const struct jent *a = *(const struct jent *const *)x, *b = *(const struct jent *const *)y;
	int c = cmp_ent(ctx, &a->a, &b->a);
	if (c)
		return c;
	return a->serial < b->serial ? -1 : a->serial > b->serial;
}

struct chg {
	const struct act *a;
	int added; /* 1: active now, not then; 0: the reverse */
};

static int
cmp_chg(const void *x, const void *y, void *ctx)
{
	const struct chg *a = x, *b = y;
	return cmp_owner(ctx, a->a, b->a);
}

/* The net difference between serial rel and now, into dels and adds. */
static int
diff(const struct bw_rpz *z, int64_t rel, struct rrbuf *dels, struct rrbuf *adds)
{
	size_t nslice = 0, nchg = 0;
	const struct jent **slice = journal_slice(z, rel, &nslice);
	struct chg *chg = bw_calloc(nslice ? nslice : 1, sizeof(*chg));
	struct rrbuf then = {0}, now = {0};
	int rc = BW_OK;

	if (slice == NULL || chg == NULL) {
		rc = BW_ENOMEM;
		goto out;
	}
	qsort_r(slice, nslice, sizeof(*slice), cmp_jent_ent, (void *)z);
	for (size_t i = 0; i < nslice;) {
		size_t j = i + 1;
		int was, is;
		while (j < nslice && cmp_ent(z, &slice[j]->a, &slice[i]->a) == 0)
			j++;
		was = !slice[i]->add;
		is = slice[j - 1]->add;
		if (was != is) {
			chg[nchg].a = &slice[i]->a;
			chg[nchg].added = is;
			nchg++;
		}
		i = j;
	}
	qsort_r(chg, nchg, sizeof(*chg), cmp_chg, (void *)z);
	for (size_t i = 0; i < nchg;) {
		const struct act *setn[SET_MAX], *setc[SET_MAX];
		size_t j = i + 1, nn, nc = 0;
		while (j < nchg && cmp_owner(z, chg[i].a, chg[j].a) == 0)
			j++;
		/* the entries on this owner now, and then: now's without the
		 * ones added since, with the ones deleted since */
		nn = owner_run(z, owner_of(z, chg[i].a), chg[i].a->olen, setn);
		for (size_t k = 0; k < nn; k++) {
			int added = 0;
			for (size_t m = i; m < j; m++)
				if (chg[m].added && cmp_ent(z, chg[m].a, setn[k]) == 0)
					added = 1;
			if (!added && nc < SET_MAX)
				setc[nc++] = setn[k];
		}
		for (size_t m = i; m < j; m++)
			if (!chg[m].added && nc < SET_MAX)
				setc[nc++] = chg[m].a;
		then.n = then.len = now.n = now.len = 0;
		if ((rc = gen(z, setc, nc, &then)) || (rc = gen(z, setn, nn, &now)))
			goto out;
		for (size_t k = 0; k < then.n; k++)
			if (!rrbuf_has(&now, &then, k)) {
				struct bw_rpz_rr r;
				rrbuf_get(&then, k, 0, &r);
				if ((rc = rrbuf_add(dels, r.owner, r.owner_len, r.type, r.rdata, r.rdlen)))
					goto out;
			}
		for (size_t k = 0; k < now.n; k++)
			if (!rrbuf_has(&then, &now, k)) {
				struct bw_rpz_rr r;
				rrbuf_get(&now, k, 0, &r);
				if ((rc = rrbuf_add(adds, r.owner, r.owner_len, r.type, r.rdata, r.rdlen)))
					goto out;
			}
		i = j;
	}
out:
	rrbuf_free(&then);
	rrbuf_free(&now);
	bw_free(slice);
	bw_free(chg);
	return rc;
}

int
bw_rpz_xfr(const struct bw_rpz *z, int ixfr, uint32_t client_serial, bw_rpz_emit_fn emit,
	   void *ctx, enum bw_rpz_xfr_kind *kind, struct bw_err *err)
{
	struct bw_rpz_rr soa, rr;
	int rc;

	bw_rpz_soa(z, &soa);
	if (ixfr && client_serial == z->serial) {
		*kind = BW_RPZ_XFR_CURRENT;
		return emit(ctx, &soa);
	}
	if (ixfr) {
		int64_t rel = (int64_t)(uint32_t)(client_serial - z->base);
		if (rel >= z->journal_from && rel < z->stats.change) {
			struct rrbuf dels = {0}, adds = {0};
			uint8_t old[sizeof(z->soa_rdata)];
			size_t sp = z->soa_len - 20;

			rc = diff(z, rel, &dels, &adds);
			if (rc) {
				rrbuf_free(&dels);
				rrbuf_free(&adds);
				return bw_err_set(err, rc, "rpz: out of memory in IXFR");
			}
			*kind = BW_RPZ_XFR_IXFR;
			memcpy(old, z->soa_rdata, z->soa_len);
			put32(old + sp, client_serial);
			rc = emit(ctx, &soa);
			if (rc == 0) {
				rr = soa;
				rr.rdata = old;
				rc = emit(ctx, &rr);
			}
			for (size_t i = 0; rc == 0 && i < dels.n; i++) {
				rrbuf_get(&dels, i, z->ttl, &rr);
				rc = emit(ctx, &rr);
			}
			if (rc == 0)
				rc = emit(ctx, &soa);
			for (size_t i = 0; rc == 0 && i < adds.n; i++) {
				rrbuf_get(&adds, i, z->ttl, &rr);
				rc = emit(ctx, &rr);
			}
			if (rc == 0)
				rc = emit(ctx, &soa);
			rrbuf_free(&dels);
			rrbuf_free(&adds);
			return rc;
		}
	}
	*kind = BW_RPZ_XFR_AXFR;
	rc = emit(ctx, &soa);
	if (rc)
		return rc;
	bw_rpz_ns(z, &rr);
	rc = emit(ctx, &rr);
	if (z->full) {
		/* the full snapshot's records but those of touched owners, then ours */
		const struct bw_rpz *b = z->full;
		for (size_t g = 0; rc == 0 && g < b->ngroups; g++) {
			rrbuf_get(&b->rrs, b->groups[g].first, z->ttl, &rr);
			if (is_touched(z, rr.owner, rr.owner_len))
				continue;
			for (size_t i = b->groups[g].first; rc == 0 && i < b->groups[g].first + b->groups[g].count; i++) {
				rrbuf_get(&b->rrs, i, z->ttl, &rr);
				rc = emit(ctx, &rr);
			}
		}
	}
	for (size_t i = 0; rc == 0 && i < z->rrs.n; i++) {
		rrbuf_get(&z->rrs, i, z->ttl, &rr);
		rc = emit(ctx, &rr);
	}
	if (rc == 0)
		rc = emit(ctx, &soa);
	return rc;
}

/* ---- incremental update ----------------------------------------------- */

/* Full loads at least this often, so that the names of deleted actions do
 * not pile up in the arena of a long-running daemon. */
#define UPDATES_MAX 1024
/* More new journal rows than this: a full load is as cheap. */
#define UPDATE_ROWS_MAX 50000

struct nrow {
	int64_t serial;
	int add, skip;
	struct act a;
};

static int
cmp_nrow(const void *x, const void *y, void *ctx)
{
	const struct nrow *a = x, *b = y;
	int c = cmp_ent(ctx, &a->a, &b->a);
	if (c)
		return c;
	return a->serial < b->serial ? -1 : a->serial > b->serial;
}

/* The journal rows after old's head, read in the transaction open on db;
 * names go to z's arena.  *full set when a full load is needed. */
static int
read_new_rows(struct bw_rpz *z, sqlite3 *db, const struct bw_rpz *old, struct nrow **rows,
	      size_t *nrows, int *full, int64_t *minser, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct nrow *r = NULL;
	size_t n = 0, cap = 0;
	int rc = BW_OK, st;

	*rows = NULL;
	*nrows = 0;
	if (sqlite3_prepare_v2(db, HEAD_SQL, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto dberr;
	z->stats.change = sqlite3_column_int64(s, 0);
	*minser = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	s = NULL;
	if (z->stats.change < old->stats.change || *minser - 1 > old->stats.change ||
	    z->stats.change - old->stats.change > UPDATE_ROWS_MAX) {
		*full = 1;
		return BW_OK;
	}
	if (sqlite3_prepare_v2(db, JOURNAL_SQL, -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(s, 1, old->stats.change);
	while ((st = sqlite3_step(s)) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(s, 1);
		int k;
		if (n == cap) {
			size_t c2 = cap;
			struct nrow *g = bw_grow(r, &c2, n + 1, sizeof(*g));
			if (g == NULL)
				goto nomem;
			r = g;
			cap = c2;
		}
		k = act_from_row(z, s, 3, sqlite3_column_int64(s, 2), &r[n].a);
		if (k < 0)
			goto nomem;
		r[n].skip = k > 0;
		r[n].serial = sqlite3_column_int64(s, 0);
		r[n].add = op && strcmp(op, "add") == 0;
		n++;
	}
	if (st != SQLITE_DONE)
		goto dberr;
	*rows = r;
	*nrows = n;
	r = NULL;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
	goto out;
dberr:
	rc = bw_err_set(err, BW_ESTORE, "rpz: reading the store: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	bw_free(r);
	return rc;
}

/* 1 if the entry a (with its owner) is among the n entries of v sorted
 * by cmp_act. */
static int
in_run(const struct bw_rpz *z, const struct act *v, size_t n, const struct act *a)
{
	const uint8_t *o = owner_of(z, a);

	for (size_t i = run_start(z, v, n, o, a->olen);
	     i < n && cmp_owner_to(z, &v[i], o, a->olen) == 0; i++)
		if (cmp_ent(z, &v[i], a) == 0)
			return 1;
	return 0;
}

/* Appends a copy of e to the array *v of *n entries (capacity *cap). */
static int
push_act(struct act **v, size_t *n, size_t *cap, const struct act *e)
{
	struct act *g = bw_grow(*v, cap, *n + 1, sizeof(*g));

	if (g == NULL)
		return BW_ENOMEM;
	*v = g;
	(*v)[(*n)++] = *e;
	return BW_OK;
}

/* z (an overlay on old's full snapshot, its arena a copy of old's if old
 * is an overlay too) gets its journal tail, entries, gone entries and
 * counts: old's, with the net effect of rows[0..n).  Costs what changed
 * since the full snapshot, never the size of the zone. */
static int
apply_rows(struct bw_rpz *z, const struct bw_rpz *old, const struct bw_rpz_conf *c,
	   struct nrow *rows, size_t n, int64_t minser)
{
	const struct bw_rpz *b = z->full;
	int ov = old->full != NULL; /* old has entries of its own to carry */
	struct act *add = NULL, *ungone = NULL, *drop = NULL;
	size_t nadd = 0, addcap = 0, nun = 0, uncap = 0, ndrop = 0, dropcap = 0;
	size_t acap = 0, gcap = 0;
	long actions = (long)old->stats.actions, skipped = (long)old->stats.skipped;
	long passthru = (long)old->stats.passthru;
	int rc = BW_ENOMEM;

	/* the journal after the full snapshot's head: old's and the new rows */
	z->journal_from = z->stats.change - (int64_t)c->journal_max;
	if (z->journal_from < minser - 1)
		z->journal_from = minser - 1;
	if (z->journal_from < 0)
		z->journal_from = 0;
	z->jcap = (ov ? old->njournal : 0) + n + 1;
	z->journal = bw_calloc(z->jcap, sizeof(*z->journal));
	if (z->journal == NULL)
		goto out;
	for (size_t i = 0; ov && i < old->njournal; i++)
		z->journal[z->njournal++] = old->journal[i];
	for (size_t i = 0; i < n; i++)
		if (!rows[i].skip) {
			z->journal[z->njournal].serial = rows[i].serial;
			z->journal[z->njournal].add = rows[i].add;
			z->journal[z->njournal].a = rows[i].a;
			z->njournal++;
		}
	z->stats.journal = b->njournal - journal_after(b, z->journal_from) + z->njournal -
			   journal_after(z, z->journal_from);

	/* the net change per entry: in the zone before = its first row is a
	 * deletion, after = its last row is an addition */
	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), cmp_nrow, z);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		int was, is, d;
		while (j < n && cmp_ent(z, &rows[j].a, &rows[i].a) == 0)
			j++;
		was = !rows[i].add;
		is = rows[j - 1].add;
		d = is - was;
		if (d != 0) {
			if (rows[i].a.pass) {
				passthru += rows[i].skip ? 0 : d;
			} else {
				actions += d;
				skipped += rows[i].skip ? d : 0;
			}
		}
		if (d < 0 && !rows[i].skip) {
			/* one of old's own entries, or one of the full snapshot's */
			if (ov && in_run(z, old->acts, old->nacts, &rows[i].a)) {
				if (push_act(&drop, &ndrop, &dropcap, &rows[i].a))
					goto out;
			} else if (push_act(&z->gone, &z->ngone, &gcap, &rows[i].a)) {
				goto out;
			}
		} else if (d > 0 && !rows[i].skip) {
			/* back into the full snapshot's, or one of its own */
			if (ov && has_ent(z, old->gone, old->ngone, &rows[i].a)) {
				if (push_act(&ungone, &nun, &uncap, &rows[i].a))
					goto out;
			} else if (push_act(&add, &nadd, &addcap, &rows[j - 1].a)) {
				goto out;
			}
		}
		i = j;
	}
	if (ndrop > 1)
		qsort_r(drop, ndrop, sizeof(*drop), cmp_ent_r, z);
	if (nun > 1)
		qsort_r(ungone, nun, sizeof(*ungone), cmp_ent_r, z);
	for (size_t i = 0; ov && i < old->nacts; i++)
		if (!has_ent(z, drop, ndrop, &old->acts[i]) &&
		    push_act(&z->acts, &z->nacts, &acap, &old->acts[i]))
			goto out;
	for (size_t i = 0; i < nadd; i++)
		if (push_act(&z->acts, &z->nacts, &acap, &add[i]))
			goto out;
	for (size_t i = 0; ov && i < old->ngone; i++)
		if (!has_ent(z, ungone, nun, &old->gone[i]) &&
		    push_act(&z->gone, &z->ngone, &gcap, &old->gone[i]))
			goto out;
	if (z->nacts > 1)
		qsort_r(z->acts, z->nacts, sizeof(*z->acts), cmp_act, z);
	if (z->ngone > 1)
		qsort_r(z->gone, z->ngone, sizeof(*z->gone), cmp_ent_r, z);
	z->acap = acap;
	z->stats.actions = actions < 0 ? 0 : (size_t)actions;
	z->stats.skipped = skipped < 0 ? 0 : (size_t)skipped;
	z->stats.passthru = passthru < 0 ? 0 : (size_t)passthru;
	rc = BW_OK;
out:
	bw_free(add);
	bw_free(ungone);
	bw_free(drop);
	return rc;
}

/* Owners touched since the full snapshot beyond which a full build is
 * cheaper than an overlay. */
#define TOUCHED_MAX 20000

struct owner_ref {
	const uint8_t *p;
	size_t off;
	uint8_t len;
};

static int
cmp_owner_ref(const void *x, const void *y)
{
	const struct owner_ref *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Makes z (entries and journal done) an overlay on its full snapshot: the
 * records of the owners its journal touched since.  Returns 1 when a full
 * build is the better choice, -1 on allocation failure. */
static int
make_overlay(struct bw_rpz *z)
{
	const struct bw_rpz *full = z->full;
	struct owner_ref *o = NULL;
	const struct act *set[SET_MAX];
	size_t n = z->njournal, u = 0, size = 16, masked = 0, first, count;
	int rc = -1;

	if (full->stats.change < z->journal_from)
		return 1; /* the journal no longer reaches back to it */
	if (n > TOUCHED_MAX)
		return 1;
	o = bw_calloc(n ? n : 1, sizeof(*o));
	if (o == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		o[i].off = z->journal[i].a.owner_off; /* the overlay's own arena */
		o[i].len = z->journal[i].a.olen;
		o[i].p = z->names + o[i].off;
	}
	if (n > 1)
		qsort(o, n, sizeof(*o), cmp_owner_ref);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || cmp_owner_ref(&o[u - 1], &o[i]) != 0)
			o[u++] = o[i];
	z->touched = bw_calloc(u ? u : 1, sizeof(*z->touched));
	z->touched_len = bw_calloc(u ? u : 1, 1);
	while (size < 2 * u)
		size *= 2;
	z->touched_tab = bw_calloc(size, sizeof(*z->touched_tab));
	if (z->touched == NULL || z->touched_len == NULL || z->touched_tab == NULL)
		goto out;
	z->touched_mask = size - 1;
	for (size_t i = 0; i < u; i++) {
		size_t h = (size_t)name_hash(o[i].p, o[i].len) & z->touched_mask, k;
		uint8_t wild[BW_DNS_NAME_MAX];

		z->touched[i] = o[i].off;
		z->touched_len[i] = o[i].len;
		while (z->touched_tab[h] != 0)
			h = (h + 1) & z->touched_mask;
		z->touched_tab[h] = i + 1;
		/* the records of this owner now */
		k = owner_run(z, o[i].p, o[i].len, set);
		if (gen(z, set, k, &z->rrs))
			goto out;
		/* what it had in full */
		if (own_find(full, o[i].p, o[i].len, &first, &count))
			masked += count;
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, o[i].p, o[i].len);
		if ((size_t)o[i].len + 2 <= BW_DNS_NAME_MAX &&
		    own_find(full, wild, (size_t)o[i].len + 2, &first, &count))
			masked += count;
	}
	z->ntouched = u;
	z->stats.touched = u;
	if (build_index(z))
		goto out;
	z->stats.records = full->stats.records - masked + z->rrs.n;
	rc = 0;
out:
	bw_free(o);
	return rc;
}

/* Turns the overlay z (entries and journal done, no records yet) into a
 * full snapshot of its own: one arena (the full snapshot's, then z's),
 * every entry of the zone sorted, the journal from journal_from on. */
static int
materialize(struct bw_rpz *z)
{
	struct bw_rpz *b = z->full;
	const struct act *set[1];
	struct act *acts = NULL;
	struct jent *jr = NULL;
	uint8_t *names = NULL;
	size_t na = 0, nj = 0, i = 0, j = 0, lb = journal_after(b, z->journal_from);
	int rc = BW_ENOMEM;

	names = bw_malloc(b->nlen + z->nlen + 1);
	acts = bw_calloc(b->nacts + z->nacts + 1, sizeof(*acts));
	jr = bw_calloc(b->njournal - lb + z->njournal + 1, sizeof(*jr));
	if (names == NULL || acts == NULL || jr == NULL)
		goto out;
	if (b->nlen)
		memcpy(names, b->names, b->nlen);
	if (z->nlen)
		memcpy(names + b->nlen, z->names, z->nlen);
	/* merge the full snapshot's entries that stay with z's own */
	while (i < b->nacts || j < z->nacts) {
		if (i < b->nacts && has_ent(z, z->gone, z->ngone, &b->acts[i])) {
			i++;
			continue;
		}
		if (i < b->nacts && (j == z->nacts || cmp_act(&b->acts[i], &z->acts[j], z) <= 0))
			set[0] = &b->acts[i++];
		else
			set[0] = &z->acts[j++];
		acts[na] = *set[0];
		if (acts[na].ov)
			acts[na].owner_off += b->nlen;
		acts[na].ov = 0;
		na++;
	}
	for (size_t k = lb; k < b->njournal; k++)
		jr[nj++] = b->journal[k];
	for (size_t k = 0; k < z->njournal; k++)
		if (z->journal[k].serial > z->journal_from) {
			jr[nj] = z->journal[k];
			jr[nj].a.owner_off += b->nlen;
			jr[nj].a.ov = 0;
			nj++;
		}
	bw_free(z->names);
	bw_free(z->acts);
	bw_free(z->journal);
	bw_free(z->gone);
	z->gone = NULL;
	z->ngone = 0;
	z->names = names;
	z->nlen = z->ncap = b->nlen + z->nlen;
	z->acap = b->nacts + z->nacts + 1;
	z->acts = acts;
	z->nacts = na;
	z->journal = jr;
	z->njournal = nj;
	z->jcap = nj + 1;
	names = NULL;
	acts = NULL;
	jr = NULL;
	z->full = NULL;
	bw_rpz_unref(b);
	rc = BW_OK;
out:
	bw_free(names);
	bw_free(acts);
	bw_free(jr);
	return rc;
}

/* Frees the records, their index and the touched table (of a snapshot
 * going away, or of an overlay about to be built whole). */
static void
drop_records(struct bw_rpz *z)
{
	rrbuf_free(&z->rrs);
	bw_free(z->groups);
	bw_free(z->hash);
	bw_free(z->touched);
	bw_free(z->touched_len);
	bw_free(z->touched_tab);
	z->groups = NULL;
	z->hash = NULL;
	z->touched = NULL;
	z->touched_len = NULL;
	z->touched_tab = NULL;
	z->ngroups = z->gcap = z->ntouched = z->stats.touched = 0;
}

int
bw_rpz_update(struct bw_store *st, const struct bw_rpz_conf *c, const struct bw_rpz *old,
	      struct bw_rpz **out, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	struct bw_rpz *z = NULL;
	struct nrow *rows = NULL;
	size_t nrows = 0;
	int64_t minser = 0;
	int rc, full = 0;

	*out = NULL;
	if (old == NULL || old->updates >= UPDATES_MAX || old->base != c->serial_base)
		return bw_rpz_load(st, c, out, err);
	z = bw_calloc(1, sizeof(*z));
	if (z == NULL)
		return bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
	z->refs = 1;
	z->ttl = c->ttl;
	z->base = c->serial_base;
	z->updates = old->updates + 1;
	/* an overlay on old's full snapshot from the start: the names read
	 * below go to z's own arena (act_from_row) */
	z->full = old->full ? old->full : (struct bw_rpz *)old;
	bw_rpz_ref(z->full);
	rc = make_apex(z, c, err);
	if (rc)
		goto out;
	if (old->full && old->nlen) {
		/* old's own entries keep their name offsets in the copy */
		z->ncap = old->nlen + 1;
		z->names = bw_malloc(z->ncap);
		if (z->names == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
			goto out;
		}
		memcpy(z->names, old->names, old->nlen);
		z->nlen = old->nlen;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "rpz: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = read_new_rows(z, db, old, &rows, &nrows, &full, &minser, err);
	sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	if (rc)
		goto out;
	if (full) {
		bw_rpz_unref(z);
		z = NULL;
		rc = bw_rpz_load(st, c, out, err);
		goto out;
	}
	if (apply_rows(z, old, c, rows, nrows, minser)) {
		rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
		goto out;
	}
	z->serial = c->serial_base + (uint32_t)z->stats.change;
	rc = make_apex(z, c, err);
	if (rc)
		goto out;
	switch (make_overlay(z)) {
	case 0:
		break;
	case 1:
		/* too much changed since the full snapshot: a new one, from
		 * memory */
		drop_records(z);
		if (materialize(z)) {
			rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
			goto out;
		}
		rc = finish_zone(z, c, 1, err);
		if (rc)
			goto out;
		break;
	default:
		rc = bw_err_set(err, BW_ENOMEM, "rpz: out of memory");
		goto out;
	}
	*out = z;
	z = NULL;
out:
	bw_free(rows);
	bw_rpz_unref(z);
	return rc;
}
