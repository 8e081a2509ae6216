#!/usr/bin/python3
"""The models of examples/sbi in plain PyTorch, trained as `nfc train`
trains them, with the command line of nfc's train and logprob.

Built from the layouts of docs/language.md, so that nfc's parameters load
unchanged and give nfc's log-densities (run.py checks it):

maf (gaussian_linear.nf, two_moons.nf): five conditional MAF layers, each a
  MADE whose inputs are the context (degree 0, read by every hidden unit)
  followed by u = the layer's input in natural order (u_k of degree k + 1);
  two tanh hidden layers of 50 units with degrees m_j = 1 + floor(j (D - 1) / 50);
  output rows k * 2 + p (p = 0: s, p = 1: t) reading the hidden units of
  degree <= k; the transformer z_k = u_k (softplus(s_k) + 1e-3) + t_k; then
  the dimensions reversed.
nsf (two_moons_nsf.nf): five rational-quadratic spline couplings (10 bins on
  [-3, 3], linear tails; bench/torch_flows.py's rq_spline, nfc's
  conventions), the k-th transforming the dims i with (i + k) odd, its MLP
  (two ReLU layers of 50) reading concat(x[untouched dims], context), the
  outputs parameter-major (row p * n_t + i).

Both have a standard normal base. Weights and biases uniform in
+-1/sqrt(fan_in) (nn.Linear's initialisation, as nfc's), masked weights 0.

Training as nfc's: theta and x standardised column by column (mean and
population standard deviation of all rows, validation rows included); a
seeded 10% of the rows held out; each epoch a fresh shuffle of the other
rows cut into floor(rows / batch) minibatches; Adam (0.9, 0.999, 1e-8) at
lr with a cosine decay to 0 over the steps; the validation NLL every
--eval-every steps and at the last, the best parameters kept. Float64, one
thread (nfc's defaults). The random streams (initialisation, split, batch
order) are numpy's and torch's, not nfc's: compare over seeds.

    torch_reference.py train MODEL.nf --data theta.npy --context-file x.npy --steps N --out q.pt
    torch_reference.py logprob MODEL.nf --params q.pt --data theta.npy --context-file x.npy -o lp.npy
    torch_reference.py logprob MODEL.nf --params q.safetensors ...   (nfc's parameters)

MODEL.nf is read only to recognise which of the two it is (and its dim and
context); a file that declares another architecture is refused.
"""

import argparse
import json
import math
import re
import struct
import sys
import time

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from torch_flows import rq_spline  # noqa: E402

LAYERS, HIDDEN, BINS, BOUND = 5, (50, 50), 10, 3.0
ARCHITECTURES = {
    "maf": ("transform sbi_affine(x; s, t) = x * (softplus(s) + 0.001) + t", "repeat 5 {",
            "maf sbi_affine(order = natural) { net = made(hidden = [50, 50], act = tanh) } permute reverse }"),
    "nsf": ("repeat 5 { coupling spline(mask = alternate, bins = 10, bound = 3) "
            "{ net = mlp(hidden = [50, 50], act = relu) } }",),
}


def check_model(path):
    """(architecture, dim, context) of MODEL.nf, one of ARCHITECTURES."""
    text = re.sub(r"#[^\n]*", "", open(path).read())
    m = re.search(r"flow\s+\w+\s*\(\s*dim\s*=\s*(\d+)\s*,\s*context\s*=\s*(\d+)\s*\)", text)
    body = " ".join(text.split())
    for arch, parts in ARCHITECTURES.items():
        if m and all(p in body for p in parts):
            return arch, int(m.group(1)), int(m.group(2))
    sys.exit(f"{path}: not a model torch_reference.py builds (see its docstring)")


class MaskedLinear(nn.Linear):
    def __init__(self, n_in, n_out, mask):
        super().__init__(n_in, n_out)  # uniform +-1/sqrt(n_in), weight and bias
        self.register_buffer("mask", mask)
        with torch.no_grad():
            self.weight.mul_(mask)

    def forward(self, h):
        return F.linear(h, self.weight * self.mask, self.bias)


def made_degrees(dim, width):
    return torch.tensor([1 + (j * (dim - 1)) // width if dim > 1 else 0 for j in range(width)])


class ConditionalMAF(nn.Module):
    def __init__(self, dim, context, hidden):
        super().__init__()
        self.dim = dim
        deg_in = torch.cat([torch.zeros(context, dtype=torch.long), torch.arange(1, dim + 1)])
        self.linears = nn.ModuleList()
        for width in hidden:
            deg = made_degrees(dim, width)
            self.linears.append(MaskedLinear(len(deg_in), width, (deg[:, None] >= deg_in[None, :]).double()))
            deg_in = deg
        deg_out = torch.arange(dim).repeat_interleave(2)  # row k * 2 + p belongs to position k
        self.linears.append(MaskedLinear(len(deg_in), 2 * dim, (deg_in[None, :] <= deg_out[:, None]).double()))

    def forward(self, u, c):
        h = torch.cat([c, u], 1)
        for lin in self.linears[:-1]:
            h = torch.tanh(lin(h))
        st = self.linears[-1](h).reshape(len(u), self.dim, 2)
        scale = F.softplus(st[..., 0]) + 1e-3
        return (u * scale + st[..., 1]).flip(1), torch.log(scale).sum(1)  # then 'permute reverse'


class ConditionalSplineCoupling(nn.Module):
    def __init__(self, dim, context, k, hidden):
        super().__init__()
        self.tr = [i for i in range(dim) if (i + k) % 2 == 1]  # mask = alternate
        self.id = [i for i in range(dim) if (i + k) % 2 == 0]
        widths = [len(self.id) + context, *hidden, (3 * BINS - 1) * len(self.tr)]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))

    def forward(self, x, c):
        h = torch.cat([x[:, self.id], c], 1)
        for lin in self.linears[:-1]:
            h = torch.relu(lin(h))
        p = self.linears[-1](h).reshape(len(x), 3 * BINS - 1, len(self.tr))  # parameter-major
        z, ld = x.clone(), torch.zeros(len(x), dtype=x.dtype)
        for i, d in enumerate(self.tr):
            z[:, d], l = rq_spline(x[:, d], p[:, :BINS, i], p[:, BINS:2 * BINS, i], p[:, 2 * BINS:, i], BOUND, False)
            ld = ld + l
        return z, ld


class NPE(nn.Module):
    def __init__(self, arch, dim, context):
        super().__init__()
        self.dim = dim
        if arch == "maf":
            self.layers = nn.ModuleList(ConditionalMAF(dim, context, HIDDEN) for _ in range(LAYERS))
            self.index = [2 * i for i in range(LAYERS)]  # nfc counts the permutations as layers
        else:
            self.layers = nn.ModuleList(ConditionalSplineCoupling(dim, context, k, HIDDEN) for k in range(LAYERS))
            self.index = list(range(LAYERS))

    def log_prob(self, u, c):
        ld = torch.zeros(len(u), dtype=u.dtype)
        for layer in self.layers:
            u, l = layer(u, c)
            ld = ld + l
        return -0.5 * (u * u).sum(1) - 0.5 * self.dim * math.log(2 * math.pi) + ld

    def nfc_tensors(self):
        """nfc's tensor names: layerL.net.wJ, layerL.net.bJ."""
        out = {}
        for i, layer in zip(self.index, self.layers):
            for j, lin in enumerate(layer.linears, 1):
                out[f"layer{i}.net.w{j}"] = lin.weight
                out[f"layer{i}.net.b{j}"] = lin.bias
        return out


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        dtype = {"F64": np.float64, "F32": np.float32}[t["dtype"]]
        b, e = t["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dtype).reshape(t["shape"]).astype(np.float64)
    return tensors, meta


def load(path, arch, dim, context):
    """A model and its standardisation (mean, scale of theta then x), from
    torch_reference's .pt or nfc's .safetensors."""
    model = NPE(arch, dim, context).double()
    if path.endswith(".safetensors"):
        tensors, meta = read_safetensors(path)
        with torch.no_grad():
            for name, p in model.nfc_tensors().items():
                p.copy_(torch.from_numpy(tensors[name]))
        st = json.loads(meta["nfc.standardize"])
        return model, np.array(st["mean"]), np.array(st["scale"])
    saved = torch.load(path)
    model.load_state_dict(saved["model"])
    return model, saved["mean"], saved["scale"]


def log_prob(model, mean, scale, theta, x):
    """log q(theta | x) in the data's units (the standardisation's log-det included)."""
    d = theta.shape[1]
    u = torch.from_numpy((theta - mean[:d]) / scale[:d])
    c = torch.from_numpy((x - mean[d:]) / scale[d:])
    with torch.no_grad():
        lp = torch.cat([model.log_prob(u[i:i + 65536], c[i:i + 65536]) for i in range(0, len(u), 65536)])
    return lp.numpy() - np.log(scale[:d]).sum()


def train(model_path, theta, x, steps, batch=256, lr=1e-3, val_frac=0.1, eval_every=100, seed=0):
    arch, dim, context = check_model(model_path)
    assert theta.shape[1] == dim and x.shape[1] == context and len(theta) == len(x)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = np.concatenate([theta, x], 1)
    mean, scale = rows.mean(0), rows.std(0)  # population standard deviation, as nfc
    scale[scale == 0] = 1
    data = torch.from_numpy((rows - mean) / scale)
    u, c = data[:, :dim], data[:, dim:]
    split = rng.permutation(len(rows))
    n_val = min(max(round(val_frac * len(rows)), 0), len(rows) - 1)
    val, tr = split[:n_val], split[n_val:]
    batch = min(batch, len(tr))
    per_epoch = len(tr) // batch
    model = NPE(arch, dim, context).double()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    best, best_step, best_state, order = math.inf, 0, None, None
    for step in range(steps):
        if step % per_epoch == 0:
            order = tr[rng.permutation(len(tr))]
        idx = torch.from_numpy(order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch])
        loss = -model.log_prob(u[idx], c[idx]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            with torch.no_grad():
                nll = -model.log_prob(u[val], c[val]).mean().item() + np.log(scale[:dim]).sum()
            if nll < best:
                best, best_step = nll, step + 1
                best_state = {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, mean, scale, best, best_step


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("model")
    t.add_argument("--data", required=True)
    t.add_argument("--context-file", required=True)
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--val-frac", type=float, default=0.1)
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="params.pt")
    lp = sub.add_parser("logprob")
    lp.add_argument("model")
    lp.add_argument("--params", required=True, help="a .pt of this script or nfc's .safetensors")
    lp.add_argument("--data", required=True)
    lp.add_argument("--context-file", required=True)
    lp.add_argument("-o", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    theta, x = np.load(a.data).astype(np.float64), np.load(a.context_file).astype(np.float64)
    if a.cmd == "train":
        start = time.perf_counter()
        model, mean, scale, best, best_step = train(a.model, theta, x, a.steps, a.batch, a.lr, a.val_frac,
                                                    a.eval_every, a.seed)
        torch.save({"model": model.state_dict(), "mean": mean, "scale": scale}, a.out)
        print(f"trained {a.model} in PyTorch for {a.steps} steps in {time.perf_counter() - start:.1f} s: "
              f"best val NLL {best:.4f} at step {best_step}")
    else:
        model, mean, scale = load(a.params, *check_model(a.model))
        np.save(a.o, log_prob(model, mean, scale, theta, x))


if __name__ == "__main__":
    main()
