/*
 * ingest.h - from files to the store: format detection, one transaction per
 * file, defaults from the command line, rejects and summaries.
 *
 * The driver owns the policy that the parsers leave open: a file is one
 * transaction, so a file that turns out not to be of its format (or that
 * breaks a size limit, or whose store write fails) leaves the store exactly
 * as it was; a record that cannot be read is rejected alone and the rest of
 * the file goes in.  What the file itself states wins over the options;
 * the options fill in what the file leaves unsaid.
 */
#ifndef BW_FEED_INGEST_H
#define BW_FEED_INGEST_H

#include <stdio.h>

#include "core/err.h"
#include "core/psl.h"
#include "feed/feed.h"
#include "store/store.h"

struct bw_ingest_options {
	enum bw_feed_format format;   /* BW_FEED_AUTO: detect per file */
	const char *source;           /* default source name, or NULL */
	int source_fixed;             /* source wins over what the file says
				       * (a TAXII post is the tenant's own) */
	int tlp;                      /* default TLP, or BW_TLP_UNSET */
	int confidence;               /* default confidence, or -1 */
	const struct bw_tag *tags;    /* added to every record */
	size_t ntags;
	const char *const *recipients; /* added to every record (--share-with) */
	size_t nrecipients;
	struct bw_feed_options feed;  /* parser options (CSV columns) */
	/* "FILE:WHERE: reason\traw" lines for rejects and
	 * "FILE:WHERE: unsupported: reason" lines for unsupported entries */
	FILE *rejects;
	const struct bw_psl *psl;     /* for registrable domains; required */
	int64_t now;                  /* the time of this run */
	/* Called for each reject (e.g. to print the first few); may be NULL. */
	void (*on_reject)(void *ctx, const char *file, const char *where,
			  const char *reason);
	/* Called when a value was changed in a way the analyst should know:
	 * a CIDR with host bits set is stored as its network.  Also written
	 * to the rejects file as "FILE:WHERE: note: ...".  May be NULL. */
	void (*on_note)(void *ctx, const char *file, const char *where,
			const char *note);
	/* Called for each unsupported entry; may be NULL. */
	void (*on_unsupported)(void *ctx, const char *file, const char *where,
			       const char *reason);
	void *ctx;
};

struct bw_ingest_result {
	char file[1024];
	enum bw_feed_format format;
	long records, added, updated, unchanged, rejected, unsupported;
	int refused;             /* nothing of the file was kept */
	struct bw_err error;     /* why, when refused */
};

/* Called once per ingested file (a MISP feed directory yields one result per
 * event file). */
typedef void (*bw_ingest_result_fn)(void *ctx, const struct bw_ingest_result *r);

/*
 * Ingests path ("-" for standard input; a directory holding a MISP feed's
 * manifest.json ingests each event file listed there).  Returns BW_OK when
 * every file was read (refused files and rejected records are reported
 * through on_result, not as an error); a non-zero code only for failures
 * that stop the run (the store cannot be written at all).
 */
int bw_ingest_path(struct bw_store *st, const char *path,
		   const struct bw_ingest_options *o, bw_ingest_result_fn on_result,
		   void *ctx, struct bw_err *err);

/* Ingests one reader (already opened) as one transaction; used by
 * bw_ingest_path and by tests and fuzzers. */
int bw_ingest_reader(struct bw_store *st, struct bw_reader *in,
		     const struct bw_ingest_options *o,
		     struct bw_ingest_result *res, struct bw_err *err);

#endif
