"""The side-by-side benchmark of issue 7: nfc against a PyTorch reference of
the same architecture (bench/torch_flows.py), float32, at 1 and 2 threads.

Correctness first: for every workload the reference's initial weights are
written in nfc's documented layout, and nfc's log_prob of the same inputs
(nfc logprob, float64 and float32) must agree with PyTorch's before anything
is timed. Then nfc is timed by build*/nfc_bench_throughput (--json) and
PyTorch here, and a table (or --json) is printed.

Usage (bench/run.sh does the setup): python3 bench/bench.py --build DIR [--json OUT]
       [--threads 1,2] [--workloads W1,W2,W3,W4,W5] [--skip-check]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_flows as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = {  # id: (model, training batch)
    "W1": ("realnvp2d", 512),
    "W2": ("maf8d", 512),
    "W3": ("nsf2d", 512),
    "W4": ("maf64d", 256),
    "W5": ("maf784", 128),
}
# PyTorch samples a MAF with one MADE pass per dimension: 784 passes at W5,
# where a batch of 4096 samples would take minutes. Its rate per sample is
# measured on fewer (nfc's on the full batch).
TORCH_SAMPLE_BATCH = {"maf784": 32}
BATCH = 4096
GEMM_MIN_GFLOPS = 15.0  # reference BLAS reaches ~3 GFLOP/s here, OpenBLAS 30-100


def fail(msg):
    print(f"bench: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def best_seconds(call, rounds=5, min_round=0.2):
    """As bench/BestOf.hpp: a warm-up call, then the best of `rounds` rounds
    of at least min_round s. A call longer than 1 s is timed once (the
    eager MAF sampler at D = 64 takes seconds per batch)."""
    t = time.perf_counter()
    call()
    first = time.perf_counter() - t
    if first > 1.0:
        return first
    best = float("inf")
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while True:
            call()
            calls += 1
            s = time.perf_counter() - start
            if s >= min_round:
                break
        best = min(best, s / calls)
    return best


def median_latency_us(call, n=2000):
    for _ in range(100):
        call()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return 1e6 * statistics.median(times)


def gemm_gflops(threads):
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    s = best_seconds(lambda: torch.mm(a, b), rounds=3, min_round=0.1)
    return 2 * 2048**3 / s / 1e9


def blas_report():
    cfg = torch.__config__.show()
    lines = [l.strip() for l in cfg.splitlines() if "BLAS" in l or "LAPACK" in l]
    try:
        alt = subprocess.run(
            ["update-alternatives", "--query", "libblas.so.3-x86_64-linux-gnu"],
            capture_output=True, text=True,
        ).stdout
        lines += [l for l in alt.splitlines() if l.startswith("Value:")]
    except OSError:
        pass
    return "; ".join(lines)


def digits():
    """scikit-learn's 8x8 digits, dequantised (uniform noise in each pixel's
    integer bin) and standardised per pixel."""
    from sklearn.datasets import load_digits

    x = load_digits().data.astype(np.float64)
    x = x + np.random.default_rng(0).uniform(size=x.shape)
    return (x - x.mean(0)) / x.std(0)


def data_for(model, n, rng):
    if model == "maf64d":
        d = digits()
        return d[rng.integers(0, len(d), n)]
    dim = {"realnvp2d": 2, "nsf2d": 2, "maf784": 784}.get(model, 8)
    # Scale 2: some points lie outside the spline's [-3, 3] (its tails).
    return 2.0 * rng.standard_normal((n, dim))


def check(name, model, nfc, work):
    """nfc's log_prob against PyTorch's on shared weights, f64 and f32."""
    torch.manual_seed(0)
    ref = tf.build(model).double()
    params = os.path.join(work, f"{model}.safetensors")
    tf.write_safetensors(params, {k: v.detach().numpy() for k, v in ref.nfc_tensors().items()})
    x = data_for(model, 2000, np.random.default_rng(1))
    xs = os.path.join(work, f"{model}_x.npy")
    np.save(xs, x)
    with torch.no_grad():
        want64 = ref.log_prob(torch.from_numpy(x)).numpy()
        want32 = ref.float().log_prob(torch.from_numpy(x).float()).double().numpy()
    result = {}
    for precision, want, tol in (("f64", want64, 1e-9), ("f32", want32, 1e-4)):
        out = os.path.join(work, f"{model}_{precision}.npy")
        r = subprocess.run(
            [nfc, "logprob", os.path.join(HERE, "models", model + ".nf"), "--precision", precision,
             "--params", params, "--data", xs, "-o", out],
            capture_output=True, text=True,
        )
        if r.returncode != 0:
            fail(f"{name} {model}: nfc logprob failed: {r.stderr.strip()}")
        got = np.load(out).astype(np.float64)
        rel = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        worst = int(np.argmax(rel))
        result[precision] = float(rel.max())
        if not np.all(np.isfinite(got)) or rel.max() > tol:
            fail(
                f"{name} {model}: nfc and PyTorch log_prob disagree in {precision}: max relative "
                f"error {rel.max():.3g} > {tol:g} at row {worst} x={x[worst].tolist()[:4]}...: "
                f"nfc {got[worst]!r}, torch {want[worst]!r}"
            )
    return result


def peak_resident_mb():
    """This process's peak resident memory in MB: VmHWM, the high-water
    mark of its own address space (ru_maxrss would also count what the
    parent held when it forked the process)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def nfc_times(driver, model, threads, train_batch):
    r = subprocess.run(
        [driver, "--json", "--threads", str(threads), "--batch", str(BATCH), "--train-batch",
         str(train_batch), os.path.join(HERE, "models", model + ".nf")],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        fail(f"{model}: {driver} failed: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def torch_times(model, threads, train_batch):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    flow = tf.build(model).float()
    rng = np.random.default_rng(2)
    x = torch.from_numpy(data_for(model, BATCH, rng)).float()
    xt = x[:train_batch]
    out = {"params": sum(p.numel() for p in flow.parameters())}
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = -flow.log_prob(xt).mean()
        loss.backward()
        opt.step()

    out["train_per_s"] = train_batch / best_seconds(step)
    with torch.no_grad():
        out["log_prob_per_s"] = BATCH / best_seconds(lambda: flow.log_prob(x))
        ns = TORCH_SAMPLE_BATCH.get(model, BATCH)
        out["sample_per_s"] = ns / best_seconds(lambda: flow.sample(ns))
        x1 = x[:1].clone()
        out["latency_us"] = median_latency_us(lambda: flow.log_prob(x1))
        # Second baseline for batch-1 latency: TorchScript, traced and frozen.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            script = torch.jit.freeze(torch.jit.trace(flow.eval(), x1))
        out["latency_script_us"] = median_latency_us(lambda: script(x1))
    out["peak_mb"] = peak_resident_mb()
    return out


def torch_worker_times(model, threads, train_batch):
    """torch_times in a fresh interpreter per OpenMP wait policy, keeping
    the best figure of each metric: the strongest baseline. libgomp reads
    OMP_WAIT_POLICY once at start-up; with threads spinning at barriers
    (the default) a 2-thread torch collapses by 10-100x when another
    process holds a core, which passive waiting avoids, while on an idle
    machine spinning is faster."""
    policies = ["ACTIVE", "PASSIVE"] if threads > 1 else ["ACTIVE"]
    runs = []
    for policy in policies:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY=policy)
        r = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--torch-worker", model, str(threads),
             str(train_batch)],
            capture_output=True, text=True, env=env,
        )
        if r.returncode != 0:
            fail(f"{model}: the PyTorch timing failed: {r.stderr.strip()[-2000:]}")
        runs.append(dict(json.loads(r.stdout.strip().splitlines()[-1]), omp_wait_policy=policy))
    best = dict(runs[0])
    for run in runs[1:]:
        for k in ("train_per_s", "log_prob_per_s", "sample_per_s"):
            best[k] = max(best[k], run[k])
        for k in ("latency_us", "latency_script_us", "peak_mb"):
            best[k] = min(best[k], run[k])
    best["runs"] = runs
    return best


def val_nll(lp):
    """Mean NLL over the finite log-densities and how many were not finite
    (W4's MAF has no soft clamp: a held-out digit can overflow exp(s))."""
    ok = np.isfinite(lp)
    return float(-lp[ok].mean()), int((~ok).sum()), float(-np.median(lp[ok]))


def digits_training(nfc, work, steps=300, batch=256):
    """The training metric of W4: `steps` Adam steps (lr 1e-3, constant,
    batch 256) on 90% of the digits in each system, float32, and the NLL of
    the held-out 10% (nats). Wall times include nfc's compile."""
    d = digits()
    perm = np.random.default_rng(0).permutation(len(d))
    nv = len(d) // 10
    val, train = d[perm[:nv]], d[perm[nv:]]
    tr, va, params = (os.path.join(work, n) for n in ("dtrain.npy", "dval.npy", "digits.safetensors"))
    np.save(tr, train)
    np.save(va, val)
    model = os.path.join(HERE, "models", "maf64d.nf")
    t = time.perf_counter()
    subprocess.run(
        [nfc, "train", model, "--precision", "f32", "--data", tr, "--val-frac", "0", "--steps",
         str(steps), "--batch", str(batch), "--lr", "1e-3", "--schedule", "constant",
         "--eval-every", str(10 * steps), "--out", params, "-q"],
        check=True, capture_output=True,
    )
    nfc_s = time.perf_counter() - t
    out = os.path.join(work, "dval_lp.npy")
    subprocess.run([nfc, "logprob", model, "--precision", "f32", "--params", params, "--data", va,
                    "-o", out], check=True, capture_output=True)
    nfc_nll = val_nll(np.load(out).astype(np.float64))

    torch.set_num_threads(1)
    torch.manual_seed(0)
    flow = tf.build("maf64d").float()
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    xt = torch.from_numpy(train).float()
    gen = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(steps):
        idx = torch.from_numpy(gen.integers(0, len(train), batch))
        opt.zero_grad(set_to_none=True)
        (-flow.log_prob(xt[idx]).mean()).backward()
        opt.step()
    torch_s = time.perf_counter() - t
    with torch.no_grad():
        torch_nll = val_nll(flow.log_prob(torch.from_numpy(val).float()).double().numpy())
    return {"steps": steps, "batch": batch, "nfc_s": nfc_s, "torch_s": torch_s,
            "nfc_val_nll": nfc_nll[0], "nfc_val_nonfinite": nfc_nll[1], "nfc_val_median_nll": nfc_nll[2],
            "torch_val_nll": torch_nll[0], "torch_val_nonfinite": torch_nll[1],
            "torch_val_median_nll": torch_nll[2], "val_rows": nv}


def core_round_trip_ns(driver):
    """How near the host has placed the two cores just now (a VM's vCPUs move):
    2-thread numbers depend on it (nfc_bench_throughput --core-round-trip)."""
    r = subprocess.run([driver, "--core-round-trip"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["core_round_trip_ns"]


def table(results, meta):
    lines = [
        f"nfc vs PyTorch {meta['torch']} (float32), batch {BATCH}; "
        f"load average before/after: {meta['load_before']} / {meta['load_after']}",
        "core-to-core round trip before each workload and at the end (ns; on the Zen 4 VM of "
        "docs/bench.md 100-120 or 200-470, see \"A slow state of the VM\"): "
        + ", ".join(f"{w} {ns:.0f}" for w, ns in meta["round_trip_ns"]),
        "peak: GEMM 2048^3 float32 (torch, OpenBLAS core "
        + meta["openblas_coretype"]
        + "): "
        + ", ".join(f"{t} thr {g:.1f} GFLOP/s" for t, g in meta["gemm_gflops"].items())
        + f"; FMA ceiling of one core {meta['fma_gflops_per_core']:.0f} GFLOP/s",
        "GFLOP/s: dense-equivalent, 2 FLOP per multiply-add of the conditioners' dense matrices"
        " (MADE zeros counted, training 3x log_prob); % of the GEMM peak at the same threads.",
        "nfc at 2 threads: the runtime runs each batch and the Adam update on 2 threads"
        " (Flow::set_threads, nfc --threads 2). PyTorch: best of OMP_WAIT_POLICY active/passive"
        " at 2 threads.",
        "",
    ]
    hdr = f"{'workload':<16}{'thr':>4}  {'metric':<18}{'nfc':>12}{'PyTorch':>12}{'nfc/PT':>8}   {'GFLOP/s nfc (%GEMM)':>20}{'PT':>8}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in results:
        w = f"{r['id']} {r['model']}"
        lines.append(
            f"{w:<16}{'':>4}  {'params':<18}{r['nfc_params']:>12}{r['torch_params']:>12}"
            "          " + ("log_prob check skipped" if r["check"]["f64"] is None else
                              f"check f64 {r['check']['f64']:.1e}, f32 {r['check']['f32']:.1e}")
        )
        for t, m in r["threads"].items():
            n, p, peak = m["nfc"], m["torch"], meta["gemm_gflops"][t]
            for key, label, flops in (
                ("train_per_s", f"train/s (b{r['train_batch']})", 3 * r["flops"]),
                ("log_prob_per_s", "log_prob/s", r["flops"]),
                ("sample_per_s", "sample/s", r["flops"]),
            ):
                gn, gp = n[key] * flops / 1e9, p[key] * flops / 1e9
                lines.append(
                    f"{'':<16}{t:>4}  {label:<18}{n[key]:>12.4g}{p[key]:>12.4g}{n[key] / p[key]:>7.2f}x"
                    f"   {gn:>11.2f} ({100 * gn / peak:4.1f}%){gp:>8.2f}"
                )
            lines.append(
                f"{'':<16}{t:>4}  {'batch-1 lp (us)':<18}{n['latency_us']:>12.3g}{p['latency_us']:>12.3g}"
                f"{p['latency_us'] / n['latency_us']:>7.2f}x   TorchScript {p['latency_script_us']:.3g} us"
            )
            lines.append(f"{'':<16}{t:>4}  {'compile (ms)':<18}{n['compile_ms']:>12.4g}"
                f"   (check+graph {n['compile_check_ms'] + n['compile_graph_ms']:.0f}, lower "
                f"{n['compile_lower_ms']:.0f}, O2 {n['compile_o2_ms']:.0f}, codegen {n['compile_codegen_ms']:.0f});"
                f" nfc Adam update alone {n['adam_ms']:.2g} ms/step")
            lines.append(f"{'':<16}{t:>4}  {'peak memory (MB)':<18}{n['peak_mb']:>12.0f}{p['peak_mb']:>12.0f}"
                         "          (VmHWM of the timing process: compiler, data, all batches)")
    d = meta.get("digits_training")
    if d:
        lines.append(
            f"\nW4 on digits, {d['steps']} Adam steps (batch {d['batch']}, lr 1e-3, 1 thread, f32): "
            f"held-out NLL (mean / median over finite rows) nfc {d['nfc_val_nll']:.1f} / "
            f"{d['nfc_val_median_nll']:.1f} nats ({d['nfc_val_nonfinite']} of {d['val_rows']} rows not finite)"
            f" in {d['nfc_s']:.1f} s incl. compile; PyTorch {d['torch_val_nll']:.1f} / "
            f"{d['torch_val_median_nll']:.1f} ({d['torch_val_nonfinite']} not finite) in {d['torch_s']:.1f} s")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--json")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--workloads", default="W1,W2,W3,W4,W5")
    ap.add_argument("--skip-check", action="store_true")
    if len(sys.argv) == 5 and sys.argv[1] == "--torch-worker":
        print(json.dumps(torch_times(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    a = ap.parse_args()
    nfc = os.path.join(a.build, "nfc")
    driver = os.path.join(a.build, "nfc_bench_throughput")
    threads = [int(t) for t in a.threads.split(",")]
    meta = {"torch": torch.__version__, "load_before": "%.2f %.2f %.2f" % os.getloadavg()}

    # The baseline must be the strongest PyTorch this machine can run.
    meta["gemm_gflops"] = {str(t): gemm_gflops(t) for t in threads}
    if meta["gemm_gflops"][str(threads[0])] < GEMM_MIN_GFLOPS:
        fail(
            f"torch's float32 GEMM runs at {meta['gemm_gflops'][str(threads[0])]:.1f} GFLOP/s on "
            f"{threads[0]} thread(s), below {GEMM_MIN_GFLOPS}: PyTorch is not using an optimised "
            f"BLAS (install libopenblas0-openmp and select it with update-alternatives "
            f"libblas.so.3-x86_64-linux-gnu). BLAS: {blas_report()}"
        )
    meta["blas"] = blas_report()
    meta["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE", "(detected)")
    r = subprocess.run([driver, "--fma-peak"], capture_output=True, text=True, check=True)
    meta["fma_gflops_per_core"] = json.loads(r.stdout)["fma_gflops_per_core"]
    if meta["gemm_gflops"][str(threads[0])] < 0.5 * threads[0] * meta["fma_gflops_per_core"]:
        print(f"bench: warning: torch's GEMM reaches under half of the FMA ceiling "
              f"({meta['fma_gflops_per_core']:.0f} GFLOP/s per core): OpenBLAS may not know this "
              f"CPU (try OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines)", file=sys.stderr)

    results = []
    meta["round_trip_ns"] = []
    with tempfile.TemporaryDirectory() as work:
        for wid in a.workloads.split(","):
            meta["round_trip_ns"].append((wid, core_round_trip_ns(driver)))
            model, tb = WORKLOADS[wid]
            r = {"id": wid, "model": model, "train_batch": tb}
            r["check"] = {"f64": None, "f32": None} if a.skip_check else check(wid, model, nfc, work)
            print(f"{wid} {model}: log_prob agrees with PyTorch (max rel. error "
                  f"f64 {r['check']['f64']}, f32 {r['check']['f32']})", file=sys.stderr, flush=True)
            r["flops"] = 2 * tf.dense_macs(tf.build(model))
            r["threads"] = {}
            for t in threads:
                n = nfc_times(driver, model, t, tb)
                p = torch_worker_times(model, t, tb)
                r["threads"][str(t)] = {"nfc": n, "torch": p}
                print(f"{wid} {t} thr: nfc {n}\n          torch {p['runs']}", file=sys.stderr, flush=True)
            r["nfc_params"] = r["threads"][str(threads[0])]["nfc"]["params"]
            r["torch_params"] = r["threads"][str(threads[0])]["torch"]["params"]
            results.append(r)
        if "W4" in a.workloads.split(","):
            meta["digits_training"] = digits_training(nfc, work)
    meta["round_trip_ns"].append(("end", core_round_trip_ns(driver)))
    meta["load_after"] = "%.2f %.2f %.2f" % os.getloadavg()
    print(table(results, meta))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "batch": BATCH, "workloads": results}, f, indent=1)


if __name__ == "__main__":
    main()
