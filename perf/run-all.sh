#!/usr/bin/env bash
# End to end, ours and the peers side by side on this machine, 2 threads each, then ONE table of ratios:
#   * default-model embedding, batches of 32 Tatoeba English sentences (throughput) and single sentences (latency
#     median, P90): NativeAlign (BenchmarkDotNet EncoderThroughputBenchmarks / EncoderLatencyBenchmarks, text in)
#     against ONNX Runtime (perf/peers/ort_bench.mjs, ids in) on model_q4.onnx as shipped (accuracy_level 4) and
#     rewritten to accuracy_level 0 (perf/peers/onnx_accuracy_level.py);
#   * the f32 encoder (the same weights dequantised): ours (Batch32F32) against PyTorch 1.13's fused
#     TransformerEncoderLayer fast path (perf/peers/torch_encoder.py, which first checks it matches our outputs,
#     cosine >= 0.9999 per sentence, and that the fast path ran);
#   * cosine top-k, 20 000 x 100 000, d 384, k 4: ours (CosineTopKFullBenchmarks, peak working set) against FAISS
#     IndexFlatIP (peak RSS); batched Sinkhorn 30x30, eps 0.1, 100 iterations: ours (SinkhornBatchBenchmarks)
#     against POT ot.sinkhorn per problem (perf/peers/alignment_peers.py).
# Each round runs ours then the peers back to back (the machine is shared: load hits both alike); the table reports
# per-round ratios and their median. Needs scripts/setup.sh (model, node peers) and the Debian python peers.
# Usage: perf/run-all.sh [rounds=3]   (repository root or anywhere; ~10 min per round on a loaded 2-core machine)
#        SKIP_TOPK=1 perf/run-all.sh  skips the 20k x 100k top-k pair (the longest part);
#        TOPK_ROUNDS=1 perf/run-all.sh 3  runs it in the first round only (its medians are then within that round).
#        SKIP_GEMM=1 perf/run-all.sh  leaves out the GEMM f32 pairs against OpenBLAS (perf/run-gemm.sh), which otherwise run last.
# Output: perf/out/all-<UTC time>/ (logs, JSON per round, table.md).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
repo=$(pwd)
out=perf/out/all-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
model=models/all-MiniLM-L6-v2/onnx/model_q4.onnx
[ -f "$model" ] || { echo "run-all: $model is missing; run scripts/setup.sh" >&2; exit 1; }
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')" | tee "$out/machine.txt"

# Build once and run from a copy, so that rebuilding the tree during a long run cannot change what is measured.
dotnet build perf/NativeAlign.Benchmarks/NativeAlign.Benchmarks.csproj -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
cp -r perf/NativeAlign.Benchmarks/bin/Release/net10.0 "$out/bench"
bench() { NATIVEALIGN_REPO=$repo dotnet "$out/bench/NativeAlign.Benchmarks.dll" "$@"; }

bench dump-e2e "$out/inputs" | tee "$out/inputs.txt"
level0=$(/usr/bin/python3 perf/peers/onnx_accuracy_level.py "$model" .build/peers/minilm-accuracy-level-0 0)

for r in $(seq 1 "$rounds"); do
  d="$out/round-$r"
  mkdir -p "$d"
  echo "round $r/$rounds: encoder (ours)" >&2
  bench --filter '*EncoderThroughputBenchmarks*' '*EncoderLatencyBenchmarks*' --artifacts "$d/ours-encoder" >"$d/ours-encoder.log" 2>&1
  echo "round $r/$rounds: encoder (ONNX Runtime level 4, level 0; PyTorch)" >&2
  node perf/peers/ort_bench.mjs "$model" "$out/inputs/ids.json" --threads 2 --rounds 5 >"$d/ort-level4.json"
  node perf/peers/ort_bench.mjs "$level0" "$out/inputs/ids.json" --threads 2 --rounds 5 >"$d/ort-level0.json"
  /usr/bin/python3 -W ignore perf/peers/torch_encoder.py "$model" "$out/inputs" --threads 2 --rounds 3 >"$d/torch.json"
  echo "round $r/$rounds: Sinkhorn (ours, POT)" >&2
  bench --filter '*SinkhornBatchBenchmarks*' --job short --inProcess --exporters json --artifacts "$d/ours-sinkhorn" >"$d/ours-sinkhorn.log" 2>&1
  /usr/bin/python3 perf/peers/alignment_peers.py --queries 100 --corpus 1000 --runs 5 --threads 2 >"$d/pot.json"
  if [ "${SKIP_TOPK:-0}" != 1 ] && [ "$r" -le "${TOPK_ROUNDS:-$rounds}" ]; then
    echo "round $r/$rounds: top-k 20k x 100k (ours, FAISS)" >&2
    bench --filter '*CosineTopKFullBenchmarks*' --artifacts "$d/ours-topk" >"$d/ours-topk.log" 2>&1
    /usr/bin/python3 perf/peers/alignment_peers.py --queries 20000 --corpus 100000 --problems 1 --runs 1 --faiss-runs 2 --threads 2 >"$d/faiss.json"
  fi
done
/usr/bin/python3 perf/e2e_table.py "$out" | tee "$out/table.md"

# The GEMM pairs too, so that this one command produces every peer table of perf/RESULTS.md (SKIP_GEMM=1 leaves them out).
if [ "${SKIP_GEMM:-0}" != 1 ]; then
  echo "GEMM f32 against numpy/OpenBLAS (perf/run-gemm.sh $rounds)" >&2
  perf/run-gemm.sh "$rounds" | tee "$out/gemm-table.md"
fi
