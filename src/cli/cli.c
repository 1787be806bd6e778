/*
 * cli.c - helpers shared by the subcommands.
 */
#include "cli/cli.h"
#include "core/err.h"
#include "core/mem.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
bw_cli_db_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	env = getenv("BULWARK_DB");
	if (env != NULL && env[0] != '\0')
		return env;
	return BW_DEFAULT_DB;
}

char *
bw_cli_snapshot_path(const char *db)
{
	size_t n = strlen(db);
	char *p = bw_malloc(n + sizeof(".index"));

	if (p != NULL) {
		memcpy(p, db, n);
		memcpy(p + n, ".index", sizeof(".index"));
	}
	return p;
}

int
bw_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bulwark %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'man bulwark-%s' or 'bulwark %s --help'.\n", cmd, cmd);
	return BW_EXIT_USAGE;
}

void
bw_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bulwark: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
bw_cli_options(int argc, char **argv, const char *cmd, const char *usage,
	       const struct bw_cli_opt *tab)
{
	struct option lo[BW_CLI_OPTS_MAX + 2];
	size_t n = 0;
	int c;

	for (; tab[n].name; n++) {
		/* a command's own table: a programming error, not input */
		if (n == BW_CLI_OPTS_MAX)
			return bw_cli_usage_error(cmd, "more than %d options", BW_CLI_OPTS_MAX);
		lo[n].name = tab[n].name;
		lo[n].has_arg = tab[n].flag ? no_argument : required_argument;
		lo[n].flag = NULL;
		lo[n].val = 256 + (int)n;
	}
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		const struct bw_cli_opt *o;

		if (c == 'h') {
			fputs(usage, stdout);
			return BW_EXIT_OK;
		}
		if (c < 256 || c >= 256 + (int)n) {
			fputs(usage, stderr);
			return BW_EXIT_USAGE;
		}
		o = &tab[c - 256];
		if (o->flag)
			*o->flag = 1;
		else if (o->num && bw_cli_parse_int(optarg, o->lo, o->hi, o->num))
			return bw_cli_usage_error(cmd, "--%s takes %s", o->name, o->what);
		else if (o->str)
			*o->str = optarg;
	}
	return -1;
}

int
bw_cli_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
bw_cli_budget_take(struct bw_cli_budget *b, const char *file, long max,
		   const char *more)
{
	if (b->file != file) {
		b->file = file;
		b->n = 0;
	}
	if (b->n == max)
		fprintf(stderr, "%s: %s\n", file, more);
	return b->n++ < max;
}

void
bw_cli_budget_reset(struct bw_cli_budget *b)
{
	b->file = NULL;
	b->n = 0;
}

int
bw_cli_print_json(int compact, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_PRESERVE_ORDER |
					       (compact ? JSON_COMPACT : JSON_INDENT(2)))
		       : NULL;

	json_decref(j);
	if (text == NULL)
		return BW_ENOMEM;
	printf("%s\n", text);
	bw_free(text); /* jansson allocates through bw_malloc (main.c) */
	return BW_OK;
}
