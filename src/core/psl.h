/*
 * psl.h - registrable domains from the Public Suffix List (libpsl).
 *
 * The list comes from the system's publicsuffix package (the file libpsl
 * reads with psl_latest()), falling back to the copy built into libpsl.
 * A handle is immutable after bw_psl_open() and may be shared by threads.
 */
#ifndef BW_CORE_PSL_H
#define BW_CORE_PSL_H

#include <stddef.h>

#include "core/err.h"
#include "core/ioc.h"

struct bw_psl;

int bw_psl_open(struct bw_psl **out, struct bw_err *err);
void bw_psl_free(struct bw_psl *p);

/* The registrable domain ("example.co.uk" for "a.b.example.co.uk") of a
 * canonical domain into out; returns 1 if there is one, 0 if the name is a
 * public suffix itself or has no registrable part. */
int bw_psl_registrable(const struct bw_psl *p, const char *domain, char *out,
		       size_t cap);

/* The registrable domain of the host of a canonical domain, URL or e-mail
 * indicator (0 for addresses, hashes, and hosts given as IP literals). */
int bw_psl_registrable_of(const struct bw_psl *p, const struct bw_ioc *ioc,
			  char *out, size_t cap);

#endif
