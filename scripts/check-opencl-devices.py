#!/usr/bin/env python3
"""Checks that every OpenCL device `clinfo -l` lists (an independent reader of the ICD) appears in an
`nativealign info --json` report. Usage: check-opencl-devices.py INFO.json"""
import json
import re
import subprocess
import sys

report = json.load(open(sys.argv[1]))
ours = [d["name"] for d in report["opencl"]["devices"]]
try:
    listing = subprocess.run(["clinfo", "-l"], capture_output=True, text=True, check=True).stdout
except (OSError, subprocess.CalledProcessError) as e:
    print(f"clinfo unavailable ({e}); cannot cross-check", file=sys.stderr)
    sys.exit(1)
theirs = [m.group(1).strip() for m in re.finditer(r"Device #\d+: (.*)", listing)]
if not theirs:
    print("clinfo lists no device", file=sys.stderr)
    sys.exit(1)
missing = [t for t in theirs if t not in ours]
if missing:
    print(f"devices clinfo lists but nativealign does not: {missing}; nativealign: {ours}", file=sys.stderr)
    sys.exit(1)
