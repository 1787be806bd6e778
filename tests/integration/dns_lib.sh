# dns_lib.sh - what the resolver tests (dns_unbound.sh, dns_bind.sh) share
# (sourced after lib.sh, with DB, BWPORT and RESOLVER_PORT set).
#
# Actions are made the way an operator makes them: an authorisation whose
# scope file lists the lab names and the lab network, then `bulwark
# disrupt propose` by one operator and `approve` by another; revocation by
# `bulwark disrupt revoke`.  The daemon sees each change through the store.

PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${BW_KEEP:-}" ] && trap "for p in \$PIDS; do kill \$p; done" EXIT

sql() { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }
bwd() { "$BULWARK" disrupt "$@" --db "$DB" 2>/dev/null; }

# make_store: the store with one authorisation (id 1) covering the lab
make_store() {
	printf 'early.lab\nevil.lab\nsink.lab\n192.0.2.0/24\n' >"$T/scope.txt"
	"$BULWARK" authz add --db "$DB" --authority "Test court" --reference T-1 \
		--jurisdiction DE --scope "file:$T/scope.txt" --valid-from now \
		--valid-until 2099-01-01 --operator alice >/dev/null
}

# add_action ID TYPE TARGET KIND [SINKHOLE]: proposed by alice, approved by
# bob; fails the test run if the new action does not get id ID or does not
# become active
add_action() {
	local what=--domain extra="" id state
	[ "$2" = 2 ] && what=--ip
	[ -n "${5:-}" ] && extra="--sinkhole $5"
	# shellcheck disable=SC2086
	id=$(bwd propose $what "$3" --authz 1 --kind "$4" $extra --operator alice --json | jq -r .id)
	state=$(bwd approve "$id" --operator bob --json | jq -r .state)
	if [ "$id" != "$1" ] || [ "$state" != active ]; then
		echo "# add_action $*: got id $id state $state" >&2
		return 1
	fi
}
revoke_action() { bwd revoke "$1" --reason "test" --operator carol >/dev/null; }

q() { # NAME [TYPE]: status and answers at the resolver, one line
	dig +time=1 +tries=1 @127.0.0.1 -p "$RESOLVER_PORT" "$1" "${2:-A}" 2>&1 |
		awk '/status:/ {sub(",", "", $6); s=$6} /^;; [A-Z]+ SECTION:/ {an = /ANSWER/}
			an && /^[^;].*\tIN\t/ {a = a " " $NF} END {print s a}'
}
# wait_for NAME WANT: polls the resolver every 20 ms for up to 10 s
wait_for() {
	local got
	for _ in $(seq 500); do
		got=$(q "$1")
		[ "$got" = "$2" ] && break
		sleep 0.02
	done
	printf '%s' "$got"
}

# passthru_checks [DIG-ARGS]: an operator's exception (guard entry, CNAME
# rpz-passthru.) inside the blocked evil.lab, whose stand-in zone has
# ok.evil and www.ok.evil at 192.0.2.14: it resolves while its siblings
# stay NXDOMAIN, by IXFR; an AXFR (asked with DIG-ARGS, e.g. a TSIG key)
# holds the records of bulwark export --format rpz; taken off the list the
# name is blocked again, by IXFR too
passthru_checks() {
	local n0 n1 serial axfr
	is "$(q ok.evil.lab)" "NXDOMAIN" "ok.evil.lab is blocked with its parent"
	n0=$(grep -c "event=dns_xfr type=IXFR client=127.0.0.1" "$T/bw.log")
	bwd guard add ops ok.evil.lab --reason "partner" --operator alice >/dev/null
	ok $? "ok.evil.lab put on the operator list ops"
	is "$(wait_for ok.evil.lab "NOERROR 192.0.2.14")" "NOERROR 192.0.2.14" "the exception resolves inside the blocked domain"
	is "$(q www.ok.evil.lab)" "NOERROR 192.0.2.14" "and so do its subdomains"
	is "$(q www.evil.lab)" "NXDOMAIN" "its siblings stay NXDOMAIN"
	is "$(q evil.lab)" "NXDOMAIN" "the blocked domain itself too"
	serial=$(dig +short @127.0.0.1 -p "$BWPORT" rpz.bulwark SOA | awk '{print $3}')
	grep -q "event=dns_xfr type=IXFR client=127.0.0.1 serial=$serial " "$T/bw.log"
	ok $? "the exception reached the resolver by IXFR (serial $serial)"
	axfr=$(dig "$@" +tcp @127.0.0.1 -p "$BWPORT" rpz.bulwark AXFR | awk '!/^;/ && NF && $4 != "TSIG" {print $1, $4, $5}')
	contains "$axfr" "ok.evil.lab.rpz.bulwark. CNAME rpz-passthru." "an AXFR has the exception as well"
	contains "$axfr" "*.ok.evil.lab.rpz.bulwark. CNAME rpz-passthru." "with its *. trigger"
	# the served zone is the exported one, record for record
	"$BULWARK" export --db "$DB" --format rpz 2>/dev/null | awk '!/^[;$@]/ && NF {print $1 ".rpz.bulwark.", $3, $4}' |
		sort >"$T/export.txt"
	printf '%s\n' "$axfr" | grep -v "^rpz.bulwark. " | sort >"$T/axfr.txt"
	ok "$(diff -u "$T/export.txt" "$T/axfr.txt" >&2; echo $?)" "the AXFR holds the records of bulwark export --format rpz"
	bwd guard remove ops ok.evil.lab --operator alice >/dev/null
	ok $? "ok.evil.lab taken off the list"
	is "$(wait_for ok.evil.lab NXDOMAIN)" "NXDOMAIN" "after that it is blocked again"
	n1=$(grep -c "event=dns_xfr type=IXFR client=127.0.0.1" "$T/bw.log")
	ok "$([ "$n1" -ge $((n0 + 2)) ]; echo $?)" "both changes went by IXFR ($((n1 - n0)))"
}
