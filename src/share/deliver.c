/*
 * deliver.c - libcurl transport for the outbox and the delivery thread of
 * the daemon (see deliver.h).
 *
 * One CURL easy handle per deliverer, reset before each transfer, so that
 * connections to the same receiver are reused.  Between rounds the
 * thread sleeps in poll() on an eventfd that stopping writes (so that
 * stopping is immediate) and on a watch of the store's files
 * (store/watch.h): it wakes when the store is written and at the next
 * whole second, not every poll_ms (which it keeps to without a watch, and
 * for a few intervals after a write, until the commit shows).
 */
#include "share/deliver.h"

/* calls go through the table below, where curl.h's checks of the value
 * given to curl_easy_setopt cannot follow them: SET_* check the kind */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <nettle/hmac.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/dynlib.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "share/incident.h"
#include "share/notify.h"
#include "store/watch.h"

/* libcurl is opened by the first deliverer (core/dynlib.h): commands that
 * send nothing start without it (and without GnuTLS and the rest it
 * needs). */
#define CURL_FUNCTIONS(F) F(curl_global_init) F(curl_easy_init) F(curl_easy_reset) \
	F(curl_easy_cleanup) F(curl_easy_setopt) F(curl_easy_perform) F(curl_easy_getinfo) \
	F(curl_easy_strerror) F(curl_slist_append) F(curl_slist_free_all)

BW_DYNLIB_DEFINE(libcurl, CURL_FUNCTIONS, "outbox delivery",
		 "libcurl.so.4 libcurl.so");

/* curl_easy_setopt by the kind of value, checked at compile time against
 * the option (libcurl numbers its options by the kind they take). */
#define OPT_OF(o, lo, hi) ((void)sizeof(char[(o) >= (lo) && (o) < (hi) ? 1 : -1]), (o))
#define SET_LONG(c, o, v) \
	libcurl.curl_easy_setopt((c), OPT_OF(o, CURLOPTTYPE_LONG, CURLOPTTYPE_OBJECTPOINT), (long)(v))
#define SET_PTR(c, o, v) \
	libcurl.curl_easy_setopt((c), OPT_OF(o, CURLOPTTYPE_OBJECTPOINT, CURLOPTTYPE_FUNCTIONPOINT), \
				 (const void *)(v))
#define SET_FN(c, o, v) \
	libcurl.curl_easy_setopt((c), OPT_OF(o, CURLOPTTYPE_FUNCTIONPOINT, CURLOPTTYPE_OFF_T), \
				 (curl_write_callback){(v)})
#define SET_OFF(c, o, v) \
	libcurl.curl_easy_setopt((c), OPT_OF(o, CURLOPTTYPE_OFF_T, CURLOPTTYPE_BLOB), (curl_off_t)(v))

#define MAIL_HEAD_MAX 4096
/* Rows delivered per round at most, so that new sightings and escalations
 * are looked at between batches even when much is queued; a full round
 * is followed by the next one at once. */
#define ROUND_MAX 64

struct bw_deliver {
	char *db_path, *smtp_url, *mail_from, *public_url, *ca_file;
	const struct bw_geo *geo;
	struct bw_outbox_policy policy;
	const struct bw_model *model;
	unsigned poll_ms;
	long timeout;
	bw_deliver_logger logger;
	void *log_ctx;
	CURL *curl;

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	int stop;
	int stop_fd; /* eventfd, written by bw_deliver_stop; -1 without a thread */
};

static void
logf_(struct bw_deliver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(struct bw_deliver *d, const char *fmt, ...)
{
	char line[1024], ts[BW_TIME_TEXT_MAX];
	va_list ap;
	int n;

	if (d->logger == NULL)
		return;
	n = snprintf(line, sizeof(line), "time=%s ", bw_time_format(bw_time_now(), ts));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	d->logger(d->log_ctx, line);
}

void
bw_deliver_sign(const char *secret, int64_t ts, const void *body, size_t len,
		char out[BW_DELIVER_SIG_BUF])
{
	struct hmac_sha256_ctx h;
	uint8_t mac[SHA256_DIGEST_SIZE];
	char t[32];
	int n = snprintf(t, sizeof(t), "%lld.", (long long)ts);

	hmac_sha256_set_key(&h, strlen(secret), (const uint8_t *)secret);
	hmac_sha256_update(&h, (size_t)n, (const uint8_t *)t);
	hmac_sha256_update(&h, len, body);
	hmac_sha256_digest(&h, sizeof(mac), mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, BW_DELIVER_SIG_BUF - 7, mac, sizeof(mac));
	sodium_memzero(&h, sizeof(h));
}

static char *
dup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = bw_strdup(s);
	if (d == NULL)
		*oom = 1;
	return d;
}

int
bw_deliver_new(const struct bw_deliver_config *cfg, struct bw_deliver **out,
	       struct bw_err *err)
{
	struct bw_deliver *d;
	int oom = 0, rc;

	*out = NULL;
	if (cfg->smtp && strlen(cfg->smtp) > BW_DELIVER_SMTP_MAX)
		return bw_err_set(err, BW_EINVAL, "smtp: longer than %d bytes", BW_DELIVER_SMTP_MAX);
	if (cfg->mail_from && strlen(cfg->mail_from) > BW_DELIVER_FROM_MAX)
		return bw_err_set(err, BW_EINVAL, "mail_from: longer than %d bytes",
				  BW_DELIVER_FROM_MAX);
	if ((rc = bw_dynlib_ready(&libcurl_lib, err)))
		return rc;
	if (libcurl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return bw_err_set(err, BW_EIO, "libcurl cannot start");
	d = bw_calloc(1, sizeof(*d));
	if (d == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	d->stop_fd = -1;
	d->db_path = dup_or_null(cfg->db_path, &oom);
	if (cfg->smtp && cfg->smtp[0]) {
		size_t n = strlen(cfg->smtp) + 8;
		d->smtp_url = bw_malloc(n);
		if (d->smtp_url)
			snprintf(d->smtp_url, n, "smtp://%s", cfg->smtp);
		else
			oom = 1;
	}
	d->mail_from = dup_or_null(cfg->mail_from ? cfg->mail_from : "bulwark@localhost", &oom);
	d->public_url = dup_or_null(cfg->public_url, &oom);
	d->ca_file = dup_or_null(cfg->ca_file, &oom);
	d->model = cfg->model;
	d->policy = cfg->policy;
	d->geo = cfg->geo;
	d->poll_ms = cfg->poll_ms ? cfg->poll_ms : 200;
	d->timeout = cfg->timeout > 0 ? cfg->timeout : 30;
	d->logger = cfg->logger;
	d->log_ctx = cfg->log_ctx;
	d->curl = libcurl.curl_easy_init();
	if (oom || d->curl == NULL) {
		bw_deliver_free(d);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return BW_OK;
}

void
bw_deliver_free(struct bw_deliver *d)
{
	if (d == NULL)
		return;
	if (d->curl) {
		libcurl.curl_easy_cleanup(d->curl);
		pthread_mutex_destroy(&d->mu);
	}
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	bw_free(d->db_path);
	bw_free(d->smtp_url);
	bw_free(d->mail_from);
	bw_free(d->public_url);
	bw_free(d->ca_file);
	bw_free(d);
}

/* Discards what a webhook receiver answers (its status is what counts). */
static size_t
sink(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static void
common_opts(struct bw_deliver *d)
{
	libcurl.curl_easy_reset(d->curl);
	SET_LONG(d->curl, CURLOPT_NOSIGNAL, 1L);
	SET_LONG(d->curl, CURLOPT_CONNECTTIMEOUT, d->timeout < 10 ? d->timeout : 10L);
	SET_LONG(d->curl, CURLOPT_TIMEOUT, d->timeout);
	SET_LONG(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
	SET_LONG(d->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	SET_LONG(d->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (d->ca_file)
		SET_PTR(d->curl, CURLOPT_CAINFO, d->ca_file);
}

static int
send_webhook(struct bw_deliver *d, struct bw_store *st, const struct bw_outbox_item *it,
	     struct bw_err *err)
{
	struct bw_notify_target t;
	struct curl_slist *h = NULL;
	char sig[BW_DELIVER_SIG_BUF], line[256];
	char cerr[CURL_ERROR_SIZE];
	int64_t ts = bw_time_now();
	long status = 0;
	CURLcode cc;
	int rc;

	if (it->tenant_id <= 0)
		return bw_err_set(err, BW_EINVAL, "webhook message without a tenant: no key to sign with");
	rc = bw_notify_get(st, it->tenant_id, &t, err);
	if (rc)
		return rc;
	if (t.secret[0] == '\0')
		return bw_err_set(err, BW_EINVAL, "tenant %s has no webhook secret", t.country);
	bw_deliver_sign(t.secret, ts, it->body, it->len, sig);
	sodium_memzero(t.secret, sizeof(t.secret));
	common_opts(d);
	cerr[0] = '\0';
	h = libcurl.curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "Idempotency-Key: %s", it->idem_key);
	h = libcurl.curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Bulwark-Timestamp: %lld", (long long)ts);
	h = libcurl.curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Bulwark-Signature: %s", sig);
	h = libcurl.curl_slist_append(h, line);
	h = libcurl.curl_slist_append(h, "Expect:");
	if (h == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	SET_PTR(d->curl, CURLOPT_URL, it->destination);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET_PTR(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET_LONG(d->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET_PTR(d->curl, CURLOPT_HTTPHEADER, h);
	SET_LONG(d->curl, CURLOPT_POST, 1L);
	SET_PTR(d->curl, CURLOPT_POSTFIELDS, (const char *)it->body);
	SET_OFF(d->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	SET_PTR(d->curl, CURLOPT_USERAGENT, "bulwark/0.1");
	SET_FN(d->curl, CURLOPT_WRITEFUNCTION, sink);
	SET_PTR(d->curl, CURLOPT_ERRORBUFFER, cerr);
	cc = libcurl.curl_easy_perform(d->curl);
	libcurl.curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	SET_PTR(d->curl, CURLOPT_HTTPHEADER, NULL);
	libcurl.curl_slist_free_all(h);
	if (cc != CURLE_OK)
		return bw_err_set(err, BW_EIO, "webhook: %s", cerr[0] ? cerr : libcurl.curl_easy_strerror(cc));
	if (status < 200 || status > 299)
		return bw_err_set(err, BW_EIO, "webhook: HTTP status %ld", status);
	return BW_OK;
}

struct reader {
	const char *p;
	size_t len, off;
};

static size_t
read_cb(char *buf, size_t size, size_t n, void *ctx)
{
	struct reader *r = ctx;
	size_t want = size * n, left = r->len - r->off;

	if (want > left)
		want = left;
	memcpy(buf, r->p + r->off, want);
	r->off += want;
	return want;
}

/* RFC 2047 for a subject that is not plain ASCII. */
static void
encode_subject(const char *s, char *out, size_t cap)
{
	int ascii = 1;
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x7f)
			ascii = 0;
	if (ascii || cap < 16 || sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) + 13 > cap) {
		snprintf(out, cap, "%s", s);
		return;
	}
	memcpy(out, "=?UTF-8?B?", 10);
	sodium_bin2base64(out + 10, cap - 12, (const unsigned char *)s, n,
			  sodium_base64_VARIANT_ORIGINAL);
	n = strlen(out);
	memcpy(out + n, "?=", 3); /* fits: checked above */
}

/* Builds the message: headers, a blank line, the body with CRLF line
 * ends.  An rfc822 body goes as it is. */
static int
build_mail(struct bw_deliver *d, const struct bw_outbox_item *it, char **msg, size_t *len,
	   struct bw_err *err)
{
	char head[MAIL_HEAD_MAX], subj[BW_OUTBOX_SUBJECT_MAX * 2 + 32], date[64];
	size_t hn, cap, o = 0;
	char *m;
	struct tm tm;
	time_t now = time(NULL);

	if (strcmp(it->content_type, "message/rfc822") == 0) {
		m = bw_malloc(it->len + 1);
		if (m == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		memcpy(m, it->body, it->len);
		m[it->len] = '\0';
		*msg = m;
		*len = it->len;
		return BW_OK;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	encode_subject(it->subject ? it->subject : "(bulwark)", subj, sizeof(subj));
	hn = (size_t)snprintf(head, sizeof(head),
			      "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
			      "Message-ID: <%s@bulwark>\r\nIdempotency-Key: %s\r\n"
			      "MIME-Version: 1.0\r\nContent-Type: %s\r\n"
			      "Content-Transfer-Encoding: 8bit\r\n\r\n",
			      date, d->mail_from, it->destination, subj, it->idem_key, it->idem_key,
			      it->content_type);
	if (hn >= sizeof(head))
		return bw_err_set(err, BW_ELIMIT, "mail: headers too long");
	cap = hn + it->len * 2 + 3;
	m = bw_malloc(cap);
	if (m == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	memcpy(m, head, hn);
	o = hn;
	for (size_t i = 0; i < it->len; i++) {
		if (it->body[i] == '\n' && (i == 0 || it->body[i - 1] != '\r'))
			m[o++] = '\r';
		m[o++] = (char)it->body[i];
	}
	if (o < 2 || m[o - 1] != '\n') {
		m[o++] = '\r';
		m[o++] = '\n';
	}
	m[o] = '\0';
	*msg = m;
	*len = o;
	return BW_OK;
}

static int
send_mail(struct bw_deliver *d, const struct bw_outbox_item *it, struct bw_err *err)
{
	struct curl_slist *rcpt = NULL;
	struct reader r;
	char *msg = NULL, from[BW_DELIVER_FROM_MAX + 3], to[BW_OUTBOX_DEST_MAX + 3];
	char cerr[CURL_ERROR_SIZE];
	size_t len = 0;
	CURLcode cc;
	int rc;

	if (d->smtp_url == NULL)
		return bw_err_set(err, BW_EINVAL, "mail: no SMTP relay configured (--smtp)");
	if (strpbrk(it->destination, "\r\n<>") != NULL)
		return bw_err_set(err, BW_EINVAL, "mail: bad recipient address");
	rc = build_mail(d, it, &msg, &len, err);
	if (rc)
		return rc;
	snprintf(from, sizeof(from), "<%s>", d->mail_from);
	snprintf(to, sizeof(to), "<%s>", it->destination);
	rcpt = libcurl.curl_slist_append(NULL, to);
	if (rcpt == NULL) {
		bw_free(msg);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	r.p = msg;
	r.len = len;
	r.off = 0;
	cerr[0] = '\0';
	common_opts(d);
	SET_PTR(d->curl, CURLOPT_URL, d->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET_PTR(d->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
	SET_LONG(d->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	SET_PTR(d->curl, CURLOPT_MAIL_FROM, from);
	SET_PTR(d->curl, CURLOPT_MAIL_RCPT, rcpt);
	SET_FN(d->curl, CURLOPT_READFUNCTION, read_cb);
	SET_PTR(d->curl, CURLOPT_READDATA, &r);
	SET_LONG(d->curl, CURLOPT_UPLOAD, 1L);
	SET_PTR(d->curl, CURLOPT_ERRORBUFFER, cerr);
	cc = libcurl.curl_easy_perform(d->curl);
	SET_PTR(d->curl, CURLOPT_MAIL_RCPT, NULL);
	libcurl.curl_slist_free_all(rcpt);
	bw_free(msg);
	if (cc != CURLE_OK)
		return bw_err_set(err, BW_EIO, "mail: %s", cerr[0] ? cerr : libcurl.curl_easy_strerror(cc));
	return BW_OK;
}

int
bw_deliver_item(struct bw_deliver *d, struct bw_store *st, const struct bw_outbox_item *it,
		struct bw_err *err)
{
	if (strcmp(it->channel, "webhook") == 0)
		return send_webhook(d, st, it, err);
	if (strcmp(it->channel, "smtp") == 0)
		return send_mail(d, it, err);
	return bw_err_set(err, BW_EINVAL, "unknown channel %s", it->channel);
}

/* The model's score of a domain or URL (the model reads names); anything
 * else, or a name it refuses, has none (-1). */
static double
model_score(void *ctx, enum bw_ioc_type type, const char *value)
{
	double score;

	if (type != BW_IOC_DOMAIN && type != BW_IOC_URL)
		return -1;
	if (bw_model_score(ctx, value, strlen(value), &score, NULL, NULL) != BW_OK)
		return -1;
	return score;
}

int
bw_deliver_round(struct bw_deliver *d, struct bw_store *st, int64_t now, long *sent,
		 long *failed, struct bw_err *err)
{
	struct bw_incident_config ic;
	struct bw_incident_stats is;
	long ok = 0, bad = 0, digests = 0;
	int rc;

	memset(&ic, 0, sizeof(ic));
	ic.public_url = d->public_url;
	ic.geo = d->geo;
	if (d->model) {
		ic.model_score = model_score;
		ic.model_ctx = (void *)d->model;
	}
	rc = bw_incident_step(st, &ic, now, &is, err);
	if (rc)
		goto out;
	if (is.opened || is.added || is.escalated)
		logf_(d, "level=info event=incidents sightings=%ld opened=%ld added=%ld escalated=%ld",
		      is.sightings, is.opened, is.added, is.escalated);
	rc = bw_notify_flush_digests(st, now, &digests, err);
	if (rc)
		goto out;
	while (ok + bad < ROUND_MAX) {
		struct bw_outbox_item *items = NULL;
		size_t n = 0;

		rc = bw_outbox_claim(st, &d->policy, d->smtp_url ? NULL : "webhook", bw_time_now(),
				     16, &items, &n, err);
		if (rc || n == 0)
			break;
		for (size_t i = 0; i < n && rc == BW_OK; i++) {
			struct bw_err de;
			int dead = 0;
			if (bw_deliver_item(d, st, &items[i], &de) == BW_OK) {
				rc = bw_outbox_delivered(st, items[i].id, bw_time_now(), err);
				ok++;
				logf_(d, "level=info event=delivered id=%lld channel=%s key=%s priority=%d",
				      (long long)items[i].id, items[i].channel, items[i].idem_key,
				      items[i].priority);
			} else {
				rc = bw_outbox_failed(st, items[i].id, &d->policy, de.msg, bw_time_now(),
						      &dead, err);
				bad++;
				logf_(d, "level=%s event=delivery_failed id=%lld channel=%s attempt=%d dead=%s error=\"%s\"",
				      dead ? "error" : "warn", (long long)items[i].id, items[i].channel,
				      items[i].attempts + 1, dead ? "yes" : "no", de.msg);
			}
		}
		bw_outbox_items_free(items, n);
		if (rc)
			break;
		pthread_mutex_lock(&d->mu);
		n = (size_t)d->stop;
		pthread_mutex_unlock(&d->mu);
		if (n)
			break;
	}
out:
	if (sent)
		*sent = ok;
	if (failed)
		*failed = bad;
	return rc;
}

/* -1 when it cannot be read: then every poll looks like a change, which
 * costs a round, never a missed one. */
static int64_t
data_version(struct bw_store *st)
{
	int64_t v = -1;

	(void)bw_store_data_version(st, &v, NULL);
	return v;
}

static void *
run(void *arg)
{
	struct bw_deliver *d = arg;
	struct bw_store *st = NULL;
	struct bw_err err;
	struct bw_store_watch *watch = NULL;
	int64_t seen = -2, last_round = 0;
	long released = 0;
	int recent = 0;

	if (bw_store_open(d->db_path, 0, &st, &err)) {
		logf_(d, "level=error event=delivery_stopped error=\"%s\"", err.msg);
		return NULL;
	}
	bw_store_watch_open(d->db_path, &watch);
	if (bw_outbox_release_claims(st, bw_time_now(), &released, &err))
		logf_(d, "level=error event=release_claims error=\"%s\"", err.msg);
	else if (released)
		logf_(d, "level=info event=claims_released rows=%ld", released);
	for (;;) {
		struct timespec ts;
		int64_t v = data_version(st), now = bw_time_now();
		int stop;

		/* a commit elsewhere, or a second passed (retries and
		 * escalations fall due with time alone) */
		if (v != seen || now != last_round) {
			long sent = 0, failed = 0;
			seen = v;
			last_round = now;
			if (bw_deliver_round(d, st, now, &sent, &failed, &err))
				logf_(d, "level=error event=delivery_round error=\"%s\"", err.msg);
			/* our own commits moved data_version: do not count them */
			seen = data_version(st);
			if (sent + failed >= ROUND_MAX) {
				/* more is due: go on without waiting */
				last_round = 0;
				pthread_mutex_lock(&d->mu);
				stop = d->stop;
				pthread_mutex_unlock(&d->mu);
				if (stop)
					break;
				continue;
			}
		}
		/* until the store is written or the next whole second */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (bw_store_watch_wait(watch, d->stop_fd, (int)d->poll_ms,
					1001 - (int)(ts.tv_nsec / 1000000L), &recent))
			break;
	}
	bw_store_watch_close(watch);
	bw_store_close(st);
	return NULL;
}

int
bw_deliver_start(const struct bw_deliver_config *cfg, struct bw_deliver **out,
		 struct bw_err *err)
{
	struct bw_deliver *d;
	int rc;

	if (cfg->db_path == NULL)
		return bw_err_set(err, BW_EINVAL, "delivery: no store path");
	rc = bw_deliver_new(cfg, &d, err);
	if (rc)
		return rc;
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0 || pthread_create(&d->thread, NULL, run, d) != 0) {
		bw_deliver_free(d);
		return bw_err_set(err, BW_EIO, "delivery: cannot start a thread");
	}
	d->started = 1;
	*out = d;
	return BW_OK;
}

void
bw_deliver_stop(struct bw_deliver *d)
{
	if (d == NULL)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->mu);
		d->stop = 1;
		pthread_mutex_unlock(&d->mu);
		(void)!eventfd_write(d->stop_fd, 1);
		pthread_join(d->thread, NULL);
	}
	bw_deliver_free(d);
}
