/*
 * cli.h - what the subcommands of the bulwark command share: exit codes,
 * the store path, and the table of commands.
 *
 * The command is a thin front end: each cmd_*.c parses its options, calls
 * libbulwark, prints, and picks an exit status.
 */
#ifndef BW_CLI_CLI_H
#define BW_CLI_CLI_H

#include <getopt.h>

enum bw_exit {
	BW_EXIT_OK = 0,
	BW_EXIT_ERROR = 1,    /* a file refused, an I/O or store error */
	BW_EXIT_USAGE = 2,
	BW_EXIT_REJECTS = 3,  /* some records were rejected */
};

#define BW_DEFAULT_DB "var/bulwark.db"

/* The store path: --db if given, else $BULWARK_DB, else var/bulwark.db. */
const char *bw_cli_db_path(const char *opt);

/* The index snapshot file beside the store db ("DB.index", which `match`
 * reads and writes and `serve` and `ingest` keep current), allocated with
 * bw_malloc;
 * NULL when out of memory. */
char *bw_cli_snapshot_path(const char *db);

/* Prints "bulwark CMD: message" and the usage hint to stderr; returns
 * BW_EXIT_USAGE. */
int bw_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints "bulwark: message" to stderr. */
void bw_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints j and a newline, on one line when compact (the small objects a
 * change prints, for scripts) or indented, and releases j; BW_ENOMEM when
 * j is NULL or cannot be formatted. */
struct json_t;
int bw_cli_print_json(int compact, struct json_t *j);

/* Parses a whole decimal number in [lo, hi]; returns 0 on success. */
int bw_cli_parse_int(const char *s, long lo, long hi, long *out);

/* One long option of a command and where its value goes: str (it takes an
 * argument, kept as given), flag (no argument; set to 1) or num (a whole
 * number in [lo, hi]; anything else is a usage error "--NAME takes
 * WHAT"). */
struct bw_cli_opt {
	const char *name;
	const char **str;
	int *flag;
	long *num;
	long lo, hi;
	const char *what;
};
#define BW_CLI_OPTS_MAX 48

/* Parses the options of argv (getopt_long, from argv[1]) by tab, which
 * ends with a NULL name, plus --help and -h; optind is left at the first
 * operand.  Returns -1 to go on, or the exit status the command returns:
 * BW_EXIT_OK after --help (usage on stdout), BW_EXIT_USAGE after an
 * unknown option or a bad number (usage or the reason on stderr). */
int bw_cli_options(int argc, char **argv, const char *cmd, const char *usage,
		   const struct bw_cli_opt *tab);

/* A per-file budget of messages on standard error: the first max messages
 * of each file are shown, then one line "FILE: MORE".  Zero
 * it before use; bw_cli_budget_reset() when a file ends.  more is the line
 * printed once the budget is spent ("more rejects not shown"). */
struct bw_cli_budget {
	const char *file;
	long n;
};
/* Returns 1 if the caller should print this message for file. */
int bw_cli_budget_take(struct bw_cli_budget *b, const char *file, long max,
		       const char *more);
void bw_cli_budget_reset(struct bw_cli_budget *b);

int bw_cmd_ingest(int argc, char **argv);
int bw_cmd_export(int argc, char **argv);
int bw_cmd_stats(int argc, char **argv);
int bw_cmd_match(int argc, char **argv);
int bw_cmd_tenant(int argc, char **argv);
int bw_cmd_serve(int argc, char **argv);
int bw_cmd_contact(int argc, char **argv);
int bw_cmd_incident(int argc, char **argv);
int bw_cmd_outbox(int argc, char **argv);
/* `bulwark tenant notify` (cmd_outbox.c): argv[0] is "notify" */
int bw_cmd_tenant_notify(int argc, char **argv);
int bw_cmd_train(int argc, char **argv);
int bw_cmd_score(int argc, char **argv);
int bw_cmd_eval(int argc, char **argv);
/* The domain-risk model file: --model if given, else $BULWARK_MODEL, else
 * models/domain.model (cmd_score.c). */
const char *bw_cli_model_path(const char *opt);
int bw_cmd_lookalike(int argc, char **argv);
int bw_cmd_campaigns(int argc, char **argv);
int bw_cmd_report(int argc, char **argv);
int bw_cmd_authz(int argc, char **argv);
int bw_cmd_disrupt(int argc, char **argv);
int bw_cmd_audit(int argc, char **argv);

#endif
