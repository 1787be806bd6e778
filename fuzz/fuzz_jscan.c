/*
 * fuzz_jscan.c - libFuzzer harness for the streaming JSON scanner: every
 * element handed out must be balanced JSON text that lies inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/jscan.h"
#include "feed/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_element(void *ctx, const char *json, size_t len, size_t index,
	   struct bw_err *err)
{
	size_t *total = ctx;

	(void)index;
	(void)err;
	if (len == 0)
		abort();
	*total += (unsigned char)json[0] + (unsigned char)json[len - 1];
	return 0;
}

static int
on_member(void *ctx, const char *key, const char *json, size_t len,
	  struct bw_err *err)
{
	size_t *total = ctx;

	(void)err;
	*total += strlen(key) + (json && len ? (unsigned char)json[len - 1] : 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	struct bw_jscan_cb cb = {on_element, on_member, &total};
	struct bw_reader *r = NULL;
	struct bw_err err;
	int found;

	if (bw_reader_open_mem(data, size, "fuzz", &r, &err))
		return 0;
	(void)bw_jscan_run(r, (size & 1) ? NULL : "objects", &cb, 1 << 20, &found, &err);
	bw_reader_free(r);
	return 0;
}
