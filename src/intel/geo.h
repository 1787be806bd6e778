/*
 * geo.h - where an address is: its country (from a MaxMind DB file) and its
 * autonomous system (from bulwark's own range table), for the national
 * scope of a tenant (src/share/tenant.h).
 *
 * Country.  Any MMDB whose records carry a two-letter country code works:
 * the @ip-location-db country databases (record {"country_code": "EE"})
 * and MaxMind's GeoLite2/GeoIP2 Country ({"country": {"iso_code": "EE"}}).
 * libmaxminddb reads the file through mmap.
 *
 * ASN.  npm publishes no ASN MMDB, only CSV (`start_ip,end_ip,asn,as_org`,
 * as_org quoted when it holds a comma), so bulwark loads the CSV into a
 * table of its own: one array per address family of disjoint ranges sorted
 * by start, searched by binary search (the last range whose start is not
 * above the address, then a check of its end).  IPv4 ranges take 16 bytes
 * (start, end, ASN, organisation number), IPv6 ranges 40; organisation
 * names are stored once each (the same few thousand names repeat on
 * hundreds of thousands of lines).  Input is bounded: line length, range
 * count and name length, with errors naming the file and line.
 *
 * A struct bw_geo is filled once (bw_geo_open_mmdb, bw_geo_load_asn_csv)
 * and read-only afterwards: look-ups may then run from any number of
 * threads at once.
 */
#ifndef BW_INTEL_GEO_H
#define BW_INTEL_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Most ranges per address family (the npm data: 412k IPv4, 103k IPv6). */
#define BW_GEO_RANGES_MAX 4000000
/* Longest CSV line and organisation name accepted. */
#define BW_GEO_LINE_MAX 1024
#define BW_GEO_ORG_MAX 256

struct bw_geo;

struct bw_geo_asn {
	uint32_t asn;
	const char *org; /* owned by the struct bw_geo; "" if none */
};

struct bw_geo_stats {
	size_t ranges4, ranges6, orgs;
	size_t overlaps; /* ranges that overlapped an earlier one */
	size_t bytes; /* memory held by the ASN table, names included */
};

/* A geo context with neither database; *out is the caller's, freed with
 * bw_geo_free() (NULL is a no-op). */
int bw_geo_new(struct bw_geo **out, struct bw_err *err);
void bw_geo_free(struct bw_geo *g);

/* Opens the MMDB at path for country look-ups (replacing one opened
 * before).  BW_EIO if it cannot be read, BW_EFORMAT if it is not an MMDB. */
int bw_geo_open_mmdb(struct bw_geo *g, const char *path, struct bw_err *err);

/* Adds the ranges of an ASN CSV file to the table (IPv4 and IPv6 lines may
 * come from one file or several).  Each line is start_ip,end_ip,asn,as_org
 * with start <= end of one family; a bad line is BW_EFORMAT, more than
 * BW_GEO_RANGES_MAX ranges BW_ELIMIT, both with "FILE:LINE: why".  Ranges
 * that overlap (also across files) are cut apart so that the range
 * starting later wins where they meet: it is the more specific or newer
 * one (2.3.2026061719 has one such pair, 214.95.0.0-215.0.255.255 AS749
 * and 215.0.0.0-215.1.3.255 AS721); a range nested in another splits it.
 * They are counted in bw_geo_stats.  A blank line and a
 * header line "start_ip,..." are skipped.  On any error the ASN table is
 * left empty (never half-loaded). */
int bw_geo_load_asn_csv(struct bw_geo *g, const char *path, struct bw_err *err);

/* The same from len bytes at buf (kept, not copied, during the call); name
 * stands for the file in messages. */
int bw_geo_load_asn_mem(struct bw_geo *g, const void *buf, size_t len,
			const char *name, struct bw_err *err);

/* 1 when a country database / an ASN table is loaded. */
int bw_geo_has_country(const struct bw_geo *g);
int bw_geo_has_asn(const struct bw_geo *g);

/* The country of addr (IPv4 or IPv6 text) as two upper-case letters in cc.
 * BW_ENOTFOUND when the database has no country for it or none is loaded,
 * BW_EINVAL when addr is not an address, BW_EFORMAT on a corrupt
 * database. */
int bw_geo_country(const struct bw_geo *g, const char *addr, char cc[3],
		   struct bw_err *err);

/* The autonomous system announcing addr; BW_ENOTFOUND when no range holds
 * it, BW_EINVAL when addr is not an address. */
int bw_geo_asn(const struct bw_geo *g, const char *addr,
	       struct bw_geo_asn *out, struct bw_err *err);

void bw_geo_stats(const struct bw_geo *g, struct bw_geo_stats *out);

/* 1 when the ASN table is sorted, its ranges disjoint and every name
 * reference valid (for tests and fuzzing). */
int bw_geo_check(const struct bw_geo *g);

#endif
