#!/usr/bin/env python3
"""make_extracts.py - how the lookalike test data in this directory was made.

Run from the repository root with the shared data at ../shared/data:
    python3 tests/data/lookalike/make_extracts.py /work/shared/data

Writes
  eval_brands.txt              the default brand list (data/brands/eu-gov-media.txt)
                               plus the brands the phishing lists and the
                               Doppelganger spoofs imitate that it lacks
  phishing_brand_lookalikes.csv  the phishing domains that imitate a brand of
                               eval_brands.txt, with every brand they could
                               imitate (';'-separated; see below)
  popular.txt                  25,000 names drawn at random (seed 5) from the
                               union of the popular lists (the top lists among
                               the MISP warning lists, the Cloudflare Radar and
                               crypto allowlist benign sets), minus the brands
                               and their subdomains
The labels of doppelganger_spoof_labelled.csv were written by hand (see
tests/data/SOURCES.md).

Labelling the phishing domains: a reference that shares no code with bulwark
(plain Python: full Levenshtein of every label of the host against every
brand label, substring search, punycode decoded and folded with NFKD and a
table of Cyrillic/Greek look-alike letters).  A host imitates brand B when
  - a label or '-' token of the host equals B's label (4+ characters), or
    B's label (6+ characters) occurs inside one, or
  - a label of the host is within Levenshtein 1 (B's label 5+ characters) or
    2 (8+) of B's label, after folding,
and the host is not under B's own domain.  This is generous on purpose: it
marks more names than a human would, so recall measured against it is a
lower bound.
"""
import csv, json, os, random, sys, unicodedata

DATA = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/data'
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

CONF = {'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'х': 'x', 'у': 'y',
        'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ɡ': 'g', 'һ': 'h', 'ӏ': 'l',
        'ı': 'i', 'ɑ': 'a', 'α': 'a', 'ο': 'o', 'ν': 'v', 'τ': 't', 'κ': 'k',
        'ρ': 'p', 'ω': 'w', 'ɩ': 'i', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ꮃ': 'w'}


def fold(label):
    if label.startswith('xn--'):
        try:
            label = label[4:].encode().decode('punycode')
        except Exception:
            return label
    out = []
    for ch in unicodedata.normalize('NFKD', label):
        if unicodedata.combining(ch):
            continue
        out.append(CONF.get(ch, ch))
    return ''.join(out)


def lev(a, b, cap):
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def load_psl():
    rules, exc, wild = set(), set(), set()
    for line in open('/usr/share/publicsuffix/public_suffix_list.dat', encoding='utf-8'):
        line = line.strip()
        if not line or line.startswith('//'):
            continue
        line = line.encode('idna').decode() if not line.startswith(('!', '*')) and not line.isascii() else line
        if line.startswith('!'):
            exc.add(line[1:])
        elif line.startswith('*.'):
            wild.add(line[2:])
        else:
            rules.add(line)
    return rules, exc, wild


PSL = load_psl()


def registrable(host):
    rules, exc, wild = PSL
    labels = host.split('.')
    for i in range(len(labels)):
        cand = '.'.join(labels[i:])
        if cand in exc:
            return cand
        if cand in rules or '.'.join(labels[i + 1:]) in wild and i + 1 < len(labels):
            return '.'.join(labels[i - 1:]) if i > 0 else None
    return '.'.join(labels[-2:]) if len(labels) >= 2 else None


def brand_label(dom):
    reg = registrable(dom) or dom
    return reg.split('.')[0]


def imitates(host, brands):
    """The brands host imitates (all of them), or None."""
    found = [b[0] for b in brands if imitates_one(host, [b])]
    return found or None


def mine(host, b):
    reg = registrable(b[0]) or b[0]
    return host == b[0] or host.endswith('.' + b[0]) or registrable(host) == reg


def imitates_one(host, brands):
    for b, blab in brands:
        if host == b or host.endswith('.' + b):
            return None
        reg = registrable(b) or b
        if registrable(host) == reg:
            return None
    reg = registrable(host) or host
    # the labels left of the public suffix: the registrable label and the
    # subdomains
    keep = host[:len(host) - len(reg)].split('.')[:-1] + [reg.split('.')[0]]
    parts = [fold(x) for x in keep if x]
    toks = [t for p in parts for t in p.split('-')]
    regl = parts[-1]
    for b, blab in brands:
        n = len(blab)
        if n >= 4 and blab in toks:
            return b
        # inside a label; a hyphenated brand label only at a word start
        # ("t-online" is not in "connect-online")
        if n >= 6 and any(blab in p if '-' not in blab else
                          (p.startswith(blab) or '-' + blab in p) for p in parts):
            return b
        # typos of the registrable label, and of subdomain labels for brand
        # labels of 6 or more ("defi" is not a typo of "delfi")
        if n >= 5 and 1 <= lev(regl, blab, 2) <= (2 if n >= 8 else 1):
            return b
        if n >= 6 and any(1 <= lev(p, blab, 2) <= (2 if n >= 8 else 1) for p in parts[:-1]):
            return b
    return None


def main():
    base = [l.split('#')[0].strip() for l in open(os.path.join(ROOT, 'data/brands/eu-gov-media.txt'))]
    base = [b for b in base if b]
    fuzzy = [l.strip() for l in open(os.path.join(DATA, 'phishing/eth-phishing-detect_fuzzylist.txt')) if l.strip()]
    spoof = [r['imitates'] for r in csv.DictReader(open(os.path.join(HERE, 'doppelganger_spoof_labelled.csv'))) if r['imitates']]
    extra = []
    for b in fuzzy + sorted(set(spoof)):
        if b not in base and b not in extra:
            extra.append(b)
    with open(os.path.join(HERE, 'eval_brands.txt'), 'w') as f:
        f.write('# data/brands/eu-gov-media.txt plus the brands below (make_extracts.py)\n')
        for b in base:
            f.write(b + '\n')
        f.write('# eth-phishing-detect fuzzylist, and Doppelganger targets not in the default list\n')
        for b in extra:
            f.write(b + '\n')
    brands = [(b, brand_label(b)) for b in base + extra]
    allb = set(b for b, _ in brands)

    n = 0
    with open(os.path.join(HERE, 'phishing_brand_lookalikes.csv'), 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['name', 'imitates'])
        seen = set()
        for r in csv.DictReader(open(os.path.join(DATA, 'phishing/phishing_domains_train.csv'))):
            d = r['domain'].strip().lower()
            if d in seen:
                continue
            seen.add(d)
            if any(mine(d, b) for b in brands):
                continue
            b = imitates(d, brands)
            if b:
                w.writerow([d, ';'.join(b)])
                n += 1
    print('phishing lookalikes', n, file=sys.stderr)

    def wl(name, limit=None):
        j = json.load(open(os.path.join(DATA, 'misp-warninglists/lists', name, 'list.json')))
        return j['list'][:limit] if limit else j['list']

    # a random sample (fixed seed) of the union of the popular lists: the
    # top lists among the MISP warning lists and the benign sets
    pop = []
    for name in ('tranco10k', 'cisco_top1000', 'cisco_top5k', 'cisco_top10k', 'cisco_top20k',
                 'cloudflare-top200', 'cloudflare-top1k', 'cloudflare-top2k', 'cloudflare-top5k',
                 'cloudflare-top10k', 'cloudflare-top20k', 'majestic_million', 'alexa', 'moz-top500'):
        pop += wl(name)
    for f in ('benign/benign_cloudflare_radar_50k_100k_train.csv', 'benign/crypto_benign_whitelist_train.csv'):
        pop += [r['domain'] for r in csv.DictReader(open(os.path.join(DATA, f)))]
    pop = sorted(set(d.strip().lower() for d in pop))
    random.Random(5).shuffle(pop)
    pop = pop[:25000]
    out, seen = [], set()
    for d in pop:
        d = d.strip().lower().lstrip('.').lstrip('*.')
        if not d or d in seen or '.' not in d or d.startswith('-'):
            continue
        if any(d == b or d.endswith('.' + b) for b in allb):
            continue
        seen.add(d)
        out.append(d)
    with open(os.path.join(HERE, 'popular.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('popular', len(out), file=sys.stderr)


main()
