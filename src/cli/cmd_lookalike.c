/*
 * cmd_lookalike.c - bulwark lookalike: which names imitate a protected
 * brand, and the store pass that tags them for the tenants.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "feed/reader.h"
#include "intel/lookalike.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark lookalike --brands FILE [--json] NAME...|-\n"
	"       bulwark lookalike --scan-store [--db PATH] [--since TIME]\n"
	"                         [--brands FILE] [--json]\n";

static void
print_hit(const struct bw_lookalike_hit *h, const char *name, int json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", name,
				      "brand", h->brand, "kind",
				      bw_lookalike_kind_name(h->kind), "how", h->how,
				      "score", h->score);
		char *text;

		if (o && h->distance)
			json_object_set_new(o, "distance", json_integer(h->distance));
		if (o && h->owners[0])
			json_object_set_new(o, "owners", json_string(h->owners));
		text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
					      JSON_REAL_PRECISION(3)) : NULL;
		json_decref(o);
		if (text)
			printf("%s\n", text);
		free(text);
		return;
	}
	printf("%s\t%s\t%s\t%s\t%.2f\n", name, h->brand,
	       bw_lookalike_kind_name(h->kind), h->how, h->score);
}

/* Checks one name; returns 1 if it was not an indicator. */
static int
check_one(const struct bw_lookalike *lk, const char *name, size_t len,
	  const char *where, int json)
{
	struct bw_lookalike_hit hit;
	struct bw_err err;
	char buf[BW_IOC_VALUE_MAX + 1];

	if (bw_lookalike_check(lk, name, len, &hit, &err)) {
		bw_cli_error("%s: %s", where, err.msg);
		return 1;
	}
	if (hit.kind == BW_LOOKALIKE_NONE)
		return 0;
	if (len > BW_IOC_VALUE_MAX)
		len = BW_IOC_VALUE_MAX;
	memcpy(buf, name, len);
	buf[len] = '\0';
	print_hit(&hit, buf, json);
	return 0;
}

static int
check_stdin(const struct bw_lookalike *lk, int json, long *bad)
{
	struct bw_reader *in = NULL;
	struct bw_err err;
	const char *line;
	size_t len;
	long lineno;
	int too_long, rc;

	if (bw_reader_open_stream("-", &in, &err)) {
		bw_cli_error("%s", err.msg);
		return BW_EXIT_ERROR;
	}
	while ((rc = bw_reader_line(in, &line, &len, &lineno, &too_long, &err)) == 1) {
		char where[64];

		snprintf(where, sizeof(where), "line %ld", lineno);
		if (too_long) {
			bw_cli_error("%s: line too long", where);
			(*bad)++;
			continue;
		}
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len == 0 || line[0] == '#')
			continue;
		*bad += check_one(lk, line, len, where, json);
	}
	bw_reader_free(in);
	if (rc < 0) {
		bw_cli_error("standard input: %s", err.msg);
		return BW_EXIT_ERROR;
	}
	return BW_EXIT_OK;
}

static int
scan_store(struct bw_lookalike *lk, const char *db, int64_t since, int json)
{
	struct bw_store *st = NULL;
	struct bw_lookalike_scan s;
	struct bw_err err;
	int status = BW_EXIT_OK;

	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_lookalike_load_tenants(lk, st, &err) ||
	    bw_lookalike_scan_store(lk, st, since, &s, &err)) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	if (json)
		printf("{\"brands\":%zu,\"checked\":%ld,\"matched\":%ld,"
		       "\"tagged\":%ld}\n", bw_lookalike_count(lk), s.checked,
		       s.matched, s.tagged);
	else
		printf("brands %zu, checked %ld, matched %ld, newly tagged %ld\n",
		       bw_lookalike_count(lk), s.checked, s.matched, s.tagged);
out:
	bw_store_close(st);
	return status;
}

int
bw_cmd_lookalike(int argc, char **argv)
{
	const char *brands = NULL, *db = NULL, *since_text = NULL;
	struct bw_lookalike *lk = NULL;
	struct bw_err err;
	int64_t since = 0;
	long bad = 0;
	int c, json = 0, scan = 0, status = BW_EXIT_OK;
	const struct bw_cli_opt opts[] = {
		{.name = "brands", .str = &brands},
		{.name = "json", .flag = &json},
		{.name = "scan-store", .flag = &scan},
		{.name = "db", .str = &db},
		{.name = "since", .str = &since_text},
		{.name = NULL},
	};

	if ((c = bw_cli_options(argc, argv, "lookalike", usage_text, opts)) >= 0)
		return c;
	if (!scan && brands == NULL)
		return bw_cli_usage_error("lookalike", "--brands FILE is required");
	if (!scan && optind >= argc)
		return bw_cli_usage_error("lookalike", "no names (give NAME... or -)");
	if (scan && optind < argc)
		return bw_cli_usage_error("lookalike", "unexpected argument '%s'",
					  argv[optind]);
	if (!scan && (db || since_text))
		return bw_cli_usage_error("lookalike", "--db and --since go with --scan-store");
	if (since_text &&
	    bw_time_parse_since(since_text, bw_time_now(), &since, &err))
		return bw_cli_usage_error("lookalike", "--since: %s", err.msg);
	if (bw_lookalike_new(&lk, &err) ||
	    (brands && bw_lookalike_load(lk, brands, NULL, &err))) {
		bw_cli_error("%s", err.msg);
		bw_lookalike_free(lk);
		return BW_EXIT_ERROR;
	}
	if (scan) {
		status = scan_store(lk, db, since, json);
		goto out;
	}
	for (int i = optind; i < argc && status == BW_EXIT_OK; i++) {
		if (strcmp(argv[i], "-") == 0)
			status = check_stdin(lk, json, &bad);
		else
			bad += check_one(lk, argv[i], strlen(argv[i]), argv[i], json);
	}
	if (status == BW_EXIT_OK && bad)
		status = BW_EXIT_REJECTS;
out:
	if (fflush(stdout) != 0 && status == BW_EXIT_OK) {
		bw_cli_error("cannot write the output");
		status = BW_EXIT_ERROR;
	}
	bw_lookalike_free(lk);
	return status;
}
