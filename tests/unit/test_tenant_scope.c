/*
 * test_tenant_scope.c - a tenant's national scope: parsing of KIND:VALUE,
 * the default ccTLD (GB's is uk) and its removal, adding and removing
 * entries in the store, the entry cap, and bw_tenant_scope_match with an
 * exact reason for each case: domain, brand (own domain and impersonation),
 * ccTLD, CIDR, ASN (the ASN fixture of tests/data/geo) and the country of
 * an address (only with the installed MMDB; a TAP skip otherwise).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "intel/geo.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

static const char *
data_path(const char *name)
{
	static char buf[1024];
	const char *d = getenv("BW_TEST_DATA");
	snprintf(buf, sizeof(buf), "%s/geo/%s", d ? d : "tests/data", name);
	return buf;
}

/* "kind:detail" of the match, "-" when not national, "error" on error. */
static const char *
why(const struct bw_tenant_scope *s, enum bw_ioc_type type, const char *value,
    const struct bw_geo *geo)
{
	static char buf[300];
	struct bw_scope_match m;
	struct bw_err err;

	if (bw_tenant_scope_match(s, type, value, geo, &m, &err) != BW_OK)
		return "error";
	if (!m.national)
		return "-";
	snprintf(buf, sizeof(buf), "%s:%s", bw_scope_kind_name(m.why), m.detail);
	return buf;
}

static const char *
parsed(const char *spec)
{
	static char buf[300];
	struct bw_scope_entry e;
	struct bw_err err;

	if (bw_scope_entry_parse(spec, &e, &err) != BW_OK)
		return "error";
	snprintf(buf, sizeof(buf), "%s:%s", bw_scope_kind_name(e.kind), e.value);
	return buf;
}

static void
test_parse(void)
{
	char tld[3];

	CHECK_STR(parsed("cctld:EE"), "cctld:ee");
	CHECK_STR(parsed("cctld:.uk"), "cctld:uk");
	CHECK_STR(parsed("cctld:xn--e1a4c"), "cctld:xn--e1a4c");
	CHECK_STR(parsed("cctld:e"), "error");
	CHECK_STR(parsed("cctld:co.uk"), "error");
	CHECK_STR(parsed("cidr:192.0.2.77/24"), "cidr:192.0.2.0/24");
	CHECK_STR(parsed("cidr:192.0.2.1"), "cidr:192.0.2.1");
	CHECK_STR(parsed("cidr:2001:DB8::/32"), "cidr:2001:db8::/32");
	CHECK_STR(parsed("cidr:300.1.1.1/8"), "error");
	CHECK_STR(parsed("cidr:example.com"), "error");
	CHECK_STR(parsed("asn:64500"), "asn:64500");
	CHECK_STR(parsed("asn:AS3249"), "asn:3249");
	CHECK_STR(parsed("asn:4294967295"), "asn:4294967295");
	CHECK_STR(parsed("asn:4294967296"), "error");
	CHECK_STR(parsed("asn:0"), "error");
	CHECK_STR(parsed("asn:12a"), "error");
	CHECK_STR(parsed("domain:GOV.EE."), "domain:gov.ee");
	CHECK_STR(parsed("domain:*.riik.ee"), "domain:riik.ee");
	CHECK_STR(parsed("domain:192.0.2.1"), "error");
	CHECK_STR(parsed("brand:err.ee"), "brand:err.ee");
	CHECK_STR(parsed("brand:"), "error");
	CHECK_STR(parsed("country:EE"), "error");
	CHECK_STR(parsed("gov.ee"), "error");
	CHECK_STR(parsed(""), "error");

	bw_tenant_cctld("GB", tld);
	CHECK_STR(tld, "uk");
	bw_tenant_cctld("ee", tld);
	CHECK_STR(tld, "ee");
	bw_tenant_cctld("VA", tld);
	CHECK_STR(tld, "va");
}

static void
test_store(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	struct bw_scope_entry *e = NULL;
	size_t n = 0;

	CHECK_INT(bw_store_open(tmp_path("s.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "GB", "United Kingdom", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);

	/* a new tenant: only its default ccTLD */
	CHECK_INT(bw_tenant_scope_list(st, "gb", &e, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	CHECK_INT(e[0].kind, BW_SCOPE_CCTLD);
	CHECK_STR(e[0].value, "uk");
	CHECK_INT(e[0].is_default, 1);
	CHECK_INT(e[0].included, 1);
	bw_free(e);

	CHECK_INT(bw_tenant_scope_add(st, "GB", "domain:gov.uk", 10, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "GB", "domain:GOV.UK", 11, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "GB", "asn:AS64500", 12, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "GB", "cctld:gb", 13, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "GB", "cctld:uk", 14, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM tenant_scope"), 3);
	CHECK_INT(bw_tenant_scope_add(st, "FR", "cctld:fr", 1, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_scope_add(st, "GB", "asn:x", 1, &err), BW_EINVAL);

	/* removing the default ccTLD stores an exclusion */
	CHECK_INT(bw_tenant_scope_remove(st, "GB", "cctld:uk", 20, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_remove(st, "GB", "cctld:uk", 21, &err), BW_ENOTFOUND);
	CHECK_STR(err.msg, "cctld:uk is not in the scope of GB");
	CHECK_INT(bw_tenant_scope_list(st, "GB", &e, &n, &err), BW_OK);
	/* default first, then by kind and value */
	CHECK_INT(n, 4);
	CHECK_STR(e[0].value, "uk");
	CHECK_INT(e[0].included, 0);
	CHECK_INT(e[0].added, 20);
	CHECK_INT(e[1].kind, BW_SCOPE_ASN);
	CHECK_STR(e[1].value, "64500");
	CHECK_INT(e[1].added, 12);
	CHECK_INT(e[2].kind, BW_SCOPE_CCTLD);
	CHECK_STR(e[2].value, "gb");
	CHECK_INT(e[2].is_default, 0);
	CHECK_INT(e[3].kind, BW_SCOPE_DOMAIN);
	CHECK_STR(e[3].value, "gov.uk");
	CHECK_INT(e[3].added, 10);
	bw_free(e);

	/* adding it back drops the exclusion */
	CHECK_INT(bw_tenant_scope_add(st, "GB", "cctld:uk", 30, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM tenant_scope WHERE included = 0"), 0);
	CHECK_INT(bw_tenant_scope_remove(st, "GB", "domain:gov.uk", 31, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_remove(st, "GB", "domain:gov.uk", 32, &err),
		  BW_ENOTFOUND);
	CHECK_INT(bw_tenant_scope_remove(st, "GB", "cctld:ee", 33, &err), BW_ENOTFOUND);
	CHECK_INT(count(st, "SELECT count(*) FROM tenant_scope"), 2);
	/* other tenants are untouched */
	CHECK_INT(bw_tenant_scope_list(st, "EE", &e, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	CHECK_STR(e[0].value, "ee");
	bw_free(e);

	/* the cap: fill EE up to BW_TENANT_SCOPE_MAX rows directly */
	CHECK(sqlite3_exec(bw_store_db(st),
			   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
			   " FROM n WHERE i < 10000) INSERT INTO tenant_scope"
			   " SELECT (SELECT id FROM tenant WHERE country = 'EE'),"
			   " 'asn', i, 1, 1 FROM n", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_INT(bw_tenant_scope_add(st, "EE", "asn:20000", 40, &err), BW_ELIMIT);
	CHECK_INT(bw_tenant_scope_add(st, "EE", "asn:5000", 40, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_remove(st, "EE", "asn:5000", 41, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "EE", "asn:20000", 42, &err), BW_OK);
	bw_store_close(st);
}

static void
test_match(void)
{
	static const char *const specs[] = {
		"cidr:192.0.2.0/24", "cidr:2001:db8::/32", "asn:3249",
		"domain:gov.ee",     "domain:eesti.example", "brand:err.ee",
		"brand:valitsus.ee",
	};
	struct bw_store *st = NULL;
	struct bw_tenant_scope *s = NULL, *gb = NULL, *fr = NULL;
	struct bw_geo *geo = NULL;
	struct bw_err err;
	struct bw_scope_match m;

	CHECK_INT(bw_store_open(tmp_path("m.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "GB", "United Kingdom", 1, NULL, &err), BW_OK);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		CHECK_INT(bw_tenant_scope_add(st, "EE", specs[i], 5, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_load(st, "ee", &s, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_load(st, "GB", &gb, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_load(st, "FR", &fr, &err), BW_ENOTFOUND);
	CHECK(fr == NULL);

	/* domains: domain entries, then brands, then the ccTLD */
	CHECK_STR(why(s, BW_IOC_DOMAIN, "gov.ee", NULL), "domain:gov.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "www.gov.ee", NULL), "domain:gov.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "xgov.ee", NULL), "cctld:ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "example.ee", NULL), "cctld:ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "a.eesti.example", NULL),
		  "domain:eesti.example");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "news.err.ee", NULL), "brand:err.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "err-ee.example.com", NULL), "brand:err.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "err.ee.login.example", NULL),
		  "brand:err.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "secure-err-ee.example", NULL),
		  "brand:err.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "valitsus-login.example", NULL),
		  "brand:valitsus.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "login.valitsus.example", NULL),
		  "brand:valitsus.ee");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "error.example", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "err.example", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "xerr-ee.example", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "valitsusx.example", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "ee.example.com", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "example.com", NULL), "-");

	/* URLs and emails by their host */
	CHECK_STR(why(s, BW_IOC_URL, "https://www.gov.ee/path?q=1", NULL),
		  "domain:gov.ee");
	CHECK_STR(why(s, BW_IOC_URL, "http://user@evil.ee:8080/x", NULL), "cctld:ee");
	CHECK_STR(why(s, BW_IOC_URL, "http://evil.example/err.ee", NULL), "-");
	CHECK_STR(why(s, BW_IOC_URL, "http://192.0.2.5/x", NULL),
		  "cidr:192.0.2.0/24");
	CHECK_STR(why(s, BW_IOC_URL, "http://[2001:db8::1]:8443/", NULL),
		  "cidr:2001:db8::/32");
	CHECK_STR(why(s, BW_IOC_URL, "not a url", NULL), "error");
	CHECK_STR(why(s, BW_IOC_EMAIL, "phish@err.ee", NULL), "brand:err.ee");
	CHECK_STR(why(s, BW_IOC_EMAIL, "a@b.ee", NULL), "cctld:ee");
	CHECK_STR(why(s, BW_IOC_EMAIL, "a@b.example", NULL), "-");

	/* addresses and prefixes */
	CHECK_STR(why(s, BW_IOC_IPV4, "192.0.2.200", NULL), "cidr:192.0.2.0/24");
	CHECK_STR(why(s, BW_IOC_IPV4, "192.0.3.1", NULL), "-");
	CHECK_STR(why(s, BW_IOC_CIDR, "192.0.2.128/25", NULL), "cidr:192.0.2.0/24");
	CHECK_STR(why(s, BW_IOC_CIDR, "192.0.0.0/16", NULL), "-");
	CHECK_STR(why(s, BW_IOC_IPV6, "2001:db8:ffff::1", NULL), "cidr:2001:db8::/32");
	CHECK_STR(why(s, BW_IOC_IPV6, "2001:db9::1", NULL), "-");
	CHECK_STR(why(s, BW_IOC_IPV4, "nope", NULL), "error");
	CHECK_STR(why(s, BW_IOC_SHA256,
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		      NULL), "-");
	/* without geo, an address of AS3249 is not national */
	CHECK_STR(why(s, BW_IOC_IPV4, "46.131.12.1", NULL), "-");

	/* with the ASN table of the fixture */
	CHECK_INT(bw_geo_new(&geo, &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_csv(geo, data_path("asn-ipv4.csv"), &err), BW_OK);
	CHECK_INT(bw_geo_load_asn_csv(geo, data_path("asn-ipv6.csv"), &err), BW_OK);
	CHECK_STR(why(s, BW_IOC_IPV4, "46.131.12.1", geo), "asn:3249");
	CHECK_STR(why(s, BW_IOC_CIDR, "37.157.64.0/20", geo), "asn:3249");
	CHECK_STR(why(s, BW_IOC_IPV6, "2a00:16e0::5", geo), "asn:3249");
	CHECK_STR(why(s, BW_IOC_URL, "http://62.65.32.9/login", geo), "asn:3249");
	/* Elisa (AS2586) is not configured, and there is no country database */
	CHECK_STR(why(s, BW_IOC_IPV4, "62.65.200.1", geo), "-");
	CHECK_STR(why(s, BW_IOC_IPV4, "192.0.2.1", geo), "cidr:192.0.2.0/24");

	/* GB: uk by default, not gb; and no EE entries */
	CHECK_STR(why(gb, BW_IOC_DOMAIN, "example.co.uk", NULL), "cctld:uk");
	CHECK_STR(why(gb, BW_IOC_DOMAIN, "example.gb", NULL), "-");
	CHECK_STR(why(gb, BW_IOC_DOMAIN, "www.gov.ee", NULL), "-");
	CHECK_STR(why(gb, BW_IOC_IPV4, "46.131.12.1", geo), "-");
	CHECK(bw_tenant_scope_match(gb, BW_IOC_DOMAIN, "example.com", NULL, &m,
				    &err) == BW_OK && m.national == 0 &&
	      m.why == BW_SCOPE_NONE && m.detail[0] == '\0');

	/* without the default ccTLD */
	bw_tenant_scope_free(s);
	s = NULL;
	CHECK_INT(bw_tenant_scope_remove(st, "EE", "cctld:ee", 6, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_load(st, "EE", &s, &err), BW_OK);
	CHECK_STR(why(s, BW_IOC_DOMAIN, "example.ee", NULL), "-");
	CHECK_STR(why(s, BW_IOC_DOMAIN, "www.gov.ee", NULL), "domain:gov.ee");

	bw_tenant_scope_free(s);
	bw_tenant_scope_free(gb);
	bw_tenant_scope_free(NULL);
	bw_geo_free(geo);
	bw_store_close(st);
}

static void
test_country(void)
{
	const char *d = getenv("BW_GEO_DIR");
	char path[1024];
	struct bw_store *st = NULL;
	struct bw_tenant_scope *s = NULL;
	struct bw_geo *geo = NULL;
	struct bw_err err;

	snprintf(path, sizeof(path), "%s/geo-whois-asn-country.mmdb", d ? d : ".");
	if (d == NULL || access(path, R_OK) != 0) {
		tap_state.n++;
		printf("ok %d - %s # SKIP var/geo/geo-whois-asn-country.mmdb not "
		       "installed (scripts/install-deps fetches it)\n",
		       tap_state.n, tap_state.test);
		return;
	}
	CHECK_INT(bw_store_open(tmp_path("c.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_load(st, "EE", &s, &err), BW_OK);
	CHECK_INT(bw_geo_new(&geo, &err), BW_OK);
	CHECK_INT(bw_geo_open_mmdb(geo, path, &err), BW_OK);
	CHECK_STR(why(s, BW_IOC_IPV4, "193.40.0.1", geo), "country:EE");
	CHECK_STR(why(s, BW_IOC_IPV6, "2001:7d0::1", geo), "country:EE");
	CHECK_STR(why(s, BW_IOC_URL, "http://193.40.0.1/", geo), "country:EE");
	CHECK_STR(why(s, BW_IOC_IPV4, "8.8.8.8", geo), "-");
	CHECK_STR(why(s, BW_IOC_IPV4, "10.0.0.1", geo), "-");
	bw_geo_free(geo);
	bw_tenant_scope_free(s);
	bw_store_close(st);
}

int
main(void)
{
	if (tmp_dir_make("scope"))
		return 1;
	TAP_RUN(test_parse);
	TAP_RUN(test_store);
	TAP_RUN(test_match);
	TAP_RUN(test_country);
	tmp_dir_remove();
	return tap_done();
}
