/*
 * clock.h - the daemon's disruption clock: what `bulwark serve` does for
 * the actions without anyone typing a command.
 *
 * A periodic job (store/periodic.h) that every second
 *   - runs bw_action_tick(), so approved actions start when their
 *     authorisation does and actions leave the zone when they expire
 *     (within a second, not at the next command);
 *   - when the store has changed (PRAGMA data_version, which sees commits
 *     of other processes such as `bulwark ingest`), and at most once per
 *     interval, runs the disruption policy (policy.h) with freshly loaded
 *     guard lists, so newly ingested intelligence that a valid
 *     authorisation covers becomes an action in seconds; with the
 *     daemon's domain-risk model, if it has one, as evidence (without
 *     one the start says so once in the log).
 * Its own commits also move data_version; they are not counted as changes.
 */
#ifndef BW_DISRUPT_CLOCK_H
#define BW_DISRUPT_CLOCK_H

#include <stdint.h>

#include "core/err.h"
#include "disrupt/policy.h"
#include "store/periodic.h"

struct bw_clock_config {
	const char *db_path;
	struct bw_policy policy; /* copied */
	int run_policy;          /* 0: only the clock */
	int64_t interval;        /* seconds between policy runs; 0: 10 */
	const struct bw_model *model; /* may be NULL; borrowed, must outlive
				       * the clock (bw_clock_stop first) */
	bw_log_fn logger;        /* may be NULL */
	void *log_ctx;
};

struct bw_clock;

int bw_clock_start(const struct bw_clock_config *cfg, struct bw_clock **out,
		   struct bw_err *err);
/* Stops the thread and frees; NULL is a no-op. */
void bw_clock_stop(struct bw_clock *c);

#endif
