#!/usr/bin/env bash
# The side-by-side benchmark of issue 7 (nfc vs PyTorch, float32, 1 and 2
# threads): builds nfc in Release in build-bench, installs Debian's PyTorch,
# NumPy, scikit-learn and OpenBLAS if missing, then runs bench/bench.py,
# which checks log_prob agreement on shared weights before timing anything.
# Usage: bench/run.sh [--json OUT.json] [--threads 1,2] [--workloads W1,W2,W3,W4] [--skip-check]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NFC_BENCH_BUILD:-build-bench}

# OpenBLAS matters: with Debian's reference BLAS python3-torch runs ~17x
# slower, and a ratio against that would be meaningless (bench.py verifies).
packages=(python3-torch python3-numpy python3-sklearn libopenblas0-openmp)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "${JOBS:-2}" --target nfc nfc_bench_throughput

# Debian's OpenBLAS 0.3.21 does not know Zen 5 and falls back to its
# Haswell (AVX2) kernels: 2048^3 SGEMM at ~125 GFLOP/s per core where its
# SkylakeX (AVX-512) kernels reach ~220. The strongest baseline uses them on
# any CPU with AVX-512 (unless the caller chose a core type).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=SkylakeX
fi

# Debian's packages live in the system interpreter; a pyenv or venv python3
# earlier on PATH would not see them.
exec /usr/bin/python3 bench/bench.py --build "$build" "$@"
