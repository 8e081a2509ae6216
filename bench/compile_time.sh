#!/usr/bin/env bash
# Compile time of every entry point (forward, inverse, log_prob) at O2 for
# the example models and the 64-D scaling case, f32 and f64, best of 3.
# Usage: bench/compile_time.sh [path/to/nfc]
set -euo pipefail
cd "$(dirname "$0")/.."
nfc=${1:-build/nfc}
for model in examples/moons.nf bench/models/coupling64.nf; do
  for precision in f32 f64; do
    best=""
    for _ in 1 2 3; do
      line=$("$nfc" compile "$model" --precision "$precision" --no-cache | grep '^compile time')
      total=$(sed -E 's/.*total ([0-9.]+) ms/\1/' <<<"$line")
      if [ -z "$best" ] || awk "BEGIN{exit !($total < $best)}"; then best=$total; best_line=$line; fi
    done
    printf '%-28s %s  %s\n' "$model" "$precision" "$best_line"
  done
done
