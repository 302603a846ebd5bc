#!/usr/bin/env bash
# GEMM f32 side by side: ours (BenchmarkDotNet, GemmF32PeerShapes) and numpy/OpenBLAS sgemm, 2 threads each, on the
# issue's shapes with B transposed (Linear layout). Rounds alternate ours/peer so machine noise hits both alike.
# Usage: perf/run-gemm.sh [rounds]   (default 3; output under perf/out/gemm-<time>/, table on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=perf/out/gemm-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs" | tee "$out/machine.txt"
dotnet build perf/NativeAlign.Benchmarks/NativeAlign.Benchmarks.csproj -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
bench=perf/NativeAlign.Benchmarks/bin/Release/net10.0/NativeAlign.Benchmarks.dll
for r in $(seq 1 "$rounds"); do
  dir="$out/round-$r"
  mkdir -p "$dir"
  echo "round $r/$rounds: ours" >&2
  dotnet "$bench" --filter '*GemmF32PeerShapes*' --artifacts "$dir/ours" >"$dir/ours.log" 2>&1
  echo "round $r/$rounds: numpy/OpenBLAS" >&2
  # This machine's environment pins OpenBLAS to the Haswell (AVX2) kernels with a small L2 hint; the peer gets its
  # own auto-detected best (AVX-512) kernels instead, and exactly 2 threads like ours.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 perf/peers/sgemm_numpy.py >"$dir/numpy.jsonl"
done
head -1 "$out/round-1/numpy.jsonl" | tee "$out/blas.txt"
/usr/bin/python3 perf/gemm_table.py "$out" | tee "$out/table.md"
