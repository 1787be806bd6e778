/*
 * tenant.c - tenants and API keys over the tenant and api_key tables
 * (store schema 3).
 *
 * The eligible countries are one sorted table of codes, searched with
 * bsearch; a configured list (struct bw_tenant_eligible) is kept sorted
 * the same way.  A key is created in one transaction: the row first (for its
 * id, which is part of the key text), then its hash; the random bytes and
 * the key text are wiped from memory here once hashed (the caller owns the
 * one copy it prints).  Statements are prepared per call: these are
 * administrative operations, and authentication through the store costs
 * one indexed row read (TAXII).  The check endpoints authenticate against
 * the key table instead (bw_tenant_keys_*): a sorted array of the keys,
 * searched by id, so that they never touch SQLite per request.
 *
 * Key kinds (store schema 5): 'tenant' or 'gateway'.  A gateway key only
 * passes bw_tenant_keys_check; bw_tenant_authenticate refuses it like a
 * wrong key, so that an endpoint that forgets to care about kinds fails
 * closed.
 */
#include "share/tenant.h"

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "disrupt/audit.h"

/* ISO 3166-1 alpha-2, sorted.  EU members (27; Greece is GR, not the EU's
 * EL), EU candidates (AL BA GE MD ME MK RS TR UA, as of the enlargement
 * list of 2024; Kosovo is a potential candidate only), EFTA (CH IS LI NO),
 * the United Kingdom (GB), Monaco (MC), Vatican City (VA). */
static const char eligible[][3] = {
	"AL", "AT", "BA", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE",
	"ES", "FI", "FR", "GB", "GE", "GR", "HR", "HU", "IE", "IS", "IT",
	"LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO",
	"PL", "PT", "RO", "RS", "SE", "SI", "SK", "TR", "UA", "VA",
};
#define NELIGIBLE (sizeof(eligible) / sizeof(eligible[0]))

static const char eligible_text[] =
	"AL AT BA BE BG CH CY CZ DE DK EE ES FI FR GB GE GR HR HU IE IS IT "
	"LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS SE SI SK TR UA VA";

#define KEY_PREFIX "bwk_"
#define KEY_SECRET_BYTES 32
#define KEY_ID_DIGITS_MAX 18

int
bw_tenant_country_parse(const char *text, char out[3], struct bw_err *err)
{
	size_t n;

	while (*text == ' ' || *text == '\t')
		text++;
	n = strlen(text);
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (n != 2)
		return bw_err_set(err, BW_EINVAL,
				  "a country is an ISO 3166-1 alpha-2 code such as DE");
	for (size_t i = 0; i < 2; i++) {
		char c = text[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return bw_err_set(err, BW_EINVAL,
					  "a country is an ISO 3166-1 alpha-2 code such as DE");
		out[i] = c;
	}
	out[2] = '\0';
	return BW_OK;
}

static int
cmp_cc(const void *a, const void *b)
{
	return memcmp(a, b, 2);
}

int
bw_tenant_country_eligible(const char *cc)
{
	if (cc == NULL || strlen(cc) != 2)
		return 0;
	return bsearch(cc, eligible, NELIGIBLE, sizeof(eligible[0]), cmp_cc) != NULL;
}

const char *
bw_tenant_eligible_list(void)
{
	return eligible_text;
}

static int
eligible_insert(struct bw_tenant_eligible *e, const char *cc, struct bw_err *err)
{
	size_t i = 0;

	while (i < e->n && memcmp(e->cc[i], cc, 2) < 0)
		i++;
	if (i < e->n && memcmp(e->cc[i], cc, 2) == 0)
		return BW_OK;
	if (e->n == BW_TENANT_ELIGIBLE_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %d countries",
				  BW_TENANT_ELIGIBLE_MAX);
	memmove(e->cc[i + 1], e->cc[i], (e->n - i) * sizeof(e->cc[0]));
	memcpy(e->cc[i], cc, 3);
	e->n++;
	return BW_OK;
}

int
bw_tenant_eligible_parse(const char *text, struct bw_tenant_eligible *out,
			 struct bw_err *err)
{
	struct bw_tenant_eligible e;
	char item[16], cc[3];
	int rc;

	memset(&e, 0, sizeof(e));
	while (*text) {
		size_t len;

		while (*text == ',' || *text == ' ' || *text == '\t')
			text++;
		if (*text == '\0')
			break;
		len = strcspn(text, ", \t");
		if (len >= sizeof(item))
			return bw_err_set(err, BW_EINVAL, "'%.16s...' is not a country code", text);
		memcpy(item, text, len);
		item[len] = '\0';
		text += len;
		if (strcmp(item, "default") == 0) {
			for (size_t i = 0; i < NELIGIBLE; i++)
				if ((rc = eligible_insert(&e, eligible[i], err)))
					return rc;
			continue;
		}
		if (bw_tenant_country_parse(item, cc, NULL) != BW_OK)
			return bw_err_set(err, BW_EINVAL,
					  "'%s' is not an ISO 3166-1 alpha-2 code such as DE", item);
		if (strcmp(cc, "UK") == 0)
			return bw_err_set(err, BW_EINVAL, "'%s' is not an ISO 3166-1 code:"
					  " the United Kingdom is GB", item);
		if (strcmp(cc, "EL") == 0)
			return bw_err_set(err, BW_EINVAL, "'%s' is not an ISO 3166-1 code:"
					  " Greece is GR", item);
		if ((rc = eligible_insert(&e, cc, err)))
			return rc;
	}
	if (e.n == 0)
		return bw_err_set(err, BW_EINVAL, "no country given");
	*out = e;
	return BW_OK;
}

int
bw_tenant_eligible_has(const struct bw_tenant_eligible *e, const char *cc)
{
	if (e == NULL)
		return bw_tenant_country_eligible(cc);
	if (cc == NULL || strlen(cc) != 2)
		return 0;
	return bsearch(cc, e->cc, e->n, sizeof(e->cc[0]), cmp_cc) != NULL;
}

const char *
bw_tenant_eligible_text(const struct bw_tenant_eligible *e, char *buf, size_t cap)
{
	size_t off = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (e == NULL) {
		snprintf(buf, cap, "%s", eligible_text);
		return buf;
	}
	/* each code takes 3 bytes with its blank or the final NUL */
	for (size_t i = 0; i < e->n && off + 3 <= cap; i++) {
		if (i > 0)
			buf[off - 1] = ' ';
		memcpy(buf + off, e->cc[i], 2);
		buf[off + 2] = '\0';
		off += 3;
	}
	return buf;
}

const char *
bw_key_kind_name(enum bw_key_kind kind)
{
	return kind == BW_KEY_GATEWAY ? "gateway" : "tenant";
}

static enum bw_key_kind
kind_of(const unsigned char *text)
{
	return text && strcmp((const char *)text, "gateway") == 0 ? BW_KEY_GATEWAY
								  : BW_KEY_TENANT;
}

static int
check_label(const char *label, struct bw_err *err)
{
	size_t n = strlen(label);

	if (n > BW_KEY_LABEL_MAX)
		return bw_err_set(err, BW_EINVAL, "a key label has at most %d bytes",
				  BW_KEY_LABEL_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL,
					  "a key label has no control characters");
	return BW_OK;
}

static int
check_name(const char *name, struct bw_err *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > BW_TENANT_NAME_MAX)
		return bw_err_set(err, BW_EINVAL, "a tenant name has 1 to %d bytes",
				  BW_TENANT_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL,
					  "a tenant name has no control characters");
	return BW_OK;
}

static void
fill_tenant(sqlite3_stmt *s, int col, struct bw_tenant *t)
{
	const char *cc = (const char *)sqlite3_column_text(s, col + 1);
	const char *name = (const char *)sqlite3_column_text(s, col + 2);

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, col);
	snprintf(t->country, sizeof(t->country), "%s", cc ? cc : "");
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	t->created = sqlite3_column_int64(s, col + 3);
}

#define TENANT_COLS                                                          \
	"t.id, t.country, t.name, t.created,"                                \
	" (SELECT count(*) FROM api_key k WHERE k.tenant_id = t.id AND k.revoked IS NULL)," \
	" (SELECT count(*) FROM api_key k WHERE k.tenant_id = t.id AND k.revoked IS NOT NULL)"

/* One row of TENANT_COLS into element (a struct bw_tenant). */
static void
tenant_row(sqlite3_stmt *s, void *element)
{
	struct bw_tenant *t = element;

	fill_tenant(s, 0, t);
	t->keys_active = (long)sqlite3_column_int64(s, 4);
	t->keys_revoked = (long)sqlite3_column_int64(s, 5);
}

/* The audit entry of a tenant or key change, in its transaction (takes
 * detail). */
static int
audit_tenant(struct bw_store *st, int64_t now, const char *kind, const char *cc,
	     json_t *detail, struct bw_err *err)
{
	char subject[16], *text = detail ? json_dumps(detail, JSON_PRESERVE_ORDER | JSON_COMPACT)
					: NULL;
	int rc;

	json_decref(detail);
	if (text == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	snprintf(subject, sizeof(subject), "tenant:%s", cc);
	rc = bw_audit_append(st, now, BW_AUDIT_SYSTEM, kind, subject, text, NULL, err);
	bw_free(text);
	return rc;
}

int
bw_tenant_get(struct bw_store *st, const char *country, struct bw_tenant *out,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	char cc[3];
	int rc;

	rc = bw_tenant_country_parse(country, cc, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT " TENANT_COLS " FROM tenant t WHERE t.country = ?", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, cc, 2, SQLITE_STATIC);
	rc = bw_store_read_row(st, s, tenant_row, out, "reading a tenant", err);
	if (rc == BW_ENOTFOUND)
		rc = bw_err_set(err, BW_ENOTFOUND, "no tenant for %s", cc);
	sqlite3_finalize(s);
	return rc;
}

int
bw_tenant_add(struct bw_store *st, const char *country, const char *name,
	      int64_t now, int64_t *id, struct bw_err *err)
{
	return bw_tenant_add_eligible(st, NULL, country, name, now, id, err);
}

int
bw_tenant_add_eligible(struct bw_store *st, const struct bw_tenant_eligible *e,
		       const char *country, const char *name, int64_t now,
		       int64_t *id, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_tenant t;
	char cc[3];
	int rc;

	rc = bw_tenant_country_parse(country, cc, err);
	if (rc)
		return rc;
	if (!bw_tenant_eligible_has(e, cc)) {
		char list[BW_TENANT_ELIGIBLE_MAX * 3];
		return bw_err_set(err, BW_EINVAL,
				  "%s is not eligible for the programme (eligible%s: %.900s)",
				  cc, e ? " by the configuration" : "",
				  bw_tenant_eligible_text(e, list, sizeof(list)));
	}
	rc = check_name(name, err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_tenant_get(st, cc, &t, err);
	if (rc == BW_OK) {
		rc = bw_err_set(err, BW_EINVAL, "%s already has a tenant (\"%s\")", cc,
				t.name);
		goto out;
	}
	if (rc != BW_ENOTFOUND)
		goto out;
	rc = bw_store_prepare(st, "INSERT INTO tenant (country, name, created) VALUES (?, ?, ?)",
		  &s, err);
	if (rc)
		goto out;
	sqlite3_bind_text(s, 1, cc, 2, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "adding a tenant");
		goto out;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(bw_store_db(st));
	rc = audit_tenant(st, now, "tenant.add", cc,
			  json_pack("{s:s, s:s}", "country", cc, "name", name), err);
	if (rc == BW_OK)
		rc = bw_store_commit(st, err);
out:
	sqlite3_finalize(s);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_tenant_list(struct bw_store *st, struct bw_tenant **out, size_t *n,
	       struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = bw_store_prepare(st, "SELECT " TENANT_COLS " FROM tenant t ORDER BY t.country", &s, err);
	if (rc)
		return rc;
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, tenant_row, &rows, n,
				"listing tenants", err);
	sqlite3_finalize(s);
	*out = rows;
	return rc;
}

/* One row of (id, created, revoked, kind, label) into element (a struct
 * bw_tenant_key). */
static void
key_row(sqlite3_stmt *s, void *element)
{
	struct bw_tenant_key *k = element;

	k->id = sqlite3_column_int64(s, 0);
	k->created = sqlite3_column_int64(s, 1);
	k->revoked = sqlite3_column_int64(s, 2);
	k->kind = kind_of(sqlite3_column_text(s, 3));
	bw_store_copy_text(s, 4, k->label, sizeof(k->label));
}

int
bw_tenant_key_list(struct bw_store *st, const char *country,
		   struct bw_tenant_key **out, size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_tenant t;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT id, created, revoked, kind, label FROM api_key"
		      " WHERE tenant_id = ? ORDER BY id", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, t.id);
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, key_row, &rows, n,
				"listing keys", err);
	sqlite3_finalize(s);
	*out = rows;
	return rc;
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
bw_api_key_hash(const char *key, size_t len, int64_t *key_id,
		unsigned char hash[BW_API_KEY_HASH_LEN], struct bw_err *err)
{
	const size_t plen = sizeof(KEY_PREFIX) - 1;
	size_t i = plen, digits = 0;
	int64_t id = 0;

	if (len >= BW_API_KEY_BUF || len < plen || memcmp(key, KEY_PREFIX, plen) != 0)
		return bw_err_set(err, BW_EINVAL, "not a bulwark API key");
	while (i < len && key[i] >= '0' && key[i] <= '9' && digits < KEY_ID_DIGITS_MAX) {
		id = id * 10 + (key[i] - '0');
		i++;
		digits++;
	}
	if (digits == 0 || id == 0 || i >= len || key[i] != '_' ||
	    len - i - 1 != 2 * KEY_SECRET_BYTES)
		return bw_err_set(err, BW_EINVAL, "not a bulwark API key");
	for (size_t j = i + 1; j < len; j++)
		if (!((key[j] >= '0' && key[j] <= '9') || (key[j] >= 'a' && key[j] <= 'f')))
			return bw_err_set(err, BW_EINVAL, "not a bulwark API key");
	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	crypto_generichash(hash, BW_API_KEY_HASH_LEN, (const unsigned char *)key,
			   len, NULL, 0);
	*key_id = id;
	return BW_OK;
}

int
bw_tenant_key_add(struct bw_store *st, const char *country, int64_t now,
		  char key[BW_API_KEY_BUF], int64_t *key_id, struct bw_err *err)
{
	return bw_tenant_key_add_kind(st, country, BW_KEY_TENANT, NULL, now, key,
				      key_id, err);
}

int
bw_tenant_key_add_kind(struct bw_store *st, const char *country,
		       enum bw_key_kind kind, const char *label, int64_t now,
		       char key[BW_API_KEY_BUF], int64_t *key_id,
		       struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_tenant t;
	unsigned char secret[KEY_SECRET_BYTES], hash[BW_API_KEY_HASH_LEN];
	char secret_hex[2 * KEY_SECRET_BYTES + 1];
	int64_t id, parsed_id;
	int rc, n;

	key[0] = '\0';
	if (kind != BW_KEY_TENANT && kind != BW_KEY_GATEWAY)
		return bw_err_set(err, BW_EINVAL, "unknown key kind");
	if (label && (rc = check_label(label, err)) != BW_OK)
		return rc;
	if (sodium_init() < 0)
		return bw_err_set(err, BW_EIO, "libsodium failed to initialise");
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		goto out;
	if (t.keys_active + t.keys_revoked >= BW_TENANT_KEYS_MAX) {
		rc = bw_err_set(err, BW_ELIMIT, "%s has %d keys, the most a tenant may hold",
				t.country, BW_TENANT_KEYS_MAX);
		goto out;
	}
	/* The row first, for the id that is part of the key; its hash column
	 * holds no valid hash until the update below, in the same transaction. */
	rc = bw_store_prepare(st, "INSERT INTO api_key (tenant_id, hash, created, kind, label)"
		      " VALUES (?, zeroblob(0), ?, ?, ?)", &s, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, t.id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, bw_key_kind_name(kind), -1, SQLITE_STATIC);
	if (label && label[0])
		sqlite3_bind_text(s, 4, label, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "adding a key");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	id = sqlite3_last_insert_rowid(bw_store_db(st));
	randombytes_buf(secret, sizeof(secret));
	hex(secret, sizeof(secret), secret_hex);
	n = snprintf(key, BW_API_KEY_BUF, KEY_PREFIX "%lld_%s", (long long)id, secret_hex);
	if (n < 0 || n >= BW_API_KEY_BUF) {
		rc = bw_err_set(err, BW_ELIMIT, "key id %lld too large", (long long)id);
		goto out;
	}
	rc = bw_api_key_hash(key, (size_t)n, &parsed_id, hash, err);
	if (rc)
		goto out;
	rc = bw_store_prepare(st, "UPDATE api_key SET hash = ? WHERE id = ?", &s, err);
	if (rc)
		goto out;
	sqlite3_bind_blob(s, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "storing a key hash");
		goto out;
	}
	rc = audit_tenant(st, now, "tenant.key.add", t.country,
			  json_pack("{s:I, s:s, s:o}", "key", (json_int_t)id,
				    "kind", bw_key_kind_name(kind),
				    "label", label && label[0] ? json_string(label) : json_null()),
			  err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && key_id)
		*key_id = id;
out:
	sqlite3_finalize(s);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(secret_hex, sizeof(secret_hex));
	if (rc) {
		sodium_memzero(key, BW_API_KEY_BUF);
		bw_store_rollback(st);
	}
	return rc;
}

int
bw_tenant_key_revoke(struct bw_store *st, const char *country, int64_t key_id,
		     int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_tenant t;
	int rc;

	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		goto out;
	rc = bw_store_prepare(st, "UPDATE api_key SET revoked = coalesce(revoked, ?)"
		      " WHERE id = ? AND tenant_id = ?", &s, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, key_id);
	sqlite3_bind_int64(s, 3, t.id);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "revoking a key");
		goto out;
	}
	if (sqlite3_changes(bw_store_db(st)) == 0) {
		rc = bw_err_set(err, BW_ENOTFOUND, "%s has no key %lld", t.country,
				(long long)key_id);
		goto out;
	}
	rc = audit_tenant(st, now, "tenant.key.revoke", t.country,
			  json_pack("{s:I}", "key", (json_int_t)key_id), err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
out:
	sqlite3_finalize(s);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

int
bw_tenant_authenticate(struct bw_store *st, const char *key, size_t len,
		       struct bw_tenant *out, int64_t *key_id, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	unsigned char hash[BW_API_KEY_HASH_LEN];
	int64_t id;
	int rc, step;

	if (bw_api_key_hash(key, len, &id, hash, NULL))
		return bw_err_set(err, BW_ENOTFOUND, "invalid API key");
	rc = bw_store_prepare(st, "SELECT t.id, t.country, t.name, t.created, k.hash, k.revoked,"
		      " k.kind FROM api_key k JOIN tenant t ON t.id = k.tenant_id"
		      " WHERE k.id = ?", &s, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const void *stored = sqlite3_column_blob(s, 4);
		int slen = sqlite3_column_bytes(s, 4);
		/* the comparison runs whatever the revocation state */
		int same = stored != NULL && slen == BW_API_KEY_HASH_LEN &&
			   sodium_memcmp(stored, hash, BW_API_KEY_HASH_LEN) == 0;
		/* a gateway key is only for the check endpoints */
		if (!same || sqlite3_column_type(s, 5) != SQLITE_NULL ||
		    kind_of(sqlite3_column_text(s, 6)) != BW_KEY_TENANT) {
			rc = bw_err_set(err, BW_ENOTFOUND, "invalid API key");
			goto out;
		}
		fill_tenant(s, 0, out);
		if (key_id)
			*key_id = id;
		rc = BW_OK;
	} else if (step == SQLITE_DONE) {
		rc = bw_err_set(err, BW_ENOTFOUND, "invalid API key");
	} else {
		rc = bw_store_fail(st, err, "reading a key");
	}
out:
	sqlite3_finalize(s);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* ---- the key table ------------------------------------------------------ */

struct key_entry {
	int64_t id;
	unsigned char hash[BW_API_KEY_HASH_LEN];
	char country[3];
	unsigned char kind;    /* enum bw_key_kind */
	unsigned char revoked;
};

struct bw_tenant_keys {
	struct key_entry *v; /* by id */
	size_t n;
};

void
bw_tenant_keys_free(struct bw_tenant_keys *k)
{
	if (k == NULL)
		return;
	if (k->v)
		sodium_memzero(k->v, k->n * sizeof(*k->v));
	bw_free(k->v);
	bw_free(k);
}

size_t
bw_tenant_keys_count(const struct bw_tenant_keys *k)
{
	return k ? k->n : 0;
}

int
bw_tenant_keys_load(struct bw_store *st, struct bw_tenant_keys **out,
		    struct bw_err *err)
{
	struct bw_tenant_keys *k;
	struct key_entry *nv;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc, step;

	*out = NULL;
	k = bw_calloc(1, sizeof(*k));
	if (k == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_store_prepare(st, "SELECT k.id, k.hash, k.kind, k.revoked, t.country"
		      " FROM api_key k JOIN tenant t ON t.id = k.tenant_id ORDER BY k.id",
		  &s, err);
	if (rc)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct key_entry *e;
		const void *h = sqlite3_column_blob(s, 1);
		const unsigned char *cc = sqlite3_column_text(s, 4);

		if (k->n == cap) {
			nv = bw_grow(k->v, &cap, k->n + 1, sizeof(*k->v));
			if (nv == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			k->v = nv;
		}
		e = &k->v[k->n];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(s, 0);
		/* a hash of another length (a row being written) never matches:
		 * it stays all zero and is marked revoked */
		if (h && sqlite3_column_bytes(s, 1) == BW_API_KEY_HASH_LEN)
			memcpy(e->hash, h, BW_API_KEY_HASH_LEN);
		else
			e->revoked = 1;
		e->kind = (unsigned char)kind_of(sqlite3_column_text(s, 2));
		if (sqlite3_column_type(s, 3) != SQLITE_NULL)
			e->revoked = 1;
		snprintf(e->country, sizeof(e->country), "%s", cc ? (const char *)cc : "");
		k->n++;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading the keys");
		goto out;
	}
	*out = k;
	k = NULL;
out:
	sqlite3_finalize(s);
	bw_tenant_keys_free(k);
	return rc;
}

int
bw_tenant_keys_check(const struct bw_tenant_keys *k, const char *key,
		     size_t len, struct bw_key_auth *out, struct bw_err *err)
{
	unsigned char hash[BW_API_KEY_HASH_LEN];
	const struct key_entry *e = NULL;
	size_t lo = 0, hi;
	int64_t id;
	int same;

	if (k == NULL || bw_api_key_hash(key, len, &id, hash, NULL))
		return bw_err_set(err, BW_ENOTFOUND, "invalid API key");
	hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->v[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo < k->n && k->v[lo].id == id)
		e = &k->v[lo];
	/* the comparison runs whatever the revocation state */
	same = e != NULL && sodium_memcmp(e->hash, hash, BW_API_KEY_HASH_LEN) == 0;
	sodium_memzero(hash, sizeof(hash));
	if (!same || e->revoked)
		return bw_err_set(err, BW_ENOTFOUND, "invalid API key");
	out->key_id = e->id;
	memcpy(out->country, e->country, sizeof(out->country));
	out->kind = (enum bw_key_kind)e->kind;
	return BW_OK;
}

int
bw_tenant_may_see(int tlp, int is_recipient)
{
	switch (tlp) {
	case BW_TLP_CLEAR:
	case BW_TLP_GREEN:
	case BW_TLP_AMBER:
		return 1;
	case BW_TLP_AMBER_STRICT:
	case BW_TLP_RED:
		return is_recipient ? 1 : 0;
	default:
		return 0;
	}
}

int
bw_tenant_visible_sql(const char *a, const char *cc, int public_too, char *buf, size_t cap)
{
	char pub[32] = "", res[32] = "";
	size_t np = 0, nr = 0;
	int n;

	for (int t = 0; t < BW_TLP_NLEVELS; t++) {
		char *dst;
		size_t *len;

		if (bw_tenant_may_see(t, 0)) {
			if (!public_too)
				continue;
			dst = pub;
			len = &np;
		} else if (bw_tenant_may_see(t, 1)) {
			dst = res;
			len = &nr;
		} else {
			continue;
		}
		n = snprintf(dst + *len, sizeof(pub) - *len, "%s%d", *len ? "," : "", t);
		if (n < 0 || (size_t)n >= sizeof(pub) - *len)
			return BW_ELIMIT;
		*len += (size_t)n;
	}
	n = snprintf(buf, cap,
		     "(%s.tlp IN (%s) OR (%s.tlp IN (%s) AND EXISTS"
		     " (SELECT 1 FROM record_recipient rr WHERE rr.record_id = %s.id"
		     " AND rr.country = %s)))",
		     a, pub, a, res, a, cc);
	return n < 0 || (size_t)n >= cap ? BW_ELIMIT : BW_OK;
}
