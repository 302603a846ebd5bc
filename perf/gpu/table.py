#!/usr/bin/python3
"""The check's one JSON (parity, bench, peer) as a plain-text table. Usage: table.py <check.json>"""
import json
import sys

check = json.load(open(sys.argv[1], encoding="utf-8"))
p = check["parity"]
print(f"ILGPU {check['device']} vs cpu backend on {p['rows']} lines: min cosine {p['min_cosine']:.6f} "
      f"(need >= {p['threshold']}) {'PASS' if p['pass'] else 'FAIL'}")
print(f"{'backend':<16} {'workload':<9} {'batch/shape':<40} {'items/s':>10} {'tokens/s':>10} {'p50 ms':>8} {'p90 ms':>8} parity")
for b in check["bench"]["backends"]:
    for w in b["workloads"]:
        shape = w.get("shape") or f"batch {w['batch']}"
        rate = w.get("sentences_per_s") or w.get("queries_per_s") or w.get("problems_per_s")
        parity = w.get("topk_agreement_vs_reference", w.get("sinkhorn_max_abs_plan_error_vs_reference", ""))

        def f(v, spec):
            return "" if v is None else format(v, spec)
        print(f"{b['backend']:<16} {w['workload']:<9} {shape:<40} {f(rate, '10.1f')} {f(w.get('tokens_per_s'), '10.0f')} "
              f"{f(w.get('p50_ms'), '8.2f')} {f(w.get('p90_ms'), '8.2f')} {parity}")
    print(f"{b['backend']:<16} {b['device']}: embeddings min cosine vs reference {b['embed_min_cosine_vs_reference']:.6f}, "
          f"peak {b['peak_memory_bytes'] / 2**20:.0f} MiB")
peer = check["peer"]
print("peer:", json.dumps(peer))
