/*
 * ipnet.h - address ranges for the disruption modules (internal to
 * src/disrupt): an IPv4 or IPv6 address or prefix, in bw_ioc's canonical
 * text, as an inclusive range of 16-byte addresses (IPv4 mapped into
 * ::ffff:0:0/96) so that one comparison works for both families.
 */
#ifndef BW_DISRUPT_IPNET_H
#define BW_DISRUPT_IPNET_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bw_iprange {
	uint8_t lo[16], hi[16];
	int family; /* 4 or 6 */
	int len;    /* prefix length within the family */
};

/* Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or prefix; 0 on
 * success, -1 otherwise.  Host bits are cleared. */
static inline int
bw_iprange_parse(const char *text, struct bw_iprange *r)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	uint8_t a[16];
	int plen, base, max;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		r->family = 4;
		base = 96;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		r->family = 6;
		base = 0;
		max = 128;
	} else {
		return -1;
	}
	plen = max;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || v < 0 || v > max)
			return -1;
		plen = (int)v;
	}
	r->len = plen;
	for (int i = 0; i < 16; i++) {
		int bits = base + plen - 8 * i; /* prefix bits in this byte */
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		r->lo[i] = a[i] & mask;
		r->hi[i] = (uint8_t)(a[i] | (uint8_t)~mask);
	}
	return 0;
}

/* 1 if a lies inside b. */
static inline int
bw_iprange_within(const struct bw_iprange *a, const struct bw_iprange *b)
{
	return memcmp(a->lo, b->lo, 16) >= 0 && memcmp(a->hi, b->hi, 16) <= 0;
}

/* 1 if a and b share an address. */
static inline int
bw_iprange_overlap(const struct bw_iprange *a, const struct bw_iprange *b)
{
	return memcmp(a->lo, b->hi, 16) <= 0 && memcmp(b->lo, a->hi, 16) <= 0;
}

#endif
