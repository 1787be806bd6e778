#!/bin/bash
# match.sh - bulwark match on the real BIND, Unbound, Squid and Zeek logs
# (tests/data/logs) against a list of names that occur in them: the exact
# sightings, subdomains, case and trailing dots, CIDRs, URLs, what must not
# match, format detection, bad lines, standard input, and --record.
. "$(dirname "$0")/lib.sh"

L=$BW_TEST_DATA/logs
DB=$T/m.db
B() { "$BULWARK" "$@"; }

# Two lists: names from the logs (some as the registrable domain of what was
# queried, in other case and with a trailing dot), an address and a CIDR
# around it, a URL; and lookalikes that must not match.
printf 'bojijac.info\nINNOCREED.com.\n117.26.110.114\npostaf.vip\ngoogleapis.com\n' >"$T/a.txt"
printf 'http://mymotherlode.com/login.php?\n117.26.0.0/16\ncdn.postaf.vip\nvopyravijo.org\n' >"$T/b.txt"
printf 'otpoint.io\na.bulsis.net\nostrykebs.pl\n' >>"$T/b.txt"
B ingest --db "$DB" --source list-a --tag malware:Emotet --tag phishing \
	--confidence 70 "$T/a.txt" >/dev/null
B ingest --db "$DB" --source list-b "$T/b.txt" >/dev/null

# 1. BIND and Unbound: the same queries, so the same sightings four lines apart
cd "$L" || exit 1
B match --db "$DB" bind-query.log unbound.log >"$T/out" 2>"$T/err"
is $? 0 "match exits 0"
A='"tags":["malware:Emotet","phishing"],"confidence":70'
N='"tags":[],"confidence":null'
cat >"$T/want" <<WANT
{"time":1795952487,"observer":"127.0.0.10","value":"bojijac.info","indicator":"bojijac.info","type":"domain",$A,"line":2,"file":"bind-query.log"}
{"time":1795952488,"observer":"127.0.0.10","value":"cdn.SOC.INNOCREED.COM","indicator":"innocreed.com","type":"domain",$A,"line":306,"file":"bind-query.log"}
{"time":1795952488,"observer":"127.0.0.12","value":"cdn.POSTAF.VIP","indicator":"cdn.postaf.vip","type":"domain",$N,"line":346,"file":"bind-query.log"}
{"time":1795952488,"observer":"127.0.0.12","value":"cdn.POSTAF.VIP","indicator":"postaf.vip","type":"domain",$A,"line":346,"file":"bind-query.log"}
{"time":1795952488,"observer":"127.0.0.13","value":"vopyravijo.org","indicator":"vopyravijo.org","type":"domain",$N,"line":361,"file":"bind-query.log"}
{"time":1795952487,"observer":"127.0.0.10","value":"bojijac.info.","indicator":"bojijac.info","type":"domain",$A,"line":6,"file":"unbound.log"}
{"time":1795952487,"observer":"127.0.0.10","value":"cdn.SOC.INNOCREED.COM.","indicator":"innocreed.com","type":"domain",$A,"line":310,"file":"unbound.log"}
{"time":1795952488,"observer":"127.0.0.12","value":"cdn.POSTAF.VIP.","indicator":"cdn.postaf.vip","type":"domain",$N,"line":350,"file":"unbound.log"}
{"time":1795952488,"observer":"127.0.0.12","value":"cdn.POSTAF.VIP.","indicator":"postaf.vip","type":"domain",$A,"line":350,"file":"unbound.log"}
{"time":1795952488,"observer":"127.0.0.13","value":"vopyravijo.org.","indicator":"vopyravijo.org","type":"domain",$N,"line":365,"file":"unbound.log"}
WANT
is "$(cat "$T/out")" "$(cat "$T/want")" "BIND and Unbound: exact sightings"
# cross-check the line numbers with grep (case-insensitive, label boundary)
want_lines=$(grep -n -i -E ' (([a-z0-9-]+\.)*)(bojijac\.info|innocreed\.com|postaf\.vip|vopyravijo\.org)\.? ' \
	bind-query.log | cut -d: -f1 | tr '\n' ' ')
got_lines=$(grep '"file":"bind-query.log"' "$T/out" | sed 's/.*"line":\([0-9]*\).*/\1/' | uniq | tr '\n' ' ')
is "$got_lines" "$want_lines" "BIND: the lines grep finds"
contains "$(cat "$T/err")" "bind-query.log: bind, 361 lines: 361 looked up, 5 sightings on 4 lines, 0 skipped, 0 not of the format" "BIND detected, summary"
contains "$(cat "$T/err")" "unbound.log: unbound, 368 lines: 361 looked up, 5 sightings on 4 lines, 7 skipped, 0 not of the format" "Unbound detected, start-up lines skipped"

# 2. Squid: URL host as a subdomain, a listed URL, a CONNECT to an address
#    under a listed /32 and /16 (longest first)
B match --db "$DB" squid-access.log >"$T/out" 2>"$T/err"
cat >"$T/want" <<WANT
{"time":1795952491,"observer":"127.0.0.1","value":"http://www.bojijac.info/wp-content/x.js","indicator":"bojijac.info","type":"domain",$A,"line":2}
{"time":1795952491,"observer":"127.0.0.1","value":"http://mymotherlode.com/login.php?","indicator":"http://mymotherlode.com/login.php","type":"url",$N,"line":3}
{"time":1795952492,"observer":"127.0.0.1","value":"117.26.110.114","indicator":"117.26.110.114","type":"ipv4",$A,"line":97}
{"time":1795952492,"observer":"127.0.0.1","value":"117.26.110.114","indicator":"117.26.0.0/16","type":"cidr",$N,"line":97}
WANT
is "$(cat "$T/out")" "$(cat "$T/want")" "Squid: exact sightings (one input: no file names, as grep)"
contains "$(cat "$T/err")" "squid-access.log: squid, 400 lines" "Squid detected"

# 3. Zeek: TSV (18 googleapis.com queries) and JSON (24 under ostrykebs.pl)
B match --db "$DB" zeek-dns.log zeek-dns-json.log >"$T/out" 2>"$T/err"
want_tsv=$(awk -F'\t' '!/^#/ && $10 ~ /(^|\.)googleapis\.com$/ {print NR}' zeek-dns.log | tr '\n' ' ')
got_tsv=$(grep '"file":"zeek-dns.log"' "$T/out" | sed 's/.*"line":\([0-9]*\).*/\1/' | tr '\n' ' ')
is "$got_tsv" "$want_tsv" "Zeek TSV: every googleapis.com line"
is "$(echo $got_tsv | wc -w)" 18 "18 of them"
want_json=$(grep -n '"query":"\([^"]*\.\)\?ostrykebs\.pl"' zeek-dns-json.log | cut -d: -f1 | tr '\n' ' ')
got_json=$(grep '"file":"zeek-dns-json.log"' "$T/out" | sed 's/.*"line":\([0-9]*\).*/\1/' | tr '\n' ' ')
is "$got_json" "$want_json" "Zeek JSON: every ostrykebs.pl line"
is "$(echo $got_json | wc -w)" 24 "24 of them"
first=$(grep -m1 '"file":"zeek-dns-json.log"' "$T/out")
is "$first" "{\"time\":1591425407,\"observer\":\"192.168.100.121\",\"value\":\"l.ns.ostrykebs.pl\",\"indicator\":\"ostrykebs.pl\",\"type\":\"domain\",$N,\"line\":2,\"file\":\"zeek-dns-json.log\"}" \
	"Zeek JSON: first sighting"
contains "$(cat "$T/err")" "zeek-dns.log: zeek, 168 lines: 160 looked up, 18 sightings on 18 lines, 8 skipped" "Zeek TSV detected"

# 4. nothing that only looks alike
for v in patientpoint.io bulsis.net; do
	is "$(grep -c "\"value\":\"$v" "$T/out" "$T/want")" "$T/out:0
$T/want:0" "$v is not a sighting"
done
printf 'otpoint.io\nnototpoint.io\nbulsis.net\nbojijac.info.evil\nx.bojijac.info\n' >"$T/p.txt"
out=$(B match --db "$DB" --format plain "$T/p.txt" 2>/dev/null)
is "$(printf '%s\n' "$out" | sed 's/.*"value":"\([^"]*\)".*"indicator":"\([^"]*\)".*/\1>\2/' | tr '\n' ' ')" \
	"otpoint.io>otpoint.io x.bojijac.info>bojijac.info " "plain: only label-boundary matches"

# 5. standard input, CSV with named columns, bad lines, usage errors
grep -m 3 bojijac bind-query.log | B match --db "$DB" - >"$T/out" 2>"$T/err"
is "$(sed 's/.*"line":\([0-9]*\)}$/\1/' "$T/out")" "1" "standard input, line numbers from 1"
grep -m 3 bojijac bind-query.log | B match --db "$DB" - "$T/p.txt" 2>/dev/null >"$T/out"
is "$(sed 's/.*"line":\([0-9]*\),"file":"\([^"]*\)"}$/\1 \2/' "$T/out" | tr '\n' ' ')" "1 - 1 $T/p.txt 5 $T/p.txt " \
	"standard input and a file: each sighting names its input"
printf 'when;who;fqdn\n2026-11-29T11:00:00Z;10.0.0.1;WWW.Bojijac.Info\nsoon;10.0.0.2;bojijac.info\n;;\n1795952487;10.0.0.3;117.26.1.1\n' >"$T/c.csv"
B match --db "$DB" --format csv --column time=when --column client=who \
	--column value=fqdn "$T/c.csv" >"$T/out" 2>"$T/err"
is $? 3 "a file with bad lines exits 3"
contains "$(cat "$T/err")" "$T/c.csv:3: bad time" "bad line reported as FILE:LINE: reason"
is "$(sed 's/.*"time":\([0-9]*\),"observer":"\([^"]*\)".*"indicator":"\([^"]*\)".*"line":\([0-9]*\).*/\1 \2 \3 \4/' "$T/out" | tr '\n' ' ')" \
	"1795950000 10.0.0.1 bojijac.info 2 1795952487 10.0.0.3 117.26.0.0/16 5 " "CSV: named columns, the rest matched"
printf 'hello there\n' >"$T/prose.txt"
B match --db "$DB" "$T/prose.txt" bind-query.log >"$T/out" 2>"$T/err"
is $? 1 "an input of no known format exits 1"
contains "$(cat "$T/err")" "cannot tell the log format" "and says so"
is "$(wc -l <"$T/out")" 5 "the other input is still matched"
B match --db "$DB" "$T/nope.log" >/dev/null 2>"$T/err"; is $? 1 "missing file exits 1"
B match --db "$DB" --format syslog x 2>/dev/null; is $? 2 "unknown format is a usage error"
B match --db "$DB" --column port=x x 2>/dev/null; is $? 2 "unknown column role is a usage error"
B match --db "$DB" 2>/dev/null; is $? 2 "no input is a usage error"
B match --db "$T/none.db" bind-query.log 2>/dev/null; is $? 1 "no store exits 1"

# 6. --record: per indicator, observer and hour
q() { sqlite3 "$DB" "$1"; }
if command -v sqlite3 >/dev/null; then
	B match --db "$DB" --record bind-query.log unbound.log >/dev/null 2>"$T/err"
	is $? 0 "match --record exits 0"
	contains "$(cat "$T/err")" "recorded 10 sightings" "10 sightings recorded"
	is "$(q "SELECT i.value, s.observer, s.hour, s.count, s.first_seen, s.last_seen
		FROM sighting s JOIN indicator i ON i.id = s.indicator_id ORDER BY 1, 2" | tr '\n' ' ')" \
		"bojijac.info|127.0.0.10|1795950000|2|1795952487|1795952487 cdn.postaf.vip|127.0.0.12|1795950000|2|1795952488|1795952488 innocreed.com|127.0.0.10|1795950000|2|1795952487|1795952488 postaf.vip|127.0.0.12|1795950000|2|1795952488|1795952488 vopyravijo.org|127.0.0.13|1795950000|2|1795952488|1795952488 " \
		"one row per indicator, observer and hour, counts and times"
	B match --db "$DB" --record bind-query.log squid-access.log >/dev/null 2>&1
	is "$(q "SELECT count(*), sum(count) FROM sighting")" "9|19" "recording again adds counts and rows"
	is "$(q "SELECT s.count FROM sighting s JOIN indicator i ON i.id = s.indicator_id
		WHERE i.value = 'bojijac.info' AND s.observer = '127.0.0.10'")" 3 "count grows"
	before=$(date +%s)
	printf 'x.bojijac.info\n' | B match --db "$DB" --record --format plain - >/dev/null 2>&1
	after=$(date +%s)
	row=$(q "SELECT s.hour, s.first_seen FROM sighting s WHERE s.observer = ''")
	hour=${row%%|*}
	t=${row##*|}
	ok $([ "$t" -ge "$before" ] && [ "$t" -le "$after" ] && [ "$hour" -eq $((t - t % 3600)) ]; echo $?) \
		"a line without a time is recorded at the time of the run"
else
	for i in 1 2 3 4 5 6; do echo "ok $((_n + i)) # SKIP sqlite3 not installed"; done
	_n=$((_n + 6))
fi

# The input's name is escaped once per input for the "file" field, and the
# next input gets its own: a quote, a backslash and a tab in one name; two
# inputs with sightings in one run, each line complete.
W="$T/we\"ird\\na	me.log"
printf '117.26.110.9\nnothing.example\n' >"$W"
printf 'www.bojijac.info\n' >"$T/second.log"
B match --db "$DB" --format plain "$W" "$T/second.log" >"$T/out5" 2>/dev/null
is "$(sed -n 1p "$T/out5" | sed 's/.*"file"://')" \
	"\"$T/we\\\"ird\\\\na\\u0009me.log\"}" "a file name with a quote, a backslash and a tab, escaped"
is "$(sed -n 2p "$T/out5" | sed 's/.*"line":1,"file"://')" "\"$T/second.log\"}" \
	"the next input's own name"
is "$(wc -l <"$T/out5")" 2 "two sightings (a prefix, a name)"

# The index snapshot beside the store: written by the runs above, used by the
# next, with the same output as a run that builds the index; rebuilt when the
# store changes or the file is damaged.
ok $([ -s "$DB.index" ]; echo $?) "the runs wrote the index snapshot $DB.index"
B match --db "$DB" bind-query.log unbound.log >"$T/snap1" 2>/dev/null
B match --db "$DB" --no-snapshot bind-query.log unbound.log >"$T/snap2" 2>/dev/null
ok $(cmp -s "$T/snap1" "$T/snap2"; echo $?) "output with the snapshot = output building the index"
is "$(wc -l <"$T/snap1")" 10 "and it is the ten sightings of section 1"
printf 'SOC.innocreed.COM
' >"$T/new.txt"
B ingest --db "$DB" --source list-c --no-snapshot "$T/new.txt" >/dev/null
sum1=$(cksum <"$DB.index")
out=$(printf 'x.soc.innocreed.com
' | B match --db "$DB" --format plain - 2>/dev/null)
contains "$out" '"indicator":"soc.innocreed.com"' "an indicator added to the store is matched at once"
ok $([ "$(cksum <"$DB.index")" != "$sum1" ]; echo $?) "and the stale snapshot was rewritten"
B match --db "$DB" --no-snapshot bind-query.log unbound.log >"$T/snap4" 2>/dev/null
head -c 1000 "$DB.index" >"$T/cut" && cp "$T/cut" "$DB.index"
B match --db "$DB" bind-query.log unbound.log >"$T/snap3" 2>"$T/err"
ok $(cmp -s "$T/snap4" "$T/snap3"; echo $?) "a truncated snapshot is not used: the same output"
is "$(wc -l <"$T/snap3")" 12 "with the two sightings of the new indicator"
ok $([ "$(stat -c %s "$DB.index")" -gt 1000 ]; echo $?) "and the snapshot is written anew"
B match --db "$DB" --snapshot "$T/elsewhere.index" --format plain "$T/new.txt" >/dev/null 2>"$T/err"
ok $([ -s "$T/elsewhere.index" ]; echo $?) "--snapshot FILE puts it elsewhere"
contains "$(cat "$T/err")" "index: snapshot $T/elsewhere.index written" "and says so, once written"
# (beside a file, not in a directory: the tests may run as root)
B match --db "$DB" --snapshot "$T/new.txt/x.index" --format plain "$T/new.txt" >"$T/out6" 2>"$T/err"
is $? 0 "a snapshot that cannot be written does not fail the run"
contains "$(cat "$T/err")" "warning: index snapshot not written" "it is a warning"
is "$(wc -l <"$T/out6")" 2 "and the sightings are out"
B match --db "$DB" --snapshot x --no-snapshot a 2>/dev/null; is $? 2 "--snapshot with --no-snapshot is a usage error"

# ingest keeps a snapshot that is there current, so the next match loads it
# instead of building the index; it creates none, and --no-snapshot leaves
# it alone.
printf 'soc2.innocreed.com\n' >"$T/new2.txt"
sum2=$(cksum <"$DB.index")
B ingest --db "$DB" --source list-d "$T/new2.txt" >/dev/null 2>"$T/ierr"
is $? 0 "ingest with a snapshot beside the store"
contains "$(cat "$T/ierr")" "index: snapshot $DB.index rewritten in " "ingest says it rewrote the stale snapshot"
ok $([ "$(cksum <"$DB.index")" != "$sum2" ]; echo $?) "and it did"
out=$(printf 'a.soc2.innocreed.com\n' | B match --db "$DB" --format plain - 2>"$T/merr")
contains "$out" '"indicator":"soc2.innocreed.com"' "the next match finds the new indicator"
contains "$(cat "$T/merr")" "snapshot $DB.index loaded" "from the snapshot ingest wrote"
B match --db "$DB" --no-snapshot bind-query.log unbound.log >"$T/snap5" 2>/dev/null
B match --db "$DB" bind-query.log unbound.log >"$T/snap6" 2>/dev/null
ok $(cmp -s "$T/snap5" "$T/snap6"; echo $?) "the refreshed snapshot gives the output of a fresh build"
printf 'soc3.innocreed.com\n' >"$T/new3.txt"
sum3=$(cksum <"$DB.index")
B ingest --db "$DB" --source list-d --no-snapshot "$T/new3.txt" >/dev/null 2>"$T/ierr"
is "$(cat "$T/ierr")" "" "ingest --no-snapshot says nothing of the snapshot"
is "$(cksum <"$DB.index")" "$sum3" "and leaves it as it was"
head -c 100 "$DB.index" >"$T/cut" && cp "$T/cut" "$DB.index"
printf 'soc4.innocreed.com\n' >"$T/new4.txt"
B ingest --db "$DB" --source list-d "$T/new4.txt" >/dev/null 2>"$T/ierr"
is $? 0 "ingest with a damaged snapshot beside the store"
contains "$(cat "$T/ierr")" "index: snapshot $DB.index rewritten in " "rewrites it"
B match --db "$DB" --format plain "$T/new4.txt" >/dev/null 2>"$T/merr"
contains "$(cat "$T/merr")" "snapshot $DB.index loaded" "and the next match loads it"
B ingest --db "$T/nosnap.db" --source list-d "$T/new3.txt" >/dev/null 2>"$T/ierr"
ok $([ ! -e "$T/nosnap.db.index" ]; echo $?) "ingest into a store without a snapshot creates none"
is "$(cat "$T/ierr")" "" "and says nothing of one"
B match --db "$DB" --threads 0 a 2>/dev/null; is $? 2 "--threads 0 is a usage error"

# A snapshot outlives the indicators in it that lapse: after the only
# record of one expires, match loads the file and skips it instead of
# building the index again (feeds with valid_until expire records all the
# time); the output is a fresh build's.
L="$T/lapse.db"
soon=$(( $(date +%s) + 3 ))
printf 'value,valid_until\nbrief.innocreed.com,%s\nstays.innocreed.com,\n' \
	"$(date -u -d "@$soon" +%Y-%m-%dT%H:%M:%SZ)" >"$T/lapse.csv"
B ingest --db "$L" --source feed-x --format csv "$T/lapse.csv" >/dev/null 2>&1
printf 'a.brief.innocreed.com\nb.stays.innocreed.com\n' >"$T/lapse.log"
B match --db "$L" --format plain "$T/lapse.log" >"$T/lapse1" 2>/dev/null
is "$(grep -c '"indicator":"brief.innocreed.com"' "$T/lapse1")" 1 "an indicator before its record expires"
while [ "$(date +%s)" -le "$soon" ]; do sleep 0.2; done
B match --db "$L" --format plain "$T/lapse.log" >"$T/lapse2" 2>"$T/lerr"
contains "$(cat "$T/lerr")" "snapshot $L.index loaded" "after it lapsed the snapshot is still loaded"
contains "$(cat "$T/lerr")" "(1 lapsed since)" "and says how many of its indicators lapsed"
is "$(grep -c brief "$T/lapse2")" 0 "the lapsed indicator is not reported"
B match --db "$L" --no-snapshot --format plain "$T/lapse.log" >"$T/lapse3" 2>/dev/null
ok $(cmp -s "$T/lapse2" "$T/lapse3"; echo $?) "the output of a fresh build"
is "$(wc -l <"$T/lapse3")" 1 "which is the other indicator's sighting"

# A live input (tail -f log | bulwark match -): a sighting comes out as soon
# as its line is in, not after a batch of lines.
mkfifo "$T/fifo"
B match --db "$DB" --format plain - <"$T/fifo" >"$T/live" 2>/dev/null &
pid=$!
exec 7>"$T/fifo"
printf 'nothing.example\nwww.bojijac.info\n' >&7
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -s "$T/live" ] && break
	sleep 0.1
done
contains "$(cat "$T/live")" '"value":"www.bojijac.info"' "a live input's sighting is out within a second"
exec 7>&-
wait "$pid"
is $? 0 "and the matcher ends with its input"
done_testing
