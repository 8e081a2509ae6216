#!/usr/bin/python3
"""nfc from Python, notebook-style: compile the README's RealNVP, train it on
the built-in two-moons data, evaluate, sample, and plot (with matplotlib if
it is installed).

    PYTHONPATH=build/python /usr/bin/python3 examples/python/moons.py [--steps N] [--out DIR]

Each block below is a notebook cell.
"""
import argparse
import pathlib
import sys

import numpy as np

import nfc

HERE = pathlib.Path(__file__).resolve().parent
parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--steps", type=int, default=3000)
parser.add_argument("--out", default="out", help="folder for the parameters and the plot")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %% Compile: the .nf file becomes JIT-compiled forward, inverse, log_prob
# and gradient functions; parameters start from seed 0.
model = nfc.compile(HERE.parent / "moons.nf", precision="f32", threads=args.threads)
print(model)

# %% Data: 20000 rows of two moons for training, 5000 fresh ones for testing.
train = nfc.builtin_data("moons", 20000, seed=0)
test = nfc.builtin_data("moons", 5000, seed=1)
print(f"test NLL before training: {-model.log_prob(test).mean():.4f} nats")

# %% Train: Adam with a cosine schedule, 10% held out, the best step kept.
result = model.train(train, steps=args.steps, batch=256, lr=1e-3, eval_every=250)
print(f"best validation NLL {result.best_val_nll:.4f} at step {result.best_step}")
print(f"test NLL after training: {-model.log_prob(test).mean():.4f} nats")

# %% Sample, with each sample's log-density; map data to the latent space.
x, log_p = model.sample_and_log_prob(5000, seed=2024)
z, logdet = model.forward(test)
print(f"samples: mean {x.mean(0).round(3)}, std {x.std(0).round(3)}; "
      f"latent of the test set: mean {z.mean(0).round(3)}, std {z.std(0).round(3)}")

# %% Keep it: parameters as safetensors (nfc sample/eval read them too).
model.save(out / "moons_python.safetensors")
print(f"wrote {out / 'moons_python.safetensors'}")

# %% Plot: the data, the samples, the density on a grid.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed (apt-get install python3-matplotlib): no plot")
    sys.exit(0)
g = np.linspace(-2, 3, 200)
grid = np.stack(np.meshgrid(g, g - 0.75), axis=-1)  # (200, 200, 2): leading axes are kept
density = np.exp(model.log_prob(grid))
fig, ax = plt.subplots(1, 3, figsize=(12, 4))
ax[0].scatter(*test[:2000].T, s=1)
ax[0].set_title("data")
ax[1].scatter(*x[:2000].T, s=1, c="tab:orange")
ax[1].set_title("nfc samples")
ax[2].imshow(density, origin="lower", extent=(-2, 3, -2.75, 2.25))
ax[2].set_title("p(x)")
fig.savefig(out / "moons_python.png", dpi=100)
print(f"wrote {out / 'moons_python.png'}")
