/*
 * storetest.h - small queries for unit tests that check what a module
 * wrote to the store: the first column of the first row of a formatted
 * SQL statement, as a number (-1 when the query fails or has no row) or as
 * text ("" likewise).  Header-only, file-local: each test is one program.
 */
#ifndef BW_TESTS_STORETEST_H
#define BW_TESTS_STORETEST_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "store/store.h"

static long
count(struct bw_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static long
count(struct bw_store *st, const char *fmt, ...)
{
	char sql[2048];
	sqlite3_stmt *s;
	va_list ap;
	long n = -1;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(bw_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static const char *
text(struct bw_store *st, char *out, size_t cap, const char *sql) __attribute__((unused));
static const char *
text(struct bw_store *st, char *out, size_t cap, const char *sql)
{
	sqlite3_stmt *s;

	out[0] = '\0';
	if (sqlite3_prepare_v2(bw_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return out;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return out;
}

/* Runs one or more SQL statements; 0, or -1 after printing the error as a
 * TAP comment. */
static int
exec_sql(struct bw_store *st, const char *sql) __attribute__((unused));
static int
exec_sql(struct bw_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(bw_store_db(st), sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	printf("# SQL error: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

/* Removes the database file at path and its -wal and -shm files. */
static void
remove_store_files(const char *path) __attribute__((unused));
static void
remove_store_files(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

#endif
