/*
 * cmd_match.c - bulwark match: telemetry logs against the active
 * indicators, one JSON line per sighting; --record keeps them in the store.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "index/index.h"
#include "intel/match.h"
#include "store/store.h"

#define BAD_SHOWN 10
/* Keys the aggregator holds before it writes to the store (about 24 MB). */
#define RECORD_KEYS (1u << 18)

static const char usage_text[] =
	"usage: bulwark match [--format auto|bind|unbound|zeek|squid|csv|plain]\n"
	"                     [--column time|client|value=NAME]... [--record]\n"
	"                     [--db PATH] FILE...|-\n";

struct run {
	FILE *out;
	struct bw_sightings *agg; /* --record */
	struct bw_store *st;
	int64_t now;
	const char *bad_file;
	long bad_shown;
	long recorded;
};

/* The length of a valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return k;
}

/* A JSON string: UTF-8 passes through, control characters are escaped,
 * bytes that are not UTF-8 become U+FFFD. */
static void
put_str(FILE *f, const char *text, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, start = 0;

	putc('"', f);
	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_len(s + i, n - i)) > 0) {
			i += k;
			continue;
		}
		fwrite(s + start, 1, i - start, f);
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
		} else if (c < 0x20) {
			fputs("\\u00", f);
			putc(hex[c >> 4], f);
			putc(hex[c & 15], f);
		} else {
			fputs("\\ufffd", f);
		}
		start = ++i;
	}
	fwrite(s + start, 1, n - start, f);
	putc('"', f);
}

static void
put_sighting(FILE *f, const struct bw_match_sighting *s)
{
	const struct bw_index_match *m = s->indicator;

	fputs("{\"time\":", f);
	if (s->time)
		fprintf(f, "%lld", (long long)s->time);
	else
		fputs("null", f);
	fputs(",\"observer\":", f);
	if (s->observer_len)
		put_str(f, s->observer, s->observer_len);
	else
		fputs("null", f);
	fputs(",\"value\":", f);
	put_str(f, s->value, s->value_len);
	fputs(",\"indicator\":", f);
	put_str(f, m->value, m->len);
	fprintf(f, ",\"type\":\"%s\",\"tags\":[", bw_ioc_type_name(m->type));
	for (size_t i = 0; i < m->ntags; i++) {
		const struct bw_tag *t = &m->tags[i];
		char buf[BW_TAG_NAME_MAX + 64];
		int w;
		if (strcmp(t->kind, BW_TAG_KIND_LABEL) == 0)
			w = snprintf(buf, sizeof(buf), "%s", t->name);
		else
			w = snprintf(buf, sizeof(buf), "%s:%s", t->kind, t->name);
		if (w < 0)
			continue;
		if ((size_t)w >= sizeof(buf))
			w = (int)sizeof(buf) - 1;
		if (i)
			putc(',', f);
		put_str(f, buf, (size_t)w);
	}
	fputs("],\"confidence\":", f);
	if (m->confidence >= 0)
		fprintf(f, "%d", m->confidence);
	else
		fputs("null", f);
	fprintf(f, ",\"line\":%ld,\"file\":", s->line);
	put_str(f, s->file, strlen(s->file));
	fputs("}\n", f);
}

static int
on_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	struct run *run = ctx;
	int64_t t = s->time ? s->time : run->now;
	int rc;

	put_sighting(run->out, s);
	if (run->agg == NULL || s->indicator->store_id <= 0)
		return BW_OK;
	rc = bw_sightings_add(run->agg, s->indicator->store_id, s->observer,
			      s->observer_len, t, err);
	if (rc == BW_ELIMIT) {
		run->recorded += bw_sightings_total(run->agg);
		rc = bw_sightings_flush(run->agg, run->st, err);
		if (rc == BW_OK)
			rc = bw_sightings_add(run->agg, s->indicator->store_id,
					      s->observer, s->observer_len, t, err);
	}
	return rc;
}

static void
on_bad(void *ctx, const char *file, long line, const char *why)
{
	struct run *run = ctx;

	if (run->bad_file != file) {
		run->bad_file = file;
		run->bad_shown = 0;
	}
	if (run->bad_shown < BAD_SHOWN)
		fprintf(stderr, "%s:%ld: %s\n", file, line, why);
	else if (run->bad_shown == BAD_SHOWN)
		fprintf(stderr, "%s: more lines not of the format, not shown\n", file);
	run->bad_shown++;
}

/* "time=NAME", "client=NAME" or "value=NAME". */
static int
parse_column(const char *arg, struct bw_match_options *o)
{
	const char *eq = strchr(arg, '=');
	size_t k;

	if (eq == NULL || eq[1] == '\0' || strlen(eq + 1) > BW_LOGFMT_COLUMN_MAX)
		return -1;
	k = (size_t)(eq - arg);
	if (k == 4 && memcmp(arg, "time", 4) == 0)
		o->csv_time = eq + 1;
	else if (k == 6 && memcmp(arg, "client", 6) == 0)
		o->csv_client = eq + 1;
	else if (k == 5 && memcmp(arg, "value", 5) == 0)
		o->csv_value = eq + 1;
	else
		return -1;
	return 0;
}

int
bw_cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"column", required_argument, NULL, 'C'},
		{"record", no_argument, NULL, 'r'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_match_options o;
	struct run run;
	const char *db = NULL;
	struct bw_store *st = NULL;
	struct bw_index *ix = NULL;
	struct bw_matcher *m = NULL;
	struct bw_err err;
	bool record = false;
	int c, ok, status = BW_EXIT_OK;

	memset(&o, 0, sizeof(o));
	memset(&run, 0, sizeof(run));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.format = bw_logfmt_from_name(optarg, &ok);
			if (!ok)
				return bw_cli_usage_error("match", "unknown log format '%s'",
							  optarg);
			break;
		case 'C':
			if (parse_column(optarg, &o))
				return bw_cli_usage_error("match",
							  "--column takes time=NAME, client=NAME or value=NAME");
			break;
		case 'r': record = true; break;
		case 'd': db = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return bw_cli_usage_error("match", "no input files (use - for standard input)");

	run.out = stdout;
	run.now = bw_time_now();
	o.on_sighting = on_sighting;
	o.on_bad = on_bad;
	o.ctx = &run;
	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_index_build(st, run.now, &ix, &err) ||
	    bw_matcher_new(ix, &o, &m, &err) ||
	    (record && bw_sightings_new(RECORD_KEYS, &run.agg, &err))) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	run.st = st;
	for (int i = optind; i < argc; i++) {
		struct bw_match_stats s;
		int rc = bw_matcher_run(m, argv[i], &s, &err);

		run.bad_file = NULL;
		if (rc == BW_EIO || rc == BW_EFORMAT || rc == BW_EINVAL) {
			/* this input only */
			bw_cli_error("%s", err.msg);
			status = BW_EXIT_ERROR;
			continue;
		}
		fprintf(stderr, "%s: %s, %ld lines: %ld looked up, %ld sightings on %ld lines, "
			"%ld skipped, %ld not of the format\n",
			argv[i], bw_logfmt_name(s.format), s.lines, s.records, s.sightings,
			s.matched, s.skipped, s.bad);
		if (rc) {
			bw_cli_error("%s: %s", argv[i], err.msg);
			status = BW_EXIT_ERROR;
			break;
		}
		if (s.bad > 0 && status == BW_EXIT_OK)
			status = BW_EXIT_REJECTS;
	}
	if (run.agg) {
		run.recorded += bw_sightings_total(run.agg);
		if (bw_sightings_flush(run.agg, st, &err)) {
			bw_cli_error("recording sightings: %s", err.msg);
			status = BW_EXIT_ERROR;
		} else {
			fprintf(stderr, "recorded %ld sightings\n", run.recorded);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		bw_cli_error("writing the sightings failed");
		status = BW_EXIT_ERROR;
	}
out:
	bw_matcher_free(m);
	bw_sightings_free(run.agg);
	bw_index_free(ix);
	bw_store_close(st);
	return status;
}
