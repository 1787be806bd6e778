/*
 * test_audit.c - the audit chain: appends inside transactions only, entries
 * from ingest, tenant and key changes, and verify finding edited, removed,
 * reordered and rehashed entries at the right id; the Ed25519-signed head
 * catches truncation and a wrong key.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/psl.h"
#include "disrupt/audit.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "share/tenant.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

static int
exec(struct bw_store *st, const char *sql)
{
	return sqlite3_exec(bw_store_db(st), sql, NULL, NULL, NULL);
}

/* a store with n plain entries, ids 1..n */
static struct bw_store *
fresh(const char *name, int n)
{
	struct bw_store *st = NULL;
	struct bw_err err;

	unlink(tmp_path(name));
	if (bw_store_open(tmp_path(name), 0, &st, &err) != BW_OK)
		return NULL;
	bw_store_begin(st, &err);
	for (int i = 1; i <= n; i++) {
		char subject[32], detail[64];
		snprintf(subject, sizeof(subject), "test:%d", i);
		snprintf(detail, sizeof(detail), "{\"n\":%d}", i);
		bw_audit_append(st, 1000 + i, i % 2 ? "alice" : "bob", "test.step", subject,
				detail, NULL, &err);
	}
	bw_store_commit(st, &err);
	return st;
}

static void
verify_fault(struct bw_store *st, enum bw_audit_fault want, int64_t id)
{
	struct bw_audit_report r;
	struct bw_err err;

	CHECK_INT(bw_audit_verify(st, &r, &err), BW_OK);
	CHECK_STR(bw_audit_fault_name(r.fault), bw_audit_fault_name(want));
	CHECK_INT(r.bad_id, id);
	if (r.fault)
		printf("#   %s\n", r.what);
}

static void
test_append(void)
{
	struct bw_store *st = fresh("a.db", 0);
	struct bw_audit_report r;
	struct bw_err err;
	int64_t id = 0;

	CHECK(st != NULL);
	/* outside a transaction: refused */
	CHECK_INT(bw_audit_append(st, 1, "alice", "k", "s", "{}", NULL, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "outside a transaction") != NULL);
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(bw_audit_append(st, 1, "alice", "k", "s", NULL, &id, &err), BW_OK);
	CHECK_INT(id, 1);
	CHECK_INT(bw_audit_append(st, 2, "", "k", "s", "{}", NULL, &err), BW_EINVAL);
	CHECK_INT(bw_audit_append(st, 2, "alice", "", "s", "{}", NULL, &err), BW_EINVAL);
	CHECK_INT(bw_audit_append(st, 2, "bob", "k", "s", "{}", &id, &err), BW_OK);
	CHECK_INT(id, 2);
	/* a rolled-back change takes its entry with it */
	bw_store_rollback(st);
	CHECK_INT(count(st, "SELECT count(*) FROM audit"), 0);
	CHECK_INT(bw_audit_verify(st, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	CHECK_INT(r.entries, 0);
	bw_store_close(st);

	st = fresh("b.db", 5);
	CHECK_INT(bw_audit_verify(st, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	CHECK_INT(r.entries, 5);
	CHECK_INT(r.head_id, 5);
	/* the chain links: each prev_hash is the hash before it */
	CHECK_INT(count(st, "SELECT count(*) FROM audit a JOIN audit b ON b.id = a.id + 1"
			    " WHERE b.prev_hash = a.hash"), 4);
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE id = 1 AND prev_hash = zeroblob(32)"), 1);
	bw_store_close(st);
}

static void
test_tamper(void)
{
	struct bw_store *st;

	/* an edited field */
	st = fresh("t1.db", 8);
	CHECK_INT(exec(st, "UPDATE audit SET detail = '{\"n\":99}' WHERE id = 5"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_EDITED, 5);
	bw_store_close(st);
	st = fresh("t2.db", 8);
	CHECK_INT(exec(st, "UPDATE audit SET operator = 'mallory' WHERE id = 1"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_EDITED, 1);
	bw_store_close(st);
	st = fresh("t3.db", 8);
	CHECK_INT(exec(st, "UPDATE audit SET time = time + 1 WHERE id = 8"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_EDITED, 8);
	bw_store_close(st);
	/* a removed entry, in the middle and at the start */
	st = fresh("t4.db", 8);
	CHECK_INT(exec(st, "DELETE FROM audit WHERE id = 4"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_REMOVED, 4);
	bw_store_close(st);
	st = fresh("t5.db", 8);
	CHECK_INT(exec(st, "DELETE FROM audit WHERE id = 1"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_REMOVED, 1);
	bw_store_close(st);
	/* removed and the later ids moved down to hide the gap */
	st = fresh("t6.db", 8);
	CHECK_INT(exec(st, "DELETE FROM audit WHERE id = 3; UPDATE audit SET id = id - 1 WHERE id > 3"),
		  SQLITE_OK);
	verify_fault(st, BW_AUDIT_EDITED, 2);
	bw_store_close(st);
	/* two entries swapped */
	st = fresh("t7.db", 8);
	CHECK_INT(exec(st, "UPDATE audit SET id = -1 WHERE id = 6; UPDATE audit SET id = 6 WHERE id = 7;"
			   " UPDATE audit SET id = 7 WHERE id = -1"), SQLITE_OK);
	verify_fault(st, BW_AUDIT_REORDERED, 6);
	bw_store_close(st);
	/* edited with the hash recomputed by someone who knows the scheme: the
	 * next entry's link gives it away */
	st = fresh("t8.db", 8);
	{
		struct bw_err err;
		sqlite3_stmt *s;
		int64_t tid = 0;
		unsigned char prev[32], hash[32];
		/* recompute entry 3's hash with a changed detail by appending the
		 * same fields to a scratch store whose head is entry 2 */
		struct bw_store *scratch = fresh("scratch.db", 2);
		CHECK_INT(exec(scratch, "DELETE FROM audit"), SQLITE_OK);
		sqlite3_prepare_v2(bw_store_db(st), "SELECT prev_hash FROM audit WHERE id = 3", -1, &s, NULL);
		CHECK_INT(sqlite3_step(s), SQLITE_ROW);
		memcpy(prev, sqlite3_column_blob(s, 0), 32);
		sqlite3_finalize(s);
		sqlite3_prepare_v2(bw_store_db(scratch), "INSERT INTO audit VALUES (2, 0, 'x', 'x', 'x', 'x', zeroblob(32), ?1)",
				   -1, &s, NULL);
		sqlite3_bind_blob(s, 1, prev, 32, SQLITE_STATIC);
		CHECK_INT(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
		bw_store_begin(scratch, &err);
		CHECK_INT(bw_audit_append(scratch, 1003, "alice", "test.step", "test:3", "{\"n\":33}", &tid, &err), BW_OK);
		bw_store_commit(scratch, &err);
		sqlite3_prepare_v2(bw_store_db(scratch), "SELECT hash FROM audit WHERE id = 3", -1, &s, NULL);
		CHECK_INT(sqlite3_step(s), SQLITE_ROW);
		memcpy(hash, sqlite3_column_blob(s, 0), 32);
		sqlite3_finalize(s);
		bw_store_close(scratch);
		sqlite3_prepare_v2(bw_store_db(st), "UPDATE audit SET detail = '{\"n\":33}', hash = ?1 WHERE id = 3",
				   -1, &s, NULL);
		sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
		CHECK_INT(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
	}
	verify_fault(st, BW_AUDIT_EDITED, 3);
	bw_store_close(st);
}

static void
test_signed_head(void)
{
	struct bw_store *st = fresh("s.db", 6);
	struct bw_audit_signature sig, back;
	struct bw_audit_report r;
	struct bw_err err;
	unsigned char pk[BW_AUDIT_PK_LEN], sk[BW_AUDIT_SK_LEN];
	unsigned char pk2[BW_AUDIT_PK_LEN], sk2[BW_AUDIT_SK_LEN];
	char *text = NULL;

	CHECK_INT(bw_audit_keygen(pk, sk, &err), BW_OK);
	CHECK_INT(bw_audit_key_save(tmp_path("k"), sk, &err), BW_OK);
	CHECK_INT(bw_audit_key_save(tmp_path("k"), sk, &err), BW_EIO); /* never overwritten */
	CHECK_INT(bw_audit_key_load(tmp_path("k"), pk2, sk2, &err), BW_OK);
	CHECK(memcmp(pk, pk2, sizeof(pk)) == 0);
	CHECK(memcmp(sk, sk2, sizeof(sk)) == 0);
	CHECK_INT(bw_audit_sign_head(st, sk, 5000, &sig, &err), BW_OK);
	CHECK_INT(sig.id, 6);
	CHECK_INT(bw_audit_signature_to_json(&sig, &text, &err), BW_OK);
	CHECK_INT(bw_audit_signature_from_json(text, strlen(text), &back, &err), BW_OK);
	bw_free(text);
	CHECK(memcmp(&back, &sig, sizeof(sig)) == 0);

	memset(&r, 0, sizeof(r));
	CHECK_INT(bw_audit_check_signature(st, &back, pk, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	/* more entries after signing: the signed head is still in the chain */
	bw_store_begin(st, &err);
	bw_audit_append(st, 6000, "carol", "test.step", "test:7", "{}", NULL, &err);
	bw_store_commit(st, &err);
	memset(&r, 0, sizeof(r));
	CHECK_INT(bw_audit_check_signature(st, &back, pk, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	/* another key */
	CHECK_INT(bw_audit_keygen(pk2, sk2, &err), BW_OK);
	memset(&r, 0, sizeof(r));
	CHECK_INT(bw_audit_check_signature(st, &back, pk2, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_SIGNATURE);
	/* a forged signature */
	back.sig[0] ^= 1;
	memset(&r, 0, sizeof(r));
	CHECK_INT(bw_audit_check_signature(st, &back, NULL, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_SIGNATURE);
	back.sig[0] ^= 1;
	/* truncation to before the signed head: the chain alone looks intact */
	CHECK_INT(exec(st, "DELETE FROM audit WHERE id >= 6"), SQLITE_OK);
	CHECK_INT(bw_audit_verify(st, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	CHECK_INT(bw_audit_check_signature(st, &back, pk, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_SIGNATURE);
	CHECK_INT(r.bad_id, 6);
	CHECK(strstr(r.what, "truncated") != NULL);
	CHECK_INT(bw_audit_signature_from_json("{\"entry\":1}", 11, &back, &err), BW_EFORMAT);
	bw_store_close(st);
}

static void
test_hooks(void)
{
	struct bw_store *st = NULL;
	struct bw_psl *psl = NULL;
	struct bw_reader *rd = NULL;
	struct bw_ingest_options o;
	struct bw_ingest_result res;
	struct bw_audit_report r;
	struct bw_err err;
	char key[BW_API_KEY_BUF], file[512];
	int64_t kid = 0;
	const char *data = getenv("BW_TEST_DATA");

	unlink(tmp_path("h.db"));
	CHECK_INT(bw_store_open(tmp_path("h.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 100, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add(st, "EE", 101, key, &kid, &err), BW_OK);
	CHECK_INT(bw_tenant_key_revoke(st, "EE", kid, 102, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind = 'tenant.add' AND subject = 'tenant:EE'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind = 'tenant.key.add'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind = 'tenant.key.revoke'"), 1);
	/* the key text never enters the log */
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE detail LIKE '%%%.20s%%'", key + 6), 0);
	/* an ingested file: one entry with its counts, in its transaction */
	CHECK_INT(bw_psl_open(&psl, &err), BW_OK);
	memset(&o, 0, sizeof(o));
	o.format = BW_FEED_AUTO;
	o.tlp = -1;
	o.confidence = -1;
	o.psl = psl;
	o.now = 200;
	snprintf(file, sizeof(file), "%s/feeds/spamhaus-drop.txt", data ? data : "tests/data");
	if (access(file, R_OK) == 0 && bw_reader_open(file, &rd, &err) == BW_OK) {
		CHECK_INT(bw_ingest_reader(st, rd, &o, &res, &err), BW_OK);
		bw_reader_free(rd);
		CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind = 'ingest.batch'"), 1);
		CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind = 'ingest.batch'"
				" AND detail LIKE '%%\"added\":%ld,%%'", res.added), 1);
		CHECK(res.added > 0);
	} else {
		CHECK(!"tests/data/feeds/spamhaus-drop.txt is missing");
	}
	CHECK_INT(bw_audit_verify(st, &r, &err), BW_OK);
	CHECK_INT(r.fault, BW_AUDIT_INTACT);
	CHECK_INT(r.entries, 4);
	bw_psl_free(psl);
	bw_store_close(st);
}

int
main(void)
{
	if (tmp_dir_make("audit"))
		return 1;
	TAP_RUN(test_append);
	TAP_RUN(test_tamper);
	TAP_RUN(test_signed_head);
	TAP_RUN(test_hooks);
	tmp_dir_remove();
	return tap_done();
}
