"""The two SBI-benchmark tasks (Lueckmann et al. 2021), with their true
posteriors: gaussian_linear's in closed form, two_moons' on a fine grid
from its exact likelihood."""

import math

import numpy as np


class GaussianLinear:
    """theta ~ N(0, 0.1 I) in R^10, x | theta ~ N(theta, 0.1 I): the
    posterior is N(x / 2, 0.05 I)."""

    name, dim = "gaussian_linear", 10

    def prior(self, rng, n):
        return rng.normal(0, math.sqrt(0.1), (n, self.dim))

    def simulate(self, rng, theta):
        return theta + rng.normal(0, math.sqrt(0.1), theta.shape)

    def posterior_samples(self, rng, x_o, n):
        return x_o / 2 + rng.normal(0, math.sqrt(0.05), (n, self.dim))

    def posterior_log_prob(self, theta, x_o):
        e = theta - x_o / 2
        return -0.5 * (e * e).sum(1) / 0.05 - 0.5 * self.dim * math.log(2 * math.pi * 0.05)


class TwoMoons:
    """theta ~ U[-1, 1]^2; a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2),
    p = (r cos a + 0.25, r sin a); x = p + (-|theta0 + theta1| / sqrt 2,
    (-theta0 + theta1) / sqrt 2). The likelihood is p's density at
    x - shift(theta): in polar coordinates about (0.25, 0) it is
    N(r; 0.1, 0.01^2) (1 / pi) / r on the right half-plane."""

    name, dim = "two_moons", 2
    grid = 1200  # cells per axis of the reference posterior on [-1, 1]^2

    def prior(self, rng, n):
        return rng.uniform(-1, 1, (n, 2))

    def simulate(self, rng, theta):
        a = rng.uniform(-math.pi / 2, math.pi / 2, len(theta))
        r = rng.normal(0.1, 0.01, len(theta))
        p = np.stack([r * np.cos(a) + 0.25, r * np.sin(a)], 1)
        return p + self._shift(theta)

    @staticmethod
    def _shift(theta):
        s = 1 / math.sqrt(2)
        return np.stack([-np.abs(theta[:, 0] + theta[:, 1]) * s, (-theta[:, 0] + theta[:, 1]) * s], 1)

    def log_likelihood(self, theta, x_o):
        p = x_o[None, :] - self._shift(theta)
        u, v = p[:, 0] - 0.25, p[:, 1]
        r = np.hypot(u, v)
        with np.errstate(divide="ignore"):
            out = -0.5 * ((r - 0.1) / 0.01) ** 2 - math.log(0.01 * math.sqrt(2 * math.pi)) - math.log(math.pi) - np.log(r)
        return np.where(u > 0, out, -np.inf)

    def _grid(self, x_o):
        h = 2 / self.grid
        centres = -1 + h * (np.arange(self.grid) + 0.5)
        t0, t1 = np.meshgrid(centres, centres, indexing="ij")
        theta = np.stack([t0.ravel(), t1.ravel()], 1)
        ll = self.log_likelihood(theta, x_o)
        m = ll.max()
        log_z = m + math.log(np.exp(ll - m).sum() * h * h)  # prior density 1/4 cancels
        return theta, ll, log_z, h

    def posterior_samples(self, rng, x_o, n):
        theta, ll, _, h = self._grid(x_o)
        w = np.exp(ll - ll.max())
        cells = rng.choice(len(theta), n, p=w / w.sum())
        # Uniform within the cell; where that leaves the likelihood's
        # support (the half-plane edge crosses the cell), the cell's centre.
        jittered = theta[cells] + rng.uniform(-h / 2, h / 2, (n, 2))
        ok = np.isfinite(self.log_likelihood(jittered, x_o))[:, None]
        return np.where(ok, jittered, theta[cells])

    def posterior_log_prob(self, theta, x_o):
        _, _, log_z, _ = self._grid(x_o)
        inside = np.all(np.abs(theta) <= 1, 1)
        return np.where(inside, self.log_likelihood(theta, x_o) - log_z, -np.inf)


TASKS = {t.name: t for t in (GaussianLinear(), TwoMoons())}
