/*
 * fuzz_ioc.c - libFuzzer harness for indicator parsing and the time parser.
 *
 * The first byte picks the type hint; the rest is the text.  Every accepted
 * value must re-parse to itself (normalisation is idempotent), which is the
 * property exports and the index rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ioc.h"
#include "core/timeutil.h"
#include "core/tlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_ioc a, b;
	int64_t t;
	char tbuf[BW_TIME_TEXT_MAX];
	enum bw_ioc_type hint;

	if (size == 0)
		return 0;
	hint = (enum bw_ioc_type)(data[0] % BW_IOC_NTYPES);
	if (bw_ioc_parse((const char *)data + 1, size - 1, hint, &a, NULL) == BW_OK) {
		if (strlen(a.value) != a.len)
			abort();
		if (bw_ioc_parse(a.value, a.len, a.type, &b, NULL) != BW_OK ||
		    b.type != a.type || strcmp(a.value, b.value) != 0)
			abort(); /* canonical text must be a fixed point */
	}
	if (bw_time_parse((const char *)data + 1, size - 1, &t, NULL) == BW_OK &&
	    t >= 0 && t < 253402300800LL) {
		int64_t t2;
		bw_time_format(t, tbuf);
		if (bw_time_parse(tbuf, strlen(tbuf), &t2, NULL) != BW_OK || t2 != t)
			abort();
	}
	(void)bw_tlp_parse((const char *)data + 1, size - 1);
	return 0;
}
