#!/usr/bin/env python3
"""match_ref.py - the reference matcher of the differential test (match_diff.sh).

  match_ref.py gen SEED DIR   writes DIR/indicators.txt (a randomised list: domains
                              and their subdomains in mixed case with trailing dots,
                              IPv4 and IPv6 addresses, CIDRs of every length, URLs)
                              and DIR/{bind,unbound,squid,plain}.log (queries of those
                              and of lookalikes, in each server's log format)
  match_ref.py ref DIR        reads DIR/indicators.csv (bulwark's export of what it
                              stored: type,value,...) and the logs, and prints every
                              sighting as FILE TAB LINE TAB TIME TAB OBSERVER TAB VALUE
                              TAB INDICATOR TAB TYPE, in line order, the most specific
                              indicator first
  match_ref.py conv           turns bulwark match's JSON lines (stdin) into the same

The reference is written for clarity, not speed: a name matches every listed domain
it equals or ends with on a label boundary (after lower-casing and dropping one
trailing dot); an address matches every listed network that contains it (Python's
ipaddress); a URL matches the listed URL equal to it (host lower-cased) and then its
host as a name or an address.
"""
import calendar
import csv
import ipaddress
import json
import os
import random
import sys
import time

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
LOGS = ["bind.log", "unbound.log", "squid.log", "plain.log"]
BASE_TIME = 1795952487  # 2026-11-29T11:41:27Z


def gen(seed, d):
    r = random.Random(seed)

    def label():
        n = r.randint(1, 10)
        s = "".join(r.choice(ALNUM) for _ in range(n))
        if n >= 5 and r.random() < 0.2:  # a hyphen inside, never at 2-3
            k = r.randint(4, n - 1)
            s = s[:k] + "-" + s[k:]
        return s

    def domain():
        tld = "".join(r.choice(LETTERS) for _ in range(r.randint(2, 5)))
        return ".".join([label() for _ in range(r.randint(1, 3))] + [tld])

    def mixcase(s):
        return "".join(c.upper() if r.random() < 0.3 else c for c in s)

    def v4_in(net):
        return ipaddress.IPv4Address(int(net.network_address) +
                                     r.randrange(net.num_addresses))

    def v6_in(net):
        return ipaddress.IPv6Address(int(net.network_address) +
                                     r.randrange(net.num_addresses))

    # indicators
    doms = [domain() for _ in range(300)]
    subs = [label() + "." + r.choice(doms) for _ in range(80)]
    subs += [label() + "." + s for s in r.sample(subs, 20)]
    v6_bases = [ipaddress.IPv6Network("2001:db8:%x::/48" % r.randrange(16)),
                ipaddress.IPv6Network("fd00:%x::/32" % r.randrange(4))]
    v4_nets, v6_nets = [], []
    for plen in range(1, 33):  # every length, twice, near each other
        for _ in range(2):
            a = ipaddress.IPv4Address(r.choice([10, 192, 198, 203]) << 24 |
                                      r.randrange(1 << 24))
            v4_nets.append(ipaddress.IPv4Network((int(a), plen), strict=False))
    for plen in range(1, 129):
        base = r.choice(v6_bases)
        a = v6_in(base) if plen >= 32 else ipaddress.IPv6Address(r.randrange(1 << 128))
        v6_nets.append(ipaddress.IPv6Network((int(a), plen), strict=False))
    v4_addrs = [ipaddress.IPv4Address(r.choice([10, 192, 203]) << 24 | r.randrange(1 << 24))
                for _ in range(60)]
    v6_addrs = [v6_in(r.choice(v6_bases)) for _ in range(60)]
    urls = ["http://%s/p%d" % (r.choice(doms + subs), i) for i in range(30)]
    urls += ["http://%s/q%d" % (a, i) for i, a in enumerate(r.sample(v4_addrs, 5))]
    urls += ["http://[%s]/q%d" % (a, i) for i, a in enumerate(r.sample(v6_addrs, 5))]

    with open(os.path.join(d, "indicators.txt"), "w") as f:
        for x in doms + subs:
            t = r.random()
            f.write((mixcase(x) + ("." if t < 0.3 else "")) + "\n")
        for n in v4_nets + v6_nets:
            # host bits set half of the time: ingest clears them
            a = v4_in(n) if n.version == 4 else v6_in(n)
            f.write("%s/%d\n" % (a if r.random() < 0.5 else n.network_address, n.prefixlen))
        for a in v4_addrs + v6_addrs:
            f.write("%s\n" % a)
        for u in urls:
            f.write(u + "\n")

    listed = doms + subs

    def name_query():
        t = r.random()
        if t < 0.3:
            n = r.choice(listed)
        elif t < 0.55:
            n = ".".join(label() for _ in range(r.randint(1, 3))) + "." + r.choice(listed)
        elif t < 0.65:  # lookalike: glued on, no dot
            n = r.choice(LETTERS) + r.choice(listed)
        elif t < 0.75:  # a parent of a listed name
            parts = r.choice(listed).split(".")
            n = ".".join(parts[1:]) if len(parts) > 2 else domain()
        else:
            n = domain()
        return mixcase(n)

    def addr_query():
        t = r.random()
        if t < 0.3:
            return v4_in(r.choice(v4_nets))
        if t < 0.55:
            return v6_in(r.choice(v6_nets))
        if t < 0.65:
            return r.choice(v4_addrs + v6_addrs)
        if t < 0.8:
            return ipaddress.IPv4Address(r.randrange(1, 224) << 24 | r.randrange(1 << 24))
        return v6_in(r.choice(v6_bases))

    def client():
        if r.random() < 0.7:
            return "192.0.2.%d" % r.randrange(1, 255)
        return "2001:db8:ffff::%x" % r.randrange(1, 4096)

    def url_query():
        t = r.random()
        if t < 0.3:
            u = r.choice(urls)
            scheme, rest = u.split("://", 1)
            host, path = rest.split("/", 1)
            return scheme + "://" + mixcase(host) + "/" + path
        if t < 0.6:
            return "http://%s/x" % name_query()
        a = addr_query()
        return "http://%s/x" % (a if a.version == 4 else "[%s]" % a)

    n = 3000
    with open(os.path.join(d, "bind.log"), "w") as f:
        for i in range(n):
            t = time.gmtime(BASE_TIME + i * 7)
            q = name_query()
            c = client()
            f.write("%02d-%s-%04d %02d:%02d:%02d.%03d client @0x7f8bc7a32098 %s#%d (%s): "
                    "query: %s IN A +E(0)K (127.0.0.1)\n" %
                    (t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min,
                     t.tm_sec, i % 1000, c, r.randrange(1024, 65536), q, q))
    with open(os.path.join(d, "unbound.log"), "w") as f:
        f.write("[%d] unbound[5086:0] notice: init module 0: validator\n" % BASE_TIME)
        for i in range(n):
            f.write("[%d] unbound[5086:0] info: %s %s. A IN\n" %
                    (BASE_TIME + i * 11, client(), name_query()))
    with open(os.path.join(d, "squid.log"), "w") as f:
        for i in range(n):
            t = r.random()
            if t < 0.4:
                a = addr_query()
                target = "CONNECT %s:443" % (a if a.version == 4 else "[%s]" % a)
            elif t < 0.6:
                target = "CONNECT %s:443" % name_query()
            else:
                target = "GET " + url_query()
            f.write("%d.%03d %6d %s TCP_MISS/200 233 %s - HIER_DIRECT/127.0.0.1 text/html\n" %
                    (BASE_TIME + i * 13, i % 1000, r.randrange(100), client(), target))
    with open(os.path.join(d, "plain.log"), "w") as f:
        f.write("# values without time or client\n")
        for i in range(n):
            f.write("%s\n" % (name_query() if r.random() < 0.5 else addr_query()))


class Ref:
    def __init__(self, d):
        self.domains, self.urls = {}, {}
        self.nets = {4: {}, 6: {}}  # version -> prefixlen -> {network int: (value, type)}
        with open(os.path.join(d, "indicators.csv")) as f:
            rows = csv.reader(f)
            next(rows)
            for row in rows:
                typ, val = row[0], row[1]
                if typ == "domain":
                    self.domains[val] = typ
                elif typ == "url":
                    self.urls[val] = typ
                elif typ in ("ipv4", "ipv6", "cidr"):
                    net = ipaddress.ip_network(val)
                    self.nets[net.version].setdefault(net.prefixlen, {})[
                        int(net.network_address)] = (val, typ)

    def name(self, v):
        n = v.lower()
        if n.endswith("."):
            n = n[:-1]
        labels = n.split(".")
        out = []
        for i in range(len(labels)):
            s = ".".join(labels[i:])
            if s in self.domains:
                out.append((s, "domain"))
        return out

    def addr(self, v):
        if v.startswith("[") and v.endswith("]"):
            v = v[1:-1]
        try:
            a = ipaddress.ip_address(v)
        except ValueError:
            return None
        bits = 32 if a.version == 4 else 128
        out = []
        for plen in sorted(self.nets[a.version], reverse=True):
            key = int(a) >> (bits - plen) << (bits - plen) if plen else 0
            hit = self.nets[a.version][plen].get(key)
            if hit:
                out.append(hit)
        return out

    def host(self, h):
        m = self.addr(h)
        return self.name(h) if m is None else m

    def url(self, v):
        scheme, rest = v.split("://", 1)
        host, path = rest.split("/", 1)
        out = []
        canon = scheme.lower() + "://" + host.lower() + "/" + path
        if canon in self.urls:
            out.append((canon, "url"))
        return out + self.host(host)


def fmt_time(t):
    return "null" if t is None else str(t)


def ref(d):
    R = Ref(d)
    out = []

    def emit(f, line, t, obs, val, hits):
        for ind, typ in hits:
            out.append("\t".join([f, str(line), fmt_time(t), obs or "null", val, ind, typ]))

    for i, l in enumerate(open(os.path.join(d, "bind.log")), 1):
        p = l.split()
        day, mon, year = p[0].split("-")
        hh, mm, ss = p[1].split(".")[0].split(":")
        t = calendar.timegm((int(year), MONTHS.index(mon) + 1, int(day), int(hh), int(mm), int(ss)))
        emit("bind.log", i, t, p[4].rsplit("#", 1)[0], p[7], R.name(p[7]))
    for i, l in enumerate(open(os.path.join(d, "unbound.log")), 1):
        p = l.split()
        if p[2] != "info:":
            continue
        emit("unbound.log", i, int(p[0][1:-1]), p[3], p[4], R.name(p[4]))
    for i, l in enumerate(open(os.path.join(d, "squid.log")), 1):
        p = l.split()
        t = int(p[0].split(".")[0])
        if p[5] == "CONNECT":
            h = p[6].rsplit(":", 1)[0]
            if h.startswith("["):
                h = h[1:-1]
            emit("squid.log", i, t, p[2], h, R.host(h))
        else:
            emit("squid.log", i, t, p[2], p[6], R.url(p[6]))
    for i, l in enumerate(open(os.path.join(d, "plain.log")), 1):
        v = l.strip()
        if not v or v.startswith("#"):
            continue
        emit("plain.log", i, None, None, v, R.host(v))
    print("\n".join(out))


def conv():
    for l in sys.stdin:
        o = json.loads(l)
        print("\t".join([os.path.basename(o["file"]), str(o["line"]), fmt_time(o["time"]),
                         o["observer"] or "null", o["value"], o["indicator"], o["type"]]))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "ref":
        ref(sys.argv[2])
    else:
        conv()
