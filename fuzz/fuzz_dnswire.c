/*
 * fuzz_dnswire.c - libFuzzer harness for the DNS message codec.
 *
 * Any input is parsed; a message the parser accepts is re-encoded record
 * by record with the compressing writer (RDATA names decompressed first),
 * and the result must parse again with the same question, the same counts
 * and the same owner names: the reader and the writer agree on every
 * message the server could ever see.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dnswire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RDATA with its names uncompressed, into out; returns its length or 0. */
static size_t
plain_rdata(const uint8_t *msg, size_t len, const struct bw_dns_rr *rr, uint8_t *out)
{
	size_t off = rr->rdata_off, n1, n2;

	switch (rr->type) {
	case BW_DNS_CNAME:
	case BW_DNS_NS:
	case BW_DNS_PTR:
		if (bw_dns_name_read(msg, len, &off, out, &n1, NULL))
			abort(); /* the parser accepted it */
		return n1;
	case BW_DNS_SOA:
		if (bw_dns_name_read(msg, len, &off, out, &n1, NULL) ||
		    bw_dns_name_read(msg, len, &off, out + n1, &n2, NULL))
			abort();
		memcpy(out + n1 + n2, msg + off, 20);
		return n1 + n2 + 20;
	default:
		memcpy(out, msg + rr->rdata_off, rr->rdlen);
		return rr->rdlen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[BW_DNS_MSG_MAX];
	uint8_t rd[BW_DNS_MSG_MAX];
	char text[BW_DNS_NAME_TEXT_MAX];
	struct bw_dns_msg m, m2;
	struct bw_dns_writer w;
	size_t off, total, len;
	int full = 1;

	if (bw_dns_parse(data, size, &m, NULL) != BW_OK)
		return 0;
	if (m.has_question)
		bw_dns_name_to_text(m.qname, m.qname_len, text, sizeof(text));
	if (bw_dns_w_init(&w, out, sizeof(out), &m.h) != BW_OK)
		abort();
	if (m.has_question &&
	    bw_dns_w_question(&w, m.qname, m.qname_len, m.qtype, m.qclass) != BW_OK)
		abort();
	total = (size_t)m.h.ancount + m.h.nscount + m.h.arcount;
	off = m.sections_off;
	for (size_t i = 0; i < total; i++) {
		struct bw_dns_rr rr;
		int section = i < m.h.ancount ? 1 : i < (size_t)m.h.ancount + m.h.nscount ? 2 : 3;
		size_t rdlen;

		if (bw_dns_rr_read(data, size, &off, &rr, NULL) != BW_OK)
			abort(); /* bw_dns_parse walked the same records */
		rdlen = plain_rdata(data, size, &rr, rd);
		if (bw_dns_w_rr(&w, section, rr.name, rr.name_len, rr.type, rr.rclass, rr.ttl, rd,
				rdlen) != BW_OK) {
			full = 0;
			break;
		}
	}
	if (off != size && full)
		abort();
	len = bw_dns_w_finish(&w);
	if (!full)
		return 0;
	if (bw_dns_parse(out, len, &m2, NULL) != BW_OK)
		abort();
	if (m2.h.qdcount != m.h.qdcount || m2.h.ancount != m.h.ancount ||
	    m2.h.nscount != m.h.nscount || m2.h.arcount != m.h.arcount)
		abort();
	if (m.has_question &&
	    (!bw_dns_name_equal(m.qname, m.qname_len, m2.qname, m2.qname_len) ||
	     m.qtype != m2.qtype))
		abort();
	off = m.sections_off;
	{
		size_t off2 = m2.sections_off;
		for (size_t i = 0; i < total; i++) {
			struct bw_dns_rr a, b;
			if (bw_dns_rr_read(data, size, &off, &a, NULL) ||
			    bw_dns_rr_read(out, len, &off2, &b, NULL))
				abort();
			if (!bw_dns_name_equal(a.name, a.name_len, b.name, b.name_len) ||
			    a.type != b.type || a.ttl != b.ttl)
				abort();
		}
	}
	return 0;
}
