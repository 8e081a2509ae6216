"""Model's life: compiling, parameters, saving, training (callbacks, Ctrl-C,
a validation set), threads and the GIL, emitting C++."""

import _thread
import os
import pathlib
import subprocess
import threading
import time

import numpy as np
import pytest

import nfc
from conftest import EXAMPLES

MOONS_SOURCE = (EXAMPLES / "moons.nf").read_text()


def test_version_is_the_projects():
    from conftest import SOURCE_DIR
    cmake = (SOURCE_DIR / "CMakeLists.txt").read_text()
    assert f"project(nfc VERSION {nfc.__version__} " in cmake


def test_compile_takes_a_path_or_source_text():
    a = nfc.compile(EXAMPLES / "moons.nf")
    b = nfc.compile(str(EXAMPLES / "moons.nf"), precision="f32", threads=2)
    c = nfc.compile(MOONS_SOURCE)
    assert (a.name, a.dim, a.context_dim, a.precision) == ("moons", 2, 0, "f64")
    assert (b.precision, b.threads, b.dtype) == ("f32", 2, np.float32)
    assert c.num_params == a.num_params == 4 * (64 + 64 + 64 * 64 + 64 + 2 * 64 + 2)
    assert repr(a) == "<nfc.Model moons(dim=2), f64, 17672 parameters>"
    x = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_array_equal(a.log_prob(x), c.log_prob(x))


def test_compile_error_carries_the_first_error_and_its_place():
    source = MOONS_SOURCE.replace("coupling affine", "coupl affine")
    with pytest.raises(nfc.CompileError) as info:
        nfc.compile(source)
    e = info.value
    assert (e.file, e.line, e.col) == ("<string>", 11, 5)
    assert e.message == "unknown layer 'coupl'; did you mean 'coupling'?"
    assert str(e).startswith("<string>:11:5: error: unknown layer 'coupl'; did you mean "
                             "'coupling'?\n    coupl affine(mask = alternate) {\n    ^~~~~")
    assert isinstance(e, nfc.Error)


def test_a_missing_file_is_an_error():
    with pytest.raises(nfc.Error, match=r"^cannot open 'no/such.nf': No such file or directory$"):
        nfc.compile("no/such.nf")


def test_params_read_and_write_by_name(moons64, rng):
    m = nfc.compile(EXAMPLES / "moons.nf")
    p = m.params
    assert list(p)[:4] == ["layer0.net.w1", "layer0.net.b1", "layer0.net.w2", "layer0.net.b2"]
    assert p["layer0.net.w1"].shape == (64, 1) and p["layer0.net.w3"].shape == (2, 64)
    x = rng.normal(size=(20, 2))
    before = m.log_prob(x)
    p["layer3.net.b3"] += 0.5
    m.params = p
    assert not np.array_equal(m.log_prob(x), before)
    np.testing.assert_array_equal(m.params["layer3.net.b3"], p["layer3.net.b3"])


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("layer1.net.b2"), "params: the tensor 'layer1.net.b2' is missing"),
    (lambda p: p.update(extra=np.zeros(3)), "params: the model has no tensor 'extra'"),
    (lambda p: p.update({"layer0.net.w1": np.zeros((1, 64))}),
     r"params: 'layer0.net.w1' has shape \(1, 64\); the model's is \(64, 1\)"),
    (lambda p: p["layer0.net.b1"].__setitem__(3, np.nan),
     "params: 'layer0.net.b1' holds a value that is not finite"),
    (lambda p: p.update({"layer0.net.b1": np.array(["a"] * 64)}),
     "params: 'layer0.net.b1' must hold real numbers, not <U1"),
])
def test_bad_params_are_refused_and_change_nothing(change, message, rng):
    m = nfc.compile(EXAMPLES / "moons.nf")
    x = rng.normal(size=(5, 2))
    before = m.log_prob(x)
    p = m.params
    change(p)
    with pytest.raises(nfc.DataError, match="^" + message + "$"):
        m.params = p
    np.testing.assert_array_equal(m.log_prob(x), before)


def test_param_vector_of_the_wrong_length(moons64):
    with pytest.raises(nfc.DataError,
                       match=r"^params: the parameter vector has shape \(3,\); its last axis "
                             r"must have 17672 values$"):
        moons64.param_vector = np.zeros(3)


def test_save_and_load_give_the_same_model(tmp_path, rng):
    m = nfc.compile(EXAMPLES / "moons.nf")
    m.init_params(11)
    path = tmp_path / "p.safetensors"
    m.save(path)
    back = nfc.load(EXAMPLES / "moons.nf", path)
    x = rng.normal(size=(100, 2))
    np.testing.assert_array_equal(back.log_prob(x), m.log_prob(x))
    with pytest.raises(nfc.DataError, match="no/such.safetensors"):
        back.load(tmp_path / "no/such.safetensors")


def test_training_lowers_the_nll_and_keeps_the_best():
    data = nfc.builtin_data("moons", 4000, seed=0)
    held = nfc.builtin_data("moons", 2000, seed=1)
    m = nfc.compile(EXAMPLES / "moons.nf", precision="f32")
    before = -m.log_prob(held).mean()
    seen = []
    r = m.train(data, steps=600, batch=256, lr=2e-3, eval_every=100, seed=0,
                callback=seen.append, progress=False)
    after = -m.log_prob(held).mean()
    assert r.steps == 600 and not r.diverged and not r.stopped_early
    # 2.7 nats at initialisation; 600 steps reach ~1.66 (3000 steps: ~1.1)
    assert before > 2.5 and after < 1.8, (before, after)
    evaluations = [s for s in seen if s["evaluation"]]
    assert [s["step"] for s in evaluations] == [100, 200, 300, 400, 500, 600]
    assert r.history == evaluations
    assert r.best_val_nll == min(s["val_nll"] for s in evaluations)


def test_a_validation_set_of_its_own():
    data = nfc.builtin_data("moons", 2000, seed=0)
    val = nfc.builtin_data("moons", 500, seed=3)
    m = nfc.compile(EXAMPLES / "moons.nf")
    r = m.train(data, steps=200, eval_every=100, val=val, progress=False)
    # the model holds the best step's parameters: its validation NLL is the record's
    assert -m.log_prob(val).mean() == pytest.approx(r.best_val_nll, rel=1e-12)
    none = nfc.compile(EXAMPLES / "moons.nf").train(data, steps=50, val=0, progress=False)
    assert np.isnan(none.best_val_nll)


def test_the_callback_can_stop_training_and_its_exceptions_propagate():
    data = nfc.builtin_data("moons", 2000)
    m = nfc.compile(EXAMPLES / "moons.nf")
    r = m.train(data, steps=1000, eval_every=50, progress=False,
                callback=lambda rec: not (rec["evaluation"] and rec["step"] >= 100))
    assert r.stopped_early and r.steps == 100

    def boom(rec):
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        m.train(data, steps=1000, eval_every=50, progress=False, callback=boom)
    assert np.isfinite(m.log_prob(data[:10])).all()


def test_ctrl_c_stops_training_and_keeps_good_parameters():
    data = nfc.builtin_data("moons", 4000)
    m = nfc.compile(EXAMPLES / "moons.nf")
    timer = threading.Timer(0.5, _thread.interrupt_main)  # what Ctrl-C does
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        m.train(data, steps=10**8, eval_every=100, progress=False)
    assert time.monotonic() - started < 30
    # the parameters of a finished step (or the best validated one): usable
    assert np.isfinite(m.param_vector).all()
    assert np.isfinite(m.log_prob(data)).all()
    # and the model trains on afterwards
    r = m.train(data, steps=20, progress=False)
    assert r.steps == 20 and not r.diverged


def test_progress_bar_prints_evaluations_when_not_a_terminal(capfd):
    m = nfc.compile(EXAMPLES / "moons.nf")
    m.train(nfc.builtin_data("moons", 1000), steps=200, eval_every=100)
    err = capfd.readouterr().err
    try:
        import tqdm  # noqa: F401
    except ImportError:
        lines = err.strip().split("\n")
        assert [l.split(":")[0] for l in lines] == ["step 100/200", "step 200/200"]
        assert "loss" in lines[0] and "val" in lines[0]


def test_the_gil_is_released_while_computing(moons64):
    x = np.random.default_rng(0).normal(size=(400_000, 2))
    count = 0
    stop = False

    def spin():
        nonlocal count
        while not stop:
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    before = count
    moons64.log_prob(x)  # ~0.1-0.5 s of compute
    during = count - before
    stop = True
    t.join()
    # With the GIL held the spinning thread would not run at all during
    # the call; with it released it counts freely (millions per second).
    assert during > 10_000, during


def test_threads_share_a_model(moons64):
    x = np.random.default_rng(1).normal(size=(20_000, 2))
    want = moons64.log_prob(x)
    results = [None] * 4

    def work(i):
        results[i] = moons64.log_prob(x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_a_closed_model_refuses_every_call():
    with nfc.compile(EXAMPLES / "moons.nf") as m:
        pass
    assert m.closed
    for call in (lambda: m.log_prob(np.zeros((1, 2))), lambda: m.sample(3, seed=0),
                 lambda: m.forward(np.zeros(2)), lambda: m.params,
                 lambda: m.train(np.zeros((10, 2)), steps=1, progress=False),
                 lambda: m.nll_and_grad(np.zeros((1, 2)))):
        with pytest.raises(nfc.Error, match="the model is closed$"):
            call()


def test_emit_cpp_writes_code_that_computes_the_same_density(tmp_path, rng):
    m = nfc.compile(EXAMPLES / "moons.nf")
    m.init_params(4)
    files = m.emit_cpp(tmp_path, namespace="deployed")
    assert [pathlib.Path(f).name for f in files] == ["deployed.hpp", "deployed.cpp"]
    x = rng.normal(size=(5, 2))
    main = tmp_path / "main.cpp"
    rows = ", ".join(f"{{{a!r}, {b!r}}}" for a, b in x)
    main.write_text('#include <cstdio>\n#include "deployed.hpp"\nint main() {\n'
                    f"  const deployed::Real x[5][2] = {{{rows}}};\n"
                    '  for (const auto& r : x) std::printf("%.17g\\n", deployed::log_prob(r));\n'
                    "}\n")
    exe = tmp_path / "deployed"
    subprocess.run(["g++", "-std=c++17", "-O1", f"-I{tmp_path}", str(main),
                    str(tmp_path / "deployed.cpp"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    emitted = np.array([float(v) for v in out.split()])
    # the same arithmetic in another compiler's order: f64 round-off
    np.testing.assert_allclose(emitted, m.log_prob(x), rtol=0, atol=1e-12)
    with pytest.raises(nfc.Error, match="'9x' cannot name a C\\+\\+ namespace"):
        m.emit_cpp(tmp_path, namespace="9x")


def test_fit_target_finds_log_z_of_an_unnormalised_gaussian():
    # examples/variational/gaussian.nf: log Z = 3 + log(2 pi) - 0.5 log det P = 4.750907
    m = nfc.compile(EXAMPLES / "variational" / "gaussian.nf", target="gaussian")
    r = m.fit_target(steps=600, lr=3e-3, eval_every=200, seed=0, progress=False)
    assert not r.diverged
    assert [h["step"] for h in r.history] == [200, 400, 600]
    assert "elbo" in r.history[-1]
    # an affine flow can represent the Gaussian exactly: log Z within a few
    # standard errors, and the ELBO just below it
    assert abs(r.log_z - 4.750907) < 5 * r.log_z_se + 1e-3, (r.log_z, r.log_z_se)
    assert r.elbo <= r.log_z + 1e-9 and r.elbo > 4.70
    x = np.array([[1.0, -2.0], [0.0, 0.0]])
    np.testing.assert_allclose(m.target_log_prob(x), [3.0, 3 - 0.5 * (2 - 3.6 + 4)], rtol=1e-15)
    with pytest.raises(nfc.Error, match="^fit_target: the model was compiled without a target"):
        nfc.compile(EXAMPLES / "moons.nf").fit_target(steps=1, progress=False)


def test_a_training_callback_may_read_the_model_but_not_change_it():
    data = nfc.builtin_data("moons", 2000)
    test = nfc.builtin_data("moons", 500, seed=9)
    m = nfc.compile(EXAMPLES / "moons.nf")
    test_nll = []

    def watch(record):
        if record["evaluation"]:
            test_nll.append(-m.log_prob(test).mean())
            m.sample(10, seed=0)
            assert m.params["layer0.net.b1"].shape == (64,)

    m.train(data, steps=200, eval_every=50, progress=False, callback=watch)
    assert len(test_nll) == 4 and test_nll[-1] < test_nll[0]

    def meddle(record):
        m.params = m.params

    with pytest.raises(nfc.Error, match="^params: the model is training"):
        m.train(data, steps=200, progress=False, callback=meddle)

    def nested(record):
        m.train(data, steps=1, progress=False)

    with pytest.raises(nfc.Error, match="^train: the model is training"):
        m.train(data, steps=200, progress=False, callback=nested)
    assert np.isfinite(m.log_prob(test)).all()
    m.close()  # not training any more: allowed
