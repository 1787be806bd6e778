#!/bin/bash
# dns_unbound.sh - the RPZ zone of bulwark serve enforced by a real Unbound.
#
# Unbound (loopback only: the names under test come from an auth-zone with
# for-upstream, "." is stubbed to a loopback port where nothing answers)
# takes rpz.bulwark. from bulwark by AXFR, then by IXFR after each NOTIFY.
# Actions are proposed and approved with bulwark disrupt (two operators)
# while the daemon runs: a block gives NXDOMAIN, a sinkhole
# the sinkhole address (also for subdomains), an rpz-ip trigger rewrites an
# answer, an operator's exception (guard entry, rpz-passthru.) inside a
# blocked domain resolves while its siblings stay blocked, and a
# revocation lets the name resolve again.
# Ports: bulwark 18720, unbound 18721, the dead root stub 18722.
. "$(dirname "$0")/lib.sh"

command -v unbound >/dev/null || { echo "1..0 # SKIP no unbound"; exit 0; }
command -v dig >/dev/null || { echo "1..0 # SKIP no dig"; exit 0; }
command -v sqlite3 >/dev/null || { echo "1..0 # SKIP no sqlite3"; exit 0; }

BWPORT=18720
UBPORT=18721
DB=$T/s.db
RESOLVER_PORT=$UBPORT
. "$(dirname "$0")/dns_lib.sh"

# the store, with one authorisation
make_store
add_action 1 1 early.lab block
ok $? "action 1 on early.lab proposed by one operator and approved by another"

# the stand-in authoritative data
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

"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --dns 127.0.0.1:$BWPORT \
	--rpz-notify 127.0.0.1:$UBPORT 2>"$T/bw.log" &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	grep -q event=dns_listening "$T/bw.log" 2>/dev/null && break
	sleep 0.05
done
contains "$(cat "$T/bw.log")" "event=dns_listening addr=127.0.0.1 port=$BWPORT zone=rpz.bulwark." \
	"bulwark serves rpz.bulwark. on its DNS port"

cat >"$T/unbound.conf" <<EOF
server:
	interface: 127.0.0.1
	port: $UBPORT
	do-ip6: no
	username: ""
	chroot: ""
	directory: "$T"
	pidfile: "$T/unbound.pid"
	use-syslog: no
	logfile: "$T/unbound.log"
	verbosity: 4
	do-not-query-localhost: no
	module-config: "respip iterator"
	access-control: 127.0.0.0/8 allow
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	prefetch: no
	harden-referral-path: no
	qname-minimisation: no
stub-zone:
	name: "."
	stub-addr: 127.0.0.1@18722
auth-zone:
	name: "lab."
	zonefile: "$T/lab.zone"
	for-upstream: yes
	for-downstream: no
	fallback-enabled: no
rpz:
	name: "rpz.bulwark."
	primary: 127.0.0.1@$BWPORT
	allow-notify: 127.0.0.1
	rpz-log: yes
	rpz-log-name: "bulwark"
EOF
unbound-checkconf "$T/unbound.conf" >/dev/null 2>&1
ok $? "the Unbound configuration is valid"
unbound -d -c "$T/unbound.conf" 2>>"$T/unbound.log" &
PIDS="$PIDS $!"

is "$(wait_for good.lab "NOERROR 192.0.2.11")" "NOERROR 192.0.2.11" "Unbound answers from the stand-in zone"
is "$(wait_for early.lab NXDOMAIN)" "NXDOMAIN" "an action active before the start is enforced (AXFR)"
is "$(q evil.lab)" "NOERROR 192.0.2.10" "evil.lab resolves before its action"

t0=$(date +%s%N)
add_action 2 1 evil.lab block
ok $? "action 2 on evil.lab proposed by one operator and approved by another"
is "$(wait_for evil.lab NXDOMAIN)" "NXDOMAIN" "after the action becomes active: NXDOMAIN"
echo "# block to NXDOMAIN at Unbound: $(( ($(date +%s%N) - t0) / 1000000 )) ms (includes dig polling)"
is "$(wait_for www.evil.lab NXDOMAIN)" "NXDOMAIN" "and for its subdomains (*. trigger)"
is "$(q good.lab)" "NOERROR 192.0.2.11" "other names are untouched"
passthru_checks

add_action 3 1 sink.lab sinkhole 10.66.66.66
ok $? "action 3 on sink.lab proposed by one operator and approved by another"
is "$(wait_for sink.lab "NOERROR 10.66.66.66")" "NOERROR 10.66.66.66" "a sinkhole action answers the sinkhole address"
is "$(wait_for www.sink.lab "NOERROR 10.66.66.66")" "NOERROR 10.66.66.66" "also for subdomains"

add_action 4 2 192.0.2.66 block
ok $? "action 4 on 192.0.2.66 proposed by one operator and approved by another"
is "$(wait_for ip.lab NXDOMAIN)" "NXDOMAIN" "an rpz-ip trigger blocks an answer holding the address"

revoke_action 2
ok $? "action 2 revoked by a third operator"
is "$(wait_for evil.lab "NOERROR 192.0.2.10")" "NOERROR 192.0.2.10" "after revocation the name resolves again"
is "$(q sink.lab)" "NOERROR 10.66.66.66" "the other actions stay"

grep -q "event=dns_xfr type=AXFR client=127.0.0.1" "$T/bw.log"
ok $? "the first transfer is an AXFR"
n_ixfr=$(grep -c "event=dns_xfr type=IXFR client=127.0.0.1" "$T/bw.log")
ok $([ "$n_ixfr" -ge 3 ]; echo $?) "the transfers after it are IXFRs ($n_ixfr)"
ok $(grep -q "event=dns_notify peer=127.0.0.1 port=$UBPORT" "$T/bw.log"; echo $?) "bulwark sent NOTIFY"
# Unbound's own view of the transfers
ok $(grep -qi "ixfr" "$T/unbound.log"; echo $?) "Unbound's log shows IXFR"
serial=$(dig +short @127.0.0.1 -p $BWPORT rpz.bulwark SOA | awk '{print $3}')
is "$serial" "$((1 + $(sql 'SELECT max(serial) FROM rpz_change')))" "the serial is the base plus the journal head"
# nothing but loopback was ever asked
ok $(! grep -E "sending to target: <[^>]*> [0-9]" "$T/unbound.log" | grep -vq "127\.0\.0\.1"; echo $?) \
	"Unbound never sent a query beyond loopback"
done_testing
