#!/usr/bin/env bash
# The GPU check (issue 16), one script for a lent NVIDIA machine (no .NET, no internet, Python with PyTorch):
#   1. parity: `embed` on ILGPU's CUDA accelerator against the cpu backend on 2,000 Tatoeba lines, min cosine >= 0.9999;
#   2. `bench` on cpu and ilgpu:cuda:0 (plus CHECK_BACKENDS to add e.g. opencl:0 on NVIDIA's OpenCL driver);
#   3. the PyTorch / sentence-transformers peer on the same lines (perf/gpu/st_peer.py), when a safetensors folder of
#      the same weights is given (PEER_MODEL); otherwise the JSON records why it was skipped.
# Writes check.json and table.txt (and the raw pieces) to --out DIR, else $OUT, else perf/gpu/out.
# --dry-run: the same flow here, on ILGPU's CPU accelerator, 24 lines and `bench --quick` (CI-sized).
# The CLI: $NATIVEALIGN_CLI (a command), else the self-contained publish perf/gpu/pack.sh unpacks to
# perf/gpu/build/publish, else `dotnet src/NativeAlign.Cli/bin/Release/net10.0/NativeAlign.Cli.dll` (a built tree).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dry=0
out="${OUT:-$root/perf/gpu/out}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --out) out="$2"; shift ;;
    *) echo "check.sh: unknown argument '$1' (expected --dry-run, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"

if [ -n "${NATIVEALIGN_CLI:-}" ]; then
  read -r -a cli <<< "$NATIVEALIGN_CLI"
elif [ -x "$root/perf/gpu/build/publish/NativeAlign.Cli" ]; then
  cli=("$root/perf/gpu/build/publish/NativeAlign.Cli")
elif [ -f "$root/src/NativeAlign.Cli/bin/Release/net10.0/NativeAlign.Cli.dll" ]; then
  cli=(dotnet "$root/src/NativeAlign.Cli/bin/Release/net10.0/NativeAlign.Cli.dll")
else
  echo "check.sh: no CLI: build the solution, run perf/gpu/pack.sh, or set NATIVEALIGN_CLI" >&2; exit 2
fi

model="${NATIVEALIGN_MODEL:-$root/models/all-MiniLM-L6-v2}"
lines_file=""
for d in "${NATIVEALIGN_DATA:-}" "$root/shared/data" "$root/../shared/data"; do
  if [ -n "$d" ] && [ -f "$d/tatoeba/tatoeba.deu-eng.eng" ]; then lines_file="$d/tatoeba/tatoeba.deu-eng.eng"; break; fi
done
[ -n "$lines_file" ] || { echo "check.sh: no Tatoeba data (set NATIVEALIGN_DATA to the folder holding tatoeba/)" >&2; exit 2; }

if [ "$dry" = 1 ]; then
  device=cpu; count=24; quick=(--quick); backends="${CHECK_BACKENDS:-cpu,ilgpu:cpu}"
else
  device="${CHECK_DEVICE:-cuda:0}"; count=2000; quick=(); backends="${CHECK_BACKENDS:-cpu,ilgpu:$device}"
fi
head -n "$count" "$lines_file" > "$out/lines.txt"
echo "check.sh: cli ${cli[*]}, model $model, $count lines, device $device, backends $backends" >&2

start=$(date +%s)
"${cli[@]}" embed --quiet --model "$model" --input "$out/lines.txt" --output "$out/cpu.jsonl" --format jsonl --backend cpu
"${cli[@]}" embed --quiet --model "$model" --input "$out/lines.txt" --output "$out/ilgpu.jsonl" --format jsonl --backend ilgpu --device "$device"
parity_rc=0
python3 "$root/perf/gpu/parity.py" "$out/cpu.jsonl" "$out/ilgpu.jsonl" 0.9999 "$out/parity.json" || parity_rc=$?
echo "check.sh: parity done in $(( $(date +%s) - start )) s" >&2

"${cli[@]}" bench --json "${quick[@]}" --model "$model" --input "$out/lines.txt" --backends "$backends" > "$out/bench.json"
echo "check.sh: bench done in $(( $(date +%s) - start )) s" >&2

if [ -n "${PEER_MODEL:-}" ]; then
  python3 "$root/perf/gpu/st_peer.py" "$PEER_MODEL" "$out/lines.txt" "$out/cpu.jsonl" "$out/peer.json" || echo '{"skipped": "st_peer.py failed, see stderr"}' > "$out/peer.json"
else
  echo '{"skipped": "no PEER_MODEL: the peer needs a safetensors sentence-transformers folder of the same weights"}' > "$out/peer.json"
fi

python3 - "$out" "$device" "$dry" <<'PY'
import json, os, sys
out, device, dry = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
load = lambda name: json.load(open(os.path.join(out, name), encoding="utf-8"))
check = {"device": device, "dry_run": dry, "parity": load("parity.json"), "bench": load("bench.json"), "peer": load("peer.json")}
tmp = os.path.join(out, "check.json.tmp")
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(check, f, indent=1)
os.replace(tmp, os.path.join(out, "check.json"))
PY
python3 "$root/perf/gpu/table.py" "$out/check.json" | tee "$out/table.txt"
echo "check.sh: done in $(( $(date +%s) - start )) s; $out/check.json, $out/table.txt" >&2
exit "$parity_rc"
