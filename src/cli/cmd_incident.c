/*
 * cmd_incident.c - bulwark incident: list, show (with the timeline),
 * acknowledge and close incidents (src/share/incident.h).  The daemon
 * opens and escalates them; this command only reads and decides.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "share/incident.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark incident list [--tenant CC] [--state open|acknowledged|closed]\n"
	"                             [--limit N] [--json] [--db PATH]\n"
	"       bulwark incident show ID [--json] [--db PATH]\n"
	"       bulwark incident ack ID --operator NAME [--db PATH]\n"
	"       bulwark incident close ID --operator NAME [--db PATH]\n";

static json_t *
incident_json(const struct bw_incident *x)
{
	json_t *o = json_object();
	char ts[BW_TIME_TEXT_MAX];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(x->id));
	json_object_set_new(o, "tenant", json_string(x->country));
	json_object_set_new(o, "type", json_string(bw_ioc_type_name(x->type)));
	json_object_set_new(o, "value", json_string(x->value));
	json_object_set_new(o, "state", json_string(x->state));
	json_object_set_new(o, "priority", json_integer(x->priority));
	json_object_set_new(o, "level", json_integer(x->level));
	json_object_set_new(o, "sightings", json_integer(x->sightings));
	json_object_set_new(o, "opened", json_string(bw_time_format(x->opened, ts)));
	json_object_set_new(o, "updated", json_string(bw_time_format(x->updated, ts)));
	json_object_set_new(o, "escalate_at",
			    x->escalate_at ? json_string(bw_time_format(x->escalate_at, ts)) : json_null());
	json_object_set_new(o, "acknowledged",
			    x->acked ? json_string(bw_time_format(x->acked, ts)) : json_null());
	json_object_set_new(o, "acknowledged_by", x->acked ? json_string(x->acked_by) : json_null());
	json_object_set_new(o, "closed", x->closed ? json_string(bw_time_format(x->closed, ts)) : json_null());
	json_object_set_new(o, "closed_by", x->closed ? json_string(x->closed_by) : json_null());
	return o;
}

static int
cmd_list(struct bw_store *st, const char *cc, const char *state, long limit, int json,
	 struct bw_err *err)
{
	struct bw_incident *x = NULL;
	size_t n = 0;
	char ts[BW_TIME_TEXT_MAX];
	int rc;

	rc = bw_incident_list(st, cc, state, limit, &x, &n, err);
	if (rc)
		return rc;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, incident_json(&x[i]));
		if (bw_cli_print_json(0, arr))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%lld  %s  %-12s  priority %4d  level %d  %ld sighting%s  opened %s  %s %s\n",
			       (long long)x[i].id, x[i].country, x[i].state, x[i].priority, x[i].level,
			       x[i].sightings, x[i].sightings == 1 ? "" : "s",
			       bw_time_format(x[i].opened, ts), bw_ioc_type_name(x[i].type), x[i].value);
	}
	bw_free(x);
	return rc;
}

static int
cmd_show(struct bw_store *st, long id, int json, struct bw_err *err)
{
	struct bw_incident x;
	struct bw_incident_event *e = NULL;
	size_t n = 0;
	char ts[BW_TIME_TEXT_MAX];
	int rc;

	rc = bw_incident_get(st, id, &x, err);
	if (rc == BW_OK)
		rc = bw_incident_events(st, id, &e, &n, err);
	if (rc)
		return rc;
	if (json) {
		json_t *o = incident_json(&x), *tl = json_array();
		for (size_t i = 0; tl && i < n; i++) {
			json_t *ev = json_object();
			if (ev == NULL)
				break;
			json_object_set_new(ev, "time", json_string(bw_time_format(e[i].time, ts)));
			json_object_set_new(ev, "kind", json_string(e[i].kind));
			json_object_set_new(ev, "actor", json_string(e[i].actor));
			json_object_set_new(ev, "detail", e[i].detail[0] ? json_string(e[i].detail) : json_null());
			json_array_append_new(tl, ev);
		}
		if (o && tl)
			json_object_set_new(o, "timeline", tl);
		else
			json_decref(tl);
		if (bw_cli_print_json(0, o))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
	} else {
		printf("incident %lld  %s  %s\n", (long long)x.id, x.country, x.state);
		printf("indicator  %s %s\n", bw_ioc_type_name(x.type), x.value);
		printf("priority   %d\nlevel      %d\nsightings  %ld\n", x.priority, x.level, x.sightings);
		printf("opened     %s\n", bw_time_format(x.opened, ts));
		if (x.escalate_at)
			printf("escalates  %s\n", bw_time_format(x.escalate_at, ts));
		if (x.acked)
			printf("acked      %s by %s\n", bw_time_format(x.acked, ts), x.acked_by);
		if (x.closed)
			printf("closed     %s by %s\n", bw_time_format(x.closed, ts), x.closed_by);
		printf("timeline:\n");
		for (size_t i = 0; i < n; i++)
			printf("  %s  %-12s  %-16s  %s\n", bw_time_format(e[i].time, ts), e[i].kind,
			       e[i].actor, e[i].detail);
	}
	bw_free(e);
	return rc;
}

int
bw_cmd_incident(int argc, char **argv)
{
	const char *tenant = NULL, *state = NULL, *limit = NULL, *op = NULL, *db = NULL, *verb;
	struct bw_store *st = NULL;
	struct bw_err err;
	char cc[3] = "";
	long id = 0, lim = 100;
	int c, json = 0, rc, status = BW_EXIT_OK;
	const struct bw_cli_opt opts[] = {
		{.name = "tenant", .str = &tenant},
		{.name = "state", .str = &state},
		{.name = "limit", .str = &limit},
		{.name = "operator", .str = &op},
		{.name = "json", .flag = &json},
		{.name = "db", .str = &db},
		{.name = NULL},
	};

	if ((c = bw_cli_options(argc, argv, "incident", usage_text, opts)) >= 0)
		return c;
	if (optind >= argc)
		return bw_cli_usage_error("incident", "list, show, ack or close is required");
	verb = argv[optind];
	if (strcmp(verb, "list") == 0) {
		if (optind + 1 != argc)
			return bw_cli_usage_error("incident", "unexpected argument '%s'", argv[optind + 1]);
		if (op)
			return bw_cli_usage_error("incident", "--operator is for ack and close");
		if (tenant && bw_tenant_country_parse(tenant, cc, &err))
			return bw_cli_usage_error("incident", "--tenant: %s", err.msg);
		if (state && strcmp(state, "open") != 0 && strcmp(state, "acknowledged") != 0 &&
		    strcmp(state, "closed") != 0)
			return bw_cli_usage_error("incident", "--state is open, acknowledged or closed");
		if (limit && bw_cli_parse_int(limit, 1, 100000, &lim))
			return bw_cli_usage_error("incident", "--limit: a number from 1 to 100000");
	} else if (strcmp(verb, "show") == 0 || strcmp(verb, "ack") == 0 ||
		   strcmp(verb, "close") == 0) {
		if (optind + 2 != argc)
			return bw_cli_usage_error("incident", "incident %s takes ID", verb);
		if (bw_cli_parse_int(argv[optind + 1], 1, 0x7fffffffffffffffL, &id))
			return bw_cli_usage_error("incident", "ID is an incident number, as incident list shows");
		if (tenant || state || limit)
			return bw_cli_usage_error("incident", "--tenant, --state and --limit are for incident list");
		if (strcmp(verb, "show") == 0 && op)
			return bw_cli_usage_error("incident", "--operator is for ack and close");
		if (strcmp(verb, "show") != 0 && op == NULL)
			return bw_cli_usage_error("incident", "incident %s needs --operator NAME", verb);
		if (strcmp(verb, "show") != 0 && json)
			return bw_cli_usage_error("incident", "--json is for list and show");
	} else {
		return bw_cli_usage_error("incident", "unknown command '%s'", verb);
	}
	rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "list") == 0) {
		rc = cmd_list(st, tenant ? cc : NULL, state, lim, json, &err);
	} else if (strcmp(verb, "show") == 0) {
		rc = cmd_show(st, id, json, &err);
	} else if (strcmp(verb, "ack") == 0) {
		rc = bw_incident_ack(st, id, 0, op, bw_time_now(), &err);
		if (rc == BW_OK)
			printf("incident %ld acknowledged by %s\n", id, op);
	} else {
		rc = bw_incident_close(st, id, op, bw_time_now(), &err);
		if (rc == BW_OK)
			printf("incident %ld closed by %s\n", id, op);
	}
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	bw_store_close(st);
	return status;
}
