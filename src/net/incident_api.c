/*
 * incident_api.c - POST /v1/incidents/ID/ack and the page of the mailed
 * link (see incident_api.h).
 */
#include "net/incident_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "share/incident.h"
#include "share/tenant.h"

#define PAGE_MAX 2048

static void
answer(struct bw_http_response *r, int status, const char *type, const char *body)
{
	r->status = status;
	r->content_type = type;
	r->body = body;
	r->len = strlen(body);
	r->release = NULL;
}

/* The ID of "/v1/incidents/ID/ack"; 0 if the path is not that. */
static long long
path_id(const char *path)
{
	const char *p = path + strlen(BW_INCIDENT_API_PREFIX);
	long long id = 0;
	size_t i = 0;

	for (; p[i] >= '0' && p[i] <= '9' && i < 18; i++)
		id = id * 10 + (p[i] - '0');
	if (i == 0 || p[0] == '0' || strcmp(p + i, "/ack") != 0)
		return 0;
	return id;
}

static void
page(struct bw_http_response *r, int status, const char *fmt, long long id, const char *token)
{
	char *buf = bw_malloc(PAGE_MAX);

	if (buf == NULL) {
		answer(r, 500, "text/plain; charset=utf-8", "out of memory\n");
		return;
	}
	/* token is 64 hex digits (checked), id a number: nothing to escape */
	snprintf(buf, PAGE_MAX, fmt, id, id, token ? token : "");
	r->status = status;
	r->content_type = "text/html; charset=utf-8";
	r->body = buf;
	r->len = strlen(buf);
	r->release = bw_free;
}

static const char page_confirm[] =
	"<!doctype html><html><head><meta charset=\"utf-8\"><title>bulwark incident %lld</title></head>"
	"<body><h1>Incident %lld</h1><p>Acknowledge it: the next level of contacts will not be told.</p>"
	"<form method=\"post\" action=\"?token=%s\"><button type=\"submit\">Acknowledge</button></form>"
	"</body></html>\n";
static const char page_done[] =
	"<!doctype html><html><head><meta charset=\"utf-8\"><title>bulwark incident %lld</title></head>"
	"<body><h1>Incident %lld</h1><p>Acknowledged. Thank you.</p>%s</body></html>\n";

void
bw_incident_api_handle(struct bw_store *st, const struct bw_http_request *req,
		       struct bw_http_response *resp, char tenant[3], long long *key_id)
{
	const char *method = bw_http_method(req);
	const char *auth = bw_http_header(req, "Authorization");
	const char *token;
	struct bw_tenant t;
	struct bw_err err;
	unsigned ntok = 0;
	long long id = path_id(bw_http_path(req));
	int64_t kid = 0;
	char actor[64], body[96];
	int rc, is_post = strcmp(method, "POST") == 0;

	if (id <= 0) {
		answer(resp, 404, "application/json", "{\"error\":\"not found\"}");
		return;
	}
	if (!is_post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		answer(resp, 405, "application/json", "{\"error\":\"method not allowed\"}");
		return;
	}
	token = bw_http_query(req, "token", &ntok);
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && strlen(auth) < 256) {
		const char *k = auth + 7;
		size_t n;
		while (*k == ' ')
			k++;
		n = strlen(k);
		while (n > 0 && k[n - 1] == ' ')
			n--;
		if (!is_post) {
			answer(resp, 405, "application/json",
			       "{\"error\":\"acknowledge with POST\"}");
			return;
		}
		rc = bw_tenant_authenticate(st, k, n, &t, &kid, &err);
		if (rc) {
			answer(resp, rc == BW_ENOTFOUND ? 401 : 500, "application/json",
			       rc == BW_ENOTFOUND ? "{\"error\":\"a valid API key is required\"}"
						  : "{\"error\":\"internal error\"}");
			return;
		}
		snprintf(tenant, 3, "%s", t.country);
		*key_id = (long long)kid;
		snprintf(actor, sizeof(actor), "api:%s:key %lld", t.country, (long long)kid);
		rc = bw_incident_ack(st, id, t.id, actor, bw_time_now(), &err);
		if (rc == BW_OK) {
			char *b = bw_malloc(sizeof(body));
			if (b == NULL) {
				answer(resp, 500, "application/json", "{\"error\":\"internal error\"}");
				return;
			}
			snprintf(b, sizeof(body), "{\"id\":%lld,\"state\":\"acknowledged\"}\n", id);
			answer(resp, 200, "application/json", b);
			resp->release = bw_free;
		} else if (rc == BW_ENOTFOUND) {
			answer(resp, 404, "application/json", "{\"error\":\"no such incident\"}");
		} else if (rc == BW_EINVAL) {
			answer(resp, 409, "application/json", "{\"error\":\"the incident is closed\"}");
		} else {
			answer(resp, 500, "application/json", "{\"error\":\"internal error\"}");
		}
		return;
	}
	if (token == NULL || ntok != 1 ||
	    bw_incident_ack_token_check(st, id, token, &err) != BW_OK) {
		answer(resp, 401, "application/json",
		       "{\"error\":\"a valid API key or acknowledgement token is required\"}");
		resp->header_name = "WWW-Authenticate";
		resp->header_value = "Bearer realm=\"bulwark\"";
		return;
	}
	if (!is_post) {
		page(resp, 200, page_confirm, id, token);
		return;
	}
	rc = bw_incident_ack(st, id, 0, "link", bw_time_now(), &err);
	if (rc == BW_OK)
		page(resp, 200, page_done, id, "");
	else if (rc == BW_ENOTFOUND)
		answer(resp, 404, "text/plain; charset=utf-8", "no such incident\n");
	else if (rc == BW_EINVAL)
		answer(resp, 409, "text/plain; charset=utf-8", "the incident is closed\n");
	else
		answer(resp, 500, "text/plain; charset=utf-8", "internal error\n");
}
