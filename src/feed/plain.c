/*
 * plain.c - the line formats: plain lists, hosts files and Spamhaus DROP.
 *
 *   plain  one indicator per line; '#' or ';' starts a comment (at the start
 *          of a line, or after white space)
 *   hosts  "ADDRESS NAME [NAME...]" as in /etc/hosts; the names are the
 *          indicators, the (sinkhole) address is not; the entries every hosts
 *          file carries for the machine itself (localhost, ...) are skipped
 *   drop   Spamhaus DROP/EDROP/DROPv6 "CIDR ; SBLnnn" with ';' comments, and
 *          the JSON-lines edition ({"cidr":..., "sblid":..., "rir":...});
 *          ASN-DROP lines are counted as unsupported (an AS is not an
 *          indicator bulwark models)
 *
 * Before anything is emitted, the head of the input is checked: a file with
 * NUL bytes, or whose first data lines contain no indicator at all, is not a
 * list of this format and is refused whole.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "feed/feed.h"
#include "feed/reader.h"

#define PRESCAN_LINES 100

typedef int (*line_fn)(void *state, const char *line, size_t len,
		       const char *where, const struct bw_feed_sink *sink,
		       struct bw_err *err);
/* True if a data line of the format holds at least one indicator. */
typedef bool (*probe_fn)(const char *line, size_t len);

static bool
is_comment(const char *l, size_t len)
{
	return len > 0 && (l[0] == '#' || l[0] == ';' || l[0] == '!');
}

static void
trim(const char **l, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**l)) {
		(*l)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*l)[*len - 1]))
		(*len)--;
}

/* Cuts an inline comment: '#' or ';' after white space. */
static void
cut_comment(const char *l, size_t *len)
{
	for (size_t i = 1; i < *len; i++)
		if ((l[i] == '#' || l[i] == ';') && isspace((unsigned char)l[i - 1])) {
			*len = i;
			break;
		}
	while (*len > 0 && isspace((unsigned char)l[*len - 1]))
		(*len)--;
}

static int
prescan(struct bw_reader *in, const char *what, probe_fn probe,
	struct bw_err *err)
{
	const char *h;
	size_t n, i = 0;
	int data = 0, good = 0;
	int rc = bw_reader_peek(in, &h, &n, err);

	if (rc)
		return rc;
	if (memchr(h, '\0', n))
		return bw_err_set(err, BW_EFORMAT,
				  "binary data (NUL bytes), not a %s list", what);
	while (i < n && data < PRESCAN_LINES) {
		const char *l = h + i;
		const char *nl = memchr(l, '\n', n - i);
		size_t len;

		if (nl == NULL && n == BW_READER_PEEK_MAX)
			break; /* an incomplete last line proves nothing */
		len = nl ? (size_t)(nl - l) : n - i;
		i += len + 1;
		trim(&l, &len);
		if (len == 0 || is_comment(l, len))
			continue;
		data++;
		if (probe(l, len))
			good++;
	}
	if (data > 0 && good == 0)
		return bw_err_set(err, BW_EFORMAT,
				  "none of the first %d data lines is a %s entry",
				  data, what);
	return BW_OK;
}

static int
for_each_line(struct bw_reader *in, void *state, line_fn fn,
	      const struct bw_feed_sink *sink, struct bw_err *err)
{
	const char *line;
	size_t len;
	long lineno;
	int too_long, rc;
	char where[32];

	for (;;) {
		rc = bw_reader_line(in, &line, &len, &lineno, &too_long, err);
		if (rc == 0)
			return BW_OK;
		if (rc < 0)
			return -rc;
		snprintf(where, sizeof(where), "%ld", lineno);
		if (too_long) {
			char reason[64];
			snprintf(reason, sizeof(reason), "line longer than %d bytes",
				 BW_READER_LINE_MAX);
			sink->reject(sink->ctx, where, reason, NULL, 0);
			continue;
		}
		trim(&line, &len);
		if (len == 0 || is_comment(line, len))
			continue;
		rc = fn(state, line, len, where, sink, err);
		if (rc)
			return rc;
	}
}

/* ---- plain ------------------------------------------------------------ */

struct line_state {
	struct bw_feed_record rec;
};

static bool
probe_plain(const char *l, size_t len)
{
	struct bw_ioc ioc;

	cut_comment(l, &len);
	return bw_ioc_parse(l, len, BW_IOC_ANY, &ioc, NULL) == BW_OK;
}

static int
plain_line(void *state, const char *l, size_t len, const char *where,
	   const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct line_state *st = state;
	struct bw_err perr;
	size_t full = len;

	cut_comment(l, &len);
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)l[i])) {
			sink->reject(sink->ctx, where,
				     "more than one value on the line", l, full);
			return BW_OK;
		}
	bw_feed_record_init(&st->rec);
	if (bw_ioc_parse(l, len, BW_IOC_ANY, &st->rec.ioc, &perr) != BW_OK) {
		sink->reject(sink->ctx, where, perr.msg, l, full);
		return BW_OK;
	}
	return sink->record(sink->ctx, &st->rec, where, err);
}

int
bw_feed_parse_plain(struct bw_reader *in, const struct bw_feed_options *o,
		    const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct line_state *st;
	int rc;

	(void)o;
	rc = prescan(in, "plain indicator", probe_plain, err);
	if (rc)
		return rc;
	st = bw_malloc(sizeof(*st));
	if (st == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = for_each_line(in, st, plain_line, sink, err);
	bw_free(st);
	return rc;
}

/* ---- hosts ------------------------------------------------------------ */

static bool
is_local_name(const char *n, size_t len)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost",
		"ip6-localhost", "ip6-loopback", "ip6-localnet", "ip6-mcastprefix",
		"ip6-allnodes", "ip6-allrouters", "ip6-allhosts", "0.0.0.0",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(n, names[i], len) == 0)
			return true;
	return false;
}

static size_t
token(const char *l, size_t len, size_t *pos, const char **tok)
{
	size_t i = *pos, start;

	while (i < len && isspace((unsigned char)l[i]))
		i++;
	start = i;
	while (i < len && !isspace((unsigned char)l[i]))
		i++;
	*tok = l + start;
	*pos = i;
	return i - start;
}

static bool
probe_hosts(const char *l, size_t len)
{
	const char *tok;
	size_t pos = 0, n;
	struct bw_ioc ioc;

	cut_comment(l, &len);
	n = token(l, len, &pos, &tok);
	if (bw_ioc_parse(tok, n, BW_IOC_CIDR, &ioc, NULL) != BW_OK ||
	    ioc.type == BW_IOC_CIDR)
		return false;
	n = token(l, len, &pos, &tok);
	return n > 0;
}

static int
hosts_line(void *state, const char *l, size_t len, const char *where,
	   const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct line_state *st = state;
	struct bw_err perr;
	const char *tok;
	size_t pos = 0, n, full = len;
	int rc;

	cut_comment(l, &len);
	n = token(l, len, &pos, &tok);
	bw_feed_record_init(&st->rec);
	if (bw_ioc_parse(tok, n, BW_IOC_CIDR, &st->rec.ioc, &perr) != BW_OK ||
	    st->rec.ioc.type == BW_IOC_CIDR) {
		sink->reject(sink->ctx, where,
			     "expected an address and then host names", l, full);
		return BW_OK;
	}
	if (pos >= len) {
		sink->reject(sink->ctx, where, "address without a host name", l, full);
		return BW_OK;
	}
	while ((n = token(l, len, &pos, &tok)) > 0) {
		if (is_local_name(tok, n))
			continue;
		bw_feed_record_init(&st->rec);
		if (bw_ioc_parse(tok, n, BW_IOC_ANY, &st->rec.ioc, &perr) != BW_OK) {
			sink->reject(sink->ctx, where, perr.msg, l, full);
			continue;
		}
		if (st->rec.ioc.type != BW_IOC_DOMAIN &&
		    st->rec.ioc.type != BW_IOC_IPV4 && st->rec.ioc.type != BW_IOC_IPV6) {
			sink->reject(sink->ctx, where,
				     "a hosts file entry must be a host name", l, full);
			continue;
		}
		rc = sink->record(sink->ctx, &st->rec, where, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

int
bw_feed_parse_hosts(struct bw_reader *in, const struct bw_feed_options *o,
		    const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct line_state *st;
	int rc;

	(void)o;
	rc = prescan(in, "hosts file", probe_hosts, err);
	if (rc)
		return rc;
	st = bw_malloc(sizeof(*st));
	if (st == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = for_each_line(in, st, hosts_line, sink, err);
	bw_free(st);
	return rc;
}

/* ---- Spamhaus DROP ---------------------------------------------------- */

/* DROP, EDROP and DROPv6 are lists of one provider: one source. */
#define DROP_SOURCE "spamhaus"

struct drop_state {
	struct bw_feed_record rec;
	char sbl[BW_EXTERNAL_ID_MAX + 1];
};

static bool
probe_drop(const char *l, size_t len)
{
	const char *semi;
	size_t vlen;
	struct bw_ioc ioc;

	if (l[0] == '{')
		return memmem(l, len, "\"cidr\"", 6) != NULL ||
		       memmem(l, len, "\"asn\"", 5) != NULL;
	semi = memchr(l, ';', len);
	vlen = semi ? (size_t)(semi - l) : len;
	return bw_ioc_parse(l, vlen, BW_IOC_CIDR, &ioc, NULL) == BW_OK;
}

static int
drop_json_line(struct drop_state *st, const char *l, size_t len,
	       const char *where, const struct bw_feed_sink *sink,
	       struct bw_err *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(l, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *cidr, *sbl, *asn, *type;
	struct bw_err perr;
	int rc = BW_OK;

	if (j == NULL || !json_is_object(j)) {
		char reason[256];
		snprintf(reason, sizeof(reason), "not a JSON object: %s",
			 j ? "wrong type" : jerr.text);
		sink->reject(sink->ctx, where, reason, l, len);
		json_decref(j);
		return BW_OK;
	}
	cidr = json_object_get(j, "cidr");
	sbl = json_object_get(j, "sblid");
	asn = json_object_get(j, "asn");
	type = json_object_get(j, "type");
	if (json_is_string(type) && strcmp(json_string_value(type), "metadata") == 0)
		goto out;
	if (json_is_integer(asn)) {
		char reason[96];
		snprintf(reason, sizeof(reason),
			 "ASN-DROP entry AS%lld: an autonomous system is not an indicator",
			 (long long)json_integer_value(asn));
		sink->unsupported(sink->ctx, where, reason);
		goto out;
	}
	if (!json_is_string(cidr)) {
		sink->reject(sink->ctx, where, "no \"cidr\" string in the entry", l, len);
		goto out;
	}
	bw_feed_record_init(&st->rec);
	st->rec.source = DROP_SOURCE;
	if (bw_ioc_parse(json_string_value(cidr), json_string_length(cidr),
			 BW_IOC_CIDR, &st->rec.ioc, &perr) != BW_OK) {
		sink->reject(sink->ctx, where, perr.msg, l, len);
		goto out;
	}
	if (json_is_string(sbl) && json_string_length(sbl) <= BW_EXTERNAL_ID_MAX) {
		snprintf(st->sbl, sizeof(st->sbl), "%s", json_string_value(sbl));
		st->rec.external_id = st->sbl;
	}
	rc = sink->record(sink->ctx, &st->rec, where, err);
out:
	json_decref(j);
	return rc;
}

static int
drop_line(void *state, const char *l, size_t len, const char *where,
	  const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct drop_state *st = state;
	const char *semi, *id;
	size_t vlen, idlen;
	struct bw_err perr;

	if (l[0] == '{')
		return drop_json_line(st, l, len, where, sink, err);
	semi = memchr(l, ';', len);
	vlen = semi ? (size_t)(semi - l) : len;
	bw_feed_record_init(&st->rec);
	st->rec.source = DROP_SOURCE;
	if (bw_ioc_parse(l, vlen, BW_IOC_CIDR, &st->rec.ioc, &perr) != BW_OK) {
		sink->reject(sink->ctx, where, perr.msg, l, len);
		return BW_OK;
	}
	if (semi) {
		id = semi + 1;
		idlen = len - vlen - 1;
		trim(&id, &idlen);
		if (idlen > 0 && idlen <= BW_EXTERNAL_ID_MAX) {
			memcpy(st->sbl, id, idlen);
			st->sbl[idlen] = '\0';
			st->rec.external_id = st->sbl;
		}
	}
	return sink->record(sink->ctx, &st->rec, where, err);
}

int
bw_feed_parse_drop(struct bw_reader *in, const struct bw_feed_options *o,
		   const struct bw_feed_sink *sink, struct bw_err *err)
{
	struct drop_state *st;
	int rc;

	(void)o;
	rc = prescan(in, "Spamhaus DROP", probe_drop, err);
	if (rc)
		return rc;
	st = bw_malloc(sizeof(*st));
	if (st == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = for_each_line(in, st, drop_line, sink, err);
	bw_free(st);
	return rc;
}
