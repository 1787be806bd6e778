/*
 * tenant.h - the members of the sharing programme and their API keys.
 *
 * A tenant is one country (ISO 3166-1 alpha-2, upper case) with a display
 * name: TLP recipients are named by country, so one tenant per country
 * keeps "who may see a RED record" a plain comparison of codes.  Only the
 * countries of the eligible list may join; the default list is the 27 EU
 * member states, the EU candidate countries, the EFTA members, the United
 * Kingdom, Monaco and Vatican City, and the operator may configure another
 * (struct bw_tenant_eligible).  The list governs joining: a tenant that
 * joined stays when its country later leaves the list.
 *
 * API keys: 256 random bits from libsodium, given to the caller once as
 *
 *     bwk_<KEYID>_<64 hex digits>
 *
 * where KEYID is the key's row id (public: it names the key for `tenant key
 * revoke` and in logs).  The store keeps only BLAKE2b-256 (libsodium's
 * crypto_generichash) of the whole key text; the secret part has 256 bits
 * of entropy, so a fast hash is enough (no password stretching needed).
 * Authentication reads the row of KEYID and compares hashes in constant
 * time (sodium_memcmp); a malformed, unknown, wrong or revoked key is
 * BW_ENOTFOUND without saying which, and the key text never enters an error
 * message.
 *
 * All functions take a store connection (one per thread, see store.h) and
 * are as thread-safe as that is.  Writes run in their own transaction, so
 * they must not be called inside the caller's.
 */
#ifndef BW_SHARE_TENANT_H
#define BW_SHARE_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define BW_TENANT_NAME_MAX 128
/* Most keys a tenant may hold (revoked ones included). */
#define BW_TENANT_KEYS_MAX 1000
/* "bwk_" + up to 19 digits + "_" + 64 hex digits + NUL */
#define BW_API_KEY_BUF 96
#define BW_API_KEY_HASH_LEN 32

struct bw_tenant {
	int64_t id;
	char country[3];                 /* "DE" */
	char name[BW_TENANT_NAME_MAX + 1];
	int64_t created;
	long keys_active, keys_revoked;
};

/* What a key may do.  A tenant key is the tenant's own: every endpoint.
 * A gateway key is issued by the operator for a tenant to a machine in
 * front of a service (nginx auth_request, an AI gateway): it acts for that
 * tenant with the tenant's TLP rights, but only on the check endpoints
 * (/v1/check, /v1/gate); bw_tenant_authenticate, which every other
 * endpoint uses, refuses it. */
enum bw_key_kind {
	BW_KEY_TENANT = 0,
	BW_KEY_GATEWAY = 1,
};

/* A key's free-text label ("nginx in front of the chatbot"). */
#define BW_KEY_LABEL_MAX 128

struct bw_tenant_key {
	int64_t id;
	int64_t created;
	int64_t revoked; /* 0 if active */
	enum bw_key_kind kind;
	char label[BW_KEY_LABEL_MAX + 1]; /* "" if none */
};

/* "tenant" or "gateway" (the store's api_key.kind). */
const char *bw_key_kind_name(enum bw_key_kind kind);

/* Reads a country code as people write it ("de", " DE") into out as two
 * upper-case letters; BW_EINVAL if it is not two ASCII letters. */
int bw_tenant_country_parse(const char *text, char out[3], struct bw_err *err);

/* 1 if cc (two upper-case letters) is on the default eligible list. */
int bw_tenant_country_eligible(const char *cc);

/* The default eligible list, separated by blanks, for messages. */
const char *bw_tenant_eligible_list(void);

/* Most countries on a configured eligible list (ISO 3166-1 has 249). */
#define BW_TENANT_ELIGIBLE_MAX 300

/* An eligible list the operator configured (bulwark.conf(5)
 * eligible_countries), sorted, without duplicates.  A plain value. */
struct bw_tenant_eligible {
	size_t n;
	char cc[BW_TENANT_ELIGIBLE_MAX][3];
};

/* Parses a list of country codes separated by commas and/or blanks (any
 * case) into out; the word "default" stands for the default list, so that
 * "default, US" widens it.  BW_EINVAL naming the first bad item: not two
 * letters, or a code people use that ISO 3166-1 does not (UK for GB, EL
 * for GR); an empty list is refused too. */
int bw_tenant_eligible_parse(const char *text, struct bw_tenant_eligible *out,
			     struct bw_err *err);

/* 1 if cc is on list e (NULL: the default list). */
int bw_tenant_eligible_has(const struct bw_tenant_eligible *e, const char *cc);

/* List e (NULL: the default) as codes separated by blanks into buf of cap
 * bytes (BW_TENANT_ELIGIBLE_MAX * 3 is always enough); returns buf. */
const char *bw_tenant_eligible_text(const struct bw_tenant_eligible *e,
				    char *buf, size_t cap);

/* Adds the tenant of country (any case) named name (1..BW_TENANT_NAME_MAX
 * bytes, no control characters), if country is on the default eligible
 * list.  BW_EINVAL for a country that is not eligible or already has a
 * tenant, with a message saying which.  *id (if not NULL) gets the
 * tenant's id. */
int bw_tenant_add(struct bw_store *st, const char *country, const char *name,
		  int64_t now, int64_t *id, struct bw_err *err);

/* The same with the eligible list e (NULL: the default list). */
int bw_tenant_add_eligible(struct bw_store *st, const struct bw_tenant_eligible *e,
			   const char *country, const char *name, int64_t now,
			   int64_t *id, struct bw_err *err);

/* The tenant of country; BW_ENOTFOUND if there is none. */
int bw_tenant_get(struct bw_store *st, const char *country,
		  struct bw_tenant *out, struct bw_err *err);

/* All tenants by country, into an array the caller frees with bw_free(). */
int bw_tenant_list(struct bw_store *st, struct bw_tenant **out, size_t *n,
		   struct bw_err *err);

/* The keys of the tenant of country, oldest first, into an array the caller
 * frees with bw_free(). */
int bw_tenant_key_list(struct bw_store *st, const char *country,
		       struct bw_tenant_key **out, size_t *n,
		       struct bw_err *err);

/* Creates a key for the tenant of country: key (BW_API_KEY_BUF bytes) gets
 * its text, which exists nowhere else afterwards; *key_id (if not NULL) its
 * id.  BW_ENOTFOUND without such a tenant, BW_ELIMIT beyond
 * BW_TENANT_KEYS_MAX keys. */
int bw_tenant_key_add(struct bw_store *st, const char *country, int64_t now,
		      char key[BW_API_KEY_BUF], int64_t *key_id,
		      struct bw_err *err);

/* The same for a key of kind kind with an optional label (NULL or "" for
 * none; at most BW_KEY_LABEL_MAX bytes without control characters, else
 * BW_EINVAL). */
int bw_tenant_key_add_kind(struct bw_store *st, const char *country,
			   enum bw_key_kind kind, const char *label, int64_t now,
			   char key[BW_API_KEY_BUF], int64_t *key_id,
			   struct bw_err *err);

/* Revokes key key_id of the tenant of country.  BW_ENOTFOUND if that tenant
 * has no such key; revoking a revoked key is BW_OK and keeps the first
 * revocation time. */
int bw_tenant_key_revoke(struct bw_store *st, const char *country,
			 int64_t key_id, int64_t now, struct bw_err *err);

/* Splits key text (len bytes, no NUL needed) into its id and its hash;
 * BW_EINVAL if it is not of the form above.  Never reads beyond len, never
 * puts the text into err. */
int bw_api_key_hash(const char *key, size_t len, int64_t *key_id,
		    unsigned char hash[BW_API_KEY_HASH_LEN], struct bw_err *err);

/* The tenant an API key belongs to.  BW_ENOTFOUND ("invalid API key") for
 * a malformed, unknown, wrong or revoked key, and for a gateway key (which
 * may only use the check endpoints, see bw_tenant_keys_check), BW_ESTORE on
 * a store error.  *key_id (if not NULL) gets the id of the key. */
int bw_tenant_authenticate(struct bw_store *st, const char *key, size_t len,
			   struct bw_tenant *out, int64_t *key_id,
			   struct bw_err *err);

/*
 * The key table: every key of the store in memory, for the request path of
 * the daemon, which must not read SQLite per request.  Loaded once from one
 * consistent read of the store (key id, hash, kind, revocation, the
 * tenant's country), sorted by key id, immutable afterwards: any number of
 * threads may check keys against it at once.  The daemon reloads it when
 * the store changes (a key added or revoked) and swaps it in.
 */
struct bw_tenant_keys;

/* Loads the key table (at most BW_TENANT_KEYS_MAX keys per tenant, as the
 * store holds them).  *out is freed with bw_tenant_keys_free (NULL is a
 * no-op). */
int bw_tenant_keys_load(struct bw_store *st, struct bw_tenant_keys **out,
			struct bw_err *err);
void bw_tenant_keys_free(struct bw_tenant_keys *k);

/* Keys in the table (revoked ones included). */
size_t bw_tenant_keys_count(const struct bw_tenant_keys *k);

/* A key that checked out. */
struct bw_key_auth {
	int64_t key_id;
	char country[3];       /* its tenant's */
	enum bw_key_kind kind;
};

/* Checks key text (len bytes) against the table as bw_tenant_authenticate
 * does against the store (hash compared in constant time, whatever the
 * revocation state), but accepting both kinds: BW_OK with *out filled, or
 * BW_ENOTFOUND for a malformed, unknown, wrong or revoked key.  Never puts
 * the key into err (err may be NULL).  Thread-safe. */
int bw_tenant_keys_check(const struct bw_tenant_keys *k, const char *key,
			 size_t len, struct bw_key_auth *out, struct bw_err *err);

/*
 * TLP 2.0 visibility of one record to a tenant, comparing exact levels:
 * CLEAR, GREEN and AMBER reach every tenant of the programme; AMBER+STRICT
 * and RED only a tenant named among the record's recipients
 * (is_recipient); any other value (unset, out of range) reaches no tenant.
 * Never "AMBER or more": AMBER+STRICT is its own marking.
 */
int bw_tenant_may_see(int tlp, int is_recipient);

/*
 * The same rule as an SQL condition on the record of alias a (a table
 * with tlp and id columns), for the country bound as cc (a parameter such
 * as "?1" or ":cc"): "(a.tlp IN (levels every tenant sees) OR (a.tlp IN
 * (levels for recipients) AND a names the country))"; without public_too
 * only the second half (what was addressed to the tenant).  The level
 * lists come from bw_tenant_may_see, so SQL and C never disagree.
 * BW_ELIMIT when cap is too small.
 */
int bw_tenant_visible_sql(const char *a, const char *cc, int public_too, char *buf,
			  size_t cap);

#endif
