/*
 * holder.h - the current index snapshot, replaced atomically while readers
 * run: readers never block and never see a freed snapshot.
 *
 * Scheme: epoch-based reclamation with one registered slot per reader.
 *
 *   The holder keeps the current snapshot pointer, a global epoch counter
 *   (starting at 1) and an array of reader slots, one cache line each.
 *
 *   acquire(r):  e = epoch; r->slot = e; s = current; return s
 *   release(r):  r->slot = 0
 *   publish(n):  old = exchange(current, n); E = ++epoch;
 *                put old on the retired list with its epoch E;
 *                free every retired snapshot whose epoch is <= the smallest
 *                non-zero slot (or all of them if every slot is 0)
 *
 *   All of these are sequentially consistent atomics.  A reader that got
 *   the old snapshot loaded `current` before the exchange, so it stored its
 *   slot, and read an epoch, before the writer's increment: its slot holds
 *   a value < E until it releases, and the writer's scan (after the
 *   increment, in the single total order) sees it and keeps the snapshot.
 *   A reader whose slot is >= E read the epoch after the increment, hence
 *   `current` after the exchange, and cannot hold the old snapshot.  The
 *   release store of 0 happens-before the writer's load that sees it, so
 *   every read of the snapshot happens-before its free (which is what
 *   ThreadSanitizer checks).
 *
 * Costs: acquire is one load, one sequentially consistent store (an xchg
 * on x86) and one load; release one store; no shared cache line is written
 * by more than one reader.  Acquire once per batch of look-ups, not per
 * look-up.  A reader that holds a snapshot for long only delays its free:
 * the writer never waits.  Retired snapshots are freed by the next publish
 * or by bw_index_holder_reclaim(), never by readers, so a reader thread
 * never pays for a free.
 *
 * Threads: any number of reader threads, each with its own reader handle
 * (a handle is not shared between threads; acquire/release do not nest).
 * Publish and reclaim may be called from any thread and serialise on a
 * mutex that readers never touch.  Reader registration takes a free slot
 * with a compare-and-swap.
 */
#ifndef BW_INDEX_HOLDER_H
#define BW_INDEX_HOLDER_H

#include <stddef.h>

#include "core/err.h"
#include "index/index.h"

struct bw_index_holder;
struct bw_index_reader;

/* Most reader handles one holder can give out. */
#define BW_INDEX_READERS_MAX 4096

/* A holder with room for max_readers reader handles (1..BW_INDEX_READERS_MAX),
 * holding no snapshot yet. */
int bw_index_holder_new(unsigned max_readers, struct bw_index_holder **out,
			struct bw_err *err);

/* Frees the holder, its current snapshot and every retired one.  No reader
 * may be inside acquire/release any more; handles still registered become
 * invalid.  NULL is a no-op. */
void bw_index_holder_free(struct bw_index_holder *h);

/* Makes ix (not NULL) the current snapshot; the holder owns it from now on
 * and frees it once it is replaced and no reader holds it.  The previous
 * snapshot is retired; retired snapshots no reader holds are freed now.
 * Fails only with BW_ENOMEM, in which case nothing changed and the caller
 * still owns ix.  Publishing a snapshot the holder already owns is a bug. */
int bw_index_holder_publish(struct bw_index_holder *h, struct bw_index *ix,
			    struct bw_err *err);

/* Frees the retired snapshots no reader holds; returns how many retired
 * ones remain (held by some reader). */
size_t bw_index_holder_reclaim(struct bw_index_holder *h);

/* How many times a snapshot was published (0 before the first). */
unsigned long bw_index_holder_generation(struct bw_index_holder *h);

/* Registers a reader (BW_ELIMIT when all slots are taken).  The handle is
 * for one thread at a time. */
int bw_index_reader_new(struct bw_index_holder *h, struct bw_index_reader **out,
			struct bw_err *err);
/* Gives the slot back; the reader must not hold a snapshot.  NULL is a
 * no-op. */
void bw_index_reader_free(struct bw_index_reader *r);

/* The current snapshot (NULL if none was published yet), valid until
 * bw_index_release(r).  Never blocks.  Must not be called twice without a
 * release in between. */
const struct bw_index *bw_index_acquire(struct bw_index_reader *r);
void bw_index_release(struct bw_index_reader *r);

#endif
