#!/usr/bin/python3
"""Peer for the sentence tests: full-matrix numpy transcriptions of exact top-k, CSLS (Conneau et al. 2018) and
margin-based mining (Artetxe & Schwenk 2019, eq. 1-2 and the forward/backward/intersection/max strategies).

Input: {"x": [[...]], "y": [[...]], "k": int, "threshold": float, "csls_k": int, "topk": int}
Output: {"topk": {"idx", "score"}, "csls": {"idx", "score"}, "mine": {"<margin>/<strategy>": [[i, j, score], ...]}}
"""
import json
import sys

import numpy as np

req = json.load(sys.stdin)
X = np.asarray(req["x"], dtype=np.float64)
Y = np.asarray(req["y"], dtype=np.float64)
k = req["k"]
S = X @ Y.T
ns, nt = S.shape


def topk(M, kk):
    idx = np.argsort(-M, axis=1, kind="stable")[:, :kk]
    return idx, np.take_along_axis(M, idx, axis=1)


out = {}
ti, ts = topk(S, req["topk"])
out["topk"] = {"idx": ti.tolist(), "score": ts.tolist()}

ck = req["csls_k"]
rT = topk(S, min(ck, nt))[1].mean(1)
rS = topk(S.T, min(ck, ns))[1].mean(1)
C = 2 * S - rT[:, None] - rS[None, :]
ci, cs = topk(C, 1)
out["csls"] = {"idx": ci.tolist(), "score": cs.tolist()}

kx, ky = min(k, nt), min(k, ns)
x2y_i, x2y_s = topk(S, kx)
y2x_i, y2x_s = topk(S.T, ky)
mean_x = x2y_s.mean(1)
mean_y = y2x_s.mean(1)
margins = {"absolute": lambda a, b: a, "distance": lambda a, b: a - b, "ratio": lambda a, b: a / b}
thr = req["threshold"]
mine = {}
for name, f in margins.items():
    fwd_scores = f(x2y_s, (mean_x[:, None] + mean_y[x2y_i]) / 2)
    bwd_scores = f(y2x_s, (mean_y[:, None] + mean_x[y2x_i]) / 2)
    fwd_best = x2y_i[np.arange(ns), fwd_scores.argmax(1)]
    bwd_best = y2x_i[np.arange(nt), bwd_scores.argmax(1)]
    fwd_max, bwd_max = fwd_scores.max(1), bwd_scores.max(1)
    res = {
        "forward": [(i, int(fwd_best[i]), float(fwd_max[i])) for i in range(ns)],
        "backward": [(int(bwd_best[j]), j, float(bwd_max[j])) for j in range(nt)],
        "intersection": [(i, int(fwd_best[i]), float(fwd_max[i])) for i in range(ns) if bwd_best[fwd_best[i]] == i],
    }
    cand = [(i, int(fwd_best[i]), float(fwd_max[i])) for i in range(ns)] + [(int(bwd_best[j]), j, float(bwd_max[j])) for j in range(nt)]
    order = sorted(range(len(cand)), key=lambda n: -cand[n][2])
    seen_s, seen_t, mx = set(), set(), []
    for n in order:
        i, j, s = cand[n]
        if i not in seen_s and j not in seen_t:
            seen_s.add(i)
            seen_t.add(j)
            mx.append((i, j, s))
    res["max"] = mx
    for strat, pairs in res.items():
        kept = sorted([p for p in pairs if p[2] >= thr], key=lambda p: (-p[2], p[0], p[1]))
        mine[name + "/" + strat] = [[int(a), int(b), float(c)] for a, b, c in kept]
out["mine"] = mine
json.dump(out, sys.stdout)
