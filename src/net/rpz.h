/*
 * rpz.h - the response policy zone (RPZ) of the active disruption actions:
 * an immutable snapshot built from the store, answering look-ups, full
 * transfers (AXFR) and incremental ones (IXFR, RFC 1995) from the journal.
 *
 * Contract with src/disrupt (the writer): an action row in state 'active'
 * is in the zone; every entry into and exit from 'active' writes one
 * rpz_change row (op 'add' or 'del') in the same transaction; an action's
 * type, target, kind and sinkhole never change.  The operator's exceptions
 * (the distinct type and value of the guard_entry rows) are in the zone
 * too: when a value enters or leaves that set, the same transaction writes
 * an rpz_change row with no action_id whose guard_type and guard_value
 * name it (schema 9).
 * The zone serial is serial_base + max(rpz_change.serial), so it grows
 * with every change and the RRs of a journal row are those of its entry.
 *
 * Records, as the RPZ format (draft-vixie-dnsop-dns-rpz) says, for the zone
 * Z (default rpz.bulwark.):
 *   domain D, block       D.Z CNAME .   and   *.D.Z CNAME .   (NXDOMAIN)
 *   domain D, sinkhole    D.Z A|AAAA addr and *.D.Z A|AAAA addr
 *   IPv4 a.b.c.d, CIDR /n 32.d.c.b.a.rpz-ip.Z / n.d.c.b.a.rpz-ip.Z
 *   IPv6 (and v6 CIDR)    128.<reversed 16-bit words, "zz" for the longest
 *                         run of zero words>.rpz-ip.Z
 *   exception (passthru)  the trigger(s) of its value with CNAME rpz-passthru.
 * with one SOA and one NS (localhost.) at the apex.  Several active actions
 * on the same trigger make one record set: any block wins over sinkholes
 * (CNAME cannot sit beside A); sinkholes add their distinct addresses; an
 * exception shows only where no active action names its trigger (as
 * `bulwark export --format rpz` writes it).  An
 * action whose target cannot be a trigger (another type, a name too long
 * for the zone, a domain under a special rpz-* label) or whose sinkhole is
 * not an address is left out and counted in bw_rpz_stats.skipped.
 *
 * Threads: a snapshot never changes after bw_rpz_load; any number of
 * threads may read it.  bw_rpz_ref/unref are atomic, so a server can hand
 * the current snapshot to its threads and free it with the last user.
 */
#ifndef BW_NET_RPZ_H
#define BW_NET_RPZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/dnswire.h"
#include "store/store.h"

#define BW_RPZ_DEFAULT_ZONE "rpz.bulwark."
#define BW_RPZ_DEFAULT_TTL 60
/* Journal rows kept in memory for IXFR; a client further behind gets AXFR. */
#define BW_RPZ_JOURNAL_MAX 100000
/* Records of one zone (policy records, not counting SOA and NS). */
#define BW_RPZ_RECORDS_DEFAULT_MAX 8000000

struct bw_rpz_conf {
	char zone[BW_DNS_NAME_TEXT_MAX]; /* text, e.g. "rpz.bulwark." */
	uint32_t serial_base;
	uint32_t ttl;                    /* of the policy records */
	uint32_t refresh, retry, expire, minimum; /* SOA timers */
	size_t max_records;
	size_t journal_max;
};

/* Defaults: rpz.bulwark., base 1, TTL 60, SOA 60/30/86400/30. */
void bw_rpz_conf_init(struct bw_rpz_conf *c);

struct bw_rpz;

struct bw_rpz_stats {
	size_t actions;   /* active actions read */
	size_t skipped;   /* of them, not expressible (see above) */
	size_t passthru;  /* operator exceptions in the zone (triggers) */
	size_t records;   /* policy records in the zone */
	size_t journal;   /* journal rows held for IXFR */
	int64_t change;   /* max(rpz_change.serial), 0 if none */
	size_t touched;   /* an update: owners overlaid on the last full
			   * snapshot (0: this snapshot is full) */
};

/* Builds a snapshot from the store in one read transaction.  BW_ELIMIT if
 * the zone would exceed c->max_records.  *out has one reference. */
int bw_rpz_load(struct bw_store *st, const struct bw_rpz_conf *c, struct bw_rpz **out,
		struct bw_err *err);

/* The zone of now from old (NULL: a full load) and the journal rows
 * written since old was made: old's actions with the net change of those
 * rows, without reading the other actions again: an overlay sharing the
 * last full snapshot, so the cost is that of what changed since that
 * snapshot, not of the zone (see rpz.c).  Builds a full snapshot from
 * memory when more than 20,000 rows changed since the last one; falls
 * back to a full load when the journal was cut or rewound, when more than
 * 50,000 rows are new, and every 1,024 updates.  old is not changed (it
 * may be freed before *out); *out has one reference.  The result is the
 * same zone bw_rpz_load would build. */
int bw_rpz_update(struct bw_store *st, const struct bw_rpz_conf *c, const struct bw_rpz *old,
		  struct bw_rpz **out, struct bw_err *err);

void bw_rpz_ref(struct bw_rpz *z);
/* Drops a reference; frees with the last one.  NULL is a no-op. */
void bw_rpz_unref(struct bw_rpz *z);

uint32_t bw_rpz_serial(const struct bw_rpz *z);
void bw_rpz_get_stats(const struct bw_rpz *z, struct bw_rpz_stats *s);
/* The apex in lower-case wire form. */
const uint8_t *bw_rpz_apex(const struct bw_rpz *z, size_t *len);

/* One record of the zone, pointing into the snapshot. */
struct bw_rpz_rr {
	const uint8_t *owner;
	size_t owner_len;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	size_t rdlen;
};

/* The apex SOA and NS. */
void bw_rpz_soa(const struct bw_rpz *z, struct bw_rpz_rr *rr);
void bw_rpz_ns(const struct bw_rpz *z, struct bw_rpz_rr *rr);

/* Records whose owner is name (wire form, any case): *first and *count
 * index them for bw_rpz_record; returns 0 when there are none (the apex's
 * SOA and NS are not among them). */
int bw_rpz_find(const struct bw_rpz *z, const uint8_t *name, size_t len, size_t *first,
		size_t *count);
void bw_rpz_record(const struct bw_rpz *z, size_t i, struct bw_rpz_rr *rr);

/* A zone transfer as the sequence of records of its answer.  For IXFR
 * from client_serial: the single SOA when the client is current; an
 * incremental answer (SOA new, SOA old, deletions, SOA new, additions,
 * SOA new: the net difference, RFC 1995 condensed form) when the journal
 * covers the client's serial; otherwise an AXFR-style answer.  emit
 * returns nonzero to stop (its value is returned). */
enum bw_rpz_xfr_kind { BW_RPZ_XFR_AXFR, BW_RPZ_XFR_IXFR, BW_RPZ_XFR_CURRENT };
typedef int (*bw_rpz_emit_fn)(void *ctx, const struct bw_rpz_rr *rr);
int bw_rpz_xfr(const struct bw_rpz *z, int ixfr, uint32_t client_serial, bw_rpz_emit_fn emit,
	       void *ctx, enum bw_rpz_xfr_kind *kind, struct bw_err *err);

/* The trigger owner of a target relative to the zone (without the zone:
 * "evil.example", "32.4.3.2.1.rpz-ip", "128.1.zz.db8.2001.rpz-ip") in
 * text, for tests and the zone-file export.  BW_EINVAL if not a trigger. */
int bw_rpz_trigger_text(int type, const char *target, char *buf, size_t n, struct bw_err *err);

#endif
