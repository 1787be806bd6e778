/*
 * cmd_export.c - bulwark export: the store to standard output.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ioc.h"
#include "core/timeutil.h"
#include "share/export.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark export --format stix|misp|csv|plain [--type T] [--since TIME]\n"
	"                      [--all] [--db PATH]\n"
	"       bulwark export --format rpz|nft|ipset [--db PATH]\n";

int
bw_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"type", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},
		{"all", no_argument, NULL, 'a'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_export_options o;
	const char *db = NULL;
	struct bw_store *st = NULL;
	struct bw_err err;
	int c, status = BW_EXIT_OK;
	int have_format = 0;

	memset(&o, 0, sizeof(o));
	o.now = bw_time_now();
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (bw_export_format_from_name(optarg, &o.format))
				return bw_cli_usage_error("export", "unknown format '%s'", optarg);
			have_format = 1;
			break;
		case 't':
			o.filter.type = bw_ioc_type_from_name(optarg);
			if (o.filter.type == BW_IOC_ANY)
				return bw_cli_usage_error("export",
							  "unknown type '%s' (domain, ipv4, ipv6, cidr, url, email, md5, sha1, sha256)",
							  optarg);
			break;
		case 's':
			if (bw_time_parse_since(optarg, o.now, &o.filter.since, &err))
				return bw_cli_usage_error("export", "--since: %s", err.msg);
			break;
		case 'a': o.filter.include_expired = 1; break;
		case 'd': db = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (!have_format)
		return bw_cli_usage_error("export", "--format is required");
	if (optind < argc)
		return bw_cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	/* Records whose validity ended since the last write are marked first,
	 * so that an export never carries what has expired. */
	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_store_mark_expired(st, o.now, NULL, &err) ||
	    bw_export(st, &o, stdout, &err)) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	bw_store_close(st);
	return status;
}
