#!/bin/bash
# campaigns.sh - campaigns from real MISP events and the APT1 STIX report:
# the indicators of each MISP event form one campaign and the events stay
# apart; a second source that shares an address with one event joins it;
# the STIX output, merged with the store's STIX export (whose indicator,
# malware and threat-actor ids it refers to), validates against the OASIS
# schemas (tests/integration/stix_schema.js).
. "$(dirname "$0")/lib.sh"

M=$BW_TEST_DATA/misp
DB=$T/store.db
B() { "$BULWARK" "$@"; }

B ingest --db "$DB" "$M/mispevent_testfiles__existing_event.json" \
	"$M/57c4445b-c548-4654-af0b-4be3950d210f.json" \
	"$M/reportlab_testfiles__mainly_objects_1.json" \
	"$BW_TEST_DATA/stix/apt1.json" >"$T/out" 2>"$T/err"
ok $? "ingest three MISP events and the APT1 bundle"

B campaigns --db "$DB" --json >"$T/c.json" 2>"$T/err"
ok $? "campaigns --json"
for ev in 5a3c2fcd-8328-42bb-a95e-4f4402de0b81 57c4445b-c548-4654-af0b-4be3950d210f \
	5c066053-0e94-46eb-9746-4b7d950d210f; do
	is "$(grep -c "\"$ev\"" "$T/c.json")" 1 "event $ev is in exactly one campaign"
	# every indicator of the event (by the CSV export's tags) is in it
	want=$(B export --db "$DB" --format csv --all | grep -c "event:$ev")
	got=$(grep "\"$ev\"" "$T/c.json" | jq '.size')
	ok $((!(got >= want && want >= 2))) "its campaign holds its $want records' indicators ($got)"
done
sednit=$(grep 5a3c2fcd "$T/c.json")
is "$(printf '%s' "$sednit" | jq -c '.actors')" '["Sofacy"]' "the Sednit campaign's actor"
is "$(printf '%s' "$sednit" | jq '.events | length')" 1 "and only its own event"
# APT1: the indicators related to one malware or actor
contains "$(jq -c '.malware' "$T/c.json")" "HUC Packet Transmit Tool (HTRAN)" \
	"an APT1 campaign by its malware"
n1=$(wc -l <"$T/c.json")

# the same run again gives the same ids
B campaigns --db "$DB" --json >"$T/c2.json"
is "$(jq -r .id "$T/c2.json" | sort | md5sum)" "$(jq -r .id "$T/c.json" | sort | md5sum)" \
	"the same store gives the same campaign ids"

# a second source reporting an address of the Sednit event, and an
# address next to it (same /24) seen the same day: both join that campaign
ip=$(printf '%s' "$sednit" | jq -r '[.indicators[] | select(.type == "ipv4")][0].value')
other=${ip%.*}.$(( (${ip##*.} + 1) % 256 ))
printf '%s\n%s\n' "$ip" "$other" >"$T/extra.txt"
B ingest --db "$DB" --source other-feed "$T/extra.txt" >"$T/out" 2>"$T/err"
ok $? "ingest $ip and $other from another source"
B campaigns --db "$DB" --json >"$T/c3.json"
is "$(wc -l <"$T/c3.json")" "$n1" "no new campaign"
is "$(grep 5a3c2fcd "$T/c3.json" | jq --arg o "$other" '[.indicators[] | select(.value == $o)] | length')" 1 \
	"the neighbour address joined the Sednit campaign"
contains "$(grep 5a3c2fcd "$T/c3.json" | jq -c .linked_by)" prefix "linked by the /24"

# text output
out=$(B campaigns --db "$DB")
contains "$out" "actor    Sofacy" "the text output lists actors"

# STIX: campaigns with relationships, valid with the store's export
B campaigns --db "$DB" --stix >"$T/camp.json" 2>"$T/err"
ok $? "campaigns --stix"
is "$(jq '[.objects[] | select(.type == "campaign")] | length' "$T/camp.json")" "$n1" \
	"one STIX campaign per campaign"
B export --db "$DB" --format stix --all >"$T/export.json" 2>"$T/err"
ok $? "export --format stix"
jq -s '.[0] + {objects: (.[0].objects + .[1].objects)}' "$T/export.json" "$T/camp.json" \
	>"$T/merged.json"
missing=$(jq -r '[.objects[].id] as $ids | .objects[] | select(.type == "relationship")
	| .source_ref, .target_ref | select(. as $r | $ids | index($r) | not)' "$T/merged.json" | sort -u | head -5)
is "$missing" "" "every relationship of the campaigns resolves in the export"
if command -v node >/dev/null 2>&1 && [ -d "${BW_SRCDIR:-.}/tests/js/node_modules/ajv" ]; then
	node "$(dirname "$0")/stix_schema.js" "$BW_TEST_DATA/stix2-schemas" "$T/merged.json" \
		$((_n + 1)) >"$T/tap"
	status=$?
	cat "$T/tap"
	nfail=$(grep -c '^not ok ' "$T/tap")
	_n=$((_n + $(grep -c -E '^(not )?ok ' "$T/tap")))
	_failed=$((_failed + nfail))
	echo "# schema checks: $(grep -c '^ok ' "$T/tap") passed, $nfail failed"
	ok $((status != 0 && nfail == 0)) "the schema checker ran to its end"
else
	ok 1 "node and tests/js/node_modules (scripts/install-deps runs npm ci --prefix tests/js)"
fi
done_testing
