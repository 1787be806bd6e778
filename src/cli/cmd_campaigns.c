/*
 * cmd_campaigns.c - bulwark campaigns: the store's indicators grouped by
 * shared infrastructure and context.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "intel/campaign.h"
#include "intel/geo.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark campaigns [--json | --stix] [--db PATH] [--window TIME]\n"
	"                         [--min-size N] [--asn-csv FILE]\n";

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
reasons(unsigned bits)
{
	json_t *a = json_array();

	for (unsigned b = 1; a && bw_campaign_reason_name(b); b <<= 1)
		if (bits & b)
			json_array_append_new(a, json_string(bw_campaign_reason_name(b)));
	return a;
}

/* One line per campaign; the indicators are streamed after the rest of
 * the object so that a campaign of a million indicators is never one
 * JSON tree in memory. */
static int
print_json(const struct bw_campaigns *cs)
{
	for (size_t k = 0; k < bw_campaigns_count(cs); k++) {
		const struct bw_campaign *c = bw_campaigns_get(cs, k);
		char fs[BW_TIME_TEXT_MAX], ls[BW_TIME_TEXT_MAX];
		json_t *o;
		char *text;
		size_t n;

		o = json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "id", c->id,
			      "size", (json_int_t)c->nmembers,
			      "actors", strings(c->actors, c->nactors), "malware",
			      strings(c->malware, c->nmalware), "campaigns",
			      strings(c->named, c->nnamed), "events",
			      strings(c->events, c->nevents), "linked_by",
			      reasons(c->reasons));
		if (o) {
			json_object_set_new(o, "first_seen", c->first_seen
				? json_string(bw_time_format(c->first_seen, fs)) : json_null());
			json_object_set_new(o, "last_seen", c->last_seen
				? json_string(bw_time_format(c->last_seen, ls)) : json_null());
		}
		text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		if (text == NULL || (n = strlen(text)) < 2)
			goto fail;
		/* the object without its closing brace, then the indicators */
		fwrite(text, 1, n - 1, stdout);
		free(text);
		fputs(",\"indicators\":[", stdout);
		for (size_t i = 0; i < c->nmembers; i++) {
			json_t *v = json_string(c->members[i]->value);
			char *vt = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

			json_decref(v);
			if (vt == NULL)
				goto fail;
			printf("%s{\"type\":\"%s\",\"value\":%s}", i ? "," : "",
			       bw_ioc_type_name(c->members[i]->type), vt);
			free(vt);
		}
		fputs("]}\n", stdout);
	}
	return 0;
fail:
	return -1;
}

static void
print_text(const struct bw_campaigns *cs)
{
	for (size_t k = 0; k < bw_campaigns_count(cs); k++) {
		const struct bw_campaign *c = bw_campaigns_get(cs, k);
		char fs[BW_TIME_TEXT_MAX], ls[BW_TIME_TEXT_MAX];

		printf("campaign %s  %zu indicators  %s .. %s  linked by", c->id,
		       c->nmembers, c->first_seen ? bw_time_format(c->first_seen, fs) : "-",
		       c->last_seen ? bw_time_format(c->last_seen, ls) : "-");
		for (unsigned b = 1; bw_campaign_reason_name(b); b <<= 1)
			if (c->reasons & b)
				printf(" %s", bw_campaign_reason_name(b));
		printf("\n");
		for (size_t i = 0; i < c->nactors; i++)
			printf("  actor    %s\n", c->actors[i]);
		for (size_t i = 0; i < c->nmalware; i++)
			printf("  malware  %s\n", c->malware[i]);
		for (size_t i = 0; i < c->nnamed; i++)
			printf("  campaign %s\n", c->named[i]);
		for (size_t i = 0; i < c->nevents; i++)
			printf("  event    %s\n", c->events[i]);
		for (size_t i = 0; i < c->nmembers; i++)
			printf("  %-8s %s\n", bw_ioc_type_name(c->members[i]->type),
			       c->members[i]->value);
	}
}

int
bw_cmd_campaigns(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"stix", no_argument, NULL, 'x'},
		{"db", required_argument, NULL, 'd'},
		{"window", required_argument, NULL, 'w'},
		{"min-size", required_argument, NULL, 'm'},
		{"asn-csv", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *asn = NULL;
	struct bw_campaign_opts co = {0, NULL, 2};
	struct bw_campaigns *cs = NULL;
	struct bw_store *st = NULL;
	struct bw_geo *geo = NULL;
	struct bw_err err;
	int64_t now = bw_time_now(), since;
	long v;
	int c, json = 0, stix = 0, status = BW_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'x': stix = 1; break;
		case 'd': db = optarg; break;
		case 'a': asn = optarg; break;
		case 'w':
			/* a duration: the same forms as --since ("7d", "24h") */
			if (bw_time_parse_since(optarg, now, &since, &err) || since > now)
				return bw_cli_usage_error("campaigns", "--window: %s",
							  err.msg);
			co.window = now - since;
			break;
		case 'm':
			if (bw_cli_parse_int(optarg, 2, 1000000, &v))
				return bw_cli_usage_error("campaigns", "--min-size: "
							  "a number from 2");
			co.min_size = (size_t)v;
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
		return bw_cli_usage_error("campaigns", "unexpected argument '%s'",
					  argv[optind]);
	if (json && stix)
		return bw_cli_usage_error("campaigns", "--json or --stix, not both");
	if (asn && (bw_geo_new(&geo, &err) || bw_geo_load_asn_csv(geo, asn, &err))) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	co.geo = geo;
	if (bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err) ||
	    bw_store_mark_expired(st, now, NULL, &err) ||
	    bw_campaigns_compute(st, &co, &cs, &err)) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
		goto out;
	}
	if (stix) {
		if (bw_campaigns_write_stix(cs, stdout, now, &err)) {
			bw_cli_error("%s", err.msg);
			status = BW_EXIT_ERROR;
		}
	} else if (json) {
		if (print_json(cs)) {
			bw_cli_error("out of memory");
			status = BW_EXIT_ERROR;
		}
	} else {
		print_text(cs);
	}
	if (fflush(stdout) != 0 && status == BW_EXIT_OK) {
		bw_cli_error("cannot write the output");
		status = BW_EXIT_ERROR;
	}
out:
	bw_campaigns_free(cs);
	bw_store_close(st);
	bw_geo_free(geo);
	return status;
}
