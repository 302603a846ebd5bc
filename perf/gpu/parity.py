#!/usr/bin/python3
"""Min cosine between two `nativealign embed --format jsonl` outputs, row by row, in float64 (pure Python: the GPU
machine has Python, this one may lack numpy). Usage: parity.py <a.jsonl> <b.jsonl> <threshold> <out.json>
Writes {"rows", "min_cosine", "threshold", "pass"} and exits 1 when the minimum is below the threshold."""
import json
import math
import sys

a_path, b_path, threshold, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["embedding"] for line in f if line.strip()]


a, b = rows(a_path), rows(b_path)
if len(a) != len(b) or not a:
    sys.exit(f"parity: {a_path} has {len(a)} rows, {b_path} has {len(b)}")
worst = min(
    sum(x * y for x, y in zip(u, v)) / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))
    for u, v in zip(a, b))
result = {"rows": len(a), "min_cosine": worst, "threshold": threshold, "pass": worst >= threshold}
with open(out, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
print(json.dumps(result))
sys.exit(0 if result["pass"] else 1)
