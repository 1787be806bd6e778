/*
 * action.h - disruption actions and their lifecycle.
 *
 * An action blocks one target (a domain with its subdomains, an address or
 * a prefix) under one authorisation.  Its type, target, kind and sinkhole
 * never change once created; everything else moves through states:
 *
 *   review    the policy found it but something needs a human (a guard
 *             list, blast radius): approve makes it proposed by that
 *             operator, revoke rejects it
 *   proposed  a human proposed it; a *different* operator must approve
 *   approved  approved, waiting for its authorisation to start
 *   active    enforced: in the RPZ zone and the firewall sets
 *   held      an appeal suspended it; approve resumes it, revoke ends it
 *   expired   its time ran out (never later than its authorisation)
 *   revoked   ended by an operator (or with its authorisation)
 *   rejected  a review or proposal turned down
 *
 * Every transition is one short transaction that updates the action,
 * appends an action_event (who, when, from, to, why), appends the audit
 * entry, and - whenever the action enters or leaves 'active' - an
 * rpz_change row ('add' or 'del'), which the DNS server turns into the
 * next zone serial.  A domain action entering 'active' also queues its
 * takedown notices (src/disrupt/notice.h) in that transaction.
 *
 * Functions that say "own transaction" must not be called inside the
 * caller's; the _in_txn ones must.
 */
#ifndef BW_DISRUPT_ACTION_H
#define BW_DISRUPT_ACTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "store/store.h"

#define BW_ACTION_REASON_MAX 1024
#define BW_ACTION_LIST_MAX 1000000
/* Default lifetime when neither the caller nor the policy says. */
#define BW_ACTION_DEFAULT_TTL (30 * 86400)

enum bw_action_state {
	BW_ACTION_REVIEW = 0,
	BW_ACTION_PROPOSED,
	BW_ACTION_APPROVED,
	BW_ACTION_ACTIVE,
	BW_ACTION_HELD,
	BW_ACTION_EXPIRED,
	BW_ACTION_REVOKED,
	BW_ACTION_REJECTED,
	BW_ACTION_NSTATES
};

/* "review", "proposed", ... ; and back (-1 for an unknown name). */
const char *bw_action_state_name(enum bw_action_state s);
int bw_action_state_from_name(const char *name);
/* 1 for the states an action can still leave (review .. held). */
int bw_action_state_live(enum bw_action_state s);

struct bw_action {
	int64_t id, authz_id;
	enum bw_ioc_type type;          /* domain, ipv4, ipv6, cidr */
	char target[254];
	char kind[16];                  /* "block" or "sinkhole" */
	char sinkhole[64];              /* "" unless kind is sinkhole */
	char origin[8];                 /* "policy" or "manual" */
	enum bw_action_state state;
	char reason[BW_ACTION_REASON_MAX + 1];
	char proposed_by[129], approved_by[129];
	int64_t created, updated, expires;
	double score;                   /* the model's, when the policy made
					 * it (evidence); -1: none */
};

struct bw_action_event {
	int64_t id, time;
	char op[129];
	char from[16], to[16];          /* from is "" for the creation */
	char reason[BW_ACTION_REASON_MAX + 1];
};

struct bw_action_in {
	int64_t authz_id;
	const char *target;             /* any form bw_ioc_parse reads */
	const char *kind;               /* "block" (default) or "sinkhole" */
	const char *sinkhole;           /* an address, for kind sinkhole */
	int64_t expires;                /* 0: now + ttl */
	int64_t ttl;                    /* 0: BW_ACTION_DEFAULT_TTL */
	const char *reason;             /* may be NULL */
	int scored;                     /* 1: score below is the model's */
	double score;                   /* 0..1, kept as evidence */
};

/* Proposes a manual action by op (own transaction): the target must be a
 * domain, an address or a prefix covered by the authorisation, which must
 * be in force or start in the future; no live action may exist for the
 * same target.  The expiry is clamped to the end of the authorisation.
 * *id gets the new action's id. */
int bw_action_propose(struct bw_store *st, const struct bw_action_in *in,
		      const char *op, int64_t now, int64_t *id,
		      struct bw_err *err);

/* Approves (own transaction): a review item becomes proposed by op; a
 * proposal approved by another operator than its proposer becomes
 * approved and, if its authorisation is in force, active; a held action
 * resumes (active).  *state (if not NULL) gets the new state. */
int bw_action_approve(struct bw_store *st, int64_t id, const char *op,
		      int64_t now, enum bw_action_state *state,
		      struct bw_err *err);

/* Ends an action (own transaction): active and held ones become revoked,
 * review, proposed and approved ones rejected.  reason is required. */
int bw_action_revoke(struct bw_store *st, int64_t id, const char *op,
		     const char *reason, int64_t now, struct bw_err *err);

/* Records an appeal (own transaction): an active or approved action is
 * held (leaving the zone at once) until approved again or revoked. */
int bw_action_appeal(struct bw_store *st, int64_t id, const char *op,
		     const char *reason, int64_t now, struct bw_err *err);

/* Time passes (own transaction): approved actions whose authorisation has
 * started become active; live actions whose expiry has come (or whose
 * authorisation ended) expire.  *changed (if not NULL) gets how many
 * actions moved.  Cheap when nothing is due (one indexed query). */
int bw_action_tick(struct bw_store *st, int64_t now, long *changed,
		   struct bw_err *err);

int bw_action_get(struct bw_store *st, int64_t id, struct bw_action *out,
		  struct bw_err *err);

/* Actions in state (or all when state < 0), by id, into an array freed
 * with bw_free(). */
int bw_action_list(struct bw_store *st, int state, struct bw_action **out,
		   size_t *n, struct bw_err *err);

/* The events of action id, oldest first, into an array freed with
 * bw_free(). */
int bw_action_events(struct bw_store *st, int64_t id,
		     struct bw_action_event **out, size_t *n,
		     struct bw_err *err);

/* The live action on (type, target), if any: *id 0 when none. */
int bw_action_find_live(struct bw_store *st, enum bw_ioc_type type,
			const char *target, int64_t *id, struct bw_err *err);

/* Creates an action inside the caller's transaction in state (review or
 * active) with origin "policy" and op as its proposer; the target must be
 * canonical.  For active, the authorisation must be in force. */
int bw_action_create_in_txn(struct bw_store *st, const struct bw_action_in *in,
			    enum bw_ioc_type type, enum bw_action_state state,
			    const char *op, int64_t now, int64_t *id,
			    struct bw_err *err);

/* Appends the journal row (rpz_change) of an operator exception, inside
 * the caller's transaction: the trigger of type and canonical value enters
 * the zone as rpz-passthru. (add 1) or leaves it (add 0); see
 * src/net/rpz.h.  Actions write their own rows (bw_action_transition). */
int bw_action_journal_exception(struct bw_store *st, int type, const char *value, int add,
				int64_t now, struct bw_err *err);

/* Ends every live action of authorisation authz_id inside the caller's
 * transaction (see bw_action_revoke); *n gets how many. */
int bw_action_end_for_authz(struct bw_store *st, int64_t authz_id,
			    const char *op, const char *reason, int64_t now,
			    long *n, struct bw_err *err);

#endif
