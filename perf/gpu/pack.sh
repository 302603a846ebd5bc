#!/usr/bin/env bash
# Builds what perf/gpu/check.sh needs on a GPU machine that has no .NET: the CLI published self-contained for
# linux-x64 (runtime included; not trimmed, since ILGPU reflects over its own types), packed as a zstd tarball, and
# prints the size of every piece and of each call's carried tree against the device tool's 64 MiB per call.
# Plan: call 1 carries the tracked tree + perf/gpu/build/cli.tar.zst and unpacks it (outputs stay between calls of one
# lease); call 2 carries the tracked tree + the model folder + the Tatoeba files (as shared/data/tatoeba, where
# check.sh looks) and runs check.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/perf/gpu/build"
rm -rf "$build/publish"
mkdir -p "$build"
dotnet publish "$root/src/NativeAlign.Cli" -c Release -f net10.0 -r linux-x64 --self-contained true \
  -p:InvariantGlobalization=true -p:DebugType=none -nologo -v minimal -clp:ErrorsOnly -o "$build/publish"
tar -C "$build" -cf - publish | zstd -19 -T0 -q -f -o "$build/cli.tar.zst"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { { du -sbL "$@" 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'; }
tracked=$(cd "$root" && git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
publish=$(bytes "$build/publish")
packed=$(bytes "$build/cli.tar.zst")
model=$(bytes "${NATIVEALIGN_MODEL:-$root/models/all-MiniLM-L6-v2}")
data=$(bytes "$root/shared/data/tatoeba" "$root/../shared/data/tatoeba")
limit=$((64 * 1048576))
echo "tracked files:                 $(mib "$tracked")"
echo "self-contained publish:        $(mib "$publish") (unpacked on the device)"
echo "  largest pieces:"
(cd "$build/publish" && du -b -- * | sort -rn | head -8 | while read -r b f; do echo "    $(mib "$b")  $f"; done)
echo "cli.tar.zst:                   $(mib "$packed")"
echo "model folder:                  $(mib "$model")"
echo "tatoeba data (if carried):     $(mib "$data")"
status=0
for call in "1: tracked + cli.tar.zst:$((tracked + packed))" "2: tracked + model + tatoeba data:$((tracked + model + data))"; do
  total="${call##*:}"; name="${call%:*}"
  verdict=ok; [ "$total" -le "$limit" ] || { verdict="OVER 64 MiB"; status=1; }
  echo "call $name = $(mib "$total") ($verdict)"
done
exit $status
