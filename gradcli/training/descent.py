"""`gradcli descent`: gradient descent w ← w − η∇L(w) on a function, and what the Hessian predicts of it.

Sheet 002 §2: L(w1, w2) = 0.5(a·w1² + b·w2²) has ∇L = (a·w1, b·w2), so each step multiplies w_i by
ρ_i = 1 − η·λ_i, the λ_i being the Hessian's eigenvalues (here a and b). In general, for a quadratic
L(w) = ½ wᵀHw + bᵀw + c (H constant — checked symbolically: no entry of SymPy's Hessian depends on a
trained variable), the gradient obeys ∇L(w_{t+1}) = (I − ηH)∇L(w_t), so along the eigenvector v_i its
component q_i = v_iᵀ∇L(w_0) becomes ρ_i^t·q_i:

* every component shrinks iff |ρ_i| < 1 for all i, i.e. 0 < η < 2/λ_max (with λ_min > 0);
* the worst factor max_i |1 − ηλ_i| is smallest at η* = 2/(λ_min + λ_max), where it is
  (λ_max − λ_min)/(λ_max + λ_min) = (κ − 1)/(κ + 1), κ = λ_max/λ_min;
* the run stops at the first t with ‖∇L(w_t)‖ ≤ tol; the predicted t is the smallest with
  sqrt(Σ_i ρ_i^(2t)·q_i²) ≤ tol (exact for a quadratic; found by bisection on t), checked against the run.

For a function that is not quadratic the same analysis is local: the Hessian at the start and at the final
point (its eigenvalues there decide the rate near a minimum). A run is *diverged* when a loss, gradient
or parameter stops being finite, when |L| passes 1e12·max(|L(w_0)|, 1) (as in `train`), or when at the
end both L and ‖∇L‖ are above their start values (the iterates went uphill over the whole run).

Gradients come from SymPy's formulas compiled with NumPy (`symbolic.compile_numeric`, a few µs a step);
where SymPy cannot build them in time, from the engine (backprop). The Hessian comes from SymPy; where its
entries cannot be compiled (DiracDelta of relu), from central differences of the gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from gradcli.language import expr as E
from gradcli.progress import ProgressCallback
from gradcli.training.loop import descend
from gradcli.io.bindings import bind, split_top_level
from gradcli.errors import BindingError, DomainError, GradcliError, ShapeError, TimeBoundError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_STEPS = 1000
DEFAULT_TOL = 1e-8
MAX_VARIABLES = 50
_EPS = 2.220446049250313e-16


# ------------------------------------------------------------------------------------------------ results


@dataclass
class HessianAnalysis:
    """The Hessian H (constant for a quadratic, else at `at`) and what it says about a step η = `lr`.

    `eigenvalues[i]` belongs to the unit eigenvector `eigenvectors[:, i]`, named `directions[i]`; for a
    diagonal H these are the coordinates in the variables' order (the sheets' ρ_1, ρ_2, ...), otherwise
    ascending eigenvalues.
    """

    hessian: "np.ndarray"
    eigenvalues: "np.ndarray"
    eigenvectors: "np.ndarray"
    directions: list[str]
    lr: float
    at: dict[str, float] | None = None  # None: the Hessian is constant
    source: str = "symbolic"  # 'symbolic' | 'finite differences'

    @property
    def rho(self) -> "np.ndarray":
        """ρ_i = 1 − η·λ_i: the factor the gradient's i-th component is multiplied by every step."""
        return 1.0 - self.lr * self.eigenvalues

    @property
    def worst_rho(self) -> float:
        return float(max(abs(r) for r in self.rho))

    @property
    def lambda_min(self) -> float:
        return float(min(self.eigenvalues))

    @property
    def lambda_max(self) -> float:
        return float(max(self.eigenvalues))

    @property
    def stable_lr_max(self) -> float | None:
        """2/λ_max: every step η below it (and above 0) contracts every direction with λ > 0."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else None

    @property
    def optimal_lr(self) -> float | None:
        """η* = 2/(λ_min + λ_max), minimising max_i |1 − ηλ_i| (needs λ_min > 0)."""
        return 2.0 / (self.lambda_min + self.lambda_max) if self.lambda_min > 0 else None

    @property
    def optimal_rho(self) -> float | None:
        """The worst |ρ| at η*: (λ_max − λ_min)/(λ_max + λ_min)."""
        if self.lambda_min <= 0:
            return None
        return (self.lambda_max - self.lambda_min) / (self.lambda_max + self.lambda_min)

    @property
    def condition_number(self) -> float | None:
        return self.lambda_max / self.lambda_min if self.lambda_min > 0 else None

    @property
    def stable(self) -> bool:
        """Whether this η contracts every direction: every |ρ_i| < 1."""
        return self.worst_rho < 1.0


@dataclass
class DescentResult:
    """A gradient-descent run on a function and the Hessian's account of it."""

    expression: str
    variables: list[str]  # trained, in the expression's (alphabetical) order
    constants: dict[str, float]
    start: dict[str, float]
    lr: float
    steps: int  # the most updates asked for
    tol: float  # stop when ‖∇L‖ ≤ tol
    points: "np.ndarray"  # (steps_run + 1, n): w_0 ... w_T
    losses: "np.ndarray"  # (steps_run + 1,)
    grad_norms: "np.ndarray"  # (steps_run + 1,)
    converged: bool = False
    diverged: bool = False
    divergence: str | None = None
    gradient_source: str = "symbolic"  # 'symbolic' | 'backprop'
    quadratic: bool | None = None  # None: the symbolic Hessian could not be had
    hessian_formula: list[list[str]] | None = None
    analysis: HessianAnalysis | None = None  # the constant Hessian of a quadratic
    local_start: HessianAnalysis | None = None  # not quadratic: the Hessian at w_0 ...
    local_end: HessianAnalysis | None = None  # ... and at the final point
    prediction: str | None = None  # quadratic: 'converges' | 'diverges' | 'stalls'
    predicted_steps: int | None = None  # quadratic, converging: steps until ‖∇L‖ ≤ tol
    binding_note: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def steps_run(self) -> int:
        return int(self.losses.size - 1)

    @property
    def final(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.variables, self.points[-1])}

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def actual_steps(self) -> int | None:
        """The first step t with ‖∇L(w_t)‖ ≤ tol (the run stops there), None when it never got there."""
        return self.steps_run if self.converged else None

    @property
    def hessian(self) -> HessianAnalysis | None:
        """The analysis the summary keys report: the constant Hessian, else the one at the final point."""
        return self.analysis if self.analysis is not None else self.local_end

    @property
    def prediction_agrees(self) -> bool | None:
        """Quadratic: does the run do what ρ predicted? Converging: it stopped within ±1 step of the
        prediction (or, predicted past the last step, it did not stop); otherwise it did not converge."""
        if self.prediction is None:
            return None
        if self.prediction != "converges":
            return not self.converged
        if self.predicted_steps is not None and self.predicted_steps > self.steps:
            return not self.converged or self.steps_run >= self.predicted_steps - 1
        return self.converged and abs(self.steps_run - (self.predicted_steps or 0)) <= 1

    def sample(self, limit: int, head: int = 0) -> list[int]:
        """At most `limit` step indices, always the first `head` + 1 and the last, the rest evenly spaced."""
        import numpy as np

        last = self.steps_run
        if last + 1 <= limit:
            return list(range(last + 1))
        first = list(range(min(head + 1, limit - 1)))
        rest = np.linspace(first[-1] + 1 if first else 0, last, max(limit - len(first), 2))
        return sorted(set(first) | {int(round(v)) for v in rest} | {last})


# ------------------------------------------------------------------------------------------------ binding


def bind_descent(names: list[str], at: str | Mapping[str, float] | None, start: str | Mapping[str, float]
                 ) -> tuple[dict[str, float], dict[str, float], str | None]:
    """(constants, start values, note) from --at and --start: the names --start gives are trained, the
    names --at gives are constants. One of them may be positional (it binds the names the other leaves,
    in alphabetical order); every variable must be bound exactly once."""
    at_text = _as_text(at)
    start_text = _as_text(start)
    if not start_text.strip():
        raise BindingError("give the start point of the trained variables, e.g. --start w1=1,w2=-1",
                           where="--start")
    start_named = _named(start_text, "--start")
    at_named = _named(at_text, "--at") if at_text.strip() else True
    if start_named:
        trained = _keys(start_text, names, "--start")
        constants_b = bind(at_text or None, [n for n in names if n not in trained], "--at")
        start_b = bind(start_text, trained, "--start")
    elif at_named:
        fixed = _keys(at_text, names, "--at") if at_text.strip() else []
        trained = [n for n in names if n not in fixed]
        if not trained:
            raise BindingError("every variable is a constant in --at: nothing is left to train", where="--start")
        constants_b = bind(at_text or None, fixed, "--at")
        start_b = bind(start_text, trained, "--start")
    else:
        raise BindingError("name the values of --start (w1=1,w2=-1) or of --at (a=10,b=1), so gradcli knows "
                           "which variables are trained and which are constants", where="--start")
    note = start_b.note() or constants_b.note()
    return constants_b.values, start_b.values, note


def _as_text(values: str | Mapping[str, float] | None) -> str:
    if values is None:
        return ""
    if isinstance(values, Mapping):
        return ",".join(f"{k}={float(v)!r}" for k, v in values.items())
    return str(values)


def _named(text: str, option: str) -> bool:
    parts = split_top_level(text)
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        raise BindingError("mix of positional and named values; write all as NAME=VALUE or none", where=option)
    return bool(named)


def _keys(text: str, names: list[str], option: str) -> list[str]:
    keys = [p.partition("=")[0].strip() for p in split_top_level(text)]
    for k in keys:
        if k not in names:
            raise BindingError(f"{k!r} is not a variable of the expression (variables: {', '.join(names) or 'none'})",
                               where=option)
    return [n for n in names if n in keys]


# ----------------------------------------------------------------------------------------------- the run


def descent(expression: str, start: str | Mapping[str, float], at: str | Mapping[str, float] | None = None, *,
            lr: float, steps: int = DEFAULT_STEPS, tol: float = DEFAULT_TOL,
            progress: ProgressCallback | None = None) -> DescentResult:
    """Gradient descent on `expression` from `start` (the trained variables) with `at` (the constants)
    held fixed, step `lr`, at most `steps` updates, stopping at ‖∇L‖ ≤ `tol`; with the Hessian analysis."""
    import numpy as np

    from gradcli.io.models import MAX_STEPS

    node = E.parse(expression)
    names = E.free_names(node)
    if not names:
        raise BindingError("the expression has no variables to descend on", where="expression")
    lr, steps, tol = _settings(lr, steps, tol, MAX_STEPS)
    constants, start_values, note = bind_descent(names, at, start)
    variables = list(start_values)
    if len(variables) > MAX_VARIABLES:
        raise BindingError(f"descent trains at most {MAX_VARIABLES} scalar variables, got {len(variables)}",
                           where="--start")
    model = _Model(node, expression, variables, constants)
    w0 = np.array([start_values[n] for n in variables], dtype=np.float64)
    loss0, grad0 = model.objective(w0)
    if not (math.isfinite(loss0) and np.all(np.isfinite(grad0))):
        raise DomainError(f"{expression} (or its gradient) is not finite at the start point "
                          f"({_point_text(variables, w0)}): L = {loss0}", where="--start")
    result = _run(model, w0, loss0, grad0, lr, steps, tol, progress)
    result.expression, result.constants, result.start, result.binding_note = (
        expression, constants, start_values, note)
    result.gradient_source = model.source
    result.notes += model.notes
    _analyse(result, model, grad0)
    return result


def _settings(lr: Any, steps: Any, tol: Any, max_steps: int) -> tuple[float, int, float]:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise GradcliError(f"the learning rate must be a positive finite number, got {lr!r}", where="--lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= max_steps:
        raise GradcliError(f"steps must be a whole number from 1 to {max_steps:,}, got {steps!r}", where="--steps")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
        raise GradcliError(f"the tolerance must be a finite number ≥ 0, got {tol!r}", where="--tol")
    return float(lr), int(steps), float(tol)


def _run(model: "_Model", w0: "np.ndarray", loss0: float, grad0: "np.ndarray", lr: float, steps: int, tol: float,
         progress) -> DescentResult:
    """w_{t+1} = w_t − lr·∇L(w_t) until ‖∇L(w_t)‖ ≤ tol, `steps` updates, or divergence (the one loop of
    gradcli.training.loop, each variable a parameter of its own so a message names the one that broke)."""
    import numpy as np

    names = list(model.variables)
    points, losses, norms = [w0], [loss0], [float(np.linalg.norm(grad0))]

    def objective(theta: dict) -> tuple[float, dict]:
        loss, g = model.objective(np.array([theta[n] for n in names], dtype=np.float64))
        return loss, {n: g[i] for i, n in enumerate(names)}

    def record(theta: dict, loss: float, grads: dict) -> None:
        points.append(np.array([theta[n] for n in names], dtype=np.float64))
        losses.append(loss)
        norms.append(float(np.linalg.norm([grads[n] for n in names])))

    run = descend(objective, {n: np.float64(v) for n, v in zip(names, w0)}, lr, steps, progress, label="descent",
                  stop=lambda grads: float(np.linalg.norm([grads[n] for n in names])) <= tol, record=record)
    reason = run.reason
    result = DescentResult("", list(model.variables), {}, {}, lr, steps, tol, np.array(points),
                           np.array(losses), np.array(norms))
    result.converged = reason is None and norms[-1] <= tol
    if reason is None and not result.converged and len(losses) > 1 and losses[-1] > losses[0] \
            and norms[-1] > norms[0]:
        reason = (f"the loss grew from {losses[0]:.6g} to {losses[-1]:.6g} and ‖∇L‖ from {norms[0]:.3g} to "
                  f"{norms[-1]:.3g}: the iterates moved away from the minimum")
    result.diverged, result.divergence = reason is not None, reason
    return result


def _point_text(names: list[str], w) -> str:
    return ", ".join(f"{n} = {float(v):g}" for n, v in zip(names, w))


# ------------------------------------------------------------------------------------- L, ∇L and Hessian


class _Model:
    """L and ∇L of the trained variables (constants substituted): SymPy compiled, else the engine; and
    SymPy's Hessian (None when SymPy could not build it in time)."""

    def __init__(self, node: E.Node, text: str, variables: list[str], constants: Mapping[str, float]):
        self.node, self.text, self.variables, self.constants = node, text, variables, dict(constants)
        self.notes: list[str] = []
        self.hessian_exprs = None
        self.trained_syms: list = []
        try:
            self._symbolic()
            self.source = "symbolic"
        except TimeBoundError as err:
            self.notes.append(f"SymPy could not build the gradient in time ({err.message}); the engine computed it, "
                              "and there is no Hessian analysis")
            self.objective = self._engine
            self.source = "backprop"

    def _symbolic(self) -> None:
        import numpy as np
        import sympy

        from gradcli.symbolic import calculus as S

        from gradcli.symbolic import compile as SN

        from gradcli.symbolic import convert as SC

        syms = {n: SC.symbol(n) for n in E.free_names(self.node)}
        value = SC.as_scalar(SC.to_sympy(self.node, syms))
        if isinstance(value, sympy.MatrixBase):
            raise ShapeError(f"descent minimises a scalar function, but this one has shape {value.shape}",
                             where="expression")
        value = value.subs({syms[n]: _exact(v) for n, v in self.constants.items()})
        trained = [syms[n] for n in self.variables]
        grads = [S.partial(value, s) for s in trained]
        fn = SN.compile_numeric([value, *grads], trained)

        def objective(w: "np.ndarray") -> tuple[float, "np.ndarray"]:
            out = fn(*w)
            return float(out[0]), np.array(out[1:], dtype=np.float64)

        self.objective = objective
        self.trained_syms = trained
        self.hessian_exprs = [[S.partial(grads[i], trained[j]) for j in range(len(trained))]
                              for i in range(len(trained))]

    def _engine(self, w: "np.ndarray") -> tuple[float, "np.ndarray"]:
        import numpy as np

        from gradcli.numerics.engine import backward, evaluate, leaf

        env = {n: leaf(v, n, const=True) for n, v in self.constants.items()}
        env.update({n: leaf(float(v), n) for n, v in zip(self.variables, w)})
        try:
            out = evaluate(self.node, env, text=self.text)
        except (DomainError, GradcliError) as err:
            if isinstance(err, ShapeError):
                raise
            return math.nan, np.full(len(self.variables), math.nan)
        if out.data.size != 1:
            raise ShapeError(f"descent minimises a scalar function, but this one has shape {out.data.shape}",
                             where="expression")
        grads = backward(out)
        return (float(out.data.reshape(-1)[0]),
                np.array([float(np.asarray(grads.get(n, 0.0)).reshape(-1)[0]) for n in self.variables]))

    def is_quadratic(self) -> bool | None:
        """The Hessian is constant: no entry depends on a trained variable (None: no symbolic Hessian)."""
        if self.hessian_exprs is None:
            return None
        trained = set(self.trained_syms)
        return all(not (h.free_symbols & trained) for row in self.hessian_exprs for h in row)

    def hessian_formula(self) -> list[list[str]] | None:
        from gradcli.symbolic import calculus as S
        from gradcli.symbolic import printing as SP
        if self.hessian_exprs is None:
            return None
        return [[SP.to_text(S.simplified(h, 0.5)) for h in row] for row in self.hessian_exprs]

    def hessian_at(self, w: "np.ndarray") -> tuple["np.ndarray", str]:
        """H at w: SymPy's entries compiled, or central differences of ∇L where they cannot be compiled
        or are not finite there (relu's DiracDelta)."""
        import numpy as np


        from gradcli.symbolic import compile as SN


        if self.hessian_exprs is not None:
            try:
                flat = [h for row in self.hessian_exprs for h in row]
                values = np.array(SN.compile_numeric(flat, self.trained_syms)(*w), dtype=np.float64)
                if np.all(np.isfinite(values)):
                    n = len(self.variables)
                    return values.reshape(n, n), "symbolic"
            except GradcliError:
                pass
        return self._fd_hessian(w), "finite differences"

    def _fd_hessian(self, w: "np.ndarray") -> "np.ndarray":
        import numpy as np

        from gradcli.numerics.finite_diff import step_size

        n = w.size
        H = np.empty((n, n))
        for i in range(n):
            h = float(step_size(w[i], _EPS ** (1 / 3)))
            up, down = w.copy(), w.copy()
            up[i] += h
            down[i] -= h
            H[:, i] = (self.objective(up)[1] - self.objective(down)[1]) / (up[i] - down[i])
        return 0.5 * (H + H.T)


def _exact(v: float):
    """A constant for SymPy: a short decimal as the exact rational it names (10 -> 10, 0.1 -> 1/10), so the
    formulas print as written; anything longer as a Float."""
    import sympy

    text = repr(float(v))
    if len(text) <= 10 and "e" not in text and "inf" not in text and "nan" not in text:
        return sympy.Rational(text)
    return sympy.Float(v)


def _analysis(H: "np.ndarray", lr: float, variables: list[str], at: dict[str, float] | None,
              source: str) -> HessianAnalysis:
    """Eigen-decomposition of the symmetric H: the coordinates for a diagonal H, else ascending."""
    import numpy as np

    H = 0.5 * (H + H.T)
    if not np.any(H - np.diag(np.diag(H))):
        values, vectors = np.diag(H).copy(), np.eye(H.shape[0])
    else:
        values, vectors = np.linalg.eigh(H)
    return HessianAnalysis(H, values, vectors, [_direction(v, variables) for v in vectors.T], lr, at, source)


def _direction(v: "np.ndarray", names: list[str]) -> str:
    """A unit vector as text: the variable's name for a coordinate axis, else its combination."""
    import numpy as np

    big = np.flatnonzero(np.abs(v) > 1e-12)
    if big.size == 1:
        return names[int(big[0])] if v[big[0]] > 0 else f"-{names[int(big[0])]}"
    terms = []
    for i in big:
        c = float(v[i])
        terms.append(f"{'-' if c < 0 else '+'} {abs(c):.4g}*{names[i]}")
    text = " ".join(terms)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _analyse(result: DescentResult, model: _Model, grad0: "np.ndarray") -> None:
    """Fill in the Hessian analysis: constant H and the predicted steps for a quadratic, else local."""
    import numpy as np

    names = result.variables
    result.quadratic = model.is_quadratic()
    result.hessian_formula = model.hessian_formula()
    if result.quadratic:
        H, source = model.hessian_at(result.points[0])
        result.analysis = _analysis(H, result.lr, names, None, source)
        result.prediction, result.predicted_steps, note = predict(result.analysis, grad0, result.tol)
        if note:
            result.notes.append(note)
        if result.prediction_agrees is False and result.prediction == "converges" and not result.diverged \
                and not result.converged and (result.predicted_steps or 0) <= result.steps_run:
            result.notes.append(f"the run did not reach ‖∇L‖ ≤ {result.tol:g} although ρ predicts it by step "
                                f"{result.predicted_steps}: float64 rounding keeps ‖∇L‖ near "
                                f"{result.grad_norms[-1]:.2g}; a larger --tol is reachable")
        return
    if result.quadratic is False:
        result.notes.append("L is not quadratic (its Hessian depends on the trained variables): the analysis is "
                            "local, at the start and at the final point")
    for which, index in (("local_start", 0), ("local_end", -1)):
        w = result.points[index]
        H, source = model.hessian_at(w)
        if np.all(np.isfinite(H)):
            setattr(result, which, _analysis(H, result.lr, names, dict(zip(names, map(float, w))), source))


def predict(analysis: HessianAnalysis, grad0: "np.ndarray", tol: float) -> tuple[str, int | None, str | None]:
    """(prediction, steps, note) for a quadratic: the smallest t with sqrt(Σ ρ_i^(2t) q_i²) ≤ tol, where
    q = Vᵀ∇L(w_0) are the gradient's components along the eigenvectors."""
    import numpy as np

    q = analysis.eigenvectors.T @ np.asarray(grad0, dtype=np.float64)
    total = float(np.linalg.norm(q))
    if total <= tol:
        return "converges", 0, None
    rho = np.asarray(analysis.rho, dtype=np.float64)
    active = np.abs(q) > 16 * _EPS * total
    q, rho = q[active], rho[active]
    mag = np.abs(rho)
    if np.any(mag > 1 + 1e-12):
        return "diverges", None, ("|ρ| > 1 along " + ", ".join(
            d for d, a, r in zip(analysis.directions, active, np.abs(analysis.rho)) if a and r > 1 + 1e-12)
            + ": those components grow every step")
    stuck = mag >= 1 - 1e-12
    if float(np.linalg.norm(q[stuck])) > tol:
        return "stalls", None, ("|ρ| = 1 along " + ", ".join(
            d for d, a, r in zip(analysis.directions, active, np.abs(analysis.rho)) if a and r >= 1 - 1e-12)
            + ": that component of the gradient never shrinks")
    floor = float(np.sum(np.square(q[stuck])))  # |ρ| = 1 components that are within tol keep their size
    q, mag = q[~stuck], mag[~stuck]

    def norm(t: int) -> float:
        if t == 0:
            return total
        with np.errstate(divide="ignore", under="ignore"):
            logs = 2 * t * np.log(mag) + 2 * np.log(np.abs(q))
        return math.sqrt(float(np.sum(np.exp(logs))) + floor)

    hi = 1
    while norm(hi) > tol:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if norm(mid) <= tol else (mid, hi)
    return "converges", hi, None


# ---------------------------------------------------------------------------------------------- landscape


@dataclass
class Landscape:
    """What `--plot` draws: L on a grid around the path (two variables), L along one variable, or (more
    variables) only the loss per step."""

    kind: str  # 'contour' | 'curve' | 'loss'
    names: list[str]
    x: "np.ndarray | None" = None  # grid axis of the first variable
    y: "np.ndarray | None" = None  # grid axis of the second
    z: "np.ndarray | None" = None  # L on the grid: (len(y), len(x)) for a contour, (len(x),) for a curve
    path: "np.ndarray | None" = None  # the points drawn (those inside the box)


def landscape(result: DescentResult, resolution: int = 160) -> Landscape:
    """L around the path, for the picture: the box holds every point up to the first whose loss passes
    100 × the start's (so a diverging run still shows where it went wrong), with a margin."""
    import numpy as np

    from gradcli.numerics import forward

    names = result.variables
    if len(names) > 2:
        return Landscape("loss", names)
    keep = np.abs(result.losses) <= 100 * max(abs(result.losses[0]), 1e-300)
    last = int(np.argmin(keep)) if not keep.all() else keep.size
    path = result.points[:max(last, 2)]
    lo, hi = path.min(axis=0), path.max(axis=0)
    span = np.maximum(hi - lo, 0.25 * np.maximum(1.0, np.abs(path).max(axis=0)))
    lo, hi = lo - 0.15 * span, hi + 0.15 * span
    axes = [np.linspace(lo[i], hi[i], resolution) for i in range(len(names))]
    env: dict[str, Any] = {n: np.array([v]) for n, v in result.constants.items()}  # shared by every grid point
    if len(names) == 1:
        env[names[0]] = axes[0]
        z = forward.evaluate(E.parse(result.expression), env, batch=True).reshape(resolution)
        return Landscape("curve", names, axes[0], None, z, path)
    X, Y = np.meshgrid(axes[0], axes[1])
    env[names[0]], env[names[1]] = X.ravel(), Y.ravel()
    z = forward.evaluate(E.parse(result.expression), env, batch=True).reshape(X.shape)
    return Landscape("contour", names, axes[0], axes[1], z, path)
