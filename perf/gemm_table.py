#!/usr/bin/python3
"""Reads the rounds written by perf/run-gemm.sh and prints the GEMM table: medians over rounds, ratio ours/OpenBLAS.

Each round holds our BenchmarkDotNet CSV (median µs per shape) and the numpy peer's JSON lines, measured back to back.
"""
import csv
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
ours, peer, rounds = {}, {}, 0
for round_dir in sorted(glob.glob(os.path.join(out, "round-*"))):
    rounds += 1
    for path in glob.glob(os.path.join(round_dir, "ours*", "results", "*GemmF32PeerShapes*-report.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                median = row.get("Median [us]") or row.get("Median [μs]")
                if median:
                    ours.setdefault(row["Shape"], []).append(float(median.replace(",", "")))
    with open(os.path.join(round_dir, "numpy.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "shape" in record:
                peer.setdefault(record["shape"], []).append(record["median_us"])

def gflops(shape, us):
    m, n, k = (int(x) for x in shape.split("x"))
    return 2.0 * m * n * k / (us * 1e-6) / 1e9

def key(shape):
    return tuple(int(x) for x in shape.split("x"))

print(f"rounds: {rounds} (per shape: ours via BenchmarkDotNet, then numpy/OpenBLAS; GFLOP/s from the median over rounds of each run's median)")
print()
print("| M×N×K | ours GFLOP/s | OpenBLAS GFLOP/s | ratio of medians | median per-round ratio | per-round ratios |")
print("|---|---:|---:|---:|---:|---|")
ratios = []
for shape in sorted(set(ours) & set(peer), key=key):
    o, p = statistics.median(ours[shape]), statistics.median(peer[shape])
    per_round = [pt / ot for ot, pt in zip(ours[shape], peer[shape])]
    ratio = p / o
    paired = statistics.median(per_round)
    ratios.append(paired)
    print(f"| {shape} | {gflops(shape, o):.1f} | {gflops(shape, p):.1f} | {ratio:.2f}× | {paired:.2f}× | {' '.join(f'{r:.2f}' for r in per_round)} |")
if ratios:
    print()
    print(f"median per-round ratio ≥ 1.0× on {sum(r >= 1.0 for r in ratios)}/{len(ratios)} shapes; geometric mean "
          f"{statistics.geometric_mean(ratios):.2f}×; worst {min(ratios):.2f}×")
