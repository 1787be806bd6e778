#!/bin/bash
# serve_tls.sh - bulwark serve over HTTPS with a self-signed certificate
# made here with openssl: curl --cacert reaches /healthz and /v1/check, plain
# HTTP to the same port fails, the same set-up from the configuration file,
# and TLS allows a non-loopback address without --insecure-plain-http (the
# check mode, -n, says so without binding).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "1..0 # SKIP no curl"; exit 0; }
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 0; }
DB=$T/s.db
B() { "$BULWARK" "$@"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
ok $? "openssl made a self-signed certificate"
printf 'evil.example\n198.51.100.0/24\n' >"$T/clear.txt"
B ingest --db "$DB" --source public --tlp CLEAR --tag malware:Emotet "$T/clear.txt" >/dev/null

PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
# start ARGS...: starts the server, sets PID and PORT
start() {
	"$BULWARK" serve "$@" >"$T/out" 2>"$T/log" &
	PID=$!
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$T/log")
		[ -n "$PORT" ] && break
		sleep 0.1
	done
}
stop() {
	kill -TERM "$PID"
	wait "$PID"
	is $? 0 "$1: SIGTERM, exit 0"
	PID=
}
get() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }

# 1. TLS from the command line
start --db "$DB" --listen 127.0.0.1:0 --threads 2 --demo --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
ok $([ -n "$PORT" ]; echo $?) "the TLS server says where it listens"
contains "$(cat "$T/log")" "tls=yes" "and that it speaks TLS"
U=https://127.0.0.1:$PORT
KDE=$(awk '$1 == "DE" {print $2}' "$T/out")
is "$(get --cacert "$T/cert.pem" "$U/healthz")" 200 "https /healthz with --cacert: 200"
is "$(cat "$T/body")" ok "and says ok"
is "$(curl -s --cacert "$T/cert.pem" -H "Authorization: Bearer $KDE" "$U/v1/check?ip=198.51.100.9")" \
	'{"listed":true,"matches":[{"indicator":"198.51.100.0/24","type":"cidr","tags":["malware:Emotet"],"confidence":null,"national":false}]}' \
	"https /v1/check answers a listed address"
is "$(get --cacert "$T/cert.pem" "$U/v1/check?ip=198.51.100.9")" 401 "https /v1/check without a key: 401"
get --cacert "$T/cert.pem" "https://localhost:$PORT/healthz" >/dev/null
is $? 0 "the certificate is verified for localhost too"
curl -s -o /dev/null "$U/healthz"
ok $([ $? -ne 0 ]; echo $?) "without --cacert curl refuses the self-signed certificate"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/healthz"
ok $([ $? -ne 0 ]; echo $?) "plain http to the TLS port fails"
openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/cert.pem" </dev/null >"$T/s_client" 2>&1
contains "$(cat "$T/s_client")" "Verify return code: 0 (ok)" "openssl s_client verifies the chain"
ok $(! grep -q -e 'PRIVATE KEY' -e "${KDE##*_}" "$T/log"; echo $?) "neither the key nor an API key is logged"
stop "command-line TLS"

# 2. the same from the configuration file
cat >"$T/bulwark.conf" <<CONF
# bulwark serve over TLS
listen = 127.0.0.1:0
db = $DB
threads = 2
tls_cert = $T/cert.pem
tls_key  = $T/key.pem
CONF
B serve -n --config "$T/bulwark.conf" >"$T/n" 2>&1
is $? 0 "serve -n accepts the TLS configuration"
start --config "$T/bulwark.conf"
ok $([ -n "$PORT" ]; echo $?) "the server starts from the configuration file"
is "$(get --cacert "$T/cert.pem" "https://127.0.0.1:$PORT/healthz")" 200 "https /healthz from the configuration file: 200"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/healthz"
ok $([ $? -ne 0 ]; echo $?) "plain http fails there too"
stop "configured TLS"

# 3. non-loopback: refused in plain HTTP, accepted with TLS (checked, not bound)
err=$(B serve -n --db "$DB" --listen 192.0.2.1:8443 2>&1)
is $? 1 "-n: plain HTTP on a non-loopback address is an error"
contains "$err" "not a loopback address" "saying why"
out=$(B serve -n --db "$DB" --listen 192.0.2.1:8443 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" 2>&1)
is $? 0 "-n: TLS on a non-loopback address is fine"
err=$(B serve -n --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" 2>&1)
is $? 1 "-n: a certificate without a key is an error"
contains "$err" "tls_key is missing" "naming the missing key"
err=$(B serve -n --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/nope.pem" 2>&1)
is $? 1 "-n: an unreadable key file is an error"
contains "$err" "tls_key: cannot open" "naming it"
printf 'not pem\n' >"$T/bad.pem"
err=$(B serve -n --listen 127.0.0.1:0 --tls-cert "$T/bad.pem" --tls-key "$T/key.pem" 2>&1)
is $? 1 "-n: a certificate file that is not PEM is an error"
# 4. the configuration file: errors name file, line and key; the command
# line overrides the file
printf 'listen = 127.0.0.1:0\n# comment\n\nthreads = 0\n' >"$T/bad.conf"
err=$(B serve -n --config "$T/bad.conf" 2>&1)
is $? 1 "-n: a bad value in the file is an error"
contains "$err" "$T/bad.conf:4: threads: '0' is not a number from 1 to 256" "naming file, line and key"
printf 'listen = 127.0.0.1:0\nthreds = 2\n' >"$T/bad.conf"
err=$(B serve --config "$T/bad.conf" 2>&1)
is $? 1 "serve refuses a file with an unknown key"
contains "$err" "$T/bad.conf:2: threds: unknown key" "naming it"
err=$(B serve -n --config "$T/missing.conf" 2>&1)
is $? 1 "-n: a missing file is an error"
printf 'listen = 192.0.2.1:80\nthreads = 2\n' >"$T/over.conf"
B serve -n --config "$T/over.conf" >/dev/null 2>&1
is $? 1 "-n: the file alone asks for plain HTTP beyond loopback"
out=$(B serve -n --config "$T/over.conf" --listen 127.0.0.1:0 2>&1)
is $? 0 "--listen on the command line overrides the file"
contains "$out" "no errors in $T/over.conf" "and -n says so"
B serve -n --config "$T/over.conf" --insecure-plain-http >/dev/null 2>&1
is $? 0 "--insecure-plain-http overrides too"
B serve -n --config "$T/over.conf" --insecure-plain-http=maybe >/dev/null 2>&1
is $? 2 "a bad value on the command line is a usage error"
printf 'listen = 127.0.0.1:0\ndb = %s\nlog_requests = no\n' "$DB" >"$T/quiet.conf"
start --config "$T/quiet.conf"
is "$(get "http://127.0.0.1:$PORT/healthz")" 200 "a plain server from the file"
stop "log_requests = no"
ok $(! grep -q 'event=request' "$T/log"; echo $?) "log_requests = no: no request lines"
contains "$(cat "$T/log")" "event=listening" "but events still"

# a PEM that GnuTLS cannot use: the daemon does not start, and says so
B serve --db "$DB" --listen 127.0.0.1:0 --tls-cert "$T/key.pem" --tls-key "$T/cert.pem" >/dev/null 2>"$T/swap"
is $? 1 "certificate and key swapped: the daemon does not start"
contains "$(cat "$T/swap")" "cannot listen on 127.0.0.1 port 0: GnuTLS" "saying GnuTLS refused them"
done_testing
