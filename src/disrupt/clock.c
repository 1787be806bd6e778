/*
 * clock.c - the disruption clock thread of the daemon (see clock.h).
 */
#include "disrupt/clock.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "disrupt/action.h"
#include "disrupt/guard.h"

#define DEFAULT_INTERVAL 10

struct bw_clock {
	char *db_path;
	struct bw_policy policy;
	int run_policy;
	int64_t interval;
	bw_clock_logger logger;
	void *log_ctx;

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
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

static int64_t
data_version(struct bw_store *st)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(bw_store_db(st), "PRAGMA data_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
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
	if (bw_policy_run(st, &c->policy, guard, now, &res, &err))
		logf_(c, "level=error event=policy_run error=\"%s\"", err.msg);
	else if (res.activated || res.review || res.expired)
		logf_(c, "level=info event=policy_run candidates=%ld activated=%ld review=%ld"
		      " expired=%ld", res.candidates, res.activated, res.review, res.expired);
	bw_guard_free(guard);
}

static void *
run(void *arg)
{
	struct bw_clock *c = arg;
	struct bw_store *st = NULL;
	struct bw_err err;
	int64_t seen = -2, last_policy = 0;

	if (bw_store_open(c->db_path, 0, &st, &err)) {
		logf_(c, "level=error event=clock_stopped error=\"%s\"", err.msg);
		return NULL;
	}
	for (;;) {
		struct timespec ts;
		int64_t now = bw_time_now(), v = data_version(st);
		long changed = 0;
		int stop;

		if (c->run_policy && v != seen && now - last_policy >= c->interval) {
			last_policy = now;
			run_policy(c, st, now); /* ticks the clock first */
			seen = data_version(st);
		} else if (bw_action_tick(st, now, &changed, &err)) {
			logf_(c, "level=error event=action_tick error=\"%s\"", err.msg);
		} else if (changed) {
			logf_(c, "level=info event=action_tick changed=%ld", changed);
			if (v == seen)
				seen = data_version(st);
		}
		pthread_mutex_lock(&c->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (!c->stop)
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		if (stop)
			break;
	}
	bw_store_close(st);
	return NULL;
}

int
bw_clock_start(const struct bw_clock_config *cfg, struct bw_clock **out, struct bw_err *err)
{
	struct bw_clock *c = bw_calloc(1, sizeof(*c));

	*out = NULL;
	if (!c || !(c->db_path = bw_strdup(cfg->db_path))) {
		bw_free(c);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	c->policy = cfg->policy;
	c->run_policy = cfg->run_policy;
	c->interval = cfg->interval > 0 ? cfg->interval : DEFAULT_INTERVAL;
	c->logger = cfg->logger;
	c->log_ctx = cfg->log_ctx;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		bw_free(c->db_path);
		bw_free(c);
		return bw_err_set(err, BW_EIO, "cannot start the disruption clock thread");
	}
	*out = c;
	return BW_OK;
}

void
bw_clock_stop(struct bw_clock *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	bw_free(c->db_path);
	bw_free(c);
}
