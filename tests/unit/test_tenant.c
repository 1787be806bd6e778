/*
 * test_tenant.c - tenants and API keys: eligible countries, one tenant per
 * country, keys shown once and stored only as a hash, authentication of
 * right, wrong, malformed and revoked keys, and schema 3 on an older store.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "share/tenant.h"
#include "store/store.h"
#include "schema_old.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

static void
test_countries(void)
{
	char cc[3];
	static const char *const yes[] = {
		/* the 27 EU members */
		"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE",
		"GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT",
		"RO", "SK", "SI", "ES", "SE",
		/* candidates */
		"AL", "BA", "GE", "MD", "ME", "MK", "RS", "TR", "UA",
		/* EFTA, UK, Monaco, Vatican City */
		"IS", "LI", "NO", "CH", "GB", "MC", "VA",
	};
	static const char *const no[] = {
		"US", "RU", "BY", "CN", "XK", "EL", "UK", "EU", "AD", "SM", "ZZ", "",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!CHECK(bw_tenant_country_eligible(yes[i])))
			printf("#   %s\n", yes[i]);
	CHECK_INT(sizeof(yes) / sizeof(yes[0]), 43);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!CHECK(!bw_tenant_country_eligible(no[i])))
			printf("#   %s\n", no[i]);
	/* the printed list names exactly the eligible countries */
	CHECK_INT(strlen(bw_tenant_eligible_list()), 43 * 3 - 1);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(strstr(bw_tenant_eligible_list(), yes[i]) != NULL);

	CHECK_INT(bw_tenant_country_parse(" de ", cc, NULL), BW_OK);
	CHECK_STR(cc, "DE");
	CHECK_INT(bw_tenant_country_parse("Fr", cc, NULL), BW_OK);
	CHECK_STR(cc, "FR");
	CHECK_INT(bw_tenant_country_parse("DEU", cc, NULL), BW_EINVAL);
	CHECK_INT(bw_tenant_country_parse("D1", cc, NULL), BW_EINVAL);
	CHECK_INT(bw_tenant_country_parse("", cc, NULL), BW_EINVAL);
	CHECK_INT(bw_tenant_country_parse("\xc3\x84", cc, NULL), BW_EINVAL);
}

static void
test_tenants(void)
{
	struct bw_store *st = NULL;
	struct bw_tenant t, *list = NULL;
	struct bw_err err;
	char name[BW_TENANT_NAME_MAX + 2];
	int64_t id = 0;
	size_t n = 0;

	CHECK_INT(bw_store_open(tmp_path("t.db"), 0, &st, &err), BW_OK);
	CHECK_INT(count(st, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
	CHECK_INT(bw_tenant_add(st, "de", "Germany", 1000, &id, &err), BW_OK);
	CHECK(id > 0);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1001, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add(st, "FR", "France", 1002, NULL, &err), BW_OK);
	/* refused: not eligible, twice, bad names */
	CHECK_INT(bw_tenant_add(st, "US", "United States", 1003, NULL, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "US is not eligible") != NULL);
	CHECK_INT(bw_tenant_add(st, "DE", "Germany again", 1003, NULL, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "DE already has a tenant") != NULL);
	CHECK_INT(bw_tenant_add(st, "AT", "", 1003, NULL, &err), BW_EINVAL);
	CHECK_INT(bw_tenant_add(st, "AT", "line\nbreak", 1003, NULL, &err), BW_EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK_INT(bw_tenant_add(st, "AT", name, 1003, NULL, &err), BW_EINVAL);
	name[BW_TENANT_NAME_MAX] = '\0';
	CHECK_INT(bw_tenant_add(st, "AT", name, 1003, NULL, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM tenant"), 4);

	CHECK_INT(bw_tenant_get(st, "de", &t, &err), BW_OK);
	CHECK_STR(t.country, "DE");
	CHECK_STR(t.name, "Germany");
	CHECK_INT(t.created, 1000);
	CHECK_INT(t.id, id);
	CHECK_INT(bw_tenant_get(st, "IT", &t, &err), BW_ENOTFOUND);

	CHECK_INT(bw_tenant_list(st, &list, &n, &err), BW_OK);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_STR(list[0].country, "AT");
		CHECK_STR(list[1].country, "DE");
		CHECK_STR(list[2].country, "EE");
		CHECK_STR(list[3].country, "FR");
		CHECK_INT(strlen(list[0].name), BW_TENANT_NAME_MAX);
	}
	bw_free(list);
	bw_store_close(st);
}

static int
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void
test_keys(void)
{
	struct bw_store *st = NULL;
	struct bw_tenant t;
	struct bw_tenant_key *keys = NULL;
	struct bw_err err;
	char k1[BW_API_KEY_BUF], k2[BW_API_KEY_BUF], k3[BW_API_KEY_BUF], bad[BW_API_KEY_BUF];
	unsigned char hash[BW_API_KEY_HASH_LEN];
	int64_t id1 = 0, id2 = 0, id3 = 0, got = 0;
	size_t n = 0;
	const char *p;

	CHECK_INT(bw_store_open(tmp_path("t.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add(st, "de", 2000, k1, &id1, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add(st, "DE", 2001, k2, &id2, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add(st, "FR", 2002, k3, &id3, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add(st, "IT", 2003, bad, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(count(st, "SELECT count(*) FROM api_key"), 3);

	/* the form: bwk_<id>_<64 hex>, 256 random bits, all different */
	CHECK(strncmp(k1, "bwk_", 4) == 0);
	p = strchr(k1 + 4, '_');
	CHECK(p != NULL && strlen(p + 1) == 64 && all_hex(p + 1, 64));
	CHECK(strcmp(k1, k2) != 0 && strcmp(k2, k3) != 0);
	CHECK(id1 != id2);
	snprintf(bad, sizeof(bad), "bwk_%lld_", (long long)id1);
	CHECK(strncmp(k1, bad, strlen(bad)) == 0);

	/* only the hash is stored: no column holds the key or its secret */
	CHECK_INT(count(st, "SELECT count(*) FROM api_key WHERE length(hash) = 32"), 3);
	CHECK_INT(count(st, "SELECT count(*) FROM api_key WHERE instr(hex(hash), upper('%s')) > 0"
			" OR instr(CAST(hash AS TEXT), '%s') > 0", p + 1, k1), 0);
	CHECK_INT(bw_api_key_hash(k1, strlen(k1), &got, hash, &err), BW_OK);
	CHECK_INT(got, id1);
	{
		unsigned char want[BW_API_KEY_HASH_LEN];
		sqlite3_stmt *s;
		crypto_generichash(want, sizeof(want), (const unsigned char *)k1,
				   strlen(k1), NULL, 0);
		CHECK(memcmp(want, hash, sizeof(want)) == 0);
		CHECK(sqlite3_prepare_v2(bw_store_db(st),
					 "SELECT hash FROM api_key WHERE id = ?", -1, &s,
					 NULL) == SQLITE_OK);
		sqlite3_bind_int64(s, 1, id1);
		CHECK(sqlite3_step(s) == SQLITE_ROW &&
		      memcmp(sqlite3_column_blob(s, 0), want, sizeof(want)) == 0);
		sqlite3_finalize(s);
	}

	/* authentication */
	CHECK_INT(bw_tenant_authenticate(st, k1, strlen(k1), &t, &got, &err), BW_OK);
	CHECK_STR(t.country, "DE");
	CHECK_INT(got, id1);
	CHECK_INT(bw_tenant_authenticate(st, k3, strlen(k3), &t, NULL, &err), BW_OK);
	CHECK_STR(t.country, "FR");
	/* the wrong secret for a real id: one flipped digit */
	memcpy(bad, k1, sizeof(bad));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	CHECK_INT(bw_tenant_authenticate(st, bad, strlen(bad), &t, NULL, &err), BW_ENOTFOUND);
	CHECK_STR(err.msg, "invalid API key");
	/* FR's secret under DE's id */
	snprintf(bad, sizeof(bad), "bwk_%lld_%s", (long long)id1, strchr(k3 + 4, '_') + 1);
	CHECK_INT(bw_tenant_authenticate(st, bad, strlen(bad), &t, NULL, &err), BW_ENOTFOUND);
	/* an unknown id, malformed keys, a prefix of a good key */
	snprintf(bad, sizeof(bad), "bwk_999_%s", p + 1);
	CHECK_INT(bw_tenant_authenticate(st, bad, strlen(bad), &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, "", 0, &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, "bwk_", 4, &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, k1, strlen(k1) - 1, &t, NULL, &err), BW_ENOTFOUND);
	CHECK(strstr(err.msg, p + 1) == NULL);
	memcpy(bad, k1, sizeof(bad));
	bad[strlen(bad) - 1] = 'A'; /* upper-case hex is not the key */
	CHECK_INT(bw_tenant_authenticate(st, bad, strlen(bad), &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_api_key_hash("bwk_0_00", 8, &got, hash, NULL), BW_EINVAL);

	/* revocation: only that key, only for its own tenant */
	CHECK_INT(bw_tenant_key_revoke(st, "FR", id1, 3000, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_key_revoke(st, "DE", id1, 3000, &err), BW_OK);
	CHECK_INT(bw_tenant_key_revoke(st, "DE", id1, 3500, &err), BW_OK);
	CHECK_INT(bw_tenant_key_revoke(st, "DE", 999, 3000, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, k1, strlen(k1), &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, k2, strlen(k2), &t, NULL, &err), BW_OK);
	CHECK_STR(t.country, "DE");

	CHECK_INT(bw_tenant_key_list(st, "DE", &keys, &n, &err), BW_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(keys[0].id, id1);
		CHECK_INT(keys[0].created, 2000);
		CHECK_INT(keys[0].revoked, 3000); /* the first revocation stays */
		CHECK_INT(keys[1].id, id2);
		CHECK_INT(keys[1].revoked, 0);
	}
	bw_free(keys);
	CHECK_INT(bw_tenant_get(st, "DE", &t, &err), BW_OK);
	CHECK_INT(t.keys_active, 1);
	CHECK_INT(t.keys_revoked, 1);
	bw_store_close(st);
}

/* Gateway keys (kind and label), and the key table of the check path:
 * the same verdicts as bw_tenant_authenticate, both kinds accepted, while
 * bw_tenant_authenticate (TAXII's) refuses a gateway key. */
static void
test_key_table(void)
{
	struct bw_store *st = NULL;
	struct bw_tenant t;
	struct bw_tenant_key *keys = NULL;
	struct bw_tenant_keys *kt = NULL, *kt2 = NULL;
	struct bw_key_auth ka;
	struct bw_err err;
	char kt_de[BW_API_KEY_BUF], kg_de[BW_API_KEY_BUF], kg_fr[BW_API_KEY_BUF];
	char bad[BW_API_KEY_BUF], label[BW_KEY_LABEL_MAX + 2];
	int64_t it = 0, ig = 0, igf = 0;
	size_t n = 0;

	CHECK_INT(bw_store_open(tmp_path("t.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add_kind(st, "DE", BW_KEY_TENANT, NULL, 4000, kt_de, &it, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add_kind(st, "de", BW_KEY_GATEWAY, "nginx in front of the chatbot",
					 4001, kg_de, &ig, &err), BW_OK);
	CHECK_INT(bw_tenant_key_add_kind(st, "FR", BW_KEY_GATEWAY, "", 4002, kg_fr, &igf, &err), BW_OK);
	/* labels: bounded, no control characters */
	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	CHECK_INT(bw_tenant_key_add_kind(st, "DE", BW_KEY_GATEWAY, label, 4003, bad, NULL, &err),
		  BW_EINVAL);
	CHECK_INT(bw_tenant_key_add_kind(st, "DE", BW_KEY_GATEWAY, "a\nb", 4003, bad, NULL, &err),
		  BW_EINVAL);
	CHECK_INT(bw_tenant_key_add_kind(st, "DE", (enum bw_key_kind)7, NULL, 4003, bad, NULL, &err),
		  BW_EINVAL);
	CHECK_INT(count(st, "SELECT count(*) FROM api_key WHERE kind = 'gateway'"), 2);
	CHECK_INT(count(st, "SELECT count(*) FROM api_key WHERE label IS NOT NULL"), 1);

	/* TAXII's authentication: the tenant key yes, a gateway key no */
	CHECK_INT(bw_tenant_authenticate(st, kt_de, strlen(kt_de), &t, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_authenticate(st, kg_de, strlen(kg_de), &t, NULL, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_authenticate(st, kg_fr, strlen(kg_fr), &t, NULL, &err), BW_ENOTFOUND);

	/* the listing shows kind and label */
	CHECK_INT(bw_tenant_key_list(st, "DE", &keys, &n, &err), BW_OK);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_INT(keys[2].id, it);
		CHECK_INT(keys[2].kind, BW_KEY_TENANT);
		CHECK_STR(keys[2].label, "");
		CHECK_INT(keys[3].id, ig);
		CHECK_INT(keys[3].kind, BW_KEY_GATEWAY);
		CHECK_STR(keys[3].label, "nginx in front of the chatbot");
	}
	bw_free(keys);
	CHECK_STR(bw_key_kind_name(BW_KEY_GATEWAY), "gateway");
	CHECK_STR(bw_key_kind_name(BW_KEY_TENANT), "tenant");

	/* the key table: every key of the store (test_keys made 3) */
	CHECK_INT(bw_tenant_keys_load(st, &kt, &err), BW_OK);
	CHECK_INT(bw_tenant_keys_count(kt), 6);
	CHECK_INT(bw_tenant_keys_check(kt, kt_de, strlen(kt_de), &ka, &err), BW_OK);
	CHECK_INT(ka.key_id, it);
	CHECK_STR(ka.country, "DE");
	CHECK_INT(ka.kind, BW_KEY_TENANT);
	CHECK_INT(bw_tenant_keys_check(kt, kg_de, strlen(kg_de), &ka, &err), BW_OK);
	CHECK_INT(ka.key_id, ig);
	CHECK_STR(ka.country, "DE");
	CHECK_INT(ka.kind, BW_KEY_GATEWAY);
	CHECK_INT(bw_tenant_keys_check(kt, kg_fr, strlen(kg_fr), &ka, &err), BW_OK);
	CHECK_STR(ka.country, "FR");
	/* wrong secret, foreign secret under an id, unknown id, malformed */
	memcpy(bad, kg_de, sizeof(bad));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	CHECK_INT(bw_tenant_keys_check(kt, bad, strlen(bad), &ka, &err), BW_ENOTFOUND);
	CHECK_STR(err.msg, "invalid API key");
	snprintf(bad, sizeof(bad), "bwk_%lld_%s", (long long)ig, strchr(kg_fr + 4, '_') + 1);
	CHECK_INT(bw_tenant_keys_check(kt, bad, strlen(bad), &ka, &err), BW_ENOTFOUND);
	snprintf(bad, sizeof(bad), "bwk_99999_%s", strchr(kg_fr + 4, '_') + 1);
	CHECK_INT(bw_tenant_keys_check(kt, bad, strlen(bad), &ka, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_keys_check(kt, kg_de, strlen(kg_de) - 1, &ka, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_keys_check(kt, "", 0, &ka, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_keys_check(NULL, kg_de, strlen(kg_de), &ka, &err), BW_ENOTFOUND);
	/* the key revoked by test_keys is refused from the table too */
	{
		struct bw_tenant_key *dk = NULL;
		size_t dn = 0;
		CHECK_INT(bw_tenant_key_list(st, "DE", &dk, &dn, &err), BW_OK);
		CHECK(dn > 0 && dk[0].revoked != 0);
		bw_free(dk);
	}

	/* a table is a snapshot: a revocation shows in the next one only */
	CHECK_INT(bw_tenant_key_revoke(st, "DE", ig, 5000, &err), BW_OK);
	CHECK_INT(bw_tenant_keys_check(kt, kg_de, strlen(kg_de), &ka, &err), BW_OK);
	CHECK_INT(bw_tenant_keys_load(st, &kt2, &err), BW_OK);
	CHECK_INT(bw_tenant_keys_check(kt2, kg_de, strlen(kg_de), &ka, &err), BW_ENOTFOUND);
	CHECK_INT(bw_tenant_keys_check(kt2, kt_de, strlen(kt_de), &ka, &err), BW_OK);
	bw_tenant_keys_free(kt);
	bw_tenant_keys_free(kt2);
	bw_tenant_keys_free(NULL);
	bw_store_close(st);
}

/* A store of schema 2 (before tenants) gets the tenant tables on open. */
static void
test_migration(void)
{
	struct bw_store *st = NULL;
	struct bw_err err;
	sqlite3 *db;

	CHECK_INT(bw_store_open(tmp_path("old.db"), 0, &st, &err), BW_OK);
	bw_store_close(st);
	CHECK(sqlite3_open(tmp_path("old.db"), &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, SCHEMA_DROP_AFTER_V4 " DROP TABLE tenant_scope; DROP TABLE api_key;"
			       " DROP TABLE tenant; PRAGMA user_version = 2;",
			       NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(bw_store_open(tmp_path("old.db"), BW_STORE_NOCREATE, &st, &err), BW_OK);
	CHECK_INT(count(st, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
	CHECK_INT(bw_tenant_add(st, "EE", "Estonia", 1, NULL, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM tenant"), 1);
	bw_store_close(st);
}

/* A configured eligible list: parsing, "default", refusals, look-up,
 * the text in messages, and tenant add under it. */
static void
test_eligible_config(void)
{
	struct bw_tenant_eligible e;
	struct bw_store *st = NULL;
	struct bw_err err;
	char buf[BW_TENANT_ELIGIBLE_MAX * 3], path[300];

	CHECK_INT(bw_tenant_eligible_parse(" no,is  li,CH ,no", &e, &err), BW_OK);
	CHECK_INT(e.n, 4);
	CHECK_STR(bw_tenant_eligible_text(&e, buf, sizeof(buf)), "CH IS LI NO");
	CHECK(bw_tenant_eligible_has(&e, "NO"));
	CHECK(!bw_tenant_eligible_has(&e, "DE"));
	CHECK(bw_tenant_eligible_has(NULL, "DE"));
	CHECK(!bw_tenant_eligible_has(NULL, "US"));
	CHECK_STR(bw_tenant_eligible_text(NULL, buf, sizeof(buf)), bw_tenant_eligible_list());
	/* a short buffer holds whole codes only */
	CHECK_STR(bw_tenant_eligible_text(&e, buf, 7), "CH IS");
	CHECK_INT(bw_tenant_eligible_parse("default, us", &e, &err), BW_OK);
	CHECK_INT(e.n, 44);
	CHECK(bw_tenant_eligible_has(&e, "US"));
	CHECK(bw_tenant_eligible_has(&e, "VA"));
	CHECK(strstr(bw_tenant_eligible_text(&e, buf, sizeof(buf)), "UA US VA") != NULL);
	CHECK_INT(bw_tenant_eligible_parse("DE UK", &e, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "the United Kingdom is GB") != NULL);
	CHECK_INT(bw_tenant_eligible_parse("el", &e, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "Greece is GR") != NULL);
	CHECK_INT(bw_tenant_eligible_parse("DE,D3", &e, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "'D3' is not an ISO 3166-1 alpha-2 code") != NULL);
	CHECK_INT(bw_tenant_eligible_parse("DEU", &e, &err), BW_EINVAL);
	CHECK_INT(bw_tenant_eligible_parse(" , ", &e, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "no country given") != NULL);
	CHECK_INT(bw_tenant_eligible_parse("abcdefghijklmnopqrstuvwxyz", &e, &err), BW_EINVAL);
	/* tenant add under a list */
	snprintf(path, sizeof(path), "%s/eligible.db", tmp_dir);
	if (!CHECK(bw_store_open(path, 0, &st, &err) == BW_OK))
		return;
	CHECK_INT(bw_tenant_eligible_parse("NO IS", &e, &err), BW_OK);
	CHECK_INT(bw_tenant_add_eligible(st, &e, "no", "Norway", 1, NULL, &err), BW_OK);
	CHECK_INT(bw_tenant_add_eligible(st, &e, "DE", "Germany", 1, NULL, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "DE is not eligible for the programme"
		     " (eligible by the configuration: IS NO)") != NULL);
	CHECK_INT(bw_tenant_add_eligible(st, NULL, "DE", "Germany", 1, NULL, &err), BW_OK);
	bw_store_close(st);
}

/* The SQL form of the TLP rule lists exact levels, never a range. */
static void
test_visible_sql(void)
{
	char buf[512], small[40];

	CHECK_INT(bw_tenant_visible_sql("r", "?1", 1, buf, sizeof(buf)), BW_OK);
	CHECK_STR(buf, "(r.tlp IN (0,1,2) OR (r.tlp IN (3,4) AND EXISTS (SELECT 1 FROM"
		  " record_recipient rr WHERE rr.record_id = r.id AND rr.country = ?1)))");
	CHECK_INT(bw_tenant_visible_sql("x", ":cc", 0, buf, sizeof(buf)), BW_OK);
	CHECK_STR(buf, "(x.tlp IN () OR (x.tlp IN (3,4) AND EXISTS (SELECT 1 FROM"
		  " record_recipient rr WHERE rr.record_id = x.id AND rr.country = :cc)))");
	CHECK_INT(bw_tenant_visible_sql("r", "?1", 1, small, sizeof(small)), BW_ELIMIT);
}

int
main(void)
{
	if (tmp_dir_make("tenant"))
		return 1;
	TAP_RUN(test_countries);
	TAP_RUN(test_tenants);
	TAP_RUN(test_keys);
	TAP_RUN(test_key_table);
	TAP_RUN(test_migration);
	TAP_RUN(test_eligible_config);
	TAP_RUN(test_visible_sql);
	tmp_dir_remove();
	return tap_done();
}
