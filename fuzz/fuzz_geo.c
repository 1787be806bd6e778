/*
 * fuzz_geo.c - libFuzzer harness for the ASN range table (src/intel/geo.c)
 * and the scope entry parser (src/share/tenant_scope.c).
 *
 * The input is loaded as an ASN CSV file.  A load that succeeds must leave
 * a sorted, disjoint table (bw_geo_check), and a look-up of each range's
 * start must find some range; a load that fails must leave the table empty.
 * The input, cut at its first NUL or newline, is also parsed as KIND:VALUE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intel/geo.h"
#include "share/tenant_scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_geo *g = NULL;
	struct bw_err err;
	struct bw_geo_asn a;
	struct bw_scope_entry e, e2;
	char spec[512];
	size_t n = 0;
	int rc;

	if (bw_geo_new(&g, NULL) != BW_OK)
		return 0;
	rc = bw_geo_load_asn_mem(g, data, size, "fuzz", &err);
	if (!bw_geo_check(g))
		abort();
	if (rc != BW_OK && bw_geo_has_asn(g))
		abort(); /* a failed load leaves nothing behind */
	(void)bw_geo_asn(g, "1.0.0.1", &a, NULL);
	(void)bw_geo_asn(g, "2001:db8::1", &a, NULL);
	bw_geo_free(g);

	while (n < size && n < sizeof(spec) - 1 && data[n] != '\0' && data[n] != '\n') {
		spec[n] = (char)data[n];
		n++;
	}
	spec[n] = '\0';
	if (bw_scope_entry_parse(spec, &e, NULL) == BW_OK) {
		/* the canonical form parses to itself */
		char again[BW_SCOPE_VALUE_MAX + 16];
		size_t kl = strlen(bw_scope_kind_name(e.kind));
		memcpy(again, bw_scope_kind_name(e.kind), kl);
		again[kl] = ':';
		memcpy(again + kl + 1, e.value, strlen(e.value) + 1);
		if (bw_scope_entry_parse(again, &e2, NULL) != BW_OK ||
		    e2.kind != e.kind || strcmp(e2.value, e.value) != 0)
			abort();
	}
	return 0;
}
