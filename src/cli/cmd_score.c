/*
 * cmd_score.c - bulwark score: the domain-risk score of names, from the
 * command line or one per line on standard input.
 *
 * Output keeps the input order: a line that is not a name gets an error in
 * its place and scoring goes on.  Text output is "SCORE<TAB>NAME" (or
 * "-<TAB>NAME<TAB>error: REASON"); --json writes one object per line,
 * {"name", "score", "generated", "kind", "why"} or {"name", "error"}:
 * "score" is the score of record (generated or phishing), "generated" the
 * generated-names score, and "kind" for a score of 0.5 or more says which
 * it looks like ("generated" when the generated-names score is 0.5 or
 * more, else "phishing").  Plain output scores
 * blocks of names through bw_model_score_batch(); --json scores one name at
 * a time because each "why" needs a TreeSHAP pass.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ioc.h"
#include "core/mem.h"
#include "feed/reader.h"
#include "intel/model.h"

static const char usage_text[] =
	"usage: bulwark score [--model FILE] [--json] NAME...|-\n";

#define DEFAULT_MODEL "models/domain.model"
#define BLOCK 4096
/* names are echoed in errors up to this length */
#define ECHO_MAX 300

const char *
bw_cli_model_path(const char *opt)
{
	const char *env = getenv("BULWARK_MODEL");

	if (opt)
		return opt;
	if (env && *env)
		return env;
	return DEFAULT_MODEL;
}

struct block {
	char *input[BLOCK];    /* as given (trimmed) */
	char *canon[BLOCK];    /* canonical, or NULL */
	size_t clen[BLOCK];
	char reason[BLOCK][96];
	float score[BLOCK];
	int rcs[BLOCK];
	size_t n;
};

struct run {
	const struct bw_model *m;
	int json;
	size_t bad, total;
	struct bw_ioc ioc;
	struct block b;
};

static void
block_clear(struct block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		bw_free(b->input[i]);
		bw_free(b->canon[i]);
		b->input[i] = b->canon[i] = NULL;
	}
	b->n = 0;
}

static void
print_json(const struct run *r, const char *name, const char *error,
	   double score, double gen, const struct bw_model_why *why)
{
	json_t *o = json_object(), *arr;
	char *text;

	if (o == NULL)
		return;
	arr = json_stringn(name, strlen(name));
	json_object_set_new(o, "name", arr ? arr : json_string("(not UTF-8)"));
	if (error) {
		json_object_set_new(o, "error", json_string(error));
	} else {
		json_object_set_new(o, "score", json_real((double)(int)(score * 10000 + 0.5) / 10000));
		json_object_set_new(o, "generated",
				    json_real((double)(int)(gen * 10000 + 0.5) / 10000));
		if (score >= 0.5)
			json_object_set_new(o, "kind", json_string(gen >= 0.5 ? "generated"
									     : "phishing"));
		arr = json_array();
		for (int i = 0; arr && why && i < why->n; i++) {
			json_t *w = json_object();

			json_object_set_new(w, "feature",
					    json_string(bw_features_name(why->item[i].feature)));
			json_object_set_new(w, "value", json_real(why->item[i].value));
			json_object_set_new(w, "contribution",
					    json_real((double)(int)(why->item[i].contrib * 1000) / 1000));
			json_array_append_new(arr, w);
		}
		json_object_set_new(o, "why", arr);
	}
	(void)r;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (text) {
		puts(text);
		free(text);
	}
}

static int
flush_block(struct run *r)
{
	struct block *b = &r->b;
	struct bw_err err;
	const char *names[BLOCK];

	if (b->n == 0)
		return 0;
	if (!r->json) {
		size_t k = 0;
		size_t idx[BLOCK];
		size_t lens[BLOCK];
		float sc[BLOCK];
		int rcs[BLOCK];

		for (size_t i = 0; i < b->n; i++)
			if (b->canon[i]) {
				names[k] = b->canon[i];
				lens[k] = b->clen[i];
				idx[k++] = i;
			}
		if (k && bw_model_score_batch(r->m, names, lens, k, sc, rcs, &err)) {
			bw_cli_error("%s", err.msg);
			return -1;
		}
		for (size_t i = 0, j = 0; i < b->n; i++) {
			if (j < k && idx[j] == i) {
				if (rcs[j] == BW_OK) {
					printf("%.4f\t%s\n", (double)sc[j], b->input[i]);
					j++;
					continue;
				}
				/* the reason again, now with the message */
				bw_features_extract(bw_model_features(r->m), names[j],
						    lens[j], (float[BW_FEAT_N]){0}, &err);
				snprintf(b->reason[i], sizeof(b->reason[i]), "%s", err.msg);
				j++;
			}
			r->bad++;
			printf("-\t%s\terror: %s\n", b->input[i], b->reason[i]);
		}
	} else {
		for (size_t i = 0; i < b->n; i++) {
			struct bw_model_why why;
			double s, g;

			if (b->canon[i] == NULL) {
				r->bad++;
				print_json(r, b->input[i], b->reason[i], 0, 0, NULL);
				continue;
			}
			if (bw_model_score(r->m, b->canon[i], b->clen[i], &s, &why, &err) ||
			    bw_model_score_generated(r->m, b->canon[i], b->clen[i], &g,
						     &err)) {
				if (err.code != BW_EINVAL) {
					bw_cli_error("%s", err.msg);
					return -1;
				}
				r->bad++;
				print_json(r, b->input[i], err.msg, 0, 0, NULL);
				continue;
			}
			print_json(r, b->input[i], NULL, s, g, &why);
		}
	}
	block_clear(b);
	return 0;
}

static int
add_name(struct run *r, const char *s, size_t len)
{
	struct block *b = &r->b;
	struct bw_err err;
	size_t i;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	i = b->n;
	b->input[i] = bw_strndup(s, len > ECHO_MAX ? ECHO_MAX : len);
	b->canon[i] = NULL;
	b->reason[i][0] = '\0';
	if (b->input[i] == NULL) {
		bw_cli_error("out of memory");
		return -1;
	}
	b->n++;
	r->total++;
	if (bw_ioc_parse(s, len, BW_IOC_ANY, &r->ioc, &err) != BW_OK) {
		snprintf(b->reason[i], sizeof(b->reason[i]), "%s", err.msg);
	} else if (r->ioc.type != BW_IOC_DOMAIN && r->ioc.type != BW_IOC_URL) {
		snprintf(b->reason[i], sizeof(b->reason[i]),
			 "a%s %s, not a domain name or URL",
			 r->ioc.type == BW_IOC_IPV4 || r->ioc.type == BW_IOC_IPV6 ||
			 r->ioc.type == BW_IOC_EMAIL ? "n" : "",
			 bw_ioc_type_name(r->ioc.type));
	} else {
		b->canon[i] = bw_strndup(r->ioc.value, r->ioc.len);
		b->clen[i] = r->ioc.len;
		if (b->canon[i] == NULL) {
			bw_cli_error("out of memory");
			return -1;
		}
	}
	if (b->n == BLOCK)
		return flush_block(r);
	return 0;
}

int
bw_cmd_score(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL;
	struct run *r = NULL;
	struct bw_model *m = NULL;
	struct bw_reader *rd = NULL;
	struct bw_err err;
	int c, json = 0, status = BW_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'M': model = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return bw_cli_usage_error("score", "no names (give NAME... or - for "
					  "standard input)");
	if (bw_model_load(bw_cli_model_path(model), &m, &err)) {
		bw_cli_error("%s", err.msg);
		return BW_EXIT_ERROR;
	}
	r = bw_calloc(1, sizeof(*r));
	if (r == NULL) {
		bw_cli_error("out of memory");
		goto out;
	}
	r->m = m;
	r->json = json;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			const char *line;
			size_t len;
			long lineno;
			int too_long, got;

			if (bw_reader_open_stream("-", &rd, &err)) {
				bw_cli_error("%s", err.msg);
				goto out;
			}
			while ((got = bw_reader_line(rd, &line, &len, &lineno, &too_long,
						     &err)) == 1) {
				if (too_long) {
					line = "(line too long)";
					len = strlen(line);
				}
				if (len == 0)
					continue;
				if (add_name(r, line, len))
					goto out;
			}
			if (got < 0) {
				bw_cli_error("%s", err.msg);
				goto out;
			}
			bw_reader_free(rd);
			rd = NULL;
		} else if (add_name(r, argv[i], strlen(argv[i]))) {
			goto out;
		}
	}
	if (flush_block(r))
		goto out;
	status = r->bad ? BW_EXIT_REJECTS : BW_EXIT_OK;
out:
	fflush(stdout);
	if (r) {
		block_clear(&r->b);
		bw_free(r);
	}
	bw_reader_free(rd);
	bw_model_free(m);
	return status;
}
