"""Tokenizer goldens: BertTokenizerFast (transformers 4.46.3) pair encodings.

Writes one JSONL file per (vocab, config) case; each line is
{"a": text_a, "b": text_b or null, "max_length": n, "ids": [...], "type0": k}
where the token types are k zeros followed by ones (stored as a count to keep
the files small; the writer checks that shape).
The texts are seeded-random Chinese ADR mentions as reporters write them,
candidate texts in the `full` template, full-width punctuation, units,
accents, emoji, control characters, very long words and empty strings.

It also checks the truncation rule of docs/PIPELINE.md §Tokenization against the real fast
tokenizer on every pair and fails if they ever differ.

Usage: python tokenizer_goldens.py OUT_DIR CHINESE_VOCAB_DIR MINILM_DIR
"""
import json
import os
import random
import sys

from transformers import BertTokenizerFast

SYMPTOMS = ["头痛", "头疼", "头晕", "恶心", "呕吐", "皮疹", "瘙痒", "腹泻", "便秘", "乏力", "失眠", "嗜睡",
            "心悸", "胸闷", "气短", "发热", "寒战", "肝功能异常", "转氨酶升高", "白细胞减少", "血小板减少",
            "过敏性休克", "荨麻疹", "口干", "食欲下降", "水肿", "视物模糊", "耳鸣", "肌肉酸痛", "关节痛",
            "犯困", "拉肚子", "吐了", "起红疹子", "浑身没劲", "心慌", "喘不上气", "眼花", "掉头发", "咳嗽"]
CONTEXT = ["用药后", "吃完药后", "服药第2天出现", "静滴过程中", "注射后约10分钟", "患者自述", "家属代诉",
           "停药后好转，", "再次用药又出现", "", "", "一直", "偶尔", "明显", "轻微", "严重"]
DRUGS = ["阿莫西林", "头孢曲松钠", "布洛芬缓释胶囊", "二甲双胍", "阿司匹林肠溶片", "左氧氟沙星", "氯吡格雷",
         "Amoxicillin", "IBUPROFEN", "Metformin 0.5g", "COVID-19 vaccine"]
UNITS = ["2次/日", "5mg", "0.5 g", "10ml", "bid", "q8h", "3天", "1周", "37.8℃", "39.2°C", "BP 150/95mmHg",
         "HR 110次/分", "ALT 120U/L", "5 mg/kg", "1×10^9/L", "100 IU", "Ⅱ度", "①", "½片"]
PUNCT = ["，", "。", "、", "；", "：", "？", "！", "（", "）", "【", "】", "《", "》", "——", "……", "～", "·",
         "“", "”", "‘", "’", ",", ".", ";", ":", "!", "?", "(", ")", "[", "]", "/", "-", "+", "%", "~",
         "「", "」", "〔", "〕", "＃", "＆", "＊", "＠", "¥", "$", "^", "`", "|", "<", ">", "="]
ENGLISH = ["Headache", "nausea", "Rash", "DIZZINESS", "itching", "vomiting", "fever", "SJS", "TEN", "DRESS",
           "QT prolongation", "Stevens-Johnson syndrome", "anaphylaxis", "liver injury", "unbelievably",
           "hepatotoxicity", "don't", "e.g.", "i.v.", "p.o."]
ACCENTS = ["café", "naïve", "Müller", "résumé", "Ångström", "crème brûlée", "İstanbul", "ΣΑΣ", "Ωmega",
           "ﬁne", "Straße", "Čeština", "niño", "façade", "e\u0301", "a\u0308\u0304", "Ⅻ", "ǅ", "ﬀ"]
EMOJI = ["😀", "🤢", "🤮", "😷", "🥰", "🫠", "💊", "👍🏽", "❤️", "🇨🇳", "👨‍👩‍👧", "☺", "✓", "★", "🙂"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u200d", "\ufeff", "\u00ad", "\ufffd",
           "\ue000", "\U000e0001", "\u2028", "\u2029", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f",
           "\u3000", "\u00a0", "\u2003", "\u202f", "\u0378", "\ud7ff", "\U0010ffff"]
OTHER = ["豈", "更", "\uf900", "\ufa6d", "한국어", "日本語です", "カタカナ", "ｈｅｌｌｏ", "ＡＢＣ１２３", "𠀀", "𪜀",
         "\u2fff", "\u3400", "[SEP]", "[CLS]", "[MASK]", "[PAD]", "[UNK]", "[sep]", "[unused1]", "a[SEP]b",
         "##", "##ing", "x##y", "Ⅳ", "㎎", "㏄", "℃", "µg", "μg"]


def long_word(rng):
    n = rng.choice([99, 100, 101, 150, 250])
    alphabet = rng.choice(["abcdefghij", "ab", "0123456789", "éa", "xyz"])
    return "".join(rng.choice(alphabet) for _ in range(n))


def mention(rng):
    kind = rng.random()
    parts = []
    if kind < 0.55:
        parts.append(rng.choice(CONTEXT))
        for _ in range(rng.randint(1, 4)):
            parts.append(rng.choice(SYMPTOMS))
            if rng.random() < 0.5:
                parts.append(rng.choice(PUNCT[:6]))
        if rng.random() < 0.4:
            parts.insert(0, rng.choice(DRUGS) + rng.choice(UNITS))
    else:
        pools = [SYMPTOMS, CONTEXT, DRUGS, UNITS, PUNCT, ENGLISH, ACCENTS, EMOJI, CONTROL, OTHER]
        for _ in range(rng.randint(1, 8)):
            pool = rng.choice(pools)
            parts.append(rng.choice(pool))
            if rng.random() < 0.3:
                parts.append(rng.choice([" ", "  ", "\t", "\u3000", ""]))
        if rng.random() < 0.05:
            parts.insert(rng.randint(0, len(parts)), long_word(rng))
    return "".join(parts)


def candidate(rng):
    pt = rng.choice(SYMPTOMS + ENGLISH[:6])
    aliases = rng.sample(SYMPTOMS, rng.randint(0, 10))
    parts = [f"PT: {pt}"]
    if aliases:
        parts.append("LLT别名: " + " | ".join(aliases[:8]))
    if rng.random() < 0.8:
        parts.append("HLT: " + rng.choice(["头痛NEC", "恶心和呕吐症状", "皮疹、发疹和疹病NEC", "肝功能检查"]))
        parts.append("HLGT: " + rng.choice(["头痛", "胃肠道体征和症状", "表皮和真皮病症"]))
        parts.append("SOC: " + rng.choice(["各类神经系统疾病", "胃肠系统疾病", "皮肤及皮下组织类疾病"]))
    return "；".join(parts)


def long_text(rng, min_tokens_hint):
    text = ""
    while len(text) < min_tokens_hint:
        text += rng.choice([mention(rng), candidate(rng), rng.choice(SYMPTOMS) * 3])
    return text


def build_cases(rng):
    cases = []
    # Single texts (no pair): the CLI's --text-b-less form.
    for _ in range(700):
        cases.append((mention(rng), None, rng.choice([64, 64, 16, 512])))
    cases += [("", None, 64), (" ", None, 64), ("\x00\ufffd", None, 64), (long_word(rng), None, 64)]
    # Mention / candidate pairs at the model-card max_length and others.
    for _ in range(900):
        cases.append((mention(rng), candidate(rng), rng.choice([64, 64, 64, 32, 128, 512])))
    cases += [("", "", 64), ("", candidate(rng), 64), (mention(rng), "", 64), ("", "", 3), ("头痛", "头痛", 3)]
    # Both texts longer than half the budget, and edges around m/2 and m.
    for _ in range(500):
        ml = rng.choice([64, 64, 32, 17, 16, 9, 8])
        a = long_text(rng, rng.randint(ml // 3, ml * 2))
        b = long_text(rng, rng.randint(ml // 3, ml * 2))
        cases.append((a, b, ml))
    for ml in (64, 63, 10, 11):
        m = ml - 3
        for na in range(max(0, m // 2 - 3), m // 2 + 4):
            for nb in (na, na + 1, m - na, m - na + 1, m + 5):
                cases.append(("头" * na, "痛" * max(nb, 0), ml))
                cases.append(("痛" * max(nb, 0), "头" * na, ml))
    return cases


def fast_rule(na, nb, max_length):
    """The lengths BertTokenizerFast keeps (docs/PIPELINE.md §Tokenization)."""
    m = max_length - 3
    if na + nb <= m:
        return na, nb
    shorter_is_a = na <= nb
    n = na if shorter_is_a else nb
    if n <= m / 2:
        keep_short, keep_long = n, m - n
    else:
        keep_short, keep_long = m // 2, m // 2 + m % 2
    return (keep_short, keep_long) if shorter_is_a else (keep_long, keep_short)


def run_case_set(tok, cases, out_path):
    mismatches = 0
    both_over_half = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for a, b, ml in cases:
            enc = tok(a, b, truncation="longest_first" if b is not None else True, max_length=ml)
            ids, types = enc["input_ids"], enc["token_type_ids"]
            k = types.count(0)
            assert types == [0] * k + [1] * (len(types) - k), (a, b, types)
            # transformers treats an empty text_pair as no pair at all ("if text_pair"):
            # [CLS] a [SEP], truncated to max_length - 2.
            if b:
                na = len(tok(a, add_special_tokens=False)["input_ids"])
                nb = len(tok(b, add_special_tokens=False)["input_ids"])
                m = ml - 3
                if na > m / 2 and nb > m / 2:
                    both_over_half += 1
                got_a = types.count(0) - 2
                got_b = types.count(1) - 1
                if fast_rule(na, nb, ml) != (got_a, got_b):
                    mismatches += 1
                    print(f"truncation rule differs: na={na} nb={nb} max_length={ml} "
                          f"rule={fast_rule(na, nb, ml)} fast={(got_a, got_b)}", file=sys.stderr)
            out.write(json.dumps({"a": a, "b": b, "max_length": ml, "ids": ids, "type0": k},
                                 ensure_ascii=False, separators=(",", ":")) + "\n")
    return mismatches, both_over_half


def main(out_dir, chinese_vocab_dir, minilm_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(20261126)
    cases = build_cases(rng)
    total_mismatches = 0
    sets = [("chinese", BertTokenizerFast.from_pretrained(chinese_vocab_dir), cases),
            ("minilm", BertTokenizerFast.from_pretrained(minilm_dir), cases)]
    # The same vocab with the other normaliser settings, on a subset.
    variant = BertTokenizerFast.from_pretrained(chinese_vocab_dir, do_lower_case=False,
                                                tokenize_chinese_chars=False, strip_accents=None)
    sets.append(("chinese-cased-nocjk", variant, cases[::4]))
    variant2 = BertTokenizerFast.from_pretrained(chinese_vocab_dir, do_lower_case=True, strip_accents=False)
    sets.append(("chinese-keep-accents", variant2, cases[::4]))
    variant3 = BertTokenizerFast.from_pretrained(chinese_vocab_dir, do_lower_case=False, strip_accents=True)
    sets.append(("chinese-cased-strip", variant3, cases[::4]))
    for name, tok, subset in sets:
        mism, over = run_case_set(tok, subset, os.path.join(out_dir, f"{name}.jsonl"))
        total_mismatches += mism
        print(f"{name}: {len(subset)} cases, {over} pairs with both texts over half the budget, "
              f"{mism} truncation-rule mismatches", file=sys.stderr)
    if total_mismatches:
        sys.exit(f"the documented truncation rule disagrees with BertTokenizerFast on {total_mismatches} pairs")


if __name__ == "__main__":
    main(*sys.argv[1:4])
