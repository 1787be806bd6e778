/*
 * export.c - plain and CSV exports, and the dispatch to STIX and MISP.
 */
#include "share/export.h"

#include <string.h>

#include "core/ioc.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "disrupt/enforce.h"

int
bw_export_format_from_name(const char *name, enum bw_export_format *f)
{
	static const struct {
		const char *name;
		enum bw_export_format f;
	} names[] = {
		{"plain", BW_EXPORT_PLAIN},
		{"csv", BW_EXPORT_CSV},
		{"stix", BW_EXPORT_STIX},
		{"misp", BW_EXPORT_MISP},
		{"rpz", BW_EXPORT_RPZ},
		{"nft", BW_EXPORT_NFT},
		{"ipset", BW_EXPORT_IPSET},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0) {
			*f = names[i].f;
			return 0;
		}
	return -1;
}

void
bw_csv_write_field(FILE *out, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void
write_time(FILE *out, int64_t t)
{
	char buf[BW_TIME_TEXT_MAX];

	if (t)
		fputs(bw_time_format(t, buf), out);
}

static int
export_plain(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	     struct bw_err *err)
{
	struct bw_store_cursor *c;
	const struct bw_record_out *r;
	int64_t last = -1;
	int rc;

	rc = bw_store_cursor_open(st, &o->filter, &c, err);
	if (rc)
		return rc;
	while ((rc = bw_store_cursor_next(c, &r, err)) > 0) {
		if (r->indicator_id == last)
			continue;
		last = r->indicator_id;
		fputs(r->value, out);
		fputc('\n', out);
	}
	bw_store_cursor_free(c);
	return rc < 0 ? BW_ESTORE : BW_OK;
}

static int
export_csv(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	   struct bw_err *err)
{
	struct bw_store_cursor *c;
	const struct bw_record_out *r;
	char tags[BW_RECORD_TAGS_MAX * (BW_TAG_NAME_MAX + 16)];
	char rcpts[BW_RECORD_RECIPIENTS_MAX * 8];
	int rc;

	rc = bw_store_cursor_open(st, &o->filter, &c, err);
	if (rc)
		return rc;
	fputs(BW_EXPORT_CSV_HEADER "\n", out);
	while ((rc = bw_store_cursor_next(c, &r, err)) > 0) {
		size_t used = 0;

		tags[0] = '\0';
		for (size_t i = 0; i < r->ntags; i++) {
			int w;
			if (i) {
				if (used + 1 >= sizeof(tags))
					break;
				tags[used++] = '|';
			}
			w = bw_tag_format(r->tags[i].kind, r->tags[i].name,
					  tags + used, sizeof(tags) - used);
			if (w < 0 || (size_t)w >= sizeof(tags) - used) {
				tags[i ? used - 1 : used] = '\0';
				break;
			}
			used += (size_t)w;
		}
		used = 0;
		rcpts[0] = '\0';
		for (size_t i = 0; i < r->nrecipients; i++) {
			int w = snprintf(rcpts + used, sizeof(rcpts) - used, "%s%s",
					 i ? "|" : "", r->recipients[i]);
			if (w < 0 || (size_t)w >= sizeof(rcpts) - used)
				break;
			used += (size_t)w;
		}
		fprintf(out, "%s,", bw_ioc_type_name(r->type));
		bw_csv_write_field(out, r->value);
		fputc(',', out);
		bw_csv_write_field(out, r->source);
		fputc(',', out);
		if (r->confidence >= 0)
			fprintf(out, "%d", r->confidence);
		fprintf(out, ",%s,", bw_tlp_name(r->tlp));
		write_time(out, r->first_seen);
		fputc(',', out);
		write_time(out, r->last_seen);
		fputc(',', out);
		write_time(out, r->valid_from);
		fputc(',', out);
		write_time(out, r->valid_until);
		fputc(',', out);
		bw_csv_write_field(out, tags);
		fputc(',', out);
		bw_csv_write_field(out, rcpts);
		fputc(',', out);
		bw_csv_write_field(out, r->external_id);
		fprintf(out, ",%s\n", r->revoked ? "true" : "false");
	}
	bw_store_cursor_free(c);
	return rc < 0 ? BW_ESTORE : BW_OK;
}

int
bw_export(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	  struct bw_err *err)
{
	int rc;

	switch (o->format) {
	case BW_EXPORT_PLAIN: rc = export_plain(st, o, out, err); break;
	case BW_EXPORT_CSV: rc = export_csv(st, o, out, err); break;
	case BW_EXPORT_STIX: rc = bw_export_stix(st, o, out, err); break;
	case BW_EXPORT_MISP: rc = bw_export_misp(st, o, out, err); break;
	case BW_EXPORT_RPZ: rc = bw_enforce_export(st, BW_ENFORCE_RPZ, o->now, out, err); break;
	case BW_EXPORT_NFT: rc = bw_enforce_export(st, BW_ENFORCE_NFT, o->now, out, err); break;
	case BW_EXPORT_IPSET: rc = bw_enforce_export(st, BW_ENFORCE_IPSET, o->now, out, err); break;
	default: return bw_err_set(err, BW_EINVAL, "unknown export format");
	}
	if (rc == BW_OK && (fflush(out) != 0 || ferror(out)))
		return bw_err_set(err, BW_EIO, "writing the export failed");
	return rc;
}
