"""The one gradient-descent loop, run by `train` (nets and functions), `descent` and behaviour claims.

    θ_{t+1} = θ_t − η·∇L(θ_t)   for t = 0 .. steps−1, every parameter an array in a dict

It stops early when `stop(∇L(θ_t))` holds (descent's ‖∇L‖ ≤ tol), and diverges — stops, saying why — when a
parameter becomes non-finite, when L or ∇L does, when L(θ) raises an overflow or domain error, or when
|L| passes DIVERGENCE_FACTOR·max(|L(θ_0)|, 1). A bad L(θ_0) is bad input: its error propagates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from gradcli.errors import DomainError, OverflowValueError
from gradcli.progress import ProgressCallback, stepper

if TYPE_CHECKING:
    import numpy as np

DIVERGENCE_FACTOR = 1e12  # |L| past this many times max(|L(θ_0)|, 1) counts as diverged

Objective = Callable[[dict], tuple[float, dict]]  # θ -> (L(θ), ∇L(θ)), both keyed like θ


@dataclass
class DescentRun:
    theta: dict
    history: list[float]  # L(θ_0), L(θ_1), ...
    steps_run: int = 0
    diverged: bool = False
    reason: str | None = None
    last_step: float | None = None  # ‖θ_t − θ_{t−1}‖ of the last step


def descend(objective: Objective, theta: dict, lr: float, steps: int, progress: ProgressCallback | None = None, *,
            label: str = "training", stop: Callable[[dict], bool] | None = None,
            record: Callable[[dict, float, dict], None] | None = None) -> DescentRun:
    """Run the loop from `theta`; `record(θ_t, L(θ_t), ∇L(θ_t))` hears every step that stays finite."""
    import numpy as np

    loss, grads = objective(theta)
    if not math.isfinite(loss):
        raise OverflowValueError(f"the loss at the initial parameters is not finite ({loss})")
    run = DescentRun(theta=theta, history=[loss])
    limit = DIVERGENCE_FACTOR * max(abs(loss), 1.0)
    report = stepper(progress, steps, label)
    for t in range(1, steps + 1):
        if stop is not None and stop(grads):
            break
        step = {n: lr * g for n, g in grads.items()}
        new = {n: theta[n] - step[n] for n in theta}
        bad = [n for n, v in new.items() if not np.all(np.isfinite(v))]
        if bad:
            return _diverge(run, f"step {t}: {', '.join(bad)} became non-finite")
        try:
            loss, grads = objective(new)
        except (OverflowValueError, DomainError) as err:
            run.theta, run.steps_run, run.last_step = new, t, param_norm(step)
            return _diverge(run, f"step {t}: {err.message}")
        run.theta, run.steps_run, run.last_step = new, t, param_norm(step)
        theta = new
        if not math.isfinite(loss):
            return _diverge(run, f"step {t}: the loss is not finite ({loss})")
        if not all(np.all(np.isfinite(g)) for g in grads.values()):
            return _diverge(run, f"step {t}: the gradient is not finite (L = {loss})")
        run.history.append(loss)
        if record is not None:
            record(theta, loss, grads)
        if abs(loss) > limit:
            return _diverge(run, f"step {t}: the loss reached {loss:.3g}, more than 1e12 × its start")
        report(t)
    return run


def _diverge(run: DescentRun, reason: str) -> DescentRun:
    run.diverged, run.reason = True, reason
    return run


def param_norm(arrays: Mapping[str, "np.ndarray"]) -> float:
    """‖θ‖: the Euclidean norm of every entry of every array together."""
    import numpy as np

    return float(math.sqrt(sum(float(np.sum(np.square(v))) for v in arrays.values())))
