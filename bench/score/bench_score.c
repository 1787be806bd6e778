/*
 * bench_score - names per second of the domain-risk model in batch
 * (bw_model_score_batch: the score of record; bw_model_score_batch_both: that
 * and the generated-names score, as bulwark eval --score generated uses),
 * on one thread, and how the time splits between feature extraction and
 * the trees.
 *
 *   bench_score MODEL NAMES_FILE [REPEAT]
 *
 * Names are read once into memory (one per line, canonical), then scored
 * REPEAT times (default 5); the median of the runs is printed.  The peer is
 * XGBoost's own predictor on the same feature rows (the booster of the
 * model file's XGBM section, one thread, blocks of 4096 rows).  Times are
 * the thread's CPU time (XGBoost is told to use one thread).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

#include "core/mem.h"
#include "intel/model.h"

/* CPU time of this thread: on a shared machine the wall clock counts the
 * time other processes had the core; this counts ours only. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The XGBM section of a model file (format in src/intel/model.h). */
static BoosterHandle
load_booster(const char *path)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf;
	long n;
	size_t pos = 24;
	unsigned count;
	BoosterHandle b = NULL;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = bw_malloc((size_t)n);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		bw_free(buf);
		return NULL;
	}
	fclose(fp);
	count = buf[12] | buf[13] << 8;
	for (unsigned i = 0; i < count && pos + 16 <= (size_t)n; i++) {
		unsigned long long len = 0;

		for (int k = 7; k >= 0; k--)
			len = len << 8 | buf[pos + 8 + (size_t)k];
		if (memcmp(buf + pos, "XGBM", 4) == 0 && XGBoosterCreate(NULL, 0, &b) == 0) {
			if (XGBoosterLoadModelFromBuffer(b, buf + pos + 16, len) ||
			    XGBoosterSetParam(b, "nthread", "1")) {
				XGBoosterFree(b);
				b = NULL;
			}
			break;
		}
		pos += 16 + (size_t)len;
	}
	bw_free(buf);
	return b;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct bw_model *m = NULL;
	struct bw_err err;
	FILE *fp;
	char line[4200];
	char **names = NULL;
	size_t *lens = NULL, n = 0, cap = 0, capl = 0, bad = 0;
	float *scores, *gen, x[BW_FEAT_N];
	double t[32], t2[32], f[32], p[32], sum = 0, maxdiff = 0;
	float *rows;
	BoosterHandle booster;
	int repeat = argc > 3 ? atoi(argv[3]) : 5; /* bench tool, not library */

	if (argc < 3) {
		fprintf(stderr, "usage: bench_score MODEL NAMES [REPEAT]\n");
		return 2;
	}
	if (repeat < 1 || repeat > 31)
		repeat = 5;
	if (bw_model_load(argv[1], &m, &err)) {
		fprintf(stderr, "bench_score: %s\n", err.msg);
		return 1;
	}
	fp = fopen(argv[2], "r");
	if (fp == NULL) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), fp)) {
		size_t l = strcspn(line, "\r\n");

		if (l == 0)
			continue;
		names = bw_grow(names, &cap, n + 1, sizeof(*names));
		lens = bw_grow(lens, &capl, n + 1, sizeof(*lens));
		if (!names || !lens)
			return 1;
		names[n] = bw_strndup(line, l);
		lens[n++] = l;
	}
	fclose(fp);
	scores = bw_malloc((n ? n : 1) * sizeof(*scores));
	gen = bw_malloc((n ? n : 1) * sizeof(*gen));
	if (scores == NULL || gen == NULL)
		return 1;
	rows = bw_malloc((n ? n : 1) * BW_FEAT_N * sizeof(*rows));
	booster = load_booster(argv[1]);
	if (rows == NULL || booster == NULL) {
		fprintf(stderr, "bench_score: cannot load the booster of %s\n", argv[1]);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (bw_features_extract(bw_model_features(m), names[i], lens[i],
					rows + i * BW_FEAT_N, NULL))
			for (int k = 0; k < BW_FEAT_N; k++)
				rows[i * BW_FEAT_N + k] = 0.0f / 0.0f;
	for (int r = 0; r < repeat; r++) {
		double a = now();

		if (bw_model_score_batch(m, (const char *const *)names, lens, n, scores,
					 NULL, &err)) {
			fprintf(stderr, "bench_score: %s\n", err.msg);
			return 1;
		}
		t[r] = now() - a;
		a = now();
		if (bw_model_score_batch_both(m, (const char *const *)names, lens, n, scores,
					  gen, NULL, &err)) {
			fprintf(stderr, "bench_score: %s\n", err.msg);
			return 1;
		}
		t2[r] = now() - a;
		a = now();
		for (size_t i = 0; i < n; i++)
			if (bw_features_extract(bw_model_features(m), names[i], lens[i], x,
						NULL))
				bad++;
		f[r] = now() - a;
		a = now();
		for (size_t at = 0; at < n; at += 4096) {
			size_t k = n - at < 4096 ? n - at : 4096;
			char arr[160];
			const bst_ulong *shape;
			bst_ulong dim;
			const float *res;

			snprintf(arr, sizeof(arr),
				 "{\"data\": [%llu, true], \"shape\": [%zu, %d], "
				 "\"typestr\": \"<f4\", \"version\": 3}",
				 (unsigned long long)(uintptr_t)(rows + at * BW_FEAT_N), k,
				 BW_FEAT_N);
			if (XGBoosterPredictFromDense(booster, arr,
						      "{\"type\": 0, \"training\": false, "
						      "\"iteration_begin\": 0, \"iteration_end\": 0, "
						      "\"strict_shape\": false, \"missing\": NaN, "
						      "\"cache_id\": 0}",
						      NULL, &shape, &dim, &res)) {
				fprintf(stderr, "bench_score: %s\n", XGBGetLastError());
				return 1;
			}
			/* the compiled trees must give XGBoost's scores */
			for (size_t i = 0; i < k; i++) {
				double dd = scores[at + i] < 0 ? 0
					    : fabs((double)scores[at + i] - (double)res[i]);

				if (dd > maxdiff)
					maxdiff = dd;
			}
		}
		p[r] = now() - a;
	}
	for (size_t i = 0; i < n; i++)
		sum += scores[i];
	qsort(t, (size_t)repeat, sizeof(t[0]), cmp_double);
	qsort(t2, (size_t)repeat, sizeof(t2[0]), cmp_double);
	qsort(f, (size_t)repeat, sizeof(f[0]), cmp_double);
	qsort(p, (size_t)repeat, sizeof(p[0]), cmp_double);
	printf("names %zu  not-names %zu  runs %d  mean score %.4f\n", n,
	       bad / (size_t)repeat, repeat, n ? sum / (double)n : 0);
	printf("batch score   median %.3f s  %.0f names/s  %.2f us/name\n",
	       t[repeat / 2], (double)n / t[repeat / 2], t[repeat / 2] * 1e6 / (double)n);
	printf("features only median %.3f s  %.0f names/s  (prediction %.0f%% of the time)\n",
	       f[repeat / 2], (double)n / f[repeat / 2],
	       100.0 * (t[repeat / 2] - f[repeat / 2]) / t[repeat / 2]);
	printf("both scores   median %.3f s  %.0f names/s  %.2f us/name  "
	       "(score of record and generated-names score)\n",
	       t2[repeat / 2], (double)n / t2[repeat / 2],
	       t2[repeat / 2] * 1e6 / (double)n);
	printf("goal (issue 5): 500000 names/s per core in batch: %s "
	       "(score of record %s, both scores %s)\n",
	       (double)n / t2[repeat / 2] >= 500000 ? "met" : "NOT met",
	       (double)n / t[repeat / 2] >= 500000 ? "met" : "NOT met",
	       (double)n / t2[repeat / 2] >= 500000 ? "met" : "NOT met");
	printf("largest difference from XGBoost's own scores: %.2g\n", maxdiff);
	printf("peer: XGBoost's predictor on the same rows  median %.3f s  %.0f rows/s"
	       "  (compiled trees: %.0f rows/s, %.1fx)\n", p[repeat / 2],
	       (double)n / p[repeat / 2], (double)n / (t[repeat / 2] - f[repeat / 2]),
	       p[repeat / 2] / (t[repeat / 2] - f[repeat / 2]));
	XGBoosterFree(booster);
	bw_free(rows);
	for (size_t i = 0; i < n; i++)
		bw_free(names[i]);
	bw_free(names);
	bw_free(lens);
	bw_free(scores);
	bw_free(gen);
	bw_model_free(m);
	return 0;
}
