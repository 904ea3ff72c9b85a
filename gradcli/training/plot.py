"""Data for `gradcli plot`: a function of one variable sampled on a range, its derivative, its kinks.

* f is evaluated by the NumPy forward (`gradcli.forward`), all samples in one batched pass. A point
  outside f's domain (ln of a negative number, a pole) is a gap (nan), never an error; only a range on
  which f is defined nowhere is a DomainError.
* f' comes from SymPy (`gradcli.symbolic`: differentiate, simplify within a time bound, compile); where
  f' is not finite it is a gap too.
* Kinks come from the function table (`gradcli.functions`: relu and abs at 0): for every call of such a
  function in the tree, its argument g(x) is sampled on the same grid; where g(x) − k changes sign
  between two samples (or is 0 at one), bisection finds the crossing x*, kept when g(x*) is k to
  rounding (a pole of g, such as 1/x, changes sign without crossing and is dropped). Each kink carries
  f(x*) and the one-sided derivatives of f there (`finite_diff.one_sided`). The kinks' x* are added to
  the samples, so a plot draws the corner where it is.

Nothing here draws: `gradcli.render.plot` turns a PlotData into the terminal plot, JSON or a PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from gradcli.language import expr as E
from gradcli.language import functions as F
from gradcli.errors import BindingError, DomainError, GradcliError, ShapeError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_RANGE = (-10.0, 10.0)
MIN_POINTS, MAX_POINTS = 2, 100_000
MAX_KINKS = 200  # kinks located and marked; more are counted in a note
TERMINAL_WIDTH, TERMINAL_HEIGHT = 60, 15  # character cells of one terminal plot
MAX_CELLS = 1_000  # the most character cells one side of a terminal plot may have
PNG_SIZE = (900, 500)  # pixels
MAX_PIXELS = 10_000  # the most pixels one side of an image may have
_BISECTIONS = 80  # halvings of a bracket: far past float64 resolution (the loop stops when it cannot split)


@dataclass
class Kink:
    """A point where f is not differentiable: `function`'s argument crosses the function's kink."""

    x: float
    function: str  # 'relu' | 'abs'
    argument: str  # the argument as text
    value: float  # f(x)
    left: float  # derivative of f from the left at x
    right: float  # ... from the right


@dataclass
class PlotData:
    """Samples of f (and f') on [lo, hi]: the x are sorted, nan marks a gap (outside the domain)."""

    expression: str
    variable: str
    lo: float
    hi: float
    x: "np.ndarray"
    y: "np.ndarray"
    derivative: "np.ndarray | None" = None  # f' at x (None when not asked for)
    derivative_formula: str | None = None  # f' in gradcli's language
    derivative_latex: str | None = None
    kinks: list[Kink] = field(default_factory=list)
    kinks_not_marked: int = 0  # kinks past MAX_KINKS
    ylim: tuple[float, float] | None = None  # the y range asked for (None: fit the data)
    width: int = TERMINAL_WIDTH  # terminal plot, character cells
    height: int = TERMINAL_HEIGHT
    chars: str = "braille"  # 'braille' (2x4 dots a cell) | 'blocks' (2x2 quadrants)
    domain_notes: list[str] = field(default_factory=list)  # domains of the functions used, for gaps
    file: str | None = None  # the image written instead of the terminal plot

    @property
    def points(self) -> int:
        return int(self.x.size)

    @property
    def gaps(self) -> int:
        """Samples where f is not finite (outside its domain or at a pole)."""
        import numpy as np

        return int(np.count_nonzero(~np.isfinite(self.y)))

    @property
    def derivative_gaps(self) -> int:
        """Samples other than the kinks where f' is not finite."""
        import numpy as np

        if self.derivative is None:
            return 0
        return int(np.count_nonzero(~np.isfinite(self.derivative) & ~np.isin(self.x, [k.x for k in self.kinks])))


# ---------------------------------------------------------------------------------------- parsing options


def parse_range(text: str | Sequence[float], option: str = "--range") -> tuple[float, float]:
    """'-10:10' (or '-pi:pi', or a pair of numbers) -> (lo, hi) with lo < hi, both finite."""
    from gradcli.io.bindings import constant, split_top_level

    if not isinstance(text, str):
        try:
            lo, hi = (float(v) for v in text)
        except (TypeError, ValueError):
            raise GradcliError(f"a range is two numbers (lo, hi), got {text!r}", where=option) from None
    else:
        parts = split_top_level(text, ":")
        if len(parts) != 2 or not all(parts):
            raise GradcliError(f"a range is LO:HI such as -10:10, got {text!r}", where=option)
        try:
            lo, hi = (constant(p, name) for p, name in zip(parts, ("the low end", "the high end")))
        except GradcliError as err:
            raise GradcliError(err.message, where=option, detail=err.detail) from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise GradcliError(f"the range must be finite, got {lo:g}:{hi:g}", where=option)
    if not lo < hi:
        raise GradcliError(f"the range must go from low to high, got {lo:g}:{hi:g}", where=option)
    if (hi - lo) <= 64 * 2.220446049250313e-16 * max(abs(lo), abs(hi)):
        raise GradcliError(f"the range {lo:g}:{hi:g} is too narrow to sample in float64", where=option)
    return float(lo), float(hi)


def parse_size(text: str | Sequence[int], option: str = "--size", limit: int = MAX_PIXELS) -> tuple[int, int]:
    """'900x500' (or a pair) -> (width, height), whole numbers from 16 to `limit`."""
    if isinstance(text, str):
        w, sep, h = text.lower().replace("×", "x").partition("x")
        if not sep:
            raise GradcliError(f"a size is WIDTHxHEIGHT such as 900x500, got {text!r}", where=option)
        values = (w.strip(), h.strip())
    else:
        values = tuple(text)
    try:
        width, height = (int(v) for v in values)
    except (TypeError, ValueError):
        raise GradcliError(f"a size is two whole numbers WIDTHxHEIGHT such as 900x500, got {text!r}",
                           where=option) from None
    for v in (width, height):
        if not 16 <= v <= limit:
            raise GradcliError(f"each side of the size must be from 16 to {limit:,}, got {width}x{height}",
                               where=option)
    return width, height


# ----------------------------------------------------------------------------------------------- sampling


def plot(expression: str, range: str | Sequence[float] = DEFAULT_RANGE, *, derivative: bool = False,
         points: int | None = None, ylim: str | Sequence[float] | None = None, width: int = TERMINAL_WIDTH,
         height: int = TERMINAL_HEIGHT, chars: str = "braille") -> PlotData:
    """f = `expression` (one variable) sampled at `points` evenly spaced x on `range` (plus its kinks),
    and f' by SymPy when `derivative`. Default points: 4·width + 1 (two samples per braille dot column).

    Bad range, size or point count, no variable or more than one, a non-scalar f, and an f defined
    nowhere on the range are GradcliErrors (exit 2).
    """
    import numpy as np

    node = E.parse(expression)
    names = E.free_names(node)
    if len(names) != 1:
        found = f"it has {', '.join(names)}" if names else "it has none"
        raise BindingError(f"plot draws a function of one variable, such as sigmoid(x); {found}",
                           where="expression")
    var = names[0]
    lo, hi = parse_range(range)
    limits = parse_range(ylim, "--ylim") if ylim is not None else None
    _check_cells(width, height)
    if chars not in ("braille", "blocks"):
        raise GradcliError(f"chars is 'braille' or 'blocks', got {chars!r}", where="--chars")
    n = 4 * width + 1 if points is None else points
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_POINTS <= n <= MAX_POINTS:
        raise GradcliError(f"the number of points must be a whole number from {MIN_POINTS} to {MAX_POINTS:,}, "
                           f"got {n!r}", where="--points")

    f = _batched(node, var, expression)
    grid = np.linspace(lo, hi, n)
    y = f(grid)
    if not np.any(np.isfinite(y)):
        raise DomainError(f"{expression} is not defined anywhere on [{lo:g}, {hi:g}]"
                          + _domain_hint(node), where="--range")
    kinks, unmarked = _kinks(node, var, f, grid, expression)
    x = grid
    if kinks:
        x = np.unique(np.concatenate([grid, [k.x for k in kinks]]))
        y = f(x)
    data = PlotData(expression, var, lo, hi, x, y, kinks=kinks, kinks_not_marked=unmarked, ylim=limits,
                    width=width, height=height, chars=chars, domain_notes=_domains(node))
    if derivative:
        data.derivative, data.derivative_formula, data.derivative_latex = _derivative(node, var, x)
        data.derivative[np.isin(x, [k.x for k in kinks])] = np.nan  # f' does not exist at a kink
    return data


def _check_cells(width: int, height: int) -> None:
    for name, v, least in (("--width", width, 10), ("--height", height, 3)):
        if isinstance(v, bool) or not isinstance(v, int) or not least <= v <= MAX_CELLS:
            raise GradcliError(f"{name} must be a whole number of character cells from {least} to {MAX_CELLS}, "
                               f"got {v!r}", where=name)


def _batched(node: E.Node, var: str, text: str):
    """x (B,) -> f(x) (B,) through the NumPy forward; the value must be scalar-like."""
    import numpy as np

    from gradcli.numerics import forward

    def f(xs: "np.ndarray") -> "np.ndarray":
        xs = np.asarray(xs, dtype=np.float64).reshape(-1)
        out = forward.evaluate(node, {var: xs}, batch=True, text=text)
        out = out.reshape(out.shape[0], -1) if out.ndim > 1 else out.reshape(-1, 1)
        if out.shape[1] != 1:
            raise ShapeError(f"plot draws a scalar function, but this one has shape "
                             f"{tuple(forward.evaluate(node, {var: xs[:1]}, batch=True).shape[1:])}",
                             where="expression")
        return np.broadcast_to(out[:, 0], xs.shape).copy()

    return f


def _domains(node: E.Node) -> list[str]:
    """'ln: x > 0' for every function of the tree that has a restricted domain (in order of appearance)."""
    seen: dict[str, str] = {}
    with E.deep_recursion():
        for n in E.walk(node):
            if isinstance(n, E.Call):
                fn = F.lookup(n.func)
                if fn is not None and fn.domain and fn.name not in seen:
                    seen[fn.name] = f"{fn.name}: {fn.domain}"
    return list(seen.values())


def _domain_hint(node: E.Node) -> str:
    notes = _domains(node)
    return f" (domains: {'; '.join(notes)})" if notes else ""


def _derivative(node: E.Node, var: str, x: "np.ndarray") -> tuple["np.ndarray", str, str]:
    """f' at every x from SymPy's derivative (simplified within a time bound), and its text and LaTeX."""
    import numpy as np

    from gradcli.symbolic import calculus as S

    from gradcli.symbolic import compile as SN

    from gradcli.symbolic import convert as SC

    from gradcli.symbolic import printing as SP
    sym = SC.symbol(var)
    d = S.simplified(S.partial(SC.as_scalar(SC.to_sympy(node, {var: sym})), sym), 1.0)
    fn = SN.compile_numeric([d], [sym])
    values = np.array([fn(float(v))[0] for v in x], dtype=np.float64)
    return values, SP.to_text(d), SP.latex(d)


# ------------------------------------------------------------------------------------------------- kinks


def _kinks(node: E.Node, var: str, f, grid: "np.ndarray", text: str) -> tuple[list[Kink], int]:
    """Every x in the range where the argument of a kinked function crosses its kink (at most MAX_KINKS)."""
    import numpy as np

    from gradcli.numerics import finite_diff

    found: dict[float, Kink] = {}
    unmarked = 0
    with E.deep_recursion():
        calls = [n for n in E.walk(node) if isinstance(n, E.Call) and len(n.args) == 1
                 and (F.lookup(n.func) is not None and F.lookup(n.func).kinks)]
    for call in calls:
        g = _batched(call.args[0], var, text) if var in E.free_names(call.args[0]) else None
        if g is None:  # a constant argument: no crossing as x moves
            continue
        for k in F.lookup(call.func).kinks:
            for x in _crossings(g, grid, k):
                if x in found:
                    continue
                if len(found) >= MAX_KINKS:
                    unmarked += 1
                    continue
                value = float(f(np.array([x]))[0])
                left, right = finite_diff.one_sided(lambda X: f(X.reshape(-1)), np.array(x))
                found[x] = Kink(x, call.func, E.to_text(call.args[0]), value, left, right)
    return [found[x] for x in sorted(found)], unmarked


def _crossings(g, grid: "np.ndarray", k: float) -> list[float]:
    """The x where g(x) = k: sample points where it holds, and sign changes of g − k refined by bisection
    (kept only where g lands on k to rounding, so poles are not crossings)."""
    import numpy as np

    d = g(grid) - k
    exact = [float(x) for x in grid[d == 0]]
    finite = np.isfinite(d[:-1]) & np.isfinite(d[1:])
    change = np.flatnonzero(finite & (np.sign(d[:-1]) * np.sign(d[1:]) < 0))
    if change.size == 0:
        return exact
    a, b = grid[change].copy(), grid[change + 1].copy()
    da = d[change].copy()
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        if np.all((mid <= a) | (mid >= b)):
            break
        dm = g(mid) - k
        left = np.sign(dm) == np.sign(da)
        a = np.where(left, mid, a)
        da = np.where(left, dm, da)
        b = np.where(left, b, mid)
    # the crossing is the end of the final bracket where |g − k| is smaller
    ga, gb = g(a) - k, g(b) - k
    x = np.where(np.abs(ga) <= np.abs(gb), a, b)
    gx = np.minimum(np.abs(ga), np.abs(gb))
    scale = np.maximum(1.0, np.maximum(np.abs(d[change]), np.abs(d[change + 1])))
    keep = np.isfinite(gx) & (gx <= 1e-6 * scale)
    x = np.where(np.abs(x) <= 4 * np.finfo(np.float64).eps * np.abs(grid).max(), 0.0, x)  # 1e-26 is 0
    return sorted(set(exact) | {float(v) for v in x[keep]})
