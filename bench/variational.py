#!/usr/bin/python3
"""Reverse-KL (variational) training, nfc against PyTorch (issue 14).

The same flow (RealNVP, soft-clamped affine couplings), the same target, the
same initial weights (nfc's, loaded into PyTorch), optimiser (Adam, cosine
schedule), steps, batch and float32. Each side draws its own base noise.
Reported: training steps per second at 1 and 2 threads and their ratio
(seed 0), and the final ELBO on 4096 fresh draws over seeds 0, 1, 2 (mean
and spread: one run's ELBO varies by tenths of a nat with the seed, so one
seed decides nothing); KL = log Z - ELBO where log Z is known.

  V1  banana (2-D, log Z = log 4 pi), RealNVP 8 couplings, 2000 steps, batch 256
  V2  Bayesian logistic regression on the breast-cancer data (31-D), RealNVP
      4 couplings, 2000 steps, batch 256

Usage: bench/variational.py --build DIR [--threads 1,2] [--json OUT]
(bench/run.sh --variational builds DIR and installs PyTorch first.)"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_flows as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STEPS, BATCH, LR, EVAL, SEEDS = 2000, 256, 3e-3, 4096, (0, 1, 2)


def logistic_data():
    X = np.loadtxt(os.path.join(ROOT, "examples/variational/breast_cancer_X.csv"), delimiter=",",
                   skiprows=1, dtype=np.float32)
    y = np.loadtxt(os.path.join(ROOT, "examples/variational/breast_cancer_y.csv"), delimiter=",",
                   skiprows=1, dtype=np.float32)
    return torch.from_numpy(X), torch.from_numpy(y)


def banana(x):
    return -x[:, 0] ** 2 / 8 - 0.5 * (x[:, 1] - x[:, 0] ** 2 / 4) ** 2


def make_logistic():
    X, y = logistic_data()

    def logp(w):
        eta = w @ X.T  # [n, rows]
        return (y * eta - F.softplus(eta)).sum(1) - 0.5 * (w * w).sum(1)
    return logp


WORKLOADS = {
    "V1": dict(flow="realnvp2d", target="banana", log_z=math.log(4 * math.pi),
               torch_flow=lambda: tf.Flow(2, [tf.AffineCoupling(2, k, [64, 64]) for k in range(8)]),
               torch_target=lambda: banana),
    "V2": dict(flow="realnvp31", target="logistic", log_z=None,
               torch_flow=lambda: tf.Flow(31, [tf.AffineCoupling(31, k, [64, 64]) for k in range(4)]),
               torch_target=make_logistic),
}


def sample_and_log_q(flow, z):
    """x = g(z) through the couplings' inverses, with log q(x)."""
    d = z.shape[1]
    log_q = -0.5 * (z * z).sum(1) - 0.5 * d * math.log(2 * math.pi)
    for layer in reversed(flow.layers):
        s, t = layer._st(z[:, layer.id])
        x = z.clone()
        x[:, layer.tr] = (z[:, layer.tr] - t) * torch.exp(-s)
        log_q = log_q + s.sum(1)  # log q(x) = log q(z) - log|det g'| = ... + sum s
        z = x
    return z, log_q


def torch_run(w, init, threads, seed):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    flow = w["torch_flow"]()
    flow.load_nfc(init)
    target = w["torch_target"]()
    opt = torch.optim.Adam(flow.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(1.0, t / STEPS))))
    d = flow.dim
    start = time.perf_counter()
    for _ in range(STEPS):
        z = torch.randn(BATCH, d)
        x, log_q = sample_and_log_q(flow, z)
        loss = (log_q - target(x)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    secs = time.perf_counter() - start
    with torch.no_grad():
        x, log_q = sample_and_log_q(flow, torch.randn(EVAL, d))
        elbo = float((target(x) - log_q).double().mean())
    return {"steps_per_s": STEPS / secs, "elbo": elbo}


def nfc_run(nfc, w, threads, work, seed):
    flow = os.path.join(HERE, "models", w["flow"] + ".nf")
    target = os.path.join(HERE, "models", "targets.nf") + ":" + w["target"]
    out = os.path.join(work, f"{w['target']}_{threads}.safetensors")
    js = os.path.join(work, f"{w['target']}_{threads}.json")
    subprocess.run([nfc, "train", flow, "--target", target, "--precision", "f32", "--steps",
                    str(STEPS), "--batch", str(BATCH), "--lr", str(LR), "--eval-every", str(STEPS),
                    "--eval-samples", str(EVAL), "--threads", str(threads), "--seed", str(seed),
                    "--out", out, "--json", js, "-q"], check=True, capture_output=True, text=True)
    with open(js) as f:
        m = json.load(f)
    return {"steps_per_s": STEPS / m["seconds"], "elbo": m["variational"]["elbo"]}


def initial_weights(nfc, w, work, seed):
    """nfc's initialisation: a one-step run whose step changes nothing."""
    flow = os.path.join(HERE, "models", w["flow"] + ".nf")
    target = os.path.join(HERE, "models", "targets.nf") + ":" + w["target"]
    out = os.path.join(work, "init.safetensors")
    subprocess.run([nfc, "train", flow, "--target", target, "--steps", "1", "--lr", "1e-300",
                    "--seed", str(seed), "--out", out, "-q"], check=True, capture_output=True,
                   text=True)
    return tf.read_safetensors(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--workloads", default="V1,V2")
    ap.add_argument("--json")
    a = ap.parse_args()
    nfc = os.path.join(a.build, "nfc")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    threads = [int(t) for t in a.threads.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as work:
        for wid in a.workloads.split(","):
            w = WORKLOADS[wid]
            r = {"id": wid, "speed": {}, "elbo": {"nfc": [], "torch": []}}
            for seed in SEEDS:
                init = initial_weights(nfc, w, work, seed)
                for t in threads if seed == SEEDS[0] else threads[:1]:
                    n = nfc_run(nfc, w, t, work, seed)
                    p = torch_run(w, init, t, seed)
                    print(f"{wid} seed {seed} {t} thr: nfc {n}  torch {p}", file=sys.stderr,
                          flush=True)
                    if seed == SEEDS[0]:
                        r["speed"][str(t)] = {"nfc": n["steps_per_s"], "torch": p["steps_per_s"]}
                    if t == threads[0]:
                        r["elbo"]["nfc"].append(n["elbo"])
                        r["elbo"]["torch"].append(p["elbo"])
            results.append(r)
    print(f"Reverse-KL training, float32, {STEPS} steps of batch {BATCH}, Adam lr {LR} cosine; "
          f"CPU {cpu}; PyTorch {torch.__version__}\n")
    print("| workload | threads | nfc steps/s | PyTorch steps/s | nfc / PyTorch |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        for t, v in r["speed"].items():
            print(f"| {r['id']} {WORKLOADS[r['id']]['target']} | {t} | {v['nfc']:.0f} | "
                  f"{v['torch']:.0f} | {v['nfc'] / v['torch']:.2f} |")
    print(f"\n| workload | log Z | nfc ELBO (seeds {', '.join(map(str, SEEDS))}) | PyTorch ELBO | "
          "nfc KL | PyTorch KL |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        w = WORKLOADS[r["id"]]
        stats = {k: (float(np.mean(v)), float(np.std(v))) for k, v in r["elbo"].items()}
        kl = (lambda m: f"{w['log_z'] - m:.4f}") if w["log_z"] is not None else (lambda m: "-")
        lz = f"{w['log_z']:.4f}" if w["log_z"] is not None else "-"
        print(f"| {r['id']} {w['target']} | {lz} | {stats['nfc'][0]:.4f} +- {stats['nfc'][1]:.4f} | "
              f"{stats['torch'][0]:.4f} +- {stats['torch'][1]:.4f} | {kl(stats['nfc'][0])} | "
              f"{kl(stats['torch'][0])} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu, "torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
