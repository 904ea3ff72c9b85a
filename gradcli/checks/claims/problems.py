"""Problem files (SPEC §5): every claim a sheet makes -> a verdict (`correct` | `wrong`), explained.

How each kind is decided (truth first, then the claim; the claim never decides its own truth):

* `derivative` — the true derivative is SymPy's, through `where:` (or a net's `forward:`) by substitution;
  `wrt:` an intermediate h gives the upstream gradient ∂f/∂h (h replaced by fresh symbols, everything
  downstream recomputed, everything else held fixed). Claim and truth are compared at SAMPLE_POINTS random
  points (half of them with every variable positive, so ln and sqrt are defined; points outside either
  formula's domain are skipped) and, when no point tells them apart, symbolically: SymPy simplifies
  their difference within `symbolic_seconds`. A scalar's derivative by a tensor has the tensor's shape.
* `value` — the number at `at:` (of the function, an intermediate, `of:`, or with `wrt:` of a derivative).
  A printed decimal claims the interval its digits round from (40.171 claims [40.1705, 40.1715]); a
  printed integer or a formula (`2*exp(3)`) claims that exact value (to 1e-9 relative); `tol:` sets an
  absolute tolerance instead.
* `gradient` (a net) and `update` of a net — the true gradient from the engine's backward pass, the claim
  through the NumPy forward over the net's names, entry by entry and shapes included, at the net's values
  and RANDOM_NET_POINTS random values (points on a relu/abs kink are skipped). With `data:`, formulas are
  per example: they are checked against the gradient of each example's loss.
* `update` of a function — θ − lr·∂f/∂θ by SymPy, compared like a derivative (lr's names are variables).
* `jacobian` — SymPy's Jacobian, shape (output shape) × (input shape) (`gradcli.jacobian`); `claim_shape`
  is compared with it, `claim_entry` (an index formula) at every index, a closed form `claim:` as an array.
* `behaviour` — plain gradient descent over the engine: `converges`, `diverges`, `symmetric`, `learns`,
  `fails_to_learn` as SPEC §5 defines them (see `_judge_behaviour`).

A claim that cannot be used (unknown name, unparsable formula, an index out of range, a missing shape,
a point outside the function's names) is a SpecError naming the file, the claim id and its line: exit 2,
never a silent `wrong`. A claimed formula whose shapes do not fit (a missing transpose) is a wrong claim,
explained.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from gradcli.language import definitions as D
from gradcli.symbolic import calculus as S
from gradcli.errors import GradcliError, ShapeError, SpecError
from gradcli.language.expr import Node, free_names
from gradcli.symbolic.lambdify_forms import numpy_modules
from gradcli.io.spec import Claim, NetSpec, ProblemFile, load_problem, parse_claim_formula

SYMBOLIC_SECONDS = 1.0  # time bound of SymPy's simplification of one difference
SAMPLE_POINTS = 8  # random points every formula claim is checked at
RANDOM_NET_POINTS = 3  # random parameter/input values a net's gradient claim is checked at (besides its own)
RTOL = 1e-8  # numeric agreement of two formulas (relative, with a floor at the array's scale)
EXACT_RTOL = 1e-9  # a printed integer or a formula value
COMPILE_MAX_PARAMS = 256  # trained entries up to which gradient descent runs on a compiled SymPy gradient
COMPILE_SECONDS = 10.0  # time bound of building that compiled gradient (else the engine is used)

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# ============================================================================================ results


@dataclass
class ClaimResult:
    """The verdict on one claim, why, and how it was decided. Plain data (it crosses process boundaries)."""

    id: str
    kind: str
    verdict: str  # 'correct' | 'wrong'
    expect: str  # 'correct' | 'wrong'
    detail: str
    line: int | None = None
    right: Any = None  # the right formula, value, shape or behaviour (display form)
    claimed: Any = None  # the claim as written
    counterexample: dict | None = None  # where the claim fails: point, entry/index, both numbers
    method: str = ""  # how the verdict was reached
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict == self.expect

    @property
    def slip_confirmed(self) -> bool:
        """A known slip (expect: wrong) that gradcli found wrong."""
        return self.expect == "wrong" and self.verdict == "wrong"


@dataclass
class ProblemResult:
    """Every claim of one problem file, in file order."""

    file: str
    title: str
    source: str | None
    claims: list[ClaimResult]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.claims)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


@dataclass
class _Outcome:
    verdict: str
    detail: str
    right: Any = None
    counterexample: dict | None = None
    method: str = ""


class _ShapeSlip(Exception):
    """The claimed formula's shapes do not fit: a wrong claim, not a bad file."""


# ============================================================================================ public API


def check_problem_file(path, *, seed: int = 0, symbolic_seconds: float = SYMBOLIC_SECONDS) -> ProblemResult:
    """Load a problem file and check every claim."""
    return check_problem(load_problem(path), seed=seed, symbolic_seconds=symbolic_seconds)


def check_problem(problem: ProblemFile, *, seed: int = 0, symbolic_seconds: float = SYMBOLIC_SECONDS) -> ProblemResult:
    """Check every claim of `problem`; a claim that cannot be used raises SpecError (file, claim id, line)."""
    start = time.perf_counter()
    checker = _Checker(problem, seed, symbolic_seconds)
    results = [checker.check(claim) for claim in problem.claims]
    return ProblemResult(problem.path, problem.title, problem.source, results, time.perf_counter() - start)


def printed_interval(text: str) -> tuple[float, float] | None:
    """The interval a printed decimal claims: '40.171' -> (40.1705, 40.1715), '1.5e-3' -> (1.45e-3, 1.55e-3).

    A printed integer ('2', '-7') claims itself exactly: (2.0, 2.0). None when the text is not a number.
    """
    text = text.strip()
    match = re.fullmatch(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", text)
    if not match or not (match.group(2) or match.group(3)):
        return None
    value = float(text)
    decimals = match.group(3)
    exponent = int(match.group(4) or 0)
    if decimals is None and match.group(4) is None:
        return (value, value)
    half = 0.5 * 10.0 ** (exponent - len(decimals or ""))
    return (value - half, value + half)


# ============================================================================================ the model


@dataclass
class _Definition:
    node: Node
    text: str
    where: str


class _Model:
    """The problem as formulas: intermediates (where: / a net's forward: and loss), the output, the variables.

    For a net, the variables are its inputs, params and (with `data:`) the per-example x and y; their
    shapes come from the values. For a function, variables are scalars unless `shapes:` says otherwise;
    `constants:` are substituted by their (exact decimal) values.
    """

    def __init__(self, problem: ProblemFile):
        self.problem = problem
        self.net: NetSpec | None = problem.net
        self.defs: dict[str, _Definition] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.constants = dict(problem.constants)
        self.point: dict[str, np.ndarray] | None = None
        net = self.net
        if net is not None:
            values = {**net.inputs, **net.params}
            if net.data is not None:
                values["x"], values["y"] = net.data.x[0], net.data.y[0]
            self.point = values
            self.shapes = {name: tuple(np.shape(v)) for name, v in values.items()}
            for d in net.forward:
                self.defs[d.name] = _Definition(d.node, d.text, d.where)
            self.defs["loss"] = _Definition(net.loss.node, net.loss.text, net.loss.where)
            self.output: Node | None = net.loss.node
            self.output_label = "the loss"
        else:
            self.output = problem.function.node if problem.function is not None else None
            self.output_label = "the function"
        for name, d in problem.where.items():
            self.defs[name] = _Definition(d.node, d.text, d.where)
        for name, shape in problem.shapes.items():
            self.shapes.setdefault(name, tuple(shape))
        self.order = D.order({n: d.node for n, d in self.defs.items()}, where=problem.path)
        self._cache: dict[tuple, dict] = {}

    # -- names
    def variables(self, *nodes: Node | None) -> list[str]:
        """The free names of the output, every definition and `nodes` that are not defined or constant."""
        names: set[str] = set()
        for node in (self.output, *(d.node for d in self.defs.values()), *nodes):
            if node is not None:
                names |= set(free_names(node))
        if self.net is not None:
            names |= set(self.shapes)
        return sorted(names - set(self.defs) - set(self.constants))

    def shape(self, name: str) -> tuple[int, ...]:
        return self.shapes.get(name, ())

    # -- symbolic environments
    def env(self, variables: Sequence[str], fresh: str | None = None,
            extra: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any, Any]:
        """{name: SymPy value} for variables (symbols), constants (exact values) and every definition.

        With `fresh` (an intermediate), its value is replaced by fresh symbols and everything after it is
        recomputed from them; returns (env, fresh symbols, fresh's own value)."""
        key = (tuple(variables), fresh, tuple(sorted((extra or {}).items(), key=lambda kv: kv[0])))
        if key in self._cache:
            return self._cache[key]
        env: dict[str, Any] = {name: S.entry_symbols(name, self.shape(name)) for name in variables}
        for name, value in self.constants.items():
            env.setdefault(name, _exact(value))
        env.update(extra or {})
        fresh_symbols = fresh_value = None
        for name in self.order:
            value = self._build(name, env)
            if name == fresh:
                fresh_value = value
                value = fresh_symbols = _fresh(name, value)
            env[name] = value
        result = (env, fresh_symbols, fresh_value)
        self._cache[key] = result
        return result

    def _build(self, name: str, env: Mapping[str, Any]) -> Any:
        d = self.defs[name]
        missing = [n for n in free_names(d.node) if n not in env]
        if missing:
            raise SpecError(f"{name} uses {', '.join(map(repr, missing))}, which has no value or shape here",
                            where=d.where)
        try:
            return S.to_sympy(d.node, env)
        except GradcliError as err:
            raise SpecError(_with_where(err), where=d.where, detail=err.detail) from None

    def flat_point(self, values: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Values by entry symbol name ('W0[1,0]', 'x[2]', 'c')."""
        out = {}
        for name, value in values.items():
            arr = np.asarray(value, dtype=float)
            syms = S.flat_symbols(S.entry_symbols(name, arr.shape)) if arr.ndim else [S.symbol(name)]
            for s, v in zip(syms, arr.reshape(-1)):
                out[str(s)] = float(v)
        return out


def _exact(value: np.ndarray) -> Any:
    """A constant as an exact SymPy value: 0.19 -> 19/100 (matrices entry by entry)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return sympy.Rational(repr(float(arr)))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return sympy.ImmutableMatrix(arr.shape[0], arr.shape[1], [sympy.Rational(repr(float(v))) for v in arr.reshape(-1)])


def _fresh(name: str, value: Any) -> Any:
    """Fresh symbols standing for an intermediate: a scalar (also for 1x1) or entry symbols of its shape."""
    value = S.as_scalar(value)
    return S.entry_symbols(name, S.shape_of(value)) if isinstance(value, sympy.MatrixBase) else S.symbol(name)


def _with_where(err: GradcliError) -> str:
    return f"{err.message} ({err.where})" if err.where else err.message


def _diff(out: Any, var: Any) -> Any:
    """∂out/∂var: a scalar by a tensor has the tensor's shape; a tensor by a scalar keeps its own shape."""
    out = S.as_scalar(out)
    if isinstance(var, sympy.MatrixBase):
        if isinstance(out, sympy.MatrixBase):
            raise ShapeError(f"the output has shape {tuple(out.shape)} and the variable shape {tuple(var.shape)}: "
                             "that derivative is a Jacobian (use a jacobian claim)")
        return sympy.ImmutableMatrix(var.shape[0], var.shape[1], [sympy.diff(out, s) for s in var])
    if isinstance(out, sympy.MatrixBase):
        return out.applyfunc(lambda e: sympy.diff(e, var))
    return sympy.diff(out, var)


def _heads(value: Any) -> set:
    """The kinds of function a SymPy value applies (exp, cosh, sigmoid, ...)."""
    entries = list(value) if isinstance(value, sympy.MatrixBase) else [value]
    return {type(f) for e in entries if isinstance(e, sympy.Basic) for f in e.atoms(sympy.Function)}


def _free(*values: Any) -> list:
    syms: set = set()
    for v in values:
        if isinstance(v, (sympy.Basic, sympy.MatrixBase)):
            syms |= v.free_symbols
    return sorted(syms, key=str)


# ============================================================================================ the checker


class _Checker:
    def __init__(self, problem: ProblemFile, seed: int, symbolic_seconds: float):
        self.problem = problem
        self.seed = seed
        self.seconds = symbolic_seconds
        self.model = _Model(problem)
        self._runs: dict[tuple, Any] = {}
        self._jacobians: dict[tuple, tuple] = {}
        self._derivatives: dict[tuple, tuple] = {}
        self._compiled: dict[tuple, Any] = {}

    def check(self, claim: Claim) -> ClaimResult:
        start = time.perf_counter()
        try:
            outcome = getattr(self, f"_{claim.kind}")(claim)
        except _ShapeSlip as slip:
            outcome = _Outcome("wrong", str(slip), method="shapes")
        except SpecError:
            raise
        except GradcliError as err:
            raise SpecError(_with_where(err), where=claim.where, detail=err.detail) from None
        claimed = claim.claim
        if claim.kind == "jacobian":
            claimed = {k: v for k, v in (("shape", list(claim.claim_shape) if claim.claim_shape else None),
                                         ("entry", claim.claim_entry), ("closed form", claim.claim)) if v is not None}
        elif claim.claim_source is not None and not isinstance(claim.claim, str):
            claimed = claim.claim_source
        return ClaimResult(claim.id, claim.kind, outcome.verdict, claim.expect, outcome.detail, claim.line,
                           outcome.right, claimed, outcome.counterexample, outcome.method,
                           time.perf_counter() - start)

    # ---------------------------------------------------------------------------------- shared pieces

    def _fail(self, claim: Claim, message: str, key: str | None = None) -> SpecError:
        where = claim.where
        if key is not None and claim.lines.get(key) is not None:
            where = re.sub(r"\(line \d+\)$", f"(line {claim.lines[key]})", where) if "(line" in where else where
        return SpecError(message, where=where)

    def _parse(self, claim: Claim, text: Any, field: str = "claim", allow_index: bool = False) -> Node:
        return parse_claim_formula(self.problem, claim, text, allow_index=allow_index, field=field)

    def _of_node(self, claim: Claim) -> Node:
        of = claim.settings.get("of")
        if of is not None:
            return self._parse(claim, of, "of")
        if self.model.output is None:
            raise self._fail(claim, "the claim has no of: and the problem has no function: or net:")
        return self.model.output

    def _names_known(self, claim: Claim, node: Node, env: Mapping[str, Any], field: str) -> None:
        unknown = [n for n in free_names(node) if n not in env]
        if unknown:
            known = ", ".join(sorted(env)) or "none"
            raise self._fail(claim, f"unknown name{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                                    f"in {field}: (the names here: {known})", field)

    def _claim_value(self, claim: Claim, env: Mapping[str, Any], text: Any = None, field: str = "claim") -> Any:
        node = self._parse(claim, claim.claim if text is None else text, field)
        self._names_known(claim, node, env, field)
        try:
            return S.to_sympy(node, env)
        except ShapeError as err:
            raise _ShapeSlip(f"the claimed formula does not fit the shapes: {_with_where(err)}") from None

    def _points(self, claim: Claim, syms: Sequence, count: int = SAMPLE_POINTS,
                first: Mapping[str, float] | None = None) -> list[dict[str, float]]:
        """Reproducible sample points (values in ±[0.2, 2], 3 decimals; the first half all positive)."""
        rng = random.Random(self.seed * 1_000_003 + claim.index)
        names = [str(s) for s in syms]
        points = []
        if first is not None and all(n in first for n in names):
            points.append({n: first[n] for n in names})
        for k in range(count):
            point = {}
            for n in names:
                v = round(rng.uniform(0.2, 2.0), 3)
                point[n] = v if k < (count + 1) // 2 or rng.random() < 0.5 else -v
            points.append(point)
        return points

    def _first_point(self) -> dict[str, float] | None:
        return self.model.flat_point(self.model.point) if self.model.point is not None else None

    def _compare_formulas(self, claim: Claim, truth: Any, claimed: Any, right: Callable[[], str],
                          what: str) -> _Outcome:
        """truth vs claim: numeric at sample points first, then SymPy within the time bound.

        `right()` gives the right formula as shown to the user; it is only built for a wrong claim."""
        truth, claimed = S.as_scalar(truth), S.as_scalar(claimed)
        st, sc = S.shape_of(truth), S.shape_of(claimed)
        if st != sc:
            hint = ""
            if isinstance(claimed, sympy.MatrixBase) and tuple(reversed(sc)) == st:
                hint = " (its transpose has the right shape)"
            text = right()
            return _Outcome("wrong", f"{what} has shape {_shape(st)}, the claim {_shape(sc)}{hint}; right: {text}",
                            text, {"shapes": [list(st), list(sc)]}, "shapes")
        syms = _free(truth, claimed)
        points = self._points(claim, syms, first=self._first_point())
        checked, cx = _numeric_compare(truth, claimed, syms, points)
        if cx is not None:
            entry = f" (entry {cx['entry']})" if "entry" in cx else ""
            text = right()
            return _Outcome("wrong", f"right: {text}; at {_point_text(cx['at'])}{entry}: right {_num(cx['right'])}, "
                                     f"claimed {_num(cx['claimed'])}", text, cx, f"numeric at {checked} points")
        if checked == 0:
            if _proved_equal(truth, claimed, self.seconds):
                return _Outcome("correct", "equivalent: SymPy simplifies the difference to 0 (no sample point lies "
                                           "inside the domain)", None, None, "symbolic")
            text = right()
            return _Outcome("wrong", f"cannot be evaluated at any sample point inside the domain, and SymPy does not "
                                     f"show the difference is 0; right: {text}", text, None, "undecided")
        if _proved_equal(truth, claimed, self.seconds):
            return _Outcome("correct", f"equivalent: SymPy simplifies the difference to 0, and they agree at "
                                       f"{checked} random points", None, None, "symbolic")
        return _Outcome("correct", f"agree at {checked} random points (SymPy did not simplify the difference to 0 "
                                   f"within {self.seconds:g} s)", None, None, f"numeric at {checked} points")

    def _right_text(self, truth: Any, kept: Any = None) -> str:
        """The right formula as shown: the sheets' form (intermediates kept) simplified within the time bound,
        unless simplifying brings in functions the formula did not use (sigmoid' written with cosh)."""
        form = kept if kept is not None else truth
        simple = S.simplified(form, self.seconds)
        if _heads(simple) - _heads(form):
            simple = form
        text = S.to_text(simple)
        return text if len(text) <= 400 else text[:397] + "..."

    def _kept_derivative(self, out_node: Node, wrt: str, variables: Sequence[str]) -> Any:
        """∂out/∂wrt with the intermediates kept as names (the sheets' form), or None for tensors.

        d e = ∂e/∂wrt + Σ ∂e/∂a · d a over the intermediates a in e that depend on wrt.
        """
        model = self.model
        if any(model.shape(v) != () for v in variables):
            return None
        env: dict[str, Any] = {v: S.symbol(v) for v in variables}
        for name, value in model.constants.items():
            if np.ndim(value) != 0:
                return None
            env.setdefault(name, _exact(value))
        defs_sym = {name: S.symbol(name) for name in model.defs}
        local = {**env, **defs_sym}
        defs: dict[str, Any] = {}
        for name in model.order:
            try:
                value = S.as_scalar(S.to_sympy(model.defs[name].node, local))
            except GradcliError:
                return None
            if isinstance(value, sympy.MatrixBase):
                return None
            defs[name] = value
        out = S.as_scalar(S.to_sympy(out_node, local))
        if isinstance(out, sympy.MatrixBase):
            return None
        target = S.symbol(wrt)
        depends = _dependents(defs, defs_sym, target)
        memo: dict[Any, Any] = {}

        def d(expr: Any) -> Any:
            key = expr
            if key in memo:
                return memo[key]
            total = sympy.diff(expr, target) if not (wrt in defs and expr == target) else sympy.S.One
            for name in defs:
                sym = defs_sym[name]
                if name != wrt and sym in expr.free_symbols and name in depends:
                    total += sympy.diff(expr, sym) * d(defs[name])
            memo[key] = total
            return total

        return d(out)

    # ---------------------------------------------------------------------------------- derivative

    def _derivative(self, claim: Claim) -> _Outcome:
        s = claim.settings
        out_node = self._of_node(claim)
        truth, env, variables = self._true_derivative(claim, out_node, s.wrt)
        claimed = self._claim_value(claim, env)
        of = s.of if s.of is not None else ("the loss" if self.model.net is not None else "f")

        def right() -> str:
            kept = self._kept_derivative(out_node, s.wrt, variables) if self.model.net is None else None
            return self._right_text(truth, kept)

        return self._compare_formulas(claim, truth, claimed, right, f"∂{of}/∂{s.wrt}")

    def _true_derivative(self, claim: Claim, out_node: Node, wrt: str) -> tuple[Any, dict, list[str]]:
        """(∂out/∂wrt as a SymPy value over the variables, the environment, the variables); cached."""
        from gradcli.language.expr import to_text

        key = (to_text(out_node), wrt)
        if key not in self._derivatives:
            self._derivatives[key] = self._derive(claim, out_node, wrt)
        return self._derivatives[key]

    def _derive(self, claim: Claim, out_node: Node, wrt: str) -> tuple[Any, dict, list[str]]:
        model = self.model
        variables = model.variables(out_node)
        if wrt not in variables and wrt not in model.defs:
            if wrt in model.constants:
                raise self._fail(claim, f"wrt: {wrt!r} is one of the problem's constants:, which are held fixed; "
                                        "make it a variable to differentiate by it", "wrt")
            raise self._fail(claim, f"wrt: {wrt!r} is neither a variable nor an intermediate of the problem "
                                        f"(variables: {', '.join(variables) or 'none'}; intermediates: "
                                        f"{', '.join(model.order) or 'none'})", "wrt")
        env, _, _ = model.env(variables)
        if wrt in model.defs:
            fresh_env, fresh, original = model.env(variables, fresh=wrt)
            out = S.to_sympy(out_node, fresh_env)
            d = _diff(out, fresh)
            return _substitute(d, fresh, original), env, variables
        return _diff(S.to_sympy(out_node, env), env[wrt]), env, variables

    # ---------------------------------------------------------------------------------- value

    def _value(self, claim: Claim) -> _Outcome:
        if self.model.net is not None:
            truth, label = self._net_value(claim)
        else:
            truth, label = self._function_value(claim)
        return _judge_value(claim, truth, label)

    def _function_value(self, claim: Claim) -> tuple[np.ndarray, str]:
        s = claim.settings
        model = self.model
        out_node = self._of_node(claim)
        variables = model.variables(out_node)
        for name, value in s.at.items():
            if name in model.constants:
                if np.shape(value) != np.shape(model.constants[name]) or \
                        not np.array_equal(value, model.constants[name]):
                    raise self._fail(claim, f"at: {name!r} is one of the problem's constants:, fixed at "
                                            f"{_matrix_text(model.constants[name])}", "at")
            elif name not in variables:
                raise self._fail(claim, f"at: {name!r} is not a variable of the problem (variables: "
                                        f"{', '.join(variables) or 'none'})", "at")
        if s.wrt is not None:
            truth, _, _ = self._true_derivative(claim, out_node, s.wrt)
        else:
            env, _, _ = model.env(variables)
            truth = S.to_sympy(out_node, env)
        truth = S.as_scalar(truth)
        syms = _free(truth)
        point = model.flat_point({k: v for k, v in s.at.items()})
        missing = sorted({str(sym).split("[")[0] for sym in syms if str(sym) not in point})
        if missing:
            raise self._fail(claim, f"at: needs a value for {', '.join(missing)} (the value depends on "
                                    f"{'them' if len(missing) > 1 else 'it'})", "at")
        value = S.compile_numeric([truth], syms)(*[point[str(sym)] for sym in syms])[0]
        of = s.of if s.of is not None else "f"
        label = f"∂{of}/∂{s.wrt}" if s.wrt is not None else of
        return np.asarray(value, dtype=float), label

    def _net_value(self, claim: Claim) -> tuple[np.ndarray, str]:
        s = claim.settings
        net = self.model.net
        values = {**net.inputs, **net.params}
        allowed = set(values) | (set(net.example_names))
        for name, v in s.at.items():
            if name not in allowed:
                raise self._fail(claim, f"at: {name!r} is not an input or param of the net (they are: "
                                        f"{', '.join(sorted(allowed))})", "at")
            values[name] = v
        of_node = self._parse(claim, s.of, "of") if s.of is not None else None
        if of_node is not None:
            known = set(values) | set(net.example_names) | {d.name for d in net.forward} | {"loss"}
            self._names_known(claim, of_node, dict.fromkeys(known), "of")
        per_example = net.data is not None and "x" not in s.at
        if per_example and (of_node is not None and not ({"loss"} >= set(free_names(of_node)))):
            raise self._fail(claim, "this net has data:; give at: {x: ..., y: ...} to pick the example whose value "
                                    "is claimed", "at")
        examples = [{"x": x, "y": y} for x, y in zip(net.data.x, net.data.y)] if per_example else [{}]
        total = None
        for example in examples:
            env = _net_tensors(net, {**values, **example}, fresh=s.wrt if s.wrt in {d.name for d in net.forward}
                               else None)
            out = env["loss"] if of_node is None else _engine_eval(of_node, env, s.of)
            if s.wrt is not None:
                if s.wrt not in env:
                    raise self._fail(claim, f"wrt: {s.wrt!r} is not a name of the net", "wrt")
                if out.data.size != 1:
                    raise self._fail(claim, f"a derivative value needs a scalar; {s.of or 'the loss'} has shape "
                                            f"{out.data.shape}", "of")
                from gradcli.numerics import engine

                grads = engine.backward(out, np.ones_like(out.data))
                value = grads.get(s.wrt, np.zeros_like(env[s.wrt].data))
            else:
                value = out.data
            total = value if total is None else total + value
        if per_example and net.data.reduce == "mean":
            total = total / len(examples)
        of = s.of if s.of is not None else "the loss"
        return np.asarray(total, dtype=float), (f"∂{of}/∂{s.wrt}" if s.wrt is not None else of)

    # ---------------------------------------------------------------------------------- gradient / update of a net

    def _gradient(self, claim: Claim) -> _Outcome:
        return self._net_formula(claim, update=False)

    def _update(self, claim: Claim) -> _Outcome:
        if self.model.net is not None:
            return self._net_formula(claim, update=True)
        s = claim.settings
        model = self.model
        out_node = self._of_node(claim)
        lr_node = self._parse(claim, s.lr, "lr")
        lr_names = [n for n in free_names(lr_node) if n not in model.defs]
        truth, env, variables = self._true_derivative(claim, out_node, s.wrt)
        if s.wrt in model.defs:
            raise self._fail(claim, f"update: {s.wrt!r} is an intermediate; an update steps a variable", "wrt")
        extra = {n: S.symbol(n) for n in lr_names if n not in env}
        env = {**env, **extra}
        lr = S.to_sympy(lr_node, env)
        if isinstance(S.as_scalar(lr), sympy.MatrixBase):
            raise self._fail(claim, "lr: must be a scalar", "lr")
        param = env[s.wrt]
        truth = _axpy(param, -S.as_scalar(lr), truth)
        claimed = self._claim_value(claim, env)

        def right() -> str:
            kept = self._kept_derivative(out_node, s.wrt, variables)
            return self._right_text(truth, None if kept is None else S.symbol(s.wrt) - S.as_scalar(lr) * kept)

        return self._compare_formulas(claim, truth, claimed, right, f"{s.wrt} after one step")

    def _net_formula(self, claim: Claim, update: bool) -> _Outcome:
        """A gradient (or one-step update) formula over a net's names, against the engine, entry by entry.

        The verdict is at the net's values (every example of `data:`): that is the setting the claim is
        about. The formula is then also tried at random values, and the detail says whether it holds in
        general or only at these values."""
        s = claim.settings
        net = self.model.net
        forward_names = {d.name for d in net.forward}
        leaves = set(net.inputs) | set(net.params) | set(net.example_names)
        if s.wrt not in leaves | forward_names:
            raise self._fail(claim, f"wrt: {s.wrt!r} is not a param, input or forward name of the net "
                                    f"(params: {', '.join(net.params) or 'none'})", "wrt")
        if update and s.wrt in forward_names:
            raise self._fail(claim, f"update: {s.wrt!r} is computed by forward:; an update steps a param", "wrt")
        node = self._parse(claim, claim.claim)
        lr_node = self._parse(claim, s.lr, "lr") if update else None
        lr_names = sorted(set(free_names(lr_node)) - leaves - forward_names) if lr_node is not None else []
        self._names_known(claim, node, dict.fromkeys(leaves | forward_names | {"loss"} | set(lr_names)), "claim")
        rng = np.random.default_rng([self.seed, claim.index])
        base = {**net.inputs, **net.params}
        examples = ([(f"example {i}", {"x": x, "y": y}) for i, (x, y) in enumerate(zip(net.data.x, net.data.y))]
                    if net.data is not None else [("", {})])
        what = f"{s.wrt} after one step" if update else f"the gradient ∂L/∂{s.wrt}"
        lr_values = {n: round(float(rng.uniform(0.05, 1.0)), 3) for n in lr_names}
        found = self._net_mismatch(claim, node, lr_node, lr_values, base, examples, update, skip_kinks=False)
        if found is not None and found[0] == "shape":
            _, truth, got_shape = found
            hint = " (its transpose has the right shape)" if tuple(reversed(got_shape)) == truth.shape else ""
            return _Outcome("wrong", f"{what} has the shape of {s.wrt}, {_shape(truth.shape)}; the claim gives "
                                     f"{_shape(got_shape)}{hint}", _matrix_text(truth),
                            {"shapes": [list(truth.shape), list(got_shape)]}, "shapes")
        if found is not None:
            _, truth, got, bad, ex_label = found
            entry = f" entry {list(bad)}" if truth.ndim else ""
            where = "at the net's values" + (f", {ex_label}" if ex_label else "")
            lr_note = f" (with {_point_text(lr_values)})" if lr_values else ""
            return _Outcome("wrong", f"{where}{lr_note},{entry}: right {_num(truth[bad])}, claimed {_num(got[bad])}; "
                                     f"right values {_matrix_text(truth)}", _matrix_text(truth),
                            {"at": "the net's values", "example": ex_label or None, "entry": list(bad),
                             "right": float(truth[bad]), "claimed": float(got[bad]),
                             **({"lr": lr_values} if lr_values else {})}, "engine")
        truth_shape = np.shape(self._net_truth(net, base, examples[0][1], s.wrt, forward_names, update, lr_node,
                                               lr_values)[0])
        general = "it holds at these values only"
        for r in range(RANDOM_NET_POINTS):
            values = {n: np.round(rng.normal(0.0, 1.0, size=np.shape(v)), 3) for n, v in base.items()}
            try:
                other = self._net_mismatch(claim, node, lr_node, lr_values, values, examples, update,
                                           skip_kinks=True)
            except (GradcliError, _ShapeSlip):
                other = ("error",)
            if other is not None:
                if other[0] == "value":
                    _, truth, got, bad, _ = other
                    general = (f"it holds at these values only (at random values, e.g. entry {list(bad)}: "
                               f"{_num(truth[bad])} vs {_num(got[bad])})")
                break
        else:
            general = f"it also holds at {RANDOM_NET_POINTS} random values of the net's inputs and params"
        examples_note = f", every one of {len(examples)} examples" if len(examples) > 1 else ""
        return _Outcome("correct", f"matches {what} (shape {_shape(truth_shape)}) entry by entry at the net's "
                                   f"values{examples_note}; {general}", None, None, "engine")

    def _net_truth(self, net: NetSpec, values: Mapping[str, Any], example: Mapping[str, Any], wrt: str,
                   forward_names: set[str], update: bool, lr_node: Node | None,
                   lr_values: Mapping[str, float]) -> tuple[np.ndarray, dict, bool]:
        """(the true gradient or updated parameter, the numeric values of every name, whether on a kink)."""
        from gradcli.numerics import engine, forward

        env = _net_tensors(net, {**values, **example}, fresh=wrt if wrt in forward_names else None)
        loss = env["loss"]
        kink = any(t.kink for t in engine.topo_order(loss))
        grads = engine.backward(loss, np.ones_like(loss.data))
        param = env[wrt].data
        grad = grads.get(wrt, np.zeros_like(param))
        truth = grad
        if update:
            lr = float(np.asarray(forward.evaluate(lr_node, dict(lr_values))).reshape(-1)[0])
            truth = param - lr * grad
        numeric = {n: t.data for n, t in env.items()}
        numeric.update(lr_values)
        return np.asarray(truth, dtype=float), numeric, kink

    def _net_mismatch(self, claim: Claim, node: Node, lr_node: Node | None, lr_values: Mapping[str, float],
                      values: Mapping[str, Any], examples: list, update: bool, skip_kinks: bool) -> tuple | None:
        """The first example where the claim differs from the truth: ('shape', truth, claim shape) or
        ('value', truth, claimed, entry, example); None when it matches everywhere."""
        from gradcli.numerics import forward

        net = self.model.net
        forward_names = {d.name for d in net.forward}
        for ex_label, example in examples:
            truth, numeric, kink = self._net_truth(net, values, example, claim.settings.wrt, forward_names, update,
                                                   lr_node, lr_values)
            if kink and skip_kinks:
                continue
            try:
                raw = np.asarray(forward.evaluate(node, numeric, text=str(claim.claim)), dtype=float)
            except ShapeError as err:
                raise _ShapeSlip(f"the claimed formula does not fit the shapes: {_with_where(err)}") from None
            got = _as_shape(raw, truth.shape)
            if got is None:
                return ("shape", truth, raw.shape)
            bad = _first_bad(truth, got)
            if bad is not None:
                return ("value", truth, got, bad, ex_label)
        return None

    # ---------------------------------------------------------------------------------- jacobian

    def _jacobian(self, claim: Claim) -> _Outcome:
        from gradcli.checks import jacobian as J

        s = claim.settings
        model = self.model
        shapes: dict[str, tuple[int, ...]] = {n: tuple(np.shape(v)) for n, v in model.constants.items()}
        shapes.update(model.shapes)
        shapes.update({n: J.array_shape(v) for n, v in s.shapes.items()})
        of_node = self._parse(claim, s.of, "of")
        claim_node = self._parse(claim, claim.claim) if claim.claim is not None else None
        entry_node = (self._parse(claim, J.rewrite_delta(claim.claim_entry), "claim_entry", allow_index=True)
                      if claim.claim_entry is not None else None)
        index_names = (set(J.INDEX_LETTERS) - set(shapes)) | {"delta"}
        nodes = {n: d.node for n, d in model.defs.items()}
        used_defs: set[str] = set()
        names = {s.wrt} if s.wrt not in model.defs else set()
        for node in (of_node, claim_node, entry_node):
            if node is not None:
                used_defs |= set(D.used(node, nodes))
                names |= set(free_names(node)) - (index_names if node is entry_node else set())
        for name in used_defs:
            names |= set(free_names(model.defs[name].node))
        variables = sorted(names - set(model.defs) - set(model.constants))
        missing = [n for n in variables if n not in shapes]
        if missing:
            raise self._fail(claim, f"no shape for {', '.join(map(repr, missing))}: give "
                                    f"{'them' if len(missing) > 1 else 'it'} in shapes: (such as "
                                    f"{missing[0]}: [4] for a vector, [3, 4] for a matrix, [] for a scalar)", "jacobian")
        if s.wrt not in variables and s.wrt not in model.defs:
            raise self._fail(claim, f"wrt: {s.wrt!r} is not a variable of {s.of}", "wrt")
        key = (s.of, s.wrt, tuple(sorted((n, shapes[n]) for n in variables)), tuple(sorted(used_defs)))
        if key not in self._jacobians:
            self._jacobians[key] = self._jacobian_of(claim, of_node, variables, shapes, used_defs)
        env, jac, out = self._jacobians[key]
        env = dict(env)
        shape = tuple(int(n) for n in jac.shape)
        out_shape = S.shape_of(S.as_scalar(out))
        in_shape = S.shape_of(S.as_scalar(env[s.wrt]))
        reason = J.shape_reason(s.of, out_shape, s.wrt, in_shape)
        parts: list[str] = []
        wrong: list[str] = []
        right: dict[str, Any] = {"shape": list(shape)}
        counterexample = None
        syms = _free(*[v for v in env.values()])
        points = self._points(claim, syms, first=self._first_point())
        letters = J.index_letters(len(shape))
        if claim.claim_shape is not None:
            if tuple(claim.claim_shape) == shape:
                parts.append(f"shape {_tuple(shape)} = output {_tuple(J.axes(out_shape))} × input "
                             f"{_tuple(J.axes(in_shape))}")
            else:
                wrong.append(f"the shape is {_tuple(shape)}, not {_tuple(claim.claim_shape)}: {reason}")
                counterexample = {"shape": list(shape), "claimed_shape": list(claim.claim_shape)}
        formula = None
        if entry_node is not None:
            try:
                J.check_entry_names(entry_node, letters, env)
                claimed = J.entry_array(entry_node, env, shape, letters)
            except GradcliError as err:
                raise self._fail(claim, f"claim_entry: {_with_where(err)} (the Jacobian's shape is {_tuple(shape)}, "
                                        f"its axes {', '.join(letters)})", "claim_entry") from None
            bad = J.first_mismatch(jac, claimed, syms, points, RTOL)
            if bad is not None:
                formula = self._index_formula(jac, env, letters, syms, points, used_defs)
                if formula:
                    right["entry"] = formula
            if bad is None:
                parts.append(f"entry formula matches all {jac_size(shape)} entries at {len(points)} points")
            else:
                idx = tuple(bad["index"])
                entry_truth = S.to_text(S.simplified(jac[idx], self.seconds / 4))
                value = _num(bad["right"])
                shown = entry_truth if entry_truth == value else f"{entry_truth} = {value}"
                wrong.append(f"the entry formula first fails at ({', '.join(f'{a}={v}' for a, v in zip(letters, idx))})"
                             f": right {shown}, claimed {_num(bad['claimed'])} at "
                             f"{_point_text(_relevant(bad['at'], jac[idx], claimed[idx]))}" +
                             (f"; right entry formula: {formula}" if formula else ""))
                counterexample = {**bad, "letters": letters}
        if claim_node is not None:
            try:
                closed = S.as_scalar(S.to_sympy(claim_node, env))
            except ShapeError as err:
                raise _ShapeSlip(f"the claimed closed form does not fit the shapes: {_with_where(err)}") from None
            array = _as_jacobian(closed, shape)
            if array is None:
                wrong.append(f"the closed form has shape {_shape(S.shape_of(closed))}, the Jacobian {_tuple(shape)}: "
                             f"{reason}")
                counterexample = counterexample or {"shape": list(shape), "claimed_shape": list(S.shape_of(closed))}
            else:
                bad = J.first_mismatch(jac, array, syms, points, RTOL)
                if bad is None:
                    parts.append(f"closed form matches all {jac_size(shape)} entries at {len(points)} points")
                else:
                    idx = tuple(bad["index"])
                    formula = formula or self._index_formula(jac, env, letters, syms, points, used_defs)
                    if formula:
                        right["entry"] = formula
                    wrong.append(f"the closed form first differs at index {idx}: right {_num(bad['right'])}, "
                                 f"claimed {_num(bad['claimed'])} at "
                                 f"{_point_text(_relevant(bad['at'], jac[idx], array[idx]))}" +
                                 (f"; right entry formula: {formula}" if formula else ""))
                    counterexample = counterexample or bad
        if wrong:
            return _Outcome("wrong", "; ".join(wrong), right, counterexample, "symbolic entries, numeric at points")
        return _Outcome("correct", "; ".join(parts), right, None, "symbolic entries, numeric at points")

    def _jacobian_of(self, claim: Claim, of_node: Node, variables: Sequence[str],
                     shapes: Mapping[str, tuple[int, ...]], used_defs: set[str]) -> tuple[dict, Any, Any]:
        """(env, the Jacobian's SymPy entries, the output) for a jacobian claim's of/wrt/shapes."""
        s = claim.settings
        model = self.model
        env: dict[str, Any] = {}
        for n in variables:
            try:
                env[n] = S.entry_symbols(n, shapes[n])
            except ShapeError as err:
                raise self._fail(claim, f"{err.message}", "jacobian") from None
        for n, v in model.constants.items():
            env.setdefault(n, _exact(v))
        fresh_original = None
        for name in model.order:
            if name not in used_defs:
                continue
            value = model._build(name, env)
            if name == s.wrt:
                fresh_original = value
                value = _fresh(name, value)
            env[name] = value
        try:
            out = S.to_sympy(of_node, env)
        except GradcliError as err:
            raise self._fail(claim, f"of: {_with_where(err)}", "of") from None
        jac = S.jacobian_entries(out, env[s.wrt])
        if fresh_original is not None:
            jac = jac.applyfunc(lambda e: _substitute(e, env[s.wrt], fresh_original))
            env[s.wrt] = fresh_original
        return env, jac, out

    def _index_formula(self, jac, env, letters, syms, points, used_defs) -> str | None:
        """The right index formula, preferably over the intermediates (s[i] for s = softmax(z))."""
        from gradcli.checks import jacobian as J
        from gradcli.timebound import bounded

        def find(array, names, symbols, point):
            return bounded(self.seconds * 2, J.find_index_formula, array, names, letters, symbols, point,
                           fallback=None, catch=(GradcliError, ValueError, TypeError))

        rng = random.Random(self.seed)
        mapping, local, extra, point = {}, dict(env), [], dict(points[0])
        for name in used_defs:
            value = env.get(name)
            if isinstance(value, sympy.MatrixBase):
                symbols = S.entry_symbols(name, value.shape)
                mapping.update({e: t for e, t in zip(value, symbols) if not e.is_Symbol})
                local[name] = symbols
                extra.extend(symbols)
                point.update({str(t): round(rng.uniform(0.2, 0.9), 3) for t in symbols})
        if mapping:
            formula = find(jac.applyfunc(lambda e: e.xreplace(mapping)), local, [*syms, *extra], point)
            if formula:
                return formula
        return find(jac, env, syms, points[0])

    # ---------------------------------------------------------------------------------- behaviour

    # ---------------------------------------------------------------------------------- behaviour

    def _behaviour(self, claim: Claim) -> _Outcome:
        t = claim.settings.train
        kind = claim.claim
        tol = claim.settings.tol
        if self.model.net is None and kind in ("learns", "fails_to_learn", "symmetric"):
            what = "a net's predictions (yhat) with its targets (y)" if kind != "symmetric" else \
                "the hidden units of a net's layers"
            raise self._fail(claim, f"{kind} compares {what}; this problem has a function:, not a net:", "claim")
        key = (t.lr, t.steps, _frozen(t.params), _frozen(t.constants))
        if key not in self._runs:
            self._runs[key] = self._train_net(t) if self.model.net is not None else self._train_function(t)
        result = self._runs[key]
        holds = result.holds(kind, tol)
        why = _behaviour_text(kind, result, tol, holds)
        return _Outcome("correct" if holds else "wrong", why, _run_summary(result), None,
                        f"gradient descent, {result.steps_run} of {result.steps} steps")

    def _train_net(self, t) -> Any:
        """Gradient descent on the net's params with train.py's loop; the loss and its gradient compiled
        once from SymPy when the net is small (else the engine, through train.train)."""
        from gradcli.training import train as T

        net = self.model.net
        names = T.trained_params(net)
        theta0 = {n: np.array(net.params[n], dtype=np.float64) for n in names}
        objective = self._compiled_objective(names, {**net.inputs, **net.params})
        if objective is None:
            return T.train(net, lr=t.lr, steps=t.steps)
        run = T.descend(objective, theta0, t.lr, t.steps, None)
        final = {**net.params, **run.theta}
        result = T.TrainResult(
            file=net.file, name=net.name, kind="net", lr=t.lr, steps=t.steps, steps_run=run.steps_run,
            loss_history=run.history, params=run.theta, initial_params=theta0, trained=names,
            diverged=run.diverged, divergence=run.reason, last_step_norm=run.last_step,
            param_norm=T.param_norm(run.theta), reduce=net.data.reduce if net.data is not None else None,
            examples=len(net.data) if net.data is not None else 1)
        result.prediction_name = T.prediction_name(net)
        examples = ([{"x": x, "y": y} for x, y in zip(net.data.x, net.data.y)] if net.data is not None else [{}])
        if result.prediction_name is not None and not run.diverged:
            try:
                for example in examples:
                    env = _net_tensors(net, {**net.inputs, **final, **example})
                    result.predictions.append(T.Prediction(
                        x=env["x"].data if "x" in env else None, y=env["y"].data if "y" in env else None,
                        yhat=np.array(env[result.prediction_name].data)))
            except GradcliError as err:
                result.predictions = []
                result.notes.append(f"no predictions at the final parameters: {err.message}")
        result.symmetry = T.symmetry_report(net, {**net.params, **theta0}, final)
        return result

    def _train_function(self, t) -> Any:
        from gradcli.training import train as T

        model = self.model
        constants = {**model.constants, **(t.constants or {})}
        theta0 = {n: np.array(v, dtype=np.float64) for n, v in t.params.items()}
        objective = self._compiled_objective(list(theta0), dict(t.constants or {}))
        if objective is None:
            return T.train_function(model.output, theta0, constants, t.lr, t.steps,
                                    where={n: d.node for n, d in model.defs.items()}, file=self.problem.path)
        run = T.descend(objective, theta0, t.lr, t.steps, None)
        return T.TrainResult(file=self.problem.path, name=self.problem.title, kind="function", lr=t.lr,
                             steps=t.steps, steps_run=run.steps_run, loss_history=run.history, params=run.theta,
                             initial_params=theta0, trained=list(theta0), diverged=run.diverged,
                             divergence=run.reason, last_step_norm=run.last_step, param_norm=T.param_norm(run.theta))

    def _compiled_objective(self, trained: list[str], fixed: Mapping[str, np.ndarray]) -> Callable | None:
        """θ -> (L(θ), {name: ∂L/∂name}) from SymPy's loss and gradient, lambdified once (with cse).

        The same math as the engine's, including its relu'(0) = 0; with `data:` every example goes through
        one vectorised call and the loss is reduced like the spec says. The variables that are not trained
        take their values from `fixed`, as arguments, so runs that differ only in those values share one
        compiled function. None when the problem is too big to compile quickly (callers use the engine).
        """
        from gradcli.timebound import bounded

        model = self.model
        net = model.net
        variables = sorted(model.shapes) if net is not None else model.variables()
        per_example = set(net.example_names) if net is not None else set()
        if not all(n in trained or n in fixed or n in per_example for n in variables):
            return None
        sizes = {n: int(np.prod(model.shape(n))) if model.shape(n) else 1 for n in variables}
        if sum(sizes[n] for n in trained if n in sizes) > COMPILE_MAX_PARAMS:
            return None
        key = (tuple(trained), tuple(variables))
        if key not in self._compiled:
            self._compiled[key] = bounded(COMPILE_SECONDS, self._build_objective, trained, variables,
                                          fallback=None, catch=(GradcliError, Exception))
        fn = self._compiled[key]
        if fn is None:
            return None
        return self._objective(fn, trained, variables, fixed)

    def _build_objective(self, trained: list[str], variables: list[str]) -> Callable | None:
        """The lambdified [L, ∂L/∂θ_1, ...] over every variable's entries (in `variables` order)."""
        model = self.model
        net = model.net
        env, _, _ = model.env(variables)
        loss = S.as_scalar(env["loss"] if net is not None else S.to_sympy(model.output, env))
        if isinstance(loss, sympy.MatrixBase):
            return None
        param_syms = [s for n in trained for s in S.flat_symbols(env[n])]
        grads = [_engine_kinks(sympy.diff(loss, s)) for s in param_syms]
        all_syms = [s for n in variables for s in S.flat_symbols(env[n])]
        safe = {s: sympy.Symbol(f"_a{k}", real=True) for k, s in enumerate(all_syms)}
        return sympy.lambdify([safe[s] for s in all_syms], [e.xreplace(safe) for e in (loss, *grads)],
                              modules=[_STEP_FORMS, *numpy_modules()], cse=True, dummify=False)

    def _objective(self, fn: Callable, trained: list[str], variables: list[str],
                   fixed: Mapping[str, np.ndarray]) -> Callable:
        """θ -> (L, grads) calling the compiled `fn` (all examples of `data:` at once, then reduced)."""
        model = self.model
        net = model.net
        columns: dict[str, list] = {}
        count = 1
        if net is not None and net.data is not None:
            count = len(net.data)
            for name, rows in (("x", net.data.x), ("y", net.data.y)):
                stacked = np.stack([np.asarray(r, dtype=float).reshape(-1) for r in rows], axis=1)
                columns[name] = [stacked[k] for k in range(stacked.shape[0])]
        mean = net is None or net.data is None or net.data.reduce == "mean"

        def objective(theta: Mapping[str, np.ndarray]):
            args: list = []
            for name in variables:
                if name in theta:
                    args.extend(np.asarray(theta[name], dtype=float).reshape(-1).tolist())
                elif name in columns:
                    args.extend(columns[name])
                else:
                    args.extend(np.asarray(fixed[name], dtype=float).reshape(-1).tolist())
            with np.errstate(all="ignore"):
                outs = fn(*args)
                if count == 1:
                    reduced = np.array([float(np.asarray(o).reshape(-1)[0]) for o in outs])
                else:
                    values = np.empty((len(outs), count))
                    for k, o in enumerate(outs):
                        values[k] = o
                    reduced = values.mean(axis=1) if mean else values.sum(axis=1)
            grads, k = {}, 1
            for name in trained:
                shape = np.shape(theta[name])
                size = int(np.prod(shape)) if shape else 1
                grads[name] = reduced[k:k + size].reshape(shape)
                k += size
            return float(reduced[0]), grads

        return objective


def jac_size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _relevant(at: Mapping[str, float], *exprs: Any) -> dict[str, float]:
    """The values of the symbols the expressions use (a counterexample shows only what matters)."""
    used = {str(sym) for e in exprs if isinstance(e, sympy.Basic) for sym in e.free_symbols}
    return {k: v for k, v in at.items() if k in used}


def _numeric_compare(truth: Any, claimed: Any, syms: Sequence, points: Sequence[Mapping[str, float]]
                     ) -> tuple[int, dict | None]:
    """(points where both sides are finite, the first counterexample or None).

    Entries agree when |a - b| <= RTOL·max(|a|, |b|) + 1e-12·max(1, largest |a|); a disagreement is
    confirmed at 30 significant digits before it counts, so float rounding never makes a counterexample."""
    fn = S.compile_numeric([truth, claimed], syms)
    checked = 0
    for point in points:
        values = [float(point[str(sym)]) for sym in syms]
        a, b = (np.ravel(np.asarray(v, dtype=float)) for v in fn(*values))
        finite = np.isfinite(a) & np.isfinite(b)
        if not finite.any():
            continue
        checked += 1
        scale = max(1.0, float(np.max(np.abs(a[finite]))))
        with np.errstate(all="ignore"):
            off = finite & (np.abs(a - b) > RTOL * np.maximum(np.abs(a), np.abs(b)) + 1e-12 * scale)
        for k in np.flatnonzero(off):
            k = int(k)
            if _confirmed(truth, claimed, k, syms, values):
                cx = {"at": {str(sym): v for sym, v in zip(syms, values)}, "right": float(a[k]),
                      "claimed": float(b[k])}
                if isinstance(truth, sympy.MatrixBase):
                    cx["entry"] = list(divmod(k, truth.shape[1]))
                return checked, cx
    return checked, None


def _as_expr(v: Any) -> sympy.Basic:
    """A SymPy object built from our own trees stays as it is; a plain number becomes a 30-digit Float."""
    return v if isinstance(v, sympy.Basic) else sympy.Float(float(v), 30)


def _confirmed(truth: Any, claimed: Any, k: int, syms: Sequence, values: Sequence[float]) -> bool:
    """Entry k of the two sides still differs at 30 significant digits (True when that cannot be decided)."""
    from gradcli.timebound import bounded

    ea = list(truth)[k] if isinstance(truth, sympy.MatrixBase) else truth
    eb = list(claimed)[k] if isinstance(claimed, sympy.MatrixBase) else claimed
    subs = {sym: sympy.Float(v, 30) for sym, v in zip(syms, values)}

    def differ() -> bool:
        x, y = _as_expr(ea).xreplace(subs).evalf(30), _as_expr(eb).xreplace(subs).evalf(30)
        if not (x.is_number and y.is_number):
            return True
        x, y = complex(x), complex(y)
        return abs(x - y) > 1e-20 * max(abs(x), abs(y), 1.0)

    return bool(bounded(1.0, differ, fallback=True, catch=(Exception,)))


def _proved_equal(a: Any, b: Any, seconds: float) -> bool:
    """SymPy shows a - b = 0: by expansion (quick), else by simplify, also with sigmoid/softplus/logsumexp
    written with exp and log; within `seconds` in all."""
    from gradcli.timebound import bounded

    diffs = [x - y for x, y in zip(a, b)] if isinstance(a, sympy.MatrixBase) else [a - b]

    def expands() -> bool:
        return all(sympy.expand(d) == 0 for d in diffs)

    def simplifies() -> bool:
        return all(sympy.expand(d) == 0 or sympy.simplify(d) == 0 or sympy.simplify(d.rewrite(sympy.exp)) == 0
                   for d in diffs)

    if bounded(min(0.25, seconds), expands, fallback=False, catch=(Exception,)):
        return True
    return bool(bounded(seconds, simplifies, fallback=False, catch=(Exception,)))


def _dependents(defs: Mapping[str, Any], defs_sym: Mapping[str, Any], target: Any) -> set[str]:
    """The intermediates whose value depends on the symbol `target` (directly or through others)."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, value in defs.items():
            if name in out:
                continue
            if target in value.free_symbols or any(defs_sym[o] in value.free_symbols for o in out):
                out.add(name)
                changed = True
    return out


def _substitute(value: Any, fresh: Any, original: Any) -> Any:
    """Replace fresh symbols by the values they stand for (entry by entry for tensors)."""
    if isinstance(fresh, sympy.MatrixBase):
        original = S.as_scalar(original)
        mapping = dict(zip(list(fresh), list(original) if isinstance(original, sympy.MatrixBase) else [original]))
    else:
        mapping = {fresh: S.as_scalar(original)}
    if isinstance(value, sympy.MatrixBase):
        return value.applyfunc(lambda e: e.xreplace(mapping))
    return value.xreplace(mapping) if isinstance(value, sympy.Basic) else value


def _axpy(param: Any, a: Any, grad: Any) -> Any:
    """param + a·grad with the scalar a (shapes of param and grad are equal)."""
    if isinstance(param, sympy.MatrixBase):
        return sympy.ImmutableMatrix(param.shape[0], param.shape[1], [p + a * g for p, g in zip(param, grad)])
    return param + a * grad


def _as_jacobian(value: Any, shape: tuple[int, ...]):
    """A closed-form claim as an array of the Jacobian's shape, or None when the shapes do not fit.

    A (1, 1) claim fits (1, 1); a matrix fits its own shape; a Jacobian with a leading 1 (a scalar output)
    also accepts the input-shaped matrix (m, n) for (1, m, n)."""
    if not isinstance(value, sympy.MatrixBase):
        if math.prod(shape) == 1:
            return sympy.ImmutableDenseNDimArray([value], shape)
        return None
    vs = tuple(value.shape)
    if vs == shape or (len(shape) > 2 and shape[0] == 1 and vs == shape[1:]):
        return sympy.ImmutableDenseNDimArray(list(value), shape)
    return None


# ============================================================================================ nets, numerically


def _net_tensors(net: NetSpec, values: Mapping[str, Any], fresh: str | None = None) -> dict[str, Any]:
    """Every name of the net as an engine Tensor: inputs/params leaves, forward values, `loss`.

    With `fresh` (a forward name), its value is cut loose as a leaf: the gradient there is the upstream one.
    """
    from gradcli.numerics import engine

    env: dict[str, Any] = {n: engine.leaf(v, n) for n, v in values.items()}
    for d in net.forward:
        t = _engine_eval(d.node, env, d.text, d.where)
        if d.name == fresh:
            t = engine.leaf(t.data.copy(), d.name)
        env[d.name] = t
    loss = _engine_eval(net.loss.node, env, net.loss.text, net.loss.where)
    if loss.data.size != 1:
        raise SpecError(f"the loss must be a scalar; it has shape {loss.data.shape}", where=net.loss.where)
    env["loss"] = loss
    return env


def _engine_eval(node: Node, env: Mapping[str, Any], text: str | None = None, where: str | None = None):
    from gradcli.numerics import engine

    try:
        return engine.evaluate(node, env, text)
    except GradcliError as err:
        if where is None:
            raise
        raise SpecError(_with_where(err), where=where, detail=err.detail) from None


def _as_shape(got: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The claim's value in the true shape: equal shapes, or both scalar-like (0-d / 1x1)."""
    if got.shape == shape:
        return got
    if got.size == 1 and int(np.prod(shape)) == 1 and (got.ndim == 0 or got.shape == (1, 1)) and \
            (len(shape) == 0 or shape == (1, 1)):
        return got.reshape(shape)
    return None


def _first_bad(truth: np.ndarray, got: np.ndarray) -> tuple | None:
    """The first entry (row-major) where |a - b| > RTOL·max(|a|, |b|) + 1e-12·scale, or None."""
    with np.errstate(all="ignore"):
        scale = max(1.0, float(np.nanmax(np.abs(truth))) if truth.size else 1.0)
        off = ~(np.abs(truth - got) <= RTOL * np.maximum(np.abs(truth), np.abs(got)) + 1e-12 * scale)
    if not off.any():
        return None
    k = int(np.flatnonzero(off.reshape(-1))[0])
    return tuple(int(i) for i in np.unravel_index(k, truth.shape)) if truth.ndim else ()


# ============================================================================================ value claims


def _judge_value(claim: Claim, truth: np.ndarray, label: str) -> _Outcome:
    from gradcli.numerics import forward

    tol = claim.settings.tol
    raw = claim.claim
    sources: list[str | None]
    if isinstance(raw, list):
        claimed = np.array(raw, dtype=float)
        claimed = claimed.reshape(-1, 1) if claimed.ndim == 1 else claimed
        tokens = _NUMBER.findall(claim.claim_source or "")
        sources = tokens if len(tokens) == claimed.size else [repr(float(v)) for v in claimed.reshape(-1)]
    elif isinstance(raw, str):
        node = parse_claim_formula_constant(claim, raw)
        claimed = np.asarray(forward.evaluate(node, {}), dtype=float)
        sources = [None] * claimed.size
    else:
        claimed = np.asarray(float(raw))
        sources = [claim.claim_source if claim.claim_source is not None else repr(raw)]
    truth = np.asarray(truth, dtype=float)
    if truth.shape != claimed.shape and not (truth.size == 1 and claimed.size == 1):
        if truth.size == claimed.size and truth.ndim == 2 and claimed.ndim == 2 and truth.shape[1] == 1:
            claimed = claimed.reshape(truth.shape)
        else:
            return _Outcome("wrong", f"{label} has shape {_shape(truth.shape)}, the claim {_shape(claimed.shape)}; "
                                     f"right: {_matrix_text(truth)}", _matrix_text(truth),
                            {"shapes": [list(truth.shape), list(claimed.shape)]}, "shapes")
    t_flat, c_flat = truth.reshape(-1), claimed.reshape(-1)
    intervals = []
    for k, (c, src) in enumerate(zip(c_flat, sources)):
        if tol is not None:
            intervals.append((c - tol, c + tol, f"{_num(c)} ± {tol:g} (tol)"))
            continue
        interval = printed_interval(src) if src is not None else None
        if interval is None or interval[0] == interval[1]:
            slack = EXACT_RTOL * max(1.0, abs(c))
            intervals.append((c - slack, c + slack, f"exactly {_num(c)}"))
        else:
            intervals.append((interval[0], interval[1], f"[{_num(interval[0])}, {_num(interval[1])}] (the printed "
                                                        f"digits of {src})"))
    shown = _num(t_flat[0]) if t_flat.size == 1 else _matrix_text(truth)
    for k, (t, (lo, hi, what)) in enumerate(zip(t_flat, intervals)):
        slack = 1e-12 * max(1.0, abs(lo), abs(hi))
        if not (math.isfinite(t) and lo - slack <= t <= hi + slack):
            entry = f" entry {k}" if t_flat.size > 1 else ""
            reason = "is not defined at this point" if not math.isfinite(t) else f"is {_num(t)}"
            return _Outcome("wrong", f"{label}{entry} {reason}; the claim {_num(c_flat[k])} means {what}"
                                     + (f"; right: {shown}" if t_flat.size > 1 else ""),
                            shown, {"entry": k, "right": float(t), "claimed": float(c_flat[k])}, "interval")
    what = intervals[0][2] if len(intervals) == 1 else "each entry's printed digits"
    return _Outcome("correct", f"{label} = {shown}, within {what}", shown, None, "interval")


def parse_claim_formula_constant(claim: Claim, text: str) -> Node:
    """A value claim written as a formula (`2*exp(3)`): constants only."""
    from gradcli.language.expr import parse
    from gradcli.errors import ParseError

    try:
        node = parse(text, what="claim")
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1} of claim)", where=claim.where,
                        detail=exc.detail) from None
    names = free_names(node)
    if names:
        raise SpecError(f"a value claim is a number or a constant formula; this one uses {', '.join(names)}",
                        where=claim.where)
    return node


# ============================================================================================ behaviour


def _frozen(values: Mapping[str, np.ndarray] | None) -> tuple:
    if values is None:
        return ()
    return tuple((n, np.asarray(v, dtype=float).tobytes()) for n, v in sorted(values.items()))


_STEP = sympy.Function("gradcli_step")  # the unit step with step(0) = 0, for NumPy only
_STEP_FORMS = {"gradcli_step": lambda x: np.greater(x, 0) * 1.0}


def _engine_kinks(expr: Any) -> Any:
    """relu'(0) = 0 as in the engine (and PyTorch): Heaviside(x) -> a step that is 0 at 0 (and cheap in NumPy)."""
    return expr.replace(sympy.Heaviside, lambda x, *rest: _STEP(x))


def _run_summary(result: Any) -> str:
    loss = _num(result.loss_history[-1]) if result.loss_history else "—"
    params = ", ".join(f"{n} = {_matrix_text(v)}" for n, v in result.params.items())
    text = f"after {result.steps_run} of {result.steps} steps: loss {loss}; {params}"
    return text if len(text) <= 300 else text[:297] + "..."


def _behaviour_text(kind: str, result: Any, tol: float | None, holds: bool) -> str:
    """Why the behaviour holds or not, in SPEC §5's terms (the definitions are gradcli.training.train's)."""
    from gradcli.training import train as T

    summary = _run_summary(result)
    if kind == "converges":
        if result.diverged:
            return f"does not converge: it diverges ({result.divergence})"
        limit = (T.CONVERGENCE_TOL if tol is None else tol) * max(1.0, result.param_norm)
        return (f"{'converges' if holds else 'does not converge'}: the last step moves θ by "
                f"{_num(result.last_step_norm)} {'≤' if holds else '>'} tol·max(1, ‖θ‖) = {_num(limit)}; {summary}")
    if kind == "diverges":
        if result.diverged:
            return f"diverges: {result.divergence}"
        return (f"does not diverge: the loss stays finite and below 1e12 × its start (from "
                f"{_num(result.loss_history[0])} to {_num(result.loss_history[-1])}); {summary}")
    if kind == "symmetric":
        if not result.symmetry:
            return f"no two units of a layer start identical, so there is no symmetry to keep; {summary}"
        broken = [g for g in result.symmetry if not g.still_identical]
        group = broken[0] if broken else result.symmetry[0]
        units = (f"units {', '.join(map(str, group.units))} of {group.weight}" +
                 (f" (with {group.bias}" + (f" and the columns of {group.next_weight})" if group.next_weight else ")")
                  if group.bias else (f" (with the columns of {group.next_weight})" if group.next_weight else "")))
        if broken:
            return f"symmetry breaks: {units} start identical but differ at the end; {summary}"
        return f"{units} start identical and stay identical (to {T.SYMMETRY_TOL:g}); {summary}"
    limit = T.LEARN_TOL if tol is None else tol
    if result.diverged:
        return f"training diverges ({result.divergence}), so nothing is learned"
    errors = [T.max_abs_error(p.yhat, p.y) for p in result.predictions]
    worst = int(np.argmax(errors)) if errors else 0
    preds = ", ".join(_matrix_text(p.yhat) for p in result.predictions)
    learned = bool(errors) and errors[worst] <= limit
    return (f"{'every' if learned else 'not every'} prediction is within {limit:g} of its target (worst: example "
            f"{worst}, off by {_num(errors[worst] if errors else math.nan)}); predictions {preds}; {summary}")


# ============================================================================================ formatting


def _num(v: Any, digits: int = 10) -> str:
    """A number in a claim's detail, written as every table writes numbers."""
    from gradcli.text import number

    return number(v, digits)


def _shape(shape: Sequence[int]) -> str:
    return "a scalar" if tuple(shape) == () else _tuple(shape)


def _tuple(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ")"


def _matrix_text(v: Any) -> str:
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return _num(arr, 6)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    text = np.array2string(arr, precision=6, separator=", ", suppress_small=True, max_line_width=10_000,
                           threshold=50, formatter={"float_kind": lambda x: _num(x, 6)})
    return " ".join(text.split())


def _point_text(at: Mapping[str, float], limit: int = 8) -> str:
    items = [f"{k}={_num(v, 4)}" for k, v in at.items()]
    if len(items) > limit:
        items = items[:limit] + [f"… ({len(at) - limit} more)"]
    return ", ".join(items) if items else "any point"
