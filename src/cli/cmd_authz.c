/*
 * cmd_authz.c - bulwark authz: the legal authorisations disruption actions
 * cite (src/disrupt/authz.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "disrupt/action.h"
#include "disrupt/authz.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark authz add --authority NAME --reference REF --jurisdiction CC\n"
	"                         --scope SCOPE --valid-from TIME --valid-until TIME\n"
	"                         [--document FILE] --operator NAME [--json] [--db PATH]\n"
	"       bulwark authz list [--json] [--db PATH]\n"
	"       bulwark authz show ID [--json] [--db PATH]\n"
	"       bulwark authz revoke ID --reason TEXT --operator NAME [--json] [--db PATH]\n"
	"  SCOPE is tag:NAME, campaign:NAME, source:NAME or file:PATH (a list of\n"
	"  domains, addresses and prefixes); TIME is RFC 3339, a date, Unix\n"
	"  seconds or \"now\"\n";

struct opts {
	const char *authority, *reference, *jurisdiction, *scope, *from, *until;
	const char *document, *op, *reason, *db;
	int json;
};

static int
parse_time(const char *what, const char *s, int64_t now, int64_t *out)
{
	struct bw_err err;

	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (bw_time_parse(s, strlen(s), out, &err) != BW_OK) {
		bw_cli_usage_error("authz", "%s: %s", what, err.msg);
		return -1;
	}
	return 0;
}

static json_t *
authz_json(const struct bw_authz *a, int64_t now)
{
	char t1[BW_TIME_TEXT_MAX], t2[BW_TIME_TEXT_MAX], t3[BW_TIME_TEXT_MAX];
	char t4[BW_TIME_TEXT_MAX];

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b,"
			 " s:o, s:o, s:o, s:I, s:I}",
			 "id", (json_int_t)a->id, "authority", a->authority,
			 "reference", a->reference, "jurisdiction", a->jurisdiction,
			 "scope", bw_authz_scope_name(a->scope), "scope_value", a->scope_value,
			 "valid_from", bw_time_format(a->valid_from, t1),
			 "valid_until", bw_time_format(a->valid_until, t2),
			 "document_sha256", a->document_sha256[0] ? json_string(a->document_sha256)
								  : json_null(),
			 "created", bw_time_format(a->created, t3), "created_by", a->created_by,
			 "in_force", bw_authz_in_force(a, now),
			 "revoked", a->revoked ? json_string(bw_time_format(a->revoked, t4))
					       : json_null(),
			 "revoked_by", a->revoked ? json_string(a->revoked_by) : json_null(),
			 "revoke_reason", a->revoked ? json_string(a->revoke_reason) : json_null(),
			 "items", (json_int_t)a->items, "actions", (json_int_t)a->actions);
}


static void
print_text(const struct bw_authz *a, int64_t now)
{
	char t1[BW_TIME_TEXT_MAX], t2[BW_TIME_TEXT_MAX];

	printf("%lld  %s %s (%s)  %s:%s  %s .. %s  %s  %ld action%s\n", (long long)a->id,
	       a->authority, a->reference, a->jurisdiction, bw_authz_scope_name(a->scope),
	       a->scope_value, bw_time_format(a->valid_from, t1),
	       bw_time_format(a->valid_until, t2),
	       a->revoked ? "revoked" : bw_authz_in_force(a, now) ? "in force"
				     : now < a->valid_from ? "not yet in force" : "ended",
	       a->actions, a->actions == 1 ? "" : "s");
}

static int
cmd_add(struct bw_store *st, const struct opts *o, int64_t now, struct bw_err *err)
{
	struct bw_authz_in in;
	struct bw_authz_item *items = NULL;
	enum bw_authz_scope scope;
	const char *value;
	char sha[65];
	int64_t id;
	int rc;

	memset(&in, 0, sizeof(in));
	in.authority = o->authority;
	in.reference = o->reference;
	in.jurisdiction = o->jurisdiction;
	in.scope = o->scope;
	if (parse_time("--valid-from", o->from, now, &in.valid_from) ||
	    parse_time("--valid-until", o->until, now, &in.valid_until))
		return -1;
	rc = bw_authz_scope_parse(o->scope, &scope, &value, err);
	if (rc)
		return rc;
	if (scope == BW_AUTHZ_SCOPE_FILE) {
		rc = bw_authz_read_items(value, &items, &in.nitems, err);
		if (rc)
			return rc;
		in.items = items;
	}
	if (o->document) {
		rc = bw_authz_file_sha256(o->document, sha, err);
		if (rc)
			goto out;
		in.document_sha256 = sha;
	}
	rc = bw_authz_add(st, &in, o->op, now, &id, err);
	if (rc)
		goto out;
	if (o->json)
		(void)bw_cli_print_json(1, json_pack("{s:I}", "id", (json_int_t)id));
	else
		printf("%lld\n", (long long)id);
out:
	bw_free(items);
	return rc;
}

int
bw_cmd_authz(int argc, char **argv)
{
	struct opts o;
	const struct bw_cli_opt opts[] = {
		{.name = "authority", .str = &o.authority},
		{.name = "reference", .str = &o.reference},
		{.name = "jurisdiction", .str = &o.jurisdiction},
		{.name = "scope", .str = &o.scope},
		{.name = "valid-from", .str = &o.from},
		{.name = "valid-until", .str = &o.until},
		{.name = "document", .str = &o.document},
		{.name = "operator", .str = &o.op},
		{.name = "reason", .str = &o.reason},
		{.name = "json", .flag = &o.json},
		{.name = "db", .str = &o.db},
		{.name = NULL},
	};
	struct bw_store *st = NULL;
	struct bw_err err;
	const char *verb;
	int64_t now = bw_time_now();
	long id = 0;
	int rc = BW_OK, status = BW_EXIT_OK;

	memset(&o, 0, sizeof(o));
	bw_err_clear(&err);
	if ((status = bw_cli_options(argc, argv, "authz", usage_text, opts)) >= 0)
		return status;
	status = BW_EXIT_OK;
	if (optind >= argc)
		return bw_cli_usage_error("authz", "add, list, show or revoke is required");
	verb = argv[optind++];
	if (o.op == NULL)
		o.op = getenv("BULWARK_OPERATOR");
	if (strcmp(verb, "add") == 0) {
		if (optind < argc)
			return bw_cli_usage_error("authz", "unexpected argument '%s'", argv[optind]);
		if (!o.authority || !o.reference || !o.jurisdiction || !o.scope || !o.from ||
		    !o.until)
			return bw_cli_usage_error("authz",
						  "authz add needs --authority, --reference, --jurisdiction, --scope, --valid-from and --valid-until");
		if (o.op == NULL)
			return bw_cli_usage_error("authz", "--operator is required");
	} else if (strcmp(verb, "revoke") == 0 || strcmp(verb, "show") == 0) {
		if (optind + 1 != argc || bw_cli_parse_int(argv[optind], 1, 0x7fffffffffffffffL, &id))
			return bw_cli_usage_error("authz", "authz %s takes one authorisation id", verb);
		if (strcmp(verb, "revoke") == 0 && (o.op == NULL || o.reason == NULL))
			return bw_cli_usage_error("authz", "authz revoke needs --reason and --operator");
	} else if (strcmp(verb, "list") == 0) {
		if (optind < argc)
			return bw_cli_usage_error("authz", "unexpected argument '%s'", argv[optind]);
	} else {
		return bw_cli_usage_error("authz", "unknown command '%s'", verb);
	}

	rc = bw_store_open(bw_cli_db_path(o.db), strcmp(verb, "add") == 0 ? 0 : BW_STORE_NOCREATE,
			   &st, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "add") == 0) {
		rc = cmd_add(st, &o, now, &err);
		if (rc < 0) {
			status = BW_EXIT_USAGE;
			goto done;
		}
	} else if (strcmp(verb, "list") == 0) {
		struct bw_authz *v = NULL;
		size_t n = 0;
		rc = bw_authz_list(st, &v, &n, &err);
		if (rc == BW_OK && o.json) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < n; i++)
				json_array_append_new(arr, authz_json(&v[i], now));
			(void)bw_cli_print_json(0, arr);
		} else if (rc == BW_OK) {
			for (size_t i = 0; i < n; i++)
				print_text(&v[i], now);
		}
		bw_free(v);
	} else if (strcmp(verb, "show") == 0) {
		struct bw_authz a;
		rc = bw_authz_get_counted(st, id, &a, &err);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(0, authz_json(&a, now));
		else if (rc == BW_OK)
			print_text(&a, now);
	} else {
		long ended = 0;
		rc = bw_authz_revoke(st, id, o.op, o.reason, now, &ended, &err);
		if (rc == BW_OK && o.json)
			(void)bw_cli_print_json(1, json_pack("{s:I, s:I}", "id", (json_int_t)id, "actions_ended",
					     (json_int_t)ended));
		else if (rc == BW_OK)
			printf("revoked authorisation %ld; %ld action%s ended\n", id, ended,
			       ended == 1 ? "" : "s");
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
