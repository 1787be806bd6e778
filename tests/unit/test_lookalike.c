/*
 * test_lookalike.c - the lookalike detector: each kind with its brand and
 * how, names that must not match (the brand's own names, a word that only
 * contains a short brand, unrelated names), the IDN homoglyph path (a
 * Cyrillic letter), errors, the brand file, and the store pass that tags
 * the records of a tenant's lookalikes once.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ioc.h"
#include "core/timeutil.h"
#include "intel/lookalike.h"
#include "share/tenant.h"
#include "share/tenant_scope.h"
#include "store/store.h"
#include "tap.h"

static char dir[] = "/tmp/bw-test-lookalike-XXXXXX";

static const char *const brands[] = {
	"spiegel.de", "bild.de", "faz.net", "t-online.de", "sueddeutsche.de",
	"lemonde.fr", "pravda.com.ua", "gouv.fr", "metamask.io", "myetherwallet.com",
	"err.ee",
};

/* "kind/how/brand" of a name, "-" when none, "!" on error */
static const char *
look(const struct bw_lookalike *lk, const char *name)
{
	static char buf[600];
	struct bw_lookalike_hit h;
	struct bw_err err;

	if (bw_lookalike_check(lk, name, strlen(name), &h, &err) != BW_OK)
		return "!";
	if (h.kind == BW_LOOKALIKE_NONE)
		return "-";
	snprintf(buf, sizeof(buf), "%s/%s/%s", bw_lookalike_kind_name(h.kind), h.how,
		 h.brand);
	return buf;
}

static struct bw_lookalike *
detector(void)
{
	struct bw_lookalike *lk = NULL;
	struct bw_err err;

	if (!CHECK(bw_lookalike_new(&lk, &err) == BW_OK))
		return NULL;
	for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
		CHECK_INT(bw_lookalike_add(lk, brands[i], NULL, &err), BW_OK);
	CHECK_INT((long)bw_lookalike_count(lk), (long)(sizeof(brands) / sizeof(brands[0])));
	return lk;
}

static void
test_kinds(void)
{
	struct bw_lookalike *lk = detector();

	if (lk == NULL)
		return;
	/* Doppelganger: TLD swaps (also under a private suffix), typos */
	CHECK_STR(look(lk, "spiegel.ltd"), "tld-swap/suffix/spiegel.de");
	CHECK_STR(look(lk, "bild.eu.com"), "tld-swap/suffix/bild.de");
	CHECK_STR(look(lk, "faz.lol"), "tld-swap/suffix/faz.net");
	CHECK_STR(look(lk, "gouv.fm"), "-"); /* a public suffix brand: no swaps */
	CHECK_STR(look(lk, "fazz.lol"), "typo/repetition/faz.net");
	CHECK_STR(look(lk, "bildd.beauty"), "typo/repetition/bild.de");
	CHECK_STR(look(lk, "spiegeli.life"), "typo/insertion/spiegel.de");
	CHECK_STR(look(lk, "tonline.cfd"), "typo/omission/t-online.de");
	CHECK_STR(look(lk, "t-onlinl.today"), "typo/substitution/t-online.de");
	CHECK_STR(look(lk, "spigeel.com"), "typo/transposition/spiegel.de");
	CHECK_STR(look(lk, "spiehel.com"), "typo/keyboard/spiegel.de");
	CHECK_STR(look(lk, "sueddeutcshe.com"), "typo/transposition/sueddeutsche.de");
	CHECK_STR(look(lk, "suedeutsch.com"), "typo/distance-2/sueddeutsche.de");
	/* combo-squats */
	CHECK_STR(look(lk, "pravda-ua.rest"), "combo-squat/token/pravda.com.ua");
	CHECK_STR(look(lk, "spiegel-login.com"), "combo-squat/token/spiegel.de");
	CHECK_STR(look(lk, "metamaskwallet.xyz"), "combo-squat/contains/metamask.io");
	CHECK_STR(look(lk, "walletmetamask.xyz"), "combo-squat/contains/metamask.io");
	CHECK_STR(look(lk, "err-ee.example"), "combo-squat/brand-domain/err.ee");
	/* subdomain squats */
	CHECK_STR(look(lk, "spiegel.de.example.net"),
		  "subdomain-squat/brand-domain/spiegel.de");
	CHECK_STR(look(lk, "metamask.secure-login.example"),
		  "subdomain-squat/label/metamask.io");
	CHECK_STR(look(lk, "myetherwalet.com.example.site"),
		  "subdomain-squat/omission/myetherwallet.com");
	/* homoglyphs: ASCII confusables, and an IDN with a Cyrillic "е" */
	CHECK_STR(look(lk, "rnetamask.io"), "homoglyph/confusable/metamask.io");
	CHECK_STR(look(lk, "m\xd0\xb5tamask.io"), "homoglyph/idn/metamask.io");
	CHECK_STR(look(lk, "https://m\xd0\xb5tamask-login.com/x"),
		  "homoglyph/idn/metamask.io");
	/* accents fall away ("ė", "á"); a letter ICU does not hold
	 * confusable (Cyrillic "т") is dropped and the typo checks go on */
	CHECK_STR(look(lk, "myeth\xc4\x97rw\xc3\xa1llet.com"),
		  "homoglyph/idn/myetherwallet.com");
	CHECK_STR(look(lk, "mye\xd1\x82herwallet.com"), "homoglyph/idn/myetherwallet.com");
	/* a name in another script is not folded into a match */
	CHECK_STR(look(lk, "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb4\xd0\xb0.com"), "-");
	/* URLs and e-mail addresses are checked by their host */
	CHECK_STR(look(lk, "hxxps://spiegel[.]ltd/artikel"), "tld-swap/suffix/spiegel.de");
	CHECK_STR(look(lk, "redaktion@spiegel.ltd"), "tld-swap/suffix/spiegel.de");

	/* the brand's own names, and unrelated ones */
	CHECK_STR(look(lk, "spiegel.de"), "-");
	CHECK_STR(look(lk, "www.spiegel.de"), "-");
	CHECK_STR(look(lk, "news.err.ee"), "-");
	CHECK_STR(look(lk, "sante.gouv.fr"), "-");
	/* a brand label of 7 or more counts anywhere in the label: another
	 * newspaper's own name is a match unless it is a brand too (the
	 * default list has tagesspiegel.de) */
	CHECK_STR(look(lk, "tagesspiegel.de"), "combo-squat/contains/spiegel.de");
	CHECK_STR(look(lk, "xbild.com"), "-"); /* 4 letters: only as a token */
	CHECK_STR(look(lk, "connect-online.com"), "-");
	CHECK_STR(look(lk, "bilder.de"), "-");
	CHECK_STR(look(lk, "error.example"), "-");
	CHECK_STR(look(lk, "example.org"), "-");
	CHECK_STR(look(lk, "192.0.2.1"), "-");
	CHECK_STR(look(lk, "not a name"), "!");
	bw_lookalike_free(lk);
}

static void
test_errors(void)
{
	struct bw_lookalike *lk = NULL;
	struct bw_err err;
	char path[300];
	FILE *f;

	if (!CHECK(bw_lookalike_new(&lk, &err) == BW_OK))
		return;
	CHECK_INT(bw_lookalike_add(lk, "not a domain", NULL, &err), BW_EINVAL);
	CHECK_INT(bw_lookalike_add(lk, "com", NULL, &err), BW_EINVAL);
	CHECK_INT(bw_lookalike_add(lk, "err.ee", "EST", &err), BW_EINVAL);
	CHECK_INT(bw_lookalike_add(lk, "err.ee", "ee", &err), BW_OK);
	CHECK_INT(bw_lookalike_add(lk, "ERR.EE.", "LV", &err), BW_OK);
	CHECK_INT((long)bw_lookalike_count(lk), 1);
	{
		struct bw_lookalike_hit h;
		CHECK_INT(bw_lookalike_check(lk, "err-ee.example", 14, &h, &err), BW_OK);
		CHECK_STR(h.owners, "EE,LV");
	}
	/* the file: comments, blank lines, and an error naming the line */
	snprintf(path, sizeof(path), "%s/brands.txt", dir);
	f = fopen(path, "w");
	if (CHECK(f != NULL)) {
		fputs("# brands\n\nspiegel.de  # Der Spiegel\nbad name\n", f);
		fclose(f);
		CHECK_INT(bw_lookalike_load(lk, path, NULL, &err), BW_EINVAL);
		CHECK(strstr(err.msg, "brands.txt:4") != NULL);
		CHECK_INT((long)bw_lookalike_count(lk), 2);
	}
	CHECK_INT(bw_lookalike_load(lk, "/nonexistent/brands", NULL, &err), BW_EIO);
	/* a line too long for the buffer is refused, not cut in two */
	f = fopen(path, "w");
	if (CHECK(f != NULL)) {
		fputs("zeit.de\n", f);
		for (int i = 0; i < 1100; i++)
			fputc('a', f);
		fputs(".de\n", f);
		fclose(f);
		CHECK_INT(bw_lookalike_load(lk, path, NULL, &err), BW_EINVAL);
		CHECK(strstr(err.msg, "brands.txt:2: line too long") != NULL);
	}
	bw_lookalike_free(lk);
}

static int
add(struct bw_store *st, const char *value, const char *source)
{
	struct bw_ioc ioc;
	struct bw_record_in r = {0};
	enum bw_upsert_result res;
	struct bw_err err;

	if (bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, &err))
		return -1;
	r.ioc = &ioc;
	r.source = source;
	r.confidence = -1;
	r.tlp = 2;
	return bw_store_upsert(st, &r, 1700000000, &res, &err);
}

static long
count_tags(struct bw_store *st, const char *name)
{
	sqlite3_stmt *q;
	long n = -1;

	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT count(*) FROM record_tag rt JOIN tag t ON t.id = rt.tag_id"
			       " WHERE t.kind = 'lookalike' AND t.name = ?1", -1, &q,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

static void
test_scan_store(void)
{
	struct bw_store *st = NULL;
	struct bw_lookalike *lk = NULL;
	struct bw_lookalike_scan s;
	struct bw_err err;
	char path[300];

	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (!CHECK(bw_store_open(path, 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1700000000, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "DE", "Germany", 1700000000, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "EE", "brand:err.ee", 1700000000, &err), BW_OK);
	CHECK_INT(bw_tenant_scope_add(st, "DE", "brand:spiegel.de", 1700000000, &err), BW_OK);
	CHECK_INT(bw_store_begin(st, &err), BW_OK);
	CHECK_INT(add(st, "err-ee.example", "feed-a"), BW_OK);
	CHECK_INT(add(st, "err-ee.example", "feed-b"), BW_OK);
	CHECK_INT(add(st, "http://spiegel.ltd/login", "feed-a"), BW_OK);
	CHECK_INT(add(st, "spiegel.de", "feed-a"), BW_OK);
	CHECK_INT(add(st, "example.org", "feed-a"), BW_OK);
	CHECK_INT(add(st, "198.51.100.7", "feed-a"), BW_OK);
	CHECK_INT(bw_store_commit(st, &err), BW_OK);

	if (CHECK(bw_lookalike_new(&lk, &err) == BW_OK) &&
	    CHECK(bw_lookalike_load_tenants(lk, st, &err) == BW_OK)) {
		CHECK_INT((long)bw_lookalike_count(lk), 2);
		CHECK_INT(bw_lookalike_scan_store(lk, st, 0, &s, &err), BW_OK);
		CHECK_INT(s.checked, 4); /* three domains and a URL */
		CHECK_INT(s.matched, 2);
		CHECK_INT(s.tagged, 3);  /* two records of err-ee, one URL */
		CHECK_INT(count_tags(st, "EE:err.ee"), 2);
		CHECK_INT(count_tags(st, "DE:spiegel.de"), 1);
		/* again: nothing new */
		CHECK_INT(bw_lookalike_scan_store(lk, st, 0, &s, &err), BW_OK);
		CHECK_INT(s.matched, 2);
		CHECK_INT(s.tagged, 0);
		/* only records changed since a later time: none */
		CHECK_INT(bw_lookalike_scan_store(lk, st, bw_time_now() + 3600, &s, &err),
			  BW_OK);
		CHECK_INT(s.checked, 0);
	}
	/* the tag reads back through the cursor as kind lookalike */
	{
		struct bw_store_cursor *c = NULL;
		const struct bw_record_out *r;
		struct bw_record_filter f = {BW_IOC_URL, 0, 0, NULL};
		int found = 0;
		if (CHECK(bw_store_cursor_open(st, &f, &c, &err) == BW_OK)) {
			while (bw_store_cursor_next(c, &r, &err) == 1)
				for (size_t i = 0; i < r->ntags; i++)
					found += strcmp(r->tags[i].kind, "lookalike") == 0 &&
						 strcmp(r->tags[i].name, "DE:spiegel.de") == 0;
			bw_store_cursor_free(c);
		}
		CHECK_INT(found, 1);
	}
	bw_lookalike_free(lk);
	bw_store_close(st);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	TAP_RUN(test_kinds);
	TAP_RUN(test_errors);
	TAP_RUN(test_scan_store);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
