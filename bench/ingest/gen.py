#!/usr/bin/python3
"""gen.py - inputs for bench/ingest: N indicators as a plain list and as a
STIX 2.1 bundle.

The mix imitates a real blocklist: mostly domains (random labels under
common TLDs, a third with subdomains, some upper case, a few defanged),
then IPv4 addresses, IPv4 CIDRs, IPv6 addresses and URLs.  The same values
go into both files, so the two runs ingest the same indicators.  Seeded:
the same N gives the same files.
"""
import random
import sys
import uuid

def values(n, rng):
    tlds = ["com", "net", "org", "ru", "cn", "info", "top", "xyz", "de", "co.uk", "io"]
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    for i in range(n):
        k = rng.random()
        if k < 0.70:
            label = "".join(rng.choice(letters) for _ in range(rng.randint(6, 14)))
            name = "%s%d.%s" % (label, i, rng.choice(tlds))
            if rng.random() < 0.33:
                name = rng.choice(["www", "cdn", "login", "mail", "api"]) + "." + name
            if rng.random() < 0.05:
                name = name.upper()
            if rng.random() < 0.02:
                name = name.replace(".", "[.]", 1)
            yield "domain-name", name
        elif k < 0.85:
            yield "ipv4-addr", "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255),
                                             rng.randint(0, 255), rng.randint(1, 254))
        elif k < 0.90:
            yield "ipv4-addr", "%d.%d.%d.0/24" % (rng.randint(1, 223), rng.randint(0, 255),
                                                rng.randint(0, 255))
        elif k < 0.95:
            yield "ipv6-addr", "2001:db8:%x:%x::%x:%x" % (rng.randint(0, 65535),
                                                        rng.randint(0, 65535),
                                                        i >> 16, i & 0xffff)
        else:
            yield "url", "http://%s%d.example/%s/%d.php?id=%d" % (
                "".join(rng.choice(letters) for _ in range(8)), i,
                rng.choice(["login", "wp-admin", "bin", "gate"]), i, rng.randint(0, 9999))

def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(20261129)
    ns = uuid.UUID("5f2a1d4e-8c3b-4d7a-9e61-0b7c2a4f9d13")
    with open(out + ".txt", "w") as plain, open(out + ".json", "w") as stix:
        stix.write('{"type": "bundle", "id": "bundle--%s", "objects": [\n' % uuid.uuid5(ns, "bench"))
        for i, (t, v) in enumerate(values(n, rng)):
            plain.write(v + "\n")
            lit = v.replace("\\", "\\\\").replace("'", "\\'")
            if t == "ipv4-addr" and "/" in v:
                pattern = "[ipv4-addr:value ISSUBSET '%s']" % lit
            else:
                pattern = "[%s:value = '%s']" % (t, lit)
            pattern = pattern.replace('"', '\\"')
            stix.write('%s{"type": "indicator", "spec_version": "2.1", '
                       '"id": "indicator--%s", "created": "2026-01-01T00:00:00.000Z", '
                       '"modified": "2026-01-02T00:00:00.000Z", "pattern": "%s", '
                       '"pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", '
                       '"confidence": 80, "labels": ["malicious-activity"]}\n'
                       % ("," if i else "", uuid.uuid5(ns, str(i)), pattern))
        stix.write("]}\n")

if __name__ == "__main__":
    main()
