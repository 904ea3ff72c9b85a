"""The Python API: the functions behind the commands, returning the result objects the CLI renders.

    import gradcli
    r = gradcli.derive("ln(x)+exp(y)*z", at={"x": 1, "y": 3, "z": 2})
    r.partials["y"].symbolic, r.verdict                  # 40.171..., 'agree'
    gradcli.to_dict(r)                                   # exactly what `gradcli derive --json` prints

Every function raises a `gradcli.errors.GradcliError` for bad input (where the CLI exits 2); a result
whose gradients disagree is returned, not raised (`result.verdict`, `result.exit_code`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping, Sequence


def derive(expression: str, at: str | Mapping[str, float] | None = None,
           where: Sequence[str] | Mapping[str, str] = (), *, simplify_seconds: float = 3.0):
    """`gradcli derive`: every partial of `expression` at `at` (symbolic, backprop, numeric) -> DeriveResult.

    `at`: {"x": 1, ...} or "x=1,y=3" or "1,3" (alphabetical); `where`: {"a": "(w+x+y)^2"} or ["a=(w+x+y)^2"].
    """
    from gradcli.checks.derive import derive as run

    return run(expression, at, list(where) if not isinstance(where, Mapping) else where,
               simplify_seconds=simplify_seconds)


def check(path: str | os.PathLike, *, fast: bool = False, seed: int = 0, jobs: int | None = 1,
          shard: str | None = None, junit: str | os.PathLike | None = None, show: Sequence[str] = (),
          cost: bool = False, equations: bool = True):
    """`gradcli check PATH`: a network spec -> NetCheckResult; a problem file or a directory -> BankResult.

    `jobs=1` checks files in this process (None: one worker per core, as the CLI does).
    """
    from pathlib import Path

    from gradcli.checks.checking import check_path
    from gradcli.checks.options import CheckOptions

    options = CheckOptions(fast=fast, show=list(show), cost=cost, equations=equations, jobs=jobs, shard=shard,
                           junit=Path(junit) if junit is not None else None, seed=seed)
    return check_path(Path(path), options)


def check_problems(path: str | os.PathLike, *, seed: int = 0, jobs: int | None = 1, shard: str | None = None,
                   junit: str | os.PathLike | None = None):
    """Every claim of a problem file, or of every *.yaml/*.yml under a directory -> BankResult
    (`.ok`, `.exit_code`, one ProblemResult per file)."""
    from pathlib import Path

    from gradcli.checks.bank import check_bank
    from gradcli.checks.options import CheckOptions

    options = CheckOptions(jobs=jobs, shard=shard, junit=Path(junit) if junit is not None else None, seed=seed)
    return check_bank(Path(path), options)


def jacobian(expression: str, wrt: str, shapes: Mapping[str, str | Sequence[int]] | None = None,
             at: Mapping[str, Any] | Sequence[str] | None = None, *, seed: int = 0):
    """`gradcli jacobian`: the Jacobian of `expression` with respect to `wrt` -> JacobianResult.

    `shapes`: {"X": "3x4", "w": (4,)}; `at`: {"X": [[...]], "c": 2} or ["c=2"]; unset values are seeded.
    """
    from gradcli.checks.jacobian import jacobian as run

    return run(expression, wrt, shapes, at, seed=seed)


def train(path: str | os.PathLike, *, lr: float | None = None, steps: int | None = None):
    """`gradcli train FILE`: gradient descent on a network spec -> TrainResult."""
    from gradcli.io.spec import load_net
    from gradcli.training.train import train as run

    return run(load_net(path), lr=lr, steps=steps)


def descent(expression: str, start: str | Mapping[str, float], at: str | Mapping[str, float] | None = None, *,
            lr: float, steps: int = 1000, tol: float = 1e-8):
    """`gradcli descent`: gradient descent on a function with the Hessian's analysis -> DescentResult.

    `start` names the trained variables ({"w1": 1, "w2": -1}), `at` the constants ({"a": 10, "b": 1}).
    """
    from gradcli.training.descent import descent as run

    return run(expression, start, at, lr=lr, steps=steps, tol=tol)


def plot(expression: str, range: str | Sequence[float] = (-10.0, 10.0), *, derivative: bool = False,
         points: int | None = None):
    """`gradcli plot`'s data: f (and f') sampled on `range`, kinks located -> PlotData."""
    from gradcli.training.plot import plot as run

    return run(expression, range, derivative=derivative, points=points)


def check_grad(f: Callable[..., Any], grad_f: Callable[..., Any], x: Any, *args: Any, threshold: float = 1e-6,
               batched: bool = False, kinks: bool = True):
    """Check your own gradient: grad_f(x, *args) against finite differences of f(x, *args) -> CheckGradResult
    (`.ok`, `.verdict`, `.max_rel_error`, `.worst_index`, `.analytic`, `.numeric`, `.kinks`; print it)."""
    from gradcli.checks.check_grad import check_grad as run

    return run(f, grad_f, x, *args, threshold=threshold, batched=batched, kinks=kinks)


def to_dict(result: Any) -> dict:
    """The JSON object the CLI prints for `result` (`--json`), as a dict."""
    if type(result).__name__ == "CheckGradResult":
        return result.as_dict()
    from gradcli.render import render

    return json.loads(render(result, "json"))


def render(result: Any, format: str = "table") -> Any:
    """`result` as the CLI shows it: 'table' (text or a Rich renderable), 'json', 'markdown' or 'latex'."""
    from gradcli.render import render as run

    return run(result, format)


__all__ = ["check", "check_grad", "check_problems", "derive", "descent", "jacobian", "plot",
           "render", "to_dict", "train"]
