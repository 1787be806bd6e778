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
