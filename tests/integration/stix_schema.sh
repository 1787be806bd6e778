#!/bin/bash
# stix_schema.sh - the STIX export against the OASIS STIX 2.1 JSON schemas.
#
# Builds a store from the sample data with the bulwark binary (plain and
# DROP lists with the options a curator adds, and STIX bundles), exports it
# with `bulwark export --format stix`, and checks the bundle and every object
# in it with ajv (tests/integration/stix_schema.js, schemas committed in
# tests/data/stix2-schemas), plus the TLP 2.0 marking definitions it refers
# to.  Then the export goes back in and gives as many records.
. "$(dirname "$0")/lib.sh"

: "${BW_SRCDIR:?}"
S=$BW_TEST_DATA/stix
DB=$T/store.db
B() { "$BULWARK" "$@"; }

if ! command -v node >/dev/null 2>&1 ||
	[ ! -d "$BW_SRCDIR/tests/js/node_modules/ajv" ]; then
	ok 1 "node and tests/js/node_modules (scripts/install-deps runs npm ci --prefix tests/js)"
	done_testing
	exit 1
fi

# 1. a store from real sample data
B ingest --db "$DB" "$S/roundtrip-domains.txt" >"$T/out" 2>"$T/err"
ok $? "ingest a plain list"
B ingest --db "$DB" --tlp GREEN --confidence 80 --tag botnet --tag "campaign:Drop Watch" \
	--share-with DE,NL "$S/roundtrip-drop.txt" >"$T/out" 2>"$T/err"
ok $? "ingest Spamhaus DROP with TLP, confidence, tags and recipients"
B ingest --db "$DB" --tlp RED --tag "malware:Mirai" "$S/roundtrip-dropv6.txt" >"$T/out" 2>"$T/err"
ok $? "ingest Spamhaus DROPv6"
# the handmade bundle has rejects on purpose: exit status 3
B ingest --db "$DB" "$S/bulwark-features.json" >"$T/out" 2>"$T/err"
is $? 3 "ingest the feature bundle (with its deliberate rejects)"
B ingest --db "$DB" "$S/apt1.json" "$S/taxii-envelope.json" "$S/indicators-for-C2-with-COA.json" \
	"$S/indicator-for-malicious-url.json" "$S/using-marking-definitions.json" \
	"$S/sighting-of-an-indicator.json" >"$T/out" 2>"$T/err"
ok $? "ingest the OASIS example bundles"

# 2. the export
B export --db "$DB" --format stix --all >"$T/export.json" 2>"$T/err"
ok $? "export --format stix"
B export --db "$DB" --format csv --all >"$T/a.csv"
records=$(($(wc -l <"$T/a.csv") - 1))
ok $((records <= 400)) "the store holds $records records"

# 3. the schemas (numbering continues in the node script)
node "$(dirname "$0")/stix_schema.js" "$BW_TEST_DATA/stix2-schemas" "$T/export.json" \
	$((_n + 1)) >"$T/tap"
status=$?
cat "$T/tap"
nfail=$(grep -c '^not ok ' "$T/tap")
_n=$((_n + $(grep -c -E '^(not )?ok ' "$T/tap")))
_failed=$((_failed + nfail))
ok $((status != 0 && nfail == 0)) "the schema checker ran to its end"

# 4. back in, without rejects, as many records (tests/unit/test_stix.c
# compares them field by field)
B ingest --db "$T/back.db" "$T/export.json" >"$T/out" 2>"$T/err"
ok $? "the export ingests without rejects"
B export --db "$T/back.db" --format csv --all >"$T/b.csv"
is "$(($(wc -l <"$T/b.csv") - 1))" "$records" "as many records come back"

done_testing
