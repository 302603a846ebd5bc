#!/usr/bin/python3
"""Peers for the alignment benchmarks, run on the same machine as BenchmarkDotNet:

* POT 0.8.2 `ot.sinkhorn` (method 'sinkhorn') per problem: 30x30 uniform marginals, costs U[0,1), reg 0.1,
  numItermax 100, stopThr 0 (exactly 100 iterations, like ours), float64 (POT's native type);
* FAISS `IndexFlatIP` exact top-k (k 4, d 384) of QUERIES x CORPUS normalised float32 vectors.

Prints JSON with the median over runs of the time per problem (Sinkhorn) and per search (FAISS).
Usage: alignment_peers.py [--queries 1000] [--corpus 10000] [--runs 5] [--threads 2]
"""
import argparse
import json
import statistics
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--queries", type=int, default=1000)
ap.add_argument("--corpus", type=int, default=10000)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--problems", type=int, default=200)
args = ap.parse_args()

import faiss  # noqa: E402
import ot  # noqa: E402

rng = np.random.default_rng(1)
a = np.full(30, 1 / 30)
costs = [rng.random((30, 30)) for _ in range(args.problems)]
per_problem = []
for _ in range(args.runs):
    t0 = time.perf_counter()
    for M in costs:
        ot.sinkhorn(a, a, M, 0.1, method="sinkhorn", numItermax=100, stopThr=0.0)
    per_problem.append((time.perf_counter() - t0) / len(costs))

faiss.omp_set_num_threads(args.threads)
d = 384
q = rng.random((args.queries, d), dtype=np.float32) - 0.5
c = rng.random((args.corpus, d), dtype=np.float32) - 0.5
faiss.normalize_L2(q)
faiss.normalize_L2(c)
index = faiss.IndexFlatIP(d)
index.add(c)
index.search(q[:10], 4)
search = []
for _ in range(args.runs):
    t0 = time.perf_counter()
    index.search(q, 4)
    search.append(time.perf_counter() - t0)

json.dump({
    "pot": ot.__version__, "faiss": faiss.__version__ if hasattr(faiss, "__version__") else "?",
    "pot_sinkhorn_seconds_per_problem": statistics.median(per_problem),
    "faiss_search_seconds": statistics.median(search),
    "queries": args.queries, "corpus": args.corpus, "threads": args.threads,
}, indent=1, fp=__import__("sys").stdout)
print()
