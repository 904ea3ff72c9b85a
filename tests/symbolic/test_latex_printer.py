"""gradcli's trees and graph steps in LaTeX (gradcli.render.latex_printer), checked by exact strings."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.language.expr import parse
from gradcli.symbolic.latex_printer import name_latex, op_latex, tree_latex


@pytest.mark.parametrize("text, tex", [
    ("ln(x)+exp(y)*z", r"\ln\left(x\right) + \exp\left(y\right) \cdot z"),
    ("c*(a-b)^2", r"c \cdot {\left(a - b\right)}^{2}"),
    ("-x^2", r"-{x}^{2}"),
    ("(-x)^2", r"{\left(-x\right)}^{2}"),
    ("2^3^2", r"{2}^{{3}^{2}}"),
    ("(x/y)^2", r"{\left(\frac{x}{y}\right)}^{2}"),
    ("a/(b+c)*d", r"\frac{a}{b + c} \cdot d"),
    ("x-(y-z)", r"x - \left(y - z\right)"),
    ("a*-4", r"a \cdot \left(-4\right)"),
    ("sigmoid(W1@x+b).T", r"{\sigma\left(W_{1} \, x + b\right)}^{\top}"),
    ("relu(h)", r"\operatorname{ReLU}\left(h\right)"),
    ("norm(yhat-y)^2", r"{\left\|\hat{y} - y\right\|}^{2}"),
    ("abs(x)+sqrt(x)", r"\left|x\right| + \sqrt{x}"),
    ("log(x, 2)", r"\log_{2}\left(x\right)"),
    ("1e-3*pi", r"10^{-3} \cdot \pi"),
    ("sum(ones(3)*x)", r"\operatorname{sum}\left(\mathbf{1}_{3} \cdot x\right)"),
])
def test_tree_latex(text, tex):
    assert tree_latex(parse(text)) == tex


def test_hadamard_products_and_renamed_symbols():
    node = parse("dL_du*(u*(1 - u)) + 2*u")
    tex = tree_latex(node, symbols={"dL_du": r"\frac{\partial L}{\partial u}"}, hadamard=True)
    assert tex == r"\frac{\partial L}{\partial u} \odot \left(u \odot \left(1 - u\right)\right) + 2 \cdot u"


def test_graph_steps():
    assert op_latex("mul", ["h_{2}", "z"]) == r"h_{2} \cdot z"
    assert op_latex("mul", ["A", "B"], tensor=True) == r"A \odot B"
    assert op_latex("pow", ["h_{2}", "2"]) == r"{h_{2}}^{2}"
    assert op_latex("sigmoid", ["x"]) == r"\sigma\left(x\right)"
    assert op_latex("transpose", ["W"]) == r"{W}^{\top}"
    assert name_latex("h12") == "h_{12}" and name_latex("eta") == r"\eta" and name_latex("W1[0,1]") == "W_{1}[0,1]"


@st.composite
def trees(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", "y", "2", "0.5", "pi", "h1", "eta"]))
    kind = draw(st.sampled_from(["bin", "un", "call", "T"]))
    if kind == "bin":
        return f"({draw(trees(depth - 1))}){draw(st.sampled_from('+-*/^@'))}({draw(trees(depth - 1))})"
    if kind == "un":
        return f"-({draw(trees(depth - 1))})"
    if kind == "T":
        return f"({draw(trees(depth - 1))}).T"
    return f"{draw(st.sampled_from(['sigmoid', 'relu', 'ln', 'abs', 'norm', 'sqrt']))}({draw(trees(depth - 1))})"


@settings(max_examples=200, deadline=None)
@given(trees())
def test_every_tree_prints_balanced_latex(text):
    tex = tree_latex(parse(text))
    assert tex.count(r"\left") == tex.count(r"\right")
    depth = 0
    for ch in tex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
