"""Rendering a TrainResult: the terminal view (loss curve, parameters, predictions, symmetry, dead units),
the JSON object, Markdown and LaTeX. Nothing is computed here beyond laying numbers out."""

from __future__ import annotations

import math

from gradcli.render import dumps

from gradcli.text import number

PLOT_WIDTH = 60
PLOT_HEIGHT = 8
_EIGHTHS = " ▁▂▃▄▅▆▇█"
_SPARK = "▁▂▃▄▅▆▇█"

# ----------------------------------------------------------------------------------------------- JSON


def plain(value):
    """An array as JSON shows it (the network-spec format): a 0-d array a number, a column (n, 1) a flat list, a matrix
    nested lists; entries that are not finite become null."""
    import numpy as np

    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    return _finite(a.tolist())


def _scalar_or_plain(value):
    """A one-entry prediction or target as a number, anything larger as `plain` does."""
    import numpy as np

    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64)
    return _finite(float(a.reshape(-1)[0])) if a.size == 1 else plain(a)


def _finite(v):
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def _learns(r):
    from gradcli.errors import GradcliError

    try:
        return r.learns()
    except GradcliError:  # no targets: the question does not apply
        return None


def to_dict(r) -> dict:
    """The JSON object of `gradcli train` (keys may be added, never renamed)."""
    from gradcli.training.train import max_abs_error

    return {
        "file": r.file,
        "name": r.name,
        "kind": r.kind,
        "lr": r.lr,
        "steps": r.steps,
        "steps_run": r.steps_run,
        "trained": r.trained,
        "reduce": r.reduce,
        "examples": r.examples,
        "forward": r.forward,
        "loss": r.loss_text,
        "loss_history": _finite(list(r.loss_history)),
        "initial_loss": _finite(r.initial_loss),
        "final_loss": _finite(r.final_loss),
        "min_loss": _finite(r.min_loss),
        "converged": r.converged,
        "last_step_norm": _finite(r.last_step_norm) if r.last_step_norm is not None else None,
        "param_norm": _finite(r.param_norm),
        "diverged": r.diverged,
        "divergence": r.divergence,
        "learns": _learns(r),
        "params": {n: plain(v) for n, v in r.params.items()},
        "initial_params": {n: plain(v) for n, v in r.initial_params.items()},
        "predictions": [
            {"x": plain(p.x) if p.x is not None else None, "y": _scalar_or_plain(p.y), "yhat": _scalar_or_plain(p.yhat),
             "error": _finite(max_abs_error(p.yhat, p.y)) if p.y is not None else None}
            for p in r.predictions
        ],
        "prediction": r.prediction_name,
        "symmetric": r.symmetric,
        "symmetric_units": [_group(g) for g in r.symmetric_units],
        "symmetry_broken": [_group(g) for g in r.symmetry if not g.still_identical],
        "dead_relu_units": [{"site": d.site, "pre_activation": d.pre_activation, "units": d.units, "size": d.size,
                             "hidden": d.hidden} for d in r.dead_relu_units],
        "notes": r.notes,
    }


def _group(g) -> dict:
    return {"weight": g.weight, "bias": g.bias, "next": g.next_weight, "units": g.units,
            "layer_size": g.layer_size, "transposed": g.transposed}


def json_text(r) -> str:
    return dumps(to_dict(r))


# ---------------------------------------------------------------------------------------- loss curve


def _samples(history: list[float], width: int) -> tuple[list[float], list[int]]:
    """At most `width` values of the history, evenly spaced, always with the first and the last."""
    n = len(history)
    if n <= width:
        return list(history), list(range(n))
    idx = sorted({round(i * (n - 1) / (width - 1)) for i in range(width)})
    return [history[i] for i in idx], idx


def _scale(values: list[float]) -> tuple[list[float], bool]:
    """log10 of the values when they are all > 0 and span more than two decades, else the values."""
    lo, hi = min(values), max(values)
    if lo > 0 and hi / lo > 100:
        return [math.log10(v) for v in values], True
    return list(values), False


def sparkline(history: list[float], width: int = PLOT_WIDTH) -> str:
    """One line of ▁..█, one character per sample (log scale when the loss spans decades)."""
    values, _ = _samples(history, width)
    ys, _ = _scale(values)
    lo, hi = min(ys), max(ys)
    if hi == lo:
        return _SPARK[0] * len(ys)
    return "".join(_SPARK[min(7, int((y - lo) / (hi - lo) * 8))] for y in ys)


def loss_plot(history: list[float], width: int = PLOT_WIDTH, height: int = PLOT_HEIGHT) -> list[str]:
    """The loss curve as `height` text rows of filled eighth-blocks with a y axis (top, bottom values)
    and an x axis (step 0 ... last step); log scale when the loss spans more than two decades."""
    values, idx = _samples(history, width)
    ys, log = _scale(values)
    lo, hi = min(ys), max(ys)
    span = hi - lo
    levels = [height * 4 if span == 0 else max(1, round((y - lo) / span * height * 8)) for y in ys]
    top, bottom = (10 ** hi, 10 ** lo) if log else (hi, lo)
    labels = {0: number(top, 4), height - 1: number(bottom, 4)}
    if log:
        labels[0] += " (log)"
    pad = max(len(s) for s in labels.values())
    rows = []
    for r in range(height):
        base = (height - 1 - r) * 8
        cells = "".join(_EIGHTHS[max(0, min(8, lv - base))] for lv in levels)
        rows.append(f"{labels.get(r, ''):>{pad}} ┤{cells}")
    rows.append(" " * pad + " └" + "─" * len(levels))
    last = str(len(history) - 1)
    rows.append(" " * pad + "  0" + " " * max(1, len(levels) - 1 - len(last)) + last + "  step")
    return rows


def _summary(r) -> str:
    best = min(range(len(r.loss_history)), key=lambda i: r.loss_history[i])
    return (f"first {number(r.initial_loss, 6)} · last {number(r.final_loss, 6)} · "
            f"min {number(r.min_loss, 6)} (step {best})")


# ------------------------------------------------------------------------------------------- wording


def _settings(r) -> str:
    where = f"over {r.examples} examples ({r.reduce})" if r.reduce else "on the inputs"
    return (f"gradient descent θ ← θ − η·∇L with η = {number(r.lr)}, {r.steps} steps, L {where}; "
            f"trained: {', '.join(r.trained)}")


def _status(r) -> tuple[str, str]:
    """The verdict line and its style."""
    if r.diverged:
        return (f"DIVERGED after {r.steps_run} of {r.steps} steps — {r.divergence}. The parameters shown are the "
                "last finite ones; try a smaller --lr.", "bold red")
    if r.converged:
        return (f"converged: the last step moved θ by {number(r.last_step_norm, 3)} ≤ 1e-6·max(1, ‖θ‖) "
                f"(‖θ‖ = {number(r.param_norm, 4)})", "green")
    return (f"not converged: the last step moved θ by {number(r.last_step_norm, 3)} > 1e-6·max(1, ‖θ‖) "
            f"(‖θ‖ = {number(r.param_norm, 4)}); more --steps may help", "yellow")


def _units(units: list[int]) -> str:
    return ", ".join(str(u) for u in units)


def _group_text(g) -> str:
    rows = "columns" if g.transposed else "rows"
    parts = [f"{g.weight} {rows} {_units(g.units)}"]
    if g.bias:
        parts.append(f"{g.bias} entries {_units(g.units)}")
    if g.next_weight:
        parts.append(f"{g.next_weight} columns {_units(g.units)}")
    return " with ".join(parts[:1]) + (" (with " + " and ".join(parts[1:]) + ")" if len(parts) > 1 else "")


def symmetry_lines(r) -> list[tuple[str, str]]:
    """(text, style) lines of the symmetry report."""
    if not r.symmetry:
        return [("no units started identical: the initialisation breaks the symmetry", "dim")]
    out = []
    for g in r.symmetric_units:
        out.append((f"still identical after training: {_group_text(g)} — {len(g.units)} of {g.layer_size} units "
                    "act as one; gradient descent cannot break this symmetry", "bold yellow"))
    for g in r.symmetry:
        if not g.still_identical:
            out.append((f"started identical, now different: {_group_text(g)} (symmetry broken)", "green"))
    return out


def dead_lines(r) -> list[tuple[str, str]]:
    if not r.dead_relu:
        return [("no ReLU in the forward pass", "dim")]
    out = []
    for d in r.dead_relu:
        kind = "hidden" if d.hidden else "output"
        if d.units:
            out.append((f"{d.site} = relu({d.pre_activation}): {kind} units {_units(d.units)} of {d.size} are dead "
                        f"(pre-activation ≤ 0 on every example: their gradient is 0, they cannot recover)",
                        "bold yellow"))
        else:
            out.append((f"{d.site} = relu({d.pre_activation}): no dead units ({d.size} {kind} units)", "green"))
    return out


def _learn_line(r) -> tuple[str, str] | None:
    learns = _learns(r)
    if learns is None:
        return None
    if learns:
        return "learns: every prediction is within 0.1 of its target", "green"
    return "fails to learn: some prediction is more than 0.1 from its target", "bold yellow"


def _matrix_lines(value) -> list[str]:
    import numpy as np

    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return [number(float(a), 6)]
    if a.ndim == 2 and a.shape[1] == 1:
        return ["[" + ", ".join(number(v, 6) for v in a.reshape(-1)) + "]"]
    return ["[" + ", ".join(number(v, 6) for v in row) + "]" for row in a.reshape(a.shape[0], -1)]


def _entry_text(value) -> str:
    """A prediction or target: one entry as a number, more as `_matrix_lines` shows them."""
    import numpy as np

    a = np.asarray(value, dtype=np.float64)
    return number(float(a.reshape(-1)[0]), 6) if a.size == 1 else " ".join(_matrix_lines(a))


def _shape(value) -> str:
    import numpy as np

    s = np.shape(value)
    return "scalar" if s == () else "×".join(str(d) for d in s)


# --------------------------------------------------------------------------------------------- table


def table(r):
    """Rich renderables: settings, loss curve, status, final parameters, predictions, symmetry, dead units."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list = []
    head = Text()
    head.append("train ", style="bold")
    head.append(r.file)
    if r.name:
        head.append(f"  ({r.name})", style="dim")
    head.append("\n" + _settings(r), style="dim")
    if r.forward:
        head.append("\nforward" + (" (expanded from layers:)" if r.from_layers else "") + ":", style="dim")
        for line in r.forward:
            head.append(f"\n  {line}", style="dim")
    if r.loss_text:
        head.append(f"\nloss: {r.loss_text}", style="dim")
    parts.append(head)

    curve = Text("\nLoss curve\n", style="bold")
    curve.append("\n".join(loss_plot(r.loss_history)) + "\n")
    curve.append(_summary(r))
    parts.append(curve)
    text, style = _status(r)
    parts.append(Text(text, style=style))

    params = Table(title="Final parameters", title_justify="left")
    for col in ("param", "shape", "value"):
        params.add_column(col)
    for name, value in r.params.items():
        params.add_row(Text(name), Text(_shape(value)), Text("\n".join(_matrix_lines(value))))
    parts.append(params)

    if r.predictions:
        preds = Table(title="Predictions", title_justify="left")
        for col in ("#", "x", "y", f"{r.prediction_name} (final)", "|error|"):
            preds.add_column(col, justify="left" if col in ("#", "x") else "right")
        from gradcli.training.train import max_abs_error

        for i, p in enumerate(r.predictions):
            err = max_abs_error(p.yhat, p.y) if p.y is not None else None
            mark = "" if err is None else (" ✓" if err <= 0.1 else " ✗")
            preds.add_row(Text(str(i)), Text(" ".join(_matrix_lines(p.x)) if p.x is not None else "—"),
                          Text(_entry_text(p.y) if p.y is not None else "—"), Text(_entry_text(p.yhat)),
                          Text(("—" if err is None else number(err, 3)) + mark))
        parts.append(preds)
        line = _learn_line(r)
        if line:
            parts.append(Text(line[0], style=line[1]))

    if r.kind == "net":
        sym = Text("\nSymmetry (units that started identical)\n", style="bold")
        for text, style in symmetry_lines(r):
            sym.append(f"  {text}\n", style=style)
        sym.append("Dead ReLU units\n", style="bold")
        for text, style in dead_lines(r):
            sym.append(f"  {text}\n", style=style)
        parts.append(sym)
    for note in r.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


# ------------------------------------------------------------------------------------------ markdown


def markdown(r) -> str:
    from gradcli.training.train import max_abs_error

    out = [f"# Training `{r.file}`", ""]
    if r.name:
        out += [f"*{r.name}*", ""]
    out += [_settings(r) + ".", ""]
    if r.forward:
        out += ["```", *r.forward, f"loss = {r.loss_text}", "```", ""]
    out += ["## Loss curve", "", "```", *loss_plot(r.loss_history), "```", "", _summary(r) + ".", ""]
    out += [f"**{_status(r)[0]}**", ""]
    out += ["## Final parameters", "", "| param | shape | value |", "| --- | --- | --- |"]
    for name, value in r.params.items():
        out.append(f"| `{name}` | {_shape(value)} | {'<br>'.join(_matrix_lines(value))} |")
    out.append("")
    if r.predictions:
        out += [f"## Predictions ({r.prediction_name})", "", "| # | x | y | prediction | abs. error |",
                "| --- | --- | --- | --- | --- |"]
        for i, p in enumerate(r.predictions):
            err = max_abs_error(p.yhat, p.y) if p.y is not None else None
            out.append(f"| {i} | {' '.join(_matrix_lines(p.x)) if p.x is not None else '—'} | "
                       f"{_entry_text(p.y) if p.y is not None else '—'} | "
                       f"{_entry_text(p.yhat)} | {'—' if err is None else number(err, 3)} |")
        out.append("")
        line = _learn_line(r)
        if line:
            out += [line[0] + ".", ""]
    if r.kind == "net":
        out += ["## Symmetry", ""] + [f"- {t}" for t, _ in symmetry_lines(r)] + [""]
        out += ["## Dead ReLU units", ""] + [f"- {t}" for t, _ in dead_lines(r)] + [""]
    out += [f"> note: {n}" for n in r.notes]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------- LaTeX


def latex(r) -> str:
    """A complete LaTeX document (gradcli.render.document): settings, the update rule, the first/last loss, the
    status, the final parameters as matrices, the predictions and the symmetry / dead-unit reports."""
    from gradcli.training.train import max_abs_error
    from gradcli.render.document import latex_document, tex_table, tex_text

    body = [rf"\emph{{{tex_text(r.name)}}}", ""] if r.name else []
    body.append(tex_text(_settings(r)) + ".")
    out = [r"\begin{align*}",
           rf"\theta_{{t+1}} &= \theta_t - \eta\,\nabla L(\theta_t), \quad \eta = {_tex_num(r.lr)},\ "
           rf"t = 0,\dots,{r.steps_run - 1}\\",
           rf"L(\theta_0) &= {_tex_num(r.initial_loss)}, \quad L(\theta_{{{r.steps_run}}}) = {_tex_num(r.final_loss)}"]
    for name, value in r.params.items():
        out[-1] += r"\\"
        out.append(f"{_tex_name(name)} &= {_tex_matrix(value)}")
    out.append(r"\end{align*}")
    body += out
    body.append(rf"\textbf{{{tex_text(_status(r)[0])}.}}")
    if r.predictions:
        rows = []
        for i, p in enumerate(r.predictions):
            err = max_abs_error(p.yhat, p.y) if p.y is not None else None
            rows.append([str(i), tex_text(" ".join(_matrix_lines(p.x)) if p.x is not None else "--"),
                         tex_text(_entry_text(p.y)) if p.y is not None else "--", tex_text(_entry_text(p.yhat)),
                         "--" if err is None else number(err, 3)])
        body += [rf"\subsection*{{Predictions ({tex_text(r.prediction_name)})}}",
                 *tex_table([r"\#", "x", "y", "prediction", r"abs.\ error"], rows, "lllrr")]
        line = _learn_line(r)
        if line:
            body.append(tex_text(line[0]) + ".")
    if r.kind == "net":
        body += [r"\subsection*{Symmetry}", *[tex_text(t) + r"\par" for t, _ in symmetry_lines(r)],
                 r"\subsection*{Dead ReLU units}", *[tex_text(t) + r"\par" for t, _ in dead_lines(r)]]
    body += [tex_text(f"note: {n}") + r"\par" for n in r.notes]
    return latex_document(rf"Training \texttt{{{tex_text(r.file)}}}", body)


def _tex_num(v) -> str:
    s = number(v, 6)
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return s


def _tex_name(name: str) -> str:
    import re

    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    return f"{m.group(1)}_{{{m.group(2)}}}" if m else name.replace("_", r"\_")


def _tex_matrix(value) -> str:
    import numpy as np

    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return _tex_num(float(a))
    rows = a.reshape(a.shape[0], -1)
    body = r" \\ ".join(" & ".join(_tex_num(v) for v in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"
