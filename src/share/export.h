/*
 * export.h - the store's records written out in the formats other tools
 * read: plain (one canonical value per line), CSV (one row per record, every
 * field), STIX 2.1 (one bundle) and MISP (one event per source).
 *
 * What an export holds is chosen with a filter (type, changed since, and
 * whether to include expired and revoked records).  Exports are streaming:
 * records are written as they are read, so memory does not grow with the
 * store.  Output that re-enters bulwark with `bulwark ingest` gives back the
 * same records (every field the format can carry; see docs/formats.md).
 */
#ifndef BW_SHARE_EXPORT_H
#define BW_SHARE_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "store/store.h"

enum bw_export_format {
	BW_EXPORT_PLAIN,
	BW_EXPORT_CSV,
	BW_EXPORT_STIX,
	BW_EXPORT_MISP,
	/* the active disruption actions (src/disrupt/enforce.h); the record
	 * filter does not apply */
	BW_EXPORT_RPZ,
	BW_EXPORT_NFT,
	BW_EXPORT_IPSET,
};

struct bw_export_options {
	enum bw_export_format format;
	struct bw_record_filter filter;
	int64_t now; /* the time written as the export's own timestamp */
};

/* The header row of bulwark's CSV, which the CSV reader recognises. */
#define BW_EXPORT_CSV_HEADER                                                   \
	"type,value,source,confidence,tlp,first_seen,last_seen,valid_from,"    \
	"valid_until,tags,recipients,external_id,revoked"

/* Returns 0 and sets *f for "plain", "csv", "stix", "misp", "rpz", "nft",
 * "ipset". */
int bw_export_format_from_name(const char *name, enum bw_export_format *f);

int bw_export(struct bw_store *st, const struct bw_export_options *o,
	      FILE *out, struct bw_err *err);

/* The format-specific writers behind bw_export(). */
int bw_export_stix(struct bw_store *st, const struct bw_export_options *o,
		   FILE *out, struct bw_err *err);
/* The STIX 2.1 pattern of an indicator into buf (cap bytes), the literal
 * escaped; returns buf, or NULL for an unknown type or a buffer too small
 * for the head (a value too long for buf is cut). */
const char *bw_export_stix_pattern(enum bw_ioc_type type, const char *value,
				   char *buf, size_t cap);
/* A new reference to the STIX 2.1 marking-definition of TLP 2.0 level tlp
 * (enum bw_tlp), as the TLP 2.0 extension publishes it; NULL if tlp is out
 * of range or memory ran out. */
struct json_t *bw_export_stix_tlp_marking(int tlp);
int bw_export_misp(struct bw_store *st, const struct bw_export_options *o,
		   FILE *out, struct bw_err *err);

/* Writes s as one CSV field (quoted when it holds a comma, quote or line
 * break). */
void bw_csv_write_field(FILE *out, const char *s);

#endif
