/*
 * incident.c - incidents from queued sightings, escalation by level,
 * acknowledgement and the timeline (see incident.h).
 *
 * One step drains sighting_queue in batches, each in one transaction with
 * everything it causes (incident rows, events, outbox mail and webhook
 * items) and the deletion of the queue rows it handled: a crash repeats a
 * whole batch or none of it, and the outbox rows are keyed
 * (incident-ID-..., unique) so that repeating is harmless anyway.  Scopes
 * are loaded once per step, as are the tenants.
 */
#include "share/incident.h"

#include <jansson.h>
#include <nettle/hmac.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "share/contact.h"
#include "share/notify.h"
#include "share/outbox.h"
#include "share/priority.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"

#define MAIL_MAX 8192

/* ---- the server secret and tokens ----------------------------------------- */

static int
ack_secret(struct bw_store *st, unsigned char key[32], struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	unsigned char fresh[32];
	int rc;

	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "incident: libsodium cannot start");
	randombytes_buf(fresh, sizeof(fresh));
	/* the first caller's random bytes win; later ones read them */
	rc = bw_store_prepare(st, "INSERT INTO secret (name, value, created) VALUES ('incident-ack', ?1, ?2)"
		      " ON CONFLICT (name) DO NOTHING", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_blob(s, 1, fresh, sizeof(fresh), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, bw_time_now());
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "making the server secret");
	sqlite3_finalize(s);
	sodium_memzero(fresh, sizeof(fresh));
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT value FROM secret WHERE name = 'incident-ack'", &s, err);
	if (rc)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32)
		memcpy(key, sqlite3_column_blob(s, 0), 32);
	else
		rc = bw_store_fail(st, err, "reading the server secret");
	sqlite3_finalize(s);
	return rc;
}

int
bw_incident_ack_token(struct bw_store *st, int64_t id, char hex[BW_INCIDENT_TOKEN_HEX],
		      struct bw_err *err)
{
	struct hmac_sha256_ctx h;
	unsigned char key[32], mac[SHA256_DIGEST_SIZE];
	char msg[64];
	int rc, n;

	rc = ack_secret(st, key, err);
	if (rc)
		return rc;
	n = snprintf(msg, sizeof(msg), "incident-ack:%lld", (long long)id);
	hmac_sha256_set_key(&h, sizeof(key), key);
	hmac_sha256_update(&h, (size_t)n, (const uint8_t *)msg);
	hmac_sha256_digest(&h, sizeof(mac), mac);
	sodium_bin2hex(hex, BW_INCIDENT_TOKEN_HEX, mac, sizeof(mac));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&h, sizeof(h));
	return BW_OK;
}

int
bw_incident_ack_token_check(struct bw_store *st, int64_t id, const char *token,
			    struct bw_err *err)
{
	char want[BW_INCIDENT_TOKEN_HEX];
	int rc;

	if (token == NULL || strlen(token) != BW_INCIDENT_TOKEN_HEX - 1)
		return bw_err_set(err, BW_ENOTFOUND, "invalid acknowledgement token");
	rc = bw_incident_ack_token(st, id, want, err);
	if (rc)
		return rc;
	if (sodium_memcmp(want, token, BW_INCIDENT_TOKEN_HEX - 1) != 0)
		return bw_err_set(err, BW_ENOTFOUND, "invalid acknowledgement token");
	return BW_OK;
}

/* ---- reading ---------------------------------------------------------------- */

#define INC_COLS                                                               \
	"i.id, i.tenant_id, i.indicator_id, t.country, d.type, d.value, i.state," \
	" i.priority, i.level, i.sightings, i.opened, i.updated,"              \
	" coalesce(i.escalate_at, 0), coalesce(i.acked, 0), coalesce(i.acked_by, ''),"  \
	" coalesce(i.closed, 0), coalesce(i.closed_by, '')"
#define INC_FROM                                                               \
	" FROM incident i JOIN tenant t ON t.id = i.tenant_id"                 \
	" JOIN indicator d ON d.id = i.indicator_id"

static void
read_incident(sqlite3_stmt *s, struct bw_incident *x)
{
	memset(x, 0, sizeof(*x));
	x->id = sqlite3_column_int64(s, 0);
	x->tenant_id = sqlite3_column_int64(s, 1);
	x->indicator_id = sqlite3_column_int64(s, 2);
	snprintf(x->country, sizeof(x->country), "%s", (const char *)sqlite3_column_text(s, 3));
	x->type = (enum bw_ioc_type)sqlite3_column_int(s, 4);
	snprintf(x->value, sizeof(x->value), "%s", (const char *)sqlite3_column_text(s, 5));
	snprintf(x->state, sizeof(x->state), "%s", (const char *)sqlite3_column_text(s, 6));
	x->priority = sqlite3_column_int(s, 7);
	x->level = sqlite3_column_int(s, 8);
	x->sightings = (long)sqlite3_column_int64(s, 9);
	x->opened = sqlite3_column_int64(s, 10);
	x->updated = sqlite3_column_int64(s, 11);
	x->escalate_at = sqlite3_column_int64(s, 12);
	x->acked = sqlite3_column_int64(s, 13);
	snprintf(x->acked_by, sizeof(x->acked_by), "%s", (const char *)sqlite3_column_text(s, 14));
	x->closed = sqlite3_column_int64(s, 15);
	snprintf(x->closed_by, sizeof(x->closed_by), "%s", (const char *)sqlite3_column_text(s, 16));
}

int
bw_incident_get(struct bw_store *st, int64_t id, struct bw_incident *out, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	rc = bw_store_prepare(st, "SELECT " INC_COLS INC_FROM " WHERE i.id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		read_incident(s, out);
	else if (step == SQLITE_DONE)
		rc = bw_err_set(err, BW_ENOTFOUND, "no incident %lld", (long long)id);
	else
		rc = bw_store_fail(st, err, "reading an incident");
	sqlite3_finalize(s);
	return rc;
}

int
bw_incident_list(struct bw_store *st, const char *country, const char *state, long limit,
		 struct bw_incident **out, size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_incident *a = NULL;
	size_t cap = 0, k = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	if (limit < 1 || limit > 100000)
		return bw_err_set(err, BW_EINVAL, "incident: list 1 to 100000 rows");
	if (state && strcmp(state, "open") != 0 && strcmp(state, "acknowledged") != 0 &&
	    strcmp(state, "closed") != 0)
		return bw_err_set(err, BW_EINVAL, "incident: state is open, acknowledged or closed");
	rc = bw_store_prepare(st, "SELECT " INC_COLS INC_FROM " WHERE (?1 IS NULL OR t.country = ?1)"
		      " AND (?2 IS NULL OR i.state = ?2) ORDER BY i.id DESC LIMIT ?3", &s, err);
	if (rc)
		return rc;
	if (country)
		sqlite3_bind_text(s, 1, country, -1, SQLITE_STATIC);
	if (state)
		sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_incident *g = bw_grow(a, &cap, k + 1, sizeof(*a));
		if (g == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		a = g;
		read_incident(s, &a[k++]);
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "listing incidents");
		goto fail;
	}
	sqlite3_finalize(s);
	*out = a;
	*n = k;
	return BW_OK;
fail:
	sqlite3_finalize(s);
	bw_free(a);
	return rc;
}

int
bw_incident_events(struct bw_store *st, int64_t id, struct bw_incident_event **out,
		   size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_incident_event *a = NULL;
	size_t cap = 0, k = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	rc = bw_store_prepare(st, "SELECT id, time, kind, actor, coalesce(detail, '') FROM incident_event"
		      " WHERE incident_id = ?1 ORDER BY id", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_incident_event *g = bw_grow(a, &cap, k + 1, sizeof(*a)), *e;
		if (g == NULL) {
			sqlite3_finalize(s);
			bw_free(a);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
		a = g;
		e = &a[k++];
		e->id = sqlite3_column_int64(s, 0);
		e->time = sqlite3_column_int64(s, 1);
		snprintf(e->kind, sizeof(e->kind), "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(e->actor, sizeof(e->actor), "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(e->detail, sizeof(e->detail), "%s", (const char *)sqlite3_column_text(s, 4));
	}
	if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "reading a timeline");
	sqlite3_finalize(s);
	if (rc) {
		bw_free(a);
		return rc;
	}
	*out = a;
	*n = k;
	return BW_OK;
}

/* ---- writing ---------------------------------------------------------------- */

static int
add_event(struct bw_store *st, int64_t id, int64_t now, const char *kind, const char *actor,
	  const char *detail, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = bw_store_prepare(st, "INSERT INTO incident_event (incident_id, time, kind, actor, detail)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "adding to a timeline");
	sqlite3_finalize(s);
	return rc;
}

static void
json_free_text(char *p)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	f(p);
}

/* The webhook item of an incident event. */
static int
notify_webhook(struct bw_store *st, const struct bw_incident *x, const char *event, int64_t now,
	       struct bw_err *err)
{
	json_t *o = json_object(), *ind = json_object();
	char *text = NULL, key[96], ts[BW_TIME_TEXT_MAX], ack[96];
	int rc;

	if (o == NULL || ind == NULL) {
		json_decref(o);
		json_decref(ind);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	snprintf(ack, sizeof(ack), "/v1/incidents/%lld/ack", (long long)x->id);
	json_object_set_new(ind, "type", json_string(bw_ioc_type_name(x->type)));
	json_object_set_new(ind, "value", json_string(x->value));
	json_object_set_new(o, "type", json_string("incident"));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "id", json_integer(x->id));
	json_object_set_new(o, "tenant", json_string(x->country));
	json_object_set_new(o, "indicator", ind);
	json_object_set_new(o, "state", json_string(x->state));
	json_object_set_new(o, "priority", json_integer(x->priority));
	json_object_set_new(o, "level", json_integer(x->level));
	json_object_set_new(o, "sightings", json_integer(x->sightings));
	json_object_set_new(o, "opened", json_string(bw_time_format(x->opened, ts)));
	json_object_set_new(o, "time", json_string(bw_time_format(now, ts)));
	json_object_set_new(o, "ack", json_string(ack));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if (strcmp(event, "escalated") == 0)
		snprintf(key, sizeof(key), "incident-%lld-escalated-%d", (long long)x->id, x->level);
	else
		snprintf(key, sizeof(key), "incident-%lld-%s", (long long)x->id, event);
	rc = bw_notify_tenant(st, x->tenant_id, x->priority, text, key, now, NULL, err);
	json_free_text(text);
	return rc;
}

/* A value for mail text, defanged so that no client makes it a link:
 * "." -> "[.]", "http" -> "hxxp", "@" -> "[@]". */
static void
defang(const char *v, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; v[i] && o + 5 < cap; i++) {
		if (v[i] == '.') {
			memcpy(out + o, "[.]", 3);
			o += 3;
		} else if (v[i] == '@') {
			memcpy(out + o, "[@]", 3);
			o += 3;
		} else if (strncmp(v + i, "http", 4) == 0) {
			memcpy(out + o, "hxxp", 4);
			o += 4;
			i += 3;
		} else {
			out[o++] = v[i];
		}
	}
	out[o] = '\0';
}

/* Mails every contact at level about x; *told gets a summary for the
 * timeline. */
static int
mail_level(struct bw_store *st, const struct bw_incident_config *c, const struct bw_incident *x,
	   int level, int64_t deadline, int64_t now, char *told, size_t told_cap,
	   struct bw_err *err)
{
	struct bw_contact *k = NULL;
	size_t nk = 0, off = 0;
	char *body = NULL;
	char subject[400], value[600], key[96], token[BW_INCIDENT_TOKEN_HEX];
	char t1[BW_TIME_TEXT_MAX], t2[BW_TIME_TEXT_MAX];
	int rc;

	told[0] = '\0';
	rc = bw_contact_at_level(st, x->tenant_id, level, &k, &nk, err);
	if (rc)
		return rc;
	rc = bw_incident_ack_token(st, x->id, token, err);
	if (rc)
		goto out;
	body = bw_malloc(MAIL_MAX);
	if (body == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	defang(x->value, value, sizeof(value));
	snprintf(subject, sizeof(subject), "[bulwark] %s incident %lld (priority %d): %s %.200s",
		 x->country, (long long)x->id, x->priority, bw_ioc_type_name(x->type), value);
	for (size_t i = 0; i < nk; i++) {
		struct bw_outbox_msg m;
		int n;

		n = snprintf(body, MAIL_MAX,
			     "Incident %lld for %s, opened %s.\n\n"
			     "Indicator: %s %s\n"
			     "Priority: %d of 1000\n"
			     "Sightings so far: %ld\n\n"
			     "You are told as level %d (%s).\n"
			     "Without an acknowledgement by %s the next level is told.\n\n",
			     (long long)x->id, x->country, bw_time_format(x->opened, t1),
			     bw_ioc_type_name(x->type), value, x->priority, x->sightings, level,
			     k[i].role, bw_time_format(now + deadline, t2));
		if (n < 0 || n >= MAIL_MAX)
			n = MAIL_MAX - 1;
		if (c && c->public_url && c->public_url[0])
			n += snprintf(body + n, MAIL_MAX - (size_t)n,
				      "Acknowledge: %s/v1/incidents/%lld/ack?token=%s\n",
				      c->public_url, (long long)x->id, token);
		if (n < MAIL_MAX)
			snprintf(body + n, MAIL_MAX - (size_t)n,
				 "or with your API key: POST /v1/incidents/%lld/ack\n"
				 "or: bulwark incident ack %lld --operator NAME\n",
				 (long long)x->id, (long long)x->id);
		snprintf(key, sizeof(key), "incident-%lld-l%d-c%lld", (long long)x->id, level,
			 (long long)k[i].id);
		memset(&m, 0, sizeof(m));
		m.channel = "smtp";
		m.tenant_id = x->tenant_id;
		m.destination = k[i].email;
		m.priority = x->priority;
		m.idem_key = key;
		m.subject = subject;
		m.content_type = "text/plain; charset=utf-8";
		m.body = body;
		m.len = strlen(body);
		rc = bw_outbox_enqueue(st, &m, now, NULL, err);
		if (rc)
			goto out;
		if (off + 1 < told_cap) {
			int w = snprintf(told + off, told_cap - off, "%s%s <%s>", i ? ", " : "",
					 k[i].name, k[i].email);
			if (w > 0)
				off += (size_t)w < told_cap - off ? (size_t)w : told_cap - off - 1;
		}
	}
out:
	bw_free(body);
	bw_free(k);
	return rc;
}

/* Tells the next level above x->level: updates level and escalate_at in
 * the row and in x.  *found 0 when there is no such level. */
static int
tell_next_level(struct bw_store *st, const struct bw_incident_config *c, struct bw_incident *x,
		int64_t deadline, int64_t now, int *found, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char told[400], detail[512];
	int rc, next = 0;

	*found = 0;
	rc = bw_contact_next_level(st, x->tenant_id, x->level, &next, err);
	if (rc)
		return rc;
	if (next > 0) {
		struct bw_incident y = *x;
		y.level = next;
		rc = mail_level(st, c, &y, next, deadline, now, told, sizeof(told), err);
		if (rc)
			return rc;
		snprintf(detail, sizeof(detail), "level %d: %s", next, told);
		rc = add_event(st, x->id, now, "notified", "bulwark", detail, err);
		if (rc)
			return rc;
		x->level = next;
		x->escalate_at = now + deadline;
		*found = 1;
	} else {
		x->escalate_at = 0;
	}
	rc = bw_store_prepare(st, "UPDATE incident SET level = ?2, escalate_at = nullif(?3, 0), updated = ?4"
		      " WHERE id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, x->id);
	sqlite3_bind_int(s, 2, x->level);
	sqlite3_bind_int64(s, 3, x->escalate_at);
	sqlite3_bind_int64(s, 4, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "escalating an incident");
	sqlite3_finalize(s);
	return rc;
}

/* ---- the step ---------------------------------------------------------------- */

struct tenant_ctx {
	int64_t id;
	char country[3];
	struct bw_tenant_scope *scope;
	struct bw_notify_target target;
};

struct indicator_info {
	enum bw_ioc_type type;
	char value[BW_IOC_VALUE_MAX + 1];
	int severity;
};

/* The highest confidence among the indicator's active records that the
 * tenant may see (-2 if it sees none; -1 counts as 50). */
static int
visible_confidence(struct bw_store *st, int64_t indicator_id, const char *country,
		   int *conf, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*conf = -2;
	rc = bw_store_prepare(st, "SELECT coalesce(r.confidence, 50), r.tlp,"
		      " EXISTS (SELECT 1 FROM record_recipient p WHERE p.record_id = r.id AND p.country = ?2)"
		      " FROM record r WHERE r.indicator_id = ?1 AND r.revoked = 0 AND r.expired = 0",
		  &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, indicator_id);
	sqlite3_bind_text(s, 2, country, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int cf = sqlite3_column_int(s, 0);
		if (bw_tenant_may_see(sqlite3_column_int(s, 1), sqlite3_column_int(s, 2)) && cf > *conf)
			*conf = cf;
	}
	if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "reading records");
	sqlite3_finalize(s);
	return rc;
}

static int
load_indicator(struct bw_store *st, int64_t id, struct indicator_info *out, int *found,
	       struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step, actor = 0, malware = 0, active = 0;

	*found = 0;
	rc = bw_store_prepare(st, "SELECT d.type, d.value,"
		      " EXISTS (SELECT 1 FROM record r WHERE r.indicator_id = d.id AND r.revoked = 0"
		      "   AND r.expired = 0),"
		      " EXISTS (SELECT 1 FROM record r JOIN record_tag rt ON rt.record_id = r.id"
		      "   JOIN tag t ON t.id = rt.tag_id WHERE r.indicator_id = d.id"
		      "   AND r.revoked = 0 AND r.expired = 0 AND t.kind IN ('actor', 'campaign')),"
		      " EXISTS (SELECT 1 FROM record r JOIN record_tag rt ON rt.record_id = r.id"
		      "   JOIN tag t ON t.id = rt.tag_id WHERE r.indicator_id = d.id"
		      "   AND r.revoked = 0 AND r.expired = 0 AND t.kind = 'malware')"
		      " FROM indicator d WHERE d.id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->type = (enum bw_ioc_type)sqlite3_column_int(s, 0);
		snprintf(out->value, sizeof(out->value), "%s", (const char *)sqlite3_column_text(s, 1));
		active = sqlite3_column_int(s, 2);
		actor = sqlite3_column_int(s, 3);
		malware = sqlite3_column_int(s, 4);
		out->severity = bw_priority_severity(actor, malware, active);
		*found = active;
	} else if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading an indicator");
	}
	sqlite3_finalize(s);
	return rc;
}

/* Opens an incident or adds to the live one. */
static int
open_or_add(struct bw_store *st, const struct bw_incident_config *c, const struct tenant_ctx *t,
	    int64_t indicator_id, const char *observer, long count, int prio,
	    const char *why, int64_t now, struct bw_incident_stats *stats, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_incident x;
	char detail[512];
	int64_t id = 0;
	int rc, step, found;

	rc = bw_store_prepare(st, "SELECT id FROM incident WHERE tenant_id = ?1 AND indicator_id = ?2"
		      " AND state != 'closed'", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, t->id);
	sqlite3_bind_int64(s, 2, indicator_id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "finding an incident");
	sqlite3_finalize(s);
	s = NULL;
	if (rc)
		return rc;
	snprintf(detail, sizeof(detail), "%ld sighting%s by %.200s; %s", count, count == 1 ? "" : "s",
		 observer[0] ? observer : "(unknown observer)", why);
	if (id) {
		rc = bw_store_prepare(st, "UPDATE incident SET sightings = sightings + ?2, updated = ?3,"
			      " priority = max(priority, ?4) WHERE id = ?1", &s, err);
		if (rc)
			return rc;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, count);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int(s, 4, prio);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = bw_store_fail(st, err, "adding to an incident");
		sqlite3_finalize(s);
		if (rc == BW_OK)
			rc = add_event(st, id, now, "sighting", "bulwark", detail, err);
		if (rc == BW_OK && stats)
			stats->added++;
		return rc;
	}
	rc = bw_store_prepare(st, "INSERT INTO incident (tenant_id, indicator_id, state, priority, level,"
		      " sightings, opened, updated) VALUES (?1, ?2, 'open', ?3, 0, ?4, ?5, ?5)", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, t->id);
	sqlite3_bind_int64(s, 2, indicator_id);
	sqlite3_bind_int(s, 3, prio);
	sqlite3_bind_int64(s, 4, count);
	sqlite3_bind_int64(s, 5, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "opening an incident");
	id = sqlite3_last_insert_rowid(bw_store_db(st));
	sqlite3_finalize(s);
	if (rc)
		return rc;
	rc = add_event(st, id, now, "opened", "bulwark", detail, err);
	if (rc == BW_OK)
		rc = bw_incident_get(st, id, &x, err);
	if (rc == BW_OK)
		rc = tell_next_level(st, c, &x, t->target.ack_deadline, now, &found, err);
	if (rc == BW_OK && !found)
		rc = add_event(st, id, now, "unanswered", "bulwark", "no points of contact", err);
	if (rc == BW_OK)
		rc = notify_webhook(st, &x, "opened", now, err);
	if (rc == BW_OK && stats)
		stats->opened++;
	return rc;
}

static int
handle_sighting(struct bw_store *st, const struct bw_incident_config *c, struct tenant_ctx *tn,
		size_t ntn, int64_t indicator_id, const char *observer, long count,
		int64_t last_seen, int64_t now, struct bw_incident_stats *stats,
		struct bw_err *err)
{
	struct indicator_info *ind;
	struct bw_ioc obs;
	struct bw_err perr;
	int found, rc, obs_ip = 0;
	double score = -1;

	ind = bw_malloc(sizeof(*ind));
	if (ind == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = load_indicator(st, indicator_id, ind, &found, err);
	if (rc || !found)
		goto out;
	if (observer[0] && bw_ioc_parse(observer, strlen(observer), BW_IOC_ANY, &obs, &perr) == BW_OK &&
	    (obs.type == BW_IOC_IPV4 || obs.type == BW_IOC_IPV6))
		obs_ip = 1;
	if (c && c->model_score)
		score = c->model_score(c->model_ctx, ind->type, ind->value);
	for (size_t i = 0; i < ntn; i++) {
		struct bw_scope_match m;
		struct bw_priority_in pin;
		unsigned rel = 0;
		int conf;
		char why[300];

		rc = visible_confidence(st, indicator_id, tn[i].country, &conf, err);
		if (rc)
			goto out;
		if (conf < tn[i].target.min_confidence)
			continue;
		why[0] = '\0';
		if (bw_tenant_scope_match(tn[i].scope, ind->type, ind->value, c ? c->geo : NULL,
					  &m, &perr) == BW_OK && m.national) {
			rel |= m.why == BW_SCOPE_BRAND ? BW_REL_BRAND : BW_REL_SCOPE;
			snprintf(why, sizeof(why), "in scope (%s:%s)", bw_scope_kind_name(m.why),
				 m.detail);
		}
		if (obs_ip && bw_tenant_scope_match(tn[i].scope, obs.type, obs.value,
						    c ? c->geo : NULL, &m, &perr) == BW_OK &&
		    m.national) {
			size_t l = strlen(why);
			rel |= BW_REL_SIGHTED;
			snprintf(why + l, sizeof(why) - l, "%ssighted from its networks (%s:%s)",
				 l ? ", " : "", bw_scope_kind_name(m.why), m.detail);
		}
		if (rel == 0)
			continue;
		memset(&pin, 0, sizeof(pin));
		pin.severity = ind->severity;
		pin.confidence = conf;
		pin.relevance = rel;
		pin.last_seen = last_seen;
		pin.now = now;
		pin.model_score = score;
		rc = open_or_add(st, c, &tn[i], indicator_id, observer, count, bw_priority(&pin, NULL),
				 why, now, stats, err);
		if (rc)
			goto out;
	}
out:
	bw_free(ind);
	return rc;
}

static void
tenants_free(struct tenant_ctx *tn, size_t n)
{
	for (size_t i = 0; tn && i < n; i++)
		bw_tenant_scope_free(tn[i].scope);
	bw_free(tn);
}

static int
tenants_load(struct bw_store *st, struct tenant_ctx **out, size_t *n, struct bw_err *err)
{
	struct bw_tenant *t = NULL;
	struct tenant_ctx *tn = NULL;
	size_t nt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = bw_tenant_list(st, &t, &nt, err);
	if (rc || nt == 0)
		goto out;
	tn = bw_calloc(nt, sizeof(*tn));
	if (tn == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		tn[i].id = t[i].id;
		memcpy(tn[i].country, t[i].country, 3);
		rc = bw_tenant_scope_load(st, t[i].country, &tn[i].scope, err);
		if (rc == BW_OK)
			rc = bw_notify_get(st, t[i].id, &tn[i].target, err);
		if (rc) {
			tenants_free(tn, i + 1);
			tn = NULL;
			goto out;
		}
	}
	*out = tn;
	*n = nt;
out:
	bw_free(t);
	return rc;
}

/* One batch of the queue; *more 1 if the batch was full. */
static int
drain_batch(struct bw_store *st, const struct bw_incident_config *c, struct tenant_ctx *tn,
	    size_t ntn, int64_t now, int *more, struct bw_incident_stats *stats,
	    struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t maxid = 0;
	long rows = 0;
	int rc, step;

	*more = 0;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT id, indicator_id, observer, count, last_seen FROM sighting_queue"
		      " ORDER BY id LIMIT ?1", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int(s, 1, BW_INCIDENT_BATCH);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		char observer[BW_SIGHTING_OBSERVER_MAX + 1];
		maxid = sqlite3_column_int64(s, 0);
		snprintf(observer, sizeof(observer), "%s", (const char *)sqlite3_column_text(s, 2));
		rows++;
		if (stats)
			stats->sightings += (long)sqlite3_column_int64(s, 3);
		if (ntn == 0)
			continue;
		rc = handle_sighting(st, c, tn, ntn, sqlite3_column_int64(s, 1), observer,
				     (long)sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
				     now, stats, err);
		if (rc)
			goto fail;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading queued sightings");
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rows) {
		rc = bw_store_prepare(st, "DELETE FROM sighting_queue WHERE id <= ?1", &s, err);
		if (rc)
			goto fail;
		sqlite3_bind_int64(s, 1, maxid);
		if (sqlite3_step(s) != SQLITE_DONE) {
			rc = bw_store_fail(st, err, "removing queued sightings");
			goto fail;
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	*more = rows == BW_INCIDENT_BATCH;
	return bw_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	bw_store_rollback(st);
	return rc;
}

static int
escalate_due(struct bw_store *st, const struct bw_incident_config *c, int64_t now,
	     struct bw_incident_stats *stats, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t *ids = NULL;
	size_t k = 0;
	int rc;

	rc = bw_store_prepare(st, "SELECT id FROM incident WHERE state = 'open' AND escalate_at <= ?1"
		      " ORDER BY escalate_at LIMIT 64", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, now);
	rc = bw_store_read_ids(st, s, &ids, &k, "finding due escalations", err);
	sqlite3_finalize(s);
	for (size_t i = 0; rc == BW_OK && i < k; i++) {
		struct bw_incident x;
		struct bw_notify_target t;
		char detail[128];
		int found, from;

		rc = bw_store_begin(st, err);
		if (rc)
			break;
		rc = bw_incident_get(st, ids[i], &x, err);
		/* acknowledged meanwhile: nothing to do */
		if (rc || strcmp(x.state, "open") != 0 || x.escalate_at == 0 || x.escalate_at > now)
			goto done;
		rc = bw_notify_get(st, x.tenant_id, &t, err);
		if (rc)
			goto done;
		from = x.level;
		rc = tell_next_level(st, c, &x, t.ack_deadline, now, &found, err);
		if (rc)
			goto done;
		if (found) {
			snprintf(detail, sizeof(detail), "no acknowledgement: level %d to level %d",
				 from, x.level);
			rc = add_event(st, x.id, now, "escalated", "bulwark", detail, err);
			if (rc == BW_OK)
				rc = notify_webhook(st, &x, "escalated", now, err);
			if (rc == BW_OK && stats)
				stats->escalated++;
		} else {
			snprintf(detail, sizeof(detail),
				 "no acknowledgement and no level above %d", from);
			rc = add_event(st, x.id, now, "unanswered", "bulwark", detail, err);
		}
done:
		if (rc) {
			bw_store_rollback(st);
			break;
		}
		rc = bw_store_commit(st, err);
	}
	bw_free(ids);
	return rc;
}

int
bw_incident_step(struct bw_store *st, const struct bw_incident_config *c, int64_t now,
		 struct bw_incident_stats *stats, struct bw_err *err)
{
	struct tenant_ctx *tn = NULL;
	size_t ntn = 0;
	sqlite3_stmt *s = NULL;
	int rc, more = 1, queued = 0;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	rc = bw_store_prepare(st, "SELECT EXISTS (SELECT 1 FROM sighting_queue)", &s, err);
	if (rc)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		queued = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (queued) {
		rc = tenants_load(st, &tn, &ntn, err);
		if (rc)
			return rc;
		for (int b = 0; rc == BW_OK && more && b < 20; b++)
			rc = drain_batch(st, c, tn, ntn, now, &more, stats, err);
		tenants_free(tn, ntn);
		if (rc)
			return rc;
	}
	return escalate_due(st, c, now, stats, err);
}

static int
set_state(struct bw_store *st, int64_t id, int64_t tenant_id, const char *to,
	  const char *actor, int64_t now, struct bw_err *err)
{
	struct bw_incident x;
	sqlite3_stmt *s = NULL;
	int ack = strcmp(to, "acknowledged") == 0;
	int rc;

	if (actor == NULL || actor[0] == '\0' || strlen(actor) > BW_INCIDENT_ACTOR_MAX)
		return bw_err_set(err, BW_EINVAL, "incident: who (1 to %d bytes) is required",
				  BW_INCIDENT_ACTOR_MAX);
	for (const char *p = actor; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return bw_err_set(err, BW_EINVAL, "incident: control character in who");
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_incident_get(st, id, &x, err);
	if (rc)
		goto fail;
	if (tenant_id > 0 && x.tenant_id != tenant_id) {
		rc = bw_err_set(err, BW_ENOTFOUND, "no incident %lld", (long long)id);
		goto fail;
	}
	if (strcmp(x.state, "closed") == 0) {
		rc = bw_err_set(err, BW_EINVAL, "incident %lld is closed", (long long)id);
		goto fail;
	}
	if (ack && strcmp(x.state, "acknowledged") == 0) {
		bw_store_rollback(st);
		return BW_OK;
	}
	rc = bw_store_prepare(st, ack ? "UPDATE incident SET state = 'acknowledged', acked = ?2, acked_by = ?3,"
			    " escalate_at = NULL, updated = ?2 WHERE id = ?1"
			  : "UPDATE incident SET state = 'closed', closed = ?2, closed_by = ?3,"
			    " escalate_at = NULL, updated = ?2 WHERE id = ?1", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "changing an incident");
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	snprintf(x.state, sizeof(x.state), "%s", to);
	rc = add_event(st, id, now, to, actor, NULL, err);
	if (rc == BW_OK)
		rc = notify_webhook(st, &x, to, now, err);
	if (rc)
		goto fail;
	return bw_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	bw_store_rollback(st);
	return rc;
}

int
bw_incident_ack(struct bw_store *st, int64_t id, int64_t tenant_id, const char *actor,
		int64_t now, struct bw_err *err)
{
	return set_state(st, id, tenant_id, "acknowledged", actor, now, err);
}

int
bw_incident_close(struct bw_store *st, int64_t id, const char *actor, int64_t now,
		  struct bw_err *err)
{
	return set_state(st, id, 0, "closed", actor, now, err);
}
