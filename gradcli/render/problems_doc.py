"""The write-up of `gradcli check` on problem files (a ProblemResult or a BankResult): a LaTeX document.

A solution key a teaching assistant can hand out: the summary, then per file every claim as printed, the
verdict against its `expect`, and for a wrong claim the right form or value and the counterexample point
with both numbers. Network specs met in a directory get their per-parameter table. Formatting only.
"""

from __future__ import annotations

from typing import Any

from gradcli.render.document import (latex_document, parsed_formula, tex_array, tex_formula, tex_math_text, tex_number, tex_table,
                       tex_text, tex_verdict)

MAX_POINT_ENTRIES = 12  # coordinates of a counterexample point written out; the JSON has them all


def _bank(r):
    """A single ProblemResult is written as a bank of one file."""
    from gradcli.checks.bank import BankResult
    from gradcli.checks.claims.results import ProblemResult

    if isinstance(r, ProblemResult):
        return BankResult(r.file, [r], None, 1, 1, r.seconds)
    return r


def _is_net(f) -> bool:
    from gradcli.checks.bank import NetFileResult

    return isinstance(f, NetFileResult)


def latex(r) -> str:
    """A complete LaTeX document: summary table, then every file's claims worked through."""
    from gradcli.render.problems import summary_line

    bank = _bank(r)
    s = bank.summary
    body = [tex_text(summary_line(bank)) + "."]
    rows = []
    for f in bank.files:
        if _is_net(f):
            rows.append([rf"\texttt{{{tex_text(f.file)}}}", "network spec", "--", "--", "--", tex_verdict(f.verdict)])
        else:
            correct = sum(c.verdict == "correct" for c in f.claims)
            slips = sum(c.slip_confirmed for c in f.claims)
            rows.append([rf"\texttt{{{tex_text(f.file)}}}", str(len(f.claims)), str(correct),
                         str(len(f.claims) - correct), str(slips), "yes" if f.ok else r"\textbf{no}"])
    if len(bank.files) > 1:
        body += [r"\subsection*{Summary}"]
        body += tex_table(["file", "claims", "correct", "wrong", "slips", "as expected"], rows, "lrrrrl")
        body.append(f"{s.files} files, {s.claims} claims: {s.correct} correct, {s.wrong} wrong "
                    f"({s.slips_confirmed} known slips confirmed).")
    for f in bank.files:
        body += _net_file(f) if _is_net(f) else _problem_file(f)
    title = "Checked claims: " + rf"\texttt{{{tex_text(bank.root)}}}"
    return latex_document(title, body)


def _problem_file(f) -> list[str]:
    head = tex_text(f.title) if f.title else rf"\texttt{{{tex_text(f.file)}}}"
    out = [rf"\subsection*{{{head}}}"]
    meta = [rf"File \texttt{{{tex_text(f.file)}}}"]
    if f.source:
        meta.append(f"source: {tex_text(f.source)}")
    out.append("; ".join(meta) + ".")
    for c in f.claims:
        out += _claim(c)
    return out


def _claim(c) -> list[str]:
    mark = "as expected" if c.ok else r"\textbf{not as expected}"
    where = f" (line {c.line})" if c.line else ""
    out = [rf"\subsubsection*{{{tex_text(c.id)}}}",
           rf"\emph{{{tex_text(c.kind)}}} claim{where}; verdict {tex_verdict(c.verdict)}, expected "
           rf"{tex_text(c.expect)}: {mark}"
           + (r" --- a known slip of the sheet, confirmed." if c.slip_confirmed else ".")]
    if c.claimed is not None:
        out += ["Claimed:", _display(c.claimed, c.kind)]
    if c.verdict == "wrong" and c.right is not None:
        out += ["Right:", _display(c.right, c.kind)]
    if c.counterexample:
        out.append("Counterexample: " + _counterexample(c.counterexample) + ".")
    if c.detail and not c.counterexample:  # a counterexample says what the detail says, with the numbers
        out.append(tex_text(c.detail) + ".")
    if c.method:
        out.append(rf"\emph{{Decided by:}} {tex_text(c.method)}.")
    return out


def _display(value: Any, kind: str) -> str:
    """A claimed or right answer: a formula or number as display math, a shape, or words (behaviour)."""
    if isinstance(value, dict):
        parts = [rf"\text{{{tex_text(k)}: }} {_math(v, kind, key=k)}" for k, v in value.items()]
        return r"\[ " + r", \qquad ".join(parts) + r" \]"
    if isinstance(value, str) and kind != "jacobian":
        tex = parsed_formula(value) if kind != "behaviour" else None
        if tex is None:
            return r"\begin{quote}" + tex_text(value) + r"\end{quote}"
        return rf"\[ {tex} \]"
    return rf"\[ {_math(value, kind)} \]"


def _math(value: Any, kind: str, key: str | None = None) -> str:
    if key == "shape" or (kind == "jacobian" and isinstance(value, (list, tuple))):
        return _shape(value)
    if isinstance(value, bool) or value is None:
        return tex_math_text(value)
    if isinstance(value, (int, float)):
        return tex_number(value)
    if isinstance(value, (list, tuple)):
        return tex_array(value)
    return tex_formula(value, index=key == "entry" or kind == "jacobian")


def _shape(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        sizes = ", ".join(str(int(v)) if float(v).is_integer() else tex_number(v) for v in value)
        return rf"\left({sizes}\right)"
    return tex_math_text(value)


def _counterexample(ce: dict) -> str:
    """'at $c = 1.01$, …: right $299.8$, claimed $5502$' and any other keys (index, entry, shapes)."""
    parts = []
    at = ce.get("at")
    if isinstance(at, dict) and at:
        items = list(at.items())
        point = ", ".join(f"${tex_math_text(k)} = {tex_number(v)}$" if "[" in k else f"${_name(k)} = {tex_number(v)}$"
                          for k, v in items[:MAX_POINT_ENTRIES])
        if len(items) > MAX_POINT_ENTRIES:
            point += f", \\ldots\\ ({len(items) - MAX_POINT_ENTRIES} more)"
        parts.append(f"at {point}")
    for key, value in ce.items():
        if key == "at":
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{tex_text(key)} ${tex_number(value)}$")
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
            parts.append(f"{tex_text(key)} $({', '.join(tex_number(v) for v in value)})$")
        else:
            parts.append(f"{tex_text(key)} {tex_text(value)}")
    return "; ".join(parts)


def _name(name: str) -> str:
    from gradcli.symbolic.latex_printer import name_latex

    return name_latex(name) if name.isidentifier() else tex_math_text(name)


def _net_file(f) -> list[str]:
    """A network spec found in a directory: its per-parameter verdicts from the net-check dict (the network-spec format)."""
    out = [rf"\subsection*{{Network spec \texttt{{{tex_text(f.file)}}}}}"]
    from gradcli.render.netcheck import to_dict

    data = to_dict(f.result)
    if "value" in data:
        out.append(rf"Loss value $L = {tex_number(data['value'])}$; verdict {tex_verdict(f.verdict)}.")
    rows = []
    for name, g in (data.get("gradient") or {}).items():
        shape = g.get("shape")
        rows.append([f"${_name(name)}$", tex_text("x".join(str(n) for n in shape) if shape else "scalar"),
                     f"${tex_number(g.get('max_rel_error'), 2)}$", tex_verdict(str(g.get("verdict")))])
    if rows:
        out += tex_table(["parameter", "shape", "max rel.\\ error", "verdict"], rows, "llrl")
    return out
