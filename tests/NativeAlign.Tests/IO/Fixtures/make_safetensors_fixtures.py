#!/usr/bin/python3
"""Writes small safetensors fixtures with an implementation independent of NativeAlign (numpy + json only),
following the published format: 8-byte little-endian header length, JSON header, raw little-endian data.

Outputs (next to this script):
  small.safetensors            f32 / f16 / bf16 tensors under a 'bert.' prefix, an I64 buffer, __metadata__
  small.expected.json          for each tensor: dtype, shape and the exact stored values (as float64)
  sharded/                     the same kind of model split in two shards + model.safetensors.index.json
  sharded.expected.json
  st_folder/                   a sentence-transformers folder shaped like LaBSE's (tiny BERT, random weights):
                               modules.json = Transformer, Pooling (CLS), Dense (8->4, tanh), Normalize
  st_folder.expected.json      the pipeline and configuration the writer meant, and the Dense weights

Run: /usr/bin/python3 tests/NativeAlign.Tests/IO/Fixtures/make_safetensors_fixtures.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}


def to_bf16_bits(values_f32):
    """Round float32 to bfloat16 (nearest, ties to even) and return the 16-bit patterns."""
    bits = values_f32.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def encode(dtype, values):
    """Returns (raw bytes, exact stored values as float64 list)."""
    if dtype == "F32":
        a = values.astype("<f4")
        return a.tobytes(), a.astype(np.float64).ravel().tolist()
    if dtype == "F16":
        a = values.astype("<f2")
        return a.tobytes(), a.astype(np.float64).ravel().tolist()
    if dtype == "BF16":
        b = to_bf16_bits(values).astype("<u2")
        widened = (b.astype(np.uint32) << 16).view(np.float32)
        return b.tobytes(), widened.astype(np.float64).ravel().tolist()
    if dtype == "I64":
        a = values.astype("<i8")
        return a.tobytes(), a.astype(np.float64).ravel().tolist()
    raise ValueError(dtype)


def write(path, tensors, metadata=None):
    """tensors: list of (name, dtype, ndarray). Larger elements first so every offset stays aligned."""
    ordered = sorted(tensors, key=lambda t: (-SIZES[t[1]], t[0]))
    header, blobs, expected, offset = {}, [], {}, 0
    for name, dtype, values in ordered:
        raw, stored = encode(dtype, values)
        header[name] = {"dtype": dtype, "shape": list(values.shape), "data_offsets": [offset, offset + len(raw)]}
        expected[name] = {"dtype": dtype, "shape": list(values.shape), "values": stored}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # pad so the data start is 8-aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    return expected


def main():
    rng = np.random.default_rng(20261122)
    small = [
        ("bert.embeddings.word_embeddings.weight", "F32", rng.standard_normal((7, 4)).astype(np.float32)),
        ("bert.embeddings.LayerNorm.gamma", "F16", rng.standard_normal(4).astype(np.float32)),
        ("bert.embeddings.LayerNorm.beta", "BF16", rng.standard_normal(4).astype(np.float32)),
        ("bert.encoder.layer.0.attention.self.query.weight", "BF16", rng.standard_normal((4, 4)).astype(np.float32) * 3),
        ("bert.encoder.layer.0.attention.self.query.bias", "F16", rng.standard_normal(4).astype(np.float32)),
        ("bert.pooler.dense.bias", "F32", np.array([1.5, -0.0, 3.25e-5, -7.0], dtype=np.float32)),
        ("bert.embeddings.position_ids", "I64", np.arange(8, dtype=np.int64).reshape(1, 8)),
        ("bert.encoder.layer.0.output.dense.weight", "BF16", rng.standard_normal((3, 5)).astype(np.float32)),
    ]
    expected = write(os.path.join(HERE, "small.safetensors"), small, {"format": "pt", "note": "written by make_safetensors_fixtures.py"})
    with open(os.path.join(HERE, "small.expected.json"), "w") as f:
        json.dump(expected, f, indent=0)

    os.makedirs(os.path.join(HERE, "sharded"), exist_ok=True)
    shard1 = [
        ("roberta.embeddings.word_embeddings.weight", "F32", rng.standard_normal((5, 3)).astype(np.float32)),
        ("roberta.embeddings.position_embeddings.weight", "F16", rng.standard_normal((6, 3)).astype(np.float32)),
    ]
    shard2 = [
        ("roberta.encoder.layer.0.intermediate.dense.weight", "BF16", rng.standard_normal((2, 3)).astype(np.float32)),
        ("roberta.encoder.layer.0.intermediate.dense.bias", "F32", rng.standard_normal(2).astype(np.float32)),
    ]
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    exp = {}
    exp.update(write(os.path.join(HERE, "sharded", names[0]), shard1))
    exp.update(write(os.path.join(HERE, "sharded", names[1]), shard2))
    index = {"metadata": {"total_size": 0}, "weight_map": {}}
    for name, _, _ in shard1:
        index["weight_map"][name] = names[0]
    for name, _, _ in shard2:
        index["weight_map"][name] = names[1]
    with open(os.path.join(HERE, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    with open(os.path.join(HERE, "sharded.expected.json"), "w") as f:
        json.dump(exp, f, indent=0)

    make_st_folder(rng)


def make_st_folder(rng):
    root = os.path.join(HERE, "st_folder")
    os.makedirs(os.path.join(root, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(root, "2_Dense"), exist_ok=True)
    # No 3_Normalize folder: Normalize stores nothing, and git cannot hold an empty folder.
    h, layers, heads, inter, vocab, pos, types = 8, 1, 2, 16, 12, 10, 2
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": h, "num_hidden_layers": layers,
              "num_attention_heads": heads, "intermediate_size": inter, "max_position_embeddings": pos, "type_vocab_size": types,
              "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0}
    with open(os.path.join(root, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shapes = {"embeddings.word_embeddings.weight": (vocab, h), "embeddings.position_embeddings.weight": (pos, h),
              "embeddings.token_type_embeddings.weight": (types, h), "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
              "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            shapes[p + name + ".weight"] = (h, h)
            shapes[p + name + ".bias"] = (h,)
        for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
            shapes[p + name + ".weight"] = (h,)
            shapes[p + name + ".bias"] = (h,)
        shapes[p + "intermediate.dense.weight"] = (inter, h)
        shapes[p + "intermediate.dense.bias"] = (inter,)
        shapes[p + "output.dense.weight"] = (h, inter)
        shapes[p + "output.dense.bias"] = (h,)
    write(os.path.join(root, "model.safetensors"), [(n, "F32", rng.standard_normal(s).astype(np.float32)) for n, s in sorted(shapes.items())])
    with open(os.path.join(root, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e", "f", "g"]) + "\n")
    with open(os.path.join(root, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 8, "do_lower_case": False}, f)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}]
    with open(os.path.join(root, "modules.json"), "w") as f:
        json.dump(modules, f, indent=2)
    with open(os.path.join(root, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": h, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    with open(os.path.join(root, "2_Dense", "config.json"), "w") as f:
        json.dump({"in_features": h, "out_features": 4, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"}, f)
    dense = write(os.path.join(root, "2_Dense", "model.safetensors"),
                  [("linear.weight", "F32", rng.standard_normal((4, h)).astype(np.float32)), ("linear.bias", "F32", rng.standard_normal(4).astype(np.float32))])
    expected = {"pipeline": "Transformer(max 8) → Pooling(Cls) → Dense(8→4, Tanh) → Normalize", "config": config,
                "dense_weight": dense["linear.weight"]["values"], "dense_bias": dense["linear.bias"]["values"], "tensors": sorted(shapes)}
    with open(os.path.join(HERE, "st_folder.expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=0, ensure_ascii=False)


if __name__ == "__main__":
    main()
