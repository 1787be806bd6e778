/*
 * cmd_audit.c - bulwark audit: check, sign and read the audit chain
 * (src/disrupt/audit.h).
 *
 * `audit verify` exits 0 when the chain (and the signed head, if given) is
 * intact and 1 otherwise, naming the first entry at fault.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "disrupt/audit.h"
#include "store/store.h"

#define SIG_FILE_MAX 4096

static const char usage_text[] =
	"usage: bulwark audit verify [--signature FILE] [--public-key HEX] [--json] [--db PATH]\n"
	"       bulwark audit sign --key FILE [--out FILE] [--db PATH]\n"
	"       bulwark audit keygen --key FILE\n"
	"       bulwark audit show [--after ID] [--limit N] [--subject S] [--json] [--db PATH]\n";

struct opts {
	const char *signature, *pubkey, *key, *out, *subject, *db;
	long after, limit;
	int json;
};

static int
read_small(const char *path, char *buf, size_t cap, size_t *len, struct bw_err *err)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return bw_err_set(err, BW_EIO, "cannot read %s: %s", path, strerror(errno));
	*len = fread(buf, 1, cap, f);
	fclose(f);
	if (*len == cap)
		return bw_err_set(err, BW_ELIMIT, "%s: larger than %zu bytes", path, cap - 1);
	buf[*len] = '\0';
	return BW_OK;
}

struct show_ctx {
	json_t *arr;
};

static int
show_one(void *ctx, const struct bw_audit_entry *e)
{
	struct show_ctx *c = ctx;
	char t[BW_TIME_TEXT_MAX], h[2 * BW_AUDIT_HASH_LEN + 1], p[2 * BW_AUDIT_HASH_LEN + 1];

	if (c->arr) {
		json_t *d = json_loads(e->detail, 0, NULL);
		json_array_append_new(c->arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s}",
			"id", (json_int_t)e->id, "time", bw_time_format(e->time, t),
			"operator", e->op, "kind", e->kind, "subject", e->subject,
			"detail", d ? d : json_string(e->detail),
			"prev_hash", bw_audit_hex(e->prev_hash, BW_AUDIT_HASH_LEN, p),
			"hash", bw_audit_hex(e->hash, BW_AUDIT_HASH_LEN, h)));
	} else {
		printf("%lld  %s  %-10s %-18s %-16s %s\n", (long long)e->id,
		       bw_time_format(e->time, t), e->op, e->kind, e->subject, e->detail);
	}
	return 0;
}

static int
cmd_verify(struct bw_store *st, const struct opts *o, int *intact, struct bw_err *err)
{
	struct bw_audit_report r;
	struct bw_audit_signature sig;
	unsigned char pk[BW_AUDIT_PK_LEN];
	char hh[2 * BW_AUDIT_HASH_LEN + 1];
	int rc, have_sig = 0;

	rc = bw_audit_verify(st, &r, err);
	if (rc)
		return rc;
	if (o->signature) {
		char buf[SIG_FILE_MAX];
		size_t len;
		rc = read_small(o->signature, buf, sizeof(buf), &len, err);
		if (rc == BW_OK)
			rc = bw_audit_signature_from_json(buf, len, &sig, err);
		if (rc == BW_OK && o->pubkey &&
		    bw_audit_unhex(o->pubkey, strlen(o->pubkey), pk, sizeof(pk)) != 0)
			rc = bw_err_set(err, BW_EINVAL, "--public-key: 64 hex digits");
		if (rc == BW_OK)
			rc = bw_audit_check_signature(st, &sig, o->pubkey ? pk : NULL, &r, err);
		if (rc)
			return rc;
		have_sig = 1;
	}
	*intact = r.fault == BW_AUDIT_INTACT;
	if (o->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:s, s:s, s:o, s:s}",
				      "intact", *intact, "entries", (json_int_t)r.entries,
				      "head", (json_int_t)r.head_id,
				      "head_hash", bw_audit_hex(r.head_hash, BW_AUDIT_HASH_LEN, hh),
				      "fault", bw_audit_fault_name(r.fault),
				      "entry", r.fault ? json_integer(r.bad_id) : json_null(),
				      "message", r.what);
		char *text;
		if (j && have_sig)
			json_object_set_new(j, "signed_entry", json_integer(sig.id));
		text = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
		if (text)
			printf("%s\n", text);
		bw_free(text);
		json_decref(j);
	} else if (*intact) {
		printf("audit log intact: %ld entries, head %lld %s%s\n", r.entries,
		       (long long)r.head_id, bw_audit_hex(r.head_hash, BW_AUDIT_HASH_LEN, hh),
		       have_sig ? "; signed head verified" : "");
	} else {
		printf("audit log NOT intact: entry %lld %s: %s\n", (long long)r.bad_id,
		       bw_audit_fault_name(r.fault), r.what);
	}
	return BW_OK;
}

int
bw_cmd_audit(int argc, char **argv)
{
	struct opts o;
	const struct bw_cli_opt opts[] = {
		{.name = "signature", .str = &o.signature},
		{.name = "public-key", .str = &o.pubkey},
		{.name = "key", .str = &o.key},
		{.name = "out", .str = &o.out},
		{.name = "after", .num = &o.after, .lo = 0, .hi = 0x7fffffffffffffffL,
		 .what = "an entry id"},
		{.name = "limit", .num = &o.limit, .lo = 1, .hi = 100000000, .what = "a number"},
		{.name = "subject", .str = &o.subject},
		{.name = "json", .flag = &o.json},
		{.name = "db", .str = &o.db},
		{.name = NULL},
	};
	struct bw_store *st = NULL;
	struct bw_err err;
	const char *verb;
	int rc = BW_OK, status = BW_EXIT_OK, intact = 1;

	memset(&o, 0, sizeof(o));
	bw_err_clear(&err);
	if ((status = bw_cli_options(argc, argv, "audit", usage_text, opts)) >= 0)
		return status;
	status = BW_EXIT_OK;
	if (optind + 1 != argc)
		return bw_cli_usage_error("audit", "verify, sign, keygen or show is required");
	verb = argv[optind];
	if (strcmp(verb, "keygen") == 0) {
		unsigned char pk[BW_AUDIT_PK_LEN], sk[BW_AUDIT_SK_LEN];
		char hex[2 * BW_AUDIT_PK_LEN + 1];
		if (o.key == NULL)
			return bw_cli_usage_error("audit", "keygen needs --key FILE");
		rc = bw_audit_keygen(pk, sk, &err);
		if (rc == BW_OK)
			rc = bw_audit_key_save(o.key, sk, &err);
		memset(sk, 0, sizeof(sk));
		if (rc == BW_OK)
			printf("%s\n", bw_audit_hex(pk, sizeof(pk), hex));
		goto out;
	}
	if (strcmp(verb, "sign") == 0 && o.key == NULL)
		return bw_cli_usage_error("audit", "sign needs --key FILE");
	if (strcmp(verb, "verify") != 0 && strcmp(verb, "sign") != 0 && strcmp(verb, "show") != 0)
		return bw_cli_usage_error("audit", "unknown command '%s'", verb);
	rc = bw_store_open(bw_cli_db_path(o.db), BW_STORE_NOCREATE, &st, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "verify") == 0) {
		rc = cmd_verify(st, &o, &intact, &err);
		if (rc == BW_OK && !intact)
			status = BW_EXIT_ERROR;
	} else if (strcmp(verb, "sign") == 0) {
		unsigned char pk[BW_AUDIT_PK_LEN], sk[BW_AUDIT_SK_LEN];
		struct bw_audit_signature sig;
		char *text = NULL;
		rc = bw_audit_key_load(o.key, pk, sk, &err);
		if (rc == BW_OK)
			rc = bw_audit_sign_head(st, sk, bw_time_now(), &sig, &err);
		memset(sk, 0, sizeof(sk));
		if (rc == BW_OK)
			rc = bw_audit_signature_to_json(&sig, &text, &err);
		if (rc == BW_OK) {
			FILE *f = o.out ? fopen(o.out, "w") : stdout;
			if (f == NULL) {
				rc = bw_err_set(&err, BW_EIO, "cannot write %s: %s", o.out, strerror(errno));
			} else {
				fprintf(f, "%s\n", text);
				if ((o.out && fclose(f) != 0) || (!o.out && fflush(f) != 0))
					rc = bw_err_set(&err, BW_EIO, "cannot write the signature");
			}
		}
		bw_free(text);
	} else {
		struct show_ctx ctx = {o.json ? json_array() : NULL};
		rc = bw_audit_list(st, o.after, o.limit, o.subject, show_one, &ctx, &err);
		if (rc == BW_OK && ctx.arr)
			bw_cli_print_json(0, ctx.arr);
		else
			json_decref(ctx.arr);
	}
out:
	if (rc) {
		bw_cli_error("%s", err.msg);
		status = BW_EXIT_ERROR;
	}
	/* bw_store_close(NULL) computes member addresses first (UBSan) */
	if (st)
		bw_store_close(st);
	return status;
}
