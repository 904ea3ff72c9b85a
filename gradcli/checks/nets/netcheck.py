"""`gradcli check net.yaml`: the loss of a network spec and every parameter's gradient, three ways.

The loss is L = reduce_e ℓ(x_e, y_e) over the `data:` examples (mean or sum; one example without
`data:`), ℓ the spec's `loss:` after its `forward:` definitions. For every name in `wrt` (params and
fixed inputs such as x) three columns are computed independently and judged by `gradcli.compare`:

* symbolic (`symbolic_column`): SymPy only. While the wrt tensors hold at most SYMBOLIC_FULL_ENTRIES
  entries in all, every entry is a symbol (`W1[0,1]`) and each ∂L/∂W1[i,j] is differentiated and
  evaluated (lambdify with cse). Beyond that a seeded sample of SYMBOLIC_SAMPLE entries per parameter
  stays symbolic and every other entry is a number; if SymPy does not finish within its time bound the
  column is skipped with the reason. The result says which path was taken and how many entries it covers.
* backprop (`backprop_column`): the engine, one graph per example, gradients reduced like the loss.
* numeric (`numeric_column`): `finite_diff.gradient` (central differences, one Richardson step, an
  error estimate per entry) over every entry, with `NetForward` as the batched function: all the
  perturbed copies of a chunk of entries go through ONE NumPy pass over all examples. A copy differs
  from the point in one entry, so NetForward carries it as (point, index, new value) and a product
  W @ A with a perturbed W costs one shared product plus one scaled row per copy, not a copy of W.
  `--fast` instead checks a few random directions (`finite_diff.directional`) and, when one fails,
  finds the wrong entries by bisection (`finite_diff.locate_mismatch`).

Where the engine meets a kink (relu or abs at exactly 0, the norm of 0) the entries whose central
difference disagrees get one-sided derivatives, and the verdict is `kink` when the analytic values lie
between them.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from gradcli.language import expr as E
from gradcli.errors import GradcliError, ShapeError, SpecError
from gradcli.numerics.examples import example_count, example_envs, reduce_weight
from gradcli.progress import ProgressCallback, report
from gradcli.numerics.forward import broadcast_pair, scalar_like, shape_text

SYMBOLIC_FULL_ENTRIES = 400  # up to this many wrt entries in all, every entry gets its own symbol
SYMBOLIC_SAMPLE = 24  # entries per parameter kept symbolic beyond that
SYMBOLIC_SECONDS = 30.0  # time bound of the whole symbolic column
SYMBOLIC_MAX_WORK = 40_000  # numbers SymPy would carry (all param/input entries x examples): beyond, skip at once
ONE_SIDED_LIMIT = 2000  # entries per parameter that get one-sided derivatives at a kink
CHUNK_BYTES = 64 * 2**20  # memory for the perturbed intermediate values of one numeric chunk
MAX_CHUNK_ENTRIES = 1024  # entries per numeric chunk (4 copies each)
FAST_DIRECTIONS = 4

# ============================================================================================ results


@dataclass
class SymbolicCoverage:
    """How the symbolic column was computed for one parameter."""

    path: str  # 'full' (every entry a symbol) | 'sampled' (a seeded sample of entries) | 'skipped'
    entries: int  # entries the column covers
    total: int  # entries of the parameter
    reason: str | None = None  # why sampled or skipped


@dataclass
class ParamCheck:
    """∂L/∂P three ways and the verdict; arrays have P's shape, nan where a column was not computed."""

    name: str
    shape: tuple[int, ...]
    symbolic: np.ndarray
    backprop: np.ndarray
    numeric: np.ndarray
    numeric_error: np.ndarray
    max_rel_error: float
    verdict: str  # agree | disagree | kink
    odd_one_out: str | None
    reason: str
    worst_index: tuple[int, ...] | None
    worst: tuple[float | None, float | None, float | None]  # (symbolic, backprop, numeric) at worst_index
    symbolic_coverage: SymbolicCoverage
    numeric_method: str  # 'central' (every entry) | 'directional' (--fast)
    numeric_entries: int  # entries with a numeric value
    disagreeing: int = 0
    kinks: int = 0
    directional_rel_error: float | None = None  # --fast: the worst direction's relative error


@dataclass
class NetCheckResult:
    """Everything `gradcli check net.yaml` reports; renderers read it, never compute."""

    file: str
    name: str | None
    value: float
    gradients: dict[str, ParamCheck]
    examples: int  # 1 without data:
    reduce: str | None  # 'mean' | 'sum' over the examples, None without data:
    forward_text: list[str]  # 'h1 = tanh(W1 @ x + b1)', ...
    loss_text: str
    expanded_from_layers: bool = False
    show: list[str] = field(default_factory=list)
    fast: bool = False
    backward: Any = None  # gradcli.checks.nets.backward_equations.BackwardReport
    cost: Any = None  # gradcli.checks.nets.cost.CostReport
    timings: dict[str, float] = field(default_factory=dict)  # seconds per column

    @property
    def verdict(self) -> str:
        verdicts = {p.verdict for p in self.gradients.values()}
        return "disagree" if "disagree" in verdicts else ("kink" if "kink" in verdicts else "agree")

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "disagree" else 0


@dataclass
class BackpropColumn:
    value: float
    grads: dict[str, np.ndarray]
    kink: bool  # some op sat on a kink in some example


@dataclass
class SymbolicColumn:
    values: dict[str, np.ndarray]  # nan where not covered
    coverage: dict[str, SymbolicCoverage]
    covered: dict[str, np.ndarray]  # boolean mask of the entries the column computed


@dataclass
class NumericColumn:
    values: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    evaluations: int


# ============================================================================================ check_net


def check_net(spec, options=None) -> NetCheckResult:
    """Check every wrt gradient of a network spec three ways (module docstring); `options` is a CheckOptions."""
    fast = bool(getattr(options, "fast", False))
    show = list(getattr(options, "show", None) or [])
    seed = int(getattr(options, "seed", 0) or 0)
    for name in show:
        if name not in spec.wrt:
            raise GradcliError(f"--show {name}: there is no parameter {name!r}; the parameters are "
                               f"{', '.join(spec.wrt)}", where="--show")
    timings: dict[str, float] = {}
    progress = getattr(options, "progress", None)
    seconds = getattr(options, "symbolic_seconds", None) or SYMBOLIC_SECONDS
    t0 = time.perf_counter()
    backprop = backprop_column(spec)
    timings["backprop"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(progress, 0, 1, "symbolic column (SymPy)")
    symbolic = symbolic_column(spec, seed=seed, seconds=seconds)
    report(progress, 1, 1, "symbolic column (SymPy)")
    timings["symbolic"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net = {name: NetForward(spec, name) for name in spec.wrt}
    if fast:
        checks = _fast_checks(spec, net, backprop, symbolic, seed)
    else:
        numeric = numeric_column(spec, progress=progress, forwards=net)
        checks = {name: _full_check(spec, name, net[name], backprop, symbolic, numeric) for name in spec.wrt}
    timings["numeric"] = time.perf_counter() - t0

    backward = None
    if getattr(options, "equations", False):
        from gradcli.checks.nets.backward_equations import backward_equations

        t0 = time.perf_counter()
        backward = backward_equations(spec)
        timings["equations"] = time.perf_counter() - t0
    cost = None
    if getattr(options, "cost", False):
        from gradcli.checks.nets.cost import count_cost

        cost = count_cost(spec)
    from gradcli.io.spec import expanded_forward_text

    return NetCheckResult(
        file=spec.file, name=spec.name, value=backprop.value, gradients=checks, examples=example_count(spec),
        reduce=spec.data.reduce if spec.data is not None else None, forward_text=expanded_forward_text(spec),
        loss_text=spec.loss.text, expanded_from_layers=spec.expanded_from_layers, show=show, fast=fast,
        backward=backward, cost=cost, timings=timings)


def _loss_shape_error(spec, shape: tuple[int, ...]) -> SpecError:
    shown = "a scalar" if shape == () else str(list(shape))
    return SpecError(f"loss must be a scalar (0-d or 1x1), but it has shape {shown}", where=spec.loss.where)


def _relocated(err: GradcliError, where: str) -> GradcliError:
    """The same error, saying which definition of the spec it comes from."""
    from gradcli.errors import ParseError

    place = f"{where}, {err.where}" if err.where else where
    kind = SpecError if isinstance(err, ParseError) else type(err)
    return kind(err.message, where=place, detail=err.detail)


# ============================================================================================ backprop


def backprop_column(spec) -> BackpropColumn:
    """The engine's gradient of L for every wrt name: one graph per example, reduced like the loss."""
    from gradcli.numerics import engine

    weight = reduce_weight(spec)
    grads = {name: np.zeros(np.shape(_value(spec, name))) for name in spec.wrt}
    total, kink = 0.0, False
    wrt = set(spec.wrt)
    for env_values in example_envs(spec):
        env = {name: engine.leaf(v, name, const=name not in wrt) for name, v in env_values.items()}
        out = _engine_loss(spec, env)
        total += weight * float(out.data.reshape(-1)[0])
        got = engine.backward(out)
        kink = kink or any(t.kink for t in engine.topo_order(out))
        for name in spec.wrt:
            if name in got:
                grads[name] += weight * got[name].reshape(grads[name].shape)
    return BackpropColumn(total, grads, kink)


def _engine_loss(spec, env: dict):
    """Evaluate the forward definitions and the loss through the engine; the loss must be scalar-like."""
    from gradcli.numerics import engine

    for d in spec.forward:
        try:
            env[d.name] = engine.evaluate(d.node, env, text=d.text)
        except GradcliError as err:
            raise _relocated(err, d.where) from None
    try:
        out = engine.evaluate(spec.loss.node, env, text=spec.loss.text)
    except GradcliError as err:
        raise _relocated(err, spec.loss.where) from None
    if out.data.size != 1 or out.data.ndim not in (0, 2):
        raise _loss_shape_error(spec, out.shape)
    return out


def _value(spec, name: str) -> np.ndarray:
    return spec.params[name] if name in spec.params else spec.inputs[name]


# ============================================================================================ symbolic


def symbolic_column(spec, seed: int = 0, seconds: float = SYMBOLIC_SECONDS) -> SymbolicColumn:
    """∂L/∂P from SymPy alone (never the engine), for every entry or a seeded sample (module docstring)."""
    from gradcli.timebound import bounded

    sizes = {name: int(np.size(_value(spec, name))) for name in spec.wrt}
    full = sum(sizes.values()) <= SYMBOLIC_FULL_ENTRIES
    chosen: dict[str, np.ndarray] = {}
    for name, n in sizes.items():
        if full or n <= SYMBOLIC_SAMPLE:
            chosen[name] = np.arange(n)
        else:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            chosen[name] = np.sort(rng.choice(n, size=SYMBOLIC_SAMPLE, replace=False))
    values = {name: np.full(np.shape(_value(spec, name)), np.nan) for name in spec.wrt}
    work = _symbolic_work(spec)
    if work > SYMBOLIC_MAX_WORK:
        got, reason = None, (f"the loss carries {work:,} numbers through SymPy (entries x examples), more than "
                             f"{SYMBOLIC_MAX_WORK:,}: too slow to build symbolically, so the backprop and numeric "
                             "columns judge alone")
    else:
        try:
            got = bounded(seconds, _symbolic_values, spec, chosen, fallback=None)
            reason = None if got is not None else f"SymPy did not finish within {seconds:g} s"
        except GradcliError as err:
            got, reason = None, f"SymPy cannot build this loss: {err.message}"
    coverage, covered = {}, {}
    for name, n in sizes.items():
        covered[name] = np.zeros(np.shape(_value(spec, name)), bool)
        if got is None:
            coverage[name] = SymbolicCoverage("skipped", 0, n, reason)
            continue
        values[name].reshape(-1)[chosen[name]] = got[name]
        covered[name].reshape(-1)[chosen[name]] = True
        if chosen[name].size == n:
            coverage[name] = SymbolicCoverage("full", n, n)
        else:
            coverage[name] = SymbolicCoverage(
                "sampled", int(chosen[name].size), n,
                f"{sum(sizes.values()):,} entries in all (more than {SYMBOLIC_FULL_ENTRIES}): a seeded sample of "
                f"{chosen[name].size} entries is symbolic, every other entry a number")
    return SymbolicColumn(values, coverage, covered)


def _symbolic_work(spec) -> int:
    """How many numbers a SymPy build of the loss carries: every input and parameter entry, per example."""
    entries = sum(int(np.size(v)) for v in spec.params.values()) + sum(int(np.size(v)) for v in spec.inputs.values())
    return entries * example_count(spec)


def entry_symbol_name(name: str, shape: tuple[int, ...], flat: int) -> str:
    """`W1[0,1]` for a matrix entry, `b1[2]` for a vector (n, 1) entry, `c` for a scalar (gradcli.symbolic.calculus's names)."""
    if shape == ():
        return name
    i, j = np.unravel_index(flat, shape)
    return f"{name}[{i}]" if shape[1] == 1 else f"{name}[{i},{j}]"


def _number_at(derivative, at: dict, syms: list, point: list) -> float:
    """The derivative's value at the point: SymPy substitutes the numbers (xreplace evaluates numerically);
    what stays unevaluated goes through compile_numeric (lambdify)."""
    from gradcli.symbolic import compile as SN

    try:
        return float(derivative.xreplace(at))
    except (TypeError, ValueError):
        return float(SN.compile_numeric([derivative], syms)(*point)[0])


def _symbolic_values(spec, chosen: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Build L in SymPy with the chosen entries as symbols, differentiate, evaluate at the point."""
    import sympy

    from gradcli.symbolic import calculus as S


    from gradcli.symbolic import convert as SC
    syms, point, matrices = [], [], {}
    for name, idx in chosen.items():
        value = np.asarray(_value(spec, name), dtype=np.float64)
        entries = [sympy.Float(float(v)) for v in value.reshape(-1)]
        for k in idx:
            s = SC.symbol(entry_symbol_name(name, value.shape, int(k)))
            entries[int(k)] = s
            syms.append(s)
            point.append(float(value.reshape(-1)[int(k)]))
        if value.ndim == 0:
            matrices[name] = entries[0]
        else:
            rows, cols = value.shape
            matrices[name] = sympy.ImmutableMatrix(rows, cols, entries)
    total = sympy.Integer(0)
    for env_values in example_envs(spec):
        env: dict[str, Any] = {k: v for k, v in env_values.items() if k not in matrices}
        env.update(matrices)
        for d in spec.forward:
            env[d.name] = SC.to_sympy(d.node, env)
        loss = SC.as_scalar(SC.to_sympy(spec.loss.node, env))
        if isinstance(loss, sympy.MatrixBase):
            raise _loss_shape_error(spec, tuple(loss.shape))
        total = total + loss
    at = {s: sympy.Float(v) for s, v in zip(syms, point)}
    weight = reduce_weight(spec)  # applied to the numbers: a Rational factor would be distributed over the sum
    numbers = [weight * _number_at(S.partial(total, s), at, syms, point) for s in syms]
    out, start = {}, 0
    for name, idx in chosen.items():
        out[name] = np.asarray(numbers[start:start + idx.size], dtype=np.float64)
        start += idx.size
    return out


# ============================================================================================ numeric


@dataclass
class OneHot:
    """C copies of an array that differ from `base` in one entry each: copy c has base.flat[idx[c]] = new[c]."""

    base: np.ndarray  # the point (unbatched)
    idx: np.ndarray  # (C,) flat indices
    new: np.ndarray  # (C,) the entries' perturbed values
    products: dict | None = None  # memo of base @ B and A @ base for unperturbed B, A (the same every call)

    def product(self, other: np.ndarray, left: bool) -> np.ndarray:
        """base @ other (left) or other @ base, remembered across calls for the same other."""
        key = (id(other), left)
        if self.products is not None and key in self.products and self.products[key][0] is other:
            return self.products[key][1]
        base = self.base.reshape((1, 1) + self.base.shape)
        out = _dense_matmul(base, other) if left else _dense_matmul(other, base)
        if self.products is not None:
            self.products[key] = (other, out)
        return out

    @property
    def copies(self) -> int:
        return int(self.idx.size)

    def old(self) -> np.ndarray:
        return self.base.reshape(-1)[self.idx]

    def dense(self) -> np.ndarray:
        """The copies as an array (C, 1, *shape) (the example axis of size 1)."""
        c = self.copies
        out = np.broadcast_to(self.base.reshape(-1), (c, self.base.size)).copy()
        out[np.arange(c), self.idx] = self.new
        return out.reshape((c, 1) + self.base.shape)


@dataclass
class SliceDelta:
    """C copies of a value (1, e, m, p) that differ from `base` in one row (axis -2) or column (axis -1) each.

    Copy c has row pos[c] (or column pos[c]) replaced by new[c] (shape (e, p), or (e, m) for a column). A
    product W @ A with one entry of W perturbed changes one row of the result: element-wise functions
    and products with unperturbed values keep that form, so a copy costs a row, not the whole value.
    """

    base: np.ndarray  # (1, e, m, p)
    axis: int  # -2 (rows) or -1 (columns)
    pos: np.ndarray  # (C,)
    new: np.ndarray  # (C, e, p) for rows, (C, e, m) for columns

    @property
    def copies(self) -> int:
        return int(self.pos.size)

    def old(self) -> np.ndarray:
        """The replaced slices of the base, broadcast like `new`: (C, e, len)."""
        b = self.base[0]
        sliced = b[:, self.pos, :] if self.axis == -2 else b[:, :, self.pos]  # (e, C, p) or (e, m, C)
        return np.moveaxis(sliced, 1 if self.axis == -2 else 2, 0)

    def dense(self) -> np.ndarray:
        c = self.copies
        e = max(self.base.shape[1], self.new.shape[1])
        out = np.broadcast_to(self.base, (c, e) + self.base.shape[2:]).copy()
        if self.axis == -2:
            out[np.arange(c), :, self.pos, :] = self.new
        else:
            out[np.arange(c), :, :, self.pos] = self.new
        return out

    def with_values(self, base: np.ndarray, new: np.ndarray) -> "SliceDelta":
        return SliceDelta(base, self.axis, self.pos, new)

    def slice_of(self, other: np.ndarray) -> np.ndarray:
        """The same slices of a shared (1, e', m, p) or scalar-like (1, e', 1, 1) value: (C, e', len)."""
        if other.shape[2:] == (1, 1):
            return other[0, :, 0, :][None] if self.axis == -2 else other[0, :, :, 0][None]
        return SliceDelta(other, self.axis, self.pos, self.new).old()


class NetForward:
    """The loss L as a batched NumPy function of one wrt name: the numeric column's f (no engine, no SymPy).

    Values carry two leading axes, (copies, examples), each of size 1 when the value does not vary along
    it; the per-example shape follows SPEC §4 (`gradcli.forward`'s NumPy forms do the tensor functions).
    `dense(X)` takes X of shape (B, *shape) and returns the B losses; `chunk(start, stop)` gives the
    function of entries start..stop-1 (flat) that `finite_diff.gradient` differentiates, exploiting that
    its copies differ from the point in one entry (OneHot); anything else is evaluated densely.
    Everything that does not depend on the wrt name is computed once and cached.
    """

    def __init__(self, spec, wrt: str):
        self.spec = spec
        self.wrt = wrt
        self.point = np.asarray(_value(spec, wrt), dtype=np.float64)
        self.weight = reduce_weight(spec)
        env: dict[str, Any] = {}
        for name, v in {**spec.inputs, **spec.params}.items():
            a = np.asarray(v, dtype=np.float64)
            env[name] = a.reshape((1, 1) + a.shape)
        if spec.data is not None:
            for name, rows in (("x", spec.data.x), ("y", spec.data.y)):
                env[name] = np.stack([np.asarray(r, dtype=np.float64) for r in rows])[None]
        self.env = env
        self.definitions = [(d.name, d.node, d.where) for d in spec.forward] + \
            [("loss", spec.loss.node, spec.loss.where)]
        names = {wrt}
        for name, node, _ in self.definitions:
            if any(isinstance(n, E.Name) and n.id in names for n in E.walk(node)):
                names.add(name)
        self.dependent_names = names
        self._dependent: dict[int, bool] = {}
        for _, node, _ in self.definitions:
            self._mark(node)
        self._cache: dict[int, Any] = {}
        self._defs_cache: dict[str, Any] = {}
        self._products: dict = {}
        self.calls = 0

    # -- public
    def dense(self, X: np.ndarray) -> np.ndarray:
        """L at each of the B points X[b] (shape (B, *shape)) for the wrt name: shape (B,)."""
        X = np.asarray(X, dtype=np.float64)
        return self._losses(X.reshape((X.shape[0], 1) + self.point.shape), X.shape[0])

    def chunk(self, start: int, stop: int) -> Callable[[np.ndarray], np.ndarray]:
        """g(T), T of shape (B, stop-start): L with entries start..stop-1 of the wrt name set to T's rows."""
        flat = self.point.reshape(-1)
        sub = flat[start:stop]

        def g(T: np.ndarray) -> np.ndarray:
            T = np.asarray(T, dtype=np.float64).reshape(-1, sub.size)
            changed = T != sub
            counts = changed.sum(axis=1)
            b = T.shape[0]
            if np.all(counts <= 1):
                j = np.argmax(changed, axis=1)
                return self._losses(OneHot(self.point, start + j, T[np.arange(b), j], self._products), b)
            X = np.broadcast_to(flat, (b, flat.size)).copy()
            X[:, start:stop] = T
            return self.dense(X.reshape((b,) + self.point.shape))

        return g

    def max_live_entries(self) -> int:
        """Per-example entries of the biggest value that changes with the wrt name (sizes the chunks)."""
        return self._max_entries

    # -- evaluation
    def _losses(self, value, copies: int) -> np.ndarray:
        self.calls += 1
        env = dict(self.env)
        env[self.wrt] = value
        with np.errstate(all="ignore"), E.deep_recursion():
            for name, node, where in self.definitions:
                if name not in self.dependent_names:
                    if name not in self._defs_cache:
                        self._defs_cache[name] = self._eval(node, env, where)
                    env[name] = self._defs_cache[name]
                else:
                    env[name] = self._eval(node, env, where)
        loss = env["loss"]
        if isinstance(loss, (OneHot, SliceDelta)):
            loss = loss.dense()
        shape = loss.shape[2:]
        if not (shape == () or shape == (1, 1)):
            raise _loss_shape_error(self.spec, shape)
        per_example = loss.reshape(loss.shape[:2])
        total = self.weight * per_example.sum(axis=1)
        return np.broadcast_to(total, (copies,)).copy()

    def _mark(self, node) -> bool:
        """Whether the subtree depends on the wrt name (memoised by node identity)."""
        key = id(node)
        if key not in self._dependent:
            if isinstance(node, E.Name):
                self._dependent[key] = node.id in self.dependent_names
            else:
                kids = [self._mark(k) for k in E.children(node)]
                self._dependent[key] = any(kids)
        return self._dependent[key]

    def _eval(self, node, env: dict, where: str):
        if not self._dependent.get(id(node), True):
            key = id(node)
            if key not in self._cache:
                self._cache[key] = self._apply(node, env, where)
            return self._cache[key]
        return self._apply(node, env, where)

    def _apply(self, node, env: dict, where: str):
        try:
            if isinstance(node, E.Num):
                return np.full((1, 1), node.value)
            if isinstance(node, E.Const):
                return np.full((1, 1), math.pi if node.name == "pi" else math.e)
            if isinstance(node, E.Name):
                return env[node.id]
            args = [self._eval(k, env, where) for k in E.children(node)]
            if isinstance(node, E.Unary):
                return _neg(args[0]) if node.op == "-" else args[0]
            if isinstance(node, E.Transpose):
                return _transpose(args[0])
            if isinstance(node, E.Binary):
                return _matmul(*args) if node.op == "@" else _binary(node.op, *args)
            if isinstance(node, E.Call):
                return _call(node.func, args)
        except ShapeError as err:
            raise _relocated(type(err)(err.message, where=f"column {node.col + 1}"), where) from None
        raise GradcliError(f"cannot evaluate a {type(node).__name__} node", where=where)

    @property
    def _max_entries(self) -> int:
        if not hasattr(self, "_max_cache"):
            env = dict(self.env)
            env[self.wrt] = self.point.reshape((1, 1) + self.point.shape)
            biggest = 1
            with np.errstate(all="ignore"), E.deep_recursion():
                for name, node, where in self.definitions:
                    for n in E.walk(node):
                        if self._dependent.get(id(n)) and not isinstance(n, E.Name):
                            v = self._apply(n, env, where)
                            if not isinstance(v, OneHot):
                                biggest = max(biggest, int(np.prod(v.shape[2:], dtype=np.int64)) * v.shape[1])
                    env[name] = self._apply(node, env, where)
            if not _wrt_only_in_products(self.definitions, self.wrt):
                biggest = max(biggest, self.point.size)
            self._max_cache = biggest
        return self._max_cache


def _wrt_only_in_products(definitions, wrt: str) -> bool:
    """Whether every use of `wrt` is an operand of @ (maybe through .T), where a OneHot stays cheap."""
    for _, node, _ in definitions:
        for n in E.walk(node):
            for k in E.children(n):
                if isinstance(k, E.Name) and k.id == wrt:
                    if isinstance(n, E.Transpose) or (isinstance(n, E.Binary) and n.op == "@"):
                        continue
                    return False
    return True


def _ps(a: np.ndarray) -> tuple[int, ...]:
    """The per-example shape (after the copies and examples axes)."""
    return a.shape[2:]


_ELEMENTWISE = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}


def _shared(a) -> bool:
    return isinstance(a, np.ndarray) and a.shape[:2] == (1, 1)


def _binary(op: str, a, b):
    fn = _ELEMENTWISE[op]
    if isinstance(a, SliceDelta) or isinstance(b, SliceDelta):
        hot, other, hot_left = (a, b, True) if isinstance(a, SliceDelta) else (b, a, False)
        if isinstance(other, np.ndarray) and other.shape[0] == 1 and \
                (_ps(other) == _ps(hot.base) or _ps(other) == (1, 1)):
            part = hot.slice_of(other)
            if hot_left:
                return hot.with_values(fn(hot.base, other), fn(hot.new, part))
            return hot.with_values(fn(other, hot.base), fn(part, hot.new))
        a = a.dense() if isinstance(a, (SliceDelta, OneHot)) else a
        b = b.dense() if isinstance(b, (SliceDelta, OneHot)) else b
    if isinstance(a, OneHot) and isinstance(b, OneHot):
        if a.idx is b.idx and a.base.shape == b.base.shape:
            return OneHot(fn(a.base, b.base), a.idx, fn(a.new, b.new))
        return _binary(op, a.dense(), b.dense())
    if isinstance(a, OneHot) or isinstance(b, OneHot):
        hot, other, hot_left = (a, b, True) if isinstance(a, OneHot) else (b, a, False)
        so = _ps(other)
        if _shared(other) and (so == hot.base.shape or (scalar_like(so) and len(hot.base.shape) >= len(so))):
            o = other[0, 0]
            if so == hot.base.shape:
                at = o.reshape(-1)[hot.idx]
            else:
                o = o.reshape(())
                at = o
            if hot_left:
                return OneHot(fn(hot.base, o), hot.idx, fn(hot.new, at))
            return OneHot(fn(o, hot.base), hot.idx, fn(at, hot.new))
        a = a.dense() if isinstance(a, OneHot) else a
        b = b.dense() if isinstance(b, OneHot) else b
    a, b = broadcast_pair(a, b, f"'{op}'", batch_axes=2)
    return fn(a, b)


def _neg(a):
    if isinstance(a, SliceDelta):
        return a.with_values(-a.base, -a.new)
    if isinstance(a, OneHot):
        return OneHot(-a.base, a.idx, -a.new)
    return -a


def _transpose(a):
    if isinstance(a, SliceDelta):
        return SliceDelta(np.swapaxes(a.base, -1, -2), -1 if a.axis == -2 else -2, a.pos, a.new)
    if isinstance(a, OneHot):
        if a.base.ndim == 0:
            return a
        m, n = a.base.shape
        i, j = np.divmod(a.idx, n)
        return OneHot(a.base.T.copy(), j * m + i, a.new)
    s = _ps(a)
    if len(s) == 0:
        return a
    if len(s) != 2:
        raise ShapeError(f"transpose needs a scalar or a 2-D tensor; got {shape_text(s)}")
    return np.swapaxes(a, -1, -2)


def _check_matmul(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    if len(sa) != 2 or len(sb) != 2:
        raise ShapeError(f"'@' needs two 2-D operands (use * to scale by a scalar); got {shape_text(sa)} @ "
                         f"{shape_text(sb)}")
    if sa[1] != sb[0]:
        raise ShapeError(f"'@' needs the inner sizes to match; got {shape_text(sa)} @ {shape_text(sb)}")


def _matmul(a, b):
    """A @ B per copy and example. A OneHot operand costs one shared product plus one scaled row/column per copy."""
    if isinstance(a, OneHot) and a.base.ndim == 2 and isinstance(b, np.ndarray) and b.shape[0] == 1:
        _check_matmul(a.base.shape, _ps(b))
        shared = a.product(b, left=True)
        i, j = np.divmod(a.idx, a.base.shape[1])
        delta = a.new - a.old()
        rows = np.moveaxis(b[0][:, j, :], 1, 0)  # (C, e, p): row j of B for each copy
        row_i = np.moveaxis(shared[0][:, i, :], 1, 0)  # (C, e, p): row i of the product
        return SliceDelta(shared, -2, i, row_i + delta[:, None, None] * rows)
    if isinstance(b, OneHot) and b.base.ndim == 2 and isinstance(a, np.ndarray) and a.shape[0] == 1:
        _check_matmul(_ps(a), b.base.shape)
        shared = b.product(a, left=False)
        i, j = np.divmod(b.idx, b.base.shape[1])
        delta = b.new - b.old()
        cols = np.moveaxis(a[0][:, :, i], 2, 0)  # (C, e, m): column i of A for each copy
        col_j = np.moveaxis(shared[0][:, :, j], 2, 0)  # (C, e, m): column j of the product
        return SliceDelta(shared, -1, j, col_j + delta[:, None, None] * cols)
    if isinstance(a, np.ndarray) and a.shape[0] == 1 and isinstance(b, SliceDelta) and b.axis == -2:
        _check_matmul(_ps(a), _ps(b.base))
        shared = _dense_matmul(a, b.base)  # (1, e, m2, p)
        col = np.moveaxis(a[0][:, :, b.pos], 2, 0)  # (C, eA, m2): the column of A that meets the changed row
        delta = b.new - b.old()  # (C, e, p)
        return shared + col[:, :, :, None] * delta[:, :, None, :]
    if isinstance(a, SliceDelta) and a.axis == -2 and isinstance(b, np.ndarray) and b.shape[0] == 1:
        _check_matmul(_ps(a.base), _ps(b))
        shared = _dense_matmul(a.base, b)
        new = np.einsum("cep,epq->ceq", a.new, np.broadcast_to(b[0], (a.new.shape[1],) + b.shape[2:])) \
            if b.shape[1] == a.new.shape[1] or b.shape[1] == 1 else None
        if new is not None:
            return SliceDelta(shared, -2, a.pos, new)
    a = a.dense() if isinstance(a, (OneHot, SliceDelta)) else a
    b = b.dense() if isinstance(b, (OneHot, SliceDelta)) else b
    _check_matmul(_ps(a), _ps(b))
    return _dense_matmul(a, b)


def _dense_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched A @ B; a shared operand makes it one big matrix product (BLAS) instead of many small ones."""
    if a.shape[:2] == (1, 1):
        out = np.tensordot(b, a[0, 0], axes=([2], [1]))  # (c, e, p, m)
        return np.swapaxes(out, -1, -2)
    if b.shape[:2] == (1, 1):
        m, n = a.shape[2:]
        return (a.reshape(-1, n) @ b[0, 0]).reshape(a.shape[:2] + (m, b.shape[3]))
    return np.matmul(a, b)


def _merged(fn: Callable, args: list[np.ndarray]) -> np.ndarray:
    """A `gradcli.forward` NumPy form (one batch axis) applied over our two leading axes."""
    lead = np.broadcast_shapes(*(a.shape[:2] for a in args))
    flat = [np.broadcast_to(a, lead + a.shape[2:]).reshape((lead[0] * lead[1],) + a.shape[2:]) for a in args]
    out = fn(*flat)
    return out.reshape(lead + out.shape[1:])


def _call(func: str, args: list):
    from gradcli.numerics import forward
    from gradcli.language.functions import BY_NAME, ELEMENTWISE

    if BY_NAME[func].kind == ELEMENTWISE and len(args) == 1:
        fn = forward.NUMPY[func]
        a = args[0]
        if isinstance(a, OneHot):
            return OneHot(fn(a.base), a.idx, fn(a.new))
        if isinstance(a, SliceDelta):
            return a.with_values(fn(a.base), fn(a.new))
        return fn(a)
    if func == "log":
        return _binary("/", _call("ln", [args[0]]), _call("ln", [args[1]]))
    if func in ("sum", "mean") and isinstance(args[0], OneHot):
        a = args[0]
        total = a.base.sum() + (a.new - a.old())
        if func == "mean":
            total = total / a.base.size
        return total.reshape(-1, 1)
    if func in ("sum", "mean") and isinstance(args[0], SliceDelta):
        a = args[0]
        total = a.base.reshape(a.base.shape[:2] + (-1,)).sum(axis=2) + (a.new - a.old()).sum(axis=2)  # (C, e)
        if func == "mean":
            total = total / (a.base.shape[2] * a.base.shape[3])
        return total
    dense = [a.dense() if isinstance(a, (OneHot, SliceDelta)) else a for a in args]
    return _merged(forward.NUMPY[func], dense)


def numeric_column(spec, *, progress: ProgressCallback | None = None, forwards: Mapping[str, NetForward] | None = None,
                   chunk_bytes: int = CHUNK_BYTES) -> NumericColumn:
    """Central differences with one Richardson step (finite_diff.gradient) over every entry of every wrt name."""
    from gradcli.numerics import finite_diff

    values, errors, evaluations = {}, {}, 0
    for name in spec.wrt:
        net = forwards[name] if forwards is not None else NetForward(spec, name)
        n = net.point.size
        per_entry = 4 * 8 * max(1, net.max_live_entries())
        k = int(max(1, min(MAX_CHUNK_ENTRIES, chunk_bytes // per_entry, n)))
        value, error = np.empty(n), np.empty(n)
        chunks = math.ceil(n / k)
        report(progress, 0, chunks, f"numeric column: {name}")
        for start in range(0, n, k):
            stop = min(n, start + k)
            res = finite_diff.gradient(net.chunk(start, stop), net.point.reshape(-1)[start:stop])
            value[start:stop], error[start:stop] = res.value, res.error
            evaluations += res.evaluations
            report(progress, start // k + 1, chunks, f"numeric column: {name}")
        values[name] = value.reshape(net.point.shape)
        errors[name] = error.reshape(net.point.shape)
    return NumericColumn(values, errors, evaluations)


# ============================================================================================ verdicts


def _one_sided(net: NetForward, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) derivatives at the given flat entries (nan elsewhere), by finite_diff.one_sided."""
    from gradcli.numerics import finite_diff

    left = np.full(net.point.size, np.nan)
    right = np.full(net.point.size, np.nan)
    for k in entries[:ONE_SIDED_LIMIT]:
        left[k], right[k] = finite_diff.one_sided(net.dense, net.point, int(k))
    return left.reshape(net.point.shape), right.reshape(net.point.shape)


def _full_check(spec, name: str, net: NetForward, backprop: BackpropColumn, symbolic: SymbolicColumn,
                numeric: NumericColumn) -> ParamCheck:
    from gradcli.numerics.compare import numeric_agrees

    s, b = symbolic.values[name], backprop.grads[name]
    n, e = numeric.values[name], numeric.errors[name]
    one_sided = None
    if backprop.kink:
        off = ~numeric_agrees(b, n, e)
        with np.errstate(invalid="ignore"):
            off |= np.isfinite(s) & ~numeric_agrees(s, n, e)
        entries = np.flatnonzero(off)
        if entries.size:
            one_sided = _one_sided(net, entries)
    return _judged(name, s, b, n, e, one_sided, symbolic.covered[name], np.ones(b.shape, bool), symbolic.coverage[name],
                   "central", int(n.size))


def _fast_checks(spec, net: Mapping[str, NetForward], backprop: BackpropColumn, symbolic: SymbolicColumn,
                 seed: int) -> dict[str, ParamCheck]:
    """--fast: random directions per parameter; on failure, bisection finds the wrong entries."""
    from gradcli.numerics import finite_diff

    out = {}
    for name in spec.wrt:
        f, x = net[name].dense, net[name].point
        s, b = symbolic.values[name], backprop.grads[name]
        n, e = np.full(x.shape, np.nan), np.zeros(x.shape)
        num_mask = np.zeros(x.shape, bool)
        directional = finite_diff.directional(f, x, b, directions=FAST_DIRECTIONS, seed=seed)
        worst_dir = float(np.nanmax(directional.rel_error)) if directional.rel_error.size else 0.0
        one_sided = None
        located = None
        if not directional.ok:
            located = finite_diff.locate_mismatch(f, x, b, seed=seed)
            for index, value in zip(located.indices, located.numeric):
                n[index] = value
                num_mask[index] = True
            if backprop.kink and located.indices:
                flat = np.array([np.ravel_multi_index(i, x.shape) if x.shape else 0 for i in located.indices])
                one_sided = _one_sided(net[name], flat)
        check = _judged(name, s, b, n, e, one_sided, symbolic.covered[name], num_mask, symbolic.coverage[name], "directional",
                        int(num_mask.sum()))
        check.directional_rel_error = worst_dir
        if not directional.ok and located is not None and not located.indices and check.verdict == "agree":
            check.verdict = "disagree"
            check.reason = (f"the directional check failed (worst relative error {worst_dir:.1e}) but bisection "
                            "found no single wrong entry")
        if directional.ok:
            check.max_rel_error = max(check.max_rel_error, worst_dir)
        out[name] = check
    return out


def _judged(name: str, s, b, n, e, one_sided, sym_mask, num_mask, coverage: SymbolicCoverage, method: str,
            numeric_entries: int) -> ParamCheck:
    """Judge every entry with the columns it has (compare.judge_array per group) and report the worst."""
    from gradcli.numerics.compare import judge_array

    shape = b.shape
    s_f, b_f, n_f, e_f = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (s, b, n, e))
    sm, nm = np.asarray(sym_mask).reshape(-1), np.asarray(num_mask).reshape(-1)
    left = right = None
    if one_sided is not None:
        left, right = (np.asarray(v).reshape(-1) for v in one_sided)
    groups = []
    for has_s in (True, False):
        for has_n in (True, False):
            sel = np.flatnonzero((sm == has_s) & (nm == has_n))
            if sel.size == 0:
                continue
            os_ = (left[sel], right[sel]) if left is not None and has_n else None
            v = judge_array(s_f[sel] if has_s else None, b_f[sel], n_f[sel] if has_n else None,
                            e_f[sel] if has_n else 0.0, one_sided=os_)
            groups.append((sel, v))
    rank = {"disagree": 2, "kink": 1, "agree": 0}
    sel, v = max(groups, key=lambda g: (rank[g[1].verdict], g[1].rel_error if g[1].rel_error == g[1].rel_error
                                                                 else math.inf))
    verdict = v.verdict
    worst_index = None
    worst = (None, None, None)
    if v.worst_index is not None:
        flat = int(sel[v.worst_index[0]])
        worst_index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
        worst = tuple(None if not (m[flat]) or not np.isfinite(col[flat]) else float(col[flat])
                      for col, m in ((s_f, sm), (b_f, np.ones_like(sm)), (n_f, nm)))
    disagreeing = sum(g[1].disagreeing for g in groups)
    kinks = sum(g[1].kinks for g in groups)
    max_rel = max((g[1].rel_error for g in groups), key=lambda r: math.inf if r != r else r)
    reason = _strip_entry(v.reason)
    if verdict != "agree" and worst_index is not None and shape:
        reason = f"entry {_index_text(worst_index, shape)}: {reason}"
    if disagreeing:
        reason += f" ({disagreeing} of {b_f.size} entries disagree)"
    return ParamCheck(name, shape, np.where(sm.reshape(shape), s, np.nan), np.asarray(b),
                      np.where(nm.reshape(shape), n, np.nan), np.where(nm.reshape(shape), e, np.nan),
                      float(max_rel), verdict, v.odd_one_out, reason, worst_index, worst, coverage, method,
                      numeric_entries, disagreeing, kinks)


def _strip_entry(reason: str) -> str:
    """judge_array's reason without its 'entry [i]: ' prefix and '(k of n entries disagree)' tally."""
    import re

    reason = re.sub(r"^entry \[[^\]]*\]: ", "", reason)
    return re.sub(r" \(\d+ of \d+ entries disagree\)$", "", reason)


def _index_text(index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    return str(list(reported_index(index, shape)))


def reported_index(index: tuple[int, ...] | None, shape: tuple[int, ...]) -> list[int] | None:
    """An entry's index as reported (SPEC §4): [i] for a vector (n, 1), [i, j] for a matrix, [] for a scalar."""
    if index is None:
        return None
    if len(shape) == 2 and shape[1] == 1:
        return [int(index[0])]
    return [int(i) for i in index]


def reported_shape(shape: tuple[int, ...]) -> list[int]:
    """A parameter's shape as reported: [n] for a vector (n, 1), [m, n] for a matrix, [] for a scalar."""
    if len(shape) == 2 and shape[1] == 1:
        return [int(shape[0])]
    return [int(s) for s in shape]
