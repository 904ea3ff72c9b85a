"""Every op of the engine: its forward and its vector-Jacobian product side by side, registered in OPS.

`OPS` is keyed by the names of `gradcli.functions` (exp, ln, ..., zeros) plus the operators add sub mul
div neg pow matmul. Each op takes Tensors (numbers become constants), checks its domain, computes the
value, and returns a Tensor whose `vjp(g)` gives, for each parent, the gradient of Σ g·out with respect
to that parent (same shape as the parent).

Element-wise binary ops accept equal shapes or a scalar-like operand (0-d or (1, 1)); the gradient of a
broadcast operand is summed back to its shape. Non-finite results raise OverflowValueError, points
outside the domain DomainError, and shape mismatches ShapeError naming both shapes. relu and abs at
exactly 0 (and norm of the zero tensor) are kinks: the node is flagged `kink` and the derivative used
there is 0 (PyTorch's convention); callers report the one-sided derivatives.

This module defines ops named `abs`, `sum` and `pow`; inside it the NumPy forms are used instead.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from gradcli.errors import DomainError, OverflowValueError, ShapeError
from gradcli.language import functions as F
from gradcli.numerics.engine.tensor import OP_SYMBOLS, VJP, Tensor, op_label
from gradcli.text import number

OPS: dict[str, Callable[..., Tensor]] = {}

def _register(name: str):
    """Add the op to OPS; its arguments become Tensors and NumPy's warnings are silenced (we check)."""

    def decorate(fn):
        @functools.wraps(fn)
        def op(*args):
            with np.errstate(all="ignore"):
                return fn(*(as_tensor(a) for a in args))

        OPS[name] = op
        return op

    return decorate


def as_tensor(value) -> Tensor:
    """A Tensor as is; a number or array as a constant leaf."""
    return value if isinstance(value, Tensor) else Tensor(value, "const")


def _make(op: str, data, parents: tuple[Tensor, ...], vjp: VJP | None, kink_mask=None) -> Tensor:
    """The op's output node, after checking that every entry is finite."""
    data = np.asarray(data, dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        raise OverflowValueError(f"{op_label(op)} overflows float64{_overflow_point(op, bad, parents)}")
    return Tensor(data, op, parents, vjp, kink_mask=kink_mask)


def _unary(op: str, x: Tensor, y, dy, kink_mask=None) -> Tensor:
    """An element-wise op y = f(x) with derivative dy = f'(x): its vjp is g -> g * dy."""
    return _make(op, y, (x,), lambda g: (g * dy,), kink_mask)


# ------------------------------------------------------------------------------- element-wise binary


@_register("add")
def add(a, b):
    _elementwise("add", a, b)
    sa, sb = a.shape, b.shape
    return _make("add", a.data + b.data, (a, b), lambda g: (_unbroadcast(g, sa), _unbroadcast(g, sb)))


@_register("sub")
def sub(a, b):
    _elementwise("sub", a, b)
    sa, sb = a.shape, b.shape
    return _make("sub", a.data - b.data, (a, b), lambda g: (_unbroadcast(g, sa), _unbroadcast(-g, sb)))


@_register("mul")
def mul(a, b):
    _elementwise("mul", a, b)
    A, B = a.data, b.data
    return _make("mul", A * B, (a, b), lambda g: (_unbroadcast(g * B, A.shape), _unbroadcast(g * A, B.shape)))


@_register("div")
def div(a, b):
    """a / b; ∂/∂a = 1/b, ∂/∂b = -a/b²."""
    _elementwise("div", a, b)
    A, B = a.data, b.data
    if np.any(B == 0):
        i = _first(B == 0)
        raise DomainError("division by 0" + (f" (the divisor's entry {list(i)} is 0)" if i else ""))
    return _make("div", A / B, (a, b),
                 lambda g: (_unbroadcast(g / B, A.shape), _unbroadcast(-g * A / (B * B), B.shape)))


@_register("pow")
def pow(x, y):
    """x^y element-wise; ∂/∂x = y·x^(y-1) (0 where y = 0), ∂/∂y = ln(x)·x^y (needs x > 0 unless y is constant)."""
    _elementwise("pow", x, y)
    X, Y = np.broadcast_arrays(x.data, y.data)
    _pow_domain(x, y, X, Y)
    out = np.power(X, Y)
    dx = np.where(Y == 0, 0.0, Y * np.power(X, Y - 1))
    dy = out * np.log(np.where(X > 0, X, 1.0))  # 0 where x <= 0: reached only when y is constant
    sx, sy = x.shape, y.shape
    return _make("pow", out, (x, y), lambda g: (_unbroadcast(g * dx, sx), _unbroadcast(g * dy, sy)))


def _pow_domain(x: Tensor, y: Tensor, X: np.ndarray, Y: np.ndarray) -> None:
    def pair(mask):
        i = _first(mask)
        return f"{_num(X[i], paren=True)}^{_num(Y[i], paren=True)}"

    if np.any(m := (X == 0) & (Y < 0)):
        raise DomainError(f"'^' is undefined for 0 to a negative power ({pair(m)})")
    if np.any(m := (X < 0) & (Y != np.round(Y))):
        raise DomainError(f"'^' is undefined for a negative base to a non-integer power ({pair(m)})")
    if not y.constant and np.any(m := X <= 0):
        raise DomainError(f"'^' with a variable exponent needs a base > 0 (d/dy x^y = ln(x)·x^y); got {pair(m)}")
    if not x.constant and np.any(m := (X == 0) & (Y > 0) & (Y < 1)):
        raise DomainError(f"'^' is not differentiable at base 0 for an exponent between 0 and 1 ({pair(m)})")


@_register("neg")
def neg(x):
    return _make("neg", -x.data, (x,), lambda g: (-g,))


def _elementwise(op: str, a: Tensor, b: Tensor) -> None:
    """Equal shapes, or one scalar-like operand (0-d or (1, 1)); anything else is a ShapeError."""
    if a.shape != b.shape and not (_scalar_like(a) or _scalar_like(b)):
        raise ShapeError(f"{op_label(op)} needs equal shapes or a scalar operand; got {_shape(a.shape)} "
                         f"and {_shape(b.shape)}")


def _scalar_like(t: Tensor) -> bool:
    return t.data.ndim == 0 or t.shape == (1, 1)


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an operand of `shape` that was broadcast to g's shape (only scalar-likes are)."""
    return g if g.shape == shape else np.sum(g).reshape(shape)


# ------------------------------------------------------------------------------- matrices


@_register("matmul")
def matmul(a, b):
    """A @ B of 2-D operands; ∂/∂A = G Bᵀ, ∂/∂B = Aᵀ G."""
    if a.data.ndim != 2 or b.data.ndim != 2:
        raise ShapeError(f"'@' needs two 2-D operands (use * to scale by a scalar); got {_shape(a.shape)} "
                         f"@ {_shape(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"'@' needs the inner sizes to match; got {_shape(a.shape)} @ {_shape(b.shape)}")
    A, B = a.data, b.data
    return _make("matmul", A @ B, (a, b), lambda g: (g @ B.T, A.T @ g))


@_register("transpose")
def transpose(x):
    """Aᵀ swaps the two axes; a scalar is its own transpose."""
    if x.data.ndim not in (0, 2):
        raise ShapeError(f"transpose needs a scalar or a 2-D tensor; got {_shape(x.shape)}")
    return _make("transpose", x.data.T, (x,), lambda g: (g.T,))


@_register("outer")
def outer(a, b):
    """a @ bᵀ for columns a (m, 1), b (n, 1); ∂/∂a = G b, ∂/∂b = Gᵀ a."""
    _need_column("outer", a)
    _need_column("outer", b)
    A, B = a.data, b.data
    return _make("outer", A @ B.T, (a, b), lambda g: (g @ B, g.T @ A))


@_register("diag")
def diag(v):
    """Column v (n, 1) -> the n x n matrix with v on its diagonal; the vjp reads G's diagonal."""
    _need_column("diag", v)
    n = v.shape[0]
    return _make("diag", np.diagflat(v.data), (v,), lambda g: (np.diagonal(g).reshape(n, 1).copy(),))


def _need_column(op: str, t: Tensor) -> None:
    if t.data.ndim != 2 or t.shape[1] != 1:
        raise ShapeError(f"{op} needs a column vector (n, 1); got {_shape(t.shape)}")


# ------------------------------------------------------------------------------- reductions


@_register("sum")
def sum(x):
    """Σ of all entries (a scalar); every entry gets the upstream gradient."""
    shape = x.shape
    return _make("sum", np.sum(x.data), (x,), lambda g: (np.full(shape, g),))


@_register("mean")
def mean(x):
    """Σ x / (number of entries), a scalar."""
    shape, n = x.shape, x.data.size
    return _make("mean", np.mean(x.data), (x,), lambda g: (np.full(shape, g / n),))


@_register("dot")
def dot(a, b):
    """Σ a·b over the entries of equal-shaped a, b (a scalar); ∂/∂a = b, ∂/∂b = a."""
    if a.shape != b.shape:
        raise ShapeError(f"dot needs equal shapes; got {_shape(a.shape)} and {_shape(b.shape)}")
    A, B = a.data, b.data
    return _make("dot", np.sum(A * B), (a, b), lambda g: (g * B, g * A))


@_register("norm")
def norm(x):
    """‖x‖ = sqrt(Σ x²) (Euclidean / Frobenius), scaled so it cannot overflow; ∂/∂x = x/‖x‖.

    At x = 0 the norm has a kink: flagged, with derivative 0 (so ‖x‖² still gets its true gradient 0).
    """
    X = x.data
    scale = np.max(np.abs(X))
    n = scale * np.sqrt(np.sum((X / scale) ** 2)) if scale > 0 else np.float64(0.0)
    d = X / n if n > 0 else np.zeros_like(X)
    kink = np.ones(x.shape, bool) if n == 0 and not x.constant else None
    return _make("norm", n, (x,), lambda g: (g * d,), kink)


@_register("softmax")
def softmax(v):
    """exp(v) / Σ exp(v) over all entries, computed as exp(v - max v); vjp: s ⊙ (g - Σ g·s)."""
    e = np.exp(v.data - np.max(v.data))
    s = e / np.sum(e)
    return _make("softmax", s, (v,), lambda g: (s * (g - np.sum(g * s)),))


@_register("logsumexp")
def logsumexp(v):
    """ln Σ exp(v) = m + ln Σ exp(v - m), m = max v (a scalar); its gradient is softmax(v)."""
    m = np.max(v.data)
    y = m + np.log(np.sum(np.exp(v.data - m)))
    s = np.exp(v.data - y)
    return _make("logsumexp", y, (v,), lambda g: (g * s,))


# ------------------------------------------------------------------------------- element-wise functions


@_register("exp")
def exp(x):
    y = np.exp(x.data)
    return _unary("exp", x, y, y)


@_register("ln")
def ln(x):
    _domain("ln", x, x.data > 0)
    return _unary("ln", x, np.log(x.data), 1 / x.data)


@_register("log")
def log(x, base=None):
    """log(x) = ln x; log(x, b) = ln x / ln b, composed from ln and '/'."""
    if base is None:
        _domain("log", x, x.data > 0)
        return _unary("log", x, np.log(x.data), 1 / x.data)
    if np.any(bad := (base.data <= 0) | (base.data == 1)):
        raise DomainError(f"log is undefined for base {_point(base.data, bad, 'b')} (a base must be > 0 and != 1)")
    _domain("log", x, x.data > 0)
    return div(ln(x), ln(base))


@_register("log10")
def log10(x):
    _domain("log10", x, x.data > 0)
    return _unary("log10", x, np.log10(x.data), 1 / (x.data * math.log(10)))


@_register("sqrt")
def sqrt(x):
    """√x, derivative 1/(2√x): infinite at 0, so x = 0 is refused unless x is a constant."""
    _domain("sqrt", x, x.data >= 0, "x >= 0")
    if not x.constant and np.any(x.data == 0):
        raise DomainError(f"sqrt is not differentiable at 0 (its derivative 1/(2 sqrt x) is infinite at "
                          f"{_point(x.data, x.data == 0)})")
    y = np.sqrt(x.data)
    return _unary("sqrt", x, y, 0.5 / y)


@_register("abs")
def abs(x):
    """|x|, derivative sign(x); a kink at 0 (derivative 0 there)."""
    return _unary("abs", x, np.abs(x.data), np.sign(x.data), _kinks(x))


@_register("relu")
def relu(x):
    """max(0, x), derivative 1 for x > 0 and 0 otherwise; a kink at 0."""
    return _unary("relu", x, np.where(x.data > 0, x.data, 0.0), (x.data > 0).astype(np.float64), _kinks(x))


@_register("step")
def step(x):
    """1 for x > 0, else 0 (relu's derivative, step(0) = 0 as relu'(0) here); derivative 0, a jump at 0."""
    return _unary("step", x, (x.data > 0).astype(np.float64), np.zeros_like(x.data), _kinks(x))


@_register("sign")
def sign(x):
    """-1, 0 or 1 (abs's derivative); derivative 0, a jump at 0."""
    return _unary("sign", x, np.sign(x.data), np.zeros_like(x.data), _kinks(x))


@_register("sin")
def sin(x):
    return _unary("sin", x, np.sin(x.data), np.cos(x.data))


@_register("cos")
def cos(x):
    return _unary("cos", x, np.cos(x.data), -np.sin(x.data))


@_register("tan")
def tan(x):
    """tan x, derivative 1/cos² x; undefined where cos x is 0 to within the rounding of x."""
    c = np.cos(x.data)
    _domain("tan", x, np.abs(c) > 4 * np.finfo(float).eps * np.maximum(1, np.abs(x.data)))
    return _unary("tan", x, np.tan(x.data), 1 / (c * c))


@_register("asin")
def asin(x):
    _domain("asin", x, np.abs(x.data) < 1)
    return _unary("asin", x, np.arcsin(x.data), 1 / np.sqrt(1 - x.data ** 2))


@_register("acos")
def acos(x):
    _domain("acos", x, np.abs(x.data) < 1)
    return _unary("acos", x, np.arccos(x.data), -1 / np.sqrt(1 - x.data ** 2))


@_register("atan")
def atan(x):
    return _unary("atan", x, np.arctan(x.data), 1 / (1 + x.data ** 2))


@_register("sinh")
def sinh(x):
    return _unary("sinh", x, np.sinh(x.data), np.cosh(x.data))


@_register("cosh")
def cosh(x):
    return _unary("cosh", x, np.cosh(x.data), np.sinh(x.data))


@_register("tanh")
def tanh(x):
    y = np.tanh(x.data)
    return _unary("tanh", x, y, 1 - y * y)


@_register("sigmoid")
def sigmoid(x):
    """1/(1+e^-x) from e^-|x| (never overflows); derivative σ(1-σ)."""
    y = _stable_sigmoid(x.data)
    return _unary("sigmoid", x, y, y * (1 - y))


@_register("softplus")
def softplus(x):
    """ln(1+e^x) = max(x, 0) + ln(1+e^-|x|) (never overflows); derivative σ(x)."""
    X = x.data
    return _unary("softplus", x, np.maximum(X, 0) + np.log1p(np.exp(-np.abs(X))), _stable_sigmoid(X))


def _stable_sigmoid(X: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(X))
    return np.where(X >= 0, 1 / (1 + e), e / (1 + e))


def _kinks(x: Tensor) -> np.ndarray | None:
    """Where a kink function (relu, abs) is evaluated exactly at its non-smooth point 0."""
    return None if x.constant else x.data == 0


# ------------------------------------------------------------------------------- constructors


@_register("eye")
def eye(n):
    return _make("eye", np.eye(_size("eye", n)), (), None)


@_register("ones")
def ones(m, n=None):
    """ones(n) is a column (n, 1); ones(m, n) is m x n."""
    return _make("ones", np.ones(_constructor_shape("ones", m, n)), (), None)


@_register("zeros")
def zeros(m, n=None):
    """zeros(n) is a column (n, 1); zeros(m, n) is m x n."""
    return _make("zeros", np.zeros(_constructor_shape("zeros", m, n)), (), None)


def _constructor_shape(op: str, m: Tensor, n: Tensor | None) -> tuple[int, int]:
    return (_size(op, m), 1 if n is None else _size(op, n))


def _size(op: str, t: Tensor) -> int:
    v = t.data
    if v.ndim != 0 or not float(v).is_integer() or v < 1 or v > F.MAX_TENSOR_ENTRIES:
        raise ShapeError(f"{op} takes positive whole sizes up to {F.MAX_TENSOR_ENTRIES:,}; got {v.tolist()}")
    return int(v)


# ------------------------------------------------------------------------------- messages


def _shape(shape: tuple[int, ...]) -> str:
    return "a scalar" if shape == () else str(shape)


def _num(v, paren: bool = False) -> str:
    """A number as printed in messages; `paren` wraps negatives, as in (-2)^0.5."""
    s = number(v)
    return f"({s})" if paren and s.startswith("-") else s


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


def _point(values: np.ndarray, mask: np.ndarray, var: str = "x") -> str:
    """'x = -1' for a scalar, 'x[1, 0] = -1' for the first entry of a tensor where mask holds."""
    i = _first(mask)
    head = f"{var}[{', '.join(map(str, i))}]" if i else var
    return f"{head} = {_num(values[i])}"


def _domain(op: str, x: Tensor, ok: np.ndarray, domain: str | None = None) -> None:
    """DomainError naming the function, the first bad entry and the domain, unless `ok` holds everywhere."""
    if not np.all(ok):
        domain = domain or F.BY_NAME[op].domain
        raise DomainError(f"{op} is undefined at {_point(x.data, ~ok)} (domain {domain})")


def _overflow_point(op: str, bad: np.ndarray, parents: tuple[Tensor, ...]) -> str:
    """' at x = 1000' for an element-wise op, ' at 1e+300 * 1e+300' for an operator, else ''."""
    if len(parents) == 1 and parents[0].shape == bad.shape:
        return f" at {_point(parents[0].data, bad)}"
    if op in OP_SYMBOLS and op != "matmul":
        a, b = np.broadcast_arrays(parents[0].data, parents[1].data)
        i = _first(bad)
        return f" at {_num(a[i])} {OP_SYMBOLS[op]} {_num(b[i])}"
    return ""


def _install_operators() -> None:
    """Tensor's arithmetic operators are the ops above (a + b is add(a, b), 2 * t is mul(2, t), t.T ...)."""
    pairs = {"add": add, "sub": sub, "mul": mul, "truediv": div, "pow": pow, "matmul": matmul}
    for name, op in pairs.items():
        setattr(Tensor, f"__{name}__", lambda self, other, op=op: op(self, other))
        setattr(Tensor, f"__r{name}__", lambda self, other, op=op: op(other, self))
    Tensor.__neg__ = lambda self: neg(self)
    Tensor.T = property(lambda self: transpose(self))


_install_operators()
