#!/bin/bash
# notify_crash.sh - nothing in the outbox is lost when the daemon dies:
# 120 incidents (each a signed webhook message and a mail) are delivered
# to a real webhook receiver (which answers slowly, so that kills land in
# the middle of deliveries) and a real SMTP server, while `bulwark serve`
# is killed with SIGKILL again and again and restarted.  Afterwards every
# outbox row reached its receiver at least once, and exactly once after
# dropping repeated idempotency keys; every row is delivered and none is
# dead.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
$PY -c 'import aiosmtpd' 2>/dev/null || { echo "1..0 # SKIP no python3-aiosmtpd"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
DB=$T/c.db
B() { "$BULWARK" "$@"; }
HTTP=18820 SMTP=18821 HOOK=18822
SECRET=crash-test-webhook-secret-0123456789
N=120
KILLS=${BW_CRASH_KILLS:-10}

pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
pending() { sqlite3 "$DB" "SELECT count(*) FROM outbox WHERE state = 'pending'"; }

for i in $(seq 1 $N); do echo "host$i.ee"; done >"$T/hi.txt"
B ingest --db "$DB" --source feed --tlp GREEN --confidence 95 "$T/hi.txt" >/dev/null
B tenant add --db "$DB" --country EE --name "CERT-EE" >/dev/null
B tenant notify EE --db "$DB" --webhook "http://127.0.0.1:$HOOK/hook" --secret "$SECRET" >/dev/null
B contact add --db "$DB" --tenant EE --role duty --name Alice --email alice@cert.example --level 1 >/dev/null
for i in $(seq 1 $N); do
	echo "29-Nov-2026 11:41:27.967 client @0x1 10.9.9.9#4437 (host$i.ee): query: host$i.ee IN A +E(0)K (127.0.0.1)"
done >"$T/q.log"
B match --db "$DB" --record "$T/q.log" >/dev/null 2>&1
is "$(sqlite3 "$DB" 'SELECT count(*) FROM sighting_queue')" $N "$N sightings queued"

$PY "$HERE/smtp_receiver.py" $SMTP "$T/mail" 2>"$T/smtp.err" &
pids="$pids $!"
$PY "$HERE/webhook_receiver.py" $HOOK "$SECRET" "$T/hook.log" --delay 0.03 2>"$T/hook.err" &
pids="$pids $!"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HOOK/"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP"

serve() {
	"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
		--log-requests=no 2>>"$T/serve.log" &
	SPID=$!
}
killed=0
for k in $(seq 1 "$KILLS"); do
	serve
	# between 0.3 and 0.9 s: the first kills land in the incident step
	# or the first deliveries, later ones mid-way through the rest
	sleep "0.$(( (RANDOM % 7) + 3 ))"
	kill -9 $SPID 2>/dev/null && killed=$((killed + 1))
	wait $SPID 2>/dev/null
	[ "$(pending)" = 0 ] && [ "$(sqlite3 "$DB" 'SELECT count(*) FROM sighting_queue')" = 0 ] && break
done
echo "# killed $killed times; pending after the kills: $(pending)"
ok $([ "$killed" -ge 3 ]; echo $?) "the daemon was killed during delivery ($killed times)"
serve
wait_for 60 bash -c "[ \"\$(sqlite3 '$DB' \"SELECT count(*) FROM outbox WHERE state != 'delivered'\")\" = 0 ] && [ \"\$(sqlite3 '$DB' 'SELECT count(*) FROM outbox')\" -ge $((2 * N)) ]"
ok $? "after a last start everything is delivered"
kill -TERM $SPID
wait $SPID

is "$(sqlite3 "$DB" 'SELECT count(*) FROM incident')" $N "$N incidents, one per indicator, whatever the kills"
is "$(sqlite3 "$DB" "SELECT count(*) FROM outbox WHERE channel = 'webhook'")" $N "$N webhook messages"
is "$(sqlite3 "$DB" "SELECT count(*) FROM outbox WHERE channel = 'smtp'")" $N "$N mails"
is "$(sqlite3 "$DB" "SELECT count(*) FROM outbox WHERE state = 'dead'")" 0 "none dead"

sqlite3 "$DB" "SELECT idem_key FROM outbox WHERE channel = 'webhook'" | sort >"$T/want.hook"
sqlite3 "$DB" "SELECT '<' || idem_key || '@bulwark>' FROM outbox WHERE channel = 'smtp'" | sort >"$T/want.mail"
awk -F'\t' '$2 == "ok" && $4 == 200 {print $1}' "$T/hook.log" | sort >"$T/got.hook"
cut -f1 "$T/mail/log" | sort >"$T/got.mail"
is "$(comm -23 "$T/want.hook" <(sort -u "$T/got.hook") | wc -l)" 0 "every webhook message arrived at least once"
is "$(comm -23 "$T/want.mail" <(sort -u "$T/got.mail") | wc -l)" 0 "every mail arrived at least once"
is "$(sort -u "$T/got.hook" | wc -l)" $N "exactly $N webhook messages after dropping repeated keys"
is "$(sort -u "$T/got.mail" | wc -l)" $N "exactly $N mails after dropping repeated Message-IDs"
is "$(grep -c -v $'\tok\t' "$T/hook.log")" 0 "every webhook signature was valid"
echo "# webhook deliveries $(wc -l <"$T/got.hook") for $N keys, mails $(wc -l <"$T/got.mail") for $N keys"
done_testing
