#!/usr/bin/env python3
"""Independent reference for `adrnorm evaluate` (docs/PIPELINE.md §Metrics).

Written straightforwardly from the definitions, without sharing code or
method with the Swift implementation (ROC-AUC here compares every positive
with every negative instead of ranking). The conventions are the ones
documented in Sources/Normalization/Evaluation/EvaluationMetrics.swift.

  evaluate_reference.py PREDICTIONS.jsonl [--threshold 0.3]
      [--thresholds 0.1,0.2,...] [--threshold-optimize exact_set_match|example_f1]
prints the metrics JSON (keys as `adrnorm evaluate` writes them).
  evaluate_reference.py --make-golden DIR   regenerates DIR/*.expected.json
"""
import argparse
import json
import os
import sys

KS = (1, 3, 5)
DEFAULT_SCAN = [i / 20 for i in range(1, 20)]


def load(path):
    mentions = {}
    order = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            mid = str(row["mention_id"])
            if mid not in mentions:
                mentions[mid] = {"gold": None, "rows": []}
                order.append(mid)
            m = mentions[mid]
            gold = [str(g) for g in row.get("gold_pt_codes") or []]
            if m["gold"] is None and gold:
                m["gold"] = gold
            m["rows"].append((str(row.get("candidate_pt_code", "")), float(row["prob_1"]), row.get("label")))
    out = []
    for mid in order:
        m = mentions[mid]
        if m["gold"] is not None:
            gold = set(m["gold"])
        else:
            gold = set(code for code, _, label in m["rows"] if label == 1)
        rows = []
        for code, p, label in m["rows"]:
            if label is None:
                label = 1 if code in gold else 0
            rows.append((code, p, int(label)))
        out.append((mid, gold, rows))
    return out


def safe_div(a, b):
    return a / b if b else 0.0


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def pair_metrics(mentions):
    tp = tn = fp = fn = 0
    pos, neg = [], []
    for _, _, rows in mentions:
        for _, p, label in rows:
            pred = p >= 0.5
            if pred and label == 1:
                tp += 1
            elif pred:
                fp += 1
            elif label == 1:
                fn += 1
            else:
                tn += 1
            (pos if label == 1 else neg).append(p)
    if pos and neg:
        wins = 0.0
        for a in pos:
            for b in neg:
                wins += 1.0 if a > b else (0.5 if a == b else 0.0)
        auc = wins / (len(pos) * len(neg))
    else:
        auc = None
    prec = safe_div(tp, tp + fp)
    rec = safe_div(tp, tp + fn)
    return {
        "pair_accuracy": safe_div(tp + tn, tp + tn + fp + fn),
        "pair_precision": prec,
        "pair_recall": rec,
        "pair_f1": f1(prec, rec),
        "tp": tp, "tn": tn, "fp": fp, "fn": fn,
        "roc_auc": auc,
    }


def mention_metrics(mentions, t):
    n = len(mentions)
    exact = card = 0
    sp = sr = sf = 0.0
    hits = npred = ngold = 0
    for _, gold, rows in mentions:
        pred = set(code for code, p, _ in rows if p >= t)
        inter = len(pred & gold)
        exact += pred == gold
        card += len(pred) == len(gold)
        if not pred and not gold:
            p = r = f = 1.0
        else:
            p = inter / len(pred) if pred else 0.0
            r = inter / len(gold) if gold else 0.0
            f = f1(p, r)
        sp += p
        sr += r
        sf += f
        hits += inter
        npred += len(pred)
        ngold += len(gold)
    mp = safe_div(hits, npred)
    mr = safe_div(hits, ngold)
    return {
        "threshold": t,
        "exact_set_match": exact / n,
        "example_precision": sp / n,
        "example_recall": sr / n,
        "example_f1": sf / n,
        "micro_precision": mp,
        "micro_recall": mr,
        "micro_f1": f1(mp, mr),
        "cardinality_accuracy": card / n,
        "mean_predicted_count": npred / n,
    }


def ranking_metrics(mentions):
    n = len(mentions)
    top1 = 0
    all_gold = {k: 0 for k in KS}
    any_hit = {k: 0 for k in KS}
    for _, gold, rows in mentions:
        ranked = [code for _, (code, p, _) in sorted(enumerate(rows), key=lambda e: (-e[1][1], e[0]))]
        if ranked and ranked[0] in gold:
            top1 += 1
        for k in KS:
            top = set(ranked[:k])
            if all(g in top for g in gold):
                all_gold[k] += 1
            if any(g in top for g in gold):
                any_hit[k] += 1
    out = {"top1_accuracy": top1 / n}
    for k in KS:
        out[f"recall_at_{k}_all_gold"] = all_gold[k] / n
    for k in KS:
        out[f"recall_at_{k}_any_hit"] = any_hit[k] / n
    return out


def evaluate(mentions, threshold=0.3, scan=None, objective="exact_set_match"):
    scan = DEFAULT_SCAN if scan is None else scan
    rows = sum(len(r) for _, _, r in mentions)
    out = {"num_pairs": rows, "num_mentions": len(mentions), "pair_threshold": 0.5}
    out.update(pair_metrics(mentions))
    out.update(mention_metrics(mentions, threshold))
    out.update(ranking_metrics(mentions))
    scanned = [mention_metrics(mentions, t) for t in scan]
    other = "example_f1" if objective == "exact_set_match" else "exact_set_match"
    best = None
    for m in scanned:  # strictly better only: ties keep the lower threshold seen first…
        if best is None or (m[objective], m[other]) > (best[objective], best[other]) or (
                (m[objective], m[other]) == (best[objective], best[other]) and m["threshold"] < best["threshold"]):
            best = m
    if best is None:
        best = mention_metrics(mentions, threshold)
    out["threshold_optimize"] = objective
    out["best_threshold"] = best["threshold"]
    out["best"] = best
    out["threshold_scan"] = scanned
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions", nargs="?")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--thresholds")
    ap.add_argument("--threshold-optimize", default="exact_set_match", choices=["exact_set_match", "example_f1"])
    ap.add_argument("--make-golden", metavar="DIR")
    args = ap.parse_args()
    if args.make_golden:
        for name in sorted(os.listdir(args.make_golden)):
            if name.endswith(".jsonl"):
                path = os.path.join(args.make_golden, name)
                for objective in ("exact_set_match", "example_f1"):
                    result = evaluate(load(path), 0.3, None, objective)
                    out = path[:-len(".jsonl")] + f".{objective}.expected.json"
                    with open(out, "w", encoding="utf-8") as f:
                        json.dump(result, f, indent=1, ensure_ascii=False)
                        f.write("\n")
        return
    if not args.predictions:
        ap.error("PREDICTIONS.jsonl is required")
    scan = [float(x) for x in args.thresholds.split(",")] if args.thresholds else None
    json.dump(evaluate(load(args.predictions), args.threshold, scan, args.threshold_optimize),
              sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
