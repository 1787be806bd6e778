#!/bin/bash
# check_listener.sh - bulwark serve --check-listen: the lean listener of the
# check endpoints answers /v1/check, /v1/gate and /healthz exactly as the
# main (libmicrohttpd) listener does, byte for byte, under the same keys and
# TLP (a RED record visible to DE only), refuses other paths (404), methods
# (405) and bodies (400), survives a hostile request without harm to the
# next client, sees a key revoked while serving, and is refused on a
# non-loopback address in plain HTTP.  Both listeners on ports the system
# chooses (port 0; the log names them).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
DB=$T/s.db
B() { "$BULWARK" "$@"; }

printf 'evil.example\n10.1.0.0/16\nhttp://phish.example/login\n' >"$T/clear.txt"
printf 'red.example\n' >"$T/red.txt"
B ingest --db "$DB" --source public --tlp CLEAR --tag malware:Emotet --confidence 70 "$T/clear.txt" >/dev/null
B ingest --db "$DB" --source partner --tlp RED --share-with DE --tag actor:APT99 --confidence 90 "$T/red.txt" >/dev/null

# 1. plain HTTP beyond loopback is refused for the check listener too
err=$(B serve --db "$DB" --listen 127.0.0.1:0 --check-listen 192.0.2.1:8081 -n 2>&1)
is $? 1 "a non-loopback check listener is refused"
contains "$err" "not a loopback address" "saying why"
B serve --db "$DB" --check-listen nowhere -n >/dev/null 2>&1
is $? 2 "a bad --check-listen is a usage error"

"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --check-listen 127.0.0.1:0 --threads 2 \
	--dns no --report-period no --demo >"$T/out" 2>"$T/log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT
PM= PC=
for _ in $(seq 100); do
	PM=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$T/log")
	PC=$(sed -n 's/.*event=check_listening .*port=\([0-9]*\).*/\1/p' "$T/log")
	[ -n "$PM" ] && [ -n "$PC" ] && break
	sleep 0.1
done
ok $([ -n "$PC" ] && [ "$PC" != "$PM" ]; echo $?) "the check listener says where it listens"
M=http://127.0.0.1:$PM
C=http://127.0.0.1:$PC
KDE=$(awk '$1 == "DE" {print $2}' "$T/out")
KFR=$(awk '$1 == "FR" {print $2}' "$T/out")

# 2. the same answers, status and body, from both listeners
same() { # DESCRIPTION CURL-ARGS...: status and body equal on both
	local d=$1 a b
	shift
	a=$(curl -s -w ' %{http_code}' "$@" "$M$PATHQ")
	b=$(curl -s -w ' %{http_code}' "$@" "$C$PATHQ")
	is "$b" "$a" "$d"
}
PATHQ='/v1/check?domain=www.evil.example' same "listed domain" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?domain=red.example' same "RED for DE: listed" -H "Authorization: Bearer $KDE"
PATHQ='/v1/check?domain=red.example' same "RED for FR: not listed" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?ip=10.1.2.3' same "an address in a listed /16" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?url=http%3A%2F%2Fphish.example%2Flogin' same "an escaped URL" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?domain=clean.example' same "a clean domain" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?domain=a&ip=1.2.3.4' same "two kinds: 400" -H "Authorization: Bearer $KFR"
PATHQ='/v1/check?domain=evil.example' same "no key: 401"
PATHQ='/v1/check?domain=evil.example' same "a wrong key: 401" -H "Authorization: Bearer bwk_1_$(printf '0%.0s' $(seq 64))"
PATHQ='/v1/gate' same "the gate: the client is not listed" -H "Authorization: Bearer $KFR"
PATHQ='/healthz' same "health"
is "$(curl -s -I -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KFR" "$C/v1/check?domain=evil.example")" \
	200 "HEAD is answered"
is "$(curl -s -o /dev/null -w '%{http_code}' "$C/taxii2/")" 404 "TAXII is not served on the check listener"
is "$(curl -s -o /dev/null -w '%{http_code}' "$C/metrics")" 404 "nor /metrics"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$C/v1/check")" 405 "POST: 405"
is "$(curl -s -o /dev/null -w '%{http_code}' -X GET -d x "$C/v1/check")" 400 "a body: 400"
curl -s -D "$T/hdr" -o /dev/null "$C/v1/check?domain=evil.example"
grep -qi '^WWW-Authenticate: Bearer' "$T/hdr"
ok $? "a 401 says WWW-Authenticate: Bearer"

# 3. keep-alive: several checks over one connection
out=$(curl -s -v -H "Authorization: Bearer $KFR" "$C/v1/check?domain=a.example" \
	"$C/v1/check?domain=b.example" 2>&1)
contains "$out" "Re-using existing connection" "a second request reuses the connection"

# 4. a hostile request costs its own connection only
resp=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$C/healthz")
is "$resp" 431 "headers beyond max_header_bytes: 431"
is "$(curl -s -o /dev/null -w '%{http_code}' "$C/healthz")" 200 "and the next client is served"

metric() { curl -s "$M/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
gen0=$(metric bulwark_index_generation)

# 5. a key revoked while serving stops working on the check listener
kid=$(B tenant key add FR --gateway --label cl --db "$DB" 2>/dev/null)
for _ in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $kid" "$C/v1/check?domain=x.example")" = 200 ] && break
	sleep 0.1
done
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $kid" "$C/v1/check?domain=x.example")" 200 "a new gateway key works"
id=${kid#bwk_}
id=${id%%_*}
B tenant key revoke FR "$id" --db "$DB" >/dev/null
for _ in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $kid" "$C/v1/check?domain=x.example")" = 401 ] && break
	sleep 0.1
done
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $kid" "$C/v1/check?domain=x.example")" 401 "revoked: 401 within seconds"

# 6. the snapshot is rebuilt when what it holds changes, and only then:
# the key commits above (and a notification setting) are seen, and leave it
u0=$(metric bulwark_index_unchanged_total)
B tenant notify FR --digest off --db "$DB" >/dev/null 2>&1
for _ in $(seq 50); do
	[ "$(metric bulwark_index_unchanged_total)" -gt "${u0:-0}" ] 2>/dev/null && break
	sleep 0.1
done
ok $([ "$(metric bulwark_index_unchanged_total)" -gt "${u0:-0}" ] 2>/dev/null; echo $?) \
	"commits that change no indicator, tenant, scope or sighting are seen"
sleep 1.5 # beyond the shortest time between two rebuilds
is "$(metric bulwark_index_generation)" "$gen0" "and rebuild nothing"
nat() { curl -s -H "Authorization: Bearer $KFR" "$C/v1/check?domain=evil.example"; }
B tenant scope FR --add domain:evil.example --db "$DB" >/dev/null
for _ in $(seq 50); do
	case $(nat) in *'"national":true'*) break ;; esac
	sleep 0.1
done
contains "$(nat)" '"national":true' "a new scope entry rebuilds: national now"
is "$(metric bulwark_index_generation)" "$((gen0 + 1))" "one rebuild"
printf 'new.example\n' >"$T/new.txt"
B ingest --db "$DB" --source public --tlp CLEAR "$T/new.txt" >/dev/null
for _ in $(seq 50); do
	case $(curl -s -H "Authorization: Bearer $KFR" "$C/v1/check?domain=new.example") in
	*'"listed":true'*) break ;;
	esac
	sleep 0.1
done
contains "$(curl -s -H "Authorization: Bearer $KFR" "$C/v1/check?domain=new.example")" \
	'"listed":true' "a new indicator rebuilds: listed now"
is "$(metric bulwark_index_generation)" "$((gen0 + 2))" "one more rebuild"

kill -TERM $PID
wait $PID
is $? 0 "a clean exit on SIGTERM"
done_testing
