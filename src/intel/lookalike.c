/*
 * lookalike.c - names that imitate a protected brand (see lookalike.h).
 *
 * Every brand is cut once into what the checks compare: its registrable
 * domain (the brand's own domain when that is a public suffix itself, as
 * gouv.fr or gov.pl are), the label left of the public suffix ("spiegel"),
 * the suffix ("de"), the labels of the whole domain split at '.' and '-',
 * and the ICU confusable skeleton of the label.  Three hash maps point back
 * from strings to brands: label -> brands, skeleton -> brands, and the
 * deletion neighbourhood of each label -> brands.  A name is cut the same
 * way and every check is a handful of look-ups in these maps; the edit
 * distance is computed only for the brands a look-up returned.
 *
 * IDN labels are first folded to ASCII: each non-ASCII character whose
 * skeleton is ASCII is replaced by it (Cyrillic "е" by "e"), so a name that
 * is a typo or a combo-squat of a brand written with foreign letters is
 * found too, and reported as a homoglyph.
 */
#include <ctype.h>
#include <idn2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "core/dynlib.h"
#include "core/ioc.h"
#include "core/mem.h"
#include "core/psl.h"
#include "core/strmap.h"
#include "feed/reader.h"
#include "intel/lookalike.h"
#include "share/tenant_scope.h"

/* ICU is opened by the first detector (core/dynlib.h): libicui18n, whose
 * handle also finds libicuuc's functions; the header names each function
 * with ICU's version, and so does the table. */
#define ICU_FUNCTIONS(F) F(u_errorName) F(unorm2_getNFDInstance) \
	F(unorm2_getRawDecomposition) F(uspoof_close) F(uspoof_getSkeletonUTF8) F(uspoof_open) \
	F(uspoof_setChecks)

BW_DYNLIB_DEFINE(icu, ICU_FUNCTIONS, "lookalike detection",
		 "libicui18n.so." BW_DYNLIB_STR(U_ICU_VERSION_MAJOR_NUM) " libicui18n.so");

#define LABEL_MAX 63
#define TOKENS_MAX 128
/* entries of the deletion map per brand, at most (a label of 32 characters
 * with two deletions); longer labels only get one deletion */
#define DEL2_LEN_MAX 32
#define MAP_MAX ((size_t)BW_LOOKALIKE_BRANDS_MAX * 600)

struct brand {
	char dom[254];
	char reg[254];
	char lab[LABEL_MAX + 1];
	char suf[254];
	char skel[4 * LABEL_MAX + 1];
	char owners[BW_LOOKALIKE_OWNERS_MAX * 3 + 1];
	size_t labn;
	int maxdist; /* edits a typo may make: 0 (repetition only), 1 or 2 */
	int is_suffix; /* the brand is a public suffix itself (gouv.fr) */
};

struct node {
	uint32_t brand;
	struct node *next;
};

struct bw_lookalike {
	struct bw_psl *psl;
	USpoofChecker *spoof;
	struct brand *b;
	size_t n, cap;
	struct bw_strmap *by_dom;  /* brand domain and registrable -> node */
	struct bw_strmap *by_lab;  /* label -> node list */
	struct bw_strmap *by_skel; /* skeleton -> node list */
	struct bw_strmap *by_del;  /* deletion neighbourhood -> node list */
	uint64_t lab_lengths;      /* bit n: some brand label has n chars */
};

const char *
bw_lookalike_kind_name(enum bw_lookalike_kind kind)
{
	switch (kind) {
	case BW_LOOKALIKE_HOMOGLYPH: return "homoglyph";
	case BW_LOOKALIKE_TYPO: return "typo";
	case BW_LOOKALIKE_TLD_SWAP: return "tld-swap";
	case BW_LOOKALIKE_COMBO: return "combo-squat";
	case BW_LOOKALIKE_SUBDOMAIN: return "subdomain-squat";
	default: return "none";
	}
}

int
bw_lookalike_new(struct bw_lookalike **out, struct bw_err *err)
{
	struct bw_lookalike *lk;
	UErrorCode ue = U_ZERO_ERROR;
	int rc;

	*out = NULL;
	if ((rc = bw_dynlib_ready(&icu_lib, err)))
		return rc;
	lk = bw_calloc(1, sizeof(*lk));
	if (lk == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory for a lookalike detector");
	rc = bw_psl_open(&lk->psl, err);
	if (rc)
		goto fail;
	lk->spoof = icu.uspoof_open(&ue);
	if (U_SUCCESS(ue))
		icu.uspoof_setChecks(lk->spoof, USPOOF_CONFUSABLE, &ue);
	if (U_FAILURE(ue)) {
		rc = bw_err_set(err, BW_EINVAL, "ICU spoof checker: %s", icu.u_errorName(ue));
		goto fail;
	}
	if ((rc = bw_strmap_new(2 * (size_t)BW_LOOKALIKE_BRANDS_MAX, &lk->by_dom, err)) ||
	    (rc = bw_strmap_new(BW_LOOKALIKE_BRANDS_MAX, &lk->by_lab, err)) ||
	    (rc = bw_strmap_new(BW_LOOKALIKE_BRANDS_MAX, &lk->by_skel, err)) ||
	    (rc = bw_strmap_new(MAP_MAX, &lk->by_del, err)))
		goto fail;
	*out = lk;
	return BW_OK;
fail:
	bw_lookalike_free(lk);
	return rc;
}

void
bw_lookalike_free(struct bw_lookalike *lk)
{
	if (lk == NULL)
		return;
	bw_psl_free(lk->psl);
	if (lk->spoof)
		icu.uspoof_close(lk->spoof);
	bw_strmap_free(lk->by_dom);
	bw_strmap_free(lk->by_lab);
	bw_strmap_free(lk->by_skel);
	bw_strmap_free(lk->by_del);
	bw_free(lk->b);
	bw_free(lk);
}

size_t
bw_lookalike_count(const struct bw_lookalike *lk)
{
	return lk->n;
}

/* ---- cutting names ------------------------------------------------------ */

/* The ICU skeleton of a UTF-8 label, ASCII letters lower-cased (the
 * skeleton of "0" is "O"), into out.  0 on success. */
static int
skeleton(const struct bw_lookalike *lk, const char *s, size_t n, char *out,
	 size_t cap)
{
	UErrorCode ue = U_ZERO_ERROR;
	int32_t len = icu.uspoof_getSkeletonUTF8(lk->spoof, 0, s, (int32_t)n, out,
						 (int32_t)cap, &ue);

	if (U_FAILURE(ue) || len < 0 || (size_t)len >= cap)
		return -1;
	out[len] = '\0';
	for (int32_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 0;
}

/* The base letter of code point c: c itself, or the first code point of
 * its canonical decomposition ("á" -> "a"), ICU's normaliser. */
static UChar32
base_of(UChar32 c)
{
	UErrorCode ue = U_ZERO_ERROR;
	const UNormalizer2 *nfd = icu.unorm2_getNFDInstance(&ue);
	UChar d[8];
	int32_t n;

	if (U_FAILURE(ue))
		return c;
	n = icu.unorm2_getRawDecomposition(nfd, c, d, 8, &ue);
	if (U_FAILURE(ue) || n <= 0)
		return c;
	if (U16_IS_LEAD(d[0]) && n > 1)
		return U16_GET_SUPPLEMENTARY(d[0], d[1]);
	return d[0];
}

/* Folds a Unicode label (UTF-8) to ASCII: ASCII characters stay; another
 * character becomes its base letter when that is ASCII ("á" -> "a"), else
 * the ASCII letters or digits of its skeleton (Cyrillic "е" -> "e"); a
 * character with neither is dropped (Cyrillic "т", which ICU does not hold
 * confusable with "t", leaves the typo checks an omission to find).  1 if
 * folded with at most a third of the characters dropped, else 0. */
static int
fold_ascii(const struct bw_lookalike *lk, const char *u, char *out, size_t cap)
{
	size_t o = 0, all = 0, dropped = 0;
	int32_t i = 0, n = (int32_t)strlen(u);

	while (i < n) {
		UChar32 c, b;
		char sk[32], cu[8];
		int32_t cl = 0;
		int ok = 1;

		U8_NEXT(u, i, n, c);
		if (c < 0)
			return 0;
		all++;
		b = c < 0x80 ? c : base_of(c);
		if (b < 0x80) {
			if (o + 1 >= cap)
				return 0;
			out[o++] = (char)tolower(b);
			continue;
		}
		U8_APPEND_UNSAFE(cu, cl, b);
		if (skeleton(lk, cu, (size_t)cl, sk, sizeof(sk)))
			return 0;
		for (const char *p = sk; *p; p++)
			ok &= isalnum((unsigned char)*p) != 0;
		if (!ok || sk[0] == '\0') {
			dropped++;
			continue;
		}
		for (const char *p = sk; *p; p++) {
			if (o + 1 >= cap)
				return 0;
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return o > 0 && dropped * 3 <= all;
}

/* The registrable domain of host, or host itself when that is a public
 * suffix; its first label and the rest.  0 when there is none. */
static int
cut(const struct bw_lookalike *lk, const char *host, char reg[254],
    char lab[LABEL_MAX + 1], char suf[254])
{
	const char *dot;
	size_t n;

	if (!bw_psl_registrable(lk->psl, host, reg, 254)) {
		if (strlen(host) >= 254)
			return 0;
		memcpy(reg, host, strlen(host) + 1);
	}
	dot = strchr(reg, '.');
	if (dot == NULL)
		return 0;
	n = (size_t)(dot - reg);
	if (n == 0 || n > LABEL_MAX)
		return 0;
	memcpy(lab, reg, n);
	lab[n] = '\0';
	memcpy(suf, dot + 1, strlen(dot + 1) + 1);
	return 1;
}

/* Splits s (n bytes) at '.' and '-' into at most max tokens. */
static size_t
tokens(const char *s, size_t n, const char **tok, size_t *tlen, size_t max)
{
	size_t k = 0, i = 0;

	while (i < n && k < max) {
		size_t j = i;
		while (j < n && s[j] != '.' && s[j] != '-')
			j++;
		if (j > i) {
			tok[k] = s + i;
			tlen[k++] = j - i;
		}
		i = j + 1;
	}
	return k;
}

/* 1 if the tokens of the brand's domain occur in a row in tok. */
static int
tokens_in_row(const struct brand *b, const char **tok, const size_t *tlen,
	      size_t nt)
{
	const char *bt[TOKENS_MAX];
	size_t bl[TOKENS_MAX];
	size_t nb = tokens(b->dom, strlen(b->dom), bt, bl, TOKENS_MAX);

	for (size_t i = 0; nb > 0 && i + nb <= nt; i++) {
		size_t j = 0;
		while (j < nb && tlen[i + j] == bl[j] &&
		       memcmp(tok[i + j], bt[j], bl[j]) == 0)
			j++;
		if (j == nb)
			return 1;
	}
	return 0;
}

/* ---- edit distance ------------------------------------------------------ */

/* Optimal string alignment distance of a and b (transposition = 1 edit),
 * or max + 1 when it exceeds max. */
static int
osa(const char *a, size_t n, const char *b, size_t m, int max)
{
	int d[LABEL_MAX + 2][LABEL_MAX + 2];

	if (n > LABEL_MAX || m > LABEL_MAX)
		return max + 1;
	if ((n > m ? n - m : m - n) > (size_t)max)
		return max + 1;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++) {
		int rowmin = max + 1;
		for (size_t j = 1; j <= m; j++) {
			int c = a[i - 1] == b[j - 1] ? 0 : 1;
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < v)
				v = d[i - 1][j - 1] + c;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > max)
			return max + 1;
	}
	return d[n][m] > max ? max + 1 : d[n][m];
}

/* Neighbours of each key on a QWERTY keyboard. */
static const char *const qwerty[26] = {
	"qwsz", "vghn", "xdfv", "wersfxc", "wrsdf34", "ertdgcv", "rtyfhvb",
	"tyugjbn", "uojkl89", "yuihknm", "uiojlm", "iopk", "njk", "bhjm",
	"ipkl90", "ol0", "wa12", "etdfg45", "qweadzx", "ryfgh56", "yihjk78",
	"cfgb", "qeasd23", "zsdc", "tughj67", "asx",
};

static int
adjacent(char a, char b)
{
	if (a < 'a' || a > 'z')
		return 0;
	return strchr(qwerty[a - 'a'], b) != NULL;
}

/* What one edit turned brand b into name a ("omission", ...). */
static const char *
classify(const char *a, size_t n, const char *b, size_t m)
{
	size_t i = 0;

	while (i < n && i < m && a[i] == b[i])
		i++;
	if (n == m + 1) /* a has an extra character at i */
		return (i > 0 && a[i] == a[i - 1]) || (i + 1 < n && a[i] == a[i + 1])
			       ? "repetition" : "insertion";
	if (n + 1 == m)
		return "omission";
	if (i + 1 < n && a[i] == b[i + 1] && a[i + 1] == b[i] &&
	    memcmp(a + i + 2, b + i + 2, n - i - 2) == 0)
		return "transposition";
	return adjacent(b[i], a[i]) ? "keyboard" : "substitution";
}

/* ---- building ----------------------------------------------------------- */

static int
map_add(struct bw_strmap *m, const char *key, size_t klen, uint32_t id,
	struct bw_err *err)
{
	struct node *head = bw_strmap_get(m, key, klen), *x;

	if (head && head->brand == id)
		return BW_OK;
	x = bw_strmap_alloc(m, sizeof(*x));
	if (x == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory indexing brands");
	x->brand = id;
	x->next = head;
	return bw_strmap_put(m, key, klen, x, err);
}

/* Puts every string made of s by deleting up to k characters (from
 * position from on, so each is made once) into the deletion map. */
static int
add_deletions(struct bw_lookalike *lk, char *s, size_t n, size_t from, int k,
	      uint32_t id, struct bw_err *err)
{
	char buf[LABEL_MAX + 1];
	int rc = map_add(lk->by_del, s, n, id, err);

	if (rc || k == 0)
		return rc;
	for (size_t i = from; i < n; i++) {
		memcpy(buf, s, i);
		memcpy(buf + i, s + i + 1, n - i - 1);
		rc = add_deletions(lk, buf, n - 1, i, k - 1, id, err);
		if (rc)
			return rc;
	}
	return BW_OK;
}

static int
add_owner(struct brand *b, const char *owner, struct bw_err *err)
{
	size_t n = strlen(b->owners), k = 0;
	char cc[3];

	if (owner == NULL || owner[0] == '\0')
		return BW_OK;
	if (strlen(owner) != 2 || !isalpha((unsigned char)owner[0]) ||
	    !isalpha((unsigned char)owner[1]))
		return bw_err_set(err, BW_EINVAL, "owner '%s' is not a country code", owner);
	cc[0] = (char)toupper((unsigned char)owner[0]);
	cc[1] = (char)toupper((unsigned char)owner[1]);
	cc[2] = '\0';
	for (size_t i = 0; i < n; i += 3, k++)
		if (memcmp(b->owners + i, cc, 2) == 0)
			return BW_OK;
	if (k >= BW_LOOKALIKE_OWNERS_MAX)
		return bw_err_set(err, BW_ELIMIT, "brand %s: more than %d owners",
				  b->dom, BW_LOOKALIKE_OWNERS_MAX);
	snprintf(b->owners + n, sizeof(b->owners) - n, "%s%s", n ? "," : "", cc);
	return BW_OK;
}

int
bw_lookalike_add(struct bw_lookalike *lk, const char *domain,
		 const char *owner, struct bw_err *err)
{
	struct bw_ioc ioc;
	struct brand *b, *nb;
	struct node *had;
	char reg[254];
	uint32_t id;
	char lab[LABEL_MAX + 1];
	int rc;

	rc = bw_ioc_parse(domain, strlen(domain), BW_IOC_DOMAIN, &ioc, err);
	if (rc)
		return bw_err_prefix(err, "brand '%s'", domain);
	had = bw_strmap_get(lk->by_dom, ioc.value, ioc.len);
	if (had && strcmp(lk->b[had->brand].dom, ioc.value) == 0)
		return add_owner(&lk->b[had->brand], owner, err);
	if (lk->n >= BW_LOOKALIKE_BRANDS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %d brands",
				  BW_LOOKALIKE_BRANDS_MAX);
	nb = bw_grow(lk->b, &lk->cap, lk->n + 1, sizeof(*lk->b));
	if (nb == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory adding a brand");
	lk->b = nb;
	id = (uint32_t)lk->n;
	b = &lk->b[id];
	memset(b, 0, sizeof(*b));
	memcpy(b->dom, ioc.value, ioc.len + 1);
	if (!cut(lk, b->dom, b->reg, b->lab, b->suf))
		return bw_err_set(err, BW_EINVAL, "brand '%s' has no label left of "
				  "its public suffix", domain);
	b->labn = strlen(b->lab);
	b->maxdist = b->labn >= 10 ? 2 : b->labn >= 5 ? 1 : 0;
	b->is_suffix = strcmp(b->reg, b->dom) == 0 &&
		       !bw_psl_registrable(lk->psl, b->dom, reg, sizeof(reg));
	if (skeleton(lk, b->lab, b->labn, b->skel, sizeof(b->skel)))
		return bw_err_set(err, BW_EINVAL, "brand '%s': no skeleton", domain);
	rc = add_owner(b, owner, err);
	if (rc)
		return rc;
	memcpy(lab, b->lab, b->labn + 1);
	if ((rc = map_add(lk->by_dom, b->dom, strlen(b->dom), id, err)) ||
	    (rc = map_add(lk->by_dom, b->reg, strlen(b->reg), id, err)) ||
	    (rc = map_add(lk->by_lab, b->lab, b->labn, id, err)) ||
	    (rc = map_add(lk->by_skel, b->skel, strlen(b->skel), id, err)) ||
	    (rc = add_deletions(lk, lab, b->labn, 0,
				b->labn > DEL2_LEN_MAX && b->maxdist > 1 ? 1 : b->maxdist,
				id, err)))
		return rc;
	lk->lab_lengths |= (uint64_t)1 << b->labn;
	lk->n++;
	return BW_OK;
}

int
bw_lookalike_load(struct bw_lookalike *lk, const char *path, const char *owner,
		  struct bw_err *err)
{
	struct bw_reader *rd = NULL;
	char line[1024];
	long lineno = 0;
	int rc, got;

	rc = bw_reader_open_file(path, &rd, err);
	if (rc)
		return rc;
	while ((got = bw_reader_text_line(rd, line, sizeof(line), BW_LOOKALIKE_FILE_MAX, &lineno,
					  err)) == 1) {
		if (bw_reader_cut_comment(line) == 0)
			continue;
		rc = bw_lookalike_add(lk, line, owner, err);
		if (rc) {
			bw_err_prefix(err, "%s:%ld", path, lineno);
			break;
		}
	}
	if (got < 0)
		rc = -got;
	bw_reader_free(rd);
	return rc;
}

/* ---- checking ----------------------------------------------------------- */

struct cand {
	const struct bw_lookalike *lk;
	struct bw_lookalike_hit *hit;
	const struct brand *best;
};

static void
offer(struct cand *c, uint32_t id, enum bw_lookalike_kind kind, const char *how,
      int dist, double score)
{
	const struct brand *b = &c->lk->b[id];

	if (c->best && (score < c->hit->score ||
			(score == c->hit->score && strcmp(b->dom, c->best->dom) >= 0)))
		return;
	c->best = b;
	c->hit->kind = kind;
	c->hit->how = how;
	c->hit->distance = dist;
	c->hit->score = score;
}

/* The typo checks of label l against the brands its deletions reach. */
static void
check_typo(struct cand *c, const char *l, size_t n, double scale)
{
	const struct bw_lookalike *lk = c->lk;
	char d1[LABEL_MAX + 1], d2[LABEL_MAX + 1];
	uint32_t seen[64];
	size_t nseen = 0;

#define VISIT(key, klen)                                                      \
	for (const struct node *x = bw_strmap_get(lk->by_del, key, klen); x;   \
	     x = x->next) {                                                    \
		const struct brand *b = &lk->b[x->brand];                      \
		int lim = b->maxdist ? b->maxdist : 1, d, dup = 0;             \
		const char *how;                                               \
		for (size_t s_ = 0; s_ < nseen; s_++)                          \
			dup |= seen[s_] == x->brand;                           \
		if (dup)                                                       \
			continue;                                              \
		if (nseen < 64)                                                \
			seen[nseen++] = x->brand;                              \
		d = osa(l, n, b->lab, b->labn, lim);                           \
		if (d == 0 || d > lim)                                         \
			continue;                                              \
		how = d == 1 ? classify(l, n, b->lab, b->labn) : "distance-2"; \
		if (b->maxdist == 0 && strcmp(how, "repetition") != 0)         \
			continue;                                              \
		if (b->labn < 7 && (strcmp(how, "substitution") == 0 ||        \
				    strcmp(how, "insertion") == 0))            \
			continue;                                              \
		offer(c, x->brand, BW_LOOKALIKE_TYPO, how, d,                  \
		      scale * (d == 2 ? 0.7 :                                  \
			       strcmp(how, "substitution") == 0 ||             \
				       strcmp(how, "insertion") == 0 ? 0.8 : 0.85)); \
	}

	VISIT(l, n);
	for (size_t i = 0; i < n; i++) {
		memcpy(d1, l, i);
		memcpy(d1 + i, l + i + 1, n - i - 1);
		VISIT(d1, n - 1);
		if (n < 7 || n - 1 > DEL2_LEN_MAX)
			continue;
		for (size_t j = i; j < n - 1; j++) {
			memcpy(d2, d1, j);
			memcpy(d2 + j, d1 + j + 1, n - 2 - j);
			VISIT(d2, n - 2);
		}
	}
#undef VISIT
}

/* Each label of the subdomain part sub against the brands by typo (label
 * of 7 or more) and by holding a brand label of 7 or more: a weaker
 * subdomain squat ("etherium.org.payment.example.site"). */
static void
check_sublabels(struct cand *c, const char *sub)
{
	const struct bw_lookalike *lk = c->lk;
	const char *p = sub;

	while (*p) {
		size_t n = strcspn(p, ".");
		struct bw_lookalike_hit keep = *c->hit;
		const struct brand *kb = c->best;

		if (n >= 6 && n <= LABEL_MAX) {
			char l[LABEL_MAX + 1];
			memcpy(l, p, n);
			l[n] = '\0';
			check_typo(c, l, n, 0.8);
			if (c->best != kb && c->best->labn < 7) {
				*c->hit = keep;
				c->best = kb;
			} else if (c->best != kb) {
				c->hit->kind = BW_LOOKALIKE_SUBDOMAIN;
			}
			for (size_t k = 7; k < n; k++) {
				if (!(lk->lab_lengths & ((uint64_t)1 << k)))
					continue;
				for (size_t i = 0; i + k <= n; i++)
					for (const struct node *x = bw_strmap_get(lk->by_lab, l + i, k);
					     x; x = x->next)
						if (memchr(lk->b[x->brand].lab, '-', k) == NULL)
							offer(c, x->brand, BW_LOOKALIKE_SUBDOMAIN,
							      "contains", 0, 0.6);
			}
		}
		p += n;
		if (*p == '.')
			p++;
	}
}

/* The checks of a registrable label l with suffix suf and subdomain part
 * sub; scale < 1 when l was folded from an IDN (the kind then becomes
 * homoglyph). */
static void
check_label(struct cand *c, const char *l, const char *suf, const char *sub,
	    double scale)
{
	const struct bw_lookalike *lk = c->lk;
	size_t n = strlen(l);
	const char *tok[TOKENS_MAX];
	size_t tlen[TOKENS_MAX], nt;

	/* tld swap */
	for (const struct node *x = bw_strmap_get(lk->by_lab, l, n); x; x = x->next)
		if (!lk->b[x->brand].is_suffix &&
		    (strcmp(lk->b[x->brand].suf, suf) != 0 || scale < 1))
			offer(c, x->brand, BW_LOOKALIKE_TLD_SWAP, "suffix", 0, 0.9 * scale);
	if (scale >= 1)
		check_typo(c, l, n, scale);
	else
		check_typo(c, l, n, 1.0);

	/* combo: tokens of the label, then brand labels inside it */
	nt = tokens(l, n, tok, tlen, TOKENS_MAX);
	for (size_t i = 0; nt > 1 && i < nt; i++)
		for (const struct node *x = bw_strmap_get(lk->by_lab, tok[i], tlen[i]);
		     x; x = x->next) {
			const struct brand *b = &lk->b[x->brand];
			int row = tokens_in_row(b, tok, tlen, nt);
			if (b->labn >= 4 || row)
				offer(c, x->brand, BW_LOOKALIKE_COMBO,
				      row ? "brand-domain" : "token", 0,
				      (row ? 0.8 : 0.75) * scale);
		}
	for (size_t k = 6; k <= n && k <= LABEL_MAX; k++) {
		if (!(lk->lab_lengths & ((uint64_t)1 << k)) || k == n)
			continue;
		for (size_t i = 0; i + k <= n; i++)
			for (const struct node *x = bw_strmap_get(lk->by_lab, l + i, k);
			     x; x = x->next)
				/* at the start of a word ("metamaskwallet", not
				 * "thomsonreuters" or "connect-online"), or
				 * anywhere for a label of 7 or more */
				if (i == 0 || l[i - 1] == '-' ||
				    (k >= 7 && memchr(lk->b[x->brand].lab, '-', k) == NULL))
					offer(c, x->brand, BW_LOOKALIKE_COMBO, "contains",
					      0, 0.7 * scale);
	}

	/* subdomain squat: the brand's labels, or a label of the subdomain
	 * part that is a typo of the brand's label or holds it */
	if (sub[0] != '\0' && scale >= 1)
		check_sublabels(c, sub);
	nt = tokens(sub, strlen(sub), tok, tlen, TOKENS_MAX);
	for (size_t i = 0; i < nt; i++)
		for (const struct node *x = bw_strmap_get(lk->by_lab, tok[i], tlen[i]);
		     x; x = x->next) {
			const struct brand *b = &lk->b[x->brand];
			if (tokens_in_row(b, tok, tlen, nt))
				offer(c, x->brand, BW_LOOKALIKE_SUBDOMAIN, "brand-domain",
				      0, 0.8 * scale);
			else if (b->labn >= 6)
				offer(c, x->brand, BW_LOOKALIKE_SUBDOMAIN, "label", 0,
				      0.6 * scale);
		}
}

/* The host of a canonical indicator into host; 0 if it has none. */
static int
host_of(const struct bw_ioc *ioc, char host[254])
{
	switch (ioc->type) {
	case BW_IOC_DOMAIN:
		memcpy(host, ioc->value, ioc->len + 1);
		return 1;
	case BW_IOC_EMAIL:
	case BW_IOC_URL:
		return bw_ioc_host(ioc->type, ioc->value, host, 254) > 0;
	default:
		return 0;
	}
}

int
bw_lookalike_check(const struct bw_lookalike *lk, const char *text, size_t len,
		   struct bw_lookalike_hit *hit, struct bw_err *err)
{
	struct bw_ioc ioc;
	struct cand c = {lk, hit, NULL};
	char reg[254], lab[LABEL_MAX + 1], suf[254], sub[254];
	char sk[4 * LABEL_MAX + 1], *uni = NULL;
	const char *h;
	size_t sublen;
	int rc;

	memset(hit, 0, sizeof(*hit));
	hit->how = "";
	rc = bw_ioc_parse(text, len, BW_IOC_ANY, &ioc, err);
	if (rc)
		return rc;
	if (!host_of(&ioc, hit->host) || lk->n == 0)
		return BW_OK;
	/* a brand's own domain, subdomain or sibling under its registrable */
	for (h = hit->host; h; h = strchr(h, '.') ? strchr(h, '.') + 1 : NULL)
		if (bw_strmap_get(lk->by_dom, h, strlen(h)))
			return BW_OK;
	if (!cut(lk, hit->host, reg, lab, suf))
		return BW_OK;
	sublen = strlen(hit->host) - strlen(reg);
	sublen = sublen > 0 ? sublen - 1 : 0;
	memcpy(sub, hit->host, sublen);
	sub[sublen] = '\0';

	check_label(&c, lab, suf, sub, 1.0);

	/* homoglyphs: equal skeletons, or an IDN label folded to ASCII */
	if (strncmp(lab, "xn--", 4) == 0 &&
	    idn2_to_unicode_8z8z(lab, &uni, 0) == IDN2_OK) {
		char folded[LABEL_MAX + 1];
		struct bw_lookalike_hit keep = *hit;
		const struct brand *kb = c.best;

		if (skeleton(lk, uni, strlen(uni), sk, sizeof(sk)) == 0)
			for (const struct node *x = bw_strmap_get(lk->by_skel, sk, strlen(sk));
			     x; x = x->next)
				offer(&c, x->brand, BW_LOOKALIKE_HOMOGLYPH, "idn", 0, 0.95);
		if (c.best == kb && fold_ascii(lk, uni, folded, sizeof(folded))) {
			check_label(&c, folded, suf, sub, 0.95);
			if (c.best != kb) {
				hit->kind = BW_LOOKALIKE_HOMOGLYPH;
				hit->how = "idn";
			} else {
				*hit = keep;
			}
		}
		idn2_free(uni);
	} else if (skeleton(lk, lab, strlen(lab), sk, sizeof(sk)) == 0) {
		for (const struct node *x = bw_strmap_get(lk->by_skel, sk, strlen(sk));
		     x; x = x->next)
			if (strcmp(lk->b[x->brand].lab, lab) != 0)
				offer(&c, x->brand, BW_LOOKALIKE_HOMOGLYPH, "confusable",
				      0, 0.95);
	}
	if (c.best) {
		memcpy(hit->brand, c.best->dom, strlen(c.best->dom) + 1);
		memcpy(hit->owners, c.best->owners, strlen(c.best->owners) + 1);
	} else {
		hit->kind = BW_LOOKALIKE_NONE;
	}
	return BW_OK;
}

/* ---- the store ---------------------------------------------------------- */

int
bw_lookalike_load_tenants(struct bw_lookalike *lk, struct bw_store *st,
			  struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *q = NULL;
	int rc = BW_OK, s;

	if (sqlite3_prepare_v2(db,
			       "SELECT t.country, s.value FROM tenant_scope s"
			       " JOIN tenant t ON t.id = s.tenant_id"
			       " WHERE s.kind = 'brand' AND s.included = 1"
			       " ORDER BY t.country, s.value", -1, &q, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "reading brands: %s", sqlite3_errmsg(db));
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		const char *cc = (const char *)sqlite3_column_text(q, 0);
		const char *v = (const char *)sqlite3_column_text(q, 1);
		if (cc == NULL || v == NULL)
			continue;
		rc = bw_lookalike_add(lk, v, cc, err);
		if (rc)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = bw_err_set(err, BW_ESTORE, "reading brands: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(q);
	return rc;
}

static int
tag_record(sqlite3 *db, sqlite3_stmt *ins_tag, sqlite3_stmt *get_tag,
	   sqlite3_stmt *ins_rt, int64_t record_id, const char *name, long *tagged,
	   struct bw_err *err)
{
	int64_t tag_id = -1;

	sqlite3_reset(ins_tag);
	sqlite3_bind_text(ins_tag, 1, BW_LOOKALIKE_TAG_KIND, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins_tag, 2, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(ins_tag) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(get_tag);
	sqlite3_bind_text(get_tag, 1, BW_LOOKALIKE_TAG_KIND, -1, SQLITE_STATIC);
	sqlite3_bind_text(get_tag, 2, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(get_tag) != SQLITE_ROW)
		goto fail;
	tag_id = sqlite3_column_int64(get_tag, 0);
	sqlite3_reset(ins_rt);
	sqlite3_bind_int64(ins_rt, 1, record_id);
	sqlite3_bind_int64(ins_rt, 2, tag_id);
	if (sqlite3_step(ins_rt) != SQLITE_DONE)
		goto fail;
	*tagged += sqlite3_changes(db);
	return BW_OK;
fail:
	return bw_err_set(err, BW_ESTORE, "tagging a lookalike: %s", sqlite3_errmsg(db));
}

/* A tag to write once the cursor is done (the records are read first so
 * that no write happens under an open read of the same tables). */
struct pending {
	int64_t record_id;
	char name[BW_TAG_NAME_MAX + 1];
};

/* At most this many tags per scan; a store with more matches is scanned
 * again (tagging is idempotent). */
#define SCAN_TAGS_MAX 1000000

static int
pend(struct pending **p, size_t *n, size_t *cap, int64_t rec, const char *cc,
     const char *brand, struct bw_err *err)
{
	if (*n >= SCAN_TAGS_MAX)
		return bw_err_set(err, BW_ELIMIT, "lookalike scan: more than %d tags",
				  SCAN_TAGS_MAX);
	struct pending *np = bw_grow(*p, cap, *n + 1, sizeof(**p));

	if (np == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory in the lookalike scan");
	*p = np;
	(*p)[*n].record_id = rec;
	if (cc)
		snprintf((*p)[*n].name, sizeof((*p)[*n].name), "%.2s:%s", cc, brand);
	else
		snprintf((*p)[*n].name, sizeof((*p)[*n].name), "%s", brand);
	(*n)++;
	return BW_OK;
}

int
bw_lookalike_scan_store(const struct bw_lookalike *lk, struct bw_store *st,
			int64_t since, struct bw_lookalike_scan *out,
			struct bw_err *err)
{
	static const enum bw_ioc_type types[] = {BW_IOC_DOMAIN, BW_IOC_URL, BW_IOC_EMAIL};
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *ins_tag = NULL, *get_tag = NULL, *ins_rt = NULL;
	struct bw_store_cursor *cur = NULL;
	struct bw_lookalike_hit hit;
	struct pending *p = NULL;
	size_t np = 0, cap = 0;
	int rc = BW_OK, began = 0;

	memset(out, 0, sizeof(*out));
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct bw_record_filter f = {types[t], since, 0, NULL};
		const struct bw_record_out *r;
		int64_t last_ind = -1;
		int matched = 0, s;

		rc = bw_store_cursor_open(st, &f, &cur, err);
		if (rc)
			goto out;
		while ((s = bw_store_cursor_next(cur, &r, err)) == 1) {
			if (r->indicator_id != last_ind) {
				last_ind = r->indicator_id;
				out->checked++;
				matched = bw_lookalike_check(lk, r->value, strlen(r->value),
							     &hit, NULL) == BW_OK &&
					  hit.kind != BW_LOOKALIKE_NONE;
				out->matched += matched;
			}
			if (!matched)
				continue;
			if (hit.owners[0] == '\0')
				rc = pend(&p, &np, &cap, r->record_id, NULL, hit.brand, err);
			for (const char *o = hit.owners; rc == BW_OK && *o;
			     o += o[2] ? 3 : 2)
				rc = pend(&p, &np, &cap, r->record_id, o, hit.brand, err);
			if (rc)
				goto out;
		}
		bw_store_cursor_free(cur);
		cur = NULL;
		if (s < 0) {
			rc = err ? err->code : BW_ESTORE;
			goto out;
		}
	}
	if (np == 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO tag(kind, name) VALUES (?1, ?2)",
			       -1, &ins_tag, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT id FROM tag WHERE kind = ?1 AND name = ?2",
			       -1, &get_tag, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO record_tag(record_id, tag_id)"
			       " VALUES (?1, ?2)", -1, &ins_rt, NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "lookalike scan: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = bw_store_begin(st, err);
	if (rc)
		goto out;
	began = 1;
	for (size_t i = 0; i < np; i++) {
		rc = tag_record(db, ins_tag, get_tag, ins_rt, p[i].record_id,
				p[i].name, &out->tagged, err);
		if (rc)
			goto out;
	}
	rc = bw_store_commit(st, err);
	began = 0;
out:
	bw_store_cursor_free(cur);
	if (began)
		bw_store_rollback(st);
	sqlite3_finalize(ins_tag);
	sqlite3_finalize(get_tag);
	sqlite3_finalize(ins_rt);
	bw_free(p);
	return rc;
}
