#!/usr/bin/env python3
"""Counts test outcomes in every TRX file of a folder, adds the smoke checks, prints `N passed, N failed`.

Usage: trx-summary.py RESULTS_DIR EXTRA_PASSED EXTRA_FAILED. Exit 1 when anything failed or no test ran."""
import glob
import sys
import xml.etree.ElementTree as ET

folder, extra_passed, extra_failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
counts = {}
failed_names = []
files = sorted(glob.glob(f"{folder}/**/*.trx", recursive=True))
for path in files:
    for el in ET.parse(path).getroot().iter():
        if el.tag.endswith("UnitTestResult"):
            outcome = el.get("outcome", "Unknown")
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome not in ("Passed", "NotExecuted", "Inconclusive"):
                failed_names.append(el.get("testName"))
passed = counts.get("Passed", 0) + extra_passed
skipped = counts.get("NotExecuted", 0) + counts.get("Inconclusive", 0)
failed = sum(v for k, v in counts.items() if k not in ("Passed", "NotExecuted", "Inconclusive")) + extra_failed
if not files:
    print("no TRX results were written: the test run did not happen")
    failed += 1
for name in failed_names[:50]:
    print(f"failed: {name}")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
