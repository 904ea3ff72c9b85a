"""`gradcli derive`: the partials of a scalar expression, three ways, with the graph and the chain rule.

Pipeline (DESIGN.md): text -> tree -> {symbolic (SymPy), backprop (engine), numeric (central differences over
the NumPy forward)} -> compare -> DeriveResult. The three columns never call each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from gradcli.language import definitions as D
from gradcli import prefork
from gradcli.io.bindings import Binding, bind
from gradcli.errors import BindingError, GradcliError, TimeBoundError
from gradcli.language.expr import Node, parse, to_text


@dataclass
class Partial:
    """∂f/∂var at the point, three ways, and the verdict."""

    var: str
    formula: str  # in gradcli's own language
    latex: str
    symbolic: float | None
    backprop: float
    numeric: float
    numeric_error: float  # the finite-difference error estimate
    rel_error: float
    verdict: str  # agree | disagree | kink
    odd_one_out: str | None
    reason: str
    one_sided: tuple[float, float] | None = None  # (left, right) derivatives at a kink


@dataclass
class ChainFactor:
    """One term ∂v/∂a · ∂a/∂x of the multivariate chain rule (via=None: v uses x directly)."""

    via: str | None
    outer_formula: str  # ∂v/∂a, intermediates kept as names
    outer_value: float
    inner_formula: str  # ∂a/∂x
    inner_value: float
    outer_latex: str = ""  # the two formulas by SymPy's LaTeX printer (gradcli.render.latex_printer)
    inner_latex: str = ""

    @property
    def product(self) -> float:
        return self.outer_value * self.inner_value


@dataclass
class ChainRule:
    """∂v/∂x = Σ ∂v/∂a·∂a/∂x over the intermediates a that depend on x, and the total."""

    var: str
    factors: list[ChainFactor]
    chain_formula: str  # Σ outer·inner with the intermediates kept as names (the sheets' form)
    total_formula: str  # over the inputs only
    total_value: float
    chain_latex: str = ""
    total_latex: str = ""


@dataclass
class DeriveResult:
    expression: str
    at: dict[str, float]
    binding_note: str | None
    where: dict[str, str]
    value: float
    partials: dict[str, Partial]
    graph: "object"  # gradcli.numerics.graph.Graph
    chain: list[ChainRule] = field(default_factory=list)
    symbolic_note: str | None = None  # e.g. simplification hit its time bound

    @property
    def verdict(self) -> str:
        verdicts = {p.verdict for p in self.partials.values()}
        return "disagree" if "disagree" in verdicts else ("kink" if "kink" in verdicts else "agree")

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "disagree" else 0


def derive(expression: str, at: str | Mapping[str, float] | None = None, where: list[str] | Mapping[str, str] = (),
           *, simplify_seconds: float = 3.0) -> DeriveResult:
    """Derive every partial of `expression` at `at`, through the intermediates of `where`.

    Simplifying the formulas may take `simplify_seconds` in all and SIMPLIFY_EACH seconds per formula; a
    formula not simplified by then is shown as differentiated (the columns' numbers do not change).
    """
    output = parse(expression)
    where_items = [f"{k}={v}" for k, v in where.items()] if isinstance(where, Mapping) else list(where)
    parsed = D.parse_definitions(where_items)
    defs = {name: node for name, (node, _) in parsed.items()}
    order = D.order(defs)
    names = D.inputs(output, defs)
    if not names:
        raise BindingError("the expression has no variables to differentiate by", where="expression")
    binding = _bind(at, names)
    point = binding.values

    # The symbolic column goes to the child process the CLI forked at start-up, if there is one (it has
    # been importing SymPy meanwhile); otherwise it runs here, after the other two, at job.result().
    job = prefork.submit(_symbolic, output, defs, names, point, simplify_seconds)
    backprop, value, graph = _backprop(output, defs, order, point, expression)
    numeric, numeric_err, one_sided = _numeric(output, defs, order, names, point, graph.has_kink)
    try:
        symbolic, chain, sym_note = job.result()
    except TimeBoundError as err:  # SymPy could not differentiate in time: the other two columns still judge
        symbolic = {n: ("(not available)", "", None) for n in names}
        chain, sym_note = [], f"symbolic column not available: {err.message}"

    from gradcli.numerics.compare import judge

    partials: dict[str, Partial] = {}
    for name in names:
        formula, latex, sym_value = symbolic[name]
        v = judge(sym_value, backprop[name], numeric[name], numeric_err[name], one_sided=one_sided.get(name))
        partials[name] = Partial(name, formula, latex, sym_value, backprop[name], numeric[name],
                                 numeric_err[name], v.rel_error, v.verdict, v.odd_one_out, v.reason,
                                 one_sided.get(name) if v.verdict == "kink" else None)
    return DeriveResult(expression, point, binding.note(), {k: t for k, (_, t) in parsed.items()}, value, partials,
                        graph, chain, sym_note)


def _bind(at: str | Mapping[str, float] | None, names: list[str]) -> Binding:
    if isinstance(at, Mapping):
        text = ",".join(f"{k}={v!r}" for k, v in at.items())
        return bind(text, names)
    return bind(at, names)


# ----------------------------------------------------------------------------------------------- backprop


def _backprop(output: Node, defs: Mapping[str, Node], order: list[str], point: Mapping[str, float], text: str):
    """Engine column: evaluate the definitions then the output as one graph, backpropagate once."""
    from gradcli.numerics import engine
    from gradcli.numerics.graph import build_graph

    leaves = {name: engine.leaf(value, name) for name, value in point.items()}
    env: dict[str, object] = dict(leaves)
    defined = {}
    for name in order:
        try:
            tensor = engine.evaluate(defs[name], env, text=to_text(defs[name]))
        except GradcliError as err:
            err.where = f"--where {name}, {err.where}" if err.where else f"--where {name}"
            raise
        defined[name] = tensor
        env[name] = tensor
    out = engine.evaluate(output, env, text=text)
    if out.data.size != 1:
        raise GradcliError(f"the expression is not a scalar (shape {tuple(out.data.shape)}); "
                           "use `gradcli jacobian` for tensors")
    engine.backward(out)
    grads = {name: _scalar(leaf.grad) for name, leaf in leaves.items()}
    graph = build_graph(out, leaves, defined)
    return grads, _scalar(out.data), graph


def _scalar(a) -> float:
    import numpy as np

    return float(np.asarray(a, dtype=float).reshape(-1)[0]) if a is not None else 0.0


# ----------------------------------------------------------------------------------------------- symbolic


# Seconds one formula's simplification may take: several times what the sheets' formulas need on a slow
# machine (sheet 003's ∂v/∂x: ~0.07 s), so the printed formula does not depend on the machine's load.
SIMPLIFY_EACH = 0.5


def _symbolic(output: Node, defs: Mapping[str, Node], names: list[str], point: Mapping[str, float], seconds: float):
    """SymPy column: each partial's formula (simplified within a time bound), its value via lambdify."""
    from gradcli.symbolic import calculus as S
    from gradcli.symbolic import compile as SN
    from gradcli.symbolic import convert as SC
    from gradcli.symbolic import printing as SP
    each = min(SIMPLIFY_EACH, seconds)
    syms = {n: SC.symbol(n) for n in names}
    chains: list[ChainRule] = []
    if defs:
        system = S.chain_rule(output, dict(defs), simplify_seconds=each)
        totals = {var: system.total(var) for var in names}
    else:
        expr = SC.to_sympy(output, syms)
        totals = S.partials(expr, [syms[n] for n in names], simplify_seconds=each, total_seconds=seconds)
        system = None
    ordered = [totals[n] for n in names]
    values = SN.compile_point(ordered, [syms[n] for n in names])(*[point[n] for n in names])
    out: dict[str, tuple[str, str, float | None]] = {}
    for n, formula, val in zip(names, ordered, values):
        out[n] = (SP.to_text(formula), SP.latex(formula), _finite_or_none(val))
    if system is not None:
        chains = _chain_rules(system, names, point, out, each)
    return out, chains, None


def _chain_rules(system, names: list[str], point: Mapping[str, float], totals, seconds: float) -> list[ChainRule]:
    """The chain-rule form of each total derivative with every factor's formula and value."""
    from gradcli.symbolic import calculus as S
    from gradcli.symbolic import compile as SN
    from gradcli.symbolic import printing as SP

    rules: list[ChainRule] = []
    env = system.values(point)
    for var in names:
        factors = [ChainFactor(t.via, SP.to_text(t.outer), SN.point_value(t.outer, env), SP.to_text(t.inner),
                               SN.point_value(t.inner, env), SP.latex(t.outer), SP.latex(t.inner))
                   for t in system.terms(var)]
        chain_sum = S.simplified(system.chain_sum(var), seconds=seconds)
        formula, total_latex, value = totals[var]
        rules.append(ChainRule(var, factors, SP.to_text(chain_sum), formula,
                               value if value is not None else float("nan"), SP.latex(chain_sum), total_latex))
    return rules


def _finite_or_none(v) -> float | None:
    import math

    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------------------------- numeric


def _numeric(output: Node, defs: Mapping[str, Node], order: list[str], names: list[str],
             point: Mapping[str, float], has_kink: bool):
    """Finite-difference column over the plain NumPy forward (batched), with one-sided values at kinks."""
    import numpy as np

    from gradcli.numerics import finite_diff, forward

    def f(batch):  # batch: (B, n) points -> (B,) values
        env = {n: batch[:, i] for i, n in enumerate(names)}
        for name in order:
            env[name] = forward.evaluate(defs[name], env, batch=True)
        return np.asarray(forward.evaluate(output, env, batch=True), dtype=float).reshape(batch.shape[0], -1)[:, 0]

    x = np.array([point[n] for n in names], dtype=float)
    if not names:
        return {}, {}, {}
    fd = finite_diff.gradient(f, x)
    values = {n: float(fd.value[i]) for i, n in enumerate(names)}
    errors = {n: float(fd.error[i]) for i, n in enumerate(names)}
    one_sided: dict[str, tuple[float, float]] = {}
    if has_kink:
        for i, n in enumerate(names):
            left, right = finite_diff.one_sided(f, x, i)
            one_sided[n] = (float(left), float(right))
    return values, errors, one_sided
