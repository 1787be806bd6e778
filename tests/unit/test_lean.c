/*
 * test_lean.c - the check listener (net/lean.h): its parser on good,
 * partial, pipelined and hostile requests, and the running listener over
 * real sockets (keep-alive, pipelining, also beyond the input buffer,
 * requests in pieces, HEAD, 404, limits on headers, connections and idle
 * time), and through net/http.h
 * the same handler answering on both listeners.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "net/http.h"
#include "net/lean.h"
#include "tap.h"

/* parse: the whole of text as one buffer of cap bytes */
static int
parse(const char *text, size_t cap, char *buf, struct bw_lean_req *req, size_t *used,
      int *status)
{
	size_t scan = 0, len = strlen(text);

	memcpy(buf, text, len);
	return bw_lean_parse(buf, len, cap, &scan, req, used, status);
}

static void
test_parse_good(void)
{
	static const char r[] = "GET /v1/check?domain=a%2Eexample.com&x&&k=&sp=a+b%zz HTTP/1.1\r\n"
				"Host: localhost\r\n"
				"authorization:   Bearer KEY  \r\n"
				"Content-Length: 0\r\n"
				"\r\n"
				"GET /healthz HTTP/1.1\r\n\r\n";
	char buf[512];
	struct bw_lean_req req;
	size_t used = 0;
	int status = -1;
	unsigned n = 9;

	CHECK_INT(parse(r, sizeof(buf), buf, &req, &used, &status), 1);
	CHECK_STR(req.method, "GET");
	CHECK_STR(req.path, "/v1/check");
	CHECK_INT(req.keep_alive, 1);
	CHECK_INT(req.nheaders, 3);
	CHECK_STR(bw_lean_header(&req, "Authorization"), "Bearer KEY");
	CHECK_STR(bw_lean_header(&req, "HOST"), "localhost");
	CHECK(bw_lean_header(&req, "Cookie") == NULL);
	CHECK_INT(req.nargs, 4);
	CHECK_STR(bw_lean_arg(&req, "domain", &n), "a.example.com");
	CHECK_INT(n, 1);
	CHECK(bw_lean_arg(&req, "x", &n) == NULL);
	CHECK_INT(n, 1); /* present, without a value */
	CHECK_STR(bw_lean_arg(&req, "k", NULL), "");
	CHECK_STR(bw_lean_arg(&req, "sp", NULL), "a b%zz"); /* a bad escape stays */
	CHECK(bw_lean_arg(&req, "nope", &n) == NULL);
	CHECK_INT(n, 0);
	/* the second request follows the first */
	CHECK_INT(used, strlen(r) - strlen("GET /healthz HTTP/1.1\r\n\r\n"));
	{
		size_t scan = 0, used2 = 0;
		memmove(buf, buf + used, strlen(r) - used);
		CHECK_INT(bw_lean_parse(buf, strlen(r) - used, sizeof(buf), &scan, &req, &used2,
					&status), 1);
		CHECK_STR(req.path, "/healthz");
		CHECK_INT(req.nargs, 0);
		CHECK_INT(used2, strlen(r) - used);
	}
}

static void
test_parse_pieces(void)
{
	static const char r[] = "HEAD /v1/gate HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n";
	char buf[256];
	struct bw_lean_req req;
	size_t scan = 0, used = 0, len = strlen(r), i;
	int status = 0, rc = 0;

	/* one byte at a time: more is needed until the last byte */
	for (i = 1; i <= len; i++) {
		memcpy(buf, r, i);
		rc = bw_lean_parse(buf, i, sizeof(buf), &scan, &req, &used, &status);
		if (rc != 0)
			break;
		CHECK(memcmp(buf, r, i) == 0); /* untouched */
	}
	CHECK_INT(i, len);
	CHECK_INT(rc, 1);
	CHECK_STR(req.method, "HEAD");
	CHECK_INT(req.keep_alive, 0);
	/* HTTP/1.1 with Connection: close */
	CHECK_INT(parse("GET / HTTP/1.1\r\nconnection: CLOSE\r\n\r\n", sizeof(buf), buf, &req,
			&used, &status), 1);
	CHECK_INT(req.keep_alive, 0);
	CHECK_INT(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", sizeof(buf), buf, &req,
			&used, &status), 1);
	CHECK_INT(req.keep_alive, 1);
}

/* Every byte value at every position of an 8-byte word (the check runs a
 * word at a time): the controls but HTAB and DEL are refused, the rest
 * (obs-text included) kept as sent. */
static void
test_parse_bytes(void)
{
	char text[96], buf[256];
	struct bw_lean_req req;
	size_t used, scan, n;
	int status, rc, bad = 0;

	for (int c = 0; c < 256; c++) {
		if (c == '\r' || c == '\n')
			continue; /* CR and LF: the framing, tested above */
		for (size_t at = 0; at < 16; at++) {
			n = (size_t)snprintf(text, sizeof(text),
					     "GET / HTTP/1.1\r\nX-Long-Name: 0123456789abcdefghij\r\n\r\n");
			/* within the value, at each alignment; a byte from 0x80
			 * just before a blank as well (a carry across bytes) */
			text[30 + at] = (char)c;
			if (at > 0 && c >= 0x80)
				text[30 + at - 1] = ' ';
			memcpy(buf, text, n);
			scan = 0;
			status = 0;
			rc = bw_lean_parse(buf, n, sizeof(buf), &scan, &req, &used, &status);
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				if (rc != -1 || status != 400)
					bad++;
			} else if (rc != 1 || strlen(req.headers[0].value) != 20 ||
				   (unsigned char)req.headers[0].value[at + 1] != c) {
				bad++;
			}
		}
	}
	CHECK_INT(bad, 0);
}

static void
test_parse_hostile(void)
{
	static const struct {
		const char *text;
		int status;
	} bad[] = {
		{"GET / HTTP/1.1\n\r\n\r\n", 400},                 /* bare LF */
		{"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},        /* bare CR */
		{"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},     /* folding */
		{"GET / HTTP/1.1\r\nA b: c\r\n\r\n", 400},         /* blank in a name */
		{"GET / HTTP/1.1\r\nnocolon\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n: v\r\n\r\n", 400},            /* empty name */
		{"GET / HTTP/1.1\r\nA: \x01\r\n\r\n", 400},        /* a control byte */
		{"GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\n\r\n", 400},                  /* empty target */
		{"GET / HTTP/1.1 x\r\n\r\n", 400},
		{"GET http://a/ HTTP/1.1\r\n\r\n", 400},           /* not origin-form */
		{"GET / FTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"POST / HTTP/1.1\r\n\r\n", 405},
		{"G(T / HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400},
		{"GET / HTTP/1.1\r\nContent-Length: 0x0\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	};
	char buf[4096], big[8192];
	struct bw_lean_req req;
	size_t used, scan, n;
	int status;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		status = 0;
		CHECK_INT(parse(bad[i].text, sizeof(buf), buf, &req, &used, &status), -1);
		CHECK_INT(status, bad[i].status);
	}
	/* a NUL byte in a header */
	memcpy(buf, "GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24);
	scan = 0;
	CHECK_INT(bw_lean_parse(buf, 24, sizeof(buf), &scan, &req, &used, &status), -1);
	CHECK_INT(status, 400);
	/* headers that fill the buffer without ending: 431 */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	scan = 0;
	CHECK_INT(bw_lean_parse(big, 4096, 4096, &scan, &req, &used, &status), -1);
	CHECK_INT(status, 431);
	scan = 0;
	CHECK_INT(bw_lean_parse(big, 4095, 4096, &scan, &req, &used, &status), 0);
	CHECK_INT(scan, 4095);
	/* too many headers, too many arguments */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= BW_LEAN_HEADERS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "H%d: v\r\n", i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	scan = 0;
	CHECK_INT(bw_lean_parse(big, n, sizeof(big), &scan, &req, &used, &status), -1);
	CHECK_INT(status, 431);
	n = (size_t)snprintf(big, sizeof(big), "GET /?a=1");
	for (int i = 0; i < BW_LEAN_ARGS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "&a%d=%d", i, i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, " HTTP/1.1\r\n\r\n");
	scan = 0;
	CHECK_INT(bw_lean_parse(big, n, sizeof(big), &scan, &req, &used, &status), -1);
	CHECK_INT(status, 414);
}

/* ---- over sockets ------------------------------------------------------- */

static void
handler(void *ctx, const struct bw_lean_req *req, struct bw_http_response *resp)
{
	static const char body[] = "{\"ok\":true}";

	(void)ctx;
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = body;
	resp->len = sizeof(body) - 1;
	if (bw_lean_arg(req, "big", NULL)) {
		/* an answer larger than a socket takes at once */
		size_t n = 4u << 20;
		char *b = bw_malloc(n);
		if (b) {
			memset(b, 'x', n);
			resp->body = b;
			resp->len = n;
			resp->release = bw_free;
		}
	}
}

static int
dial(uint16_t port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Reads until want bytes, EOF or ms of silence; returns the bytes read
 * (NUL-terminated in buf), *eof set if the peer closed. */
static size_t
recv_some(int fd, char *buf, size_t cap, size_t want, int ms, int *eof)
{
	size_t n = 0;

	*eof = 0;
	while (n < want && n + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;
		if (poll(&p, 1, ms) <= 0)
			break;
		k = recv(fd, buf + n, cap - 1 - n, 0);
		if (k <= 0) {
			*eof = 1;
			break;
		}
		n += (size_t)k;
	}
	buf[n] = '\0';
	return n;
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* 1 if request, alone on a new connection, is answered with a response
 * that starts with want and then the connection is closed. */
static int
answered_then_closed(uint16_t port, const char *request, const char *want)
{
	char buf[2048];
	int fd = dial(port), eof = 0;

	if (fd < 0)
		return 0;
	send_str(fd, request);
	recv_some(fd, buf, sizeof(buf), sizeof(buf), 1000, &eof);
	close(fd);
	return strncmp(buf, want, strlen(want)) == 0 && eof;
}

/* The pipelined requests of test_server, sent from a thread of their own
 * (the listener stops reading while its answers wait). */
#define NPIPE 40000
#define PIPE_BUF_BYTES (NPIPE * 32)
#define PIPE_IN_BYTES (NPIPE * 160)

struct pipe_job {
	int fd;
	const char *text;
	size_t len;
};

static void *
pipe_sender(void *arg)
{
	struct pipe_job *j = arg;

	send_all(j->fd, j->text, j->len);
	return NULL;
}

static void
test_server(void)
{
	static const char *const paths[] = {"/v1/check", "/healthz", NULL};
	struct bw_lean_config cfg;
	struct bw_lean *l = NULL;
	struct bw_err err;
	char buf[8192], *big;
	int fd, fd2, fd3, eof;
	size_t n, total;
	uint16_t port;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.addr, sizeof(cfg.addr), "127.0.0.1");
	cfg.threads = 2;
	cfg.max_connections = 2;
	cfg.idle_timeout = 2;
	cfg.max_header_bytes = 4096;
	cfg.paths = paths;
	cfg.handler = handler;
	if (!CHECK(bw_lean_start(&cfg, &l, &err) == BW_OK))
		return;
	port = bw_lean_port(l);
	CHECK(port != 0);

	/* two pipelined requests in one write, answered in order */
	fd = dial(port);
	CHECK(fd >= 0);
	send_str(fd, "GET /v1/check?d=1 HTTP/1.1\r\nHost: x\r\n\r\n"
		     "HEAD /healthz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n");
	n = recv_some(fd, buf, sizeof(buf), 100000, 300, &eof);
	CHECK(n > 0);
	CHECK_INT(count(buf, "HTTP/1.1 200 OK\r\n"), 2);
	CHECK_INT(count(buf, "HTTP/1.1 404 Not Found\r\n"), 1);
	CHECK_INT(count(buf, "{\"ok\":true}"), 1); /* HEAD: no body */
	CHECK_INT(count(buf, "Content-Length: 11\r\n"), 2);
	CHECK(strstr(buf, "Date: ") != NULL);
	CHECK(strstr(buf, "Cache-Control: no-store\r\n") != NULL);
	CHECK(strstr(buf, "HTTP/1.1 200") < strstr(buf, "HTTP/1.1 404"));
	CHECK_INT(eof, 0); /* kept alive */

	/* a request in pieces */
	send_str(fd, "GET /healthz HT");
	n = recv_some(fd, buf, sizeof(buf), 1, 100, &eof);
	CHECK_INT(n, 0);
	send_str(fd, "TP/1.1\r\n\r");
	n = recv_some(fd, buf, sizeof(buf), 1, 100, &eof);
	CHECK_INT(n, 0);
	send_str(fd, "\n");
	n = recv_some(fd, buf, sizeof(buf), 200, 300, &eof);
	CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);

	/* the connection limit: a third is closed at once */
	fd2 = dial(port);
	CHECK(fd2 >= 0);
	send_str(fd2, "GET /healthz HTTP/1.1\r\n\r\n");
	n = recv_some(fd2, buf, sizeof(buf), 200, 500, &eof);
	CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	fd3 = dial(port);
	if (fd3 >= 0) {
		send_str(fd3, "GET /healthz HTTP/1.1\r\n\r\n");
		n = recv_some(fd3, buf, sizeof(buf), 200, 500, &eof);
		CHECK_INT(n, 0);
		CHECK_INT(eof, 1);
		close(fd3);
	}
	close(fd2);

	/* a large answer, sent as the socket drains, then the next request */
	send_str(fd, "GET /v1/check?big=1 HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
	big = bw_malloc(5u << 20);
	total = big ? recv_some(fd, big, 5u << 20, (4u << 20) + 400, 500, &eof) : 0;
	CHECK(total > (4u << 20));
	CHECK(big && strstr(big, "Content-Length: 4194304\r\n") != NULL);
	CHECK(big && count(big + (4u << 20), "HTTP/1.1 200 OK\r\n") == 1);
	bw_free(big);

	/* more pipelined requests in one write than the input buffer holds
	 * (300 x 27 bytes, 4096 of buffer): the listener reads on after
	 * answering what it has (its connections are edge-triggered, so no
	 * new event would say the rest is there) */
	big = bw_malloc(1u << 17);
	if (big) {
		size_t k = 0;
		for (int i = 0; i < 300; i++)
			k += (size_t)snprintf(big + k, (1u << 17) - k, "GET /healthz HTTP/1.1\r\n\r\n");
		send_all(fd, big, k);
		total = 0;
		for (int tries = 0; tries < 50 && count(big, "HTTP/1.1 200 OK\r\n") < 300; tries++) {
			total += recv_some(fd, big + total, (1u << 17) - total, (1u << 17) - total - 1, 200,
					   &eof);
			if (total == 0)
				big[0] = '\0';
		}
		CHECK_INT(count(big, "HTTP/1.1 200 OK\r\n"), 300);
		CHECK_INT(eof, 0);
		bw_free(big);
	}

	/* small answers that the socket does not take at once: a client with
	 * a small receive buffer sends NPIPE requests from a second thread
	 * and reads only 200 ms later, so the listener's sends come back short
	 * (an answer split inside its headers or body), it stops reading, and
	 * the rest goes out in order as the client reads */
	fd2 = socket(AF_INET, SOCK_STREAM, 0);
	big = bw_malloc(PIPE_BUF_BYTES);
	if (CHECK(fd2 >= 0 && big != NULL)) {
		struct sockaddr_in a;
		struct pipe_job job;
		pthread_t th;
		int small = 4096, started;

		setsockopt(fd2, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons(port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(connect(fd2, (struct sockaddr *)&a, sizeof(a)) == 0);
		job.fd = fd2;
		job.len = 0;
		for (int i = 0; i < NPIPE; i++)
			job.len += (size_t)snprintf(big + job.len, PIPE_BUF_BYTES - job.len,
						    "GET /healthz HTTP/1.1\r\n\r\n");
		job.text = big;
		started = pthread_create(&th, NULL, pipe_sender, &job) == 0;
		CHECK(started);
		usleep(200000);
		/* the answers go into a buffer of their own (big is being
		 * sent); they are all alike and of one length (the Date's is
		 * fixed), so each is compared where it must start and end */
		{
			static const char head[] = "HTTP/1.1 200 OK\r\nDate: ",
					  tail[] = "Content-Length: 11\r\n\r\n{\"ok\":true}";
			char *in = bw_malloc(PIPE_IN_BYTES), *e;
			size_t got = 0, one = 0, ok = 0;
			if (CHECK(in != NULL)) {
				for (int tries = 0; tries < 100; tries++) {
					size_t k = recv_some(fd2, in + got, PIPE_IN_BYTES - got,
							     PIPE_IN_BYTES - got - 1, 200, &eof);
					got += k;
					if (k == 0 || eof)
						break; /* 200 ms of silence: all there */
				}
				e = strstr(in, "{\"ok\":true}");
				one = e ? (size_t)(e - in) + 11 : 0;
				for (size_t i = 0; one && i + one <= got; i += one)
					if (memcmp(in + i, head, sizeof(head) - 1) == 0 &&
					    memcmp(in + i + one - (sizeof(tail) - 1), tail,
						   sizeof(tail) - 1) == 0)
						ok++;
			}
			CHECK_INT(ok, NPIPE);
			CHECK_INT(got, NPIPE * one);
			CHECK_INT(eof, 0);
			bw_free(in);
		}
		if (started)
			pthread_join(th, NULL);
	}
	if (fd2 >= 0)
		close(fd2);
	bw_free(big);

	/* headers beyond max_header_bytes: 431, closed */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	send_all(fd, buf, 5000);
	n = recv_some(fd, buf, sizeof(buf), 100000, 1000, &eof);
	CHECK(strncmp(buf, "HTTP/1.1 431 ", 13) == 0);
	CHECK(strstr(buf, "Connection: close\r\n") != NULL);
	CHECK_INT(eof, 1);
	close(fd);

	/* HTTP/1.0: closed after the answer; a bad request: 400, closed */
	CHECK(answered_then_closed(port, "GET /healthz HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n"));
	CHECK(answered_then_closed(port, "GET / HTTP/1.1\r\nA b: c\r\n\r\n",
				   "HTTP/1.1 400 Bad Request\r\n"));

	/* silence: closed after idle_timeout (2 s, on a clock of seconds:
	 * between 2 and 3 s) */
	fd = dial(port);
	send_str(fd, "GET /hea");
	n = recv_some(fd, buf, sizeof(buf), 1, 4500, &eof);
	CHECK_INT(n, 0);
	CHECK_INT(eof, 1);
	close(fd);
	bw_lean_stop(l);
}

/* ---- through net/http.h ------------------------------------------------- */

static void
http_handler(void *ctx, const struct bw_http_request *req, struct bw_http_response *resp)
{
	static __thread char body[256];
	char client[BW_HTTP_ADDR_MAX];
	unsigned n = 0;
	const char *d = bw_http_query(req, "domain", &n);
	const char *k = bw_http_header(req, "authorization");

	(void)ctx;
	snprintf(body, sizeof(body), "%s %s d=%s n=%u k=%s c=%s", bw_http_method(req),
		 bw_http_path(req), d ? d : "-", n, k ? k : "-",
		 bw_http_client(req, client, sizeof(client)));
	resp->status = 200;
	resp->content_type = "text/plain";
	resp->body = body;
	resp->len = strlen(body);
}

static void
test_http_both(void)
{
	static const char *const paths[] = {"/v1/check", NULL};
	struct bw_http_config cfg;
	struct bw_http *h = NULL;
	struct bw_err err;
	char buf[2048];
	int fd, eof;
	uint16_t ports[2];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.addr, sizeof(cfg.addr), "127.0.0.1");
	snprintf(cfg.check_addr, sizeof(cfg.check_addr), "127.0.0.1");
	cfg.threads = 1;
	cfg.check_paths = paths;
	cfg.handler = http_handler;
	if (!CHECK(bw_http_start(&cfg, &h, &err) == BW_OK))
		return;
	ports[0] = bw_http_port(h);
	ports[1] = bw_http_check_port(h);
	CHECK(ports[1] != 0 && ports[1] != ports[0]);
	/* the same answer from both listeners */
	for (int i = 0; i < 2; i++) {
		fd = dial(ports[i]);
		send_str(fd, "GET /v1/check?domain=a%2Eb+c&domain=z HTTP/1.1\r\n"
			     "Authorization: Bearer K\r\nConnection: close\r\n\r\n");
		recv_some(fd, buf, sizeof(buf), 100000, 1000, &eof);
		CHECK(strstr(buf, "\r\n\r\nGET /v1/check d=a.b c n=2 k=Bearer K c=127.0.0.1") !=
		      NULL);
		close(fd);
	}
	bw_http_stop(h);
	/* plain HTTP beyond loopback is refused for the check listener too */
	snprintf(cfg.check_addr, sizeof(cfg.check_addr), "0.0.0.0");
	CHECK(bw_http_start(&cfg, &h, &err) == BW_EINVAL);
	CHECK(strstr(err.msg, "check listener") != NULL);
}

int
main(void)
{
	TAP_RUN(test_parse_good);
	TAP_RUN(test_parse_pieces);
	TAP_RUN(test_parse_bytes);
	TAP_RUN(test_parse_hostile);
	TAP_RUN(test_server);
	TAP_RUN(test_http_both);
	return tap_done();
}
