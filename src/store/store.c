/*
 * store.c - schema, migrations and the provenance model on SQLite.
 *
 * Schema (version 1, 2 adding sighting, 3 adding tenant and api_key, 4
 * adding tenant_scope, 5 adding disruption, audit and outbox, 6 adding
 * contacts and incidents, 7 adding the report log):
 *   source(id, name)                     who reported something
 *   indicator(id, type, value, registrable, created)
 *                                        one row per canonical (type, value)
 *   record(id, indicator_id, source_id, external_id, confidence, tlp,
 *          revoked, expired, first_seen, last_seen, valid_from, valid_until,
 *          added, updated)               what one source says of one indicator
 *   tag(id, kind, name), record_tag(record_id, tag_id)
 *   record_recipient(record_id, country) explicit TLP recipients
 *   ingest_log(...)                      one row per ingested file
 *   sighting(indicator_id, observer, hour, count, first_seen, last_seen)
 *                                        telemetry matches, one row per
 *                                        indicator, observer and hour
 *   tenant(id, country, name, created)   a programme member, one per country
 *   api_key(id, tenant_id, hash, created, revoked)
 *                                        a tenant's API keys, hashed
 *   tenant_scope(tenant_id, kind, value, included, added)
 *                                        national scope entries of a tenant
 *   (5) authz, authz_item, action, action_event, guard_entry, rpz_change,
 *       audit, outbox, abuse_contact
 *                                        disruption, audit chain, outbox;
 *                                        api_key gains kind and label
 *   (6) notify_target, digest_item, contact, incident, incident_event,
 *       sighting_queue, secret; outbox gains claimed
 *                                        notifications and incidents
 *   (7) report_log                       the daemon's periodic reports
 *   (8) index_gen(id, gen, ident)        a counter that triggers bump on
 *                                        every change to what decides the
 *                                        active indicator set (but a new
 *                                        record: max(record.id) shows it),
 *                                        and a random store identity: an
 *                                        index snapshot file records them
 *                                        and is used only while they hold
 *   (9) resolution; action gains score; rpz_change rows may name an
 *       operator exception (guard_type, guard_value) instead of an action
 *                                        blast radius, policy evidence,
 *                                        rpz-passthru. in the served zone
 *
 * Migrations are SQL scripts applied in order inside one transaction, keyed
 * by PRAGMA user_version; a store from a newer build is refused, never
 * "upgraded" down.  The statements of the hot path (upsert) are prepared
 * once per connection; tag ids and the last source id are cached because a
 * feed repeats the same few of them on every line.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/tlp.h"

#define TAG_CACHE_SLOTS 256
#define SQUEUE_SLOTS 1024

struct tag_slot {
	char *key; /* "kind\x1fname", owned */
	int64_t id;
};

struct bw_store {
	sqlite3 *db;
	char *path;
	bool in_txn;
	sqlite3_stmt *ind_get, *ind_ins;
	sqlite3_stmt *src_get, *src_ins;
	sqlite3_stmt *rec_get, *rec_ins, *rec_upd, *rec_touch, *rec_mark;
	sqlite3_stmt *res_put;
	sqlite3_stmt *tag_get, *tag_ins, *rtag_ins, *rcpt_ins;
	sqlite3_stmt *log_ins;
	sqlite3_stmt *sight_ups, *sight_q;
	char *last_source;
	int64_t last_source_id;
	/* How often recent upserts met a new indicator (0..64): feeds come in
	 * runs of new data or of known data, and each is cheaper probed its own
	 * way (see find_or_add_indicator). */
	int new_score;
	/* Whether sightings of an indicator go to sighting_queue (schema 6),
	 * remembered within one transaction (cleared at its start): a flush
	 * of sightings meets the same indicators again and again.  ok: 0 not
	 * known, 1 queued, 2 not queued. */
	struct {
		int64_t id;
		int8_t ok;
	} squeue[SQUEUE_SLOTS];
	sqlite3_stmt *sight_hot;
	sqlite3_stmt *data_version; /* prepared on first use */
	struct tag_slot tags[TAG_CACHE_SLOTS];
};

static const char *const migrations[] = {
	/* 1: the provenance model */
	"CREATE TABLE source ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE indicator ("
	"  id INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  value TEXT NOT NULL,"
	"  registrable TEXT,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (type, value));"
	"CREATE TABLE record ("
	"  id INTEGER PRIMARY KEY,"
	"  indicator_id INTEGER NOT NULL REFERENCES indicator(id),"
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  external_id TEXT,"
	"  confidence INTEGER CHECK (confidence BETWEEN 0 AND 100),"
	"  tlp INTEGER NOT NULL CHECK (tlp BETWEEN 0 AND 4),"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  expired INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  valid_from INTEGER,"
	"  valid_until INTEGER,"
	"  added INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (indicator_id, source_id));"
	"CREATE INDEX record_pending_expiry ON record(valid_until)"
	"  WHERE expired = 0 AND valid_until IS NOT NULL;"
	"CREATE TABLE tag ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  UNIQUE (kind, name));"
	"CREATE TABLE record_tag ("
	"  record_id INTEGER NOT NULL REFERENCES record(id),"
	"  tag_id INTEGER NOT NULL REFERENCES tag(id),"
	"  PRIMARY KEY (record_id, tag_id)) WITHOUT ROWID;"
	"CREATE INDEX record_tag_by_tag ON record_tag(tag_id);"
	"CREATE TABLE record_recipient ("
	"  record_id INTEGER NOT NULL REFERENCES record(id),"
	"  country TEXT NOT NULL,"
	"  PRIMARY KEY (record_id, country)) WITHOUT ROWID;"
	"CREATE TABLE ingest_log ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  file TEXT NOT NULL,"
	"  format TEXT NOT NULL,"
	"  source TEXT,"
	"  records INTEGER NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  unchanged INTEGER NOT NULL,"
	"  rejected INTEGER NOT NULL,"
	"  unsupported INTEGER NOT NULL);",
	/* 2: sightings from telemetry, aggregated per indicator, observer and
	 * hour so that a day of logs is at most 24 rows per pair */
	"CREATE TABLE sighting ("
	"  indicator_id INTEGER NOT NULL REFERENCES indicator(id),"
	"  observer TEXT NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  count INTEGER NOT NULL CHECK (count > 0),"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (indicator_id, observer, hour)) WITHOUT ROWID;"
	"CREATE INDEX sighting_by_hour ON sighting(hour);",
	/* 3: tenants (one per country) and their API keys, stored only as a
	 * hash (src/share/tenant.c); revoked keys stay for the audit trail */
	"CREATE TABLE tenant ("
	"  id INTEGER PRIMARY KEY,"
	"  country TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE api_key ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  hash BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  revoked INTEGER);"
	"CREATE INDEX api_key_by_tenant ON api_key(tenant_id);",
	/* 4: a tenant's national scope beyond its defaults
	 * (src/share/tenant_scope.c): included 1 adds an entry, 0 excludes a
	 * default one (the country's ccTLD) */
	"CREATE TABLE tenant_scope ("
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  included INTEGER NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, kind, value)) WITHOUT ROWID;",
	/* 5: gateway keys, statutory disruption, the audit chain and the
	 * outbox.  An api_key of kind 'gateway' acts for its tenant with the
	 * same TLP rights but only on the check endpoints.  action rows never
	 * change their target or kind; every state change is an action_event
	 * row, and every change of the set of active actions is an rpz_change
	 * row whose rowid is the RPZ serial increment (the IXFR journal).
	 * audit rows chain by SHA-256 (hash = SHA-256(prev || canonical
	 * entry)).  Everything that leaves the process is first an outbox row
	 * written in the transaction of the change that caused it. */
	"ALTER TABLE api_key ADD COLUMN kind TEXT NOT NULL DEFAULT 'tenant'"
	"  CHECK (kind IN ('tenant', 'gateway'));"
	"ALTER TABLE api_key ADD COLUMN label TEXT;"
	"CREATE TABLE authz ("
	"  id INTEGER PRIMARY KEY,"
	"  authority TEXT NOT NULL,"
	"  reference TEXT NOT NULL,"
	"  jurisdiction TEXT NOT NULL,"
	"  scope_kind TEXT NOT NULL,"
	"  scope_value TEXT NOT NULL,"
	"  valid_from INTEGER NOT NULL,"
	"  valid_until INTEGER NOT NULL CHECK (valid_until > valid_from),"
	"  document_sha256 TEXT,"
	"  created INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  revoked INTEGER,"
	"  revoked_by TEXT,"
	"  revoke_reason TEXT);"
	"CREATE TABLE authz_item ("
	"  authz_id INTEGER NOT NULL REFERENCES authz(id),"
	"  type INTEGER NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (authz_id, type, value)) WITHOUT ROWID;"
	"CREATE TABLE action ("
	"  id INTEGER PRIMARY KEY,"
	"  authz_id INTEGER NOT NULL REFERENCES authz(id),"
	"  type INTEGER NOT NULL,"
	"  target TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('block', 'sinkhole')),"
	"  sinkhole TEXT,"
	"  origin TEXT NOT NULL CHECK (origin IN ('policy', 'manual')),"
	"  state TEXT NOT NULL CHECK (state IN ('review', 'proposed', 'approved',"
	"    'active', 'held', 'expired', 'revoked', 'rejected')),"
	"  reason TEXT,"
	"  proposed_by TEXT NOT NULL,"
	"  approved_by TEXT,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"CREATE INDEX action_by_state ON action(state, expires);"
	"CREATE INDEX action_by_target ON action(type, target);"
	"CREATE INDEX action_by_authz ON action(authz_id);"
	/* the address halves of MISP domain|ip pairs (external id X|ip),
	 * found from the domain's record (source, X): the store's
	 * resolutions, for blast radius and takedown notices.  Partial, so
	 * the other records cost nothing. */
	"CREATE INDEX record_ip_pair ON record(source_id, external_id)"
	"  WHERE external_id LIKE '%|ip';"
	"CREATE TABLE action_event ("
	"  id INTEGER PRIMARY KEY,"
	"  action_id INTEGER NOT NULL REFERENCES action(id),"
	"  time INTEGER NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  from_state TEXT,"
	"  to_state TEXT NOT NULL,"
	"  reason TEXT);"
	"CREATE INDEX action_event_by_action ON action_event(action_id);"
	"CREATE TABLE guard_entry ("
	"  list TEXT NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  value TEXT NOT NULL,"
	"  reason TEXT,"
	"  added INTEGER NOT NULL,"
	"  PRIMARY KEY (type, value, list)) WITHOUT ROWID;"
	"CREATE TABLE rpz_change ("
	"  serial INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  action_id INTEGER NOT NULL REFERENCES action(id),"
	"  op TEXT NOT NULL CHECK (op IN ('add', 'del')));"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev_hash BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  channel TEXT NOT NULL CHECK (channel IN ('webhook', 'smtp')),"
	"  tenant_id INTEGER REFERENCES tenant(id),"
	"  destination TEXT NOT NULL,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  idem_key TEXT NOT NULL UNIQUE,"
	"  subject TEXT,"
	"  content_type TEXT NOT NULL,"
	"  body BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'delivered', 'dead')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  delivered INTEGER);"
	"CREATE INDEX outbox_due ON outbox(state, priority DESC, next_attempt)"
	"  WHERE state = 'pending';"
	/* the operator's directory of abuse contacts for takedown notices
	 * (src/disrupt/notice.h), replaced whole by each load */
	"CREATE TABLE abuse_contact ("
	"  id INTEGER PRIMARY KEY,"
	"  role TEXT NOT NULL CHECK (role IN ('reporter', 'registrar', 'hosting')),"
	"  match TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  email TEXT NOT NULL,"
	"  added INTEGER NOT NULL);"
	"CREATE INDEX abuse_contact_by_role ON abuse_contact(role, match);",
	/* 6: notifications, points of contact and incidents (issue 7).
	 * notify_target: where a tenant's notifications go (a webhook signed
	 * with its secret), whether they are batched into one digest per
	 * digest_period seconds (0: one message per item), and how long an
	 * incident waits for an acknowledgement before it escalates.
	 * digest_item: items waiting for the next digest of their tenant.
	 * contact rows are never deleted (an incident timeline names them);
	 * removal sets removed.  At most one incident per tenant and indicator
	 * is not closed (incident_live).  sighting_queue is filled by
	 * bw_store_record_sighting, in the transaction of whichever process
	 * records the sighting, and drained by `bulwark serve`; only sightings
	 * of an indicator with an active record at or above the lowest
	 * incident threshold of any tenant (80 unless a tenant set less) are
	 * queued.  (Not a trigger: a trigger on sighting, even one that never
	 * fires, made `match --record` twice as slow, as every upsert then
	 * needs a statement journal.)  secret holds the server's
	 * own keys (the one that signs acknowledgement links).  outbox.claimed
	 * is when a deliverer took the row (NULL when nobody holds it), so
	 * that a restarted daemon can take back what a killed one held. */
	"ALTER TABLE outbox ADD COLUMN claimed INTEGER;"
	"CREATE TABLE notify_target ("
	"  tenant_id INTEGER PRIMARY KEY REFERENCES tenant(id),"
	"  webhook TEXT,"
	"  secret TEXT,"
	"  digest_period INTEGER NOT NULL DEFAULT 0 CHECK (digest_period >= 0),"
	"  ack_deadline INTEGER NOT NULL DEFAULT 900 CHECK (ack_deadline > 0),"
	"  min_confidence INTEGER NOT NULL DEFAULT 80"
	"    CHECK (min_confidence BETWEEN 0 AND 100),"
	"  last_digest INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE digest_item ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  created INTEGER NOT NULL,"
	"  priority INTEGER NOT NULL,"
	"  body TEXT NOT NULL);"
	"CREATE INDEX digest_item_by_tenant ON digest_item(tenant_id, id);"
	"CREATE TABLE contact ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  role TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  email TEXT NOT NULL,"
	"  phone TEXT,"
	"  level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 9),"
	"  created INTEGER NOT NULL,"
	"  removed INTEGER);"
	"CREATE INDEX contact_by_tenant ON contact(tenant_id, level);"
	"CREATE TABLE incident ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  indicator_id INTEGER NOT NULL REFERENCES indicator(id),"
	"  state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'closed')),"
	"  priority INTEGER NOT NULL,"
	"  level INTEGER NOT NULL,"
	"  sightings INTEGER NOT NULL,"
	"  opened INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  escalate_at INTEGER,"
	"  acked INTEGER,"
	"  acked_by TEXT,"
	"  closed INTEGER,"
	"  closed_by TEXT);"
	"CREATE UNIQUE INDEX incident_live ON incident(tenant_id, indicator_id)"
	"  WHERE state != 'closed';"
	"CREATE INDEX incident_escalation ON incident(escalate_at)"
	"  WHERE state = 'open';"
	"CREATE TABLE incident_event ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incident(id),"
	"  time INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX incident_event_by_incident ON incident_event(incident_id);"
	"CREATE TABLE sighting_queue ("
	"  id INTEGER PRIMARY KEY,"
	"  indicator_id INTEGER NOT NULL,"
	"  observer TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL);"
	"CREATE TABLE secret ("
	"  name TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL,"
	"  created INTEGER NOT NULL) WITHOUT ROWID;",
	/* 7: the periodic reports the daemon made (src/share/report_sched.c),
	 * one row per tenant and period end, written in the transaction that
	 * queues the report's notifications: a crash before it makes the
	 * report again, never twice */
	"CREATE TABLE report_log ("
	"  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	"  period_from INTEGER NOT NULL,"
	"  period_to INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  html TEXT NOT NULL,"
	"  pdf TEXT NOT NULL,"
	"  PRIMARY KEY (tenant_id, period_to)) WITHOUT ROWID;",
	/* 8: the generation of the active indicator set, for index snapshot
	 * files (src/index/index.h): bumped by triggers on every change to
	 * the records, their tags, tags and indicators that can change what
	 * a snapshot holds, except a new record, which max(record.id) shows
	 * (a trigger on every record insert tripled the cost of an ingest);
	 * a re-ingest that only moves last_seen does not bump it.  The store's
	 * upsert marks a record (SET updated) whenever it adds tags to it */
	"CREATE TABLE index_gen ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  gen INTEGER NOT NULL,"
	"  ident INTEGER NOT NULL);"
	"INSERT INTO index_gen VALUES (1, 1, abs(random() % 9007199254740991) + 1);"
	"CREATE TRIGGER index_gen_record_del AFTER DELETE ON record BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_record_upd AFTER UPDATE OF"
	"  id, indicator_id, confidence, revoked, expired, valid_until, updated"
	"  ON record BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_rtag_ins AFTER INSERT ON record_tag BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_rtag_del AFTER DELETE ON record_tag BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_rtag_upd AFTER UPDATE ON record_tag BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_tag_upd AFTER UPDATE ON tag BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_tag_del AFTER DELETE ON tag BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_ind_upd AFTER UPDATE ON indicator"
	"  WHEN OLD.type IS NOT NEW.type OR OLD.value IS NOT NEW.value"
	"    OR OLD.id IS NOT NEW.id BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;"
	"CREATE TRIGGER index_gen_ind_del AFTER DELETE ON indicator BEGIN"
	"  UPDATE index_gen SET gen = gen + 1 WHERE id = 1; END;",
	/* 9: evidence for the disruption policy and exceptions in the zone
	 * journal.  action.score: the domain-risk model's score when the
	 * policy created the action, NULL without a model. */
	"ALTER TABLE action ADD COLUMN score REAL CHECK (score BETWEEN 0 AND 1);"
	/* every resolution a source reported (MISP domain|ip): a record
	 * is one per indicator and source, so the pairs above keep only one
	 * domain per address and source; this keeps them all, for blast
	 * radius (src/disrupt/policy.c).  domain is the canonical name,
	 * registrable its registrable domain (NULL when it has none). */
	"CREATE TABLE resolution ("
	"  ip_id INTEGER NOT NULL REFERENCES indicator(id),"
	"  domain TEXT NOT NULL,"
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  registrable TEXT,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (ip_id, domain, source_id)) WITHOUT ROWID;"
	"CREATE INDEX resolution_by_domain ON resolution(domain);"
	/* the pairs schema 5 kept (one per address and source) seed it */
	"INSERT OR IGNORE INTO resolution"
	"  SELECT r2.indicator_id, i.value, r.source_id, i.registrable, r2.revoked,"
	"         r2.first_seen, r2.last_seen"
	"  FROM record r2 JOIN record r ON r.source_id = r2.source_id"
	"   AND r.external_id = substr(r2.external_id, 1, length(r2.external_id) - 3)"
	"  JOIN indicator i ON i.id = r.indicator_id"
	"  WHERE r2.external_id LIKE '%|ip' AND i.type = 1;"
	/* rpz_change rows of the operator's exceptions (src/net/rpz.h) name
	 * their trigger instead of an action.  SQLite cannot relax NOT NULL in
	 * place, so the table is rebuilt; its AUTOINCREMENT high-water mark
	 * moves with it, so zone serials never go back. */
	"ALTER TABLE rpz_change RENAME TO rpz_change_v8;"
	"CREATE TABLE rpz_change ("
	"  serial INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  action_id INTEGER REFERENCES action(id),"
	"  guard_type INTEGER,"
	"  guard_value TEXT,"
	"  op TEXT NOT NULL CHECK (op IN ('add', 'del')),"
	"  CHECK ((action_id IS NULL) <> (guard_value IS NULL)),"
	"  CHECK ((guard_type IS NULL) = (guard_value IS NULL)));"
	"INSERT INTO rpz_change(serial, time, action_id, op)"
	"  SELECT serial, time, action_id, op FROM rpz_change_v8;"
	"DELETE FROM sqlite_sequence WHERE name = 'rpz_change';"
	"UPDATE sqlite_sequence SET name = 'rpz_change' WHERE name = 'rpz_change_v8';"
	"DROP TABLE rpz_change_v8;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == BW_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

int
bw_store_fail(struct bw_store *st, struct bw_err *err, const char *what)
{
	return bw_err_set(err, BW_ESTORE, "%s: %s", what,
			  st && st->db ? sqlite3_errmsg(st->db) : "no database");
}

void
bw_store_copy_text(sqlite3_stmt *s, int col, char *out, size_t cap)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	snprintf(out, cap, "%s", t ? t : "");
}

int
bw_store_read_row(struct bw_store *st, sqlite3_stmt *s, bw_store_row_fn fill, void *element,
		  const char *what, struct bw_err *err)
{
	int step = sqlite3_step(s), rc = BW_OK;

	if (step == SQLITE_ROW)
		fill(s, element);
	else if (step == SQLITE_DONE)
		rc = BW_ENOTFOUND;
	else
		rc = bw_store_fail(st, err, what);
	sqlite3_reset(s);
	return rc;
}

int
bw_store_read_rows(struct bw_store *st, sqlite3_stmt *s, size_t size, size_t max,
		   bw_store_row_fn fill, void **rows, size_t *n, const char *what,
		   struct bw_err *err)
{
	char *v = NULL;
	size_t len = 0, cap = 0;
	int step, rc = BW_OK;

	*rows = NULL;
	*n = 0;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		char *nv;

		if (len == max) {
			rc = bw_err_set(err, BW_ELIMIT, "%s: more than %zu rows", what, max);
			goto out;
		}
		nv = len < cap ? v : bw_grow(v, &cap, len + 1, size);
		if (nv == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "%s: out of memory", what);
			goto out;
		}
		v = nv;
		fill(s, v + len * size);
		len++;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, what);
		goto out;
	}
	*rows = v;
	*n = len;
	v = NULL;
out:
	sqlite3_reset(s);
	bw_free(v);
	return rc;
}

static void
id_row(sqlite3_stmt *s, void *element)
{
	int64_t id = sqlite3_column_int64(s, 0);

	memcpy(element, &id, sizeof(id));
}

int
bw_store_read_ids(struct bw_store *st, sqlite3_stmt *s, int64_t **ids, size_t *n,
		  const char *what, struct bw_err *err)
{
	void *rows = NULL;
	int rc = bw_store_read_rows(st, s, sizeof(**ids), SIZE_MAX, id_row, &rows, n, what, err);

	*ids = rows;
	return rc;
}

int
bw_store_data_version(struct bw_store *st, int64_t *out, struct bw_err *err)
{
	int rc = BW_OK;

	if (!st->data_version &&
	    sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &st->data_version, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "data_version");
	if (sqlite3_step(st->data_version) == SQLITE_ROW)
		*out = sqlite3_column_int64(st->data_version, 0);
	else
		rc = bw_store_fail(st, err, "data_version");
	sqlite3_reset(st->data_version);
	return rc;
}

int
bw_store_prepare(struct bw_store *st, const char *sql, sqlite3_stmt **s, struct bw_err *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK) {
		*s = NULL;
		return bw_store_fail(st, err, "preparing a query");
	}
	return BW_OK;
}

static int
exec(struct bw_store *st, const char *sql, struct bw_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		bw_err_set(err, BW_ESTORE, "%s", msg ? msg : "SQL error");
		sqlite3_free(msg);
		return BW_ESTORE;
	}
	return BW_OK;
}

static int
prepare(struct bw_store *st, sqlite3_stmt **s, const char *sql,
	struct bw_err *err)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "preparing a statement");
	return BW_OK;
}

static int
make_parent_dir(const char *path, struct bw_err *err)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return bw_err_set(err, BW_EINVAL, "store path too long");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return bw_err_set(err, BW_EIO, "cannot create directory %s: %s",
					  buf, strerror(errno));
		buf[i] = '/';
	}
	return BW_OK;
}

static int
migrate(struct bw_store *st, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int version = 0, rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > BW_STORE_SCHEMA_VERSION)
		return bw_err_set(err, BW_EVERSION,
				  "store %s has schema version %d, this build knows up to %d; use a newer bulwark",
				  st->path, version, BW_STORE_SCHEMA_VERSION);
	if (version == BW_STORE_SCHEMA_VERSION)
		return BW_OK;
	rc = exec(st, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading the schema version");
		goto fail;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	for (int v = version; v < NMIGRATIONS; v++) {
		char sql[64];
		rc = exec(st, migrations[v], err);
		if (rc) {
			bw_err_prefix(err, "migrating store to schema %d", v + 1);
			goto fail;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		rc = exec(st, sql, err);
		if (rc)
			goto fail;
	}
	return exec(st, "COMMIT", err);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
bw_store_open(const char *path, unsigned flags, struct bw_store **out,
	      struct bw_err *err)
{
	struct bw_store *st;
	int rc, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct stat sb;

	*out = NULL;
	if (flags & BW_STORE_NOCREATE) {
		if (stat(path, &sb) != 0)
			return bw_err_set(err, BW_ENOTFOUND,
					  "no store at %s (ingest something first, or give --db)",
					  path);
	} else {
		oflags |= SQLITE_OPEN_CREATE;
		rc = make_parent_dir(path, err);
		if (rc)
			return rc;
	}
	st = bw_calloc(1, sizeof(*st));
	if (st == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	st->path = bw_strdup(path);
	if (st->path == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "cannot open store %s: %s", path,
				st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	/* WAL: readers never block the writer.  synchronous=NORMAL keeps every
	 * committed transaction across a process crash (kill -9); only an OS
	 * crash or power loss can lose the last commits.  The foreign keys in
	 * the schema document the model but are not enforced: store.c is the
	 * only writer and keeps them (test_store checks foreign_key_check), and
	 * enforcing them cost a third of the bulk ingest time. */
	/* 16 KiB pages (only takes effect when the file is created): fewer,
	 * shallower B-tree levels made bulk ingestion 30% faster than 4 KiB
	 * pages (bench/ingest). */
	rc = exec(st, "PRAGMA page_size = 16384;"
		      "PRAGMA journal_mode = WAL;"
		      "PRAGMA synchronous = NORMAL;"
		      "PRAGMA foreign_keys = OFF;"
		      "PRAGMA temp_store = MEMORY;"
		      "PRAGMA cache_size = -16384;", err);
	if (rc) {
		bw_err_prefix(err, "cannot open store %s", path);
		goto fail;
	}
	rc = migrate(st, err);
	if (rc)
		goto fail;
	*out = st;
	return BW_OK;
fail:
	bw_store_close(st);
	return rc;
}

/* The prepared statements of st; a function of its own so that
 * bw_store_close takes the members' addresses only after its NULL check
 * (&st->x of a NULL st is undefined behaviour even when never read). */
static void
finalize_statements(struct bw_store *st)
{
	sqlite3_stmt **stmts[] = {
		&st->ind_get, &st->ind_ins, &st->src_get, &st->src_ins,
		&st->rec_get, &st->rec_ins, &st->rec_upd, &st->rec_touch,
		&st->rec_mark, &st->res_put,
		&st->tag_get, &st->tag_ins, &st->rtag_ins, &st->rcpt_ins,
		&st->log_ins, &st->sight_ups, &st->sight_q, &st->sight_hot,
		&st->data_version,
	};

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		sqlite3_finalize(*stmts[i]);
}

void
bw_store_close(struct bw_store *st)
{
	if (st == NULL)
		return;
	if (st->in_txn)
		bw_store_rollback(st);
	finalize_statements(st);
	for (int i = 0; i < TAG_CACHE_SLOTS; i++)
		bw_free(st->tags[i].key);
	sqlite3_close(st->db);
	bw_free(st->last_source);
	bw_free(st->path);
	bw_free(st);
}

struct sqlite3 *
bw_store_db(struct bw_store *st)
{
	return st->db;
}

int
bw_store_begin(struct bw_store *st, struct bw_err *err)
{
	int rc = exec(st, "BEGIN IMMEDIATE", err);

	if (rc == BW_OK)
		st->in_txn = true;
	memset(st->squeue, 0, sizeof(st->squeue));
	return rc;
}

int
bw_store_commit(struct bw_store *st, struct bw_err *err)
{
	int rc = exec(st, "COMMIT", err);

	if (rc == BW_OK)
		st->in_txn = false;
	else
		bw_store_rollback(st);
	return rc;
}

void
bw_store_rollback(struct bw_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = false;
	/* Cached ids may name rows that no longer exist. */
	bw_free(st->last_source);
	st->last_source = NULL;
	for (int i = 0; i < TAG_CACHE_SLOTS; i++) {
		bw_free(st->tags[i].key);
		st->tags[i].key = NULL;
	}
}

/* ---- tags ------------------------------------------------------------- */

int
bw_tag_kind_valid(const char *kind)
{
	return strcmp(kind, BW_TAG_KIND_LABEL) == 0 ||
	       strcmp(kind, BW_TAG_KIND_MALWARE) == 0 ||
	       strcmp(kind, BW_TAG_KIND_ACTOR) == 0 ||
	       strcmp(kind, BW_TAG_KIND_CAMPAIGN) == 0 ||
	       strcmp(kind, BW_TAG_KIND_LOOKALIKE) == 0 ||
	       strcmp(kind, BW_TAG_KIND_EVENT) == 0 ||
	       strcmp(kind, BW_TAG_KIND_REPORT) == 0;
}

int
bw_tag_parse(const char *text, char *kind_buf, size_t kind_cap,
	     struct bw_tag *tag, struct bw_err *err)
{
	const char *colon = strchr(text, ':');

	tag->kind = BW_TAG_KIND_LABEL;
	tag->name = text;
	if (colon != NULL && (size_t)(colon - text) < kind_cap) {
		memcpy(kind_buf, text, (size_t)(colon - text));
		kind_buf[colon - text] = '\0';
		if (bw_tag_kind_valid(kind_buf)) {
			tag->kind = kind_buf;
			tag->name = colon + 1;
		}
	}
	if (tag->name[0] == '\0')
		return bw_err_set(err, BW_EINVAL, "empty tag");
	if (strlen(tag->name) > BW_TAG_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "tag longer than %d bytes",
				  BW_TAG_NAME_MAX);
	return BW_OK;
}

int
bw_tag_format(const char *kind, const char *name, char *buf, size_t n)
{
	if (strcmp(kind, BW_TAG_KIND_LABEL) == 0)
		return snprintf(buf, n, "%s", name);
	return snprintf(buf, n, "%s:%s", kind, name);
}

static uint32_t
fnv1a(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0x1f) * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static int
tag_id(struct bw_store *st, const struct bw_tag *t, int64_t *id,
       struct bw_err *err)
{
	uint32_t h = fnv1a(t->kind, t->name) % TAG_CACHE_SLOTS;
	struct tag_slot *slot = &st->tags[h];
	size_t kl = strlen(t->kind), nl = strlen(t->name);
	int rc;

	if (slot->key && strncmp(slot->key, t->kind, kl) == 0 &&
	    slot->key[kl] == 0x1f && strcmp(slot->key + kl + 1, t->name) == 0) {
		*id = slot->id;
		return BW_OK;
	}
	if (!st->tag_get &&
	    ((rc = prepare(st, &st->tag_get,
			   "SELECT id FROM tag WHERE kind = ?1 AND name = ?2", err)) ||
	     (rc = prepare(st, &st->tag_ins,
			   "INSERT INTO tag(kind, name) VALUES (?1, ?2)", err))))
		return rc;
	sqlite3_bind_text(st->tag_get, 1, t->kind, (int)kl, SQLITE_STATIC);
	sqlite3_bind_text(st->tag_get, 2, t->name, (int)nl, SQLITE_STATIC);
	rc = sqlite3_step(st->tag_get);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st->tag_get, 0);
	} else if (rc == SQLITE_DONE) {
		sqlite3_bind_text(st->tag_ins, 1, t->kind, (int)kl, SQLITE_STATIC);
		sqlite3_bind_text(st->tag_ins, 2, t->name, (int)nl, SQLITE_STATIC);
		rc = sqlite3_step(st->tag_ins);
		sqlite3_reset(st->tag_ins);
		if (rc != SQLITE_DONE) {
			sqlite3_reset(st->tag_get);
			return bw_store_fail(st, err, "adding a tag");
		}
		*id = sqlite3_last_insert_rowid(st->db);
	} else {
		sqlite3_reset(st->tag_get);
		return bw_store_fail(st, err, "looking up a tag");
	}
	sqlite3_reset(st->tag_get);
	bw_free(slot->key);
	slot->key = bw_malloc(kl + nl + 2);
	if (slot->key) {
		memcpy(slot->key, t->kind, kl);
		slot->key[kl] = 0x1f;
		memcpy(slot->key + kl + 1, t->name, nl + 1);
		slot->id = *id;
	}
	return BW_OK;
}

/* ---- sources ---------------------------------------------------------- */

static int
source_id(struct bw_store *st, const char *name, int64_t now, int64_t *id,
	  struct bw_err *err)
{
	int rc;

	if (st->last_source && strcmp(st->last_source, name) == 0) {
		*id = st->last_source_id;
		return BW_OK;
	}
	if (!st->src_get &&
	    ((rc = prepare(st, &st->src_get, "SELECT id FROM source WHERE name = ?1", err)) ||
	     (rc = prepare(st, &st->src_ins,
			   "INSERT INTO source(name, created) VALUES (?1, ?2)", err))))
		return rc;
	sqlite3_bind_text(st->src_get, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->src_get);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st->src_get, 0);
	} else if (rc == SQLITE_DONE) {
		sqlite3_bind_text(st->src_ins, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st->src_ins, 2, now);
		rc = sqlite3_step(st->src_ins);
		sqlite3_reset(st->src_ins);
		if (rc != SQLITE_DONE) {
			sqlite3_reset(st->src_get);
			return bw_store_fail(st, err, "adding a source");
		}
		*id = sqlite3_last_insert_rowid(st->db);
	} else {
		sqlite3_reset(st->src_get);
		return bw_store_fail(st, err, "looking up a source");
	}
	sqlite3_reset(st->src_get);
	bw_free(st->last_source);
	st->last_source = bw_strdup(name);
	st->last_source_id = *id;
	return BW_OK;
}

/* ---- upsert ----------------------------------------------------------- */

static int
prepare_upsert(struct bw_store *st, struct bw_err *err)
{
	int rc;

	if (st->ind_get)
		return BW_OK;
	if ((rc = prepare(st, &st->ind_get,
			  "SELECT id FROM indicator WHERE type = ?1 AND value = ?2", err)) ||
	    (rc = prepare(st, &st->ind_ins,
			  "INSERT INTO indicator(type, value, registrable, created)"
			  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (type, value) DO NOTHING",
			  err)) ||
	    (rc = prepare(st, &st->rec_get,
			  "SELECT id, external_id, confidence, tlp, revoked, expired,"
			  " first_seen, last_seen, valid_from, valid_until"
			  " FROM record WHERE indicator_id = ?1 AND source_id = ?2", err)) ||
	    (rc = prepare(st, &st->rec_ins,
			  "INSERT INTO record(indicator_id, source_id, external_id,"
			  " confidence, tlp, revoked, expired, first_seen, last_seen,"
			  " valid_from, valid_until, added, updated)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)", err)) ||
	    (rc = prepare(st, &st->rec_upd,
			  "UPDATE record SET external_id = ?2, confidence = ?3, tlp = ?4,"
			  " revoked = ?5, expired = ?6, first_seen = ?7, last_seen = ?8,"
			  " valid_from = ?9, valid_until = ?10, updated = ?11 WHERE id = ?1", err)) ||
	    (rc = prepare(st, &st->rec_touch,
			  "UPDATE record SET last_seen = ?2 WHERE id = ?1", err)) ||
	    (rc = prepare(st, &st->rec_mark,
			  "UPDATE record SET updated = ?2 WHERE id = ?1", err)) ||
	    (rc = prepare(st, &st->rtag_ins,
			  "INSERT OR IGNORE INTO record_tag(record_id, tag_id) VALUES (?1, ?2)", err)) ||
	    (rc = prepare(st, &st->rcpt_ins,
			  "INSERT OR IGNORE INTO record_recipient(record_id, country)"
			  " VALUES (?1, ?2)", err)) ||
	    (rc = prepare(st, &st->res_put,
			  "INSERT INTO resolution(ip_id, domain, source_id, registrable,"
			  " revoked, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
			  " ON CONFLICT (ip_id, domain, source_id) DO UPDATE SET"
			  " revoked = excluded.revoked,"
			  " first_seen = min(first_seen, excluded.first_seen),"
			  " last_seen = max(last_seen, excluded.last_seen)", err)))
		return rc;
	return BW_OK;
}

static void
bind_opt_int64(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static int64_t
column_opt_int64(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

/* Adds tags and recipients; *added tells whether any row was new. */
static int
add_links(struct bw_store *st, int64_t rec_id, const struct bw_record_in *r,
	  bool *added, struct bw_err *err)
{
	int rc;

	for (size_t i = 0; i < r->ntags; i++) {
		int64_t tid = 0;
		rc = tag_id(st, &r->tags[i], &tid, err);
		if (rc)
			return rc;
		sqlite3_bind_int64(st->rtag_ins, 1, rec_id);
		sqlite3_bind_int64(st->rtag_ins, 2, tid);
		rc = sqlite3_step(st->rtag_ins);
		sqlite3_reset(st->rtag_ins);
		if (rc != SQLITE_DONE)
			return bw_store_fail(st, err, "tagging a record");
		if (sqlite3_changes(st->db) > 0)
			*added = true;
	}
	for (size_t i = 0; i < r->nrecipients; i++) {
		sqlite3_bind_int64(st->rcpt_ins, 1, rec_id);
		sqlite3_bind_text(st->rcpt_ins, 2, r->recipients[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st->rcpt_ins);
		sqlite3_reset(st->rcpt_ins);
		if (rc != SQLITE_DONE)
			return bw_store_fail(st, err, "adding a recipient");
		if (sqlite3_changes(st->db) > 0)
			*added = true;
	}
	return BW_OK;
}

static int
check_record(const struct bw_record_in *r, struct bw_err *err)
{
	if (r->source == NULL || r->source[0] == '\0')
		return bw_err_set(err, BW_EINVAL, "record without a source");
	if (strlen(r->source) > BW_SOURCE_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "source name longer than %d bytes",
				  BW_SOURCE_NAME_MAX);
	if (r->confidence < -1 || r->confidence > 100)
		return bw_err_set(err, BW_EINVAL, "confidence %d is not 0-100",
				  r->confidence);
	if (r->tlp < BW_TLP_UNSET || r->tlp > BW_TLP_RED)
		return bw_err_set(err, BW_EINVAL, "unknown TLP level");
	if (r->external_id && strlen(r->external_id) > BW_EXTERNAL_ID_MAX)
		return bw_err_set(err, BW_EINVAL, "external id longer than %d bytes",
				  BW_EXTERNAL_ID_MAX);
	if (r->resolves &&
	    (r->ioc->type != BW_IOC_IPV4 && r->ioc->type != BW_IOC_IPV6 &&
	     r->ioc->type != BW_IOC_CIDR))
		return bw_err_set(err, BW_EINVAL, "a resolution names an address, not a %s",
				  bw_ioc_type_name(r->ioc->type));
	if (r->resolves && (r->resolves[0] == '\0' || strlen(r->resolves) > BW_IOC_VALUE_MAX))
		return bw_err_set(err, BW_EINVAL, "resolved domain empty or longer than %d bytes",
				  BW_IOC_VALUE_MAX);
	if (r->ntags > BW_RECORD_TAGS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %d tags on one record",
				  BW_RECORD_TAGS_MAX);
	if (r->nrecipients > BW_RECORD_RECIPIENTS_MAX)
		return bw_err_set(err, BW_ELIMIT,
				  "more than %d recipients on one record",
				  BW_RECORD_RECIPIENTS_MAX);
	for (size_t i = 0; i < r->ntags; i++)
		if (!bw_tag_kind_valid(r->tags[i].kind) || r->tags[i].name[0] == '\0' ||
		    strlen(r->tags[i].name) > BW_TAG_NAME_MAX)
			return bw_err_set(err, BW_EINVAL, "invalid tag");
	return BW_OK;
}

static int
insert_record(struct bw_store *st, int64_t ind_id, int64_t src_id,
	      const struct bw_record_in *r, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = st->rec_ins;
	int64_t first = r->first_seen ? r->first_seen : now;
	int64_t last = r->last_seen ? r->last_seen : now;
	bool dummy = false;
	int rc;

	if (last < first)
		last = first;
	sqlite3_bind_int64(s, 1, ind_id);
	sqlite3_bind_int64(s, 2, src_id);
	if (r->external_id)
		sqlite3_bind_text(s, 3, r->external_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 3);
	if (r->confidence >= 0)
		sqlite3_bind_int(s, 4, r->confidence);
	else
		sqlite3_bind_null(s, 4);
	/* Unmarked intelligence is shared with the programme's tenants but
	 * never published: AMBER is the safe default. */
	sqlite3_bind_int(s, 5, r->tlp == BW_TLP_UNSET ? BW_TLP_AMBER : r->tlp);
	sqlite3_bind_int(s, 6, r->revoked ? 1 : 0);
	sqlite3_bind_int(s, 7, r->valid_until && r->valid_until < now);
	sqlite3_bind_int64(s, 8, first);
	sqlite3_bind_int64(s, 9, last);
	bind_opt_int64(s, 10, r->valid_from);
	bind_opt_int64(s, 11, r->valid_until);
	sqlite3_bind_int64(s, 12, now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "adding a record");
	if (r->ntags || r->nrecipients)
		return add_links(st, sqlite3_last_insert_rowid(st->db), r, &dummy, err);
	return BW_OK;
}

static bool
text_eq(const unsigned char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == NULL && b == NULL;
	return strcmp((const char *)a, b) == 0;
}

static int
update_record(struct bw_store *st, const struct bw_record_in *r, int64_t now,
	      enum bw_upsert_result *result, struct bw_err *err)
{
	sqlite3_stmt *g = st->rec_get;
	int64_t id = sqlite3_column_int64(g, 0);
	const unsigned char *ext = sqlite3_column_text(g, 1);
	int conf = sqlite3_column_type(g, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(g, 2);
	int tlp = sqlite3_column_int(g, 3);
	int revoked = sqlite3_column_int(g, 4);
	int expired = sqlite3_column_int(g, 5);
	int64_t first = sqlite3_column_int64(g, 6);
	int64_t last = sqlite3_column_int64(g, 7);
	int64_t vfrom = column_opt_int64(g, 8);
	int64_t vuntil = column_opt_int64(g, 9);
	char *ext_copy = NULL;
	bool changed = false, links = false;
	int64_t seen = r->last_seen ? r->last_seen : now;
	int new_expired, rc;
	sqlite3_stmt *u;

	if (r->external_id && !text_eq(ext, r->external_id)) {
		changed = true;
	} else if (ext) {
		ext_copy = bw_strdup((const char *)ext);
		if (ext_copy == NULL) {
			sqlite3_reset(g);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
	}
	if (r->confidence >= 0 && r->confidence != conf) {
		conf = r->confidence;
		changed = true;
	}
	if (r->tlp != BW_TLP_UNSET && r->tlp != tlp) {
		tlp = r->tlp;
		changed = true;
	}
	if ((r->revoked ? 1 : 0) != revoked) {
		revoked = r->revoked ? 1 : 0;
		changed = true;
	}
	if (r->first_seen && r->first_seen < first) {
		first = r->first_seen;
		changed = true;
	}
	if (r->valid_from && r->valid_from != vfrom) {
		vfrom = r->valid_from;
		changed = true;
	}
	if (r->valid_until && r->valid_until != vuntil) {
		vuntil = r->valid_until;
		changed = true;
	}
	new_expired = vuntil && vuntil < now;
	if (new_expired != expired)
		changed = true;
	sqlite3_reset(g);

	if (changed) {
		u = st->rec_upd;
		sqlite3_bind_int64(u, 1, id);
		if (r->external_id)
			sqlite3_bind_text(u, 2, r->external_id, -1, SQLITE_STATIC);
		else if (ext_copy)
			sqlite3_bind_text(u, 2, ext_copy, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(u, 2);
		if (conf >= 0)
			sqlite3_bind_int(u, 3, conf);
		else
			sqlite3_bind_null(u, 3);
		sqlite3_bind_int(u, 4, tlp);
		sqlite3_bind_int(u, 5, revoked);
		sqlite3_bind_int(u, 6, new_expired);
		sqlite3_bind_int64(u, 7, first);
		sqlite3_bind_int64(u, 8, seen > last ? seen : last);
		bind_opt_int64(u, 9, vfrom);
		bind_opt_int64(u, 10, vuntil);
		sqlite3_bind_int64(u, 11, now);
		rc = sqlite3_step(u);
		sqlite3_reset(u);
		if (rc != SQLITE_DONE) {
			bw_free(ext_copy);
			return bw_store_fail(st, err, "updating a record");
		}
	} else if (seen > last) {
		u = st->rec_touch;
		sqlite3_bind_int64(u, 1, id);
		sqlite3_bind_int64(u, 2, seen);
		rc = sqlite3_step(u);
		sqlite3_reset(u);
		if (rc != SQLITE_DONE) {
			bw_free(ext_copy);
			return bw_store_fail(st, err, "updating a record");
		}
	}
	bw_free(ext_copy);
	if (r->ntags || r->nrecipients) {
		rc = add_links(st, id, r, &links, err);
		if (rc)
			return rc;
	}
	if (links && !changed) {
		/* New tags or recipients are a change of the record too. */
		u = st->rec_mark;
		sqlite3_bind_int64(u, 1, id);
		sqlite3_bind_int64(u, 2, now);
		rc = sqlite3_step(u);
		sqlite3_reset(u);
		if (rc != SQLITE_DONE)
			return bw_store_fail(st, err, "updating a record");
		changed = true;
	}
	*result = changed ? BW_UPSERT_UPDATED : BW_UPSERT_UNCHANGED;
	return BW_OK;
}

/* The id of r's indicator, adding it if it is new (*added).  While new
 * indicators dominate, the INSERT comes first and its unique index does the
 * look-up (one probe instead of two); while known ones dominate, a SELECT
 * comes first (no failed INSERT). */
static int
find_or_add_indicator(struct bw_store *st, const struct bw_record_in *r,
		      int64_t now, int64_t *id, bool *added, struct bw_err *err)
{
	sqlite3_stmt *s;
	bool insert_first = st->new_score > 32;
	int rc;

	*added = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (insert_first) {
			s = st->ind_ins;
			sqlite3_bind_int(s, 1, r->ioc->type);
			sqlite3_bind_text(s, 2, r->ioc->value, (int)r->ioc->len, SQLITE_STATIC);
			if (r->registrable)
				sqlite3_bind_text(s, 3, r->registrable, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(s, 3);
			sqlite3_bind_int64(s, 4, now);
			rc = sqlite3_step(s);
			sqlite3_reset(s);
			if (rc != SQLITE_DONE)
				return bw_store_fail(st, err, "adding an indicator");
			if (sqlite3_changes(st->db) == 1) {
				*id = sqlite3_last_insert_rowid(st->db);
				*added = true;
				st->new_score += (64 - st->new_score) / 8 + 1;
				if (st->new_score > 64)
					st->new_score = 64;
				return BW_OK;
			}
		} else {
			s = st->ind_get;
			sqlite3_bind_int(s, 1, r->ioc->type);
			sqlite3_bind_text(s, 2, r->ioc->value, (int)r->ioc->len, SQLITE_STATIC);
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW) {
				*id = sqlite3_column_int64(s, 0);
				sqlite3_reset(s);
				st->new_score -= st->new_score / 8 + 1;
				if (st->new_score < 0)
					st->new_score = 0;
				return BW_OK;
			}
			sqlite3_reset(s);
			if (rc != SQLITE_DONE)
				return bw_store_fail(st, err, "looking up an indicator");
		}
		insert_first = !insert_first;
	}
	return bw_err_set(err, BW_ESTORE, "indicator neither found nor added");
}

/* The resolution r states (r->resolves to r->ioc), for indicator ind_id
 * and source src_id. */
static int
put_resolution(struct bw_store *st, const struct bw_record_in *r, int64_t ind_id,
	       int64_t src_id, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = st->res_put;
	int step;

	sqlite3_bind_int64(s, 1, ind_id);
	sqlite3_bind_text(s, 2, r->resolves, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, src_id);
	if (r->resolves_registrable)
		sqlite3_bind_text(s, 4, r->resolves_registrable, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int(s, 5, r->revoked ? 1 : 0);
	sqlite3_bind_int64(s, 6, r->last_seen > 0 ? r->last_seen : now);
	step = sqlite3_step(s);
	sqlite3_reset(s);
	return step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "recording a resolution");
}

static int
upsert_record(struct bw_store *st, const struct bw_record_in *r, int64_t now,
	      int64_t ind_id, int64_t src_id, bool added,
	      enum bw_upsert_result *result, struct bw_err *err);

int
bw_store_upsert(struct bw_store *st, const struct bw_record_in *r, int64_t now,
		enum bw_upsert_result *result, struct bw_err *err)
{
	int64_t ind_id = 0, src_id = 0;
	bool added = false;
	int rc;

	rc = check_record(r, err);
	if (rc)
		return rc;
	rc = prepare_upsert(st, err);
	if (rc)
		return rc;
	rc = source_id(st, r->source, now, &src_id, err);
	if (rc)
		return rc;

	rc = find_or_add_indicator(st, r, now, &ind_id, &added, err);
	if (rc)
		return rc;
	rc = upsert_record(st, r, now, ind_id, src_id, added, result, err);
	if (rc == BW_OK && r->resolves)
		rc = put_resolution(st, r, ind_id, src_id, now, err);
	return rc;
}

static int
upsert_record(struct bw_store *st, const struct bw_record_in *r, int64_t now,
	      int64_t ind_id, int64_t src_id, bool added,
	      enum bw_upsert_result *result, struct bw_err *err)
{
	int rc;

	if (added) {
		rc = insert_record(st, ind_id, src_id, r, now, err);
		if (rc == BW_OK)
			*result = BW_UPSERT_ADDED;
		return rc;
	}

	sqlite3_bind_int64(st->rec_get, 1, ind_id);
	sqlite3_bind_int64(st->rec_get, 2, src_id);
	rc = sqlite3_step(st->rec_get);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st->rec_get);
		rc = insert_record(st, ind_id, src_id, r, now, err);
		if (rc == BW_OK)
			*result = BW_UPSERT_ADDED;
		return rc;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st->rec_get);
		return bw_store_fail(st, err, "looking up a record");
	}
	return update_record(st, r, now, result, err);
}

int
bw_store_mark_expired(struct bw_store *st, int64_t now, long *n,
		      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "UPDATE record SET expired = 1, updated = ?1"
			       " WHERE expired = 0 AND valid_until IS NOT NULL"
			       " AND valid_until < ?1", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "marking expired records");
	sqlite3_bind_int64(s, 1, now);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "marking expired records");
	if (n)
		*n = sqlite3_changes(st->db);
	return BW_OK;
}

int
bw_store_log_ingest(struct bw_store *st, const struct bw_ingest_log *log,
		    int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!st->log_ins &&
	    (rc = prepare(st, &st->log_ins,
			  "INSERT INTO ingest_log(time, file, format, source, records,"
			  " added, updated, unchanged, rejected, unsupported)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", err)))
		return rc;
	s = st->log_ins;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, log->file, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, log->format, -1, SQLITE_STATIC);
	if (log->source)
		sqlite3_bind_text(s, 4, log->source, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, log->records);
	sqlite3_bind_int64(s, 6, log->added);
	sqlite3_bind_int64(s, 7, log->updated);
	sqlite3_bind_int64(s, 8, log->unchanged);
	sqlite3_bind_int64(s, 9, log->rejected);
	sqlite3_bind_int64(s, 10, log->unsupported);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "logging an ingest");
	return BW_OK;
}

int
bw_store_record_sighting(struct bw_store *st, const struct bw_sighting_in *s,
			 struct bw_err *err)
{
	sqlite3_stmt *q;
	int64_t hour;
	size_t olen = s->observer ? strlen(s->observer) : 0, slot;
	int rc, hot;

	if (s->indicator_id <= 0 || s->count < 1 || s->first > s->last)
		return bw_err_set(err, BW_EINVAL,
				  "sighting: needs an indicator id, a count of at least 1 and first <= last");
	if (olen > BW_SIGHTING_OBSERVER_MAX)
		return bw_err_set(err, BW_EINVAL, "sighting: observer longer than %d bytes",
				  BW_SIGHTING_OBSERVER_MAX);
	hour = bw_sighting_hour(s->first);
	if (bw_sighting_hour(s->last) != hour)
		return bw_err_set(err, BW_EINVAL,
				  "sighting: first and last time in different hours");
	if (!st->sight_ups &&
	    (rc = prepare(st, &st->sight_ups,
			  "INSERT INTO sighting(indicator_id, observer, hour, count,"
			  " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			  " ON CONFLICT (indicator_id, observer, hour) DO UPDATE SET"
			  " count = count + excluded.count,"
			  " first_seen = min(first_seen, excluded.first_seen),"
			  " last_seen = max(last_seen, excluded.last_seen)", err)))
		return rc;
	q = st->sight_ups;
	sqlite3_bind_int64(q, 1, s->indicator_id);
	sqlite3_bind_text(q, 2, s->observer ? s->observer : "", (int)olen, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, hour);
	sqlite3_bind_int64(q, 4, s->count);
	sqlite3_bind_int64(q, 5, s->first);
	sqlite3_bind_int64(q, 6, s->last);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "recording a sighting");
	/* the incident queue of schema 6 (src/share/incident.h), for
	 * indicators confident enough to open an incident for some tenant */
	slot = (size_t)((uint64_t)s->indicator_id * 0x9e3779b97f4a7c15ULL >> 54) % SQUEUE_SLOTS;
	/* outside a transaction nothing is remembered: records may change */
	if (!st->in_txn || st->squeue[slot].ok == 0 || st->squeue[slot].id != s->indicator_id) {
		if (!st->sight_hot &&
		    (rc = prepare(st, &st->sight_hot,
				  "SELECT EXISTS (SELECT 1 FROM record r"
				  " WHERE r.indicator_id = ?1 AND r.revoked = 0 AND r.expired = 0"
				  " AND coalesce(r.confidence, 50) >="
				  " min(80, coalesce((SELECT min(min_confidence) FROM notify_target), 80)))",
				  err)))
			return rc;
		q = st->sight_hot;
		sqlite3_bind_int64(q, 1, s->indicator_id);
		rc = sqlite3_step(q);
		hot = rc == SQLITE_ROW && sqlite3_column_int(q, 0);
		sqlite3_reset(q);
		if (rc != SQLITE_ROW)
			return bw_store_fail(st, err, "reading an indicator's confidence");
		st->squeue[slot].id = s->indicator_id;
		st->squeue[slot].ok = hot ? 1 : 2;
	}
	if (st->squeue[slot].ok != 1)
		return BW_OK;
	if (!st->sight_q &&
	    (rc = prepare(st, &st->sight_q,
			  "INSERT INTO sighting_queue (indicator_id, observer, count, last_seen)"
			  " VALUES (?1, ?2, ?3, ?4)", err)))
		return rc;
	q = st->sight_q;
	sqlite3_bind_int64(q, 1, s->indicator_id);
	sqlite3_bind_text(q, 2, s->observer ? s->observer : "", (int)olen, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, s->count);
	sqlite3_bind_int64(q, 4, s->last);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "queueing a sighting");
	return BW_OK;
}

/* ---- cursor ----------------------------------------------------------- */

struct bw_store_cursor {
	struct bw_store *st;
	sqlite3_stmt *rows, *tags, *rcpts;
	struct bw_record_out rec;
	/* copies of tag and recipient strings of the current record */
	char *strings;
	size_t strings_cap;
};

int
bw_store_cursor_open(struct bw_store *st, const struct bw_record_filter *f,
		     struct bw_store_cursor **out, struct bw_err *err)
{
	struct bw_store_cursor *c;
	char sql[1024];
	int rc;

	*out = NULL;
	snprintf(sql, sizeof(sql),
		 "SELECT i.id, r.id, i.type, i.value, s.name, r.external_id,"
		 " r.confidence, r.tlp, r.revoked, r.expired, r.first_seen,"
		 " r.last_seen, r.valid_from, r.valid_until, r.added, r.updated"
		 /* CROSS JOIN fixes the loop order: walk the (type, value)
		  * index so the output is sorted without a sort of the whole
		  * store in memory; only each indicator's records are sorted
		  * by source. */
		 " FROM indicator i CROSS JOIN record r ON r.indicator_id = i.id"
		 " CROSS JOIN source s ON s.id = r.source_id"
		 " WHERE (?1 = 0 OR i.type = ?1) AND r.updated >= ?2"
		 " AND (?3 IS NULL OR s.name = ?3) %s"
		 " ORDER BY i.type, i.value, s.name",
		 f->include_expired ? "" : "AND r.expired = 0 AND r.revoked = 0");
	c = bw_calloc(1, sizeof(*c));
	if (c == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	c->st = st;
	if ((rc = prepare(st, &c->rows, sql, err)) ||
	    (rc = prepare(st, &c->tags,
			  "SELECT t.kind, t.name FROM record_tag rt"
			  " JOIN tag t ON t.id = rt.tag_id WHERE rt.record_id = ?1"
			  " ORDER BY t.kind, t.name", err)) ||
	    (rc = prepare(st, &c->rcpts,
			  "SELECT country FROM record_recipient WHERE record_id = ?1"
			  " ORDER BY country", err))) {
		bw_store_cursor_free(c);
		return rc;
	}
	sqlite3_bind_int(c->rows, 1, f->type);
	sqlite3_bind_int64(c->rows, 2, f->since);
	if (f->source)
		sqlite3_bind_text(c->rows, 3, f->source, -1, SQLITE_TRANSIENT);
	*out = c;
	return BW_OK;
}

/* Copies the text of column 0 of s into the cursor's string pool; returns
 * the offset or -1. */
static long
pool_add(struct bw_store_cursor *c, size_t *used, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (*used + n > c->strings_cap) {
		size_t cap = c->strings_cap;
		p = bw_grow(c->strings, &cap, *used + n, 1);
		if (p == NULL)
			return -1;
		c->strings = p;
		c->strings_cap = cap;
	}
	memcpy(c->strings + *used, s, n);
	*used += n;
	return (long)(*used - n);
}

int
bw_store_cursor_next(struct bw_store_cursor *c, const struct bw_record_out **rec,
		     struct bw_err *err)
{
	sqlite3_stmt *s = c->rows;
	struct bw_record_out *r = &c->rec;
	long offs[2 * BW_RECORD_TAGS_MAX + BW_RECORD_RECIPIENTS_MAX];
	size_t used = 0, nt = 0, nr = 0;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		bw_store_fail(c->st, err, "reading records");
		return -1;
	}
	r->indicator_id = sqlite3_column_int64(s, 0);
	r->record_id = sqlite3_column_int64(s, 1);
	r->type = (enum bw_ioc_type)sqlite3_column_int(s, 2);
	r->value = (const char *)sqlite3_column_text(s, 3);
	r->source = (const char *)sqlite3_column_text(s, 4);
	r->external_id = (const char *)sqlite3_column_text(s, 5);
	r->confidence = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 6);
	r->tlp = sqlite3_column_int(s, 7);
	r->revoked = sqlite3_column_int(s, 8);
	r->expired = sqlite3_column_int(s, 9);
	r->first_seen = sqlite3_column_int64(s, 10);
	r->last_seen = sqlite3_column_int64(s, 11);
	r->valid_from = column_opt_int64(s, 12);
	r->valid_until = column_opt_int64(s, 13);
	r->added = sqlite3_column_int64(s, 14);
	r->updated = sqlite3_column_int64(s, 15);

	sqlite3_bind_int64(c->tags, 1, r->record_id);
	while ((rc = sqlite3_step(c->tags)) == SQLITE_ROW && nt < BW_RECORD_TAGS_MAX) {
		long k = pool_add(c, &used, (const char *)sqlite3_column_text(c->tags, 0));
		long n = pool_add(c, &used, (const char *)sqlite3_column_text(c->tags, 1));
		if (k < 0 || n < 0) {
			sqlite3_reset(c->tags);
			bw_err_set(err, BW_ENOMEM, "out of memory");
			return -1;
		}
		offs[2 * nt] = k;
		offs[2 * nt + 1] = n;
		nt++;
	}
	sqlite3_reset(c->tags);
	sqlite3_bind_int64(c->rcpts, 1, r->record_id);
	while ((rc = sqlite3_step(c->rcpts)) == SQLITE_ROW && nr < BW_RECORD_RECIPIENTS_MAX) {
		long k = pool_add(c, &used, (const char *)sqlite3_column_text(c->rcpts, 0));
		if (k < 0) {
			sqlite3_reset(c->rcpts);
			bw_err_set(err, BW_ENOMEM, "out of memory");
			return -1;
		}
		offs[2 * BW_RECORD_TAGS_MAX + nr] = k;
		nr++;
	}
	sqlite3_reset(c->rcpts);
	/* The pool may have moved while growing: resolve offsets last. */
	for (size_t i = 0; i < nt; i++) {
		r->tags[i].kind = c->strings + offs[2 * i];
		r->tags[i].name = c->strings + offs[2 * i + 1];
	}
	for (size_t i = 0; i < nr; i++)
		r->recipients[i] = c->strings + offs[2 * BW_RECORD_TAGS_MAX + i];
	r->ntags = nt;
	r->nrecipients = nr;
	*rec = r;
	return 1;
}

void
bw_store_cursor_free(struct bw_store_cursor *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->rows);
	sqlite3_finalize(c->tags);
	sqlite3_finalize(c->rcpts);
	bw_free(c->strings);
	bw_free(c);
}

/* ---- statistics ------------------------------------------------------- */

static int
scalar(struct bw_store *st, const char *sql, long *out, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading statistics");
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return bw_store_fail(st, err, "reading statistics");
	return BW_OK;
}

int
bw_store_stats(struct bw_store *st, struct bw_store_stats *out,
	       struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = scalar(st, "SELECT count(*) FROM indicator", &out->indicators, err)) ||
	    (rc = scalar(st, "SELECT count(*) FROM record", &out->records, err)) ||
	    (rc = scalar(st, "SELECT count(*) FROM source", &out->sources, err)) ||
	    (rc = scalar(st, "SELECT count(*) FROM record WHERE expired = 1", &out->expired, err)) ||
	    (rc = scalar(st, "SELECT count(*) FROM record WHERE revoked = 1", &out->revoked, err)))
		return rc;

	if (sqlite3_prepare_v2(st->db, "SELECT type, count(*) FROM indicator GROUP BY type",
			       -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading statistics");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int t = sqlite3_column_int(s, 0);
		if (t > 0 && t < BW_IOC_NTYPES)
			out->by_type[t] = (long)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "reading statistics");

	if (sqlite3_prepare_v2(st->db, "SELECT tlp, count(*) FROM record GROUP BY tlp",
			       -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading statistics");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int t = sqlite3_column_int(s, 0);
		if (t >= 0 && t < 5)
			out->by_tlp[t] = (long)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "reading statistics");

	if (sqlite3_prepare_v2(st->db,
			       "SELECT s.name, count(r.id) FROM source s"
			       " LEFT JOIN record r ON r.source_id = s.id"
			       " GROUP BY s.id ORDER BY s.name", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading statistics");
	{
		size_t cap = 0;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct bw_store_count *p = bw_grow(out->by_source, &cap,
							   out->nsources + 1,
							   sizeof(*out->by_source));
			if (p == NULL) {
				sqlite3_finalize(s);
				bw_store_stats_free(out);
				return bw_err_set(err, BW_ENOMEM, "out of memory");
			}
			out->by_source = p;
			snprintf(p[out->nsources].name, sizeof(p[0].name), "%s",
				 (const char *)sqlite3_column_text(s, 0));
			p[out->nsources].n = (long)sqlite3_column_int64(s, 1);
			out->nsources++;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		bw_store_stats_free(out);
		return bw_store_fail(st, err, "reading statistics");
	}
	return BW_OK;
}

void
bw_store_stats_free(struct bw_store_stats *s)
{
	if (s == NULL)
		return;
	bw_free(s->by_source);
	s->by_source = NULL;
	s->nsources = 0;
}

int
bw_store_source_names(struct bw_store *st, char ***names, size_t *n,
		      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char **v = NULL;
	size_t cap = 0, count = 0;
	int rc;

	*names = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT name FROM source ORDER BY name", -1,
			       &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "listing sources");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **nv = bw_grow(v, &cap, count + 2, sizeof(*v));
		if (nv == NULL)
			goto nomem;
		v = nv;
		v[count] = bw_strdup((const char *)sqlite3_column_text(s, 0));
		if (v[count] == NULL)
			goto nomem;
		v[++count] = NULL;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		bw_store_free_names(v);
		return bw_store_fail(st, err, "listing sources");
	}
	if (v == NULL) {
		v = bw_calloc(1, sizeof(*v));
		if (v == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	*names = v;
	*n = count;
	return BW_OK;
nomem:
	sqlite3_finalize(s);
	if (v)
		v[count] = NULL;
	bw_store_free_names(v);
	return bw_err_set(err, BW_ENOMEM, "out of memory");
}

void
bw_store_free_names(char **names)
{
	if (names == NULL)
		return;
	for (size_t i = 0; names[i]; i++)
		bw_free(names[i]);
	bw_free(names);
}
