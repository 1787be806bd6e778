/*
 * image.h - the container format of index snapshot files: a header and a
 * list of sections, written atomically and mapped (bw_image_map) or read
 * back with a few large reads into one block of memory (bw_image_read),
 * whose sections the index then uses in place (no per-indicator work on
 * loading).
 *
 * Layout (all numbers in the writer's byte order, which the header names):
 *
 *   0   magic "BWINDEX\0"               8 bytes
 *   8   format version (uint32)          BW_IMAGE_VERSION
 *   12  byte-order mark (uint32)         0x01020304 as written
 *   16  header size (uint32)             64
 *   20  number of sections (uint32)      at most BW_IMAGE_SECTIONS_MAX
 *   24  file length (uint64)
 *   32  checksum (uint64) of every byte from 64 to the end
 *   40  kind (uint64)                    what the sections hold (the caller's)
 *   48  reserved, zero                   16 bytes
 *   64  section table: (offset, length) pairs of uint64
 *   ..  sections, each at an offset that is a multiple of 64, zero padding
 *       between them
 *
 * A reader never trusts a file: the header, the section table (every
 * section inside the file, aligned, in order, not overlapping) and the
 * checksum are checked here; the contents of each section are checked by
 * the module that owns them (src/index/index.c, lpm.c) before use.
 *
 * Writing goes to a temporary file in the target's directory (mode 0600:
 * a snapshot holds what the store holds) that is renamed over the target
 * once complete, so a reader sees the old file or the new one, never a
 * part.  No fsync: a file torn by a crash fails the length or checksum
 * test and is rebuilt, which is all a cache needs.
 *
 * Not thread-safe per object; distinct objects are independent.
 */
#ifndef BW_INDEX_IMAGE_H
#define BW_INDEX_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define BW_IMAGE_VERSION 1
#define BW_IMAGE_HEADER 64
#define BW_IMAGE_ALIGN 64
#define BW_IMAGE_SECTIONS_MAX 64
/* Largest image file read (the index limits allow about 40 GB of strings
 * and records; a file claiming more is refused before any allocation). */
#define BW_IMAGE_FILE_MAX ((uint64_t)64 << 30)

/* ---- writing ----------------------------------------------------------- */

struct bw_image_writer;

/* A writer of an image of kind kind; sections are added in order and only
 * referenced (the memory must stay valid until commit). */
int bw_image_writer_new(uint64_t kind, struct bw_image_writer **out,
			struct bw_err *err);
/* Adds a section of n bytes at p (p may be NULL when n is 0).  Returns
 * BW_ELIMIT beyond BW_IMAGE_SECTIONS_MAX sections. */
int bw_image_add(struct bw_image_writer *w, const void *p, size_t n,
		 struct bw_err *err);
/* Writes the image to path atomically (temporary file and rename). */
int bw_image_commit(struct bw_image_writer *w, const char *path,
		    struct bw_err *err);
void bw_image_writer_free(struct bw_image_writer *w);

/* ---- reading ----------------------------------------------------------- */

/* A checked image in memory: its sections are handed out in order. */
struct bw_image {
	const uint8_t *base;
	size_t len;
	uint64_t kind;
	uint32_t nsections, next;
};

/*
 * Reads the file at path into memory (aligned to BW_IMAGE_ALIGN),
 * checking the header and the checksum.  On success *raw is the block to bw_free() and *img (which
 * points into it, at the image) is filled; BW_ENOTFOUND if the file does
 * not exist, BW_EVERSION for another format version or byte order,
 * BW_EFORMAT for anything else wrong with it, BW_EIO on a read error.
 */
int bw_image_read(const char *path, void **raw, struct bw_image *img,
		  struct bw_err *err);

/*
 * As bw_image_read, but maps the file read-only instead of copying it,
 * when that is safe: the file is owned by this user and writable by no
 * one else (it is never written in place: bw_image_commit renames a new
 * file over it, and the mapping keeps the old one), else it is read as
 * bw_image_read does.  For a short-lived reader of a file that is in the
 * page cache: it costs no fresh memory.  A process's first touch of fresh
 * memory is what a large image cost to read on a virtual machine whose
 * host takes back the free memory the guest reports (virtio-balloon free
 * page reporting): up to ten times the copy.  A long-lived reader should
 * read instead: the kernel may drop a mapping's clean pages under memory
 * pressure and read them again at a look-up.  On success *map_len is the
 * length of the mapping to bw_image_unmap(*raw, *map_len), or 0 when the
 * file was read into a block (bw_free(*raw)).
 */
int bw_image_map(const char *path, void **raw, size_t *map_len,
		 struct bw_image *img, struct bw_err *err);
/* Releases what bw_image_map gave: a mapping, or a block (map_len 0). */
void bw_image_unmap(void *raw, size_t map_len);

/* Reads only the header and the first section of the image file at path
 * (into buf, at most cap bytes; *n gets its length) and *kind: the header,
 * the file's length and the first section's bounds are checked, the
 * checksum is not (for a glance at a small leading section, e.g. what a
 * snapshot was built from, without reading the file).  Errors as for
 * bw_image_read(); BW_ELIMIT if the first section is longer than cap. */
int bw_image_peek(const char *path, uint64_t *kind, void *buf, size_t cap,
		  size_t *n, struct bw_err *err);

/* Checks the header and section table of the len bytes at p (64-byte
 * aligned, else BW_EINVAL) without the checksum, and fills img.  Errors as
 * for bw_image_read(). */
int bw_image_open(const void *p, size_t len, struct bw_image *img,
		  struct bw_err *err);

/* The next section, which must hold exactly count elements of size bytes
 * (BW_EFORMAT otherwise, or when there is none left): *out points at it
 * (a valid pointer even for an empty section). */
int bw_image_take(struct bw_image *img, size_t size, uint64_t count,
		  const void **out, struct bw_err *err);

/* The checksum of the n bytes at p (the one in the header). */
uint64_t bw_image_checksum(const void *p, size_t n);

#endif
