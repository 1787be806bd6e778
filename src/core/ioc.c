/*
 * ioc.c - parsing and normalisation of indicators (see ioc.h for the
 * canonical forms).
 *
 * Design: the input is first "refanged" into a bounded local buffer (defanged
 * forms are rewritten, surrounding white space dropped), then the type is
 * decided and one normaliser per type writes the canonical text straight into
 * the caller's struct.  ASCII domain names, by far the most common input, take
 * a single-pass fast path; libidn2 is called only for names with non-ASCII
 * bytes or "xn--" labels, so bulk ingestion does not pay for IDNA.
 */
#include "core/ioc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN_MAX 253
#define LABEL_MAX 63
/* Refanging never lengthens text except "hxxp" (same length) and "[://]"
 * (shorter), so a raw input may be a bit longer than the value limit. */
#define RAW_MAX (BW_IOC_VALUE_MAX * 2)

static const char *const type_names[BW_IOC_NTYPES] = {
	[BW_IOC_ANY] = "any",
	[BW_IOC_DOMAIN] = "domain",
	[BW_IOC_IPV4] = "ipv4",
	[BW_IOC_IPV6] = "ipv6",
	[BW_IOC_CIDR] = "cidr",
	[BW_IOC_URL] = "url",
	[BW_IOC_EMAIL] = "email",
	[BW_IOC_MD5] = "md5",
	[BW_IOC_SHA1] = "sha1",
	[BW_IOC_SHA256] = "sha256",
};

const char *
bw_ioc_type_name(enum bw_ioc_type type)
{
	if ((int)type < 0 || type >= BW_IOC_NTYPES)
		return NULL;
	return type_names[type];
}

enum bw_ioc_type
bw_ioc_type_from_name(const char *name)
{
	for (int t = BW_IOC_DOMAIN; t < BW_IOC_NTYPES; t++)
		if (strcmp(name, type_names[t]) == 0)
			return (enum bw_ioc_type)t;
	return BW_IOC_ANY;
}

size_t
bw_ioc_host(enum bw_ioc_type type, const char *value, char *out, size_t cap)
{
	const char *h, *end;
	size_t n;

	if (type == BW_IOC_EMAIL) {
		h = strrchr(value, '@');
		if (h == NULL)
			return 0;
		h++;
		n = strlen(h);
	} else if (type == BW_IOC_URL) {
		h = strstr(value, "://");
		if (h == NULL)
			return 0;
		h += 3;
		end = h + strcspn(h, "/?");
		for (const char *a = h; a < end; a++)
			if (*a == '@')
				h = a + 1;
		if (*h == '[')
			return 0;
		n = strcspn(h, ":/?");
		if (h + n > end)
			n = (size_t)(end - h);
		if (strspn(h, "0123456789.") >= n)
			return 0;
	} else {
		return 0;
	}
	if (n == 0 || n >= cap)
		return 0;
	memcpy(out, h, n);
	out[n] = '\0';
	return n;
}

const char *
bw_ioc_notes_text(unsigned notes, char *buf, size_t n)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {
		{BW_IOC_NOTE_DEFANGED, "refanged"},
		{BW_IOC_NOTE_HOSTBITS, "host bits cleared"},
		{BW_IOC_NOTE_IDN, "converted to A-labels"},
		{BW_IOC_NOTE_HOSTPREFIX, "single-address prefix read as address"},
		{BW_IOC_NOTE_SCHEME_ADDED, "http:// assumed"},
		{BW_IOC_NOTE_WILDCARD, "wildcard prefix dropped"},
		{BW_IOC_NOTE_PORT_DROPPED, "port dropped"},
	};
	size_t used = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(notes & names[i].bit))
			continue;
		int w = snprintf(buf + used, n - used, "%s%s",
				 used ? ", " : "", names[i].text);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	return buf;
}

/* ---- small helpers ---------------------------------------------------- */

static inline bool
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static inline int
hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static bool
has_prefix_ci(const char *s, size_t len, const char *p)
{
	size_t pl = strlen(p);

	if (len < pl)
		return false;
	for (size_t i = 0; i < pl; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)p[i])
			return false;
	return true;
}

static const void *
find_sub(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle));
}

/*
 * Writes text with defanging undone into buf (NUL-terminated).  The brackets
 * analysts put around dots, colons and at-signs are removed wherever they
 * occur; hxxp/hxxps/fxp only as a scheme at the start.
 */
static int
refang(const char *s, size_t len, char *buf, size_t cap, size_t *outlen,
       unsigned *notes)
{
	static const struct {
		const char *from;
		const char *to;
	} subs[] = {
		{"[://]", "://"}, {"[:]", ":"}, {"[.]", "."},  {"(.)", "."},
		{"{.}", "."},     {"[dot]", "."}, {"(dot)", "."}, {"[@]", "@"},
		{"[at]", "@"},    {"(at)", "@"},
	};
	size_t o = 0, i = 0;

	if (has_prefix_ci(s, len, "hxxps")) {
		memcpy(buf, "https", 5);
		o = i = 5;
		*notes |= BW_IOC_NOTE_DEFANGED;
	} else if (has_prefix_ci(s, len, "hxxp")) {
		memcpy(buf, "http", 4);
		o = i = 4;
		*notes |= BW_IOC_NOTE_DEFANGED;
	} else if (has_prefix_ci(s, len, "fxp://")) {
		memcpy(buf, "ftp", 3);
		o = i = 3;
		*notes |= BW_IOC_NOTE_DEFANGED;
	}
	while (i < len) {
		bool done = false;

		if (s[i] == '[' || s[i] == '(' || s[i] == '{') {
			for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
				size_t fl = strlen(subs[k].from);
				if (has_prefix_ci(s + i, len - i, subs[k].from)) {
					size_t tl = strlen(subs[k].to);
					if (o + tl >= cap)
						return -1;
					memcpy(buf + o, subs[k].to, tl);
					o += tl;
					i += fl;
					*notes |= BW_IOC_NOTE_DEFANGED;
					done = true;
					break;
				}
			}
		}
		if (done)
			continue;
		if (o + 1 >= cap)
			return -1;
		buf[o++] = s[i++];
	}
	buf[o] = '\0';
	*outlen = o;
	return 0;
}

/* ---- domains ---------------------------------------------------------- */

/*
 * Checks an ASCII name already lower-cased in out[0..len): characters, label
 * and name lengths, at least two labels, a top-level label that is not all
 * digits.  Sets *has_xn when a label starts with "xn--".
 */
static int
check_ascii_name(const char *name, size_t len, bool *has_xn,
		 struct bw_err *err)
{
	size_t label_start = 0;
	int labels = 0;
	bool label_digits = true, tld_digits = false;

	*has_xn = false;
	if (len == 0)
		return bw_err_set(err, BW_EINVAL, "empty domain name");
	if (len > DOMAIN_MAX)
		return bw_err_set(err, BW_EINVAL,
				  "name longer than %d octets", DOMAIN_MAX);
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			size_t ll = i - label_start;
			if (ll == 0)
				return bw_err_set(err, BW_EINVAL,
						  "empty label in domain name");
			if (ll > LABEL_MAX)
				return bw_err_set(err, BW_EINVAL,
						  "label longer than %d octets",
						  LABEL_MAX);
			if (ll >= 4 && memcmp(name + label_start, "xn--", 4) == 0)
				*has_xn = true;
			labels++;
			label_start = i + 1;
			if (i == len)
				tld_digits = label_digits;
			label_digits = true;
			continue;
		}
		if ((c >= 'a' && c <= 'z') || c == '-' || c == '_') {
			label_digits = false;
			continue;
		}
		if (c >= '0' && c <= '9')
			continue;
		if (c >= 0x20 && c < 0x7f)
			return bw_err_set(err, BW_EINVAL,
					  "character '%c' not allowed in a domain name", c);
		return bw_err_set(err, BW_EINVAL,
				  "byte 0x%02x not allowed in a domain name", c);
	}
	if (labels < 2)
		return bw_err_set(err, BW_EINVAL,
				  "a domain needs at least two labels");
	if (tld_digits)
		return bw_err_set(err, BW_EINVAL,
				  "top-level label is all digits (not a domain, not a valid IPv4 address)");
	return BW_OK;
}

int
bw_ioc_domain_normalise(const char *text, size_t len, char *out,
			size_t *outlen, unsigned *notes, struct bw_err *err)
{
	bool ascii = true, has_xn;
	unsigned dummy = 0;
	int rc;

	if (notes == NULL)
		notes = &dummy;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len >= 2 && text[0] == '*' && text[1] == '.') {
		text += 2;
		len -= 2;
		*notes |= BW_IOC_NOTE_WILDCARD;
	} else if (len > 0 && text[0] == '.') {
		text++;
		len--;
		*notes |= BW_IOC_NOTE_WILDCARD;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80) {
			ascii = false;
			break;
		}
	if (ascii) {
		if (len > DOMAIN_MAX)
			return bw_err_set(err, BW_EINVAL,
					  "name longer than %d octets", DOMAIN_MAX);
		for (size_t i = 0; i < len; i++)
			out[i] = (char)lower((unsigned char)text[i]);
		out[len] = '\0';
		rc = check_ascii_name(out, len, &has_xn, err);
		if (rc)
			return rc;
		*outlen = len;
		if (!has_xn)
			return BW_OK;
	}

	/* Unicode input, or A-labels that must be checked to be valid
	 * Punycode: let libidn2 apply IDNA2008 with the UTS#46 mapping. */
	{
		char in[4 * DOMAIN_MAX + 1];
		char *a = NULL;
		size_t alen;

		if (len >= sizeof(in))
			return bw_err_set(err, BW_EINVAL,
					  "name longer than %d octets", DOMAIN_MAX);
		memcpy(in, ascii ? out : text, len);
		in[len] = '\0';
		rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&a,
				    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK)
			return bw_err_set(err, BW_EINVAL,
					  "not a valid internationalised name: %s",
					  idn2_strerror(rc));
		alen = strlen(a);
		if (alen > DOMAIN_MAX) {
			idn2_free(a);
			return bw_err_set(err, BW_EINVAL,
					  "name longer than %d octets", DOMAIN_MAX);
		}
		for (size_t i = 0; i < alen; i++)
			out[i] = (char)lower((unsigned char)a[i]);
		out[alen] = '\0';
		idn2_free(a);
		if (alen > 0 && out[alen - 1] == '.')
			out[--alen] = '\0';
		rc = check_ascii_name(out, alen, &has_xn, err);
		if (rc)
			return rc;
		if (!ascii)
			*notes |= BW_IOC_NOTE_IDN;
		*outlen = alen;
	}
	return BW_OK;
}

/* ---- addresses -------------------------------------------------------- */

/* Strict dotted quad: four decimal octets 0-255, no leading zeros (which
 * some stacks read as octal, so they are ambiguous). */
bool
bw_ioc_parse_ipv4(const char *s, size_t len, uint8_t addr[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255)
			return false;
		if (i - start > 1 && s[start] == '0')
			return false;
		addr[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

static bool
parse_ipv6(const char *s, size_t len, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

static int
format_addr(int family, const uint8_t *addr, char *out, size_t *outlen)
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out,
		      INET6_ADDRSTRLEN) == NULL)
		return -1;
	*outlen = strlen(out);
	return 0;
}

static int
ipv6_explain(const char *s, size_t len, struct bw_err *err)
{
	if (memchr(s, '%', len))
		return bw_err_set(err, BW_EINVAL,
				  "IPv6 zone index (%%...) not allowed in an indicator");
	return bw_err_set(err, BW_EINVAL, "not a valid IPv6 address");
}

static int
ipv4_explain(const char *s, size_t len, struct bw_err *err)
{
	int dots = 0;

	for (size_t i = 0; i < len; i++)
		dots += s[i] == '.';
	for (size_t i = 0; i + 1 < len; i++)
		if ((i == 0 || s[i - 1] == '.') && s[i] == '0' &&
		    s[i + 1] >= '0' && s[i + 1] <= '9')
			return bw_err_set(err, BW_EINVAL,
					  "leading zero in an IPv4 octet (ambiguous: octal?)");
	if (dots != 3)
		return bw_err_set(err, BW_EINVAL,
				  "not a valid IPv4 address (needs four octets)");
	return bw_err_set(err, BW_EINVAL,
			  "not a valid IPv4 address (octets are 0-255)");
}

/* Address or CIDR of either family into out. */
static int
norm_address(const char *s, size_t len, enum bw_ioc_type hint,
	     struct bw_ioc *out, struct bw_err *err)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	uint8_t addr[16];
	int family, prefix = -1, bits;

	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		s++;
		alen -= 2;
	}
	if (memchr(s, ':', alen)) {
		if (!parse_ipv6(s, alen, addr))
			return ipv6_explain(s, alen, err);
		family = 6;
	} else {
		if (!bw_ioc_parse_ipv4(s, alen, addr))
			return ipv4_explain(s, alen, err);
		family = 4;
	}
	bits = family == 4 ? 32 : 128;
	if (hint == BW_IOC_IPV4 && family != 4)
		return bw_err_set(err, BW_EINVAL,
				  "expected an IPv4 address, got IPv6");
	if (hint == BW_IOC_IPV6 && family != 6)
		return bw_err_set(err, BW_EINVAL,
				  "expected an IPv6 address, got IPv4");
	if (slash) {
		const char *p = slash + 1;
		size_t plen = len - alen - 1;

		if (plen == 0 || plen > 3)
			return bw_err_set(err, BW_EINVAL,
					  "not a valid prefix length after '/'");
		prefix = 0;
		for (size_t i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return bw_err_set(err, BW_EINVAL,
						  "not a valid prefix length after '/'");
			prefix = prefix * 10 + (p[i] - '0');
		}
		if (plen > 1 && p[0] == '0')
			return bw_err_set(err, BW_EINVAL,
					  "leading zero in prefix length");
		if (prefix > bits)
			return bw_err_set(err, BW_EINVAL,
					  "prefix /%d longer than %d bits", prefix, bits);
		if (prefix == 0)
			return bw_err_set(err, BW_EINVAL,
					  "prefix /0 covers the whole address space");
	}
	if (prefix >= 0 && prefix < bits) {
		int nbytes = bits / 8;
		bool changed = false;

		for (int b = 0; b < nbytes; b++) {
			int keep = prefix - b * 8;
			uint8_t mask = keep >= 8 ? 0xff
				       : keep <= 0 ? 0
				       : (uint8_t)(0xff << (8 - keep));
			if (addr[b] & (uint8_t)~mask)
				changed = true;
			addr[b] &= mask;
		}
		if (changed)
			out->notes |= BW_IOC_NOTE_HOSTBITS;
		if (format_addr(family, addr, out->value, &out->len))
			return bw_err_set(err, BW_EINVAL, "cannot format address");
		out->len += (size_t)snprintf(out->value + out->len,
					     sizeof(out->value) - out->len, "/%d",
					     prefix);
		out->type = BW_IOC_CIDR;
		return BW_OK;
	}
	if (prefix == bits)
		out->notes |= BW_IOC_NOTE_HOSTPREFIX;
	if (format_addr(family, addr, out->value, &out->len))
		return bw_err_set(err, BW_EINVAL, "cannot format address");
	out->type = family == 4 ? BW_IOC_IPV4 : BW_IOC_IPV6;
	return BW_OK;
}

/* ---- hashes ----------------------------------------------------------- */

static int
norm_hash(const char *s, size_t len, enum bw_ioc_type hint, struct bw_ioc *out,
	  struct bw_err *err)
{
	enum bw_ioc_type t;
	size_t want = 0;

	for (size_t i = 0; i < len; i++)
		if (!is_hex((unsigned char)s[i]))
			return bw_err_set(err, BW_EINVAL,
					  "hash contains a non-hex character at offset %zu", i);
	switch (len) {
	case 32: t = BW_IOC_MD5; break;
	case 40: t = BW_IOC_SHA1; break;
	case 64: t = BW_IOC_SHA256; break;
	default: t = BW_IOC_ANY; break;
	}
	if (hint == BW_IOC_MD5) want = 32;
	if (hint == BW_IOC_SHA1) want = 40;
	if (hint == BW_IOC_SHA256) want = 64;
	if (want && len != want)
		return bw_err_set(err, BW_EINVAL,
				  "expected %zu hex digits for %s, got %zu", want,
				  bw_ioc_type_name(hint), len);
	if (t == BW_IOC_ANY)
		return bw_err_set(err, BW_EINVAL,
				  "%zu hex digits is not an MD5, SHA-1 or SHA-256 hash", len);
	for (size_t i = 0; i < len; i++)
		out->value[i] = (char)lower((unsigned char)s[i]);
	out->value[len] = '\0';
	out->len = len;
	out->type = t;
	return BW_OK;
}

/* ---- e-mail ----------------------------------------------------------- */

static bool
is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
norm_email(const char *s, size_t len, struct bw_ioc *out, struct bw_err *err)
{
	const char *at = NULL;
	size_t llen, dlen;
	int rc;

	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == '@') {
			at = s + i - 1;
			break;
		}
	if (at == NULL)
		return bw_err_set(err, BW_EINVAL, "e-mail address without '@'");
	llen = (size_t)(at - s);
	if (llen == 0)
		return bw_err_set(err, BW_EINVAL, "e-mail address with empty local part");
	if (llen > 64)
		return bw_err_set(err, BW_EINVAL,
				  "e-mail local part longer than 64 octets");
	if (s[0] == '.' || s[llen - 1] == '.' || find_sub(s, llen, ".."))
		return bw_err_set(err, BW_EINVAL,
				  "e-mail local part has a misplaced dot");
	for (size_t i = 0; i < llen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != '.' && !is_atext(c))
			return bw_err_set(err, BW_EINVAL,
					  "character 0x%02x not allowed in an e-mail local part", c);
		out->value[i] = (char)lower(c);
	}
	out->value[llen] = '@';
	rc = bw_ioc_domain_normalise(at + 1, len - llen - 1, out->value + llen + 1,
				     &dlen, &out->notes, err);
	if (rc)
		return bw_err_prefix(err, "e-mail domain");
	out->len = llen + 1 + dlen;
	if (out->len > 254)
		return bw_err_set(err, BW_EINVAL,
				  "e-mail address longer than 254 octets");
	out->type = BW_IOC_EMAIL;
	return BW_OK;
}

/* ---- URLs ------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void
sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->full = true;
		return;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static bool
is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

enum url_part { PART_USERINFO, PART_PATH, PART_QUERY };

static bool
allowed_raw(unsigned char c, enum url_part part)
{
	if (is_unreserved(c) || strchr("!$&'()*+,;=", c) != NULL)
		return c != 0;
	switch (part) {
	case PART_USERINFO: return c == ':';
	case PART_PATH: return c == ':' || c == '@' || c == '/';
	case PART_QUERY: return c == ':' || c == '@' || c == '/' || c == '?';
	}
	return false;
}

/* RFC 3986 6.2.2.2: decode escapes of unreserved characters, upper-case the
 * hex of the others, and escape what may not appear raw. */
static void
pct_normalise(struct sbuf *b, const char *s, size_t n, enum url_part part)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n &&
		    is_hex((unsigned char)s[i + 1]) &&
		    is_hex((unsigned char)s[i + 2])) {
			unsigned char v = (unsigned char)(hex_val((unsigned char)s[i + 1]) * 16 +
							  hex_val((unsigned char)s[i + 2]));
			if (is_unreserved(v)) {
				sb_putc(b, (char)v);
			} else {
				char e[3] = {'%', hex[v >> 4], hex[v & 15]};
				sb_put(b, e, 3);
			}
			i += 2;
		} else if (c != '%' && allowed_raw(c, part)) {
			sb_putc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_put(b, e, 3);
		}
	}
}

/* RFC 3986 5.2.4, in place on a path that starts with '/'. */
static size_t
remove_dot_segments(char *p, size_t n)
{
	size_t in = 0, out = 0;

	while (in < n) {
		if (n - in >= 3 && memcmp(p + in, "/./", 3) == 0) {
			in += 2;
		} else if (n - in == 2 && memcmp(p + in, "/.", 2) == 0) {
			p[in + 1] = '/';
			in += 1;
		} else if (n - in >= 4 && memcmp(p + in, "/../", 4) == 0) {
			in += 3;
			while (out > 0 && p[--out] != '/')
				;
		} else if (n - in == 3 && memcmp(p + in, "/..", 3) == 0) {
			in += 2;
			p[in] = '/';
			while (out > 0 && p[--out] != '/')
				;
		} else {
			do {
				p[out++] = p[in++];
			} while (in < n && p[in] != '/');
		}
	}
	if (out == 0)
		p[out++] = '/';
	p[out] = '\0';
	return out;
}

static int
default_port(const char *scheme)
{
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
		return 80;
	if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
		return 443;
	if (strcmp(scheme, "ftp") == 0)
		return 21;
	return -1;
}

static int
norm_url(const char *s, size_t len, struct bw_ioc *out, struct bw_err *err)
{
	char scheme[33];
	size_t slen = 0, i = 0;
	const char *auth, *host, *port = NULL;
	size_t auth_len, host_len, port_len = 0;
	struct sbuf b = {out->value, 0, sizeof(out->value), false};
	const char *sep = find_sub(s, len, "://");

	/* scheme */
	if (sep != NULL) {
		slen = (size_t)((const char *)sep - s);
		if (slen == 0 || slen >= sizeof(scheme) || !isalpha((unsigned char)s[0]))
			return bw_err_set(err, BW_EINVAL, "URL scheme is not valid");
		for (size_t k = 0; k < slen; k++) {
			unsigned char c = (unsigned char)s[k];
			if (!isalnum(c) && c != '+' && c != '-' && c != '.')
				return bw_err_set(err, BW_EINVAL,
						  "URL scheme is not valid");
			scheme[k] = (char)lower(c);
		}
		scheme[slen] = '\0';
		i = slen + 3;
	} else {
		memcpy(scheme, "http", 5);
		out->notes |= BW_IOC_NOTE_SCHEME_ADDED;
	}

	/* authority */
	auth = s + i;
	while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#' && s[i] != '\\')
		i++;
	auth_len = (size_t)(s + i - auth);
	if (auth_len == 0)
		return bw_err_set(err, BW_EINVAL, "URL has no host");

	sb_put(&b, scheme, strlen(scheme));
	sb_put(&b, "://", 3);

	host = auth;
	host_len = auth_len;
	for (size_t k = auth_len; k > 0; k--)
		if (auth[k - 1] == '@') {
			pct_normalise(&b, auth, k - 1, PART_USERINFO);
			sb_putc(&b, '@');
			host = auth + k;
			host_len = auth_len - k;
			break;
		}
	if (host_len > 0 && host[0] == '[') {
		const char *rb = memchr(host, ']', host_len);
		if (rb == NULL)
			return bw_err_set(err, BW_EINVAL, "URL IPv6 host without ']'");
		if ((size_t)(rb + 1 - host) < host_len) {
			if (rb[1] != ':')
				return bw_err_set(err, BW_EINVAL,
						  "unexpected text after URL IPv6 host");
			port = rb + 2;
			port_len = host_len - (size_t)(port - host);
		}
		host_len = (size_t)(rb + 1 - host);
	} else {
		const char *colon = memrchr(host, ':', host_len);
		if (colon) {
			port = colon + 1;
			port_len = host_len - (size_t)(port - host);
			host_len = (size_t)(colon - host);
		}
	}
	if (host_len == 0)
		return bw_err_set(err, BW_EINVAL, "URL has no host");

	/* host: an IP literal or a domain name */
	{
		struct bw_ioc tmp;
		bool numeric = true;
		int rc;

		tmp.notes = 0;
		for (size_t k = 0; k < host_len; k++)
			if (!isdigit((unsigned char)host[k]) && host[k] != '.')
				numeric = false;
		if (host[0] == '[') {
			uint8_t a6[16];
			char txt[INET6_ADDRSTRLEN];
			size_t tl = 0;
			if (!parse_ipv6(host + 1, host_len - 2, a6))
				return ipv6_explain(host + 1, host_len - 2, err);
			format_addr(6, a6, txt, &tl);
			sb_putc(&b, '[');
			sb_put(&b, txt, tl);
			sb_putc(&b, ']');
		} else if (numeric) {
			rc = norm_address(host, host_len, BW_IOC_IPV4, &tmp, err);
			if (rc)
				return bw_err_prefix(err, "URL host");
			sb_put(&b, tmp.value, tmp.len);
		} else {
			char d[DOMAIN_MAX + 1];
			size_t dl;
			rc = bw_ioc_domain_normalise(host, host_len, d, &dl,
						     &out->notes, err);
			if (rc)
				return bw_err_prefix(err, "URL host");
			out->notes &= ~(unsigned)BW_IOC_NOTE_WILDCARD;
			sb_put(&b, d, dl);
		}
	}

	/* port */
	if (port != NULL && port_len > 0) {
		long v = 0;
		for (size_t k = 0; k < port_len; k++) {
			if (!isdigit((unsigned char)port[k]) || k >= 5)
				return bw_err_set(err, BW_EINVAL,
						  "URL port is not a number from 0 to 65535");
			v = v * 10 + (port[k] - '0');
		}
		if (v > 65535)
			return bw_err_set(err, BW_EINVAL,
					  "URL port is not a number from 0 to 65535");
		if (v != default_port(scheme)) {
			char pb[8];
			int pl = snprintf(pb, sizeof(pb), ":%ld", v);
			sb_put(&b, pb, (size_t)pl);
		}
	}

	/* path, then query; the fragment is dropped */
	{
		size_t pstart = i, pend, qstart, qend;
		size_t path_off = b.len;

		while (i < len && s[i] != '?' && s[i] != '#')
			i++;
		pend = i;
		if (pend == pstart || s[pstart] != '/')
			sb_putc(&b, '/');
		pct_normalise(&b, s + pstart, pend - pstart, PART_PATH);
		/* A backslash is read as a slash by browsers; keep it escaped
		 * (as pct_normalise did) rather than guess. */
		if (!b.full)
			b.len = path_off + remove_dot_segments(b.p + path_off,
							       b.len - path_off);
		if (i < len && s[i] == '?') {
			qstart = ++i;
			while (i < len && s[i] != '#')
				i++;
			qend = i;
			if (qend > qstart) {
				sb_putc(&b, '?');
				pct_normalise(&b, s + qstart, qend - qstart, PART_QUERY);
			}
		}
	}
	if (b.full)
		return bw_err_set(err, BW_EINVAL,
				  "URL longer than %d bytes", BW_IOC_VALUE_MAX);
	out->len = b.len;
	out->type = BW_IOC_URL;
	return BW_OK;
}

/* ---- dispatch --------------------------------------------------------- */

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool
looks_ipv4_port(const char *s, size_t n, size_t *addr_len)
{
	const char *colon = memchr(s, ':', n);
	uint8_t a[4];

	if (colon == NULL || memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
		return false;
	if (!bw_ioc_parse_ipv4(s, (size_t)(colon - s), a))
		return false;
	for (const char *p = colon + 1; p < s + n; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (colon + 1 == s + n)
		return false;
	*addr_len = (size_t)(colon - s);
	return true;
}

static enum bw_ioc_type
detect(const char *s, size_t n)
{
	bool digits_dots = true;
	const char *slash;

	if (find_sub(s, n, "://"))
		return BW_IOC_URL;
	slash = memchr(s, '/', n);
	if (memchr(s, '@', n) && slash == NULL)
		return BW_IOC_EMAIL;
	if (slash != NULL) {
		/* "addr/len" is a CIDR; anything else with a slash is a URL
		 * written without its scheme. */
		size_t alen = (size_t)(slash - s);
		bool prefix_digits = slash + 1 < s + n;
		for (const char *p = slash + 1; p < s + n; p++)
			if (!isdigit((unsigned char)*p))
				prefix_digits = false;
		if (prefix_digits && alen > 0 &&
		    (memchr(s, ':', alen) || isdigit((unsigned char)s[0])))
			return BW_IOC_CIDR;
		return BW_IOC_URL;
	}
	if (memchr(s, ':', n))
		return BW_IOC_IPV6;
	if ((n == 32 || n == 40 || n == 64) && all_hex(s, n))
		return BW_IOC_SHA256; /* norm_hash picks the exact one */
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			digits_dots = false;
	if (digits_dots && n > 0)
		return BW_IOC_IPV4;
	return BW_IOC_DOMAIN;
}

int
bw_ioc_parse(const char *text, size_t len, enum bw_ioc_type hint,
	     struct bw_ioc *out, struct bw_err *err)
{
	char buf[RAW_MAX + 1];
	size_t n, alen;
	enum bw_ioc_type t;
	int rc;

	out->type = BW_IOC_ANY;
	out->notes = 0;
	out->len = 0;
	out->value[0] = '\0';

	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	if (len == 0)
		return bw_err_set(err, BW_EINVAL, "empty value");
	if (len > RAW_MAX)
		return bw_err_set(err, BW_EINVAL,
				  "value longer than %d bytes", RAW_MAX);
	if (memchr(text, '\0', len))
		return bw_err_set(err, BW_EINVAL, "value contains a NUL byte");
	if (refang(text, len, buf, sizeof(buf), &n, &out->notes))
		return bw_err_set(err, BW_EINVAL,
				  "value longer than %d bytes", RAW_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL,
					  "control character 0x%02x in value",
					  (unsigned char)buf[i]);

	t = hint;
	if (t == BW_IOC_ANY) {
		t = detect(buf, n);
		if (t == BW_IOC_IPV6 && looks_ipv4_port(buf, n, &alen)) {
			out->notes |= BW_IOC_NOTE_PORT_DROPPED;
			n = alen;
			buf[n] = '\0';
			t = BW_IOC_IPV4;
		}
	}

	switch (t) {
	case BW_IOC_DOMAIN:
		if (memchr(buf, ' ', n) || memchr(buf, '\t', n))
			return bw_err_set(err, BW_EINVAL,
					  "white space inside a domain name");
		rc = bw_ioc_domain_normalise(buf, n, out->value, &out->len,
					     &out->notes, err);
		if (rc == BW_OK)
			out->type = BW_IOC_DOMAIN;
		return rc;
	case BW_IOC_IPV4:
	case BW_IOC_IPV6:
	case BW_IOC_CIDR:
		return norm_address(buf, n, hint, out, err);
	case BW_IOC_URL:
		return norm_url(buf, n, out, err);
	case BW_IOC_EMAIL:
		return norm_email(buf, n, out, err);
	case BW_IOC_MD5:
	case BW_IOC_SHA1:
	case BW_IOC_SHA256:
		return norm_hash(buf, n, hint, out, err);
	case BW_IOC_ANY:
	case BW_IOC_NTYPES:
		break;
	}
	return bw_err_set(err, BW_EINVAL, "unknown indicator type");
}

int
bw_ioc_family(const struct bw_ioc *ioc)
{
	switch (ioc->type) {
	case BW_IOC_IPV4: return 4;
	case BW_IOC_IPV6: return 6;
	case BW_IOC_CIDR: return memchr(ioc->value, ':', ioc->len) ? 6 : 4;
	default: return 0;
	}
}
