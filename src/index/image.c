/*
 * image.c - snapshot image files: atomic writing, checked reading (see
 * image.h for the layout and the guarantees).
 *
 * The checksum runs four independent 64-bit lanes over 32-byte blocks
 * (one 64x64->128-bit multiply per 8 bytes, the lanes overlapping in the
 * pipeline), about 10 GB/s: it is computed on each chunk right after it
 * is read, while the chunk is still in the cache, so it adds little to
 * loading a snapshot of hundreds of megabytes.  It guards against a
 * damaged file, not an attacker; the section contents are bounds-checked
 * by their owners anyway.
 */
#include "index/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "index/lpm.h"

#define MAGIC "BWINDEX"
#define BOM 0x01020304u
#define CHUNK ((size_t)4 << 20)

#define CK0 0xa0761d6478bd642full
#define CK1 0xe7037ed1a0b428dbull
#define CK2 0x8ebc6af09c88c6e3ull
#define CK3 0x589965cc75374cc3ull

struct bw_image_writer {
	uint64_t kind;
	uint32_t n;
	const void *p[BW_IMAGE_SECTIONS_MAX];
	size_t len[BW_IMAGE_SECTIONS_MAX];
};

/* ---- checksum ---------------------------------------------------------- */

struct cksum {
	uint64_t h[4];
	uint64_t total;
};

static inline uint64_t
mix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static void
ck_init(struct cksum *c)
{
	c->h[0] = CK0;
	c->h[1] = CK1;
	c->h[2] = CK2;
	c->h[3] = CK3;
	c->total = 0;
}

/* Folds n bytes in; every call but the last must pass a multiple of 32. */
static void
ck_update(struct cksum *c, const uint8_t *p, size_t n)
{
	uint64_t h0 = c->h[0], h1 = c->h[1], h2 = c->h[2], h3 = c->h[3];
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		uint64_t w[4];
		memcpy(w, p + i, 32);
		h0 = mix(h0 ^ w[0], CK1);
		h1 = mix(h1 ^ w[1], CK2);
		h2 = mix(h2 ^ w[2], CK3);
		h3 = mix(h3 ^ w[3], CK0);
	}
	if (i < n) {
		uint8_t tail[32] = {0};
		memcpy(tail, p + i, n - i);
		uint64_t w[4];
		memcpy(w, tail, 32);
		h0 = mix(h0 ^ w[0] ^ (n - i), CK1);
		h1 = mix(h1 ^ w[1], CK2);
		h2 = mix(h2 ^ w[2], CK3);
		h3 = mix(h3 ^ w[3], CK0);
	}
	c->h[0] = h0;
	c->h[1] = h1;
	c->h[2] = h2;
	c->h[3] = h3;
	c->total += n;
}

static uint64_t
ck_final(const struct cksum *c)
{
	uint64_t h = mix(c->h[0] ^ c->total, CK3);

	h = mix(h ^ c->h[1], CK2);
	h = mix(h ^ c->h[2], CK1);
	return mix(h ^ c->h[3], CK0);
}

uint64_t
bw_image_checksum(const void *p, size_t n)
{
	struct cksum c;

	ck_init(&c);
	ck_update(&c, p, n);
	return ck_final(&c);
}

/* ---- writing ----------------------------------------------------------- */

int
bw_image_writer_new(uint64_t kind, struct bw_image_writer **out,
		    struct bw_err *err)
{
	struct bw_image_writer *w = bw_calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	w->kind = kind;
	*out = w;
	return BW_OK;
}

void
bw_image_writer_free(struct bw_image_writer *w)
{
	bw_free(w);
}

int
bw_image_add(struct bw_image_writer *w, const void *p, size_t n,
	     struct bw_err *err)
{
	if (w->n == BW_IMAGE_SECTIONS_MAX)
		return bw_err_set(err, BW_ELIMIT, "snapshot image: more than %d sections",
				  BW_IMAGE_SECTIONS_MAX);
	w->p[w->n] = n ? p : NULL;
	w->len[w->n] = n;
	w->n++;
	return BW_OK;
}

static size_t
align_up(size_t x)
{
	return (x + BW_IMAGE_ALIGN - 1) & ~(size_t)(BW_IMAGE_ALIGN - 1);
}

static int
write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = pwrite(fd, c, n > CHUNK ? CHUNK : n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int
bw_image_commit(struct bw_image_writer *w, const char *path,
		struct bw_err *err)
{
	static const uint8_t zeros[BW_IMAGE_ALIGN];
	uint8_t head[BW_IMAGE_HEADER];
	uint64_t table[2 * BW_IMAGE_SECTIONS_MAX];
	size_t tlen = 2 * w->n * sizeof(uint64_t), off, plen = strlen(path);
	char *tmp = NULL;
	struct cksum ck;
	uint32_t u32;
	uint64_t u64;
	int fd = -1, rc;

	tmp = bw_malloc(plen + 16);
	if (tmp == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", 12);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot create: %s", tmp, strerror(errno));
		bw_free(tmp);
		return rc;
	}

	/* the layout, then the checksum over the table and the sections (in
	 * file order, padding included) */
	off = align_up(BW_IMAGE_HEADER + tlen);
	for (uint32_t i = 0; i < w->n; i++) {
		table[2 * i] = off;
		table[2 * i + 1] = w->len[i];
		off = align_up(off + w->len[i]);
	}
	ck_init(&ck);
	{
		/* the table and its padding as one block (a multiple of 32) */
		size_t first = align_up(BW_IMAGE_HEADER + tlen) - BW_IMAGE_HEADER;
		uint8_t *blk = bw_calloc(1, first);
		if (blk == NULL) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto fail;
		}
		memcpy(blk, table, tlen);
		ck_update(&ck, blk, first);
		if (write_all(fd, blk, first, BW_IMAGE_HEADER) != 0) {
			bw_free(blk);
			goto ioerr;
		}
		bw_free(blk);
	}
	for (uint32_t i = 0; i < w->n; i++) {
		size_t pad = align_up(w->len[i]) - w->len[i];
		if (w->len[i] > 0) {
			/* whole 32-byte blocks, then the tail with its padding */
			size_t body = w->len[i] & ~(size_t)31;
			uint8_t tail[64] = {0};
			ck_update(&ck, w->p[i], body);
			memcpy(tail, (const uint8_t *)w->p[i] + body, w->len[i] - body);
			ck_update(&ck, tail, w->len[i] - body + pad);
			if (write_all(fd, w->p[i], w->len[i], table[2 * i]) != 0)
				goto ioerr;
		}
		if (pad > 0 && i + 1 == w->n &&
		    write_all(fd, zeros, pad, table[2 * i] + w->len[i]) != 0)
			goto ioerr;
	}

	memset(head, 0, sizeof(head));
	memcpy(head, MAGIC, 8);
	u32 = BW_IMAGE_VERSION;
	memcpy(head + 8, &u32, 4);
	u32 = BOM;
	memcpy(head + 12, &u32, 4);
	u32 = BW_IMAGE_HEADER;
	memcpy(head + 16, &u32, 4);
	memcpy(head + 20, &w->n, 4);
	u64 = off;
	memcpy(head + 24, &u64, 8);
	u64 = ck_final(&ck);
	memcpy(head + 32, &u64, 8);
	memcpy(head + 40, &w->kind, 8);
	if (write_all(fd, head, sizeof(head), 0) != 0 || ftruncate(fd, (off_t)off) != 0)
		goto ioerr;
	if (close(fd) != 0) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = bw_err_set(err, BW_EIO, "%s: cannot rename into place: %s", path,
				strerror(errno));
		goto fail;
	}
	bw_free(tmp);
	return BW_OK;
ioerr:
	rc = bw_err_set(err, BW_EIO, "%s: cannot write: %s", tmp, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	bw_free(tmp);
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

static int
check_header(const uint8_t *p, size_t len, uint64_t *flen, uint64_t *sum,
	     uint32_t *nsec, struct bw_err *err)
{
	uint32_t version, bom, hsize;

	if (len < BW_IMAGE_HEADER || memcmp(p, MAGIC, 8) != 0)
		return bw_err_set(err, BW_EFORMAT, "not an index snapshot");
	memcpy(&version, p + 8, 4);
	memcpy(&bom, p + 12, 4);
	memcpy(&hsize, p + 16, 4);
	memcpy(nsec, p + 20, 4);
	memcpy(flen, p + 24, 8);
	memcpy(sum, p + 32, 8);
	if (bom != BOM)
		return bw_err_set(err, BW_EVERSION, "index snapshot of another byte order");
	if (version != BW_IMAGE_VERSION)
		return bw_err_set(err, BW_EVERSION, "index snapshot format %u, not %u",
				  version, BW_IMAGE_VERSION);
	if (hsize != BW_IMAGE_HEADER || *nsec > BW_IMAGE_SECTIONS_MAX)
		return bw_err_set(err, BW_EFORMAT, "index snapshot header damaged");
	if (*flen > BW_IMAGE_FILE_MAX)
		return bw_err_set(err, BW_EFORMAT, "index snapshot of %llu bytes is too large",
				  (unsigned long long)*flen);
	return BW_OK;
}

int
bw_image_open(const void *p, size_t len, struct bw_image *img,
	      struct bw_err *err)
{
	const uint8_t *b = p;
	uint64_t flen, sum, prev_end;
	uint32_t nsec;
	int rc;

	memset(img, 0, sizeof(*img));
	if (((uintptr_t)p & (BW_IMAGE_ALIGN - 1)) != 0)
		return bw_err_set(err, BW_EINVAL, "index snapshot not aligned in memory");
	rc = check_header(b, len, &flen, &sum, &nsec, err);
	if (rc)
		return rc;
	if (flen != len)
		return bw_err_set(err, BW_EFORMAT,
				  "index snapshot truncated (%zu bytes of %llu)", len,
				  (unsigned long long)flen);
	if (BW_IMAGE_HEADER + 16 * (uint64_t)nsec > len)
		return bw_err_set(err, BW_EFORMAT, "index snapshot section table truncated");
	prev_end = BW_IMAGE_HEADER + 16 * (uint64_t)nsec;
	for (uint32_t i = 0; i < nsec; i++) {
		uint64_t off, n;
		memcpy(&off, b + BW_IMAGE_HEADER + 16 * i, 8);
		memcpy(&n, b + BW_IMAGE_HEADER + 16 * i + 8, 8);
		if (off % BW_IMAGE_ALIGN != 0 || off < prev_end || off > len ||
		    n > len - off)
			return bw_err_set(err, BW_EFORMAT,
					  "index snapshot section %u out of bounds", i);
		prev_end = off + n;
	}
	img->base = b;
	img->len = len;
	memcpy(&img->kind, b + 40, 8);
	img->nsections = nsec;
	img->next = 0;
	return BW_OK;
}

int
bw_image_take(struct bw_image *img, size_t size, uint64_t count,
	      const void **out, struct bw_err *err)
{
	uint64_t off, n;

	*out = NULL;
	if (img->next >= img->nsections)
		return bw_err_set(err, BW_EFORMAT, "index snapshot: section %u missing",
				  img->next);
	memcpy(&off, img->base + BW_IMAGE_HEADER + 16 * img->next, 8);
	memcpy(&n, img->base + BW_IMAGE_HEADER + 16 * img->next + 8, 8);
	if (size == 0 || count > UINT64_MAX / size || n != count * size)
		return bw_err_set(err, BW_EFORMAT,
				  "index snapshot: section %u has %llu bytes, not %llu x %zu",
				  img->next, (unsigned long long)n, (unsigned long long)count,
				  size);
	img->next++;
	*out = img->base + off;
	return BW_OK;
}

/* n bytes at off of fd into buf; how many there were. */
static size_t
pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* Opens the image file at path for reading into *fd, reads its first cap
 * bytes (at least the header) into head (*got of them), checks the header
 * and that the file is as long as it says (*flen; *sum its checksum,
 * *nsec its sections).  BW_ENOTFOUND when there is none; on any error *fd
 * is closed. */
static int
open_image(const char *path, uint8_t *head, size_t cap, size_t *got, int *fd,
	   uint64_t *flen, uint64_t *sum, uint32_t *nsec, struct bw_err *err)
{
	struct stat sb;
	int rc;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT)
			return bw_err_set(err, BW_ENOTFOUND, "%s: no snapshot", path);
		return bw_err_set(err, BW_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = bw_err_set(err, BW_EFORMAT, "%s: not a regular file", path);
		goto fail;
	}
	*got = pread_all(*fd, head, cap, 0);
	rc = check_header(head, *got, flen, sum, nsec, err);
	if (rc)
		goto fail;
	if ((uint64_t)sb.st_size != *flen) {
		rc = bw_err_set(err, BW_EFORMAT, "%s: truncated (%lld bytes of %llu)", path,
				(long long)sb.st_size, (unsigned long long)*flen);
		goto fail;
	}
	return BW_OK;
fail:
	close(*fd);
	*fd = -1;
	return rc;
}

int
bw_image_peek(const char *path, uint64_t *kind, void *buf, size_t cap,
	      size_t *n, struct bw_err *err)
{
	uint8_t head[BW_IMAGE_HEADER + 16];
	uint64_t flen, sum, off, len;
	uint32_t nsec;
	size_t got;
	int fd, rc;

	*n = 0;
	rc = open_image(path, head, sizeof(head), &got, &fd, &flen, &sum, &nsec, err);
	if (rc)
		return rc;
	memcpy(kind, head + 40, 8);
	memcpy(&off, head + BW_IMAGE_HEADER, 8);
	memcpy(&len, head + BW_IMAGE_HEADER + 8, 8);
	if (got < sizeof(head) || nsec == 0 ||
	    off % BW_IMAGE_ALIGN != 0 || off < BW_IMAGE_HEADER + 16 * (uint64_t)nsec ||
	    off > flen || len > flen - off) {
		rc = bw_err_set(err, BW_EFORMAT, "%s: damaged or truncated", path);
		goto out;
	}
	if (len > cap) {
		rc = bw_err_set(err, BW_ELIMIT, "%s: first section of %llu bytes", path,
				(unsigned long long)len);
		goto out;
	}
	if (pread_all(fd, buf, (size_t)len, off) != len) {
		rc = bw_err_set(err, BW_EIO, "%s: read error", path);
		goto out;
	}
	*n = (size_t)len;
out:
	close(fd);
	return rc;
}

/* The checksum of a file read or mapped at p against the header's sum,
 * then its header and section table (bw_image_open). */
static int
check_loaded(const struct cksum *ck, uint64_t sum, const void *p, uint64_t flen,
	     const char *path, struct bw_image *img, struct bw_err *err)
{
	if (ck_final(ck) != sum)
		return bw_err_set(err, BW_EFORMAT, "%s: checksum mismatch (damaged file)", path);
	return bw_image_open(p, (size_t)flen, img, err);
}

int
bw_image_read(const char *path, void **raw, struct bw_image *img,
	      struct bw_err *err)
{
	uint8_t head[BW_IMAGE_HEADER];
	uint64_t flen, sum;
	uint32_t nsec;
	struct cksum ck;
	uint8_t *mem = NULL, *p;
	size_t got = 0;
	int fd, rc;

	*raw = NULL;
	memset(img, 0, sizeof(*img));
	rc = open_image(path, head, sizeof(head), &got, &fd, &flen, &sum, &nsec, err);
	if (rc)
		return rc;
	mem = bw_malloc((size_t)flen + BW_IMAGE_ALIGN);
	if (mem == NULL) {
		rc = bw_err_set(err, BW_ENOMEM, "out of memory loading %s", path);
		goto out;
	}
	p = (uint8_t *)(((uintptr_t)mem + BW_IMAGE_ALIGN - 1) & ~(uintptr_t)(BW_IMAGE_ALIGN - 1));
	memcpy(p, head, sizeof(head));
	ck_init(&ck);
	for (size_t at = BW_IMAGE_HEADER; at < flen;) {
		size_t want = flen - at > CHUNK ? CHUNK : (size_t)flen - at;
		ssize_t k = pread(fd, p + at, want, (off_t)at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = bw_err_set(err, BW_EIO, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0) {
			rc = bw_err_set(err, BW_EFORMAT, "%s: truncated while reading", path);
			goto out;
		}
		if ((size_t)k != want && ((size_t)k & 31) != 0) {
			/* keep the checksum's blocks whole: read the rest of
			 * this block before folding it in */
			size_t whole = (size_t)k & ~(size_t)31;
			ck_update(&ck, p + at, whole);
			at += whole;
			continue;
		}
		ck_update(&ck, p + at, (size_t)k);
		at += (size_t)k;
	}
	rc = check_loaded(&ck, sum, p, flen, path, img, err);
	if (rc)
		goto out;
	*raw = mem;
	mem = NULL;
out:
	bw_free(mem);
	close(fd);
	return rc;
}

int
bw_image_map(const char *path, void **raw, size_t *map_len, struct bw_image *img,
	     struct bw_err *err)
{
	uint8_t head[BW_IMAGE_HEADER];
	uint64_t flen, sum;
	uint32_t nsec;
	struct cksum ck;
	struct stat sb;
	size_t got = 0;
	void *m;
	int fd, rc;

	*raw = NULL;
	*map_len = 0;
	memset(img, 0, sizeof(*img));
	rc = open_image(path, head, sizeof(head), &got, &fd, &flen, &sum, &nsec, err);
	if (rc)
		return rc;
	/* the checks on loading hold only while the bytes stay as checked:
	 * someone else who may write the file could change them under a
	 * mapping */
	if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		return bw_image_read(path, raw, img, err);
	}
	/* MAP_POPULATE: the pages, in the page cache, are mapped at once
	 * rather than at a fault each while the checksum reads them */
	m = mmap(NULL, (size_t)flen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return bw_image_read(path, raw, img, err);
	ck_init(&ck);
	ck_update(&ck, (const uint8_t *)m + BW_IMAGE_HEADER, (size_t)flen - BW_IMAGE_HEADER);
	rc = check_loaded(&ck, sum, m, flen, path, img, err);
	if (rc)
		goto fail;
	*raw = m;
	*map_len = (size_t)flen;
	return BW_OK;
fail:
	munmap(m, (size_t)flen);
	return rc;
}

void
bw_image_unmap(void *raw, size_t map_len)
{
	if (map_len > 0)
		munmap(raw, map_len);
	else
		bw_free(raw);
}
