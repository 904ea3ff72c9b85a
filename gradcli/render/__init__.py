"""Renderers: one result object in, text or a Rich renderable out. Nothing computes while it renders.

Each result type has one module here holding its formats as functions named after them (`table`,
`json_text`, `markdown`, `latex`); `render` finds the module by the result's class name. A format the module
does not define is looked up next in its companion `<module>_doc` (the write-ups: Markdown and LaTeX).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import GradcliError

MODULES = {
    "DeriveResult": "gradcli.render.derive",
    "PlotData": "gradcli.render.plot",
    "DescentResult": "gradcli.render.descent",
    "TrainResult": "gradcli.render.train",
    "JacobianResult": "gradcli.render.jacobian",
    "NetCheckResult": "gradcli.render.netcheck",
    "ProblemResult": "gradcli.render.problems",
    "BankResult": "gradcli.render.problems",
}


def render(result: Any, fmt: str) -> Any:
    """Text (str) or a Rich renderable for `result` in format `fmt` (table | json | markdown | latex)."""
    fn = renderer(type(result).__name__, fmt)
    if fn is None:
        raise GradcliError(f"--format {fmt} is not available for this command", where="--format")
    return fn(result)


def renderer(result_class: str, fmt: str):
    """The function rendering `result_class` in `fmt`: from its module, else from `<module>_doc`, else None."""
    base = MODULES.get(result_class)
    if base is None:
        return None
    name = "json_text" if fmt == "json" else fmt
    for module_name in (base, base + "_doc"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        fn = getattr(module, name, None)
        if fn is not None:
            return fn
    return None


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
