#!/bin/bash
# disrupt_daemon.sh - bulwark serve runs the disruption policy and the
# clock by itself: intelligence ingested by another process while the
# daemon runs, covered by a valid authorisation and reported by two
# sources, becomes an active action and reaches the served RPZ zone within
# seconds; a guarded name goes to review; the action leaves the zone when
# it expires, without any command; disrupt_auto = no leaves it all alone.
. "$(dirname "$0")/lib.sh"

command -v dig >/dev/null || { echo "1..0 # SKIP no dig"; exit 0; }
DB=$T/d.db
HTTP=18850 DNS=18851
B() { "$BULWARK" "$@"; }
# the RPZ answer for a trigger name, as a secondary would see it
rpz() { dig +short +time=1 +tries=1 @127.0.0.1 -p $DNS "$1.rpz.bulwark." CNAME; }
state_of() { B disrupt list --db "$DB" --json | jq -r --arg t "$1" '[.[] | select(.target == $t) | .state] | join(",")'; }

cat >"$T/bulwark.conf" <<EOF
disrupt_min_confidence = 80
disrupt_min_sources = 2
disrupt_expiry = 8s
disrupt_interval = 1s
disrupt_guard_dir = $BW_TEST_DATA/disrupt/guard
EOF
printf 'court order\n' >"$T/order.txt"
B ingest --db "$DB" --source seed "$T/order.txt" >/dev/null 2>&1 # creates the store
B authz add --db "$DB" --authority "Harju County Court" --reference 2-24/9 --jurisdiction EE \
	--scope tag:lumma --valid-from now --valid-until 2099-01-01 \
	--document "$T/order.txt" --operator alice >/dev/null
ok $? "authz add"

BULWARK_MODEL=$T/no.model "$BULWARK" serve --db "$DB" --config "$T/bulwark.conf" \
	--listen 127.0.0.1:$HTTP --dns 127.0.0.1:$DNS --report-period no --log-requests=no \
	2>"$T/serve.log" &
pids="$pids $!"
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz"
ok $? "serve is up"

# two sources, confidence 90, tagged as the order says; one guarded name
printf 'lumma-c2.example\ngoogle.com\n' >"$T/feed.txt"
B ingest --db "$DB" --source feed-a --confidence 90 --tag malware:Lumma "$T/feed.txt" >/dev/null
B ingest --db "$DB" --source feed-b --confidence 85 --tag malware:Lumma "$T/feed.txt" >/dev/null
t0=$(date +%s%N)
wait_for 15 bash -c "[ \"\$(dig +short +time=1 +tries=1 @127.0.0.1 -p $DNS lumma-c2.example.rpz.bulwark. CNAME)\" = . ]"
ok $? "the covered name reaches the RPZ zone without a command"
echo "# ingest to RPZ: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
is "$(state_of lumma-c2.example)" active "its action is active"
is "$(B disrupt list --db "$DB" --json | jq -r '.[] | select(.target == "lumma-c2.example") | .proposed_by')" \
	policy "made by the policy"
is "$(state_of google.com)" review "a guarded name goes to review"
is "$(rpz google.com)" "" "and stays out of the zone"
contains "$(cat "$T/serve.log")" "event=policy_run" "the daemon logs its policy runs"

# the clock: eight seconds later the action expires and leaves the zone
wait_for 25 bash -c "[ -z \"\$(dig +short +time=1 +tries=1 @127.0.0.1 -p $DNS lumma-c2.example.rpz.bulwark. CNAME)\" ]"
ok $? "the expired action leaves the zone without a command"
is "$(state_of lumma-c2.example)" expired "its state is expired"

# disrupt_auto = no: nothing is actioned by the daemon
kill %1 2>/dev/null
for p in $pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
pids=""
echo "disrupt_auto = no" >>"$T/bulwark.conf"
"$BULWARK" serve --db "$DB" --config "$T/bulwark.conf" --listen 127.0.0.1:$HTTP \
	--dns 127.0.0.1:$DNS --report-period no --log-requests=no 2>>"$T/serve.log" &
pids="$pids $!"
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz"
printf 'lumma-two.example\n' >"$T/feed2.txt"
B ingest --db "$DB" --source feed-a --confidence 90 --tag malware:Lumma "$T/feed2.txt" >/dev/null
B ingest --db "$DB" --source feed-b --confidence 90 --tag malware:Lumma "$T/feed2.txt" >/dev/null
sleep 3
is "$(state_of lumma-two.example)" "" "with disrupt_auto = no the daemon makes no action"

"$BULWARK" serve --db "$DB" --check-config --config <(echo "disrupt_min_sources = 0") >/dev/null 2>"$T/err"
ok $([ $? -ne 0 ]; echo $?) "a bad policy value is refused"
contains "$(cat "$T/err")" "disrupt_min_sources" "naming the key"
"$BULWARK" serve --db "$DB" --check-config --config <(echo "disrupt_nonsense = 1") >/dev/null 2>"$T/err"
ok $([ $? -ne 0 ]; echo $?) "an unknown disrupt_ key is refused"
is "$(grep -c 'event=policy_model model=none' "$T/serve.log")" 1 \
	"without a model file the daemon's policy says so once in the log"

done_testing
