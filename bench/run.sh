#!/usr/bin/env bash
# The side-by-side benchmark of issue 7 (nfc vs PyTorch, float32, 1 and 2
# threads): builds nfc in Release in build-bench, installs Debian's PyTorch,
# NumPy, scikit-learn and OpenBLAS if missing, then runs bench/bench.py,
# which checks log_prob agreement on shared weights before timing anything.
# Usage: bench/run.sh [--json OUT.json] [--threads 1,2] [--workloads W1,W2,W3,W4,W5] [--skip-check]
#        bench/run.sh --variational [--json OUT.json] [--threads 1,2]   (bench/variational.py:
#        reverse-KL training against PyTorch, issue 14)
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
cmake --build "$build" -j "${JOBS:-2}" --target nfc nfc_bench_throughput nfc_bench_api nfc_python

# The strongest baseline needs OpenBLAS's best kernels for this CPU, and an
# environment may pin a core type: this machine sets OPENBLAS_CORETYPE=Haswell
# (AVX2), where a 2048^3 SGEMM runs at ~120 GFLOP/s per core, against ~240
# with the core OpenBLAS detects itself (AVX-512). The given core type, the
# detected one and SkylakeX are measured and the fastest is kept for this
# run (bench.py reports which).
gemm_probe() {  # $1: a core type, or empty for OpenBLAS's own detection
  local env=(env -u OPENBLAS_CORETYPE)
  [ -z "$1" ] || env=(env "OPENBLAS_CORETYPE=$1")
  "${env[@]}" /usr/bin/python3 -c '
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
best_core=${OPENBLAS_CORETYPE:-} best_gflops=0
for core in "${OPENBLAS_CORETYPE:-}" "" SkylakeX; do
  g=$(gemm_probe "$core")
  echo "bench: OpenBLAS core '${core:-detected}': 2048^3 SGEMM ${g%.*} GFLOP/s on 1 thread" >&2
  if awk "BEGIN{exit !($g > $best_gflops)}"; then best_core=$core best_gflops=$g; fi
done
if [ -n "$best_core" ]; then export OPENBLAS_CORETYPE=$best_core; else unset OPENBLAS_CORETYPE; fi

# Debian's packages live in the system interpreter; a pyenv or venv python3
# earlier on PATH would not see them.
if [ "${1:-}" = "--variational" ]; then
  shift
  exec /usr/bin/python3 bench/variational.py --build "$build" "$@"
fi
/usr/bin/python3 bench/bench.py --build "$build" "$@"
# Emitted C++ against the JIT on the same machine (issue 19: within 1.5x).
bash bench/emit_cpp.sh "$build"
# import nfc against the C++ API (issue 17: under 5% at 4096 rows), and
# nfc's gradient inside torch.autograd against the PyTorch reference.
/usr/bin/python3 bench/python_api.py --build "$build"
PYTHONPATH="$build/python" /usr/bin/python3 examples/python/torch_interop.py --check
# nfc train under mpirun against one process (issue 16), and a model of a cluster.
/usr/bin/python3 bench/mpi_scaling.py --build "$build"
