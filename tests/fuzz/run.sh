#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each: tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
# Each target starts from its seed corpus (tests/fuzz/corpus/TARGET) plus
# what earlier runs in BUILD_DIR found (BUILD_DIR/fuzz-corpus/TARGET). A find
# is saved in BUILD_DIR/fuzz-artifacts/TARGET/ and fails the run; reproduce
# it with `BUILD_DIR/tests/fuzz/nfc_fuzz_TARGET FILE`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1"
seconds="${2:-30}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frontend npy csv idx idx_gz safetensors)

status=0
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  extra=()
  [ -f "$here/$t.dict" ] && extra+=("-dict=$here/$t.dict")
  echo "fuzz: $t for ${seconds}s"
  # -timeout: one input taking longer is a hang (a find; generous, as CI machines
  # are shared and a loaded machine must not report false hangs); -rss_limit_mb: so
  # is using more memory. Inputs stay small: the limits on large models are
  # tested by the suite, not found by mutation.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/tests/fuzz/nfc_fuzz_$t" "$corpus" "$here/corpus/$t" "${extra[@]}" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=4096 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$build/fuzz-$t.log" 2>&1; then
    echo "fuzz: $t FAILED; see $build/fuzz-$t.log and $artifacts/"
    tail -n 40 "$build/fuzz-$t.log"
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
    "$build/fuzz-$t.log" | sed "s/^/fuzz: $t /" || true
done
exit $status
