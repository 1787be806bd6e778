/*
 * report_sched.c - makes each tenant's report when a period ends and
 * queues the mail and webhook that announce it (see report_sched.h).
 *
 * The renderers write into memory (open_memstream), so one rendering
 * feeds both the files and the mail attachments.
 */
#include "share/report_sched.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "share/contact.h"
#include "share/notify.h"
#include "share/outbox.h"
#include "share/report.h"
#include "share/report_render.h"
#include "share/tenant.h"

/* Monday 1970-01-05 00:00 UTC: weeks end on Mondays. */
#define EPOCH_MONDAY 345600
/* A report announcement is worth less than an incident. */
#define REPORT_PRIORITY 100
#define B64_LINE 76

int64_t
bw_report_period_end(int64_t period, int64_t now)
{
	int64_t k = now - EPOCH_MONDAY;

	if (period <= 0)
		return 0;
	k = k >= 0 ? k / period : -((-k + period - 1) / period);
	return EPOCH_MONDAY + k * period;
}

struct rendered {
	char *html, *pdf;
	size_t html_len, pdf_len;
	char html_path[4096], pdf_path[4096];
};

static void
rendered_free(struct rendered *r)
{
	free(r->html); /* open_memstream buffers come from libc */
	free(r->pdf);
}

static int
render(const struct bw_report *rep, int pdf, char **buf, size_t *len, struct bw_err *err)
{
	FILE *f = open_memstream(buf, len);
	int rc;

	if (!f)
		return bw_err_set(err, BW_ENOMEM, "report: out of memory");
	rc = pdf ? bw_report_write_pdf(rep, f, err) : bw_report_write_html(rep, f, err);
	if (fclose(f) != 0 && !rc)
		rc = bw_err_set(err, BW_ENOMEM, "report: out of memory");
	return rc;
}

/* Writes len bytes to path through path.tmp, fsync and rename. */
static int
save(const char *path, const char *buf, size_t len, struct bw_err *err)
{
	char tmp[4200];
	int fd;
	size_t off = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return bw_err_set(err, BW_EIO, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return bw_err_set(err, BW_EIO, "%s: %s", path, strerror(errno));
	}
	return BW_OK;
fail:
	bw_err_set(err, BW_EIO, "%s: %s", tmp, strerror(errno));
	close(fd);
	unlink(tmp);
	return BW_EIO;
}

static int
already_made(struct bw_store *st, int64_t tenant_id, int64_t to, int *yes, struct bw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(bw_store_db(st), "SELECT 1 FROM report_log WHERE tenant_id = ?1"
			       " AND period_to = ?2", -1, &s, NULL) != SQLITE_OK)
		return bw_err_set(err, BW_ESTORE, "report log: %s", sqlite3_errmsg(bw_store_db(st)));
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite3_bind_int64(s, 2, to);
	rc = sqlite3_step(s);
	*yes = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return bw_err_set(err, BW_ESTORE, "report log: %s", sqlite3_errmsg(bw_store_db(st)));
	return BW_OK;
}

/* Appends a base64 body in lines of 76 to f. */
static void
put_base64(FILE *f, const char *buf, size_t len)
{
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b = bw_malloc(cap);
	size_t n;

	if (!b) {
		/* an empty part is visible to the reader; the files are on disk */
		return;
	}
	sodium_bin2base64(b, cap, (const unsigned char *)buf, len, sodium_base64_VARIANT_ORIGINAL);
	n = strlen(b);
	for (size_t i = 0; i < n; i += B64_LINE)
		fprintf(f, "%.*s\n", (int)(n - i < B64_LINE ? n - i : B64_LINE), b + i);
	bw_free(b);
}

/* The MIME multipart body of the mail (the deliverer adds the headers). */
static int
mail_body(const struct bw_report *rep, const struct rendered *out, const char *boundary,
	  const char *stem, char **body, size_t *len)
{
	FILE *f = open_memstream(body, len);
	char a[BW_TIME_TEXT_MAX], b[BW_TIME_TEXT_MAX];

	if (!f)
		return BW_ENOMEM;
	fprintf(f, "This is a MIME message.\n\n--%s\n"
		"Content-Type: text/plain; charset=utf-8\n\n", boundary);
	fprintf(f, "The bulwark threat report for %s (%s), %s to %s, is attached\n"
		"as HTML and PDF.\n\n", rep->tenant_name, rep->country,
		bw_time_format(rep->from, a), bw_time_format(rep->to, b));
	fprintf(f, "Threats in scope:               %ld (%ld new, %ld the period before)\n"
		"Sightings in national networks: %ld (%ld the period before)\n"
		"Lookalikes of national brands:  %ld\n"
		"Disruption actions:             %zu\n\n",
		rep->known, rep->new_indicators, rep->prev_new_indicators, rep->sightings,
		rep->prev_sightings, rep->lookalikes_total, rep->nactions);
	fprintf(f, "--%s\nContent-Type: text/html; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment; filename=\"%s.html\"\n\n", boundary, stem);
	put_base64(f, out->html, out->html_len);
	fprintf(f, "--%s\nContent-Type: application/pdf\n"
		"Content-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment; filename=\"%s.pdf\"\n\n", boundary, stem);
	put_base64(f, out->pdf, out->pdf_len);
	fprintf(f, "--%s--\n", boundary);
	return fclose(f) == 0 ? BW_OK : BW_ENOMEM;
}

static char *
webhook_json(const struct bw_report *rep, const struct rendered *out)
{
	char a[BW_TIME_TEXT_MAX], b[BW_TIME_TEXT_MAX];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:s, s:s}",
			      "event", "report", "country", rep->country,
			      "from", bw_time_format(rep->from, a), "to", bw_time_format(rep->to, b),
			      "figures", "known", (json_int_t)rep->known,
			      "new", (json_int_t)rep->new_indicators,
			      "sightings", (json_int_t)rep->sightings,
			      "lookalikes", (json_int_t)rep->lookalikes_total,
			      "actions", (json_int_t)rep->nactions,
			      "html", out->html_path, "pdf", out->pdf_path);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

/* Logs the report and queues its announcements in one transaction. */
static int
announce(struct bw_store *st, const struct bw_tenant *t, const struct bw_report *rep,
	 const struct rendered *out, const char *stem, int64_t now, struct bw_err *err)
{
	struct bw_contact *contacts = NULL;
	size_t ncontacts = 0;
	char boundary[64], key[BW_OUTBOX_KEY_MAX], subject[160];
	char a[BW_TIME_TEXT_MAX], b[BW_TIME_TEXT_MAX];
	char *body = NULL, *json = NULL;
	size_t body_len = 0;
	sqlite3_stmt *s = NULL;
	int rc, level = 0;

	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(bw_store_db(st), "INSERT INTO report_log (tenant_id, period_from,"
			       " period_to, created, html, pdf) VALUES (?, ?, ?, ?, ?, ?)", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = bw_err_set(err, BW_ESTORE, "report log: %s", sqlite3_errmsg(bw_store_db(st)));
		goto out;
	}
	sqlite3_bind_int64(s, 1, t->id);
	sqlite3_bind_int64(s, 2, rep->from);
	sqlite3_bind_int64(s, 3, rep->to);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_text(s, 5, out->html_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, out->pdf_path, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = bw_err_set(err, BW_ESTORE, "report log: %s", sqlite3_errmsg(bw_store_db(st)));
		goto out;
	}
	/* the first level of the escalation order: the tenant's first contacts */
	rc = bw_contact_next_level(st, t->id, 0, &level, err);
	if (!rc && level > 0)
		rc = bw_contact_at_level(st, t->id, level, &contacts, &ncontacts, err);
	if (rc)
		goto out;
	snprintf(boundary, sizeof(boundary), "bulwark-report-%s", stem);
	if (ncontacts && mail_body(rep, out, boundary, stem, &body, &body_len)) {
		rc = bw_err_set(err, BW_ENOMEM, "report: out of memory for the mail");
		goto out;
	}
	bw_time_format(rep->from, a);
	bw_time_format(rep->to, b);
	snprintf(subject, sizeof(subject), "bulwark threat report for %s, %.10s to %.10s",
		 t->country, a, b);
	for (size_t i = 0; i < ncontacts && !rc; i++) {
		char ctype[128];
		struct bw_outbox_msg m = {
			.channel = "smtp", .tenant_id = t->id, .destination = contacts[i].email,
			.priority = REPORT_PRIORITY, .idem_key = key, .subject = subject,
			.content_type = ctype, .body = body, .len = body_len,
		};

		snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=\"%s\"", boundary);
		snprintf(key, sizeof(key), "report:%s:%lld:mail:%lld", t->country,
			 (long long)rep->to, (long long)contacts[i].id);
		rc = bw_outbox_enqueue(st, &m, now, NULL, err);
	}
	if (rc)
		goto out;
	json = webhook_json(rep, out);
	if (!json) {
		rc = bw_err_set(err, BW_ENOMEM, "report: out of memory for the webhook");
		goto out;
	}
	snprintf(key, sizeof(key), "report:%s:%lld:webhook", t->country, (long long)rep->to);
	rc = bw_notify_tenant(st, t->id, REPORT_PRIORITY, json, key, now, NULL, err);
	if (rc)
		goto out;
	rc = bw_store_commit(st, err);
out:
	if (rc)
		bw_store_rollback(st);
	sqlite3_finalize(s);
	free(body);
	free(json);
	bw_free(contacts);
	return rc;
}

static int
make_one(struct bw_store *st, const struct bw_report_sched *c, const struct bw_tenant *t,
	 int64_t from, int64_t to, int64_t now, struct bw_err *err)
{
	struct bw_report *rep = NULL;
	struct rendered out = {0};
	char stem[64], ts[BW_TIME_TEXT_MAX];
	size_t j = 0;
	int rc;

	/* DE-20261123T000000Z: sortable, and free of ':' for every file system */
	bw_time_format(to, ts);
	for (size_t i = 0; ts[i] && j < sizeof(ts); i++)
		if (ts[i] != '-' && ts[i] != ':')
			ts[j++] = ts[i];
	ts[j] = '\0';
	snprintf(stem, sizeof(stem), "%s-%s", t->country, ts);
	snprintf(out.html_path, sizeof(out.html_path), "%s/%s.html", c->dir, stem);
	snprintf(out.pdf_path, sizeof(out.pdf_path), "%s/%s.pdf", c->dir, stem);
	rc = bw_report_build(st, t->country, from, to, now, c->geo, &rep, err);
	if (rc)
		goto out;
	if ((rc = render(rep, 0, &out.html, &out.html_len, err)) ||
	    (rc = render(rep, 1, &out.pdf, &out.pdf_len, err)) ||
	    (rc = save(out.html_path, out.html, out.html_len, err)) ||
	    (rc = save(out.pdf_path, out.pdf, out.pdf_len, err)))
		goto out;
	rc = announce(st, t, rep, &out, stem, now, err);
out:
	if (rc)
		bw_err_prefix(err, "report of %s", t->country);
	rendered_free(&out);
	bw_report_free(rep);
	return rc;
}

int
bw_report_sched_run(struct bw_store *st, const struct bw_report_sched *c, int64_t now,
		    long *made, struct bw_err *err)
{
	struct bw_tenant *tenants = NULL;
	size_t n = 0;
	int64_t to, from;
	int rc, first = BW_OK;
	struct bw_err one;

	if (made)
		*made = 0;
	if (c->period <= 0)
		return BW_OK;
	if (c->period < BW_REPORT_PERIOD_MIN || c->period > BW_REPORT_PERIOD_MAX)
		return bw_err_set(err, BW_EINVAL, "report period must be %d to %d seconds",
				  BW_REPORT_PERIOD_MIN, BW_REPORT_PERIOD_MAX);
	to = bw_report_period_end(c->period, now);
	from = to - c->period;
	if (mkdir(c->dir, 0750) != 0 && errno != EEXIST)
		return bw_err_set(err, BW_EIO, "%s: %s", c->dir, strerror(errno));
	rc = bw_tenant_list(st, &tenants, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int yes = 0;

		rc = already_made(st, tenants[i].id, to, &yes, &one);
		if (!rc && !yes) {
			rc = make_one(st, c, &tenants[i], from, to, now, &one);
			if (!rc && made)
				(*made)++;
		}
		if (rc && first == BW_OK) {
			first = rc;
			if (err)
				*err = one;
		}
	}
	bw_free(tenants);
	return first;
}

struct bw_report_runner {
	struct bw_report_sched sched; /* .dir owned */
	bw_log_fn logger;
	void *log_ctx;
	struct bw_periodic *job;
};

static void
runner_step(void *ctx, struct bw_store *st, int64_t now)
{
	struct bw_report_runner *r = ctx;
	char line[BW_ERR_MSG_MAX + 128], ts[BW_TIME_TEXT_MAX];
	struct bw_err err;
	long made = 0;
	int rc = bw_report_sched_run(st, &r->sched, now, &made, &err);

	if (!r->logger || (!rc && !made))
		return;
	bw_time_format(now, ts);
	if (rc)
		snprintf(line, sizeof(line), "time=%s level=error event=report error=\"%s\"", ts,
			 err.msg);
	else
		snprintf(line, sizeof(line), "time=%s level=info event=reports made=%ld dir=%s", ts,
			 made, r->sched.dir);
	r->logger(r->log_ctx, line);
}

int
bw_report_runner_start(const char *db_path, const struct bw_report_sched *c,
		       bw_log_fn logger, void *log_ctx, struct bw_report_runner **out,
		       struct bw_err *err)
{
	struct bw_report_runner *r = bw_calloc(1, sizeof(*r));
	struct bw_periodic_config pc = {.db_path = db_path, .interval_ms = 60000,
					.fn = runner_step};
	char *dir = NULL;
	int rc;

	*out = NULL;
	if (!r || !(dir = bw_strdup(c->dir))) {
		bw_free(r);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	r->sched = *c;
	r->sched.dir = dir;
	r->logger = logger;
	r->log_ctx = log_ctx;
	pc.ctx = r;
	rc = bw_periodic_start(&pc, &r->job, err);
	if (rc) {
		bw_free(dir);
		bw_free(r);
		return rc;
	}
	*out = r;
	return BW_OK;
}

void
bw_report_runner_stop(struct bw_report_runner *r)
{
	if (!r)
		return;
	bw_periodic_stop(r->job);
	bw_free((char *)r->sched.dir);
	bw_free(r);
}
