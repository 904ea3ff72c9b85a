"""Rendering a DeriveResult: the terminal view (Rich) and the JSON object of derive's output."""

from __future__ import annotations

import json

from gradcli.text import error_text, number


def to_dict(r) -> dict:
    """The JSON object of derive's output (keys may be added, never renamed)."""
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
        "symbolic_note": r.symbolic_note,
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
    if r.symbolic_note:
        notes.append(r.symbolic_note + "\n", style="yellow")
    verdict_style = {"agree": "bold green", "kink": "bold yellow", "disagree": "bold red"}[r.verdict]
    notes.append(f"verdict: {r.verdict}", style=verdict_style)
    parts.append(notes)
    return Group(*parts)


# ------------------------------------------------------------------------------- the worked solution
#
# Markdown and LaTeX give what a student hands in (sheet 001 §5, sheet 003 §2): the graph as steps with
# forward values, the local gradients, the backward pass (each upstream gradient as the sum over the
# node's consumers), the sum over paths, the chain rule through --where intermediates, the partials'
# formulas and the three-way table. Every number is the result's own; products are only written out.


def _consumers(graph) -> dict[str, list[tuple[object, int]]]:
    """For every label (input or node), the nodes that take it as an input, with the input's position."""
    uses: dict[str, list[tuple[object, int]]] = {}
    for n in graph.nodes:
        for k, label in enumerate(n.inputs):
            uses.setdefault(label, []).append((n, k))
    return uses


def _tensor_node(n) -> bool:
    """A node whose value is a tensor: its local gradients are Jacobians, not numbers."""
    return isinstance(n.value, list) or isinstance(n.upstream, list)


def _locals(n) -> list[tuple[str, float]]:
    """(input, ∂node/∂input) for every input that is not a constant."""
    return [(i, g) for i, g in zip(n.inputs, n.local) if g is not None]


def _inputs_text(r) -> str:
    return ", ".join(r.at)


def _signed(v, digits: int = 10) -> str:
    """A factor inside a product: negative numbers in parentheses."""
    s = number(v, digits)
    return f"({s})" if s.startswith("-") else s


def _md_d(num: str, den: str) -> str:
    return f"∂{num}/∂{den}"


def _md_verdict_line(r) -> str:
    if r.verdict == "agree":
        return "**Verdict: agree** — symbolic, backprop and numeric columns agree for every partial."
    if r.verdict == "kink":
        return ("**Verdict: kink** — the point sits on a non-differentiable point; the one-sided derivatives "
                "are given and the analytic values lie between them.")
    bad = ", ".join(n for n, p in r.partials.items() if p.verdict == "disagree")
    return f"**Verdict: disagree** — the columns disagree for ∂f/∂{bad}."


def _notes(r) -> list[str]:
    out = []
    for name, p in r.partials.items():
        if p.verdict == "kink" and p.one_sided:
            out.append(f"∂f/∂{name}: kink — one-sided derivatives {number(p.one_sided[0])} (left) and "
                       f"{number(p.one_sided[1])} (right); the analytic values lie in between.")
        elif p.verdict == "disagree":
            out.append(f"∂f/∂{name}: {p.reason}")
    if r.symbolic_note:
        out.append(r.symbolic_note)
    return out


def markdown(r) -> str:
    """The worked solution as GitHub Markdown (formulas in gradcli's language as code)."""
    from gradcli.render.document import md_code, md_table, md_text

    g = r.graph
    out = [f"# Gradient of {md_code(r.expression)}", ""]
    where = " and ".join(md_code(f"{name} = {text}") for name, text in r.where.items())
    out.append(f"**Function.** f({_inputs_text(r)}) = {md_code(r.expression)}" + (f", where {where}" if where else ""))
    out += ["", "**Point.** " + ", ".join(f"{k} = {number(v)}" for k, v in r.at.items())
            + (f" ({md_text(r.binding_note)})" if r.binding_note else ""), "", f"**Value.** f = {number(r.value)}", ""]

    out += ["## 1. Computation graph and forward pass", ""]
    if g.nodes:
        out += [f"One primitive operation per node, in evaluation order; the inputs are {_inputs_text(r)}.", ""]
        for i, n in enumerate(g.nodes, 1):
            lhs = f"f = {n.node}" if n.node == g.output else n.node
            line = f"{i}. {lhs} = {md_code(n.text)} = {number(n.value)}"
            if n.defines:
                line += f" (this is {md_code(n.defines)})"
            if n.kink:
                line += " — at a kink"
            out.append(line)
    else:
        out.append(f"f is the input {md_code(next(iter(r.at)))} itself: the graph has no operations.")
    out.append("")

    out += ["## 2. Local gradients", "", "Each node's derivative with respect to each of its inputs, at the point.", ""]
    for n in g.nodes:
        if _tensor_node(n):
            parts = ["(a tensor node: its local gradients are Jacobians)"]
        else:
            parts = [f"{_md_d(n.node, i)} = {number(loc)}" for i, loc in _locals(n)] or ["(its inputs are constants)"]
        out.append(f"- {n.node} = {md_code(n.text)}: " + "; ".join(parts))
    out.append("")

    out += ["## 3. Backward pass: upstream gradients", "",
            "From the output back: the upstream gradient of a node is the sum, over the nodes that use it, of "
            "their upstream gradient times their local gradient.", ""]
    out += [f"- {line}" for line in _backward_lines(r, _Notation(tex=False))]
    out.append("")

    if g.paths:
        out += ["## 4. Chain rule: sum over paths", "",
                "∂f/∂x = Σ over the paths from x to f of the product of the local gradients along the path.", ""]
        for var, plist in g.paths.items():
            out.append(f"- ∂f/∂{var} = {number(g.gradient[var])}")
            for p in plist:
                edges = " · ".join(_md_d(b, a) for a, b in zip(p.steps, p.steps[1:])) or "1"
                values = " · ".join(_signed(f) for f in p.factors)
                product = f" = {values}" if len(p.factors) > 1 else ""
                out.append(f"  - {' → '.join(p.steps)}: {edges}{product} = {number(p.product)}")
            if len(plist) > 1:
                out.append(f"  - sum: {' + '.join(_signed(p.product) for p in plist)} = {number(g.gradient[var])}")
            if g.paths_cut.get(var):
                out.append(f"  - ({g.paths_cut[var]} more paths not listed; the total above includes them)")
        out.append("")

    section = 5 if g.paths else 4
    if r.chain:
        out += [f"## {section}. Chain rule through the intermediates", ""]
        section += 1
        for c in r.chain:
            out += [f"### ∂f/∂{c.var}", ""]
            terms = [f"∂f/∂{f.via} · ∂{f.via}/∂{c.var}" if f.via else f"∂f/∂{c.var} (direct)" for f in c.factors]
            out.append(f"∂f/∂{c.var} = " + (" + ".join(terms) or "0"))
            out.append("")
            for f in c.factors:
                if f.via:
                    out.append(f"- ∂f/∂{f.via} = {md_code(f.outer_formula)} = {number(f.outer_value)}")
                    out.append(f"- ∂{f.via}/∂{c.var} = {md_code(f.inner_formula)} = {number(f.inner_value)}")
                else:
                    out.append(f"- ∂f/∂{c.var} (direct, the intermediates held fixed) = {md_code(f.outer_formula)} "
                               f"= {number(f.outer_value)}")
            out.append("")
            if c.factors and (len(c.factors) > 1 or c.factors[0].via):
                products = " + ".join(f"{_signed(f.outer_value)} · {_signed(f.inner_value)}" if f.via
                                      else _signed(f.outer_value) for f in c.factors)
                out.append(f"∂f/∂{c.var} = {products} = {number(c.total_value)}  ")
            out.append(f"∂f/∂{c.var} = {md_code(c.chain_formula)}  ")
            out.append(f"∂f/∂{c.var} = {md_code(c.total_formula)} = {number(c.total_value)}")
            out.append("")

    out += [f"## {section}. Partial derivatives", ""]
    out += [f"- ∂f/∂{name} = {md_code(p.formula)}" for name, p in r.partials.items()]
    out += ["", f"## {section + 1}. Three-way check", ""]
    rows = [[name, md_code(p.formula, cell=True), number(p.symbolic, 12), number(p.backprop, 12),
             number(p.numeric, 12), error_text(p.rel_error), p.verdict] for name, p in r.partials.items()]
    out += md_table(["∂f/∂", "formula", "symbolic", "backprop", "numeric", "rel. error", "verdict"], rows,
                    right=(2, 3, 4, 5))
    out.append("")
    out += [f"> {md_text(note)}" for note in _notes(r)]
    if _notes(r):
        out.append("")
    out.append(_md_verdict_line(r))
    return "\n".join(out) + "\n"


class _Notation:
    """How a write-up spells derivatives, products, numbers and equations: Markdown (Unicode) or LaTeX (align*)."""

    def __init__(self, tex: bool):
        self.tex = tex
        self.times = r" \cdot " if tex else " · "
        self.eq = " &= " if tex else " = "

    def d(self, num: str, den: str) -> str:
        if not self.tex:
            return _md_d(num, den)
        from gradcli.symbolic.latex_printer import name_latex

        top = "f" if num == "f" else name_latex(num)
        return rf"\frac{{\partial {top}}}{{\partial {name_latex(den)}}}"

    def value(self, v) -> str:
        if not self.tex:
            return number(v)
        from gradcli.render.document import tex_number

        return tex_number(v)

    def factor(self, v) -> str:
        """A number inside a product: negative ones in parentheses."""
        s = self.value(v)
        if not s.startswith("-"):
            return s
        return rf"\left({s}\right)" if self.tex else f"({s})"


def _backward_lines(r, note: _Notation) -> list[str]:
    """The backward pass, output first: ∂f/∂h = Σ ∂f/∂c · ∂c/∂h over the nodes c using h; then the inputs."""
    g = r.graph
    uses = _consumers(g)

    def line(label: str, upstream) -> str:
        consumers = uses.get(label, [])
        head = note.d("f", label) + note.eq
        if not consumers or any(_tensor_node(c) or c.local[k] is None for c, k in consumers):
            return head + note.value(upstream)
        symbols = " + ".join(note.d("f", c.node) + note.times + note.d(c.node, label) for c, _ in consumers)
        numbers = " + ".join(note.factor(c.upstream) + note.times + note.factor(c.local[k]) for c, k in consumers)
        return f"{head}{symbols} = {numbers} = {note.value(upstream)}"

    lines = []
    for n in reversed(g.nodes):
        if n.node == g.output:
            lines.append(note.d("f", n.node) + note.eq + "1" + (r" \quad \text{(the output)}" if note.tex
                                                                 else " (the output)"))
        else:
            lines.append(line(n.node, n.upstream))
    for var in r.at:
        lines.append(line(var, g.gradient.get(var)))
    return lines


def _label_latex(label: str) -> str:
    """An input of a graph node: a variable or node name, or a constant (negative ones in parentheses)."""
    from gradcli.render.document import tex_math_text
    from gradcli.symbolic.latex_printer import name_latex, number_latex

    try:
        value = float(label)
    except ValueError:
        return name_latex(label) if label.isidentifier() else tex_math_text(label)
    s = number_latex(value, label)
    return rf"\left({s}\right)" if s.startswith("-") else s


def _node_latex(n) -> str:
    from gradcli.symbolic.latex_printer import op_latex

    return op_latex(n.op, [_label_latex(i) for i in n.inputs], tensor=_tensor_node(n))


def latex(r) -> str:
    """The worked solution as a complete LaTeX document (article, amsmath; compiles with texlive-latex-base)."""
    from gradcli.language.expr import parse
    from gradcli.render.document import (latex_document, tex_code, tex_number, tex_table, tex_text, tex_verdict)
    from gradcli.symbolic.latex_printer import name_latex, tree_latex

    g = r.graph
    note = _Notation(tex=True)
    names = ", ".join(name_latex(v) for v in r.at)
    body = [r"\subsection*{The problem}",
            rf"Compute $f$ and its partial derivatives, for \texttt{{{tex_text(r.expression)}}}:",
            r"\begin{align*}", rf"f({names}) &= {tree_latex(parse(r.expression))}"]
    for name, text in r.where.items():
        body[-1] += r" \\"
        body.append(rf"{name_latex(name)} &= {tree_latex(parse(text))}")
    body.append(r"\end{align*}")
    point = ", ".join(f"${name_latex(k)} = {tex_number(v)}$" for k, v in r.at.items())
    body.append(f"at {point}" + (f" ({tex_text(r.binding_note)})" if r.binding_note else "") + ":")
    body.append(rf"\[ f = {tex_number(r.value)}. \]")

    body += [r"\subsection*{1. Computation graph and forward pass}"]
    if g.nodes:
        body.append(f"One primitive operation per node, in evaluation order; the inputs are ${names}$.")
        rows = []
        for n in g.nodes:
            lhs = f"f = {name_latex(n.node)}" if n.node == g.output else name_latex(n.node)
            tail = rf" && \text{{(this is ${name_latex(n.defines)}$)}}" if n.defines else ""
            tail += r" && \text{(at a kink)}" if n.kink else ""
            rows.append(f"{lhs} &= {_node_latex(n)} = {tex_number(n.value)}{tail}")
        body += _align(rows)
    else:
        body.append(rf"$f$ is the input ${names}$ itself: the graph has no operations.")

    body += [r"\subsection*{2. Local gradients}",
             "Each node's derivative with respect to each of its inputs, at the point."]
    rows = []
    for n in g.nodes:
        if _tensor_node(n):
            rows.append(rf"&\text{{${name_latex(n.node)}$ is a tensor node: its local gradients are Jacobians}}")
            continue
        pairs = _locals(n)
        if not pairs:
            rows.append(rf"&\text{{${name_latex(n.node)}$ has only constant inputs}}")
        if pairs:
            rows.append(r",\qquad ".join(f"{note.d(n.node, i)} {'&' if k == 0 else ''}= {tex_number(loc)}"
                                          for k, (i, loc) in enumerate(pairs)))
    body += _align(rows)

    body += [r"\subsection*{3. Backward pass: upstream gradients}",
             "From the output back: the upstream gradient of a node is the sum, over the nodes that use it, of "
             "their upstream gradient times their local gradient."]
    body += _align(_backward_lines(r, note))

    if g.paths:
        body += [r"\subsection*{4. Chain rule: sum over paths}",
                 r"$\frac{\partial f}{\partial x} = \sum_{\text{paths } x \to f} \prod_{\text{edges}} "
                 r"(\text{local gradient})$ for every input $x$."]
        rows = []
        for var, plist in g.paths.items():
            if len(plist) == 1:
                p = plist[0]
                rows.append(f"{note.d('f', var)} &= {_path_latex(p, note)}")
            else:
                rows.append(f"{note.d('f', var)} &= " + " + ".join(_path_symbols(p, note) for p in plist))
                rows.append("&= " + " + ".join(_path_numbers(p, note) for p in plist))
                rows.append("&= " + " + ".join(note.factor(p.product) for p in plist)
                            + f" = {tex_number(g.gradient[var])}")
            if g.paths_cut.get(var):
                rows.append(rf"&\quad\text{{({g.paths_cut[var]} more paths not listed; the total includes them)}}")
        body += _align(rows)

    section = 5 if g.paths else 4
    if r.chain:
        body += [rf"\subsection*{{{section}. Chain rule through the intermediates}}"]
        section += 1
        for c in r.chain:
            x = name_latex(c.var)
            rows = [note.d("f", c.var) + " &= " + (" + ".join(
                note.d("f", f.via) + note.times + note.d(f.via, c.var) if f.via else _direct(x)
                for f in c.factors) or "0")]
            for f in c.factors:
                if f.via:
                    rows.append(f"{note.d('f', f.via)} &= {f.outer_latex or tex_code(f.outer_formula)} = "
                                f"{tex_number(f.outer_value)},\\qquad "
                                f"{note.d(f.via, c.var)} = {f.inner_latex or tex_code(f.inner_formula)} = "
                                f"{tex_number(f.inner_value)}")
                else:
                    rows.append(f"{_direct(x)} &= {f.outer_latex or tex_code(f.outer_formula)} = "
                                f"{tex_number(f.outer_value)}")
            if c.factors and (len(c.factors) > 1 or c.factors[0].via):
                rows.append(f"{note.d('f', c.var)} &= " + " + ".join(
                    f"{note.factor(f.outer_value)}{note.times}{note.factor(f.inner_value)}" if f.via
                    else note.factor(f.outer_value) for f in c.factors) + f" = {tex_number(c.total_value)}")
            rows.append(f"{note.d('f', c.var)} &= {c.chain_latex or tex_code(c.chain_formula)}")
            rows.append(f"&= {c.total_latex or tex_code(c.total_formula)} = {tex_number(c.total_value)}")
            body += _align(rows)

    body += [rf"\subsection*{{{section}. Partial derivatives}}"]
    body += _align([f"{note.d('f', name)} &= {p.latex or tex_code(p.formula)}" for name, p in r.partials.items()])

    body += [rf"\subsection*{{{section + 1}. Three-way check}}",
             "Symbolic (SymPy), backprop (gradcli's engine) and numeric (central differences) values of each "
             "partial, with the largest relative error $|a-b|/\\max(|a|,|b|)$ between them."]
    rows = [[f"${note.d('f', name)}$", f"${tex_number(p.symbolic, 12)}$", f"${tex_number(p.backprop, 12)}$",
             f"${tex_number(p.numeric, 12)}$", f"${tex_number(p.rel_error, 2)}$", tex_verdict(p.verdict)]
            for name, p in r.partials.items()]
    body += tex_table(["partial", "symbolic", "backprop", "numeric", "rel.\\ error", "verdict"], rows, "lrrrrl")
    for text in _notes(r):
        body.append(tex_text(text) + "\n")
    verdict = _md_verdict_line(r).replace("**", "")
    head, _, rest = verdict.partition(" — ")
    body.append(rf"\textbf{{{tex_text(head)}}} --- {tex_text(rest)}")
    title = rf"Gradient of \texttt{{{tex_text(r.expression)}}}"
    return latex_document(title, body)


def _align(rows: list[str]) -> list[str]:
    if not rows:
        return []
    return [r"\begin{align*}", *[row + (r" \\" if k < len(rows) - 1 else "") for k, row in enumerate(rows)],
            r"\end{align*}"]


def _direct(x: str) -> str:
    return rf"\left.\frac{{\partial f}}{{\partial {x}}}\right|_{{\text{{direct}}}}"


def _path_symbols(p, note: _Notation) -> str:
    return note.times.join(note.d(b, a) for a, b in zip(p.steps, p.steps[1:])) or "1"


def _path_numbers(p, note: _Notation) -> str:
    return note.times.join(note.factor(f) for f in p.factors) or "1"


def _path_latex(p, note: _Notation) -> str:
    """One path: its local gradients as symbols, as numbers (when more than one), and the product."""
    from gradcli.render.document import tex_number

    parts = [_path_symbols(p, note)]
    if len(p.factors) > 1:
        parts.append(_path_numbers(p, note))
    return " = ".join(parts + [tex_number(p.product)])
