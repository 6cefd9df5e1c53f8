"""The synthetic demo dictionary's candidates, gold rule, test mentions and
checks, shared by Scripts/encoder/build_demo_model.py (which builds
Demo/model) and its --check-only mode.

- candidates from the dictionary CSV rendered with the `full` template and a
  character BM25 index over them (docs/PIPELINE.md §Candidates, §Templates,
  §BM25), as the pipeline retrieves them;
- the gold rule: a mention's gold PTs are every PT one of whose names (PT name
  or alias) occurs in it, except a name inside a longer one that occurs;
- the checks, through the pipeline (BM25 top 100, threshold 0.3): (a) every PT
  name and alias, as a mention on its own, gets its own PT(s); (b) exact set
  match on 400 synthetic mentions with one to three symptoms is at least 0.8.
"""
import json
import math
import os
import random
import sys

import numpy
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bm25_reference  # noqa: E402  (the dictionary loader and templates the reference checks use)
import make_chinese_vocab  # noqa: E402  (GB2312 characters, vocab.txt and tokenizer_config.json)

SEED = 20261126
TOP_K = 100  # the pipeline's default top_k
THRESHOLD = 0.3
MAX_LENGTH = 64
TARGET_EXACT = 0.8  # held-out exact set match the model must reach
HELD_OUT = 400
EARLIER_TRAINING_MENTIONS = 3000  # see test_mentions

CONTEXT_BEFORE = ["", "", "", "用药后", "吃完药后", "服药后", "输液后", "静滴过程中出现", "注射后约10分钟出现",
                  "服用第2天出现", "用药3天后", "患者自述", "家属代诉患者", "吃了两次药就", "打完针后"]
CONTEXT_AFTER = ["", "", "", "", "，停药后好转", "，持续2小时", "，休息后缓解", "，未处理", "，已就医", "。"]
DEGREE = ["", "", "", "有点", "一直", "明显", "轻微", "严重", "特别", "反复"]
ENDING = ["", "", "", "了", "的厉害", "得很", "，很不舒服"]
JOIN = ["，", "、", "，还", "，伴", "并且", "，同时", "和"]
HELD_OUT_BEFORE = ["今天早上", "第三次用药时出现", "换药后", "静推结束时"]  # only in held-out mentions
HELD_OUT_AFTER = ["，第二天自行消失", "，给予对症处理"]
PYTHON_WHITESPACE = set(chr(c) for c in range(0x110000) if chr(c).isspace())


def load_candidates(path):
    """One candidate per PT in first-appearance order (docs/PIPELINE.md §Candidates)."""
    return bm25_reference.load_csv(path)


def render_full(c):
    return bm25_reference.render(c, "full")


class BM25:
    """Character BM25 of docs/PIPELINE.md §BM25 (k1 1.5, b 0.75): the same
    per-(term, document) weights, added in query order, ties by candidate order,
    so the ranking is the pipeline's."""

    def __init__(self, texts):
        docs = []
        df = {}
        for t in texts:
            tf = {}
            for ch in t:
                if ch not in PYTHON_WHITESPACE:
                    tf[ch] = tf.get(ch, 0) + 1
            docs.append((tf, sum(tf.values())))
            for ch in tf:
                df[ch] = df.get(ch, 0) + 1
        n = len(texts)
        avgdl = sum(d[1] for d in docs) / n
        self.n = n
        self.weights = {}
        for term, d in df.items():
            idf = math.log(1 + (n - d + 0.5) / (d + 0.5))
            w = numpy.zeros(n)
            for i, (tf, dl) in enumerate(docs):
                f = tf.get(term)
                if f:
                    w[i] = idf * f * 2.5 / (f + 1.5 * (0.25 + 0.75 * dl / avgdl))
            self.weights[term] = w

    def top(self, query, k):
        scores = numpy.zeros(self.n)
        for ch in query:
            w = self.weights.get(ch)
            if w is not None and ch not in PYTHON_WHITESPACE:
                scores = scores + w
        return numpy.argsort(-scores, kind="stable")[:k].tolist()


def surfaces_of(candidate):
    """The PT name and every alias, each once."""
    names = [candidate["pt_name"]]
    names += [a for a in candidate["llt_names"] if a not in names]
    return names


def surface_golds(candidates):
    """Every surface (PT name or alias) -> the PTs that list it: a few aliases
    belong to two PTs (脸肿: 血管性水肿 and 面部水肿), and a mention that uses one
    means both."""
    golds = {}
    for i, c in enumerate(candidates):
        for name in surfaces_of(c):
            golds.setdefault(name, set()).add(i)
    return golds


class GoldRule:
    """A mention's gold PTs: every PT one of whose names (PT name or alias)
    occurs in the mention, except a name whose every occurrence lies inside an
    occurrence of a longer name that also occurs (偏头痛 means 偏头痛, not also
    头痛). A context word that happens to be a name (难受 is an alias of 不适)
    counts as that name."""

    def __init__(self, golds):
        self.golds = golds
        self.names = sorted(golds, key=lambda n: (-len(n), n))

    def __call__(self, text):
        spans = []
        gold = set()
        for name in self.names:  # longest first
            start = text.find(name)
            kept = False
            while start != -1:
                end = start + len(name)
                if not any(s <= start and end <= e and e - s > len(name) for s, e in spans):
                    kept = True
                spans.append((start, end))
                start = text.find(name, start + 1)
            if kept:
                gold |= self.golds[name]
        return sorted(gold)


def vary(rng, name):
    return rng.choice(DEGREE) + name + rng.choice(ENDING)


def make_mentions(rng, candidates, gold_rule, count, before, after):
    """Mentions with one to three symptoms, each a PT name or an alias,
    labelled by gold_rule."""
    mentions = []
    for _ in range(count):
        k = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
        text = rng.choice(before)
        for j, ci in enumerate(rng.sample(range(len(candidates)), k)):
            name = rng.choice(surfaces_of(candidates[ci]))
            if j:
                text += rng.choice(JOIN)
            text += vary(rng, name)
        text += rng.choice(after)
        mentions.append({"text": text, "gold": gold_rule(text)})
    return mentions


def make_surface_mentions(rng, golds, gold_rule):
    """Every PT name and alias as a mention on its own, with a degree word or
    an ending, and in report context."""
    mentions = []
    for name in sorted(golds):
        for text in (name, vary(rng, name), rng.choice(CONTEXT_BEFORE) + vary(rng, name) + rng.choice(CONTEXT_AFTER)):
            mentions.append({"text": text, "gold": gold_rule(text)})
    return mentions




def test_mentions(candidates, golds, gold_rule, count=HELD_OUT):
    """The check's mentions: synthetic, one to three symptoms each, some in
    report context (今天早上…, …，第二天自行消失). They are the same mentions
    the earlier, trained demo models were checked on, whose texts avoid every
    mention those models were trained on (each name and alias on its own, and
    3000 others), so the figures compare across versions."""
    rng = random.Random(SEED)
    earlier = make_surface_mentions(rng, golds, gold_rule)
    earlier += make_mentions(rng, candidates, gold_rule, EARLIER_TRAINING_MENTIONS, CONTEXT_BEFORE, CONTEXT_AFTER)
    seen = {m["text"] for m in earlier}
    rng = random.Random(SEED + 1)
    mentions = []
    while len(mentions) < count:
        m = make_mentions(rng, candidates, gold_rule, 1, CONTEXT_BEFORE + HELD_OUT_BEFORE,
                          CONTEXT_AFTER + HELD_OUT_AFTER)[0]
        if m["text"] not in seen:
            seen.add(m["text"])
            mentions.append(m)
    return mentions


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
    for words in (CONTEXT_BEFORE, CONTEXT_AFTER, DEGREE, ENDING, JOIN, HELD_OUT_BEFORE, HELD_OUT_AFTER):
        for w in words:
            chars.update(ch for ch in w if "\u3400" <= ch <= "\u9fff")
    for ch in sorted(chars):
        add(ch)
    for ch in make_chinese_vocab.gb2312_chars(range(0xB0, 0xD8)):  # level 1: the 3,755 most common
        add(ch)
    for c in "abcdefghijklmnopqrstuvwxyz0123456789":
        add("##" + c)
    make_chinese_vocab.write_tokenizer_files(out_dir, vocab, 128)
    return len(vocab)


def encode(tokenizer, batch, texts):
    return tokenizer([p[0] for p in batch], [texts[p[1]] for p in batch], truncation="longest_first",
                     max_length=MAX_LENGTH, padding=True, return_tensors="pt")


def score(model, tokenizer, mentions, bm25, texts, top_k):
    """The pipeline on each mention: its BM25 top_k candidates and the model's
    P(match) of each pair, as [(top, probs)]."""
    model.eval()
    flat = [(m["text"], i, 0) for m in mentions for i in bm25.top(m["text"], top_k)]
    probs = []
    with torch.no_grad():
        for start in range(0, len(flat), 256):
            if start and start % (256 * 40) == 0:
                print(f"  scored {start} of {len(flat)} pairs", file=sys.stderr, flush=True)
            batch = flat[start:start + 256]
            probs += torch.softmax(model(**encode(tokenizer, batch, texts)).logits, -1)[:, 1].tolist()
    out = []
    for n, m in enumerate(mentions):
        chunk = flat[n * top_k:(n + 1) * top_k]
        out.append(([p[1] for p in chunk], probs[n * top_k:(n + 1) * top_k]))
    return out


def check_surfaces(model, tokenizer, golds, bm25, texts, top_k, limit=None):
    """Target (a): every PT name and alias, as a mention on its own, gets its
    own PT(s) at THRESHOLD through BM25 top_k and the model."""
    mentions = [{"text": name, "gold": sorted(golds[name])} for name in sorted(golds)][:limit]
    matched = exact = first = 0
    misses = []
    for m, (top, probs) in zip(mentions, score(model, tokenizer, mentions, bm25, texts, top_k)):
        gold = set(m["gold"])
        predicted = {i for i, p in zip(top, probs) if p >= THRESHOLD}
        matched += gold <= predicted
        exact += gold == predicted
        first += top[max(range(len(top)), key=lambda j: (probs[j], -j))] in gold
        if not gold <= predicted:
            misses.append(m["text"])
    return {"surfaces": len(mentions), "matched": matched, "exact": exact, "first": first, "misses": misses}


def evaluate(model, tokenizer, mentions, bm25, texts, top_k, golds):
    """Target (b) on held-out mentions: exact set match at THRESHOLD over the
    BM25 top_k (and over its first 10, the figure earlier versions reported);
    pair precision/recall/F1 at 0.5 over the top_k pairs; and what the misses
    at THRESHOLD are: gold PTs under it, and extra PTs at it, split by whether
    one of the extra PT's names occurs in the mention (inside a longer name:
    the nested rule) and by BM25 rank."""
    names_of = {}
    for name, indices in golds.items():
        for i in indices:
            names_of.setdefault(i, []).append(name)
    tp = fp = fn = tn = exact = exact10 = ceiling = 0
    missed = extra = extra_named = extra_deep = 0
    for m, (top, probs) in zip(mentions, score(model, tokenizer, mentions, bm25, texts, top_k)):
        gold = set(m["gold"])
        exact += {i for i, p in zip(top, probs) if p >= THRESHOLD} == gold
        exact10 += {i for i, p in zip(top[:10], probs[:10]) if p >= THRESHOLD} == gold
        ceiling += gold <= set(top)
        for rank, (i, p) in enumerate(zip(top, probs)):
            label = int(i in gold)
            if p >= 0.5:
                tp += label
                fp += 1 - label
            else:
                fn += label
                tn += 1 - label
            if label and p < THRESHOLD:
                missed += 1
            elif not label and p >= THRESHOLD:
                extra += 1
                extra_named += any(name in m["text"] for name in names_of.get(i, []))
                extra_deep += rank >= 10
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    n = len(mentions)
    return {"mentions": n, "pairs": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1, "exact_set_match": exact / n,
            "exact_set_match_top10": exact10 / n, "bm25_all_gold_in_top_k": ceiling / n,
            "gold_pts_under_threshold": missed, "extra_pts_at_threshold": extra,
            "extra_pts_with_a_name_in_the_mention": extra_named, "extra_pts_ranked_below_10": extra_deep}


def check(model, tokenizer, golds, bm25, texts, mentions, top_k=TOP_K, limit=None):
    """Runs and prints both checks (on the first `limit` names and mentions
    only, when given); returns (surfaces, metrics, missed targets)."""
    model.eval()
    surfaces = check_surfaces(model, tokenizer, golds, bm25, texts, top_k, limit)
    metrics = evaluate(model, tokenizer, mentions[:limit], bm25, texts, top_k, golds)
    summary = {k: v for k, v in surfaces.items() if k != "misses"}
    print(json.dumps({"surfaces": summary, "held_out": metrics}, indent=2), file=sys.stderr)
    missed = []
    if surfaces["matched"] < surfaces["surfaces"]:
        missed.append(f"(a) {surfaces['surfaces'] - surfaces['matched']} PT names/aliases not matched on their own: "
                      + "、".join(surfaces["misses"]))
    if metrics["exact_set_match"] < TARGET_EXACT:
        missed.append(f"(b) exact set match {metrics['exact_set_match']:.3f} < {TARGET_EXACT}")
    for line in missed:
        print(f"target missed: {line}", file=sys.stderr)
    print(f"(a) {surfaces['matched']}/{surfaces['surfaces']} PT names and aliases matched on their own; "
          f"(b) exact set match {metrics['exact_set_match']:.3f} on {metrics['mentions']} mentions (top {top_k}, "
          f"threshold {THRESHOLD})", file=sys.stderr)
    return surfaces, metrics, missed
