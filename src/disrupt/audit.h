/*
 * audit.h - the tamper-evident audit log: every change of state, chained by
 * SHA-256, and a head that can be signed with Ed25519.
 *
 * Each entry is (id, time, operator, kind, subject, detail) plus the hash of
 * the entry before it (prev_hash; 32 zero bytes for the first entry) and its
 * own hash:
 *
 *   hash = SHA-256(prev_hash || be64(time) || lp(operator) || lp(kind)
 *                  || lp(subject) || lp(detail))
 *
 * where lp(s) is the 4-byte big-endian length of s followed by its bytes,
 * so no two different entries share an encoding.  ids count up from 1
 * without gaps (the store never deletes audit rows), so a missing id is a
 * removed entry; a hash that does not match its content is an edited entry;
 * a prev_hash that names a later entry is a reordering; a prev_hash that
 * names no entry at all means the entry before was edited and its hash
 * recomputed to hide it.  Truncating the tail leaves a valid shorter chain:
 * that is what the signed head is for (a signature over the id and hash of
 * the last entry, kept by a third party).
 *
 * kinds in use: ingest.batch, tenant.add, tenant.key.add, tenant.key.revoke,
 * authz.add, authz.revoke, action.<state> (one per transition), notice.queued,
 * contacts.load, guard.add, guard.remove.  subject names the object
 * ("action:12", "authz:3", "tenant:EE", "file:feed.csv"); detail is a JSON
 * object.
 *
 * bw_audit_append must run inside the caller's write transaction (the one
 * that makes the change), so that the change and its entry commit together
 * or not at all.  Functions are as thread-safe as the store connection.
 */
#ifndef BW_DISRUPT_AUDIT_H
#define BW_DISRUPT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define BW_AUDIT_HASH_LEN 32
#define BW_AUDIT_OPERATOR_MAX 128
#define BW_AUDIT_KIND_MAX 64
#define BW_AUDIT_SUBJECT_MAX 1024
#define BW_AUDIT_DETAIL_MAX (64 * 1024)

/* The operator the library records when a change has no human behind it
 * (ingest runs, tenant commands that take no --operator). */
#define BW_AUDIT_SYSTEM "system"

/* Checks an operator name: 1..BW_AUDIT_OPERATOR_MAX bytes of printable
 * ASCII or UTF-8, no control characters.  what names the place for the
 * message ("--operator"). */
int bw_audit_check_operator(const char *op, const char *what,
			    struct bw_err *err);

/* Appends one entry inside the open transaction of st (BW_EINVAL when no
 * transaction is open, or a field is empty, too long or holds a NUL).
 * detail may be NULL ("{}").  *id (if not NULL) gets the entry's id. */
int bw_audit_append(struct bw_store *st, int64_t now, const char *op,
		    const char *kind, const char *subject, const char *detail,
		    int64_t *id, struct bw_err *err);

enum bw_audit_fault {
	BW_AUDIT_INTACT = 0,
	BW_AUDIT_EDITED,     /* bad_id's content or hash was changed */
	BW_AUDIT_REMOVED,    /* bad_id is missing */
	BW_AUDIT_REORDERED,  /* bad_id is not where the chain puts it */
	BW_AUDIT_SIGNATURE,  /* the signed head does not match the log */
};

struct bw_audit_report {
	long entries;                           /* rows read */
	int64_t head_id;                        /* last id, 0 when empty */
	unsigned char head_hash[BW_AUDIT_HASH_LEN];
	enum bw_audit_fault fault;
	int64_t bad_id;                         /* the first entry at fault */
	char what[256];                         /* one line for people */
};

/* "intact", "edited", "removed", "reordered", "signature". */
const char *bw_audit_fault_name(enum bw_audit_fault f);

/* Walks the whole chain and fills out; returns BW_OK whether or not the
 * chain is intact (see out->fault), an error code only if the store could
 * not be read. */
int bw_audit_verify(struct bw_store *st, struct bw_audit_report *out,
		    struct bw_err *err);

/* One entry as stored; strings owned by the caller's buffer in
 * bw_audit_list's callback (valid during the call only). */
struct bw_audit_entry {
	int64_t id, time;
	const char *op, *kind, *subject, *detail;
	unsigned char prev_hash[BW_AUDIT_HASH_LEN], hash[BW_AUDIT_HASH_LEN];
};

typedef int (*bw_audit_entry_fn)(void *ctx, const struct bw_audit_entry *e);

/* Calls fn for the entries with id > after (at most limit, 0: all), in id
 * order, optionally only those whose subject equals subject; stops early
 * when fn returns non-zero (and returns that). */
int bw_audit_list(struct bw_store *st, int64_t after, long limit,
		  const char *subject, bw_audit_entry_fn fn, void *ctx,
		  struct bw_err *err);

/* ---- signed head -------------------------------------------------------- */

#define BW_AUDIT_PK_LEN 32
#define BW_AUDIT_SK_LEN 64
#define BW_AUDIT_SIG_LEN 64

struct bw_audit_signature {
	int64_t id;                               /* the signed entry */
	unsigned char hash[BW_AUDIT_HASH_LEN];    /* its hash */
	int64_t signed_at;
	unsigned char pk[BW_AUDIT_PK_LEN];
	unsigned char sig[BW_AUDIT_SIG_LEN];
};

/* A new Ed25519 key pair (libsodium). */
int bw_audit_keygen(unsigned char pk[BW_AUDIT_PK_LEN],
		    unsigned char sk[BW_AUDIT_SK_LEN], struct bw_err *err);

/* Key files: one line of hex, the 32-byte seed ("ed25519-seed HEX").  save
 * creates the file with mode 0600 and refuses to overwrite one. */
int bw_audit_key_save(const char *path, const unsigned char sk[BW_AUDIT_SK_LEN],
		      struct bw_err *err);
int bw_audit_key_load(const char *path, unsigned char pk[BW_AUDIT_PK_LEN],
		      unsigned char sk[BW_AUDIT_SK_LEN], struct bw_err *err);

/* Signs the current head of the chain (BW_ENOTFOUND on an empty log). The
 * signed message is "bulwark-audit-head-v1\nID\nHASHHEX\nSIGNED_AT\n". */
int bw_audit_sign_head(struct bw_store *st, const unsigned char sk[BW_AUDIT_SK_LEN],
		       int64_t now, struct bw_audit_signature *out,
		       struct bw_err *err);

/* The JSON text of a signature ({"entry", "hash", "signed", "public_key",
 * "signature"}), allocated with bw_malloc; and back (BW_EFORMAT). */
int bw_audit_signature_to_json(const struct bw_audit_signature *s, char **out,
			       struct bw_err *err);
int bw_audit_signature_from_json(const char *text, size_t len,
				 struct bw_audit_signature *s,
				 struct bw_err *err);

/* Checks s: a valid Ed25519 signature by pk (when pk is not NULL, s->pk
 * must equal it: the key the verifier trusts) over s's message, and entry
 * s->id of the log has hash s->hash.  Fills r with BW_AUDIT_SIGNATURE and
 * the reason when not; BW_OK either way unless the store failed. */
int bw_audit_check_signature(struct bw_store *st,
			     const struct bw_audit_signature *s,
			     const unsigned char *pk,
			     struct bw_audit_report *r, struct bw_err *err);

/* Lower-case hex of n bytes into out (2n + 1 bytes); returns out. */
char *bw_audit_hex(const unsigned char *in, size_t n, char *out);
/* Parses exactly 2n hex digits into out; 0 on success. */
int bw_audit_unhex(const char *s, size_t slen, unsigned char *out, size_t n);

#endif
