#!/usr/bin/python3
"""Writes tiny random-weight BERT and XLM-R model folders (config.json, model.safetensors in f32 and bf16) and
reference hidden states computed by an independent PyTorch forward pass written here with torch.nn modules.

Run with Debian's interpreter (torch 1.13): /usr/bin/python3 make_encoder_fixtures.py
Outputs (next to this script): encoder-<name>/{config.json, model.safetensors, bf16/model.safetensors, f16/model.safetensors},
encoder-<name>/expected.json (f32 weights) and expected-{bf16,f16}.json (the narrow weights widened to f32).
encoder-st/ is a sentence-transformers folder shaped like LaBSE's (modules.json: Transformer -> Pooling(cls) ->
Dense(tanh, 2_Dense) -> Normalize) over the "bert" weights, with expected.json holding its sentence embeddings.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

MODELS = {
    # BERT: absolute positions from 0, two token types, exact GELU, pooler.
    "bert": dict(model_type="bert", vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12,
                 hidden_act="gelu", pad_token_id=0, prefix=""),
    # BERT with the tanh GELU and a checkpoint prefix ("bert.") that loaders must strip.
    "bert-tanh": dict(model_type="bert", vocab_size=40, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                      intermediate_size=40, max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-12,
                      hidden_act="gelu_new", pad_token_id=0, prefix="bert."),
    # XLM-R: positions offset past the padding index (1), one token type, eps 1e-5, "roberta." prefix.
    "xlmr": dict(model_type="xlm-roberta", vocab_size=60, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                 intermediate_size=48, max_position_embeddings=34, type_vocab_size=1, layer_norm_eps=1e-5,
                 hidden_act="gelu", pad_token_id=1, prefix="roberta."),
}


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.inter = nn.Linear(h, i)
        self.out = nn.Linear(i, h)
        self.out_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.act = c["hidden_act"]

    def forward(self, x, additive_mask):
        b, t, h = x.shape
        d = h // self.heads

        def split(y):
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + additive_mask
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(self.attn_out(ctx) + x)
        inter = self.inter(x)
        inter = F.gelu(inter) if self.act == "gelu" else F.gelu(inter, approximate="tanh")
        return self.out_norm(self.out(inter) + x)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.c = c
        self.words = nn.Embedding(c["vocab_size"], h)
        self.positions = nn.Embedding(c["max_position_embeddings"], h)
        self.types = nn.Embedding(c["type_vocab_size"], h)
        self.norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.pooler = nn.Linear(h, h)

    def forward(self, ids, types, mask):
        b, t = ids.shape
        if self.c["model_type"] == "bert":
            pos = torch.arange(t).unsqueeze(0).expand(b, t)
        else:
            pad = self.c["pad_token_id"]
            pos = torch.cumsum(mask, dim=1) * mask + pad
        x = self.norm(self.words(ids) + self.positions(pos) + self.types(types))
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        states = [x]
        for layer in self.layers:
            x = layer(x, additive)
            states.append(x)
        return states

    def named_weights(self):
        """Hugging Face names (canonical, before the checkpoint prefix) -> tensors."""
        out = {
            "embeddings.word_embeddings.weight": self.words.weight,
            "embeddings.position_embeddings.weight": self.positions.weight,
            "embeddings.token_type_embeddings.weight": self.types.weight,
            "embeddings.LayerNorm.weight": self.norm.weight,
            "embeddings.LayerNorm.bias": self.norm.bias,
            "pooler.dense.weight": self.pooler.weight,
            "pooler.dense.bias": self.pooler.bias,
        }
        for n, layer in enumerate(self.layers):
            p = f"encoder.layer.{n}."
            for hf, mod in [("attention.self.query", layer.query), ("attention.self.key", layer.key),
                            ("attention.self.value", layer.value), ("attention.output.dense", layer.attn_out),
                            ("attention.output.LayerNorm", layer.attn_norm), ("intermediate.dense", layer.inter),
                            ("output.dense", layer.out), ("output.LayerNorm", layer.out_norm)]:
                out[p + hf + ".weight"] = mod.weight
                out[p + hf + ".bias"] = mod.bias
        return out


def write_safetensors(path, tensors):
    """Minimal safetensors writer: 8-byte little-endian header length, JSON header, then the raw data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def batches_for(c, rng):
    v, pad = c["vocab_size"], c["pad_token_id"]
    limit = c["max_position_embeddings"] - (pad + 1 if c["model_type"] != "bert" else 0)
    def seq(n):
        return [int(x) for x in rng.integers(0, v, n) if True]
    lengths = [[7, 4, 1], [limit, 3], [5]]
    out = []
    for ls in lengths:
        ids = [seq(n) for n in ls]
        # Real tokens never use the pad id, so the XLM-R position numbering is the only padding signal needed.
        ids = [[t if t != pad else pad + 1 for t in s] for s in ids]
        if c["type_vocab_size"] > 1:
            types = [[0] * (n // 2) + [1] * (n - n // 2) for n in ls]
        else:
            types = [[0] * n for n in ls]
        out.append((ids, types))
    return out


def run(model, c, batches):
    results = []
    with torch.no_grad():
        for ids, types in batches:
            t = max(len(s) for s in ids)
            pid = torch.full((len(ids), t), c["pad_token_id"], dtype=torch.long)
            ptype = torch.zeros((len(ids), t), dtype=torch.long)
            mask = torch.zeros((len(ids), t), dtype=torch.long)
            for b, (s, ty) in enumerate(zip(ids, types)):
                pid[b, :len(s)] = torch.tensor(s)
                ptype[b, :len(s)] = torch.tensor(ty)
                mask[b, :len(s)] = 1
            states = model(pid, ptype, mask)
            last = states[-1]
            m = mask.unsqueeze(-1).float()
            mean = (last * m).sum(1) / m.sum(1)
            cls = last[:, 0]
            pooled = torch.tanh(model.pooler(cls))
            results.append({
                "ids": ids,
                "types": types,
                # hidden[layer][sequence][token][feature], real tokens only
                "hidden": [[st[b, :len(s)].tolist() for b, s in enumerate(ids)] for st in states],
                "mean": mean.tolist(),
                "cls": cls.tolist(),
                "pooler": pooled.tolist(),
            })
    return results


def main():
    torch.manual_seed(1234)
    rng = np.random.default_rng(99)
    for name, c in MODELS.items():
        folder = os.path.join(HERE, f"encoder-{name}")
        os.makedirs(folder, exist_ok=True)
        model = Encoder(c)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname and pname.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                else:
                    p.copy_(0.3 * torch.randn_like(p))
        config = {k: v for k, v in c.items() if k != "prefix"}
        config["architectures"] = ["BertModel" if c["model_type"] == "bert" else "XLMRobertaModel"]
        config["position_embedding_type"] = "absolute"
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        batches = batches_for(c, rng)
        weights = model.named_weights()
        write_safetensors(os.path.join(folder, "model.safetensors"),
                          {c["prefix"] + k: ("F32", v.shape, v.detach().numpy().astype("<f4").tobytes()) for k, v in weights.items()})
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump({"model": name, "batches": run(model, c, batches)}, f)
        # bf16 and f16: store round-to-nearest weights, and compute each reference from exactly those values.
        for precision, torch_type, st_type, raw_type in [("bf16", torch.bfloat16, "BF16", torch.int16),
                                                          ("f16", torch.float16, "F16", torch.int16)]:
            narrow = {k: v.detach().to(torch_type) for k, v in model.named_weights().items()}
            write_safetensors(os.path.join(folder, precision, "model.safetensors"),
                              {c["prefix"] + k: (st_type, v.shape, v.view(raw_type).numpy().astype("<i2").tobytes()) for k, v in narrow.items()})
            with open(os.path.join(folder, precision, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
            widened = Encoder(c)
            widened.load_state_dict(model.state_dict())
            with torch.no_grad():
                target = widened.named_weights()
                for k, v in target.items():
                    v.copy_(narrow[k].to(torch.float32))
            with open(os.path.join(folder, f"expected-{precision}.json"), "w") as f:
                json.dump({"model": name, "batches": run(widened, c, batches)}, f)
        print(f"wrote {folder}")
        if name == "bert":
            write_sentence_transformers(c, model, batches)


def write_sentence_transformers(c, model, batches):
    """LaBSE's pipeline: CLS pooling, a Dense layer with tanh (reduced width 32 -> 20), L2 normalisation."""
    folder = os.path.join(HERE, "encoder-st")
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(folder, "2_Dense"), exist_ok=True)
    h = c["hidden_size"]
    config = {k: v for k, v in c.items() if k != "prefix"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    weights = model.named_weights()
    write_safetensors(os.path.join(folder, "model.safetensors"),
                      {k: ("F32", v.shape, v.detach().numpy().astype("<f4").tobytes()) for k, v in weights.items()})
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
        ], f, indent=2)
    with open(os.path.join(folder, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 24, "do_lower_case": False}, f)
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": h, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    dense = nn.Linear(h, 20)
    with torch.no_grad():
        dense.weight.copy_(0.3 * torch.randn_like(dense.weight))
        dense.bias.copy_(0.3 * torch.randn_like(dense.bias))
    with open(os.path.join(folder, "2_Dense", "config.json"), "w") as f:
        json.dump({"in_features": h, "out_features": 20, "bias": True,
                   "activation_function": "torch.nn.modules.activation.Tanh"}, f, indent=2)
    write_safetensors(os.path.join(folder, "2_Dense", "model.safetensors"), {
        "linear.weight": ("F32", dense.weight.shape, dense.weight.detach().numpy().astype("<f4").tobytes()),
        "linear.bias": ("F32", dense.bias.shape, dense.bias.detach().numpy().astype("<f4").tobytes()),
    })
    out = []
    with torch.no_grad():
        for ids, types in batches:
            # sentence_bert_config caps inputs at 24 tokens: keep the first 23 and the final separator.
            ids = [s if len(s) <= 24 else s[:23] + s[-1:] for s in ids]
            types = [t if len(t) <= 24 else t[:23] + t[-1:] for t in types]
            t = max(len(s) for s in ids)
            pid = torch.zeros((len(ids), t), dtype=torch.long)
            ptype = torch.zeros((len(ids), t), dtype=torch.long)
            mask = torch.zeros((len(ids), t), dtype=torch.long)
            for b, (s, ty) in enumerate(zip(ids, types)):
                pid[b, :len(s)] = torch.tensor(s)
                ptype[b, :len(s)] = torch.tensor(ty)
                mask[b, :len(s)] = 1
            cls = model(pid, ptype, mask)[-1][:, 0]
            emb = F.normalize(torch.tanh(dense(cls)), dim=-1)
            out.append({"ids": ids, "types": types, "embedding": emb.tolist()})
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump({"model": "st", "batches": out}, f)
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
