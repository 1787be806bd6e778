/*
 * tenant_scope.h - the national scope of a tenant: which indicators concern
 * its country, and why.
 *
 * A scope is the tenant's defaults plus the entries the operator adds:
 *
 *   cctld:ee            the country's ccTLD; in scope by default (GB's is
 *                       "uk", every other eligible country's is its code in
 *                       lower case); removing it stores an exclusion
 *   cidr:192.0.2.0/24   an IPv4 or IPv6 prefix (a bare address is a /32 or
 *                       /128), stored in bw_ioc's canonical form
 *   asn:64500           an autonomous system ("AS64500" is read too)
 *   domain:gov.ee       a domain and all its subdomains
 *   brand:err.ee        a protected brand (a government or media domain):
 *                       its own domain and subdomains, and the names that
 *                       impersonate it (see bw_tenant_scope_match)
 *
 * and, when a country database is loaded (src/intel/geo.h), every address
 * located in the country.
 *
 * Entries live in the store (table tenant_scope, schema 4); a matcher
 * loads them once into a struct bw_tenant_scope, read-only afterwards, so
 * that any number of threads may match with it at once.  Matching is a
 * linear pass over the entries of one tenant (an operator configures tens
 * or hundreds of them, capped at BW_TENANT_SCOPE_MAX).
 */
#ifndef BW_SHARE_TENANT_SCOPE_H
#define BW_SHARE_TENANT_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "intel/geo.h"
#include "store/store.h"

/* Most entries per tenant, and the longest value (a domain). */
#define BW_TENANT_SCOPE_MAX 10000
#define BW_SCOPE_VALUE_MAX 253

enum bw_scope_kind {
	BW_SCOPE_NONE = 0,
	BW_SCOPE_CCTLD,
	BW_SCOPE_CIDR,
	BW_SCOPE_ASN,
	BW_SCOPE_DOMAIN,
	BW_SCOPE_BRAND,
	BW_SCOPE_COUNTRY, /* a reason only: the address is in the country */
};

struct bw_scope_entry {
	enum bw_scope_kind kind;
	char value[BW_SCOPE_VALUE_MAX + 1]; /* canonical: "ee", "64500", ... */
	int is_default;                     /* the country's own ccTLD */
	int included;                       /* 0: a default the operator removed */
	int64_t added;                      /* 0 for a default never touched */
};

/* "cctld", "cidr", "asn", "domain", "brand", "country"; NULL otherwise. */
const char *bw_scope_kind_name(enum bw_scope_kind kind);

/* The default ccTLD of country (two letters, any case) into out: "uk" for
 * GB, the code in lower case otherwise. */
void bw_tenant_cctld(const char *country, char out[3]);

/* Parses "kind:value" (the command line's form) into out with the value in
 * canonical form; BW_EINVAL with the reason otherwise. */
int bw_scope_entry_parse(const char *spec, struct bw_scope_entry *out,
			 struct bw_err *err);

/* Adds spec to the scope of the tenant of country (re-including the default
 * ccTLD if it was removed).  Adding an entry already in scope is BW_OK.
 * BW_ENOTFOUND without such a tenant, BW_ELIMIT beyond
 * BW_TENANT_SCOPE_MAX entries.  Runs its own transaction. */
int bw_tenant_scope_add(struct bw_store *st, const char *country,
			const char *spec, int64_t now, struct bw_err *err);

/* Removes spec from the scope; for the default ccTLD this stores an
 * exclusion.  BW_ENOTFOUND when the entry is not in scope. */
int bw_tenant_scope_remove(struct bw_store *st, const char *country,
			   const char *spec, int64_t now, struct bw_err *err);

/* The scope of the tenant of country: the default ccTLD first (included or
 * not), then the entries by kind and value; an array the caller frees with
 * bw_free(). */
int bw_tenant_scope_list(struct bw_store *st, const char *country,
			 struct bw_scope_entry **out, size_t *n,
			 struct bw_err *err);

struct bw_tenant_scope;

/* Loads the scope of the tenant of country for matching; *out is freed
 * with bw_tenant_scope_free() (NULL is a no-op). */
int bw_tenant_scope_load(struct bw_store *st, const char *country,
			 struct bw_tenant_scope **out, struct bw_err *err);
void bw_tenant_scope_free(struct bw_tenant_scope *s);

struct bw_scope_match {
	int national;            /* 1: the indicator is in the scope */
	enum bw_scope_kind why;  /* BW_SCOPE_NONE when not national */
	/* the entry that matched ("gov.ee", "192.0.2.0/24", "64500", "ee"),
	 * or the country of the address */
	char detail[BW_SCOPE_VALUE_MAX + 1];
};

/*
 * Whether the indicator (type, canonical value as bw_ioc_parse gives it)
 * is national for the scope, and why.  The host of a domain, URL or email
 * is checked, in this order, against
 *   domain  the host is the domain or under it;
 *   brand   the host is the brand's domain or under it, or impersonates it:
 *           its labels, split at '.' and '-', hold the brand's labels in a
 *           row ("err.ee.login.example", "err-ee.example",
 *           "secure-err-ee.example"), or the brand's first label when that
 *           has 5 or more characters ("valitsus-login.example" for
 *           valitsus.ee); "error.example" does not impersonate err.ee;
 *   cctld   the host's last label is one of the tenant's ccTLDs.
 * An address (ipv4, ipv6, an IP host of a URL) or a prefix (cidr, placed by
 * its whole range for cidr entries and by its first address otherwise) is
 * checked against
 *   cidr    the address or the whole prefix lies inside the entry;
 *   asn     geo's ASN table places it in one of the entry ASNs;
 *   country geo's country database places it in the tenant's country.
 * geo may be NULL (or hold only one database): the checks it cannot make
 * are skipped.  Hashes are never national.  The first reason found wins.
 * Returns BW_OK (out filled either way) or BW_EINVAL for a value that is
 * not of its type.  Thread-safe on a loaded scope.
 */
int bw_tenant_scope_match(const struct bw_tenant_scope *s,
			  enum bw_ioc_type type, const char *value,
			  const struct bw_geo *geo, struct bw_scope_match *out,
			  struct bw_err *err);

#endif
