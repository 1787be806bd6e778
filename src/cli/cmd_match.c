/*
 * cmd_match.c - bulwark match: telemetry logs against the active
 * indicators, one JSON line per sighting; --record keeps them in the store.
 *
 * The index comes from the snapshot file beside the store (DB.index, or
 * --snapshot FILE) when that is fresh; otherwise it is built from the
 * store and the file (re)written for the next run (src/index/index.h,
 * bw_index_open).  --no-snapshot neither reads nor writes one.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "index/index.h"
#include "intel/match.h"
#include "store/store.h"

#define BAD_SHOWN 10
/* Keys the aggregator holds before it writes to the store (about 24 MB). */
#define RECORD_KEYS (1u << 18)

/* One line on stderr: where the index came from (the snapshot file, or
 * the store and why not the file), how long that took since t0, and how
 * many of a loaded file's indicators have lapsed (and are skipped). */
static void
report_index(const struct bw_index *ix, const char *snap,
	     const struct bw_index_origin *how, const struct timespec *t0, int64_t now)
{
	struct bw_index_stats s;
	long ms = bw_time_ms_since(t0);
	/* a snapshot built by this run holds nothing lapsed */
	size_t lapsed = how->loaded ? bw_index_lapsed_count(ix, now) : 0;
	char note[64] = "";

	bw_index_stats(ix, &s);
	if (lapsed > 0)
		snprintf(note, sizeof(note), " (%zu lapsed since)", lapsed);
	if (how->loaded)
		fprintf(stderr, "index: %zu indicators%s, snapshot %s loaded in %ld ms%s\n",
			s.indicators, note, snap, ms, how->mapped ? " (mapped)" : "");
	else
		fprintf(stderr, "index: %zu indicators, built from the store in %ld ms%s%s%s\n",
			s.indicators, ms, how->why[0] ? " (snapshot not used: " : "", how->why,
			how->why[0] ? ")" : "");
}

static const char usage_text[] =
	"usage: bulwark match [--format auto|bind|unbound|zeek|squid|csv|plain]\n"
	"                     [--column time|client|value=NAME]... [--record]\n"
	"                     [--db PATH] [--snapshot FILE | --no-snapshot]\n"
	"                     [--threads N]\n"
	"                     FILE...|-\n";

/* The output being built: sightings can run to millions per file, so
 * lines are formatted straight into one large buffer, which goes out in
 * one write per OUT_BLOCK bytes (or per line for a live input); one
 * fwrite per line cost a third of a scan with many hits. */
struct obuf {
	char *p;
	size_t len, cap;
	bool failed;
};

#define OUT_BLOCK (1u << 20)
#define SPARE_MAX 16

struct piece_out;

struct run {
	FILE *out;
	bool live;              /* flush every line (standard input) */
	struct obuf file;       /* the input's name as a JSON string */
	struct bw_sightings *agg; /* --record */
	struct bw_store *st;
	int64_t now;
	struct bw_cli_budget bad; /* bad lines printed per file */
	long recorded;
	struct obuf line;       /* lines not yet written */
	/* parallel runs: buffers of written pieces, kept for the next ones
	 * (fresh memory for every piece cost more in page faults than the
	 * formatting) */
	pthread_mutex_t spare_mu;
	struct piece_out *spare[SPARE_MAX];
	size_t nspare;
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

static inline bool
ob_reserve(struct obuf *o, size_t n)
{
	char *np;

	if (o->len + n <= o->cap)
		return true;
	np = bw_grow(o->p, &o->cap, o->len + n, 1);
	if (np == NULL) {
		o->failed = true;
		return false;
	}
	o->p = np;
	return true;
}

/* The decimal digits of v at w; returns the end. */
static inline char *
int_at(char *w, long long v)
{
	char buf[24];
	size_t i = sizeof(buf);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[--i] = '-';
	memcpy(w, buf + i, sizeof(buf) - i);
	return w + (sizeof(buf) - i);
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* True if none of the 8 bytes in w needs escaping in a JSON string: no
 * control character, '"', '\\' or non-ASCII byte. */
static inline bool
plain8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');

	/* any byte >= 0x80; then (ASCII only) any byte below 0x20, any
	 * zero byte of q or b (the "has less than" and "has zero" tests,
	 * exact as to whether any byte matches) */
	if (w & HIGHS)
		return false;
	return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) &
		HIGHS) == 0;
}

/* True if the 8 bytes at s need no escaping. */
static inline bool
plain_at(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
	return plain8(w);
}

/* The most str_at() writes for n bytes: 6 per byte (\u00XX), the quotes. */
#define STR_MAX(n) (6 * (size_t)(n) + 2)

/* A JSON string at w (room for STR_MAX(n) bytes); returns the end.  UTF-8
 * passes through, control characters are escaped, bytes that are not
 * UTF-8 become U+FFFD. */
static char *
str_any_at(char *w, const char *text, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, start = 0;

	*w++ = '"';
	while (i < n) {
		unsigned char c;
		size_t k;
		while (i + 8 <= n && plain_at(s + i))
			i += 8;
		/* the last 0-7 bytes as the 8 that end the string (they
		 * overlap bytes already checked) */
		if (i < n && n >= 8 && i + 8 > n && plain_at(s + n - 8))
			i = n;
		if (i == n)
			break;
		c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_len(s + i, n - i)) > 0) {
			i += k;
			continue;
		}
		memcpy(w, s + start, i - start);
		w += i - start;
		if (c == '"' || c == '\\') {
			*w++ = '\\';
			*w++ = (char)c;
		} else if (c < 0x20) {
			memcpy(w, "\\u00", 4);
			w += 4;
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		} else {
			memcpy(w, "\\ufffd", 6);
			w += 6;
		}
		start = ++i;
	}
	memcpy(w, s + start, n - start);
	w += n - start;
	*w++ = '"';
	return w;
}

/* str_any_at() with the strings of most sightings inline: 8 to 16 bytes
 * (an address, most names) that need no escaping, copied as two
 * overlapping 8-byte moves instead of a call and a copy of any length. */
static inline char *
str_at(char *w, const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;

	if (n >= 8 && n <= 16 && plain_at(s) && plain_at(s + n - 8)) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		w[0] = '"';
		memcpy(w + 1, &a, 8);
		memcpy(w + 1 + n - 8, &b, 8);
		w[n + 1] = '"';
		return w + n + 2;
	}
	return str_any_at(w, text, n);
}

static void
ob_str(struct obuf *o, const char *text, size_t n)
{
	if (ob_reserve(o, STR_MAX(n)))
		o->len = (size_t)(str_at(o->p + o->len, text, n) - o->p);
}

/* Writes the lines built so far. */
static void
out_flush(struct run *run)
{
	struct obuf *o = &run->line;

	if (o->len > 0 && !o->failed)
		fwrite(o->p, 1, o->len, run->out);
	o->len = 0;
}

/* Bytes of a sighting's line besides its strings, type name and tags:
 * the keys and punctuation (94) and three numbers of at most 20. */
#define LINE_FIXED 192
/* The most one tag takes in a line: its text (see below) and a comma. */
#define TAG_OUT_MAX (STR_MAX(2 * BW_TAG_NAME_MAX + 64) + 1)

/* Appends the literal lit at w, moving w. */
#define W_LIT(w, lit) (memcpy((w), (lit), sizeof(lit) - 1), (w) += sizeof(lit) - 1)

/* One sighting as a JSON line into o; file is the input's name as a JSON
 * string, or empty for none (a single input: as grep, the name is only
 * written when there are several, and a sighting's line is a quarter
 * shorter without it).  Room for the whole line is reserved first and the line is
 * written through a local cursor: appending piece by piece through o
 * stored and reloaded o->len around every piece (the text written may
 * alias it), a chain of a dozen store-to-load waits per sighting. */
static void
format_sighting(struct obuf *o, const struct obuf *file,
		const struct bw_match_sighting *s)
{
	const struct bw_index_match *m = s->indicator;
	const char *type = bw_ioc_type_name(m->type);
	size_t tlen = strlen(type);
	char *w;

	if (!ob_reserve(o, LINE_FIXED + tlen + STR_MAX(s->observer_len) +
			       STR_MAX(s->value_len) + STR_MAX(m->len) +
			       m->ntags * TAG_OUT_MAX + file->len))
		return;
	w = o->p + o->len;
	W_LIT(w, "{\"time\":");
	if (s->time)
		w = int_at(w, (long long)s->time);
	else
		W_LIT(w, "null");
	W_LIT(w, ",\"observer\":");
	if (s->observer_len)
		w = str_at(w, s->observer, s->observer_len);
	else
		W_LIT(w, "null");
	W_LIT(w, ",\"value\":");
	w = str_at(w, s->value, s->value_len);
	W_LIT(w, ",\"indicator\":");
	w = str_at(w, m->value, m->len);
	W_LIT(w, ",\"type\":\"");
	memcpy(w, type, tlen);
	w += tlen;
	W_LIT(w, "\",\"tags\":[");
	for (size_t i = 0; i < m->ntags; i++) {
		const struct bw_tag *t = &m->tags[i];
		char buf[2 * BW_TAG_NAME_MAX + 64];
		int n;
		n = bw_tag_format(t->kind, t->name, buf, sizeof(buf));
		if (n < 0)
			continue;
		if ((size_t)n >= sizeof(buf))
			n = (int)sizeof(buf) - 1;
		if (i)
			*w++ = ',';
		w = str_at(w, buf, (size_t)n);
	}
	W_LIT(w, "],\"confidence\":");
	if (m->confidence >= 0)
		w = int_at(w, m->confidence);
	else
		W_LIT(w, "null");
	W_LIT(w, ",\"line\":");
	w = int_at(w, s->line);
	if (file->len > 0) {
		W_LIT(w, ",\"file\":");
		memcpy(w, file->p, file->len);
		w += file->len;
	}
	W_LIT(w, "}\n");
	o->len = (size_t)(w - o->p);
}

static void
put_sighting(struct run *run, const struct bw_match_sighting *s)
{
	format_sighting(&run->line, &run->file, s);
	if (run->live || run->line.len >= OUT_BLOCK)
		out_flush(run);
}

/* ---- a file matched in pieces by several threads (bw_matcher_run_parallel):
 * each piece formats into a buffer of its own, written in piece order. */

struct piece_out {
	struct obuf line;
	const struct obuf *file; /* the run's, not changed while in use */
};

static void *
piece_begin(void *ctx, size_t piece)
{
	struct run *run = ctx;
	struct piece_out *p = NULL;

	(void)piece;
	pthread_mutex_lock(&run->spare_mu);
	if (run->nspare > 0)
		p = run->spare[--run->nspare];
	pthread_mutex_unlock(&run->spare_mu);
	if (p == NULL)
		p = bw_calloc(1, sizeof(*p));
	if (p != NULL) {
		p->file = &run->file;
		p->line.len = 0;
		p->line.failed = false;
	}
	return p;
}

static void
piece_free(struct piece_out *p)
{
	if (p != NULL)
		bw_free(p->line.p);
	bw_free(p);
}

static int
piece_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	struct piece_out *p = ctx;

	format_sighting(&p->line, p->file, s);
	if (p->line.failed)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	return BW_OK;
}

static int
piece_end(void *ctx, size_t piece, void *pctx, struct bw_err *err)
{
	struct run *run = ctx;
	struct piece_out *p = pctx;
	int rc = BW_OK;

	(void)piece;
	if (err != NULL && p->line.len > 0 &&
	    fwrite(p->line.p, 1, p->line.len, run->out) != p->line.len)
		rc = bw_err_set(err, BW_EIO, "writing the sightings failed");
	pthread_mutex_lock(&run->spare_mu);
	if (run->nspare < SPARE_MAX) {
		run->spare[run->nspare++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&run->spare_mu);
	piece_free(p);
	return rc;
}

/* CPUs this process may run on (taskset narrows it). */
static unsigned
cpus_allowed(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

static int
on_sighting(void *ctx, const struct bw_match_sighting *s, struct bw_err *err)
{
	struct run *run = ctx;
	int64_t t = s->time ? s->time : run->now;
	int rc;

	put_sighting(run, s);
	if (run->line.failed)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
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

	if (bw_cli_budget_take(&run->bad, file, BAD_SHOWN,
			       "more lines not of the format, not shown"))
		fprintf(stderr, "%s:%ld: %s\n", file, line, why);
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
		{"snapshot", required_argument, NULL, 's'},
		{"no-snapshot", no_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_match_options o;
	struct run run;
	const char *db = NULL, *snap = NULL;
	char *snap_owned = NULL;
	bool no_snap = false;
	struct bw_index_origin origin = {0};
	struct bw_store *st = NULL;
	struct bw_index *ix = NULL;
	struct bw_matcher *m = NULL;
	struct bw_err err;
	bool record = false;
	unsigned threads = 0;
	struct bw_match_pieces pieces;
	long lv;
	struct timespec t0;
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
		case 's': snap = optarg; break;
		case 'n': no_snap = true; break;
		case 't':
			if (bw_cli_parse_int(optarg, 1, 64, &lv) != 0)
				return bw_cli_usage_error("match", "--threads takes 1 to 64");
			threads = (unsigned)lv;
			break;
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
	if (snap && no_snap)
		return bw_cli_usage_error("match", "--snapshot and --no-snapshot exclude each other");
	if (snap == NULL && !no_snap) {
		/* DB.index beside the store */
		snap_owned = bw_cli_snapshot_path(bw_cli_db_path(db));
		if (snap_owned == NULL) {
			bw_cli_error("out of memory");
			return BW_EXIT_ERROR;
		}
		snap = snap_owned;
	}

	run.out = stdout;
	pthread_mutex_init(&run.spare_mu, NULL);
	{
		/* Files: big output blocks.  Standard input may be a live log
		 * (tail -f): then each sighting goes out as it is found. */
		bool live = false;
		for (int i = optind; i < argc; i++)
			if (strcmp(argv[i], "-") == 0)
				live = true;
		setvbuf(stdout, NULL, live ? _IOLBF : _IOFBF, 1 << 20);
		run.live = live;
	}
	run.now = bw_time_now();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o.on_sighting = on_sighting;
	o.on_bad = on_bad;
	o.ctx = &run;
	o.now = run.now; /* a snapshot file may hold indicators lapsed since */
	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_index_open(st, snap, run.now,
			  BW_INDEX_SKIPS_LAPSED | BW_INDEX_SAVE_BEHIND | BW_INDEX_MAP, &ix,
			  &origin, &err) ||
	    bw_matcher_new(ix, &o, &m, &err) ||
	    (record && bw_sightings_new(RECORD_KEYS, &run.agg, &err))) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	run.st = st;
	if (threads == 0)
		threads = cpus_allowed();
	pieces.begin = piece_begin;
	pieces.end = piece_end;
	pieces.ctx = &run;
	report_index(ix, snap, &origin, &t0, run.now);
	for (int i = optind; i < argc; i++) {
		struct bw_match_stats s;
		int rc;

		run.file.len = 0;
		if (argc - optind > 1)
			ob_str(&run.file, argv[i], strlen(argv[i]));
		if (run.file.failed) {
			bw_cli_error("out of memory");
			status = BW_EXIT_ERROR;
			break;
		}
		/* a large file in pieces on every CPU allowed (not with
		 * --record: the aggregator is one thread's) */
		rc = BW_ENOTFOUND;
		if (threads > 1 && !record) {
			struct bw_match_options po = o;
			po.on_sighting = piece_sighting;
			rc = bw_matcher_run_parallel(ix, &po, &pieces, argv[i], threads, &s, &err);
		}
		if (rc == BW_ENOTFOUND)
			rc = bw_matcher_run(m, argv[i], &s, &err);
		out_flush(&run);
		bw_cli_budget_reset(&run.bad);
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
	/* the snapshot built by this run was written while it matched */
	if (snap && !origin.loaded) {
		bw_index_open_done(&origin);
		if (origin.saved)
			fprintf(stderr, "index: snapshot %s written\n", snap);
		else
			bw_cli_error("warning: index snapshot not written: %s", origin.save_error);
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
	bw_index_open_done(&origin); /* before the index it writes is freed */
	bw_matcher_free(m);
	bw_sightings_free(run.agg);
	bw_index_free(ix);
	bw_store_close(st);
	bw_free(run.line.p);
	bw_free(run.file.p);
	bw_free(snap_owned);
	for (size_t i = 0; i < run.nspare; i++)
		piece_free(run.spare[i]);
	pthread_mutex_destroy(&run.spare_mu);
	return status;
}
