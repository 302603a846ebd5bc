#!/usr/bin/python3
"""PyTorch peer for the f32 encoder: the default model's BERT forward in float32, built from torch's own fused modules.

The 4-bit weights of models/all-MiniLM-L6-v2/onnx/model_q4.onnx are dequantised to float32 in numpy by the
independent reader tests/NativeAlign.Tests/IO/Fixtures/onnx_weights_peer.py (its `dequantize` and `canonical`), and
loaded into:
  embeddings  word + position + token type, LayerNorm (plain torch ops),
  encoder     nn.TransformerEncoder of nn.TransformerEncoderLayer(d_model, heads, ffn, activation='gelu',
              batch_first=True, norm_first=False, layer_norm_eps) with a key padding mask, in eval() under
              torch.inference_mode(), so that torch 1.13 takes its fused fast path (torch._transformer_encoder_layer_fwd,
              nested tensors for the padding); the script checks in the profiler that it did and fails otherwise.
Before timing, the mean of the last hidden states over real tokens is compared with ours (the dequantised f32
encoder, written by `NativeAlign.Benchmarks dump-e2e`): every input's cosine must be >= 0.9999, else exit 1.

Timing: consecutive batches of `batch` inputs from ids.json in file order, padded to the batch's longest, 2 threads
(torch.set_num_threads); median over rounds of the time per batch.
Usage: torch_encoder.py <model_q4.onnx> <dir with ids.json and ours-f32.mean.f32> [--threads 2] [--rounds 5]
Prints JSON.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "NativeAlign.Tests", "IO", "Fixtures"))
from onnx_weights_peer import canonical, dequantize  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("work")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--config", default=None)
args = ap.parse_args()
torch.set_num_threads(args.threads)

config_path = args.config or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.model))), "config.json")
cfg = json.load(open(config_path))
H, heads, ffn, L, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["layer_norm_eps"]
assert cfg["hidden_act"] == "gelu"

# Weights by canonical Hugging Face BERT name, float32 ([out, in] for linears).
model = onnx.load(args.model, load_external_data=True)
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
nbits = {n.input[1]: n for n in model.graph.node if n.op_type == "MatMulNBits"}
W = {}
for name, array in inits.items():
    if name.endswith("weight_scales"):
        continue
    target = canonical(name)
    if target is None:
        raise SystemExit(f"unexpected initializer {name}")
    if name in nbits:
        node = nbits[name]
        a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
        zp = inits[node.input[3]] if len(node.input) > 3 and node.input[3] else None
        W[target] = dequantize(array, inits[node.input[2]], a["K"], a["N"], a["block_size"], zp)
    else:
        W[target] = array.astype(np.float32)
T = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in W.items()}


class Bert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.word = torch.nn.Embedding.from_pretrained(T["embeddings.word_embeddings.weight"])
        self.pos = torch.nn.Embedding.from_pretrained(T["embeddings.position_embeddings.weight"])
        self.typ = torch.nn.Embedding.from_pretrained(T["embeddings.token_type_embeddings.weight"])
        self.norm = torch.nn.LayerNorm(H, eps=eps)
        self.norm.weight.data.copy_(T["embeddings.LayerNorm.weight"])
        self.norm.bias.data.copy_(T["embeddings.LayerNorm.bias"])
        layer = torch.nn.TransformerEncoderLayer(H, heads, ffn, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                                 batch_first=True, norm_first=False)
        self.encoder = torch.nn.TransformerEncoder(layer, L, enable_nested_tensor=True)
        for i, lay in enumerate(self.encoder.layers):
            p = f"encoder.layer.{i}."
            lay.self_attn.in_proj_weight.data.copy_(torch.cat([T[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]))
            lay.self_attn.in_proj_bias.data.copy_(torch.cat([T[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]))
            lay.self_attn.out_proj.weight.data.copy_(T[p + "attention.output.dense.weight"])
            lay.self_attn.out_proj.bias.data.copy_(T[p + "attention.output.dense.bias"])
            lay.norm1.weight.data.copy_(T[p + "attention.output.LayerNorm.weight"])
            lay.norm1.bias.data.copy_(T[p + "attention.output.LayerNorm.bias"])
            lay.linear1.weight.data.copy_(T[p + "intermediate.dense.weight"])
            lay.linear1.bias.data.copy_(T[p + "intermediate.dense.bias"])
            lay.linear2.weight.data.copy_(T[p + "output.dense.weight"])
            lay.linear2.bias.data.copy_(T[p + "output.dense.bias"])
            lay.norm2.weight.data.copy_(T[p + "output.LayerNorm.weight"])
            lay.norm2.bias.data.copy_(T[p + "output.LayerNorm.bias"])

    def forward(self, ids, pad):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.norm(self.word(ids) + self.pos(positions) + self.typ(torch.zeros_like(ids)))
        x = self.encoder(x, src_key_padding_mask=pad)
        # The nested-tensor fast path returns zeros at padded positions; mean over real tokens.
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        return (x * keep).sum(1) / keep.sum(1)


net = Bert().eval()
data = json.load(open(os.path.join(args.work, "ids.json")))
ids = data["ids"]
batch = data["batch"]
batches = [ids[i:i + batch] for i in range(0, len(ids), batch)]


def tensors(seqs):
    t = max(len(s) for s in seqs)
    x = torch.zeros((len(seqs), t), dtype=torch.long)
    pad = torch.ones((len(seqs), t), dtype=torch.bool)
    for b, s in enumerate(seqs):
        x[b, :len(s)] = torch.tensor(s)
        pad[b, :len(s)] = False
    return x, pad


inputs = [tensors(b) for b in batches]
with torch.inference_mode():
    # Fast path check: the fused encoder-layer kernel must show up in the profile.
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        net(*inputs[0])
    names = {e.key for e in prof.key_averages()}
    fused = "aten::_transformer_encoder_layer_fwd" in names
    if not fused:
        print(f"torch did not take the fused fast path; ops seen: {sorted(names)}", file=sys.stderr)
        sys.exit(1)

    means = torch.cat([net(*x) for x in inputs]).numpy().astype(np.float64)
    ours = np.fromfile(os.path.join(args.work, "ours-f32.mean.f32"), dtype=np.float32).reshape(means.shape).astype(np.float64)
    cos = (means * ours).sum(1) / (np.linalg.norm(means, axis=1) * np.linalg.norm(ours, axis=1))
    if not np.all(cos >= 0.9999):
        print(f"PyTorch and NativeAlign f32 disagree: min cosine {cos.min():.6f} at input {int(cos.argmin())}", file=sys.stderr)
        sys.exit(1)

    for x in inputs:  # warm-up
        net(*x)
    per_batch = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for x in inputs:
            net(*x)
        per_batch.append((time.perf_counter() - t0) / len(inputs))

json.dump({"peer": f"torch {torch.__version__} TransformerEncoderLayer fast path", "threads": args.threads,
           "fast_path": fused, "min_cosine_vs_ours": float(cos.min()), "batch": batch, "batches": len(inputs),
           "seconds_per_batch": statistics.median(per_batch), "rounds": per_batch}, sys.stdout)
print()
