/*
 * test_outbox.c - the outbox (share/outbox.h), notification targets and
 * digests (share/notify.h) and the webhook signature (share/deliver.h).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "share/deliver.h"
#include "share/notify.h"
#include "share/outbox.h"
#include "share/tenant.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

static int
enq(struct bw_store *st, const char *key, int prio, int64_t now)
{
	struct bw_outbox_msg m;
	char body[64];

	memset(&m, 0, sizeof(m));
	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key);
	m.channel = "webhook";
	m.destination = "http://127.0.0.1:1/hook";
	m.priority = prio;
	m.idem_key = key;
	m.content_type = "application/json";
	m.body = body;
	m.len = strlen(body);
	return bw_outbox_enqueue(st, &m, now, NULL, NULL);
}

static void
test_enqueue_claim(void)
{
	struct bw_store *st = NULL;
	struct bw_outbox_item *it = NULL;
	struct bw_outbox_policy p = {3, 10, 100, 60};
	struct bw_outbox_msg m;
	struct bw_err err;
	size_t n = 0;
	int64_t id1 = 0, id2 = 0;
	int dead = -1;
	long k = 0;

	CHECK_INT(bw_store_open(tmp_path("a.db"), 0, &st, &err), BW_OK);
	/* in the caller's transaction: a rollback leaves nothing */
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(enq(st, "k-low", 100, 1000), BW_OK);
	bw_store_rollback(st);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox"), 0);

	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(enq(st, "k-low", 100, 1000), BW_OK);
	CHECK_INT(enq(st, "k-high", 900, 1001), BW_OK);
	CHECK_INT(enq(st, "k-mid", 500, 1002), BW_OK);
	CHECK_INT(enq(st, "k-mid", 500, 1002), BW_OK); /* the same key: once */
	CHECK_INT(bw_store_commit(st, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox"), 3);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts = 0"), 3);

	/* a random key when none is given; bad input is refused */
	memset(&m, 0, sizeof(m));
	m.channel = "smtp";
	m.destination = "duty@cert.example";
	m.subject = "hello";
	m.content_type = "text/plain; charset=utf-8";
	m.body = "body\n";
	m.len = 5;
	CHECK_INT(bw_outbox_enqueue(st, &m, 1003, &id1, &err), BW_OK);
	CHECK_INT(bw_outbox_enqueue(st, &m, 1003, &id2, &err), BW_OK);
	CHECK(id1 > 0 && id2 == id1 + 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE idem_key LIKE 'bw-%%' AND length(idem_key) = 35"), 2);
	m.channel = "fax";
	CHECK_INT(bw_outbox_enqueue(st, &m, 1003, NULL, &err), BW_EINVAL);
	m.channel = "smtp";
	m.subject = "two\r\nlines";
	CHECK_INT(bw_outbox_enqueue(st, &m, 1003, NULL, &err), BW_EINVAL);
	m.subject = "x";
	m.idem_key = "has space";
	CHECK_INT(bw_outbox_enqueue(st, &m, 1003, NULL, &err), BW_EINVAL);

	/* webhooks only, highest priority first */
	CHECK_INT(bw_outbox_claim(st, &p, "webhook", 2000, 2, &it, &n, &err), BW_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(it[0].idem_key, "k-high");
		CHECK_STR(it[1].idem_key, "k-mid");
		CHECK_STR(it[0].channel, "webhook");
		CHECK_INT(it[0].priority, 900);
		CHECK_STR((const char *)it[0].body, "{\"key\":\"k-high\"}");
		id1 = it[0].id;
		id2 = it[1].id;
	}
	bw_outbox_items_free(it, n);
	/* claimed rows are held for the lease */
	CHECK_INT(bw_outbox_claim(st, &p, "webhook", 2000, 10, &it, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(it[0].idem_key, "k-low");
	bw_outbox_items_free(it, n);
	CHECK_INT(bw_outbox_claim(st, &p, "webhook", 2059, 10, &it, &n, &err), BW_OK);
	CHECK_INT(n, 0);
	bw_outbox_items_free(it, n);

	CHECK_INT(bw_outbox_delivered(st, id1, 2001, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE state = 'delivered' AND delivered = 2001 AND claimed IS NULL"), 1);

	/* failures: back-off, then dead after 3 attempts */
	CHECK_INT(bw_outbox_failed(st, id2, &p, "HTTP status 503", 3000, &dead, &err), BW_OK);
	CHECK_INT(dead, 0);
	{
		long next = count(st, "SELECT next_attempt FROM outbox WHERE idem_key = 'k-mid'");
		CHECK(next >= 3000 + 5 && next <= 3000 + 10);
	}
	CHECK_INT(bw_outbox_failed(st, id2, &p, "again", 3100, &dead, &err), BW_OK);
	{
		long next = count(st, "SELECT next_attempt FROM outbox WHERE idem_key = 'k-mid'");
		CHECK(next >= 3100 + 10 && next <= 3100 + 20);
	}
	CHECK_INT(bw_outbox_failed(st, id2, &p, "third", 3200, &dead, &err), BW_OK);
	CHECK_INT(dead, 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE state = 'dead' AND attempts = 3"
			    " AND last_error = 'third'"), 1);
	/* dead rows are not claimed; replay makes them pending again */
	CHECK_INT(bw_outbox_claim(st, &p, "webhook", 9000, 10, &it, &n, &err), BW_OK);
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(it[i].idem_key, "k-mid") != 0);
	bw_outbox_items_free(it, n);
	CHECK_INT(bw_outbox_replay(st, id1, 9000, &k, &err), BW_ENOTFOUND);
	CHECK_INT(bw_outbox_replay(st, id2, 9000, &k, &err), BW_OK);
	CHECK_INT(k, 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE id IN (SELECT id FROM outbox WHERE idem_key = 'k-mid')"
			    " AND state = 'pending' AND attempts = 0 AND next_attempt = 9000"), 1);

	/* a restarted daemon takes back what a killed one held */
	CHECK(count(st, "SELECT count(*) FROM outbox WHERE claimed IS NOT NULL") > 0);
	CHECK_INT(bw_outbox_release_claims(st, 9500, &k, &err), BW_OK);
	CHECK(k > 0);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE claimed IS NOT NULL"), 0);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt > 9500"), 0);

	{
		struct bw_outbox_counts c;
		CHECK_INT(bw_outbox_count(st, &c, &err), BW_OK);
		CHECK_INT(c.pending, 4);
		CHECK_INT(c.delivered, 1);
		CHECK_INT(c.dead, 0);
		CHECK_INT(bw_outbox_list(st, "pending", 10, &it, &n, &err), BW_OK);
		CHECK_INT(n, 4);
		bw_outbox_items_free(it, n);
		CHECK_INT(bw_outbox_list(st, "bogus", 10, &it, &n, &err), BW_EINVAL);
	}
	bw_store_close(st);
}

static void
test_backoff(void)
{
	struct bw_outbox_policy p = {8, 30, 3600, 120};

	CHECK_INT(bw_outbox_backoff(&p, 1, 0.0), 15);
	CHECK_INT(bw_outbox_backoff(&p, 1, 0.999), 29);
	CHECK_INT(bw_outbox_backoff(&p, 2, 0.0), 30);
	CHECK_INT(bw_outbox_backoff(&p, 3, 0.5), 90);
	/* capped at max_delay */
	CHECK_INT(bw_outbox_backoff(&p, 30, 0.0), 1800);
	CHECK(bw_outbox_backoff(&p, 30, 0.999) <= 3600);
	/* defaults */
	CHECK_INT(bw_outbox_backoff(NULL, 1, 0.0), 15);
}

static void
test_sign(void)
{
	char sig[BW_DELIVER_SIG_BUF];

	/* python3: hmac.new(b'0123456789abcdef-secret', b'1800000000.{"a":1}',
	 * hashlib.sha256).hexdigest() */
	bw_deliver_sign("0123456789abcdef-secret", 1800000000, "{\"a\":1}", 7, sig);
	CHECK_STR(sig, "sha256=a95fb1cc54a8da42527df108b59e48635de2e4b67017c98aa3ced6c359aba57a");
}

static void
test_notify_digest(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	struct bw_notify_change ch = {"https://hooks.example/ee", "0123456789abcdef-secret", -1, -1, -1};
	struct bw_notify_target t;
	struct bw_tenant te;
	const char *routed = NULL;
	int64_t period = 0;
	long n = -1;

	CHECK_INT(bw_store_open(tmp_path("n.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "DE", "Germany", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_get(st, "EE", &te, &err), BW_OK);
	/* defaults without a row */
	CHECK_INT(bw_notify_get(st, te.id, &t, &err), BW_OK);
	CHECK_STR(t.webhook, "");
	CHECK_INT(t.ack_deadline, BW_NOTIFY_DEFAULT_DEADLINE);
	CHECK_INT(t.min_confidence, 80);
	/* refused: no secret, bad URL, short secret */
	{
		struct bw_notify_change bad = {"https://hooks.example/ee", NULL, -1, -1, -1};
		CHECK_INT(bw_notify_set(st, "EE", &bad, 10, &err), BW_EINVAL);
		bad.webhook = "ftp://x.example/";
		bad.secret = "0123456789abcdef";
		CHECK_INT(bw_notify_set(st, "EE", &bad, 10, &err), BW_EINVAL);
		bad.webhook = "https://x.example/";
		bad.secret = "short";
		CHECK_INT(bw_notify_set(st, "EE", &bad, 10, &err), BW_EINVAL);
		CHECK_INT(bw_notify_set(st, "XX", &ch, 10, &err), BW_ENOTFOUND);
	}
	CHECK_INT(bw_notify_set(st, "EE", &ch, 10, &err), BW_OK);
	CHECK_INT(bw_notify_get(st, te.id, &t, &err), BW_OK);
	CHECK_STR(t.webhook, "https://hooks.example/ee");
	CHECK_STR(t.secret, "0123456789abcdef-secret");

	/* one message per item */
	CHECK_INT(bw_notify_tenant(st, te.id, 300, "{\"n\":1}", "item-1", 20, &routed, &err), BW_OK);
	CHECK_STR(routed, "webhook");
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE idem_key = 'item-1' AND channel = 'webhook'"
			    " AND destination = 'https://hooks.example/ee' AND priority = 300"), 1);

	/* digest mode: items wait, then one message per period */
	CHECK_INT(bw_notify_parse_period("1h", &period, &err), BW_OK);
	CHECK_INT(period, 3600);
	CHECK_INT(bw_notify_parse_period("10s", &period, &err), BW_EINVAL);
	CHECK_INT(bw_notify_parse_period("2x", &period, &err), BW_EINVAL);
	ch.webhook = NULL;
	ch.secret = NULL;
	ch.digest_period = 3600;
	CHECK_INT(bw_notify_set(st, "EE", &ch, 100, &err), BW_OK);
	CHECK_INT(bw_notify_tenant(st, te.id, 100, "{\"n\":2}", "item-2", 200, &routed, &err), BW_OK);
	CHECK_STR(routed, "digest");
	CHECK_INT(bw_notify_tenant(st, te.id, 700, "{\"n\":3}", "item-3", 201, &routed, &err), BW_OK);
	CHECK_INT(bw_notify_tenant(st, te.id, 400, "{\"n\":4}", "item-4", 202, &routed, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM digest_item"), 3);
	/* a tenant without a webhook gets nothing */
	{
		struct bw_tenant de;
		CHECK_INT(bw_tenant_get(st, "DE", &de, &err), BW_OK);
		CHECK_INT(bw_notify_tenant(st, de.id, 100, "{}", "de-1", 200, &routed, &err), BW_OK);
		CHECK_STR(routed, "none");
	}
	/* the first digest is due a period after the target was made (10) */
	CHECK_INT(bw_notify_flush_digests(st, 300, &n, &err), BW_OK);
	CHECK_INT(n, 0);
	CHECK_INT(bw_notify_flush_digests(st, 3610, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	CHECK_INT(count(st, "SELECT count(*) FROM digest_item"), 0);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE idem_key LIKE 'digest-%%'"), 1);
	CHECK_INT(count(st, "SELECT priority FROM outbox WHERE idem_key LIKE 'digest-%%'"), 700);
	{
		sqlite3_stmt *s;
		sqlite3_prepare_v2(bw_store_db(st), "SELECT body FROM outbox WHERE idem_key LIKE 'digest-%'",
				   -1, &s, NULL);
		if (CHECK(sqlite3_step(s) == SQLITE_ROW)) {
			const char *b = (const char *)sqlite3_column_text(s, 0);
			CHECK(strstr(b, "\"type\":\"digest\",\"tenant\":\"EE\"") != NULL);
			CHECK(strstr(b, "\"count\":3,\"items\":[{\"n\":3},{\"n\":4},{\"n\":2}]}") != NULL);
		}
		sqlite3_finalize(s);
	}
	/* the next one waits for the period */
	CHECK_INT(bw_notify_tenant(st, te.id, 100, "{\"n\":5}", "item-5", 3700, &routed, &err), BW_OK);
	CHECK_INT(bw_notify_flush_digests(st, 3610 + 3599, &n, &err), BW_OK);
	CHECK_INT(n, 0);
	CHECK_INT(bw_notify_flush_digests(st, 3610 + 3600, &n, &err), BW_OK);
	CHECK_INT(n, 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE idem_key LIKE 'digest-%%'"), 2);
	bw_store_close(st);
}

/* Allocation failures while claiming and listing leave every row as it
 * was, and free what they made (ASan).  Only with -Dfault_injection=true. */
static void
test_faults(void)
{
	struct bw_store *st = NULL;
	struct bw_outbox_item *it = NULL;
	struct bw_err err;
	size_t n = 0;
	long k, failed = 0;
	int rc = BW_ENOMEM;

	if (bw_mem_fail_after(1) < 0) {
		tap_state.n++;
		printf("ok %d - %s # SKIP no fault injection in this build\n", tap_state.n,
		       tap_state.test);
		return;
	}
	bw_mem_fail_reset();
	CHECK_INT(bw_store_open(tmp_path("f.db"), 0, &st, &err), BW_OK);
	for (int i = 0; i < 5; i++) {
		char key[16];
		snprintf(key, sizeof(key), "f-%d", i);
		CHECK_INT(enq(st, key, i, 100), BW_OK);
	}
	for (k = 1; k < 1000 && rc != BW_OK; k++) {
		bw_mem_fail_after(k);
		rc = bw_outbox_claim(st, NULL, NULL, 200, 10, &it, &n, &err);
		bw_mem_fail_reset();
		if (rc == BW_OK)
			break;
		failed++;
		if (rc != BW_ENOMEM || it != NULL ||
		    count(st, "SELECT count(*) FROM outbox WHERE claimed IS NULL AND next_attempt = 100") != 5) {
			CHECK(!"a failed claim changed the outbox");
			break;
		}
	}
	printf("# %ld allocation failures met in claim\n", failed);
	CHECK(failed > 0);
	CHECK_INT(n, 5);
	bw_outbox_items_free(it, n);
	bw_store_close(st);
}

int
main(void)
{
	if (tmp_dir_make("outbox"))
		return 1;
	TAP_RUN(test_enqueue_claim);
	TAP_RUN(test_backoff);
	TAP_RUN(test_sign);
	TAP_RUN(test_notify_digest);
	TAP_RUN(test_faults);
	tmp_dir_remove();
	return tap_done();
}
