/*
 * ingest.c - the ingestion driver (see ingest.h).
 *
 * The rejects file is written as the parser goes; if the file is then
 * refused, the rejects file is cut back to where this input started, so it
 * only ever lists rejects of files whose other records were kept.
 */
#include "feed/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "feed/reader.h"

#define MANIFEST_MAX (64L * 1024 * 1024)

struct session {
	struct bw_store *st;
	const struct bw_ingest_options *o;
	struct bw_ingest_result *res;
	const char *default_source;
	char registrable[256];
	struct bw_tag tags[BW_RECORD_TAGS_MAX];
	const char *recipients[BW_RECORD_RECIPIENTS_MAX];
};

static void
write_escaped(FILE *f, const char *s, size_t n)
{
	if (n > 1024)
		n = 1024;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void
sink_reject(void *ctx, const char *where, const char *reason, const char *raw,
	    size_t rawlen)
{
	struct session *s = ctx;

	s->res->rejected++;
	if (s->o->rejects) {
		fprintf(s->o->rejects, "%s:%s: %s", s->res->file, where, reason);
		if (raw) {
			fputc('\t', s->o->rejects);
			write_escaped(s->o->rejects, raw, rawlen);
		}
		fputc('\n', s->o->rejects);
	}
	if (s->o->on_reject)
		s->o->on_reject(s->o->ctx, s->res->file, where, reason);
}

static void
sink_unsupported(void *ctx, const char *where, const char *reason)
{
	struct session *s = ctx;

	(void)where;
	(void)reason;
	s->res->unsupported++;
}

static int
sink_record(void *ctx, const struct bw_feed_record *r, const char *where,
	    struct bw_err *err)
{
	struct session *s = ctx;
	const struct bw_ingest_options *o = s->o;
	struct bw_record_in in;
	enum bw_upsert_result result;
	size_t nt = 0, nr = 0;
	struct bw_err rerr;
	int rc;

	if (s->res->records >= BW_FEED_RECORDS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %ld records in one file",
				  BW_FEED_RECORDS_MAX);
	s->res->records++;

	for (size_t i = 0; i < r->ntags && nt < BW_RECORD_TAGS_MAX; i++)
		s->tags[nt++] = r->tags[i];
	for (size_t i = 0; i < o->ntags && nt < BW_RECORD_TAGS_MAX; i++) {
		bool dup = false;
		for (size_t k = 0; k < nt; k++)
			if (strcmp(s->tags[k].kind, o->tags[i].kind) == 0 &&
			    strcmp(s->tags[k].name, o->tags[i].name) == 0)
				dup = true;
		if (!dup)
			s->tags[nt++] = o->tags[i];
	}
	for (size_t i = 0; i < r->nrecipients && nr < BW_RECORD_RECIPIENTS_MAX; i++)
		s->recipients[nr++] = r->recipients[i];
	for (size_t i = 0; i < o->nrecipients && nr < BW_RECORD_RECIPIENTS_MAX; i++) {
		bool dup = false;
		for (size_t k = 0; k < nr; k++)
			if (strcmp(s->recipients[k], o->recipients[i]) == 0)
				dup = true;
		if (!dup)
			s->recipients[nr++] = o->recipients[i];
	}

	memset(&in, 0, sizeof(in));
	in.ioc = &r->ioc;
	in.registrable = bw_psl_registrable_of(o->psl, &r->ioc, s->registrable,
					       sizeof(s->registrable))
				 ? s->registrable
				 : NULL;
	in.source = r->source ? r->source : s->default_source;
	in.external_id = r->external_id;
	in.confidence = r->confidence >= 0 ? r->confidence : o->confidence;
	in.tlp = r->tlp != BW_TLP_UNSET ? r->tlp : o->tlp;
	in.revoked = r->revoked;
	in.first_seen = r->first_seen;
	in.last_seen = r->last_seen;
	in.valid_from = r->valid_from;
	in.valid_until = r->valid_until;
	in.tags = s->tags;
	in.ntags = nt;
	in.recipients = s->recipients;
	in.nrecipients = nr;

	rc = bw_store_upsert(s->st, &in, o->now, &result, &rerr);
	if (rc == BW_EINVAL) {
		/* The record itself is bad (e.g. a source name too long): reject
		 * it alone. */
		s->res->records--;
		sink_reject(s, where, rerr.msg, r->ioc.value, r->ioc.len);
		return BW_OK;
	}
	if (rc) {
		*err = rerr;
		return rc;
	}
	switch (result) {
	case BW_UPSERT_ADDED: s->res->added++; break;
	case BW_UPSERT_UPDATED: s->res->updated++; break;
	case BW_UPSERT_UNCHANGED: s->res->unchanged++; break;
	}
	return BW_OK;
}

/* "urlhaus-csv" for "/x/urlhaus-csv.txt": a source name for files that do
 * not name their source. */
static void
source_from_path(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	if (strcmp(path, "-") == 0 || strcmp(path, "(stdin)") == 0)
		b = "stdin";
	n = strcspn(b, ".");
	if (n == 0)
		n = strlen(b);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, b, n);
	out[n] = '\0';
	if (out[0] == '\0')
		snprintf(out, cap, "unnamed");
}

int
bw_ingest_reader(struct bw_store *st, struct bw_reader *in,
		 const struct bw_ingest_options *o, struct bw_ingest_result *res,
		 struct bw_err *err)
{
	struct session *s = NULL;
	struct bw_feed_sink sink;
	bw_feed_parser_fn parse;
	char default_source[BW_SOURCE_NAME_MAX + 1];
	long rejects_at = -1;
	int rc;

	memset(res, 0, sizeof(*res));
	snprintf(res->file, sizeof(res->file), "%s", bw_reader_name(in));
	res->format = o->format;
	if (res->format == BW_FEED_AUTO) {
		const char *head;
		size_t n;
		rc = bw_reader_peek(in, &head, &n, &res->error);
		if (rc)
			goto refused;
		if (n == 0) {
			bw_err_set(&res->error, BW_EFORMAT, "empty input");
			goto refused;
		}
		res->format = bw_feed_detect(head, n);
	}
	parse = bw_feed_parser(res->format);
	s = bw_calloc(1, sizeof(*s));
	if (s == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	s->st = st;
	s->o = o;
	s->res = res;
	if (o->source) {
		s->default_source = o->source;
	} else {
		source_from_path(res->file, default_source, sizeof(default_source));
		s->default_source = default_source;
	}
	sink.record = sink_record;
	sink.reject = sink_reject;
	sink.unsupported = sink_unsupported;
	sink.ctx = s;

	if (o->rejects) {
		fflush(o->rejects);
		rejects_at = ftell(o->rejects);
	}
	rc = bw_store_begin(st, err);
	if (rc)
		goto out;
	rc = parse(in, &o->feed, &sink, &res->error);
	if (rc == BW_OK) {
		struct bw_ingest_log log = {
			.file = res->file,
			.format = bw_feed_format_name(res->format),
			.source = s->default_source,
			.records = res->records,
			.added = res->added,
			.updated = res->updated,
			.unchanged = res->unchanged,
			.rejected = res->rejected,
			.unsupported = res->unsupported,
		};
		rc = bw_store_log_ingest(st, &log, o->now, err);
		if (rc == BW_OK)
			rc = bw_store_commit(st, err);
		if (rc) {
			bw_store_rollback(st);
			goto out;
		}
		goto out;
	}
	bw_store_rollback(st);
	if (rc == BW_ESTORE || rc == BW_ENOMEM) {
		/* The store failed, not the file: stop the run. */
		*err = res->error;
		goto out;
	}
	if (rejects_at >= 0) {
		fflush(o->rejects);
		if (ftruncate(fileno(o->rejects), rejects_at) == 0)
			fseek(o->rejects, rejects_at, SEEK_SET);
	}
	bw_free(s);
	s = NULL;
refused:
	res->refused = 1;
	res->records = res->added = res->updated = res->unchanged = 0;
	res->rejected = res->unsupported = 0;
	rc = BW_OK;
out:
	bw_free(s);
	return rc;
}

static int
ingest_one(struct bw_store *st, const char *path,
	   const struct bw_ingest_options *o, enum bw_feed_format format,
	   bw_ingest_result_fn on_result, void *ctx, struct bw_err *err)
{
	struct bw_ingest_result *res = bw_calloc(1, sizeof(*res));
	struct bw_ingest_options local = *o;
	struct bw_reader *in = NULL;
	int rc;

	if (res == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	local.format = format;
	rc = bw_reader_open(path, &in, &res->error);
	if (rc) {
		snprintf(res->file, sizeof(res->file), "%s", path);
		res->format = format;
		res->refused = 1;
		on_result(ctx, res);
		bw_free(res);
		return BW_OK;
	}
	rc = bw_ingest_reader(st, in, &local, res, err);
	if (rc == BW_OK)
		on_result(ctx, res);
	bw_reader_free(in);
	bw_free(res);
	return rc;
}

static bool
is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdefABCDEF", s[i])) {
			return false;
		}
	}
	return true;
}

/* A MISP feed: manifest.json maps event uuids to summaries; each event is
 * in <uuid>.json beside it. */
static int
ingest_misp_feed(struct bw_store *st, const char *dir,
		 const struct bw_ingest_options *o, bw_ingest_result_fn on_result,
		 void *ctx, struct bw_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *manifest;
	const char *key;
	json_t *val;
	struct stat sb;
	int rc = BW_OK;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (stat(path, &sb) != 0 || sb.st_size > MANIFEST_MAX) {
		struct bw_ingest_result res;
		memset(&res, 0, sizeof(res));
		snprintf(res.file, sizeof(res.file), "%s", dir);
		res.format = BW_FEED_MISP;
		res.refused = 1;
		if (stat(path, &sb) != 0)
			bw_err_set(&res.error, BW_EFORMAT,
				   "a directory must be a MISP feed with a manifest.json");
		else
			bw_err_set(&res.error, BW_ELIMIT,
				   "manifest.json larger than %ld bytes", MANIFEST_MAX);
		on_result(ctx, &res);
		return BW_OK;
	}
	manifest = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (manifest == NULL || !json_is_object(manifest)) {
		struct bw_ingest_result res;
		memset(&res, 0, sizeof(res));
		snprintf(res.file, sizeof(res.file), "%s", path);
		res.format = BW_FEED_MISP;
		res.refused = 1;
		bw_err_set(&res.error, BW_EFORMAT, "not a MISP feed manifest: line %d: %s",
			   jerr.line, manifest ? "not an object" : jerr.text);
		json_decref(manifest);
		on_result(ctx, &res);
		return BW_OK;
	}
	json_object_foreach(manifest, key, val) {
		(void)val;
		if (!is_uuid(key)) {
			struct bw_ingest_result res;
			memset(&res, 0, sizeof(res));
			snprintf(res.file, sizeof(res.file), "%s", path);
			res.format = BW_FEED_MISP;
			res.refused = 1;
			bw_err_set(&res.error, BW_EFORMAT,
				   "manifest key is not an event UUID: %.64s", key);
			on_result(ctx, &res);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.json", dir, key);
		rc = ingest_one(st, path, o, BW_FEED_MISP, on_result, ctx, err);
		if (rc)
			break;
	}
	json_decref(manifest);
	return rc;
}

int
bw_ingest_path(struct bw_store *st, const char *path,
	       const struct bw_ingest_options *o, bw_ingest_result_fn on_result,
	       void *ctx, struct bw_err *err)
{
	struct stat sb;

	if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return ingest_misp_feed(st, path, o, on_result, ctx, err);
	return ingest_one(st, path, o, o->format, on_result, ctx, err);
}
