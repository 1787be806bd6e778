/*
 * notify.h - where a tenant's notifications go (table notify_target,
 * schema 6) and how: one signed webhook message per item, or one digest
 * per period.
 *
 * `bulwark tenant notify CC --webhook URL --secret S [--digest PERIOD]`
 * sets the target.  bw_notify_tenant, called in the transaction of the
 * change that caused the notice, either enqueues a webhook message in the
 * outbox at once or, for a tenant in digest mode, keeps the item in
 * digest_item; bw_notify_flush_digests (the delivery thread, every poll)
 * turns the items of each tenant whose period has passed into one outbox
 * message, in the same transaction that deletes them, so an item is in
 * exactly one digest even across a crash.  Mail to the points of contact
 * is never batched: escalation must not wait for a digest.
 *
 * Webhook body of one item: the item's JSON object as given.  Digest body:
 *   {"type": "digest", "tenant": "EE", "from": T, "to": T,
 *    "count": N, "items": [item, ...]}      (items by priority, highest first)
 *
 * All functions take a store connection; set runs its own transaction,
 * notify and flush as documented.
 */
#ifndef BW_SHARE_NOTIFY_H
#define BW_SHARE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define BW_NOTIFY_URL_MAX 2048
#define BW_NOTIFY_SECRET_MIN 16
#define BW_NOTIFY_SECRET_MAX 256
/* A digest period from a minute to a week. */
#define BW_NOTIFY_DIGEST_MIN 60
#define BW_NOTIFY_DIGEST_MAX (7 * 86400)
/* Most items in one digest message; the rest go into the next one. */
#define BW_NOTIFY_DIGEST_ITEMS_MAX 1000
#define BW_NOTIFY_DEFAULT_DEADLINE 900
#define BW_NOTIFY_DEFAULT_CONFIDENCE 80

struct bw_notify_target {
	int64_t tenant_id;
	char country[3];
	char webhook[BW_NOTIFY_URL_MAX + 1]; /* "": none */
	char secret[BW_NOTIFY_SECRET_MAX + 1];
	int64_t digest_period;   /* seconds, 0: one message per item */
	int64_t ack_deadline;    /* seconds before an incident escalates */
	int min_confidence;      /* incidents from this confidence on */
	int64_t last_digest, updated;
};

/* What to change; NULL / negative fields keep the current value (or the
 * default for a new target). */
struct bw_notify_change {
	const char *webhook;    /* "": remove the webhook */
	const char *secret;
	int64_t digest_period;  /* -1 keep, 0 per item */
	int64_t ack_deadline;   /* -1 keep */
	int min_confidence;     /* -1 keep */
};

/* Checks a webhook URL: http:// or https://, a host, no blanks or
 * control characters, at most BW_NOTIFY_URL_MAX bytes. */
int bw_notify_url_check(const char *url, struct bw_err *err);

/* Sets the target of the tenant of country.  A webhook needs a secret
 * (BW_NOTIFY_SECRET_MIN..MAX printable bytes).  BW_ENOTFOUND without
 * such a tenant. */
int bw_notify_set(struct bw_store *st, const char *country,
		  const struct bw_notify_change *c, int64_t now,
		  struct bw_err *err);

/* The target of the tenant (by id); a tenant without a row gets the
 * defaults (no webhook).  BW_ENOTFOUND without such a tenant. */
int bw_notify_get(struct bw_store *st, int64_t tenant_id,
		  struct bw_notify_target *out, struct bw_err *err);

/* Routes one item (a JSON object, UTF-8) for the tenant inside the
 * caller's transaction: to the outbox with idem_key, to digest_item in
 * digest mode, or nowhere without a webhook (*routed "webhook", "digest"
 * or "none"; may be NULL). */
int bw_notify_tenant(struct bw_store *st, int64_t tenant_id, int priority,
		     const char *json, const char *idem_key, int64_t now,
		     const char **routed, struct bw_err *err);

/* Turns due digests into outbox messages (own transaction per tenant);
 * *n (may be NULL) gets how many messages were enqueued. */
int bw_notify_flush_digests(struct bw_store *st, int64_t now, long *n,
			    struct bw_err *err);

/* Parses a period "90s", "15m", "1h", "1d", "1w" or plain seconds into
 * seconds within the digest bounds. */
int bw_notify_parse_period(const char *text, int64_t *out, struct bw_err *err);

#endif
