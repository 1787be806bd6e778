/*
 * lean.c - the lean HTTP/1.1 listener of the check endpoints (see lean.h
 * for what it accepts and why it exists).
 *
 * Parsing works on the connection's input buffer: the end of the headers
 * is looked for first (remembering how far it was looked for, so a request
 * arriving in pieces is scanned once), and only a complete request is
 * parsed, in place: NULs end the method, path, names and values, and the
 * query arguments are decoded where they stand ('+' is a space, %XX a
 * byte, a malformed escape stays as sent, as libmicrohttpd does), so the
 * request costs no allocation.
 *
 * Each thread runs one epoll loop over the listening socket (level-
 * triggered, EPOLLEXCLUSIVE: one thread is woken per new connection), an
 * eventfd that says stop, and its own connections, which are edge-triggered
 * so that they are served in the order their requests arrived: level-
 * triggered epoll puts every connection it reported back at the head of
 * its ready list, ahead of those whose requests came in meanwhile, so at
 * saturation a request arriving just after a wake-up waited two passes
 * over the connections instead of one (bench/check: p99 1.6-1.8x the mean
 * latency, against 1.1x for nginx, which is edge-triggered).  A readable
 * connection gets recv until a read comes back short (nothing more waits:
 * more input makes a new edge) or it must wait for output; the complete
 * requests in its buffer are answered in order with one send each (the
 * body copied behind the headers up to INLINE_BODY bytes; a larger one
 * goes as a second piece of one sendmsg).  The headers of a 200 JSON
 * answer up to its Content-Length are kept per loop and rebuilt with the
 * Date.  What the socket does not take is copied into the connection's
 * output buffer, the connection waits for EPOLLOUT instead of EPOLLIN, and
 * the handler's release and done run at once either way.  Once a second
 * each loop refreshes its Date text and closes its connections idle for
 * idle_timeout seconds.
 */
#include "net/lean.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/mem.h"

#define ACCEPT_BATCH 64
#define JSON "application/json"
#define EVENTS 128
/* Status line and headers of one answer. */
#define HEAD_MAX 1024
/* A body up to this size is copied behind the headers and sent with them
 * by one send(): cheaper in the kernel than sendmsg's msghdr and iovec
 * (bench/check's answers are about 90 bytes). */
#define INLINE_BODY 3072

/* ---- parsing ------------------------------------------------------------ */

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Decodes s in place ('+' a space, %XX a byte) and NUL-terminates it. */
static void
unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		int hi, lo;
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%' && (hi = bw_hex_digit((unsigned char)s[1])) >= 0 &&
			   (lo = bw_hex_digit((unsigned char)s[2])) >= 0) {
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* 1 if the comma-separated list v holds token t (case-insensitive). */
static int
has_token(const char *v, const char *t)
{
	size_t tl = strlen(t);

	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (strncasecmp(v, t, tl) == 0 &&
		    (v[tl] == '\0' || v[tl] == ',' || v[tl] == ' ' || v[tl] == '\t'))
			return 1;
		while (*v && *v != ',')
			v++;
	}
	return 0;
}

/* The query string q (NUL-terminated, in place) into req's arguments;
 * 0, or 414 with too many. */
static int
parse_query(char *q, struct bw_lean_req *req)
{
	while (*q) {
		char *amp = strchr(q, '&'), *eq;
		if (amp)
			*amp = '\0';
		if (*q) {
			if (req->nargs == BW_LEAN_ARGS_MAX)
				return 414;
			eq = strchr(q, '=');
			if (eq) {
				*eq = '\0';
				unescape(eq + 1);
			}
			unescape(q);
			req->args[req->nargs].name = q;
			req->args[req->nargs].value = eq ? eq + 1 : NULL;
			req->nargs++;
		}
		if (amp == NULL)
			break;
		q = amp + 1;
	}
	return 0;
}

/* One header line [p, end) (without its CRLF, NUL at end) into req;
 * 0 or a status. */
static int
parse_header(char *p, char *end, struct bw_lean_req *req, int *body)
{
	char *colon = p, *v;

	while (colon < end && is_tchar((unsigned char)*colon))
		colon++;
	if (colon == p || colon == end || *colon != ':')
		return 400; /* empty name, a blank or a control in it, or no ':' */
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (req->nheaders == BW_LEAN_HEADERS_MAX)
		return 431;
	req->headers[req->nheaders].name = p;
	req->headers[req->nheaders].value = v;
	req->nheaders++;
	/* the names that matter, by length first */
	if (colon - p == 17 && strcasecmp(p, "Transfer-Encoding") == 0) {
		*body = 1;
	} else if (colon - p == 14 && strcasecmp(p, "Content-Length") == 0) {
		if (*v == '\0')
			return 400;
		for (; *v; v++) {
			if (*v < '0' || *v > '9')
				return 400;
			if (*v != '0')
				*body = 1;
		}
	} else if (colon - p == 10 && strcasecmp(p, "Connection") == 0 &&
		   has_token(v, "close")) {
		req->keep_alive = 0;
	}
	return 0;
}

/* The request line [p, end) (NUL at end); 0 or a status. */
static int
parse_line(char *p, char *end, struct bw_lean_req *req)
{
	char *sp1 = memchr(p, ' ', (size_t)(end - p)), *sp2, *q;

	if (sp1 == NULL)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) != NULL)
		return 400;
	*sp1 = *sp2 = '\0';
	req->method = p;
	if (strcmp(p, "GET") != 0 && strcmp(p, "HEAD") != 0) {
		for (char *m = p; *m; m++)
			if (!is_tchar((unsigned char)*m))
				return 400;
		return 405;
	}
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		req->keep_alive = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		req->keep_alive = 0;
	else if (strncmp(sp2 + 1, "HTTP/", 5) == 0)
		return 505;
	else
		return 400;
	if (sp1[1] != '/')
		return 400; /* origin-form only */
	req->path = sp1 + 1;
	q = strchr(sp1 + 1, '?');
	if (q) {
		*q = '\0';
		return parse_query(q + 1, req);
	}
	return 0;
}

/* 1 if none of the 8 bytes at p is a control byte (below 0x20) or DEL:
 * a word at a time, the bytes from 0x80 counting as plain (obs-text). */
static int
plain8(const char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t x, ascii, del;

	memcpy(&x, p, 8);
	ascii = ~x & highs; /* the high bit of each byte below 0x80 */
	/* a byte below 0x20 (with its high bit clear) borrows into its high
	 * bit; one from 0x20 to 0x7f does not */
	if (((x & ~highs) - 0x20 * ones) & ascii)
		return 0;
	del = x ^ (0x7f * ones); /* DEL becomes the zero byte */
	return ((del - ones) & ~del & highs) == 0;
}

int
bw_lean_parse(char *buf, size_t len, size_t cap, size_t *scan,
	      struct bw_lean_req *req, size_t *used, int *status)
{
	size_t from = *scan > 3 ? *scan - 3 : 0, end, i;
	char *hend = NULL, *p, *line_end;
	int body = 0, st;

	*used = 0;
	*status = 0;
	/* the end of the headers: each LF, looked back from */
	for (p = buf + from; p < buf + len && (p = memchr(p, '\n', (size_t)(buf + len - p)));
	     p++)
		if (p - buf >= 3 && p[-1] == '\r' && p[-2] == '\n' && p[-3] == '\r') {
			hend = p - 3;
			break;
		}
	if (hend == NULL) {
		*scan = len;
		if (len >= cap) {
			*status = 431;
			return -1;
		}
		return 0;
	}
	end = (size_t)(hend - buf) + 4;
	/* CR and LF only as CRLF; no other control byte but HTAB, no DEL */
	for (i = 0; i < end - 2; i++) {
		unsigned char c;
		if (i + 8 <= end - 2 && plain8(buf + i)) {
			i += 7; /* eight printable bytes: the common case */
			continue;
		}
		c = (unsigned char)buf[i];
		if ((unsigned char)(c - 0x20) < 0x5f || c >= 0x80)
			continue; /* printable ASCII or obs-text: the common case */
		if (c == '\r') {
			if (buf[i + 1] != '\n')
				goto bad;
			i++;
			/* a header line may not start with a blank (folding) */
			if (buf[i + 1] == ' ' || buf[i + 1] == '\t')
				goto bad;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			goto bad;
		}
	}
	memset(req, 0, offsetof(struct bw_lean_req, headers));
	req->nargs = 0;
	req->client = NULL;
	*used = end;
	p = buf;
	line_end = memchr(p, '\r', end); /* each CR is followed by LF, checked above */
	*line_end = '\0';
	st = parse_line(p, line_end, req);
	if (st) {
		*status = st;
		return -1;
	}
	p = line_end + 2;
	while (p < buf + end - 2) {
		line_end = memchr(p, '\r', (size_t)(buf + end - p));
		*line_end = '\0';
		st = parse_header(p, line_end, req, &body);
		if (st) {
			*status = st;
			return -1;
		}
		p = line_end + 2;
	}
	if (body) {
		*status = 400; /* the listener reads no body */
		return -1;
	}
	return 1;
bad:
	*used = end;
	*status = 400;
	return -1;
}

const char *
bw_lean_header(const struct bw_lean_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

const char *
bw_lean_arg(const struct bw_lean_req *req, const char *name, unsigned *count)
{
	const char *first = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0) {
			if (n++ == 0)
				first = req->args[i].value;
		}
	if (count)
		*count = n;
	return first;
}

/* ---- the server --------------------------------------------------------- */

struct conn {
	int fd;
	char *in;
	size_t in_len, scan;
	char *out;           /* what the socket did not take, or NULL */
	size_t out_len, out_off;
	int closing;         /* close once out is sent */
	int linger;          /* answered and shut for writing: input dropped */
	time_t last;         /* last progress, CLOCK_MONOTONIC seconds */
	char client[BW_HTTP_ADDR_MAX];
	struct conn *prev, *next;
};

struct loop {
	struct bw_lean *l;
	int ep;
	pthread_t th;
	int started;
	struct conn *conns;
	time_t sec;          /* of date and the last idle sweep */
	char date[40];
	size_t date_len;
	/* the headers of a 200 application/json answer up to its
	 * Content-Length, the commonest (rebuilt with date) */
	char json200[160];
	size_t json200_len;
};

struct bw_lean {
	struct bw_lean_config cfg;
	int lfd, evfd;
	uint16_t port;
	atomic_uint nconns;
	struct loop *loops;
	unsigned nloops;
};

static void
logf_(struct bw_lean *l, const char *what, int e)
{
	char line[256];

	if (l->cfg.logger == NULL)
		return;
	snprintf(line, sizeof(line), "level=error event=check_listener error=\"%s: %s\"", what,
		 strerror(e));
	l->cfg.logger(l->cfg.ctx, line);
}

static time_t
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static void
set_date(struct loop *lp)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(lp->date, sizeof(lp->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	lp->date_len = strlen(lp->date);
	snprintf(lp->json200, sizeof(lp->json200), "HTTP/1.1 200 OK\r\nDate: %s\r\n"
		 "Content-Type: " JSON "\r\nCache-Control: no-store\r\n", lp->date);
	lp->json200_len = strlen(lp->json200);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void
conn_close(struct loop *lp, struct conn *c)
{
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub(&lp->l->nconns, 1);
	bw_free(c->in);
	bw_free(c->out);
	bw_free(c);
}

/* Sets what c waits for (EPOLLIN or EPOLLOUT, edge-triggered); epoll
 * reports at once what is ready already. */
static int
conn_want(struct loop *lp, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = c};

	return epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The status line and headers being written (at most HEAD_MAX bytes,
 * then room for a body of up to INLINE_BODY): appended piece by piece,
 * without printf; headers too long set over. */
struct head {
	char b[HEAD_MAX + INLINE_BODY];
	size_t n;
	int over;
};

static void
put(struct head *h, const char *s, size_t n)
{
	if (h->over || n > HEAD_MAX - h->n) {
		h->over = 1;
		return;
	}
	memcpy(h->b + h->n, s, n);
	h->n += n;
}

#define PUT_LIT(h, s) put((h), (s), sizeof(s) - 1)

static void
put_str(struct head *h, const char *s)
{
	put(h, s, strlen(s));
}

static void
put_num(struct head *h, size_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(h, d + i, sizeof(d) - i);
}

static void
put_header(struct head *h, const char *name, const char *value)
{
	put_str(h, name);
	PUT_LIT(h, ": ");
	put_str(h, value);
	PUT_LIT(h, "\r\n");
}

/* Sends r on c (no body for HEAD or 204); what is not taken now is kept
 * in c->out.  Returns 0, or -1 if the connection is to be dropped. */
static int
conn_send(struct loop *lp, struct conn *c, const struct bw_http_response *r, int head)
{
	struct head hd;
	struct iovec iov[2];
	struct msghdr msg;
	size_t hl, bl = (head || r->status == 204) ? 0 : r->len, total, sent;
	ssize_t n;

	hd.n = 0;
	hd.over = 0;
	if (r->status == 200 && r->content_type && strcmp(r->content_type, JSON) == 0 &&
	    !(r->header_name && r->header_value) && !(r->header2_name && r->header2_value)) {
		/* the same bytes as below, kept since the last tick */
		put(&hd, lp->json200, lp->json200_len);
	} else {
		PUT_LIT(&hd, "HTTP/1.1 ");
		put_num(&hd, r->status >= 100 && r->status <= 999 ? (size_t)r->status : 500);
		PUT_LIT(&hd, " ");
		put_str(&hd, reason(r->status));
		PUT_LIT(&hd, "\r\nDate: ");
		put(&hd, lp->date, lp->date_len);
		PUT_LIT(&hd, "\r\n");
		if (r->content_type && r->status != 204)
			put_header(&hd, "Content-Type", r->content_type);
		PUT_LIT(&hd, "Cache-Control: no-store\r\n");
		if (r->header_name && r->header_value)
			put_header(&hd, r->header_name, r->header_value);
		if (r->header2_name && r->header2_value)
			put_header(&hd, r->header2_name, r->header2_value);
	}
	if (r->status != 204) {
		PUT_LIT(&hd, "Content-Length: ");
		put_num(&hd, r->len);
		PUT_LIT(&hd, "\r\n");
	}
	if (c->closing)
		PUT_LIT(&hd, "Connection: close\r\n");
	PUT_LIT(&hd, "\r\n");
	if (hd.over)
		return -1; /* headers beyond HEAD_MAX: not with the API's answers */
	hl = hd.n;
	total = hl + bl;
	if (bl <= INLINE_BODY) {
		/* one piece: the body behind the headers */
		if (bl)
			memcpy(hd.b + hl, r->body, bl);
		hl = total;
		bl = 0;
		n = send(c->fd, hd.b, total, MSG_NOSIGNAL);
	} else {
		iov[0].iov_base = hd.b;
		iov[0].iov_len = hl;
		iov[1].iov_base = (void *)(uintptr_t)r->body;
		iov[1].iov_len = bl;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	sent = n > 0 ? (size_t)n : 0;
	if (sent == total)
		return 0;
	c->out = bw_malloc(total - sent);
	if (c->out == NULL)
		return -1;
	c->out_len = total - sent;
	c->out_off = 0;
	if (sent < hl) {
		memcpy(c->out, hd.b + sent, hl - sent);
		if (bl)
			memcpy(c->out + hl - sent, r->body, bl);
	} else {
		memcpy(c->out, r->body + (sent - hl), total - sent);
	}
	return conn_want(lp, c, EPOLLOUT) == 0 ? 0 : -1;
}

static void
static_answer(struct bw_http_response *r, int status, const char *json)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->content_type = JSON;
	r->body = json;
	r->len = strlen(json);
}

/* Answers the complete requests in c's buffer, while nothing is waiting
 * to be sent; returns -1 if c is to be dropped. */
static int
conn_process(struct loop *lp, struct conn *c)
{
	struct bw_lean *l = lp->l;
	struct bw_lean_req req;
	struct bw_http_response resp;
	size_t used;
	int rc, status, head, ok;

	while (c->out == NULL && !c->closing) {
		rc = bw_lean_parse(c->in, c->in_len, l->cfg.max_header_bytes, &c->scan, &req,
				   &used, &status);
		if (rc == 0)
			return 0;
		head = 0;
		if (rc < 0) {
			c->closing = 1;
			static_answer(&resp, status,
				      status == 405 ? "{\"error\":\"method not allowed\"}"
				      : status == 431 ? "{\"error\":\"request headers too large\"}"
				      : status == 414 ? "{\"error\":\"too many query arguments\"}"
				      : status == 505 ? "{\"error\":\"HTTP/1.1 or HTTP/1.0 only\"}"
						      : "{\"error\":\"bad request\"}");
			if (status == 405) {
				resp.header_name = "Allow";
				resp.header_value = "GET, HEAD";
			}
			ok = conn_send(lp, c, &resp, 0) == 0;
			return ok ? 0 : -1;
		}
		req.client = c->client;
		head = strcmp(req.method, "HEAD") == 0;
		if (!req.keep_alive)
			c->closing = 1;
		ok = 0;
		for (const char *const *p = l->cfg.paths; p && *p; p++)
			if (strcmp(*p, req.path) == 0)
				ok = 1;
		if (ok) {
			memset(&resp, 0, sizeof(resp));
			resp.status = 500;
			l->cfg.handler(l->cfg.ctx, &req, &resp);
		} else {
			static_answer(&resp, 404, "{\"error\":\"not found on the check listener\"}");
		}
		rc = conn_send(lp, c, &resp, head);
		if (resp.release)
			resp.release((void *)(uintptr_t)resp.body);
		if (resp.done)
			resp.done(resp.done_ctx);
		if (rc)
			return -1;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		c->scan = 0;
		c->last = lp->sec;
	}
	return 0;
}

/* The last answer is sent: shut for writing, and the rest of the input
 * read and dropped until the peer closes (or idle_timeout after the last
 * answer), so that closing with unread input does not reset the
 * connection before the peer read the answer (a 400 or 431 in particular).
 * Returns -1 if c was closed instead. */
static int
conn_finish(struct loop *lp, struct conn *c)
{
	if (shutdown(c->fd, SHUT_WR) != 0) {
		conn_close(lp, c);
		return -1;
	}
	c->linger = 1;
	return 0;
}

/* Reads what c's socket holds (edge-triggered: until a short read, or
 * until c waits for output) and answers it. */
static void
on_readable(struct loop *lp, struct conn *c)
{
	size_t cap = lp->l->cfg.max_header_bytes, room;
	ssize_t n;

	for (;;) {
		if (c->linger) {
			n = recv(c->fd, c->in, cap, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				conn_close(lp, c);
			if (n < (ssize_t)cap)
				return;
			continue;
		}
		if (c->in_len >= cap) {
			conn_close(lp, c); /* cannot happen: answered 431 */
			return;
		}
		room = cap - c->in_len;
		n = recv(c->fd, c->in + c->in_len, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(lp, c);
			return;
		}
		c->in_len += (size_t)n;
		if (conn_process(lp, c) != 0) {
			conn_close(lp, c);
			return;
		}
		if (c->closing && c->out == NULL) {
			if (conn_finish(lp, c) != 0)
				return;
			continue; /* drop what else is there */
		}
		/* waiting for output: the input is read when it has gone
		 * (conn_want reports it); a short read: nothing more waits */
		if (c->out != NULL || (size_t)n < room)
			return;
	}
}

static void
on_writable(struct loop *lp, struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(lp, c);
		return;
	}
	c->out_off += (size_t)n;
	c->last = lp->sec;
	if (c->out_off < c->out_len)
		return;
	bw_free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (conn_want(lp, c, EPOLLIN) != 0)
		conn_close(lp, c);
	else if (c->closing)
		(void)conn_finish(lp, c);
	else if (conn_process(lp, c) != 0)
		conn_close(lp, c);
	else if (c->closing && c->out == NULL)
		(void)conn_finish(lp, c);
}

static void
on_accept(struct loop *lp)
{
	struct bw_lean *l = lp->l;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct conn *c;
		int one = 1;
		int fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				logf_(l, "accept", errno);
			return;
		}
		if (atomic_fetch_add(&l->nconns, 1) >= l->cfg.max_connections) {
			atomic_fetch_sub(&l->nconns, 1);
			close(fd);
			continue;
		}
		c = bw_calloc(1, sizeof(*c));
		if (c == NULL || (c->in = bw_malloc(l->cfg.max_header_bytes)) == NULL) {
			bw_free(c);
			atomic_fetch_sub(&l->nconns, 1);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last = lp->sec;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		snprintf(c->client, sizeof(c->client), "-");
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->client,
				  sizeof(c->client));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->client,
				  sizeof(c->client));
		c->next = lp->conns;
		if (lp->conns)
			lp->conns->prev = c;
		lp->conns = c;
		ev.events = EPOLLIN | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(lp, c);
	}
}

/* Once a second: the Date text, and the idle connections closed. */
static void
tick(struct loop *lp)
{
	time_t now = mono_sec();
	struct conn *c, *next;

	if (now == lp->sec)
		return;
	lp->sec = now;
	set_date(lp);
	for (c = lp->conns; c; c = next) {
		next = c->next;
		/* more than idle_timeout whole seconds: the clock is coarse */
		if (now - c->last > (time_t)lp->l->cfg.idle_timeout)
			conn_close(lp, c);
	}
}

static void *
loop_main(void *arg)
{
	struct loop *lp = arg;
	struct bw_lean *l = lp->l;
	struct epoll_event ev[EVENTS];

	for (;;) {
		int n;

		/* before the wait: a connection it closes is in no event */
		tick(lp);
		n = epoll_wait(lp->ep, ev, EVENTS, 1000);
		if (n < 0 && errno != EINTR) {
			logf_(l, "epoll_wait", errno);
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &l->evfd)
				goto out;
			if (p == &l->lfd) {
				on_accept(lp);
			} else {
				struct conn *c = p;
				if (ev[i].events & (EPOLLERR | EPOLLHUP) && c->out == NULL &&
				    !(ev[i].events & EPOLLIN))
					conn_close(lp, c);
				else if (c->linger)
					on_readable(lp, c);
				else if (c->out)
					on_writable(lp, c);
				else
					on_readable(lp, c);
			}
		}
	}
out:
	while (lp->conns)
		conn_close(lp, lp->conns);
	return NULL;
}

int
bw_lean_start(const struct bw_lean_config *cfg, struct bw_lean **out, struct bw_err *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct bw_lean *l;
	int one = 1, rc;

	*out = NULL;
	if (cfg->handler == NULL || cfg->threads < 1 || cfg->threads > BW_HTTP_THREADS_MAX)
		return bw_err_set(err, BW_EINVAL, "check listener: threads 1 to %d",
				  BW_HTTP_THREADS_MAX);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, cfg->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->port);
		sl = sizeof(*s6);
	} else {
		return bw_err_set(err, BW_EINVAL, "check listener: '%s' is not a numeric address",
				  cfg->addr);
	}
	l = bw_calloc(1, sizeof(*l));
	if (l == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	l->cfg = *cfg;
	if (l->cfg.max_connections == 0)
		l->cfg.max_connections = 1024;
	if (l->cfg.idle_timeout == 0)
		l->cfg.idle_timeout = 30;
	if (l->cfg.max_header_bytes == 0)
		l->cfg.max_header_bytes = BW_HTTP_HEADER_BYTES_DEFAULT;
	if (l->cfg.max_header_bytes < BW_HTTP_HEADER_BYTES_MIN ||
	    l->cfg.max_header_bytes > BW_HTTP_HEADER_BYTES_MAX) {
		bw_free(l);
		return bw_err_set(err, BW_EINVAL, "check listener: max_header_bytes %d to %d",
				  BW_HTTP_HEADER_BYTES_MIN, BW_HTTP_HEADER_BYTES_MAX);
	}
	atomic_init(&l->nconns, 0);
	l->evfd = -1;
	l->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->lfd < 0) {
		rc = bw_err_set(err, BW_EIO, "check listener: socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(l->lfd, 1024) != 0) {
		rc = bw_err_set(err, BW_EIO, "cannot listen on %s port %u: %s", cfg->addr,
				(unsigned)cfg->port, strerror(errno));
		goto fail;
	}
	sl = sizeof(ss);
	getsockname(l->lfd, (struct sockaddr *)&ss, &sl);
	l->port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->loops = bw_calloc(cfg->threads, sizeof(*l->loops));
	if (l->evfd < 0 || l->loops == NULL) {
		rc = bw_err_set(err, BW_EIO, "check listener: out of resources");
		goto fail;
	}
	for (unsigned i = 0; i < cfg->threads; i++) {
		struct loop *lp = &l->loops[i];
		struct epoll_event ev;

		lp->l = l;
		lp->sec = mono_sec();
		set_date(lp);
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		l->nloops = i + 1;
		if (lp->ep < 0) {
			rc = bw_err_set(err, BW_EIO, "check listener: epoll: %s", strerror(errno));
			goto fail;
		}
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &l->lfd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, l->lfd, &ev) != 0) {
			rc = bw_err_set(err, BW_EIO, "check listener: epoll: %s", strerror(errno));
			goto fail;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = &l->evfd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, l->evfd, &ev) != 0) {
			rc = bw_err_set(err, BW_EIO, "check listener: epoll: %s", strerror(errno));
			goto fail;
		}
		if (pthread_create(&lp->th, NULL, loop_main, lp) != 0) {
			rc = bw_err_set(err, BW_EIO, "check listener: cannot start a thread");
			goto fail;
		}
		lp->started = 1;
	}
	*out = l;
	return BW_OK;
fail:
	bw_lean_stop(l);
	return rc;
}

uint16_t
bw_lean_port(const struct bw_lean *l)
{
	return l->port;
}

void
bw_lean_stop(struct bw_lean *l)
{
	uint64_t one = 1;

	if (l == NULL)
		return;
	if (l->evfd >= 0 && write(l->evfd, &one, sizeof(one)) < 0)
		logf_(l, "stopping", errno);
	for (unsigned i = 0; i < l->nloops; i++) {
		if (l->loops[i].started)
			pthread_join(l->loops[i].th, NULL);
		if (l->loops[i].ep >= 0)
			close(l->loops[i].ep);
	}
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->evfd >= 0)
		close(l->evfd);
	bw_free(l->loops);
	bw_free(l);
}
