/*
 * cmd_eval.c - bulwark eval: how well the domain-risk model separates a
 * list of benign names from a list of malicious ones: ROC AUC and the true
 * positive rate at 0.1% and 1% false positives, with the counts behind
 * each figure (bw_model_roc in src/intel/model.h).  --score generated
 * measures the model's generated-names score instead of the score of
 * record (any malicious), for the goals on DGA names.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "intel/model.h"

static const char usage_text[] =
	"usage: bulwark eval --benign FILE --malicious FILE [--model FILE] [--json]\n"
	"                    [--score any|generated] [--dump-features FILE]\n";

#define EVAL_MAX 5000000

static int
read_list(const char *path, struct bw_namelist *l)
{
	struct bw_err err;

	if (bw_namelist_read(l, path, EVAL_MAX, &err)) {
		bw_cli_error("%s", err.msg);
		return -1;
	}
	if (l->rejected)
		fprintf(stderr,
			"bulwark eval: %s: %zu lines are not domain names or URLs, "
			"skipped (first at line %ld: %s)\n",
			path, l->rejected, l->first_bad_line, l->first_bad);
	return 0;
}

/* Scores the names of l into *out: the score of record, or with gen the
 * generated-names score. */
static int
score_list(const struct bw_model *m, const struct bw_namelist *l, int gen,
	   float **out, size_t *unscored)
{
	struct bw_err err;
	float *s = bw_malloc((l->n ? l->n : 1) * sizeof(*s));
	float *g = gen ? bw_malloc((l->n ? l->n : 1) * sizeof(*g)) : NULL;

	*out = NULL;
	if (s == NULL || (gen && g == NULL)) {
		bw_cli_error("out of memory");
		bw_free(s);
		bw_free(g);
		return -1;
	}
	if (bw_model_score_batch_both(m, (const char *const *)l->names, l->lens, l->n, s,
				  g, NULL, &err)) {
		bw_cli_error("%s", err.msg);
		bw_free(s);
		bw_free(g);
		return -1;
	}
	if (gen) {
		bw_free(s);
		s = g;
	}
	for (size_t i = 0; i < l->n; i++)
		*unscored += s[i] < 0;
	*out = s;
	return 0;
}

int
bw_cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{"benign", required_argument, NULL, 'b'},
		{"malicious", required_argument, NULL, 'm'},
		{"model", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},
		{"score", required_argument, NULL, 's'},
		{"dump-features", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *benign = NULL, *malicious = NULL, *model = NULL, *dump = NULL;
	struct bw_namelist lb = {0}, lm = {0};
	struct bw_model *m = NULL;
	struct bw_model_roc roc;
	struct bw_err err;
	float *sb = NULL, *sm = NULL;
	size_t unscored = 0;
	int c, json = 0, gen = 0, status = BW_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': benign = optarg; break;
		case 'm': malicious = optarg; break;
		case 'M': model = optarg; break;
		case 'j': json = 1; break;
		case 's':
			if (strcmp(optarg, "any") != 0 && strcmp(optarg, "generated") != 0)
				return bw_cli_usage_error("eval", "--score: any or generated");
			gen = optarg[0] == 'g';
			break;
		case 'D': dump = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return bw_cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
	if (benign == NULL || malicious == NULL)
		return bw_cli_usage_error("eval", "--benign and --malicious are required");
	if (bw_model_load(bw_cli_model_path(model), &m, &err)) {
		bw_cli_error("%s", err.msg);
		return BW_EXIT_ERROR;
	}
	if (read_list(benign, &lb) || read_list(malicious, &lm))
		goto out;
	if (score_list(m, &lb, gen, &sb, &unscored) ||
	    score_list(m, &lm, gen, &sm, &unscored))
		goto out;
	if (bw_model_roc(sb, lb.n, sm, lm.n, &roc, &err)) {
		bw_cli_error("%s", err.msg);
		goto out;
	}
	if (dump) {
		/* the same names, benign first, as LIBSVM rows */
		size_t n = lb.n + lm.n;
		const char **names = bw_calloc(n + 1, sizeof(*names));
		size_t *lens = bw_calloc(n + 1, sizeof(*lens));
		uint8_t *labels = bw_calloc(n + 1, 1);
		int rc = BW_ENOMEM;

		if (names && lens && labels) {
			for (size_t i = 0; i < n; i++) {
				const struct bw_namelist *l = i < lb.n ? &lb : &lm;
				size_t k = i < lb.n ? i : i - lb.n;

				names[i] = l->names[k];
				lens[i] = l->lens[k];
				labels[i] = i >= lb.n;
			}
			rc = bw_model_dump_features(bw_model_features(m), names, lens,
						    labels, n, 0, dump, &err);
		} else {
			bw_err_set(&err, BW_ENOMEM, "out of memory");
		}
		bw_free(names);
		bw_free(lens);
		bw_free(labels);
		if (rc) {
			bw_cli_error("%s", err.msg);
			goto out;
		}
	}
	if (json) {
		printf("{\"score\":\"%s\",\"benign\":%zu,\"malicious\":%zu,"
		       "\"unscored\":%zu,\"auc\":%.6f", gen ? "generated" : "any",
		       roc.benign, roc.malicious, unscored, roc.auc);
		for (int k = 0; k < 2; k++)
			printf(",\"at_fpr_%s\":{\"threshold\":%.6f,\"tpr\":%.6f,"
			       "\"fpr\":%.6f,\"tp\":%zu,\"fp\":%zu}",
			       k ? "1" : "0.1", roc.at[k].threshold, roc.at[k].tpr,
			       roc.at[k].fpr, roc.at[k].tp, roc.at[k].fp);
		printf("}\n");
	} else {
		printf("score       %s\nbenign      %zu\nmalicious   %zu\n",
		       gen ? "generated" : "any", roc.benign, roc.malicious);
		if (unscored)
			printf("unscored    %zu\n", unscored);
		printf("roc_auc     %.4f\n", roc.auc);
		for (int k = 0; k < 2; k++)
			printf("tpr@%-4s    %.4f  (%zu of %zu malicious; %zu of %zu benign "
			       "above %.4f, fpr %.4f)\n",
			       k ? "1%" : "0.1%", roc.at[k].tpr, roc.at[k].tp,
			       roc.malicious, roc.at[k].fp, roc.benign,
			       roc.at[k].threshold, roc.at[k].fpr);
	}
	status = BW_EXIT_OK;
out:
	bw_free(sb);
	bw_free(sm);
	bw_namelist_free(&lb);
	bw_namelist_free(&lm);
	bw_model_free(m);
	return status;
}
