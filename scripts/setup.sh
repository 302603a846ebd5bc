#!/usr/bin/env bash
# Installs everything NativeAlign needs to build, test and benchmark. Idempotent: a second run changes nothing.
#   apt:   OpenCL ICD loader + PoCL (the OpenCL device here), and the Debian peers the tests compare against
#   npm:   perf/peers (onnxruntime-node, @huggingface/tokenizers), installed with --ignore-scripts
#   model: the default model under models/ (scripts/fetch-model.sh)
#   NuGet: dotnet restore
# Usage: scripts/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }

apt_packages=(
  ocl-icd-libopencl1 pocl-opencl-icd clinfo   # OpenCL on the CPU (clinfo: an independent device listing for tests)
  libopenblas0-pthread                        # so numpy/torch peers use OpenBLAS, not the reference BLAS
  python3-numpy python3-scipy python3-onnx python3-sentencepiece python3-torch python3-pot python3-faiss python3-threadpoolctl
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else sudo_cmd=(none); fi
  if [ "${sudo_cmd[0]:-}" = none ]; then
    echo "setup: these Debian packages are missing and installing them needs root:" >&2
    echo "         sudo apt-get install -y ${missing[*]}" >&2
    echo "setup: continuing; OpenCL and peer-comparison tests will report what is absent." >&2
  else
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if command -v npm >/dev/null; then
  stamp=perf/peers/node_modules/.installed
  if [ ! -f "$stamp" ] || [ perf/peers/package-lock.json -nt "$stamp" ]; then
    say "installing npm peers in perf/peers"
    (cd perf/peers && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$stamp"
  fi
else
  echo "setup: npm not found; the ONNX Runtime and tokenizer peer comparisons will be skipped" >&2
fi

if [ "$quiet" = 1 ]; then scripts/fetch-model.sh --quiet; else scripts/fetch-model.sh; fi

say "restoring NuGet packages"
dotnet restore NativeAlign.sln --verbosity quiet >/dev/null
say "done"
