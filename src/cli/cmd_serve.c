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

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "net/api.h"
#include "net/http.h"
#include "net/serve_conf.h"
#include "net/taxii.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark serve [--config FILE] [-n | --check-config] [--demo]\n"
	"                     [--listen ADDR:PORT] [--db PATH] [--threads N]\n"
	"                     [--tls-cert FILE --tls-key FILE]\n"
	"                     [--insecure-plain-http[=yes|no]] [--trusted-proxies LIST]\n"
	"                     [--max-connections N] [--connection-timeout SECONDS]\n"
	"                     [--max-header-bytes N] [--log-requests=yes|no]\n";

/* Command-line options that set a configuration key: the key is the
 * option's name with '_' for '-'. */
#define MAX_OVERRIDES 64

static void
log_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

/* The demo tenants: created if missing, each given a new key, printed. */
static int
demo_tenants(const char *db, struct bw_err *err)
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
			rc = bw_tenant_add(st, demo[i].cc, demo[i].name, bw_time_now(), NULL, err);
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
		{NULL, 0, NULL, 0},
	};
	struct {
		const char *opt, *value;
	} over[MAX_OVERRIDES];
	size_t nover = 0;
	struct bw_serve_conf *conf = NULL;
	struct bw_http_config hc;
	struct bw_api_config ac;
	struct bw_api *api = NULL;
	struct bw_http *http = NULL;
	struct bw_err err;
	const char *config = NULL, *db;
	char *cert = NULL, *key = NULL;
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

	if (demo && demo_tenants(db, &err))
		goto fail;
	memset(&ac, 0, sizeof(ac));
	ac.db_path = db;
	ac.workers = conf->threads;
	ac.logger = log_stderr;
	ac.no_request_log = !conf->log_requests;
	ac.trusted_proxies = conf->trusted;
	ac.ntrusted_proxies = conf->ntrusted;
	if (bw_api_new(&ac, &api, &err))
		goto fail;
	hc.allow_plain_remote = conf->insecure_plain_http;
	hc.threads = conf->threads;
	hc.max_connections = conf->max_connections;
	hc.idle_timeout = conf->connection_timeout;
	hc.max_header_bytes = conf->max_header_bytes;
	/* TAXII's inbound collection: bodies up to its max_content_length */
	hc.body_prefix = BW_TAXII_PREFIX;
	hc.max_body_bytes = BW_TAXII_MAX_CONTENT_LENGTH;
	hc.body_gate = bw_api_body_gate;
	hc.tls_cert_pem = cert;
	hc.tls_key_pem = key;
	hc.handler = bw_api_handle;
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
		fprintf(stderr, "time=%s level=info event=listening addr=%s port=%u tls=%s threads=%u trusted_proxies=%zu indicators=%zu db=%s%s\n",
			bw_time_format(bw_time_now(), ts), hc.addr, (unsigned)bw_http_port(http),
			tls ? "yes" : "no", conf->threads, conf->ntrusted, bw_api_indicators(api), db,
			!tls && conf->insecure_plain_http && !bw_http_is_loopback(hc.addr)
				? " plain_http_remote=yes" : "");
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
	bw_http_stop(http);
	bw_api_free(api);
	if (key) {
		explicit_bzero(key, strlen(key));
		bw_free(key);
	}
	bw_free(cert);
	bw_free(conf);
	return rc;
}
