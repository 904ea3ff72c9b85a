"""Renderers: one result object in, text or a Rich renderable out. Nothing computes while it renders.

Each result type has one module here holding its formats as functions named after them (`table`, `json`,
`markdown`, `latex`); `render` finds the module by the result's class name.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import GradcliError

MODULES = {
    "DeriveResult": "gradcli.render.derive",
    "TrainResult": "gradcli.render.train",
}


def render(result: Any, fmt: str) -> Any:
    """Text (str) or a Rich renderable for `result` in format `fmt` (table | json | markdown | latex)."""
    name = type(result).__name__
    module = importlib.import_module(MODULES[name])
    fn = getattr(module, "json_text" if fmt == "json" else fmt, None)
    if fn is None:
        raise GradcliError(f"--format {fmt} is not available for this command", where="--format")
    return fn(result)


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
    return "—" if v is None else f"{v:.1e}"
