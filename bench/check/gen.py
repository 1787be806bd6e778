#!/usr/bin/python3
"""gen.py - inputs for bench/check (seeded: the same arguments give the same
files).

  gen.py DIR N NQUERIES

writes into DIR:
  ind.txt      N listed indicators: 70% registrable domains under common
               TLDs (a random label and a unique hex counter, as
               bench/match/gen.py makes them), 20% IPv4 addresses, 5% IPv4
               /24 networks, 5% URLs on listed-looking hosts
  red.txt      1% of the domains of ind.txt again, for a RED record shared
               with DE only (the restricted path of the check)
  queries.txt  NQUERIES request paths for GET /v1/check: half of them
               listed (a domain with a random subdomain, an address inside
               a listed /24 or a listed address, a listed URL), half not
               (random names and addresses), shuffled
"""
import random
import sys
from urllib.parse import quote

TLDS = ["com", "net", "org", "ru", "cn", "info", "top", "xyz", "de", "co.uk", "io", "biz", "online"]
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def rand_label(rng, lo, hi):
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(lo, hi)))


def main():
    out, n, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(20261129)
    domains, addrs, nets, urls = [], [], [], []
    nd, na, nn = n * 70 // 100, n * 20 // 100, n * 5 // 100
    nu = n - nd - na - nn
    for i in range(nd):
        domains.append("%s%x.%s" % (rand_label(rng, 5, 12), i, rng.choice(TLDS)))
    seen = set()
    while len(addrs) < na:
        a = "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
        if a not in seen:
            seen.add(a)
            addrs.append(a)
    seen = set()
    while len(nets) < nn:
        p = "%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255))
        if p not in seen:
            seen.add(p)
            nets.append(p)
    for i in range(nu):
        urls.append("http://%s%x.%s/%s/login.php" % (rand_label(rng, 5, 10), i, rng.choice(TLDS), rand_label(rng, 3, 8)))
    with open(out + "/ind.txt", "w") as f:
        f.write("\n".join(domains) + "\n")
        f.write("\n".join(addrs) + "\n")
        f.write("\n".join(p + ".0/24" for p in nets) + "\n")
        f.write("\n".join(urls) + "\n")
    with open(out + "/red.txt", "w") as f:
        f.write("\n".join(rng.sample(domains, max(1, nd // 100))) + "\n")
    q = []
    for _ in range(nq // 2):
        r = rng.random()
        if r < 0.6:
            q.append("domain=%s.%s" % (rng.choice(["www", "cdn", rand_label(rng, 3, 8)]), rng.choice(domains)))
        elif r < 0.8:
            q.append("ip=%s" % rng.choice(addrs))
        elif r < 0.9:
            q.append("ip=%s.%d" % (rng.choice(nets), rng.randint(1, 254)))
        else:
            q.append("url=%s" % quote(rng.choice(urls), safe=""))
    for _ in range(nq - nq // 2):
        if rng.random() < 0.7:
            q.append("domain=www.%s.%s" % (rand_label(rng, 6, 14), rng.choice(TLDS)))
        else:
            q.append("ip=%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)))
    rng.shuffle(q)
    with open(out + "/queries.txt", "w") as f:
        f.write("\n".join("/v1/check?" + x for x in q) + "\n")


if __name__ == "__main__":
    main()
