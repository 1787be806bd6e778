/*
 * cmd_contact.c - bulwark contact: a tenant's points of contact and their
 * escalation levels (src/share/contact.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "share/contact.h"
#include "share/tenant.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: bulwark contact add --tenant CC --role ROLE --name NAME --email ADDR\n"
	"                           [--phone PHONE] --level N [--db PATH]\n"
	"       bulwark contact list [--tenant CC] [--all] [--json] [--db PATH]\n"
	"       bulwark contact remove ID [--db PATH]\n"
	"  level 1 is told first; higher levels when nobody acknowledged in time\n";

static int
print_list(const struct bw_contact *c, size_t n, int json)
{
	char ts[BW_TIME_TEXT_MAX];

	if (!json) {
		for (size_t i = 0; i < n; i++)
			printf("%lld  %s  level %d  %-28s  %-24s  %s%s%s%s\n", (long long)c[i].id,
			       c[i].country, c[i].level, c[i].role, c[i].name, c[i].email,
			       c[i].phone[0] ? "  " : "", c[i].phone,
			       c[i].removed ? "  (removed)" : "");
		return BW_OK;
	}
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_object();
		if (o == NULL)
			break;
		json_object_set_new(o, "id", json_integer(c[i].id));
		json_object_set_new(o, "tenant", json_string(c[i].country));
		json_object_set_new(o, "level", json_integer(c[i].level));
		json_object_set_new(o, "role", json_string(c[i].role));
		json_object_set_new(o, "name", json_string(c[i].name));
		json_object_set_new(o, "email", json_string(c[i].email));
		json_object_set_new(o, "phone", c[i].phone[0] ? json_string(c[i].phone) : json_null());
		json_object_set_new(o, "created", json_string(bw_time_format(c[i].created, ts)));
		json_object_set_new(o, "removed",
				    c[i].removed ? json_string(bw_time_format(c[i].removed, ts))
						 : json_null());
		json_array_append_new(arr, o);
	}
	return bw_cli_print_json(0, arr);
}

int
bw_cmd_contact(int argc, char **argv)
{
	const char *tenant = NULL, *role = NULL, *name = NULL, *email = NULL, *phone = "";
	const char *level = NULL, *db = NULL, *verb;
	struct bw_store *st = NULL;
	struct bw_err err;
	char cc[3] = "";
	int c, json = 0, all = 0, rc = BW_OK, status = BW_EXIT_OK;
	const struct bw_cli_opt opts[] = {
		{.name = "tenant", .str = &tenant},
		{.name = "role", .str = &role},
		{.name = "name", .str = &name},
		{.name = "email", .str = &email},
		{.name = "phone", .str = &phone},
		{.name = "level", .str = &level},
		{.name = "all", .flag = &all},
		{.name = "json", .flag = &json},
		{.name = "db", .str = &db},
		{.name = NULL},
	};

	if ((c = bw_cli_options(argc, argv, "contact", usage_text, opts)) >= 0)
		return c;
	if (optind >= argc)
		return bw_cli_usage_error("contact", "add, list or remove is required");
	verb = argv[optind];
	if (tenant && bw_tenant_country_parse(tenant, cc, &err))
		return bw_cli_usage_error("contact", "--tenant: %s", err.msg);
	if (strcmp(verb, "add") == 0) {
		struct bw_contact k;
		long lv;
		int64_t id;

		if (optind + 1 != argc)
			return bw_cli_usage_error("contact", "unexpected argument '%s'", argv[optind + 1]);
		if (!tenant || !role || !name || !email || !level)
			return bw_cli_usage_error("contact",
						  "contact add needs --tenant, --role, --name, --email and --level");
		if (bw_cli_parse_int(level, 1, BW_CONTACT_LEVEL_MAX, &lv))
			return bw_cli_usage_error("contact", "--level: a number from 1 to %d",
						  BW_CONTACT_LEVEL_MAX);
		if (json || all)
			return bw_cli_usage_error("contact", "--json and --all are for contact list");
		memset(&k, 0, sizeof(k));
		if (strlen(role) > BW_CONTACT_ROLE_MAX || strlen(name) > BW_CONTACT_NAME_MAX ||
		    strlen(email) > BW_CONTACT_EMAIL_MAX || strlen(phone) > BW_CONTACT_PHONE_MAX)
			return bw_cli_usage_error("contact", "a field is too long (role %d, name %d, email %d, phone %d bytes)",
						  BW_CONTACT_ROLE_MAX, BW_CONTACT_NAME_MAX,
						  BW_CONTACT_EMAIL_MAX, BW_CONTACT_PHONE_MAX);
		snprintf(k.role, sizeof(k.role), "%s", role);
		snprintf(k.name, sizeof(k.name), "%s", name);
		snprintf(k.email, sizeof(k.email), "%s", email);
		snprintf(k.phone, sizeof(k.phone), "%s", phone);
		k.level = (int)lv;
		rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
		if (rc == BW_OK)
			rc = bw_contact_add(st, cc, &k, bw_time_now(), &id, &err);
		if (rc == BW_OK)
			printf("added contact %lld to %s at level %d\n", (long long)id, cc, k.level);
	} else if (strcmp(verb, "list") == 0) {
		struct bw_contact *k = NULL;
		size_t n = 0;

		if (optind + 1 != argc)
			return bw_cli_usage_error("contact", "unexpected argument '%s'", argv[optind + 1]);
		if (role || name || email || level || phone[0])
			return bw_cli_usage_error("contact", "--role, --name, --email, --phone and --level are for contact add");
		rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
		if (rc == BW_OK)
			rc = bw_contact_list(st, tenant ? cc : NULL, all, &k, &n, &err);
		if (rc == BW_OK && print_list(k, n, json))
			rc = bw_err_set(&err, BW_ENOMEM, "out of memory");
		bw_free(k);
	} else if (strcmp(verb, "remove") == 0) {
		long id;

		if (optind + 2 != argc)
			return bw_cli_usage_error("contact", "contact remove takes ID");
		if (bw_cli_parse_int(argv[optind + 1], 1, 0x7fffffffffffffffL, &id))
			return bw_cli_usage_error("contact", "ID is a contact number, as contact list shows");
		if (tenant || role || name || email || level || phone[0] || json || all)
			return bw_cli_usage_error("contact", "contact remove takes only ID and --db");
		rc = bw_store_open(bw_cli_db_path(db), BW_STORE_NOCREATE, &st, &err);
		if (rc == BW_OK)
			rc = bw_contact_remove(st, id, bw_time_now(), &err);
		if (rc == BW_OK)
			printf("removed contact %ld\n", id);
	} else {
		return bw_cli_usage_error("contact", "unknown command '%s'", verb);
	}
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	bw_store_close(st);
	return status;
}
