#!/usr/bin/python3
"""Peer for the transport tests: solves each problem read from stdin (JSON) with POT and prints the plans as JSON.

Input: {"problems": [{"kind": "balanced"|"balanced_log"|"unbalanced"|"partial", "cost": [[...]], "a": [...], "b": [...],
         "reg": float, "iters": int, "reg_m": float, "m": float|null}]}
Output: {"pot": version, "plans": [[[...]]]}
Every problem runs exactly `iters` iterations (stopThr=0), in float64.
"""
import json
import sys
import warnings

import numpy as np
import ot

warnings.simplefilter("ignore")
req = json.load(sys.stdin)
plans = []
for p in req["problems"]:
    M = np.asarray(p["cost"], dtype=np.float64)
    a = np.asarray(p["a"], dtype=np.float64)
    b = np.asarray(p["b"], dtype=np.float64)
    reg, iters = float(p["reg"]), int(p["iters"])
    kind = p["kind"]
    if kind == "balanced":
        P = ot.sinkhorn(a, b, M, reg, method="sinkhorn", numItermax=iters, stopThr=0.0)
    elif kind == "balanced_log":
        P = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=iters, stopThr=0.0)
    elif kind == "unbalanced":
        P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg, float(p["reg_m"]), method="sinkhorn", numItermax=iters, stopThr=0.0)
    elif kind == "partial":
        P = ot.partial.entropic_partial_wasserstein(a, b, M, reg, m=p.get("m"), numItermax=iters, stopThr=0.0)
    else:
        raise SystemExit("unknown kind " + kind)
    plans.append(np.asarray(P).tolist())
json.dump({"pot": ot.__version__, "plans": plans}, sys.stdout)
