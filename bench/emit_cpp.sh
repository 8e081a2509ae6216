#!/usr/bin/env bash
# Emitted C++ against the JIT: examples/moons.nf emitted with `nfc emit-cpp`
# (f32 and f64, parameters initialised by a 1-step training run), compiled
# with g++ -O2 (x86-64 baseline: one sample at a time) and -O2 -march=native
# (blocks of 8 samples, SIMD) into bench/emitted.cpp, next to the JIT's from
# nfc_bench_throughput at the same batch of 4096, on one thread. Prints each
# emitted build's ratio to the JIT of the same precision: batch-1 latency
# (emitted / JIT) and batch-4096 log_prob time (JIT samples/s / emitted).
# Usage: bench/emit_cpp.sh [build-dir]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$build/nfc" train examples/moons.nf --data builtin:moons --steps 1 -q --out "$dir/p.safetensors" >/dev/null
echo "JIT (nfc_bench_throughput, batch 4096, 1 thread):"
for precision in f32 f64; do
  flag=$([ "$precision" = f64 ] && echo --f64 || true)
  # shellcheck disable=SC2086  # $flag is empty or one flag
  jit=$("$build/nfc_bench_throughput" $flag examples/moons.nf | head -1)
  echo "$jit"
  # samples/s of log_prob and the batch-1 latency in ns
  jit_lp=$(echo "$jit" | awk '{for (i = 1; i < NF; i++) if ($i == "log_prob") {print $(i + 1) + 0; exit}}')
  jit_b1=$(echo "$jit" | awk '{for (i = 1; i < NF; i++) if ($i == "batch-1") {print $(i + 1) * 1000; exit}}')
  "$build/nfc" emit-cpp examples/moons.nf --params "$dir/p.safetensors" --precision "$precision" \
    --namespace "moons_$precision" -o "$dir" 2>/dev/null
  for flags in "-O2" "-O2 -march=native"; do
    # shellcheck disable=SC2086  # $flags is a list of flags
    g++ -std=c++17 $flags -Wall -Wextra -Werror -pedantic -I"$dir" -I. \
      -include "moons_$precision.hpp" -DNFC_NS="moons_$precision" bench/emitted.cpp \
      "$dir/moons_$precision.cpp" -o "$dir/bench"
    out=$("$dir/bench")
    b1=$(echo "$out" | awk '{for (i = 1; i < NF; i++) if ($i == "log_prob") {print $(i + 1); exit}}')
    lp=$(echo "$out" | sed 's/.*batch 4096: log_prob \([0-9.]*\)M.*/\1/')
    printf 'emitted C++, g++ %-18s %s\n' "$flags:" "$out"
    awk -v b1="$b1" -v jb1="$jit_b1" -v lp="$lp" -v jlp="$jit_lp" 'BEGIN {
      printf "    emitted / JIT: batch-1 latency %.2fx, batch-4096 log_prob time %.2fx\n",
             b1 / jb1, jlp / (lp * 1e6) }'
  done
done
