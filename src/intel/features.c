/*
 * features.c - the name features of the domain-risk model (see features.h
 * for what they are and why the statistics are shaped as they are).
 *
 * Extraction is one pass over the host for the shape, a walk of a few
 * hash look-ups for the public suffix (suffixtab.h: the same list libpsl
 * reads, a third of the time libpsl took), one trigram walk per label, one
 * trie walk per start position of the registrable label for the word
 * segmentation, and one FNV pass per position of the host for its 3- to
 * 5-grams, each a look-up of one 4-byte pair of int16 weights (both
 * regressions side by side: 2^16 pairs, 256 kB, which stays in L2 where
 * the 1 MB float table of 2^18 weights missed it); it never allocates.
 * About 1.0 us a name on the shared development machine (bench/score),
 * mostly the word trie now.
 */
#include "intel/features.h"

#include <libpsl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "intel/suffixtab.h"

#define NSYM 38
#define NTRI (NSYM * NSYM * NSYM)
#define NCTX (NSYM * NSYM)
/* add-k smoothing of the trigram model */
#define TRI_K 0.1
/* a trigram is "rare" below this log-probability */
#define TRI_RARE (-6.0f)
#define HOST_MAX 253
#define LABEL_MAX 63
#define TRIE_TERM 0x80000000u
/* bytes of one regression in the linear section */
#define LIN_BYTES (8 + 2 * (size_t)BW_FEAT_HASH_N)

struct trie_node {
	uint32_t mask; /* bit i: child for letter 'a'+i; TRIE_TERM: a word ends */
	uint32_t base; /* index of the first child */
};

/* Suffix odds of a training name come from the other folds only: a
 * leave-one-out odds would differ between the classes by exactly the
 * name's own count and give the label away to the trees. */
#define FOLDS 5

struct suffix_stat {
	uint32_t n[2]; /* benign, malicious */
	uint32_t fold[FOLDS][2]; /* while training */
	float odds;
	int cls; /* enum bw_suffix_class, looked up once */
};

struct lin_pair {
	int16_t w[BW_FEAT_LINEAR];
};

struct bw_features {
	const psl_ctx_t *psl;
	bool psl_owned;
	/* the same list as a hash map, for the hot path (NULL: libpsl) */
	struct bw_suffixtab *sfx;
	/* words */
	struct trie_node *trie;
	size_t ntrie;
	char *words; /* sorted, '\n'-separated (for saving) */
	size_t wlen, nwords;
	/* trigram model */
	float *tri;        /* NTRI log-probabilities */
	uint32_t *tri_n;   /* counts while training, else NULL */
	uint32_t *ctx_n;
	/* suffixes */
	struct bw_strmap *suffix;
	uint64_t total[2];
	uint64_t fold_total[FOLDS][2];
	float odds_unseen;
	/* n-gram regressions: per hashed n-gram the int16 weights of both
	 * side by side, so one cache line serves both sums */
	struct lin_pair *lin; /* BW_FEAT_HASH_N, or NULL */
	float lscale[BW_FEAT_LINEAR], lbias[BW_FEAT_LINEAR]; /* scale 0: unset */
	/* k * log2(k) and log2(k) for k up to a label's length, for entropy */
	double xlogx[LABEL_MAX + 1], log2k[LABEL_MAX + 1];
};

static const char *const feat_names[BW_FEAT_N] = {
	"host_len", "labels", "sld_len", "sub_len", "max_label", "entropy",
	"digit_ratio", "vowel_ratio", "consonant_run", "digit_run", "hyphens",
	"switches", "uniq_ratio", "hex_only", "first_digit", "tri_mean",
	"tri_min", "tri_rare", "tri_sub", "word_cover", "word_count",
	"word_longest", "suffix_class", "suffix_labels", "suffix_odds", "idn",
	"underscore", "is_url", "path_len", "path_depth", "query_len",
	"query_params", "path_risky_ext", "path_digits", "path_escapes", "port",
	"ngram_lr", "ngram_gen",
};

const char *
bw_features_name(int i)
{
	if (i < 0 || i >= BW_FEAT_N)
		return NULL;
	return feat_names[i];
}

static inline int
sym(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return 1 + (c - 'a');
	if (c >= '0' && c <= '9')
		return 27 + (c - '0');
	return 37; /* '-' and '_' */
}

/* ---- the parsed name ---------------------------------------------------- */

struct parsed {
	char host[HOST_MAX + 1];
	size_t hlen;
	const char *suffix; /* into host */
	size_t suflen;
	const char *sld;    /* into host */
	size_t sldlen, sublen;
	int is_url, port;
	const char *path, *query; /* into the caller's name; NULL if absent */
	size_t pathlen, querylen;
};

static int
parse_name(const char *name, size_t len, struct parsed *p, struct bw_err *err)
{
	const char *h = name, *end = name + len, *he;
	size_t labels = 0, lablen = 0;
	bool alldigit = true;

	memset(p, 0, sizeof(*p));
	if (len == 0)
		return bw_err_set(err, BW_EINVAL, "empty name");
	if (len > BW_FEAT_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "name longer than %d bytes",
				  BW_FEAT_NAME_MAX);
	for (const char *s = name; s + 2 < end; s++) {
		if (*s == ':' && s[1] == '/' && s[2] == '/') {
			p->is_url = 1;
			h = s + 3;
			break;
		}
		if (*s == '/' || *s == '.')
			break;
	}
	he = h;
	while (he < end && *he != '/' && *he != '?' && *he != '#')
		he++;
	if (p->is_url) {
		const char *at = NULL, *colon = NULL;

		for (const char *s = h; s < he; s++)
			if (*s == '@')
				at = s;
		if (at)
			h = at + 1;
		if (h < he && *h == '[')
			return bw_err_set(err, BW_EINVAL,
					  "URL host is an IP address, not a name");
		for (const char *s = h; s < he; s++)
			if (*s == ':') {
				colon = s;
				break;
			}
		if (colon) {
			p->port = 1;
			he = colon;
		}
		{
			const char *q = h;

			while (q < end && *q != '/' && *q != '?' && *q != '#')
				q++;
			if (q < end && *q == '/') {
				p->path = q;
				while (q < end && *q != '?' && *q != '#')
					q++;
				p->pathlen = (size_t)(q - p->path);
			}
			if (q < end && *q == '?') {
				p->query = q + 1;
				while (q < end && *q != '#')
					q++;
				p->querylen = (size_t)(q - p->query);
			}
		}
	} else if (he != end) {
		return bw_err_set(err, BW_EINVAL, "not a domain name or URL");
	}
	if (he == h)
		return bw_err_set(err, BW_EINVAL, "no host name");
	if ((size_t)(he - h) > HOST_MAX)
		return bw_err_set(err, BW_EINVAL, "host longer than %d bytes", HOST_MAX);
	for (const char *s = h; s < he; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (lablen == 0)
				return bw_err_set(err, BW_EINVAL, "empty label");
			labels++;
			lablen = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return bw_err_set(err, BW_EINVAL,
					  "character 0x%02x in host name (canonical "
					  "lower-case A-labels expected)", c);
		if (c < '0' || c > '9')
			alldigit = false;
		if (++lablen > LABEL_MAX)
			return bw_err_set(err, BW_EINVAL, "label longer than %d octets",
					  LABEL_MAX);
	}
	if (lablen == 0)
		return bw_err_set(err, BW_EINVAL, "empty label");
	labels++;
	if (alldigit)
		return bw_err_set(err, BW_EINVAL, "an IP address, not a name");
	if (labels < 2)
		return bw_err_set(err, BW_EINVAL, "a single label, not a domain name");
	/* "www." says nothing about the name */
	if (labels > 2 && he - h > 4 && memcmp(h, "www.", 4) == 0)
		h += 4;
	p->hlen = (size_t)(he - h);
	memcpy(p->host, h, p->hlen);
	p->host[p->hlen] = '\0';
	return BW_OK;
}

/* Finds the public suffix and the registrable label. */
static void
split_suffix(const struct bw_features *f, struct parsed *p)
{
	const char *suf = f->sfx ? p->host + bw_suffixtab_suffix(f->sfx, p->host,
								   p->hlen)
				 : psl_unregistrable_domain(f->psl, p->host);
	const char *dot;

	if (suf == NULL || suf < p->host || suf > p->host + p->hlen)
		suf = strrchr(p->host, '.') + 1;
	if (suf == p->host) {
		/* the host is a public suffix itself (github.io): its first
		 * label plays the registrable label */
		suf = strchr(p->host, '.') + 1;
	}
	p->suffix = suf;
	p->suflen = p->hlen - (size_t)(suf - p->host);
	/* the label before the suffix */
	dot = suf - 1; /* the '.' before the suffix */
	p->sld = dot;
	while (p->sld > p->host && p->sld[-1] != '.')
		p->sld--;
	p->sldlen = (size_t)(dot - p->sld);
	p->sublen = p->sld > p->host ? (size_t)(p->sld - p->host - 1) : 0;
}

static int
suffix_class(const struct bw_features *f, const char *suf)
{
	int cls;

	if (!psl_is_public_suffix2(f->psl, suf, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
		cls = BW_SUFFIX_UNKNOWN;
	else if (!psl_is_public_suffix2(f->psl, suf, PSL_TYPE_ICANN))
		cls = BW_SUFFIX_PRIVATE;
	else {
		const char *tld = strrchr(suf, '.');
		static const char *const legacy[] = {"com", "net", "org", "info",
			"biz", "edu", "gov", "mil", "int"};

		tld = tld ? tld + 1 : suf;
		cls = BW_SUFFIX_NEW;
		if (strlen(tld) == 2)
			cls = BW_SUFFIX_CC;
		for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
			if (strcmp(tld, legacy[i]) == 0)
				cls = BW_SUFFIX_LEGACY;
	}
	return cls;
}

/* ---- trigram model ---------------------------------------------------- */

/* The name's own trigram and context counts, for leave-one-out. */
struct own_counts {
	uint32_t idx[2 * (HOST_MAX + 2)];
	size_t n;
};

static uint32_t
own_of(const struct own_counts *o, uint32_t idx, int ctx)
{
	uint32_t k = 0;

	if (o == NULL)
		return 0;
	for (size_t i = 0; i < o->n; i++)
		if ((ctx ? o->idx[i] / NSYM : o->idx[i]) == idx)
			k++;
	return k;
}

static inline float
tri_logp(const struct bw_features *f, uint32_t idx, const struct own_counts *own)
{
	if (own == NULL || f->tri_n == NULL)
		return f->tri[idx];
	{
		double n = (double)f->tri_n[idx] - own_of(own, idx, 0);
		double c = (double)f->ctx_n[idx / NSYM] - own_of(own, idx / NSYM, 1);

		return (float)log((n + TRI_K) / (c + NSYM * TRI_K));
	}
}

/* Log-probabilities of one label: sum, minimum, rare count, predictions. */
struct tri_acc {
	double sum;
	float min;
	size_t rare, n;
};

static void
tri_label(const struct bw_features *f, const char *s, size_t n,
	  const struct own_counts *own, struct tri_acc *a)
{
	int x = 0, y = 0;

	for (size_t i = 0; i <= n; i++) {
		int z = i < n ? sym((unsigned char)s[i]) : 0;
		uint32_t idx = (uint32_t)((x * NSYM + y) * NSYM + z);
		float lp = tri_logp(f, idx, own);

		a->sum += lp;
		if (a->n == 0 || lp < a->min)
			a->min = lp;
		if (lp < TRI_RARE)
			a->rare++;
		a->n++;
		x = y;
		y = z;
	}
}

/* The trigrams of each label of the host outside the suffix. */
static void
own_collect(const struct parsed *p, struct own_counts *o)
{
	const char *s = p->host, *end = p->sld + p->sldlen;

	o->n = 0;
	while (s < end) {
		const char *e = memchr(s, '.', (size_t)(end - s));
		int x = 0, y = 0;

		if (e == NULL)
			e = end;
		for (const char *c = s; c <= e; c++) {
			int z = c < e ? sym((unsigned char)*c) : 0;

			if (o->n < sizeof(o->idx) / sizeof(o->idx[0]))
				o->idx[o->n++] = (uint32_t)((x * NSYM + y) * NSYM + z);
			x = y;
			y = z;
		}
		s = e + 1;
	}
}

/* ---- words ------------------------------------------------------------ */

/* Bits set in v (inline: without -mpopcnt the builtin is a call). */
static inline uint32_t
popcount32(uint32_t v)
{
	v = v - ((v >> 1) & 0x55555555u);
	v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
	return (((v + (v >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

static inline uint32_t
trie_child(const struct bw_features *f, uint32_t node, int letter)
{
	uint32_t m = f->trie[node].mask, bit = 1u << letter;

	if (!(m & bit))
		return 0;
	return f->trie[node].base + popcount32(m & (bit - 1) & ~TRIE_TERM);
}

/* Best segmentation of the letters of s into words: covered letters, words,
 * longest word. */
static void
word_cover(const struct bw_features *f, const char *s, size_t n, float *cover,
	   float *count, float *longest)
{
	uint8_t best[LABEL_MAX + 1], words[LABEL_MAX + 1];
	size_t letters = 0, lon = 0;

	if (f->ntrie == 0 || n == 0) {
		*cover = 0, *count = 0, *longest = 0;
		return;
	}
	memset(best, 0, sizeof(best));
	memset(words, 0, sizeof(words));
	for (size_t i = 0; i < n; i++) {
		uint32_t node = 0;

		if (s[i] >= 'a' && s[i] <= 'z')
			letters++;
		/* skipping character i */
		if (best[i] > best[i + 1] ||
		    (best[i] == best[i + 1] && words[i] < words[i + 1])) {
			best[i + 1] = best[i];
			words[i + 1] = words[i];
		}
		for (size_t k = i; k < n; k++) {
			if (s[k] < 'a' || s[k] > 'z')
				break;
			node = trie_child(f, node, s[k] - 'a');
			if (node == 0)
				break;
			if (f->trie[node].mask & TRIE_TERM) {
				size_t len = k + 1 - i;
				unsigned b = best[i] + (unsigned)len,
					 w = words[i] + 1u;

				if (len > lon)
					lon = len;
				if (b > best[k + 1] ||
				    (b == best[k + 1] && w < words[k + 1])) {
					best[k + 1] = (uint8_t)b;
					words[k + 1] = (uint8_t)w;
				}
			}
		}
	}
	*cover = letters ? (float)best[n] / (float)letters : 0;
	*count = words[n];
	*longest = (float)lon;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Builds the trie and the sorted word text from a word list. */
static int
build_words(struct bw_features *f, const char *text, size_t len,
	    struct bw_err *err)
{
	char *buf = NULL, **w = NULL;
	size_t nw = 0, cap = 0, n = 0, pos = 0;
	struct { uint32_t lo, hi, depth; } *q = NULL;
	size_t qcap = 0, qn = 0;
	int rc = BW_OK;

	buf = bw_malloc(len + 1);
	if (buf == NULL)
		goto nomem;
	/* keep lines of 3..WORD_MAX letters, lower-cased */
	for (size_t i = 0; i <= len; i++) {
		if (i == len || text[i] == '\n' || text[i] == '\r') {
			size_t wl = i - pos;
			bool ok = wl >= 3 && wl <= BW_FEAT_WORD_MAX;

			for (size_t k = pos; ok && k < i; k++) {
				char c = text[k];

				if (c >= 'A' && c <= 'Z')
					c = (char)(c - 'A' + 'a');
				if (c < 'a' || c > 'z')
					ok = false;
				buf[n + (k - pos)] = c;
			}
			if (ok) {
				if (nw >= BW_FEAT_WORDS_MAX) {
					rc = bw_err_set(err, BW_ELIMIT,
							"word list: more than %d words",
							BW_FEAT_WORDS_MAX);
					goto out;
				}
				if (nw == cap && !(w = bw_grow(w, &cap, nw + 1, sizeof(*w))))
					goto nomem;
				buf[n + wl] = '\0';
				w[nw++] = buf + n;
				n += wl + 1;
			}
			pos = i + 1;
		}
	}
	if (nw)
		qsort(w, nw, sizeof(*w), cmp_str);
	/* unique */
	{
		size_t u = 0;

		for (size_t i = 0; i < nw; i++)
			if (u == 0 || strcmp(w[u - 1], w[i]) != 0)
				w[u++] = w[i];
		nw = u;
	}
	/* the sorted text */
	f->words = bw_malloc(n + 1);
	if (f->words == NULL)
		goto nomem;
	f->wlen = 0;
	for (size_t i = 0; i < nw; i++) {
		size_t wl = strlen(w[i]);

		memcpy(f->words + f->wlen, w[i], wl);
		f->words[f->wlen + wl] = '\n';
		f->wlen += wl + 1;
	}
	f->words[f->wlen] = '\0';
	f->nwords = nw;
	/* breadth-first: every node is a range of words sharing a prefix of
	 * length depth; its children are appended to the queue together, so
	 * they are consecutive and base is the index of the first */
	if (!(q = bw_grow(q, &qcap, 1, sizeof(*q))))
		goto nomem;
	q[qn].lo = 0, q[qn].hi = (uint32_t)nw, q[qn].depth = 0;
	qn = 1;
	f->ntrie = 0;
	for (size_t at = 0; at < qn; at++) {
		uint32_t lo = q[at].lo, hi = q[at].hi, d = q[at].depth;
		struct trie_node node = {0, 0};

		if (lo < hi && strlen(w[lo]) == d) {
			node.mask |= TRIE_TERM;
			lo++;
		}
		node.base = (uint32_t)qn;
		while (lo < hi) {
			char c = w[lo][d];
			uint32_t e = lo;

			while (e < hi && w[e][d] == c)
				e++;
			node.mask |= 1u << (c - 'a');
			if (qn == qcap && !(q = bw_grow(q, &qcap, qn + 1, sizeof(*q))))
				goto nomem;
			q[qn].lo = lo, q[qn].hi = e, q[qn].depth = d + 1;
			qn++;
			lo = e;
		}
		/* the range of node at is done with: keep the node there */
		q[at].lo = node.mask;
		q[at].hi = node.base;
	}
	f->trie = bw_calloc(qn, sizeof(*f->trie));
	if (f->trie == NULL)
		goto nomem;
	for (size_t i = 0; i < qn; i++) {
		f->trie[i].mask = q[i].lo;
		f->trie[i].base = q[i].hi;
	}
	f->ntrie = qn;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_free(q);
	bw_free(w);
	bw_free(buf);
	return rc;
}

static unsigned
fold_of(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	return (unsigned)(h % FOLDS);
}

/* ---- handle ------------------------------------------------------------ */

static int
features_alloc(struct bw_features **out, struct bw_err *err)
{
	struct bw_features *f = bw_calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (f == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	f->psl = psl_latest(NULL);
	f->psl_owned = f->psl != NULL;
	if (f->psl == NULL)
		f->psl = psl_builtin();
	if (f->psl == NULL) {
		bw_free(f);
		return bw_err_set(err, BW_EIO,
				  "no Public Suffix List (install the publicsuffix package)");
	}
	/* the fast table from the package's list file; without it, libpsl */
	if (bw_suffixtab_load(NULL, &f->sfx, NULL) != BW_OK)
		f->sfx = NULL;
	for (int k = 0; k <= LABEL_MAX; k++) {
		f->xlogx[k] = k ? k * log2((double)k) : 0;
		f->log2k[k] = k ? log2((double)k) : 0;
	}
	f->tri = bw_calloc(NTRI, sizeof(*f->tri));
	if (f->tri == NULL) {
		bw_features_free(f);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	rc = bw_strmap_new(BW_FEAT_SUFFIXES_MAX, &f->suffix, err);
	if (rc) {
		bw_features_free(f);
		return rc;
	}
	*out = f;
	return BW_OK;
}

int
bw_features_new(const char *words, size_t len, struct bw_features **out,
		struct bw_err *err)
{
	struct bw_features *f = NULL;
	int rc = features_alloc(&f, err);

	*out = NULL;
	if (rc)
		return rc;
	f->tri_n = bw_calloc(NTRI, sizeof(*f->tri_n));
	f->ctx_n = bw_calloc(NCTX, sizeof(*f->ctx_n));
	if (f->tri_n == NULL || f->ctx_n == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	rc = build_words(f, words, len, err);
	if (rc)
		goto fail;
	*out = f;
	return BW_OK;
fail:
	bw_features_free(f);
	return rc;
}

void
bw_features_free(struct bw_features *f)
{
	if (f == NULL)
		return;
	if (f->psl_owned)
		psl_free((psl_ctx_t *)f->psl);
	bw_suffixtab_free(f->sfx);
	bw_free(f->trie);
	bw_free(f->words);
	bw_free(f->tri);
	bw_free(f->tri_n);
	bw_free(f->ctx_n);
	bw_free(f->lin);
	bw_strmap_free(f->suffix);
	bw_free(f);
}

size_t
bw_features_word_count(const struct bw_features *f)
{
	return f->nwords;
}

size_t
bw_features_suffix_count(const struct bw_features *f)
{
	return bw_strmap_count(f->suffix);
}

static struct suffix_stat *
suffix_get(struct bw_features *f, const char *s, size_t n, struct bw_err *err)
{
	struct suffix_stat *st = bw_strmap_get(f->suffix, s, n);

	if (st)
		return st;
	st = bw_strmap_alloc(f->suffix, sizeof(*st));
	if (st == NULL) {
		bw_err_set(err, BW_ENOMEM, "out of memory");
		return NULL;
	}
	{
		char key[HOST_MAX + 1];

		if (n > HOST_MAX)
			n = HOST_MAX;
		memcpy(key, s, n);
		key[n] = '\0';
		st->cls = suffix_class(f, key);
	}
	if (bw_strmap_put(f->suffix, s, n, st, err))
		return NULL;
	return st;
}

int
bw_features_count(struct bw_features *f, const char *name, size_t len,
		  int malicious, struct bw_err *err)
{
	struct parsed p;
	struct suffix_stat *st;
	int rc;

	if (f->tri_n == NULL)
		return bw_err_set(err, BW_EINVAL, "features: not a training handle");
	rc = parse_name(name, len, &p, err);
	if (rc)
		return rc;
	split_suffix(f, &p);
	st = suffix_get(f, p.suffix, p.suflen, err);
	if (st == NULL)
		return err ? err->code : BW_ENOMEM;
	st->n[malicious ? 1 : 0]++;
	f->total[malicious ? 1 : 0]++;
	{
		unsigned k = fold_of(name, len);

		st->fold[k][malicious ? 1 : 0]++;
		f->fold_total[k][malicious ? 1 : 0]++;
	}
	if (!malicious) {
		struct own_counts o;

		own_collect(&p, &o);
		for (size_t i = 0; i < o.n; i++) {
			f->tri_n[o.idx[i]]++;
			f->ctx_n[o.idx[i] / NSYM]++;
		}
	}
	return BW_OK;
}

static float
odds_of(uint32_t nb, uint32_t nm, uint64_t tb, uint64_t tm)
{
	double lo = log((nm + 1.0) / (tm + 1.0)) - log((nb + 1.0) / (tb + 1.0));

	if (lo > 8)
		lo = 8;
	if (lo < -8)
		lo = -8;
	return (float)lo;
}

static void
finish_suffixes(struct bw_features *f)
{
	size_t pos = 0;
	void *v;

	while (bw_strmap_next(f->suffix, &pos, NULL, NULL, &v)) {
		struct suffix_stat *st = v;

		st->odds = odds_of(st->n[0], st->n[1], f->total[0], f->total[1]);
	}
	f->odds_unseen = odds_of(0, 0, f->total[0], f->total[1]);
}

int
bw_features_finish(struct bw_features *f, struct bw_err *err)
{
	if (f->tri_n == NULL)
		return bw_err_set(err, BW_EINVAL, "features: not a training handle");
	for (uint32_t i = 0; i < NTRI; i++)
		f->tri[i] = (float)log((f->tri_n[i] + TRI_K) /
				       (f->ctx_n[i / NSYM] + NSYM * TRI_K));
	finish_suffixes(f);
	return BW_OK;
}

/* ---- n-grams ----------------------------------------------------------- */

/* FNV-1a over the bytes, then a finaliser that mixes in a kind (the
 * n-gram length, or a token kind) and spreads the bits. */
static inline uint32_t
hash_final(uint32_t h, uint32_t kind)
{
	h ^= kind * 0x9e3779b9u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h & (BW_FEAT_HASH_N - 1);
}

static inline uint32_t
hash_bytes(uint32_t kind, const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return hash_final(h, kind);
}

/* Character 3- to 5-grams of "^host$" (one FNV pass per start position
 * gives the 3-, 4- and 5-gram there), each label as a token, the suffix. */
static size_t
ngrams_of(const struct parsed *p, uint32_t *idx)
{
	char buf[HOST_MAX + 3];
	size_t n = p->hlen + 2, k = 0;
	const char *a = p->host, *end = p->host + p->hlen;

	buf[0] = '^';
	memcpy(buf + 1, p->host, p->hlen);
	buf[n - 1] = '$';
	for (size_t i = 0; i + 3 <= n; i++) {
		uint32_t h = 2166136261u;
		size_t g = n - i < 5 ? n - i : 5;

		for (size_t j = 0; j < g; j++) {
			h ^= (unsigned char)buf[i + j];
			h *= 16777619u;
			if (j >= 2)
				idx[k++] = hash_final(h, (uint32_t)j + 1);
		}
	}
	while (a < end) {
		const char *e = memchr(a, '.', (size_t)(end - a));

		if (e == NULL)
			e = end;
		if (e >= p->suffix)
			break;
		idx[k++] = hash_bytes(101, a, (size_t)(e - a));
		a = e + 1;
	}
	idx[k++] = hash_bytes(102, p->suffix, p->suflen);
	return k;
}

int
bw_features_ngrams(const struct bw_features *f, const char *name, size_t len,
		   uint32_t *idx, struct bw_err *err)
{
	struct parsed p;

	if (parse_name(name, len, &p, err))
		return -1;
	split_suffix(f, &p);
	return (int)ngrams_of(&p, idx);
}

static float
linear_scale(const float *w)
{
	float mx = 0;

	for (size_t i = 0; i < BW_FEAT_HASH_N; i++)
		if (fabsf(w[i]) > mx)
			mx = fabsf(w[i]);
	return mx > 0 ? mx / 32767.0f : 1.0f;
}

void
bw_features_quantise_linear(float *w)
{
	float sc = linear_scale(w);

	for (size_t i = 0; i < BW_FEAT_HASH_N; i++)
		w[i] = (float)lrintf(w[i] / sc) * sc;
}

static int
lin_alloc(struct bw_features *f, struct bw_err *err)
{
	if (f->lin == NULL) {
		f->lin = bw_calloc(BW_FEAT_HASH_N, sizeof(*f->lin));
		if (f->lin == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	return BW_OK;
}

int
bw_features_set_linear(struct bw_features *f, int which, const float *w,
		       float bias, struct bw_err *err)
{
	float sc;

	if (which < 0 || which >= BW_FEAT_LINEAR)
		return bw_err_set(err, BW_EINVAL, "no regression %d", which);
	if (lin_alloc(f, err))
		return BW_ENOMEM;
	sc = linear_scale(w);
	for (size_t i = 0; i < BW_FEAT_HASH_N; i++)
		f->lin[i].w[which] = (int16_t)lrintf(w[i] / sc);
	f->lscale[which] = sc;
	f->lbias[which] = bias;
	return BW_OK;
}

unsigned
bw_features_fold(const char *name, size_t len)
{
	return fold_of(name, len);
}

/* ---- extraction -------------------------------------------------------- */

static bool
risky_ext(const char *path, size_t n)
{
	static const char *const ext[] = {"exe", "dll", "scr", "bat", "cmd",
		"ps1", "vbs", "js", "jar", "apk", "bin", "sh", "elf", "msi",
		"zip", "rar", "7z", "iso", "img", "doc", "docm", "xls", "xlsm",
		"hta", "lnk", "arm", "arm7", "mips", "mpsl", "x86", "i686",
		"m68k", "ppc", "sh4", "dat"};
	const char *dot = NULL;

	for (size_t i = n; i > 0; i--) {
		if (path[i - 1] == '/')
			break;
		if (path[i - 1] == '.') {
			dot = path + i;
			break;
		}
	}
	if (dot == NULL)
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if ((size_t)(path + n - dot) == el && memcmp(dot, ext[i], el) == 0)
			return true;
	}
	return false;
}

static int
extract(const struct bw_features *f, const char *name, size_t len, int loo,
	int malicious, float *x, struct bw_err *err)
{
	struct parsed p;
	struct own_counts own;
	const struct own_counts *op = NULL;
	struct tri_acc ts = {0, 0, 0, 0}, tsub = {0, 0, 0, 0};
	const char *s;
	size_t n, labels = 1, maxlab = 0, lab = 0, hyph = 0, under = 0;
	const struct suffix_stat *st;
	int rc, cls;

	rc = parse_name(name, len, &p, err);
	if (rc)
		return rc;
	split_suffix(f, &p);
	st = bw_strmap_get(f->suffix, p.suffix, p.suflen);
	cls = st ? st->cls : suffix_class(f, p.suffix);
	if (loo && !malicious && f->tri_n) {
		own_collect(&p, &own);
		op = &own;
	}
	for (size_t i = 0; i < BW_FEAT_N; i++)
		x[i] = NAN;
	for (size_t i = 0; i < p.hlen; i++) {
		char c = p.host[i];

		if (c == '.') {
			labels++;
			lab = 0;
			continue;
		}
		if (++lab > maxlab)
			maxlab = lab;
		hyph += c == '-';
		under += c == '_';
	}
	x[BW_FEAT_HOST_LEN] = (float)p.hlen;
	x[BW_FEAT_LABELS] = (float)labels;
	x[BW_FEAT_SLD_LEN] = (float)p.sldlen;
	x[BW_FEAT_SUB_LEN] = (float)p.sublen;
	x[BW_FEAT_MAX_LABEL] = (float)maxlab;
	x[BW_FEAT_HYPHENS] = (float)hyph;
	x[BW_FEAT_UNDERSCORE] = (float)under;
	x[BW_FEAT_IDN] = strstr(p.host, "xn--") != NULL;

	/* characters of the registrable label */
	s = p.sld;
	n = p.sldlen;
	{
		unsigned cnt[NSYM] = {0};
		uint8_t seen[NSYM];
		size_t digits = 0, vowels = 0, letters = 0, crun = 0, cmax = 0,
		       drun = 0, dmax = 0, sw = 0, uniq = 0;
		bool hex = true;
		double ent = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			bool isd = c >= '0' && c <= '9', isl = c >= 'a' && c <= 'z';
			bool isv = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';

			{
				int y = sym(c);

				if (cnt[y]++ == 0)
					seen[uniq++] = (uint8_t)y;
			}
			digits += isd;
			letters += isl;
			vowels += isv;
			crun = isl && !isv ? crun + 1 : 0;
			drun = isd ? drun + 1 : 0;
			if (crun > cmax)
				cmax = crun;
			if (drun > dmax)
				dmax = drun;
			if (!(isd || (c >= 'a' && c <= 'f')))
				hex = false;
			if (i > 0) {
				unsigned char b = (unsigned char)s[i - 1];
				bool bd = b >= '0' && b <= '9';

				sw += bd != isd;
			}
		}
		/* -sum q log2 q with q = c/n is log2 n - sum c log2 c / n */
		for (size_t k = 0; k < uniq; k++)
			ent -= f->xlogx[cnt[seen[k]]];
		ent = f->log2k[n] + ent / (double)n;
		if (ent < 0)
			ent = 0;
		x[BW_FEAT_ENTROPY] = (float)ent;
		x[BW_FEAT_DIGIT_RATIO] = (float)digits / (float)n;
		x[BW_FEAT_VOWEL_RATIO] = letters ? (float)vowels / (float)letters : 0;
		x[BW_FEAT_CONS_RUN] = (float)cmax;
		x[BW_FEAT_DIGIT_RUN] = (float)dmax;
		x[BW_FEAT_SWITCHES] = n > 1 ? (float)sw / (float)(n - 1) : 0;
		x[BW_FEAT_UNIQ_RATIO] = (float)uniq / (float)n;
		x[BW_FEAT_HEX_ONLY] = hex;
		x[BW_FEAT_FIRST_DIGIT] = s[0] >= '0' && s[0] <= '9';
	}
	tri_label(f, s, n, op, &ts);
	x[BW_FEAT_TRI_MEAN] = (float)(ts.sum / (double)ts.n);
	x[BW_FEAT_TRI_MIN] = ts.min;
	x[BW_FEAT_TRI_RARE] = (float)ts.rare / (float)ts.n;
	if (p.sublen) {
		const char *a = p.host, *end = p.host + p.sublen;

		while (a < end) {
			const char *e = memchr(a, '.', (size_t)(end - a));

			if (e == NULL)
				e = end;
			tri_label(f, a, (size_t)(e - a), op, &tsub);
			a = e + 1;
		}
		x[BW_FEAT_TRI_SUB] = (float)(tsub.sum / (double)tsub.n);
	}
	word_cover(f, s, n, &x[BW_FEAT_WORD_COVER], &x[BW_FEAT_WORD_COUNT],
		   &x[BW_FEAT_WORD_LONGEST]);

	/* suffix */
	{
		size_t sl = 1;

		for (const char *c = p.suffix; *c; c++)
			sl += *c == '.';
		x[BW_FEAT_SUFFIX_CLASS] = (float)cls;
		x[BW_FEAT_SUFFIX_LABELS] = (float)sl;
		if (st == NULL)
			x[BW_FEAT_SUFFIX_ODDS] = f->odds_unseen;
		else if (loo && f->tri_n) {
			unsigned k = fold_of(name, len);

			x[BW_FEAT_SUFFIX_ODDS] =
				odds_of(st->n[0] - st->fold[k][0],
					st->n[1] - st->fold[k][1],
					f->total[0] - f->fold_total[k][0],
					f->total[1] - f->fold_total[k][1]);
		} else
			x[BW_FEAT_SUFFIX_ODDS] = st->odds;
	}

	if (f->lin) {
		uint32_t idx[BW_FEAT_NGRAMS_MAX];
		size_t k = ngrams_of(&p, idx);
		int32_t s0 = 0, s1 = 0;
		float norm = 1.0f / sqrtf((float)k);

		for (size_t i = 0; i < k; i++) {
			const struct lin_pair *w = f->lin + idx[i];

			s0 += w->w[0];
			s1 += w->w[1];
		}
		if (f->lscale[0] > 0)
			x[BW_FEAT_NGRAM_LR] = f->lbias[0] + f->lscale[0] * (float)s0 * norm;
		if (f->lscale[1] > 0)
			x[BW_FEAT_NGRAM_GEN] = f->lbias[1] + f->lscale[1] * (float)s1 * norm;
	}

	/* URL shape */
	x[BW_FEAT_IS_URL] = (float)p.is_url;
	if (p.is_url) {
		size_t depth = 0, pd = 0, esc = 0, params = 0;

		for (size_t i = 0; i < p.pathlen; i++) {
			depth += p.path[i] == '/';
			pd += p.path[i] >= '0' && p.path[i] <= '9';
			esc += p.path[i] == '%';
		}
		for (size_t i = 0; i < p.querylen; i++)
			params += p.query[i] == '&';
		x[BW_FEAT_PATH_LEN] = (float)p.pathlen;
		x[BW_FEAT_PATH_DEPTH] = (float)depth;
		x[BW_FEAT_QUERY_LEN] = (float)p.querylen;
		x[BW_FEAT_QUERY_PARAMS] = p.query ? (float)(params + 1) : 0;
		x[BW_FEAT_PATH_RISKY_EXT] = p.path && risky_ext(p.path, p.pathlen);
		x[BW_FEAT_PATH_DIGITS] = p.pathlen ? (float)pd / (float)p.pathlen : 0;
		x[BW_FEAT_PATH_ESCAPES] = (float)esc;
		x[BW_FEAT_PORT] = (float)p.port;
	}
	return BW_OK;
}

int
bw_features_extract(const struct bw_features *f, const char *name, size_t len,
		    float *x, struct bw_err *err)
{
	return extract(f, name, len, 0, 0, x, err);
}

int
bw_features_extract_loo(const struct bw_features *f, const char *name,
			size_t len, int malicious, float *x, struct bw_err *err)
{
	return extract(f, name, len, 1, malicious, x, err);
}

/* ---- serialisation ----------------------------------------------------- */

static void
put_f32(uint8_t *p, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	p[0] = (uint8_t)u;
	p[1] = (uint8_t)(u >> 8);
	p[2] = (uint8_t)(u >> 16);
	p[3] = (uint8_t)(u >> 24);
}

static float
get_f32(const uint8_t *p)
{
	uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;
	float v;

	memcpy(&v, &u, 4);
	return v;
}

int
bw_features_save(const struct bw_features *f, char **words, size_t *wlen,
		 uint8_t **tri, size_t *tlen, char **suffix, size_t *slen,
		 uint8_t **lin, size_t *llen, struct bw_err *err)
{
	char *w = NULL, *s = NULL;
	uint8_t *t = NULL, *l = NULL;
	size_t lsize = f->lin ? (size_t)BW_FEAT_LINEAR * LIN_BYTES : 0;
	size_t scap = 0, sn = 0, pos = 0;
	const char *key;
	size_t klen;
	void *v;

	*words = NULL, *tri = NULL, *suffix = NULL, *lin = NULL;
	w = bw_malloc(f->wlen + 1);
	t = bw_malloc((size_t)NTRI * 4);
	l = bw_malloc(lsize + 1);
	if (w == NULL || t == NULL || l == NULL)
		goto nomem;
	for (size_t k = 0; lsize && k < BW_FEAT_LINEAR; k++) {
		uint8_t *q = l + k * LIN_BYTES;

		put_f32(q, f->lscale[k]);
		put_f32(q + 4, f->lbias[k]);
		for (size_t i = 0; i < BW_FEAT_HASH_N; i++) {
			uint16_t u = (uint16_t)f->lin[i].w[k];

			q[8 + 2 * i] = (uint8_t)u;
			q[9 + 2 * i] = (uint8_t)(u >> 8);
		}
	}
	memcpy(w, f->words ? f->words : "", f->wlen);
	for (size_t i = 0; i < NTRI; i++)
		put_f32(t + 4 * i, f->tri[i]);
	while (bw_strmap_next(f->suffix, &pos, &key, &klen, &v)) {
		const struct suffix_stat *st = v;
		char line[HOST_MAX + 64];
		int ln = snprintf(line, sizeof(line), "%s\t%u\t%u\n", key,
				  (unsigned)st->n[0], (unsigned)st->n[1]);

		if (ln < 0 || (size_t)ln >= sizeof(line))
			continue;
		if (!(s = bw_grow(s, &scap, sn + (size_t)ln + 1, 1)))
			goto nomem;
		memcpy(s + sn, line, (size_t)ln);
		sn += (size_t)ln;
	}
	*words = w, *wlen = f->wlen;
	*tri = t, *tlen = (size_t)NTRI * 4;
	*suffix = s, *slen = sn;
	*lin = l, *llen = lsize;
	return BW_OK;
nomem:
	bw_free(w);
	bw_free(t);
	bw_free(s);
	bw_free(l);
	return bw_err_set(err, BW_ENOMEM, "out of memory");
}

int
bw_features_load(const char *words, size_t wlen, const uint8_t *tri,
		 size_t tlen, const char *suffix, size_t slen,
		 const uint8_t *lin, size_t llen, struct bw_features **out,
		 struct bw_err *err)
{
	struct bw_features *f = NULL;
	int rc;
	size_t pos = 0, line = 0;

	*out = NULL;
	if (tlen != (size_t)NTRI * 4)
		return bw_err_set(err, BW_EFORMAT,
				  "trigram section: %zu bytes, expected %d", tlen,
				  NTRI * 4);
	rc = features_alloc(&f, err);
	if (rc)
		return rc;
	rc = build_words(f, words, wlen, err);
	if (rc)
		goto fail;
	if (llen != 0 && llen != (size_t)BW_FEAT_LINEAR * LIN_BYTES) {
		rc = bw_err_set(err, BW_EFORMAT,
				"linear section: %zu bytes, expected 0 or %zu", llen,
				(size_t)BW_FEAT_LINEAR * LIN_BYTES);
		goto fail;
	}
	if (llen) {
		rc = lin_alloc(f, err);
		if (rc)
			goto fail;
		for (size_t k = 0; k < BW_FEAT_LINEAR; k++) {
			const uint8_t *q = lin + k * LIN_BYTES;
			float sc = get_f32(q), b = get_f32(q + 4);

			if (!isfinite(sc) || sc < 0 || !isfinite(b)) {
				rc = bw_err_set(err, BW_EFORMAT,
						"linear section: regression %zu has a bad "
						"scale or bias", k);
				goto fail;
			}
			f->lscale[k] = sc;
			f->lbias[k] = b;
			for (size_t i = 0; i < BW_FEAT_HASH_N; i++)
				f->lin[i].w[k] = (int16_t)(uint16_t)(q[8 + 2 * i] |
								    q[9 + 2 * i] << 8);
		}
	}
	for (size_t i = 0; i < NTRI; i++) {
		f->tri[i] = get_f32(tri + 4 * i);
		if (!isfinite(f->tri[i]) || f->tri[i] > 0) {
			rc = bw_err_set(err, BW_EFORMAT,
					"trigram section: entry %zu is not a log-probability",
					i);
			goto fail;
		}
	}
	while (pos < slen) {
		const char *nl = memchr(suffix + pos, '\n', slen - pos);
		const char *tab1, *tab2, *le;
		char num[16];
		unsigned long v[2];
		struct suffix_stat *st;

		line++;
		le = nl ? nl : suffix + slen;
		tab1 = memchr(suffix + pos, '\t', (size_t)(le - suffix - pos));
		tab2 = tab1 ? memchr(tab1 + 1, '\t', (size_t)(le - tab1 - 1)) : NULL;
		if (tab1 == NULL || tab2 == NULL || tab1 == suffix + pos ||
		    tab1 - (suffix + pos) > HOST_MAX)
			goto bad;
		for (int k = 0; k < 2; k++) {
			const char *a = k ? tab2 + 1 : tab1 + 1, *b = k ? le : tab2;
			char *e;

			if (b - a < 1 || b - a >= (long)sizeof(num))
				goto bad;
			memcpy(num, a, (size_t)(b - a));
			num[b - a] = '\0';
			v[k] = strtoul(num, &e, 10);
			if (*e || num[0] < '0' || num[0] > '9' || v[k] > UINT32_MAX)
				goto bad;
		}
		st = suffix_get(f, suffix + pos, (size_t)(tab1 - suffix - pos), err);
		if (st == NULL) {
			rc = err ? err->code : BW_ENOMEM;
			goto fail;
		}
		st->n[0] = (uint32_t)v[0];
		st->n[1] = (uint32_t)v[1];
		f->total[0] += v[0];
		f->total[1] += v[1];
		pos = (size_t)(le - suffix) + 1;
	}
	finish_suffixes(f);
	*out = f;
	return BW_OK;
bad:
	rc = bw_err_set(err, BW_EFORMAT, "suffix section: line %zu is malformed",
			line);
fail:
	bw_features_free(f);
	return rc;
}
