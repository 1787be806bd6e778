/*
 * lookalike.h - names that imitate a protected brand.
 *
 * A brand is a domain an operator protects (a ministry's, a national
 * newspaper's).  A name imitates it when its registrable domain is not the
 * brand's own and
 *
 *   homoglyph        its label looks the same: the ICU spoof checker's
 *                    confusable skeletons of the two labels are equal
 *                    ("rnetamask", "paypa1", "mеtamask" with a Cyrillic
 *                    "е"), or an IDN label folds to ASCII (each letter to
 *                    its base letter or ASCII skeleton, a letter with
 *                    neither dropped) into a name that matches below
 *   typo             the registrable label is at edit distance 1 from the
 *                    brand's (a label of 7+ characters; of 5-6 no plain
 *                    substitution or insertion; of 3-4 only a doubled
 *                    letter) or 2 (a label of 10+), transpositions counted
 *                    as one edit; "how" says omission, repetition,
 *                    insertion, transposition, keyboard (adjacent key),
 *                    substitution or distance-2
 *   tld-swap         the same label under another public suffix
 *                    ("spiegel.ltd", "bild.eu.com"); not for a brand that
 *                    is a public suffix itself (gouv.fr, gov.pl: "gouv.sn"
 *                    is Senegal's government, not a swap)
 *   combo-squat      the label holds the brand's label as a '-' token of 4+
 *                    characters, all the brand's labels in a row
 *                    ("mfa-gov-ua"), or the brand's label of 7+ characters
 *                    anywhere ("walletmetamask"), of 6 at a word start
 *   subdomain-squat  the labels left of the registrable domain hold the
 *                    brand's labels in a row ("spiegel.de.example.net"),
 *                    the brand's label of 6+ characters, a typo of a label
 *                    of 7+, or such a label inside one
 *
 * and a score in [0,1] says how sure the match is (homoglyph 0.95, tld-swap
 * 0.9, typo 0.7-0.85, subdomain 0.5-0.8, combo 0.7-0.8); the best match
 * wins, ties to the brand first in name order.  Names under a brand's own
 * registrable domain never match.  The thresholds were set on the
 * Doppelganger and phishing sets against the popular-domain lists
 * (tests/integration/lookalike.sh); distance 2 on shorter labels and
 * substrings of 6 letters anywhere cost far more false positives
 * ("rp-online" for t-online, "thomsonreuters") than they found.
 *
 * Design: checking a name never walks the brand list.  Brands are indexed
 * by label and by skeleton (hash maps), and typos through a deletion
 * neighbourhood (every string obtained from a brand label by deleting up to
 * its allowed number of characters maps back to the brand, and the name's
 * own deletions are looked up; only the few brands so found are verified
 * with a bounded edit distance).  A check costs about a hundred hash
 * look-ups and one ICU skeleton, whatever the number of brands.
 *
 * A detector is filled once (bw_lookalike_add/_load) and then only read;
 * bw_lookalike_check() does not change it, but the maps it uses are
 * documented for one thread at a time, so use one detector per thread.
 */
#ifndef BW_INTEL_LOOKALIKE_H
#define BW_INTEL_LOOKALIKE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* Most brands per detector, bytes of a brand file, owners per brand. */
#define BW_LOOKALIKE_BRANDS_MAX 20000
#define BW_LOOKALIKE_FILE_MAX (4L << 20)
#define BW_LOOKALIKE_OWNERS_MAX 64
/* The tag kind the store scan writes ("lookalike", name "CC:brand"). */
#define BW_LOOKALIKE_TAG_KIND BW_TAG_KIND_LOOKALIKE

enum bw_lookalike_kind {
	BW_LOOKALIKE_NONE = 0,
	BW_LOOKALIKE_HOMOGLYPH,
	BW_LOOKALIKE_TYPO,
	BW_LOOKALIKE_TLD_SWAP,
	BW_LOOKALIKE_COMBO,
	BW_LOOKALIKE_SUBDOMAIN,
};

struct bw_lookalike;

struct bw_lookalike_hit {
	enum bw_lookalike_kind kind; /* BW_LOOKALIKE_NONE: no brand imitated */
	const char *how;   /* "omission", "idn", "suffix", ... (static text) */
	int distance;      /* edits for typos, else 0 */
	double score;
	char host[254];    /* the name's host as checked */
	char brand[254];   /* the brand's domain */
	/* the brand's owners as added, comma-separated ("EE,LV"), or "" */
	char owners[BW_LOOKALIKE_OWNERS_MAX * 3 + 1];
};

/* "homoglyph", "typo", "tld-swap", "combo-squat", "subdomain-squat";
 * "none" for NONE. */
const char *bw_lookalike_kind_name(enum bw_lookalike_kind kind);

/* An empty detector (opens the public suffix list and ICU's spoof
 * checker).  Free with bw_lookalike_free() (NULL is a no-op). */
int bw_lookalike_new(struct bw_lookalike **out, struct bw_err *err);
void bw_lookalike_free(struct bw_lookalike *lk);

/* Protects domain (any text bw_ioc_parse reads as a domain) for owner
 * (a tenant's country code, or NULL).  Adding a brand again only adds the
 * owner.  BW_EINVAL for a name that is not a domain, BW_ELIMIT beyond
 * BW_LOOKALIKE_BRANDS_MAX brands or BW_LOOKALIKE_OWNERS_MAX owners. */
int bw_lookalike_add(struct bw_lookalike *lk, const char *domain,
		     const char *owner, struct bw_err *err);

/* Adds the brands of a file: one domain per line, '#' starts a comment,
 * blank lines skipped.  Errors name the file and line. */
int bw_lookalike_load(struct bw_lookalike *lk, const char *path,
		      const char *owner, struct bw_err *err);

size_t bw_lookalike_count(const struct bw_lookalike *lk);

/* Checks one name (len bytes of text: a domain, URL or e-mail address in
 * any form bw_ioc_parse reads).  Returns BW_OK with hit filled (kind NONE
 * when no brand is imitated; addresses and hashes never are), or BW_EINVAL
 * when the text is not an indicator. */
int bw_lookalike_check(const struct bw_lookalike *lk, const char *text,
		       size_t len, struct bw_lookalike_hit *hit,
		       struct bw_err *err);

/* Loads the brand entries of every tenant's scope (kind "brand", owner the
 * tenant's country) into lk. */
int bw_lookalike_load_tenants(struct bw_lookalike *lk, struct bw_store *st,
			      struct bw_err *err);

struct bw_lookalike_scan {
	long checked;  /* domain, url and email indicators looked at */
	long matched;  /* of which imitate a brand */
	long tagged;   /* records that got a new lookalike tag */
};

/* Checks every live domain, URL and e-mail record changed at or after
 * since (0: all) and tags each record of a match with kind "lookalike",
 * name "CC:brand" per owner CC (name "brand" for a brand without owner).
 * One transaction; tagging again is a no-op.  Sightings are of indicators
 * in the store, so newly sighted names are covered by the same pass. */
int bw_lookalike_scan_store(const struct bw_lookalike *lk,
			    struct bw_store *st, int64_t since,
			    struct bw_lookalike_scan *out, struct bw_err *err);

#endif
