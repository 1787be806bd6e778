/*
 * contact.c - points of contact (see contact.h): checked fields, rows that
 * are marked removed rather than deleted.
 */
#include "share/contact.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "share/tenant.h"

int
bw_contact_email_check(const char *email, struct bw_err *err)
{
	size_t n = strlen(email);
	const char *at = strchr(email, '@');

	if (n == 0 || n > BW_CONTACT_EMAIL_MAX)
		return bw_err_set(err, BW_EINVAL, "email: 1 to %d bytes", BW_CONTACT_EMAIL_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)email[i];
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>,;()[]\\", ch))
			return bw_err_set(err, BW_EINVAL,
					  "email '%.60s': printable ASCII without blanks, quotes, <>, commas",
					  email);
	}
	if (at == NULL || at == email || strchr(at + 1, '@') || strchr(at + 1, '.') == NULL ||
	    at[1] == '.' || email[n - 1] == '.')
		return bw_err_set(err, BW_EINVAL, "email '%.60s' is not local@domain", email);
	return BW_OK;
}

/* 1..max bytes of UTF-8 text without control characters. */
static int
text_check(const char *field, const char *v, size_t max, struct bw_err *err)
{
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return bw_err_set(err, BW_EINVAL, "%s: 1 to %zu bytes", field, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL, "%s: control character", field);
	return BW_OK;
}

int
bw_contact_add(struct bw_store *st, const char *country, const struct bw_contact *c,
	       int64_t now, int64_t *id, struct bw_err *err)
{
	struct bw_tenant t;
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = text_check("role", c->role, BW_CONTACT_ROLE_MAX, err)) ||
	    (rc = text_check("name", c->name, BW_CONTACT_NAME_MAX, err)) ||
	    (rc = bw_contact_email_check(c->email, err)))
		return rc;
	if (strlen(c->phone) > BW_CONTACT_PHONE_MAX ||
	    strspn(c->phone, "0123456789 +-().") != strlen(c->phone))
		return bw_err_set(err, BW_EINVAL,
				  "phone: up to %d digits, blanks and + - ( ) .", BW_CONTACT_PHONE_MAX);
	if (c->level < 1 || c->level > BW_CONTACT_LEVEL_MAX)
		return bw_err_set(err, BW_EINVAL, "level: 1 to %d", BW_CONTACT_LEVEL_MAX);
	rc = bw_tenant_get(st, country, &t, err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_store_prepare(st, "SELECT count(*) FROM contact WHERE tenant_id = ?1 AND removed IS NULL", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, t.id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = bw_store_fail(st, err, "counting contacts");
		goto fail;
	}
	if (sqlite3_column_int(s, 0) >= BW_CONTACTS_MAX) {
		rc = bw_err_set(err, BW_ELIMIT, "%s has %d contacts already, the most allowed",
				t.country, BW_CONTACTS_MAX);
		goto fail;
	}
	sqlite3_finalize(s);
	rc = bw_store_prepare(st, "INSERT INTO contact (tenant_id, role, name, email, phone, level, created)"
		      " VALUES (?1, ?2, ?3, ?4, nullif(?5, ''), ?6, ?7)", &s, err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(s, 1, t.id);
	sqlite3_bind_text(s, 2, c->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, c->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, c->phone, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, c->level);
	sqlite3_bind_int64(s, 7, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "adding a contact");
		goto fail;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(bw_store_db(st));
	sqlite3_finalize(s);
	return bw_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	bw_store_rollback(st);
	return rc;
}

#define CONTACT_COLS                                                           \
	"c.id, c.tenant_id, t.country, c.role, c.name, c.email,"               \
	" coalesce(c.phone, ''), c.level, c.created, coalesce(c.removed, 0)"

static int
read_contacts(struct bw_store *st, sqlite3_stmt *s, struct bw_contact **out,
	      size_t *n, struct bw_err *err)
{
	struct bw_contact *a = NULL;
	size_t cap = 0, k = 0;
	int step;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_contact *g = bw_grow(a, &cap, k + 1, sizeof(*a));
		struct bw_contact *c;
		if (g == NULL) {
			bw_free(a);
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		}
		a = g;
		c = &a[k++];
		memset(c, 0, sizeof(*c));
		c->id = sqlite3_column_int64(s, 0);
		c->tenant_id = sqlite3_column_int64(s, 1);
		snprintf(c->country, sizeof(c->country), "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(c->role, sizeof(c->role), "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(c->name, sizeof(c->name), "%s", (const char *)sqlite3_column_text(s, 4));
		snprintf(c->email, sizeof(c->email), "%s", (const char *)sqlite3_column_text(s, 5));
		snprintf(c->phone, sizeof(c->phone), "%s", (const char *)sqlite3_column_text(s, 6));
		c->level = sqlite3_column_int(s, 7);
		c->created = sqlite3_column_int64(s, 8);
		c->removed = sqlite3_column_int64(s, 9);
	}
	if (step != SQLITE_DONE) {
		bw_free(a);
		return bw_store_fail(st, err, "reading contacts");
	}
	*out = a;
	*n = k;
	return BW_OK;
}

int
bw_contact_list(struct bw_store *st, const char *country, int all,
		struct bw_contact **out, size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (country) {
		struct bw_tenant t;
		rc = bw_tenant_get(st, country, &t, err);
		if (rc)
			return rc;
	}
	rc = bw_store_prepare(st, "SELECT " CONTACT_COLS " FROM contact c JOIN tenant t ON t.id = c.tenant_id"
		      " WHERE (?1 IS NULL OR t.country = ?1) AND (?2 OR c.removed IS NULL)"
		      " ORDER BY t.country, c.level, c.id", &s, err);
	if (rc)
		return rc;
	if (country)
		sqlite3_bind_text(s, 1, country, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, all ? 1 : 0);
	rc = read_contacts(st, s, out, n, err);
	sqlite3_finalize(s);
	return rc;
}

int
bw_contact_at_level(struct bw_store *st, int64_t tenant_id, int level,
		    struct bw_contact **out, size_t *n, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = bw_store_prepare(st, "SELECT " CONTACT_COLS " FROM contact c JOIN tenant t ON t.id = c.tenant_id"
		      " WHERE c.tenant_id = ?1 AND c.level = ?2 AND c.removed IS NULL ORDER BY c.id",
		  &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int(s, 2, level);
	rc = read_contacts(st, s, out, n, err);
	sqlite3_finalize(s);
	return rc;
}

int
bw_contact_next_level(struct bw_store *st, int64_t tenant_id, int above, int *level,
		      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*level = 0;
	rc = bw_store_prepare(st, "SELECT coalesce(min(level), 0) FROM contact"
		      " WHERE tenant_id = ?1 AND level > ?2 AND removed IS NULL", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int(s, 2, above);
	if (sqlite3_step(s) == SQLITE_ROW)
		*level = sqlite3_column_int(s, 0);
	else
		rc = bw_store_fail(st, err, "finding the next level");
	sqlite3_finalize(s);
	return rc;
}

int
bw_contact_remove(struct bw_store *st, int64_t id, int64_t now, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = bw_store_prepare(st, "UPDATE contact SET removed = ?2 WHERE id = ?1 AND removed IS NULL", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = bw_store_fail(st, err, "removing a contact");
	else if (sqlite3_changes(bw_store_db(st)) == 0)
		rc = bw_err_set(err, BW_ENOTFOUND, "no contact %lld (or it was removed)", (long long)id);
	sqlite3_finalize(s);
	return rc;
}
