"""Trains the synthetic demo cross-encoder (Demo/model) from the demo dictionary.

Seeded and CPU-only (Debian torch, 2 threads). Steps:
1. candidates from the dictionary CSV rendered with the `full` template; a
   character BM25 index over them (docs/PIPELINE.md §Candidates, §Templates,
   §BM25);
2. synthetic mentions: PT names and aliases with the variations reports have
   (context such as 用药后…/吃完药后…, degree words, colloquial endings, several
   symptoms in one mention -> several gold PTs); 15% of the aliases never appear
   in training mentions, only in held-out ones;
3. pairs: every gold PT (label 1) and hard negatives from the BM25 top-k plus a
   few random ones (label 0);
4. a small BertForSequenceClassification trained from scratch on a character
   vocab (specials, ASCII, full-width punctuation, the dictionary's characters,
   GB2312 level-1 characters), saved as a Hugging Face folder with safetensors;
5. held-out evaluation: pair precision/recall/F1 at 0.5 and mention-level exact
   set match at threshold 0.3 over the BM25 top-k candidates; written to the
   folder's README.md.

Usage: python train_demo_model.py DICTIONARY_CSV OUT_DIR [--quick]
"""
import argparse
import csv
import json
import math
import os
import random
import sys
import time

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

SEED = 20261126
TOP_K = 10
THRESHOLD = 0.3
MAX_LENGTH = 64

CONTEXT_BEFORE = ["", "", "", "用药后", "吃完药后", "服药后", "输液后", "静滴过程中出现", "注射后约10分钟出现",
                  "服用第2天出现", "用药3天后", "患者自述", "家属代诉患者", "吃了两次药就", "打完针后"]
CONTEXT_AFTER = ["", "", "", "", "，停药后好转", "，持续2小时", "，休息后缓解", "，未处理", "，已就医", "。"]
DEGREE = ["", "", "", "有点", "一直", "明显", "轻微", "严重", "特别", "反复"]
ENDING = ["", "", "", "了", "的厉害", "得很", "，难受"]
JOIN = ["，", "、", "，还", "，伴", "并且", "，同时", "和"]
PYTHON_WHITESPACE = set(chr(c) for c in range(0x110000) if chr(c).isspace())


def load_candidates(path):
    """One candidate per PT in first-appearance order (docs/PIPELINE.md §Candidates)."""
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
            if alias and alias not in by_code[code]["llt_names"]:
                by_code[code]["llt_names"].append(alias)
    return [by_code[c] for c in order]


def render_full(c):
    parts = [f"PT: {c['pt_name']}"]
    if c["llt_names"]:
        parts.append("LLT别名: " + " | ".join(c["llt_names"][:8]))
    for key, label in (("hlt_name", "HLT"), ("hlgt_name", "HLGT"), ("soc_name", "SOC")):
        if c[key]:
            parts.append(f"{label}: {c[key]}")
    return "；".join(parts)


class BM25:
    """Character BM25 of docs/PIPELINE.md §BM25 (k1 1.5, b 0.75)."""

    def __init__(self, texts):
        self.docs = []
        df = {}
        for t in texts:
            terms = [ch for ch in t if ch not in PYTHON_WHITESPACE]
            tf = {}
            for ch in terms:
                tf[ch] = tf.get(ch, 0) + 1
            self.docs.append((tf, len(terms)))
            for ch in tf:
                df[ch] = df.get(ch, 0) + 1
        n = len(texts)
        self.avgdl = sum(d[1] for d in self.docs) / n
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def top(self, query, k):
        terms = [ch for ch in query if ch not in PYTHON_WHITESPACE]
        scores = []
        for i, (tf, dl) in enumerate(self.docs):
            s = 0.0
            for t in terms:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * 2.5 / (f + 1.5 * (0.25 + 0.75 * dl / self.avgdl))
            scores.append((-s, i))
        scores.sort()
        return [i for _, i in scores[:k]]


def surface(rng, cand, held_out, split):
    names = [cand["pt_name"]] + cand["llt_names"]
    allowed = [n for n in names if (n in held_out) == (split == "test")] if split == "test" else \
        [n for n in names if n not in held_out]
    if split == "test" and not allowed:
        allowed = names
    if not allowed:
        allowed = [cand["pt_name"]]
    name = rng.choice(allowed) if rng.random() < 0.75 or len(allowed) == 1 else cand["pt_name"]
    return rng.choice(DEGREE) + name + rng.choice(ENDING)


def make_mentions(rng, candidates, held_out, split, count):
    mentions = []
    for _ in range(count):
        k = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
        picked = rng.sample(range(len(candidates)), k)
        text = rng.choice(CONTEXT_BEFORE)
        for j, ci in enumerate(picked):
            if j:
                text += rng.choice(JOIN)
            text += surface(rng, candidates[ci], held_out, split)
        text += rng.choice(CONTEXT_AFTER)
        mentions.append({"text": text, "gold": sorted(set(picked))})
    return mentions


def make_pairs(rng, mentions, bm25, n_candidates):
    pairs = []
    for m in mentions:
        gold = set(m["gold"])
        negatives = [i for i in bm25.top(m["text"], 8) if i not in gold][:3]
        negatives += rng.sample(range(n_candidates), 1)
        for i in gold:
            pairs.append((m["text"], i, 1))
        for i in negatives:
            if i not in gold:
                pairs.append((m["text"], i, 0))
    rng.shuffle(pairs)
    return pairs


def write_vocab(out_dir, candidates):
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 10)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for c in range(0x21, 0x7F):
        add(chr(c).lower() if chr(c).isupper() else chr(c))
    for ch in "，。、；：？！“”‘’（）【】《》—…～·％℃×":
        add(ch)
    chars = set()
    for c in candidates:
        for text in [render_full(c)] + c["llt_names"]:
            chars.update(ch for ch in text if "\u3400" <= ch <= "\u9fff")
    for words in (CONTEXT_BEFORE, CONTEXT_AFTER, DEGREE, ENDING, JOIN):
        for w in words:
            chars.update(ch for ch in w if "\u3400" <= ch <= "\u9fff")
    for ch in sorted(chars):
        add(ch)
    for hi in range(0xB0, 0xD8):  # GB2312 level 1: the 3,755 most common characters
        for lo in range(0xA1, 0xFF):
            try:
                add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for c in "abcdefghijklmnopqrstuvwxyz0123456789":
        add("##" + c)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "tokenize_chinese_chars": True, "strip_accents": None,
                   "model_max_length": 128, "tokenizer_class": "BertTokenizer"}, f, indent=2)
        f.write("\n")
    return len(vocab)


def warm_start_matching(model):
    """Initialises the first block so that character matching is visible from
    step 0; training then adjusts every weight as usual.

    Word embeddings get a large spread (std 1) against small position and
    token-type embeddings, so the normalised vectors of one character are
    nearly identical wherever it occurs. Query = key = sqrt(2)·I, value =
    output = I: each token attends to the occurrences of its own character,
    and a mention character that also occurs in the candidate picks up the
    candidate's token-type direction. From random weights alone the model
    took far longer than our 15-minute budget to find this.
    """
    h = model.config.hidden_size
    eye = torch.eye(h)
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.word_embeddings.weight.normal_(0.0, 1.0)
        emb.position_embeddings.weight.normal_(0.0, 0.05)
        emb.token_type_embeddings.weight.normal_(0.0, 0.3)
        att = model.bert.encoder.layer[0].attention
        for linear, scale in ((att.self.query, 2 ** 0.5), (att.self.key, 2 ** 0.5), (att.self.value, 1.0),
                              (att.output.dense, 1.0)):
            linear.weight.copy_(eye * scale)
            linear.bias.zero_()


def encode(tokenizer, batch, texts):
    return tokenizer([p[0] for p in batch], [texts[p[1]] for p in batch], truncation="longest_first",
                     max_length=MAX_LENGTH, padding=True, return_tensors="pt")


def evaluate(model, tokenizer, mentions, bm25, texts):
    model.eval()
    tp = fp = fn = tn = exact = recall_hits = 0
    with torch.no_grad():
        for m in mentions:
            top = bm25.top(m["text"], TOP_K)
            batch = [(m["text"], i, int(i in m["gold"])) for i in top]
            probs = torch.softmax(model(**encode(tokenizer, batch, texts)).logits, -1)[:, 1].tolist()
            predicted = {i for i, p in zip(top, probs) if p >= THRESHOLD}
            exact += predicted == set(m["gold"])
            recall_hits += set(m["gold"]) <= set(top)
            for (_, i, label), p in zip(batch, probs):
                if p >= 0.5:
                    tp += label
                    fp += 1 - label
                else:
                    fn += label
                    tn += 1 - label
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"mentions": len(mentions), "pairs": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1, "exact_set_match": exact / len(mentions),
            "bm25_all_gold_in_top_k": recall_hits / len(mentions)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dictionary")
    parser.add_argument("out_dir")
    parser.add_argument("--quick", action="store_true", help="tiny run to check the script")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    started = time.time()

    candidates = load_candidates(args.dictionary)
    texts = [render_full(c) for c in candidates]
    bm25 = BM25(texts)
    aliases = sorted({a for c in candidates for a in c["llt_names"]})
    held_out = set(rng.sample(aliases, len(aliases) * 15 // 100))
    n_train = 300 if args.quick else 4000
    train_mentions = make_mentions(rng, candidates, held_out, "train", n_train)
    test_mentions = make_mentions(random.Random(SEED + 1), candidates, held_out, "test", 100 if args.quick else 400)
    train_pairs = make_pairs(rng, train_mentions, bm25, len(candidates))

    os.makedirs(args.out_dir, exist_ok=True)
    vocab_size = write_vocab(args.out_dir, candidates)
    tokenizer = BertTokenizerFast.from_pretrained(args.out_dir)
    config = BertConfig(vocab_size=vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=512, max_position_embeddings=128, hidden_act="gelu",
                        id2label={0: "not_match", 1: "match"}, label2id={"not_match": 0, "match": 1})
    model = BertForSequenceClassification(config)
    warm_start_matching(model)
    epochs = 1 if args.quick else 2
    batch_size = 32
    steps = epochs * math.ceil(len(train_pairs) / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    print(f"{len(candidates)} candidates, {len(train_pairs)} training pairs, {vocab_size} tokens, {steps} steps",
          file=sys.stderr)
    step = 0
    for epoch in range(epochs):
        model.train()
        order = list(range(len(train_pairs)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [train_pairs[i] for i in order[start:start + batch_size]]
            enc = encode(tokenizer, batch, texts)
            loss = model(**enc, labels=torch.tensor([p[2] for p in batch])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 100 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.4f} "
                      f"{time.time() - started:.0f}s", file=sys.stderr)
    model.eval()
    model.save_pretrained(args.out_dir, safe_serialization=True)
    metrics = evaluate(model, tokenizer, test_mentions, bm25, texts)
    minutes = (time.time() - started) / 60
    print(json.dumps(metrics, indent=2), file=sys.stderr)
    write_readme(args.out_dir, metrics, len(candidates), len(train_mentions), len(train_pairs), minutes, config)


def write_readme(out_dir, m, n_candidates, n_train, n_pairs, minutes, config):
    text = f"""# Demo cross-encoder — synthetic, not for clinical use

A small `BertForSequenceClassification` ({config.num_hidden_layers} layers, hidden {config.hidden_size},
{config.num_attention_heads} heads, FFN {config.intermediate_size}, labels `0: not_match`, `1: match`) trained
from scratch (no pretrained weights; the first block starts from an identity-attention warm start
that makes character matching visible, see `warm_start_matching`) by `Scripts/encoder/train_demo_model.py` (seeded, Debian torch on 2 CPU threads,
{minutes:.1f} minutes here) on **synthetic** mention/candidate pairs built from the synthetic demo
dictionary (`Demo/dictionary/demo_dictionary.csv`, {n_candidates} PTs). It exists so that the demo
and the tests have a real model to run; it is **not** the published `mention2meddra-macbert-base`,
knows nothing beyond that synthetic dictionary, and must **not be used for clinical or regulatory
work**.

Training data: {n_train} synthetic mentions (PT names and aliases with context such as 用药后…/吃完药后…,
degree words, colloquial endings, up to three symptoms per mention), {n_pairs} pairs: every gold PT
plus hard negatives from character BM25 (`full` template) and a few random ones. 15% of the aliases
are held out of training and appear only in the evaluation mentions.

Held-out evaluation ({m['mentions']} synthetic mentions, BM25 top-{TOP_K} candidates each, {m['pairs']} pairs):

| metric | value |
|---|---|
| pair precision / recall / F1 at 0.5 | {m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f} (tp {m['tp']}, fp {m['fp']}, fn {m['fn']}, tn {m['tn']}) |
| mention-level exact set match at threshold {THRESHOLD} | {m['exact_set_match']:.3f} |
| mentions whose gold PTs are all in the BM25 top-{TOP_K} (ceiling for exact match) | {m['bm25_all_gold_in_top_k']:.3f} |

Files: `config.json`, `model.safetensors` (F32), `vocab.txt` (a character vocab: specials,
ASCII, full-width punctuation, the dictionary's characters and GB2312 level-1 characters),
`tokenizer_config.json`. Rebuild with:

    $(Scripts/python-env) Scripts/encoder/train_demo_model.py Demo/dictionary/demo_dictionary.csv Demo/model
"""
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
