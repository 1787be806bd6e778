/*
 * fuzz_features.c - libFuzzer harness for the name features of the
 * domain-risk model (src/intel/features.c): the name and URL splitter and
 * every feature on arbitrary bytes, and the suffix-table section parser of
 * the model file.
 *
 * The first byte picks the target: even, the rest is a name (extracted,
 * also leave-one-out, and hashed into n-grams; every value must be a
 * number or a documented NaN); odd, the rest is a suffix section loaded
 * beside valid word and trigram sections.  The statistics handle is built
 * once per process (a harness, not library code).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "intel/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bw_features *handle;
static char *words_s, *suffix_s;
static uint8_t *tri_s, *lin_s;
static size_t wl, tl, sl, ll;

static void
teardown(void)
{
	bw_features_free(handle);
	bw_free(words_s);
	bw_free(suffix_s);
	bw_free(tri_s);
	bw_free(lin_s);
}

static void
setup(void)
{
	static const char words[] = "apple\npie\nwallet\nconnect\nriver\n";
	static const char *const names[] = {"example.com", "applepie.co.uk",
		"a.b.github.io", "xkqz3v.top", "wallet-connect.xyz"};

	if (bw_features_new(words, sizeof(words) - 1, &handle, NULL))
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		bw_features_count(handle, names[i], strlen(names[i]), (int)(i % 2), NULL);
	if (bw_features_finish(handle, NULL) ||
	    bw_features_save(handle, &words_s, &wl, &tri_s, &tl, &suffix_s, &sl,
			     &lin_s, &ll, NULL))
		abort();
	atexit(teardown);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (handle == NULL)
		setup();
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		const char *name = (const char *)data + 1;
		float x[BW_FEAT_N];
		uint32_t idx[BW_FEAT_NGRAMS_MAX];
		int n;

		if (bw_features_extract(handle, name, size - 1, x, NULL) == BW_OK) {
			for (int k = 0; k < BW_FEAT_N; k++)
				if (isinf(x[k]))
					abort();
			/* these always apply to a name */
			if (isnan(x[BW_FEAT_HOST_LEN]) || isnan(x[BW_FEAT_TRI_MEAN]) ||
			    isnan(x[BW_FEAT_SUFFIX_ODDS]))
				abort();
			if (bw_features_extract_loo(handle, name, size - 1, 0, x, NULL))
				abort();
			n = bw_features_ngrams(handle, name, size - 1, idx, NULL);
			if (n <= 0 || n > BW_FEAT_NGRAMS_MAX)
				abort();
			for (int i = 0; i < n; i++)
				if (idx[i] >= BW_FEAT_HASH_N)
					abort();
		} else if (bw_features_ngrams(handle, name, size - 1, idx, NULL) != -1) {
			abort(); /* the same names are refused */
		}
	} else {
		struct bw_features *g = NULL;

		if (bw_features_load(words_s, wl, tri_s, tl, (const char *)data + 1,
				     size - 1, NULL, 0, &g, NULL) == BW_OK) {
			float x[BW_FEAT_N];

			if (bw_features_extract(g, "example.com", 11, x, NULL))
				abort();
			bw_features_free(g);
		} else if (g != NULL) {
			abort();
		}
	}
	return 0;
}
