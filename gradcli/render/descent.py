"""Rendering a DescentResult: the terminal report (trajectory, Hessian, ρ, stable and optimal steps,
predicted against actual steps), the JSON object, Markdown, and the contour-and-path image."""

from __future__ import annotations

import json
import math
from pathlib import Path

from gradcli.text import number

TABLE_ROWS = 14  # trajectory rows in the terminal and Markdown
JSON_POINTS = 201  # the most trajectory entries in JSON (the first, the last, evenly spaced between)


def _finite(v):
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    v = float(v)
    return v if math.isfinite(v) else None


def _step(r, t: int) -> dict:
    return {"step": t, "point": {n: _finite(v) for n, v in zip(r.variables, r.points[t])},
            "loss": _finite(r.losses[t]), "grad_norm": _finite(r.grad_norms[t])}


def _analysis_dict(a) -> dict | None:
    if a is None:
        return None
    return {"at": a.at, "hessian": _finite(a.hessian.tolist()), "eigenvalues": _finite(list(a.eigenvalues)),
            "directions": list(a.directions), "rho": _finite(list(a.rho)), "stable_lr_max": _finite(a.stable_lr_max),
            "optimal_lr": _finite(a.optimal_lr), "optimal_rho": _finite(a.optimal_rho),
            "condition_number": _finite(a.condition_number), "source": a.source}


def to_dict(r) -> dict:
    """The JSON object of `gradcli descent` (keys may be added, never renamed). The summary keys
    (hessian_eigenvalues, rho, stable_lr_max, optimal_lr) hold the constant Hessian's values for a quadratic,
    else the local ones at the final point; `local` then holds the start and the end."""
    a = r.hessian
    sampled = r.sample(JSON_POINTS, head=10)
    return {
        "expression": r.expression,
        "variables": list(r.variables),
        "constants": dict(r.constants),
        "start": dict(r.start),
        "lr": r.lr,
        "steps": r.steps,
        "tol": r.tol,
        "trajectory": [_step(r, t) for t in sampled],
        "trajectory_sampled": len(sampled) < r.steps_run + 1,
        "final": _step(r, r.steps_run),
        "converged": r.converged,
        "diverged": r.diverged,
        "divergence": r.divergence,
        "quadratic": r.quadratic,
        "hessian": None if a is None else _finite(a.hessian.tolist()),
        "hessian_formula": r.hessian_formula,
        "hessian_eigenvalues": None if a is None else _finite(list(a.eigenvalues)),
        "directions": None if a is None else list(a.directions),
        "rho": None if a is None else _finite(list(a.rho)),
        "stable_lr_max": None if a is None else _finite(a.stable_lr_max),
        "optimal_lr": None if a is None else _finite(a.optimal_lr),
        "optimal_rho": None if a is None else _finite(a.optimal_rho),
        "condition_number": None if a is None else _finite(a.condition_number),
        "prediction": r.prediction,
        "predicted_steps": r.predicted_steps,
        "actual_steps": r.actual_steps,
        "prediction_agrees": r.prediction_agrees,
        "local": None if r.analysis is not None or (r.local_start is None and r.local_end is None) else {
            "start": _analysis_dict(r.local_start), "end": _analysis_dict(r.local_end)},
        "gradient_source": r.gradient_source,
        "binding_note": r.binding_note,
        "notes": list(r.notes),
    }


def json_text(r) -> str:
    return json.dumps(to_dict(r))


# ------------------------------------------------------------------------------------------------- text


def _values(d: dict) -> str:
    return ", ".join(f"{k} = {number(v, 8)}" for k, v in d.items())


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return ["  ".join(c.rjust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]


def _trajectory_rows(r) -> tuple[list[str], list[list[str]]]:
    header = ["step", *r.variables, "L", "‖∇L‖"]
    rows, previous = [], None
    for t in r.sample(TABLE_ROWS, head=4):
        if previous is not None and t > previous + 1:
            rows.append(["…"] + [""] * (len(header) - 1))
        rows.append([str(t), *(number(v, 8) for v in r.points[t]), number(r.losses[t], 8),
                     f"{r.grad_norms[t]:.3g}"])
        previous = t
    return header, rows


def _outcome(r) -> str:
    if r.converged:
        return (f"converged after {r.steps_run} step{'s' if r.steps_run != 1 else ''}: ‖∇L‖ = "
                f"{r.grad_norms[-1]:.3g} ≤ {r.tol:g}")
    if r.diverged:
        return f"diverged: {r.divergence}"
    return (f"not converged after {r.steps_run} steps: ‖∇L‖ = {r.grad_norms[-1]:.3g} > {r.tol:g} "
            f"(L = {number(r.final_loss, 8)})")


def _analysis_lines(a, lr: float) -> list[str]:
    header = ["direction", "λ (eigenvalue)", "ρ = 1 − η·λ", "|ρ|"]
    rows = [[d, number(lam, 8), number(rho, 8), number(abs(rho), 6)]
            for d, lam, rho in zip(a.directions, a.eigenvalues, a.rho)]
    lines = ["  " + line for line in _grid(header, rows)]
    if a.stable_lr_max is not None:
        verdict = "stable" if a.stable else "unstable: some |ρ| ≥ 1"
        lines.append(f"  stable steps: 0 < η < 2/λ_max = {number(a.stable_lr_max, 8)}  (η = {number(lr)}: {verdict})")
    else:
        lines.append("  no step is stable: λ_max ≤ 0 (L has no minimum along that direction)")
    if a.optimal_lr is not None:
        lines.append(f"  fastest step: η* = 2/(λ_min + λ_max) = {number(a.optimal_lr, 8)}, where every "
                     f"|ρ| ≤ (κ − 1)/(κ + 1) = {number(a.optimal_rho, 6)}  (κ = λ_max/λ_min = "
                     f"{number(a.condition_number, 6)})")
    elif a.lambda_min <= 0:
        lines.append("  λ_min ≤ 0: no step makes every direction contract (no unique minimum)")
    return lines


def _prediction_lines(r) -> list[str]:
    if r.prediction is None:
        return []
    if r.prediction == "converges":
        actual = (f"the run stopped at step {r.actual_steps}" if r.converged
                  else f"the run did not get there in {r.steps_run} steps")
        head = f"predicted steps to ‖∇L‖ ≤ {r.tol:g}: {r.predicted_steps}; {actual}"
    elif r.prediction == "diverges":
        run = "diverged" if r.diverged else "did not converge" if not r.converged else "converged"
        head = f"predicted: diverges (some |ρ| > 1); the run {run}"
    else:
        head = "predicted: stalls (some |ρ| = 1: that component never shrinks); the run " + (
            "did not converge" if not r.converged else "converged")
    agree = "agree" if r.prediction_agrees else "DISAGREE"
    return [f"{head} — prediction and run {agree}"]


def table(r) -> str:
    """The terminal report."""
    lines = [f"gradient descent on L = {r.expression}"]
    if r.constants:
        lines.append(f"constants: {_values(r.constants)}")
    lines.append(f"start: {_values(r.start)};  η = {number(r.lr)};  at most {r.steps:,} steps;  "
                 f"stop at ‖∇L‖ ≤ {r.tol:g}")
    if r.binding_note:
        lines.append(f"({r.binding_note})")
    lines.append("")
    header, rows = _trajectory_rows(r)
    lines += _grid(header, rows)
    lines += ["", _outcome(r), f"final: {_values(r.final)};  L = {number(r.final_loss, 10)}", ""]
    if r.analysis is not None:
        H = "; ".join(", ".join(row) for row in r.hessian_formula) if r.hessian_formula else \
            "; ".join(", ".join(number(v, 8) for v in row) for row in r.analysis.hessian)
        lines.append(f"Hessian (constant: L is quadratic): [{H}]")
        if r.analysis.directions == list(r.variables):
            lines.append("the Hessian is diagonal: every step multiplies each coordinate's distance to the minimum "
                         "by its own ρ, w_i(t+1) − w_i* = ρ_i·(w_i(t) − w_i*)")
        lines += _analysis_lines(r.analysis, r.lr)
        lines += _prediction_lines(r)
    else:
        for title, a in (("start", r.local_start), ("final point", r.local_end)):
            if a is None:
                continue
            lines.append(f"local Hessian at the {title} ({_values(a.at or {})}; {a.source}):")
            lines += _analysis_lines(a, r.lr)
    if r.notes:
        lines.append("")
        lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


def markdown(r) -> str:
    """The same report for a write-up: settings, trajectory table, the ρ analysis."""
    from gradcli.render.document import md_code, md_table, md_text

    out = [f"## Gradient descent on {md_code(r.expression)}", ""]
    if r.constants:
        out.append(f"Constants: {md_text(_values(r.constants))}. ")
    out += [f"Start: {md_text(_values(r.start))}; learning rate η = {number(r.lr)}; at most {r.steps} steps; "
            f"stop when ‖∇L‖ ≤ {r.tol:g}.", ""]
    header, rows = _trajectory_rows(r)
    out += md_table([md_text(h) for h in header], [[md_text(c) for c in row] for row in rows],
                    right=range(1, len(header)))
    out += ["", md_text(_outcome(r)) + ".", ""]
    a = r.hessian
    if a is not None:
        where = "constant (L is quadratic)" if r.analysis is not None else "at the final point (L is not quadratic)"
        out += [f"Hessian {where}; with η = {number(r.lr)}:", ""]
        out += md_table(["direction", "λ", "ρ = 1 − ηλ"],
                        [[md_code(d, cell=True), number(lam, 8), number(rho, 8)]
                         for d, lam, rho in zip(a.directions, a.eigenvalues, a.rho)], right=(1, 2))
        out.append("")
        if a.stable_lr_max is not None:
            out.append(f"- Stable for 0 < η < 2/λ_max = {number(a.stable_lr_max, 8)}.")
        if a.optimal_lr is not None:
            out.append(f"- Fastest: η* = 2/(λ_min + λ_max) = {number(a.optimal_lr, 8)}, worst |ρ| = "
                       f"{number(a.optimal_rho, 6)}.")
        out += [f"- {md_text(line)}" for line in _prediction_lines(r)]
        out.append("")
    out += [f"> {md_text(n)}" for n in r.notes]
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------ image


def write_image(r, land, path: str | Path, size: tuple[int, int], option: str = "--plot") -> None:
    """Contours of L with the path (two variables), L with the path on it (one), or the loss per step."""
    import numpy as np

    from gradcli.render.plot import mpl_text, figure, save

    fig, (ax,) = figure(size)
    title = f"L = {r.expression}, η = {number(r.lr)}: " + (
        "converged" if r.converged else "diverged" if r.diverged else "not converged") + f" after {r.steps_run} steps"
    if land.kind == "contour":
        z = np.where(np.isfinite(land.z), land.z, np.nan)
        finite = z[np.isfinite(z)]
        levels = np.unique(np.quantile(finite, np.linspace(0, 1, 24))) if finite.size else None
        if levels is not None and levels.size >= 2:
            ax.contourf(land.x, land.y, z, levels=levels, cmap="viridis", alpha=0.85)
            ax.contour(land.x, land.y, z, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
        ax.plot(land.path[:, 0], land.path[:, 1], "-o", color="C3", markersize=2.5, linewidth=1)
        ax.plot(*land.path[0], "s", color="white", markeredgecolor="black", markersize=7, label="start")
        whole = land.path.shape[0] == r.points.shape[0]
        ax.plot(*land.path[-1], "*", color="gold", markeredgecolor="black", markersize=11,
                label="end" if whole else "last shown")
        ax.set_xlabel(mpl_text(land.names[0]))
        ax.set_ylabel(mpl_text(land.names[1]))
        ax.legend(loc="best", fontsize=8)
    elif land.kind == "curve":
        ax.plot(land.x, land.z, color="C0")
        losses = r.losses[:land.path.shape[0]]
        ax.plot(land.path[:, 0], losses, "-o", color="C3", markersize=3, linewidth=0.8)
        ax.set_xlabel(mpl_text(land.names[0]))
        ax.set_ylabel("L")
    else:
        ax.plot(np.arange(r.losses.size), r.losses, color="C0")
        positive = r.losses[np.isfinite(r.losses)]
        if positive.size and np.all(positive > 0) and positive.max() / positive.min() > 100:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("L")
    ax.set_title(mpl_text(title), fontsize=10)
    fig.tight_layout()
    save(fig, path, option)
