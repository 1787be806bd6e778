/*
 * logfmt.c - the telemetry log parsers (see logfmt.h for the formats).
 *
 * Each parser walks its line once, left to right, with pointer arithmetic
 * over the bytes it was given: no allocation, no copy unless a value has
 * to be unescaped (Zeek JSON strings, quoted CSV fields), and then into a
 * fixed buffer of the parser.  The formats are recognised by their fixed
 * words ("client ... query: " for BIND, the "info: ADDR" message for
 * Unbound, the field shapes for Squid) rather than by column positions, so
 * the optional parts each server may add (categories, views, syslog
 * prefixes) do not need configuration.  The BIND day number is cached
 * because consecutive lines almost always share their date.
 */
#include "intel/logfmt.h"

#include <string.h>
#include <strings.h>

#include "core/hex.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "index/index.h"

#define DETECT_LINES 100
#define TIME_TEXT_MAX 64

/* Columns of a Zeek dns.log without a #fields header. */
#define ZEEK_DEFAULT_TS 0
#define ZEEK_DEFAULT_ORIG 2
#define ZEEK_DEFAULT_QUERY 9

#define JSON_DEPTH_MAX 64

enum role { R_TIME, R_CLIENT, R_VALUE, NROLES };

struct bw_logfmt_parser {
	enum bw_logfmt format, fixed; /* fixed: as made (AUTO: detected) */
	/* Zeek TSV header state */
	char zsep;
	int zcol[NROLES];
	char zunset[16], zempty[16];
	size_t zunset_len, zempty_len;
	/* CSV header state */
	bool cheader;
	char cdelim;
	int ccol[NROLES];
	char cname[NROLES][BW_LOGFMT_COLUMN_MAX + 1];
	/* BIND: the last date seen and its day number */
	char bdate[12];
	int64_t bday;
	/* unescaped values */
	char vbuf[BW_LOGFMT_VALUE_MAX + 1];
	char obuf[BW_LOGFMT_OBSERVER_MAX + 1];
	char tbuf[TIME_TEXT_MAX + 1];
};

static const char *const format_names[BW_LOGFMT_NFORMATS] = {
	"auto", "bind", "unbound", "zeek", "squid", "csv", "plain",
};

const char *
bw_logfmt_name(enum bw_logfmt f)
{
	return (unsigned)f < BW_LOGFMT_NFORMATS ? format_names[f] : "?";
}

enum bw_logfmt
bw_logfmt_from_name(const char *name, int *ok)
{
	for (int f = 0; f < BW_LOGFMT_NFORMATS; f++)
		if (strcmp(name, format_names[f]) == 0) {
			*ok = 1;
			return (enum bw_logfmt)f;
		}
	*ok = 0;
	return BW_LOGFMT_AUTO;
}

/* ---- small helpers ---------------------------------------------------- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* No control bytes (C0, DEL): what a value or observer may not contain. */
static bool
clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* The next token separated by runs of blanks; false at the end. */
static bool
token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	if (s == end) {
		*p = s;
		return false;
	}
	*tok = s;
	while (s < end && !is_blank(*s))
		s++;
	*len = (size_t)(s - *tok);
	*p = s;
	return true;
}

static bool
starts(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - s) >= n && memcmp(s, word, n) == 0;
}

/* word (which ends in a blank) at the start of s or after a blank. */
static const char *
find_word(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);
	const char *p = s;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), word, n);
		if (hit == NULL)
			return NULL;
		if (hit == s || is_blank(hit[-1]))
			return hit;
		p = hit + 1;
	}
	return NULL;
}

/* Unix seconds with an optional fraction ("1795952491.667"). */
static bool
parse_epoch(const char *s, size_t n, int64_t *t)
{
	size_t i = 0;
	int64_t v = 0;

	while (i < n && is_digit(s[i]) && i < 12)
		v = v * 10 + (s[i++] - '0');
	if (i == 0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i != n)
		return false;
	*t = v;
	return true;
}

/* An epoch time, or anything bw_time_parse() reads. */
static bool
parse_any_time(const char *s, size_t n, int64_t *t)
{
	if (parse_epoch(s, n, t))
		return true;
	return n > 0 && bw_time_parse(s, n, t, NULL) == BW_OK;
}

static bool
is_addr(const char *s, size_t n)
{
	struct bw_index_addr a;

	return bw_index_parse_addr(s, n, &a) == 1;
}

/* What a bare value is: an address (then parsed into *a, so that the
 * matcher need not parse it again), a URL or a name. */
static enum bw_logval
classify(const char *s, size_t n, struct bw_index_addr *a)
{
	if (n > 0 && (is_digit(s[0]) || s[0] == '[' || memchr(s, ':', n)) &&
	    bw_index_parse_addr(s, n, a) == 1)
		return BW_LOGVAL_ADDR;
	if (memmem(s, n, "://", 3) != NULL)
		return BW_LOGVAL_URL;
	return BW_LOGVAL_NAME;
}

static enum bw_logline
bad(const char **why, const char *reason)
{
	*why = reason;
	return BW_LOGLINE_BAD;
}

static enum bw_logline
skip(const char **why, const char *reason)
{
	*why = reason;
	return BW_LOGLINE_SKIP;
}

/* Fills rec after checking the limits every format shares. */
static enum bw_logline
emit(struct bw_logrec *rec, int64_t t, const char *obs, size_t olen,
     const char *val, size_t vlen, enum bw_logval kind, const char **why)
{
	if (vlen == 0)
		return skip(why, "no value");
	if (vlen > BW_LOGFMT_VALUE_MAX)
		return bad(why, "value longer than 4096 bytes");
	if (olen > BW_LOGFMT_OBSERVER_MAX)
		return bad(why, "client longer than 255 bytes");
	if (!clean(val, vlen) || !clean(obs, olen))
		return bad(why, "control characters in the value or client");
	rec->time = t;
	rec->observer = olen ? obs : "";
	rec->observer_len = olen;
	rec->value = val;
	rec->value_len = vlen;
	rec->kind = kind;
	*why = NULL;
	return BW_LOGLINE_RECORD;
}

/* ---- BIND ------------------------------------------------------------- */

static int
month_of(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int m = 0; m < 12; m++)
		if (memcmp(s, names + 3 * m, 3) == 0)
			return m + 1;
	return 0;
}

static bool
two_digits(const char *s, unsigned *v)
{
	if (!is_digit(s[0]) || !is_digit(s[1]))
		return false;
	*v = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	return true;
}

/* "29-Nov-2026 11:02:03[.123]" at the start of s (UTC), or an ISO 8601
 * first token.  False if s starts with neither. */
static bool
bind_time(struct bw_logfmt_parser *p, const char *s, const char *end,
	  int64_t *t)
{
	unsigned d, h, mi, se, y1, y2;
	int mo;
	const char *tok = NULL;
	size_t len = 0;

	if (end - s >= 20 && s[2] == '-' && s[6] == '-' && s[11] == ' ' &&
	    s[14] == ':' && s[17] == ':') {
		if (!two_digits(s + 12, &h) || !two_digits(s + 15, &mi) ||
		    !two_digits(s + 18, &se) || h > 23 || mi > 59 || se > 60)
			return false;
		if (memcmp(s, p->bdate, 11) != 0) {
			if (!two_digits(s, &d) || (mo = month_of(s + 3)) == 0 ||
			    !two_digits(s + 7, &y1) || !two_digits(s + 9, &y2) ||
			    d < 1 || d > 31)
				return false;
			p->bday = bw_days_from_civil((int64_t)(y1 * 100 + y2),
						     (unsigned)mo, d);
			memcpy(p->bdate, s, 11);
		}
		*t = p->bday * 86400 + h * 3600 + mi * 60 + se;
		return true;
	}
	/* ISO 8601 (print-time iso8601 / iso8601-utc) */
	if (end - s >= 10 && is_digit(s[0]) && s[4] == '-' && token(&s, end, &tok, &len))
		return bw_time_parse(tok, len, t, NULL) == BW_OK;
	return false;
}

/* "client [@0x...] ADDR#PORT" at c: the address, and *after set past it.
 * False if c does not start one (a syslog host may be named "client"). */
static bool
bind_client(const char *c, const char *end, const char **addr, size_t *alen,
	    const char **after)
{
	const char *s = c + 7, *tok, *hash = NULL;
	size_t len;

	if (starts(s, end, "@0x") && !token(&s, end, &tok, &len))
		return false;
	if (!token(&s, end, &tok, &len))
		return false;
	for (size_t i = len; i > 0; i--)
		if (tok[i - 1] == '#') {
			hash = tok + i - 1;
			break;
		}
	if (hash == NULL || !is_addr(tok, (size_t)(hash - tok)))
		return false;
	*addr = tok;
	*alen = (size_t)(hash - tok);
	*after = s;
	return true;
}

static enum bw_logline
parse_bind(struct bw_logfmt_parser *p, const char *l, size_t n,
	   struct bw_logrec *rec, const char **why)
{
	const char *end = l + n, *c = find_word(l, end, "client "), *s, *tok;
	const char *name, *addr;
	size_t len, nlen, alen;
	int64_t t = 0;
	bool timed = bind_time(p, l, end, &t);

	if (c == NULL) {
		if (timed)
			return skip(why, "not a query");
		return bad(why, "not a BIND query log line");
	}
	while (!bind_client(c, end, &addr, &alen, &s)) {
		c = find_word(c + 7, end, "client ");
		if (c == NULL)
			return bad(why, "no client ADDRESS#PORT");
	}
	/* " (NAME): " then the message */
	if (!starts(s, end, " (") ||
	    (s = memmem(s, (size_t)(end - s), "): ", 3)) == NULL)
		return bad(why, "no \"(NAME): \" after the client");
	s += 3;
	if (starts(s, end, "view ")) {
		const char *colon = memmem(s, (size_t)(end - s), ": ", 2);
		if (colon == NULL)
			return bad(why, "truncated view name");
		s = colon + 2;
	}
	if (!starts(s, end, "query: "))
		return skip(why, "not a query");
	s += 7;
	if (!token(&s, end, &name, &nlen) || !token(&s, end, &tok, &len) ||
	    !token(&s, end, &tok, &len))
		return bad(why, "truncated query (no class or type)");
	return emit(rec, t, addr, alen, name, nlen, BW_LOGVAL_NAME, why);
}

/* ---- Unbound ---------------------------------------------------------- */

/* The message tag of an Unbound line: "info: ", or "query: "/"reply: "
 * with log-tag-queryreply; at the start or after a blank. */
static const char *
unbound_tag(const char *l, const char *end, const char **msg)
{
	static const char *const tags[] = {"info: ", "query: ", "reply: "};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		const char *hit = find_word(l, end, tags[i]);
		if (hit) {
			*msg = hit + strlen(tags[i]);
			return hit;
		}
	}
	return NULL;
}

static enum bw_logline
parse_unbound(struct bw_logfmt_parser *p, const char *l, size_t n,
	      struct bw_logrec *rec, const char **why)
{
	const char *end = l + n, *msg = NULL, *tag = unbound_tag(l, end, &msg);
	const char *addr, *name, *tok, *s;
	size_t alen, nlen, len;
	int64_t t = 0;
	bool ours;

	(void)p;
	/* "[1795952487] unbound[5086:0] " or an ISO time or a syslog prefix */
	if (n > 2 && l[0] == '[') {
		const char *rb = memchr(l, ']', n);
		if (rb == NULL || !parse_epoch(l + 1, (size_t)(rb - l - 1), &t))
			return bad(why, "bad [time] prefix");
		ours = true;
	} else {
		ours = memmem(l, tag ? (size_t)(tag - l) : n, "unbound", 7) != NULL;
		if (n >= 10 && is_digit(l[0]) && l[4] == '-') {
			s = l;
			if (token(&s, end, &tok, &len) &&
			    bw_time_parse(tok, len, &t, NULL) != BW_OK)
				t = 0;
		}
	}
	if (tag == NULL) {
		if (ours)
			return skip(why, "not a query");
		return bad(why, "not an Unbound log line");
	}
	s = msg;
	if (!token(&s, end, &addr, &alen) || !is_addr(addr, alen)) {
		if (ours)
			return skip(why, "not a query");
		return bad(why, "not an Unbound query line");
	}
	if (!token(&s, end, &name, &nlen) || !token(&s, end, &tok, &len) ||
	    !token(&s, end, &tok, &len))
		return bad(why, "truncated query (no type or class)");
	return emit(rec, t, addr, alen, name, nlen, BW_LOGVAL_NAME, why);
}

/* ---- Zeek ------------------------------------------------------------- */

static void
zeek_defaults(struct bw_logfmt_parser *p)
{
	p->zsep = '\t';
	p->zcol[R_TIME] = ZEEK_DEFAULT_TS;
	p->zcol[R_CLIENT] = ZEEK_DEFAULT_ORIG;
	p->zcol[R_VALUE] = ZEEK_DEFAULT_QUERY;
	memcpy(p->zunset, "-", 2);
	p->zunset_len = 1;
	memcpy(p->zempty, "(empty)", 8);
	p->zempty_len = 7;
}

/* The value of a "#name<sep>value" header line. */
static bool
zeek_header_value(const struct bw_logfmt_parser *p, const char *l,
		  const char *end, const char *name, const char **v, size_t *vlen)
{
	size_t k = strlen(name);

	if ((size_t)(end - l) <= k || memcmp(l, name, k) != 0 || l[k] != p->zsep)
		return false;
	*v = l + k + 1;
	*vlen = (size_t)(end - *v);
	return true;
}

static enum bw_logline
zeek_header(struct bw_logfmt_parser *p, const char *l, size_t n,
	    const char **why)
{
	const char *end = l + n, *v;
	size_t vlen;

	if (n > 11 && memcmp(l, "#separator ", 11) == 0) {
		/* "#separator \x09" or a literal character */
		v = l + 11;
		vlen = n - 11;
		if (vlen == 4 && v[0] == '\\' && v[1] == 'x' && bw_hex_digit(v[2]) >= 0 &&
		    bw_hex_digit(v[3]) >= 0)
			p->zsep = (char)(bw_hex_digit(v[2]) * 16 + bw_hex_digit(v[3]));
		else if (vlen == 1)
			p->zsep = v[0];
		else
			return bad(why, "bad #separator");
		if (p->zsep == '\n' || p->zsep == '\0')
			return bad(why, "bad #separator");
		return skip(why, "header");
	}
	if (zeek_header_value(p, l, end, "#fields", &v, &vlen)) {
		int col[NROLES] = {-1, -1, -1};
		const char *f = v, *fe;
		int i = 0;

		for (;; i++) {
			fe = memchr(f, p->zsep, (size_t)(end - f));
			if (fe == NULL)
				fe = end;
			if (i >= BW_LOGFMT_FIELDS_MAX)
				return bad(why, "more than 1024 #fields");
			if (fe - f == 2 && memcmp(f, "ts", 2) == 0)
				col[R_TIME] = i;
			else if (fe - f == 9 && memcmp(f, "id.orig_h", 9) == 0)
				col[R_CLIENT] = i;
			else if (fe - f == 5 && memcmp(f, "query", 5) == 0)
				col[R_VALUE] = i;
			if (fe == end)
				break;
			f = fe + 1;
		}
		if (col[R_VALUE] < 0) {
			p->zcol[R_VALUE] = -1;
			return bad(why, "#fields has no query column (not a dns.log)");
		}
		memcpy(p->zcol, col, sizeof(col));
		return skip(why, "header");
	}
	if (zeek_header_value(p, l, end, "#unset_field", &v, &vlen)) {
		if (vlen >= sizeof(p->zunset))
			return bad(why, "#unset_field too long");
		memcpy(p->zunset, v, vlen);
		p->zunset_len = vlen;
		return skip(why, "header");
	}
	if (zeek_header_value(p, l, end, "#empty_field", &v, &vlen)) {
		if (vlen >= sizeof(p->zempty))
			return bad(why, "#empty_field too long");
		memcpy(p->zempty, v, vlen);
		p->zempty_len = vlen;
		return skip(why, "header");
	}
	return skip(why, "header");
}

static bool
zeek_unset(const struct bw_logfmt_parser *p, const char *f, size_t n)
{
	return (n == p->zunset_len && memcmp(f, p->zunset, n) == 0) ||
	       (n == p->zempty_len && memcmp(f, p->zempty, n) == 0);
}

static enum bw_logline
parse_zeek_tsv(struct bw_logfmt_parser *p, const char *l, size_t n,
	       struct bw_logrec *rec, const char **why)
{
	const char *end = l + n, *f = l, *fe, *fv[NROLES] = {NULL, NULL, NULL};
	size_t fl[NROLES] = {0, 0, 0};
	int last = -1, got = 0, want = 0;
	int64_t t = 0;

	if (p->zcol[R_VALUE] < 0)
		return bad(why, "no query column in #fields");
	for (int r = 0; r < NROLES; r++) {
		if (p->zcol[r] > last)
			last = p->zcol[r];
		if (p->zcol[r] >= 0)
			want++;
	}
	for (int i = 0; i <= last; i++) {
		fe = memchr(f, p->zsep, (size_t)(end - f));
		if (fe == NULL)
			fe = end;
		for (int r = 0; r < NROLES; r++)
			if (p->zcol[r] == i) {
				fv[r] = f;
				fl[r] = (size_t)(fe - f);
				got++;
			}
		if (fe == end)
			break;
		f = fe + 1;
	}
	if (got < want)
		return bad(why, "fewer fields than the header names");
	if (fv[R_TIME] && !zeek_unset(p, fv[R_TIME], fl[R_TIME]) &&
	    !parse_any_time(fv[R_TIME], fl[R_TIME], &t))
		return bad(why, "bad ts");
	if (fv[R_CLIENT] && zeek_unset(p, fv[R_CLIENT], fl[R_CLIENT]))
		fl[R_CLIENT] = 0;
	if (zeek_unset(p, fv[R_VALUE], fl[R_VALUE]))
		return skip(why, "no query");
	return emit(rec, t, fv[R_CLIENT], fl[R_CLIENT], fv[R_VALUE], fl[R_VALUE],
		    BW_LOGVAL_NAME, why);
}

static void
put_utf8(char *buf, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		buf[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*o)++] = (char)(0xc0 | (cp >> 6));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*o)++] = (char)(0xe0 | (cp >> 12));
		buf[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*o)++] = (char)(0xf0 | (cp >> 18));
		buf[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static bool
hex4(const char *s, const char *end, unsigned *v)
{
	*v = 0;
	if (end - s < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int h = bw_hex_digit(s[i]);
		if (h < 0)
			return false;
		*v = *v * 16 + (unsigned)h;
	}
	return true;
}

/* A JSON string at *p (after its opening quote) into buf (cap bytes, or
 * skipped with buf NULL); *p ends after the closing quote.  False if the
 * string is broken or longer than cap. */
static bool
json_string(const char **p, const char *end, char *buf, size_t cap,
	    size_t *len)
{
	const char *s = *p;
	size_t o = 0;

	while (s < end && *s != '"') {
		unsigned cp;
		if ((unsigned char)*s < 0x20)
			return false;
		if (*s != '\\') {
			if (buf) {
				if (o >= cap)
					return false;
				buf[o] = *s;
			}
			o++;
			s++;
			continue;
		}
		if (++s == end)
			return false;
		switch (*s++) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!hex4(s, end, &cp))
				return false;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo;
				if (end - s < 6 || s[0] != '\\' || s[1] != 'u' ||
				    !hex4(s + 2, end, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return false;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return false;
			}
			break;
		default:
			return false;
		}
		if (buf) {
			if (o + 4 > cap)
				return false;
			put_utf8(buf, &o, cp);
		} else {
			o++;
		}
	}
	if (s == end)
		return false;
	*p = s + 1;
	if (len)
		*len = o;
	return true;
}

static const char *
json_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s;
}

/* Skips a nested object or array at *p (on its opening bracket). */
static bool
json_skip_nested(const char **p, const char *end)
{
	const char *s = *p;
	int depth = 0;

	while (s < end) {
		char c = *s++;
		if (c == '"') {
			if (!json_string(&s, end, NULL, 0, NULL))
				return false;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_DEPTH_MAX)
				return false;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				*p = s;
				return true;
			}
		}
	}
	return false;
}

static enum bw_logline
parse_zeek_json(struct bw_logfmt_parser *p, const char *l, size_t n,
		struct bw_logrec *rec, const char **why)
{
	const char *s = l, *end = l + n;
	size_t vlen = 0, olen = 0;
	bool have_value = false;
	int64_t t = 0;

	s = json_ws(s, end);
	if (s == end || *s++ != '{')
		return bad(why, "not a JSON object");
	s = json_ws(s, end);
	if (s < end && *s == '}') {
		s++;
		goto done;
	}
	for (;;) {
		const char *key;
		size_t klen;
		int role = -1;

		if (s == end || *s != '"')
			return bad(why, "broken JSON (key expected)");
		key = ++s;
		if (!json_string(&s, end, NULL, 0, NULL))
			return bad(why, "broken JSON string");
		klen = (size_t)(s - 1 - key);
		if (klen == 2 && memcmp(key, "ts", 2) == 0)
			role = R_TIME;
		else if (klen == 9 && memcmp(key, "id.orig_h", 9) == 0)
			role = R_CLIENT;
		else if (klen == 5 && memcmp(key, "query", 5) == 0)
			role = R_VALUE;
		s = json_ws(s, end);
		if (s == end || *s++ != ':')
			return bad(why, "broken JSON (':' expected)");
		s = json_ws(s, end);
		if (s == end)
			return bad(why, "truncated JSON");
		if (*s == '"') {
			char *buf = role == R_VALUE ? p->vbuf : role == R_CLIENT ? p->obuf
				    : role == R_TIME ? p->tbuf : NULL;
			size_t cap = role == R_VALUE ? BW_LOGFMT_VALUE_MAX
				     : role == R_CLIENT ? BW_LOGFMT_OBSERVER_MAX
				     : TIME_TEXT_MAX;
			size_t got = 0;
			s++;
			if (!json_string(&s, end, buf, cap, &got))
				return bad(why, buf ? "broken or overlong JSON string"
						    : "broken JSON string");
			if (role == R_VALUE) {
				vlen = got;
				have_value = true;
			} else if (role == R_CLIENT) {
				olen = got;
			} else if (role == R_TIME && !parse_any_time(p->tbuf, got, &t)) {
				return bad(why, "bad ts");
			}
		} else if (*s == '{' || *s == '[') {
			if (!json_skip_nested(&s, end))
				return bad(why, "broken or too deep JSON");
		} else {
			const char *v = s;
			while (s < end && *s != ',' && *s != '}' && *s != ' ' &&
			       *s != '\t')
				s++;
			if (s == v)
				return bad(why, "broken JSON value");
			if (role == R_TIME && !parse_epoch(v, (size_t)(s - v), &t))
				return bad(why, "bad ts");
			if (role == R_VALUE || role == R_CLIENT)
				return bad(why, "query or id.orig_h not a string");
		}
		s = json_ws(s, end);
		if (s < end && *s == ',') {
			s = json_ws(s + 1, end);
			continue;
		}
		if (s < end && *s == '}') {
			s++;
			break;
		}
		return bad(why, "broken JSON (',' or '}' expected)");
	}
done:
	if (json_ws(s, end) != end)
		return bad(why, "text after the JSON object");
	if (!have_value)
		return skip(why, "no query");
	return emit(rec, t, p->obuf, olen, p->vbuf, vlen, BW_LOGVAL_NAME, why);
}

static enum bw_logline
parse_zeek(struct bw_logfmt_parser *p, const char *l, size_t n,
	   struct bw_logrec *rec, const char **why)
{
	if (l[0] == '#')
		return zeek_header(p, l, n, why);
	if (l[0] == '{')
		return parse_zeek_json(p, l, n, rec, why);
	return parse_zeek_tsv(p, l, n, rec, why);
}

/* ---- Squid ------------------------------------------------------------ */

/* "host:port", "[v6]:port" or "host" into the host. */
static void
host_of(const char *s, size_t n, const char **h, size_t *hl)
{
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb) {
			*h = s + 1;
			*hl = (size_t)(rb - s - 1);
			return;
		}
	}
	*h = s;
	*hl = n;
	/* one colon: a port; more: a bare IPv6 address */
	const char *colon = memchr(s, ':', n);
	if (colon && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) == NULL)
		*hl = (size_t)(colon - s);
}

static enum bw_logline
parse_squid(struct bw_logfmt_parser *p, const char *l, size_t n,
	    struct bw_logrec *rec, const char **why)
{
	const char *end = l + n, *s = l, *tok[7];
	size_t len[7];
	int64_t t;
	const char *h;
	size_t hl;

	(void)p;
	for (int i = 0; i < 7; i++)
		if (!token(&s, end, &tok[i], &len[i]))
			return bad(why, "fewer than 7 fields (not a Squid access.log line)");
	if (!parse_epoch(tok[0], len[0], &t) || memchr(tok[0], '.', len[0]) == NULL)
		return bad(why, "bad time (not a Squid access.log line)");
	for (size_t i = 0; i < len[1]; i++)
		if (!is_digit(tok[1][i]) && !(len[1] == 1 && tok[1][0] == '-'))
			return bad(why, "bad elapsed time (not a Squid access.log line)");
	if (memchr(tok[3], '/', len[3]) == NULL)
		return bad(why, "bad result code (not a Squid access.log line)");
	if (len[5] == 7 && memcmp(tok[5], "CONNECT", 7) == 0) {
		host_of(tok[6], len[6], &h, &hl);
		return emit(rec, t, tok[2], len[2], h, hl, classify(h, hl, &rec->addr), why);
	}
	if (memmem(tok[6], len[6], "://", 3) != NULL)
		return emit(rec, t, tok[2], len[2], tok[6], len[6], BW_LOGVAL_URL, why);
	if (len[6] >= 6 && memcmp(tok[6], "error:", 6) == 0)
		return skip(why, "no URL (a Squid error entry)");
	if (memchr(tok[6], ':', len[6]) != NULL && memchr(tok[6], '/', len[6]) == NULL) {
		host_of(tok[6], len[6], &h, &hl);
		return emit(rec, t, tok[2], len[2], h, hl, classify(h, hl, &rec->addr), why);
	}
	return skip(why, "no URL or host");
}

/* ---- CSV -------------------------------------------------------------- */

static const char *const default_names[NROLES][13] = {
	{"time", "timestamp", "ts", "datetime", "date", "@timestamp", NULL},
	{"client", "client_ip", "clientip", "observer", "src", "src_ip",
	 "source_ip", "id.orig_h", "c-ip", NULL},
	{"value", "indicator", "query", "qname", "domain", "hostname", "host",
	 "url", "name", "address", "dst", "dst_ip", NULL},
};

/* One field at *p: unquoted (trimmed, pointing into the line) or quoted
 * (unescaped into buf, or skipped when buf is NULL).  *p ends after the
 * delimiter; *last is set on the last field. */
static bool
csv_field(const char **p, const char *end, char delim, char *buf, size_t cap,
	  const char **f, size_t *flen, bool *last)
{
	const char *s = *p;

	while (s < end && *s != delim && is_blank(*s))
		s++;
	if (s < end && *s == '"') {
		size_t o = 0;
		s++;
		for (;;) {
			if (s == end)
				return false;
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"') {
					s++;
				} else {
					s++;
					break;
				}
			}
			if (buf) {
				if (o >= cap)
					return false;
				buf[o] = *s;
			}
			o++;
			s++;
		}
		while (s < end && *s != delim && is_blank(*s))
			s++;
		if (s < end && *s != delim)
			return false;
		*f = buf ? buf : "";
		*flen = buf ? o : 0;
	} else {
		const char *e = memchr(s, delim, (size_t)(end - s));
		*f = s;
		*flen = (size_t)((e ? e : end) - s);
		trim(f, flen);
		s = e ? e : end;
	}
	*last = s == end;
	*p = s < end ? s + 1 : s;
	return true;
}

static bool
name_eq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Preference of a header name for a role (lower is better), or -1. */
static int
column_rank(const struct bw_logfmt_parser *p, int role, const char *f,
	    size_t n)
{
	if (p->cname[role][0])
		return name_eq(f, n, p->cname[role]) ? 0 : -1;
	for (int i = 0; default_names[role][i]; i++)
		if (name_eq(f, n, default_names[role][i]))
			return i;
	return -1;
}

static enum bw_logline
csv_header(struct bw_logfmt_parser *p, const char *l, size_t n,
	   const char **why)
{
	const char *end = l + n, *s = l, *f;
	size_t flen;
	int rank[NROLES] = {-1, -1, -1}, counts[3] = {0, 0, 0};
	static const char delims[3] = {',', ';', '\t'};
	bool last = false, quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (l[i] == '"')
			quoted = !quoted;
		for (int d = 0; d < 3 && !quoted; d++)
			if (l[i] == delims[d])
				counts[d]++;
	}
	p->cdelim = ',';
	if (counts[1] > counts[0] && counts[1] >= counts[2])
		p->cdelim = ';';
	else if (counts[2] > counts[0] && counts[2] > counts[1])
		p->cdelim = '\t';
	for (int i = 0; i < NROLES; i++)
		p->ccol[i] = -1;
	for (int i = 0; !last; i++) {
		if (i >= BW_LOGFMT_FIELDS_MAX)
			return bad(why, "more than 1024 columns");
		if (!csv_field(&s, end, p->cdelim, p->tbuf, TIME_TEXT_MAX, &f, &flen,
			       &last)) {
			/* an overlong quoted name is just not one of ours */
			if (!csv_field(&s, end, p->cdelim, NULL, 0, &f, &flen, &last))
				return bad(why, "broken quoting in the CSV header");
		}
		if (i == 0 && flen > 0 && f[0] == '#') { /* "# time,..." */
			f++;
			flen--;
			trim(&f, &flen);
		}
		for (int r = 0; r < NROLES; r++) {
			int k = column_rank(p, r, f, flen);
			if (k >= 0 && (rank[r] < 0 || k < rank[r])) {
				rank[r] = k;
				p->ccol[r] = i;
			}
		}
	}
	if (p->ccol[R_VALUE] < 0)
		return bad(why, "no CSV header naming a value column");
	if (p->ccol[R_TIME] == p->ccol[R_VALUE])
		p->ccol[R_TIME] = -1;
	if (p->ccol[R_CLIENT] == p->ccol[R_VALUE])
		p->ccol[R_CLIENT] = -1;
	p->cheader = true;
	return skip(why, "header");
}

static enum bw_logline
parse_csv(struct bw_logfmt_parser *p, const char *l, size_t n,
	  struct bw_logrec *rec, const char **why)
{
	const char *end = l + n, *s = l, *fv[NROLES] = {NULL, NULL, NULL};
	size_t fl[NROLES] = {0, 0, 0};
	char *bufs[NROLES] = {p->tbuf, p->obuf, p->vbuf};
	size_t caps[NROLES] = {TIME_TEXT_MAX, BW_LOGFMT_OBSERVER_MAX,
			       BW_LOGFMT_VALUE_MAX};
	int64_t t = 0;
	bool last = false;
	int maxcol = 0;

	if (l[0] == '#' && p->cheader)
		return skip(why, "comment");
	if (!p->cheader)
		return csv_header(p, l, n, why);
	for (int r = 0; r < NROLES; r++)
		if (p->ccol[r] > maxcol)
			maxcol = p->ccol[r];
	for (int i = 0; i <= maxcol && !last; i++) {
		const char *f;
		size_t flen;
		int role = -1;
		for (int r = 0; r < NROLES; r++)
			if (p->ccol[r] == i)
				role = r;
		if (!csv_field(&s, end, p->cdelim, role >= 0 ? bufs[role] : NULL,
			       role >= 0 ? caps[role] : 0, &f, &flen, &last))
			return bad(why, "broken quoting or overlong field");
		if (role >= 0) {
			fv[role] = f;
			fl[role] = flen;
		}
	}
	if (fv[R_VALUE] == NULL)
		return bad(why, "no value field (fewer fields than the header)");
	if (fl[R_TIME] > 0 && !parse_any_time(fv[R_TIME], fl[R_TIME], &t))
		return bad(why, "bad time");
	if (fl[R_VALUE] == 0)
		return skip(why, "empty value");
	return emit(rec, t, fv[R_CLIENT] ? fv[R_CLIENT] : "", fl[R_CLIENT],
		    fv[R_VALUE], fl[R_VALUE], classify(fv[R_VALUE], fl[R_VALUE], &rec->addr), why);
}

/* ---- plain ------------------------------------------------------------ */

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* True if none of the 8 bytes at p is a byte <= ' ', a '#' or a DEL
 * (exact as to "any"). */
static inline bool
plain_word(const char *p)
{
	uint64_t w, h, d;

	memcpy(&w, p, 8);
	h = w ^ (ONES * '#');
	d = w ^ (ONES * 0x7f);
	return (((w - ONES * 0x21) & ~w & HIGHS) | ((h - ONES) & ~h & HIGHS) |
		((d - ONES) & ~d & HIGHS)) == 0;
}

static enum bw_logline
parse_plain(struct bw_logfmt_parser *p, const char *l, size_t n,
	    struct bw_logrec *rec, const char **why)
{
	size_t i = 0;

	(void)p;
	/* the commonest line of an address log, a dotted quad, is parsed
	 * first: text the address parser takes is digits and dots only, so
	 * the checks below could not refuse it, and the line is not scanned
	 * once for them and again for the address (classify() gives the
	 * same answer for it) */
	if (n >= 7 && n <= 15 && is_digit(l[0]) && bw_index_parse_addr(l, n, &rec->addr) == 1) {
		rec->time = 0;
		rec->observer = "";
		rec->observer_len = 0;
		rec->value = l;
		rec->value_len = n;
		rec->kind = BW_LOGVAL_ADDR;
		*why = NULL;
		return BW_LOGLINE_RECORD;
	}
	/* the common line: one value, nothing to trim, no comment, nothing
	 * emit() would refuse; 8 bytes at a time while there are 8 */
	for (; i + 8 <= n; i += 8)
		if (!plain_word(l + i))
			break;
	/* the last 0-7 bytes as the 8 that end the line (they overlap what
	 * was checked): no loop of a length that varies line by line */
	if (i < n && i + 8 > n && n >= 8 && plain_word(l + n - 8))
		i = n;
	while (i < n && (unsigned char)l[i] > ' ' && l[i] != '#' && l[i] != 0x7f)
		i++;
	if (i == n && n > 0 && n <= BW_LOGFMT_VALUE_MAX) {
		rec->time = 0;
		rec->observer = "";
		rec->observer_len = 0;
		rec->value = l;
		rec->value_len = n;
		rec->kind = classify(l, n, &rec->addr);
		*why = NULL;
		return BW_LOGLINE_RECORD;
	}
	trim(&l, &n);
	if (n == 0 || l[0] == '#')
		return skip(why, "comment");
	for (i = 1; i < n; i++)
		if (l[i] == '#' && is_blank(l[i - 1])) {
			n = i;
			trim(&l, &n);
			break;
		}
	for (i = 0; i < n; i++)
		if (is_blank(l[i]))
			return bad(why, "more than one value on the line");
	return emit(rec, 0, "", 0, l, n, classify(l, n, &rec->addr), why);
}

/* ---- the API ---------------------------------------------------------- */

int
bw_logfmt_parser_new(enum bw_logfmt f, struct bw_logfmt_parser **out,
		     struct bw_err *err)
{
	struct bw_logfmt_parser *p;

	*out = NULL;
	if ((unsigned)f >= BW_LOGFMT_NFORMATS)
		return bw_err_set(err, BW_EINVAL, "unknown log format %d", (int)f);
	p = bw_calloc(1, sizeof(*p));
	if (p == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	p->fixed = f;
	bw_logfmt_parser_reset(p);
	*out = p;
	return BW_OK;
}

void
bw_logfmt_parser_free(struct bw_logfmt_parser *p)
{
	bw_free(p);
}

enum bw_logfmt
bw_logfmt_parser_format(const struct bw_logfmt_parser *p)
{
	return p->format;
}

void
bw_logfmt_parser_reset(struct bw_logfmt_parser *p)
{
	p->format = p->fixed;
	zeek_defaults(p);
	p->cheader = false;
	p->cdelim = ',';
	for (int r = 0; r < NROLES; r++)
		p->ccol[r] = -1;
	memset(p->bdate, 0, sizeof(p->bdate));
}

int
bw_logfmt_set_columns(struct bw_logfmt_parser *p, const char *time,
		      const char *client, const char *value, struct bw_err *err)
{
	const char *names[NROLES] = {time, client, value};

	for (int r = 0; r < NROLES; r++) {
		if (names[r] == NULL)
			continue;
		if (strlen(names[r]) > BW_LOGFMT_COLUMN_MAX || names[r][0] == '\0')
			return bw_err_set(err, BW_EINVAL,
					  "CSV column name '%s' empty or longer than %d bytes",
					  names[r], BW_LOGFMT_COLUMN_MAX);
	}
	for (int r = 0; r < NROLES; r++)
		if (names[r])
			memcpy(p->cname[r], names[r], strlen(names[r]) + 1);
	return BW_OK;
}

enum bw_logline
bw_logfmt_parse(struct bw_logfmt_parser *p, const char *line, size_t len,
		struct bw_logrec *rec, const char **why)
{
	if (len == 0)
		return skip(why, "empty line");
	if (len > 1 && line[len - 1] == '\r')
		len--;
	switch (p->format) {
	case BW_LOGFMT_BIND: return parse_bind(p, line, len, rec, why);
	case BW_LOGFMT_UNBOUND: return parse_unbound(p, line, len, rec, why);
	case BW_LOGFMT_ZEEK: return parse_zeek(p, line, len, rec, why);
	case BW_LOGFMT_SQUID: return parse_squid(p, line, len, rec, why);
	case BW_LOGFMT_CSV: return parse_csv(p, line, len, rec, why);
	case BW_LOGFMT_PLAIN: return parse_plain(p, line, len, rec, why);
	default: return bad(why, "log format not known");
	}
}

/* Records format f reads from the first lines of head. */
static int
detect_score(struct bw_logfmt_parser *p, enum bw_logfmt f, const char *head,
	     size_t n)
{
	const char *s = head, *end = head + n;
	struct bw_logrec rec;
	const char *why;
	int records = 0;

	p->format = f;
	zeek_defaults(p);
	p->cheader = false;
	for (int lines = 0; s < end && lines < DETECT_LINES;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		if (e > s) {
			lines++;
			if (bw_logfmt_parse(p, s, (size_t)(e - s), &rec, &why) ==
			    BW_LOGLINE_RECORD)
				records++;
		}
		s = nl ? nl + 1 : end;
	}
	return records;
}

enum bw_logfmt
bw_logfmt_parser_detect(struct bw_logfmt_parser *p, const char *head,
			size_t n, bool at_end)
{
	enum bw_logfmt best = BW_LOGFMT_AUTO;
	int best_score = 0;

	if (p->fixed != BW_LOGFMT_AUTO)
		return p->fixed;
	bw_logfmt_parser_reset(p);
	if (!at_end) {
		/* only whole lines */
		while (n > 0 && head[n - 1] != '\n')
			n--;
	}
	for (int f = BW_LOGFMT_BIND; f < BW_LOGFMT_PLAIN; f++) {
		int k = detect_score(p, (enum bw_logfmt)f, head, n);
		if (k > best_score) {
			best_score = k;
			best = (enum bw_logfmt)f;
		}
	}
	if (best == BW_LOGFMT_AUTO &&
	    detect_score(p, BW_LOGFMT_PLAIN, head, n) > 0)
		best = BW_LOGFMT_PLAIN;
	bw_logfmt_parser_reset(p);
	p->format = best;
	return best;
}
