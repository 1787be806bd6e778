/*
 * serve_conf.h - the configuration of `bulwark serve`: the file format of
 * bulwark.conf(5), one setter shared by the file and the command line, and
 * the checks across keys that `bulwark serve -n` runs.
 *
 * The file is lines of `key = value`; blank lines and lines whose first
 * non-blank character is `#` are ignored; the value is the rest of the line
 * with surrounding blanks removed (no quoting, no inline comments).  A key
 * may appear once per file; an unknown key, a repeated key, a line without
 * `=`, a value out of range, a NUL or control byte, a line over
 * BW_SERVE_CONF_LINE_MAX bytes or a file over BW_SERVE_CONF_FILE_MAX bytes
 * is an error naming the file, the line and the key.
 *
 * The command line overrides the file by calling bw_serve_conf_set after
 * the file was read.  The struct is a plain value without allocations (its
 * strings are fixed buffers), so it needs no free; it is not thread-safe
 * and is meant to be filled once at start-up.
 */
#ifndef BW_NET_SERVE_CONF_H
#define BW_NET_SERVE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "disrupt/policy.h"
#include "net/http.h"
#include "net/dns.h"
#include "share/tenant.h"

#define BW_SERVE_CONF_FILE_MAX (64 * 1024)
#define BW_SERVE_CONF_LINE_MAX 4096
#define BW_SERVE_CONF_PATH_MAX 1024
#define BW_SERVE_TRUSTED_MAX 64
/* A PEM certificate chain or key file. */
#define BW_SERVE_PEM_MAX (64 * 1024)
#define BW_SERVE_TIMEOUT_MAX 3600
#define BW_SERVE_CONNECTIONS_MAX 65536

#define BW_SERVE_DEFAULT_LISTEN "127.0.0.1:8080"
#define BW_SERVE_DEFAULT_THREADS 4
#define BW_SERVE_DEFAULT_CONNECTIONS 1024
#define BW_SERVE_DEFAULT_TIMEOUT 30
#define BW_SERVE_DEFAULT_MAIL_FROM "bulwark@localhost"
#define BW_SERVE_DEFAULT_REPORT_DIR "var/reports"
#define BW_SERVE_DEFAULT_DISRUPT_INTERVAL 10
/* seconds between two saves of DB.index by the daemon, at most */
#define BW_SERVE_DEFAULT_INDEX_SNAPSHOT 300
#define BW_SERVE_DEFAULT_ATTEMPTS 8
#define BW_SERVE_ATTEMPTS_MAX 100
#define BW_SERVE_DEFAULT_DNS "127.0.0.1:5353"
/* ASN CSV files (geo_asn_csv): IPv4 and IPv6, with room for more. */
#define BW_SERVE_ASN_FILES_MAX 4

struct bw_serve_conf {
	char listen[BW_HTTP_ADDR_MAX + 16];
	char check_listen[BW_HTTP_ADDR_MAX + 16]; /* "": no check listener */
	char db[BW_SERVE_CONF_PATH_MAX];       /* "": the default store */
	unsigned threads;
	char tls_cert[BW_SERVE_CONF_PATH_MAX]; /* "": no TLS */
	char tls_key[BW_SERVE_CONF_PATH_MAX];
	int insecure_plain_http;
	struct bw_http_prefix trusted[BW_SERVE_TRUSTED_MAX];
	size_t ntrusted;
	unsigned max_connections;
	unsigned connection_timeout;           /* seconds */
	size_t max_header_bytes;
	int log_requests;
	/* notifications (src/share/deliver.h): the SMTP relay HOST:PORT ("":
	 * mail waits in the outbox), the sender, the base of the links in
	 * mail ("": none), failed attempts before a message is dead */
	char smtp[BW_HTTP_ADDR_MAX + 16];
	char mail_from[256];
	char public_url[1024];
	char delivery_ca_file[1024]; /* "": the system's CAs */
	unsigned delivery_attempts;
	size_t taxii_max_content_length;       /* bytes */
	char geo_country_db[BW_SERVE_CONF_PATH_MAX]; /* "": none */
	char geo_asn_csv[BW_SERVE_ASN_FILES_MAX][BW_SERVE_CONF_PATH_MAX];
	size_t ngeo_asn_csv;
	/* eligible_countries; has_eligible 0: the default list */
	int has_eligible;
	struct bw_tenant_eligible eligible;
	/* the DNS server (src/net/dns.h): dns "no" sets dns_off; dns_given
	 * says the address was configured rather than the default */
	char dns[BW_HTTP_ADDR_MAX + 16];
	int dns_off, dns_given;
	char rpz_zone[BW_DNS_NAME_TEXT_MAX];
	struct bw_dns_peer rpz_notify[BW_DNS_NOTIFY_MAX];
	size_t nrpz_notify;
	struct bw_http_prefix rpz_allow_transfer[BW_DNS_ALLOW_MAX];
	size_t nrpz_allow_transfer;
	unsigned long rpz_serial_base;
	char rpz_tsig[BW_DNS_NAME_TEXT_MAX + 256]; /* "NAME:BASE64", "": none */
	int dnsbl, dnsbl_clear;
	char dnsbl_zone[BW_DNS_NAME_TEXT_MAX], dnsbl_domain_zone[BW_DNS_NAME_TEXT_MAX];
	struct bw_http_prefix dnsbl_clients[BW_DNS_ALLOW_MAX];
	size_t ndnsbl_clients;
	/* periodic reports (src/share/report_sched.h): where, and how often
	 * (seconds; 0 off) */
	char report_dir[1024];
	int64_t report_period;
	/* the disruption policy (src/disrupt/policy.h: the disrupt_* keys),
	 * whether the daemon runs it (disrupt_auto) and how often at most */
	struct bw_policy policy;
	int disrupt_auto;
	int64_t disrupt_interval;
	/* the shortest time between two saves of the index snapshot file
	 * beside the store (seconds; 0: never saved), net/api.h */
	int64_t index_snapshot;
};

/* The defaults (listen 127.0.0.1:8080, 4 threads, no TLS, no trusted
 * proxy, 1024 connections, 30 s, 8 KiB of headers, requests logged,
 * TAXII bodies up to 10 MiB, no geo data, the default eligible list). */
void bw_serve_conf_init(struct bw_serve_conf *c);

/* The keys, in documentation order, NULL-terminated. */
extern const char *const bw_serve_conf_keys[];

/* Sets key to the text value; BW_EINVAL "KEY: reason" for an unknown key
 * or a bad value (the value is quoted in the message except for paths of
 * secrets, which are not secret themselves but kept short). */
int bw_serve_conf_set(struct bw_serve_conf *c, const char *key,
		      const char *value, struct bw_err *err);

/* Parses len bytes of configuration text; name (the file name) starts
 * every error message: "NAME:LINE: KEY: reason". */
int bw_serve_conf_parse(struct bw_serve_conf *c, const char *text, size_t len,
			const char *name, struct bw_err *err);

/* Reads and parses the file at path (BW_EIO if unreadable, BW_ELIMIT over
 * BW_SERVE_CONF_FILE_MAX). */
int bw_serve_conf_load(struct bw_serve_conf *c, const char *path,
		       struct bw_err *err);

/* Reads a PEM file (what: "tls_cert" or "tls_key", for messages) into *out,
 * NUL-terminated, allocated with bw_malloc; the caller frees it (and wipes
 * a key).  BW_EIO if unreadable, BW_ELIMIT over BW_SERVE_PEM_MAX,
 * BW_EFORMAT if it holds no "-----BEGIN " block or a NUL byte. */
int bw_serve_conf_read_pem(const char *path, const char *what, char **out,
			   struct bw_err *err);

struct bw_geo;

/* The geo data the configuration names (geo_country_db, geo_asn_csv)
 * loaded into a new *out (freed with bw_geo_free), or *out NULL when it
 * names none; BW_EIO, BW_EFORMAT or BW_ELIMIT naming the key and file. */
int bw_serve_conf_geo(const struct bw_serve_conf *c, struct bw_geo **out,
		      struct bw_err *err);

/* The eligible list of c: NULL for the default one (for
 * bw_tenant_add_eligible). */
const struct bw_tenant_eligible *bw_serve_conf_eligible(const struct bw_serve_conf *c);

/* The checks across keys: listen parses into http (addr and port set);
 * tls_cert and tls_key both or neither, both readable PEM files; a
 * non-loopback address only with TLS or insecure_plain_http. */
int bw_serve_conf_check(const struct bw_serve_conf *c,
			struct bw_http_config *http, struct bw_err *err);

#endif
