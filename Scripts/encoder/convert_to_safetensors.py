"""pytorch_model.bin -> model.safetensors (F32 tensors kept as stored; shared
tensors such as tied embeddings are cloned, which safetensors requires).

Usage: python convert_to_safetensors.py MODEL_DIR [OUT_DIR]
"""
import os
import shutil
import sys

import torch
from safetensors.torch import save_file


def main(model_dir, out_dir=None):
    source = os.path.join(model_dir, "pytorch_model.bin")
    if not os.path.isfile(source):
        sys.exit(f"{source}: not found")
    out_dir = out_dir or model_dir
    os.makedirs(out_dir, exist_ok=True)
    state = torch.load(source, map_location="cpu")
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    tensors = {k: v.detach().clone().contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    target = os.path.join(out_dir, "model.safetensors")
    save_file(tensors, target, metadata={"format": "pt"})
    if os.path.abspath(out_dir) != os.path.abspath(model_dir):
        for name in ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            if os.path.isfile(os.path.join(model_dir, name)):
                shutil.copy(os.path.join(model_dir, name), out_dir)
    print(f"{len(tensors)} tensors -> {target}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
