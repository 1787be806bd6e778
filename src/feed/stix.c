/*
 * stix.c - STIX 2.1 bundles and TAXII 2.1 envelopes: the indicators of a
 * bundle, with what the rest of the bundle says about them.
 *
 * A bundle can hold a million indicators (hundreds of MB), so it is never
 * loaded whole: the "objects" array is streamed with jscan in two passes
 * over the same input (the reader rewinds between them).
 *
 *   pass 1  collects context: the names of identities (for the source) and
 *           of malware, threat actors, intrusion sets and campaigns (for
 *           tags) by id, the marking definitions that are TLP markings, and
 *           the relationships from an indicator to one of those four kinds
 *           of object.  Indicators are skipped after a cheap look at their
 *           "type" member; every other element is read (which also checks
 *           that it is JSON, so a broken file is refused before any record
 *           is emitted, unless the broken element is an indicator).
 *   pass 2  reads each indicator and emits one record per value of its
 *           pattern; every other element is skipped after the same cheap
 *           look.
 *
 * Elements are read by a validating JSON reader of our own that builds no
 * tree (the "fast reader" below): it checks the text as jansson would and
 * copies out only the members used, into reused buffers.  It gives up on
 * anything unusual (escaped member names, real numbers, \u0000, errors), and
 * such an element goes to jansson, which remains the reference; the test
 * suite checks that both ways give the same result.  jansson's tree costs
 * ~30 allocations and more time than all the rest of an indicator's work,
 * which is what the fast reader saves.  Marking definitions (rare, nested)
 * always go to jansson.
 *
 * The context lives in string maps (core/strmap.h) whose size is bounded by
 * the input; on the fast path an indicator costs no allocation at all (the
 * scratch buffers, the record and the map arenas are reused).
 *
 * Patterns are read by a strict recursive-descent parser of the STIX 2.1
 * patterning grammar (the OASIS ANTLR grammar: case-sensitive keywords,
 * typed literals, comments).  The subset bulwark models is a disjunction of
 * equality tests (and ISSUBSET for addresses) on domain-name, ipv4-addr,
 * ipv6-addr, url, email-addr values and MD5 / SHA-1 / SHA-256 file hashes:
 * ORs inside an observation and between observations expand to one record
 * per value.  Anything else that parses (AND, FOLLOWEDBY, qualifiers, NOT,
 * other operators, object types or properties) makes the whole indicator
 * "unsupported", with the first such construct named; a pattern that does
 * not parse is rejected with the syntax error.
 *
 * An indicator whose id is the one bulwark's own STIX export derives from
 * (source, type, value) (see export_stix.c) gets no external id: that id
 * names the export, not anything the source said.  Any other indicator
 * without an external reference keeps its own id as the external id.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "feed/feed.h"
#include "feed/jscan.h"
#include "feed/reader.h"

/* Context entries of one kind kept from one bundle. */
#define CONTEXT_MAX (16u * 1024 * 1024)
/* Comparisons in one pattern (each may become a record). */
#define PATTERN_TERMS_MAX 4096
/* Nesting of parentheses and brackets in one pattern. */
#define PATTERN_DEPTH_MAX 64

#define TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

/* ==== pattern parser ================================================== */

enum tok {
	T_EOF, T_INVALID,
	T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COLON, T_DOT, T_COMMA, T_STAR,
	T_EQ, T_NEQ, T_LT, T_LE, T_GT, T_GE,
	T_STRING, T_INTPOS, T_INTNEG, T_FLOATPOS, T_FLOATNEG, T_HEX, T_BIN,
	T_TIME, T_BOOL, T_IDENT, T_IDENT_HYPHEN,
	T_AND, T_OR, T_NOT, T_FOLLOWEDBY, T_LIKE, T_MATCHES, T_ISSUPERSET,
	T_ISSUBSET, T_LAST, T_IN, T_START, T_STOP, T_SECONDS, T_WITHIN,
	T_REPEATS, T_TIMES,
};

static const struct {
	const char *word;
	enum tok t;
} keywords[] = {
	{"AND", T_AND}, {"OR", T_OR}, {"NOT", T_NOT},
	{"FOLLOWEDBY", T_FOLLOWEDBY}, {"LIKE", T_LIKE}, {"MATCHES", T_MATCHES},
	{"ISSUPERSET", T_ISSUPERSET}, {"ISSUBSET", T_ISSUBSET}, {"LAST", T_LAST},
	{"IN", T_IN}, {"START", T_START}, {"STOP", T_STOP},
	{"SECONDS", T_SECONDS}, {"WITHIN", T_WITHIN}, {"REPEATS", T_REPEATS},
	{"TIMES", T_TIMES}, {"true", T_BOOL}, {"false", T_BOOL},
};

/* What a comparison tests, when bulwark models it. */
enum target {
	TG_NONE = 0, TG_DOMAIN, TG_IPV4, TG_IPV6, TG_URL, TG_EMAIL, TG_MD5,
	TG_SHA1, TG_SHA256,
};

struct term {
	enum target target;
	bool string_literal;
	size_t off, len; /* decoded literal in pat.buf */
};

struct pat {
	const char *s;
	size_t n, pos;
	/* current token */
	enum tok t;
	size_t ts, tl;
	int depth;
	/* decoded string literals and path components */
	char *buf;
	size_t used, cap;
	struct term *terms;
	size_t nterms, terms_cap;
	bool too_many;
	bool unsupported;
	bool failed;
	bool oom;
	char reason[256]; /* first unsupported construct, or the syntax error */
};

static void
pat_unsupported(struct pat *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
pat_unsupported(struct pat *p, const char *fmt, ...)
{
	va_list ap;

	if (p->unsupported || p->failed)
		return;
	p->unsupported = true;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

static int
pat_oom(struct pat *p)
{
	p->oom = p->failed = true;
	snprintf(p->reason, sizeof(p->reason), "out of memory");
	return -1;
}

static int
pat_fail(struct pat *p, const char *what)
{
	if (!p->failed) {
		p->failed = true;
		snprintf(p->reason, sizeof(p->reason),
			 "invalid pattern: %s at offset %zu", what, p->ts);
	}
	return -1;
}

static bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hexdigit(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_b64(unsigned char c)
{
	return is_ident_start(c) || is_digit(c) || c == '+' || c == '/';
}

/* Length of a StringLiteral at p->s[i] (a quote), or 0 if unterminated or
 * holding a backslash not followed by ' or \. */
static size_t
lex_string(const struct pat *p, size_t i)
{
	size_t k = i + 1;

	while (k < p->n) {
		char c = p->s[k];
		if (c == '\'')
			return k + 1 - i;
		if (c == '\\') {
			if (k + 1 >= p->n || (p->s[k + 1] != '\'' && p->s[k + 1] != '\\'))
				return 0;
			k += 2;
			continue;
		}
		k++;
	}
	return 0;
}

/* Two digits at q within [lo, hi] (as text). */
static bool
two_digits(const char *q, const char *lo, const char *hi)
{
	return is_digit((unsigned char)q[0]) && is_digit((unsigned char)q[1]) &&
	       memcmp(q, lo, 2) >= 0 && memcmp(q, hi, 2) <= 0;
}

/* Length of the TimestampLiteral at s[i] ('t'), or 0. */
static size_t
lex_timestamp(const struct pat *p, size_t i)
{
	const char *q = p->s + i;
	size_t avail = p->n - i, k;

	/* t'YYYY-MM-DDTHH:MM:SS */
	if (avail < 22 || q[1] != '\'')
		return 0;
	for (k = 2; k < 6; k++)
		if (!is_digit((unsigned char)q[k]))
			return 0;
	if (q[6] != '-' || !two_digits(q + 7, "01", "12") || q[9] != '-' ||
	    !two_digits(q + 10, "01", "31") || q[12] != 'T' ||
	    !two_digits(q + 13, "00", "23") || q[15] != ':' ||
	    !two_digits(q + 16, "00", "59") || q[18] != ':' ||
	    !two_digits(q + 19, "00", "60"))
		return 0;
	k = 21;
	if (k < avail && q[k] == '.') {
		k++;
		if (k >= avail || !is_digit((unsigned char)q[k]))
			return 0;
		while (k < avail && is_digit((unsigned char)q[k]))
			k++;
	}
	if (k + 1 >= avail || q[k] != 'Z' || q[k + 1] != '\'')
		return 0;
	return k + 2;
}

/* Length of the HexLiteral at s[i] ('h'), or 0. */
static size_t
lex_hex(const struct pat *p, size_t i)
{
	size_t k = i + 2;

	if (i + 1 >= p->n || p->s[i + 1] != '\'')
		return 0;
	while (k + 1 < p->n && is_hexdigit((unsigned char)p->s[k]) &&
	       is_hexdigit((unsigned char)p->s[k + 1]))
		k += 2;
	if (k < p->n && p->s[k] == '\'')
		return k + 1 - i;
	return 0;
}

/* Length of the BinaryLiteral at s[i] ('b'), or 0: whole groups of four
 * base64 characters, the last possibly padded with = or ==. */
static size_t
lex_binary(const struct pat *p, size_t i)
{
	size_t k = i + 2, chars = 0;

	if (i + 1 >= p->n || p->s[i + 1] != '\'')
		return 0;
	while (k < p->n && is_b64((unsigned char)p->s[k])) {
		k++;
		chars++;
	}
	if (chars % 4 == 3 && k < p->n && p->s[k] == '=') {
		k++;
		chars++;
	} else if (chars % 4 == 2 && k + 1 < p->n && p->s[k] == '=' &&
		   p->s[k + 1] == '=') {
		k += 2;
		chars += 2;
	}
	if (chars == 0 || chars % 4 != 0 || k >= p->n || p->s[k] != '\'')
		return 0;
	return k + 1 - i;
}

/* Number at s[i]: the longer of an int and a float match, as ANTLR's
 * lexer picks; 0 if neither. */
static size_t
lex_number(const struct pat *p, size_t i, enum tok *t)
{
	const char *s = p->s;
	size_t n = p->n, k = i, ilen = 0, flen = 0;
	bool neg = false;

	if (k < n && (s[k] == '+' || s[k] == '-')) {
		neg = s[k] == '-';
		k++;
	}
	if (k < n && s[k] == '0')
		ilen = k + 1 - i;
	else if (k < n && s[k] >= '1' && s[k] <= '9') {
		size_t e = k;
		while (e < n && is_digit((unsigned char)s[e]))
			e++;
		ilen = e - i;
	}
	{
		size_t e = k;
		while (e < n && is_digit((unsigned char)s[e]))
			e++;
		if (e < n && s[e] == '.' && e + 1 < n && is_digit((unsigned char)s[e + 1])) {
			e++;
			while (e < n && is_digit((unsigned char)s[e]))
				e++;
			flen = e - i;
		}
	}
	if (flen > ilen) {
		*t = neg ? T_FLOATNEG : T_FLOATPOS;
		return flen;
	}
	if (ilen) {
		*t = neg ? T_INTNEG : T_INTPOS;
		return ilen;
	}
	return 0;
}

/* Moves to the next token; T_INVALID on a character no token starts with
 * (the parser then fails at it). */
static void
next(struct pat *p)
{
	const char *s = p->s;
	size_t n = p->n, i = p->pos, len = 1;
	enum tok t = T_INVALID;

	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
				 s[i] == '\n' || s[i] == '\v' || s[i] == '\f'))
			i++;
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
			const char *end = memmem(s + i + 2, n - i - 2, "*/", 2);
			if (end == NULL)
				break; /* an unterminated comment is a stray '/' */
			i = (size_t)(end - s) + 2;
			continue;
		}
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
			while (i < n && s[i] != '\n' && s[i] != '\r')
				i++;
			continue;
		}
		break;
	}
	p->ts = i;
	if (i >= n) {
		p->t = T_EOF;
		p->tl = 0;
		p->pos = i;
		return;
	}
	unsigned char c = (unsigned char)s[i];
	switch (c) {
	case '[': t = T_LBRACK; break;
	case ']': t = T_RBRACK; break;
	case '(': t = T_LPAREN; break;
	case ')': t = T_RPAREN; break;
	case ':': t = T_COLON; break;
	case ',': t = T_COMMA; break;
	case '*': t = T_STAR; break;
	case '=':
		t = T_EQ;
		if (i + 1 < n && s[i + 1] == '=')
			len = 2;
		break;
	case '!':
		if (i + 1 < n && s[i + 1] == '=') {
			t = T_NEQ;
			len = 2;
		}
		break;
	case '<':
		t = T_LT;
		if (i + 1 < n && s[i + 1] == '=') {
			t = T_LE;
			len = 2;
		} else if (i + 1 < n && s[i + 1] == '>') {
			t = T_NEQ;
			len = 2;
		}
		break;
	case '>':
		t = T_GT;
		if (i + 1 < n && s[i + 1] == '=') {
			t = T_GE;
			len = 2;
		}
		break;
	case '\'':
		len = lex_string(p, i);
		t = len ? T_STRING : T_INVALID;
		if (!len)
			len = 1;
		break;
	default:
		if (c == '+' || c == '-' || c == '.' || is_digit(c)) {
			size_t l = lex_number(p, i, &t);
			if (l)
				len = l;
			else
				t = c == '.' ? T_DOT : T_INVALID;
		} else if (is_ident_start(c)) {
			size_t e = i + 1, lit = 0;
			bool hyphen = false;
			while (e < n && (is_ident_start((unsigned char)s[e]) ||
					 is_digit((unsigned char)s[e]) || s[e] == '-')) {
				if (s[e] == '-')
					hyphen = true;
				e++;
			}
			len = e - i;
			if (len == 1 && e < n && s[e] == '\'') {
				/* h'..', b'..', t'..' or a stray letter */
				if (c == 'h')
					lit = lex_hex(p, i);
				else if (c == 'b')
					lit = lex_binary(p, i);
				else if (c == 't')
					lit = lex_timestamp(p, i);
				if (lit) {
					t = c == 'h' ? T_HEX : c == 'b' ? T_BIN : T_TIME;
					len = lit;
					break;
				}
			}
			t = hyphen ? T_IDENT_HYPHEN : T_IDENT;
			for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
				if (strlen(keywords[k].word) == len &&
				    memcmp(keywords[k].word, s + i, len) == 0) {
					t = keywords[k].t;
					break;
				}
		}
		break;
	}
	p->t = t;
	p->tl = len;
	p->pos = i + len;
}

/* Decodes the current StringLiteral (or copies an identifier) into buf;
 * returns its offset, or (size_t)-1 on allocation failure. */
static size_t
save_token_text(struct pat *p, size_t *len)
{
	const char *s = p->s + p->ts;
	size_t n = p->tl, off = p->used, k = 0;

	if (p->used + n + 1 > p->cap) {
		char *b = bw_grow(p->buf, &p->cap, p->used + n + 1, 1);
		if (b == NULL)
			return (size_t)-1;
		p->buf = b;
	}
	if (p->t == T_STRING) {
		for (size_t i = 1; i + 1 < n; i++) {
			if (s[i] == '\\')
				i++;
			p->buf[off + k++] = s[i];
		}
	} else {
		memcpy(p->buf + off, s, n);
		k = n;
	}
	p->buf[off + k] = '\0';
	p->used += k + 1;
	*len = k;
	return off;
}

static bool
accept(struct pat *p, enum tok t)
{
	if (p->t != t)
		return false;
	next(p);
	return true;
}

static int
expect(struct pat *p, enum tok t, const char *what)
{
	if (p->t != t)
		return pat_fail(p, what);
	next(p);
	return 0;
}

static bool
is_orderable(enum tok t)
{
	return t == T_INTPOS || t == T_INTNEG || t == T_FLOATPOS ||
	       t == T_FLOATNEG || t == T_STRING || t == T_BIN || t == T_HEX ||
	       t == T_TIME;
}

static enum target
hash_target(const char *alg, size_t len)
{
	if ((len == 3 && strncasecmp(alg, "md5", 3) == 0))
		return TG_MD5;
	if ((len == 4 && strncasecmp(alg, "sha1", 4) == 0) ||
	    (len == 5 && strncasecmp(alg, "sha-1", 5) == 0))
		return TG_SHA1;
	if ((len == 6 && strncasecmp(alg, "sha256", 6) == 0) ||
	    (len == 7 && strncasecmp(alg, "sha-256", 7) == 0))
		return TG_SHA256;
	return TG_NONE;
}

/*
 * objectPath: objectType ':' firstComponent component*, classified into
 * what bulwark models.  *target gets TG_NONE (and the construct is noted
 * as unsupported) for anything else.
 */
static int
parse_path(struct pat *p, enum target *target, bool *address)
{
	const char *type = p->s + p->ts;
	size_t tlen = p->tl, ncomp = 0, c0 = 0, c0len = 0, c1 = 0, c1len = 0;
	size_t mark = p->used, path_start = p->ts, path_end;
	bool indexed = false;

	*target = TG_NONE;
	*address = false;
	if (p->t != T_IDENT && p->t != T_IDENT_HYPHEN)
		return pat_fail(p, "expected an object path");
	next(p);
	if (expect(p, T_COLON, "expected ':' after the object type"))
		return -1;
	if (p->t != T_IDENT && p->t != T_STRING)
		return pat_fail(p, "expected a property name");
	c0 = save_token_text(p, &c0len);
	if (c0 == (size_t)-1)
		return pat_oom(p);
	ncomp = 1;
	next(p);
	for (;;) {
		if (p->t == T_DOT) {
			next(p);
			if (p->t != T_IDENT && p->t != T_STRING)
				return pat_fail(p, "expected a property name after '.'");
			if (ncomp == 1) {
				c1 = save_token_text(p, &c1len);
				if (c1 == (size_t)-1)
					return pat_oom(p);
			}
			ncomp++;
			next(p);
		} else if (p->t == T_LBRACK) {
			next(p);
			if (p->t != T_INTPOS && p->t != T_INTNEG && p->t != T_STAR)
				return pat_fail(p, "expected an index or '*'");
			next(p);
			if (expect(p, T_RBRACK, "expected ']' after an index"))
				return -1;
			indexed = true;
			ncomp++;
		} else {
			break;
		}
	}
	path_end = p->ts;
	while (path_end > path_start && (p->s[path_end - 1] == ' ' ||
					 p->s[path_end - 1] == '\t'))
		path_end--;

	{
		const char *comp0 = p->buf + c0;
		bool value = !indexed && ncomp == 1 && c0len == 5 &&
			     memcmp(comp0, "value", 5) == 0;
#define TYPE_IS(lit) (tlen == sizeof(lit) - 1 && memcmp(type, lit, tlen) == 0)
		if (TYPE_IS("domain-name")) {
			*target = value ? TG_DOMAIN : TG_NONE;
		} else if (TYPE_IS("ipv4-addr")) {
			*target = value ? TG_IPV4 : TG_NONE;
			*address = true;
		} else if (TYPE_IS("ipv6-addr")) {
			*target = value ? TG_IPV6 : TG_NONE;
			*address = true;
		} else if (TYPE_IS("url")) {
			*target = value ? TG_URL : TG_NONE;
		} else if (TYPE_IS("email-addr")) {
			*target = value ? TG_EMAIL : TG_NONE;
		} else if (TYPE_IS("file")) {
			if (!indexed && ncomp == 2 && c0len == 6 &&
			    memcmp(comp0, "hashes", 6) == 0) {
				*target = hash_target(p->buf + c1, c1len);
				if (*target == TG_NONE)
					pat_unsupported(p, "hash algorithm %.64s not supported",
							p->buf + c1);
			}
		} else {
			pat_unsupported(p, "object type %.*s not supported",
					(int)(tlen > 64 ? 64 : tlen), type);
		}
#undef TYPE_IS
		if (*target == TG_NONE)
			pat_unsupported(p, "property %.*s not supported",
					(int)(path_end - path_start > 96 ? 96
					      : path_end - path_start),
					p->s + path_start);
	}
	/* The components are not needed any more; literals follow. */
	p->used = mark;
	return 0;
}

static int
add_term(struct pat *p, enum target target)
{
	struct term *t;
	size_t len, off;

	if (p->nterms >= PATTERN_TERMS_MAX) {
		p->too_many = true;
		return 0;
	}
	if (p->nterms == p->terms_cap) {
		t = bw_grow(p->terms, &p->terms_cap, p->nterms + 1, sizeof(*t));
		if (t == NULL)
			return pat_oom(p);
		p->terms = t;
	}
	t = &p->terms[p->nterms++];
	t->target = target;
	t->string_literal = p->t == T_STRING;
	t->off = t->len = 0;
	if (t->string_literal) {
		off = save_token_text(p, &len);
		if (off == (size_t)-1)
			return pat_oom(p);
		t->off = off;
		t->len = len;
	}
	return 0;
}

static int parse_cmp_or(struct pat *p);
static int parse_obs_exprs(struct pat *p);

/* item (op item)*: the expressions joined by one operator, left to right;
 * uses names an operator that parses but is not supported ("pattern uses
 * NAME"), NULL for one that is (OR). */
static int
parse_joined(struct pat *p, int (*item)(struct pat *), enum tok op, const char *uses)
{
	if (item(p))
		return -1;
	while (p->t == op) {
		if (uses)
			pat_unsupported(p, "pattern uses %s", uses);
		next(p);
		if (item(p))
			return -1;
	}
	return 0;
}

/* propTest */
static int
parse_prop_test(struct pat *p)
{
	enum target target;
	bool address, negated;
	enum tok op;

	if (p->t == T_LPAREN) {
		if (++p->depth > PATTERN_DEPTH_MAX)
			return pat_fail(p, "nested too deeply");
		next(p);
		if (parse_cmp_or(p))
			return -1;
		p->depth--;
		return expect(p, T_RPAREN, "expected ')'");
	}
	if (parse_path(p, &target, &address))
		return -1;
	negated = accept(p, T_NOT);
	if (negated)
		pat_unsupported(p, "pattern uses NOT");
	op = p->t;
	switch (op) {
	case T_EQ:
	case T_NEQ:
		next(p);
		if (!is_orderable(p->t) && p->t != T_BOOL)
			return pat_fail(p, "expected a literal");
		if (op == T_NEQ)
			pat_unsupported(p, "operator != not supported");
		else if (target != TG_NONE && add_term(p, target))
			return -1;
		next(p);
		return 0;
	case T_LT:
	case T_LE:
	case T_GT:
	case T_GE:
		next(p);
		if (!is_orderable(p->t))
			return pat_fail(p, "expected an orderable literal");
		pat_unsupported(p, "operator %s not supported",
				op == T_LT ? "<" : op == T_LE ? "<=" : op == T_GT ? ">" : ">=");
		next(p);
		return 0;
	case T_IN:
		next(p);
		if (expect(p, T_LPAREN, "expected '(' after IN"))
			return -1;
		if (p->t != T_RPAREN) {
			for (;;) {
				if (!is_orderable(p->t) && p->t != T_BOOL)
					return pat_fail(p, "expected a literal in the set");
				next(p);
				if (!accept(p, T_COMMA))
					break;
			}
		}
		if (expect(p, T_RPAREN, "expected ')' after the set"))
			return -1;
		pat_unsupported(p, "operator IN not supported");
		return 0;
	case T_LIKE:
	case T_MATCHES:
	case T_ISSUPERSET:
	case T_ISSUBSET:
		next(p);
		if (p->t != T_STRING)
			return pat_fail(p, "expected a string literal");
		if (op == T_ISSUBSET && address) {
			if (target != TG_NONE && add_term(p, target))
				return -1;
		} else {
			pat_unsupported(p, "operator %s not supported",
					op == T_LIKE ? "LIKE" : op == T_MATCHES ? "MATCHES"
					: op == T_ISSUPERSET ? "ISSUPERSET" : "ISSUBSET");
		}
		next(p);
		return 0;
	default:
		return pat_fail(p, "expected a comparison operator");
	}
}

/* comparisonExpressionAnd */
static int
parse_cmp_and(struct pat *p)
{
	return parse_joined(p, parse_prop_test, T_AND, "AND");
}

/* comparisonExpression */
static int
parse_cmp_or(struct pat *p)
{
	return parse_joined(p, parse_cmp_and, T_OR, NULL);
}

static int
parse_qualifiers(struct pat *p)
{
	for (;;) {
		switch (p->t) {
		case T_START:
			pat_unsupported(p, "pattern uses START/STOP");
			next(p);
			if (p->t != T_TIME && p->t != T_STRING)
				return pat_fail(p, "expected a timestamp after START");
			next(p);
			if (expect(p, T_STOP, "expected STOP"))
				return -1;
			if (p->t != T_TIME && p->t != T_STRING)
				return pat_fail(p, "expected a timestamp after STOP");
			next(p);
			break;
		case T_WITHIN:
			pat_unsupported(p, "pattern uses WITHIN");
			next(p);
			if (p->t != T_INTPOS && p->t != T_FLOATPOS)
				return pat_fail(p, "expected a positive number after WITHIN");
			next(p);
			if (expect(p, T_SECONDS, "expected SECONDS"))
				return -1;
			break;
		case T_REPEATS:
			pat_unsupported(p, "pattern uses REPEATS");
			next(p);
			if (p->t != T_INTPOS)
				return pat_fail(p, "expected a positive integer after REPEATS");
			next(p);
			if (expect(p, T_TIMES, "expected TIMES"))
				return -1;
			break;
		default:
			return 0;
		}
	}
}

/* observationExpression with its qualifiers */
static int
parse_obs_expr(struct pat *p)
{
	if (++p->depth > PATTERN_DEPTH_MAX)
		return pat_fail(p, "nested too deeply");
	if (accept(p, T_LBRACK)) {
		if (parse_cmp_or(p) || expect(p, T_RBRACK, "expected ']'"))
			return -1;
	} else if (accept(p, T_LPAREN)) {
		if (parse_obs_exprs(p) || expect(p, T_RPAREN, "expected ')'"))
			return -1;
	} else {
		return pat_fail(p, p->ts == 0 ? "expected '[' (a pattern starts with an observation in brackets)"
					     : "expected '[' or '('");
	}
	p->depth--;
	return parse_qualifiers(p);
}

/* observationExpressionAnd */
static int
parse_obs_and(struct pat *p)
{
	return parse_joined(p, parse_obs_expr, T_AND, "AND");
}

/* observationExpressionOr */
static int
parse_obs_or(struct pat *p)
{
	return parse_joined(p, parse_obs_and, T_OR, NULL);
}

/* observationExpressions */
static int
parse_obs_exprs(struct pat *p)
{
	return parse_joined(p, parse_obs_or, T_FOLLOWEDBY, "FOLLOWEDBY");
}

/* Parses s; afterwards p->failed (syntax error in p->reason),
 * p->unsupported (reason in p->reason), or the terms are ready. */
static void
pattern_parse(struct pat *p, const char *s, size_t n)
{
	p->s = s;
	p->n = n;
	p->pos = 0;
	p->depth = 0;
	p->used = 0;
	p->nterms = 0;
	p->too_many = p->unsupported = p->failed = p->oom = false;
	p->reason[0] = '\0';
	next(p);
	if (parse_obs_exprs(p))
		return;
	if (p->t != T_EOF)
		pat_fail(p, "unexpected text after the pattern");
}

/* ==== bundle ========================================================== */

/*
 * What pass 2 needs of an indicator, read either by the fast reader below
 * or, for anything it leaves to jansson, from a json_t.  Strings are
 * NUL-terminated and live until the next indicator.
 */
enum fkind { FK_ABSENT = 0, FK_STRING, FK_INT, FK_TRUE, FK_FALSE, FK_OTHER };

struct fval {
	enum fkind kind;
	const char *s; /* FK_STRING */
	size_t n;
	long long i;   /* FK_INT */
};

struct sv {
	const char *s; /* NULL for an item that is not a string */
	size_t n;
};

struct svec {
	struct sv *v;
	size_t n, cap;
};

struct iview {
	struct fval type, id, pattern, pattern_type, created, modified;
	struct fval valid_from, valid_until, created_by_ref, confidence, revoked;
	struct fval name, source_ref, target_ref; /* context objects */
	bool recipients_present, recipients_array; /* x_bulwark_recipients */
	struct svec labels, markings, recipients;
	const char *ext_ref; /* first external_references[].external_id */
};

struct kspan {
	const char *s;
	size_t n;
};

struct rel {
	const char *target; /* id of a malware, threat-actor, ... */
	struct rel *next;
};

struct stix {
	const struct bw_feed_sink *sink;
	struct bw_strmap *names;    /* id -> name (identity and SDOs) */
	struct bw_strmap *markings; /* id -> &levels[tlp] */
	struct bw_strmap *rels;     /* indicator id -> struct rel list */
	bool is_bundle;
	struct pat pat;
	struct bw_feed_record rec;
	char recipients[BW_RECORD_RECIPIENTS_MAX][3];
	char where[64], where_pat[64];
	char reason[BW_ERR_MSG_MAX];
	char bulwark_id[64];
	struct iview view;
	/* the fast reader's decoded strings and member names */
	char *scratch;
	size_t scratch_used, scratch_cap;
	struct kspan *keys;
	size_t nkeys, keys_cap;
};

static const int levels[BW_TLP_NLEVELS] = {
	BW_TLP_CLEAR, BW_TLP_GREEN, BW_TLP_AMBER, BW_TLP_AMBER_STRICT, BW_TLP_RED,
};

static bool
str_is(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(s, lit, l) == 0;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Tag kind of a relationship target by the type part of its id. */
static const char *
target_kind(const char *id)
{
	if (has_prefix(id, "malware--"))
		return BW_TAG_KIND_MALWARE;
	if (has_prefix(id, "threat-actor--") || has_prefix(id, "intrusion-set--"))
		return BW_TAG_KIND_ACTOR;
	if (has_prefix(id, "campaign--"))
		return BW_TAG_KIND_CAMPAIGN;
	if (has_prefix(id, "report--"))
		return BW_TAG_KIND_REPORT;
	return NULL;
}

/* ---- cheap look at an element ----------------------------------------- */

enum peek { PK_TYPE, PK_NOT_OBJECT, PK_NO_TYPE, PK_UNSURE };

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Index just past the JSON string starting at s[i] ('"'), or n. */
static size_t
skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* Index just past the value at s[i]; the text has balanced brackets
 * (jscan checked), so nesting is only counted. */
static size_t
skip_value(const char *s, size_t n, size_t i)
{
	int depth = 0;

	if (i < n && s[i] == '"')
		return skip_string(s, n, i);
	if (i < n && s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
		       s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			i++;
		return i;
	}
	while (i < n) {
		char c = s[i];
		if (c == '"') {
			i = skip_string(s, n, i);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/*
 * The "type" member of the object text s without parsing all of it: walks
 * the top-level members only until "type" (producers put it first).
 * PK_UNSURE when the text is unusual (escaped keys or type, a non-string
 * type, malformed text): the caller then asks jansson.
 */
static enum peek
peek_type(const char *s, size_t n, const char **type, size_t *tlen)
{
	size_t i = skip_ws(s, n, 0);

	if (i >= n || s[i] != '{')
		return i < n && (s[i] == '[' || s[i] == '"' || s[i] == '-' ||
				 (s[i] >= '0' && s[i] <= '9') || s[i] == 't' ||
				 s[i] == 'f' || s[i] == 'n')
			       ? PK_NOT_OBJECT
			       : PK_UNSURE;
	i++;
	for (;;) {
		size_t ks, ke;
		bool esc = false;

		i = skip_ws(s, n, i);
		if (i >= n)
			return PK_UNSURE;
		if (s[i] == '}')
			return PK_NO_TYPE;
		if (s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] != '"')
			return PK_UNSURE;
		ks = ++i;
		while (i < n && s[i] != '"') {
			if (s[i] == '\\') {
				esc = true;
				i++;
			}
			i++;
		}
		if (i >= n)
			return PK_UNSURE;
		ke = i++;
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != ':')
			return PK_UNSURE;
		i = skip_ws(s, n, i + 1);
		if (i >= n)
			return PK_UNSURE;
		if (esc)
			return PK_UNSURE;
		if (ke - ks == 4 && memcmp(s + ks, "type", 4) == 0) {
			size_t vs;
			if (s[i] != '"')
				return PK_UNSURE;
			vs = ++i;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\')
					return PK_UNSURE;
				i++;
			}
			if (i >= n)
				return PK_UNSURE;
			*type = s + vs;
			*tlen = i - vs;
			return PK_TYPE;
		}
		i = skip_value(s, n, i);
	}
}

/* json_loadb for an element; *fatal tells a broken file from an element
 * that is JSON but that jansson will not take (a duplicate key, a NUL). */
static json_t *
load_element(const char *json, size_t len, json_error_t *jerr, bool *fatal)
{
	json_t *j = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, jerr);

	*fatal = false;
	if (j == NULL) {
		enum json_error_code c = json_error_code(jerr);
		*fatal = c != json_error_duplicate_key && c != json_error_null_character;
	}
	return j;
}

static int
not_json(size_t index, const json_error_t *jerr, struct bw_err *err)
{
	return bw_err_set(err, BW_EFORMAT,
			  "objects[%zu] is not valid JSON: %s (line %d of the element)",
			  index, jerr->text, jerr->line);
}

/* ---- jansson helpers -------------------------------------------------- */

static const char *
obj_str(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

/* The TLP level a marking-definition object defines, if it is a TLP
 * marking: TLP 1.0 (definition_type "tlp"), the TLP 2.0 extension, or a
 * name "TLP:LEVEL". */
static int
marking_tlp(json_t *o)
{
	const char *s;
	size_t n;
	json_t *ext = json_object_get(json_object_get(o, "extensions"), TLP2_EXTENSION);
	json_t *def = json_object_get(o, "definition");

	s = obj_str(o, "definition_type", &n);
	if (s && str_is(s, n, "tlp") && (s = obj_str(def, "tlp", &n)) != NULL)
		return bw_tlp_parse(s, n);
	if (json_is_object(ext) && (s = obj_str(ext, "tlp_2_0", &n)) != NULL)
		return bw_tlp_parse(s, n);
	s = obj_str(o, "name", &n);
	if (s && n > 4 && strncasecmp(s, "TLP:", 4) == 0)
		return bw_tlp_parse(s, n);
	return BW_TLP_UNSET;
}

static int
root_member(void *ctx, const char *key, const char *json, size_t len,
	    struct bw_err *err)
{
	struct stix *x = ctx;

	if (strcmp(key, "type") != 0)
		return BW_OK;
	if (json && str_is(json, len, "\"bundle\"")) {
		x->is_bundle = true;
		return BW_OK;
	}
	return bw_err_set(err, BW_EFORMAT,
			  "the root object has type %.*s, not a STIX bundle",
			  json ? (int)(len > 64 ? 64 : len) : 6, json ? json : "(long)");
}

/* ---- pass 2: indicators ----------------------------------------------- */

static void
view_reset(struct iview *v)
{
	struct svec l = v->labels, m = v->markings, r = v->recipients;

	memset(v, 0, sizeof(*v));
	v->labels = l;
	v->markings = m;
	v->recipients = r;
	v->labels.n = v->markings.n = v->recipients.n = 0;
}

static int
svec_push(struct svec *a, const char *s, size_t n)
{
	if (a->n == a->cap) {
		struct sv *v = bw_grow(a->v, &a->cap, a->n + 1, sizeof(*v));
		if (v == NULL)
			return -1;
		a->v = v;
	}
	a->v[a->n].s = s;
	a->v[a->n].n = n;
	a->n++;
	return 0;
}

static bool
ext_id_ok(const char *s, size_t n)
{
	return s && n > 0 && n <= BW_EXTERNAL_ID_MAX && memchr(s, '\0', n) == NULL;
}

/* ---- the fast reader --------------------------------------------------
 *
 * A validating JSON reader that builds nothing: it walks an indicator's
 * text once, checks it as jansson would (grammar, UTF-8, escapes, no
 * duplicate keys at any level) and copies out the members pass 2 needs.
 * Whatever it is not sure of (an escaped key, a real number, an integer
 * of more than 18 digits, a \u0000, an error) makes it give up, and the
 * element goes to jansson, which stays the reference: the fast reader
 * only saves jansson's allocations on the common case.
 */

struct fr {
	const char *s;
	size_t n, i;
	struct stix *x;
};


static void
fr_ws(struct fr *f)
{
	while (f->i < f->n && (f->s[f->i] == ' ' || f->s[f->i] == '\t' ||
			       f->s[f->i] == '\n' || f->s[f->i] == '\r'))
		f->i++;
}

/* Length of a valid UTF-8 sequence of 2-4 bytes at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (avail < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return len;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * The string at f->i ('"').  With out, decodes it into the scratch buffer
 * (room is reserved up front) as a NUL-terminated string; *escaped tells
 * whether it had escapes.  Returns 0, or -1 to give up.
 */
static int
fr_string(struct fr *f, struct sv *out, bool *escaped)
{
	const char *s = f->s;
	size_t n = f->n, i = f->i + 1, start = i;
	bool esc = false;

	for (;;) {
		unsigned char c;
		/* eight plain bytes at a time: none of '"', '\\', a control
		 * character or a byte >= 0x80 (SWAR zero-byte tests) */
		while (i + 8 <= n) {
			uint64_t w, ones = UINT64_C(0x0101010101010101);
			uint64_t high = UINT64_C(0x8080808080808080);
			memcpy(&w, s + i, 8);
			uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
			if ((((q - ones) & ~q) | ((b - ones) & ~b) |
			     ((w - ones * 0x20) & ~w) | w) & high)
				break;
			i += 8;
		}
		if (i >= n)
			return -1;
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			unsigned u, u2;
			esc = true;
			if (i + 1 >= n)
				return -1;
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n':
			case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				if (i + 6 > n || hex4(s + i + 2, &u) || u == 0)
					return -1;
				if (u >= 0xdc00 && u <= 0xdfff)
					return -1;
				if (u >= 0xd800 && u <= 0xdbff) {
					if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
					    hex4(s + i + 8, &u2) || u2 < 0xdc00 || u2 > 0xdfff)
						return -1;
					i += 12;
				} else {
					i += 6;
				}
				continue;
			default:
				return -1;
			}
		}
		if (c < 0x20)
			return -1;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t l = utf8_seq((const unsigned char *)s + i, n - i);
		if (l == 0)
			return -1;
		i += l;
	}
	f->i = i + 1;
	if (escaped)
		*escaped = esc;
	if (out == NULL)
		return 0;

	/* decode into the scratch buffer */
	char *d = f->x->scratch + f->x->scratch_used, *d0 = d;
	if (!esc) {
		memcpy(d, s + start, i - start);
		d += i - start;
	} else {
		for (size_t k = start; k < i;) {
			if (s[k] != '\\') {
				*d++ = s[k++];
				continue;
			}
			char e = s[k + 1];
			unsigned u, u2;
			k += 2;
			switch (e) {
			case 'b': *d++ = '\b'; break;
			case 'f': *d++ = '\f'; break;
			case 'n': *d++ = '\n'; break;
			case 'r': *d++ = '\r'; break;
			case 't': *d++ = '\t'; break;
			case 'u':
				hex4(s + k, &u);
				k += 4;
				if (u >= 0xd800 && u <= 0xdbff) {
					hex4(s + k + 2, &u2);
					k += 6;
					u = 0x10000 + ((u - 0xd800) << 10) + (u2 - 0xdc00);
				}
				if (u < 0x80) {
					*d++ = (char)u;
				} else if (u < 0x800) {
					*d++ = (char)(0xc0 | (u >> 6));
					*d++ = (char)(0x80 | (u & 0x3f));
				} else if (u < 0x10000) {
					*d++ = (char)(0xe0 | (u >> 12));
					*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
					*d++ = (char)(0x80 | (u & 0x3f));
				} else {
					*d++ = (char)(0xf0 | (u >> 18));
					*d++ = (char)(0x80 | ((u >> 12) & 0x3f));
					*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
					*d++ = (char)(0x80 | (u & 0x3f));
				}
				break;
			default: *d++ = e; break; /* " \ / */
			}
		}
	}
	*d = '\0';
	out->s = d0;
	out->n = (size_t)(d - d0);
	f->x->scratch_used += out->n + 1;
	return 0;
}

/* An integer of up to 18 digits; anything else gives up. */
static int
fr_number(struct fr *f, long long *v)
{
	const char *s = f->s;
	size_t i = f->i, digits = 0;
	bool neg = false;
	long long x = 0;

	if (i < f->n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= f->n || !is_digit((unsigned char)s[i]))
		return -1;
	if (s[i] == '0' && i + 1 < f->n && is_digit((unsigned char)s[i + 1]))
		return -1;
	while (i < f->n && is_digit((unsigned char)s[i])) {
		if (++digits > 18)
			return -1;
		x = x * 10 + (s[i] - '0');
		i++;
	}
	if (i < f->n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E'))
		return -1;
	f->i = i;
	*v = neg ? -x : x;
	return 0;
}

static int
fr_literal(struct fr *f, const char *lit, size_t len)
{
	if (f->n - f->i < len || memcmp(f->s + f->i, lit, len) != 0)
		return -1;
	f->i += len;
	return 0;
}

static int fr_skip(struct fr *f, int depth);

/* Reads a member name at f->i and checks it against the names already in
 * this object (keys[base..]); gives up on escaped names. */
static int
fr_key(struct fr *f, size_t base, struct kspan *key)
{
	struct stix *x = f->x;
	bool esc;
	size_t start = f->i + 1;

	if (f->i >= f->n || f->s[f->i] != '"' || fr_string(f, NULL, &esc) || esc)
		return -1;
	key->s = f->s + start;
	key->n = f->i - 1 - start;
	for (size_t k = base; k < x->nkeys; k++)
		if (x->keys[k].n == key->n && memcmp(x->keys[k].s, key->s, key->n) == 0)
			return -1; /* a duplicate: jansson words the reject */
	if (x->nkeys == x->keys_cap) {
		struct kspan *ks = bw_grow(x->keys, &x->keys_cap, x->nkeys + 1, sizeof(*ks));
		if (ks == NULL)
			return -1;
		x->keys = ks;
	}
	x->keys[x->nkeys++] = *key;
	fr_ws(f);
	if (f->i >= f->n || f->s[f->i] != ':')
		return -1;
	f->i++;
	fr_ws(f);
	return f->i < f->n ? 0 : -1;
}

/* Moves past the ',' between members or items, or the closing bracket;
 * *more tells which. */
static int
fr_next(struct fr *f, char close, bool *more)
{
	fr_ws(f);
	if (f->i >= f->n)
		return -1;
	if (f->s[f->i] == ',') {
		f->i++;
		fr_ws(f);
		*more = true;
		return 0;
	}
	if (f->s[f->i] == close) {
		f->i++;
		*more = false;
		return 0;
	}
	return -1;
}

/* Opens an object or array at f->i; *empty if it closes at once. */
static int
fr_open(struct fr *f, char open, char close, bool *empty)
{
	if (f->i >= f->n || f->s[f->i] != open)
		return -1;
	f->i++;
	fr_ws(f);
	if (f->i >= f->n)
		return -1;
	*empty = f->s[f->i] == close;
	if (*empty)
		f->i++;
	return 0;
}

static int
fr_skip(struct fr *f, int depth)
{
	bool empty, more = true;
	long long v;

	if (f->i >= f->n || depth > BW_FEED_JSON_DEPTH_MAX)
		return -1;
	switch (f->s[f->i]) {
	case '"':
		return fr_string(f, NULL, NULL);
	case 't': return fr_literal(f, "true", 4);
	case 'f': return fr_literal(f, "false", 5);
	case 'n': return fr_literal(f, "null", 4);
	case '[':
		if (fr_open(f, '[', ']', &empty))
			return -1;
		while (!empty && more)
			if (fr_skip(f, depth + 1) || fr_next(f, ']', &more))
				return -1;
		return 0;
	case '{': {
		size_t base = f->x->nkeys;
		struct kspan key;
		if (fr_open(f, '{', '}', &empty))
			return -1;
		while (!empty && more)
			if (fr_key(f, base, &key) || fr_skip(f, depth + 1) ||
			    fr_next(f, '}', &more))
				return -1;
		f->x->nkeys = base;
		return 0;
	}
	default:
		return fr_number(f, &v);
	}
}

/* A member whose value pass 2 reads as one scalar. */
static int
fr_field(struct fr *f, struct fval *v)
{
	struct sv s;

	switch (f->s[f->i]) {
	case '"':
		if (fr_string(f, &s, NULL))
			return -1;
		v->kind = FK_STRING;
		v->s = s.s;
		v->n = s.n;
		return 0;
	case 't':
		v->kind = FK_TRUE;
		return fr_literal(f, "true", 4);
	case 'f':
		v->kind = FK_FALSE;
		return fr_literal(f, "false", 5);
	case '-': case '0': case '1': case '2': case '3': case '4': case '5':
	case '6': case '7': case '8': case '9':
		v->kind = FK_INT;
		return fr_number(f, &v->i);
	default:
		v->kind = FK_OTHER;
		return fr_skip(f, 1);
	}
}

/* An array whose string items pass 2 wants; *is_array tells whether the
 * member was an array at all. */
static int
fr_strings(struct fr *f, struct svec *out, bool *is_array)
{
	bool empty, more = true;

	*is_array = f->s[f->i] == '[';
	if (!*is_array)
		return fr_skip(f, 1);
	if (fr_open(f, '[', ']', &empty))
		return -1;
	while (!empty && more) {
		struct sv s = {NULL, 0};
		if (f->i < f->n && f->s[f->i] == '"') {
			if (fr_string(f, &s, NULL))
				return -1;
		} else if (fr_skip(f, 2)) {
			return -1;
		}
		if (svec_push(out, s.s, s.n) || fr_next(f, ']', &more))
			return -1;
	}
	return 0;
}

/* external_references: the first external_id that can be one. */
static int
fr_ext_refs(struct fr *f, struct iview *v)
{
	bool empty, more = true;

	if (f->s[f->i] != '[')
		return fr_skip(f, 1);
	if (fr_open(f, '[', ']', &empty))
		return -1;
	while (!empty && more) {
		if (f->i < f->n && f->s[f->i] == '{') {
			size_t base = f->x->nkeys;
			bool oempty, omore = true;
			struct kspan key;
			if (fr_open(f, '{', '}', &oempty))
				return -1;
			while (!oempty && omore) {
				struct sv s;
				if (fr_key(f, base, &key))
					return -1;
				if (key.n == 11 && memcmp(key.s, "external_id", 11) == 0 &&
				    f->s[f->i] == '"') {
					if (fr_string(f, &s, NULL))
						return -1;
					if (v->ext_ref == NULL && ext_id_ok(s.s, s.n))
						v->ext_ref = s.s;
				} else if (fr_skip(f, 3)) {
					return -1;
				}
				if (fr_next(f, '}', &omore))
					return -1;
			}
			f->x->nkeys = base;
		} else if (fr_skip(f, 2)) {
			return -1;
		}
		if (fr_next(f, ']', &more))
			return -1;
	}
	return 0;
}

#define KEY_IS(k, lit) ((k).n == sizeof(lit) - 1 && memcmp((k).s, lit, (k).n) == 0)

/* Reads the indicator text into v; -1 means "ask jansson". */
static int
fast_read(struct stix *x, const char *json, size_t len, struct iview *v)
{
	struct fr f = {json, len, 0, x};
	bool empty, more = true, is_array;
	struct kspan key;

	view_reset(v);
	x->nkeys = 0;
	/* a decoded string and its NUL never outgrow the string's text with
	 * its quotes, so the element's length bounds them all */
	if (len > SIZE_MAX - 16)
		return -1;
	if (x->scratch_cap < len + 16) {
		char *b = bw_grow(x->scratch, &x->scratch_cap, len + 16, 1);
		if (b == NULL)
			return -1;
		x->scratch = b;
	}
	x->scratch_used = 0;
	fr_ws(&f);
	if (fr_open(&f, '{', '}', &empty))
		return -1;
	while (!empty && more) {
		int rc;
		if (fr_key(&f, 0, &key))
			return -1;
		switch (key.n ? key.s[0] : 0) {
		case 't':
			rc = KEY_IS(key, "type") ? fr_field(&f, &v->type)
			     : KEY_IS(key, "target_ref") ? fr_field(&f, &v->target_ref)
			     : fr_skip(&f, 1);
			break;
		case 's':
			rc = KEY_IS(key, "source_ref") ? fr_field(&f, &v->source_ref)
			     : fr_skip(&f, 1);
			break;
		case 'n':
			rc = KEY_IS(key, "name") ? fr_field(&f, &v->name) : fr_skip(&f, 1);
			break;
		case 'i':
			rc = KEY_IS(key, "id") ? fr_field(&f, &v->id) : fr_skip(&f, 1);
			break;
		case 'p':
			rc = KEY_IS(key, "pattern") ? fr_field(&f, &v->pattern)
			     : KEY_IS(key, "pattern_type") ? fr_field(&f, &v->pattern_type)
			     : fr_skip(&f, 1);
			break;
		case 'c':
			rc = KEY_IS(key, "created") ? fr_field(&f, &v->created)
			     : KEY_IS(key, "created_by_ref") ? fr_field(&f, &v->created_by_ref)
			     : KEY_IS(key, "confidence") ? fr_field(&f, &v->confidence)
			     : fr_skip(&f, 1);
			break;
		case 'm':
			rc = KEY_IS(key, "modified") ? fr_field(&f, &v->modified) : fr_skip(&f, 1);
			break;
		case 'v':
			rc = KEY_IS(key, "valid_from") ? fr_field(&f, &v->valid_from)
			     : KEY_IS(key, "valid_until") ? fr_field(&f, &v->valid_until)
			     : fr_skip(&f, 1);
			break;
		case 'r':
			rc = KEY_IS(key, "revoked") ? fr_field(&f, &v->revoked) : fr_skip(&f, 1);
			break;
		case 'l':
			rc = KEY_IS(key, "labels") ? fr_strings(&f, &v->labels, &is_array)
			     : fr_skip(&f, 1);
			break;
		case 'o':
			rc = KEY_IS(key, "object_marking_refs")
				     ? fr_strings(&f, &v->markings, &is_array)
				     : fr_skip(&f, 1);
			break;
		case 'e':
			rc = KEY_IS(key, "external_references") ? fr_ext_refs(&f, v)
			     : fr_skip(&f, 1);
			break;
		case 'x':
			if (KEY_IS(key, "x_bulwark_recipients")) {
				rc = fr_strings(&f, &v->recipients, &is_array);
				v->recipients_present = true;
				v->recipients_array = is_array;
			} else {
				rc = fr_skip(&f, 1);
			}
			break;
		default:
			rc = fr_skip(&f, 1);
			break;
		}
		if (rc || fr_next(&f, '}', &more))
			return -1;
	}
	fr_ws(&f);
	return f.i == f.n ? 0 : -1;
}

/* ---- the same view from jansson --------------------------------------- */

static void
fval_json(json_t *j, struct fval *v)
{
	if (j == NULL)
		v->kind = FK_ABSENT;
	else if (json_is_string(j)) {
		v->kind = FK_STRING;
		v->s = json_string_value(j);
		v->n = json_string_length(j);
	} else if (json_is_integer(j)) {
		v->kind = FK_INT;
		v->i = json_integer_value(j);
	} else if (json_is_true(j))
		v->kind = FK_TRUE;
	else if (json_is_false(j))
		v->kind = FK_FALSE;
	else
		v->kind = FK_OTHER;
}

static int
strings_json(json_t *a, struct svec *out)
{
	size_t i;
	json_t *item;

	json_array_foreach(a, i, item)
		if (svec_push(out, json_string_value(item),
			      json_is_string(item) ? json_string_length(item) : 0))
			return -1;
	return 0;
}

static int
json_view(json_t *o, struct iview *v)
{
	json_t *item, *rc = json_object_get(o, "x_bulwark_recipients");
	size_t i;

	view_reset(v);
	fval_json(json_object_get(o, "type"), &v->type);
	fval_json(json_object_get(o, "id"), &v->id);
	fval_json(json_object_get(o, "pattern"), &v->pattern);
	fval_json(json_object_get(o, "pattern_type"), &v->pattern_type);
	fval_json(json_object_get(o, "created"), &v->created);
	fval_json(json_object_get(o, "modified"), &v->modified);
	fval_json(json_object_get(o, "valid_from"), &v->valid_from);
	fval_json(json_object_get(o, "valid_until"), &v->valid_until);
	fval_json(json_object_get(o, "created_by_ref"), &v->created_by_ref);
	fval_json(json_object_get(o, "confidence"), &v->confidence);
	fval_json(json_object_get(o, "revoked"), &v->revoked);
	fval_json(json_object_get(o, "name"), &v->name);
	fval_json(json_object_get(o, "source_ref"), &v->source_ref);
	fval_json(json_object_get(o, "target_ref"), &v->target_ref);
	if (strings_json(json_object_get(o, "labels"), &v->labels) ||
	    strings_json(json_object_get(o, "object_marking_refs"), &v->markings) ||
	    strings_json(rc, &v->recipients))
		return -1;
	v->recipients_present = rc != NULL;
	v->recipients_array = json_is_array(rc);
	json_array_foreach(json_object_get(o, "external_references"), i, item) {
		size_t n;
		const char *eid = obj_str(item, "external_id", &n);
		if (ext_id_ok(eid, n)) {
			v->ext_ref = eid;
			break;
		}
	}
	return 0;
}

/* ---- pass 1: context -------------------------------------------------- */

/* Keeps what an object of the bundle tells about indicators: v is the
 * object as read; o the same object from jansson (needed only for marking
 * definitions, read by marking_tlp). */
static int
collect(struct stix *x, const struct iview *v, json_t *o, struct bw_err *err)
{
	const char *type = v->type.s, *id = v->id.s;
	size_t tn = v->type.n, idn = v->id.n;
	int rc = BW_OK;

	if (v->type.kind != FK_STRING || v->id.kind != FK_STRING)
		return BW_OK;
	if (str_is(type, tn, "identity") || str_is(type, tn, "malware") ||
	    str_is(type, tn, "threat-actor") || str_is(type, tn, "intrusion-set") ||
	    str_is(type, tn, "campaign") || str_is(type, tn, "report")) {
		char *copy;
		json_t *ref;
		size_t i;

		if (v->name.kind != FK_STRING || v->name.n == 0)
			return BW_OK;
		copy = bw_strmap_strdup(x->names, v->name.s, v->name.n);
		if (copy == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		rc = bw_strmap_put(x->names, id, idn, copy, err);
		/* a report's indicators get the report as a tag of kind
		 * report, like a relationship to it (campaigns,
		 * src/intel/campaign.h); reports are read by jansson */
		json_array_foreach(o && rc == BW_OK && str_is(type, tn, "report")
					   ? json_object_get(o, "object_refs") : NULL, i, ref) {
			const char *src = json_string_value(ref);
			struct rel *r;
			void *head = NULL;

			if (src == NULL || !has_prefix(src, "indicator--"))
				continue;
			r = bw_strmap_alloc(x->rels, sizeof(*r));
			if (r == NULL || (r->target = bw_strmap_strdup(x->rels, id, idn)) == NULL)
				return bw_err_set(err, BW_ENOMEM, "out of memory");
			bw_strmap_find(x->rels, src, strlen(src), &head);
			r->next = head;
			rc = bw_strmap_put(x->rels, src, strlen(src), r, err);
			if (rc)
				break;
		}
	} else if (str_is(type, tn, "marking-definition") && o) {
		int tlp = marking_tlp(o);
		if (tlp != BW_TLP_UNSET)
			rc = bw_strmap_put(x->markings, id, idn, (void *)&levels[tlp], err);
	} else if (str_is(type, tn, "relationship")) {
		const char *src = v->source_ref.s, *tgt = v->target_ref.s;
		struct rel *r;
		void *head = NULL;

		if (v->revoked.kind == FK_TRUE || v->source_ref.kind != FK_STRING ||
		    v->target_ref.kind != FK_STRING || !has_prefix(src, "indicator--") ||
		    target_kind(tgt) == NULL)
			return BW_OK;
		r = bw_strmap_alloc(x->rels, sizeof(*r));
		if (r == NULL ||
		    (r->target = bw_strmap_strdup(x->rels, tgt, v->target_ref.n)) == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		bw_strmap_find(x->rels, src, v->source_ref.n, &head);
		r->next = head;
		rc = bw_strmap_put(x->rels, src, v->source_ref.n, r, err);
	}
	if (rc == BW_ELIMIT)
		bw_err_prefix(err, "STIX context");
	return rc;
}

static int
pass1_element(void *ctx, const char *json, size_t len, size_t index,
	      struct bw_err *err)
{
	struct stix *x = ctx;
	struct iview *v = &x->view;
	const char *type;
	size_t tlen;
	json_error_t jerr;
	bool fatal;
	json_t *j;
	int rc = BW_OK;
	enum peek pk = peek_type(json, len, &type, &tlen);

	if (pk == PK_TYPE && str_is(type, tlen, "indicator"))
		return BW_OK; /* read in pass 2 */
	if (pk == PK_TYPE && !str_is(type, tlen, "marking-definition") &&
	    !str_is(type, tlen, "report") && fast_read(x, json, len, v) == 0)
		return collect(x, v, NULL, err);
	j = load_element(json, len, &jerr, &fatal);
	if (j == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		return fatal ? not_json(index, &jerr, err) : BW_OK;
	}
	if (json_is_object(j)) {
		if (json_view(j, v))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		else
			rc = collect(x, v, j, err);
	}
	json_decref(j);
	return rc;
}

/* ---- records ---------------------------------------------------------- */

static void
set_where(char *buf, size_t cap, size_t index, const char *suffix)
{
	char digits[24];
	size_t nd = 0, k = 0;

	do {
		digits[nd++] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	/* "objects[" + digits + "]" + suffix; cap is always large enough */
	memcpy(buf, "objects[", 8);
	k = 8;
	while (nd)
		buf[k++] = digits[--nd];
	buf[k++] = ']';
	nd = strlen(suffix);
	if (nd >= cap - k)
		nd = cap - k - 1;
	memcpy(buf + k, suffix, nd);
	buf[k + nd] = '\0';
}

/* An optional timestamp; returns 0, or -1 with x->reason. */
static int
get_time(struct stix *x, const struct fval *v, const char *key, int64_t *out)
{
	struct bw_err terr;

	*out = 0;
	if (v->kind == FK_ABSENT)
		return 0;
	if (v->kind != FK_STRING) {
		snprintf(x->reason, sizeof(x->reason), "%s is not a timestamp string", key);
		return -1;
	}
	if (bw_time_parse(v->s, v->n, out, &terr)) {
		snprintf(x->reason, sizeof(x->reason), "%s: %s", key, terr.msg);
		return -1;
	}
	return 0;
}

/* Fills the record's fields (all but the value) from the view; returns 0,
 * or -1 with the reason in x->reason and the member's name in *field. */
static int
read_fields(struct stix *x, const struct iview *v, const char **field)
{
	struct bw_feed_record *r = &x->rec;

	bw_feed_record_init(r);
	*field = "created";
	if (get_time(x, &v->created, "created", &r->first_seen))
		return -1;
	*field = "modified";
	if (get_time(x, &v->modified, "modified", &r->last_seen))
		return -1;
	*field = "valid_from";
	if (get_time(x, &v->valid_from, "valid_from", &r->valid_from))
		return -1;
	*field = "valid_until";
	if (get_time(x, &v->valid_until, "valid_until", &r->valid_until))
		return -1;

	*field = "confidence";
	if (v->confidence.kind != FK_ABSENT) {
		if (v->confidence.kind != FK_INT || v->confidence.i < 0 ||
		    v->confidence.i > 100) {
			snprintf(x->reason, sizeof(x->reason),
				 "confidence is not an integer from 0 to 100");
			return -1;
		}
		r->confidence = (int)v->confidence.i;
	}
	*field = "revoked";
	if (v->revoked.kind != FK_ABSENT) {
		if (v->revoked.kind != FK_TRUE && v->revoked.kind != FK_FALSE) {
			snprintf(x->reason, sizeof(x->reason), "revoked is not a boolean");
			return -1;
		}
		r->revoked = v->revoked.kind == FK_TRUE;
	}

	/* TLP: the most restrictive TLP marking among the object's markings */
	for (size_t i = 0; i < v->markings.n; i++) {
		const struct sv *m = &v->markings.v[i];
		void *lv;
		int tlp;
		if (m->s == NULL)
			continue;
		tlp = bw_tlp_from_stix_id(m->s);
		if (tlp == BW_TLP_UNSET && bw_strmap_find(x->markings, m->s, m->n, &lv))
			tlp = *(const int *)lv;
		if (tlp > r->tlp)
			r->tlp = tlp;
	}

	if (v->created_by_ref.kind == FK_STRING)
		r->source = bw_strmap_get(x->names, v->created_by_ref.s, v->created_by_ref.n);
	r->external_id = v->ext_ref;

	for (size_t i = 0; i < v->labels.n; i++)
		if (v->labels.v[i].s)
			bw_feed_record_add_tag(r, BW_TAG_KIND_LABEL, v->labels.v[i].s);
	if (v->id.kind == FK_STRING) {
		void *head = NULL;
		bw_strmap_find(x->rels, v->id.s, v->id.n, &head);
		for (struct rel *rl = head; rl; rl = rl->next) {
			const char *name = bw_strmap_get(x->names, rl->target,
							 strlen(rl->target));
			if (name)
				bw_feed_record_add_tag(r, target_kind(rl->target), name);
		}
	}

	*field = "x_bulwark_recipients";
	if (v->recipients_present && !v->recipients_array) {
		snprintf(x->reason, sizeof(x->reason), "x_bulwark_recipients is not an array");
		return -1;
	}
	for (size_t i = 0; i < v->recipients.n; i++) {
		const char *cc = v->recipients.v[i].s;
		bool dup = false;
		char up[3];

		if (cc == NULL || v->recipients.v[i].n != 2 ||
		    !((cc[0] | 0x20) >= 'a' && (cc[0] | 0x20) <= 'z') ||
		    !((cc[1] | 0x20) >= 'a' && (cc[1] | 0x20) <= 'z')) {
			snprintf(x->reason, sizeof(x->reason),
				 "x_bulwark_recipients[%zu] is not an ISO 3166-1 alpha-2 code", i);
			return -1;
		}
		up[0] = (char)(cc[0] & ~0x20);
		up[1] = (char)(cc[1] & ~0x20);
		up[2] = '\0';
		for (size_t k = 0; k < r->nrecipients; k++)
			if (strcmp(r->recipients[k], up) == 0)
				dup = true;
		if (dup || r->nrecipients >= BW_RECORD_RECIPIENTS_MAX)
			continue;
		memcpy(x->recipients[r->nrecipients], up, 3);
		r->recipients[r->nrecipients] = x->recipients[r->nrecipients];
		r->nrecipients++;
	}
	return 0;
}

static enum bw_ioc_type
target_hint(enum target t)
{
	switch (t) {
	case TG_DOMAIN: return BW_IOC_DOMAIN;
	case TG_IPV4: return BW_IOC_IPV4;
	case TG_IPV6: return BW_IOC_IPV6;
	case TG_URL: return BW_IOC_URL;
	case TG_EMAIL: return BW_IOC_EMAIL;
	case TG_MD5: return BW_IOC_MD5;
	case TG_SHA1: return BW_IOC_SHA1;
	case TG_SHA256: return BW_IOC_SHA256;
	case TG_NONE: break;
	}
	return BW_IOC_ANY;
}

static const char *
target_path(enum target t)
{
	switch (t) {
	case TG_DOMAIN: return "domain-name:value";
	case TG_IPV4: return "ipv4-addr:value";
	case TG_IPV6: return "ipv6-addr:value";
	case TG_URL: return "url:value";
	case TG_EMAIL: return "email-addr:value";
	case TG_MD5:
	case TG_SHA1:
	case TG_SHA256: return "a file hash";
	case TG_NONE: break;
	}
	return "?";
}

/* True if id is the id bulwark's STIX export gives the record of source for
 * this indicator: "indicator--" + UUIDv5(source, type, value). */
static bool
is_bulwark_id(struct stix *x, const char *id, size_t idlen, const char *source,
	      const struct bw_ioc *ioc)
{
	const char *parts[3] = {source, bw_ioc_type_name(ioc->type), ioc->value};

	/* bulwark's ids are version 5 UUIDs; most producers use version 4 */
	if (idlen != 11 + BW_UUID_TEXT_LEN || memcmp(id, "indicator--", 11) != 0 ||
	    id[11 + 14] != '5')
		return false;
	memcpy(x->bulwark_id, "indicator--", 11);
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 3, x->bulwark_id + 11);
	return memcmp(x->bulwark_id, id, idlen) == 0;
}

static int
indicator(struct stix *x, const struct iview *v, const char *json, size_t len,
	  size_t index, struct bw_err *err)
{
	const struct bw_feed_sink *sink = x->sink;
	const char *field;
	struct bw_err perr;
	int rc;

	set_where(x->where, sizeof(x->where), index, "");
	if (v->pattern.kind != FK_STRING) {
		sink->reject(sink->ctx, x->where,
			     v->pattern.kind != FK_ABSENT ? "the indicator's pattern is not a string"
							  : "indicator without a pattern",
			     json, len);
		return BW_OK;
	}
	if (v->pattern_type.kind != FK_ABSENT && v->pattern_type.kind != FK_STRING) {
		sink->reject(sink->ctx, x->where, "pattern_type is not a string", json, len);
		return BW_OK;
	}
	if (v->pattern_type.kind == FK_STRING && strcmp(v->pattern_type.s, "stix") != 0) {
		snprintf(x->reason, sizeof(x->reason), "pattern_type %.64s not supported",
			 v->pattern_type.s);
		sink->unsupported(sink->ctx, x->where, x->reason);
		return BW_OK;
	}
	set_where(x->where_pat, sizeof(x->where_pat), index, ".pattern");
	if (v->pattern.n > BW_FEED_JSON_STRING_MAX) {
		snprintf(x->reason, sizeof(x->reason), "pattern longer than %u bytes",
			 BW_FEED_JSON_STRING_MAX);
		sink->reject(sink->ctx, x->where_pat, x->reason, NULL, 0);
		return BW_OK;
	}
	pattern_parse(&x->pat, v->pattern.s, v->pattern.n);
	if (x->pat.oom)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if (x->pat.failed) {
		sink->reject(sink->ctx, x->where_pat, x->pat.reason, v->pattern.s, v->pattern.n);
		return BW_OK;
	}
	if (x->pat.unsupported) {
		sink->unsupported(sink->ctx, x->where_pat, x->pat.reason);
		return BW_OK;
	}
	if (x->pat.too_many) {
		snprintf(x->reason, sizeof(x->reason),
			 "pattern with more than %d comparisons", PATTERN_TERMS_MAX);
		sink->reject(sink->ctx, x->where_pat, x->reason, NULL, 0);
		return BW_OK;
	}
	if (read_fields(x, v, &field)) {
		char where[96];
		set_where(where, sizeof(where), index, "");
		snprintf(where + strlen(where), sizeof(where) - strlen(where), ".%s", field);
		sink->reject(sink->ctx, where, x->reason, json, len);
		return BW_OK;
	}
	for (size_t k = 0; k < x->pat.nterms; k++) {
		const struct term *t = &x->pat.terms[k];
		const char *value = x->pat.buf + t->off;

		if (!t->string_literal) {
			snprintf(x->reason, sizeof(x->reason),
				 "%s must be compared with a string literal",
				 target_path(t->target));
			sink->reject(sink->ctx, x->where_pat, x->reason, v->pattern.s, v->pattern.n);
			continue;
		}
		if (bw_ioc_parse(value, t->len, target_hint(t->target), &x->rec.ioc,
				 &perr) != BW_OK) {
			sink->reject(sink->ctx, x->where_pat, perr.msg, value, t->len);
			continue;
		}
		/* the first external reference with an id, else the object's
		 * own id unless bulwark's export made it up */
		x->rec.external_id = v->ext_ref;
		if (v->ext_ref == NULL && v->id.kind == FK_STRING &&
		    ext_id_ok(v->id.s, v->id.n) &&
		    !(x->rec.source && is_bulwark_id(x, v->id.s, v->id.n, x->rec.source,
						     &x->rec.ioc)))
			x->rec.external_id = v->id.s;
		rc = sink->record(sink->ctx, &x->rec, x->where, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

static int
pass2_element(void *ctx, const char *json, size_t len, size_t index,
	      struct bw_err *err)
{
	struct stix *x = ctx;
	const struct bw_feed_sink *sink = x->sink;
	struct iview *v = &x->view;
	const char *type;
	size_t tlen;
	json_error_t jerr;
	bool fatal;
	json_t *j;
	int rc = BW_OK;

	if (peek_type(json, len, &type, &tlen) == PK_TYPE &&
	    !str_is(type, tlen, "indicator"))
		return BW_OK; /* context, read in pass 1 */
	if (fast_read(x, json, len, v) == 0) {
		if (v->type.kind != FK_STRING) {
			set_where(x->where, sizeof(x->where), index, "");
			sink->reject(sink->ctx, x->where, "STIX object without a \"type\" string",
				     json, len);
			return BW_OK;
		}
		if (strcmp(v->type.s, "indicator") != 0)
			return BW_OK;
		return indicator(x, v, json, len, index, err);
	}

	/* everything the fast reader left: jansson decides */
	j = load_element(json, len, &jerr, &fatal);
	if (j == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		if (fatal)
			return not_json(index, &jerr, err);
		set_where(x->where, sizeof(x->where), index, "");
		sink->reject(sink->ctx, x->where, jerr.text, json, len);
		return BW_OK;
	}
	set_where(x->where, sizeof(x->where), index, "");
	if (!json_is_object(j)) {
		sink->reject(sink->ctx, x->where, "not a JSON object", json, len);
	} else if (!json_is_string(json_object_get(j, "type"))) {
		sink->reject(sink->ctx, x->where, "STIX object without a \"type\" string",
			     json, len);
	} else if (strcmp(json_string_value(json_object_get(j, "type")), "indicator") == 0) {
		if (json_view(j, v))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		else
			rc = indicator(x, v, json, len, index, err);
	}
	json_decref(j);
	return rc;
}

int
bw_feed_parse_stix(struct bw_reader *in, const struct bw_feed_options *o,
		   const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct stix *x;
	struct bw_jscan_cb cb;
	int found = 0, rc;

	(void)o;
	x = bw_calloc(1, sizeof(*x));
	if (x == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	x->sink = sink;
	if ((rc = bw_strmap_new(CONTEXT_MAX, &x->names, err)) ||
	    (rc = bw_strmap_new(CONTEXT_MAX, &x->markings, err)) ||
	    (rc = bw_strmap_new(CONTEXT_MAX, &x->rels, err)))
		goto out;

	cb.element = pass1_element;
	cb.member = root_member;
	cb.ctx = x;
	rc = bw_jscan_run(in, "objects", &cb, BW_FEED_JSON_ELEMENT_MAX, &found, err);
	if (rc)
		goto out;
	if (!found) {
		/* A bundle may leave "objects" out when it has none. */
		if (!x->is_bundle)
			rc = bw_err_set(err, BW_EFORMAT,
					"no \"objects\" array: not a STIX bundle or TAXII envelope");
		goto out;
	}
	rc = bw_reader_rewind(in, err);
	if (rc)
		goto out;
	cb.element = pass2_element;
	cb.member = NULL;
	rc = bw_jscan_run(in, "objects", &cb, BW_FEED_JSON_ELEMENT_MAX, NULL, err);
out:
	bw_strmap_free(x->names);
	bw_strmap_free(x->markings);
	bw_strmap_free(x->rels);
	bw_free(x->pat.buf);
	bw_free(x->pat.terms);
	bw_free(x->view.labels.v);
	bw_free(x->view.markings.v);
	bw_free(x->view.recipients.v);
	bw_free(x->scratch);
	bw_free(x->keys);
	bw_free(x);
	return rc;
}
