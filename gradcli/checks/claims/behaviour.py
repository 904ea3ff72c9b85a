"""`behaviour` claims: plain gradient descent over the problem, then `converges`, `diverges`, `symmetric`,
`learns`, `fails_to_learn` as the problem-file format defines them (the definitions are gradcli.training.train's).

Small problems run train.py's loop on the loss and gradient compiled once from SymPy (with the engine's
relu'(0) = 0); larger ones run on the engine.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.formatting import matrix_text
from gradcli.checks.claims.net_tensors import net_tensors
from gradcli.checks.claims.outcome import Outcome
from gradcli.errors import GradcliError
from gradcli.io.models import Claim
from gradcli.symbolic import convert as SC
from gradcli.symbolic.lambdify_forms import numpy_modules
from gradcli.text import number
from gradcli.training.loop import descend, param_norm

COMPILE_MAX_PARAMS = 256  # trained entries up to which gradient descent runs on a compiled SymPy gradient
COMPILE_SECONDS = 10.0  # time bound of building that compiled gradient (else the engine is used)


def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """The claimed behaviour of gradient descent (train: lr, steps, params), from one cached run."""
    t = claim.settings.train
    kind = claim.claim
    tol = claim.settings.tol
    if ctx.model.net is None and kind in ("learns", "fails_to_learn", "symmetric"):
        what = "a net's predictions (yhat) with its targets (y)" if kind != "symmetric" else \
            "the hidden units of a net's layers"
        raise ctx.fail(claim, f"{kind} compares {what}; this problem has a function:, not a net:", "claim")
    key = (t.lr, t.steps, _frozen(t.params), _frozen(t.constants))
    if key not in ctx.memo["behaviour"]:
        ctx.memo["behaviour"][key] = _train_net(ctx, t) if ctx.model.net is not None else _train_function(ctx, t)
    result = ctx.memo["behaviour"][key]
    holds = result.holds(kind, tol)
    why = _behaviour_text(kind, result, tol, holds)
    return Outcome("correct" if holds else "wrong", why, _run_summary(result), None,
                   f"gradient descent, {result.steps_run} of {result.steps} steps")


def _train_net(ctx: ClaimContext, t) -> Any:
    """Gradient descent on the net's params with train.py's loop; the loss and its gradient compiled
    once from SymPy when the net is small (else the engine, through train.train)."""
    from gradcli.training import train as T

    net = ctx.model.net
    names = T.trained_params(net)
    theta0 = {n: np.array(net.params[n], dtype=np.float64) for n in names}
    objective = compiled_objective(ctx, names, {**net.inputs, **net.params})
    if objective is None:
        return T.train(net, lr=t.lr, steps=t.steps)
    run = descend(objective, theta0, t.lr, t.steps)
    final = {**net.params, **run.theta}
    result = T.TrainResult(
        file=net.file, name=net.name, kind="net", lr=t.lr, steps=t.steps, steps_run=run.steps_run,
        loss_history=run.history, params=run.theta, initial_params=theta0, trained=names,
        diverged=run.diverged, divergence=run.reason, last_step_norm=run.last_step,
        param_norm=param_norm(run.theta), reduce=net.data.reduce if net.data is not None else None,
        examples=len(net.data) if net.data is not None else 1)
    result.prediction_name = T.prediction_name(net)
    examples = ([{"x": x, "y": y} for x, y in zip(net.data.x, net.data.y)] if net.data is not None else [{}])
    if result.prediction_name is not None and not run.diverged:
        try:
            for example in examples:
                env = net_tensors(net, {**net.inputs, **final, **example})
                result.predictions.append(T.Prediction(
                    x=env["x"].data if "x" in env else None, y=env["y"].data if "y" in env else None,
                    yhat=np.array(env[result.prediction_name].data)))
        except GradcliError as err:
            result.predictions = []
            result.notes.append(f"no predictions at the final parameters: {err.message}")
    result.symmetry = T.symmetry_report(net, {**net.params, **theta0}, final)
    return result


def _train_function(ctx: ClaimContext, t) -> Any:
    from gradcli.training import train as T

    model = ctx.model
    constants = {**model.constants, **(t.constants or {})}
    theta0 = {n: np.array(v, dtype=np.float64) for n, v in t.params.items()}
    objective = compiled_objective(ctx, list(theta0), dict(t.constants or {}))
    if objective is None:
        return T.train_function(model.output, theta0, constants, t.lr, t.steps,
                                where={n: d.node for n, d in model.defs.items()}, file=ctx.problem.path)
    run = descend(objective, theta0, t.lr, t.steps)
    return T.TrainResult(file=ctx.problem.path, name=ctx.problem.title, kind="function", lr=t.lr,
                         steps=t.steps, steps_run=run.steps_run, loss_history=run.history, params=run.theta,
                         initial_params=theta0, trained=list(theta0), diverged=run.diverged,
                         divergence=run.reason, last_step_norm=run.last_step, param_norm=param_norm(run.theta))


def compiled_objective(ctx: ClaimContext, trained: list[str], fixed: Mapping[str, np.ndarray]) -> Callable | None:
    """θ -> (L(θ), {name: ∂L/∂name}) from SymPy's loss and gradient, lambdified once (with cse).

    The same math as the engine's, including its relu'(0) = 0; with `data:` every example goes through
    one vectorised call and the loss is reduced like the spec says. The variables that are not trained
    take their values from `fixed`, as arguments, so runs that differ only in those values share one
    compiled function. None when the problem is too big to compile quickly (callers use the engine).
    """
    from gradcli.timebound import bounded

    model = ctx.model
    net = model.net
    variables = sorted(model.shapes) if net is not None else model.variables()
    per_example = set(net.example_names) if net is not None else set()
    if not all(n in trained or n in fixed or n in per_example for n in variables):
        return None
    sizes = {n: int(np.prod(model.shape(n))) if model.shape(n) else 1 for n in variables}
    if sum(sizes[n] for n in trained if n in sizes) > COMPILE_MAX_PARAMS:
        return None
    key = (tuple(trained), tuple(variables))
    if key not in ctx.memo["compiled objective"]:
        ctx.memo["compiled objective"][key] = bounded(COMPILE_SECONDS, _build_objective, ctx, trained, variables,
                                      fallback=None, catch=(GradcliError, Exception))
    fn = ctx.memo["compiled objective"][key]
    if fn is None:
        return None
    return _objective(ctx, fn, trained, variables, fixed)


def _build_objective(ctx: ClaimContext, trained: list[str], variables: list[str]) -> Callable | None:
    """The lambdified [L, ∂L/∂θ_1, ...] over every variable's entries (in `variables` order)."""
    model = ctx.model
    net = model.net
    env, _, _ = model.env(variables)
    loss = SC.as_scalar(env["loss"] if net is not None else SC.to_sympy(model.output, env))
    if isinstance(loss, sympy.MatrixBase):
        return None
    param_syms = [s for n in trained for s in SC.flat_symbols(env[n])]
    grads = [_engine_kinks(sympy.diff(loss, s)) for s in param_syms]
    all_syms = [s for n in variables for s in SC.flat_symbols(env[n])]
    safe = {s: sympy.Symbol(f"_a{k}", real=True) for k, s in enumerate(all_syms)}
    return sympy.lambdify([safe[s] for s in all_syms], [e.xreplace(safe) for e in (loss, *grads)],
                          modules=[_STEP_FORMS, *numpy_modules()], cse=True, dummify=False)


def _objective(ctx: ClaimContext, fn: Callable, trained: list[str], variables: list[str],
               fixed: Mapping[str, np.ndarray]) -> Callable:
    """θ -> (L, grads) calling the compiled `fn` (all examples of `data:` at once, then reduced)."""
    model = ctx.model
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
    loss = number(result.loss_history[-1]) if result.loss_history else "—"
    params = ", ".join(f"{n} = {matrix_text(v)}" for n, v in result.params.items())
    text = f"after {result.steps_run} of {result.steps} steps: loss {loss}; {params}"
    return text if len(text) <= 300 else text[:297] + "..."


def _behaviour_text(kind: str, result: Any, tol: float | None, holds: bool) -> str:
    """Why the behaviour holds or not, in the problem-file format's terms (the definitions are gradcli.training.train's)."""
    from gradcli.training import train as T

    summary = _run_summary(result)
    if kind == "converges":
        if result.diverged:
            return f"does not converge: it diverges ({result.divergence})"
        limit = (T.CONVERGENCE_TOL if tol is None else tol) * max(1.0, result.param_norm)
        return (f"{'converges' if holds else 'does not converge'}: the last step moves θ by "
                f"{number(result.last_step_norm)} {'≤' if holds else '>'} tol·max(1, ‖θ‖) = {number(limit)}; {summary}")
    if kind == "diverges":
        if result.diverged:
            return f"diverges: {result.divergence}"
        return (f"does not diverge: the loss stays finite and below 1e12 × its start (from "
                f"{number(result.loss_history[0])} to {number(result.loss_history[-1])}); {summary}")
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
    preds = ", ".join(matrix_text(p.yhat) for p in result.predictions)
    learned = bool(errors) and errors[worst] <= limit
    return (f"{'every' if learned else 'not every'} prediction is within {limit:g} of its target (worst: example "
            f"{worst}, off by {number(errors[worst] if errors else math.nan)}); predictions {preds}; {summary}")
