/*
 * dnsbl.h - DNS blocklist zones answered by the DNS server, the way
 * rbldnsd answers them: an IPv4 zone (ip4set: "4.3.2.1.dnsbl.bulwark." for
 * 1.2.3.4) and a domain zone (dnset: "evil.example.dbl.bulwark."; a listed
 * domain covers its subdomains).  A listed name has A 127.0.0.2 and a TXT
 * record with the reason; anything else in the zone is NXDOMAIN with the
 * SOA; the apex has SOA and NS.
 *
 * DNS has no keys, so a DNSBL serves only what the operator makes public:
 * the active disruption actions (domains, IPv4 addresses and CIDRs) and,
 * unless include_clear is off, indicators with a TLP:CLEAR record that is
 * neither revoked nor expired.  Anything under another TLP goes through
 * the keyed HTTP check.  Which clients may ask is the server's business
 * (dns.h: dnsbl client networks).
 *
 * Look-up structure: IPv4 addresses in a sorted array with a bucket index
 * on the top bits (a cache line of entries per bucket), CIDRs the same, one
 * table per prefix length (only the lengths present are probed); domains
 * in an open-addressing hash of 8-byte slots (hash tag, offset of the
 * lower-case wire name in an arena), probed once per label of the query at
 * the depths some listed name has.  Reasons are interned (one per
 * authorisation or per source), so an entry costs a few words.  The
 * snapshot is immutable and reference-counted like the RPZ one.
 */
#ifndef BW_NET_DNSBL_H
#define BW_NET_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/dnswire.h"
#include "store/store.h"

#define BW_DNSBL_DEFAULT_IP_ZONE "dnsbl.bulwark."
#define BW_DNSBL_DEFAULT_NAME_ZONE "dbl.bulwark."
#define BW_DNSBL_ENTRIES_DEFAULT_MAX 20000000

struct bw_dnsbl_conf {
	char ip_zone[BW_DNS_NAME_TEXT_MAX];
	char name_zone[BW_DNS_NAME_TEXT_MAX];
	int include_clear;  /* serve TLP:CLEAR indicators too (default 1) */
	uint32_t ttl;       /* of the answers (default 300) */
	size_t max_entries;
};

void bw_dnsbl_conf_init(struct bw_dnsbl_conf *c);

struct bw_dnsbl;

struct bw_dnsbl_stats {
	size_t ipv4, cidr, domains, reasons;
};

/* Builds a snapshot in one read transaction; *out has one reference. */
int bw_dnsbl_load(struct bw_store *st, const struct bw_dnsbl_conf *c, struct bw_dnsbl **out,
		  struct bw_err *err);
void bw_dnsbl_ref(struct bw_dnsbl *b);
void bw_dnsbl_unref(struct bw_dnsbl *b);
void bw_dnsbl_get_stats(const struct bw_dnsbl *b, struct bw_dnsbl_stats *s);

/* 1 if qname (wire) lies in one of the two zones. */
int bw_dnsbl_in_zone(const struct bw_dnsbl *b, const uint8_t *qname, size_t len);

/* Only a hint, changing no answer: a batch of queries overlaps the cache
 * misses of its look-ups when every query is given to stage 0, then every
 * one to stage 1, and then each is answered (stage 0 fetches the first
 * level of the tables, stage 1 the entries it points to).  Any qname is
 * accepted.  Thread-safe, like every read of a snapshot. */
void bw_dnsbl_prefetch(const struct bw_dnsbl *b, const uint8_t *qname, size_t len, int stage);

/* Writes the answer to (qname, qtype) into w (after its question) and
 * returns the rcode; -1 when a record did not fit.  Call only when
 * bw_dnsbl_in_zone said yes. */
int bw_dnsbl_answer(const struct bw_dnsbl *b, const uint8_t *qname, size_t len, uint16_t qtype,
		    struct bw_dns_writer *w);

#endif
