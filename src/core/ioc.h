/*
 * ioc.h - the indicator model: types, parsing and normalisation.
 *
 * Every indicator that enters bulwark goes through bw_ioc_parse(), which turns
 * whatever an analyst or a feed wrote (defanged, upper-case, Unicode, with a
 * trailing dot, a CIDR with host bits set, ...) into one canonical text per
 * indicator, so that the same thing is always stored, matched and exported
 * as the same string.  The canonical forms are:
 *
 *   domain   lower-case A-labels (IDNA2008 with UTS#46 mapping), no trailing
 *            dot, at least two labels, labels of [a-z0-9_-] up to 63 octets,
 *            253 octets in all; "*." and a leading "." are dropped since a
 *            domain indicator covers its subdomains anyway
 *   ipv4     dotted quad without leading zeros
 *   ipv6     RFC 5952 text (inet_ntop)
 *   cidr     network/prefix with host bits cleared; a /32 or /128 becomes the
 *            ipv4 or ipv6 address it is
 *   url      scheme://[userinfo@]host[:port]/path[?query]: scheme and host
 *            lower-case (host as a domain or IP above), default port dropped,
 *            dot segments removed, percent-encoding normalised (unreserved
 *            characters decoded, hex upper-case, unsafe bytes encoded),
 *            fragment dropped
 *   email    lower-case local@domain, domain as above
 *   md5 sha1 sha256   lower-case hex of the right length
 *
 * Parsing never allocates and is thread-safe.  A rejection fills err with a
 * reason an analyst can act on ("label longer than 63 octets").
 */
#ifndef BW_CORE_IOC_H
#define BW_CORE_IOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum bw_ioc_type {
	BW_IOC_ANY = 0, /* only as a parse hint: detect the type */
	BW_IOC_DOMAIN,
	BW_IOC_IPV4,
	BW_IOC_IPV6,
	BW_IOC_CIDR,
	BW_IOC_URL,
	BW_IOC_EMAIL,
	BW_IOC_MD5,
	BW_IOC_SHA1,
	BW_IOC_SHA256,
	BW_IOC_NTYPES
};

/* Longest canonical value accepted (URLs are the long ones); longer input is
 * rejected, never truncated. */
#define BW_IOC_VALUE_MAX 4096

/* Notes on what normalisation did, for reports and for the rejects file. */
enum bw_ioc_note {
	BW_IOC_NOTE_DEFANGED = 1 << 0,     /* hxxp, [.], (.), [:], [@] undone */
	BW_IOC_NOTE_HOSTBITS = 1 << 1,     /* CIDR host bits were cleared */
	BW_IOC_NOTE_IDN = 1 << 2,          /* a Unicode name became A-labels */
	BW_IOC_NOTE_HOSTPREFIX = 1 << 3,   /* a /32 or /128 became an address */
	BW_IOC_NOTE_SCHEME_ADDED = 1 << 4, /* "host/path" was read as http:// */
	BW_IOC_NOTE_WILDCARD = 1 << 5,     /* "*." or a leading "." dropped */
	BW_IOC_NOTE_PORT_DROPPED = 1 << 6, /* "1.2.3.4:80" read as the address */
};

struct bw_ioc {
	enum bw_ioc_type type;
	unsigned notes;
	size_t len;
	char value[BW_IOC_VALUE_MAX + 1];
};

/*
 * Parses len bytes at text (no NUL needed) as an indicator.  hint is the type
 * the caller expects (BW_IOC_ANY to detect it; BW_IOC_CIDR also accepts a
 * bare address, and BW_IOC_IPV4/IPV6 accept a CIDR, since feeds mix them).
 * Leading and trailing white space is ignored.  Returns BW_OK and fills out,
 * or BW_EINVAL with the reason in err.
 */
int bw_ioc_parse(const char *text, size_t len, enum bw_ioc_type hint,
		 struct bw_ioc *out, struct bw_err *err);

/* Normalises a domain name alone (the same rules as above); used by the
 * matcher on the query side.  out must hold 254 bytes. */
int bw_ioc_domain_normalise(const char *text, size_t len, char *out,
			    size_t *outlen, unsigned *notes, struct bw_err *err);

/* "domain", "ipv4", ... ; NULL for an out-of-range type. */
const char *bw_ioc_type_name(enum bw_ioc_type type);
/* The type for a name (as printed by bw_ioc_type_name), or BW_IOC_ANY. */
enum bw_ioc_type bw_ioc_type_from_name(const char *name);

/* A human summary of the notes bits ("defanged, host bits cleared"), written
 * into buf; returns buf. */
const char *bw_ioc_notes_text(unsigned notes, char *buf, size_t n);

/* A strict dotted quad (four decimal octets 0-255, no leading zeros) of
 * exactly len bytes into addr; false if it is not one.  The one IPv4 text
 * parser of the library, for look-up paths that must not pay for
 * bw_ioc_parse. */
bool bw_ioc_parse_ipv4(const char *s, size_t len, uint8_t addr[4]);

/* The host name of a canonical url value (after "://" and any user info,
 * up to the port, path or query) or email value (after the last '@') into
 * out, NUL-terminated; returns its length, or 0 when it has none, a URL's
 * host is an address (digits and dots, or an IPv6 address in brackets),
 * it does not fit in cap bytes, or type is another. */
size_t bw_ioc_host(enum bw_ioc_type type, const char *value, char *out, size_t cap);

/* The address family of an ipv4/ipv6/cidr value: 4, 6, or 0. */
int bw_ioc_family(const struct bw_ioc *ioc);

#endif
