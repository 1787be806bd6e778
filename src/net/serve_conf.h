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

#include "core/err.h"
#include "net/http.h"

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

struct bw_serve_conf {
	char listen[BW_HTTP_ADDR_MAX + 16];
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
};

/* The defaults (listen 127.0.0.1:8080, 4 threads, no TLS, no trusted
 * proxy, 1024 connections, 30 s, 32 KiB of headers, requests logged). */
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

/* The checks across keys: listen parses into http (addr and port set);
 * tls_cert and tls_key both or neither, both readable PEM files; a
 * non-loopback address only with TLS or insecure_plain_http. */
int bw_serve_conf_check(const struct bw_serve_conf *c,
			struct bw_http_config *http, struct bw_err *err);

#endif
