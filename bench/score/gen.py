#!/usr/bin/env python3
"""gen.py OUT N - N domain names for bench/score (seeded, no data files):
a mix like a resolver's query stream: dictionary-word names, names with
subdomains, random-looking (DGA-like) labels, hyphenated and digit names,
under common, country-code and new suffixes."""
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261129)
words = ("mail cloud shop news bank store media online secure login data "
         "north river stone light green house garden market travel photo "
         "game play video music sport health energy world city home tech").split()
suffixes = ["com"] * 8 + ["net", "org", "de", "ee", "co.uk", "fr", "io", "xyz",
                          "top", "info", "ru", "github.io", "app"]
letters = "abcdefghijklmnopqrstuvwxyz"
with open(out, "w") as f:
    for i in range(n):
        k = rnd.random()
        if k < 0.4:
            label = "".join(rnd.choice(words) for _ in range(rnd.randint(1, 3)))
        elif k < 0.6:
            label = "".join(rnd.choice(letters) for _ in range(rnd.randint(8, 20)))
        elif k < 0.75:
            label = "-".join(rnd.choice(words) for _ in range(2))
        elif k < 0.85:
            label = rnd.choice(words) + str(rnd.randint(1, 9999))
        else:
            label = "".join(rnd.choice(letters + "0123456789") for _ in range(rnd.randint(6, 32)))
        name = label + "." + rnd.choice(suffixes)
        if rnd.random() < 0.3:
            name = rnd.choice(["www", "api", "cdn", "mail", "static", "img"]) + "." + name
        f.write(name + "\n")
