/*
 * test_store.c - the provenance model: upsert semantics, idempotency,
 * expiry, cursors, statistics, schema versions, and that a kill -9 in the
 * middle of a transaction keeps every committed record.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "schema_old.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

static struct bw_ioc
ioc_of(const char *text)
{
	struct bw_ioc ioc;
	bw_ioc_parse(text, strlen(text), BW_IOC_ANY, &ioc, NULL);
	return ioc;
}

static struct bw_record_in
rec(const struct bw_ioc *ioc, const char *source)
{
	struct bw_record_in r;
	memset(&r, 0, sizeof(r));
	r.ioc = ioc;
	r.source = source;
	r.confidence = -1;
	r.tlp = BW_TLP_UNSET;
	return r;
}

static void
test_open_and_versions(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	sqlite3 *db;

	CHECK_INT(bw_store_open(tmp_path("none/x.db"), BW_STORE_NOCREATE, &st, &err),
		  BW_ENOTFOUND);
	CHECK(strstr(err.msg, "no store at") != NULL);
	CHECK_INT(bw_store_open(tmp_path("sub/dir/a.db"), 0, &st, &err), BW_OK);
	CHECK_INT(count(st, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
	CHECK(count(st, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
	bw_store_close(st);
	CHECK_INT(bw_store_open(tmp_path("sub/dir/a.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	bw_store_close(st);

	/* a store from a newer build is refused, not touched */
	sqlite3_open(tmp_path("sub/dir/a.db"), &db);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK_INT(bw_store_open(tmp_path("sub/dir/a.db"), 0, &st, &err), BW_EVERSION);
	CHECK(strstr(err.msg, "schema version 99") != NULL);
	CHECK(st == NULL);
}

static void
test_upsert(void)
{
	struct bw_store *st;
	struct bw_err err;
	struct bw_ioc a = ioc_of("evil.example.com"), b = ioc_of("192.0.2.1");
	struct bw_record_in r;
	enum bw_upsert_result res;
	struct bw_tag t1[] = {{"malware", "Emotet"}}, t2[] = {{"actor", "TA542"}, {"malware", "Emotet"}};
	const char *rc1[] = {"DE"};

	if (!CHECK(bw_store_open(tmp_path("u.db"), 0, &st, &err) == BW_OK))
		return;
	bw_store_begin(st, &err);
	r = rec(&a, "feed-a");
	CHECK_INT(bw_store_upsert(st, &r, 1000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_ADDED);
	/* the same again: only last_seen moves */
	CHECK_INT(bw_store_upsert(st, &r, 2000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UNCHANGED);
	CHECK_INT(count(st, "SELECT last_seen FROM record"), 2000);
	CHECK_INT(count(st, "SELECT first_seen FROM record"), 1000);
	CHECK_INT(count(st, "SELECT updated FROM record"), 1000);
	/* unstated TLP is stored as AMBER, unstated confidence as NULL */
	CHECK_INT(count(st, "SELECT tlp FROM record"), BW_TLP_AMBER);
	CHECK_INT(count(st, "SELECT count(*) FROM record WHERE confidence IS NULL"), 1);
	/* a stated field changes the record */
	r.confidence = 80;
	CHECK_INT(bw_store_upsert(st, &r, 3000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UPDATED);
	CHECK_INT(count(st, "SELECT updated FROM record"), 3000);
	/* leaving it unstated keeps it */
	r.confidence = -1;
	CHECK_INT(bw_store_upsert(st, &r, 3500, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UNCHANGED);
	CHECK_INT(count(st, "SELECT confidence FROM record"), 80);
	/* tags accumulate; a known tag is no change */
	r.tags = t1;
	r.ntags = 1;
	CHECK_INT(bw_store_upsert(st, &r, 4000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UPDATED);
	CHECK_INT(bw_store_upsert(st, &r, 4100, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UNCHANGED);
	r.tags = t2;
	r.ntags = 2;
	CHECK_INT(bw_store_upsert(st, &r, 4200, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UPDATED);
	CHECK_INT(count(st, "SELECT count(*) FROM record_tag"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM tag"), 2);
	/* recipients too */
	r.ntags = 0;
	r.recipients = rc1;
	r.nrecipients = 1;
	CHECK_INT(bw_store_upsert(st, &r, 4300, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UPDATED);
	/* first_seen only moves back */
	r.nrecipients = 0;
	r.first_seen = 5000;
	CHECK_INT(bw_store_upsert(st, &r, 5000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UNCHANGED);
	r.first_seen = 500;
	CHECK_INT(bw_store_upsert(st, &r, 5000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_UPDATED);
	CHECK_INT(count(st, "SELECT first_seen FROM record"), 500);
	/* a second source is a second record of the same indicator */
	r = rec(&a, "feed-b");
	r.tlp = BW_TLP_RED;
	CHECK_INT(bw_store_upsert(st, &r, 6000, &res, &err), BW_OK);
	CHECK_INT(res, BW_UPSERT_ADDED);
	CHECK_INT(count(st, "SELECT count(*) FROM indicator"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM record"), 2);
	/* invalid records are refused with a reason, nothing written */
	r = rec(&b, "feed-a");
	r.confidence = 101;
	CHECK_INT(bw_store_upsert(st, &r, 6000, &res, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "confidence 101") != NULL);
	r = rec(&b, NULL);
	CHECK_INT(bw_store_upsert(st, &r, 6000, &res, &err), BW_EINVAL);
	CHECK_INT(count(st, "SELECT count(*) FROM indicator"), 1);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);

	/* a rolled-back transaction leaves nothing */
	bw_store_begin(st, &err);
	r = rec(&b, "feed-a");
	CHECK_INT(bw_store_upsert(st, &r, 7000, &res, &err), BW_OK);
	bw_store_rollback(st);
	CHECK_INT(count(st, "SELECT count(*) FROM indicator"), 1);
	/* and the caches were reset: the source is added again */
	bw_store_begin(st, &err);
	r = rec(&b, "feed-new");
	CHECK_INT(bw_store_upsert(st, &r, 7000, &res, &err), BW_OK);
	bw_store_rollback(st);
	CHECK_INT(count(st, "SELECT count(*) FROM source WHERE name = 'feed-new'"), 0);
	bw_store_close(st);
}

static void
test_expiry_cursor_stats(void)
{
	struct bw_store *st;
	struct bw_err err;
	struct bw_ioc a = ioc_of("a.example"), b = ioc_of("10.0.0.0/8"),
		      c = ioc_of("d41d8cd98f00b204e9800998ecf8427e");
	struct bw_record_in r;
	enum bw_upsert_result res;
	struct bw_tag tags[] = {{"tag", "phishing"}, {"campaign", "X"}};
	const char *rcpts[] = {"FR", "DE"};
	struct bw_record_filter f;
	struct bw_store_cursor *cur;
	const struct bw_record_out *o;
	struct bw_store_stats s;
	long n;
	int k;

	if (!CHECK(bw_store_open(tmp_path("e.db"), 0, &st, &err) == BW_OK))
		return;
	bw_store_begin(st, &err);
	r = rec(&a, "s1");
	r.valid_until = 1500; /* already past at now = 2000 */
	bw_store_upsert(st, &r, 2000, &res, &err);
	r = rec(&b, "s1");
	r.valid_until = 3000;
	r.tags = tags;
	r.ntags = 2;
	r.recipients = rcpts;
	r.nrecipients = 2;
	r.tlp = BW_TLP_AMBER_STRICT;
	r.confidence = 90;
	r.external_id = "SBL1";
	bw_store_upsert(st, &r, 2000, &res, &err);
	r = rec(&c, "s2");
	r.revoked = 1;
	bw_store_upsert(st, &r, 2000, &res, &err);
	bw_store_commit(st, &err);
	CHECK_INT(count(st, "SELECT expired FROM record r JOIN indicator i ON i.id = r.indicator_id"
			    " WHERE i.value = 'a.example'"), 1);

	/* the active view hides expired and revoked records */
	memset(&f, 0, sizeof(f));
	CHECK_INT(bw_store_cursor_open(st, &f, &cur, &err), BW_OK);
	k = 0;
	while (bw_store_cursor_next(cur, &o, &err) > 0) {
		k++;
		CHECK_STR(o->value, "10.0.0.0/8");
		CHECK_INT(o->type, BW_IOC_CIDR);
		CHECK_STR(o->source, "s1");
		CHECK_STR(o->external_id, "SBL1");
		CHECK_INT(o->confidence, 90);
		CHECK_INT(o->tlp, BW_TLP_AMBER_STRICT);
		CHECK_INT(o->ntags, 2);
		CHECK_STR(o->tags[0].kind, "campaign");
		CHECK_STR(o->tags[1].name, "phishing");
		CHECK_INT(o->nrecipients, 2);
		CHECK_STR(o->recipients[0], "DE");
		CHECK_INT(o->valid_until, 3000);
	}
	CHECK_INT(k, 1);
	bw_store_cursor_free(cur);
	f.include_expired = 1;
	f.type = BW_IOC_MD5;
	bw_store_cursor_open(st, &f, &cur, &err);
	k = 0;
	while (bw_store_cursor_next(cur, &o, &err) > 0) {
		k++;
		CHECK(o->revoked == 1);
	}
	CHECK_INT(k, 1);
	bw_store_cursor_free(cur);
	f.type = BW_IOC_ANY;
	f.source = "s2";
	bw_store_cursor_open(st, &f, &cur, &err);
	k = 0;
	while (bw_store_cursor_next(cur, &o, &err) > 0)
		k++;
	CHECK_INT(k, 1);
	bw_store_cursor_free(cur);

	/* time passes: the CIDR expires too */
	CHECK_INT(bw_store_mark_expired(st, 4000, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	CHECK_INT(bw_store_mark_expired(st, 4000, &n, &err), BW_OK);
	CHECK_INT(n, 0);

	CHECK_INT(bw_store_stats(st, &s, &err), BW_OK);
	CHECK_INT(s.indicators, 3);
	CHECK_INT(s.records, 3);
	CHECK_INT(s.expired, 2);
	CHECK_INT(s.revoked, 1);
	CHECK_INT(s.by_type[BW_IOC_DOMAIN], 1);
	CHECK_INT(s.by_type[BW_IOC_CIDR], 1);
	CHECK_INT(s.by_type[BW_IOC_MD5], 1);
	CHECK_INT(s.by_tlp[BW_TLP_AMBER], 2);
	CHECK_INT(s.by_tlp[BW_TLP_AMBER_STRICT], 1);
	CHECK_INT(s.nsources, 2);
	CHECK_STR(s.by_source[0].name, "s1");
	CHECK_INT(s.by_source[0].n, 2);
	bw_store_stats_free(&s);
	{
		char **names;
		size_t nn;
		CHECK_INT(bw_store_source_names(st, &names, &nn, &err), BW_OK);
		CHECK_INT(nn, 2);
		CHECK_STR(names[1], "s2");
		CHECK(names[2] == NULL);
		bw_store_free_names(names);
	}
	bw_store_close(st);
}

/* A writer killed with SIGKILL in the middle of a transaction: every
 * committed record is there and the store opens. */
static void
test_kill9(void)
{
	int fds[2];
	pid_t pid;
	char c;
	struct bw_store *st;
	struct bw_err err;

	if (pipe(fds) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct bw_store *w;
		char name[64];
		enum bw_upsert_result res;
		close(fds[0]);
		if (bw_store_open(tmp_path("k.db"), 0, &w, &err))
			_exit(1);
		bw_store_begin(w, &err);
		for (int i = 0; i < 1000; i++) {
			snprintf(name, sizeof(name), "n%d.example", i);
			struct bw_ioc ioc = ioc_of(name);
			struct bw_record_in r = rec(&ioc, "k");
			bw_store_upsert(w, &r, 1, &res, &err);
		}
		if (bw_store_commit(w, &err))
			_exit(1);
		if (write(fds[1], "c", 1) != 1)
			_exit(1);
		bw_store_begin(w, &err);
		for (long i = 1000;; i++) {
			snprintf(name, sizeof(name), "n%ld.example", i);
			struct bw_ioc ioc = ioc_of(name);
			struct bw_record_in r = rec(&ioc, "k");
			bw_store_upsert(w, &r, 1, &res, &err);
		}
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1);
	usleep(100 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	CHECK_INT(bw_store_open(tmp_path("k.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM record"), 1000);
	CHECK_INT(count(st, "SELECT count(*) FROM pragma_integrity_check"
			    " WHERE integrity_check = 'ok'"), 1);
	bw_store_close(st);
}

static void
test_tag_text(void)
{
	char buf[64], kind[16];
	struct bw_tag t;

	CHECK_INT(bw_tag_format("tag", "phishing", buf, sizeof(buf)), 8);
	CHECK_STR(buf, "phishing");
	CHECK_INT(bw_tag_format("malware", "Emotet", buf, sizeof(buf)), 14);
	CHECK_STR(buf, "malware:Emotet");
	CHECK_INT(bw_tag_parse(buf, kind, sizeof(kind), &t, NULL), BW_OK);
	CHECK_STR(t.kind, "malware");
	CHECK_STR(t.name, "Emotet");
	CHECK_INT(bw_tag_format("actor", "APT28", NULL, 0), 11);
}

struct row {
	int64_t n;
	char text[8];
};

static void
fill_row(sqlite3_stmt *s, void *out)
{
	struct row *r = out;

	r->n = sqlite3_column_int64(s, 0);
	snprintf(r->text, sizeof(r->text), "%s", (const char *)sqlite3_column_text(s, 1));
}

/* bw_store_read_rows: every row in order, the limit, and ids */
static void
test_read_rows(void)
{
	struct bw_store *st = NULL;
	sqlite3_stmt *s = NULL;
	struct bw_err err;
	void *rows = NULL;
	int64_t *ids = NULL;
	size_t n = 0;

	if (!CHECK(bw_store_open(tmp_path("rows.db"), 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_store_prepare(st, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
				   " SELECT x + 1 FROM c WHERE x < 300) SELECT x, 'r' || x FROM c",
				   &s, &err), BW_OK);
	CHECK_INT(bw_store_read_rows(st, s, sizeof(struct row), 300, fill_row, &rows, &n,
				     "counting", &err), BW_OK);
	CHECK(n == 300);
	if (n == 300) {
		CHECK(((struct row *)rows)[0].n == 1);
		CHECK_STR(((struct row *)rows)[299].text, "r300");
	}
	bw_free(rows);
	CHECK_INT(bw_store_read_rows(st, s, sizeof(struct row), 299, fill_row, &rows, &n,
				     "counting", &err), BW_ELIMIT);
	CHECK(rows == NULL && n == 0);
	CHECK_STR(err.msg, "counting: more than 299 rows");
	CHECK_INT(bw_store_read_ids(st, s, &ids, &n, "ids", &err), BW_OK);
	CHECK(n == 300 && ids && ids[0] == 1 && ids[299] == 300);
	bw_free(ids);
	sqlite3_finalize(s);
	bw_store_close(st);
}

/* Schema 9 rebuilds the zone journal: serials, including the high-water
 * mark of rows already pruned, survive, so a zone serial never goes back;
 * and the domain|ip pairs schema 5 kept seed the resolution table. */
static void
test_migrate_v9(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	sqlite3 *db;

	if (!CHECK(bw_store_open(tmp_path("v9.db"), 0, &st, &err) == BW_OK))
		return;
	bw_store_close(st);
	if (!CHECK(sqlite3_open(tmp_path("v9.db"), &db) == SQLITE_OK))
		return;
	CHECK_INT(sqlite3_exec(db, SCHEMA_DROP_V9 "PRAGMA user_version = 8;"
			       "INSERT INTO source VALUES (1, 'misp', 0);"
			       "INSERT INTO indicator VALUES (1, 1, 'evil.example', 'evil.example', 0),"
			       " (2, 2, '192.0.2.7', NULL, 0);"
			       "INSERT INTO record(id, indicator_id, source_id, external_id, tlp,"
			       " first_seen, last_seen, added, updated) VALUES"
			       " (1, 1, 1, 'ev1/a7', 0, 10, 20, 0, 0), (2, 2, 1, 'ev1/a7|ip', 0, 10, 20, 0, 0);"
			       "INSERT INTO rpz_change(time, action_id, op) VALUES (1, 1, 'add'),"
			       " (2, 1, 'del'), (3, 2, 'add');"
			       "DELETE FROM rpz_change WHERE serial = 3;",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (!CHECK(bw_store_open(tmp_path("v9.db"), 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(count(st, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
	CHECK_INT(count(st, "SELECT count(*) FROM rpz_change"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM resolution WHERE ip_id = 2 AND domain ="
			    " 'evil.example' AND source_id = 1 AND first_seen = 10"), 1);
	CHECK_INT(sqlite3_exec(bw_store_db(st), "INSERT INTO rpz_change(time, guard_type,"
			       " guard_value, op) VALUES (4, 1, 'ok.example', 'add')", NULL, NULL,
			       NULL), SQLITE_OK);
	CHECK_INT(count(st, "SELECT max(serial) FROM rpz_change"), 4);
	/* a row is an action's or an exception's, never both or neither */
	CHECK_INT(sqlite3_exec(bw_store_db(st), "INSERT INTO rpz_change(time, op) VALUES (5, 'add')",
			       NULL, NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
	CHECK_INT(sqlite3_exec(bw_store_db(st), "INSERT INTO rpz_change(time, action_id, guard_type,"
			       " guard_value, op) VALUES (5, 1, 1, 'x.example', 'add')", NULL, NULL,
			       NULL) & 0xff, SQLITE_CONSTRAINT);
	bw_store_close(st);
}

int
main(void)
{
	if (tmp_dir_make("store"))
		return 1;
	TAP_RUN(test_open_and_versions);
	TAP_RUN(test_upsert);
	TAP_RUN(test_expiry_cursor_stats);
	TAP_RUN(test_kill9);
	TAP_RUN(test_tag_text);
	TAP_RUN(test_read_rows);
	TAP_RUN(test_migrate_v9);
	tmp_dir_remove();
	return tap_done();
}
