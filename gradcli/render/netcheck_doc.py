"""The write-up of `gradcli check net.yaml` (a NetCheckResult): Markdown and a LaTeX document.

What a student hands in for a network exercise (sheet 002 problem 1, sheet 003 §3): the forward pass as
the spec defines it, the loss value, the backward pass derived from forward: (each equation checked), every
parameter's gradient three ways with the worst entry, and the gradients themselves. Formatting only.
"""

from __future__ import annotations

from typing import Any

from gradcli.text import error_text, number
from gradcli.render.document import (latex_document, md_code, md_table, md_text, tex_array, tex_code, tex_number, tex_table,
                       tex_text, tex_verdict, tex_wrap)

MAX_SHOWN_ENTRIES = 64  # a gradient with at most this many entries is written out in full


def _plain(a) -> Any:
    """An array as nested lists (a 0-d array a number)."""
    import numpy as np

    arr = np.asarray(a, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _size(a) -> int:
    import numpy as np

    return int(np.asarray(a).size)


def _shape_text(shape) -> str:
    return "scalar" if not shape else "×".join(str(n) for n in shape)


def _index_text(idx) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx is not None else "—"


def _coverage(p) -> str:
    c = p.symbolic_coverage
    if c.path == "full":
        return "every entry"
    text = f"{c.entries} of {c.total} entries ({c.path})" if c.path != "skipped" else "skipped"
    return text + (f": {c.reason}" if c.reason else "")


def _numeric(p) -> str:
    if p.numeric_method == "directional":
        worst = (f", worst direction {error_text(p.directional_rel_error)}"
                 if p.directional_rel_error is not None else "")
        return f"directional (--fast){worst}"
    return f"central differences, {p.numeric_entries} entries"


def _setting(r) -> str:
    if r.examples > 1:
        return f"L is the {r.reduce or 'mean'} of the loss over {r.examples} examples"
    return "one example"


def _verdict_sentence(r) -> str:
    if r.verdict == "agree":
        return "symbolic, backprop and numeric gradients agree for every parameter"
    if r.verdict == "kink":
        return ("some entries sit on a kink (ReLU or abs at 0); their analytic values lie between the one-sided "
                "derivatives")
    bad = ", ".join(n for n, p in r.gradients.items() if p.verdict == "disagree")
    return f"the gradients disagree for {bad}"


def _md_matrix(value) -> str:
    """Rows of a gradient, one per line (a column vector as one flat row, as the network-spec format reports vectors)."""
    import numpy as np

    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return number(float(a), 8)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(1, -1)
    return "<br>".join("[" + ", ".join(number(v, 8) for v in row) + "]" for row in a.reshape(a.shape[0], -1))


# ------------------------------------------------------------------------------------------------ Markdown


def markdown(r) -> str:
    out = [f"# Gradient check of {md_code(r.file)}", ""]
    if r.name:
        out += [f"*{md_text(r.name)}*", ""]
    out += ["## Network", "", "Forward pass" + (" (expanded from `layers:`)" if r.expanded_from_layers else "")
            + f", {_setting(r)}:", "", "```", *r.forward_text, f"L = {r.loss_text}", "```", "",
            f"**Loss.** L = {number(r.value)}", ""]
    if r.backward is not None:
        out += _md_backward(r.backward)
    out += ["## Gradients, three ways", ""]
    rows = []
    for name, p in r.gradients.items():
        worst = (f"{_index_text(p.worst_index)}: {' / '.join(number(v, 8) for v in p.worst)}"
                 if p.worst_index is not None else "—")  # numbers and an index: nothing to escape
        rows.append([md_code(name, cell=True), _shape_text(p.shape), md_text(_coverage(p)), md_text(_numeric(p)),
                     error_text(p.max_rel_error), worst, p.verdict])
    out += md_table(["param", "shape", "symbolic covers", "numeric", "max rel. error",
                     "worst entry (symbolic / backprop / numeric)", "verdict"], rows, right=(4,))
    out.append("")
    notes = [f"> ∂L/∂{md_text(name)}: {md_text(p.reason)}" + (f" (odd one out: {md_text(p.odd_one_out)})"
                                                               if p.odd_one_out else "")
             for name, p in r.gradients.items() if p.verdict == "disagree" or p.odd_one_out]
    out += [*notes, ""] if notes else []
    out += ["## Gradients", ""]
    for name, p in r.gradients.items():
        if name in r.show:
            out += [f"∂L/∂{md_text(name)} ({_shape_text(p.shape)}), three ways:", ""]
            out += md_table(["symbolic", "backprop", "numeric"],
                            [[_md_matrix(p.symbolic), _md_matrix(p.backprop), _md_matrix(p.numeric)]])
            out.append("")
        elif _size(p.backprop) <= MAX_SHOWN_ENTRIES:
            out += [f"- ∂L/∂{md_text(name)} = {_md_matrix(p.backprop).replace('<br>', ' ')}"]
        else:
            out += [f"- ∂L/∂{md_text(name)}: {_size(p.backprop)} entries "
                    f"(use `--show {md_text(name)}` or `--json`)"]
    if r.cost is not None:
        out += ["", *_md_cost(r.cost)]
    out += ["", f"**Verdict: {r.verdict}** — {_verdict_sentence(r)}."]
    return "\n".join(out) + "\n"


def _md_cost(c) -> list[str]:
    rows = [[md_text(row.definition), md_code(row.op, cell=True), md_code(row.text, cell=True),
             _shape_text(row.shape), f"{row.forward:,}", f"{row.backward:,}"] for row in c.rows]
    rows.append(["**total**", "", "", "", f"**{c.forward:,}**", f"**{c.backward:,}**"])
    examples = f"{c.examples} example{'s' if c.examples != 1 else ''}"
    return [f"## Cost in multiply-adds ({examples})", "",
            *md_table(["definition", "op", "expression", "shape", "forward", "backward"], rows, right=(4, 5)),
            "", md_text(c.summary) + "."]


def _md_backward(b) -> list[str]:
    out = ["## Backward pass", ""]
    if b.note:
        out += [md_text(b.note), ""]
    if not b.equations:
        return out
    checked = f"checked against the engine on {b.examples_checked} example{'s' if b.examples_checked != 1 else ''}"
    out += [f"Derived from the forward pass, from the loss back, each equation {checked}"
            + (f" (the parameters' gradients are then the {b.reduce} over the examples)" if b.reduce else "") + ".",
            ""]
    rows = []
    for e in b.equations:
        rows.append([md_text(e.rule), md_code(e.expanded or e.formula, cell=True), _shape_text(e.shape),
                     error_text(e.max_rel_error), e.verdict])
    out += md_table(["equation (the sheets' notation)", "in gradcli's language", "shape", "max rel. error",
                     "verdict"], rows, right=(3,))
    return out + [""]


# --------------------------------------------------------------------------------------------------- LaTeX


def _d(name: str) -> str:
    from gradcli.symbolic.latex_printer import name_latex

    return rf"\frac{{\partial L}}{{\partial {name_latex(name)}}}"


def _formula(text: str, symbols: dict[str, str]) -> str:
    from gradcli.errors import GradcliError
    from gradcli.language.expr import parse
    from gradcli.symbolic.latex_printer import tree_latex

    try:
        return tree_latex(parse(text), symbols=symbols, hadamard=True)
    except GradcliError:
        return tex_code(text)


def _definition(line: str) -> str:
    """'h1 = tanh(W1 @ x + b1)' -> h_{1} &= \\tanh(W_{1} x + b_{1})."""
    from gradcli.symbolic.latex_printer import name_latex

    name, sep, rhs = line.partition("=")
    if not sep or not name.strip().isidentifier():
        return "&" + tex_code(line)
    return f"{name_latex(name.strip())} &= {_formula(rhs.strip(), {})}"


def latex(r) -> str:
    """A complete LaTeX document for a NetCheckResult."""
    body = []
    if r.name:
        body.append(rf"\emph{{{tex_text(r.name)}}}")
    body += [r"\subsection*{Network}",
             "Forward pass" + (r" (expanded from \texttt{layers:})" if r.expanded_from_layers else "")
             + f", {tex_text(_setting(r))}:"]
    rows = [_definition(line) for line in r.forward_text]
    rows.append(f"L &= {_formula(r.loss_text, {})}")
    body += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}", rf"\[ L = {tex_number(r.value)} \]"]
    if r.backward is not None:
        body += _tex_backward(r.backward)

    body += [r"\subsection*{Gradients, three ways}",
             "Symbolic (SymPy), backprop (gradcli's engine) and numeric (central differences); the worst entry "
             "is the one with the largest relative error."]
    rows = []
    for name, p in r.gradients.items():
        worst = (", ".join(f"${tex_number(v, 8)}$" for v in p.worst) if p.worst_index is not None else "--")
        rows.append([f"${_d(name)}$", tex_text(_shape_text(p.shape)), tex_text(_coverage(p)),
                     f"${tex_number(p.max_rel_error, 2)}$", f"{tex_text(_index_text(p.worst_index))}: {worst}",
                     tex_verdict(p.verdict)])
    body += tex_table(["gradient", "shape", "symbolic covers", "max rel.\\ error",
                       "worst entry (symbolic, backprop, numeric)", "verdict"], rows,
                      "ll" + tex_wrap(r"0.16\textwidth") + "r" + tex_wrap(r"0.3\textwidth") + "l")
    for name, p in r.gradients.items():
        if p.verdict == "disagree" or p.odd_one_out:
            body.append(tex_text(f"∂L/∂{name}: {p.reason}") +
                        (f" (odd one out: {tex_text(p.odd_one_out)})." if p.odd_one_out else "."))

    body.append(r"\subsection*{Gradients}")
    rows = []
    for name, p in r.gradients.items():
        if name in r.show:
            rows.append(rf"{_d(name)} &= {tex_array(_plain(p.symbolic), 8)} && \text{{(symbolic)}}")
            rows.append(rf"&= {tex_array(_plain(p.backprop), 8)} && \text{{(backprop)}}")
            rows.append(rf"&= {tex_array(_plain(p.numeric), 8)} && \text{{(numeric)}}")
        elif _size(p.backprop) <= MAX_SHOWN_ENTRIES:
            rows.append(rf"{_d(name)} &= {tex_array(_plain(p.backprop), 8)}")
        else:
            rows.append(rf"{_d(name)} &: \ \text{{{_size(p.backprop)} entries (see \texttt{{--json}})}}")
    body += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    if r.cost is not None:
        body += _tex_cost(r.cost)
    body.append(rf"\textbf{{Verdict: {tex_text(r.verdict)}}} --- {tex_text(_verdict_sentence(r))}.")
    return latex_document(rf"Gradient check of \texttt{{{tex_text(r.file)}}}", body)


def _tex_backward(b) -> list[str]:
    out = [r"\subsection*{Backward pass}"]
    if b.note:
        out.append(tex_text(b.note))
    if not b.equations:
        return out
    symbols = {f"dL_d{e.target}": _d(e.target) for e in b.equations}
    out.append(f"Derived from the forward pass, from the loss back; each equation checked against the engine on "
               f"{b.examples_checked} example{'s' if b.examples_checked != 1 else ''}"
               + (f" (the parameters' gradients are then the {tex_text(b.reduce)} over the examples)" if b.reduce
                  else "") + r". $\odot$ is the element-wise product.")
    rows = []
    for e in b.equations:
        line = f"{_d(e.target)} &= {_formula(e.formula, symbols)}"
        if e.expanded and e.expanded != e.formula:
            line += f" = {_formula(e.expanded, symbols)}"
        line += rf" && \text{{{tex_text(e.verdict)}, ${tex_number(e.max_rel_error, 2)}$}}"
        rows.append(line)
    return out + [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]


def _tex_cost(c) -> list[str]:
    rows = [[tex_text(row.definition), tex_code(row.op), tex_code(row.text), tex_text(_shape_text(row.shape)),
             f"{row.forward:,}", f"{row.backward:,}"] for row in c.rows]
    rows.append([r"\textbf{total}", "", "", "", rf"\textbf{{{c.forward:,}}}", rf"\textbf{{{c.backward:,}}}"])
    examples = f"{c.examples} example{'s' if c.examples != 1 else ''}"
    return [rf"\subsection*{{Cost in multiply-adds ({examples})}}",
            *tex_table(["definition", "op", "expression", "shape", "forward", "backward"], rows,
                       "ll" + tex_wrap(r"0.3\textwidth") + "lrr"),
            tex_text(c.summary) + "."]
