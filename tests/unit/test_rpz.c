/*
 * test_rpz.c - the RPZ snapshot from a real store: trigger names, the
 * records of blocks, sinkholes and IP triggers, the serial, look-ups,
 * AXFR, and IXFR's net difference when actions overlap on one trigger;
 * the operator's exceptions (rpz-passthru.) written by bw_guard_add/remove.
 * Rows are written the way src/disrupt writes them: the action row and
 * its rpz_change row in one transaction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "disrupt/guard.h"
#include "net/rpz.h"
#include "store/store.h"
#include "tap.h"

static struct bw_store *st;
static char dir[64];

static void
sql(const char *q)
{
	char *msg = NULL;
	if (sqlite3_exec(bw_store_db(st), q, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# SQL error: %s\n", msg ? msg : "?");
		sqlite3_free(msg);
	}
}

static void
add(int id, int type, const char *target, const char *kind, const char *sink)
{
	char q[1024];
	snprintf(q, sizeof(q),
		 "BEGIN; INSERT INTO action(id, authz_id, type, target, kind, sinkhole, origin, state,"
		 " proposed_by, created, updated, expires) VALUES (%d, 1, %d, '%s', '%s', %s%s%s,"
		 " 'manual', 'active', 'a', 0, 0, 99999999999);"
		 " INSERT INTO rpz_change(time, action_id, op) VALUES (0, %d, 'add'); COMMIT;",
		 id, type, target, kind, sink ? "'" : "", sink ? sink : "NULL", sink ? "'" : "", id);
	sql(q);
}

static void
del(int id)
{
	char q[256];
	snprintf(q, sizeof(q),
		 "BEGIN; UPDATE action SET state = 'revoked' WHERE id = %d;"
		 " INSERT INTO rpz_change(time, action_id, op) VALUES (0, %d, 'del'); COMMIT;", id, id);
	sql(q);
}

/* The transfer as text lines "owner type rdata-summary". */
struct dump {
	char text[8192];
	size_t len;
	int n;
};

static int
emit(void *ctx, const struct bw_rpz_rr *rr)
{
	struct dump *d = ctx;
	char owner[BW_DNS_NAME_TEXT_MAX], rd[64] = "";

	bw_dns_name_to_text(rr->owner, rr->owner_len, owner, sizeof(owner));
	if (rr->type == BW_DNS_A)
		snprintf(rd, sizeof(rd), "%u.%u.%u.%u", rr->rdata[0], rr->rdata[1], rr->rdata[2],
			 rr->rdata[3]);
	else if (rr->type == BW_DNS_CNAME)
		snprintf(rd, sizeof(rd), "%s", rr->rdlen == 1 ? "." : rr->rdlen == 14 &&
			 memcmp(rr->rdata, "\14rpz-passthru", 14) == 0 ? "passthru" : "?");
	else if (rr->type == BW_DNS_SOA) {
		const uint8_t *p = rr->rdata + rr->rdlen - 20;
		snprintf(rd, sizeof(rd), "%u", (unsigned)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]));
	} else if (rr->type == BW_DNS_AAAA)
		snprintf(rd, sizeof(rd), "aaaa");
	d->n++;
	if (d->len + 1 >= sizeof(d->text))
		return 0; /* a big zone: its first records only */
	d->len += (size_t)snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s %u %s\n", owner,
				   rr->type, rd);
	if (d->len >= sizeof(d->text))
		d->len = sizeof(d->text) - 1;
	return 0;
}

static struct bw_rpz *
load(void)
{
	struct bw_rpz_conf c;
	struct bw_rpz *z = NULL;
	struct bw_err err;

	bw_rpz_conf_init(&c);
	c.serial_base = 1000;
	if (bw_rpz_load(st, &c, &z, &err) != BW_OK)
		printf("# load: %s\n", err.msg);
	return z;
}

static int
cmp_line(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorts the lines of text in place. */
static void
sort_lines(char *text)
{
	char *lines[256], copy[8192], *p = copy, *nl;
	size_t n = 0, o = 0;

	snprintf(copy, sizeof(copy), "%s", text);
	while (n < 256 && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, 8192 - o, "%s\n", lines[i]);
}

/* u (made by bw_rpz_update) must be the zone a full load gives: the same
 * serial and counts, AXFR, look-ups, and IXFR from each of the n serials
 * in from. */
static void
same_zone(struct bw_rpz *u, struct bw_rpz *full, const uint32_t *from, size_t n)
{
	static struct dump a, b;
	enum bw_rpz_xfr_kind k1, k2;
	struct bw_rpz_stats s1, s2;

	CHECK_INT((int)bw_rpz_serial(u), (int)bw_rpz_serial(full));
	bw_rpz_get_stats(u, &s1);
	bw_rpz_get_stats(full, &s2);
	if (!CHECK(s1.actions == s2.actions && s1.skipped == s2.skipped && s1.records == s2.records &&
		   s1.journal == s2.journal && s1.passthru == s2.passthru))
		printf("# actions %zu/%zu skipped %zu/%zu records %zu/%zu journal %zu/%zu passthru %zu/%zu\n",
		       s1.actions, s2.actions, s1.skipped, s2.skipped, s1.records, s2.records, s1.journal,
		       s2.journal, s1.passthru, s2.passthru);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	bw_rpz_xfr(u, 0, 0, emit, &a, &k1, NULL);
	bw_rpz_xfr(full, 0, 0, emit, &b, &k2, NULL);
	/* the same records; an overlay sends the touched owners last */
	sort_lines(a.text);
	sort_lines(b.text);
	CHECK_STR(a.text, b.text);
	/* and finds the same: each record of the full zone by its owner */
	for (size_t i = 0; i < s2.records; i++) {
		struct bw_rpz_rr r1, r2;
		size_t f1, n1, f2, n2;
		bw_rpz_record(full, i, &r1);
		if (!CHECK(bw_rpz_find(u, r1.owner, r1.owner_len, &f1, &n1)) ||
		    !bw_rpz_find(full, r1.owner, r1.owner_len, &f2, &n2))
			break;
		CHECK(n1 == n2);
		bw_rpz_record(u, f1, &r2);
		CHECK(r2.owner_len == r1.owner_len && memcmp(r2.owner, r1.owner, r1.owner_len) == 0);
	}
	for (size_t i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		bw_rpz_xfr(u, 1, from[i], emit, &a, &k1, NULL);
		bw_rpz_xfr(full, 1, from[i], emit, &b, &k2, NULL);
		CHECK(k1 == k2);
		CHECK_STR(a.text, b.text);
	}
}

/* The incremental update from old must give the zone a full load gives:
 * the same serial, AXFR and IXFR from old's serial. */
static void
same_as_load(struct bw_rpz *old, struct bw_rpz *full)
{
	struct bw_rpz_conf c;
	struct bw_rpz *u = NULL;
	struct bw_err err;
	struct bw_rpz_stats s1;
	uint32_t from = bw_rpz_serial(old);

	bw_rpz_conf_init(&c);
	c.serial_base = 1000;
	CHECK_INT(bw_rpz_update(st, &c, old, &u, &err), BW_OK);
	if (u == NULL)
		return;
	bw_rpz_get_stats(u, &s1);
	CHECK(s1.touched > 0); /* an overlay on old */
	same_zone(u, full, &from, 1);
	bw_rpz_unref(u);
}

static void
test_triggers(void)
{
	char t[256];
	struct bw_err err;

	CHECK_INT(bw_rpz_trigger_text(BW_IOC_DOMAIN, "evil.example", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "evil.example");
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_IPV4, "1.2.3.4", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "32.4.3.2.1.rpz-ip");
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_CIDR, "10.1.0.0/16", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "16.0.0.1.10.rpz-ip");
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_IPV6, "2001:db8::1", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "128.1.zz.db8.2001.rpz-ip");
	/* two equal zero runs: the first one is "zz" (RFC 5952) */
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_IPV6, "2001:db8:0:0:1:0:0:1", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "128.1.0.0.1.zz.db8.2001.rpz-ip");
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_CIDR, "2001:db8::/32", t, sizeof(t), NULL), BW_OK);
	CHECK_STR(t, "32.zz.db8.2001.rpz-ip");
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_URL, "http://x.example/", t, sizeof(t), &err), BW_EINVAL);
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_DOMAIN, "a.rpz-ip", t, sizeof(t), &err), BW_EINVAL);
	CHECK_INT(bw_rpz_trigger_text(BW_IOC_CIDR, "10.0.0.0/33", t, sizeof(t), &err), BW_EINVAL);
}

static void
test_zone(void)
{
	struct bw_rpz *z, *z2;
	struct bw_rpz_stats s;
	struct bw_rpz_rr rr;
	struct dump d;
	enum bw_rpz_xfr_kind kind;
	uint8_t n[BW_DNS_NAME_MAX];
	size_t nl, first, count;
	uint32_t s1;

	z = load();
	CHECK(z != NULL);
	if (z == NULL)
		return;
	CHECK_INT((int)bw_rpz_serial(z), 1000);
	bw_rpz_unref(z);

	add(1, BW_IOC_DOMAIN, "evil.example", "block", NULL);
	add(2, BW_IOC_IPV4, "1.2.3.4", "block", NULL);
	add(3, BW_IOC_DOMAIN, "sink.example", "sinkhole", "10.9.9.9");
	add(4, BW_IOC_URL, "http://u.example/", "block", NULL);     /* not a trigger */
	add(5, BW_IOC_DOMAIN, "bad.example", "sinkhole", "nowhere"); /* no address */
	z = load();
	CHECK(z != NULL);
	if (z == NULL)
		return;
	bw_rpz_get_stats(z, &s);
	CHECK_INT((int)s.actions, 5);
	CHECK_INT((int)s.skipped, 2);
	CHECK_INT((int)s.records, 5); /* 2 + 1 + 2 */
	CHECK_INT((int)bw_rpz_serial(z), 1005);
	bw_dns_name_from_text("*.SINK.example.rpz.bulwark", n, &nl, NULL);
	CHECK(bw_rpz_find(z, n, nl, &first, &count) && count == 1);
	bw_rpz_record(z, first, &rr);
	CHECK(rr.type == BW_DNS_A && rr.rdlen == 4 && rr.rdata[0] == 10 && rr.rdata[3] == 9);
	bw_dns_name_from_text("good.example.rpz.bulwark", n, &nl, NULL);
	CHECK(!bw_rpz_find(z, n, nl, &first, &count));

	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z, 0, 0, emit, &d, &kind, NULL), 0);
	CHECK_INT(kind, BW_RPZ_XFR_AXFR);
	CHECK_INT(d.n, 2 + 5 + 1);
	CHECK(strstr(d.text, "32.4.3.2.1.rpz-ip.rpz.bulwark. 5 .\n") != NULL);
	CHECK(strstr(d.text, "*.evil.example.rpz.bulwark. 5 .\n") != NULL);
	s1 = bw_rpz_serial(z);

	/* overlapping actions: a second block of evil.example, then the first
	 * is revoked: nothing changes in the zone; a block beside the sinkhole
	 * replaces its A records, and its revocation brings them back */
	add(6, BW_IOC_DOMAIN, "evil.example", "block", NULL);
	del(1);
	add(7, BW_IOC_DOMAIN, "sink.example", "block", NULL);
	z2 = load();
	CHECK(z2 != NULL);
	if (z2 == NULL)
		goto out;
	CHECK_INT((int)bw_rpz_serial(z2), 1008);
	same_as_load(z, z2);
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z2, 1, s1, emit, &d, &kind, NULL), 0);
	CHECK_INT(kind, BW_RPZ_XFR_IXFR);
	CHECK_STR(d.text,
		  "rpz.bulwark. 6 1008\n"
		  "rpz.bulwark. 6 1005\n"
		  "sink.example.rpz.bulwark. 1 10.9.9.9\n"
		  "*.sink.example.rpz.bulwark. 1 10.9.9.9\n"
		  "rpz.bulwark. 6 1008\n"
		  "sink.example.rpz.bulwark. 5 .\n"
		  "*.sink.example.rpz.bulwark. 5 .\n"
		  "rpz.bulwark. 6 1008\n");
	/* current: the SOA alone; unknown (older than the journal): AXFR */
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z2, 1, 1008, emit, &d, &kind, NULL), 0);
	CHECK(kind == BW_RPZ_XFR_CURRENT && d.n == 1);
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z2, 1, 7, emit, &d, &kind, NULL), 0);
	CHECK(kind == BW_RPZ_XFR_AXFR);
	bw_rpz_unref(z2);

	del(7);
	add(8, BW_IOC_CIDR, "2001:db8::/32", "sinkhole", "2001:db8::53");
	add(9, BW_IOC_URL, "http://skip.example/", "block", NULL);
	del(9);
	add(10, BW_IOC_DOMAIN, "later.example", "block", NULL);
	del(10);
	z2 = load();
	if (z2 == NULL)
		goto out;
	same_as_load(z, z2);
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z2, 1, s1, emit, &d, &kind, NULL), 0);
	/* from 1005 to 1014 the net change is the IPv6 CIDR sinkhole */
	CHECK_STR(d.text, "rpz.bulwark. 6 1014\nrpz.bulwark. 6 1005\nrpz.bulwark. 6 1014\n"
			  "32.zz.db8.2001.rpz-ip.rpz.bulwark. 28 aaaa\nrpz.bulwark. 6 1014\n");
	/* an update of an update: still an overlay on the same full zone */
	{
		struct bw_rpz_conf c;
		struct bw_rpz *u1 = NULL, *z3;
		struct bw_err err;
		bw_rpz_conf_init(&c);
		c.serial_base = 1000;
		CHECK_INT(bw_rpz_update(st, &c, z, &u1, &err), BW_OK);
		add(11, BW_IOC_IPV4, "198.51.100.9", "sinkhole", "10.1.1.1");
		del(3);
		z3 = load();
		if (u1 && z3)
			same_as_load(u1, z3);
		bw_rpz_unref(z3);
		bw_rpz_unref(u1);
	}
	bw_rpz_unref(z2);
out:
	bw_rpz_unref(z);
}

/* Exceptions: a passthru inside a blocked domain, one under an action's
 * own trigger (the action wins until it ends), one for an address. */
static void
test_passthru(void)
{
	struct bw_rpz *z0, *z1 = NULL, *z2 = NULL;
	struct bw_rpz_stats s;
	struct bw_rpz_rr rr;
	struct bw_err err;
	struct dump d;
	enum bw_rpz_xfr_kind kind;
	uint8_t n[BW_DNS_NAME_MAX];
	size_t nl, first, count;

	z0 = load();
	if (!CHECK(z0 != NULL))
		return;
	add(20, BW_IOC_DOMAIN, "wild.example", "block", NULL);
	CHECK_INT(bw_guard_add(st, "ops", "ok.wild.example", NULL, "alice", 1, &err), BW_OK);
	CHECK_INT(bw_guard_add(st, "ops", "wild.example", NULL, "alice", 1, &err), BW_OK);
	CHECK_INT(bw_guard_add(st, "ops", "10.20.30.40", NULL, "alice", 1, &err), BW_OK);
	/* on a second list: the same exception, no new journal row */
	CHECK_INT(bw_guard_add(st, "partners", "10.20.30.40", NULL, "alice", 1, &err), BW_OK);
	z1 = load();
	if (!CHECK(z1 != NULL))
		goto out;
	CHECK_INT((int)(bw_rpz_serial(z1) - bw_rpz_serial(z0)), 4);
	bw_rpz_get_stats(z1, &s);
	CHECK_INT((int)s.passthru, 3);
	bw_dns_name_from_text("*.ok.wild.example.rpz.bulwark", n, &nl, NULL);
	CHECK(bw_rpz_find(z1, n, nl, &first, &count) && count == 1);
	bw_rpz_record(z1, first, &rr);
	CHECK(rr.type == BW_DNS_CNAME && rr.rdlen == 14 && memcmp(rr.rdata, "\14rpz-passthru", 14) == 0);
	bw_dns_name_from_text("wild.example.rpz.bulwark", n, &nl, NULL);
	CHECK(bw_rpz_find(z1, n, nl, &first, &count) && count == 1);
	bw_rpz_record(z1, first, &rr);
	CHECK(rr.type == BW_DNS_CNAME && rr.rdlen == 1); /* the block */
	same_as_load(z0, z1);
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z1, 1, bw_rpz_serial(z0), emit, &d, &kind, NULL), 0);
	CHECK_INT(kind, BW_RPZ_XFR_IXFR);
	sort_lines(d.text);
	CHECK(strstr(d.text, "*.ok.wild.example.rpz.bulwark. 5 passthru\n"
			     "*.wild.example.rpz.bulwark. 5 .\n"
			     "32.40.30.20.10.rpz-ip.rpz.bulwark. 5 passthru\n"
			     "ok.wild.example.rpz.bulwark. 5 passthru\n") != NULL);
	CHECK(strstr(d.text, "\nwild.example.rpz.bulwark. 5 passthru") == NULL);

	/* the block ends: its trigger becomes an exception; one exception
	 * leaves its only list, the address one of its two */
	del(20);
	CHECK_INT(bw_guard_remove(st, "ops", "ok.wild.example", "bob", 2, &err), BW_OK);
	CHECK_INT(bw_guard_remove(st, "ops", "10.20.30.40", "bob", 2, &err), BW_OK);
	z2 = load();
	if (!CHECK(z2 != NULL))
		goto out;
	CHECK_INT((int)(bw_rpz_serial(z2) - bw_rpz_serial(z1)), 2);
	bw_rpz_get_stats(z2, &s);
	CHECK_INT((int)s.passthru, 2);
	same_as_load(z1, z2);
	memset(&d, 0, sizeof(d));
	CHECK_INT(bw_rpz_xfr(z2, 1, bw_rpz_serial(z1), emit, &d, &kind, NULL), 0);
	CHECK_INT(kind, BW_RPZ_XFR_IXFR);
	/* deletions, then additions, each sorted by owner */
	CHECK(strstr(d.text, "ok.wild.example.rpz.bulwark. 5 passthru\n"
			     "*.ok.wild.example.rpz.bulwark. 5 passthru\n") != NULL);
	CHECK(strstr(d.text, "wild.example.rpz.bulwark. 5 .\n*.wild.example.rpz.bulwark. 5 .\n") != NULL);
	CHECK(strstr(d.text, "\nwild.example.rpz.bulwark. 5 passthru\n"
			     "*.wild.example.rpz.bulwark. 5 passthru\n") != NULL);
	CHECK(strstr(d.text, "rpz-ip") == NULL);
	/* and from before every exception, the net change */
	same_as_load(z0, z2);
out:
	bw_rpz_unref(z0);
	bw_rpz_unref(z1);
	bw_rpz_unref(z2);
}

/* Random changes (overlapping actions, exceptions on two lists), each
 * followed by an update of the last update, which must stay the zone a
 * full load gives, with IXFR from each earlier serial; once, more entries
 * change than an overlay takes, so the update builds a full snapshot from
 * memory, and the updates go on from that. */
static void
test_random(void)
{
	static const char *const names[] = {"r1.example", "r2.example", "a.r1.example", "r3.example",
					    "10.7.0.1", "10.7.0.0/16"};
	static const char *const sinks[] = {"10.5.5.5", "10.6.6.6"};
	static const char *const lists[] = {"ops", "partners"};
	struct bw_rpz_conf c;
	struct bw_rpz *u = NULL, *z = NULL;
	struct bw_err err;
	uint32_t from[64];
	size_t nfrom = 0;
	int live[400] = {0}, next = 100;
	unsigned seed = 12345;

	bw_rpz_conf_init(&c);
	c.serial_base = 1000;
	u = load();
	if (!CHECK(u != NULL))
		return;
	for (int step = 0; step < 60; step++) {
		struct bw_rpz *v = NULL;
		int ops = 1 + (int)(rand_r(&seed) % 4);
		for (int k = 0; k < ops; k++) {
			int r = (int)(rand_r(&seed) % 10), w = (int)(rand_r(&seed) % 6);
			if (r < 4 && next < 400) {
				int type = w >= 4 ? (w == 5 ? BW_IOC_CIDR : BW_IOC_IPV4) : BW_IOC_DOMAIN;
				int sink = type == BW_IOC_DOMAIN && rand_r(&seed) % 2;
				add(next, type, names[w], sink ? "sinkhole" : "block",
				    sink ? sinks[rand_r(&seed) % 2] : NULL);
				live[next++] = 1;
			} else if (r < 7) {
				for (int id = 100 + (int)(rand_r(&seed) % 50); id < next; id++)
					if (live[id]) {
						del(id);
						live[id] = 0;
						break;
					}
			} else if (r < 9) {
				bw_guard_add(st, lists[rand_r(&seed) % 2], names[w], NULL, "a", 1, &err);
			} else {
				bw_guard_remove(st, lists[rand_r(&seed) % 2], names[w], "a", 1, &err);
			}
		}
		if (step == 30) {
			/* 10,001 actions made and ended: net nothing, 20,002 rows */
			sql("BEGIN; WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
			    " WHERE i < 10000) INSERT INTO action(id, authz_id, type, target, kind, origin,"
			    " state, proposed_by, created, updated, expires) SELECT 100000 + i, 1, 1,"
			    " 'n' || i || '.example', 'block', 'manual', 'revoked', 'a', 0, 0, 9 FROM n;"
			    " INSERT INTO rpz_change(time, action_id, op) SELECT 0, id, 'add' FROM action"
			    " WHERE id >= 100000;"
			    " INSERT INTO rpz_change(time, action_id, op) SELECT 0, id, 'del' FROM action"
			    " WHERE id >= 100000; COMMIT;");
		}
		if (!CHECK(bw_rpz_update(st, &c, u, &v, &err) == BW_OK))
			break;
		z = load();
		if (!CHECK(z != NULL))
			break;
		if (step == 30) {
			struct bw_rpz_stats s;
			bw_rpz_get_stats(v, &s);
			CHECK(s.touched == 0); /* built whole */
		}
		same_zone(v, z, from, nfrom);
		bw_rpz_unref(z);
		z = NULL;
		if (nfrom < 64)
			from[nfrom++] = bw_rpz_serial(u);
		bw_rpz_unref(u);
		u = v;
	}
	bw_rpz_unref(z);
	bw_rpz_unref(u);
}

/* Allocation failures in an update (builds with -Dfault_injection=true):
 * every failure is BW_ENOMEM with nothing made (ASan sees no leak), and
 * the first run that gets through gives the zone a full load gives; the
 * same for an update too large for an overlay (built whole) and a load. */
static void
test_faults(void)
{
	struct bw_rpz_conf c;
	struct bw_rpz *base = NULL, *u1 = NULL, *full = NULL;
	struct bw_err err;
	uint32_t from;

	if (bw_mem_fail_after(1000000) < 0) {
		printf("ok %d - # SKIP not a fault-injection build\n", ++tap_state.n);
		return;
	}
	bw_mem_fail_reset();
	bw_rpz_conf_init(&c);
	c.serial_base = 1000;
	base = load();
	add(600, BW_IOC_DOMAIN, "f1.example", "block", NULL);
	if (!CHECK(base && bw_rpz_update(st, &c, base, &u1, &err) == BW_OK))
		goto out;
	from = bw_rpz_serial(u1);
	for (int round = 0; round < 3; round++) {
		int done = 0, failures = 0;
		if (round == 0) {
			add(601, BW_IOC_DOMAIN, "f2.example", "sinkhole", "10.1.2.3");
			del(600);
			bw_guard_add(st, "ops", "ok.f2.example", NULL, "a", 1, &err);
		} else if (round == 1) {
			/* more rows than an overlay takes: built whole from memory */
			sql("BEGIN; WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
			    " WHERE i < 20000) INSERT INTO action(id, authz_id, type, target, kind, origin,"
			    " state, proposed_by, created, updated, expires) SELECT 200000 + i, 1, 1,"
			    " 'f' || i || '.example', 'block', 'manual', 'active', 'a', 0, 0, 9 FROM n;"
			    " INSERT INTO rpz_change(time, action_id, op) SELECT 0, id, 'add' FROM action"
			    " WHERE id >= 200000; COMMIT;");
		}
		full = load();
		if (!CHECK(full != NULL))
			goto out;
		for (long n = 1; n < 100000 && !done; n++) {
			struct bw_rpz *v = NULL;
			int rc;
			bw_mem_fail_after(n);
			rc = round == 2 ? bw_rpz_load(st, &c, &v, &err) : bw_rpz_update(st, &c, u1, &v, &err);
			bw_mem_fail_reset();
			if (rc == BW_OK) {
				struct bw_rpz_stats sv;
				done = 1;
				bw_rpz_get_stats(v, &sv);
				CHECK(round == 0 ? sv.touched > 0 : sv.touched == 0);
				same_zone(v, full, round == 0 ? &from : NULL, round == 0);
				bw_rpz_unref(v);
			} else if (!CHECK(rc == BW_ENOMEM && v == NULL)) {
				break;
			} else {
				failures++;
			}
		}
		CHECK(done && failures > 0);
		bw_rpz_unref(full);
		full = NULL;
	}
out:
	bw_rpz_unref(full);
	bw_rpz_unref(u1);
	bw_rpz_unref(base);
}

int
main(void)
{
	struct bw_err err;
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/bw-rpz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	if (bw_store_open(path, 0, &st, &err) != BW_OK) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	sql("INSERT INTO authz(id, authority, reference, jurisdiction, scope_kind, scope_value,"
	    " valid_from, valid_until, created, created_by)"
	    " VALUES (1, 'court', 'R', 'DE', 'tag', 't', 0, 99999999999, 0, 'a');");
	TAP_RUN(test_triggers);
	TAP_RUN(test_zone);
	TAP_RUN(test_passthru);
	TAP_RUN(test_random);
	TAP_RUN(test_faults);
	bw_store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
