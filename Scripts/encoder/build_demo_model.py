#!/usr/bin/env python3
"""Builds the synthetic demo cross-encoder by construction: a
BertForSequenceClassification whose weights are computed, not trained, so
that it matches a mention against a candidate the way the demo dictionary's
gold rule does (see Demo/model/README.md).

The model answers "match" when one of the candidate's names (its PT name or
an alias, read from the `full` template) occurs in the mention as a run of
tokens, unless that occurrence ends where a longer dictionary name that
contains it also ends (偏头痛 means 偏头痛, not also 头痛). Names longer than
WINDOW tokens are compared on their last WINDOW tokens.

How (3 layers, hidden 384, 6 heads of 64; every quantity is stored as a
(+v, -v) pair of dimensions so each token's mean stays 0 and LayerNorm only
rescales a token, which every test below tolerates because it compares a
sum against a threshold carried by the same token):

  embeddings  a 10-bit +/-1 code per token that occurs in a dictionary name
              (other tokens share one code no name uses), flags (delimiter
              : | ；, closer: 1 for |, 1/2 for ；, 's', '##g', [CLS]), a
              one-hot position.
  layer 1     four heads copy the codes of the 1..4 previous tokens, so each
              token sees the last five tokens; the FFN masks a candidate
              token's window at the delimiter that opens its name, counts
              the name's length, and recognises on mention tokens the end
              of every dictionary name that contains another name.
  layer 2     the last token of each candidate name attends to the mention
              tokens whose five-token window equals its (masked) name
              window and where no longer containing name ends; [CLS] is the
              sink when none does. Three heads look ahead (+1, +2, +4) so the
              FFN keeps only names in the PT and LLT fields: the next token
              closes the name (| or ；) and, after ；, the next field is not
              HLGT or SOC.
  layer 3     [CLS] attends to the name ends that matched; pooler and
              classifier turn that into P(match) ~ 0.99 or ~ 0.01.

int8 (`--precision int8`: s8 weights with one scale per output row, u8
activations per token) must not change a decision, so a weight row that a
threshold depends on holds weights of one magnitude, or the threshold sits in
the bias where every token has the same norm (layer 1's FFN);
Scripts/check-int8-accuracy checks it.
"""
import argparse
import itertools
import math
import os
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_checks as demo  # noqa: E402  (dictionary, template, BM25, gold rule, checks)

HIDDEN = 384
HEADS = 6
HEAD_DIM = HIDDEN // HEADS
INTERMEDIATE = 512
LAYERS = 3
MAX_POSITIONS = 128
WINDOW = 5  # tokens of a name compared
LONGEST = 7  # name lengths told apart (1..6, and 7 or more)
BITS = 10  # token code bits: 2^10 codes for the ~911 name tokens and "other"
SCALE = 12.0  # GELU gate sharpness: GELU(-12) ~ 0, GELU(12) ~ 12
ATTN = 14.0  # attention logit per unit of margin
PENALTY = 3.0  # a containing name ending here outweighs a full match
PROB_LOGIT = 2.3  # +/- logit: P(match) = sigmoid(4.6) ~ 0.99


class Layout:
    """Named dimension ranges of the hidden state."""

    def __init__(self, size):
        self.size, self.next, self.ranges = size, 0, {}

    def add(self, name, width):
        assert name not in self.ranges, name
        self.ranges[name] = (self.next, self.next + width)
        self.next += width
        if self.next > self.size:
            raise SystemExit(f"layout needs more than {self.size} dimensions")

    def __getitem__(self, name):
        a, b = self.ranges[name]
        return list(range(a, b))


def pair(lay, name):
    """(positive dims, negative dims) of a paired quantity."""
    d = lay[name]
    half = len(d) // 2
    return d[:half], d[half:]


def build_layout():
    lay = Layout(HIDDEN)
    lay.add("pos", MAX_POSITIONS)
    lay.add("posneg", 1)  # -1 on every token: the position one-hot sums to 0
    for name in ("one", "type", "delim0", "closer", "is_s", "is_g", "is_cls"):
        lay.add(name, 2)
    lay.add("code0", 2 * BITS)
    lay.add("fill0", 2)  # [CLS]'s stand-in for the code energy it lacks
    for k in range(1, LONGEST):
        if k < WINDOW:
            lay.add(f"code{k}", 2 * BITS)
            lay.add(f"fill{k}", 2)
            lay.add(f"masked{k}", 2 * BITS)
        lay.add(f"delim{k}", 2)
        lay.add(f"g{k}", 2)
    for ell in range(1, LONGEST):
        lay.add(f"cover{ell}", 2)
    for name in ("matched", "next_closer", "s2", "hlgt4", "query", "any"):
        lay.add(name, 2)
    return lay


def codes_for(ids):
    """Distinct 10-bit +/-1 codes: index 0 is "other", then name tokens by id."""
    table = {}
    for n, token in enumerate(sorted(ids), start=1):
        table[token] = [1.0 if (n >> b) & 1 else -1.0 for b in range(BITS)]
    other = [-1.0] * BITS
    return table, other


def containers(names, tokenize):
    """(last WINDOW tokens, token length) of every name that contains another
    name. A container longer than WINDOW is recognised by its last WINDOW
    tokens only, so it is left out where a shorter name ends in the same
    WINDOW tokens (肾小管间质性肾炎 would hide every 间质性肾炎)."""
    tokens = {n: tuple(tokenize(n)) for n in names}
    out = set()
    for n in names:
        if any(m != n and m in n for m in names):
            t = tokens[n]
            if len(t) > WINDOW and any(len(u) < len(t) and u[-WINDOW:] == t[-WINDOW:] for u in tokens.values()):
                continue
            out.add((t[-WINDOW:], len(t)))
    return sorted(out)


def build(dictionary, out_dir):
    candidates = demo.load_candidates(dictionary)
    golds = demo.surface_golds(candidates)
    os.makedirs(out_dir, exist_ok=True)
    vocab_size = demo.write_vocab(out_dir, candidates)
    tok = BertTokenizerFast.from_pretrained(out_dir)

    def tokenize(text):
        return tok(text, add_special_tokens=False).input_ids

    name_ids = set()
    for n in golds:
        name_ids.update(tokenize(n))
    code, other = codes_for(name_ids)
    conts = containers(list(golds), tokenize)
    vocab = tok.get_vocab()
    special = {vocab[t] for t in ("[CLS]", "[SEP]", "[PAD]")}
    delims = {vocab[t] for t in (":", "|", "；")} | special

    config = BertConfig(vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                        max_position_embeddings=MAX_POSITIONS, hidden_act="gelu", hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, id2label={0: "not_match", 1: "match"},
                        label2id={"not_match": 0, "match": 1})
    model = BertForSequenceClassification(config)
    lay = build_layout()
    for p in model.parameters():
        p.data.zero_()

    emb = model.bert.embeddings
    with torch.no_grad():
        W = emb.word_embeddings.weight
        for t in range(vocab_size):
            def put(name, value):  # a flag as (v - 1/2, 1/2 - v)
                a, b = pair(lay, name)
                W[t, a[0]] = value - 0.5
                W[t, b[0]] = 0.5 - value
            put("one", 1.0)
            put("delim0", float(t in delims))
            put("closer", 1.0 if t == vocab["|"] else 0.5 if t == vocab["；"] else 0.0)
            put("is_s", float(t == vocab["s"]))
            put("is_g", float(t == vocab["##g"]))
            put("is_cls", float(t == vocab["[CLS]"]))
            a, b = pair(lay, "code0")
            if t == vocab["[CLS]"]:
                fa, fb = pair(lay, "fill0")
                W[t, fa[0]] = math.sqrt(BITS)
                W[t, fb[0]] = -math.sqrt(BITS)
            else:
                c = torch.tensor(code.get(t, other))
                W[t, a] = c
                W[t, b] = -c
        P = emb.position_embeddings.weight
        for p in range(MAX_POSITIONS):
            P[p, lay["pos"][p]] = 1.0
            P[p, lay["posneg"][0]] = -1.0
        Tt = emb.token_type_embeddings.weight
        ta, tb = pair(lay, "type")
        for t in (0, 1):
            Tt[t, ta[0]] = t - 0.5
            Tt[t, tb[0]] = 0.5 - t

    layers = model.bert.encoder.layer

    def read_vec(M, rows, name, weights):
        """M[rows[i]] += weights[i] * component i of paired quantity `name`
        (component = (a_i - b_i) / 2)."""
        a, b = pair(lay, name)
        for r, x, y, w in zip(rows, a, b, weights):
            M[r, x] += w / 2
            M[r, y] -= w / 2

    def read(M, row, name, weight):
        """M[row] += weight * the sum of the components of `name` (its value,
        for a quantity one pair wide)."""
        n = len(pair(lay, name)[0])
        read_vec(M, [row] * n, name, [weight] * n)

    def one(M, row, weight, bias=None):
        """M[row] += weight (the "one" pair holds +1/2, -1/2), or bias[row] +=
        weight where a bias is given: only where every token has the same
        norm, so LayerNorm scales all of them alike (see layer 1's FFN)."""
        if bias is not None:
            bias[row] += weight
        else:
            read(M, row, "one", 2 * weight)

    def read_flag(M, row, name, weight, bias=None):
        """M[row] += weight * flag, for a flag stored as (f - 1/2, 1/2 - f)."""
        read(M, row, name, weight)
        one(M, row, weight / 2, bias)

    def write(M, name, col, weight, bias=None, offset=0.0):
        """Output matrix M (hidden x n): quantity `name` += weight * unit col (as a pair)."""
        a, b = pair(lay, name)
        M[a[0], col] += weight
        M[b[0], col] -= weight
        if bias is not None:
            bias[a[0]] += offset
            bias[b[0]] -= offset

    # A position code in head space: p mod 16 and p div 16 as one-hots (equal
    # positions share both digits, others at most one), plus a flag for p = 0.
    def pos_code(p):
        v = torch.zeros(16 + 8 + 1)
        if p >= 0:
            v[p % 16] = 1.0
            v[16 + p // 16] = 1.0
        return v

    def head_rows(h):
        return list(range(h * HEAD_DIM, (h + 1) * HEAD_DIM))

    q_scale = ATTN * math.sqrt(HEAD_DIM)

    def position_head(att, h, offset, default_cls):
        """Head h: query at p looks up the key at p + offset (or [CLS] when
        that position is before the start)."""
        rows = head_rows(h)
        with torch.no_grad():
            for p in range(MAX_POSITIONS):
                target = p + offset
                q = pos_code(target if 0 <= target < MAX_POSITIONS else -1) * 1.0
                if default_cls and target < 0:
                    q[24] = 1.5
                k = pos_code(p)
                k[24] = float(p == 0)
                col = lay["pos"][p]
                att.self.query.weight[rows[:25], col] += q * q_scale
                att.self.key.weight[rows[:25], col] += k
        return rows

    # ---- layer 1: copy the 1..4 previous tokens' codes, delimiter flags and
    # fillers, and the delimiter flags of the 5th and 6th previous tokens.
    att = layers[0].attention
    for h, k in enumerate(range(1, LONGEST)):
        rows = position_head(att, h, -k, default_cls=True)
        with torch.no_grad():
            what = (("code0", f"code{k}"), ("delim0", f"delim{k}"), ("fill0", f"fill{k}")) if k < WINDOW else \
                (("delim0", f"delim{k}"),)
            copies = [(s, d) for src, dst in what for s, d in zip(lay[src], lay[dst])]
            for v, (s, d) in zip(rows, copies):  # the value space is the head's own
                att.self.value.weight[v, s] = 1.0
                att.output.dense.weight[d, v] = 1.0

    # ---- layer 1 FFN. Every token reaches it with the same norm (flags are
    # +/-1/2 pairs, codes and fillers have equal energy, attention copies
    # them whole), so its thresholds go in the biases: int8 weights with one
    # scale per row would otherwise lose the small code weights of a row
    # that also carries a threshold of several hundred.
    ffn = layers[0]
    W1, b1 = ffn.intermediate.dense.weight, ffn.intermediate.dense.bias
    W2, b2 = ffn.output.dense.weight, ffn.output.dense.bias
    unit = itertools.count()
    with torch.no_grad():
        for k in range(1, LONGEST):
            # D_k = delimiters among slots 1..k (each (a - b + 1) / 2; input is unscaled here)
            def add_d(row, weight):
                for j in range(1, k + 1):
                    read_flag(W1, row, f"delim{j}", weight, b1)
            if k < WINDOW:
                ca, cb = pair(lay, f"code{k}")
                ma, mb = pair(lay, f"masked{k}")
            for bit in range(BITS if k < WINDOW else 0):
                for sign in (1.0, -1.0):
                    u = next(unit)
                    W1[u, ca[bit]] += sign * SCALE / 2
                    W1[u, cb[bit]] -= sign * SCALE / 2
                    add_d(u, -2 * SCALE)
                    W2[ma[bit], u] += sign / SCALE
                    W2[mb[bit], u] -= sign / SCALE
            u = next(unit)  # g_k = 1 - min(1, D_k)
            one(W1, u, SCALE, b1)
            add_d(u, -SCALE)
            write(W2, f"g{k}", u, 1.0 / SCALE, b2, -0.5)
        for tokens, length in conts:
            u = next(unit)
            n = len(tokens)
            for j, t in enumerate(reversed(tokens)):  # slot j holds the token j back
                read_vec(W1, [u] * BITS, f"code{j}", [SCALE * x for x in code[t]])
            one(W1, u, -SCALE * (BITS * n - 1), b1)
            for ell in range(1, min(length - 1, LONGEST - 1) + 1):
                write(W2, f"cover{ell}", u, 1.0 / SCALE)
        used = next(unit)
        if used > INTERMEDIATE:
            raise SystemExit(f"layer 1 needs {used} FFN units, has {INTERMEDIATE}")

    # ---- layer 2: match heads and lookaheads
    att = layers[1].attention
    with torch.no_grad():
        Wq, Wk, Wv, Wo = (att.self.query.weight, att.self.key.weight, att.self.value.weight,
                          att.output.dense.weight)
        rows = head_rows(0)
        # codes: query uses its own token and its masked slots, key its raw window
        for j in range(WINDOW):
            r = rows[j * BITS:(j + 1) * BITS]
            read_vec(Wq, r, "code0" if j == 0 else f"masked{j}", [q_scale] * BITS)
            read_vec(Wk, r, f"code{j}", [1.0] * BITS)
        # threshold: -(BITS * Lw - 1), Lw = 1 + sum g_k, times a key weight
        # of 1 for mention tokens, 10 for candidate tokens, 0 for [CLS]:
        # 5 + 9 (type - 1/2) - (is_cls - 1/2), one term per row. A key row
        # whose weights all have one magnitude is exact in int8 (one scale
        # per row); the threshold is ~50 units, so a 1% error in a mixed row
        # would move it by half a unit.
        for t, key in ((rows[WINDOW * BITS], lambda r: one(Wk, r, 5.0)),
                       (rows[WINDOW * BITS + LONGEST], lambda r: read(Wk, r, "type", 9.0)),
                       (rows[WINDOW * BITS + LONGEST + 1], lambda r: read(Wk, r, "is_cls", -1.0))):
            one(Wq, t, -(BITS - 1) * q_scale)
            for k in range(1, WINDOW):
                read_flag(Wq, t, f"g{k}", -BITS * q_scale)
            key(t)
        # penalty: a containing name longer than this one (length L = 1 + the
        # g_k, up to 6; 7 or more gets none) ends at the key
        for ell in range(1, LONGEST):
            r = rows[WINDOW * BITS + ell]
            # onehot(L == ell) = g_{ell-1} - g_ell, g_0 = 1
            if ell == 1:
                one(Wq, r, -PENALTY * q_scale)
            else:
                read_flag(Wq, r, f"g{ell - 1}", -PENALTY * q_scale)
            read_flag(Wq, r, f"g{ell}", PENALTY * q_scale)
            read(Wk, r, f"cover{ell}", 1.0)
        # value: 1 on mention tokens (not [CLS]) -> "matched"
        v = rows[0]
        one(Wv, v, 1.0)
        read_flag(Wv, v, "type", -1.0)
        read_flag(Wv, v, "is_cls", -1.0)
        write(Wo, "matched", v, 1.0)
        for h, (offset, src, dst) in enumerate(((1, "closer", "next_closer"), (2, "is_s", "s2"),
                                                 (4, "is_g", "hlgt4")), start=1):
            rows = position_head(att, h, offset, default_cls=False)
            v = rows[0]
            read_flag(Wv, v, src, 1.0)
            write(Wo, dst, v, 1.0)

    # ---- layer 2 FFN: query = candidate token, not a delimiter, the next
    # token closes the name, and when that is ； (the field ends) the field
    # after is not HLGT (+4 '##g') or SOC (+2 's'). An alias list's | says
    # nothing about what follows (心电图有问题 | ECG has '##g' at +4).
    # With c = next_closer (1 for |, 1/2 for ；), x = 4 type - 4 delim0 + 4 c
    # - s2 - hlgt4 is at least 6 when the name counts and at most 5 when it
    # does not; query = GELU(z) - GELU(z - 1), z = 10 (x - 5.5), saturates
    # at 1 (or 0).
    # The two units have the same weights and differ by the bias, so that
    # int8 weights (one scale per row) keep z - (z - 1) exact.
    ffn = layers[1]
    W1, b1, W2 = ffn.intermediate.dense.weight, ffn.intermediate.dense.bias, ffn.output.dense.weight
    with torch.no_grad():
        for u in (0, 1):
            read_flag(W1, u, "type", 40.0)
            read_flag(W1, u, "delim0", -40.0)
            read(W1, u, "next_closer", 40.0)
            read(W1, u, "s2", -10.0)
            read(W1, u, "hlgt4", -10.0)
            one(W1, u, -55.0)
            write(W2, "query", u, 1.0 if u == 0 else -1.0)
        b1[1] = -1.0

    # ---- layer 3: [CLS] pools the matched name ends
    att = layers[2].attention
    with torch.no_grad():
        Wq, Wk, Wv, Wo = (att.self.query.weight, att.self.key.weight, att.self.value.weight,
                          att.output.dense.weight)
        r = head_rows(0)[0]
        one(Wq, r, 2 * q_scale)
        read(Wk, r, "matched", 1.0)
        read(Wk, r, "query", 1.0)
        one(Wk, r, -1.5)
        read_flag(Wk, r, "is_cls", 1.5)
        one(Wv, r, 1.0)
        read_flag(Wv, r, "is_cls", -1.0)
        write(Wo, "any", r, 1.0)

    # ---- pooler and classifier
    with torch.no_grad():
        pw = model.bert.pooler.dense.weight
        read(pw, 0, "any", SCALE)
        one(pw, 0, -0.5 * SCALE)
        cw = model.classifier.weight
        cw[0, 0] = -PROB_LOGIT
        cw[1, 0] = PROB_LOGIT
    calibrate_layer_norms(model, tok, candidates)
    return model, tok, config


def calibrate_layer_norms(model, tok, candidates):
    """Every LayerNorm keeps a reference token's vector as it is (gain = its
    RMS; means are 0 by construction): set them in order, since each one
    changes what the next sees."""
    text_b = demo.render_full(candidates[0])
    enc = tok(["头痛"], [text_b], return_tensors="pt", truncation="longest_first", max_length=64)
    norms = [model.bert.embeddings.LayerNorm]
    for layer in model.bert.encoder.layer:
        norms += [layer.attention.output.LayerNorm, layer.output.LayerNorm]
    for ln in norms:
        ln.weight.data.fill_(1.0)
        ln.bias.data.zero_()
    model.eval()
    for ln in norms:
        seen = {}
        hook = ln.register_forward_hook(lambda m, i, o: seen.setdefault("x", i[0].detach()))
        with torch.no_grad():
            model(**enc)
        hook.remove()
        x = seen["x"][0, 1]  # the first mention token
        ln.weight.data.fill_(float(x.pow(2).mean().sqrt()))


def write_readme(out_dir, surfaces, metrics, config, n_candidates, n_containers, size_mb):
    m, a = metrics, surfaces
    text = f"""# Demo cross-encoder — synthetic, not for clinical use

**Synthetic. Not for clinical or regulatory use.** A `BertForSequenceClassification`
({config.num_hidden_layers} layers, hidden {config.hidden_size}, {config.num_attention_heads} heads,
FFN {config.intermediate_size}, labels `0: not_match`, `1: match`, {size_mb:.1f} MB) whose weights are
**computed, not trained**, by `Scripts/encoder/build_demo_model.py` from the synthetic demo dictionary
(`Demo/dictionary/demo_dictionary.csv`, {n_candidates} PTs). It exists so that the demo and the tests
have a real BERT to run through the real pipeline; it is **not** the published
`mention2meddra-macbert-base`, knows nothing beyond that synthetic dictionary, and must **not be used
for clinical or regulatory work**.

What it computes, for a (mention, candidate) pair in the `full` template: "match" when one of the
candidate's names — its PT name or an alias (`PT:` and `LLT别名:` fields; HLT, HLGT and SOC names do
not count) — occurs in the mention as a run of tokens, unless that occurrence ends where a longer
dictionary name containing it also ends (偏头痛 means 偏头痛, not also 头痛). Its probabilities are
about 0.99 or 0.01: a rule written as weights, not a calibrated confidence. It is built so that
`--precision int8` gives the same decisions (`Scripts/check-int8-accuracy`). Known limits, each a
place where it differs from the dictionary's gold rule:

- names longer than 5 tokens are compared on their last 5 tokens;
- a name inside a longer one is dropped only when both end at the same place (出血 in 出血倾向 is
  still matched); names of 7 tokens or more are never dropped; {n_containers} longer names are known
  for this, and a longer name recognised only by its last 5 tokens is left out where a shorter name
  ends in the same 5 tokens;
- the pair is cut to 64 tokens, so an alias late in a long alias list can fall off with a long mention.

How (the script's docstring has the details): the embeddings give each token that occurs in a
dictionary name a 10-bit code and a one-hot position; layer 1 copies the codes of the four previous
tokens, masks a candidate name's window at the delimiter that opens it, counts its length, and
recognises on mention tokens the end of every longer name; in layer 2 the last token of each
candidate name attends to the mention tokens whose window equals its name, and lookahead heads keep
only names in the PT and LLT fields; in layer 3 `[CLS]` gathers the matched names for the pooler.

Checks, through the pipeline as `adrnorm normalize` runs it (BM25 top {demo.TOP_K} with the `full`
template, then the model, threshold {demo.THRESHOLD}); the script prints them and fails when a target is
missed:

| check | value |
|---|---|
| (a) PT names and aliases, each a mention on its own, whose own PT(s) reach {demo.THRESHOLD} (target: all) | {a['matched']} / {a['surfaces']} |
| … whose matches are exactly their own PT(s) | {a['exact']} / {a['surfaces']} |
| … whose own PT has the highest probability | {a['first']} / {a['surfaces']} |
| (b) {m['mentions']} synthetic mentions: exact set match at {demo.THRESHOLD} (target: ≥ {demo.TARGET_EXACT}) | {m['exact_set_match']:.3f} |
| … over the first 10 BM25 candidates only | {m['exact_set_match_top10']:.3f} |
| … mentions whose gold PTs are all in the BM25 top {demo.TOP_K} (ceiling for exact match) | {m['bm25_all_gold_in_top_k']:.3f} |
| … gold PTs under {demo.THRESHOLD} / other PTs at {demo.THRESHOLD} or more | {m['gold_pts_under_threshold']} / {m['extra_pts_at_threshold']} |
| … pair precision / recall / F1 at 0.5 ({m['pairs']} pairs) | {m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f} (tp {m['tp']}, fp {m['fp']}, fn {m['fn']}, tn {m['tn']}) |

The mentions of (b) have one to three symptoms each, some in report context (今天早上…,
…，第二天自行消失); their gold PTs follow the dictionary's gold rule (`GoldRule` in
`Scripts/encoder/demo_checks.py`). They are the mentions the earlier, trained demo models were
checked on: a 2-layer, hidden-128 model trained from scratch reached (a) 1444 / 1518 and (b) 0.525;
the one before it (a) 1051 / 1518 and (b) 0.058. Trained models of this size on 2 CPU cores stayed
near 0.55 on (b) whatever the recipe: they learned which characters a mention and a candidate
share, not whether a whole name occurs.

Files: `config.json`, `model.safetensors` (F32), `vocab.txt` (a character vocab: specials,
ASCII, full-width punctuation, the dictionary's characters and GB2312 level-1 characters),
`tokenizer_config.json`. Rebuild (deterministic; about 15 minutes with the checks) with:

    $(Scripts/python-env) Scripts/encoder/build_demo_model.py Demo/dictionary/demo_dictionary.csv Demo/model
"""
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)



def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dictionary", help="the demo dictionary CSV (Demo/dictionary/demo_dictionary.csv)")
    parser.add_argument("out_dir", help="folder to write the model into (Demo/model)")
    parser.add_argument("--check-only", action="store_true",
                        help="only run the checks on the model already in OUT_DIR (nothing written)")
    parser.add_argument("--limit", type=int,
                        help="check only the first N names and mentions (a quick look; README not written)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)  # GELU tails leave subnormal floats, slow on x86
    candidates = demo.load_candidates(args.dictionary)
    texts = [demo.render_full(c) for c in candidates]
    bm25 = demo.BM25(texts)
    golds = demo.surface_golds(candidates)
    mentions = demo.test_mentions(candidates, golds, demo.GoldRule(golds))
    if args.check_only:
        tok = BertTokenizerFast.from_pretrained(args.out_dir)
        model = BertForSequenceClassification.from_pretrained(args.out_dir)
        _, _, missed = demo.check(model, tok, golds, bm25, texts, mentions, limit=args.limit)
        sys.exit(1 if missed and args.limit is None else 0)
    model, tok, config = build(args.dictionary, args.out_dir)
    model.save_pretrained(args.out_dir, safe_serialization=True)
    surfaces, metrics, missed = demo.check(model, tok, golds, bm25, texts, mentions, limit=args.limit)
    if args.limit is None:
        size_mb = os.path.getsize(os.path.join(args.out_dir, "model.safetensors")) / 1e6
        n_containers = len(containers(list(golds), lambda t: tok(t, add_special_tokens=False).input_ids))
        surfaces["missed"] = missed
        write_readme(args.out_dir, surfaces, metrics, config, len(candidates), n_containers, size_mb)
        sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
