/*
 * serve_conf.c - bulwark.conf(5): a line parser over a bounded buffer and
 * one setter per key (see serve_conf.h).
 *
 * The file is read whole (it is capped at 64 KiB) and scanned line by line
 * in place, without copying more than one line into a bounded buffer; the
 * key table below is the single list of keys, so the file, the command
 * line and the manual cannot drift apart silently (the unit test walks it).
 */
#include "net/serve_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

enum key_id {
	K_LISTEN,
	K_DB,
	K_THREADS,
	K_TLS_CERT,
	K_TLS_KEY,
	K_INSECURE,
	K_TRUSTED,
	K_MAXCONN,
	K_TIMEOUT,
	K_HEADERS,
	K_LOGREQ,
	K_N
};

const char *const bw_serve_conf_keys[] = {
	"listen",
	"db",
	"threads",
	"tls_cert",
	"tls_key",
	"insecure_plain_http",
	"trusted_proxies",
	"max_connections",
	"connection_timeout",
	"max_header_bytes",
	"log_requests",
	NULL,
};

void
bw_serve_conf_init(struct bw_serve_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "%s", BW_SERVE_DEFAULT_LISTEN);
	c->threads = BW_SERVE_DEFAULT_THREADS;
	c->max_connections = BW_SERVE_DEFAULT_CONNECTIONS;
	c->connection_timeout = BW_SERVE_DEFAULT_TIMEOUT;
	c->max_header_bytes = BW_HTTP_HEADER_BYTES_DEFAULT;
	c->log_requests = 1;
}

static int
find_key(const char *key)
{
	for (int i = 0; i < K_N; i++)
		if (strcmp(bw_serve_conf_keys[i], key) == 0)
			return i;
	return -1;
}

static int
parse_uint(const char *key, const char *v, unsigned long lo, unsigned long hi,
	   unsigned long *out, struct bw_err *err)
{
	char *end;
	unsigned long n;

	if (v[0] < '0' || v[0] > '9' || strlen(v) > 10)
		return bw_err_set(err, BW_EINVAL, "%s: '%.40s' is not a number from %lu to %lu",
				  key, v, lo, hi);
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || n < lo || n > hi)
		return bw_err_set(err, BW_EINVAL, "%s: '%.40s' is not a number from %lu to %lu",
				  key, v, lo, hi);
	*out = n;
	return BW_OK;
}

static int
parse_bool(const char *key, const char *v, int *out, struct bw_err *err)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0) {
		*out = 1;
		return BW_OK;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0) {
		*out = 0;
		return BW_OK;
	}
	return bw_err_set(err, BW_EINVAL, "%s: '%.40s' is not yes or no", key, v);
}

static int
set_path(const char *key, const char *v, char *dst, size_t cap, struct bw_err *err)
{
	size_t n = strlen(v);

	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "%s: empty path", key);
	if (n >= cap)
		return bw_err_set(err, BW_ELIMIT, "%s: path longer than %zu bytes", key, cap - 1);
	memcpy(dst, v, n + 1);
	return BW_OK;
}

/* A list of prefixes separated by commas and/or blanks. */
static int
parse_trusted(const char *key, const char *v, struct bw_serve_conf *c, struct bw_err *err)
{
	struct bw_http_prefix p[BW_SERVE_TRUSTED_MAX];
	size_t n = 0;
	char item[BW_HTTP_ADDR_MAX + 8];
	int rc;

	while (*v) {
		size_t len;

		while (*v == ',' || *v == ' ' || *v == '\t')
			v++;
		if (*v == '\0')
			break;
		len = strcspn(v, ", \t");
		if (len >= sizeof(item))
			return bw_err_set(err, BW_EINVAL, "%s: '%.40s...' is not an address or CIDR",
					  key, v);
		if (n == BW_SERVE_TRUSTED_MAX)
			return bw_err_set(err, BW_ELIMIT, "%s: more than %d entries", key,
					  BW_SERVE_TRUSTED_MAX);
		memcpy(item, v, len);
		item[len] = '\0';
		rc = bw_http_prefix_parse(item, &p[n], err);
		if (rc) {
			bw_err_prefix(err, "%s", key);
			return rc;
		}
		n++;
		v += len;
	}
	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "%s: no address given", key);
	memcpy(c->trusted, p, n * sizeof(p[0]));
	c->ntrusted = n;
	return BW_OK;
}

int
bw_serve_conf_set(struct bw_serve_conf *c, const char *key, const char *value,
		  struct bw_err *err)
{
	unsigned long n;
	int rc;

	switch (find_key(key)) {
	case K_LISTEN: {
		struct bw_http_config h;
		memset(&h, 0, sizeof(h));
		if (strlen(value) >= sizeof(c->listen))
			return bw_err_set(err, BW_EINVAL, "listen: too long");
		rc = bw_http_parse_listen(value, &h, err);
		if (rc) {
			bw_err_prefix(err, "listen");
			return rc;
		}
		snprintf(c->listen, sizeof(c->listen), "%s", value);
		return BW_OK;
	}
	case K_DB:
		return set_path(key, value, c->db, sizeof(c->db), err);
	case K_THREADS:
		rc = parse_uint(key, value, 1, BW_HTTP_THREADS_MAX, &n, err);
		if (rc == BW_OK)
			c->threads = (unsigned)n;
		return rc;
	case K_TLS_CERT:
		return set_path(key, value, c->tls_cert, sizeof(c->tls_cert), err);
	case K_TLS_KEY:
		return set_path(key, value, c->tls_key, sizeof(c->tls_key), err);
	case K_INSECURE:
		return parse_bool(key, value, &c->insecure_plain_http, err);
	case K_TRUSTED:
		return parse_trusted(key, value, c, err);
	case K_MAXCONN:
		rc = parse_uint(key, value, 1, BW_SERVE_CONNECTIONS_MAX, &n, err);
		if (rc == BW_OK)
			c->max_connections = (unsigned)n;
		return rc;
	case K_TIMEOUT:
		rc = parse_uint(key, value, 1, BW_SERVE_TIMEOUT_MAX, &n, err);
		if (rc == BW_OK)
			c->connection_timeout = (unsigned)n;
		return rc;
	case K_HEADERS:
		rc = parse_uint(key, value, BW_HTTP_HEADER_BYTES_MIN, BW_HTTP_HEADER_BYTES_MAX, &n, err);
		if (rc == BW_OK)
			c->max_header_bytes = n;
		return rc;
	case K_LOGREQ:
		return parse_bool(key, value, &c->log_requests, err);
	default:
		return bw_err_set(err, BW_EINVAL, "unknown key '%.40s'", key);
	}
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

int
bw_serve_conf_parse(struct bw_serve_conf *c, const char *text, size_t len,
		    const char *name, struct bw_err *err)
{
	unsigned first_line[K_N];
	char line[BW_SERVE_CONF_LINE_MAX + 1];
	size_t pos = 0;
	unsigned lineno = 0;

	memset(first_line, 0, sizeof(first_line));
	if (len > BW_SERVE_CONF_FILE_MAX)
		return bw_err_set(err, BW_ELIMIT, "%s: larger than %d bytes", name,
				  BW_SERVE_CONF_FILE_MAX);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *k, *v, *eq, *e;
		int id, rc;

		lineno++;
		if (llen > BW_SERVE_CONF_LINE_MAX)
			return bw_err_set(err, BW_ELIMIT, "%s:%u: line longer than %d bytes", name,
					  lineno, BW_SERVE_CONF_LINE_MAX);
		memcpy(line, text + pos, llen);
		line[llen] = '\0';
		pos += llen + (nl ? 1 : 0);
		for (size_t i = 0; i < llen; i++) {
			unsigned char ch = (unsigned char)line[i];
			if (ch == 0)
				return bw_err_set(err, BW_EFORMAT, "%s:%u: NUL byte", name, lineno);
			if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
				return bw_err_set(err, BW_EFORMAT, "%s:%u: control character 0x%02x",
						  name, lineno, ch);
		}
		k = line;
		while (is_blank(*k))
			k++;
		if (*k == '\0' || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL)
			return bw_err_set(err, BW_EFORMAT, "%s:%u: 'key = value' expected", name,
					  lineno);
		e = eq;
		while (e > k && is_blank(e[-1]))
			e--;
		*e = '\0';
		v = eq + 1;
		while (is_blank(*v))
			v++;
		e = v + strlen(v);
		while (e > v && is_blank(e[-1]))
			e--;
		*e = '\0';
		if (*k == '\0')
			return bw_err_set(err, BW_EFORMAT, "%s:%u: no key before '='", name, lineno);
		id = find_key(k);
		if (id < 0)
			return bw_err_set(err, BW_EINVAL, "%s:%u: %.40s: unknown key", name, lineno, k);
		if (first_line[id])
			return bw_err_set(err, BW_EINVAL, "%s:%u: %s: given twice (first on line %u)",
					  name, lineno, k, first_line[id]);
		first_line[id] = lineno;
		if (*v == '\0')
			return bw_err_set(err, BW_EINVAL, "%s:%u: %s: no value", name, lineno, k);
		rc = bw_serve_conf_set(c, k, v, err);
		if (rc) {
			bw_err_prefix(err, "%s:%u", name, lineno);
			return rc;
		}
	}
	return BW_OK;
}

/* Reads at most cap bytes of path into a new NUL-terminated buffer. */
static int
read_file(const char *path, const char *what, size_t cap, char **out, size_t *len,
	  struct bw_err *err)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rc = BW_OK;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return bw_err_set(err, BW_EIO, "%s: cannot open %s: %s", what, path, strerror(errno));
	buf = bw_malloc(cap + 2);
	if (buf == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	n = fread(buf, 1, cap + 1, f);
	if (ferror(f)) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot read %s", what, path);
		goto out;
	}
	if (n > cap) {
		rc = bw_err_set(err, BW_ELIMIT, "%s: %s is larger than %zu bytes", what, path, cap);
		goto out;
	}
	buf[n] = '\0';
	*len = n;
	*out = buf;
	buf = NULL;
out:
	if (buf) {
		explicit_bzero(buf, cap + 2);
		bw_free(buf);
	}
	fclose(f);
	return rc;
}

int
bw_serve_conf_load(struct bw_serve_conf *c, const char *path, struct bw_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(path, "config", BW_SERVE_CONF_FILE_MAX, &text, &len, err);
	if (rc)
		return rc;
	rc = bw_serve_conf_parse(c, text, len, path, err);
	bw_free(text);
	return rc;
}

int
bw_serve_conf_read_pem(const char *path, const char *what, char **out,
		       struct bw_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_file(path, what, BW_SERVE_PEM_MAX, &text, &len, err);
	if (rc)
		return rc;
	if (memchr(text, '\0', len) != NULL || strstr(text, "-----BEGIN ") == NULL) {
		explicit_bzero(text, len);
		bw_free(text);
		return bw_err_set(err, BW_EFORMAT, "%s: %s is not a PEM file", what, path);
	}
	*out = text;
	return BW_OK;
}

int
bw_serve_conf_check(const struct bw_serve_conf *c, struct bw_http_config *http,
		    struct bw_err *err)
{
	char *pem = NULL;
	int rc;

	rc = bw_http_parse_listen(c->listen, http, err);
	if (rc) {
		bw_err_prefix(err, "listen");
		return rc;
	}
	if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0'))
		return bw_err_set(err, BW_EINVAL, "tls_cert and tls_key go together: %s is missing",
				  c->tls_cert[0] ? "tls_key" : "tls_cert");
	if (c->tls_cert[0]) {
		if (!bw_http_tls_supported())
			return bw_err_set(err, BW_EINVAL,
					  "tls_cert: this libmicrohttpd was built without TLS support");
		rc = bw_serve_conf_read_pem(c->tls_cert, "tls_cert", &pem, err);
		bw_free(pem);
		pem = NULL;
		if (rc)
			return rc;
		rc = bw_serve_conf_read_pem(c->tls_key, "tls_key", &pem, err);
		if (pem) {
			explicit_bzero(pem, strlen(pem));
			bw_free(pem);
		}
		if (rc)
			return rc;
	} else if (!bw_http_is_loopback(http->addr) && !c->insecure_plain_http) {
		return bw_err_set(err, BW_EINVAL,
				  "refusing plain HTTP on %s, which is not a loopback address: API keys would travel in clear (configure tls_cert and tls_key, or insecure_plain_http = yes)",
				  http->addr);
	}
	return BW_OK;
}
