"""Each parameter's verdict from its three columns: full (every entry) or fast (random directions, then
bisection to the bad entries), with the worst entry, the odd column out and how it is reported.
"""


from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from gradcli.checks.nets.numeric_column import FAST_DIRECTIONS, _one_sided
from gradcli.checks.nets.results import (
    BackpropColumn,
    NumericColumn,
    ParamCheck,
    SymbolicColumn,
    SymbolicCoverage,
)
from gradcli.numerics.perturbed import NetForward


def _full_check(spec, name: str, net: NetForward, backprop: BackpropColumn, symbolic: SymbolicColumn,
                numeric: NumericColumn) -> ParamCheck:
    from gradcli.numerics.compare import numeric_agrees

    s, b = symbolic.values[name], backprop.grads[name]
    n, e = numeric.values[name], numeric.errors[name]
    one_sided = None
    if backprop.kink:
        off = ~numeric_agrees(b, n, e)
        with np.errstate(invalid="ignore"):
            off |= np.isfinite(s) & ~numeric_agrees(s, n, e)
        entries = np.flatnonzero(off)
        if entries.size:
            one_sided = _one_sided(net, entries)
    return _judged(name, s, b, n, e, one_sided, symbolic.covered[name], np.ones(b.shape, bool), symbolic.coverage[name],
                   "central", int(n.size))


def _fast_checks(spec, net: Mapping[str, NetForward], backprop: BackpropColumn, symbolic: SymbolicColumn,
                 seed: int) -> dict[str, ParamCheck]:
    """--fast: random directions per parameter; on failure, bisection finds the wrong entries."""
    from gradcli.numerics import finite_diff

    out = {}
    for name in spec.wrt:
        f, x = net[name].dense, net[name].point
        s, b = symbolic.values[name], backprop.grads[name]
        n, e = np.full(x.shape, np.nan), np.zeros(x.shape)
        num_mask = np.zeros(x.shape, bool)
        directional = finite_diff.directional(f, x, b, directions=FAST_DIRECTIONS, seed=seed)
        worst_dir = float(np.nanmax(directional.rel_error)) if directional.rel_error.size else 0.0
        one_sided = None
        located = None
        if not directional.ok:
            located = finite_diff.locate_mismatch(f, x, b, seed=seed)
            for index, value in zip(located.indices, located.numeric):
                n[index] = value
                num_mask[index] = True
            if backprop.kink and located.indices:
                flat = np.array([np.ravel_multi_index(i, x.shape) if x.shape else 0 for i in located.indices])
                one_sided = _one_sided(net[name], flat)
        check = _judged(name, s, b, n, e, one_sided, symbolic.covered[name], num_mask, symbolic.coverage[name], "directional",
                        int(num_mask.sum()))
        check.directional_rel_error = worst_dir
        if not directional.ok and located is not None and not located.indices and check.verdict == "agree":
            check.verdict = "disagree"
            check.reason = (f"the directional check failed (worst relative error {worst_dir:.1e}) but bisection "
                            "found no single wrong entry")
        if directional.ok:
            check.max_rel_error = max(check.max_rel_error, worst_dir)
        out[name] = check
    return out


def _judged(name: str, s, b, n, e, one_sided, sym_mask, num_mask, coverage: SymbolicCoverage, method: str,
            numeric_entries: int) -> ParamCheck:
    """Judge every entry with the columns it has (compare.judge_array per group) and report the worst."""
    from gradcli.numerics.compare import judge_array

    shape = b.shape
    s_f, b_f, n_f, e_f = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (s, b, n, e))
    sm, nm = np.asarray(sym_mask).reshape(-1), np.asarray(num_mask).reshape(-1)
    left = right = None
    if one_sided is not None:
        left, right = (np.asarray(v).reshape(-1) for v in one_sided)
    groups = []
    for has_s in (True, False):
        for has_n in (True, False):
            sel = np.flatnonzero((sm == has_s) & (nm == has_n))
            if sel.size == 0:
                continue
            os_ = (left[sel], right[sel]) if left is not None and has_n else None
            v = judge_array(s_f[sel] if has_s else None, b_f[sel], n_f[sel] if has_n else None,
                            e_f[sel] if has_n else 0.0, one_sided=os_)
            groups.append((sel, v))
    rank = {"disagree": 2, "kink": 1, "agree": 0}
    sel, v = max(groups, key=lambda g: (rank[g[1].verdict], g[1].rel_error if g[1].rel_error == g[1].rel_error
                                                                 else math.inf))
    verdict = v.verdict
    worst_index = None
    worst = (None, None, None)
    if v.worst_index is not None:
        flat = int(sel[v.worst_index[0]])
        worst_index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
        worst = tuple(None if not (m[flat]) or not np.isfinite(col[flat]) else float(col[flat])
                      for col, m in ((s_f, sm), (b_f, np.ones_like(sm)), (n_f, nm)))
    disagreeing = sum(g[1].disagreeing for g in groups)
    kinks = sum(g[1].kinks for g in groups)
    max_rel = max((g[1].rel_error for g in groups), key=lambda r: math.inf if r != r else r)
    reason = _strip_entry(v.reason)
    if verdict != "agree" and worst_index is not None and shape:
        reason = f"entry {_index_text(worst_index, shape)}: {reason}"
    if disagreeing:
        reason += f" ({disagreeing} of {b_f.size} entries disagree)"
    return ParamCheck(name, shape, np.where(sm.reshape(shape), s, np.nan), np.asarray(b),
                      np.where(nm.reshape(shape), n, np.nan), np.where(nm.reshape(shape), e, np.nan),
                      float(max_rel), verdict, v.odd_one_out, reason, worst_index, worst, coverage, method,
                      numeric_entries, disagreeing, kinks)


def _strip_entry(reason: str) -> str:
    """judge_array's reason without its 'entry [i]: ' prefix and '(k of n entries disagree)' tally."""
    import re

    reason = re.sub(r"^entry \[[^\]]*\]: ", "", reason)
    return re.sub(r" \(\d+ of \d+ entries disagree\)$", "", reason)


def _index_text(index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    return str(list(reported_index(index, shape)))


def reported_index(index: tuple[int, ...] | None, shape: tuple[int, ...]) -> list[int] | None:
    """An entry's index as reported (the network-spec format): [i] for a vector (n, 1), [i, j] for a matrix, [] for a scalar."""
    if index is None:
        return None
    if len(shape) == 2 and shape[1] == 1:
        return [int(index[0])]
    return [int(i) for i in index]


def reported_shape(shape: tuple[int, ...]) -> list[int]:
    """A parameter's shape as reported: [n] for a vector (n, 1), [m, n] for a matrix, [] for a scalar."""
    if len(shape) == 2 and shape[1] == 1:
        return [int(shape[0])]
    return [int(s) for s in shape]
