/*
 * csv.c - the CSV feed parser: abuse.ch's CSV exports, bulwark's own CSV
 * export, and any CSV with a header row.
 *
 * Reading.  An RFC 4180 reader sits on top of the reader's lines: a quoted
 * cell may hold commas, "" for a quote, and line breaks (its record then
 * spans several lines, which are joined with "\n").  White space around a
 * cell is dropped, also around quoted cells, since ThreatFox writes
 * `"a", "b"`.  CRLF endings, a UTF-8 byte order mark and lines starting with
 * '#' (comments) are accepted.  Everything is bounded: a record (all its
 * lines) longer than BW_READER_LINE_MAX is rejected alone and reading starts
 * again at the next line; a record has at most CSV_COLUMNS_MAX cells.  The
 * scanner is a small state machine that resumes across lines, so a record is
 * scanned once however many lines it spans.
 *
 * Meaning.  The header row decides what every column holds: the header of a
 * known export (URLhaus, ThreatFox, Feodo Tracker, bulwark) selects that
 * format's mapping; otherwise the --column KEY=COLUMN options, or else the
 * header names this file recognises, map columns to indicator types and
 * record fields.  abuse.ch writes its header inside the last '#' comment
 * before the data (`# "first_seen_utc","ioc_id",...`), so that comment is
 * read as a header candidate too.  Every format is thus one table of column
 * roles, and one function turns a row into records: one record per
 * non-empty indicator cell, all with the row's fields.  A row with a bad
 * cell is rejected alone, naming the column; a file whose header maps no
 * indicator column is refused before anything is emitted.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "feed/feed.h"
#include "feed/reader.h"

/* Cells in one record (and columns in the header). */
#define CSV_COLUMNS_MAX 256
/* Room for the cells of one record: the text (at most a record's length)
 * plus a NUL after each cell. */
#define CELLS_CAP (BW_READER_LINE_MAX + CSV_COLUMNS_MAX + 2)

/* Parse hints beyond enum bw_ioc_type: */
#define HINT_ADDRESS BW_IOC_NTYPES        /* IPv4, IPv6 or CIDR, maybe with a port */
#define HINT_HOST (BW_IOC_NTYPES + 1)     /* a domain name or an address */

/* ---- cells ------------------------------------------------------------ */

struct cells {
	char *buf;  /* cell texts, each NUL-terminated */
	size_t used;
	size_t off[CSV_COLUMNS_MAX];
	size_t len[CSV_COLUMNS_MAX];
	size_t n;     /* cells kept */
	size_t total; /* cells seen (more than n when over the limit) */
};

enum qstate { Q_START, Q_PLAIN, Q_QUOTED, Q_AFTER };

/* Where the scanner is inside a record; survives from line to line. */
struct scan {
	enum qstate q;
	size_t cell_start; /* offset of the current cell in buf */
	size_t keep;       /* unquoted cell: length up to its last non-blank */
	const char *error; /* first structural fault of the record */
	size_t error_cell; /* 1-based */
};

static void
scan_begin(struct cells *c, struct scan *s)
{
	c->used = 0;
	c->n = 0;
	c->total = 0;
	s->q = Q_START;
	s->cell_start = 0;
	s->keep = 0;
	s->error = NULL;
	s->error_cell = 0;
}

static void
scan_fault(struct cells *c, struct scan *s, const char *why)
{
	if (s->error == NULL) {
		s->error = why;
		s->error_cell = c->total + 1;
	}
}

static void
put(struct cells *c, struct scan *s, char ch)
{
	/* Keeps room for the NUL of every cell still to come.  The record
	 * length is capped by the caller, so this never fails; the check only
	 * keeps a broken invariant from writing out of bounds. */
	if (c->used + 1 + (CSV_COLUMNS_MAX - c->n) >= CELLS_CAP) {
		scan_fault(c, s, "record too long");
		return;
	}
	c->buf[c->used++] = ch;
}

static void
end_cell(struct cells *c, struct scan *s)
{
	if (s->q == Q_PLAIN)
		c->used = s->keep;
	if (c->total < CSV_COLUMNS_MAX) {
		c->off[c->n] = s->cell_start;
		c->len[c->n] = c->used - s->cell_start;
		c->buf[c->used++] = '\0';
		c->n++;
	} else {
		c->used = s->cell_start;
	}
	c->total++;
	s->cell_start = c->used;
	s->keep = c->used;
	s->q = Q_START;
}

/* Scans one line of a record.  Returns true when the record ends with it,
 * false when a quoted cell goes on to the next line. */
static bool
scan_line(struct cells *c, struct scan *s, const char *l, size_t len)
{
	if (memchr(l, '\0', len))
		scan_fault(c, s, "NUL byte in the record");
	for (size_t i = 0; i < len; i++) {
		char ch = l[i];

		switch (s->q) {
		case Q_START:
			if (ch == ' ' || ch == '\t')
				break;
			if (ch == '"') {
				s->q = Q_QUOTED;
				break;
			}
			if (ch == ',') {
				end_cell(c, s);
				break;
			}
			s->q = Q_PLAIN;
			put(c, s, ch);
			s->keep = c->used;
			break;
		case Q_PLAIN:
			if (ch == ',') {
				end_cell(c, s);
				break;
			}
			put(c, s, ch);
			if (ch != ' ' && ch != '\t')
				s->keep = c->used;
			break;
		case Q_QUOTED:
			if (ch == '"') {
				if (i + 1 < len && l[i + 1] == '"') {
					put(c, s, '"');
					i++;
				} else {
					s->q = Q_AFTER;
				}
				break;
			}
			put(c, s, ch);
			break;
		case Q_AFTER:
			if (ch == ',') {
				end_cell(c, s);
				break;
			}
			if (ch != ' ' && ch != '\t')
				scan_fault(c, s, "text after a closing quote");
			break;
		}
	}
	if (s->q == Q_QUOTED)
		return false;
	end_cell(c, s);
	return true;
}

static const char *
cell(const struct cells *c, size_t i)
{
	return c->buf + c->off[i];
}

/* ---- records ---------------------------------------------------------- */

struct csv {
	struct bw_reader *in;
	const struct bw_feed_sink *sink;
	struct cells row, hdr;
	struct scan scan;
	char *raw; /* the record as written, lines joined with "\n" */
	size_t rawlen;
	long line; /* first line of the current record */
	char *comment; /* the last comment line before the first row */
	size_t commentlen;
	bool have_comment, started;
};

static void
reject(struct csv *c, long line, const char *reason, const char *raw,
       size_t rawlen)
{
	char where[32];

	snprintf(where, sizeof(where), "%ld", line);
	c->sink->reject(c->sink->ctx, where, reason, raw, rawlen);
}

static bool
blank_or_comment(const char *l, size_t len, bool *comment)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)l[i]))
		i++;
	*comment = i < len && l[i] == '#';
	return i == len || *comment;
}

/*
 * The next well-formed record into c->row.  Returns 1 for a record, 0 at
 * the end, or a negative BW_E* code.  Over-long and malformed records are
 * rejected here and skipped; comments and blank lines are skipped.
 */
static int
next_record(struct csv *c, struct bw_err *err)
{
	bool in_record = false;
	char reason[128];

	for (;;) {
		const char *l;
		size_t len;
		long lineno;
		int too_long, rc;
		bool comment;

		rc = bw_reader_line(c->in, &l, &len, &lineno, &too_long, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (in_record)
				reject(c, c->line, "quoted field not closed at the end of the input",
				       c->raw, c->rawlen);
			return 0;
		}
		if (lineno == 1 && len >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
			l += 3;
			len -= 3;
		}
		if (!in_record) {
			if (too_long) {
				snprintf(reason, sizeof(reason), "line longer than %d bytes",
					 BW_READER_LINE_MAX);
				reject(c, lineno, reason, NULL, 0);
				continue;
			}
			if (blank_or_comment(l, len, &comment)) {
				if (comment && !c->started) {
					memcpy(c->comment, l, len);
					c->commentlen = len;
					c->have_comment = true;
				}
				continue;
			}
			c->line = lineno;
			c->rawlen = 0;
			scan_begin(&c->row, &c->scan);
		} else {
			if (too_long || c->rawlen + 1 + len > BW_READER_LINE_MAX) {
				/* The rest of the runaway record is read as new
				 * records from the next line on. */
				snprintf(reason, sizeof(reason),
					 "record longer than %d bytes (lines %ld-%ld; a quote not closed?)",
					 BW_READER_LINE_MAX, c->line, lineno);
				reject(c, c->line, reason, c->raw, c->rawlen);
				in_record = false;
				continue;
			}
			c->raw[c->rawlen++] = '\n';
			put(&c->row, &c->scan, '\n');
		}
		memcpy(c->raw + c->rawlen, l, len);
		c->rawlen += len;
		if (!scan_line(&c->row, &c->scan, l, len)) {
			in_record = true;
			continue;
		}
		c->started = true;
		if (c->scan.error) {
			snprintf(reason, sizeof(reason), "field %zu: %s",
				 c->scan.error_cell, c->scan.error);
			reject(c, c->line, reason, c->raw, c->rawlen);
			in_record = false;
			continue;
		}
		return 1;
	}
}

/* ---- column roles ----------------------------------------------------- */

enum role {
	R_NONE,
	R_IOC,        /* an indicator; hint */
	R_TYPE,       /* the type of the row's untyped indicators */
	R_CONFIDENCE,
	R_TLP,
	R_TAGS,       /* a list of tags */
	R_TAG,        /* one tag of kind */
	R_FIRST_SEEN,
	R_LAST_SEEN,
	R_VALID_FROM,
	R_VALID_UNTIL,
	R_SOURCE,
	R_EXTERNAL_ID,
	R_RECIPIENTS,
	R_REVOKED,
};

struct column {
	enum role role;
	int hint;         /* R_IOC: enum bw_ioc_type, HINT_ADDRESS or HINT_HOST */
	const char *kind; /* R_TAG */
};

enum split { SPLIT_COMMA, SPLIT_PIPE, SPLIT_EITHER };

/* What a file's columns mean. */
struct mapping {
	const char *source;  /* the format's own source name, or NULL */
	size_t ncols;        /* fields every row must have */
	bool named;          /* the file has a header row (names in hdr) */
	enum split split;    /* separator of tag lists */
	bool tag_kinds;      /* tags may be written "kind:name" */
	bool abusech;        /* "None" means empty; "Unknown malware" is none */
	struct column col[CSV_COLUMNS_MAX];
};

struct name_role {
	const char *name;
	enum role role;
	int hint;
	const char *kind;
};

/* Header names the generic mapping recognises (after norm_name). */
static const struct name_role header_names[] = {
	{"indicator", R_IOC, BW_IOC_ANY, NULL},
	{"ioc", R_IOC, BW_IOC_ANY, NULL},
	{"value", R_IOC, BW_IOC_ANY, NULL},
	{"indicator_value", R_IOC, BW_IOC_ANY, NULL},
	{"ioc_value", R_IOC, BW_IOC_ANY, NULL},
	{"observable", R_IOC, BW_IOC_ANY, NULL},
	{"observable_value", R_IOC, BW_IOC_ANY, NULL},
	{"type", R_TYPE, 0, NULL},
	{"indicator_type", R_TYPE, 0, NULL},
	{"ioc_type", R_TYPE, 0, NULL},
	{"observable_type", R_TYPE, 0, NULL},
	/* domain lists often carry a few bare addresses too */
	{"domain", R_IOC, HINT_HOST, NULL},
	{"domain_name", R_IOC, HINT_HOST, NULL},
	{"fqdn", R_IOC, BW_IOC_DOMAIN, NULL},
	{"hostname", R_IOC, HINT_HOST, NULL},
	{"host", R_IOC, HINT_HOST, NULL},
	{"ip", R_IOC, HINT_ADDRESS, NULL},
	{"ip_address", R_IOC, HINT_ADDRESS, NULL},
	{"ipaddress", R_IOC, HINT_ADDRESS, NULL},
	{"ip_addr", R_IOC, HINT_ADDRESS, NULL},
	{"dst_ip", R_IOC, HINT_ADDRESS, NULL},
	{"src_ip", R_IOC, HINT_ADDRESS, NULL},
	{"dstip", R_IOC, HINT_ADDRESS, NULL},
	{"srcip", R_IOC, HINT_ADDRESS, NULL},
	{"ipv4", R_IOC, BW_IOC_IPV4, NULL},
	{"ipv6", R_IOC, BW_IOC_IPV6, NULL},
	{"cidr", R_IOC, BW_IOC_CIDR, NULL},
	{"subnet", R_IOC, BW_IOC_CIDR, NULL},
	{"url", R_IOC, BW_IOC_URL, NULL},
	{"uri", R_IOC, BW_IOC_URL, NULL},
	{"email", R_IOC, BW_IOC_EMAIL, NULL},
	{"email_address", R_IOC, BW_IOC_EMAIL, NULL},
	{"md5", R_IOC, BW_IOC_MD5, NULL},
	{"md5_hash", R_IOC, BW_IOC_MD5, NULL},
	{"sha1", R_IOC, BW_IOC_SHA1, NULL},
	{"sha1_hash", R_IOC, BW_IOC_SHA1, NULL},
	{"sha256", R_IOC, BW_IOC_SHA256, NULL},
	{"sha256_hash", R_IOC, BW_IOC_SHA256, NULL},
	{"confidence", R_CONFIDENCE, 0, NULL},
	{"confidence_level", R_CONFIDENCE, 0, NULL},
	{"score", R_CONFIDENCE, 0, NULL},
	{"tlp", R_TLP, 0, NULL},
	{"tags", R_TAGS, 0, NULL},
	{"tag", R_TAGS, 0, NULL},
	{"labels", R_TAGS, 0, NULL},
	{"label", R_TAGS, 0, NULL},
	{"malware", R_TAG, 0, BW_TAG_KIND_MALWARE},
	{"malware_family", R_TAG, 0, BW_TAG_KIND_MALWARE},
	{"malware_printable", R_TAG, 0, BW_TAG_KIND_MALWARE},
	{"family", R_TAG, 0, BW_TAG_KIND_MALWARE},
	{"actor", R_TAG, 0, BW_TAG_KIND_ACTOR},
	{"threat_actor", R_TAG, 0, BW_TAG_KIND_ACTOR},
	{"campaign", R_TAG, 0, BW_TAG_KIND_CAMPAIGN},
	{"first_seen", R_FIRST_SEEN, 0, NULL},
	{"first_seen_utc", R_FIRST_SEEN, 0, NULL},
	{"firstseen", R_FIRST_SEEN, 0, NULL},
	{"dateadded", R_FIRST_SEEN, 0, NULL},
	{"date_added", R_FIRST_SEEN, 0, NULL},
	{"last_seen", R_LAST_SEEN, 0, NULL},
	{"last_seen_utc", R_LAST_SEEN, 0, NULL},
	{"lastseen", R_LAST_SEEN, 0, NULL},
	{"last_online", R_LAST_SEEN, 0, NULL},
	{"lastonline", R_LAST_SEEN, 0, NULL},
	{"valid_from", R_VALID_FROM, 0, NULL},
	{"valid_until", R_VALID_UNTIL, 0, NULL},
	{"expires", R_VALID_UNTIL, 0, NULL},
	{"source", R_SOURCE, 0, NULL},
	{"external_id", R_EXTERNAL_ID, 0, NULL},
	{"id", R_EXTERNAL_ID, 0, NULL},
	{"ioc_id", R_EXTERNAL_ID, 0, NULL},
	{"recipients", R_RECIPIENTS, 0, NULL},
	{"share_with", R_RECIPIENTS, 0, NULL},
	{"revoked", R_REVOKED, 0, NULL},
};

/* The KEYs of --column KEY=COLUMN. */
static const struct name_role column_keys[] = {
	{"domain", R_IOC, BW_IOC_DOMAIN, NULL},
	{"ipv4", R_IOC, BW_IOC_IPV4, NULL},
	{"ipv6", R_IOC, BW_IOC_IPV6, NULL},
	{"cidr", R_IOC, BW_IOC_CIDR, NULL},
	{"url", R_IOC, BW_IOC_URL, NULL},
	{"email", R_IOC, BW_IOC_EMAIL, NULL},
	{"md5", R_IOC, BW_IOC_MD5, NULL},
	{"sha1", R_IOC, BW_IOC_SHA1, NULL},
	{"sha256", R_IOC, BW_IOC_SHA256, NULL},
	{"ip", R_IOC, HINT_ADDRESS, NULL},
	{"value", R_IOC, BW_IOC_ANY, NULL},
	{"any", R_IOC, BW_IOC_ANY, NULL},
	{"type", R_TYPE, 0, NULL},
	{"confidence", R_CONFIDENCE, 0, NULL},
	{"tlp", R_TLP, 0, NULL},
	{"tags", R_TAGS, 0, NULL},
	{"malware", R_TAG, 0, BW_TAG_KIND_MALWARE},
	{"actor", R_TAG, 0, BW_TAG_KIND_ACTOR},
	{"campaign", R_TAG, 0, BW_TAG_KIND_CAMPAIGN},
	{"first_seen", R_FIRST_SEEN, 0, NULL},
	{"last_seen", R_LAST_SEEN, 0, NULL},
	{"valid_from", R_VALID_FROM, 0, NULL},
	{"valid_until", R_VALID_UNTIL, 0, NULL},
	{"source", R_SOURCE, 0, NULL},
	{"external_id", R_EXTERNAL_ID, 0, NULL},
	{"recipients", R_RECIPIENTS, 0, NULL},
	{"revoked", R_REVOKED, 0, NULL},
};

#define NAME_MAX_NORM 64

/* A header name or key compared loosely: lower case, ' ', '-' and '.' as
 * '_', no surrounding blanks.  Longer names never match anything. */
static void
norm_name(const char *s, size_t len, char *out)
{
	size_t n = 0;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= NAME_MAX_NORM)
		len = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = (char)tolower((unsigned char)s[i]);
		out[n++] = ch == ' ' || ch == '-' || ch == '.' ? '_' : ch;
	}
	out[n] = '\0';
}

static const struct name_role *
find_name(const struct name_role *t, size_t n, const char *name, size_t len)
{
	char norm[NAME_MAX_NORM];

	norm_name(name, len, norm);
	if (norm[0] == '\0')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, norm) == 0)
			return &t[i];
	return NULL;
}

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The index of the header cell named name (loosely), or -1. */
static int
header_index(const struct cells *h, const char *name)
{
	char norm[NAME_MAX_NORM];

	for (size_t i = 0; i < h->n; i++) {
		norm_name(cell(h, i), h->len[i], norm);
		if (strcmp(norm, name) == 0)
			return (int)i;
	}
	return -1;
}

static int
header_index2(const struct cells *h, const char *a, const char *b)
{
	int i = header_index(h, a);

	return i >= 0 ? i : header_index(h, b);
}

static void
set_col(struct mapping *m, int i, enum role role, int hint, const char *kind)
{
	if (i < 0)
		return;
	m->col[i].role = role;
	m->col[i].hint = hint;
	m->col[i].kind = kind;
}

static void
mapping_init(struct mapping *m, size_t ncols)
{
	memset(m, 0, sizeof(*m));
	m->ncols = ncols;
	m->named = true;
	m->split = SPLIT_EITHER;
	m->tag_kinds = true;
}

static void
abusech_init(struct mapping *m, size_t ncols, const char *source)
{
	mapping_init(m, ncols);
	m->source = source;
	m->split = SPLIT_COMMA;
	m->tag_kinds = false;
	m->abusech = true;
}

/* Recognises the header of an abuse.ch export or of bulwark's own CSV and
 * fills m; returns false for any other header. */
static bool
known_format(const struct cells *h, struct mapping *m)
{
	static const char *const bulwark[] = {
		"type", "value", "source", "confidence", "tlp", "first_seen",
		"last_seen", "valid_from", "valid_until", "tags", "recipients",
		"external_id", "revoked",
	};
	int i;

	if (h->total != h->n)
		return false;
	/* URLhaus: id,dateadded,url,url_status,[last_online,]threat,tags,
	 * urlhaus_link,reporter (last_online since 2020) */
	if (header_index(h, "urlhaus_link") >= 0 && header_index(h, "url") >= 0 &&
	    header_index(h, "dateadded") >= 0) {
		abusech_init(m, h->n, "urlhaus");
		set_col(m, header_index(h, "url"), R_IOC, BW_IOC_URL, NULL);
		set_col(m, header_index(h, "id"), R_EXTERNAL_ID, 0, NULL);
		set_col(m, header_index(h, "dateadded"), R_FIRST_SEEN, 0, NULL);
		set_col(m, header_index(h, "last_online"), R_LAST_SEEN, 0, NULL);
		set_col(m, header_index(h, "tags"), R_TAGS, 0, NULL);
		return true;
	}
	/* ThreatFox: first_seen_utc,ioc_id,ioc_value,ioc_type,threat_type,
	 * fk_malware,malware_alias,malware_printable,last_seen_utc,
	 * confidence_level,reference,tags,anonymous,reporter */
	if (header_index(h, "ioc_id") >= 0 && header_index(h, "ioc_value") >= 0 &&
	    header_index(h, "ioc_type") >= 0) {
		abusech_init(m, h->n, "threatfox");
		set_col(m, header_index(h, "ioc_value"), R_IOC, BW_IOC_ANY, NULL);
		set_col(m, header_index(h, "ioc_type"), R_TYPE, 0, NULL);
		set_col(m, header_index(h, "ioc_id"), R_EXTERNAL_ID, 0, NULL);
		set_col(m, header_index(h, "first_seen_utc"), R_FIRST_SEEN, 0, NULL);
		set_col(m, header_index(h, "last_seen_utc"), R_LAST_SEEN, 0, NULL);
		set_col(m, header_index(h, "confidence_level"), R_CONFIDENCE, 0, NULL);
		set_col(m, header_index(h, "malware_printable"), R_TAG, 0,
			BW_TAG_KIND_MALWARE);
		set_col(m, header_index(h, "tags"), R_TAGS, 0, NULL);
		set_col(m, header_index(h, "threat_type"), R_TAG, 0, BW_TAG_KIND_LABEL);
		return true;
	}
	/* Feodo Tracker: first_seen_utc,dst_ip,dst_port,c2_status,last_online,
	 * malware; before 2023 "Firstseen,DstIP,DstPort,[c2_status,]LastOnline,
	 * Malware" */
	i = header_index2(h, "dst_ip", "dstip");
	if (i >= 0 && header_index(h, "malware") >= 0 &&
	    header_index2(h, "first_seen_utc", "firstseen") >= 0) {
		abusech_init(m, h->n, "feodotracker");
		set_col(m, i, R_IOC, HINT_ADDRESS, NULL);
		set_col(m, header_index2(h, "first_seen_utc", "firstseen"), R_FIRST_SEEN,
			0, NULL);
		set_col(m, header_index2(h, "last_online", "lastonline"), R_LAST_SEEN, 0,
			NULL);
		set_col(m, header_index(h, "malware"), R_TAG, 0, BW_TAG_KIND_MALWARE);
		return true;
	}
	/* bulwark's export: the generic names, with '|'-separated tags (names
	 * may hold commas) */
	if (h->n == NELEMS(bulwark)) {
		for (size_t k = 0; k < h->n; k++)
			if (strcmp(cell(h, k), bulwark[k]) != 0)
				return false;
		mapping_init(m, h->n);
		m->split = SPLIT_PIPE;
		for (size_t k = 0; k < h->n; k++) {
			const struct name_role *nr =
				find_name(header_names, NELEMS(header_names), bulwark[k],
					  strlen(bulwark[k]));
			set_col(m, (int)k, nr->role, nr->hint, nr->kind);
		}
		return true;
	}
	return false;
}

/* Maps the header names this file knows (no --column given).  The first
 * column of a field wins; every indicator column is used. */
static void
auto_map(const struct cells *h, struct mapping *m)
{
	mapping_init(m, h->n);
	for (size_t i = 0; i < h->n; i++) {
		const struct name_role *nr =
			find_name(header_names, NELEMS(header_names), cell(h, i), h->len[i]);
		bool taken = false;

		if (nr == NULL)
			continue;
		for (size_t k = 0; k < i && nr->role != R_IOC; k++)
			if (m->col[k].role == nr->role &&
			    (nr->role != R_TAG || strcmp(m->col[k].kind, nr->kind) == 0))
				taken = true;
		if (!taken)
			set_col(m, (int)i, nr->role, nr->hint, nr->kind);
	}
}

static bool
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Maps --column KEY=COLUMN options.  COLUMN is a header name or a 1-based
 * number.  Errors are BW_EFORMAT naming the option. */
static int
column_map(const struct cells *h, bool named, size_t ncols,
	   const char *const *opts, struct mapping *m, struct bw_err *err)
{
	mapping_init(m, ncols);
	m->named = named;
	for (size_t k = 0; opts[k] != NULL; k++) {
		const char *opt = opts[k];
		const char *eq = strchr(opt, '=');
		const struct name_role *key;
		const char *name;
		size_t nlen;
		int idx = -1;

		if (eq == NULL || eq == opt || eq[1] == '\0')
			return bw_err_set(err, BW_EFORMAT,
					  "--column \"%.100s\": expected KEY=COLUMN", opt);
		key = find_name(column_keys, NELEMS(column_keys), opt, (size_t)(eq - opt));
		if (key == NULL)
			return bw_err_set(err, BW_EFORMAT,
					  "--column \"%.100s\": unknown key \"%.*s\" (an indicator "
					  "type, value, or a field such as confidence, tags, first_seen)",
					  opt, (int)(eq - opt) > 64 ? 64 : (int)(eq - opt), opt);
		name = eq + 1;
		nlen = strlen(name);
		if (named) {
			char want[NAME_MAX_NORM], have[NAME_MAX_NORM];
			norm_name(name, nlen, want);
			for (size_t i = 0; want[0] && i < h->n && idx < 0; i++) {
				norm_name(cell(h, i), h->len[i], have);
				if (strcmp(want, have) == 0)
					idx = (int)i;
			}
		}
		if (idx < 0 && all_digits(name, nlen) && nlen <= 4) {
			long v = 0;
			for (size_t i = 0; i < nlen; i++)
				v = v * 10 + (name[i] - '0');
			if (v >= 1 && (size_t)v <= ncols)
				idx = (int)v - 1;
		}
		if (idx < 0) {
			if (named)
				return bw_err_set(err, BW_EFORMAT,
						  "--column \"%.100s\": no column \"%.64s\" in the "
						  "header (%zu columns)", opt, name, ncols);
			if (all_digits(name, nlen))
				return bw_err_set(err, BW_EFORMAT,
						  "--column \"%.100s\": no column %.64s (the first "
						  "row has %zu fields)", opt, name, ncols);
			return bw_err_set(err, BW_EFORMAT,
					  "--column \"%.100s\": the file has no header row; "
					  "name the column by its number", opt);
		}
		if (m->col[idx].role != R_NONE)
			return bw_err_set(err, BW_EFORMAT,
					  "--column \"%.100s\": column %d is already mapped",
					  opt, idx + 1);
		for (size_t i = 0; i < ncols && key->role != R_IOC; i++)
			if (m->col[i].role == key->role &&
			    (key->role != R_TAG || strcmp(m->col[i].kind, key->kind) == 0))
				return bw_err_set(err, BW_EFORMAT,
						  "--column \"%.100s\": %s is mapped twice",
						  opt, key->name);
		set_col(m, idx, key->role, key->hint, key->kind);
	}
	return BW_OK;
}

/* ---- cell values ------------------------------------------------------ */

/* The parse hint for a type name as feeds write it ("domain_name",
 * "ip:port", "sha256_hash", "phishing_url", bulwark's own names); false for
 * a type bulwark does not model. */
static bool
type_hint(const char *s, size_t len, int *hint)
{
	static const struct {
		const char *name;
		int hint;
	} types[] = {
		{"domain", BW_IOC_DOMAIN},      {"domain_name", BW_IOC_DOMAIN},
		{"hostname", BW_IOC_DOMAIN},    {"fqdn", BW_IOC_DOMAIN},
		{"ipv4", BW_IOC_IPV4},          {"ipv6", BW_IOC_IPV6},
		{"ipv4_addr", BW_IOC_IPV4},     {"ipv6_addr", BW_IOC_IPV6},
		{"ip", HINT_ADDRESS},           {"ip_address", HINT_ADDRESS},
		{"ip:port", HINT_ADDRESS},      {"ip_port", HINT_ADDRESS},
		{"ip_dst", HINT_ADDRESS},       {"ip_src", HINT_ADDRESS},
		{"cidr", BW_IOC_CIDR},          {"url", BW_IOC_URL},
		{"uri", BW_IOC_URL},            {"email", BW_IOC_EMAIL},
		{"email_addr", BW_IOC_EMAIL},   {"email_address", BW_IOC_EMAIL},
		{"email_src", BW_IOC_EMAIL},    {"email_dst", BW_IOC_EMAIL},
		{"md5", BW_IOC_MD5},            {"md5_hash", BW_IOC_MD5},
		{"sha1", BW_IOC_SHA1},          {"sha1_hash", BW_IOC_SHA1},
		{"sha256", BW_IOC_SHA256},      {"sha256_hash", BW_IOC_SHA256},
	};
	char norm[NAME_MAX_NORM];
	size_t n;

	if (len == 0) {
		*hint = BW_IOC_ANY;
		return true;
	}
	norm_name(s, len, norm);
	for (size_t i = 0; i < NELEMS(types); i++)
		if (strcmp(norm, types[i].name) == 0) {
			*hint = types[i].hint;
			return true;
		}
	/* "phishing_url", "telegram_url", ... are URLs */
	n = strlen(norm);
	if (n > 4 && strcmp(norm + n - 4, "_url") == 0) {
		*hint = BW_IOC_URL;
		return true;
	}
	return false;
}

static const char *
hint_name(int hint)
{
	if (hint == HINT_ADDRESS)
		return "an IP address";
	if (hint == HINT_HOST)
		return "a host name or IP address";
	return bw_ioc_type_name((enum bw_ioc_type)hint);
}

/* Parses an indicator cell with a hint. */
static int
parse_ioc(const char *s, size_t len, int hint, struct bw_ioc *out,
	  struct bw_err *err)
{
	int rc;

	if (hint < BW_IOC_NTYPES)
		return bw_ioc_parse(s, len, (enum bw_ioc_type)hint, out, err);
	if (hint == HINT_HOST) {
		rc = bw_ioc_parse(s, len, BW_IOC_ANY, out, err);
		if (rc == BW_OK && out->type != BW_IOC_DOMAIN &&
		    out->type != BW_IOC_IPV4 && out->type != BW_IOC_IPV6)
			return bw_err_set(err, BW_EINVAL, "expected %s, got %s",
					  hint_name(hint), bw_ioc_type_name(out->type));
		return rc;
	}
	/* HINT_ADDRESS: an address or network, also "a.b.c.d:port" and
	 * "[v6]:port" as ThreatFox's ip:port type writes them */
	rc = bw_ioc_parse(s, len, BW_IOC_CIDR, out, err);
	if (rc != BW_OK) {
		const char *colon = len ? memchr(s, ':', len) : NULL;
		size_t alen = 0;

		if (len > 2 && s[0] == '[') {
			const char *close = memchr(s, ']', len);
			if (close && close + 1 < s + len && close[1] == ':' &&
			    all_digits(close + 2, (size_t)(s + len - close - 2)))
				alen = (size_t)(close - s) + 1;
		} else if (colon && memchr(colon + 1, ':', (size_t)(s + len - colon - 1)) == NULL &&
			   all_digits(colon + 1, (size_t)(s + len - colon - 1))) {
			alen = (size_t)(colon - s);
		}
		if (alen > 0 && bw_ioc_parse(s, alen, BW_IOC_CIDR, out, NULL) == BW_OK) {
			out->notes |= BW_IOC_NOTE_PORT_DROPPED;
			rc = BW_OK;
		}
	}
	return rc;
}

static int
parse_confidence(const char *s, size_t len, int *out)
{
	int v = 0;

	if (!all_digits(s, len) || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (s[i] - '0');
	if (v > 100)
		return -1;
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, size_t len, int *out)
{
	static const char *const yes[] = {"true", "yes", "1", "y", "t"};
	static const char *const no[] = {"false", "no", "0", "n", "f"};

	for (size_t i = 0; i < NELEMS(yes); i++) {
		if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0) {
			*out = 1;
			return 0;
		}
		if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Trims blanks in place; returns the start and sets *len. */
static char *
trim_inplace(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)*s)) {
		s++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	s[*len] = '\0';
	return s;
}

/* abuse.ch writes "None" for an empty list. */
static bool
is_none(const struct mapping *m, const char *s)
{
	return m->abusech && strcmp(s, "None") == 0;
}

static const char *
kind_constant(const char *kind)
{
	if (strcmp(kind, BW_TAG_KIND_MALWARE) == 0)
		return BW_TAG_KIND_MALWARE;
	if (strcmp(kind, BW_TAG_KIND_ACTOR) == 0)
		return BW_TAG_KIND_ACTOR;
	if (strcmp(kind, BW_TAG_KIND_CAMPAIGN) == 0)
		return BW_TAG_KIND_CAMPAIGN;
	return BW_TAG_KIND_LABEL;
}

/* Adds one tag (a name, or "kind:name" where the format allows it). */
static int
add_tag(const struct mapping *m, struct bw_feed_record *r, const char *kind,
	char *name, char *reason, size_t cap)
{
	size_t len = strlen(name);

	name = trim_inplace(name, &len);
	if (len == 0 || is_none(m, name))
		return 0;
	if (m->abusech && kind && strcmp(kind, BW_TAG_KIND_MALWARE) == 0 &&
	    strcmp(name, "Unknown malware") == 0)
		return 0;
	if (m->tag_kinds && kind == NULL) {
		char kb[16];
		struct bw_tag t;
		struct bw_err e;
		if (bw_tag_parse(name, kb, sizeof(kb), &t, &e) != BW_OK) {
			snprintf(reason, cap, "%.300s", e.msg);
			return -1;
		}
		bw_feed_record_add_tag(r, kind_constant(t.kind), t.name);
		return 0;
	}
	if (len > BW_TAG_NAME_MAX) {
		snprintf(reason, cap, "tag longer than %d bytes", BW_TAG_NAME_MAX);
		return -1;
	}
	bw_feed_record_add_tag(r, kind ? kind : BW_TAG_KIND_LABEL, name);
	return 0;
}

static int
add_tag_list(const struct mapping *m, struct bw_feed_record *r, char *s,
	     size_t len, char *reason, size_t cap)
{
	const char *seps = m->split == SPLIT_COMMA ? ","
			   : m->split == SPLIT_PIPE ? "|"
			   : memchr(s, '|', len) ? "|"
						 : ",";
	char *p = s, *end = s + len;

	while (p <= end) {
		size_t n = strcspn(p, seps);
		p[n] = '\0';
		if (add_tag(m, r, NULL, p, reason, cap))
			return -1;
		p += n + 1;
	}
	return 0;
}

static int
add_recipients(struct bw_feed_record *r, char *s, char *reason, size_t cap)
{
	char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",|; ");
		bool last = p[n] == '\0';

		p[n] = '\0';
		if (n > 0) {
			bool dup = false;
			if (n != 2 || !isalpha((unsigned char)p[0]) ||
			    !isalpha((unsigned char)p[1])) {
				snprintf(reason, cap,
					 "\"%.16s\" is not an ISO 3166-1 alpha-2 country code", p);
				return -1;
			}
			p[0] = (char)toupper((unsigned char)p[0]);
			p[1] = (char)toupper((unsigned char)p[1]);
			for (size_t i = 0; i < r->nrecipients; i++)
				if (strcmp(r->recipients[i], p) == 0)
					dup = true;
			if (!dup && r->nrecipients < BW_RECORD_RECIPIENTS_MAX)
				r->recipients[r->nrecipients++] = p;
		}
		if (last)
			return 0;
		p += n + 1;
	}
}

/* ---- rows ------------------------------------------------------------- */

struct parser {
	struct csv csv;
	struct mapping map;
	struct bw_feed_record rec;
	struct bw_ioc scratch;
};

/* "column NAME" for messages. */
static void
column_label(const struct parser *p, size_t i, char *out, size_t cap)
{
	if (p->map.named && i < p->csv.hdr.n && p->csv.hdr.len[i] > 0)
		snprintf(out, cap, "column %.64s", cell(&p->csv.hdr, i));
	else
		snprintf(out, cap, "column %zu", i + 1);
}

static void
reject_row(struct parser *p, size_t col, const char *why)
{
	char label[96], reason[BW_ERR_MSG_MAX];

	column_label(p, col, label, sizeof(label));
	snprintf(reason, sizeof(reason), "%s: %s", label, why);
	reject(&p->csv, p->csv.line, reason, p->csv.raw, p->csv.rawlen);
}

/* Reads the row's fields (everything but indicators) into p->rec.
 * Returns 0, or -1 after rejecting the row. */
static int
row_fields(struct parser *p, int *type_hint_out)
{
	struct cells *row = &p->csv.row;
	struct bw_feed_record *r = &p->rec;
	char why[BW_ERR_MSG_MAX - 100];
	struct bw_err e;

	bw_feed_record_init(r);
	r->source = p->map.source;
	*type_hint_out = BW_IOC_ANY;
	/* An entry of a type bulwark does not model is unsupported, whatever
	 * else is wrong with it. */
	for (size_t i = 0; i < p->map.ncols; i++) {
		const char *s = cell(row, i);
		char label[96], reason[BW_ERR_MSG_MAX], where[32];

		if (p->map.col[i].role != R_TYPE || type_hint(s, row->len[i], type_hint_out))
			continue;
		column_label(p, i, label, sizeof(label));
		snprintf(reason, sizeof(reason),
			 "%s: \"%.64s\" is not an indicator type bulwark models", label, s);
		snprintf(where, sizeof(where), "%ld", p->csv.line);
		p->csv.sink->unsupported(p->csv.sink->ctx, where, reason);
		return -1;
	}
	for (size_t i = 0; i < p->map.ncols; i++) {
		const struct column *c = &p->map.col[i];
		char *s = row->buf + row->off[i];
		size_t len = row->len[i];
		int64_t *t = NULL;

		why[0] = '\0';
		switch (c->role) {
		case R_NONE:
		case R_IOC:
		case R_TYPE:
			continue;
		case R_CONFIDENCE:
			if (len > 0 && parse_confidence(s, len, &r->confidence))
				snprintf(why, sizeof(why), "not a number from 0 to 100");
			break;
		case R_TLP:
			if (len > 0) {
				r->tlp = bw_tlp_parse(s, len);
				if (r->tlp == BW_TLP_UNSET)
					snprintf(why, sizeof(why), "unknown TLP level \"%.32s\"", s);
			}
			break;
		case R_TAGS:
			add_tag_list(&p->map, r, s, len, why, sizeof(why));
			break;
		case R_TAG:
			add_tag(&p->map, r, c->kind, s, why, sizeof(why));
			break;
		case R_FIRST_SEEN: t = &r->first_seen; break;
		case R_LAST_SEEN: t = &r->last_seen; break;
		case R_VALID_FROM: t = &r->valid_from; break;
		case R_VALID_UNTIL: t = &r->valid_until; break;
		case R_SOURCE:
			if (len > BW_SOURCE_NAME_MAX)
				snprintf(why, sizeof(why), "source name longer than %d bytes",
					 BW_SOURCE_NAME_MAX);
			else if (len > 0)
				r->source = s;
			break;
		case R_EXTERNAL_ID:
			if (len > BW_EXTERNAL_ID_MAX)
				snprintf(why, sizeof(why), "id longer than %d bytes",
					 BW_EXTERNAL_ID_MAX);
			else if (len > 0)
				r->external_id = s;
			break;
		case R_RECIPIENTS:
			add_recipients(r, s, why, sizeof(why));
			break;
		case R_REVOKED:
			if (len > 0 && parse_bool(s, len, &r->revoked))
				snprintf(why, sizeof(why), "expected true or false");
			break;
		}
		if (t && len > 0 && bw_time_parse(s, len, t, &e) != BW_OK)
			snprintf(why, sizeof(why), "%.300s", e.msg);
		if (why[0]) {
			reject_row(p, i, why);
			return -1;
		}
	}
	return 0;
}

static int
handle_row(struct parser *p, struct bw_err *err)
{
	struct cells *row = &p->csv.row;
	struct bw_err e;
	char where[32], why[128];
	size_t nioc = 0, ncells = 0;
	int type_hint_v;

	if (row->total != p->map.ncols) {
		snprintf(why, sizeof(why), "expected %zu fields, got %zu", p->map.ncols,
			 row->total);
		reject(&p->csv, p->csv.line, why, p->csv.raw, p->csv.rawlen);
		return BW_OK;
	}
	if (row_fields(p, &type_hint_v))
		return BW_OK;
	/* Check every indicator cell before emitting any, so that a bad row
	 * is rejected whole. */
	for (size_t i = 0; i < p->map.ncols; i++) {
		const struct column *c = &p->map.col[i];
		int hint;

		if (c->role != R_IOC)
			continue;
		nioc++;
		if (row->len[i] == 0)
			continue;
		ncells++;
		hint = c->hint == BW_IOC_ANY ? type_hint_v : c->hint;
		if (parse_ioc(cell(row, i), row->len[i], hint, &p->scratch, &e) != BW_OK) {
			reject_row(p, i, e.msg);
			return BW_OK;
		}
	}
	if (ncells == 0) {
		for (size_t i = 0; i < p->map.ncols; i++)
			if (p->map.col[i].role == R_IOC) {
				reject_row(p, i, nioc > 1 ? "no indicator in any column"
							  : "empty value");
				break;
			}
		return BW_OK;
	}
	snprintf(where, sizeof(where), "%ld", p->csv.line);
	for (size_t i = 0; i < p->map.ncols; i++) {
		const struct column *c = &p->map.col[i];
		int rc;

		if (c->role != R_IOC || row->len[i] == 0)
			continue;
		if (ncells == 1)
			p->rec.ioc = p->scratch;
		else
			parse_ioc(cell(row, i), row->len[i],
				  c->hint == BW_IOC_ANY ? type_hint_v : c->hint,
				  &p->rec.ioc, NULL);
		rc = p->csv.sink->record(p->csv.sink->ctx, &p->rec, where, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

/* ---- the header ------------------------------------------------------- */

/* True if some cell of the row is an indicator: a data row, not names. */
static bool
has_indicator(const struct cells *c, struct bw_ioc *scratch)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->len[i] > 0 &&
		    bw_ioc_parse(cell(c, i), c->len[i], BW_IOC_ANY, scratch, NULL) == BW_OK)
			return true;
	return false;
}

/* True if some cell of the row is a column name we would map. */
static bool
has_known_name(const struct cells *c, const char *const *opts)
{
	for (size_t i = 0; i < c->n; i++) {
		if (find_name(header_names, NELEMS(header_names), cell(c, i), c->len[i]))
			return true;
		for (size_t k = 0; opts && opts[k]; k++) {
			const char *eq = strchr(opts[k], '=');
			char a[NAME_MAX_NORM], b[NAME_MAX_NORM];
			if (eq == NULL)
				continue;
			norm_name(eq + 1, strlen(eq + 1), a);
			norm_name(cell(c, i), c->len[i], b);
			if (a[0] && strcmp(a, b) == 0)
				return true;
		}
	}
	return false;
}

static void
copy_cells(struct cells *to, const struct cells *from)
{
	memcpy(to->buf, from->buf, from->used);
	to->used = from->used;
	memcpy(to->off, from->off, sizeof(to->off));
	memcpy(to->len, from->len, sizeof(to->len));
	to->n = from->n;
	to->total = from->total;
}

/* Reads the last comment before the first row as a header candidate into
 * hdr; false if it is not one line of cells. */
static bool
comment_cells(struct csv *c)
{
	struct scan s;
	const char *l = c->comment;
	size_t len = c->commentlen;

	if (!c->have_comment)
		return false;
	while (len > 0 && (isspace((unsigned char)*l) || *l == '#')) {
		l++;
		len--;
	}
	if (len == 0)
		return false;
	scan_begin(&c->hdr, &s);
	return scan_line(&c->hdr, &s, l, len) && s.error == NULL && c->hdr.n > 1;
}

/*
 * Decides what the first row is, builds the mapping, and says whether the
 * first row (in csv.row) is data to handle.  A header is, in this order:
 * the first row if it is a known export's header; the last comment if it
 * is one; the last comment if it has as many cells as the first row and
 * the first row holds indicators (abuse.ch style); nothing, if the first
 * row holds indicators and no name we know (columns are then numbered);
 * else the first row.
 */
static int
decide_header(struct parser *p, const struct bw_feed_options *o, bool *first_is_data,
	      struct bw_err *err)
{
	struct csv *c = &p->csv;
	const char *const *opts = o ? o->columns : NULL;
	struct mapping *m = &p->map;
	bool comment_ok = comment_cells(c);
	bool named = true;
	size_t nioc = 0;
	int rc;

	if (c->row.total > CSV_COLUMNS_MAX)
		return bw_err_set(err, BW_ELIMIT, "line %ld: more than %d columns",
				  c->line, CSV_COLUMNS_MAX);
	*first_is_data = true;
	if (opts == NULL && known_format(&c->row, m)) {
		copy_cells(&c->hdr, &c->row);
		*first_is_data = false;
		return BW_OK;
	}
	if (comment_ok && opts == NULL && known_format(&c->hdr, m))
		return BW_OK;
	if (comment_ok && c->hdr.total == c->row.total &&
	    has_indicator(&c->row, &p->scratch) && !has_indicator(&c->hdr, &p->scratch)) {
		/* the header is the comment */
	} else if (has_indicator(&c->row, &p->scratch) && !has_known_name(&c->row, opts)) {
		named = false;
		c->hdr.n = c->hdr.total = 0;
	} else {
		copy_cells(&c->hdr, &c->row);
		*first_is_data = false;
	}
	if (opts) {
		rc = column_map(&c->hdr, named, named ? c->hdr.n : c->row.n, opts, m, err);
		if (rc)
			return rc;
	} else if (named) {
		auto_map(&c->hdr, m);
	} else {
		mapping_init(m, c->row.n);
		m->named = false;
	}
	for (size_t i = 0; i < m->ncols; i++)
		if (m->col[i].role == R_IOC)
			nioc++;
	if (nioc == 0)
		return bw_err_set(err, BW_EFORMAT,
				  named ? "no column holds indicators (use --column TYPE=NAME)"
					: "no header row and no column holds indicators "
					  "(use --column TYPE=NUMBER)");
	return BW_OK;
}

int
bw_feed_parse_csv(struct bw_reader *in, const struct bw_feed_options *o,
		  const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct parser *p;
	const char *head;
	size_t n;
	bool first_is_data = false;
	int rc;

	rc = bw_reader_peek(in, &head, &n, err);
	if (rc)
		return rc;
	if (memchr(head, '\0', n))
		return bw_err_set(err, BW_EFORMAT, "binary data (NUL bytes), not CSV");
	p = bw_calloc(1, sizeof(*p));
	if (p == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	p->csv.in = in;
	p->csv.sink = sink;
	p->csv.row.buf = bw_malloc(CELLS_CAP);
	p->csv.hdr.buf = bw_malloc(CELLS_CAP);
	p->csv.raw = bw_malloc(BW_READER_LINE_MAX + 1);
	p->csv.comment = bw_malloc(BW_READER_LINE_MAX + 1);
	if (p->csv.row.buf == NULL || p->csv.hdr.buf == NULL ||
	    p->csv.raw == NULL || p->csv.comment == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}

	rc = next_record(&p->csv, err);
	if (rc <= 0) {
		/* no rows at all: an empty feed */
		rc = -rc;
		goto out;
	}
	rc = decide_header(p, o, &first_is_data, err);
	if (rc)
		goto out;
	if (first_is_data) {
		rc = handle_row(p, err);
		if (rc)
			goto out;
	}
	while ((rc = next_record(&p->csv, err)) > 0) {
		rc = handle_row(p, err);
		if (rc)
			goto out;
	}
	rc = -rc;
out:
	if (p) {
		bw_free(p->csv.row.buf);
		bw_free(p->csv.hdr.buf);
		bw_free(p->csv.raw);
		bw_free(p->csv.comment);
		bw_free(p);
	}
	return rc;
}
