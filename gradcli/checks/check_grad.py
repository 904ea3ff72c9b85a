"""`gradcli.check_grad(f, grad_f, x)`: check a hand-written gradient of your own NumPy function.

Like `scipy.optimize.check_grad`, but entry by entry, with relative errors, an error budget and kinks:

* numeric column: twice-extrapolated central differences of f (`finite_diff.gradient`) with their own
  error estimate e; f is called once per perturbed copy of x (or once per batch with `batched=True`,
  f(X) for X of shape (B, *x.shape) returning B values);
* each entry's verdict, as `gradcli check` gives it (`compare`): analytic a and numeric n agree when
  |a − n| ≤ max(threshold·max(|a|, |n|), 4e + rounding);
* kinks: the one-sided derivatives (`finite_diff.one_sided`) from the left and from the right disagree
  beyond their rounding error; there any analytic value between them (a subgradient) counts, verdict
  `kink` (relu or abs at 0);
* the odd one out of a disagreeing entry: the one-sided differences are a second, independent numeric
  opinion; when they agree with the central one and not with grad_f, grad_f is the suspect; when they
  agree with grad_f, the central difference is;
* the worst entry: the disagreeing one with the largest relative error (else the largest relative error
  among the smooth entries).

An exception raised by f or grad_f becomes a GradcliError naming the point it was called at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from gradcli.errors import GradcliError, ShapeError
from gradcli.numerics import compare, finite_diff
from gradcli.text import number

ONE_SIDED_GAIN = 60.0  # rounding error of left − right, in units of k·eps·F / h (see _kink_budget)
SHOWN_ENTRIES = 10  # entries listed by __str__


@dataclass(frozen=True)
class KinkEntry:
    """An entry of x where f has a kink: its one-sided derivatives differ."""

    index: tuple[int, ...]
    left: float
    right: float
    analytic: float


@dataclass
class CheckGradResult:
    """The check of grad_f against f at x. Arrays have x's shape."""

    x: np.ndarray
    value: float  # f(x)
    analytic: np.ndarray  # grad_f(x)
    numeric: np.ndarray  # central differences of f
    numeric_error: np.ndarray  # their estimated absolute error
    rel_error: np.ndarray  # |a − n| / max(|a|, |n|, 1e-300), entry by entry
    verdicts: np.ndarray  # 'agree' | 'kink' | 'disagree' per entry
    verdict: str  # the worst: 'disagree' if any entry does, else 'kink' if any, else 'agree'
    reason: str
    odd_one_out: str | None  # 'analytic' | 'numeric' | None (for the worst disagreeing entry)
    worst_index: tuple[int, ...] | None
    worst_analytic: float | None
    worst_numeric: float | None
    worst_rel_error: float | None
    kinks: list[KinkEntry] = field(default_factory=list)
    threshold: float = compare.THRESHOLD
    evaluations: int = 0  # points f was evaluated at
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No entry disagrees (kinks are fine when the analytic value lies between the one-sided ones)."""
        return self.verdict != "disagree"

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over the smooth entries (kinks are judged by their one-sided range)."""
        smooth = self.verdicts != "kink"
        if not np.any(smooth):
            return 0.0
        values = self.rel_error[smooth]
        return math.inf if np.any(np.isnan(values)) else float(np.max(values))

    @property
    def disagreeing(self) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in ix) for ix in np.argwhere(self.verdicts == "disagree")]

    @property
    def error_norm(self) -> float:
        """‖analytic − numeric‖₂: the number scipy.optimize.check_grad returns."""
        return float(np.linalg.norm((self.analytic - self.numeric).ravel()))

    def __bool__(self) -> bool:
        return self.ok

    def as_dict(self) -> dict:
        """Plain JSON-ready values: arrays as nested lists, non-finite numbers as None."""

        def plain(v):
            if isinstance(v, np.ndarray):
                return plain(v.tolist())
            if isinstance(v, (list, tuple)):
                return [plain(i) for i in v]
            if isinstance(v, float):
                return v if math.isfinite(v) else None
            return v

        return {
            "ok": self.ok, "verdict": self.verdict, "reason": self.reason, "odd_one_out": self.odd_one_out,
            "max_rel_error": plain(self.max_rel_error), "threshold": self.threshold,
            "worst": None if self.worst_index is None else {
                "index": list(self.worst_index), "analytic": plain(self.worst_analytic),
                "numeric": plain(self.worst_numeric), "rel_error": plain(self.worst_rel_error)},
            "x": plain(self.x), "value": plain(self.value), "analytic": plain(self.analytic),
            "numeric": plain(self.numeric), "numeric_error": plain(self.numeric_error),
            "rel_error": plain(self.rel_error), "verdicts": plain(self.verdicts),
            "kinks": [{"index": list(k.index), "left": plain(k.left), "right": plain(k.right),
                       "analytic": plain(k.analytic)} for k in self.kinks],
            "evaluations": self.evaluations, "notes": list(self.notes),
        }

    def __str__(self) -> str:
        lines = [f"check_grad: {self.verdict} — {self.reason}"]
        if self.worst_index is not None:
            lines.append(f"  worst entry {_index(self.worst_index)}: analytic {number(self.worst_analytic)}, numeric "
                         f"{number(self.worst_numeric)}, rel error {_err(self.worst_rel_error)}")
        lines.append(f"  max rel error {_err(self.max_rel_error)} over {self.rel_error.size} "
                     f"entr{'y' if self.rel_error.size == 1 else 'ies'} (threshold {self.threshold:g}); f(x) = "
                     f"{number(self.value)}; {self.evaluations} evaluations of f")
        if self.kinks:
            lines.append("  kinks: " + "; ".join(
                f"{_index(k.index)} left {number(k.left)}, right {number(k.right)}, analytic {number(k.analytic)}"
                for k in self.kinks[:SHOWN_ENTRIES]) + (" ..." if len(self.kinks) > SHOWN_ENTRIES else ""))
        lines += [f"  note: {n}" for n in self.notes]
        rows = _shown(self)
        if rows:
            header = ("entry", "analytic", "numeric", "rel error", "verdict")
            table = [header] + [(_index(ix), number(self.analytic[ix]), number(self.numeric[ix]),
                                 _err(self.rel_error[ix]), str(self.verdicts[ix])) for ix in rows]
            widths = [max(len(r[i]) for r in table) for i in range(len(header))]
            lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in table]
            if len(rows) < self.rel_error.size:
                lines.append(f"  ... {self.rel_error.size - len(rows)} more entries")
        return "\n".join(lines)


def _shown(r: CheckGradResult) -> list[tuple[int, ...]]:
    """Entries for the table: disagreeing ones (worst first), then kinks, then the rest, in index order."""
    everything = [tuple(int(i) for i in ix) for ix in np.ndindex(r.rel_error.shape)]
    bad = sorted((ix for ix in everything if r.verdicts[ix] == "disagree"),
                 key=lambda ix: -np.nan_to_num(r.rel_error[ix], nan=np.inf))
    kinks = [ix for ix in everything if r.verdicts[ix] == "kink"]
    rest = [ix for ix in everything if r.verdicts[ix] == "agree"]
    return (bad + kinks + rest)[:SHOWN_ENTRIES]


def _index(ix: tuple[int, ...]) -> str:
    """[2] or [0, 1]; a 0-d x's only entry is x itself."""
    return "[" + ", ".join(str(i) for i in ix) + "]" if ix else "x"


def _err(v: Any) -> str:
    return "—" if v is None else f"{float(v):.1e}"


# ----------------------------------------------------------------------------------------------- check


def check_grad(f: Callable[..., Any], grad_f: Callable[..., Any], x: Any, *args: Any,
               threshold: float = compare.THRESHOLD, batched: bool = False, kinks: bool = True) -> CheckGradResult:
    """Check grad_f(x) against finite differences of f at x, entry by entry.

    f(x, *args) -> float and grad_f(x, *args) -> array of x's shape (any shape, 0-d too). `batched`: f takes
    X of shape (B, *x.shape) and returns B values. `kinks=False` skips the one-sided differences (7 more
    evaluations per entry), and with them kink detection and the odd-one-out diagnosis.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise GradcliError(f"threshold must be a number between 0 and 1, got {threshold!r}", where="threshold")
    try:
        x = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise GradcliError(f"x must be a number or an array of numbers: {err}", where="x") from None
    if not np.all(np.isfinite(x)):
        raise GradcliError("x has entries that are not finite", where="x")
    if x.size == 0:
        raise ShapeError("x has no entries", where="x")
    F = _batched(f, x.shape, args, batched)
    value = float(F(x[None])[0])
    if not math.isfinite(value):
        raise GradcliError(f"f(x) is {value} at x = {_point(x)}", where="f(x)")
    analytic = _gradient(grad_f, x, args)
    notes = []
    fd = finite_diff.gradient(F, x)
    evaluations = 1 + fd.evaluations
    numeric, error = np.asarray(fd.value), np.asarray(fd.error)
    left = right = np.full(x.shape, np.nan)
    kink = np.zeros(x.shape, bool)
    if kinks:
        left, right = np.empty(x.shape), np.empty(x.shape)
        for ix in np.ndindex(x.shape):
            left[ix], right[ix] = finite_diff.one_sided(F, x, ix)
        evaluations += 7 * x.size
        kink = _kinks(left, right, value, x, threshold)
        for ix in map(tuple, np.argwhere(kink)):
            kink[ix] = _persists(F, x, ix, left[ix] - right[ix])
            evaluations += 7
    else:
        notes.append("kinks=False: no one-sided differences, so no kink detection and no odd one out")
    one_sided = (np.where(kink, left, np.nan), np.where(kink, right, np.nan))
    verdicts = _verdicts(analytic, numeric, error, kink, one_sided, threshold)
    overall = compare.judge_array(None, analytic, numeric, error, one_sided=one_sided, threshold=threshold)
    rel = np.asarray(compare.rel_error(analytic, numeric), dtype=np.float64).reshape(x.shape)
    worst = _worst(verdicts, rel)
    rounding = _one_sided_rounding(left, right, value, x) if kinks else np.full(x.shape, np.nan)
    odd, reason = _diagnose(overall.verdict, worst, analytic, numeric, error, (left, right, rounding), kink, threshold,
                            verdicts)
    kink_list = [KinkEntry(tuple(int(i) for i in ix), float(left[ix]), float(right[ix]), float(analytic[ix]))
                 for ix in map(tuple, np.argwhere(kink))]
    return CheckGradResult(
        x=x, value=value, analytic=analytic, numeric=numeric, numeric_error=error, rel_error=rel, verdicts=verdicts,
        verdict=overall.verdict, reason=reason, odd_one_out=odd, worst_index=worst,
        worst_analytic=None if worst is None else float(analytic[worst]),
        worst_numeric=None if worst is None else float(numeric[worst]),
        worst_rel_error=None if worst is None else float(rel[worst]),
        kinks=kink_list, threshold=float(threshold), evaluations=evaluations, notes=notes)


def _point(x: np.ndarray) -> str:
    return np.array2string(np.asarray(x), precision=6, threshold=12, separator=", ")


def _batched(f: Callable, shape: tuple[int, ...], args: tuple, batched: bool) -> Callable[[np.ndarray], np.ndarray]:
    """F(X) -> (B,) for X of shape (B, *shape): f on each copy (or on the whole batch), errors named."""

    def call(point: np.ndarray, shown: np.ndarray):
        try:
            return f(point, *args)
        except GradcliError:
            raise
        except Exception as exc:
            raise GradcliError(f"f raised {type(exc).__name__}: {exc} (at x = {_point(shown)})", where="f(x)") from exc

    def F(X: np.ndarray) -> np.ndarray:
        B = X.shape[0]
        if batched:
            out = np.asarray(call(X.copy(), X[0]), dtype=np.float64)
            if out.size != B:
                raise ShapeError(f"batched f must return one value per point: {B} points gave shape {out.shape}",
                                 where="f(x)")
            return out.reshape(B)
        out = np.empty(B)
        for i in range(B):
            out[i] = _scalar(call(X[i].copy(), X[i]), X[i])
        return out

    return F


def _scalar(v: Any, point: np.ndarray) -> float:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradcliError(f"f must return a number, but returned {type(v).__name__} (at x = {_point(point)})",
                           where="f(x)") from None
    if a.size != 1:
        raise ShapeError(f"f must return a scalar, but returned shape {a.shape} (at x = {_point(point)})",
                         where="f(x)")
    return float(a.reshape(()))


def _gradient(grad_f: Callable, x: np.ndarray, args: tuple) -> np.ndarray:
    try:
        g = grad_f(x.copy(), *args)
    except GradcliError:
        raise
    except Exception as exc:
        raise GradcliError(f"grad_f raised {type(exc).__name__}: {exc} (at x = {_point(x)})",
                           where="grad_f(x)") from exc
    try:
        a = np.array(g, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradcliError(f"grad_f must return an array of numbers, but returned {type(g).__name__}",
                           where="grad_f(x)") from None
    if a.shape != x.shape:
        if a.size != x.size:
            raise ShapeError(f"grad_f(x) has shape {a.shape} but x has shape {x.shape}", where="grad_f(x)")
        a = a.reshape(x.shape)  # (n,) against (n, 1): the same entries
    return a


def _kinks(left: np.ndarray, right: np.ndarray, value: float, x: np.ndarray, threshold: float) -> np.ndarray:
    """Entries whose one-sided derivatives differ by more than the threshold and their rounding error.

    Each one-sided estimate (8F(h/4) − 6F(h/2) + F(h))/3 of quotients F(s) off by 2δ/s (δ = k·eps·F, the
    error of one value of f) is off by at most 30δ/h, so left − right by 60δ/h; F is the size of the
    terms of f that vary, max(|f(x)|, max(1, |x_i|)·max(|left|, |right|)).
    """
    with np.errstate(all="ignore"):
        big = np.maximum(np.abs(left), np.abs(right))
        budget = 2 * _one_sided_rounding(left, right, value, x)
        return np.isfinite(left) & np.isfinite(right) & (np.abs(left - right) > np.maximum(threshold * big, budget))


def _one_sided_rounding(left: np.ndarray, right: np.ndarray, value: float, x: np.ndarray) -> np.ndarray:
    """The rounding error budget of one one-sided estimate: BUDGET_FACTOR·30δ/h (see `_kinks`), with
    δ = ROUNDING_ULPS·eps·F. Where the derivative is tiny beside f(x)/h (rosen's ∂/∂x₄ = 2e-6 at x₄ = 1e-8
    with f ≈ 4), this, not the derivative's size, is how far the estimate can be off."""
    with np.errstate(all="ignore"):
        h = finite_diff.step_size(x, finite_diff.ONE_SIDED_STEP)
        big = np.maximum(np.abs(left), np.abs(right))
        scale = np.maximum(abs(value), np.maximum(1.0, np.abs(x)) * big)
        return compare.BUDGET_FACTOR * (ONE_SIDED_GAIN / 2) * finite_diff.ROUNDING_ULPS * finite_diff.EPS * scale / h


def _persists(F: Callable[[np.ndarray], np.ndarray], x: np.ndarray, ix: tuple[int, ...], jump: float) -> bool:
    """Whether a jump between the one-sided derivatives stays when their step is halved: at a kink it does;
    at a smooth point it is their truncation error, c·h³ with opposite signs, and drops to an eighth (this
    tells the minimum of a smooth f, where both are ±1e-15, from a kink).

    The half step comes from the same `finite_diff.one_sided` applied to g(u) = f(x + (u − x_i)/2·e_i), whose
    derivative is f'/2."""
    k = int(np.ravel_multi_index(ix, x.shape)) if x.shape else 0
    xi = float(x.reshape(-1)[k])

    def G(U: np.ndarray) -> np.ndarray:
        V = U.reshape(U.shape[0], -1).copy()
        V[:, k] = xi + (V[:, k] - xi) / 2
        return F(V.reshape(U.shape))

    left, right = finite_diff.one_sided(G, x, ix)
    return bool(abs(2 * (left - right)) > 0.5 * abs(jump))


def _verdicts(a: np.ndarray, n: np.ndarray, e: np.ndarray, kink: np.ndarray, one_sided, threshold: float) -> np.ndarray:
    """Per entry, the rules of `compare`: the error budget for smooth entries, [left, right] at kinks."""
    ok = compare.numeric_agrees(a, n, e, threshold)
    lo, hi = np.fmin(*one_sided), np.fmax(*one_sided)
    with np.errstate(all="ignore"):
        tol = threshold * np.maximum(np.abs(lo), np.abs(hi)) + compare.BUDGET_FACTOR * np.where(np.isfinite(e), e, 0)
        inside = np.isfinite(a) & (a >= lo - tol) & (a <= hi + tol)
    out = np.where(ok, "agree", "disagree").astype(object)
    out[kink] = np.where(inside, "kink", "disagree")[kink]
    return out


def _worst(verdicts: np.ndarray, rel: np.ndarray) -> tuple[int, ...] | None:
    """The disagreeing entry with the largest relative error, else the smooth one with the largest."""
    score = np.where(np.isnan(rel), np.inf, rel)
    for pool in (verdicts == "disagree", verdicts == "agree"):
        if np.any(pool):
            return tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(pool, score, -1.0))), rel.shape))
    return None


def _diagnose(verdict: str, worst, a, n, e, sides, kink, threshold, verdicts) -> tuple[str | None, str]:
    """(odd one out, reason) for the result: which column to suspect at the worst disagreeing entry.

    `sides` = (left, right, rounding): the one-sided derivatives and the rounding budget of each; their
    mean is trusted to |left − right| + max(threshold·max(|left|, |right|), rounding)."""
    left, right, rounding = sides
    count = int(np.count_nonzero(verdicts == "disagree"))
    if verdict == "agree":
        return None, "grad_f agrees with central differences at every entry within the error budget"
    if verdict == "kink":
        k = int(np.count_nonzero(kink))
        return None, (f"grad_f agrees with central differences, and at {k} kink{'s' if k != 1 else ''} "
                      "(one-sided derivatives differ) it lies between the left and right derivatives")
    ix = worst
    where = f"entry {_index(ix)}" + (f" ({count} of {verdicts.size} entries disagree)" if verdicts.size > 1 else "")
    if not np.isfinite(n[ix]):
        return "numeric", f"{where}: f is not finite within the finite-difference step around x"
    if not np.isfinite(a[ix]):
        return "analytic", f"{where}: grad_f is not finite there"
    if kink[ix]:
        return "analytic", (f"{where}: x sits on a kink (derivative {number(left[ix])} from the left, {number(right[ix])} "
                            f"from the right) and grad_f's {number(a[ix])} lies outside them")
    l, r = left[ix], right[ix]
    if np.isfinite(l) and np.isfinite(r):
        side = 0.5 * (l + r)
        side_error = abs(l - r) + max(threshold * max(abs(l), abs(r)), float(rounding[ix]))
        numeric_side = bool(compare.numeric_agrees(n[ix], side, side_error, threshold))
        analytic_side = bool(compare.numeric_agrees(a[ix], side, side_error, threshold))
        if numeric_side and not analytic_side:
            return "analytic", (f"{where}: grad_f is the suspect — central and one-sided differences agree with "
                                f"each other ({number(n[ix])}) and not with grad_f ({number(a[ix])})")
        if analytic_side and not numeric_side:
            return "numeric", (f"{where}: the central difference is the suspect — one-sided differences agree "
                               f"with grad_f ({number(a[ix])}), not with it ({number(n[ix])})")
    return None, f"{where}: grad_f ({number(a[ix])}) ≠ central difference ({number(n[ix])}); one of them is wrong"
