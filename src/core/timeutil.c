/*
 * timeutil.c - parsing and formatting of UTC timestamps.
 *
 * The calendar arithmetic is Howard Hinnant's days-from-civil algorithm,
 * which is exact for the proleptic Gregorian calendar and needs neither the
 * TZ environment nor timegm().
 */
#include "core/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
bw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void
bw_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
digits(const char *s, size_t len, size_t at, size_t n, unsigned *v)
{
	*v = 0;
	if (at + n > len)
		return false;
	for (size_t i = at; i < at + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int
bw_time_parse(const char *s, size_t len, int64_t *out, struct bw_err *err)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	size_t i;
	int64_t t, off = 0;
	bool all_digits = len > 0;

	while (len > 0 && (*s == ' ' || *s == '"')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '"'))
		len--;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			all_digits = false;
	if (all_digits && len > 0 && len <= 12) {
		t = 0;
		for (i = 0; i < len; i++)
			t = t * 10 + (s[i] - '0');
		*out = t;
		return BW_OK;
	}
	if (!digits(s, len, 0, 4, &y) || len < 10 || s[4] != '-' ||
	    !digits(s, len, 5, 2, &mo) || s[7] != '-' || !digits(s, len, 8, 2, &d))
		goto bad;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || y < 1970)
		goto bad_range;
	i = 10;
	if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
		i++;
		if (!digits(s, len, i, 2, &h) || i + 2 >= len || s[i + 2] != ':' ||
		    !digits(s, len, i + 3, 2, &mi))
			goto bad;
		i += 5;
		if (i < len && s[i] == ':') {
			if (!digits(s, len, i + 1, 2, &se))
				goto bad;
			i += 3;
		}
		if (h > 23 || mi > 59 || se > 60)
			goto bad_range;
		if (i < len && (s[i] == '.' || s[i] == ',')) {
			i++;
			if (i >= len || s[i] < '0' || s[i] > '9')
				goto bad;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			unsigned oh, om = 0;
			int sign = s[i] == '-' ? -1 : 1;
			if (!digits(s, len, i + 1, 2, &oh))
				goto bad;
			i += 3;
			if (i < len && s[i] == ':')
				i++;
			if (i < len) {
				if (!digits(s, len, i, 2, &om))
					goto bad;
				i += 2;
			}
			if (oh > 23 || om > 59)
				goto bad_range;
			off = sign * (int64_t)(oh * 3600 + om * 60);
		} else if (i + 4 <= len && memcmp(s + i, " UTC", 4) == 0) {
			i += 4;
		}
	}
	if (i != len)
		goto bad;
	t = bw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	*out = t;
	return BW_OK;
bad:
	return bw_err_set(err, BW_EINVAL,
			  "not a timestamp (expected e.g. 2024-01-02T03:04:05Z)");
bad_range:
	return bw_err_set(err, BW_EINVAL, "timestamp out of range");
}

/* "90s", "15m", "24h", "7d", "2w" or plain seconds into *out; 0 when s is
 * not such a duration (at most 12 characters). */
static int
duration(const char *s, int64_t *out)
{
	size_t len = strlen(s), i;
	int64_t n = 0, mult = 1;

	if (len == 0 || len > 12)
		return 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n = n * 10 + (s[i] - '0');
	if (i == 0 || (i < len && i + 1 != len))
		return 0;
	if (i < len) {
		switch (s[i]) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return 0;
		}
	}
	*out = n * mult;
	return 1;
}

int
bw_time_parse_since(const char *s, int64_t now, int64_t *out,
		    struct bw_err *err)
{
	int64_t d;
	size_t len = strlen(s);

	/* a unit is required here: a bare number is not an age */
	if (len >= 2 && (s[len - 1] < '0' || s[len - 1] > '9') && duration(s, &d)) {
		*out = now - d;
		return BW_OK;
	}
	return bw_time_parse(s, len, out, err);
}

int
bw_time_parse_period(const char *s, int64_t min, int64_t max, int64_t *out,
		     struct bw_err *err)
{
	int64_t d;

	if (!duration(s, &d))
		return bw_err_set(err, BW_EINVAL,
				  "period '%.20s': give 15m, 1h, 1d, 1w or seconds", s);
	if (d < min || d > max)
		return bw_err_set(err, BW_EINVAL,
				  "period '%.20s': from %lld to %lld seconds", s,
				  (long long)min, (long long)max);
	*out = d;
	return BW_OK;
}

char *
bw_time_format(int64_t t, char *buf)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400, y;
	unsigned m, d;

	bw_civil_from_days(days, &y, &m, &d);
	snprintf(buf, BW_TIME_TEXT_MAX, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		 (long long)y, m, d, (unsigned)(secs / 3600),
		 (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return buf;
}

char *
bw_time_format_ms(int64_t t, char *buf)
{
	size_t n;

	bw_time_format(t, buf);
	n = strlen(buf);
	if (n >= 1 && n + 4 < BW_TIME_TEXT_MAX)
		memcpy(buf + n - 1, ".000Z", 6);
	return buf;
}

int64_t
bw_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

long
bw_time_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}
