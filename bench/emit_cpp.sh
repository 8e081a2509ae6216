#!/usr/bin/env bash
# Emitted C++ against the JIT: examples/moons.nf emitted with `nfc emit-cpp`
# (f32 and f64, parameters initialised by a 1-step training run), compiled
# with g++ -O2 (x86-64 baseline: one sample at a time) and -O2 -march=native
# (blocks of 8 samples, SIMD) into bench/emitted.cpp, next to the JIT's from
# nfc_bench_throughput at the same batch of 4096.
# Usage: bench/emit_cpp.sh [build-dir]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$build/nfc" train examples/moons.nf --data builtin:moons --steps 1 -q --out "$dir/p.safetensors" >/dev/null
for precision in f32 f64; do
  "$build/nfc" emit-cpp examples/moons.nf --params "$dir/p.safetensors" --precision "$precision" \
    --namespace "moons_$precision" -o "$dir" 2>/dev/null
  for flags in "-O2" "-O2 -march=native"; do
    # shellcheck disable=SC2086  # $flags is a list of flags
    g++ -std=c++17 $flags -Wall -Wextra -Werror -pedantic -I"$dir" -I. \
      -include "moons_$precision.hpp" -DNFC_NS="moons_$precision" bench/emitted.cpp \
      "$dir/moons_$precision.cpp" -o "$dir/bench"
    printf 'emitted C++, g++ %-18s %s\n' "$flags:" "$("$dir/bench")"
  done
done
echo "JIT (nfc_bench_throughput, batch 4096):"
"$build/nfc_bench_throughput" examples/moons.nf
"$build/nfc_bench_throughput" --f64 examples/moons.nf
