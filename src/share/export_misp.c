/* export_misp.c - placeholder until the misp writer lands (see issue 2). */
#include "share/export.h"

int
bw_export_misp(struct bw_store *st, const struct bw_export_options *o, FILE *out,
	     struct bw_err *err)
{
	(void)st;
	(void)o;
	(void)out;
	return bw_err_set(err, BW_EINVAL, "misp export is not written yet");
}
