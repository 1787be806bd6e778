/*
 * api.h - the daemon's HTTP API: /healthz, /metrics and the real-time
 * check GET /v1/check?domain=|ip=|url=, answered from the in-memory index
 * under the TLP rights of the caller's API key, and GET /v1/gate for nginx
 * auth_request (204 allow, 403 deny) about the client address, which is
 * the TCP peer, or the X-Real-IP header when the TCP peer is a configured
 * trusted proxy.
 *
 * The index (src/index) holds merged data: one entry per indicator with the
 * union of the tags of all its active records, whatever their TLP.  So the
 * index is only the fast "is anything listed here" step; for each indicator
 * it matches, the check reads that indicator's active records from the
 * store and keeps those the tenant may see (bw_tenant_may_see: exact TLP
 * levels, recipients from record_recipient).  An indicator with no visible
 * record is not reported, and the tags and confidence reported are those of
 * the visible records only: the check is never a side door around TLP.
 *
 * The snapshot is built from the store at start and rebuilt by a background
 * thread when SQLite's data_version shows another connection committed (or
 * once an hour, for expiries), then published through the holder: requests
 * never wait for a rebuild.
 *
 * Each request borrows a worker (its own store connection, prepared
 * statements and index reader) from a pool sized to the HTTP threads.
 */
#ifndef BW_NET_API_H
#define BW_NET_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/http.h"

struct bw_api;

/* Limits on the check's query value. */
#define BW_API_VALUE_MAX 2048
/* The longest Authorization header looked at. */
#define BW_API_AUTH_MAX 256

struct bw_api_config {
	const char *db_path;   /* the store (created if missing) */
	unsigned workers;      /* concurrent requests: the HTTP threads */
	unsigned refresh_ms;   /* how often data_version is read; 0: 1000 */
	bw_http_logger logger; /* one line per request and event; may be NULL */
	void *log_ctx;
	int no_request_log;    /* events only, no line per request */
	/* GET /v1/gate believes X-Real-IP only from a TCP peer in these
	 * prefixes (copied by bw_api_new); none: it judges the TCP peer */
	const struct bw_http_prefix *trusted_proxies;
	size_t ntrusted_proxies;
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

/* The bw_http_handler of the daemon (ctx is the struct bw_api).
 * Thread-safe. */
void bw_api_handle(void *ctx, const struct bw_http_request *req,
		   struct bw_http_response *resp);

/* The check itself, without HTTP, for tests: what country (a tenant's
 * code) may see of the value of kind "domain", "ip" or "url".  *json gets
 * the JSON body, allocated by jansson (free it with jansson's free
 * function: free() unless json_set_alloc_funcs changed it), and *status
 * the HTTP status (200, 400 for a bad value, 503 without a snapshot).
 * Thread-safe. */
int bw_api_check(struct bw_api *api, const char *country, const char *kind,
		 const char *value, char **json, int *status,
		 struct bw_err *err);

/* Rebuilds and publishes the snapshot now (the refresh thread does this by
 * itself); for tests that wrote to the store. */
int bw_api_refresh(struct bw_api *api, struct bw_err *err);

/* Indicators in the current snapshot. */
size_t bw_api_indicators(struct bw_api *api);

#endif
