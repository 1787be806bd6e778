#!/bin/bash
# serve.sh - bulwark serve on a free loopback port, driven with curl:
# health, metrics, 401s (no key, wrong key, revoked key), a listed and an
# unlisted domain, TLP (a RED record shared with DE is listed for DE's key
# and not for FR's; AMBER+STRICT likewise; AMBER for everyone), the index
# rebuilt after a write to the store, keep-alive, the refusal of a
# non-loopback address, and a clean exit on SIGTERM.  Gateway keys: the
# check with the tenant's rights, TAXII refused (403), revocation; keys
# added and revoked while serving take effect within seconds (the key
# table is in memory and reloaded when the store changes); "national" in
# the verdict (the tenant's ccTLD).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
DB=$T/s.db
B() { "$BULWARK" "$@"; }

printf 'evil.example\n10.1.0.0/16\nhttp://phish.example/login\n' >"$T/clear.txt"
printf 'red.example\n' >"$T/red.txt"
printf 'strict.example\n' >"$T/strict.txt"
printf 'amber.example\n' >"$T/amber.txt"
B ingest --db "$DB" --source public --tlp CLEAR --tag malware:Emotet --confidence 70 "$T/clear.txt" >/dev/null
B ingest --db "$DB" --source partner --tlp RED --share-with DE --tag actor:APT99 --confidence 90 "$T/red.txt" >/dev/null
B ingest --db "$DB" --source partner2 --tlp AMBER+STRICT --share-with DE,EE "$T/strict.txt" >/dev/null
B ingest --db "$DB" --source partner3 --tlp AMBER "$T/amber.txt" >/dev/null
# evil.example also has a RED record for EE only: FR must not see its tag
printf 'evil.example\n' >"$T/evil-red.txt"
B ingest --db "$DB" --source secret --tlp RED --share-with EE --tag actor:HiddenBear "$T/evil-red.txt" >/dev/null

# 1. refuses a non-loopback address in plain HTTP
err=$(B serve --db "$DB" --listen 192.0.2.1:8080 2>&1)
is $? 1 "a non-loopback address is refused"
contains "$err" "not a loopback address" "saying why"
B serve --db "$DB" --listen nowhere 2>/dev/null
is $? 2 "a bad --listen is a usage error"

# 2. start on a free port (port 0: the kernel picks; the log says which)
# (the binary itself, not the B function: $! must be the server's pid)
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --threads 2 --demo >"$T/out" 2>"$T/log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$T/log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
ok $([ -n "$PORT" ]; echo $?) "the server says where it listens"
U=http://127.0.0.1:$PORT
KDE=$(awk '$1 == "DE" {print $2}' "$T/out")
KFR=$(awk '$1 == "FR" {print $2}' "$T/out")
KEE=$(awk '$1 == "EE" {print $2}' "$T/out")
ok $([[ $KDE =~ ^bwk_[0-9]+_[0-9a-f]{64}$ && $KFR =~ ^bwk_ && $KEE =~ ^bwk_ ]]; echo $?) "--demo prints keys for DE, FR and EE"
is "$(B tenant list --db "$DB" | awk '{print $1}' | tr '\n' ' ')" "DE EE FR " "--demo created the tenants"

get() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
check() { # KEY QUERY
	curl -s -H "Authorization: Bearer $1" "$U/v1/check?$2"
}

is "$(get "$U/healthz")" 200 "GET /healthz is 200"
is "$(cat "$T/body")" "ok" "and says ok"
is "$(get "$U/nope")" 404 "an unknown path is 404"
is "$(get -X POST "$U/healthz")" 405 "POST is 405"

# 3. keys
is "$(get "$U/v1/check?domain=evil.example")" 401 "no key: 401"
is "$(get -H "Authorization: Bearer bwk_1_$(printf '0%.0s' $(seq 64))" "$U/v1/check?domain=evil.example")" 401 "wrong key: 401"
is "$(get -H "Authorization: Basic $KDE" "$U/v1/check?domain=evil.example")" 401 "not Bearer: 401"
is "$(get -H "Authorization: Bearer $KDE" "$U/v1/check?domain=evil.example")" 200 "DE's key: 200"
curl -s -D "$T/hdr" -o /dev/null "$U/v1/check?domain=evil.example"
grep -qi '^WWW-Authenticate: Bearer' "$T/hdr"
ok $? "a 401 says WWW-Authenticate: Bearer"

# 4. listed and unlisted, domains, addresses, URLs
is "$(check "$KFR" domain=www.evil.example)" \
	'{"listed":true,"matches":[{"indicator":"evil.example","type":"domain","tags":["malware:Emotet"],"confidence":70,"national":false}]}' \
	"a subdomain of a listed domain is listed, with FR's view of it only"
is "$(check "$KEE" domain=evil.example)" \
	'{"listed":true,"matches":[{"indicator":"evil.example","type":"domain","tags":["actor:HiddenBear","malware:Emotet"],"confidence":70,"national":false}]}' \
	"EE, a recipient of the RED record, also sees its tag"
is "$(check "$KFR" domain=notevil.example)" '{"listed":false,"matches":[]}' "an unlisted domain is not listed"
is "$(check "$KFR" ip=10.1.2.3)" \
	'{"listed":true,"matches":[{"indicator":"10.1.0.0/16","type":"cidr","tags":["malware:Emotet"],"confidence":70,"national":false}]}' \
	"an address in a listed CIDR is listed"
is "$(check "$KFR" ip=10.2.0.1)" '{"listed":false,"matches":[]}' "an address outside is not"
contains "$(check "$KFR" 'url=http://phish.example/login')" '"indicator":"http://phish.example/login","type":"url"' "a listed URL is listed"
is "$(get -H "Authorization: Bearer $KFR" "$U/v1/check?ip=not-an-ip")" 400 "a bad address is 400"
is "$(get -H "Authorization: Bearer $KFR" "$U/v1/check?ip=10.2.0.1&domain=x.example")" 400 "two kinds at once is 400"
is "$(get -H "Authorization: Bearer $KFR" "$U/v1/check?domain=a.example&domain=b.example")" 400 "a repeated kind is 400"
is "$(get -H "Authorization: Bearer $KFR" "$U/v1/check")" 400 "no kind is 400"
is "$(get -H "Authorization: Bearer $KFR" "$U/v1/check?domain=$(head -c 3000 /dev/zero | tr '\0' a)")" 400 "a value over 2048 bytes is 400"

# 5. TLP: RED shared with DE, AMBER+STRICT shared with DE and EE, AMBER
is "$(check "$KDE" domain=red.example)" \
	'{"listed":true,"matches":[{"indicator":"red.example","type":"domain","tags":["actor:APT99"],"confidence":90,"national":false}]}' \
	"RED shared with DE: listed for DE"
is "$(check "$KFR" domain=red.example)" '{"listed":false,"matches":[]}' "RED shared with DE: not listed for FR"
is "$(check "$KEE" domain=red.example)" '{"listed":false,"matches":[]}' "RED shared with DE: not listed for EE"
contains "$(check "$KEE" domain=strict.example)" '"listed":true' "AMBER+STRICT shared with DE,EE: listed for EE"
is "$(check "$KFR" domain=strict.example)" '{"listed":false,"matches":[]}' "AMBER+STRICT is not AMBER: not listed for FR"
contains "$(check "$KFR" domain=amber.example)" '"listed":true' "AMBER: listed for FR"

# 6. a write to the store reaches the index without a restart
printf 'fresh.example\n' >"$T/fresh.txt"
B ingest --db "$DB" --source late --tlp GREEN "$T/fresh.txt" >/dev/null
got=
for _ in $(seq 50); do
	got=$(check "$KFR" domain=fresh.example)
	case "$got" in *'"listed":true'*) break ;; esac
	sleep 0.1
done
contains "$got" '"listed":true' "an indicator ingested while serving is listed within seconds"

# 7. revocation takes effect within a second (the key table is reloaded
# when the store changes)
KID=${KFR#bwk_}; KID=${KID%%_*}
B tenant key revoke FR "$KID" --db "$DB" >/dev/null
# wait_status WANT ARGS...: polls (up to 5 s) until the status is WANT
wait_status() {
	local want=$1 got=
	shift
	for _ in $(seq 50); do
		got=$(get "$@")
		[ "$got" = "$want" ] && break
		sleep 0.1
	done
	echo "$got"
}
is "$(wait_status 401 -H "Authorization: Bearer $KFR" "$U/v1/check?domain=evil.example")" 401 "a revoked key: 401 within seconds"

# 7b. a gateway key for DE, made while serving: the check with DE's rights,
# never TAXII
KGW=$(B tenant key add DE --gateway --label "test gateway" --db "$DB" 2>"$T/gwerr")
ok $([[ $KGW =~ ^bwk_[0-9]+_[0-9a-f]{64}$ ]]; echo $?) "tenant key add --gateway prints a key"
contains "$(cat "$T/gwerr")" "gateway key" "and says it is a gateway key"
contains "$(B tenant key list DE --db "$DB")" "gateway  test gateway" "key list shows kind and label"
is "$(B tenant key list DE --json --db "$DB" | jq -r '.[-1].kind + "/" + .[-1].label')" "gateway/test gateway" "key list --json too"
is "$(wait_status 200 -H "Authorization: Bearer $KGW" "$U/v1/check?domain=red.example")" 200 "a new gateway key works within seconds"
is "$(cat "$T/body")" \
	'{"listed":true,"matches":[{"indicator":"red.example","type":"domain","tags":["actor:APT99"],"confidence":90,"national":false}]}' \
	"the gateway key sees what DE sees (RED shared with DE)"
is "$(check "$KGW" domain=strict.example | jq -r .listed)" true "and DE's AMBER+STRICT"
is "$(check "$KGW" domain=evil.example | jq -c '.matches[0].tags')" '["malware:Emotet"]' "but not EE's RED tag"
TX='application/taxii+json;version=2.1'
is "$(get -H "Authorization: Bearer $KGW" -H "Accept: $TX" "$U/taxii2/")" 403 "TAXII refuses a gateway key: 403"
contains "$(cat "$T/body")" '"http_status":"403"' "with a TAXII error object"
contains "$(cat "$T/body")" 'gateway key' "saying why"
is "$(get -u "x:$KGW" -H "Accept: $TX" "$U/taxii2/")" 403 "also as HTTP Basic"
is "$(get -H "Authorization: Bearer $KGW" -H "Accept: $TX" "$U/taxii2/bulwark/collections/")" 403 "and on the collections"
is "$(get -X POST -H "Authorization: Bearer $KGW" -H "Accept: $TX" \
	-H "Content-Type: application/stix+json;version=2.1" --data '{}' \
	"$U/taxii2/bulwark/collections/x/objects/")" 403 "and on a POST, before its body is read"
is "$(get -H "Authorization: Bearer $KDE" -H "Accept: $TX" "$U/taxii2/")" 200 "DE's own key opens TAXII"
GID=${KGW#bwk_}; GID=${GID%%_*}
B tenant key revoke DE "$GID" --db "$DB" >/dev/null
is "$(wait_status 401 -H "Authorization: Bearer $KGW" "$U/v1/check?domain=evil.example")" 401 "a revoked gateway key: 401"
is "$(get -H "Authorization: Bearer $KDE" "$U/v1/check?domain=evil.example")" 200 "DE's own key still works"

# 7c. national: EE's ccTLD
printf 'phish.ee\n' >"$T/ee.txt"
B ingest --db "$DB" --source late2 --tlp CLEAR "$T/ee.txt" >/dev/null
got=
for _ in $(seq 50); do
	got=$(check "$KEE" domain=login.phish.ee)
	case "$got" in *'"listed":true'*) break ;; esac
	sleep 0.1
done
is "$got" '{"listed":true,"matches":[{"indicator":"phish.ee","type":"domain","tags":[],"confidence":null,"national":true}]}' \
	"an .ee domain is national for EE"
is "$(check "$KDE" domain=login.phish.ee | jq '.matches[0].national')" false "and not for DE"

# 8. keep-alive: two requests on one connection
curl -s -v -H "Authorization: Bearer $KDE" "$U/healthz" "$U/v1/check?domain=evil.example" >/dev/null 2>"$T/v"
grep -q 'Re-using existing connection' "$T/v"
ok $? "keep-alive: curl re-uses the connection"

# 9. metrics
m=$(curl -s "$U/metrics")
# at least the six refusals above; a key made while serving may also be
# refused once before the key table reloads (within 250 ms)
n401=$(printf '%s\n' "$m" | sed -n 's/^bulwark_http_requests_total{endpoint="check",status="401"} //p')
ok $([ "${n401:-0}" -ge 6 ]; echo $?) "metrics count the 401s (${n401:-none})"
contains "$m" 'bulwark_http_requests_total{endpoint="healthz",status="200"}' "metrics count health checks"
contains "$m" 'bulwark_index_indicators_total 8' "metrics: indicators in the index"
contains "$m" 'bulwark_index_indicators{type="cidr"} 1' "metrics: indicators by type"
contains "$m" 'bulwark_index_restricted 3' "metrics: indicators with AMBER+STRICT or RED records"
contains "$m" 'bulwark_index_age_seconds ' "metrics: index age"
contains "$m" '# TYPE bulwark_http_requests_total counter' "metrics in Prometheus text format"

# 10. logs: one line per request, never a key or a query
grep -q 'event=request method=GET path=/v1/check status=200 tenant=DE' "$T/log"
ok $? "requests are logged with status and tenant"
ok $(! grep -q -e "${KDE##*_}" -e "${KFR##*_}" -e 'evil.example' "$T/log"; echo $?) "no key and no query in the log"

# 10b. checks under load while keys come and go and the index is rebuilt
# (the key table and the snapshot are swapped under running requests)
if command -v wrk >/dev/null; then
	wrk -t2 -c8 -d3s -H "Authorization: Bearer $KDE" "$U/v1/check?domain=www.evil.example" >"$T/wrk" 2>&1 &
	WRK=$!
	for i in 1 2 3 4 5; do
		k=$(B tenant key add EE --gateway --label "churn $i" --db "$DB" 2>/dev/null)
		kid=${k#bwk_}; kid=${kid%%_*}
		printf 'churn%d.example\n' "$i" >"$T/churn.txt"
		B ingest --db "$DB" --source churn --tlp RED --share-with DE "$T/churn.txt" >/dev/null
		B tenant key revoke EE "$kid" --db "$DB" >/dev/null
		sleep 0.3
	done
	wait $WRK
	contains "$(cat "$T/wrk")" "requests in" "wrk ran against the check while keys and records changed"
	ok $(! grep -q "Non-2xx" "$T/wrk"; echo $?) "every answer under churn was 200"
	ok $(kill -0 $PID; echo $?) "the server is still up"
	got=
	for _ in $(seq 50); do
		got=$(check "$KDE" domain=churn5.example | jq -r .listed)
		[ "$got" = true ] && break
		sleep 0.1
	done
	is "$got" true "and sees the last change within seconds"
	is "$(check "$KEE" domain=churn5.example | jq -r .listed)" false "under TLP"
else
	echo "# no wrk: the churn test is skipped"
fi

# 11. clean shutdown
kill -TERM $PID
wait $PID
is $? 0 "SIGTERM: exit 0"
grep -q 'event=shutdown signal=TERM' "$T/log"
ok $? "the shutdown is logged"
done_testing
