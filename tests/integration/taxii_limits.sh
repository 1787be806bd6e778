#!/bin/bash
# taxii_limits.sh - the configurable limits of bulwark serve as TAXII
# clients meet them, on a loopback port from 18220 to 18239: taxii_max_content_length
# (advertised, 413 over it, exactly it is read), 411 and 503 as TAXII error
# objects of the TAXII media type, max_header_bytes, max_connections, and
# connection_timeout cutting off a client that sends half a request and
# stalls (and a half-sent body, nothing of which is kept) while another
# client is served at once.  Then eligible_countries: `tenant add --config`
# and `serve -n`.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
command -v python3 >/dev/null || { echo "1..0 # SKIP no python3"; exit 0; }
DB=$T/t.db
# a free port of this test's range (another run of it may hold one)
PORT=$(python3 -c "
import socket
for p in range(18220, 18240):
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break")
U=http://127.0.0.1:$PORT
TX='application/taxii+json;version=2.1'
SX='application/stix+json;version=2.1'
B() { "$BULWARK" "$@"; }

printf 'seed.example\n' >"$T/seed.txt"
B ingest --db "$DB" --tlp CLEAR "$T/seed.txt" >/dev/null
cat >"$T/b.conf" <<EOF
listen = 127.0.0.1:$PORT
threads = 2
taxii_max_content_length = 4096
max_connections = 6
connection_timeout = 2
max_header_bytes = 8192
EOF
B serve -n --config "$T/b.conf" >/dev/null
ok $? "serve -n accepts the limits"
"$BULWARK" serve --config "$T/b.conf" --db "$DB" --demo >"$T/out" 2>"$T/log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do
	grep -q 'event=listening' "$T/log" && break
	sleep 0.1
done
contains "$(cat "$T/log")" "taxii_max_content_length=4096" "the server says its TAXII limit"
KFR=$(awk '$1 == "FR" {print $2}' "$T/out")
# pytap FILE: the "ok - ..." / "not ok - ..." lines of a Python check, numbered
pytap() {
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "${line#ok - }" ;;
		"not ok - "*) ok 1 "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$1"
}
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); $1"; }
records() { python3 -c "import sqlite3; print(sqlite3.connect('$DB').execute('SELECT count(*) FROM record').fetchone()[0])"; }

# 1. max_content_length
curl -s -o "$T/body" -H "Authorization: Bearer $KFR" "$U/taxii2/bulwark/"
is "$(py 'print(d["max_content_length"])')" 4096 "the API root advertises the configured max_content_length"
curl -s -o "$T/body" -H "Authorization: Bearer $KFR" "$U/taxii2/bulwark/collections/"
INB=$(py 'print([c["id"] for c in d["collections"] if c["can_write"]][0])')
I="$U/taxii2/bulwark/collections/$INB/objects/"
post() { # FILE [curl args]: status
	local f=$1
	shift
	curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KFR" \
		-H "Content-Type: $SX" -H "Accept: $TX" --data-binary "@$f" "$@" "$I"
}
python3 - "$T" <<'PYEOF'
import json, sys
t = sys.argv[1]
b = {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000009", "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000009",
     "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z",
     "pattern": "[domain-name:value = 'limits.example']", "pattern_type": "stix",
     "valid_from": "2026-05-01T00:00:00Z"}]}
s = json.dumps(b)
open(t + "/good.json", "w").write(s)
open(t + "/exact.json", "w").write(s + " " * (4096 - len(s)))
open(t + "/over.json", "w").write(s + " " * (4097 - len(s)))
PYEOF
R0=$(records)
is "$(post "$T/over.json")" 413 "a body of max_content_length + 1 is 413"
is "$(py 'print(d["http_status"], d["title"])')" "413 request too large" "with a TAXII error object"
contains "$(py 'print(d["description"])')" "4096 bytes" "naming the configured limit"
is "$(hdr Content-Type)" "$TX" "of the TAXII media type"
is "$(records)" "$R0" "nothing stored"
is "$(post "$T/exact.json")" 202 "a bundle of exactly max_content_length is 202"
is "$(records)" "$((R0 + 1))" "and stored"

# 2. 411: no Content-Length
is "$(post "$T/good.json" -H 'Transfer-Encoding: chunked')" 411 "a chunked body is 411"
is "$(py 'print(d["http_status"], d["title"])')" "411 length required" "with a TAXII error object"
is "$(hdr Content-Type)" "$TX" "of the TAXII media type"

# 3. 503: four uploads that declared max_content_length hold the budget
# (4 x max); a fifth is refused; when the idle timeout cuts the slow ones
# off, the budget comes back
python3 - "$PORT" "$KFR" "$INB" "$T" <<'PYEOF' &
import socket, sys, time, os
port, key, inb, t = sys.argv[1:5]
socks = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(("POST /taxii2/bulwark/collections/%s/objects/ HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\nAccept: application/taxii+json;version=2.1\r\n"
               "Content-Type: application/stix+json;version=2.1\r\nContent-Length: 4096\r\n\r\n{"
               % (inb, key)).encode())
    socks.append(s)
open(t + "/slow.ready", "w").close()
time.sleep(6)
PYEOF
SLOW=$!
for _ in $(seq 100); do [ -e "$T/slow.ready" ] && break; sleep 0.05; done
sleep 0.2
is "$(post "$T/good.json")" 503 "while four slow uploads hold the budget, a post is 503"
is "$(py 'print(d["http_status"], d["title"])')" "503 service unavailable" "with a TAXII error object"
is "$(hdr Content-Type)" "$TX" "of the TAXII media type"
is "$(hdr Retry-After)" 1 "and Retry-After"
ok=
for _ in $(seq 60); do
	[ "$(post "$T/good.json")" = 202 ] && { ok=1; break; }
	sleep 0.1
done
ok $([ -n "$ok" ]; echo $?) "the idle timeout cut the stalled uploads off and gave their memory back"
kill $SLOW 2>/dev/null
wait $SLOW 2>/dev/null

# 4. max_header_bytes
big=$(head -c 9000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KFR" -H "X-Big: $big" "$U/taxii2/")
ok $([ "$code" = 431 ] || [ "$code" = 413 ]; echo $?) "headers over max_header_bytes are refused ($code)"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KFR" -H "X-Small: ${big:0:2000}" "$U/taxii2/")" \
	200 "headers under it are fine"

# 5. connection_timeout: half a request, then silence; another client is
# served meanwhile; the stalled connection is closed after about 2 s; a
# half-sent body is cut off the same way and nothing of it is kept
R1=$(records)
python3 - "$PORT" "$KFR" "$INB" "$T" >"$T/ptap" 2>&1 <<'PYEOF'
import socket, subprocess, sys, time
port, key, inb, t = sys.argv[1:5]
port = int(port)
def tap(ok, what):
    print(("ok" if ok else "not ok") + " - " + what)
half = socket.create_connection(("127.0.0.1", port))
half.sendall(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthor")
body = socket.create_connection(("127.0.0.1", port))
bundle = ('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000000a", "objects": ['
          '{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000a",'
          ' "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z",'
          ' "pattern": "[domain-name:value = \'half-sent.example\']", "pattern_type": "stix",'
          ' "valid_from": "2026-05-01T00:00:00Z"}]}')
body.sendall(("POST /taxii2/bulwark/collections/%s/objects/ HTTP/1.1\r\nHost: x\r\n"
              "Authorization: Bearer %s\r\nAccept: application/taxii+json;version=2.1\r\n"
              "Content-Type: application/stix+json;version=2.1\r\nContent-Length: %d\r\n\r\n%s"
              % (inb, key, len(bundle), bundle[:len(bundle) // 2])).encode())
t0 = time.monotonic()
time.sleep(0.2)
# another client, served at once
t1 = time.monotonic()
out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                      "Authorization: Bearer " + key, "http://127.0.0.1:%d/taxii2/" % port],
                     capture_output=True, text=True).stdout
served = time.monotonic() - t1
tap(out == "200" and served < 1.0, "another client is served meanwhile (%s in %.3f s)" % (out, served))
def closed_after(s):
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    return time.monotonic() - t0
for s, what in ((half, "half a request line"), (body, "half a body")):
    e = closed_after(s)
    tap(1.5 <= e <= 6.0, "a client that sent %s and stalled is cut off after %.1f s (timeout 2 s)" % (what, e))
PYEOF
pytap "$T/ptap"
is "$(records)" "$R1" "nothing of the half-sent bundle is kept"

# 6. max_connections: six idle connections take every slot, so a seventh
# client waits (it is not served within a second); once three are closed
# it is served
python3 - "$PORT" "$KFR" >"$T/ptap" 2>&1 <<'PYEOF'
import socket, subprocess, sys, time
port, key = int(sys.argv[1]), sys.argv[2]
def tap(ok, what):
    print(("ok" if ok else "not ok") + " - " + what)
def curl(maxtime):
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                           str(maxtime), "-H", "Authorization: Bearer " + key,
                           "http://127.0.0.1:%d/taxii2/" % port],
                          capture_output=True, text=True).stdout
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
time.sleep(0.2)
out = curl(0.8)
tap(out == "000", "with 6 idle connections (max_connections 6) a seventh client is not served (%s)" % out)
for s in socks[:3]:
    s.close()
time.sleep(0.2)
out = curl(1)
tap(out == "200", "once three are closed, it is (%s)" % out)
for s in socks[3:]:
    s.close()
PYEOF
pytap "$T/ptap"
kill -TERM $PID
wait $PID
is $? 0 "a clean exit on SIGTERM"

# 7. eligible_countries
printf 'eligible_countries = default, US\n' >"$T/e.conf"
B serve -n --config "$T/e.conf" >/dev/null
ok $? "eligible_countries = default, US is a valid configuration"
is "$(B tenant add --db "$T/e.db" --config "$T/e.conf" --country us --name CISA)" "added tenant US (CISA)" \
	"tenant add --config: US is eligible by the configuration"
is "$(B tenant add --db "$T/e.db" --config "$T/e.conf" --country VA --name Vatican)" "added tenant VA (Vatican)" \
	"and the default list is still in it"
err=$(B tenant add --db "$T/e.db" --country CA --name x 2>&1 >/dev/null)
is $? 1 "without --config, CA is refused"
contains "$err" "CA is not eligible for the programme (eligible: AL AT" "by the default list"
err=$(B tenant add --db "$T/e.db" --config "$T/e.conf" --country RU --name x 2>&1 >/dev/null)
is $? 1 "RU is refused with --config"
contains "$err" "RU is not eligible for the programme (eligible by the configuration: AL AT" "naming the configured list"
contains "$err" "UA US VA" "which holds US"
printf 'eligible_countries = NO IS LI CH\n' >"$T/efta.conf"
err=$(B tenant add --db "$T/e.db" --config "$T/efta.conf" --country DE --name x 2>&1 >/dev/null)
is $? 1 "a list of the EFTA members alone refuses DE"
contains "$err" "(eligible by the configuration: CH IS LI NO)" "saying which are eligible"
printf 'eligible_countries = DE, UK\n' >"$T/uk.conf"
err=$(B serve -n --config "$T/uk.conf" 2>&1 >/dev/null)
is $? 1 "serve -n refuses UK"
contains "$err" "uk.conf:1: eligible_countries: 'UK' is not an ISO 3166-1 code: the United Kingdom is GB" \
	"with a message naming the file, the line and the fix"
err=$(B tenant add --db "$T/e.db" --config "$T/uk.conf" --country DE --name x 2>&1 >/dev/null)
is $? 1 "tenant add with that file fails too"
contains "$err" "the United Kingdom is GB" "with the same message"
B tenant list --db "$T/e.db" --config "$T/e.conf" >/dev/null 2>&1
is $? 2 "--config is for tenant add"
printf 'eligible_countries = NL\nlisten = 127.0.0.1:%d\n' $PORT >"$T/nl.conf"
err=$("$BULWARK" serve --config "$T/nl.conf" --db "$T/nl.db" --demo 2>&1 >/dev/null)
is $? 1 "serve --demo with a list without the demo countries fails"
contains "$err" "DE is not eligible for the programme (eligible by the configuration: NL)" "saying why"
done_testing
