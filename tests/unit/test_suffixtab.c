/*
 * test_suffixtab.c - the hash-map Public Suffix List (src/intel/suffixtab.h):
 * each rule form on a small hand-written list, and agreement with libpsl
 * on the system's list for every name of the committed model samples
 * (tests/data/model) plus names that exercise wildcards and exceptions.
 */
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "intel/suffixtab.h"
#include "tap.h"

static const char *
suffix_of(const struct bw_suffixtab *t, const char *host)
{
	return host + bw_suffixtab_suffix(t, host, strlen(host));
}

static void
test_rules(void)
{
	static const char list[] =
		"// a comment\n"
		"com\n"
		"uk\n"
		"co.uk\n"
		"\n"
		"*.ck\n"
		"!www.ck\n"
		"jp\n"
		"*.kawasaki.jp\n"
		"!city.kawasaki.jp\n"
		"// ===BEGIN PRIVATE DOMAINS===\n"
		"github.io  trailing words are ignored\n"
		"\xe4\xb8\xad\xe5\x9b\xbd\n"; /* the IDN TLD xn--fiqs8s */
	struct bw_suffixtab *t = NULL;
	struct bw_err err;

	if (!CHECK(bw_suffixtab_parse(list, strlen(list), &t, &err) == BW_OK))
		return;
	CHECK_STR(suffix_of(t, "example.com"), "com");
	CHECK_STR(suffix_of(t, "a.b.example.co.uk"), "co.uk");
	CHECK_STR(suffix_of(t, "example.uk"), "uk");
	/* the whole host is a suffix */
	CHECK_STR(suffix_of(t, "co.uk"), "co.uk");
	CHECK_STR(suffix_of(t, "github.io"), "github.io");
	CHECK_STR(suffix_of(t, "user.github.io"), "github.io");
	/* wildcard and exception */
	CHECK_STR(suffix_of(t, "shop.foo.ck"), "foo.ck");
	CHECK_STR(suffix_of(t, "www.ck"), "ck");
	CHECK_STR(suffix_of(t, "a.www.ck"), "ck");
	CHECK_STR(suffix_of(t, "a.b.kawasaki.jp"), "b.kawasaki.jp");
	/* the parent of a wildcard is a suffix too, as libpsl has it */
	CHECK_STR(suffix_of(t, "kawasaki.jp"), "kawasaki.jp");
	CHECK_STR(suffix_of(t, "ck"), "ck");
	CHECK_STR(suffix_of(t, "x.city.kawasaki.jp"), "kawasaki.jp");
	/* an unlisted top-level label: the rule "*" */
	CHECK_STR(suffix_of(t, "a.example.zz"), "zz");
	/* an internationalised rule matches its A-labels */
	CHECK_STR(suffix_of(t, "shop.xn--fiqs8s"), "xn--fiqs8s");
	bw_suffixtab_free(t);

	CHECK_INT(bw_suffixtab_parse("// nothing\n", 11, &t, &err), BW_EFORMAT);
	CHECK(t == NULL);
	CHECK_INT(bw_suffixtab_load("/nonexistent/psl.dat", &t, &err), BW_EIO);
}

/* Compares with libpsl on one name; counts the differences. */
static int
differs(const struct bw_suffixtab *t, const psl_ctx_t *psl, const char *name)
{
	const char *want = psl_unregistrable_domain(psl, name);
	const char *got = suffix_of(t, name);

	if (want == NULL)
		want = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
	if (strcmp(want, got) != 0) {
		printf("# %s: libpsl %s, table %s\n", name, want, got);
		return 1;
	}
	return 0;
}

static void
test_same_as_libpsl(void)
{
	static const char *const files[] = {"heldout-benign-clean.txt",
		"heldout-benign-radar.txt", "heldout-dga.txt",
		"heldout-phishing.txt", "train-benign-small.txt",
		"train-malicious-small.txt"};
	static const char *const tricky[] = {"www.ck", "a.www.ck", "shop.foo.ck",
		"a.b.kawasaki.jp", "city.kawasaki.jp", "x.city.kawasaki.jp",
		"kawasaki.jp", "a.b.c.compute.amazonaws.com", "user.github.io",
		"github.io", "foo.blogspot.co.uk", "example.xn--fiqs8s",
		"example.xn--p1ai", "a.b.example.zz", "bar.s3.amazonaws.com",
		"x.appspot.com", "ex.co.uk", "ex.pvt.k12.ma.us", "a.b.mm",
		"www.city.kobe.jp", "a.b.kobe.jp"};
	const char *dir = getenv("BW_TEST_DATA");
	const psl_ctx_t *psl = psl_latest(NULL);
	psl_ctx_t *owned = (psl_ctx_t *)psl;
	struct bw_suffixtab *t = NULL;
	struct bw_err err;
	size_t names = 0, bad = 0;

	if (psl == NULL)
		psl = psl_builtin();
	if (!CHECK(psl != NULL) ||
	    !CHECK(bw_suffixtab_load(NULL, &t, &err) == BW_OK)) {
		psl_free(owned);
		return;
	}
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		bad += (size_t)differs(t, psl, tricky[i]);
		names++;
	}
	for (size_t i = 0; dir && i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096], line[512];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/model/%s", dir, files[i]);
		fp = fopen(path, "r");
		if (!CHECK(fp != NULL))
			continue;
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\r\n\t, ")] = '\0';
			if (line[0] == '\0' || line[0] == '#' || strchr(line, '/'))
				continue;
			bad += (size_t)differs(t, psl, line);
			names++;
		}
		fclose(fp);
	}
	printf("# %zu names compared with libpsl\n", names);
	CHECK(names > 2000);
	CHECK_INT(bad, 0);
	bw_suffixtab_free(t);
	psl_free(owned);
}

int
main(void)
{
	TAP_RUN(test_rules);
	TAP_RUN(test_same_as_libpsl);
	return tap_done();
}
