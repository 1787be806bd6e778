/*
 * cmd_disrupt.c - bulwark disrupt: disruption actions, the policy run, the
 * guard lists and the abuse-contact directory (src/disrupt/).
 *
 * Every command first lets the clock move actions (bw_action_tick: expiry,
 * authorisations that started), so what it shows is current.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "disrupt/action.h"
#include "disrupt/guard.h"
#include "disrupt/notice.h"
#include "disrupt/policy.h"
#include "intel/model.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark disrupt list [--state STATE] [--json] [--db PATH]\n"
	"       bulwark disrupt show ID [--json] [--db PATH]\n"
	"       bulwark disrupt propose --domain NAME|--ip ADDR --authz ID\n"
	"                       [--kind block|sinkhole] [--sinkhole ADDR] [--expires TIME]\n"
	"                       [--reason TEXT] [--config FILE] --operator NAME [--json]\n"
	"       bulwark disrupt approve ID --operator NAME [--json]\n"
	"       bulwark disrupt revoke ID --reason TEXT --operator NAME [--json]\n"
	"       bulwark disrupt appeal ID --reason TEXT --operator NAME [--json]\n"
	"       bulwark disrupt run-policy [--config FILE] [--guard-dir DIR] [--json]\n"
	"       bulwark disrupt guard add|remove LIST VALUE [--reason TEXT] --operator NAME\n"
	"       bulwark disrupt guard list [--json]\n"
	"       bulwark disrupt guard check VALUE [--config FILE] [--guard-dir DIR]\n"
	"       bulwark disrupt contacts load FILE --operator NAME\n"
	"       bulwark disrupt contacts list [--json]\n"
	"  every command also takes --db PATH; --operator defaults to $BULWARK_OPERATOR,\n"
	"  --config to $BULWARK_CONF\n";

struct opts {
	const char *state, *domain, *ip, *kind, *sinkhole, *expires, *reason;
	const char *config, *guard_dir, *op, *db;
	long authz;
	int json;
};


static json_t *
action_json(const struct bw_action *a)
{
	char t1[BW_TIME_TEXT_MAX], t2[BW_TIME_TEXT_MAX], t3[BW_TIME_TEXT_MAX];

	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:o, s:s, s:s, s:s,"
			 " s:o}",
			 "id", (json_int_t)a->id, "authz", (json_int_t)a->authz_id,
			 "type", bw_ioc_type_name(a->type), "target", a->target, "kind", a->kind,
			 "sinkhole", a->sinkhole[0] ? json_string(a->sinkhole) : json_null(),
			 "origin", a->origin, "state", bw_action_state_name(a->state),
			 "reason", a->reason[0] ? json_string(a->reason) : json_null(),
			 "proposed_by", a->proposed_by,
			 "approved_by", a->approved_by[0] ? json_string(a->approved_by) : json_null(),
			 "created", bw_time_format(a->created, t1),
			 "updated", bw_time_format(a->updated, t2),
			 "expires", bw_time_format(a->expires, t3),
			 "score", a->score >= 0 ? json_real(a->score) : json_null());
}

static void
print_action(const struct bw_action *a)
{
	char t[BW_TIME_TEXT_MAX], score[32] = "";

	if (a->score >= 0)
		snprintf(score, sizeof(score), "  score %.3f", a->score);
	printf("%lld  %-8s  %-6s %-8s %s  authz %lld  expires %s%s%s%s\n", (long long)a->id,
	       bw_action_state_name(a->state), bw_ioc_type_name(a->type), a->kind, a->target,
	       (long long)a->authz_id, bw_time_format(a->expires, t), score,
	       a->reason[0] ? "  " : "", a->reason);
}

/* The risk model for the policy (as `serve` finds it: $BULWARK_MODEL or
 * models/domain.model), or NULL, said once on stderr: the policy is then
 * the one of before the model. */
static struct bw_model *
policy_model(void)
{
	const char *path = bw_cli_model_path(NULL);
	struct bw_model *m = NULL;
	struct bw_err err;

	if (access(path, R_OK) != 0) {
		fprintf(stderr, "bulwark: note: no risk model at %s: the policy runs without"
			" model scores\n", path);
		return NULL;
	}
	if (bw_model_load(path, &m, &err)) {
		fprintf(stderr, "bulwark: warning: %s; the policy runs without model scores\n",
			err.msg);
		return NULL;
	}
	return m;
}

static int
load_policy(const struct opts *o, struct bw_policy *p, struct bw_err *err)
{
	const char *conf = o->config ? o->config : getenv("BULWARK_CONF");
	int rc;

	bw_policy_init(p);
	if (conf && conf[0] && (rc = bw_policy_load(p, conf, err)))
		return rc;
	if (o->guard_dir)
		snprintf(p->guard_dir, sizeof(p->guard_dir), "%s", o->guard_dir);
	return BW_OK;
}

static int
cmd_show(struct bw_store *st, int64_t id, const struct opts *o, struct bw_err *err)
{
	struct bw_action a;
	struct bw_action_event *ev = NULL;
	sqlite3_stmt *s = NULL;
	size_t n = 0;
	char t[BW_TIME_TEXT_MAX], like[64];
	json_t *notices = json_array();
	int rc;

	rc = bw_action_get(st, id, &a, err);
	if (rc == BW_OK)
		rc = bw_action_events(st, id, &ev, &n, err);
	if (rc)
		goto out;
	snprintf(like, sizeof(like), "takedown:%lld:%%", (long long)id);
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT destination, state, subject FROM outbox"
			       " WHERE idem_key LIKE ?1 ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, like, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW)
			json_array_append_new(notices,
					      json_pack("{s:s, s:s, s:s}", "to",
							(const char *)sqlite3_column_text(s, 0),
							"state", (const char *)sqlite3_column_text(s, 1),
							"subject", (const char *)sqlite3_column_text(s, 2)));
	}
	sqlite3_finalize(s);
	if (o->json) {
		json_t *j = action_json(&a), *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:o}",
				"time", bw_time_format(ev[i].time, t), "operator", ev[i].op,
				"from", ev[i].from[0] ? json_string(ev[i].from) : json_null(),
				"to", ev[i].to,
				"reason", ev[i].reason[0] ? json_string(ev[i].reason) : json_null()));
		json_object_set_new(j, "events", arr);
		json_object_set(j, "notices", notices);
		(void)bw_cli_print_json(0, j);
	} else {
		print_action(&a);
		for (size_t i = 0; i < n; i++)
			printf("  %s  %-12s %s -> %s%s%s\n", bw_time_format(ev[i].time, t), ev[i].op,
			       ev[i].from[0] ? ev[i].from : "(new)", ev[i].to,
			       ev[i].reason[0] ? "  " : "", ev[i].reason);
		for (size_t i = 0; i < json_array_size(notices); i++)
			printf("  notice to %s (%s)\n",
			       json_string_value(json_object_get(json_array_get(notices, i), "to")),
			       json_string_value(json_object_get(json_array_get(notices, i), "state")));
	}
out:
	json_decref(notices);
	bw_free(ev);
	return rc;
}

static int
cmd_guard(struct bw_store *st, char **args, int nargs, const struct opts *o,
	  int64_t now, struct bw_err *err)
{
	const char *sub = args[0];
	int rc;

	if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
		rc = strcmp(sub, "add") == 0
			     ? bw_guard_add(st, args[1], args[2], o->reason, o->op, now, err)
			     : bw_guard_remove(st, args[1], args[2], o->op, now, err);
		if (rc == BW_OK)
			printf("%s %s %s guard list %s\n", strcmp(sub, "add") == 0 ? "added" : "removed",
			       args[2], strcmp(sub, "add") == 0 ? "to" : "from", args[1]);
		return rc;
	}
	if (strcmp(sub, "list") == 0) {
		struct bw_guard_entry *e = NULL;
		size_t n = 0;
		char t[BW_TIME_TEXT_MAX];
		rc = bw_guard_entries(st, &e, &n, err);
		if (rc)
			return rc;
		if (o->json) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < n; i++)
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}",
					"list", e[i].list, "type", bw_ioc_type_name(e[i].type),
					"value", e[i].value, "reason", e[i].reason,
					"added", bw_time_format(e[i].added, t)));
			(void)bw_cli_print_json(0, arr);
		} else {
			for (size_t i = 0; i < n; i++)
				printf("%s  %s  %s\n", e[i].list, e[i].value, e[i].reason);
		}
		bw_free(e);
		return BW_OK;
	}
	/* check */
	{
		struct bw_policy p;
		struct bw_guard *g = NULL;
		struct bw_guard_hit hit;
		struct bw_ioc ioc;
		(void)nargs;
		rc = load_policy(o, &p, err);
		if (rc == BW_OK)
			rc = bw_ioc_parse(args[1], strlen(args[1]), BW_IOC_ANY, &ioc, err);
		if (rc == BW_OK)
			rc = bw_guard_load(st, p.guard_dir, &g, err);
		if (rc)
			return rc;
		if (bw_guard_check(g, ioc.type, ioc.value, &hit))
			printf("%s is guarded: %s (%s: %s)\n", ioc.value, hit.list, hit.why, hit.entry);
		else
			printf("%s is not guarded\n", ioc.value);
		bw_guard_free(g);
		return BW_OK;
	}
}

static int
cmd_contacts(struct bw_store *st, char **args, const struct opts *o, int64_t now,
	     struct bw_err *err)
{
	struct bw_contact *c = NULL;
	size_t n = 0;
	long loaded = 0;
	int rc;

	if (strcmp(args[0], "load") == 0) {
		rc = bw_contacts_load(st, args[1], o->op, now, &loaded, err);
		if (rc == BW_OK)
			printf("loaded %ld contact%s\n", loaded, loaded == 1 ? "" : "s");
		return rc;
	}
	rc = bw_contacts_list(st, &c, &n, err);
	if (rc)
		return rc;
	if (o->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "role", c[i].role,
							     "match", c[i].match, "name", c[i].name,
							     "email", c[i].email));
		(void)bw_cli_print_json(0, arr);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s,%s,%s,%s\n", c[i].role, c[i].match, c[i].name, c[i].email);
	}
	bw_free(c);
	return BW_OK;
}

static int
need(const char *what, const char *v)
{
	if (v == NULL) {
		bw_cli_usage_error("disrupt", "%s is required", what);
		return -1;
	}
	return 0;
}

int
bw_cmd_disrupt(int argc, char **argv)
{
	struct opts o;
	const struct bw_cli_opt opts[] = {
		{.name = "state", .str = &o.state},
		{.name = "domain", .str = &o.domain},
		{.name = "ip", .str = &o.ip},
		{.name = "authz", .num = &o.authz, .lo = 1, .hi = 0x7fffffffffffffffL,
		 .what = "an authorisation id"},
		{.name = "kind", .str = &o.kind},
		{.name = "sinkhole", .str = &o.sinkhole},
		{.name = "expires", .str = &o.expires},
		{.name = "reason", .str = &o.reason},
		{.name = "config", .str = &o.config},
		{.name = "guard-dir", .str = &o.guard_dir},
		{.name = "operator", .str = &o.op},
		{.name = "json", .flag = &o.json},
		{.name = "db", .str = &o.db},
		{.name = NULL},
	};
	struct bw_store *st = NULL;
	struct bw_err err;
	const char *verb;
	char **args;
	int64_t now = bw_time_now();
	long id = 0;
	int nargs, rc = BW_OK, status = BW_EXIT_OK, changes;

	memset(&o, 0, sizeof(o));
	bw_err_clear(&err);
	if ((status = bw_cli_options(argc, argv, "disrupt", usage_text, opts)) >= 0)
		return status;
	status = BW_EXIT_OK;
	if (optind >= argc)
		return bw_cli_usage_error("disrupt", "a command is required (list, show, propose, approve, revoke, appeal, run-policy, guard, contacts)");
	verb = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	if (o.op == NULL)
		o.op = getenv("BULWARK_OPERATOR");
	changes = strcmp(verb, "propose") == 0 || strcmp(verb, "approve") == 0 ||
		  strcmp(verb, "revoke") == 0 || strcmp(verb, "appeal") == 0;
	if (strcmp(verb, "show") == 0 || strcmp(verb, "approve") == 0 ||
	    strcmp(verb, "revoke") == 0 || strcmp(verb, "appeal") == 0) {
		if (nargs != 1 || bw_cli_parse_int(args[0], 1, 0x7fffffffffffffffL, &id))
			return bw_cli_usage_error("disrupt", "disrupt %s takes one action id", verb);
	} else if (strcmp(verb, "list") == 0 || strcmp(verb, "propose") == 0 ||
		   strcmp(verb, "run-policy") == 0) {
		if (nargs != 0)
			return bw_cli_usage_error("disrupt", "unexpected argument '%s'", args[0]);
	} else if (strcmp(verb, "guard") == 0) {
		if (nargs < 1)
			return bw_cli_usage_error("disrupt", "guard add, remove, list or check is required");
		if ((strcmp(args[0], "add") == 0 || strcmp(args[0], "remove") == 0)) {
			if (nargs != 3)
				return bw_cli_usage_error("disrupt", "guard %s takes LIST and VALUE", args[0]);
			if (need("--operator", o.op))
				return BW_EXIT_USAGE;
		} else if (strcmp(args[0], "check") == 0) {
			if (nargs != 2)
				return bw_cli_usage_error("disrupt", "guard check takes VALUE");
		} else if (strcmp(args[0], "list") != 0 || nargs != 1) {
			return bw_cli_usage_error("disrupt", "guard add, remove, list or check is required");
		}
	} else if (strcmp(verb, "contacts") == 0) {
		if (nargs == 2 && strcmp(args[0], "load") == 0) {
			if (need("--operator", o.op))
				return BW_EXIT_USAGE;
		} else if (nargs != 1 || strcmp(args[0], "list") != 0) {
			return bw_cli_usage_error("disrupt", "contacts load FILE or contacts list");
		}
	} else {
		return bw_cli_usage_error("disrupt", "unknown command '%s'", verb);
	}
	if (changes && need("--operator", o.op))
		return BW_EXIT_USAGE;
	if ((strcmp(verb, "revoke") == 0 || strcmp(verb, "appeal") == 0) && need("--reason", o.reason))
		return BW_EXIT_USAGE;
	if (strcmp(verb, "propose") == 0) {
		if ((o.domain == NULL) == (o.ip == NULL))
			return bw_cli_usage_error("disrupt", "propose takes one of --domain and --ip");
		if (o.authz == 0)
			return bw_cli_usage_error("disrupt", "propose needs --authz ID");
		if (o.ip && o.kind && strcmp(o.kind, "block") != 0)
			return bw_cli_usage_error("disrupt", "an address can only be blocked");
	}
	if (o.state && bw_action_state_from_name(o.state) < 0)
		return bw_cli_usage_error("disrupt", "--state: review, proposed, approved, active, held, expired, revoked or rejected");

	rc = bw_store_open(bw_cli_db_path(o.db), BW_STORE_NOCREATE, &st, &err);
	if (rc)
		goto out;
	/* contacts load and guard changes need not wait for the clock */
	rc = bw_action_tick(st, now, NULL, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "list") == 0) {
		struct bw_action *v = NULL;
		size_t n = 0;
		rc = bw_action_list(st, o.state ? bw_action_state_from_name(o.state) : -1, &v, &n, &err);
		if (rc == BW_OK && o.json) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < n; i++)
				json_array_append_new(arr, action_json(&v[i]));
			(void)bw_cli_print_json(0, arr);
		} else if (rc == BW_OK) {
			for (size_t i = 0; i < n; i++)
				print_action(&v[i]);
		}
		bw_free(v);
	} else if (strcmp(verb, "show") == 0) {
		rc = cmd_show(st, id, &o, &err);
	} else if (strcmp(verb, "propose") == 0) {
		struct bw_action_in in;
		struct bw_policy p;
		char guarded[BW_ACTION_REASON_MAX + 1];
		int64_t aid;
		memset(&in, 0, sizeof(in));
		rc = load_policy(&o, &p, &err);
		if (rc)
			goto out;
		in.authz_id = o.authz;
		in.target = o.domain ? o.domain : o.ip;
		in.kind = o.kind;
		in.sinkhole = o.sinkhole;
		if (in.kind && strcmp(in.kind, "sinkhole") == 0 && in.sinkhole == NULL && p.sinkhole[0])
			in.sinkhole = p.sinkhole;
		in.ttl = p.ttl;
		in.reason = o.reason;
		if (o.expires && bw_time_parse(o.expires, strlen(o.expires), &in.expires, &err)) {
			status = bw_cli_usage_error("disrupt", "--expires: %s", err.msg);
			goto done;
		}
		if (o.domain) {
			struct bw_ioc ioc;
			if (bw_ioc_parse(o.domain, strlen(o.domain), BW_IOC_DOMAIN, &ioc, &err) ||
			    ioc.type != BW_IOC_DOMAIN) {
				status = bw_cli_usage_error("disrupt", "--domain: %s",
							    err.msg[0] ? err.msg : "not a domain");
				goto done;
			}
		}
		/* a guarded target may still be proposed by hand: the reason
		 * tells the approving operator */
		{
			struct bw_guard *g = NULL;
			struct bw_guard_hit hit;
			struct bw_ioc ioc;
			struct bw_err gerr;
			/* without the shipped lists, still the brands and the
			 * operator's lists */
			if (bw_guard_load(st, p.guard_dir, &g, &gerr) != BW_OK) {
				fprintf(stderr, "bulwark: warning: %s; checking the operator's guard lists only\n",
					gerr.msg);
				bw_guard_load(st, NULL, &g, NULL);
			}
			if (g && bw_ioc_parse(in.target, strlen(in.target), BW_IOC_ANY, &ioc, NULL) == BW_OK &&
			    bw_guard_check(g, ioc.type, ioc.value, &hit)) {
				snprintf(guarded, sizeof(guarded), "%s%sguarded: %s (%s: %s)",
					 o.reason ? o.reason : "", o.reason ? "; " : "", hit.list,
					 hit.why, hit.entry);
				in.reason = guarded;
				fprintf(stderr, "bulwark: warning: %s is guarded: %s (%s: %s)\n",
					ioc.value, hit.list, hit.why, hit.entry);
			}
			bw_guard_free(g);
		}
		rc = bw_action_propose(st, &in, o.op, now, &aid, &err);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(1, json_pack("{s:I, s:s}", "id", (json_int_t)aid, "state", "proposed"));
		else if (rc == BW_OK)
			printf("%lld\n", (long long)aid);
	} else if (strcmp(verb, "approve") == 0) {
		enum bw_action_state s;
		rc = bw_action_approve(st, id, o.op, now, &s, &err);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(1, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
					     bw_action_state_name(s)));
		else if (rc == BW_OK)
			printf("action %ld is %s\n", id, bw_action_state_name(s));
	} else if (strcmp(verb, "revoke") == 0 || strcmp(verb, "appeal") == 0) {
		struct bw_action a;
		rc = strcmp(verb, "revoke") == 0 ? bw_action_revoke(st, id, o.op, o.reason, now, &err)
						 : bw_action_appeal(st, id, o.op, o.reason, now, &err);
		if (rc == BW_OK)
			rc = bw_action_get(st, id, &a, &err);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(1, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
					     bw_action_state_name(a.state)));
		else if (rc == BW_OK)
			printf("action %ld is %s\n", id, bw_action_state_name(a.state));
	} else if (strcmp(verb, "run-policy") == 0) {
		struct bw_policy p;
		struct bw_guard *g = NULL;
		struct bw_policy_result r;
		struct bw_model *m = NULL;
		rc = load_policy(&o, &p, &err);
		if (rc == BW_OK)
			rc = bw_guard_load(st, p.guard_dir, &g, &err);
		if (rc == BW_OK)
			m = policy_model();
		if (rc == BW_OK)
			rc = bw_policy_run(st, &p, g, m, now, &r, &err);
		bw_guard_free(g);
		bw_model_free(m);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(1, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					     "candidates", (json_int_t)r.candidates,
					     "uncovered", (json_int_t)r.uncovered,
					     "existing", (json_int_t)r.existing,
					     "activated", (json_int_t)r.activated,
					     "review", (json_int_t)r.review,
					     "expired", (json_int_t)r.expired,
					     "scored", (json_int_t)r.scored,
					     "low_score", (json_int_t)r.low_score));
		else if (rc == BW_OK)
			printf("%ld candidates: %ld activated, %ld to review (%ld for a low model"
			       " score), %ld already actioned, %ld not covered; %ld moved by the"
			       " clock; %ld scored\n", r.candidates, r.activated, r.review,
			       r.low_score, r.existing, r.uncovered, r.expired, r.scored);
	} else if (strcmp(verb, "guard") == 0) {
		rc = cmd_guard(st, args, nargs, &o, now, &err);
	} else {
		rc = cmd_contacts(st, args, &o, now, &err);
	}
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
done:
	/* bw_store_close(NULL) computes member addresses first (UBSan) */
	if (st)
		bw_store_close(st);
	return status;
}
