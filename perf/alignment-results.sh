#!/usr/bin/env bash
# Produces the alignment results table (word alignment AER/F1, Tatoeba accuracy, mining P@N) with the default model.
# Usage: perf/alignment-results.sh [--model DIR] [--layer N] [--out DIR]   (markdown on stdout, progress on stderr)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/NativeAlign.Cli/NativeAlign.Cli.csproj -c Release -f net10.0 --verbosity quiet -nologo >&2
exec /usr/bin/python3 perf/alignment-results.py --cli "dotnet src/NativeAlign.Cli/bin/Release/net10.0/NativeAlign.Cli.dll" "$@"
