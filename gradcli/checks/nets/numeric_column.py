"""The numeric column of a net check: central differences with Richardson extrapolation over every entry
of every wrt name, in chunks of perturbed copies (gradcli.numerics.perturbed); one-sided differences at kinks.
"""


from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from gradcli.checks.nets.results import NumericColumn
from gradcli.numerics.perturbed import NetForward
from gradcli.progress import ProgressCallback, report

ONE_SIDED_LIMIT = 2000  # entries per parameter that get one-sided derivatives at a kink
CHUNK_BYTES = 64 * 2**20  # memory for the perturbed intermediate values of one numeric chunk
MAX_CHUNK_ENTRIES = 1024  # entries per numeric chunk (4 copies each)
FAST_DIRECTIONS = 4
def numeric_column(spec, *, progress: ProgressCallback | None = None, forwards: Mapping[str, NetForward] | None = None,
                   chunk_bytes: int = CHUNK_BYTES) -> NumericColumn:
    """Central differences with one Richardson step (finite_diff.gradient) over every entry of every wrt name."""
    from gradcli.numerics import finite_diff

    values, errors, evaluations = {}, {}, 0
    for name in spec.wrt:
        net = forwards[name] if forwards is not None else NetForward(spec, name)
        n = net.point.size
        per_entry = 4 * 8 * max(1, net.max_live_entries())
        k = int(max(1, min(MAX_CHUNK_ENTRIES, chunk_bytes // per_entry, n)))
        value, error = np.empty(n), np.empty(n)
        chunks = math.ceil(n / k)
        report(progress, 0, chunks, f"numeric column: {name}")
        for start in range(0, n, k):
            stop = min(n, start + k)
            res = finite_diff.gradient(net.chunk(start, stop), net.point.reshape(-1)[start:stop])
            value[start:stop], error[start:stop] = res.value, res.error
            evaluations += res.evaluations
            report(progress, start // k + 1, chunks, f"numeric column: {name}")
        values[name] = value.reshape(net.point.shape)
        errors[name] = error.reshape(net.point.shape)
    return NumericColumn(values, errors, evaluations)


def _one_sided(net: NetForward, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) derivatives at the given flat entries (nan elsewhere), by finite_diff.one_sided."""
    from gradcli.numerics import finite_diff

    left = np.full(net.point.size, np.nan)
    right = np.full(net.point.size, np.nan)
    for k in entries[:ONE_SIDED_LIMIT]:
        left[k], right[k] = finite_diff.one_sided(net.dense, net.point, int(k))
    return left.reshape(net.point.shape), right.reshape(net.point.shape)
