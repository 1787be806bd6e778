/*
 * test_ioc.c - the indicator model: every canonical form, every rejection
 * reason, defanging and detection.
 */
#include <string.h>

#include "core/ioc.h"
#include "core/psl.h"
#include "tap.h"

/* Parses text with hint and checks type and canonical value. */
static void
expect_ok(const char *text, enum bw_ioc_type hint, enum bw_ioc_type type,
	  const char *value, unsigned notes)
{
	struct bw_ioc ioc;
	struct bw_err err = {0, ""};
	int rc = bw_ioc_parse(text, strlen(text), hint, &ioc, &err);

	if (!tap_check(rc == BW_OK, text, __FILE__, __LINE__)) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	CHECK_STR(bw_ioc_type_name(ioc.type), bw_ioc_type_name(type));
	CHECK_STR(ioc.value, value);
	CHECK_INT(ioc.len, strlen(value));
	if (notes)
		CHECK((ioc.notes & notes) == notes);
}

/* Expects a rejection whose reason contains want. */
static void
expect_bad(const char *text, enum bw_ioc_type hint, const char *want)
{
	struct bw_ioc ioc;
	struct bw_err err = {0, ""};
	int rc = bw_ioc_parse(text, strlen(text), hint, &ioc, &err);

	if (!tap_check(rc == BW_EINVAL, text, __FILE__, __LINE__)) {
		printf("#   accepted as %s \"%s\"\n", bw_ioc_type_name(ioc.type), ioc.value);
		return;
	}
	if (!tap_check(strstr(err.msg, want) != NULL, want, __FILE__, __LINE__))
		printf("#   reason was: %s\n", err.msg);
}

static void
test_domains(void)
{
	expect_ok("Example.COM", BW_IOC_ANY, BW_IOC_DOMAIN, "example.com", 0);
	expect_ok("example.com.", BW_IOC_ANY, BW_IOC_DOMAIN, "example.com", 0);
	expect_ok("  a.b.example.com \t", BW_IOC_ANY, BW_IOC_DOMAIN, "a.b.example.com", 0);
	expect_ok("evil[.]example(.)com", BW_IOC_ANY, BW_IOC_DOMAIN, "evil.example.com",
		  BW_IOC_NOTE_DEFANGED);
	expect_ok("evil[dot]com", BW_IOC_ANY, BW_IOC_DOMAIN, "evil.com", BW_IOC_NOTE_DEFANGED);
	expect_ok("*.evil.com", BW_IOC_ANY, BW_IOC_DOMAIN, "evil.com", BW_IOC_NOTE_WILDCARD);
	expect_ok(".at.lv", BW_IOC_DOMAIN, BW_IOC_DOMAIN, "at.lv", BW_IOC_NOTE_WILDCARD);
	expect_ok("ali_9987654321.hopto.org", BW_IOC_ANY, BW_IOC_DOMAIN,
		  "ali_9987654321.hopto.org", 0);
	expect_ok("0022a601.pphost.net", BW_IOC_ANY, BW_IOC_DOMAIN, "0022a601.pphost.net", 0);
	/* IDNA2008 with the UTS#46 mapping: case folded, then Punycode */
	expect_ok("BÜCHER.de", BW_IOC_ANY, BW_IOC_DOMAIN, "xn--bcher-kva.de", BW_IOC_NOTE_IDN);
	expect_ok("пример.рф", BW_IOC_ANY, BW_IOC_DOMAIN, "xn--e1afmkfd.xn--p1ai",
		  BW_IOC_NOTE_IDN);
	expect_ok("xn--bcher-kva.de", BW_IOC_ANY, BW_IOC_DOMAIN, "xn--bcher-kva.de", 0);
	/* a 63-octet label is fine, 64 is not */
	expect_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
		  BW_IOC_ANY, BW_IOC_DOMAIN,
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", 0);
	expect_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
		   BW_IOC_ANY, "label longer than 63 octets");
	{
		char name[300];
		memset(name, 0, sizeof(name));
		for (int i = 0; i < 5; i++)
			strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
		strcat(name, "com");
		expect_bad(name, BW_IOC_ANY, "name longer than 253 octets");
	}
	expect_bad("a..com", BW_IOC_ANY, "empty label");
	expect_bad("localhost", BW_IOC_ANY, "at least two labels");
	expect_bad("ex ample.com", BW_IOC_DOMAIN, "white space");
	expect_bad("exa$mple.com", BW_IOC_ANY, "character '$' not allowed");
	expect_bad("xn--zz.com", BW_IOC_ANY, "not a valid internationalised name");
	expect_bad("1.2.3.4.5", BW_IOC_ANY, "not a valid IPv4 address");
	expect_bad("", BW_IOC_ANY, "empty value");
	expect_bad("a.com\x01", BW_IOC_ANY, "control character");
}

static void
test_addresses(void)
{
	expect_ok("192.0.2.1", BW_IOC_ANY, BW_IOC_IPV4, "192.0.2.1", 0);
	expect_ok("192[.]0[.]2[.]1", BW_IOC_ANY, BW_IOC_IPV4, "192.0.2.1", BW_IOC_NOTE_DEFANGED);
	expect_ok("192.0.2.1:8080", BW_IOC_ANY, BW_IOC_IPV4, "192.0.2.1",
		  BW_IOC_NOTE_PORT_DROPPED);
	expect_ok("2001:DB8:0:0:0:0:0:1", BW_IOC_ANY, BW_IOC_IPV6, "2001:db8::1", 0);
	expect_ok("2001:db8[:]1::1", BW_IOC_ANY, BW_IOC_IPV6, "2001:db8:1::1",
		  BW_IOC_NOTE_DEFANGED);
	expect_ok("[2001:db8::1]", BW_IOC_ANY, BW_IOC_IPV6, "2001:db8::1", 0);
	expect_ok("10.1.2.3/8", BW_IOC_ANY, BW_IOC_CIDR, "10.0.0.0/8", BW_IOC_NOTE_HOSTBITS);
	expect_ok("10.0.0.0/8", BW_IOC_ANY, BW_IOC_CIDR, "10.0.0.0/8", 0);
	expect_ok("192.0.2.7/32", BW_IOC_ANY, BW_IOC_IPV4, "192.0.2.7", BW_IOC_NOTE_HOSTPREFIX);
	expect_ok("2001:db8:abcd:12::/48", BW_IOC_ANY, BW_IOC_CIDR, "2001:db8:abcd::/48",
		  BW_IOC_NOTE_HOSTBITS);
	expect_ok("2001:db8::1/128", BW_IOC_ANY, BW_IOC_IPV6, "2001:db8::1", 0);
	expect_ok("192.0.2.0/25", BW_IOC_CIDR, BW_IOC_CIDR, "192.0.2.0/25", 0);
	expect_ok("192.0.2.130/25", BW_IOC_CIDR, BW_IOC_CIDR, "192.0.2.128/25", 0);
	expect_ok("192.0.2.1", BW_IOC_CIDR, BW_IOC_IPV4, "192.0.2.1", 0);
	expect_bad("256.1.1.1", BW_IOC_ANY, "octets are 0-255");
	expect_bad("1.2.3", BW_IOC_ANY, "needs four octets");
	expect_bad("01.2.3.4", BW_IOC_ANY, "leading zero");
	expect_bad("2001:db8::g", BW_IOC_ANY, "not a valid IPv6 address");
	expect_bad("fe80::1%eth0", BW_IOC_ANY, "zone index");
	expect_bad("10.0.0.0/33", BW_IOC_ANY, "longer than 32 bits");
	expect_bad("10.0.0.0/0", BW_IOC_ANY, "whole address space");
	expect_bad("2001:db8::/129", BW_IOC_ANY, "longer than 128 bits");
	expect_bad("2001:db8::1", BW_IOC_IPV4, "expected an IPv4 address");
}

static void
test_urls(void)
{
	expect_ok("HTTP://Example.COM:80/a/./b/../c?q=1#frag", BW_IOC_ANY, BW_IOC_URL,
		  "http://example.com/a/c?q=1", 0);
	expect_ok("hxxps[://]evil[.]com/login", BW_IOC_ANY, BW_IOC_URL,
		  "https://evil.com/login", BW_IOC_NOTE_DEFANGED);
	expect_ok("hxxp://evil[.]com", BW_IOC_ANY, BW_IOC_URL, "http://evil.com/",
		  BW_IOC_NOTE_DEFANGED);
	expect_ok("https://evil.com:443", BW_IOC_ANY, BW_IOC_URL, "https://evil.com/", 0);
	expect_ok("https://evil.com:8443/x", BW_IOC_ANY, BW_IOC_URL, "https://evil.com:8443/x", 0);
	expect_ok("http://117.209.87.242:60905/bin.sh", BW_IOC_ANY, BW_IOC_URL,
		  "http://117.209.87.242:60905/bin.sh", 0);
	/* unreserved escapes decoded, others upper-cased, unsafe bytes escaped */
	expect_ok("http://e.com/%7euser/%2fa%2F b?x=%41%3d", BW_IOC_ANY, BW_IOC_URL,
		  "http://e.com/~user/%2Fa%2F%20b?x=A%3D", 0);
	expect_ok("http://e.com/caf\xc3\xa9", BW_IOC_ANY, BW_IOC_URL,
		  "http://e.com/caf%C3%A9", 0);
	expect_ok("http://e.com/100%", BW_IOC_ANY, BW_IOC_URL, "http://e.com/100%25", 0);
	expect_ok("http://[2001:DB8::1]:8080/p", BW_IOC_ANY, BW_IOC_URL,
		  "http://[2001:db8::1]:8080/p", 0);
	expect_ok("http://user:pw@Evil.com/", BW_IOC_ANY, BW_IOC_URL,
		  "http://user:pw@evil.com/", 0);
	expect_ok("http://b\xc3\xbc" "cher.de/", BW_IOC_ANY, BW_IOC_URL,
		  "http://xn--bcher-kva.de/", BW_IOC_NOTE_IDN);
	expect_ok("evil.com/login.php", BW_IOC_ANY, BW_IOC_URL, "http://evil.com/login.php",
		  BW_IOC_NOTE_SCHEME_ADDED);
	expect_ok("http://e.com/a?", BW_IOC_ANY, BW_IOC_URL, "http://e.com/a", 0);
	expect_ok("http://e.com/../../x", BW_IOC_ANY, BW_IOC_URL, "http://e.com/x", 0);
	expect_bad("http:///path", BW_IOC_ANY, "no host");
	expect_bad("http://e.com:99999/", BW_IOC_ANY, "port");
	expect_bad("http://300.1.1.1/", BW_IOC_ANY, "URL host");
	expect_bad("1http://e.com/", BW_IOC_ANY, "scheme");
	{
		char url[BW_IOC_VALUE_MAX + 100];
		strcpy(url, "http://e.com/");
		memset(url + 13, 'a', BW_IOC_VALUE_MAX);
		url[13 + BW_IOC_VALUE_MAX] = '\0';
		expect_bad(url, BW_IOC_ANY, "URL longer than");
	}
}

static void
test_email_and_hashes(void)
{
	expect_ok("Phish@Evil.COM", BW_IOC_ANY, BW_IOC_EMAIL, "phish@evil.com", 0);
	expect_ok("phish[@]evil[.]com", BW_IOC_ANY, BW_IOC_EMAIL, "phish@evil.com",
		  BW_IOC_NOTE_DEFANGED);
	expect_ok("a.b+c@xn--bcher-kva.de", BW_IOC_ANY, BW_IOC_EMAIL, "a.b+c@xn--bcher-kva.de", 0);
	expect_bad(".a@evil.com", BW_IOC_ANY, "misplaced dot");
	expect_bad("a b@evil.com", BW_IOC_EMAIL, "not allowed in an e-mail local part");
	expect_bad("a@localhost", BW_IOC_ANY, "e-mail domain");
	expect_bad("evil.com", BW_IOC_EMAIL, "without '@'");

	expect_ok("D41D8CD98F00B204E9800998ECF8427E", BW_IOC_ANY, BW_IOC_MD5,
		  "d41d8cd98f00b204e9800998ecf8427e", 0);
	expect_ok("da39a3ee5e6b4b0d3255bfef95601890afd80709", BW_IOC_ANY, BW_IOC_SHA1,
		  "da39a3ee5e6b4b0d3255bfef95601890afd80709", 0);
	expect_ok("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  BW_IOC_SHA256, BW_IOC_SHA256,
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0);
	expect_bad("d41d8cd98f00b204e9800998ecf8427e", BW_IOC_SHA256,
		   "expected 64 hex digits for sha256, got 32");
	expect_bad("d41d8cd98f00b204e9800998ecf8427g", BW_IOC_MD5, "non-hex");
	expect_bad("abcdef", BW_IOC_MD5, "expected 32 hex digits");
}

static void
test_names_and_psl(void)
{
	struct bw_psl *psl = NULL;
	struct bw_ioc ioc;
	char out[256];

	for (int t = BW_IOC_DOMAIN; t < BW_IOC_NTYPES; t++)
		CHECK((int)bw_ioc_type_from_name(bw_ioc_type_name((enum bw_ioc_type)t)) == t);
	CHECK(bw_ioc_type_from_name("nonsense") == BW_IOC_ANY);

	if (!CHECK(bw_psl_open(&psl, NULL) == BW_OK))
		return;
	CHECK(bw_psl_registrable(psl, "a.b.example.co.uk", out, sizeof(out)) == 1);
	CHECK_STR(out, "example.co.uk");
	CHECK(bw_psl_registrable(psl, "co.uk", out, sizeof(out)) == 0);
	bw_ioc_parse("https://user@login.evil.co.uk:8443/x", 36, BW_IOC_ANY, &ioc, NULL);
	CHECK(bw_psl_registrable_of(psl, &ioc, out, sizeof(out)) == 1);
	CHECK_STR(out, "evil.co.uk");
	bw_ioc_parse("x@mail.evil.com", 15, BW_IOC_ANY, &ioc, NULL);
	CHECK(bw_psl_registrable_of(psl, &ioc, out, sizeof(out)) == 1);
	CHECK_STR(out, "evil.com");
	bw_ioc_parse("http://192.0.2.1/x", 18, BW_IOC_ANY, &ioc, NULL);
	CHECK(bw_psl_registrable_of(psl, &ioc, out, sizeof(out)) == 0);
	bw_psl_free(psl);
}

/* bw_ioc_host on canonical values: user info, port, path and query cut
 * off; addresses, other types and a host that does not fit give 0. */
static void
test_hosts(void)
{
	struct bw_ioc ioc;
	char h[256], small[8];

	CHECK(bw_ioc_parse("https://u:p@Login.Evil.example:8443/a@b?q=1", 43, BW_IOC_ANY, &ioc,
			   NULL) == BW_OK);
	CHECK_INT(bw_ioc_host(ioc.type, ioc.value, h, sizeof(h)), 18);
	CHECK_STR(h, "login.evil.example");
	CHECK_INT(bw_ioc_host(BW_IOC_URL, "http://evil.example?x", h, sizeof(h)), 12);
	CHECK_STR(h, "evil.example");
	CHECK_INT(bw_ioc_host(BW_IOC_URL, "http://198.51.100.7:80/", h, sizeof(h)), 0);
	CHECK_INT(bw_ioc_host(BW_IOC_URL, "http://[2001:db8::1]/", h, sizeof(h)), 0);
	CHECK_INT(bw_ioc_host(BW_IOC_URL, "evil.example/x", h, sizeof(h)), 0);
	CHECK_INT(bw_ioc_host(BW_IOC_EMAIL, "a@b@mail.example", h, sizeof(h)), 12);
	CHECK_STR(h, "mail.example");
	CHECK_INT(bw_ioc_host(BW_IOC_EMAIL, "mail.example", h, sizeof(h)), 0);
	CHECK_INT(bw_ioc_host(BW_IOC_EMAIL, "x@mail.example", small, sizeof(small)), 0);
	CHECK_INT(bw_ioc_host(BW_IOC_DOMAIN, "mail.example", h, sizeof(h)), 0);
}

int
main(void)
{
	TAP_RUN(test_domains);
	TAP_RUN(test_addresses);
	TAP_RUN(test_urls);
	TAP_RUN(test_email_and_hashes);
	TAP_RUN(test_names_and_psl);
	TAP_RUN(test_hosts);
	return tap_done();
}
