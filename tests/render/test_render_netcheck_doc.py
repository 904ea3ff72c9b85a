"""`gradcli check net.yaml --format markdown|latex` (gradcli.render.netcheck_doc): the forward and backward pass,
the three-way table and the gradients, as a user runs it; the LaTeX compiles."""

import pytest
from typer.testing import CliRunner

from gradcli.cli import app
from gradcli.render import renderer
from latex_compile import compile_latex

runner = CliRunner()
SHEET002 = "examples/sheet002_two_layer_sigmoid.yaml"


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


@pytest.fixture(scope="module")
def sheet002_md():
    r = invoke("check", SHEET002, "--format", "markdown", "--cost", "--show", "W1")
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture(scope="module")
def sheet002_tex():
    r = invoke("check", SHEET002, "--format", "latex", "--cost", "--show", "W1")
    assert r.exit_code == 0, r.output
    return r.stdout


def test_the_registry_finds_the_write_ups():
    from gradcli.render import netcheck_doc

    assert renderer("NetCheckResult", "markdown") is netcheck_doc.markdown
    assert renderer("NetCheckResult", "latex") is netcheck_doc.latex
    assert renderer("NetCheckResult", "table").__module__ == "gradcli.render.netcheck"
    assert renderer("NoSuchResult", "latex") is None


def test_markdown_works_the_sheet_002_network_through(sheet002_md):
    md = sheet002_md
    assert md.startswith("# Gradient check of `examples/sheet002_two_layer_sigmoid.yaml`")
    assert "```\nZ = W1 @ x\nu = sigmoid(Z)\nyhat = W2 @ u\nL = norm(yhat - y)^2\n```" in md
    # the backward pass as the sheet writes it, each equation checked
    assert "| ∂L/∂W2 = ∂L/∂yhat @ uᵀ | `2*(yhat - y) @ u.T` | 2×4 |" in md
    assert "| ∂L/∂Z = ∂L/∂u ⊙ σ′(Z) |" in md
    # the three-way table, --show's three matrices and the cost
    assert "| `W1` | 4×3 | every entry | central differences, 12 entries |" in md
    assert "∂L/∂W1 (4×3), three ways:" in md and "| symbolic | backprop | numeric |" in md
    assert "## Cost in multiply-adds (1 example)" in md
    assert md.rstrip().endswith("**Verdict: agree** — symbolic, backprop and numeric gradients agree for every "
                                "parameter.")


def test_latex_uses_the_sheets_notation(sheet002_tex):
    tex = sheet002_tex
    assert tex.startswith(r"\documentclass")
    assert r"u &= \sigma\left(Z\right)" in tex
    assert r"\frac{\partial L}{\partial Z} &= \frac{\partial L}{\partial u} \odot \left(u \odot \left(1 - u\right)\right)" \
        in tex
    assert r"\frac{\partial L}{\partial W_{2}} &= \frac{\partial L}{\partial \hat{y}} \, {u}^{\top}" in tex
    assert r"\text{(symbolic)}" in tex and r"\text{(numeric)}" in tex


def test_latex_compiles(sheet002_tex, tmp_path):
    compile_latex(sheet002_tex, tmp_path)


@pytest.mark.parametrize("example", ["sheet001_xor_random_init", "sheet003_one_hidden_layer", "sheet004_two_layer",
                                     "sheet000_tanh_layer"])
def test_every_sheet_network_writes_up(example, tmp_path):
    tex = invoke("check", f"examples/{example}.yaml", "--format", "latex")
    md = invoke("check", f"examples/{example}.yaml", "--format", "markdown")
    assert tex.exit_code == 0 and md.exit_code == 0, tex.output + md.output
    assert "## Gradients, three ways" in md.stdout
    compile_latex(tex.stdout, tmp_path)


def test_a_disagreeing_parameter_is_named():
    from gradcli.checks.nets.netcheck import check_net
    from gradcli.render.netcheck_doc import latex, markdown
    from gradcli.io.spec import load_net

    r = check_net(load_net(SHEET002))
    p = r.gradients["W2"]
    p.verdict, p.odd_one_out, p.reason = "disagree", "backprop", "backprop differs from symbolic and numeric"
    md = markdown(r)
    assert "> ∂L/∂W2: backprop differs from symbolic and numeric (odd one out: backprop)" in md
    assert "**Verdict: disagree** — the gradients disagree for W2." in md
    assert r"\textbf{disagree}" in latex(r)
