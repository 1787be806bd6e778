/*
 * strmap.c - string-keyed hash map (see strmap.h).
 *
 * Layout, as in CPython's compact dicts: the entries live in a dense array
 * in insertion order, and an open-addressing table of slots (linear
 * probing, load at most 1/2) holds 1 + the index of an entry, 0 for an
 * empty slot.  Each entry keeps its full hash, so probing compares a
 * 64-bit number before it compares any key bytes, and growing the table
 * never rehashes a key.  Keys and caller data go into an arena of 64 KiB
 * chunks (larger requests get a chunk of their own).
 */
#include "core/strmap.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/mem.h"

#define CHUNK_SIZE (64 * 1024)
#define MIN_SLOTS 16
#define MAX_ENTRIES ((size_t)UINT32_MAX - 1)

struct entry {
	uint64_t hash;
	const char *key;
	size_t klen;
	void *value;
};

struct chunk {
	struct chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

struct bw_strmap {
	struct entry *entries;
	size_t n, entries_cap, max;
	uint32_t *slots;
	size_t nslots; /* a power of two */
	uint64_t k0, k1;
	struct chunk *chunks;
};

/* ---- SipHash-1-3 ------------------------------------------------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
	} while (0)

static uint64_t
siphash13(const unsigned char *in, size_t len, uint64_t k0, uint64_t k1)
{
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	const unsigned char *end = in + (len - len % 8);

	for (; in != end; in += 8) {
		memcpy(&m, in, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	switch (len & 7) {
	case 7: b |= (uint64_t)in[6] << 48; /* fall through */
	case 6: b |= (uint64_t)in[5] << 40; /* fall through */
	case 5: b |= (uint64_t)in[4] << 32; /* fall through */
	case 4: b |= (uint64_t)in[3] << 24; /* fall through */
	case 3: b |= (uint64_t)in[2] << 16; /* fall through */
	case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
	case 1: b |= (uint64_t)in[0];       /* fall through */
	case 0: break;
	}
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static void
seed(struct bw_strmap *m)
{
	uint64_t k[2];

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* No entropy yet (early boot): still vary per map and run. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		k[1] = (uint64_t)(uintptr_t)m ^ UINT64_C(0x9e3779b97f4a7c15);
	}
	m->k0 = k[0];
	m->k1 = k[1];
}

/* ---- arena ------------------------------------------------------------ */

static void *
arena_alloc(struct bw_strmap *m, size_t size, size_t align)
{
	struct chunk *c = m->chunks;
	size_t at;

	if (c) {
		at = (c->used + align - 1) & ~(align - 1);
		if (at <= c->size && size <= c->size - at) {
			c->used = at + size;
			return c->data + at;
		}
	}
	if (size > SIZE_MAX - sizeof(*c) - CHUNK_SIZE)
		return NULL;
	size_t csize = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
	struct chunk *nc = bw_malloc(sizeof(*nc) + csize);
	if (nc == NULL)
		return NULL;
	nc->size = csize;
	nc->used = size;
	if (c && size > CHUNK_SIZE / 4) {
		/* A big block: keep filling the current chunk afterwards. */
		nc->next = c->next;
		c->next = nc;
	} else {
		nc->next = c;
		m->chunks = nc;
	}
	return nc->data;
}

char *
bw_strmap_strdup(struct bw_strmap *m, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = arena_alloc(m, len + 1, 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *
bw_strmap_alloc(struct bw_strmap *m, size_t size)
{
	void *p = arena_alloc(m, size ? size : 1, alignof(max_align_t));

	if (p)
		memset(p, 0, size);
	return p;
}

/* ---- map -------------------------------------------------------------- */

int
bw_strmap_new(size_t max_entries, struct bw_strmap **out, struct bw_err *err)
{
	struct bw_strmap *m;

	*out = NULL;
	if (max_entries == 0 || max_entries > MAX_ENTRIES)
		return bw_err_set(err, BW_EINVAL, "map size limit must be 1 to %zu",
				  MAX_ENTRIES);
	m = bw_calloc(1, sizeof(*m));
	if (m == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	m->max = max_entries;
	seed(m);
	*out = m;
	return BW_OK;
}

void
bw_strmap_free(struct bw_strmap *m)
{
	if (m == NULL)
		return;
	while (m->chunks) {
		struct chunk *c = m->chunks;
		m->chunks = c->next;
		bw_free(c);
	}
	bw_free(m->entries);
	bw_free(m->slots);
	bw_free(m);
}

size_t
bw_strmap_count(const struct bw_strmap *m)
{
	return m->n;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
probe(const struct bw_strmap *m, uint64_t h, const char *key, size_t klen)
{
	size_t mask = m->nslots - 1, i = (size_t)h & mask;

	for (;;) {
		uint32_t s = m->slots[i];
		if (s == 0)
			return i;
		const struct entry *e = &m->entries[s - 1];
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static int
grow_slots(struct bw_strmap *m)
{
	size_t n = m->nslots ? m->nslots * 2 : MIN_SLOTS;
	uint32_t *slots;

	if (n > SIZE_MAX / sizeof(*slots))
		return BW_ENOMEM;
	slots = bw_calloc(n, sizeof(*slots));
	if (slots == NULL)
		return BW_ENOMEM;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = (size_t)m->entries[k].hash & (n - 1);
		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)(k + 1);
	}
	bw_free(m->slots);
	m->slots = slots;
	m->nslots = n;
	return BW_OK;
}

int
bw_strmap_put(struct bw_strmap *m, const char *key, size_t klen, void *value,
	      struct bw_err *err)
{
	uint64_t h = siphash13((const unsigned char *)key, klen, m->k0, m->k1);
	size_t i;
	char *kcopy;

	if (m->nslots) {
		i = probe(m, h, key, klen);
		if (m->slots[i]) {
			m->entries[m->slots[i] - 1].value = value;
			return BW_OK;
		}
	}
	if (m->n >= m->max)
		return bw_err_set(err, BW_ELIMIT, "more than %zu entries", m->max);
	if ((m->n + 1) * 2 > m->nslots && grow_slots(m) != BW_OK)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	if (m->n == m->entries_cap) {
		struct entry *e = bw_grow(m->entries, &m->entries_cap, m->n + 1,
					  sizeof(*e));
		if (e == NULL)
			return bw_err_set(err, BW_ENOMEM, "out of memory");
		m->entries = e;
	}
	kcopy = bw_strmap_strdup(m, key, klen);
	if (kcopy == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	i = probe(m, h, key, klen);
	m->entries[m->n] = (struct entry){h, kcopy, klen, value};
	m->slots[i] = (uint32_t)(m->n + 1);
	m->n++;
	return BW_OK;
}

int
bw_strmap_find(const struct bw_strmap *m, const char *key, size_t klen,
	       void **value)
{
	uint64_t h;
	size_t i;

	if (m->n == 0)
		return 0;
	h = siphash13((const unsigned char *)key, klen, m->k0, m->k1);
	i = probe(m, h, key, klen);
	if (m->slots[i] == 0)
		return 0;
	if (value)
		*value = m->entries[m->slots[i] - 1].value;
	return 1;
}

void *
bw_strmap_get(const struct bw_strmap *m, const char *key, size_t klen)
{
	void *v = NULL;

	bw_strmap_find(m, key, klen, &v);
	return v;
}

int
bw_strmap_next(const struct bw_strmap *m, size_t *pos, const char **key,
	       size_t *klen, void **value)
{
	const struct entry *e;

	if (*pos >= m->n)
		return 0;
	e = &m->entries[(*pos)++];
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	if (value)
		*value = e->value;
	return 1;
}
