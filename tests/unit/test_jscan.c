/*
 * test_jscan.c - the bounded reader and the streaming JSON scanner: lines,
 * long lines, refills across the buffer, elements, members, and every
 * structural error, including inputs far larger than the buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "feed/feed.h"
#include "feed/jscan.h"
#include "feed/reader.h"
#include "tap.h"

struct got {
	int n;
	char el[16][256];
	char keys[16][64];
	char vals[16][128];
	int nm;
	size_t total;
};

static int
on_el(void *ctx, const char *json, size_t len, size_t index, struct bw_err *err)
{
	struct got *g = ctx;

	(void)err;
	if (g->n < 16 && len < 256 && (int)index == g->n) {
		memcpy(g->el[g->n], json, len);
		g->el[g->n][len] = '\0';
	}
	g->total += len;
	g->n++;
	return 0;
}

static int
on_member(void *ctx, const char *key, const char *json, size_t len,
	  struct bw_err *err)
{
	struct got *g = ctx;

	(void)err;
	if (g->nm < 16) {
		snprintf(g->keys[g->nm], sizeof(g->keys[0]), "%s", key);
		if (json)
			snprintf(g->vals[g->nm], sizeof(g->vals[0]), "%.*s", (int)len, json);
		else
			snprintf(g->vals[g->nm], sizeof(g->vals[0]), "(skipped)");
	}
	g->nm++;
	return 0;
}

static int
scan(const char *text, size_t len, const char *key, struct got *g, size_t max,
     struct bw_err *err)
{
	struct bw_reader *r;
	struct bw_jscan_cb cb = {on_el, on_member, g};
	int rc, found;

	memset(g, 0, sizeof(*g));
	if (bw_reader_open_mem(text, len, "mem", &r, err))
		return -1;
	rc = bw_jscan_run(r, key, &cb, max, &found, err);
	bw_reader_free(r);
	return rc;
}

#define S(x) x, sizeof(x) - 1

static void
test_elements(void)
{
	struct got g;
	struct bw_err err;

	CHECK_INT(scan(S("\xef\xbb\xbf { \"type\": \"bundle\", \"id\":\"b--1\", \"x\": {\"deep\": [1,2]},"
			 " \"objects\": [ {\"a\": \"x]}\\\"\"} , [1, {\"b\": null}], \"s\", 12.5e3 ,true],"
			 " \"n\": -1 }\n"),
		       "objects", &g, 1 << 20, &err), BW_OK);
	CHECK_INT(g.n, 5);
	CHECK_STR(g.el[0], "{\"a\": \"x]}\\\"\"}");
	CHECK_STR(g.el[1], "[1, {\"b\": null}]");
	CHECK_STR(g.el[2], "\"s\"");
	CHECK_STR(g.el[3], "12.5e3");
	CHECK_STR(g.el[4], "true");
	CHECK_INT(g.nm, 4);
	CHECK_STR(g.keys[0], "type");
	CHECK_STR(g.vals[0], "\"bundle\"");
	CHECK_STR(g.vals[2], "(skipped)");
	CHECK_STR(g.keys[3], "n");
	CHECK_STR(g.vals[3], "-1");

	CHECK_INT(scan(S("[{\"Event\":{}}, {\"Event\":{\"a\":1}}]"), NULL, &g, 1 << 20, &err),
		  BW_OK);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.el[1], "{\"Event\":{\"a\":1}}");
	CHECK_INT(scan(S("{\"objects\": []}"), "objects", &g, 1 << 20, &err), BW_OK);
	CHECK_INT(g.n, 0);
}

static void
test_errors(void)
{
	struct got g;
	struct bw_err err;
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "empty input"},
		{"{\"objects\": [1, 2}", "expected ',' or ']'"},
		{"{\"objects\": [[1, 2}]}", "mismatched bracket"},
		{"{\"objects\": [1 2]}", "expected ',' or ']'"},
		{"{\"objects\": [\"a\nb\"]}", "control character"},
		{"{\"objects\": [1]} x", "text after the end"},
		{"{\"objects\": [1]", "unexpected end of input"},
		{"{\"objects\" [1]}", "expected ':'"},
		{"{\"objects\": {}}", "expected an array"},
		{"[1]", "expected a JSON object"},
		{"{\"objects\": [@]}", "unexpected character"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = scan(bad[i].text, strlen(bad[i].text), "objects", &g, 1 << 20, &err);
		if (!tap_check(rc == BW_EFORMAT && strstr(err.msg, bad[i].why) != NULL,
			       bad[i].why, __FILE__, __LINE__))
			printf("#   rc %d: %s\n", rc, err.msg);
	}
	CHECK_INT(scan(S("{\"a\": 1}"), NULL, &g, 1 << 20, &err), BW_EFORMAT);
}

static void
test_limits_and_big_input(void)
{
	struct got g;
	struct bw_err err;
	static char big[3 * 1024 * 1024 + 100], deep[200];
	size_t i;

	/* an element over the limit stops the scan with BW_ELIMIT */
	i = 0;
	i += (size_t)sprintf(big, "{\"objects\": [\"");
	memset(big + i, 'a', 2 * 1024 * 1024);
	i += 2 * 1024 * 1024;
	i += (size_t)sprintf(big + i, "\"]}");
	CHECK_INT(scan(big, i, "objects", &g, 1024 * 1024, &err), BW_ELIMIT);
	CHECK(strstr(err.msg, "larger than") != NULL);
	/* the same string as a skipped member costs nothing and is fine */
	i = (size_t)sprintf(big, "{\"descr\": [\"");
	memset(big + i, 'a', 2 * 1024 * 1024);
	i += 2 * 1024 * 1024;
	i += (size_t)sprintf(big + i, "\"], \"objects\": [1]}");
	CHECK_INT(scan(big, i, "objects", &g, 1024 * 1024, &err), BW_OK);
	CHECK_INT(g.n, 1);
	/* many small elements across many buffer refills */
	i = (size_t)sprintf(big, "{\"objects\": [");
	for (int k = 0; k < 100000; k++)
		i += (size_t)sprintf(big + i, "%s{\"k\": %d}", k ? "," : "", k);
	i += (size_t)sprintf(big + i, "]}");
	CHECK_INT(scan(big, i, "objects", &g, 1 << 20, &err), BW_OK);
	CHECK_INT(g.n, 100000);
	/* nesting deeper than the limit */
	i = (size_t)sprintf(deep, "{\"objects\": [");
	for (int k = 0; k < BW_FEED_JSON_DEPTH_MAX + 1; k++)
		deep[i++] = '[';
	CHECK_INT(scan(deep, i, "objects", &g, 1 << 20, &err), BW_ELIMIT);
	CHECK(strstr(err.msg, "nested deeper") != NULL);
}

static void
test_reader_lines(void)
{
	static const char text[] = "a\r\nbb\n\nccc";
	struct bw_reader *r;
	struct bw_err err;
	const char *line;
	size_t len;
	long no;
	int tl;

	bw_reader_open_mem(text, sizeof(text) - 1, "mem", &r, &err);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 1);
	CHECK(len == 1 && line[0] == 'a' && no == 1);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 1);
	CHECK(len == 2 && no == 2);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 1);
	CHECK(len == 0 && no == 3 && !tl);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 1);
	CHECK(len == 3 && memcmp(line, "ccc", 3) == 0 && no == 4);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 0);
	/* rewind reads it again from line 1 */
	CHECK_INT(bw_reader_rewind(r, &err), BW_OK);
	CHECK_INT(bw_reader_line(r, &line, &len, &no, &tl, &err), 1);
	CHECK(no == 1 && len == 1);
	bw_reader_free(r);

	CHECK_INT(bw_reader_open("/nonexistent/file", &r, &err), BW_EIO);
	CHECK(strstr(err.msg, "/nonexistent/file") != NULL);
	CHECK_INT(bw_reader_open("/tmp", &r, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "is a directory") != NULL);
}

static void
test_reader_long_lines(void)
{
	/* lines that straddle the 1 MiB buffer and a line longer than it */
	size_t n = 5 * 1024 * 1024, i = 0;
	char *big = malloc(n);
	struct bw_reader *r;

	if (!CHECK(big != NULL))
		return;
	struct bw_err err;
	const char *line;
	size_t len;
	long no, lines = 0, longs = 0;
	int tl, rc;

	while (i + 100 < 2 * 1024 * 1024)
		i += (size_t)sprintf(big + i, "line-%ld.example\n", lines++);
	memset(big + i, 'x', 1500000);
	i += 1500000;
	big[i++] = '\n';
	i += (size_t)sprintf(big + i, "after.example\n");
	bw_reader_open_mem(big, i, "mem", &r, &err);
	long seen = 0;
	while ((rc = bw_reader_line(r, &line, &len, &no, &tl, &err)) == 1) {
		if (tl) {
			longs++;
			continue;
		}
		if (seen < lines) {
			char want[64];
			int wl = snprintf(want, sizeof(want), "line-%ld.example", seen);
			if ((size_t)wl != len || memcmp(line, want, len) != 0)
				break;
		}
		seen++;
	}
	CHECK_INT(rc, 0);
	CHECK_INT(longs, 1);
	CHECK_INT(seen, lines + 1);
	CHECK_INT(no, lines + 2);
	bw_reader_free(r);
	free(big);
}

int
main(void)
{
	TAP_RUN(test_elements);
	TAP_RUN(test_errors);
	TAP_RUN(test_limits_and_big_input);
	TAP_RUN(test_reader_lines);
	TAP_RUN(test_reader_long_lines);
	return tap_done();
}
