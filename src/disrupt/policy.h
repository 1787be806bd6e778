/*
 * policy.h - what becomes an action without a human: the disruption policy
 * and the run that applies it to the store.
 *
 * An indicator (domain, address or prefix) is actioned automatically when
 *   - an authorisation in force covers it (src/disrupt/authz.h),
 *   - its highest stated confidence among live records is at least
 *     min_confidence (default 80),
 *   - at least min_sources distinct sources report it live (default 2),
 *   - no action exists for it yet other than expired ones (an operator's
 *     revocation or rejection is never undone by the policy),
 * and it passes the safeguards; otherwise it goes to review with the reason:
 *   - guarded (src/disrupt/guard.h): listed, under a listed registrable
 *     domain, covering a listed name, or overlapping a listed range;
 *   - blast radius: an address to which blast_radius or more unrelated
 *     domains resolve in the store, or a prefix wider than /24 (IPv4) or
 *     /48 (IPv6).  "Unrelated" means distinct registrable domains: forty
 *     subdomains of one registrable domain are one tenant of the address.
 *     The pairs come from the resolution table (every domain|ip pair of
 *     every source, withdrawn ones left out), so the count is the same
 *     whichever source reported which pair; the reason gives both counts
 *     and a few examples;
 *   - model score: with a model loaded and min_score set, a domain the
 *     domain-risk model (src/intel/model.h) scores below min_score.
 * The model is evidence, never a trigger: only candidates that already
 * meet everything above are scored, so a high score cannot create an
 * action, and a low one can only send a candidate to review.  The score
 * of every domain action the policy creates is kept with the action
 * (action.score, its events' audit entries, the takedown notice).
 * New actions expire after ttl (default 30 days), never after their
 * authorisation ends; domains are blocked (NXDOMAIN), or redirected to
 * sinkhole when one is configured.
 *
 * Configuration keys (in bulwark.conf, `key = value`):
 *   disrupt_min_confidence  0..100
 *   disrupt_min_sources     1..100
 *   disrupt_expiry          seconds, or with a unit: 90m, 12h, 30d, 2w
 *   disrupt_blast_radius    2..1000000 unrelated (registrable) domains
 *   disrupt_min_score       0..1, or "off" (the default)
 *   disrupt_sinkhole        an IPv4 or IPv6 address, or "none"
 *   disrupt_guard_dir       the shipped guard lists (default data/guard)
 */
#ifndef BW_DISRUPT_POLICY_H
#define BW_DISRUPT_POLICY_H

#include <stdint.h>

#include "core/err.h"
#include "disrupt/guard.h"
#include "store/store.h"

#define BW_POLICY_PATH_MAX 1024
#define BW_POLICY_DEFAULT_GUARD_DIR "data/guard"

struct bw_policy {
	int min_confidence;
	int min_sources;
	int64_t ttl;
	long blast_radius;
	double min_score;                  /* 0: off */
	char sinkhole[64];                 /* "" : block */
	char guard_dir[BW_POLICY_PATH_MAX];
};

/* The defaults: 80, 2, 30 days, 10 domains, no minimum score, no
 * sinkhole, data/guard. */
void bw_policy_init(struct bw_policy *p);

/* Sets one key; BW_ENOTFOUND for a key that is not a policy key (so that a
 * caller reading a shared file can try its own keys), BW_EINVAL with the
 * reason for a bad value. */
int bw_policy_set(struct bw_policy *p, const char *key, const char *value,
		  struct bw_err *err);

/* Reads the policy keys of a bulwark.conf(5) file (other keys are left to
 * their owners and skipped).  Errors name the file and the line. */
int bw_policy_load(struct bw_policy *p, const char *path, struct bw_err *err);

struct bw_policy_result {
	long candidates;   /* indicators meeting confidence and sources */
	long uncovered;    /* of them, covered by no authorisation in force */
	long existing;     /* already had an action */
	long activated;    /* new active actions */
	long review;       /* new review items */
	long expired;      /* actions moved by the clock first (bw_action_tick) */
	long scored;       /* new domain actions and review items with a score */
	long low_score;    /* of the review items, sent there by min_score */
};

struct bw_model;

/* Runs the policy once: the clock first (bw_action_tick), then one write
 * transaction creating every new action and review item (op "policy").
 * guard may be NULL (no guard lists: only blast radius applies).  model
 * may be NULL: then nothing is scored and min_score is not applied (the
 * policy of before the model; the caller says so in its log).  Both are
 * only read, for the duration of the call. */
int bw_policy_run(struct bw_store *st, const struct bw_policy *p,
		  const struct bw_guard *guard, const struct bw_model *model,
		  int64_t now, struct bw_policy_result *res, struct bw_err *err);

#endif
