/*
 * fuzz_lean.c - libFuzzer harness for the check listener's request parser
 * (net/lean.h).
 *
 * The input is a connection's byte stream, fed to the parser the way the
 * listener does: in pieces (the first byte chooses the piece size) into a
 * buffer of 4096 bytes, every complete request taken off the front and the
 * rest kept.  Whatever the bytes, the parser must keep within the buffer
 * (ASan), say "more" only while the buffer has room, and hand over only
 * requests that hold together: GET or HEAD, a path that starts with '/',
 * no more headers and arguments than the caps, every name and value a
 * string inside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/lean.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096

static void
check_in(const char *buf, const char *s)
{
	if (s == NULL || s < buf || s >= buf + CAP)
		abort();
	(void)strlen(s); /* NUL-terminated inside the buffer (ASan) */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	struct bw_lean_req req;
	size_t len = 0, scan = 0, piece, off = 0, used;
	int status, rc;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	buf = malloc(CAP); /* exactly CAP: an overrun is ASan's to see */
	if (buf == NULL)
		return 0;
	while (off < size || len > 0) {
		size_t n = size - off < piece ? size - off : piece;
		if (n > CAP - len)
			n = CAP - len;
		memcpy(buf + len, data + off, n);
		len += n;
		off += n;
		rc = bw_lean_parse(buf, len, CAP, &scan, &req, &used, &status);
		if (rc < 0) {
			if (status < 400 || status > 505)
				abort();
			break;
		}
		if (rc == 0) {
			if (len >= CAP || scan != len)
				abort();
			if (off == size)
				break; /* the stream ended inside a request */
			continue;
		}
		if (used == 0 || used > len)
			abort();
		if (strcmp(req.method, "GET") != 0 && strcmp(req.method, "HEAD") != 0)
			abort();
		check_in(buf, req.path);
		if (req.path[0] != '/' || req.nheaders > BW_LEAN_HEADERS_MAX ||
		    req.nargs > BW_LEAN_ARGS_MAX)
			abort();
		for (size_t i = 0; i < req.nheaders; i++) {
			check_in(buf, req.headers[i].name);
			check_in(buf, req.headers[i].value);
		}
		for (size_t i = 0; i < req.nargs; i++) {
			check_in(buf, req.args[i].name);
			if (req.args[i].value)
				check_in(buf, req.args[i].value);
		}
		(void)bw_lean_header(&req, "Authorization");
		(void)bw_lean_arg(&req, "domain", NULL);
		memmove(buf, buf + used, len - used);
		len -= used;
		scan = 0;
	}
	free(buf);
	return 0;
}
