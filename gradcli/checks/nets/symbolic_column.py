"""The symbolic column of a net check: L built in SymPy with a symbol per entry (every entry up to
SYMBOLIC_FULL_ENTRIES, else a seeded sample per parameter), differentiated, and evaluated at the spec's values.
"""


from __future__ import annotations

import zlib
from typing import Any, Mapping

import numpy as np

from gradcli.checks.nets.results import SymbolicColumn, SymbolicCoverage
from gradcli.errors import GradcliError
from gradcli.numerics.examples import (
    example_count,
    example_envs,
    loss_shape_error,
    reduce_weight,
    spec_value,
)

SYMBOLIC_FULL_ENTRIES = 400  # up to this many wrt entries in all, every entry gets its own symbol
SYMBOLIC_SAMPLE = 24  # entries per parameter kept symbolic beyond that
SYMBOLIC_SECONDS = 30.0  # time bound of the whole symbolic column
SYMBOLIC_MAX_WORK = 40_000  # numbers SymPy would carry (all param/input entries x examples): beyond, skip at once
# ============================================================================================ symbolic


def symbolic_column(spec, seed: int = 0, seconds: float = SYMBOLIC_SECONDS) -> SymbolicColumn:
    """∂L/∂P from SymPy alone (never the engine), for every entry or a seeded sample (module docstring)."""
    from gradcli.timebound import bounded

    sizes = {name: int(np.size(spec_value(spec, name))) for name in spec.wrt}
    full = sum(sizes.values()) <= SYMBOLIC_FULL_ENTRIES
    chosen: dict[str, np.ndarray] = {}
    for name, n in sizes.items():
        if full or n <= SYMBOLIC_SAMPLE:
            chosen[name] = np.arange(n)
        else:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            chosen[name] = np.sort(rng.choice(n, size=SYMBOLIC_SAMPLE, replace=False))
    values = {name: np.full(np.shape(spec_value(spec, name)), np.nan) for name in spec.wrt}
    work = _symbolic_work(spec)
    if work > SYMBOLIC_MAX_WORK:
        got, reason = None, (f"the loss carries {work:,} numbers through SymPy (entries x examples), more than "
                             f"{SYMBOLIC_MAX_WORK:,}: too slow to build symbolically, so the backprop and numeric "
                             "columns judge alone")
    else:
        try:
            got = bounded(seconds, _symbolic_values, spec, chosen, fallback=None)
            reason = None if got is not None else f"SymPy did not finish within {seconds:g} s"
        except GradcliError as err:
            got, reason = None, f"SymPy cannot build this loss: {err.message}"
    coverage, covered = {}, {}
    for name, n in sizes.items():
        covered[name] = np.zeros(np.shape(spec_value(spec, name)), bool)
        if got is None:
            coverage[name] = SymbolicCoverage("skipped", 0, n, reason)
            continue
        values[name].reshape(-1)[chosen[name]] = got[name]
        covered[name].reshape(-1)[chosen[name]] = True
        if chosen[name].size == n:
            coverage[name] = SymbolicCoverage("full", n, n)
        else:
            coverage[name] = SymbolicCoverage(
                "sampled", int(chosen[name].size), n,
                f"{sum(sizes.values()):,} entries in all (more than {SYMBOLIC_FULL_ENTRIES}): a seeded sample of "
                f"{chosen[name].size} entries is symbolic, every other entry a number")
    return SymbolicColumn(values, coverage, covered)


def _symbolic_work(spec) -> int:
    """How many numbers a SymPy build of the loss carries: every input and parameter entry, per example."""
    entries = sum(int(np.size(v)) for v in spec.params.values()) + sum(int(np.size(v)) for v in spec.inputs.values())
    return entries * example_count(spec)


def entry_symbol_name(name: str, shape: tuple[int, ...], flat: int) -> str:
    """`W1[0,1]` for a matrix entry, `b1[2]` for a vector (n, 1) entry, `c` for a scalar (gradcli.symbolic.calculus's names)."""
    if shape == ():
        return name
    i, j = np.unravel_index(flat, shape)
    return f"{name}[{i}]" if shape[1] == 1 else f"{name}[{i},{j}]"


def _number_at(derivative, at: dict, syms: list, point: list) -> float:
    """The derivative's value at the point: SymPy substitutes the numbers (xreplace evaluates numerically);
    what stays unevaluated goes through compile_numeric (lambdify)."""
    from gradcli.symbolic import compile as SN

    try:
        return float(derivative.xreplace(at))
    except (TypeError, ValueError):
        return float(SN.compile_numeric([derivative], syms)(*point)[0])


def _symbolic_values(spec, chosen: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Build L in SymPy with the chosen entries as symbols, differentiate, evaluate at the point."""
    import sympy

    from gradcli.symbolic import calculus as S
    from gradcli.symbolic import convert as SC
    syms, point, matrices = [], [], {}
    for name, idx in chosen.items():
        value = np.asarray(spec_value(spec, name), dtype=np.float64)
        entries = [sympy.Float(float(v)) for v in value.reshape(-1)]
        for k in idx:
            s = SC.symbol(entry_symbol_name(name, value.shape, int(k)))
            entries[int(k)] = s
            syms.append(s)
            point.append(float(value.reshape(-1)[int(k)]))
        if value.ndim == 0:
            matrices[name] = entries[0]
        else:
            rows, cols = value.shape
            matrices[name] = sympy.ImmutableMatrix(rows, cols, entries)
    total = sympy.Integer(0)
    for env_values in example_envs(spec):
        env: dict[str, Any] = {k: v for k, v in env_values.items() if k not in matrices}
        env.update(matrices)
        for d in spec.forward:
            env[d.name] = SC.to_sympy(d.node, env)
        loss = SC.as_scalar(SC.to_sympy(spec.loss.node, env))
        if isinstance(loss, sympy.MatrixBase):
            raise loss_shape_error(spec, tuple(loss.shape))
        total = total + loss
    at = {s: sympy.Float(v) for s, v in zip(syms, point)}
    weight = reduce_weight(spec)  # applied to the numbers: a Rational factor would be distributed over the sum
    numbers = [weight * _number_at(S.partial(total, s), at, syms, point) for s in syms]
    out, start = {}, 0
    for name, idx in chosen.items():
        out[name] = np.asarray(numbers[start:start + idx.size], dtype=np.float64)
        start += idx.size
    return out
