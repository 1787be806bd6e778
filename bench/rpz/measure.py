#!/usr/bin/env python3
"""measure.py DB ZONEFILE NSDPID UNBOUNDPORT N [BULWARKLOG] - approval-to-answer times.

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

With BULWARKLOG (the daemon's log) it then prints where bulwark's time
went, per step, from the daemon's CLOCK_MONOTONIC stamps (mono_us, the
clock of time.monotonic here) matched by zone serial:
"step NAME median_ms p99_ms", the steps being commit (COMMIT returned
here) -> noticed (the watcher saw it) -> ready (new zone in place) ->
notify (NOTIFY sent) -> ixfr (IXFR of that serial served) -> answer
(Unbound said NXDOMAIN).

measure.py --big DB PORT N - a change to a big zone: N actions made active
one by one in bulwark's store (already serving the zone on PORT); the time
from COMMIT to bulwark's own DNS server answering the new trigger name.
Prints "big n median_ms p99_ms max_ms timeouts".
"""
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import sys
import time

big = sys.argv[1] == "--big"
if big:
    db, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
else:
    db, zonefile, nsdpid, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bwlog = sys.argv[6] if len(sys.argv) > 6 else None
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


def wait_nx(name, t0, rcode=3):
    while time.monotonic() - t0 < TIMEOUT:
        if query(name) == rcode:
            return (time.monotonic() - t0) * 1000
        time.sleep(0.001)
    return None


def pct(xs):
    """median and p99 of a sorted list"""
    return xs[len(xs) // 2], xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def stats(name, xs, timeouts):
    xs = sorted(xs)
    if not xs:
        print("%s 0 - - - %d" % (name, timeouts))
        return
    med, p99 = pct(xs)
    print("%s %d %.1f %.1f %.1f %d" % (name, len(xs), med, p99, xs[-1], timeouts))


def steps(trace, log):
    """per-step medians from the daemon's log: trace is [(serial, t_commit, t_committed, t_answer)]"""
    at = {}  # serial -> {step: seconds}
    pat = {
        "rpz_zone": re.compile(r"event=rpz_zone serial=(\d+) .*noticed_mono_us=(\d+) ready_mono_us=(\d+)"),
        "dns_notify": re.compile(r"event=dns_notify .*serial=(\d+) mono_us=(\d+)"),
        "dns_xfr": re.compile(r"event=dns_xfr type=IXFR client=\S+ serial=(\d+) .*mono_us=(\d+)"),
    }
    with open(log) as f:
        for line in f:
            for ev, rx in pat.items():
                m = rx.search(line)
                if not m:
                    continue
                d = at.setdefault(int(m.group(1)), {})
                if ev == "rpz_zone":
                    d.setdefault("noticed", int(m.group(2)) / 1e6)
                    d.setdefault("ready", int(m.group(3)) / 1e6)
                elif ev == "dns_notify":
                    d.setdefault("notify", int(m.group(2)) / 1e6)
                else:
                    d.setdefault("ixfr", int(m.group(2)) / 1e6)
    names = ["commit", "noticed", "ready", "notify", "ixfr", "answer"]
    per = {k: [] for k in names}
    for serial, t0, tc, t1 in trace:
        d = dict(at.get(serial, {}))
        d["commit"] = tc
        d["answer"] = t1
        prev = t0
        if not all(k in d for k in names):
            continue
        for k in names:
            per[k].append((d[k] - prev) * 1000)
            prev = d[k]
    for k in names:
        xs = sorted(per[k])
        if xs:
            med, p99 = pct(xs)
            print("step %s %.2f %.2f" % (k, med, p99))


con = sqlite3.connect(db, timeout=10, isolation_level=None)
if big:
    xs, timeouts = [], 0
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        aid = con.execute("SELECT max(id) + 1 FROM action").fetchone()[0]
        con.execute("INSERT INTO action(id, authz_id, type, target, kind, origin, state, proposed_by,"
                    " approved_by, created, updated, expires) VALUES (?, 1, 1, ?, 'block', 'manual',"
                    " 'active', 'alice', 'bob', 0, 0, 4102444800)", (aid, "big%d.example" % aid))
        con.execute("INSERT INTO rpz_change(time, action_id, op) VALUES (0, ?, 'add')", (aid,))
        t0 = time.monotonic()
        con.execute("COMMIT")
        ms = wait_nx("big%d.example.rpz.bulwark" % aid, t0, 0)
        if ms is None:
            timeouts += 1
        else:
            xs.append(ms)
        time.sleep(0.05)
    stats("big", xs, timeouts)
    sys.exit(0)
with open(zonefile) as f:
    zone = f.read()
serial = 1
res = {"bulwark": [], "nsd": []}
trace = []
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
    change = con.execute("INSERT INTO rpz_change(time, action_id, op) VALUES (0, ?, 'add')",
                         (1000 + i,)).lastrowid
    t0 = time.monotonic()
    con.execute("COMMIT")
    tc = time.monotonic()
    ms = wait_nx("b%d.lab" % i, t0)
    if ms is None:
        to["bulwark"] += 1
    else:
        res["bulwark"].append(ms)
        trace.append((1 + change, t0, tc, t0 + ms / 1000))  # the zone serial: base 1

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
if bwlog:
    steps(trace, bwlog)
