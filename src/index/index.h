/*
 * index.h - the in-memory look-up index: an immutable snapshot of the active
 * indicators of the store, for matching telemetry at line rate.
 *
 * A snapshot (struct bw_index) answers, for a name, an address, a URL, an
 * e-mail address or a hash seen in a log, which listed indicators it
 * matches, with their type, canonical value, merged tags and confidence:
 *
 *   domain  suffix match on label boundaries: a listed "evil.example"
 *           matches "evil.example" and "a.b.evil.example", never
 *           "notevil.example"; every listed suffix is reported, the most
 *           specific first.  The query is lower-cased and one trailing dot
 *           dropped on a cheap ASCII path; a name with non-ASCII bytes goes
 *           through bw_ioc_domain_normalise() (IDNA).
 *   ipv4, ipv6, cidr
 *           longest-prefix match over addresses and CIDRs.  Every listed
 *           prefix covering the address is reported, the longest first
 *           (for a CERT the /32 and the /16 around it are both news; a
 *           caller that wants only the longest match takes the first).
 *   url     exact match of the canonical URL (the query is normalised with
 *           bw_ioc_parse()), and the URL's host is also looked up as a
 *           domain (suffix) or an address (prefix), reported after the URL.
 *   email, md5, sha1, sha256
 *           exact match of the canonical value.
 *
 * Active means: at least one record of the indicator is neither revoked nor
 * expired, where expired is the record's flag or a valid_until before the
 * build time.  Tags are the union over the active records (kind and name,
 * sorted by kind, then name; each distinct string stored once per
 * snapshot, each distinct set of tags once); confidence is the maximum over
 * the active records, -1 when none states one.  valid_from is not
 * consulted: a record announced for the future is matched already.
 *
 * Data structures (details at the top of index.c and in lpm.h):
 *   - indicators: a 12-byte record each (value offset and length, type,
 *     confidence, tag-set number), the store id (8 bytes), and one arena
 *     entry: the indicator number (4 bytes), the value, a NUL;
 *   - domains, and URLs/e-mail/hashes: two hash tables of 64-byte buckets
 *     of 10 slots (16-bit fingerprint, 32-bit arena offset), 60% full, with
 *     an overflow flag per bucket, so a miss reads one cache line (1.06 on
 *     average) and a hit one more, the arena entry, which also holds the
 *     indicator number.  A domain is hashed label by label from the right,
 *     so one pass over a query yields the hash of every suffix to probe;
 *   - addresses: one table of disjoint intervals per family, with a
 *     first-level table narrowing the binary search (src/index/lpm.h).
 *   The batched look-ups run a three-stage software pipeline over groups of
 *   8 names: hash a group and prefetch its buckets, read the buckets of the
 *   previous group and prefetch the entries their fingerprints name, verify
 *   the group before that; each memory read has a whole stage of work to
 *   arrive in, and about 20 reads are in flight.  The name tables and the
 *   arena are put on transparent huge pages (madvise) to spare page walks;
 *   the rest stays on ordinary pages, which the address look-ups run as
 *   fast on and which cost less to fault in (see advise_huge in index.c).
 *
 * Memory and speed, measured with bench/index/bench_index (see
 * bench/index/README.md; 2-core shared VM, AMD EPYC, gcc -O2; look-ups in
 * CPU time; names of 2-3 labels, hit queries one label deeper):
 *   10,000,000 domains: 35.7 bytes per domain beyond the strings
 *     themselves (12 record + 8 store id + 5 arena header and NUL + 10.7
 *     table slot); 514 MB for the snapshot, whose strings are 158 MB.
 *     Built in 2.6 s from memory, 12 s from a store (SQLite reading is
 *     most of it; measured before the store read became three table
 *     scans, see below).
 *     Look-ups: batched 58 ns per miss, 113 ns per hit (3.3 cache lines:
 *     this machine does about 50-65 million random reads/s per core);
 *     single 226 ns per miss, 741 ns per hit (dependent DRAM misses,
 *     including reading the match record).  With all data in cache a
 *     batched miss costs 45 ns of instructions (the name scan, hashing,
 *     probes).
 *   1,000,000 prefixes (70% IPv4 /8-/32, 30% IPv6 /16-/128): 44 bytes per
 *     prefix in the tables (plus a 2 MB bitmap of covered IPv4 /24s once
 *     there are 4096 IPv4 prefixes), built in 0.3 s; 87-103 ns per batched
 *     look-up reporting every covering prefix (about 3 each), 370-540 ns
 *     single with the match records.
 *   From a store (bench/match, 1,000,000 prefixes of a block list's shape,
 *     2-core shared VM under load): 0.5 s of CPU from opening the store to
 *     a snapshot, of which reading the store is 0.37 s (SQLite's own work
 *     0.2 s of it) and sorting and sweeping the prefixes 0.1 s.  The
 *     store is read as three sequential table scans (active records,
 *     their tags, indicators) joined here by merging on ids, not as one
 *     SQL join (three B-tree searches a row: 1.3 s for the same store);
 *     canonical addresses and CIDRs are recognised without the
 *     bw_ioc_parse() round trip (0.3 s of sprintf and inet_pton).
 *   Snapshot files (see "snapshot files" below; bench/match stores,
 *     2-core VM under heavy load, CPU time of a whole `bulwark match` of
 *     a one-line log): 1,000,000 prefixes: an 85 MB file, 0.05 s warm
 *     against 0.67 s building from the store; 10,000,000 domains: a
 *     542 MB file, 0.2-0.5 s warm against 5.8 s building (8.2 s with
 *     writing the file).
 *
 * Thread safety: building is single-threaded and the snapshot is immutable
 * once built, so any number of threads may look up in one snapshot at once
 * without locks.  To replace snapshots while readers run, use the holder in
 * src/index/holder.h.
 */
#ifndef BW_INDEX_INDEX_H
#define BW_INDEX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "store/store.h"

struct bw_index;
struct bw_index_builder;

/* Limits of one snapshot: indicators, bytes of values, merged tags per
 * indicator (extra tags are dropped and counted in the statistics). */
#define BW_INDEX_INDICATORS_MAX 0x7fffffffu
#define BW_INDEX_STRINGS_MAX 0xfffffff0u
#define BW_INDEX_TAGS_MAX 256

/* The most matches one query can have: a URL (1) whose host is an IPv6
 * address under 128 nested prefixes, or a name of 127 labels.  An output
 * array of this size never truncates. */
#define BW_INDEX_MATCH_MAX 130

/* One listed indicator a query matched.  Pointers point into the snapshot
 * and are valid as long as it is. */
struct bw_index_match {
	uint32_t id;             /* indicator number in this snapshot */
	enum bw_ioc_type type;   /* as listed: a CIDR is BW_IOC_CIDR */
	const char *value;       /* canonical value as listed, NUL-terminated */
	size_t len;
	int confidence;          /* 0-100, or -1 if no active record states one */
	const struct bw_tag *tags; /* merged tags, by kind then name */
	size_t ntags;
	int64_t store_id;        /* indicator.id in the store (0 if built
				    without a store) */
};

struct bw_index_stats {
	int64_t built;            /* the "now" of the build */
	size_t indicators;        /* distinct indicators in the snapshot */
	size_t by_type[BW_IOC_NTYPES];
	size_t records;           /* active records read from the store */
	size_t skipped;           /* values that were not canonical, left out */
	size_t merged;            /* duplicate values merged by the builder */
	size_t tags, tagsets;     /* distinct tags and tag sets */
	size_t tags_dropped;      /* beyond BW_INDEX_TAGS_MAX on one indicator */
	size_t string_bytes;      /* the values themselves, without NULs */
	size_t record_bytes;      /* indicator records, store ids, NULs */
	size_t domain_bytes;      /* the domain hash table */
	size_t exact_bytes;       /* the URL/e-mail/hash table */
	size_t ipv4_bytes, ipv6_bytes; /* the prefix tables */
	size_t tag_bytes;         /* tag strings and tag sets */
	size_t bytes;             /* all of it */
	unsigned store_readers;   /* connections that read the store for this
				     build: 2 when a second thread read the
				     indicator table and the last records,
				     0 for a snapshot not built from a store
				     here */
	unsigned join_threads;    /* threads that joined records with their
				     indicators: 2 when the second thread
				     joined half of them */
};

/* ---- building ---------------------------------------------------------- */

/*
 * Builds a snapshot of the indicators active at time now from the store,
 * inside one read transaction (a savepoint, so it also works inside the
 * caller's transaction), so it sees one consistent state of the store even
 * while other connections write.  Values that are not canonical (which
 * bw_store_upsert never writes) are skipped and counted.  On success *out
 * owns the snapshot.
 */
int bw_index_build(struct bw_store *st, int64_t now, struct bw_index **out,
		   struct bw_err *err);

/* One indicator for the builder.  value must be canonical (as bw_ioc_parse
 * writes it); tags are copied. */
struct bw_index_entry {
	enum bw_ioc_type type;
	const char *value;
	size_t len;
	int64_t store_id;
	int confidence;           /* -1..100 */
	const struct bw_tag *tags;
	size_t ntags;
};

/* The builder under bw_index_build(), for tests, benchmarks and other
 * sources: add indicators in any order (the same type and value twice are
 * merged: highest confidence, union of tags), then finish.  add returns
 * BW_EINVAL for a value that is not canonical for its type and BW_ELIMIT
 * beyond the limits above, and leaves the builder usable.  finish hands
 * the snapshot to *out and leaves the builder empty; free it afterwards
 * (after a failed finish, freeing is all a builder is good for). */
int bw_index_builder_new(int64_t now, struct bw_index_builder **out,
			 struct bw_err *err);
int bw_index_builder_add(struct bw_index_builder *b,
			 const struct bw_index_entry *e, struct bw_err *err);
int bw_index_builder_finish(struct bw_index_builder *b, struct bw_index **out,
			    struct bw_err *err);
void bw_index_builder_free(struct bw_index_builder *b);

/* Frees a snapshot that no holder owns (and its attachment).  NULL is a
 * no-op. */
void bw_index_free(struct bw_index *ix);

/* Data built alongside a snapshot (e.g. the API's per-indicator access
 * rights, src/net/view.h): attached before the snapshot is published, it is
 * owned by the snapshot from then on and freed with it by free_fn, so it is
 * replaced and reclaimed atomically with the snapshot through the holder.
 * At most one; attaching again replaces (and frees) the previous one. */
void bw_index_attach(struct bw_index *ix, void *data, void (*free_fn)(void *));
/* The attached data, or NULL. */
void *bw_index_attachment(const struct bw_index *ix);

void bw_index_stats(const struct bw_index *ix, struct bw_index_stats *out);

/* ---- snapshot files ----------------------------------------------------
 * A snapshot built from a store can be saved to a file and loaded by a
 * later process with a few large reads (src/index/image.h) and no work per
 * indicator beyond a sequential check of the records and tables: loading
 * a million-prefix snapshot takes tens of milliseconds where building it
 * from the store takes half a second.  The file records the store's
 * identity and the generation of its active indicator set (schema 8:
 * triggers bump it on every change that can alter the set, its tags or
 * confidences) and the earliest valid_until among the records it holds,
 * so bw_index_fresh() can tell whether it still says what a build now
 * would.  Each indicator also keeps the last valid_until of its records
 * (bw_index_lapsed), so a reader that skips lapsed indicators itself can
 * go on using a snapshot after records expire, up to the first expiry
 * that changes an indicator still listed (its tags or confidence): with
 * feeds that set valid_until (STIX) some record expires every few seconds
 * in a large store, and the file would otherwise be stale at nearly every
 * run.  A file is never trusted: header, section bounds, checksum and
 * every offset and number a look-up follows are checked on loading, and
 * the two values a check on loading would need random reads for (a hash
 * slot's indicator number and the length of its value) are bounded at
 * look-up time instead, at one compare each. */

/* Writes ix (built by bw_index_build() or loaded) to path atomically:
 * a temporary file beside it, renamed over it.  BW_EINVAL for a snapshot
 * built without a store (it could never be checked for freshness). */
int bw_index_save(const struct bw_index *ix, const char *path,
		  struct bw_err *err);

/* Loads a snapshot file.  BW_ENOTFOUND if there is none, BW_EVERSION if it
 * was written by another format version, layout or byte order, BW_EFORMAT
 * if it is damaged, BW_EIO, BW_ENOMEM.  Says nothing about freshness. */
int bw_index_load(const char *path, struct bw_index **out, struct bw_err *err);

/* As bw_index_load, but the file is mapped instead of copied when that is
 * safe (bw_image_map: owned by this user, writable by no one else): for a
 * short-lived reader such as `bulwark match`, to which the file's pages
 * in the page cache cost nothing, where reading 80 MB into fresh memory
 * cost 30-200 ms.  *mapped says which it was. */
int bw_index_map(const char *path, struct bw_index **out, bool *mapped,
		 struct bw_err *err);

/* The loader on memory: the image of len bytes at p (64-byte aligned)
 * inside the block raw, which the snapshot takes over (and which is freed
 * on failure); for the loader and its fuzz target. */
int bw_index_from_image(void *raw, const void *p, size_t len,
			struct bw_index **out, struct bw_err *err);

/* Whether ix says what bw_index_build(st, now) would: *why is NULL if so,
 * else the reason it does not (another store, the store changed, an
 * indicator in it expired).  With skips_lapsed, for a reader that skips
 * the indicators that have lapsed by now (bw_index_lapsed()): their
 * lapsing does not make ix stale, only the expiry of a record whose
 * indicator is still listed.  Only a store error is an error. */
int bw_index_fresh(const struct bw_index *ix, struct bw_store *st, int64_t now,
		   bool skips_lapsed, const char **why, struct bw_err *err);

/* Whether all the records of indicator id (from a look-up) had expired by
 * now: a snapshot holds the indicators active when it was built, and one
 * used later (a file loaded, bw_index_fresh() with skips_lapsed) may hold
 * some that are no longer.  Never true at the time it was built. */
bool bw_index_lapsed(const struct bw_index *ix, uint32_t id, int64_t now);
/* Whether any of its indicators can lapse (a record of it has an end):
 * when not, a reader need not ask bw_index_lapsed() of each match. */
bool bw_index_lapses(const struct bw_index *ix);
/* How many of its indicators have lapsed by now. */
size_t bw_index_lapsed_count(const struct bw_index *ix, int64_t now);

/* What a snapshot built from a store (or loaded) records of that store:
 * the values bw_index_fresh() compares.  Equal sources mean equal
 * snapshots, so a writer can skip saving one a file already holds.  gen
 * is 0 for a snapshot built without a store (bw_index_save refuses it). */
struct bw_index_source {
	uint64_t ident;
	int64_t gen, maxrec;
	int64_t expires;   /* the earliest valid_until of its records */
	int64_t changes;   /* the earliest of those whose indicator outlives
			      them (INT64_MAX: none) */
};

void bw_index_source(const struct bw_index *ix, struct bw_index_source *out);

/* The source recorded in the snapshot file at path, from its header and
 * first section only (bw_image_peek: the checksum is not checked, so this
 * says what the file claims, for a writer deciding whether to write it
 * again; a reader still loads it with bw_index_load).  BW_ENOTFOUND if
 * there is none, BW_EVERSION for another format or layout, BW_EFORMAT,
 * BW_EIO. */
int bw_index_file_source(const char *path, struct bw_index_source *out,
			 struct bw_err *err);

struct bw_index_saver;

/* How bw_index_open() got its snapshot. */
struct bw_index_origin {
	bool loaded;          /* from the file, fresh */
	bool mapped;          /* loaded, and the file mapped (BW_INDEX_MAP) */
	bool saved;           /* built, and written to the file */
	char why[256];        /* why the file was not used ("" if it was or
				 there was no file to use) */
	char save_error[256]; /* why it was built but not written ("" if it
				 was) */
	struct bw_index_saver *saving; /* BW_INDEX_SAVE_BEHIND: being written
					  until bw_index_open_done() */
};

/* bw_index_open's flags. */
enum {
	/* the caller skips the indicators that have lapsed by now (see
	 * bw_index_fresh(), skips_lapsed) */
	BW_INDEX_SKIPS_LAPSED = 1,
	/* an index built from the store is written by a thread of its own
	 * while the caller uses it (matching a large log is CPU-bound on
	 * every core, but not without gaps, and a snapshot of a million
	 * prefixes is 80 MB to write); bw_index_open_done() waits for it */
	BW_INDEX_SAVE_BEHIND = 2,
	/* a snapshot file is mapped, not read (bw_index_map): for a
	 * short-lived caller */
	BW_INDEX_MAP = 4,
};

/* The snapshot of the indicators active at now: the file at path if it is
 * there and fresh (bw_index_fresh()), else built from the store and then
 * written to path (failing to write is not an error: see how->save_error;
 * with BW_INDEX_SAVE_BEHIND, once bw_index_open_done() has returned).
 * path NULL: always build, never write.  flags: BW_INDEX_*. */
int bw_index_open(struct bw_store *st, const char *path, int64_t now, unsigned flags,
		  struct bw_index **out, struct bw_index_origin *how, struct bw_err *err);

/* Waits until the snapshot being written behind (if any) is written, and
 * sets how->saved or how->save_error.  Call it before freeing the index;
 * harmless when nothing is being written. */
void bw_index_open_done(struct bw_index_origin *how);

/* For a writer that has just changed the store (bulwark ingest): brings
 * the snapshot file at path up to date, so that the next reader loads it
 * instead of building the index itself.  Only a file that is there is
 * kept (none: nothing is done; someone who never matches on this store
 * pays nothing), and only when it is stale or unreadable for a reader
 * that skips lapsed indicators (as `bulwark match` does): then the index
 * is built and saved, how->why saying why and how->saved whether the save
 * worked (else how->save_error).  A store error is an error; a failed
 * save is not. */
int bw_index_refresh(struct bw_store *st, const char *path, int64_t now,
		     struct bw_index_origin *how, struct bw_err *err);

/* ---- looking up --------------------------------------------------------
 * All look-ups are thread-safe on a shared snapshot and never allocate.
 * The single look-ups write at most cap matches to out and return how many
 * there are (which may exceed cap; a cap of BW_INDEX_MATCH_MAX never
 * truncates).  A query that is not of the form looked for (an invalid name,
 * a bad address) simply matches nothing. */

/* The listed domains that name (len bytes, no NUL needed; as seen in a log:
 * any case, one trailing dot allowed, Unicode allowed) equals or is a
 * subdomain of, the most specific first. */
size_t bw_index_lookup_domain(const struct bw_index *ix, const char *name,
			      size_t len, struct bw_index_match *out,
			      size_t cap);

/* An address as a look-up key: family 4 (address in addr[0..3]) or 6,
 * network byte order. */
struct bw_index_addr {
	uint8_t family;
	uint8_t addr[16];
};

/* Parses a textual IPv4 (dotted quad) or IPv6 address, optionally in
 * brackets; returns 1 and fills a, or 0 if text is not an address. */
int bw_index_parse_addr(const char *text, size_t len, struct bw_index_addr *a);
/* The portable dotted-quad parser, which bw_index_parse_addr uses where
 * the CPU lacks SSSE3 (it picks the vector one at run time): exported so
 * that the tests check both, whatever CPU they run on.  4 bytes into out;
 * false for anything bw_ioc_parse_ipv4 refuses. */
bool bw_index_parse_quad_portable(const char *s, size_t len, uint8_t out[4]);

/* The listed addresses and CIDRs covering a, the longest first. */
size_t bw_index_lookup_addr(const struct bw_index *ix,
			    const struct bw_index_addr *a,
			    struct bw_index_match *out, size_t cap);
/* The same for a textual address. */
size_t bw_index_lookup_ip(const struct bw_index *ix, const char *text,
			  size_t len, struct bw_index_match *out, size_t cap);

/* A URL as seen (normalised with bw_ioc_parse): the listed URL equal to it,
 * then what its host matches as a domain or an address. */
size_t bw_index_lookup_url(const struct bw_index *ix, const char *url,
			   size_t len, struct bw_index_match *out, size_t cap);

/* Exact look-up of an e-mail address, a hash or a URL (without the host
 * look-up), normalised for type first (hashes by lower-casing; type
 * BW_IOC_ANY detects the hash type from the length). */
size_t bw_index_lookup_exact(const struct bw_index *ix, enum bw_ioc_type type,
			     const char *value, size_t len,
			     struct bw_index_match *out, size_t cap);

/*
 * Any indicator text (what an analyst pastes): parsed with bw_ioc_parse()
 * and looked up by its type; a CIDR is answered with the listed prefixes
 * that cover all of it.  Returns BW_EINVAL with the reason when text is not
 * an indicator at all; otherwise BW_OK with *n set as above.
 */
int bw_index_lookup(const struct bw_index *ix, const char *text, size_t len,
		    struct bw_index_match *out, size_t cap, size_t *n,
		    struct bw_err *err);

/* The match record of indicator number id (from a batched look-up); id
 * must be below the number of indicators. */
void bw_index_get(const struct bw_index *ix, uint32_t id,
		  struct bw_index_match *m);
/* A hint only: starts reading the memory bw_index_get() will read for
 * id, so that a caller reporting many matches can overlap those reads
 * (prefetch a few ahead, then get the value with bw_index_get() and
 * prefetch m->value before formatting it). */
void bw_index_prefetch(const struct bw_index *ix, uint32_t id);

/* ---- batched look-ups --------------------------------------------------
 * For the matcher: nq queries at once, answered as indicator numbers
 * (resolve them with bw_index_get()).  The queries' matches go to hits in
 * query order, query i's at hits[q[i].first .. q[i].first + q[i].n), each
 * query's in the order of the single look-up.  Returns how many queries
 * (from the start of q) were answered: all of them, unless hits ran out
 * of room, in which case call again with the rest.  With hits_cap at least
 * BW_INDEX_MATCH_MAX, every call answers at least one query.  Give them
 * a few dozen queries at a time or more: the name look-up overlaps the
 * memory reads of 8-name groups in a three-stage pipeline (about 20 KB of
 * stack). */

struct bw_index_name {
	const char *name;  /* in: as for bw_index_lookup_domain() */
	size_t len;        /* in */
	uint32_t first, n; /* out */
};

size_t bw_index_lookup_domains(const struct bw_index *ix,
			       struct bw_index_name *q, size_t nq,
			       uint32_t *hits, size_t hits_cap);

struct bw_index_addr_query {
	struct bw_index_addr a; /* in */
	uint32_t first, n;      /* out */
};

size_t bw_index_lookup_addrs(const struct bw_index *ix,
			     struct bw_index_addr_query *q, size_t nq,
			     uint32_t *hits, size_t hits_cap);

#endif
