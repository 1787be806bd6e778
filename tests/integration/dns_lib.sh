# dns_lib.sh - what the resolver tests (dns_unbound.sh, dns_bind.sh) share
# (sourced after lib.sh, with DB, BWPORT and RESOLVER_PORT set).
#
# Actions are made the way an operator makes them: an authorisation whose
# scope file lists the lab names and the lab network, then `bulwark
# disrupt propose` by one operator and `approve` by another; revocation by
# `bulwark disrupt revoke`.  The daemon sees each change through the store.

[ -n "${BW_KEEP:-}" ] && trap "for p in \$pids; do kill \$p; done" EXIT

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

# lab_setup: the store (make_store) with action 1, early.lab blocked before
# the daemon starts, and the stand-in zone lab. in $T/lab.zone
lab_setup() {
	make_store
	add_action 1 1 early.lab block
	ok $? "action 1 on early.lab proposed by one operator and approved by another"
	cat >"$T/lab.zone" <<'EOF'
$ORIGIN lab.
$TTL 0
@ SOA ns.lab. hostmaster.lab. 1 3600 600 86400 0
@ NS ns.lab.
ns A 192.0.2.1
good A 192.0.2.11
evil A 192.0.2.10
www.evil A 192.0.2.10
ok.evil A 192.0.2.14
www.ok.evil A 192.0.2.14
early A 192.0.2.12
sink A 192.0.2.13
www.sink A 192.0.2.13
ip A 192.0.2.66
EOF
}

# start_bulwark [SERVE-ARGS]: bulwark serve with rpz.bulwark. on BWPORT,
# sending NOTIFY to the resolver, its log in $T/bw.log; waits until it
# listens
start_bulwark() {
	"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --dns 127.0.0.1:$BWPORT \
		--rpz-notify 127.0.0.1:$RESOLVER_PORT "$@" 2>"$T/bw.log" &
	pids="$pids $!"
	for _ in $(seq 100); do
		grep -q event=dns_listening "$T/bw.log" 2>/dev/null && break
		sleep 0.05
	done
	contains "$(cat "$T/bw.log")" "event=dns_listening addr=127.0.0.1 port=$BWPORT zone=rpz.bulwark." \
		"bulwark serves rpz.bulwark. on its DNS port"
}

# lab_checks RESOLVER [DIG-ARGS]: with the resolver (named RESOLVER in the
# messages) running on the lab: the action of before the start, a block, a
# sinkhole, an rpz-ip trigger and a revocation, each made while the daemon
# runs; the exception checks (passthru_checks DIG-ARGS); then the daemon's
# view of the transfers: an AXFR first, IXFRs after it, NOTIFY sent
lab_checks() {
	local who=$1 t0 n_ixfr
	shift
	is "$(wait_answer good.lab "NOERROR 192.0.2.11")" "NOERROR 192.0.2.11" "$who answers from the stand-in zone"
	is "$(wait_answer early.lab NXDOMAIN)" "NXDOMAIN" "an action active before the start is enforced (AXFR)"
	is "$(q evil.lab)" "NOERROR 192.0.2.10" "evil.lab resolves before its action"

	t0=$(date +%s%N)
	add_action 2 1 evil.lab block
	ok $? "action 2 on evil.lab proposed by one operator and approved by another"
	is "$(wait_answer evil.lab NXDOMAIN)" "NXDOMAIN" "after the action becomes active: NXDOMAIN"
	echo "# block to NXDOMAIN at $who: $(( ($(date +%s%N) - t0) / 1000000 )) ms (includes dig polling)"
	is "$(wait_answer www.evil.lab NXDOMAIN)" "NXDOMAIN" "and for its subdomains (*. trigger)"
	is "$(q good.lab)" "NOERROR 192.0.2.11" "other names are untouched"
	passthru_checks "$@"

	add_action 3 1 sink.lab sinkhole 10.66.66.66
	ok $? "action 3 on sink.lab proposed by one operator and approved by another"
	is "$(wait_answer sink.lab "NOERROR 10.66.66.66")" "NOERROR 10.66.66.66" "a sinkhole action answers the sinkhole address"
	is "$(wait_answer www.sink.lab "NOERROR 10.66.66.66")" "NOERROR 10.66.66.66" "also for subdomains"

	add_action 4 2 192.0.2.66 block
	ok $? "action 4 on 192.0.2.66 proposed by one operator and approved by another"
	is "$(wait_answer ip.lab NXDOMAIN)" "NXDOMAIN" "an rpz-ip trigger blocks an answer holding the address"

	revoke_action 2
	ok $? "action 2 revoked by a third operator"
	is "$(wait_answer evil.lab "NOERROR 192.0.2.10")" "NOERROR 192.0.2.10" "after revocation the name resolves again"
	is "$(q sink.lab)" "NOERROR 10.66.66.66" "the other actions stay"

	grep -q "event=dns_xfr type=AXFR client=127.0.0.1" "$T/bw.log"
	ok $? "the first transfer is an AXFR"
	n_ixfr=$(grep -c "event=dns_xfr type=IXFR client=127.0.0.1" "$T/bw.log")
	ok $([ "$n_ixfr" -ge 3 ]; echo $?) "the transfers after it are IXFRs ($n_ixfr)"
	ok $(grep -q "event=dns_notify peer=127.0.0.1 port=$RESOLVER_PORT" "$T/bw.log"; echo $?) "bulwark sent NOTIFY"
}

q() { # NAME [TYPE]: status and answers at the resolver, one line
	dig +time=1 +tries=1 @127.0.0.1 -p "$RESOLVER_PORT" "$1" "${2:-A}" 2>&1 |
		awk '/status:/ {sub(",", "", $6); s=$6} /^;; [A-Z]+ SECTION:/ {an = /ANSWER/}
			an && /^[^;].*\tIN\t/ {a = a " " $NF} END {print s a}'
}
# wait_answer NAME WANT: polls the resolver every 20 ms for up to 10 s
wait_answer() {
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
	is "$(wait_answer ok.evil.lab "NOERROR 192.0.2.14")" "NOERROR 192.0.2.14" "the exception resolves inside the blocked domain"
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
	is "$(wait_answer ok.evil.lab NXDOMAIN)" "NXDOMAIN" "after that it is blocked again"
	n1=$(grep -c "event=dns_xfr type=IXFR client=127.0.0.1" "$T/bw.log")
	ok "$([ "$n1" -ge $((n0 + 2)) ]; echo $?)" "both changes went by IXFR ($((n1 - n0)))"
}
