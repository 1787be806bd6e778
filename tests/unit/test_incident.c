/*
 * test_incident.c - incidents (share/incident.h) and contacts
 * (share/contact.h): sightings queued by the triggers of schema 6 open
 * incidents only within a tenant's scope and TLP rights and above its
 * confidence, level 1 is mailed, escalation follows the deadline, an
 * acknowledgement stops it, and the timeline records it all.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "share/contact.h"
#include "share/incident.h"
#include "share/notify.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

#define T0 1800000000LL

/* One record of source "feed"; returns the indicator id. */
static int64_t
add(struct bw_store *st, const char *text, int conf, int tlp, const char *malware,
    const char *recipient)
{
	struct bw_ioc ioc;
	struct bw_record_in r;
	struct bw_tag tag = {"malware", malware};
	const char *rc[1] = {recipient};
	enum bw_upsert_result res;

	memset(&r, 0, sizeof(r));
	if (bw_ioc_parse(text, strlen(text), BW_IOC_ANY, &ioc, NULL) != BW_OK)
		return -1;
	r.ioc = &ioc;
	r.source = "feed";
	r.confidence = conf;
	r.tlp = tlp;
	if (malware) {
		r.tags = &tag;
		r.ntags = 1;
	}
	if (recipient) {
		r.recipients = rc;
		r.nrecipients = 1;
	}
	if (bw_store_upsert(st, &r, T0 - 86400, &res, NULL) != BW_OK)
		return -1;
	return count(st, "SELECT id FROM indicator WHERE value = '%s'", ioc.value);
}

static int
sight(struct bw_store *st, int64_t ind, const char *observer, int64_t t, long n)
{
	struct bw_sighting_in s = {ind, observer, t, t, n};

	return bw_store_record_sighting(st, &s, NULL);
}

static int
contact(struct bw_store *st, const char *cc, const char *name, const char *email, int level)
{
	struct bw_contact c;

	memset(&c, 0, sizeof(c));
	snprintf(c.role, sizeof(c.role), "%s", level == 1 ? "national CERT duty officer" : "CERT head");
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.email, sizeof(c.email), "%s", email);
	c.level = level;
	return bw_contact_add(st, cc, &c, T0 - 1000, NULL, NULL);
}

static void
test_contacts(void)
{
	struct bw_store *st = NULL;
	struct bw_contact c, *list = NULL;
	struct bw_err err;
	size_t n = 0;
	int64_t id = 0;
	int lv = -1;

	CHECK_INT(bw_store_open(tmp_path("c.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	memset(&c, 0, sizeof(c));
	snprintf(c.role, sizeof(c.role), "energy sector CSIRT");
	snprintf(c.name, sizeof(c.name), "Mari Maasikas");
	snprintf(c.email, sizeof(c.email), "mari@csirt.example");
	snprintf(c.phone, sizeof(c.phone), "+372 600 0000");
	c.level = 2;
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, &id, &err), BW_OK);
	CHECK(id > 0);
	CHECK_INT(bw_contact_add(st, "XX", &c, 5, NULL, &err), BW_ENOTFOUND);
	c.level = 0;
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, NULL, &err), BW_EINVAL);
	c.level = 1;
	snprintf(c.email, sizeof(c.email), "not an address");
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, NULL, &err), BW_EINVAL);
	snprintf(c.email, sizeof(c.email), "a@b@c.example");
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, NULL, &err), BW_EINVAL);
	snprintf(c.email, sizeof(c.email), "duty@cert.example");
	snprintf(c.phone, sizeof(c.phone), "call me");
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, NULL, &err), BW_EINVAL);
	c.phone[0] = '\0';
	CHECK_INT(bw_contact_add(st, "EE", &c, 5, NULL, &err), BW_OK);

	CHECK_INT(bw_contact_list(st, "EE", 0, &list, &n, &err), BW_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(list[0].level, 1);
		CHECK_STR(list[0].email, "duty@cert.example");
		CHECK_STR(list[1].phone, "+372 600 0000");
		CHECK_STR(list[1].country, "EE");
	}
	bw_free(list);
	CHECK_INT(bw_contact_next_level(st, 1, 0, &lv, &err), BW_OK);
	CHECK_INT(lv, 1);
	CHECK_INT(bw_contact_next_level(st, 1, 1, &lv, &err), BW_OK);
	CHECK_INT(lv, 2);
	CHECK_INT(bw_contact_remove(st, id, 10, &err), BW_OK);
	CHECK_INT(bw_contact_remove(st, id, 10, &err), BW_ENOTFOUND);
	CHECK_INT(bw_contact_next_level(st, 1, 1, &lv, &err), BW_OK);
	CHECK_INT(lv, 0);
	CHECK_INT(bw_contact_list(st, NULL, 1, &list, &n, &err), BW_OK);
	CHECK_INT(n, 2); /* the removed one with all */
	bw_free(list);
	bw_store_close(st);
}

static long
incident_of(struct bw_store *st, const char *value)
{
	return count(st, "SELECT i.id FROM incident i JOIN indicator d ON d.id = i.indicator_id"
		     " WHERE d.value = '%s' ORDER BY i.id DESC", value);
}

static void
test_incidents(void)
{
	struct bw_store *st = NULL, *other = NULL;
	struct bw_incident_stats stats;
	struct bw_incident x;
	struct bw_incident_event *ev = NULL;
	struct bw_notify_change ch = {"http://127.0.0.1:18899/hook", "0123456789abcdef-secret", -1, 600, -1};
	struct bw_incident_config cfg = {"https://bulwark.example", NULL, NULL, NULL};
	struct bw_err err;
	struct bw_tenant ee;
	char token[BW_INCIDENT_TOKEN_HEX];
	size_t n = 0;
	int64_t evil, weak, c2, red, benign;
	long ievil, ic2;

	CHECK_INT(bw_store_open(tmp_path("i.db"), 0, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "DE", "Germany", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_get(st, "EE", &ee, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "EE", "cidr:192.0.2.0/24", 1, &err), BW_OK);
	CHECK_INT(bw_notify_set(st, "EE", &ch, 1, &err), BW_OK);
	CHECK_INT(contact(st, "EE", "Alice", "alice@cert.example", 1), BW_OK);
	CHECK_INT(contact(st, "EE", "Bob", "bob@cert.example", 1), BW_OK);
	CHECK_INT(contact(st, "EE", "Carol", "carol@cert.example", 2), BW_OK);

	evil = add(st, "evil.ee", 90, BW_TLP_GREEN, "emotet", NULL);
	weak = add(st, "weak.ee", 50, BW_TLP_GREEN, NULL, NULL);
	c2 = add(st, "c2.example", 95, BW_TLP_CLEAR, NULL, NULL);
	red = add(st, "red.ee", 95, BW_TLP_RED, NULL, "DE");
	benign = add(st, "elsewhere.example", 95, BW_TLP_CLEAR, NULL, NULL);
	CHECK(evil > 0 && weak > 0 && c2 > 0 && red > 0 && benign > 0);

	/* sightings recorded by another connection (as `match --record`) */
	CHECK_INT(bw_store_open(tmp_path("i.db"), 0, &other, &err), BW_OK);
	CHECK_INT(bw_store_begin(other, &err), BW_OK);
	CHECK_INT(sight(other, evil, "10.0.0.1", T0 - 60, 3), BW_OK);
	CHECK_INT(sight(other, weak, "10.0.0.1", T0 - 60, 1), BW_OK);      /* confidence 50 */
	CHECK_INT(sight(other, c2, "192.0.2.7", T0 - 60, 2), BW_OK);       /* from EE's network */
	CHECK_INT(sight(other, c2, "198.51.100.1", T0 - 60, 1), BW_OK);    /* from nowhere known */
	CHECK_INT(sight(other, red, "10.0.0.2", T0 - 60, 1), BW_OK);       /* RED for DE only */
	CHECK_INT(sight(other, benign, "10.0.0.3", T0 - 60, 1), BW_OK);    /* not national */
	CHECK_INT(bw_store_commit(other, &err), BW_OK);
	/* weak.ee (confidence 50, under every tenant's threshold) is not queued */
	CHECK_INT(count(st, "SELECT count(*) FROM sighting_queue"), 5);
	/* an aggregated row that grows queues only the difference */
	CHECK_INT(sight(other, benign, "10.0.0.3", T0 - 50, 4), BW_OK);
	CHECK_INT(count(st, "SELECT count FROM sighting_queue ORDER BY id DESC"), 4);

	CHECK_INT(bw_incident_step(st, &cfg, T0, &stats, &err), BW_OK);
	CHECK_INT(stats.sightings, 12);
	CHECK_INT(stats.opened, 2);
	/* c2.example from 198.51.100.1 concerns nobody: not added */
	CHECK_INT(stats.added, 0);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting_queue"), 0);
	CHECK_INT(count(st, "SELECT count(*) FROM incident"), 2);
	ievil = incident_of(st, "evil.ee");
	ic2 = incident_of(st, "c2.example");
	CHECK(ievil > 0 && ic2 > 0);
	CHECK_INT(incident_of(st, "weak.ee"), -1);
	CHECK_INT(incident_of(st, "red.ee"), -1);
	CHECK_INT(incident_of(st, "elsewhere.example"), -1);

	/* the documented priority: evil.ee high (malware) 187 + 180 +
	 * scope 100 + recency 100 + no model 50; c2.example medium 125 + 190 +
	 * sighted 150 + 100 + 50 */
	CHECK_INT(bw_incident_get(st, ievil, &x, &err), BW_OK);
	CHECK_INT(x.priority, 617);
	CHECK_STR(x.state, "open");
	CHECK_STR(x.country, "EE");
	CHECK_INT(x.level, 1);
	CHECK_INT(x.sightings, 3);
	CHECK_INT(x.escalate_at, T0 + 600);
	CHECK_INT(bw_incident_get(st, ic2, &x, &err), BW_OK);
	CHECK_INT(x.priority, 615);
	CHECK_INT(x.sightings, 2);

	/* level 1 mailed (two contacts per incident), the webhook told */
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp'"), 4);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp' AND destination = 'carol@cert.example'"), 0);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND idem_key LIKE 'incident-%%-opened'"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp' AND CAST(body AS TEXT) LIKE '%%https://bulwark.example/v1/incidents/%%/ack?token=%%'"
			    " AND CAST(body AS TEXT) LIKE '%%evil[.]ee%%' AND CAST(body AS TEXT) NOT LIKE '%%evil.ee%%'"), 2);

	/* another sighting adds to the open incident, without new mail */
	CHECK_INT(sight(other, evil, "10.0.0.9", T0 + 10, 5), BW_OK);
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 20, &stats, &err), BW_OK);
	CHECK_INT(stats.opened, 0);
	CHECK_INT(stats.added, 1);
	CHECK_INT(bw_incident_get(st, ievil, &x, &err), BW_OK);
	CHECK_INT(x.sightings, 8);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp'"), 4);

	/* the API's tenant check, then an acknowledgement stops escalation */
	{
		struct bw_tenant de;
		CHECK_INT(bw_tenant_get(st, "DE", &de, &err), BW_OK);
		CHECK_INT(bw_incident_ack(st, ic2, de.id, "api:DE", T0 + 30, &err), BW_ENOTFOUND);
	}
	CHECK_INT(bw_incident_ack(st, ic2, ee.id, "api:EE:key 1", T0 + 30, &err), BW_OK);
	CHECK_INT(bw_incident_ack(st, ic2, ee.id, "again", T0 + 31, &err), BW_OK);
	CHECK_INT(bw_incident_get(st, ic2, &x, &err), BW_OK);
	CHECK_STR(x.state, "acknowledged");
	CHECK_STR(x.acked_by, "api:EE:key 1");
	CHECK_INT(x.acked, T0 + 30);

	/* no acknowledgement for evil.ee: level 2 at the deadline, not before */
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 599, &stats, &err), BW_OK);
	CHECK_INT(stats.escalated, 0);
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 600, &stats, &err), BW_OK);
	CHECK_INT(stats.escalated, 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp' AND destination = 'carol@cert.example'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE idem_key LIKE 'incident-%%-escalated-2'"), 1);
	CHECK_INT(bw_incident_get(st, ievil, &x, &err), BW_OK);
	CHECK_INT(x.level, 2);
	CHECK_INT(x.escalate_at, T0 + 1200);
	/* after the last level: said once, then quiet */
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 1200, &stats, &err), BW_OK);
	CHECK_INT(stats.escalated, 0);
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 5000, &stats, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM incident_event WHERE kind = 'unanswered'"), 1);

	/* the signed link */
	CHECK_INT(bw_incident_ack_token(st, ievil, token, &err), BW_OK);
	CHECK_INT(strlen(token), 64);
	CHECK_INT(bw_incident_ack_token_check(st, ievil, token, &err), BW_OK);
	CHECK_INT(bw_incident_ack_token_check(st, ic2, token, &err), BW_ENOTFOUND);
	token[0] = token[0] == 'a' ? 'b' : 'a';
	CHECK_INT(bw_incident_ack_token_check(st, ievil, token, &err), BW_ENOTFOUND);
	CHECK_INT(bw_incident_ack_token_check(st, ievil, "short", &err), BW_ENOTFOUND);
	CHECK_INT(bw_incident_ack(st, ievil, 0, "link", T0 + 5001, &err), BW_OK);

	/* the timeline */
	CHECK_INT(bw_incident_events(st, ievil, &ev, &n, &err), BW_OK);
	CHECK_INT(n, 7);
	if (n == 7) {
		CHECK_STR(ev[0].kind, "opened");
		CHECK_STR(ev[1].kind, "notified");
		CHECK(strstr(ev[1].detail, "level 1: Alice <alice@cert.example>, Bob <bob@cert.example>") != NULL);
		CHECK_STR(ev[2].kind, "sighting");
		CHECK_STR(ev[3].kind, "notified");
		CHECK_STR(ev[4].kind, "escalated");
		CHECK_STR(ev[5].kind, "unanswered");
		CHECK_STR(ev[6].kind, "acknowledged");
		CHECK_STR(ev[6].actor, "link");
	}
	bw_free(ev);

	/* closing; a sighting afterwards opens a new incident */
	CHECK_INT(bw_incident_close(st, ievil, "", T0 + 6000, &err), BW_EINVAL);
	CHECK_INT(bw_incident_close(st, ievil, "operator-1", T0 + 6000, &err), BW_OK);
	CHECK_INT(bw_incident_ack(st, ievil, 0, "late", T0 + 6001, &err), BW_EINVAL);
	CHECK_INT(sight(other, evil, "10.0.0.1", T0 + 7000, 1), BW_OK);
	CHECK_INT(bw_incident_step(st, &cfg, T0 + 7001, &stats, &err), BW_OK);
	CHECK_INT(stats.opened, 1);
	CHECK(incident_of(st, "evil.ee") > ievil);
	{
		struct bw_incident *list = NULL;
		CHECK_INT(bw_incident_list(st, "EE", "closed", 10, &list, &n, &err), BW_OK);
		CHECK_INT(n, 1);
		bw_free(list);
		CHECK_INT(bw_incident_list(st, NULL, NULL, 10, &list, &n, &err), BW_OK);
		CHECK_INT(n, 3);
		bw_free(list);
	}
	/* a repeated step after a crash would re-enqueue with the same keys:
	 * the outbox keeps one row each */
	CHECK_INT(count(st, "SELECT count(*) FROM outbox GROUP BY idem_key HAVING count(*) > 1"), -1);
	bw_store_close(other);
	bw_store_close(st);
}

/* An allocation failure anywhere in a step leaves the store as it was
 * (the queue is not consumed, nothing half-opened), and the next step
 * does the work.  Only in builds with -Dfault_injection=true. */
static void
test_step_faults(void)
{
	struct bw_store *st = NULL;
	struct bw_incident_stats stats;
	struct bw_incident_config cfg = {"https://bulwark.example", NULL, NULL, NULL};
	struct bw_err err;
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
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(contact(st, "EE", "Alice", "alice@cert.example", 1), BW_OK);
	CHECK_INT(sight(st, add(st, "evil.ee", 90, BW_TLP_GREEN, "emotet", NULL), "10.0.0.1", T0, 1), BW_OK);
	CHECK_INT(sight(st, add(st, "bad.ee", 90, BW_TLP_GREEN, NULL, NULL), "10.0.0.1", T0, 1), BW_OK);
	for (k = 1; k < 10000 && rc != BW_OK; k++) {
		bw_mem_fail_after(k);
		rc = bw_incident_step(st, &cfg, T0, &stats, &err);
		bw_mem_fail_reset();
		if (rc == BW_OK)
			break;
		failed++;
		/* one check per failure point, all in one */
		if (rc != BW_ENOMEM || count(st, "SELECT count(*) FROM sighting_queue") != 2 ||
		    count(st, "SELECT count(*) FROM incident") != 0 ||
		    count(st, "SELECT count(*) FROM outbox") != 0) {
			CHECK(!"a failed step left the store changed");
			printf("# at allocation %ld: rc %d (%s)\n", k, rc, err.msg);
			break;
		}
	}
	printf("# %ld allocation failures met, then the step succeeded\n", failed);
	CHECK(failed > 0);
	CHECK_INT(rc, BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM incident"), 2);
	/* a mail to Alice for each (no webhook in this store) */
	CHECK_INT(count(st, "SELECT count(*) FROM outbox WHERE channel = 'smtp'"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM sighting_queue"), 0);
	bw_store_close(st);
}

int
main(void)
{
	if (tmp_dir_make("incident"))
		return 1;
	TAP_RUN(test_contacts);
	TAP_RUN(test_incidents);
	TAP_RUN(test_step_faults);
	tmp_dir_remove();
	return tap_done();
}
