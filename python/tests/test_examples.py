"""The examples of examples/python run and pass their own checks."""

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES


def run(script, *args):
    return subprocess.run([sys.executable, str(EXAMPLES / "python" / script), *args],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)


def test_moons_notebook(tmp_path):
    r = run("moons.py", "--steps", "300", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    before = float(r.stdout.split("test NLL before training: ")[1].split()[0])
    after = float(r.stdout.split("test NLL after training: ")[1].split()[0])
    assert after < before - 0.5, r.stdout
    assert (tmp_path / "moons_python.safetensors").exists()


def test_torch_interop_matches_the_pytorch_reference():
    pytest.importorskip("torch")  # make bench installs python3-torch
    r = run("torch_interop.py", "--check", "--steps", "200")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_readme_example_runs_as_written():
    from conftest import SOURCE_DIR
    readme = (SOURCE_DIR / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    r = subprocess.run([sys.executable, "-c", code], cwd=SOURCE_DIR, capture_output=True,
                       text=True, env=dict(os.environ), timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("(64, 1)"), r.stdout
