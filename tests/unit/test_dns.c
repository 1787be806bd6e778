/*
 * test_dns.c - the DNS server on a loopback port with a real store: UDP
 * answers, malformed datagrams dropped, AXFR over TCP, a change written by
 * another connection reaching the zone (data_version polling), NOTIFY sent
 * and answered, IXFR from the previous serial, DNSBL access control.
 * Meant for the sanitizer build too (threads, sockets, snapshots).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "store/store.h"
#include "tap.h"

static char dir[64], path[128];

static void
sql(struct bw_store *st, const char *q)
{
	char *msg = NULL;
	if (sqlite3_exec(bw_store_db(st), q, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# SQL error: %s\n", msg ? msg : "?");
		sqlite3_free(msg);
	}
}

static void
quiet(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static size_t
make_query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t id)
{
	struct bw_dns_writer w;
	struct bw_dns_header h = {.id = id, .flags = 0};
	uint8_t n[BW_DNS_NAME_MAX];
	size_t nl;

	bw_dns_name_from_text(name, n, &nl, NULL);
	bw_dns_w_init(&w, buf, 512, &h);
	bw_dns_w_question(&w, n, nl, qtype, 1);
	return bw_dns_w_finish(&w);
}

static struct sockaddr_in
loop_addr(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* One UDP exchange; returns the answer length or 0 after 500 ms. */
static size_t
udp_ask(uint16_t port, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loop_addr(port);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	ssize_t n = 0;

	sendto(fd, q, qlen, 0, (struct sockaddr *)&a, sizeof(a));
	if (poll(&pf, 1, 500) == 1)
		n = recv(fd, out, cap, 0);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* A transfer over TCP, small enough to come in one message: its record
 * count; soa_serials gets the serials of the SOAs in order (up to 8). */
static int
tcp_xfr(uint16_t port, const uint8_t *q, size_t qlen, uint32_t *soa_serials, int *nsoa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), records = 0;
	struct sockaddr_in a = loop_addr(port);
	static uint8_t buf[65536];
	uint8_t lb[2];
	struct bw_dns_msg m;
	size_t len, off;

	*nsoa = 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto fail;
	lb[0] = (uint8_t)(qlen >> 8);
	lb[1] = (uint8_t)qlen;
	if (send(fd, lb, 2, 0) != 2 || send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto fail;
	if (read_full(fd, lb, 2))
		goto fail;
	len = (size_t)(lb[0] << 8 | lb[1]);
	if (read_full(fd, buf, len) || bw_dns_parse(buf, len, &m, NULL))
		goto fail;
	off = m.sections_off;
	for (unsigned i = 0; i < m.h.ancount; i++) {
		struct bw_dns_rr rr;
		if (bw_dns_rr_read(buf, len, &off, &rr, NULL))
			goto fail;
		records++;
		if (rr.type == BW_DNS_SOA) {
			const uint8_t *p = buf + rr.rdata_off + rr.rdlen - 20;
			if (*nsoa < 8)
				soa_serials[*nsoa] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
						     (uint32_t)p[2] << 8 | p[3];
			(*nsoa)++;
		}
	}
	close(fd);
	return records;
fail:
	close(fd);
	return -1;
}

static uint32_t
soa_serial_of(const uint8_t *buf, size_t len)
{
	struct bw_dns_msg m;
	struct bw_dns_rr rr;
	size_t off;

	if (bw_dns_parse(buf, len, &m, NULL) || m.h.ancount < 1)
		return 0;
	off = m.sections_off;
	if (bw_dns_rr_read(buf, len, &off, &rr, NULL) || rr.type != BW_DNS_SOA)
		return 0;
	off = rr.rdata_off + rr.rdlen - 20;
	return (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 | (uint32_t)buf[off + 2] << 8 |
	       buf[off + 3];
}

static int64_t
ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_server(void)
{
	struct bw_store *st = NULL;
	struct bw_dns_config *c = calloc(1, sizeof(*c));
	struct bw_dns *d = NULL;
	struct bw_err err;
	uint8_t q[512], a[4096];
	size_t ql, al;
	uint16_t port;
	uint32_t serials[8], s0;
	int nsoa, nfd;
	struct sockaddr_in na;
	socklen_t nal = sizeof(na);
	struct bw_dns_msg m;
	int64_t t0;

	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	sql(st, "INSERT INTO authz(id, authority, reference, jurisdiction, scope_kind, scope_value,"
		" valid_from, valid_until, created, created_by)"
		" VALUES (1, 'court', 'R', 'DE', 'tag', 't', 0, 99999999999, 0, 'a');"
		"BEGIN; INSERT INTO action(id, authz_id, type, target, kind, origin, state, proposed_by,"
		" created, updated, expires) VALUES (1, 1, 1, 'evil.example', 'block', 'manual',"
		" 'active', 'a', 0, 0, 99999999999);"
		" INSERT INTO rpz_change(time, action_id, op) VALUES (0, 1, 'add'); COMMIT;");
	/* a socket standing in for a secondary, to receive NOTIFY */
	nfd = socket(AF_INET, SOCK_DGRAM, 0);
	na = loop_addr(0);
	bind(nfd, (struct sockaddr *)&na, sizeof(na));
	getsockname(nfd, (struct sockaddr *)&na, &nal);

	bw_dns_config_init(c);
	c->port = 0;
	c->db_path = path;
	c->logger = quiet;
	c->nnotify = 1;
	snprintf(c->notify[0].addr, sizeof(c->notify[0].addr), "127.0.0.1");
	c->notify[0].port = ntohs(na.sin_port);
	if (!CHECK(bw_dns_start(c, &d, &err) == BW_OK)) {
		printf("# %s\n", err.msg);
		goto out;
	}
	port = bw_dns_port(d);
	CHECK(port != 0);
	s0 = bw_dns_serial(d);
	CHECK_INT((int)s0, 2);

	ql = make_query(q, "rpz.bulwark", BW_DNS_SOA, 1);
	al = udp_ask(port, q, ql, a, sizeof(a));
	CHECK(al > 0 && bw_dns_parse(a, al, &m, NULL) == BW_OK);
	CHECK((m.h.flags & BW_DNS_F_AA) && BW_DNS_RCODE(m.h.flags) == 0 && m.h.id == 1);
	CHECK_INT((int)soa_serial_of(a, al), 2);

	ql = make_query(q, "www.EVIL.example.rpz.bulwark", BW_DNS_A, 2);
	al = udp_ask(port, q, ql, a, sizeof(a));
	CHECK(al > 0 && bw_dns_parse(a, al, &m, NULL) == BW_OK);
	CHECK_INT(BW_DNS_RCODE(m.h.flags), BW_DNS_NXDOMAIN); /* literal "*." is not synthesised */
	ql = make_query(q, "*.EVIL.example.rpz.bulwark", BW_DNS_A, 3);
	al = udp_ask(port, q, ql, a, sizeof(a));
	CHECK(al > 0 && bw_dns_parse(a, al, &m, NULL) == BW_OK && m.h.ancount == 1);
	ql = make_query(q, "other.zone", BW_DNS_A, 4);
	al = udp_ask(port, q, ql, a, sizeof(a));
	CHECK(al > 0 && bw_dns_parse(a, al, &m, NULL) == BW_OK &&
	      BW_DNS_RCODE(m.h.flags) == BW_DNS_REFUSED);

	/* malformed: dropped, and the server still answers */
	memset(q, 0xc0, 40);
	CHECK_INT((int)udp_ask(port, q, 40, a, sizeof(a)), 0);
	ql = make_query(q, "rpz.bulwark", BW_DNS_SOA, 5);
	CHECK(udp_ask(port, q, ql - 1, a, sizeof(a)) == 0);
	CHECK(udp_ask(port, q, ql, a, sizeof(a)) > 0);

	/* AXFR: SOA, NS, 2 records, SOA */
	ql = make_query(q, "rpz.bulwark", BW_DNS_AXFR, 6);
	CHECK_INT(tcp_xfr(port, q, ql, serials, &nsoa), 5);
	CHECK_INT(nsoa, 2);

	/* NOTIFY at start */
	{
		struct pollfd pf = {.fd = nfd, .events = POLLIN};
		ssize_t n;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		CHECK(poll(&pf, 1, 2000) == 1);
		n = recvfrom(nfd, a, sizeof(a), 0, (struct sockaddr *)&from, &fl);
		CHECK(n > 0 && bw_dns_parse(a, (size_t)n, &m, NULL) == BW_OK &&
		      BW_DNS_OPCODE(m.h.flags) == BW_DNS_OP_NOTIFY && m.qtype == BW_DNS_SOA);
		if (n > 0) {
			a[2] |= 0x80; /* answer it */
			sendto(nfd, a, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}

	/* a change from another connection reaches the zone */
	t0 = ms_now();
	sql(st, "BEGIN; INSERT INTO action(id, authz_id, type, target, kind, sinkhole, origin, state,"
		" proposed_by, created, updated, expires) VALUES (2, 1, 2, '192.0.2.1', 'sinkhole',"
		" '10.0.0.1', 'manual', 'active', 'a', 0, 0, 99999999999);"
		" INSERT INTO rpz_change(time, action_id, op) VALUES (0, 2, 'add'); COMMIT;");
	while (bw_dns_serial(d) == s0 && ms_now() - t0 < 2000)
		usleep(1000);
	printf("# change to zone: %lld ms\n", (long long)(ms_now() - t0));
	CHECK_INT((int)bw_dns_serial(d), 3);
	CHECK(ms_now() - t0 < 1000);

	/* IXFR from the old serial */
	{
		struct bw_dns_writer w;
		struct bw_dns_header h = {.id = 7};
		uint8_t n[BW_DNS_NAME_MAX], soa[BW_DNS_NAME_MAX + 40];
		size_t nl, sl;
		bw_dns_name_from_text("rpz.bulwark", n, &nl, NULL);
		bw_dns_w_init(&w, q, sizeof(q), &h);
		bw_dns_w_question(&w, n, nl, BW_DNS_IXFR, 1);
		bw_dns_name_from_text(".", soa, &sl, NULL);
		soa[1] = 0;
		memset(soa + 2, 0, 20);
		soa[5] = (uint8_t)s0;
		bw_dns_w_rr(&w, 2, n, nl, BW_DNS_SOA, 1, 0, soa, 22);
		ql = bw_dns_w_finish(&w);
		/* SOA 3, SOA 2, SOA 3, A, SOA 3 */
		CHECK_INT(tcp_xfr(port, q, ql, serials, &nsoa), 5);
		CHECK(nsoa == 4 && serials[0] == 3 && serials[1] == 2 && serials[2] == 3);
	}

	/* DNSBL: loopback allowed by default; an unknown client is refused */
	/* the DNSBL is rebuilt at most once a second after a change */
	ql = make_query(q, "1.2.0.192.dnsbl.bulwark", BW_DNS_A, 8);
	t0 = ms_now();
	do {
		al = udp_ask(port, q, ql, a, sizeof(a));
		if (al == 0 || bw_dns_parse(a, al, &m, NULL) != BW_OK ||
		    BW_DNS_RCODE(m.h.flags) == BW_DNS_NOERROR)
			break;
		usleep(20000);
	} while (ms_now() - t0 < 3000);
	CHECK(al > 0 && m.h.ancount == 1);
	CHECK_INT(BW_DNS_RCODE(m.h.flags), BW_DNS_NOERROR); /* the sinkhole action */
	al = bw_dns_answer(d, q, ql, NULL, 0, a, sizeof(a));
	CHECK(al > 0 && bw_dns_parse(a, al, &m, NULL) == BW_OK &&
	      BW_DNS_RCODE(m.h.flags) == BW_DNS_REFUSED);
out:
	bw_dns_stop(d);
	bw_store_close(st);
	close(nfd);
	free(c);
}

/* The TSIG error of an answer (its last record), or -1. */
static int
tsig_error_of(const uint8_t *a, size_t al)
{
	struct bw_dns_msg m;
	size_t off;
	uint8_t alg[BW_DNS_NAME_MAX];
	size_t l;

	if (bw_dns_parse(a, al, &m, NULL) || !m.has_tsig)
		return -1;
	off = m.tsig.rdata_off;
	if (bw_dns_name_read(a, al, &off, alg, &l, NULL))
		return -1;
	off += 10 + (size_t)(a[off + 8] << 8 | a[off + 9]) + 2;
	return a[off] << 8 | a[off + 1];
}

/* A SOA query signed by dig (-y hmac-sha256:xfr-key:<"k" x 32>) at
 * 2026-11-29 14:55: the MAC is right, the time is long past (BADTIME); one
 * flipped MAC byte makes it BADSIG; another key name BADKEY. */
static void
test_tsig(void)
{
	static const char hex[] =
		"78cf012000010000000000020372707a0762756c7761726b000006000100002904d000000000000c"
		"000a0008844fa76c083791e9077866722d6b65790000fa00ff00000000003d0b686d61632d736861"
		"3235360000006b0c3ce2012c0020a17b7a1ade66057d5bb7bca9d01c6e8c2821706a5d20a4573226"
		"48a45d275d2b78cf00000000";
	struct bw_dns_config *c = calloc(1, sizeof(*c));
	struct bw_store *st = NULL;
	struct bw_dns *d = NULL;
	struct bw_err err;
	uint8_t q[512], a[1024];
	size_t ql = strlen(hex) / 2, al;

	for (size_t i = 0; i < ql; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		q[i] = (uint8_t)v;
	}
	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	bw_dns_config_init(c);
	c->port = 0;
	c->db_path = path;
	c->logger = quiet;
	c->dnsbl = 0;
	CHECK_INT(bw_dns_parse_tsig("xfr-key:a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=", c, &err), BW_OK);
	CHECK_INT((int)c->tsig_secret_len, 32);
	CHECK_INT(bw_dns_parse_tsig("xfr-key:***", c, &err), BW_EINVAL);
	CHECK_INT(bw_dns_parse_tsig("xfr-key:a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=", c, &err), BW_OK);
	if (!CHECK(bw_dns_start(c, &d, &err) == BW_OK)) {
		printf("# %s\n", err.msg);
		goto out;
	}
	al = bw_dns_answer(d, q, ql, NULL, 1, a, sizeof(a));
	CHECK(al > 12 && BW_DNS_RCODE(a[3]) == BW_DNS_NOTAUTH);
	CHECK_INT(tsig_error_of(a, al), 18);
	q[ql - 20] ^= 1; /* inside the MAC */
	al = bw_dns_answer(d, q, ql, NULL, 1, a, sizeof(a));
	CHECK_INT(tsig_error_of(a, al), 16);
	q[ql - 20] ^= 1;
	q[53] = 'y'; /* the key name: "yfr-key" */
	al = bw_dns_answer(d, q, ql, NULL, 1, a, sizeof(a));
	CHECK_INT(tsig_error_of(a, al), 17);
out:
	bw_dns_stop(d);
	bw_store_close(st);
	free(c);
}

/* The watcher wakes on the store's files (inotify), not on its poll: with
 * the poll at 5 x 2 s, a commit still reaches the zone at once. */
static void
test_watch(void)
{
	struct bw_store *st = NULL;
	struct bw_dns_config *c = calloc(1, sizeof(*c));
	struct bw_dns *d = NULL;
	struct bw_err err;
	uint32_t s0;
	int64_t t0;

	CHECK_INT(bw_store_open(path, 0, &st, &err), BW_OK);
	bw_dns_config_init(c);
	c->port = 0;
	c->db_path = path;
	c->logger = quiet;
	c->dnsbl = 0;
	c->poll_ms = 2000;
	if (!CHECK(bw_dns_start(c, &d, &err) == BW_OK)) {
		printf("# %s\n", err.msg);
		goto out;
	}
	s0 = bw_dns_serial(d);
	usleep(50000); /* the watcher is in its wait */
	for (int i = 0; i < 3; i++) {
		char q[512];
		snprintf(q, sizeof(q),
			 "BEGIN; INSERT INTO action(id, authz_id, type, target, kind, origin, state,"
			 " proposed_by, created, updated, expires) VALUES (%d, 1, 1, 'w%d.example',"
			 " 'block', 'manual', 'active', 'a', 0, 0, 99999999999);"
			 " INSERT INTO rpz_change(time, action_id, op) VALUES (0, %d, 'add'); COMMIT;",
			 100 + i, i, 100 + i);
		t0 = ms_now();
		sql(st, q);
		while (bw_dns_serial(d) == s0 && ms_now() - t0 < 3000)
			usleep(200);
		printf("# commit to zone with the poll at 10 s: %lld ms\n", (long long)(ms_now() - t0));
		CHECK(bw_dns_serial(d) == s0 + 1);
		CHECK(ms_now() - t0 < 1000);
		s0 = bw_dns_serial(d);
	}
out:
	bw_dns_stop(d);
	bw_store_close(st);
	free(c);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bw-dns-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	TAP_RUN(test_server);
	TAP_RUN(test_tsig);
	TAP_RUN(test_watch);
	unlink(path);
	{
		char p[160];
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	rmdir(dir);
	return tap_done();
}
