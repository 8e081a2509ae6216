#!/usr/bin/python3
"""The Fashion-MNIST examples in PyTorch, trained as `nfc train` trains them.

Same model (bench/torch_flows.py builds it from the conventions of
docs/language.md), same data (the Debian package's IDX files), same
optimiser (Adam, lr 1e-3, cosine decay to 0), batch, steps and split (a
seeded 10% held out, not trained on); fresh dequantisation noise per step.
Reports the test set's bits/dim with one noise draw per row, as `nfc eval`
computes it, and the training throughput.

    /usr/bin/python3 examples/fashion/torch_reference.py maf --steps 2000
"""

import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import torch_flows  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n, h, w = (int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, h * w).astype(np.float32)


def bits_per_dim(flow, x, seed, batch=1000):
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch])
            xb = xb + torch.rand(xb.shape, generator=g)
            total -= flow.log_prob(xb).double().sum().item()
    return total / len(x) / (x.shape[1] * math.log(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["maf", "realnvp"])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clip", type=float, default=0, help="gradient norm bound, as nfc's --clip")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = read_idx_images(f"{DATA}/train-images-idx3-ubyte.gz")
    test = read_idx_images(f"{DATA}/t10k-images-idx3-ubyte.gz")
    order = np.random.default_rng(a.seed).permutation(len(train))
    held = len(train) // 10
    val, train = train[order[:held]], train[order[held:]]
    flow = torch_flows.build("fashion_" + a.model).to(torch.float32)
    opt = torch.optim.Adam(flow.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / a.steps)))
    rng = np.random.default_rng(a.seed + 1)
    start = time.perf_counter()
    for step in range(a.steps):
        idx = rng.integers(0, len(train), a.batch)
        xb = torch.from_numpy(train[idx])
        xb = xb + torch.rand(xb.shape)
        loss = -flow.log_prob(xb).mean()
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(flow.parameters(), a.clip)
        opt.step()
        sched.step()
        if (step + 1) % 200 == 0:
            print(f"step {step + 1}/{a.steps}  loss {loss.item():.2f}  "
                  f"{(step + 1) * a.batch / (time.perf_counter() - start):.0f} samples/s", flush=True)
    secs = time.perf_counter() - start
    print(f"torch {a.model}: {a.steps} steps of {a.batch} in {secs:.1f} s "
          f"({a.steps * a.batch / secs:.0f} samples/s); val {bits_per_dim(flow, val, 1):.4f} bits/dim, "
          f"test {bits_per_dim(flow, test, 1):.4f} bits/dim")


if __name__ == "__main__":
    main()
