#!/bin/bash
# dns_dnsbl.sh - the DNSBL zones of bulwark serve answer as rbldnsd does.
#
# The same listing (active actions and TLP:CLEAR indicators; an AMBER
# indicator and a revoked action must not appear) is served by bulwark from
# its store and by rbldnsd from ip4set/dnset files; every query gets the
# same status, A and TXT from both.  Then: a revocation leaves the DNSBL
# within seconds, and clients outside --dnsbl-clients are refused.
# Ports: bulwark 18740, rbldnsd 18741, a second bulwark 18742.
. "$(dirname "$0")/lib.sh"

command -v rbldnsd >/dev/null || { echo "1..0 # SKIP no rbldnsd"; exit 0; }
command -v dig >/dev/null || { echo "1..0 # SKIP no dig"; exit 0; }
command -v sqlite3 >/dev/null || { echo "1..0 # SKIP no sqlite3"; exit 0; }

DB=$T/s.db
sql() { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }

printf 'clear.example\n198.51.100.7\n203.0.113.0/24\n' >"$T/clear.txt"
printf 'amber.example\n192.0.2.99\n' >"$T/amber.txt"
"$BULWARK" ingest --db "$DB" --source feedA --tlp CLEAR "$T/clear.txt" >/dev/null
"$BULWARK" ingest --db "$DB" --source feedB --tlp AMBER "$T/amber.txt" >/dev/null
sql "INSERT INTO authz(id, authority, reference, jurisdiction, scope_kind, scope_value,
     valid_from, valid_until, created, created_by)
     VALUES (1, 'Court X', 'R-7', 'DE', 'tag', 'x', 0, 4102444800, 0, 'alice');
     INSERT INTO action(id, authz_id, type, target, kind, sinkhole, origin, state, proposed_by,
       created, updated, expires) VALUES
     (1, 1, 2, '1.2.3.4', 'block', NULL, 'manual', 'active', 'alice', 0, 0, 4102444800),
     (2, 1, 1, 'evil.example', 'block', NULL, 'manual', 'active', 'alice', 0, 0, 4102444800),
     (3, 1, 2, '5.6.7.8', 'block', NULL, 'manual', 'revoked', 'alice', 0, 0, 4102444800);
     INSERT INTO rpz_change(time, action_id, op) VALUES (0, 1, 'add'), (0, 2, 'add'),
       (0, 3, 'add'), (0, 3, 'del');"

A="listed: disruption ordered by Court X, ref. R-7"
C="listed: reported by feedA (TLP:CLEAR)"
cat >"$T/ip.txt" <<EOF
1.2.3.4 :127.0.0.2:$A
198.51.100.7 :127.0.0.2:$C
203.0.113.0/24 :127.0.0.2:$C
EOF
cat >"$T/names.txt" <<EOF
.evil.example :127.0.0.2:$A
.clear.example :127.0.0.2:$C
EOF
chmod 755 "$T"
id rbldns >/dev/null 2>&1 && RU=rbldns || RU=nobody
rbldnsd -n -u $RU -t 300 -b 127.0.0.1/18741 -w "$T" -p "$T/rbldnsd.pid" \
	dnsbl.bulwark:ip4set:ip.txt dbl.bulwark:dnset:names.txt >"$T/rbldnsd.log" 2>&1 &

pids="$pids $!"
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --dns 127.0.0.1:18740 2>"$T/bw.log" &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q event=dns_listening "$T/bw.log" &&
		dig +time=1 +tries=1 @127.0.0.1 -p 18741 dnsbl.bulwark SOA >/dev/null 2>&1 && break
	sleep 0.05
done
contains "$(cat "$T/bw.log")" "event=dnsbl_zone ipv4=2 cidr=1 domains=2 reasons=2" \
	"bulwark loads 2 addresses, 1 CIDR and 2 domains (no AMBER, no revoked action)"

ans() { # PORT NAME TYPE: status and sorted answers
	dig +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" "$3" 2>&1 |
		awk '/status:/ {sub(",", "", $6); s=$6} /^;; [A-Z]+ SECTION:/ {an = /ANSWER/}
			an && /^[^;].*[ \t]IN[ \t]/ {r = $0; sub(/^[^ \t]+[ \t]+[0-9]+[ \t]+IN[ \t]+/, "", r)
				gsub(/[ \t]+/, " ", r); a = a " [" r "]"}
			END {print s a}'
}
for n in 4.3.2.1.dnsbl.bulwark 7.100.51.198.dnsbl.bulwark 9.113.0.203.dnsbl.bulwark \
	99.2.0.192.dnsbl.bulwark 8.7.6.5.dnsbl.bulwark 1.1.1.1.dnsbl.bulwark 3.2.1.dnsbl.bulwark \
	evil.example.dbl.bulwark a.b.evil.example.dbl.bulwark www.clear.example.dbl.bulwark \
	amber.example.dbl.bulwark good.example.dbl.bulwark example.dbl.bulwark; do
	for t in A TXT; do
		want=$(ans 18741 $n $t)
		got=$(ans 18740 $n $t)
		is "$got" "$want" "$n $t as rbldnsd answers it ($want)"
	done
done
is "$(ans 18740 4.3.2.1.dnsbl.bulwark A)" "NOERROR [A 127.0.0.2]" "a listed address is 127.0.0.2"
is "$(ans 18740 99.2.0.192.dnsbl.bulwark A)" "NXDOMAIN" "an AMBER indicator is not in the DNSBL"

# a revocation leaves the DNSBL
sql "BEGIN; UPDATE action SET state = 'revoked' WHERE id = 1;
     INSERT INTO rpz_change(time, action_id, op) VALUES (0, 1, 'del'); COMMIT;"
for _ in $(seq 100); do
	[ "$(ans 18740 4.3.2.1.dnsbl.bulwark A)" = NXDOMAIN ] && break
	sleep 0.05
done
is "$(ans 18740 4.3.2.1.dnsbl.bulwark A)" "NXDOMAIN" "a revoked action leaves the DNSBL within 5 s"

# clients outside the configured networks are refused
"$BULWARK" serve --db "$DB" --listen 127.0.0.1:0 --dns 127.0.0.1:18742 \
	--dnsbl-clients 10.0.0.0/8 2>"$T/bw2.log" &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q event=dns_listening "$T/bw2.log" 2>/dev/null && break
	sleep 0.05
done
is "$(ans 18742 7.100.51.198.dnsbl.bulwark A)" "REFUSED" "a client outside --dnsbl-clients is refused"
is "$(ans 18742 rpz.bulwark SOA | cut -d' ' -f1)" "NOERROR" "while the RPZ zone still answers it"
done_testing
