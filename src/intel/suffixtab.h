/*
 * suffixtab.h - the public suffix of a host name in a few hash look-ups,
 * for the feature extraction of the domain-risk model (features.c).
 *
 * libpsl answers the same question (src/core/psl.h uses it), but its
 * psl_unregistrable_domain() tries every suffix of the name from the left
 * and runs the DAFSA (and the wildcard and exception forms) for each: a
 * third of the feature time of a name in bench/score.  This table holds
 * the rules of the same Public Suffix List file (the publicsuffix package's
 * public_suffix_list.dat, rules in A-label form) in one hash map, with
 * every suffix of a rule marked as an inner node, and walks the host's
 * labels from the right: a name of three labels costs at most three
 * look-ups of short keys, and the walk stops at the first suffix that no
 * rule extends.  Semantics are those of the list's algorithm (the longest
 * matching rule, "*." wildcards, "!" exceptions, "*" for an unlisted
 * top-level label), which libpsl implements too, including its reading
 * that "*.kawasaki.jp" makes "kawasaki.jp" a public suffix as well; tests/unit/test_suffixtab.c
 * compares the two on names that exercise each case.
 *
 * A table is immutable after bw_suffixtab_load() and may be shared by
 * threads.
 */
#ifndef BW_INTEL_SUFFIXTAB_H
#define BW_INTEL_SUFFIXTAB_H

#include <stddef.h>

#include "core/err.h"

/* The list file of the Debian package publicsuffix. */
#define BW_SUFFIXTAB_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
/* Larger list files are refused (the list is about 250 kB). */
#define BW_SUFFIXTAB_FILE_MAX (8u * 1024 * 1024)
/* Rules at most (the list has about 10,000). */
#define BW_SUFFIXTAB_RULES_MAX 200000

struct bw_suffixtab;

/* Loads the rules of the list file at path (NULL: BW_SUFFIXTAB_PATH).
 * Returns BW_OK and *out, BW_EIO when the file cannot be read (callers
 * fall back to libpsl), BW_ELIMIT, BW_EFORMAT or BW_ENOMEM. */
int bw_suffixtab_load(const char *path, struct bw_suffixtab **out,
		      struct bw_err *err);
/* The same from the text of a list (len bytes). */
int bw_suffixtab_parse(const char *text, size_t len, struct bw_suffixtab **out,
		       struct bw_err *err);
void bw_suffixtab_free(struct bw_suffixtab *t);

/*
 * The public suffix of host (len bytes, canonical: lower-case A-labels,
 * no trailing dot): returns its offset in host (0 when the whole host is a
 * public suffix).  Thread-safe, no allocation.
 */
size_t bw_suffixtab_suffix(const struct bw_suffixtab *t, const char *host,
			   size_t len);

#endif
