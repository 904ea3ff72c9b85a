"""`gradcli check PROBLEMS --format latex` (gradcli.render.problems_doc): every claim worked through, a wrong
one with the right form and the counterexample; user text escaped; the document compiles."""

import shutil

import pytest
from typer.testing import CliRunner

from gradcli.cli import app
from gradcli.checks.claims.results import ClaimResult, ProblemResult
from gradcli.render.problems_doc import latex
from latex_compile import compile_latex

runner = CliRunner()
WARMUP = "problems/003_s2_chain_rule_warmup.yaml"


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


@pytest.fixture(scope="module")
def warmup_tex():
    r = invoke("check", WARMUP, "--format", "latex", "--jobs", "1")
    assert r.exit_code == 0, r.output
    return r.stdout


def test_a_known_slip_is_worked_through(warmup_tex):
    tex = warmup_tex
    assert r"\subsection*{Neural network chain rule warm-up}" in tex
    assert r"\subsubsection*{dv/dx as printed (product of the chain-rule terms)}" in tex
    # the claim as printed, the right form, the counterexample with both numbers
    assert (r"\[ 4 \cdot c \cdot \left(a - b\right) \cdot \left(w + x + y\right) \cdot \left(-4\right) \cdot c \cdot "
            r"\left(a - b\right) \cdot \left(x - y - z\right) \]") in tex
    assert "Right:\n\\[ 4 \\cdot c \\cdot " in tex  # its simplified form depends on SymPy's time bound
    assert "Counterexample: at $c = " in tex and "; right $" in tex and "; claimed $" in tex
    assert "a known slip of the sheet, confirmed." in tex


def test_latex_compiles(warmup_tex, tmp_path):
    compile_latex(warmup_tex, tmp_path)


def test_a_directory_gets_a_summary_table_and_compiles(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    for name in ("003_s2_chain_rule_warmup.yaml", "001_s2_jacobians.yaml", "002_p1_backprop.yaml",
                 "001_s5_computation_graph.yaml"):
        shutil.copy(f"problems/{name}", bank / name)
    r = invoke("check", str(bank), "--format", "latex", "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert r"\subsection*{Summary}" in r.stdout
    assert r.stdout.count(r"\texttt{" + str(bank).replace("_", r"\_")) >= 4
    out = tmp_path / "tex"
    out.mkdir()
    compile_latex(r.stdout, out)


def test_hostile_titles_and_ids_are_escaped(tmp_path):
    claims = [ClaimResult(id="50% of $x_1 & {y}# ~^\\", kind="value", verdict="wrong", expect="correct",
                          detail="right: 2; claimed 1 — 100% off", line=3, right="2", claimed="1",
                          counterexample={"at": {"x_1": 1.0, "W[0,1]": 2.0}, "right": 2.0, "claimed": 1.0, "entry": 0},
                          method="interval"),
              ClaimResult(id="σ′(z) → ŷ", kind="behaviour", verdict="correct", expect="correct",
                          detail="converged", right="after 10 steps: loss 1e-9", claimed="converges")]
    r = ProblemResult("a_b/c%d.yaml", "Title with _ & % $ and ∂L/∂W", "sheet #3, §2", claims)
    tex = latex(r)
    assert r"\subsubsection*{50\% of \ensuremath{\$}x\_1 \& \{y\}\# \textasciitilde{}\textasciicircum{}\textbackslash{}}" \
        in tex
    assert r"\textbf{not as expected}" in tex
    assert r"at $x_{1} = 1$, $\text{W[0,1]} = 2$; right $2$; claimed $1$; entry $0$" in tex
    compile_latex(tex, tmp_path)


def test_the_result_module_comes_first_then_its_doc_companion():
    from gradcli.render import problems, problems_doc, renderer

    assert renderer("ProblemResult", "markdown") is problems.markdown  # defined by the module itself
    assert renderer("BankResult", "latex") is problems_doc.latex  # found in problems_doc
    assert renderer("BankResult", "json") is problems.json_text
