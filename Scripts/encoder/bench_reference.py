"""PyTorch side of Scripts/bench-encoder.

  make DIR   a random bert-base-chinese-sized BertForSequenceClassification
             (vocab 21128, 12 layers, hidden 768, 12 heads, FFN 3072), seeded,
             saved with safetensors (F32)
  run DIR    pairs/s of transformers on the same synthetic inputs as
             `adrnorm bench encoder` (fixed length, and mixed lengths padded
             to the longest with an attention mask, as PyTorch batches them)
"""
import argparse
import json
import os
import time

import torch
from transformers import BertConfig, BertForSequenceClassification


def make(out_dir):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512, hidden_act="gelu",
                        id2label={0: "not_match", 1: "match"}, label2id={"not_match": 0, "match": 1})
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(out_dir, safe_serialization=True)


def mixed_length(i, maximum):
    return 8 + (i * 37) % (maximum - 7)


def synthetic(i, n, vocab):
    first = n // 2
    ids = [101] + [1000 + (i * 7919 + j * 104729) % (vocab - 1000) for j in range(1, n - 1)] + [102]
    ids[first] = 102
    return ids, [0 if j <= first else 1 for j in range(n)]


def run(model_dir, batch_size, length, threads, repeats):
    torch.set_num_threads(threads)
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    vocab = model.config.vocab_size
    for mixed in (False, True):
        lengths = [mixed_length(i, length) if mixed else length for i in range(batch_size)]
        longest = max(lengths)
        ids = torch.zeros(batch_size, longest, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for i, n in enumerate(lengths):
            a, t = synthetic(i, n, vocab)
            ids[i, :n] = torch.tensor(a)
            types[i, :n] = torch.tensor(t)
            mask[i, :n] = 1
        with torch.inference_mode():
            model(input_ids=ids, token_type_ids=types, attention_mask=mask)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(input_ids=ids, token_type_ids=types, attention_mask=mask)
                times.append(time.perf_counter() - start)
        median = sorted(times)[len(times) // 2]
        print(json.dumps({"case": "mixed" if mixed else "fixed", "impl": "pytorch", "batch": batch_size,
                          "tokens": sum(lengths), "padded_tokens": batch_size * longest,
                          "seconds_median": round(median, 3), "seconds_best": round(min(times), 3),
                          "pairs_per_s": round(batch_size / median, 2),
                          "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["make", "run"])
    p.add_argument("model_dir")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.command == "make":
        make(a.model_dir)
    else:
        run(a.model_dir, a.batch_size, a.length, a.threads, a.repeats)
