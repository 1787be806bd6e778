/*
 * test_rpz.c - the RPZ snapshot from a real store: trigger names, the
 * records of blocks, sinkholes and IP triggers, the serial, look-ups,
 * AXFR, and IXFR's net difference when actions overlap on one trigger.
 * Rows are written the way src/disrupt writes them: the action row and
 * its rpz_change row in one transaction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
		snprintf(rd, sizeof(rd), "%s", rr->rdlen == 1 ? "." : "?");
	else if (rr->type == BW_DNS_SOA) {
		const uint8_t *p = rr->rdata + rr->rdlen - 20;
		snprintf(rd, sizeof(rd), "%u", (unsigned)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]));
	} else if (rr->type == BW_DNS_AAAA)
		snprintf(rd, sizeof(rd), "aaaa");
	d->len += (size_t)snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s %u %s\n", owner,
				   rr->type, rd);
	d->n++;
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

/* The incremental update from old must give the zone a full load gives:
 * the same serial, AXFR and IXFR from old's serial. */
static void
same_as_load(struct bw_rpz *old, struct bw_rpz *full)
{
	struct bw_rpz_conf c;
	struct bw_rpz *u = NULL;
	struct bw_err err;
	static struct dump a, b;
	enum bw_rpz_xfr_kind kind;
	struct bw_rpz_stats s1, s2;

	bw_rpz_conf_init(&c);
	c.serial_base = 1000;
	CHECK_INT(bw_rpz_update(st, &c, old, &u, &err), BW_OK);
	if (u == NULL)
		return;
	CHECK_INT((int)bw_rpz_serial(u), (int)bw_rpz_serial(full));
	bw_rpz_get_stats(u, &s1);
	bw_rpz_get_stats(full, &s2);
	CHECK(s1.actions == s2.actions && s1.skipped == s2.skipped && s1.records == s2.records &&
	      s1.journal == s2.journal);
	CHECK(s1.touched > 0 && s2.touched == 0); /* an overlay on old */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	bw_rpz_xfr(u, 0, 0, emit, &a, &kind, NULL);
	bw_rpz_xfr(full, 0, 0, emit, &b, &kind, NULL);
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
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	bw_rpz_xfr(u, 1, bw_rpz_serial(old), emit, &a, &kind, NULL);
	bw_rpz_xfr(full, 1, bw_rpz_serial(old), emit, &b, &kind, NULL);
	CHECK_STR(a.text, b.text);
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
	bw_store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
