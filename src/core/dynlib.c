/*
 * dynlib.c - opening an optional shared library into a table of function
 * pointers, once (see dynlib.h for why).
 */
#include "core/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Opens the first of d->sonames that loads; NULL with why filled. */
static void *
open_first(const struct bw_dynlib *d, char *first, size_t cap, char *why, size_t wcap)
{
	const char *p = d->sonames;
	char name[128];
	void *h = NULL;

	first[0] = '\0';
	snprintf(why, wcap, "not found");
	while (h == NULL && *p != '\0') {
		size_t len = strcspn(p, " ");
		if (len > 0 && len < sizeof(name) && len < cap) {
			memcpy(name, p, len);
			name[len] = '\0';
			h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
			if (first[0] == '\0') {
				/* the soname's reason is the one worth reporting */
				const char *e = h == NULL ? dlerror() : NULL;
				memcpy(first, name, len + 1);
				if (e != NULL)
					snprintf(why, wcap, "%s", e);
			}
		}
		p += len;
		p += strspn(p, " ");
	}
	return h;
}

static int
open_lib(struct bw_dynlib *d)
{
	char first[128], why[256];
	void *h;

	if (d->table_size != d->n * sizeof(void *))
		return bw_err_set(&d->err, BW_EINVAL, "%s: a table of %zu bytes for %zu functions",
				  d->what, d->table_size, d->n);
	h = open_first(d, first, sizeof(first), why, sizeof(why));
	if (h == NULL)
		return bw_err_set(&d->err, BW_ENOTFOUND, "%s: cannot load %s: %s", d->what, first,
				  why);
	for (size_t i = 0; i < d->n; i++) {
		void *f = dlsym(h, d->names[i]);
		if (f == NULL) {
			dlclose(h);
			return bw_err_set(&d->err, BW_ENOTFOUND, "%s: %s has no function %s",
					  d->what, first, d->names[i]);
		}
		/* stored as the table declares it; memcpy keeps the compiler's
		 * aliasing rules out of it */
		memcpy((char *)d->table + i * sizeof(f), &f, sizeof(f));
	}
	return BW_OK;
}

int
bw_dynlib_ready(struct bw_dynlib *d, struct bw_err *err)
{
	int rc;

	pthread_mutex_lock(&d->mu);
	if (!d->tried) {
		open_lib(d);
		d->tried = true;
	}
	rc = d->err.code;
	if (rc != BW_OK)
		bw_err_set(err, rc, "%s", d->err.msg);
	pthread_mutex_unlock(&d->mu);
	return rc;
}
