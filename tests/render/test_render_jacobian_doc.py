"""`gradcli jacobian ... --format latex` (gradcli.render.jacobian_doc) and `gradcli train --format latex`: complete
documents that compile, with the shape's reason, the index formula and the entries three ways."""

import pytest
from typer.testing import CliRunner

from gradcli.cli import app
from latex_compile import compile_latex

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def test_matrix_by_matrix_jacobian(tmp_path):
    r = invoke("jacobian", "X @ W.T", "--wrt", "W", "--shape", "X=3x4", "--shape", "W=2x4", "--format", "latex")
    assert r.exit_code == 0, r.output
    tex = r.stdout
    assert r"J = \frac{\partial\, \left(X \, {W}^{\top}\right)}{\partial W}" in tex
    assert r"J_{i j k l} = \frac{\partial\, \text{output}_{i j}}{\partial W_{k l}}" in tex
    assert r"Shape $\left(3, 2, 2, 4\right)$: (output shape) \ensuremath{\times} (input shape)" in tex
    assert r"\[ J_{i j k l} = {X}_{i, l} \cdot {\delta}_{j, k} \]" in tex
    assert sum(line.startswith(r"$\left(") for line in tex.splitlines()) == 3 * 2 * 2 * 4  # every entry
    assert r"(seeded random)" in tex
    compile_latex(tex, tmp_path)


def test_softmax_jacobian_shows_the_matrix(tmp_path):
    r = invoke("jacobian", "softmax(z)", "--wrt", "z", "--shape", "z=3", "--at", "z=[1, 2, 3]", "--format", "latex")
    assert r.exit_code == 0, r.output
    tex = r.stdout
    assert r"z &= \begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}" in tex
    assert r"\[ J = \begin{bmatrix} 0.0819251 & -0.022033 & -0.059892" in tex
    assert r"\textbf{agree}: largest relative error" in tex
    compile_latex(tex, tmp_path)


def test_scalar_by_vector_jacobian(tmp_path):
    r = invoke("jacobian", "norm(w)^2", "--wrt", "w", "--shape", "w=4", "--format", "latex")
    assert r.exit_code == 0, r.output
    assert r"Shape $\left(1, 4\right)$" in r.stdout
    compile_latex(r.stdout, tmp_path)


@pytest.mark.parametrize("example", ["sheet001_xor_zero_init", "sheet003_one_hidden_layer"])
def test_train_latex_is_a_complete_document(example, tmp_path):
    r = invoke("train", f"examples/{example}.yaml", "--steps", "50", "--format", "latex")
    assert r.exit_code == 0, r.output
    tex = r.stdout
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\theta_{t+1} &= \theta_t - \eta\,\nabla L(\theta_t)" in tex
    assert r"\section*{Training \texttt{examples/" in tex
    compile_latex(tex, tmp_path)


def test_a_big_jacobian_lists_the_first_entries_and_says_how_many_more(tmp_path):
    r = invoke("jacobian", "X @ W.T", "--wrt", "W", "--shape", "X=3x5", "--shape", "W=3x5", "--format", "latex")
    assert r.exit_code == 0, r.output
    assert r"\ldots\ and 71 more entries" in r.stdout  # 3·3·3·5 = 135 entries, 64 listed
    compile_latex(r.stdout, tmp_path)
