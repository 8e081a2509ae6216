#!/usr/bin/python3
"""Simulators of two SBI-benchmark tasks (Lueckmann et al. 2021, "Benchmarking
simulation-based inference") whose true posterior is known, in numpy only.

gaussian_linear  theta in R^10, theta ~ N(0, 0.1 I), x | theta ~ N(theta, 0.1 I).
                 The posterior is analytic: N(x / 2, 0.05 I).
two_moons        theta ~ U[-1, 1]^2; a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2),
                 p = (r cos a + 0.25, r sin a),
                 x = p + (-|theta0 + theta1| / sqrt 2, (-theta0 + theta1) / sqrt 2).
                 The likelihood is p's density at x - shift(theta): in polar
                 coordinates about (0.25, 0), N(r; 0.1, 0.01^2) (1/pi) / r on the
                 half-plane p_x > 0.25. The posterior (prior x likelihood) is
                 sampled exactly by rejection and normalised by the rejection
                 rate (exact when both crescents lie inside the prior's box),
                 checked against the midpoint rule on a 2000 x 2000 grid over
                 [-1, 1]^2 (see TwoMoons).

    python3 examples/sbi/simulate.py gaussian_linear --sims 10000 --seed 0 --outdir out/sbi

writes OUTDIR/TASK_theta.npy [N, dim theta] and OUTDIR/TASK_x.npy [N, dim x]
(float64, rows are pairs drawn from prior and simulator with --seed), and
OUTDIR/TASK_obs_theta.npy, OUTDIR/TASK_obs_x.npy: 10 fixed observations x_o
with the true theta that made them (seeded by --obs-seed, 2021 by default,
the same whatever --seed, so every run is measured on the same x_o).
"""

import argparse
import math
import os

import numpy as np

OBS_SEED = 2021
OBSERVATIONS = 10


class GaussianLinear:
    name, dim_theta, dim_x = "gaussian_linear", 10, 10
    var = 0.1  # prior and noise variance

    def prior(self, rng, n):
        return rng.normal(0.0, math.sqrt(self.var), (n, self.dim_theta))

    def in_support(self, theta):
        """Whether each theta lies where the prior has density: everywhere."""
        return np.ones(len(theta), bool)

    def simulate(self, rng, theta):
        return theta + rng.normal(0.0, math.sqrt(self.var), theta.shape)

    # N(0, v I) prior times N(x; theta, v I): the posterior is N(x / 2, v / 2 I).
    def posterior_samples(self, rng, x_o, n):
        return x_o / 2 + rng.normal(0.0, math.sqrt(self.var / 2), (n, self.dim_theta))

    def posterior_log_prob(self, theta, x_o):
        v = self.var / 2
        e = theta - x_o / 2
        return -0.5 * (e * e).sum(1) / v - 0.5 * self.dim_theta * math.log(2 * math.pi * v)


class TwoMoons:
    name, dim_theta, dim_x = "two_moons", 2, 2
    r_mean, r_sd = 0.1, 0.01
    grid = 2000  # cells per axis of the normalising grid on [-1, 1]^2 (h = 0.001 = r_sd / 10)

    def prior(self, rng, n):
        return rng.uniform(-1.0, 1.0, (n, 2))

    def in_support(self, theta):
        """Whether each theta lies in the prior's box [-1, 1]^2."""
        return np.all(np.abs(theta) <= 1, 1)

    def _p(self, rng, n):
        a = rng.uniform(-math.pi / 2, math.pi / 2, n)
        r = rng.normal(self.r_mean, self.r_sd, n)
        return np.stack([r * np.cos(a) + 0.25, r * np.sin(a)], 1)

    @staticmethod
    def shift(theta):
        s = 1 / math.sqrt(2)
        return np.stack([-np.abs(theta[:, 0] + theta[:, 1]) * s, (-theta[:, 0] + theta[:, 1]) * s], 1)

    def simulate(self, rng, theta):
        return self._p(rng, len(theta)) + self.shift(theta)

    def log_likelihood(self, theta, x_o):
        """log p(x_o | theta): p = x_o - shift(theta) in polar coordinates
        (r, a) about (0.25, 0) has density N(r; 0.1, 0.01^2) / pi for
        a in (-pi/2, pi/2), so p itself has that divided by r."""
        p = x_o[None, :] - self.shift(theta)
        u, v = p[:, 0] - 0.25, p[:, 1]
        r = np.hypot(u, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = (-0.5 * ((r - self.r_mean) / self.r_sd) ** 2 - math.log(self.r_sd * math.sqrt(2 * math.pi))
                  - math.log(math.pi) - np.log(r))
        return np.where(u > 0, lp, -np.inf)

    def _flip(self, rng, x_o, m):
        """posterior_samples' proposal: m draws of theta and whether each is kept."""
        s = 1 / math.sqrt(2)
        q = x_o[None, :] - self._p(rng, m)  # = shift(theta)
        sign = rng.choice([-1.0, 1.0], m)   # the sign of theta0 + theta1
        plus = -sign * q[:, 0] / s          # theta0 + theta1, as shift's first row says
        minus = q[:, 1] / s                 # theta1 - theta0
        theta = np.stack([(plus - minus) / 2, (plus + minus) / 2], 1)
        return theta, (np.sign(plus) == sign) & np.all(np.abs(theta) < 1, 1)

    def log_evidence(self, x_o, draws=4_000_000, seed=0):
        """log Z(x_o), Z = integral over [-1, 1]^2 of p(x_o | theta) dtheta
        (the prior's 1/4 cancels in the posterior). On each half-plane the
        proposal of posterior_samples has density p(x_o | theta), so Z is
        twice its acceptance rate: exactly 2 when both crescents lie inside
        the box (then every proposal with p_x > x_o's first coordinate is
        kept, and no other p can have made x_o), else estimated from
        `draws` proposals (standard error of log Z below 1e-3)."""
        rng = np.random.default_rng([seed, 7])
        kept = 0
        for _ in range(draws // 500_000):
            kept += int(self._flip(rng, x_o, 500_000)[1].sum())
        return math.log(2 * kept / (draws // 500_000 * 500_000))

    def log_evidence_grid(self, x_o):
        """log Z(x_o) by the midpoint rule on grid x grid cells of [-1, 1]^2
        (h = 0.001, a tenth of r_sd): a check of log_evidence."""
        h = 2.0 / self.grid
        c = -1 + h * (np.arange(self.grid) + 0.5)
        total, m = 0.0, -np.inf
        for rows in np.array_split(np.arange(self.grid), 8):  # bounded memory
            t0, t1 = np.meshgrid(c[rows], c, indexing="ij")
            ll = self.log_likelihood(np.stack([t0.ravel(), t1.ravel()], 1), x_o)
            mm = max(m, ll.max())
            total = total * math.exp(m - mm) + np.exp(ll - mm).sum()
            m = mm
        return m + math.log(total * h * h)

    def posterior_log_prob(self, theta, x_o, log_z=None):
        if log_z is None:
            log_z = self.log_evidence(x_o)
        inside = np.all(np.abs(theta) < 1, 1)
        return np.where(inside, self.log_likelihood(theta, x_o) - log_z, -np.inf)

    def posterior_samples(self, rng, x_o, n):
        """Exact draws: on each half-plane theta0 + theta1 > 0 and < 0, shift
        is a linear isometry (|det| = 1), so theta = shift^-1(x_o - p) with p
        from the simulator has the likelihood's shape there. Draw p, pick a
        half-plane at random, keep theta if it lies in that half-plane and in
        the prior's box: the kept draws follow the posterior."""
        out, have = [], 0
        while have < n:
            theta, ok = self._flip(rng, x_o, max(4 * (n - have), 1000))
            out.append(theta[ok])
            have += int(ok.sum())
        return np.concatenate(out)[:n]


TASKS = {t.name: t for t in (GaussianLinear(), TwoMoons())}


def observations(task, obs_seed=OBS_SEED, n=OBSERVATIONS):
    """n fixed observations: theta_o from the prior, x_o from the simulator."""
    rng = np.random.default_rng([obs_seed, list(TASKS).index(task.name)])
    theta_o = task.prior(rng, n)
    return theta_o, task.simulate(rng, theta_o)


def simulate(task, sims, seed):
    rng = np.random.default_rng(seed)
    theta = task.prior(rng, sims)
    return theta, task.simulate(rng, theta)


def write(task, sims, seed, outdir, obs_seed=OBS_SEED):
    """Writes the training pairs and the observations; returns their paths."""
    os.makedirs(outdir, exist_ok=True)
    theta, x = simulate(task, sims, seed)
    theta_o, x_o = observations(task, obs_seed)
    paths = {k: os.path.join(outdir, f"{task.name}_{k}.npy") for k in ("theta", "x", "obs_theta", "obs_x")}
    for k, a in zip(paths, (theta, x, theta_o, x_o)):
        np.save(paths[k], np.ascontiguousarray(a, dtype=np.float64))
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=sorted(TASKS))
    ap.add_argument("--sims", type=int, default=10000, help="simulated (theta, x) pairs (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated pairs (default 0)")
    ap.add_argument("--obs-seed", type=int, default=OBS_SEED, help=f"seed of the observations (default {OBS_SEED})")
    ap.add_argument("--outdir", default=".")
    a = ap.parse_args()
    for k, p in write(TASKS[a.task], a.sims, a.seed, a.outdir, a.obs_seed).items():
        print(f"{k:9s} {p}")


if __name__ == "__main__":
    main()
