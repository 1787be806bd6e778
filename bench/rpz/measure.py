#!/usr/bin/env python3
"""measure.py DB ZONEFILE NSDPID UNBOUNDPORT N - approval-to-answer times.

For i in 0..N-1, two paths to the same Unbound, one after the other:
  bulwark: one transaction makes action i active in bulwark's store (the
           action row and its rpz_change row, as src/disrupt writes them);
           the clock starts just before COMMIT.
  nsd:     the RPZ zone file served by NSD gets "nI.lab CNAME ." and a new
           serial, then NSD gets SIGHUP (it reloads, sends NOTIFY, Unbound
           asks IXFR); the clock starts just before the file is written.
The clock stops when Unbound answers NXDOMAIN for bI.lab (nI.lab), asked
over UDP every millisecond (cache off: cache-max-ttl 0).  Prints one line
per path: "PATH n median_ms p99_ms max_ms timeouts".
"""
import os
import random
import signal
import socket
import sqlite3
import struct
import sys
import time

db, zonefile, nsdpid, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
TIMEOUT = 5.0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.05)


def query(name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    sock.sendto(q, ("127.0.0.1", port))
    while True:
        try:
            a = sock.recv(4096)
        except socket.timeout:
            return None
        if len(a) >= 4 and struct.unpack(">H", a[:2])[0] == qid:
            return a[3] & 0xF


def wait_nx(name, t0):
    while time.monotonic() - t0 < TIMEOUT:
        if query(name) == 3:
            return (time.monotonic() - t0) * 1000
        time.sleep(0.001)
    return None


def stats(name, xs, timeouts):
    xs = sorted(xs)
    if not xs:
        print("%s 0 - - - %d" % (name, timeouts))
        return
    med = xs[len(xs) // 2]
    p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
    print("%s %d %.1f %.1f %.1f %d" % (name, len(xs), med, p99, xs[-1], timeouts))


con = sqlite3.connect(db, timeout=10, isolation_level=None)
with open(zonefile) as f:
    zone = f.read()
serial = 1
res = {"bulwark": [], "nsd": []}
to = {"bulwark": 0, "nsd": 0}
for i in range(n):
    # both names resolve before
    if query("b%d.lab" % i) == 3 or query("n%d.lab" % i) == 3:
        print("b%d.lab or n%d.lab already blocked" % (i, i), file=sys.stderr)
        sys.exit(1)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO action(id, authz_id, type, target, kind, origin, state, proposed_by,"
                " approved_by, created, updated, expires) VALUES (?, 1, 1, ?, 'block', 'manual',"
                " 'active', 'alice', 'bob', 0, 0, 4102444800)", (1000 + i, "b%d.lab" % i))
    con.execute("INSERT INTO rpz_change(time, action_id, op) VALUES (0, ?, 'add')", (1000 + i,))
    t0 = time.monotonic()
    con.execute("COMMIT")
    ms = wait_nx("b%d.lab" % i, t0)
    if ms is None:
        to["bulwark"] += 1
    else:
        res["bulwark"].append(ms)

    # NSD checks the zone file's mtime: keep edits in distinct seconds
    time.sleep(1.05)
    serial += 1
    zone = zone.replace(" %d 60 30 86400 30" % (serial - 1), " %d 60 30 86400 30" % serial)
    zone += "n%d.lab.rpz.nsd. 60 IN CNAME .\n*.n%d.lab.rpz.nsd. 60 IN CNAME .\n" % (i, i)
    t0 = time.monotonic()
    with open(zonefile + ".tmp", "w") as f:
        f.write(zone)
    os.rename(zonefile + ".tmp", zonefile)
    os.kill(nsdpid, signal.SIGHUP)
    ms = wait_nx("n%d.lab" % i, t0)
    if ms is None:
        to["nsd"] += 1
    else:
        res["nsd"].append(ms)
stats("bulwark", res["bulwark"], to["bulwark"])
stats("nsd", res["nsd"], to["nsd"])
