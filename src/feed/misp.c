/* misp.c - placeholder until the misp parser lands (see issue 2). */
#include "feed/feed.h"

int
bw_feed_parse_misp(struct bw_reader *in, const struct bw_feed_options *o,
		 const struct bw_feed_sink *sink, struct bw_err *err)
{
	(void)in;
	(void)o;
	(void)sink;
	return bw_err_set(err, BW_EFORMAT, "misp parser is not written yet");
}
