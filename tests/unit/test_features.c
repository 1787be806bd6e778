/*
 * test_features.c - the name features of the domain-risk model
 * (src/intel/features.h): values on hand-checked names, the word
 * segmentation, suffix classes, URL shape, refusals, leave-one-out and the
 * serialisation round trip.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "intel/features.h"
#include "tap.h"

static const char words[] = "apple\nbanana\nCar\npie\nit's\nab\nexample\n"
			    "wallet\nconnect\n";

static struct bw_features *
make(void)
{
	static const char *const benign[] = {"example.com", "apple.com",
		"banana.org", "pieshop.co.uk", "carpool.net", "applepie.com"};
	static const char *const bad[] = {"xkq3zv.top", "qqzxw.top", "zzkxq.xyz"};
	struct bw_features *f = NULL;
	struct bw_err err;

	if (bw_features_new(words, strlen(words), &f, &err)) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(benign) / sizeof(benign[0]); i++)
		bw_features_count(f, benign[i], strlen(benign[i]), 0, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bw_features_count(f, bad[i], strlen(bad[i]), 1, NULL);
	bw_features_finish(f, NULL);
	return f;
}

static int
x_of(const struct bw_features *f, const char *name, float *x)
{
	return bw_features_extract(f, name, strlen(name), x, NULL);
}

static void
test_names(void)
{
	struct bw_features *f = make();
	float x[BW_FEAT_N];

	CHECK(f != NULL);
	if (f == NULL)
		return;
	/* words kept: apple banana car pie example wallet connect (not "ab",
	 * not "it's"); "Car" lower-cased */
	CHECK_INT(bw_features_word_count(f), 7);
	CHECK_INT(x_of(f, "applepie.com", x), BW_OK);
	CHECK_INT(x[BW_FEAT_HOST_LEN], 12);
	CHECK_INT(x[BW_FEAT_LABELS], 2);
	CHECK_INT(x[BW_FEAT_SLD_LEN], 8);
	CHECK_INT(x[BW_FEAT_SUB_LEN], 0);
	CHECK(isnan(x[BW_FEAT_TRI_SUB]));
	CHECK(x[BW_FEAT_WORD_COVER] == 1.0f);
	CHECK_INT(x[BW_FEAT_WORD_COUNT], 2);
	CHECK_INT(x[BW_FEAT_WORD_LONGEST], 5);
	CHECK_INT(x[BW_FEAT_SUFFIX_CLASS], BW_SUFFIX_LEGACY);
	CHECK_INT(x[BW_FEAT_SUFFIX_LABELS], 1);
	CHECK_INT(x[BW_FEAT_IS_URL], 0);
	CHECK(isnan(x[BW_FEAT_PATH_LEN]));
	CHECK(x[BW_FEAT_DIGIT_RATIO] == 0.0f);
	/* "applepie": a e i e / 8 letters */
	CHECK(fabsf(x[BW_FEAT_VOWEL_RATIO] - 0.5f) < 1e-6f);
	/* "ppl" is the longest consonant run */
	CHECK_INT(x[BW_FEAT_CONS_RUN], 3);
	/* no regression set yet */
	CHECK(isnan(x[BW_FEAT_NGRAM_LR]));

	/* subdomains, a ccTLD second level, a hyphen */
	CHECK_INT(x_of(f, "a-b.c.example.co.uk", x), BW_OK);
	CHECK_INT(x[BW_FEAT_LABELS], 5);
	CHECK_INT(x[BW_FEAT_SLD_LEN], 7);
	CHECK_INT(x[BW_FEAT_SUB_LEN], 5);
	CHECK_INT(x[BW_FEAT_HYPHENS], 1);
	CHECK_INT(x[BW_FEAT_SUFFIX_CLASS], BW_SUFFIX_CC);
	CHECK_INT(x[BW_FEAT_SUFFIX_LABELS], 2);
	CHECK(!isnan(x[BW_FEAT_TRI_SUB]));

	/* "www." is ignored */
	CHECK_INT(x_of(f, "www.example.com", x), BW_OK);
	CHECK_INT(x[BW_FEAT_HOST_LEN], 11);
	CHECK_INT(x[BW_FEAT_LABELS], 2);

	/* a private suffix, a new gTLD, a suffix outside the list */
	CHECK_INT(x_of(f, "someone.github.io", x), BW_OK);
	CHECK_INT(x[BW_FEAT_SUFFIX_CLASS], BW_SUFFIX_PRIVATE);
	CHECK_INT(x_of(f, "wallet-connect.xyz", x), BW_OK);
	CHECK_INT(x[BW_FEAT_SUFFIX_CLASS], BW_SUFFIX_NEW);
	CHECK(x[BW_FEAT_WORD_COVER] == 1.0f);
	CHECK_INT(x[BW_FEAT_WORD_COUNT], 2);
	CHECK_INT(x_of(f, "host.notatld", x), BW_OK);
	CHECK_INT(x[BW_FEAT_SUFFIX_CLASS], BW_SUFFIX_UNKNOWN);

	/* character statistics */
	CHECK_INT(x_of(f, "aaaa.com", x), BW_OK);
	CHECK(x[BW_FEAT_ENTROPY] == 0.0f);
	CHECK_INT(x_of(f, "abcd.com", x), BW_OK);
	CHECK(fabsf(x[BW_FEAT_ENTROPY] - 2.0f) < 1e-6f);
	CHECK(x[BW_FEAT_HEX_ONLY] == 1.0f);
	CHECK_INT(x_of(f, "a1b2c3.net", x), BW_OK);
	CHECK(fabsf(x[BW_FEAT_DIGIT_RATIO] - 0.5f) < 1e-6f);
	CHECK(x[BW_FEAT_SWITCHES] == 1.0f);
	CHECK_INT(x[BW_FEAT_DIGIT_RUN], 1);

	/* the benign trigram model: a known name beats a random one */
	{
		float y[BW_FEAT_N];

		x_of(f, "applepie.com", x);
		x_of(f, "zqxjvk.com", y);
		CHECK(x[BW_FEAT_TRI_MEAN] > y[BW_FEAT_TRI_MEAN]);
		/* leaving its own counts out makes a training name less likely */
		bw_features_extract_loo(f, "applepie.com", 12, 0, y, NULL);
		CHECK(y[BW_FEAT_TRI_MEAN] < x[BW_FEAT_TRI_MEAN]);
	}
	/* suffix odds: .top was only malicious, .com mostly benign */
	{
		float y[BW_FEAT_N];

		x_of(f, "newname.top", x);
		x_of(f, "newname.com", y);
		CHECK(x[BW_FEAT_SUFFIX_ODDS] > 0);
		CHECK(y[BW_FEAT_SUFFIX_ODDS] < 0);
	}
	bw_features_free(f);
}

static void
test_urls(void)
{
	struct bw_features *f = make();
	float x[BW_FEAT_N];
	const char *u = "http://evil.example.net:8080/a/b/payload.exe?x=1&y=2";

	if (!CHECK(f != NULL))
		return;
	CHECK_INT(x_of(f, u, x), BW_OK);
	CHECK_INT(x[BW_FEAT_IS_URL], 1);
	CHECK_INT(x[BW_FEAT_HOST_LEN], 16);
	CHECK_INT(x[BW_FEAT_PATH_LEN], 16);
	CHECK_INT(x[BW_FEAT_PATH_DEPTH], 3);
	CHECK_INT(x[BW_FEAT_QUERY_LEN], 7);
	CHECK_INT(x[BW_FEAT_QUERY_PARAMS], 2);
	CHECK_INT(x[BW_FEAT_PATH_RISKY_EXT], 1);
	CHECK_INT(x[BW_FEAT_PORT], 1);
	CHECK_INT(x_of(f, "https://example.com/index.html", x), BW_OK);
	CHECK_INT(x[BW_FEAT_PATH_RISKY_EXT], 0);
	CHECK_INT(x[BW_FEAT_QUERY_PARAMS], 0);
	CHECK_INT(x[BW_FEAT_PORT], 0);
	bw_features_free(f);
}

static void
test_refused(void)
{
	struct bw_features *f = make();
	struct bw_err err;
	float x[BW_FEAT_N];
	char longname[300];

	if (!CHECK(f != NULL))
		return;
	CHECK_INT(bw_features_extract(f, "1.2.3.4", 7, x, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "IP address") != NULL);
	CHECK_INT(bw_features_extract(f, "Example.com", 11, x, &err), BW_EINVAL);
	CHECK_INT(bw_features_extract(f, "single", 6, x, &err), BW_EINVAL);
	CHECK_INT(bw_features_extract(f, "", 0, x, &err), BW_EINVAL);
	CHECK_INT(bw_features_extract(f, "a..b.com", 8, x, &err), BW_EINVAL);
	CHECK_INT(bw_features_extract(f, "http://[::1]/", 13, x, &err), BW_EINVAL);
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + 290, ".com", 4);
	CHECK_INT(bw_features_extract(f, longname, 294, x, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "longer") != NULL);
	bw_features_free(f);
}

static void
test_ngrams_and_roundtrip(void)
{
	struct bw_features *f = make(), *g = NULL;
	uint32_t idx[BW_FEAT_NGRAMS_MAX];
	float *w, x[BW_FEAT_N], y[BW_FEAT_N];
	char *words_s, *suffix;
	uint8_t *tri, *lin;
	size_t wl, tl, sl, ll;
	struct bw_err err;

	if (!CHECK(f != NULL))
		return;
	/* "^ab.com$": 6 + 5 + 4 grams, the label "ab", the suffix */
	CHECK_INT(bw_features_ngrams(f, "ab.com", 6, idx, NULL), 17);
	CHECK_INT(bw_features_ngrams(f, "1.2.3.4", 7, idx, NULL), -1);
	w = bw_calloc(BW_FEAT_HASH_N, sizeof(*w));
	for (uint32_t i = 0; i < BW_FEAT_HASH_N; i++)
		w[i] = (float)(i % 7) / 7.0f - 0.4f;
	CHECK_INT(bw_features_set_linear(f, 0, w, 0.25f, NULL), BW_OK);
	CHECK_INT(bw_features_set_linear(f, 2, w, 0.25f, NULL), BW_EINVAL);
	CHECK_INT(x_of(f, "ab.com", x), BW_OK);
	/* the margin: bias + the n-grams' weights / sqrt(their count), with
	 * the weights on their int16 grid (within 1e-4 of the float ones) */
	{
		double sum = 0, qsum = 0;
		float *q = bw_malloc(BW_FEAT_HASH_N * sizeof(*q));

		memcpy(q, w, BW_FEAT_HASH_N * sizeof(*q));
		bw_features_quantise_linear(q);
		for (int i = 0; i < bw_features_ngrams(f, "ab.com", 6, idx, NULL); i++) {
			sum += w[idx[i]];
			qsum += q[idx[i]];
		}
		CHECK(fabs(x[BW_FEAT_NGRAM_LR] - (0.25 + qsum / sqrt(17.0))) < 1e-5);
		CHECK(fabs(x[BW_FEAT_NGRAM_LR] - (0.25 + sum / sqrt(17.0))) < 1e-4);
		bw_free(q);
	}
	/* the generated-names regression was not set */
	CHECK(isnan(x[BW_FEAT_NGRAM_GEN]));
	for (uint32_t i = 0; i < BW_FEAT_HASH_N; i++)
		w[i] = -w[i];
	CHECK_INT(bw_features_set_linear(f, 1, w, 0.5f, NULL), BW_OK);
	bw_free(w);
	CHECK_INT(x_of(f, "ab.com", x), BW_OK);
	CHECK(fabsf(x[BW_FEAT_NGRAM_GEN] - 0.5f - (0.25f - x[BW_FEAT_NGRAM_LR])) < 1e-5f);
	CHECK_INT(bw_features_save(f, &words_s, &wl, &tri, &tl, &suffix, &sl, &lin,
				   &ll, NULL), BW_OK);
	CHECK_INT(ll, 2 * (8 + 2 * BW_FEAT_HASH_N));
	CHECK_INT(bw_features_load(words_s, wl, tri, tl, suffix, sl, lin, ll, &g,
				   &err), BW_OK);
	if (g) {
		static const char *const names[] = {"ab.com", "applepie.com",
			"x1.y2.pieshop.co.uk", "http://a.b.xyz/c?d=1"};

		for (size_t i = 0; i < 4; i++) {
			int same = 1;

			x_of(f, names[i], x);
			x_of(g, names[i], y);
			for (int k = 0; k < BW_FEAT_N; k++)
				if (!(x[k] == y[k] || (isnan(x[k]) && isnan(y[k]))))
					same = 0;
			CHECK(same);
		}
		CHECK_INT(bw_features_word_count(g), 7);
		bw_features_free(g);
		g = NULL;
	}
	/* malformed sections are refused */
	CHECK_INT(bw_features_load(words_s, wl, tri, tl - 4, suffix, sl, lin, ll,
				   &g, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "trigram") != NULL);
	CHECK_INT(bw_features_load(words_s, wl, tri, tl, "com\tx\t1\n", 8, lin, ll,
				   &g, &err), BW_EFORMAT);
	CHECK(strstr(err.msg, "suffix section") != NULL);
	CHECK_INT(bw_features_load(words_s, wl, tri, tl, suffix, sl, lin, 12, &g,
				   &err), BW_EFORMAT);
	CHECK(g == NULL);
	bw_free(words_s);
	bw_free(tri);
	bw_free(suffix);
	bw_free(lin);
	bw_features_free(f);
}

int
main(void)
{
	for (int i = 0; i < BW_FEAT_N; i++)
		if (bw_features_name(i) == NULL)
			printf("# feature %d has no name\n", i);
	CHECK(bw_features_name(BW_FEAT_N - 1) != NULL);
	CHECK(bw_features_name(BW_FEAT_N) == NULL);
	TAP_RUN(test_names);
	TAP_RUN(test_urls);
	TAP_RUN(test_refused);
	TAP_RUN(test_ngrams_and_roundtrip);
	return tap_done();
}
