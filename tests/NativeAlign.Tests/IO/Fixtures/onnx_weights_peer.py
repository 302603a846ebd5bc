#!/usr/bin/python3
"""Independent reader of the default model's ONNX weights, for NativeAlign's OnnxWeights test.

Uses the `onnx` package (Debian python3-onnx) to load the model with its external data, maps initializers onto the
canonical Hugging Face BERT names by *their names* (the naming of the exporter that produced all-MiniLM-L6-v2's
model_q4.onnx) -- deliberately a different route from NativeAlign, which follows the graph -- and dequantises every
MatMulNBits weight in numpy from the com.microsoft MatMulNBits specification:
  B uint8 [N, n_blocks, block_size/2], element k of row n is nibble (k % block_size) of block k // block_size,
  low nibble first; value = (nibble - zero_point) * scale[n, block], zero_point = 8 when absent,
  and the weight as a PyTorch Linear is W[n, k] (so W = dequant(B), already [out, in]).
fp32 MatMul weights ([in, out]) would be transposed; none exist in this model.

Prints JSON: {canonical: {"shape": [...], "quantized": bool, "sum": float64, "sumsq": float64,
                          "samples": [[flat_index, value], ...]}}
Usage: /usr/bin/python3 onnx_weights_peer.py path/to/model_q4.onnx
"""
import json
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def dequantize(packed, scales, k, n, block_size, zero_points=None):
    blocks = (k + block_size - 1) // block_size
    packed = packed.reshape(n, blocks, block_size // 2)
    low = packed & 0x0F
    high = packed >> 4
    nibbles = np.empty((n, blocks, block_size), dtype=np.int32)
    nibbles[:, :, 0::2] = low
    nibbles[:, :, 1::2] = high
    if zero_points is None:
        zeros = np.full((n, blocks), 8, dtype=np.int32)
    else:
        zp = zero_points.reshape(n, (blocks + 1) // 2)
        zeros = np.empty((n, blocks), dtype=np.int32)
        zeros[:, 0::2] = (zp & 0x0F)[:, : (blocks + 1) // 2]
        zeros[:, 1::2] = (zp >> 4)[:, : blocks // 2]
    scales = scales.reshape(n, blocks).astype(np.float32)
    values = (nibbles - zeros[:, :, None]).astype(np.float32) * scales[:, :, None]
    return values.reshape(n, blocks * block_size)[:, :k]


PROJ = {"attn.q_proj": "attention.self.query", "attn.k_proj": "attention.self.key", "attn.v_proj": "attention.self.value",
        "attn.o_proj": "attention.output.dense", "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
NORM = {"attention_output_norm_layernorm": "attention.output.LayerNorm", "mlp_output_norm_layernorm": "output.LayerNorm"}


def canonical(name):
    m = re.fullmatch(r"\.model\.embeddings\.(word|position|token_type)_embeddings\.weight", name)
    if m:
        return f"embeddings.{m.group(1)}_embeddings.weight"
    m = re.fullmatch(r"model\.layers\.-1\.embeddings_norm_layernorm\.(weight|bias)", name)
    if m:
        return f"embeddings.LayerNorm.{m.group(1)}"
    m = re.fullmatch(r"model\.layers\.(\d+)\.(\w+)\.(weight|bias)", name)
    if m and m.group(2) in NORM:
        return f"encoder.layer.{m.group(1)}.{NORM[m.group(2)]}.{m.group(3)}"
    m = re.fullmatch(r"model\.layers\.(\d+)\.(attn\.\w+|mlp\.\w+)\.(Add\.bias|MatMul\.weight_Q4)", name)
    if m and m.group(2) in PROJ:
        return f"encoder.layer.{m.group(1)}.{PROJ[m.group(2)]}." + ("bias" if m.group(3) == "Add.bias" else "weight")
    return None


def describe(values, quantized):
    flat = values.astype(np.float32).ravel()
    idx = sorted(set([0, 1, 2, flat.size - 1] + [(i * 7919) % flat.size for i in range(64)]))
    return {"shape": list(values.shape), "quantized": quantized,
            "sum": float(flat.astype(np.float64).sum()), "sumsq": float((flat.astype(np.float64) ** 2).sum()),
            "samples": [[int(i), float(flat[i])] for i in idx]}


def main():
    model = onnx.load(sys.argv[1], load_external_data=True)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    nbits = {n.input[1]: n for n in model.graph.node if n.op_type == "MatMulNBits"}
    out = {}
    for name, array in inits.items():
        if name.endswith("weight_scales"):
            continue
        target = canonical(name)
        if target is None:
            raise SystemExit(f"unexpected initializer {name}")
        if name in nbits:
            node = nbits[name]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert attrs["bits"] == 4
            zp = inits[node.input[3]] if len(node.input) > 3 and node.input[3] else None
            values = dequantize(array, inits[node.input[2]], attrs["K"], attrs["N"], attrs["block_size"], zp)
            out[target] = describe(values, True)
        else:
            out[target] = describe(array, False)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
