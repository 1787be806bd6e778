/*
 * enforce.c - RPZ, nftables and ipset files of the active actions (see
 * enforce.h).  Streaming: one query in target order, each row written as
 * it is read; the passthru check uses the set of triggers written so far.
 */
#include "disrupt/enforce.h"

#include <sqlite3.h>
#include <string.h>

#include "core/ioc.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "disrupt/action.h"
#include "net/rpz.h"

#define ENFORCE_TRIGGERS_MAX 20000000

static int
write_rpz(struct bw_store *st, int64_t now, FILE *out, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	struct bw_strmap *seen = NULL;
	int64_t serial = 1;
	char t[BW_TIME_TEXT_MAX];
	long n = 0, skipped = 0;
	int rc, step;

	rc = bw_strmap_new(ENFORCE_TRIGGERS_MAX, &seen, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(serial), 0) FROM rpz_change", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading the zone serial");
		goto out;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		serial = 1 + sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	fprintf(out, "; RPZ of bulwark's active disruption actions, written %s\n",
		bw_time_format(now, t));
	fprintf(out, "$ORIGIN %s\n$TTL %d\n", BW_ENFORCE_ZONE, BW_ENFORCE_TTL);
	fprintf(out, "@ IN SOA localhost. hostmaster.localhost. %lld 60 30 86400 30\n",
		(long long)(serial & 0xffffffffLL));
	fprintf(out, "@ IN NS localhost.\n");
	if (sqlite3_prepare_v2(db, "SELECT id, type, target, kind, sinkhole FROM action"
			       " WHERE state = 'active' ORDER BY type, target, id", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading active actions");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int type = sqlite3_column_int(s, 1);
		const char *target = (const char *)sqlite3_column_text(s, 2);
		const char *kind = (const char *)sqlite3_column_text(s, 3);
		const char *sink = (const char *)sqlite3_column_text(s, 4);
		char owner[600], rdata[80];
		const char *rtype = "CNAME";
		struct bw_ioc ioc;

		if (bw_rpz_trigger_text(type, target, owner, sizeof(owner), NULL) != BW_OK) {
			skipped++;
			continue;
		}
		snprintf(rdata, sizeof(rdata), ".");
		if (strcmp(kind, "sinkhole") == 0) {
			if (sink == NULL ||
			    bw_ioc_parse(sink, strlen(sink), BW_IOC_ANY, &ioc, NULL) != BW_OK ||
			    (ioc.type != BW_IOC_IPV4 && ioc.type != BW_IOC_IPV6)) {
				skipped++;
				continue;
			}
			rtype = ioc.type == BW_IOC_IPV4 ? "A" : "AAAA";
			snprintf(rdata, sizeof(rdata), "%s", ioc.value);
		}
		rc = bw_strmap_put(seen, owner, strlen(owner), NULL, err);
		if (rc)
			goto out;
		fprintf(out, "%s IN %s %s\n", owner, rtype, rdata);
		if (type == BW_IOC_DOMAIN)
			fprintf(out, "*.%s IN %s %s\n", owner, rtype, rdata);
		n++;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading active actions");
		goto out;
	}
	/* the operator's exceptions */
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT type, value FROM guard_entry"
			       " ORDER BY type, value", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading guard entries");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int type = sqlite3_column_int(s, 0);
		const char *value = (const char *)sqlite3_column_text(s, 1);
		char owner[600];
		if (bw_rpz_trigger_text(type, value, owner, sizeof(owner), NULL) != BW_OK ||
		    bw_strmap_find(seen, owner, strlen(owner), NULL))
			continue;
		fprintf(out, "%s IN CNAME rpz-passthru.\n", owner);
		if (type == BW_IOC_DOMAIN)
			fprintf(out, "*.%s IN CNAME rpz-passthru.\n", owner);
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading guard entries");
		goto out;
	}
	fprintf(out, "; %ld active action%s", n, n == 1 ? "" : "s");
	if (skipped)
		fprintf(out, ", %ld not expressible as triggers", skipped);
	fputc('\n', out);
out:
	sqlite3_finalize(s);
	bw_strmap_free(seen);
	return rc;
}

/* Calls line(out, family, value) for each active address or prefix of
 * family 4, then 6. */
static int
each_address(struct bw_store *st, FILE *out, int family,
	     void (*line)(FILE *, int, const char *, long), long *count,
	     struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	long i = 0;
	int step;

	*count = 0;

	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT type, target FROM action"
			       " WHERE state = 'active' AND type IN (?1, ?2, ?3)"
			       " ORDER BY type, target", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading active actions");
	sqlite3_bind_int(s, 1, BW_IOC_IPV4);
	sqlite3_bind_int(s, 2, BW_IOC_IPV6);
	sqlite3_bind_int(s, 3, BW_IOC_CIDR);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 1);
		int fam = strchr(v, ':') ? 6 : 4;
		if (fam == family)
			line(out, family, v, i++);
	}
	sqlite3_finalize(s);
	*count = i;
	return step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "reading active actions");
}

static void
nft_elem(FILE *out, int family, const char *v, long i)
{
	if (i == 0)
		fprintf(out, "add element inet bulwark blocked%d {\n", family);
	fprintf(out, "\t%s,\n", v);
}

static int
nft_set(struct bw_store *st, FILE *out, int family, struct bw_err *err)
{
	long n;
	int rc = each_address(st, out, family, nft_elem, &n, err);

	if (rc == BW_OK && n > 0)
		fputs("}\n", out);
	return rc;
}

static void
ipset_elem(FILE *out, int family, const char *v, long i)
{
	(void)i;
	fprintf(out, "add bulwark-block%d %s\n", family, v);
}

int
bw_enforce_export(struct bw_store *st, enum bw_enforce_format f, int64_t now,
		  FILE *out, struct bw_err *err)
{
	char t[BW_TIME_TEXT_MAX];
	long n;
	int rc;

	rc = bw_action_tick(st, now, NULL, err);
	if (rc)
		return rc;
	/* one read transaction: a consistent snapshot */
	if (sqlite3_exec(bw_store_db(st), "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "starting the export");
	switch (f) {
	case BW_ENFORCE_RPZ:
		rc = write_rpz(st, now, out, err);
		break;
	case BW_ENFORCE_NFT:
		fprintf(out, "# nftables sets of bulwark's active disruption actions, written %s\n"
			"# load with: nft -f FILE (replaces the contents of the sets)\n",
			bw_time_format(now, t));
		fputs("table inet bulwark {\n"
		      "\tset blocked4 { type ipv4_addr; flags interval; auto-merge; }\n"
		      "\tset blocked6 { type ipv6_addr; flags interval; auto-merge; }\n"
		      "}\n"
		      "flush set inet bulwark blocked4\n"
		      "flush set inet bulwark blocked6\n", out);
		rc = nft_set(st, out, 4, err);
		if (rc == BW_OK)
			rc = nft_set(st, out, 6, err);
		break;
	case BW_ENFORCE_IPSET:
		fprintf(out, "# ipset sets of bulwark's active disruption actions, written %s\n"
			"# load with: ipset restore < FILE\n", bw_time_format(now, t));
		fputs("create bulwark-block4 hash:net family inet hashsize 1024 maxelem 4194304 -exist\n"
		      "create bulwark-block6 hash:net family inet6 hashsize 1024 maxelem 4194304 -exist\n"
		      "flush bulwark-block4\n"
		      "flush bulwark-block6\n", out);
		rc = each_address(st, out, 4, ipset_elem, &n, err);
		if (rc == BW_OK)
			rc = each_address(st, out, 6, ipset_elem, &n, err);
		break;
	default:
		rc = bw_err_set(err, BW_EINVAL, "unknown enforcement format");
	}
	sqlite3_exec(bw_store_db(st), "COMMIT", NULL, NULL, NULL);
	return rc;
}
