#!/usr/bin/env bash
# Runs every test: sets up dependencies, builds the solution (warnings are errors), runs the NUnit suites,
# then a NativeAOT smoke test of the CLI. Prints `N passed, N failed` as its last line, computed from the
# TRX results plus the smoke checks, and exits non-zero when anything failed.
# Usage: scripts/test.sh            (NATIVEALIGN_SKIP_AOT=1 skips the NativeAOT smoke)
set -uo pipefail
cd "$(dirname "$0")/.."
results=.build/test-results
rm -rf "$results"; mkdir -p "$results"
extra_passed=0; extra_failed=0
check() { # check NAME COMMAND...: one counted smoke check
  local name=$1; shift
  if "$@"; then echo "smoke: PASS $name"; extra_passed=$((extra_passed + 1)); else echo "smoke: FAIL $name"; extra_failed=$((extra_failed + 1)); fi
}

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

# The public evaluation data (Tatoeba, word-alignment gold) the parity tests compare against lives outside the
# repository: shared/data beside it, or wherever NATIVEALIGN_DATA points.
data=${NATIVEALIGN_DATA:-../shared/data}
if [ -d "$data/tatoeba" ] && [ -d "$data/word-alignment" ]; then
  export NATIVEALIGN_DATA=$(cd "$data" && pwd)
else
  echo "test: the evaluation data is not at $data (expected tatoeba/ and word-alignment/ as in the project's shared/data);" \
       "the tests that compare against it will fail. Clone the repository beside shared/ or set NATIVEALIGN_DATA." >&2
fi

if ! dotnet build NativeAlign.sln -c Release -nologo -v minimal -clp:ErrorsOnly; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

dotnet test NativeAlign.sln -c Release --no-build --nologo --results-directory "$results" --logger "trx" --logger "console;verbosity=minimal"
test_rc=$?

# The CPU backend's row kernels (activations, norms, pooling) take the runtime's vector width, which is fixed per
# process: its conformance cases run again with 256-bit vectors preferred and with hardware intrinsics off, so that
# the Vector256 and scalar row kernels are held to the float64 oracle too (about a second each).
for isa in "DOTNET_PreferredVectorBitWidth=256 TestCategory~conformance-cpu" "DOTNET_EnableHWIntrinsic=0 TestCategory=conformance-cpu"; do
  set -- $isa
  env "$1" dotnet test tests/NativeAlign.Tests -c Release --no-build --nologo --filter "$2" --results-directory "$results" \
    --logger "trx;LogFileName=conformance-${1%%=*}.trx" --logger "console;verbosity=minimal" || test_rc=1
done

if [ "${NATIVEALIGN_SKIP_AOT:-0}" != 1 ]; then
  aot=.build/aot
  rm -rf "$aot"
  check "NativeAOT publish (net9.0, IlcInstructionSet=x86-x64-v4)" \
    dotnet publish src/NativeAlign.Cli/NativeAlign.Cli.csproj -c Release -f net9.0 -r linux-x64 \
      -p:PublishAot=true -p:IlcInstructionSet=x86-x64-v4 -o "$aot" -nologo -v quiet
  if [ -x "$aot/nativealign" ]; then
    "$aot/nativealign" info --json > "$results/aot-info.json" 2>"$results/aot-info.err"
    check "AOT binary runs info and reports NativeAOT with Vector512 accelerated" \
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["nativeAot"] and r["accelerated"]["vector512"] else 1)' "$results/aot-info.json"
    check "AOT binary lists the OpenCL device clinfo lists" \
      python3 scripts/check-opencl-devices.py "$results/aot-info.json"
    check "AOT binary runs the C# kernels on OpenCL device 0 within their float64 error bounds" \
      "$aot/nativealign" kernels check
    # The first line of each shared Tatoeba file (12 sentences): the AOT binary on OpenCL against the JIT CPU path.
    for f in "$data"/tatoeba/tatoeba.*-eng.*; do head -n 1 "$f"; done > "$results/aot-embed.txt"
    aot_embed() {
      "$aot/nativealign" embed --backend opencl --device 0 -i "$results/aot-embed.txt" -o "$results/aot-embed-opencl.npy" \
        && dotnet src/NativeAlign.Cli/bin/Release/net10.0/NativeAlign.Cli.dll embed --backend cpu -i "$results/aot-embed.txt" -o "$results/aot-embed-cpu.npy" \
        && /usr/bin/python3 -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print("aot embed: %d sentences, lowest cosine %.7f" % (len(c), c.min()))
sys.exit(0 if a.shape == b.shape and a.shape[0] == 12 and c.min() >= 0.9999 else 1)' "$results/aot-embed-opencl.npy" "$results/aot-embed-cpu.npy"
    }
    check "AOT binary runs embed --backend opencl; cosine >= 0.9999 per sentence against the JIT CPU path" aot_embed
  else
    extra_failed=$((extra_failed + 4)); echo "smoke: FAIL AOT binary missing"
  fi
fi

python3 scripts/trx-summary.py "$results" "$extra_passed" "$extra_failed"
summary_rc=$?
[ $test_rc -eq 0 ] && [ $summary_rc -eq 0 ] && [ $extra_failed -eq 0 ]
