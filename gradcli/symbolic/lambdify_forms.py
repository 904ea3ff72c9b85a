"""What lambdify's generated code calls for gradcli's own functions, in two forms of the same float64 math.

gradcli's SymPy functions without a NumPy or `math` counterpart are sigmoid, relu, softplus, logsumexp,
step (relu′, with step(0) = 0) and sgn (abs′, with sgn(0) = 0). Each has:
- a NumPy form, element-wise on arrays: `numpy_modules()` is the `modules=` list for formulas evaluated on
  arrays or batches (symbolic.compile_numeric, jacobian, problems);
- a `math` form on one Python float: `math_modules()` is the `modules=` list for a formula at one point
  (symbolic.compile_point). This module imports NumPy only inside `numpy_modules()`, so derive's symbolic
  column, which runs in gradcli.prefork's child and needs one point only, never loads NumPy.

Both forms keep every intermediate finite where the value is: σ(x) = 1/(1+e^(−x)) for x ≥ 0 and
e^x/(1+e^x) below; softplus(x) = max(x,0) + ln(1+e^(−|x|)); logsumexp shifts by the largest argument.
relu(nan) = nan, as in NumPy.
"""

from __future__ import annotations

import functools
import math
from typing import Callable


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return x if math.isnan(x) else max(x, 0.0)


def _step(x: float) -> float:
    return 1.0 if x > 0 else 0.0


def _sgn(x: float) -> float:
    return x if math.isnan(x) or x == 0 else math.copysign(1.0, x)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _logsumexp(*args: float) -> float:
    m = max(args)
    if not math.isfinite(m):
        return m
    return m + math.log(math.fsum(math.exp(a - m) for a in args))


MATH_FORMS: dict[str, Callable[..., float]] = {
    "sigmoid": _sigmoid,
    "relu": _relu,
    "step": _step,
    "sgn": _sgn,
    "softplus": _softplus,
    "logsumexp": _logsumexp,
    # SymPy differentiates |u| as (re(u)·re(u)' + im(u)·im(u)')/|u| when it cannot tell u is real
    # (u = asin(sin(z)/2)); Python's math module has no re/im, a float's own parts do
    "re": lambda x: x.real,
    "im": lambda x: x.imag,
}


def math_modules() -> tuple:
    """lambdify's `modules=` for one point: our float forms first, then Python's math module."""
    return (MATH_FORMS, "math")


@functools.lru_cache(maxsize=1)
def numpy_modules() -> tuple:
    """lambdify's `modules=` for arrays: our NumPy forms first, then NumPy as the module object. Passing the
    module, not the string 'numpy', makes lambdify read its namespace as it is instead of running
    `from numpy import *`, which loads NumPy's lazy submodules (~0.2 s of start-up)."""
    import numpy as np

    def sigmoid(x):
        e = np.exp(-np.abs(x))
        return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))

    def relu(x):
        return np.where(np.isnan(x), x, np.maximum(x, 0.0))

    def logsumexp(*args):
        a = np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in args]))
        m = np.max(a, axis=0)
        safe = np.where(np.isfinite(m), m, 0.0)
        return np.where(np.isfinite(m), safe + np.log(np.sum(np.exp(a - safe), axis=0)), m)

    forms = {
        "sigmoid": sigmoid,
        "relu": relu,
        "step": lambda x: (np.asarray(x, dtype=float) > 0).astype(float),
        "sgn": np.sign,
        "softplus": lambda x: np.logaddexp(0.0, x),
        "logsumexp": logsumexp,
        "re": np.real,
        "im": np.imag,
    }
    return (forms, np)
