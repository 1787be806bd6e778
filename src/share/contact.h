/*
 * contact.h - a tenant's points of contact: who is told about an incident,
 * in which order.
 *
 * A contact has a role (free text such as "national CERT duty officer" or
 * "energy sector CSIRT"), a name, a mail address, an optional phone number
 * and a level: 1 is told first, a higher level when the lower ones did not
 * acknowledge in time (src/share/incident.h).  Removing a contact keeps
 * the row (marked removed) because incident timelines name it.
 *
 * Functions take a store connection; add and remove run their own
 * transaction.
 */
#ifndef BW_SHARE_CONTACT_H
#define BW_SHARE_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define BW_CONTACT_ROLE_MAX 64
#define BW_CONTACT_NAME_MAX 128
#define BW_CONTACT_EMAIL_MAX 254
#define BW_CONTACT_PHONE_MAX 32
#define BW_CONTACT_LEVEL_MAX 9
/* Most active contacts per tenant. */
#define BW_CONTACTS_MAX 200

struct bw_contact {
	int64_t id, tenant_id;
	char country[3];
	char role[BW_CONTACT_ROLE_MAX + 1];
	char name[BW_CONTACT_NAME_MAX + 1];
	char email[BW_CONTACT_EMAIL_MAX + 1];
	char phone[BW_CONTACT_PHONE_MAX + 1]; /* "" if none */
	int level;
	int64_t created, removed;             /* removed 0: active */
};

/* Checks a mail address: local@domain, printable ASCII without blanks,
 * quotes, angle brackets or commas, one '@', a dot in the domain. */
int bw_contact_email_check(const char *email, struct bw_err *err);

/* Adds a contact to the tenant of country (c->country is ignored).  Phone
 * may be "": digits, blanks, '+', '-', '(', ')' and '.'.  BW_EINVAL naming
 * the field that is wrong, BW_ENOTFOUND without such a tenant, BW_ELIMIT
 * over BW_CONTACTS_MAX.  *id (may be NULL) gets the new id. */
int bw_contact_add(struct bw_store *st, const char *country, const struct bw_contact *c,
		   int64_t now, int64_t *id, struct bw_err *err);

/* Active contacts of the tenant of country (NULL: every tenant) by
 * country, level and id; removed ones too with all.  Freed with bw_free(). */
int bw_contact_list(struct bw_store *st, const char *country, int all,
		    struct bw_contact **out, size_t *n, struct bw_err *err);

/* Active contacts of tenant_id at exactly level (st's transaction). */
int bw_contact_at_level(struct bw_store *st, int64_t tenant_id, int level,
			struct bw_contact **out, size_t *n, struct bw_err *err);

/* The lowest level above `above` at which tenant_id has active contacts,
 * or 0 if none. */
int bw_contact_next_level(struct bw_store *st, int64_t tenant_id, int above,
			  int *level, struct bw_err *err);

/* Removes contact id; BW_ENOTFOUND if there is no active one. */
int bw_contact_remove(struct bw_store *st, int64_t id, int64_t now,
		      struct bw_err *err);

#endif
