"""The pieces every write-up shares: a complete LaTeX document, escaping of user text for LaTeX and
Markdown, and numbers as each format writes them. Formatting only: nothing here computes.

LaTeX output compiles with Debian's texlive-latex-base alone (article class; amsmath, amssymb,
geometry, longtable) under pdflatex, so it is plain ASCII: user text goes through `tex_text`, which
escapes LaTeX's special characters (_ & % # $ { } ~ ^ \\) and writes Unicode that pdflatex cannot take
as LaTeX commands (σ -> \\ensuremath{\\sigma}, ∂ -> \\ensuremath{\\partial}, ...).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable

from gradcli.text import number

# ------------------------------------------------------------------------------------------------ LaTeX

PREAMBLE = (
    r"\documentclass[11pt]{article}",
    r"\usepackage[utf8]{inputenc}",
    r"\usepackage{amsmath}",
    r"\usepackage{amssymb}",
    r"\usepackage[margin=2cm]{geometry}",
    r"\usepackage{longtable}",
    r"\usepackage{array}",
    r"\setlength{\parindent}{0pt}",
    r"\setlength{\parskip}{0.5\baselineskip}",
    r"\allowdisplaybreaks",
)

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\ensuremath{\$}",  # \$ in text mode needs the TS1 fonts, which texlive-latex-base lacks
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': "''",
}

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ζ": "zeta", "η": "eta", "θ": "theta",
          "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho",
          "σ": "sigma", "ς": "varsigma", "τ": "tau", "υ": "upsilon", "χ": "chi", "ψ": "psi", "ω": "omega"}

# Unicode that appears in gradcli's own messages and in users' titles, as math-mode LaTeX.
_TEX_MATH = {
    "∂": r"\partial", "∇": r"\nabla", "·": r"\cdot", "×": r"\times", "−": "-", "→": r"\to",
    "←": r"\leftarrow",
    "⇒": r"\Rightarrow", "↦": r"\mapsto", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx",
    "±": r"\pm", "∓": r"\mp", "∞": r"\infty", "‖": r"\|", "⊙": r"\odot", "⊗": r"\otimes", "∘": r"\circ",
    "Σ": r"\Sigma", "∑": r"\sum", "Π": r"\Pi", "∏": r"\prod", "√": r"\surd", "∈": r"\in", "∉": r"\notin",
    "⊂": r"\subset", "∩": r"\cap", "∪": r"\cup", "ᵀ": r"^{\top}", "⊤": r"\top", "ŷ": r"\hat{y}",
    "ℓ": r"\ell",
    "ℝ": r"\mathbb{R}", "✓": r"\checkmark", "✗": r"\times", "…": r"\ldots", "⋯": r"\cdots", "°": r"^{\circ}",
    "Δ": r"\Delta", "Γ": r"\Gamma", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Φ": r"\Phi", "Ψ": r"\Psi",
    "Ω": r"\Omega", "ε": r"\varepsilon", "ϵ": r"\epsilon", "ϕ": r"\phi", "φ": r"\varphi", "δ": r"\delta",
    "¹": "^{1}", "²": "^{2}", "³": "^{3}", "⁴": "^{4}", "⁻": "^{-}", "ⁿ": "^{n}",
}
_TEX_MATH.update({ch: "\\" + name for ch, name in _GREEK.items()})
_TEX_MATH.update({chr(0x2080 + d): f"_{{{d}}}" for d in range(10)})

_TEX_TEXT = {
    "—": "---", "–": "--", "‘": "`", "’": "'", "“": "``", "”": "''", "«": "<<", "»": ">>", " ": "~",
    "⚠": r"\textbf{(!)}", "•": r"\ensuremath{\bullet}", "│": r"\textbar{}", "┤": r"\textbar{}", "└": "+",
    "─": "-", "█": r"\#", "§": r"\ensuremath{\S}", "¶": r"\ensuremath{\P}", "©": "(c)",
    "ß": r"{\ss}", "æ": r"{\ae}", "ø": r"{\o}", "å": r"{\aa}", "Æ": r"{\AE}", "Ø": r"{\O}",
}

_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
            "\u0307": ".", "\u030c": "v", "\u0327": "c", "\u0306": "u", "\u030a": "r"}


def tex_text(text: Any) -> str:
    """User or message text for LaTeX's text mode: special characters escaped, Unicode as LaTeX, every
    character pdflatex cannot typeset written as its code point (never a compile error)."""
    out: list[str] = []
    for ch in str(text):
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch == "\n":
            out.append(r"\\" + "\n")
        elif ch == "\t":
            out.append(" ")
        elif " " <= ch <= "~":
            out.append(ch)
        elif ch in _TEX_MATH:
            out.append(rf"\ensuremath{{{_TEX_MATH[ch]}}}")
        elif ch in _TEX_TEXT:
            out.append(_TEX_TEXT[ch])
        else:
            out.append(_accented(ch))
    return "".join(out)


def _accented(ch: str) -> str:
    """é -> \\'{e}; a character with no LaTeX form -> its code point, [U+00E9] style."""
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and parts[1] in _ACCENTS:
        base = {"i": r"\i", "j": r"\j"}.get(parts[0], parts[0])
        return f"\\{_ACCENTS[parts[1]]}{{{base}}}"
    if unicodedata.category(ch).startswith("Z"):
        return " "
    if unicodedata.category(ch).startswith("C"):
        return ""
    return f"[U+{ord(ch):04X}]"


def tex_math_text(text: Any) -> str:
    """User text inside math mode: as upright text (\\text{...}), escaped."""
    return rf"\text{{{tex_text(text)}}}"


def tex_code(text: Any) -> str:
    """A formula in gradcli's own language, as typewriter text that may break at spaces."""
    return rf"\texttt{{{tex_text(text)}}}"


def tex_formula(text: Any, *, index: bool = False) -> str:
    """A formula written in gradcli's language as math-mode LaTeX (via our parser, never eval); text that is
    not such a formula (a word, a heading only SymPy prints) as typewriter text. `index`: subscripts and
    delta(j, k) allowed, as in Jacobian entry formulas."""
    tex = parsed_formula(text, index=index)
    return tex if tex is not None else tex_code(text)


def parsed_formula(text: Any, *, index: bool = False) -> str | None:
    """`tex_formula`, or None when the text is not a formula of gradcli's language."""
    from gradcli.errors import GradcliError
    from gradcli.language.expr import parse
    from gradcli.symbolic.latex_printer import tree_latex

    source = str(text)
    try:
        if index:
            from gradcli.checks.jacobian import rewrite_delta

            source = rewrite_delta(source)
        node = parse(source, allow_index=index)
    except GradcliError:
        return None
    return tree_latex(node)


def tex_number(v: Any, digits: int = 10) -> str:
    """A number for math mode: 1.5e-11 -> 1.5 \\times 10^{-11}; None -> a dash; nan/inf in words."""
    if isinstance(v, (list, tuple)):
        return tex_array(v, digits)
    s = number(v, digits)
    if s == "—":
        return r"\text{--}"
    if s in ("nan", "inf", "-inf"):
        return {"nan": r"\text{nan}", "inf": r"\infty", "-inf": r"-\infty"}[s]
    if "e" in s:
        mant, exp = s.split("e")
        if mant == "1":
            return rf"10^{{{int(exp)}}}"
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return s


def tex_array(v: Any, digits: int = 6) -> str:
    """A nested list as a bmatrix; a flat list (a column vector, the network-spec format) as a column."""
    if not isinstance(v, (list, tuple)):
        return tex_number(v, digits)
    if not v:
        return r"\left[\,\right]"
    rows = v if isinstance(v[0], (list, tuple)) else [[x] for x in v]
    body = r" \\ ".join(" & ".join(_flat_number(x, digits) for x in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def _flat_number(x: Any, digits: int) -> str:
    if isinstance(x, (list, tuple)):
        return r"\cdots"
    return tex_number(x, digits)


def latex_document(title: str, body: Iterable[str]) -> str:
    """A complete document: the shared preamble, `title` (already LaTeX) as a section-level heading, `body`."""
    lines = [*PREAMBLE, r"\begin{document}", "", rf"\section*{{{title}}}", "", *body, "", r"\end{document}"]
    return "\n".join(_squeeze(lines)) + "\n"


def _squeeze(lines: list[str]) -> list[str]:
    """No runs of blank lines (each blank line is a paragraph break)."""
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out


def tex_table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    """A longtable (breaks across pages) with a rule under the header; cells are LaTeX already."""
    out = [rf"\begin{{longtable}}{{{align}}}", r"\hline", " & ".join(header) + r" \\", r"\hline", r"\endhead"]
    out += [" & ".join(row) + r" \\" for row in rows]
    out += [r"\hline", r"\end{longtable}"]
    return out


def tex_wrap(width: str) -> str:
    """A table column of `width` (e.g. 0.3\\textwidth) whose text wraps, ragged right."""
    return rf">{{\raggedright\arraybackslash}}p{{{width}}}"


def tex_verdict(verdict: str) -> str:
    """A verdict word for the tables: the bad ones bold."""
    text = tex_text(verdict)
    return rf"\textbf{{{text}}}" if verdict in ("disagree", "wrong", "MISMATCH", "fail", "error") else text


# --------------------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&$])")


def md_text(text: Any) -> str:
    """User text for Markdown prose: CommonMark's punctuation escapes, one line."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def md_code(text: Any, cell: bool = False) -> str:
    """Text as a code span (a fence longer than any run of backticks inside); in a table cell `|` is
    escaped, which GitHub's tables require even inside code."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or s.startswith("`") or s.endswith("`") else ""
    out = f"{fence}{pad}{s}{pad}{fence}"
    return out.replace("|", r"\|") if cell else out


def md_table(header: list[str], rows: list[list[str]], right: Iterable[int] = ()) -> list[str]:
    """A GitHub table; cells are Markdown already; columns listed in `right` are right-aligned."""
    right = set(right)
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |",
            *["| " + " | ".join(row) + " |" for row in rows]]
