#!/usr/bin/env python3
"""Writes a seeded, synthetic labelled mention set from the demo dictionary
(JSONL: mention_id, text_a, gold_pt_codes, gold_soc_codes), for the
end-to-end check of normalize + evaluate against the reference pipeline.
Mentions are PT names and aliases in reporters' contexts; some carry two
symptoms (two gold PTs). Synthetic: not clinical data.
  make_labelled_mentions.py DICTIONARY.csv OUT.jsonl [--count 200] [--seed 11]
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bm25_reference import load_csv  # noqa: E402

CONTEXT = ["", "用药后", "吃完药后", "服药第二天出现", "输液时", "打针后", "患者自述", "停药后仍有"]
TAIL = ["", "，持续两天", "明显", "，休息后好转", "加重", "。"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dictionary")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    candidates = load_csv(args.dictionary)
    rows = []
    for i in range(args.count):
        picks = rng.sample(candidates, 2 if rng.random() < 0.25 else 1)
        names = [rng.choice([c["pt_name"]] + c["llt_names"]) for c in picks]
        text = rng.choice(CONTEXT) + "，".join(names) + rng.choice(TAIL)
        rows.append({"mention_id": f"lm{i:04d}", "text_a": text,
                     "gold_pt_codes": [c["pt_code"] for c in picks], "gold_soc_codes": []})
    with open(args.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
