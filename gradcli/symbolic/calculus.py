"""Calculus on SymPy values: partial derivatives (simplified within a time bound, never made longer), the
multivariate chain rule through named intermediates (`--where`), and Jacobians of shape
(output shape) × (input shape). Every SymPy step that can blow up runs under `gradcli.timebound.bounded`.
"""


from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import sympy

from gradcli.errors import BindingError, GradcliError, ShapeError, TimeBoundError
from gradcli.language import definitions as D
from gradcli.language.expr import Name, Node, walk
from gradcli.timebound import bounded

if TYPE_CHECKING:
    pass
from gradcli.symbolic.bounds import DIFF_SECONDS, Value, deep_step
from gradcli.symbolic.compile import point_value
from gradcli.symbolic.convert import (
    as_scalar,
    check_size,
    entries_of,
    shape_of,
    symbol,
    to_sympy,
)
from gradcli.symbolic.printing import to_text

# ============================================================================ derivatives


@deep_step
def partial(expr: Value, sym: sympy.Symbol, *, seconds: float | None = DIFF_SECONDS) -> Value:
    """∂expr/∂sym, unsimplified (entry by entry for a matrix); TimeBoundError after `seconds`."""
    return _diff(as_scalar(expr), sym, seconds)


def _diff(expr: Value, sym: sympy.Symbol, seconds: float | None = DIFF_SECONDS) -> Value:
    def too_slow():
        raise TimeBoundError(f"differentiating by {sym} did not finish within {seconds:g} s "
                             "(the formula is too large for the symbolic column)")

    return bounded(seconds, sympy.diff, expr, sym, fallback=too_slow)


@deep_step
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


@deep_step
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

    def _input(self, var: str) -> str:
        if var not in self._terms:
            raise BindingError(f"{var!r} is not an input (the inputs are: {', '.join(self.inputs)})")
        return var


@deep_step
def chain_rule(output: Node, where: Mapping[str, Node], *, simplify_seconds: float = 2.0,
               where_label: str = "--where") -> ChainRule:
    """The chain-rule system of `output` through the intermediates `where` (given in any order).

    A definition of a function or constant name, or a cycle (named like 'a -> b -> a'), is a
    DefinitionError; a definition that is not a scalar is a ShapeError. Definitions given twice are
    caught where they are read (`gradcli.language.definitions.parse_definitions` for `--where` text).
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


# ============================================================================ Jacobians


def jacobian_axes(v: Value) -> tuple[int, ...]:
    """The axes a value contributes to a Jacobian's shape (the problem-file format): a scalar or (1, 1) counts as (1),
    a column (n, 1) as (n), a matrix (m, n) as (m, n)."""
    s = shape_of(as_scalar(v))
    if s == ():
        return (1,)
    return (s[0],) if s[1] == 1 else s


@deep_step
def jacobian_entries(out: Value, inp: Value, *, seconds: float | None = 4 * DIFF_SECONDS
                     ) -> sympy.ImmutableDenseNDimArray:
    """J[o..., i...] = ∂out[o...]/∂inp[i...], of shape jacobian_axes(out) + jacobian_axes(inp).

    E.g. ∂‖w‖²/∂w is 1×d, ∂(Xw)/∂w is n×d, ∂(XWᵀ)/∂W is (n, k, k, d) with entries X[i,l]·δ(j,k).
    """
    out_entries = entries_of(as_scalar(out))
    in_entries = entries_of(as_scalar(inp))
    if not all(isinstance(s, sympy.Symbol) for s in in_entries):
        raise GradcliError("a Jacobian is taken with respect to a variable (its entries must be symbols)")
    shape = jacobian_axes(out) + jacobian_axes(inp)
    check_size(len(out_entries) * len(in_entries), f"the Jacobian of shape {shape}")
    def entries():
        return [sympy.diff(o, s) for o in out_entries for s in in_entries]

    def too_slow():
        raise TimeBoundError(f"the Jacobian of shape {shape} did not finish within {seconds:g} s")

    return sympy.ImmutableDenseNDimArray(bounded(seconds, entries, fallback=too_slow), shape)
