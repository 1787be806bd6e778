/*
 * priority.c - the priority formula of priority.h: integer parts, one
 * exp2 for the recency decay.
 */
#include "share/priority.h"

#include <math.h>

#define HALF_LIFE (7.0 * 86400.0)

int
bw_priority(const struct bw_priority_in *in, struct bw_priority_parts *parts)
{
	struct bw_priority_parts p;
	int sev = in->severity < 0 ? 0 : in->severity > 4 ? 4 : in->severity;
	int conf = in->confidence < 0 ? 50 : in->confidence > 100 ? 100 : in->confidence;
	double score = in->model_score < 0 ? 0.5 : in->model_score > 1 ? 1.0 : in->model_score;

	p.severity = 250 * sev / 4;
	p.confidence = 2 * conf;
	p.relevance = ((in->relevance & BW_REL_SIGHTED) ? 150 : 0) +
		      ((in->relevance & BW_REL_SCOPE) ? 100 : 0) +
		      ((in->relevance & BW_REL_BRAND) ? 100 : 0);
	if (in->last_seen <= 0) {
		p.recency = 0;
	} else {
		double age = (double)(in->now - in->last_seen);
		if (age < 0)
			age = 0;
		p.recency = (int)lround(100.0 * exp2(-age / HALF_LIFE));
	}
	p.model = (int)lround(100.0 * score);
	if (parts)
		*parts = p;
	return p.severity + p.confidence + p.relevance + p.recency + p.model;
}

int
bw_priority_severity(int has_actor_or_campaign, int has_malware, int active)
{
	if (!active)
		return BW_SEV_LOW;
	if (has_actor_or_campaign)
		return BW_SEV_CRITICAL;
	if (has_malware)
		return BW_SEV_HIGH;
	return BW_SEV_MEDIUM;
}

const char *
bw_severity_name(int severity)
{
	static const char *const names[] = {"info", "low", "medium", "high", "critical"};

	return severity >= 0 && severity <= 4 ? names[severity] : "unknown";
}
