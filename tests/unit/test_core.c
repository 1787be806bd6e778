/*
 * test_core.c - the small core modules: timestamps, TLP levels, UUIDv5,
 * error messages and the allocation helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tlp.h"
#include "core/uuid.h"
#include "tap.h"

static int64_t
parse(const char *s)
{
	int64_t t = -1;
	struct bw_err err;

	if (bw_time_parse(s, strlen(s), &t, &err) != BW_OK)
		return -1;
	return t;
}

static void
test_time(void)
{
	char buf[BW_TIME_TEXT_MAX];
	struct bw_err err;
	int64_t t;

	CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
	CHECK_INT(parse("2024-01-02T03:04:05Z"), 1704164645);
	CHECK_INT(parse("2024-01-02T03:04:05.678Z"), 1704164645);
	CHECK_INT(parse("2024-01-02T05:04:05+02:00"), 1704164645);
	CHECK_INT(parse("2024-01-01T22:04:05-0500"), 1704164645);
	CHECK_INT(parse("2024-01-02 03:04:05"), 1704164645); /* abuse.ch */
	CHECK_INT(parse("\"2024-01-02 03:04:05\""), 1704164645);
	CHECK_INT(parse("2024-01-02 03:04:05 UTC"), 1704164645);
	CHECK_INT(parse("2024-01-02"), 1704153600);
	CHECK_INT(parse("1704164645"), 1704164645);
	CHECK_INT(parse("2024-02-29T00:00:00Z"), 1709164800);
	CHECK_INT(parse("2023-02-29T00:00:00Z"), -1);
	CHECK_INT(parse("2024-13-01"), -1);
	CHECK_INT(parse("2024-01-02T25:00:00Z"), -1);
	CHECK_INT(parse("yesterday"), -1);
	CHECK_INT(parse("2024-01-02T03:04:05Zjunk"), -1);
	CHECK(bw_time_parse("x", 1, &t, &err) == BW_EINVAL && strstr(err.msg, "not a timestamp"));
	CHECK_STR(bw_time_format(1704164645, buf), "2024-01-02T03:04:05Z");
	CHECK_STR(bw_time_format_ms(1704164645, buf), "2024-01-02T03:04:05.000Z");
	CHECK_STR(bw_time_format(0, buf), "1970-01-01T00:00:00Z");
	CHECK_STR(bw_time_format(253402300799LL, buf), "9999-12-31T23:59:59Z");
	CHECK(bw_time_parse_since("7d", 1000000, &t, &err) == BW_OK && t == 1000000 - 7 * 86400);
	CHECK(bw_time_parse_since("24h", 1000000, &t, &err) == BW_OK && t == 1000000 - 86400);
	CHECK(bw_time_parse_since("2w", 2000000, &t, &err) == BW_OK && t == 2000000 - 14 * 86400);
	CHECK(bw_time_parse_since("2024-01-02", 0, &t, &err) == BW_OK && t == 1704153600);
	CHECK(bw_time_parse_since("7x", 0, &t, &err) == BW_EINVAL);
	/* civil date round trip over four centuries */
	for (int64_t d = -1000; d < 146097 + 1000; d += 37) {
		int64_t y;
		unsigned m, dd;
		bw_civil_from_days(d, &y, &m, &dd);
		if (bw_days_from_civil(y, m, dd) != d) {
			CHECK(!"civil round trip");
			break;
		}
	}
	CHECK(bw_time_now() > 1700000000);
	{
		/* a reading 1.5 s back is at least 1,500 ms ago */
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		t0.tv_sec -= 2;
		t0.tv_nsec += 500000000L;
		if (t0.tv_nsec >= 1000000000L) {
			t0.tv_sec++;
			t0.tv_nsec -= 1000000000L;
		}
		CHECK(bw_time_ms_since(&t0) >= 1500);
		CHECK(bw_time_ms_since(&t0) < 1500 + 60000);
	}
}

static void
test_tlp(void)
{
	CHECK_INT(bw_tlp_parse("CLEAR", 5), BW_TLP_CLEAR);
	CHECK_INT(bw_tlp_parse("tlp:white", 9), BW_TLP_CLEAR);
	CHECK_INT(bw_tlp_parse("TLP:GREEN", 9), BW_TLP_GREEN);
	CHECK_INT(bw_tlp_parse(" amber ", 7), BW_TLP_AMBER);
	CHECK_INT(bw_tlp_parse("amber+strict", 12), BW_TLP_AMBER_STRICT);
	CHECK_INT(bw_tlp_parse("TLP:AMBER-STRICT", 16), BW_TLP_AMBER_STRICT);
	CHECK_INT(bw_tlp_parse("red", 3), BW_TLP_RED);
	CHECK_INT(bw_tlp_parse("purple", 6), BW_TLP_UNSET);
	CHECK_INT(bw_tlp_parse("amber+", 6), BW_TLP_UNSET);
	CHECK_STR(bw_tlp_name(BW_TLP_AMBER_STRICT), "AMBER+STRICT");
	CHECK(bw_tlp_name(BW_TLP_UNSET) == NULL);
	for (int l = 0; l < BW_TLP_NLEVELS; l++)
		CHECK_INT(bw_tlp_from_stix_id(bw_tlp_stix_id((enum bw_tlp)l)), l);
	/* the TLP 1.0 ids of the STIX 2.1 specification */
	CHECK_INT(bw_tlp_from_stix_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
		  BW_TLP_CLEAR);
	CHECK_INT(bw_tlp_from_stix_id("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
		  BW_TLP_RED);
	CHECK_INT(bw_tlp_from_stix_id("marking-definition--00000000-0000-4000-8000-000000000000"),
		  BW_TLP_UNSET);
}

static void
test_uuid(void)
{
	/* RFC 4122 appendix namespace for DNS names; the v5 UUID of
	 * "python.org" is the well-known value from Python's uuid module docs */
	static const unsigned char ns_dns[16] = {
		0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
		0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
	};
	char out[BW_UUID_TEXT_LEN + 1], out2[BW_UUID_TEXT_LEN + 1];
	const char *parts[] = {"a", "b"};

	CHECK_STR(bw_uuid5(ns_dns, "python.org", 10, out), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	CHECK(bw_uuid_valid(out));
	bw_uuid5_parts(bw_uuid_ns_bulwark, parts, 2, out);
	bw_uuid5(bw_uuid_ns_bulwark, "a\x1f" "b", 3, out2);
	CHECK_STR(out, out2);
	CHECK(out[14] == '5');
	CHECK(!bw_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5"));
	CHECK(!bw_uuid_valid("886313e1x3b8a-5372-9b90-0c9aee199e5d"));
	CHECK(!bw_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5g"));
}

static void
test_err_and_mem(void)
{
	struct bw_err err;
	size_t cap = 0;
	int *v = NULL;

	CHECK_INT(bw_err_set(&err, BW_EINVAL, "label %d", 7), BW_EINVAL);
	CHECK_STR(err.msg, "label 7");
	bw_err_prefix(&err, "file %s:%d", "x.txt", 3);
	CHECK_STR(err.msg, "file x.txt:3: label 7");
	CHECK_INT(bw_err_set(NULL, BW_EIO, "ignored"), BW_EIO);
	bw_err_clear(&err);
	CHECK(err.code == 0 && err.msg[0] == '\0');
	CHECK_STR(bw_rc_name(BW_ELIMIT), "size limit exceeded");

	v = bw_grow(v, &cap, 100, sizeof(*v));
	CHECK(v != NULL && cap >= 100);
	v[99] = 1;
	CHECK(bw_grow(v, &cap, (size_t)-1 / 2, sizeof(*v)) == NULL);
	bw_free(v);
	bw_free(NULL);
	{
		char *d = bw_strndup("abcdef", 3);
		CHECK_STR(d, "abc");
		bw_free(d);
	}
}

int
main(void)
{
	TAP_RUN(test_time);
	TAP_RUN(test_tlp);
	TAP_RUN(test_uuid);
	TAP_RUN(test_err_and_mem);
	return tap_done();
}
