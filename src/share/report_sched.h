/*
 * report_sched.h - the daemon's periodic reports: when a period ends,
 * every tenant's report is made (HTML and PDF, report.h) and the tenant is
 * told.
 *
 * Periods are fixed, not relative to when the daemon started: they end at
 * whole multiples of the period counted from Monday 1970-01-05 00:00 UTC,
 * so a weekly report covers Monday to Monday and a daily one midnight to
 * midnight (UTC), and every run of the daemon agrees on them.  Only the
 * last period that has ended is made; a daemon that was down for a month
 * does not flood anyone with old reports.
 *
 * Made once: the report's files are written first (each through a
 * temporary name and a rename), then one transaction adds the row of
 * report_log (schema 7) and the notifications to the outbox.  A crash
 * before that commit makes the report again on the next run (the same
 * files, replaced); after it, the row says the report exists and nothing
 * is sent twice (the outbox keys are per tenant and period as well).
 *
 * In the daemon the schedule runs in a thread of its own (the runner
 * below), checked once a minute.
 *
 * Telling the tenant: every active contact at the tenant's first
 * escalation level (usually 1) gets a mail with a
 * short summary, the HTML report and the PDF attached (MIME multipart,
 * base64); the tenant's webhook (if any) gets a JSON item with the
 * period, the headline figures and the file names.
 */
#ifndef BW_SHARE_REPORT_SCHED_H
#define BW_SHARE_REPORT_SCHED_H

#include <stdint.h>

#include "core/err.h"
#include "intel/geo.h"
#include "store/periodic.h"
#include "store/store.h"

/* Shortest and longest period (seconds). */
#define BW_REPORT_PERIOD_MIN 3600
#define BW_REPORT_PERIOD_MAX (28 * 86400)
#define BW_REPORT_PERIOD_DEFAULT (7 * 86400)

struct bw_report_sched {
	const char *dir;          /* where the files go (created if missing) */
	int64_t period;           /* seconds; 0: no periodic reports */
	const struct bw_geo *geo; /* may be NULL */
};

/* The end of the last period that ended at or before now. */
int64_t bw_report_period_end(int64_t period, int64_t now);

/*
 * Makes the reports of the last ended period for every tenant that has
 * none yet, and queues their notifications.  *made (may be NULL) gets how
 * many reports were made.  A tenant whose report fails does not stop the
 * others; the first error is returned after all were tried.
 */
int bw_report_sched_run(struct bw_store *st, const struct bw_report_sched *c,
			int64_t now, long *made, struct bw_err *err);

/* The daemon's report thread (store/periodic.h): bw_report_sched_run at
 * start and then once a minute, on its own connection, so that rendering
 * never holds up deliveries.  c->dir is copied; c->geo must outlive it. */
struct bw_report_runner;
int bw_report_runner_start(const char *db_path, const struct bw_report_sched *c,
			   bw_log_fn logger, void *log_ctx,
			   struct bw_report_runner **out, struct bw_err *err);
/* Stops and frees; NULL is a no-op. */
void bw_report_runner_stop(struct bw_report_runner *r);

#endif
