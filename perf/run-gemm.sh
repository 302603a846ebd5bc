#!/usr/bin/env bash
# GEMM f32 side by side: ours (BenchmarkDotNet, GemmF32PeerShapes) and numpy/OpenBLAS sgemm, 2 threads each, on the
# issue's 18 shapes with B transposed (Linear layout). For each round and shape, ours runs and then the peer, seconds
# apart, so that load from other processes on this shared machine hits both alike; the table reports medians over
# rounds and the median of the per-round ratios.
# Usage: perf/run-gemm.sh [rounds] [shape ...]   (default 3 rounds, all shapes; output under perf/out/gemm-<time>/)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
shapes=("$@")
if [ ${#shapes[@]} -eq 0 ]; then
  for m in 128 512 2048; do for nk in 384x384 1536x384 384x1536 768x768 3072x768 768x3072; do shapes+=("${m}x${nk}"); done; done
fi
out=perf/out/gemm-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs, $(lscpu | sed -n 's/^L2 cache:[[:space:]]*//p') L2" | tee "$out/machine.txt"
dotnet build perf/NativeAlign.Benchmarks/NativeAlign.Benchmarks.csproj -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
bench=perf/NativeAlign.Benchmarks/bin/Release/net10.0/NativeAlign.Benchmarks.dll
for r in $(seq 1 "$rounds"); do
  dir="$out/round-$r"
  mkdir -p "$dir"
  for shape in "${shapes[@]}"; do
    echo "round $r/$rounds: $shape" >&2
    GEMM_SHAPES=$shape dotnet "$bench" --filter '*GemmF32PeerShapes*' --artifacts "$dir/ours-$shape" >"$dir/ours-$shape.log" 2>&1
    # This machine's environment pins OpenBLAS to the Haswell (AVX2) kernels with a small L2 hint; the peer gets its
    # own auto-detected best (AVX-512) kernels instead, and exactly 2 threads like ours.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 perf/peers/sgemm_numpy.py "$shape" >>"$dir/numpy.jsonl"
  done
done
head -1 "$out/round-1/numpy.jsonl" | tee "$out/blas.txt"
/usr/bin/python3 perf/gemm_table.py "$out" | tee "$out/table.md"
