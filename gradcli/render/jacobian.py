"""Rendering a JacobianResult (`gradcli jacobian`): the terminal view, JSON and Markdown."""

from __future__ import annotations

import itertools
from typing import Any

from gradcli.render import dumps

from gradcli.text import error_text, number


def to_dict(r) -> dict:
    """{"expression", "wrt", "shapes", "at", "random", "seed", "output_shape", "input_shape", "shape",
    "shape_reason", "letters", "index_formula", "entries": {"formula", "symbolic", "backprop", "numeric",
    "numeric_error"}, "rel_error", "verdict", "odd_one_out", "reason", "worst_index"}; arrays are nested
    lists of the Jacobian's shape, formulas a flat row-major list (null when too many)."""
    return {
        "expression": r.expression,
        "wrt": r.wrt,
        "shapes": {n: _declared(s) for n, s in r.shapes.items()},
        "scalars_by_default": r.defaults,
        "at": r.at,
        "random": r.random,
        "seed": r.seed,
        "output_shape": list(r.output_shape),
        "input_shape": list(r.input_shape),
        "shape": list(r.shape),
        "shape_reason": r.shape_reason,
        "letters": r.letters,
        "index_formula": r.index_formula,
        "entries": {"formula": r.formulas, "symbolic": r.symbolic, "backprop": r.backprop, "numeric": r.numeric,
                    "numeric_error": r.numeric_error},
        "rel_error": r.rel_error,
        "verdict": r.verdict,
        "odd_one_out": r.odd_one_out,
        "reason": r.reason,
        "worst_index": r.worst_index,
    }


def _declared(shape) -> list[int]:
    """An array shape as the YAML files declare it: [] a scalar, [n] a column vector, [m, n] a matrix."""
    shape = [int(n) for n in shape]
    return shape[:1] if len(shape) == 2 and shape[1] == 1 else shape


def json_text(r) -> str:
    return dumps(to_dict(r))


def _entries(r) -> list[tuple[tuple[int, ...], Any, Any, Any, Any, str | None]]:
    """(index, symbolic, backprop, numeric, numeric_error, formula) in row-major order."""
    rows = []
    for k, idx in enumerate(itertools.product(*(range(n) for n in r.shape))):
        rows.append((idx, entry_at(r.symbolic, idx), entry_at(r.backprop, idx), entry_at(r.numeric, idx), entry_at(r.numeric_error, idx),
                     r.formulas[k] if r.formulas is not None else None))
    return rows


def entry_at(nested, idx):
    """Entry `idx` of a nested list (a column's values), or None for a column that was not computed."""
    if nested is None:
        return None
    for i in idx:
        nested = nested[i]
    return nested


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def table(r):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list = []
    head = Text()
    head.append("J = ∂(", style="bold")
    head.append(r.expression)
    head.append(f")/∂{r.wrt}", style="bold")
    head.append("\nshape ")
    head.append(_shape(r.shape), style="bold")
    head.append(f"  {r.shape_reason}")
    head.append("\nvalues ")
    head.append(", ".join(f"{n} = {number(v, 4)}" for n, v in r.at.items()))
    if r.random:
        head.append(f"  (seeded random, --seed {r.seed}: {', '.join(r.random)})", style="dim")
    if r.defaults:
        head.append(f"\n{', '.join(r.defaults)}: scalar (no --shape given)", style="dim")
    head.append("\nindex formula ")
    if r.index_formula is not None:
        letters = ", ".join(r.letters)
        head.append(f"J[{letters}] = ", style="bold")
        head.append(r.index_formula)
    else:
        head.append("none found (the entries follow no single pattern in the indices)", style="dim")
    parts.append(head)
    rows = _entries(r)
    t = Table(title="the entries, three ways", title_justify="left")
    t.add_column("index")
    t.add_column("formula", overflow="fold", max_width=40)
    t.add_column("symbolic", justify="right")
    t.add_column("backprop", justify="right")
    t.add_column("numeric", justify="right")
    t.add_column("± numeric", justify="right")
    shown = rows if len(rows) <= 64 else rows[:64]
    for idx, s, b, n, e, formula in shown:
        t.add_row(_shape(idx), Text(formula or "—"), number(s), number(b), number(n), error_text(e))
    parts.append(t)
    if len(rows) > len(shown):
        parts.append(Text(f"… {len(rows) - len(shown)} more entries (see --json)", style="dim"))
    verdict = Text()
    verdict.append(f"verdict: {r.verdict}", style="bold green" if r.verdict != "disagree" else "bold red")
    verdict.append(f"  max relative error {error_text(r.rel_error)}; {r.reason}")
    if r.odd_one_out:
        verdict.append(f" (odd one out: {r.odd_one_out})")
    parts.append(verdict)
    return Group(*parts)


def markdown(r) -> str:
    out = [f"### Jacobian of `{r.expression}` with respect to `{r.wrt}`", "",
           f"Shape **{_shape(r.shape)}**: {r.shape_reason}.", ""]
    if r.index_formula is not None:
        out += [f"Index formula: `J[{', '.join(r.letters)}] = {r.index_formula}`", ""]
    out += ["| index | formula | symbolic | backprop | numeric |", "| --- | --- | --- | --- | --- |"]
    for idx, s, b, n, _, formula in _entries(r)[:64]:
        out.append(f"| {_shape(idx)} | `{formula or '—'}` | {number(s)} | {number(b)} | {number(n)} |")
    out += ["", f"**verdict: {r.verdict}** — {r.reason}"]
    return "\n".join(out) + "\n"
