/*
 * periodic.c - one job, one thread, one store connection (periodic.h).
 */
#include "store/periodic.h"

#include <pthread.h>
#include <time.h>

#include "core/mem.h"
#include "core/timeutil.h"

struct bw_periodic {
	struct bw_periodic_config cfg;
	struct bw_store *st;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

static void *
run(void *arg)
{
	struct bw_periodic *p = arg;

	for (;;) {
		struct timespec ts;
		int stop;

		p->cfg.fn(p->cfg.ctx, p->st, bw_time_now());
		pthread_mutex_lock(&p->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += p->cfg.interval_ms / 1000;
		ts.tv_nsec += (long)(p->cfg.interval_ms % 1000) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
			; /* woken without stop: wait out the interval */
		stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
	}
}

int
bw_periodic_start(const struct bw_periodic_config *cfg, struct bw_periodic **out,
		  struct bw_err *err)
{
	struct bw_periodic *p = bw_calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	p->cfg = *cfg;
	rc = bw_store_open(cfg->db_path, 0, &p->st, err);
	if (rc) {
		bw_free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		bw_store_close(p->st);
		bw_free(p);
		return bw_err_set(err, BW_EIO, "cannot start a background thread");
	}
	*out = p;
	return BW_OK;
}

void
bw_periodic_stop(struct bw_periodic *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	bw_store_close(p->st);
	bw_free(p);
}
