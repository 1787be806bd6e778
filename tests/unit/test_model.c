/*
 * test_model.c - the domain-risk model (src/intel/model.h): training on a
 * small generated set, scores (of record and generated-names), the batch
 * path against single scores, the "why", save/load, every refusal of a bad model file, and the ROC
 * arithmetic against figures worked out by hand.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "intel/model.h"
#include "tap.h"

static const char words[] = "blue\nriver\nstone\ngarden\nhouse\nlight\nwater\n"
			    "green\nmount\nnorth\nsouth\nfield\nbridge\nforest\n";
static const char *const parts[] = {"blue", "river", "stone", "garden",
	"house", "light", "water", "green", "mount", "north", "south", "field",
	"bridge", "forest"};

/* A deterministic generator: benign names are two words, malicious ones
 * random consonant strings under .top. */
static unsigned long rng = 12345;

static unsigned
next(void)
{
	rng = rng * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(rng >> 33);
}

static void
gen(char *buf, size_t cap, int bad)
{
	if (bad) {
		static const char cons[] = "bcdfghjklmnpqrstvwxz0123456789";
		size_t n = 8 + next() % 8, i;

		for (i = 0; i < n && i + 5 < cap; i++)
			buf[i] = cons[next() % (sizeof(cons) - 1)];
		snprintf(buf + i, cap - i, ".top");
	} else {
		snprintf(buf, cap, "%s%s.com", parts[next() % 14], parts[next() % 14]);
	}
}

static char tmpdir[] = "/tmp/bw-test-model-XXXXXX";

static struct bw_model *
train_small(void)
{
	enum { N = 600 };
	static char store[N][40];
	const char *names[N];
	size_t lens[N], skipped;
	uint8_t labels[N];
	struct bw_features *f = NULL;
	struct bw_model *m = NULL;
	struct bw_model_train_opts o;
	struct bw_err err;

	for (int i = 0; i < N; i++) {
		/* half the malicious names are "generated" (label 2): they also
		 * train the ngram_gen regression */
		labels[i] = (uint8_t)(i % 2 ? 1 + (i % 4 == 1) : 0);
		gen(store[i], sizeof(store[i]), i % 2);
		names[i] = store[i];
		lens[i] = strlen(store[i]);
	}
	if (bw_features_new(words, strlen(words), &f, &err)) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	for (int i = 0; i < N; i++)
		bw_features_count(f, names[i], lens[i], labels[i], NULL);
	bw_features_finish(f, NULL);
	bw_model_train_defaults(&o);
	o.rounds = 20;
	o.depth = 3;
	o.info = "{\"data\":\"unit test\"}";
	if (bw_model_train(f, names, lens, labels, N, &o, &skipped, &m, &err)) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	CHECK_INT(skipped, 0);
	return m;
}

static void
test_train_score(void)
{
	struct bw_model *m = train_small(), *l = NULL;
	struct bw_model_why why;
	struct bw_err err;
	double good, bad, ggood, gbad, s2;
	char path[128];

	if (!CHECK(m != NULL))
		return;
	CHECK(strstr(bw_model_meta(m), "\"unit test\"") != NULL);
	CHECK(strstr(bw_model_meta(m), "\"ngram_lr\"") != NULL);
	CHECK(strstr(bw_model_meta(m), "\"ngram_gen\"") != NULL);
	/* the generated-names booster saw the 150 names of label 2 only */
	CHECK(strstr(bw_model_meta(m), "\"generated\":150,") != NULL);
	CHECK(strstr(bw_model_meta(m), "\"generated_rounds\":40,") != NULL);
	{
		float x[BW_FEAT_N];

		CHECK_INT(bw_features_extract(bw_model_features(m), "qzx7kvbn3t.top", 14,
					      x, NULL), BW_OK);
		CHECK(!isnan(x[BW_FEAT_NGRAM_LR]) && !isnan(x[BW_FEAT_NGRAM_GEN]));
	}
	/* names the model did not see */
	CHECK_INT(bw_model_score(m, "stonebridge.com", 15, &good, NULL, &err), BW_OK);
	CHECK_INT(bw_model_score(m, "qzx7kvbn3t.top", 14, &bad, &why, &err), BW_OK);
	CHECK(good >= 0 && good < 0.5);
	CHECK(bad > 0.5 && bad <= 1);
	CHECK(why.n >= 1);
	for (int i = 0; i < why.n; i++)
		CHECK(why.item[i].contrib > 0 && bw_features_name(why.item[i].feature));
	CHECK_INT(bw_model_score(m, "10.0.0.1", 8, &s2, NULL, &err), BW_EINVAL);
	CHECK(s2 == -1);
	CHECK_INT(bw_model_score_generated(m, "stonebridge.com", 15, &ggood, &err), BW_OK);
	CHECK_INT(bw_model_score_generated(m, "qzx7kvbn3t.top", 14, &gbad, &err), BW_OK);
	CHECK(ggood >= 0 && ggood < 0.5);
	CHECK(gbad > 0.5 && gbad <= 1);
	/* two boosters: the scores are not copies of each other */
	CHECK(gbad != bad);
	CHECK_INT(bw_model_score_generated(m, "10.0.0.1", 8, &s2, &err), BW_EINVAL);
	CHECK(s2 == -1);

	/* save and load: the same scores */
	snprintf(path, sizeof(path), "%s/m.model", tmpdir);
	CHECK_INT(bw_model_save(m, path, &err), BW_OK);
	CHECK_INT(bw_model_load(path, &l, &err), BW_OK);
	if (l) {
		CHECK_INT(bw_model_score(l, "qzx7kvbn3t.top", 14, &s2, NULL, &err), BW_OK);
		CHECK(s2 == bad);
		CHECK_INT(bw_model_score(l, "stonebridge.com", 15, &s2, NULL, &err), BW_OK);
		CHECK(s2 == good);
		CHECK_INT(bw_model_score_generated(l, "qzx7kvbn3t.top", 14, &s2, &err),
			  BW_OK);
		CHECK(s2 == gbad);
	}
	/* the batch path gives the single scores, -1 for a non-name */
	{
		const char *names[] = {"stonebridge.com", "not a name", "qzx7kvbn3t.top",
				       "gardenlight.com"};
		size_t lens[4];
		float sc[4], sc2[4], gen[4];
		int rcs[4];
		double one;

		for (int i = 0; i < 4; i++)
			lens[i] = strlen(names[i]);
		CHECK_INT(bw_model_score_batch(m, names, lens, 4, sc, rcs, &err), BW_OK);
		CHECK((double)sc[0] == good);
		CHECK(sc[1] == -1 && rcs[1] == BW_EINVAL);
		CHECK((double)sc[2] == bad);
		bw_model_score(m, names[3], lens[3], &one, NULL, NULL);
		CHECK((double)sc[3] == one && rcs[3] == BW_OK);
		/* both scores at once: the same score of record, and the
		 * generated-names scores of the single path */
		CHECK_INT(bw_model_score_batch_both(m, names, lens, 4, sc2, gen, rcs, &err),
			  BW_OK);
		CHECK(memcmp(sc, sc2, sizeof(sc)) == 0);
		CHECK((double)gen[0] == ggood && (double)gen[2] == gbad);
		CHECK(gen[1] == -1 && rcs[1] == BW_EINVAL);
		bw_model_score_generated(m, names[3], lens[3], &one, NULL);
		CHECK((double)gen[3] == one);
	}
	bw_model_free(l);
	bw_model_free(m);
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (fp) {
		fwrite(p, 1, n, fp);
		fclose(fp);
	}
}

static void
test_bad_files(void)
{
	char good[128], bad[128];
	struct bw_model *m = NULL;
	struct bw_err err;
	uint8_t *buf;
	long n;
	FILE *fp;

	snprintf(good, sizeof(good), "%s/m.model", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad.model", tmpdir);
	fp = fopen(good, "rb");
	if (!CHECK(fp != NULL))
		return;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = bw_malloc((size_t)n);
	CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);

	CHECK_INT(bw_model_load("/nonexistent/x.model", &m, &err), BW_EIO);
	CHECK(strstr(err.msg, "cannot open model file") != NULL);
	write_file(bad, "", 0);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "not a bulwark model file") != NULL);
	write_file(bad, "hello world, this is not a model at all", 39);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "not a bulwark model file") != NULL);
	/* truncated: at half, and within the header */
	write_file(bad, buf, (size_t)n / 2);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "truncated") != NULL);
	write_file(bad, buf, 12);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "truncated") != NULL);
	/* another version: 1 is the format before the generated-names
	 * booster (no XGBG section) */
	buf[8] = 1;
	write_file(bad, buf, (size_t)n);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EVERSION);
	CHECK(strstr(err.msg, "version 1, this bulwark reads version 2") != NULL);
	buf[8] = 3;
	write_file(bad, buf, (size_t)n);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EVERSION);
	CHECK(strstr(err.msg, "version 3") != NULL);
	buf[8] = 2;
	/* a flipped byte in the middle */
	buf[n / 2] ^= 0x40;
	write_file(bad, buf, (size_t)n);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "checksum") != NULL);
	buf[n / 2] ^= 0x40;
	/* intact again */
	write_file(bad, buf, (size_t)n);
	CHECK_INT(bw_model_load(bad, &m, &err), BW_OK);
	CHECK(m != NULL);
	bw_model_free(m);
	m = NULL;
	/* a different size field (checksum recomputed would still not match
	 * the length) */
	buf[16] ^= 1;
	write_file(bad, buf, (size_t)n);
	CHECK(bw_model_load(bad, &m, &err) == BW_EFORMAT && m == NULL);
	bw_free(buf);
	unlink(bad);
}

static void
test_roc(void)
{
	const float b[] = {0.1f, 0.2f, 0.3f, -1};
	const float mal[] = {0.25f, 0.9f, 0.3f};
	struct bw_model_roc r;

	CHECK_INT(bw_model_roc(b, 4, mal, 3, &r, NULL), BW_OK);
	CHECK_INT(r.benign, 3);
	CHECK_INT(r.malicious, 3);
	/* pairs won: 0.25 beats 2, 0.9 beats 3, 0.3 beats 2 and ties 1 = 7.5/9 */
	CHECK(fabs(r.auc - 7.5 / 9) < 1e-9);
	/* 0.1% of 3 benign: none may be above the threshold (0.3) */
	CHECK(r.at[0].threshold == 0.3f);
	CHECK_INT(r.at[0].tp, 1);
	CHECK_INT(r.at[0].fp, 0);
	CHECK(fabs(r.at[0].tpr - 1.0 / 3) < 1e-9);
	CHECK_INT(bw_model_roc(b, 3, mal, 0, &r, NULL), BW_EINVAL);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(test_train_score);
	TAP_RUN(test_bad_files);
	TAP_RUN(test_roc);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/m.model", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
	return tap_done();
}
