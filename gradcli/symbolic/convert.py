"""Our expression tree -> SymPy. Nothing here parses text: `to_sympy` walks a `gradcli.language.expr` tree,
so user input never meets `sympify`. Shapes follow the network-spec format: a scalar is a SymPy expression, a tensor an
immutable Matrix of entries; vectors are columns (n, 1) whose entries are named `x[i]`, matrices have
entries `W1[i,j]`; a (1, 1) value acts as a scalar in element-wise operations. All symbols are real.
"""


from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import sympy

from gradcli.errors import (
    BindingError,
    DomainError,
    GradcliError,
    ShapeError,
    TimeBoundError,
)
from gradcli.language import functions as F
from gradcli.language.expr import (
    Binary,
    Call,
    Const,
    Index,
    Name,
    Node,
    Num,
    Transpose,
    Unary,
)
from gradcli.timebound import bounded

if TYPE_CHECKING:
    pass
from gradcli.symbolic.bounds import (
    BUILD_SECONDS,
    MAX_MATMUL_WORK,
    MAX_SYMBOLIC_ENTRIES,
    Value,
    deep_step,
)
from gradcli.symbolic.forms import logsumexp, relu, sgn, sigmoid, softplus, step
from gradcli.symbolic.printing import to_text

# ============================================================================ tree -> SymPy


def symbol(name: str) -> sympy.Symbol:
    """The real SymPy symbol every module uses for the scalar variable `name`."""
    return sympy.Symbol(name, real=True)


def entry_symbols(name: str, shape: Sequence[int] | tuple = ()) -> Value:
    """Symbols for a variable of `shape`: () a scalar `x`; (n,) or (n, 1) a column of `x[i]`; (m, n) `W[i,j]`."""
    shape = tuple(shape)
    if shape == ():
        return symbol(name)
    if len(shape) > 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                                 for s in shape):
        raise ShapeError(f"{name!r} has shape {list(shape)}; shapes are [], [n] or [m, n] with positive sizes")
    check_size(math.prod(shape), f"{name!r} of shape {list(shape)}")
    if len(shape) == 1 or shape[1] == 1:
        return sympy.ImmutableMatrix(shape[0], 1, [symbol(f"{name}[{i}]") for i in range(shape[0])])
    m, n = shape
    return sympy.ImmutableMatrix(m, n, [symbol(f"{name}[{i},{j}]") for i in range(m) for j in range(n)])


def env_for(shapes: Mapping[str, Sequence[int]]) -> dict[str, Value]:
    """An environment for `to_sympy` from {name: shape}: scalars get symbols, tensors entry symbols."""
    return {name: entry_symbols(name, shape) for name, shape in shapes.items()}


def flat_symbols(value: Value) -> list[sympy.Symbol]:
    """The symbols of a variable in row-major order (a scalar gives one)."""
    return list(value) if isinstance(value, sympy.MatrixBase) else [value]


def shape_of(value: Value) -> tuple[int, ...]:
    """() for a scalar, (m, n) for a matrix."""
    return tuple(value.shape) if isinstance(value, sympy.MatrixBase) else ()


def as_scalar(value: Value) -> Value:
    """A (1, 1) matrix as its entry; anything else unchanged."""
    if isinstance(value, sympy.MatrixBase) and value.shape == (1, 1):
        return value[0, 0]
    return value


@deep_step
def to_sympy(node: Node, env: Mapping[str, Any], *, seconds: float | None = BUILD_SECONDS) -> Value:
    """The SymPy value of the tree; `env` maps every free name to a Symbol/expression or a Matrix.

    Raises BindingError for a name missing from env, ShapeError (naming both shapes and the column) for
    operands that do not fit, DomainError for a part that is undefined (1/0, ln 0, sqrt(-x^2)), and
    TimeBoundError when building takes longer than `seconds`.
    """
    values = {name: _coerce(name, v) for name, v in env.items()}

    def too_slow():
        raise TimeBoundError(f"building the formula did not finish within {seconds:g} s "
                             "(it is too large for the symbolic column)")

    return bounded(seconds, _build, node, values, fallback=too_slow)


def _coerce(name: str, v: Any) -> Value:
    if isinstance(v, sympy.MatrixBase):
        return sympy.ImmutableMatrix(v)
    if isinstance(v, sympy.Basic):
        return v
    if isinstance(v, bool):
        raise BindingError(f"{name!r} is bound to a boolean")
    if isinstance(v, int):
        return sympy.Integer(v)
    if isinstance(v, float):
        return sympy.Float(v)
    if isinstance(v, (list, tuple)) or hasattr(v, "__array__"):
        import numpy as np

        a = np.asarray(v, dtype=float)
        if a.ndim == 0:
            return sympy.Float(float(a))
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2:
            raise ShapeError(f"{name!r} has {a.ndim} axes; values are scalars, vectors or matrices")
        return sympy.ImmutableMatrix(a.shape[0], a.shape[1], [sympy.Float(float(x)) for x in a.reshape(-1)])
    raise BindingError(f"{name!r} is bound to a {type(v).__name__}, not a number or a symbol")


def _where(node: Node) -> str:
    return f"column {node.col + 1}"


def _build(node: Node, env: Mapping[str, Value]) -> Value:
    if isinstance(node, Num):
        frac = Fraction(node.text)
        return sympy.Rational(frac.numerator, frac.denominator)
    if isinstance(node, Const):
        return sympy.pi if node.name == "pi" else sympy.E
    if isinstance(node, Name):
        if node.id not in env:
            raise BindingError(f"no value or shape is known for {node.id!r}", where=_where(node))
        return env[node.id]
    if isinstance(node, Unary):
        v = _build(node.operand, env)
        return -v if node.op == "-" else v
    if isinstance(node, Transpose):
        v = _build(node.operand, env)
        return v.T if isinstance(v, sympy.MatrixBase) else v
    if isinstance(node, Binary):
        a, b = _build(node.left, env), _build(node.right, env)
        if node.op == "@":
            return _matmul(a, b, node)
        if node.op == "^" and any(e.free_symbols for e in entries_of(b)) and \
                any(e.is_number and e.is_extended_negative for e in entries_of(a)):
            raise DomainError("'^' with a variable exponent needs a base > 0 (d/dy b^y = ln(b)·b^y)",
                              where=_where(node))
        return _checked(_elementwise(node.op, a, b, node, _BINARY[node.op]), node, _LABEL[node.op])
    if isinstance(node, Call):
        args = [_build(a, env) for a in node.args]
        if F.BY_NAME[node.func].kind == F.CONSTRUCTOR:
            return _construct(node.func, args, node)
        return _checked(SYMPY_FORMS[node.func](node, *args), node, node.func)
    if isinstance(node, Index):
        return _index(node, env)
    raise GradcliError(f"unexpected node {type(node).__name__}", where=_where(node))


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "^": lambda x, y: x ** y,
}

_LABEL = {"+": "'+'", "-": "'-'", "*": "'*'", "/": "'/'", "^": "'^'", "@": "'@'"}
_UNDEFINED = (sympy.S.ComplexInfinity, sympy.S.NaN, sympy.S.Infinity, sympy.S.NegativeInfinity)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "a scalar" if shape == () else str(shape)


def _scalar_like(v: Value) -> bool:
    return not isinstance(v, sympy.MatrixBase) or v.shape == (1, 1)


def _elementwise(op: str, a: Value, b: Value, node: Node, fn: Callable[[Any, Any], Any]) -> Value:
    """fn entry by entry: equal shapes, or one scalar-like operand (0-d or (1, 1)) spread over the other."""
    sa, sb = shape_of(a), shape_of(b)
    if sa == sb:
        if sa == ():
            return fn(a, b)
        return sympy.ImmutableMatrix(sa[0], sa[1], [fn(x, y) for x, y in zip(a, b)])
    if _scalar_like(a):
        s = as_scalar(a)
        return sympy.ImmutableMatrix([[fn(s, b)]]) if sb == () else b.applyfunc(lambda y: fn(s, y))
    if _scalar_like(b):
        s = as_scalar(b)
        return sympy.ImmutableMatrix([[fn(a, s)]]) if sa == () else a.applyfunc(lambda x: fn(x, s))
    what = _LABEL.get(op, op)
    raise ShapeError(f"{what} needs equal shapes or a scalar operand; got {_shape_text(sa)} and {_shape_text(sb)}",
                     where=_where(node))


def _matmul(a: Value, b: Value, node: Node) -> Value:
    """A @ B of 2-D operands with matching inner sizes."""
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) != 2 or len(sb) != 2:
        raise ShapeError(f"'@' needs two 2-D operands (use * to scale by a scalar); got {_shape_text(sa)} @ "
                         f"{_shape_text(sb)}", where=_where(node))
    if sa[1] != sb[0]:
        raise ShapeError(f"'@' needs the inner sizes to match; got {sa} @ {sb}", where=_where(node))
    check_size(sa[0] * sb[1], f"the product {sa} @ {sb}")
    if sa[0] * sa[1] * sb[1] > MAX_MATMUL_WORK:
        raise TimeBoundError(f"the product {sa} @ {sb} is too large for the symbolic column", where=_where(node))
    return sympy.ImmutableMatrix(a * b)


def _checked(v: Value, node: Node, what: str) -> Value:
    """DomainError when SymPy found the value undefined (zoo, nan, ±oo), or a constant part not real."""
    if v.has(*_UNDEFINED):
        raise DomainError("division by 0" if what == "'/'" else
                          f"{what} is undefined here (the result is infinite or not a number)", where=_where(node))
    for e in entries_of(v):
        if e.has(sympy.I) or (not e.free_symbols and e.is_extended_real is False):
            raise DomainError(f"{what} is not real here (SymPy finds {to_text(e)})", where=_where(node))
    return v


def check_size(entries: int, what: str) -> None:
    if entries > MAX_SYMBOLIC_ENTRIES:
        raise TimeBoundError(f"{what} has {entries:,} entries; the symbolic column handles at most "
                             f"{MAX_SYMBOLIC_ENTRIES:,}")


def _index(node: Index, env: Mapping[str, Value]) -> Value:
    """`X[i, l]` with indices that evaluate to whole numbers (0-based): one entry of a named tensor."""
    base = _build(node.base, env)
    idx = []
    for expr in node.indices:
        v = as_scalar(_build(expr, env))
        if not (isinstance(v, sympy.Basic) and v.is_Integer):
            raise ShapeError("an index must be a whole number", where=_where(expr))
        idx.append(int(v))
    shape = shape_of(base)
    if shape == ():
        raise ShapeError(f"{node.base.id!r} is a scalar and cannot be indexed", where=_where(node))
    if len(idx) == 1 and shape[1] == 1:
        idx.append(0)
    if len(idx) != 2 or not (0 <= idx[0] < shape[0] and 0 <= idx[1] < shape[1]):
        raise ShapeError(f"index {idx} does not fit {node.base.id!r} of shape {shape} (indices start at 0)",
                         where=_where(node))
    return base[idx[0], idx[1]]


# ---------------------------------------------------------------------------------------- function forms


def _elementwise_fn(fn: Callable[[Any], Any]) -> Callable[..., Value]:
    def apply(node: Call, x: Value) -> Value:
        return x.applyfunc(fn) if isinstance(x, sympy.MatrixBase) else fn(x)

    return apply


def _log(node: Call, x: Value, base: Value | None = None) -> Value:
    """log(x) = ln x; log(x, b) = ln x / ln b, element-wise with a scalar-like operand spread."""
    if base is None:
        return _elementwise_fn(sympy.log)(node, x)
    return _elementwise("log", x, base, node, lambda u, b: sympy.log(u) / sympy.log(b))


def entries_of(v: Value) -> list:
    return list(v) if isinstance(v, sympy.MatrixBase) else [v]


def _sum(node: Call, v: Value) -> Value:
    return sympy.Add(*entries_of(v))


def _mean(node: Call, v: Value) -> Value:
    entries = entries_of(v)
    return sympy.Add(*entries) / len(entries)


def _dot(node: Call, a: Value, b: Value) -> Value:
    if shape_of(a) != shape_of(b):
        raise ShapeError(f"dot needs equal shapes; got {_shape_text(shape_of(a))} and {_shape_text(shape_of(b))}",
                         where=_where(node))
    return sympy.Add(*[x * y for x, y in zip(entries_of(a), entries_of(b))])


def _norm(node: Call, v: Value) -> Value:
    """‖v‖ = sqrt(Σ v²) (Euclidean / Frobenius); for a real scalar this is |v|."""
    return sympy.sqrt(sympy.Add(*[e ** 2 for e in entries_of(v)]))


def _need_column(op: str, v: Value, node: Call) -> None:
    s = shape_of(v)
    if len(s) != 2 or s[1] != 1:
        raise ShapeError(f"{op} needs a column vector (n, 1); got {_shape_text(s)}", where=_where(node))


def _outer(node: Call, a: Value, b: Value) -> Value:
    """outer(a, b) = a @ bᵀ for columns a (m, 1), b (n, 1)."""
    _need_column("outer", a, node)
    _need_column("outer", b, node)
    check_size(a.shape[0] * b.shape[0], "outer")
    return sympy.ImmutableMatrix(a * b.T)


def _diag(node: Call, v: Value) -> Value:
    """Column v (n, 1) -> the n x n matrix with v on its diagonal."""
    _need_column("diag", v, node)
    n = v.shape[0]
    check_size(n * n, "diag")
    return sympy.ImmutableMatrix(n, n, lambda i, j: v[i, 0] if i == j else 0)


def _logsumexp(node: Call, v: Value) -> Value:
    return logsumexp(*entries_of(v))


def _softmax(node: Call, v: Value) -> Value:
    """softmax(v)_i = e^(v_i - logsumexp(v)) over all entries; keeps v's shape."""
    lse = logsumexp(*entries_of(v))
    if isinstance(v, sympy.MatrixBase):
        return v.applyfunc(lambda e: sympy.exp(e - lse))
    return sympy.exp(v - lse)


def _transpose(node: Call, v: Value) -> Value:
    return v.T if isinstance(v, sympy.MatrixBase) else v


def _construct(name: str, args: list[Value], node: Call) -> Value:
    sizes = []
    for a in args:
        a = as_scalar(a)
        if not (isinstance(a, sympy.Basic) and a.is_Integer and a > 0):
            raise ShapeError(f"{name} takes positive whole sizes", where=_where(node))
        sizes.append(int(a))
    if name == "eye":
        check_size(sizes[0] ** 2, f"eye({sizes[0]})")
        return sympy.ImmutableMatrix(sympy.eye(sizes[0]))
    m, n = sizes[0], sizes[1] if len(sizes) > 1 else 1
    check_size(m * n, f"{name}{tuple(sizes)}")
    fill = sympy.ones if name == "ones" else sympy.zeros
    return sympy.ImmutableMatrix(fill(m, n))


# The SymPy form of every row of gradcli.functions (constructors included), keyed by the row's name.
SYMPY_FORMS: dict[str, Callable[..., Value]] = {
    "exp": _elementwise_fn(sympy.exp),
    "ln": _elementwise_fn(sympy.log),
    "log": _log,
    "log10": _elementwise_fn(lambda x: sympy.log(x, 10)),
    "sqrt": _elementwise_fn(sympy.sqrt),
    "abs": _elementwise_fn(sympy.Abs),
    "sin": _elementwise_fn(sympy.sin),
    "cos": _elementwise_fn(sympy.cos),
    "tan": _elementwise_fn(sympy.tan),
    "asin": _elementwise_fn(sympy.asin),
    "acos": _elementwise_fn(sympy.acos),
    "atan": _elementwise_fn(sympy.atan),
    "sinh": _elementwise_fn(sympy.sinh),
    "cosh": _elementwise_fn(sympy.cosh),
    "tanh": _elementwise_fn(sympy.tanh),
    "sigmoid": _elementwise_fn(sigmoid),
    "relu": _elementwise_fn(relu),
    "softplus": _elementwise_fn(softplus),
    "step": _elementwise_fn(step),
    "sign": _elementwise_fn(sgn),
    "sum": _sum,
    "mean": _mean,
    "dot": _dot,
    "norm": _norm,
    "outer": _outer,
    "diag": _diag,
    "softmax": _softmax,
    "logsumexp": _logsumexp,
    "transpose": _transpose,
    "eye": lambda node, *a: _construct("eye", list(a), node),
    "ones": lambda node, *a: _construct("ones", list(a), node),
    "zeros": lambda node, *a: _construct("zeros", list(a), node),
}
