/*
 * cmd_stats.c - bulwark stats: what the store holds.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ioc.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "store/store.h"

static const char usage_text[] = "usage: bulwark stats [--json] [--db PATH]\n";

static void
print_text(const struct bw_store_stats *s)
{
	printf("indicators  %ld\n", s->indicators);
	printf("records     %ld (%ld expired, %ld revoked)\n", s->records, s->expired,
	       s->revoked);
	printf("\nby type\n");
	for (int t = BW_IOC_DOMAIN; t < BW_IOC_NTYPES; t++)
		if (s->by_type[t])
			printf("  %-10s %ld\n", bw_ioc_type_name((enum bw_ioc_type)t),
			       s->by_type[t]);
	printf("\nby TLP (records)\n");
	for (int t = 0; t < 5; t++)
		if (s->by_tlp[t])
			printf("  %-13s %ld\n", bw_tlp_name((enum bw_tlp)t), s->by_tlp[t]);
	printf("\nby source (records)\n");
	for (size_t i = 0; i < s->nsources; i++)
		printf("  %-30s %ld\n", s->by_source[i].name, s->by_source[i].n);
}

static int
print_json(const struct bw_store_stats *s)
{
	json_t *o = json_object(), *types = json_object(), *tlp = json_object(),
	       *src = json_object();

	if (!o || !types || !tlp || !src)
		goto fail;
	for (int t = BW_IOC_DOMAIN; t < BW_IOC_NTYPES; t++)
		json_object_set_new(types, bw_ioc_type_name((enum bw_ioc_type)t),
				    json_integer(s->by_type[t]));
	for (int t = 0; t < 5; t++)
		json_object_set_new(tlp, bw_tlp_name((enum bw_tlp)t),
				    json_integer(s->by_tlp[t]));
	for (size_t i = 0; i < s->nsources; i++)
		json_object_set_new(src, s->by_source[i].name,
				    json_integer(s->by_source[i].n));
	json_object_set_new(o, "indicators", json_integer(s->indicators));
	json_object_set_new(o, "records", json_integer(s->records));
	json_object_set_new(o, "expired", json_integer(s->expired));
	json_object_set_new(o, "revoked", json_integer(s->revoked));
	json_object_set_new(o, "by_type", types);
	json_object_set_new(o, "by_tlp", tlp);
	json_object_set_new(o, "by_source", src);
	return bw_cli_print_json(0, o) ? -1 : 0;
fail:
	json_decref(o);
	json_decref(types);
	json_decref(tlp);
	json_decref(src);
	return -1;
}

int
bw_cmd_stats(int argc, char **argv)
{
	const char *db = NULL;
	struct bw_store *st = NULL;
	struct bw_store_stats s;
	struct bw_err err;
	int c, json = 0, status = BW_EXIT_OK;
	const struct bw_cli_opt opts[] = {
		{.name = "json", .flag = &json},
		{.name = "db", .str = &db},
		{.name = NULL},
	};

	if ((c = bw_cli_options(argc, argv, "stats", usage_text, opts)) >= 0)
		return c;
	if (optind < argc)
		return bw_cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_store_mark_expired(st, bw_time_now(), NULL, &err) ||
	    bw_store_stats(st, &s, &err)) {
		bw_cli_error("%s", err.msg);
		bw_store_close(st);
		return BW_EXIT_ERROR;
	}
	if (json ? print_json(&s) : (print_text(&s), 0)) {
		bw_cli_error("out of memory");
		status = BW_EXIT_ERROR;
	}
	bw_store_stats_free(&s);
	bw_store_close(st);
	return status;
}
