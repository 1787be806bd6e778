/*
 * feedtest.h - a sink for parser tests that keeps what a parser emitted:
 * records (type, value, a few fields), rejects and unsupported entries.
 */
#ifndef BW_TESTS_FEEDTEST_H
#define BW_TESTS_FEEDTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tlp.h"
#include "feed/feed.h"
#include "feed/reader.h"

#define FT_MAX 4096

struct ft_record {
	enum bw_ioc_type type;
	char value[BW_IOC_VALUE_MAX + 1];
	char source[BW_SOURCE_NAME_MAX + 1];
	char external_id[BW_EXTERNAL_ID_MAX + 1];
	char where[64];
	int confidence, tlp;
	char tags[1024]; /* "kind:name|kind:name" */
};

struct ft {
	struct ft_record rec[FT_MAX];
	int nrec, nrej, nuns;
	char rej_where[FT_MAX][64];
	char rej_reason[FT_MAX][256];
	char uns_reason[FT_MAX][256];
};

static int
ft_record(void *ctx, const struct bw_feed_record *r, const char *where,
	  struct bw_err *err)
{
	struct ft *t = ctx;
	struct ft_record *o;
	size_t used = 0;

	(void)err;
	if (t->nrec >= FT_MAX)
		return 0;
	o = &t->rec[t->nrec++];
	o->type = r->ioc.type;
	snprintf(o->value, sizeof(o->value), "%s", r->ioc.value);
	snprintf(o->source, sizeof(o->source), "%s", r->source ? r->source : "");
	snprintf(o->external_id, sizeof(o->external_id), "%s",
		 r->external_id ? r->external_id : "");
	snprintf(o->where, sizeof(o->where), "%s", where);
	o->confidence = r->confidence;
	o->tlp = r->tlp;
	o->tags[0] = '\0';
	for (size_t i = 0; i < r->ntags; i++) {
		int w = snprintf(o->tags + used, sizeof(o->tags) - used, "%s%s:%s",
				 i ? "|" : "", r->tags[i].kind, r->tags[i].name);
		if (w < 0 || (size_t)w >= sizeof(o->tags) - used)
			break;
		used += (size_t)w;
	}
	return 0;
}

static void
ft_reject(void *ctx, const char *where, const char *reason, const char *raw,
	  size_t rawlen)
{
	struct ft *t = ctx;

	(void)raw;
	(void)rawlen;
	if (t->nrej < FT_MAX) {
		snprintf(t->rej_where[t->nrej], sizeof(t->rej_where[0]), "%s", where);
		snprintf(t->rej_reason[t->nrej], sizeof(t->rej_reason[0]), "%s", reason);
	}
	t->nrej++;
}

static void
ft_unsupported(void *ctx, const char *where, const char *reason)
{
	struct ft *t = ctx;

	(void)where;
	if (t->nuns < FT_MAX)
		snprintf(t->uns_reason[t->nuns], sizeof(t->uns_reason[0]), "%s", reason);
	t->nuns++;
}

/* Runs parser over a file of tests/data (rel path) or over a buffer; returns
 * the parser's code.  *t is reset first. */
static int
ft_run_reader(struct ft *t, bw_feed_parser_fn parse, struct bw_reader *r,
	      const struct bw_feed_options *o, struct bw_err *err)
{
	struct bw_feed_sink sink = {ft_record, ft_reject, ft_unsupported, t};
	struct bw_feed_options none = {NULL};
	int rc;

	t->nrec = t->nrej = t->nuns = 0;
	rc = parse(r, o ? o : &none, &sink, err);
	bw_reader_free(r);
	return rc;
}

static inline const char *
ft_data_path(const char *rel, char *buf, size_t n)
{
	const char *dir = getenv("BW_TEST_DATA");
	snprintf(buf, n, "%s/%s", dir ? dir : "tests/data", rel);
	return buf;
}

static inline int
ft_run_file(struct ft *t, bw_feed_parser_fn parse, const char *rel,
	    const struct bw_feed_options *o, struct bw_err *err)
{
	char path[4096];
	struct bw_reader *r;
	int rc = bw_reader_open(ft_data_path(rel, path, sizeof(path)), &r, err);

	if (rc)
		return rc;
	return ft_run_reader(t, parse, r, o, err);
}

static inline int
ft_run_mem(struct ft *t, bw_feed_parser_fn parse, const char *text, size_t len,
	   const struct bw_feed_options *o, struct bw_err *err)
{
	struct bw_reader *r;
	int rc = bw_reader_open_mem(text, len, "mem", &r, err);

	if (rc)
		return rc;
	return ft_run_reader(t, parse, r, o, err);
}

/* Index of the first record with this value, or -1. */
static inline int
ft_find(const struct ft *t, const char *value)
{
	for (int i = 0; i < t->nrec; i++)
		if (strcmp(t->rec[i].value, value) == 0)
			return i;
	return -1;
}

/* Detects the format of a tests/data file. */
static inline enum bw_feed_format
ft_detect_file(const char *rel)
{
	char path[4096];
	struct bw_reader *r;
	const char *h;
	size_t n;
	enum bw_feed_format f = BW_FEED_AUTO;

	if (bw_reader_open(ft_data_path(rel, path, sizeof(path)), &r, NULL))
		return f;
	if (bw_reader_peek(r, &h, &n, NULL) == 0)
		f = bw_feed_detect(h, n);
	bw_reader_free(r);
	return f;
}

#endif
