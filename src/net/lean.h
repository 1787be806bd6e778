/*
 * lean.h - a small HTTP/1.1 keep-alive listener for the check endpoints
 * (/v1/check, /v1/gate, /healthz), beside libmicrohttpd, which keeps
 * serving everything (TAXII, metrics, TLS).
 *
 * Why: bench/check measured libmicrohttpd 0.9.75 at about the cost of a
 * whole nginx request for a static answer (it zeroes 12 KiB of connection
 * pool, allocates and frees the response and its headers, formats the
 * Date, per request), so with a real look-up on top the check could not
 * reach nginx's CPU per request, and in wrk's closed loop p99 follows CPU
 * per request.  This listener does the least HTTP/1.1 needs: one recv and
 * one send per request on a kept-alive connection, nothing allocated
 * per request, the Date formatted once a second.
 *
 * What it accepts: GET and HEAD with no body (a Content-Length other than
 * 0 or any Transfer-Encoding is answered 400 and the connection closed),
 * HTTP/1.1 (kept alive unless "Connection: close") and HTTP/1.0 (closed
 * after the answer), request line and headers together within
 * max_header_bytes (431 and closed beyond that), at most
 * BW_LEAN_HEADERS_MAX headers and BW_LEAN_ARGS_MAX query arguments (431 /
 * 414).  Lines end in CRLF; obsolete line folding, a bare CR or LF, a
 * control byte or a space in a header name are 400.  Pipelined requests
 * are answered in order, one answer in flight per connection.  Paths
 * outside cfg.paths get 404 from the listener itself.  Plain HTTP only:
 * the caller applies the same loopback rule as to the main listener.
 *
 * Limits: max_connections at once (one beyond is closed at accept),
 * idle_timeout seconds without a complete request or progress on an answer
 * (checked once a second), max_header_bytes per connection (its input
 * buffer, allocated at accept).  An answer the socket does not take at once
 * is copied and sent as the socket drains; the connection reads nothing
 * more meanwhile.
 *
 * Threads: `threads` event loops (epoll), each accepting from the one
 * listening socket (EPOLLEXCLUSIVE) and serving its own connections; the
 * handler runs on them concurrently and must be thread-safe.  Start and
 * stop from one thread.
 */
#ifndef BW_NET_LEAN_H
#define BW_NET_LEAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/http.h"

struct bw_lean;

#define BW_LEAN_HEADERS_MAX 64
#define BW_LEAN_ARGS_MAX 64

/* One parsed request: every pointer points into the connection's input
 * buffer (NUL-terminated, query arguments decoded in place), valid until
 * the handler returns. */
struct bw_lean_req {
	const char *method;  /* "GET" or "HEAD" */
	const char *path;    /* before '?', as sent */
	int keep_alive;      /* 0: close after the answer */
	size_t nheaders;
	struct {
		const char *name, *value; /* value without surrounding blanks */
	} headers[BW_LEAN_HEADERS_MAX];
	size_t nargs;
	struct {
		const char *name;  /* decoded */
		const char *value; /* decoded; NULL for "name" without '=' */
	} args[BW_LEAN_ARGS_MAX];
	const char *client;  /* the peer's address as text, set by the server */
};

/* Parses one request at the start of buf (len bytes of cap).  Returns 1
 * when a whole request is there (*used gets its length, buf's first *used
 * bytes were rewritten in place and req points into them), 0 when more
 * bytes are needed (buf untouched; *scan, which must be 0 for a new
 * request, remembers how far the end of the headers was looked for), or -1
 * for a request that gets *status (400, 405, 414, 431, 501, 505) and then
 * the connection closed.  Never reads beyond buf + len. */
int bw_lean_parse(char *buf, size_t len, size_t cap, size_t *scan,
		  struct bw_lean_req *req, size_t *used, int *status);

/* A header of req (name compared case-insensitively, the first one), or
 * NULL. */
const char *bw_lean_header(const struct bw_lean_req *req, const char *name);

/* The value of query argument name (the first one), or NULL; *count (if
 * not NULL) gets how many times it occurs. */
const char *bw_lean_arg(const struct bw_lean_req *req, const char *name,
			unsigned *count);

/* Fills resp for req; as bw_http_handler, with the release and done of
 * resp honoured once the answer was sent or copied. */
typedef void (*bw_lean_handler)(void *ctx, const struct bw_lean_req *req,
				struct bw_http_response *resp);

struct bw_lean_config {
	char addr[BW_HTTP_ADDR_MAX]; /* numeric IPv4 or IPv6 */
	uint16_t port;               /* 0: any free port (bw_lean_port) */
	unsigned threads;            /* 1..BW_HTTP_THREADS_MAX */
	unsigned max_connections;    /* 0: 1024 */
	unsigned idle_timeout;       /* seconds, 0: 30 */
	size_t max_header_bytes;     /* 0: BW_HTTP_HEADER_BYTES_DEFAULT */
	const char *const *paths;    /* served paths, NULL-terminated; kept */
	bw_lean_handler handler;
	bw_http_logger logger;       /* errors of the listener; may be NULL */
	void *ctx;
};

/* Binds, listens and starts the threads; *out owns the running listener. */
int bw_lean_start(const struct bw_lean_config *cfg, struct bw_lean **out,
		  struct bw_err *err);

/* The port listened on. */
uint16_t bw_lean_port(const struct bw_lean *l);

/* Stops the threads (a handler running now finishes first) and closes
 * every connection.  NULL is a no-op. */
void bw_lean_stop(struct bw_lean *l);

#endif
