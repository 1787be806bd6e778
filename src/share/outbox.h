/*
 * outbox.h - everything that leaves the process, written first to the
 * outbox table (schema 5, claimed from schema 6) and delivered later by
 * `bulwark serve` (src/share/deliver.h).
 *
 * A change and the notice it causes commit together: bw_outbox_enqueue
 * runs inside the caller's transaction, so a crash either keeps both or
 * neither.  Delivery is at least once: a row is marked delivered only
 * after the receiver accepted it, so a crash between the two sends it
 * again.  Every row carries an idempotency key (unique in the table) that
 * travels with each delivery (the HTTP header Idempotency-Key, the mail's
 * Message-ID), so a receiver that drops repeated keys sees each notice
 * exactly once.
 *
 * Rows:
 *   channel      "webhook": destination is an http(s) URL, the body is
 *                JSON, signed with the tenant's secret (notify_target);
 *                "smtp": destination is one mail address; subject and body
 *                (text in UTF-8, of content_type, e.g. "text/plain;
 *                charset=utf-8") become a message whose headers (From, To,
 *                Subject, Date, Message-ID: <KEY@bulwark>) the deliverer
 *                writes; with content_type "message/rfc822" the body is a
 *                whole message, sent as it is.
 *   priority     higher first (src/share/priority.h: 0..1000)
 *   state        pending -> delivered, or pending -> dead after
 *                max_attempts failures; dead rows stay visible and
 *                bw_outbox_replay makes them pending again.
 *
 * Claiming: a deliverer takes due rows, highest priority first (then
 * oldest), marking them claimed and pushing their next_attempt a lease
 * ahead, so that nothing else takes them meanwhile.  One daemon delivers
 * per store; at its start it releases what a killed predecessor held
 * (bw_outbox_release_claims).  Retries wait base * 2^(attempts-1)
 * seconds, capped at max_delay, with "equal jitter": a uniformly random
 * time between half of that and all of it, so that receivers that come
 * back are not hit by every sender at the same second.
 *
 * All functions take a store connection (one per thread) and are as
 * thread-safe as it is.  Only enqueue runs in the caller's transaction;
 * the others run their own.
 */
#ifndef BW_SHARE_OUTBOX_H
#define BW_SHARE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define BW_OUTBOX_KEY_MAX 128
#define BW_OUTBOX_DEST_MAX 2048
#define BW_OUTBOX_SUBJECT_MAX 998
#define BW_OUTBOX_BODY_MAX (4 * 1024 * 1024)
#define BW_OUTBOX_CLAIM_MAX 256

struct bw_outbox_msg {
	const char *channel;      /* "webhook" or "smtp" */
	int64_t tenant_id;        /* 0: none */
	const char *destination;  /* URL or mail address */
	int priority;
	const char *idem_key;     /* NULL: a random one ("bw-" + 32 hex) */
	const char *subject;      /* may be NULL */
	const char *content_type; /* "application/json", "text/plain; charset=utf-8" */
	const void *body;
	size_t len;
};

/* Adds m inside the caller's transaction.  A message whose idem_key is
 * already in the table is not added again (BW_OK, *id the existing row):
 * enqueueing the same notice twice is harmless.  BW_EINVAL for a bad
 * channel, an empty destination or a field over its limit. */
int bw_outbox_enqueue(struct bw_store *st, const struct bw_outbox_msg *m,
		      int64_t now, int64_t *id, struct bw_err *err);

struct bw_outbox_policy {
	int max_attempts;  /* failures before dead; 0: 8 */
	int64_t base;      /* first retry delay, seconds; 0: 30 */
	int64_t max_delay; /* cap of the delay, seconds; 0: 3600 */
	int64_t lease;     /* how long a claim holds, seconds; 0: 120 */
};

#define BW_OUTBOX_DEFAULT_ATTEMPTS 8

/* One row, with its strings owned by the item (freed by
 * bw_outbox_items_free). */
struct bw_outbox_item {
	int64_t id, created, tenant_id;
	char channel[16];
	char state[16];
	char *destination, *idem_key, *subject, *content_type, *last_error;
	unsigned char *body;
	size_t len;
	int priority, attempts;
	int64_t next_attempt, delivered;
};

void bw_outbox_items_free(struct bw_outbox_item *items, size_t n);
/* Frees the strings of one item (not the item itself). */
void bw_outbox_item_clear(struct bw_outbox_item *it);

/* Takes up to max (1..BW_OUTBOX_CLAIM_MAX) due pending rows of channel
 * (NULL: every channel), highest priority first, then by next_attempt and
 * id; each is claimed for the policy's lease.  *items (freed with
 * bw_outbox_items_free) may be empty. */
int bw_outbox_claim(struct bw_store *st, const struct bw_outbox_policy *p,
		    const char *channel, int64_t now, size_t max,
		    struct bw_outbox_item **items, size_t *n, struct bw_err *err);

/* Releases every claim (the daemon's start after a crash): claimed rows
 * become due now.  *n (if not NULL) gets how many. */
int bw_outbox_release_claims(struct bw_store *st, int64_t now, long *n,
			     struct bw_err *err);

/* Marks row id delivered (also if it was not claimed). */
int bw_outbox_delivered(struct bw_store *st, int64_t id, int64_t now,
			struct bw_err *err);

/* Records a failed attempt with reason why: attempts grows by one; at the
 * policy's max_attempts the row is dead (*dead 1), otherwise it is due
 * again after the back-off. */
int bw_outbox_failed(struct bw_store *st, int64_t id, const struct bw_outbox_policy *p,
		     const char *why, int64_t now, int *dead, struct bw_err *err);

/* The delay before the attempt after `attempts` failures (1, 2, ...):
 * between half and all of min(base * 2^(attempts-1), max_delay), placed
 * by r in [0, 1). */
int64_t bw_outbox_backoff(const struct bw_outbox_policy *p, int attempts, double r);

/* Makes dead row id pending again with no attempts, due now; id 0: every
 * dead row.  *n gets how many rows; BW_ENOTFOUND when id is not dead. */
int bw_outbox_replay(struct bw_store *st, int64_t id, int64_t now, long *n,
		     struct bw_err *err);

/* Rows of state ("pending", "delivered", "dead"; NULL: all), newest
 * first, at most limit (1..100000). */
int bw_outbox_list(struct bw_store *st, const char *state, long limit,
		   struct bw_outbox_item **items, size_t *n, struct bw_err *err);

/* Row id; BW_ENOTFOUND if none. */
int bw_outbox_get(struct bw_store *st, int64_t id, struct bw_outbox_item *out,
		  struct bw_err *err);

/* Rows per state. */
struct bw_outbox_counts {
	long pending, delivered, dead;
};
int bw_outbox_count(struct bw_store *st, struct bw_outbox_counts *c,
		    struct bw_err *err);

/* A new random idempotency key, "bw-" + 32 hex digits, into buf (at least
 * 36 bytes). */
void bw_outbox_new_key(char *buf, size_t cap);

#endif
