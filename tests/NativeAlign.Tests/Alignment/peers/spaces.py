#!/usr/bin/python3
"""Peer for the embedding-space tests: numpy transcriptions of SVD, orthogonal Procrustes (W = U V^T of svd(X^T Y)),
ZCA whitening (E diag(1/sqrt(l + eps)) E^T of the covariance), 3-sigma outlier dimensions, linear CKA
(Kornblith et al. 2019), average neuron-wise correlation (mean |pearson| per dimension) and BLI P@1/P@5 with cosine
and CSLS (k = 10) retrieval.
"""
import json
import sys

import numpy as np

req = json.load(sys.stdin)
out = {}
A = np.asarray(req["a"], dtype=np.float64)
U, S, Vt = np.linalg.svd(A, full_matrices=False)
out["svd"] = {"s": S.tolist(), "u": U.tolist(), "v": Vt.T.tolist()}

X = np.asarray(req["x"], dtype=np.float64)
Y = np.asarray(req["y"], dtype=np.float64)
u, s, vt = np.linalg.svd(X.T @ Y)
out["procrustes"] = (u @ vt).tolist()

mu = X.mean(0)
C = (X - mu).T @ (X - mu) / X.shape[0]
lam, E = np.linalg.eigh(C)
out["zca"] = (E @ np.diag(1 / np.sqrt(lam + req["eps"])) @ E.T).tolist()

O = np.asarray(req["outlier"], dtype=np.float64)
m = O.mean(0)
out["outliers"] = [int(d) for d in np.nonzero(np.abs(m - m.mean()) > 3 * m.std())[0]]

Xc, Yc = X - X.mean(0), Y - Y.mean(0)
out["cka"] = float(np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)))
corr = [abs(np.corrcoef(X[:, d], Y[:, d])[0, 1]) for d in range(X.shape[1])]
out["anc"] = float(np.mean(corr))

src_words, tgt_words = req["src_words"], req["tgt_words"]
SV = np.asarray(req["src_vecs"], dtype=np.float64)
TV = np.asarray(req["tgt_vecs"], dtype=np.float64)
SV /= np.linalg.norm(SV, axis=1, keepdims=True)
TV /= np.linalg.norm(TV, axis=1, keepdims=True)
si = {w: i for i, w in enumerate(src_words)}
ti = {w: i for i, w in enumerate(tgt_words)}
gold = {}
for s_, t_ in req["dict"]:
    if s_ in si and t_ in ti:
        gold.setdefault(si[s_], set()).add(ti[t_])
queries = list(gold.keys())
sims = SV[queries] @ TV.T
r_s = np.sort(TV @ SV.T, axis=1)[:, ::-1][:, :10].mean(1)
bli = {}
for name, score in {"cosine": sims, "csls": 2 * sims - r_s[None, :]}.items():
    top = np.argsort(-score, axis=1, kind="stable")[:, :5]
    p1 = np.mean([top[n, 0] in gold[q] for n, q in enumerate(queries)])
    p5 = np.mean([any(t in gold[q] for t in top[n]) for n, q in enumerate(queries)])
    bli[name] = [float(p1), float(p5), len(queries)]
out["bli"] = bli
json.dump(out, sys.stdout)
