/*
 * feed.h - the common shape of all feed parsers.
 *
 * Every parser reads one input through a struct bw_reader and produces the
 * same stream: for each indicator a struct bw_feed_record handed to the
 * sink's record callback; for each entry it cannot read, a reject (with the
 * place: "line 12", "objects[3].pattern") that the sink counts and reports;
 * for each entry that is well-formed but outside what bulwark models (a STIX
 * pattern with AND, a MISP attribute of type regkey), an "unsupported" with
 * the reason.  A parser never touches the store.
 *
 * A parser returns BW_OK when it read the input to its end (whatever it
 * rejected), BW_EFORMAT when the input is not of its format at all (the
 * caller then keeps nothing of the file), BW_ELIMIT when the input breaks a
 * size limit that makes the rest unreadable, BW_EIO on a read error, or the
 * code a sink callback returned to stop it.
 */
#ifndef BW_FEED_FEED_H
#define BW_FEED_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ioc.h"
#include "store/store.h"

struct bw_reader;

enum bw_feed_format {
	BW_FEED_AUTO = 0,
	BW_FEED_STIX,
	BW_FEED_MISP,
	BW_FEED_CSV,
	BW_FEED_PLAIN,
	BW_FEED_HOSTS,
	BW_FEED_DROP,
	BW_FEED_NFORMATS
};

const char *bw_feed_format_name(enum bw_feed_format f);
/* BW_FEED_AUTO for an unknown name (and for "auto"). */
enum bw_feed_format bw_feed_format_from_name(const char *name, int *ok);

/* Guesses the format of an input from its first bytes.  Returns
 * BW_FEED_PLAIN when nothing more specific fits. */
enum bw_feed_format bw_feed_detect(const char *head, size_t n);

/* Size limits that apply to every parser. */
#define BW_FEED_JSON_ELEMENT_MAX (64u * 1024 * 1024) /* one STIX object, one MISP event */
#define BW_FEED_JSON_STRING_MAX (1u * 1024 * 1024)   /* one JSON string */
#define BW_FEED_JSON_DEPTH_MAX 64
#define BW_FEED_RECORDS_MAX 100000000L               /* records in one file */

/* One indicator as a feed states it.  Strings are owned by the parser and
 * valid only during the record callback.  Unstated: confidence -1, tlp
 * BW_TLP_UNSET, times 0, source/external_id NULL. */
struct bw_feed_record {
	struct bw_ioc ioc;
	const char *source;
	const char *external_id;
	int confidence;
	int tlp;
	int revoked;
	int64_t first_seen, last_seen, valid_from, valid_until;
	struct bw_tag tags[BW_RECORD_TAGS_MAX];
	size_t ntags;
	const char *recipients[BW_RECORD_RECIPIENTS_MAX];
	size_t nrecipients;
	/* an address or prefix only: the canonical domain the source says
	 * resolves to it (a MISP domain|ip pair), or NULL */
	const char *resolves;
};

/* Resets r to "nothing stated". */
void bw_feed_record_init(struct bw_feed_record *r);
/* Adds a tag unless already present or full (extra tags are dropped: the
 * limit protects the store, not the meaning).  Strings must outlive r. */
void bw_feed_record_add_tag(struct bw_feed_record *r, const char *kind,
			    const char *name);

struct bw_feed_sink {
	/* One accepted indicator.  where names its place in the input.  A
	 * non-zero return stops the parser, which returns that code. */
	int (*record)(void *ctx, const struct bw_feed_record *r,
		      const char *where, struct bw_err *err);
	/* An entry that could not be read: where, why, and the raw text (may
	 * be NULL) for the rejects file. */
	void (*reject)(void *ctx, const char *where, const char *reason,
		       const char *raw, size_t rawlen);
	/* A well-formed entry bulwark does not model. */
	void (*unsupported)(void *ctx, const char *where, const char *reason);
	void *ctx;
};

/* What the command line says for the parsers that need it. */
struct bw_feed_options {
	/* generic CSV: "type=column" mappings, e.g. "domain=hostname",
	 * "confidence=score"; NULL-terminated, may be NULL */
	const char *const *columns;
};

int bw_feed_parse_plain(struct bw_reader *in, const struct bw_feed_options *o,
			const struct bw_feed_sink *sink, struct bw_err *err);
int bw_feed_parse_hosts(struct bw_reader *in, const struct bw_feed_options *o,
			const struct bw_feed_sink *sink, struct bw_err *err);
int bw_feed_parse_drop(struct bw_reader *in, const struct bw_feed_options *o,
		       const struct bw_feed_sink *sink, struct bw_err *err);
int bw_feed_parse_csv(struct bw_reader *in, const struct bw_feed_options *o,
		      const struct bw_feed_sink *sink, struct bw_err *err);
int bw_feed_parse_stix(struct bw_reader *in, const struct bw_feed_options *o,
		       const struct bw_feed_sink *sink, struct bw_err *err);
/* One MISP event file: {"Event":{...}}, a bare event object, a list of
 * {"Event":...} or a REST {"response":[...]} result. */
int bw_feed_parse_misp(struct bw_reader *in, const struct bw_feed_options *o,
		       const struct bw_feed_sink *sink, struct bw_err *err);

/* The parser of a format (not AUTO). */
typedef int (*bw_feed_parser_fn)(struct bw_reader *, const struct bw_feed_options *,
				 const struct bw_feed_sink *, struct bw_err *);
bw_feed_parser_fn bw_feed_parser(enum bw_feed_format f);

#endif
