/*
 * incident.h - incidents: a sighting of a high-priority indicator within a
 * tenant's scope, its points of contact told level by level until someone
 * acknowledges, and a timeline.
 *
 * Sightings reach the incident step through sighting_queue, which
 * bw_store_record_sighting (src/store/store.h) fills in the transaction of
 * whichever process recorded them (`bulwark match --record`, the daemon
 * itself), for indicators at or above the lowest incident threshold; the
 * delivery thread (src/share/deliver.h) drains it when PRAGMA
 * data_version says another connection committed, so a sighting recorded
 * elsewhere is seen within one poll.
 *
 * For each queued sighting and each tenant, an incident is due when
 *   - the tenant may see (TLP, src/share/tenant.h) an active record of the
 *     indicator whose confidence is at least the tenant's min_confidence
 *     (notify_target; default 80), and
 *   - the indicator is in the tenant's scope (src/share/tenant_scope.h),
 *     or the observer is an address in the scope (sighted from its
 *     networks).
 * It opens an incident, or adds to the tenant's open (not closed) one of
 * the same indicator.  A new incident tells the lowest level of contacts
 * (level 1 normally) by mail and the tenant's webhook; without an
 * acknowledgement within the tenant's ack_deadline it escalates to the
 * next level that has contacts, and so on; after the last level the
 * timeline says nobody answered.  Its priority is src/share/priority.h's.
 *
 * Acknowledgement: `bulwark incident ack`, POST /v1/incidents/ID/ack with
 * the tenant's API key, or the link in the mail, which carries
 * HMAC-SHA256(server secret, "incident-ack:" ID) as token; the server
 * secret is 32 random bytes made once per store (table secret).
 *
 * Every change is an incident_event row (kind: opened, sighting, notified,
 * escalated, unanswered, acknowledged, closed) in the same transaction.
 * Functions take a store connection; those that write run their own
 * transaction.
 */
#ifndef BW_SHARE_INCIDENT_H
#define BW_SHARE_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "intel/geo.h"
#include "store/store.h"

#define BW_INCIDENT_ACTOR_MAX 128
#define BW_INCIDENT_TOKEN_HEX 65
/* Queued sightings handled per transaction. */
#define BW_INCIDENT_BATCH 500

struct bw_incident_config {
	const char *public_url;     /* base of the links in mail; NULL: no link */
	const struct bw_geo *geo;   /* for scope by country/ASN; may be NULL */
	/* the model's score of an indicator (0..1, negative: none); NULL:
	 * no model */
	double (*model_score)(void *ctx, enum bw_ioc_type type, const char *value);
	void *model_ctx;
};

struct bw_incident {
	int64_t id, tenant_id, indicator_id;
	char country[3];
	enum bw_ioc_type type;
	char value[BW_IOC_VALUE_MAX + 1];
	char state[16];             /* open, acknowledged, closed */
	int priority, level;
	long sightings;
	int64_t opened, updated, escalate_at, acked, closed;
	char acked_by[BW_INCIDENT_ACTOR_MAX + 1];
	char closed_by[BW_INCIDENT_ACTOR_MAX + 1];
};

struct bw_incident_event {
	int64_t id, time;
	char kind[24];
	char actor[BW_INCIDENT_ACTOR_MAX + 1];
	char detail[512];
};

struct bw_incident_stats {
	long sightings, opened, added, escalated;
};

/* Drains queued sightings and escalates due incidents (see above).
 * stats (may be NULL) gets what happened. */
int bw_incident_step(struct bw_store *st, const struct bw_incident_config *c,
		     int64_t now, struct bw_incident_stats *stats,
		     struct bw_err *err);

/* Acknowledges incident id as actor.  tenant_id > 0: only an incident of
 * that tenant (BW_ENOTFOUND otherwise).  Acknowledging an acknowledged
 * incident is BW_OK and changes nothing; a closed one is BW_EINVAL. */
int bw_incident_ack(struct bw_store *st, int64_t id, int64_t tenant_id,
		    const char *actor, int64_t now, struct bw_err *err);

/* Closes incident id (open or acknowledged) as actor. */
int bw_incident_close(struct bw_store *st, int64_t id, const char *actor,
		      int64_t now, struct bw_err *err);

int bw_incident_get(struct bw_store *st, int64_t id, struct bw_incident *out,
		    struct bw_err *err);

/* Incidents newest first, of the tenant of country (NULL: all) in state
 * (NULL: all), at most limit; an array freed with bw_free(). */
int bw_incident_list(struct bw_store *st, const char *country, const char *state,
		     long limit, struct bw_incident **out, size_t *n,
		     struct bw_err *err);

/* The timeline of incident id, oldest first; freed with bw_free(). */
int bw_incident_events(struct bw_store *st, int64_t id,
		       struct bw_incident_event **out, size_t *n,
		       struct bw_err *err);

/* The acknowledgement token of incident id (hex) into hex, and checking
 * one (constant time): BW_OK if it is right, BW_ENOTFOUND otherwise. */
int bw_incident_ack_token(struct bw_store *st, int64_t id,
			  char hex[BW_INCIDENT_TOKEN_HEX], struct bw_err *err);
int bw_incident_ack_token_check(struct bw_store *st, int64_t id,
				const char *token, struct bw_err *err);

#endif
