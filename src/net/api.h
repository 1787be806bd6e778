/*
 * api.h - the daemon's HTTP API: /healthz, /metrics and the real-time
 * check GET /v1/check?domain=|ip=|url=, answered from memory under the TLP
 * rights of the caller's API key, and GET /v1/gate for nginx auth_request
 * (204 allow, 403 deny) about the client address, which is the TCP peer,
 * or the X-Real-IP header when the TCP peer is a configured trusted proxy.
 * TAXII (net/taxii.h) is routed here too.
 *
 * The check endpoints never read the store per request.  They use:
 *   - the index snapshot (src/index), the fast "is anything listed here"
 *     step, with its view attached (net/view.h): which records of each
 *     indicator each tenant may see (exact TLP levels, recipients) and
 *     which indicators are national to each tenant.  An indicator with no
 *     visible record is not reported, and the tags and confidence reported
 *     are those of the visible records only: the check is never a side
 *     door around TLP.  The verdict says per match whether it is national
 *     to the caller's tenant.
 *   - the key table (share/tenant.h, bw_tenant_keys): every key's hash,
 *     kind and revocation in memory.  Tenant keys and gateway keys both
 *     pass the check endpoints; a gateway key on TAXII gets 403.
 *
 * The snapshot and its view are built from one read transaction of the
 * store at start and rebuilt by a background thread when what they were
 * built from changed: when SQLite's data_version shows another connection
 * committed, the thread compares the index's source (schema 8's index_gen,
 * the newest record id: bw_index_fresh) and the digest of the view's other
 * inputs (bw_view_inputs: tenants, scopes, sightings) with the snapshot's,
 * and rebuilds only if they differ (at most once a second), or when a
 * record in it expires under an indicator another record keeps listed (an
 * indicator whose records have all expired is dropped from the answers at
 * once, with no rebuild: bw_index_lapsed); commits that change none of
 * them (the daemon's
 * own outbox, incidents, actions, audit, keys) cost no rebuild.  The new
 * snapshot is published through the holder (epoch reclamation): requests
 * never wait for a rebuild.  The thread sleeps on an inotify watch of the
 * store's files (store/watch.h) between writes.  The same thread keeps
 * the snapshot file `bulwark match` loads (DB.index) current: it saves a
 * changed snapshot once the store has been quiet, at most once per
 * index_save_interval, outside the build lock (see api.c).  The key
 * table is reloaded on every data_version change before the (slower) index
 * rebuild, so that a new or revoked key takes effect within one refresh
 * interval (refresh_ms) whatever the size of the index; it is published by
 * reference counting (each worker keeps a reference to the table it last
 * used and swaps it when the generation moves).
 *
 * Each request borrows a worker (its index reader and key table reference,
 * an output buffer, and a store connection for TAXII) from a pool sized to
 * the HTTP threads.
 */
#ifndef BW_NET_API_H
#define BW_NET_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/http.h"

struct bw_api;
struct bw_taxii_config;

/* How long the store must be quiet before a changed snapshot is saved
 * (or the save interval, when shorter). */
#define BW_API_SAVE_QUIET_MS 5000

/* Limits on the check's query value. */
#define BW_API_VALUE_MAX 2048
/* The longest Authorization header looked at. */
#define BW_API_AUTH_MAX 256

struct bw_api_config {
	const char *db_path;   /* the store (created if missing) */
	unsigned workers;      /* concurrent requests: the HTTP threads of
				* both listeners (1..2 x BW_HTTP_THREADS_MAX) */
	unsigned refresh_ms;   /* how often data_version is read after a
				* write (always, without a watch); 0: 250 */
	/* Where the refresh thread saves the index snapshot for `bulwark
	 * match` (src/index/index.h, bw_index_save; NULL: never), and the
	 * shortest time between two saves in seconds (0: never).  A snapshot
	 * is saved when it differs from the last one saved, the store has
	 * been quiet for BW_API_SAVE_QUIET_MS (or the change has waited a
	 * whole interval) and the store has not changed since it was built. */
	const char *index_path;
	int64_t index_save_interval;
	bw_http_logger logger; /* one line per request and event; may be NULL */
	void *log_ctx;
	int no_request_log;    /* events only, no line per request */
	/* GET /v1/gate believes X-Real-IP only from a TCP peer in these
	 * prefixes (copied by bw_api_new); none: it judges the TCP peer */
	const struct bw_http_prefix *trusted_proxies;
	size_t ntrusted_proxies;
	/* TAXII's limits and geo data (net/taxii.h); kept, not copied, for
	 * the life of the API; NULL: the defaults.  Its geo also places
	 * addresses for the check's "national". */
	const struct bw_taxii_config *taxii;
};

/* Opens the store connections, builds the first snapshot and starts the
 * refresh thread. */
int bw_api_new(const struct bw_api_config *cfg, struct bw_api **out,
	       struct bw_err *err);

/* Stops the refresh thread and closes everything.  No request may be in
 * bw_api_handle any more.  NULL is a no-op. */
void bw_api_free(struct bw_api *api);

/* The body_gate of the server (net/http.h; ctx is the struct bw_api): a
 * POST to TAXII is authenticated and checked before its body is read.
 * Thread-safe. */
int bw_api_body_gate(void *ctx, const struct bw_http_request *req,
		     struct bw_http_response *resp);

/* The paths the check listener serves (bw_http_config.check_paths):
 * /v1/check, /v1/gate and /healthz; NULL-terminated. */
extern const char *const bw_api_check_paths[];

/* The bw_http_handler of the daemon (ctx is the struct bw_api).
 * Thread-safe. */
void bw_api_handle(void *ctx, const struct bw_http_request *req,
		   struct bw_http_response *resp);

/* The check itself, without HTTP, for tests: what country (a tenant's
 * code) may see of the value of kind "domain", "ip" or "url".  *json gets
 * the JSON body (free it with bw_free), and *status the HTTP status (200,
 * 400 for a bad value, 503 without a snapshot).  The body is
 *   {"listed":BOOL,"matches":[{"indicator":VALUE,"type":TYPE,
 *    "tags":[...],"confidence":N|null,"national":BOOL},...]}
 * with the matches in the index's order (the most specific first) and the
 * tags sorted as strings.  Thread-safe. */
int bw_api_check(struct bw_api *api, const char *country, const char *kind,
		 const char *value, char **json, int *status,
		 struct bw_err *err);

/* Reloads the keys, rebuilds and publishes the snapshot now (the refresh
 * thread does this by itself); for tests that wrote to the store. */
int bw_api_refresh(struct bw_api *api, struct bw_err *err);

/* Indicators in the current snapshot. */
size_t bw_api_indicators(struct bw_api *api);

#endif
