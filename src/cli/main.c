/*
 * main.c - the bulwark command: dispatch to a subcommand.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"

#ifndef BW_VERSION
#define BW_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"ingest", bw_cmd_ingest, "read feeds (STIX, MISP, CSV, plain, hosts, DROP) into the store"},
	{"export", bw_cmd_export, "write the store as STIX, MISP, CSV or a plain list"},
	{"stats", bw_cmd_stats, "count indicators by type, source and TLP"},
	{"match", bw_cmd_match, "match DNS, proxy and flow logs against the indicators"},
	{"tenant", bw_cmd_tenant, "manage the programme's tenants and their API keys"},
	{"report", bw_cmd_report, "write a tenant's periodic report as HTML, PDF or JSON"},
	{"serve", bw_cmd_serve, "run the daemon: health, metrics and the real-time check API"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: bulwark COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'bulwark COMMAND --help' or 'man bulwark-COMMAND' for details.\n");
}

int
main(int argc, char **argv)
{
	/* jansson allocates through the library's one allocation path too. */
	json_set_alloc_funcs(bw_malloc, bw_free);
	if (argc < 2) {
		usage(stderr);
		return BW_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return BW_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("bulwark %s\n", BW_VERSION);
		return BW_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bulwark: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return BW_EXIT_USAGE;
}
