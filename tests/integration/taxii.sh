#!/bin/bash
# taxii.sh - the TAXII 2.1 server of bulwark serve, on a free loopback
# port, driven with curl: discovery, API root, collections, objects with
# pagination and filters, manifest, one object and its versions, unknown
# query parameters (400), media types and 406, error objects, API keys as
# Bearer and as HTTP Basic, and TLP 2.0 (DE, FR and EE see different
# objects; AMBER+STRICT is not "AMBER or more").
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
command -v python3 >/dev/null || { echo "1..0 # SKIP no python3"; exit 0; }
DB=$T/t.db
B() { "$BULWARK" "$@"; }
TX='application/taxii+json;version=2.1'

printf 'evil.example\n10.1.0.0/16\n' >"$T/clear.txt"
printf 'red.example\n' >"$T/red.txt"
printf 'strict.example\n' >"$T/strict.txt"
printf 'amber.example\n' >"$T/amber.txt"
B ingest --db "$DB" --source public --tlp CLEAR --tag phishing "$T/clear.txt" >/dev/null
B ingest --db "$DB" --source partner --tlp RED --share-with DE "$T/red.txt" >/dev/null
B ingest --db "$DB" --source partner2 --tlp AMBER+STRICT --share-with DE,EE "$T/strict.txt" >/dev/null
B ingest --db "$DB" --source partner3 --tlp AMBER "$T/amber.txt" >/dev/null
# evil.example also has a RED record for EE: EE's object is marked RED
printf 'evil.example\n' >"$T/evil-red.txt"
B ingest --db "$DB" --source secret --tlp RED --share-with EE --tag hidden "$T/evil-red.txt" >/dev/null

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
ok $([[ $KDE =~ ^bwk_ && $KFR =~ ^bwk_ && $KEE =~ ^bwk_ ]]; echo $?) "--demo printed keys"

# get KEY URL [curl args]: status; body in $T/body, headers in $T/hdr
get() {
	local k=$1 u=$2
	shift 2
	curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $k" "$@" "$u"
}
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); $1"; }

# 1. discovery
is "$(get "$KDE" "$U/taxii2/" -H "Accept: $TX")" 200 "discovery is 200"
is "$(hdr Content-Type)" "$TX" "as application/taxii+json;version=2.1"
is "$(py 'print(d["api_roots"][0])')" "http://127.0.0.1:$PORT/taxii2/bulwark/" "it names the API root"
is "$(py 'print(d["default"])')" "http://127.0.0.1:$PORT/taxii2/bulwark/" "as the default"

# 2. keys: none, wrong, Basic
is "$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' "$U/taxii2/")" 401 "no key: 401"
contains "$(hdr WWW-Authenticate)" "Basic" "offering Basic"
contains "$(hdr WWW-Authenticate)" "Bearer" "and Bearer"
is "$(py 'print(d["http_status"], d["title"])')" "401 unauthorized" "with a TAXII error object"
is "$(hdr Content-Type)" "$TX" "as taxii+json"
is "$(get "bwk_1_$(printf '0%.0s' $(seq 64))" "$U/taxii2/")" 401 "a wrong key: 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -u "anyone:$KDE" "$U/taxii2/")" 200 "HTTP Basic with the key as password: 200"
is "$(curl -s -o /dev/null -w '%{http_code}' -u "$KDE:x" "$U/taxii2/")" 401 "the key as user name: 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Basic !!!' "$U/taxii2/")" 401 "bad base64: 401"

# 3. Accept
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: text/html')" 406 "Accept: text/html is 406"
is "$(py 'print(d["http_status"])')" 406 "with an error object"
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: application/taxii+json;version=2.0')" 406 "version 2.0 is 406"
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: application/taxii+json')" 200 "no version is fine"
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: text/html, application/taxii+json; version=2.1')" 200 "a list naming it is fine"
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: */*')" 200 "*/* is fine"
is "$(get "$KDE" "$U/taxii2/" -H 'Accept: application/taxii+json;version=2.1;q=0')" 406 "q=0 refuses it: 406"

# 4. API root and collections
is "$(get "$KDE" "$U/taxii2/bulwark/" -H "Accept: $TX")" 200 "the API root is 200"
is "$(py 'print(d["versions"][0], d["max_content_length"] > 0)')" "$TX True" "versions and max_content_length"
is "$(get "$KDE" "$U/taxii2/nothere/")" 404 "an unknown API root is 404"
is "$(get "$KDE" "$U/taxii2/bulwark/collections/" -H "Accept: $TX")" 200 "collections is 200"
is "$(py 'print(len(d["collections"]))')" 5 "five collections"
is "$(py 'print(all(c["can_read"] and not c["can_write"] for c in d["collections"][:4]))')" True "four readable, not writable"
is "$(py 'print(" / ".join(c["title"] for c in d["collections"][:4]))')" \
	"Everything you may see / Shared with you by name / National to you / Active disruption actions" \
	"all, addressed, national and actions (tests/integration/taxii_national.sh)"
is "$(py 'c = d["collections"][4]; print(c["title"], c["can_read"], c["can_write"])')" "Inbound False True" "and the inbound one, writable only"
INB=$(py 'print(d["collections"][4]["id"])')
ALL=$(py 'print(d["collections"][0]["id"])')
ADDR=$(py 'print(d["collections"][1]["id"])')
is "$(get "$KDE" "$U/taxii2/bulwark/collections/$ALL/")" 200 "one collection is 200"
is "$(py 'print(d["id"], d["media_types"][0])')" "$ALL application/stix+json;version=2.1" "with its id and media type"
is "$(get "$KDE" "$U/taxii2/bulwark/collections/00000000-0000-5000-8000-000000000000/")" 404 "an unknown collection is 404"
is "$(py 'print(d["http_status"])')" 404 "with an error object"

# 5. objects and TLP
# names KEY COLL: the indicator names one tenant sees, sorted
names() {
	get "$1" "$U/taxii2/bulwark/collections/$2/objects/?match%5Btype%5D=indicator" >/dev/null
	py 'print(" ".join(sorted(o["name"] for o in d.get("objects", []))))'
}
is "$(names "$KDE" "$ALL")" "10.1.0.0/16 amber.example evil.example red.example strict.example" "DE sees its RED and AMBER+STRICT"
is "$(names "$KFR" "$ALL")" "10.1.0.0/16 amber.example evil.example" "FR does not (AMBER+STRICT is not AMBER)"
is "$(names "$KEE" "$ALL")" "10.1.0.0/16 amber.example evil.example strict.example" "EE sees AMBER+STRICT shared with it"
is "$(names "$KDE" "$ADDR")" "red.example strict.example" "DE's addressed collection"
is "$(names "$KFR" "$ADDR")" "" "FR's is empty"
mark() { # KEY NAME: the marking id of the object NAME
	get "$1" "$U/taxii2/bulwark/collections/$ALL/objects/" >/dev/null
	py "print([o['object_marking_refs'][0] for o in d['objects'] if o.get('name') == '$2'][0])"
}
RED=marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1
CLEAR=marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487
is "$(mark "$KEE" evil.example)" "$RED" "EE's evil.example carries RED (its RED record is visible to EE)"
is "$(mark "$KFR" evil.example)" "$CLEAR" "FR's carries CLEAR"
get "$KFR" "$U/taxii2/bulwark/collections/$ALL/objects/" >/dev/null
is "$(py 'print("hidden" in json.dumps(d), "phishing" in json.dumps(d))')" "False True" "FR gets the labels of its records only"
is "$(hdr Content-Type)" "$TX" "objects as taxii+json"
is "$(py 'print(sum(o["type"] == "marking-definition" for o in d["objects"]))')" 5 "the five TLP 2.0 marking definitions"
ok $([ -n "$(hdr X-TAXII-Date-Added-First)" ] && [ -n "$(hdr X-TAXII-Date-Added-Last)" ]; echo $?) "X-TAXII-Date-Added-First and -Last"
is "$(get "$KFR" "$U/taxii2/bulwark/collections/$ALL/objects/" -H 'Accept: application/stix+json;version=2.1')" 200 "Accept stix+json: 200"
is "$(hdr Content-Type)" "application/stix+json;version=2.1" "as stix+json"
is "$(get "$KFR" "$U/taxii2/bulwark/collections/$ALL/objects/" -H 'Accept: application/json')" 406 "Accept application/json: 406"

# 6. pagination: limit 2, following next, every object once
seen=
next=
pages=0
while :; do
	q="limit=2"
	[ -n "$next" ] && q="$q&next=$next"
	get "$KDE" "$U/taxii2/bulwark/collections/$ALL/objects/?$q" >/dev/null
	seen="$seen $(py 'print(" ".join(o["id"] for o in d.get("objects", [])))')"
	pages=$((pages + 1))
	more=$(py 'print(d["more"])')
	[ "$more" = True ] || break
	next=$(py 'print(d["next"])')
	[ $pages -gt 20 ] && break
done
is "$pages" 5 "10 objects in 5 pages of 2"
is "$(echo $seen | tr ' ' '\n' | sort | uniq | wc -l)" 10 "10 distinct objects"
is "$(echo $seen | wc -w)" 10 "each once"

# 7. filters and bad requests
O="$U/taxii2/bulwark/collections/$ALL/objects/"
get "$KDE" "$O?match%5Btype%5D=marking-definition" >/dev/null
is "$(py 'print(len(d["objects"]))')" 5 "match[type]=marking-definition"
get "$KDE" "$O?match%5Bid%5D=$RED,$CLEAR" >/dev/null
is "$(py 'print(len(d["objects"]))')" 2 "match[id] with two ids"
get "$KDE" "$O?match%5Bspec_version%5D=2.0" >/dev/null
is "$(cat "$T/body")" '{"more":false}' "match[spec_version]=2.0: an empty envelope"
get "$KDE" "$O?added_after=2099-01-01T00:00:00.000Z" >/dev/null
is "$(cat "$T/body")" '{"more":false}' "added_after in the future: empty"
get "$KDE" "$O?added_after=2023-01-01T00:00:00Z&match%5Btype%5D=indicator" >/dev/null
is "$(py 'print(len(d["objects"]))')" 5 "added_after leaves out the markings of 2022"
is "$(get "$KDE" "$O?limit=0")" 400 "limit=0 is 400"
is "$(py 'print(d["http_status"])')" 400 "with an error object"
is "$(get "$KDE" "$O?limit=abc")" 400 "limit=abc is 400"
is "$(get "$KDE" "$O?next=garbage")" 400 "a bad next is 400"
is "$(get "$KDE" "$O?added_after=yesterday")" 400 "a bad added_after is 400"
is "$(get "$KDE" "$O?limit=1&limit=2")" 400 "a repeated parameter is 400"
is "$(get "$KDE" "$O?match%5Bversion%5D=last")" 200 "match[version]=last is 200"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KDE" -H "Content-Type: application/stix+json;version=2.1" --data-binary '{}' "$O")" 405 "POST to a read-only collection is 405"

# 7b. manifest, one object, its versions; unknown query parameters
M="$U/taxii2/bulwark/collections/$ALL/manifest/"
is "$(get "$KDE" "$M")" 200 "the manifest is 200"
is "$(hdr Content-Type)" "$TX" "as taxii+json"
is "$(py 'print(len(d["objects"]), all(sorted(m) == ["date_added", "id", "media_type", "version"] for m in d["objects"]))')" \
	"10 True" "10 manifest records with id, date_added, version, media_type"
is "$(py 'print(set(m["media_type"] for m in d["objects"]))')" "{'application/stix+json;version=2.1'}" "of media type stix+json 2.1"
ok $([ -n "$(hdr X-TAXII-Date-Added-First)" ]; echo $?) "with X-TAXII-Date-Added-First"
get "$KDE" "$M?match%5Btype%5D=indicator&limit=2" >/dev/null
is "$(py 'print(len(d["objects"]), d["more"], "next" in d)')" "2 True True" "filtered and paged like objects"
get "$KFR" "$M" >/dev/null
is "$(py 'print(len(d["objects"]))')" 8 "FR's manifest leaves out what FR may not see"
is "$(get "$KDE" "$M" -H 'Accept: application/stix+json;version=2.1')" 406 "the manifest is not STIX: 406 for stix+json only"
REDID=$(get "$KDE" "$O?match%5Btype%5D=indicator" >/dev/null; py 'print([o["id"] for o in d["objects"] if o["name"] == "red.example"][0])')
REDMOD=$(py 'print([o["modified"] for o in d["objects"] if o["name"] == "red.example"][0])')
is "$(get "$KDE" "$O$REDID/")" 200 "one object is 200"
is "$(py 'print(len(d["objects"]), d["objects"][0]["name"], d["more"])')" "1 red.example False" "as an envelope of that object"
is "$(get "$KFR" "$O$REDID/")" 404 "one FR may not see is 404"
is "$(py 'print(d["http_status"], d["title"])')" "404 object not found" "with an error object"
is "$(get "$KDE" "$O$REDID/versions/")" 200 "its versions are 200"
is "$(py 'print(d["versions"] == ["'"$REDMOD"'"], d["more"])')" "True False" "one version: its modified"
is "$(get "$KFR" "$O$REDID/versions/")" 404 "none for FR: 404"
is "$(get "$KDE" "$O$REDID/versions/?match%5Bspec_version%5D=2.0")" 200 "versions with spec_version 2.0: 200"
is "$(cat "$T/body")" '{"more":false}' "and empty"
is "$(get "$KDE" "$O$RED/")" 200 "a marking definition by id"
is "$(get "$KDE" "$O""indicator--00000000-0000-5000-8000-000000000000/")" 404 "an unknown object is 404"
is "$(get "$KDE" "$O""NOT%20AN%20ID/")" 404 "a malformed id is 404"
is "$(get "$KDE" "$O$REDID/other/")" 404 "an unknown sub-resource is 404"
is "$(get "$KDE" "$O?match%5Bcolor%5D=red")" 400 "an unknown filter is 400"
is "$(py 'print(d["http_status"], d["description"])')" "400 unknown query parameter match[color]" "with an error object naming it"
is "$(get "$KDE" "$O?limit=2&foo")" 400 "an argument without value is 400"
is "$(get "$KDE" "$O$REDID/?match%5Btype%5D=indicator")" 400 "match[type] on one object is 400"
is "$(get "$KDE" "$O$REDID/versions/?match%5Bversion%5D=all")" 400 "match[version] on versions is 400"
is "$(get "$KDE" "$M?bogus=1")" 400 "an unknown one on the manifest is 400"
is "$(get "$KDE" "$U/taxii2/?x=1")" 400 "discovery takes no arguments: 400"
is "$(get "$KDE" "$U/taxii2/bulwark/collections/?limit=1")" 400 "nor does collections: 400"

# 7c. POST to the inbound collection
I="$U/taxii2/bulwark/collections/$INB/objects/"
SX='application/stix+json;version=2.1'
records() { python3 -c "import sqlite3; print(sqlite3.connect('$DB').execute('SELECT count(*) FROM record').fetchone()[0])"; }
post() { # KEY FILE [curl args]: status; body in $T/body (CT, AC: other types)
	local k=$1 f=$2
	shift 2
	curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $k" \
		-H "Content-Type: ${CT:-$SX}" -H "Accept: ${AC:-$TX}" --data-binary "@$f" "$@" "$I"
}
is "$(get "$KDE" "$I")" 403 "reading the inbound collection is 403"
is "$(get "$KDE" "$U/taxii2/bulwark/collections/$INB/" -H "Accept: $TX")" 200 "the inbound collection resource is 200"
is "$(py 'print(d["can_write"], d["media_types"][0])')" "True $SX" "writable, STIX 2.1"
R0=$(records)
# over max_content_length: 413 before the body is read
MAXLEN=10485760
head -c $((MAXLEN + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
code=$(curl -s -o "$T/body" -w '%{http_code} %{size_upload}' -H "Authorization: Bearer $KDE" \
	-H "Content-Type: $SX" --data-binary "@$T/big.json" "$I")
is "${code% *}" 413 "a body of max_content_length + 1 is 413"
ok $([ "${code#* }" -lt $MAXLEN ]; echo $?) "answered before the body was sent (${code#* } bytes went)"
is "$(py 'print(d["http_status"], d["title"])')" "413 request too large" "with an error object"
code=$(curl -s -o "$T/body" -w '%{http_code} %{size_upload}' -H "Content-Type: $SX" \
	--data-binary "@$T/big.json" "$I")
is "${code% *}" 401 "without a key: 401"
ok $([ "${code#* }" -lt $MAXLEN ]; echo $?) "before the body was read (${code#* } bytes went)"
is "$(py 'print(d["http_status"])')" 401 "with an error object"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KDE" -H "Content-Type: $SX" \
	-H 'Transfer-Encoding: chunked' --data-binary '{}' "$I")" 411 "a body without Content-Length is 411"
# malformed: good indicators first, then broken JSON
python3 - "$T" <<'PYEOF'
import json, sys
t = sys.argv[1]
def ind(n, value, marking=None, extra=None):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": "indicator--00000000-0000-4000-8000-%012d" % n,
         "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z",
         "pattern": "[domain-name:value = '%s']" % value, "pattern_type": "stix",
         "valid_from": "2026-05-01T00:00:00Z",
         "created_by_ref": "identity--00000000-0000-4000-8000-000000000001"}
    if marking: o["object_marking_refs"] = [marking]
    if extra: o.update(extra)
    return o
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
ident = {"type": "identity", "spec_version": "2.1", "id": "identity--00000000-0000-4000-8000-000000000001",
         "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z", "name": "public"}
good = {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": [
    ident,
    ind(1, "posted-clear.example", CLEAR),
    ind(2, "posted-red.example", RED, {"x_bulwark_recipients": ["EE"]}),
    ind(3, "posted-none.example"),
    ind(4, "x", CLEAR, {"pattern": "[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']"})]}
json.dump(good, open(t + "/good.json", "w"))
bad = json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000002",
                  "objects": [ind(5, "half-ingested.example", CLEAR)]})
open(t + "/bad.json", "w").write(bad[:-2] + ',{"type": "indicator", "id": ')
open(t + "/notbundle.json", "w").write('{"hello": "world"}')
PYEOF
is "$(post "$KDE" "$T/bad.json")" 422 "a malformed bundle is 422"
is "$(py 'print(d["http_status"], d["title"])')" "422 unprocessable bundle" "with an error object"
is "$(records)" "$R0" "and the store is unchanged"
is "$(post "$KDE" "$T/notbundle.json")" 422 "JSON that is not a bundle is 422"
is "$(records)" "$R0" "the store is still unchanged"
is "$(CT=application/json post "$KDE" "$T/good.json")" 415 "Content-Type application/json is 415"
is "$(AC=text/html post "$KDE" "$T/good.json")" 406 "Accept text/html is 406"
is "$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KDE" -H "Content-Type: $SX" \
	--data-binary "@$T/good.json" "$I?x=1")" 400 "a query argument on a POST is 400"
is "$(records)" "$R0" "none of these added anything"
# a good bundle from FR
is "$(post "$KFR" "$T/good.json")" 202 "a good bundle is 202"
is "$(hdr Content-Type)" "$TX" "as taxii+json"
is "$(py 'print(d["status"], d["total_count"], d["success_count"], d["failure_count"], d["pending_count"])')" \
	"complete 4 3 1 0" "a status resource: 4 indicators, 3 stored, 1 not supported, none pending"
SID=$(py 'print(d["id"])')
is "$(records)" "$((R0 + 3))" "three records more in the store"
is "$(get "$KFR" "$U/taxii2/bulwark/status/$SID/" -H "Accept: $TX")" 200 "FR reads its status"
is "$(py 'print(d["id"] == "'"$SID"'", d["total_count"], d["success_count"], d["failure_count"], d["pending_count"], "request_timestamp" in d)')" \
	"True 4 3 1 0 True" "with the same counts"
is "$(get "$KDE" "$U/taxii2/bulwark/status/$SID/")" 404 "DE may not read FR's status"
is "$(get "$KFR" "$U/taxii2/bulwark/status/00000000-0000-4000-8000-000000000000/")" 404 "an unknown status is 404"
is "$(python3 -c "import sqlite3; print(' '.join(r[0] for r in sqlite3.connect('$DB').execute(\"SELECT DISTINCT s.name FROM record r JOIN source s ON s.id = r.source_id JOIN indicator i ON i.id = r.indicator_id WHERE i.value LIKE 'posted-%'\")))")" \
	"tenant:FR" "recorded under FR's source, not the bundle's identity"
is "$(names "$KDE" "$ALL" | tr ' ' '\n' | grep posted | tr '\n' ' ')" "posted-clear.example posted-none.example " "DE sees the CLEAR and the unmarked (AMBER) ones"
is "$(names "$KEE" "$ALL" | tr ' ' '\n' | grep posted | tr '\n' ' ')" "posted-clear.example posted-none.example posted-red.example " "EE, named in x_bulwark_recipients, also the RED one"
is "$(mark "$KEE" posted-red.example)" "$RED" "marked RED"
is "$(mark "$KDE" posted-none.example)" "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421" "the unmarked one AMBER"
is "$(post "$KFR" "$T/good.json")" 202 "the same bundle again is 202"
is "$(records)" "$((R0 + 3))" "and adds no record"
# exactly max_content_length (the bundle, then white space) is read whole
cp "$T/good.json" "$T/full.json"
head -c $((MAXLEN - $(stat -c %s "$T/good.json"))) /dev/zero | tr '\0' ' ' >>"$T/full.json"
is "$(post "$KFR" "$T/full.json")" 202 "a bundle of exactly max_content_length is 202"
is "$(py 'print(d["success_count"])')" 3 "and read whole"

# slow uploads hold their declared size: four of max_content_length fill
# the budget (4 x max), a fifth post waits for them with 503, and when
# they go away the memory is given back
python3 - "$PORT" "$KFR" "$INB" "$T" <<'PYEOF' &
import socket, sys, time, os
port, key, inb, t = sys.argv[1:5]
socks = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(("POST /taxii2/bulwark/collections/%s/objects/ HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\nAccept: application/taxii+json;version=2.1\r\n"
               "Content-Type: application/stix+json;version=2.1\r\nContent-Length: 10485760\r\n\r\n{"
               % (inb, key)).encode())
    socks.append(s)
open(t + "/slow.ready", "w").close()
while not os.path.exists(t + "/slow.done"):
    time.sleep(0.05)
for s in socks:
    s.close()
PYEOF
SLOW=$!
for _ in $(seq 100); do [ -e "$T/slow.ready" ] && break; sleep 0.05; done
sleep 0.3
is "$(post "$KFR" "$T/good.json")" 503 "while four slow uploads hold the budget, a post is 503"
touch "$T/slow.done"
wait $SLOW
ok=
for _ in $(seq 50); do
	[ "$(post "$KFR" "$T/good.json")" = 202 ] && { ok=1; break; }
	sleep 0.1
done
ok $([ -n "$ok" ]; echo $?) "once they are gone, a post is 202 again"

# 8. the objects against the OASIS STIX 2.1 schemas (as stix_schema.sh)
if command -v node >/dev/null 2>&1 && [ -d "${BW_SRCDIR:-}/tests/js/node_modules/ajv" ]; then
	get "$KEE" "$O" >/dev/null
	python3 -c "import json; d=json.load(open('$T/body')); json.dump({'type':'bundle','id':'bundle--6f1c1e4e-0f6b-4a4e-9d0c-2b1b0b0b0b0b','objects':d['objects']}, open('$T/bundle.json','w'))"
	node "$(dirname "$0")/stix_schema.js" "$BW_TEST_DATA/stix2-schemas" "$T/bundle.json" \
		$((_n + 1)) >"$T/tap"
	status=$?
	cat "$T/tap"
	nfail=$(grep -c '^not ok ' "$T/tap")
	_n=$((_n + $(grep -c -E '^(not )?ok ' "$T/tap")))
	_failed=$((_failed + nfail))
	ok $((status != 0 && nfail == 0)) "the schema checker ran to its end"
else
	ok 0 "# SKIP no node or tests/js/node_modules for the STIX schemas"
fi

# 9. the log names the tenant, never the key
ok $(! grep -q "$KDE" "$T/log"; echo $?) "the log never contains a key"
contains "$(grep 'path=/taxii2/bulwark/collections/' "$T/log" | head -1)" "tenant=DE" "the log names the tenant"

kill -TERM $PID
wait $PID
is $? 0 "a clean exit on SIGTERM"
done_testing
