"""Escaping user text for LaTeX and Markdown, numbers in LaTeX, the shared document (gradcli.render.document)."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.render.document import (latex_document, md_code, md_table, md_text, parsed_formula, tex_array,
                                     tex_formula, tex_number, tex_text)
from latex_compile import compile_latex

SPECIALS = "_&%#${}~^\\"


def test_each_special_character_is_escaped():
    assert tex_text("a_b") == r"a\_b"
    assert tex_text("R&D 50% #1") == r"R\&D 50\% \#1"
    assert tex_text("{x}") == r"\{x\}"
    assert tex_text("~") == r"\textasciitilde{}"
    assert tex_text("^") == r"\textasciicircum{}"
    assert tex_text("\\") == r"\textbackslash{}"
    assert tex_text("$5") == r"\ensuremath{\$}5"
    assert tex_text("a<b>|c") == r"a\textless{}b\textgreater{}\textbar{}c"


def test_unicode_becomes_latex_commands():
    assert tex_text("σ′") == r"\ensuremath{\sigma}[U+2032]"
    assert tex_text("∂L/∂ŷ") == r"\ensuremath{\partial}L/\ensuremath{\partial}\ensuremath{\hat{y}}"
    assert tex_text("x²ᵀ") == r"x\ensuremath{^{2}}\ensuremath{^{\top}}"
    assert tex_text("é") == r"\'{e}"
    assert tex_text("a — b") == "a --- b"
    assert tex_text("中") == "[U+4E2D]"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_text_is_plain_ascii_with_every_special_character_escaped(text):
    out = tex_text(text)
    assert out.isascii()
    bare = re.sub(r"\\(?:[A-Za-z]+|.)", "", out)  # drop every command and escaped character
    bare = re.sub(r"\{[^{}]*\}", "", bare)  # and the argument groups the escapes open ({}, {e}, {\sigma} ...)
    while re.search(r"\{[^{}]*\}", bare):
        bare = re.sub(r"\{[^{}]*\}", "", bare)
    assert not set(bare) & set("_&%#$~^\\{}"), (text, out)


def test_md_code_survives_backticks_and_pipes_in_cells():
    assert md_code("1/x") == "`1/x`"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("a|b", cell=True) == r"`a\|b`"
    assert md_text("*x* [y](z) | #") == r"\*x\* \[y\](z) \| \#"
    assert md_table(["a", "b"], [["1", "2"]], right=(1,)) == ["| a | b |", "| --- | ---: |", "| 1 | 2 |"]


def test_numbers_in_math():
    assert tex_number(1.6e-11) == r"1.6 \times 10^{-11}"
    assert tex_number(1e-5) == r"10^{-5}"
    assert tex_number(40.17107384637534) == "40.17107385"
    assert tex_number(None) == r"\text{--}"
    assert tex_number(float("nan")) == r"\text{nan}"
    assert tex_array([[1.0, 2.0], [3.0, 4.0]]) == r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"
    assert tex_array([1.0, 2.0]) == r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}"  # a flat list is a column (the network-spec format)


def test_formulas_go_through_our_parser_and_never_eval():
    assert tex_formula("c*(a-b)^2") == r"c \cdot {\left(a - b\right)}^{2}"
    assert tex_formula("X[i,l]*delta(j,k)", index=True) == r"{X}_{i, l} \cdot {\delta}_{j, k}"
    assert parsed_formula("__import__('os')") is None
    assert tex_formula("__import__('os')") == r"\texttt{\_\_import\_\_('os')}"


def test_document_with_every_hostile_character_compiles(tmp_path):
    hostile = "a_b & 50% #1 $x {y} ~z ^w \\v <a> |b| \"q\" σ ∂ → ≤ é ü ß — ‘’ “” … § ¶ © ŷ ✓ ✗ ⚠ • ² ₁ ᵀ ∇ ‖ ⊙ 中 🙂"
    t = tex_text(hostile)
    doc = latex_document(tex_text("title " + hostile),
                         [t, rf"\emph{{{t}}}", rf"\textbf{{{t}}}", rf"\texttt{{{t}}}", rf"\[ {tex_formula('x_1^2')} \]"])
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    compile_latex(doc, tmp_path)
