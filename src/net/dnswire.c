/*
 * dnswire.c - DNS message reader and writer (see dnswire.h).
 *
 * Reader: one pass over the message with explicit bounds on every read.
 * Compression loops are impossible by construction: a pointer must point
 * before the start of the segment that contains it, so the position
 * strictly decreases at every jump (the pointer cap is a second fence).
 *
 * Writer: every name written uncompressed registers each of its suffixes
 * (offset < 0x4000) in a small open-addressing table keyed by a hash of the
 * lower-cased suffix; a later name looks up its suffixes longest first and
 * verifies a candidate by comparing against the bytes already written.  A
 * record that does not fit is rolled back, its table entries turned into
 * tombstones, so the table never points at bytes that will be overwritten.
 */
#include "net/dnswire.h"

#include <stdio.h>
#include <string.h>

#define SLOT_TOMB 0xffff

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int
bw_dns_header_read(const uint8_t *buf, size_t len, struct bw_dns_header *h,
		   struct bw_err *err)
{
	if (len < 12)
		return bw_err_set(err, BW_EFORMAT, "dns: message shorter than its header (%zu bytes)", len);
	h->id = get16(buf);
	h->flags = get16(buf + 2);
	h->qdcount = get16(buf + 4);
	h->ancount = get16(buf + 6);
	h->nscount = get16(buf + 8);
	h->arcount = get16(buf + 10);
	return BW_OK;
}

int
bw_dns_name_read(const uint8_t *buf, size_t len, size_t *off,
		 uint8_t out[BW_DNS_NAME_MAX], size_t *out_len, struct bw_err *err)
{
	size_t pos = *off, limit = *off, end = 0, o = 0;
	int jumped = 0, ptrs = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return bw_err_set(err, BW_EFORMAT, "dns: name at %zu runs past the message", *off);
		c = buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (pos + 1 >= len)
				return bw_err_set(err, BW_EFORMAT, "dns: truncated pointer at %zu", pos);
			t = ((size_t)(c & 0x3f) << 8) | buf[pos + 1];
			if (t >= limit)
				return bw_err_set(err, BW_EFORMAT,
						  "dns: compression pointer at %zu does not point backwards", pos);
			if (++ptrs > BW_DNS_POINTERS_MAX)
				return bw_err_set(err, BW_EFORMAT, "dns: more than %d pointers in a name",
						  BW_DNS_POINTERS_MAX);
			if (!jumped)
				end = pos + 2;
			jumped = 1;
			limit = t;
			pos = t;
			continue;
		}
		if (c & 0xc0)
			return bw_err_set(err, BW_EFORMAT, "dns: unknown label type 0x%02x at %zu", c, pos);
		if (c == 0) {
			if (o + 1 > BW_DNS_NAME_MAX)
				return bw_err_set(err, BW_EFORMAT, "dns: name longer than 255 octets");
			out[o++] = 0;
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (pos + 1 + c > len)
			return bw_err_set(err, BW_EFORMAT, "dns: label at %zu runs past the message", pos);
		if (o + 1 + c + 1 > BW_DNS_NAME_MAX)
			return bw_err_set(err, BW_EFORMAT, "dns: name longer than 255 octets");
		memcpy(out + o, buf + pos, 1 + (size_t)c);
		o += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
	*out_len = o;
	*off = end;
	return BW_OK;
}

/* Checks that the names inside the RDATA of rr are well formed and end
 * inside it. */
static int
check_rdata(const uint8_t *buf, size_t len, const struct bw_dns_rr *rr, struct bw_err *err)
{
	uint8_t tmp[BW_DNS_NAME_MAX];
	size_t tl, off = rr->rdata_off, end = rr->rdata_off + rr->rdlen;
	int rc;

	(void)len;
	switch (rr->type) {
	case BW_DNS_CNAME:
	case BW_DNS_NS:
	case BW_DNS_PTR:
		rc = bw_dns_name_read(buf, end, &off, tmp, &tl, err);
		if (rc)
			return rc;
		if (off != end)
			return bw_err_set(err, BW_EFORMAT, "dns: bytes after the name in RDATA at %zu",
					  rr->rdata_off);
		return BW_OK;
	case BW_DNS_SOA:
		rc = bw_dns_name_read(buf, end, &off, tmp, &tl, err);
		if (rc == BW_OK)
			rc = bw_dns_name_read(buf, end, &off, tmp, &tl, err);
		if (rc)
			return rc;
		if (off + 20 != end)
			return bw_err_set(err, BW_EFORMAT, "dns: SOA RDATA at %zu has a bad length",
					  rr->rdata_off);
		return BW_OK;
	case BW_DNS_A:
		if (rr->rdlen != 4)
			return bw_err_set(err, BW_EFORMAT, "dns: A RDATA of %u bytes", rr->rdlen);
		return BW_OK;
	case BW_DNS_AAAA:
		if (rr->rdlen != 16)
			return bw_err_set(err, BW_EFORMAT, "dns: AAAA RDATA of %u bytes", rr->rdlen);
		return BW_OK;
	default:
		return BW_OK;
	}
}

int
bw_dns_rr_read(const uint8_t *buf, size_t len, size_t *off, struct bw_dns_rr *rr,
	       struct bw_err *err)
{
	size_t pos = *off;
	int rc;

	rr->off = pos;
	rc = bw_dns_name_read(buf, len, &pos, rr->name, &rr->name_len, err);
	if (rc)
		return rc;
	if (len - pos < 10)
		return bw_err_set(err, BW_EFORMAT, "dns: record at %zu is truncated", rr->off);
	rr->type = get16(buf + pos);
	rr->rclass = get16(buf + pos + 2);
	rr->ttl = get32(buf + pos + 4);
	rr->rdlen = get16(buf + pos + 8);
	pos += 10;
	if (len - pos < rr->rdlen)
		return bw_err_set(err, BW_EFORMAT, "dns: RDATA at %zu runs past the message", pos);
	rr->rdata_off = pos;
	rc = check_rdata(buf, len, rr, err);
	if (rc)
		return rc;
	*off = pos + rr->rdlen;
	return BW_OK;
}

int
bw_dns_parse(const uint8_t *buf, size_t len, struct bw_dns_msg *m, struct bw_err *err)
{
	size_t pos = 12;
	unsigned total;
	int rc;

	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->len = len;
	if (len > BW_DNS_MSG_MAX)
		return bw_err_set(err, BW_EFORMAT, "dns: message of %zu bytes", len);
	rc = bw_dns_header_read(buf, len, &m->h, err);
	if (rc)
		return rc;
	if (m->h.qdcount > 1)
		return bw_err_set(err, BW_EFORMAT, "dns: %u questions", m->h.qdcount);
	total = (unsigned)m->h.ancount + m->h.nscount + m->h.arcount;
	if (total > BW_DNS_PARSE_RRS_MAX)
		return bw_err_set(err, BW_EFORMAT, "dns: %u records (at most %d)", total,
				  BW_DNS_PARSE_RRS_MAX);
	if (m->h.qdcount == 1) {
		rc = bw_dns_name_read(buf, len, &pos, m->qname, &m->qname_len, err);
		if (rc)
			return rc;
		if (len - pos < 4)
			return bw_err_set(err, BW_EFORMAT, "dns: question is truncated");
		m->qtype = get16(buf + pos);
		m->qclass = get16(buf + pos + 2);
		pos += 4;
		m->has_question = 1;
	}
	m->sections_off = pos;
	for (unsigned i = 0; i < total; i++) {
		struct bw_dns_rr rr;
		int section = i < m->h.ancount ? 1 : i < (unsigned)m->h.ancount + m->h.nscount ? 2 : 3;

		if (m->has_tsig)
			return bw_err_set(err, BW_EFORMAT, "dns: TSIG is not the last record");
		rc = bw_dns_rr_read(buf, len, &pos, &rr, err);
		if (rc)
			return rc;
		if (rr.type == BW_DNS_OPT) {
			if (section != 3 || m->has_edns || rr.name_len != 1)
				return bw_err_set(err, BW_EFORMAT, "dns: misplaced or repeated OPT record");
			m->has_edns = 1;
			m->edns_udp = rr.rclass;
		} else if (rr.type == BW_DNS_TSIG) {
			if (section != 3)
				return bw_err_set(err, BW_EFORMAT, "dns: TSIG outside the additional section");
			m->has_tsig = 1;
			m->tsig_off = rr.off;
			m->tsig = rr;
		} else if (rr.type == BW_DNS_SOA && section == 2 && !m->has_soa_auth) {
			size_t o = rr.rdata_off;
			uint8_t tmp[BW_DNS_NAME_MAX];
			size_t tl;
			/* checked by bw_dns_rr_read: two names and 20 bytes */
			if (bw_dns_name_read(buf, len, &o, tmp, &tl, err) ||
			    bw_dns_name_read(buf, len, &o, tmp, &tl, err))
				return BW_EFORMAT;
			m->has_soa_auth = 1;
			m->soa_auth_serial = get32(buf + o);
		}
	}
	if (pos != len)
		return bw_err_set(err, BW_EFORMAT, "dns: %zu bytes after the last record", len - pos);
	return BW_OK;
}

/* ---- names ------------------------------------------------------------ */

int
bw_dns_name_from_text(const char *text, uint8_t out[BW_DNS_NAME_MAX], size_t *out_len,
		      struct bw_err *err)
{
	size_t o = 0, tl = strlen(text);

	if (tl == 1 && text[0] == '.') {
		out[0] = 0;
		*out_len = 1;
		return BW_OK;
	}
	if (tl > 0 && text[tl - 1] == '.')
		tl--;
	if (tl == 0)
		return bw_err_set(err, BW_EINVAL, "dns: empty name");
	for (size_t i = 0; i < tl;) {
		size_t l = 0;
		while (i + l < tl && text[i + l] != '.')
			l++;
		if (l == 0)
			return bw_err_set(err, BW_EINVAL, "dns: empty label in '%.80s'", text);
		if (l > BW_DNS_LABEL_MAX)
			return bw_err_set(err, BW_EINVAL, "dns: label longer than 63 octets in '%.80s'", text);
		if (o + 1 + l + 1 > BW_DNS_NAME_MAX)
			return bw_err_set(err, BW_EINVAL, "dns: name longer than 255 octets: '%.80s'", text);
		out[o++] = (uint8_t)l;
		memcpy(out + o, text + i, l);
		o += l;
		i += l + 1;
	}
	out[o++] = 0;
	*out_len = o;
	return BW_OK;
}

char *
bw_dns_name_to_text(const uint8_t *name, size_t len, char *buf, size_t n)
{
	size_t o = 0, i = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	if (len <= 1) {
		if (n >= 2) {
			buf[0] = '.';
			buf[1] = '\0';
		}
		return buf;
	}
	while (i < len && name[i] != 0) {
		size_t l = name[i++];
		for (size_t k = 0; k < l && i < len; k++, i++) {
			uint8_t c = name[i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '*') {
				if (o + 2 > n)
					goto full;
				buf[o++] = (char)c;
			} else {
				if (o + 5 > n)
					goto full;
				snprintf(buf + o, 5, "\\%03u", c);
				o += 4;
			}
		}
		if (o + 2 > n)
			goto full;
		buf[o++] = '.';
	}
full:
	buf[o] = '\0';
	return buf;
}

int
bw_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

void
bw_dns_name_lower(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0;

	while (i < len) {
		size_t l = in[i];
		out[i] = in[i];
		i++;
		for (size_t k = 0; k < l && i < len; k++, i++)
			out[i] = lower(in[i]);
	}
}

int
bw_dns_name_under(const uint8_t *name, size_t len, const uint8_t *zone, size_t zlen,
		  size_t *prefix_len)
{
	size_t i = 0;

	if (zlen > len)
		return 0;
	/* walk label starts until the remaining suffix has zone's length */
	while (len - i > zlen) {
		i += 1 + (size_t)name[i];
		if (i >= len)
			return 0;
	}
	if (len - i != zlen || !bw_dns_name_equal(name + i, zlen, zone, zlen))
		return 0;
	if (prefix_len)
		*prefix_len = i;
	return 1;
}

int
bw_dns_name_labels(const uint8_t *name, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len && name[i] != 0; i += 1 + (size_t)name[i])
		n++;
	return n;
}

/* ---- writer ----------------------------------------------------------- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
bw_dns_w_init(struct bw_dns_writer *w, uint8_t *buf, size_t cap, const struct bw_dns_header *h)
{
	if (cap < 12)
		return BW_ELIMIT;
	w->buf = buf;
	w->cap = cap > BW_DNS_MSG_MAX ? BW_DNS_MSG_MAX : cap;
	w->len = 12;
	memset(w->counts, 0, sizeof(w->counts));
	/* a small message needs a small table (and clearing 2 KiB per UDP
	 * answer would cost more than the answer) */
	w->nslot_cap = w->cap <= 4096 ? 64 : BW_DNS_COMPRESS_SLOTS; /* powers of 2 */
	memset(w->slot_off, 0, w->nslot_cap * sizeof(w->slot_off[0]));
	w->nslots = 0;
	w->compress = 1;
	put16(buf, h->id);
	put16(buf + 2, h->flags);
	memset(buf + 4, 0, 8);
	return BW_OK;
}

void
bw_dns_w_flags(struct bw_dns_writer *w, uint16_t flags)
{
	put16(w->buf + 2, flags);
}

/* FNV-1a over the lower-cased label at p (its length octet too; at most n
 * octets), continuing from h.  A suffix's hash is its first label's over
 * its parent's, so one pass from the right hashes every suffix of a name. */
static uint32_t
label_hash(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= lower(p[i]);
		h *= 16777619u;
	}
	return h;
}

/* 1 if the name written at off in the buffer equals the wire suffix s. */
static int
written_equal(const struct bw_dns_writer *w, size_t off, const uint8_t *s, size_t len)
{
	size_t i = 0, pos = off;
	int hops = 0;

	for (;;) {
		uint8_t c;
		if (pos >= w->len || i >= len)
			return 0;
		c = w->buf[pos];
		if ((c & 0xc0) == 0xc0) {
			if (++hops > BW_DNS_POINTERS_MAX || pos + 1 >= w->len)
				return 0;
			pos = ((size_t)(c & 0x3f) << 8) | w->buf[pos + 1];
			continue;
		}
		if (c != s[i])
			return 0;
		if (c == 0)
			return i + 1 == len;
		if (pos + 1 + c > w->len || i + 1 + c > len)
			return 0;
		for (size_t k = 1; k <= c; k++)
			if (lower(w->buf[pos + k]) != lower(s[i + k]))
				return 0;
		pos += 1 + c;
		i += 1 + c;
	}
}

static long
slot_find(const struct bw_dns_writer *w, const uint8_t *s, size_t len, uint32_t h)
{
	unsigned i = h & (w->nslot_cap - 1);

	for (unsigned n = 0; n < w->nslot_cap; n++, i = (i + 1) & (w->nslot_cap - 1)) {
		uint16_t o = w->slot_off[i];
		if (o == 0)
			return -1;
		if (o != SLOT_TOMB && w->slot_hash[i] == h && written_equal(w, o - 1u, s, len))
			return (long)(o - 1u);
	}
	return -1;
}

struct added {
	unsigned idx[3 * 128];
	unsigned n;
};

static void
slot_add(struct bw_dns_writer *w, size_t off, uint32_t h, struct added *a)
{
	unsigned i = h & (w->nslot_cap - 1);

	if (off >= 0x3fff || w->nslots >= w->nslot_cap * 3 / 4 ||
	    a->n >= sizeof(a->idx) / sizeof(a->idx[0]))
		return;
	while (w->slot_off[i] != 0 && w->slot_off[i] != SLOT_TOMB)
		i = (i + 1) & (w->nslot_cap - 1);
	w->slot_off[i] = (uint16_t)(off + 1);
	w->slot_hash[i] = h;
	w->nslots++;
	a->idx[a->n++] = i;
}

static size_t wire_len(const uint8_t *p, size_t n);

/* Writes a wire name, compressed if possible. */
static int
put_name(struct bw_dns_writer *w, const uint8_t *name, size_t len, struct added *a)
{
	uint32_t hs[BW_DNS_NAME_MAX / 2 + 1]; /* hs[k]: the suffix from label k */
	size_t i = 0, k, nl = 0;

	/* the question's name, at 12, is the owner of most answers: a
	 * pointer to it without hashing every suffix */
	if (w->compress && w->counts[0] && wire_len(w->buf + 12, w->len - 12) == len &&
	    memcmp(w->buf + 12, name, len) == 0) {
		if (w->len + 2 > w->cap)
			return BW_ELIMIT;
		put16(w->buf + w->len, 0xc000 | 12);
		w->len += 2;
		return BW_OK;
	}
	if (w->compress) {
		size_t offs[BW_DNS_NAME_MAX / 2 + 1];
		uint32_t h = label_hash(2166136261u, (const uint8_t *)"", 1); /* the root */

		for (; i < len && name[i] != 0 && nl < BW_DNS_NAME_MAX / 2 + 1; i += 1 + (size_t)name[i])
			offs[nl++] = i;
		for (k = nl; k-- > 0;) {
			size_t n = 1 + (size_t)name[offs[k]];
			h = label_hash(h, name + offs[k], n < len - offs[k] ? n : len - offs[k]);
			hs[k] = h;
		}
		i = 0;
	}
	for (k = 0; i < len && name[i] != 0; k++) {
		long at = k < nl ? slot_find(w, name + i, len - i, hs[k]) : -1;
		size_t l = name[i];

		if (at >= 0) {
			if (w->len + 2 > w->cap)
				return BW_ELIMIT;
			put16(w->buf + w->len, (uint16_t)(0xc000 | (size_t)at));
			w->len += 2;
			return BW_OK;
		}
		if (w->len + 1 + l > w->cap || i + 1 + l > len)
			return BW_ELIMIT;
		if (k < nl)
			slot_add(w, w->len, hs[k], a);
		memcpy(w->buf + w->len, name + i, 1 + l);
		w->len += 1 + l;
		i += 1 + l;
	}
	if (w->len + 1 > w->cap)
		return BW_ELIMIT;
	w->buf[w->len++] = 0;
	return BW_OK;
}

static void
rollback(struct bw_dns_writer *w, size_t len, const struct added *a)
{
	w->len = len;
	for (unsigned k = 0; k < a->n; k++) {
		w->slot_off[a->idx[k]] = SLOT_TOMB;
		w->nslots--;
	}
}

int
bw_dns_w_question(struct bw_dns_writer *w, const uint8_t *name, size_t len, uint16_t qtype,
		  uint16_t qclass)
{
	struct added a = {.n = 0};
	size_t save = w->len;
	int rc = put_name(w, name, len, &a);

	if (rc == BW_OK && w->len + 4 > w->cap)
		rc = BW_ELIMIT;
	if (rc) {
		rollback(w, save, &a);
		return rc;
	}
	put16(w->buf + w->len, qtype);
	put16(w->buf + w->len + 2, qclass);
	w->len += 4;
	w->counts[0]++;
	return BW_OK;
}

/* Length of the wire name at the start of p (at most n bytes), 0 if it is
 * not a well-formed uncompressed name. */
static size_t
wire_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < BW_DNS_NAME_MAX) {
		if (p[i] == 0)
			return i + 1;
		if (p[i] > BW_DNS_LABEL_MAX)
			return 0;
		i += 1 + (size_t)p[i];
	}
	return 0;
}

int
bw_dns_w_rr(struct bw_dns_writer *w, int section, const uint8_t *name, size_t len, uint16_t type,
	    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	struct added a = {.n = 0};
	size_t save = w->len, rdpos;
	int rc;

	if (section < 1 || section > 3 || rdlen > 0xffff)
		return BW_EINVAL;
	rc = put_name(w, name, len, &a);
	if (rc)
		goto fail;
	if (w->len + 10 > w->cap) {
		rc = BW_ELIMIT;
		goto fail;
	}
	put16(w->buf + w->len, type);
	put16(w->buf + w->len + 2, rclass);
	put32(w->buf + w->len + 4, ttl);
	w->len += 10;
	rdpos = w->len;
	if (type == BW_DNS_CNAME || type == BW_DNS_NS || type == BW_DNS_PTR || type == BW_DNS_SOA) {
		size_t n1 = wire_len(rdata, rdlen), n2 = 0;
		if (n1 == 0) {
			rc = BW_EINVAL;
			goto fail;
		}
		if (type == BW_DNS_SOA) {
			n2 = wire_len(rdata + n1, rdlen - n1);
			if (n2 == 0 || n1 + n2 + 20 != rdlen) {
				rc = BW_EINVAL;
				goto fail;
			}
		} else if (n1 != rdlen) {
			rc = BW_EINVAL;
			goto fail;
		}
		rc = put_name(w, rdata, n1, &a);
		if (rc == BW_OK && n2)
			rc = put_name(w, rdata + n1, n2, &a);
		if (rc)
			goto fail;
		if (type == BW_DNS_SOA) {
			if (w->len + 20 > w->cap) {
				rc = BW_ELIMIT;
				goto fail;
			}
			memcpy(w->buf + w->len, rdata + n1 + n2, 20);
			w->len += 20;
		}
	} else {
		if (w->len + rdlen > w->cap) {
			rc = BW_ELIMIT;
			goto fail;
		}
		if (rdlen)
			memcpy(w->buf + w->len, rdata, rdlen);
		w->len += rdlen;
	}
	put16(w->buf + rdpos - 2, (uint16_t)(w->len - rdpos));
	w->counts[section]++;
	return BW_OK;
fail:
	rollback(w, save, &a);
	return rc;
}

int
bw_dns_w_opt(struct bw_dns_writer *w, uint16_t udp_size)
{
	static const uint8_t root = 0;
	int save = w->compress, rc;

	w->compress = 0;
	/* OPT: class is the UDP size, TTL the extended rcode and flags */
	rc = bw_dns_w_rr(w, 3, &root, 1, BW_DNS_OPT, udp_size, 0, NULL, 0);
	w->compress = save;
	return rc;
}

size_t
bw_dns_w_finish(struct bw_dns_writer *w)
{
	put16(w->buf + 4, w->counts[0]);
	put16(w->buf + 6, w->counts[1]);
	put16(w->buf + 8, w->counts[2]);
	put16(w->buf + 10, w->counts[3]);
	return w->len;
}
