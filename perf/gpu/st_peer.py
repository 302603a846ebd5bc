#!/usr/bin/python3
"""GPU peer for `bench`: sentence-transformers (PyTorch) on the same weights as a safetensors folder, on cuda:0.
Embeds the check's lines at batch 1, 32 and 256 (float32, torch.inference_mode), reports sentences/s and batch-1
p50/p90 latency, and the min cosine of its embeddings against ours (the cpu backend's jsonl), in float64.
Usage: st_peer.py <model folder> <lines.txt> <ours.jsonl> <out.json>. Untested where torch is absent (the dev box)."""
import json
import math
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, lines_path, ours_path, out = sys.argv[1:5]
lines = [l.rstrip("\n") for l in open(lines_path, encoding="utf-8") if l.strip()]
ours = [json.loads(l)["embedding"] for l in open(ours_path, encoding="utf-8") if l.strip()]
device = "cuda:0" if torch.cuda.is_available() else "cpu"
model = SentenceTransformer(model_dir, device=device)
model.eval()


def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()


result = {"peer": f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}",
          "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu", "workloads": []}
with torch.inference_mode():
    model.encode(lines[:8], batch_size=8)  # warm-up: CUDA context, kernels
    latencies = []
    for s in lines[:64]:
        sync()
        t = time.perf_counter()
        model.encode([s], batch_size=1)
        sync()
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    pick = lambda p: latencies[max(0, math.ceil(p * len(latencies)) - 1)]
    result["workloads"].append({"workload": "embed", "batch": 1, "items": len(latencies),
                                "sentences_per_s": len(latencies) / (sum(latencies) / 1000), "p50_ms": pick(0.5), "p90_ms": pick(0.9)})
    for batch in (32, 256):
        chunk = (lines * (batch // max(1, len(lines)) + 1))[:batch]
        sync()
        t = time.perf_counter()
        model.encode(chunk, batch_size=batch)
        sync()
        seconds = time.perf_counter() - t
        result["workloads"].append({"workload": "embed", "batch": batch, "items": batch, "seconds": seconds, "sentences_per_s": batch / seconds})
    theirs = model.encode(lines, batch_size=256, convert_to_numpy=True).astype("float64")
worst = min(sum(x * y for x, y in zip(u, v)) / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))
            for u, v in zip(ours, theirs.tolist()))
result["min_cosine_vs_ours"] = worst
with open(out, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
print(json.dumps(result))
