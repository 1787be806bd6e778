/*
 * fuzz_logfmt.c - libFuzzer harness for the telemetry log parsers.
 *
 * The first byte picks the format (0 = detect it from the input); the rest
 * is a log whose lines go through one parser in order, so header state
 * (Zeek #fields, CSV columns) carries over as it does in a real file.  Each
 * line is copied to an allocation of its exact size so that ASan sees any
 * read past its end, and every record is checked: a value of 1 to
 * BW_LOGFMT_VALUE_MAX bytes without control characters, an observer within
 * its limit, a known kind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intel/logfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct bw_logrec *rec)
{
	if (rec->value_len == 0 || rec->value_len > BW_LOGFMT_VALUE_MAX ||
	    rec->observer_len > BW_LOGFMT_OBSERVER_MAX || rec->observer == NULL)
		abort();
	if (rec->kind != BW_LOGVAL_NAME && rec->kind != BW_LOGVAL_URL &&
	    rec->kind != BW_LOGVAL_ADDR)
		abort();
	for (size_t i = 0; i < rec->value_len; i++)
		if ((unsigned char)rec->value[i] < 0x20 || rec->value[i] == 0x7f)
			abort();
	for (size_t i = 0; i < rec->observer_len; i++)
		if ((unsigned char)rec->observer[i] < 0x20)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_logfmt_parser *p = NULL;
	const char *s, *end;
	enum bw_logfmt f;

	if (size == 0)
		return 0;
	f = (enum bw_logfmt)(data[0] % BW_LOGFMT_NFORMATS);
	if (bw_logfmt_parser_new(f, &p, NULL) != BW_OK)
		return 0;
	s = (const char *)data + 1;
	end = (const char *)data + size;
	if (f == BW_LOGFMT_AUTO &&
	    bw_logfmt_parser_detect(p, s, (size_t)(end - s), true) == BW_LOGFMT_AUTO) {
		bw_logfmt_parser_free(p);
		return 0;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		char *line = malloc(n ? n : 1);
		struct bw_logrec rec;
		const char *why = NULL;

		if (line == NULL)
			break;
		memcpy(line, s, n);
		switch (bw_logfmt_parse(p, line, n, &rec, &why)) {
		case BW_LOGLINE_RECORD:
			check(&rec);
			break;
		case BW_LOGLINE_SKIP:
		case BW_LOGLINE_BAD:
			if (why == NULL)
				abort();
			break;
		}
		free(line);
		s = nl ? nl + 1 : end;
	}
	bw_logfmt_parser_free(p);
	return 0;
}
