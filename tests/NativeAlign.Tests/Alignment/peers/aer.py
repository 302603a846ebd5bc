#!/usr/bin/python3
"""Independent AER / precision / recall / F1, transcribed from the documented semantics of awesome-align's tools/aer.py
(Och & Ney 2003): gold links 'i-j' are sure, 'ipj' (and 'i?j') possible, the possible set includes the sure set,
hypothesis links are all predictions; counts are summed over the corpus, then
  precision = |A & P| / |A|, recall = |A & S| / |S|, AER = 1 - (|A & S| + |A & P|) / (|A| + |S|).
MultiMWA .tsv gold: column 8 sure links, column 9 possible links (0-indexed).
Usage: aer.py GOLD PRED [--one-indexed] [--possible-as-sure]; prints JSON.
"""
import json
import re
import sys

gold_path, pred_path = sys.argv[1], sys.argv[2]
one = "--one-indexed" in sys.argv
pas = "--possible-as-sure" in sys.argv


def parse(field, shift):
    sure, possible = set(), set()
    for tok in field.split():
        tok = tok.split(":")[0]
        m = re.fullmatch(r"(\d+)([-p?])(\d+)", tok)
        if not m:
            raise SystemExit("bad link " + tok)
        pair = (int(m.group(1)) - shift, int(m.group(3)) - shift)
        (sure if m.group(2) == "-" else possible).add(pair)
    return sure, possible | sure


gold = []
with open(gold_path, encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if gold_path.endswith(".tsv"):
            if not line:
                continue
            cols = line.split("\t")
            s, _ = parse(cols[7], 0)
            p = parse(cols[8], 0)[0] if len(cols) > 8 else set()
            gold.append((s, s | p))
        else:
            gold.append(parse(line, 1 if one else 0))
with open(pred_path, encoding="utf-8") as f:
    preds = [parse(line, 0)[1] for line in f]
assert len(preds) == len(gold), (len(preds), len(gold))
a = s = a_s = a_p = 0
for (S, P), A in zip(gold, preds):
    if pas:
        S = P
    a += len(A)
    s += len(S)
    a_s += len(A & S)
    a_p += len(A & P)
prec = a_p / a if a else 0.0
rec = a_s / s if s else 0.0
f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
aer = 1 - (a_s + a_p) / (a + s) if a + s else 0.0
json.dump({"precision": prec, "recall": rec, "f1": f1, "aer": aer, "a": a, "s": s}, sys.stdout)
