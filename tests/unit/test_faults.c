/*
 * test_faults.c - every allocation failure on the ingest path is handled:
 * for N = 1, 2, ... the Nth allocation (and every later one) fails while a
 * small real feed is ingested into a fresh store; each run must end with
 * BW_OK or a clean error (never a crash, and, under ASan, never a leak),
 * until N is past the last allocation and the run succeeds.  Built only with
 * -Dfault_injection=true (the sanitizer build of make test).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/psl.h"
#include "core/tlp.h"
#include "feed/ingest.h"
#include "feed/reader.h"
#include "store/store.h"
#include "tap.h"

static void
on_result(void *ctx, const struct bw_ingest_result *r)
{
	long *records = ctx;

	*records = r->refused ? -1 : r->records;
}

/* One ingest with the Nth allocation failing; returns the records ingested
 * (-1 if the file was refused) or -2 if the run stopped with an error. */
static void
remove_db(const char *db)
{
	char p[128];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

static long
run_once(long nth, const char *feed, const char *db)
{
	struct bw_ingest_options o;
	struct bw_store *st = NULL;
	struct bw_psl *psl = NULL;
	struct bw_err err;
	long records = -3;
	int rc;

	remove_db(db);
	memset(&o, 0, sizeof(o));
	o.tlp = BW_TLP_UNSET;
	o.confidence = -1;
	o.now = 1700000000;
	if (bw_psl_open(&psl, &err) || bw_store_open(db, 0, &st, &err)) {
		bw_store_close(st);
		bw_psl_free(psl);
		return -2;
	}
	o.psl = psl;
	bw_mem_fail_after(nth);
	rc = bw_ingest_path(st, feed, &o, on_result, &records, &err);
	bw_mem_fail_reset();
	bw_store_close(st);
	bw_psl_free(psl);
	return rc ? -2 : records;
}

static void
test_ingest_faults(const char *rel, long want)
{
	char feed[4096], db[64];
	const char *dir = getenv("BW_TEST_DATA");
	long n, got = -2, failures = 0;

	snprintf(feed, sizeof(feed), "%s/%s", dir ? dir : "tests/data", rel);
	snprintf(db, sizeof(db), "/tmp/bw-faults-%d.db", (int)getpid());
	for (n = 1; n < 100000; n++) {
		got = run_once(n, feed, db);
		if (got == want)
			break;
		failures++;
	}
	if (!tap_check(got == want, rel, __FILE__, __LINE__))
		printf("#   last run gave %ld records, want %ld\n", got, want);
	printf("# %s: %ld runs with a failing allocation survived\n", rel, failures);
	CHECK(failures > 10);
	remove_db(db);
}

static void
test_faults_drop(void)
{
	test_ingest_faults("feeds/spamhaus-dropv6.txt", 78);
}

static void
test_faults_misp(void)
{
	/* JSON: the streaming scanner, jansson and the MISP mapping */
	test_ingest_faults("misp/reportlab_testfiles__sighting_1.json", 5);
}

int
main(void)
{
	json_set_alloc_funcs(bw_malloc, bw_free);
	if (!CHECK(bw_mem_fail_after(1) == 0))
		return tap_done();
	bw_mem_fail_reset();
	TAP_RUN(test_faults_drop);
	TAP_RUN(test_faults_misp);
	return tap_done();
}
