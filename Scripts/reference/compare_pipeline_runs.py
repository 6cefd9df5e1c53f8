#!/usr/bin/env python3
"""Compares `adrnorm normalize` + `adrnorm evaluate` with the Python
reference pipeline on the same mentions, model and dictionary:
  - every mention has the same candidates in the same order (BM25);
  - prob_1 agrees within --prob-tolerance;
  - every metric agrees within one mention's worth (1 / mentions), since a
    probability within the tolerance of a threshold may fall either side;
    it prints how many pair decisions differ and every metric next to its
    reference value.
  compare_pipeline_runs.py SWIFT.jsonl PYTHON.jsonl SWIFT_METRICS.json PYTHON_METRICS.json
Exit 1 on any difference beyond the tolerances.
"""
import argparse
import json
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("swift")
    ap.add_argument("python")
    ap.add_argument("swift_metrics")
    ap.add_argument("python_metrics")
    ap.add_argument("--prob-tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    a, b = read(args.swift), read(args.python)
    failures = []
    if [(r["mention_id"], r["candidate_pt_code"]) for r in a] != [(r["mention_id"], r["candidate_pt_code"]) for r in b]:
        failures.append("candidate lists differ")
    worst = max((abs(x["prob_1"] - y["prob_1"]) for x, y in zip(a, b)), default=0.0)
    if worst > args.prob_tolerance:
        failures.append(f"prob_1 differs by up to {worst:.3g} (> {args.prob_tolerance})")
    flips = sum(1 for x, y in zip(a, b) if (x["prob_1"] >= 0.3) != (y["prob_1"] >= 0.3))
    ma = json.load(open(args.swift_metrics, encoding="utf-8"))
    mb = json.load(open(args.python_metrics, encoding="utf-8"))
    slack = 1.0 / max(1, mb["num_mentions"]) + 1e-12
    print(f"pairs {len(a)}, mentions {mb['num_mentions']}, max |Δprob_1| {worst:.3g}, decisions that differ at 0.3: {flips}")
    for key, ref in mb.items():
        if isinstance(ref, (int, float)) and not isinstance(ref, bool):
            got = ma.get(key)
            ok = got is not None and abs(got - ref) <= (0 if key in ("num_pairs", "num_mentions") else
                                                         (slack if key not in ("tp", "tn", "fp", "fn") else 2))
            print(f"  {key:24} adrnorm {got!s:>22}  reference {ref!s:>22}  {'ok' if ok else 'DIFFERENT'}")
            if not ok:
                failures.append(f"{key}: {got} vs {ref}")
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
