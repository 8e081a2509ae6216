"""PyTorch reference implementations of the benchmark workloads (issue 7).

Plain torch modules in the style of nflows / the MAF paper's code, written
from the conventions of docs/language.md so that the same weights give the
same density as nfc:

- an MLP conditioner `layerL.net.w1, b1, w2, ...` is nn.Linear layers with
  weight [out, in] (h' = W h + b), ReLU between them; L counts every layer
  of the unrolled flow, permutations included;
- a coupling's conditioner reads the identity dims in increasing order; its
  outputs are parameter-major: row p * n_t + i is parameter p of
  transformed dim i (affine: p = 0 log-scale s, p = 1 shift t);
- `mask = alternate`: the k-th coupling transforms dims i with (i + k) % 2 == 1;
- MADE (Germain et al. 2015): input u_i has degree i + 1, hidden unit j of a
  layer of width H has degree 1 + floor(j (D - 1) / H), a unit reads the
  units of the previous layer with degree <= its own, and output row
  k * P + p (parameter p of position k) reads hidden units of degree <= k;
- the spline is nflows' rational-quadratic spline with linear tails, with
  nfc's two documented differences: boundary knot derivatives exactly 1 and
  no 1/sqrt(hidden) rescaling of width and height logits.

The modules are dtype-agnostic (float32 for timing, float64 for the
correctness check). Sampling is done the way an eager framework does it:
a MAF inverse re-runs the whole MADE once per dimension.
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- safetensors


def read_safetensors(path):
    """name -> float64 numpy array (header: u64 LE length, JSON, raw data)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F64": np.float64, "F32": np.float32}[t["dtype"]]
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dtype).reshape(t["shape"]).astype(np.float64)
    return out


def write_safetensors(path, tensors):
    """Writes name -> array as F64 tensors."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
        b = a.tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---------------------------------------------------------------- layers


def mlp(n_in, hidden, n_out):
    layers, w = [], n_in
    for h in hidden:
        layers += [nn.Linear(w, h), nn.ReLU()]
        w = h
    layers.append(nn.Linear(w, n_out))
    return nn.Sequential(*layers)


def mlp_tensors(prefix, seq):
    """nfc's tensor names for an nn.Sequential of Linear/ReLU."""
    out, j = {}, 1
    for m in seq:
        if isinstance(m, nn.Linear):
            out[f"{prefix}.net.w{j}"] = m.weight
            out[f"{prefix}.net.b{j}"] = m.bias
            j += 1
    return out


class AffineCoupling(nn.Module):
    """z_T = x_T * exp(s) + t, s soft-clamped to (-2, 2) by 2 tanh(s / 2)."""

    def __init__(self, dim, k, hidden):
        super().__init__()
        self.tr = [i for i in range(dim) if (i + k) % 2 == 1]
        self.id = [i for i in range(dim) if (i + k) % 2 == 0]
        self.net = mlp(len(self.id), hidden, 2 * len(self.tr))

    def _st(self, xid):
        h = self.net(xid)
        n = len(self.tr)
        s, t = h[:, :n], h[:, n:]
        return 2 * torch.tanh(s / 2), t

    def forward(self, x):
        s, t = self._st(x[:, self.id])
        z = x.clone()
        z[:, self.tr] = x[:, self.tr] * torch.exp(s) + t
        return z, s.sum(1)

    def inverse(self, z):
        s, t = self._st(z[:, self.id])
        x = z.clone()
        x[:, self.tr] = (z[:, self.tr] - t) * torch.exp(-s)
        return x


def _knots(u, B, min_size):
    K = u.shape[-1]
    w = min_size + (1 - min_size * K) * torch.softmax(u, dim=-1)
    c = F.pad(torch.cumsum(w, dim=-1), (1, 0))
    c = 2 * B * c - B
    c[..., 0] = -B
    c[..., -1] = B
    return c, c[..., 1:] - c[..., :-1]


def _bin(v, knots):
    # nflows' searchsorted: the last k with knots_k <= v (v = B: last bin)
    K = knots.shape[-1] - 1
    return (torch.sum(v[:, None] >= knots[:, :K], dim=-1) - 1).clamp(0, K - 1)[:, None]


def rq_spline(v, uw, uh, ud, B, inverse, min_w=1e-3, min_h=1e-3, min_d=1e-3):
    """Rational-quadratic spline on [-B, B], identity outside. v: [N];
    uw, uh: [N, K]; ud: [N, K - 1]. Returns (output, log|d out / d v|)."""
    inside = (v >= -B) & (v <= B)
    vc = v.clamp(-B, B)
    X, W = _knots(uw, B, min_w)
    Y, H = _knots(uh, B, min_h)
    D = F.pad(min_d + F.softplus(ud), (1, 1), value=1.0)
    k = _bin(vc, Y if inverse else X)
    g = lambda a: a.gather(-1, k)[:, 0]
    Xk, Wk, Yk, Hk, Dk, Dk1 = g(X), g(W), g(Y), g(H), g(D), D.gather(-1, k + 1)[:, 0]
    s = Hk / Wk
    if inverse:
        dy = vc - Yk
        a = Hk * (s - Dk) + dy * (Dk1 + Dk - 2 * s)
        b = Hk * Dk - dy * (Dk1 + Dk - 2 * s)
        c = -s * dy
        disc = (b * b - 4 * a * c).clamp_min(0)
        theta = 2 * c / (-b - torch.sqrt(disc))
        out = theta * Wk + Xk
    else:
        theta = (vc - Xk) / Wk
    tt = theta * (1 - theta)
    den = s + (Dk1 + Dk - 2 * s) * tt
    logd = torch.log(s * s * (Dk1 * theta**2 + 2 * s * tt + Dk * (1 - theta) ** 2)) - 2 * torch.log(den)
    if not inverse:
        out = Yk + Hk * (s * theta**2 + Dk * tt) / den
    else:
        logd = -logd
    return torch.where(inside, out, v), torch.where(inside, logd, torch.zeros_like(logd))


class SplineCoupling(nn.Module):
    def __init__(self, dim, k, hidden, bins=8, bound=3.0):
        super().__init__()
        self.tr = [i for i in range(dim) if (i + k) % 2 == 1]
        self.id = [i for i in range(dim) if (i + k) % 2 == 0]
        self.K, self.B = bins, bound
        self.net = mlp(len(self.id), hidden, (3 * bins - 1) * len(self.tr))

    def _spline(self, x, inverse):
        n, K = len(self.tr), self.K
        h = self.net(x[:, self.id]).reshape(x.shape[0], 3 * K - 1, n)  # parameter-major
        y = x.clone()
        ld = torch.zeros(x.shape[0], dtype=x.dtype)
        for i, d in enumerate(self.tr):
            p = h[:, :, i]
            y[:, d], l = rq_spline(x[:, d], p[:, :K], p[:, K : 2 * K], p[:, 2 * K :], self.B, inverse)
            ld = ld + l
        return y, ld

    def forward(self, x):
        return self._spline(x, False)

    def inverse(self, z):
        return self._spline(z, True)[0]


class MaskedLinear(nn.Linear):
    def __init__(self, n_in, n_out, mask):
        super().__init__(n_in, n_out)
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


def made_degrees(dim, width):
    return [1 + (j * (dim - 1)) // width if dim > 1 else 0 for j in range(width)]


class MAF(nn.Module):
    """z_k = u_k exp(s_k) + t_k with (s, t) of position k from a MADE of
    u_0..u_{k-1}; natural order, no clamp (bench/models/maf*.nf)."""

    def __init__(self, dim, hidden, P=2, clamp=False):
        super().__init__()
        self.dim, self.P, self.clamp = dim, P, clamp
        deg_in = torch.arange(1, dim + 1)
        layers = []
        for h in hidden:
            deg = torch.tensor(made_degrees(dim, h))
            layers += [MaskedLinear(len(deg_in), h, (deg_in[None, :] <= deg[:, None]).double()), nn.ReLU()]
            deg_in = deg
        deg_out = torch.arange(dim).repeat_interleave(P)  # row k * P + p: position k
        layers.append(MaskedLinear(len(deg_in), dim * P, (deg_in[None, :] <= deg_out[:, None]).double()))
        self.net = nn.Sequential(*layers)

    def _st(self, u):
        h = self.net(u).reshape(u.shape[0], self.dim, self.P)
        s = 2 * torch.tanh(h[..., 0] / 2) if self.clamp else h[..., 0]
        return s, h[..., 1]

    def forward(self, x):
        s, t = self._st(x)
        return x * torch.exp(s) + t, s.sum(1)

    def inverse(self, z):
        x = torch.zeros_like(z)
        for k in range(self.dim):  # one MADE pass per position
            s, t = self._st(x)
            x[:, k] = (z[:, k] - t[:, k]) * torch.exp(-s[:, k])
        return x


class Dequantize(nn.Module):
    """`dequantize(levels = L)`: x + u (u added by the caller) onto [0, 1)."""

    def __init__(self, levels):
        super().__init__()
        self.levels = levels

    def forward(self, x):
        return x / self.levels, torch.full((x.shape[0],), -x.shape[1] * math.log(self.levels), dtype=x.dtype)

    def inverse(self, z):
        return z * self.levels


class SqueezedLogit(nn.Module):
    """`elementwise logit(alpha = a)`: logit(a + (1 - 2a) x)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        p = self.alpha + (1 - 2 * self.alpha) * x
        ld = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).sum(1)
        return torch.log(p) - torch.log1p(-p), ld

    def inverse(self, z):
        return (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)


class Reverse(nn.Module):
    def forward(self, x):
        return x.flip(1), torch.zeros(x.shape[0], dtype=x.dtype)

    def inverse(self, z):
        return z.flip(1)


class Flow(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(layers)

    def log_prob(self, x):
        ld = torch.zeros(x.shape[0], dtype=x.dtype)
        for layer in self.layers:
            x, l = layer(x)
            ld = ld + l
        return -0.5 * (x * x).sum(1) - 0.5 * self.dim * math.log(2 * math.pi) + ld

    def forward(self, x):  # for torch.jit.trace
        return self.log_prob(x)

    def sample(self, n):
        z = torch.randn(n, self.dim, dtype=next(self.parameters()).dtype)
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def nfc_tensors(self):
        """nfc tensor name -> parameter (the documented layout)."""
        out = {}
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "net"):
                out.update(mlp_tensors(f"layer{i}", layer.net))
        return out

    def load_nfc(self, tensors):
        with torch.no_grad():
            for name, p in self.nfc_tensors().items():
                p.copy_(torch.from_numpy(tensors[name]).to(p.dtype))


def build(name):
    if name == "realnvp2d":
        return Flow(2, [AffineCoupling(2, k, [64, 64]) for k in range(8)])
    if name == "nsf2d":
        return Flow(2, [SplineCoupling(2, k, [64, 64]) for k in range(4)])
    if name in ("maf8d", "maf64d"):
        d, h = (8, 128) if name == "maf8d" else (64, 512)
        layers = []
        for _ in range(5):
            layers += [MAF(d, [h, h]), Reverse()]
        return Flow(d, layers)
    if name == "maf784":  # bench/models/maf784.nf
        layers = []
        for _ in range(5):
            layers += [MAF(784, [1024], clamp=True), Reverse()]
        return Flow(784, layers)
    if name == "fashion_maf":  # examples/fashion/maf.nf
        layers = [Dequantize(256), SqueezedLogit(0.05)]
        for _ in range(5):
            layers += [MAF(784, [1024], clamp=True), Reverse()]
        return Flow(784, layers)
    if name == "fashion_realnvp":  # examples/fashion/realnvp.nf
        layers = [Dequantize(256), SqueezedLogit(0.05)]
        layers += [AffineCoupling(784, k, [1024, 1024]) for k in range(6)]
        return Flow(784, layers)
    raise ValueError(name)


def dense_macs(flow):
    """Multiply-adds of the conditioners' dense matrix products per sample:
    the FLOP convention of the report (2 per multiply-add; masked MADE
    entries counted, as a dense framework computes them)."""
    return sum(m.weight.numel() for m in flow.modules() if isinstance(m, nn.Linear))
