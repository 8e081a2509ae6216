#!/usr/bin/python3
"""Neural posterior estimation with nfc on two SBI-benchmark tasks whose true
posterior is known (simulate.py), measured against it and against the same
model in PyTorch (torch_reference.py).

For each task and seed: simulate --sims (theta, x) pairs from the prior and
the simulator; train q(theta | x), the conditional flow TASK.nf (dim = dim
theta, context = dim x), with

    nfc train TASK.nf --data theta.npy --context-file x.npy --standardize --steps S --seed SEED ...

then, for each of 10 fixed observations x_o, estimate

    KL(p(theta | x_o) || q(theta | x_o)) = E_{theta ~ p(.|x_o)} [log p(theta | x_o) - log q(theta | x_o)]

from --draws exact draws of the true posterior, q from `nfc logprob
--context-file` (x_o repeated, one row per draw). The PyTorch reference is
trained on the same pairs with the same steps, batch, learning rate and
schedule and measured on the same draws; before that, it evaluates nfc's
trained parameters to show it is the same model (the largest difference in
log q is printed). `nfc sample --context-file` draws from each q(theta | x_o)
as a check of sampling: the error of the samples' quantiles (5% to 95% of
each coordinate) against the true posterior's, in units of its standard
deviation, and for two_moons the share of samples outside the prior's box
(mass q leaks where the posterior has none).

    python3 examples/sbi/run.py                                   # both tasks, nfc and PyTorch, seeds 0 1 2
    python3 examples/sbi/run.py --tasks two_moons --seeds 0 --no-torch
    python3 examples/sbi/run.py --quick --check 0.2               # the test: gaussian_linear, nfc only

Exits 1 with --check B when nfc's KL, averaged over observations (and
seeds), is not below B.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import simulate  # noqa: E402

MODELS = {"gaussian_linear": ["gaussian_linear"], "two_moons": ["two_moons", "two_moons_nsf"]}
QUICK = dict(sims=5000, steps=1000, draws=2000, seeds=[0])


def run(cmd, what):
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr, secs


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def reference(task, workdir, draws):
    """Exact posterior draws at each observation, the observations repeated
    beside them, and log p(theta | x_o) there; written once per task."""
    theta_o, x_o = simulate.observations(task)
    rng = np.random.default_rng([simulate.OBS_SEED, 99])
    samples = [task.posterior_samples(rng, x_o[i], draws) for i in range(len(x_o))]
    if task.name == "two_moons":  # normalised by the rejection rate; the grid is a check
        log_z = [task.log_evidence(x) for x in x_o]
        grid_gap = max(abs(a - task.log_evidence_grid(x)) for a, x in zip(log_z, x_o))
        log_p = [task.posterior_log_prob(s, x, z) for s, x, z in zip(samples, x_o, log_z)]
    else:
        grid_gap = None
        log_p = [task.posterior_log_prob(s, x) for s, x in zip(samples, x_o)]
    paths = {k: os.path.join(workdir, f"ref_{k}.npy") for k in ("theta", "x", "x_o")}
    np.save(paths["theta"], np.concatenate(samples))
    np.save(paths["x"], np.repeat(x_o, draws, 0))
    np.save(paths["x_o"], x_o)
    return paths, np.stack(log_p), np.stack(samples), grid_gap


def quantile_error(q, p):
    """Per observation: |quantile of q - quantile of p| over the 5%, 10%,
    ..., 95% quantiles of each coordinate, in units of p's standard
    deviation, averaged; q and p are samples [observations, draws, dim].
    Robust to q's rare far draws (an affine MAF can put a few of its
    samples thousands of standard deviations out: nflows' scale
    softplus(s) + 1e-3 can be ~1e-3, and inverting divides by it)."""
    levels = np.linspace(0.05, 0.95, 19)
    return (np.abs(np.quantile(q, levels, axis=1) - np.quantile(p, levels, axis=1)) / p.std(1)).mean((0, 2))


def kl(log_p, lq_path):
    log_q = np.load(lq_path).reshape(log_p.shape)
    return (log_p - log_q).mean(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", choices=sorted(simulate.TASKS), default=["gaussian_linear", "two_moons"])
    ap.add_argument("--models", nargs="+", choices=[m for ms in MODELS.values() for m in ms],
                    help="only these models (default: every model of the tasks)")
    ap.add_argument("--sims", type=int, default=20000, help="simulated pairs (default 20000)")
    ap.add_argument("--steps", type=int, default=5000, help="training steps (default 5000)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=100, help="steps between validations (default 100)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="seeds of simulation and training, one run each (default 0 1 2)")
    ap.add_argument("--draws", type=int, default=5000, help="true-posterior draws per observation (default 5000)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    ap.add_argument("--quick", action="store_true",
                    help="the test: gaussian_linear, %(sims)d pairs, %(steps)d steps, %(draws)d draws, "
                         "seed 0, no PyTorch" % QUICK)
    ap.add_argument("--check", type=float, metavar="BOUND", help="exit 1 unless nfc's mean KL is below BOUND")
    ap.add_argument("--nfc", default=os.path.join(HERE, "..", "..", "build", "nfc"))
    ap.add_argument("--python", default=sys.executable, help="the Python that runs torch_reference.py")
    ap.add_argument("--workdir", default=os.path.join(HERE, "..", "..", "out", "sbi"))
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if a.quick:
        a.tasks, a.models, a.no_torch = ["gaussian_linear"], None, True
        a.sims, a.steps, a.draws, a.seeds = QUICK["sims"], QUICK["steps"], QUICK["draws"], QUICK["seeds"]
    torch_ref = os.path.join(HERE, "torch_reference.py")
    results = {"cpu": cpu_model(), "settings": {k: v for k, v in vars(a).items() if k not in ("nfc", "python")},
               "models": {}}
    frameworks = ["nfc"] + ([] if a.no_torch else ["torch"])
    all_nfc = []
    for name in a.tasks:
        task = simulate.TASKS[name]
        models = [m for m in MODELS[name] if a.models is None or m in a.models]
        wd = os.path.join(a.workdir, name)
        os.makedirs(wd, exist_ok=True)
        ref, log_p, ref_samples, grid_gap = reference(task, wd, a.draws)
        kls = {(m, f): [] for m in models for f in frameworks}
        secs = {(m, f): [] for m in models for f in frameworks}
        q_err = {m: [] for m in models}
        outside = {m: [] for m in models}
        same_model = {}
        for seed in a.seeds:
            sd = os.path.join(wd, f"seed{seed}")
            data = simulate.write(task, a.sims, seed, sd)
            train_args = ["--data", data["theta"], "--context-file", data["x"], "--steps", str(a.steps),
                          "--batch", str(a.batch), "--lr", str(a.lr), "--eval-every", str(a.eval_every),
                          "--seed", str(seed)]
            for m in models:
                nf = os.path.join(HERE, f"{m}.nf")
                params = os.path.join(sd, f"{m}_nfc.safetensors")
                _, t = run([a.nfc, "train", nf, *train_args, "--standardize", "--patience", "0", "-q",
                            "--out", params], "nfc train")
                secs[m, "nfc"].append(t)
                lq = os.path.join(sd, f"{m}_log_q_nfc.npy")
                run([a.nfc, "logprob", nf, "--params", params, "--data", ref["theta"], "--context-file", ref["x"],
                     "-o", lq], "nfc logprob")
                kls[m, "nfc"].append(kl(log_p, lq))
                # Sampling: one draw per row of the repeated observations.
                samples = os.path.join(sd, f"{m}_samples_nfc.npy")
                run([a.nfc, "sample", nf, "--params", params, "--context-file", ref["x"], "--seed", str(seed),
                     "-o", samples], "nfc sample")
                q = np.load(samples).reshape(ref_samples.shape)
                q_err[m].append(quantile_error(q, ref_samples))
                outside[m].append(1 - task.in_support(q.reshape(-1, q.shape[2])).reshape(q.shape[:2]).mean(1))
                if "torch" not in frameworks:
                    continue
                if m not in same_model:  # nfc's parameters through the PyTorch model
                    lq_t = os.path.join(sd, f"{m}_log_q_nfc_params_torch.npy")
                    run([a.python, torch_ref, "logprob", nf, "--params", params, "--data", ref["theta"],
                         "--context-file", ref["x"], "-o", lq_t], "torch_reference.py logprob")
                    same_model[m] = float(np.abs(np.load(lq_t) - np.load(lq)).max())
                pt = os.path.join(sd, f"{m}_torch.pt")
                _, t = run([a.python, torch_ref, "train", nf, *train_args, "--out", pt], "torch_reference.py train")
                secs[m, "torch"].append(t)
                lq_t = os.path.join(sd, f"{m}_log_q_torch.npy")
                run([a.python, torch_ref, "logprob", nf, "--params", pt, "--data", ref["theta"],
                     "--context-file", ref["x"], "-o", lq_t], "torch_reference.py logprob")
                kls[m, "torch"].append(kl(log_p, lq_t))

        # One table per model: per observation the mean over seeds; then per seed.
        for m in models:
            k = {f: np.stack(kls[m, f]) for f in frameworks}  # [seeds, observations]
            err, out = np.stack(q_err[m]), np.stack(outside[m])
            bounded = name == "two_moons"
            print(f"{m}.nf on {name} (dim theta {task.dim_theta}, dim x {task.dim_x}): {a.sims} simulations, "
                  f"{a.steps} steps of {a.batch}, lr {a.lr:g} (cosine), seeds {' '.join(map(str, a.seeds))}")
            print(f"KL(p(theta | x_o) || q(theta | x_o)) in nats, {a.draws} exact posterior draws per observation"
                  + (", mean over seeds" if len(a.seeds) > 1 else ""))
            print("  obs  " + "  ".join(f"{f + ' KL':>9s}" for f in frameworks) + "   nfc samples: quantile err (sd)"
                  + ("  outside prior" if bounded else ""))
            for i in range(k["nfc"].shape[1]):
                print(f"  {i:3d}  " + "  ".join(f"{k[f][:, i].mean():9.4f}" for f in frameworks)
                      + f"   {err[:, i].mean():27.4f}" + (f"  {out[:, i].mean():13.2%}" if bounded else ""))
            print("  mean " + "  ".join(f"{k[f].mean():9.4f}" for f in frameworks) + f"   {err.mean():27.4f}"
                  + (f"  {out.mean():13.2%}" if bounded else ""))
            for f in frameworks:
                print(f"  {f:5s} per seed: " + "  ".join(f"{v:.4f}" for v in k[f].mean(1))
                      + f"   training {np.mean(secs[m, f]):.1f} s a run")
            if m in same_model:
                print(f"  same model: nfc's parameters in torch_reference.py give log q within {same_model[m]:.1e}"
                      " of nfc's")
            if grid_gap is not None:
                print(f"  log Z(x_o) by rejection rate vs the 2000 x 2000 grid: largest difference {grid_gap:.4f}")
            print()
            results["models"][m] = {f: {"kl": k[f].tolist(), "mean_kl": float(k[f].mean()),
                                        "train_seconds": secs[m, f]} for f in frameworks}
            results["models"][m]["task"] = name
            results["models"][m]["nfc"]["sample_quantile_error_sd"] = err.tolist()
            results["models"][m]["nfc"]["sample_share_outside_prior"] = out.tolist()
            results["models"][m]["same_model_max_abs_diff"] = same_model.get(m)
            all_nfc.append(k["nfc"].mean())
    print(f"CPU: {results['cpu']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if a.check is not None:
        worst = max(all_nfc)
        if not worst < a.check:
            sys.exit(f"FAIL: nfc's mean KL {worst:.4f} is not below {a.check:g}")
        print(f"ok: nfc's mean KL {worst:.4f} is below {a.check:g}")


if __name__ == "__main__":
    main()
