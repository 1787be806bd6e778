/*
 * audit.c - the SHA-256 chain of audit entries and its Ed25519-signed head.
 *
 * Design (see audit.h for the hash): appending reads the last row's hash
 * and inserts the next row inside the caller's write transaction, which
 * already holds SQLite's write lock, so two writers can never chain onto
 * the same predecessor.  Verification reads the table twice: once to map
 * every stored hash to its id (so that a broken link can be told apart as
 * a reordering or a hidden edit), then in id order checking each link.
 * Memory is one map entry per row (a few tens of bytes).
 */
#include "disrupt/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <nettle/sha2.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/mem.h"
#include "core/strmap.h"

#define HEAD_MSG_MAX 256
/* A log with more rows than this is refused by verify (a map entry per row). */
#define AUDIT_VERIFY_MAX 50000000

char *
bw_audit_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

int
bw_audit_unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	if (slen != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = bw_hex_digit(s[2 * i]), lo = bw_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
bw_audit_check_operator(const char *op, const char *what, struct bw_err *err)
{
	size_t n = op ? strlen(op) : 0;

	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "%s: an operator name is required", what);
	if (n > BW_AUDIT_OPERATOR_MAX)
		return bw_err_set(err, BW_EINVAL, "%s: longer than %d bytes", what,
				  BW_AUDIT_OPERATOR_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)op[i] < 0x20 || op[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL, "%s: control character", what);
	return BW_OK;
}

static void
put_lp(struct sha256_ctx *c, const char *s)
{
	size_t n = strlen(s);
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
			  (uint8_t)n};

	sha256_update(c, 4, len);
	sha256_update(c, n, (const uint8_t *)s);
}

static void
entry_hash(const unsigned char prev[BW_AUDIT_HASH_LEN], int64_t time,
	   const char *op, const char *kind, const char *subject,
	   const char *detail, unsigned char out[BW_AUDIT_HASH_LEN])
{
	struct sha256_ctx c;
	uint64_t t = (uint64_t)time;
	uint8_t tb[8];

	for (int i = 0; i < 8; i++)
		tb[i] = (uint8_t)(t >> (56 - 8 * i));
	sha256_init(&c);
	sha256_update(&c, BW_AUDIT_HASH_LEN, prev);
	sha256_update(&c, 8, tb);
	put_lp(&c, op);
	put_lp(&c, kind);
	put_lp(&c, subject);
	put_lp(&c, detail);
	sha256_digest(&c, BW_AUDIT_HASH_LEN, out);
}

static int
check_field(const char *s, size_t max, const char *what, struct bw_err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "audit: empty %s", what);
	if (n > max)
		return bw_err_set(err, BW_EINVAL, "audit: %s longer than %zu bytes", what, max);
	return BW_OK;
}

int
bw_audit_append(struct bw_store *st, int64_t now, const char *op,
		const char *kind, const char *subject, const char *detail,
		int64_t *id, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	unsigned char prev[BW_AUDIT_HASH_LEN] = {0}, hash[BW_AUDIT_HASH_LEN];
	int64_t last = 0;
	int rc;

	if (detail == NULL)
		detail = "{}";
	if (sqlite3_get_autocommit(db))
		return bw_err_set(err, BW_EINVAL, "audit: append outside a transaction");
	if ((rc = check_field(op, BW_AUDIT_OPERATOR_MAX, "operator", err)) ||
	    (rc = check_field(kind, BW_AUDIT_KIND_MAX, "kind", err)) ||
	    (rc = check_field(subject, BW_AUDIT_SUBJECT_MAX, "subject", err)) ||
	    (rc = check_field(detail, BW_AUDIT_DETAIL_MAX, "detail", err)))
		return rc;
	if (sqlite3_prepare_v3(db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the audit head");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		last = sqlite3_column_int64(s, 0);
		if (sqlite3_column_bytes(s, 1) == BW_AUDIT_HASH_LEN)
			memcpy(prev, sqlite3_column_blob(s, 1), BW_AUDIT_HASH_LEN);
	} else if (rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return bw_store_fail(st, err, "reading the audit head");
	}
	sqlite3_finalize(s);
	s = NULL;
	entry_hash(prev, now, op, kind, subject, detail, hash);
	if (sqlite3_prepare_v3(db, "INSERT INTO audit(id, time, operator, kind, subject,"
			       " detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			       -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "appending to the audit log");
	sqlite3_bind_int64(s, 1, last + 1);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 7, prev, BW_AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, hash, BW_AUDIT_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return bw_store_fail(st, err, "appending to the audit log");
	if (id)
		*id = last + 1;
	return BW_OK;
}

const char *
bw_audit_fault_name(enum bw_audit_fault f)
{
	switch (f) {
	case BW_AUDIT_INTACT: return "intact";
	case BW_AUDIT_EDITED: return "edited";
	case BW_AUDIT_REMOVED: return "removed";
	case BW_AUDIT_REORDERED: return "reordered";
	case BW_AUDIT_SIGNATURE: return "signature";
	}
	return "unknown";
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? t : "";
}

static void __attribute__((format(printf, 4, 5)))
fault(struct bw_audit_report *r, enum bw_audit_fault f, int64_t id,
      const char *fmt, ...)
{
	va_list ap;

	if (r->fault != BW_AUDIT_INTACT)
		return;
	r->fault = f;
	r->bad_id = id;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
}

int
bw_audit_verify(struct bw_store *st, struct bw_audit_report *out,
		struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	struct bw_strmap *byhash = NULL;
	unsigned char expect[BW_AUDIT_HASH_LEN] = {0}, h[BW_AUDIT_HASH_LEN];
	int64_t prev_id = 0, count = 0;
	int rc, step;

	memset(out, 0, sizeof(*out));
	/* One read transaction, so that both passes see the same rows. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "verifying the audit log");
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "verifying the audit log");
		goto out;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		count = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (count > AUDIT_VERIFY_MAX) {
		rc = bw_err_set(err, BW_ELIMIT, "audit log of %lld entries: more than %d",
				(long long)count, AUDIT_VERIFY_MAX);
		goto out;
	}
	rc = bw_strmap_new(count > 0 ? (size_t)count : 1, &byhash, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT id, hash FROM audit ORDER BY id", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "verifying the audit log");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const void *hb = sqlite3_column_blob(s, 1);
		int hn = sqlite3_column_bytes(s, 1);
		/* the first row holding a hash wins; a copy is caught below */
		if (hb != NULL && hn > 0 &&
		    !bw_strmap_find(byhash, hb, (size_t)hn, NULL)) {
			rc = bw_strmap_put(byhash, hb, (size_t)hn, (void *)(intptr_t)id, err);
			if (rc)
				goto out;
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "verifying the audit log");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT id, time, operator, kind, subject, detail,"
			       " prev_hash, hash FROM audit ORDER BY id", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "verifying the audit log");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const void *pb = sqlite3_column_blob(s, 6);
		const void *hb = sqlite3_column_blob(s, 7);
		int pn = sqlite3_column_bytes(s, 6), hn = sqlite3_column_bytes(s, 7);
		unsigned char prev[BW_AUDIT_HASH_LEN] = {0};

		out->entries++;
		if (id != prev_id + 1)
			fault(out, BW_AUDIT_REMOVED, prev_id + 1,
			      "entry %lld is missing (removed); the next entry is %lld",
			      (long long)(prev_id + 1), (long long)id);
		if (pn == BW_AUDIT_HASH_LEN)
			memcpy(prev, pb, BW_AUDIT_HASH_LEN);
		entry_hash(prev, sqlite3_column_int64(s, 1), col_text(s, 2),
			   col_text(s, 3), col_text(s, 4), col_text(s, 5), h);
		if (pn != BW_AUDIT_HASH_LEN || hn != BW_AUDIT_HASH_LEN ||
		    memcmp(h, hb, BW_AUDIT_HASH_LEN) != 0)
			fault(out, BW_AUDIT_EDITED, id,
			      "entry %lld was edited: its hash does not match its content",
			      (long long)id);
		if (memcmp(prev, expect, BW_AUDIT_HASH_LEN) != 0) {
			void *v = NULL;
			if (bw_strmap_find(byhash, (const char *)prev, BW_AUDIT_HASH_LEN, &v)) {
				int64_t j = (int64_t)(intptr_t)v;
				fault(out, BW_AUDIT_REORDERED, id,
				      "entry %lld is out of order: the chain puts it after entry %lld",
				      (long long)id, (long long)j);
			} else if (prev_id > 0) {
				fault(out, BW_AUDIT_EDITED, prev_id,
				      "entry %lld was edited and its hash recomputed: entry %lld names another predecessor",
				      (long long)prev_id, (long long)id);
			} else {
				fault(out, BW_AUDIT_REMOVED, 1,
				      "the log does not start at its first entry: entries before %lld were removed",
				      (long long)id);
			}
		}
		if (hn == BW_AUDIT_HASH_LEN)
			memcpy(expect, hb, BW_AUDIT_HASH_LEN);
		out->head_id = id;
		memcpy(out->head_hash, expect, BW_AUDIT_HASH_LEN);
		prev_id = id;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "verifying the audit log");
		goto out;
	}
	if (out->fault == BW_AUDIT_INTACT)
		snprintf(out->what, sizeof(out->what), "%ld entries, chain intact",
			 out->entries);
	rc = BW_OK;
out:
	sqlite3_finalize(s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	bw_strmap_free(byhash);
	return rc;
}

int
bw_audit_list(struct bw_store *st, int64_t after, long limit,
	      const char *subject, bw_audit_entry_fn fn, void *ctx,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = BW_OK, step;

	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT id, time, operator, kind, subject, detail, prev_hash,"
			       " hash FROM audit WHERE id > ?1 AND (?2 IS NULL OR subject = ?2)"
			       " ORDER BY id LIMIT ?3", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the audit log");
	sqlite3_bind_int64(s, 1, after);
	if (subject)
		sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_audit_entry e;
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(s, 0);
		e.time = sqlite3_column_int64(s, 1);
		e.op = col_text(s, 2);
		e.kind = col_text(s, 3);
		e.subject = col_text(s, 4);
		e.detail = col_text(s, 5);
		if (sqlite3_column_bytes(s, 6) == BW_AUDIT_HASH_LEN)
			memcpy(e.prev_hash, sqlite3_column_blob(s, 6), BW_AUDIT_HASH_LEN);
		if (sqlite3_column_bytes(s, 7) == BW_AUDIT_HASH_LEN)
			memcpy(e.hash, sqlite3_column_blob(s, 7), BW_AUDIT_HASH_LEN);
		rc = fn(ctx, &e);
		if (rc)
			break;
	}
	if (rc == BW_OK && step != SQLITE_DONE)
		rc = bw_store_fail(st, err, "reading the audit log");
	sqlite3_finalize(s);
	return rc;
}

/* ---- signed head -------------------------------------------------------- */

int
bw_audit_keygen(unsigned char pk[BW_AUDIT_PK_LEN],
		unsigned char sk[BW_AUDIT_SK_LEN], struct bw_err *err)
{
	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	crypto_sign_keypair(pk, sk);
	return BW_OK;
}

int
bw_audit_key_save(const char *path, const unsigned char sk[BW_AUDIT_SK_LEN],
		  struct bw_err *err)
{
	char hex[2 * crypto_sign_SEEDBYTES + 1], line[sizeof(hex) + 32];
	int fd, n, rc = BW_OK;

	/* the seed is the first half of libsodium's secret key */
	bw_audit_hex(sk, crypto_sign_SEEDBYTES, hex);
	n = snprintf(line, sizeof(line), "ed25519-seed %s\n", hex);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = bw_err_set(err, BW_EIO, "cannot create key file %s: %s", path,
				strerror(errno));
		goto out;
	}
	if (write(fd, line, (size_t)n) != n || close(fd) != 0) {
		rc = bw_err_set(err, BW_EIO, "cannot write key file %s", path);
		unlink(path);
	}
out:
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(line, sizeof(line));
	return rc;
}

int
bw_audit_key_load(const char *path, unsigned char pk[BW_AUDIT_PK_LEN],
		  unsigned char sk[BW_AUDIT_SK_LEN], struct bw_err *err)
{
	char buf[256];
	unsigned char seed[crypto_sign_SEEDBYTES];
	const char *prefix = "ed25519-seed ";
	size_t n = 0, plen = strlen(prefix);
	ssize_t r;
	int fd, rc = BW_OK;

	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bw_err_set(err, BW_EIO, "cannot read key file %s: %s", path,
				  strerror(errno));
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n < plen || memcmp(buf, prefix, plen) != 0 ||
	    bw_audit_unhex(buf + plen, n - plen, seed, sizeof(seed)) != 0) {
		rc = bw_err_set(err, BW_EFORMAT,
				"%s: not a bulwark audit key (one line \"ed25519-seed\" and 64 hex digits)",
				path);
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

static size_t
head_message(const struct bw_audit_signature *s, char *buf, size_t cap)
{
	char hex[2 * BW_AUDIT_HASH_LEN + 1];
	int n = snprintf(buf, cap, "bulwark-audit-head-v1\n%lld\n%s\n%lld\n",
			 (long long)s->id, bw_audit_hex(s->hash, BW_AUDIT_HASH_LEN, hex),
			 (long long)s->signed_at);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int
bw_audit_sign_head(struct bw_store *st, const unsigned char sk[BW_AUDIT_SK_LEN],
		   int64_t now, struct bw_audit_signature *out,
		   struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char msg[HEAD_MSG_MAX];
	size_t mlen;
	int step;

	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the audit head");
	step = sqlite3_step(s);
	if (step == SQLITE_ROW && sqlite3_column_bytes(s, 1) == BW_AUDIT_HASH_LEN) {
		out->id = sqlite3_column_int64(s, 0);
		memcpy(out->hash, sqlite3_column_blob(s, 1), BW_AUDIT_HASH_LEN);
	}
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return bw_err_set(err, BW_ENOTFOUND, "the audit log is empty");
	if (out->id == 0)
		return bw_store_fail(st, err, "reading the audit head");
	out->signed_at = now;
	crypto_sign_ed25519_sk_to_pk(out->pk, sk);
	mlen = head_message(out, msg, sizeof(msg));
	crypto_sign_detached(out->sig, NULL, (const unsigned char *)msg, mlen, sk);
	return BW_OK;
}

int
bw_audit_signature_to_json(const struct bw_audit_signature *s, char **out,
			   struct bw_err *err)
{
	char h[2 * BW_AUDIT_HASH_LEN + 1], pk[2 * BW_AUDIT_PK_LEN + 1];
	char sig[2 * BW_AUDIT_SIG_LEN + 1];
	json_t *o;

	*out = NULL;
	o = json_pack("{s:I, s:s, s:I, s:s, s:s}", "entry", (json_int_t)s->id,
		      "hash", bw_audit_hex(s->hash, BW_AUDIT_HASH_LEN, h),
		      "signed", (json_int_t)s->signed_at,
		      "public_key", bw_audit_hex(s->pk, BW_AUDIT_PK_LEN, pk),
		      "signature", bw_audit_hex(s->sig, BW_AUDIT_SIG_LEN, sig));
	if (o)
		*out = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	if (*out == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	return BW_OK;
}

static int
hex_member(json_t *o, const char *key, unsigned char *out, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return -1;
	return bw_audit_unhex(json_string_value(v), json_string_length(v), out, n);
}

int
bw_audit_signature_from_json(const char *text, size_t len,
			     struct bw_audit_signature *s, struct bw_err *err)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *v;
	int rc = BW_OK;

	memset(s, 0, sizeof(*s));
	if (o == NULL)
		return bw_err_set(err, BW_EFORMAT, "signature: %s (line %d)", je.text, je.line);
	v = json_object_get(o, "entry");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    !json_is_integer(json_object_get(o, "signed")) ||
	    hex_member(o, "hash", s->hash, BW_AUDIT_HASH_LEN) ||
	    hex_member(o, "public_key", s->pk, BW_AUDIT_PK_LEN) ||
	    hex_member(o, "signature", s->sig, BW_AUDIT_SIG_LEN)) {
		rc = bw_err_set(err, BW_EFORMAT,
				"signature: needs entry, hash, signed, public_key and signature");
	} else {
		s->id = json_integer_value(v);
		s->signed_at = json_integer_value(json_object_get(o, "signed"));
	}
	json_decref(o);
	return rc;
}

int
bw_audit_check_signature(struct bw_store *st, const struct bw_audit_signature *s,
			 const unsigned char *pk, struct bw_audit_report *r,
			 struct bw_err *err)
{
	sqlite3_stmt *q = NULL;
	char msg[HEAD_MSG_MAX];
	size_t mlen;
	int step, same = 0;

	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	if (pk && sodium_memcmp(pk, s->pk, BW_AUDIT_PK_LEN) != 0) {
		fault(r, BW_AUDIT_SIGNATURE, s->id,
		      "the head was signed by another key than the one given");
		return BW_OK;
	}
	mlen = head_message(s, msg, sizeof(msg));
	if (mlen == 0 || crypto_sign_verify_detached(s->sig, (const unsigned char *)msg,
						     mlen, s->pk) != 0) {
		fault(r, BW_AUDIT_SIGNATURE, s->id,
		      "the signature over entry %lld is not valid", (long long)s->id);
		return BW_OK;
	}
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT hash FROM audit WHERE id = ?1", -1,
			       &q, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading the audit log");
	sqlite3_bind_int64(q, 1, s->id);
	step = sqlite3_step(q);
	if (step == SQLITE_ROW)
		same = sqlite3_column_bytes(q, 0) == BW_AUDIT_HASH_LEN &&
		       memcmp(sqlite3_column_blob(q, 0), s->hash, BW_AUDIT_HASH_LEN) == 0;
	sqlite3_finalize(q);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return bw_store_fail(st, err, "reading the audit log");
	if (step == SQLITE_DONE)
		fault(r, BW_AUDIT_SIGNATURE, s->id,
		      "the signed head, entry %lld, is missing (the log was truncated)",
		      (long long)s->id);
	else if (!same)
		fault(r, BW_AUDIT_SIGNATURE, s->id,
		      "entry %lld differs from the signed head", (long long)s->id);
	return BW_OK;
}
