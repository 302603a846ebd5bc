#!/usr/bin/python3
"""Writes tiny random-weight BERT / XLM-R encoders as ONNX, exported by torch.onnx (Debian python3-torch 1.13) from a
plain PyTorch module that uses Hugging Face parameter names, plus a 4-bit variant rewritten with the onnx package.
The expected weights come from the PyTorch state_dict (and, for 4-bit, from numpy dequantisation), never from NativeAlign.

Outputs (next to this script, under onnx/):
  tiny_bert_opset17.onnx      BERT, token_type_ids input, LayerNormalization nodes, pooler, weights inline
  tiny_xlmr_opset14.onnx      XLM-R style: positions computed from input_ids (cumsum of the pad mask), token types from a
                              zeros buffer, layer norms decomposed (opset 14 has no LayerNormalization), no pooler
  tiny_bert_external.onnx     the BERT model with every initializer renamed w0, w1, ... and stored in
                              tiny_bert_external.onnx_data
  tiny_bert_q4.onnx           the BERT model with every encoder MatMul replaced by com.microsoft MatMulNBits
                              (block 16, with zero points, K not a multiple of the block) and external data
  tiny_bert_fused.onnx        the BERT model with ONNX Runtime's fused contrib ops written in by hand: the embedding sum and
                              its layer norm as EmbedLayerNormalization, query/key/value and the attention arithmetic as
                              one Attention with packed [in, 3 * hidden] weights, every residual Add + LayerNormalization
                              as SkipLayerNormalization (a graph to map, not to run)
  tiny_bert_q4f16.onnx        as tiny_bert_q4 but with float16 scales
  tiny_bert_fp16.onnx         the BERT model with every float initializer stored as float16
  *.expected.json             canonical name -> {"shape": [...], "values": [...]} (float32 values, shortest round-trip decimals)

Run: /usr/bin/python3 tests/NativeAlign.Tests/IO/Fixtures/make_onnx_fixtures.py
"""
import json
import math
import os

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")
HIDDEN, HEADS, INTER, LAYERS, VOCAB, POSITIONS = 24, 4, 40, 2, 30, 16


class SelfAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.query = torch.nn.Linear(HIDDEN, HIDDEN)
        self.key = torch.nn.Linear(HIDDEN, HIDDEN)
        self.value = torch.nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x, mask):
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, HEADS, HIDDEN // HEADS).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HIDDEN // HEADS) + mask
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, v).transpose(1, 2).reshape(b, s, HIDDEN)


class Output(torch.nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.dense = torch.nn.Linear(n_in, HIDDEN)
        self.LayerNorm = torch.nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        setattr(self, "self", SelfAttention())
        self.output = Output(HIDDEN)

    def forward(self, x, mask):
        return self.output(getattr(self, "self")(x, mask), x)


class Intermediate(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(HIDDEN, INTER)

    def forward(self, x):
        return torch.nn.functional.gelu(self.dense(x))


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = Intermediate()
        self.output = Output(INTER)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.ModuleList([Layer() for _ in range(LAYERS)])


class Embeddings(torch.nn.Module):
    def __init__(self, types):
        super().__init__()
        self.word_embeddings = torch.nn.Embedding(VOCAB, HIDDEN)
        self.position_embeddings = torch.nn.Embedding(POSITIONS, HIDDEN)
        self.token_type_embeddings = torch.nn.Embedding(types, HIDDEN)
        self.LayerNorm = torch.nn.LayerNorm(HIDDEN, eps=1e-12)


class Pooler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(HIDDEN, HIDDEN)


class TinyEncoder(torch.nn.Module):
    def __init__(self, xlmr):
        super().__init__()
        self.xlmr = xlmr
        self.embeddings = Embeddings(1 if xlmr else 2)
        self.encoder = Encoder()
        if not xlmr:
            self.pooler = Pooler()

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if self.xlmr:
            pad = 1
            keep = input_ids.ne(pad).int()
            positions = (torch.cumsum(keep, dim=1).type_as(keep) * keep).long() + pad
            token_type_ids = torch.zeros_like(input_ids)
        else:
            positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        e = self.embeddings
        x = e.word_embeddings(input_ids) + e.position_embeddings(positions) + e.token_type_embeddings(token_type_ids)
        x = e.LayerNorm(x)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.encoder.layer:
            x = layer(x, mask)
        if self.xlmr:
            return x
        return x, torch.tanh(self.pooler.dense(x[:, 0]))


def f32_values(array):
    """float32 values as the shortest decimals that read back as the same float32 (keeps the fixtures small)."""
    return [float(repr(np.float32(x))) for x in np.asarray(array, dtype=np.float32).ravel()]


def expected(model):
    return {name: {"shape": list(t.shape), "values": f32_values(t.detach().numpy())} for name, t in model.state_dict().items()}


def export(model, path, opset):
    ids = torch.tensor([[0, 5, 7, 9, 2]])
    mask = torch.ones_like(ids)
    if model.xlmr:
        torch.onnx.export(model, (ids, mask), path, opset_version=opset, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}})
    else:
        types = torch.zeros_like(ids)
        torch.onnx.export(model, (ids, mask, types), path, opset_version=opset, input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state", "pooler_output"],
                          dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}, "token_type_ids": {0: "b", 1: "s"}})


def quantize_block(w_out_in, block, fixed_scales=None):
    """Asymmetric 4-bit per block along K: returns packed uint8 [N, blocks, block/2], scales [N*blocks], zero points, dequantised.
    fixed_scales replaces the computed scales in the dequantisation (the nibbles stay as first quantised)."""
    n, k = w_out_in.shape
    blocks = (k + block - 1) // block
    padded = np.zeros((n, blocks * block), dtype=np.float32)
    padded[:, :k] = w_out_in
    b = padded.reshape(n, blocks, block)
    lo = np.minimum(b.min(axis=2), 0)
    hi = np.maximum(b.max(axis=2), 0)
    scale = ((hi - lo) / 15).astype(np.float32)
    scale[scale == 0] = 1
    zero = np.clip(np.round(-lo / scale), 0, 15).astype(np.uint8)
    q = np.clip(np.round(b / scale[:, :, None]) + zero[:, :, None], 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    zp_cols = (blocks + 1) // 2
    zp = np.zeros((n, zp_cols * 2), dtype=np.uint8)
    zp[:, :blocks] = zero
    zp_packed = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
    if fixed_scales is not None:
        scale = fixed_scales.reshape(n, blocks)
    deq = ((q.astype(np.float32) - zero[:, :, None]) * scale[:, :, None]).reshape(n, blocks * block)[:, :k]
    return packed, scale.ravel(), zp_packed.ravel(), deq


def to_q4(src, dst, exp, block=16, scale_dtype=np.float32):
    """Rewrites every MatMul with a constant [in, out] weight as MatMulNBits; updates exp with dequantised weights."""
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    # The exporter names MatMul weights 'onnx::MatMul_*'; find which canonical Linear each is by value, not by name.
    by_value = {name: np.array(v["values"], dtype=np.float32).reshape(v["shape"]) for name, v in exp.items() if name.endswith(".weight") and len(v["shape"]) == 2}
    new_nodes = []
    for node in g.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            w = numpy_helper.to_array(inits[node.input[1]])  # [in, out]
            canonical = [n for n, v in by_value.items() if v.shape == w.T.shape and np.array_equal(v, w.T)]
            assert len(canonical) == 1, canonical
            k, n = w.shape
            packed, scales, zp, deq = quantize_block(w.T.copy(), block)
            if scale_dtype != np.float32:
                # Half-precision scales (as in q4f16 exports): the stored scale is the rounded one.
                scales = scales.astype(scale_dtype)
                _, _, _, deq = quantize_block(w.T.copy(), block, scales.astype(np.float32))
            base = node.input[1].replace(":", "_") + "_q4"
            g.initializer.extend([numpy_helper.from_array(packed, base + "_B"), numpy_helper.from_array(scales, base + "_scales"),
                                  numpy_helper.from_array(zp, base + "_zp")])
            new_nodes.append(helper.make_node("MatMulNBits", [node.input[0], base + "_B", base + "_scales", base + "_zp"], list(node.output),
                                              name=node.name + "_Q4", domain="com.microsoft", K=k, N=n, bits=4, block_size=block, accuracy_level=0))
            exp[canonical[0]] = {"shape": [n, k], "values": f32_values(deq)}
            g.initializer.remove(inits[node.input[1]])
        else:
            new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save_model(model, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=os.path.basename(dst) + "_data", size_threshold=0)


def fuse_attention(model, exp):
    """Replaces each layer's query/key/value MatMul + Add and the attention arithmetic by one com.microsoft Attention
    with packed weights [in, 3 * hidden] and bias [3 * hidden], as ONNX Runtime's transformer optimiser writes it."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    by_value = {name: np.array(v["values"], dtype=np.float32).reshape(v["shape"]) for name, v in exp.items() if len(v["shape"]) == 2}
    role_of = {}
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in inits:
            w = numpy_helper.to_array(inits[n.input[1]]).T
            names = [k for k, v in by_value.items() if v.shape == w.shape and np.array_equal(v, w)]
            role_of[id(n)] = names[0]
    remove = set()
    for layer in range(LAYERS):
        prefix = f"encoder.layer.{layer}."
        proj = {r: next(n for n in g.node if role_of.get(id(n)) == prefix + f"attention.self.{r}.weight") for r in ("query", "key", "value")}
        dense = next(n for n in g.node if role_of.get(id(n)) == prefix + "attention.output.dense.weight")
        hidden = proj["query"].input[0]
        weights = np.concatenate([numpy_helper.to_array(inits[proj[r].input[1]]) for r in ("query", "key", "value")], axis=1)
        bias = np.concatenate([np.array(exp[prefix + f"attention.self.{r}.bias"]["values"], dtype=np.float32) for r in ("query", "key", "value")])
        g.initializer.extend([numpy_helper.from_array(weights, f"qkv_weight_{layer}"), numpy_helper.from_array(bias, f"qkv_bias_{layer}")])
        context = dense.input[0]
        for r in ("query", "key", "value"):
            remove.add(id(proj[r]))
            remove.update(id(c) for c in consumers[proj[r].output[0]] if c.op_type == "Add")
        remove.update(id(n) for n in g.node if context in n.output)
        attention = helper.make_node("Attention", [hidden, f"qkv_weight_{layer}", f"qkv_bias_{layer}"], [context],
                                     name=f"Attention_{layer}", domain="com.microsoft", num_heads=HEADS)
        index = [i for i, n in enumerate(g.node) if n is dense][0]
        g.node.insert(index, attention)
    kept = [n for n in g.node if id(n) not in remove]
    del g.node[:]
    g.node.extend(kept)


def to_fused(src, dst, exp):
    model = onnx.load(src)
    fuse_attention(model, exp)
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    nodes = list(g.node)
    drop = set()
    out = []
    for node in nodes:
        if node.op_type != "LayerNormalization":
            continue
        add = producer[node.input[0]]
        assert add.op_type == "Add"
        if producer.get(add.input[1]) is not None and producer[add.input[1]].op_type == "Gather" and producer[add.input[0]].op_type == "Add":
            # Embeddings: (word + position) + token type, then the layer norm.
            first = producer[add.input[0]]
            word, position, types = producer[first.input[0]], producer[first.input[1]], producer[add.input[1]]
            fused = helper.make_node("EmbedLayerNormalization", ["input_ids", "token_type_ids", word.input[0], position.input[0], types.input[0],
                                                                 node.input[1], node.input[2], "attention_mask"],
                                     [node.output[0], node.name + "_mask_index"], name="EmbedLayerNorm", domain="com.microsoft", epsilon=1e-12)
            drop.update(id(n) for n in (node, add, first, word, types))
            out.append((node, fused))
        else:
            fused = helper.make_node("SkipLayerNormalization", [add.input[0], add.input[1], node.input[1], node.input[2]], [node.output[0]],
                                     name=node.name + "_skip", domain="com.microsoft", epsilon=1e-12)
            drop.update(id(n) for n in (node, add))
            out.append((node, fused))
    replacement = {id(old): new for old, new in out}
    new_nodes = [replacement.get(id(n), n) for n in nodes if id(n) not in drop or id(n) in replacement]
    del g.node[:]
    g.node.extend(new_nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save_model(model, dst)


def to_fp16(src, dst, exp):
    """Stores every float initializer as float16 (a graph to map, not to run); expected values are the rounded ones."""
    model = onnx.load(src)
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    onnx.save_model(model, dst)
    for name, v in exp.items():
        v["values"] = f32_values(np.array(v["values"], dtype=np.float32).astype(np.float16))


def main():
    os.makedirs(HERE, exist_ok=True)
    torch.manual_seed(20261122)
    bert = TinyEncoder(xlmr=False).eval()
    xlmr = TinyEncoder(xlmr=True).eval()
    with torch.no_grad():
        for m in (bert, xlmr):  # non-trivial layer norms so scale and shift cannot be confused with defaults
            for name, p in m.named_parameters():
                if "LayerNorm" in name:
                    p.copy_(torch.randn_like(p))
    export(bert, os.path.join(HERE, "tiny_bert_opset17.onnx"), 17)
    export(xlmr, os.path.join(HERE, "tiny_xlmr_opset14.onnx"), 14)
    exp_bert, exp_xlmr = expected(bert), expected(xlmr)
    with open(os.path.join(HERE, "tiny_bert.expected.json"), "w") as f:
        json.dump(exp_bert, f)
    with open(os.path.join(HERE, "tiny_xlmr.expected.json"), "w") as f:
        json.dump(exp_xlmr, f)

    m = onnx.load(os.path.join(HERE, "tiny_bert_opset17.onnx"))
    # Rename every initializer to a meaningless name: a reader that trusted names could not map this file.
    renames = {t.name: f"w{i}" for i, t in enumerate(m.graph.initializer)}
    for t in m.graph.initializer:
        t.name = renames[t.name]
    for node in m.graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
    onnx.save_model(m, os.path.join(HERE, "tiny_bert_external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="tiny_bert_external.onnx_data", size_threshold=0)
    to_fused(os.path.join(HERE, "tiny_bert_opset17.onnx"), os.path.join(HERE, "tiny_bert_fused.onnx"), exp_bert)
    exp_q4 = dict(exp_bert)
    to_q4(os.path.join(HERE, "tiny_bert_opset17.onnx"), os.path.join(HERE, "tiny_bert_q4.onnx"), exp_q4)
    with open(os.path.join(HERE, "tiny_bert_q4.expected.json"), "w") as f:
        json.dump(exp_q4, f)
    exp_q4f16 = dict(exp_bert)
    to_q4(os.path.join(HERE, "tiny_bert_opset17.onnx"), os.path.join(HERE, "tiny_bert_q4f16.onnx"), exp_q4f16, scale_dtype=np.float16)
    with open(os.path.join(HERE, "tiny_bert_q4f16.expected.json"), "w") as f:
        json.dump(exp_q4f16, f)
    exp_fp16 = json.loads(json.dumps(exp_bert))
    to_fp16(os.path.join(HERE, "tiny_bert_opset17.onnx"), os.path.join(HERE, "tiny_bert_fp16.onnx"), exp_fp16)
    with open(os.path.join(HERE, "tiny_bert_fp16.expected.json"), "w") as f:
        json.dump(exp_fp16, f)


if __name__ == "__main__":
    main()
