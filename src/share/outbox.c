/*
 * outbox.c - the outbox table (see outbox.h): enqueue in the caller's
 * transaction, claim with a lease, back-off with equal jitter, dead
 * letters and replay.
 *
 * Statements are prepared per call: the outbox moves at the pace of
 * deliveries (network round trips), so caching them would save nothing
 * that shows.
 */
#include "share/outbox.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

static void
policy_defaults(const struct bw_outbox_policy *p, struct bw_outbox_policy *out)
{
	memset(out, 0, sizeof(*out));
	if (p)
		*out = *p;
	if (out->max_attempts <= 0)
		out->max_attempts = BW_OUTBOX_DEFAULT_ATTEMPTS;
	if (out->base <= 0)
		out->base = 30;
	if (out->max_delay <= 0)
		out->max_delay = 3600;
	if (out->lease <= 0)
		out->lease = 120;
}

void
bw_outbox_new_key(char *buf, size_t cap)
{
	unsigned char r[16];
	char hex[33];

	if (sodium_init() < 0) {
		/* libsodium cannot start: no randomness, refuse to pretend */
		snprintf(buf, cap, "%s", "");
		return;
	}
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, cap, "bw-%s", hex);
}

static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
bw_outbox_enqueue(struct bw_store *st, const struct bw_outbox_msg *m,
		  int64_t now, int64_t *id, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char key[BW_OUTBOX_KEY_MAX + 1];
	int rc;

	if (m->channel == NULL || (strcmp(m->channel, "webhook") != 0 &&
				   strcmp(m->channel, "smtp") != 0))
		return bw_err_set(err, BW_EINVAL, "outbox: channel must be webhook or smtp");
	if (m->destination == NULL || m->destination[0] == '\0' ||
	    !text_ok(m->destination, BW_OUTBOX_DEST_MAX))
		return bw_err_set(err, BW_EINVAL,
				  "outbox: destination empty, over %d bytes or with control characters",
				  BW_OUTBOX_DEST_MAX);
	if (m->subject && !text_ok(m->subject, BW_OUTBOX_SUBJECT_MAX))
		return bw_err_set(err, BW_EINVAL,
				  "outbox: subject over %d bytes or with control characters",
				  BW_OUTBOX_SUBJECT_MAX);
	if (m->content_type == NULL || !text_ok(m->content_type, 128) || m->content_type[0] == '\0')
		return bw_err_set(err, BW_EINVAL, "outbox: content type missing or invalid");
	if (m->len > BW_OUTBOX_BODY_MAX)
		return bw_err_set(err, BW_ELIMIT, "outbox: body over %d bytes", BW_OUTBOX_BODY_MAX);
	if (m->idem_key) {
		if (m->idem_key[0] == '\0' || !text_ok(m->idem_key, BW_OUTBOX_KEY_MAX) ||
		    strpbrk(m->idem_key, " <>\"\\") != NULL)
			return bw_err_set(err, BW_EINVAL,
					  "outbox: idempotency key empty, over %d bytes or with blanks, quotes or <>",
					  BW_OUTBOX_KEY_MAX);
		snprintf(key, sizeof(key), "%s", m->idem_key);
	} else {
		bw_outbox_new_key(key, sizeof(key));
		if (key[0] == '\0')
			return bw_err_set(err, BW_EIO, "outbox: libsodium cannot start");
	}
	rc = bw_store_prepare(st, "INSERT INTO outbox (created, channel, tenant_id, destination, priority,"
		      " idem_key, subject, content_type, body, next_attempt)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?1)"
		      " ON CONFLICT (idem_key) DO NOTHING", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, m->channel, -1, SQLITE_STATIC);
	if (m->tenant_id > 0)
		sqlite3_bind_int64(s, 3, m->tenant_id);
	sqlite3_bind_text(s, 4, m->destination, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, m->priority);
	sqlite3_bind_text(s, 6, key, -1, SQLITE_STATIC);
	if (m->subject)
		sqlite3_bind_text(s, 7, m->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, m->content_type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 9, m->len ? m->body : "", (int)m->len, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "adding a message");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (id) {
		rc = bw_store_prepare(st, "SELECT id FROM outbox WHERE idem_key = ?1", &s, err);
		if (rc)
			return rc;
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW) {
			rc = bw_store_fail(st, err, "reading a message's id");
			goto out;
		}
		*id = sqlite3_column_int64(s, 0);
	}
out:
	sqlite3_finalize(s);
	return rc;
}

void
bw_outbox_item_clear(struct bw_outbox_item *it)
{
	bw_free(it->destination);
	bw_free(it->idem_key);
	bw_free(it->subject);
	bw_free(it->content_type);
	bw_free(it->last_error);
	bw_free(it->body);
	memset(it, 0, sizeof(*it));
}

void
bw_outbox_items_free(struct bw_outbox_item *items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		bw_outbox_item_clear(&items[i]);
	bw_free(items);
}

#define ITEM_COLS                                                              \
	"id, created, coalesce(tenant_id, 0), channel, state, destination,"    \
	" idem_key, subject, content_type, last_error, body, priority,"        \
	" attempts, next_attempt, coalesce(delivered, 0)"

static char *
col_dup(sqlite3_stmt *s, int i, int *oom)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d;

	if (t == NULL)
		return NULL;
	d = bw_strdup((const char *)t);
	if (d == NULL)
		*oom = 1;
	return d;
}

/* Fills it from a row of ITEM_COLS; BW_ENOMEM leaves it freeable. */
static int
read_item(sqlite3_stmt *s, struct bw_outbox_item *it, struct bw_err *err)
{
	int oom = 0;
	const void *b;

	memset(it, 0, sizeof(*it));
	it->id = sqlite3_column_int64(s, 0);
	it->created = sqlite3_column_int64(s, 1);
	it->tenant_id = sqlite3_column_int64(s, 2);
	snprintf(it->channel, sizeof(it->channel), "%s", (const char *)sqlite3_column_text(s, 3));
	snprintf(it->state, sizeof(it->state), "%s", (const char *)sqlite3_column_text(s, 4));
	it->destination = col_dup(s, 5, &oom);
	it->idem_key = col_dup(s, 6, &oom);
	it->subject = col_dup(s, 7, &oom);
	it->content_type = col_dup(s, 8, &oom);
	it->last_error = col_dup(s, 9, &oom);
	b = sqlite3_column_blob(s, 10);
	it->len = (size_t)sqlite3_column_bytes(s, 10);
	it->body = bw_malloc(it->len + 1);
	if (it->body == NULL) {
		oom = 1;
	} else {
		if (it->len)
			memcpy(it->body, b, it->len);
		it->body[it->len] = '\0';
	}
	it->priority = sqlite3_column_int(s, 11);
	it->attempts = sqlite3_column_int(s, 12);
	it->next_attempt = sqlite3_column_int64(s, 13);
	it->delivered = sqlite3_column_int64(s, 14);
	return oom ? bw_err_set(err, BW_ENOMEM, "out of memory") : BW_OK;
}

/* Runs a prepared query of ITEM_COLS into a new array. */
static int
read_items(struct bw_store *st, sqlite3_stmt *s, size_t max,
	   struct bw_outbox_item **items, size_t *n, struct bw_err *err)
{
	struct bw_outbox_item *a = NULL;
	size_t cap = 0, k = 0;
	int rc = BW_OK, step;

	while (k < max && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_outbox_item *g = bw_grow(a, &cap, k + 1, sizeof(*a));
		if (g == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		a = g;
		rc = read_item(s, &a[k], err);
		k++;
		if (rc)
			goto fail;
	}
	if (k < max && step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading messages");
		goto fail;
	}
	*items = a;
	*n = k;
	return BW_OK;
fail:
	bw_outbox_items_free(a, k);
	return rc;
}

int
bw_outbox_claim(struct bw_store *st, const struct bw_outbox_policy *pol,
		const char *channel, int64_t now, size_t max,
		struct bw_outbox_item **items, size_t *n, struct bw_err *err)
{
	struct bw_outbox_policy p;
	sqlite3_stmt *s = NULL, *u = NULL;
	struct bw_outbox_item *a = NULL;
	size_t k = 0;
	int rc;

	*items = NULL;
	*n = 0;
	policy_defaults(pol, &p);
	if (max < 1 || max > BW_OUTBOX_CLAIM_MAX)
		return bw_err_set(err, BW_EINVAL, "outbox: claim 1 to %d rows", BW_OUTBOX_CLAIM_MAX);
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT " ITEM_COLS " FROM outbox"
		      " WHERE state = 'pending' AND next_attempt <= ?1"
		      " AND (?3 IS NULL OR channel = ?3)"
		      " ORDER BY priority DESC, next_attempt, id LIMIT ?2", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	if (channel)
		sqlite3_bind_text(s, 3, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	rc = read_items(st, s, max, &a, &k, err);
	if (rc)
		goto fail;
	rc = bw_store_prepare(st, "UPDATE outbox SET claimed = ?2, next_attempt = ?3 WHERE id = ?1", &u, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < k; i++) {
		sqlite3_reset(u);
		sqlite3_bind_int64(u, 1, a[i].id);
		sqlite3_bind_int64(u, 2, now);
		sqlite3_bind_int64(u, 3, now + p.lease);
		if (sqlite3_step(u) != SQLITE_DONE) {
			rc = bw_store_fail(st, err, "claiming a message");
			goto fail;
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	s = u = NULL;
	rc = bw_store_commit(st, err);
	if (rc)
		goto fail;
	*items = a;
	*n = k;
	return BW_OK;
fail:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	bw_store_rollback(st);
	bw_outbox_items_free(a, k);
	return rc;
}

/* Runs one UPDATE with up to three int64 parameters; *changes (if not
 * NULL) gets the rows changed. */
static int
update3(struct bw_store *st, const char *sql, int64_t a, int64_t b, int64_t c,
	long *changes, const char *what, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = bw_store_prepare(st, sql, &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	sqlite3_bind_int64(s, 3, c);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, what);
	else if (changes)
		*changes = sqlite3_changes(bw_store_db(st));
	sqlite3_finalize(s);
	return rc;
}

int
bw_outbox_release_claims(struct bw_store *st, int64_t now, long *n,
			 struct bw_err *err)
{
	return update3(st, "UPDATE outbox SET claimed = NULL, next_attempt = min(next_attempt, ?1)"
			   " WHERE claimed IS NOT NULL AND state = 'pending' AND ?2 = ?2 AND ?3 = ?3",
		       now, 0, 0, n, "releasing claims", err);
}

int
bw_outbox_delivered(struct bw_store *st, int64_t id, int64_t now,
		    struct bw_err *err)
{
	return update3(st, "UPDATE outbox SET state = 'delivered', delivered = ?2, claimed = NULL,"
			   " attempts = attempts + 1, last_error = NULL"
			   " WHERE id = ?1 AND state = 'pending' AND ?3 = ?3",
		       id, now, 0, NULL, "marking a message delivered", err);
}

int64_t
bw_outbox_backoff(const struct bw_outbox_policy *pol, int attempts, double r)
{
	struct bw_outbox_policy p;
	int64_t d;

	policy_defaults(pol, &p);
	if (attempts < 1)
		attempts = 1;
	d = p.base;
	for (int i = 1; i < attempts && d < p.max_delay; i++)
		d *= 2;
	if (d > p.max_delay)
		d = p.max_delay;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 0.999999;
	return d / 2 + (int64_t)((double)(d - d / 2) * r);
}

int
bw_outbox_failed(struct bw_store *st, int64_t id, const struct bw_outbox_policy *pol,
		 const char *why, int64_t now, int *dead, struct bw_err *err)
{
	struct bw_outbox_policy p;
	sqlite3_stmt *s = NULL;
	int attempts, rc, is_dead;
	double r;

	policy_defaults(pol, &p);
	if (dead)
		*dead = 0;
	rc = bw_store_prepare(st, "SELECT attempts FROM outbox WHERE id = ?1 AND state = 'pending'", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return bw_err_set(err, BW_ENOTFOUND, "outbox: no pending message %lld", (long long)id);
	}
	attempts = sqlite3_column_int(s, 0) + 1;
	sqlite3_finalize(s);
	s = NULL;
	is_dead = attempts >= p.max_attempts;
	r = sodium_init() < 0 ? 0.5 : (double)randombytes_uniform(1000000) / 1000000.0;
	rc = bw_store_prepare(st, "UPDATE outbox SET attempts = ?2, claimed = NULL, last_error = substr(?3, 1, 500),"
		      " state = CASE WHEN ?4 THEN 'dead' ELSE 'pending' END, next_attempt = ?5"
		      " WHERE id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, attempts);
	sqlite3_bind_text(s, 3, why ? why : "unknown error", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, is_dead);
	sqlite3_bind_int64(s, 5, is_dead ? now : now + bw_outbox_backoff(&p, attempts, r));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "recording a failed delivery");
	sqlite3_finalize(s);
	if (rc == BW_OK && dead)
		*dead = is_dead;
	return rc;
}

int
bw_outbox_replay(struct bw_store *st, int64_t id, int64_t now, long *n,
		 struct bw_err *err)
{
	long changed = 0;
	int rc;

	rc = update3(st, "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?2,"
			 " claimed = NULL WHERE state = 'dead' AND (?1 = 0 OR id = ?1) AND ?3 = ?3",
		     id, now, 0, &changed, "replaying messages", err);
	if (rc)
		return rc;
	if (n)
		*n = changed;
	if (id != 0 && changed == 0)
		return bw_err_set(err, BW_ENOTFOUND, "outbox: message %lld is not dead (or does not exist)",
				  (long long)id);
	return BW_OK;
}

int
bw_outbox_list(struct bw_store *st, const char *state, long limit,
	       struct bw_outbox_item **items, size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*items = NULL;
	*n = 0;
	if (limit < 1 || limit > 100000)
		return bw_err_set(err, BW_EINVAL, "outbox: list 1 to 100000 rows");
	if (state && strcmp(state, "pending") != 0 && strcmp(state, "delivered") != 0 &&
	    strcmp(state, "dead") != 0)
		return bw_err_set(err, BW_EINVAL, "outbox: state is pending, delivered or dead");
	rc = bw_store_prepare(st, "SELECT " ITEM_COLS " FROM outbox WHERE ?1 IS NULL OR state = ?1"
		      " ORDER BY id DESC LIMIT ?2", &s, err);
	if (rc)
		return rc;
	if (state)
		sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit);
	rc = read_items(st, s, (size_t)limit, items, n, err);
	sqlite3_finalize(s);
	return rc;
}

int
bw_outbox_get(struct bw_store *st, int64_t id, struct bw_outbox_item *out,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_outbox_item *a = NULL;
	size_t n = 0;
	int rc;

	rc = bw_store_prepare(st, "SELECT " ITEM_COLS " FROM outbox WHERE id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = read_items(st, s, 1, &a, &n, err);
	sqlite3_finalize(s);
	if (rc)
		return rc;
	if (n == 0) {
		bw_free(a);
		return bw_err_set(err, BW_ENOTFOUND, "outbox: no message %lld", (long long)id);
	}
	*out = a[0];
	bw_free(a);
	return BW_OK;
}

int
bw_outbox_count(struct bw_store *st, struct bw_outbox_counts *c, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	memset(c, 0, sizeof(*c));
	rc = bw_store_prepare(st, "SELECT state, count(*) FROM outbox GROUP BY state", &s, err);
	if (rc)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		long v = (long)sqlite3_column_int64(s, 1);
		if (strcmp(state, "pending") == 0)
			c->pending = v;
		else if (strcmp(state, "delivered") == 0)
			c->delivered = v;
		else if (strcmp(state, "dead") == 0)
			c->dead = v;
	}
	if (step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "counting messages");
	sqlite3_finalize(s);
	return rc;
}
