/*
 * api.c - /healthz, /metrics and /v1/check over the index holder, the
 * tenant keys and the TLP of each record (see api.h for the design).
 *
 * Concurrency: the HTTP threads borrow workers from a pool (mutex and
 * condition variable; the pool is as large as the thread count, so a
 * request never waits in practice).  A worker is one store connection with
 * its prepared statements and one index reader handle, used by one thread
 * at a time as store.h and holder.h require.  The refresh thread has its
 * own connection; refreshes are serialised by build_mu.  Request counters
 * are relaxed atomics.
 *
 * Logs: one logfmt line per request (time, method, path without the query,
 * status, tenant and key id, client, matches, duration) and per event.
 * Neither the Authorization header nor the query string is ever logged:
 * keys are secrets, and what a tenant checks is its own business.
 */
#include "net/api.h"
#include "net/taxii.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/psl.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "index/holder.h"
#include "index/index.h"
#include "share/tenant.h"
#include "store/store.h"

enum endpoint { EP_HEALTHZ, EP_METRICS, EP_CHECK, EP_GATE, EP_OTHER, EP_N };
static const char *const ep_names[EP_N] = {"healthz", "metrics", "check", "gate", "other"};
static const int statuses[] = {200, 204, 400, 401, 403, 404, 405, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

/* Rebuild at least this often, so that records whose valid_until passed
 * leave the index even when nothing is written. */
#define MAX_SNAPSHOT_AGE 3600
#define METRICS_MAX 16384

struct worker {
	struct bw_store *st;
	struct bw_index_reader *rd;
	sqlite3_stmt *recs, *tags;
};

struct bw_api {
	struct bw_api_config cfg;
	struct bw_index_holder *holder;
	struct bw_psl *psl; /* for STIX posted to TAXII; read-only, shared */

	struct worker *workers;
	unsigned nworkers;
	unsigned *free_stack, nfree;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;

	struct bw_store *rst; /* the refresh connection, under build_mu */
	int64_t data_version;
	pthread_mutex_t build_mu;

	pthread_t thread;
	int thread_started;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	int stop;

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

/* ---- workers ------------------------------------------------------------ */

static void
worker_close(struct worker *w)
{
	sqlite3_finalize(w->recs);
	sqlite3_finalize(w->tags);
	bw_index_reader_free(w->rd);
	bw_store_close(w->st);
	memset(w, 0, sizeof(*w));
}

static int
worker_open(struct bw_api *api, struct worker *w, struct bw_err *err)
{
	int rc;

	rc = bw_store_open(api->cfg.db_path, BW_STORE_NOCREATE, &w->st, err);
	if (rc)
		return rc;
	rc = bw_index_reader_new(api->holder, &w->rd, err);
	if (rc)
		return rc;
	/* The active records of one indicator, with whether country is among
	 * each record's recipients. */
	if (sqlite3_prepare_v3(bw_store_db(w->st),
			       "SELECT r.id, r.tlp, r.confidence,"
			       " EXISTS (SELECT 1 FROM record_recipient rr"
			       "         WHERE rr.record_id = r.id AND rr.country = ?2)"
			       " FROM record r"
			       " WHERE r.indicator_id = ?1 AND r.revoked = 0 AND r.expired = 0"
			       "   AND (r.valid_until IS NULL OR r.valid_until >= ?3)",
			       -1, SQLITE_PREPARE_PERSISTENT, &w->recs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(bw_store_db(w->st),
			       "SELECT t.kind, t.name FROM record_tag rt"
			       " JOIN tag t ON t.id = rt.tag_id WHERE rt.record_id = ?1",
			       -1, SQLITE_PREPARE_PERSISTENT, &w->tags, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "preparing the check queries: %s",
				  sqlite3_errmsg(bw_store_db(w->st)));
	return BW_OK;
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

/* ---- snapshots ---------------------------------------------------------- */

static int
read_data_version(struct bw_store *st, int64_t *out, struct bw_err *err)
{
	sqlite3_stmt *s;
	int rc = BW_OK;

	if (sqlite3_prepare_v2(bw_store_db(st), "PRAGMA data_version", -1, &s, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "data_version: %s",
				  sqlite3_errmsg(bw_store_db(st)));
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		rc = bw_err_set(err, BW_ESTORE, "data_version: %s",
				sqlite3_errmsg(bw_store_db(st)));
	sqlite3_finalize(s);
	return rc;
}

/* Builds and publishes a snapshot; the caller holds build_mu. */
static int
rebuild_locked(struct bw_api *api, struct bw_err *err)
{
	struct bw_index *ix = NULL;
	struct bw_index_stats s;
	struct timespec t0, t1;
	int64_t dv = 0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* data_version first: a commit after this read triggers one more
	 * rebuild rather than being missed. */
	rc = read_data_version(api->rst, &dv, err);
	if (rc)
		return rc;
	rc = bw_index_build(api->rst, bw_time_now(), &ix, err);
	if (rc)
		return rc;
	bw_index_stats(ix, &s);
	rc = bw_index_holder_publish(api->holder, ix, err);
	if (rc) {
		bw_index_free(ix);
		return rc;
	}
	api->data_version = dv;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_line(api, "level=info event=index_published indicators=%zu records=%zu generation=%lu build_ms=%ld",
		 s.indicators, s.records, bw_index_holder_generation(api->holder),
		 (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return BW_OK;
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

static void *
refresh_main(void *arg)
{
	struct bw_api *api = arg;
	unsigned ms = api->cfg.refresh_ms ? api->cfg.refresh_ms : 1000;
	int64_t last_build = bw_time_now();

	for (;;) {
		struct timespec until;
		struct bw_err err;
		int64_t dv = 0;
		int stop;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&api->stop_mu);
		while (!api->stop &&
		       pthread_cond_timedwait(&api->stop_cv, &api->stop_mu, &until) == 0)
			;
		stop = api->stop;
		pthread_mutex_unlock(&api->stop_mu);
		if (stop)
			break;
		pthread_mutex_lock(&api->build_mu);
		if (read_data_version(api->rst, &dv, &err) == BW_OK &&
		    (dv != api->data_version || bw_time_now() - last_build >= MAX_SNAPSHOT_AGE)) {
			if (rebuild_locked(api, &err) == BW_OK)
				last_build = bw_time_now();
			else
				log_line(api, "level=error event=index_rebuild error=\"%s\"", err.msg);
		}
		bw_index_holder_reclaim(api->holder);
		pthread_mutex_unlock(&api->build_mu);
	}
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
	if (cfg->workers < 1 || cfg->workers > BW_HTTP_THREADS_MAX)
		return bw_err_set(err, BW_EINVAL, "workers: 1 to %d", BW_HTTP_THREADS_MAX);
	api = bw_calloc(1, sizeof(*api));
	if (api == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	api->cfg = *cfg;
	pthread_mutex_init(&api->pool_mu, NULL);
	pthread_cond_init(&api->pool_cv, NULL);
	pthread_mutex_init(&api->build_mu, NULL);
	pthread_mutex_init(&api->stop_mu, NULL);
	pthread_cond_init(&api->stop_cv, NULL);
	for (size_t e = 0; e < EP_N; e++)
		for (size_t s = 0; s <= NSTATUS; s++)
			atomic_init(&api->requests[e][s], 0);
	api->cfg.db_path = bw_strdup(cfg->db_path);
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
	rc = bw_api_refresh(api, err);
	if (rc)
		goto fail;
	if (pthread_create(&api->thread, NULL, refresh_main, api) != 0) {
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
		pthread_mutex_lock(&api->stop_mu);
		api->stop = 1;
		pthread_cond_signal(&api->stop_cv);
		pthread_mutex_unlock(&api->stop_mu);
		pthread_join(api->thread, NULL);
	}
	for (unsigned i = 0; i < api->nworkers; i++)
		worker_close(&api->workers[i]);
	bw_index_holder_free(api->holder);
	bw_psl_free(api->psl);
	bw_store_close(api->rst);
	pthread_mutex_destroy(&api->pool_mu);
	pthread_cond_destroy(&api->pool_cv);
	pthread_mutex_destroy(&api->build_mu);
	pthread_mutex_destroy(&api->stop_mu);
	pthread_cond_destroy(&api->stop_cv);
	bw_free(api->workers);
	bw_free(api->free_stack);
	bw_free((char *)(uintptr_t)api->cfg.db_path);
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

/* ---- the check ---------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct tagset {
	char **v;
	size_t n, cap;
};

static void
tagset_free(struct tagset *t)
{
	for (size_t i = 0; i < t->n; i++)
		bw_free(t->v[i]);
	bw_free(t->v);
	memset(t, 0, sizeof(*t));
}

static int
tagset_add(struct tagset *t, const char *kind, const char *name)
{
	char **nv, *s;
	size_t len;

	if (t->n >= BW_INDEX_TAGS_MAX)
		return BW_OK; /* as the index does: beyond the cap, dropped */
	if (t->n == t->cap) {
		nv = bw_grow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
		if (nv == NULL)
			return BW_ENOMEM;
		t->v = nv;
	}
	/* as bulwark match prints them: a plain label bare, others kind:name */
	len = (size_t)bw_tag_format(kind, name, NULL, 0) + 1;
	s = bw_malloc(len);
	if (s)
		bw_tag_format(kind, name, s, len);
	if (s == NULL)
		return BW_ENOMEM;
	t->v[t->n++] = s;
	return BW_OK;
}

/* What country may see of the store's indicator id: *nvisible records,
 * their maximum confidence (-1 if none states one) and their tags. */
static int
visible_part(struct worker *w, int64_t id, const char *country, int64_t now,
	     long *nvisible, int *confidence, struct tagset *tags,
	     struct bw_err *err)
{
	int step, rc = BW_OK;

	*nvisible = 0;
	*confidence = -1;
	sqlite3_reset(w->recs);
	sqlite3_bind_int64(w->recs, 1, id);
	sqlite3_bind_text(w->recs, 2, country, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(w->recs, 3, now);
	while ((step = sqlite3_step(w->recs)) == SQLITE_ROW) {
		int64_t rid = sqlite3_column_int64(w->recs, 0);
		int tlp = sqlite3_column_int(w->recs, 1);
		int recipient = sqlite3_column_int(w->recs, 3);

		if (!bw_tenant_may_see(tlp, recipient))
			continue;
		(*nvisible)++;
		if (sqlite3_column_type(w->recs, 2) != SQLITE_NULL &&
		    sqlite3_column_int(w->recs, 2) > *confidence)
			*confidence = sqlite3_column_int(w->recs, 2);
		sqlite3_reset(w->tags);
		sqlite3_bind_int64(w->tags, 1, rid);
		while ((step = sqlite3_step(w->tags)) == SQLITE_ROW) {
			const char *k = (const char *)sqlite3_column_text(w->tags, 0);
			const char *n = (const char *)sqlite3_column_text(w->tags, 1);
			if (k && n && tagset_add(tags, k, n) != BW_OK) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
		}
		if (step != SQLITE_DONE) {
			rc = bw_err_set(err, BW_ESTORE, "reading tags: %s",
					sqlite3_errmsg(bw_store_db(w->st)));
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = bw_err_set(err, BW_ESTORE, "reading records: %s",
				sqlite3_errmsg(bw_store_db(w->st)));
out:
	sqlite3_reset(w->tags);
	sqlite3_reset(w->recs);
	return rc;
}

static json_t *
tags_json(struct tagset *t)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_str);
	for (size_t i = 0; i < t->n; i++) {
		if (i > 0 && strcmp(t->v[i], t->v[i - 1]) == 0)
			continue;
		if (json_array_append_new(a, json_string(t->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static char *
error_json(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static int
check_with(struct worker *w, const char *country, const char *kind,
	   const char *value, char **json, int *status, struct bw_err *err)
{
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	const struct bw_index *ix;
	struct bw_index_addr addr;
	json_t *root = NULL, *matches = NULL;
	size_t n = 0, len = strlen(value);
	int64_t now = bw_time_now();
	int rc = BW_OK;

	*json = NULL;
	if (len == 0 || len > BW_API_VALUE_MAX) {
		*status = 400;
		*json = error_json(len ? "the value is longer than 2048 bytes" : "the value is empty");
		return *json ? BW_OK : bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	if (strcmp(kind, "ip") == 0 && !bw_index_parse_addr(value, len, &addr)) {
		*status = 400;
		*json = error_json("ip: not an IPv4 or IPv6 address");
		return *json ? BW_OK : bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	ix = bw_index_acquire(w->rd);
	if (ix == NULL) {
		bw_index_release(w->rd);
		*status = 503;
		*json = error_json("the index is not built yet");
		return *json ? BW_OK : bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	if (strcmp(kind, "domain") == 0)
		n = bw_index_lookup_domain(ix, value, len, m, BW_INDEX_MATCH_MAX);
	else if (strcmp(kind, "ip") == 0)
		n = bw_index_lookup_addr(ix, &addr, m, BW_INDEX_MATCH_MAX);
	else
		n = bw_index_lookup_url(ix, value, len, m, BW_INDEX_MATCH_MAX);
	if (n > BW_INDEX_MATCH_MAX)
		n = BW_INDEX_MATCH_MAX;
	root = json_object();
	matches = json_array();
	if (root == NULL || matches == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct tagset tags = {NULL, 0, 0};
		long nvis;
		int conf;
		json_t *o, *ta;

		rc = visible_part(w, m[i].store_id, country, now, &nvis, &conf, &tags, err);
		if (rc) {
			tagset_free(&tags);
			goto out;
		}
		if (nvis == 0) {
			tagset_free(&tags);
			continue; /* nothing of it is this tenant's to see */
		}
		ta = tags_json(&tags);
		tagset_free(&tags);
		o = json_object();
		if (ta == NULL || o == NULL) {
			json_decref(ta);
			json_decref(o);
			goto nomem;
		}
		json_object_set_new(o, "indicator", json_stringn(m[i].value, m[i].len));
		json_object_set_new(o, "type", json_string(bw_ioc_type_name(m[i].type)));
		json_object_set_new(o, "tags", ta);
		json_object_set_new(o, "confidence", conf >= 0 ? json_integer(conf) : json_null());
		if (json_array_append_new(matches, o) != 0)
			goto nomem;
	}
	json_object_set_new(root, "listed", json_boolean(json_array_size(matches) > 0));
	json_object_set_new(root, "matches", matches);
	matches = NULL;
	*json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*json == NULL)
		goto nomem;
	*status = 200;
	goto out;
nomem:
	rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	bw_index_release(w->rd);
	json_decref(matches);
	json_decref(root);
	return rc;
}

int
bw_api_check(struct bw_api *api, const char *country, const char *kind,
	     const char *value, char **json, int *status, struct bw_err *err)
{
	struct worker *w;
	int rc;

	if (strcmp(kind, "domain") != 0 && strcmp(kind, "ip") != 0 && strcmp(kind, "url") != 0)
		return bw_err_set(err, BW_EINVAL, "kind is domain, ip or url");
	w = borrow(api);
	rc = check_with(w, country, kind, value, json, status, err);
	give_back(api, w);
	return rc;
}

/* ---- HTTP --------------------------------------------------------------- */

static void
set_static(struct bw_http_response *r, int status, const char *type, const char *body)
{
	r->status = status;
	r->content_type = type;
	r->body = body;
	r->len = strlen(body);
	r->release = NULL;
}

static void
set_json(struct bw_http_response *r, int status, char *body)
{
	bw_http_set_dumped(r, status, "application/json", body, "application/json",
			   "{\"error\":\"internal error\"}");
}

/* The key of an "Authorization: Bearer KEY" header, or NULL. */
static const char *
bearer(const char *h, size_t *len)
{
	size_t n;

	if (h == NULL || strlen(h) > BW_API_AUTH_MAX || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && h[n - 1] == ' ')
		n--;
	*len = n;
	return n ? h : NULL;
}

struct req_info {
	char tenant[3];
	long long key_id;
};

static void
handle_check(struct bw_api *api, const struct bw_http_request *req,
	     struct bw_http_response *resp, struct req_info *ri)
{
	static const char *const kinds[] = {"domain", "ip", "url"};
	struct bw_tenant t;
	struct worker *w;
	struct bw_err err;
	const char *key, *value = NULL, *kind = NULL;
	char *json = NULL;
	size_t klen = 0;
	int64_t key_id = 0;
	int rc, status = 500, given = 0, dup = 0;

	key = bearer(bw_http_header(req, "Authorization"), &klen);
	w = borrow(api);
	rc = key ? bw_tenant_authenticate(w->st, key, klen, &t, &key_id, &err)
		 : bw_err_set(&err, BW_ENOTFOUND, "no API key");
	if (rc) {
		give_back(api, w);
		if (rc == BW_ENOTFOUND) {
			set_static(resp, 401, "application/json",
				   "{\"error\":\"a valid API key is required: Authorization: Bearer KEY\"}");
			resp->header_name = "WWW-Authenticate";
			resp->header_value = "Bearer realm=\"bulwark\"";
		} else {
			log_line(api, "level=error event=auth error=\"%s\"", err.msg);
			set_static(resp, 500, "application/json", "{\"error\":\"internal error\"}");
		}
		return;
	}
	snprintf(ri->tenant, sizeof(ri->tenant), "%s", t.country);
	ri->key_id = (long long)key_id;
	for (size_t i = 0; i < 3; i++) {
		unsigned c = 0;
		const char *v = bw_http_query(req, kinds[i], &c);
		if (c > 0) {
			given++;
			dup |= c > 1;
			kind = kinds[i];
			value = v ? v : "";
		}
	}
	if (given != 1 || dup) {
		give_back(api, w);
		set_static(resp, 400, "application/json",
			   "{\"error\":\"give exactly one of domain=, ip= or url=\"}");
		return;
	}
	rc = check_with(w, t.country, kind, value, &json, &status, &err);
	give_back(api, w);
	if (rc) {
		log_line(api, "level=error event=check error=\"%s\"", err.msg);
		set_static(resp, 500, "application/json", "{\"error\":\"internal error\"}");
		return;
	}
	set_json(resp, status, json);
}

/* ---- the gate ----------------------------------------------------------- */

/* Whether country may see an indicator that addr matches: *listed 1 if so.
 * BW_ENOTFOUND without a snapshot. */
static int
gate_listed(struct worker *w, const char *country, const struct bw_index_addr *addr,
	    int *listed, struct bw_err *err)
{
	struct bw_index_match m[BW_INDEX_MATCH_MAX];
	const struct bw_index *ix;
	int64_t now = bw_time_now();
	size_t n;
	int rc = BW_OK;

	*listed = 0;
	ix = bw_index_acquire(w->rd);
	if (ix == NULL) {
		bw_index_release(w->rd);
		return bw_err_set(err, BW_ENOTFOUND, "the index is not built yet");
	}
	n = bw_index_lookup_addr(ix, addr, m, BW_INDEX_MATCH_MAX);
	if (n > BW_INDEX_MATCH_MAX)
		n = BW_INDEX_MATCH_MAX;
	for (size_t i = 0; i < n && !*listed && rc == BW_OK; i++) {
		struct tagset tags = {NULL, 0, 0};
		long nvis = 0;
		int conf;

		rc = visible_part(w, m[i].store_id, country, now, &nvis, &conf, &tags, err);
		tagset_free(&tags);
		*listed = rc == BW_OK && nvis > 0;
	}
	bw_index_release(w->rd);
	return rc;
}

/* GET /v1/gate: 204 if the client may pass, 403 if its address is listed
 * for the key's tenant.  The client is the TCP peer, or the address in
 * X-Real-IP when the TCP peer is a trusted proxy (a trusted peer that does
 * not send one gets 400, so that nginx fails closed). */
static void
handle_gate(struct bw_api *api, const struct bw_http_request *req,
	    struct bw_http_response *resp, struct req_info *ri)
{
	struct bw_tenant t;
	struct bw_index_addr addr;
	struct worker *w;
	struct bw_err err;
	const char *key, *subject;
	char peer[BW_HTTP_ADDR_MAX];
	size_t klen = 0;
	int64_t key_id = 0;
	int rc, grc = BW_OK, listed = 0;

	key = bearer(bw_http_header(req, "Authorization"), &klen);
	w = borrow(api);
	rc = key ? bw_tenant_authenticate(w->st, key, klen, &t, &key_id, &err)
		 : bw_err_set(&err, BW_ENOTFOUND, "no API key");
	if (rc == BW_OK) {
		snprintf(ri->tenant, sizeof(ri->tenant), "%s", t.country);
		ri->key_id = (long long)key_id;
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
		grc = gate_listed(w, t.country, &addr, &listed, &err);
	}
	give_back(api, w);
	if (rc == BW_ENOTFOUND) {
		set_static(resp, 401, "application/json",
			   "{\"error\":\"a valid API key is required: Authorization: Bearer KEY\"}");
		resp->header_name = "WWW-Authenticate";
		resp->header_value = "Bearer realm=\"bulwark\"";
	} else if (grc == BW_ENOTFOUND) {
		set_static(resp, 503, "application/json", "{\"error\":\"the index is not built yet\"}");
	} else if (rc || grc) {
		log_line(api, "level=error event=gate error=\"%s\"", err.msg);
		set_static(resp, 500, "application/json", "{\"error\":\"internal error\"}");
	} else if (listed) {
		set_static(resp, 403, "application/json", "{\"error\":\"the client address is listed\"}");
	} else {
		set_static(resp, 204, NULL, "");
	}
}

static void
handle_metrics(struct bw_api *api, struct bw_http_response *resp)
{
	struct worker *w;
	const struct bw_index *ix;
	struct bw_index_stats s;
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
	w = borrow(api);
	ix = bw_index_acquire(w->rd);
	if (ix) {
		bw_index_stats(ix, &s);
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
	PUT("# HELP bulwark_index_age_seconds Seconds since the current snapshot was built.\n"
	    "# TYPE bulwark_index_age_seconds gauge\n"
	    "bulwark_index_age_seconds %lld\n",
	    have ? (long long)(bw_time_now() - s.built) : -1LL);
	PUT("# HELP bulwark_index_generation Snapshots published since start.\n"
	    "# TYPE bulwark_index_generation counter\n"
	    "bulwark_index_generation %lu\n", bw_index_holder_generation(api->holder));
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
	rc = bw_taxii_post_gate(w->st, req, resp);
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
	struct timespec t0, t1;
	enum endpoint ep;
	char pbuf[129], mbuf[16], cbuf[64];
	size_t si;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(path, "/healthz") == 0) {
		ep = EP_HEALTHZ;
		set_static(resp, 200, "text/plain; charset=utf-8", "ok\n");
	} else if (strcmp(path, "/metrics") == 0) {
		ep = EP_METRICS;
		handle_metrics(api, resp);
	} else if (strcmp(path, "/v1/check") == 0) {
		ep = EP_CHECK;
		handle_check(api, req, resp, &ri);
	} else if (strcmp(path, "/v1/gate") == 0) {
		ep = EP_GATE;
		handle_gate(api, req, resp, &ri);
	} else if (bw_taxii_path(path)) {
		/* TAXII 2.1 (net/taxii.c): authenticates and answers by itself */
		struct worker *w = borrow(api);
		ep = EP_OTHER;
		bw_taxii_handle(w->st, api->psl, req, resp, ri.tenant, &ri.key_id);
		give_back(api, w);
	} else {
		ep = EP_OTHER;
		set_static(resp, 404, "application/json", "{\"error\":\"not found\"}");
	}
	for (si = 0; si < NSTATUS && statuses[si] != resp->status; si++)
		;
	atomic_fetch_add_explicit(&api->requests[ep][si], 1, memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!api->cfg.no_request_log)
		log_line(api, "level=info event=request method=%s path=%s status=%d tenant=%s key=%lld client=%s duration_us=%ld",
			 log_safe(bw_http_method(req), mbuf, sizeof(mbuf)),
			 log_safe(path, pbuf, sizeof(pbuf)), resp->status, ri.tenant, ri.key_id,
			 bw_http_client(req, cbuf, sizeof(cbuf)),
			 (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000));
}
