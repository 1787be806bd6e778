/*
 * test_dnswire.c - the DNS codec: names, strict parsing (pointer loops,
 * forward pointers, lengths, counts, trailing bytes), the compressing
 * writer and its roll-back when a record does not fit.
 */
#include <stdint.h>
#include <string.h>

#include "net/dnswire.h"
#include "tap.h"

static size_t
wname(const char *text, uint8_t *out)
{
	size_t n = 0;
	if (bw_dns_name_from_text(text, out, &n, NULL) != BW_OK)
		return 0;
	return n;
}

static void
test_names(void)
{
	uint8_t n[BW_DNS_NAME_MAX], z[BW_DNS_NAME_MAX];
	char t[BW_DNS_NAME_TEXT_MAX], label[80], big[300];
	size_t len, zl, pre = 99;
	struct bw_err err;

	CHECK_INT((int)wname("www.Example.com.", n), 17);
	CHECK(memcmp(n, "\3www\7Example\3com\0", 17) == 0);
	CHECK_STR(bw_dns_name_to_text(n, 17, t, sizeof(t)), "www.Example.com.");
	CHECK_INT((int)wname(".", n), 1);
	CHECK_STR(bw_dns_name_to_text(n, 1, t, sizeof(t)), ".");
	memset(label, 'a', 64);
	label[64] = '\0';
	CHECK_INT(bw_dns_name_from_text(label, n, &len, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "63") != NULL);
	CHECK_INT(bw_dns_name_from_text("a..b", n, &len, &err), BW_EINVAL);
	for (int i = 0; i < 150; i++) {
		big[2 * i] = 'a';
		big[2 * i + 1] = '.';
	}
	big[299] = '\0';
	CHECK_INT(bw_dns_name_from_text(big, n, &len, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "255") != NULL);
	len = wname("a.b.rpz.bulwark", n);
	zl = wname("RPZ.bulwark.", z);
	CHECK(bw_dns_name_under(n, len, z, zl, &pre));
	CHECK_INT((int)pre, 4);
	CHECK(bw_dns_name_under(z, zl, z, zl, &pre) && pre == 0);
	CHECK(!bw_dns_name_under(z, zl, n, len, NULL));
	CHECK_INT(bw_dns_name_labels(n, len), 4);
	/* bytes outside [A-Za-z0-9_*-] are escaped */
	CHECK_STR(bw_dns_name_to_text((const uint8_t *)"\3a.b\0", 5, t, sizeof(t)), "a\\046b.");
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* header + question "a.example." A IN = 12 + 11 + 4 */
static size_t
query(uint8_t *b, unsigned qd, unsigned an)
{
	memset(b, 0, 12);
	put16(b, 0x1234);
	put16(b + 4, qd);
	put16(b + 6, an);
	memcpy(b + 12, "\1a\7example\0\0\1\0\1", 15);
	return 27;
}

static void
test_parse_strict(void)
{
	uint8_t b[600];
	struct bw_dns_msg m;
	struct bw_err err;
	size_t n;

	n = query(b, 1, 0);
	CHECK_INT(bw_dns_parse(b, n, &m, &err), BW_OK);
	CHECK(m.has_question && m.qtype == 1 && m.qclass == 1 && m.qname_len == 11);
	CHECK_INT(m.h.id, 0x1234);
	/* trailing bytes */
	b[n] = 0;
	CHECK_INT(bw_dns_parse(b, n + 1, &m, &err), BW_EFORMAT);
	/* more records announced than present */
	n = query(b, 1, 3);
	CHECK_INT(bw_dns_parse(b, n, &m, &err), BW_EFORMAT);
	/* two questions */
	n = query(b, 2, 0);
	CHECK_INT(bw_dns_parse(b, n, &m, &err), BW_EFORMAT);
	/* a pointer to itself */
	n = query(b, 1, 0);
	b[12] = 0xc0;
	b[13] = 12;
	CHECK_INT(bw_dns_parse(b, n, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "backwards") != NULL);
	/* a pointer loop between two names: the answer's owner points to its
	 * own label, which points back */
	n = query(b, 1, 1);
	memcpy(b + n, "\1x\xc0\x1b", 4); /* at 27: label x then pointer to 27 */
	put16(b + n + 4, 1);
	put16(b + n + 6, 1);
	memset(b + n + 8, 0, 4);
	put16(b + n + 12, 0);
	CHECK_INT(bw_dns_parse(b, n + 14, &m, &err), BW_EFORMAT);
	/* a valid backwards pointer to the question name */
	n = query(b, 1, 1);
	memcpy(b + n, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\xc0\0\2\1", 16);
	CHECK_INT(bw_dns_parse(b, n + 16, &m, &err), BW_OK);
	/* RDATA past the end */
	b[n + 11] = 5;
	CHECK_INT(bw_dns_parse(b, n + 16, &m, &err), BW_EFORMAT);
	/* an A record of 5 bytes */
	b[n + 11] = 5;
	b[n + 16] = 0;
	CHECK_INT(bw_dns_parse(b, n + 17, &m, &err), BW_EFORMAT);
	/* label type 0x40 */
	n = query(b, 1, 0);
	b[12] = 0x41;
	CHECK_INT(bw_dns_parse(b, n, &m, &err), BW_EFORMAT);
	/* short header */
	CHECK_INT(bw_dns_parse(b, 11, &m, &err), BW_EFORMAT);
}

static void
test_writer(void)
{
	uint8_t buf[4096], n1[BW_DNS_NAME_MAX], n2[BW_DNS_NAME_MAX], soa[600];
	struct bw_dns_writer w;
	struct bw_dns_header h = {.id = 7, .flags = 0x8400};
	struct bw_dns_msg m;
	struct bw_dns_rr rr;
	size_t l1 = wname("evil.example.rpz.bulwark", n1), l2 = wname("*.EVIL.example.rpz.bulwark", n2);
	size_t len, off, sl;
	uint8_t root = 0, name[BW_DNS_NAME_MAX], small[40];
	size_t nl;

	CHECK_INT(bw_dns_w_init(&w, buf, sizeof(buf), &h), BW_OK);
	CHECK_INT(bw_dns_w_question(&w, n1, l1, 1, 1), BW_OK);
	CHECK_INT(bw_dns_w_rr(&w, 1, n1, l1, BW_DNS_CNAME, 1, 60, &root, 1), BW_OK);
	CHECK_INT(bw_dns_w_rr(&w, 1, n2, l2, BW_DNS_CNAME, 1, 60, &root, 1), BW_OK);
	sl = wname("localhost", soa);
	sl += wname("hostmaster.rpz.bulwark", soa + sl);
	memset(soa + sl, 0, 20);
	soa[sl + 3] = 9; /* serial 9 */
	sl += 20;
	CHECK_INT(bw_dns_w_rr(&w, 2, n1 + 13, l1 - 13, BW_DNS_SOA, 1, 60, soa, sl), BW_OK);
	len = bw_dns_w_finish(&w);
	/* question 30 + answer (2 + 10 + 1) + (2 + 2 + 10 + 1) + SOA (2 + 10 +
	 * 11 + 13 + 20): the repeated names are pointers */
	CHECK_INT((int)len, 12 + 30 + 13 + 15 + 56);
	CHECK_INT(bw_dns_parse(buf, len, &m, NULL), BW_OK);
	CHECK(m.h.ancount == 2 && m.h.nscount == 1 && m.has_soa_auth && m.soa_auth_serial == 9);
	off = m.sections_off;
	CHECK_INT(bw_dns_rr_read(buf, len, &off, &rr, NULL), BW_OK);
	CHECK(bw_dns_name_equal(rr.name, rr.name_len, n1, l1));
	CHECK_INT(bw_dns_rr_read(buf, len, &off, &rr, NULL), BW_OK);
	/* case of the later name is not preserved where it was compressed */
	CHECK(bw_dns_name_equal(rr.name, rr.name_len, n2, l2));
	CHECK_INT(bw_dns_rr_read(buf, len, &off, &rr, NULL), BW_OK);
	CHECK(rr.type == BW_DNS_SOA);
	off = rr.rdata_off;
	CHECK_INT(bw_dns_name_read(buf, len, &off, name, &nl, NULL), BW_OK);
	CHECK_INT(bw_dns_name_read(buf, len, &off, name, &nl, NULL), BW_OK);
	CHECK(bw_dns_name_equal(name, nl, soa + 11, 24));

	/* a record that does not fit leaves the message as it was, and the
	 * compression table does not point into the rolled-back bytes */
	CHECK_INT(bw_dns_w_init(&w, small, sizeof(small), &h), BW_OK);
	CHECK_INT(bw_dns_w_question(&w, (const uint8_t *)"\1a\0", 3, 1, 1), BW_OK);
	len = w.len;
	CHECK_INT(bw_dns_w_rr(&w, 1, n1, l1, BW_DNS_A, 1, 60, (const uint8_t *)"\1\2\3\4", 4),
		  BW_ELIMIT);
	CHECK_INT((int)w.len, (int)len);
	CHECK_INT(w.counts[1], 0);
	CHECK_INT(bw_dns_w_rr(&w, 1, (const uint8_t *)"\1b\0", 3, BW_DNS_A, 1, 60,
			      (const uint8_t *)"\1\2\3\4", 4), BW_OK);
	CHECK_INT(bw_dns_w_rr(&w, 1, n1 + 5, l1 - 5, BW_DNS_A, 1, 60, (const uint8_t *)"\1\2\3\4", 4),
		  BW_ELIMIT);
	len = bw_dns_w_finish(&w);
	CHECK_INT(bw_dns_parse(small, len, &m, NULL), BW_OK);
	CHECK_INT(m.h.ancount, 1);
	/* bad RDATA for a name type */
	CHECK_INT(bw_dns_w_init(&w, buf, sizeof(buf), &h), BW_OK);
	CHECK_INT(bw_dns_w_rr(&w, 1, n1, l1, BW_DNS_CNAME, 1, 60, (const uint8_t *)"\5ab", 3), BW_EINVAL);
	/* OPT */
	CHECK_INT(bw_dns_w_opt(&w, 1232), BW_OK);
	len = bw_dns_w_finish(&w);
	CHECK_INT(bw_dns_parse(buf, len, &m, NULL), BW_OK);
	CHECK(m.has_edns && m.edns_udp == 1232);
}

int
main(void)
{
	TAP_RUN(test_names);
	TAP_RUN(test_parse_strict);
	TAP_RUN(test_writer);
	return tap_done();
}
