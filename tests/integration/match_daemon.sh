#!/bin/bash
# match_daemon.sh - bulwark serve keeps the index snapshot file DB.index
# current for bulwark match (issue 3): after an ingest, the daemon rebuilds
# its index, waits for the store to be quiet and saves the snapshot
# (event=index_saved), and the next match loads it instead of building the
# index from the store, and finds the new indicator.  An ingest with the
# daemon running writes the file itself, and the daemon leaves it.  A
# snapshot the store has moved past (ingest --no-snapshot, no daemon) is
# not used: match rebuilds and finds the change.  A restarted daemon does not rewrite a
# current file.  The daemon listens on 127.0.0.1:19001, without DNS.
. "$(dirname "$0")/lib.sh"

DB=$T/s.db
B() { "$BULWARK" "$@"; }
printf 'evil-a.example\n10.9.0.0/16\n' >"$T/a.txt"
printf 'fresh-b.example\n' >"$T/b.txt"
printf 'later-c.example\n' >"$T/c.txt"
printf 'www.evil-a.example\nx.fresh-b.example\nlater-c.example\n10.9.1.1\nclean.example\n' >"$T/log"
B ingest --db "$DB" --source s1 "$T/a.txt" >/dev/null 2>&1
is $? 0 "the first list is stored"

# serve SNAPSHOT LOG: the daemon on the store in the background (PID),
# its log in LOG
serve() {
	"$BULWARK" serve --db "$DB" --listen 127.0.0.1:19001 --dns no --report-period no \
		--log-requests=no --index-snapshot "$1" >/dev/null 2>"$2" &
	PID=$!
}
serve 1s "$T/serve.log"
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT

# saved N: waits (up to 30 s) until the log holds N index_saved lines
saved() { wait_for 30 lines_matching 'event=index_saved' "$T/serve.log" "$1"; }
lines_matching() { [ "$(grep -c "$1" "$2")" -ge "$3" ]; }
saved 1
ok $? "the daemon saves the snapshot it starts with"
line=$(grep -m 1 'event=index_saved' "$T/serve.log")
contains "$line" "path=$DB.index indicators=2 " "one structured line: the path and the indicators"
contains "$line" " ms=" "and the time it took"
is "$(stat -c %a "$DB.index")" 600 "the file is readable by its owner only"

# 1. a change the daemon must catch by itself (here an ingest told to leave
# the file alone; a bundle posted to the daemon's TAXII inbox is another):
# the daemon saves the new snapshot
B ingest --db "$DB" --source s2 --no-snapshot "$T/b.txt" >/dev/null 2>&1
saved 2
ok $? "after an ingest the daemon saves the snapshot again"
contains "$(grep 'event=index_saved' "$T/serve.log" | sed -n 2p)" "indicators=3 " \
	"with the new indicator"
B match --db "$DB" --format plain "$T/log" >"$T/out1" 2>"$T/err1"
is $? 0 "match exits 0"
contains "$(cat "$T/err1")" "index: 3 indicators, snapshot $DB.index loaded" \
	"match loads the daemon's snapshot instead of building the index"
contains "$(cat "$T/out1")" '"indicator":"fresh-b.example"' "and finds the new indicator"
is "$(wc -l <"$T/out1")" 3 "three sightings (not the later one, not the clean name)"

# 2. quiet store: no further save (the snapshot on file is already current)
sleep 2.5
is "$(grep -c 'event=index_saved' "$T/serve.log")" 2 "an unchanged store is not saved again"

# 2b. a plain ingest with the daemon running rewrites the file itself (one
# was there); the daemon finds the file current and does not write it
printf 'both-d.example\n' >"$T/d.txt"
B ingest --db "$DB" --source s4 "$T/d.txt" >/dev/null 2>"$T/ierr"
contains "$(cat "$T/ierr")" "index: snapshot $DB.index rewritten" \
	"an ingest with the daemon running rewrites the snapshot"
sleep 3
is "$(grep -c 'event=index_saved' "$T/serve.log")" 2 \
	"and the daemon, finding the file current, does not write it again"
B match --db "$DB" --format plain "$T/log" >/dev/null 2>"$T/err1b"
contains "$(cat "$T/err1b")" "index: 4 indicators, snapshot $DB.index loaded" \
	"match loads the snapshot the ingest wrote"

# 3. a change with no daemon and no ingest to keep the file: it is stale
# and not used
kill $PID
wait $PID 2>/dev/null
B ingest --db "$DB" --source s3 --no-snapshot "$T/c.txt" >/dev/null 2>&1
B match --db "$DB" --format plain "$T/log" >"$T/out2" 2>"$T/err2"
is $? 0 "match exits 0"
contains "$(cat "$T/err2")" "index: 5 indicators, built from the store" "a stale snapshot is not used"
contains "$(cat "$T/err2")" "stale: the store's indicators changed since" "and match says why"
contains "$(cat "$T/out2")" '"indicator":"later-c.example"' "the rebuilt index finds the change"
B match --db "$DB" --format plain "$T/log" >"$T/out3" 2>"$T/err3"
contains "$(cat "$T/err3")" "snapshot $DB.index loaded" "the snapshot match wrote is used next"
is "$(cat "$T/out3")" "$(cat "$T/out2")" "with the same sightings"

# 4. a daemon started on a store whose file is current does not write it
# again (it reads what the file was built from in its header)
sum=$(cksum <"$DB.index")
serve 1s "$T/serve3.log"
wait_for 10 grep -q 'event=listening' "$T/serve3.log"
sleep 3
kill $PID
wait $PID 2>/dev/null
ok $(! grep -q index_saved "$T/serve3.log" && [ "$(cksum <"$DB.index")" = "$sum" ]; echo $?) \
	"a current file is not written again after a restart"

# 5. index_snapshot no: the daemon writes no file
rm -f "$DB.index"
serve no "$T/serve2.log"
wait_for 10 grep -q 'event=listening' "$T/serve2.log"
sleep 1.5
ok $([ ! -e "$DB.index" ] && ! grep -q index_saved "$T/serve2.log"; echo $?) \
	"--index-snapshot no: no snapshot written"
done_testing
