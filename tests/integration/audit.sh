#!/bin/bash
# audit.sh - bulwark audit: every change of state is in the chain (ingest,
# tenants and keys, authorisations, actions), verify names the entry that
# was edited, removed or swapped directly in the database, and a signed
# head catches a truncated log and a foreign key.
. "$(dirname "$0")/lib.sh"

export BULWARK_DB=$T/db.sqlite
B=$BULWARK
unset BULWARK_OPERATOR BULWARK_CONF

"$B" ingest --source drop "$BW_TEST_DATA/feeds/spamhaus-drop.txt" >/dev/null 2>&1
"$B" tenant add --country EE --name Estonia >/dev/null
"$B" tenant key add EE >/dev/null 2>&1
"$B" tenant key revoke EE 1 >/dev/null
printf 'evil.example\n' >"$T/scope.txt"
"$B" authz add --authority Court --reference R-1 --jurisdiction EE --scope "file:$T/scope.txt" \
	--valid-from now --valid-until 2099-01-01 --operator alice >/dev/null
"$B" disrupt propose --domain evil.example --authz 1 --operator alice >/dev/null
"$B" disrupt approve 1 --operator bob >/dev/null
"$B" disrupt appeal 1 --reason appeal --operator carol >/dev/null
"$B" disrupt revoke 1 --reason "court order" --operator bob >/dev/null

kinds=$(sqlite3 "$BULWARK_DB" "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM audit ORDER BY id)")
is "$kinds" "ingest.batch tenant.add tenant.key.add tenant.key.revoke authz.add action.proposed action.approved action.active action.held action.revoked" \
	"each change of state has its entry, in order"
is "$(sqlite3 "$BULWARK_DB" "SELECT operator FROM audit WHERE kind = 'action.approved'")" bob "with who acted"
out=$("$B" audit verify --json)
ok $? "verify: intact"
is "$(json_field "$out" entries)" 10 "ten entries"
is "$(printf '%s' "$out" | jq .intact)" true "verify --json says intact"
show=$("$B" audit show --subject action:1 --json)
is "$(printf '%s' "$show" | jq length)" 5 "show --subject lists one object's entries"

# tampering, each on a fresh copy
tamper() { # SQL -> prints verify's output, returns its status
	cp "$BULWARK_DB" "$T/t.sqlite"
	sqlite3 "$T/t.sqlite" "$1"
	BULWARK_DB=$T/t.sqlite "$B" audit verify --json
}
out=$(tamper "UPDATE audit SET operator = 'mallory' WHERE id = 7")
is $? 1 "an edited entry fails verify"
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"edited"/7' "at entry 7, as edited"
out=$(tamper "UPDATE audit SET detail = replace(detail, 'court order', 'no reason') WHERE id = 10")
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"edited"/10' "an edited last entry"
out=$(tamper "DELETE FROM audit WHERE id = 4")
is $? 1 "a removed entry fails verify"
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"removed"/4' "at entry 4, as removed"
out=$(tamper "UPDATE audit SET id = -1 WHERE id = 8; UPDATE audit SET id = 8 WHERE id = 9; UPDATE audit SET id = 9 WHERE id = -1")
is $? 1 "swapped entries fail verify"
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"reordered"/8' "at entry 8, as reordered"
out=$(tamper "UPDATE audit SET time = time + 60 WHERE id = 1")
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"edited"/1' "an edited time in the first entry"
msg=$(tamper "DELETE FROM audit WHERE id = 5" >/dev/null; BULWARK_DB=$T/t.sqlite "$B" audit verify)
contains "$msg" "entry 5 is missing (removed)" "the text says which entry"

# the signed head
pub=$("$B" audit keygen --key "$T/audit.key")
ok $? "keygen"
is "$(stat -c %a "$T/audit.key")" 600 "the key file is private"
"$B" audit keygen --key "$T/audit.key" >/dev/null 2>&1
is $? 1 "keygen never overwrites a key"
"$B" audit sign --key "$T/audit.key" --out "$T/head.json"
ok $? "sign"
is "$(jq -r .public_key "$T/head.json")" "$pub" "the signature names the public key"
"$B" audit verify --signature "$T/head.json" --public-key "$pub" >/dev/null
ok $? "the signed head verifies"
out=$(tamper "DELETE FROM audit WHERE id = 10" >/dev/null; BULWARK_DB=$T/t.sqlite "$B" audit verify --signature "$T/head.json" --public-key "$pub" --json)
is $? 1 "a truncated log fails against the signed head"
is "$(json_field "$out" fault)/$(json_field "$out" entry)" '"signature"/10' "naming the signed entry"
other=$("$B" audit keygen --key "$T/other.key")
"$B" audit verify --signature "$T/head.json" --public-key "$other" >/dev/null
is $? 1 "a head signed by another key is refused"
jq '.signature |= (.[0:2] as $h | ($h | if . == "00" then "11" else "00" end) + .[2:])' "$T/head.json" >"$T/forged.json"
"$B" audit verify --signature "$T/forged.json" >/dev/null
is $? 1 "a forged signature is refused"
done_testing
