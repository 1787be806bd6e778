/*
 * timeutil.h - UTC timestamps as bulwark stores them.
 *
 * Times are int64 seconds since the Unix epoch, UTC; 0 means "not known".
 * Parsing accepts what feeds write: ISO 8601 / RFC 3339 with or without
 * fractional seconds and offset ("2024-01-02T03:04:05.678Z",
 * "2024-01-02T03:04:05+02:00"), the abuse.ch form "2024-01-02 03:04:05"
 * (UTC), a bare date "2024-01-02", and Unix seconds ("1704164645").
 * Fractions of a second are dropped.  All functions are thread-safe.
 */
#ifndef BW_CORE_TIMEUTIL_H
#define BW_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

#define BW_TIME_TEXT_MAX 32

int bw_time_parse(const char *s, size_t len, int64_t *out, struct bw_err *err);

/* Like bw_time_parse, and also a relative age before now: "90s", "15m",
 * "24h", "7d", "2w" (for --since). */
int bw_time_parse_since(const char *s, int64_t now, int64_t *out,
			struct bw_err *err);

/* A duration "90s", "15m", "1h", "1d", "1w" or plain seconds, within
 * [min, max] seconds, into *out; BW_EINVAL saying what is wrong. */
int bw_time_parse_period(const char *s, int64_t min, int64_t max, int64_t *out,
			 struct bw_err *err);

/* "2024-01-02T03:04:05Z" into buf (BW_TIME_TEXT_MAX bytes); returns buf. */
char *bw_time_format(int64_t t, char *buf);
/* "2024-01-02T03:04:05.000Z", the STIX timestamp form; returns buf. */
char *bw_time_format_ms(int64_t t, char *buf);

/* Seconds since the epoch now (CLOCK_REALTIME). */
int64_t bw_time_now(void);

/* Milliseconds since t0, a CLOCK_MONOTONIC reading: how long something
 * took, or since it last happened. */
long bw_time_ms_since(const struct timespec *t0);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t bw_days_from_civil(int64_t y, unsigned m, unsigned d);
void bw_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
