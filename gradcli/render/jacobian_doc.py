"""The write-up of `gradcli jacobian` (a JacobianResult) as a LaTeX document: the Jacobian's definition, its
shape and why (output shape × input shape), the values used, the index formula, every entry three ways
and the verdict. Formatting only."""

from __future__ import annotations

import itertools

from gradcli.render.document import (latex_document, parsed_formula, tex_array, tex_code, tex_number, tex_table, tex_text,
                       tex_verdict, tex_wrap)
from gradcli.render.jacobian import entry_at

MAX_ENTRIES = 64  # entries listed one by one (the JSON has them all)
MAX_MATRIX = 12  # a 2-axis Jacobian up to this many rows and columns is also shown as a matrix


def _tuple(t) -> str:
    return r"\left(" + ", ".join(str(n) for n in t) + r"\right)"


def latex(r) -> str:
    """A complete LaTeX document for a JacobianResult."""
    from gradcli.errors import GradcliError
    from gradcli.language.expr import parse
    from gradcli.symbolic.latex_printer import name_latex, tree_latex

    try:
        f = tree_latex(parse(r.expression))
    except GradcliError:
        f = tex_code(r.expression)
    wrt = name_latex(r.wrt)
    split = len(r.letters) - _in_axes(r)
    out_idx, in_idx, all_idx = " ".join(r.letters[:split]), " ".join(r.letters[split:]), " ".join(r.letters)
    body = [r"\subsection*{The Jacobian}",
            rf"\[ J = \frac{{\partial\, \left({f}\right)}}{{\partial {wrt}}}, \qquad "
            rf"J_{{{all_idx}}} = \frac{{\partial\, \text{{output}}_{{{out_idx}}}}}{{\partial {wrt}_{{{in_idx}}}}} \]",
            rf"Shape ${_tuple(r.shape)}$: {tex_text(r.shape_reason)}."]

    body.append(r"\subsection*{Values}")
    lines = []
    for name, value in r.at.items():
        note = r"\quad\text{(seeded random)}" if name in r.random else ""
        lines.append(f"{name_latex(name)} &= {tex_array(value)}{note}")
    body += [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"] if lines else []
    if r.random:
        body.append(f"Random values drawn with seed {r.seed} (uniform in $\\pm[0.2, 2]$, rounded to 2 decimals).")
    if r.defaults:
        body.append(f"Scalars because no shape was given: {tex_text(', '.join(r.defaults))}.")

    body.append(r"\subsection*{Index formula}")
    if r.index_formula is not None:
        tex = parsed_formula(r.index_formula, index=True) or tex_code(r.index_formula)
        body.append(rf"\[ J_{{{' '.join(r.letters)}}} = {tex} \]")
        body.append("with indices from 0 and $\\delta$ the Kronecker delta.")
    else:
        body.append("No single formula in the indices fits every entry.")

    body.append(r"\subsection*{The entries, three ways}")
    body.append("Symbolic (SymPy), backprop (one backward pass per output entry, seeded with a one-hot vector: "
                "each pass gives one row) and numeric (central differences, one column per input entry).")
    rows = []
    indices = list(itertools.product(*(range(n) for n in r.shape)))
    for k, idx in enumerate(indices[:MAX_ENTRIES]):
        formula = r.formulas[k] if r.formulas is not None and k < len(r.formulas) else None
        cell = "--" if formula is None else _formula_cell(formula)
        rows.append([f"${_tuple(idx)}$", cell, f"${tex_number(entry_at(r.symbolic, idx))}$",
                     f"${tex_number(entry_at(r.backprop, idx))}$", f"${tex_number(entry_at(r.numeric, idx))}$"])
    body += tex_table(["index", "formula", "symbolic", "backprop", "numeric"], rows,
                      "l" + tex_wrap(r"0.36\textwidth") + "rrr")
    if len(indices) > MAX_ENTRIES:
        body.append(f"\\ldots\\ and {len(indices) - MAX_ENTRIES} more entries (see \\texttt{{--json}}).")
    if len(r.shape) == 2 and max(r.shape) <= MAX_MATRIX:
        body.append(rf"\[ J = {tex_array(r.backprop)} \]")

    body.append(r"\subsection*{Verdict}")
    line = (rf"\textbf{{{tex_text(r.verdict)}}}: largest relative error ${tex_number(r.rel_error, 2)}$"
            + (f" at ${_tuple(r.worst_index)}$" if r.worst_index else "") + f"; {tex_text(r.reason)}")
    if r.odd_one_out:
        line += f" (odd one out: {tex_verdict(r.odd_one_out)})"
    body.append(line + ".")
    if r.symbolic_note:
        body.append(tex_text(r.symbolic_note))
    return latex_document(rf"Jacobian of \texttt{{{tex_text(r.expression)}}} with respect to "
                          rf"\texttt{{{tex_text(r.wrt)}}}", body)


def _in_axes(r) -> int:
    from gradcli.checks.jacobian import axes

    return len(axes(r.input_shape))


def _formula_cell(formula: str) -> str:
    tex = parsed_formula(formula, index=True)
    return f"${tex}$" if tex is not None else tex_code(formula)
