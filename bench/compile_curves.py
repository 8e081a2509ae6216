#!/usr/bin/python3
"""Cold compile time (all entry points, O2, no JIT cache) against the
dimension for each layer kind, and against the depth of a stack: the curves
of issue 20 for docs/bench.md. Prints one markdown table per curve.

Usage: bench/compile_curves.py [--nfc build-bench/nfc] [--precision f32]
                               [--dims 2,4,...] [--depths 1,3,...] [--timeout 300]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# {kind: the body of one layer at dimension D}; four layers of each, with
# random permutations between them, as a tabular model would have.
KINDS = {
    "coupling affine": "coupling affine(mask = alternate) { net = mlp(hidden = [64, 64], act = relu); "
                       "s = 2 * tanh(s / 2) }",
    "coupling spline": "coupling spline(mask = alternate, bins = 8, bound = 3) { net = mlp(hidden = [64, 64]) }",
    "maf affine": "maf affine { net = made(hidden = [128, 128], act = relu) }",
    "maf spline": "maf spline(bins = 8, bound = 3) { net = made(hidden = [128, 128], act = relu) }",
    "iaf affine": "iaf affine { net = made(hidden = [128, 128], act = relu) }",
}
DEPTH_DIM = 8


def model(dim, layer, depth):
    return (f"flow curve(dim = {dim}, base = normal) {{ repeat {depth} {{ {layer}; "
            f"permute random(seed = 1) }} }}\n")


def compile_ms(nfc, precision, source, timeout):
    """Total compile time in ms as nfc reports it, None past the timeout, or
    "too large" where nfc refuses the model."""
    with tempfile.NamedTemporaryFile("w", suffix=".nf", delete=False) as f:
        f.write(source)
        path = f.name
    try:
        out = subprocess.run([nfc, "compile", path, "--precision", precision, "--no-cache"],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.unlink(path)
    if out.returncode != 0 and "too large to compile" in out.stderr:
        return "too large"  # nfc's graph-size limit: said, not timed
    if out.returncode != 0:
        sys.exit(f"compile_curves: nfc failed on\n{source}{out.stderr}")
    match = re.search(r"total ([0-9.]+) ms", out.stdout + out.stderr)
    if not match:
        sys.exit(f"compile_curves: no compile time in nfc's output:\n{out.stdout}")
    return float(match.group(1))


def cell(ms, timeout):
    if isinstance(ms, str):
        return ms
    return f"> {timeout} s" if ms is None else f"{ms / 1000:.2f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nfc", default="build-bench/nfc")
    p.add_argument("--precision", default="f32")
    p.add_argument("--dims", default="2,4,8,16,32,64,128,256,784")
    p.add_argument("--depths", default="1,3,10,30,100,300")
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated layer kinds")
    a = p.parse_args()
    dims = [int(d) for d in a.dims.split(",") if d]
    depths = [int(d) for d in a.depths.split(",") if d]

    if dims:
        print(f"Cold compile time in seconds, 4 layers, {a.precision}, against the dimension D\n")
        print("| layer kind | " + " | ".join(f"D = {d}" for d in dims) + " |")
        print("| --- |" + " ---: |" * len(dims))
        for kind in a.kinds.split(","):
            layer = KINDS[kind]
            row = [cell(compile_ms(a.nfc, a.precision, model(d, layer, 4), a.timeout), a.timeout)
                   for d in dims]
            print(f"| {kind} | " + " | ".join(row) + " |", flush=True)
    if depths:
        print(f"\nCold compile time in seconds, D = {DEPTH_DIM}, {a.precision}, against the number "
              "of layers\n")
        print("| layer kind | " + " | ".join(f"{d}" for d in depths) + " |")
        print("| --- |" + " ---: |" * len(depths))
        for kind in ("coupling affine", "maf affine"):
            row = [cell(compile_ms(a.nfc, a.precision, model(DEPTH_DIM, KINDS[kind], d), a.timeout),
                        a.timeout) for d in depths]
            print(f"| {kind} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
