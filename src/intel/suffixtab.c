/*
 * suffixtab.c - the Public Suffix List as one hash map (see suffixtab.h).
 *
 * Each key is a suffix in A-labels ("co.uk") with flags: RULE (a rule
 * "co.uk"), WILD (a rule "*.key"), EXC (an exception "!key"), NODE (some
 * rule is longer than key and ends with it, so a walk must go on).  The
 * walk from the right keeps the longest match and stops at the first
 * suffix that is neither a node nor under a wildcard.
 */
#include "intel/suffixtab.h"

#include <idn2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strmap.h"

#define F_RULE 1u
#define F_WILD 2u
#define F_EXC 4u
#define F_NODE 8u
#define RULE_MAX 253

/* The finished table: open addressing with linear probing over a power
 * of two slots, at most half full, keys in one blob.  The hash is FNV-1a,
 * not the strmap's keyed SipHash: the table never grows after loading,
 * so a host chosen to collide costs at most the longest probe run of this
 * fixed table, and FNV is several times cheaper on keys of a few bytes. */
struct slot {
	uint32_t hash;
	uint32_t off;  /* key offset in keys */
	uint16_t len;  /* 0: empty */
	uint16_t flags;
};

struct bw_suffixtab {
	struct bw_strmap *map; /* while building */
	struct slot *slots;
	size_t mask;
	char *keys;
};

void
bw_suffixtab_free(struct bw_suffixtab *t)
{
	if (t == NULL)
		return;
	bw_strmap_free(t->map);
	bw_free(t->slots);
	bw_free(t->keys);
	bw_free(t);
}

static inline uint32_t
fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Moves the built map into the flat table. */
static int
freeze(struct bw_suffixtab *t, struct bw_err *err)
{
	size_t n = bw_strmap_count(t->map), cap = 16, total = 0, pos = 0, at = 0;
	const char *key;
	size_t klen;
	void *v;

	while (cap < 2 * n)
		cap *= 2;
	while (bw_strmap_next(t->map, &pos, NULL, &klen, NULL))
		total += klen;
	t->slots = bw_calloc(cap, sizeof(*t->slots));
	t->keys = bw_malloc(total ? total : 1);
	if (t->slots == NULL || t->keys == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	t->mask = cap - 1;
	pos = 0;
	while (bw_strmap_next(t->map, &pos, &key, &klen, &v)) {
		uint32_t h = fnv(key, klen);
		size_t i = h & t->mask;

		while (t->slots[i].len)
			i = (i + 1) & t->mask;
		memcpy(t->keys + at, key, klen);
		t->slots[i].hash = h;
		t->slots[i].off = (uint32_t)at;
		t->slots[i].len = (uint16_t)klen;
		t->slots[i].flags = (uint16_t)(uintptr_t)v;
		at += klen;
	}
	bw_strmap_free(t->map);
	t->map = NULL;
	return BW_OK;
}

static inline unsigned
flags_of(const struct bw_suffixtab *t, const char *key, size_t len)
{
	uint32_t h = fnv(key, len);

	for (size_t i = h & t->mask; t->slots[i].len; i = (i + 1) & t->mask) {
		const struct slot *sl = t->slots + i;

		if (sl->hash == h && sl->len == len &&
		    memcmp(t->keys + sl->off, key, len) == 0)
			return sl->flags;
	}
	return 0;
}

static int
mark(struct bw_suffixtab *t, const char *key, size_t len, uintptr_t flag,
     struct bw_err *err)
{
	uintptr_t v = (uintptr_t)bw_strmap_get(t->map, key, len);

	if ((v | flag) == v)
		return BW_OK;
	return bw_strmap_put(t->map, key, len, (void *)(v | flag), err);
}

/* Adds one rule (ASCII, lower-case, without its "*." or "!"). */
static int
add_rule(struct bw_suffixtab *t, const char *key, size_t len, uintptr_t flag,
	 struct bw_err *err)
{
	int rc = mark(t, key, len, flag, err);

	/* a wildcard matches one label more than key: key is a node too, and
	 * (as libpsl has it) a public suffix itself */
	if (rc == BW_OK && flag == F_WILD)
		rc = mark(t, key, len, F_NODE | F_RULE, err);
	for (size_t i = 0; rc == BW_OK && i < len; i++)
		if (key[i] == '.')
			rc = mark(t, key + i + 1, len - i - 1, F_NODE, err);
	return rc;
}

int
bw_suffixtab_parse(const char *text, size_t len, struct bw_suffixtab **out,
		   struct bw_err *err)
{
	struct bw_suffixtab *t = bw_calloc(1, sizeof(*t));
	size_t pos = 0, rules = 0;
	int rc;

	*out = NULL;
	if (t == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	rc = bw_strmap_new(4 * (size_t)BW_SUFFIXTAB_RULES_MAX, &t->map, err);
	while (rc == BW_OK && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, a = pos, e;
		char rule[RULE_MAX + 1], *ascii = NULL;
		uintptr_t flag = F_RULE;
		bool plain = true;

		pos = end + 1;
		/* a rule is the first word of a line; "//" starts a comment */
		while (a < end && (text[a] == ' ' || text[a] == '\t'))
			a++;
		e = a;
		while (e < end && text[e] != ' ' && text[e] != '\t' && text[e] != '\r')
			e++;
		if (e == a || (e - a >= 2 && text[a] == '/' && text[a + 1] == '/'))
			continue;
		if (text[a] == '!') {
			flag = F_EXC;
			a++;
		} else if (e - a > 2 && text[a] == '*' && text[a + 1] == '.') {
			flag = F_WILD;
			a += 2;
		}
		if (e - a == 0 || e - a > RULE_MAX) {
			rc = bw_err_set(err, BW_EFORMAT,
					"public suffix list: a rule of %zu bytes", e - a);
			break;
		}
		if (++rules > BW_SUFFIXTAB_RULES_MAX) {
			rc = bw_err_set(err, BW_ELIMIT,
					"public suffix list: more than %d rules",
					BW_SUFFIXTAB_RULES_MAX);
			break;
		}
		memcpy(rule, text + a, e - a);
		rule[e - a] = '\0';
		for (size_t i = 0; i < e - a; i++) {
			unsigned char c = (unsigned char)rule[i];

			if (c >= 0x80)
				plain = false;
			else if (c >= 'A' && c <= 'Z')
				rule[i] = (char)(c - 'A' + 'a');
		}
		if (plain) {
			rc = add_rule(t, rule, e - a, flag, err);
			continue;
		}
		/* an internationalised rule: its A-labels, as hosts are written;
		 * one that libidn2 refuses cannot match a canonical host */
		if (idn2_lookup_u8((const uint8_t *)rule, (uint8_t **)&ascii,
				   IDN2_NONTRANSITIONAL) != IDN2_OK)
			continue;
		if (strlen(ascii) <= RULE_MAX)
			rc = add_rule(t, ascii, strlen(ascii), flag, err);
		idn2_free(ascii);
	}
	if (rc == BW_OK && rules == 0)
		rc = bw_err_set(err, BW_EFORMAT, "public suffix list: no rules");
	if (rc == BW_OK)
		rc = freeze(t, err);
	if (rc) {
		bw_suffixtab_free(t);
		return rc;
	}
	*out = t;
	return BW_OK;
}

int
bw_suffixtab_load(const char *path, struct bw_suffixtab **out,
		  struct bw_err *err)
{
	FILE *fp;
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	int rc = BW_OK;

	*out = NULL;
	if (path == NULL)
		path = BW_SUFFIXTAB_PATH;
	fp = fopen(path, "rb");
	if (fp == NULL)
		return bw_err_set(err, BW_EIO, "%s: cannot open", path);
	do {
		if (n + 65536 > BW_SUFFIXTAB_FILE_MAX) {
			rc = bw_err_set(err, BW_ELIMIT, "%s: larger than %u bytes", path,
					BW_SUFFIXTAB_FILE_MAX);
			goto out;
		}
		if (!(buf = bw_grow(buf, &cap, n + 65536, 1))) {
			rc = bw_err_set(err, BW_ENOMEM, "out of memory");
			goto out;
		}
		got = fread(buf + n, 1, 65536, fp);
		n += got;
	} while (got == 65536);
	if (ferror(fp)) {
		rc = bw_err_set(err, BW_EIO, "%s: read error", path);
		goto out;
	}
	rc = bw_suffixtab_parse(buf, n, out, err);
out:
	fclose(fp);
	bw_free(buf);
	return rc;
}

size_t
bw_suffixtab_suffix(const struct bw_suffixtab *t, const char *host, size_t len)
{
	size_t end = len, best, prev = len;
	bool parent_wild = false;

	/* the default rule "*": the last label */
	while (end > 0 && host[end - 1] != '.')
		end--;
	best = end;
	end = len;
	for (;;) {
		size_t st = end;
		unsigned v;

		while (st > 0 && host[st - 1] != '.')
			st--;
		v = flags_of(t, host + st, len - st);
		if (v & F_EXC)
			return prev;
		if ((v & F_RULE) || parent_wild)
			best = st;
		parent_wild = (v & F_WILD) != 0;
		if (!(v & F_NODE) && !parent_wild)
			break;
		if (st == 0)
			break;
		prev = st;
		end = st - 1;
	}
	return best;
}
