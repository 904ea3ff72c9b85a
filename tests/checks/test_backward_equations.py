"""backward_equations: sheet 002's backward pass as printed, derived from forward: and checked against the engine."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.io import spec as S
from gradcli.checks.nets.backward_equations import backward_equations, text
from gradcli.language.expr import parse

SHEET_002 = """
inputs:
  x: [0.5, -1.0, 2.0]
  y: [0.3, -0.4]
params:
  W1: {shape: [4, 3], init: {normal: {std: 0.5, seed: 0}}}
  W2: {shape: [2, 4], init: {normal: {std: 0.5, seed: 1}}}
forward:
  Z: W1 @ x
  u: sigmoid(Z)
  yhat: W2 @ u
loss: norm(yhat - y)^2
"""


def by_target(report):
    return {e.target: e for e in report.equations}


def test_sheet_002_backward_pass_as_the_sheet_prints_it():
    r = backward_equations(S.load_text(SHEET_002))
    eq = by_target(r)
    assert [e.target for e in r.equations] == ["yhat", "u", "Z", "W1", "W2"]
    assert eq["yhat"].formula == "2*(yhat - y)" and eq["yhat"].rule == "∂L/∂yhat = 2(yhat - y)"
    assert eq["W2"].formula == "dL_dyhat @ u.T" and eq["W2"].expanded == "2*(yhat - y) @ u.T"
    assert eq["u"].formula == "W2.T @ dL_dyhat" and eq["u"].expanded == "W2.T @ (2*(yhat - y))"
    assert eq["Z"].rule == "∂L/∂Z = ∂L/∂u ⊙ σ′(Z)" and eq["Z"].formula == "dL_du*(u*(1 - u))"
    assert eq["W1"].formula == "dL_dZ @ x.T"
    assert all(e.verdict == "agree" and e.max_rel_error < 1e-12 for e in r.equations)
    assert eq["W1"].shape == (4, 3) and eq["u"].shape == (4, 1)


def test_formulas_parse_back_to_themselves():
    r = backward_equations(S.load_text(SHEET_002))
    for e in r.equations:
        assert text(parse(e.formula)) == e.formula
        if e.expanded:
            assert text(parse(e.expanded)) == e.expanded


def test_a_wrong_engine_gradient_makes_the_check_fail(monkeypatch):
    from gradcli.numerics.engine import ops

    real = ops.OPS["sigmoid"]

    def bad_sigmoid(x):
        out = real(x)
        vjp = out.vjp
        out.vjp = lambda g: tuple(2 * v for v in vjp(g))
        return out

    monkeypatch.setitem(ops.OPS, "sigmoid", bad_sigmoid)
    r = backward_equations(S.load_text(SHEET_002))
    eq = by_target(r)
    assert eq["Z"].verdict == "disagree" and eq["W1"].verdict == "disagree"
    assert eq["W2"].verdict == "agree" and r.verdict == "disagree"


MANY_OPS = """
inputs:
  x: [0.4, -0.7, 1.1]
  y: [0.2, 0.9, -0.3]
params:
  A: {{shape: [3, 3], init: {{normal: {{std: 0.6, seed: 4}}}}}}
  c: 0.8
forward:
  h: {h}
loss: {loss}
wrt: [A, c, x]
"""

EXPRESSIONS = ["tanh(A @ x) * c", "exp(A @ x / 3) - c * x", "softmax(A @ x)", "sin(A.T @ x) + cos(x) * c",
               "sqrt(1 + (A @ x)^2)", "softplus(A @ x) / (1 + c^2)", "ln(2 + sigmoid(A @ x))", "atan(A @ x) * c",
               "outer(A @ x, x) @ y", "diag(A @ x) @ x", "transpose(A) @ x - mean(x) * c"]
LOSSES = ["sum((h - y)^2)", "mean((h - y)^2)", "dot(h, y) + norm(h)", "logsumexp(h) - sum(y * h)",
          "0.5 * norm(h - y)^2", "sum(abs(h - y) + 1)"]


@settings(max_examples=30, deadline=None)
@given(h=st.sampled_from(EXPRESSIONS), loss=st.sampled_from(LOSSES))
def test_every_rule_agrees_with_the_engine(h, loss):
    r = backward_equations(S.load_text(MANY_OPS.format(h=h, loss=loss)))
    assert r.note is None
    used = {"h", "A", "x"} | ({"c"} if "c" in h.replace("cos", "") else set())
    assert used <= {e.target for e in r.equations}
    assert all(e.verdict == "agree" for e in r.equations), [(e.target, e.formula, e.max_rel_error)
                                                            for e in r.equations]


def test_relu_kink_gives_kink():
    text_ = """
inputs:
  x: [1.0, 2.0]
params:
  W: [[1.0, -0.5], [0.5, 0.5]]
forward:
  h: relu(W @ x)
loss: sum(h^2) + sum(h)
"""
    r = backward_equations(S.load_text(text_))
    assert by_target(r)["W"].verdict == "kink"
    assert by_target(r)["W"].rule.endswith("relu′(W @ x)) @ xᵀ")


def test_batch_equations_are_checked_per_example():
    text_ = """
layers:
  - dense: {in: 2, out: 3, activation: relu}
  - dense: {out: 1}
loss: sse
data: {x: [[0.3, 0.1], [1, -1], [0.5, 0.2]], y: [1, 0, 0.5]}
"""
    r = backward_equations(S.load_text(text_))
    assert r.examples_checked == 3 and r.reduce == "mean" and r.verdict == "agree"
    assert by_target(r)["W2"].formula == "dL_dyhat @ h1.T"
