/*
 * feed.c - format names, format detection and record helpers shared by the
 * parsers.
 *
 * Detection looks only at the head of the input (bw_reader_peek) and decides
 * by structure, not by file name: JSON documents by their keys, text by the
 * shape of the first data lines.  It is a guess that --format overrides; a
 * wrong guess is caught by the parser, which refuses an input that is not of
 * its format.
 */
#include "feed/feed.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/tlp.h"

static const char *const format_names[BW_FEED_NFORMATS] = {
	[BW_FEED_AUTO] = "auto",   [BW_FEED_STIX] = "stix",
	[BW_FEED_MISP] = "misp",   [BW_FEED_CSV] = "csv",
	[BW_FEED_PLAIN] = "plain", [BW_FEED_HOSTS] = "hosts",
	[BW_FEED_DROP] = "drop",
};

const char *
bw_feed_format_name(enum bw_feed_format f)
{
	if ((int)f < 0 || f >= BW_FEED_NFORMATS)
		return "unknown";
	return format_names[f];
}

enum bw_feed_format
bw_feed_format_from_name(const char *name, int *ok)
{
	for (int f = 0; f < BW_FEED_NFORMATS; f++)
		if (strcmp(name, format_names[f]) == 0) {
			*ok = 1;
			return (enum bw_feed_format)f;
		}
	*ok = 0;
	return BW_FEED_AUTO;
}

bw_feed_parser_fn
bw_feed_parser(enum bw_feed_format f)
{
	switch (f) {
	case BW_FEED_STIX: return bw_feed_parse_stix;
	case BW_FEED_MISP: return bw_feed_parse_misp;
	case BW_FEED_CSV: return bw_feed_parse_csv;
	case BW_FEED_PLAIN: return bw_feed_parse_plain;
	case BW_FEED_HOSTS: return bw_feed_parse_hosts;
	case BW_FEED_DROP: return bw_feed_parse_drop;
	case BW_FEED_AUTO:
	case BW_FEED_NFORMATS: break;
	}
	return NULL;
}

void
bw_feed_record_init(struct bw_feed_record *r)
{
	r->ioc.type = BW_IOC_ANY;
	r->ioc.len = 0;
	r->ioc.notes = 0;
	r->ioc.value[0] = '\0';
	r->source = NULL;
	r->external_id = NULL;
	r->confidence = -1;
	r->tlp = BW_TLP_UNSET;
	r->revoked = 0;
	r->first_seen = r->last_seen = r->valid_from = r->valid_until = 0;
	r->ntags = 0;
	r->nrecipients = 0;
	r->resolves = NULL;
}

void
bw_feed_record_add_tag(struct bw_feed_record *r, const char *kind,
		       const char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > BW_TAG_NAME_MAX)
		return;
	for (size_t i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i].kind, kind) == 0 &&
		    strcmp(r->tags[i].name, name) == 0)
			return;
	if (r->ntags >= BW_RECORD_TAGS_MAX)
		return;
	r->tags[r->ntags].kind = kind;
	r->tags[r->ntags].name = name;
	r->ntags++;
}

/* ---- detection -------------------------------------------------------- */

static bool
contains(const char *h, size_t n, const char *needle)
{
	if (h == NULL || n == 0)
		return false;
	return memmem(h, n, needle, strlen(needle)) != NULL;
}

/* True if the JSON text h contains "key" followed by optional space and a
 * colon. */
static bool
has_json_key(const char *h, size_t n, const char *key)
{
	size_t kl = strlen(key);
	const char *p = h, *end = h + n;

	while ((p = memmem(p, (size_t)(end - p), key, kl)) != NULL) {
		const char *q = p + kl;
		if (p > h && p[-1] == '"' && q < end && *q == '"') {
			q++;
			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q < end && *q == ':')
				return true;
		}
		p += kl;
	}
	return false;
}

static enum bw_feed_format
detect_json(const char *h, size_t n)
{
	if (has_json_key(h, n, "cidr") && has_json_key(h, n, "sblid"))
		return BW_FEED_DROP;
	if (has_json_key(h, n, "asn") && has_json_key(h, n, "rir"))
		return BW_FEED_DROP;
	if (has_json_key(h, n, "Event") || has_json_key(h, n, "Attribute") ||
	    (has_json_key(h, n, "response") && !has_json_key(h, n, "spec_version")))
		return BW_FEED_MISP;
	if (has_json_key(h, n, "spec_version") || has_json_key(h, n, "objects") ||
	    contains(h, n, "\"bundle\""))
		return BW_FEED_STIX;
	if (has_json_key(h, n, "uuid") && has_json_key(h, n, "info"))
		return BW_FEED_MISP;
	return BW_FEED_STIX;
}

static bool
is_header_field_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == ' ' || c == '"' ||
	       c == '.' || c == '|' || c == '(' || c == ')' || c == '/';
}

/* A CSV header: at least one comma and only name-like fields. */
static bool
looks_csv_header(const char *l, size_t n)
{
	int commas = 0;

	for (size_t i = 0; i < n; i++) {
		if (l[i] == ',') {
			commas++;
			continue;
		}
		if (!is_header_field_char((unsigned char)l[i]))
			return false;
	}
	return commas >= 1;
}

static bool
looks_hosts_line(const char *l, size_t n)
{
	static const char *const addrs[] = {"0.0.0.0", "127.0.0.1", "::1", "::",
					    "0:0:0:0:0:0:0:0", "127.0.1.1"};

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		size_t al = strlen(addrs[i]);
		if (n > al + 1 && memcmp(l, addrs[i], al) == 0 &&
		    (l[al] == ' ' || l[al] == '\t'))
			return true;
	}
	return false;
}

static bool
looks_drop_line(const char *l, size_t n)
{
	const char *semi = memchr(l, ';', n);

	return semi != NULL && memchr(l, '/', (size_t)(semi - l)) != NULL &&
	       contains(semi, n - (size_t)(semi - l), "SBL");
}

enum bw_feed_format
bw_feed_detect(const char *head, size_t n)
{
	size_t i = 0;
	int data_lines = 0, hosts = 0, drop = 0;
	bool abusech = false, first_data = true, csv_header = false;
	bool first_quoted = false;

	if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && isspace((unsigned char)head[i]))
		i++;
	if (i < n && (head[i] == '{' || head[i] == '['))
		return detect_json(head + i, n - i);

	while (i < n && data_lines < 20) {
		const char *l = head + i;
		const char *nl = memchr(l, '\n', n - i);
		size_t len = nl ? (size_t)(nl - l) : n - i;

		i += len + 1;
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		if (l[0] == '#' || l[0] == ';') {
			if (contains(l, len, "abuse.ch") || contains(l, len, "first_seen_utc"))
				abusech = true;
			if (l[0] == ';' && contains(l, len, "Spamhaus"))
				drop += 5;
			continue;
		}
		if (first_data) {
			first_data = false;
			if (looks_csv_header(l, len))
				csv_header = true;
			first_quoted = l[0] == '"' && memchr(l, ',', len) != NULL;
		}
		data_lines++;
		if (looks_hosts_line(l, len))
			hosts++;
		if (looks_drop_line(l, len))
			drop++;
	}
	/* abuse.ch's own CSVs carry a '#' banner naming abuse.ch and quote
	 * every field; its plain lists (and lists built from them) mention
	 * abuse.ch too, and a URL in them may hold a comma, so the banner
	 * counts only with a quoted, comma-separated first data line. */
	if ((abusech && first_quoted) || csv_header)
		return BW_FEED_CSV;
	if (drop > 0 && drop >= data_lines / 2)
		return BW_FEED_DROP;
	if (hosts > 0 && hosts >= data_lines / 2)
		return BW_FEED_HOSTS;
	return BW_FEED_PLAIN;
}
