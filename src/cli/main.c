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
	{"contact", bw_cmd_contact, "manage a tenant's points of contact and escalation levels"},
	{"incident", bw_cmd_incident, "list, show, acknowledge and close incidents"},
	{"outbox", bw_cmd_outbox, "list, show and replay outgoing notifications"},
	{"train", bw_cmd_train, "train the domain-risk model on benign and malicious names"},
	{"score", bw_cmd_score, "score names with the domain-risk model"},
	{"eval", bw_cmd_eval, "measure the domain-risk model (ROC AUC, TPR at low FPR)"},
	{"lookalike", bw_cmd_lookalike, "find names that imitate protected brands; tag them in the store"},
	{"campaigns", bw_cmd_campaigns, "group indicators that share infrastructure or context"},
	{"authz", bw_cmd_authz, "record and revoke the legal authorisations of disruption"},
	{"disrupt", bw_cmd_disrupt, "propose, approve, revoke and list disruption actions; run the policy"},
	{"audit", bw_cmd_audit, "verify, sign and read the tamper-evident audit log"},
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
