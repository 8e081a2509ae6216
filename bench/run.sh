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

# The strongest baseline needs OpenBLAS's best kernels for this CPU, and
# detection can get them wrong: Debian's OpenBLAS 0.3.21 takes Zen 5 for
# Haswell (AVX2, ~125 GFLOP/s per core for a 2048^3 SGEMM) where its
# SkylakeX (AVX-512) kernels reach ~220, and an environment may pin a core
# type (OPENBLAS_CORETYPE). On AVX-512 CPUs both are measured and the
# faster kept for this run (bench.py reports which).
gemm_probe() {
  OPENBLAS_CORETYPE=$1 /usr/bin/python3 -c '
import time, torch
torch.set_num_threads(1)
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
torch.mm(a, b)
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    torch.mm(a, b)
    best = min(best, time.perf_counter() - t)
print(2 * 2048**3 / best / 1e9)'
}
if grep -qw avx512f /proc/cpuinfo; then
  given=${OPENBLAS_CORETYPE:-}
  g_given=$(gemm_probe "$given")
  g_skx=$(gemm_probe SkylakeX)
  echo "bench: OpenBLAS GEMM 1 thread: core '${given:-detected}' ${g_given%.*} GFLOP/s, SkylakeX ${g_skx%.*} GFLOP/s" >&2
  if awk "BEGIN{exit !($g_skx > 1.1 * $g_given)}"; then
    export OPENBLAS_CORETYPE=SkylakeX
  fi
fi

# Debian's packages live in the system interpreter; a pyenv or venv python3
# earlier on PATH would not see them.
exec /usr/bin/python3 bench/bench.py --build "$build" "$@"
