#!/usr/bin/env python3
"""train-model-split.py DATA_DIR WORK_DIR - the train and held-out name lists
of the domain-risk model (called by scripts/train-model; see models/README.md).

Deterministic: every decision is a hash, no random state.
  - a name is held out when the SHA-256 of its registrable domain (Public
    Suffix List of the publicsuffix package) falls in the lowest 20%; the
    same rule for every list, so one registrable domain is never on both
    sides, whatever list it comes from;
  - DGA families are held out whole when the hash of "family:NAME" falls in
    the lowest 20% (the family hold-out: the model never saw them);
  - benign names: the Radar 50k-100k set, the clean top lists (tranco10k,
    cisco_top20k) and, for training only, the other top lists and the
    crypto/web3 whitelist of eth-phishing-detect (benign/);
  - malicious names whose registrable domain is on a benign top list are
    dropped from both sides (label noise: free hosting, compromised sites);
  - caps keep a training run to a few minutes on two cores: DGA at most 8,000
    training names per family (DGA_FAMILY_CAP), at most 1,500 held-out names
    per family, maltrail 60,000 training and 10,000 held-out names (hash
    subsamples);
  - train-maltrail.txt and train-urlhaus.txt are written but scripts/train-model
    does not train on them (see models/README.md: they cost the generated and
    phishing figures more than they add).
"""
import csv
import gzip
import hashlib
import io
import json
import os
import sys

HOLD = 0.2
# VALIDATE=1: a further 20% of the training side (by the hash of "val:" + the
# registrable domain) goes to val-*.txt instead of train-*.txt, for choosing
# features and parameters without looking at the held-out test split.
VALIDATE = os.environ.get("VALIDATE") == "1"
DGA_FAMILY_CAP = int(os.environ.get("DGA_FAMILY_CAP", "8000"))
DGA_TEST_CAP = 1500
MALTRAIL_TRAIN = 60000
MALTRAIL_TEST = 10000


def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16) / float(1 << 48)


class PSL:
    def __init__(self, path):
        self.rules, self.wild, self.exc = set(), set(), set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("//"):
                    continue
                line = line.split()[0]
                try:
                    line = line.encode("idna").decode() if not line.isascii() else line
                except Exception:
                    continue
                if line.startswith("!"):
                    self.exc.add(line[1:])
                elif line.startswith("*."):
                    self.wild.add(line[2:])
                else:
                    self.rules.add(line)

    def registrable(self, name):
        labels = name.split(".")
        for i in range(len(labels)):
            suf = ".".join(labels[i:])
            if suf in self.exc:
                return ".".join(labels[i:])
            if suf in self.rules or ".".join(labels[i + 1:]) in self.wild:
                return ".".join(labels[i - 1:]) if i > 0 else name
        return ".".join(labels[-2:])


def clean(name):
    name = name.strip().lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    if not name or "." not in name or "/" in name or ":" in name:
        return None
    if all(c.isdigit() or c == "." for c in name):
        return None
    return name


def main():
    data, work = sys.argv[1], sys.argv[2]
    psl = PSL("/usr/share/publicsuffix/public_suffix_list.dat")
    reg_cache = {}

    def reg(n):
        r = reg_cache.get(n)
        if r is None:
            r = reg_cache[n] = psl.registrable(n)
        return r

    def held(n):
        return h("split:" + reg(n)) < HOLD

    def train_key(n, key):
        if VALIDATE and h("val:" + reg(n)) < HOLD:
            return "val-" + key
        return "train-" + key

    def misp(name):
        with open(os.path.join(data, "misp-warninglists/lists", name, "list.json")) as f:
            return [c for c in (clean(x) for x in json.load(f)["list"]) if c]

    def csv_domains(path):
        with open(os.path.join(data, path)) as f:
            return [c for c in (clean(row["domain"]) for row in csv.DictReader(f)) if c]

    radar = csv_domains("benign/benign_cloudflare_radar_50k_100k_train.csv")
    clean_top = misp("tranco10k") + misp("cisco_top20k")
    other = []
    for lst in ("majestic_million", "alexa", "moz-top500", "cloudflare-top20k",
                "cisco_top1000", "cisco_top5k", "cisco_top10k"):
        other += misp(lst)
    # known-legitimate crypto and web3 names (eth-phishing-detect's
    # whitelist): the hard negatives of the phishing class, training only
    other += csv_domains("benign/crypto_benign_whitelist_train.csv")
    benign_all = set(radar) | set(clean_top) | set(other)
    benign_regs = set(reg(n) for n in set(clean_top) | set(other))
    radar_set, clean_set = set(radar), set(clean_top)

    out = {}

    def put(key, name):
        out.setdefault(key, set()).add(name)

    for n in benign_all:
        if not held(n):
            key = train_key(n, "benign")
            put(key, n)
            if key.startswith("val-") and n in radar_set:
                put("val-benign-radar", n)
            if key.startswith("val-") and n in clean_set:
                put("val-benign-clean", n)
    for n in radar:
        if held(n):
            put("test-benign-radar", n)
    for n in clean_top:
        if held(n):
            put("test-benign-clean", n)

    def malicious_ok(n):
        return n not in benign_all and reg(n) not in benign_regs

    dropped = 0
    # DGA
    fam_rows = {}
    with gzip.open(os.path.join(data, "dga/dga_domains_train.csv.gz"), "rt") as f:
        for row in csv.DictReader(f):
            c = clean(row["domain"])
            if c:
                fam_rows.setdefault(row["family"], []).append(c)
    held_fams = sorted(f for f in fam_rows if h("family:" + f) < HOLD)
    for fam, rows in sorted(fam_rows.items()):
        rows = sorted(set(rows), key=lambda n: h("order:" + n))
        if fam in held_fams:
            for n in rows[:DGA_TEST_CAP]:
                if malicious_ok(n):
                    put("test-dga-family", n)
            continue
        ntrain = ntest = nval = 0
        for n in rows:
            if not malicious_ok(n):
                dropped += 1
                continue
            if held(n):
                if ntest < DGA_TEST_CAP:
                    put("test-dga-random", n)
                    ntest += 1
            elif train_key(n, "dga") == "val-dga":
                if nval < DGA_TEST_CAP:
                    put("val-dga", n)
                    nval += 1
            elif ntrain < DGA_FAMILY_CAP:
                put("train-dga", n)
                ntrain += 1

    def simple(path, key, opener=open):
        nonlocal dropped
        with opener(os.path.join(data, path), "rt") as f:
            for row in csv.DictReader(f):
                c = clean(row["domain"])
                if not c:
                    continue
                if not malicious_ok(c):
                    dropped += 1
                    continue
                put("test-" + key if held(c) else train_key(c, key), c)

    simple("phishing/phishing_domains_train.csv", "phishing")
    simple("malware/urlhaus_domains_train.csv", "urlhaus")

    # maltrail: domain rows of the malware and malicious categories
    mt_train, mt_test = [], []
    with gzip.open(os.path.join(data, "malware/maltrail_trails_train.csv.gz"), "rt") as f:
        for row in csv.DictReader(f):
            if row["type"] != "domain" or row["category"] not in ("malware", "malicious"):
                continue
            c = clean(row["indicator"])
            if not c:
                continue
            if not malicious_ok(c):
                dropped += 1
                continue
            (mt_test if held(c) else mt_train).append(c)
    mt_train = sorted(set(mt_train), key=lambda n: h("order:" + n))[:MALTRAIL_TRAIN]
    mt_test = sorted(set(mt_test), key=lambda n: h("order:" + n))[:MALTRAIL_TEST]
    for n in mt_train:
        put("train-maltrail", n)
    for n in mt_test:
        put("test-maltrail", n)

    counts = {}
    for key, names in sorted(out.items()):
        with open(os.path.join(work, key + ".txt"), "w") as f:
            for n in sorted(names):
                f.write(n + "\n")
        counts[key] = len(names)
    info = {
        "data": "shared/data of 2026-11-29 (see its SOURCES.md): benign Cloudflare "
                "Radar 50k-100k, MISP tranco10k, cisco_top*, majestic_million, alexa, "
                "moz-top500, cloudflare-top20k, eth-phishing-detect crypto whitelist; "
                "malicious DGA (Netlab families, at most "
                "%d per family) and phishing (eth-phishing-detect, polkadot-js); URLhaus "
                "and maltrail malware/malicious domains held out for measurement only"
                % DGA_FAMILY_CAP,
        "split": "held out: registrable domain SHA-256 < 0.2; DGA families with "
                 "SHA-256('family:NAME') < 0.2 held out whole",
        "held_out_families": held_fams,
        "counts": counts,
        "dropped_noise": dropped,
    }
    with open(os.path.join(work, "info.json"), "w") as f:
        json.dump(info, f, separators=(",", ":"))
    json.dump(info, sys.stderr, indent=1)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
