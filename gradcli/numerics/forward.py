"""Plain NumPy forward evaluation of an expression tree: the function the numeric column differentiates.

Independent of the engine and of SymPy on purpose (the three columns must not share code that could
share a bug). `evaluate(node, env)` computes the value with the shape convention of the network-spec format:

* float64; a scalar is a 0-d array, a vector a column (n, 1) (a flat list or 1-D array in `env` is read
  as a column), a matrix (m, n);
* `+ - * / ^` and the two-argument `log` are element-wise between equal shapes or with a scalar-like
  operand (0-d or (1, 1)), which combines with anything as a scalar would;
* `@` is the matrix product of two 2-D operands, `A.T` / transpose(A) swaps the two axes (a scalar is its
  own transpose); sum, mean, norm, dot and logsumexp return scalars; outer(a, b) = a @ b.T and diag(v)
  take columns; softmax keeps its argument's shape; ones/zeros/eye build constants.

Batched evaluation (`batch=True`) pushes many copies of the inputs through ONE pass: every env value has
a leading batch axis, shape (B, *shape) (or (1, *shape), shared by every copy), and the result has shape
(B, *shape). Internally every value carries that leading axis (of size B or 1); the per-example shape is
`value.shape[1:]`, and all shape rules above apply to it. np.matmul broadcasts over the leading axis;
reductions run over the per-example axes.

Points outside a function's domain give nan (ln(-1), sqrt(-1), asin(2), (-8)^(1/3)), poles give ±inf
(1/0, ln(0)), overflow gives inf: never an exception and never a printed warning. Shape mismatches raise
ShapeError naming both shapes and the column; a missing name raises BindingError.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np

from gradcli.language import expr as E
from gradcli.language import functions as F
from gradcli.errors import BindingError, GradcliError, ShapeError, _caret

Array = np.ndarray

# --------------------------------------------------------------------------------------- shape helpers


def shape_text(shape: tuple[int, ...]) -> str:
    """A per-example shape as messages print it (as the engine prints it: 'a scalar' or '(2, 3)')."""
    return "a scalar" if shape == () else str(shape)


def _shape(a: Array) -> tuple[int, ...]:
    """The per-example shape: everything after the batch axis."""
    return a.shape[1:]


def scalar_like(shape: tuple[int, ...]) -> bool:
    """0-d or (1, 1): such a value combines with anything element-wise as a scalar would."""
    return shape == () or shape == (1, 1)


def broadcast_pair(a: Array, b: Array, what: str, batch_axes: int = 1) -> tuple[Array, Array]:
    """Operands of an element-wise binary op: equal per-example shapes, or one scalar-like operand reshaped
    to (batch axes..., 1, ..., 1) so it broadcasts. The first `batch_axes` axes are batch axes (one here;
    gradcli.checks.nets.netcheck's perturbed copies add a second)."""
    sa, sb = a.shape[batch_axes:], b.shape[batch_axes:]
    if sa == sb:
        return a, b
    if scalar_like(sb) and len(sa) >= len(sb):
        return a, b.reshape(b.shape[:batch_axes] + (1,) * len(sa))
    if scalar_like(sa):
        return a.reshape(a.shape[:batch_axes] + (1,) * len(sb)), b
    raise ShapeError(f"{what} needs equal shapes or a scalar operand; got {shape_text(sa)} and {shape_text(sb)}")


def _flat(a: Array) -> Array:
    """(B, *shape) -> (B, size): the per-example entries in one axis, for reductions."""
    return a.reshape(a.shape[0], -1)


def _need_column(what: str, a: Array) -> None:
    s = _shape(a)
    if len(s) != 2 or s[1] != 1:
        raise ShapeError(f"{what} needs a column vector (n, 1); got {shape_text(s)}")


# ------------------------------------------------------------------------------------ the NumPy forms


def _sigmoid(x: Array) -> Array:
    """1 / (1 + e^-x), stable on both tails: e^x / (1 + e^x) for x < 0."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _log(x: Array, base: Array | None = None) -> Array:
    """ln x, or ln x / ln b with b element-wise like any binary op."""
    if base is None:
        return np.log(x)
    x, base = broadcast_pair(x, base, "log(x, b)")
    return np.log(x) / np.log(base)


def _sum(x: Array) -> Array:
    return _flat(x).sum(axis=1)


def _mean(x: Array) -> Array:
    return _flat(x).mean(axis=1)


def _dot(a: Array, b: Array) -> Array:
    """Σ a·b over the entries of equal-shaped a, b: a scalar."""
    if _shape(a) != _shape(b):
        raise ShapeError(f"dot needs equal shapes; got {shape_text(_shape(a))} and {shape_text(_shape(b))}")
    return _flat(a * b).sum(axis=1)


def _norm(x: Array) -> Array:
    """sqrt(Σ x²), computed as m·sqrt(Σ (x/m)²) with m = max |x| so it cannot overflow (0 for x = 0)."""
    v = _flat(x)
    m = np.max(np.abs(v), axis=1)
    safe = np.where((m > 0) & np.isfinite(m), m, 1.0)
    scaled = safe * np.sqrt(np.sum((v / safe[:, None]) ** 2, axis=1))
    return np.where(np.isinf(m), np.inf, scaled)


def _shift(v: Array) -> Array:
    """max over each example's entries, replaced by 0 where it is not finite (so shifting is harmless)."""
    m = np.max(v, axis=1)
    return np.where(np.isfinite(m), m, 0.0)


def _softmax(x: Array) -> Array:
    """exp(v - max v) / Σ exp(v - max v), over all entries of each example; keeps the shape."""
    v = _flat(x)
    e = np.exp(v - _shift(v)[:, None])
    return (e / np.sum(e, axis=1, keepdims=True)).reshape(x.shape)


def _logsumexp(x: Array) -> Array:
    """ln Σ exp(v) = m + ln Σ exp(v - m), m = max v: a scalar."""
    v = _flat(x)
    m = _shift(v)
    return m + np.log(np.sum(np.exp(v - m[:, None]), axis=1))


def _transpose(x: Array) -> Array:
    """Aᵀ: swaps the two per-example axes; a scalar is its own transpose."""
    s = _shape(x)
    if len(s) == 0:
        return x
    if len(s) != 2:
        raise ShapeError(f"transpose needs a scalar or a 2-D tensor; got {shape_text(s)}")
    return np.swapaxes(x, -1, -2)


def _matmul(a: Array, b: Array) -> Array:
    """A @ B of 2-D operands (per example); np.matmul broadcasts the batch axis."""
    sa, sb = _shape(a), _shape(b)
    if len(sa) != 2 or len(sb) != 2:
        raise ShapeError(f"'@' needs two 2-D operands (use * to scale by a scalar); got {shape_text(sa)} @ {shape_text(sb)}")
    if sa[1] != sb[0]:
        raise ShapeError(f"'@' needs the inner sizes to match; got {shape_text(sa)} @ {shape_text(sb)}")
    return np.matmul(a, b)


def _outer(a: Array, b: Array) -> Array:
    """a @ bᵀ for columns a (m, 1), b (n, 1): an m x n matrix."""
    _need_column("outer", a)
    _need_column("outer", b)
    return np.matmul(a, np.swapaxes(b, -1, -2))


def _diag(v: Array) -> Array:
    """Column v (n, 1) -> the n x n matrix with v on its diagonal (zeros elsewhere, even next to inf)."""
    _need_column("diag", v)
    n = _shape(v)[0]
    out = np.zeros((v.shape[0], n, n))
    idx = np.arange(n)
    out[:, idx, idx] = v[:, :, 0]
    return out


def _sizes(*args: Array) -> tuple[int, ...]:
    """Whole sizes of a constructor call (the parser already checked they are positive integers)."""
    sizes = []
    for a in args:
        value = float(a.reshape(-1)[0])
        if not value.is_integer() or value < 1 or value > F.MAX_TENSOR_ENTRIES:
            raise ShapeError(f"sizes must be positive whole numbers up to {F.MAX_TENSOR_ENTRIES:,}; got {value:g}")
        sizes.append(int(value))
    return tuple(sizes)


def _eye(n: Array) -> Array:
    (k,) = _sizes(n)
    return np.eye(k)[None]


def _ones(m: Array, n: Array | None = None) -> Array:
    shape = _sizes(m) + ((1,) if n is None else _sizes(n))
    return np.ones((1,) + shape)


def _zeros(m: Array, n: Array | None = None) -> Array:
    shape = _sizes(m) + ((1,) if n is None else _sizes(n))
    return np.zeros((1,) + shape)


# The NumPy form of every row of gradcli.language.functions, keyed by its name. Each takes and returns batched
# arrays (leading batch axis of size B or 1).
NUMPY: dict[str, Callable[..., Array]] = {
    "exp": np.exp,
    "ln": np.log,
    "log": _log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "step": lambda x: np.where(np.isnan(x), np.nan, (x > 0).astype(np.float64)),
    "sign": np.sign,
    "sum": _sum,
    "mean": _mean,
    "dot": _dot,
    "norm": _norm,
    "outer": _outer,
    "diag": _diag,
    "softmax": _softmax,
    "logsumexp": _logsumexp,
    "transpose": _transpose,
    "eye": _eye,
    "ones": _ones,
    "zeros": _zeros,
}


def _binary(op: str, a: Array, b: Array) -> Array:
    if op == "@":
        return _matmul(a, b)
    a, b = broadcast_pair(a, b, f"'{op}'")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return np.power(a, b)


# ------------------------------------------------------------------------------------------ evaluation


def evaluate(node: E.Node, env: Mapping[str, object], batch: bool = False, *, text: str | None = None) -> Array:
    """The value of `node` with its names bound by `env`, as a float64 array.

    Unbatched: scalars come back 0-d, vectors (n, 1), matrices (m, n). Batched: every env value has a
    leading batch axis of size B (or 1, shared by all copies) and the result is (B, *shape).
    `text` (the expression the tree came from) only adds a caret under the failing column to errors.
    """
    values = _bind(node, env, batch)
    sizes = {v.shape[0] for v in values.values()}
    if batch:  # values the tree does not use still set B
        sizes |= {np.shape(v)[0] for v in env.values() if np.ndim(v)}
    sizes -= {1}
    if len(sizes) > 1:
        raise ShapeError(f"batched values disagree on the batch size: {sorted(sizes)}")
    size = sizes.pop() if sizes else 1
    with np.errstate(all="ignore"):
        result = _run(node, values, text)
    if not batch:
        return np.array(result[0], dtype=np.float64)
    return np.array(np.broadcast_to(result, (size,) + _shape(result)), dtype=np.float64)


def _leaf(value: object, name: str, batch: bool) -> Array:
    """An env value as a batched float64 array; a 1-D (per-example) value is read as a column."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise BindingError(f"the value of {name!r} is not a number or a (nested) list of numbers") from None
    if not batch:
        a = a[None]
    elif a.ndim == 0:
        raise ShapeError(f"the batched value of {name!r} needs a leading batch axis; got a scalar")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim > 3:
        raise BindingError(f"the value of {name!r} has {a.ndim - 1} axes; values are scalars, vectors or matrices")
    if a.size == 0:
        raise BindingError(f"the value of {name!r} is empty")
    return a


def _bind(node: E.Node, env: Mapping[str, object], batch: bool) -> dict[str, Array]:
    """Every name the tree uses, as a batched array; a missing name is a BindingError at its column."""
    values: dict[str, Array] = {}
    for n in E.walk(node):
        if isinstance(n, E.Name) and n.id not in values:
            if n.id not in env:
                raise BindingError(f"no value for the variable {n.id!r}", where=f"column {n.col + 1}")
            values[n.id] = _leaf(env[n.id], n.id, batch)
    return values


def _run(root: E.Node, values: dict[str, Array], text: str | None) -> Array:
    """Iterative post-order walk: children are evaluated before their parent, on an explicit stack."""
    out: list[Array] = []
    stack: list[tuple[E.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        kids = E.children(node)
        if not ready and kids and not isinstance(node, E.Index):
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        args = out[len(out) - len(kids):] if ready else []
        if ready:
            del out[len(out) - len(kids):]
        try:
            out.append(_apply(node, args, values))
        except GradcliError as err:
            raise _located(err, node, text) from None
    return out[0]


def _apply(node: E.Node, args: list[Array], values: dict[str, Array]) -> Array:
    """The value of one node whose children are already evaluated (`args`)."""
    if isinstance(node, E.Num):
        return np.array([node.value], dtype=np.float64)
    if isinstance(node, E.Const):
        return np.array([math.pi if node.name == "pi" else math.e])
    if isinstance(node, E.Name):
        return values[node.id]
    if isinstance(node, E.Unary):
        return -args[0] if node.op == "-" else args[0]
    if isinstance(node, E.Binary):
        return _binary(node.op, *args)
    if isinstance(node, E.Transpose):
        return _transpose(args[0])
    if isinstance(node, E.Call):
        return NUMPY[node.func](*args)
    raise GradcliError("subscripts are only allowed in Jacobian entry claims", where=f"column {node.col + 1}")


def _located(err: GradcliError, node: E.Node, text: str | None) -> GradcliError:
    """The same error, now saying where: 'column N', and a caret under it when the text is known."""
    if err.where is not None:
        return err
    detail = _caret(text, node.col) if text is not None else None
    return type(err)(err.message, where=f"column {node.col + 1}", detail=detail)
