"""Writes the generated Chinese WordPiece vocab used by the tokenizer goldens.

Layout like bert-base-chinese: [PAD], [unused1..99], [UNK], [CLS], [SEP],
[MASK], [unused100..], then ASCII, full-width punctuation, every GB2312
character, a few hundred English/units word pieces and their ## forms, and
## forms of some Chinese characters. Deterministic (no randomness).

Usage: python make_chinese_vocab.py OUT_DIR   (writes vocab.txt, tokenizer_config.json)
"""
import json
import os
import sys

WORDS = """head headache ache nausea rash fever pain dizzy dizziness vomit vomiting itch itching
skin liver kidney renal hepatic blood pressure heart rate low high mg ml kg mcg iu bid tid qd qid
tablet tablets capsule injection iv po im sc dose daily times day days week hour hours after before
the a an of and or with without no not ct mri ecg ekg alt ast bun cr wbc rbc plt hb inr ptt
caf cafe na ive naive covid vaccine dose allergy allergic reaction shock anaphylaxis syndrome
steven johnson stevens toxic epidermal necrolysis sjs ten dress qt prolongation""".split()
PIECES = ["s", "ing", "ed", "ly", "er", "ness", "tion", "al", "ic", "mg", "ml", "g", "l", "x", "00", "0",
          "1", "2", "5", "10", "ache", "itis", "emia", "ia", "ous"]


def gb2312_chars(rows=range(0xA1, 0xF8)):
    """GB2312 characters in code order; rows 0xB0..0xD7 are level 1, the
    3,755 most common."""
    out = []
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            out.append(ch)
    return out


def write_tokenizer_files(out_dir, vocab, model_max_length):
    """vocab.txt and a lower-casing, CJK-splitting BertTokenizer config."""
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "tokenize_chinese_chars": True, "strip_accents": None,
                   "model_max_length": model_max_length, "tokenizer_class": "BertTokenizer"}, f, indent=2)
        f.write("\n")


def main(out_dir):
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [f"[unused{i}]" for i in range(100, 120)]
    seen = set(vocab)

    def add(tok):
        if tok and tok not in seen and not any(c.isspace() for c in tok):
            seen.add(tok)
            vocab.append(tok)

    for c in range(0x21, 0x7F):
        add(chr(c))
    for c in "，。、；：？！“”‘’（）【】《》—…～·％＋－＝／":
        add(c)
    hanzi = gb2312_chars()
    for ch in hanzi:
        add(ch)
    for w in WORDS:
        add(w)
    for p in PIECES + WORDS[:40]:
        add("##" + p)
    for c in "abcdefghijklmnopqrstuvwxyz0123456789":
        add("##" + c)
    # ## forms of the first 1500 GB2312 characters: exercised when tokenize_chinese_chars is off.
    for ch in hanzi[:1500]:
        if "\u4e00" <= ch <= "\u9fff":
            add("##" + ch)
    os.makedirs(out_dir, exist_ok=True)
    write_tokenizer_files(out_dir, vocab, 512)
    print(f"{len(vocab)} tokens -> {out_dir}/vocab.txt", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
