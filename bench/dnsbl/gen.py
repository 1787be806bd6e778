#!/usr/bin/env python3
"""gen.py DIR NNAMES NIPS NQUERIES - seeded input of bench/dnsbl.

Writes into DIR:
  names.txt      NNAMES listed domains, one per line
  ips.txt        NIPS listed IPv4 addresses, one per line
  rbl-names.txt  the same names as an rbldnsd dnset (".name" covers
                 subdomains, as a bulwark domain indicator does)
  rbl-ips.txt    the same addresses as an rbldnsd ip4set
  queries.txt    NQUERIES dnsperf lines, half A queries in each zone, half
                 of them hits (listed name or address), in random order
"""
import random
import sys

d, nnames, nips, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(6)
TXT = ":127.0.0.2:listed: reported by bench (TLP:CLEAR)"

words = ["alpha", "bravo", "cargo", "delta", "echo", "fox", "gold", "hotel", "ice", "jet",
         "kilo", "lima", "mail", "news", "login", "secure", "update", "cdn", "pay", "shop"]
tlds = ["com", "net", "org", "info", "xyz", "top", "ru", "de", "io", "online"]


def name(i):
    return "%s-%x.%s%d.%s" % (rnd.choice(words), i * 2654435761 % (1 << 32), rnd.choice(words),
                              i % 977, rnd.choice(tlds))


names = [name(i) for i in range(nnames)]
ips = set()
while len(ips) < nips:
    ips.add(rnd.randrange(1 << 24, 224 << 24))
ips = list(ips)

with open(d + "/names.txt", "w") as f, open(d + "/rbl-names.txt", "w") as g:
    for n in names:
        f.write(n + "\n")
        g.write("." + n + " " + TXT + "\n")


def dotted(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def rev(a):
    return "%d.%d.%d.%d" % (a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24)


with open(d + "/ips.txt", "w") as f, open(d + "/rbl-ips.txt", "w") as g:
    for a in ips:
        f.write(dotted(a) + "\n")
        g.write(dotted(a) + " " + TXT + "\n")

listed = set(ips)
with open(d + "/queries.txt", "w") as f:
    for i in range(nq):
        hit = i % 2 == 0
        if (i // 2) % 2 == 0:
            if hit:
                n = rnd.choice(names)
                if rnd.random() < 0.3:
                    n = "www." + n
            else:
                n = "miss%d.%s.example" % (i, rnd.choice(words))
            f.write(n + ".dbl.bulwark A\n")
        else:
            if hit:
                a = rnd.choice(ips)
            else:
                a = rnd.randrange(1 << 24, 224 << 24)
                while a in listed:
                    a = rnd.randrange(1 << 24, 224 << 24)
            f.write(rev(a) + ".dnsbl.bulwark A\n")
