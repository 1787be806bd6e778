/*
 * match.c - the telemetry matcher and the sighting aggregator.
 *
 * Matcher: lines are parsed into a batch (values and observers copied into
 * one arena that lives as long as the matcher), then the batch is looked
 * up at once: names through bw_index_lookup_domains(), addresses through
 * bw_index_lookup_addrs() (both batched with prefetching inside the
 * index), URLs one by one (a URL has to be normalised first, which costs
 * more than the look-up).  The hit arrays are sized for the worst case of
 * a whole batch (BW_INDEX_MATCH_MAX per query) so one call answers every
 * query.  Addresses arrive parsed from the log format parser (one parse
 * per line).  Sightings then go out in line order, their indicator
 * records read through a prefetch pipeline (see flush()).
 *
 * Parallel runs (bw_matcher_run_parallel): a large file of a format whose
 * lines stand alone is cut into pieces after a newline; threads count each
 * piece's newlines (SSE2) as soon as it has read it (whole, with pread into
 * a buffer of its own), so that the piece after it knows its first line
 * number, and matches it with a matcher of its own; the calling thread
 * hands the pieces out in order, at most 2 x threads pieces behind the
 * workers.
 *
 * Aggregator: an open-addressing hash table keyed by (indicator, hour,
 * observer) with linear probing, kept at most half full, grown by doubling
 * up to its key limit; observers are kept NUL-terminated in one growing
 * string arena.  A flush writes every key in one store transaction and
 * empties the table (keeping its memory for the next round).
 */
#include "intel/match.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/mem.h"
#include "feed/reader.h"

#define BATCH 256
/* The arena holds a batch; a line is flushed early if its value might not
 * fit. */
#define ARENA_SIZE (1024 * 1024)
#define ITEM_MAX (BW_LOGFMT_VALUE_MAX + BW_LOGFMT_OBSERVER_MAX + 2)
#define HITS_CAP ((size_t)BATCH * BW_INDEX_MATCH_MAX)
/* Sightings between prefetching an indicator record and reading it, and
 * between reading it and reporting it. */
#define AHEAD 8

struct item {
	long line;
	int64_t time;
	uint32_t voff, vlen, ooff, olen;
	enum bw_logval kind;
	uint32_t q; /* its query: in names, addrs or urls by kind */
};

/* One sighting of a batch: the item and the indicator number. */
struct flat_hit {
	uint32_t item, id;
};

struct url_result {
	uint32_t first, n;
};

struct bw_matcher {
	const struct bw_index *ix;
	struct bw_match_options o;
	/* parallel runs: the context of on_bad (o.ctx otherwise) and the
	 * number of lines before the piece being read */
	void (*bad_fn)(void *ctx, const char *file, long line, const char *why);
	void *bad_ctx;
	long line_base;
	bool lapses; /* the snapshot has indicators that can lapse */
	struct bw_logfmt_parser *p;
	struct item items[BATCH];
	size_t nitems;
	char *arena;
	size_t used;
	struct bw_index_name names[BATCH];
	size_t nnames;
	struct bw_index_addr_query addrs[BATCH];
	size_t naddrs;
	struct url_result urls[BATCH];
	size_t nurls, uused;
	uint32_t *hits_n, *hits_a, *hits_u;
	struct flat_hit *flat; /* HITS_CAP * 3: every hit of a batch */
	struct bw_index_match mbuf[BW_INDEX_MATCH_MAX];
};

int
bw_matcher_new(const struct bw_index *ix, const struct bw_match_options *o,
	       struct bw_matcher **out, struct bw_err *err)
{
	struct bw_matcher *m;
	int rc;

	*out = NULL;
	m = bw_calloc(1, sizeof(*m));
	if (m == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	m->ix = ix;
	m->o = *o;
	m->lapses = bw_index_lapses(ix);
	m->bad_fn = o->on_bad;
	m->bad_ctx = o->ctx;
	m->arena = bw_malloc(ARENA_SIZE);
	m->hits_n = bw_malloc(HITS_CAP * sizeof(uint32_t));
	m->hits_a = bw_malloc(HITS_CAP * sizeof(uint32_t));
	m->hits_u = bw_malloc(HITS_CAP * sizeof(uint32_t));
	m->flat = bw_malloc(3 * HITS_CAP * sizeof(*m->flat));
	if (m->arena == NULL || m->hits_n == NULL || m->hits_a == NULL ||
	    m->hits_u == NULL || m->flat == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto fail;
	}
	rc = bw_logfmt_parser_new(o->format, &m->p, err);
	if (rc)
		goto fail;
	rc = bw_logfmt_set_columns(m->p, o->csv_time, o->csv_client, o->csv_value, err);
	if (rc)
		goto fail;
	*out = m;
	return BW_OK;
fail:
	bw_matcher_free(m);
	return rc;
}

void
bw_matcher_free(struct bw_matcher *m)
{
	if (m == NULL)
		return;
	bw_logfmt_parser_free(m->p);
	bw_free(m->arena);
	bw_free(m->hits_n);
	bw_free(m->hits_a);
	bw_free(m->hits_u);
	bw_free(m->flat);
	bw_free(m);
}

/* Batched name look-ups; rebases each query's first onto hits_n. */
static void
lookup_names(struct bw_matcher *m)
{
	size_t done = 0, base = 0;

	while (done < m->nnames) {
		size_t k = bw_index_lookup_domains(m->ix, m->names + done,
						   m->nnames - done, m->hits_n + base,
						   HITS_CAP - base);
		for (size_t i = done; i < done + k; i++)
			m->names[i].first += (uint32_t)base;
		if (k == 0)
			break; /* cannot happen: HITS_CAP >= BW_INDEX_MATCH_MAX */
		base = m->names[done + k - 1].first + m->names[done + k - 1].n;
		done += k;
	}
	for (size_t i = done; i < m->nnames; i++)
		m->names[i].n = 0;
}

static void
lookup_addrs(struct bw_matcher *m)
{
	size_t done = 0, base = 0;

	while (done < m->naddrs) {
		size_t k = bw_index_lookup_addrs(m->ix, m->addrs + done,
						 m->naddrs - done, m->hits_a + base,
						 HITS_CAP - base);
		for (size_t i = done; i < done + k; i++)
			m->addrs[i].first += (uint32_t)base;
		if (k == 0)
			break;
		base = m->addrs[done + k - 1].first + m->addrs[done + k - 1].n;
		done += k;
	}
	for (size_t i = done; i < m->naddrs; i++)
		m->addrs[i].n = 0;
}

/* The hits of item it: *ids and the count. */
static uint32_t
item_hits(const struct bw_matcher *m, const struct item *it, const uint32_t **ids)
{
	switch (it->kind) {
	case BW_LOGVAL_NAME:
		*ids = m->hits_n + m->names[it->q].first;
		return m->names[it->q].n;
	case BW_LOGVAL_ADDR:
		*ids = m->hits_a + m->addrs[it->q].first;
		return m->addrs[it->q].n;
	default:
		*ids = m->hits_u + m->urls[it->q].first;
		return m->urls[it->q].n;
	}
}

/*
 * Looks the batch up and hands out its sightings in line order.  The
 * sightings are laid out flat first, then reported through a two-stage
 * prefetch pipeline: the indicator record of sighting k + 2 * AHEAD is
 * prefetched, the record of sighting k + AHEAD is read and its value
 * prefetched, and sighting k is reported: each match costs a few random
 * reads of a large snapshot, which otherwise stall the formatting one
 * after another.
 */
static int
flush(struct bw_matcher *m, const char *name, struct bw_match_stats *st,
      struct bw_err *err)
{
	struct bw_index_match ring[AHEAD];
	size_t ns = 0;
	int rc = BW_OK;

	lookup_names(m);
	lookup_addrs(m);
	for (size_t i = 0; i < m->nitems; i++) {
		const uint32_t *ids;
		uint32_t n = item_hits(m, &m->items[i], &ids);

		for (uint32_t j = 0; j < n; j++) {
			if (m->lapses && bw_index_lapsed(m->ix, ids[j], m->o.now))
				continue;
			m->flat[ns].item = (uint32_t)i;
			m->flat[ns].id = ids[j];
			ns++;
		}
	}
	for (size_t k = 0; k < ns && k < AHEAD; k++)
		bw_index_prefetch(m->ix, m->flat[k].id);
	for (size_t k = 0; k < ns + AHEAD && rc == BW_OK; k++) {
		if (k >= AHEAD) {
			/* report sighting k - AHEAD, whose slot k then takes */
			size_t j = k - AHEAD;
			const struct item *it = &m->items[m->flat[j].item];
			struct bw_match_sighting s;
			if (j == 0 || m->flat[j - 1].item != m->flat[j].item)
				st->matched++;
			s.file = name;
			s.line = it->line;
			s.time = it->time;
			s.observer = m->arena + it->ooff;
			s.observer_len = it->olen;
			s.value = m->arena + it->voff;
			s.value_len = it->vlen;
			s.indicator = &ring[j % AHEAD];
			st->sightings++;
			if (m->o.on_sighting)
				rc = m->o.on_sighting(m->o.ctx, &s, err);
		}
		if (k < ns) {
			if (k + AHEAD < ns)
				bw_index_prefetch(m->ix, m->flat[k + AHEAD].id);
			bw_index_get(m->ix, m->flat[k].id, &ring[k % AHEAD]);
			__builtin_prefetch(ring[k % AHEAD].value);
		}
	}
	m->nitems = m->used = m->nnames = m->naddrs = m->nurls = m->uused = 0;
	return rc;
}

/* memcpy for the short values and observers of log lines: 8 to 16 bytes
 * (an address, most names) as two overlapping 8-byte moves, none for an
 * empty one, instead of a call per field. */
static inline void
copy_small(char *dst, const char *src, size_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n > 0) {
		memcpy(dst, src, n);
	}
}

/* Queues one record of line lineno for the next look-up. */
static void
queue(struct bw_matcher *m, const struct bw_logrec *rec, long lineno)
{
	struct item *it = &m->items[m->nitems++];

	it->line = m->line_base + lineno;
	it->time = rec->time;
	it->kind = rec->kind;
	it->voff = (uint32_t)m->used;
	it->vlen = (uint32_t)rec->value_len;
	copy_small(m->arena + m->used, rec->value, rec->value_len);
	m->arena[m->used + rec->value_len] = '\0';
	m->used += rec->value_len + 1;
	it->ooff = (uint32_t)m->used;
	it->olen = (uint32_t)rec->observer_len;
	copy_small(m->arena + m->used, rec->observer, rec->observer_len);
	m->arena[m->used + rec->observer_len] = '\0';
	m->used += rec->observer_len + 1;

	if (it->kind == BW_LOGVAL_ADDR) {
		/* the parser has parsed it */
		m->addrs[m->naddrs].a = rec->addr;
		it->q = (uint32_t)m->naddrs++;
	}
	if (it->kind == BW_LOGVAL_NAME) {
		struct bw_index_name *q = &m->names[m->nnames];
		q->name = m->arena + it->voff;
		q->len = it->vlen;
		it->q = (uint32_t)m->nnames++;
	} else if (it->kind == BW_LOGVAL_URL) {
		size_t n = bw_index_lookup_url(m->ix, m->arena + it->voff, it->vlen,
					       m->mbuf, BW_INDEX_MATCH_MAX);
		struct url_result *u = &m->urls[m->nurls];
		if (n > BW_INDEX_MATCH_MAX)
			n = BW_INDEX_MATCH_MAX;
		u->first = (uint32_t)m->uused;
		u->n = (uint32_t)n;
		for (size_t j = 0; j < n; j++)
			m->hits_u[m->uused++] = m->mbuf[j].id;
		it->q = (uint32_t)m->nurls++;
	}
}

int
bw_matcher_run_reader(struct bw_matcher *m, struct bw_reader *r,
		      const char *name, struct bw_match_stats *stats,
		      struct bw_err *err)
{
	struct bw_match_stats st;
	const char *line, *why;
	size_t len;
	long lineno;
	int too_long, rc = BW_OK, k;
	bool live;

	memset(&st, 0, sizeof(st));
	m->nitems = m->used = m->nnames = m->naddrs = m->nurls = m->uused = 0;
	bw_logfmt_parser_reset(m->p);
	if (m->o.format == BW_LOGFMT_AUTO) {
		const char *head;
		size_t n;
		rc = bw_reader_peek(r, &head, &n, err);
		if (rc)
			goto out;
		if (bw_logfmt_parser_detect(m->p, head, n, n < BW_READER_PEEK_MAX) ==
		    BW_LOGFMT_AUTO) {
			rc = bw_err_set(err, BW_EFORMAT,
					"%s: cannot tell the log format (give --format)",
					name);
			goto out;
		}
	}
	st.format = bw_logfmt_parser_format(m->p);
	live = bw_reader_live(r);
	for (;;) {
		struct bw_logrec rec;

		/* a live stream (tail -f): hand out what the batch holds
		 * before waiting for more input */
		if (live && m->nitems > 0 && !bw_reader_ready(r)) {
			rc = flush(m, name, &st, err);
			if (rc)
				goto out;
		}

		k = bw_reader_line(r, &line, &len, &lineno, &too_long, err);
		if (k == 0)
			break;
		if (k < 0) {
			rc = -k;
			goto out;
		}
		st.lines++;
		if (too_long) {
			st.bad++;
			if (m->bad_fn)
				m->bad_fn(m->bad_ctx, name, m->line_base + lineno,
					  "line longer than 65536 bytes");
			continue;
		}
		switch (bw_logfmt_parse(m->p, line, len, &rec, &why)) {
		case BW_LOGLINE_RECORD:
			st.records++;
			queue(m, &rec, lineno);
			if (m->nitems == BATCH || ARENA_SIZE - m->used < ITEM_MAX) {
				rc = flush(m, name, &st, err);
				if (rc)
					goto out;
			}
			break;
		case BW_LOGLINE_SKIP:
			st.skipped++;
			break;
		case BW_LOGLINE_BAD:
			st.bad++;
			if (m->bad_fn)
				m->bad_fn(m->bad_ctx, name, m->line_base + lineno, why);
			break;
		}
	}
	rc = flush(m, name, &st, err);
out:
	if (stats)
		*stats = st;
	return rc;
}

int
bw_matcher_run(struct bw_matcher *m, const char *path,
	       struct bw_match_stats *stats, struct bw_err *err)
{
	struct bw_reader *r = NULL;
	/* Logs are read once: standard input streams (tail -f | bulwark match). */
	int rc = bw_reader_open_stream(path, &r, err);

	if (rc) {
		if (stats) {
			memset(stats, 0, sizeof(*stats));
			stats->format = m->o.format;
		}
		return rc;
	}
	rc = bw_matcher_run_reader(m, r, path, stats, err);
	bw_reader_free(r);
	return rc;
}

/* ---- parallel runs ---------------------------------------------------- */

/* Pieces of about len / (threads x PIECES_PER_THREAD) bytes, within
 * [PIECE_MIN, PIECE_MAX]: enough of them that the threads finish together,
 * small enough that a worker's piece stays in the cache between the read
 * that copies it in and the parse, and that the output held for pieces not
 * yet written stays small.  A 142 MB address log on two threads: 8 pieces a
 * thread (9 MB each) took 0.43 s, 32 (2.2 MB) 0.35 s and 64 the same
 * (medians of 11 alternating runs). */
#define PIECES_PER_THREAD 32
#define PIECE_MIN ((size_t)1 << 20)
#define PIECE_MAX ((size_t)32 << 20)
#define THREADS_MAX 64

struct bad_line {
	long line;
	const char *why; /* the parsers' reasons are string constants */
};

struct piece {
	size_t start, end;  /* bytes of the file */
	long lines;         /* newlines in it, once counted */
	long lines_before;  /* in the pieces before it, once they are counted */
	bool counted, done;
	int rc;
	struct bw_err err;
	struct bw_match_stats st;
	void *pctx;
	struct bad_line bad[BW_MATCH_BAD_KEPT];
	size_t nbad;
};

struct par {
	const struct bw_index *ix;
	const struct bw_match_options *o;
	const struct bw_match_pieces *pc;
	const char *name;
	int fd;
	size_t len;
	struct piece *pieces;
	size_t npieces, window;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next, written; /* next piece to take; pieces handed out */
	size_t numbered;      /* pieces whose lines_before is known */
	long numbered_lines;  /* the lines in them */
	bool stop;
};

/* Newlines in [p, p + n). */
static long
count_lines(const char *p, size_t n)
{
	long c = 0;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');

	while (i + 16 <= n) {
		/* up to 255 blocks into byte counters, then summed */
		__m128i acc = _mm_setzero_si128();
		size_t stop = n - i >= 255 * 16 ? i + 255 * 16 : i + ((n - i) & ~(size_t)15);
		for (; i < stop; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
		}
		acc = _mm_sad_epu8(acc, _mm_setzero_si128());
		c += _mm_cvtsi128_si32(acc) + _mm_cvtsi128_si32(_mm_srli_si128(acc, 8));
	}
#endif
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

static void
collect_bad(void *ctx, const char *file, long line, const char *why)
{
	struct piece *pc = ctx;

	(void)file;
	if (pc->nbad < BW_MATCH_BAD_KEPT) {
		pc->bad[pc->nbad].line = line;
		pc->bad[pc->nbad].why = why;
		pc->nbad++;
	}
}

/* Reads n bytes at off of the file into buf. */
static int
read_at(const struct par *P, char *buf, size_t n, size_t off, struct bw_err *err)
{
	while (n > 0) {
		ssize_t k = pread(P->fd, buf, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return bw_err_set(err, BW_EIO, "%s: read error: %s", P->name,
					  k < 0 ? strerror(errno) : "file shrank");
		buf += k;
		off += (size_t)k;
		n -= (size_t)k;
	}
	return BW_OK;
}

/* A worker's buffer, grown to hold n bytes. */
struct wbuf {
	char *p;
	size_t cap;
};

static int
wbuf_room(struct wbuf *b, size_t n)
{
	char *q;

	if (n <= b->cap)
		return BW_OK;
	q = bw_realloc(b->p, n);
	if (q == NULL)
		return BW_ENOMEM;
	b->p = q;
	b->cap = n;
	return BW_OK;
}

/* Publishes that pc holds lines newlines and waits until every piece
 * before it has done so: then its first line's number is known.  Pieces
 * are taken in order and each is counted as soon as it is read, so the
 * wait is for reads already under way; the file is read once, where
 * counting all of it first read it twice. */
static void
number_piece(struct par *P, struct piece *pc, long lines)
{
	pthread_mutex_lock(&P->mu);
	pc->lines = lines;
	pc->counted = true;
	while (P->numbered < P->npieces && P->pieces[P->numbered].counted) {
		P->pieces[P->numbered].lines_before = P->numbered_lines;
		P->numbered_lines += P->pieces[P->numbered].lines;
		P->numbered++;
	}
	pthread_cond_broadcast(&P->cv);
	while (P->numbered <= (size_t)(pc - P->pieces))
		pthread_cond_wait(&P->cv, &P->mu);
	pthread_mutex_unlock(&P->mu);
}

static int
match_piece(struct par *P, struct bw_matcher *m, struct piece *pc, struct wbuf *b)
{
	struct bw_reader *r = NULL;
	size_t n = pc->end - pc->start;
	int rc;

	pc->pctx = P->pc->begin(P->pc->ctx, (size_t)(pc - P->pieces));
	if (pc->pctx == NULL || wbuf_room(b, n ? n : 1) != BW_OK)
		rc = bw_err_set(&pc->err, BW_ENOMEM, "out of memory");
	else
		rc = read_at(P, b->p, n, pc->start, &pc->err);
	/* numbered even when it failed, so that the pieces after it do not
	 * wait for ever (hand_out stops at the failure) */
	number_piece(P, pc, rc == BW_OK ? count_lines(b->p, n) : 0);
	if (rc)
		return rc;
	rc = bw_reader_open_mem(b->p, n, P->name, &r, &pc->err);
	if (rc)
		return rc;
	m->o.ctx = pc->pctx;
	m->bad_ctx = pc;
	m->bad_fn = P->o->on_bad ? collect_bad : NULL;
	m->line_base = pc->lines_before;
	rc = bw_matcher_run_reader(m, r, P->name, &pc->st, &pc->err);
	bw_reader_free(r);
	return rc;
}

static void *
worker(void *arg)
{
	struct par *P = arg;
	struct bw_matcher *m = NULL;
	struct wbuf b = {NULL, 0};
	struct bw_err err;
	int rc = bw_matcher_new(P->ix, P->o, &m, &err);

	for (;;) {
		struct piece *pc;
		pthread_mutex_lock(&P->mu);
		while (!P->stop && P->next < P->npieces &&
		       P->next >= P->written + P->window)
			pthread_cond_wait(&P->cv, &P->mu);
		if (P->stop || P->next >= P->npieces) {
			pthread_mutex_unlock(&P->mu);
			break;
		}
		pc = &P->pieces[P->next++];
		pthread_mutex_unlock(&P->mu);
		if (rc != BW_OK) {
			number_piece(P, pc, 0);
			pc->rc = rc;
			pc->err = err;
		} else {
			pc->rc = match_piece(P, m, pc, &b);
		}
		pthread_mutex_lock(&P->mu);
		pc->done = true;
		pthread_cond_broadcast(&P->cv);
		pthread_mutex_unlock(&P->mu);
	}
	bw_matcher_free(m);
	bw_free(b.p);
	return NULL;
}

/* Runs n workers over the pieces (the calling thread is not one). */
static int
start_workers(struct par *P, pthread_t *tid, unsigned n, unsigned *started)
{
	*started = 0;
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&tid[i], NULL, worker, P) != 0)
			break;
		(*started)++;
	}
	return *started > 0 ? BW_OK : BW_ENOMEM;
}

static void
join_workers(pthread_t *tid, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
}

static void
add_stats(struct bw_match_stats *a, const struct bw_match_stats *b)
{
	a->lines += b->lines;
	a->records += b->records;
	a->skipped += b->skipped;
	a->bad += b->bad;
	a->matched += b->matched;
	a->sightings += b->sightings;
}

/* The format of the file's head, or AUTO if it cannot be told. */
static enum bw_logfmt
head_format(const struct par *P, const struct bw_match_options *o)
{
	struct bw_logfmt_parser *p = NULL;
	enum bw_logfmt f = o->format;
	size_t n = P->len < BW_READER_PEEK_MAX ? P->len : BW_READER_PEEK_MAX;
	char *head;

	if (f != BW_LOGFMT_AUTO)
		return f;
	head = bw_malloc(n);
	if (head == NULL || read_at(P, head, n, 0, NULL) != BW_OK ||
	    bw_logfmt_parser_new(BW_LOGFMT_AUTO, &p, NULL) != BW_OK) {
		bw_free(head);
		return BW_LOGFMT_AUTO;
	}
	f = bw_logfmt_parser_detect(p, head, n, P->len <= BW_READER_PEEK_MAX);
	bw_logfmt_parser_free(p);
	bw_free(head);
	return f;
}

/* Where the piece that should end near want really ends: after the next
 * newline at or after want, or at the end of the file. */
static int
cut_after(const struct par *P, size_t want, size_t *end, struct bw_err *err)
{
	char win[4096];

	for (size_t at = want; at < P->len;) {
		size_t n = P->len - at < sizeof(win) ? P->len - at : sizeof(win);
		const char *nl;
		int rc = read_at(P, win, n, at, err);
		if (rc)
			return rc;
		nl = memchr(win, '\n', n);
		if (nl != NULL) {
			*end = at + (size_t)(nl - win) + 1;
			return BW_OK;
		}
		at += n;
	}
	*end = P->len;
	return BW_OK;
}

/* Hands the matched pieces out in order; returns the first error. */
static int
hand_out(struct par *P, struct bw_match_stats *st, struct bw_err *err)
{
	int rc = BW_OK;

	for (size_t j = 0; j < P->npieces; j++) {
		struct piece *pc = &P->pieces[j];
		int erc;
		pthread_mutex_lock(&P->mu);
		while (!pc->done)
			pthread_cond_wait(&P->cv, &P->mu);
		pthread_mutex_unlock(&P->mu);
		for (size_t k = 0; k < pc->nbad; k++)
			P->o->on_bad(P->o->ctx, P->name, pc->bad[k].line, pc->bad[k].why);
		add_stats(st, &pc->st);
		if (rc == BW_OK && pc->rc != BW_OK) {
			rc = pc->rc;
			*err = pc->err;
		}
		if (pc->pctx != NULL) {
			erc = P->pc->end(P->pc->ctx, j, pc->pctx, rc == BW_OK ? err : NULL);
			pc->pctx = NULL;
			if (rc == BW_OK)
				rc = erc;
		}
		pthread_mutex_lock(&P->mu);
		P->written = j + 1;
		if (rc != BW_OK)
			P->stop = true;
		pthread_cond_broadcast(&P->cv);
		pthread_mutex_unlock(&P->mu);
		if (rc != BW_OK)
			break; /* the caller closes the pieces begun after it */
	}
	return rc;
}

int
bw_matcher_run_parallel(const struct bw_index *ix, const struct bw_match_options *o,
			const struct bw_match_pieces *pc, const char *path,
			unsigned nthreads, struct bw_match_stats *stats,
			struct bw_err *err)
{
	struct par P;
	struct bw_match_options oo;
	struct stat sb;
	pthread_t tid[THREADS_MAX];
	unsigned started = 0;
	size_t piece, at = 0;
	enum bw_logfmt f;
	int fd, rc;

	memset(&P, 0, sizeof(P));
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		stats->format = o->format;
	}
	if (nthreads < 1 || nthreads > THREADS_MAX)
		return bw_err_set(err, BW_EINVAL, "threads: 1 to %d", THREADS_MAX);
	if (strcmp(path, "-") == 0)
		return bw_err_set(err, BW_ENOTFOUND, "%s: not a file", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bw_err_set(err, BW_ENOTFOUND, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size < BW_MATCH_PARALLEL_MIN || (uint64_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return bw_err_set(err, BW_ENOTFOUND, "%s: not a large regular file", path);
	}
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	P.fd = fd;
	P.name = path;
	P.len = (size_t)sb.st_size;
	f = head_format(&P, o);
	if (f != BW_LOGFMT_BIND && f != BW_LOGFMT_UNBOUND && f != BW_LOGFMT_SQUID &&
	    f != BW_LOGFMT_PLAIN) {
		close(fd);
		return bw_err_set(err, BW_ENOTFOUND, "%s: format %s is read in one piece", path,
				  bw_logfmt_name(f));
	}

	/* the pieces, cut after a newline */
	piece = P.len / (nthreads * PIECES_PER_THREAD);
	piece = piece < PIECE_MIN ? PIECE_MIN : piece > PIECE_MAX ? PIECE_MAX : piece;
	P.pieces = bw_calloc(P.len / piece + 2, sizeof(*P.pieces));
	if (P.pieces == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory");
		goto out;
	}
	while (at < P.len) {
		size_t end = P.len - at > piece ? at + piece : P.len;
		if (end < P.len && (rc = cut_after(&P, end, &end, err)))
			goto out;
		P.pieces[P.npieces].start = at;
		P.pieces[P.npieces].end = end;
		P.npieces++;
		at = end;
	}
	/* every piece in the format of the head */
	oo = *o;
	oo.format = f;
	P.ix = ix;
	P.o = &oo;
	P.pc = pc;
	P.window = 2 * (size_t)nthreads;
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv, NULL);

	/* match, each piece numbered as soon as the pieces before it are
	 * counted, and hand out in order */
	if (start_workers(&P, tid, nthreads, &started) != BW_OK) {
		rc = bw_err_set(err, BW_ENOMEM, "cannot start threads");
		goto out_sync;
	}
	{
		struct bw_match_stats st;
		memset(&st, 0, sizeof(st));
		rc = hand_out(&P, &st, err);
		st.format = f;
		if (stats)
			*stats = st;
	}
	join_workers(tid, started);
	/* pieces a stop left unhanded: free their contexts */
	for (size_t j = 0; j < P.npieces; j++)
		if (P.pieces[j].pctx != NULL)
			pc->end(pc->ctx, j, P.pieces[j].pctx, NULL);
out_sync:
	pthread_cond_destroy(&P.cv);
	pthread_mutex_destroy(&P.mu);
out:
	bw_free(P.pieces);
	close(fd);
	return rc;
}

/* ---- the aggregator --------------------------------------------------- */

#define AGG_KEYS_MAX ((size_t)1 << 26)
#define AGG_INITIAL 1024

struct agg_entry {
	int64_t ind, hour, first, last;
	long count;
	uint32_t ooff; /* observer in the string arena, NUL-terminated */
	uint16_t olen;
	bool used;
};

struct bw_sightings {
	struct agg_entry *tab;
	size_t cap, n, max;
	char *obs;
	size_t obs_used, obs_cap;
	long total;
};

static uint64_t
agg_hash(int64_t ind, int64_t hour, const char *o, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)ind * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)hour * 0xc2b2ae3d27d4eb4full;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)o[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int
bw_sightings_new(size_t max_keys, struct bw_sightings **out, struct bw_err *err)
{
	struct bw_sightings *a;

	*out = NULL;
	if (max_keys < 1 || max_keys > AGG_KEYS_MAX)
		return bw_err_set(err, BW_EINVAL, "sightings: key limit out of range");
	a = bw_calloc(1, sizeof(*a));
	if (a == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	a->cap = AGG_INITIAL;
	a->max = max_keys;
	a->tab = bw_calloc(a->cap, sizeof(*a->tab));
	if (a->tab == NULL) {
		bw_free(a);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	*out = a;
	return BW_OK;
}

void
bw_sightings_free(struct bw_sightings *a)
{
	if (a == NULL)
		return;
	bw_free(a->tab);
	bw_free(a->obs);
	bw_free(a);
}

size_t
bw_sightings_keys(const struct bw_sightings *a)
{
	return a->n;
}

long
bw_sightings_total(const struct bw_sightings *a)
{
	return a->total;
}

static int
agg_grow(struct bw_sightings *a)
{
	size_t cap = a->cap * 2;
	struct agg_entry *t = bw_calloc(cap, sizeof(*t));

	if (t == NULL)
		return BW_ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		const struct agg_entry *e = &a->tab[i];
		size_t j;
		if (!e->used)
			continue;
		j = agg_hash(e->ind, e->hour, a->obs + e->ooff, e->olen) & (cap - 1);
		while (t[j].used)
			j = (j + 1) & (cap - 1);
		t[j] = *e;
	}
	bw_free(a->tab);
	a->tab = t;
	a->cap = cap;
	return BW_OK;
}

int
bw_sightings_add(struct bw_sightings *a, int64_t indicator_id,
		 const char *observer, size_t observer_len, int64_t t,
		 struct bw_err *err)
{
	int64_t hour = bw_sighting_hour(t);
	uint64_t h;
	size_t j;
	struct agg_entry *e;

	if (observer_len > BW_SIGHTING_OBSERVER_MAX || indicator_id < 1)
		return bw_err_set(err, BW_EINVAL,
				  "sighting: bad indicator id or observer over %d bytes",
				  BW_SIGHTING_OBSERVER_MAX);
	h = agg_hash(indicator_id, hour, observer, observer_len);
	for (j = h & (a->cap - 1); a->tab[j].used; j = (j + 1) & (a->cap - 1)) {
		e = &a->tab[j];
		if (e->ind == indicator_id && e->hour == hour && e->olen == observer_len &&
		    memcmp(a->obs + e->ooff, observer, observer_len) == 0) {
			e->count++;
			if (t < e->first)
				e->first = t;
			if (t > e->last)
				e->last = t;
			a->total++;
			return BW_OK;
		}
	}
	if (a->n >= a->max)
		return bw_err_set(err, BW_ELIMIT, "sightings: %zu keys held", a->max);
	if ((a->n + 1) * 2 > a->cap) {
		if (agg_grow(a))
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		for (j = h & (a->cap - 1); a->tab[j].used; j = (j + 1) & (a->cap - 1))
			;
	}
	if (a->obs_cap - a->obs_used < observer_len + 1) {
		char *o = bw_grow(a->obs, &a->obs_cap, a->obs_used + observer_len + 1, 1);
		if (o == NULL || a->obs_used + observer_len + 1 > UINT32_MAX)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		a->obs = o;
	}
	e = &a->tab[j];
	e->used = true;
	e->ind = indicator_id;
	e->hour = hour;
	e->first = e->last = t;
	e->count = 1;
	e->ooff = (uint32_t)a->obs_used;
	e->olen = (uint16_t)observer_len;
	memcpy(a->obs + a->obs_used, observer, observer_len);
	a->obs[a->obs_used + observer_len] = '\0';
	a->obs_used += observer_len + 1;
	a->n++;
	a->total++;
	return BW_OK;
}

int
bw_sightings_flush(struct bw_sightings *a, struct bw_store *st,
		   struct bw_err *err)
{
	int rc;

	if (a->n == 0)
		return BW_OK;
	rc = bw_store_begin(st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < a->cap; i++) {
		const struct agg_entry *e = &a->tab[i];
		struct bw_sighting_in s;
		if (!e->used)
			continue;
		s.indicator_id = e->ind;
		s.observer = a->obs + e->ooff;
		s.first = e->first;
		s.last = e->last;
		s.count = e->count;
		rc = bw_store_record_sighting(st, &s, err);
		if (rc) {
			bw_store_rollback(st);
			return rc;
		}
	}
	rc = bw_store_commit(st, err);
	if (rc) {
		bw_store_rollback(st);
		return rc;
	}
	memset(a->tab, 0, a->cap * sizeof(*a->tab));
	a->n = 0;
	a->obs_used = 0;
	a->total = 0;
	return BW_OK;
}
