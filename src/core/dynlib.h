/*
 * dynlib.h - the optional shared libraries, opened when first needed.
 *
 * Most commands use a handful of libraries (SQLite, jansson, libidn2,
 * libpsl, libsodium, nettle); the daemon, the model, the lookalike
 * detector, the report renderer, the outbox delivery and the country
 * look-up each need one more family (libmicrohttpd and GnuTLS, XGBoost
 * and liblinear, ICU, cairo and pango, libcurl, libmaxminddb).  Linked
 * into the executable, all of them were loaded and relocated by every
 * run: 22 ms of start-up, eighty libraries in the dynamic linker's search
 * scope, against 2 ms for the ones every command needs.  Each module
 * that needs one of them now opens it with dlopen the first time it is
 * used and calls it through a table of function pointers (see
 * BW_DYNLIB_DEFINE below); its headers are still used at build time, so
 * the prototypes are checked as before.
 *
 * A table is filled once, under its struct bw_dynlib's mutex, before any
 * call through it, and never changes after: it is start-up state that a
 * command which does not need the library never pays for.  The library
 * stays loaded for the life of the process (no dlclose: threads of the
 * library, such as libgomp's, may outlive any one user).
 */
#ifndef BW_CORE_DYNLIB_H
#define BW_CORE_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* A struct member per function of a library, named and typed as the
 * function its header declares (used by BW_DYNLIB_DEFINE). */
#define BW_DYNLIB_MEMBER(name) __typeof__(name) *name;
/* The names of those functions as the library exports them (a header may
 * rename them with a macro, as ICU adds its version): a string each. */
#define BW_DYNLIB_NAME(name) BW_DYNLIB_STR(name),
#define BW_DYNLIB_STR(name) BW_DYNLIB_STR_(name)
#define BW_DYNLIB_STR_(name) #name

/* A library and its table (BW_DYNLIB_DEFINE defines both). */
struct bw_dynlib {
	const char *what;     /* the feature that needs it, for messages */
	const char *sonames;  /* names to try, space-separated: the soname,
				 then the development link */
	const char *const *names; /* the functions, in the table's order */
	size_t n;
	void *table;          /* n function pointers */
	size_t table_size;
	pthread_mutex_t mu;
	bool tried;           /* under mu: opened, or err says why not */
	struct bw_err err;
};

/* A struct bw_dynlib for the table and its names (arrays, not pointers). */
#define BW_DYNLIB_INIT(what, sonames, names, table)                                 \
	{(what), (sonames), (names), sizeof(names) / sizeof((names)[0]), &(table),  \
	 sizeof(table), PTHREAD_MUTEX_INITIALIZER, false, {0, ""}}

/* The table named table of the functions LIST names (LIST(F) calls F(name)
 * for each), with table_lib, its struct bw_dynlib: at file scope, one per
 * library a module uses; call bw_dynlib_ready(&table_lib, err) before the
 * first call through table. */
#define BW_DYNLIB_DEFINE(table, LIST, what, sonames)                                 \
	static struct {                                                              \
		LIST(BW_DYNLIB_MEMBER)                                               \
	} table;                                                                     \
	static const char *const table##_names[] = {LIST(BW_DYNLIB_NAME)};           \
	static struct bw_dynlib table##_lib = BW_DYNLIB_INIT(what, sonames, table##_names, table)

/* Opens d's library the first time (RTLD_NOW | RTLD_LOCAL) and resolves
 * its names into its table; later calls give the same answer.  Names are
 * looked up in the library and in the libraries it depends on (dlsym on
 * its handle), so one table can hold pango's functions and cairo's
 * through libpangocairo.  BW_ENOTFOUND with a message naming the feature,
 * the library and why, or the missing function. */
int bw_dynlib_ready(struct bw_dynlib *d, struct bw_err *err);

#endif
