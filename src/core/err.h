/*
 * err.h - the error convention shared by every module of libbulwark.
 *
 * A function that can fail returns an int: 0 (BW_OK) on success, one of the
 * BW_E* codes otherwise, and fills a struct bw_err that the caller may print.
 * Library code never prints and never exits; only the front ends decide what
 * to do with an error.  Passing a NULL struct bw_err is allowed everywhere.
 */
#ifndef BW_CORE_ERR_H
#define BW_CORE_ERR_H

#include <stddef.h>

enum bw_rc {
	BW_OK = 0,
	BW_ENOMEM,    /* allocation failed */
	BW_EINVAL,    /* bad argument or bad value in the input */
	BW_EIO,       /* the operating system refused a read or write */
	BW_ESTORE,    /* SQLite reported an error */
	BW_EFORMAT,   /* input is not of the expected format at all */
	BW_ELIMIT,    /* input exceeds a configured size limit */
	BW_ENOTFOUND, /* no such object */
	BW_EVERSION,  /* data written by a newer or unknown version */
};

#define BW_ERR_MSG_MAX 512

struct bw_err {
	int code;
	char msg[BW_ERR_MSG_MAX];
};

/* Sets err (if not NULL) and returns code, so that `return bw_err_set(...)`
 * reads naturally. */
int bw_err_set(struct bw_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: " (for adding a file name
 * or a field as the error travels up).  Returns err->code. */
int bw_err_prefix(struct bw_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void bw_err_clear(struct bw_err *err);

/* A short English name of a code, for logs ("out of memory", ...). */
const char *bw_rc_name(int code);

#endif
