"""derive's worked solution in Markdown and LaTeX (gradcli.render.derive): golden files for sheet 001 §5 and
sheet 003 §2, the numbers the sheets ask for, compilation with a real LaTeX engine.

Regenerate the golden files after an intended change with  GRADCLI_REGEN_GOLDEN=1 pytest tests/render/test_render_derive_doc.py
(then read the diff before committing it). Only the numeric column and the relative errors are masked when
comparing: they are finite-difference noise; the tests below pin them to the exact values instead.
"""

import os
import re
from pathlib import Path

import pytest

from gradcli.checks.derive import derive
from gradcli.render import render
from latex_compile import compile_latex

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
REGENERATE = os.environ.get("GRADCLI_REGEN_GOLDEN") == "1"

CASES = {
    # sheet 001 §5: f(x, y, z) = ln x + exp(y)·z at [x, y, z] = [1, 3, 2]
    "derive_sheet001_s5": ("ln(x)+exp(y)*z", "1,3,2", []),
    # sheet 003 §2: v = c(a − b)², a = (w + x + y)², b = (x − y − z)²
    "derive_sheet003_s2": ("c*(a-b)^2", "c=1,w=2,x=3,y=4,z=5", ["a=(w+x+y)^2", "b=(x-y-z)^2"]),
}


@pytest.fixture(scope="module")
def results():
    # A generous simplification budget: the formulas must not depend on how busy the machine is.
    return {name: derive(expr, at, where, simplify_seconds=30) for name, (expr, at, where) in CASES.items()}


def _mask(text: str, fmt: str) -> str:
    """The numeric and rel. error cells of the three-way table replaced by placeholders."""
    out = []
    for line in text.splitlines():
        if fmt == "md" and re.match(r"\| \w+ \| `", line):
            cells = line.split(" | ")
            cells[4], cells[5] = "<numeric>", "<rel. error>"
            line = " | ".join(cells)
        elif fmt == "tex" and line.startswith(r"$\frac{\partial f}") and line.endswith(r"\\") and " & " in line:
            cells = line.split(" & ")
            cells[3], cells[4] = "<numeric>", "<rel. error>"
            line = " & ".join(cells)
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("fmt", ["md", "tex"])
def test_golden(results, name, fmt):
    text = render(results[name], "markdown" if fmt == "md" else "latex")
    path = GOLDEN / f"{name}.{fmt}"
    if REGENERATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with GRADCLI_REGEN_GOLDEN=1 to create it"
    assert _mask(text, fmt) == _mask(path.read_text(encoding="utf-8"), fmt)


def test_masked_cells_hold_the_true_values(results):
    """What the golden comparison masks: every numeric value agrees with the symbolic one to 1e-8."""
    for r in results.values():
        for p in r.partials.values():
            assert p.numeric == pytest.approx(p.symbolic, rel=1e-8, abs=1e-8)
            assert p.rel_error < 1e-8


def test_sheet001_numbers_in_the_markdown(results):
    md = render(results["derive_sheet001_s5"], "markdown")
    # the forward pass and the graph as the sheet draws it
    assert "1. h1 = `ln(x)` = 0" in md
    assert "2. h2 = `exp(y)` = 20.08553692" in md
    assert "4. f = h4 = `h1 + h3` = 40.17107385" in md
    # local and upstream gradients
    assert "- h3 = `h2 * z`: ∂h3/∂h2 = 2; ∂h3/∂z = 20.08553692" in md
    assert "- ∂f/∂h2 = ∂f/∂h3 · ∂h3/∂h2 = 1 · 2 = 2" in md
    # the chain rule over the paths and the final answers
    assert "  - y → h2 → h3 → h4: ∂h2/∂y · ∂h3/∂h2 · ∂h4/∂h3 = 20.08553692 · 2 · 1 = 40.17107385" in md
    assert "- ∂f/∂x = `1/x`" in md and "- ∂f/∂z = `exp(y)`" in md
    assert md.rstrip().endswith("**Verdict: agree** — symbolic, backprop and numeric columns agree for every partial.")


def test_sheet003_chain_rule_in_the_markdown(results):
    md = render(results["derive_sheet003_s2"], "markdown")
    assert "∂f/∂x = ∂f/∂a · ∂a/∂x + ∂f/∂b · ∂b/∂x" in md
    assert "- ∂f/∂a = `2*c*(a - b)` = 90" in md and "- ∂b/∂x = `2*(x - y - z)` = -12" in md
    assert "∂f/∂x = 90 · 18 + (-90) · (-12) = 2700" in md  # a sum of the two terms, not the sheet's product
    assert "∂f/∂c (direct, the intermediates held fixed) = `(a - b)^2` = 2025" in md
    assert "3. h3 = `h2 ^ 2` = 81 (this is `a`)" in md


def test_sheet003_latex_has_the_chain_rule_factors(results):
    tex = render(results["derive_sheet003_s2"], "latex")
    assert r"\frac{\partial f}{\partial a} &= 2 c \left(a - b\right) = 90,\qquad \frac{\partial a}{\partial x} = " \
           r"2 \left(w + x + y\right) = 18" in tex
    assert r"\frac{\partial f}{\partial x} &= 90 \cdot 18 + \left(-90\right) \cdot \left(-12\right) = 2700" in tex
    assert r"a &= {\left(w + x + y\right)}^{2}" in tex


@pytest.mark.parametrize("name", list(CASES))
def test_latex_compiles(results, name, tmp_path):
    compile_latex(render(results[name], "latex"), tmp_path, name)


@pytest.mark.parametrize("expr, at, where", [
    ("relu(x)*sigmoid(y)+abs(x)", "x=0,y=1", []),  # kinks: one-sided derivatives in the notes
    ("x", "x=2", []),  # no operations at all
    ("sum(ones(3)*x) + x*x", "x=2", []),  # a tensor node and an input used twice
    ("v_1^2 + eta*tanh(v_1)", "eta=0.5,v_1=1", []),  # names with subscripts and Greek names
    ("q*r", "s=2,t=3", ["q=s+t", "r=s-t"]),
])
def test_other_shapes_of_graph_render_and_compile(expr, at, where, tmp_path):
    r = derive(expr, at, where)
    md = render(r, "markdown")
    assert md.startswith("# Gradient of ") and "## " in md
    compile_latex(render(r, "latex"), tmp_path)


def test_kink_is_explained():
    md = render(derive("relu(x)", "x=0"), "markdown")
    assert "at a kink" in md and "one-sided derivatives 0 (left) and 1 (right)" in md
    assert "**Verdict: kink**" in md
