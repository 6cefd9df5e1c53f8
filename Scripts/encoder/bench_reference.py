"""Python engines for Scripts/bench-encoder.

  make DIR [--small]  a random bert-base-chinese-sized BertForSequenceClassification
                      (vocab 21128, 12 layers, hidden 768, 12 heads, FFN 3072), seeded,
                      saved with safetensors (F32); --small: 2 layers, hidden 128,
                      2 heads, FFN 512 (smoke tests)
  prepare DIR         exports DIR to ONNX, quantizes it (ONNX Runtime dynamic int8)
                      and records PyTorch's logits on the benchmark batches, all in
                      DIR's sibling DIR-onnx/; reused while DIR and the versions
                      are unchanged
  run DIR --engine E  pairs/s of one engine (pytorch, ort, ort-int8, openvino) on the
                      same synthetic inputs as `adrnorm bench encoder` (fixed length,
                      and mixed lengths padded to the longest with an attention mask,
                      as users batch them); one JSON line per case

Run each engine in a process of its own: thread pools and BLAS settings are
per process, and `run` imports only what its engine needs (ONNX Runtime and
OpenVINO processes never load torch).
"""
import argparse
import json
import os
import sys
import time

ENGINES = {"pytorch": "fp32", "ort": "fp32", "ort-int8": "int8", "openvino": "fp32"}
OPSET = 14
# quantize_dynamic's defaults, spelled out so that the JSON lines say what was
# measured: one scale per weight tensor (per_channel=False), full 8-bit range.
QUANTIZE_OPTIONS = {"weight_type": "QInt8", "per_channel": False, "reduce_range": False}


def make(out_dir, small):
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    size = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512) if small \
        else dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    config = BertConfig(vocab_size=21128, max_position_embeddings=512, hidden_act="gelu",
                        id2label={0: "not_match", 1: "match"}, label2id={"not_match": 0, "match": 1}, **size)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(out_dir, safe_serialization=True)


def mixed_length(i, maximum):
    return 8 + (i * 37) % (maximum - 7)


def synthetic(i, n, vocab):
    first = n // 2
    ids = [101] + [1000 + (i * 7919 + j * 104729) % (vocab - 1000) for j in range(1, n - 1)] + [102]
    ids[first] = 102
    return ids, [0 if j <= first else 1 for j in range(n)]


def batch(mixed, batch_size, length, vocab):
    """int64 input_ids, attention_mask, token_type_ids (numpy), padded to the longest pair."""
    import numpy as np
    lengths = [mixed_length(i, length) if mixed else length for i in range(batch_size)]
    longest = max(lengths)
    ids = np.zeros((batch_size, longest), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        a, t = synthetic(i, n, vocab)
        ids[i, :n] = a
        types[i, :n] = t
        mask[i, :n] = 1
    return lengths, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def cache_dir(model_dir):
    model_dir = os.path.abspath(model_dir)
    return model_dir.rstrip("/") + "-onnx"


def reference_path(model_dir, batch_size, length):
    return os.path.join(cache_dir(model_dir), f"pytorch-logits-b{batch_size}-l{length}.npz")


def source_stamp(model_dir):
    st = os.stat(os.path.join(model_dir, "model.safetensors"))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def prepare(model_dir, batch_size, length):
    import numpy as np
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertForSequenceClassification

    out = cache_dir(model_dir)
    os.makedirs(out, exist_ok=True)
    fp32, int8, stamp_path = (os.path.join(out, n) for n in ("model.onnx", "model-int8.onnx", "stamp.json"))
    stamp = {"source": source_stamp(model_dir), "torch": torch.__version__, "opset": OPSET, "onnx": onnx.__version__,
             "onnxruntime": onnxruntime.__version__, "quantize": QUANTIZE_OPTIONS}
    try:
        fresh = json.load(open(stamp_path)) == stamp and os.path.exists(fp32) and os.path.exists(int8)
    except (OSError, ValueError):
        fresh = False
    ref = reference_path(model_dir, batch_size, length)
    if fresh and os.path.exists(ref):
        return
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    vocab = model.config.vocab_size
    if not fresh:
        if os.path.exists(stamp_path):
            os.remove(stamp_path)
        print(f"bench_reference: exporting {fp32} (opset {OPSET})", file=sys.stderr, flush=True)

        class Logits(torch.nn.Module):
            """Positional inputs in the ONNX input order, logits only."""
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids, return_dict=False)[0]

        _, example = batch(True, 4, 16, vocab)
        axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        axes["logits"] = {0: "batch"}
        # eval() on the wrapper too: export restores the wrapper's training
        # flag afterwards, recursively, which would leave dropout on in model.
        with torch.no_grad():
            torch.onnx.export(Logits(model).eval(), tuple(torch.from_numpy(example[k]) for k in
                                                   ("input_ids", "attention_mask", "token_type_ids")),
                              fp32, input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["logits"], dynamic_axes=axes, opset_version=OPSET,
                              do_constant_folding=True)
        onnx.checker.check_model(fp32)
        print(f"bench_reference: quantizing to {int8} (dynamic, {QUANTIZE_OPTIONS})", file=sys.stderr, flush=True)
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=QUANTIZE_OPTIONS["per_channel"],
                         reduce_range=QUANTIZE_OPTIONS["reduce_range"])
        ops = {}
        for node in onnx.load(int8).graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        print(f"bench_reference: int8 graph ops {dict(sorted(ops.items()))}", file=sys.stderr, flush=True)
        for name in os.listdir(out):
            if name.startswith("pytorch-logits-"):
                os.remove(os.path.join(out, name))
        json.dump(stamp, open(stamp_path, "w"), indent=1)
    if not os.path.exists(ref):
        logits = {}
        with torch.inference_mode():
            for mixed in (False, True):
                _, inputs = batch(mixed, batch_size, length, vocab)
                logits["mixed" if mixed else "fixed"] = \
                    model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
        np.savez(ref, **logits)


def run(model_dir, engine, batch_size, length, threads, repeats):
    # Before numpy or torch load OpenBLAS/OpenMP: torch.set_num_threads does
    # not reach Debian torch's sgemm, which is OpenBLAS (pthreads).
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    import numpy as np
    vocab = json.load(open(os.path.join(model_dir, "config.json")))["vocab_size"]
    info = {}
    if engine == "pytorch":
        import torch
        from transformers import BertForSequenceClassification
        torch.set_num_threads(threads)
        model = BertForSequenceClassification.from_pretrained(model_dir).eval()
        info = {"torch": torch.__version__, "threads_used": torch.get_num_threads()}

        def forward(inputs):
            with torch.inference_mode():
                return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    elif engine in ("ort", "ort-int8"):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = os.path.join(cache_dir(model_dir), "model-int8.onnx" if engine == "ort-int8" else "model.onnx")
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        info = {"onnxruntime": ort.__version__}
        if engine == "ort-int8":
            info["quantize"] = QUANTIZE_OPTIONS

        def forward(inputs):
            return session.run(["logits"], inputs)[0]
    elif engine == "openvino":
        import openvino as ov
        core = ov.Core()
        # Without the precision hint OpenVINO runs bf16 on CPUs with AVX-512
        # BF16 or AMX, which would not be an fp32 comparison.
        compiled = core.compile_model(os.path.join(cache_dir(model_dir), "model.onnx"), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
            "INFERENCE_PRECISION_HINT": "f32"})
        request = compiled.create_infer_request()
        info = {"openvino": ov.__version__,
                "inference_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
                "default_precision": core.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name(),
                "threads_used": int(compiled.get_property("INFERENCE_NUM_THREADS"))}

        def forward(inputs):
            return request.infer(inputs)[compiled.output(0)].copy()
    else:
        raise SystemExit(f"unknown engine {engine}")

    ref = reference_path(model_dir, batch_size, length)
    reference = dict(np.load(ref)) if os.path.exists(ref) else {}
    for mixed in (False, True):
        case = "mixed" if mixed else "fixed"
        lengths, inputs = batch(mixed, batch_size, length, vocab)
        forward(inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            logits = forward(inputs)
            times.append(time.perf_counter() - start)
        median = sorted(times)[len(times) // 2]
        line = {"case": case, "engine": engine, "precision": ENGINES[engine], "threads": threads,
                "batch": batch_size, "tokens": sum(lengths), "padded_tokens": batch_size * max(lengths),
                "seconds_median": round(median, 4), "seconds_best": round(min(times), 4),
                "pairs_per_s": round(batch_size / median, 2)}
        if case in reference:
            line["max_abs_diff_vs_pytorch"] = float(f"{float(np.abs(logits - reference[case]).max()):.3g}")
        line.update(info)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["make", "prepare", "run"])
    p.add_argument("model_dir")
    p.add_argument("--small", action="store_true", help="make: a 2-layer, hidden-128 model")
    p.add_argument("--engine", choices=sorted(ENGINES), default="pytorch")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.command == "make":
        make(a.model_dir, a.small)
    elif a.command == "prepare":
        prepare(a.model_dir, a.batch_size, a.length)
    else:
        run(a.model_dir, a.engine, a.batch_size, a.length, a.threads, a.repeats)
