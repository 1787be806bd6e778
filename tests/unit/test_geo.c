/*
 * test_geo.c - the ASN range table on small extracts of the npm CSV
 * (tests/data/geo/): exact answers at range edges, quoted names, both
 * families, unsorted input, and every kind of bad line with its file and
 * line number.  The country (MMDB) path and the full ASN files are tested
 * only when scripts/install-deps has put the npm data in var/geo/ (env
 * BW_GEO_DIR); otherwise those tests are reported as TAP skips, since no
 * MMDB file is committed to the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intel/geo.h"
#include "tap.h"

static const char *
data_path(const char *name)
{
	static char buf[1024];
	const char *d = getenv("BW_TEST_DATA");
	snprintf(buf, sizeof(buf), "%s/geo/%s", d ? d : "tests/data", name);
	return buf;
}

static void
skip(const char *why)
{
	tap_state.n++;
	printf("ok %d - %s # SKIP %s\n", tap_state.n, tap_state.test, why);
}

/* ASN and organisation of addr, or 0 and "" when not found. */
static uint32_t
asn_of(const struct bw_geo *g, const char *addr, const char **org)
{
	struct bw_geo_asn a;
	struct bw_err err;

	*org = "";
	if (bw_geo_asn(g, addr, &a, &err) != BW_OK)
		return 0;
	*org = a.org;
	return a.asn;
}

static void
test_asn_fixture(void)
{
	struct bw_geo *g = NULL;
	struct bw_err err;
	struct bw_geo_stats s;
	struct bw_geo_asn a;
	const char *org;

	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK(!bw_geo_has_asn(g));
	CHECK_INT(bw_geo_asn(g, "1.0.0.1", &a, &err), BW_ENOTFOUND);
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("asn-ipv4.csv"), &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("asn-ipv6.csv"), &err), BW_OK);
	CHECK(bw_geo_has_asn(g));
	bw_geo_stats(g, &s);
	CHECK_INT(s.ranges4, 13);
	CHECK_INT(s.ranges6, 5);
	/* Cloudflare, Gtelecom, ARTERIA, SPUTNIK, Google, Quad9, Telia, Elisa,
	 * HTM, Swedbank, Hurricane Electric, DNS-OARC */
	CHECK_INT(s.orgs, 12);
	CHECK(s.bytes > 13 * 16 + 5 * 40);

	/* edges of 1.0.0.0-1.0.0.255 and the gap before 1.0.4.0 */
	CHECK_INT(asn_of(g, "1.0.0.0", &org), 13335);
	CHECK_STR(org, "Cloudflare, Inc.");
	CHECK_INT(asn_of(g, "1.0.0.255", &org), 13335);
	CHECK_INT(asn_of(g, "1.0.1.0", &org), 0);
	CHECK_INT(asn_of(g, "1.0.3.255", &org), 0);
	CHECK_INT(asn_of(g, "1.0.4.0", &org), 38803);
	CHECK_STR(org, "Gtelecom Pty Ltd");
	CHECK_INT(asn_of(g, "1.0.7.255", &org), 38803);
	CHECK_INT(asn_of(g, "0.0.0.0", &org), 0);
	CHECK_INT(asn_of(g, "255.255.255.255", &org), 0);
	CHECK_INT(asn_of(g, "2.26.210.7", &org), 201907);
	CHECK_STR(org, "LLC \"SPUTNIK\"");
	CHECK_INT(asn_of(g, "8.8.8.8", &org), 15169);
	CHECK_STR(org, "Google LLC");
	CHECK_INT(asn_of(g, "46.131.12.1", &org), 3249);
	CHECK_STR(org, "Telia Eesti AS");
	CHECK_INT(asn_of(g, "193.40.194.255", &org), 3221);
	CHECK_STR(org, "Haridus- ja Teadusministeerium");
	CHECK_INT(asn_of(g, "193.40.195.0", &org), 3332);
	CHECK_INT(asn_of(g, "193.40.196.0", &org), 0);

	/* IPv6 */
	CHECK_INT(asn_of(g, "2001::", &org), 6939);
	CHECK_INT(asn_of(g, "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", &org), 6939);
	CHECK_INT(asn_of(g, "2001:1::", &org), 0);
	CHECK_INT(asn_of(g, "2001:7d0:1:2::3", &org), 3249);
	CHECK_STR(org, "Telia Eesti AS");
	CHECK_INT(asn_of(g, "2001:4860:4801::1", &org), 15169);
	CHECK_INT(asn_of(g, "2001:4860:4805::", &org), 0);
	CHECK_INT(asn_of(g, "::1", &org), 0);
	CHECK_INT(asn_of(g, "2a00:16e0:ffff:ffff:ffff:ffff:ffff:ffff", &org), 3249);

	CHECK_INT(bw_geo_asn(g, "example.com", &a, &err), BW_EINVAL);
	CHECK_INT(bw_geo_asn(g, "1.2.3.4/24", &a, &err), BW_EINVAL);
	CHECK_INT(bw_geo_asn(g, "", &a, &err), BW_EINVAL);

	CHECK_INT(s.overlaps, 0);
	/* loading the same ranges again: each overlaps its twin, same answers */
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("asn-ipv4.csv"), &err), BW_OK);
	bw_geo_stats(g, &s);
	CHECK_INT(s.ranges4, 13);
	CHECK_INT(s.overlaps, 13);
	CHECK_INT(asn_of(g, "1.0.0.255", &org), 13335);
	CHECK_INT(asn_of(g, "1.0.1.0", &org), 0);
	bw_geo_free(g);
	bw_geo_free(NULL);
}

static void
test_asn_unsorted(void)
{
	struct bw_geo *g = NULL;
	struct bw_err err;
	struct bw_geo_stats s;
	const char *org;

	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("unsorted.csv"), &err), BW_OK);
	bw_geo_stats(g, &s);
	CHECK_INT(s.ranges4, 3);
	CHECK_INT(s.ranges6, 1);
	CHECK_INT(asn_of(g, "8.0.0.0", &org), 64502);
	CHECK_STR(org, "Eight \"Q\"");
	CHECK_INT(asn_of(g, "8.0.0.1", &org), 0);
	CHECK_INT(asn_of(g, "9.128.0.0", &org), 64500);
	CHECK_STR(org, "Example Nine");
	CHECK_INT(asn_of(g, "10.1.2.3", &org), 64512);
	CHECK_STR(org, "");
	CHECK_INT(asn_of(g, "11.0.0.0", &org), 0);
	CHECK_INT(asn_of(g, "2001:db8::ff", &org), 64501);
	CHECK_STR(org, "Doc, v6");
	CHECK_INT(asn_of(g, "2001:db8::1:0", &org), 0);
	bw_geo_free(g);
}

static void
test_asn_overlaps(void)
{
	struct bw_geo *g = NULL;
	struct bw_err err;
	struct bw_geo_stats s;
	const char *org;

	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	/* 1.0.0.0-1.0.0.255 A, then 1.0.0.128-1.0.1.255 B: B wins from .128 */
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("overlap.csv"), &err), BW_OK);
	bw_geo_stats(g, &s);
	CHECK_INT(s.ranges4, 2);
	CHECK_INT(s.overlaps, 1);
	CHECK_INT(asn_of(g, "1.0.0.127", &org), 13335);
	CHECK_INT(asn_of(g, "1.0.0.128", &org), 64500);
	CHECK_INT(asn_of(g, "1.0.1.255", &org), 64500);
	CHECK_INT(asn_of(g, "1.0.2.0", &org), 0);
	bw_geo_free(g);

	/* nested ranges split the outer one; the last address of each family */
	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_csv(g, data_path("nested.csv"), &err), BW_OK);
	bw_geo_stats(g, &s);
	CHECK_INT(s.overlaps, 6);
	/* pieces: 10/8 = 1, 10.1/16 = 2, 10.1.2/24 = 3, 2, 10.2-10.3.0.0 = 4,
	 * 1; 255.255.255.0/24 = 5 and .255 = 6 */
	CHECK_INT(s.ranges4, 8);
	CHECK(bw_geo_check(g));
	CHECK_INT(asn_of(g, "10.0.0.0", &org), 1);
	CHECK_STR(org, "Outer");
	CHECK_INT(asn_of(g, "10.0.255.255", &org), 1);
	CHECK_INT(asn_of(g, "10.1.0.0", &org), 2);
	CHECK_INT(asn_of(g, "10.1.2.0", &org), 3);
	CHECK_INT(asn_of(g, "10.1.2.255", &org), 3);
	CHECK_INT(asn_of(g, "10.1.3.0", &org), 2);
	CHECK_INT(asn_of(g, "10.1.255.255", &org), 2);
	CHECK_INT(asn_of(g, "10.2.0.0", &org), 4);
	CHECK_INT(asn_of(g, "10.3.0.0", &org), 4);
	CHECK_INT(asn_of(g, "10.3.0.1", &org), 1);
	CHECK_INT(asn_of(g, "10.255.255.255", &org), 1);
	CHECK_INT(asn_of(g, "11.0.0.0", &org), 0);
	CHECK_INT(asn_of(g, "255.255.255.0", &org), 5);
	CHECK_INT(asn_of(g, "255.255.255.254", &org), 5);
	CHECK_INT(asn_of(g, "255.255.255.255", &org), 6);
	/* 2001:db8::/32 = 7 around 2001:db8:1::/48 = 8; ffff::/16 = 9, its
	 * last 16 addresses = 10 */
	CHECK_INT(s.ranges6, 5);
	CHECK_INT(asn_of(g, "2001:db8::1", &org), 7);
	CHECK_INT(asn_of(g, "2001:db8:0:ffff:ffff:ffff:ffff:ffff", &org), 7);
	CHECK_INT(asn_of(g, "2001:db8:1::", &org), 8);
	CHECK_INT(asn_of(g, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", &org), 8);
	CHECK_INT(asn_of(g, "2001:db8:2::", &org), 7);
	CHECK_INT(asn_of(g, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &org), 7);
	CHECK_INT(asn_of(g, "2001:db9::", &org), 0);
	CHECK_INT(asn_of(g, "ffff::", &org), 9);
	CHECK_INT(asn_of(g, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef", &org), 9);
	CHECK_INT(asn_of(g, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0", &org), 10);
	CHECK_INT(asn_of(g, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &org), 10);
	bw_geo_free(g);
}

static void
test_asn_mem(void)
{
	static const char text[] =
		"5.0.0.0,5.0.0.255,64500,\"Mem, Inc.\"\n"
		"4.0.0.0,4.0.0.9,64501,Four\r\n";
	struct bw_geo *g = NULL;
	struct bw_err err;
	const char *org;

	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_mem(g, text, sizeof(text) - 1, "mem", &err), BW_OK);
	CHECK(bw_geo_check(g));
	CHECK_INT(asn_of(g, "5.0.0.200", &org), 64500);
	CHECK_STR(org, "Mem, Inc.");
	CHECK_INT(asn_of(g, "4.0.0.9", &org), 64501);
	CHECK_STR(org, "Four");
	CHECK_INT(asn_of(g, "4.0.0.10", &org), 0);
	CHECK_INT(bw_geo_load_asn_mem(g, "x\n", 2, "mem", &err), BW_EFORMAT);
	CHECK_STR(err.msg, "mem:1: expected start_ip,end_ip,asn,as_org "
			   "(as_org at most 256 bytes)");
	CHECK(!bw_geo_has_asn(g));
	CHECK(bw_geo_check(g));
	bw_geo_free(g);
}

static void
bad(const char *file, int code, const char *want)
{
	struct bw_geo *g = NULL;
	struct bw_err err;
	char where[256];

	if (bw_geo_new(&g, &err) != BW_OK)
		return;
	CHECK_INT(bw_geo_load_asn_csv(g, data_path(file), &err), code);
	snprintf(where, sizeof(where), "%s%s", data_path(file), want);
	if (!CHECK(strstr(err.msg, where) != NULL))
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n", err.msg, where);
	CHECK(!bw_geo_has_asn(g));
	bw_geo_free(g);
}

static void
test_asn_errors(void)
{
	struct bw_geo *g = NULL;
	struct bw_err err;

	bad("bad-fields.csv", BW_EFORMAT, ":2: expected start_ip,end_ip,asn,as_org");
	bad("bad-addr.csv", BW_EFORMAT, ":3: not an IP address: 1.0.8.999");
	bad("bad-order.csv", BW_EFORMAT, ":1: start above end");
	bad("bad-asn.csv", BW_EFORMAT, ":1: bad ASN");
	bad("big-asn.csv", BW_EFORMAT, ":1: ASN above 2^32-1");
	bad("bad-family.csv", BW_EFORMAT, ":1: start and end of different families");
	bad("bad-quote.csv", BW_EFORMAT, ":1: expected start_ip,end_ip,asn,as_org");
	bad("no-such-file.csv", BW_EIO, "");

	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK_INT(bw_geo_open_mmdb(g, data_path("no-such.mmdb"), &err), BW_EIO);
	CHECK_INT(bw_geo_open_mmdb(g, data_path("asn-ipv4.csv"), &err), BW_EFORMAT);
	CHECK(!bw_geo_has_country(g));
	{
		char cc[3];
		CHECK_INT(bw_geo_country(g, "1.1.1.1", cc, &err), BW_ENOTFOUND);
		CHECK_INT(bw_geo_country(g, "nope", cc, &err), BW_EINVAL);
	}
	bw_geo_free(g);
}

static const char *
geo_file(const char *name)
{
	static char buf[1024];
	const char *d = getenv("BW_GEO_DIR");

	if (d == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%s", d, name);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static const char *
country(const struct bw_geo *g, const char *addr, char cc[3])
{
	struct bw_err err;
	return bw_geo_country(g, addr, cc, &err) == BW_OK ? cc : "--";
}

static void
test_mmdb_installed(void)
{
	const char *path = geo_file("geo-whois-asn-country.mmdb");
	struct bw_geo *g = NULL;
	struct bw_err err;
	char cc[3];

	if (path == NULL) {
		skip("var/geo/geo-whois-asn-country.mmdb not installed "
		     "(scripts/install-deps fetches it)");
		return;
	}
	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	CHECK_INT(bw_geo_open_mmdb(g, path, &err), BW_OK);
	CHECK(bw_geo_has_country(g));
	/* RIR delegations: EENet (RIPE, EE), Telia Eesti, Google (ARIN, US),
	 * Cloudflare's APNIC research range (AU) */
	CHECK_STR(country(g, "193.40.0.1", cc), "EE");
	CHECK_STR(country(g, "2001:7d0::1", cc), "EE");
	CHECK_STR(country(g, "8.8.8.8", cc), "US");
	CHECK_STR(country(g, "1.1.1.1", cc), "AU");
	CHECK_STR(country(g, "127.0.0.1", cc), "--");
	CHECK_STR(country(g, "10.1.2.3", cc), "--");
	bw_geo_free(g);
}

static void
test_asn_installed(void)
{
	const char *p4 = geo_file("asn-ipv4.csv");
	struct bw_geo *g = NULL;
	struct bw_err err;
	struct bw_geo_stats s;
	struct timespec t0, t1;
	char p6[1024];
	const char *org;
	int rc;

	if (p4 == NULL) {
		skip("var/geo/asn-ipv4.csv not installed (scripts/install-deps "
		     "fetches it)");
		return;
	}
	snprintf(p6, sizeof(p6), "%s", p4);
	memcpy(strstr(p6, "ipv4"), "ipv6", 4);
	CHECK_INT(bw_geo_new(&g, &err), BW_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = bw_geo_load_asn_csv(g, p4, &err);
	if (rc == BW_OK)
		rc = bw_geo_load_asn_csv(g, p6, &err);
	CHECK_INT(rc, BW_OK);
	if (rc)
		printf("#   %s\n", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bw_geo_stats(g, &s);
	/* line counts of asn-ipv4.csv and asn-ipv6.csv in 2.3.2026061719 */
	CHECK_INT(s.ranges4, 411961);
	CHECK_INT(s.ranges6, 103197);
	/* 214.95.0.0-215.0.255.255 AS749 and 215.0.0.0-215.1.3.255 AS721 */
	CHECK_INT(s.overlaps, 1);
	CHECK(bw_geo_check(g));
	CHECK_INT(asn_of(g, "214.95.0.0", &org), 749);
	CHECK_INT(asn_of(g, "214.255.255.255", &org), 749);
	CHECK_INT(asn_of(g, "215.0.0.0", &org), 721);
	printf("# loaded %zu + %zu ranges, %zu organisations in %.0f ms, "
	       "%.1f MB\n", s.ranges4, s.ranges6, s.orgs,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       (double)s.bytes / 1e6);
	CHECK_INT(asn_of(g, "1.0.0.1", &org), 13335);
	CHECK_STR(org, "Cloudflare, Inc.");
	CHECK_INT(asn_of(g, "223.255.254.255", &org), 55415);
	CHECK_INT(asn_of(g, "2c0f:fff0::1", &org), 37125);
	CHECK_INT(asn_of(g, "193.40.0.1", &org), 3221);
	{
		/* look-up cost, text parsing included: 200,000 spread addresses */
		struct bw_geo_asn a;
		char addr[32];
		uint32_t x = 12345;
		long hits = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 200000; i++) {
			x = x * 1103515245u + 12345u;
			snprintf(addr, sizeof(addr), "%u.%u.%u.%u", x >> 24,
				 (x >> 16) & 255, (x >> 8) & 255, x & 255);
			hits += bw_geo_asn(g, addr, &a, NULL) == BW_OK;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# 200000 IPv4 look-ups (%ld in a range) in %.1f ms\n", hits,
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		CHECK(hits > 0);
	}
	bw_geo_free(g);
}

int
main(void)
{
	TAP_RUN(test_asn_fixture);
	TAP_RUN(test_asn_unsorted);
	TAP_RUN(test_asn_overlaps);
	TAP_RUN(test_asn_mem);
	TAP_RUN(test_asn_errors);
	TAP_RUN(test_mmdb_installed);
	TAP_RUN(test_asn_installed);
	return tap_done();
}
