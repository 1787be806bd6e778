/*
 * model.c - the domain-risk model: training and prediction through
 * XGBoost's C API, and the model file (format in model.h).
 *
 * The file is read whole (it is a few MB), checked (magic, version, size,
 * checksum) before any section is parsed, and every section length is
 * checked against what is left, so a truncated or altered file is refused
 * before XGBoost sees a byte of it.  XGBoost keeps per-handle output
 * buffers that are only valid until its next call, so calls into the
 * booster take the model's mutex and copy the result out.
 *
 * A model owns two boosters (struct ens: the XGBoost handle and its
 * compiled trees), the score of record and the generated-names score,
 * trained on the same feature rows (the second without the phishing rows)
 * and loaded, compiled and checked the same way; the features of a name are
 * computed once for both.
 */
#include "intel/model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linear.h>
#include <xgboost/c_api.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

#include "core/dynlib.h"
#include "core/ioc.h"
#include "core/mem.h"
#include "feed/reader.h"

/* XGBoost and liblinear are opened by the first model loaded or trained
 * (core/dynlib.h): the commands that score nothing start without them. */
#define XGB_FUNCTIONS(F) F(XGBGetLastError) F(XGBoosterCreate) F(XGBoosterFree) \
	F(XGBoosterSetParam) F(XGBoosterLoadModelFromBuffer) F(XGBoosterSaveModelToBuffer) \
	F(XGBoosterUpdateOneIter) F(XGBoosterPredictFromDense) F(XGBoosterPredictFromDMatrix) \
	F(XGDMatrixCreateFromMat) F(XGDMatrixSetFloatInfo) F(XGDMatrixFree)
#define LINEAR_FUNCTIONS(F) F(train) F(check_parameter) F(set_print_string_function) \
	F(get_decfun_coef) F(free_and_destroy_model)

BW_DYNLIB_DEFINE(xgb, XGB_FUNCTIONS, "the domain-risk model", "libxgboost.so.0 libxgboost.so");
BW_DYNLIB_DEFINE(liblinear, LINEAR_FUNCTIONS, "the domain-risk model",
		 "liblinear.so.4 liblinear.so");

/* BW_OK once both libraries are open; every path to a booster or a
 * regression starts here. */
static int
libs_ready(struct bw_err *err)
{
	int rc = bw_dynlib_ready(&xgb_lib, err);

	return rc ? rc : bw_dynlib_ready(&liblinear_lib, err);
}

static const char magic[8] = {'B', 'W', 'M', 'O', 'D', 'E', 'L', '\n'};
#define HEADER_LEN 24
#define SECTION_HEAD 16
#define FORMAT_NAME "bulwark-domain-model"
/* The boosters of a model: the score of record (any malicious: generated
 * or phishing) and the generated-names score. */
enum { ENS_ANY, ENS_GEN, NENS };

#define NSEC 7
/* the booster of ENS_ANY is section 4, that of ENS_GEN section 6 */
static const char tags[NSEC][4] = {{'M', 'E', 'T', 'A'}, {'W', 'O', 'R', 'D'},
	{'T', 'R', 'I', 'G'}, {'S', 'U', 'F', 'X'}, {'X', 'G', 'B', 'M'},
	{'L', 'I', 'N', 'W'}, {'X', 'G', 'B', 'G'}};
static const int ens_sec[NENS] = {4, 6};

/* A split of a complete tree: 8 bytes, one load per step. */
struct csplit {
	float thr;
	uint16_t feat;
	uint8_t dleft;
	uint8_t pad;
};

/* One node of the compiled trees: a split (x[feat] < v goes left, a
 * missing value goes the default way) or a leaf (v is its value). */
struct flat_node {
	float v;
	uint16_t feat;
	uint8_t leaf;
	uint8_t dleft;
	uint32_t left, right;
};

/* One booster and its trees, compiled for the batch path. */
struct ens {
	BoosterHandle booster;
	struct flat_node *nodes;
	uint32_t *roots;
	size_t nnodes, ntrees;
	float base_margin;
	/* the same as complete trees of depth `depth`: per tree 2^depth - 1
	 * splits, then 2^depth leaves */
	int depth;
	struct csplit *csplit;
	float *cleaf;
	/* the same splits on feature bins (see bin_rows): per split a uint16,
	 * low byte the row byte to read, high byte the bin to exceed; NULL
	 * when some feature has more than BIN_MAX thresholds */
	uint16_t *qsplit;
	float *bthr;       /* BW_FEAT_N x BIN_STRIDE sorted thresholds, +inf pad */
	uint8_t nthr[BW_FEAT_N];
	uint8_t used[BW_FEAT_N]; /* features with thresholds, in order */
	/* the bin of each whole value 0..255 per feature (lengths, counts and
	 * classes are whole numbers: one load instead of a search) */
	uint8_t (*blut)[256];
	int nused;
	bool avx2; /* the CPU has AVX2: binned_margins_avx2 */
	/* per tree its first 15 splits (levels 0-3) as int32, padded to 16:
	 * those levels pick their split with a register permute, not a gather */
	int32_t (*top)[16];
};

struct bw_model {
	struct bw_features *f;
	char *meta;
	pthread_mutex_t mu;
	struct ens e[NENS];
};

/* ---- little helpers ---------------------------------------------------- */

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int
xgb_err(struct bw_err *err, const char *what)
{
	const char *msg = xgb.XGBGetLastError(), *nl = strchr(msg, '\n');

	/* its first line; a stack trace follows */
	return bw_err_set(err, BW_EFORMAT, "XGBoost: %s: %.*s", what,
			  (int)(nl ? nl - msg : (long)strlen(msg)), msg);
}

static struct bw_model *
model_alloc(void)
{
	struct bw_model *m = bw_calloc(1, sizeof(*m));

	if (m && pthread_mutex_init(&m->mu, NULL) != 0) {
		bw_free(m);
		return NULL;
	}
	return m;
}

void
bw_model_free(struct bw_model *m)
{
	if (m == NULL)
		return;
	for (int k = 0; k < NENS; k++) {
		struct ens *e = &m->e[k];

		if (e->booster)
			xgb.XGBoosterFree(e->booster);
		bw_free(e->nodes);
		bw_free(e->roots);
		bw_free(e->csplit);
		bw_free(e->cleaf);
		bw_free(e->qsplit);
		bw_free(e->bthr);
		bw_free(e->blut);
		bw_free(e->top);
	}
	bw_features_free(m->f);
	bw_free(m->meta);
	pthread_mutex_destroy(&m->mu);
	bw_free(m);
}

const char *
bw_model_meta(const struct bw_model *m)
{
	return m->meta;
}

const struct bw_features *
bw_model_features(const struct bw_model *m)
{
	return m->f;
}

static int
booster_quiet(BoosterHandle b, int threads, struct bw_err *err)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", threads > 0 ? threads : 1);
	if (xgb.XGBoosterSetParam(b, "verbosity", "0") ||
	    xgb.XGBoosterSetParam(b, "nthread", n))
		return xgb_err(err, "set parameters");
	return BW_OK;
}

/* ---- compiled trees ---------------------------------------------------- */

static int predict_dense(const struct bw_model *m, const struct ens *e,
			 const float *x, size_t n, float *out, struct bw_err *err);

/*
 * XGBoost's own predictor spends most of a batch on per-row set-up (about
 * 4 us a name for 200 trees of depth 6 here), four times the whole budget
 * of the speed goal.  So the trees XGBoost trained are copied out of its
 * JSON model (left_children, right_children, split_indices,
 * split_conditions, default_left; a leaf's value is its split condition)
 * into one flat array and walked directly: the same comparisons
 * (x < threshold in float, missing goes the default way), summed in float
 * in tree order from the base margin, then the logistic function.  The
 * training and the model stay XGBoost's; bw_model_load checks that the
 * compiled trees give XGBoost's own predictions on probe rows and refuses
 * the file otherwise.
 */
static float
flat_margin(const struct ens *m, const float *x)
{
	float sum = m->base_margin;

	for (size_t t = 0; t < m->ntrees; t++) {
		const struct flat_node *n = m->nodes + m->roots[t];

		while (!n->leaf) {
			float v = x[n->feat];
			uint32_t next = v < n->v ? n->left
				      : v >= n->v ? n->right
				      : (n->dleft ? n->left : n->right);

			n = m->nodes + next;
		}
		sum += n->v;
	}
	return sum;
}

static float
flat_score(const struct ens *m, const float *x)
{
	return 1.0f / (1.0f + expf(-flat_margin(m, x)));
}

/*
 * The fast path: each tree padded to a complete tree of the ensemble's
 * depth (a leaf above the bottom is copied into every leaf below it, its
 * padding splits go either way to the same value), so a walk is `depth`
 * branch-free steps, i = 2i + 1 + right, and ROWS (16) names walk each tree
 * side by side.  Right: x >= threshold, or x missing and the default is
 * right; the same decisions as XGBoost's.
 */
#define ROWS 16
#define DEPTH_MAX 10

static void
fill_complete(struct ens *m, size_t t, uint32_t src, size_t pos, int d)
{
	size_t nsplit = ((size_t)1 << m->depth) - 1;
	const struct flat_node *n = m->nodes + src;

	if (d == m->depth) {
		/* src is a leaf here (checked by the caller) */
		m->cleaf[t * (nsplit + 1) + (pos - nsplit)] = n->v;
		return;
	}
	if (n->leaf) {
		m->csplit[t * nsplit + pos].feat = 0;
		m->csplit[t * nsplit + pos].thr = 0;
		m->csplit[t * nsplit + pos].dleft = 1;
		fill_complete(m, t, src, 2 * pos + 1, d + 1);
		fill_complete(m, t, src, 2 * pos + 2, d + 1);
		return;
	}
	m->csplit[t * nsplit + pos].feat = n->feat;
	m->csplit[t * nsplit + pos].thr = n->v;
	m->csplit[t * nsplit + pos].dleft = n->dleft;
	fill_complete(m, t, n->left, 2 * pos + 1, d + 1);
	fill_complete(m, t, n->right, 2 * pos + 2, d + 1);
}

static int
node_depth(const struct ens *m, uint32_t i, int d)
{
	const struct flat_node *n = m->nodes + i;
	int a, b;

	if (n->leaf || d > DEPTH_MAX)
		return d;
	a = node_depth(m, n->left, d + 1);
	b = node_depth(m, n->right, d + 1);
	return a > b ? a : b;
}

static int compile_bins(struct ens *m, struct bw_err *err);

static int
compile_complete(struct ens *m, struct bw_err *err)
{
	size_t nsplit, nleaf;

	m->depth = 0;
	for (size_t t = 0; t < m->ntrees; t++) {
		int d = node_depth(m, m->roots[t], 0);

		if (d > m->depth)
			m->depth = d;
	}
	if (m->depth > DEPTH_MAX)
		return bw_err_set(err, BW_EFORMAT,
				  "trees deeper than %d levels are not supported",
				  DEPTH_MAX);
	nsplit = ((size_t)1 << m->depth) - 1;
	nleaf = nsplit + 1;
	m->csplit = bw_calloc(m->ntrees * (nsplit ? nsplit : 1), sizeof(*m->csplit));
	m->cleaf = bw_calloc(m->ntrees * nleaf, sizeof(*m->cleaf));
	if (!m->csplit || !m->cleaf)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t t = 0; t < m->ntrees; t++)
		fill_complete(m, t, m->roots[t], 0, 0);
	return compile_bins(m, err);
}

/*
 * Quantised splits, as LightGBM and treelite do: a split x >= thr only
 * asks on which side of thr the value lies, so each feature's distinct
 * thresholds (at most BIN_MAX; XGBoost's "hist" method makes at most
 * max_bin, which training sets to BIN_MAX) are sorted once, a value becomes
 * its bin, 1 + the number of thresholds at or below it, and the split on
 * the j-th threshold (from 0) becomes "bin > j + 1".  A row is 2 x
 * BW_FEAT_N bytes: byte f is the bin of feature f with a missing value as
 * 0 (so it goes left), byte BW_FEAT_N + f the same with a missing value as
 * 255 (so it goes right); a split whose default is right reads the second.
 * A step of the walk is then a 2-byte split load, a byte load, a compare:
 * the splits of 100 trees of depth 6 take 12.6 kB and stay in L1.  The
 * decisions are exactly those of the float comparisons (the same
 * thresholds, the same order of leaf sums), which check_compiled verifies
 * against XGBoost at every load.
 */
#define BIN_MAX 253
#define BIN_MAX_STR "253"
#define BIN_STRIDE 256
#define RB (2 * BW_FEAT_N)

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* The index of thr among the sorted thresholds of feature f, or -1. */
static int
thr_index(const struct ens *m, int f, float thr)
{
	const float *t = m->bthr + (size_t)f * BIN_STRIDE;
	int lo = 0, hi = m->nthr[f];

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (t[mid] < thr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nthr[f] && t[lo] == thr ? lo : -1;
}

/* Builds the bins and the quantised splits; leaves m->qsplit NULL (the
 * float walk) when a feature has too many thresholds. */
static int
compile_bins(struct ens *m, struct bw_err *err)
{
	size_t nsplit = ((size_t)1 << m->depth) - 1;
	size_t cnt[BW_FEAT_N] = {0};
	float *all = NULL;
	int rc = BW_OK;

	for (size_t i = 0; i < m->nnodes; i++)
		if (!m->nodes[i].leaf)
			cnt[m->nodes[i].feat]++;
	m->bthr = bw_malloc((size_t)BW_FEAT_N * BIN_STRIDE * sizeof(*m->bthr));
	m->blut = bw_calloc(BW_FEAT_N, sizeof(*m->blut));
	all = bw_malloc((m->nnodes ? m->nnodes : 1) * sizeof(*all));
	if (m->bthr == NULL || m->blut == NULL || all == NULL)
		goto nomem;
	m->nused = 0;
	for (int f = 0; f < BW_FEAT_N; f++) {
		size_t k = 0, u = 0;
		float *t = m->bthr + (size_t)f * BIN_STRIDE;

		for (size_t i = 0; i < m->nnodes; i++)
			if (!m->nodes[i].leaf && m->nodes[i].feat == f)
				all[k++] = m->nodes[i].v;
		qsort(all, k, sizeof(*all), cmp_float);
		for (size_t i = 0; i < k; i++)
			if (u == 0 || all[i] != all[u - 1])
				all[u++] = all[i];
		if (u > BIN_MAX)
			goto out; /* the float walk */
		for (size_t i = 0; i < BIN_STRIDE; i++)
			t[i] = i < u ? all[i] : INFINITY;
		m->nthr[f] = (uint8_t)u;
		if (u)
			m->used[m->nused++] = (uint8_t)f;
		for (size_t v = 0, c = 0; v < 256; v++) {
			while (c < u && t[c] <= (float)v)
				c++;
			m->blut[f][v] = (uint8_t)(1 + c);
		}
	}
	/* one more: the AVX2 walk reads 32 bits at the last split */
#ifdef HAVE_AVX2_PATH
	m->avx2 = getenv("BW_NOAVX") == NULL && __builtin_cpu_supports("avx2") != 0;
#endif
	m->qsplit = bw_calloc(m->ntrees * (nsplit ? nsplit : 1) + 1,
			      sizeof(*m->qsplit));
	if (m->qsplit == NULL)
		goto nomem;
	for (size_t i = 0; i < m->ntrees * nsplit; i++) {
		const struct csplit *c = m->csplit + i;
		int j = thr_index(m, c->feat, c->thr);

		/* j < 0: a padding split, both sides hold the same leaf */
		if (j >= 0)
			m->qsplit[i] = (uint16_t)((c->feat + (c->dleft ? 0 : BW_FEAT_N)) |
						  (j + 1) << 8);
	}
	m->top = bw_calloc(m->ntrees, sizeof(*m->top));
	if (m->top == NULL)
		goto nomem;
	for (size_t t = 0; t < m->ntrees; t++)
		for (size_t i = 0; i < 15 && i < nsplit; i++)
			m->top[t][i] = m->qsplit[t * nsplit + i];
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_free(all);
	return rc;
}

/* The bins of k rows of features x into b (k x RB bytes). */
static void
bin_rows(const struct ens *m, const float *x, size_t k, uint8_t *b)
{
	for (size_t r = 0; r < k; r++) {
		const float *row = x + r * BW_FEAT_N;
		uint8_t *out = b + r * RB;

		for (int u = 0; u < m->nused; u++) {
			int f = m->used[u];
			const float *t = m->bthr + (size_t)f * BIN_STRIDE;
			float v = row[f];
			unsigned pos = 0, bin;

			if (v >= 0 && v < 256 && v == (float)(int)v) {
				bin = m->blut[f][(int)v];
			} else {
				/* branch-free: the number of thresholds <= v */
				for (unsigned step = BIN_STRIDE / 2; step; step >>= 1)
					pos += (t[pos + step - 1] <= v) ? step : 0;
				bin = 1 + (pos < m->nthr[f] ? pos : m->nthr[f]);
			}
			out[f] = v != v ? 0 : (uint8_t)bin;
			out[BW_FEAT_N + f] = v != v ? 255 : (uint8_t)bin;
		}
	}
}

static void
binned_margins(const struct ens *m, const uint8_t *b, size_t k, float *out)
{
	size_t nsplit = ((size_t)1 << m->depth) - 1, nleaf = nsplit + 1;

	for (size_t r = 0; r < k; r++)
		out[r] = m->base_margin;
	for (size_t t = 0; t < m->ntrees; t++) {
		const uint16_t *sp = m->qsplit + t * nsplit;
		const float *leaf = m->cleaf + t * nleaf;
		uint32_t idx[ROWS] = {0};

		for (int d = 0; d < m->depth; d++)
			for (size_t r = 0; r < k; r++) {
				unsigned c = sp[idx[r]];

				idx[r] = 2 * idx[r] + 1 + (b[r * RB + (c & 0xff)] > (c >> 8));
			}
		for (size_t r = 0; r < k; r++)
			out[r] += leaf[idx[r] - nsplit];
	}
}

#ifdef HAVE_AVX2_PATH
/*
 * The same walk with AVX2 gathers, eight rows to a vector and two vectors
 * side by side: per level the rows' splits (on levels 0-3, which hold 15
 * splits, a permute of two registers; below, a gather of 32 bits at
 * qsplit + 2 idx, the high half masked off), one gather of the bin bytes
 * they name, a compare.  Compiled for AVX2 only
 * in this function and chosen at load when the CPU has it.  Reads up to
 * three bytes past a row and two past the last split, which bin buffers
 * and qsplit are padded for.
 */
__attribute__((target("avx2"))) static void
binned_margins_avx2(const struct ens *m, const uint8_t *b, float *out)
{
	size_t nsplit = ((size_t)1 << m->depth) - 1, nleaf = nsplit + 1;
	const __m256i lo16 = _mm256_set1_epi32(0xffff), lo8 = _mm256_set1_epi32(0xff);
	const __m256i one = _mm256_set1_epi32(1), low = _mm256_set1_epi32(0xff);
	const __m256i seven = _mm256_set1_epi32(7);
	const __m256i base0 = _mm256_setr_epi32(0, RB, 2 * RB, 3 * RB, 4 * RB,
						5 * RB, 6 * RB, 7 * RB);
	const __m256i base1 = _mm256_add_epi32(base0, _mm256_set1_epi32(8 * RB));
	const __m256i vnsplit = _mm256_set1_epi32((int)nsplit);
	__m256 s0 = _mm256_set1_ps(m->base_margin), s1 = s0;

	for (size_t t = 0; t < m->ntrees; t++) {
		const int *sp = (const int *)(const void *)(m->qsplit + t * nsplit);
		const float *leaf = m->cleaf + t * nleaf;
		__m256i i0 = _mm256_setzero_si256(), i1 = i0;

		const __m256i ta = _mm256_loadu_si256((const __m256i *)(const void *)m->top[t]);
		const __m256i tb = _mm256_loadu_si256((const __m256i *)(const void *)(m->top[t] + 8));

		for (int d = 0; d < m->depth; d++) {
			__m256i c0, c1;

			if (d < 4) {
				/* splits 0..14: a permute of two registers */
				c0 = _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(ta, i0),
							_mm256_permutevar8x32_epi32(tb, i0),
							_mm256_cmpgt_epi32(i0, seven));
				c1 = _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(ta, i1),
							_mm256_permutevar8x32_epi32(tb, i1),
							_mm256_cmpgt_epi32(i1, seven));
			} else {
				c0 = _mm256_and_si256(_mm256_i32gather_epi32(sp, i0, 2), lo16);
				c1 = _mm256_and_si256(_mm256_i32gather_epi32(sp, i1, 2), lo16);
			}
			__m256i f0 = _mm256_add_epi32(base0, _mm256_and_si256(c0, low));
			__m256i f1 = _mm256_add_epi32(base1, _mm256_and_si256(c1, low));
			__m256i v0 = _mm256_and_si256(
				_mm256_i32gather_epi32((const int *)(const void *)b, f0, 1), lo8);
			__m256i v1 = _mm256_and_si256(
				_mm256_i32gather_epi32((const int *)(const void *)b, f1, 1), lo8);
			__m256i r0 = _mm256_cmpgt_epi32(v0, _mm256_srli_epi32(c0, 8));
			__m256i r1 = _mm256_cmpgt_epi32(v1, _mm256_srli_epi32(c1, 8));

			/* i = 2i + 1 + right; right is -1 or 0 here */
			i0 = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i0), one), r0);
			i1 = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(i1, i1), one), r1);
		}
		s0 = _mm256_add_ps(s0, _mm256_i32gather_ps(leaf, _mm256_sub_epi32(i0, vnsplit), 4));
		s1 = _mm256_add_ps(s1, _mm256_i32gather_ps(leaf, _mm256_sub_epi32(i1, vnsplit), 4));
	}
	_mm256_storeu_ps(out, s0);
	_mm256_storeu_ps(out + 8, s1);
}
#endif

/* Scores k <= ROWS rows on the fast path. */
static void
fast_scores(const struct ens *m, const float *x, size_t k, float *out)
{
	if (m->qsplit) {
		/* padded: the AVX2 walk reads 32 bits at the last bin byte */
		uint8_t b[ROWS * RB + 4];

		memset(b, 0, sizeof(b));
		bin_rows(m, x, k, b);
#ifdef HAVE_AVX2_PATH
		if (m->avx2) {
			float all[ROWS];

			binned_margins_avx2(m, b, all);
			memcpy(out, all, k * sizeof(*out));
		} else
#endif
			binned_margins(m, b, k, out);
	} else {
		/* more thresholds than bins: the float walk of the node list */
		for (size_t r = 0; r < k; r++)
			out[r] = flat_margin(m, x + r * BW_FEAT_N);
	}
	for (size_t r = 0; r < k; r++)
		out[r] = 1.0f / (1.0f + expf(-out[r]));
}

static int
json_num_array(json_t *tree, const char *key, size_t want, json_t **out)
{
	json_t *a = json_object_get(tree, key);

	if (!json_is_array(a) || json_array_size(a) != want)
		return -1;
	*out = a;
	return 0;
}

static int
compile_trees(struct bw_model *mm, struct ens *m, struct bw_err *err)
{
	const char *buf;
	bst_ulong len;
	json_t *root = NULL, *trees, *param;
	json_error_t je;
	const char *bs;
	size_t total = 0;
	int rc = BW_OK;

	pthread_mutex_lock(&mm->mu);
	if (xgb.XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len,
					   &buf)) {
		pthread_mutex_unlock(&mm->mu);
		return xgb_err(err, "JSON model");
	}
	root = json_loadb(buf, (size_t)len, 0, &je);
	pthread_mutex_unlock(&mm->mu);
	if (root == NULL)
		return bw_err_set(err, BW_EFORMAT, "XGBoost JSON model: %s", je.text);
	param = json_object_get(json_object_get(json_object_get(root, "learner"),
						"learner_model_param"), "base_score");
	trees = json_object_get(json_object_get(json_object_get(json_object_get(
		root, "learner"), "gradient_booster"), "model"), "trees");
	bs = json_string_value(param);
	if (bs == NULL || !json_is_array(trees) || json_array_size(trees) == 0) {
		rc = bw_err_set(err, BW_EFORMAT, "XGBoost JSON model: no trees");
		goto out;
	}
	{
		double b = strtod(bs, NULL);

		if (!(b > 0 && b < 1)) {
			rc = bw_err_set(err, BW_EFORMAT, "XGBoost JSON model: base_score %s", bs);
			goto out;
		}
		m->base_margin = (float)log(b / (1 - b));
	}
	m->ntrees = json_array_size(trees);
	for (size_t t = 0; t < m->ntrees; t++)
		total += json_array_size(json_object_get(json_array_get(trees, t),
							 "left_children"));
	m->nodes = bw_calloc(total ? total : 1, sizeof(*m->nodes));
	m->roots = bw_calloc(m->ntrees, sizeof(*m->roots));
	if (m->nodes == NULL || m->roots == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < m->ntrees; t++) {
		json_t *tree = json_array_get(trees, t), *lc, *rcn, *si, *sc, *dl;
		size_t n = json_array_size(json_object_get(tree, "left_children"));

		if (n == 0 || json_num_array(tree, "left_children", n, &lc) ||
		    json_num_array(tree, "right_children", n, &rcn) ||
		    json_num_array(tree, "split_indices", n, &si) ||
		    json_num_array(tree, "split_conditions", n, &sc) ||
		    json_num_array(tree, "default_left", n, &dl)) {
			rc = bw_err_set(err, BW_EFORMAT, "XGBoost JSON model: tree %zu", t);
			goto out;
		}
		m->roots[t] = (uint32_t)m->nnodes;
		for (size_t i = 0; i < n; i++) {
			struct flat_node *fn = m->nodes + m->nnodes + i;
			json_int_t l = json_integer_value(json_array_get(lc, i));
			json_int_t r = json_integer_value(json_array_get(rcn, i));
			json_int_t f = json_integer_value(json_array_get(si, i));

			fn->v = (float)json_number_value(json_array_get(sc, i));
			fn->dleft = json_integer_value(json_array_get(dl, i)) != 0;
			if (l == -1) {
				fn->leaf = 1;
				continue;
			}
			if (l <= 0 || r <= 0 || (size_t)l >= n || (size_t)r >= n ||
			    f < 0 || f >= BW_FEAT_N) {
				rc = bw_err_set(err, BW_EFORMAT,
						"XGBoost JSON model: tree %zu node %zu", t, i);
				goto out;
			}
			/* children come after their parent, so every walk ends */
			if ((size_t)l <= i || (size_t)r <= i) {
				rc = bw_err_set(err, BW_EFORMAT,
						"XGBoost JSON model: tree %zu is not ordered", t);
				goto out;
			}
			fn->feat = (uint16_t)f;
			fn->left = (uint32_t)(m->nnodes + (size_t)l);
			fn->right = (uint32_t)(m->nnodes + (size_t)r);
		}
		m->nnodes += n;
	}
out:
	json_decref(root);
	return rc;
}

/* Probe rows (features of fixed names, and the same with gaps) scored by
 * XGBoost and by the compiled trees must agree. */
static int
check_compiled(const struct bw_model *mod, const struct ens *m,
	       struct bw_err *err)
{
	static const char *const probe[] = {"example.com", "www.bbc.co.uk",
		"xjw3kq9zpl.top", "secure-wallet-claim.app", "a.b.c.github.io",
		"mail.ministry.gov.ee", "qwxzvbnmkjhg.ru", "http://x1.example.net:8080/a/b.exe?q=1",
		"rarely-seen-word-combination.info", "0a1b2c3d4e5f.biz"};
	enum { NP = sizeof(probe) / sizeof(probe[0]) };
	float x[2 * NP][BW_FEAT_N], want[2 * NP];
	int rc;

	for (size_t i = 0; i < NP; i++) {
		if (bw_features_extract(mod->f, probe[i], strlen(probe[i]), x[i], NULL))
			for (int k = 0; k < BW_FEAT_N; k++)
				x[i][k] = (float)k;
		memcpy(x[NP + i], x[i], sizeof(x[i]));
		for (int k = (int)i % 3; k < BW_FEAT_N; k += 3)
			x[NP + i][k] = NAN;
	}
	rc = predict_dense(mod, m, &x[0][0], 2 * NP, want, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < 2 * NP; i++) {
		float got = flat_score(m, x[i]), fast;

		fast_scores(m, x[i], 1, &fast);
		if (!(fabsf(fast - want[i]) <= 1e-5f))
			got = fast;

		if (!(fabsf(got - want[i]) <= 1e-5f))
			return bw_err_set(err, BW_EFORMAT,
					  "compiled trees disagree with XGBoost on probe %zu "
					  "(%.7f, XGBoost %.7f)", i, (double)got,
					  (double)want[i]);
	}
	return BW_OK;
}

/* Makes a trained or loaded booster ready to score: single-threaded
 * prediction, its trees compiled and checked against XGBoost. */
static int
ens_ready(struct bw_model *m, struct ens *e, struct bw_err *err)
{
	int rc = booster_quiet(e->booster, 1, err);

	if (rc == BW_OK)
		rc = compile_trees(m, e, err);
	if (rc == BW_OK)
		rc = compile_complete(e, err);
	if (rc == BW_OK)
		rc = check_compiled(m, e, err);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

/* Checks META: our format, and exactly our feature list. */
static int
check_meta(const char *text, size_t len, struct bw_err *err)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je), *feats;
	const char *fmt;
	int rc = BW_OK;

	if (o == NULL || !json_is_object(o))
		goto bad;
	fmt = json_string_value(json_object_get(o, "format"));
	feats = json_object_get(o, "features");
	if (fmt == NULL || strcmp(fmt, FORMAT_NAME) != 0 || !json_is_array(feats))
		goto bad;
	if (json_array_size(feats) != BW_FEAT_N) {
		rc = bw_err_set(err, BW_EVERSION,
				"built with %zu features, this bulwark computes %d "
				"(retrain the model)", json_array_size(feats), BW_FEAT_N);
		goto out;
	}
	for (int i = 0; i < BW_FEAT_N; i++) {
		const char *s = json_string_value(json_array_get(feats, (size_t)i));

		if (s == NULL || strcmp(s, bw_features_name(i)) != 0) {
			rc = bw_err_set(err, BW_EVERSION,
					"feature %d is '%s', this bulwark computes '%s' "
					"(retrain the model)", i, s ? s : "?",
					bw_features_name(i));
			goto out;
		}
	}
	goto out;
bad:
	rc = bw_err_set(err, BW_EFORMAT, "META section is not a %s description",
			FORMAT_NAME);
out:
	json_decref(o);
	return rc;
}

int
bw_model_load_mem(const void *buf, size_t len, const char *name,
		  struct bw_model **out, struct bw_err *err)
{
	const uint8_t *p = buf;
	const uint8_t *sec[NSEC] = {NULL};
	uint64_t slen[NSEC] = {0};
	struct bw_model *m = NULL;
	uint32_t version, count;
	uint64_t size;
	size_t pos;
	int rc;

	*out = NULL;
	if ((rc = libs_ready(err)))
		return rc;
	if (len == 0 ||
	    memcmp(p, magic, len < sizeof(magic) ? len : sizeof(magic)) != 0)
		return bw_err_set(err, BW_EFORMAT, "%s: not a bulwark model file",
				  name);
	if (len < HEADER_LEN + 8)
		return bw_err_set(err, BW_EFORMAT,
				  "%s: truncated model file (%zu bytes)", name, len);
	version = get32(p + 8);
	count = get32(p + 12);
	size = get64(p + 16);
	if (version != BW_MODEL_VERSION)
		return bw_err_set(err, BW_EVERSION,
				  "%s: model file format version %u, this bulwark "
				  "reads version %d (retrain or use the matching bulwark)",
				  name, version, BW_MODEL_VERSION);
	if (size != len)
		return bw_err_set(err, BW_EFORMAT,
				  "%s: %s model file: %zu bytes, its header says %llu",
				  name, len < size ? "truncated" : "oversized", len,
				  (unsigned long long)size);
	if (get64(p + len - 8) != fnv1a(p, len - 8))
		return bw_err_set(err, BW_EFORMAT,
				  "%s: corrupt model file (checksum mismatch)", name);
	pos = HEADER_LEN;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t n;

		if (len - 8 - pos < SECTION_HEAD)
			return bw_err_set(err, BW_EFORMAT,
					  "%s: section %u runs past the end", name, i);
		n = get64(p + pos + 8);
		if (n > len - 8 - pos - SECTION_HEAD)
			return bw_err_set(err, BW_EFORMAT,
					  "%s: section %u runs past the end", name, i);
		for (int k = 0; k < NSEC; k++)
			if (memcmp(p + pos, tags[k], 4) == 0) {
				sec[k] = p + pos + SECTION_HEAD;
				slen[k] = n;
			}
		pos += SECTION_HEAD + (size_t)n;
	}
	if (pos != len - 8)
		return bw_err_set(err, BW_EFORMAT,
				  "%s: %zu stray bytes after the sections", name,
				  len - 8 - pos);
	for (int k = 0; k < NSEC; k++)
		if (sec[k] == NULL)
			return bw_err_set(err, BW_EFORMAT,
					  "%s: no %.4s section", name, tags[k]);
	rc = check_meta((const char *)sec[0], (size_t)slen[0], err);
	if (rc)
		return bw_err_prefix(err, "%s", name);
	m = model_alloc();
	if (m == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	m->meta = bw_strndup((const char *)sec[0], (size_t)slen[0]);
	if (m->meta == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	rc = bw_features_load((const char *)sec[1], (size_t)slen[1], sec[2],
			      (size_t)slen[2], (const char *)sec[3], (size_t)slen[3],
			      sec[5], (size_t)slen[5], &m->f, err);
	if (rc) {
		bw_err_prefix(err, "%s", name);
		goto fail;
	}
	for (int k = 0; k < NENS; k++) {
		struct ens *e = &m->e[k];
		int s = ens_sec[k];

		if (xgb.XGBoosterCreate(NULL, 0, &e->booster)) {
			rc = xgb_err(err, "create booster");
			goto fail;
		}
		if (xgb.XGBoosterLoadModelFromBuffer(e->booster, sec[s], (bst_ulong)slen[s])) {
			rc = xgb_err(err, "section");
			bw_err_prefix(err, "%s: %.4s", name, tags[s]);
			goto fail;
		}
		rc = ens_ready(m, e, err);
		if (rc) {
			bw_err_prefix(err, "%s: %.4s", name, tags[s]);
			goto fail;
		}
	}
	*out = m;
	return BW_OK;
fail:
	bw_model_free(m);
	return rc;
}

int
bw_model_load(const char *path, struct bw_model **out, struct bw_err *err)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int rc;

	*out = NULL;
	if (fp == NULL)
		return bw_err_set(err, BW_EIO, "%s: cannot open model file: %s", path,
				  strerror(errno));
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot read model file: %s", path,
				strerror(errno));
		goto out;
	}
	if ((unsigned long)size > BW_MODEL_FILE_MAX) {
		rc = bw_err_set(err, BW_ELIMIT,
				"%s: model file of %ld bytes exceeds the limit of %u",
				path, size, BW_MODEL_FILE_MAX);
		goto out;
	}
	buf = bw_malloc(size ? (size_t)size : 1);
	if (buf == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	if (size && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot read model file", path);
		goto out;
	}
	rc = bw_model_load_mem(buf, (size_t)size, path, out, err);
out:
	bw_free(buf);
	fclose(fp);
	return rc;
}

/* ---- prediction -------------------------------------------------------- */

/* Predicts rows x[n][BW_FEAT_N] into out[n]; the caller holds no lock. */
static int
predict_dense(const struct bw_model *m, const struct ens *e, const float *x,
	      size_t n, float *out, struct bw_err *err)
{
	struct bw_model *mm = (struct bw_model *)m; /* the mutex only */
	char arr[160];
	static const char cfg[] = "{\"type\": 0, \"training\": false, "
				   "\"iteration_begin\": 0, \"iteration_end\": 0, "
				   "\"strict_shape\": false, \"missing\": NaN, "
				   "\"cache_id\": 0}";
	const bst_ulong *shape;
	bst_ulong dim;
	const float *res;
	int rc = BW_OK;

	snprintf(arr, sizeof(arr),
		 "{\"data\": [%llu, true], \"shape\": [%zu, %d], "
		 "\"typestr\": \"<f4\", \"version\": 3}",
		 (unsigned long long)(uintptr_t)x, n, BW_FEAT_N);
	pthread_mutex_lock(&mm->mu);
	if (xgb.XGBoosterPredictFromDense(e->booster, arr, cfg, NULL, &shape, &dim,
					  &res))
		rc = xgb_err(err, "predict");
	else
		memcpy(out, res, n * sizeof(*out));
	pthread_mutex_unlock(&mm->mu);
	return rc;
}

static int
cmp_contrib(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x < y) - (x > y); /* descending */
}

static int
explain(const struct bw_model *m, const float *x, double score,
	struct bw_model_why *why, struct bw_err *err)
{
	struct bw_model *mm = (struct bw_model *)m;
	DMatrixHandle d = NULL;
	static const char cfg[] = "{\"type\": 2, \"training\": false, "
				  "\"iteration_begin\": 0, \"iteration_end\": 0, "
				  "\"strict_shape\": false}";
	const bst_ulong *shape;
	bst_ulong dim;
	const float *res;
	/* (sign-adjusted contribution, feature) pairs */
	float pairs[BW_FEAT_N][2];
	float sign = score >= 0.5 ? 1.0f : -1.0f;
	int rc = BW_OK;

	why->n = 0;
	pthread_mutex_lock(&mm->mu);
	if (xgb.XGDMatrixCreateFromMat(x, 1, BW_FEAT_N, NAN, &d) ||
	    xgb.XGBoosterPredictFromDMatrix(m->e[ENS_ANY].booster, d, cfg, &shape, &dim, &res)) {
		rc = xgb_err(err, "explain");
	} else {
		for (int i = 0; i < BW_FEAT_N; i++) {
			pairs[i][0] = sign * res[i];
			pairs[i][1] = (float)i;
		}
	}
	if (d)
		xgb.XGDMatrixFree(d);
	pthread_mutex_unlock(&mm->mu);
	if (rc)
		return rc;
	qsort(pairs, BW_FEAT_N, sizeof(pairs[0]), cmp_contrib);
	for (int i = 0; i < BW_FEAT_N && why->n < BW_MODEL_WHY_MAX; i++) {
		int f = (int)pairs[i][1];

		if (!(pairs[i][0] > 0.05f))
			break;
		why->item[why->n].feature = f;
		why->item[why->n].value = x[f];
		why->item[why->n].contrib = sign * pairs[i][0];
		why->n++;
	}
	return BW_OK;
}

int
bw_model_score(const struct bw_model *m, const char *name, size_t len,
	       double *score, struct bw_model_why *why, struct bw_err *err)
{
	float x[BW_FEAT_N], s;
	int rc;

	*score = -1;
	if (why)
		why->n = 0;
	rc = bw_features_extract(m->f, name, len, x, err);
	if (rc)
		return rc;
	fast_scores(&m->e[ENS_ANY], x, 1, &s);
	*score = s;
	if (why)
		rc = explain(m, x, s, why, err);
	return rc;
}

int
bw_model_score_generated(const struct bw_model *m, const char *name, size_t len,
			 double *generated, struct bw_err *err)
{
	float x[BW_FEAT_N], s;
	int rc;

	*generated = -1;
	rc = bw_features_extract(m->f, name, len, x, err);
	if (rc)
		return rc;
	fast_scores(&m->e[ENS_GEN], x, 1, &s);
	*generated = s;
	return BW_OK;
}

int
bw_model_score_batch(const struct bw_model *m, const char *const *names,
		     const size_t *lens, size_t n, float *scores, int *rcs,
		     struct bw_err *err)
{
	return bw_model_score_batch_both(m, names, lens, n, scores, NULL, rcs, err);
}

int
bw_model_score_batch_both(const struct bw_model *m, const char *const *names,
		      const size_t *lens, size_t n, float *scores,
		      float *generated, int *rcs, struct bw_err *err)
{
	size_t cap = n < BW_MODEL_BATCH ? n : BW_MODEL_BATCH;
	float *x;
	int rc = BW_OK;

	if (n == 0)
		return BW_OK;
	x = bw_malloc(cap * BW_FEAT_N * sizeof(*x));
	if (x == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t at = 0; at < n; at += cap) {
		size_t k = n - at < cap ? n - at : cap;

		for (size_t i = 0; i < k; i++) {
			int r = bw_features_extract(m->f, names[at + i], lens[at + i],
						    x + i * BW_FEAT_N, NULL);

			if (rcs)
				rcs[at + i] = r;
			if (r)
				for (int j = 0; j < BW_FEAT_N; j++)
					x[i * BW_FEAT_N + j] = NAN;
		}
		for (size_t i = 0; i < k; i += ROWS) {
			size_t r = k - i < ROWS ? k - i : ROWS;

			fast_scores(&m->e[ENS_ANY], x + i * BW_FEAT_N, r, scores + at + i);
			if (generated)
				fast_scores(&m->e[ENS_GEN], x + i * BW_FEAT_N, r,
					    generated + at + i);
		}
		for (size_t i = 0; i < k; i++)
			if (rcs ? rcs[at + i] != 0 : isnan(x[i * BW_FEAT_N])) {
				scores[at + i] = -1;
				if (generated)
					generated[at + i] = -1;
			}
	}
	bw_free(x);
	return rc;
}

/* ---- training ---------------------------------------------------------- */

void
bw_model_train_defaults(struct bw_model_train_opts *o)
{
	o->rounds = 100;
	o->depth = 6;
	o->eta = 0.2;
	o->gen_rounds = 40;
	o->gen_depth = 6;
	o->gen_eta = 0.4;
	o->gen_benign_weight = 1.0;
	o->benign_weight = 1.0;
	o->threads = 1;
	o->seed = 20261129;
	o->info = NULL;
	o->weights = NULL;
}

static void
quiet_print(const char *s)
{
	(void)s;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Trains one regression on the rows whose fold is not skip (-1: all rows)
 * and returns its weights (BW_FEAT_HASH_N + 1, bias last, sign such that
 * positive means malicious). */
static int
linear_fit(struct feature_node **rows, const double *y, const unsigned *fold,
	   const uint8_t *use, size_t n, int skip, float *w, struct bw_err *err)
{
	struct problem prob;
	struct parameter par;
	struct model *lm = NULL;
	int wl[2] = {1, -1};
	double wt[2];
	size_t l = 0, pos = 0, neg = 0;
	const char *bad;
	double sign;

	memset(&prob, 0, sizeof(prob));
	memset(&par, 0, sizeof(par));
	prob.x = bw_malloc((n ? n : 1) * sizeof(*prob.x));
	prob.y = bw_malloc((n ? n : 1) * sizeof(*prob.y));
	if (prob.x == NULL || prob.y == NULL) {
		bw_free(prob.x);
		bw_free(prob.y);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if ((int)fold[i] != skip && use[i]) {
			prob.x[l] = rows[i];
			prob.y[l++] = y[i];
			if (y[i] > 0)
				pos++;
			else
				neg++;
		}
	prob.l = (int)l;
	prob.n = (int)BW_FEAT_HASH_N + 1;
	prob.bias = 1;
	wt[0] = (double)l / (2.0 * (double)(pos ? pos : 1));
	wt[1] = (double)l / (2.0 * (double)(neg ? neg : 1));
	par.solver_type = L2R_LR_DUAL;
	par.eps = 0.1;
	par.C = 1;
	par.nr_weight = 2;
	par.weight_label = wl;
	par.weight = wt;
	bad = liblinear.check_parameter(&prob, &par);
	if (bad) {
		bw_free(prob.x);
		bw_free(prob.y);
		return bw_err_set(err, BW_EINVAL, "liblinear: %s", bad);
	}
	lm = liblinear.train(&prob, &par);
	bw_free(prob.x);
	bw_free(prob.y);
	if (lm == NULL)
		return bw_err_set(err, BW_ENOMEM, "liblinear: training failed");
	sign = lm->label[0] == 1 ? 1.0 : -1.0;
	for (int j = 0; j <= (int)BW_FEAT_HASH_N; j++)
		w[j] = (float)(sign * liblinear.get_decfun_coef(lm, j + 1, 0));
	liblinear.free_and_destroy_model(&lm);
	/* the weights a loaded model will have */
	bw_features_quantise_linear(w);
	return BW_OK;
}

static double
linear_margin(const float *w, const struct feature_node *x)
{
	double s = 0;

	for (; x->index != -1; x++)
		s += w[x->index - 1] * x->value;
	return s;
}

/*
 * The n-gram regressions: oof[k][i] gets row i's margin under regression k
 * fitted without row i's fold (NaN when regression k has nothing to fit);
 * the fits on every row go into f.  Regression 0 takes every malicious
 * name, regression 1 only the generated ones (label 2), both against the
 * benign names.  Rows with keep[i] == 0 are left out.
 */
static int
fit_linear(struct bw_features *f, const char *const *names, const size_t *lens,
	   const uint8_t *labels, const uint8_t *keep, size_t n,
	   float *oof[BW_FEAT_LINEAR], struct bw_err *err)
{
	struct feature_node *nodes = NULL, **rows = NULL;
	double *y = NULL;
	unsigned *fold = NULL;
	uint8_t *use = NULL;
	float *w = NULL;
	uint32_t idx[BW_FEAT_NGRAMS_MAX];
	size_t *map = NULL, m = 0, cap = 0, used = 0;
	int rc = BW_OK;

	liblinear.set_print_string_function(quiet_print);
	rows = bw_malloc((n ? n : 1) * sizeof(*rows));
	y = bw_malloc((n ? n : 1) * sizeof(*y));
	fold = bw_malloc((n ? n : 1) * sizeof(*fold));
	map = bw_malloc((n ? n : 1) * sizeof(*map));
	use = bw_malloc(n ? n : 1);
	w = bw_malloc((BW_FEAT_HASH_N + 1) * sizeof(*w));
	if (!rows || !y || !fold || !map || !use || !w)
		goto nomem;
	/* rows as offsets into nodes first (nodes moves while it grows) */
	for (size_t i = 0; i < n; i++) {
		int k;
		size_t d = 0;
		double v;

		if (!keep[i])
			continue;
		k = bw_features_ngrams(f, names[i], lens[i], idx, NULL);
		if (k <= 0)
			continue;
		v = 1.0 / sqrt((double)k);
		qsort(idx, (size_t)k, sizeof(idx[0]), cmp_u32);
		if (!(nodes = bw_grow(nodes, &cap, used + (size_t)k + 2, sizeof(*nodes))))
			goto nomem;
		map[m] = i;
		rows[m] = (struct feature_node *)(uintptr_t)used;
		for (int j = 0; j < k; j++) {
			if (d && nodes[used + d - 1].index == (int)idx[j] + 1) {
				nodes[used + d - 1].value += v;
				continue;
			}
			nodes[used + d].index = (int)idx[j] + 1;
			nodes[used + d].value = v;
			d++;
		}
		nodes[used + d].index = (int)BW_FEAT_HASH_N + 1; /* bias */
		nodes[used + d].value = 1;
		nodes[used + d + 1].index = -1;
		nodes[used + d + 1].value = 0;
		used += d + 2;
		y[m] = labels[i] ? 1 : -1;
		fold[m] = bw_features_fold(names[i], lens[i]);
		m++;
	}
	for (size_t r = 0; r < m; r++)
		rows[r] = nodes + (uintptr_t)rows[r];
	for (int which = 0; which < BW_FEAT_LINEAR; which++) {
		size_t pos = 0;

		for (size_t r = 0; r < n; r++)
			oof[which][r] = NAN;
		for (size_t r = 0; r < m; r++) {
			use[r] = which == 0 || labels[map[r]] != 1;
			pos += use[r] && y[r] > 0;
		}
		if (pos == 0)
			continue;
		for (int k = 0; k < 5; k++) {
			rc = linear_fit(rows, y, fold, use, m, k, w, err);
			if (rc)
				goto out;
			for (size_t r = 0; r < m; r++)
				if ((int)fold[r] == k)
					oof[which][map[r]] = (float)linear_margin(w, rows[r]);
		}
		rc = linear_fit(rows, y, fold, use, m, -1, w, err);
		if (rc)
			goto out;
		rc = bw_features_set_linear(f, which, w, w[BW_FEAT_HASH_N], err);
		if (rc)
			goto out;
	}
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_free(nodes);
	bw_free(rows);
	bw_free(y);
	bw_free(fold);
	bw_free(map);
	bw_free(use);
	bw_free(w);
	return rc;
}

/* Feature rows of n names (leave-one-out); skipped rows get keep[i] = 0. */
static int
featurise(const struct bw_features *f, const char *const *names,
	  const size_t *lens, const uint8_t *labels, size_t n, int loo,
	  float *x, uint8_t *keep)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		int r = loo ? bw_features_extract_loo(f, names[i], lens[i], labels[i],
						      x + kept * BW_FEAT_N, NULL)
			    : bw_features_extract(f, names[i], lens[i],
						  x + kept * BW_FEAT_N, NULL);

		keep[i] = r == BW_OK;
		kept += keep[i];
	}
	return (int)(kept > 0);
}

static int
make_meta(const struct bw_model_train_opts *o, size_t rows, size_t nb,
	  size_t nm, size_t ngen, char **out, struct bw_err *err)
{
	json_t *meta = json_object(), *feats = json_array(), *train = NULL;
	json_error_t je;
	int rc = BW_OK;

	*out = NULL;
	if (meta == NULL || feats == NULL)
		goto nomem;
	for (int i = 0; i < BW_FEAT_N; i++)
		json_array_append_new(feats, json_string(bw_features_name(i)));
	if (o->info) {
		train = json_loads(o->info, 0, &je);
		if (train == NULL || !json_is_object(train)) {
			json_decref(train);
			rc = bw_err_set(err, BW_EINVAL, "training info is not a JSON object");
			goto out;
		}
	} else if (!(train = json_object()))
		goto nomem;
	json_object_set_new(train, "rows", json_integer((json_int_t)rows));
	json_object_set_new(train, "benign", json_integer((json_int_t)nb));
	json_object_set_new(train, "malicious", json_integer((json_int_t)nm));
	json_object_set_new(train, "rounds", json_integer(o->rounds));
	json_object_set_new(train, "depth", json_integer(o->depth));
	json_object_set_new(train, "eta", json_real(o->eta));
	/* 0: no name was marked generated, the generated-names booster was
	 * trained on every malicious name */
	json_object_set_new(train, "generated", json_integer((json_int_t)ngen));
	json_object_set_new(train, "generated_rounds", json_integer(o->gen_rounds));
	json_object_set_new(train, "generated_depth", json_integer(o->gen_depth));
	json_object_set_new(train, "generated_eta", json_real(o->gen_eta));
	json_object_set_new(train, "generated_benign_weight",
			    json_real(o->gen_benign_weight));
	json_object_set_new(train, "benign_weight", json_real(o->benign_weight));
	json_object_set_new(train, "seed", json_integer(o->seed));
	json_object_set_new(meta, "format", json_string(FORMAT_NAME));
	json_object_set_new(meta, "version", json_integer(BW_MODEL_VERSION));
	json_object_set_new(meta, "classifier", json_string("xgboost gbtree binary:logistic, "
						       "two boosters: any malicious (XGBM), "
						       "generated (XGBG)"));
	json_object_set_new(meta, "features", feats);
	feats = NULL;
	json_object_set_new(meta, "training", train);
	train = NULL;
	*out = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*out == NULL)
		goto nomem;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	json_decref(meta);
	json_decref(feats);
	json_decref(train);
	return rc;
}

/*
 * Trains booster e on rows x (labels y, weights w, which it scales so that
 * each class weighs as much in total, the benign one times benign_weight)
 * and makes it ready to score.
 */
static int
train_booster(struct bw_model *m, struct ens *e, const float *x, const float *y,
	      float *w, size_t rows, size_t nb, size_t nm, int rounds, int depth,
	      double eta, double benign_weight,
	      const struct bw_model_train_opts *o, struct bw_err *err)
{
	DMatrixHandle d = NULL;
	char num[32];
	int rc = BW_OK;

	for (size_t i = 0; i < rows; i++)
		w[i] *= y[i] > 0.5f ? (float)rows / (2.0f * (float)nm)
				    : (float)(benign_weight * (double)rows /
					      (2.0 * (double)nb));
	if (xgb.XGDMatrixCreateFromMat(x, (bst_ulong)rows, BW_FEAT_N, NAN, &d) ||
	    xgb.XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)rows) ||
	    xgb.XGDMatrixSetFloatInfo(d, "weight", w, (bst_ulong)rows) ||
	    xgb.XGBoosterCreate(&d, 1, &e->booster)) {
		rc = xgb_err(err, "training matrix");
		goto out;
	}
	rc = booster_quiet(e->booster, o->threads, err);
	if (rc)
		goto out;
	snprintf(num, sizeof(num), "%d", depth);
	if (xgb.XGBoosterSetParam(e->booster, "objective", "binary:logistic") ||
	    xgb.XGBoosterSetParam(e->booster, "tree_method", "hist") ||
	    xgb.XGBoosterSetParam(e->booster, "max_bin", BIN_MAX_STR) ||
	    xgb.XGBoosterSetParam(e->booster, "max_depth", num)) {
		rc = xgb_err(err, "set parameters");
		goto out;
	}
	snprintf(num, sizeof(num), "%g", eta);
	if (xgb.XGBoosterSetParam(e->booster, "eta", num)) {
		rc = xgb_err(err, "set parameters");
		goto out;
	}
	snprintf(num, sizeof(num), "%u", o->seed);
	if (xgb.XGBoosterSetParam(e->booster, "seed", num) ||
	    xgb.XGBoosterSetParam(e->booster, "subsample", "0.8") ||
	    xgb.XGBoosterSetParam(e->booster, "colsample_bytree", "0.8") ||
	    xgb.XGBoosterSetParam(e->booster, "min_child_weight", "2")) {
		rc = xgb_err(err, "set parameters");
		goto out;
	}
	for (int it = 0; it < rounds; it++)
		if (xgb.XGBoosterUpdateOneIter(e->booster, it, d)) {
			rc = xgb_err(err, "training");
			goto out;
		}
	/* scoring is single-threaded per call */
	rc = ens_ready(m, e, err);
out:
	if (d)
		xgb.XGDMatrixFree(d);
	return rc;
}

int
bw_model_train(struct bw_features *f, const char *const *names,
	       const size_t *lens, const uint8_t *labels, size_t n,
	       const struct bw_model_train_opts *o, size_t *skipped,
	       struct bw_model **out, struct bw_err *err)
{
	struct bw_model *m = NULL;
	float *x = NULL, *y = NULL, *w = NULL, *w0 = NULL;
	float *oof[BW_FEAT_LINEAR] = {NULL, NULL};
	uint8_t *keep = NULL, *lab = NULL;
	size_t rows = 0, nb = 0, nm = 0;
	int rc = BW_OK;

	*out = NULL;
	*skipped = 0;
	if ((rc = libs_ready(err))) {
		bw_features_free(f);
		return rc;
	}
	if (n > BW_MODEL_TRAIN_MAX) {
		bw_features_free(f);
		return bw_err_set(err, BW_ELIMIT, "more than %d training names",
				  BW_MODEL_TRAIN_MAX);
	}
	m = model_alloc();
	if (m == NULL) {
		bw_features_free(f);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	m->f = f;
	x = bw_malloc((n ? n : 1) * BW_FEAT_N * sizeof(*x));
	keep = bw_malloc(n ? n : 1);
	y = bw_malloc((n ? n : 1) * sizeof(*y));
	w = bw_malloc((n ? n : 1) * sizeof(*w));
	w0 = bw_malloc((n ? n : 1) * sizeof(*w0));
	lab = bw_malloc(n ? n : 1);
	if (x == NULL || keep == NULL || y == NULL || w == NULL || w0 == NULL ||
	    lab == NULL)
		goto nomem;
	/* which names are usable at all */
	for (size_t i = 0; i < n; i++)
		keep[i] = bw_features_extract(f, names[i], lens[i], x, NULL) == BW_OK;
	oof[0] = bw_malloc((n ? n : 1) * sizeof(*oof[0]));
	oof[1] = bw_malloc((n ? n : 1) * sizeof(*oof[1]));
	if (oof[0] == NULL || oof[1] == NULL)
		goto nomem;
	rc = fit_linear(f, names, lens, labels, keep, n, oof, err);
	if (rc)
		goto out;
	featurise(f, names, lens, labels, n, 1, x, keep);
	for (size_t i = 0; i < n; i++)
		if (keep[i]) {
			x[rows * BW_FEAT_N + BW_FEAT_NGRAM_LR] = oof[0][i];
			x[rows * BW_FEAT_N + BW_FEAT_NGRAM_GEN] = oof[1][i];
			w0[rows] = w[rows] = o->weights ? o->weights[i] : 1.0f;
			lab[rows] = labels[i];
			y[rows++] = labels[i] ? 1.0f : 0.0f;
			if (labels[i])
				nm++;
			else
				nb++;
		}
	*skipped = n - rows;
	if (nb == 0 || nm == 0) {
		rc = bw_err_set(err, BW_EINVAL,
				"training needs benign and malicious names (%zu and %zu)",
				nb, nm);
		goto out;
	}
	rc = train_booster(m, &m->e[ENS_ANY], x, y, w, rows, nb, nm, o->rounds,
			   o->depth, o->eta, o->benign_weight, o, err);
	if (rc)
		goto out;
	/* the generated-names booster: the same rows without the other
	 * malicious names (x, y and w compacted in place, in order); with no
	 * generated names at all, on every malicious name (META says which) */
	{
		size_t k = 0, ng = 0;
		int only_gen = 0;

		for (size_t i = 0; i < rows; i++)
			only_gen |= lab[i] == 2;
		for (size_t i = 0; i < rows; i++)
			if (!only_gen || lab[i] != 1) {
				memmove(x + k * BW_FEAT_N, x + i * BW_FEAT_N,
					BW_FEAT_N * sizeof(*x));
				y[k] = y[i];
				w[k] = w0[i];
				ng += lab[i] != 0;
				k++;
			}
		rc = train_booster(m, &m->e[ENS_GEN], x, y, w, k, nb, ng,
				   o->gen_rounds, o->gen_depth, o->gen_eta,
				   o->gen_benign_weight, o, err);
		if (rc)
			goto out;
		rc = make_meta(o, rows, nb, nm, only_gen ? ng : 0, &m->meta, err);
	}
	if (rc)
		goto out;
	*out = m;
	m = NULL;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_free(x);
	bw_free(y);
	bw_free(w);
	bw_free(w0);
	bw_free(lab);
	bw_free(oof[0]);
	bw_free(oof[1]);
	bw_free(keep);
	bw_model_free(m);
	return rc;
}

/* ---- saving ------------------------------------------------------------ */

int
bw_model_save(const struct bw_model *m, const char *path, struct bw_err *err)
{
	struct bw_model *mm = (struct bw_model *)m;
	char *words = NULL, *suffix = NULL, *tmp = NULL;
	uint8_t *tri = NULL, *buf = NULL, *lin = NULL;
	size_t wlen, tlen, slen, llen, total, pos;
	const char *xbuf = NULL;
	bst_ulong xl;
	const void *data[NSEC];
	size_t dlen[NSEC];
	FILE *fp = NULL;
	int rc;

	rc = bw_features_save(m->f, &words, &wlen, &tri, &tlen, &suffix, &slen,
			      &lin, &llen, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&mm->mu);
	for (int k = 0; k < NENS; k++) {
		/* each buffer belongs to its booster until its next call */
		if (xgb.XGBoosterSaveModelToBuffer(m->e[k].booster, "{\"format\": \"ubj\"}",
						   &xl, &xbuf)) {
			pthread_mutex_unlock(&mm->mu);
			rc = xgb_err(err, "save");
			goto out;
		}
		data[ens_sec[k]] = xbuf, dlen[ens_sec[k]] = (size_t)xl;
	}
	data[0] = m->meta, dlen[0] = strlen(m->meta);
	data[1] = words, dlen[1] = wlen;
	data[2] = tri, dlen[2] = tlen;
	data[3] = suffix ? (const void *)suffix : "", dlen[3] = slen;
	data[5] = lin, dlen[5] = llen;
	total = HEADER_LEN + 8;
	for (int k = 0; k < NSEC; k++)
		total += SECTION_HEAD + dlen[k];
	buf = bw_malloc(total);
	if (buf == NULL) {
		pthread_mutex_unlock(&mm->mu);
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(buf, magic, sizeof(magic));
	put32(buf + 8, BW_MODEL_VERSION);
	put32(buf + 12, NSEC);
	put64(buf + 16, total);
	pos = HEADER_LEN;
	for (int k = 0; k < NSEC; k++) {
		memcpy(buf + pos, tags[k], 4);
		put32(buf + pos + 4, 0);
		put64(buf + pos + 8, dlen[k]);
		if (dlen[k])
			memcpy(buf + pos + SECTION_HEAD, data[k], dlen[k]);
		pos += SECTION_HEAD + dlen[k];
	}
	pthread_mutex_unlock(&mm->mu);
	put64(buf + pos, fnv1a(buf, pos));
	tmp = bw_malloc(strlen(path) + 8);
	if (tmp == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(tmp, strlen(path) + 8, "%s.tmp", path);
	fp = fopen(tmp, "wb");
	if (fp == NULL || fwrite(buf, 1, total, fp) != total || fflush(fp) != 0) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot write: %s", tmp,
				strerror(errno));
		goto out;
	}
	if (fclose(fp) != 0) {
		fp = NULL;
		rc = bw_err_set(err, BW_EIO, "%s: cannot write: %s", tmp,
				strerror(errno));
		goto out;
	}
	fp = NULL;
	if (rename(tmp, path) != 0) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot rename to %s: %s", tmp, path,
				strerror(errno));
		goto out;
	}
out:
	if (fp) {
		fclose(fp);
		unlink(tmp);
	} else if (rc && tmp)
		unlink(tmp);
	bw_free(tmp);
	bw_free(buf);
	bw_free(words);
	bw_free(tri);
	bw_free(suffix);
	bw_free(lin);
	return rc;
}

int
bw_model_dump_features(const struct bw_features *f, const char *const *names,
		       const size_t *lens, const uint8_t *labels, size_t n,
		       int loo, const char *path, struct bw_err *err)
{
	FILE *fp = fopen(path, "w");
	float x[BW_FEAT_N];
	int rc = BW_OK;

	if (fp == NULL)
		return bw_err_set(err, BW_EIO, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		int r = loo ? bw_features_extract_loo(f, names[i], lens[i], labels[i],
						      x, NULL)
			    : bw_features_extract(f, names[i], lens[i], x, NULL);

		if (r)
			continue;
		fprintf(fp, "%d", labels[i] ? 1 : 0);
		for (int k = 0; k < BW_FEAT_N; k++)
			if (!isnan(x[k]))
				fprintf(fp, " %d:%.6g", k + 1, (double)x[k]);
		fputc('\n', fp);
	}
	if (fclose(fp) != 0)
		rc = bw_err_set(err, BW_EIO, "%s: %s", path, strerror(errno));
	return rc;
}

/* ---- name lists -------------------------------------------------------- */

int
bw_namelist_read(struct bw_namelist *l, const char *path, size_t max,
		 struct bw_err *err)
{
	struct bw_reader *r = NULL;
	struct bw_ioc *ioc = NULL;
	const char *line;
	size_t len;
	long lineno;
	int too_long, got, rc;

	rc = bw_reader_open(path, &r, err);
	if (rc)
		return rc;
	ioc = bw_malloc(sizeof(*ioc));
	if (ioc == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	while ((got = bw_reader_line(r, &line, &len, &lineno, &too_long, err)) == 1) {
		size_t a = 0, e;
		char *copy;

		while (a < len && (line[a] == ' ' || line[a] == '\t'))
			a++;
		if (too_long || a == len || line[a] == '#') {
			if (too_long) {
				l->rejected++;
				if (l->first_bad_line == 0) {
					l->first_bad_line = lineno;
					snprintf(l->first_bad, sizeof(l->first_bad),
						 "line too long");
				}
			}
			continue;
		}
		e = a;
		while (e < len && line[e] != ',' && line[e] != '\t' && line[e] != ' ')
			e++;
		if (bw_ioc_parse(line + a, e - a, BW_IOC_ANY, ioc, NULL) != BW_OK ||
		    (ioc->type != BW_IOC_DOMAIN && ioc->type != BW_IOC_URL)) {
			l->rejected++;
			if (l->first_bad_line == 0) {
				l->first_bad_line = lineno;
				snprintf(l->first_bad, sizeof(l->first_bad), "%.*s",
					 (int)(e - a > 100 ? 100 : e - a), line + a);
			}
			continue;
		}
		if (l->n >= max) {
			rc = bw_err_set(err, BW_ELIMIT, "%s: more than %zu names", path,
					max);
			goto out;
		}
		if (l->n == l->cap) {
			size_t c1 = l->cap, c2 = l->cap;
			char **nn = bw_grow(l->names, &c1, l->n + 1, sizeof(*nn));

			if (nn == NULL)
				goto nomem;
			l->names = nn;
			size_t *nl = bw_grow(l->lens, &c2, l->n + 1, sizeof(*nl));
			if (nl == NULL)
				goto nomem;
			l->lens = nl;
			l->cap = c1 < c2 ? c1 : c2;
		}
		copy = bw_strndup(ioc->value, ioc->len);
		if (copy == NULL)
			goto nomem;
		l->names[l->n] = copy;
		l->lens[l->n] = ioc->len;
		l->n++;
	}
	if (got < 0)
		rc = -got;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_free(ioc);
	bw_reader_free(r);
	return rc;
}

void
bw_namelist_free(struct bw_namelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		bw_free(l->names[i]);
	bw_free(l->names);
	bw_free(l->lens);
	memset(l, 0, sizeof(*l));
}

/* ---- ROC --------------------------------------------------------------- */

struct scored {
	float s;
	uint8_t bad;
};

static int
cmp_scored(const void *a, const void *b)
{
	float x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;

	return (x > y) - (x < y);
}

static int
cmp_float_desc(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x < y) - (x > y);
}

int
bw_model_roc(const float *benign, size_t nb, const float *malicious, size_t nm,
	     struct bw_model_roc *out, struct bw_err *err)
{
	struct scored *all = NULL;
	float *bs = NULL;
	size_t n = 0, b = 0, mcount = 0;
	double ranksum = 0;
	static const double limits[2] = {0.001, 0.01};

	memset(out, 0, sizeof(*out));
	all = bw_malloc((nb + nm + 1) * sizeof(*all));
	bs = bw_malloc((nb + 1) * sizeof(*bs));
	if (all == NULL || bs == NULL) {
		bw_free(all);
		bw_free(bs);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nb; i++)
		if (benign[i] >= 0) {
			all[n].s = benign[i], all[n++].bad = 0;
			bs[b++] = benign[i];
		}
	for (size_t i = 0; i < nm; i++)
		if (malicious[i] >= 0)
			all[n].s = malicious[i], all[n++].bad = 1, mcount++;
	out->benign = b;
	out->malicious = mcount;
	if (b == 0 || mcount == 0) {
		bw_free(all);
		bw_free(bs);
		return bw_err_set(err, BW_EINVAL,
				  "ROC needs benign and malicious scores (%zu and %zu)",
				  b, mcount);
	}
	/* Mann-Whitney: the sum of the (mid-)ranks of the malicious scores */
	qsort(all, n, sizeof(*all), cmp_scored);
	for (size_t i = 0; i < n;) {
		size_t j = i, bad = 0;

		while (j < n && all[j].s == all[i].s)
			bad += all[j++].bad;
		ranksum += (double)bad * ((double)(i + 1 + j) / 2.0);
		i = j;
	}
	out->auc = (ranksum - (double)mcount * (double)(mcount + 1) / 2.0) /
		   ((double)mcount * (double)b);
	qsort(bs, b, sizeof(*bs), cmp_float_desc);
	for (int k = 0; k < 2; k++) {
		size_t allowed = (size_t)(limits[k] * (double)b);
		float t = bs[allowed < b ? allowed : b - 1];
		size_t tp = 0, fp = 0;

		for (size_t i = 0; i < b; i++)
			fp += bs[i] > t;
		for (size_t i = 0; i < n; i++)
			tp += all[i].bad && all[i].s > t;
		out->at[k].fpr_limit = limits[k];
		out->at[k].threshold = t;
		out->at[k].tp = tp;
		out->at[k].fp = fp;
		out->at[k].tpr = (double)tp / (double)mcount;
		out->at[k].fpr = (double)fp / (double)b;
	}
	bw_free(all);
	bw_free(bs);
	return BW_OK;
}
