#!/usr/bin/env python3
"""Straightforward, independent reference for adrnorm's stage 1
(docs/PIPELINE.md §Candidates to §BM25): dictionary CSV -> candidates ->
candidate texts -> character BM25.
It is written for obviousness, not speed: every query scores every document
with the textbook formula. adrnorm's Swift index must agree with it (scores
within 1e-9 relative, the same order at every rank); the golden files made
here are what the Swift tests compare against.

  golden  [--out DIR]      write the golden files (Tests/RetrievalTests/Golden)
  check   [--subset N]     regenerate in memory and compare with the committed
                           files byte for byte (run by Scripts/test)
  bench   --dictionary CSV --queries FILE [--limit N] [--top-k 100]
                           time the straightforward ranking; prints JSON
  rank    --dictionary CSV [--template full] [--top-k 100] MENTION...
"""
import argparse
import csv
import hashlib
import json
import math
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(ROOT, "Tests/RetrievalTests/Golden")
K1, B = 1.5, 0.75


# ---- dictionary -> candidates (docs/PIPELINE.md §Candidates) ----
def load_csv(path):
    order, by_code = [], {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            code = row["pt_code"].strip()
            if code not in by_code:
                by_code[code] = {"pt_code": code, "pt_name": row["pt_name"].strip(), "llt_names": [],
                                 "hlt_name": row["hlt_name"].strip(), "hlgt_name": row["hlgt_name"].strip(),
                                 "soc_name": row["soc_name"].strip()}
                order.append(code)
            alias = row["llt_name"].strip()
            c = by_code[code]
            if alias and alias not in c["llt_names"]:
                c["llt_names"].append(alias)
    return [by_code[c] for c in order]


def digest(candidates):
    h = hashlib.sha256()
    for c in candidates:
        line = json.dumps([c["pt_code"], c["pt_name"], c["llt_names"], c["hlt_name"], c["hlgt_name"], c["soc_name"]],
                          ensure_ascii=False, separators=(",", ":"))
        h.update((line + "\n").encode("utf-8"))
    return h.hexdigest()


# ---- item 2: templates ----
def render(c, template):
    pt = c["pt_name"]
    aliases = " | ".join(c["llt_names"][:8])
    if template == "pt_only":
        return f"PT: {pt}"
    if template == "pt_llt":
        return f"PT: {pt}；LLT别名: {aliases}" if c["llt_names"] else f"PT: {pt}"
    parts = [f"PT: {pt}"]
    if c["llt_names"]:
        parts.append(f"LLT别名: {aliases}")
    for key, label in (("hlt_name", "HLT"), ("hlgt_name", "HLGT"), ("soc_name", "SOC")):
        if c[key]:
            parts.append(f"{label}: {c[key]}")
    return "；".join(parts)


# ---- item 3: character BM25, the textbook way ----
def terms(text):
    return [ch for ch in text if not ch.isspace()]


class BM25:
    def __init__(self, texts):
        self.docs = [terms(t) for t in texts]
        self.tf = []
        for d in self.docs:
            counts = {}
            for t in d:
                counts[t] = counts.get(t, 0) + 1
            self.tf.append(counts)
        self.n = len(self.docs)
        self.avgdl = sum(len(d) for d in self.docs) / self.n
        df = {}
        for counts in self.tf:
            for t in counts:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(1 + (self.n - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def score(self, query_terms, i):
        dl = len(self.docs[i])
        counts = self.tf[i]
        s = 0.0
        for t in query_terms:
            tf = counts.get(t, 0)
            if tf:
                s += self.idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / self.avgdl))
        return s

    def rank(self, mention, top_k):
        q = terms(mention)
        if not q:
            raise ValueError("empty mention")
        scores = [self.score(q, i) for i in range(self.n)]
        order = sorted(range(self.n), key=lambda i: (-scores[i], i))[:top_k]
        return [(i, scores[i]) for i in order]


# ---- seeded mentions that cover the hard cases ----
PREFIXES = ["", "", "", "吃药后", "用药第二天出现", "患者自述", "输液后", "服药后感觉", "打完针", "昨晚开始"]
SUFFIXES = ["", "", "", "，持续2天", "加重", "明显", "3次", "（已停药）", "！", "。", "？", "，停药后好转"]
ODD = ["☃", "𠀀", "😷", "Ω", "ξ", "qzx", "＠", "∮", "ぁ", "ㄅ"]
LATIN = ["ALT 120U/L", "WBC2.1×10^9/L", "T 39.2℃", "bp 90/60mmHg", "PLT 45", "INR3.5", "QTc 520ms", "CK 2000", "SJS",
         "DRESS", "abc", "Hb 78g/L", "12345", "ＡＬＴ升高", "１２０"]
PUNCT = "，。！？（）：；、“”《》"
SPACES = [" ", "\u3000", "\t", "  ", "\u00a0"]


def make_mentions(candidates, count, seed):
    rng = random.Random(seed)
    names = [c["pt_name"] for c in candidates]
    aliases = [a for c in candidates for a in c["llt_names"]]
    out = []
    # Fixed cases first: no-document characters (all scores 0: candidate order),
    # single very common characters (many ties), repeats, whitespace inside.
    fixed = ["☃", "𠀀😷", "qzx", "ぁㄅ∮", "痛", "肿", "P", "T", "：", "；", "|", "痛痛痛痛", "头头头晕晕",
             "  恶心  ", "\u3000头\t痛 ", "ALT", "ALT升高", "123", "ＡＢＣ", "(头痛)", "（头痛）", "头痛!!!", "头痛！！！"]
    out.extend(fixed)
    kinds = ["alias", "alias", "name", "combo", "repeat", "spaces", "punct", "latin", "odd", "short", "prefix"]
    while len(out) < count:
        kind = rng.choice(kinds)
        base = rng.choice(aliases) if rng.random() < 0.7 else rng.choice(names)
        if kind == "name":
            m = rng.choice(names)
        elif kind == "alias":
            m = rng.choice(PREFIXES) + base + rng.choice(SUFFIXES)
        elif kind == "combo":
            m = base + rng.choice(["、", "，", " 伴 ", "和", ",", "；"]) + rng.choice(aliases)
        elif kind == "repeat":
            i = rng.randrange(len(base))
            m = base[:i] + base[i] * rng.randint(2, 5) + base[i:]
        elif kind == "spaces":
            i = rng.randrange(len(base) + 1)
            m = rng.choice(SPACES) + base[:i] + rng.choice(SPACES) + base[i:] + rng.choice(SPACES)
        elif kind == "punct":
            m = rng.choice(PUNCT) + base + rng.choice(PUNCT) + rng.choice(PUNCT)
        elif kind == "latin":
            m = rng.choice(LATIN) + rng.choice(["", "，", " "]) + (base if rng.random() < 0.5 else "")
        elif kind == "odd":
            m = rng.choice(ODD) + (base if rng.random() < 0.5 else rng.choice(ODD))
        elif kind == "short":
            m = rng.choice(base)
        else:
            m = rng.choice(PREFIXES[3:]) + rng.choice(SUFFIXES[3:])
        if m.strip():
            out.append(m)
    return out[:count]


# ---- golden files ----
# (file name, dictionary, template, mention count, seed)
SETS = [
    ("demo_full.jsonl", "Demo/dictionary/demo_dictionary.csv", "full", 600, 11),
    ("demo_pt_only.jsonl", "Demo/dictionary/demo_dictionary.csv", "pt_only", 150, 12),
    ("demo_pt_llt.jsonl", "Demo/dictionary/demo_dictionary.csv", "pt_llt", 100, 13),
    ("generated2000_full.jsonl", "Tests/RetrievalTests/Golden/generated2000.csv", "full", 500, 14),
]
TOP_K = 100


def golden_text(dictionary, template, count, seed, limit=None):
    candidates = load_csv(os.path.join(ROOT, dictionary))
    texts = [render(c, template) for c in candidates]
    index = BM25(texts)
    header = {"dictionary": dictionary, "template": template, "top_k": TOP_K, "n": index.n, "avgdl": index.avgdl,
              "digest": digest(candidates),
              "texts_sha256": hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()}
    lines = [json.dumps(header, ensure_ascii=False)]
    mentions = make_mentions(candidates, count, seed)
    for k, m in enumerate(mentions[:limit] if limit else mentions):
        top = index.rank(m, TOP_K)
        lines.append(json.dumps({"id": f"m{k:04d}", "mention": m, "top": [[i, s] for i, s in top]},
                                ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def ensure_generated():
    path = os.path.join(GOLDEN, "generated2000.csv")
    if not os.path.exists(path):
        import subprocess
        subprocess.run([sys.executable, os.path.join(HERE, "generate_dictionary.py"), "--out", path,
                        "--pts", "2000", "--llts", "6300", "--seed", "7"], check=True)


def cmd_golden(args):
    os.makedirs(GOLDEN, exist_ok=True)
    ensure_generated()
    for name, dictionary, template, count, seed in SETS:
        with open(os.path.join(GOLDEN, name), "w", encoding="utf-8") as f:
            f.write(golden_text(dictionary, template, count, seed))
        print(f"wrote {name}", file=sys.stderr)


def cmd_check(args):
    failures = 0
    for name, dictionary, template, count, seed in SETS:
        with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
            committed = f.read()
        fresh = golden_text(dictionary, template, count, seed, limit=args.subset)
        if args.subset:
            committed = "".join(committed.splitlines(keepends=True)[:args.subset + 1])
        if fresh != committed:
            failures += 1
            a, b = fresh.splitlines(), committed.splitlines()
            first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            print(f"{name}: differs from the reference at line {first + 1}; "
                  f"regenerate with Scripts/reference/bm25_reference.py golden", file=sys.stderr)
        else:
            print(f"{name}: matches the reference", file=sys.stderr)
    sys.exit(1 if failures else 0)


def cmd_bench(args):
    candidates = load_csv(args.dictionary)
    t0 = time.perf_counter()
    index = BM25([render(c, args.template) for c in candidates])
    build = time.perf_counter() - t0
    queries = [l.rstrip("\n") for l in open(args.queries, encoding="utf-8") if l.strip()][:args.limit]
    lat = []
    results = []
    for q in queries:
        t = time.perf_counter()
        results.append(index.rank(q, args.top_k))
        lat.append(time.perf_counter() - t)
    lat.sort()
    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            for q, top in zip(queries, results):
                f.write(json.dumps({"mention": q, "top": top}, ensure_ascii=False) + "\n")
    print(json.dumps({"implementation": "python straightforward", "queries": len(queries),
                      "build_s": build, "p50_ms": 1000 * lat[len(lat) // 2],
                      "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                      "mean_ms": 1000 * statistics.mean(lat), "qps": len(lat) / sum(lat)}))


def cmd_rank(args):
    candidates = load_csv(args.dictionary)
    index = BM25([render(c, args.template) for c in candidates])
    for m in args.mentions:
        print(json.dumps({"mention": m, "top": [[candidates[i]["pt_code"], s] for i, s in index.rank(m, args.top_k)]},
                         ensure_ascii=False))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("golden")
    c = sub.add_parser("check")
    c.add_argument("--subset", type=int, default=None, help="only the first N mentions of each file")
    b = sub.add_parser("bench")
    b.add_argument("--dictionary", required=True)
    b.add_argument("--queries", required=True)
    b.add_argument("--template", default="full")
    b.add_argument("--limit", type=int, default=200)
    b.add_argument("--top-k", type=int, default=100)
    b.add_argument("--results", help="write the rankings (JSONL) here")
    r = sub.add_parser("rank")
    r.add_argument("--dictionary", required=True)
    r.add_argument("--template", default="full")
    r.add_argument("--top-k", type=int, default=100)
    r.add_argument("mentions", nargs="+")
    args = ap.parse_args()
    {"golden": cmd_golden, "check": cmd_check, "bench": cmd_bench, "rank": cmd_rank}[args.cmd](args)


if __name__ == "__main__":
    main()
