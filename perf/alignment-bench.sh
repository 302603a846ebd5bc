#!/usr/bin/env bash
# One command for the alignment benchmarks: ours (BenchmarkDotNet) and the peers (POT, FAISS) in the same run,
# then a table of ratios. Usage: perf/alignment-bench.sh   (from the repository root; takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
out=perf/NativeAlign.Benchmarks/BenchmarkDotNet.Artifacts/results
rm -f "$out"/*AlignmentBenchmarks*.json "$out"/*SinkhornBatch*.json "$out"/*CosineTopK*.json
dotnet run -c Release --project perf/NativeAlign.Benchmarks -- \
  --filter '*SinkhornBatchBenchmarks*' '*CosineTopKBenchmarks*' --job short --exporters json \
  --artifacts perf/NativeAlign.Benchmarks/BenchmarkDotNet.Artifacts >/dev/null
/usr/bin/python3 perf/peers/alignment_peers.py --queries 500 --corpus 5000 --runs 5 --threads 2 > "$out/alignment-peers.json"
/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
peers = json.load(open(f"{out}/alignment-peers.json"))
ours = {}
for f in glob.glob(f"{out}/*-report-full-compressed.json"):
    for b in json.load(open(f))["Benchmarks"]:
        key = b["Method"] + ("/" + b["Parameters"] if b.get("Parameters") else "")
        ours[key] = b["Statistics"]["Median"] / 1e9  # seconds (per operation)
pot = peers["pot_sinkhorn_seconds_per_problem"]
faiss = peers["faiss_search_seconds"]
print(f"POT {peers['pot']} sinkhorn per problem: {pot*1e6:.1f} us; FAISS {peers['faiss']} IndexFlatIP {peers['queries']}x{peers['corpus']}: {faiss*1e3:.1f} ms")
print(f"{'benchmark':45s} {'ours':>12s} {'peer':>12s} {'peer/ours':>10s}")
for k, v in sorted(ours.items()):
    if k.startswith("Batch"):
        print(f"{'Sinkhorn 30x30 ' + k:45s} {v*1e6:10.2f}us {pot*1e6:10.1f}us {pot/v:10.1f}" if k.endswith("=100") else f"{'Sinkhorn 30x30 ' + k:45s} {v*1e6:10.2f}us {'':>12s} {'':>10s}")
    elif k == "EndToEnd":
        print(f"{'cosine top-4 ' + k:45s} {v*1e3:10.1f}ms {faiss*1e3:10.1f}ms {faiss/v:10.3f}")
    else:
        print(f"{'cosine top-4 ' + k:45s} {v*1e3:10.1f}ms {'':>12s} {'':>10s}")
PY
