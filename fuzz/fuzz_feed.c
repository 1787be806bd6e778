/*
 * fuzz_feed.c - one libFuzzer harness for every feed parser.
 *
 * Built once per format with -DFUZZ_FORMAT=BW_FEED_xxx; the input is handed
 * to the parser through a memory reader and a sink that reads every field of
 * every record (so that a record pointing at freed or unterminated memory is
 * caught by ASan).  Detection runs too, since it reads the same hostile head.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "feed/feed.h"
#include "feed/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink_bytes;

static int
on_record(void *ctx, const struct bw_feed_record *r, const char *where,
	  struct bw_err *err)
{
	(void)ctx;
	(void)err;
	sink_bytes += strlen(r->ioc.value) + strlen(where);
	if (r->source)
		sink_bytes += strlen(r->source);
	if (r->external_id)
		sink_bytes += strlen(r->external_id);
	for (size_t i = 0; i < r->ntags; i++)
		sink_bytes += strlen(r->tags[i].kind) + strlen(r->tags[i].name);
	for (size_t i = 0; i < r->nrecipients; i++)
		sink_bytes += strlen(r->recipients[i]);
	return 0;
}

static void
on_reject(void *ctx, const char *where, const char *reason, const char *raw,
	  size_t rawlen)
{
	(void)ctx;
	sink_bytes += strlen(where) + strlen(reason);
	if (raw && rawlen)
		sink_bytes += (unsigned char)raw[rawlen - 1];
}

static void
on_unsupported(void *ctx, const char *where, const char *reason)
{
	(void)ctx;
	sink_bytes += strlen(where) + strlen(reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const columns[] = {"value=1", "confidence=2", "tags=3", NULL};
	struct bw_feed_options o = {FUZZ_FORMAT == BW_FEED_CSV && size > 0 &&
						    (data[0] & 1)
					    ? columns
					    : NULL};
	struct bw_feed_sink sink = {on_record, on_reject, on_unsupported, NULL};
	struct bw_reader *r = NULL;
	struct bw_err err;
	const char *head;
	size_t n;

	if (bw_reader_open_mem(data, size, "fuzz", &r, &err))
		return 0;
	if (bw_reader_peek(r, &head, &n, &err) == 0)
		(void)bw_feed_detect(head, n);
	(void)bw_feed_parser(FUZZ_FORMAT)(r, &o, &sink, &err);
	bw_reader_free(r);
	return 0;
}
