/*
 * cmd_report.c - bulwark report: a tenant's periodic report as HTML, PDF
 * or JSON (src/share/report.h says what is counted).
 *
 * The output file is written beside its final name and renamed into place,
 * so a reader (a mailer, a web server) never sees half a report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "intel/geo.h"
#include "share/report.h"
#include "share/report_render.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark report --tenant CC [--from T] [--to T] [--format html|pdf|json]\n"
	"                      [--out FILE] [--geo DIR] [--db PATH]\n";

#define WEEK (7 * 86400)
#define DEFAULT_GEO_DIR "var/geo"

enum fmt { FMT_HTML, FMT_PDF, FMT_JSON };

/* Loads what of DIR's geo files exists (the names install-deps uses);
 * *out stays NULL when there is nothing. */
static int
load_geo(const char *dir, int explicit, struct bw_geo **out, struct bw_err *err)
{
	static const char *const asn_files[] = {"asn-ipv4.csv", "asn-ipv6.csv"};
	char path[4096];
	struct stat sb;
	struct bw_geo *g = NULL;
	int rc, any = 0;

	*out = NULL;
	if (strcmp(dir, "none") == 0)
		return BW_OK;
	if (stat(dir, &sb) != 0) {
		if (explicit)
			return bw_err_set(err, BW_EIO, "%s: no such directory", dir);
		return BW_OK;
	}
	rc = bw_geo_new(&g, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/geo-whois-asn-country.mmdb", dir);
	if (stat(path, &sb) == 0) {
		if ((rc = bw_geo_open_mmdb(g, path, err)))
			goto fail;
		any = 1;
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, asn_files[i]);
		if (stat(path, &sb) == 0) {
			if ((rc = bw_geo_load_asn_csv(g, path, err)))
				goto fail;
			any = 1;
		}
	}
	if (!any) {
		bw_geo_free(g);
		return explicit ? bw_err_set(err, BW_ENOTFOUND, "%s: no geo database in it", dir)
				: BW_OK;
	}
	*out = g;
	return BW_OK;
fail:
	bw_geo_free(g);
	return rc;
}

static int
write_report(const struct bw_report *r, enum fmt f, FILE *out, struct bw_err *err)
{
	switch (f) {
	case FMT_PDF: return bw_report_write_pdf(r, out, err);
	case FMT_JSON: return bw_report_write_json(r, out, err);
	default: return bw_report_write_html(r, out, err);
	}
}

/* Writes to path through path.tmp and a rename, or to stdout. */
static int
write_out(const struct bw_report *r, enum fmt f, const char *path, struct bw_err *err)
{
	char *tmp = NULL;
	FILE *out;
	int rc;

	if (!path || strcmp(path, "-") == 0) {
		rc = write_report(r, f, stdout, err);
		if (!rc && fflush(stdout) != 0)
			rc = bw_err_set(err, BW_EIO, "writing to standard output failed");
		return rc;
	}
	tmp = bw_malloc(strlen(path) + 5);
	if (!tmp)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	memcpy(tmp, path, strlen(path));
	memcpy(tmp + strlen(path), ".tmp", 5);
	out = fopen(tmp, "wb");
	if (!out) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot create", tmp);
		goto done;
	}
	rc = write_report(r, f, out, err);
	if (fclose(out) != 0 && !rc)
		rc = bw_err_set(err, BW_EIO, "%s: write failed", tmp);
	if (!rc && rename(tmp, path) != 0)
		rc = bw_err_set(err, BW_EIO, "%s: cannot rename into place", path);
	if (rc)
		unlink(tmp);
done:
	bw_free(tmp);
	return rc;
}

int
bw_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 'T'},
		{"format", required_argument, NULL, 'F'},
		{"out", required_argument, NULL, 'o'},
		{"geo", required_argument, NULL, 'g'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *tenant = NULL, *from_s = NULL, *to_s = NULL, *out = NULL,
		   *geo_dir = NULL;
	struct bw_store *st = NULL;
	struct bw_geo *geo = NULL;
	struct bw_report *r = NULL;
	struct bw_err err;
	enum fmt f = FMT_HTML;
	int64_t now = bw_time_now(), from, to;
	int c, status = BW_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'f': from_s = optarg; break;
		case 'T': to_s = optarg; break;
		case 'o': out = optarg; break;
		case 'g': geo_dir = optarg; break;
		case 'd': db = optarg; break;
		case 'F':
			if (strcmp(optarg, "html") == 0)
				f = FMT_HTML;
			else if (strcmp(optarg, "pdf") == 0)
				f = FMT_PDF;
			else if (strcmp(optarg, "json") == 0)
				f = FMT_JSON;
			else
				return bw_cli_usage_error("report", "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return bw_cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (!tenant)
		return bw_cli_usage_error("report", "--tenant CC is required");
	to = now;
	if (to_s && bw_time_parse_since(to_s, now, &to, &err))
		return bw_cli_usage_error("report", "--to: %s", err.msg);
	from = to - WEEK;
	if (from_s && bw_time_parse_since(from_s, now, &from, &err))
		return bw_cli_usage_error("report", "--from: %s", err.msg);
	if (f == FMT_PDF && !out && isatty(STDOUT_FILENO))
		return bw_cli_usage_error("report", "a PDF needs --out FILE (or a pipe)");
	if (load_geo(geo_dir ? geo_dir : DEFAULT_GEO_DIR, geo_dir != NULL, &geo, &err) ||
	    bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_store_mark_expired(st, now, NULL, &err) ||
	    bw_report_build(st, tenant, from, to, now, geo, &r, &err) ||
	    write_out(r, f, out, &err)) {
		bw_cli_error("%s", err.msg);
		goto done;
	}
	status = BW_EXIT_OK;
done:
	bw_report_free(r);
	bw_store_close(st);
	bw_geo_free(geo);
	return status;
}
