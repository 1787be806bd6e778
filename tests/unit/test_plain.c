/*
 * test_plain.c - the line formats (plain, hosts, Spamhaus DROP) on real
 * extracts, the refusal rules, and format detection.
 */
#include <stdlib.h>
#include <string.h>

#include "feedtest.h"
#include "tap.h"

static struct ft t;

static void
test_plain_list(void)
{
	struct bw_err err;
	int i;

	CHECK_INT(ft_run_file(&t, bw_feed_parse_plain,
			      "feeds/urlhaus-filter-domains-online.txt", NULL, &err), BW_OK);
	/* 294 data lines under a 6-line '#' header, none rejected */
	CHECK_INT(t.nrec, 294);
	CHECK_INT(t.nrej, 0);
	CHECK_STR(t.rec[0].value, "0022a601.pphost.net");
	CHECK_INT(t.rec[0].type, BW_IOC_DOMAIN);
	CHECK_STR(t.rec[0].where, "7");
	i = ft_find(&t, "1.1.109.99");
	CHECK(i >= 0 && t.rec[i].type == BW_IOC_IPV4);
	/* nothing in the file says source, TLP or confidence */
	CHECK_STR(t.rec[0].source, "");
	CHECK_INT(t.rec[0].tlp, BW_TLP_UNSET);
	CHECK_INT(t.rec[0].confidence, -1);
}

static void
test_plain_edges(void)
{
	static const char text[] =
		"# header\r\n"
		"Evil[.]COM # why\r\n"
		"\r\n"
		"two values here\n"
		"10.0.0.0/33\n"
		"; another comment\n"
		"hxxps://phish[.]example/login?x=1\n"
		"last.example.org";
	struct bw_err err;

	CHECK_INT(ft_run_mem(&t, bw_feed_parse_plain, text, sizeof(text) - 1, NULL, &err),
		  BW_OK);
	CHECK_INT(t.nrec, 3);
	CHECK_STR(t.rec[0].value, "evil.com");
	CHECK_STR(t.rec[0].where, "2");
	CHECK_STR(t.rec[1].value, "https://phish.example/login?x=1");
	CHECK_STR(t.rec[2].value, "last.example.org");
	CHECK_STR(t.rec[2].where, "8");
	CHECK_INT(t.nrej, 2);
	CHECK_STR(t.rej_where[0], "4");
	CHECK_STR(t.rej_reason[0], "more than one value on the line");
	CHECK_STR(t.rej_where[1], "5");
	CHECK(strstr(t.rej_reason[1], "prefix /33 longer than 32 bits") != NULL);
}

static void
test_plain_long_line(void)
{
	size_t n = 200000;
	char *text = malloc(n + 64);
	struct bw_err err;

	memcpy(text, "first.example\n", 14);
	memset(text + 14, 'a', n);
	memcpy(text + 14 + n, "\nsecond.example\n", 16);
	CHECK_INT(ft_run_mem(&t, bw_feed_parse_plain, text, n + 30, NULL, &err), BW_OK);
	CHECK_INT(t.nrec, 2);
	CHECK_INT(t.nrej, 1);
	CHECK_STR(t.rej_where[0], "2");
	CHECK(strstr(t.rej_reason[0], "line longer than 65536 bytes") != NULL);
	CHECK_STR(t.rec[1].where, "3");
	free(text);
}

static void
test_refusals(void)
{
	static const char binary[] = "evil.com\n\0\0\x01\x02";
	static const char json[] = "{\"type\": \"bundle\", \"objects\": []}\n";
	struct bw_err err;

	CHECK_INT(ft_run_mem(&t, bw_feed_parse_plain, binary, sizeof(binary) - 1, NULL, &err),
		  BW_EFORMAT);
	CHECK(strstr(err.msg, "NUL") != NULL);
	CHECK_INT(t.nrec, 0);
	CHECK_INT(ft_run_mem(&t, bw_feed_parse_plain, json, sizeof(json) - 1, NULL, &err),
		  BW_EFORMAT);
	CHECK(strstr(err.msg, "none of the first 1 data lines") != NULL);
	CHECK_INT(t.nrec + t.nrej, 0);
	/* a plain list is not a hosts file */
	CHECK_INT(ft_run_file(&t, bw_feed_parse_hosts,
			      "feeds/urlhaus-filter-domains-online.txt", NULL, &err), BW_EFORMAT);
	CHECK_INT(t.nrec + t.nrej, 0);
	/* a hosts file is not DROP */
	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/urlhaus-filter-hosts.txt", NULL,
			      &err), BW_EFORMAT);
	/* an empty file is an empty list */
	CHECK_INT(ft_run_mem(&t, bw_feed_parse_plain, "", 0, NULL, &err), BW_OK);
	CHECK_INT(t.nrec + t.nrej, 0);
}

static void
test_hosts(void)
{
	static const char text[] =
		"127.0.0.1 localhost\n"
		"::1 ip6-localhost ip6-loopback\n"
		"0.0.0.0 a.example b.example # two names\n"
		"0.0.0.0\n"
		"0.0.0.0 bad_name$.example\n"
		"not-an-address c.example\n";
	struct bw_err err;

	CHECK_INT(ft_run_file(&t, bw_feed_parse_hosts, "feeds/urlhaus-filter-hosts.txt", NULL,
			      &err), BW_OK);
	CHECK_INT(t.nrec, 294);
	CHECK_INT(t.nrej, 0);
	CHECK_STR(t.rec[0].value, "0022a601.pphost.net");
	CHECK(ft_find(&t, "0.0.0.0") < 0);

	CHECK_INT(ft_run_mem(&t, bw_feed_parse_hosts, text, sizeof(text) - 1, NULL, &err),
		  BW_OK);
	CHECK_INT(t.nrec, 2);
	CHECK_STR(t.rec[0].value, "a.example");
	CHECK_STR(t.rec[1].value, "b.example");
	CHECK_INT(t.nrej, 3);
	CHECK_STR(t.rej_reason[0], "address without a host name");
	CHECK(strstr(t.rej_reason[1], "not allowed in a domain name") != NULL);
	CHECK_STR(t.rej_reason[2], "expected an address and then host names");
}

static void
test_drop(void)
{
	struct bw_err err;
	int i;

	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/spamhaus-drop.txt", NULL, &err),
		  BW_OK);
	CHECK_INT(t.nrec, 200);
	CHECK_INT(t.nrej, 0);
	CHECK_STR(t.rec[0].value, "1.10.16.0/20");
	CHECK_INT(t.rec[0].type, BW_IOC_CIDR);
	CHECK_STR(t.rec[0].external_id, "SBL256894");
	CHECK_STR(t.rec[0].source, "spamhaus");

	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/spamhaus-dropv6.txt", NULL, &err),
		  BW_OK);
	CHECK_INT(t.nrec, 78);
	for (i = 0; i < t.nrec; i++)
		if (t.rec[i].type != BW_IOC_CIDR || !strchr(t.rec[i].value, ':'))
			break;
	CHECK_INT(i, 78);

	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/spamhaus-edrop-empty.txt", NULL,
			      &err), BW_OK);
	CHECK_INT(t.nrec + t.nrej + t.nuns, 0);

	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/spamhaus-drop-v4.json", NULL,
			      &err), BW_OK);
	CHECK_INT(t.nrec, 200);
	CHECK_INT(t.nrej, 0); /* the closing metadata line is not an entry */
	CHECK_STR(t.rec[0].value, "1.10.16.0/20");
	CHECK_STR(t.rec[0].external_id, "SBL256894");

	CHECK_INT(ft_run_file(&t, bw_feed_parse_drop, "feeds/spamhaus-asn-drop.json", NULL,
			      &err), BW_OK);
	CHECK_INT(t.nrec, 0);
	CHECK_INT(t.nuns, 20);
	CHECK(strstr(t.uns_reason[0], "AS932") != NULL);
}

static void
test_detection(void)
{
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/urlhaus-filter-domains-online.txt")),
		  "plain");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/urlhaus-filter-hosts.txt")), "hosts");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/spamhaus-drop.txt")), "drop");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/spamhaus-dropv6.txt")), "drop");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/spamhaus-edrop-empty.txt")), "drop");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/spamhaus-drop-v4.json")), "drop");
	CHECK_STR(bw_feed_format_name(ft_detect_file("feeds/spamhaus-asn-drop.json")), "drop");
	CHECK_STR(bw_feed_format_name(bw_feed_detect("{\"type\":\"bundle\",\"objects\":[", 28)),
		  "stix");
	CHECK_STR(bw_feed_format_name(bw_feed_detect("{\"Event\": {\"info\": \"x\"", 22)), "misp");
	CHECK_STR(bw_feed_format_name(bw_feed_detect("type,value\ndomain,a.com\n", 24)), "csv");
}

int
main(void)
{
	TAP_RUN(test_plain_list);
	TAP_RUN(test_plain_edges);
	TAP_RUN(test_plain_long_line);
	TAP_RUN(test_refusals);
	TAP_RUN(test_hosts);
	TAP_RUN(test_drop);
	TAP_RUN(test_detection);
	return tap_done();
}
