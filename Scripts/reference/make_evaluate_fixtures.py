#!/usr/bin/env python3
"""Writes the prediction JSONL fixtures for the evaluation tests (seeded),
then their expected metrics with evaluate_reference.py.
  make_evaluate_fixtures.py Tests/NormalizationTests/Fixtures/evaluate
"""
import json
import os
import random
import subprocess
import sys


def row(mid, code, prob, gold, label="auto", text="用药后头晕"):
    r = {"mention_id": mid, "text_a": text, "candidate_pt_code": code, "candidate_pt_name": "PT" + code,
         "candidate_llt_names": [], "candidate_hlt_name": "", "candidate_hlgt_name": "", "candidate_soc_name": "",
         "prob_1": prob}
    if gold is not None:
        r["gold_pt_codes"] = gold
        r["gold_soc_codes"] = []
    if label == "auto":
        label = 1 if gold and code in gold else 0
    if label is not None:
        r["label"] = label
    r["pred_label"] = 1 if prob >= 0.5 else 0
    return r


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    g = ["90000001"]
    write(f"{out}/edge_no_positive_candidate.jsonl", [
        row("m1", "90000002", 0.9, g), row("m1", "90000003", 0.2, g),
        row("m2", "90000001", 0.8, g), row("m2", "90000004", 0.4, g)])
    write(f"{out}/edge_nothing_above_threshold.jsonl", [
        row("a", "90000001", 0.01, g), row("a", "90000005", 0.02, g),
        row("b", "90000006", 0.03, ["90000006", "90000007"]), row("b", "90000007", 0.001, ["90000006", "90000007"])])
    write(f"{out}/edge_all_equal_probabilities.jsonl",
          [row(f"x{i}", c, 0.5, [f"9000000{i}"]) for i in range(1, 4) for c in ("90000001", "90000002", "90000003")])
    write(f"{out}/edge_single_mention.jsonl", [
        row("only", "90000011", 0.97, ["90000011", "90000012"]), row("only", "90000012", 0.31, ["90000011", "90000012"]),
        row("only", "90000013", 0.29, ["90000011", "90000012"])])
    write(f"{out}/edge_ranking_ties.jsonl", [
        row("t1", "90000021", 0.6, ["90000022"]), row("t1", "90000022", 0.6, ["90000022"]),
        row("t1", "90000023", 0.6, ["90000022"]), row("t2", "90000024", 0.7, ["90000024"]),
        row("t2", "90000025", 0.7, ["90000024"]), row("t2", "90000026", 0.1, ["90000024"])])
    write(f"{out}/edge_gold_and_label_sources.jsonl", [
        # no gold codes anywhere for this mention: gold comes from labels
        row("L", "90000031", 0.8, None, 1), row("L", "90000032", 0.4, None, 0), row("L", "90000033", 0.35, None, 1),
        # gold codes but no labels: labels come from gold
        row("G", "90000034", 0.9, ["90000034"], None), row("G", "90000035", 0.1, ["90000034"], None),
        # empty gold set
        row("E", "90000036", 0.05, None, 0), row("E", "90000037", 0.6, None, 0)])
    rng = random.Random(20261126)
    rows = []
    for m in range(300):
        ncand = rng.choice([1, 3, 5, 10, 20])
        codes = [f"9{rng.randrange(10**7):07d}" for _ in range(ncand)]
        codes = list(dict.fromkeys(codes))
        gold = rng.sample(codes, k=min(len(codes), rng.choice([0, 1, 1, 1, 2, 3]))) if rng.random() < 0.85 else [f"98{m:06d}"]
        for c in codes:
            base = 0.75 if c in gold else 0.2
            p = round(min(1.0, max(0.0, rng.gauss(base, 0.25))), 2)
            rows.append(row(f"r{m}", c, p, gold))
    write(f"{out}/random_300_mentions.jsonl", rows)
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, f"{here}/evaluate_reference.py", "--make-golden", out], check=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/NormalizationTests/Fixtures/evaluate")
