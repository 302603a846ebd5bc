#!/usr/bin/python3
"""Peer for the word-alignment extraction tests, written from the papers' descriptions with numpy, scipy and POT.

ArgMax / IterMax / Match follow SimAlign (Jalili Sabet et al. 2020): similarities (cos+1)/2, optional distortion
1 - k*(j/(m-1) - i/(n-1))^2; IterMax masks pairs with one aligned side by alpha, both sides by 0, for max_count rounds.
Softmax follows awesome-align (Dou & Neubig 2021): softmax over rows and over columns of the dot products, both > threshold.
Ot / Uot / Pot follow OTAlign (Arase et al. 2023): cost 1 - minmax((cos+1)/2 * distortion), uniform or given masses
(normalised for balanced OT), POT solvers, plan min-max scaled, links above the threshold.
Input: {"cases": [{"method", "sim", "dot"?, "distortion", "alpha", "iters_max", "threshold", "reg", "reg_m",
         "fraction", "mass_a"?, "mass_b"?, "sinkhorn_iters"}]}; output: {"links": [[[i, j], ...], ...]}.
"""
import json
import sys
import warnings

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment
from scipy.special import softmax

warnings.simplefilter("ignore")


def distort(S, k):
    n, m = S.shape
    if k == 0 or n < 2 or m < 2:
        return S
    pi = np.arange(n)[:, None] / (n - 1)
    pj = np.arange(m)[None, :] / (m - 1)
    return S * (1.0 - k * (pj - pi) ** 2)


def argmax_links(S):
    n, m = S.shape
    fwd = np.zeros((n, m))
    fwd[np.arange(n), S.argmax(1)] = 1
    bwd = np.zeros((n, m))
    bwd[S.argmax(0), np.arange(m)] = 1
    return fwd * bwd


def itermax_links(S, alpha, max_count):
    n, m = S.shape
    inter = argmax_links(S)
    if min(n, m) <= 2:
        return inter
    for _ in range(max_count - 1):
        free_x = (inter.sum(1) == 0).astype(float)[:, None] * np.ones((1, m))
        free_y = (inter.sum(0) == 0).astype(float)[None, :] * np.ones((n, 1))
        if free_x.sum() < 1 or free_y.sum() < 1:
            break
        mask = np.clip(alpha * free_x + alpha * free_y, 0, 1)
        either = 1 - (1 - free_x) * (1 - free_y)
        new = argmax_links(S * mask) * either
        if not new.any():
            break
        inter = np.clip(inter + new, 0, 1)
    return inter


def minmax(X):
    return (X - X.min() + 1e-10) / (X.max() - X.min() + 1e-10)


req = json.load(sys.stdin)
out = []
for c in req["cases"]:
    method = c["method"]
    cos = np.asarray(c["sim"], dtype=np.float64)
    n, m = cos.shape
    S = distort((cos + 1) / 2, c["distortion"])
    if method == "argmax":
        A = argmax_links(S)
    elif method == "itermax":
        A = itermax_links(S, c["alpha"], c["iters_max"])
    elif method == "match":
        A = np.zeros((n, m))
        r, k = linear_sum_assignment(S, maximize=True)
        A[r, k] = 1
    elif method == "softmax":
        D = distort(np.asarray(c["dot"], dtype=np.float64), c["distortion"])
        A = (softmax(D, axis=1) > c["threshold"]) * (softmax(D, axis=0) > c["threshold"])
    else:
        C = 1.0 - minmax(S)
        a = np.asarray(c["mass_a"], dtype=np.float64) if "mass_a" in c else np.ones(n)
        b = np.asarray(c["mass_b"], dtype=np.float64) if "mass_b" in c else np.ones(m)
        it = c["sinkhorn_iters"]
        if method == "ot":
            P = ot.bregman.sinkhorn_log(a / a.sum(), b / b.sum(), C, c["reg"], numItermax=it, stopThr=0.0)
        elif method == "uot":
            P = ot.unbalanced.sinkhorn_stabilized_unbalanced(a, b, C, c["reg"], c["reg_m"], numItermax=it, stopThr=0.0)
        else:
            frac = c["fraction"]
            mass = None if frac >= 1 else frac * min(a.sum(), b.sum())
            P = ot.partial.entropic_partial_wasserstein(a, b, C, c["reg"], m=mass, numItermax=it, stopThr=0.0)
        A = minmax(P) > c["threshold"]
    out.append([[int(i), int(j)] for i, j in zip(*np.nonzero(A))])
json.dump({"links": out}, sys.stdout)
