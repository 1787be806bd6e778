/*
 * jscan.c - a streaming scanner for the elements of one JSON array.
 *
 * The scanner keeps a window [0, n) of unconsumed input from the reader and
 * a position in it.  While it reads an element it keeps the whole element in
 * the window (the reader's buffer grows up to the element limit) so that the
 * element can be handed out as one contiguous text; while it skips anything
 * else it consumes the window as it goes, so skipping a value of any size
 * costs no memory.  Values are delimited with a bracket stack and a string
 * state; grammar inside a value is left to the element's parser.
 */
#include "feed/jscan.h"

#include <stdbool.h>
#include <string.h>

#include "feed/feed.h"
#include "feed/reader.h"

#define CHUNK (256 * 1024)
/* Skipped text is dropped from the window once this much has piled up. */
#define DISCARD_AT (64 * 1024)

struct sc {
	struct bw_reader *in;
	const char *p;
	size_t n, pos;
	size_t max_buf;
	struct bw_err *err;
};

static unsigned long long
offset(const struct sc *s)
{
	return (unsigned long long)(bw_reader_offset(s->in) + s->pos);
}

static int
fail(struct sc *s, const char *what)
{
	return bw_err_set(s->err, BW_EFORMAT, "not JSON of the expected shape: %s at byte %llu",
			  what, offset(s));
}

/* Makes s->p[s->pos] available; returns 1, 0 at the end, or -code. */
static int
avail(struct sc *s)
{
	size_t want;
	int rc;

	if (s->pos < s->n)
		return 1;
	if (s->pos >= s->max_buf) {
		bw_err_set(s->err, BW_ELIMIT, "JSON element larger than %zu bytes at byte %llu",
			   s->max_buf, offset(s));
		return -BW_ELIMIT;
	}
	want = s->pos + CHUNK;
	if (want > s->max_buf)
		want = s->max_buf;
	rc = bw_reader_fill(s->in, want, s->max_buf, &s->p, &s->n, s->err);
	if (rc)
		return -rc;
	return s->pos < s->n ? 1 : 0;
}

static void
discard(struct sc *s)
{
	bw_reader_consume(s->in, s->pos);
	s->p += s->pos;
	s->n -= s->pos;
	s->pos = 0;
}

/* Skips white space.  Never called inside a kept element, so the white
 * space read so far can be dropped from the window. */
static int
skip_ws(struct sc *s)
{
	for (;;) {
		if (s->pos > DISCARD_AT)
			discard(s);
		int a = avail(s);
		if (a <= 0)
			return a;
		char c = s->p[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return 1;
		s->pos++;
	}
}

static bool
scalar_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
}

/*
 * Scans one value starting at s->pos (not white space).  With *keep, the
 * bytes from `start` stay in the window; when they exceed limit, a soft
 * limit turns *keep off (the value will be skipped) and a hard one fails.
 * On return s->pos is just past the value.
 */
static int
scan_value(struct sc *s, size_t start, bool *keep, size_t limit, bool soft)
{
	unsigned char stack[BW_FEED_JSON_DEPTH_MAX];
	int depth = 0, a;
	bool in_str = false, esc = false;
	unsigned char c = (unsigned char)s->p[s->pos];

	if (scalar_char(c)) {
		size_t b = s->pos;
		while ((a = avail(s)) > 0 && scalar_char((unsigned char)s->p[s->pos])) {
			s->pos++;
			if (s->pos - b > 64)
				return fail(s, "overlong literal");
		}
		if (a < 0)
			return -a;
		return BW_OK;
	}
	if (c != '"' && c != '{' && c != '[')
		return fail(s, "unexpected character");
	for (;;) {
		size_t stop;

		if (*keep && s->pos - start > limit) {
			if (!soft)
				return bw_err_set(s->err, BW_ELIMIT,
						  "JSON element larger than %zu bytes at byte %llu",
						  limit, offset(s));
			*keep = false;
		}
		if (!*keep && s->pos > DISCARD_AT)
			discard(s);
		/* Refill only when the window is used up: the byte loop below
		 * runs over what is already there. */
		if (s->pos >= s->n) {
			a = avail(s);
			if (a < 0)
				return -a;
			if (a == 0)
				return fail(s, "unexpected end of input");
		}
		stop = s->n;
		if (*keep && start + limit + 1 < stop)
			stop = start + limit + 1;
		if (!*keep && s->pos + DISCARD_AT < stop)
			stop = s->pos + DISCARD_AT;
		while (s->pos < stop) {
			c = (unsigned char)s->p[s->pos++];
			if (in_str) {
				if (esc) {
					esc = false;
				} else if (c == '\\') {
					esc = true;
				} else if (c == '"') {
					in_str = false;
					if (depth == 0)
						return BW_OK;
				} else if (c < 0x20) {
					s->pos--;
					return fail(s, "control character in a string");
				}
				continue;
			}
			switch (c) {
			case '"':
				in_str = true;
				break;
			case '{':
			case '[':
				if (depth >= BW_FEED_JSON_DEPTH_MAX)
					return bw_err_set(s->err, BW_ELIMIT,
							  "JSON nested deeper than %d levels at byte %llu",
							  BW_FEED_JSON_DEPTH_MAX, offset(s));
				stack[depth++] = c;
				break;
			case '}':
			case ']':
				if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '[')) {
					s->pos--;
					return fail(s, "mismatched bracket");
				}
				if (--depth == 0)
					return BW_OK;
				break;
			case ' ': case '\t': case '\n': case '\r': case ',': case ':':
				break;
			default:
				if (!scalar_char(c)) {
					s->pos--;
					return fail(s, "unexpected character");
				}
			}
		}
	}
}

/* Reads a key string at s->pos into key (unescaped only for plain ASCII
 * keys; an escaped key is kept raw, which never matches a wanted key). */
static int
read_key(struct sc *s, char *key, size_t cap)
{
	size_t k = 0;
	int a;

	if (s->p[s->pos] != '"')
		return fail(s, "expected a member name");
	s->pos++;
	for (;;) {
		a = avail(s);
		if (a < 0)
			return -a;
		if (a == 0)
			return fail(s, "unexpected end of input");
		char c = s->p[s->pos++];
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return fail(s, "control character in a member name");
		if (c == '\\') {
			if (k + 1 >= cap)
				return fail(s, "member name too long");
			key[k++] = c;
			a = avail(s);
			if (a <= 0)
				return a < 0 ? -a : fail(s, "unexpected end of input");
			c = s->p[s->pos++];
		}
		if (k + 1 >= cap)
			return fail(s, "member name too long");
		key[k++] = c;
	}
	key[k] = '\0';
	return BW_OK;
}

/* Expects c after optional white space; returns 0 or an error code. */
static int
expect(struct sc *s, char c, const char *what)
{
	int a = skip_ws(s);

	if (a < 0)
		return -a;
	if (a == 0 || s->p[s->pos] != c)
		return fail(s, what);
	s->pos++;
	return BW_OK;
}

static int
scan_array(struct sc *s, const struct bw_jscan_cb *cb, size_t *index)
{
	int a, rc;

	for (;;) {
		a = skip_ws(s);
		if (a < 0)
			return -a;
		if (a == 0)
			return fail(s, "unexpected end of input in the array");
		if (s->p[s->pos] == ']') {
			s->pos++;
			return BW_OK;
		}
		if (*index > 0) {
			if (s->p[s->pos] != ',')
				return fail(s, "expected ',' or ']' in the array");
			s->pos++;
			a = skip_ws(s);
			if (a < 0)
				return -a;
			if (a == 0)
				return fail(s, "unexpected end of input in the array");
		}
		discard(s);
		bool keep = true;
		rc = scan_value(s, 0, &keep, s->max_buf, false);
		if (rc)
			return rc;
		rc = cb->element(cb->ctx, s->p, s->pos, *index, s->err);
		if (rc)
			return rc;
		(*index)++;
		discard(s);
	}
}

int
bw_jscan_run(struct bw_reader *in, const char *array_key,
	     const struct bw_jscan_cb *cb, size_t max_element, int *found,
	     struct bw_err *err)
{
	struct sc s = {in, NULL, 0, 0, max_element, err};
	char key[BW_JSCAN_KEY_MAX];
	size_t index = 0;
	int a, rc, members = 0;

	if (found)
		*found = 0;
	rc = bw_reader_fill(in, 1, max_element, &s.p, &s.n, err);
	if (rc)
		return rc;
	if (s.n >= 3 && memcmp(s.p, "\xef\xbb\xbf", 3) == 0)
		s.pos = 3;
	a = skip_ws(&s);
	if (a < 0)
		return -a;
	if (a == 0)
		return bw_err_set(err, BW_EFORMAT, "empty input, not JSON");

	if (array_key == NULL) {
		if (s.p[s.pos] != '[')
			return fail(&s, "expected a JSON array");
		s.pos++;
		if (found)
			*found = 1;
		rc = scan_array(&s, cb, &index);
		if (rc)
			return rc;
		goto tail;
	}

	if (s.p[s.pos] != '{')
		return fail(&s, "expected a JSON object");
	s.pos++;
	for (;;) {
		a = skip_ws(&s);
		if (a < 0)
			return -a;
		if (a == 0)
			return fail(&s, "unexpected end of input");
		if (s.p[s.pos] == '}') {
			s.pos++;
			break;
		}
		if (members > 0) {
			if (s.p[s.pos] != ',')
				return fail(&s, "expected ',' or '}'");
			s.pos++;
			a = skip_ws(&s);
			if (a <= 0)
				return a < 0 ? -a : fail(&s, "unexpected end of input");
		}
		rc = read_key(&s, key, sizeof(key));
		if (rc)
			return rc;
		rc = expect(&s, ':', "expected ':'");
		if (rc)
			return rc;
		a = skip_ws(&s);
		if (a <= 0)
			return a < 0 ? -a : fail(&s, "unexpected end of input");
		members++;
		if (strcmp(key, array_key) == 0) {
			if (s.p[s.pos] != '[')
				return fail(&s, "expected an array");
			s.pos++;
			if (found)
				*found = 1;
			rc = scan_array(&s, cb, &index);
			if (rc)
				return rc;
			continue;
		}
		discard(&s);
		bool keep = cb->member != NULL && s.p[s.pos] != '{' && s.p[s.pos] != '[';
		rc = scan_value(&s, 0, &keep, BW_JSCAN_MEMBER_MAX, true);
		if (rc)
			return rc;
		if (cb->member) {
			rc = cb->member(cb->ctx, key, keep ? s.p : NULL, keep ? s.pos : 0, err);
			if (rc)
				return rc;
		}
		discard(&s);
	}
tail:
	a = skip_ws(&s);
	if (a < 0)
		return -a;
	if (a > 0)
		return fail(&s, "text after the end of the JSON document");
	return BW_OK;
}
