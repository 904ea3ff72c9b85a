"""Are two formulas equal? SymPy values (scalars or matrices of entries) compared numerically and symbolically.

* find_counterexample: both sides at sample points; entries agree when
  |a - b| <= rtol·max(|a|, |b|) + 1e-12·max(1, largest |a|), and a disagreement only counts once it still
  holds at 30 significant digits (differs_precisely), so float rounding never makes a counterexample.
* proved_equal: SymPy shows a - b = 0 (expansion, then simplify) within a time bound.
"""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

import numpy as np
import sympy

from gradcli.symbolic.compile import compile_numeric

RTOL = 1e-8  # numeric agreement of two formulas (relative, with a floor at the array's scale)


def find_counterexample(truth: Any, claimed: Any, syms: Sequence, points: Sequence[Mapping[str, float]],
                        rtol: float = RTOL) -> tuple[int, dict | None]:
    """(points where both sides are finite, the first counterexample or None).

    Entries agree when |a - b| <= rtol·max(|a|, |b|) + 1e-12·max(1, largest |a|); a disagreement is
    confirmed at 30 significant digits before it counts, so float rounding never makes a counterexample."""
    fn = compile_numeric([truth, claimed], syms)
    checked = 0
    for point in points:
        values = [float(point[str(sym)]) for sym in syms]
        a, b = (np.ravel(np.asarray(v, dtype=float)) for v in fn(*values))
        finite = np.isfinite(a) & np.isfinite(b)
        if not finite.any():
            continue
        checked += 1
        scale = max(1.0, float(np.max(np.abs(a[finite]))))
        with np.errstate(all="ignore"):
            off = finite & (np.abs(a - b) > rtol * np.maximum(np.abs(a), np.abs(b)) + 1e-12 * scale)
        for k in np.flatnonzero(off):
            k = int(k)
            if differs_precisely(truth, claimed, k, syms, values):
                cx = {"at": {str(sym): v for sym, v in zip(syms, values)}, "right": float(a[k]),
                      "claimed": float(b[k])}
                if isinstance(truth, sympy.MatrixBase):
                    cx["entry"] = list(divmod(k, truth.shape[1]))
                return checked, cx
    return checked, None


def _as_expr(v: Any) -> sympy.Basic:
    """A SymPy object built from our own trees stays as it is; a plain number becomes a 30-digit Float."""
    return v if isinstance(v, sympy.Basic) else sympy.Float(float(v), 30)


def differs_precisely(truth: Any, claimed: Any, k: int, syms: Sequence, values: Sequence[float]) -> bool:
    """Entry k of the two sides still differs at 30 significant digits (True when that cannot be decided)."""
    from gradcli.timebound import bounded

    ea = list(truth)[k] if isinstance(truth, sympy.MatrixBase) else truth
    eb = list(claimed)[k] if isinstance(claimed, sympy.MatrixBase) else claimed
    subs = {sym: sympy.Float(v, 30) for sym, v in zip(syms, values)}

    def differ() -> bool:
        x, y = _as_expr(ea).xreplace(subs).evalf(30), _as_expr(eb).xreplace(subs).evalf(30)
        if not (x.is_number and y.is_number):
            return True
        x, y = complex(x), complex(y)
        return abs(x - y) > 1e-20 * max(abs(x), abs(y), 1.0)

    return bool(bounded(1.0, differ, fallback=True, catch=(Exception,)))


def proved_equal(a: Any, b: Any, seconds: float) -> bool:
    """SymPy shows a - b = 0: by expansion (quick), else by simplify, also with sigmoid/softplus/logsumexp
    written with exp and log; within `seconds` in all."""
    from gradcli.timebound import bounded

    diffs = [x - y for x, y in zip(a, b)] if isinstance(a, sympy.MatrixBase) else [a - b]

    def expands() -> bool:
        return all(sympy.expand(d) == 0 for d in diffs)

    def simplifies() -> bool:
        return all(sympy.expand(d) == 0 or sympy.simplify(d) == 0 or sympy.simplify(d.rewrite(sympy.exp)) == 0
                   for d in diffs)

    if bounded(min(0.25, seconds), expands, fallback=False, catch=(Exception,)):
        return True
    return bool(bounded(seconds, simplifies, fallback=False, catch=(Exception,)))


def random_points(names: Sequence[str], n: int = 8, seed: int = 0) -> list[dict[str, float]]:
    """n reproducible sample points: the first half in [0.2, 2] (inside ln's and sqrt's domain), the rest
    in ±[0.2, 2] with random signs."""
    rng = random.Random(seed)
    points = []
    for k in range(n):
        point = {}
        for name in names:
            v = rng.uniform(0.2, 2.0)
            point[name] = v if k < (n + 1) // 2 or rng.random() < 0.5 else -v
        points.append(point)
    return points
