/*
 * notice.c - the abuse-contact directory and the takedown notices written
 * to the outbox (see notice.h for the file format and the message).
 *
 * Notices are built inside the transaction that activates the action, so
 * they are composed from the store only (no network, no files): the
 * contacts, the reporter, the authorisation and the evidence about the
 * target.  Building one notice is a few small queries and a few KiB of
 * text; an action has at most a handful of contacts.
 */
#include "disrupt/notice.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "disrupt/audit.h"
#include "disrupt/authz.h"
#include "disrupt/ipnet.h"
#include "feed/reader.h"

#define NOTICE_MAX (256 * 1024)
#define NOTICE_CONTACTS_MAX 16
#define NOTICE_PRIORITY 50

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0 || b->len + (size_t)n >= NOTICE_MAX) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap;
			char *np = bw_grow(b->p, &cap, b->len + (size_t)n + 1, 1);
			if (np == NULL) {
				b->failed = 1;
				return;
			}
			b->p = np;
			b->cap = cap;
		}
	}
}

/* ---- directory ------------------------------------------------------------ */

static int
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') ||
	    strchr(at + 1, '.') == NULL)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == '<' || *s == '>' || *s == ',' ||
		    *s == '"' || *s == 0x7f)
			return 0;
	return 1;
}

/* Splits line into exactly 4 comma-separated fields (no quoting: names
 * with commas are not supported); trims blanks. */
static int
split4(char *line, char *f[4])
{
	int n = 0;
	char *p = line;

	while (n < 4) {
		char *comma = strchr(p, ',');
		char *e;
		while (isspace((unsigned char)*p))
			p++;
		f[n++] = p;
		if (comma)
			*comma = '\0';
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n == 4 && strchr(f[3], ',') == NULL ? 0 : -1;
}

static int
parse_match(const char *role, char *m, struct bw_err *err)
{
	struct bw_ioc ioc;

	if (strcmp(role, "reporter") == 0) {
		if (strcmp(m, "-") != 0)
			return bw_err_set(err, BW_EINVAL, "a reporter line has match \"-\"");
		return BW_OK;
	}
	if (strncmp(m, "domain:", 7) == 0) {
		if (bw_ioc_parse(m + 7, strlen(m + 7), BW_IOC_DOMAIN, &ioc, NULL) == BW_OK &&
		    ioc.type == BW_IOC_DOMAIN) {
			snprintf(m, BW_CONTACT_TEXT_MAX, "domain:%s", ioc.value);
			return BW_OK;
		}
		/* a bare TLD ("domain:ee") is a valid match too */
		for (const char *p = m + 7; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-')
				return bw_err_set(err, BW_EINVAL, "bad domain in '%s'", m);
		if (m[7] == '\0')
			return bw_err_set(err, BW_EINVAL, "empty domain in match");
		for (char *p = m + 7; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return BW_OK;
	}
	if (strncmp(m, "cidr:", 5) == 0) {
		if (bw_ioc_parse(m + 5, strlen(m + 5), BW_IOC_CIDR, &ioc, NULL) != BW_OK)
			return bw_err_set(err, BW_EINVAL, "bad prefix in '%s'", m);
		snprintf(m, BW_CONTACT_TEXT_MAX, "cidr:%s", ioc.value);
		return BW_OK;
	}
	return bw_err_set(err, BW_EINVAL, "match '%s': domain:NAME or cidr:PREFIX", m);
}

int
bw_contacts_load(struct bw_store *st, const char *path, const char *op,
		 int64_t now, long *n, struct bw_err *err)
{
	sqlite3 *db = bw_store_db(st);
	sqlite3_stmt *s = NULL;
	struct bw_reader *rd = NULL;
	char line[1024], sha[65], *detail = NULL;
	long lineno = 0, count = 0, reporters = 0, lines = 0;
	json_t *dj = NULL;
	int rc, got;

	rc = bw_audit_check_operator(op, "operator", err);
	if (rc)
		return rc;
	rc = bw_authz_file_sha256(path, sha, err);
	if (rc)
		return rc;
	rc = bw_reader_open_file(path, &rd, err);
	if (rc)
		return rc;
	rc = bw_store_begin(st, err);
	if (rc)
		goto out;
	if (sqlite3_exec(db, "DELETE FROM abuse_contact", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO abuse_contact(role, match, name, email, added)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "loading contacts");
		goto out;
	}
	while ((got = bw_reader_text_line(rd, line, sizeof(line), BW_CONTACTS_FILE_MAX,
					  &lineno, err)) == 1) {
		char *fld[4], match[BW_CONTACT_TEXT_MAX + 8];
		if (split4(line, fld) != 0) {
			rc = bw_err_set(err, BW_EINVAL, "%s:%ld: expected role,match,name,email",
					path, lineno);
			goto out;
		}
		if (lines++ == 0 && strcmp(fld[0], "role") == 0)
			continue; /* a header */
		if (strcmp(fld[0], "reporter") != 0 && strcmp(fld[0], "registrar") != 0 &&
		    strcmp(fld[0], "hosting") != 0) {
			rc = bw_err_set(err, BW_EINVAL,
					"%s:%ld: role '%s': reporter, registrar or hosting",
					path, lineno, fld[0]);
			goto out;
		}
		if (strlen(fld[1]) >= BW_CONTACT_TEXT_MAX || fld[2][0] == '\0' ||
		    strlen(fld[2]) > BW_CONTACT_TEXT_MAX || strlen(fld[3]) > BW_CONTACT_TEXT_MAX ||
		    !valid_email(fld[3])) {
			rc = bw_err_set(err, BW_EINVAL, "%s:%ld: needs a name and an e-mail address",
					path, lineno);
			goto out;
		}
		snprintf(match, sizeof(match), "%s", fld[1]);
		rc = parse_match(fld[0], match, err);
		if (rc) {
			bw_err_prefix(err, "%s:%ld", path, lineno);
			goto out;
		}
		if (strcmp(fld[0], "reporter") == 0 && ++reporters > 1) {
			rc = bw_err_set(err, BW_EINVAL, "%s:%ld: a second reporter line", path, lineno);
			goto out;
		}
		if (++count > BW_CONTACTS_MAX) {
			rc = bw_err_set(err, BW_ELIMIT, "%s: more than %d contacts", path,
					BW_CONTACTS_MAX);
			goto out;
		}
		sqlite3_bind_text(s, 1, fld[0], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, match, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, fld[2], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, fld[3], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, now);
		if (sqlite3_step(s) != SQLITE_DONE) {
			rc = bw_store_fail(st, err, "loading contacts");
			goto out;
		}
		sqlite3_reset(s);
	}
	if (got < 0) {
		rc = -got;
		goto out;
	}
	if (count > reporters && reporters == 0) {
		rc = bw_err_set(err, BW_EINVAL,
				"%s: no reporter line (reporter,-,NAME,EMAIL: who the notices come from)",
				path);
		goto out;
	}
	dj = json_pack("{s:s, s:s, s:I}", "file", path, "sha256", sha, "contacts",
		       (json_int_t)count);
	detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	if (detail == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	rc = bw_audit_append(st, now, op, "contacts.load", "contacts", detail, NULL, err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
	if (rc == BW_OK && n)
		*n = count;
out:
	sqlite3_finalize(s);
	bw_reader_free(rd);
	json_decref(dj);
	bw_free(detail);
	if (rc)
		bw_store_rollback(st);
	return rc;
}

/* One row of (role, match, name, email) into out (a struct bw_contact). */
static void
fill_contact(sqlite3_stmt *s, void *out)
{
	struct bw_contact *c = out;

	bw_store_copy_text(s, 0, c->role, sizeof(c->role));
	bw_store_copy_text(s, 1, c->match, sizeof(c->match));
	bw_store_copy_text(s, 2, c->name, sizeof(c->name));
	bw_store_copy_text(s, 3, c->email, sizeof(c->email));
}

int
bw_contacts_list(struct bw_store *st, struct bw_contact **out, size_t *n,
		 struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	void *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT role, match, name, email"
			       " FROM abuse_contact ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "listing contacts");
	rc = bw_store_read_rows(st, s, sizeof(**out), SIZE_MAX, fill_contact, &rows, n,
				"listing contacts", err);
	*out = rows;
	sqlite3_finalize(s);
	return rc;
}

/* ---- notices --------------------------------------------------------------- */

struct pick {
	struct bw_contact c[NOTICE_CONTACTS_MAX];
	size_t n;
};

static void
pick_add(struct pick *p, const struct bw_contact *c)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->c[i].email, c->email) == 0)
			return;
	if (p->n < NOTICE_CONTACTS_MAX)
		p->c[p->n++] = *c;
}

/* The addresses the store says domain resolves to: the live domain|ip
 * pairs of every source (the resolution table). */
static int
resolutions(struct bw_store *st, const char *domain, json_t *ips,
	    struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT DISTINCT i.value FROM resolution r"
			       " JOIN indicator i ON i.id = r.ip_id"
			       " WHERE r.domain = ?1 AND r.revoked = 0"
			       " ORDER BY i.value LIMIT 64", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "reading resolutions");
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(ips, json_string((const char *)sqlite3_column_text(s, 0)));
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "reading resolutions");
}

/* The entry of role whose domain match is the longest suffix of domain. */
static int
longest_domain(struct bw_store *st, const char *role, const char *domain,
	       struct pick *p, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	/* match is "domain:" followed by domain itself or one of its parents */
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT role, match, name, email FROM abuse_contact"
			       " WHERE role = ?1 AND match LIKE 'domain:%'"
			       " AND (?2 = substr(match, 8) OR substr(?2, -length(match) + 6) = '.' || substr(match, 8))"
			       " ORDER BY length(match) DESC, id LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "choosing contacts");
	sqlite3_bind_text(s, 1, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		struct bw_contact c;
		fill_contact(s, &c);
		pick_add(p, &c);
	}
	sqlite3_finalize(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "choosing contacts");
}

/* The reporter, the registrar and the hosts of domain (which resolves to
 * ips).  *have_reporter 0 when the directory has no reporter. */
static int
choose(struct bw_store *st, const char *domain, json_t *ips,
       struct bw_contact *reporter, int *have_reporter, struct pick *p,
       struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*have_reporter = 0;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT role, match, name, email FROM abuse_contact"
			       " WHERE role = 'reporter' LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "choosing contacts");
	if (sqlite3_step(s) == SQLITE_ROW) {
		fill_contact(s, reporter);
		*have_reporter = 1;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (!*have_reporter)
		return BW_OK;
	if ((rc = longest_domain(st, "registrar", domain, p, err)) ||
	    (rc = longest_domain(st, "hosting", domain, p, err)))
		return rc;
	if (json_array_size(ips) == 0)
		return BW_OK;
	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT role, match, name, email FROM abuse_contact"
			       " WHERE role = 'hosting' AND match LIKE 'cidr:%' ORDER BY id", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "choosing contacts");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct bw_contact c;
		struct bw_iprange net, a;
		fill_contact(s, &c);
		if (bw_iprange_parse(c.match + 5, &net) != 0)
			continue;
		for (size_t j = 0; j < json_array_size(ips); j++)
			if (bw_iprange_parse(json_string_value(json_array_get(ips, j)), &a) == 0 &&
			    bw_iprange_within(&a, &net)) {
				pick_add(p, &c);
				break;
			}
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? BW_OK : bw_store_fail(st, err, "choosing contacts");
}

/* Evidence about the target: its records (source, confidence, first and
 * last seen, tags) and sightings. */
static int
evidence(struct bw_store *st, const struct bw_action *a, json_t *ev,
	 struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	json_t *sources = json_array(), *tags = json_array();
	int64_t first = 0, last = 0, sightings = 0;
	int maxconf = -1, step, rc = BW_OK;

	if (sources == NULL || tags == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT s.name, r.confidence, r.first_seen, r.last_seen FROM indicator i"
			       " JOIN record r ON r.indicator_id = i.id JOIN source s ON s.id = r.source_id"
			       " WHERE i.type = ?1 AND i.value = ?2 AND r.revoked = 0 ORDER BY s.name",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading evidence");
		goto out;
	}
	sqlite3_bind_int(s, 1, a->type);
	sqlite3_bind_text(s, 2, a->target, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t f = sqlite3_column_int64(s, 2), l = sqlite3_column_int64(s, 3);
		char tf[BW_TIME_TEXT_MAX], tl[BW_TIME_TEXT_MAX];
		json_t *o = json_pack("{s:s, s:o, s:s, s:s}",
				      "source", (const char *)sqlite3_column_text(s, 0),
				      "confidence", sqlite3_column_type(s, 1) == SQLITE_NULL
							    ? json_null()
							    : json_integer(sqlite3_column_int(s, 1)),
				      "first_seen", bw_time_format(f, tf),
				      "last_seen", bw_time_format(l, tl));
		if (sqlite3_column_type(s, 1) != SQLITE_NULL && sqlite3_column_int(s, 1) > maxconf)
			maxconf = sqlite3_column_int(s, 1);
		if (f && (first == 0 || f < first))
			first = f;
		if (l > last)
			last = l;
		json_array_append_new(sources, o);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading evidence");
		goto out;
	}
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT DISTINCT t.kind, t.name FROM indicator i"
			       " JOIN record r ON r.indicator_id = i.id"
			       " JOIN record_tag rt ON rt.record_id = r.id JOIN tag t ON t.id = rt.tag_id"
			       " WHERE i.type = ?1 AND i.value = ?2 ORDER BY t.kind, t.name LIMIT 64",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading evidence");
		goto out;
	}
	sqlite3_bind_int(s, 1, a->type);
	sqlite3_bind_text(s, 2, a->target, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		char t[BW_TAG_NAME_MAX + 16];
		bw_tag_format((const char *)sqlite3_column_text(s, 0),
			      (const char *)sqlite3_column_text(s, 1), t, sizeof(t));
		json_array_append_new(tags, json_string(t));
	}
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT coalesce(sum(g.count), 0) FROM indicator i"
			       " JOIN sighting g ON g.indicator_id = i.id WHERE i.type = ?1 AND i.value = ?2",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading evidence");
		goto out;
	}
	sqlite3_bind_int(s, 1, a->type);
	sqlite3_bind_text(s, 2, a->target, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		sightings = sqlite3_column_int64(s, 0);
	{
		char tf[BW_TIME_TEXT_MAX], tl[BW_TIME_TEXT_MAX];
		json_object_set_new(ev, "sources", sources);
		json_object_set_new(ev, "tags", tags);
		sources = tags = NULL;
		json_object_set_new(ev, "confidence", maxconf >= 0 ? json_integer(maxconf) : json_null());
		json_object_set_new(ev, "first_seen", first ? json_string(bw_time_format(first, tf))
							    : json_null());
		json_object_set_new(ev, "last_seen", last ? json_string(bw_time_format(last, tl))
							  : json_null());
		json_object_set_new(ev, "sightings", json_integer(sightings));
		/* the domain-risk model's score, when the policy had one */
		if (a->score >= 0)
			json_object_set_new(ev, "model_score", json_real(a->score));
	}
out:
	sqlite3_finalize(s);
	json_decref(sources);
	json_decref(tags);
	return rc;
}

static char *
base64(const char *s)
{
	size_t n = strlen(s), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = bw_malloc(cap);

	if (out)
		sodium_bin2base64(out, cap, (const unsigned char *)s, n,
				  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static int
insert_outbox(struct bw_store *st, const char *email, const char *idem,
	      const char *subject, const char *ctype, const struct buf *body,
	      int64_t now, long *queued, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(bw_store_db(st),
			       "INSERT OR IGNORE INTO outbox(created, channel, destination, priority,"
			       " idem_key, subject, content_type, body, next_attempt)"
			       " VALUES (?1, 'smtp', ?2, ?3, ?4, ?5, ?6, ?7, ?1)", -1, &s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "queueing a notice");
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, email, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, NOTICE_PRIORITY);
	sqlite3_bind_text(s, 4, idem, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, ctype, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, body->p, (int)body->len, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return bw_store_fail(st, err, "queueing a notice");
	if (sqlite3_changes(bw_store_db(st)) == 1)
		(*queued)++;
	return BW_OK;
}

int
bw_notice_queue_in_txn(struct bw_store *st, const struct bw_action *a,
		       int64_t now, long *queued, struct bw_err *err)
{
	struct pick p;
	struct bw_contact reporter;
	struct bw_authz z;
	json_t *ips = NULL, *ev = NULL;
	char *evtext = NULL, *ev64 = NULL, *xarf = NULL, *detail = NULL;
	char ts[BW_TIME_TEXT_MAX], tv[BW_TIME_TEXT_MAX], te[BW_TIME_TEXT_MAX];
	long n = 0;
	int have_reporter, rc;

	if (queued)
		*queued = 0;
	if (a->type != BW_IOC_DOMAIN)
		return BW_OK;
	memset(&p, 0, sizeof(p));
	ips = json_array();
	ev = json_object();
	if (ips == NULL || ev == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	/* nothing to do without a directory (a cheap test: the policy may
	 * activate thousands of domains in one run) */
	rc = choose(st, a->target, ips, &reporter, &have_reporter, &p, err);
	if (rc || !have_reporter)
		goto out;
	if ((rc = resolutions(st, a->target, ips, err)))
		goto out;
	if (json_array_size(ips) > 0) {
		memset(&p, 0, sizeof(p));
		rc = choose(st, a->target, ips, &reporter, &have_reporter, &p, err);
		if (rc)
			goto out;
	}
	if (p.n == 0 || !have_reporter)
		goto out;
	if ((rc = bw_authz_get(st, a->authz_id, &z, err)) ||
	    (rc = evidence(st, a, ev, err)))
		goto out;
	json_object_set(ev, "resolves_to", ips);
	evtext = json_dumps(ev, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	ev64 = evtext ? base64(evtext) : NULL;
	if (ev64 == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	bw_time_format(now, ts);
	bw_time_format(z.valid_until, tv);
	bw_time_format(a->expires, te);
	for (size_t i = 0; i < p.n; i++) {
		const struct bw_contact *c = &p.c[i];
		const char *dom = strchr(reporter.email, '@') + 1;
		char idem[BW_CONTACT_TEXT_MAX + 64], subject[512], ctype[128], boundary[64];
		char uuid[BW_UUID_TEXT_LEN + 1];
		const char *parts[2];
		json_t *x, *conf = json_object_get(ev, "confidence");
		struct buf b = {0};

		snprintf(idem, sizeof(idem), "takedown:%lld:%s", (long long)a->id, c->email);
		parts[0] = "takedown";
		parts[1] = idem;
		bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 2, uuid);
		x = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s},"
			      " s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s,"
			      " s:[{s:s, s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s}, s:I}",
			      "xarf_version", "4.0.0", "report_id", uuid, "timestamp", ts,
			      "reporter", "org", reporter.name, "contact", reporter.email,
			      "domain", dom,
			      "sender", "org", reporter.name, "contact", reporter.email,
			      "domain", dom,
			      "source_identifier", a->target, "category", "reputation",
			      "type", "threat_intelligence", "threat_type", "malicious_domain",
			      "evidence_source", "threat_intelligence",
			      "requested_action", "takedown",
			      "confidence", json_is_integer(conf)
						    ? json_real((double)json_integer_value(conf) / 100.0)
						    : json_null(),
			      "description", "Domain blocked under a legal authorisation; takedown requested",
			      "evidence", "content_type", "application/json",
			      "description", "sources, confidence, first and last seen, sightings",
			      "payload", ev64,
			      "legal_basis", "authority", z.authority, "reference", z.reference,
			      "jurisdiction", z.jurisdiction, "valid_until", tv, "action_expires", te,
			      "action_id", (json_int_t)a->id);
		xarf = x ? json_dumps(x, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(6))
			  : NULL;
		json_decref(x);
		if (xarf == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(boundary, sizeof(boundary), "bulwark-%s", uuid);
		snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=\"%s\"", boundary);
		snprintf(subject, sizeof(subject), "[%s] Takedown request: %s (%s %s)",
			 c->role, a->target, z.authority, z.reference);
		bprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: 8bit\r\n\r\n", boundary);
		bprintf(&b, "To the %s abuse team of %s,\r\n\r\n", c->role, c->name);
		bprintf(&b, "The domain %s is blocked in %s under %s, reference %s,\r\n"
			"valid until %s. We ask you to suspend it (or the service hosting it).\r\n\r\n",
			a->target, z.jurisdiction, z.authority, z.reference, tv);
		bprintf(&b, "Evidence\r\n  sources:");
		for (size_t j = 0; j < json_array_size(json_object_get(ev, "sources")); j++) {
			json_t *so = json_array_get(json_object_get(ev, "sources"), j);
			bprintf(&b, "%s %s", j ? "," : "",
				json_string_value(json_object_get(so, "source")));
		}
		if (json_is_integer(conf))
			bprintf(&b, "\r\n  confidence: %lld of 100 (the highest stated)\r\n",
				(long long)json_integer_value(conf));
		else
			bprintf(&b, "\r\n  confidence: not stated\r\n");
		bprintf(&b, "  first seen: %s\r\n  last seen: %s\r\n  sightings: %lld\r\n",
			json_is_string(json_object_get(ev, "first_seen"))
				? json_string_value(json_object_get(ev, "first_seen")) : "-",
			json_is_string(json_object_get(ev, "last_seen"))
				? json_string_value(json_object_get(ev, "last_seen")) : "-",
			(long long)json_integer_value(json_object_get(ev, "sightings")));
		if (json_is_real(json_object_get(ev, "model_score")))
			bprintf(&b, "  risk model score: %.3f (0 to 1, from the name alone)\r\n",
				json_real_value(json_object_get(ev, "model_score")));
		for (size_t j = 0; j < json_array_size(ips); j++)
			bprintf(&b, "  resolves to: %s\r\n", json_string_value(json_array_get(ips, j)));
		bprintf(&b, "\r\nThe machine-readable report (X-ARF v4) is attached.\r\n"
			"Report id %s, action %lld.\r\n\r\n%s\r\n", uuid, (long long)a->id,
			reporter.name);
		bprintf(&b, "\r\n--%s\r\nContent-Type: application/json; charset=utf-8\r\n"
			"Content-Disposition: attachment; filename=\"xarf-%lld.json\"\r\n\r\n",
			boundary, (long long)a->id);
		bprintf(&b, "%s\r\n--%s--\r\n", xarf, boundary);
		bw_free(xarf);
		xarf = NULL;
		if (b.failed) {
			bw_free(b.p);
			rc = bw_err_set(err, BW_ELIMIT, "notice larger than %d bytes", NOTICE_MAX);
			goto out;
		}
		{
			long before = n;
			rc = insert_outbox(st, c->email, idem, subject, ctype, &b, now, &n, err);
			bw_free(b.p);
			if (rc)
				goto out;
			if (n == before)
				continue; /* queued at an earlier activation */
		}
		{
			char subj[64];
			json_t *dj = json_pack("{s:s, s:s, s:s, s:s}", "role", c->role,
					       "contact", c->email, "idempotency_key", idem,
					       "report_id", uuid);
			detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
			json_decref(dj);
			if (detail == NULL) {
				rc = bw_err_set(err, BW_ENOMEM, "out of memory");
				goto out;
			}
			snprintf(subj, sizeof(subj), "action:%lld", (long long)a->id);
			rc = bw_audit_append(st, now, BW_AUDIT_SYSTEM, "notice.queued", subj,
					     detail, NULL, err);
			bw_free(detail);
			detail = NULL;
			if (rc)
				goto out;
		}
	}
	if (queued)
		*queued = n;
out:
	json_decref(ips);
	json_decref(ev);
	bw_free(evtext);
	bw_free(ev64);
	bw_free(xarf);
	bw_free(detail);
	return rc;
}
