/*
 * dns.h - the authoritative DNS server of `bulwark serve`: the RPZ zone of
 * the active disruption actions (src/net/rpz.h) over UDP and TCP, with
 * AXFR, IXFR (RFC 1995), NOTIFY (RFC 1996) to the configured secondaries
 * and transfers restricted to configured client networks.
 *
 * Threads (all started by bw_dns_start, all stopped by bw_dns_stop):
 *   udp      recvmmsg/sendmmsg batches of BW_DNS_BATCH datagrams; takes a
 *            reference to the current zone once per batch, parses the whole
 *            batch, prefetches its DNSBL look-ups (bw_dnsbl_prefetch), then
 *            answers; after a short batch it naps 100 us so the next one
 *            is larger
 *   tcp      accepts connections; each runs in its own thread (at most
 *            BW_DNS_TCP_MAX at once), length-prefixed messages, transfers
 *   watcher  its own store connection; checks PRAGMA data_version
 *            (SQLite's update hook cannot see other processes) when
 *            inotify says the store's directory saw a write to the database
 *            or its -wal or -journal (then again every 250 us for 5 ms, as
 *            the WAL index is updated in shared memory just after), and
 *            every 5 x poll_ms in any case (inotify misses writes on some
 *            file systems, e.g. NFS; without inotify every poll_ms); when
 *            max(rpz_change.serial) moved it updates the zone from the new
 *            journal rows (bw_rpz_update), swaps it in under a mutex and
 *            sends NOTIFY (retried every second, five times, until
 *            answered)
 *   dnsbl    its own store connection too; after any commit rebuilds the
 *            DNSBL snapshot, at most once a second (a large DNSBL takes
 *            seconds, which the RPZ must not wait for)
 * The zone snapshot is immutable and reference-counted, so a transfer in
 * progress keeps the version it started with.  With a TSIG key (RFC 8945,
 * HMAC-SHA256) transfers must be signed with it and every message of the
 * answer is signed; a signed query gets a signed answer.
 */
#ifndef BW_NET_DNS_H
#define BW_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/http.h"
#include "net/dnsbl.h"
#include "net/rpz.h"

struct sockaddr_storage;

#define BW_DNS_BATCH 64
#define BW_DNS_TCP_MAX 32
#define BW_DNS_NOTIFY_MAX 16
#define BW_DNS_ALLOW_MAX 64
#define BW_DNS_TSIG_SECRET_MAX 128
/* Seconds of clock difference a TSIG may show (RFC 8945 recommends 300). */
#define BW_DNS_TSIG_FUDGE 300
/* Seconds a TCP client may stay idle between messages. */
#define BW_DNS_TCP_IDLE 10

struct bw_dns_peer {
	char addr[BW_HTTP_ADDR_MAX]; /* numeric */
	uint16_t port;
};

typedef void (*bw_dns_logger)(void *ctx, const char *line);

struct bw_dns_config {
	char addr[BW_HTTP_ADDR_MAX];  /* numeric IPv4 or IPv6 */
	uint16_t port;                /* 0: any free port (see bw_dns_port) */
	const char *db_path;          /* the store */
	struct bw_rpz_conf rpz;
	struct bw_dns_peer notify[BW_DNS_NOTIFY_MAX];
	size_t nnotify;
	/* clients allowed to transfer; none given: loopback only */
	struct bw_http_prefix allow[BW_DNS_ALLOW_MAX];
	size_t nallow;
	/* TSIG (RFC 8945, HMAC-SHA256): with a key, transfers need a request
	 * signed with it and every message of the answer is signed */
	char tsig_name[BW_DNS_NAME_TEXT_MAX]; /* "": no TSIG */
	uint8_t tsig_secret[BW_DNS_TSIG_SECRET_MAX];
	size_t tsig_secret_len;
	/* DNSBL zones (dnsbl.h), answered to the clients in dnsbl_clients
	 * (none given: loopback only), reloaded at most every second */
	int dnsbl;
	struct bw_dnsbl_conf dnsbl_conf;
	struct bw_http_prefix dnsbl_clients[BW_DNS_ALLOW_MAX];
	size_t ndnsbl_clients;
	unsigned poll_ms;             /* 0: 10; with inotify 5 x this */
	bw_dns_logger logger;         /* may be NULL */
	void *log_ctx;
};

void bw_dns_config_init(struct bw_dns_config *c);

struct bw_dns;

/* Loads the zone once (an error here is returned), binds UDP and TCP and
 * starts the threads.  On success *out owns the running server. */
int bw_dns_start(const struct bw_dns_config *c, struct bw_dns **out, struct bw_err *err);
/* The bound port (the chosen one when port was 0). */
uint16_t bw_dns_port(const struct bw_dns *d);
/* The serial of the zone being served. */
uint32_t bw_dns_serial(struct bw_dns *d);
/* Stops every thread, closes the sockets, frees d.  NULL is a no-op. */
void bw_dns_stop(struct bw_dns *d);

/* Parses "ADDR:PORT[,ADDR:PORT...]" (commas and/or blanks) into peers;
 * BW_EINVAL / BW_ELIMIT naming the entry. */
int bw_dns_parse_peers(const char *text, struct bw_dns_peer *peers, size_t max, size_t *n,
		       struct bw_err *err);

/* Parses "NAME:BASE64SECRET" (hmac-sha256) into c's TSIG key;
 * BW_EINVAL saying what is wrong. */
int bw_dns_parse_tsig(const char *text, struct bw_dns_config *c, struct bw_err *err);

/* The answer to one query message (the server's logic without sockets,
 * also for tests): returns its length in out, or 0 to drop the message.
 * from is the client's address (NULL: unknown, refused where an access
 * list applies); tcp says which transport (UDP answers are cut to the
 * client's EDNS size with TC set).  Transfers over TCP are not answered
 * here (0); over UDP, IXFR gets the SOA (the client then uses TCP) and AXFR
 * FORMERR. */
size_t bw_dns_answer(struct bw_dns *d, const uint8_t *q, size_t qlen,
		     const struct sockaddr_storage *from, int tcp, uint8_t *out, size_t cap);

#endif
