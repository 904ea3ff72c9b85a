"""Rendering a PlotData: the terminal plot (Unicode braille or block characters), JSON, Markdown, and
images through matplotlib — the PNG helpers here also draw `train`'s loss curve and serve `descent`.

The terminal plot is a canvas of `width` x `height` character cells; a braille cell holds 2 x 4 dots, a
block cell 2 x 2 quadrants. Each panel (f, then f' when asked) has a y-axis gutter on the left (labels
at the top, middle and bottom rows), the curve drawn as line segments between consecutive finite
samples (a gap breaks the line), kinks marked ◆ on f's curve and ▲ on the x axis, and x labels below.

matplotlib is imported only inside the image functions (it is the `plot` extra); when it is missing they
raise a GradcliError that names the extra, so the CLI exits 2 with that message before doing any work.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from gradcli.errors import GradcliError
from gradcli.text import number

KINK_MARK = "◆"
AXIS_KINK = "▲"
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
DPI = 100

_BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # dot bit at [row][column] of a cell
_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"  # index = bits: 1 upper left, 2 upper right, 4 lower left, 8 lower right

# ------------------------------------------------------------------------------------------- the canvas


class Canvas:
    """Character cells with sub-cell dots: (px, py) with px in [0, 2·width), py in [0, rows·height)
    counted from the top; rows = 4 for braille, 2 for blocks. Dots outside are dropped."""

    def __init__(self, width: int, height: int, chars: str = "braille"):
        self.width, self.height = width, height
        self.braille = chars == "braille"
        self.sub = 4 if self.braille else 2
        self.bits = [[0] * width for _ in range(height)]
        self.marks: dict[tuple[int, int], str] = {}

    @property
    def dots_x(self) -> int:
        return 2 * self.width

    @property
    def dots_y(self) -> int:
        return self.sub * self.height

    def dot(self, px: int, py: int) -> None:
        if 0 <= px < self.dots_x and 0 <= py < self.dots_y:
            row, col = divmod(py, self.sub)[0], px // 2
            if self.braille:
                self.bits[row][col] |= _BRAILLE[py % 4][px % 2]
            else:
                self.bits[row][col] |= 1 << ((py % 2) * 2 + px % 2)

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Dots along the segment (in dot coordinates; y clamped just outside the canvas first, so a
        segment towards a huge value costs no more than one crossing the whole canvas)."""
        lo, hi = -1.0, float(self.dots_y)
        y0, y1 = min(max(y0, lo), hi), min(max(y1, lo), hi)
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(steps + 1):
            t = i / steps
            self.dot(round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t))

    def mark(self, px: int, py: int, char: str) -> None:
        """Put `char` in the cell holding dot (px, py) (if it is on the canvas)."""
        if 0 <= px < self.dots_x and 0 <= py < self.dots_y:
            self.marks[(py // self.sub, px // 2)] = char

    def rows(self) -> list[str]:
        out = []
        for r, bits in enumerate(self.bits):
            cells = []
            for c, b in enumerate(bits):
                if (r, c) in self.marks:
                    cells.append(self.marks[(r, c)])
                elif self.braille:
                    cells.append(chr(0x2800 + b) if b else " ")
                else:
                    cells.append(_QUADRANTS[b])
            out.append("".join(cells))
        return out


# ------------------------------------------------------------------------------------------ the panels


def y_limits(values, ylim: tuple[float, float] | None) -> tuple[float, float]:
    """The y range of a panel: `ylim`, else the finite values' min and max (widened when they are equal)."""
    if ylim is not None:
        return ylim
    finite = [float(v) for v in values if math.isfinite(float(v))]
    if not finite:
        return -1.0, 1.0
    lo, hi = min(finite), max(finite)
    if lo == hi:
        pad = max(1.0, abs(lo)) * 0.5
        return lo - pad, hi + pad
    return lo, hi


def panel(title: str, x, y, lo: float, hi: float, ylim: tuple[float, float] | None, width: int, height: int,
          chars: str, kinks: Sequence[tuple[float, float | None]] = ()) -> list[str]:
    """One plot as text lines: title, `height` canvas rows behind a y-axis gutter, the x axis (▲ at kinks)
    and its labels. `kinks` are (x, y) pairs; y=None marks the axis only."""
    canvas = Canvas(width, height, chars)
    ymin, ymax = y_limits(y, ylim)

    def px(v: float) -> float:
        return (v - lo) / (hi - lo) * (canvas.dots_x - 1)

    def py(v: float) -> float:
        return (ymax - v) / (ymax - ymin) * (canvas.dots_y - 1)

    prev = None
    for xv, yv in zip(x, y):
        xv, yv = float(xv), float(yv)
        if not math.isfinite(yv):
            prev = None
            continue
        point = (px(xv), py(yv))
        if prev is None:
            if ymin <= yv <= ymax:
                canvas.dot(round(point[0]), round(point[1]))
        elif not _leaps(prev[1], point[1], canvas.dots_y - 1):
            canvas.line(*prev, *point)
        prev = point
    columns = []
    for kx, ky in kinks:
        column = round(px(kx))
        columns.append(min(max(column // 2, 0), width - 1))
        if ky is not None and math.isfinite(ky) and ymin <= ky <= ymax:
            canvas.mark(column, round(py(ky)), KINK_MARK)

    labels = {0: number(ymax, 4), height - 1: number(ymin, 4)}
    if height >= 5:
        labels.setdefault(height // 2, number(ymax - (ymax - ymin) * (height // 2) / (height - 1), 4))
    gutter = max(len(s) for s in labels.values()) + 1
    lines = [title]
    for r, row in enumerate(canvas.rows()):
        label = labels.get(r)
        lines.append((label.rjust(gutter - 1) + " ┤" if label is not None else " " * gutter + "│") + row)
    axis = ["─"] * width
    for c in columns:
        axis[c] = AXIS_KINK
    lines.append(" " * gutter + "└" + "".join(axis))
    lines.append(" " * (gutter + 1) + _x_labels(lo, hi, width))
    return lines


def _leaps(y0: float, y1: float, bottom: float) -> bool:
    """A segment from above the canvas to below it (or back): a pole such as tan's, not drawn."""
    return (y0 < 0 and y1 > bottom) or (y0 > bottom and y1 < 0)


def _x_labels(lo: float, hi: float, width: int) -> str:
    """lo at the left, hi at the right, and 0 at its column when it lies inside and there is room."""
    left, right = number(lo, 4), number(hi, 4)
    row = [" "] * width
    row[:len(left)] = left
    start = max(width - len(right), len(left) + 1)
    row[start:start + len(right)] = right
    if lo < 0 < hi:
        c = round((0 - lo) / (hi - lo) * (width - 1))
        if len(left) + 1 < c < start - 1 and row[c - 1] == row[c] == row[c + 1] == " ":
            row[c] = "0"
    return "".join(row).rstrip()


# --------------------------------------------------------------------------------------------- formats


def _kink_text(k) -> str:
    return (f"{k.function}({k.argument}) at {number(k.x, 8)}: f = {number(k.value, 8)}, "
            f"slope {number(k.left, 6)} from the left, {number(k.right, 6)} from the right")


def table(d) -> str:
    """The terminal plot(s) and notes on kinks and gaps."""
    var = d.variable
    if d.file is not None:
        lines = [f"wrote {d.file}: f({var}) = {d.expression}" + (f" and f'({var}) = {d.derivative_formula}"
                 if d.derivative is not None else "") + f" on [{number(d.lo)}, {number(d.hi)}], {d.points} points"]
        return "\n".join(lines + _notes(d))
    lines = panel(f"f({var}) = {d.expression}    {var} in [{number(d.lo)}, {number(d.hi)}]", d.x, d.y, d.lo, d.hi,
                  d.ylim, d.width, d.height, d.chars, [(k.x, k.value) for k in d.kinks])
    if d.derivative is not None:
        lines.append("")
        lines += panel(f"f'({var}) = {d.derivative_formula}", d.x, d.derivative, d.lo, d.hi, None, d.width,
                       d.height, d.chars, [(k.x, None) for k in d.kinks])
    lines.append("")
    return "\n".join(lines + _notes(d))


def _notes(d) -> list[str]:
    lines = []
    if d.kinks:
        lines.append(f"kinks ({KINK_MARK} on f, {AXIS_KINK} on the axis):")
        lines += [f"  {_kink_text(k)}" for k in d.kinks]
        if d.kinks_not_marked:
            lines.append(f"  ... and {d.kinks_not_marked} more not marked")
    else:
        lines.append("kinks: none in the range")
    if d.gaps:
        where = f" ({'; '.join(d.domain_notes)})" if d.domain_notes else ""
        lines.append(f"gaps: f is not defined at {d.gaps} of {d.points} points{where}; they are left blank")
    if d.derivative is not None and "step(" in (d.derivative_formula or ""):
        lines.append("step(u) is the Heaviside step (0 for u < 0, 1 for u > 0): relu's derivative")
    if d.derivative is not None and "sign(" in (d.derivative_formula or ""):
        lines.append("sign(u) is -1, 0 or 1 with u: abs's derivative")
    if d.derivative is not None and d.derivative_gaps:
        lines.append(f"gaps: f' is not finite at {d.derivative_gaps} of {d.points} points")
    return lines


def _finite(v: Any):
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v if math.isfinite(v) else None


def to_dict(d) -> dict:
    """The JSON object of `gradcli plot` (keys may be added, never renamed); gaps are null."""
    return {
        "expression": d.expression,
        "variable": d.variable,
        "range": [d.lo, d.hi],
        "points": d.points,
        "x": [float(v) for v in d.x],
        "y": _finite([float(v) for v in d.y]),
        "derivative": None if d.derivative is None else {
            "formula": d.derivative_formula, "latex": d.derivative_latex,
            "y": _finite([float(v) for v in d.derivative])},
        "kinks": [{"x": k.x, "function": k.function, "argument": k.argument, "value": _finite(k.value),
                   "left": _finite(k.left), "right": _finite(k.right)} for k in d.kinks],
        "kinks_not_marked": d.kinks_not_marked,
        "gaps": d.gaps,
        "domains": list(d.domain_notes),
        "file": d.file,
    }


def json_text(d) -> str:
    return json.dumps(to_dict(d))


def markdown(d) -> str:
    """The terminal plot in a code block, with f' and the kinks as text."""
    from gradcli.render.document import md_code

    out = [f"### Plot of {md_code(d.expression)} on [{number(d.lo)}, {number(d.hi)}]", ""]
    if d.derivative is not None:
        out += [f"Derivative (SymPy): {md_code(d.derivative_formula)}", ""]
    out += ["```text", table(d), "```", ""]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------ images


def require_matplotlib(option: str) -> None:
    """GradcliError (exit 2) naming the `plot` extra when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GradcliError("drawing an image needs matplotlib, which is not installed: "
                           "pip install 'gradcli[plot]' (or pip install matplotlib)", where=option) from None


def check_image_target(path: str | Path, option: str) -> None:
    """Fail before any work on a target that cannot be written: the suffix, the directory, matplotlib."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise GradcliError(f"{path.name!r}: the image is written as {', '.join(IMAGE_SUFFIXES)} "
                           "(chosen by the file's extension)", where=option)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise GradcliError(f"the directory {str(parent)!r} does not exist", where=option)
    if path.is_dir():
        raise GradcliError(f"{str(path)!r} is a directory", where=option)
    require_matplotlib(option)


def figure(size: tuple[int, int], ncols: int = 1):
    """(Figure, axes) of `size` pixels, drawn by the Agg backend without pyplot's global state."""
    require_matplotlib("--plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save(fig, path: str | Path, option: str) -> None:
    """Write the figure (format from the extension) at exactly its pixel size."""
    try:
        fig.savefig(str(path), dpi=DPI)
    except OSError as err:
        raise GradcliError(f"cannot write {str(path)!r}: {err.strerror or err}", where=option) from None


def write_image(d, path: str | Path, size: tuple[int, int], option: str = "-o") -> None:
    """f (and f' beside it) as an image: gaps left open, kinks marked with a dot and a dotted line."""
    import numpy as np

    fig, axes = figure(size, 2 if d.derivative is not None else 1)
    panels = [(axes[0], d.y, f"$f({d.variable})$ = {d.expression}", "C0")]
    if d.derivative is not None:
        panels.append((axes[1], d.derivative, f"$f'({d.variable})$ = {d.derivative_formula}", "C3"))
    for ax, y, title, color in panels:
        ys = np.where(np.isfinite(y), y, np.nan)
        ax.plot(d.x, ys, color=color, linewidth=1.8)
        ax.set_title(mpl_text(title), fontsize=10)
        ax.set_xlabel(mpl_text(d.variable))
        ax.set_xlim(d.lo, d.hi)
        ax.axhline(0, color="0.75", linewidth=0.8, zorder=0)
        ax.grid(True, color="0.92")
        for k in d.kinks:
            ax.axvline(k.x, color="0.55", linestyle=":", linewidth=1)
        if ax is axes[0]:
            if d.ylim is not None:
                ax.set_ylim(*d.ylim)
            kx = [k.x for k in d.kinks if math.isfinite(k.value)]
            ky = [k.value for k in d.kinks if math.isfinite(k.value)]
            if kx:
                ax.plot(kx, ky, "D", color="C1", markersize=6, label="kink", zorder=3)
                ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    save(fig, path, option)


def write_loss_image(r, path: str | Path, size: tuple[int, int], option: str = "--plot") -> None:
    """A TrainResult's loss curve L(θ_t) against the step t (log scale when the losses are positive and
    span more than two decades)."""
    import numpy as np

    fig, (ax,) = figure(size)
    losses = np.asarray(r.loss_history, dtype=np.float64)
    steps = np.arange(losses.size)
    ax.plot(steps, losses, color="C0", linewidth=1.5)
    positive = losses[np.isfinite(losses)]
    if positive.size and np.all(positive > 0) and positive.max() / positive.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    status = "diverged" if r.diverged else ("converged" if r.converged else "not converged")
    ax.set_title(mpl_text(f"{r.name or r.file}: lr {number(r.lr)}, {r.steps_run} steps, {status}"), fontsize=10)
    ax.grid(True, color="0.92")
    fig.tight_layout()
    save(fig, path, option)


def mpl_text(text: str) -> str:
    """User text for matplotlib: `$` would start mathtext, so it is escaped (except in our own $f(x)$)."""
    if text.startswith("$f"):
        head, _, rest = text.partition("$ ")
        return head + "$ " + rest.replace("$", r"\$")
    return text.replace("$", r"\$")
