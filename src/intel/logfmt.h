/*
 * logfmt.h - telemetry log lines into (time, observer, value) records.
 *
 * One parser per log format turns one line into one record: the time of
 * the event, the observer (the client address that asked or connected) and
 * the value to match (a DNS query name, a URL, a host or an address, as
 * the log wrote it), with a hint of what kind of value it is.  Formats:
 *
 *   bind     BIND 9 query log: "[TIME] [CATEGORY: SEVERITY: ]client
 *            [@0x...] ADDR#PORT (NAME): [view V: ]query: NAME CLASS TYPE
 *            FLAGS (SERVER)"; TIME is "29-Nov-2026 11:02:03.123" (read as
 *            UTC: BIND writes local time, run it with TZ=UTC or print-time
 *            iso8601-utc) or an ISO 8601 time; a syslog prefix is allowed
 *            (time 0 then: syslog writes no year)
 *   unbound  Unbound log-queries (and log-replies): "[EPOCH] unbound[P:T]
 *            info: ADDR NAME. TYPE CLASS ..."; also with an ISO 8601 time,
 *            a syslog prefix, no prefix, and the "query:"/"reply:" tags of
 *            log-tag-queryreply
 *   zeek     Zeek dns.log, TSV with its "#separator", "#fields" (the query,
 *            ts and id.orig_h columns), "#unset_field" and "#empty_field"
 *            header lines (before a #fields line the default dns.log
 *            columns are assumed), or JSON lines (keys "query", "ts" as a
 *            number or an ISO 8601 string, "id.orig_h"); both in one file
 *            are fine
 *   squid    Squid native access.log: "EPOCH.MS ELAPSED CLIENT CODE/STATUS
 *            BYTES METHOD URL ..."; a CONNECT's "host:port" gives the host
 *   csv      comma-, semicolon- or tab-separated with a header row naming
 *            the columns (see bw_logfmt_set_columns() for the names
 *            recognised); quoting as in RFC 4180
 *   plain    one name, URL or address per line ('#' comments)
 *
 * Every line is answered with BW_LOGLINE_RECORD (rec filled), _SKIP (a
 * line of the format that carries nothing to match: a header, a comment,
 * a start-up message, a Zeek row whose query is unset) or _BAD (not a line
 * of the format, or a broken one; *why says what is wrong).  A bad line
 * never stops the parser.  Parsing never allocates: the pointers in a
 * record point into the line or into the parser's own buffers (for values
 * that had to be unescaped), valid until the next call on the parser.
 *
 * A parser is used by one thread at a time; it keeps per-input state (the
 * Zeek and CSV headers), so call bw_logfmt_parser_reset() between inputs.
 */
#ifndef BW_INTEL_LOGFMT_H
#define BW_INTEL_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "index/index.h"

enum bw_logfmt {
	BW_LOGFMT_AUTO = 0, /* not known yet: detect it */
	BW_LOGFMT_BIND,
	BW_LOGFMT_UNBOUND,
	BW_LOGFMT_ZEEK,
	BW_LOGFMT_SQUID,
	BW_LOGFMT_CSV,
	BW_LOGFMT_PLAIN,
	BW_LOGFMT_NFORMATS
};

/* "bind", "unbound", ...; "auto" for BW_LOGFMT_AUTO. */
const char *bw_logfmt_name(enum bw_logfmt f);
/* The format of a name; *ok is 0 (and AUTO returned) for an unknown name. */
enum bw_logfmt bw_logfmt_from_name(const char *name, int *ok);

/* What kind of value a record holds, as the format says it. */
enum bw_logval {
	BW_LOGVAL_NAME = 1, /* a DNS name (any case, maybe a trailing dot) */
	BW_LOGVAL_URL,      /* a URL */
	BW_LOGVAL_ADDR,     /* an IPv4 or IPv6 address */
};

/* Limits: a longer value or observer makes the line bad. */
#define BW_LOGFMT_VALUE_MAX 4096
#define BW_LOGFMT_OBSERVER_MAX 255
#define BW_LOGFMT_COLUMN_MAX 64   /* a CSV column name */
#define BW_LOGFMT_FIELDS_MAX 1024 /* CSV and Zeek columns */

struct bw_logrec {
	int64_t time;            /* seconds UTC, 0 if the line has none */
	const char *observer;    /* "" (length 0) if the line names none */
	size_t observer_len;
	const char *value;       /* never empty */
	size_t value_len;
	enum bw_logval kind;
	struct bw_index_addr addr; /* kind BW_LOGVAL_ADDR: the value, parsed */
};

enum bw_logline {
	BW_LOGLINE_RECORD,
	BW_LOGLINE_SKIP,
	BW_LOGLINE_BAD,
};

struct bw_logfmt_parser;

/* A parser for format f (BW_LOGFMT_AUTO: set it with
 * bw_logfmt_parser_detect() before parsing). */
int bw_logfmt_parser_new(enum bw_logfmt f, struct bw_logfmt_parser **out,
			 struct bw_err *err);
void bw_logfmt_parser_free(struct bw_logfmt_parser *p);

/* The format the parser reads (AUTO until detected). */
enum bw_logfmt bw_logfmt_parser_format(const struct bw_logfmt_parser *p);

/* Forgets what the previous input's header said, and, for a parser made
 * with BW_LOGFMT_AUTO, the detected format. */
void bw_logfmt_parser_reset(struct bw_logfmt_parser *p);

/*
 * CSV column names (case-insensitive; NULL keeps the default).  By default
 * the first column named, in this order of preference,
 *   time:   time, timestamp, ts, datetime, date, @timestamp
 *   client: client, client_ip, clientip, observer, src, src_ip, source_ip,
 *           id.orig_h, c-ip
 *   value:  value, indicator, query, qname, domain, hostname, host, url,
 *           name, address, dst, dst_ip
 * is used; only the value column is required.  Returns BW_EINVAL for a
 * name longer than BW_LOGFMT_COLUMN_MAX.
 */
int bw_logfmt_set_columns(struct bw_logfmt_parser *p, const char *time,
			  const char *client, const char *value,
			  struct bw_err *err);

/*
 * Guesses the format of an input from its head (n bytes; at_end says the
 * head is the whole input, otherwise a last line without a newline is
 * ignored): each format parses the first 100 lines, the one with the most
 * records wins (ties: bind, unbound, zeek, squid, csv in this order), plain
 * only if none of the others read a record.  Sets and returns the format
 * of a parser made with BW_LOGFMT_AUTO (reset first), or returns AUTO if
 * nothing fits.  For a parser of a fixed format it only returns that.
 */
enum bw_logfmt bw_logfmt_parser_detect(struct bw_logfmt_parser *p,
				       const char *head, size_t n, bool at_end);

/* Parses one line (len bytes, without its line ending; no NUL needed). */
enum bw_logline bw_logfmt_parse(struct bw_logfmt_parser *p, const char *line,
				size_t len, struct bw_logrec *rec,
				const char **why);

#endif
