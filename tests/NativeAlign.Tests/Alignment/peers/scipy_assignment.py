#!/usr/bin/python3
"""Peer for the assignment tests: scipy.optimize.linear_sum_assignment(maximize=True) on each matrix from stdin.

Input: {"matrices": [[[...]], ...]}; output: {"scipy": version, "results": [{"cols": [col or -1 per row], "total": float}]}
"""
import json
import sys

import numpy as np
import scipy
from scipy.optimize import linear_sum_assignment

req = json.load(sys.stdin)
out = []
for mat in req["matrices"]:
    W = np.asarray(mat, dtype=np.float64)
    cols = [-1] * W.shape[0]
    rows_i, cols_j = linear_sum_assignment(W, maximize=True)
    for r, c in zip(rows_i, cols_j):
        cols[int(r)] = int(c)
    out.append({"cols": cols, "total": float(W[rows_i, cols_j].sum())})
json.dump({"scipy": scipy.__version__, "results": out}, sys.stdout)
