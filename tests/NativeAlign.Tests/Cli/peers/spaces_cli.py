#!/usr/bin/python3
"""NumPy peer for the `map` and `analyze` commands.

  make X.npy Y.npy SEED N D          random paired embeddings: Y = X·Q + noise for a random orthogonal Q
  procrustes X.npy Y.npy MAP.npz [center|whiten|none] [outliers|keep]
                                     prints JSON: max |W - W_numpy|, and how far the map's preprocessing is from numpy's
  apply MAP.npz IN.npy OUT.npy       prints JSON: max |OUT - numpy's ((IN[keep] - src_mean) @ src_transform) @ W|
  analyze A0.npy B0.npy A1.npy B1.npy ...  prints JSON: linear CKA and mean neuron-wise Pearson r for each (A, B)
"""
import json, sys
import numpy as np


def outliers(v, sigmas=3.0):
    m = v.mean(axis=0)
    return set(np.nonzero(np.abs(m - m.mean()) > sigmas * m.std())[0].tolist())


def zca(v):
    mu = v.mean(axis=0)
    c = v - mu
    cov = c.T @ c / v.shape[0]
    lam, e = np.linalg.eigh(cov)
    return mu, e @ np.diag(1.0 / np.sqrt(np.maximum(lam, 0) + 1e-8)) @ e.T


cmd = sys.argv[1]
if cmd == "make":
    x_path, y_path, seed, n, d = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 1] += 25.0                     # one dimension with a far-off mean, so outlier removal has something to find
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    y = x @ q + 0.05 * rng.normal(size=(n, d)) + 0.3
    np.save(x_path, x.astype(np.float32)); np.save(y_path, y.astype(np.float32))
elif cmd == "procrustes":
    x = np.load(sys.argv[2]).astype(np.float64); y = np.load(sys.argv[3]).astype(np.float64)
    z = np.load(sys.argv[4]); pre, out = sys.argv[5], sys.argv[6]
    keep = list(range(x.shape[1]))
    if out == "outliers":
        drop = outliers(x) | outliers(y)
        keep = [k for k in keep if k not in drop]
    x, y = x[:, keep], y[:, keep]
    d = len(keep)
    if pre == "whiten":
        (ms, ws), (mt, wt) = zca(x), zca(y)
    elif pre == "center":
        ms, mt, ws, wt = x.mean(0), y.mean(0), np.eye(d), np.eye(d)
    else:
        ms, mt, ws, wt = np.zeros(d), np.zeros(d), np.eye(d), np.eye(d)
    px, py = (x - ms) @ ws, (y - mt) @ wt
    u, _, vt = np.linalg.svd(px.T @ py)
    w = u @ vt
    print(json.dumps({
        "keep_equal": z["keep"].tolist() == keep,
        "w": float(np.abs(z["W"] - w).max()),
        "src_mean": float(np.abs(z["src_mean"] - ms).max()),
        "tgt_mean": float(np.abs(z["tgt_mean"] - mt).max()),
        "src_transform": float(np.abs(z["src_transform"] - ws).max()),
        "tgt_transform": float(np.abs(z["tgt_transform"] - wt).max()),
        "orthogonality": float(np.abs(z["W"] @ z["W"].T - np.eye(d)).max()),
    }))
elif cmd == "apply":
    z = np.load(sys.argv[2]); x = np.load(sys.argv[3]).astype(np.float64); out = np.load(sys.argv[4])
    ref = ((x[:, z["keep"]] - z["src_mean"]) @ z["src_transform"]) @ z["W"]
    print(json.dumps({"shape_equal": list(out.shape) == list(ref.shape), "max_abs": float(np.abs(out - ref).max()), "scale": float(np.abs(ref).max())}))
elif cmd == "analyze":
    rows = []
    paths = sys.argv[2:]
    for a_path, b_path in zip(paths[0::2], paths[1::2]):
        a = np.load(a_path).astype(np.float64); b = np.load(b_path).astype(np.float64)
        ac, bc = a - a.mean(0), b - b.mean(0)
        cka = np.linalg.norm(ac.T @ bc) ** 2 / (np.linalg.norm(ac.T @ ac) * np.linalg.norm(bc.T @ bc))
        sa, sb = ac.std(0), bc.std(0)
        ok = (sa > 0) & (sb > 0)
        r = np.zeros(a.shape[1])        # Del & Fishel 2021: mean |Pearson r| over neurons; a constant neuron counts 0
        r[ok] = (ac[:, ok] * bc[:, ok]).mean(0) / (sa[ok] * sb[ok])
        rows.append({"cka": float(cka), "corr": float(np.abs(r).mean())})
    print(json.dumps(rows))
else:
    sys.exit(f"unknown command {cmd}")
