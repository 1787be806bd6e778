/*
 * features.h - what the domain-risk model sees of a name: a fixed vector of
 * numbers computed from the name alone (no DNS, no WHOIS, no history).
 *
 * The vector (BW_FEAT_N floats, names from bw_features_name()) describes:
 *   - shape: lengths of the host, of its registrable label (the label left
 *     of the public suffix, "example" in "a.example.co.uk") and of the
 *     subdomain part, the number of labels, hyphens, underscores, IDN
 *     A-labels;
 *   - characters of the registrable label: Shannon entropy, digit and vowel
 *     ratios, longest consonant and digit runs, letter/digit switches,
 *     distinct characters, hex-only;
 *   - likelihood under a character trigram model of benign names (mean and
 *     minimum log-probability per character, share of rare trigrams), for
 *     the registrable label and for the subdomain part;
 *   - dictionary-word coverage: the share of the label's letters covered by
 *     a best segmentation into dictionary words of three letters or more,
 *     the number of those words and the longest;
 *   - the public suffix: its class (legacy gTLD, ccTLD, new gTLD, private
 *     suffix such as pages.dev, unknown), its number of labels, and the
 *     smoothed log-odds of malicious vs benign names under it in training;
 *   - the margins of two logistic regressions (liblinear, trained by
 *     src/intel/model.c) over hashed character 3- to 5-grams of the host,
 *     its labels and its suffix: what the trigram model of benign names
 *     cannot say, which fragments ("wallet", "-claim", "xyz") malicious
 *     names share.  ngram_lr is fitted on every malicious name against
 *     the benign ones, ngram_gen on the generated (DGA) names only, so
 *     the trees can tell "looks generated" from "looks like phishing"
 *     (a crypto exchange's real name looks like the second, not the
 *     first);
 *   - for URLs, the path and query shape: path length and depth, query
 *     length and parameters, a risky file extension, digits and
 *     percent-escapes in the path, an explicit port.  A feature that does
 *     not apply (no subdomain, not a URL) is NaN, which the classifier
 *     treats as missing.
 *
 * The statistics behind some features (trigram table, word list, suffix
 * table) are learned from training names and travel in the model file, so
 * they live in a struct bw_features:
 *   - the word list is a bitmap trie (per node a 26-bit child mask, a base
 *     index, and popcount to find a child), so a segmentation costs one
 *     array step per letter and the trie of ~100k words takes ~2 MB;
 *   - the regression weights are stored as int16 times a scale (2^16
 *     hashed n-grams, the two regressions' weights side by side): 256 kB
 *     that stay in a core's L2 cache;
 *   - the trigram table holds log P(c | a b) over 38 symbols (boundary,
 *     a-z, 0-9, '-'), add-k smoothed, 55k floats;
 *   - the suffix table holds benign and malicious counts per public suffix.
 * While training the raw counts are kept, so a training name can be
 * featurised out of sample: its trigram likelihood leaves its own counts
 * out, its suffix odds come from the other four of five folds (a
 * leave-one-out odds would give the label away), and the regression margin
 * is set by the trainer from a regression fitted without its fold.  So
 * the classifier does not learn from statistics that saw the very name.
 *
 * Names are canonical domains or URLs as bw_ioc_parse() writes them
 * (lower-case ASCII, A-labels); anything else is refused with BW_EINVAL.
 * A leading "www." is ignored.
 *
 * Thread safety: a finished struct bw_features (bw_features_finish() or
 * loaded) is read-only and bw_features_extract() may run from any number
 * of threads at once.  Building is single-threaded.
 */
#ifndef BW_INTEL_FEATURES_H
#define BW_INTEL_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum bw_feat {
	BW_FEAT_HOST_LEN,
	BW_FEAT_LABELS,
	BW_FEAT_SLD_LEN,
	BW_FEAT_SUB_LEN,
	BW_FEAT_MAX_LABEL,
	BW_FEAT_ENTROPY,
	BW_FEAT_DIGIT_RATIO,
	BW_FEAT_VOWEL_RATIO,
	BW_FEAT_CONS_RUN,
	BW_FEAT_DIGIT_RUN,
	BW_FEAT_HYPHENS,
	BW_FEAT_SWITCHES,
	BW_FEAT_UNIQ_RATIO,
	BW_FEAT_HEX_ONLY,
	BW_FEAT_FIRST_DIGIT,
	BW_FEAT_TRI_MEAN,
	BW_FEAT_TRI_MIN,
	BW_FEAT_TRI_RARE,
	BW_FEAT_TRI_SUB,
	BW_FEAT_WORD_COVER,
	BW_FEAT_WORD_COUNT,
	BW_FEAT_WORD_LONGEST,
	BW_FEAT_SUFFIX_CLASS,
	BW_FEAT_SUFFIX_LABELS,
	BW_FEAT_SUFFIX_ODDS,
	BW_FEAT_IDN,
	BW_FEAT_UNDERSCORE,
	BW_FEAT_IS_URL,
	BW_FEAT_PATH_LEN,
	BW_FEAT_PATH_DEPTH,
	BW_FEAT_QUERY_LEN,
	BW_FEAT_QUERY_PARAMS,
	BW_FEAT_PATH_RISKY_EXT,
	BW_FEAT_PATH_DIGITS,
	BW_FEAT_PATH_ESCAPES,
	BW_FEAT_PORT,
	BW_FEAT_NGRAM_LR,
	BW_FEAT_NGRAM_GEN,
	BW_FEAT_N
};

/* Suffix classes (BW_FEAT_SUFFIX_CLASS). */
enum bw_suffix_class {
	BW_SUFFIX_LEGACY = 0,  /* com net org info biz edu gov mil int */
	BW_SUFFIX_CC = 1,      /* a two-letter country code, or under one */
	BW_SUFFIX_NEW = 2,     /* any other ICANN suffix (xyz, top, app...) */
	BW_SUFFIX_PRIVATE = 3, /* a private PSL entry (pages.dev, github.io) */
	BW_SUFFIX_UNKNOWN = 4, /* not in the Public Suffix List */
};

/* The n-gram regression hashes into 2^BW_FEAT_HASH_BITS weights. */
#define BW_FEAT_HASH_BITS 17
#define BW_FEAT_HASH_N (1u << BW_FEAT_HASH_BITS)
/* Hashed n-grams per name at most (a host of 253 bytes makes < 1,100). */
#define BW_FEAT_NGRAMS_MAX 1200

/* Longest name accepted (a URL); longer input is refused, not cut. */
#define BW_FEAT_NAME_MAX 4096
/* Words: at most this many, each 3 to BW_FEAT_WORD_MAX letters a-z. */
#define BW_FEAT_WORDS_MAX 1000000
#define BW_FEAT_WORD_MAX 32
/* Public suffixes in the suffix table at most. */
#define BW_FEAT_SUFFIXES_MAX 100000

struct bw_features;

/* The short name of feature i ("sld_len", "tri_mean", ...), or NULL. */
const char *bw_features_name(int i);

/*
 * A new, empty statistics handle for training: words is a list of words,
 * one per line (len bytes; lines that are not 3 to BW_FEAT_WORD_MAX ASCII
 * letters after lower-casing are skipped, so a Debian word list can be
 * given as it is).  Returns BW_OK and *out, or BW_ENOMEM / BW_ELIMIT /
 * BW_EIO (no Public Suffix List).
 */
int bw_features_new(const char *words, size_t len, struct bw_features **out,
		    struct bw_err *err);
void bw_features_free(struct bw_features *f);

/* Adds a training name of class malicious (0 or 1) to the counts: a benign
 * name feeds the trigram table, both classes the suffix table.  Names that
 * are not canonical domains or URLs are refused with BW_EINVAL. */
int bw_features_count(struct bw_features *f, const char *name, size_t len,
		      int malicious, struct bw_err *err);
/* Turns the counts into the tables used by bw_features_extract().  Counts
 * are kept until bw_features_free() so that bw_features_extract_loo() works. */
int bw_features_finish(struct bw_features *f, struct bw_err *err);

/*
 * Fills x[BW_FEAT_N] for name (len bytes, canonical domain or URL).
 * Returns BW_OK, or BW_EINVAL with the reason in err when the name is not
 * one (an IP address, characters outside [a-z0-9._-] in the host, too
 * long).  Thread-safe on a finished handle; no allocation.
 */
int bw_features_extract(const struct bw_features *f, const char *name,
			size_t len, float *x, struct bw_err *err);
/* The same for a name that was given to bw_features_count() with class
 * malicious: its own counts are left out of the trigram and suffix
 * statistics ("leave one out").  Only on a handle built in this process. */
int bw_features_extract_loo(const struct bw_features *f, const char *name,
			    size_t len, int malicious, float *x,
			    struct bw_err *err);

/*
 * The hashed n-grams of name (indices below BW_FEAT_HASH_N, possibly
 * repeated) into idx[BW_FEAT_NGRAMS_MAX]; returns how many, or -1 (with
 * err) when the name is not one.  Each counts 1/sqrt(count) in the
 * regression.
 */
int bw_features_ngrams(const struct bw_features *f, const char *name,
		       size_t len, uint32_t *idx, struct bw_err *err);
/* The regressions: 0 for ngram_lr, 1 for ngram_gen. */
#define BW_FEAT_LINEAR 2
/* Rounds BW_FEAT_HASH_N weights in place to the grid they are stored on
 * (int16 times a scale of max |w| / 32767), so a trainer that computes
 * margins from w gets what a loaded model computes. */
void bw_features_quantise_linear(float *w);
/* Sets regression which (0 or 1): BW_FEAT_HASH_N weights and a bias
 * (copied, quantised as bw_features_quantise_linear does).  A regression
 * never set leaves its feature NaN. */
int bw_features_set_linear(struct bw_features *f, int which, const float *w,
			   float bias, struct bw_err *err);
/* The fold (0..4) of a training name, for out-of-fold statistics. */
unsigned bw_features_fold(const char *name, size_t len);

/*
 * Serialisation, for the model file (src/intel/model.c): four sections,
 * each a byte string owned by the caller afterwards (bw_free):
 *   words   the word list, one per line, sorted;
 *   trigram 38^3 little-endian float32 log-probabilities;
 *   suffix  lines "SUFFIX<TAB>BENIGN<TAB>MALICIOUS" (decimal counts);
 *   linear  per regression (BW_FEAT_LINEAR of them): float32 scale,
 *           float32 bias, then BW_FEAT_HASH_N int16 weights (weight =
 *           scale x int16), all little-endian; a scale of 0 is a
 *           regression never set; empty when none was set.
 */
int bw_features_save(const struct bw_features *f, char **words, size_t *wlen,
		     uint8_t **tri, size_t *tlen, char **suffix, size_t *slen,
		     uint8_t **lin, size_t *llen, struct bw_err *err);
/* Rebuilds a finished handle from the three sections; BW_EFORMAT with the
 * section named when one is malformed. */
int bw_features_load(const char *words, size_t wlen, const uint8_t *tri,
		     size_t tlen, const char *suffix, size_t slen,
		     const uint8_t *lin, size_t llen, struct bw_features **out,
		     struct bw_err *err);

/* Statistics of a handle, for reports and tests. */
size_t bw_features_word_count(const struct bw_features *f);
size_t bw_features_suffix_count(const struct bw_features *f);

#endif
