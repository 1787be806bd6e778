/*
 * authz.c - authorisations: records, file scopes, coverage.
 *
 * Coverage is tested often (every indicator of a policy run, every manual
 * proposal), so a scope is loaded once into a struct bw_authz_cover: the
 * set of indicator ids a tag, campaign or source scope selects (one SQL
 * query), or for a file scope a map of its domains plus the list of its
 * address ranges.  A domain is covered when it or one of its parent
 * domains is listed; an address or prefix when it lies in a listed range.
 */
#include "disrupt/authz.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"
#include "disrupt/action.h"
#include "disrupt/audit.h"
#include "disrupt/ipnet.h"
#include "feed/reader.h"

#define COVER_IDS_MAX 20000000

struct bw_authz_cover {
	enum bw_authz_scope scope;
	struct bw_strmap *set;      /* ids (8 bytes) or domain names */
	struct bw_iprange *ranges;  /* file scope: addresses and prefixes */
	size_t nranges;
};

const char *
bw_authz_scope_name(enum bw_authz_scope s)
{
	switch (s) {
	case BW_AUTHZ_SCOPE_TAG: return "tag";
	case BW_AUTHZ_SCOPE_CAMPAIGN: return "campaign";
	case BW_AUTHZ_SCOPE_SOURCE: return "source";
	case BW_AUTHZ_SCOPE_FILE: return "file";
	}
	return NULL;
}

int
bw_authz_scope_parse(const char *text, enum bw_authz_scope *scope,
		     const char **value, struct bw_err *err)
{
	const char *colon = strchr(text, ':');

	if (colon == NULL || colon[1] == '\0')
		return bw_err_set(err, BW_EINVAL,
				  "scope '%s': expected tag:NAME, campaign:NAME, source:NAME or file:PATH",
				  text);
	for (int s = BW_AUTHZ_SCOPE_TAG; s <= BW_AUTHZ_SCOPE_FILE; s++) {
		const char *name = bw_authz_scope_name((enum bw_authz_scope)s);
		if (strlen(name) == (size_t)(colon - text) &&
		    strncmp(text, name, (size_t)(colon - text)) == 0) {
			*scope = (enum bw_authz_scope)s;
			*value = colon + 1;
			if (strlen(*value) > BW_AUTHZ_SCOPE_MAX)
				return bw_err_set(err, BW_EINVAL, "scope value longer than %d bytes",
						  BW_AUTHZ_SCOPE_MAX);
			return BW_OK;
		}
	}
	return bw_err_set(err, BW_EINVAL,
			  "scope '%s': unknown kind (tag, campaign, source or file)", text);
}

static int
item_cmp(const void *a, const void *b)
{
	const struct bw_authz_item *x = a, *y = b;

	if (x->type != y->type)
		return (int)x->type - (int)y->type;
	return strcmp(x->value, y->value);
}

int
bw_authz_read_items(const char *path, struct bw_authz_item **out, size_t *n,
		    struct bw_err *err)
{
	struct bw_reader *rd = NULL;
	char line[1024];
	struct bw_authz_item *v = NULL;
	struct bw_ioc ioc;
	size_t len = 0, cap = 0, w = 0;
	long lineno = 0;
	int rc, got;

	*out = NULL;
	*n = 0;
	rc = bw_reader_open_file(path, &rd, err);
	if (rc)
		return rc;
	while ((got = bw_reader_text_line(rd, line, sizeof(line), BW_AUTHZ_FILE_MAX,
					  &lineno, err)) == 1) {
		if (bw_ioc_parse(line, strlen(line), BW_IOC_ANY, &ioc, err) != BW_OK) {
			rc = bw_err_prefix(err, "%s:%ld", path, lineno);
			goto out;
		}
		if (ioc.type != BW_IOC_DOMAIN && ioc.type != BW_IOC_IPV4 &&
		    ioc.type != BW_IOC_IPV6 && ioc.type != BW_IOC_CIDR) {
			rc = bw_err_set(err, BW_EINVAL,
					"%s:%ld: a %s; a scope file lists domains, addresses and prefixes",
					path, lineno, bw_ioc_type_name(ioc.type));
			goto out;
		}
		if (len == BW_AUTHZ_ITEMS_MAX) {
			rc = bw_err_set(err, BW_ELIMIT, "%s: more than %d entries", path,
					BW_AUTHZ_ITEMS_MAX);
			goto out;
		}
		if (len == cap) {
			struct bw_authz_item *nv = bw_grow(v, &cap, len + 1, sizeof(*v));
			if (nv == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		v[len].type = ioc.type;
		snprintf(v[len].value, sizeof(v[len].value), "%s", ioc.value);
		len++;
	}
	if (got < 0) {
		rc = -got;
		goto out;
	}
	if (len > 0) {
		qsort(v, len, sizeof(*v), item_cmp);
		for (size_t i = 0; i < len; i++)
			if (w == 0 || item_cmp(&v[w - 1], &v[i]) != 0)
				v[w++] = v[i];
	}
	*out = v;
	*n = w;
	v = NULL;
out:
	bw_reader_free(rd);
	bw_free(v);
	return rc;
}

int
bw_authz_file_sha256(const char *path, char out[65], struct bw_err *err)
{
	struct sha256_ctx c;
	unsigned char buf[65536], d[SHA256_DIGEST_SIZE];
	FILE *f = fopen(path, "rb");
	size_t r;

	if (f == NULL)
		return bw_err_set(err, BW_EIO, "cannot read %s: %s", path, strerror(errno));
	sha256_init(&c);
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(&c, r, buf);
	if (ferror(f)) {
		fclose(f);
		return bw_err_set(err, BW_EIO, "error reading %s", path);
	}
	fclose(f);
	sha256_digest(&c, sizeof(d), d);
	bw_audit_hex(d, sizeof(d), out);
	return BW_OK;
}

static int
check_text(const char *s, size_t max, const char *what, struct bw_err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return bw_err_set(err, BW_EINVAL, "%s is required", what);
	if (n > max)
		return bw_err_set(err, BW_EINVAL, "%s longer than %zu bytes", what, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bw_err_set(err, BW_EINVAL, "%s: control character", what);
	return BW_OK;
}

int
bw_authz_add(struct bw_store *st, const struct bw_authz_in *in, const char *op,
	     int64_t now, int64_t *id, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	enum bw_authz_scope scope;
	const char *value;
	char cc[3], subject[64], *detail = NULL;
	int64_t aid;
	json_t *dj = NULL;
	int rc;

	if ((rc = bw_audit_check_operator(op, "operator", err)) ||
	    (rc = check_text(in->authority, BW_AUTHZ_TEXT_MAX, "authority", err)) ||
	    (rc = check_text(in->reference, BW_AUTHZ_TEXT_MAX, "reference", err)) ||
	    (rc = bw_authz_scope_parse(in->scope ? in->scope : "", &scope, &value, err)))
		return rc;
	if (in->jurisdiction == NULL || strlen(in->jurisdiction) != 2 ||
	    !isalpha((unsigned char)in->jurisdiction[0]) ||
	    !isalpha((unsigned char)in->jurisdiction[1]))
		return bw_err_set(err, BW_EINVAL,
				  "jurisdiction: two letters (ISO 3166-1 alpha-2) are required");
	cc[0] = (char)toupper((unsigned char)in->jurisdiction[0]);
	cc[1] = (char)toupper((unsigned char)in->jurisdiction[1]);
	cc[2] = '\0';
	if (in->valid_from <= 0 || in->valid_until <= in->valid_from)
		return bw_err_set(err, BW_EINVAL, "valid-until must be after valid-from");
	if (in->document_sha256 && strlen(in->document_sha256) != 64)
		return bw_err_set(err, BW_EINVAL, "document SHA-256: 64 hex digits");
	if (scope == BW_AUTHZ_SCOPE_FILE && in->nitems == 0)
		return bw_err_set(err, BW_EINVAL, "scope file %s lists nothing", value);
	if (scope != BW_AUTHZ_SCOPE_FILE && in->nitems > 0)
		return bw_err_set(err, BW_EINVAL, "items are only for a file scope");
	if (in->nitems > BW_AUTHZ_ITEMS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %d scope entries", BW_AUTHZ_ITEMS_MAX);

	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db, "INSERT INTO authz(authority, reference, jurisdiction,"
			       " scope_kind, scope_value, valid_from, valid_until,"
			       " document_sha256, created, created_by)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "adding an authorisation");
		goto out;
	}
	sqlite3_bind_text(s, 1, in->authority, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, in->reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, cc, 2, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, bw_authz_scope_name(scope), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, in->valid_from);
	sqlite3_bind_int64(s, 7, in->valid_until);
	if (in->document_sha256)
		sqlite3_bind_text(s, 8, in->document_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, now);
	sqlite3_bind_text(s, 10, op, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "adding an authorisation");
		goto out;
	}
	aid = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(s);
	s = NULL;
	if (in->nitems) {
		if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO authz_item(authz_id, type, value)"
				       " VALUES (?1, ?2, ?3)", -1, &s, NULL) != SQLITE_OK) {
			rc = bw_store_fail(st, err, "adding scope entries");
			goto out;
		}
		for (size_t i = 0; i < in->nitems; i++) {
			sqlite3_bind_int64(s, 1, aid);
			sqlite3_bind_int(s, 2, in->items[i].type);
			sqlite3_bind_text(s, 3, in->items[i].value, -1, SQLITE_STATIC);
			if (sqlite3_step(s) != SQLITE_DONE) {
				rc = bw_store_fail(st, err, "adding scope entries");
				goto out;
			}
			sqlite3_reset(s);
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	dj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:I}",
		       "authority", in->authority, "reference", in->reference,
		       "jurisdiction", cc, "scope", bw_authz_scope_name(scope),
		       "scope_value", value, "valid_from", (json_int_t)in->valid_from,
		       "valid_until", (json_int_t)in->valid_until,
		       "document_sha256", in->document_sha256 ? json_string(in->document_sha256)
							      : json_null(),
		       "items", (json_int_t)in->nitems);
	detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	if (detail == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(subject, sizeof(subject), "authz:%lld", (long long)aid);
	rc = bw_audit_append(st, now, op, "authz.add", subject, detail, NULL, err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && id)
		*id = aid;
out:
	sqlite3_finalize(s);
	json_decref(dj);
	bw_free(detail);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

#define AUTHZ_COLS                                                            \
	"a.id, a.authority, a.reference, a.jurisdiction, a.scope_kind,"       \
	" a.scope_value, a.valid_from, a.valid_until, a.document_sha256,"     \
	" a.created, a.created_by, a.revoked, a.revoked_by, a.revoke_reason," \
	" (SELECT count(*) FROM authz_item i WHERE i.authz_id = a.id),"       \
	" (SELECT count(*) FROM action x WHERE x.authz_id = a.id)"
/* the same without the counts (-1), for the hot paths */
#define AUTHZ_COLS_BASIC                                                      \
	"a.id, a.authority, a.reference, a.jurisdiction, a.scope_kind,"       \
	" a.scope_value, a.valid_from, a.valid_until, a.document_sha256,"     \
	" a.created, a.created_by, a.revoked, a.revoked_by, a.revoke_reason," \
	" -1, -1"

/* One row of AUTHZ_COLS into out (a struct bw_authz). */
static void
fill(sqlite3_stmt *s, void *out)
{
	struct bw_authz *a = out;
	char kind[16];

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	bw_store_copy_text(s, 1, a->authority, sizeof(a->authority));
	bw_store_copy_text(s, 2, a->reference, sizeof(a->reference));
	bw_store_copy_text(s, 3, a->jurisdiction, sizeof(a->jurisdiction));
	bw_store_copy_text(s, 4, kind, sizeof(kind));
	for (int k = BW_AUTHZ_SCOPE_TAG; k <= BW_AUTHZ_SCOPE_FILE; k++)
		if (strcmp(kind, bw_authz_scope_name((enum bw_authz_scope)k)) == 0)
			a->scope = (enum bw_authz_scope)k;
	bw_store_copy_text(s, 5, a->scope_value, sizeof(a->scope_value));
	a->valid_from = sqlite3_column_int64(s, 6);
	a->valid_until = sqlite3_column_int64(s, 7);
	bw_store_copy_text(s, 8, a->document_sha256, sizeof(a->document_sha256));
	a->created = sqlite3_column_int64(s, 9);
	bw_store_copy_text(s, 10, a->created_by, sizeof(a->created_by));
	a->revoked = sqlite3_column_int64(s, 11);
	bw_store_copy_text(s, 12, a->revoked_by, sizeof(a->revoked_by));
	bw_store_copy_text(s, 13, a->revoke_reason, sizeof(a->revoke_reason));
	a->items = (long)sqlite3_column_int64(s, 14);
	a->actions = (long)sqlite3_column_int64(s, 15);
}

static int
get(struct bw_store *st, int64_t id, int counts, struct bw_authz *out,
    struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v3(bw_store_db(st),
			       counts ? "SELECT " AUTHZ_COLS " FROM authz a WHERE a.id = ?1"
				      : "SELECT " AUTHZ_COLS_BASIC " FROM authz a WHERE a.id = ?1",
			       -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading an authorisation");
	sqlite3_bind_int64(s, 1, id);
	rc = bw_store_read_row(st, s, fill, out, "reading an authorisation", err);
	if (rc == BW_ENOTFOUND)
		bw_err_set(err, BW_ENOTFOUND, "no authorisation %lld", (long long)id);
	sqlite3_finalize(s);
	return rc;
}

int
bw_authz_get(struct bw_store *st, int64_t id, struct bw_authz *out,
	     struct bw_err *err)
{
	return get(st, id, 0, out, err);
}

int
bw_authz_get_counted(struct bw_store *st, int64_t id, struct bw_authz *out,
		     struct bw_err *err)
{
	return get(st, id, 1, out, err);
}

int
bw_authz_list(struct bw_store *st, struct bw_authz **out, size_t *n,
	      struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT " AUTHZ_COLS " FROM authz a ORDER BY a.id",
			       -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "listing authorisations");
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, fill, &rows, n,
				"listing authorisations", err);
	*out = rows;
	sqlite3_finalize(s);
	return rc;
}

int
bw_authz_in_force(const struct bw_authz *a, int64_t now)
{
	return a->revoked == 0 && a->valid_from <= now && now < a->valid_until;
}

int
bw_authz_revoke(struct bw_store *st, int64_t id, const char *op,
		const char *reason, int64_t now, long *ended, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	struct bw_authz a;
	char subject[64], *detail = NULL;
	json_t *dj = NULL;
	long n = 0;
	int rc;

	if ((rc = bw_audit_check_operator(op, "operator", err)) ||
	    (rc = check_text(reason, BW_AUTHZ_REASON_MAX, "reason", err)))
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_authz_get(st, id, &a, err);
	if (rc)
		goto out;
	if (a.revoked) {
		rc = bw_err_set(err, BW_EINVAL, "authorisation %lld was already revoked",
				(long long)id);
		goto out;
	}
	if (sqlite3_prepare_v2(bw_store_db(st), "UPDATE authz SET revoked = ?1, revoked_by = ?2,"
			       " revoke_reason = ?3 WHERE id = ?4", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "revoking an authorisation");
		goto out;
	}
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, id);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "revoking an authorisation");
		goto out;
	}
	snprintf(subject, sizeof(subject), "authz:%lld", (long long)id);
	dj = json_pack("{s:s}", "reason", reason);
	detail = dj ? json_dumps(dj, JSON_COMPACT) : NULL;
	if (detail == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	rc = bw_audit_append(st, now, op, "authz.revoke", subject, detail, NULL, err);
	if (rc)
		goto out;
	rc = bw_action_end_for_authz(st, id, op, reason, now, &n, err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && ended)
		*ended = n;
out:
	sqlite3_finalize(s);
	json_decref(dj);
	bw_free(detail);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

/* ---- coverage ------------------------------------------------------------ */

void
bw_authz_cover_free(struct bw_authz_cover *c)
{
	if (c == NULL)
		return;
	bw_strmap_free(c->set);
	bw_free(c->ranges);
	bw_free(c);
}

static int
load_ids(struct bw_store *st, struct bw_authz_cover *c, const struct bw_authz *a,
	 struct bw_err *err)
{
	static const char *const sql[] = {
		[BW_AUTHZ_SCOPE_TAG] =
			"SELECT DISTINCT r.indicator_id FROM tag t"
			" JOIN record_tag rt ON rt.tag_id = t.id"
			" JOIN record r ON r.id = rt.record_id"
			" WHERE t.kind IN ('tag', 'malware', 'actor') AND t.name = ?1 COLLATE NOCASE"
			" AND r.revoked = 0 AND r.expired = 0",
		[BW_AUTHZ_SCOPE_CAMPAIGN] =
			"SELECT DISTINCT r.indicator_id FROM tag t"
			" JOIN record_tag rt ON rt.tag_id = t.id"
			" JOIN record r ON r.id = rt.record_id"
			" WHERE t.kind = 'campaign' AND t.name = ?1 COLLATE NOCASE"
			" AND r.revoked = 0 AND r.expired = 0",
		[BW_AUTHZ_SCOPE_SOURCE] =
			"SELECT DISTINCT r.indicator_id FROM source s"
			" JOIN record r ON r.source_id = s.id"
			" WHERE s.name = ?1 AND r.revoked = 0 AND r.expired = 0",
	};
	sqlite3_stmt *s = NULL;
	int rc, step;

	rc = bw_strmap_new(COVER_IDS_MAX, &c->set, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(bw_store_db(st), sql[a->scope], -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "loading a scope");
	sqlite3_bind_text(s, 1, a->scope_value, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		rc = bw_strmap_put(c->set, (const char *)&id, sizeof(id), NULL, err);
		if (rc)
			goto out;
	}
	rc = step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "loading a scope");
out:
	sqlite3_finalize(s);
	return rc;
}

static int
load_items(struct bw_store *st, struct bw_authz_cover *c, const struct bw_authz *a,
	   struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc, step;

	rc = bw_strmap_new(BW_AUTHZ_ITEMS_MAX, &c->set, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT type, value FROM authz_item"
			       " WHERE authz_id = ?1", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "loading a scope");
	sqlite3_bind_int64(s, 1, a->id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int type = sqlite3_column_int(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);
		if (v == NULL)
			continue;
		if (type == BW_IOC_DOMAIN) {
			rc = bw_strmap_put(c->set, v, strlen(v), NULL, err);
			if (rc)
				goto out;
			continue;
		}
		if (c->nranges == cap) {
			struct bw_iprange *nv = bw_grow(c->ranges, &cap, c->nranges + 1,
							sizeof(*nv));
			if (nv == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			c->ranges = nv;
		}
		if (bw_iprange_parse(v, &c->ranges[c->nranges]) == 0)
			c->nranges++;
	}
	rc = step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "loading a scope");
out:
	sqlite3_finalize(s);
	return rc;
}

int
bw_authz_cover_load(struct bw_store *st, const struct bw_authz *a,
		    struct bw_authz_cover **out, struct bw_err *err)
{
	struct bw_authz_cover *c;
	int rc;

	*out = NULL;
	c = bw_calloc(1, sizeof(*c));
	if (c == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	c->scope = a->scope;
	if (a->scope == BW_AUTHZ_SCOPE_FILE)
		rc = load_items(st, c, a, err);
	else if (a->scope >= BW_AUTHZ_SCOPE_TAG && a->scope <= BW_AUTHZ_SCOPE_SOURCE)
		rc = load_ids(st, c, a, err);
	else
		rc = bw_err_set(err, BW_EINVAL, "authorisation %lld has an unknown scope",
				(long long)a->id);
	if (rc) {
		bw_authz_cover_free(c);
		return rc;
	}
	*out = c;
	return BW_OK;
}

int
bw_authz_covers(const struct bw_authz_cover *c, int64_t indicator_id,
		enum bw_ioc_type type, const char *value)
{
	if (c->scope != BW_AUTHZ_SCOPE_FILE)
		return indicator_id > 0 &&
		       bw_strmap_find(c->set, (const char *)&indicator_id,
				      sizeof(indicator_id), NULL);
	if (type == BW_IOC_DOMAIN) {
		for (const char *p = value; p != NULL; ) {
			if (bw_strmap_find(c->set, p, strlen(p), NULL))
				return 1;
			p = strchr(p, '.');
			if (p)
				p++;
		}
		return 0;
	}
	if (type == BW_IOC_IPV4 || type == BW_IOC_IPV6 || type == BW_IOC_CIDR) {
		struct bw_iprange r;
		if (bw_iprange_parse(value, &r) != 0)
			return 0;
		for (size_t i = 0; i < c->nranges; i++)
			if (r.family == c->ranges[i].family && bw_iprange_within(&r, &c->ranges[i]))
				return 1;
	}
	return 0;
}
