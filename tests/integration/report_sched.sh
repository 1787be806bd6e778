#!/bin/bash
# report_sched.sh - bulwark serve makes each tenant's periodic report and
# tells it: the HTML and PDF land in the report directory, the first-level
# contacts get a mail (through a real SMTP server, aiosmtpd) with both
# attached, byte for byte the files, the webhook gets a signed "report"
# item; a restart sends nothing twice; a tenant without contacts still
# gets its files; a bad period is refused.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || { echo "1..0 # SKIP no python3-aiosmtpd"; exit 0; }
command -v pdftoppm >/dev/null || { echo "1..0 # SKIP no pdftoppm"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
DB=$T/r.db
R=$T/reports
B() { "$BULWARK" "$@"; }
HTTP=18840 SMTP=18841 HOOK=18842
SECRET=a-report-webhook-secret-0123456789

printf 'a.bad.ee\nb.bad.ee\n' >"$T/ee.txt"
B ingest --db "$DB" --source feed --confidence 90 --tag malware:Lumma "$T/ee.txt" >/dev/null
B tenant add --db "$DB" --country EE --name Estonia >/dev/null
B tenant add --db "$DB" --country FI --name Finland >/dev/null
B contact add --db "$DB" --tenant EE --role "duty officer" --name Alice --email alice@cert.example --level 1 >/dev/null
B contact add --db "$DB" --tenant EE --role "head of CERT" --name Carol --email carol@cert.example --level 2 >/dev/null
B tenant notify EE --db "$DB" --webhook "http://127.0.0.1:$HOOK/hook" --secret "$SECRET" >/dev/null

B serve --db "$DB" --report-period 5m --check-config >/dev/null 2>"$T/err"
ok $([ $? -ne 0 ]; echo $?) "a period under an hour is refused"
contains "$(cat "$T/err")" "report-period" "the message names the option"

$PY "$HERE/smtp_receiver.py" $SMTP "$T/mail" 2>"$T/smtp.err" &
pids="$pids $!"
$PY "$HERE/webhook_receiver.py" $HOOK "$SECRET" "$T/hook.log" 2>"$T/hook.err" &
pids="$pids $!"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HOOK/" || true
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP" || true

start_serve() {
	"$BULWARK" serve --db "$DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
		--report-period 1h --report-dir "$R" --log-requests=no 2>>"$T/serve.log" &
	SPID=$!
	pids="$pids $SPID"
	wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz"
}
start_serve
ok $? "serve is up"

# The last whole hour has ended: both reports are made at once.
wait_for 20 lines "$T/mail/log" 1
ok $? "a mail arrives"
wait_for 10 lines "$T/hook.log" 1
ok $? "the webhook is told"
END=$(( $(date +%s) / 3600 * 3600 ))
STEM=$(date -ud "@$END" +%Y%m%dT%H%M%SZ)
for f in EE-$STEM.html EE-$STEM.pdf FI-$STEM.html FI-$STEM.pdf; do
	ok $([ -s "$R/$f" ]; echo $?) "$f written"
done
is "$(ls "$R" | grep -c '\.tmp$')" 0 "no temporary file left"
pdftoppm -r 40 -png "$R/EE-$STEM.pdf" "$T/p" 2>"$T/pdferr"
is "$?:$(cat "$T/pdferr")" "0:" "the PDF renders"
contains "$(cat "$R/EE-$STEM.html")" "Threat report for Estonia" "the HTML is EE's report"

is "$(cut -f2 "$T/mail/log" | sort | tr '\n' ' ')" "alice@cert.example " \
	"only the first-level contact is mailed"
contains "$(cut -f3 "$T/mail/log")" "bulwark threat report for EE" "the subject"
# the attachments are the files, byte for byte
$PY - "$T/mail/1.eml" "$R" "$STEM" >"$T/att" <<'EOF'
import email, email.policy, hashlib, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for part in msg.iter_attachments():
    name = part.get_filename()
    data = part.get_payload(decode=True)
    disk = open(sys.argv[2] + "/" + name, "rb").read()
    print(name, part.get_content_type(), "same" if data == disk else "DIFFERENT")
EOF
is "$(cat "$T/att")" "EE-$STEM.html text/html same
EE-$STEM.pdf application/pdf same" "the mail carries the HTML and the PDF"
is "$(cut -f2,3 "$T/hook.log")" "$(printf 'ok\treport')" "the webhook item is signed and says report"

# A restart does not make or send them again.
kill "$SPID"
wait "$SPID" 2>/dev/null
start_serve
sleep 2
is "$(wc -l <"$T/mail/log")" 1 "no second mail after a restart"
is "$(wc -l <"$T/hook.log")" 1 "no second webhook after a restart"
is "$(sqlite3 "$DB" "SELECT count(*) FROM report_log WHERE period_to = $END")" 2 \
	"one report_log row per tenant"
contains "$(cat "$T/serve.log")" "event=reports made=2" "the daemon logs what it made"

done_testing
