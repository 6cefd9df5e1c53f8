"""ONNX Runtime as the int8 peer of adrnorm (used by int8_accuracy.py).

A Hugging Face BERT folder is exported with torch.onnx (fp32) and quantized
with onnxruntime's quantize_dynamic(weight_type=QInt8) twice (VARIANTS): as
is, the recipe a user reaches for first, and per channel. The three files are
cached in a directory of the caller's choosing and rebuilt when anything they
depend on changes.

Sessions are run one sequence at a time, unpadded: dynamic quantization takes
one activation scale per tensor, so in a padded batch a sequence's result
would depend on its neighbours and on the padding. One at a time gives ORT
its best case and makes each figure independent of batching.
"""
import hashlib
import json
import logging
import os
import shutil
import tempfile

import numpy as np

# What the exported graph returns.
KINDS = ("pooled", "logits")
OPSET = 14


def _sha256_file(path, h):
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def cache_key(model_dir, kind):
    """Everything the two ONNX files depend on: the weights and config, the
    exporter and quantizer versions, and this file's code."""
    import onnx
    import onnxruntime
    import torch
    import transformers
    h = hashlib.sha256()
    h.update(json.dumps({"kind": kind, "opset": OPSET, "torch": torch.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__, "transformers": transformers.__version__})
             .encode())
    for name in ("config.json", "model.safetensors"):
        _sha256_file(os.path.join(model_dir, name), h)
    _sha256_file(os.path.abspath(__file__), h)
    return h.hexdigest()


def _export(model_dir, kind, path):
    import torch
    from transformers import BertForSequenceClassification, BertModel

    # Eager attention: the graph then holds the plain MatMuls that quantize_dynamic knows.
    if kind == "pooled":
        bert = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).pooler_output
    else:
        clf = BertForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.clf = clf

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.clf(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).logits

    # Batch 2 and an odd length, so that neither dimension is baked in as 1.
    ids = torch.tensor([[101, 2000, 2001, 102, 2002, 102, 0], [101, 2003, 102, 2004, 2005, 2006, 102]])
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]])
    dynamic = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["output"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(Wrapper().eval(), (ids, mask, types), path, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["output"],
                          dynamic_axes=dynamic, do_constant_folding=True)


# The peer as the brief names it (quantize_dynamic's defaults: one scale per
# weight tensor, embedding tables included), and per output channel, the
# option ORT documents for better accuracy, so the peer is not a straw man.
VARIANTS = {"int8": {}, "int8_per_channel": {"per_channel": True}}


def ensure_models(model_dir, kind, cache_dir, log=print):
    """Returns {"fp32": path, "int8": path, "int8_per_channel": path},
    exporting and quantizing when the cache in cache_dir is missing or stale."""
    assert kind in KINDS
    from onnxruntime.quantization import QuantType, quantize_dynamic
    key = cache_key(model_dir, kind)
    paths = {name: os.path.join(cache_dir, f"model-{name}.onnx") for name in ("fp32", *VARIANTS)}
    try:
        with open(os.path.join(cache_dir, "key")) as f:
            if f.read().strip() == key and all(os.path.exists(p) for p in paths.values()):
                return paths
    except OSError:
        pass
    log(f"exporting {model_dir} ({kind}) to ONNX and quantizing it into {cache_dir}")
    parent = os.path.dirname(os.path.abspath(cache_dir))
    os.makedirs(parent, exist_ok=True)
    # Built beside the cache and renamed into place, so an interrupted run never leaves a half cache behind.
    staging = tempfile.mkdtemp(prefix=os.path.basename(cache_dir) + ".", dir=parent)
    try:
        os.chmod(staging, 0o755)
        fp32 = os.path.join(staging, "model-fp32.onnx")
        _export(model_dir, kind, fp32)
        # Its advice to pre-process first is left unfollowed on purpose: the peer is the plain recipe.
        logging.getLogger().setLevel(logging.ERROR)
        for name, options in VARIANTS.items():
            quantize_dynamic(fp32, os.path.join(staging, f"model-{name}.onnx"), weight_type=QuantType.QInt8, **options)
        with open(os.path.join(staging, "key"), "w") as f:
            f.write(key + "\n")
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.rename(staging, cache_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


def graph_summary(int8_path):
    """What quantize_dynamic did: counts of the (de)quantizing and integer ops
    it put in (DequantizeLinear: the embedding tables, read as int8), and of
    the float MatMul/Gemm nodes it left (attention's activation products)."""
    import onnx
    counts = {}
    for node in onnx.load(int8_path).graph.node:
        op = node.op_type
        if "integer" in op.lower() or "quantize" in op.lower() or op in ("MatMul", "Gemm"):
            counts[op] = counts.get(op, 0) + 1
    return counts


def session(path, threads=1):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_each(sess, encodings):
    """encodings: [(input_ids, token_type_ids)]; returns one output row per
    encoding (float32), each run on its own (see the module docstring)."""
    rows = []
    for ids, types in encodings:
        ids = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.asarray([types], dtype=np.int64)}
        rows.append(sess.run(["output"], feed)[0][0])
    return np.stack(rows)
