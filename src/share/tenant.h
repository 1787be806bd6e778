/*
 * tenant.h - the members of the sharing programme and their API keys.
 *
 * A tenant is one country (ISO 3166-1 alpha-2, upper case) with a display
 * name: TLP recipients are named by country, so one tenant per country
 * keeps "who may see a RED record" a plain comparison of codes.  Only the
 * countries of the eligible list may join; the default list is the 27 EU
 * member states, the EU candidate countries, the EFTA members, the United
 * Kingdom, Monaco and Vatican City.
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

struct bw_tenant_key {
	int64_t id;
	int64_t created;
	int64_t revoked; /* 0 if active */
};

/* Reads a country code as people write it ("de", " DE") into out as two
 * upper-case letters; BW_EINVAL if it is not two ASCII letters. */
int bw_tenant_country_parse(const char *text, char out[3], struct bw_err *err);

/* 1 if cc (two upper-case letters) is on the default eligible list. */
int bw_tenant_country_eligible(const char *cc);

/* The default eligible list, comma-separated, for messages. */
const char *bw_tenant_eligible_list(void);

/* Adds the tenant of country (any case) named name (1..BW_TENANT_NAME_MAX
 * bytes, no control characters).  BW_EINVAL for a country that is not
 * eligible or already has a tenant, with a message saying which.  *id (if
 * not NULL) gets the tenant's id. */
int bw_tenant_add(struct bw_store *st, const char *country, const char *name,
		  int64_t now, int64_t *id, struct bw_err *err);

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
 * a malformed, unknown, wrong or revoked key, BW_ESTORE on a store error.
 * *key_id (if not NULL) gets the id of the key. */
int bw_tenant_authenticate(struct bw_store *st, const char *key, size_t len,
			   struct bw_tenant *out, int64_t *key_id,
			   struct bw_err *err);

/*
 * TLP 2.0 visibility of one record to a tenant, comparing exact levels:
 * CLEAR, GREEN and AMBER reach every tenant of the programme; AMBER+STRICT
 * and RED only a tenant named among the record's recipients
 * (is_recipient); any other value (unset, out of range) reaches no tenant.
 * Never "AMBER or more": AMBER+STRICT is its own marking.
 */
int bw_tenant_may_see(int tlp, int is_recipient);

#endif
