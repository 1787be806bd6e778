/*
 * action.c - the lifecycle of disruption actions (see action.h).
 *
 * Design: one function, transition(), makes every change of state, so the
 * invariants live in one place: the UPDATE is conditional on the state the
 * caller read (a concurrent change makes it fail rather than be
 * overwritten), the action_event and audit rows are written with it, and
 * entering or leaving 'active' writes the rpz_change row the DNS server
 * reads.  The public functions open one short transaction each (BEGIN
 * IMMEDIATE, a handful of indexed statements, COMMIT): well under a
 * millisecond on a warm store, so an approval reaches the zone as fast as
 * the server polls.
 */
#include "disrupt/action.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "disrupt/audit.h"
#include "disrupt/authz.h"
#include "disrupt/notice.h"

static const char *const state_names[BW_ACTION_NSTATES] = {
	"review", "proposed", "approved", "active", "held", "expired",
	"revoked", "rejected",
};

#define ACTION_COLS                                                         \
	"id, authz_id, type, target, kind, sinkhole, origin, state, reason,"  \
	" proposed_by, approved_by, created, updated, expires, score"

const char *
bw_action_state_name(enum bw_action_state s)
{
	return (unsigned)s < BW_ACTION_NSTATES ? state_names[s] : "unknown";
}

int
bw_action_state_from_name(const char *name)
{
	for (int i = 0; i < BW_ACTION_NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

int
bw_action_state_live(enum bw_action_state s)
{
	return s <= BW_ACTION_HELD;
}

/* One row of ACTION_COLS into a (a struct bw_action). */
static void
fill(sqlite3_stmt *s, void *out)
{
	struct bw_action *a = out;
	char state[16];
	int st;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->authz_id = sqlite3_column_int64(s, 1);
	a->type = (enum bw_ioc_type)sqlite3_column_int(s, 2);
	bw_store_copy_text(s, 3, a->target, sizeof(a->target));
	bw_store_copy_text(s, 4, a->kind, sizeof(a->kind));
	bw_store_copy_text(s, 5, a->sinkhole, sizeof(a->sinkhole));
	bw_store_copy_text(s, 6, a->origin, sizeof(a->origin));
	bw_store_copy_text(s, 7, state, sizeof(state));
	st = bw_action_state_from_name(state);
	a->state = st < 0 ? BW_ACTION_REJECTED : (enum bw_action_state)st;
	bw_store_copy_text(s, 8, a->reason, sizeof(a->reason));
	bw_store_copy_text(s, 9, a->proposed_by, sizeof(a->proposed_by));
	bw_store_copy_text(s, 10, a->approved_by, sizeof(a->approved_by));
	a->created = sqlite3_column_int64(s, 11);
	a->updated = sqlite3_column_int64(s, 12);
	a->expires = sqlite3_column_int64(s, 13);
	a->score = sqlite3_column_type(s, 14) == SQLITE_NULL ? -1
							      : sqlite3_column_double(s, 14);
}

int
bw_action_get(struct bw_store *st, int64_t id, struct bw_action *out,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v3(bw_store_db(st), "SELECT " ACTION_COLS " FROM action WHERE id = ?1",
			       -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading an action");
	sqlite3_bind_int64(s, 1, id);
	rc = bw_store_read_row(st, s, fill, out, "reading an action", err);
	if (rc == BW_ENOTFOUND)
		bw_err_set(err, BW_ENOTFOUND, "no action %lld", (long long)id);
	sqlite3_finalize(s);
	return rc;
}

int
bw_action_list(struct bw_store *st, int state, struct bw_action **out,
	       size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT " ACTION_COLS " FROM action"
			       " WHERE ?1 IS NULL OR state = ?1 ORDER BY id", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "listing actions");
	if (state >= 0)
		sqlite3_bind_text(s, 1, bw_action_state_name((enum bw_action_state)state), -1,
				  SQLITE_STATIC);
	rc = bw_store_read_rows(st, s, sizeof(**out), BW_ACTION_LIST_MAX, fill, &rows, n,
				"listing actions", err);
	*out = rows;
	sqlite3_finalize(s);
	return rc;
}

static void
fill_event(sqlite3_stmt *s, void *out)
{
	struct bw_action_event *e = out;

	e->id = sqlite3_column_int64(s, 0);
	e->time = sqlite3_column_int64(s, 1);
	bw_store_copy_text(s, 2, e->op, sizeof(e->op));
	bw_store_copy_text(s, 3, e->from, sizeof(e->from));
	bw_store_copy_text(s, 4, e->to, sizeof(e->to));
	bw_store_copy_text(s, 5, e->reason, sizeof(e->reason));
}

int
bw_action_events(struct bw_store *st, int64_t id, struct bw_action_event **out,
		 size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT id, time, operator, from_state,"
			       " to_state, reason FROM action_event WHERE action_id = ?1"
			       " ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading action events");
	sqlite3_bind_int64(s, 1, id);
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, fill_event, &rows, n,
				"reading action events", err);
	*out = rows;
	sqlite3_finalize(s);
	return rc;
}

int
bw_action_find_live(struct bw_store *st, enum bw_ioc_type type,
		    const char *target, int64_t *id, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	*id = 0;
	if (sqlite3_prepare_v3(bw_store_db(st), "SELECT id FROM action WHERE type = ?1"
			       " AND target = ?2 AND state IN ('review', 'proposed',"
			       " 'approved', 'active', 'held') LIMIT 1", -1,
			       SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "looking up actions");
	sqlite3_bind_int(s, 1, type);
	sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return bw_store_fail(st, err, "looking up actions");
	return BW_OK;
}

/* One journal row: an action's (action_id > 0) or an operator exception's
 * (action_id 0, guard_type and guard_value name its trigger). */
static int
journal_row(struct bw_store *st, int64_t action_id, int guard_type, const char *guard_value,
	    const char *op, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v3(bw_store_db(st), "INSERT INTO rpz_change(time, action_id,"
			       " guard_type, guard_value, op) VALUES (?1, ?2, ?3, ?4, ?5)", -1,
			       SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "recording a zone change");
	sqlite3_bind_int64(s, 1, now);
	if (action_id > 0) {
		sqlite3_bind_int64(s, 2, action_id);
	} else {
		sqlite3_bind_int(s, 3, guard_type);
		sqlite3_bind_text(s, 4, guard_value, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(s, 5, op, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "recording a zone change");
}

static int
rpz_change(struct bw_store *st, int64_t action_id, const char *op, int64_t now,
	   struct bw_err *err)
{
	return journal_row(st, action_id, 0, NULL, op, now, err);
}

int
bw_action_journal_exception(struct bw_store *st, int type, const char *value, int add,
			    int64_t now, struct bw_err *err)
{
	return journal_row(st, 0, type, value, add ? "add" : "del", now, err);
}

static int
add_event(struct bw_store *st, const struct bw_action *a, const char *from,
	  enum bw_action_state to, const char *op, const char *reason,
	  int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char subject[64], kind[32], *detail = NULL;
	json_t *dj;
	int step, rc;

	if (sqlite3_prepare_v3(bw_store_db(st), "INSERT INTO action_event(action_id, time,"
			       " operator, from_state, to_state, reason)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1,
			       SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "recording an action event");
	sqlite3_bind_int64(s, 1, a->id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, op, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(s, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, bw_action_state_name(to), -1, SQLITE_STATIC);
	if (reason)
		sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return bw_store_fail(st, err, "recording an action event");
	snprintf(subject, sizeof(subject), "action:%lld", (long long)a->id);
	snprintf(kind, sizeof(kind), "action.%s", bw_action_state_name(to));
	dj = json_pack("{s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:o}",
		       "from", from ? json_string(from) : json_null(),
		       "to", bw_action_state_name(to),
		       "type", bw_ioc_type_name(a->type), "target", a->target,
		       "kind", a->kind, "authz", (json_int_t)a->authz_id,
		       "expires", (json_int_t)a->expires,
		       "reason", reason ? json_string(reason) : json_null());
	/* the model's score travels with every entry of the action, as
	 * evidence (absent without one, as the entries before it were) */
	if (dj && a->score >= 0 &&
	    json_object_set_new(dj, "score", json_real(a->score)) != 0) {
		json_decref(dj);
		dj = NULL;
	}
	detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	json_decref(dj);
	if (detail == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_audit_append(st, now, op, kind, subject, detail, NULL, err);
	bw_free(detail);
	return rc;
}

/* Moves a (as read in this transaction) to state to.  approver, when not
 * NULL, is recorded as approved_by; proposer as proposed_by. */
static int
transition(struct bw_store *st, struct bw_action *a, enum bw_action_state to,
	   const char *op, const char *reason, const char *approver,
	   const char *proposer, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	enum bw_action_state from = a->state;
	int step, rc;

	if (sqlite3_prepare_v3(bw_store_db(st), "UPDATE action SET state = ?1, updated = ?2,"
			       " reason = coalesce(?3, reason),"
			       " approved_by = coalesce(?4, approved_by),"
			       " proposed_by = coalesce(?5, proposed_by)"
			       " WHERE id = ?6 AND state = ?7", -1,
			       SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "changing an action");
	sqlite3_bind_text(s, 1, bw_action_state_name(to), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	if (reason)
		sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	if (approver)
		sqlite3_bind_text(s, 4, approver, -1, SQLITE_STATIC);
	if (proposer)
		sqlite3_bind_text(s, 5, proposer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, a->id);
	sqlite3_bind_text(s, 7, bw_action_state_name(from), -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return bw_store_fail(st, err, "changing an action");
	if (sqlite3_changes(bw_store_db(st)) != 1)
		return bw_err_set(err, BW_EINVAL, "action %lld changed meanwhile; try again",
				  (long long)a->id);
	a->state = to;
	a->updated = now;
	rc = add_event(st, a, bw_action_state_name(from), to, op, reason, now, err);
	if (rc)
		return rc;
	if (to == BW_ACTION_ACTIVE && from != BW_ACTION_ACTIVE) {
		rc = rpz_change(st, a->id, "add", now, err);
		if (rc == BW_OK)
			rc = bw_notice_queue_in_txn(st, a, now, NULL, err);
	} else if (from == BW_ACTION_ACTIVE && to != BW_ACTION_ACTIVE) {
		rc = rpz_change(st, a->id, "del", now, err);
	}
	return rc;
}

static int
check_reason(const char *reason, int required, struct bw_err *err)
{
	size_t n = reason ? strlen(reason) : 0;

	if (required && n == 0)
		return bw_err_set(err, BW_EINVAL, "a reason is required");
	if (n > BW_ACTION_REASON_MAX)
		return bw_err_set(err, BW_EINVAL, "reason longer than %d bytes",
				  BW_ACTION_REASON_MAX);
	return BW_OK;
}

/* Validates in (target already canonical in ioc) against its authorisation
 * and fills the row's kind, sinkhole and expiry. */
static int
prepare_new(struct bw_store *st, const struct bw_action_in *in,
	    const struct bw_ioc *ioc, int64_t now, struct bw_authz *z,
	    struct bw_action *a, struct bw_err *err)
{
	struct bw_ioc sink;
	int64_t live;
	int rc;

	memset(a, 0, sizeof(*a));
	a->score = -1;
	if (in->scored) {
		if (!(in->score >= 0 && in->score <= 1))
			return bw_err_set(err, BW_EINVAL, "a model score is from 0 to 1");
		a->score = in->score;
	}
	if (ioc->type != BW_IOC_DOMAIN && ioc->type != BW_IOC_IPV4 &&
	    ioc->type != BW_IOC_IPV6 && ioc->type != BW_IOC_CIDR)
		return bw_err_set(err, BW_EINVAL,
				  "%s: a %s; actions take domains, addresses and prefixes",
				  ioc->value, bw_ioc_type_name(ioc->type));
	rc = check_reason(in->reason, 0, err);
	if (rc)
		return rc;
	rc = bw_authz_get(st, in->authz_id, z, err);
	if (rc)
		return rc;
	if (z->revoked)
		return bw_err_set(err, BW_EINVAL, "authorisation %lld was revoked",
				  (long long)z->id);
	if (now >= z->valid_until)
		return bw_err_set(err, BW_EINVAL, "authorisation %lld ended",
				  (long long)z->id);
	a->authz_id = z->id;
	a->type = ioc->type;
	snprintf(a->target, sizeof(a->target), "%s", ioc->value);
	snprintf(a->kind, sizeof(a->kind), "%s", in->kind ? in->kind : "block");
	if (strcmp(a->kind, "block") != 0 && strcmp(a->kind, "sinkhole") != 0)
		return bw_err_set(err, BW_EINVAL, "kind '%s': block or sinkhole", a->kind);
	if (strcmp(a->kind, "sinkhole") == 0) {
		if (ioc->type != BW_IOC_DOMAIN)
			return bw_err_set(err, BW_EINVAL,
					  "a sinkhole redirects a domain; block addresses instead");
		if (in->sinkhole == NULL ||
		    bw_ioc_parse(in->sinkhole, strlen(in->sinkhole), BW_IOC_ANY, &sink, NULL) ||
		    (sink.type != BW_IOC_IPV4 && sink.type != BW_IOC_IPV6))
			return bw_err_set(err, BW_EINVAL,
					  "kind sinkhole needs a sinkhole address (IPv4 or IPv6)");
		snprintf(a->sinkhole, sizeof(a->sinkhole), "%s", sink.value);
	} else if (in->sinkhole) {
		return bw_err_set(err, BW_EINVAL, "a sinkhole address is for kind sinkhole");
	}
	a->expires = in->expires ? in->expires
				 : now + (in->ttl > 0 ? in->ttl : BW_ACTION_DEFAULT_TTL);
	/* never after the authorisation ends */
	if (a->expires > z->valid_until)
		a->expires = z->valid_until;
	if (a->expires <= now)
		return bw_err_set(err, BW_EINVAL, "the expiry is not in the future");
	rc = bw_action_find_live(st, a->type, a->target, &live, err);
	if (rc)
		return rc;
	if (live)
		return bw_err_set(err, BW_EINVAL, "action %lld already covers %s",
				  (long long)live, a->target);
	a->created = a->updated = now;
	return BW_OK;
}

static int
insert_action(struct bw_store *st, struct bw_action *a, const char *origin,
	      enum bw_action_state state, const char *op, const char *reason,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v3(bw_store_db(st), "INSERT INTO action(authz_id, type, target,"
			       " kind, sinkhole, origin, state, reason, proposed_by,"
			       " approved_by, created, updated, expires, score)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
			       -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "adding an action");
	sqlite3_bind_int64(s, 1, a->authz_id);
	sqlite3_bind_int(s, 2, a->type);
	sqlite3_bind_text(s, 3, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->kind, -1, SQLITE_STATIC);
	if (a->sinkhole[0])
		sqlite3_bind_text(s, 5, a->sinkhole, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, bw_action_state_name(state), -1, SQLITE_STATIC);
	if (reason)
		sqlite3_bind_text(s, 8, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, op, -1, SQLITE_STATIC);
	if (state == BW_ACTION_ACTIVE)
		sqlite3_bind_text(s, 10, op, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, a->created);
	sqlite3_bind_int64(s, 12, a->expires);
	if (a->score >= 0)
		sqlite3_bind_double(s, 13, a->score);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return bw_store_fail(st, err, "adding an action");
	a->id = sqlite3_last_insert_rowid(bw_store_db(st));
	a->state = state;
	snprintf(a->origin, sizeof(a->origin), "%s", origin);
	snprintf(a->proposed_by, sizeof(a->proposed_by), "%s", op);
	if (reason)
		snprintf(a->reason, sizeof(a->reason), "%s", reason);
	return BW_OK;
}

int
bw_action_propose(struct bw_store *st, const struct bw_action_in *in,
		  const char *op, int64_t now, int64_t *id, struct bw_err *err)
{
	struct bw_ioc ioc;
	struct bw_authz z;
	struct bw_authz_cover *cover = NULL;
	struct bw_action a;
	int64_t ind = 0;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = bw_audit_check_operator(op, "operator", err);
	if (rc)
		return rc;
	if (in->target == NULL)
		return bw_err_set(err, BW_EINVAL, "a target is required");
	rc = bw_ioc_parse(in->target, strlen(in->target), BW_IOC_ANY, &ioc, err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = prepare_new(st, in, &ioc, now, &z, &a, err);
	if (rc)
		goto out;
	/* the legal basis must cover the target */
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT id FROM indicator WHERE type = ?1"
			       " AND value = ?2", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "looking up the target");
		goto out;
	}
	sqlite3_bind_int(s, 1, ioc.type);
	sqlite3_bind_text(s, 2, ioc.value, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		ind = sqlite3_column_int64(s, 0);
	rc = bw_authz_cover_load(st, &z, &cover, err);
	if (rc)
		goto out;
	if (!bw_authz_covers(cover, ind, ioc.type, ioc.value)) {
		rc = bw_err_set(err, BW_EINVAL,
				"authorisation %lld (%s:%s) does not cover %s",
				(long long)z.id, bw_authz_scope_name(z.scope), z.scope_value,
				ioc.value);
		goto out;
	}
	rc = insert_action(st, &a, "manual", BW_ACTION_PROPOSED, op, in->reason, err);
	if (rc)
		goto out;
	rc = add_event(st, &a, NULL, BW_ACTION_PROPOSED, op, in->reason, now, err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && id)
		*id = a.id;
out:
	sqlite3_finalize(s);
	bw_authz_cover_free(cover);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_action_create_in_txn(struct bw_store *st, const struct bw_action_in *in,
			enum bw_ioc_type type, enum bw_action_state state,
			const char *op, int64_t now, int64_t *id,
			struct bw_err *err)
{
	struct bw_ioc ioc;
	struct bw_authz z;
	struct bw_action a;
	size_t n = strlen(in->target);
	int rc;

	if (state != BW_ACTION_REVIEW && state != BW_ACTION_ACTIVE)
		return bw_err_set(err, BW_EINVAL, "a policy creates review or active actions");
	if (n >= sizeof(ioc.value))
		return bw_err_set(err, BW_EINVAL, "target too long");
	memset(&ioc, 0, sizeof(ioc));
	ioc.type = type;
	ioc.len = n;
	memcpy(ioc.value, in->target, n + 1);
	rc = prepare_new(st, in, &ioc, now, &z, &a, err);
	if (rc)
		return rc;
	if (state == BW_ACTION_ACTIVE && !bw_authz_in_force(&z, now))
		return bw_err_set(err, BW_EINVAL, "authorisation %lld is not in force",
				  (long long)z.id);
	rc = insert_action(st, &a, "policy", state, op, in->reason, err);
	if (rc)
		return rc;
	rc = add_event(st, &a, NULL, state, op, in->reason, now, err);
	if (rc)
		return rc;
	if (state == BW_ACTION_ACTIVE) {
		snprintf(a.approved_by, sizeof(a.approved_by), "%s", op);
		rc = rpz_change(st, a.id, "add", now, err);
		if (rc == BW_OK)
			rc = bw_notice_queue_in_txn(st, &a, now, NULL, err);
		if (rc)
			return rc;
	}
	if (id)
		*id = a.id;
	return BW_OK;
}

/* Reads action id and its authorisation inside an open transaction. */
static int
load(struct bw_store *st, int64_t id, struct bw_action *a, struct bw_authz *z,
     struct bw_err *err)
{
	int rc = bw_action_get(st, id, a, err);

	if (rc == BW_OK && z)
		rc = bw_authz_get(st, a->authz_id, z, err);
	return rc;
}

int
bw_action_approve(struct bw_store *st, int64_t id, const char *op, int64_t now,
		  enum bw_action_state *state, struct bw_err *err)
{
	struct bw_action a;
	struct bw_authz z;
	int rc;

	rc = bw_audit_check_operator(op, "operator", err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = load(st, id, &a, &z, err);
	if (rc)
		goto out;
	if (a.state == BW_ACTION_REVIEW) {
		/* the operator takes the policy's finding as their proposal;
		 * another operator must approve it */
		rc = transition(st, &a, BW_ACTION_PROPOSED, op, NULL, NULL, op, now, err);
		goto commit;
	}
	if (a.state != BW_ACTION_PROPOSED && a.state != BW_ACTION_HELD) {
		rc = bw_err_set(err, BW_EINVAL, "action %lld is %s; only review, proposed and held actions can be approved",
				(long long)id, bw_action_state_name(a.state));
		goto out;
	}
	if (z.revoked || now >= z.valid_until || now >= a.expires) {
		rc = bw_err_set(err, BW_EINVAL, "action %lld cannot be approved: %s",
				(long long)id, z.revoked ? "its authorisation was revoked"
				: now >= z.valid_until ? "its authorisation ended"
						       : "it has expired");
		goto out;
	}
	if (a.state == BW_ACTION_PROPOSED) {
		if (strcmp(a.proposed_by, op) == 0) {
			rc = bw_err_set(err, BW_EINVAL,
					"%s proposed action %lld; another operator must approve it",
					op, (long long)id);
			goto out;
		}
		rc = transition(st, &a, BW_ACTION_APPROVED, op, NULL, op, NULL, now, err);
		if (rc)
			goto out;
	}
	if (bw_authz_in_force(&z, now))
		rc = transition(st, &a, BW_ACTION_ACTIVE, op, NULL, NULL, NULL, now, err);
	else if (a.state == BW_ACTION_HELD)
		rc = transition(st, &a, BW_ACTION_APPROVED, op, NULL, NULL, NULL, now, err);
commit:
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && state)
		*state = a.state;
out:
	if (rc)
		bw_store_rollback(st);
	return rc;
}

static int
end_action(struct bw_store *st, struct bw_action *a, const char *op,
	   const char *reason, int64_t now, struct bw_err *err)
{
	enum bw_action_state to;

	if (!bw_action_state_live(a->state))
		return bw_err_set(err, BW_EINVAL, "action %lld is already %s",
				  (long long)a->id, bw_action_state_name(a->state));
	to = a->state == BW_ACTION_ACTIVE || a->state == BW_ACTION_HELD
		     ? BW_ACTION_REVOKED : BW_ACTION_REJECTED;
	return transition(st, a, to, op, reason, NULL, NULL, now, err);
}

int
bw_action_revoke(struct bw_store *st, int64_t id, const char *op,
		 const char *reason, int64_t now, struct bw_err *err)
{
	struct bw_action a;
	int rc;

	if ((rc = bw_audit_check_operator(op, "operator", err)) ||
	    (rc = check_reason(reason, 1, err)))
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = load(st, id, &a, NULL, err);
	if (rc == BW_OK)
		rc = end_action(st, &a, op, reason, now, err);
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_action_appeal(struct bw_store *st, int64_t id, const char *op,
		 const char *reason, int64_t now, struct bw_err *err)
{
	struct bw_action a;
	int rc;

	if ((rc = bw_audit_check_operator(op, "operator", err)) ||
	    (rc = check_reason(reason, 1, err)))
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = load(st, id, &a, NULL, err);
	if (rc == BW_OK && a.state != BW_ACTION_ACTIVE && a.state != BW_ACTION_APPROVED)
		rc = bw_err_set(err, BW_EINVAL,
				"action %lld is %s; only active and approved actions can be held",
				(long long)id, bw_action_state_name(a.state));
	if (rc == BW_OK)
		rc = transition(st, &a, BW_ACTION_HELD, op, reason, NULL, NULL, now, err);
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

/* The ids of actions due at now: live ones past their expiry or their
 * authorisation's end or revocation, and approved ones whose authorisation
 * has started. */
static int
due_ids(struct bw_store *st, int64_t now, int64_t **ids, size_t *n,
	struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v3(bw_store_db(st),
			       "SELECT x.id FROM action x JOIN authz z ON z.id = x.authz_id"
			       " WHERE x.state IN ('review', 'proposed', 'approved', 'active', 'held')"
			       " AND (x.expires <= ?1 OR z.valid_until <= ?1 OR z.revoked IS NOT NULL"
			       "  OR (x.state = 'approved' AND z.valid_from <= ?1))"
			       " ORDER BY x.id LIMIT 100000", -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "finding due actions");
	sqlite3_bind_int64(s, 1, now);
	rc = bw_store_read_ids(st, s, ids, n, "finding due actions", err);
	sqlite3_finalize(s);
	return rc;
}

int
bw_action_tick(struct bw_store *st, int64_t now, long *changed,
	       struct bw_err *err)
{
	int64_t *ids = NULL;
	size_t n = 0;
	long moved = 0;
	int rc;

	if (changed)
		*changed = 0;
	/* a read first: no write lock when nothing is due */
	rc = due_ids(st, now, &ids, &n, err);
	if (rc || n == 0)
		goto done;
	bw_free(ids);
	ids = NULL;
	rc = bw_store_begin(st, err);
	if (rc)
		goto done;
	rc = due_ids(st, now, &ids, &n, err);
	for (size_t i = 0; rc == BW_OK && i < n; i++) {
		struct bw_action a;
		struct bw_authz z;
		rc = load(st, ids[i], &a, &z, err);
		if (rc)
			break;
		if (z.revoked) {
			rc = end_action(st, &a, BW_AUDIT_SYSTEM, "authorisation revoked", now, err);
		} else if (now >= a.expires || now >= z.valid_until) {
			rc = transition(st, &a, BW_ACTION_EXPIRED, BW_AUDIT_SYSTEM,
					now >= a.expires ? "expired" : "authorisation ended",
					NULL, NULL, now, err);
		} else if (a.state == BW_ACTION_APPROVED && z.valid_from <= now) {
			rc = transition(st, &a, BW_ACTION_ACTIVE, BW_AUDIT_SYSTEM,
					"authorisation in force", NULL, NULL, now, err);
		} else {
			continue;
		}
		moved++;
	}
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
	if (rc)
		bw_store_rollback(st);
	else if (changed)
		*changed = moved;
done:
	bw_free(ids);
	return rc;
}

int
bw_action_end_for_authz(struct bw_store *st, int64_t authz_id, const char *op,
			const char *reason, int64_t now, long *n,
			struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t *ids = NULL;
	size_t len = 0;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT id FROM action WHERE authz_id = ?1"
			       " AND state IN ('review', 'proposed', 'approved', 'active', 'held')"
			       " ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "finding the actions of an authorisation");
	sqlite3_bind_int64(s, 1, authz_id);
	rc = bw_store_read_ids(st, s, &ids, &len, "finding the actions of an authorisation", err);
	if (rc)
		goto out;
	for (size_t i = 0; i < len; i++) {
		struct bw_action a;
		rc = load(st, ids[i], &a, NULL, err);
		if (rc == BW_OK)
			rc = end_action(st, &a, op, reason, now, err);
		if (rc)
			goto out;
		(*n)++;
	}
out:
	sqlite3_finalize(s);
	bw_free(ids);
	return rc;
}
