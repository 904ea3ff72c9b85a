"""Numbers, arrays and points inside a claim's detail (numbers and shapes spelled as gradcli.text does)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from gradcli.text import number
from gradcli.text import shape as shape_text


def tuple_text(dims: Sequence[int]) -> str:
    """A shape written as a tuple even when empty: '()' for a scalar, else '(2, 3)' (a Jacobian's axes)."""
    return "()" if tuple(dims) == () else shape_text(dims)


def matrix_text(v: Any) -> str:
    """An array in one line, 6 significant digits per entry; a column (n, 1) written as a flat list."""
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return number(arr, 6)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    text = np.array2string(arr, precision=6, separator=", ", suppress_small=True, max_line_width=10_000,
                           threshold=50, formatter={"float_kind": lambda x: number(x, 6)})
    return " ".join(text.split())


def point_text(at: Mapping[str, float], limit: int = 8) -> str:
    """'x=0.5, y=-1.2' (4 significant digits), the first `limit` names only."""
    items = [f"{k}={number(v, 4)}" for k, v in at.items()]
    if len(items) > limit:
        items = items[:limit] + [f"… ({len(at) - limit} more)"]
    return ", ".join(items) if items else "any point"
