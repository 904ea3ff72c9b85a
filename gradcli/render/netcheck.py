"""Rendering a NetCheckResult: the terminal view (Rich) and the JSON object of the network-spec format."""

from __future__ import annotations

import math

from gradcli.render import dumps

from gradcli.text import error_text, number

_STYLE = {"agree": "green", "kink": "yellow", "disagree": "bold red"}


def _listed(a, shape):
    """A gradient as the network-spec format reports it: a number, a flat list for a vector (n, 1), nested lists; nan -> null."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    if len(shape) == 2 and shape[1] == 1:
        a = a.reshape(-1)
    out = a.tolist()
    return _clean(out)


def _clean(v):
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return None if v is None or not math.isfinite(v) else float(v)


def to_dict(r) -> dict:
    """The JSON object of the network-spec format (keys may be added, never renamed)."""
    from gradcli.checks.nets.verdicts import reported_index, reported_shape

    gradient = {}
    for name, p in r.gradients.items():
        cov = p.symbolic_coverage
        gradient[name] = {
            "shape": reported_shape(p.shape),
            "symbolic": _listed(p.symbolic, p.shape),
            "backprop": _listed(p.backprop, p.shape),
            "numeric": _listed(p.numeric, p.shape),
            "max_rel_error": _clean(p.max_rel_error),
            "verdict": p.verdict,
            "worst_index": reported_index(p.worst_index, p.shape),
            "worst": {"symbolic": p.worst[0], "backprop": p.worst[1], "numeric": p.worst[2]},
            "odd_one_out": p.odd_one_out,
            "reason": p.reason,
            "numeric_error": _listed(p.numeric_error, p.shape),
            "symbolic_coverage": {"path": cov.path, "entries": cov.entries, "total": cov.total, "reason": cov.reason},
            "numeric_coverage": {"method": p.numeric_method, "entries": p.numeric_entries,
                                 "directional_rel_error": p.directional_rel_error},
            "disagreeing": p.disagreeing,
            "kinks": p.kinks,
        }
    out = {"file": r.file, "value": _clean(r.value), "gradient": gradient, "verdict": r.verdict,
           "name": r.name, "examples": r.examples, "reduce": r.reduce, "forward": r.forward_text,
           "loss": r.loss_text, "fast": r.fast, "timings": r.timings}
    if r.backward is not None:
        b = r.backward
        out["backward"] = {
            "equations": [{"target": e.target, "kind": e.kind, "rule": e.rule, "formula": e.formula,
                           "expanded": e.expanded, "shape": reported_shape(e.shape),
                           "max_rel_error": _clean(e.max_rel_error), "verdict": e.verdict} for e in b.equations],
            "examples_checked": b.examples_checked, "reduce": b.reduce, "note": b.note, "verdict": b.verdict}
    if r.cost is not None:
        c = r.cost
        out["cost"] = {
            "rows": [{"definition": row.definition, "op": row.op, "text": row.text, "shape": list(row.shape),
                      "forward": row.forward, "backward": row.backward} for row in c.rows],
            "forward": c.forward, "backward": c.backward, "ratio": _clean(c.ratio),
            "backward_all_inputs": c.backward_all_inputs, "ratio_all_inputs": _clean(c.ratio_all_inputs),
            "matmul_share": c.matmul_share, "examples": c.examples, "summary": c.summary}
    return out


def json_text(r) -> str:
    return dumps(to_dict(r))


def table(r):
    """Rich renderables: the net, a table per parameter, --show matrices, backward equations, cost, verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from gradcli.checks.nets.verdicts import reported_index, reported_shape

    parts: list = []
    head = Text()
    head.append(f"{r.name or r.file}", style="bold")
    head.append(f"  ({r.file})\n", style="dim")
    if r.expanded_from_layers:
        head.append("layers: expanded to\n", style="dim")
    for line in r.forward_text:
        head.append(f"  {line}\n")
    head.append(f"  loss = {r.loss_text}\n")
    if r.reduce is not None:
        head.append(f"  L = {r.reduce} of the loss over {r.examples} examples\n", style="dim")
    head.append(f"L = {number(r.value, 12)}")
    parts.append(head)

    overview = Table(title="Gradients, three ways" + (" (--fast: directional check)" if r.fast else ""),
                     title_justify="left")
    for col in ("∂L/∂", "shape", "symbolic", "max rel. error", "worst entry", "symbolic", "backprop", "numeric",
                "verdict"):
        overview.add_column(col, justify="left" if col in ("∂L/∂", "verdict", "shape", "worst entry") else "right")
    for name, p in r.gradients.items():
        cov = p.symbolic_coverage
        coverage = {"full": "all", "sampled": f"{cov.entries}/{cov.total}", "skipped": "skipped"}[cov.path]
        index = reported_index(p.worst_index, p.shape)
        overview.add_row(Text(name), Text(str(reported_shape(p.shape))), Text(coverage),
                         Text(error_text(p.max_rel_error)), Text("" if index is None else str(index)),
                         Text(number(p.worst[0], 8)), Text(number(p.worst[1], 8)), Text(number(p.worst[2], 8)),
                         Text(p.verdict, style=_STYLE[p.verdict]))
    parts.append(overview)

    notes = Text()
    for name, p in r.gradients.items():
        cov = p.symbolic_coverage
        if cov.path != "full" and cov.reason:
            notes.append(f"∂L/∂{name}: symbolic column {cov.path} ({cov.entries} of {cov.total} entries): {cov.reason}\n",
                         style="dim")
        if p.verdict != "agree":
            odd = f" [odd one out: {p.odd_one_out}]" if p.odd_one_out else ""
            notes.append(f"∂L/∂{name}: {p.reason}{odd}\n", style=_STYLE[p.verdict])
    if notes.plain:
        parts.append(notes)

    for name in r.show:
        p = r.gradients[name]
        shown = Table(title=f"∂L/∂{name}  {reported_shape(p.shape)}: symbolic | backprop | numeric",
                      title_justify="left", show_header=False)
        grids = [_rows(p.symbolic), _rows(p.backprop), _rows(p.numeric)]
        for _ in range(3):
            shown.add_column(justify="left")
        shown.add_row(*(Text(g) for g in grids))
        parts.append(shown)

    if r.backward is not None:
        b = r.backward
        eq = Table(title="Backward pass, derived from forward: (each equation checked against the engine"
                         + (f", per example, {b.examples_checked} examples" if b.examples_checked > 1 else "") + ")",
                   title_justify="left")
        for col in ("equation", "formula", "rel. error", "verdict"):
            eq.add_column(col, justify="right" if col == "rel. error" else "left")
        for e in b.equations:
            formula = e.formula + (f"\n= {e.expanded}" if e.expanded else "")
            eq.add_row(Text(e.rule), Text(formula), Text(error_text(e.max_rel_error)),
                       Text(e.verdict, style=_STYLE[e.verdict]))
        parts.append(eq)
        if b.note:
            parts.append(Text(b.note, style="yellow"))
        if b.reduce is not None and b.equations:
            parts.append(Text(f"With data: these hold per example; ∂L/∂(param) is the {b.reduce} of them over "
                              "the examples.", style="dim"))

    if r.cost is not None:
        c = r.cost
        ct = Table(title=f"Cost in multiply-adds ({c.examples} example{'s' if c.examples != 1 else ''})",
                   title_justify="left")
        for col in ("definition", "op", "expression", "shape", "forward", "backward"):
            ct.add_column(col, justify="right" if col in ("forward", "backward") else "left")
        for row in c.rows:
            ct.add_row(Text(row.definition), Text(row.op), Text(row.text), Text(str(list(row.shape))),
                       Text(f"{row.forward:,}"), Text(f"{row.backward:,}"))
        ct.add_row(Text("total", style="bold"), Text(""), Text(""), Text(""), Text(f"{c.forward:,}"),
                   Text(f"{c.backward:,}"))
        parts.append(ct)
        parts.append(Text(c.summary))

    parts.append(Text(f"verdict: {r.verdict}", style="bold " + _STYLE[r.verdict].replace("bold ", "")))
    return Group(*parts)


def _rows(a) -> str:
    """A matrix as aligned text rows (vectors as one column)."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return number(float(a), 8)
    cells = [[number(v, 8) if np.isfinite(v) else "—" for v in row] for row in a]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)
