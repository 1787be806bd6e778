#!/usr/bin/python3
"""webhook_receiver.py - a webhook receiver for the notification tests.

usage: webhook_receiver.py PORT SECRET LOG [--delay SECONDS] [--fail N]
                           [--tls CERT KEY]

Listens on 127.0.0.1:PORT.  Each POST is checked the way a tenant should:
X-Bulwark-Signature must be "sha256=" + HMAC-SHA256(SECRET, timestamp "."
body), compared in constant time, and X-Bulwark-Timestamp within 300 s of
now.  One line per request is appended to LOG (and flushed to disk before
the answer): "KEY<TAB>ok|badsig<TAB>EVENT", where KEY is the
Idempotency-Key header and EVENT the body's "event" (or "digest").  A
valid request is answered 200, a bad one 401.  --delay sleeps before
answering (so that a test can kill the sender mid-delivery); --fail N
answers the first N valid requests 503 (to exercise retries); --tls
serves HTTPS with the given certificate and key (PEM).
"""
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import time

PORT, SECRET, LOG = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
DELAY = 0.0
FAIL = 0
TLS = None
args = sys.argv[4:]
while args:
    if args[0] == "--delay":
        DELAY = float(args[1])
    elif args[0] == "--fail":
        FAIL = int(args[1])
    elif args[0] == "--tls":
        TLS = (args[1], args[2])
        args = args[1:]
    args = args[2:]
state = {"fails": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ts = self.headers.get("X-Bulwark-Timestamp", "")
        sig = self.headers.get("X-Bulwark-Signature", "")
        key = self.headers.get("Idempotency-Key", "-")
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, sig)
        try:
            ok = ok and abs(time.time() - int(ts)) < 300
        except ValueError:
            ok = False
        try:
            doc = json.loads(body)
            event = doc.get("event") or doc.get("type", "-")
        except ValueError:
            event = "not-json"
        if DELAY:
            time.sleep(DELAY)
        status = 200 if ok else 401
        if ok and state["fails"] < FAIL:
            state["fails"] += 1
            status = 503
        with open(LOG, "a") as f:
            f.write("%s\t%s\t%s\t%d\n" % (key, "ok" if ok else "badsig", event, status))
            f.flush()
            os.fsync(f.fileno())
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


http.server.ThreadingHTTPServer.allow_reuse_address = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
if TLS:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS[0], TLS[1])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
