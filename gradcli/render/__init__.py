"""Renderers: one result object in, text or a Rich renderable out. Nothing computes while it renders.

Each result type has one module here holding its formats as functions named after them (`table`,
`json_text`, `markdown`, `latex`); `render` finds the module by the result's class name. A format the module
does not define is looked up next in its companion `<module>_doc` (the write-ups: Markdown and LaTeX).
"""

from __future__ import annotations

import importlib
import json
import math
from typing import Any

from gradcli.errors import GradcliError

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


FORMATS = ("table", "json", "markdown", "latex")


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


def dumps(obj: Any) -> str:
    """One JSON object: NumPy values become plain numbers and lists; nan and inf (a column that could not
    be computed, a value undefined at a point) become null, since JSON has no such numbers."""
    return json.dumps(plain_json(obj), allow_nan=False)


def plain_json(value: Any) -> Any:
    """`value` with every float finite-or-None, every array a nested list, every tuple a list."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return plain_json(value.tolist())
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None
