/*
 * test_dnsbl.c - the DNSBL snapshot's look-ups against a real store: a few
 * thousand generated IPv4 addresses (with the edges of the bucket index,
 * 0.0.0.0 and 255.255.255.255), CIDRs of several lengths, domains at
 * several depths (a listing covers subdomains, a parent is not covered, case
 * does not matter), a TLP:AMBER indicator that must stay out, and the batch
 * prefetch hint, which must not change any answer.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/tlp.h"
#include "net/dnsbl.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"

#define NIPS 3000

static char dir[64], path[128];

/* The i-th listed address (a fixed permutation of the 32-bit space, so
 * all distinct). */
static uint32_t
listed_ip(uint32_t i)
{
	return i * 2654435761u + 12345u;
}

static void
ip_text(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* The rcode of the A query for name (text, in one of the zones), and the
 * number of answers in *an; -2 if the name does not convert. */
static int
ask(const struct bw_dnsbl *b, const char *name, int *an)
{
	uint8_t q[BW_DNS_NAME_MAX], buf[512];
	struct bw_dns_writer w;
	struct bw_dns_header h = {.id = 1};
	size_t ql;
	int rc;

	if (bw_dns_name_from_text(name, q, &ql, NULL))
		return -2;
	bw_dnsbl_prefetch(b, q, ql, 0);
	bw_dnsbl_prefetch(b, q, ql, 1);
	bw_dns_w_init(&w, buf, sizeof(buf), &h);
	bw_dns_w_question(&w, q, ql, BW_DNS_A, BW_DNS_CLASS_IN);
	rc = bw_dnsbl_answer(b, q, ql, BW_DNS_A, &w);
	*an = w.counts[1];
	return rc;
}

/* 1 if the reversed-address query for a is answered as listed. */
static int
ip_listed(const struct bw_dnsbl *b, uint32_t a)
{
	char name[96];
	int an, rc;

	snprintf(name, sizeof(name), "%u.%u.%u.%u.dnsbl.bulwark", a & 255, (a >> 8) & 255,
		 (a >> 16) & 255, a >> 24);
	rc = ask(b, name, &an);
	return rc == BW_DNS_NOERROR && an == 1 ? 1 : rc == BW_DNS_NXDOMAIN && an == 0 ? 0 : -1;
}

static int
name_listed(const struct bw_dnsbl *b, const char *name)
{
	int an, rc = ask(b, name, &an);
	return rc == BW_DNS_NOERROR && an == 1 ? 1 : rc == BW_DNS_NXDOMAIN && an == 0 ? 0 : -1;
}

/* Inserts one indicator with the prepared statement s. */
static int
add(sqlite3_stmt *s, int type, const char *value)
{
	int rc;

	sqlite3_bind_int(s, 1, type);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(s);
	return rc;
}

static int
load_store(struct bw_store *st)
{
	static const char *const names[] = {"evil.example", "a.b.c.d.bad.test", "Mixed.Case.ORG"};
	static const char *const cidrs[] = {"10.0.0.0/8", "192.168.1.0/24", "172.16.5.4/31",
					    "100.64.0.0/10"};
	sqlite3_stmt *s = NULL;
	char v[64];
	int rc = -1;

	if (exec_sql(st, "BEGIN; INSERT INTO source(id, name, created) VALUES (1, 'feedA', 0),"
		    " (2, 'feedB', 0);"))
		return -1;
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "INSERT INTO indicator(type, value, created) VALUES (?1, ?2, 0)", -1, &s,
			       NULL) != SQLITE_OK)
		goto out;
	for (uint32_t i = 0; i < NIPS + 2; i++) {
		uint32_t a = i < NIPS ? listed_ip(i) : i == NIPS ? 0 : 0xffffffffu;
		ip_text(a, v, sizeof(v));
		if (add(s, BW_IOC_IPV4, v))
			goto out;
	}
	for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++)
		if (add(s, BW_IOC_CIDR, cidrs[i]))
			goto out;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (add(s, BW_IOC_DOMAIN, names[i]))
			goto out;
	if (exec_sql(st, "INSERT INTO indicator(type, value, created) VALUES (1, 'amber.example', 0),"
		    " (2, '192.0.2.99', 0);"
		    "INSERT INTO record(indicator_id, source_id, confidence, tlp, first_seen,"
		    " last_seen, added, updated) SELECT id, 1, 90, 0, 0, 0, 0, 0 FROM indicator"
		    " WHERE value NOT IN ('amber.example', '192.0.2.99');"
		    "INSERT INTO record(indicator_id, source_id, confidence, tlp, first_seen,"
		    " last_seen, added, updated) SELECT id, 2, 90, 2, 0, 0, 0, 0 FROM indicator"
		    " WHERE value IN ('amber.example', '192.0.2.99'); COMMIT;"))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

static void
test_lookups(void)
{
	struct bw_store *st = NULL;
	struct bw_dnsbl *b = NULL;
	struct bw_dnsbl_conf c;
	struct bw_dnsbl_stats s;
	struct bw_err err;
	int all = 1, none = 1, an;
	uint8_t junk[] = "\3999\1x\5dnsbl\7bulwark";

	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	if (st == NULL)
		return;
	CHECK_INT(load_store(st), 0);
	bw_dnsbl_conf_init(&c);
	CHECK_INT(bw_dnsbl_load(st, &c, &b, &err), BW_OK);
	if (b == NULL)
		goto out;
	bw_dnsbl_get_stats(b, &s);
	CHECK_INT(s.ipv4, NIPS + 2);
	CHECK_INT(s.cidr, 4);
	CHECK_INT(s.domains, 3);

	for (uint32_t i = 0; i < NIPS; i++)
		all &= ip_listed(b, listed_ip(i)) == 1;
	CHECK(all); /* every listed address, through the bucket index */
	/* addresses next to listed ones, outside the CIDRs */
	for (uint32_t i = 0; i < NIPS; i++) {
		uint32_t a = listed_ip(i) + 1;
		int listed = 0;
		for (uint32_t k = 0; k < NIPS && !listed; k++)
			listed = listed_ip(k) == a;
		if (listed || a >> 24 == 10 || a >> 24 == 100 || a >> 16 == (192u << 8 | 168) ||
		    a >> 16 == (172u << 8 | 16))
			continue;
		none &= ip_listed(b, a) == 0;
	}
	CHECK(none);
	CHECK_INT(ip_listed(b, 0), 1);           /* the first bucket */
	CHECK_INT(ip_listed(b, 0xffffffffu), 1); /* the last one */
	CHECK_INT(ip_listed(b, 1), 0);
	CHECK_INT(ip_listed(b, 0xfffffffeu), 0);
	/* CIDRs /8, /10, /24, /31 */
	CHECK_INT(ip_listed(b, 10u << 24 | 1), 1);
	CHECK_INT(ip_listed(b, 100u << 24 | 127u << 16 | 0xffff), 1);
	CHECK_INT(ip_listed(b, 100u << 24 | 128u << 16), 0);
	CHECK_INT(ip_listed(b, 192u << 24 | 168u << 16 | 1u << 8 | 255), 1);
	CHECK_INT(ip_listed(b, 192u << 24 | 168u << 16 | 2u << 8), 0);
	CHECK_INT(ip_listed(b, 172u << 24 | 16u << 16 | 5u << 8 | 5), 1);
	CHECK_INT(ip_listed(b, 172u << 24 | 16u << 16 | 5u << 8 | 6), 0);
	CHECK_INT(ip_listed(b, 192u << 24 | 2u << 8 | 99), 0); /* TLP:AMBER */
	/* not an address: NXDOMAIN, and the hint takes it too */
	CHECK_INT(name_listed(b, "1.2.3.dnsbl.bulwark"), 0);
	CHECK_INT(name_listed(b, "01.2.3.4.dnsbl.bulwark"), 0);
	CHECK_INT(name_listed(b, "256.2.3.4.dnsbl.bulwark"), 0);
	bw_dnsbl_prefetch(b, junk, sizeof(junk), 0);
	bw_dnsbl_prefetch(b, junk, sizeof(junk), 1);

	/* domains: the name, its subdomains, any case; not its parents */
	CHECK_INT(name_listed(b, "evil.example.dbl.bulwark"), 1);
	CHECK_INT(name_listed(b, "www.EVIL.example.dbl.bulwark"), 1);
	CHECK_INT(name_listed(b, "example.dbl.bulwark"), 0);
	CHECK_INT(name_listed(b, "a.b.c.d.bad.test.dbl.bulwark"), 1);
	CHECK_INT(name_listed(b, "x.y.A.B.C.D.bad.test.dbl.bulwark"), 1);
	CHECK_INT(name_listed(b, "b.c.d.bad.test.dbl.bulwark"), 0);
	CHECK_INT(name_listed(b, "bad.test.dbl.bulwark"), 0);
	CHECK_INT(name_listed(b, "mixed.case.org.dbl.bulwark"), 1);
	CHECK_INT(name_listed(b, "amber.example.dbl.bulwark"), 0); /* TLP:AMBER */
	CHECK_INT(name_listed(b, "other.example.dbl.bulwark"), 0);
	/* the apex: SOA in the authority, no answer */
	CHECK_INT(ask(b, "dbl.bulwark", &an), BW_DNS_NOERROR);
	CHECK_INT(an, 0);
out:
	bw_dnsbl_unref(b);
	bw_store_close(st);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bw-dnsbl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	TAP_RUN(test_lookups);
	remove_store_files(path);
	rmdir(dir);
	return tap_done();
}
