/*
 * dnswire.h - the DNS message codec (RFC 1035) of the authoritative server:
 * a strict, bounded reader and a writer with name compression.
 *
 * Reading never allocates and never trusts a count or a length: every name
 * is at most 255 octets and 127 labels, every label at most 63 octets,
 * compression pointers must point strictly backwards (so a loop cannot
 * exist) and at most BW_DNS_POINTERS_MAX of them are followed per name,
 * every RDATA must end inside the message, and the section counts must
 * match the RRs actually present (trailing garbage is an error).  A message
 * that breaks any rule is BW_EFORMAT; the server drops it.
 *
 * Names are kept in wire form (length-prefixed labels ending with the root
 * label), uncompressed, in caller buffers of BW_DNS_NAME_MAX octets.
 *
 * Writing appends to a caller buffer of fixed capacity; a record that does
 * not fit is BW_ELIMIT and leaves the message as it was before that record
 * (so the caller can set TC or start the next message of a transfer).
 * Owner names and the names inside CNAME, NS, PTR and SOA RDATA are
 * compressed against names already written, through a small hash table of
 * suffix offsets (case-insensitive, as RFC 1035 compares names).
 *
 * Everything here is thread-safe: no state outside the caller's structs.
 */
#ifndef BW_NET_DNSWIRE_H
#define BW_NET_DNSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define BW_DNS_NAME_MAX 255
#define BW_DNS_LABEL_MAX 63
#define BW_DNS_POINTERS_MAX 64
#define BW_DNS_MSG_MAX 65535
#define BW_DNS_UDP_MIN 512
/* Most records one parsed message may hold (a query holds a few). */
#define BW_DNS_PARSE_RRS_MAX 4096

enum bw_dns_type {
	BW_DNS_A = 1,
	BW_DNS_NS = 2,
	BW_DNS_CNAME = 5,
	BW_DNS_SOA = 6,
	BW_DNS_PTR = 12,
	BW_DNS_TXT = 16,
	BW_DNS_AAAA = 28,
	BW_DNS_OPT = 41,
	BW_DNS_TSIG = 250,
	BW_DNS_IXFR = 251,
	BW_DNS_AXFR = 252,
	BW_DNS_ANY = 255,
};

#define BW_DNS_CLASS_IN 1
#define BW_DNS_CLASS_ANY 255

/* Header flag bits and codes. */
#define BW_DNS_F_QR 0x8000
#define BW_DNS_F_AA 0x0400
#define BW_DNS_F_TC 0x0200
#define BW_DNS_F_RD 0x0100
#define BW_DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define BW_DNS_RCODE(flags) ((flags) & 0xf)
enum { BW_DNS_OP_QUERY = 0, BW_DNS_OP_NOTIFY = 4 };
enum {
	BW_DNS_NOERROR = 0,
	BW_DNS_FORMERR = 1,
	BW_DNS_SERVFAIL = 2,
	BW_DNS_NXDOMAIN = 3,
	BW_DNS_NOTIMP = 4,
	BW_DNS_REFUSED = 5,
	BW_DNS_NOTAUTH = 9,
};

struct bw_dns_header {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

/* One resource record as read: the owner uncompressed; rdata points into
 * the message (its names may be compressed: read them with
 * bw_dns_name_read at rdata_off). */
struct bw_dns_rr {
	uint8_t name[BW_DNS_NAME_MAX];
	size_t name_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off; /* offset of the RDATA in the message */
	size_t off;       /* offset of the record (its owner) */
};

/* A parsed message: header, the question (at most one), and what a server
 * needs from the other sections.  Pointers point into the message. */
struct bw_dns_msg {
	const uint8_t *buf;
	size_t len;
	struct bw_dns_header h;
	int has_question;
	uint8_t qname[BW_DNS_NAME_MAX];
	size_t qname_len;
	uint16_t qtype, qclass;
	size_t sections_off; /* offset of the first record after the question */
	/* EDNS: the OPT record, if any (udp_size 0 without one) */
	uint16_t edns_udp;
	int has_edns;
	/* IXFR: the serial of the SOA in the authority section */
	int has_soa_auth;
	uint32_t soa_auth_serial;
	/* TSIG: the record, which must be the last of the message */
	int has_tsig;
	size_t tsig_off;
	struct bw_dns_rr tsig;
};

/* Parses and checks a whole message (see the rules above).  BW_EFORMAT with
 * a reason on any violation. */
int bw_dns_parse(const uint8_t *buf, size_t len, struct bw_dns_msg *m,
		 struct bw_err *err);

/* Reads the header at the start of buf (len >= 12). */
int bw_dns_header_read(const uint8_t *buf, size_t len, struct bw_dns_header *h,
		       struct bw_err *err);

/* Reads the possibly compressed name at *off into out (uncompressed wire
 * form), sets *out_len and moves *off past the name as it is stored there. */
int bw_dns_name_read(const uint8_t *buf, size_t len, size_t *off,
		     uint8_t out[BW_DNS_NAME_MAX], size_t *out_len,
		     struct bw_err *err);

/* Reads the record at *off and moves *off past it. */
int bw_dns_rr_read(const uint8_t *buf, size_t len, size_t *off,
		   struct bw_dns_rr *rr, struct bw_err *err);

/* Text name ("www.example.com", trailing dot optional, "." the root) to
 * wire form; BW_EINVAL for an empty label, a label over 63 octets or a
 * name over 255.  No escapes are understood. */
int bw_dns_name_from_text(const char *text, uint8_t out[BW_DNS_NAME_MAX],
			  size_t *out_len, struct bw_err *err);
/* Wire name to text with a trailing dot, into buf of n bytes (at least
 * 2 * BW_DNS_NAME_MAX for every name; other bytes than [A-Za-z0-9_*-] are
 * written as \DDD).  Returns buf. */
char *bw_dns_name_to_text(const uint8_t *name, size_t len, char *buf, size_t n);
#define BW_DNS_NAME_TEXT_MAX (4 * BW_DNS_NAME_MAX + 2)

/* 1 if two wire names are equal ignoring ASCII case. */
int bw_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* ASCII lower-case copy of a wire name (labels' lengths untouched). */
void bw_dns_name_lower(const uint8_t *in, size_t len, uint8_t *out);
/* 1 if name is sub (or equal to) zone; *prefix_len gets the length of the
 * part before zone (0 when equal). */
int bw_dns_name_under(const uint8_t *name, size_t len, const uint8_t *zone,
		      size_t zlen, size_t *prefix_len);
/* Number of labels (the root not counted). */
int bw_dns_name_labels(const uint8_t *name, size_t len);

/* ---- writing -------------------------------------------------------- */

#define BW_DNS_COMPRESS_SLOTS 1024

struct bw_dns_writer {
	uint8_t *buf;
	size_t cap, len;
	uint16_t counts[4]; /* qd, an, ns, ar: patched into the header */
	/* suffix hash -> offset + 1 (0: empty) */
	uint16_t slot_off[BW_DNS_COMPRESS_SLOTS];
	uint32_t slot_hash[BW_DNS_COMPRESS_SLOTS];
	unsigned nslots;
	unsigned nslot_cap; /* slots in use: 64 for small messages */
	int compress;
};

/* Starts a message in buf (cap at most 65535 used) with header h (the
 * counts of h are ignored: they follow what is written).  BW_ELIMIT if cap
 * is under 12. */
int bw_dns_w_init(struct bw_dns_writer *w, uint8_t *buf, size_t cap,
		  const struct bw_dns_header *h);
/* Sets the header flags. */
void bw_dns_w_flags(struct bw_dns_writer *w, uint16_t flags);
/* Appends the question. */
int bw_dns_w_question(struct bw_dns_writer *w, const uint8_t *name, size_t len,
		      uint16_t qtype, uint16_t qclass);
/* Appends one record to section (1 answer, 2 authority, 3 additional);
 * rdata in uncompressed wire form. */
int bw_dns_w_rr(struct bw_dns_writer *w, int section, const uint8_t *name,
		size_t len, uint16_t type, uint16_t rclass, uint32_t ttl,
		const uint8_t *rdata, size_t rdlen);
/* Appends an OPT record advertising udp_size. */
int bw_dns_w_opt(struct bw_dns_writer *w, uint16_t udp_size);
/* Writes the counts into the header; returns the message length. */
size_t bw_dns_w_finish(struct bw_dns_writer *w);

#endif
