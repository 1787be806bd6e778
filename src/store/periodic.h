/*
 * periodic.h - a background thread that runs one job at a fixed interval
 * on its own store connection (store.h: one connection per thread).
 *
 * The daemon's slow or clock-driven jobs each get one (the disruption
 * clock, the periodic reports), so that none of them holds up another:
 * a report that takes seconds to render never delays an incident's mail.
 * Stopping wakes the thread at once; a job in progress finishes first.
 */
#ifndef BW_STORE_PERIODIC_H
#define BW_STORE_PERIODIC_H

#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* The job: called with the thread's connection and the time; what it
 * returns is ignored (it logs its own errors), the next run comes anyway. */
typedef void (*bw_periodic_fn)(void *ctx, struct bw_store *st, int64_t now);

/* Where such jobs write their log lines (one logfmt line, no newline). */
typedef void (*bw_log_fn)(void *ctx, const char *line);

struct bw_periodic_config {
	const char *db_path;
	unsigned interval_ms; /* between the end of one run and the next */
	bw_periodic_fn fn;
	void *ctx;            /* must outlive the thread */
};

struct bw_periodic;

/* Opens the store and starts the thread (the first run is immediate). */
int bw_periodic_start(const struct bw_periodic_config *cfg, struct bw_periodic **out,
		      struct bw_err *err);
/* Stops the thread, closes its connection and frees; NULL is a no-op. */
void bw_periodic_stop(struct bw_periodic *p);

#endif
