/*
 * notify.c - notification targets, routing of one item and digests (see
 * notify.h).  A digest is assembled as text from the items' JSON, which
 * was produced by the library itself and is not parsed again.
 */
#include "share/notify.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "share/outbox.h"
#include "share/tenant.h"

int
bw_notify_url_check(const char *url, struct bw_err *err)
{
	size_t n = strlen(url), skip;

	if (n > BW_NOTIFY_URL_MAX)
		return bw_err_set(err, BW_ELIMIT, "webhook URL longer than %d bytes", BW_NOTIFY_URL_MAX);
	if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else
		return bw_err_set(err, BW_EINVAL, "webhook URL must start with https:// or http://");
	if (url[skip] == '\0' || url[skip] == '/' || url[skip] == ':')
		return bw_err_set(err, BW_EINVAL, "webhook URL has no host");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL,
					  "webhook URL holds a blank or control character");
	return BW_OK;
}

int
bw_notify_parse_period(const char *text, int64_t *out, struct bw_err *err)
{
	return bw_time_parse_period(text, BW_NOTIFY_DIGEST_MIN, BW_NOTIFY_DIGEST_MAX, out, err);
}

static void
defaults(struct bw_notify_target *t, int64_t tenant_id)
{
	memset(t, 0, sizeof(*t));
	t->tenant_id = tenant_id;
	t->ack_deadline = BW_NOTIFY_DEFAULT_DEADLINE;
	t->min_confidence = BW_NOTIFY_DEFAULT_CONFIDENCE;
}

int
bw_notify_get(struct bw_store *st, int64_t tenant_id, struct bw_notify_target *out,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	defaults(out, tenant_id);
	rc = bw_store_prepare(st, "SELECT t.country, n.webhook, n.secret, n.digest_period, n.ack_deadline,"
		      " n.min_confidence, n.last_digest, n.updated, n.tenant_id IS NOT NULL"
		      " FROM tenant t LEFT JOIN notify_target n ON n.tenant_id = t.id"
		      " WHERE t.id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, tenant_id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		snprintf(out->country, sizeof(out->country), "%s",
			 (const char *)sqlite3_column_text(s, 0));
		if (sqlite3_column_int(s, 8)) {
			const unsigned char *w = sqlite3_column_text(s, 1);
			const unsigned char *k = sqlite3_column_text(s, 2);
			snprintf(out->webhook, sizeof(out->webhook), "%s", w ? (const char *)w : "");
			snprintf(out->secret, sizeof(out->secret), "%s", k ? (const char *)k : "");
			out->digest_period = sqlite3_column_int64(s, 3);
			out->ack_deadline = sqlite3_column_int64(s, 4);
			out->min_confidence = sqlite3_column_int(s, 5);
			out->last_digest = sqlite3_column_int64(s, 6);
			out->updated = sqlite3_column_int64(s, 7);
		}
	} else if (step == SQLITE_DONE) {
		rc = bw_err_set(err, BW_ENOTFOUND, "no tenant %lld", (long long)tenant_id);
	} else {
		rc = bw_store_fail(st, err, "reading a notification target");
	}
	sqlite3_finalize(s);
	return rc;
}

int
bw_notify_set(struct bw_store *st, const char *country, const struct bw_notify_change *c,
	      int64_t now, struct bw_err *err)
{
	struct bw_tenant t;
	struct bw_notify_target cur;
	sqlite3_stmt *s = NULL;
	int rc;

	if (c->webhook && c->webhook[0]) {
		rc = bw_notify_url_check(c->webhook, err);
		if (rc)
			return rc;
	}
	if (c->secret) {
		size_t n = strlen(c->secret);
		if (n < BW_NOTIFY_SECRET_MIN || n > BW_NOTIFY_SECRET_MAX)
			return bw_err_set(err, BW_EINVAL, "secret: %d to %d bytes",
					  BW_NOTIFY_SECRET_MIN, BW_NOTIFY_SECRET_MAX);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c->secret[i] <= 0x20 || c->secret[i] == 0x7f)
				return bw_err_set(err, BW_EINVAL,
						  "secret: printable characters without blanks");
	}
	if (c->digest_period > 0 && (c->digest_period < BW_NOTIFY_DIGEST_MIN ||
				     c->digest_period > BW_NOTIFY_DIGEST_MAX))
		return bw_err_set(err, BW_EINVAL, "digest period from %d to %d seconds",
				  BW_NOTIFY_DIGEST_MIN, BW_NOTIFY_DIGEST_MAX);
	if (c->ack_deadline == 0 || c->ack_deadline > 30 * 86400)
		return bw_err_set(err, BW_EINVAL, "acknowledgement deadline from 1 s to 30 days");
	if (c->min_confidence > 100)
		return bw_err_set(err, BW_EINVAL, "minimum confidence from 0 to 100");
	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_notify_get(st, t.id, &cur, err);
	if (rc)
		goto fail;
	if (c->webhook)
		snprintf(cur.webhook, sizeof(cur.webhook), "%s", c->webhook);
	if (c->secret)
		snprintf(cur.secret, sizeof(cur.secret), "%s", c->secret);
	if (c->digest_period >= 0)
		cur.digest_period = c->digest_period;
	if (c->ack_deadline > 0)
		cur.ack_deadline = c->ack_deadline;
	if (c->min_confidence >= 0)
		cur.min_confidence = c->min_confidence;
	if (cur.webhook[0] && cur.secret[0] == '\0') {
		rc = bw_err_set(err, BW_EINVAL, "a webhook needs --secret: its messages are signed");
		goto fail;
	}
	rc = bw_store_prepare(st, "INSERT INTO notify_target (tenant_id, webhook, secret, digest_period,"
		      " ack_deadline, min_confidence, last_digest, updated)"
		      " VALUES (?1, nullif(?2, ''), nullif(?3, ''), ?4, ?5, ?6, ?7, ?7)"
		      " ON CONFLICT (tenant_id) DO UPDATE SET webhook = excluded.webhook,"
		      " secret = excluded.secret, digest_period = excluded.digest_period,"
		      " ack_deadline = excluded.ack_deadline,"
		      " min_confidence = excluded.min_confidence, updated = excluded.updated",
		  &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, t.id);
	sqlite3_bind_text(s, 2, cur.webhook, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, cur.secret, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, cur.digest_period);
	sqlite3_bind_int64(s, 5, cur.ack_deadline);
	sqlite3_bind_int(s, 6, cur.min_confidence);
	sqlite3_bind_int64(s, 7, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "setting a notification target");
		goto fail;
	}
	sqlite3_finalize(s);
	return bw_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	bw_store_rollback(st);
	return rc;
}

int
bw_notify_tenant(struct bw_store *st, int64_t tenant_id, int priority, const char *json,
		 const char *idem_key, int64_t now, const char **routed, struct bw_err *err)
{
	struct bw_notify_target t;
	struct bw_outbox_msg m;
	sqlite3_stmt *s = NULL;
	int rc;

	if (routed)
		*routed = "none";
	rc = bw_notify_get(st, tenant_id, &t, err);
	if (rc || t.webhook[0] == '\0')
		return rc;
	if (t.digest_period > 0) {
		rc = bw_store_prepare(st, "INSERT INTO digest_item (tenant_id, created, priority, body)"
			      " VALUES (?1, ?2, ?3, ?4)", &s, err);
		if (rc)
			return rc;
		sqlite3_bind_int64(s, 1, tenant_id);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int(s, 3, priority);
		sqlite3_bind_text(s, 4, json, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = bw_store_fail(st, err, "adding a digest item");
		sqlite3_finalize(s);
		if (rc == BW_OK && routed)
			*routed = "digest";
		return rc;
	}
	memset(&m, 0, sizeof(m));
	m.channel = "webhook";
	m.tenant_id = tenant_id;
	m.destination = t.webhook;
	m.priority = priority;
	m.idem_key = idem_key;
	m.content_type = "application/json";
	m.body = json;
	m.len = strlen(json);
	rc = bw_outbox_enqueue(st, &m, now, NULL, err);
	if (rc == BW_OK && routed)
		*routed = "webhook";
	return rc;
}

/* Appends n bytes to a growing text buffer. */
struct text {
	char *p;
	size_t len, cap;
	int oom;
};

static void
put(struct text *t, const char *s, size_t n)
{
	char *g;

	if (t->oom)
		return;
	g = bw_grow(t->p, &t->cap, t->len + n + 1, 1);
	if (g == NULL) {
		t->oom = 1;
		return;
	}
	t->p = g;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static int
flush_one(struct bw_store *st, int64_t tenant_id, int64_t now, int *made,
	  struct bw_err *err)
{
	struct bw_notify_target t;
	struct bw_outbox_msg m;
	struct text body = {NULL, 0, 0, 0};
	sqlite3_stmt *s = NULL;
	int64_t lo = 0, hi = 0;
	long count = 0;
	int rc, step, prio = 0;
	char head[256], key[96], ts1[BW_TIME_TEXT_MAX], ts2[BW_TIME_TEXT_MAX];

	*made = 0;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_notify_get(st, tenant_id, &t, err);
	if (rc)
		goto fail;
	rc = bw_store_prepare(st, "SELECT id, priority, body FROM (SELECT id, priority, body FROM digest_item"
		      " WHERE tenant_id = ?1 ORDER BY id LIMIT ?2) ORDER BY priority DESC, id", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int(s, 2, BW_NOTIFY_DIGEST_ITEMS_MAX);
	put(&body, "", 0);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int p = sqlite3_column_int(s, 1);
		if (count == 0 || id < lo)
			lo = id;
		if (count == 0 || id > hi)
			hi = id;
		if (count == 0 || p > prio)
			prio = p;
		if (count > 0)
			put(&body, ",", 1);
		put(&body, (const char *)sqlite3_column_text(s, 2),
		    (size_t)sqlite3_column_bytes(s, 2));
		count++;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading digest items");
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (count == 0 || t.webhook[0] == '\0') {
		/* nothing to send, or nowhere to: keep the items for later */
		bw_store_rollback(st);
		bw_free(body.p);
		return BW_OK;
	}
	snprintf(head, sizeof(head),
		 "{\"type\":\"digest\",\"tenant\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"count\":%ld,\"items\":[",
		 t.country, bw_time_format(t.last_digest, ts1), bw_time_format(now, ts2), count);
	{
		struct text all = {NULL, 0, 0, 0};
		put(&all, head, strlen(head));
		put(&all, body.p, body.len);
		put(&all, "]}", 2);
		bw_free(body.p);
		body = all;
	}
	if (body.oom) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(key, sizeof(key), "digest-%lld-%lld-%lld", (long long)tenant_id, (long long)lo,
		 (long long)hi);
	memset(&m, 0, sizeof(m));
	m.channel = "webhook";
	m.tenant_id = tenant_id;
	m.destination = t.webhook;
	m.priority = prio;
	m.idem_key = key;
	m.content_type = "application/json";
	m.body = body.p;
	m.len = body.len;
	rc = bw_outbox_enqueue(st, &m, now, NULL, err);
	if (rc)
		goto fail;
	rc = bw_store_prepare(st, "DELETE FROM digest_item WHERE tenant_id = ?1 AND id BETWEEN ?2 AND ?3", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "removing digest items");
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	rc = bw_store_prepare(st, "UPDATE notify_target SET last_digest = ?2 WHERE tenant_id = ?1", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int64(s, 2, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "recording a digest");
		goto fail;
	}
	sqlite3_finalize(s);
	bw_free(body.p);
	*made = 1;
	return bw_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	bw_free(body.p);
	bw_store_rollback(st);
	return rc;
}

int
bw_notify_flush_digests(struct bw_store *st, int64_t now, long *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t *ids = NULL;
	size_t k = 0;
	long made = 0;
	int rc;

	if (n)
		*n = 0;
	rc = bw_store_prepare(st, "SELECT n.tenant_id FROM notify_target n"
		      " WHERE n.digest_period > 0 AND n.webhook IS NOT NULL"
		      " AND n.last_digest + n.digest_period <= ?1"
		      " AND EXISTS (SELECT 1 FROM digest_item d WHERE d.tenant_id = n.tenant_id)"
		      " ORDER BY n.tenant_id LIMIT 64", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, now);
	rc = bw_store_read_ids(st, s, &ids, &k, "finding due digests", err);
	sqlite3_finalize(s);
	for (size_t i = 0; rc == BW_OK && i < k; i++) {
		int one = 0;
		rc = flush_one(st, ids[i], now, &one, err);
		made += one;
	}
	bw_free(ids);
	if (n)
		*n = made;
	return rc;
}
