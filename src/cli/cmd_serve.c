/*
 * cmd_serve.c - bulwark serve: the daemon.  Wires the store, the API
 * (src/net/api.h) and the HTTP server (src/net/http.h) together, waits for
 * SIGTERM or SIGINT and shuts down cleanly.
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
#include "core/timeutil.h"
#include "net/api.h"
#include "net/http.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark serve [--listen ADDR:PORT] [--db PATH] [--threads N] [--demo]\n"
	"                     [--insecure-plain-http]\n";

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_THREADS 4

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

int
bw_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 't'},
		{"demo", no_argument, NULL, 'D'},
		{"insecure-plain-http", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_http_config hc;
	struct bw_api_config ac;
	struct bw_api *api = NULL;
	struct bw_http *http = NULL;
	struct bw_err err;
	const char *listen = DEFAULT_LISTEN, *db = NULL;
	sigset_t sigs;
	long threads = DEFAULT_THREADS;
	int c, sig = 0, demo = 0, insecure = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 't':
			if (bw_cli_parse_int(optarg, 1, BW_HTTP_THREADS_MAX, &threads))
				return bw_cli_usage_error("serve", "--threads takes 1 to %d",
							  BW_HTTP_THREADS_MAX);
			break;
		case 'D': demo = 1; break;
		case 'I': insecure = 1; break;
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
	memset(&hc, 0, sizeof(hc));
	if (bw_http_parse_listen(listen, &hc, &err))
		return bw_cli_usage_error("serve", "--listen: %s", err.msg);
	hc.allow_plain_remote = insecure;
	if (!bw_http_is_loopback(hc.addr) && !insecure) {
		bw_cli_error("refusing plain HTTP on %s, which is not a loopback address: "
			     "API keys would travel in clear (TLS is not available yet; "
			     "--insecure-plain-http overrides)", hc.addr);
		return BW_EXIT_ERROR;
	}
	db = bw_cli_db_path(db);

	/* before any thread exists, so that all inherit the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (demo && demo_tenants(db, &err))
		goto fail;
	memset(&ac, 0, sizeof(ac));
	ac.db_path = db;
	ac.workers = (unsigned)threads;
	ac.logger = log_stderr;
	if (bw_api_new(&ac, &api, &err))
		goto fail;
	hc.threads = (unsigned)threads;
	hc.handler = bw_api_handle;
	hc.logger = log_stderr;
	hc.ctx = api;
	if (bw_http_start(&hc, &http, &err))
		goto fail;
	{
		char ts[64];
		fprintf(stderr, "time=%s level=info event=listening addr=%s port=%u threads=%ld indicators=%zu db=%s%s\n",
			bw_time_format(bw_time_now(), ts), hc.addr, (unsigned)bw_http_port(http),
			threads, bw_api_indicators(api), db,
			insecure && !bw_http_is_loopback(hc.addr) ? " plain_http_remote=yes" : "");
	}
	if (demo) {
		printf("\nlistening on http://%s%s%s:%u/ - try:\n"
		       "  curl http://127.0.0.1:%u/healthz\n"
		       "  curl -H \"Authorization: Bearer KEY\" 'http://127.0.0.1:%u/v1/check?domain=example.com'\n"
		       "  curl http://127.0.0.1:%u/metrics\n",
		       strchr(hc.addr, ':') ? "[" : "", hc.addr, strchr(hc.addr, ':') ? "]" : "",
		       (unsigned)bw_http_port(http), (unsigned)bw_http_port(http),
		       (unsigned)bw_http_port(http), (unsigned)bw_http_port(http));
		fflush(stdout);
	}
	while (sigwait(&sigs, &sig) != 0)
		;
	{
		char ts[64];
		fprintf(stderr, "time=%s level=info event=shutdown signal=%s\n",
			bw_time_format(bw_time_now(), ts), sig == SIGTERM ? "TERM" : "INT");
	}
	bw_http_stop(http);
	bw_api_free(api);
	return BW_EXIT_OK;
fail:
	bw_cli_error("%s", err.msg);
	bw_http_stop(http);
	bw_api_free(api);
	return BW_EXIT_ERROR;
}
