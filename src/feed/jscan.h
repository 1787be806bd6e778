/*
 * jscan.h - streaming JSON: the elements of one big array, one at a time.
 *
 * A STIX bundle or a TAXII envelope is one JSON object whose "objects" array
 * may hold millions of objects.  Loading it whole would take several times
 * the file size in memory; instead the scanner walks the document in a
 * bounded buffer and hands each element of the chosen array to a callback as
 * raw text (which the caller then parses with jansson).  Other members of
 * the root object are checked for well-formed nesting and skipped in
 * constant memory, except small scalar values (up to BW_JSCAN_MEMBER_MAX),
 * which are handed to a member callback.
 *
 * The scanner checks structure (brackets, strings, separators, a single
 * root); the contents of an element are checked by whoever parses it.
 */
#ifndef BW_FEED_JSCAN_H
#define BW_FEED_JSCAN_H

#include <stddef.h>

#include "core/err.h"

struct bw_reader;

#define BW_JSCAN_MEMBER_MAX (64 * 1024)
#define BW_JSCAN_KEY_MAX 1024

struct bw_jscan_cb {
	/* One element of the array: its raw JSON text and index.  A non-zero
	 * return stops the scan with that code. */
	int (*element)(void *ctx, const char *json, size_t len, size_t index,
		       struct bw_err *err);
	/* A root member other than the array: its key and raw value text,
	 * or json NULL when the value is an object, an array or larger than
	 * BW_JSCAN_MEMBER_MAX.  May be NULL. */
	int (*member)(void *ctx, const char *key, const char *json, size_t len,
		      struct bw_err *err);
	void *ctx;
};

/*
 * Scans the input of in.  With array_key, the root must be an object and
 * the elements of its member array_key are handed out; with array_key NULL,
 * the root must be an array.  An element larger than max_element stops the
 * scan with BW_ELIMIT.  Returns BW_OK, BW_EFORMAT (not JSON of that shape,
 * with the byte offset in the message), BW_ELIMIT, BW_EIO, or a callback's
 * code.  *found (if not NULL) is set when the array was present.
 */
int bw_jscan_run(struct bw_reader *in, const char *array_key,
		 const struct bw_jscan_cb *cb, size_t max_element, int *found,
		 struct bw_err *err);

#endif
