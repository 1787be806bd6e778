/*
 * http.h - the HTTP server of the daemon: libmicrohttpd behind a small
 * request/response interface, so that the API modules never see MHD.
 *
 * The server runs a pool of threads (each with its own epoll or poll loop
 * over the listening socket), keeps connections alive (HTTP/1.1), caps
 * connections, idle time and request header memory, and calls one handler
 * per request on the thread that read it.  GET and HEAD requests reach
 * the handler, and POST requests to paths under body_prefix (TAXII's
 * inbound collections); a request with a body elsewhere, or another
 * method, is answered 405 by the server itself.
 *
 * Bodies: a POST must say its Content-Length (411 otherwise, answered by
 * the server).  One over max_body_bytes reaches the handler at once,
 * before any of it is read, with bw_http_body() saying BW_ELIMIT, so the
 * handler can answer 413 in its own words; the connection is closed after
 * that answer.  The bodies held in memory at once are capped by
 * max_body_total (a POST beyond it is answered 503 by the server), so many
 * slow uploads cannot exhaust memory; a slow client is cut off by the idle
 * timeout like any other.
 *
 * TLS: given a certificate chain and a private key (PEM, in memory) the
 * server speaks only HTTPS (libmicrohttpd over GnuTLS); plain HTTP to that
 * port fails the handshake.  Plain HTTP carries API keys in clear, so
 * without TLS the server refuses an address that is not loopback
 * (127.0.0.0/8, ::1) unless the configuration says so explicitly
 * (allow_plain_remote).
 *
 * The check endpoints can also be served by a lean listener of their own
 * (check_addr; net/lean.h), which bench/check showed to cost much less per
 * request than libmicrohttpd; the handler sees the same request interface
 * from both.
 *
 * Threads: start and stop from one thread; the handler runs concurrently
 * on up to `threads` threads (twice that with the check listener) and
 * must be thread-safe.
 */
#ifndef BW_NET_HTTP_H
#define BW_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct bw_http;
struct bw_http_request; /* valid only during the handler call */

#define BW_HTTP_ADDR_MAX 64
#define BW_HTTP_THREADS_MAX 256
/* Memory for one connection's request line and headers (max_header_bytes). */
#define BW_HTTP_HEADER_BYTES_MIN 4096
#define BW_HTTP_HEADER_BYTES_MAX (1024 * 1024)
/* The default is small on purpose: libmicrohttpd 0.9.75 zeroes a
 * connection's whole memory pool before each request on a kept-alive
 * connection, so its size is paid per request (32 KiB cost the check API
 * about 1.5 us, a tenth of its CPU time; bench/check).  8 KiB is nginx's
 * limit for one header line, far beyond any real API or TAXII request. */
#define BW_HTTP_HEADER_BYTES_DEFAULT (8 * 1024)
/* The largest max_body_bytes accepted. */
#define BW_HTTP_BODY_MAX ((size_t)1 << 30)

/* The response a handler fills.  The server copies body after the handler
 * returns and then calls release(body) if release is not NULL, so body may
 * be static text or an allocation the handler hands over. */
struct bw_http_response {
	int status;
	const char *content_type;
	const char *body;
	size_t len;
	void (*release)(void *body);
	/* one extra header, or NULL (e.g. WWW-Authenticate) */
	const char *header_name, *header_value;
	/* a second one, or NULL (TAXII's X-TAXII-Date-Added-First/Last);
	 * header values are copied before release(body) is called */
	const char *header2_name, *header2_value;
	/* called with done_ctx once the response is queued (body and
	 * headers copied), after release; NULL: nothing.  A handler that
	 * answers from a buffer it borrowed gives the buffer back here. */
	void (*done)(void *done_ctx);
	void *done_ctx;
	/* 1: body, content_type and the headers are static text, valid while
	 * the server runs, and the same pointers always mean the same
	 * response (release must be NULL): the server builds such a response
	 * once and reuses it (a few dozen are kept; beyond that they are
	 * built per request as usual) */
	int reusable;
};

/* Sets resp to a body made by json_dumps (text, which resp then owns and
 * frees with jansson's allocator), or, when text is NULL (the dump ran out
 * of memory), to a 500 with the static body fallback of type
 * fallback_type. */
void bw_http_set_dumped(struct bw_http_response *resp, int status,
			const char *type, char *text, const char *fallback_type,
			const char *fallback);

/* Frees text made by json_dumps (jansson's allocator, which main may have
 * set); NULL is a no-op. */
void bw_http_free_dumped(void *text);

typedef void (*bw_http_handler)(void *ctx, const struct bw_http_request *req,
				struct bw_http_response *resp);

/* Called for a POST under body_prefix as soon as its headers are in,
 * before any of its body is read or memory is set aside for it: returns 0
 * to go on (the handler is called once the body is in), or fills resp and
 * returns non-zero to answer now (e.g. 401), in which case the body is
 * never read and the connection is closed after the answer. */
typedef int (*bw_http_gate)(void *ctx, const struct bw_http_request *req,
			    struct bw_http_response *resp);

/* Fills resp for an answer the server gives by itself to a POST under
 * body_prefix: 411 (no Content-Length) or 503 (max_body_total is held by
 * other uploads), so that it speaks the protocol of that prefix (TAXII's
 * error object). */
typedef void (*bw_http_refusal)(void *ctx, int status, struct bw_http_response *resp);

/* One line for the log, without a newline. */
typedef void (*bw_http_logger)(void *ctx, const char *line);

struct bw_http_config {
	char addr[BW_HTTP_ADDR_MAX]; /* numeric IPv4 or IPv6 */
	uint16_t port;               /* 0: any free port (see bw_http_port) */
	int allow_plain_remote;      /* listen in plain HTTP beyond loopback */
	unsigned threads;            /* 1..BW_HTTP_THREADS_MAX */
	unsigned max_connections;    /* 0: 1024 */
	unsigned idle_timeout;       /* seconds, 0: 30 */
	size_t max_header_bytes;     /* 0: BW_HTTP_HEADER_BYTES_DEFAULT */
	const char *body_prefix;     /* POST allowed under it; NULL: nowhere
				      * (kept, not copied: a static string) */
	size_t max_body_bytes;       /* largest POST body (1..BW_HTTP_BODY_MAX) */
	/* a POST without a body also reaches the handler under this prefix
	 * (an action such as an acknowledgement); NULL: nowhere (kept, not
	 * copied: a static string) */
	const char *empty_post_prefix;
	size_t max_body_total;       /* all bodies held at once; 0: 4 x max */
	/* TLS: both PEM texts (NUL-terminated) or neither; copied by
	 * bw_http_start, which wipes its copy of the key at stop */
	const char *tls_cert_pem, *tls_key_pem;
	/* The check listener (net/lean.h): a second, lean HTTP/1.1 listener
	 * on check_addr:check_port for the paths in check_paths only
	 * (NULL-terminated, kept), in plain HTTP, with the same handler,
	 * threads, connection and header limits; check_addr "" : none.  Under
	 * the same loopback rule as the main listener (allow_plain_remote),
	 * whatever the main listener's TLS. */
	char check_addr[BW_HTTP_ADDR_MAX];
	uint16_t check_port;          /* 0: any free port (bw_http_check_port) */
	const char *const *check_paths;
	bw_http_handler handler;
	bw_http_gate body_gate;      /* may be NULL */
	bw_http_refusal refusal;     /* may be NULL: a plain JSON error */
	bw_http_logger logger;       /* errors of the server itself; may be NULL */
	void *ctx;                   /* for both */
};

/* Parses "ADDR:PORT", "[V6ADDR]:PORT" or "localhost:PORT" into cfg's addr
 * and port; BW_EINVAL saying what is wrong otherwise.  Host names other
 * than localhost are refused (the daemon binds one numeric address). */
int bw_http_parse_listen(const char *text, struct bw_http_config *cfg,
			 struct bw_err *err);

/* 1 if addr (numeric) is a loopback address. */
int bw_http_is_loopback(const char *addr);

/* 1 if this libmicrohttpd was built with TLS (GnuTLS) support. */
int bw_http_tls_supported(void);

/* An address prefix (a CIDR, or one address as /32 or /128), for the
 * trusted proxies of the gate. */
struct bw_http_prefix {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;
};

/* Parses "192.0.2.0/24", "2001:db8::/32" or a bare address; BW_EINVAL
 * naming the text otherwise (bits beyond the prefix must be zero). */
int bw_http_prefix_parse(const char *text, struct bw_http_prefix *out,
			 struct bw_err *err);

/* 1 if the numeric address addr lies in one of the n prefixes (an
 * IPv4-mapped IPv6 address counts as its IPv4 address). */
int bw_http_prefix_match(const struct bw_http_prefix *p, size_t n,
			 const char *addr);

/* Starts serving; on success *out owns the running server. */
int bw_http_start(const struct bw_http_config *cfg, struct bw_http **out,
		  struct bw_err *err);

/* The port the server listens on (the chosen one when cfg.port was 0). */
uint16_t bw_http_port(const struct bw_http *h);

/* The check listener's port, 0 without one. */
uint16_t bw_http_check_port(const struct bw_http *h);

/* Stops accepting, closes every connection and joins the threads; a
 * handler running now finishes first.  NULL is a no-op. */
void bw_http_stop(struct bw_http *h);

/* ---- inside a handler --------------------------------------------------- */

const char *bw_http_method(const struct bw_http_request *r);
/* The path without the query string, as sent (not decoded). */
const char *bw_http_path(const struct bw_http_request *r);
/* A query argument, decoded; NULL if absent.  *count (if not NULL) gets
 * how many times the name occurs. */
const char *bw_http_query(const struct bw_http_request *r, const char *name,
			  unsigned *count);
/* Calls fn(ctx, name, value) for each query argument in the order sent
 * (value decoded, NULL for "?name" without "="); stops at the first call
 * that returns non-zero and returns that value, else 0. */
typedef int (*bw_http_arg_fn)(void *ctx, const char *name, const char *value);
int bw_http_query_each(const struct bw_http_request *r, bw_http_arg_fn fn,
		       void *ctx);
/* The body of a POST: BW_OK with *body and *len (NULL and 0 for an empty
 * body or another method; valid during the handler call), BW_ELIMIT if it
 * is larger than max_body_bytes (nothing of it was read). */
int bw_http_body(const struct bw_http_request *r, const char **body,
		 size_t *len);
/* A request header (case-insensitive name); NULL if absent. */
const char *bw_http_header(const struct bw_http_request *r, const char *name);
/* The TCP peer's address as text ("127.0.0.1"), into buf of cap bytes. */
const char *bw_http_client(const struct bw_http_request *r, char *buf,
			   size_t cap);

#endif
