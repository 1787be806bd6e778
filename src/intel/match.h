/*
 * match.h - telemetry matching: log lines against an index snapshot,
 * producing sightings; and the aggregation of sightings for the store.
 *
 * A matcher reads one input at a time (a file or standard input) line by
 * line through the bounded reader, parses each line with the log format
 * parser (src/intel/logfmt.h), and looks the values up in the index in
 * batches: a batch of up to 256 lines is parsed first, its names and
 * addresses then go to the batched look-ups of the index (which hash the
 * whole group and prefetch before probing), and the sightings are handed
 * to the caller in line order; a batch is also handed out early when the
 * input is a live stream with nothing more to read yet (bw_reader_ready),
 * so `tail -f log | bulwark match -` reports each line as it arrives.
 * Values are copied into one fixed arena per
 * batch, so nothing is allocated per line and the input is never held
 * whole in memory.
 *
 * A line whose format is wrong is counted and reported to the caller (with
 * its line number and the reason) and skipped: a bad line never stops the
 * matcher.
 *
 * A matcher is used by one thread at a time; the snapshot it reads may be
 * shared with other threads (index snapshots are immutable).
 */
#ifndef BW_INTEL_MATCH_H
#define BW_INTEL_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "index/index.h"
#include "intel/logfmt.h"
#include "store/store.h"

struct bw_reader;
struct bw_matcher;

/* One listed indicator seen on one log line.  Pointers are valid during
 * the callback only. */
struct bw_match_sighting {
	const char *file;          /* the input's name, as given */
	long line;                 /* from 1 in each input */
	int64_t time;              /* seconds UTC, 0 if the line has none */
	const char *observer;      /* "" if the line names none */
	size_t observer_len;
	const char *value;         /* as the log wrote it */
	size_t value_len;
	const struct bw_index_match *indicator;
};

struct bw_match_options {
	enum bw_logfmt format;     /* BW_LOGFMT_AUTO: detect per input */
	/* CSV column names for time, client and value (NULL: the defaults of
	 * bw_logfmt_set_columns()). */
	const char *csv_time, *csv_client, *csv_value;
	/* Called for each sighting in line order; a non-zero return stops the
	 * run with that code. */
	int (*on_sighting)(void *ctx, const struct bw_match_sighting *s,
			   struct bw_err *err);
	/* Called for each line that is not of the format (may be NULL). */
	void (*on_bad)(void *ctx, const char *file, long line, const char *why);
	void *ctx;
	/* Indicators that have lapsed by then (bw_index_lapsed: a snapshot
	 * loaded from a file after their records expired) are not reported;
	 * 0 reports all. */
	int64_t now;
};

/* What one input held. */
struct bw_match_stats {
	enum bw_logfmt format;     /* as given or detected */
	long lines;
	long records;              /* lines with a value, looked up */
	long skipped;              /* lines of the format without a value */
	long bad;                  /* lines not of the format */
	long matched;              /* lines with at least one sighting */
	long sightings;
};

/* A matcher over snapshot ix (not owned; it must outlive the matcher). */
int bw_matcher_new(const struct bw_index *ix, const struct bw_match_options *o,
		   struct bw_matcher **out, struct bw_err *err);
void bw_matcher_free(struct bw_matcher *m);

/*
 * Matches one input: path, or "-" for standard input.  Returns BW_OK after
 * reading it to the end (whatever its bad lines), BW_EFORMAT if its format
 * could not be detected (nothing read then), BW_EIO on an open or read
 * error, or the code on_sighting returned.  stats (if not NULL) is filled
 * in every case.
 */
int bw_matcher_run(struct bw_matcher *m, const char *path,
		   struct bw_match_stats *stats, struct bw_err *err);
/* The same over an open reader (name is used in sightings and reports). */
int bw_matcher_run_reader(struct bw_matcher *m, struct bw_reader *r,
			  const char *name, struct bw_match_stats *stats,
			  struct bw_err *err);

/* ---- parallel runs -----------------------------------------------------
 * A large regular file can be matched by several threads: it is mapped and
 * cut into pieces at line ends; each thread matches whole pieces with a
 * matcher of its own, the line numbers of each piece counted beforehand
 * (in parallel too), and the calling thread hands the pieces' sightings
 * out in input order, so the result is what bw_matcher_run() gives.
 * Sightings of one piece go to o->on_sighting with the piece's own context
 * (from begin, on a worker thread, any number of pieces at once), and the
 * piece is then closed by end on the calling thread, in piece order: that
 * is where its gathered output is written.  The lines not of the format
 * of each piece are kept (the first BW_MATCH_BAD_KEPT) and passed to
 * o->on_bad on the calling thread in order, before end.  At most
 * 2 x nthreads pieces are matched ahead of the one being handed out, which
 * bounds the memory the callers' per-piece buffers take. */

#define BW_MATCH_BAD_KEPT 16

struct bw_match_pieces {
	/* A new context for piece number piece (NULL: out of memory). */
	void *(*begin)(void *ctx, size_t piece);
	/* Piece piece is matched: hand out and free its context.  A non-zero
	 * return stops the run with that code.  After a stop, the pieces
	 * already begun are closed with err NULL: free the context, hand out
	 * nothing. */
	int (*end)(void *ctx, size_t piece, void *piece_ctx, struct bw_err *err);
	void *ctx;
};

/*
 * Matches the file at path with up to nthreads threads (1-64).  Returns
 * BW_ENOTFOUND, having read nothing, when the input is not for this path:
 * not a regular file, smaller than BW_MATCH_PARALLEL_MIN, or in a format
 * whose lines depend on a header (zeek, csv); the caller then uses
 * bw_matcher_run().  Otherwise as bw_matcher_run(), with o as given to
 * bw_matcher_new() (o->ctx is not used: each piece has its own).
 */
#define BW_MATCH_PARALLEL_MIN (8u << 20)
int bw_matcher_run_parallel(const struct bw_index *ix,
			    const struct bw_match_options *o,
			    const struct bw_match_pieces *pc, const char *path,
			    unsigned nthreads, struct bw_match_stats *stats,
			    struct bw_err *err);

/* ---- aggregation for the store ----------------------------------------
 * Sightings counted in memory per (indicator, observer, hour) and written
 * to the store with bw_store_record_sighting() in one transaction, so that
 * a day of logs costs at most one row upsert per key and hour. */

struct bw_sightings;

/* Room for max_keys distinct keys (1 .. 1<<26). */
int bw_sightings_new(size_t max_keys, struct bw_sightings **out,
		     struct bw_err *err);
void bw_sightings_free(struct bw_sightings *a);

/* Counts one sighting at time t.  Returns BW_ELIMIT, counting nothing, when
 * the key is new and max_keys keys are held (flush, then add again),
 * BW_EINVAL for an observer over BW_SIGHTING_OBSERVER_MAX bytes or an
 * indicator id below 1. */
int bw_sightings_add(struct bw_sightings *a, int64_t indicator_id,
		     const char *observer, size_t observer_len, int64_t t,
		     struct bw_err *err);

/* Keys held, and the sightings counted into them. */
size_t bw_sightings_keys(const struct bw_sightings *a);
long bw_sightings_total(const struct bw_sightings *a);

/* Writes every key into st inside one transaction of its own and empties
 * a; on error nothing is written and a is left as it was. */
int bw_sightings_flush(struct bw_sightings *a, struct bw_store *st,
		       struct bw_err *err);

#endif
