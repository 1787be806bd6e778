#!/bin/bash
# serve_gate.sh - GET /v1/gate behind a real nginx (auth_request) in front of
# a stand-in upstream (a second nginx server block returning 200), all on
# loopback: a client whose address is listed gets 403 from nginx, a clean
# one 200 from the upstream.  Loopback has all of 127.0.0.0/8, so curl
# --interface 127.0.0.N plays clients with different addresses.  Also: the
# gate believes X-Real-IP only from a trusted proxy, needs a key, and
# denies only what the key's tenant may see under TLP.  DE's nginx uses a
# gateway key (tenant key add --gateway), as an operator would configure
# it; FR's a tenant key.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "1..0 # SKIP no nginx"; exit 0; }
command -v python3 >/dev/null || { echo "1..0 # SKIP no python3"; exit 0; }
DB=$T/s.db
B() { "$BULWARK" "$@"; }

LISTED=127.0.0.2   # CLEAR: listed for everyone
CLEAN=127.0.0.3
REDDE=127.0.0.4    # RED, shared with DE only
printf '%s\n' $LISTED >"$T/clear.txt"
printf '%s\n' $REDDE >"$T/red.txt"
B ingest --db "$DB" --source public --tlp CLEAR --tag actor:TestBear "$T/clear.txt" >/dev/null
B ingest --db "$DB" --source partner --tlp RED --share-with DE "$T/red.txt" >/dev/null
B tenant add --country DE --name "Demo CERT Germany" --db "$DB" >/dev/null
KGW=$(B tenant key add DE --gateway --label "nginx of the gate test" --db "$DB" 2>/dev/null)

# free loopback ports for nginx (the kernel's choice, released at once)
read -r P1 P2 UP <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')"

BPID= NPID=
trap '[ -n "$NPID" ] && kill $NPID 2>/dev/null; [ -n "$BPID" ] && kill $BPID 2>/dev/null; rm -rf "$T"' EXIT
cat >"$T/bulwark.conf" <<CONF
listen = 127.0.0.1:0
db = $DB
threads = 2
trusted_proxies = 127.0.0.1/32, ::1
CONF
"$BULWARK" serve --config "$T/bulwark.conf" --demo >"$T/out" 2>"$T/log" &
BPID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$T/log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
ok $([ -n "$PORT" ]; echo $?) "bulwark serve started with trusted_proxies"
contains "$(cat "$T/log")" "trusted_proxies=2" "and two trusted proxy prefixes"
KDE=$(awk '$1 == "DE" {print $2}' "$T/out")
KFR=$(awk '$1 == "FR" {print $2}' "$T/out")

# nginx: P1 gates with FR's key, P2 with DE's, UP is the upstream
mkdir -p "$T/nginx/logs"
chmod 755 "$T"
gate_server() { # PORT KEY
	cat <<SRV
    server {
        listen 127.0.0.1:$1;
        location / {
            auth_request /_gate;
            proxy_pass http://127.0.0.1:$UP;
        }
        location = /_gate {
            internal;
            proxy_pass http://127.0.0.1:$PORT/v1/gate;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization "Bearer $2";
            proxy_set_header X-Real-IP \$remote_addr;
        }
    }
SRV
}
cat >"$T/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log;
events { worker_connections 64; }
http {
    access_log $T/nginx/logs/access.log;
    client_body_temp_path $T/nginx/client_body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
$(gate_server "$P1" "$KFR")
$(gate_server "$P2" "$KGW")
    server {
        listen 127.0.0.1:$UP;
        location / { return 200 "upstream ok\n"; }
    }
}
CONF
"$NGINX" -p "$T/nginx" -e "$T/nginx/logs/error.log" -c "$T/nginx.conf" 2>"$T/nginx-start" &
NPID=$!
up=1
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$UP/" && { up=0; break; }
	sleep 0.1
done
ok $up "nginx started on loopback"
[ $up -eq 0 ] || sed 's/^/# /' "$T/nginx-start" "$T/nginx/logs/error.log"

via() { # NGINX-PORT CLIENT-ADDRESS
	curl -s -o "$T/body" -w '%{http_code}' --interface "$2" "http://127.0.0.1:$1/some/page"
}
is "$(via "$P1" $CLEAN)" 200 "a clean client passes nginx"
is "$(cat "$T/body")" "upstream ok" "and reaches the upstream"
is "$(via "$P1" 127.0.0.1)" 200 "so does 127.0.0.1"
is "$(via "$P1" $LISTED)" 403 "a listed client is refused by nginx with 403"
ok $([ "$(cat "$T/body")" != "upstream ok" ]; echo $?) "and never reaches the upstream"
is "$(via "$P2" $LISTED)" 403 "refused with DE's gateway key too (CLEAR)"
is "$(via "$P1" $REDDE)" 200 "RED shared with DE only: passes for FR's key"
is "$(via "$P2" $REDDE)" 403 "and is refused for DE's gateway key"

# the gate directly (no proxy): the TCP peer is judged, X-Real-IP ignored
# unless the peer is trusted
U=http://127.0.0.1:$PORT/v1/gate
gate() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
is "$(gate "$U")" 401 "the gate without a key: 401"
is "$(gate -H "Authorization: Bearer bwk_1_$(printf '0%.0s' $(seq 64))" "$U")" 401 "with a wrong key: 401"
is "$(gate --interface $LISTED -H "Authorization: Bearer $KFR" "$U")" 403 "a listed TCP peer: 403"
is "$(gate --interface $LISTED -H "Authorization: Bearer $KFR" -H "X-Real-IP: $CLEAN" "$U")" 403 \
	"an untrusted peer cannot clean itself with X-Real-IP"
is "$(gate --interface $CLEAN -H "Authorization: Bearer $KFR" -H "X-Real-IP: $LISTED" "$U")" 204 \
	"nor blame another address"
is "$(gate -H "Authorization: Bearer $KFR" -H "X-Real-IP: $LISTED" "$U")" 403 "a trusted peer's X-Real-IP is judged"
is "$(gate -H "Authorization: Bearer $KFR" -H "X-Real-IP: $CLEAN" "$U")" 204 "clean: 204"
is "$(gate -H "Authorization: Bearer $KFR" "$U")" 400 "a trusted peer without X-Real-IP: 400 (nginx fails closed)"
is "$(gate -H "Authorization: Bearer $KFR" -H "X-Real-IP: 127.0.0.2, 10.0.0.1" "$U")" 400 "X-Real-IP must be one address"

m=$(curl -s "http://127.0.0.1:$PORT/metrics")
contains "$m" 'bulwark_http_requests_total{endpoint="gate",status="403"}' "metrics count the gate's 403s"
contains "$m" 'bulwark_http_requests_total{endpoint="gate",status="204"}' "and its 204s"
ok $(! grep -q -e "${KDE##*_}" -e "${KFR##*_}" -e "${KGW##*_}" "$T/log"; echo $?) "no API key in bulwark's log"

kill -QUIT "$NPID"
wait "$NPID"
is $? 0 "nginx stops"
NPID=
kill -TERM "$BPID"
wait "$BPID"
is $? 0 "bulwark stops: exit 0"
BPID=
done_testing
