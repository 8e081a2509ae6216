#!/usr/bin/python3
"""What `import nfc` costs over the C++ API: log_prob on the same model
and batch (4096 rows by default), timed the same way (bench/BestOf.hpp:
a warm-up call, then the best of 5 rounds of at least 0.2 s), from Python
through nfc.Model.log_prob on a C-contiguous array of the model's dtype
and from C++ through Model::log_prob's zero-copy form (nfc_bench_api).

    /usr/bin/python3 bench/python_api.py --build build-bench [--rows 4096]
"""
import argparse
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def best_seconds_per_call(call):
    call()
    best = float("inf")
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while True:
            call()
            calls += 1
            seconds = time.perf_counter() - start
            if seconds >= 0.2:
                break
        best = min(best, seconds / calls)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--models", default="examples/moons.nf,bench/models/maf8d.nf")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    sys.path.insert(0, str(build / "python"))
    import nfc

    print(f"import nfc against the C++ API: log_prob on {args.rows} rows (best of 5 x 0.2 s)")
    print(f"{'model':<24}{'prec':>5}{'thr':>4}{'C++ us':>10}{'Python us':>11}{'overhead':>10}")
    worst = 0.0
    for model_path in args.models.split(","):
        for precision in ("f32", "f64"):
            for threads in (1, 2):
                m = nfc.compile(ROOT / model_path, precision=precision, threads=threads)
                x = np.random.default_rng(0).normal(size=(args.rows, m.dim)).astype(m.dtype)
                py = best_seconds_per_call(lambda: m.log_prob(x))
                m.close()
                cpp = float(subprocess.run(
                    [str(build / "nfc_bench_api"), str(ROOT / model_path), precision,
                     str(threads), str(args.rows)],
                    check=True, capture_output=True, text=True).stdout)
                overhead = py / cpp - 1
                worst = max(worst, overhead)
                print(f"{pathlib.Path(model_path).stem:<24}{precision:>5}{threads:>4}"
                      f"{cpp * 1e6:>10.1f}{py * 1e6:>11.1f}{overhead * 100:>9.1f}%")
    print(f"largest overhead: {worst * 100:.1f}% (target: under 5%)")


if __name__ == "__main__":
    main()
