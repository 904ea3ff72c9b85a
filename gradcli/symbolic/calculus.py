"""The symbolic column: our expression tree -> SymPy, and the calculus done on it.

Nothing here parses text: `to_sympy` walks a `gradcli.expr` tree, so user input never meets `sympify`.
Shapes follow SPEC §4: a scalar is a SymPy expression, a tensor an immutable SymPy Matrix of entries;
vectors are columns (n, 1) whose entries are named `x[i]`, matrices have entries `W1[i,j]`; a (1, 1)
value acts as a scalar in element-wise operations. All variables are real symbols.

What it gives the rest of gradcli:
- `to_sympy(node, env)`, `symbol(name)`, `entry_symbols(name, shape)`;
- `partial`, `partials` (simplified within a time bound, never made longer), `simplified`;
- `compile_numeric(exprs, syms)` (lambdify with cse and dummified arguments, NumPy) and `value(expr, env)`;
  `compile_point` and `point_value` for one point on Python floats (no NumPy);
- `to_text` (gradcli's own syntax), `pretty` (Unicode), `latex` (σ, ReLU, ⊙, ᵀ);
- `chain_rule(output, where)`: the multivariate chain rule through named intermediates;
- `equivalent(a, b, syms, points)`: symbolic and numeric equivalence of two formulas;
- `jacobian_entries(out, inp)`: the Jacobian as an array of shape (output shape) × (input shape).

Every SymPy step that can blow up (simplify, factor, cse) runs under `gradcli.timebound.bounded`.
"""

from __future__ import annotations

import functools
import math
import numbers
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import sympy
from mpmath.libmp import prec_to_dps
from sympy.core.function import ArgumentIndexError
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from gradcli.language import definitions as D
from gradcli.language import functions as F
from gradcli.errors import BindingError, DefinitionError, DomainError, GradcliError, ShapeError, TimeBoundError
from gradcli.language.expr import Binary, Call, Const, Index, Name, Node, Num, Transpose, Unary, deep_recursion, walk
from gradcli.symbolic.lambdify_forms import math_modules, numpy_modules
from gradcli.timebound import bounded

if TYPE_CHECKING:
    import numpy as np

# A tensor bigger than this is refused by the symbolic column (TimeBoundError: callers skip the column).
MAX_SYMBOLIC_ENTRIES = 40_000
_MAX_MATMUL_WORK = 2_000_000  # multiply-adds of one symbolic matrix product
DIFF_SECONDS = 5.0  # one differentiation (SymPy's diff is slow on deeply nested formulas)
BUILD_SECONDS = 10.0  # building one SymPy value from a tree
PRINT_SECONDS = 2.0  # pretty and LaTeX forms (they fall back to shorter forms)

Value = Any  # sympy.Expr (a scalar) or sympy.ImmutableMatrix (a tensor)


def _deep(fn: Callable) -> Callable:
    """Run a SymPy step with room for trees MAX_DEPTH deep (SymPy recurses a few frames per level);
    should it still run out of stack, that is a TimeBoundError (callers skip the symbolic column)."""

    @functools.wraps(fn)
    def step(*args, **kwargs):
        try:
            with deep_recursion():
                return fn(*args, **kwargs)
        except RecursionError:
            raise TimeBoundError(f"the formula nests too deeply for SymPy ({fn.__name__})") from None

    return step


# ============================================================================ the functions of the sheets


class sigmoid(sympy.Function):
    """σ(x) = 1/(1 + e^-x); σ'(x) = σ(x)(1 - σ(x)). Numerically from e^-|x|, so it never overflows."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Half
        if x is sympy.S.Infinity:
            return sympy.S.One
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return (1 / (1 + sympy.exp(-x))).evalf(prec_to_dps(x._prec))
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return self._eval_rewrite_as_exp(x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class step(sympy.Function):
    """step(x) = 1 for x > 0, else 0 (relu's derivative with step(0) = 0, the engine's convention); its
    derivative is 0 away from the jump at 0."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.S.One if x > 0 else sympy.S.Zero
        if x.is_extended_positive:
            return sympy.S.One
        if x.is_extended_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.S.Zero

    def _eval_is_extended_real(self):
        return True


class sgn(sympy.Function):
    """sign(x) in gradcli's language: -1, 0 or 1, derivative 0 away from the jump at 0 (SymPy's own sign
    differentiates to a DiracDelta, which has no numeric value)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.sign(x)
        if x.is_extended_positive:
            return sympy.S.One
        if x.is_extended_negative:
            return sympy.S.NegativeOne
        if x.is_zero:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.S.Zero

    def _eval_is_extended_real(self):
        return True


class relu(sympy.Function):
    """ReLU(x) = max(0, x); ReLU'(x) = Heaviside(x), whose value 1/2 at 0 lies in the subgradient [0, 1]."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else sympy.S.Zero
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return x * sympy.Heaviside(x)

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sympy.Piecewise((x, x > 0), (0, True))

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return sympy.Max(0, x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_extended_nonnegative(self):
        return True if self.args[0].is_extended_real else None


class softplus(sympy.Function):
    """softplus(x) = ln(1 + e^x); softplus'(x) = σ(x)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.log(2)
        if x is sympy.S.Infinity:
            return sympy.S.Infinity
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return sympy.log(1 + sympy.exp(x)).evalf(prec_to_dps(x._prec))
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return self._eval_rewrite_as_log(x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class logsumexp(sympy.Function):
    """logsumexp(a1, ..., an) = ln Σ e^ai (over the entries of a tensor); ∂/∂ai = e^(ai - logsumexp).

    Kept as one function so that its NumPy form and softmax's (e^(ai - logsumexp)) are computed stably.
    """

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise ArgumentIndexError(self, argindex)
        return sympy.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in args]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.args):
            return None
        return self._eval_rewrite_as_log(*self.args).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return True if all(a.is_extended_real for a in self.args) else None


CUSTOM_FUNCTIONS = (sigmoid, relu, softplus, logsumexp)



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
    _check_size(math.prod(shape), f"{name!r} of shape {list(shape)}")
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


@_deep
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
        if node.op == "^" and any(e.free_symbols for e in _entries(b)) and \
                any(e.is_number and e.is_extended_negative for e in _entries(a)):
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
    _check_size(sa[0] * sb[1], f"the product {sa} @ {sb}")
    if sa[0] * sa[1] * sb[1] > _MAX_MATMUL_WORK:
        raise TimeBoundError(f"the product {sa} @ {sb} is too large for the symbolic column", where=_where(node))
    return sympy.ImmutableMatrix(a * b)


def _checked(v: Value, node: Node, what: str) -> Value:
    """DomainError when SymPy found the value undefined (zoo, nan, ±oo), or a constant part not real."""
    if v.has(*_UNDEFINED):
        raise DomainError("division by 0" if what == "'/'" else
                          f"{what} is undefined here (the result is infinite or not a number)", where=_where(node))
    for e in _entries(v):
        if e.has(sympy.I) or (not e.free_symbols and e.is_extended_real is False):
            raise DomainError(f"{what} is not real here (SymPy finds {to_text(e)})", where=_where(node))
    return v


def _check_size(entries: int, what: str) -> None:
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


def _entries(v: Value) -> list:
    return list(v) if isinstance(v, sympy.MatrixBase) else [v]


def _sum(node: Call, v: Value) -> Value:
    return sympy.Add(*_entries(v))


def _mean(node: Call, v: Value) -> Value:
    entries = _entries(v)
    return sympy.Add(*entries) / len(entries)


def _dot(node: Call, a: Value, b: Value) -> Value:
    if shape_of(a) != shape_of(b):
        raise ShapeError(f"dot needs equal shapes; got {_shape_text(shape_of(a))} and {_shape_text(shape_of(b))}",
                         where=_where(node))
    return sympy.Add(*[x * y for x, y in zip(_entries(a), _entries(b))])


def _norm(node: Call, v: Value) -> Value:
    """‖v‖ = sqrt(Σ v²) (Euclidean / Frobenius); for a real scalar this is |v|."""
    return sympy.sqrt(sympy.Add(*[e ** 2 for e in _entries(v)]))


def _need_column(op: str, v: Value, node: Call) -> None:
    s = shape_of(v)
    if len(s) != 2 or s[1] != 1:
        raise ShapeError(f"{op} needs a column vector (n, 1); got {_shape_text(s)}", where=_where(node))


def _outer(node: Call, a: Value, b: Value) -> Value:
    """outer(a, b) = a @ bᵀ for columns a (m, 1), b (n, 1)."""
    _need_column("outer", a, node)
    _need_column("outer", b, node)
    _check_size(a.shape[0] * b.shape[0], "outer")
    return sympy.ImmutableMatrix(a * b.T)


def _diag(node: Call, v: Value) -> Value:
    """Column v (n, 1) -> the n x n matrix with v on its diagonal."""
    _need_column("diag", v, node)
    n = v.shape[0]
    _check_size(n * n, "diag")
    return sympy.ImmutableMatrix(n, n, lambda i, j: v[i, 0] if i == j else 0)


def _logsumexp(node: Call, v: Value) -> Value:
    return logsumexp(*_entries(v))


def _softmax(node: Call, v: Value) -> Value:
    """softmax(v)_i = e^(v_i - logsumexp(v)) over all entries; keeps v's shape."""
    lse = logsumexp(*_entries(v))
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
        _check_size(sizes[0] ** 2, f"eye({sizes[0]})")
        return sympy.ImmutableMatrix(sympy.eye(sizes[0]))
    m, n = sizes[0], sizes[1] if len(sizes) > 1 else 1
    _check_size(m * n, f"{name}{tuple(sizes)}")
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

# ============================================================================ derivatives


@_deep
def partial(expr: Value, sym: sympy.Symbol, *, seconds: float | None = DIFF_SECONDS) -> Value:
    """∂expr/∂sym, unsimplified (entry by entry for a matrix); TimeBoundError after `seconds`."""
    return _diff(as_scalar(expr), sym, seconds)


def _diff(expr: Value, sym: sympy.Symbol, seconds: float | None = DIFF_SECONDS) -> Value:
    def too_slow():
        raise TimeBoundError(f"differentiating by {sym} did not finish within {seconds:g} s "
                             "(the formula is too large for the symbolic column)")

    return bounded(seconds, sympy.diff, expr, sym, fallback=too_slow)


@_deep
def partials(expr: Value, syms: Sequence[sympy.Symbol], *, simplify_seconds: float = 2.0,
             total_seconds: float | None = 20.0) -> dict[str, Value]:
    """{name: ∂expr/∂sym} for every symbol, each simplified within `simplify_seconds`.

    A derivative whose simplification runs out of time (or of the `total_seconds` budget for the whole
    set) is returned as differentiated; simplification never makes a formula longer. Differentiation
    itself is bounded by DIFF_SECONDS per symbol: beyond that, TimeBoundError.
    """
    budget = _Budget(total_seconds)
    return {str(s): simplified(partial(expr, s), budget.take(simplify_seconds)) for s in syms}


class _Budget:
    """Seconds left of a total time budget (None: unlimited)."""

    def __init__(self, total: float | None):
        import time

        self._clock = time.monotonic
        self._end = None if total is None else self._clock() + total

    def take(self, seconds: float) -> float:
        if self._end is None:
            return seconds
        return max(0.0, min(seconds, self._end - self._clock()))


SMALL_OPS = 6  # a derivative this small (1/x, z*exp(y)) skips sympy.simplify: it has nothing to gain, and
# its first call costs ~0.3 s of imports (sympy.physics.units), a third of a derive's whole run


@_deep
def simplified(expr: Value, seconds: float = 2.0) -> Value:
    """The shortest of factor_terms/simplify/factor(expr) found within `seconds` (operations, then text),
    if it has fewer operations than expr; otherwise expr as it is (so `tan(x)^2 + 1`, `1 - tanh(x)^2` stay).

    Never longer than expr: a simplification that runs out of time or fails leaves expr as it is.
    """
    if isinstance(expr, sympy.MatrixBase):
        budget = _Budget(seconds)
        return expr.applyfunc(lambda e: simplified(e, budget.take(seconds)))
    if not isinstance(expr, sympy.Expr) or expr.is_Atom or seconds <= 0:
        return expr
    budget = _Budget(seconds)
    ops = bounded(budget.take(seconds), sympy.count_ops, expr, fallback=None, catch=(Exception,))
    if ops is None:
        return expr
    best, best_key = expr, (ops, math.inf)
    steps = (sympy.factor_terms, sympy.factor) if ops <= SMALL_OPS else (sympy.factor_terms, sympy.simplify, sympy.factor)
    if sympy.simplify in steps:
        _simplify_imports()
    for step in steps:
        found = bounded(budget.take(seconds), _candidate, step, expr, fallback=None, catch=(Exception,))
        if found is not None and found[1][0] < ops and found[1] < best_key:
            best, best_key = found
    return best


@functools.cache
def _simplify_imports() -> None:
    """What sympy.simplify imports on its first call (sympy.physics.units, ~0.15 s), imported before any
    time bound starts: a one-time cost must not use up the first formula's bound, or whether that formula
    gets simplified would depend on which one comes first and on the machine's load."""
    import sympy.physics.units  # noqa: F401


def _candidate(step: Callable, expr: sympy.Expr) -> tuple[sympy.Expr, tuple[int, int]] | None:
    """step(expr) with its size (operations, length of its text), or None if it is not an expression."""
    result = step(expr)
    if not isinstance(result, sympy.Expr):
        return None
    return result, (sympy.count_ops(result), len(to_text(result)))


# ============================================================================ numbers from formulas


@_deep
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


@_deep
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


@_deep
def value(expr: Value, env: Mapping[str, float]) -> float | np.ndarray:
    """The numeric value of expr with every free symbol taken from env by name (NumPy; matrices too)."""
    syms = _bound_symbols(expr, env)
    return compile_numeric([expr], syms)(*[env[str(s)] for s in syms])[0]


@_deep
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


# ============================================================================ printing


class _TextPrinter(StrPrinter):
    """Formulas in gradcli's own language: `^` for powers, `ln`, `abs`, `e`, sums written last in products.

    relu's derivative prints as `step(x)` and abs's as `sign(x)`, both in the language (SymPy's Heaviside
    has step(0) = 1/2 where gradcli's step has 0: both lie in relu's subgradient [0, 1]);
    `logsumexp(a, b, c)` lists a tensor's entries and is display only.
    """

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.base, expr.exp
        if exp is sympy.S.Half:
            return f"sqrt({self._print(base)})"
        if expr.is_commutative and exp.is_Rational and exp.is_negative:
            inverse = base if exp == -1 else sympy.Pow(base, -exp, evaluate=False)
            return f"1/{self.parenthesize(inverse, PRECEDENCE['Mul'], strict=False)}"
        prec = PRECEDENCE["Pow"]
        return f"{self.parenthesize(base, prec, strict=False)}^{self.parenthesize(exp, prec, strict=True)}"

    def _print_Mul(self, expr):
        c, rest = expr.as_coeff_Mul()
        if c < 0:
            inner = self._print_Mul_positive(_unsigned(-c, rest))
            return "-" + inner
        return self._print_Mul_positive(expr)

    def _print_Mul_positive(self, expr):
        if not isinstance(expr, sympy.Mul):
            return self.parenthesize(expr, PRECEDENCE["Mul"], strict=False)
        prec = precedence(expr)
        numer, denom = [], []
        for f in expr.as_ordered_factors():
            if f.is_Pow and f.is_commutative and f.exp.is_Rational and f.exp.is_negative:
                denom.append(f.base if f.exp == -1 else sympy.Pow(f.base, -f.exp, evaluate=False))
            elif f.is_Rational:
                if f.p != 1:
                    numer.append(sympy.Integer(f.p))
                if f.q != 1:
                    denom.append(sympy.Integer(f.q))
            else:
                numer.append(f)
        numer.sort(key=lambda f: f.is_Add)  # sums last, as the sheets write 4c(a - b)(w + x + y)
        num = "*".join(self.parenthesize(f, prec, strict=False) for f in numer) or "1"
        if not denom:
            return num
        if len(denom) == 1:
            return f"{num}/{self.parenthesize(denom[0], prec, strict=True)}"
        return f"{num}/({'*'.join(self.parenthesize(f, prec, strict=False) for f in denom)})"

    def _print_Add(self, expr, order=None):
        """SymPy's order, except that a sum starts with a positive term when it has one: `b - a`, `1 - x^2`."""
        prec = precedence(expr)
        parts = []
        for term in self._as_ordered_terms(expr, order=order):
            t = self._print(term)
            sign = "-" if t.startswith("-") and not term.is_Add else "+"
            t = t[1:] if sign == "-" else t
            parts.append((sign, f"({t})" if precedence(term) < prec or term.is_Add else t))
        first = next((k for k, (sign, _) in enumerate(parts) if sign == "+"), 0)
        parts.insert(0, parts.pop(first))
        head_sign, head = parts[0]
        return ("-" if head_sign == "-" else "") + head + "".join(f" {sign} {t}" for sign, t in parts[1:])

    def _print_log(self, expr):
        return f"ln({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.pargs[0])})"

    def _print_step(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_sgn(self, expr):
        return f"sign({self._print(expr.args[0])})"

    def _print_Exp1(self, expr):
        return "e"

    def _print_exp(self, expr):
        return f"exp({self._print(expr.args[0])})"

    def _print_MatrixBase(self, expr):
        return "[" + ", ".join("[" + ", ".join(self._print(e) for e in expr.row(i)) + "]"
                               for i in range(expr.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_NDimArray(self, expr):
        return str(_nested(expr.tolist(), self._print))

    _print_ImmutableDenseNDimArray = _print_NDimArray


def _unsigned(c, rest):
    return sympy.Mul(c, rest) if c != 1 else rest


def _nested(items, fmt):
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i, fmt) for i in items) + "]"
    return fmt(items)


_TEXT = _TextPrinter()


@_deep
def to_text(expr: Value) -> str:
    """The formula in gradcli's own language (for display): `1/x`, `z*exp(y)`, `sigmoid(x)*(1 - sigmoid(x))`."""
    return _TEXT.doprint(expr)


@_deep
def pretty(expr: Value, *, seconds: float | None = PRINT_SECONDS) -> str:
    """SymPy's Unicode pretty form (multi-line for fractions and powers); to_text if it takes too long."""
    return bounded(seconds, sympy.pretty, expr, use_unicode=True, fallback=lambda: to_text(expr))


@_deep
def latex(expr: Value, *, seconds: float | None = PRINT_SECONDS) -> str:
    """LaTeX with the sheets' notation: σ, ReLU, ln, ⊙ and ᵀ (see gradcli.render.latex_printer).

    A formula too large to typeset within `seconds` becomes a note saying so.
    """
    from gradcli.symbolic.latex_printer import GradcliLatexPrinter

    return bounded(seconds, GradcliLatexPrinter().doprint, expr,
                   fallback=r"\text{(formula too long to typeset)}")


# ============================================================================ the chain rule (--where)


@dataclass(frozen=True)
class ChainTerm:
    """One term ∂out/∂via · ∂via/∂x of the multivariate chain rule.

    `via` is an intermediate that the output uses directly; `outer` = ∂out/∂via treating every
    intermediate as a symbol; `inner` = d via/dx, the total derivative through nested intermediates
    (kept as symbols). For the direct term (the output uses x itself) via is None, outer = ∂out/∂x and
    inner = 1.
    """

    via: str | None
    outer: sympy.Expr
    inner: sympy.Expr

    @property
    def product(self) -> sympy.Expr:
        return self.outer * self.inner


@dataclass
class ChainRule:
    """∂out/∂x = Σ_a ∂out/∂a · da/dx (+ ∂out/∂x when out uses x directly) for every input x.

    `definitions` hold each intermediate over inputs and earlier intermediates (as symbols), `order` is a
    dependency order, `inputs` the sorted free names that are not intermediates.
    """

    output: sympy.Expr
    definitions: dict[str, sympy.Expr]
    order: list[str]
    inputs: list[str]
    symbols: dict[str, sympy.Symbol]
    _terms: dict[str, tuple[ChainTerm, ...]] = field(repr=False)
    _totals: dict[str, sympy.Expr] = field(repr=False)

    def terms(self, var: str) -> tuple[ChainTerm, ...]:
        """The chain-rule terms of ∂out/∂var (empty when out does not depend on var)."""
        return self._terms[self._input(var)]

    def total(self, var: str) -> sympy.Expr:
        """∂out/∂var over the inputs only (intermediates substituted), simplified within the time bound."""
        return self._totals[self._input(var)]

    def chain_sum(self, var: str) -> sympy.Expr:
        """Σ outer·inner over the terms, intermediates kept as symbols: the sheets' form of ∂out/∂var."""
        return sympy.Add(*[t.product for t in self.terms(var)])

    def expand(self, expr: Value) -> Value:
        """expr with every intermediate replaced by its definition, down to the inputs."""
        for name in reversed(self.order):
            expr = expr.subs(self.symbols[name], self.definitions[name])
        return expr

    def values(self, at: Mapping[str, float]) -> dict[str, float]:
        """The inputs' values and each intermediate's value at the point, by name."""
        missing = [n for n in self.inputs if n not in at]
        if missing:
            raise BindingError(f"no value for {', '.join(missing)}")
        env = {n: float(at[n]) for n in self.inputs}
        for name in self.order:
            env[name] = point_value(self.definitions[name], env)
        return env

    def upstream(self, name: str) -> sympy.Expr:
        """∂out/∂name for an intermediate: everything downstream of it recomputed, the rest held fixed.

        d out/d a = ∂out/∂a + Σ_b d out/d b · ∂b/∂a over the intermediates b defined using a.
        """
        if name not in self.definitions:
            raise BindingError(f"{name!r} is not an intermediate (they are: {', '.join(self.order)})")
        memo: dict[str, sympy.Expr] = {}
        for b in reversed(self.order):
            a_sym = self.symbols[b]
            memo[b] = _diff(self.output, a_sym) + sympy.Add(
                *[memo[c] * _diff(self.definitions[c], a_sym) for c in self.order if c in memo
                  and a_sym in self.definitions[c].free_symbols])
        return memo[name]

    def _input(self, var: str) -> str:
        if var not in self._terms:
            raise BindingError(f"{var!r} is not an input (the inputs are: {', '.join(self.inputs)})")
        return var


@_deep
def chain_rule(output: Node, where: Mapping[str, Node], *, simplify_seconds: float = 2.0,
               where_label: str = "--where") -> ChainRule:
    """The chain-rule system of `output` through the intermediates `where` (given in any order).

    A definition of a function or constant name, or a cycle (named like 'a -> b -> a'), is a
    DefinitionError; a definition that is not a scalar is a ShapeError. Definitions given twice are
    caught where they are read: `collect_definitions` for (name, tree) pairs,
    `gradcli.language.definitions.parse_definitions` for `--where` text.
    """
    for name in where:
        D.check_name(name, where=f"{where_label} {name}")
    order = D.order(where, where=where_label)
    inputs = D.inputs(output, where)
    syms = {n: symbol(n) for n in [*inputs, *order]}
    defs: dict[str, sympy.Expr] = {}
    for name in order:
        try:
            defs[name] = _scalar(to_sympy(where[name], syms), f"the intermediate {name!r}")
        except GradcliError as err:
            err.where = f"{where_label} {name}, {err.where}" if err.where else f"{where_label} {name}"
            raise
    out = _scalar(to_sympy(output, syms), "the output")

    depends = _dependencies(defs, order, syms)
    budget = _Budget(max(simplify_seconds * 10, simplify_seconds))
    # d a/d x for every intermediate a and input x, with intermediates as symbols, in dependency order.
    total_d: dict[tuple[str, str], sympy.Expr] = {}
    for a in order:
        for x in inputs:
            if x not in depends[a]:
                continue
            d = _diff(defs[a], syms[x]) + sympy.Add(
                *[_diff(defs[a], syms[b]) * total_d[(b, x)] for b in order
                  if syms[b] in defs[a].free_symbols and x in depends[b]])
            total_d[(a, x)] = simplified(d, budget.take(simplify_seconds))
    direct_vias = _first_uses(output, order)
    terms: dict[str, tuple[ChainTerm, ...]] = {}
    for x in inputs:
        row: list[ChainTerm] = []
        for a in direct_vias:
            if x in depends[a]:
                row.append(ChainTerm(a, simplified(_diff(out, syms[a]), budget.take(simplify_seconds)),
                                     total_d[(a, x)]))
        if syms[x] in out.free_symbols:
            row.append(ChainTerm(None, simplified(_diff(out, syms[x]), budget.take(simplify_seconds)),
                                 sympy.S.One))
        terms[x] = tuple(row)
    system = ChainRule(out, defs, order, inputs, syms, terms, {})
    expanded = system.expand(out)
    system._totals = {x: simplified(_diff(expanded, syms[x]), budget.take(simplify_seconds)) for x in inputs}
    return system


def collect_definitions(pairs: Iterable[tuple[str, Node]], *, where_label: str = "--where") -> dict[str, Node]:
    """{name: tree} from (name, tree) pairs in the order given; a name defined twice, or one that is a
    function or constant, is a DefinitionError (`where` is '<where_label> <name>')."""
    defs: dict[str, Node] = {}
    for name, node in pairs:
        D.check_name(name, where=f"{where_label} {name}")
        if name in defs:
            raise DefinitionError(f"{name!r} is defined twice (every intermediate is defined once)",
                                  where=f"{where_label} {name}")
        defs[name] = node
    return defs


def _first_uses(output: Node, names: Iterable[str]) -> list[str]:
    """The names the output uses, in the order they first appear in it (the order the sheets write terms)."""
    wanted = set(names)
    seen: list[str] = []
    for n in walk(output):
        if isinstance(n, Name) and n.id in wanted and n.id not in seen:
            seen.append(n.id)
    return seen


def _scalar(v: Value, what: str) -> sympy.Expr:
    v = as_scalar(v)
    if isinstance(v, sympy.MatrixBase):
        raise ShapeError(f"{what} must be a scalar; it has shape {v.shape}")
    return v


def _dependencies(defs: Mapping[str, sympy.Expr], order: list[str], syms: Mapping[str, sympy.Symbol]
                  ) -> dict[str, set[str]]:
    """For each intermediate, the input names it depends on, directly or through other intermediates."""
    names = {s: n for n, s in syms.items()}
    deps: dict[str, set[str]] = {}
    for a in order:
        out: set[str] = set()
        for s in defs[a].free_symbols:
            n = names[s]
            out |= deps[n] if n in deps else {n}
        deps[a] = out
    return deps


# ============================================================================ equivalence of formulas


@dataclass(frozen=True)
class Equivalence:
    """Whether two formulas agree: `equal`, whether SymPy decided it, and a point where they differ.

    counterexample: {"at": {name: value}, "a": value of a, "b": value of b} (with "entry" for tensors,
    or {"shapes": [shape of a, shape of b]} when the shapes differ); None when equal.
    """

    equal: bool
    decided_symbolically: bool
    counterexample: dict | None
    points_checked: int = 0
    reason: str = ""


@_deep
def equivalent(a: Value, b: Value, syms: Sequence[sympy.Symbol], sample_points: Iterable,
               *, seconds: float = 2.0, rtol: float = 1e-8) -> Equivalence:
    """Are a and b the same function of `syms`? Symbolically (simplify(a - b) == 0 within `seconds`) and
    ALWAYS numerically at `sample_points` (mappings name -> value, or sequences in the order of syms).

    A point where either side is not finite is skipped (outside the domain). A numeric mismatch is
    confirmed at 30 significant digits before it counts, so rounding alone never makes a counterexample.
    Equal when SymPy proves it or every usable point agrees (at least one point is needed).
    """
    import numpy as np

    a, b = as_scalar(a), as_scalar(b)
    sa, sb = shape_of(a), shape_of(b)
    if sa != sb:
        return Equivalence(False, True, {"shapes": [list(sa), list(sb)]}, 0,
                           f"the shapes differ: {_shape_text(sa)} and {_shape_text(sb)}")
    verdict = bounded(seconds, _difference_is_zero, a, b, fallback=None, catch=(Exception,))
    syms = list(syms)
    fn = compile_numeric([a, b], syms)
    checked = 0
    counterexample = None
    for point in sample_points:
        values = _point_values(point, syms)
        va, vb = fn(*values)
        pairs = list(zip(np.ravel(va), np.ravel(vb)))
        usable = [(i, x, y) for i, (x, y) in enumerate(pairs) if math.isfinite(x) and math.isfinite(y)]
        if not usable:
            continue
        checked += 1
        for i, x, y in usable:
            if _close(x, y, rtol) or _close_precisely(a, b, sa, i, syms, values):
                continue
            counterexample = {"at": {str(s): v for s, v in zip(syms, values)}, "a": float(x), "b": float(y)}
            if sa:
                counterexample["entry"] = list(divmod(i, sa[1]))
            break
        if counterexample is not None:
            break
    if verdict is True:
        return Equivalence(True, True, None, checked, "SymPy simplifies a - b to 0")
    if counterexample is not None:
        return Equivalence(False, verdict is False, counterexample, checked,
                           "the formulas differ at a point" + (" (and SymPy agrees)" if verdict is False else ""))
    if verdict is False:
        return Equivalence(False, True, None, checked, "a - b simplifies to a nonzero constant")
    if checked == 0:
        return Equivalence(False, False, None, 0, "no sample point lies in the domain of both formulas")
    return Equivalence(True, False, None, checked, f"equal at {checked} sample points")


def _difference_is_zero(a: Value, b: Value) -> bool | None:
    """True when a - b simplifies to 0, False when to a nonzero constant, None when SymPy cannot tell."""
    diffs = list(a - b) if isinstance(a, sympy.MatrixBase) else [a - b]
    verdicts = [_is_zero(d) for d in diffs]
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


def _is_zero(d: sympy.Expr) -> bool | None:
    for form in (d, _elementary(d)):
        if form == 0:
            return True
        s = sympy.simplify(form)
        if s == 0:
            return True
        if s.is_number and s.is_finite and s.is_extended_real and s != 0:
            return False
    return None


def _elementary(expr: sympy.Expr) -> sympy.Expr:
    """expr with sigmoid, softplus and logsumexp written with exp and log (relu stays as it is)."""
    return (expr.replace(sigmoid, lambda x: 1 / (1 + sympy.exp(-x)))
                .replace(softplus, lambda x: sympy.log(1 + sympy.exp(x)))
                .replace(logsumexp, lambda *xs: sympy.log(sympy.Add(*[sympy.exp(x) for x in xs]))))


def _point_values(point: Any, syms: list[sympy.Symbol]) -> list[float]:
    if isinstance(point, Mapping):
        try:
            return [float(point[s] if s in point else point[str(s)]) for s in syms]
        except KeyError as err:
            raise BindingError(f"the sample point has no value for {err.args[0]}") from None
    values = [float(v) for v in point]
    if len(values) != len(syms):
        raise BindingError(f"a sample point needs {len(syms)} values, got {len(values)}")
    return values


def _close(x: float, y: float, rtol: float) -> bool:
    return x == y or abs(x - y) / max(abs(x), abs(y), 1e-300) <= rtol


def _close_precisely(a: Value, b: Value, shape: tuple, i: int, syms: list, values: list[float]) -> bool:
    """Recompute entry i of a and b at 30 digits: agree to 1e-20 (relative, floor 1)?"""
    ea = a if not shape else list(a)[i]
    eb = b if not shape else list(b)[i]
    subs = {s: sympy.Float(v, 30) for s, v in zip(syms, values)}

    def both():
        x, y = ea.evalf(30, subs=subs), eb.evalf(30, subs=subs)
        if not (x.is_number and y.is_number):
            return False
        x, y = complex(x), complex(y)
        return abs(x - y) <= 1e-20 * max(abs(x), abs(y), 1.0)

    return bool(bounded(1.0, both, fallback=False, catch=(Exception,)))


def random_points(names: Sequence[str], n: int = 8, seed: int = 0) -> list[dict[str, float]]:
    """n reproducible sample points: the first half in [0.2, 2] (inside ln's and sqrt's domain), the rest
    in ±[0.2, 2] with random signs."""
    rng = random.Random(seed)
    points = []
    for k in range(n):
        point = {}
        for name in names:
            v = rng.uniform(0.2, 2.0)
            point[name] = v if k < (n + 1) // 2 or rng.random() < 0.5 else -v
        points.append(point)
    return points


# ============================================================================ Jacobians


def jacobian_axes(v: Value) -> tuple[int, ...]:
    """The axes a value contributes to a Jacobian's shape (SPEC §5): a scalar or (1, 1) counts as (1),
    a column (n, 1) as (n), a matrix (m, n) as (m, n)."""
    s = shape_of(as_scalar(v))
    if s == ():
        return (1,)
    return (s[0],) if s[1] == 1 else s


@_deep
def jacobian_entries(out: Value, inp: Value, *, seconds: float | None = 4 * DIFF_SECONDS
                     ) -> sympy.ImmutableDenseNDimArray:
    """J[o..., i...] = ∂out[o...]/∂inp[i...], of shape jacobian_axes(out) + jacobian_axes(inp).

    E.g. ∂‖w‖²/∂w is 1×d, ∂(Xw)/∂w is n×d, ∂(XWᵀ)/∂W is (n, k, k, d) with entries X[i,l]·δ(j,k).
    """
    out_entries = _entries(as_scalar(out))
    in_entries = _entries(as_scalar(inp))
    if not all(isinstance(s, sympy.Symbol) for s in in_entries):
        raise GradcliError("a Jacobian is taken with respect to a variable (its entries must be symbols)")
    shape = jacobian_axes(out) + jacobian_axes(inp)
    _check_size(len(out_entries) * len(in_entries), f"the Jacobian of shape {shape}")
    def entries():
        return [sympy.diff(o, s) for o in out_entries for s in in_entries]

    def too_slow():
        raise TimeBoundError(f"the Jacobian of shape {shape} did not finish within {seconds:g} s")

    return sympy.ImmutableDenseNDimArray(bounded(seconds, entries, fallback=too_slow), shape)
