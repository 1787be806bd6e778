#!/bin/bash
# match_diff.sh - differential test of bulwark match against the reference
# matcher in match_ref.py: randomised indicator sets (domains and their
# subdomains in mixed case with trailing dots, IPv4/IPv6 addresses, CIDRs of
# every length, URLs) and BIND, Unbound, Squid and plain logs querying them
# and lookalikes must give identical sightings, in the same order.
# BW_DIFF_SEEDS="1 2 3" picks the rounds.
. "$(dirname "$0")/lib.sh"

REF=$(dirname "$0")/match_ref.py
if ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi
for seed in ${BW_DIFF_SEEDS:-1 2 3}; do
	D=$T/r$seed
	mkdir -p "$D"
	python3 "$REF" gen "$seed" "$D"
	"$BULWARK" ingest --db "$D/db" --format plain "$D/indicators.txt" >/dev/null 2>"$D/ingest.err"
	"$BULWARK" export --db "$D/db" --format csv >"$D/indicators.csv"
	n=$(($(wc -l <"$D/indicators.csv") - 1))
	ok $([ "$n" -gt 700 ]; echo $?) "seed $seed: $n indicators stored"
	(cd "$D" && "$BULWARK" match --db "$D/db" bind.log unbound.log squid.log plain.log \
		>"$D/got.json" 2>"$D/match.err")
	is $? 0 "seed $seed: match exits 0"
	python3 "$REF" conv <"$D/got.json" >"$D/got"
	python3 "$REF" ref "$D" >"$D/want"
	for f in bind.log unbound.log squid.log plain.log; do
		k=$(grep -c "^$f	" "$D/want")
		ok $([ "$k" -gt 100 ]; echo $?) "seed $seed: $f has $k sightings to find"
	done
	diff -u "$D/want" "$D/got" >"$D/diff"
	ok $? "seed $seed: identical sightings ($(wc -l <"$D/want") of them)"
	if [ -s "$D/diff" ]; then
		head -20 "$D/diff" | sed 's/^/#   /'
	fi
done
done_testing
