"""The numbers `import nfc` gives: round trips, log-determinants against a
finite-difference Jacobian, log_prob against base density + log-det,
gradients against finite differences, f32 against f64, sampling."""

import math

import numpy as np
import pytest

import nfc
from conftest import EXAMPLES


def normal_log_density(z):
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def test_inverse_undoes_forward_and_the_logdets_cancel(moons64, rng):
    x = rng.normal(size=(500, 2))
    z, ld = moons64.forward(x)
    back, ld_inv = moons64.inverse(z)
    # f64 with 4 layers of exp/tanh: round-off only
    assert np.abs(back - x).max() < 1e-12
    assert np.abs(ld + ld_inv).max() < 1e-12


def test_logdet_matches_a_finite_difference_jacobian(moons64, rng):
    x = rng.normal(size=(20, 2))
    _, ld = moons64.forward(x)
    h = 1e-6
    for i in range(len(x)):
        cols = []
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            zp, _ = moons64.forward(x[i] + e)
            zm, _ = moons64.forward(x[i] - e)
            cols.append((zp - zm) / (2 * h))
        jac = np.stack(cols, axis=1)
        # central differences: O(h^2) truncation + O(eps / h) round-off ~ 1e-9
        assert abs(math.log(abs(np.linalg.det(jac))) - ld[i]) < 1e-7


def test_log_prob_is_the_base_density_of_z_plus_the_logdet(moons64, rng):
    x = rng.normal(size=(300, 2))
    z, ld = moons64.forward(x)
    np.testing.assert_allclose(moons64.log_prob(x), normal_log_density(z) + ld, rtol=0,
                               atol=1e-12)


def test_leading_axes_are_kept(moons64, rng):
    x = rng.normal(size=(3, 4, 2))
    lp = moons64.log_prob(x)
    assert lp.shape == (3, 4)
    np.testing.assert_array_equal(lp.reshape(-1), moons64.log_prob(x.reshape(-1, 2)))
    one = moons64.log_prob(x[0, 0])
    assert one.shape == () and one == lp[0, 0]
    z, ld = moons64.forward(x)
    assert z.shape == (3, 4, 2) and ld.shape == (3, 4)
    assert moons64.log_prob(np.zeros((0, 2))).shape == (0,)


def test_f32_model_returns_float32_and_agrees_with_f64(moons32, moons64, rng):
    moons32.params = moons64.params
    x = rng.normal(size=(1000, 2))
    lp32 = moons32.log_prob(x.astype(np.float32))
    assert lp32.dtype == np.float32 and moons32.dtype == np.float32
    # float32 through 4 couplings of 2 x 64 x 64 MLPs: ~1e-6 relative per op
    np.testing.assert_allclose(lp32, moons64.log_prob(x), rtol=1e-4, atol=1e-4)


def test_any_layout_or_real_dtype_gives_the_same_numbers(moons64, rng):
    x = rng.normal(size=(200, 2))
    want = moons64.log_prob(x)
    np.testing.assert_array_equal(moons64.log_prob(np.asfortranarray(x)), want)
    wide = np.zeros((200, 4))
    wide[:, ::2] = x
    np.testing.assert_array_equal(moons64.log_prob(wide[:, ::2]), want)  # strided
    np.testing.assert_array_equal(moons64.log_prob(x.tolist()), want)
    ints = np.array([[0, 1], [2, -1]], dtype=np.int16)
    np.testing.assert_array_equal(moons64.log_prob(ints), moons64.log_prob(ints.astype(float)))


def test_gradient_matches_finite_differences(moons64, rng):
    m = nfc.compile(EXAMPLES / "moons.nf", precision="f64")
    m.init_params(3)
    x = rng.normal(size=(64, 2))
    loss, grad = m.nll_and_grad(x, flat=True)
    assert loss == pytest.approx(-m.log_prob(x).mean(), rel=0, abs=1e-12)
    theta = m.param_vector
    h = 1e-6
    for k in rng.choice(len(theta), size=25, replace=False):
        for sign, store in ((1, "plus"), (-1, "minus")):
            t = theta.copy()
            t[k] += sign * h
            m.param_vector = t
            if store == "plus":
                plus = -m.log_prob(x).mean()
            else:
                minus = -m.log_prob(x).mean()
        fd = (plus - minus) / (2 * h)
        assert abs(fd - grad[k]) < 1e-7 + 1e-6 * abs(grad[k]), (k, fd, grad[k])
    m.param_vector = theta
    _, by_name = m.nll_and_grad(x)
    assert list(by_name) == list(m.params)
    np.testing.assert_array_equal(by_name["layer0.net.w1"].reshape(-1), grad[:64])


def test_samples_are_seeded_and_carry_their_log_density(moons64):
    x1, lp1 = moons64.sample_and_log_prob(2000, seed=5)
    x2 = moons64.sample(2000, seed=5)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(x1, moons64.sample(2000, seed=6))
    assert x1.shape == (2000, 2) and lp1.shape == (2000,)
    np.testing.assert_allclose(lp1, moons64.log_prob(x1), rtol=0, atol=1e-10)


def test_conditional_flow_takes_one_context_for_all_or_one_per_row(conditional64, rng):
    m = conditional64
    assert m.context_dim == 1
    x = rng.normal(size=(50, 2))
    c = np.full((50, 1), 0.3)
    np.testing.assert_array_equal(m.log_prob(x, context=[0.3]), m.log_prob(x, context=c))
    per_row = rng.normal(size=(50, 1))
    lp = m.log_prob(x, context=per_row)
    for i in (0, 17, 49):
        # one row runs the small-batch entry point: another summation order
        assert lp[i] == pytest.approx(m.log_prob(x[i:i + 1], context=per_row[i])[0], abs=1e-13)
    z, ld = m.forward(x, context=per_row)
    back, ld2 = m.inverse(z, context=per_row)
    assert np.abs(back - x).max() < 1e-12 and np.abs(ld + ld2).max() < 1e-12
    s, slp = m.sample_and_log_prob(300, seed=1, context=[0.5])
    np.testing.assert_allclose(slp, m.log_prob(s, context=[0.5]), rtol=0, atol=1e-10)
    loss, _ = m.nll_and_grad(x, context=per_row)
    assert loss == pytest.approx(-lp.mean(), abs=1e-12)


def test_builtin_data_is_seeded(moons64):
    a = nfc.builtin_data("moons", 100, seed=1)
    assert a.shape == (100, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, nfc.builtin_data("moons", 100, seed=1))
    assert not np.array_equal(a, nfc.builtin_data("moons", 100, seed=2))
    assert nfc.builtin_data("cond_gaussians", 10).shape == (10, 3)
