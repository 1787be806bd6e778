/*
 * test_index.c - the look-up index: suffix semantics, longest-prefix match,
 * exact sets, URL hosts, the store's active records, tag and confidence
 * merging, the holder, a real Maltrail extract, and randomised differential
 * tests against naive reference matchers written here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/tlp.h"
#include "index/holder.h"
#include "index/index.h"
#include "index/lpm.h"
#include "store/store.h"
#include "tap.h"
#include "tmpdir.h"

#define NOW 1700000000

/* ---- helpers ---------------------------------------------------------- */

/* Splits s in place at each sep into at most max fields; returns how many. */
static size_t
split(char *s, char sep, char **out, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *e = strchr(s, sep);
		out[n++] = s;
		if (e == NULL)
			break;
		*e = '\0';
		s = e + 1;
	}
	return n;
}

static struct bw_index_builder *
new_builder(void)
{
	struct bw_index_builder *b = NULL;
	struct bw_err err = {0, ""};

	if (bw_index_builder_new(NOW, &b, &err) != BW_OK) {
		printf("Bail out! builder: %s\n", err.msg);
		exit(1);
	}
	return b;
}

/* Adds type/value with confidence conf and tags "kind:name,kind:name"
 * (or NULL); returns the builder's code. */
static int
add(struct bw_index_builder *b, enum bw_ioc_type type, const char *value,
    int conf, const char *tags)
{
	struct bw_tag tv[16];
	char copy[512], kinds[16][16], *f[16];
	size_t nt = 0, nf;
	struct bw_index_entry e = {type, value, strlen(value), 0, conf, tv, 0};
	struct bw_err err = {0, ""};
	int rc;

	if (tags) {
		snprintf(copy, sizeof(copy), "%s", tags);
		nf = split(copy, ',', f, 16);
		for (size_t i = 0; i < nf; i++) {
			if (bw_tag_parse(f[i], kinds[nt], sizeof(kinds[nt]), &tv[nt], &err))
				return -1;
			nt++;
		}
	}
	e.ntags = nt;
	rc = bw_index_builder_add(b, &e, &err);
	if (rc && rc != BW_EINVAL)
		printf("#   add %s: %s\n", value, err.msg);
	return rc;
}

static struct bw_index *
finish(struct bw_index_builder *b)
{
	struct bw_index *ix = NULL;
	struct bw_err err = {0, ""};

	if (bw_index_builder_finish(b, &ix, &err) != BW_OK) {
		printf("Bail out! finish: %s\n", err.msg);
		exit(1);
	}
	bw_index_builder_free(b);
	return ix;
}

static char joined_buf[65536];

/* The values of matches, comma-separated. */
static const char *
joined(const struct bw_index_match *m, size_t n)
{
	size_t used = 0;

	joined_buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(joined_buf + used, sizeof(joined_buf) - used,
					 "%s%s", i ? "," : "", m[i].value);
	return joined_buf;
}

static struct bw_index_match mbuf[BW_INDEX_MATCH_MAX];

static const char *
dom(const struct bw_index *ix, const char *q)
{
	size_t n = bw_index_lookup_domain(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);

	return joined(mbuf, n);
}

static const char *
ip(const struct bw_index *ix, const char *q)
{
	size_t n = bw_index_lookup_ip(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);

	return joined(mbuf, n);
}

static const char *
url(const struct bw_index *ix, const char *q)
{
	size_t n = bw_index_lookup_url(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);

	return joined(mbuf, n);
}

static const char *
exact(const struct bw_index *ix, enum bw_ioc_type t, const char *q)
{
	size_t n = bw_index_lookup_exact(ix, t, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);

	return joined(mbuf, n);
}

static const char *
any(const struct bw_index *ix, const char *q)
{
	size_t n = 0;
	struct bw_err err = {0, ""};

	if (bw_index_lookup(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX, &n, &err))
		return "(error)";
	return joined(mbuf, n);
}

/* "kind:name,..." of one match's tags. */
static const char *
tags_of(const struct bw_index_match *m)
{
	size_t used = 0;

	joined_buf[0] = '\0';
	for (size_t i = 0; i < m->ntags; i++)
		used += (size_t)snprintf(joined_buf + used, sizeof(joined_buf) - used,
					 "%s%s:%s", i ? "," : "", m->tags[i].kind,
					 m->tags[i].name);
	return joined_buf;
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned
rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* ---- domains ---------------------------------------------------------- */

static void
test_domain_suffix(void)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	char name[300];

	CHECK_INT(add(b, BW_IOC_DOMAIN, "evil.example", 70, "malware:emotet"), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "sub.evil.example", 90, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "example.com", -1, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "xample.org", -1, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "co.uk", -1, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "bad.co.uk", -1, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "xn--bcher-kva.example", -1, NULL), BW_OK);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "ali_99.hopto.org", -1, NULL), BW_OK);
	ix = finish(b);

	/* the listed name and its subdomains, never a longer label */
	CHECK_STR(dom(ix, "evil.example"), "evil.example");
	CHECK_STR(dom(ix, "a.b.evil.example"), "evil.example");
	CHECK_STR(dom(ix, "notevil.example"), "");
	CHECK_STR(dom(ix, "evil.example.net"), "");
	CHECK_STR(dom(ix, "vil.example"), "");
	CHECK_STR(dom(ix, "example"), "");
	/* registrable domain and subdomain coexist, most specific first */
	CHECK_STR(dom(ix, "sub.evil.example"), "sub.evil.example,evil.example");
	CHECK_STR(dom(ix, "x.y.sub.evil.example"), "sub.evil.example,evil.example");
	CHECK_STR(dom(ix, "xsub.evil.example"), "evil.example");
	/* label boundaries */
	CHECK_STR(dom(ix, "xample.com"), "");
	CHECK_STR(dom(ix, "wwwexample.com"), "");
	CHECK_STR(dom(ix, "www.example.com"), "example.com");
	CHECK_STR(dom(ix, "example.org"), "");
	CHECK_STR(dom(ix, "a.xample.org"), "xample.org");
	CHECK_STR(dom(ix, "www.bad.co.uk"), "bad.co.uk,co.uk");
	CHECK_STR(dom(ix, "good.co.uk"), "co.uk");
	/* case and one trailing dot, on the query side */
	CHECK_STR(dom(ix, "A.B.EVIL.Example."), "evil.example");
	CHECK_STR(dom(ix, "EVIL.EXAMPLE"), "evil.example");
	CHECK_STR(dom(ix, "Sub.Evil.Example."), "sub.evil.example,evil.example");
	CHECK_STR(dom(ix, "evil.example.."), "");
	CHECK_STR(dom(ix, "_dmarc.evil.example"), "evil.example");
	CHECK_STR(dom(ix, "x.ALI_99.hopto.org"), "ali_99.hopto.org");
	/* the root, single labels, empty labels, bytes no name holds */
	CHECK_STR(dom(ix, ""), "");
	CHECK_STR(dom(ix, "."), "");
	CHECK_STR(dom(ix, ".."), "");
	CHECK_STR(dom(ix, "com"), "");
	CHECK_STR(dom(ix, "uk."), "");
	CHECK_STR(dom(ix, ".evil.example"), "");
	CHECK_STR(dom(ix, "a..evil.example"), "");
	CHECK_STR(dom(ix, "*.evil.example"), "");
	CHECK_STR(dom(ix, "evil.example/path"), "");
	CHECK_STR(dom(ix, "evil example"), "");
	/* IDN: Unicode queries through IDNA, A-labels as they are */
	CHECK_STR(dom(ix, "b\xc3\xbc" "cher.example"), "xn--bcher-kva.example");
	CHECK_STR(dom(ix, "WWW.B\xc3\x9c" "CHER.example."), "xn--bcher-kva.example");
	CHECK_STR(dom(ix, "XN--BCHER-KVA.EXAMPLE"), "xn--bcher-kva.example");
	CHECK_STR(dom(ix, "www.xn--bcher-kva.example"), "xn--bcher-kva.example");
	CHECK_STR(dom(ix, "b\xc3\xbc" "chers.example"), "");
	CHECK_STR(dom(ix, "\xff\xfe.example"), "");
	/* lengths: 63-octet labels and 253-octet names are names, more is not */
	memset(name, 'a', 63);
	snprintf(name + 63, sizeof(name) - 63, ".evil.example");
	CHECK_STR(dom(ix, name), "evil.example");
	memset(name, 'a', 64);
	snprintf(name + 64, sizeof(name) - 64, ".evil.example");
	CHECK_STR(dom(ix, name), "");
	{
		size_t n = 0;
		while (n + 2 <= 253 - strlen("evil.example")) {
			name[n++] = 'a';
			name[n++] = '.';
		}
		snprintf(name + n, sizeof(name) - n, "evil.example");
		CHECK_INT(strlen(name) <= 253, 1);
		CHECK_STR(dom(ix, name), "evil.example");
		name[0] = 'b';
		memmove(name + 2, name, strlen(name) + 1);
		name[0] = 'c';
		name[1] = '.';
		CHECK_INT(strlen(name) > 253, 1);
		CHECK_STR(dom(ix, name), "");
	}
	/* every byte value at every offset of an 8-byte word: only letters,
	 * digits, '-' and '_' keep a name a name (a '.' here would make an
	 * empty label) */
	{
		int bad = 0;
		for (int c = 0; c < 256; c++)
			for (int at = 0; at < 9; at++) {
				int ok = isalnum(c) || c == '-' || c == '_';
				size_t n;
				memset(name, 'q', (size_t)at + 1);
				name[at] = (char)c;
				memcpy(name + at + 1, ".evil.example", 14);
				n = bw_index_lookup_domain(ix, name, (size_t)at + 14, mbuf, 4);
				if ((n == 1) != ok || (n == 1 && strcmp(mbuf[0].value, "evil.example")))
					bad++;
			}
		CHECK_INT(bad, 0);
	}
	/* the whole match record */
	{
		size_t n = bw_index_lookup_domain(ix, "www.evil.example", 16, mbuf, 1);
		CHECK_INT(n, 1);
		CHECK_INT(mbuf[0].type, BW_IOC_DOMAIN);
		CHECK_INT(mbuf[0].confidence, 70);
		CHECK_INT(mbuf[0].len, 12);
		CHECK_STR(tags_of(&mbuf[0]), "malware:emotet");
		/* a smaller array truncates but still counts */
		n = bw_index_lookup_domain(ix, "a.sub.evil.example", 18, mbuf, 1);
		CHECK_INT(n, 2);
		CHECK_STR(mbuf[0].value, "sub.evil.example");
		CHECK_INT(mbuf[0].confidence, 90);
		CHECK_INT(mbuf[0].ntags, 0);
	}
	bw_index_free(ix);
}

static void
test_builder_rejects(void)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	struct bw_index_stats st;

	/* only canonical values go in */
	CHECK_INT(add(b, BW_IOC_DOMAIN, "Evil.example", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "evil.example.", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "example", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "a..example", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "b\xc3\xbc" "cher.example", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_CIDR, "192.0.2.1/24", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_CIDR, "192.0.2.0/32", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_IPV4, "192.000.2.1", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_IPV4, "2001:db8::1", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_IPV6, "2001:DB8::1", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_URL, "http://Evil.example/", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_URL, "http://evil.example:80/", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_EMAIL, "Bad@evil.example", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_MD5, "D41D8CD98F00B204E9800998ECF8427E", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_SHA1, "d41d8cd98f00b204e9800998ecf8427e", -1, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_DOMAIN, "evil.example", 101, NULL), BW_EINVAL);
	CHECK_INT(add(b, BW_IOC_ANY, "evil.example", -1, NULL), BW_EINVAL);
	/* and the builder stays usable */
	CHECK_INT(add(b, BW_IOC_DOMAIN, "evil.example", -1, NULL), BW_OK);
	ix = finish(b);
	bw_index_stats(ix, &st);
	CHECK_INT(st.indicators, 1);
	CHECK_STR(dom(ix, "evil.example"), "evil.example");
	bw_index_free(ix);
}

/* ---- addresses -------------------------------------------------------- */

/* Canonical text of addr/len (an address when len is the full length). */
static void
prefix_text(int family, const uint8_t *addr, int len, char *out, size_t cap)
{
	uint8_t a[16];
	int bits = family == 4 ? 32 : 128;
	char t[INET6_ADDRSTRLEN];

	memcpy(a, addr, family == 4 ? 4 : 16);
	for (int i = len; i < bits; i++)
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, t, sizeof(t));
	if (len == bits)
		snprintf(out, cap, "%s", t);
	else
		snprintf(out, cap, "%s/%d", t, len);
}

static enum bw_ioc_type
prefix_type(int family, int len)
{
	if (len == (family == 4 ? 32 : 128))
		return family == 4 ? BW_IOC_IPV4 : BW_IOC_IPV6;
	return BW_IOC_CIDR;
}

/* Every prefix length of one address, nested; then the address with each
 * bit flipped must match exactly the prefixes shorter than that bit. */
static void
nested_prefixes(int family, const char *text)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	uint8_t a[16], q[16];
	int bits = family == 4 ? 32 : 128, bad = 0;
	char buf[80], want[80];

	inet_pton(family == 4 ? AF_INET : AF_INET6, text, a);
	for (int len = 1; len <= bits; len++) {
		prefix_text(family, a, len, buf, sizeof(buf));
		if (add(b, prefix_type(family, len), buf, -1, NULL) != BW_OK)
			bad++;
	}
	CHECK_INT(bad, 0);
	ix = finish(b);
	{
		struct bw_index_addr qa = {(uint8_t)family, {0}};
		size_t n;
		memcpy(qa.addr, a, family == 4 ? 4 : 16);
		n = bw_index_lookup_addr(ix, &qa, mbuf, BW_INDEX_MATCH_MAX);
		CHECK_INT(n, bits);
		for (size_t i = 0; i < n && i < (size_t)bits; i++) {
			prefix_text(family, a, bits - (int)i, want, sizeof(want));
			if (strcmp(mbuf[i].value, want) != 0)
				bad++;
		}
		CHECK_INT(bad, 0);
		CHECK_STR(mbuf[0].value, text);
		prefix_text(family, a, 1, want, sizeof(want));
		CHECK_STR(mbuf[bits - 1].value, want);
	}
	for (int bit = 0; bit < bits; bit++) {
		struct bw_index_addr qa = {(uint8_t)family, {0}};
		size_t n;
		memcpy(q, a, 16);
		q[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		memcpy(qa.addr, q, family == 4 ? 4 : 16);
		n = bw_index_lookup_addr(ix, &qa, mbuf, BW_INDEX_MATCH_MAX);
		if (n != (size_t)bit) {
			printf("#   bit %d: %zu matches\n", bit, n);
			bad++;
			continue;
		}
		if (n > 0) {
			prefix_text(family, a, bit, want, sizeof(want));
			if (strcmp(mbuf[0].value, want) != 0) {
				printf("#   bit %d: longest %s, want %s\n", bit, mbuf[0].value, want);
				bad++;
			}
		}
	}
	if (!tap_check(bad == 0, "every flipped bit matches the shorter prefixes",
		       __FILE__, __LINE__))
		printf("#   %d failures for %s\n", bad, text);
	bw_index_free(ix);
}

static void
test_lpm(void)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;

	nested_prefixes(4, "203.0.113.77");
	nested_prefixes(4, "255.255.255.255");
	nested_prefixes(4, "0.0.0.1");
	nested_prefixes(6, "2001:db8:1234:5678:9abc:def0:1234:5678");
	nested_prefixes(6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	nested_prefixes(6, "::1");

	/* siblings, the edges of the space, and both families at once */
	add(b, BW_IOC_CIDR, "10.0.0.0/8", -1, NULL);
	add(b, BW_IOC_CIDR, "10.1.0.0/16", -1, NULL);
	add(b, BW_IOC_CIDR, "10.2.0.0/16", -1, NULL);
	add(b, BW_IOC_IPV4, "10.1.2.3", -1, NULL);
	add(b, BW_IOC_CIDR, "0.0.0.0/8", -1, NULL);
	add(b, BW_IOC_IPV4, "255.255.255.255", -1, NULL);
	add(b, BW_IOC_CIDR, "2001:db8::/32", -1, NULL);
	add(b, BW_IOC_IPV6, "2001:db8::1", -1, NULL);
	add(b, BW_IOC_CIDR, "::/8", -1, NULL);
	ix = finish(b);
	CHECK_STR(ip(ix, "10.1.2.3"), "10.1.2.3,10.1.0.0/16,10.0.0.0/8");
	CHECK_STR(ip(ix, "10.1.2.4"), "10.1.0.0/16,10.0.0.0/8");
	CHECK_STR(ip(ix, "10.2.255.255"), "10.2.0.0/16,10.0.0.0/8");
	CHECK_STR(ip(ix, "10.3.0.0"), "10.0.0.0/8");
	CHECK_STR(ip(ix, "11.0.0.0"), "");
	CHECK_STR(ip(ix, "9.255.255.255"), "");
	CHECK_STR(ip(ix, "0.0.0.0"), "0.0.0.0/8");
	CHECK_STR(ip(ix, "0.255.255.255"), "0.0.0.0/8");
	CHECK_STR(ip(ix, "1.0.0.0"), "");
	CHECK_STR(ip(ix, "255.255.255.255"), "255.255.255.255");
	CHECK_STR(ip(ix, "255.255.255.254"), "");
	CHECK_STR(ip(ix, "2001:DB8::1"), "2001:db8::1,2001:db8::/32");
	CHECK_STR(ip(ix, "[2001:db8::2]"), "2001:db8::/32");
	CHECK_STR(ip(ix, "2001:db9::"), "");
	CHECK_STR(ip(ix, "::"), "::/8");
	CHECK_STR(ip(ix, "::ffff:10.1.2.3"), "::/8");
	CHECK_STR(ip(ix, "010.1.2.3"), "");
	CHECK_STR(ip(ix, "10.1.2"), "");
	CHECK_STR(ip(ix, "evil.example"), "");
	/* CIDR queries through the generic look-up: prefixes covering all of it */
	CHECK_STR(any(ix, "10.1.2.0/24"), "10.1.0.0/16,10.0.0.0/8");
	CHECK_STR(any(ix, "10.1.0.0/16"), "10.1.0.0/16,10.0.0.0/8");
	CHECK_STR(any(ix, "10.0.0.0/7"), "");
	CHECK_STR(any(ix, "2001:db8::/48"), "2001:db8::/32");
	CHECK_STR(any(ix, "10.1.2.3"), "10.1.2.3,10.1.0.0/16,10.0.0.0/8");
	bw_index_free(ix);
}

/* ---- exact sets and URLs ---------------------------------------------- */

static void
test_exact_and_urls(void)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	size_t n = 0;
	struct bw_err err = {0, ""};

	add(b, BW_IOC_URL, "http://evil.example/payload.exe", 60, "tag:dropper");
	add(b, BW_IOC_URL, "https://198.51.100.7/gate.php?id=1", -1, NULL);
	add(b, BW_IOC_DOMAIN, "evil.example", 40, NULL);
	add(b, BW_IOC_CIDR, "198.51.100.0/24", -1, NULL);
	add(b, BW_IOC_CIDR, "2001:db8::/32", -1, NULL);
	add(b, BW_IOC_EMAIL, "bad.guy@evil.example", -1, NULL);
	add(b, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", -1, NULL);
	add(b, BW_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", -1, NULL);
	add(b, BW_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", -1, NULL);
	ix = finish(b);

	/* URLs: the exact URL first, then the host as a domain or address */
	CHECK_STR(url(ix, "http://evil.example/payload.exe"),
		  "http://evil.example/payload.exe,evil.example");
	CHECK_STR(url(ix, "HTTP://Evil.Example:80/a/../payload.exe#frag"),
		  "http://evil.example/payload.exe,evil.example");
	CHECK_STR(url(ix, "hxxp://evil[.]example/payload.exe"),
		  "http://evil.example/payload.exe,evil.example");
	CHECK_STR(url(ix, "http://www.evil.example/payload.exe"), "evil.example");
	CHECK_STR(url(ix, "http://user:pw@cdn.evil.example:8080/x?y=1"), "evil.example");
	CHECK_STR(url(ix, "http://notevil.example/payload.exe"), "");
	CHECK_STR(url(ix, "https://198.51.100.7/gate.php?id=1"),
		  "https://198.51.100.7/gate.php?id=1,198.51.100.0/24");
	CHECK_STR(url(ix, "https://198.51.100.7:443/gate.php?id=2"), "198.51.100.0/24");
	CHECK_STR(url(ix, "http://[2001:db8::5]:8080/"), "2001:db8::/32");
	CHECK_STR(url(ix, "evil.example/payload.exe"),
		  "http://evil.example/payload.exe,evil.example");
	CHECK_STR(url(ix, "not a url"), "");
	/* exact URL without the host */
	CHECK_STR(exact(ix, BW_IOC_URL, "http://EVIL.example/payload.exe"),
		  "http://evil.example/payload.exe");
	/* e-mail and hashes */
	CHECK_STR(exact(ix, BW_IOC_EMAIL, "Bad.Guy@Evil.Example"), "bad.guy@evil.example");
	CHECK_STR(exact(ix, BW_IOC_EMAIL, "good.guy@evil.example"), "");
	CHECK_STR(exact(ix, BW_IOC_MD5, "D41D8CD98F00B204E9800998ECF8427E"),
		  "d41d8cd98f00b204e9800998ecf8427e");
	CHECK_STR(exact(ix, BW_IOC_ANY, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"),
		  "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	CHECK_STR(exact(ix, BW_IOC_SHA256,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_STR(exact(ix, BW_IOC_SHA1, "d41d8cd98f00b204e9800998ecf8427e"), "");
	CHECK_STR(exact(ix, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427f"), "");
	CHECK_STR(exact(ix, BW_IOC_MD5, "g41d8cd98f00b204e9800998ecf8427e"), "");
	/* a listed MD5 is not found as the domain table's key and vice versa */
	CHECK_STR(dom(ix, "d41d8cd98f00b204e9800998ecf8427e"), "");
	/* the generic look-up: whatever an analyst pastes */
	CHECK_STR(any(ix, "evil[.]example"), "evil.example");
	CHECK_STR(any(ix, "hxxp://evil[.]example/payload.exe"),
		  "http://evil.example/payload.exe,evil.example");
	CHECK_STR(any(ix, "BAD.GUY@evil.example"), "bad.guy@evil.example");
	CHECK_STR(any(ix, "D41D8CD98F00B204E9800998ECF8427E"), "d41d8cd98f00b204e9800998ecf8427e");
	CHECK_STR(any(ix, "198.51.100.200"), "198.51.100.0/24");
	CHECK_INT(bw_index_lookup(ix, "exa mple", 8, mbuf, BW_INDEX_MATCH_MAX, &n, &err),
		  BW_EINVAL);
	CHECK(err.msg[0] != '\0');
	/* match metadata */
	n = bw_index_lookup_url(ix, "http://evil.example/payload.exe", 31, mbuf, 2);
	CHECK_INT(n, 2);
	CHECK_INT(mbuf[0].type, BW_IOC_URL);
	CHECK_INT(mbuf[0].confidence, 60);
	CHECK_STR(tags_of(&mbuf[0]), "tag:dropper");
	CHECK_INT(mbuf[1].type, BW_IOC_DOMAIN);
	CHECK_INT(mbuf[1].confidence, 40);
	/* a cap of 1 keeps the URL and still counts the host */
	n = bw_index_lookup_url(ix, "http://evil.example/payload.exe", 31, mbuf, 1);
	CHECK_INT(n, 2);
	bw_index_free(ix);
}

/* ---- merging and interning -------------------------------------------- */

static void
test_merge_and_intern(void)
{
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	struct bw_index_stats st;
	struct bw_index_match m1, m2;

	/* the same value twice: highest confidence, union of tags */
	add(b, BW_IOC_DOMAIN, "evil.example", 30, "tag:c2,malware:emotet");
	add(b, BW_IOC_DOMAIN, "evil.example", 80, "actor:ta542,tag:c2");
	add(b, BW_IOC_CIDR, "192.0.2.0/24", -1, "tag:scanner");
	add(b, BW_IOC_CIDR, "192.0.2.0/24", 10, "tag:scanner,tag:tor");
	add(b, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", 5, NULL);
	add(b, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", -1, "tag:empty");
	/* two indicators with the same tags share one interned set */
	add(b, BW_IOC_DOMAIN, "one.example", -1, "malware:qakbot,tag:phishing");
	add(b, BW_IOC_DOMAIN, "two.example", -1, "tag:phishing,malware:qakbot");
	ix = finish(b);
	bw_index_stats(ix, &st);
	CHECK_INT(st.merged, 3);
	CHECK_INT(st.indicators, 5);
	CHECK_INT(st.by_type[BW_IOC_DOMAIN], 3);
	CHECK_INT(st.by_type[BW_IOC_CIDR], 1);
	CHECK_INT(st.by_type[BW_IOC_MD5], 1);

	CHECK_INT(bw_index_lookup_domain(ix, "evil.example", 12, mbuf, 1), 1);
	CHECK_INT(mbuf[0].confidence, 80);
	CHECK_STR(tags_of(&mbuf[0]), "actor:ta542,malware:emotet,tag:c2");
	CHECK_INT(bw_index_lookup_ip(ix, "192.0.2.9", 9, mbuf, 1), 1);
	CHECK_INT(mbuf[0].confidence, 10);
	CHECK_STR(tags_of(&mbuf[0]), "tag:scanner,tag:tor");
	CHECK_INT(bw_index_lookup_exact(ix, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e",
					32, mbuf, 1), 1);
	CHECK_INT(mbuf[0].confidence, 5);
	CHECK_STR(tags_of(&mbuf[0]), "tag:empty");

	CHECK_INT(bw_index_lookup_domain(ix, "one.example", 11, &m1, 1), 1);
	CHECK_INT(bw_index_lookup_domain(ix, "two.example", 11, &m2, 1), 1);
	CHECK(m1.tags == m2.tags);
	CHECK_INT(m1.ntags, 2);
	CHECK_STR(tags_of(&m1), "malware:qakbot,tag:phishing");
	/* strings once per snapshot: every "tag:phishing" is the same pointer */
	CHECK_INT(st.tags, 8); /* c2 emotet ta542 scanner tor empty qakbot phishing */
	bw_index_free(ix);

	/* an empty snapshot answers nothing */
	ix = finish(new_builder());
	CHECK_STR(dom(ix, "evil.example"), "");
	CHECK_STR(ip(ix, "192.0.2.1"), "");
	CHECK_STR(ip(ix, "::1"), "");
	CHECK_STR(url(ix, "http://evil.example/"), "");
	bw_index_stats(ix, &st);
	CHECK_INT(st.indicators, 0);
	bw_index_free(ix);
}

/* ---- the store -------------------------------------------------------- */

struct rec {
	const char *value, *source;
	int conf, revoked;
	int64_t valid_until;
	const char *tags;
};

static int
put(struct bw_store *st, const struct rec *r, int64_t now)
{
	struct bw_ioc ioc;
	struct bw_tag tv[8];
	char kinds[8][16], copy[256], *f[8];
	size_t nt = 0, nf;
	struct bw_record_in in;
	enum bw_upsert_result res;
	struct bw_err err = {0, ""};

	if (bw_ioc_parse(r->value, strlen(r->value), BW_IOC_ANY, &ioc, &err))
		return -1;
	if (r->tags) {
		snprintf(copy, sizeof(copy), "%s", r->tags);
		nf = split(copy, ',', f, 8);
		for (size_t i = 0; i < nf; i++)
			if (bw_tag_parse(f[i], kinds[nt], sizeof(kinds[nt]), &tv[nt], &err) == 0)
				nt++;
	}
	memset(&in, 0, sizeof(in));
	in.ioc = &ioc;
	in.source = r->source;
	in.confidence = r->conf;
	in.tlp = BW_TLP_UNSET;
	in.revoked = r->revoked;
	in.valid_until = r->valid_until;
	in.tags = tv;
	in.ntags = nt;
	if (bw_store_upsert(st, &in, now, &res, &err)) {
		printf("#   upsert %s: %s\n", r->value, err.msg);
		return -1;
	}
	return 0;
}

/* A new store named name in the test's scratch directory (tmpdir.h:
 * main removes it); NULL after a failed check. */
static struct bw_store *
new_store(const char *name)
{
	struct bw_store *st = NULL;
	struct bw_err err = {0, ""};

	if (!CHECK(bw_store_open(tmp_path(name), 0, &st, &err) == BW_OK)) {
		printf("#   %s\n", err.msg);
		return NULL;
	}
	return st;
}

static void
test_store(void)
{
	static const struct rec recs[] = {
		/* evil.example: two active records merge; the revoked and the
		 * expired ones must not contribute */
		{"evil.example", "feed-a", 50, 0, 0, "malware:emotet,tag:c2"},
		{"evil.example", "feed-b", 80, 0, 0, "actor:ta542,tag:c2"},
		{"evil.example", "feed-c", 100, 1, 0, "tag:revoked-only"},
		{"evil.example", "feed-d", 95, 0, NOW - 2000, "tag:expired-only"},
		{"gone.example", "feed-a", 90, 1, 0, NULL},
		{"old.example", "feed-a", 90, 0, NOW - 2000, NULL},
		/* valid at upsert time, expired by the time of the build */
		{"later.example", "feed-a", 20, 0, NOW - 500, "tag:short-lived"},
		{"noconf.example", "feed-b", -1, 0, 0, NULL},
		{"198.51.100.0/24", "feed-a", 30, 0, 0, "tag:scanner"},
		{"2001:db8::/32", "feed-b", -1, 0, 0, NULL},
		{"http://evil.example/x.exe", "feed-a", 70, 0, 0, "malware:emotet"},
		{"bad@evil.example", "feed-b", -1, 0, 0, NULL},
		{"d41d8cd98f00b204e9800998ecf8427e", "feed-c", 10, 0, 0, NULL},
		{"revoked.example", "feed-a", 50, 0, 0, NULL},
	};
	struct bw_store *st = new_store("store.db");
	struct bw_index *ix = NULL;
	struct bw_index_stats s;
	struct bw_err err = {0, ""};
	int bad = 0;

	if (st == NULL)
		return;
	/* an empty store gives an empty snapshot */
	CHECK_INT(bw_index_build(st, NOW, &ix, &err), BW_OK);
	if (ix) {
		bw_index_stats(ix, &s);
		CHECK_INT(s.indicators, 0);
		CHECK_STR(dom(ix, "evil.example"), "");
		bw_index_free(ix);
		ix = NULL;
	}
	bw_store_begin(st, &err);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		bad += put(st, &recs[i], NOW - 1000) != 0;
	/* a later report revokes revoked.example */
	{
		struct rec r = {"revoked.example", "feed-a", 50, 1, 0, NULL};
		bad += put(st, &r, NOW - 10) != 0;
	}
	/* a value no upsert would write: left out and counted */
	bad += sqlite3_exec(bw_store_db(st),
			    "INSERT INTO indicator(type, value, created) VALUES (1, 'Bad.Example', 0);"
			    "INSERT INTO record(indicator_id, source_id, tlp, first_seen, last_seen,"
			    " added, updated) SELECT last_insert_rowid(), min(id), 2, 0, 0, 0, 0"
			    " FROM source", NULL, NULL, NULL) != SQLITE_OK;
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK_INT(bad, 0);

	CHECK_INT(bw_index_build(st, NOW, &ix, &err), BW_OK);
	if (ix == NULL) {
		printf("#   %s\n", err.msg);
		goto out;
	}
	bw_index_stats(ix, &s);
	CHECK_INT(s.indicators, 7);
	CHECK_INT(s.by_type[BW_IOC_DOMAIN], 2);
	CHECK_INT(s.by_type[BW_IOC_CIDR], 2);
	CHECK_INT(s.by_type[BW_IOC_URL], 1);
	CHECK_INT(s.by_type[BW_IOC_EMAIL], 1);
	CHECK_INT(s.by_type[BW_IOC_MD5], 1);
	CHECK_INT(s.records, 9);
	CHECK_INT(s.skipped, 1);
	CHECK_INT(s.built, NOW);

	CHECK_INT(bw_index_lookup_domain(ix, "www.evil.example", 16, mbuf, 4), 1);
	CHECK_INT(mbuf[0].confidence, 80);
	CHECK_STR(tags_of(&mbuf[0]), "actor:ta542,malware:emotet,tag:c2");
	CHECK(mbuf[0].store_id > 0);
	CHECK_STR(dom(ix, "gone.example"), "");
	CHECK_STR(dom(ix, "old.example"), "");
	CHECK_STR(dom(ix, "later.example"), "");
	CHECK_STR(dom(ix, "revoked.example"), "");
	CHECK_INT(bw_index_lookup_domain(ix, "noconf.example", 14, mbuf, 4), 1);
	CHECK_INT(mbuf[0].confidence, -1);
	CHECK_INT(mbuf[0].ntags, 0);
	CHECK_STR(ip(ix, "198.51.100.1"), "198.51.100.0/24");
	CHECK_STR(ip(ix, "2001:db8:ffff::1"), "2001:db8::/32");
	CHECK_STR(url(ix, "http://evil.example/x.exe"), "http://evil.example/x.exe,evil.example");
	CHECK_STR(exact(ix, BW_IOC_EMAIL, "bad@evil.example"), "bad@evil.example");
	CHECK_STR(exact(ix, BW_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e"),
		  "d41d8cd98f00b204e9800998ecf8427e");
	bw_index_free(ix);
	ix = NULL;

	/* at an earlier time later.example is still active */
	CHECK_INT(bw_index_build(st, NOW - 600, &ix, &err), BW_OK);
	if (ix) {
		CHECK_INT(bw_index_lookup_domain(ix, "later.example", 13, mbuf, 4), 1);
		CHECK_STR(tags_of(&mbuf[0]), "tag:short-lived");
		bw_index_stats(ix, &s);
		CHECK_INT(s.indicators, 8);
		bw_index_free(ix);
		ix = NULL;
	}
	/* the build also works inside the caller's transaction */
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(bw_index_build(st, NOW, &ix, &err), BW_OK);
	bw_store_rollback(st);
	bw_index_free(ix);
	ix = NULL;
out:
	bw_store_close(st);
}

/* ---- the holder (one thread; tests/unit/test_index_mt.c runs many) ---- */

static struct bw_index *
one_domain(const char *d)
{
	struct bw_index_builder *b = new_builder();

	add(b, BW_IOC_DOMAIN, d, -1, NULL);
	return finish(b);
}

static void
test_holder(void)
{
	struct bw_index_holder *h = NULL;
	struct bw_index_reader *r1 = NULL, *r2 = NULL, *r3 = NULL;
	const struct bw_index *s;
	struct bw_err err = {0, ""};

	CHECK_INT(bw_index_holder_new(0, &h, &err), BW_EINVAL);
	CHECK_INT(bw_index_holder_new(2, &h, &err), BW_OK);
	CHECK_INT(bw_index_reader_new(h, &r1, &err), BW_OK);
	CHECK_INT(bw_index_reader_new(h, &r2, &err), BW_OK);
	CHECK_INT(bw_index_reader_new(h, &r3, &err), BW_ELIMIT);
	CHECK(r3 == NULL);
	CHECK_INT(bw_index_holder_generation(h), 0);

	s = bw_index_acquire(r1);
	CHECK(s == NULL);
	bw_index_release(r1);

	CHECK_INT(bw_index_holder_publish(h, one_domain("first.example"), &err), BW_OK);
	s = bw_index_acquire(r1);
	CHECK(s != NULL);
	CHECK_STR(dom(s, "www.first.example"), "first.example");
	/* r1 keeps the first snapshot alive across a publish */
	CHECK_INT(bw_index_holder_publish(h, one_domain("second.example"), &err), BW_OK);
	CHECK_INT(bw_index_holder_reclaim(h), 1);
	CHECK_STR(dom(s, "www.first.example"), "first.example");
	{
		const struct bw_index *s2 = bw_index_acquire(r2);
		CHECK(s2 != s);
		CHECK_STR(dom(s2, "www.second.example"), "second.example");
		CHECK_STR(dom(s2, "www.first.example"), "");
		bw_index_release(r2);
	}
	bw_index_release(r1);
	CHECK_INT(bw_index_holder_reclaim(h), 0);
	/* a third publish with nobody reading frees the second at once */
	CHECK_INT(bw_index_holder_publish(h, one_domain("third.example"), &err), BW_OK);
	CHECK_INT(bw_index_holder_reclaim(h), 0);
	CHECK_INT(bw_index_holder_generation(h), 3);
	/* slots come back */
	bw_index_reader_free(r2);
	CHECK_INT(bw_index_reader_new(h, &r3, &err), BW_OK);
	s = bw_index_acquire(r3);
	CHECK_STR(dom(s, "third.example"), "third.example");
	bw_index_release(r3);
	bw_index_reader_free(r3);
	bw_index_reader_free(r1);
	bw_index_holder_free(h);
}

/* ---- a real extract: Maltrail static trails --------------------------- */

struct listed {
	enum bw_ioc_type type;
	char value[256];
};

static int
cmp_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->type != y->type)
		return (int)x->type - (int)y->type;
	return strcmp(x->value, y->value);
}

static void
test_maltrail(void)
{
	const char *dir = getenv("BW_TEST_DATA");
	char path[1024], line[2048];
	FILE *f;
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	struct bw_index_stats st;
	struct listed *l = calloc(4000, sizeof(*l));
	size_t nl = 0, rows[4] = {0, 0, 0, 0}, distinct[BW_IOC_NTYPES] = {0};
	int bad = 0;

	snprintf(path, sizeof(path), "%s/index/maltrail_sample.csv", dir ? dir : "tests/data");
	f = fopen(path, "r");
	if (!CHECK(f != NULL && l != NULL)) {
		free(l);
		bw_index_builder_free(b);
		return;
	}
	while (fgets(line, sizeof(line), f) && nl < 4000) {
		char *fld[4], *val, *type, *cat, *fam, tags[300];
		struct bw_ioc ioc;
		enum bw_ioc_type hint;
		int k;

		line[strcspn(line, "\r\n")] = '\0';
		if (split(line, ',', fld, 4) != 4)
			continue;
		val = fld[0];
		type = fld[1];
		cat = fld[2];
		fam = fld[3];
		if (strcmp(val, "indicator") == 0)
			continue;
		if (strcmp(type, "domain") == 0) {
			k = 0;
			hint = BW_IOC_DOMAIN;
		} else if (strcmp(type, "ip") == 0) {
			k = 1;
			hint = BW_IOC_ANY; /* "address:port" */
		} else if (strcmp(type, "cidr") == 0) {
			k = 2;
			hint = BW_IOC_CIDR;
		} else if (strcmp(type, "url") == 0) {
			k = 3;
			hint = BW_IOC_URL;
		} else {
			continue;
		}
		rows[k]++;
		if (bw_ioc_parse(val, strlen(val), hint, &ioc, NULL) != BW_OK || ioc.len > 255)
			continue;
		snprintf(tags, sizeof(tags), "%s:%s",
			 strcmp(cat, "malware") == 0 ? "malware" : "tag", fam);
		if (add(b, ioc.type, ioc.value, -1, tags) != BW_OK) {
			bad++;
			continue;
		}
		l[nl].type = ioc.type;
		memcpy(l[nl].value, ioc.value, ioc.len + 1);
		nl++;
	}
	fclose(f);
	ix = finish(b);
	CHECK_INT(bad, 0);
	/* rows per type, as awk -F, '{print $2}' | sort | uniq -c counts them */
	CHECK_INT(rows[0], 932);
	CHECK_INT(rows[1], 545);
	CHECK_INT(rows[2], 898);
	CHECK_INT(rows[3], 510);
	qsort(l, nl, sizeof(*l), cmp_listed);
	for (size_t i = 0; i < nl; i++)
		if (i == 0 || cmp_listed(&l[i - 1], &l[i]) != 0)
			distinct[l[i].type]++;
	bw_index_stats(ix, &st);
	CHECK_INT(st.by_type[BW_IOC_DOMAIN], distinct[BW_IOC_DOMAIN]);
	/* two "domain" rows are IPv6 addresses, rejected as domains */
	CHECK_INT(st.by_type[BW_IOC_DOMAIN], 930);
	/* 525 distinct addresses once the ports are dropped, and three
	 * "cidr" rows are /32s, which are addresses */
	CHECK_INT(st.by_type[BW_IOC_IPV4], 525 + 3);
	CHECK_INT(st.by_type[BW_IOC_CIDR], 898 - 3);
	/* the URLs that name a host (the other 300 are bare paths) */
	CHECK_INT(st.by_type[BW_IOC_URL], distinct[BW_IOC_URL]);
	CHECK_INT(distinct[BW_IOC_URL], 210);

	/* every listed value is found as itself and under it */
	bad = 0;
	for (size_t i = 0; i < nl; i++) {
		char q[600];
		size_t n, j;
		const struct listed *x = &l[i];
		if (x->type == BW_IOC_DOMAIN) {
			snprintf(q, sizeof(q), "Sub.%s.", x->value);
			for (char *p = q; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			n = bw_index_lookup_domain(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);
		} else if (x->type == BW_IOC_IPV4) {
			n = bw_index_lookup_ip(ix, x->value, strlen(x->value), mbuf, 1);
			if (n < 1 || strcmp(mbuf[0].value, x->value) != 0)
				bad++;
			continue;
		} else if (x->type == BW_IOC_CIDR) {
			snprintf(q, sizeof(q), "%s", x->value);
			q[strcspn(q, "/")] = '\0';
			n = bw_index_lookup_ip(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX);
		} else {
			n = bw_index_lookup_url(ix, x->value, strlen(x->value), mbuf,
						BW_INDEX_MATCH_MAX);
		}
		for (j = 0; j < n; j++)
			if (mbuf[j].type == x->type && strcmp(mbuf[j].value, x->value) == 0)
				break;
		if (j == n) {
			printf("#   %s not found\n", x->value);
			bad++;
		}
	}
	CHECK_INT(bad, 0);
	/* values from the file */
	CHECK_STR(ip(ix, "104.131.0.77"), "104.131.0.0/24");
	CHECK_STR(tags_of(&mbuf[0]), "tag:mass_scanner_cidr");
	CHECK_STR(ip(ix, "45.88.90.74"), "45.88.90.74");
	CHECK_STR(tags_of(&mbuf[0]), "malware:xworm");
	CHECK_STR(dom(ix, "cdn.nexusultraalliance.click"), "nexusultraalliance.click");
	CHECK_STR(tags_of(&mbuf[0]), "malware:interlock");
	CHECK_STR(dom(ix, "www.tsinghua.ac.cn"), "ac.cn");
	CHECK_STR(url(ix, "http://150.158.44.176"), "http://150.158.44.176/");
	CHECK_STR(dom(ix, "usance.online"), "");
	bw_index_free(ix);
	free(l);
}

/* ---- randomised differential tests ------------------------------------ */

#define DIFF_LISTED 1500
#define DIFF_QUERIES 20000

static const char *const vocab[] = {
	"a", "b", "ab", "ba", "evil", "xevil", "vil", "example", "com", "co",
	"uk", "net", "x-y", "_srv", "xn--bcher-kva", "0", "aa", "b-a",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

static void
random_label(char *out, size_t cap)
{
	if (rnd_below(4) == 0) {
		size_t n = 1 + rnd_below(12);
		for (size_t i = 0; i < n && i + 1 < cap; i++)
			out[i] = "abcdefghijklmnopqrstuvwxyz0123456789-_"[rnd_below(38)];
		out[n < cap ? n : cap - 1] = '\0';
	} else {
		snprintf(out, cap, "%s", vocab[rnd_below(NVOCAB)]);
	}
}

static void
random_name(char *out, size_t cap, unsigned labels)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < labels; i++) {
		char lab[32];
		random_label(lab, sizeof(lab));
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "." : "", lab);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The reference: lower-case, drop one trailing dot, check the name, then
 * every listed name the query equals or ends with after a dot, longest
 * first. */
static const char *
naive_domain(char *const *listed, size_t n, const char *query)
{
	char q[512];
	size_t ql = strlen(query), used = 0, label = 0;
	const char *hits[64];
	size_t nh = 0;

	if (ql > 0 && query[ql - 1] == '.')
		ql--;
	if (ql == 0 || ql > 253)
		return "";
	for (size_t i = 0; i < ql; i++) {
		char c = (char)tolower((unsigned char)query[i]);
		if (c == '.') {
			if (label == 0)
				return "";
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			if (++label > 63)
				return "";
		} else {
			return "";
		}
		q[i] = c;
	}
	if (label == 0)
		return "";
	q[ql] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(listed[i]);
		if (dl > ql || strcmp(q + ql - dl, listed[i]) != 0)
			continue;
		if (dl < ql && q[ql - dl - 1] != '.')
			continue;
		if (nh < 64)
			hits[nh++] = listed[i];
	}
	/* longest (most specific) first */
	for (size_t i = 1; i < nh; i++)
		for (size_t j = i; j > 0 && strlen(hits[j]) > strlen(hits[j - 1]); j--) {
			const char *t = hits[j];
			hits[j] = hits[j - 1];
			hits[j - 1] = t;
		}
	joined_buf[0] = '\0';
	for (size_t i = 0; i < nh; i++)
		used += (size_t)snprintf(joined_buf + used, sizeof(joined_buf) - used,
					 "%s%s", i ? "," : "", hits[i]);
	return joined_buf;
}

static void
test_differential_domains(void)
{
	char **listed = calloc(DIFF_LISTED, sizeof(char *));
	char **queries = calloc(DIFF_QUERIES, sizeof(char *));
	char **got = calloc(DIFF_QUERIES, sizeof(char *));
	struct bw_index_name *q = calloc(DIFF_QUERIES, sizeof(*q));
	uint32_t hits[200];
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	size_t nl = 0, m = 0, matched = 0;
	int bad = 0, bad_batch = 0;

	rng_state = 0x5eed0001;
	printf("# seed 0x5eed0001\n");
	for (size_t i = 0; i < DIFF_LISTED; i++) {
		char name[300];
		random_name(name, sizeof(name), 2 + rnd_below(3));
		/* sometimes a subdomain of an earlier one, so that both are listed */
		if (i > 10 && rnd_below(4) == 0) {
			char lab[32];
			random_label(lab, sizeof(lab));
			snprintf(name, sizeof(name), "%s.%s", lab, listed[rnd_below((unsigned)i)]);
		}
		listed[i] = strdup(name);
	}
	qsort(listed, DIFF_LISTED, sizeof(char *), cmp_str);
	for (size_t i = 0; i < DIFF_LISTED; i++) {
		if (nl > 0 && strcmp(listed[nl - 1], listed[i]) == 0) {
			free(listed[i]);
			continue;
		}
		listed[nl++] = listed[i];
	}
	for (size_t i = 0; i < nl; i++)
		if (add(b, BW_IOC_DOMAIN, listed[i], -1, NULL) != BW_OK)
			bad++;
	CHECK_INT(bad, 0);
	ix = finish(b);

	for (size_t i = 0; i < DIFF_QUERIES; i++) {
		char name[600], pre[300];
		unsigned kind = rnd_below(10);
		if (kind < 4) {
			random_name(pre, sizeof(pre), rnd_below(4));
			snprintf(name, sizeof(name), "%s%s%s", pre, pre[0] ? "." : "",
				 listed[rnd_below((unsigned)nl)]);
		} else {
			random_name(name, sizeof(name), 1 + rnd_below(6));
		}
		if (rnd_below(2))
			for (char *p = name; *p; p++)
				if (rnd_below(3) == 0)
					*p = (char)toupper((unsigned char)*p);
		if (rnd_below(4) == 0)
			strncat(name, ".", sizeof(name) - strlen(name) - 1);
		if (rnd_below(20) == 0) {
			/* damage: an empty label somewhere */
			size_t at = rnd_below((unsigned)strlen(name) + 1);
			memmove(name + at + 1, name + at, strlen(name) - at + 1);
			name[at] = '.';
		}
		queries[i] = strdup(name);
	}
	for (size_t i = 0; i < DIFF_QUERIES; i++) {
		const char *want;
		char *g = strdup(dom(ix, queries[i]));
		want = naive_domain(listed, nl, queries[i]);
		matched += want[0] != '\0';
		if (strcmp(g, want) != 0 && bad++ < 5)
			printf("#   %s: got \"%s\", want \"%s\"\n", queries[i], g, want);
		got[i] = g;
	}
	CHECK_INT(bad, 0);
	CHECK(matched > DIFF_QUERIES / 4);
	printf("# %zu listed, %zu of %d queries match\n", nl, matched, DIFF_QUERIES);

	/* the batched look-up agrees, also when its hit buffer runs short */
	for (size_t i = 0; i < DIFF_QUERIES; i++) {
		q[i].name = queries[i];
		q[i].len = strlen(queries[i]);
	}
	while (m < DIFF_QUERIES) {
		size_t k = bw_index_lookup_domains(ix, q + m, DIFF_QUERIES - m, hits,
						   sizeof(hits) / sizeof(hits[0]));
		if (k == 0) {
			bad_batch++;
			break;
		}
		for (size_t i = m; i < m + k; i++) {
			struct bw_index_match mm[BW_INDEX_MATCH_MAX];
			for (uint32_t j = 0; j < q[i].n; j++)
				bw_index_get(ix, hits[q[i].first + j], &mm[j]);
			if (strcmp(joined(mm, q[i].n), got[i]) != 0)
				bad_batch++;
		}
		m += k;
	}
	CHECK_INT(bad_batch, 0);
	for (size_t i = 0; i < DIFF_QUERIES; i++) {
		free(queries[i]);
		free(got[i]);
	}
	for (size_t i = 0; i < nl; i++)
		free(listed[i]);
	free(listed);
	free(queries);
	free(got);
	free(q);
	bw_index_free(ix);
}

struct pfx {
	int family, len;
	uint8_t a[16];
	char text[80];
};

static int
covers(const struct pfx *p, const uint8_t *a)
{
	int full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->a, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((p->a[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static int
cmp_pfx(const void *x, const void *y)
{
	const struct pfx *a = x, *b = y;

	return a->family != b->family ? a->family - b->family : strcmp(a->text, b->text);
}

static void
random_addr(int family, const uint8_t anchors[][16], uint8_t *out)
{
	int bits = family == 4 ? 32 : 128;

	if (rnd_below(5) == 0) {
		for (int i = 0; i < 16; i++)
			out[i] = (uint8_t)rnd();
	} else {
		/* near an anchor: flip a few of the low bits */
		int k = (int)rnd_below((unsigned)bits + 1);
		memcpy(out, anchors[rnd_below(6)], 16);
		for (int i = bits - k; i < bits; i++)
			if (rnd_below(2))
				out[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
	if (family == 4)
		memset(out + 4, 0, 12);
}

static void
test_differential_addrs(void)
{
	struct pfx *p = calloc(2 * DIFF_LISTED, sizeof(*p));
	struct bw_index_addr_query *q = calloc(DIFF_QUERIES, sizeof(*q));
	char **got = calloc(DIFF_QUERIES, sizeof(char *));
	uint8_t anchors[2][6][16];
	uint32_t hits[300];
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	size_t np = 0, n = 0, m = 0, matched = 0, lens_seen[129] = {0};
	int bad = 0, bad_batch = 0;

	rng_state = 0x5eed0002;
	printf("# seed 0x5eed0002\n");
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 6; i++)
			for (int k = 0; k < 16; k++)
				anchors[f][i][k] = (uint8_t)rnd();
	for (size_t i = 0; i < 2 * DIFF_LISTED; i++) {
		int family = i % 2 ? 6 : 4, bits = family == 4 ? 32 : 128;
		struct pfx *x = &p[np];
		x->family = family;
		x->len = 1 + (int)rnd_below((unsigned)bits);
		random_addr(family, anchors[family == 6], x->a);
		if (x->len <= 4) {
			/* the shortest only around anchor 0, so that the rest
			 * of the space has misses */
			memcpy(x->a, anchors[family == 6][0], 16);
		}
		for (int k = x->len; k < 128; k++)
			x->a[k / 8] &= (uint8_t)~(0x80 >> (k % 8));
		prefix_text(family, x->a, x->len, x->text, sizeof(x->text));
		np++;
	}
	qsort(p, np, sizeof(*p), cmp_pfx);
	for (size_t i = 0; i < np; i++) {
		if (n > 0 && cmp_pfx(&p[n - 1], &p[i]) == 0)
			continue;
		p[n++] = p[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (add(b, prefix_type(p[i].family, p[i].len), p[i].text, -1, NULL) != BW_OK)
			bad++;
		lens_seen[p[i].len]++;
	}
	CHECK_INT(bad, 0);
	{
		int all = 1;
		for (int l = 1; l <= 32; l++)
			all &= lens_seen[l] > 0;
		CHECK(all); /* every IPv4 length occurs (IPv6 ones mostly) */
	}
	ix = finish(b);

	for (size_t i = 0; i < DIFF_QUERIES; i++) {
		int family = rnd_below(2) ? 6 : 4;
		const struct pfx *hit[130];
		size_t nh = 0, used = 0;
		char want[8192], txt[INET6_ADDRSTRLEN];
		struct bw_index_addr *a = &q[i].a;
		size_t k;

		a->family = (uint8_t)family;
		random_addr(family, anchors[family == 6], a->addr);
		for (size_t j = 0; j < n; j++)
			if (p[j].family == family && covers(&p[j], a->addr) && nh < 130)
				hit[nh++] = &p[j];
		for (size_t x = 1; x < nh; x++)
			for (size_t y = x; y > 0 && hit[y]->len > hit[y - 1]->len; y--) {
				const struct pfx *t = hit[y];
				hit[y] = hit[y - 1];
				hit[y - 1] = t;
			}
		want[0] = '\0';
		for (size_t x = 0; x < nh; x++)
			used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
						 x ? "," : "", hit[x]->text);
		matched += nh > 0;
		/* through the text path too, to cover the parser */
		inet_ntop(family == 4 ? AF_INET : AF_INET6, a->addr, txt, sizeof(txt));
		k = bw_index_lookup_ip(ix, txt, strlen(txt), mbuf, BW_INDEX_MATCH_MAX);
		got[i] = strdup(joined(mbuf, k));
		if (strcmp(got[i], want) != 0 && bad++ < 5)
			printf("#   %s: got \"%s\", want \"%s\"\n", txt, got[i], want);
	}
	CHECK_INT(bad, 0);
	CHECK(matched > DIFF_QUERIES / 4);
	CHECK(matched < DIFF_QUERIES);
	printf("# %zu prefixes, %zu of %d addresses covered\n", n, matched, DIFF_QUERIES);

	while (m < DIFF_QUERIES) {
		size_t k = bw_index_lookup_addrs(ix, q + m, DIFF_QUERIES - m, hits,
						 sizeof(hits) / sizeof(hits[0]));
		if (k == 0) {
			bad_batch++;
			break;
		}
		for (size_t i = m; i < m + k; i++) {
			struct bw_index_match mm[BW_INDEX_MATCH_MAX];
			for (uint32_t j = 0; j < q[i].n; j++)
				bw_index_get(ix, hits[q[i].first + j], &mm[j]);
			if (strcmp(joined(mm, q[i].n), got[i]) != 0)
				bad_batch++;
		}
		m += k;
	}
	CHECK_INT(bad_batch, 0);
	for (size_t i = 0; i < DIFF_QUERIES; i++)
		free(got[i]);
	free(got);
	free(p);
	free(q);
	bw_index_free(ix);
}

/* ---- fast paths: address parsing, canonical prefixes, records out of
 * order, the /24 bitmap --------------------------------------------------- */

/* bw_index_parse_addr() reads IPv4 exactly as bw_ioc_parse_ipv4() does
 * (its register-only fast path must agree on every string), on dotted
 * quads, near-misses and random strings of digits and dots. */
static void
test_parse_addr_fast(void)
{
	static const char *const fixed[] = {
		"1.2.3.4", "10.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4",
		"1.2.3.04", "0.0.0.0", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3",
		"1.2.3.4.5", "1000.1.1.1", "1.2.3.1000", "199.255.249.250",
		"99.99.99.99", "100.100.100.100", "1.2.3.4a", "1.2.3.-4", "1 2.3.4",
		"12.34.56.789", "123.045.6.7", "9.9.9.9", "00.0.0.0",
	};
	char s[32];
	long bad = 0, valid = 0;

	rng_state = 0x5eed0003;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 400000; i++) {
		size_t n;
		uint8_t want[4];
		struct bw_index_addr a;
		int w, g;
		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			n = strlen(fixed[i]);
			memcpy(s, fixed[i], n);
		} else if (i % 3 == 0) {
			uint32_t x = (uint32_t)rnd();
			n = (size_t)snprintf(s, sizeof(s), "%u.%u.%u.%u", x >> 24,
					     (x >> 16) & 255, (x >> 8) & 255, x & 255);
		} else if (i % 3 == 1) {
			n = (size_t)snprintf(s, sizeof(s), "%u.%u.%u.%u", rnd_below(300),
					     rnd_below(1000), rnd_below(30), rnd_below(260));
		} else {
			n = 1 + rnd_below(16);
			for (size_t k = 0; k < n; k++)
				s[k] = "0123456789.:x"[rnd_below(i % 5 ? 11 : 13)];
		}
		s[n] = '7'; /* a digit after the end must not be read */
		w = bw_ioc_parse_ipv4(s, n, want) ? 1 : 0;
		g = bw_index_parse_addr(s, n, &a) == 1 && a.family == 4;
		valid += w;
		if (w != g || (w && memcmp(want, a.addr, 4) != 0)) {
			if (bad++ < 5)
				printf("#   '%.*s': want %d, got %d\n", (int)n, s, w, g);
		}
	}
	CHECK_INT(bad, 0);
	CHECK(valid > 130000);
}

/* The builder takes canonical addresses and CIDRs without a re-parse, and
 * still refuses every non-canonical spelling of them. */
static void
test_canonical_prefixes(void)
{
	static const struct {
		enum bw_ioc_type type;
		const char *value;
		int ok;
	} cases[] = {
		{BW_IOC_IPV4, "192.0.2.1", 1},
		{BW_IOC_IPV4, "192.0.2.01", 0},
		{BW_IOC_IPV4, "192.0.2.1/32", 0},
		{BW_IOC_CIDR, "192.0.2.0/24", 1},
		{BW_IOC_CIDR, "192.0.2.1/24", 0},   /* host bits */
		{BW_IOC_CIDR, "10.0.0.128/25", 1},
		{BW_IOC_CIDR, "10.0.0.64/25", 0},   /* in the byte the prefix ends in */
		{BW_IOC_CIDR, "10.128.0.0/9", 1},
		{BW_IOC_CIDR, "10.64.0.0/9", 0},
		{BW_IOC_CIDR, "10.0.0.1/9", 0},     /* in a whole byte after it */
		{BW_IOC_CIDR, "10.0.0.0/8", 1},
		{BW_IOC_CIDR, "10.0.1.0/8", 0},
		{BW_IOC_CIDR, "192.0.2.0/024", 0},
		{BW_IOC_CIDR, "192.0.2.1/32", 0},   /* that is an address */
		{BW_IOC_CIDR, "192.0.2.0/0", 0},
		{BW_IOC_CIDR, "192.0.2.0", 0},
		{BW_IOC_IPV6, "2001:db8::1", 1},
		{BW_IOC_IPV6, "2001:db8:0:0:0:0:0:1", 0},
		{BW_IOC_IPV6, "2001:DB8::1", 0},
		{BW_IOC_IPV6, "2001:0db8::1", 0},
		{BW_IOC_IPV6, "2001:db8::0:1", 0},
		{BW_IOC_IPV6, "2001:db8:0::1", 0},
		{BW_IOC_IPV6, "1::2:0:0:0:3", 0},    /* the longer run goes */
		{BW_IOC_IPV6, "1:0:0:2::3", 1},
		{BW_IOC_IPV6, "1::2:0:0:3", 1},      /* the first of equals */
		{BW_IOC_IPV6, "1:0:0:2:0:0:0:3", 0},
		{BW_IOC_IPV6, "1:0:0:0:2::3", 0},
		{BW_IOC_IPV6, "1:2:3:4:5:6:7::", 0}, /* one zero group */
		{BW_IOC_IPV6, "1:2:3:4:5:6:7:0", 1},
		{BW_IOC_IPV6, "::", 1},
		{BW_IOC_IPV6, "::1", 1},
		{BW_IOC_IPV6, "::ffff:192.0.2.1", 1}, /* inet_ntop's dotted form */
		{BW_IOC_IPV6, "::ffff:c000:201", 0},
		{BW_IOC_IPV6, "192.0.2.1", 0},
		{BW_IOC_CIDR, "2001:db8::/32", 1},
		{BW_IOC_CIDR, "2001:db8::1/32", 0},
		{BW_IOC_CIDR, "2001:db8::/128", 0},
		{BW_IOC_CIDR, "2001:db8::/33", 1},
		{BW_IOC_CIDR, "2001:db8:8000::/33", 1},
		{BW_IOC_CIDR, "2001:db8:4000::/33", 0},
		{BW_IOC_CIDR, "2001:db8::1:0/112", 1},
		{BW_IOC_CIDR, "2001:db8::1/112", 0},
	};
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = add(b, cases[i].type, cases[i].value, -1, NULL);
		if ((rc == BW_OK) != cases[i].ok && bad++ < 5)
			printf("#   %s: got %d\n", cases[i].value, rc);
	}
	CHECK_INT(bad, 0);
	ix = finish(b);
	CHECK_STR(ip(ix, "192.0.2.1"), "192.0.2.1,192.0.2.0/24");
	CHECK_STR(ip(ix, "2001:db8::1"), "2001:db8::1,2001:db8::/33,2001:db8::/32");
	CHECK_STR(ip(ix, "1::2:0:0:3"), "1::2:0:0:3");
	CHECK_STR(ip(ix, "::ffff:192.0.2.1"), "::ffff:192.0.2.1");
	bw_index_free(ix);
}

/* Enough IPv4 prefixes for the /24 bitmap (4096 or more): every answer
 * equals a brute-force scan, singly and batched, at the bitmap's block
 * edges too. */
static void
test_lpm_bitmap(void)
{
	enum { NP = 5000, NQ = 20000 };
	struct pfx *p = calloc(NP, sizeof(*p));
	struct bw_index_addr_query *q = calloc(NQ, sizeof(*q));
	uint32_t *hits = calloc((size_t)NQ * 33, sizeof(*hits));
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	size_t n = 0, done = 0, matched = 0;
	int bad = 0;

	rng_state = 0x5eed0004;
	for (size_t i = 0; i < NP; i++) {
		struct pfx *x = &p[i];
		uint32_t a = (uint32_t)rnd();
		unsigned k = rnd_below(100);
		x->family = 4;
		x->len = k < 60 ? 32 : k < 97 ? 24 + (int)rnd_below(8) : 12 + (int)rnd_below(12);
		if (i % 4 == 1 && i > 0)
			a = (uint32_t)p[rnd_below((unsigned)i)].a[0] << 24 |
			    (a & 0xffffff); /* crowd some /8s */
		if (x->len < 32)
			a &= ~(uint32_t)0 << (32 - x->len);
		memset(x->a, 0, 16);
		x->a[0] = (uint8_t)(a >> 24);
		x->a[1] = (uint8_t)(a >> 16);
		x->a[2] = (uint8_t)(a >> 8);
		x->a[3] = (uint8_t)a;
		prefix_text(4, x->a, x->len, x->text, sizeof(x->text));
	}
	qsort(p, NP, sizeof(*p), cmp_pfx);
	for (size_t i = 0; i < NP; i++)
		if (n == 0 || cmp_pfx(&p[n - 1], &p[i]) != 0)
			p[n++] = p[i];
	for (size_t i = 0; i < n; i++)
		bad += add(b, prefix_type(4, p[i].len), p[i].text, -1, NULL) != BW_OK;
	CHECK_INT(bad, 0);
	CHECK(n > 4096); /* the bitmap is built from 4096 */
	ix = finish(b);
	for (size_t i = 0; i < NQ; i++) {
		struct bw_index_addr *a = &q[i].a;
		const struct pfx *x = &p[rnd_below((unsigned)n)];
		uint32_t v;
		a->family = 4;
		memset(a->addr, 0, 16);
		switch (i % 4) {
		case 0: v = (uint32_t)rnd(); break;
		case 1: /* inside a prefix */
			v = ((uint32_t)x->a[0] << 24 | (uint32_t)x->a[1] << 16 |
			     (uint32_t)x->a[2] << 8 | x->a[3]) |
			    (x->len < 32 ? (uint32_t)rnd() & ~(~(uint32_t)0 << (32 - x->len)) : 0);
			break;
		case 2: /* the /24 before or after a prefix's */
			v = ((uint32_t)x->a[0] << 24 | (uint32_t)x->a[1] << 16 |
			     (uint32_t)x->a[2] << 8) + (rnd_below(2) ? 256u : (uint32_t)-1);
			break;
		default: /* the first or last address of a prefix's /24 */
			v = ((uint32_t)x->a[0] << 24 | (uint32_t)x->a[1] << 16 |
			     (uint32_t)x->a[2] << 8) | (rnd_below(2) ? 255u : 0u);
			break;
		}
		a->addr[0] = (uint8_t)(v >> 24);
		a->addr[1] = (uint8_t)(v >> 16);
		a->addr[2] = (uint8_t)(v >> 8);
		a->addr[3] = (uint8_t)v;
	}
	while (done < NQ) {
		size_t k = bw_index_lookup_addrs(ix, q + done, NQ - done, hits,
						 (size_t)NQ * 33);
		if (k == 0)
			break;
		done += k;
	}
	CHECK_INT(done, NQ);
	for (size_t i = 0; i < NQ; i++) {
		const struct pfx *hit[33];
		size_t nh = 0, k, used = 0;
		char want[2048], single[2048];
		struct bw_index_match mm[BW_INDEX_MATCH_MAX];
		for (size_t j = 0; j < n; j++)
			if (covers(&p[j], q[i].a.addr) && nh < 33)
				hit[nh++] = &p[j];
		for (size_t x = 1; x < nh; x++)
			for (size_t y = x; y > 0 && hit[y]->len > hit[y - 1]->len; y--) {
				const struct pfx *t = hit[y];
				hit[y] = hit[y - 1];
				hit[y - 1] = t;
			}
		want[0] = '\0';
		for (size_t x = 0; x < nh; x++)
			used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
						 x ? "," : "", hit[x]->text);
		matched += nh > 0;
		k = bw_index_lookup_addr(ix, &q[i].a, mbuf, BW_INDEX_MATCH_MAX);
		snprintf(single, sizeof(single), "%s", joined(mbuf, k));
		for (uint32_t j = 0; j < q[i].n; j++)
			bw_index_get(ix, hits[q[i].first + j], &mm[j]);
		if ((strcmp(single, want) != 0 || strcmp(joined(mm, q[i].n), want) != 0) &&
		    bad++ < 5)
			printf("#   query %zu: got \"%s\", want \"%s\"\n", i, single, want);
	}
	CHECK_INT(bad, 0);
	CHECK(matched > NQ / 4);
	printf("# %zu prefixes, %zu of %d addresses covered\n", n, matched, NQ);
	bw_index_free(ix);
	free(p);
	free(q);
	free(hits);
}

/* The store read joins records to indicators itself: a record added
 * later to an earlier indicator (records out of indicator order) still
 * merges, and a record whose indicator is missing is ignored. */
static void
test_store_order(void)
{
	static const struct rec recs[] = {
		{"first.example", "feed-a", 40, 0, 0, "tag:one"},
		{"second.example", "feed-a", 50, 0, 0, NULL},
		{"203.0.113.0/24", "feed-a", 10, 0, 0, NULL},
		{"first.example", "feed-b", 90, 0, 0, "tag:two,actor:x"},
		{"second.example", "feed-c", 95, 1, 0, "tag:revoked"},
	};
	struct bw_store *st = new_store("order.db");
	struct bw_index *ix = NULL;
	struct bw_index_stats s;
	struct bw_err err = {0, ""};
	int bad = 0;

	if (st == NULL)
		return;
	bw_store_begin(st, &err);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		bad += put(st, &recs[i], NOW - 1000) != 0;
	bad += sqlite3_exec(bw_store_db(st),
			    "INSERT INTO record(indicator_id, source_id, confidence, tlp,"
			    " first_seen, last_seen, added, updated)"
			    " SELECT 999999, min(id), 100, 2, 0, 0, 0, 0 FROM source",
			    NULL, NULL, NULL) != SQLITE_OK;
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK_INT(bad, 0);
	CHECK_INT(bw_index_build(st, NOW, &ix, &err), BW_OK);
	if (ix == NULL) {
		printf("#   %s\n", err.msg);
		goto out;
	}
	bw_index_stats(ix, &s);
	CHECK_INT(s.indicators, 3);
	CHECK_INT(s.records, 4);
	CHECK_INT(bw_index_lookup_domain(ix, "a.first.example", 15, mbuf, 4), 1);
	CHECK_INT(mbuf[0].confidence, 90);
	CHECK_STR(tags_of(&mbuf[0]), "actor:x,tag:one,tag:two");
	CHECK_INT(bw_index_lookup_domain(ix, "second.example", 14, mbuf, 4), 1);
	CHECK_INT(mbuf[0].confidence, 50);
	CHECK_INT(mbuf[0].ntags, 0);
	CHECK_STR(ip(ix, "203.0.113.9"), "203.0.113.0/24");
	bw_index_free(ix);
out:
	bw_store_close(st);
}

/* What a snapshot says about one value: its matches with confidence,
 * store id and tags, as one line. */
static const char *
describe(const struct bw_index *ix, const char *q, char *buf, size_t cap)
{
	size_t n = 0, used = 0;
	struct bw_err err = {0, ""};

	buf[0] = '\0';
	if (bw_index_lookup(ix, q, strlen(q), mbuf, BW_INDEX_MATCH_MAX, &n, &err))
		return "(error)";
	for (size_t i = 0; i < n && used < cap; i++) {
		const struct bw_index_match *m = &mbuf[i];
		used += (size_t)snprintf(buf + used, cap - used, "%s%s/%d/%lld/%s%s", i ? ";" : "",
					 m->value, m->confidence, (long long)m->store_id,
					 tags_of(m),
					 bw_index_lapsed(ix, m->id, NOW + 13000) ? "/lapsed" : "");
	}
	return buf;
}

static int
cmp_order4(const void *a, const void *b)
{
	return bw_lpm_order(4, a, b);
}

static int
cmp_order6(const void *a, const void *b)
{
	return bw_lpm_order(6, a, b);
}

/* bw_lpm_sort gives qsort's order by bw_lpm_order, for IPv4 (whose keys
 * are packed with their places into one word) and IPv6, with the same
 * prefix several times under ids in no order. */
static void
test_lpm_sort(void)
{
	enum { N = 60000 };
	struct bw_lpm_prefix *p = calloc(N, sizeof(*p)), *q = calloc(N, sizeof(*q));
	unsigned seed = 0x5eed0003;
	int differ;

	if (p == NULL || q == NULL) {
		CHECK(!"calloc");
		goto out;
	}
	for (int family = 4; family <= 6; family += 2) {
		for (size_t i = 0; i < N; i++) {
			memset(&p[i], 0, sizeof(p[i]));
			/* one in eight a copy of an earlier prefix */
			if (i > 0 && rand_r(&seed) % 8 == 0) {
				p[i] = p[(size_t)rand_r(&seed) % i];
			} else {
				size_t nb = family == 4 ? 4 : 16;
				for (size_t b = 0; b < nb; b++)
					p[i].addr[b] = (uint8_t)(b < 2 ? rand_r(&seed) % 4 : rand_r(&seed));
				p[i].len = (uint8_t)(1 + rand_r(&seed) % (family == 4 ? 32 : 128));
			}
			p[i].id = (uint32_t)rand_r(&seed);
		}
		memcpy(q, p, N * sizeof(*p));
		bw_lpm_sort(family, p, N);
		qsort(q, N, sizeof(*q), family == 4 ? cmp_order4 : cmp_order6);
		differ = 0;
		for (size_t i = 0; i < N; i++)
			differ += memcmp(p[i].addr, q[i].addr, 16) != 0 || p[i].len != q[i].len ||
				  p[i].id != q[i].id;
		CHECK_INT(differ, 0);
	}
out:
	free(p);
	free(q);
}

/* A store large enough for the build to read the indicator table and the
 * last records on a second connection and thread (index.c, indreader) and
 * to join the second half of the indicators there (builder_append): the
 * snapshot is the same as when one thread does everything (affinity to
 * one CPU), value for value.  Some records come late (a second source for
 * an early indicator; they fall in the second thread's share), so the
 * records are out of indicator order in a few places and the build merges
 * them back (sort_arecs); the last third has tag sets the first half
 * never met.  The IPv4 prefix table of the split join is built on a
 * thread of its own (lpm_job) while the IPv6 one is built in finish. */
/* Addresses in no order (a bijection on 16 bits), so that each half of
 * the join sorts prefixes of every part of the address space and the two
 * sorted halves interleave when merged (builder_append). */
#define SCRAMBLE(i) (((i) * 40503u) & 0xffffu)

static void
test_store_two_readers(void)
{
	enum { N = 24000, LATE = 300, V6 = 1000 };
	char value[64], tags[64], a_line[512], b_line[512];
	struct bw_store *st = new_store("readers.db");
	struct bw_index *ix[2] = {NULL, NULL};
	struct bw_index_stats s[2];
	struct bw_err err = {0, ""};
	cpu_set_t all, one;
	int bad = 0, differ = 0, late_seen = 0;

	if (st == NULL)
		return;
	bw_store_begin(st, &err);
	for (unsigned i = 0; i < V6 && bad == 0; i++) {
		struct rec r = {value, "feed-a", (int)(i % 90), 0, 0, "tag:v6"};
		unsigned j = SCRAMBLE(i);
		snprintf(value, sizeof(value), "2001:db8:%x::%x", j >> 4, j);
		bad += put(st, &r, NOW - 1000) != 0;
	}
	for (unsigned i = 0; i < N && bad == 0; i++) {
		/* every fifth record ends at its own time: the indicators keep
		 * when they lapse (index.c, until) */
		struct rec r = {value, "feed-a", (int)(i % 101), i % 50 == 0,
				i % 5 == 0 ? NOW + 1000 + i : 0, i % 3 ? tags : NULL};
		unsigned j = SCRAMBLE(i);
		switch (i % 4) {
		case 0: snprintf(value, sizeof(value), "d%u.example", i); break;
		case 1: snprintf(value, sizeof(value), "10.%u.%u.%u", j >> 16, (j >> 8) & 255, j & 255); break;
		case 2: snprintf(value, sizeof(value), "172.%u.%u.0/24", j >> 8, j & 255); break;
		default: snprintf(value, sizeof(value), "http://u%u.example/p?q=%u", i, i); break;
		}
		/* the last third has tag sets of its own: sets the second
		 * joining thread meets first */
		snprintf(tags, sizeof(tags), "tag:t%u,malware:m%u%s", i % 7, i % 5,
			 i >= 2 * N / 3 ? ",campaign:tail" : "");
		bad += put(st, &r, NOW - 1000) != 0;
	}
	/* late: a second source for early indicators */
	for (unsigned i = 0; i < LATE && bad == 0; i++) {
		struct rec r = {value, "feed-late", 100, 0, 0, "actor:late"};
		snprintf(value, sizeof(value), "d%u.example", 4 * (i + 1));
		bad += put(st, &r, NOW - 500) != 0;
	}
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK_INT(bad, 0);

	if (sched_getaffinity(0, sizeof(all), &all) != 0) {
		CHECK(!"sched_getaffinity");
		goto out;
	}
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	CHECK_INT(bw_index_build(st, NOW, &ix[0], &err), BW_OK);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	CHECK_INT(bw_index_build(st, NOW, &ix[1], &err), BW_OK);
	CHECK(sched_setaffinity(0, sizeof(all), &all) == 0);
	if (ix[0] == NULL || ix[1] == NULL) {
		printf("#   %s\n", err.msg);
		goto out;
	}
	bw_index_stats(ix[0], &s[0]);
	bw_index_stats(ix[1], &s[1]);
	if (CPU_COUNT(&all) >= 2) {
		CHECK_INT(s[0].store_readers, 2);
		CHECK_INT(s[0].join_threads, 2);
	} else {
		printf("# one CPU: the second reader is not exercised\n");
	}
	CHECK_INT(s[1].store_readers, 1);
	CHECK_INT(s[1].join_threads, 1);
	/* revoked: every 50th; a late record revives the ones of them it names
	 * (multiples of 100 up to 4 * LATE) */
	CHECK_INT(s[0].indicators, V6 + N - N / 50 + 4 * LATE / 100);
	CHECK_INT(s[1].indicators, s[0].indicators);
	CHECK_INT(s[0].records, V6 + N - N / 50 + LATE);
	CHECK_INT(s[1].records, s[0].records);
	CHECK_INT(s[0].by_type[BW_IOC_IPV6], V6);
	CHECK_INT(s[0].skipped, 0);
	{
		struct bw_index_source a, b;
		bw_index_source(ix[0], &a);
		bw_index_source(ix[1], &b);
		/* the first record that ends and is not revoked: i = 5 */
		CHECK(a.expires == NOW + 1005 && b.expires == a.expires);
		/* d20's ends at NOW + 1020 while a late record keeps it listed */
		CHECK(a.changes == NOW + 1020 && b.changes == a.changes);
		CHECK_INT(bw_index_lapsed_count(ix[0], NOW + 13000),
			  bw_index_lapsed_count(ix[1], NOW + 13000));
		CHECK(bw_index_lapsed_count(ix[0], NOW + 13000) > 1000);
	}
	CHECK_INT(s[1].tags, s[0].tags);
	CHECK_INT(s[1].tagsets, s[0].tagsets);
	for (int t = 0; t < BW_IOC_NTYPES; t++)
		differ += s[0].by_type[t] != s[1].by_type[t];
	for (unsigned i = 0; i < N; i++) {
		unsigned j = SCRAMBLE(i);
		switch (i % 4) {
		case 0: snprintf(value, sizeof(value), "www.d%u.example", i); break;
		case 1: snprintf(value, sizeof(value), "10.%u.%u.%u", j >> 16, (j >> 8) & 255, j & 255); break;
		case 2: snprintf(value, sizeof(value), "172.%u.%u.77", j >> 8, j & 255); break;
		default: snprintf(value, sizeof(value), "http://u%u.example/p?q=%u", i, i); break;
		}
		describe(ix[0], value, a_line, sizeof(a_line));
		describe(ix[1], value, b_line, sizeof(b_line));
		differ += strcmp(a_line, b_line) != 0;
		/* revoked (i % 50 == 0) unless a late record revived it */
		if (i % 50 == 0 && !(i % 4 == 0 && i >= 4 && i <= 4 * LATE))
			differ += a_line[0] != '\0';
		if (i % 4 == 0 && i >= 4 && i <= 4 * LATE)
			late_seen += strstr(a_line, "/100/") != NULL &&
				     strstr(a_line, "actor:late") != NULL;
	}
	for (unsigned i = 0; i < V6; i++) {
		unsigned j = SCRAMBLE(i);
		snprintf(value, sizeof(value), "2001:db8:%x::%x", j >> 4, j);
		describe(ix[0], value, a_line, sizeof(a_line));
		describe(ix[1], value, b_line, sizeof(b_line));
		differ += strcmp(a_line, b_line) != 0 || strstr(a_line, "tag:v6") == NULL;
	}
	CHECK_INT(differ, 0);
	CHECK_INT(late_seen, LATE);
out:
	bw_index_free(ix[0]);
	bw_index_free(ix[1]);
	bw_store_close(st);
}

/* Enough names that many buckets overflow into their neighbours (a
 * bucket holds 10): every listed name is found, under a subdomain too,
 * and names that differ in one character are not. */
static void
test_many(void)
{
	enum { N = 60000 };
	struct bw_index_builder *b = new_builder();
	struct bw_index *ix;
	struct bw_index_stats st;
	char name[64];
	int bad = 0, found = 0, wrong = 0;

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%d-%x.example", i, i * 2654435761u);
		bad += add(b, BW_IOC_DOMAIN, name, i % 101, NULL) != BW_OK;
		snprintf(name, sizeof(name), "http://u%d.example/p", i);
		bad += add(b, BW_IOC_URL, name, -1, NULL) != BW_OK;
	}
	/* the same names again merge */
	for (int i = 0; i < N; i += 7) {
		snprintf(name, sizeof(name), "h%d-%x.example", i, i * 2654435761u);
		bad += add(b, BW_IOC_DOMAIN, name, 100, NULL) != BW_OK;
	}
	CHECK_INT(bad, 0);
	ix = finish(b);
	bw_index_stats(ix, &st);
	CHECK_INT(st.by_type[BW_IOC_DOMAIN], N);
	CHECK_INT(st.by_type[BW_IOC_URL], N);
	CHECK_INT(st.merged, (N + 6) / 7);
	for (int i = 0; i < N; i++) {
		size_t n;
		snprintf(name, sizeof(name), "X.h%d-%x.Example", i, i * 2654435761u);
		n = bw_index_lookup_domain(ix, name, strlen(name), mbuf, 1);
		if (n == 1 && mbuf[0].confidence == (i % 7 == 0 ? 100 : i % 101))
			found++;
		snprintf(name, sizeof(name), "h%d-%x.examplf", i, i * 2654435761u);
		wrong += bw_index_lookup_domain(ix, name, strlen(name), mbuf, 1) != 0;
		snprintf(name, sizeof(name), "http://u%d.example/p", i);
		found += bw_index_lookup_url(ix, name, strlen(name), mbuf, 1) == 1;
		snprintf(name, sizeof(name), "http://u%d.example/q", i);
		wrong += bw_index_lookup_url(ix, name, strlen(name), mbuf, 1) != 0;
	}
	CHECK_INT(found, 2 * N);
	CHECK_INT(wrong, 0);
	/* about 36 bytes per name beyond the strings (see index.h) */
	CHECK((st.bytes - st.string_bytes) / st.indicators < 64);
	bw_index_free(ix);
}

/* ---- error paths: fail the nth allocation, for every n --------------- */

/* One build from the builder, one from the store and one publish; returns
 * BW_OK or the first error (which must be BW_ENOMEM). */
static int
fault_scenario(struct bw_store *st)
{
	struct bw_index_builder *b = NULL;
	struct bw_index *ix = NULL;
	struct bw_index_holder *h = NULL;
	struct bw_err err = {0, ""};
	char v[64];
	int rc;

	rc = bw_index_builder_new(NOW, &b, &err);
	for (int i = 0; rc == BW_OK && i < 40; i++) {
		struct bw_tag t[2] = {{"malware", "emotet"}, {"tag", v}};
		struct bw_index_entry e = {BW_IOC_DOMAIN, v, 0, i, i, t, 2};
		if (i % 4 == 1) {
			snprintf(v, sizeof(v), "10.%d.0.0/16", i % 12);
			e.type = BW_IOC_CIDR;
		} else if (i % 4 == 2) {
			snprintf(v, sizeof(v), "http://u%d.example/x", i % 12);
			e.type = BW_IOC_URL;
		} else {
			snprintf(v, sizeof(v), "d%d.example", i % 12);
		}
		e.len = strlen(v);
		rc = bw_index_builder_add(b, &e, &err);
	}
	if (rc == BW_OK)
		rc = bw_index_builder_finish(b, &ix, &err);
	bw_index_builder_free(b);
	if (rc == BW_OK)
		rc = bw_index_holder_new(2, &h, &err);
	if (rc == BW_OK) {
		rc = bw_index_holder_publish(h, ix, &err);
		if (rc == BW_OK)
			ix = NULL; /* the holder owns it */
	}
	bw_index_free(ix);
	ix = NULL;
	if (rc == BW_OK)
		rc = bw_index_build(st, NOW, &ix, &err);
	if (rc == BW_OK && h != NULL) {
		rc = bw_index_holder_publish(h, ix, &err);
		if (rc == BW_OK)
			ix = NULL;
	}
	bw_index_free(ix);
	bw_index_holder_free(h);
	if (rc != BW_OK && err.msg[0] == '\0')
		return -1; /* an error without a message */
	return rc;
}

static void
test_faults(void)
{
	struct bw_store *st;
	struct bw_err err = {0, ""};
	int other = 0, failed = 0;
	long n;

	if (bw_mem_fail_after(1000000) != 0) {
		printf("# skipped: not a fault-injection build (-Dfault_injection=true)\n");
		return;
	}
	bw_mem_fail_reset();
	st = new_store("faults.db");
	if (st == NULL)
		return;
	{
		static const struct rec recs[] = {
			{"evil.example", "a", 50, 0, 0, "malware:emotet,tag:c2"},
			{"evil.example", "b", 70, 0, 0, "actor:ta542"},
			{"192.0.2.0/24", "a", -1, 0, 0, "tag:scanner"},
			{"http://evil.example/x", "b", 10, 0, 0, NULL},
		};
		bw_store_begin(st, &err);
		for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
			put(st, &recs[i], NOW - 10);
		bw_store_commit(st, &err);
	}
	for (n = 1; n < 100000; n++) {
		int rc;
		bw_mem_fail_after(n);
		rc = fault_scenario(st);
		bw_mem_fail_reset();
		if (rc == BW_OK)
			break;
		if (rc == BW_ENOMEM)
			failed++;
		else
			other++;
	}
	printf("# %ld allocations, each failed once\n", n - 1);
	CHECK(failed > 50);
	CHECK_INT(other, 0);
	CHECK_INT(fault_scenario(st), BW_OK);
	bw_store_close(st);
}

/* bw_index_parse_addr's fast dotted-quad path says exactly what
 * bw_ioc_parse_ipv4 says, on random strings of digits and dots (and a few
 * other bytes) of every length it handles, and on the edge cases. */
static void
test_parse_quad(void)
{
	static const char alphabet[] = "0123456789..........9012555a/ \x80";
	static const char *const edge[] = {
		"0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.04", "01.2.3.4",
		"1.2.3.4.", ".1.2.3.4", "1..2.3.4", "1.2.3", "100.200.250.255",
		"199.199.199.199", "1.2.3.4 ", "1.2.3.4\n", "1.2.3.-4", "9.99.999.9",
	};
	uint64_t x = 0x2545f4914f6cdd1dull;
	long wrong = 0, wrong_portable = 0, accepted = 0;

	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		struct bw_index_addr a;
		uint8_t want[4];
		size_t n = strlen(edge[i]);
		int ok = bw_ioc_parse_ipv4(edge[i], n, want);
		int got = bw_index_parse_addr(edge[i], n, &a);
		uint8_t port[4];
		int got_port = bw_index_parse_quad_portable(edge[i], n, port);
		if (ok != got || (ok && (a.family != 4 || memcmp(a.addr, want, 4) != 0)))
			wrong++;
		if (ok != got_port || (ok && memcmp(port, want, 4) != 0))
			wrong_portable++;
	}
	for (long r = 0; r < 2000000; r++) {
		char s[16];
		size_t n;
		struct bw_index_addr a;
		uint8_t want[4];
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = 7 + x % 9;
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* mostly digits and dots in the shape of an address */
			s[k] = (k % 4 == 3 && x % 3) ? '.' : alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
		}
		int ok = bw_ioc_parse_ipv4(s, n, want);
		int got = bw_index_parse_addr(s, n, &a);
		uint8_t port[4];
		int got_port = bw_index_parse_quad_portable(s, n, port);
		accepted += ok;
		if (ok != got || (ok && (a.family != 4 || memcmp(a.addr, want, 4) != 0))) {
			if (wrong++ < 3)
				printf("#   %.*s: %d %d\n", (int)n, s, ok, got);
		}
		if (ok != got_port || (ok && memcmp(port, want, 4) != 0)) {
			if (wrong_portable++ < 3)
				printf("#   portable %.*s: %d %d\n", (int)n, s, ok, got_port);
		}
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(wrong_portable, 0);
	{
		/* a NUL inside the text ends nothing: the whole text must be
		 * an address (the fuzzer found "192::1\0..." taken as 192::1) */
		struct bw_index_addr a;
		CHECK_INT(bw_index_parse_addr("192::1\0\0`\x80", 10, &a), 0);
		CHECK_INT(bw_index_parse_addr("[2001:db8::1\0]", 15, &a), 0);
		CHECK_INT(bw_index_parse_addr("192.0.2.1\0", 10, &a), 0);
		CHECK_INT(bw_index_parse_addr("192::1", 6, &a), 1);
	}
	CHECK(accepted > 1000);
}

int
main(void)
{
	if (tmp_dir_make("index"))
		return 1;
	TAP_RUN(test_domain_suffix);
	TAP_RUN(test_builder_rejects);
	TAP_RUN(test_lpm);
	TAP_RUN(test_exact_and_urls);
	TAP_RUN(test_merge_and_intern);
	TAP_RUN(test_store);
	TAP_RUN(test_holder);
	TAP_RUN(test_maltrail);
	TAP_RUN(test_many);
	TAP_RUN(test_faults);
	TAP_RUN(test_differential_domains);
	TAP_RUN(test_differential_addrs);
	TAP_RUN(test_parse_addr_fast);
	TAP_RUN(test_canonical_prefixes);
	TAP_RUN(test_lpm_bitmap);
	TAP_RUN(test_store_order);
	TAP_RUN(test_lpm_sort);
	TAP_RUN(test_store_two_readers);
	TAP_RUN(test_parse_quad);
	tmp_dir_remove();
	return tap_done();
}
