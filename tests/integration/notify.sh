#!/bin/bash
# notify.sh - notifications and incidents end to end, with real peers on
# loopback: an SMTP server (aiosmtpd) and a webhook receiver that checks
# the HMAC signature.  `bulwark match --record` run while `bulwark serve`
# is up opens incidents within a second or two; level 1 gets mail, the
# webhook gets a signed message; without acknowledgement level 2 is
# mailed after the tenant's deadline; acknowledgement by the API (the
# tenant's key, another tenant's key refused) and by the signed link in
# the mail (GET shows a page, POST acknowledges, a wrong token is 401);
# the CLI: contact, tenant notify, incident list/show/ack/close, outbox
# list/show/replay.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
$PY -c 'import aiosmtpd' 2>/dev/null || { echo "1..0 # SKIP no python3-aiosmtpd"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
DB=$T/n.db
B() { "$BULWARK" "$@"; }
HTTP=18810 SMTP=18811 HOOK=18812
SECRET=it-is-a-webhook-secret-0123456789


# the store: EE with a network, three contacts on two levels, a webhook
printf 'evil.ee\nphish.ee\nc2.example\n' >"$T/hi.txt"
printf 'weak.ee\n' >"$T/lo.txt"
B ingest --db "$DB" --source feed --tlp GREEN --confidence 90 --tag malware:Emotet "$T/hi.txt" >/dev/null
B ingest --db "$DB" --source feed --tlp GREEN --confidence 40 "$T/lo.txt" >/dev/null
B tenant add --db "$DB" --country EE --name "CERT-EE" >/dev/null
B tenant add --db "$DB" --country DE --name "CERT-Bund" >/dev/null
B tenant scope --db "$DB" EE --add cidr:192.0.2.0/24 >/dev/null
KEE=$(B tenant key add --db "$DB" EE 2>/dev/null)
KDE=$(B tenant key add --db "$DB" DE 2>/dev/null)

out=$(B contact add --db "$DB" --tenant EE --role "national CERT duty officer" --name Alice \
	--email alice@cert.example --phone "+372 600 0001" --level 1)
is $? 0 "contact add"
contains "$out" "added contact 1 to EE at level 1" "contact add says which"
B contact add --db "$DB" --tenant ee --role "duty officer" --name Bob --email bob@cert.example --level 1 >/dev/null
B contact add --db "$DB" --tenant EE --role "head of CERT" --name Carol --email carol@cert.example --level 2 >/dev/null
B contact add --db "$DB" --tenant EE --role x --name Dan --email dan@cert.example --level 3 >/dev/null
B contact add --db "$DB" --tenant EE --role x --name Eve --email "not an address" --level 1 2>/dev/null
is $? 1 "a bad address is refused"
B contact add --db "$DB" --tenant EE --role x --name Eve --email e@x.example --level 10 2>/dev/null
is $? 2 "level 10 is a usage error"
is "$(B contact remove --db "$DB" 4)" "removed contact 4" "contact remove"
B contact remove --db "$DB" 4 2>/dev/null
is $? 1 "removing it again fails"
list=$(B contact list --db "$DB" --tenant EE --json)
is "$(printf '%s' "$list" | jq -r '[.[] | .name] | join(",")')" "Alice,Bob,Carol" "contact list by level"
is "$(printf '%s' "$list" | jq -r '.[0].phone')" "+372 600 0001" "the phone number"
is "$(B contact list --db "$DB" --all --json | jq length)" 4 "--all lists the removed one too"

B tenant notify EE --db "$DB" --webhook "http://127.0.0.1:$HOOK/hook" 2>/dev/null
is $? 1 "a webhook without a secret is refused"
B tenant notify EE --db "$DB" --webhook "ftp://x.example/" --secret "$SECRET" 2>/dev/null
is $? 2 "an ftp webhook is a usage error"
out=$(B tenant notify EE --db "$DB" --webhook "http://127.0.0.1:$HOOK/hook" --secret "$SECRET" --ack-deadline 3s)
is $? 0 "tenant notify"
contains "$out" "http://127.0.0.1:$HOOK/hook (signed)" "tenant notify shows the target"
case "$out" in *"$SECRET"*) ok 1 "the secret is never printed" ;; *) ok 0 "the secret is never printed" ;; esac
is "$(B tenant notify EE --db "$DB" --json | jq -c '[.ack_deadline_seconds, .min_confidence, .digest_seconds]')" \
	"[3,80,0]" "deadline, confidence threshold, no digest"

# the peers
$PY "$HERE/smtp_receiver.py" $SMTP "$T/mail" 2>"$T/smtp.err" &
pids="$pids $!"
$PY "$HERE/webhook_receiver.py" $HOOK "$SECRET" "$T/hook.log" 2>"$T/hook.err" &
pids="$pids $!"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HOOK/" || true
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP" || true

# the risk model's score enters incident priority
BULWARK_MODEL=$BW_SRCDIR/models/domain.model \
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
	--public-url "http://127.0.0.1:$HTTP/" --mail-from bulwark@cert.example \
	--log-requests=no 2>"$T/serve.log" &
SPID=$!
pids="$pids $SPID"
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz"
ok $? "serve is up"
wait_for 10 grep -q event=model_loaded "$T/serve.log"
ok $? "the daemon loads the risk model for priorities"

# sightings recorded by another process while the daemon runs
cat >"$T/q.log" <<LOG
29-Nov-2026 11:41:27.967 client @0x7f8bc7a32098 10.9.9.9#44379 (evil.ee): query: evil.ee IN A +E(0)K (127.0.0.1)
29-Nov-2026 11:41:28.001 client @0x7f8bc7a32098 192.0.2.7#44380 (c2.example): query: c2.example IN A +E(0)K (127.0.0.1)
29-Nov-2026 11:41:28.101 client @0x7f8bc7a32098 198.51.100.9#44381 (c2.example): query: c2.example IN A +E(0)K (127.0.0.1)
29-Nov-2026 11:41:28.201 client @0x7f8bc7a32098 10.9.9.9#44382 (weak.ee): query: weak.ee IN A +E(0)K (127.0.0.1)
LOG
t0=$(date +%s.%N)
B match --db "$DB" --record "$T/q.log" >/dev/null 2>&1
wait_for 10 lines "$T/hook.log" 2
ok $? "the webhook receives the new incidents"
t1=$(date +%s.%N)
echo "# sighting to webhook: $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
is "$(B incident list --db "$DB" --json | jq -r '[.[] | .value] | sort | join(",")')" "c2.example,evil.ee" \
	"incidents for evil.ee (ccTLD) and c2.example (sighted from EE's network), not weak.ee"
is "$(grep -c $'\tok\topened\t200' "$T/hook.log")" 2 "two signed 'opened' messages, signatures valid"
wait_for 10 lines "$T/mail/log" 4
ok $? "level 1 gets mail"
is "$(cut -f2 "$T/mail/log" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
	"alice@cert.example=2 bob@cert.example=2 " "Alice and Bob, one mail per incident each"
mail=$(cat "$T/mail/1.eml")
contains "$mail" "Subject: [bulwark] EE incident" "the subject names the tenant and the incident"
contains "$mail" "From: <bulwark@cert.example>" "the configured sender"
contains "$mail" "Message-ID: <incident-" "the idempotency key is the Message-ID"
contains "$mail" "Idempotency-Key: incident-" "and a header of its own"
contains "$mail" "/ack?token=" "a signed acknowledgement link"

IEVIL=$(B incident list --db "$DB" --json | jq -r '.[] | select(.value == "evil.ee") | .id')
IC2=$(B incident list --db "$DB" --json | jq -r '.[] | select(.value == "c2.example") | .id')
LINK=$(grep -h -o "http://127.0.0.1:$HTTP/v1/incidents/$IC2/ack?token=[0-9a-f]*" "$T"/mail/*.eml | head -1)
contains "$LINK" "/v1/incidents/$IC2/ack?token=" "the mail of c2.example has its link"

# acknowledgement by the API
U=http://127.0.0.1:$HTTP/v1/incidents
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/$IEVIL/ack")" 401 "no key: 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KDE" "$U/$IEVIL/ack")" 404 \
	"another tenant's key: 404"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KEE" "$U/$IEVIL/nack")" 404 \
	"an unknown action: 404"
is "$(curl -s -X POST -H "Authorization: Bearer $KEE" "$U/$IEVIL/ack")" "{\"id\":$IEVIL,\"state\":\"acknowledged\"}" \
	"the tenant's key acknowledges"
is "$(B incident show --db "$DB" --json "$IEVIL" | jq -r '.state + " " + .acknowledged_by')" \
	"acknowledged api:EE:key 1" "incident show: acknowledged, by whom"

# acknowledgement by the link: GET only shows a page
is "$(curl -s -o /dev/null -w '%{http_code}' "${LINK%?token=*}?token=0000")" 401 "a wrong token: 401"
page=$(curl -s "$LINK")
contains "$page" '<form method="post"' "GET shows a page with a button"
is "$(B incident show --db "$DB" --json "$IC2" | jq -r .state)" open "GET changed nothing"

# no acknowledgement for c2.example: level 2 after the 3 s deadline
wait_for 10 grep -q carol@cert.example "$T/mail/log"
ok $? "level 2 is mailed after the deadline"
is "$(grep -c carol@cert.example "$T/mail/log")" 1 "only for the unacknowledged incident"
wait_for 5 grep -q $'\tescalated\t' "$T/hook.log"
ok $? "the webhook hears of the escalation"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$LINK")" 200 "the link's POST acknowledges"
is "$(B incident show --db "$DB" --json "$IC2" | jq -r '.state + " " + .acknowledged_by')" "acknowledged link" \
	"acknowledged by the link"
is "$(B incident show --db "$DB" --json "$IC2" | jq -r '[.timeline[].kind] | join(",")')" \
	"opened,notified,notified,escalated,acknowledged" "the timeline"

# the CLI
B incident close --db "$DB" "$IEVIL" 2>/dev/null
is $? 2 "close needs --operator"
is "$(B incident close --db "$DB" "$IEVIL" --operator ops-1)" "incident $IEVIL closed by ops-1" "incident close"
is "$(B incident list --db "$DB" --state closed --json | jq length)" 1 "list --state closed"
B incident ack --db "$DB" "$IEVIL" --operator ops-1 2>/dev/null
is $? 1 "a closed incident cannot be acknowledged"
contains "$(B incident show --db "$DB" "$IEVIL")" "closed     " "incident show (text)"

# the outbox: everything delivered, once each
wait_for 10 bash -c "[ \"\$('$BULWARK' outbox list --db '$DB' --state pending --json | jq length)\" = 0 ]"
ok $? "the outbox drains"
is "$(B outbox list --db "$DB" --state dead --json | jq length)" 0 "nothing dead"
n_out=$(B outbox list --db "$DB" --json | jq length)
is "$(cut -f1 "$T/hook.log" | sort -u | wc -l)$(grep -c . "$T/mail/log")" \
	"$(B outbox list --db "$DB" --json | jq '[.[] | select(.channel == "webhook")] | length')$(B outbox list --db "$DB" --json | jq '[.[] | select(.channel == "smtp")] | length')" \
	"every outbox row ($n_out) reached its receiver"
first=$(B outbox list --db "$DB" --json | jq -r '.[-1].id')
contains "$(B outbox show --db "$DB" "$first")" "state         delivered" "outbox show"
B outbox replay --db "$DB" "$first" 2>/dev/null
is $? 1 "a delivered row is not replayed"
B outbox bogus --db "$DB" 2>/dev/null
is $? 2 "an unknown outbox command is a usage error"

kill -TERM $SPID
wait $SPID
is $? 0 "serve exits cleanly"

# dead letters: a receiver that is down; attempts 1 makes the first failure final
B tenant notify DE --db "$DB" --webhook "http://127.0.0.1:18813/none" --secret "$SECRET" >/dev/null
B contact add --db "$DB" --tenant DE --role x --name Y --email y@de.example --level 1 >/dev/null
B tenant scope --db "$DB" DE --add domain:c2.example >/dev/null
printf '29-Nov-2026 11:50:00.000 client @0x1 10.1.1.1#1 (c2.example): query: c2.example IN A +E(0)K (127.0.0.1)\n' >"$T/q2.log"
B match --db "$DB" --record "$T/q2.log" >/dev/null 2>&1
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
	--delivery-attempts 1 --log-requests=no 2>"$T/serve2.log" &
SPID=$!
pids="$pids $SPID"
wait_for 10 bash -c "[ \"\$('$BULWARK' outbox list --db '$DB' --state dead --json | jq length)\" -ge 1 ]"
ok $? "a message to a receiver that is down goes dead"
dead=$(B outbox list --db "$DB" --state dead --json | jq -r '.[0].id')
contains "$(B outbox list --db "$DB" --state dead)" "last error: webhook:" "the error is kept"
$PY "$HERE/webhook_receiver.py" 18813 "$SECRET" "$T/hook2.log" 2>/dev/null &
pids="$pids $!"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:18813/" || true
is "$(B outbox replay --db "$DB" "$dead")" "1 message pending again" "outbox replay"
wait_for 10 lines "$T/hook2.log" 1
ok $? "the replayed message arrives"
contains "$(cat "$T/hook2.log")" $'\tok\topened\t200' "signed and accepted"
contains "$(cat "$T/serve2.log")" "event=delivery_failed" "the failure is logged"
kill -TERM $SPID
wait $SPID

# HTTPS webhooks: a receiver with a private CA is refused until the
# operator names that CA (delivery_ca_file); certificates are verified
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/hook.key" -out "$T/hook.crt" 2>/dev/null
$PY "$HERE/webhook_receiver.py" 18814 "$SECRET" "$T/hook3.log" --tls "$T/hook.crt" "$T/hook.key" \
	2>"$T/hook3.err" &
pids="$pids $!"
wait_for 10 curl -s -o /dev/null --cacert "$T/hook.crt" "https://127.0.0.1:18814/" || true
B tenant notify DE --db "$DB" --webhook "https://127.0.0.1:18814/hook" --secret "$SECRET" >/dev/null
printf 'tls-test.example\n' >"$T/tls.txt"
B ingest --db "$DB" --source feed --tlp GREEN --confidence 90 "$T/tls.txt" >/dev/null
B tenant scope --db "$DB" DE --add domain:tls-test.example >/dev/null
printf '29-Nov-2026 11:55:00.000 client @0x1 10.1.1.1#1 (tls-test.example): query: tls-test.example IN A +E(0)K (127.0.0.1)\n' >"$T/q3.log"
B match --db "$DB" --record "$T/q3.log" >/dev/null 2>&1
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
	--delivery-attempts 1 --log-requests=no 2>"$T/serve3.log" &
SPID=$!
pids="$pids $SPID"
wait_for 10 grep -q "event=delivery_failed.*https://127.0.0.1:18814\|event=delivery_failed.*certificate\|event=delivery_failed.*SSL" "$T/serve3.log"
ok $? "an HTTPS receiver whose certificate the system does not trust is refused"
kill -TERM $SPID
wait $SPID
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
	--delivery-ca-file "$T/hook.crt" --log-requests=no 2>"$T/serve4.log" &
SPID=$!
pids="$pids $SPID"
B outbox replay --db "$DB" --all-dead >/dev/null
wait_for 15 grep -q $'\tok\topened\t200' "$T/hook3.log"
ok $? "with delivery_ca_file the HTTPS webhook is delivered, signed"
kill -TERM $SPID
wait $SPID
done_testing
