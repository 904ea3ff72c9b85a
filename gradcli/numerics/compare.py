"""Compare the three columns (symbolic, backprop, numeric): relative errors, error budgets, verdicts.

rel_error(a, b) = |a - b| / max(|a|, |b|, 1e-300): 0 for equal values, at most 1 for values of the same
sign, at most 2 always.

A verdict is an error budget, not one fixed threshold:

* the two analytic columns compute the same formula, so they must agree to float64 rounding:
  |s - b| <= ANALYTIC_TOL·max(|s|, |b|) + min(e, threshold·max(1, |s|, |b|)), where e is the numeric
  column's error estimate (below which no column can tell two numbers apart; it matters only near 0);
* the numeric column carries its own error estimate e (from `finite_diff`), so it agrees with an
  analytic value a when |n - a| <= max(threshold·max(|n|, |a|), BUDGET_FACTOR·e + ROUNDING·max(|n|, |a|)),
  i.e. rel_error <= max(threshold, c·e/|value| + rounding).

With all three columns, the column that disagrees with the other two is the odd one out, and the
verdict says which part to suspect. At a kink (relu or abs at 0) the caller passes the one-sided
derivatives (left, right): an analytic value is accepted when it lies between them (any subgradient),
and the verdict is `kink`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

THRESHOLD = 1e-6  # the floor of the numeric-vs-analytic tolerance, stated in --help
ANALYTIC_TOL = 1e-9  # symbolic vs backprop: same formula, different rounding
BUDGET_FACTOR = 4.0  # safety factor c on the numeric column's own error estimate
ROUNDING = 64 * np.finfo(np.float64).eps  # relative rounding allowed on top of the estimate
TINY = 1e-300
# Two values closer than this in absolute terms agree: float64 rounding of the O(1) constants a formula
# uses (sin(pi) is 1.2e-16, not 0) moves a derivative by that much whatever its own size.
ABSOLUTE = 64 * np.finfo(np.float64).eps

COLUMNS = ("symbolic", "backprop", "numeric")

_AGREE, _KINK, _DISAGREE = 0, 1, 2
_VERDICTS = ("agree", "kink", "disagree")


def rel_error(a, b):
    """|a - b| / max(|a|, |b|, 1e-300), element-wise on arrays (a float on scalars).

    Equal values (also equal infinities) give 0; nan anywhere gives nan; an infinity against a finite
    value gives 1, against the opposite infinity 2 (the limits of the formula).
    """
    scalar = np.ndim(a) == 0 and np.ndim(b) == 0
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), TINY)
        both_inf = np.isinf(a) & np.isinf(b)
        out = np.where(np.isinf(a) ^ np.isinf(b), 1.0, out)
        out = np.where(both_inf, np.where(a == b, 0.0, 2.0), out)
        out = np.where(a == b, 0.0, out)
        out = np.where(np.isnan(a) | np.isnan(b), np.nan, out)
    return float(out) if scalar else out


def numeric_agrees(analytic, numeric, numeric_error, threshold: float = THRESHOLD):
    """Whether an analytic value and the numeric estimate agree within the numeric error budget.

    |n - a| <= max(threshold·max(|n|, |a|), BUDGET_FACTOR·e + ROUNDING·max(|n|, |a|)); non-finite values
    agree only when equal; a non-finite error estimate leaves only the threshold. Element-wise.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    e = np.asarray(numeric_error, dtype=np.float64)
    with np.errstate(all="ignore"):
        e = np.where(np.isfinite(e), np.abs(e), 0.0)
        big = np.maximum(np.maximum(np.abs(a), np.abs(n)), TINY)  # the 1e-300 floor of the relative error
        budget = np.maximum(np.maximum(threshold * big, BUDGET_FACTOR * e + ROUNDING * big), ABSOLUTE)
        ok = np.isfinite(a) & np.isfinite(n) & (np.abs(n - a) <= budget)
    return ok | (a == n)


def analytic_agree(symbolic, backprop, numeric_error=0.0, tol: float = ANALYTIC_TOL, threshold: float = THRESHOLD):
    """Whether the two analytic columns agree to rounding, element-wise.

    |s - b| <= tol·max(|s|, |b|) + min(e, threshold·max(1, |s|, |b|)): near 0 (sin²x + cos²x has
    derivative 0, computed as 0 or as 1e-17) two values closer than the numeric column can resolve count
    as equal, but a coarse numeric column never excuses a real difference between the analytic ones.
    """
    s = np.asarray(symbolic, dtype=np.float64)
    b = np.asarray(backprop, dtype=np.float64)
    e = np.asarray(numeric_error, dtype=np.float64)
    with np.errstate(all="ignore"):
        big = np.maximum(np.maximum(np.abs(s), np.abs(b)), TINY)
        floor = np.minimum(np.where(np.isfinite(e), np.abs(e), 0.0), threshold * np.maximum(1.0, big))
        ok = np.isfinite(s) & np.isfinite(b) & (np.abs(s - b) <= np.maximum(tol * big + floor, ABSOLUTE))
    return ok | (s == b)


def numeric_budget(value, numeric_error, threshold: float = THRESHOLD):
    """The relative tolerance the numeric column is held to at `value`: max(threshold, c·e/|value| + rounding)."""
    v = np.abs(np.asarray(value, dtype=np.float64))
    e = np.asarray(numeric_error, dtype=np.float64)
    with np.errstate(all="ignore"):
        e = np.where(np.isfinite(e), np.abs(e), 0.0)
        out = np.maximum(threshold, BUDGET_FACTOR * e / np.maximum(v, TINY) + ROUNDING)
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """The verdict on one partial derivative."""

    verdict: str  # 'agree' | 'disagree' | 'kink'
    rel_error: float  # the largest rel_error over the pairs of columns that were computed
    odd_one_out: str | None  # None | 'symbolic' | 'backprop' | 'numeric'
    reason: str  # one sentence a student understands
    tolerance: float = THRESHOLD  # the relative tolerance the numeric column was held to


@dataclass(frozen=True)
class ArrayVerdict:
    """The verdict on a whole gradient (an array): the worst entry decides and is reported."""

    verdict: str  # 'agree' | 'disagree' | 'kink'
    rel_error: float  # the largest rel_error over entries and pairs
    odd_one_out: str | None
    reason: str
    worst_index: tuple[int, ...] | None  # the entry that decided (the worst disagreeing one, else the largest error)
    worst: tuple[float | None, float | None, float | None]  # (symbolic, backprop, numeric) at worst_index
    disagreeing: int = 0  # how many entries disagree
    kinks: int = 0  # how many entries sit on a kink


# Cases of one entry: (verdict, odd one out, reason). The reason may use {left} and {right}.
_CASES: dict[str, tuple[int, str | None, str]] = {
    "all": (_AGREE, None, "symbolic, backprop and numeric agree within the error budget"),
    "pair": (_AGREE, None, "{a} and {b} agree within the error budget ({c} was not computed)"),
    "single": (_AGREE, None, "only the {a} column was computed: there is nothing to compare it with"),
    "numeric": (_DISAGREE, "numeric", "symbolic = backprop ≠ numeric: the finite-difference step or float64 "
                                      "precision is the suspect"),
    "numeric_nan": (_DISAGREE, "numeric", "symbolic = backprop but the numeric column is not finite: the function "
                                          "is undefined or overflows within the finite-difference step"),
    "backprop": (_DISAGREE, "backprop", "symbolic = numeric ≠ backprop: the engine is the suspect"),
    "symbolic": (_DISAGREE, "symbolic", "backprop = numeric ≠ symbolic: the symbolic derivative is the suspect"),
    "analytic": (_DISAGREE, None, "symbolic and backprop differ by more than float64 rounding allows, and the "
                                  "numeric column is too coarse to tell which one is right"),
    "none": (_DISAGREE, None, "all three columns disagree with each other: there is more than one mistake, or "
                              "the point is too close to a singularity"),
    "pair_bad": (_DISAGREE, None, "{a} ≠ {b} ({c} was not computed): one of them is wrong"),
    "pair_nan": (_DISAGREE, "{bad}", "{bad} is not finite while {good} is: the {bad} column is the suspect"),
    "kink": (_KINK, None, "the point is a kink: the derivative from the left is {left} and from the right "
                          "{right}, and every analytic value lies between them"),
    "kink_symbolic": (_DISAGREE, "symbolic", "at this kink the derivative from the left is {left} and from the "
                                             "right {right}; the symbolic value lies outside them: it is the suspect"),
    "kink_backprop": (_DISAGREE, "backprop", "at this kink the derivative from the left is {left} and from the "
                                             "right {right}; the backprop value lies outside them: the engine is "
                                             "the suspect"),
    "kink_both": (_DISAGREE, None, "at this kink the derivative from the left is {left} and from the right {right}; "
                                   "both analytic values lie outside them"),
}


def _arr(x, shape) -> np.ndarray | None:
    return None if x is None else np.broadcast_to(np.asarray(x, dtype=np.float64), shape)


def _cases(s, b, n, e, left, right, threshold):
    """The case name of every entry (an object array) and the rel_error over computed pairs."""
    present = [(name, v) for name, v in zip(COLUMNS, (s, b, n)) if v is not None]
    if not present:
        raise ValueError("judge needs at least one computed column")
    shape = present[0][1].shape
    with np.errstate(all="ignore"):
        rels = [rel_error(x, y) for i, (_, x) in enumerate(present) for (_, y) in present[i + 1:]]
        rel = np.zeros(shape)
        for r in rels:
            rel = np.where(np.isnan(r) | (r > rel), r, rel)
    cases = np.full(shape, "", dtype=object)

    if len(present) == 1:
        cases[...] = "single"
    elif len(present) == 2:
        (na, a), (nb, bb) = present
        if na != "numeric" and nb != "numeric":
            ok = analytic_agree(a, bb, e, threshold=threshold)
        else:
            ok = numeric_agrees(a, bb, e, threshold)
        fin_a, fin_b = np.isfinite(a), np.isfinite(bb)
        cases[...] = "pair_bad"
        cases[fin_a & ~fin_b] = "pair_nan:" + nb
        cases[~fin_a & fin_b] = "pair_nan:" + na
        cases[ok] = "pair"
    else:
        sb = analytic_agree(s, b, e, threshold=threshold)
        sn = numeric_agrees(s, n, e, threshold)
        bn = numeric_agrees(b, n, e, threshold)
        cases[...] = "none"
        cases[~sb & bn & ~sn] = "symbolic"
        cases[~sb & sn & ~bn] = "backprop"
        cases[~sb & sn & bn] = "analytic"
        cases[sb & ~sn & ~bn] = np.where(np.isfinite(n), "numeric", "numeric_nan")[sb & ~sn & ~bn]
        cases[sb & (sn | bn)] = "all"

    if left is not None and right is not None:
        lo, hi = np.minimum(left, right), np.maximum(left, right)
        real_kink = np.isfinite(lo) & np.isfinite(hi) & ~numeric_agrees(left, right, 0.0, threshold)
        if real_kink.any():
            tol = threshold * np.maximum(np.abs(lo), np.abs(hi)) + BUDGET_FACTOR * np.where(np.isfinite(e), e, 0.0)
            inside = {name: np.isfinite(v) & (v >= lo - tol) & (v <= hi + tol)
                      for name, v in (("symbolic", s), ("backprop", b)) if v is not None}
            s_in = inside.get("symbolic", np.ones(shape, bool))
            b_in = inside.get("backprop", np.ones(shape, bool))
            kink_case = np.where(s_in & b_in, "kink", np.where(s_in, "kink_backprop",
                                                               np.where(b_in, "kink_symbolic", "kink_both")))
            cases[real_kink] = kink_case[real_kink]
    return cases, rel


def _explain(case: str, present: list[str], left, right) -> tuple[str, str | None, str]:
    """(verdict, odd one out, reason) of one entry's case."""
    name, _, bad = case.partition(":")
    code, odd, reason = _CASES[name]
    missing = [c for c in COLUMNS if c not in present]
    fill = {"a": present[0], "b": present[1] if len(present) > 1 else "", "c": ", ".join(missing),
            "left": _num(left), "right": _num(right), "bad": bad,
            "good": next((c for c in present if c != bad), "")}
    return _VERDICTS[code], (odd.format(**fill) if odd else None), reason.format(**fill)


def _num(v) -> str:
    return "" if v is None else f"{float(v):.6g}"


def _values(v, index) -> float | None:
    return None if v is None else float(v[index])


def judge(symbolic, backprop, numeric, numeric_error=0.0, *, one_sided=None, threshold: float = THRESHOLD) -> Verdict:
    """The verdict on one partial from its three columns (None: not computed) and the numeric error estimate.

    `one_sided=(left, right)` marks a kink: analytic values inside [min, max] (with tolerance) give
    'kink', outside 'disagree'. If the one-sided derivatives agree, the point is smooth after all and the
    columns are judged as usual.
    """
    res = judge_array(symbolic, backprop, numeric, numeric_error, one_sided=one_sided, threshold=threshold)
    tolerance = threshold
    finite = [abs(float(v)) for v in (symbolic, backprop, numeric) if v is not None and math.isfinite(float(v))]
    if numeric is not None and finite:
        tolerance = numeric_budget(max(finite), 0.0 if numeric_error is None else numeric_error, threshold)
    return Verdict(res.verdict, res.rel_error, res.odd_one_out, res.reason, float(tolerance))


def judge_array(symbolic, backprop, numeric, numeric_error=0.0, *, one_sided=None,
                threshold: float = THRESHOLD) -> ArrayVerdict:
    """The verdict on a whole gradient, entry by entry; the worst entry is reported.

    Arrays of one shape (None: not computed); `numeric_error` broadcasts. `one_sided=(left, right)` holds
    arrays with finite values at the entries that sit on a kink and nan elsewhere. Columns of different
    shapes disagree (and say so). The verdict is 'disagree' if any entry disagrees, else 'kink' if any
    entry is a kink, else 'agree'; the worst entry is the disagreeing one with the largest error.
    """
    given = {name: np.asarray(v, dtype=np.float64) for name, v in zip(COLUMNS, (symbolic, backprop, numeric))
             if v is not None}
    shapes = {name: v.shape for name, v in given.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        return ArrayVerdict("disagree", math.inf, None, f"the columns have different shapes: {listed}",
                            None, (None, None, None))
    if not given:
        raise ValueError("judge needs at least one computed column")
    shape = next(iter(shapes.values()))
    s, b, n = (_arr(given.get(c), shape) for c in COLUMNS)
    e = np.broadcast_to(np.asarray(0.0 if numeric_error is None else numeric_error, dtype=np.float64), shape)
    left = right = None
    if one_sided is not None:
        left, right = (_arr(v, shape) for v in one_sided)
    cases, rel = _cases(s, b, n, e, left, right, threshold)
    codes = np.vectorize(lambda c: _CASES[c.partition(":")[0]][0], otypes=[int])(cases) if cases.size else \
        np.zeros(shape, int)
    bad = codes == _DISAGREE
    score = np.where(np.isnan(rel), np.inf, rel)
    pool = np.where(bad, score, -1.0) if bad.any() else score
    worst = np.unravel_index(int(np.argmax(pool)), shape) if pool.size else None
    if worst is None:
        return ArrayVerdict("agree", 0.0, None, "the gradient has no entries", None, (None, None, None))
    index = tuple(int(i) for i in worst)
    verdict = "disagree" if bad.any() else ("kink" if (codes == _KINK).any() else "agree")
    entry_case = str(cases[index])
    if verdict == "kink" and _CASES[entry_case.partition(":")[0]][0] != _KINK:
        index = tuple(int(i) for i in np.argwhere(codes == _KINK)[0])
        entry_case = str(cases[index])
    _, odd, reason = _explain(entry_case, list(given), _values(left, index), _values(right, index))
    if shape != ():
        count = int(bad.sum())
        where = f"entry {list(index)}: " if verdict != "agree" else ""
        tally = f" ({count} of {bad.size} entries disagree)" if count else ""
        reason = f"{where}{reason}{tally}"
    max_rel = float(np.max(rel)) if rel.size else 0.0
    return ArrayVerdict(verdict, max_rel, odd, reason, index,
                        (_values(s, index), _values(b, index), _values(n, index)),
                        int(bad.sum()), int((codes == _KINK).sum()))
