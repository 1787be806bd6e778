#!/bin/bash
# tenant.sh - bulwark tenant: eligible and refused countries, one tenant per
# country, keys printed once and stored only as a hash, key list and
# revocation, JSON output, usage errors, and the national scope.
. "$(dirname "$0")/lib.sh"

DB=$T/t.db
B() { "$BULWARK" "$@"; }

# 1. tenants
out=$(B tenant add --db "$DB" --country de --name "BSI CERT-Bund")
is $? 0 "add DE (lower case) exits 0"
is "$out" "added tenant DE (BSI CERT-Bund)" "add says what it added"
B tenant add --db "$DB" --country EE --name "CERT-EE" >/dev/null
B tenant add --db "$DB" --country va --name "Vatican City" >/dev/null
is $? 0 "Vatican City is eligible"
B tenant add --db "$DB" --country GB --name "NCSC" >/dev/null
is $? 0 "the United Kingdom is eligible"
B tenant add --db "$DB" --country UA --name "CERT-UA" >/dev/null
is $? 0 "a candidate country (UA) is eligible"
err=$(B tenant add --db "$DB" --country US --name "CISA" 2>&1 >/dev/null)
is $? 1 "US is refused with exit 1"
contains "$err" "US is not eligible for the programme" "the refusal names the country"
contains "$err" "AL AT BA BE" "and lists the eligible ones"
err=$(B tenant add --db "$DB" --country RU --name x 2>&1 >/dev/null)
is $? 1 "RU is refused"
err=$(B tenant add --db "$DB" --country DE --name "again" 2>&1 >/dev/null)
is $? 1 "a second tenant for DE is refused"
contains "$err" 'DE already has a tenant ("BSI CERT-Bund")' "saying which exists"
B tenant add --db "$DB" --country DEU --name x 2>/dev/null
is $? 2 "a three-letter code is a usage error"
B tenant add --db "$DB" --name x 2>/dev/null
is $? 2 "add without --country is a usage error"
B tenant list --db "$DB" --country DE 2>/dev/null
is $? 2 "list with --country is a usage error"
B tenant list --db "$T/none.db" 2>/dev/null
is $? 1 "list needs an existing store"
list=$(B tenant list --db "$DB" | awk '{print $1}' | tr '\n' ' ')
is "$list" "DE EE GB UA VA " "list by country"

# 2. keys
k1=$(B tenant key add de --db "$DB" 2>"$T/err")
is $? 0 "key add exits 0"
contains "$(cat "$T/err")" "key 1 for DE; it is shown only this once" "key add says the key is shown once"
ok $([[ $k1 =~ ^bwk_1_[0-9a-f]{64}$ ]]; echo $?) "the key is bwk_1_ and 64 hex digits"
k2=$(B tenant key add DE --db "$DB" 2>/dev/null)
k3=$(B tenant key add EE --db "$DB" 2>/dev/null)
ok $([ "$k1" != "$k2" ] && [[ $k2 =~ ^bwk_2_ ]] && [[ $k3 =~ ^bwk_3_ ]]; echo $?) "keys are numbered and differ"
B tenant key add FR --db "$DB" 2>/dev/null
is $? 1 "no key for a country without a tenant"
# nothing of the secret is in the store file
secret=${k1##*_}
ok $(! grep -qa "$secret" "$DB" "$DB-wal" 2>/dev/null; echo $?) "the key is not in the store"
if command -v sqlite3 >/dev/null; then
	is "$(sqlite3 "$DB" 'SELECT count(*) FROM api_key WHERE length(hash) = 32')" 3 "three 32-byte hashes stored"
fi
is "$(B tenant key revoke DE 1 --db "$DB")" "revoked key 1 of DE" "revoke key 1"
B tenant key revoke EE 1 --db "$DB" 2>/dev/null
is $? 1 "EE cannot revoke DE's key"
B tenant key revoke DE 99 --db "$DB" 2>/dev/null
is $? 1 "an unknown key id is an error"
B tenant key revoke DE x1 --db "$DB" 2>/dev/null
is $? 2 "a KEYID that is not a number is a usage error"
B tenant key revoke DE --db "$DB" 2>/dev/null
is $? 2 "revoke without KEYID is a usage error"
kl=$(B tenant key list DE --db "$DB" | awk '{print $1, $4}' | tr '\n' ' ')
is "$kl" "1 revoked 2 active " "key list shows the revocation"
B tenant list --db "$DB" | grep -q '^DE .* 1 active key, 1 revoked$'
ok $? "list counts active and revoked keys"
json=$(B tenant list --json --db "$DB")
if command -v jq >/dev/null; then
	is "$(printf '%s' "$json" | jq -r '.[0].country, .[0].name, (.[0].keys | length), (.[0].keys[0].revoked != null), .[0].keys[1].revoked, (.[1].keys[0].id)' | tr '\n' ' ')" \
		"DE BSI CERT-Bund 2 true null 3 " "list --json"
	is "$(B tenant key list EE --json --db "$DB" | jq -r '.[0].id')" 3 "key list --json"
fi
ok $(! printf '%s' "$json" | grep -q "$secret"; echo $?) "no key in the JSON listing"
B tenant frobnicate --db "$DB" 2>/dev/null
is $? 2 "an unknown verb is a usage error"

# 5. national scope
is "$(B tenant scope GB --db "$DB" | head -1)" "cctld:uk  (default)" "GB's default ccTLD is uk"
out=$(B tenant scope ee --add cidr:192.0.2.77/24 asn:AS64500 domain:GOV.EE brand:err.ee --db "$DB")
is $? 0 "scope --add exits 0"
contains "$out" "added cidr:192.0.2.0/24 to the scope of EE" "canonical CIDR"
contains "$out" "added asn:64500 to the scope of EE" "canonical ASN"
B tenant scope EE domain:gov.ee --db "$DB" >/dev/null
is $? 0 "adding again (without --add) is fine"
B tenant scope EE --remove cctld:ee --db "$DB" >/dev/null
is $? 0 "the default ccTLD can be removed"
err=$(B tenant scope EE --remove cctld:ee --db "$DB" 2>&1 >/dev/null)
is $? 1 "removing it twice is an error"
contains "$err" "cctld:ee is not in the scope of EE" "saying what is missing"
is "$(B tenant scope EE --list --db "$DB" | tr '\n' ' ')" \
	"cctld:ee  (default, removed) asn:64500 brand:err.ee cidr:192.0.2.0/24 domain:gov.ee addresses located in EE (with a country database) " \
	"scope --list"
if command -v jq >/dev/null; then
	is "$(B tenant scope EE --list --json --db "$DB" | jq -r '.[0].included, .[0].default, .[1].kind, .[1].value, (length)' | tr '\n' ' ')" \
		"false true asn 64500 5 " "scope --list --json"
fi
B tenant scope EE --add cidr:300.0.0.0/8 --db "$DB" 2>/dev/null
is $? 2 "a bad CIDR is a usage error"
B tenant scope EE --add --remove asn:1 --db "$DB" 2>/dev/null
is $? 2 "--add and --remove exclude each other"
B tenant scope EE --add --db "$DB" 2>/dev/null
is $? 2 "--add needs an entry"
B tenant scope EE --json asn:1 --db "$DB" 2>/dev/null
is $? 2 "--json only lists"
B tenant list --list --db "$DB" 2>/dev/null
is $? 2 "--list is for scope"
B tenant scope FR --db "$DB" 2>/dev/null
is $? 1 "no tenant, no scope"

# gateway keys: kind and label, shown by key list; options only for key add
g=$(B tenant key add EE --gateway --label "nginx at the portal" --db "$DB" 2>"$T/err")
is $? 0 "key add --gateway exits 0"
ok $([[ $g =~ ^bwk_[0-9]+_[0-9a-f]{64}$ ]]; echo $?) "and prints a key of the same form"
contains "$(cat "$T/err")" "gateway key" "saying it is a gateway key"
gid=${g#bwk_}; gid=${gid%%_*}
contains "$(B tenant key list EE --db "$DB")" "$gid  created" "key list shows it"
contains "$(B tenant key list EE --db "$DB" | grep "^$gid ")" "active  gateway  nginx at the portal" "with kind and label"
contains "$(B tenant key list EE --db "$DB" | head -1)" "  tenant" "a tenant key says tenant"
if command -v jq >/dev/null; then
	is "$(B tenant key list EE --json --db "$DB" | jq -r '.[-1] | .kind + "|" + .label')" \
		"gateway|nginx at the portal" "key list --json has kind and label"
	is "$(B tenant key list EE --json --db "$DB" | jq -r '.[0].label')" null "no label: null"
fi
B tenant key add EE --label "$(head -c 200 /dev/zero | tr '\0' x)" --db "$DB" >/dev/null 2>&1
is $? 1 "a label over 128 bytes is refused"
B tenant list --gateway --db "$DB" 2>/dev/null
is $? 2 "--gateway is for key add"
B tenant key list EE --label x --db "$DB" 2>/dev/null
is $? 2 "--label is for key add"
done_testing
