"""nfc for Python: compile a normalizing flow written in the .nf language,
train it, evaluate its density and sample from it, with NumPy arrays in and
out.

    import nfc
    m = nfc.compile("examples/moons.nf", precision="f32", threads=2)
    m.train(nfc.builtin_data("moons", 20000), steps=3000)
    x, log_p = m.sample_and_log_prob(1000, seed=0)

Arrays: rows are the last axis (``x.shape == (..., m.dim)``); results keep the
leading axes. C-contiguous arrays of the model's dtype (float32 for
precision "f32", float64 for "f64") are read in place; any other array of
real numbers is converted once. Results are arrays of the model's dtype.
Calls release the GIL while they compute.

Directions (as the C++ API): ``forward`` is x -> z with log|det dz/dx|,
``inverse`` is z -> x with log|det dx/dz|.

docs/python.md is the reference.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from . import _nfc
from ._nfc import CompileError, DataError, Error, __version__
from ._progress import ProgressBar

__all__ = ["__version__", "compile", "load", "builtin_data", "Model", "TrainResult", "Error", "CompileError",
           "DataError"]


def _source_of(model) -> tuple[str, str]:
    """(source text, name for diagnostics) of a path or of .nf source text."""
    if isinstance(model, os.PathLike) or (isinstance(model, str) and "\n" not in model
                                          and "{" not in model):
        path = os.fspath(model)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                return f.read(), path
        except OSError as e:
            raise Error(f"cannot open '{path}': {e.strerror}") from None
    if isinstance(model, str):
        return model, "<string>"
    raise TypeError(f"model must be a path or .nf source text, not {type(model).__name__}")


def compile(model, precision: str = "f64", threads: int = 1, target: str = "") -> "Model":
    """Compiles a .nf file (a path) or .nf source text into a Model whose
    parameters start initialised from seed 0. Raises CompileError with the
    compiler's located diagnostics. ``target`` selects a variational target
    (as the C++ API's Model::compile)."""
    source, name = _source_of(model)
    m = Model(_nfc.compile(source, precision, name, target))
    if threads != 1:
        m.threads = threads
    return m


def load(model, params, precision: str = "f64", threads: int = 1) -> "Model":
    """Compiles ``model`` and loads trained parameters from a .safetensors
    file (as ``nfc train --out`` or Model.save write them)."""
    m = compile(model, precision=precision, threads=threads)
    m.load(params)
    return m


def builtin_data(name: str, n: int = 10000, seed: int = 0) -> np.ndarray:
    """n rows of a built-in data set (``nfc train --data builtin:NAME``):
    "moons", "8gaussians", ...; float64, shape (n, columns)."""
    return _nfc.builtin_data(name, n, seed)


@dataclass
class TrainResult:
    steps: int                  # steps run
    best_val_nll: float         # nan without a validation set
    best_step: int              # whose parameters the model now holds
    stopped_early: bool         # patience ran out, or the callback returned False
    diverged: bool              # not a fit: non-finite steps, or a blown-up loss
    history: list = field(default_factory=list)  # every evaluation's progress record
    # fit_target: the ELBO, log Z with its standard error, and ESS / draws at
    # the parameters the model holds (nan after train)
    elbo: float = float("nan")
    log_z: float = float("nan")
    log_z_se: float = float("nan")
    ess: float = float("nan")


class Model:
    """A compiled flow with its parameters (nfc.compile, nfc.load). A model
    may be used from several Python threads: reads run concurrently,
    training and parameter changes one at a time. ``with`` closes it."""

    def __init__(self, compiled):
        self._m = compiled

    # -- what it is --------------------------------------------------------
    name = property(lambda self: self._m.name, doc="the flow's name in the source")
    dim = property(lambda self: self._m.dim, doc="values per row of x")
    context_dim = property(lambda self: self._m.context_dim,
                           doc="values per context row of a conditional flow p(x | c); 0 otherwise")
    precision = property(lambda self: self._m.precision, doc='"f32" or "f64"')
    dtype = property(lambda self: np.dtype(np.float32 if self._m.precision == "f32"
                                           else np.float64),
                     doc="the dtype of the arrays it returns")
    closed = property(lambda self: self._m.closed)

    @property
    def threads(self) -> int:
        """Threads that run each batch; maps and sampling give the same
        numbers on any count, gradients differ in rounding only."""
        return self._m.threads

    @threads.setter
    def threads(self, n: int):
        self._m.threads = n

    def __repr__(self):
        state = "closed" if self.closed else f"{self._m.precision}, {self.num_params} parameters"
        ctx = f", context={self.context_dim}" if self.context_dim else ""
        return f"<nfc.Model {self.name}(dim={self.dim}{ctx}), {state}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Frees the compiled code; every later call raises nfc.Error."""
        self._m.close()

    # -- density, maps, sampling -----------------------------------------
    def log_prob(self, x, context=None) -> np.ndarray:
        """log p(x) (or log p(x | context)) of every row: shape x.shape[:-1]."""
        return self._m.log_prob(x, context)

    def forward(self, x, context=None) -> tuple[np.ndarray, np.ndarray]:
        """(z, log|det dz/dx|) for every row of x."""
        return self._m.forward(x, context)

    def inverse(self, z, context=None) -> tuple[np.ndarray, np.ndarray]:
        """(x, log|det dx/dz|) for every row of z."""
        return self._m.inverse(z, context)

    def sample(self, n: int, seed: Optional[int] = None, context=None) -> np.ndarray:
        """n samples, shape (n, dim). ``seed`` None draws a fresh one; the
        same seed gives the same samples (as ``nfc sample --seed``). A
        conditional flow samples at ``context``: one row for all, or n rows."""
        return self.sample_and_log_prob(n, seed, context)[0]

    def sample_and_log_prob(self, n: int, seed: Optional[int] = None,
                            context=None) -> tuple[np.ndarray, np.ndarray]:
        """n samples and their log-density, which costs nothing extra."""
        if seed is None:
            seed = secrets.randbits(64)
        return self._m.sample(int(n), int(seed), context)

    # -- parameters --------------------------------------------------------
    @property
    def num_params(self) -> int:
        return sum(int(np.prod(s, dtype=np.int64)) for s in self._m.param_shapes)

    @property
    def params(self) -> dict:
        """Every parameter tensor by its safetensors name (a copy: assign
        the dict back, whole, to change them)."""
        flat = self._m.get_flat()
        out, offset = {}, 0
        for name, shape in zip(self._m.param_names, self._m.param_shapes):
            size = int(np.prod(shape, dtype=np.int64))
            out[name] = flat[offset:offset + size].reshape(shape).copy()
            offset += size
        return out

    @params.setter
    def params(self, values: dict):
        names, shapes = self._m.param_names, self._m.param_shapes
        missing = [n for n in names if n not in values]
        if missing:
            raise DataError(f"params: the tensor '{missing[0]}' is missing"
                            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        unknown = [k for k in values if k not in set(names)]
        if unknown:
            raise DataError(f"params: the model has no tensor '{unknown[0]}'")
        parts = []
        for name, shape in zip(names, shapes):
            a = np.asarray(values[name])
            if a.dtype.kind not in "biuf":
                raise DataError(f"params: '{name}' must hold real numbers, not {a.dtype}")
            if a.shape != tuple(shape):
                raise DataError(f"params: '{name}' has shape {a.shape}; the model's is "
                                f"{tuple(shape)}")
            if not np.isfinite(a).all():
                raise DataError(f"params: '{name}' holds a value that is not finite")
            parts.append(a.reshape(-1).astype(np.float64))
        self._m.set_flat(np.concatenate(parts) if parts else np.zeros(0))

    @property
    def param_vector(self) -> np.ndarray:
        """Every parameter in one flat array (the order of ``params``), the
        layout nll_and_grad(flat=True) returns gradients in."""
        return self._m.get_flat()

    @param_vector.setter
    def param_vector(self, values):
        self._m.set_flat(values)

    def init_params(self, seed: int = 0):
        """Fresh parameters, as ``nfc train`` initialises them."""
        self._m.init_params(int(seed))

    def save(self, path):
        """The parameters as .safetensors, as ``nfc train --out`` writes them."""
        self._m.save(os.fspath(path))

    def load(self, path):
        self._m.load(os.fspath(path))

    def nll_and_grad(self, x, context=None, flat: bool = False):
        """(mean of -log p(x) over the rows, its gradient): the gradient as a
        dict shaped like ``params``, or flat in ``param_vector``'s order."""
        loss, grad = self._m.nll_and_grad(x, context)
        if flat:
            return loss, grad
        out, offset = {}, 0
        for name, shape in zip(self._m.param_names, self._m.param_shapes):
            size = int(np.prod(shape, dtype=np.int64))
            out[name] = grad[offset:offset + size].reshape(shape)
            offset += size
        return loss, out

    # -- training ----------------------------------------------------------
    def train(self, x, context=None, *, steps: int = 2000, batch: int = 256, lr: float = 1e-3,
              val=0.1, eval_every: int = 100, patience: int = 0, seed: int = 0,
              callback: Optional[Callable[[dict], Optional[bool]]] = None,
              progress: bool = True) -> TrainResult:
        """Maximum likelihood with Adam (cosine schedule) on the rows of x
        (with their context for a conditional flow); the model then holds
        the best validated parameters.

        val: the share of rows held out for validation (0 or None: none), or
        validation rows of their own (a tuple (x_val, c_val) for a
        conditional flow). callback(record) sees a dict (step, total, loss,
        val_nll, lr, evaluation) at every evaluation and a few times a
        second between; returning False stops training. progress: a
        progress bar (tqdm's, in a terminal or Jupyter, if installed; a
        plain one otherwise). Ctrl-C stops training, keeps the best
        parameters so far and raises KeyboardInterrupt."""
        rows = self._rows(x, context, "train")
        val_rows, val_frac = self._validation(val, "train")
        options = dict(steps=steps, batch=batch, lr=lr, val_frac=val_frac,
                       eval_every=eval_every, patience=patience, seed=seed)
        return self._run(lambda report: self._m.train(rows, val_rows, options, report, 0.1),
                         steps, callback, progress)

    def fit_target(self, *, steps: int = 2000, batch: int = 256, lr: float = 1e-3,
                   eval_every: int = 100, patience: int = 0, seed: int = 0,
                   eval_samples: int = 4096,
                   callback: Optional[Callable[[dict], Optional[bool]]] = None,
                   progress: bool = True) -> TrainResult:
        """Variational fitting to the target the model was compiled with
        (nfc.compile(..., target=NAME)): reverse KL on fresh base draws each
        step, the parameters of the best ELBO kept. Evaluation records and
        the result carry elbo, log_z, log_z_se and ess (estimated from
        eval_samples draws). Callback, progress and Ctrl-C as in train."""
        options = dict(steps=steps, batch=batch, lr=lr, val_frac=0.0, eval_every=eval_every,
                       patience=patience, seed=seed, eval_samples=eval_samples)
        return self._run(lambda report: self._m.fit_target(options, report, 0.1), steps,
                         callback, progress)

    def target_log_prob(self, x) -> np.ndarray:
        """The compiled target's unnormalised log-density log p~(x) of every row
        (float64)."""
        return self._m.target_log_prob(x)

    def _validation(self, val, what):
        """(validation rows or None, the share to hold out) of train's val."""
        if isinstance(val, (tuple, list, np.ndarray)):
            vx, vc = val if isinstance(val, tuple) else (val, None)
            return self._rows(vx, vc, what), 0.0
        return None, float(val) if val else 0.0

    def _run(self, start, steps, callback, progress):
        """Runs start(report) with a progress bar and the user's callback."""
        history = []
        bar = ProgressBar(steps) if progress else None

        def report(record):
            if record["evaluation"]:
                history.append(record)
            if bar:
                bar.update(record)
            if callback is not None:
                return callback(record)
            return True

        try:
            r = start(report)
        finally:
            if bar:
                bar.close()
        return TrainResult(history=history, **r)

    def _rows(self, x, context, what):
        """Rows (x, c) of a conditional flow; x itself otherwise."""
        if self.context_dim == 0:
            if context is not None:
                raise DataError(f"{what}: '{self.name}' has no context; a context needs a flow "
                                "declared with context = N")
            return x
        if context is None:
            raise DataError(f"{what}: '{self.name}' is conditional (context "
                            f"{self.context_dim}): give its context")
        x = np.asarray(x)
        c = np.asarray(context)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise DataError(f"{what}: x has shape {x.shape}; give (n, {self.dim})")
        if c.ndim == 1:
            c = np.broadcast_to(c, (x.shape[0], c.shape[0]))
        if c.ndim != 2 or c.shape != (x.shape[0], self.context_dim):
            raise DataError(f"{what}: the context has shape {c.shape}; give "
                            f"({self.context_dim},) or ({x.shape[0]}, {self.context_dim})")
        return np.concatenate([x, c], axis=1).astype(self.dtype, copy=False)

    # -- deployment --------------------------------------------------------
    def emit_cpp(self, directory, namespace: str = "", with_grad: bool = False) -> list:
        """The flow with its current parameters as standalone C++17 (as
        ``nfc emit-cpp``): NS.hpp and NS.cpp in ``directory``; returns their
        paths."""
        return self._m.emit_cpp(os.fspath(directory), namespace, with_grad)
