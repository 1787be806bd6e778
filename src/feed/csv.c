/* csv.c - placeholder until the csv parser lands (see issue 2). */
#include "feed/feed.h"

int
bw_feed_parse_csv(struct bw_reader *in, const struct bw_feed_options *o,
		 const struct bw_feed_sink *sink, struct bw_err *err)
{
	(void)in;
	(void)o;
	(void)sink;
	return bw_err_set(err, BW_EFORMAT, "csv parser is not written yet");
}
