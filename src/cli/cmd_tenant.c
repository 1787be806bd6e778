/*
 * cmd_tenant.c - bulwark tenant: the members of the programme and their
 * API keys (src/share/tenant.h).
 *
 * `tenant scope CC` lists the national scope (src/share/tenant_scope.h),
 * `tenant scope CC [--add] KIND:VALUE...` adds to it, `--remove` takes out.
 *
 * `tenant key add` prints the new key alone on standard output, so that a
 * script can capture it; the reminder that it is shown once goes to
 * standard error.  `--gateway` makes a gateway key (check endpoints only,
 * see share/tenant.h), `--label` names a key for the operator.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "net/serve_conf.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark tenant add --country CC --name NAME [--config FILE] [--db PATH]\n"
	"       bulwark tenant list [--json] [--db PATH]\n"
	"       bulwark tenant key add CC [--gateway] [--label TEXT] [--db PATH]\n"
	"       bulwark tenant key list CC [--json] [--db PATH]\n"
	"       bulwark tenant key revoke CC KEYID [--db PATH]\n"
	"       bulwark tenant scope CC [--add|--remove] KIND:VALUE... [--db PATH]\n"
	"       bulwark tenant scope CC [--list] [--json] [--db PATH]\n"
	"       bulwark tenant notify CC [--webhook URL|none --secret S] [--digest PERIOD|off]\n"
	"                     [--ack-deadline PERIOD] [--min-confidence N] [--json] [--db PATH]\n"
	"  KIND:VALUE is cctld:ee, cidr:192.0.2.0/24, asn:64500, domain:gov.ee or\n"
	"  brand:err.ee\n"
	"  --config FILE: the eligible_countries of bulwark.conf(5) (default: the\n"
	"  built-in list)\n";

struct opts {
	const char *country, *name, *db, *config;
	int json;
	int add, remove, list; /* tenant scope */
	int gateway;           /* tenant key add */
	const char *label;
};

/* A key as an element of the JSON lists; NULL when out of memory. */
static json_t *
key_json(const struct bw_tenant_key *k)
{
	json_t *ko = json_object();
	char ts[64];

	if (ko == NULL)
		return NULL;
	json_object_set_new(ko, "id", json_integer(k->id));
	json_object_set_new(ko, "created", json_string(bw_time_format(k->created, ts)));
	json_object_set_new(ko, "revoked",
			    k->revoked ? json_string(bw_time_format(k->revoked, ts)) : json_null());
	json_object_set_new(ko, "kind", json_string(bw_key_kind_name(k->kind)));
	json_object_set_new(ko, "label", k->label[0] ? json_string(k->label) : json_null());
	return ko;
}

static int
print_tenants_json(struct bw_store *st, const struct bw_tenant *t, size_t n,
		   struct bw_err *err)
{
	json_t *arr = json_array();
	char ts[64];
	int rc = BW_OK;

	if (arr == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct bw_tenant_key *k = NULL;
		size_t nk = 0;
		json_t *o, *keys;

		rc = bw_tenant_key_list(st, t[i].country, &k, &nk, err);
		if (rc)
			goto out;
		keys = json_array();
		for (size_t j = 0; keys && j < nk; j++) {
			json_t *ko = key_json(&k[j]);
			if (ko == NULL)
				break;
			json_array_append_new(keys, ko);
		}
		bw_free(k);
		o = json_object();
		if (o == NULL || keys == NULL) {
			json_decref(o);
			json_decref(keys);
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		json_object_set_new(o, "country", json_string(t[i].country));
		json_object_set_new(o, "name", json_string(t[i].name));
		json_object_set_new(o, "created", json_string(bw_time_format(t[i].created, ts)));
		json_object_set_new(o, "keys", keys);
		json_array_append_new(arr, o);
	}
	rc = bw_cli_print_json(0, arr);
	arr = NULL;
	if (rc)
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
out:
	json_decref(arr);
	return rc;
}

static int
cmd_list(struct bw_store *st, const struct opts *o, struct bw_err *err)
{
	struct bw_tenant *t = NULL;
	size_t n = 0;
	int rc;

	rc = bw_tenant_list(st, &t, &n, err);
	if (rc)
		return rc;
	if (o->json) {
		rc = print_tenants_json(st, t, n, err);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s  %-40s  %ld active key%s, %ld revoked\n", t[i].country,
			       t[i].name, t[i].keys_active,
			       t[i].keys_active == 1 ? "" : "s", t[i].keys_revoked);
	}
	bw_free(t);
	return rc;
}

static int
cmd_key_list(struct bw_store *st, const char *cc, const struct opts *o,
	     struct bw_err *err)
{
	struct bw_tenant_key *k = NULL;
	size_t n = 0;
	char ts[64], ts2[64];
	int rc;

	rc = bw_tenant_key_list(st, cc, &k, &n, err);
	if (rc)
		return rc;
	if (o->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++) {
			json_t *ko = key_json(&k[i]);
			if (ko == NULL)
				break;
			json_array_append_new(arr, ko);
		}
		if (bw_cli_print_json(0, arr))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%lld  created %s  %s%s  %s%s%s\n", (long long)k[i].id,
			       bw_time_format(k[i].created, ts),
			       k[i].revoked ? "revoked " : "active",
			       k[i].revoked ? bw_time_format(k[i].revoked, ts2) : "",
			       bw_key_kind_name(k[i].kind), k[i].label[0] ? "  " : "", k[i].label);
	}
	bw_free(k);
	return rc;
}

static int
cmd_scope_list(struct bw_store *st, const char *cc, const struct opts *o,
	       struct bw_err *err)
{
	struct bw_scope_entry *e = NULL;
	size_t n = 0;
	char ts[64];
	int rc;

	rc = bw_tenant_scope_list(st, cc, &e, &n, err);
	if (rc)
		return rc;
	if (o->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++) {
			json_t *eo = json_object();
			if (eo == NULL)
				break;
			json_object_set_new(eo, "kind", json_string(bw_scope_kind_name(e[i].kind)));
			json_object_set_new(eo, "value", json_string(e[i].value));
			json_object_set_new(eo, "default", json_boolean(e[i].is_default));
			json_object_set_new(eo, "included", json_boolean(e[i].included));
			json_object_set_new(eo, "changed",
					    e[i].added ? json_string(bw_time_format(e[i].added, ts))
						       : json_null());
			json_array_append_new(arr, eo);
		}
		if (bw_cli_print_json(0, arr))
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s:%s%s\n", bw_scope_kind_name(e[i].kind), e[i].value,
			       e[i].is_default ? (e[i].included ? "  (default)"
								: "  (default, removed)")
					       : "");
		printf("addresses located in %s (with a country database)\n", cc);
	}
	bw_free(e);
	return rc;
}

static int
cmd_scope_change(struct bw_store *st, const char *cc, const struct opts *o,
		 char **specs, int nspecs, struct bw_err *err)
{
	for (int i = 0; i < nspecs; i++) {
		struct bw_scope_entry e;
		int rc = bw_scope_entry_parse(specs[i], &e, err);
		if (rc == BW_OK)
			rc = o->remove ? bw_tenant_scope_remove(st, cc, specs[i], bw_time_now(), err)
				       : bw_tenant_scope_add(st, cc, specs[i], bw_time_now(), err);
		if (rc)
			return rc;
		printf("%s %s:%s %s the scope of %s\n", o->remove ? "removed" : "added",
		       bw_scope_kind_name(e.kind), e.value, o->remove ? "from" : "to", cc);
	}
	return BW_OK;
}

int
bw_cmd_tenant(int argc, char **argv)
{
	static const struct option opts[] = {
		{"country", required_argument, NULL, 'c'},
		{"name", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"add", no_argument, NULL, 'A'},
		{"remove", no_argument, NULL, 'R'},
		{"list", no_argument, NULL, 'L'},
		{"config", required_argument, NULL, 'C'},
		{"gateway", no_argument, NULL, 'G'},
		{"label", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o;
	struct bw_store *st = NULL;
	struct bw_err err;
	const char *verb, *sub = NULL;
	char cc[3] = "";
	char **args;
	int c, nargs, rc, status = BW_EXIT_OK;

	/* `tenant notify CC ...` has options of its own (cmd_outbox.c) */
	if (argc > 1 && strcmp(argv[1], "notify") == 0)
		return bw_cmd_tenant_notify(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.country = optarg; break;
		case 'n': o.name = optarg; break;
		case 'j': o.json = 1; break;
		case 'd': o.db = optarg; break;
		case 'A': o.add = 1; break;
		case 'R': o.remove = 1; break;
		case 'L': o.list = 1; break;
		case 'C': o.config = optarg; break;
		case 'G': o.gateway = 1; break;
		case 'l': o.label = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			return BW_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return BW_EXIT_USAGE;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 1)
		return bw_cli_usage_error("tenant", "add, list, key or scope is required");
	verb = args[0];
	if ((o.add || o.remove || o.list) && strcmp(verb, "scope") != 0)
		return bw_cli_usage_error("tenant", "--add, --remove and --list are for tenant scope");
	if (o.config && strcmp(verb, "add") != 0)
		return bw_cli_usage_error("tenant", "--config is for tenant add");
	if ((o.gateway || o.label) && strcmp(verb, "key") != 0)
		return bw_cli_usage_error("tenant", "--gateway and --label are for key add");
	if (strcmp(verb, "scope") == 0) {
		if (nargs < 2)
			return bw_cli_usage_error("tenant", "tenant scope takes CC");
		if (o.country || o.name)
			return bw_cli_usage_error("tenant", "--country and --name are for tenant add");
		if (o.add + o.remove + o.list > 1)
			return bw_cli_usage_error("tenant", "--add, --remove and --list exclude each other");
		if (o.list && nargs > 2)
			return bw_cli_usage_error("tenant", "--list takes no KIND:VALUE");
		if ((o.add || o.remove) && nargs < 3)
			return bw_cli_usage_error("tenant", "--%s needs KIND:VALUE",
						  o.add ? "add" : "remove");
		if (nargs == 2)
			o.list = 1;
		if (o.json && !o.list)
			return bw_cli_usage_error("tenant", "--json is for the list commands");
		if (bw_tenant_country_parse(args[1], cc, &err))
			return bw_cli_usage_error("tenant", "%s", err.msg);
		for (int i = 2; i < nargs; i++) {
			struct bw_scope_entry e;
			if (bw_scope_entry_parse(args[i], &e, &err))
				return bw_cli_usage_error("tenant", "%s", err.msg);
		}
	} else if (strcmp(verb, "key") == 0) {
		if (nargs < 2)
			return bw_cli_usage_error("tenant", "key add, key list or key revoke is required");
		sub = args[1];
		if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
		    strcmp(sub, "revoke") != 0)
			return bw_cli_usage_error("tenant", "unknown key command '%s'", sub);
		if (strcmp(sub, "revoke") == 0 && nargs != 4)
			return bw_cli_usage_error("tenant", "key revoke takes CC and KEYID");
		if (strcmp(sub, "revoke") != 0 && nargs != 3)
			return bw_cli_usage_error("tenant", "key %s takes CC", sub);
		if (o.country || o.name)
			return bw_cli_usage_error("tenant", "--country and --name are for tenant add");
		if ((o.gateway || o.label) && strcmp(sub, "add") != 0)
			return bw_cli_usage_error("tenant", "--gateway and --label are for key add");
		if (o.json && strcmp(sub, "list") != 0)
			return bw_cli_usage_error("tenant", "--json is for the list commands");
		if (bw_tenant_country_parse(args[2], cc, &err))
			return bw_cli_usage_error("tenant", "%s", err.msg);
	} else if (strcmp(verb, "add") == 0) {
		if (nargs != 1)
			return bw_cli_usage_error("tenant", "unexpected argument '%s'", args[1]);
		if (o.country == NULL || o.name == NULL)
			return bw_cli_usage_error("tenant", "tenant add needs --country and --name");
		if (o.json)
			return bw_cli_usage_error("tenant", "--json is for the list commands");
		if (bw_tenant_country_parse(o.country, cc, &err))
			return bw_cli_usage_error("tenant", "--country: %s", err.msg);
	} else if (strcmp(verb, "list") == 0) {
		if (nargs != 1)
			return bw_cli_usage_error("tenant", "unexpected argument '%s'", args[1]);
		if (o.country || o.name)
			return bw_cli_usage_error("tenant", "--country and --name are for tenant add");
	} else {
		return bw_cli_usage_error("tenant", "unknown command '%s'", verb);
	}

	/* Only `tenant add` may create the store. */
	rc = bw_store_open(bw_cli_db_path(o.db),
			   strcmp(verb, "add") == 0 ? 0 : BW_STORE_NOCREATE, &st, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "add") == 0) {
		/* the eligible list of the daemon's configuration file */
		struct bw_serve_conf *conf = bw_calloc(1, sizeof(*conf));
		if (conf == NULL) {
			rc = bw_err_set(&err, BW_ENOMEM, "out of memory");
			goto out;
		}
		bw_serve_conf_init(conf);
		rc = o.config ? bw_serve_conf_load(conf, o.config, &err) : BW_OK;
		if (rc == BW_OK)
			rc = bw_tenant_add_eligible(st, bw_serve_conf_eligible(conf), cc, o.name,
						    bw_time_now(), NULL, &err);
		bw_free(conf);
		if (rc == BW_OK)
			printf("added tenant %s (%s)\n", cc, o.name);
	} else if (strcmp(verb, "list") == 0) {
		rc = cmd_list(st, &o, &err);
	} else if (strcmp(verb, "scope") == 0) {
		rc = o.list ? cmd_scope_list(st, cc, &o, &err)
			    : cmd_scope_change(st, cc, &o, args + 2, nargs - 2, &err);
	} else if (strcmp(sub, "add") == 0) {
		char key[BW_API_KEY_BUF];
		int64_t id;
		rc = bw_tenant_key_add_kind(st, cc, o.gateway ? BW_KEY_GATEWAY : BW_KEY_TENANT,
					    o.label, bw_time_now(), key, &id, &err);
		if (rc == BW_OK) {
			printf("%s\n", key);
			fflush(stdout);
			fprintf(stderr, "bulwark: %skey %lld for %s%s; it is shown only this once\n",
				o.gateway ? "gateway " : "", (long long)id, cc,
				o.gateway ? " (for /v1/check and /v1/gate only)" : "");
		}
	} else if (strcmp(sub, "list") == 0) {
		rc = cmd_key_list(st, cc, &o, &err);
	} else {
		long id;
		if (bw_cli_parse_int(args[3], 1, 0x7fffffffffffffffL, &id)) {
			status = bw_cli_usage_error("tenant", "KEYID is a key number, as `tenant key list` shows");
			goto done;
		}
		rc = bw_tenant_key_revoke(st, cc, id, bw_time_now(), &err);
		if (rc == BW_OK)
			printf("revoked key %ld of %s\n", id, cc);
	}
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
done:
	bw_store_close(st);
	return status;
}
