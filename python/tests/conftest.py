import os
import pathlib

import numpy as np
import pytest

import nfc

SOURCE_DIR = pathlib.Path(os.environ.get("NFC_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
EXAMPLES = SOURCE_DIR / "examples"


@pytest.fixture(scope="session")
def moons64():
    """The README's RealNVP in f64: exact checks."""
    return nfc.compile(EXAMPLES / "moons.nf", precision="f64")


@pytest.fixture(scope="session")
def moons32():
    return nfc.compile(EXAMPLES / "moons.nf", precision="f32")


@pytest.fixture(scope="session")
def conditional64():
    return nfc.compile(EXAMPLES / "conditional.nf", precision="f64")


@pytest.fixture
def rng():
    return np.random.default_rng(7)
