/*
 * cmd_ingest.c - bulwark ingest: feeds into the store.
 *
 * When the store has an index snapshot beside it (DB.index, written by
 * bulwark match or serve), ingest brings it up to date before it exits
 * (bw_index_refresh), so the next match loads it instead of building the
 * index first: the writer pays for the change once, and a match started
 * by an analyst or a cron job takes the same time whether or not a feed
 * came in since.  --no-snapshot leaves the file alone (the next reader
 * rebuilds it).
 */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/psl.h"
#include "core/timeutil.h"
#include "core/ioc.h"
#include "core/tlp.h"
#include "feed/ingest.h"
#include "index/index.h"
#include "store/store.h"

#define REJECTS_SHOWN 10
#define MAX_LIST 64

static const char usage_text[] =
	"usage: bulwark ingest [--format auto|stix|misp|csv|plain|hosts|drop]\n"
	"                      [--source NAME] [--tlp LEVEL] [--confidence N]\n"
	"                      [--tag TAG]... [--share-with CC[,CC...]]...\n"
	"                      [--column TYPE=NAME]... [--db PATH] [--json]\n"
	"                      [--rejects FILE] [--no-snapshot] FILE...|-\n";

struct run {
	bool json;
	struct bw_cli_budget shown; /* rejects and notes printed per file */
	int status;
};

static void
on_reject(void *ctx, const char *file, const char *where, const char *reason)
{
	struct run *run = ctx;

	if (bw_cli_budget_take(&run->shown, file, REJECTS_SHOWN,
			       "more rejects not shown (use --rejects FILE)"))
		fprintf(stderr, "%s:%s: %s\n", file, where, reason);
}

/* Notes share the rejects' budget of lines per file. */
static void
on_note(void *ctx, const char *file, const char *where, const char *note)
{
	char text[BW_IOC_VALUE_MAX + 80];

	snprintf(text, sizeof(text), "note: %s", note);
	on_reject(ctx, file, where, text);
}

static void
on_result(void *ctx, const struct bw_ingest_result *r)
{
	struct run *run = ctx;

	bw_cli_budget_reset(&run->shown);
	if (r->refused) {
		run->status = BW_EXIT_ERROR;
		fprintf(stderr, "%s: refused: %s\n", r->file, r->error.msg);
	} else if (r->rejected > 0 && run->status == BW_EXIT_OK) {
		run->status = BW_EXIT_REJECTS;
	}
	if (run->json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "file", r->file,
				      "format", bw_feed_format_name(r->format),
				      "records", (json_int_t)r->records,
				      "added", (json_int_t)r->added,
				      "updated", (json_int_t)r->updated,
				      "unchanged", (json_int_t)r->unchanged,
				      "rejected", (json_int_t)r->rejected,
				      "unsupported", (json_int_t)r->unsupported);
		if (o && r->refused) {
			json_object_set_new(o, "refused", json_true());
			json_object_set_new(o, "error", json_string(r->error.msg));
		}
		if (o) {
			char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
						    JSON_ENSURE_ASCII);
			if (s)
				printf("%s\n", s);
			free(s);
			json_decref(o);
		}
	} else if (!r->refused) {
		printf("%s: %s, %ld records: %ld added, %ld updated, %ld unchanged, "
		       "%ld rejected, %ld unsupported\n",
		       r->file, bw_feed_format_name(r->format), r->records, r->added,
		       r->updated, r->unchanged, r->rejected, r->unsupported);
	}
	fflush(stdout);
}

/* Splits "CC,CC" into upper-case two-letter codes appended to list. */
static int
add_countries(const char *arg, char codes[][3], size_t *n)
{
	const char *p = arg;

	while (*p) {
		size_t len = strcspn(p, ",");
		if (len != 2 || !isalpha((unsigned char)p[0]) ||
		    !isalpha((unsigned char)p[1]) || *n >= MAX_LIST)
			return -1;
		codes[*n][0] = (char)toupper((unsigned char)p[0]);
		codes[*n][1] = (char)toupper((unsigned char)p[1]);
		codes[*n][2] = '\0';
		(*n)++;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Keeps DB.index current (see the top comment); says on stderr when it
 * rewrote it.  Only a store error is an error: a snapshot that cannot be
 * written is a warning, and the next match builds the index itself. */
static int
refresh_snapshot(struct bw_store *st, const char *db, int64_t now)
{
	struct bw_index_origin how;
	struct timespec t0;
	struct bw_err err;
	char *path = bw_cli_snapshot_path(bw_cli_db_path(db));
	int rc;

	if (path == NULL) {
		bw_cli_error("out of memory");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = bw_index_refresh(st, path, now, &how, &err);
	if (rc)
		bw_cli_error("index snapshot %s: %s", path, err.msg);
	else if (how.saved)
		fprintf(stderr, "index: snapshot %s rewritten in %ld ms (%s)\n", path,
			bw_time_ms_since(&t0), how.why);
	else if (how.why[0])
		bw_cli_error("warning: index snapshot %s not rewritten (%s): %s",
			     path, how.why, how.save_error);
	bw_free(path);
	return rc ? -1 : 0;
}

int
bw_cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"source", required_argument, NULL, 's'},
		{"tlp", required_argument, NULL, 't'},
		{"confidence", required_argument, NULL, 'c'},
		{"tag", required_argument, NULL, 'g'},
		{"share-with", required_argument, NULL, 'w'},
		{"column", required_argument, NULL, 'C'},
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"rejects", required_argument, NULL, 'r'},
		{"no-snapshot", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_ingest_options o;
	struct run run = {false, {NULL, 0}, BW_EXIT_OK};
	struct bw_tag tags[MAX_LIST];
	char tag_kinds[MAX_LIST][16];
	char countries[MAX_LIST][3];
	const char *recipients[MAX_LIST];
	const char *columns[MAX_LIST + 1];
	size_t ntags = 0, ncountries = 0, ncolumns = 0;
	const char *db = NULL, *rejects = NULL;
	struct bw_store *st = NULL;
	struct bw_psl *psl = NULL;
	struct bw_err err;
	int c, ok, status = BW_EXIT_OK;
	bool no_snap = false;
	long v;

	memset(&o, 0, sizeof(o));
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.format = bw_feed_format_from_name(optarg, &ok);
			if (!ok)
				return bw_cli_usage_error("ingest", "unknown format '%s'", optarg);
			break;
		case 's':
			if (optarg[0] == '\0' || strlen(optarg) > BW_SOURCE_NAME_MAX)
				return bw_cli_usage_error("ingest",
							  "--source needs a name of 1 to %d bytes",
							  BW_SOURCE_NAME_MAX);
			o.source = optarg;
			break;
		case 't':
			o.tlp = bw_tlp_parse(optarg, strlen(optarg));
			if (o.tlp == BW_TLP_UNSET)
				return bw_cli_usage_error("ingest",
							  "unknown TLP level '%s' (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)",
							  optarg);
			break;
		case 'c':
			if (bw_cli_parse_int(optarg, 0, 100, &v))
				return bw_cli_usage_error("ingest",
							  "--confidence takes a number from 0 to 100");
			o.confidence = (int)v;
			break;
		case 'g':
			if (ntags >= MAX_LIST ||
			    bw_tag_parse(optarg, tag_kinds[ntags], sizeof(tag_kinds[0]),
					 &tags[ntags], &err))
				return bw_cli_usage_error("ingest", "bad --tag '%s'", optarg);
			ntags++;
			break;
		case 'w':
			if (add_countries(optarg, countries, &ncountries))
				return bw_cli_usage_error("ingest",
							  "--share-with takes ISO 3166-1 alpha-2 codes, e.g. DE,FR");
			break;
		case 'C':
			if (ncolumns >= MAX_LIST || strchr(optarg, '=') == NULL)
				return bw_cli_usage_error("ingest",
							  "--column takes TYPE=NAME, e.g. domain=hostname");
			columns[ncolumns++] = optarg;
			break;
		case 'd': db = optarg; break;
		case 'j': run.json = true; break;
		case 'r': rejects = optarg; break;
		case 'n': no_snap = true; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return bw_cli_usage_error("ingest", "no input files (use - for standard input)");
	columns[ncolumns] = NULL;
	for (size_t i = 0; i < ncountries; i++)
		recipients[i] = countries[i];
	o.tags = tags;
	o.ntags = ntags;
	o.recipients = recipients;
	o.nrecipients = ncountries;
	o.feed.columns = ncolumns ? columns : NULL;
	o.now = bw_time_now();
	o.on_reject = on_reject;
	o.on_note = on_note;
	/* Unsupported entries (context a feed carries that bulwark does not
	 * model) are counted in the summary and listed in --rejects, not
	 * printed: a MISP event often holds more context than indicators. */
	o.ctx = &run;

	if (rejects) {
		o.rejects = fopen(rejects, "w");
		if (o.rejects == NULL) {
			bw_cli_error("cannot write rejects file %s", rejects);
			return BW_EXIT_ERROR;
		}
	}
	if (bw_psl_open(&psl, &err) || bw_store_open(bw_cli_db_path(db), 0, &st, &err)) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	o.psl = psl;
	for (int i = optind; i < argc; i++) {
		if (bw_ingest_path(st, argv[i], &o, on_result, &run, &err)) {
			bw_cli_error("%s: %s", argv[i], err.msg);
			run.status = BW_EXIT_ERROR;
			break;
		}
	}
	if (bw_store_mark_expired(st, o.now, NULL, &err)) {
		bw_cli_error("%s", err.msg);
		run.status = BW_EXIT_ERROR;
	}
	/* also after a failed file: the files before it were committed; as of
	 * now, not of the start (a long ingest may outlive a record) */
	if (!no_snap && refresh_snapshot(st, db, bw_time_now()))
		run.status = BW_EXIT_ERROR;
	status = run.status;
out:
	bw_store_close(st);
	bw_psl_free(psl);
	if (o.rejects && fclose(o.rejects) != 0) {
		bw_cli_error("writing rejects file %s failed", rejects);
		status = BW_EXIT_ERROR;
	}
	return status;
}
