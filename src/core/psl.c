/*
 * psl.c - a thin owner of a libpsl context.
 */
#include "core/psl.h"

#include <libpsl.h>
#include <stdbool.h>
#include <string.h>

#include "core/mem.h"

struct bw_psl {
	psl_ctx_t *ctx;
	bool owned;
};

int
bw_psl_open(struct bw_psl **out, struct bw_err *err)
{
	struct bw_psl *p = bw_calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	p->ctx = psl_latest(NULL);
	p->owned = p->ctx != NULL;
	if (p->ctx == NULL)
		p->ctx = (psl_ctx_t *)psl_builtin();
	if (p->ctx == NULL) {
		bw_free(p);
		return bw_err_set(err, BW_EIO,
				  "no Public Suffix List (install the publicsuffix package)");
	}
	*out = p;
	return BW_OK;
}

void
bw_psl_free(struct bw_psl *p)
{
	if (p == NULL)
		return;
	if (p->owned)
		psl_free(p->ctx);
	bw_free(p);
}

int
bw_psl_registrable(const struct bw_psl *p, const char *domain, char *out,
		   size_t cap)
{
	const char *r = psl_registrable_domain(p->ctx, domain);
	size_t n;

	if (r == NULL)
		return 0;
	n = strlen(r);
	if (n + 1 > cap)
		return 0;
	memcpy(out, r, n + 1);
	return 1;
}

int
bw_psl_registrable_of(const struct bw_psl *p, const struct bw_ioc *ioc,
		      char *out, size_t cap)
{
	char host[256];

	switch (ioc->type) {
	case BW_IOC_DOMAIN:
		return bw_psl_registrable(p, ioc->value, out, cap);
	case BW_IOC_EMAIL:
	case BW_IOC_URL:
		if (bw_ioc_host(ioc->type, ioc->value, host, sizeof(host)) == 0)
			return 0;
		return bw_psl_registrable(p, host, out, cap);
	default:
		return 0;
	}
}
