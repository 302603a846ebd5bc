#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers with AFL++ and SharpFuzz (docs/hardening.md, "Coverage-guided fuzzing").
#   - installs, idempotently: afl++ (apt, needs root or passwordless sudo), the sharpfuzz tool (.build/tools)
#   - builds tests/NativeAlign.Fuzz into .build/fuzz/bin (plain, for triage) and a copy in .build/fuzz/afl whose
#     NativeAlign.dll and NativeAlign.Cli.dll are instrumented by sharpfuzz
#   - for each TARGET (default: all), one after another at nice 19: afl-fuzz for N minutes, seeded from
#     tests/fuzz-corpus/TARGET (plus the small test fixtures of that format); output in .build/fuzz/out/TARGET
#   - minimises the grown queue with afl-cmin into tests/fuzz-corpus/TARGET (kept small: at most 40 files of 16 KB),
#     copies crashes and hangs to .build/fuzz/findings/TARGET, and prints the fuzzer_stats figures per target
#     (also appended to .build/fuzz/summary.tsv)
# Usage: scripts/fuzz.sh [--minutes N] [--report-only] [TARGET...]
#   --report-only  no fuzzing: minimise and report what .build/fuzz/out already holds
# Targets: safetensors onnx tokenizer-json sentencepiece config-json pharaoh multimwa tsv-dictionary npy
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
all_targets=(safetensors onnx tokenizer-json sentencepiece config-json pharaoh multimwa tsv-dictionary npy)
minutes=10; report_only=0; targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --report-only) report_only=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

work="$root/.build/fuzz"
mkdir -p "$work"/{out,logs,findings,seeds,tmp}

if ! command -v afl-fuzz >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else
    echo "fuzz: afl-fuzz is missing and installing it needs root: sudo apt-get install -y afl++" >&2; exit 1
  fi
  echo "fuzz: installing afl++"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq afl++ >/dev/null
fi
sharpfuzz="$root/.build/tools/sharpfuzz"
if [ ! -x "$sharpfuzz" ]; then
  echo "fuzz: installing the sharpfuzz tool into .build/tools"
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$root/.build/tools" >/dev/null
fi

if [ "$report_only" = 0 ]; then
  echo "fuzz: building the harness"
  nice -n 19 dotnet build tests/NativeAlign.Fuzz/NativeAlign.Fuzz.csproj -c Release -nologo -v minimal -clp:ErrorsOnly -o "$work/bin" >"$work/logs/build.log" 2>&1 \
    || { cat "$work/logs/build.log" >&2; exit 1; }
  rm -rf "$work/afl"
  cp -r "$work/bin" "$work/afl"
  for dll in NativeAlign.dll NativeAlign.Cli.dll; do
    "$sharpfuzz" "$work/afl/$dll" >>"$work/logs/build.log" 2>&1 || { cat "$work/logs/build.log" >&2; exit 1; }
  done
fi

# We cannot change the system's CPU governor or core_pattern: tell AFL++ so instead of stopping. dotnet itself is not
# instrumented (the instrumented code is in the DLLs), and its start-up is slow on a loaded machine.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=120000
fixtures="$root/tests/NativeAlign.Tests/IO/Fixtures"
extra_seeds() {
  case "$1" in
    safetensors) ls "$fixtures/small.safetensors" "$fixtures"/sharded/*.safetensors "$fixtures/st_folder/2_Dense/model.safetensors" ;;
    onnx) ls "$fixtures"/onnx/tiny_bert_fp16.onnx "$fixtures"/onnx/tiny_bert_opset17_ort.onnx "$fixtures"/onnx/tiny_xlmr_opset14_ort.onnx "$fixtures"/onnx/tiny_bert_q4_ort.onnx ;;
    config-json) ls "$fixtures/st_folder/config.json" ;;
  esac
}
harness=("$(command -v dotnet)" "$work/afl/NativeAlign.Fuzz.dll")   # afl-cmin wants a path, not a name
stat_of() { sed -n "s/^$2 *: *//p" "$1" | head -n 1; }
summary="$work/summary.tsv"
[ -f "$summary" ] || printf 'date\ttarget\tminutes\texecs_done\texecs_per_sec\tcorpus_count\tbitmap_cvg\tstability\tsaved_crashes\tsaved_hangs\tcommitted_corpus\tedges_found\n' >"$summary"

for t in "${targets[@]}"; do
  out="$work/out/$t"
  corpus="$root/tests/fuzz-corpus/$t"
  mkdir -p "$corpus"
  if [ "$report_only" = 0 ]; then
    seeds="$work/seeds/$t"
    rm -rf "$seeds" "$out"
    mkdir -p "$seeds"
    cp "$corpus"/* "$seeds"/ 2>/dev/null || true
    for f in $(extra_seeds "$t"); do cp "$f" "$seeds/fixture-$(basename "$(dirname "$f")")-$(basename "$f")"; done
    echo "fuzz: $t for $minutes min ($(ls "$seeds" | wc -l) seeds; log .build/fuzz/logs/$t.log)"
    TMPDIR="$work/tmp" nice -n 19 afl-fuzz -i "$seeds" -o "$out" -t 2000 -m none -V $((minutes * 60)) -- "${harness[@]}" "$t" \
      >"$work/logs/$t.log" 2>&1 || echo "fuzz: afl-fuzz for $t ended with status $? (see the log)" >&2
  fi
  stats="$out/default/fuzzer_stats"
  [ -f "$stats" ] || { echo "fuzz: $t: no fuzzer_stats (did afl-fuzz start? see .build/fuzz/logs/$t.log)" >&2; continue; }

  # Minimise the queue (seeds included) to the inputs that keep its coverage, then keep the corpus small.
  rm -rf "$work/cmin/$t"; mkdir -p "$work/cmin"
  TMPDIR="$work/tmp" nice -n 19 afl-cmin -i "$out/default/queue" -o "$work/cmin/$t" -t 5000 -m none -- "${harness[@]}" "$t" \
    >"$work/logs/$t.cmin.log" 2>&1 || echo "fuzz: afl-cmin for $t failed (see .build/fuzz/logs/$t.cmin.log)" >&2
  if [ -d "$work/cmin/$t" ] && [ -n "$(ls -A "$work/cmin/$t")" ]; then
    mkdir -p "$corpus"
    find "$corpus" -type f ! -name 'seed-*' ! -name 'regress-*' -delete   # hand-made seeds and findings stay
    case "$t" in
      safetensors) ext=.safetensors ;; onnx) ext=.onnx ;; sentencepiece) ext=.model ;; npy) ext=.npy ;;
      tokenizer-json|config-json) ext=.json ;; pharaoh) ext=.txt ;; *) ext=.tsv ;;
    esac
    find "$work/cmin/$t" -type f -size -16k -printf '%s %p\n' | sort -n | head -n 40 | while read -r _ f; do
      cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-12)$ext"
    done
  fi

  rm -rf "${work:?}/findings/$t"; mkdir -p "$work/findings/$t"
  cp "$out"/default/crashes/id* "$out"/default/hangs/id* "$work/findings/$t"/ 2>/dev/null || true
  start=$(stat_of "$stats" start_time); last=$(stat_of "$stats" last_update)
  run_min=$(awk -v a="$start" -v b="$last" 'BEGIN { printf "%.1f", (b - a) / 60 }')
  row=("$(date -u +%FT%TZ)" "$t" "$run_min" "$(stat_of "$stats" execs_done)" "$(stat_of "$stats" execs_per_sec)" "$(stat_of "$stats" corpus_count)" \
       "$(stat_of "$stats" bitmap_cvg)" "$(stat_of "$stats" stability)" "$(stat_of "$stats" saved_crashes)" "$(stat_of "$stats" saved_hangs)" "$(ls "$corpus" | wc -l)" "$(stat_of "$stats" edges_found)")
  (IFS=$'\t'; echo "${row[*]}") >>"$summary"
  echo "fuzz: $t: ${row[2]} min, execs_done ${row[3]} (${row[4]}/s), corpus_count ${row[5]}, bitmap_cvg ${row[6]} (${row[11]} edges), stability ${row[7]}, saved_crashes ${row[8]}, saved_hangs ${row[9]}; committed corpus ${row[10]} files; findings in .build/fuzz/findings/$t"
done
