#!/usr/bin/python3
"""Ratio table for perf/run-all.sh: reads <out>/round-*/ (BenchmarkDotNet full JSON reports and peer JSON) and prints
Markdown: per target, ours and the peer per round (medians within a round), the per-round ratio, and the median over
rounds of each. Ratios are oriented so that > 1 means we are faster (latency: ours / peer, < 1 means faster).
Usage: e2e_table.py <out-dir>
"""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1]
rounds = sorted(glob.glob(os.path.join(out, "round-*")), key=lambda p: int(p.rsplit("-", 1)[1]))


def bdn(dir_):
    """Method -> (median seconds, P90 seconds) over every BenchmarkDotNet report under dir_."""
    result = {}
    for f in glob.glob(os.path.join(dir_, "**", "*-report-full-compressed.json"), recursive=True):
        for b in json.load(open(f))["Benchmarks"]:
            key = b["Method"] + ("/" + b["Parameters"] if b.get("Parameters") else "")
            s = b.get("Statistics")
            if s:
                result[key] = (s["Median"] / 1e9, s.get("Percentiles", {}).get("P90", float("nan")) / 1e9)
    return result


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def peak(log):
    try:
        m = re.findall(r"// peak-working-set-bytes (\d+)", open(log).read())
        return int(m[-1]) if m else None
    except OSError:
        return None


rows = {}  # name -> list of (ours, peer, ratio) per round


def add(name, ours, peer, ratio):
    if ours is not None and peer is not None:
        rows.setdefault(name, []).append((ours, peer, ratio))


for d in rounds:
    enc = bdn(os.path.join(d, "ours-encoder"))
    o4, o0, pt = load(os.path.join(d, "ort-level4.json")), load(os.path.join(d, "ort-level0.json")), load(os.path.join(d, "torch.json"))
    if "Batch32Q4" in enc and o4 and o0:
        best = max(o4["batch"] / o4["seconds_per_batch"], o0["batch"] / o0["seconds_per_batch"])
        for key, label in (("Batch32Q4", "f32 activations"), ("Batch32Q4Int8", "int8 activations")):
            if key not in enc:
                continue
            ours = 32 / enc[key][0]
            for tag, o in (("level 4", o4), ("level 0", o0)):
                peer = o["batch"] / o["seconds_per_batch"]
                add(f"throughput, sentences/s, batch 32, ours {label} vs ORT {tag}", ours, peer, ours / peer)
            add(f"throughput, sentences/s, batch 32, ours {label} vs faster ORT (target >= 1.2)", ours, best, ours / best)
    if "Single1Q4" in enc and o4 and o0:
        best = min(o4["latency_median"], o0["latency_median"])
        bestp = min(o4["latency_p90"], o0["latency_p90"])
        for key, label in (("Single1Q4", "f32 activations"), ("Single1Q4Int8", "int8 activations")):
            if key not in enc:
                continue
            med, p90 = enc[key]
            for tag, o in (("level 4", o4), ("level 0", o0)):
                add(f"latency median, ms, ours {label} vs ORT {tag}", med * 1e3, o["latency_median"] * 1e3, med / o["latency_median"])
            add(f"latency median, ms, ours {label} vs faster ORT (target <= 0.8)", med * 1e3, best * 1e3, med / best)
            add(f"latency P90, ms, ours {label} vs faster ORT", p90 * 1e3, bestp * 1e3, p90 / bestp)
    if "Batch32F32" in enc and pt:
        ours = 32 / enc["Batch32F32"][0]
        peer = pt["batch"] / pt["seconds_per_batch"]
        add("f32 encoder, sentences/s, batch 32, vs PyTorch (target >= 2)", ours, peer, ours / peer)
    sk = bdn(os.path.join(d, "ours-sinkhorn"))
    pot = load(os.path.join(d, "pot.json"))
    if pot:
        for method, label in (("BatchAllCores", "2 threads"), ("BatchOneThread", "1 thread")):
            key = f"{method}/Iterations=100"
            if key in sk:
                p = pot["pot_sinkhorn_seconds_per_problem"]
                add(f"Sinkhorn 30x30, us/problem, ours {label} vs POT (target >= 100)", sk[key][0] * 1e6, p * 1e6, p / sk[key][0])
    tk = bdn(os.path.join(d, "ours-topk"))
    fa = load(os.path.join(d, "faiss.json"))
    if "Search20kx100k" in tk and fa:
        add("top-k 20k x 100k, s, vs FAISS IndexFlatIP (target >= 1.3)", tk["Search20kx100k"][0], fa["faiss_search_seconds"], fa["faiss_search_seconds"] / tk["Search20kx100k"][0])
        pk = peak(os.path.join(d, "ours-topk.log"))
        if pk:
            add("top-k peak memory, MB (target <= 1024)", pk / 2**20, fa["faiss_peak_rss_bytes"] / 2**20, fa["faiss_peak_rss_bytes"] / pk)

print(open(os.path.join(out, "machine.txt")).read().strip())
print()
print("| measure | " + " | ".join(f"round {i + 1}: ours / peer (ratio)" for i in range(len(rounds))) + " | median ours | median peer | **median ratio** |")
print("|---|" + "---:|" * (len(rounds) + 3))
for name, vals in rows.items():
    cells = [f"{o:.4g} / {p:.4g} ({r:.2f})" for o, p, r in vals] + [""] * (len(rounds) - len(vals))
    print(f"| {name} | " + " | ".join(cells) + f" | {statistics.median(v[0] for v in vals):.4g} | {statistics.median(v[1] for v in vals):.4g} | **{statistics.median(v[2] for v in vals):.2f}** |")
print()
print("Ratios: throughput and time rows are peer time / our time (> 1: we are faster); latency rows are our time / peer "
      "time (< 1: we are faster); memory is peer peak / our peak (> 1: we use less). Both peaks include the inputs (184 MB).")
