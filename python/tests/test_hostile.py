"""Hostile input to every function: an exception with a message that says
what and where, never a crash of the interpreter."""

import numpy as np
import pytest

import nfc
from conftest import EXAMPLES

X_FUNCTIONS = {
    "log_prob": lambda m, x: m.log_prob(x),
    "forward": lambda m, x: m.forward(x),
    "inverse": lambda m, x: m.inverse(x),
    "nll_and_grad": lambda m, x: m.nll_and_grad(x),
}


@pytest.mark.parametrize("what", list(X_FUNCTIONS))
@pytest.mark.parametrize("value, message", [
    (np.zeros((4, 3)), r"{what}: {x} has shape \(4, 3\); its last axis must have 2 values"),
    (np.zeros(()), r"{what}: {x} has shape \(\); its last axis must have 2 values"),
    (np.array([["a", "b"]]), r"{what}: {x} must hold real numbers, not <U1"),
    (np.ones((2, 2), dtype=complex), r"{what}: {x} must hold real numbers, not complex128"),
    (np.array([[1, None]], dtype=object), r"{what}: {x} must hold real numbers, not object"),
    (None, r"{what}: {x} must be an array of numbers, not NoneType"),
    ({"a": 1}, r"{what}: {x} must be an array of numbers, not dict"),
])
def test_bad_arrays(moons64, what, value, message):
    x = "z" if what == "inverse" else "x"
    with pytest.raises(nfc.DataError, match="^" + message.format(what=what, x=x) + "$"):
        X_FUNCTIONS[what](moons64, value)


@pytest.mark.parametrize("what", list(X_FUNCTIONS))
def test_values_that_are_not_finite(moons64, what):
    x = np.zeros((5, 2))
    x[3, 1] = np.nan
    name = "z" if what == "inverse" else "x"
    with pytest.raises(nfc.DataError, match=f"^{what}: {name} at row 3, column 1: NaN$"):
        X_FUNCTIONS[what](moons64, x)
    x[3, 1] = -np.inf
    with pytest.raises(nfc.DataError, match=f"^{what}: {name} at row 3, column 1: -inf$"):
        X_FUNCTIONS[what](moons64, x)


def test_training_data(moons64):
    m = nfc.compile(EXAMPLES / "moons.nf")
    data = nfc.builtin_data("moons", 100)
    data[7, 1] = np.inf
    with pytest.raises(nfc.DataError, match="^training data: row 7, column 1: inf$"):
        m.train(data, steps=5, progress=False)
    with pytest.raises(nfc.DataError,
                       match=r"^train: the rows has shape \(10, 3\); its last axis must have 2 "
                             r"values$"):
        m.train(np.zeros((10, 3)), steps=5, progress=False)
    with pytest.raises(nfc.DataError, match="^training data: no rows$"):
        m.train(np.zeros((0, 2)), steps=5, progress=False)
    bad_val = np.zeros((10, 2))
    bad_val[2, 0] = np.nan
    with pytest.raises(nfc.DataError, match="^validation data: row 2, column 0: NaN$"):
        m.train(np.zeros((10, 2)), steps=5, val=bad_val, progress=False)
    with pytest.raises(nfc.DataError,
                       match="^training options: batch is 0, not an integer of at least 1$"):
        m.train(np.zeros((10, 2)), steps=5, batch=0, progress=False)
    with pytest.raises(nfc.DataError,
                       match="^training options: lr is -1, not a finite number above 0$"):
        m.train(np.zeros((10, 2)), steps=5, lr=-1, progress=False)


def test_contexts(moons64, conditional64):
    x = np.zeros((4, 2))
    with pytest.raises(nfc.DataError,
                       match="^log_prob: 'moons' has no context; a context needs a flow "
                             "declared with context = N$"):
        moons64.log_prob(x, context=[1.0])
    with pytest.raises(nfc.DataError,
                       match=r"^log_prob: 'conditional' is conditional \(context 1\): give its "
                             r"context$"):
        conditional64.log_prob(x)
    with pytest.raises(nfc.DataError,
                       match=r"^forward: the context has 3 rows of 1 values; give 1 \(for every "
                             r"row\) or 4 \(one per row\)$"):
        conditional64.forward(x, context=np.zeros((3, 1)))
    with pytest.raises(nfc.DataError,
                       match=r"^sample: context has shape \(2,\); its last axis must have 1 "
                             r"values$"):
        conditional64.sample(5, seed=0, context=[1.0, 2.0])
    with pytest.raises(nfc.DataError, match="^log_prob: context at row 1, column 0: NaN$"):
        conditional64.log_prob(x, context=[[0.0], [np.nan], [0.0], [0.0]])
    with pytest.raises(nfc.DataError,
                       match=r"^train: the context has shape \(3, 1\); give \(1,\) or \(4, 1\)$"):
        conditional64.train(x, context=np.zeros((3, 1)), steps=1, progress=False)


def test_other_arguments(moons64):
    with pytest.raises(nfc.DataError, match="^sample: n must not be negative$"):
        moons64.sample(-1, seed=0)
    with pytest.raises(nfc.Error, match="^set_threads: the thread count must be 1 to 256, not 0$"):
        moons64.threads = 0
    with pytest.raises(nfc.Error,
                       match="^set_threads: the thread count must be 1 to 256, not 100000$"):
        moons64.threads = 100000
    assert moons64.threads == 1
    with pytest.raises(nfc.DataError,
                       match="^compile: precision must be 'f32' or 'f64', not 'f16'$"):
        nfc.compile(EXAMPLES / "moons.nf", precision="f16")
    with pytest.raises(nfc.DataError, match="^nll_and_grad: no rows$"):
        moons64.nll_and_grad(np.zeros((0, 2)))
    with pytest.raises(nfc.DataError, match="^unknown built-in dataset 'nope' \\(known: moons, "):
        nfc.builtin_data("nope", 10)
    with pytest.raises(TypeError):
        nfc.compile(42)


def test_the_messages_docs_python_md_quotes(moons64, conditional64):
    with pytest.raises(nfc.DataError) as e:
        moons64.log_prob(np.zeros((4, 3)))
    assert str(e.value) == "log_prob: x has shape (4, 3); its last axis must have 2 values"
    x = np.zeros((5, 2))
    x[3, 1] = np.nan
    with pytest.raises(nfc.DataError) as e:
        moons64.log_prob(x)
    assert str(e.value) == "log_prob: x at row 3, column 1: NaN"
    with pytest.raises(nfc.DataError) as e:
        conditional64.forward(np.zeros((4, 2)), context=np.zeros((3, 1)))
    assert str(e.value) == ("forward: the context has 3 rows of 1 values; give 1 (for every row) "
                            "or 4 (one per row)")
