/*
 * cmd_train.c - bulwark train: fit the domain-risk model (src/intel/model.h)
 * on lists of benign and malicious names and write the model file.
 *
 * Names are canonicalised, de-duplicated, and a name found in both classes
 * is dropped from both (label noise: a name cannot be both).  The word list
 * is compiled into the model file, so scoring never needs /usr/share/dict.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "intel/model.h"

static const char usage_text[] =
	"usage: bulwark train --benign FILE --malicious FILE [--generated FILE]\n"
	"                     [--out FILE] [--words FILE]... [--rounds N] [--depth N]\n"
	"                     [--eta X] [--generated-rounds N] [--generated-depth N]\n"
	"                     [--generated-eta X] [--generated-benign-weight X]\n"
	"                     [--benign-weight X] [--weight X] [--threads N]\n"
	"                     [--info JSON] [--dump-features FILE]\n";

#define DEFAULT_OUT "models/domain.model"
#define DEFAULT_WORDS "/usr/share/dict/american-english"
#define MAX_FILES 32
#define WORDS_FILE_MAX (32u * 1024 * 1024)

/* Appends the whole file to *buf (a word list). */
static int
slurp(const char *path, char **buf, size_t *len, size_t *cap)
{
	FILE *fp = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (fp == NULL) {
		bw_cli_error("%s: cannot open word list (install the wamerican "
			     "package or give --words FILE)", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		char *nb;

		if (*len + n + 2 > WORDS_FILE_MAX) {
			bw_cli_error("%s: word lists exceed %u bytes", path, WORDS_FILE_MAX);
			fclose(fp);
			return -1;
		}
		nb = bw_grow(*buf, cap, *len + n + 2, 1);
		if (nb == NULL) {
			bw_cli_error("out of memory");
			fclose(fp);
			return -1;
		}
		*buf = nb;
		memcpy(*buf + *len, chunk, n);
		*len += n;
	}
	fclose(fp);
	(*buf)[(*len)++] = '\n';
	return 0;
}

/* Reads the lists into l; ends[i] (if not NULL) gets l->n after file i. */
static int
read_lists(const char *const *files, int nfiles, struct bw_namelist *l,
	   size_t *ends)
{
	struct bw_err err;

	for (int i = 0; i < nfiles; i++) {
		size_t before = l->rejected;

		l->first_bad_line = 0;
		if (bw_namelist_read(l, files[i], BW_MODEL_TRAIN_MAX, &err)) {
			bw_cli_error("%s", err.msg);
			return -1;
		}
		if (l->rejected > before)
			fprintf(stderr,
				"bulwark train: %s: %zu lines are not domain names or "
				"URLs, skipped (first at line %ld: %s)\n",
				files[i], l->rejected - before, l->first_bad_line,
				l->first_bad);
		if (ends)
			ends[i] = l->n;
	}
	return 0;
}

int
bw_cmd_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{"benign", required_argument, NULL, 'b'},
		{"malicious", required_argument, NULL, 'm'},
		{"generated", required_argument, NULL, 'g'},
		{"out", required_argument, NULL, 'o'},
		{"words", required_argument, NULL, 'w'},
		{"rounds", required_argument, NULL, 'r'},
		{"depth", required_argument, NULL, 'd'},
		{"eta", required_argument, NULL, 'e'},
		{"generated-rounds", required_argument, NULL, 'R'},
		{"generated-eta", required_argument, NULL, 'E'},
		{"generated-depth", required_argument, NULL, 'T'},
		{"generated-benign-weight", required_argument, NULL, 'B'},
		{"benign-weight", required_argument, NULL, 'W'},
		{"weight", required_argument, NULL, 'x'},
		{"threads", required_argument, NULL, 't'},
		{"info", required_argument, NULL, 'i'},
		{"dump-features", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *benign[MAX_FILES], *malicious[MAX_FILES], *words[MAX_FILES];
	/* the weight and label (1 malicious, 2 generated) of each --malicious
	 * or --generated file's names, and where they end in lm */
	float mweight[MAX_FILES];
	uint8_t mkind[MAX_FILES];
	size_t mend[MAX_FILES];
	float *weights = NULL;
	int nbenign = 0, nmal = 0, nwords = 0, c, status = BW_EXIT_ERROR;
	const char *out = DEFAULT_OUT, *dump = NULL;
	struct bw_model_train_opts o;
	struct bw_namelist lb = {0}, lm = {0};
	struct bw_strmap *seen = NULL;
	struct bw_features *f = NULL;
	struct bw_model *m = NULL;
	struct bw_err err;
	const char **names = NULL;
	size_t *lens = NULL, n = 0, skipped = 0, conflicts = 0, dups = 0;
	uint8_t *labels = NULL;
	char *wbuf = NULL;
	size_t wlen = 0, wcap = 0;
	long v;
	struct stat sb;

	bw_model_train_defaults(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'm':
		case 'g':
		case 'w': {
			bool mal = c == 'm' || c == 'g';
			const char **arr = c == 'b' ? benign : mal ? malicious : words;
			int *cnt = c == 'b' ? &nbenign : mal ? &nmal : &nwords;

			if (*cnt == MAX_FILES)
				return bw_cli_usage_error("train", "at most %d files per option",
							  MAX_FILES);
			if (mal) {
				mweight[nmal] = 1.0f;
				mkind[nmal] = c == 'g' ? 2 : 1;
			}
			arr[(*cnt)++] = optarg;
			break;
		}
		case 'o': out = optarg; break;
		case 'i': o.info = optarg; break;
		case 'D': dump = optarg; break;
		case 'r':
		case 'R':
		case 'd':
		case 'T': {
			/* rounds 1 to 5000, depths 1 to 16, of either booster */
			int hi = c == 'r' || c == 'R' ? 5000 : 16;
			int *to = c == 'r' ? &o.rounds : c == 'R' ? &o.gen_rounds
				: c == 'd' ? &o.depth : &o.gen_depth;

			if (bw_cli_parse_int(optarg, 1, hi, &v))
				return bw_cli_usage_error("train", "--%s%s: 1 to %d",
							  c == 'R' || c == 'T' ? "generated-" : "",
							  hi == 16 ? "depth" : "rounds", hi);
			*to = (int)v;
			break;
		}
		case 'e':
		case 'E':
		case 'B':
		case 'W':
		case 'x': {
			char *end;
			double x = strtod(optarg, &end);

			if (*optarg == '\0' || *end != '\0' || !(x > 0 && x <= 100))
				return bw_cli_usage_error("train", "--%s: a number above 0, "
							  "at most 100", c == 'e' ? "eta"
							  : c == 'E' ? "generated-eta"
							  : c == 'B' ? "generated-benign-weight"
							  : c == 'W' ? "benign-weight" : "weight");
			if (c == 'e')
				o.eta = x;
			else if (c == 'E')
				o.gen_eta = x;
			else if (c == 'B')
				o.gen_benign_weight = x;
			else if (c == 'W')
				o.benign_weight = x;
			else if (nmal == 0)
				return bw_cli_usage_error("train", "--weight follows the "
							  "--malicious or --generated file "
							  "it weighs");
			else
				mweight[nmal - 1] = (float)x;
			break;
		}
		case 't':
			if (bw_cli_parse_int(optarg, 1, 256, &v))
				return bw_cli_usage_error("train", "--threads: 1 to 256");
			o.threads = (int)v;
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
		return bw_cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
	if (nbenign == 0 || nmal == 0)
		return bw_cli_usage_error("train", "--benign and --malicious (or "
					  "--generated) are required");
	if (nwords == 0) {
		if (stat(DEFAULT_WORDS, &sb) != 0) {
			bw_cli_error("no word list: %s is missing (install the wamerican "
				     "package or give --words FILE)", DEFAULT_WORDS);
			return BW_EXIT_ERROR;
		}
		words[nwords++] = DEFAULT_WORDS;
	}
	for (int i = 0; i < nwords; i++)
		if (slurp(words[i], &wbuf, &wlen, &wcap))
			goto out;
	if (read_lists(benign, nbenign, &lb, NULL) ||
	    read_lists(malicious, nmal, &lm, mend))
		goto out;
	if (lb.n + lm.n > BW_MODEL_TRAIN_MAX) {
		bw_cli_error("more than %d training names", BW_MODEL_TRAIN_MAX);
		goto out;
	}
	/* de-duplicate; a name in both classes goes (value: bit 1 benign, bit
	 * 2 malicious, and above them 1 + the index of the first --malicious
	 * file that holds it, for its weight) */
	if (bw_strmap_new(lb.n + lm.n + 1, &seen, &err))
		goto fail;
	for (int cls = 0; cls < 2; cls++) {
		struct bw_namelist *l = cls ? &lm : &lb;

		for (size_t i = 0; i < l->n; i++) {
			uintptr_t have = (uintptr_t)bw_strmap_get(seen, l->names[i],
								 l->lens[i]);
			uintptr_t bit = cls ? 2 : 1;

			if (have & bit) {
				dups++;
				continue;
			}
			if (cls) {
				uintptr_t file = 0;

				while (file + 1 < (uintptr_t)nmal && i >= mend[file])
					file++;
				bit |= (file + 1) << 2;
			}
			if (bw_strmap_put(seen, l->names[i], l->lens[i],
					  (void *)(have | bit), &err))
				goto fail;
		}
	}
	names = bw_calloc(lb.n + lm.n + 1, sizeof(*names));
	lens = bw_calloc(lb.n + lm.n + 1, sizeof(*lens));
	labels = bw_calloc(lb.n + lm.n + 1, 1);
	weights = bw_calloc(lb.n + lm.n + 1, sizeof(*weights));
	if (names == NULL || lens == NULL || labels == NULL || weights == NULL) {
		bw_cli_error("out of memory");
		goto out;
	}
	{
		size_t pos = 0;
		const char *key;
		size_t klen;
		void *val;

		while (bw_strmap_next(seen, &pos, &key, &klen, &val)) {
			uintptr_t have = (uintptr_t)val;

			if ((have & 3) == 3) {
				conflicts++;
				continue;
			}
			names[n] = key;
			lens[n] = klen;
			labels[n] = (have & 3) == 2 ? mkind[(have >> 2) - 1] : 0;
			weights[n] = labels[n] ? mweight[(have >> 2) - 1] : 1.0f;
			n++;
		}
	}
	if (bw_features_new(wbuf, wlen, &f, &err))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (bw_features_count(f, names[i], lens[i], labels[i], NULL))
			skipped++;
	if (bw_features_finish(f, &err))
		goto fail;
	if (dump) {
		if (bw_model_dump_features(f, names, lens, labels, n, 1, dump, &err))
			goto fail;
		fprintf(stderr, "bulwark train: wrote the feature rows to %s\n", dump);
	}
	o.weights = weights;
	if (bw_model_train(f, names, lens, labels, n, &o, &skipped, &m, &err)) {
		f = NULL; /* taken over */
		goto fail;
	}
	f = NULL;
	if (bw_model_save(m, out, &err))
		goto fail;
	if (stat(out, &sb) != 0)
		sb.st_size = 0;
	printf("trained on %zu names (%zu duplicates and %zu names in both classes "
	       "dropped, %zu not usable), %zu words; wrote %s (%lld bytes)\n",
	       n - skipped, dups, conflicts, skipped,
	       bw_features_word_count(bw_model_features(m)), out,
	       (long long)sb.st_size);
	status = BW_EXIT_OK;
	goto out;
fail:
	bw_cli_error("%s", err.msg);
out:
	bw_model_free(m);
	bw_features_free(f);
	bw_strmap_free(seen);
	bw_free(names);
	bw_free(lens);
	bw_free(labels);
	bw_free(weights);
	bw_free(wbuf);
	bw_namelist_free(&lb);
	bw_namelist_free(&lm);
	return status;
}
