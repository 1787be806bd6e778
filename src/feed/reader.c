/*
 * reader.c - buffered, bounded reading of feed input.
 *
 * One buffer holds [start, end) of unread data.  Lines are found with memchr
 * inside the buffer; when a line does not fit, the buffer is compacted and
 * refilled, and a line that still does not fit in BW_READER_LINE_MAX is
 * skipped to its newline chunk by chunk.  A memory reader hands its lines
 * out in place while nothing is buffered.  The buffer starts at 1 MiB (large
 * reads keep the system-call count low) and only grows for bw_reader_fill()
 * requests, which are capped by the caller.
 */
#include "feed/reader.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#define BUF_INITIAL (1024 * 1024)

struct bw_reader {
	int fd;            /* -1 for a memory reader */
	bool own_fd;
	char *name;
	const char *mem;   /* memory reader input */
	size_t mem_len;
	char *buf;
	size_t cap, start, end;
	uint64_t base;     /* input offset of buf[0] */
	bool eof;
	bool stream;       /* standard input read as it comes: no rewind */
	long lineno;
};

static int
spool_stdin(int *fd_out, struct bw_err *err)
{
	char tmpl[] = "/tmp/bulwark-stdin-XXXXXX";
	const char *dir = getenv("TMPDIR");
	char path[4096];
	char chunk[65536];
	int fd;

	if (dir && *dir && strlen(dir) + sizeof(tmpl) < sizeof(path))
		snprintf(path, sizeof(path), "%s/bulwark-stdin-XXXXXX", dir);
	else
		memcpy(path, tmpl, sizeof(tmpl));
	fd = mkstemp(path);
	if (fd < 0)
		return bw_err_set(err, BW_EIO, "cannot create a temporary file for standard input: %s",
				  strerror(errno));
	unlink(path);
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return bw_err_set(err, BW_EIO, "reading standard input: %s",
					  strerror(errno));
		}
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(fd, chunk + w, (size_t)(n - w));
			if (k < 0) {
				if (errno == EINTR)
					continue;
				close(fd);
				return bw_err_set(err, BW_EIO,
						  "spooling standard input: %s",
						  strerror(errno));
			}
			w += k;
		}
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return bw_err_set(err, BW_EIO, "spooling standard input: %s",
				  strerror(errno));
	}
	*fd_out = fd;
	return BW_OK;
}

static struct bw_reader *
reader_new(const char *name)
{
	struct bw_reader *r = bw_calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fd = -1;
	r->name = bw_strdup(name);
	r->buf = bw_malloc(BUF_INITIAL);
	r->cap = BUF_INITIAL;
	if (r->name == NULL || r->buf == NULL) {
		bw_free(r->name);
		bw_free(r->buf);
		bw_free(r);
		return NULL;
	}
	return r;
}

/* What "-" names. */
enum dash {
	DASH_STREAM, /* standard input, read as it comes */
	DASH_SPOOL,  /* standard input, spooled */
	DASH_FILE,   /* a file named "-" */
};

static int
open_reader(const char *path, enum dash dash, struct bw_reader **out,
	    struct bw_err *err)
{
	struct bw_reader *r;
	struct stat sb;
	int fd, rc;
	bool in = dash != DASH_FILE && strcmp(path, "-") == 0;

	*out = NULL;
	if (in && dash == DASH_STREAM) {
		fd = STDIN_FILENO;
	} else if (in) {
		rc = spool_stdin(&fd, err);
		if (rc)
			return rc;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return bw_err_set(err, BW_EIO, "%s: %s", path, strerror(errno));
		if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			close(fd);
			return bw_err_set(err, BW_EINVAL, "%s: is a directory", path);
		}
#ifdef POSIX_FADV_SEQUENTIAL
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	}
	r = reader_new(in ? "(stdin)" : path);
	if (r == NULL) {
		close(fd);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	r->fd = fd;
	r->own_fd = !in || dash == DASH_SPOOL;
	r->stream = in && dash == DASH_STREAM;
	r->lineno = 0;
	*out = r;
	return BW_OK;
}

int
bw_reader_open(const char *path, struct bw_reader **out, struct bw_err *err)
{
	return open_reader(path, DASH_SPOOL, out, err);
}

int
bw_reader_open_file(const char *path, struct bw_reader **out, struct bw_err *err)
{
	return open_reader(path, DASH_FILE, out, err);
}

int
bw_reader_open_stream(const char *path, struct bw_reader **out,
		      struct bw_err *err)
{
	return open_reader(path, DASH_STREAM, out, err);
}

int
bw_reader_open_mem(const void *buf, size_t len, const char *name,
		   struct bw_reader **out, struct bw_err *err)
{
	struct bw_reader *r = reader_new(name);

	*out = NULL;
	if (r == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	r->mem = buf;
	r->mem_len = len;
	*out = r;
	return BW_OK;
}

void
bw_reader_free(struct bw_reader *r)
{
	if (r == NULL)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	bw_free(r->name);
	bw_free(r->buf);
	bw_free(r);
}

const char *
bw_reader_name(const struct bw_reader *r)
{
	return r->name;
}

/* Appends input to the buffer after compacting; returns bytes read, 0 at the
 * end, or -1 on error. */
static ssize_t
refill(struct bw_reader *r, struct bw_err *err)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->base += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap || r->eof)
		return 0;
	if (r->fd < 0) {
		uint64_t pos = r->base + r->end;
		size_t avail = pos < r->mem_len ? r->mem_len - (size_t)pos : 0;
		n = (ssize_t)(avail < r->cap - r->end ? avail : r->cap - r->end);
		memcpy(r->buf + r->end, r->mem + pos, (size_t)n);
	} else {
		do {
			n = read(r->fd, r->buf + r->end, r->cap - r->end);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			bw_err_set(err, BW_EIO, "%s: read error: %s", r->name,
				   strerror(errno));
			return -1;
		}
	}
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
	return n;
}

int
bw_reader_peek(struct bw_reader *r, const char **p, size_t *n,
	       struct bw_err *err)
{
	while (r->end - r->start < BW_READER_PEEK_MAX && !r->eof) {
		if (refill(r, err) < 0)
			return BW_EIO;
	}
	*p = r->buf + r->start;
	*n = r->end - r->start;
	if (*n > BW_READER_PEEK_MAX)
		*n = BW_READER_PEEK_MAX;
	return BW_OK;
}

int
bw_reader_line(struct bw_reader *r, const char **line, size_t *len,
	       long *lineno, int *too_long, struct bw_err *err)
{
	char *nl;
	size_t scanned = 0;

	*too_long = 0;
	if (r->fd < 0 && r->start == r->end) {
		/* a memory reader with nothing buffered: the line in place,
		 * without copying it into the buffer first (a line over the
		 * limit takes the buffered path, which skips it) */
		uint64_t pos = r->base + r->end;
		size_t avail = pos < r->mem_len ? r->mem_len - (size_t)pos : 0, n;
		const char *p = r->mem + pos, *e;

		if (avail == 0)
			return 0;
		e = memchr(p, '\n', avail);
		n = e ? (size_t)(e - p) : avail;
		if (n <= BW_READER_LINE_MAX) {
			r->base = pos + n + (e != NULL);
			r->start = r->end = 0;
			*line = p;
			*len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
			*lineno = ++r->lineno;
			return 1;
		}
	}
	for (;;) {
		size_t avail = r->end - r->start;
		nl = memchr(r->buf + r->start + scanned, '\n', avail - scanned);
		if (nl != NULL)
			break;
		scanned = avail;
		if (avail > BW_READER_LINE_MAX) {
			/* Skip the rest of this line without keeping it. */
			*too_long = 1;
			for (;;) {
				r->start = r->end;
				if (refill(r, err) < 0)
					return -BW_EIO;
				if (r->end == 0) {
					r->lineno++;
					*lineno = r->lineno;
					*line = r->buf;
					*len = 0;
					return 1;
				}
				nl = memchr(r->buf, '\n', r->end);
				if (nl != NULL) {
					r->start = (size_t)(nl - r->buf) + 1;
					r->lineno++;
					*lineno = r->lineno;
					*line = r->buf;
					*len = 0;
					return 1;
				}
			}
		}
		ssize_t got = refill(r, err);
		if (got < 0)
			return -BW_EIO;
		if (got == 0 && r->end - r->start == avail) {
			if (avail == 0)
				return 0;
			/* last line without a newline */
			*line = r->buf + r->start;
			*len = avail;
			r->start = r->end;
			goto done;
		}
	}
	*line = r->buf + r->start;
	*len = (size_t)(nl - (r->buf + r->start));
	r->start += *len + 1;
done:
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	r->lineno++;
	*lineno = r->lineno;
	if (*len > BW_READER_LINE_MAX) {
		*too_long = 1;
		*len = 0;
	}
	return 1;
}

size_t
bw_reader_cut_comment(char *line)
{
	char *hash = strchr(line, '#');
	size_t n;

	if (hash != NULL)
		*hash = '\0';
	n = strlen(line);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	return n;
}

int
bw_reader_text_line(struct bw_reader *r, char *buf, size_t cap, uint64_t max_bytes,
		    long *lineno, struct bw_err *err)
{
	const char *line;
	size_t len, skip;
	int s, too_long;

	while ((s = bw_reader_line(r, &line, &len, lineno, &too_long, err)) == 1) {
		if (bw_reader_offset(r) > max_bytes) {
			bw_err_set(err, BW_ELIMIT, "%s: larger than %llu bytes", r->name,
				   (unsigned long long)max_bytes);
			return -BW_ELIMIT;
		}
		if (too_long || len >= cap) {
			bw_err_set(err, BW_EINVAL, "%s:%ld: line too long", r->name, *lineno);
			return -BW_EINVAL;
		}
		for (skip = 0; skip < len && isspace((unsigned char)line[skip]); skip++)
			;
		while (len > skip && isspace((unsigned char)line[len - 1]))
			len--;
		if (len == skip || line[skip] == '#')
			continue;
		memcpy(buf, line + skip, len - skip);
		buf[len - skip] = '\0';
		return 1;
	}
	return s;
}

int
bw_reader_live(const struct bw_reader *r)
{
	return r->stream;
}

int
bw_reader_ready(struct bw_reader *r)
{
	struct pollfd p;
	int k;

	if (!r->stream || r->eof ||
	    memchr(r->buf + r->start, '\n', r->end - r->start) != NULL)
		return 1;
	p.fd = r->fd;
	p.events = POLLIN;
	p.revents = 0;
	do {
		k = poll(&p, 1, 0);
	} while (k < 0 && errno == EINTR);
	/* an error or hang-up is "ready": the read reports it at once */
	return k != 0;
}

int
bw_reader_fill(struct bw_reader *r, size_t want, size_t max_buffer,
	       const char **p, size_t *n, struct bw_err *err)
{
	if (want > max_buffer)
		return bw_err_set(err, BW_ELIMIT, "%s: element larger than %zu bytes",
				  r->name, max_buffer);
	if (want > r->cap) {
		size_t cap = r->cap;
		char *nb;
		/* compact first so that growing copies only unread data */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->base += r->start;
			r->end -= r->start;
			r->start = 0;
		}
		while (cap < want)
			cap *= 2;
		if (cap > max_buffer)
			cap = max_buffer;
		nb = bw_realloc(r->buf, cap);
		if (nb == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		r->buf = nb;
		r->cap = cap;
	}
	while (r->end - r->start < want && !r->eof) {
		if (r->start + want > r->cap || r->end == r->cap) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->base += r->start;
			r->end -= r->start;
			r->start = 0;
		}
		if (refill(r, err) < 0)
			return BW_EIO;
	}
	*p = r->buf + r->start;
	*n = r->end - r->start;
	return BW_OK;
}

void
bw_reader_consume(struct bw_reader *r, size_t n)
{
	if (n > r->end - r->start)
		n = r->end - r->start;
	r->start += n;
}

uint64_t
bw_reader_offset(const struct bw_reader *r)
{
	return r->base + r->start;
}

int
bw_reader_rewind(struct bw_reader *r, struct bw_err *err)
{
	if (r->stream)
		return bw_err_set(err, BW_EINVAL, "%s: a stream cannot be read twice",
				  r->name);
	if (r->fd >= 0 && lseek(r->fd, 0, SEEK_SET) != 0)
		return bw_err_set(err, BW_EIO, "%s: cannot rewind: %s", r->name,
				  strerror(errno));
	r->start = r->end = 0;
	r->base = 0;
	r->eof = false;
	r->lineno = 0;
	return BW_OK;
}
