/*
 * clock.c - the disruption clock of the daemon (see clock.h).
 */
#include "disrupt/clock.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "disrupt/action.h"
#include "disrupt/guard.h"

#define DEFAULT_INTERVAL 10

struct bw_clock {
	struct bw_policy policy;
	const struct bw_model *model;
	int run_policy;
	int64_t interval;
	bw_log_fn logger;
	void *log_ctx;
	int64_t seen, last_policy; /* data_version seen, time of the last run */
	struct bw_periodic *job;
};

static void
logf_(struct bw_clock *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(struct bw_clock *c, const char *fmt, ...)
{
	char line[1024], ts[BW_TIME_TEXT_MAX];
	va_list ap;
	int n;

	if (!c->logger)
		return;
	n = snprintf(line, sizeof(line), "time=%s ", bw_time_format(bw_time_now(), ts));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	c->logger(c->log_ctx, line);
}

/* -1 when it cannot be read: then every poll looks like a change, which
 * costs a round, never a missed one. */
static int64_t
data_version(struct bw_store *st)
{
	int64_t v = -1;

	(void)bw_store_data_version(st, &v, NULL);
	return v;
}

static void
run_policy(struct bw_clock *c, struct bw_store *st, int64_t now)
{
	struct bw_guard *guard = NULL;
	struct bw_policy_result res;
	struct bw_err err;

	if (bw_guard_load(st, c->policy.guard_dir, &guard, &err)) {
		logf_(c, "level=error event=policy_run error=\"%s\"", err.msg);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (bw_policy_run(st, &c->policy, guard, c->model, now, &res, &err))
		logf_(c, "level=error event=policy_run error=\"%s\"", err.msg);
	else if (res.activated || res.review || res.expired)
		logf_(c, "level=info event=policy_run candidates=%ld activated=%ld review=%ld"
		      " expired=%ld scored=%ld low_score=%ld", res.candidates, res.activated,
		      res.review, res.expired, res.scored, res.low_score);
	bw_guard_free(guard);
}

/* One second of the clock. */
static void
step(void *ctx, struct bw_store *st, int64_t now)
{
	struct bw_clock *c = ctx;
	int64_t v = data_version(st);
	struct bw_err err;
	long changed = 0;

	if (c->run_policy && v != c->seen && now - c->last_policy >= c->interval) {
		c->last_policy = now;
		run_policy(c, st, now); /* ticks the clock first */
		c->seen = data_version(st);
	} else if (bw_action_tick(st, now, &changed, &err)) {
		logf_(c, "level=error event=action_tick error=\"%s\"", err.msg);
	} else if (changed) {
		logf_(c, "level=info event=action_tick changed=%ld", changed);
		if (v == c->seen)
			c->seen = data_version(st);
	}
}

int
bw_clock_start(const struct bw_clock_config *cfg, struct bw_clock **out, struct bw_err *err)
{
	struct bw_clock *c = bw_calloc(1, sizeof(*c));
	struct bw_periodic_config pc = {.db_path = cfg->db_path, .interval_ms = 1000, .fn = step};
	int rc;

	*out = NULL;
	if (!c)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	c->policy = cfg->policy;
	c->model = cfg->model;
	c->run_policy = cfg->run_policy;
	c->interval = cfg->interval > 0 ? cfg->interval : DEFAULT_INTERVAL;
	c->logger = cfg->logger;
	c->log_ctx = cfg->log_ctx;
	c->seen = -2;
	pc.ctx = c;
	if (c->run_policy && c->model == NULL)
		logf_(c, "level=info event=policy_model model=none%s note=\"the disruption policy"
		      " runs without the risk model's scores, as before it\"",
		      c->policy.min_score > 0 ? " min_score=ignored" : "");
	rc = bw_periodic_start(&pc, &c->job, err);
	if (rc) {
		bw_free(c);
		return rc;
	}
	*out = c;
	return BW_OK;
}

void
bw_clock_stop(struct bw_clock *c)
{
	if (!c)
		return;
	bw_periodic_stop(c->job);
	bw_free(c);
}
