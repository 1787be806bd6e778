/*
 * api.c - /healthz, /metrics, /v1/check and /v1/gate over the index holder
 * with its attached view and the key table, and the routing of TAXII (see
 * api.h for the design).
 *
 * Concurrency: the HTTP threads borrow workers from a pool (mutex and
 * condition variable; the pool is as large as the thread count, so a
 * request never waits in practice).  A worker is one index reader handle,
 * one key table reference, one output buffer and one store connection (for
 * TAXII only), used by one thread at a time as store.h and holder.h
 * require.  A check answers from the worker's buffer, so the worker goes
 * back to the pool only once the server has copied the answer (the
 * response's done callback).  The refresh thread has its own connection;
 * refreshes are serialised by build_mu.  Key tables are swapped under
 * keys_mu, which a request takes only when the generation moved.  Request
 * counters are relaxed atomics.
 *
 * The check's JSON is written straight into the worker's buffer (no
 * allocation per request once the buffer has grown to the largest
 * answer); strings are escaped as jansson escapes them.
 *
 * Keys: each worker keeps the last few key texts that passed (KEY_CACHE),
 * compared word by word in constant time, so that a gateway on a
 * kept-alive connection pays no BLAKE2b per check; the cache belongs to
 * the key table it was filled from and is wiped when the worker takes a
 * newer table, so revocation takes effect exactly as without it.
 *
 * Logs: one logfmt line per request (time, method, path without the query,
 * status, tenant and key id, client, duration) and per event.  Neither the
 * Authorization header nor the query string is ever logged: keys are
 * secrets, and what a tenant checks is its own business.
 */
#include "net/api.h"
#include "net/taxii.h"
#include "net/incident_api.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/psl.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "index/holder.h"
#include "index/index.h"
#include "net/view.h"
#include "share/tenant.h"
#include "store/store.h"
#include "store/watch.h"

enum endpoint { EP_HEALTHZ, EP_METRICS, EP_CHECK, EP_GATE, EP_OTHER, EP_N };
static const char *const ep_names[EP_N] = {"healthz", "metrics", "check", "gate", "other"};
static const int statuses[] = {200, 204, 400, 401, 403, 404, 405, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

const char *const bw_api_check_paths[] = {"/v1/check", "/v1/gate", "/healthz", NULL};

/* Compare the store with what the snapshot was built from at least this
 * often even when data_version did not move (a safety net: expiries are
 * noticed at once, from the snapshot's earliest valid_until); and rebuild
 * at most this often while the store keeps changing (keys are reloaded at
 * every change). */
#define MAX_SNAPSHOT_AGE 3600
#define MIN_REBUILD_MS 1000
/* With a store watch (store/watch.h) the refresh thread sleeps until the
 * store's files are written, then reads data_version every refresh_ms for
 * a few intervals (the commit shows a moment after the write), and every
 * WATCH_IDLE_FACTOR intervals in any case (a watch may miss writes; and
 * the snapshot file's quiet time, expiries); without one, every interval.
 * An idle daemon reads the store every 2 s instead of 4 times a second, on
 * the cores its listeners use. */
#define WATCH_IDLE_FACTOR 8
#define METRICS_MAX 16384
/* The largest check answer (130 matches of long URLs with many tags). */
#define OUT_MAX (8u << 20)
#define NOT_LISTED "{\"listed\":false,\"matches\":[]}"

/* A key table and the workers and api that use it. */
struct keyref {
	struct bw_tenant_keys *k;
	unsigned refs; /* under keys_mu */
};

/* Keys that passed recently, so that a kept-alive gateway does not pay a
 * BLAKE2b per request: the key text itself (compared in constant time
 * over the whole buffer) and what it authenticated as.  Valid only for
 * the key table they were checked against: emptied (and wiped) whenever
 * the worker takes a new table, so a revoked key stops passing at the same
 * moment as without the cache.  A key that fails is never kept. */
#define KEY_CACHE 4

struct key_cached {
	char text[BW_API_KEY_BUF]; /* zero-padded */
	size_t len;                /* 0: empty */
	struct bw_key_auth ka;
};

struct worker {
	struct bw_api *api;
	struct bw_store *st; /* TAXII's */
	struct bw_index_reader *rd;
	struct keyref *keys;
	unsigned long keys_gen;
	struct key_cached kc[KEY_CACHE];
	unsigned kc_next; /* the entry replaced next */
	char *out;
	size_t len, cap;
	int oom;
};

struct bw_api {
	struct bw_api_config cfg;
	struct bw_index_holder *holder;
	struct bw_psl *psl; /* for STIX posted to TAXII; read-only, shared */
	const struct bw_geo *geo;

	struct worker *workers;
	unsigned nworkers;
	unsigned *free_stack, nfree;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;

	struct bw_store *rst; /* the refresh connection, under build_mu */
	/* saving the snapshot for `bulwark match` (refresh thread only):
	 * the reader it saves through, the holder generation last seen,
	 * whether a save was tried, whether a published snapshot waits to
	 * be saved and since when */
	struct bw_index_reader *save_rd;
	unsigned long save_gen;
	int saved_once, pending;
	struct timespec last_save, pending_since;
	int64_t data_version;  /* of the current key table */
	int64_t index_version; /* of the current snapshot */
	/* what the current snapshot was built from (under build_mu): the
	 * snapshot (valid until this thread publishes the next one), its
	 * source, and the digest of its view's other inputs (view.h) */
	const struct bw_index *built;
	struct bw_index_source built_src;
	uint64_t built_view;
	atomic_ulong unchanged; /* store changes that needed no rebuild */
	pthread_mutex_t build_mu;

	pthread_mutex_t keys_mu;
	struct keyref *keys; /* the current table (one reference is ours) */
	atomic_ulong keys_gen;

	pthread_t thread;
	int thread_started;
	int stop_fd; /* eventfd: written once to stop the refresh thread */

	atomic_ulong requests[EP_N][NSTATUS + 1];
};

/* ---- logging ------------------------------------------------------------ */

static void
log_line(struct bw_api *api, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
log_line(struct bw_api *api, const char *fmt, ...)
{
	char line[1024], ts[64];
	int n;
	va_list ap;

	if (api->cfg.logger == NULL)
		return;
	n = snprintf(line, sizeof(line), "time=%s ", bw_time_format(bw_time_now(), ts));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	api->cfg.logger(api->cfg.log_ctx, line);
}

/* A copy of s fit for a logfmt value: at most cap-1 bytes, printable
 * ASCII without spaces or quotes. */
static const char *
log_safe(const char *s, char *buf, size_t cap)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	buf[i] = '\0';
	return i ? buf : "-";
}

/* ---- key tables --------------------------------------------------------- */

/* Drops one reference; the caller holds keys_mu. */
static void
keyref_drop_locked(struct keyref *r)
{
	if (r && --r->refs == 0) {
		bw_tenant_keys_free(r->k);
		bw_free(r);
	}
}

/* Makes k the current key table (owned from now on, also on failure). */
static int
keys_publish(struct bw_api *api, struct bw_tenant_keys *k, struct bw_err *err)
{
	struct keyref *r = bw_calloc(1, sizeof(*r));

	if (r == NULL) {
		bw_tenant_keys_free(k);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	r->k = k;
	r->refs = 1;
	pthread_mutex_lock(&api->keys_mu);
	keyref_drop_locked(api->keys);
	api->keys = r;
	atomic_fetch_add_explicit(&api->keys_gen, 1, memory_order_release);
	pthread_mutex_unlock(&api->keys_mu);
	return BW_OK;
}

/* The key table for w's request: its own reference, swapped for the
 * current table when the generation moved (the lock only then). */
static const struct bw_tenant_keys *
worker_keys(struct worker *w)
{
	struct bw_api *api = w->api;
	unsigned long gen = atomic_load_explicit(&api->keys_gen, memory_order_acquire);

	if (gen != w->keys_gen || w->keys == NULL) {
		sodium_memzero(w->kc, sizeof(w->kc));
		pthread_mutex_lock(&api->keys_mu);
		keyref_drop_locked(w->keys);
		w->keys = api->keys;
		if (w->keys)
			w->keys->refs++;
		w->keys_gen = atomic_load_explicit(&api->keys_gen, memory_order_relaxed);
		pthread_mutex_unlock(&api->keys_mu);
	}
	return w->keys ? w->keys->k : NULL;
}

/* ---- workers ------------------------------------------------------------ */

static void
worker_close(struct bw_api *api, struct worker *w)
{
	pthread_mutex_lock(&api->keys_mu);
	keyref_drop_locked(w->keys);
	pthread_mutex_unlock(&api->keys_mu);
	bw_index_reader_free(w->rd);
	bw_store_close(w->st);
	bw_free(w->out);
	sodium_memzero(w, sizeof(*w));
}

static int
worker_open(struct bw_api *api, struct worker *w, struct bw_err *err)
{
	int rc;

	w->api = api;
	rc = bw_store_open(api->cfg.db_path, BW_STORE_NOCREATE, &w->st, err);
	if (rc)
		return rc;
	return bw_index_reader_new(api->holder, &w->rd, err);
}

static struct worker *
borrow(struct bw_api *api)
{
	struct worker *w;

	pthread_mutex_lock(&api->pool_mu);
	while (api->nfree == 0)
		pthread_cond_wait(&api->pool_cv, &api->pool_mu);
	w = &api->workers[api->free_stack[--api->nfree]];
	pthread_mutex_unlock(&api->pool_mu);
	return w;
}

static void
give_back(struct bw_api *api, struct worker *w)
{
	pthread_mutex_lock(&api->pool_mu);
	api->free_stack[api->nfree++] = (unsigned)(w - api->workers);
	pthread_cond_signal(&api->pool_cv);
	pthread_mutex_unlock(&api->pool_mu);
}

/* The response's done: the answer was copied out of w's buffer. */
static void
worker_done(void *ctx)
{
	struct worker *w = ctx;

	give_back(w->api, w);
}

/* ---- snapshots ---------------------------------------------------------- */

/* Reloads and publishes the key table; the caller holds build_mu. */
static int
reload_keys_locked(struct bw_api *api, struct bw_err *err)
{
	struct bw_tenant_keys *k = NULL;
	int rc;

	rc = bw_tenant_keys_load(api->rst, &k, err);
	if (rc)
		return rc;
	return keys_publish(api, k, err);
}

/* Builds the snapshot, its view and the key table from one read
 * transaction and publishes them; the caller holds build_mu. */
static int
rebuild_locked(struct bw_api *api, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(api->rst);
	struct bw_index *ix = NULL;
	struct bw_view *view = NULL;
	struct bw_tenant_keys *keys = NULL;
	struct bw_index_stats s;
	struct bw_view_stats vs;
	struct timespec t0;
	struct bw_index_source src;
	int64_t dv = 0, now = bw_time_now();
	uint64_t vsig = 0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* data_version first: a commit after this read triggers one more
	 * rebuild rather than being missed. */
	rc = bw_store_data_version(api->rst, &dv, err);
	if (rc)
		return rc;
	if (sqlite3_exec(db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "starting to read the store: %s",
				  sqlite3_errmsg(db));
	if ((rc = bw_tenant_keys_load(api->rst, &keys, err)) ||
	    (rc = bw_view_inputs(api->rst, &vsig, err)) ||
	    (rc = bw_index_build(api->rst, now, &ix, err)) ||
	    (rc = bw_view_build(api->rst, ix, now, api->geo, &view, err))) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	bw_view_stats(view, &vs);
	bw_index_attach(ix, view, bw_view_free_any);
	view = NULL;
	bw_index_stats(ix, &s);
	rc = keys_publish(api, keys, err);
	keys = NULL;
	if (rc)
		goto fail;
	bw_index_source(ix, &src);
	rc = bw_index_holder_publish(api->holder, ix, err);
	if (rc)
		goto fail;
	api->built = ix;
	api->built_src = src;
	api->built_view = vsig;
	ix = NULL;
	api->data_version = dv;
	api->index_version = dv;
	log_line(api, "level=info event=index_published indicators=%zu records=%zu restricted=%zu national=%zu tenants=%zu keys=%zu generation=%lu build_ms=%ld",
		 s.indicators, s.records, vs.restricted, vs.national, vs.tenants,
		 bw_tenant_keys_count(api->keys ? api->keys->k : NULL),
		 bw_index_holder_generation(api->holder), bw_time_ms_since(&t0));
	return BW_OK;
fail:
	bw_tenant_keys_free(keys);
	bw_view_free(view);
	bw_index_free(ix);
	return rc;
}

int
bw_api_refresh(struct bw_api *api, struct bw_err *err)
{
	int rc;

	pthread_mutex_lock(&api->build_mu);
	rc = rebuild_locked(api, err);
	pthread_mutex_unlock(&api->build_mu);
	return rc;
}

/* ---- the snapshot file --------------------------------------------------
 * The refresh thread saves the published snapshot where `bulwark match`
 * looks for it, so that the first match after a change loads it instead of
 * building the index.  A save is due when a published snapshot differs in
 * its source (the store's identity, generation, newest record, earliest
 * expiry: what `match` checks) from the one the file holds (read from its
 * header, bw_index_file_source: a file `match` or an earlier run of the
 * daemon wrote is not written again), at most once per interval, and only
 * once the store has been quiet for BW_API_SAVE_QUIET_MS (a nightly ingest
 * is saved seconds after it ends; a store that never rests is saved once
 * per interval).  The snapshot's source was read in the read transaction
 * it was built from (bw_index_build), and it is checked against the store
 * once more just before the save, so a file never claims a state its
 * contents do not have.  The save runs outside build_mu (85 MB for a
 * million prefixes, 540 MB for ten million names: tenths of a second to
 * seconds), holding the snapshot through the thread's own reader, so key
 * reloads and requests never wait for it. */

static bool
same_source(const struct bw_index_source *a, const struct bw_index_source *b)
{
	return a->ident == b->ident && a->gen == b->gen && a->maxrec == b->maxrec &&
	       a->expires == b->expires && a->changes == b->changes;
}

/* The snapshot to save now (held through save_rd: release it after the
 * save), or NULL; the caller holds build_mu. */
static const struct bw_index *
save_pick(struct bw_api *api, const struct timespec *last_build)
{
	long interval_ms = (long)api->cfg.index_save_interval * 1000L;
	long quiet_ms = interval_ms < BW_API_SAVE_QUIET_MS ? interval_ms : BW_API_SAVE_QUIET_MS;
	unsigned long g = bw_index_holder_generation(api->holder);
	const struct bw_index *ix;
	struct bw_index_source src, file;
	struct bw_err err;
	const char *why = NULL;

	if (api->save_rd == NULL)
		return NULL;
	if (g != api->save_gen) {
		api->save_gen = g;
		if (!api->pending) {
			api->pending = 1;
			clock_gettime(CLOCK_MONOTONIC, &api->pending_since);
		}
	}
	if (!api->pending || (api->saved_once && bw_time_ms_since(&api->last_save) < interval_ms))
		return NULL;
	if (bw_time_ms_since(last_build) < quiet_ms && bw_time_ms_since(&api->pending_since) < interval_ms)
		return NULL;
	ix = bw_index_acquire(api->save_rd);
	if (ix == NULL)
		return NULL;
	bw_index_source(ix, &src);
	if (bw_index_file_source(api->cfg.index_path, &file, &err) == BW_OK &&
	    same_source(&src, &file)) {
		/* the file already says this (written by `match`, or before a
		 * restart, or an hourly rebuild that changed nothing) */
		api->pending = 0;
		bw_index_release(api->save_rd);
		return NULL;
	}
	/* the file is for `bulwark match`, which skips lapsed indicators */
	if (bw_index_fresh(ix, api->rst, bw_time_now(), true, &why, &err) != BW_OK ||
	    why != NULL) {
		/* the store moved on: the next snapshot is saved instead */
		bw_index_release(api->save_rd);
		return NULL;
	}
	return ix;
}

/* Saves ix (from save_pick) and logs the outcome. */
static void
save_snapshot(struct bw_api *api, const struct bw_index *ix)
{
	struct timespec t0;
	struct bw_index_source src;
	struct bw_index_stats s;
	struct bw_err err;
	struct stat sb;
	char path[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	bw_index_source(ix, &src);
	bw_index_stats(ix, &s);
	log_safe(api->cfg.index_path, path, sizeof(path));
	if (bw_index_save(ix, api->cfg.index_path, &err) != BW_OK) {
		log_line(api, "level=error event=index_save path=%s error=\"%s\"", path, err.msg);
	} else {
		api->pending = 0;
		log_line(api, "level=info event=index_saved path=%s indicators=%zu bytes=%lld store_gen=%lld max_record=%lld ms=%ld",
			 path, s.indicators,
			 stat(api->cfg.index_path, &sb) == 0 ? (long long)sb.st_size : -1LL,
			 (long long)src.gen, (long long)src.maxrec, bw_time_ms_since(&t0));
	}
	/* a failed save is retried after an interval too */
	api->saved_once = 1;
	clock_gettime(CLOCK_MONOTONIC, &api->last_save);
}

/* Whether the store changed what the current snapshot holds since it was
 * built: its records, their tags, recipients and indicators (the index's
 * source: bw_index_fresh, which also says when a record expired under an
 * indicator still listed; indicators whose records have all expired are
 * dropped from the answers instead, drop_lapsed, since with feeds that set
 * valid_until one lapses every few seconds in a large store and each
 * would cost a rebuild) or the view's other inputs (tenants, scopes,
 * sightings).  Commits that touch none of them (the daemon's own outbox,
 * incidents, actions, audit, reports; keys, which are reloaded anyway)
 * leave the snapshot as it is: a rebuild of a million indicators is
 * seconds of CPU, on a core the check listener may share.  An error reading the store says yes.  The caller
 * holds build_mu. */
static int
snapshot_stale(struct bw_api *api, int64_t now)
{
	struct bw_err err;
	const char *why = NULL;
	uint64_t v = 0;

	if (api->built == NULL ||
	    /* the check and the gate drop lapsed indicators themselves
	     * (drop_lapsed); a record expiring under an indicator still
	     * listed can change its tags and who may see it: stale */
	    bw_index_fresh(api->built, api->rst, now, true, &why, &err) != BW_OK || why != NULL ||
	    bw_view_inputs(api->rst, &v, &err) != BW_OK)
		return 1;
	return v != api->built_view;
}

static void *
refresh_main(void *arg)
{
	struct bw_api *api = arg;
	unsigned ms = api->cfg.refresh_ms ? api->cfg.refresh_ms : 250;
	struct timespec last_build, last_check;
	struct bw_store_watch *watch;
	int recent = 0; /* intervals left to read data_version after a write */

	bw_store_watch_open(api->cfg.db_path, &watch);

	clock_gettime(CLOCK_MONOTONIC, &last_build);
	last_check = last_build;
	for (;;) {
		struct bw_err err;
		const struct bw_index *save_ix;
		int64_t dv = 0;

		if (bw_store_watch_wait(watch, api->stop_fd, (int)ms, (int)(WATCH_IDLE_FACTOR * ms),
					&recent))
			break;
		pthread_mutex_lock(&api->build_mu);
		if (bw_store_data_version(api->rst, &dv, &err) != BW_OK) {
			log_line(api, "level=error event=index_rebuild error=\"%s\"", err.msg);
		} else {
			/* keys first, at once: a revoked key stops working within
			 * one interval however long the index takes */
			if (dv != api->data_version) {
				if (reload_keys_locked(api, &err) == BW_OK)
					api->data_version = dv;
				else
					log_line(api, "level=error event=keys_reload error=\"%s\"",
						 err.msg);
			}
			if ((dv != api->index_version || bw_time_ms_since(&last_check) >= MAX_SNAPSHOT_AGE * 1000L ||
			     bw_time_now() > api->built_src.changes) &&
			    bw_time_ms_since(&last_build) >= MIN_REBUILD_MS) {
				clock_gettime(CLOCK_MONOTONIC, &last_check);
				if (!snapshot_stale(api, bw_time_now())) {
					api->index_version = dv;
					atomic_fetch_add(&api->unchanged, 1);
				} else if (rebuild_locked(api, &err) == BW_OK) {
					clock_gettime(CLOCK_MONOTONIC, &last_build);
				} else {
					log_line(api, "level=error event=index_rebuild error=\"%s\"",
						 err.msg);
				}
			}
		}
		if (dv != api->index_version && recent == 0)
			recent = 1; /* a change waits for MIN_REBUILD_MS: look again soon */
		save_ix = save_pick(api, &last_build);
		bw_index_holder_reclaim(api->holder);
		pthread_mutex_unlock(&api->build_mu);
		if (save_ix != NULL) {
			save_snapshot(api, save_ix);
			bw_index_release(api->save_rd);
		}
	}
	bw_store_watch_close(watch);
	return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

int
bw_api_new(const struct bw_api_config *cfg, struct bw_api **out,
	   struct bw_err *err)
{
	struct bw_api *api;
	int rc;

	*out = NULL;
	if (cfg->workers < 1 || cfg->workers > 2 * BW_HTTP_THREADS_MAX)
		return bw_err_set(err, BW_EINVAL, "workers: 1 to %d", 2 * BW_HTTP_THREADS_MAX);
	api = bw_calloc(1, sizeof(*api));
	if (api == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	api->cfg = *cfg;
	api->geo = cfg->taxii ? cfg->taxii->geo : NULL;
	pthread_mutex_init(&api->pool_mu, NULL);
	pthread_cond_init(&api->pool_cv, NULL);
	pthread_mutex_init(&api->build_mu, NULL);
	pthread_mutex_init(&api->keys_mu, NULL);
	api->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	atomic_init(&api->keys_gen, 0);
	atomic_init(&api->unchanged, 0);
	for (size_t e = 0; e < EP_N; e++)
		for (size_t s = 0; s <= NSTATUS; s++)
			atomic_init(&api->requests[e][s], 0);
	api->cfg.db_path = bw_strdup(cfg->db_path);
	api->cfg.index_path = NULL;
	if (cfg->index_path != NULL && cfg->index_save_interval > 0) {
		api->cfg.index_path = bw_strdup(cfg->index_path);
		if (api->cfg.index_path == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
	}
	api->workers = bw_calloc(cfg->workers, sizeof(*api->workers));
	api->free_stack = bw_calloc(cfg->workers, sizeof(*api->free_stack));
	api->cfg.trusted_proxies = NULL;
	api->cfg.ntrusted_proxies = 0;
	if (cfg->ntrusted_proxies > 0) {
		struct bw_http_prefix *tp = bw_calloc(cfg->ntrusted_proxies, sizeof(*tp));
		if (tp != NULL) {
			memcpy(tp, cfg->trusted_proxies, cfg->ntrusted_proxies * sizeof(*tp));
			api->cfg.trusted_proxies = tp;
			api->cfg.ntrusted_proxies = cfg->ntrusted_proxies;
		}
	}
	if (api->cfg.db_path == NULL || api->workers == NULL || api->free_stack == NULL ||
	    (cfg->ntrusted_proxies > 0 && api->cfg.trusted_proxies == NULL)) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	if (sodium_init() < 0) {
		rc = bw_err_set(err, BW_EIO, "libsodium failed to initialise");
		goto fail;
	}
	/* the refresh connection creates and migrates the store */
	rc = bw_store_open(api->cfg.db_path, 0, &api->rst, err);
	if (rc)
		goto fail;
	rc = bw_psl_open(&api->psl, err);
	if (rc)
		goto fail;
	rc = bw_index_holder_new(cfg->workers + 1, &api->holder, err);
	if (rc)
		goto fail;
	for (unsigned i = 0; i < cfg->workers; i++) {
		rc = worker_open(api, &api->workers[i], err);
		api->nworkers = i + 1;
		if (rc)
			goto fail;
		api->free_stack[api->nfree++] = i;
	}
	if (api->cfg.index_path != NULL) {
		rc = bw_index_reader_new(api->holder, &api->save_rd, err);
		if (rc)
			goto fail;
	}
	rc = bw_api_refresh(api, err);
	if (rc)
		goto fail;
	if (api->stop_fd < 0 || pthread_create(&api->thread, NULL, refresh_main, api) != 0) {
		rc = bw_err_set(err, BW_EIO, "cannot start the index refresh thread");
		goto fail;
	}
	api->thread_started = 1;
	*out = api;
	return BW_OK;
fail:
	bw_api_free(api);
	return rc;
}

void
bw_api_free(struct bw_api *api)
{
	if (api == NULL)
		return;
	if (api->thread_started) {
		(void)!eventfd_write(api->stop_fd, 1);
		pthread_join(api->thread, NULL);
	}
	if (api->stop_fd >= 0)
		close(api->stop_fd);
	for (unsigned i = 0; i < api->nworkers; i++)
		worker_close(api, &api->workers[i]);
	pthread_mutex_lock(&api->keys_mu);
	keyref_drop_locked(api->keys);
	api->keys = NULL;
	pthread_mutex_unlock(&api->keys_mu);
	bw_index_reader_free(api->save_rd);
	bw_index_holder_free(api->holder);
	bw_psl_free(api->psl);
	bw_store_close(api->rst);
	pthread_mutex_destroy(&api->pool_mu);
	pthread_cond_destroy(&api->pool_cv);
	pthread_mutex_destroy(&api->build_mu);
	pthread_mutex_destroy(&api->keys_mu);
	bw_free(api->workers);
	bw_free(api->free_stack);
	bw_free((char *)(uintptr_t)api->cfg.db_path);
	bw_free((char *)(uintptr_t)api->cfg.index_path);
	bw_free((void *)(uintptr_t)api->cfg.trusted_proxies);
	bw_free(api);
}

size_t
bw_api_indicators(struct bw_api *api)
{
	struct worker *w = borrow(api);
	const struct bw_index *ix = bw_index_acquire(w->rd);
	struct bw_index_stats s;
	size_t n = 0;

	if (ix) {
		bw_index_stats(ix, &s);
		n = s.indicators;
	}
	bw_index_release(w->rd);
	give_back(api, w);
	return n;
}

/* ---- the answer --------------------------------------------------------- */

/* Makes room for more bytes (and a NUL) in w's buffer; 0 when it cannot
 * (the answer is then a 500). */
static int
out_room(struct worker *w, size_t more)
{
	char *p;

	if (w->oom)
		return 0;
	if (w->len + more + 1 <= w->cap)
		return 1;
	if (w->len + more + 1 > OUT_MAX ||
	    (p = bw_grow(w->out, &w->cap, w->len + more + 1, 1)) == NULL) {
		w->oom = 1;
		return 0;
	}
	w->out = p;
	return 1;
}

static void
out_put(struct worker *w, const char *s, size_t n)
{
	if (!out_room(w, n))
		return;
	memcpy(w->out + w->len, s, n);
	w->len += n;
	w->out[w->len] = '\0';
}

#define OUT_LIT(w, s) out_put((w), (s), sizeof(s) - 1)

/* The bytes of s (n of them) as the inside of a JSON string, escaped as
 * jansson escapes (\" \\ \b \f \n \r \t, \u00XX for other controls). */
static void
out_esc(struct worker *w, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		unsigned char c;

		while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != '"' && s[j] != '\\')
			j++;
		out_put(w, s + i, j - i);
		if (j == n)
			break;
		c = (unsigned char)s[j];
		switch (c) {
		case '"': OUT_LIT(w, "\\\""); break;
		case '\\': OUT_LIT(w, "\\\\"); break;
		case '\b': OUT_LIT(w, "\\b"); break;
		case '\f': OUT_LIT(w, "\\f"); break;
		case '\n': OUT_LIT(w, "\\n"); break;
		case '\r': OUT_LIT(w, "\\r"); break;
		case '\t': OUT_LIT(w, "\\t"); break;
		default: {
			char u[8];
			snprintf(u, sizeof(u), "\\u%04x", c);
			out_put(w, u, 6);
		}
		}
		i = j + 1;
	}
}

static void
out_int(struct worker *w, long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%ld", v);

	if (n > 0)
		out_put(w, b, (size_t)n);
}

/* A tag as bulwark match prints it: a plain label bare, others kind:name;
 * read one byte at a time without building the string. */
struct tagtext {
	const char *part[3];
	int i;
};

static void
tagtext_init(struct tagtext *t, const struct bw_tag *tag)
{
	int label = strcmp(tag->kind, BW_TAG_KIND_LABEL) == 0;

	t->part[0] = label ? "" : tag->kind;
	t->part[1] = label ? "" : ":";
	t->part[2] = tag->name;
	t->i = 0;
}

static int
tagtext_next(struct tagtext *t)
{
	while (t->i < 3) {
		if (*t->part[t->i])
			return (unsigned char)*t->part[t->i]++;
		t->i++;
	}
	return -1;
}

/* strcmp of the printed forms */
static int
cmp_tag(const void *a, const void *b)
{
	struct tagtext x, y;
	int cx, cy;

	tagtext_init(&x, a);
	tagtext_init(&y, b);
	do {
		cx = tagtext_next(&x);
		cy = tagtext_next(&y);
	} while (cx == cy && cx >= 0);
	return cx < cy ? -1 : cx > cy;
}

/* The tags of seen as a sorted JSON array of distinct strings. */
static void
out_tags(struct worker *w, struct bw_view_seen *seen)
{
	const struct bw_tag *v = seen->tags;
	size_t n = seen->ntags, printed = 0;

	if (n > 1) {
		if (v != seen->buf) {
			memcpy(seen->buf, v, n * sizeof(*v));
			v = seen->buf;
		}
		qsort(seen->buf, n, sizeof(*seen->buf), cmp_tag);
	}
	OUT_LIT(w, "[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cmp_tag(&v[i], &v[i - 1]) == 0)
			continue;
		if (printed++)
			OUT_LIT(w, ",");
		OUT_LIT(w, "\"");
		if (strcmp(v[i].kind, BW_TAG_KIND_LABEL) != 0) {
			out_esc(w, v[i].kind, strlen(v[i].kind));
			OUT_LIT(w, ":");
		}
		out_esc(w, v[i].name, strlen(v[i].name));
		OUT_LIT(w, "\"");
	}
	OUT_LIT(w, "]");
}

/* Drops from m[0, n) the indicators that have lapsed by now (all their
 * records expired since the snapshot was built: it is not rebuilt for
 * that, see snapshot_stale); returns how many are left. */
static size_t
drop_lapsed(const struct bw_index *ix, struct bw_index_match *m, size_t n)
{
	int64_t now;
	size_t k = 0;

	if (n > BW_INDEX_MATCH_MAX)
		n = BW_INDEX_MATCH_MAX;
	if (n == 0 || !bw_index_lapses(ix))
		return n;
	now = bw_time_now();
	for (size_t i = 0; i < n; i++)
		if (!bw_index_lapsed(ix, m[i].id, now))
			m[k++] = m[i];
	return k;
}

/* The index matches of value (kind "domain", "ip" or "url"; the address
 * already parsed for "ip") into m that have not lapsed; returns how many. */
static size_t
lookup(const struct bw_index *ix, const char *kind, const char *value, size_t len,
       const struct bw_index_addr *addr, struct bw_index_match *m)
{
	size_t n;

	if (kind[0] == 'd')
		n = bw_index_lookup_domain(ix, value, len, m, BW_INDEX_MATCH_MAX);
	else if (kind[0] == 'i')
		n = bw_index_lookup_addr(ix, addr, m, BW_INDEX_MATCH_MAX);
	else
		n = bw_index_lookup_url(ix, value, len, m, BW_INDEX_MATCH_MAX);
	return drop_lapsed(ix, m, n);
}

/* Writes the check's answer into w's buffer (w->len from 0): *status 200
 * with the verdict, 400 for a bad value, 503 without a snapshot; BW_ENOMEM
 * if the buffer could not grow. */
static int
check_with(struct worker *w, const char *country, const char *kind,
	   const char *value, int *status, struct bw_err *err)
{
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	struct bw_view_seen seen;
	const struct bw_index *ix;
	const struct bw_view *view;
	struct bw_index_addr addr;
	size_t n, len = strlen(value), listed = 0;
	int slot;

	w->len = 0;
	w->oom = 0;
	if (len == 0 || len > BW_API_VALUE_MAX) {
		*status = 400;
		if (len)
			OUT_LIT(w, "{\"error\":\"the value is longer than 2048 bytes\"}");
		else
			OUT_LIT(w, "{\"error\":\"the value is empty\"}");
		goto out;
	}
	if (kind[0] == 'i' && !bw_index_parse_addr(value, len, &addr)) {
		*status = 400;
		OUT_LIT(w, "{\"error\":\"ip: not an IPv4 or IPv6 address\"}");
		goto out;
	}
	ix = bw_index_acquire(w->rd);
	view = ix ? bw_index_attachment(ix) : NULL;
	if (view == NULL) {
		bw_index_release(w->rd);
		*status = 503;
		OUT_LIT(w, "{\"error\":\"the index is not built yet\"}");
		goto out;
	}
	n = lookup(ix, kind, value, len, &addr, m);
	slot = bw_view_slot(view, country);
	/* "listed" comes first but depends on the matches: leave room */
	OUT_LIT(w, "{\"listed\":false,\"matches\":[");
	for (size_t i = 0; i < n; i++) {
		if (!bw_view_see(view, slot, &m[i], &seen))
			continue; /* nothing of it is this tenant's to see */
		if (listed++)
			OUT_LIT(w, ",");
		OUT_LIT(w, "{\"indicator\":\"");
		out_esc(w, m[i].value, m[i].len);
		OUT_LIT(w, "\",\"type\":\"");
		out_esc(w, bw_ioc_type_name(m[i].type), strlen(bw_ioc_type_name(m[i].type)));
		OUT_LIT(w, "\",\"tags\":");
		out_tags(w, &seen);
		OUT_LIT(w, ",\"confidence\":");
		if (seen.confidence >= 0)
			out_int(w, seen.confidence);
		else
			OUT_LIT(w, "null");
		if (seen.national)
			OUT_LIT(w, ",\"national\":true}");
		else
			OUT_LIT(w, ",\"national\":false}");
	}
	bw_index_release(w->rd);
	OUT_LIT(w, "]}");
	if (listed && !w->oom) {
		/* "{"listed":false" -> "{"listed":true," then the rest moves
		 * back one byte */
		static const char t[] = "{\"listed\":true";
		memcpy(w->out, t, sizeof(t) - 1);
		memmove(w->out + sizeof(t) - 1, w->out + sizeof(t), w->len - sizeof(t) + 1);
		w->len--;
	}
	*status = 200;
out:
	if (w->oom)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	return BW_OK;
}

int
bw_api_check(struct bw_api *api, const char *country, const char *kind,
	     const char *value, char **json, int *status, struct bw_err *err)
{
	struct worker *w;
	int rc;

	*json = NULL;
	if (strcmp(kind, "domain") != 0 && strcmp(kind, "ip") != 0 && strcmp(kind, "url") != 0)
		return bw_err_set(err, BW_EINVAL, "kind is domain, ip or url");
	w = borrow(api);
	rc = check_with(w, country, kind, value, status, err);
	if (rc == BW_OK && (*json = bw_strndup(w->out, w->len)) == NULL)
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
	give_back(api, w);
	return rc;
}

/* ---- HTTP --------------------------------------------------------------- */

/* A response of static text (string literals only: the server keeps and
 * reuses it, net/http.h). */
static void
set_static(struct bw_http_response *r, int status, const char *type, const char *body)
{
	r->status = status;
	r->content_type = type;
	r->body = body;
	r->len = strlen(body);
	r->release = NULL;
	r->reusable = 1;
}

static void
set_401(struct bw_http_response *r)
{
	set_static(r, 401, "application/json",
		   "{\"error\":\"a valid API key is required: Authorization: Bearer KEY\"}");
	r->header_name = "WWW-Authenticate";
	r->header_value = "Bearer realm=\"bulwark\"";
}

/* The key of an "Authorization: Bearer KEY" header, or NULL. */
static const char *
bearer(const char *h, size_t *len)
{
	size_t n;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	n = strnlen(h, BW_API_AUTH_MAX + 1);
	if (n > BW_API_AUTH_MAX)
		return NULL;
	h += 7;
	n -= 7;
	while (*h == ' ') {
		h++;
		n--;
	}
	while (n > 0 && h[n - 1] == ' ')
		n--;
	*len = n;
	return n ? h : NULL;
}

struct req_info {
	char tenant[3];
	long long key_id;
};

/* 1 if a and b (BW_API_KEY_BUF bytes each) are equal, in a time that
 * does not depend on where they differ: word by word (sodium_memcmp goes
 * byte by byte, about 800 instructions for a key buffer). */
static int
same_key_text(const char *a, const char *b)
{
	uint64_t d = 0;

	_Static_assert(BW_API_KEY_BUF % 8 == 0, "key buffers are whole words");
	for (size_t i = 0; i < BW_API_KEY_BUF; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	return d == 0;
}

/* key (klen bytes) checked against w's key table, through w's cache of
 * keys that passed: BW_OK with *ka, or BW_ENOTFOUND. */
static int
key_auth(struct worker *w, const char *key, size_t klen, struct bw_key_auth *ka)
{
	const struct bw_tenant_keys *keys = worker_keys(w); /* may empty kc */
	char text[BW_API_KEY_BUF];
	struct key_cached *e;

	if (klen >= sizeof(text))
		return BW_ENOTFOUND; /* longer than any key */
	memset(text, 0, sizeof(text));
	memcpy(text, key, klen);
	for (size_t i = 0; i < KEY_CACHE; i++) {
		e = &w->kc[i];
		/* the whole buffer, in constant time: no early exit that
		 * would tell how much of a guess was right */
		if (e->len == klen && same_key_text(e->text, text)) {
			*ka = e->ka;
			sodium_memzero(text, sizeof(text));
			return BW_OK;
		}
	}
	if (bw_tenant_keys_check(keys, key, klen, ka, NULL) != BW_OK) {
		sodium_memzero(text, sizeof(text));
		return BW_ENOTFOUND;
	}
	e = &w->kc[w->kc_next];
	w->kc_next = (w->kc_next + 1) % KEY_CACHE;
	memcpy(e->text, text, sizeof(text));
	e->len = klen;
	e->ka = *ka;
	sodium_memzero(text, sizeof(text));
	return BW_OK;
}

/* Authenticates the request's Bearer key against the key table (either
 * kind); 0 with *ka, else resp is a 401. */
static int
check_key(struct worker *w, const struct bw_http_request *req,
	  struct bw_http_response *resp, struct bw_key_auth *ka,
	  struct req_info *ri)
{
	size_t klen = 0;
	const char *key = bearer(bw_http_header(req, "Authorization"), &klen);

	if (key == NULL || key_auth(w, key, klen, ka) != BW_OK) {
		set_401(resp);
		return 1;
	}
	memcpy(ri->tenant, ka->country, sizeof(ri->tenant));
	ri->key_id = (long long)ka->key_id;
	return 0;
}

/* The check's arguments, read in one pass: exactly one of domain=, ip=
 * and url=, once (other arguments are ignored). */
struct check_args {
	const char *kind, *value;
	unsigned given;
};

static int
check_arg(void *ctx, const char *name, const char *value)
{
	static const char *const kinds[] = {"domain", "ip", "url"};
	struct check_args *a = ctx;

	for (size_t i = 0; i < 3; i++)
		if (strcmp(name, kinds[i]) == 0) {
			a->given++;
			a->kind = kinds[i];
			a->value = value ? value : "";
		}
	return 0;
}

static void
handle_check(struct bw_api *api, const struct bw_http_request *req,
	     struct bw_http_response *resp, struct req_info *ri)
{
	struct check_args a = {NULL, NULL, 0};
	struct bw_key_auth ka;
	struct worker *w;
	struct bw_err err;
	const char *value, *kind;
	int status = 500;

	w = borrow(api);
	if (check_key(w, req, resp, &ka, ri)) {
		give_back(api, w);
		return;
	}
	bw_http_query_each(req, check_arg, &a);
	kind = a.kind;
	value = a.value;
	if (a.given != 1) {
		give_back(api, w);
		set_static(resp, 400, "application/json",
			   "{\"error\":\"give exactly one of domain=, ip= or url=\"}");
		return;
	}
	if (check_with(w, ka.country, kind, value, &status, &err) != BW_OK) {
		give_back(api, w);
		log_line(api, "level=error event=check error=\"%s\"", err.msg);
		set_static(resp, 500, "application/json", "{\"error\":\"internal error\"}");
		return;
	}
	if (status == 200 && w->len == sizeof(NOT_LISTED) - 1 &&
	    memcmp(w->out, NOT_LISTED, w->len) == 0) {
		/* the commonest answer: a response the server keeps */
		give_back(api, w);
		set_static(resp, 200, "application/json", NOT_LISTED);
		return;
	}
	/* the server copies the answer out of w's buffer, then gives w back */
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = w->out;
	resp->len = w->len;
	resp->release = NULL;
	resp->done = worker_done;
	resp->done_ctx = w;
}

/* ---- the gate ----------------------------------------------------------- */

/* Whether country may see an indicator that addr matches: 1 if so, 0 if
 * not, -1 without a snapshot. */
static int
gate_listed(struct worker *w, const char *country, const struct bw_index_addr *addr)
{
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	struct bw_view_seen seen;
	const struct bw_index *ix;
	const struct bw_view *view;
	size_t n;
	int listed = 0, slot;

	ix = bw_index_acquire(w->rd);
	view = ix ? bw_index_attachment(ix) : NULL;
	if (view == NULL) {
		bw_index_release(w->rd);
		return -1;
	}
	n = drop_lapsed(ix, m, bw_index_lookup_addr(ix, addr, m, BW_INDEX_MATCH_MAX));
	slot = bw_view_slot(view, country);
	for (size_t i = 0; i < n && !listed; i++)
		listed = bw_view_see(view, slot, &m[i], &seen);
	bw_index_release(w->rd);
	return listed;
}

/* GET /v1/gate: 204 if the client may pass, 403 if its address is listed
 * for the key's tenant.  The client is the TCP peer, or the address in
 * X-Real-IP when the TCP peer is a trusted proxy (a trusted peer that does
 * not send one gets 400, so that nginx fails closed). */
static void
handle_gate(struct bw_api *api, const struct bw_http_request *req,
	    struct bw_http_response *resp, struct req_info *ri)
{
	struct bw_key_auth ka;
	struct bw_index_addr addr;
	struct worker *w;
	const char *subject;
	char peer[BW_HTTP_ADDR_MAX];
	int listed;

	w = borrow(api);
	if (check_key(w, req, resp, &ka, ri)) {
		give_back(api, w);
		return;
	}
	subject = bw_http_client(req, peer, sizeof(peer));
	if (api->cfg.ntrusted_proxies > 0 &&
	    bw_http_prefix_match(api->cfg.trusted_proxies, api->cfg.ntrusted_proxies, peer))
		subject = bw_http_header(req, "X-Real-IP");
	if (subject == NULL || !bw_index_parse_addr(subject, strlen(subject), &addr)) {
		give_back(api, w);
		set_static(resp, 400, "application/json",
			   subject ? "{\"error\":\"X-Real-IP is not an IPv4 or IPv6 address\"}"
				   : "{\"error\":\"a trusted proxy must send X-Real-IP\"}");
		return;
	}
	listed = gate_listed(w, ka.country, &addr);
	give_back(api, w);
	if (listed < 0)
		set_static(resp, 503, "application/json", "{\"error\":\"the index is not built yet\"}");
	else if (listed)
		set_static(resp, 403, "application/json", "{\"error\":\"the client address is listed\"}");
	else
		set_static(resp, 204, NULL, "");
}

/* ---- TAXII -------------------------------------------------------------- */

/* 1 if the request carries a valid gateway key (Bearer, or Basic with the
 * key as password), which TAXII refuses with 403: the key is genuine, but
 * it was issued for the check endpoints only.  Any other key is left to
 * TAXII's own authentication (which also refuses gateway keys, as 401,
 * should this test be bypassed). */
static int
gateway_key(struct worker *w, const struct bw_http_request *req)
{
	const char *h = bw_http_header(req, "Authorization");
	struct bw_key_auth ka;
	char dec[BW_API_AUTH_MAX];
	const char *key = NULL, *colon;
	size_t klen = 0, n, dlen = 0;
	int rc;

	if (h == NULL || strnlen(h, BW_API_AUTH_MAX + 1) > BW_API_AUTH_MAX)
		return 0;
	if (strncasecmp(h, "Basic ", 6) == 0) {
		h += 6;
		while (*h == ' ')
			h++;
		n = strlen(h);
		while (n > 0 && h[n - 1] == ' ')
			n--;
		if (sodium_base642bin((unsigned char *)dec, sizeof(dec) - 1, h, n, NULL, &dlen,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			return 0;
		dec[dlen] = '\0';
		colon = memchr(dec, ':', dlen);
		if (colon == NULL)
			return 0;
		key = colon + 1;
		klen = dlen - (size_t)(key - dec);
	} else {
		key = bearer(h, &klen);
	}
	rc = key && bw_tenant_keys_check(worker_keys(w), key, klen, &ka, NULL) == BW_OK &&
	     ka.kind == BW_KEY_GATEWAY;
	sodium_memzero(dec, sizeof(dec));
	return rc;
}

static void
gateway_refused(struct bw_http_response *resp)
{
	bw_taxii_error(resp, 403, "forbidden",
		       "this is a gateway key: it may only use /v1/check and /v1/gate");
}

/* ---- metrics ------------------------------------------------------------ */

static void
handle_metrics(struct bw_api *api, struct bw_http_response *resp)
{
	struct worker *w;
	const struct bw_index *ix;
	const struct bw_view *view;
	struct bw_index_stats s;
	struct bw_view_stats vs;
	char *buf = bw_malloc(METRICS_MAX);
	size_t off = 0;
	int have = 0;

#define PUT(...)                                                               \
	do {                                                                   \
		int n_ = snprintf(buf + off, METRICS_MAX - off, __VA_ARGS__);  \
		if (n_ > 0 && (size_t)n_ < METRICS_MAX - off)                  \
			off += (size_t)n_;                                     \
	} while (0)

	if (buf == NULL) {
		set_static(resp, 500, "text/plain", "out of memory\n");
		return;
	}
	memset(&vs, 0, sizeof(vs));
	w = borrow(api);
	ix = bw_index_acquire(w->rd);
	if (ix) {
		bw_index_stats(ix, &s);
		view = bw_index_attachment(ix);
		if (view)
			bw_view_stats(view, &vs);
		have = 1;
	}
	bw_index_release(w->rd);
	give_back(api, w);

	PUT("# HELP bulwark_http_requests_total HTTP requests answered, by endpoint and status.\n"
	    "# TYPE bulwark_http_requests_total counter\n");
	for (size_t e = 0; e < EP_N; e++)
		for (size_t i = 0; i <= NSTATUS; i++) {
			unsigned long v = atomic_load_explicit(&api->requests[e][i],
							       memory_order_relaxed);
			char code[16];
			if (v == 0)
				continue;
			if (i < NSTATUS)
				snprintf(code, sizeof(code), "%d", statuses[i]);
			else
				snprintf(code, sizeof(code), "other");
			PUT("bulwark_http_requests_total{endpoint=\"%s\",status=\"%s\"} %lu\n",
			    ep_names[e], code, v);
		}
	PUT("# HELP bulwark_index_indicators Indicators in the current index snapshot, by type.\n"
	    "# TYPE bulwark_index_indicators gauge\n");
	for (int t = BW_IOC_DOMAIN; t < BW_IOC_NTYPES; t++)
		PUT("bulwark_index_indicators{type=\"%s\"} %zu\n",
		    bw_ioc_type_name((enum bw_ioc_type)t), have ? s.by_type[t] : 0);
	PUT("# HELP bulwark_index_indicators_total Indicators in the current index snapshot.\n"
	    "# TYPE bulwark_index_indicators_total gauge\n"
	    "bulwark_index_indicators_total %zu\n", have ? s.indicators : 0);
	PUT("# HELP bulwark_index_restricted Indicators with an active AMBER+STRICT or RED record.\n"
	    "# TYPE bulwark_index_restricted gauge\n"
	    "bulwark_index_restricted %zu\n", vs.restricted);
	PUT("# HELP bulwark_index_national Pairs of indicator and tenant that are national.\n"
	    "# TYPE bulwark_index_national gauge\n"
	    "bulwark_index_national %zu\n", vs.national);
	PUT("# HELP bulwark_index_age_seconds Seconds since the current snapshot was built.\n"
	    "# TYPE bulwark_index_age_seconds gauge\n"
	    "bulwark_index_age_seconds %lld\n",
	    have ? (long long)(bw_time_now() - s.built) : -1LL);
	PUT("# HELP bulwark_index_generation Snapshots published since start.\n"
	    "# TYPE bulwark_index_generation counter\n"
	    "bulwark_index_generation %lu\n", bw_index_holder_generation(api->holder));
	PUT("# HELP bulwark_index_unchanged_total Store changes seen that left the snapshot's"
	    " contents as they were (no rebuild).\n"
	    "# TYPE bulwark_index_unchanged_total counter\n"
	    "bulwark_index_unchanged_total %lu\n", atomic_load(&api->unchanged));
#undef PUT
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->body = buf;
	resp->len = off;
	resp->release = bw_free;
}

int
bw_api_body_gate(void *ctx, const struct bw_http_request *req,
		 struct bw_http_response *resp)
{
	struct bw_api *api = ctx;
	struct worker *w;
	int rc;

	if (!bw_taxii_path(bw_http_path(req)))
		return 0; /* the server answers 405 to the rest */
	w = borrow(api);
	if (gateway_key(w, req)) {
		gateway_refused(resp);
		rc = 1;
	} else {
		rc = bw_taxii_post_gate(w->st, req, resp);
	}
	give_back(api, w);
	return rc;
}

void
bw_api_handle(void *ctx, const struct bw_http_request *req,
	      struct bw_http_response *resp)
{
	struct bw_api *api = ctx;
	struct req_info ri = {"-", 0};
	const char *path = bw_http_path(req);
	struct timespec t0 = {0, 0}, t1;
	enum endpoint ep;
	char pbuf[129], mbuf[16], cbuf[64];
	size_t si;

	if (!api->cfg.no_request_log)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(path, "/v1/check") == 0) {
		ep = EP_CHECK;
		handle_check(api, req, resp, &ri);
	} else if (strcmp(path, "/v1/gate") == 0) {
		ep = EP_GATE;
		handle_gate(api, req, resp, &ri);
	} else if (strcmp(path, "/healthz") == 0) {
		ep = EP_HEALTHZ;
		set_static(resp, 200, "text/plain; charset=utf-8", "ok\n");
	} else if (strcmp(path, "/metrics") == 0) {
		ep = EP_METRICS;
		handle_metrics(api, resp);
	} else if (strncmp(path, BW_INCIDENT_API_PREFIX, strlen(BW_INCIDENT_API_PREFIX)) == 0) {
		/* incident acknowledgement (net/incident_api.c, issue 7) */
		struct worker *w = borrow(api);
		ep = EP_OTHER;
		bw_incident_api_handle(w->st, req, resp, ri.tenant, &ri.key_id);
		give_back(api, w);
	} else if (bw_taxii_path(path)) {
		/* TAXII 2.1 (net/taxii.c): authenticates and answers by itself */
		struct worker *w = borrow(api);
		ep = EP_OTHER;
		if (gateway_key(w, req))
			gateway_refused(resp);
		else
			bw_taxii_handle(w->st, api->psl, api->cfg.taxii, req, resp, ri.tenant,
					&ri.key_id);
		give_back(api, w);
	} else {
		ep = EP_OTHER;
		set_static(resp, 404, "application/json", "{\"error\":\"not found\"}");
	}
	for (si = 0; si < NSTATUS && statuses[si] != resp->status; si++)
		;
	atomic_fetch_add_explicit(&api->requests[ep][si], 1, memory_order_relaxed);
	if (!api->cfg.no_request_log) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_line(api, "level=info event=request method=%s path=%s status=%d tenant=%s key=%lld client=%s duration_us=%ld",
			 log_safe(bw_http_method(req), mbuf, sizeof(mbuf)),
			 log_safe(path, pbuf, sizeof(pbuf)), resp->status, ri.tenant, ri.key_id,
			 bw_http_client(req, cbuf, sizeof(cbuf)),
			 (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000));
	}
}
