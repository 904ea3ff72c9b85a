"""Numbers from SymPy formulas: `compile_numeric` (lambdify with cse and dummified arguments, on NumPy) and
`value`; `compile_point`/`point_value` for one point on Python floats (the math module: no NumPy, so
derive's symbolic child never loads it).
"""


from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import sympy

from gradcli.errors import BindingError, GradcliError, ShapeError
from gradcli.symbolic.lambdify_forms import math_modules, numpy_modules
from gradcli.timebound import bounded

if TYPE_CHECKING:
    import numpy as np
from gradcli.symbolic.bounds import Value, deep_step
from gradcli.symbolic.convert import as_scalar, shape_of

# ============================================================================ numbers from formulas


@deep_step
def compile_numeric(exprs: Sequence[Value], syms: Sequence[sympy.Symbol], *,
                    cse_seconds: float = 2.0) -> Callable[..., list]:
    """A NumPy function of `syms` (in order) returning the value of every expression: floats for scalars,
    float arrays of the matrix's shape for matrices; arguments may be arrays (element-wise).

    Built with `lambdify(cse=...)`: common subexpressions are computed once (the search for them is
    time-bounded), and the arguments are renamed `_a0, _a1, ...` first (like dummify=True), so user names
    such as `where`, `lambda_` or `x[0]` cannot clash with anything in the generated code. Values outside
    the domain come back as nan or inf (never a warning); compiling or calling errors are GradcliError.
    """
    exprs = [_frozen(as_scalar(e)) for e in exprs]
    return _compiled(tuple(exprs), tuple(syms), cse_seconds)


@deep_step
def compile_point(exprs: Sequence[Value], syms: Sequence[sympy.Symbol], *,
                  cse_seconds: float = 2.0) -> Callable[..., list[float]]:
    """Like compile_numeric for scalar formulas at one point: Python floats (float64 too) through the
    `math` module, so NumPy is never imported (derive's symbolic column runs this in gradcli.prefork's
    child). A formula undefined at the point (ln 0, 1/0, sqrt(-1), overflow) is nan, and only that one:
    when the joint evaluation fails, each formula is evaluated on its own.
    """
    exprs = [as_scalar(e) for e in exprs]
    if any(shape_of(e) for e in exprs):
        raise ShapeError("compile_point takes scalar formulas; use compile_numeric for matrices")
    return _compiled_point(tuple(exprs), tuple(syms), cse_seconds)


def _lambdified(exprs: tuple, syms: tuple, modules: Sequence, cse_seconds: float) -> Callable:
    """lambdify with time-bounded cse, the arguments renamed to names of our own first (what
    dummify=True does, at a third of its cost): user names such as `where`, `lambda_`, `numpy` or `x[0]`
    never reach the generated code."""
    def bounded_cse(items):
        return bounded(cse_seconds, sympy.cse, items, list=False, fallback=((), items), catch=(Exception,))

    safe = {s: sympy.Symbol(f"_a{k}", real=True) for k, s in enumerate(syms)}
    renamed = [e.xreplace(safe) if isinstance(e, (sympy.Basic, sympy.MatrixBase)) else e for e in exprs]
    try:
        return sympy.lambdify([safe[s] for s in syms], renamed, modules=list(modules), cse=bounded_cse)
    except Exception as err:  # SymPy's printers raise assorted errors for what they cannot compute
        raise GradcliError(f"cannot compile the formula for numbers: {err}") from None


def _checked_arity(values: tuple, syms: tuple) -> None:
    if len(values) != len(syms):
        names = ", ".join(str(s) for s in syms)
        raise BindingError(f"expected {len(syms)} values ({names}), got {len(values)}")


@functools.lru_cache(maxsize=512)
def _compiled(exprs: tuple, syms: tuple, cse_seconds: float) -> Callable[..., list]:
    import numpy as np

    fn = _lambdified(exprs, syms, numpy_modules(), cse_seconds)
    shapes = [shape_of(e) for e in exprs]

    def evaluate(*values: float) -> list:
        _checked_arity(values, syms)
        try:
            args = [np.float64(v) for v in values]
        except (TypeError, ValueError) as err:
            raise BindingError(f"values must be numbers: {err}") from None
        with np.errstate(all="ignore"):
            try:
                out = fn(*args)
            except Exception as err:  # the generated code calls NumPy; any failure is reported, not raised raw
                raise GradcliError(f"cannot evaluate the formula numerically: {err}") from None
        return [_to_number(o, s) for o, s in zip(out, shapes)]

    return evaluate


# What Python's math raises outside a domain (ValueError: ln(0); ArithmeticError: 1/0, overflow) or on
# the complex number a negative base to a fractional power gives (TypeError).
_MATH_FAILURES = (ArithmeticError, ValueError, TypeError)


@functools.lru_cache(maxsize=512)
def _compiled_point(exprs: tuple, syms: tuple, cse_seconds: float) -> Callable[..., list[float]]:
    fn = _lambdified(exprs, syms, math_modules(), cse_seconds)

    def evaluate(*values: float) -> list[float]:
        _checked_arity(values, syms)
        try:
            args = [float(v) for v in values]
        except (TypeError, ValueError) as err:
            raise BindingError(f"values must be numbers: {err}") from None
        try:
            out = fn(*args)
        except _MATH_FAILURES:
            if len(exprs) == 1:
                return [math.nan]
            return [_compiled_point((e,), syms, cse_seconds)(*args)[0] for e in exprs]
        except Exception as err:  # any other failure of the generated code is reported, not raised raw
            raise GradcliError(f"cannot evaluate the formula numerically: {err}") from None
        return [_real(o) for o in out]

    return evaluate


def _real(v: Any) -> float:
    if isinstance(v, complex):
        return v.real if v.imag == 0 else math.nan
    return float(v)


def _frozen(e: Value) -> Value:
    return sympy.ImmutableMatrix(e) if isinstance(e, sympy.MatrixBase) else e


def _to_number(v: Any, shape: tuple[int, ...]) -> float | np.ndarray:
    import numpy as np

    if shape:
        a = np.asarray(v)
        if np.iscomplexobj(a):
            a = np.where(a.imag == 0, a.real, np.nan)
        return np.asarray(a, dtype=float).reshape(shape)
    a = np.asarray(v)
    if np.iscomplexobj(a):
        return float(a.real) if a.imag == 0 else math.nan
    return float(a)


@deep_step
def value(expr: Value, env: Mapping[str, float]) -> float | np.ndarray:
    """The numeric value of expr with every free symbol taken from env by name (NumPy; matrices too)."""
    syms = _bound_symbols(expr, env)
    return compile_numeric([expr], syms)(*[env[str(s)] for s in syms])[0]


@deep_step
def point_value(expr: Value, env: Mapping[str, float]) -> float:
    """The value of a scalar expr at the point env (name -> float), through compile_point: no NumPy."""
    syms = _bound_symbols(expr, env)
    return compile_point([expr], syms)(*[env[str(s)] for s in syms])[0]


def _bound_symbols(expr: Value, env: Mapping[str, float]) -> list:
    syms = sorted(_free_symbols(expr), key=str)
    missing = [str(s) for s in syms if str(s) not in env]
    if missing:
        raise BindingError(f"no value for {', '.join(missing)}")
    return syms


def _free_symbols(expr: Value) -> set:
    return set(expr.free_symbols) if isinstance(expr, (sympy.Basic, sympy.MatrixBase)) else set()
