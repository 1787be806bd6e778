/*
 * policy.c - the disruption policy and its run (see policy.h).
 *
 * A run reads the candidates in one aggregate query (indicators of the
 * four actionable types with their live sources and highest confidence,
 * already filtered by the thresholds), tests each against the loaded
 * scopes of the authorisations in force, then against the guard lists,
 * the blast radius and the model's score.  The blast radius of an
 * address candidate is one look-up in the resolution table, whose key
 * starts with the address's indicator id: the distinct domains and
 * registrable domains of its live pairs, from every source, and examples
 * only when it is over the threshold.  (It used to be a map of every
 * address built from the domain|ip record pairs, which keep one domain
 * per address and source: it counted linking sources, not domains.)  Only
 * domain candidates that reach this point are scored, one name at a time
 * (microseconds each; candidates are few).  Everything is written in one
 * transaction, so a run is all or nothing and the DNS server sees its
 * changes at once.
 */
#include "disrupt/policy.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "disrupt/action.h"
#include "disrupt/audit.h"
#include "disrupt/authz.h"
#include "disrupt/ipnet.h"
#include "feed/reader.h"
#include "intel/model.h"

#define POLICY_FILE_MAX (64 * 1024)
#define POLICY_AUTHZ_MAX 10000
/* registrable domains a blast-radius reason names as examples */
#define BLAST_EXAMPLES 3

void
bw_policy_init(struct bw_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_confidence = 80;
	p->min_sources = 2;
	p->ttl = 30 * 86400;
	p->blast_radius = 10;
	snprintf(p->guard_dir, sizeof(p->guard_dir), "%s", BW_POLICY_DEFAULT_GUARD_DIR);
}

static int
parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long x;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || *end != '\0' || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static int
parse_duration(const char *v, int64_t *out)
{
	char *end;
	long long x;
	int64_t mul = 1;

	if (v == NULL || !isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || x <= 0)
		return -1;
	switch (*end) {
	case '\0': case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1] != '\0')
		return -1;
	if (x > (long long)(20LL * 365 * 86400) / mul)
		return -1;
	*out = (int64_t)x * mul;
	return 0;
}

int
bw_policy_set(struct bw_policy *p, const char *key, const char *value,
	      struct bw_err *err)
{
	long v;

	if (strcmp(key, "disrupt_min_confidence") == 0) {
		if (parse_long(value, 0, 100, &v))
			return bw_err_set(err, BW_EINVAL, "%s: a number from 0 to 100", key);
		p->min_confidence = (int)v;
	} else if (strcmp(key, "disrupt_min_sources") == 0) {
		if (parse_long(value, 1, 100, &v))
			return bw_err_set(err, BW_EINVAL, "%s: a number from 1 to 100", key);
		p->min_sources = (int)v;
	} else if (strcmp(key, "disrupt_expiry") == 0) {
		if (parse_duration(value, &p->ttl))
			return bw_err_set(err, BW_EINVAL,
					  "%s: a duration such as 3600, 90m, 12h, 30d or 2w (at most 20 years)",
					  key);
	} else if (strcmp(key, "disrupt_blast_radius") == 0) {
		if (parse_long(value, 2, 1000000, &v))
			return bw_err_set(err, BW_EINVAL, "%s: a number from 2 to 1000000", key);
		p->blast_radius = v;
	} else if (strcmp(key, "disrupt_min_score") == 0) {
		char *end;
		double d;
		if (strcmp(value, "off") == 0) {
			p->min_score = 0;
			return BW_OK;
		}
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end != '\0' || !(d >= 0 && d <= 1))
			return bw_err_set(err, BW_EINVAL, "%s: a score from 0 to 1, or off", key);
		p->min_score = d;
	} else if (strcmp(key, "disrupt_sinkhole") == 0) {
		struct bw_ioc ioc;
		if (strcmp(value, "none") == 0) {
			p->sinkhole[0] = '\0';
			return BW_OK;
		}
		if (bw_ioc_parse(value, strlen(value), BW_IOC_ANY, &ioc, NULL) ||
		    (ioc.type != BW_IOC_IPV4 && ioc.type != BW_IOC_IPV6))
			return bw_err_set(err, BW_EINVAL, "%s: an IPv4 or IPv6 address, or none", key);
		snprintf(p->sinkhole, sizeof(p->sinkhole), "%s", ioc.value);
	} else if (strcmp(key, "disrupt_guard_dir") == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof(p->guard_dir))
			return bw_err_set(err, BW_EINVAL, "%s: a directory path", key);
		snprintf(p->guard_dir, sizeof(p->guard_dir), "%s", value);
	} else {
		return bw_err_set(err, BW_ENOTFOUND, "%s: not a policy key", key);
	}
	return BW_OK;
}

int
bw_policy_load(struct bw_policy *p, const char *path, struct bw_err *err)
{
	struct bw_reader *rd = NULL;
	char line[4096];
	long lineno = 0;
	int rc, got;

	rc = bw_reader_open_file(path, &rd, err);
	if (rc)
		return rc;
	while ((got = bw_reader_text_line(rd, line, sizeof(line), POLICY_FILE_MAX, &lineno,
					  err)) == 1) {
		char *k = line, *eq, *v, *e;
		eq = strchr(k, '=');
		if (eq == NULL)
			continue; /* the owner of the file reports it */
		v = eq + 1;
		for (e = eq; e > k && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (e = v + strlen(v); e > v && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (strncmp(k, "disrupt_", 8) != 0)
			continue;
		rc = bw_policy_set(p, k, v, err);
		/* disrupt_auto and disrupt_interval are the daemon's (serve_conf.c) */
		if (rc == BW_ENOTFOUND)
			rc = BW_OK;
		if (rc) {
			bw_err_prefix(err, "%s:%ld", path, lineno);
			break;
		}
	}
	if (got < 0)
		rc = -got;
	bw_reader_free(rd);
	return rc;
}

/* The blast radius look-ups of one run, prepared on first use. */
struct blast {
	sqlite3_stmt *count, *examples;
};

static void
blast_done(struct blast *b)
{
	sqlite3_finalize(b->count);
	sqlite3_finalize(b->examples);
}

/* Into why (empty when under the threshold): how many domains, and
 * registrable domains, resolve to address ip_id in the live pairs of every
 * source, with a few examples. */
static int
blast_radius(struct bw_store *st, struct blast *b, const struct bw_policy *p,
	     int64_t ip_id, char *why, size_t cap, struct bw_err *err)
{
	long domains = 0, unrelated = 0;
	size_t n;
	int step, rc;

	why[0] = '\0';
	if (b->count == NULL &&
	    (rc = bw_store_prepare(st, "SELECT count(DISTINCT domain),"
				   " count(DISTINCT coalesce(registrable, domain))"
				   " FROM resolution WHERE ip_id = ?1 AND revoked = 0",
				   &b->count, err)))
		return rc;
	sqlite3_bind_int64(b->count, 1, ip_id);
	step = sqlite3_step(b->count);
	if (step == SQLITE_ROW) {
		domains = (long)sqlite3_column_int64(b->count, 0);
		unrelated = (long)sqlite3_column_int64(b->count, 1);
	}
	sqlite3_reset(b->count);
	if (step != SQLITE_ROW)
		return bw_store_fail(st, err, "counting resolutions");
	if (unrelated < p->blast_radius)
		return BW_OK;
	if (b->examples == NULL &&
	    (rc = bw_store_prepare(st, "SELECT coalesce(registrable, domain) AS r, min(domain)"
				   " FROM resolution WHERE ip_id = ?1 AND revoked = 0"
				   " GROUP BY r ORDER BY r LIMIT ?2", &b->examples, err)))
		return rc;
	n = (size_t)snprintf(why, cap, "blast radius: %ld domains under %ld unrelated"
			     " registrable domains resolve to it (the policy allows %ld), e.g.",
			     domains, unrelated, p->blast_radius - 1);
	sqlite3_bind_int64(b->examples, 1, ip_id);
	sqlite3_bind_int(b->examples, 2, BLAST_EXAMPLES);
	for (int i = 0; n < cap && (step = sqlite3_step(b->examples)) == SQLITE_ROW; i++)
		n += (size_t)snprintf(why + n, cap - n, "%s %s", i ? "," : "",
				      (const char *)sqlite3_column_text(b->examples, 1));
	sqlite3_reset(b->examples);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return bw_store_fail(st, err, "reading resolutions");
	return BW_OK;
}

static int
has_action(struct bw_store *st, sqlite3_stmt **s, int type, const char *value,
	   int *found, struct bw_err *err)
{
	int step;

	if (*s == NULL &&
	    sqlite3_prepare_v2(bw_store_db(st), "SELECT 1 FROM action WHERE type = ?1"
			       " AND target = ?2 AND state <> 'expired' LIMIT 1", -1, s,
			       NULL) != SQLITE_OK)
		return bw_store_fail(st, err, "looking up actions");
	sqlite3_bind_int(*s, 1, type);
	sqlite3_bind_text(*s, 2, value, -1, SQLITE_STATIC);
	step = sqlite3_step(*s);
	sqlite3_reset(*s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return bw_store_fail(st, err, "looking up actions");
	*found = step == SQLITE_ROW;
	return BW_OK;
}

/* Why (type, value), indicator ind, needs a human, into why (empty when
 * it does not). */
static int
safeguards(struct bw_store *st, const struct bw_policy *p, const struct bw_guard *guard,
	   struct blast *blast, int64_t ind, enum bw_ioc_type type, const char *value,
	   char *why, size_t cap, struct bw_err *err)
{
	struct bw_guard_hit hit;

	why[0] = '\0';
	if (guard && bw_guard_check(guard, type, value, &hit)) {
		snprintf(why, cap, "guarded: %s (%s: %s)", hit.list, hit.why, hit.entry);
		return BW_OK;
	}
	if (type == BW_IOC_IPV4 || type == BW_IOC_IPV6)
		return blast_radius(st, blast, p, ind, why, cap, err);
	if (type == BW_IOC_CIDR) {
		struct bw_iprange r;
		if (bw_iprange_parse(value, &r) == 0 &&
		    ((r.family == 4 && r.len < 24) || (r.family == 6 && r.len < 48)))
			snprintf(why, cap, "blast radius: a prefix wider than /%d",
				 r.family == 4 ? 24 : 48);
	}
	return BW_OK;
}

/* The model's score of domain value into *score, or -1 when there is no
 * model or the name is not one it scores. */
static void
model_score(const struct bw_model *model, const char *value, double *score)
{
	double s;

	*score = -1;
	if (model && bw_model_score(model, value, strlen(value), &s, NULL, NULL) == BW_OK)
		*score = s;
}

int
bw_policy_run(struct bw_store *st, const struct bw_policy *p,
	      const struct bw_guard *guard, const struct bw_model *model,
	      int64_t now, struct bw_policy_result *res, struct bw_err *err)
{
	struct bw_authz *az = NULL;
	struct bw_authz_cover **covers = NULL;
	struct blast blast = {NULL, NULL};
	sqlite3_stmt *s = NULL, *q = NULL;
	size_t naz = 0, nf = 0;
	long moved = 0;
	int rc, step;

	memset(res, 0, sizeof(*res));
	rc = bw_action_tick(st, now, &moved, err);
	if (rc)
		return rc;
	res->expired = moved;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	rc = bw_authz_list(st, &az, &naz, err);
	if (rc)
		goto out;
	covers = bw_calloc(naz ? naz : 1, sizeof(*covers));
	if (covers == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	/* the authorisations in force, in id order, first */
	for (size_t i = 0; i < naz; i++)
		if (bw_authz_in_force(&az[i], now)) {
			if (nf == POLICY_AUTHZ_MAX) {
				rc = bw_err_set(err, BW_ELIMIT, "more than %d authorisations in force",
						POLICY_AUTHZ_MAX);
				goto out;
			}
			az[nf] = az[i];
			rc = bw_authz_cover_load(st, &az[nf], &covers[nf], err);
			if (rc)
				goto out;
			nf++;
		}
	if (nf == 0)
		goto commit;
	if (sqlite3_prepare_v2(bw_store_db(st),
			       "SELECT i.id, i.type, i.value FROM indicator i"
			       " JOIN record r ON r.indicator_id = i.id"
			       " WHERE i.type IN (?1, ?2, ?3, ?4) AND r.revoked = 0 AND r.expired = 0"
			       " GROUP BY i.id"
			       " HAVING count(DISTINCT r.source_id) >= ?5 AND max(r.confidence) >= ?6"
			       " ORDER BY i.type, i.value", -1, &s, NULL) != SQLITE_OK) {
		rc = bw_store_fail(st, err, "reading candidates");
		goto out;
	}
	sqlite3_bind_int(s, 1, BW_IOC_DOMAIN);
	sqlite3_bind_int(s, 2, BW_IOC_IPV4);
	sqlite3_bind_int(s, 3, BW_IOC_IPV6);
	sqlite3_bind_int(s, 4, BW_IOC_CIDR);
	sqlite3_bind_int(s, 5, p->min_sources);
	sqlite3_bind_int(s, 6, p->min_confidence);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ind = sqlite3_column_int64(s, 0);
		enum bw_ioc_type type = (enum bw_ioc_type)sqlite3_column_int(s, 1);
		const char *value = (const char *)sqlite3_column_text(s, 2);
		struct bw_action_in in;
		char why[BW_ACTION_REASON_MAX];
		double score = -1;
		size_t a;
		int found = 0, review;

		res->candidates++;
		for (a = 0; a < nf; a++)
			if (bw_authz_covers(covers[a], ind, type, value))
				break;
		if (a == nf) {
			res->uncovered++;
			continue;
		}
		rc = has_action(st, &q, type, value, &found, err);
		if (rc)
			goto out;
		if (found) {
			res->existing++;
			continue;
		}
		rc = safeguards(st, p, guard, &blast, ind, type, value, why, sizeof(why), err);
		if (rc)
			goto out;
		if (type == BW_IOC_DOMAIN)
			model_score(model, value, &score);
		if (!why[0] && score >= 0 && score < p->min_score) {
			snprintf(why, sizeof(why), "model score %.3f below the policy's %.3f",
				 score, p->min_score);
			res->low_score++;
		}
		memset(&in, 0, sizeof(in));
		in.authz_id = az[a].id;
		in.target = value;
		in.ttl = p->ttl;
		if (score >= 0) {
			in.scored = 1;
			in.score = score;
			res->scored++;
		}
		if (p->sinkhole[0] && type == BW_IOC_DOMAIN) {
			in.kind = "sinkhole";
			in.sinkhole = p->sinkhole;
		}
		review = why[0] != '\0';
		if (!review && score >= 0)
			snprintf(why, sizeof(why), "policy: covered, confident, corroborated;"
				 " model score %.3f", score);
		else if (!review)
			snprintf(why, sizeof(why), "policy: covered, confident, corroborated");
		in.reason = why;
		rc = bw_action_create_in_txn(st, &in, type,
					     review ? BW_ACTION_REVIEW : BW_ACTION_ACTIVE,
					     "policy", now, NULL, err);
		if (rc)
			goto out;
		if (review)
			res->review++;
		else
			res->activated++;
	}
	if (step != SQLITE_DONE) {
		rc = bw_store_fail(st, err, "reading candidates");
		goto out;
	}
commit:
	rc = bw_store_commit(st, err);
out:
	sqlite3_finalize(s);
	sqlite3_finalize(q);
	for (size_t i = 0; covers && i < nf; i++)
		bw_authz_cover_free(covers[i]);
	bw_free(covers);
	bw_free(az);
	blast_done(&blast);
	if (rc)
		bw_store_rollback(st);
	return rc;
}
