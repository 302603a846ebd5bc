#!/usr/bin/python3
"""Peer for SentencePiece parity tests: sp.encode ids of every line of a file, one JSON array per line.
Usage: /usr/bin/python3 spm_encode.py MODEL INPUT   (lines split at '\n', a trailing '\r' dropped)"""
import json
import sys

import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8", newline="") as f:
    lines = f.read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
out = sys.stdout
for line in lines:
    if line.endswith("\r"):
        line = line[:-1]
    out.write(json.dumps(sp.encode(line)) + "\n")
