/*
 * cmd_serve.c - bulwark serve: the daemon.  Reads the configuration
 * (src/net/serve_conf.h: the file first, then each command-line option
 * over it), wires the store, the API (src/net/api.h) and the HTTP server
 * (src/net/http.h) together, waits for SIGTERM or SIGINT and shuts down
 * cleanly.  -n checks the configuration and exits.
 *
 * The signals are blocked before any thread starts, so every thread
 * inherits the mask and only the main thread receives them, in sigwait():
 * no signal handler, no global flag.  Logs go to standard error, one
 * logfmt line each; the demo keys go to standard output, once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "intel/geo.h"
#include "net/api.h"
#include "net/dns.h"
#include "net/http.h"
#include "net/serve_conf.h"
#include "net/taxii.h"
#include "net/incident_api.h"
#include "disrupt/clock.h"
#include "intel/model.h"
#include "share/deliver.h"
#include "share/report_sched.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark serve [--config FILE] [-n | --check-config] [--demo]\n"
	"                     [--listen ADDR:PORT] [--db PATH] [--threads N]\n"
	"                     [--check-listen ADDR:PORT|no]\n"
	"                     [--tls-cert FILE --tls-key FILE]\n"
	"                     [--insecure-plain-http[=yes|no]] [--trusted-proxies LIST]\n"
	"                     [--max-connections N] [--connection-timeout SECONDS]\n"
	"                     [--max-header-bytes N] [--log-requests=yes|no]\n"
	"                     [--taxii-max-content-length N] [--geo-country-db FILE]\n"
	"                     [--geo-asn-csv FILE[,FILE]] [--eligible-countries LIST]\n"
	"                     [--dns ADDR:PORT|no] [--rpz-zone NAME] [--rpz-notify ADDR:PORT[,...]]\n"
	"                     [--rpz-allow-transfer LIST] [--rpz-serial-base N]\n"
	"                     [--rpz-tsig NAME:BASE64]\n"
	"                     [--dnsbl=yes|no] [--dnsbl-clients LIST] [--dnsbl-clear=yes|no]\n"
	"                     [--dnsbl-zone NAME] [--dnsbl-domain-zone NAME]\n"
	"                     [--smtp HOST:PORT] [--mail-from ADDR] [--public-url URL]\n"
	"                     [--delivery-attempts N] [--delivery-ca-file FILE]\n"
	"                     [--report-dir DIR] [--report-period PERIOD|no]\n"
	"                     [--index-snapshot PERIOD|no]\n";

/* Command-line options that set a configuration key: the key is the
 * option's name with '_' for '-'. */
#define MAX_OVERRIDES 64

static void
log_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

/* The demo tenants: created if missing (when eligible), each given a new
 * key, printed. */
static int
demo_tenants(const char *db, const struct bw_tenant_eligible *eligible,
	     struct bw_err *err)
{
	static const struct {
		const char *cc, *name;
	} demo[] = {
		{"DE", "Demo CERT Germany"},
		{"FR", "Demo CERT France"},
		{"EE", "Demo CERT Estonia"},
	};
	struct bw_store *st = NULL;
	struct bw_tenant t;
	char key[BW_API_KEY_BUF];
	int rc;

	rc = bw_store_open(db, 0, &st, err);
	if (rc)
		return rc;
	printf("demo API keys (shown once; new ones at every start with --demo):\n");
	for (size_t i = 0; i < sizeof(demo) / sizeof(demo[0]); i++) {
		rc = bw_tenant_get(st, demo[i].cc, &t, err);
		if (rc == BW_ENOTFOUND)
			rc = bw_tenant_add_eligible(st, eligible, demo[i].cc, demo[i].name,
						    bw_time_now(), NULL, err);
		if (rc == BW_OK)
			rc = bw_tenant_key_add(st, demo[i].cc, bw_time_now(), key, NULL, err);
		if (rc)
			goto out;
		printf("  %s  %s\n", demo[i].cc, key);
	}
	fflush(stdout);
out:
	bw_store_close(st);
	return rc;
}

/* The DNS server of the RPZ zone (src/net/dns.h).  When the address is
 * the default one and it is taken (another daemon on the machine), the
 * daemon goes on without DNS and says so; a configured address must bind. */
static int
start_dns(const struct bw_serve_conf *conf, const char *db, struct bw_dns **out,
	  struct bw_err *err)
{
	struct bw_dns_config *dc = bw_calloc(1, sizeof(*dc));
	struct bw_http_config h;
	int rc;

	if (dc == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	bw_dns_config_init(dc);
	memset(&h, 0, sizeof(h));
	rc = bw_http_parse_listen(conf->dns, &h, err);
	if (rc)
		goto out;
	memcpy(dc->addr, h.addr, sizeof(dc->addr));
	dc->port = h.port;
	dc->db_path = db;
	snprintf(dc->rpz.zone, sizeof(dc->rpz.zone), "%s", conf->rpz_zone);
	dc->rpz.serial_base = (uint32_t)conf->rpz_serial_base;
	memcpy(dc->notify, conf->rpz_notify, sizeof(dc->notify));
	dc->nnotify = conf->nrpz_notify;
	memcpy(dc->allow, conf->rpz_allow_transfer, sizeof(dc->allow));
	dc->nallow = conf->nrpz_allow_transfer;
	if (conf->rpz_tsig[0]) {
		rc = bw_dns_parse_tsig(conf->rpz_tsig, dc, err);
		if (rc)
			goto out;
	}
	dc->dnsbl = conf->dnsbl;
	dc->dnsbl_conf.include_clear = conf->dnsbl_clear;
	snprintf(dc->dnsbl_conf.ip_zone, sizeof(dc->dnsbl_conf.ip_zone), "%s", conf->dnsbl_zone);
	snprintf(dc->dnsbl_conf.name_zone, sizeof(dc->dnsbl_conf.name_zone), "%s",
		 conf->dnsbl_domain_zone);
	memcpy(dc->dnsbl_clients, conf->dnsbl_clients, sizeof(dc->dnsbl_clients));
	dc->ndnsbl_clients = conf->ndnsbl_clients;
	dc->logger = log_stderr;
	rc = bw_dns_start(dc, out, err);
	if (rc == BW_EIO && !conf->dns_given) {
		char ts[64];
		fprintf(stderr, "time=%s level=warn event=dns_disabled error=\"%s\"\n",
			bw_time_format(bw_time_now(), ts), err->msg);
		rc = BW_OK;
	}
out:
	explicit_bzero(dc, sizeof(*dc));
	bw_free(dc);
	return rc;
}

static void
key_of(const char *opt, char *key, size_t cap)
{
	size_t i = 0;

	for (; opt[i] && i + 1 < cap; i++)
		key[i] = opt[i] == '-' ? '_' : opt[i];
	key[i] = '\0';
}

int
bw_cmd_serve(int argc, char **argv)
{
	enum { O_CONFIG = 256, O_DEMO, O_HELP, O_KEY };
	static const struct option opts[] = {
		{"config", required_argument, NULL, O_CONFIG},
		{"check-config", no_argument, NULL, 'n'},
		{"demo", no_argument, NULL, O_DEMO},
		{"help", no_argument, NULL, 'h'},
		/* from here on: configuration keys */
		{"listen", required_argument, NULL, O_KEY},
		{"check-listen", required_argument, NULL, O_KEY},
		{"db", required_argument, NULL, O_KEY},
		{"threads", required_argument, NULL, O_KEY},
		{"tls-cert", required_argument, NULL, O_KEY},
		{"tls-key", required_argument, NULL, O_KEY},
		{"insecure-plain-http", optional_argument, NULL, O_KEY},
		{"trusted-proxies", required_argument, NULL, O_KEY},
		{"max-connections", required_argument, NULL, O_KEY},
		{"connection-timeout", required_argument, NULL, O_KEY},
		{"max-header-bytes", required_argument, NULL, O_KEY},
		{"log-requests", optional_argument, NULL, O_KEY},
		{"smtp", required_argument, NULL, O_KEY},
		{"mail-from", required_argument, NULL, O_KEY},
		{"public-url", required_argument, NULL, O_KEY},
		{"delivery-attempts", required_argument, NULL, O_KEY},
		{"taxii-max-content-length", required_argument, NULL, O_KEY},
		{"geo-country-db", required_argument, NULL, O_KEY},
		{"geo-asn-csv", required_argument, NULL, O_KEY},
		{"eligible-countries", required_argument, NULL, O_KEY},
		{"dns", required_argument, NULL, O_KEY},
		{"rpz-zone", required_argument, NULL, O_KEY},
		{"rpz-notify", required_argument, NULL, O_KEY},
		{"rpz-allow-transfer", required_argument, NULL, O_KEY},
		{"rpz-serial-base", required_argument, NULL, O_KEY},
		{"rpz-tsig", required_argument, NULL, O_KEY},
		{"dnsbl", optional_argument, NULL, O_KEY},
		{"dnsbl-clients", required_argument, NULL, O_KEY},
		{"dnsbl-clear", optional_argument, NULL, O_KEY},
		{"dnsbl-zone", required_argument, NULL, O_KEY},
		{"dnsbl-domain-zone", required_argument, NULL, O_KEY},
		{"report-dir", required_argument, NULL, O_KEY},
		{"delivery-ca-file", required_argument, NULL, O_KEY},
		{"report-period", required_argument, NULL, O_KEY},
		{"index-snapshot", required_argument, NULL, O_KEY},
		{NULL, 0, NULL, 0},
	};
	struct {
		const char *opt, *value;
	} over[MAX_OVERRIDES];
	size_t nover = 0;
	struct bw_serve_conf *conf = NULL;
	struct bw_http_config hc;
	struct bw_api_config ac;
	struct bw_taxii_config tc;
	struct bw_geo *geo = NULL;
	struct bw_api *api = NULL;
	struct bw_http *http = NULL;
	struct bw_dns *dns = NULL;
	struct bw_deliver *deliver = NULL;
	struct bw_clock *clock = NULL;
	struct bw_report_runner *reports = NULL;
	struct bw_model *model = NULL;
	struct bw_err err;
	const char *config = NULL, *db;
	char *cert = NULL, *key = NULL, *snapshot = NULL;
	sigset_t sigs;
	int c, idx, sig = 0, demo = 0, check_only = 0, tls, rc = BW_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hn", opts, &idx)) != -1) {
		switch (c) {
		case O_CONFIG: config = optarg; break;
		case 'n': check_only = 1; break;
		case O_DEMO: demo = 1; break;
		case O_KEY:
			if (nover == MAX_OVERRIDES)
				return bw_cli_usage_error("serve", "too many options");
			over[nover].opt = opts[idx].name;
			over[nover].value = optarg ? optarg : "yes";
			nover++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return bw_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	conf = bw_calloc(1, sizeof(*conf));
	if (conf == NULL) {
		bw_cli_error("out of memory");
		return BW_EXIT_ERROR;
	}
	bw_serve_conf_init(conf);
	if (config && bw_serve_conf_load(conf, config, &err)) {
		bw_cli_error("%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < nover; i++) {
		char k[64];
		key_of(over[i].opt, k, sizeof(k));
		if (bw_serve_conf_set(conf, k, over[i].value, &err)) {
			/* the message starts with the key: say the option instead */
			size_t kl = strlen(k);
			const char *why = strncmp(err.msg, k, kl) == 0 && err.msg[kl] == ':'
						  ? err.msg + kl + 2 : err.msg;
			bw_free(conf);
			return bw_cli_usage_error("serve", "--%s: %s", over[i].opt, why);
		}
	}
	memset(&hc, 0, sizeof(hc));
	if (bw_serve_conf_check(conf, &hc, &err)) {
		bw_cli_error("%s%s%s", config ? config : "", config ? ": " : "", err.msg);
		goto out;
	}
	/* the geo data is read in a check too: a bad file is a bad config */
	if (bw_serve_conf_geo(conf, &geo, &err)) {
		bw_cli_error("%s%s%s", config ? config : "", config ? ": " : "", err.msg);
		goto out;
	}
	if (check_only) {
		printf("bulwark serve: no errors in %s\n", config ? config : "the command line");
		rc = BW_EXIT_OK;
		goto out;
	}
	tls = conf->tls_cert[0] != '\0';
	if (tls && (bw_serve_conf_read_pem(conf->tls_cert, "tls_cert", &cert, &err) ||
		    bw_serve_conf_read_pem(conf->tls_key, "tls_key", &key, &err))) {
		bw_cli_error("%s", err.msg);
		goto out;
	}
	db = bw_cli_db_path(conf->db[0] ? conf->db : NULL);

	/* before any thread exists, so that all inherit the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (demo && demo_tenants(db, bw_serve_conf_eligible(conf), &err))
		goto fail;
	memset(&ac, 0, sizeof(ac));
	ac.db_path = db;
	/* a worker per HTTP thread, of both listeners: the check listener's
	 * threads never wait for a TAXII request's worker */
	ac.workers = conf->threads * (hc.check_addr[0] ? 2 : 1);
	ac.logger = log_stderr;
	ac.no_request_log = !conf->log_requests;
	ac.trusted_proxies = conf->trusted;
	ac.ntrusted_proxies = conf->ntrusted;
	memset(&tc, 0, sizeof(tc));
	tc.max_content_length = conf->taxii_max_content_length;
	tc.geo = geo;
	ac.taxii = &tc;
	if (conf->index_snapshot > 0) {
		snapshot = bw_cli_snapshot_path(db);
		if (snapshot == NULL) {
			bw_err_set(&err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		ac.index_path = snapshot;
		ac.index_save_interval = conf->index_snapshot;
	}
	if (bw_api_new(&ac, &api, &err))
		goto fail;
	hc.allow_plain_remote = conf->insecure_plain_http;
	hc.threads = conf->threads;
	hc.max_connections = conf->max_connections;
	hc.idle_timeout = conf->connection_timeout;
	hc.max_header_bytes = conf->max_header_bytes;
	/* TAXII's inbound collection: bodies up to its max_content_length */
	hc.body_prefix = BW_TAXII_PREFIX;
	hc.max_body_bytes = conf->taxii_max_content_length;
	hc.body_gate = bw_api_body_gate;
	hc.refusal = bw_taxii_refusal;
	hc.tls_cert_pem = cert;
	hc.tls_key_pem = key;
	hc.handler = bw_api_handle;
	hc.check_paths = bw_api_check_paths; /* check_addr: bw_serve_conf_check */
	hc.empty_post_prefix = BW_INCIDENT_API_PREFIX;
	hc.logger = log_stderr;
	hc.ctx = api;
	if (bw_http_start(&hc, &http, &err))
		goto fail;
	if (key) {
		/* the server holds its own copy now */
		explicit_bzero(key, strlen(key));
		bw_free(key);
		key = NULL;
	}
	{
		char ts[64];
		fprintf(stderr, "time=%s level=info event=listening addr=%s port=%u tls=%s threads=%u trusted_proxies=%zu indicators=%zu geo_country=%s geo_asn=%s taxii_max_content_length=%zu db=%s%s\n",
			bw_time_format(bw_time_now(), ts), hc.addr, (unsigned)bw_http_port(http),
			tls ? "yes" : "no", conf->threads, conf->ntrusted, bw_api_indicators(api),
			geo && bw_geo_has_country(geo) ? "yes" : "no",
			geo && bw_geo_has_asn(geo) ? "yes" : "no", conf->taxii_max_content_length, db,
			!tls && conf->insecure_plain_http && !bw_http_is_loopback(hc.addr)
				? " plain_http_remote=yes" : "");
	}
	if (bw_http_check_port(http)) {
		char ts[64];
		fprintf(stderr, "time=%s level=info event=check_listening addr=%s port=%u paths=/v1/check,/v1/gate,/healthz\n",
			bw_time_format(bw_time_now(), ts), hc.check_addr,
			(unsigned)bw_http_check_port(http));
	}
	if (!conf->dns_off && start_dns(conf, db, &dns, &err))
		goto fail;
	{
		/* the outbox: webhooks, mail, incidents (src/share/deliver.h) */
		struct bw_deliver_config dc;
		const char *mpath = bw_cli_model_path(NULL);
		struct bw_err merr;
		char mts[64];

		/* the risk model is evidence for incident priority, not a
		 * requirement: without it the priority counts a neutral 0.5 */
		if (access(mpath, R_OK) == 0 && bw_model_load(mpath, &model, &merr))
			fprintf(stderr, "time=%s level=warn event=model_unusable path=%s error=\"%s\"\n",
				bw_time_format(bw_time_now(), mts), mpath, merr.msg);
		else if (model)
			fprintf(stderr, "time=%s level=info event=model_loaded path=%s\n",
				bw_time_format(bw_time_now(), mts), mpath);
		memset(&dc, 0, sizeof(dc));
		dc.db_path = db;
		dc.smtp = conf->smtp;
		dc.mail_from = conf->mail_from;
		dc.public_url = conf->public_url;
		dc.ca_file = conf->delivery_ca_file;
		dc.policy.max_attempts = (int)conf->delivery_attempts;
		dc.geo = geo;
		dc.logger = log_stderr;
		dc.model = model;
		if (bw_deliver_start(&dc, &deliver, &err))
			goto fail;
	}
	{
		/* the disruption clock: expiry, start of approved actions, and
		 * the policy over new intelligence (src/disrupt/clock.h) */
		struct bw_clock_config kc;
		memset(&kc, 0, sizeof(kc));
		kc.db_path = db;
		kc.policy = conf->policy;
		kc.run_policy = conf->disrupt_auto;
		kc.interval = conf->disrupt_interval;
		kc.model = model; /* freed after bw_clock_stop */
		kc.logger = log_stderr;
		if (bw_clock_start(&kc, &clock, &err))
			goto fail;
	}
	if (conf->report_period > 0) {
		/* periodic reports, in a thread of their own: rendering takes
		 * seconds and must not hold up deliveries */
		struct bw_report_sched rs = {.dir = conf->report_dir,
					     .period = conf->report_period, .geo = geo};
		if (bw_report_runner_start(db, &rs, log_stderr, NULL, &reports, &err))
			goto fail;
	}
	if (demo) {
		const char *scheme = tls ? "https" : "http";
		unsigned port = bw_http_port(http);
		printf("\nlistening on %s://%s%s%s:%u/ - try:\n"
		       "  curl %s%s://127.0.0.1:%u/healthz\n"
		       "  curl %s-H \"Authorization: Bearer KEY\" '%s://127.0.0.1:%u/v1/check?domain=example.com'\n"
		       "  curl %s%s://127.0.0.1:%u/metrics\n",
		       scheme, strchr(hc.addr, ':') ? "[" : "", hc.addr, strchr(hc.addr, ':') ? "]" : "",
		       port, tls ? "-k " : "", scheme, port, tls ? "-k " : "", scheme, port,
		       tls ? "-k " : "", scheme, port);
		fflush(stdout);
	}
	while (sigwait(&sigs, &sig) != 0)
		;
	{
		char ts[64];
		fprintf(stderr, "time=%s level=info event=shutdown signal=%s\n",
			bw_time_format(bw_time_now(), ts), sig == SIGTERM ? "TERM" : "INT");
	}
	rc = BW_EXIT_OK;
	goto out;
fail:
	bw_cli_error("%s", err.msg);
out:
	bw_report_runner_stop(reports);
	bw_clock_stop(clock);
	bw_deliver_stop(deliver);
	bw_model_free(model);
	bw_dns_stop(dns);
	bw_http_stop(http);
	bw_api_free(api);
	bw_geo_free(geo);
	if (key) {
		explicit_bzero(key, strlen(key));
		bw_free(key);
	}
	bw_free(cert);
	bw_free(snapshot);
	bw_free(conf);
	return rc;
}
