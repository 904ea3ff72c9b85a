"""Rendering a DeriveResult: the terminal view (Rich) and the JSON object of SPEC §2."""

from __future__ import annotations

import json

from . import error_text, number


def to_dict(r) -> dict:
    """The JSON object of SPEC §2 (keys may be added, never renamed)."""
    g = r.graph
    return {
        "expression": r.expression,
        "at": r.at,
        "value": r.value,
        "gradient": {
            name: {
                "formula": p.formula,
                "symbolic": p.symbolic,
                "backprop": p.backprop,
                "numeric": p.numeric,
                "rel_error": p.rel_error,
                "verdict": p.verdict,
                "numeric_error": p.numeric_error,
                "odd_one_out": p.odd_one_out,
                "reason": p.reason,
                "one_sided": list(p.one_sided) if p.one_sided else None,
                "latex": p.latex,
            }
            for name, p in r.partials.items()
        },
        "graph": [
            {"node": n.node, "op": n.op, "inputs": n.inputs, "value": n.value, "upstream": n.upstream,
             "local": dict(zip(n.inputs, n.local)) if len(set(n.inputs)) == len(n.inputs) else n.local,
             "text": n.text, "defines": n.defines, "kink": n.kink}
            for n in g.nodes
        ],
        "paths": {
            var: [{"path": p.steps, "factors": p.factors, "product": p.product} for p in paths]
            for var, paths in g.paths.items()
        },
        "where": r.where,
        "chain_rule": [
            {"wrt": c.var,
             "terms": [{"via": f.via, "outer": f.outer_formula, "outer_value": f.outer_value,
                        "inner": f.inner_formula, "inner_value": f.inner_value, "product": f.product}
                       for f in c.factors],
             "chain_formula": c.chain_formula, "total_formula": c.total_formula, "total": c.total_value}
            for c in r.chain
        ],
        "binding": r.binding_note,
        "verdict": r.verdict,
    }


def json_text(r) -> str:
    return json.dumps(to_dict(r), allow_nan=False, default=_jsonable)


def _jsonable(v):
    return None if v != v else float(v)


def table(r):
    """Rich renderables: header, formulas, graph steps, paths, chain rule, the three-way table, verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list = []
    head = Text()
    head.append("f = ", style="bold")
    head.append(r.expression)
    for name, text in r.where.items():
        head.append(f"\n  where {name} = {text}")
    head.append("\nat  ")
    head.append(", ".join(f"{k} = {number(v)}" for k, v in r.at.items()))
    if r.binding_note:
        head.append(f"  ({r.binding_note})", style="dim")
    head.append(f"\nf = {number(r.value, 12)}")
    parts.append(head)

    formulas = Text("\nPartial derivatives\n", style="bold")
    for name, p in r.partials.items():
        formulas.append(f"  ∂f/∂{name} = ", style="bold")
        formulas.append(p.formula + "\n")
    parts.append(formulas)

    graph = r.graph
    steps = Table(title="Computation graph (forward values, local gradients, upstream ∂f/∂h)", title_justify="left",
                  show_lines=False)
    for col in ("node", "computes", "value", "local gradients", "upstream ∂f/∂h"):
        steps.add_column(col, justify="right" if col in ("value", "upstream ∂f/∂h") else "left")
    for n in graph.nodes:
        label = n.node + (f" = {n.defines}" if n.defines else "") + (" (output)" if n.node == graph.output else "")
        local = ", ".join(f"∂{n.node}/∂{i} = {number(g, 6)}" for i, g in zip(n.inputs, n.local) if g is not None)
        local = local or ("(constant)" if all(g is None for g in n.local) and n.local else "")
        steps.add_row(Text(label), Text(n.text + (" ⚠ kink" if n.kink else "")), Text(number(n.value, 8)),
                      Text(local or "(tensor)"), Text(number(n.upstream, 8)))
    parts.append(steps)

    if graph.paths:
        paths = Text("Sum over paths  ∂f/∂x = Σ Π local gradients\n", style="bold")
        for var, plist in graph.paths.items():
            paths.append(f"  ∂f/∂{var} = ")
            terms = [" · ".join(number(f, 6) for f in p.factors) or "1" for p in plist]
            paths.append(" + ".join(f"({t})" for t in terms) if len(terms) > 1 else (terms[0] if terms else "0"))
            paths.append(f" = {number(graph.gradient[var], 10)}")
            if plist:
                paths.append("   via " + "; ".join(" → ".join(p.steps) for p in plist[:4]), style="dim")
            if graph.paths_cut.get(var):
                paths.append(f" (+{graph.paths_cut[var]} more paths)", style="dim")
            paths.append("\n")
        parts.append(paths)

    if r.chain:
        chain = Text("Chain rule through the intermediates\n", style="bold")
        for c in r.chain:
            chain.append(f"  ∂f/∂{c.var} = ")
            chain.append(" + ".join(f"∂f/∂{f.via}·∂{f.via}/∂{c.var}" if f.via else f"∂f/∂{c.var} (direct)"
                                    for f in c.factors) or "0")
            chain.append("\n")
            for f in c.factors:
                if f.via:
                    chain.append(f"      ∂f/∂{f.via} = {f.outer_formula} = {number(f.outer_value, 8)};  "
                                 f"∂{f.via}/∂{c.var} = {f.inner_formula} = {number(f.inner_value, 8)}\n", style="dim")
                else:
                    chain.append(f"      ∂f/∂{c.var} (direct) = {f.outer_formula} = {number(f.outer_value, 8)}\n",
                                 style="dim")
            chain.append(f"    = {c.chain_formula}\n    = {c.total_formula} = {number(c.total_value, 10)}\n")
        parts.append(chain)

    check = Table(title="Three-way check", title_justify="left")
    for col in ("∂f/∂", "symbolic", "backprop", "numeric", "rel. error", "verdict"):
        check.add_column(col, justify="left" if col in ("∂f/∂", "verdict") else "right")
    for name, p in r.partials.items():
        style = {"agree": "green", "kink": "yellow", "disagree": "bold red"}[p.verdict]
        check.add_row(Text(name), Text(number(p.symbolic, 12)), Text(number(p.backprop, 12)),
                      Text(number(p.numeric, 12)), Text(error_text(p.rel_error)), Text(p.verdict, style=style))
    parts.append(check)

    notes = Text()
    for name, p in r.partials.items():
        if p.verdict == "kink" and p.one_sided:
            notes.append(f"∂f/∂{name}: kink — one-sided derivatives {number(p.one_sided[0], 8)} (left) and "
                         f"{number(p.one_sided[1], 8)} (right); the analytic values lie in between.\n", style="yellow")
        elif p.verdict == "disagree":
            notes.append(f"∂f/∂{name}: {p.reason}\n", style="red")
    verdict_style = {"agree": "bold green", "kink": "bold yellow", "disagree": "bold red"}[r.verdict]
    notes.append(f"verdict: {r.verdict}", style=verdict_style)
    parts.append(notes)
    return Group(*parts)
