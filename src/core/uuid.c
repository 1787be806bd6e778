/*
 * uuid.c - version 5 UUIDs with nettle's SHA-1.
 */
#include "core/uuid.h"

#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>

/* 5f2a1d4e-8c3b-4d7a-9e61-0b7c2a4f9d13, chosen at random once. */
const unsigned char bw_uuid_ns_bulwark[16] = {
	0x5f, 0x2a, 0x1d, 0x4e, 0x8c, 0x3b, 0x4d, 0x7a,
	0x9e, 0x61, 0x0b, 0x7c, 0x2a, 0x4f, 0x9d, 0x13,
};

static char *
format(const unsigned char h[16], char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[h[i] >> 4];
		*p++ = hex[h[i] & 15];
	}
	*p = '\0';
	return out;
}

static char *
finish(struct sha1_ctx *ctx, char *out)
{
	unsigned char d[SHA1_DIGEST_SIZE];

	sha1_digest(ctx, sizeof(d), d);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x50);
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
	return format(d, out);
}

char *
bw_uuid5(const unsigned char ns[16], const void *name, size_t len, char *out)
{
	struct sha1_ctx ctx;

	sha1_init(&ctx);
	sha1_update(&ctx, 16, ns);
	sha1_update(&ctx, len, name);
	return finish(&ctx, out);
}

char *
bw_uuid5_parts(const unsigned char ns[16], const char *const *parts,
	       size_t nparts, char *out)
{
	struct sha1_ctx ctx;
	const unsigned char sep = 0x1f;

	sha1_init(&ctx);
	sha1_update(&ctx, 16, ns);
	for (size_t i = 0; i < nparts; i++) {
		if (i)
			sha1_update(&ctx, 1, &sep);
		sha1_update(&ctx, strlen(parts[i]), (const unsigned char *)parts[i]);
	}
	return finish(&ctx, out);
}

int
bw_uuid_valid(const char *s)
{
	if (strlen(s) != BW_UUID_TEXT_LEN)
		return 0;
	for (int i = 0; i < BW_UUID_TEXT_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0') {
			return 0;
		}
	}
	return 1;
}
