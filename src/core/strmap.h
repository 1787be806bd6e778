/*
 * strmap.h - a hash map from byte strings to pointers, with an arena.
 *
 * The feed parsers keep context while they stream an input (the names of
 * the STIX objects of a bundle by id, the markings, the relationships) and
 * the exports remember what they have written; both need many small
 * string-keyed entries that live exactly as long as one run.  A strmap
 * copies each key into its own arena (no allocation per entry besides the
 * amortised growth of its tables), and lends that arena to the caller for
 * values that share the map's lifetime (bw_strmap_strdup, bw_strmap_alloc),
 * so that one bw_strmap_free() releases everything.
 *
 * Entries are iterated in insertion order, whatever the hash, so output
 * built from a map is deterministic.  The hash is SipHash-1-3 with a key
 * drawn at random per map: keys usually come from untrusted input, and a
 * fixed hash would let an input choose colliding keys.  There is no
 * removal.  The number of entries is capped at creation (an input cannot
 * grow a map without bound); a put beyond the cap fails with BW_ELIMIT.
 *
 * A map is used by one thread at a time.  Keys may hold any bytes,
 * including NUL; stored keys are NUL-terminated for convenience.
 */
#ifndef BW_CORE_STRMAP_H
#define BW_CORE_STRMAP_H

#include <stddef.h>

#include "core/err.h"

struct bw_strmap;

/* Creates an empty map that holds at most max_entries entries (> 0).
 * Returns BW_OK and *out, or BW_ENOMEM / BW_EINVAL. */
int bw_strmap_new(size_t max_entries, struct bw_strmap **out,
		  struct bw_err *err);
/* Frees the map, its keys and everything allocated from its arena. */
void bw_strmap_free(struct bw_strmap *m);

/* Sets the value of key (klen bytes), adding the entry if it is new (the
 * key is copied).  Returns BW_OK, BW_ENOMEM, or BW_ELIMIT when a new entry
 * would exceed the cap. */
int bw_strmap_put(struct bw_strmap *m, const char *key, size_t klen,
		  void *value, struct bw_err *err);

/* Looks key up: returns 1 and sets *value (if value is not NULL) when
 * present, 0 otherwise. */
int bw_strmap_find(const struct bw_strmap *m, const char *key, size_t klen,
		   void **value);
/* The value of key, or NULL when absent (or when the value is NULL). */
void *bw_strmap_get(const struct bw_strmap *m, const char *key, size_t klen);

size_t bw_strmap_count(const struct bw_strmap *m);

/*
 * Iterates in insertion order: start with *pos = 0; each call returning 1
 * gives one entry (key NUL-terminated, owned by the map) and advances
 * *pos; 0 means no more entries.  Any pointer argument but m and pos may
 * be NULL.  Adding entries during an iteration is allowed (they come at
 * the end).
 */
int bw_strmap_next(const struct bw_strmap *m, size_t *pos, const char **key,
		   size_t *klen, void **value);

/* Copies len bytes of s (plus a NUL) into the map's arena; the copy lives
 * until bw_strmap_free().  NULL on allocation failure. */
char *bw_strmap_strdup(struct bw_strmap *m, const char *s, size_t len);
/* size bytes of zeroed, pointer-aligned memory from the map's arena, with
 * the map's lifetime.  NULL on allocation failure. */
void *bw_strmap_alloc(struct bw_strmap *m, size_t size);

#endif
