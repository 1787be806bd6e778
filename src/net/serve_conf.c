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
#include "intel/geo.h"
#include "net/taxii.h"
#include "core/timeutil.h"
#include "share/report_sched.h"

enum key_id {
	K_LISTEN,
	K_CHECK_LISTEN,
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
	K_SMTP,
	K_MAIL_FROM,
	K_PUBLIC_URL,
	K_ATTEMPTS,
	K_TAXII_MAXLEN,
	K_GEO_COUNTRY,
	K_GEO_ASN,
	K_ELIGIBLE,
	K_DNS,
	K_RPZ_ZONE,
	K_RPZ_NOTIFY,
	K_RPZ_ALLOW,
	K_RPZ_SERIAL,
	K_RPZ_TSIG,
	K_DNSBL,
	K_DNSBL_CLIENTS,
	K_DNSBL_CLEAR,
	K_DNSBL_ZONE,
	K_DNSBL_DZONE,
	K_REPORT_DIR,
	K_REPORT_PERIOD,
	K_DISRUPT_AUTO,
	K_DISRUPT_INTERVAL,
	K_DISRUPT_MIN_CONFIDENCE,
	K_DISRUPT_MIN_SOURCES,
	K_DISRUPT_EXPIRY,
	K_DISRUPT_BLAST_RADIUS,
	K_DISRUPT_MIN_SCORE,
	K_DISRUPT_SINKHOLE,
	K_DISRUPT_GUARD_DIR,
	K_DELIVERY_CA_FILE,
	K_INDEX_SNAPSHOT,
	K_N
};

const char *const bw_serve_conf_keys[] = {
	"listen",
	"check_listen",
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
	"smtp",
	"mail_from",
	"public_url",
	"delivery_attempts",
	"taxii_max_content_length",
	"geo_country_db",
	"geo_asn_csv",
	"eligible_countries",
	"dns",
	"rpz_zone",
	"rpz_notify",
	"rpz_allow_transfer",
	"rpz_serial_base",
	"rpz_tsig",
	"dnsbl",
	"dnsbl_clients",
	"dnsbl_clear",
	"dnsbl_zone",
	"dnsbl_domain_zone",
	"report_dir",
	"report_period",
	"disrupt_auto",
	"disrupt_interval",
	"disrupt_min_confidence",
	"disrupt_min_sources",
	"disrupt_expiry",
	"disrupt_blast_radius",
	"disrupt_min_score",
	"disrupt_sinkhole",
	"disrupt_guard_dir",
	"delivery_ca_file",
	"index_snapshot",
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
	snprintf(c->mail_from, sizeof(c->mail_from), "%s", BW_SERVE_DEFAULT_MAIL_FROM);
	c->delivery_attempts = BW_SERVE_DEFAULT_ATTEMPTS;
	c->taxii_max_content_length = BW_TAXII_MAX_CONTENT_LENGTH;
	snprintf(c->dns, sizeof(c->dns), "%s", BW_SERVE_DEFAULT_DNS);
	snprintf(c->rpz_zone, sizeof(c->rpz_zone), "%s", BW_RPZ_DEFAULT_ZONE);
	c->rpz_serial_base = 1;
	c->dnsbl = 1;
	c->dnsbl_clear = 1;
	snprintf(c->report_dir, sizeof(c->report_dir), "%s", BW_SERVE_DEFAULT_REPORT_DIR);
	c->report_period = BW_REPORT_PERIOD_DEFAULT;
	bw_policy_init(&c->policy);
	c->disrupt_auto = 1;
	c->disrupt_interval = BW_SERVE_DEFAULT_DISRUPT_INTERVAL;
	c->index_snapshot = BW_SERVE_DEFAULT_INDEX_SNAPSHOT;
	snprintf(c->dnsbl_zone, sizeof(c->dnsbl_zone), "%s", BW_DNSBL_DEFAULT_IP_ZONE);
	snprintf(c->dnsbl_domain_zone, sizeof(c->dnsbl_domain_zone), "%s",
		 BW_DNSBL_DEFAULT_NAME_ZONE);
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

/* Paths separated by commas (blanks around each are dropped). */
static int
parse_paths(const char *key, const char *v, struct bw_serve_conf *c, struct bw_err *err)
{
	char p[BW_SERVE_ASN_FILES_MAX][BW_SERVE_CONF_PATH_MAX];
	size_t n = 0;

	for (;;) {
		const char *e = strchr(v, ',');
		size_t len = e ? (size_t)(e - v) : strlen(v);

		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == 0)
			return bw_err_set(err, BW_EINVAL, "%s: empty path in the list", key);
		if (n == BW_SERVE_ASN_FILES_MAX)
			return bw_err_set(err, BW_ELIMIT, "%s: more than %d files", key,
					  BW_SERVE_ASN_FILES_MAX);
		if (len >= BW_SERVE_CONF_PATH_MAX)
			return bw_err_set(err, BW_ELIMIT, "%s: path longer than %d bytes", key,
					  BW_SERVE_CONF_PATH_MAX - 1);
		memcpy(p[n], v, len);
		p[n][len] = '\0';
		n++;
		if (e == NULL)
			break;
		v = e + 1;
	}
	memcpy(c->geo_asn_csv, p, sizeof(p));
	c->ngeo_asn_csv = n;
	return BW_OK;
}

/* The keys of the DNS server (src/net/dns.h). */
static int
set_dns_key(struct bw_serve_conf *c, int id, const char *key, const char *v, struct bw_err *err)
{
	struct bw_http_config h;
	uint8_t wire[BW_DNS_NAME_MAX];
	size_t n = 0;
	unsigned long u;
	int rc;

	switch (id) {
	case K_DNS:
		if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0) {
			c->dns_off = 1;
			c->dns_given = 1;
			return BW_OK;
		}
		memset(&h, 0, sizeof(h));
		if (strlen(v) >= sizeof(c->dns))
			return bw_err_set(err, BW_EINVAL, "%s: too long", key);
		rc = bw_http_parse_listen(v, &h, err);
		if (rc)
			return bw_err_prefix(err, "%s", key);
		snprintf(c->dns, sizeof(c->dns), "%s", v);
		c->dns_off = 0;
		c->dns_given = 1;
		return BW_OK;
	case K_RPZ_ZONE:
	case K_DNSBL_ZONE:
	case K_DNSBL_DZONE: {
		char *dst = id == K_RPZ_ZONE ? c->rpz_zone : id == K_DNSBL_ZONE ? c->dnsbl_zone
										 : c->dnsbl_domain_zone;
		if (strlen(v) >= BW_DNS_NAME_TEXT_MAX ||
		    bw_dns_name_from_text(v, wire, &n, err) || n < 2)
			return bw_err_set(err, BW_EINVAL, "%s: '%.40s' is not a zone name", key, v);
		snprintf(dst, BW_DNS_NAME_TEXT_MAX, "%s", v);
		return BW_OK;
	}
	case K_RPZ_NOTIFY:
		rc = bw_dns_parse_peers(v, c->rpz_notify, BW_DNS_NOTIFY_MAX, &n, err);
		if (rc)
			return bw_err_prefix(err, "%s", key);
		c->nrpz_notify = n;
		return BW_OK;
	case K_RPZ_ALLOW:
	case K_DNSBL_CLIENTS: {
		struct bw_http_prefix *dst =
			id == K_RPZ_ALLOW ? c->rpz_allow_transfer : c->dnsbl_clients;
		char item[BW_HTTP_ADDR_MAX + 8];
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
			if (n == BW_DNS_ALLOW_MAX)
				return bw_err_set(err, BW_ELIMIT, "%s: more than %d entries", key,
						  BW_DNS_ALLOW_MAX);
			memcpy(item, v, len);
			item[len] = '\0';
			rc = bw_http_prefix_parse(item, &dst[n], err);
			if (rc)
				return bw_err_prefix(err, "%s", key);
			n++;
			v += len;
		}
		if (n == 0)
			return bw_err_set(err, BW_EINVAL, "%s: no address given", key);
		if (id == K_RPZ_ALLOW)
			c->nrpz_allow_transfer = n;
		else
			c->ndnsbl_clients = n;
		return BW_OK;
	}
	case K_RPZ_TSIG: {
		struct bw_dns_config *dc;
		if (strlen(v) >= sizeof(c->rpz_tsig))
			return bw_err_set(err, BW_EINVAL, "%s: too long", key);
		dc = bw_calloc(1, sizeof(*dc));
		if (dc == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		rc = bw_dns_parse_tsig(v, dc, err);
		explicit_bzero(dc, sizeof(*dc));
		bw_free(dc);
		if (rc)
			return bw_err_prefix(err, "%s", key);
		snprintf(c->rpz_tsig, sizeof(c->rpz_tsig), "%s", v);
		return BW_OK;
	}
	case K_RPZ_SERIAL:
		rc = parse_uint(key, v, 0, 4294967295ul, &u, err);
		if (rc == BW_OK)
			c->rpz_serial_base = u;
		return rc;
	default:
		return bw_err_set(err, BW_EINVAL, "unknown key '%.40s'", key);
	}
}

static int set_notify_key(struct bw_serve_conf *c, const char *key, const char *value,
			  struct bw_err *err);

/* disrupt_auto, disrupt_interval, and the policy's own keys (policy.h),
 * whose values the disruption module checks. */
static int
set_disrupt_key(struct bw_serve_conf *c, const char *key, const char *value,
		struct bw_err *err)
{
	int rc;

	if (strcmp(key, "disrupt_auto") == 0)
		return parse_bool(key, value, &c->disrupt_auto, err);
	if (strcmp(key, "disrupt_interval") == 0) {
		rc = bw_time_parse_period(value, 1, 86400, &c->disrupt_interval, err);
		if (rc)
			bw_err_prefix(err, "%s", key);
		return rc;
	}
	rc = bw_policy_set(&c->policy, key, value, err);
	if (rc == BW_ENOTFOUND) /* the table above and policy.c disagree */
		return bw_err_set(err, BW_EINVAL, "unknown key '%.40s'", key);
	return rc;
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
	case K_CHECK_LISTEN: {
		/* the lean listener of the check endpoints (net/lean.h) */
		struct bw_http_config h;
		memset(&h, 0, sizeof(h));
		if (strcmp(value, "no") == 0 || value[0] == '\0') {
			c->check_listen[0] = '\0';
			return BW_OK;
		}
		if (strlen(value) >= sizeof(c->check_listen))
			return bw_err_set(err, BW_EINVAL, "check_listen: too long");
		rc = bw_http_parse_listen(value, &h, err);
		if (rc) {
			bw_err_prefix(err, "check_listen");
			return rc;
		}
		snprintf(c->check_listen, sizeof(c->check_listen), "%s", value);
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
	case K_SMTP:
	case K_MAIL_FROM:
	case K_PUBLIC_URL:
	case K_ATTEMPTS:
		return set_notify_key(c, key, value, err);
	case K_TAXII_MAXLEN:
		rc = parse_uint(key, value, BW_TAXII_CONTENT_LENGTH_MIN,
				BW_TAXII_CONTENT_LENGTH_MAX, &n, err);
		if (rc == BW_OK)
			c->taxii_max_content_length = n;
		return rc;
	case K_GEO_COUNTRY:
		return set_path(key, value, c->geo_country_db, sizeof(c->geo_country_db), err);
	case K_GEO_ASN:
		return parse_paths(key, value, c, err);
	case K_DNS:
	case K_RPZ_ZONE:
	case K_RPZ_NOTIFY:
	case K_RPZ_ALLOW:
	case K_RPZ_SERIAL:
	case K_RPZ_TSIG:
	case K_DNSBL_CLIENTS:
	case K_DNSBL_ZONE:
	case K_DNSBL_DZONE:
		return set_dns_key(c, find_key(key), key, value, err);
	case K_DNSBL:
		return parse_bool(key, value, &c->dnsbl, err);
	case K_DNSBL_CLEAR:
		return parse_bool(key, value, &c->dnsbl_clear, err);
	case K_DISRUPT_AUTO:
	case K_DISRUPT_INTERVAL:
	case K_DISRUPT_MIN_CONFIDENCE:
	case K_DISRUPT_MIN_SOURCES:
	case K_DISRUPT_EXPIRY:
	case K_DISRUPT_BLAST_RADIUS:
	case K_DISRUPT_MIN_SCORE:
	case K_DISRUPT_SINKHOLE:
	case K_DISRUPT_GUARD_DIR:
		return set_disrupt_key(c, key, value, err);
	case K_DELIVERY_CA_FILE:
		if (value[0] == '\0' || strlen(value) >= sizeof(c->delivery_ca_file))
			return bw_err_set(err, BW_EINVAL, "delivery_ca_file: empty or too long");
		snprintf(c->delivery_ca_file, sizeof(c->delivery_ca_file), "%s", value);
		return BW_OK;
	case K_REPORT_DIR:
		if (value[0] == '\0' || strlen(value) >= sizeof(c->report_dir))
			return bw_err_set(err, BW_EINVAL, "report_dir: empty or too long");
		snprintf(c->report_dir, sizeof(c->report_dir), "%s", value);
		return BW_OK;
	case K_INDEX_SNAPSHOT:
		/* "no": the daemon never writes DB.index */
		if (strcmp(value, "no") == 0) {
			c->index_snapshot = 0;
			return BW_OK;
		}
		rc = bw_time_parse_period(value, 1, 86400, &c->index_snapshot, err);
		if (rc)
			bw_err_prefix(err, "index_snapshot");
		return rc;
	case K_REPORT_PERIOD:
		/* "no" turns the periodic reports off */
		if (strcmp(value, "no") == 0) {
			c->report_period = 0;
			return BW_OK;
		}
		rc = bw_time_parse_period(value, BW_REPORT_PERIOD_MIN, BW_REPORT_PERIOD_MAX,
					  &c->report_period, err);
		if (rc)
			bw_err_prefix(err, "report_period");
		return rc;
	case K_ELIGIBLE:
		rc = bw_tenant_eligible_parse(value, &c->eligible, err);
		if (rc) {
			bw_err_prefix(err, "%s", key);
			return rc;
		}
		c->has_eligible = 1;
		return BW_OK;
	default:
		return bw_err_set(err, BW_EINVAL, "unknown key '%.40s'", key);
	}
}

/* smtp, mail_from, public_url and delivery_attempts (issue 7). */
static int
set_notify_key(struct bw_serve_conf *c, const char *key, const char *value,
	       struct bw_err *err)
{
	unsigned long n;
	int rc;

	if (strcmp(key, "smtp") == 0) {
		/* HOST:PORT, a name or an address: the relay need not be local */
		const char *colon = strrchr(value, ':');
		size_t pl = colon ? strlen(colon + 1) : 0;
		if (colon == NULL || colon == value || pl == 0 || pl > 5 ||
		    strspn(colon + 1, "0123456789") != pl || strtoul(colon + 1, NULL, 10) < 1 ||
		    strtoul(colon + 1, NULL, 10) > 65535 || strpbrk(value, " \t/@") != NULL ||
		    strlen(value) >= sizeof(c->smtp))
			return bw_err_set(err, BW_EINVAL, "smtp: '%.60s' is not HOST:PORT", value);
		snprintf(c->smtp, sizeof(c->smtp), "%s", value);
		return BW_OK;
	}
	if (strcmp(key, "mail_from") == 0) {
		if (strlen(value) >= sizeof(c->mail_from) || strchr(value, '@') == NULL ||
		    strpbrk(value, " \t<>\",;") != NULL)
			return bw_err_set(err, BW_EINVAL, "mail_from: '%.60s' is not a mail address",
					  value);
		snprintf(c->mail_from, sizeof(c->mail_from), "%s", value);
		return BW_OK;
	}
	if (strcmp(key, "public_url") == 0) {
		size_t len = strlen(value);
		if ((strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) ||
		    len >= sizeof(c->public_url) || strpbrk(value, " \t\"<>?#") != NULL)
			return bw_err_set(err, BW_EINVAL, "public_url: '%.60s' is not an http(s) URL",
					  value);
		/* links are made by appending "/v1/...": no trailing slash */
		while (len > 8 && value[len - 1] == '/')
			len--;
		snprintf(c->public_url, sizeof(c->public_url), "%.*s", (int)len, value);
		return BW_OK;
	}
	rc = parse_uint(key, value, 1, BW_SERVE_ATTEMPTS_MAX, &n, err);
	if (rc == BW_OK)
		c->delivery_attempts = (unsigned)n;
	return rc;
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
bw_serve_conf_geo(const struct bw_serve_conf *c, struct bw_geo **out,
		  struct bw_err *err)
{
	struct bw_geo *g = NULL;
	int rc;

	*out = NULL;
	if (c->geo_country_db[0] == '\0' && c->ngeo_asn_csv == 0)
		return BW_OK;
	rc = bw_geo_new(&g, err);
	if (rc)
		return rc;
	if (c->geo_country_db[0] && (rc = bw_geo_open_mmdb(g, c->geo_country_db, err))) {
		bw_err_prefix(err, "geo_country_db");
		goto out;
	}
	for (size_t i = 0; i < c->ngeo_asn_csv; i++) {
		if ((rc = bw_geo_load_asn_csv(g, c->geo_asn_csv[i], err))) {
			bw_err_prefix(err, "geo_asn_csv");
			goto out;
		}
	}
	*out = g;
	g = NULL;
out:
	bw_geo_free(g);
	return rc;
}

const struct bw_tenant_eligible *
bw_serve_conf_eligible(const struct bw_serve_conf *c)
{
	return c->has_eligible ? &c->eligible : NULL;
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
	if (c->check_listen[0]) {
		struct bw_http_config ch;
		memset(&ch, 0, sizeof(ch));
		rc = bw_http_parse_listen(c->check_listen, &ch, err);
		if (rc) {
			bw_err_prefix(err, "check_listen");
			return rc;
		}
		if (!bw_http_is_loopback(ch.addr) && !c->insecure_plain_http)
			return bw_err_set(err, BW_EINVAL,
					  "check_listen: refusing %s, which is not a loopback address: the check listener speaks plain HTTP and API keys would travel in clear (insecure_plain_http = yes overrides)",
					  ch.addr);
		memcpy(http->check_addr, ch.addr, sizeof(http->check_addr));
		http->check_port = ch.port;
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
