/*
 * test_policy.c - the disruption policy's evidence: blast radius counted
 * in domains (and unrelated registrable domains) from every source's
 * domain|ip pairs, ingested as MISP events, whichever source reported
 * which pair; and the domain-risk model's score as evidence that can send
 * a candidate to review but never create an action by itself.
 *
 * Names are real: phishing names from tests/data/model/heldout-phishing.txt
 * (the model's held-out set), the model is trained here on
 * tests/data/model/train-*-small.txt.  Addresses are documentation ranges.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/psl.h"
#include "core/tlp.h"
#include "disrupt/action.h"
#include "disrupt/authz.h"
#include "disrupt/policy.h"
#include "feed/ingest.h"
#include "intel/model.h"
#include "store/store.h"
#include "storetest.h"
#include "tap.h"
#include "tmpdir.h"

#define NOW 1800000000LL
#define SHARED_IP "203.0.113.77"  /* 50 unrelated phishing domains */
#define TENANT_IP "203.0.113.88"  /* 40 subdomains of one registrable domain */
#define NUNRELATED 50
#define NSUB 40
#define NPAIRS (NUNRELATED + NSUB)
#define NAMES_MAX 600

static char data[512];

/* Lines of tests/data/model/NAME into names (each bw_malloc'ed). */
static size_t
read_names(const char *name, char **names, size_t max)
{
	char p[700], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/model/%s", data, name);
	f = fopen(p, "r");
	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			names[n++] = bw_strdup(line);
	}
	fclose(f);
	return n;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bw_free(names[i]);
}

/* ---- blast radius ------------------------------------------------------ */

struct pair {
	char domain[256];
	const char *ip;
};

/* 50 phishing names with distinct registrable domains on SHARED_IP, then 40
 * subdomains of the next name's registrable domain on TENANT_IP. */
static int
make_pairs(const struct bw_psl *psl, struct pair *p, char *tenant, size_t tcap)
{
	char *names[NAMES_MAX], seen[NUNRELATED][256];
	static const char *const labels[] = {"login", "secure", "account", "verify",
					     "wallet", "support", "update", "billing"};
	size_t n = read_names("heldout-phishing.txt", names, NAMES_MAX), k = 0, i;

	tenant[0] = '\0';
	for (i = 0; i < n && (k < NUNRELATED || tenant[0] == '\0'); i++) {
		struct bw_ioc ioc;
		char reg[256];
		size_t j;

		if (bw_ioc_parse(names[i], strlen(names[i]), BW_IOC_DOMAIN, &ioc, NULL) ||
		    !bw_psl_registrable_of(psl, &ioc, reg, sizeof(reg)) ||
		    strcmp(reg, ioc.value) != 0)
			continue; /* registrable names only: unrelated by construction */
		for (j = 0; j < k && strcmp(seen[j], reg) != 0; j++)
			;
		if (j < k)
			continue;
		if (k < NUNRELATED) {
			snprintf(seen[k], sizeof(seen[k]), "%s", reg);
			snprintf(p[k].domain, sizeof(p[k].domain), "%s", ioc.value);
			p[k++].ip = SHARED_IP;
		} else {
			snprintf(tenant, tcap, "%s", reg);
		}
	}
	free_names(names, n);
	if (k < NUNRELATED || tenant[0] == '\0')
		return -1;
	for (i = 0; i < NSUB; i++) {
		snprintf(p[NUNRELATED + i].domain, sizeof(p[0].domain), "%s-%zu.%s",
			 labels[i % 8], i / 8 + 1, tenant);
		p[NUNRELATED + i].ip = TENANT_IP;
	}
	return 0;
}

/* A MISP event of org holding the domain|ip attributes of the pairs for
 * which keep(i) says yes; those from deleted_from on are deleted. */
static void
write_event(const char *file, const char *org, int ev, const struct pair *p,
	    int (*keep)(int i, int org), int orgno, int deleted_from)
{
	FILE *f = fopen(file, "w");
	int first = 1;

	if (f == NULL)
		return;
	fprintf(f, "{\"Event\":{\"info\":\"Phishing kit hosting\",\"uuid\":"
		"\"5b3f5a8e-0000-4000-8000-%012d\",\"Orgc\":{\"name\":\"%s\"},"
		"\"Tag\":[{\"name\":\"tlp:green\"}],\"Attribute\":[", ev, org);
	for (int i = 0; i < NPAIRS; i++) {
		if (!keep(i, orgno))
			continue;
		fprintf(f, "%s{\"type\":\"domain|ip\",\"category\":\"Network activity\","
			"\"to_ids\":true,\"uuid\":\"6c1e2f00-%04d-4000-8000-%012d\","
			"\"value\":\"%s|%s\"%s}", first ? "" : ",", orgno, i, p[i].domain, p[i].ip,
			i >= deleted_from ? ",\"deleted\":true" : "");
		first = 0;
	}
	fputs("]}}\n", f);
	fclose(f);
}

/* who reports which pair, in three ways */
static int
all_by_a_one_by_b(int i, int org)
{
	return org == 0 || i == 0 || i == NUNRELATED;
}

static int
round_robin(int i, int org)
{
	return i % 3 == org;
}

static int
both(int i, int org)
{
	(void)i;
	return org < 2;
}

static void
ingest_result(void *ctx, const struct bw_ingest_result *r)
{
	long *n = ctx;

	if (r->refused)
		printf("# refused %s: %s\n", r->file, r->error.msg);
	*n += r->records - r->rejected;
}

/* A store with the pairs reported as keep says, an authorisation for both
 * addresses, and one policy run; reason gets the shared address's. */
static void
blast_store(const char *name, const struct bw_psl *psl, const struct pair *p,
	    int (*keep)(int, int), char *reason, size_t cap)
{
	static const char *const orgs[] = {"CERT-EE", "abuse.ch", "CIRCL"};
	struct bw_ingest_options o = {0};
	struct bw_store *st = NULL;
	struct bw_authz_in in;
	struct bw_authz_item *it = NULL;
	struct bw_policy pol;
	struct bw_policy_result res;
	struct bw_err err;
	char file[300], sql[256];
	long records = 0;
	int64_t z;
	FILE *f;

	snprintf(file, sizeof(file), "%s.db", name);
	if (!CHECK(bw_store_open(tmp_path(file), 0, &st, &err) == BW_OK))
		return;
	o.tlp = BW_TLP_UNSET;
	o.confidence = 90;
	o.psl = psl;
	o.now = NOW - 3600;
	for (int k = 0; k < 3; k++) {
		snprintf(file, sizeof(file), "%s/%s-%d.json", tmp_dir, name, k);
		write_event(file, orgs[k], k, p, keep, k, NPAIRS);
		CHECK_INT(bw_ingest_path(st, file, &o, ingest_result, &records, &err), BW_OK);
	}
	f = fopen(tmp_path("ips.txt"), "w");
	fputs(SHARED_IP "\n" TENANT_IP "\n", f);
	fclose(f);
	memset(&in, 0, sizeof(in));
	in.authority = "Harju County Court";
	in.reference = "2-25/881";
	in.jurisdiction = "ee";
	in.scope = "file:ips.txt";
	in.valid_from = NOW - 100;
	in.valid_until = NOW + 86400;
	CHECK_INT(bw_authz_read_items(tmp_path("ips.txt"), &it, &in.nitems, &err), BW_OK);
	in.items = it;
	CHECK_INT(bw_authz_add(st, &in, "alice", NOW - 100, &z, &err), BW_OK);
	bw_free(it);

	/* every pair is kept, from every source that reported it */
	CHECK_INT(count(st, "SELECT count(DISTINCT domain) FROM resolution"), NPAIRS);
	bw_policy_init(&pol);
	CHECK_INT(bw_policy_run(st, &pol, NULL, NULL, NOW, &res, &err), BW_OK);
	CHECK_INT(count(st, "SELECT count(*) FROM action WHERE target = '" SHARED_IP "'"
			    " AND state = 'review'"), 1);
	CHECK_INT(count(st, "SELECT count(*) FROM action WHERE target = '" TENANT_IP "'"
			    " AND state = 'active'"), 1);
	snprintf(sql, sizeof(sql), "SELECT reason FROM action WHERE target = '%s'", SHARED_IP);
	text(st, reason, cap, sql);
	/* the first source deletes all but its first five attributes: their
	 * pairs no longer count */
	snprintf(file, sizeof(file), "%s/%s-0.json", tmp_dir, name);
	write_event(file, orgs[0], 0, p, keep, 0, 5);
	CHECK_INT(bw_ingest_path(st, file, &o, ingest_result, &records, &err), BW_OK);
	if (keep == all_by_a_one_by_b) {
		CHECK_INT(count(st, "SELECT count(DISTINCT domain) FROM resolution r JOIN indicator i"
				    " ON i.id = r.ip_id WHERE i.value = '" SHARED_IP "'"
				    " AND r.revoked = 0"), 5);
		CHECK_INT(count(st, "SELECT count(*) FROM resolution WHERE revoked = 1"), NPAIRS - 5);
	}
	bw_store_close(st);
}

static void
test_blast_radius(void)
{
	static struct pair p[NPAIRS];
	struct bw_psl *psl = NULL;
	char tenant[256], r1[BW_ACTION_REASON_MAX + 1], r2[BW_ACTION_REASON_MAX + 1],
		r3[BW_ACTION_REASON_MAX + 1], want[128];
	struct bw_err err;

	if (!CHECK(bw_psl_open(&psl, &err) == BW_OK))
		return;
	if (!CHECK(make_pairs(psl, p, tenant, sizeof(tenant)) == 0))
		goto out;
	printf("# %d unrelated names from %s to %s; %d subdomains of %s\n", NUNRELATED,
	       p[0].domain, p[NUNRELATED - 1].domain, NSUB, tenant);
	/* one source reports every pair (the store used to keep one domain per
	 * address and source, so this counted 2, not 50) */
	blast_store("one-source", psl, p, all_by_a_one_by_b, r1, sizeof(r1));
	blast_store("round-robin", psl, p, round_robin, r2, sizeof(r2));
	blast_store("both", psl, p, both, r3, sizeof(r3));
	printf("# %s\n", r1);
	snprintf(want, sizeof(want), "blast radius: %d domains under %d unrelated registrable"
		 " domains resolve to it (the policy allows 9), e.g. ", NUNRELATED, NUNRELATED);
	CHECK(strncmp(r1, want, strlen(want)) == 0);
	/* three examples, the first names in order */
	CHECK(strchr(r1 + strlen(want), ',') != NULL);
	CHECK_STR(r1, r2);
	CHECK_STR(r1, r3);
out:
	bw_psl_free(psl);
}

/* The threshold and subdomains: 40 subdomains of one registrable domain are
 * one tenant; the threshold is the configured one. */
static void
test_blast_threshold(void)
{
	struct bw_policy p;
	struct bw_err err;

	bw_policy_init(&p);
	CHECK(p.blast_radius == 10);
	CHECK_INT(bw_policy_set(&p, "disrupt_blast_radius", "1", &err), BW_EINVAL);
	CHECK_INT(bw_policy_set(&p, "disrupt_blast_radius", "51", &err), BW_OK);
	CHECK(p.blast_radius == 51);
	CHECK(p.min_score == 0);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "0.8", &err), BW_OK);
	CHECK(p.min_score > 0.79 && p.min_score < 0.81);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "off", &err), BW_OK);
	CHECK(p.min_score == 0);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "1.5", &err), BW_EINVAL);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "high", &err), BW_EINVAL);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "nan", &err), BW_EINVAL);
}

/* ---- the model's score --------------------------------------------------- */

static const char words[] = "secure\nlogin\naccount\nverify\nwallet\nmail\ncloud\n"
			    "bank\nshop\nnews\nhome\nservice\nonline\nsupport\n";

static struct bw_model *
train(void)
{
	char *good[NAMES_MAX], *bad[NAMES_MAX];
	size_t ng = read_names("train-benign-small.txt", good, NAMES_MAX);
	size_t nb = read_names("train-malicious-small.txt", bad, NAMES_MAX);
	const char **names = bw_calloc(ng + nb + 1, sizeof(*names));
	size_t *lens = bw_calloc(ng + nb + 1, sizeof(*lens)), skipped = 0;
	uint8_t *labels = bw_calloc(ng + nb + 1, 1);
	struct bw_features *f = NULL;
	struct bw_model *m = NULL;
	struct bw_model_train_opts o;
	struct bw_err err;

	if (!names || !lens || !labels || ng < 100 || nb < 100 ||
	    bw_features_new(words, strlen(words), &f, &err))
		goto out;
	for (size_t i = 0; i < ng + nb; i++) {
		names[i] = i < ng ? good[i] : bad[i - ng];
		lens[i] = strlen(names[i]);
		labels[i] = i >= ng;
		bw_features_count(f, names[i], lens[i], labels[i], NULL);
	}
	bw_features_finish(f, NULL);
	bw_model_train_defaults(&o);
	o.rounds = 30;
	o.depth = 4;
	o.info = "{\"data\":\"test_policy\"}";
	if (bw_model_train(f, names, lens, labels, ng + nb, &o, &skipped, &m, &err))
		printf("# train: %s\n", err.msg);
out:
	free_names(good, ng);
	free_names(bad, nb);
	bw_free(names);
	bw_free(lens);
	bw_free(labels);
	return m;
}

/* The k highest (or lowest) scoring names of tests/data/model/FILE, best
 * first, into out[] with their scores. */
static void
extremes(const struct bw_model *m, const char *file, int highest, size_t k,
	 char out[][300], double *scores)
{
	char *names[NAMES_MAX];
	size_t n = read_names(file, names, NAMES_MAX);

	for (size_t j = 0; j < k; j++) {
		scores[j] = highest ? -1 : 2;
		out[j][0] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		struct bw_ioc ioc;
		double s;
		size_t j;
		if (bw_ioc_parse(names[i], strlen(names[i]), BW_IOC_DOMAIN, &ioc, NULL) ||
		    bw_model_score(m, ioc.value, ioc.len, &s, NULL, NULL))
			continue;
		for (j = 0; j < k && (highest ? s <= scores[j] : s >= scores[j]); j++)
			;
		if (j == k)
			continue;
		memmove(&scores[j + 1], &scores[j], (k - j - 1) * sizeof(*scores));
		memmove(out[j + 1], out[j], (k - j - 1) * sizeof(out[0]));
		scores[j] = s;
		snprintf(out[j], sizeof(out[j]), "%s", ioc.value);
	}
	free_names(names, n);
}

static void
put(struct bw_store *st, const char *value, const char *src, int conf)
{
	struct bw_ioc ioc;
	struct bw_record_in r;
	enum bw_upsert_result res;
	struct bw_err err;

	bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, NULL);
	memset(&r, 0, sizeof(r));
	r.ioc = &ioc;
	r.source = src;
	r.confidence = conf;
	r.tlp = 1;
	r.first_seen = r.last_seen = NOW - 3600;
	if (bw_store_upsert(st, &r, NOW - 3600, &res, &err) != BW_OK)
		printf("# upsert %s: %s\n", value, err.msg);
}

/* hi[0..3] score high, lo low.  Store: hi[0] and lo meet everything;
 * hi[1] has one source, hi[2] confidence 60, hi[3] no authorisation. */
static struct bw_store *
score_store(const char *name, char hi[][300], const char *lo)
{
	struct bw_store *st = NULL;
	struct bw_authz_in in;
	struct bw_authz_item *it = NULL;
	struct bw_err err;
	int64_t z;
	FILE *f;

	if (bw_store_open(tmp_path(name), 0, &st, &err) != BW_OK)
		return NULL;
	bw_store_begin(st, &err);
	put(st, hi[0], "feed-a", 95);
	put(st, hi[0], "feed-b", 90);
	put(st, lo, "feed-a", 95);
	put(st, lo, "feed-b", 90);
	put(st, hi[1], "feed-a", 100);
	put(st, hi[2], "feed-a", 60);
	put(st, hi[2], "feed-b", 60);
	put(st, hi[3], "feed-a", 95);
	put(st, hi[3], "feed-b", 95);
	bw_store_commit(st, &err);
	f = fopen(tmp_path("names.txt"), "w");
	fprintf(f, "%s\n%s\n%s\n%s\n", hi[0], lo, hi[1], hi[2]);
	fclose(f);
	memset(&in, 0, sizeof(in));
	in.authority = "Harju County Court";
	in.reference = "2-25/990";
	in.jurisdiction = "ee";
	in.scope = "file:names.txt";
	in.valid_from = NOW - 100;
	in.valid_until = NOW + 86400;
	if (bw_authz_read_items(tmp_path("names.txt"), &it, &in.nitems, &err) == BW_OK) {
		in.items = it;
		bw_authz_add(st, &in, "alice", NOW - 100, &z, &err);
	}
	bw_free(it);
	return st;
}

static void
test_model_score(void)
{
	struct bw_model *m = train();
	struct bw_store *st = NULL;
	struct bw_policy p;
	struct bw_policy_result res;
	struct bw_action *acts = NULL;
	struct bw_err err;
	char hi[4][300], lo[1][300], sql[1400], buf[BW_ACTION_REASON_MAX + 1];
	double shi[4], slo[1];
	size_t n = 0;

	if (!CHECK(m != NULL))
		return;
	extremes(m, "heldout-dga.txt", 1, 4, hi, shi);
	extremes(m, "heldout-benign-clean.txt", 0, 1, lo, slo);
	printf("# highest DGA scores %.4f %.4f %.4f %.4f (%s ...), lowest benign %.4f (%s)\n",
	       shi[0], shi[1], shi[2], shi[3], hi[0], slo[0], lo[0]);
	/* the premise: names the model is all but sure of */
	for (int i = 0; i < 4; i++)
		CHECK(shi[i] >= 0.99);
	CHECK(slo[0] < 0.5);

	st = score_store("score.db", hi, lo[0]);
	if (!CHECK(st != NULL))
		goto out;
	bw_policy_init(&p);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "0.5", &err), BW_OK);
	CHECK_INT(bw_policy_run(st, &p, NULL, m, NOW, &res, &err), BW_OK);
	/* candidates: hi[0], lo, hi[3] (uncovered); hi[1] (one source) and
	 * hi[2] (confidence 60) are not even candidates */
	CHECK_INT(res.candidates, 3);
	CHECK_INT(res.uncovered, 1);
	CHECK_INT(res.activated, 1);
	CHECK_INT(res.review, 1);
	CHECK_INT(res.low_score, 1);
	CHECK_INT(res.scored, 2);
	CHECK_INT(count(st, "SELECT count(*) FROM action"), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM action WHERE target IN"
		 " ('%s', '%s', '%s')", hi[1], hi[2], hi[3]);
	CHECK_INT(count(st, "%s", sql), 0);
	snprintf(sql, sizeof(sql), "SELECT state FROM action WHERE target = '%s'", hi[0]);
	CHECK_STR(text(st, buf, sizeof(buf), sql), "active");
	snprintf(sql, sizeof(sql), "SELECT state FROM action WHERE target = '%s'", lo[0]);
	CHECK_STR(text(st, buf, sizeof(buf), sql), "review");
	snprintf(sql, sizeof(sql), "SELECT reason FROM action WHERE target = '%s'", lo[0]);
	text(st, buf, sizeof(buf), sql);
	printf("# %s: %s\n", lo[0], buf);
	CHECK(strncmp(buf, "model score 0.0", 15) == 0 && strstr(buf, "below the policy's 0.500"));
	/* the score is kept with the action and in its audit entries */
	CHECK_INT(bw_action_list(st, -1, &acts, &n, &err), BW_OK);
	CHECK_INT(n, 2);
	for (size_t i = 0; i < n; i++) {
		double want = strcmp(acts[i].target, hi[0]) == 0 ? shi[0] : slo[0];
		CHECK(acts[i].score > want - 1e-6 && acts[i].score < want + 1e-6);
	}
	CHECK_INT(count(st, "SELECT count(*) FROM audit WHERE kind LIKE 'action.%%'"
			    " AND json_extract(detail, '$.score') IS NOT NULL"), 2);
	snprintf(sql, sizeof(sql), "SELECT reason FROM action WHERE target = '%s'", hi[0]);
	CHECK(strstr(text(st, buf, sizeof(buf), sql), "; model score 0.99") != NULL);
	bw_free(acts);
	acts = NULL;
	bw_store_close(st);

	/* a score alone never acts: with no minimum score, and a lower
	 * confidence threshold, hi[1..3] are still not actioned */
	st = score_store("alone.db", hi, lo[0]);
	if (!CHECK(st != NULL))
		goto out;
	bw_policy_init(&p);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_confidence", "70", &err), BW_OK);
	CHECK_INT(bw_policy_run(st, &p, NULL, m, NOW, &res, &err), BW_OK);
	CHECK_INT(res.activated, 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM action WHERE target IN"
		 " ('%s', '%s', '%s')", hi[1], hi[2], hi[3]);
	CHECK_INT(count(st, "%s", sql), 0);
	bw_store_close(st);

	/* without a model: as before, min_score not applied, nothing scored */
	st = score_store("nomodel.db", hi, lo[0]);
	if (!CHECK(st != NULL))
		goto out;
	bw_policy_init(&p);
	CHECK_INT(bw_policy_set(&p, "disrupt_min_score", "0.5", &err), BW_OK);
	CHECK_INT(bw_policy_run(st, &p, NULL, NULL, NOW, &res, &err), BW_OK);
	CHECK_INT(res.activated, 2);
	CHECK_INT(res.review, 0);
	CHECK_INT(res.scored, 0);
	CHECK_INT(count(st, "SELECT count(*) FROM action WHERE score IS NULL"
			    " AND reason = 'policy: covered, confident, corroborated'"), 2);
	bw_store_close(st);
	st = NULL;
out:
	bw_store_close(st);
	bw_model_free(m);
}

/* The policy keys of a bulwark.conf: comments, other owners' keys and
 * spacing are skipped; a bad value and an over-long line are refused with
 * the file and line, never cut and read on as a new line. */
static void
write_text(const char *name, const char *text)
{
	FILE *f = fopen(tmp_path(name), "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
test_policy_file(void)
{
	struct bw_policy p;
	struct bw_err err;
	char *big = bw_malloc(6000);

	bw_policy_init(&p);
	write_text("ok.conf", "# the policy\n\n  disrupt_min_confidence = 90 \n"
			      "listen = 127.0.0.1:8080\ndisrupt_min_sources=3\r\n"
			      "disrupt_sinkhole = 192.0.2.53\n");
	CHECK_INT(bw_policy_load(&p, tmp_path("ok.conf"), &err), BW_OK);
	CHECK_INT(p.min_confidence, 90);
	CHECK_INT(p.min_sources, 3);
	CHECK_STR(p.sinkhole, "192.0.2.53");

	write_text("bad.conf", "disrupt_min_sources = 2\ndisrupt_min_confidence = 101\n");
	CHECK_INT(bw_policy_load(&p, tmp_path("bad.conf"), &err), BW_EINVAL);
	CHECK(strstr(err.msg, "bad.conf:2") != NULL);

	if (CHECK(big != NULL)) {
		/* 5,000 bytes of comment, then a key on the same line: fgets
		 * once read the tail as a line of its own */
		memset(big, 'x', 5000);
		memcpy(big, "# ", 2);
		snprintf(big + 5000, 1000, "\ndisrupt_min_sources = 5\n");
		write_text("long.conf", big);
		bw_policy_init(&p);
		CHECK_INT(bw_policy_load(&p, tmp_path("long.conf"), &err), BW_EINVAL);
		CHECK(strstr(err.msg, "long.conf:1: line too long") != NULL);
		CHECK_INT(p.min_sources, 2);
	}
	CHECK_INT(bw_policy_load(&p, tmp_path("missing.conf"), &err), BW_EIO);
	CHECK(strstr(err.msg, "missing.conf") != NULL);
	bw_free(big);
}

int
main(void)
{
	const char *d = getenv("BW_TEST_DATA");

	snprintf(data, sizeof(data), "%s", d ? d : "tests/data");
	if (tmp_dir_make("policy"))
		return 1;
	TAP_RUN(test_blast_threshold);
	TAP_RUN(test_blast_radius);
	TAP_RUN(test_model_score);
	TAP_RUN(test_policy_file);
	tmp_dir_remove();
	return tap_done();
}
