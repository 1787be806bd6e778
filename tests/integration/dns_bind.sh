#!/bin/bash
# dns_bind.sh - the RPZ zone of bulwark serve enforced by a real BIND 9.
#
# named (loopback only: it is primary for its own root zone, so it never
# primes from the real root servers, and for the stand-in zone lab.; the
# policy applies to those answers with recursive-only no) is a secondary
# of rpz.bulwark. (response-policy), by AXFR, then IXFR after each NOTIFY,
# all signed with TSIG (HMAC-SHA256).
# Actions are proposed and approved with bulwark disrupt (two operators)
# while the daemon runs: a block gives NXDOMAIN, a sinkhole
# the sinkhole address (also for subdomains), an rpz-ip trigger rewrites an
# answer, an operator's exception (rpz-passthru.) inside a blocked domain
# resolves while its siblings stay blocked, and a revocation lets the name
# resolve again.
# Ports: bulwark 18730, named 18731.
. "$(dirname "$0")/lib.sh"

command -v named >/dev/null || { echo "1..0 # SKIP no named (bind9)"; exit 0; }
command -v dig >/dev/null || { echo "1..0 # SKIP no dig"; exit 0; }
command -v sqlite3 >/dev/null || { echo "1..0 # SKIP no sqlite3"; exit 0; }

BWPORT=18730
NSPORT=18731
DB=$T/s.db
RESOLVER_PORT=$NSPORT
. "$(dirname "$0")/dns_lib.sh"

lab_setup
# transfers need TSIG (HMAC-SHA256): BIND signs its SOA checks and IXFRs
KEY=$(head -c 32 /dev/urandom | base64)
start_bulwark --rpz-tsig "xfr-key:$KEY"

cat >"$T/root.zone" <<'EOF'
$TTL 300
. SOA ns.root. hostmaster.root. 1 3600 600 86400 300
. NS ns.root.
ns.root. A 127.0.0.1
EOF
cat >"$T/named.conf" <<EOF
options {
	directory "$T";
	pid-file "$T/named.pid";
	session-keyfile "$T/session.key";
	managed-keys-directory "$T";
	listen-on port $NSPORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion yes;
	allow-query { 127.0.0.1; };
	allow-recursion { 127.0.0.1; };
	dnssec-validation no;
	notify no;
	max-cache-ttl 0;
	max-ncache-ttl 0;
	response-policy { zone "rpz.bulwark." min-update-interval 0; } recursive-only no qname-wait-recurse no;
};
controls { };
key "xfr-key" { algorithm hmac-sha256; secret "$KEY"; };
zone "." { type primary; file "$T/root.zone"; };
zone "lab." { type primary; file "$T/lab.zone"; };
zone "rpz.bulwark." {
	type secondary;
	primaries { 127.0.0.1 port $BWPORT key "xfr-key"; };
	file "$T/rpz.bulwark.db";
	allow-notify { 127.0.0.1; };
	allow-query { 127.0.0.1; };
};
EOF
named-checkconf "$T/named.conf" >/dev/null 2>&1
ok $? "the BIND configuration is valid"
# -g: foreground, the log on standard error
named -g -c "$T/named.conf" -n 1 >"$T/named.out" 2>&1 &
pids="$pids $!"

lab_checks BIND -y "hmac-sha256:xfr-key:$KEY"
# BIND's own view of the transfers
n_ok=$(grep -c "rpz.bulwark.*Transfer status: success" "$T/named.out")
ok $([ "$n_ok" -ge 4 ]; echo $?) "BIND reports $n_ok successful transfers"
# named keeps a journal only for the incremental transfers it applied
ok $([ -s "$T/rpz.bulwark.db.jnl" ]; echo $?) "BIND applied them as IXFR (its zone journal exists)"
serial=$(dig +short @127.0.0.1 -p $BWPORT rpz.bulwark SOA | awk '{print $3}')
is "$serial" "$((1 + $(sql 'SELECT max(serial) FROM rpz_change')))" "the serial is the base plus the journal head"

ok $(! grep -q event=dns_tsig_failed "$T/bw.log"; echo $?) "every transfer BIND asked for was signed with the key"

# TSIG (HMAC-SHA256): a second daemon that requires it for transfers; dig
# (BIND's own TSIG code) checks the signature of every message of a
# transfer larger than one message
sql "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 2999)
     INSERT INTO action(id, authz_id, type, target, kind, origin, state, proposed_by, created,
       updated, expires)
     SELECT 100 + i, 1, 1, printf('name%d.tsig-test.example', i), 'block', 'policy', 'active',
       'policy', 0, 0, 4102444800 FROM c;
     INSERT INTO rpz_change(time, action_id, op) SELECT 0, id, 'add' FROM action WHERE id >= 100;"
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --dns 127.0.0.1:18732 --dnsbl=no \
	--rpz-tsig "xfr-key:$KEY" 2>"$T/bw-tsig.log" &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q event=dns_listening "$T/bw-tsig.log" 2>/dev/null && break
	sleep 0.05
done
out=$(dig +tcp @127.0.0.1 -p 18732 -y "hmac-sha256:xfr-key:$KEY" rpz.bulwark AXFR 2>&1)
n_rec=$(printf '%s\n' "$out" | sed -n 's/.*XFR size: \([0-9]*\) records.*/\1/p')
ok $([ "${n_rec:-0}" -gt 6000 ]; echo $?) "a signed AXFR of over 6,000 records ($n_rec)"
msgs=$(printf '%s\n' "$out" | sed -n 's/.*(messages \([0-9]*\),.*/\1/p')
ok $([ "${msgs:-0}" -ge 2 ] && ! printf '%s\n' "$out" | grep -qE "^;; (Couldn't|WARNING)|verify fail|expected a TSIG|Transfer failed"; echo $?) \
	"in $msgs messages, every TSIG verified by dig"
out=$(dig +tcp @127.0.0.1 -p 18732 rpz.bulwark AXFR 2>&1)
contains "$out" "Transfer failed" "an unsigned AXFR is refused"
out=$(dig +tcp @127.0.0.1 -p 18732 -y "hmac-sha256:xfr-key:$(head -c 32 /dev/urandom | base64)" \
	rpz.bulwark AXFR 2>&1)
contains "$out" "BADSIG" "a wrong key gets BADSIG"
contains "$(cat "$T/bw-tsig.log")" "event=dns_tsig_failed client=127.0.0.1 error=BADSIG" "and is logged"
done_testing
