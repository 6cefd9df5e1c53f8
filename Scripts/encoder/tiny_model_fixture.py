"""The committed tiny cross-encoder and its transformers outputs
(Tests/CrossEncoderTests/Fixtures/tiny-model), so that BERT parity and
"a batch equals one by one" run in a plain `swift test`.

Writes into OUT_DIR a random BertForSequenceClassification (seeded) with
deliberately odd sizes (hidden 36 over 3 heads of 12, feed-forward 71,
position table 67, a vocabulary of whatever size the rule below gives) and a
small vocab.txt made from the test pairs: most characters, some words whole,
some only as word pieces (##), and some characters and one word left out, so
that [UNK] and WordPiece splitting both occur. Then expected.json: for each
pair of model_goldens.PAIRS, transformers' ids, token types, logits and
probabilities (fp32, PyTorch), and a README that says what it is. The
weights are F32, about 130 KB.

Deterministic: Scripts/test regenerates it into a temporary folder and
compares it with the committed copy (--against): every file byte for byte,
except that expected.json's logits and probabilities may differ by
OUTPUT_TOLERANCE, since PyTorch's float sums differ in the last bits from one
CPU to another (AVX2 or AVX-512 kernels).

Usage: python tiny_model_fixture.py OUT_DIR [--against COMMITTED_DIR]
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
from transformers.models.bert.tokenization_bert import BasicTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_goldens import PAIRS, randomize  # noqa: E402

SEED = 11
HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 36, 2, 3, 71, 67
MAX_LENGTH = 64
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Left out of the vocabulary, so they become [UNK].
UNKNOWN_CHARACTERS = {"犯", "疹", "毒"}
UNKNOWN_WORDS = {"syndrome"}


def vocabulary():
    basic = BasicTokenizer(do_lower_case=True, tokenize_chinese_chars=True)
    tokens = set()
    for a, b in PAIRS:
        for word in basic.tokenize(a) + basic.tokenize(b):
            if word in UNKNOWN_WORDS or word in UNKNOWN_CHARACTERS:
                continue
            if len(word) <= 3 or sum(map(ord, word)) % 2 == 0:
                tokens.add(word)
            else:
                # Only as pieces: a 3-character head, then ## continuations of 2.
                tokens.add(word[:3])
                tokens.update("##" + word[i:i + 2] for i in range(3, len(word), 2))
    return SPECIAL + sorted(tokens)


def main(out_dir):
    torch.set_num_threads(2)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in vocabulary()))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "tokenize_chinese_chars": True, "strip_accents": None,
                   "model_max_length": 512, "tokenizer_class": "BertTokenizer"}, f, indent=2)
        f.write("\n")
    tokenizer = BertTokenizerFast.from_pretrained(out_dir)

    labels = {0: "not_match", 1: "match"}
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                        max_position_embeddings=POSITIONS, hidden_act="gelu", hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12, id2label=labels,
                        label2id={v: k for k, v in labels.items()})
    torch.manual_seed(SEED)
    model = BertForSequenceClassification(config).eval()
    randomize(model, torch.Generator().manual_seed(SEED))
    config.save_pretrained(out_dir)
    tensors = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})

    cases = []
    with torch.no_grad():
        for a, b in PAIRS:
            enc = tokenizer(a, b, truncation="longest_first", max_length=MAX_LENGTH, return_tensors="pt")
            logits = model(**enc).logits[0]
            cases.append({"a": a, "b": b, "input_ids": enc["input_ids"][0].tolist(),
                          "token_type_ids": enc["token_type_ids"][0].tolist(),
                          "logits": logits.tolist(), "probabilities": torch.softmax(logits, -1).tolist()})
    unknown = tokenizer.unk_token_id
    assert any(unknown in c["input_ids"] for c in cases), "no pair exercises [UNK]"
    assert any(t.startswith("##") for c in cases for t in tokenizer.convert_ids_to_tokens(c["input_ids"])), \
        "no pair exercises word pieces"
    assert any(len(c["input_ids"]) == MAX_LENGTH for c in cases), "no pair is truncated"
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        # One case a line, so that a diff shows which pair changed.
        f.write(f'{{"match_index": 1, "max_length": {MAX_LENGTH}, "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write("# tiny-model (test fixture, random weights)\n\n"
                "A random, untrained BertForSequenceClassification for the Swift parity tests: its scores "
                "mean nothing. Made, with expected.json (transformers' outputs on the test pairs), by "
                "`Scripts/encoder/tiny_model_fixture.py`; `Scripts/test` remakes it and fails if this copy "
                "differs (outputs by more than 1e-5). To update it: `$ADRNORM_PYTHON Scripts/encoder/tiny_model_fixture.py "
                "Tests/CrossEncoderTests/Fixtures/tiny-model`.\n")
    print(f"tiny model fixture ({tokenizer.vocab_size} tokens) -> {out_dir}", file=sys.stderr)


OUTPUT_TOLERANCE = 1e-5  # the Swift parity tests allow 1e-4 on logits


def differences(made, committed):
    """What differs between a freshly made fixture and the committed one."""
    out = []
    names = sorted(set(os.listdir(made)) | set(os.listdir(committed)))
    for name in names:
        a, b = os.path.join(made, name), os.path.join(committed, name)
        if not (os.path.exists(a) and os.path.exists(b)):
            out.append(f"{name}: only in {made if os.path.exists(a) else committed}")
            continue
        with open(a, "rb") as fa, open(b, "rb") as fb:
            da, db = fa.read(), fb.read()
        if name != "expected.json":
            if da != db:
                out.append(f"{name}: differs")
            continue
        ja, jb = json.loads(da), json.loads(db)
        if {k: v for k, v in ja.items() if k != "cases"} != {k: v for k, v in jb.items() if k != "cases"} \
                or len(ja["cases"]) != len(jb["cases"]):
            out.append("expected.json: header or number of cases differs")
            continue
        for n, (ca, cb) in enumerate(zip(ja["cases"], jb["cases"])):
            for key in sorted(set(ca) | set(cb)):
                va, vb = ca.get(key), cb.get(key)
                if key in ("logits", "probabilities"):
                    if len(va) != len(vb) or any(abs(x - y) > OUTPUT_TOLERANCE for x, y in zip(va, vb)):
                        out.append(f"expected.json case {n} ({ca['a']!r}): {key} {va} vs committed {vb}")
                elif va != vb:
                    out.append(f"expected.json case {n}: {key} {va!r} vs committed {vb!r}")
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--against"):
        sys.exit(__doc__)
    main(args[0])
    if len(args) == 3:
        found = differences(args[0], args[2])
        for line in found:
            print(line, file=sys.stderr)
        if found:
            sys.exit(f"{len(found)} difference(s) from the committed fixture {args[2]}")
        print(f"same as {args[2]} (outputs within {OUTPUT_TOLERANCE})", file=sys.stderr)
