/*
 * err.c - filling and decorating struct bw_err.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
bw_err_set(struct bw_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
bw_err_prefix(struct bw_err *err, const char *fmt, ...)
{
	char prefix[BW_ERR_MSG_MAX];
	char old[BW_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return BW_EINVAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

void
bw_err_clear(struct bw_err *err)
{
	if (err == NULL)
		return;
	err->code = BW_OK;
	err->msg[0] = '\0';
}

const char *
bw_rc_name(int code)
{
	switch (code) {
	case BW_OK: return "ok";
	case BW_ENOMEM: return "out of memory";
	case BW_EINVAL: return "invalid value";
	case BW_EIO: return "input/output error";
	case BW_ESTORE: return "store error";
	case BW_EFORMAT: return "wrong format";
	case BW_ELIMIT: return "size limit exceeded";
	case BW_ENOTFOUND: return "not found";
	case BW_EVERSION: return "unsupported version";
	}
	return "unknown error";
}
