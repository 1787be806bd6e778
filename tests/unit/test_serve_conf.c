/*
 * test_serve_conf.c - the configuration of bulwark serve (src/net/
 * serve_conf.h) and the address prefixes of the trusted proxies
 * (src/net/http.h): every key, the file syntax, errors naming file, line
 * and key, hostile input (NUL, control bytes, long lines, huge files,
 * random bytes), and the checks across keys.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "intel/geo.h"
#include "net/serve_conf.h"
#include "tap.h"

static int
parse(struct bw_serve_conf *c, const char *text, struct bw_err *err)
{
	bw_serve_conf_init(c);
	return bw_serve_conf_parse(c, text, strlen(text), "t.conf", err);
}

static void
test_defaults(void)
{
	struct bw_serve_conf c;
	struct bw_http_config h;
	struct bw_err err;

	bw_serve_conf_init(&c);
	CHECK_STR(c.listen, "127.0.0.1:8080");
	CHECK_STR(c.db, "");
	CHECK_INT(c.threads, 4);
	CHECK_INT(c.max_connections, 1024);
	CHECK_INT(c.connection_timeout, 30);
	CHECK_INT(c.max_header_bytes, 8192);
	CHECK_INT(c.log_requests, 1);
	CHECK_INT(c.insecure_plain_http, 0);
	CHECK_INT(c.ntrusted, 0);
	CHECK_INT(c.taxii_max_content_length, 10 * 1024 * 1024);
	CHECK_STR(c.geo_country_db, "");
	CHECK_INT(c.ngeo_asn_csv, 0);
	CHECK_STR(c.report_dir, "var/reports");
	CHECK(c.report_period == 7 * 86400);
	CHECK_INT(c.disrupt_auto, 1);
	CHECK(c.disrupt_interval == 10);
	CHECK(c.index_snapshot == 300);
	CHECK_INT(c.policy.min_confidence, 80);
	CHECK_INT(c.policy.min_sources, 2);
	CHECK(bw_serve_conf_eligible(&c) == NULL);
	{
		struct bw_geo *g = (struct bw_geo *)&c; /* overwritten */
		CHECK_INT(bw_serve_conf_geo(&c, &g, &err), BW_OK);
		CHECK(g == NULL);
	}
	memset(&h, 0, sizeof(h));
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_OK);
	CHECK_STR(h.addr, "127.0.0.1");
	CHECK_INT(h.port, 8080);
	/* an empty file and a file of comments change nothing */
	CHECK_INT(parse(&c, "", &err), BW_OK);
	CHECK_INT(parse(&c, "# nothing\n\n   \t\n  # indented comment\n", &err), BW_OK);
	CHECK_INT(c.threads, 4);
}

static void
test_every_key(void)
{
	static const char text[] =
		"# a full configuration\r\n"
		"listen = [::1]:8443\n"
		"check_listen = [::1]:8081\n"
		"db=/var/lib/bulwark/bulwark.db\n"
		"  threads\t=\t8  \n"
		"tls_cert = /etc/bulwark/cert.pem\n"
		"tls_key = /etc/bulwark/key.pem\r\n"
		"insecure_plain_http = no\n"
		"trusted_proxies = 127.0.0.1, 10.0.0.0/8 2001:db8::/32,::1\n"
		"max_connections = 100\n"
		"connection_timeout = 5\n"
		"max_header_bytes = 16384\n"
		"log_requests = off\n"
		"smtp = mail.example:2525\n"
		"mail_from = bulwark@cert.example\n"
		"public_url = https://bulwark.example/\n"
		"delivery_attempts = 5\n"
		"taxii_max_content_length = 65536\n"
		"geo_country_db = /var/geo/c.mmdb\n"
		"geo_asn_csv = /var/geo/a4.csv , /var/geo/a6.csv\n"
		"eligible_countries = de,FR  ee, de\n"
		"dns = 127.0.0.1:5354\n"
		"rpz_zone = rpz.cert.example.\n"
		"rpz_notify = 127.0.0.1:53, [::1]:5300\n"
		"rpz_allow_transfer = 192.0.2.0/24\n"
		"rpz_serial_base = 4000000000\n"
		"rpz_tsig = xfr-key:a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=\n"
		"dnsbl = no\n"
		"dnsbl_clients = 10.0.0.0/8, 127.0.0.1\n"
		"dnsbl_clear = no\n"
		"dnsbl_zone = bl.cert.example\n"
		"dnsbl_domain_zone = dbl.cert.example\n"
		"report_dir = /var/lib/bulwark/reports\n"
		"report_period = 1d\n"
		"disrupt_auto = no\n"
		"disrupt_interval = 30s\n"
		"disrupt_min_confidence = 90\n"
		"disrupt_min_sources = 3\n"
		"disrupt_expiry = 2w\n"
		"disrupt_blast_radius = 50\n"
		"disrupt_min_score = 0.3\n"
		"disrupt_sinkhole = 192.0.2.53\n"
		"disrupt_guard_dir = /usr/share/bulwark/guard\n"
		"delivery_ca_file = /etc/bulwark/tenant-ca.pem\n"
		"index_snapshot = 30s\n";
	struct bw_serve_conf c;
	struct bw_err err;
	size_t nkeys = 0;

	CHECK_INT(parse(&c, text, &err), BW_OK);
	CHECK_STR(c.listen, "[::1]:8443");
	CHECK_STR(c.db, "/var/lib/bulwark/bulwark.db");
	CHECK_INT(c.threads, 8);
	CHECK_STR(c.tls_cert, "/etc/bulwark/cert.pem");
	CHECK_STR(c.tls_key, "/etc/bulwark/key.pem");
	CHECK_INT(c.insecure_plain_http, 0);
	CHECK_INT(c.ntrusted, 4);
	CHECK_INT(c.trusted[1].bits, 8);
	CHECK_INT(c.trusted[2].bits, 32);
	CHECK_INT(c.trusted[3].bits, 128);
	CHECK_INT(c.max_connections, 100);
	CHECK_INT(c.connection_timeout, 5);
	CHECK_INT(c.max_header_bytes, 16384);
	CHECK_INT(c.log_requests, 0);
	CHECK_STR(c.smtp, "mail.example:2525");
	CHECK_STR(c.mail_from, "bulwark@cert.example");
	CHECK_STR(c.public_url, "https://bulwark.example"); /* no trailing slash */
	CHECK_INT(c.delivery_attempts, 5);
	CHECK_INT(c.taxii_max_content_length, 65536);
	CHECK_STR(c.geo_country_db, "/var/geo/c.mmdb");
	CHECK_INT(c.ngeo_asn_csv, 2);
	CHECK_STR(c.geo_asn_csv[0], "/var/geo/a4.csv");
	CHECK_STR(c.geo_asn_csv[1], "/var/geo/a6.csv");
	/* sorted, without the repeated DE */
	CHECK_INT(c.has_eligible, 1);
	CHECK_INT(c.eligible.n, 3);
	CHECK_STR(c.eligible.cc[0], "DE");
	CHECK_STR(c.eligible.cc[1], "EE");
	CHECK_STR(c.eligible.cc[2], "FR");
	CHECK(bw_serve_conf_eligible(&c) == &c.eligible);
	CHECK_STR(c.dns, "127.0.0.1:5354");
	CHECK(c.dns_given && !c.dns_off);
	CHECK_STR(c.rpz_zone, "rpz.cert.example.");
	CHECK_INT(c.nrpz_notify, 2);
	CHECK_STR(c.rpz_notify[1].addr, "::1");
	CHECK_INT(c.rpz_notify[1].port, 5300);
	CHECK_INT(c.nrpz_allow_transfer, 1);
	CHECK_INT(c.rpz_allow_transfer[0].bits, 24);
	CHECK(c.rpz_serial_base == 4000000000ul);
	CHECK_STR(c.rpz_tsig, "xfr-key:a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=");
	CHECK_INT(bw_serve_conf_set(&c, "rpz_tsig", "xfr-key:not base64!", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "rpz_tsig", "no-secret", &err), BW_EINVAL);
	CHECK_INT(c.dnsbl, 0);
	CHECK_INT(c.ndnsbl_clients, 2);
	CHECK_INT(c.dnsbl_clear, 0);
	CHECK_STR(c.dnsbl_zone, "bl.cert.example");
	CHECK_STR(c.dnsbl_domain_zone, "dbl.cert.example");
	CHECK_STR(c.report_dir, "/var/lib/bulwark/reports");
	CHECK(c.report_period == 86400);
	CHECK_INT(bw_serve_conf_set(&c, "report_period", "no", &err), BW_OK);
	CHECK(c.report_period == 0);
	CHECK_INT(bw_serve_conf_set(&c, "report_period", "5m", &err), BW_EINVAL);
	CHECK(strstr(err.msg, "report_period") != NULL);
	CHECK_INT(bw_serve_conf_set(&c, "report_period", "1x", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "report_dir", "", &err), BW_EINVAL);
	CHECK_INT(c.disrupt_auto, 0);
	CHECK(c.disrupt_interval == 30);
	CHECK(c.index_snapshot == 30);
	CHECK_INT(bw_serve_conf_set(&c, "index_snapshot", "no", &err), BW_OK);
	CHECK(c.index_snapshot == 0);
	CHECK_INT(bw_serve_conf_set(&c, "index_snapshot", "2d", &err), BW_EINVAL);
	CHECK(strstr(err.msg, "index_snapshot") != NULL);
	CHECK_INT(bw_serve_conf_set(&c, "index_snapshot", "1s", &err), BW_OK);
	CHECK(c.index_snapshot == 1);
	CHECK_INT(c.policy.min_confidence, 90);
	CHECK_INT(c.policy.min_sources, 3);
	CHECK(c.policy.ttl == 14 * 86400);
	CHECK_INT(c.policy.blast_radius, 50);
	CHECK(c.policy.min_score > 0.29 && c.policy.min_score < 0.31);
	CHECK_STR(c.policy.sinkhole, "192.0.2.53");
	CHECK_STR(c.policy.guard_dir, "/usr/share/bulwark/guard");
	CHECK_STR(c.delivery_ca_file, "/etc/bulwark/tenant-ca.pem");
	CHECK_INT(bw_serve_conf_set(&c, "disrupt_min_sources", "0", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "disrupt_interval", "2d", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "rpz_notify", "127.0.0.1:0", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "rpz_zone", "a..b", &err), BW_EINVAL);
	CHECK_INT(bw_serve_conf_set(&c, "dns", "no", &err), BW_OK);
	CHECK_INT(c.dns_off, 1);
	/* the table of keys is what the file above used, no more */
	for (size_t i = 0; bw_serve_conf_keys[i]; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "%s", bw_serve_conf_keys[i]);
		CHECK(strstr(text, needle) != NULL);
		nkeys++;
	}
	CHECK_INT(nkeys, 44);
	CHECK_STR(c.check_listen, "[::1]:8081");
	/* the command line overrides the file */
	CHECK_INT(bw_serve_conf_set(&c, "threads", "2", &err), BW_OK);
	CHECK_INT(c.threads, 2);
	CHECK_INT(bw_serve_conf_set(&c, "log_requests", "yes", &err), BW_OK);
	CHECK_INT(c.log_requests, 1);
	CHECK_INT(bw_serve_conf_set(&c, "trusted_proxies", "192.0.2.1", &err), BW_OK);
	CHECK_INT(c.ntrusted, 1);
}

/* Parses text and expects rc with msg in the error. */
static void
bad(const char *text, size_t len, int rc, const char *msg)
{
	struct bw_serve_conf c;
	struct bw_err err;
	int got;

	bw_serve_conf_init(&c);
	memset(&err, 0, sizeof(err));
	got = bw_serve_conf_parse(&c, text, len, "t.conf", &err);
	CHECK_INT(got, rc);
	if (!CHECK(strstr(err.msg, msg) != NULL))
		printf("#   message: %s\n#   wanted:  %s\n", err.msg, msg);
}

#define BAD(text, rc, msg) bad(text, sizeof(text) - 1, rc, msg)

static void
test_errors(void)
{
	BAD("threads = 4\nnope = 1\n", BW_EINVAL, "t.conf:2: nope: unknown key");
	BAD("\n\nthreads = 4\n# x\nthreads = 5\n", BW_EINVAL,
	    "t.conf:5: threads: given twice (first on line 3)");
	BAD("threads 4\n", BW_EFORMAT, "t.conf:1: 'key = value' expected");
	/* notifications (issue 7) */
	BAD("smtp = mail.example\n", BW_EINVAL, "t.conf:1: smtp: 'mail.example' is not HOST:PORT");
	BAD("smtp = mail.example:0\n", BW_EINVAL, "smtp: 'mail.example:0' is not HOST:PORT");
	BAD("smtp = mail.example:65536\n", BW_EINVAL, "is not HOST:PORT");
	BAD("smtp = a@b:25\n", BW_EINVAL, "is not HOST:PORT");
	BAD("mail_from = nobody\n", BW_EINVAL, "mail_from: 'nobody' is not a mail address");
	BAD("mail_from = <a@b.example>\n", BW_EINVAL, "is not a mail address");
	BAD("public_url = ftp://x.example\n", BW_EINVAL, "public_url: 'ftp://x.example' is not an http(s) URL");
	BAD("delivery_attempts = 0\n", BW_EINVAL, "delivery_attempts: '0' is not a number from 1 to 100");
	BAD("delivery_attempts = 101\n", BW_EINVAL, "delivery_attempts: '101'");
	BAD(" = 4\n", BW_EFORMAT, "t.conf:1: no key before '='");
	BAD("db =\n", BW_EINVAL, "t.conf:1: db: no value");
	BAD("threads = 0\n", BW_EINVAL, "t.conf:1: threads: '0' is not a number from 1 to 256");
	BAD("threads = 257\n", BW_EINVAL, "threads: '257' is not a number");
	BAD("threads = -1\n", BW_EINVAL, "threads: '-1' is not a number");
	BAD("threads = 4x\n", BW_EINVAL, "threads: '4x' is not a number");
	BAD("threads = 99999999999999999999999\n", BW_EINVAL, "threads: '99999999999999999999999'");
	BAD("threads = 0x10\n", BW_EINVAL, "threads: '0x10'");
	BAD("max_header_bytes = 100\n", BW_EINVAL, "max_header_bytes: '100' is not a number from 4096");
	BAD("connection_timeout = 3601\n", BW_EINVAL, "connection_timeout:");
	BAD("max_connections = 65537\n", BW_EINVAL, "max_connections:");
	BAD("taxii_max_content_length = 1023\n", BW_EINVAL,
	    "t.conf:1: taxii_max_content_length: '1023' is not a number from 1024 to 268435456");
	BAD("taxii_max_content_length = 268435457\n", BW_EINVAL, "taxii_max_content_length:");
	BAD("geo_asn_csv = a.csv,,b.csv\n", BW_EINVAL, "geo_asn_csv: empty path in the list");
	BAD("geo_asn_csv = a,b,c,d,e\n", BW_ELIMIT, "geo_asn_csv: more than 4 files");
	BAD("eligible_countries = DE, DEU\n", BW_EINVAL,
	    "t.conf:1: eligible_countries: 'DEU' is not an ISO 3166-1 alpha-2 code");
	BAD("eligible_countries = uk\n", BW_EINVAL, "'uk' is not an ISO 3166-1 code: the United Kingdom is GB");
	BAD("eligible_countries = EL\n", BW_EINVAL, "Greece is GR");
	BAD("eligible_countries = D1\n", BW_EINVAL, "'D1' is not");
	BAD("eligible_countries = , ,\n", BW_EINVAL, "eligible_countries: no country given");
	BAD("log_requests = maybe\n", BW_EINVAL, "t.conf:1: log_requests: 'maybe' is not yes or no");
	BAD("insecure_plain_http = YES\n", BW_EINVAL, "insecure_plain_http: 'YES'");
	BAD("listen = example.org:80\n", BW_EINVAL, "t.conf:1: listen: listen address: 'example.org'");
	BAD("listen = 127.0.0.1\n", BW_EINVAL, "t.conf:1: listen:");
	BAD("listen = ::1:80\n", BW_EINVAL, "write IPv6 as [ADDR]:PORT");
	BAD("listen = 127.0.0.1:65536\n", BW_EINVAL, "bad port");
	BAD("check_listen = 127.0.0.1\n", BW_EINVAL, "t.conf:1: check_listen:");
	BAD("trusted_proxies = 10.0.0.1/33\n", BW_EINVAL, "trusted_proxies: '10.0.0.1/33': bad prefix length");
	BAD("trusted_proxies = 10.0.0.1/8\n", BW_EINVAL, "bits set beyond the prefix length");
	BAD("trusted_proxies = 10.0.0.0/\n", BW_EINVAL, "bad prefix length");
	BAD("trusted_proxies = proxy.example\n", BW_EINVAL, "'proxy.example' is not an address or CIDR");
	BAD("trusted_proxies = ,, ,\n", BW_EINVAL, "trusted_proxies: no address given");
	BAD("trusted_proxies = 10.0.0.0/8 bogus\n", BW_EINVAL, "'bogus'");
	BAD("threads = 4\ndb = a\0b\n", BW_EFORMAT, "t.conf:2: NUL byte");
	BAD("db = a\033[2Jb\n", BW_EFORMAT, "t.conf:1: control character 0x1b");
	BAD("db = a\x7f\n", BW_EFORMAT, "control character 0x7f");
	/* an unknown key is named, but cut short */
	BAD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n",
	    BW_EINVAL, "t.conf:1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: unknown key");
}

static void
test_limits(void)
{
	size_t big = BW_SERVE_CONF_FILE_MAX + 1, n;
	char *text = bw_malloc(big + 1);
	char *path;

	if (!CHECK(text != NULL))
		return;
	/* a line one byte over the limit */
	n = (size_t)snprintf(text, big, "db = ");
	memset(text + n, 'a', BW_SERVE_CONF_LINE_MAX + 1 - n);
	text[BW_SERVE_CONF_LINE_MAX + 1] = '\n';
	bad(text, BW_SERVE_CONF_LINE_MAX + 2, BW_ELIMIT, "t.conf:1: line longer than 4096 bytes");
	/* a line at the limit is read, but a path that long is refused */
	text[BW_SERVE_CONF_LINE_MAX] = '\n';
	bad(text, BW_SERVE_CONF_LINE_MAX + 1, BW_ELIMIT, "t.conf:1: db: path longer than 1023 bytes");
	/* a file over the limit, even of blank lines */
	memset(text, '\n', big);
	bad(text, big, BW_ELIMIT, "t.conf: larger than 65536 bytes");
	/* as many lines as fit, all comments */
	bad(text, big - 1, BW_OK, "");
	/* more than 64 trusted proxies */
	n = (size_t)snprintf(text, big, "trusted_proxies =");
	for (int i = 0; i < BW_SERVE_TRUSTED_MAX + 1; i++)
		n += (size_t)snprintf(text + n, big - n, " 10.0.%d.1", i);
	n += (size_t)snprintf(text + n, big - n, "\n");
	bad(text, n, BW_ELIMIT, "trusted_proxies: more than 64 entries");
	bw_free(text);

	/* load: a missing file, and a real one */
	{
		struct bw_serve_conf c;
		struct bw_err err;
		char tmpl[] = "/tmp/bw-conf-XXXXXX";
		int fd = mkstemp(tmpl);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		bw_serve_conf_init(&c);
		CHECK_INT(bw_serve_conf_load(&c, "/nonexistent/bulwark.conf", &err), BW_EIO);
		CHECK(strstr(err.msg, "/nonexistent/bulwark.conf") != NULL);
		if (CHECK(f != NULL)) {
			fputs("threads = 3\nmax_connections = x\n", f);
			fclose(f);
			CHECK_INT(bw_serve_conf_load(&c, tmpl, &err), BW_EINVAL);
			path = strstr(err.msg, tmpl);
			CHECK(path == err.msg);
			CHECK(strstr(err.msg, ":2: max_connections: 'x'") != NULL);
			CHECK_INT(c.threads, 3);
			/* not a PEM file */
			{
				char *pem = NULL;
				CHECK_INT(bw_serve_conf_read_pem(tmpl, "tls_cert", &pem, &err), BW_EFORMAT);
				CHECK(pem == NULL);
				CHECK(strstr(err.msg, "is not a PEM file") != NULL);
			}
			unlink(tmpl);
		}
	}
}

/* Random bytes, random lines of key = junk: never a crash, always a clear
 * answer. */
static void
test_hostile(void)
{
	static const char alphabet[] = "= #\t\r\nabcdefghijklmnopqrstuvwxyz_0123456789.:/[],-\x01\xff";
	uint32_t s = 12345;
	char buf[512];
	int ok_count = 0, err_count = 0, bad_msg = 0, bad_value = 0;

	for (int round = 0; round < 20000; round++) {
		struct bw_serve_conf c;
		struct bw_err err;
		size_t n;
		int rc;

		s = s * 1103515245u + 12345u;
		n = (s >> 16) % sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			s = s * 1103515245u + 12345u;
			if (round % 2)
				buf[i] = (char)(s >> 16);
			else
				buf[i] = alphabet[(s >> 16) % (sizeof(alphabet) - 1)];
		}
		/* sometimes start with a real key */
		if (round % 3 == 0 && n > 20) {
			const char *k = bw_serve_conf_keys[(s >> 8) % 11];
			size_t kl = strlen(k);
			memcpy(buf, k, kl);
			buf[kl] = '=';
		}
		bw_serve_conf_init(&c);
		memset(&err, 0, sizeof(err));
		rc = bw_serve_conf_parse(&c, buf, n, "f", &err);
		if (rc == BW_OK) {
			ok_count++;
		} else {
			err_count++;
			if (strncmp(err.msg, "f:", 2) != 0)
				bad_msg++;
		}
		/* whatever was accepted is within the limits */
		if (c.threads < 1 || c.threads > 256 || c.ntrusted > BW_SERVE_TRUSTED_MAX ||
		    c.max_header_bytes < BW_HTTP_HEADER_BYTES_MIN || c.max_connections < 1)
			bad_value++;
	}
	CHECK_INT(bad_value, 0);
	printf("# hostile: %d accepted, %d refused\n", ok_count, err_count);
	CHECK(err_count > 0);
	CHECK(ok_count > 0);
	CHECK_INT(bad_msg, 0);
}

static void
test_prefixes(void)
{
	struct bw_http_prefix p[4];
	struct bw_err err;

	CHECK_INT(bw_http_prefix_parse("192.0.2.0/24", &p[0], &err), BW_OK);
	CHECK_INT(bw_http_prefix_parse("2001:db8::/32", &p[1], &err), BW_OK);
	CHECK_INT(bw_http_prefix_parse("10.1.2.3", &p[2], &err), BW_OK);
	CHECK_INT(p[2].bits, 32);
	CHECK_INT(bw_http_prefix_parse("0.0.0.0/0", &p[3], &err), BW_OK);
	CHECK_INT(bw_http_prefix_match(p, 3, "192.0.2.200"), 1);
	CHECK_INT(bw_http_prefix_match(p, 3, "192.0.3.1"), 0);
	CHECK_INT(bw_http_prefix_match(p, 3, "2001:db8:ffff::1"), 1);
	CHECK_INT(bw_http_prefix_match(p, 3, "2001:db9::1"), 0);
	CHECK_INT(bw_http_prefix_match(p, 3, "10.1.2.3"), 1);
	CHECK_INT(bw_http_prefix_match(p, 3, "10.1.2.4"), 0);
	/* an IPv4-mapped peer (a dual-stack socket) is its IPv4 address */
	CHECK_INT(bw_http_prefix_match(p, 3, "::ffff:192.0.2.9"), 1);
	CHECK_INT(bw_http_prefix_match(p, 3, "::ffff:192.0.3.9"), 0);
	CHECK_INT(bw_http_prefix_match(p, 3, "not an address"), 0);
	CHECK_INT(bw_http_prefix_match(p, 3, "-"), 0);
	CHECK_INT(bw_http_prefix_match(p, 0, "192.0.2.1"), 0);
	CHECK_INT(bw_http_prefix_match(&p[3], 1, "203.0.113.1"), 1);
	CHECK_INT(bw_http_prefix_match(&p[3], 1, "::1"), 0);
	/* odd prefix lengths */
	CHECK_INT(bw_http_prefix_parse("10.128.0.0/9", &p[0], &err), BW_OK);
	CHECK_INT(bw_http_prefix_match(p, 1, "10.200.1.1"), 1);
	CHECK_INT(bw_http_prefix_match(p, 1, "10.127.1.1"), 0);
	CHECK_INT(bw_http_prefix_parse("10.192.0.0/9", &p[0], &err), BW_EINVAL);
	CHECK_INT(bw_http_prefix_parse("10.0.0.0/+8", &p[0], &err), BW_EINVAL);
	CHECK_INT(bw_http_prefix_parse("10.0.0.0/08x", &p[0], &err), BW_EINVAL);
	CHECK_INT(bw_http_prefix_parse("::/129", &p[0], &err), BW_EINVAL);
	CHECK_INT(bw_http_prefix_parse("/8", &p[0], &err), BW_EINVAL);
}

static void
test_check(void)
{
	struct bw_serve_conf c;
	struct bw_http_config h;
	struct bw_err err;

	memset(&h, 0, sizeof(h));
	/* plain HTTP beyond loopback needs the explicit yes */
	CHECK_INT(parse(&c, "listen = 192.0.2.1:80\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "not a loopback address") != NULL);
	CHECK_INT(parse(&c, "listen = 192.0.2.1:80\ninsecure_plain_http = yes\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_OK);
	CHECK_STR(h.addr, "192.0.2.1");
	CHECK_INT(parse(&c, "listen = [::1]:0\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_OK);
	CHECK_STR(h.addr, "::1");
	/* the check listener is plain HTTP: the same rule */
	memset(&h, 0, sizeof(h));
	CHECK_INT(parse(&c, "check_listen = 192.0.2.1:81\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "check_listen") != NULL);
	CHECK_INT(parse(&c, "check_listen = 192.0.2.1:81\ninsecure_plain_http = yes\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_OK);
	CHECK_STR(h.check_addr, "192.0.2.1");
	CHECK_INT(h.check_port, 81);
	memset(&h, 0, sizeof(h));
	CHECK_INT(parse(&c, "check_listen = no\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_OK);
	CHECK_STR(h.check_addr, "");
	/* TLS keys go together, and their files must be readable PEM */
	CHECK_INT(parse(&c, "tls_cert = /nonexistent/cert.pem\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "tls_key is missing") != NULL);
	CHECK_INT(parse(&c, "tls_key = /nonexistent/key.pem\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "tls_cert is missing") != NULL);
	CHECK_INT(parse(&c, "tls_cert = /nonexistent/cert.pem\ntls_key = /nonexistent/key.pem\n"
			    "listen = 192.0.2.1:443\n", &err), BW_OK);
	CHECK_INT(bw_serve_conf_check(&c, &h, &err), bw_http_tls_supported() ? BW_EIO : BW_EINVAL);
	CHECK(strstr(err.msg, "tls_cert") != NULL);
}

/* geo_asn_csv and geo_country_db load through bw_serve_conf_geo */
static void
test_geo_files(void)
{
	const char *data = getenv("BW_TEST_DATA");
	struct bw_serve_conf c;
	struct bw_geo *g = NULL;
	struct bw_geo_asn a;
	struct bw_err err;
	char v[2048];

	if (data == NULL) {
		CHECK(!"BW_TEST_DATA is set");
		return;
	}
	bw_serve_conf_init(&c);
	snprintf(v, sizeof(v), "%s/geo/asn-ipv4.csv,%s/geo/asn-ipv6.csv", data, data);
	CHECK_INT(bw_serve_conf_set(&c, "geo_asn_csv", v, &err), BW_OK);
	CHECK_INT(bw_serve_conf_geo(&c, &g, &err), BW_OK);
	if (CHECK(g != NULL)) {
		CHECK(bw_geo_has_asn(g));
		CHECK(!bw_geo_has_country(g));
		/* the first line of asn-ipv4.csv: 1.0.0.0-1.0.0.255 AS13335 */
		CHECK_INT(bw_geo_asn(g, "1.0.0.7", &a, &err), BW_OK);
		CHECK_INT((int)a.asn, 13335);
	}
	bw_geo_free(g);
	g = NULL;
	snprintf(v, sizeof(v), "%s/geo/bad-addr.csv", data);
	CHECK_INT(bw_serve_conf_set(&c, "geo_asn_csv", v, &err), BW_OK);
	CHECK(bw_serve_conf_geo(&c, &g, &err) != BW_OK);
	CHECK(g == NULL);
	CHECK(strncmp(err.msg, "geo_asn_csv: ", 13) == 0);
	bw_serve_conf_init(&c);
	CHECK_INT(bw_serve_conf_set(&c, "geo_country_db", "/nonexistent/c.mmdb", &err), BW_OK);
	CHECK(bw_serve_conf_geo(&c, &g, &err) != BW_OK);
	CHECK(strncmp(err.msg, "geo_country_db: ", 16) == 0);
	CHECK(g == NULL);
}

int
main(void)
{
	TAP_RUN(test_defaults);
	TAP_RUN(test_every_key);
	TAP_RUN(test_errors);
	TAP_RUN(test_limits);
	TAP_RUN(test_hostile);
	TAP_RUN(test_prefixes);
	TAP_RUN(test_check);
	TAP_RUN(test_geo_files);
	return tap_done();
}
