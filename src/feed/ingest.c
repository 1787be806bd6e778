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
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "disrupt/audit.h"
#include "feed/reader.h"

#define MANIFEST_MAX (64L * 1024 * 1024)

/*
 * Records are not written one by one as the parser emits them: they are
 * copied into a batch, and a full batch is sorted by (type, value) before it
 * goes to the store.  The store's unique index on (type, value) is then
 * walked in order, touching each B-tree page once per batch instead of once
 * per record; on a million new indicators, far more than the page cache
 * holds, this halves the ingest time (bench/ingest).  A stable sort keeps the
 * file's order among records of the same indicator, so "the last one wins"
 * still holds.
 */
#define BATCH_RECORDS 32768
#define BATCH_ARENA (4u * 1024 * 1024)
#define NONE UINT32_MAX

struct pending {
	uint32_t value, source, external_id, where, tags, recipients, seq, resolves;
	uint16_t value_len;
	uint8_t type, ntags, nrecipients, revoked;
	int8_t tlp, confidence;
	int64_t first_seen, last_seen, valid_from, valid_until;
};

struct session {
	struct bw_store *st;
	const struct bw_ingest_options *o;
	struct bw_ingest_result *res;
	const char *default_source;
	char registrable[256], resolves_reg[256];
	struct bw_ioc ioc, resolves;
	struct bw_tag tags[BW_RECORD_TAGS_MAX];
	const char *recipients[BW_RECORD_RECIPIENTS_MAX];
	/* the batch */
	struct pending *pend;
	size_t npend, pend_cap;
	uint32_t *order;
	char *arena;
	size_t arena_len, arena_cap;
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

/* Unsupported entries go to the rejects file too, marked, so that an analyst
 * can see what a feed held that bulwark does not model. */
static void
sink_unsupported(void *ctx, const char *where, const char *reason)
{
	struct session *s = ctx;

	s->res->unsupported++;
	if (s->o->rejects)
		fprintf(s->o->rejects, "%s:%s: unsupported: %s\n", s->res->file, where,
			reason);
	if (s->o->on_unsupported)
		s->o->on_unsupported(s->o->ctx, s->res->file, where, reason);
}

/* Copies n bytes and a NUL into the arena; returns the offset or NONE. */
static uint32_t
arena_put(struct session *s, const char *p, size_t n)
{
	size_t at = s->arena_len;
	char *a;

	if (at + n + 1 > UINT32_MAX - 1)
		return NONE;
	if (at + n + 1 > s->arena_cap) {
		size_t cap = s->arena_cap;
		a = bw_grow(s->arena, &cap, at + n + 1, 1);
		if (a == NULL)
			return NONE;
		s->arena = a;
		s->arena_cap = cap;
	}
	memcpy(s->arena + at, p, n);
	s->arena[at + n] = '\0';
	s->arena_len = at + n + 1;
	return (uint32_t)at;
}

static uint32_t
arena_str(struct session *s, const char *p)
{
	return p ? arena_put(s, p, strlen(p)) : NONE;
}

/* Room for n uint32 offsets, aligned; returns the offset or NONE. */
static uint32_t
arena_offsets(struct session *s, size_t n)
{
	static const char zeros[8];
	uint32_t at;

	while (s->arena_len % sizeof(uint32_t))
		if (arena_put(s, zeros, 0) == NONE)
			return NONE;
	at = (uint32_t)s->arena_len;
	for (size_t i = 0; i < n; i++) {
		/* arena_put adds a NUL: write 3 bytes + NUL per offset */
		if (arena_put(s, zeros, sizeof(uint32_t) - 1) == NONE)
			return NONE;
	}
	return at;
}

static void
set_offset(struct session *s, uint32_t base, size_t i, uint32_t v)
{
	memcpy(s->arena + base + i * sizeof(uint32_t), &v, sizeof(v));
}

static uint32_t
get_offset(const struct session *s, uint32_t base, size_t i)
{
	uint32_t v;

	memcpy(&v, s->arena + base + i * sizeof(uint32_t), sizeof(v));
	return v;
}

static int
compare_pending(const void *a, const void *b, void *ctx)
{
	const struct session *s = ctx;
	const struct pending *x = &s->pend[*(const uint32_t *)a];
	const struct pending *y = &s->pend[*(const uint32_t *)b];
	size_t n = x->value_len < y->value_len ? x->value_len : y->value_len;
	int c;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	c = memcmp(s->arena + x->value, s->arena + y->value, n);
	if (c)
		return c;
	if (x->value_len != y->value_len)
		return x->value_len < y->value_len ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *
at(const struct session *s, uint32_t off)
{
	return off == NONE ? NULL : s->arena + off;
}

static void
batch_clear(struct session *s)
{
	s->npend = 0;
	s->arena_len = 0;
}

/* Sorts the batch and writes it to the store. */
static int
batch_flush(struct session *s, struct bw_err *err)
{
	const struct bw_ingest_options *o = s->o;
	int rc = BW_OK;

	if (s->npend == 0)
		return BW_OK;
	for (size_t i = 0; i < s->npend; i++)
		s->order[i] = (uint32_t)i;
	qsort_r(s->order, s->npend, sizeof(*s->order), compare_pending, s);

	for (size_t k = 0; k < s->npend; k++) {
		const struct pending *p = &s->pend[s->order[k]];
		struct bw_record_in in;
		enum bw_upsert_result result;
		struct bw_err rerr;

		s->ioc.type = (enum bw_ioc_type)p->type;
		s->ioc.len = p->value_len;
		memcpy(s->ioc.value, s->arena + p->value, (size_t)p->value_len + 1);
		for (size_t i = 0; i < p->ntags; i++) {
			s->tags[i].kind = at(s, get_offset(s, p->tags, 2 * i));
			s->tags[i].name = at(s, get_offset(s, p->tags, 2 * i + 1));
		}
		for (size_t i = 0; i < p->nrecipients; i++)
			s->recipients[i] = at(s, get_offset(s, p->recipients, i));

		memset(&in, 0, sizeof(in));
		in.ioc = &s->ioc;
		in.registrable = bw_psl_registrable_of(o->psl, &s->ioc, s->registrable,
						       sizeof(s->registrable))
					 ? s->registrable
					 : NULL;
		in.source = at(s, p->source);
		in.external_id = at(s, p->external_id);
		in.confidence = p->confidence;
		in.tlp = p->tlp;
		in.revoked = p->revoked;
		in.first_seen = p->first_seen;
		in.last_seen = p->last_seen;
		in.valid_from = p->valid_from;
		in.valid_until = p->valid_until;
		in.tags = s->tags;
		in.ntags = p->ntags;
		in.recipients = s->recipients;
		in.nrecipients = p->nrecipients;
		in.resolves = at(s, p->resolves);
		if (in.resolves && strlen(in.resolves) < sizeof(s->resolves.value)) {
			s->resolves.type = BW_IOC_DOMAIN;
			s->resolves.len = strlen(in.resolves);
			memcpy(s->resolves.value, in.resolves, s->resolves.len + 1);
			if (bw_psl_registrable_of(o->psl, &s->resolves, s->resolves_reg,
						  sizeof(s->resolves_reg)))
				in.resolves_registrable = s->resolves_reg;
		}

		rc = bw_store_upsert(s->st, &in, o->now, &result, &rerr);
		if (rc == BW_EINVAL) {
			/* The record itself is bad (e.g. a source name too
			 * long): reject it alone. */
			s->res->records--;
			sink_reject(s, at(s, p->where), rerr.msg, s->ioc.value, s->ioc.len);
			rc = BW_OK;
			continue;
		}
		if (rc) {
			*err = rerr;
			break;
		}
		switch (result) {
		case BW_UPSERT_ADDED: s->res->added++; break;
		case BW_UPSERT_UPDATED: s->res->updated++; break;
		case BW_UPSERT_UNCHANGED: s->res->unchanged++; break;
		}
	}
	batch_clear(s);
	return rc;
}

/* Adds a tag unless the record has it already. */
static bool
has_tag(const struct session *s, uint32_t base, size_t n, const struct bw_tag *t)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(at(s, get_offset(s, base, 2 * k)), t->kind) == 0 &&
		    strcmp(at(s, get_offset(s, base, 2 * k + 1)), t->name) == 0)
			return true;
	return false;
}

static int
sink_record(void *ctx, const struct bw_feed_record *r, const char *where,
	    struct bw_err *err)
{
	struct session *s = ctx;
	const struct bw_ingest_options *o = s->o;
	struct pending *p;
	size_t nt = 0, nr = 0;
	const char *source = r->source && !o->source_fixed ? r->source : s->default_source;
	uint32_t tags, rcpts;

	if (s->res->records >= BW_FEED_RECORDS_MAX)
		return bw_err_set(err, BW_ELIMIT, "more than %ld records in one file",
				  BW_FEED_RECORDS_MAX);
	if (r->ioc.notes & BW_IOC_NOTE_HOSTBITS) {
		char note[BW_IOC_VALUE_MAX + 64];
		snprintf(note, sizeof(note), "CIDR had host bits set; stored as %s",
			 r->ioc.value);
		if (o->rejects)
			fprintf(o->rejects, "%s:%s: note: %s\n", s->res->file, where, note);
		if (o->on_note)
			o->on_note(o->ctx, s->res->file, where, note);
	}
	if (r->ioc.len > UINT16_MAX)
		return bw_err_set(err, BW_EINVAL, "indicator value too long");
	if (s->npend >= s->pend_cap) {
		size_t cap = s->pend_cap;
		struct pending *np = bw_grow(s->pend, &cap, s->npend + 1, sizeof(*np));
		uint32_t *no;
		if (np == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		s->pend = np;
		no = bw_realloc(s->order, cap * sizeof(*no));
		if (no == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		s->order = no;
		s->pend_cap = cap;
	}
	s->res->records++;

	p = &s->pend[s->npend];
	memset(p, 0, sizeof(*p));
	p->seq = (uint32_t)s->npend;
	p->type = (uint8_t)r->ioc.type;
	p->value_len = (uint16_t)r->ioc.len;
	p->value = arena_put(s, r->ioc.value, r->ioc.len);
	p->source = arena_str(s, source);
	p->external_id = arena_str(s, r->external_id);
	p->resolves = arena_str(s, r->resolves);
	p->where = arena_str(s, where);
	p->confidence = (int8_t)(r->confidence >= 0 ? r->confidence : o->confidence);
	p->tlp = (int8_t)(r->tlp != BW_TLP_UNSET ? r->tlp : o->tlp);
	p->revoked = r->revoked ? 1 : 0;
	p->first_seen = r->first_seen;
	p->last_seen = r->last_seen;
	p->valid_from = r->valid_from;
	p->valid_until = r->valid_until;

	tags = arena_offsets(s, 2 * (r->ntags + o->ntags));
	for (size_t i = 0; i < r->ntags && nt < BW_RECORD_TAGS_MAX && tags != NONE; i++) {
		set_offset(s, tags, 2 * nt, arena_str(s, r->tags[i].kind));
		set_offset(s, tags, 2 * nt + 1, arena_str(s, r->tags[i].name));
		nt++;
	}
	for (size_t i = 0; i < o->ntags && nt < BW_RECORD_TAGS_MAX && tags != NONE; i++) {
		if (has_tag(s, tags, nt, &o->tags[i]))
			continue;
		set_offset(s, tags, 2 * nt, arena_str(s, o->tags[i].kind));
		set_offset(s, tags, 2 * nt + 1, arena_str(s, o->tags[i].name));
		nt++;
	}
	rcpts = arena_offsets(s, r->nrecipients + o->nrecipients);
	for (size_t i = 0; i < r->nrecipients && nr < BW_RECORD_RECIPIENTS_MAX && rcpts != NONE; i++)
		set_offset(s, rcpts, nr++, arena_str(s, r->recipients[i]));
	for (size_t i = 0; i < o->nrecipients && nr < BW_RECORD_RECIPIENTS_MAX && rcpts != NONE; i++) {
		bool dup = false;
		for (size_t k = 0; k < nr; k++)
			if (strcmp(at(s, get_offset(s, rcpts, k)), o->recipients[i]) == 0)
				dup = true;
		if (!dup)
			set_offset(s, rcpts, nr++, arena_str(s, o->recipients[i]));
	}
	p->tags = tags;
	p->ntags = (uint8_t)nt;
	p->recipients = rcpts;
	p->nrecipients = (uint8_t)nr;
	if (p->value == NONE || p->source == NONE || p->where == NONE ||
	    tags == NONE || rcpts == NONE ||
	    (r->external_id && p->external_id == NONE) ||
	    (r->resolves && p->resolves == NONE))
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < 2 * nt; i++)
		if (get_offset(s, tags, i) == NONE)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < nr; i++)
		if (get_offset(s, rcpts, i) == NONE)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
	s->npend++;
	if (s->npend >= BATCH_RECORDS || s->arena_len >= BATCH_ARENA)
		return batch_flush(s, err);
	return BW_OK;
}

static void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	bw_free(s->pend);
	bw_free(s->order);
	bw_free(s->arena);
	bw_free(s);
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

/* The audit entry of one ingested file, in its transaction. */
static int
audit_batch(struct bw_store *st, const struct bw_ingest_log *log, int64_t now,
	    struct bw_err *err)
{
	char subject[BW_AUDIT_SUBJECT_MAX + 1], *detail;
	json_t *dj;
	int rc;

	snprintf(subject, sizeof(subject), "file:%s", log->file);
	dj = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "file", log->file,
		       "format", log->format,
		       "source", log->source ? json_string(log->source) : json_null(),
		       "records", (json_int_t)log->records, "added", (json_int_t)log->added,
		       "updated", (json_int_t)log->updated, "unchanged", (json_int_t)log->unchanged,
		       "rejected", (json_int_t)log->rejected,
		       "unsupported", (json_int_t)log->unsupported);
	detail = dj ? json_dumps(dj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	json_decref(dj);
	if (detail == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_audit_append(st, now, BW_AUDIT_SYSTEM, "ingest.batch", subject, detail, NULL, err);
	bw_free(detail);
	return rc;
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
	if (rc == BW_OK)
		rc = batch_flush(s, &res->error);
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
			rc = audit_batch(st, &log, o->now, err);
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
	session_free(s);
	s = NULL;
refused:
	res->refused = 1;
	res->records = res->added = res->updated = res->unchanged = 0;
	res->rejected = res->unsupported = 0;
	rc = BW_OK;
out:
	session_free(s);
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

/* Reports a refused file (or manifest entry) that never reached a parser. */
static void __attribute__((format(printf, 5, 6)))
report_refused(bw_ingest_result_fn on_result, void *ctx, const char *file,
	       int code, const char *fmt, ...)
{
	struct bw_ingest_result res;
	va_list ap;

	memset(&res, 0, sizeof(res));
	snprintf(res.file, sizeof(res.file), "%s", file);
	res.format = BW_FEED_MISP;
	res.refused = 1;
	res.error.code = code;
	va_start(ap, fmt);
	vsnprintf(res.error.msg, sizeof(res.error.msg), fmt, ap);
	va_end(ap);
	on_result(ctx, &res);
}

/* A MISP feed: manifest.json maps event uuids to summaries; each event is
 * in <uuid>.json beside it.  Only keys that are UUIDs name files, so a
 * hostile manifest cannot point outside the directory. */
static int
ingest_misp_feed(struct bw_store *st, const char *dir,
		 const struct bw_ingest_options *o, bw_ingest_result_fn on_result,
		 void *ctx, struct bw_err *err)
{
	char manifest_path[4096], event_path[4096];
	json_error_t jerr;
	json_t *manifest;
	const char *key;
	json_t *val;
	struct stat sb;
	int rc = BW_OK;

	if ((size_t)snprintf(manifest_path, sizeof(manifest_path), "%s/manifest.json", dir) >=
	    sizeof(manifest_path)) {
		report_refused(on_result, ctx, dir, BW_EINVAL, "%s", "directory path too long");
		return BW_OK;
	}
	if (stat(manifest_path, &sb) != 0) {
		report_refused(on_result, ctx, dir, BW_EFORMAT, "%s",
			       "a directory must be a MISP feed with a manifest.json");
		return BW_OK;
	}
	if (sb.st_size > MANIFEST_MAX) {
		report_refused(on_result, ctx, manifest_path, BW_ELIMIT,
			       "manifest.json larger than %ld bytes", MANIFEST_MAX);
		return BW_OK;
	}
	manifest = json_load_file(manifest_path, JSON_REJECT_DUPLICATES, &jerr);
	if (manifest == NULL) {
		report_refused(on_result, ctx, manifest_path, BW_EFORMAT,
			       "not a MISP feed manifest: %s", jerr.text);
		return BW_OK;
	}
	if (!json_is_object(manifest)) {
		json_decref(manifest);
		report_refused(on_result, ctx, manifest_path, BW_EFORMAT, "%s",
			       "not a MISP feed manifest: not a JSON object");
		return BW_OK;
	}
	json_object_foreach(manifest, key, val) {
		(void)val;
		if (!bw_uuid_valid(key)) {
			report_refused(on_result, ctx, manifest_path, BW_EFORMAT,
				       "manifest key is not an event UUID: %.64s", key);
			continue;
		}
		snprintf(event_path, sizeof(event_path), "%s/%s.json", dir, key);
		rc = ingest_one(st, event_path, o, BW_FEED_MISP, on_result, ctx, err);
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
