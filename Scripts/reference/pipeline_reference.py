#!/usr/bin/env python3
"""The published workflow in Python, for the end-to-end check of
`adrnorm normalize`: BM25 from bm25_reference.py (the textbook formula),
the `full` template, BertTokenizerFast pair encoding (max_length 64,
longest_first) and transformers' BertForSequenceClassification, softmax,
prob_1 = probability of the label named "match". Writes prediction JSONL in
the schema of docs/PIPELINE.md §Data formats (pred_label: prob_1 >= threshold,
as adrnorm normalize).
  pipeline_reference.py --model DIR --dictionary CSV --input MENTIONS.jsonl
      --output PREDICTIONS.jsonl [--top-k 100] [--threshold 0.3]
"""
import argparse
import json
import os
import sys

import torch
from transformers import BertForSequenceClassification, BertTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bm25_reference import BM25, load_csv, render  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dictionary", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--max-length", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(2)
    candidates = load_csv(args.dictionary)
    texts = [render(c, "full") for c in candidates]
    bm25 = BM25(texts)
    tokenizer = BertTokenizerFast.from_pretrained(args.model)
    model = BertForSequenceClassification.from_pretrained(args.model).eval()
    labels = model.config.id2label
    match = next((int(i) for i, name in labels.items() if name == "match"), 1)
    with open(args.input, encoding="utf-8") as f, open(args.output, "w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            m = json.loads(line)
            ranked = bm25.rank(m["text_a"], args.top_k)
            pairs = [(m["text_a"], texts[i]) for i, _ in ranked]
            enc = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first",
                            max_length=args.max_length, padding=True, return_tensors="pt")
            with torch.no_grad():
                logits = model(**enc).logits
            probs = torch.softmax(logits, dim=-1)
            gold = m.get("gold_pt_codes") or []
            for (i, _), lg, pr in zip(ranked, logits.tolist(), probs.tolist()):
                c = candidates[i]
                p1 = pr[match]
                row = {"mention_id": m["mention_id"], "text_a": m["text_a"], "candidate_pt_code": c["pt_code"],
                       "candidate_pt_name": c["pt_name"], "candidate_llt_names": c["llt_names"],
                       "candidate_hlt_name": c["hlt_name"], "candidate_hlgt_name": c["hlgt_name"],
                       "candidate_soc_name": c["soc_name"], "gold_pt_codes": gold,
                       "gold_soc_codes": m.get("gold_soc_codes") or [], "label": int(c["pt_code"] in gold),
                       "logit_0": lg[1 - match], "logit_1": lg[match], "prob_0": 1 - p1, "prob_1": p1,
                       "pred_label": int(p1 >= args.threshold)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
