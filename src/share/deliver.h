/*
 * deliver.h - sends outbox messages (src/share/outbox.h) with libcurl, and
 * the delivery thread of `bulwark serve`.
 *
 * Webhooks: an HTTP or HTTPS POST of the JSON body with the headers
 *
 *   Content-Type: application/json
 *   Idempotency-Key: KEY                  the outbox row's key
 *   X-Bulwark-Timestamp: T                Unix seconds at sending
 *   X-Bulwark-Signature: sha256=HEX       HMAC-SHA256(secret, T "." body)
 *
 * where secret is the tenant's (notify_target.secret).  A receiver
 * recomputes the HMAC over the timestamp, a dot and the raw body, compares
 * in constant time, refuses old timestamps (replays), and drops keys it
 * has seen.  Any 2xx answer is a delivery; anything else (another status,
 * a timeout, a refused connection) is a failed attempt that the outbox
 * retries with back-off.  Redirects are not followed; only http and https
 * are allowed; certificates are verified.
 *
 * Mail: SMTP through the relay `--smtp HOST:PORT` (plain SMTP, STARTTLS
 * when the relay offers it), one recipient per message, headers written
 * here (outbox.h says which); Message-ID is <KEY@bulwark> and the key is
 * also in an Idempotency-Key header.
 *
 * The delivery thread (bw_deliver_start): its own store connection; it
 * reads PRAGMA data_version when the store's files are written (an
 * inotify watch, store/watch.h, then every poll_ms for a few polls; every
 * poll_ms, 200 ms by default, without a watch) and at every whole second,
 * and when another connection committed (or a second passed) it runs the
 * incident step
 * (src/share/incident.h: new sightings, escalations), flushes due digests,
 * then delivers due outbox rows, highest priority first, up to 64 per
 * round; a full round is followed by the next at once, so new incidents
 * are looked at between batches of a long queue.
 * At its start it releases the claims a killed predecessor held.
 * Deliveries are sequential: a slow receiver delays the others by at most
 * the timeout.
 */
#ifndef BW_SHARE_DELIVER_H
#define BW_SHARE_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "intel/geo.h"
#include "share/outbox.h"
#include "intel/model.h"
#include "store/store.h"

#define BW_DELIVER_SIG_BUF 72 /* "sha256=" + 64 hex + NUL */
#define BW_DELIVER_SMTP_MAX 300
#define BW_DELIVER_FROM_MAX 254

/* "sha256=HEX" of HMAC-SHA256(secret, "T.body") into out. */
void bw_deliver_sign(const char *secret, int64_t ts, const void *body, size_t len,
		     char out[BW_DELIVER_SIG_BUF]);

typedef void (*bw_deliver_logger)(void *ctx, const char *line);

struct bw_deliver_config {
	const char *db_path;     /* the store (the delivery thread's own connection) */
	const char *smtp;        /* relay "HOST:PORT"; NULL or "": mail waits */
	const char *mail_from;   /* NULL: "bulwark@localhost" */
	const char *public_url;  /* base of acknowledgement links; NULL: none */
	const char *ca_file;     /* CAs that HTTPS webhooks and SMTP TLS are
				  * checked against; NULL: the system's */
	const struct bw_geo *geo; /* scope by country/ASN; may be NULL; must
				   * outlive the deliverer */
	struct bw_outbox_policy policy;
	unsigned poll_ms;        /* 0: 200 (after a write, or without a watch) */
	long timeout;            /* seconds per delivery; 0: 30 */
	bw_deliver_logger logger;
	void *log_ctx;
	/* the domain-risk model whose score enters incident priority; NULL:
	 * none (the priority then counts 0.5); must outlive the deliverer */
	const struct bw_model *model;
};

struct bw_deliver;

/* The transport alone (no thread): for tests and the thread itself. */
int bw_deliver_new(const struct bw_deliver_config *cfg, struct bw_deliver **out,
		   struct bw_err *err);
void bw_deliver_free(struct bw_deliver *d);

/* Sends one claimed item (reading the tenant's secret from st for a
 * webhook).  BW_OK when the receiver accepted it; BW_EIO with the reason
 * otherwise (the caller records the failure). */
int bw_deliver_item(struct bw_deliver *d, struct bw_store *st,
		    const struct bw_outbox_item *it, struct bw_err *err);

/* One round of the thread: incidents, digests, then up to 64 due rows.
 * *sent and *failed (may be NULL) get the counts. */
int bw_deliver_round(struct bw_deliver *d, struct bw_store *st, int64_t now,
		     long *sent, long *failed, struct bw_err *err);

/* Starts the delivery thread; bw_deliver_stop stops and frees it (NULL is
 * a no-op).  The configuration's strings are copied. */
int bw_deliver_start(const struct bw_deliver_config *cfg, struct bw_deliver **out,
		     struct bw_err *err);
void bw_deliver_stop(struct bw_deliver *d);

#endif
