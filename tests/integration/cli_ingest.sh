#!/bin/bash
# cli_ingest.sh - bulwark ingest / export / stats as a user runs them: exit
# statuses, summaries, rejects, idempotency, refusal without side effects,
# defaults from options, standard input, and bounded memory on a huge line.
. "$(dirname "$0")/lib.sh"

D=$BW_TEST_DATA/feeds
DB=$T/a.db
B() { "$BULWARK" "$@"; }

# 1. three real feeds, JSON summaries
out=$(B ingest --db "$DB" --json "$D/urlhaus-filter-domains-online.txt" \
	"$D/urlhaus-filter-hosts.txt" "$D/spamhaus-drop.txt" 2>"$T/err")
is $? 0 "clean ingest exits 0"
line1=$(printf '%s\n' "$out" | sed -n 1p)
is "$(json_field "$line1" format)" '"plain"' "domains list detected as plain"
is "$(json_field "$line1" records)" 294 "294 records in the domains list"
is "$(json_field "$line1" added)" 294 "all added"
is "$(json_field "$(printf '%s\n' "$out" | sed -n 2p)" format)" '"hosts"' "hosts file detected"
line3=$(printf '%s\n' "$out" | sed -n 3p)
is "$(json_field "$line3" format)" '"drop"' "DROP detected"
is "$(json_field "$line3" records)" 200 "200 DROP records"
is "$(printf '%s\n' "$out" | wc -l)" 3 "one summary line per file"

# 2. idempotent re-ingest: only last_seen moves
B export --db "$DB" --format csv >"$T/before.csv"
sleep 1.1
out=$(B ingest --db "$DB" --json "$D/urlhaus-filter-domains-online.txt")
is "$(json_field "$out" unchanged)" 294 "re-ingest: all unchanged"
is "$(json_field "$out" added)$(json_field "$out" updated)" 00 "re-ingest: nothing added or updated"
B export --db "$DB" --format csv >"$T/after.csv"
# columns: type,value,source,confidence,tlp,first_seen,last_seen,...
is "$(cut -d, -f1-6,8- "$T/before.csv" | md5sum)" "$(cut -d, -f1-6,8- "$T/after.csv" | md5sum)" \
	"re-ingest changes nothing but last_seen"
moved=$(paste -d'\n' "$T/before.csv" "$T/after.csv" | awk -F, 'NR%2==1 {a=$7; s=$3} NR%2==0 && $7 != a && s ~ /domains-online/ {n++} END {print n+0}')
is "$moved" 294 "last_seen moved for the re-ingested source's records"

# 3. rejects: exit 3, FILE:LINE: reason on stderr and in the rejects file
printf 'good.example\nbad..example\n10.0.0.0/40\n' >"$T/mixed.txt"
B ingest --db "$DB" --rejects "$T/rej.txt" "$T/mixed.txt" >"$T/out" 2>"$T/err"
is $? 3 "a file with rejected lines exits 3"
contains "$(cat "$T/err")" "$T/mixed.txt:2: empty label in domain name" "reject reported as FILE:LINE: reason"
is "$(wc -l <"$T/rej.txt")" 2 "two lines in the rejects file"
contains "$(cat "$T/rej.txt")" "$T/mixed.txt:3: prefix /40 longer than 32 bits	10.0.0.0/40" "rejects file has reason and raw line"

# a CIDR with host bits set is stored as its network, and says so
printf '10.1.2.3/8\n' >"$T/hostbits.txt"
B ingest --db "$DB" --rejects "$T/rej3.txt" "$T/hostbits.txt" >"$T/out" 2>"$T/err"
is $? 0 "a CIDR with host bits set is accepted"
contains "$(cat "$T/err")" "$T/hostbits.txt:1: note: CIDR had host bits set; stored as 10.0.0.0/8" "and the change is reported"
contains "$(cat "$T/rej3.txt")" "hostbits.txt:1: note: CIDR had host bits set" "and listed in the rejects file"
B export --db "$DB" --format plain --type cidr | grep -qx 10.0.0.0/8
ok $? "stored as 10.0.0.0/8"

# 4. a file that is not of its format is refused whole, store unchanged
B export --db "$DB" --format csv --all | cut -d, -f1-6,8- >"$T/s1"
printf 'ok1.example\nok2.example\n\000\001binary' >"$T/bin.txt"
B ingest --db "$DB" --rejects "$T/rej2.txt" --format plain "$T/bin.txt" >"$T/out" 2>"$T/err"
is $? 1 "a refused file exits 1"
contains "$(cat "$T/err")" "refused: binary data" "refusal says why"
B export --db "$DB" --format csv --all | cut -d, -f1-6,8- >"$T/s2"
is "$(md5sum <"$T/s1")" "$(md5sum <"$T/s2")" "store unchanged after a refused file"
is "$(wc -c <"$T/rej2.txt")" 0 "no rejects written for a refused file"
printf '{"type": "bundle", "objects": [' >"$T/trunc.json"
B ingest --db "$DB" --format stix "$T/trunc.json" >"$T/out" 2>"$T/err"
is $? 1 "a truncated STIX bundle is refused"

# 5. a refused file does not stop the others
B ingest --db "$DB" --json "$T/bin.txt" "$D/spamhaus-dropv6.txt" >"$T/out" 2>"$T/err"
is $? 1 "refused + good file exits 1"
contains "$(cat "$T/out")" '"refused":true' "refused file has a summary too"
contains "$(cat "$T/out")" '"records":78' "the good file after it was ingested"

# 6. usage errors exit 2
B ingest --db "$DB" --format nope x 2>/dev/null; is $? 2 "unknown format is a usage error"
B ingest --db "$DB" --tlp PURPLE x 2>/dev/null; is $? 2 "unknown TLP is a usage error"
B ingest --db "$DB" --confidence 101 x 2>/dev/null; is $? 2 "confidence over 100 is a usage error"
B ingest --db "$DB" 2>/dev/null; is $? 2 "no input file is a usage error"
B export --db "$DB" 2>/dev/null; is $? 2 "export without --format is a usage error"
B nonsense 2>/dev/null; is $? 2 "unknown command"
B ingest --db "$DB" "$T/does-not-exist" 2>"$T/err"; is $? 1 "missing file exits 1"
contains "$(cat "$T/err")" "does-not-exist: No such file" "missing file named"

# 7. options fill what the file does not say; standard input
printf 'hxxp://phish[.]example/login\n' | B ingest --db "$DB" --source manual \
	--tlp amber+strict --confidence 70 --tag malware:Emotet --tag phishing \
	--share-with de,FR - >"$T/out"
is $? 0 "ingest from standard input"
row=$(B export --db "$DB" --format csv --type url | grep phish.example)
is "$row" "url,http://phish.example/login,manual,70,AMBER+STRICT,$(printf '%s' "$row" | cut -d, -f6),$(printf '%s' "$row" | cut -d, -f7),,,malware:Emotet|phishing,DE|FR,,false" \
	"defaults, tags and recipients stored"
contains "$(cat "$T/out")" "(stdin): plain, 1 records" "standard input is named (stdin)"

# 8. stats and export filters
st=$(B stats --db "$DB" --json)
[ -n "${BW_DEBUG:-}" ] && echo "$st" >&2
contains "$st" '"cidr": 279' "stats counts CIDRs (200 DROP + 78 DROPv6 + 1)"
contains "$st" '"url": 1' "stats counts URLs"
contains "$st" '"spamhaus": 278' "stats counts records per source"
is "$(B export --db "$DB" --format plain --type cidr | wc -l)" 279 "export --type cidr"
is "$(B export --db "$DB" --format plain --since 1h | wc -l)" \
	"$(B export --db "$DB" --format plain | wc -l)" "export --since 1h has everything"
is "$(B export --db "$DB" --format plain --since 2099-01-01 | wc -l)" 0 "export --since the future has nothing"
B stats --db "$T/none.db" 2>"$T/err"; is $? 1 "stats on a missing store exits 1"

# 9. a line far over the limit: a clear reject, bounded memory
{ echo first.example; head -c 200000000 /dev/zero | tr '\0' a; echo; echo last.example; } >"$T/huge.txt"
/usr/bin/time -f '%M' -o "$T/rss" "$BULWARK" ingest --db "$T/h.db" --format plain "$T/huge.txt" >"$T/out" 2>"$T/err"
is $? 3 "a 200 MB line is rejected, not fatal"
contains "$(cat "$T/err")" "huge.txt:2: line longer than 65536 bytes" "the over-long line is named"
contains "$(cat "$T/out")" "2 records" "the lines around it are kept"
rss=$(tail -1 "$T/rss")
ok $([ "$rss" -lt 100000 ]; echo $?) "peak memory ${rss} KiB stays under 100 MB for a 200 MB line"

# 10. a JSON string far over the limits: the file is refused, memory bounded
{
	printf '{"type": "bundle", "id": "bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8", "objects": ['
	printf '{"type": "indicator", "spec_version": "2.1", "id": "indicator--6ba7b811-9dad-41d1-80b4-00c04fd430c8",'
	printf ' "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",'
	printf ' "pattern": "[domain-name:value = '"'"'big.example'"'"']", "pattern_type": "stix",'
	printf ' "valid_from": "2026-01-01T00:00:00Z", "description": "'
	head -c 100000000 /dev/zero | tr '\0' a
	printf '"}]}'
} >"$T/bigstring.json"
/usr/bin/time -f '%M' -o "$T/rss" "$BULWARK" ingest --db "$T/h.db" "$T/bigstring.json" >"$T/out" 2>"$T/err"
is $? 1 "a bundle with a 100 MB string in an indicator is refused"
contains "$(cat "$T/err")" "larger than 67108864 bytes" "the limit is named"
rss=$(tail -1 "$T/rss")
ok $([ "$rss" -lt 200000 ]; echo $?) "peak memory ${rss} KiB stays bounded for a 100 MB JSON string"
# the same string in a member bulwark skips costs nothing
{
	printf '{"type": "bundle", "x_note": "'
	head -c 100000000 /dev/zero | tr '\0' a
	printf '", "objects": [{"type": "indicator", "spec_version": "2.1",'
	printf ' "id": "indicator--6ba7b812-9dad-41d1-80b4-00c04fd430c8",'
	printf ' "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",'
	printf ' "pattern": "[domain-name:value = '"'"'small.example'"'"']", "pattern_type": "stix",'
	printf ' "valid_from": "2026-01-01T00:00:00Z"}]}'
} >"$T/bigmember.json"
/usr/bin/time -f '%M' -o "$T/rss" "$BULWARK" ingest --db "$T/h.db" "$T/bigmember.json" >"$T/out" 2>"$T/err"
is $? 0 "a 100 MB string in a skipped member is fine"
rss=$(tail -1 "$T/rss")
ok $([ "$rss" -lt 60000 ]; echo $?) "peak memory ${rss} KiB stays small when skipping it"
rm -f "$T"/big*.json "$T/huge.txt"

done_testing
