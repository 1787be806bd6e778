#!/usr/bin/python3
"""gen.py - inputs for bench/match (seeded, so the same arguments give the
same files).

  gen.py DIR LINES NIND_SMALL NIND_LARGE NCIDR

writes into DIR:
  ind-small.txt, ind-large.txt  listed domains: random registrable names
      under common TLDs; the small set is the first NIND_SMALL names of the
      large one, so a log line listed in one is listed in both
  cidrs.txt       NCIDR IPv4 (80%) and IPv6 (20%) prefixes shaped like a
                  blocklist: 60% single hosts (40% for IPv6), most of the
                  rest /24-/31 (/48-/64), 1% /16-/23, a few dozen as large
                  as /10; random addresses then fall in one about 3% of
                  the time
  query.log       LINES BIND 9 query-log lines: 97% names from the popular
                  list (data/bench/majestic-top10k.txt) with or without a
                  www./cdn./random-label prefix, 3% listed domains with random
                  subdomains; some upper case, some trailing dots, as BIND
                  logs them; clients in 10.0.0.0/8
  addrs.log       LINES addresses, one per line (flow-log destinations):
                  about 5% inside listed prefixes
"""
import random
import sys

TLDS = ["com", "net", "org", "ru", "cn", "info", "top", "xyz", "de", "co.uk", "io", "biz", "online"]
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def rand_label(rng, lo, hi):
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(lo, hi)))


def main():
    out, lines, nsmall, nlarge, ncidr = sys.argv[1], *map(int, sys.argv[2:6])
    rng = random.Random(20261129)
    popular = [l.strip() for l in open("data/bench/majestic-top10k.txt") if l.strip()]

    listed = []
    with open(out + "/ind-large.txt", "w") as large, open(out + "/ind-small.txt", "w") as small:
        buf_l, buf_s = [], []
        for i in range(nlarge):
            name = "%s%x.%s" % (rand_label(rng, 5, 12), i, rng.choice(TLDS))
            buf_l.append(name)
            if i < nsmall:
                buf_s.append(name)
                if i < 100000:
                    listed.append(name)
            if len(buf_l) >= 100000:
                large.write("\n".join(buf_l) + "\n")
                buf_l = []
                if buf_s:
                    small.write("\n".join(buf_s) + "\n")
                    buf_s = []
        if buf_l:
            large.write("\n".join(buf_l) + "\n")
        if buf_s:
            small.write("\n".join(buf_s) + "\n")

    v4_listed = []
    with open(out + "/cidrs.txt", "w") as f:
        buf = []
        for i in range(ncidr):
            if rng.random() < 0.8:
                # a blocklist's shape: mostly single hosts and small
                # networks, a few large ones (Spamhaus DROP's largest is /10)
                k = rng.random()
                plen = (32 if k < 0.60 else rng.randint(24, 31) if k < 0.99
                        else rng.randint(16, 23) if k < 0.9999 else rng.randint(10, 15))
                a = rng.getrandbits(32) & (0xffffffff << (32 - plen)) & 0xffffffff
                txt = "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
                if len(v4_listed) < 100000 and plen >= 16:
                    v4_listed.append((a, plen))
            else:
                k = rng.random()
                plen = (128 if k < 0.40 else rng.randint(48, 64) if k < 0.90
                        else rng.randint(32, 47))
                a = (0x2001 << 112 | rng.getrandbits(112)) & (((1 << 128) - 1) << (128 - plen))
                groups = ["%x" % ((a >> (112 - 16 * k)) & 0xffff) for k in range(8)]
                txt = ":".join(groups)
            buf.append("%s/%d" % (txt, plen))
            if len(buf) >= 100000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")

    with open(out + "/query.log", "w") as f:
        buf = []
        for i in range(lines):
            if rng.random() < 0.03:
                name = listed[rng.randrange(len(listed))]
                name = rand_label(rng, 3, 10) + "." + name if rng.random() < 0.6 else name
            else:
                name = popular[rng.randrange(len(popular))]
                k = rng.random()
                if k < 0.3:
                    name = "www." + name
                elif k < 0.4:
                    name = "cdn." + name
                elif k < 0.5:
                    name = rand_label(rng, 4, 16) + "." + name
            if rng.random() < 0.02:
                name = name.upper()
            s = i // 1000
            client = "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
            buf.append("29-Nov-2026 %02d:%02d:%02d.%03d client @0x7f8bc7a32098 %s#%d (%s): "
                       "query: %s IN %s +E(0)K (10.255.0.1)"
                       % (s // 3600 % 24, s // 60 % 60, s % 60, i % 1000, client,
                          rng.randrange(1024, 65535), name, name, rng.choice(["A", "AAAA", "A", "HTTPS"])))
            if len(buf) >= 100000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")

    with open(out + "/addrs.log", "w") as f:
        buf = []
        for i in range(lines):
            if rng.random() < 0.05 and v4_listed:
                a, plen = v4_listed[rng.randrange(len(v4_listed))]
                a |= rng.getrandbits(32 - plen) if plen < 32 else 0
            else:
                a = rng.getrandbits(32)
            buf.append("%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
            if len(buf) >= 100000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
