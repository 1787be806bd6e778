/*
 * store.h - the SQLite store, the only truth of bulwark.
 *
 * The store owns the schema (versioned, migrated on open), the connection
 * settings (WAL, busy timeout) and the provenance model: an indicator is one
 * canonical (type, value); every source that reports it has its own record
 * with confidence, TLP, recipients, times, tags and the source's external id.
 *
 * One struct bw_store is one SQLite connection; use one per thread.  Readers
 * in other processes never block a writer (WAL).  Other library modules may
 * run their own queries through bw_store_db(), but tables and migrations are
 * defined only here.
 */
#ifndef BW_STORE_STORE_H
#define BW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"

struct bw_store;
struct sqlite3;

/* The schema version this build writes. */
#define BW_STORE_SCHEMA_VERSION 9

enum bw_store_flags {
	BW_STORE_NOCREATE = 1 << 0, /* fail if the database does not exist */
};

/* Opens (creating the file and its directory unless BW_STORE_NOCREATE) and
 * migrates the store at path.  A store written by a newer schema is refused
 * with BW_EVERSION.  On success *out owns the connection. */
int bw_store_open(const char *path, unsigned flags, struct bw_store **out,
		  struct bw_err *err);
void bw_store_close(struct bw_store *st);

/* The connection, for library modules with their own queries.  Owned by st. */
struct sqlite3 *bw_store_db(struct bw_store *st);
struct sqlite3_stmt;

/* The error path of those modules: BW_ESTORE in err, "what: SQLite's last
 * message on st's connection". */
int bw_store_fail(struct bw_store *st, struct bw_err *err, const char *what);
/* SQLite's PRAGMA data_version of st's connection into *out: it changes
 * when another connection (or process) commits, which is how the daemon's
 * threads notice changes made elsewhere. */
int bw_store_data_version(struct bw_store *st, int64_t *out, struct bw_err *err);

/* Steps the bound statement s to its end and collects the first column of
 * every row into *ids (freed with bw_free; NULL when empty); what names
 * the query in an error.  s is reset, not finalised. */
int bw_store_read_ids(struct bw_store *st, struct sqlite3_stmt *s, int64_t **ids, size_t *n,
		      const char *what, struct bw_err *err);

/* Steps the bound statement s to its end and collects one element of size
 * bytes per row into *rows (an array freed with bw_free; NULL when empty),
 * each filled by fill(s, element) from the current row; more than max rows
 * is BW_ELIMIT.  what names the query in an error.  s is reset, not
 * finalised. */
typedef void (*bw_store_row_fn)(struct sqlite3_stmt *s, void *element);

/* Steps the bound statement s once: a row fills *element through fill and
 * gives BW_OK; no row gives BW_ENOTFOUND with err unset, for the caller to
 * say what was not found; a failure is BW_ESTORE naming what.  s is
 * reset, not finalised. */
int bw_store_read_row(struct bw_store *st, struct sqlite3_stmt *s, bw_store_row_fn fill,
		      void *element, const char *what, struct bw_err *err);
int bw_store_read_rows(struct bw_store *st, struct sqlite3_stmt *s, size_t size, size_t max,
		       bw_store_row_fn fill, void **rows, size_t *n, const char *what,
		       struct bw_err *err);

/* For fill functions: column col of s's current row as text into out (cap
 * bytes, NUL-terminated, cut at cap - 1; "" for NULL). */
void bw_store_copy_text(struct sqlite3_stmt *s, int col, char *out, size_t cap);

/* Prepares sql on st's connection into *s; on failure *s is NULL and err
 * says why (BW_ESTORE). */
int bw_store_prepare(struct bw_store *st, const char *sql, struct sqlite3_stmt **s,
		     struct bw_err *err);

/* Transactions.  begin takes the write lock at once (BEGIN IMMEDIATE) so a
 * batch never fails half-way on a busy database. */
int bw_store_begin(struct bw_store *st, struct bw_err *err);
int bw_store_commit(struct bw_store *st, struct bw_err *err);
/* Rolls back if a transaction is open; safe to call otherwise. */
void bw_store_rollback(struct bw_store *st);

/* A tag on a record: kind is "tag" (a plain label), "malware", "actor" or
 * "campaign"; name is free text as the source wrote it. */
struct bw_tag {
	const char *kind;
	const char *name;
};

/* Tag kinds the store accepts. */
#define BW_TAG_KIND_LABEL "tag"
#define BW_TAG_KIND_MALWARE "malware"
#define BW_TAG_KIND_ACTOR "actor"
#define BW_TAG_KIND_CAMPAIGN "campaign"
/* Written by bulwark itself: a name that imitates a tenant's protected brand
 * (name "CC:brand", src/intel/lookalike.h), and the MISP event or STIX report
 * a record came in (name: the event uuid or report id, src/intel/campaign.h). */
#define BW_TAG_KIND_LOOKALIKE "lookalike"
#define BW_TAG_KIND_EVENT "event"
#define BW_TAG_KIND_REPORT "report"
/* Returns 1 if kind is one of the above. */
int bw_tag_kind_valid(const char *kind);
/* Splits "kind:name" (known kind) or "name" (a plain label) into tag,
 * pointing into text; returns BW_EINVAL for an empty name. */
int bw_tag_parse(const char *text, char *kind_buf, size_t kind_cap,
		 struct bw_tag *tag, struct bw_err *err);

/* The text form bw_tag_parse reads back: the name alone for a plain label,
 * "kind:name" otherwise, into buf (truncated to n - 1 bytes).  Returns the
 * full length, as snprintf does. */
int bw_tag_format(const char *kind, const char *name, char *buf, size_t n);

/* Limits on what one record may carry. */
#define BW_RECORD_TAGS_MAX 64
#define BW_RECORD_RECIPIENTS_MAX 64
#define BW_TAG_NAME_MAX 256
#define BW_EXTERNAL_ID_MAX 256
#define BW_SOURCE_NAME_MAX 128

/* What a source says about one indicator.  Unstated fields: confidence -1,
 * tlp BW_TLP_UNSET, times 0, pointers NULL. */
struct bw_record_in {
	const struct bw_ioc *ioc;
	const char *registrable;  /* registrable domain of the host, or NULL */
	const char *source;       /* source name, required */
	const char *external_id;  /* the source's own id, or NULL */
	int confidence;           /* 0..100 or -1 */
	int tlp;                  /* enum bw_tlp */
	int revoked;              /* the source withdrew it */
	int64_t first_seen, last_seen, valid_from, valid_until;
	const struct bw_tag *tags;
	size_t ntags;
	const char *const *recipients; /* ISO 3166-1 alpha-2 codes */
	size_t nrecipients;
	/* for an address or prefix: the canonical domain the source says
	 * resolves to it (MISP domain|ip), kept in the resolution table as
	 * one pair per (address, domain, source), with the domain's
	 * registrable domain (may be NULL); NULL when none */
	const char *resolves;
	const char *resolves_registrable;
};

enum bw_upsert_result {
	BW_UPSERT_ADDED,     /* a new (indicator, source) record */
	BW_UPSERT_UPDATED,   /* an existing record changed */
	BW_UPSERT_UNCHANGED, /* the same data again: only last_seen moved */
};

/*
 * Adds or updates the record of r->source for r->ioc, inside the caller's
 * transaction.  Re-ingesting the same data is idempotent: only last_seen
 * moves (to r->last_seen, or now when the source gives no time).  Stated
 * fields replace the old ones; tags and recipients accumulate.  first_seen
 * only moves back.  A record whose valid_until is in the past is stored but
 * marked expired.
 */
int bw_store_upsert(struct bw_store *st, const struct bw_record_in *r,
		    int64_t now, enum bw_upsert_result *result,
		    struct bw_err *err);

/* Marks every record whose valid_until has passed as expired; *n (if not
 * NULL) gets how many were newly marked. */
int bw_store_mark_expired(struct bw_store *st, int64_t now, long *n,
			  struct bw_err *err);

/* Records one ingest run of one file in the ingest log. */
struct bw_ingest_log {
	const char *file, *format, *source;
	long records, added, updated, unchanged, rejected, unsupported;
};
int bw_store_log_ingest(struct bw_store *st, const struct bw_ingest_log *log,
			int64_t now, struct bw_err *err);

/* ---- sightings -------------------------------------------------------- */

/* Telemetry sightings are kept per (indicator, observer, hour): how many,
 * and the first and last time within that hour. */
#define BW_SIGHTING_OBSERVER_MAX 255

struct bw_sighting_in {
	int64_t indicator_id; /* indicator.id (bw_index_match.store_id) */
	const char *observer; /* the client as the log names it; NULL or "" if none */
	int64_t first, last;  /* seconds UTC, first <= last, within one hour */
	long count;           /* sightings, at least 1 */
};

/* The start of the hour of t (floor, also for times before 1970). */
static inline int64_t
bw_sighting_hour(int64_t t)
{
	return t - ((t % 3600) + 3600) % 3600;
}

/*
 * Adds count sightings to the row of (indicator, observer, hour of first),
 * inside the caller's transaction: count grows by s->count, first_seen
 * only moves back and last_seen only forward.  The indicator id is not
 * checked against the indicator table (the caller took it from an index
 * snapshot of this store).  BW_EINVAL for a count below 1, first after
 * last, first and last in different hours, or an observer over
 * BW_SIGHTING_OBSERVER_MAX bytes.
 * The sighting is also queued (table sighting_queue, schema 6) for the
 * incidents of `bulwark serve` (src/share/incident.h) when the indicator
 * has an active record at or above the lowest incident threshold.
 */
int bw_store_record_sighting(struct bw_store *st, const struct bw_sighting_in *s,
			     struct bw_err *err);

/* ---- reading ---------------------------------------------------------- */

/* One record as stored, for exports.  Strings point into the cursor and stay
 * valid until the next bw_store_cursor_next() or _free(). */
struct bw_record_out {
	int64_t indicator_id, record_id;
	enum bw_ioc_type type;
	const char *value;
	const char *source;
	const char *external_id; /* NULL if none */
	int confidence;          /* -1 if not stated */
	int tlp;
	int revoked, expired;
	int64_t first_seen, last_seen, valid_from, valid_until, added, updated;
	struct bw_tag tags[BW_RECORD_TAGS_MAX];
	size_t ntags;
	const char *recipients[BW_RECORD_RECIPIENTS_MAX];
	size_t nrecipients;
};

struct bw_record_filter {
	enum bw_ioc_type type; /* BW_IOC_ANY: all */
	int64_t since;         /* records changed (updated) at or after; 0: all */
	int include_expired;   /* also expired and revoked records */
	const char *source;    /* only this source's records; NULL: all */
};

/* The names of all sources, in name order, into a NULL-terminated array the
 * caller frees with bw_store_free_names(). */
int bw_store_source_names(struct bw_store *st, char ***names, size_t *n,
			  struct bw_err *err);
void bw_store_free_names(char **names);

struct bw_store_cursor;

/* Iterates records ordered by type, canonical value, then source name:
 * the same store gives the same order, whatever order it was filled in. */
int bw_store_cursor_open(struct bw_store *st, const struct bw_record_filter *f,
			 struct bw_store_cursor **out, struct bw_err *err);
/* Returns 1 and fills *rec, 0 at the end, or a negative value on error (with
 * err filled). */
int bw_store_cursor_next(struct bw_store_cursor *c,
			 const struct bw_record_out **rec, struct bw_err *err);
void bw_store_cursor_free(struct bw_store_cursor *c);

/* ---- statistics ------------------------------------------------------- */

struct bw_store_count {
	char name[BW_SOURCE_NAME_MAX + 1];
	long n;
};

struct bw_store_stats {
	long indicators, records, sources;
	long expired, revoked;
	long by_type[BW_IOC_NTYPES];   /* indicators per type */
	long by_tlp[5];                /* records per TLP level */
	struct bw_store_count *by_source; /* records per source, by name */
	size_t nsources;
};

int bw_store_stats(struct bw_store *st, struct bw_store_stats *out,
		   struct bw_err *err);
void bw_store_stats_free(struct bw_store_stats *s);

#endif
