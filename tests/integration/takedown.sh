#!/bin/bash
# takedown.sh - takedown notices reach a real SMTP server: an action
# approved on the command line while `bulwark serve` runs puts one notice
# per abuse contact (registrar and host) in the outbox, and the daemon
# mails them to an aiosmtpd server on loopback as multipart messages with a
# readable part and an X-ARF v4 JSON part; an appeal and a resumption send
# nothing twice.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
$PY -c 'import aiosmtpd' 2>/dev/null || { echo "1..0 # SKIP no python3-aiosmtpd"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
export BULWARK_DB=$T/db.sqlite
unset BULWARK_OPERATOR BULWARK_CONF
B=$BULWARK
HTTP=18610 SMTP=18611

# evidence: two sources, and a domain|ip pair placing the host
printf 'login.shop.example\n' >"$T/a.txt"
"$B" ingest --source feed-a --confidence 90 --tag phishing "$T/a.txt" >/dev/null
"$B" ingest --source feed-b --confidence 70 "$T/a.txt" >/dev/null
cat >"$T/event.json" <<'JSON'
{"Event": {"info": "phishing kit", "Orgc": {"name": "misp-x"}, "Attribute": [
 {"type": "domain|ip", "value": "login.shop.example|192.0.2.44", "to_ids": true,
  "uuid": "5f0c1a2b-0000-4000-8000-000000000001", "category": "Network activity"}]}}
JSON
"$B" ingest --source misp-x "$T/event.json" >/dev/null
printf 'shop.example\n' >"$T/scope.txt"
"$B" authz add --authority "Harju County Court" --reference 2-24/123 --jurisdiction EE \
	--scope "file:$T/scope.txt" --valid-from now --valid-until 2099-01-01 --operator alice >/dev/null
"$B" disrupt contacts load "$BW_TEST_DATA/disrupt/contacts.csv" --operator alice >/dev/null
ok $? "the contact directory is loaded"

$PY "$HERE/smtp_receiver.py" $SMTP "$T/mail" 2>"$T/smtp.err" &
pids="$pids $!"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP" || true
"$B" serve --db "$BULWARK_DB" --listen 127.0.0.1:$HTTP --dns no --smtp 127.0.0.1:$SMTP \
	--mail-from cert@cert.example --log-requests=no 2>"$T/serve.log" &
pids="$pids $!"
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz"
ok $? "serve is up"

id=$("$B" disrupt propose --domain login.shop.example --authz 1 --operator alice)
"$B" disrupt approve "$id" --operator bob >/dev/null
ok $? "approved while the daemon runs"
wait_for 20 lines "$T/mail/log" 2
ok $? "two notices arrive"
rcpts=$(cut -f2 "$T/mail/log" | sort | tr '\n' ' ')
is "$rcpts" "abuse@hosting.example abuse@registrar.example " \
	"to the registrar (longest match) and the host of 192.0.2.44"
check=$($PY - "$T/mail" "$id" <<'PYEOF'
import email, email.policy, json, sys, glob
d, aid = sys.argv[1], sys.argv[2]
for f in sorted(glob.glob(d + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    rcpt = str(m["To"]).strip("<>")
    assert m.get_content_type() == "multipart/mixed", m.get_content_type()
    parts = list(m.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/json"]
    text = parts[0].get_content()
    assert "login.shop.example" in text and "2-24/123" in text and "feed-a, feed-b, misp-x" in text, text
    x = json.loads(parts[1].get_content())
    assert x["xarf_version"] == "4.0.0" and x["source_identifier"] == "login.shop.example"
    assert x["legal_basis"]["reference"] == "2-24/123"
    assert m["Idempotency-Key"] == "takedown:%s:%s" % (aid, rcpt), m["Idempotency-Key"]
    print("ok", rcpt)
PYEOF
)
ok $? "each mail is multipart: readable text and an X-ARF report, with the idempotency key"
contains "$check" "ok abuse@registrar.example" "the registrar's mail checked"
contains "$check" "ok abuse@hosting.example" "the host's mail checked"

"$B" disrupt appeal "$id" --reason "registrant appealed" --operator dave >/dev/null
"$B" disrupt approve "$id" --operator bob >/dev/null
sleep 2
is "$(wc -l <"$T/mail/log")" 2 "a resumed action sends nothing twice"
is "$(sqlite3 "$BULWARK_DB" "SELECT count(*) FROM outbox WHERE state = 'delivered'")" 2 "both are delivered"
"$B" audit verify >/dev/null
ok $? "the audit chain is intact"
done_testing
