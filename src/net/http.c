/*
 * http.c - the HTTP server on libmicrohttpd.
 *
 * MHD runs its own thread pool (MHD_OPTION_THREAD_POOL_SIZE, each thread
 * with its own epoll loop when available: MHD_USE_AUTO; with one thread,
 * MHD's single internal polling thread) and calls the
 * access handler below once per request with the headers read; a request
 * without a body is answered at once.  A POST under body_prefix is first
 * put to the body gate (the key, the path), then its declared
 * Content-Length is checked and reserved against max_body_total, and its
 * body gathered into one buffer of that size across MHD's calls; the
 * handler sees it on the last call, and the buffer is freed when MHD says
 * the request is over (NOTIFY_COMPLETED, also for a client that went away
 * half-way).  Answering on the first call (401, 411, 413, 503) tells MHD
 * not to read the body and to close the connection.  The limits that make
 * a slow or greedy client cheap are MHD's: at most max_connections
 * connections, idle_timeout seconds of silence, and max_header_bytes (8
 * KiB by default, see http.h) of memory per connection for the request line and
 * headers (a request beyond that is answered 431/413 by MHD and closed).
 *
 * TLS is MHD's own (MHD_USE_TLS over GnuTLS) with the certificate and key
 * given in memory; MHD hands them to GnuTLS while starting, and the server
 * keeps its copies until stop, then wipes the key's.
 *
 * MHD reports its own errors through a printf-style logger; they go to the
 * configured logger as one line each, and while starting also into the
 * struct so that bw_http_start can say why MHD refused (e.g. an address in
 * use).
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/dynlib.h"
#include "core/mem.h"
#include "net/lean.h"

/* libmicrohttpd (and GnuTLS under it) is opened by the first server
 * started (core/dynlib.h): commands other than serve start without it. */
#define MHD_FUNCTIONS(F) F(MHD_add_response_header) F(MHD_create_response_from_buffer) \
	F(MHD_destroy_response) F(MHD_get_connection_info) F(MHD_get_connection_values) \
	F(MHD_get_daemon_info) F(MHD_is_feature_supported) F(MHD_lookup_connection_value) \
	F(MHD_queue_response) F(MHD_start_daemon) F(MHD_stop_daemon)

BW_DYNLIB_DEFINE(mhd, MHD_FUNCTIONS, "the HTTP server",
		 "libmicrohttpd.so.12 libmicrohttpd.so");

/* Reusable responses (bw_http_response.reusable) kept: the static answers
 * of the API (not listed, 204, 403, 401, ...) are a handful. */
#define RESP_CACHE 32

struct cached {
	int status;
	const char *body, *type, *h1n, *h1v, *h2n, *h2v;
	size_t len;
	struct MHD_Response *r;
};

struct bw_http {
	struct MHD_Daemon *d;
	struct bw_lean *lean; /* the check listener, or NULL */
	struct bw_http_config cfg;
	char *cert, *key; /* copies of the PEM texts, or NULL */
	uint16_t port;
	/* while MHD_start_daemon runs, its threads may already log */
	atomic_int starting;
	pthread_mutex_t start_mu;
	char start_error[256];
	/* bytes of POST bodies held now, against max_body_total */
	atomic_size_t body_bytes;
	/* reusable responses, built once each: an entry is published with a
	 * release store into a free slot under cache_mu and stays until
	 * stop, so readers scan without a lock */
	struct cached *_Atomic cache[RESP_CACHE];
	pthread_mutex_t cache_mu;
};

struct bw_http_request {
	struct MHD_Connection *c;     /* NULL on the check listener */
	const struct bw_lean_req *lr; /* the check listener's request */
	const char *method;
	const char *url;
	const char *body;
	size_t body_len;
	int body_rc;
};

/* A POST being read: con_cls of its connection until the request ends
 * (for a request without a body con_cls is the server itself). */
struct upload {
	struct bw_http *h;
	char *buf;
	size_t len, want, reserved;
	int too_large;
};

int
bw_http_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
bw_http_tls_supported(void)
{
	return bw_dynlib_ready(&mhd_lib, NULL) == BW_OK &&
	       mhd.MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int
bw_http_prefix_parse(const char *text, struct bw_http_prefix *out,
		     struct bw_err *err)
{
	char buf[BW_HTTP_ADDR_MAX];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;
	unsigned maxbits;
	char *end;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(buf))
		return bw_err_set(err, BW_EINVAL, "'%.80s' is not an address or CIDR", text);
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else {
		return bw_err_set(err, BW_EINVAL, "'%.80s' is not an address or CIDR", text);
	}
	bits = maxbits;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return bw_err_set(err, BW_EINVAL, "'%.80s': bad prefix length", text);
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > maxbits)
			return bw_err_set(err, BW_EINVAL, "'%.80s': bad prefix length", text);
	}
	for (unsigned i = (unsigned)bits; i < maxbits; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8)))
			return bw_err_set(err, BW_EINVAL,
					  "'%.80s': bits set beyond the prefix length", text);
	out->bits = (unsigned)bits;
	return BW_OK;
}

static int
prefix_has(const struct bw_http_prefix *p, int family, const unsigned char *a)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (p->family != family)
		return 0;
	if (memcmp(p->addr, a, full) != 0)
		return 0;
	return rest == 0 || ((p->addr[full] ^ a[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

int
bw_http_prefix_match(const struct bw_http_prefix *p, size_t n, const char *addr)
{
	unsigned char a[16];
	int family;

	if (inet_pton(AF_INET, addr, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		family = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)a)) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (prefix_has(&p[i], family, a))
			return 1;
	return 0;
}

int
bw_http_parse_listen(const char *text, struct bw_http_config *cfg,
		     struct bw_err *err)
{
	const char *colon, *host;
	size_t hlen;
	char port[8], buf[BW_HTTP_ADDR_MAX];
	struct in_addr a4;
	struct in6_addr a6;
	char *end;
	unsigned long p;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return bw_err_set(err, BW_EINVAL, "listen address: write IPv6 as [ADDR]:PORT");
		host = text + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return bw_err_set(err, BW_EINVAL, "listen address: ADDR:PORT expected");
		host = text;
		hlen = (size_t)(colon - text);
		if (memchr(host, ':', hlen) != NULL)
			return bw_err_set(err, BW_EINVAL, "listen address: write IPv6 as [ADDR]:PORT");
	}
	if (hlen == 0 || hlen >= sizeof(buf))
		return bw_err_set(err, BW_EINVAL, "listen address: bad address");
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port))
		return bw_err_set(err, BW_EINVAL, "listen address: bad port");
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] < '0' || colon[1] > '9' || p > 65535)
		return bw_err_set(err, BW_EINVAL, "listen address: bad port '%s'", colon + 1);
	if (strcmp(buf, "localhost") == 0)
		snprintf(buf, sizeof(buf), "127.0.0.1");
	if (inet_pton(AF_INET, buf, &a4) != 1 && inet_pton(AF_INET6, buf, &a6) != 1)
		return bw_err_set(err, BW_EINVAL,
				  "listen address: '%s' is not a numeric IPv4 or IPv6 address", buf);
	snprintf(cfg->addr, sizeof(cfg->addr), "%s", buf);
	cfg->port = (uint16_t)p;
	return BW_OK;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct bw_http *h = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (atomic_load(&h->starting)) {
		/* the first line says why (later ones say what failed after) */
		pthread_mutex_lock(&h->start_mu);
		if (h->start_error[0] == '\0')
			snprintf(h->start_error, sizeof(h->start_error), "%s", line);
		pthread_mutex_unlock(&h->start_mu);
	}
	if (h->cfg.logger)
		h->cfg.logger(h->cfg.ctx, line);
}

/* An MHD response for r: its body copied, or (persistent) pointed to. */
static struct MHD_Response *
make_response(const struct bw_http_response *r, int persistent)
{
	struct MHD_Response *resp;

	resp = mhd.MHD_create_response_from_buffer(r->len, (void *)(uintptr_t)r->body,
						   persistent ? MHD_RESPMEM_PERSISTENT
							      : MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return NULL;
	if (r->content_type)
		mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->header_name && r->header_value)
		mhd.MHD_add_response_header(resp, r->header_name, r->header_value);
	if (r->header2_name && r->header2_value)
		mhd.MHD_add_response_header(resp, r->header2_name, r->header2_value);
	return resp;
}

static int
cached_is(const struct cached *e, const struct bw_http_response *r)
{
	return e->status == r->status && e->body == r->body && e->len == r->len &&
	       e->type == r->content_type && e->h1n == r->header_name &&
	       e->h1v == r->header_value && e->h2n == r->header2_name &&
	       e->h2v == r->header2_value;
}

/* The kept response for r (built and kept now if new), or NULL when the
 * cache is full or memory ran out. */
static struct MHD_Response *
cached_response(struct bw_http *h, const struct bw_http_response *r)
{
	struct cached *e;
	size_t i;

	for (i = 0; i < RESP_CACHE; i++) {
		e = atomic_load_explicit(&h->cache[i], memory_order_acquire);
		if (e == NULL)
			break;
		if (cached_is(e, r))
			return e->r;
	}
	pthread_mutex_lock(&h->cache_mu);
	for (i = 0; i < RESP_CACHE; i++) {
		e = atomic_load_explicit(&h->cache[i], memory_order_relaxed);
		if (e == NULL || cached_is(e, r))
			break;
	}
	if (i < RESP_CACHE && e == NULL && (e = bw_calloc(1, sizeof(*e))) != NULL) {
		e->status = r->status;
		e->body = r->body;
		e->len = r->len;
		e->type = r->content_type;
		e->h1n = r->header_name;
		e->h1v = r->header_value;
		e->h2n = r->header2_name;
		e->h2v = r->header2_value;
		e->r = make_response(r, 1);
		if (e->r == NULL) {
			bw_free(e);
			e = NULL;
		} else {
			atomic_store_explicit(&h->cache[i], e, memory_order_release);
		}
	}
	pthread_mutex_unlock(&h->cache_mu);
	return i < RESP_CACHE && e ? e->r : NULL;
}

/* Queues r on c: a kept response when r is reusable (and h given), else
 * one made for this request. */
static enum MHD_Result
send_response(struct bw_http *h, struct MHD_Connection *c,
	      const struct bw_http_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (h && r->reusable && r->release == NULL && (resp = cached_response(h, r)) != NULL)
		return mhd.MHD_queue_response(c, (unsigned)r->status, resp);
	resp = make_response(r, 0);
	if (resp == NULL)
		return MHD_NO;
	ret = mhd.MHD_queue_response(c, (unsigned)r->status, resp);
	mhd.MHD_destroy_response(resp);
	return ret;
}

/* After a response was queued: its body released, its done called. */
static void
finish(struct bw_http_response *r)
{
	if (r->release)
		r->release((void *)(uintptr_t)r->body);
	if (r->done)
		r->done(r->done_ctx);
}

/* Ends an upload: gives its reservation back and frees it. */
static void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	if (u->reserved)
		atomic_fetch_sub(&u->h->body_bytes, u->reserved);
	bw_free(u->buf);
	bw_free(u);
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	if (*con_cls != NULL && *con_cls != cls)
		upload_free(*con_cls);
	*con_cls = NULL;
}

/* A short answer of the server itself (the connection is closed after it
 * when the body was not read). */
static enum MHD_Result
send_plain(struct MHD_Connection *c, int status, const char *json)
{
	struct bw_http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.content_type = "application/json";
	resp.body = json;
	resp.len = strlen(json);
	return send_response(NULL, c, &resp);
}

/* A refusal of a POST under body_prefix, in the words of cfg.refusal
 * when there is one, else json. */
static enum MHD_Result
send_refusal(struct bw_http *h, struct MHD_Connection *c, int status, const char *json)
{
	struct bw_http_response resp;
	enum MHD_Result ret;

	if (h->cfg.refusal == NULL)
		return send_plain(c, status, json);
	memset(&resp, 0, sizeof(resp));
	resp.status = 500;
	h->cfg.refusal(h->cfg.ctx, status, &resp);
	ret = send_response(h, c, &resp);
	if (resp.release)
		resp.release((void *)(uintptr_t)resp.body);
	return ret;
}

/* The Content-Length of c's request; 0 if there is none or it is not a
 * plain decimal number. */
static int
content_length(struct MHD_Connection *c, size_t *out)
{
	const char *v = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t n = 0;

	if (v == NULL || *v == '\0' || strlen(v) > 19)
		return 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return 0;
		n = n * 10 + (size_t)(*v - '0');
	}
	*out = n;
	return 1;
}

/* The first call of a POST under body_prefix: checks the length and
 * reserves memory; *answer is set when the server answered by itself,
 * *u is the new upload otherwise. */
static enum MHD_Result
upload_start(struct bw_http *h, struct MHD_Connection *c, struct upload **u,
	     int *answered)
{
	size_t n = 0, total = h->cfg.max_body_total ? h->cfg.max_body_total
						    : 4 * h->cfg.max_body_bytes;

	*u = NULL;
	*answered = 1;
	if (!content_length(c, &n))
		return send_refusal(h, c, MHD_HTTP_LENGTH_REQUIRED,
				  "{\"error\":\"a POST needs a Content-Length\"}\n");
	*u = bw_calloc(1, sizeof(**u));
	if (*u == NULL)
		return MHD_NO;
	(*u)->h = h;
	(*u)->want = n;
	*answered = 0;
	if (n > h->cfg.max_body_bytes) {
		(*u)->too_large = 1;
		return MHD_YES;
	}
	if (atomic_fetch_add(&h->body_bytes, n) + n > total) {
		atomic_fetch_sub(&h->body_bytes, n);
		upload_free(*u);
		*u = NULL;
		*answered = 1;
		return send_refusal(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "{\"error\":\"too many uploads at once, try again later\"}\n");
	}
	(*u)->reserved = n;
	if (n > 0 && ((*u)->buf = bw_malloc(n)) == NULL) {
		upload_free(*u);
		*u = NULL;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url,
	       const char *method, const char *version, const char *upload_data,
	       size_t *upload_data_size, void **con_cls)
{
	struct bw_http *h = cls;
	struct bw_http_request req;
	struct bw_http_response resp;
	struct upload *u = NULL;
	enum MHD_Result ret;

	(void)version;
	/* MHD calls first with the headers, then once per piece of body, then
	 * with no data left.  Answering only on the last call keeps the
	 * connection alive (MHD closes a connection answered before the
	 * request was read to its end). */
	if (*con_cls == NULL) {
		int answered;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 || h->cfg.body_prefix == NULL ||
		    strncmp(url, h->cfg.body_prefix, strlen(h->cfg.body_prefix)) != 0) {
			*con_cls = h;
			return MHD_YES;
		}
		if (h->cfg.body_gate) {
			memset(&req, 0, sizeof(req));
			memset(&resp, 0, sizeof(resp));
			req.c = c;
			req.method = method;
			req.url = url;
			resp.status = 500;
			if (h->cfg.body_gate(h->cfg.ctx, &req, &resp)) {
				ret = send_response(h, c, &resp);
				finish(&resp);
				return ret;
			}
		}
		ret = upload_start(h, c, &u, &answered);
		if (answered || u == NULL)
			return ret;
		*con_cls = u;
		if (!u->too_large)
			return MHD_YES;
		/* too large: answered now, before any of the body is read */
	} else if (*con_cls != h) {
		u = *con_cls;
		if (u->too_large) {
			*upload_data_size = 0; /* answered already: dropped */
			return MHD_YES;
		}
		if (*upload_data_size != 0) {
			size_t n = *upload_data_size;
			if (n > u->want - u->len) /* MHD keeps to Content-Length */
				return MHD_NO;
			memcpy(u->buf + u->len, upload_data, n);
			u->len += n;
			*upload_data_size = 0;
			return MHD_YES;
		}
	}
	memset(&resp, 0, sizeof(resp));
	if (u == NULL && ((strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
			   strcmp(method, MHD_HTTP_METHOD_HEAD) != 0 &&
			   !(strcmp(method, MHD_HTTP_METHOD_POST) == 0 && h->cfg.empty_post_prefix &&
			     strncmp(url, h->cfg.empty_post_prefix,
				     strlen(h->cfg.empty_post_prefix)) == 0)) ||
			  *upload_data_size != 0)) {
		/* a body is not read: this answer closes the connection */
		static const char body[] = "{\"error\":\"method not allowed\"}\n";
		resp.status = MHD_HTTP_METHOD_NOT_ALLOWED;
		resp.content_type = "application/json";
		resp.body = body;
		resp.len = sizeof(body) - 1;
		resp.header_name = MHD_HTTP_HEADER_ALLOW;
		resp.header_value = "GET, HEAD";
		return send_response(h, c, &resp);
	}
	req.c = c;
	req.lr = NULL;
	req.method = method;
	req.url = url;
	req.body = u ? u->buf : NULL;
	req.body_len = u ? u->len : 0;
	req.body_rc = u && u->too_large ? BW_ELIMIT : BW_OK;
	resp.status = 500;
	h->cfg.handler(h->cfg.ctx, &req, &resp);
	ret = send_response(h, c, &resp);
	finish(&resp);
	return ret;
}

/* The check listener's handler: its request behind the same interface. */
static void
lean_handler(void *ctx, const struct bw_lean_req *lr, struct bw_http_response *resp)
{
	struct bw_http *h = ctx;
	struct bw_http_request req;

	memset(&req, 0, sizeof(req));
	req.lr = lr;
	req.method = lr->method;
	req.url = lr->path;
	h->cfg.handler(h->cfg.ctx, &req, resp);
}

/* Starts the check listener of h->cfg. */
static int
start_lean(struct bw_http *h, size_t hbytes, struct bw_err *err)
{
	struct bw_lean_config lc;

	if (!bw_http_is_loopback(h->cfg.check_addr) && !h->cfg.allow_plain_remote)
		return bw_err_set(err, BW_EINVAL,
				  "refusing the check listener on %s, which is not a loopback address: it speaks plain HTTP and API keys would travel in clear (--insecure-plain-http overrides)",
				  h->cfg.check_addr);
	memset(&lc, 0, sizeof(lc));
	memcpy(lc.addr, h->cfg.check_addr, sizeof(lc.addr));
	lc.port = h->cfg.check_port;
	lc.threads = h->cfg.threads;
	lc.max_connections = h->cfg.max_connections;
	lc.idle_timeout = h->cfg.idle_timeout;
	lc.max_header_bytes = hbytes;
	lc.paths = h->cfg.check_paths;
	lc.handler = lean_handler;
	lc.logger = h->cfg.logger;
	lc.ctx = h;
	return bw_lean_start(&lc, &h->lean, err);
}

int
bw_http_start(const struct bw_http_config *cfg, struct bw_http **out,
	      struct bw_err *err)
{
	struct bw_http *h;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem opt[4]; /* the thread pool and TLS, as needed */
	size_t nopt = 0;
	size_t hbytes = cfg->max_header_bytes ? cfg->max_header_bytes : BW_HTTP_HEADER_BYTES_DEFAULT;
	int use_tls = cfg->tls_cert_pem != NULL || cfg->tls_key_pem != NULL, rc;

	*out = NULL;
	if (cfg->handler == NULL || cfg->threads < 1 || cfg->threads > BW_HTTP_THREADS_MAX)
		return bw_err_set(err, BW_EINVAL, "threads: 1 to %d", BW_HTTP_THREADS_MAX);
	if ((rc = bw_dynlib_ready(&mhd_lib, err)) != BW_OK)
		return rc;
	if (cfg->body_prefix && (cfg->max_body_bytes < 1 || cfg->max_body_bytes > BW_HTTP_BODY_MAX ||
				 (cfg->max_body_total && cfg->max_body_total < cfg->max_body_bytes)))
		return bw_err_set(err, BW_EINVAL, "max_body_bytes: 1 to %zu, and no more than"
				  " max_body_total", BW_HTTP_BODY_MAX);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		return bw_err_set(err, BW_EINVAL, "'%s' is not a numeric address", cfg->addr);
	}
	if (hbytes < BW_HTTP_HEADER_BYTES_MIN || hbytes > BW_HTTP_HEADER_BYTES_MAX)
		return bw_err_set(err, BW_EINVAL, "max_header_bytes: %d to %d",
				  BW_HTTP_HEADER_BYTES_MIN, BW_HTTP_HEADER_BYTES_MAX);
	if (use_tls && (cfg->tls_cert_pem == NULL || cfg->tls_key_pem == NULL))
		return bw_err_set(err, BW_EINVAL, "TLS needs both a certificate and a key");
	if (use_tls && !bw_http_tls_supported())
		return bw_err_set(err, BW_EINVAL, "this libmicrohttpd was built without TLS support");
	if (!use_tls && !bw_http_is_loopback(cfg->addr) && !cfg->allow_plain_remote)
		return bw_err_set(err, BW_EINVAL,
				  "refusing plain HTTP on %s, which is not a loopback address: API keys would travel in clear (configure TLS, or --insecure-plain-http overrides)",
				  cfg->addr);
	h = bw_calloc(1, sizeof(*h));
	if (h == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	pthread_mutex_init(&h->start_mu, NULL);
	pthread_mutex_init(&h->cache_mu, NULL);
	for (size_t i = 0; i < RESP_CACHE; i++)
		atomic_init(&h->cache[i], NULL);
	h->cfg = *cfg;
	h->cfg.tls_cert_pem = h->cfg.tls_key_pem = NULL;
	atomic_init(&h->body_bytes, 0);
	memset(opt, 0, sizeof(opt));
	/* one thread is MHD's own polling thread; a "pool" of one is
	 * refused with a warning */
	if (cfg->threads > 1) {
		opt[nopt].option = MHD_OPTION_THREAD_POOL_SIZE;
		opt[nopt].value = (intptr_t)cfg->threads;
		opt[nopt].ptr_value = NULL;
		nopt++;
	}
	if (use_tls) {
		h->cert = bw_strdup(cfg->tls_cert_pem);
		h->key = bw_strdup(cfg->tls_key_pem);
		if (h->cert == NULL || h->key == NULL) {
			bw_http_stop(h);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
		flags |= MHD_USE_TLS;
		opt[nopt].option = MHD_OPTION_HTTPS_MEM_CERT;
		opt[nopt].value = 0;
		opt[nopt].ptr_value = h->cert;
		nopt++;
		opt[nopt].option = MHD_OPTION_HTTPS_MEM_KEY;
		opt[nopt].value = 0;
		opt[nopt].ptr_value = h->key;
		nopt++;
	}
	opt[nopt].option = MHD_OPTION_END;
	opt[nopt].value = 0;
	opt[nopt].ptr_value = NULL;
	atomic_store(&h->starting, 1);
	/* the logger first, so that MHD reports even option errors through it */
	h->d = mhd.MHD_start_daemon(flags, cfg->port, NULL, NULL, access_handler, h,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    MHD_OPTION_CONNECTION_LIMIT,
				    (unsigned)(cfg->max_connections ? cfg->max_connections : 1024),
				    MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned)(cfg->idle_timeout ? cfg->idle_timeout : 30),
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, hbytes,
				    MHD_OPTION_NOTIFY_COMPLETED, request_completed, h,
				    MHD_OPTION_ARRAY, opt,
				    MHD_OPTION_END);
	atomic_store(&h->starting, 0);
	if (h->d == NULL) {
		rc = bw_err_set(err, BW_EIO, "cannot listen on %s port %u: %s", cfg->addr,
				    (unsigned)cfg->port,
				    h->start_error[0] ? h->start_error : "libmicrohttpd refused");
		bw_http_stop(h);
		return rc;
	}
	info = mhd.MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info && info->port ? info->port : cfg->port;
	if (cfg->check_addr[0]) {
		rc = start_lean(h, hbytes, err);
		if (rc) {
			bw_http_stop(h);
			return rc;
		}
	}
	*out = h;
	return BW_OK;
}

uint16_t
bw_http_port(const struct bw_http *h)
{
	return h->port;
}

uint16_t
bw_http_check_port(const struct bw_http *h)
{
	return h->lean ? bw_lean_port(h->lean) : 0;
}

void
bw_http_stop(struct bw_http *h)
{
	if (h == NULL)
		return;
	bw_lean_stop(h->lean);
	if (h->d)
		mhd.MHD_stop_daemon(h->d);
	for (size_t i = 0; i < RESP_CACHE; i++) {
		struct cached *e = atomic_load(&h->cache[i]);
		if (e) {
			mhd.MHD_destroy_response(e->r);
			bw_free(e);
		}
	}
	pthread_mutex_destroy(&h->cache_mu);
	pthread_mutex_destroy(&h->start_mu);
	if (h->key)
		explicit_bzero(h->key, strlen(h->key));
	bw_free(h->key);
	bw_free(h->cert);
	bw_free(h);
}

const char *
bw_http_method(const struct bw_http_request *r)
{
	return r->method;
}

const char *
bw_http_path(const struct bw_http_request *r)
{
	return r->url;
}

struct arg_count {
	const char *name;
	unsigned n;
};

static enum MHD_Result
count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct arg_count *ac = cls;

	(void)kind;
	(void)value;
	if (key && strcmp(key, ac->name) == 0)
		ac->n++;
	return MHD_YES;
}

const char *
bw_http_query(const struct bw_http_request *r, const char *name, unsigned *count)
{
	if (r->lr)
		return bw_lean_arg(r->lr, name, count);
	if (count) {
		struct arg_count ac = {name, 0};
		mhd.MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, count_arg, &ac);
		*count = ac.n;
	}
	return mhd.MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, name);
}

struct arg_each {
	bw_http_arg_fn fn;
	void *ctx;
	int rc;
};

static enum MHD_Result
each_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct arg_each *ae = cls;

	(void)kind;
	ae->rc = ae->fn(ae->ctx, key ? key : "", value);
	return ae->rc ? MHD_NO : MHD_YES;
}

int
bw_http_query_each(const struct bw_http_request *r, bw_http_arg_fn fn, void *ctx)
{
	struct arg_each ae = {fn, ctx, 0};

	if (r->lr) {
		for (size_t i = 0; i < r->lr->nargs && ae.rc == 0; i++)
			ae.rc = fn(ctx, r->lr->args[i].name, r->lr->args[i].value);
		return ae.rc;
	}
	mhd.MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, each_arg, &ae);
	return ae.rc;
}

int
bw_http_body(const struct bw_http_request *r, const char **body, size_t *len)
{
	*body = r->body_rc ? NULL : r->body;
	*len = r->body_rc ? 0 : r->body_len;
	return r->body_rc;
}

const char *
bw_http_header(const struct bw_http_request *r, const char *name)
{
	if (r->lr)
		return bw_lean_header(r->lr, name);
	return mhd.MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

const char *
bw_http_client(const struct bw_http_request *r, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	if (r->lr) {
		snprintf(buf, cap, "%s", r->lr->client ? r->lr->client : "-");
		return buf;
	}
	ci = mhd.MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci ? ci->client_addr : NULL;
	snprintf(buf, cap, "-");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  buf, (socklen_t)cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)cap);
	return buf;
}

void
bw_http_free_dumped(void *p)
{
	json_free_t f = free;

	json_get_alloc_funcs(NULL, &f);
	f(p);
}

void
bw_http_set_dumped(struct bw_http_response *resp, int status, const char *type,
		   char *text, const char *fallback_type, const char *fallback)
{
	if (text == NULL) {
		resp->status = 500;
		resp->content_type = fallback_type;
		resp->body = fallback;
		resp->len = strlen(fallback);
		resp->release = NULL;
		return;
	}
	resp->status = status;
	resp->content_type = type;
	resp->body = text;
	resp->len = strlen(text);
	resp->release = bw_http_free_dumped;
}
