#!/usr/bin/python3
"""nfc inside PyTorch: the flow's mean NLL and its gradient, computed by
nfc's compiled code, as a torch.autograd.Function — so a PyTorch optimiser
(or any torch code around it) trains an nfc model.

Checked against the PyTorch reference of the same RealNVP
(bench/torch_flows.py) on shared weights: the loss and every gradient
entry agree to float64 round-off; then torch.optim.Adam trains the flow
through nfc and the loss falls.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/torch_interop.py [--check]
"""
import argparse
import pathlib
import sys

import numpy as np
import torch

import nfc

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "bench"))
import torch_flows  # noqa: E402  (the bench's PyTorch reference models)


class NfcNLL(torch.autograd.Function):
    """loss = nfc_model's mean -log p(x) at the parameter vector theta."""

    @staticmethod
    def forward(ctx, theta, x, model):
        model.param_vector = theta.detach().cpu().numpy()
        loss, grad = model.nll_and_grad(x, flat=True)
        ctx.save_for_backward(torch.from_numpy(grad).to(theta.dtype))
        return theta.new_tensor(loss)

    @staticmethod
    def backward(ctx, upstream):
        (grad,) = ctx.saved_tensors
        return upstream * grad, None, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="exit 1 if a check fails")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    ok = True

    model = nfc.compile(HERE.parent / "moons.nf", precision="f64")
    model.init_params(1)
    x = nfc.builtin_data("moons", 512, seed=0)

    # The same flow in PyTorch (4 affine couplings, MLP [64, 64]) on nfc's weights.
    reference = torch_flows.Flow(2, [torch_flows.AffineCoupling(2, k, [64, 64])
                                     for k in range(4)]).double()
    reference.load_nfc(model.params)
    ref_loss = -reference.log_prob(torch.from_numpy(x)).mean()
    ref_loss.backward()
    tensors = reference.nfc_tensors()
    ref_grad = np.concatenate([tensors[n].grad.numpy().reshape(-1) for n in model.params])

    theta = torch.tensor(model.param_vector, requires_grad=True)
    loss = NfcNLL.apply(theta, x, model)
    loss.backward()
    loss_err = abs(loss.item() - ref_loss.item())
    grad_err = np.abs(theta.grad.numpy() - ref_grad).max() / np.abs(ref_grad).max()
    print(f"shared weights: nfc NLL {loss.item():.12f}, PyTorch {ref_loss.item():.12f} "
          f"(|diff| {loss_err:.1e}); gradient max relative diff {grad_err:.1e}")
    # float64 through 4 couplings: round-off is ~1e-15 relative per value
    ok &= loss_err < 1e-10 and grad_err < 1e-9

    # torch.optim.Adam trains the nfc model through the Function.
    data = nfc.builtin_data("moons", 20000, seed=1)
    theta = torch.tensor(model.param_vector, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=1e-3)
    rng = np.random.default_rng(0)
    first = None
    for step in range(args.steps):
        batch = data[rng.integers(0, len(data), 256)]
        optimizer.zero_grad()
        loss = NfcNLL.apply(theta, batch, model)
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    model.param_vector = theta.detach().numpy()
    final = -model.log_prob(data).mean()
    print(f"torch.optim.Adam through nfc, {args.steps} steps: NLL {first:.4f} -> {final:.4f}")
    ok &= final < first - 0.5
    if args.check and not ok:
        print("torch_interop: a check failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
