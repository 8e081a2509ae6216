#!/usr/bin/python3
"""Neural posterior estimation with nfc on two SBI-benchmark tasks whose
true posterior is known (simulators.py): simulate (theta, x) pairs from the
prior, train a conditional flow q(theta | x) with `nfc train` (rows theta,
context x, both standardised), then for 10 observations x_o measure
KL(p(theta | x_o) || q(theta | x_o)), estimated from 2000 draws of the true
posterior and `nfc logprob` at them. The same model in PyTorch
(torch_reference.py), trained on the same pairs for the same steps, is
measured on the same draws.

    python3 examples/sbi/sbi.py gaussian_linear [--sims 10000] [--steps 3000]
    python3 examples/sbi/sbi.py two_moons
    python3 examples/sbi/sbi.py two_moons --model examples/sbi/two_moons_nsf.nf
    python3 examples/sbi/sbi.py gaussian_linear --quick --check 0.5   (the test)
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from simulators import TASKS  # noqa: E402


def nfc(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"nfc {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=sorted(TASKS))
    ap.add_argument("--sims", type=int, default=10000, help="simulated (theta, x) pairs")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--observations", type=int, default=10)
    ap.add_argument("--draws", type=int, default=2000, help="true-posterior draws per observation")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    ap.add_argument("--quick", action="store_true", help="3000 pairs, 800 steps, no PyTorch (the test)")
    ap.add_argument("--check", type=float, help="exit 1 unless nfc's mean KL is below this")
    ap.add_argument("--model", help="another .nf for nfc (the PyTorch reference is then skipped)")
    ap.add_argument("--nfc", default=os.path.join(HERE, "..", "..", "build", "nfc"))
    ap.add_argument("--workdir", default=os.path.join(HERE, "..", "..", "out", "sbi"))
    a = ap.parse_args()
    if a.quick:
        a.sims, a.steps, a.no_torch = 3000, 800, True
    task = TASKS[a.task]
    os.makedirs(a.workdir, exist_ok=True)
    path = lambda name: os.path.join(a.workdir, f"{a.task}_{name}")  # noqa: E731

    rng = np.random.default_rng(a.seed)
    theta = task.prior(rng, a.sims)
    x = task.simulate(rng, theta)
    np.save(path("theta.npy"), theta)
    np.save(path("x.npy"), x)
    model = a.model or os.path.join(HERE, f"{a.task}.nf")
    a.no_torch = a.no_torch or a.model is not None
    params = path("q.safetensors")
    train_args = ["--steps", str(a.steps), "--batch", "256", "--lr", "1e-3", "--val-frac", "0.1",
                  "--eval-every", "100", "--seed", str(a.seed)]
    start = time.perf_counter()
    nfc(a.nfc, "train", model, "--data", path("theta.npy"), "--context-file", path("x.npy"),
        "--standardize", "-q", "--out", params, *train_args)
    nfc_secs = time.perf_counter() - start

    # Observations from the prior predictive, and the true posterior at each.
    obs_rng = np.random.default_rng(1000 + a.seed)
    theta_o = task.prior(obs_rng, a.observations)
    x_o = task.simulate(obs_rng, theta_o)
    draws = [task.posterior_samples(obs_rng, x_o[i], a.draws) for i in range(a.observations)]
    log_p = [task.posterior_log_prob(draws[i], x_o[i]) for i in range(a.observations)]
    np.save(path("draws.npy"), np.concatenate(draws))
    np.save(path("draws_x.npy"), np.concatenate([np.repeat(x_o[i:i + 1], a.draws, 0)
                                                 for i in range(a.observations)]))
    nfc(a.nfc, "logprob", model, "--params", params, "--data", path("draws.npy"),
        "--context-file", path("draws_x.npy"), "-o", path("log_q.npy"))
    log_q = np.load(path("log_q.npy")).reshape(a.observations, a.draws)
    kl_nfc = [float(np.mean(log_p[i] - log_q[i])) for i in range(a.observations)]

    kl_torch, torch_secs = None, None
    if not a.no_torch:
        import torch_reference
        start = time.perf_counter()
        log_q_torch = torch_reference.train(theta, x, a.steps, seed=a.seed)
        torch_secs = time.perf_counter() - start
        kl_torch = [float(np.mean(log_p[i] - log_q_torch(draws[i], np.repeat(x_o[i:i + 1], a.draws, 0))))
                    for i in range(a.observations)]

    print(f"{a.task}: {a.sims} simulations, {a.steps} steps of 256; "
          f"KL(true posterior || q) at {a.observations} observations ({a.draws} draws each)")
    print("  obs    nfc KL" + ("   torch KL" if kl_torch else ""))
    for i in range(a.observations):
        print(f"  {i:3d}  {kl_nfc[i]:8.4f}" + (f"   {kl_torch[i]:8.4f}" if kl_torch else ""))
    mean_nfc = float(np.mean(kl_nfc))
    print(f"  mean {mean_nfc:8.4f}" + (f"   {np.mean(kl_torch):8.4f}" if kl_torch else ""))
    print(f"  training: nfc {nfc_secs:.1f} s" + (f", torch {torch_secs:.1f} s" if torch_secs else ""))
    if a.check is not None and not mean_nfc < a.check:
        sys.exit(f"mean KL {mean_nfc:.4f} is not below {a.check}")


if __name__ == "__main__":
    main()
