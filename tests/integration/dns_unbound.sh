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

lab_setup
start_bulwark

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
pids="$pids $!"

lab_checks Unbound
# Unbound's own view of the transfers
ok $(grep -qi "ixfr" "$T/unbound.log"; echo $?) "Unbound's log shows IXFR"
serial=$(dig +short @127.0.0.1 -p $BWPORT rpz.bulwark SOA | awk '{print $3}')
is "$serial" "$((1 + $(sql 'SELECT max(serial) FROM rpz_change')))" "the serial is the base plus the journal head"
# nothing but loopback was ever asked
ok $(! grep -E "sending to target: <[^>]*> [0-9]" "$T/unbound.log" | grep -vq "127\.0\.0\.1"; echo $?) \
	"Unbound never sent a query beyond loopback"
done_testing
