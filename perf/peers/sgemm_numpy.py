#!/usr/bin/python3
"""numpy/OpenBLAS sgemm on the GEMM peer shapes: C = A @ B.T with B in Linear layout [N, K], float32.

Mirrors the BenchmarkDotNet job of perf/NativeAlign.Benchmarks (GemmF32PeerShapes): warm-up, then 7 timed
iterations of >= 150 ms each; prints one JSON line per shape with the median and best time per product.
Run with /usr/bin/python3 (Debian numpy linked to libopenblas0-pthread). The BLAS in use and its thread count
are printed first (threadpoolctl) so a fallback to the reference BLAS cannot go unnoticed.
"""
import json
import statistics
import sys
import time

import numpy as np

SHAPES = [(m, n, k) for m in (128, 512, 2048)
          for (n, k) in ((384, 384), (1536, 384), (384, 1536), (768, 768), (3072, 768), (768, 3072))]


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        return [{"api": p.get("internal_api"), "threads": p.get("num_threads"), "arch": p.get("architecture"),
                 "version": p.get("version"), "lib": p.get("filepath")} for p in pools]
    except ImportError:
        return [{"api": "unknown (threadpoolctl missing)"}]


def measure(m, n, k, iteration_seconds=0.15, iterations=7, warmup=3):
    rng = np.random.default_rng(42)
    a = (rng.random((m, k), dtype=np.float32) - 0.5)
    b = (rng.random((n, k), dtype=np.float32) - 0.5)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b.T, out=c)
    t0 = time.perf_counter()
    np.matmul(a, b.T, out=c)
    once = max(time.perf_counter() - t0, 1e-7)
    per_iteration = max(1, int(iteration_seconds / once))
    for _ in range(warmup):
        for _ in range(per_iteration):
            np.matmul(a, b.T, out=c)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        for _ in range(per_iteration):
            np.matmul(a, b.T, out=c)
        times.append((time.perf_counter() - t0) / per_iteration)
    return statistics.median(times), min(times)


def main():
    info = blas_info()
    print(json.dumps({"blas": info, "numpy": np.__version__}), flush=True)
    if not any(p.get("api") == "openblas" for p in info):
        print("sgemm_numpy: numpy is not using OpenBLAS; install libopenblas0-pthread", file=sys.stderr)
        sys.exit(2)
    only = sys.argv[1:]
    for m, n, k in SHAPES:
        shape = f"{m}x{n}x{k}"
        if only and shape not in only:
            continue
        median, best = measure(m, n, k)
        print(json.dumps({"shape": shape, "median_us": median * 1e6, "min_us": best * 1e6,
                          "gflops": 2.0 * m * n * k / median / 1e9}), flush=True)


if __name__ == "__main__":
    main()
