"""How numbers and shapes are written in every message, table and claim detail (one spelling each).

    number(2.50000000001) -> '2.5'      number(None) -> '—'      number([1, 0.5]) -> '[1, 0.5]'
    error_text(3.2e-9)    -> '3.2e-09'
    shape(())  -> 'a scalar'   shape((2, 3)) -> '(2, 3)'        (in sentences: "has shape (2, 3)")
    dims(())   -> 'scalar'     dims((2, 3))  -> '2×3'           (in table cells)
"""

from __future__ import annotations

from typing import Any, Sequence


def number(v: Any, digits: int = 10) -> str:
    """A number as people read it: up to `digits` significant digits, no trailing noise."""
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(number(x, digits) for x in v) + "]"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return "nan"
    if f == 0:
        return "0"
    return f"{f:.{digits}g}"


def error_text(v: float | None) -> str:
    """A relative error: two significant digits in scientific notation ('—' when there is none)."""
    return "—" if v is None else f"{v:.1e}"


def shape(dims_: Sequence[int]) -> str:
    """A shape inside a sentence: 'a scalar' for (), else '(2, 3)'."""
    dims_ = tuple(int(n) for n in dims_)
    return "a scalar" if dims_ == () else "(" + ", ".join(str(n) for n in dims_) + ")"


def dims(dims_: Sequence[int]) -> str:
    """A shape in a table cell: 'scalar' for (), else '2×3'."""
    dims_ = tuple(int(n) for n in dims_)
    return "scalar" if not dims_ else "×".join(str(n) for n in dims_)
