/*
 * cmd_outbox.c - bulwark outbox: what waits, what went, what died and
 * replaying it (src/share/outbox.h); and `bulwark tenant notify`, where a
 * tenant's notifications go (src/share/notify.h), which cmd_tenant.c
 * hands over to bw_cmd_tenant_notify.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "share/notify.h"
#include "share/outbox.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark outbox list [--state pending|delivered|dead] [--limit N] [--json]\n"
	"                           [--db PATH]\n"
	"       bulwark outbox show ID [--json] [--db PATH]\n"
	"       bulwark outbox replay ID|--all-dead [--db PATH]\n";

static json_t *
item_json(const struct bw_outbox_item *it, int with_body)
{
	json_t *o = json_object();
	char ts[BW_TIME_TEXT_MAX];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(it->id));
	json_object_set_new(o, "created", json_string(bw_time_format(it->created, ts)));
	json_object_set_new(o, "channel", json_string(it->channel));
	json_object_set_new(o, "destination", json_string(it->destination));
	json_object_set_new(o, "priority", json_integer(it->priority));
	json_object_set_new(o, "idempotency_key", json_string(it->idem_key));
	json_object_set_new(o, "subject", it->subject ? json_string(it->subject) : json_null());
	json_object_set_new(o, "state", json_string(it->state));
	json_object_set_new(o, "attempts", json_integer(it->attempts));
	json_object_set_new(o, "next_attempt", json_string(bw_time_format(it->next_attempt, ts)));
	json_object_set_new(o, "last_error", it->last_error ? json_string(it->last_error) : json_null());
	json_object_set_new(o, "delivered",
			    it->delivered ? json_string(bw_time_format(it->delivered, ts)) : json_null());
	if (with_body) {
		json_object_set_new(o, "content_type", json_string(it->content_type));
		json_object_set_new(o, "body", json_stringn((const char *)it->body, it->len));
	}
	return o;
}

int
bw_cmd_outbox(int argc, char **argv)
{
	const char *state = NULL, *limit = NULL, *db = NULL, *verb;
	struct bw_store *st = NULL;
	struct bw_err err;
	long id = 0, lim = 100;
	int c, json = 0, all_dead = 0, rc, status = BW_EXIT_OK;
	char ts[BW_TIME_TEXT_MAX];
	const struct bw_cli_opt opts[] = {
		{.name = "state", .str = &state},
		{.name = "limit", .str = &limit},
		{.name = "all-dead", .flag = &all_dead},
		{.name = "json", .flag = &json},
		{.name = "db", .str = &db},
		{.name = NULL},
	};

	if ((c = bw_cli_options(argc, argv, "outbox", usage_text, opts)) >= 0)
		return c;
	if (optind >= argc)
		return bw_cli_usage_error("outbox", "list, show or replay is required");
	verb = argv[optind];
	if (strcmp(verb, "list") == 0) {
		if (optind + 1 != argc)
			return bw_cli_usage_error("outbox", "unexpected argument '%s'", argv[optind + 1]);
		if (state && strcmp(state, "pending") != 0 && strcmp(state, "delivered") != 0 &&
		    strcmp(state, "dead") != 0)
			return bw_cli_usage_error("outbox", "--state is pending, delivered or dead");
		if (limit && bw_cli_parse_int(limit, 1, 100000, &lim))
			return bw_cli_usage_error("outbox", "--limit: a number from 1 to 100000");
		if (all_dead)
			return bw_cli_usage_error("outbox", "--all-dead is for outbox replay");
	} else if (strcmp(verb, "show") == 0) {
		if (optind + 2 != argc ||
		    bw_cli_parse_int(argv[optind + 1], 1, 0x7fffffffffffffffL, &id))
			return bw_cli_usage_error("outbox", "outbox show takes ID");
		if (state || limit || all_dead)
			return bw_cli_usage_error("outbox", "outbox show takes only ID, --json and --db");
	} else if (strcmp(verb, "replay") == 0) {
		if (all_dead ? optind + 1 != argc
			     : (optind + 2 != argc ||
				bw_cli_parse_int(argv[optind + 1], 1, 0x7fffffffffffffffL, &id)))
			return bw_cli_usage_error("outbox", "outbox replay takes ID or --all-dead");
		if (state || limit || json)
			return bw_cli_usage_error("outbox", "outbox replay takes only ID or --all-dead, and --db");
	} else {
		return bw_cli_usage_error("outbox", "unknown command '%s'", verb);
	}
	rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "list") == 0) {
		struct bw_outbox_item *it = NULL;
		size_t n = 0;
		rc = bw_outbox_list(st, state, lim, &it, &n, &err);
		if (rc)
			goto out;
		if (json) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < n; i++)
				json_array_append_new(arr, item_json(&it[i], 0));
			if (bw_cli_print_json(0, arr))
				rc = bw_err_set(&err, BW_ENOMEM, "out of memory");
		} else {
			struct bw_outbox_counts k;
			rc = bw_outbox_count(st, &k, &err);
			if (rc == BW_OK)
				printf("%ld pending, %ld delivered, %ld dead\n", k.pending, k.delivered,
				       k.dead);
			for (size_t i = 0; rc == BW_OK && i < n; i++)
				printf("%lld  %-9s  %-7s  priority %4d  attempts %d  %s  %s%s%s\n",
				       (long long)it[i].id, it[i].state, it[i].channel, it[i].priority,
				       it[i].attempts, bw_time_format(it[i].created, ts), it[i].destination,
				       it[i].last_error ? "  last error: " : "",
				       it[i].last_error ? it[i].last_error : "");
		}
		bw_outbox_items_free(it, n);
	} else if (strcmp(verb, "show") == 0) {
		struct bw_outbox_item it;
		rc = bw_outbox_get(st, id, &it, &err);
		if (rc)
			goto out;
		if (json) {
			if (bw_cli_print_json(0, item_json(&it, 1)))
				rc = bw_err_set(&err, BW_ENOMEM, "out of memory");
		} else {
			printf("id            %lld\nstate         %s\nchannel       %s\n"
			       "destination   %s\npriority      %d\nkey           %s\n"
			       "attempts      %d\n", (long long)it.id, it.state, it.channel,
			       it.destination, it.priority, it.idem_key, it.attempts);
			printf("created       %s\n", bw_time_format(it.created, ts));
			if (it.delivered)
				printf("delivered     %s\n", bw_time_format(it.delivered, ts));
			else
				printf("next attempt  %s\n", bw_time_format(it.next_attempt, ts));
			if (it.last_error)
				printf("last error    %s\n", it.last_error);
			if (it.subject)
				printf("subject       %s\n", it.subject);
			printf("content type  %s\n\n%.*s\n", it.content_type, (int)it.len,
			       (const char *)it.body);
		}
		bw_outbox_item_clear(&it);
	} else {
		long n = 0;
		rc = bw_outbox_replay(st, id, bw_time_now(), &n, &err);
		if (rc == BW_OK)
			printf("%ld message%s pending again\n", n, n == 1 ? "" : "s");
	}
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	bw_store_close(st);
	return status;
}

/* ---- tenant notify ---------------------------------------------------------- */

static const char notify_usage[] =
	"usage: bulwark tenant notify CC [--webhook URL|none] [--secret S]\n"
	"                            [--digest PERIOD|off] [--ack-deadline PERIOD]\n"
	"                            [--min-confidence N] [--json] [--db PATH]\n"
	"  PERIOD is 15m, 1h, 1d, 1w or seconds; without options: show the target\n";

/* A deadline: like a digest period, from 1 s to 30 days. */
static int
parse_deadline(const char *text, int64_t *out)
{
	char buf[32];
	size_t n = strlen(text);
	long v;
	int64_t mult = 1;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n + 1);
	switch (buf[n - 1]) {
	case 's': mult = 1; buf[n - 1] = '\0'; break;
	case 'm': mult = 60; buf[n - 1] = '\0'; break;
	case 'h': mult = 3600; buf[n - 1] = '\0'; break;
	case 'd': mult = 86400; buf[n - 1] = '\0'; break;
	default: break;
	}
	if (bw_cli_parse_int(buf, 1, 30L * 86400, &v) || v * mult > 30L * 86400)
		return -1;
	*out = v * mult;
	return 0;
}

int
bw_cmd_tenant_notify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"webhook", required_argument, NULL, 'w'},
		{"secret", required_argument, NULL, 's'},
		{"digest", required_argument, NULL, 'g'},
		{"ack-deadline", required_argument, NULL, 'a'},
		{"min-confidence", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bw_notify_change ch = {NULL, NULL, -1, -1, -1};
	struct bw_notify_target t;
	struct bw_tenant tn;
	struct bw_store *st = NULL;
	struct bw_err err;
	const char *db = NULL;
	char cc[3];
	int c, json = 0, change = 0, rc, status = BW_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			ch.webhook = strcmp(optarg, "none") == 0 ? "" : optarg;
			change = 1;
			break;
		case 's': ch.secret = optarg; change = 1; break;
		case 'g':
			change = 1;
			if (strcmp(optarg, "off") == 0 || strcmp(optarg, "0") == 0) {
				ch.digest_period = 0;
			} else if (bw_notify_parse_period(optarg, &ch.digest_period, &err)) {
				return bw_cli_usage_error("tenant", "--digest: %s", err.msg);
			}
			break;
		case 'a':
			change = 1;
			if (parse_deadline(optarg, &ch.ack_deadline))
				return bw_cli_usage_error("tenant", "--ack-deadline: 1s to 30d (e.g. 15m, 1h)");
			break;
		case 'c': {
			long v;
			change = 1;
			if (bw_cli_parse_int(optarg, 0, 100, &v))
				return bw_cli_usage_error("tenant", "--min-confidence: 0 to 100");
			ch.min_confidence = (int)v;
			break;
		}
		case 'j': json = 1; break;
		case 'd': db = optarg; break;
		case 'h':
			fputs(notify_usage, stdout);
			return BW_EXIT_OK;
		default:
			fputs(notify_usage, stderr);
			return BW_EXIT_USAGE;
		}
	}
	/* argv[0] is "notify": the one argument left is CC */
	if (optind + 1 != argc)
		return bw_cli_usage_error("tenant", "tenant notify takes CC");
	if (bw_tenant_country_parse(argv[optind], cc, &err))
		return bw_cli_usage_error("tenant", "%s", err.msg);
	if (ch.webhook && ch.webhook[0] && bw_notify_url_check(ch.webhook, &err))
		return bw_cli_usage_error("tenant", "--webhook: %s", err.msg);
	if (change && json)
		return bw_cli_usage_error("tenant", "--json is for showing the target");
	rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
	if (rc == BW_OK && change)
		rc = bw_notify_set(st, cc, &ch, bw_time_now(), &err);
	if (rc == BW_OK)
		rc = bw_tenant_get(st, cc, &tn, &err);
	if (rc == BW_OK)
		rc = bw_notify_get(st, tn.id, &t, &err);
	if (rc)
		goto out;
	/* the secret is never printed back */
	if (json) {
		json_t *o = json_object();
		if (o) {
			json_object_set_new(o, "tenant", json_string(cc));
			json_object_set_new(o, "webhook", t.webhook[0] ? json_string(t.webhook) : json_null());
			json_object_set_new(o, "secret_set", json_boolean(t.secret[0] != '\0'));
			json_object_set_new(o, "digest_seconds", json_integer(t.digest_period));
			json_object_set_new(o, "ack_deadline_seconds", json_integer(t.ack_deadline));
			json_object_set_new(o, "min_confidence", json_integer(t.min_confidence));
		}
		if (bw_cli_print_json(0, o))
			rc = bw_err_set(&err, BW_ENOMEM, "out of memory");
	} else {
		printf("%s  webhook %s%s  %s  acknowledge within %llds  incidents from confidence %d\n",
		       cc, t.webhook[0] ? t.webhook : "none", t.secret[0] ? " (signed)" : "",
		       t.digest_period ? "digest" : "one message per item",
		       (long long)t.ack_deadline, t.min_confidence);
		if (t.digest_period)
			printf("%s  one digest every %llds\n", cc, (long long)t.digest_period);
	}
	explicit_bzero(t.secret, sizeof(t.secret));
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	bw_store_close(st);
	return status;
}
