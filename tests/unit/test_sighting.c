/*
 * test_sighting.c - the sighting table of the store (schema 2): the
 * migration from a schema-1 store, aggregation per (indicator, observer,
 * hour) by bw_store_record_sighting(), and its argument checks.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tlp.h"
#include "store/store.h"
#include "schema_old.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

/* Adds one indicator from source "t" and returns its indicator id. */
static int64_t
add(struct bw_store *st, const char *text)
{
	struct bw_ioc ioc;
	struct bw_record_in r;
	enum bw_upsert_result res;

	memset(&r, 0, sizeof(r));
	if (bw_ioc_parse(text, strlen(text), BW_IOC_ANY, &ioc, NULL) != BW_OK)
		return -1;
	r.ioc = &ioc;
	r.source = "t";
	r.confidence = -1;
	r.tlp = BW_TLP_UNSET;
	if (bw_store_upsert(st, &r, 1000, &res, NULL) != BW_OK)
		return -1;
	return count(st, "SELECT id FROM indicator WHERE value = '%s'", ioc.value);
}

static void
test_migration(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	sqlite3 *db;

	/* make a schema-1 store: a new store with what schemas 2 to 6 added
	 * removed */
	CHECK_INT(bw_store_open(tmp_path("v1.db"), 0, &st, &err), BW_OK);
	bw_store_close(st);
	sqlite3_open(tmp_path("v1.db"), &db);
	CHECK_INT(sqlite3_exec(db, SCHEMA_DROP_AFTER_V4 " DROP TABLE sighting; DROP TABLE tenant_scope;"
			       " DROP TABLE api_key; DROP TABLE tenant;"
			       " PRAGMA user_version = 1",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(bw_store_open(tmp_path("v1.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	CHECK_INT(count(st, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
	CHECK_INT(count(st, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM sqlite_master WHERE name = 'sighting'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM sqlite_master WHERE name = 'sighting_by_hour'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM sqlite_master WHERE name = 'sighting_queue'"), 1);
	bw_store_close(st);
}

static void
test_record(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	int64_t a, b;
	/* 2026-11-29T11:41:27Z and later in the same hour, and the next hour */
	const int64_t t0 = 1795952487, h0 = 1795950000;

	if (!CHECK(bw_store_open(tmp_path("s.db"), 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	a = add(st, "evil.example");
	b = add(st, "192.0.2.1");
	CHECK(a > 0 && b > 0 && a != b);
	{
		struct bw_sighting_in s = {a, "127.0.0.10", t0, t0 + 5, 3};
		CHECK_INT(bw_store_record_sighting(st, &s, &err), BW_OK);
	}
	{ /* same hour, earlier and later: one row, count 3 + 2 */
		struct bw_sighting_in s = {a, "127.0.0.10", h0 + 1, h0 + 3599, 2};
		CHECK_INT(bw_store_record_sighting(st, &s, &err), BW_OK);
	}
	{ /* the next hour, another observer, no observer, another indicator */
		struct bw_sighting_in s1 = {a, "127.0.0.10", h0 + 3600, h0 + 3600, 1};
		struct bw_sighting_in s2 = {a, "127.0.0.11", t0, t0, 7};
		struct bw_sighting_in s3 = {a, NULL, t0, t0, 1};
		struct bw_sighting_in s4 = {b, "", t0, t0, 1};
		CHECK_INT(bw_store_record_sighting(st, &s1, &err), BW_OK);
		CHECK_INT(bw_store_record_sighting(st, &s2, &err), BW_OK);
		CHECK_INT(bw_store_record_sighting(st, &s3, &err), BW_OK);
		CHECK_INT(bw_store_record_sighting(st, &s4, &err), BW_OK);
	}
	CHECK_INT(bw_store_commit(st, &err), BW_OK);

	CHECK_INT(count(st, "SELECT count(*) FROM sighting"), 5);
	CHECK_INT(count(st, "SELECT count FROM sighting WHERE observer = '127.0.0.10'"
			    " AND hour = 1795950000"), 5);
	CHECK_INT(count(st, "SELECT first_seen FROM sighting WHERE observer = '127.0.0.10'"
			    " AND hour = 1795950000"), h0 + 1);
	CHECK_INT(count(st, "SELECT last_seen FROM sighting WHERE observer = '127.0.0.10'"
			    " AND hour = 1795950000"), h0 + 3599);
	CHECK_INT(count(st, "SELECT count FROM sighting WHERE hour = 1795953600"), 1);
	CHECK_INT(count(st, "SELECT sum(count) FROM sighting"), 3 + 2 + 1 + 7 + 1 + 1);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting WHERE observer = ''"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting s JOIN indicator i"
			    " ON i.id = s.indicator_id WHERE i.value = '192.0.2.1'"), 1);

	/* refused: nothing written */
	{
		char longobs[300];
		struct bw_sighting_in bad1 = {a, "x", t0, t0, 0};
		struct bw_sighting_in bad2 = {a, "x", t0 + 1, t0, 1};
		struct bw_sighting_in bad3 = {a, "x", h0 + 3599, h0 + 3600, 1};
		struct bw_sighting_in bad4 = {0, "x", t0, t0, 1};
		struct bw_sighting_in bad5 = {a, longobs, t0, t0, 1};
		memset(longobs, '1', 299);
		longobs[299] = '\0';
		CHECK_INT(bw_store_record_sighting(st, &bad1, &err), BW_EINVAL);
		CHECK_INT(bw_store_record_sighting(st, &bad2, &err), BW_EINVAL);
		CHECK_INT(bw_store_record_sighting(st, &bad3, &err), BW_EINVAL);
		CHECK(strstr(err.msg, "different hours") != NULL);
		CHECK_INT(bw_store_record_sighting(st, &bad4, &err), BW_EINVAL);
		CHECK_INT(bw_store_record_sighting(st, &bad5, &err), BW_EINVAL);
		CHECK(strstr(err.msg, "longer than 255") != NULL);
	}
	CHECK_INT(count(st, "SELECT count(*) FROM sighting"), 5);
	bw_store_close(st);

	/* the hour of a time, also before 1970 */
	CHECK_INT(bw_sighting_hour(t0), h0);
	CHECK_INT(bw_sighting_hour(h0), h0);
	CHECK_INT(bw_sighting_hour(0), 0);
	CHECK_INT(bw_sighting_hour(-1), -3600);
}

int
main(void)
{
	if (tmp_dir_make("sighting"))
		return 1;
	TAP_RUN(test_migration);
	TAP_RUN(test_record);
	tmp_dir_remove();
	return tap_done();
}
