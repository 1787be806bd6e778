#!/bin/bash
# report.sh - bulwark report: the figures of a tenant's report equal those
# computed here straight from the store with sqlite3 for the same period
# (TLP, national scope, sightings per day, families, lookalikes, actions),
# the HTML carries them and its charts inline, and the PDF renders with
# poppler's pdftoppm and numbers its pages.
. "$(dirname "$0")/lib.sh"

DB=$T/r.db
B() { "$BULWARK" "$@"; }
Q() { sqlite3 "$DB" "$@"; }
# No geo database: the scope is the ccTLD, a CIDR and a brand only, so that
# the reference queries below can say it in SQL.
NOGEO=none

# Period: the week 2026-11-16 .. 2026-11-23; the week before is the
# "previous" period.
FROM=2026-11-16T00:00:00Z
TO=2026-11-23T00:00:00Z
FROM_S=$(date -ud $FROM +%s)
TO_S=$(date -ud $TO +%s)

printf 'a.bad.ee\nb.bad.ee\nerr-ee-login.example\nerr.ee.verify.example\nwww.err.ee\n' >"$T/ee.txt"
printf 'evil.example\nother.example\n203.0.113.9\n' >"$T/world.txt"
printf 'red-secret.ee\n' >"$T/red.txt"
printf 'red-shared.ee\n' >"$T/shared.txt"
B ingest --db "$DB" --source ee-feed --confidence 90 --tag malware:Lumma "$T/ee.txt" >/dev/null
B ingest --db "$DB" --source world-feed --confidence 40 --tag actor:APT-X "$T/world.txt" >/dev/null
B ingest --db "$DB" --source red-feed --tlp RED --tag campaign:Secret-Op "$T/red.txt" >/dev/null
printf 'err-ee-login.example\n' >"$T/doppel.txt"
B ingest --db "$DB" --source influence-feed --tag campaign:Doppelganger "$T/doppel.txt" >/dev/null
B ingest --db "$DB" --source shared-feed --tlp RED --share-with EE "$T/shared.txt" >/dev/null
B tenant add --db "$DB" --country EE --name Estonia >/dev/null
B tenant add --db "$DB" --country FI --name Finland >/dev/null
B tenant scope EE cidr:192.0.2.0/24 brand:err.ee --db "$DB" >/dev/null

# Ingest time is "now": move the records into the periods under test so
# that "new" and "previous" both hold something (two records a week earlier).
Q "UPDATE record SET added = $FROM_S + 3600;"
Q "UPDATE record SET added = $FROM_S - 86400 WHERE indicator_id IN
   (SELECT id FROM indicator WHERE value IN ('b.bad.ee', 'evil.example'));"

# Sightings from observers inside (192.0.2.x) and outside the scope, over
# several days, of national and foreign names and of the RED one.
cat >"$T/q.log" <<'EOF'
16-Nov-2026 10:00:00.000 client @0x1 192.0.2.10#5000 (a.bad.ee): query: a.bad.ee IN A +E(0) (10.0.0.1)
16-Nov-2026 10:30:00.000 client @0x1 192.0.2.10#5000 (x.a.bad.ee): query: x.a.bad.ee IN A +E(0) (10.0.0.1)
18-Nov-2026 08:00:00.000 client @0x1 192.0.2.11#5000 (evil.example): query: evil.example IN A +E(0) (10.0.0.1)
18-Nov-2026 09:00:00.000 client @0x1 198.51.100.7#5000 (other.example): query: other.example IN A +E(0) (10.0.0.1)
20-Nov-2026 23:59:00.000 client @0x1 192.0.2.12#5000 (red-secret.ee): query: red-secret.ee IN A +E(0) (10.0.0.1)
22-Nov-2026 12:00:00.000 client @0x1 192.0.2.12#5000 (red-shared.ee): query: red-shared.ee IN A +E(0) (10.0.0.1)
22-Nov-2026 12:10:00.000 client @0x1 192.0.2.13#5000 (a.bad.ee): query: a.bad.ee IN A +E(0) (10.0.0.1)
10-Nov-2026 12:00:00.000 client @0x1 192.0.2.13#5000 (a.bad.ee): query: a.bad.ee IN A +E(0) (10.0.0.1)
23-Nov-2026 00:00:00.000 client @0x1 192.0.2.13#5000 (a.bad.ee): query: a.bad.ee IN A +E(0) (10.0.0.1)
EOF
B match --db "$DB" --record "$T/q.log" >/dev/null 2>&1

# Two actions: one on a national name, one on a foreign one.
Q "INSERT INTO authz (id, authority, reference, jurisdiction, scope_kind, scope_value,
     valid_from, valid_until, created, created_by)
   VALUES (1, 'Court', 'X-1', 'EE', 'tag', 'malware:Lumma', 0, 4000000000, 0, 'test');
   INSERT INTO action (id, authz_id, type, target, kind, origin, state, proposed_by,
     created, updated, expires)
   VALUES (1, 1, 1, 'a.bad.ee', 'block', 'manual', 'active', 'op1', $FROM_S, $FROM_S, 4000000000),
          (2, 1, 1, 'evil.example', 'block', 'manual', 'active', 'op1', $FROM_S, $FROM_S, 4000000000);"

B report --db "$DB" --geo "$NOGEO" --tenant ee --from $FROM --to $TO --format json >"$T/r.json" 2>"$T/err"
is $? 0 "report --format json exits 0"
R() { jq -c "$1" "$T/r.json"; }

# The reference, in SQL: a record is visible to EE when not revoked and
# CLEAR/GREEN/AMBER or naming EE; an indicator is national when a ccTLD .ee
# name, an impersonation of err.ee, or sighted from 192.0.2.0/24 before TO.
VIS="EXISTS (SELECT 1 FROM record r WHERE r.indicator_id = i.id AND r.revoked = 0
      AND (r.tlp <= 2 OR EXISTS (SELECT 1 FROM record_recipient p
           WHERE p.record_id = r.id AND p.country = 'EE')))"
SIGHTED="i.id IN (SELECT indicator_id FROM sighting WHERE observer LIKE '192.0.2.%' AND hour < $TO_S)"
NAT="($VIS) AND (i.value LIKE '%.ee' OR i.value LIKE '%err-ee%' OR i.value LIKE 'err.ee.%' OR $SIGHTED)"
ADDED="(SELECT min(added) FROM record r WHERE r.indicator_id = i.id)"

is "$(R .known)" "$(Q "SELECT count(*) FROM indicator i WHERE $NAT AND $ADDED < $TO_S")" "known = store"
is "$(R .new)" "$(Q "SELECT count(*) FROM indicator i WHERE $NAT AND $ADDED >= $FROM_S AND $ADDED < $TO_S")" "new = store"
is "$(R .previous_new)" "$(Q "SELECT count(*) FROM indicator i WHERE $NAT AND $ADDED >= $FROM_S - 604800 AND $ADDED < $FROM_S")" "previous new = store"
is "$(R .known)" 7 "known: 5 .ee names + the shared RED one + evil.example sighted from the scope"
is "$(R .by_type.domain)" 7 "all of them domains"

SIGHT="FROM sighting s JOIN indicator i ON i.id = s.indicator_id
       WHERE s.observer LIKE '192.0.2.%' AND ($VIS)"
is "$(R .sightings)" "$(Q "SELECT sum(count) $SIGHT AND hour >= $FROM_S AND hour < $TO_S")" "sightings = store"
is "$(R .sightings)" 5 "sightings: the RED name not shared with EE and the foreign observer are not counted"
is "$(R .previous_sightings)" "$(Q "SELECT coalesce(sum(count), 0) $SIGHT AND hour >= $FROM_S - 604800 AND hour < $FROM_S")" "previous sightings = store"
is "$(R .observers)" "$(Q "SELECT count(DISTINCT observer) $SIGHT AND hour >= $FROM_S AND hour < $TO_S")" "observers = store"
want_daily=$(Q "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 6)
  SELECT json_group_array(coalesce((SELECT sum(count) $SIGHT AND hour >= $FROM_S + n * 86400
    AND hour < $FROM_S + (n + 1) * 86400), 0)) FROM d")
is "$(R .daily_sightings)" "$want_daily" "sightings per day = store"
is "$(R '[.daily_sightings[]] | add')" "$(R .sightings)" "the days add up to the total"

is "$(R '.families')" '[{"name":"Lumma","count":5}]' "families: Lumma on the five .ee-feed names"
is "$(R '.actors')" '[{"name":"APT-X","count":1}]' "actors: APT-X on the one sighted foreign name"
is "$(R '.lookalikes_total')" 2 "lookalikes: two impersonations of err.ee, not www.err.ee itself"
is "$(jq -r '[.lookalikes[].value] | sort | join(" ")' "$T/r.json")" "err-ee-login.example err.ee.verify.example" "lookalike names"
is "$(R '.campaigns')" '[{"name":"Doppelganger","count":1}]' "campaigns: Doppelganger, not the RED one EE may not see"
is "$(R '.lookalike_actors')" '[{"name":"malware:Lumma","count":2},{"name":"campaign:Doppelganger","count":1}]' \
	"who is behind the lookalikes"
is "$(jq -r '[.actions[].target] | join(" ")' "$T/r.json")" "a.bad.ee evil.example" "actions on national targets (evil.example is sighted from EE)"

# FI sees neither the RED records nor anything national: its ccTLD is .fi
B report --db "$DB" --geo "$NOGEO" --tenant FI --from $FROM --to $TO --format json >"$T/fi.json"
is "$(jq -c '[.known, .sightings, (.actions | length)]' "$T/fi.json")" "[0,0,0]" "FI: nothing of EE's"
contains "$(jq -c . "$T/fi.json")" '"tenant":"Finland"' "FI report names its tenant"

# HTML: the figures, the charts inline, nothing fetched from elsewhere
B report --db "$DB" --geo "$NOGEO" --tenant EE --from $FROM --to $TO --format html --out "$T/r.html"
is $? 0 "report --format html exits 0"
H=$(cat "$T/r.html")
contains "$H" "<td class=\"n\" id=\"h0\">$(R .known)</td>" "HTML: threats in scope"
contains "$H" "<td class=\"n\" id=\"h3\">$(R .sightings)</td>" "HTML: sightings"
is "$(grep -o 'src="data:image/png;base64,' "$T/r.html" | wc -l)" 3 "HTML: three charts inline"
is "$(grep -c 'src="http\|href="http' "$T/r.html")" 0 "HTML: self-contained"
for id in chart-types chart-families chart-daily; do
	grep -o "id=\"$id\"[^>]*base64,[A-Za-z0-9+/=]*" "$T/r.html" | sed 's/.*base64,//' |
		base64 -d >"$T/$id.png" 2>/dev/null
	is "$(head -c 8 "$T/$id.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "HTML: $id is a PNG"
done

# PDF: renders with pdftoppm, every page numbered "page N of M"
B report --db "$DB" --geo "$NOGEO" --tenant EE --from $FROM --to $TO --format pdf --out "$T/r.pdf"
is $? 0 "report --format pdf exits 0"
pdftoppm -r 50 -png "$T/r.pdf" "$T/page" 2>"$T/pdferr"
is $? 0 "pdftoppm renders the PDF"
is "$(cat "$T/pdferr")" "" "pdftoppm says nothing"
pages=$(pdfinfo "$T/r.pdf" | sed -n 's/^Pages: *//p')
is "$(ls "$T"/page*.png | wc -l)" "$pages" "one image per page"
is "$(pdftotext "$T/r.pdf" - | grep -c "page [0-9]* of $pages")" "$pages" "every page numbered"
contains "$(pdftotext "$T/r.pdf" -)" "err-ee-login.example" "PDF lists the lookalikes"

# Errors: unknown tenant, bad period, unwritable output (nothing left behind)
B report --db "$DB" --tenant SE --format json >/dev/null 2>"$T/err"
is $? 1 "unknown tenant: exit 1"
contains "$(cat "$T/err")" "SE" "the message names the country"
B report --db "$DB" --tenant EE --from $TO --to $FROM >/dev/null 2>"$T/err"
is $? 1 "empty period: exit 1"
B report --db "$DB" --tenant EE --format docx >/dev/null 2>&1
is $? 2 "unknown format: usage error"
B report --db "$DB" --geo "$NOGEO" --tenant EE --format pdf --out "$T/no/such/dir/r.pdf" 2>"$T/err"
is $? 1 "unwritable output: exit 1"
is "$(ls "$T/no" 2>/dev/null | wc -l)" 0 "nothing half-written"

done_testing
