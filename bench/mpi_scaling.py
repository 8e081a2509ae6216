#!/usr/bin/python3
"""Data-parallel training under mpirun (issue 16), measured and modelled.

For each workload W1-W4 (bench/bench.py's models and training batches,
float32) this trains on 20,000 rows of .npy data with
  - one process, 1 thread,
  - mpirun -np 2, 1 thread per rank (the same global batch, B/2 per rank),
  - one process, 2 threads (the other way to use the two cores),
and prints samples/s and the share of each step spent in the gradient's
sum over the ranks (MPI_Allreduce of P + 2 doubles, waiting for the slower
rank included; nfc train --json's communication_seconds over seconds).

Then it models a cluster from the measured compute time per sample t_s
(one process, 1 thread) and the allreduce message (8 (P + 2) bytes), with a
ring allreduce: t_ar(N) = 2 (N - 1) / N * bytes / bandwidth + 2 (N - 1) * latency.
  strong scaling (global batch B): step = t_s B / N + t_ar(N)
  weak scaling (local batch b = B): step = t_s B + t_ar(N)
and names, per network, the N from which the allreduce takes longer than
the compute of a step (strong scaling).

    /usr/bin/python3 bench/mpi_scaling.py --build build-bench [--workloads W1,W2,W3,W4]
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKLOADS = {  # id: (model, batch, steps): steps for a run of a few seconds
    "W1": ("realnvp2d", 512, 3000),
    "W2": ("maf8d", 512, 2000),
    "W3": ("nsf2d", 512, 1000),
    "W4": ("maf64d", 256, 400),
}
NETWORKS = {  # name: (bytes/s, latency s) of one link, as MPI sees it
    "10 GbE": (1.1e9, 20e-6),
    "100 Gb/s InfiniBand": (11e9, 2e-6),
}


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def train(nfc, model, data, batch, steps, processes, threads, work):
    out = os.path.join(work, "p.safetensors")
    metrics = os.path.join(work, "m.json")
    cmd = [nfc, "train", model, "--data", data, "--precision", "f32", "--steps", str(steps),
           "--batch", str(batch), "--eval-every", str(steps), "--val-frac", "0", "--schedule",
           "constant", "--threads", str(threads), "--seed", "1", "-q", "--out", out, "--json",
           metrics]
    if processes > 1:
        cmd = [shutil.which("mpirun"), "--allow-run-as-root", "--oversubscribe", "-np",
               str(processes), "--bind-to", "core"] + cmd
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(metrics) as f:
        m = json.load(f)
    return steps * batch / m["seconds"], m["communication_seconds"] / m["seconds"]


def parameters(nfc, model):
    r = subprocess.run([nfc, "compile", model], check=True, capture_output=True, text=True)
    return int(re.search(r"^parameters: (\d+)$", r.stdout, re.M).group(1))


def allreduce_seconds(n, message_bytes, network):
    bandwidth, latency = NETWORKS[network]
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * message_bytes / bandwidth + 2 * (n - 1) * latency


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--workloads", default="W1,W2,W3,W4")
    a = ap.parse_args()
    nfc = os.path.join(a.build, "nfc")
    if shutil.which("mpirun") is None:
        sys.exit("bench: mpirun not found (openmpi-bin)")
    print(f"\nnfc train under mpirun, float32, 20000 rows, on {cpu_model()} "
          f"({os.cpu_count()} cores)\n")
    print("| workload | params | batch | 1 process, 1 thread | 2 ranks x 1 thread | speed-up "
          "| in the sum (2 ranks) | 1 process, 2 threads |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    measured = {}
    with tempfile.TemporaryDirectory() as work:
        for w in a.workloads.split(","):
            name, batch, steps = WORKLOADS[w]
            model = str(ROOT / "bench" / "models" / f"{name}.nf")
            data = os.path.join(work, f"{name}.npy")
            subprocess.run([nfc, "sample", model, "-n", "20000", "--seed", "2", "--precision",
                            "f32", "-o", data], check=True, capture_output=True)
            p = parameters(nfc, model)
            one, _ = train(nfc, model, data, batch, steps, 1, 1, work)
            two, share = train(nfc, model, data, batch, steps, 2, 1, work)
            threads, _ = train(nfc, model, data, batch, steps, 1, 2, work)
            measured[w] = (name, p, batch, one)
            print(f"| {w} {name} | {p} | {batch} | {one:,.0f}/s | {two:,.0f}/s | {two / one:.2f}x "
                  f"| {100 * share:.1f}% | {threads:,.0f}/s |")

    print("\nModel of a cluster (ring allreduce of 8 (P + 2) bytes; t_s measured above, "
          "one process, 1 thread per rank):\n")
    print("| workload | t_s | message | network | strong: efficiency at N = 8, 32 "
          "| allreduce > compute from N = | weak (b = B): efficiency at N = 64 |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for w, (name, p, batch, one) in measured.items():
        t_s = 1 / one
        message = 8 * (p + 2)
        for net in NETWORKS:
            def strong(n):
                step = t_s * batch / n + allreduce_seconds(n, message, net)
                return t_s * batch / (n * step)
            crossover = next((n for n in range(2, 1 << 16)
                              if allreduce_seconds(n, message, net) > t_s * batch / n), None)
            weak = t_s * batch / (t_s * batch + allreduce_seconds(64, message, net))
            print(f"| {w} {name} | {t_s * 1e6:.2f} µs | {message / 1e6:.2f} MB | {net} "
                  f"| {100 * strong(8):.0f}%, {100 * strong(32):.0f}% | {crossover} "
                  f"| {100 * weak:.0f}% |")


if __name__ == "__main__":
    main()
