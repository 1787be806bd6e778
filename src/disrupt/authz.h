/*
 * authz.h - legal authorisations: the statute or court order every
 * disruption action cites.
 *
 * An authorisation names an authority, its reference, a jurisdiction
 * (ISO 3166-1 alpha-2), a validity [valid_from, valid_until) and a scope
 * that selects indicators:
 *
 *   tag:NAME       indicators with a live record tagged NAME (a label, a
 *                  malware or an actor tag; the name compared without case)
 *   campaign:NAME  indicators with a live record of campaign NAME
 *   source:NAME    indicators with a live record from source NAME
 *   file:PATH      the domains and addresses listed in a file, kept in the
 *                  store (authz_item) when the authorisation is added: a
 *                  domain covers itself and its subdomains, a prefix every
 *                  address and prefix inside it
 *
 * ("live": neither revoked by its source nor expired).  The document's
 * SHA-256 is kept, not the document.  Revoking an authorisation ends every
 * action that cites it, in the same transaction.  Writes run in their own
 * transaction with an audit entry (src/disrupt/audit.h).
 */
#ifndef BW_DISRUPT_AUTHZ_H
#define BW_DISRUPT_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "store/store.h"

#define BW_AUTHZ_TEXT_MAX 256        /* authority, reference */
#define BW_AUTHZ_SCOPE_MAX 1024      /* scope value */
#define BW_AUTHZ_REASON_MAX 1024
#define BW_AUTHZ_ITEMS_MAX 100000    /* entries of a file scope */
#define BW_AUTHZ_FILE_MAX (16 * 1024 * 1024)

enum bw_authz_scope {
	BW_AUTHZ_SCOPE_TAG = 1,
	BW_AUTHZ_SCOPE_CAMPAIGN,
	BW_AUTHZ_SCOPE_SOURCE,
	BW_AUTHZ_SCOPE_FILE,
};

/* "tag", "campaign", "source", "file"; NULL otherwise. */
const char *bw_authz_scope_name(enum bw_authz_scope s);

struct bw_authz_item {
	enum bw_ioc_type type; /* domain, ipv4, ipv6 or cidr */
	char value[254];       /* canonical; a domain is at most 253 bytes */
};

struct bw_authz {
	int64_t id;
	char authority[BW_AUTHZ_TEXT_MAX + 1];
	char reference[BW_AUTHZ_TEXT_MAX + 1];
	char jurisdiction[3];
	enum bw_authz_scope scope;
	char scope_value[BW_AUTHZ_SCOPE_MAX + 1];
	int64_t valid_from, valid_until;
	char document_sha256[65];          /* "" when no document */
	int64_t created;
	char created_by[129];
	int64_t revoked;                   /* 0 when in force */
	char revoked_by[129];
	char revoke_reason[BW_AUTHZ_REASON_MAX + 1];
	long items;                        /* entries of a file scope */
	long actions;                      /* actions citing it */
};

struct bw_authz_in {
	const char *authority, *reference, *jurisdiction;
	const char *scope;                 /* "tag:lumma", "file:PATH", ... */
	int64_t valid_from, valid_until;
	const char *document_sha256;       /* 64 hex digits or NULL */
	const struct bw_authz_item *items; /* the file scope's entries */
	size_t nitems;
};

/* Splits "kind:value" into *scope and a pointer to the value; BW_EINVAL
 * for an unknown kind or an empty value. */
int bw_authz_scope_parse(const char *text, enum bw_authz_scope *scope,
			 const char **value, struct bw_err *err);

/* Reads a file of domains, addresses and prefixes (one per line; blank
 * lines and lines starting with '#' skipped) into an array the caller
 * frees with bw_free().  BW_EINVAL naming the line for anything else
 * (a URL, a hash, garbage), BW_ELIMIT beyond BW_AUTHZ_ITEMS_MAX entries or
 * BW_AUTHZ_FILE_MAX bytes.  Duplicates are dropped. */
int bw_authz_read_items(const char *path, struct bw_authz_item **out,
			size_t *n, struct bw_err *err);

/* The SHA-256 of a file as 64 lower-case hex digits (out: 65 bytes). */
int bw_authz_file_sha256(const char *path, char out[65], struct bw_err *err);

/* Records an authorisation by operator op; *id gets its id.  BW_EINVAL for
 * a missing field, a bad jurisdiction, valid_until not after valid_from,
 * or a file scope without items. */
int bw_authz_add(struct bw_store *st, const struct bw_authz_in *in,
		 const char *op, int64_t now, int64_t *id, struct bw_err *err);

/* The authorisation id (BW_ENOTFOUND), without its counts (items and
 * actions are -1: counting actions costs a scan of them). */
int bw_authz_get(struct bw_store *st, int64_t id, struct bw_authz *out,
		 struct bw_err *err);
/* The same with items and actions counted. */
int bw_authz_get_counted(struct bw_store *st, int64_t id, struct bw_authz *out,
			 struct bw_err *err);

/* All authorisations by id, into an array freed with bw_free(). */
int bw_authz_list(struct bw_store *st, struct bw_authz **out, size_t *n,
		  struct bw_err *err);

/* Revokes authorisation id and ends every live action citing it (active
 * and held ones become revoked, the others rejected), all in one
 * transaction.  *ended (if not NULL) gets how many actions ended.
 * Revoking a revoked authorisation is BW_EINVAL. */
int bw_authz_revoke(struct bw_store *st, int64_t id, const char *op,
		    const char *reason, int64_t now, long *ended,
		    struct bw_err *err);

/* 1 if a is in force at now: not revoked and valid_from <= now < until. */
int bw_authz_in_force(const struct bw_authz *a, int64_t now);

/* A loaded scope for coverage tests (read-only after loading). */
struct bw_authz_cover;

/* Loads the scope of a: for tag, campaign and source scopes the set of
 * indicator ids it selects now; for a file scope its entries. */
int bw_authz_cover_load(struct bw_store *st, const struct bw_authz *a,
			struct bw_authz_cover **out, struct bw_err *err);
void bw_authz_cover_free(struct bw_authz_cover *c);

/* 1 if the scope covers the indicator (indicator_id 0 when the target is
 * not in the store: only a file scope can cover it then). */
int bw_authz_covers(const struct bw_authz_cover *c, int64_t indicator_id,
		    enum bw_ioc_type type, const char *value);

#endif
