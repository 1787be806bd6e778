/*
 * reader.h - bounded, rewindable input for the feed parsers.
 *
 * A reader hands out a file (or standard input, or a memory buffer) as lines
 * or as raw bytes through one fixed buffer, so that a parser never holds more
 * than a line or a JSON element in memory whatever the input's size.  Lines
 * longer than the line limit are skipped without being buffered and reported
 * as too long.  Standard input is copied to an unlinked temporary file on
 * first use so that it can be sniffed and read twice like a file.
 *
 * A reader is used by one thread at a time.
 */
#ifndef BW_FEED_READER_H
#define BW_FEED_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Lines longer than this are rejected (and skipped) as a whole. */
#define BW_READER_LINE_MAX (64 * 1024)
/* How much of the head of an input bw_reader_peek() shows. */
#define BW_READER_PEEK_MAX (64 * 1024)

struct bw_reader;

/* "-" means standard input.  name is kept for messages. */
int bw_reader_open(const char *path, struct bw_reader **out, struct bw_err *err);
/* Like bw_reader_open, but standard input is read as it comes, not spooled:
 * for a caller that never rewinds (the log matcher on `tail -f | ...`).
 * bw_reader_rewind then fails on standard input, and bw_reader_peek waits
 * for BW_READER_PEEK_MAX bytes or the end of input. */
int bw_reader_open_stream(const char *path, struct bw_reader **out,
			  struct bw_err *err);
/* Like bw_reader_open, but path always names a file, "-" too: for a file
 * the caller also reads by name (an authorisation scope is hashed, then
 * read). */
int bw_reader_open_file(const char *path, struct bw_reader **out, struct bw_err *err);
/* A reader over caller-owned memory (kept, not copied). */
int bw_reader_open_mem(const void *buf, size_t len, const char *name,
		       struct bw_reader **out, struct bw_err *err);
void bw_reader_free(struct bw_reader *r);

const char *bw_reader_name(const struct bw_reader *r);

/* The first bytes of the input (up to BW_READER_PEEK_MAX), without consuming
 * them.  Valid until the next call on r. */
int bw_reader_peek(struct bw_reader *r, const char **p, size_t *n,
		   struct bw_err *err);

/*
 * The next line, without its line ending (LF or CRLF), in *line (valid until
 * the next call).  Returns 1 for a line, 0 at the end, or a BW_E* code (as a
 * negative number) on a read error.  *lineno counts from 1.  A line over
 * BW_READER_LINE_MAX is returned with *too_long set and *len 0.
 */
int bw_reader_line(struct bw_reader *r, const char **line, size_t *len,
		   long *lineno, int *too_long, struct bw_err *err);

/*
 * The next line of a small text file (a list or a settings file, not a
 * feed): copied into buf (cap bytes, NUL-terminated) with the white space
 * at both ends removed; blank lines and lines whose first character after
 * white space is '#' are skipped.  Returns 1 for a line, 0 at the end, or a
 * BW_E* code as a negative number: BW_ELIMIT "NAME: larger than MAX bytes"
 * once the input passes max_bytes, BW_EINVAL "NAME:LINE: line too long"
 * for a line of cap bytes or more, or a read error.  *lineno as
 * bw_reader_line() gives it, for the caller's messages.
 */
int bw_reader_text_line(struct bw_reader *r, char *buf, size_t cap, uint64_t max_bytes,
			long *lineno, struct bw_err *err);
/* For lists that allow a comment after the value ("evil.example  # why"):
 * cuts line at its first '#' and the white space before it; returns the
 * length left (0: nothing but a comment). */
size_t bw_reader_cut_comment(char *line);

/*
 * 1 if the next bw_reader_line() will not wait for input: a file or memory
 * reader, a whole line already buffered, or a stream with input (or its
 * end) readable right now (poll with a zero timeout); 0 if it would block
 * on a live stream.  A caller that batches lines (the log matcher) hands
 * out what it holds before it would block, so `tail -f | ...` sees each
 * line's result as it comes.
 */
int bw_reader_ready(struct bw_reader *r);
/* 1 for standard input read as it comes (bw_reader_open_stream), the only
 * reader for which bw_reader_ready() can be 0. */
int bw_reader_live(const struct bw_reader *r);

/*
 * Raw access for scanners: makes at least want bytes from the current
 * position available (fewer only at the end of input) and points *p at them;
 * *n gets how many are available.  want may not exceed the reader's buffer
 * capacity, which grows up to max_buffer on demand.  Returns BW_OK or an
 * error (BW_ELIMIT if want > max_buffer).
 */
int bw_reader_fill(struct bw_reader *r, size_t want, size_t max_buffer,
		   const char **p, size_t *n, struct bw_err *err);
/* Consumes n bytes made available by bw_reader_fill(). */
void bw_reader_consume(struct bw_reader *r, size_t n);

/* Byte offset of the current position from the start of the input. */
uint64_t bw_reader_offset(const struct bw_reader *r);

/* Goes back to the start of the input. */
int bw_reader_rewind(struct bw_reader *r, struct bw_err *err);

#endif
