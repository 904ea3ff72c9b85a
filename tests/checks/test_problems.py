"""Problem files (the problem-file format): every claim kind with a true and a false claim, the explanations of wrong claims,
the printed-digit intervals, the bad-claim classes (exit 2 naming file, claim id and line), and JSON."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcli.cli import app
from gradcli.errors import SpecError
from gradcli.checks.claims.problems import check_problem, check_problem_file
from gradcli.checks.claims.value import printed_interval
from gradcli.io.spec import load_problem, load_text

runner = CliRunner()


def check(tmp_path, text: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    result = check_problem_file(path)
    return {c.id: c for c in result.claims}


def spec_error(tmp_path, text: str, name: str = "p.yaml") -> SpecError:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as info:
        check_problem_file(path)
    return info.value


WARMUP = """\
    title: warm-up
    function: c*(a-b)^2
    where: {a: (w+x+y)^2, b: (x-y-z)^2}
    claims:
      - id: dv/dw
        derivative: {wrt: w}
        claim: 4*c*(a-b)*(w+x+y)
      - id: dv/dx as printed
        derivative: {wrt: x}
        claim: 4*c*(a-b)*(w+x+y) * -4*c*(a-b)*(x-y-z)
        expect: wrong
      - id: dv/dx
        derivative: {wrt: x}
        claim: 4*c*(a-b)*(w+2*y+z)
      - id: dv/dy sign slip
        derivative: {wrt: y}
        claim: 4*c*(a-b)*(w-2*x+z)
      - id: dv/da upstream
        derivative: {wrt: a}
        claim: 2*c*(a-b)
      - id: dv/db upstream wrong sign
        derivative: {wrt: b}
        claim: 2*c*(a-b)
      - id: da/dx of an intermediate
        derivative: {of: a, wrt: x}
        claim: 2*(w+x+y)
"""


# ---------------------------------------------------------------------------------------------- derivative


def test_derivative_true_and_false_with_where_names(tmp_path):
    r = check(tmp_path, WARMUP)
    assert r["dv/dw"].verdict == "correct" and r["dv/dw"].method == "symbolic"
    assert r["dv/dx"].verdict == "correct"
    assert r["dv/dx as printed"].verdict == "wrong" and r["dv/dx as printed"].ok
    assert r["dv/dy sign slip"].verdict == "wrong" and not r["dv/dy sign slip"].ok
    assert r["da/dx of an intermediate"].verdict == "correct"


def test_wrong_derivative_gives_the_right_formula_and_a_counterexample_with_both_numbers(tmp_path):
    c = check(tmp_path, WARMUP)["dv/dx as printed"]
    assert "right: 4*c*(a - b)*(w + 2*y + z)" in c.detail
    cx = c.counterexample
    assert set(cx["at"]) == {"c", "w", "x", "y", "z"}
    p = cx["at"]
    a, b = (p["w"] + p["x"] + p["y"]) ** 2, (p["x"] - p["y"] - p["z"]) ** 2
    right = 4 * p["c"] * (a - b) * (p["w"] + 2 * p["y"] + p["z"])
    claimed = 4 * p["c"] * (a - b) * (p["w"] + p["x"] + p["y"]) * -4 * p["c"] * (a - b) * (p["x"] - p["y"] - p["z"])
    assert cx["right"] == pytest.approx(right, rel=1e-9) and cx["claimed"] == pytest.approx(claimed, rel=1e-9)
    assert f"{right:.6g}"[:5] in c.detail.replace(" ", "")


def test_upstream_gradient_holds_everything_else_fixed(tmp_path):
    r = check(tmp_path, WARMUP)
    assert r["dv/da upstream"].verdict == "correct"
    wrong = r["dv/db upstream wrong sign"]
    assert wrong.verdict == "wrong" and "right: 2*c*(b - a)" in wrong.detail
    assert wrong.counterexample["right"] == pytest.approx(-wrong.counterexample["claimed"])


def test_upstream_gradient_recomputes_what_is_downstream(tmp_path):
    r = check(tmp_path, """\
        function: h1 + h3
        where: {h1: ln(x), h2: exp(y), h3: h2*z}
        claims:
          - id: df/dh2
            derivative: {wrt: h2}
            claim: z
          - id: df/dh2 as if h3 were fixed
            derivative: {wrt: h2}
            claim: "0"
          - id: dh3/dh2
            derivative: {of: h3, wrt: h2}
            claim: z
    """)
    assert r["df/dh2"].verdict == "correct" and r["dh3/dh2"].verdict == "correct"
    assert r["df/dh2 as if h3 were fixed"].verdict == "wrong"


def test_a_claim_sympy_cannot_simplify_is_still_judged_at_random_points(tmp_path, monkeypatch):
    from gradcli.symbolic import equivalence

    monkeypatch.setattr(equivalence, "proved_equal", lambda a, b, seconds: False)
    r = check(tmp_path, """\
        function: sigmoid(x)
        claims:
          - id: right
            derivative: {wrt: x}
            claim: sigmoid(x)*(1 - sigmoid(x))
          - id: wrong
            derivative: {wrt: x}
            claim: sigmoid(x)*(1 + sigmoid(x))
    """)
    assert r["right"].verdict == "correct" and "random points" in r["right"].detail
    assert r["wrong"].verdict == "wrong" and r["wrong"].counterexample is not None


def test_points_outside_the_domain_are_skipped(tmp_path):
    r = check(tmp_path, """\
        function: ln(x) + sqrt(y)
        claims:
          - id: d/dx
            derivative: {wrt: x}
            claim: 1/x
          - id: d/dy
            derivative: {wrt: y}
            claim: 1/(2*sqrt(y))
          - id: d/dy wrong
            derivative: {wrt: y}
            claim: 1/sqrt(y)
    """)
    assert r["d/dx"].verdict == "correct" and r["d/dy"].verdict == "correct"
    cx = r["d/dy wrong"].counterexample
    assert r["d/dy wrong"].verdict == "wrong" and cx["at"]["y"] > 0


def test_derivative_of_a_scalar_by_a_vector_has_the_vectors_shape(tmp_path):
    r = check(tmp_path, """\
        function: sum(w*w)
        shapes: {w: [3]}
        claims:
          - id: column
            derivative: {wrt: w}
            claim: 2*w
          - id: row is a shape slip
            derivative: {wrt: w}
            claim: 2*w.T
    """)
    assert r["column"].verdict == "correct"
    slip = r["row is a shape slip"]
    assert slip.verdict == "wrong" and "(3, 1)" in slip.detail and "(1, 3)" in slip.detail
    assert "transpose" in slip.detail


# ---------------------------------------------------------------------------------------------- value


GRAPH = """\
    function: h1 + h3
    where: {h1: ln(x), h2: exp(y), h3: h2*z}
    claims:
      - id: f
        value: {at: {x: 1, y: 3, z: 2}}
        claim: 40.171
      - id: f one digit off
        value: {at: {x: 1, y: 3, z: 2}}
        claim: 40.172
      - id: h2
        value: {at: {x: 1, y: 3, z: 2}, of: h2}
        claim: 20.0855
      - id: df/dh2 printed first
        value: {at: {x: 1, y: 3, z: 2}, wrt: h2}
        claim: 1
        expect: wrong
      - id: df/dy
        value: {at: {x: 1, y: 3, z: 2}, wrt: y}
        claim: 40.171
      - id: df/dz as a formula
        value: {at: {x: 1, y: 3, z: 2}, wrt: z}
        claim: exp(3)
      - id: tol overrides the digits
        value: {at: {x: 1, y: 3, z: 2}}
        claim: 40
        tol: 0.2
      - id: tol too tight
        value: {at: {x: 1, y: 3, z: 2}}
        claim: 40
        tol: 0.1
"""


def test_value_claims_use_the_printed_digits(tmp_path):
    r = check(tmp_path, GRAPH)
    assert r["f"].verdict == "correct" and "[40.1705, 40.1715]" in r["f"].detail
    assert r["f one digit off"].verdict == "wrong" and "40.17107385" in r["f one digit off"].detail
    assert r["h2"].verdict == "correct"
    assert r["df/dh2 printed first"].verdict == "wrong" and r["df/dh2 printed first"].ok
    assert "is 2" in r["df/dh2 printed first"].detail
    assert r["df/dy"].verdict == "correct" and r["df/dz as a formula"].verdict == "correct"
    assert r["tol overrides the digits"].verdict == "correct" and r["tol too tight"].verdict == "wrong"


def test_trailing_zeros_count_as_digits(tmp_path):
    r = check(tmp_path, """\
        function: x
        claims:
          - id: 2 decimals
            value: {at: {x: 40.104}}
            claim: 40.10
          - id: 3 decimals
            value: {at: {x: 40.104}}
            claim: 40.100
    """)
    assert r["2 decimals"].verdict == "correct" and r["3 decimals"].verdict == "wrong"


def test_printed_interval_examples():
    assert printed_interval("40.171") == pytest.approx((40.1705, 40.1715))
    assert printed_interval("-0.5") == pytest.approx((-0.55, -0.45))
    assert printed_interval("1.5e-3") == pytest.approx((1.45e-3, 1.55e-3))
    assert printed_interval("2") == (2.0, 2.0)
    assert printed_interval("2.") == pytest.approx((1.5, 2.5))
    assert printed_interval("x") is None and printed_interval("") is None


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=1, max_value=6))
def test_a_number_lies_in_the_interval_of_its_own_rounding(v, digits):
    text = f"{v:.{digits}f}"
    lo, hi = printed_interval(text)
    assert hi - lo == pytest.approx(10.0 ** -digits, rel=1e-6, abs=1e-9 * max(1.0, abs(v)))
    assert lo - 1e-9 <= v <= hi + 1e-9


def test_a_value_needs_every_variable_it_depends_on(tmp_path):
    err = spec_error(tmp_path, """\
        function: x^2 + y
        claims:
          - id: at is missing y
            value: {at: {x: 1}}
            claim: 1
    """)
    assert err.where.endswith("p.yaml: claims[0] 'at is missing y' (line 4)") and "needs a value for y" in err.message


# ---------------------------------------------------------------------------------------------- nets


NET = """\
    title: one hidden layer
    net:
      inputs: {x: [0.5, -1.2]}
      params:
        W0: {shape: [4, 2], init: {normal: {std: 0.5, seed: 0}}}
        b0: {shape: [4], init: {normal: {std: 0.5, seed: 1}}}
        W1: [[0.1, -0.2, 0.3, 0.4]]
        b1: [0.0]
      forward:
        z: sigmoid(W0 @ x + b0)
        yhat: W1 @ z + b1
      loss: yhat
    claims:
      - id: dy/dW1 printed as a column
        gradient: {wrt: W1}
        claim: z
        expect: wrong
      - id: dy/dW1
        gradient: {wrt: W1}
        claim: z.T
      - id: dy/db1
        gradient: {wrt: b1}
        claim: "1"
      - id: dy/dz
        gradient: {wrt: z}
        claim: W1.T
      - id: dy/dW0
        gradient: {wrt: W0}
        claim: (W1.T * z * (1-z)) @ x.T
      - id: dy/dW0 without sigma'
        gradient: {wrt: W0}
        claim: (W1.T * z) @ x.T
      - id: dy/db0 as a derivative
        derivative: {wrt: b0}
        claim: W1.T * z * (1-z)
      - id: dy/db0 derivative slip
        derivative: {wrt: b0}
        claim: W1.T * z
      - id: W1 after a step
        update: {wrt: W1, lr: eta}
        claim: W1 - eta*z.T
      - id: W1 after a step, sign slip
        update: {wrt: W1, lr: 0.1}
        claim: W1 + 0.1*z.T
      - id: the output
        value: {at: {}}
        claim: 0.18442
"""


def test_gradient_claims_are_compared_entry_by_entry_with_shapes(tmp_path):
    r = check(tmp_path, NET)
    col = r["dy/dW1 printed as a column"]
    assert col.verdict == "wrong" and "(1, 4)" in col.detail and "(4, 1)" in col.detail and "transpose" in col.detail
    for ok in ("dy/dW1", "dy/db1", "dy/dz", "dy/dW0"):
        assert r[ok].verdict == "correct", r[ok].detail
    assert "also holds at 3 random values" in r["dy/dW0"].detail
    slip = r["dy/dW0 without sigma'"]
    assert slip.verdict == "wrong" and slip.counterexample["entry"] == [0, 0]
    assert "right" in slip.detail and "claimed" in slip.detail


def test_gradient_claims_are_about_the_nets_values(tmp_path):
    r = check(tmp_path, """\
        net:
          inputs: {x: [1, 0], y: 1}
          params:
            W1: {shape: [2, 2], init: zeros}
            b1: {shape: [2], init: zeros}
            W2: {shape: [1, 2], init: zeros}
            b2: {shape: [1], init: zeros}
          forward:
            h: relu(W1 @ x + b1)
            yhat: W2 @ h + b2
          loss: 0.5*sum((yhat - y)^2)
        claims:
          - id: dL/dW2 = 0 at zero init
            gradient: {wrt: W2}
            claim: zeros(1, 2)
          - id: dL/db2 = yhat - y
            gradient: {wrt: b2}
            claim: yhat - y
    """)
    zero = r["dL/dW2 = 0 at zero init"]
    assert zero.verdict == "correct" and "holds at these values only" in zero.detail
    assert "also holds" in r["dL/db2 = yhat - y"].detail


def test_derivative_and_update_and_value_on_a_net(tmp_path):
    r = check(tmp_path, NET)
    assert r["dy/db0 as a derivative"].verdict == "correct"
    assert r["dy/db0 derivative slip"].verdict == "wrong"
    assert r["W1 after a step"].verdict == "correct"
    assert r["W1 after a step, sign slip"].verdict == "wrong"
    assert r["the output"].verdict == "correct"


def test_update_of_a_function(tmp_path):
    r = check(tmp_path, """\
        function: 0.5*(a*w1^2 + b*w2^2)
        claims:
          - id: rho
            update: {wrt: w1, lr: eta}
            claim: (1 - eta*a)*w1
          - id: rho slip
            update: {wrt: w1, lr: eta}
            claim: (1 - eta*b)*w1
    """)
    assert r["rho"].verdict == "correct"
    assert r["rho slip"].verdict == "wrong" and "right: " in r["rho slip"].detail


def test_gradient_claims_with_data_are_per_example(tmp_path):
    r = check(tmp_path, """\
        net:
          data: {x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [0, 1, 1, 0]}
          params:
            w: [0.3, -0.2]
            b: 0.1
          forward:
            yhat: w.T @ x + b
          loss: 0.5*(yhat - y)^2
        claims:
          - id: dL/dw per example
            gradient: {wrt: w}
            claim: (yhat - y) * x
          - id: dL/dw without the residual
            gradient: {wrt: w}
            claim: x
    """)
    assert r["dL/dw per example"].verdict == "correct" and "every one of 4 examples" in r["dL/dw per example"].detail
    assert r["dL/dw without the residual"].verdict == "wrong"


# ---------------------------------------------------------------------------------------------- jacobian


JACOBIANS = """\
    shapes: {X: [3, 4], W: [2, 4], w: [4]}
    where: {s: softmax(z)}
    claims:
      - id: XW^T shape
        jacobian: {of: X @ W.T, wrt: W}
        claim_shape: [3, 2, 2, 4]
      - id: XW^T shape slip
        jacobian: {of: X @ W.T, wrt: W}
        claim_shape: [3, 2, 4, 2]
      - id: XW^T entry
        jacobian: {of: X @ W.T, wrt: W}
        claim_entry: X[i,l] * delta(j,k)
      - id: XW^T entry as printed
        jacobian: {of: X @ W.T, wrt: W}
        claim_entry: X[i,l] * delta(i,k)
      - id: norm squared
        jacobian: {of: norm(w)^2, wrt: w}
        claim_shape: [1, 4]
        claim: 2*w.T
      - id: norm squared as a column
        jacobian: {of: norm(w)^2, wrt: w}
        claim: 2*w
      - id: softmax
        jacobian: {of: s, wrt: z, shapes: {z: [3]}}
        claim: diag(s) - s @ s.T
        claim_entry: s[i]*(delta(i,j) - s[j])
      - id: softmax slip
        jacobian: {of: s, wrt: z, shapes: {z: [3]}}
        claim: diag(s) - s.T @ s
"""


def test_jacobian_shapes_and_why(tmp_path):
    r = check(tmp_path, JACOBIANS)
    assert r["XW^T shape"].verdict == "correct"
    slip = r["XW^T shape slip"]
    assert slip.verdict == "wrong" and "(3, 2, 2, 4)" in slip.detail
    assert "X @ W.T is a 3×2 matrix -> (3, 2)" in slip.detail and "W is a 2×4 matrix -> (2, 4)" in slip.detail
    assert slip.right["shape"] == [3, 2, 2, 4]


def test_jacobian_entries_with_delta_and_the_first_failing_index(tmp_path):
    r = check(tmp_path, JACOBIANS)
    assert r["XW^T entry"].verdict == "correct"
    slip = r["XW^T entry as printed"]
    assert slip.verdict == "wrong"
    assert "(i=0, j=1, k=0, l=0)" in slip.detail  # the first index in row-major order where j != k but i = k
    assert slip.counterexample["index"] == [0, 1, 0, 0]
    assert "right entry formula: X[i,l]*delta(j,k)" in slip.detail
    assert list(slip.counterexample["at"]) != [] and slip.counterexample["claimed"] != 0


def test_jacobian_closed_forms(tmp_path):
    r = check(tmp_path, JACOBIANS)
    assert r["norm squared"].verdict == "correct"
    assert r["norm squared as a column"].verdict == "wrong" and "(4, 1)" in r["norm squared as a column"].detail
    assert r["softmax"].verdict == "correct"
    slip = r["softmax slip"]
    assert slip.verdict == "wrong" and "index (0, 0)" in slip.detail
    assert "s[i]" in slip.right["entry"] and "delta(i,j)" in slip.right["entry"]


# ---------------------------------------------------------------------------------------------- behaviour


QUADRATIC = """\
    function: 0.5*(a*w1^2 + b*w2^2)
    claims:
      - id: converges below 2/a
        behaviour: {train: {params: {w1: 1, w2: -1}, constants: {a: 10, b: 1}, lr: 0.19, steps: 500}}
        claim: converges
      - id: converges above 2/a (false)
        behaviour: {train: {params: {w1: 1, w2: -1}, constants: {a: 10, b: 1}, lr: 0.21, steps: 500}}
        claim: converges
      - id: diverges above 2/a
        behaviour: {train: {params: {w1: 1, w2: -1}, constants: {a: 10, b: 1}, lr: 0.21, steps: 500}}
        claim: diverges
      - id: diverges below 2/a (false)
        behaviour: {train: {params: {w1: 1, w2: -1}, constants: {a: 10, b: 1}, lr: 0.19, steps: 500}}
        claim: diverges
      - id: slow
        behaviour: {train: {params: {w1: 1, w2: -1}, constants: {a: 100, b: 1}, lr: 0.01, steps: 200}}
        claim: converges
        expect: wrong
"""


def test_converges_and_diverges(tmp_path):
    r = check(tmp_path, QUADRATIC)
    assert r["converges below 2/a"].verdict == "correct"
    assert r["converges above 2/a (false)"].verdict == "wrong"
    assert r["diverges above 2/a"].verdict == "correct" and "1e12" in r["diverges above 2/a"].detail.replace(
        "1e+12", "1e12")
    assert r["diverges below 2/a (false)"].verdict == "wrong"
    slow = r["slow"]
    assert slow.verdict == "wrong" and slow.ok and "> tol·max(1, ‖θ‖)" in slow.detail


XOR = """\
    net:
      data: {x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [0, 1, 1, 0]}
      params:
        W1: %(W1)s
        b1: %(b1)s
        W2: %(W2)s
        b2: %(b2)s
      forward:
        h: relu(W1 @ x + b1)
        yhat: W2 @ h + b2
      loss: 0.5*sum((yhat - y)^2)
    claims:
      - id: symmetric
        behaviour: {train: {lr: 0.1, steps: 300}}
        claim: symmetric
      - id: learns
        behaviour: {train: {lr: 0.1, steps: 300}}
        claim: learns
      - id: fails_to_learn
        behaviour: {train: {lr: 0.1, steps: 300}}
        claim: fails_to_learn
      - id: converges
        behaviour: {train: {lr: 0.1, steps: 300}}
        claim: converges
"""


def test_zero_init_keeps_symmetry_and_fails_to_learn(tmp_path):
    r = check(tmp_path, XOR % {"W1": "[[0, 0], [0, 0]]", "b1": "[0, 0]", "W2": "[[0, 0]]", "b2": "[0]"})
    assert r["symmetric"].verdict == "correct" and "units 0, 1 of W1" in r["symmetric"].detail
    assert r["fails_to_learn"].verdict == "correct" and r["learns"].verdict == "wrong"
    assert "off by 0.5" in r["learns"].detail


def test_the_printed_xor_weights_learn_and_are_not_symmetric(tmp_path):
    r = check(tmp_path, XOR % {"W1": "[[1, 1], [1, 1]]", "b1": "[0, -1]", "W2": "[[1, -2]]", "b2": "[0]"})
    assert r["learns"].verdict == "correct" and r["fails_to_learn"].verdict == "wrong"
    assert r["converges"].verdict == "correct"
    assert r["symmetric"].verdict == "wrong" and "no two units" in r["symmetric"].detail


def test_the_compiled_gradient_matches_the_engine(tmp_path):
    """Behaviours run train.py's loop on a gradient compiled from SymPy; it must be the engine's gradient."""
    from gradcli.training import train as T
    from gradcli.checks.claims.behaviour import compiled_objective
    from gradcli.checks.claims.context import ClaimContext

    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(XOR % {"W1": "[[0.3, -0.1], [0.2, 0.4]]", "b1": "[0.1, 0]",
                                           "W2": "[[0.5, -0.3]]", "b2": "[0.2]"}))
    problem = load_problem(path)
    ctx = ClaimContext(problem, 0, 1.0)
    names = T.trained_params(problem.net)
    objective = compiled_objective(ctx, names, {**problem.net.inputs, **problem.net.params})
    rng = np.random.default_rng(0)
    for _ in range(5):
        theta = {n: rng.normal(size=np.shape(problem.net.params[n])) for n in names}
        loss, grads = objective(theta)
        loss_e, grads_e = T.loss_and_grads(problem.net, theta)
        assert loss == pytest.approx(loss_e, rel=1e-12)
        for n in names:
            np.testing.assert_allclose(grads[n], grads_e[n], rtol=1e-10, atol=1e-14)
    zero = {n: np.zeros(np.shape(problem.net.params[n])) for n in names}  # relu'(0) = 0, as in the engine
    _, grads = objective(zero)
    _, grads_e = T.loss_and_grads(problem.net, zero)
    for n in names:
        np.testing.assert_allclose(grads[n], grads_e[n], atol=1e-15)


def test_behaviour_verdicts_match_gradcli_train(tmp_path):
    from gradcli.training import train as T

    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(XOR % {"W1": "[[0.3, -0.1], [0.2, 0.4]]", "b1": "[0.1, 0]",
                                           "W2": "[[0.5, -0.3]]", "b2": "[0.2]"}))
    problem = load_problem(path)
    ours = {c.id: c.verdict == "correct" for c in check_problem(problem).claims}
    engine = T.train(problem.net, lr=0.1, steps=300)
    for behaviour in ("symmetric", "learns", "fails_to_learn", "converges"):
        assert ours[behaviour] == engine.holds(behaviour)


def test_learns_needs_a_net(tmp_path):
    err = spec_error(tmp_path, """\
        function: w^2
        claims:
          - id: learns?
            behaviour: {train: {params: {w: 1}, lr: 0.1, steps: 10}}
            claim: learns
    """)
    assert "learns?" in err.where and "net" in err.message


# ---------------------------------------------------------------------------------------------- bad claims


@pytest.mark.parametrize("claims, claim_id, line, words", [
    # unknown kind (caught while the file is read)
    ("- id: k\n  derivation: {wrt: x}\n  claim: 2*x\n", "k", 4, "unknown claim kind 'derivation'"),
    # unparsable formula
    ("- id: f\n  derivative: {wrt: x}\n  claim: 2*x +\n", "f", 5, "unexpected end"),
    # unknown name in the claim
    ("- id: n\n  derivative: {wrt: x}\n  claim: 2*q\n", "n", 5, "unknown name 'q'"),
    # wrt that names nothing
    ("- id: w\n  derivative: {wrt: v}\n  claim: 2*x\n", "w", 4, "'v' is neither a variable"),
    # index out of range
    ("- id: i\n  jacobian: {of: X @ W.T, wrt: W, shapes: {X: [3, 4], W: [2, 4]}}\n  claim_entry: X[l,i]\n",
     "i", 5, "does not fit 'X'"),
    # shapes missing
    ("- id: s\n  jacobian: {of: X @ w, wrt: w, shapes: {X: [3, 4]}}\n  claim_shape: [3, 4]\n", "s", 4,
     "no shape for 'w'"),
    # an index letter the Jacobian does not have
    ("- id: m\n  jacobian: {of: X @ w, wrt: w, shapes: {X: [3, 4], w: [4]}}\n  claim_entry: X[i,m]\n", "m", 5,
     "unknown name 'm'"),
])
def test_bad_claims_exit_2_naming_file_claim_and_line(tmp_path, claims, claim_id, line, words):
    path = tmp_path / "p.yaml"
    path.write_text("function: x^2\nclaims:\n" + textwrap.indent(claims, "  "))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert f"p.yaml: claims[0] '{claim_id}'" in result.stderr
    assert f"(line {line})" in result.stderr
    assert words in result.stderr
    assert result.stdout == ""
    as_json = runner.invoke(app, ["check", str(path), "--json"])
    assert as_json.exit_code == 2
    error = json.loads(as_json.stdout)["error"]
    assert f"claims[0] '{claim_id}'" in error["where"] and words in error["message"]


def test_a_claim_that_does_not_fit_the_shapes_is_wrong_not_bad_input(tmp_path):
    r = check(tmp_path, NET.replace("claim: z.T\n", "claim: W0 @ z\n", 1))
    c = r["dy/dW1"]
    assert c.verdict == "wrong" and "does not fit the shapes" in c.detail


# ---------------------------------------------------------------------------------------------- CLI and JSON


def test_cli_table_json_and_exit_codes(tmp_path):
    path = tmp_path / "warmup.yaml"
    path.write_text(textwrap.dedent(WARMUP))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1  # 'dv/dy sign slip' is wrong but expected correct
    out = " ".join(result.stdout.split())
    assert "warmup.yaml:15 dv/dy sign slip expected correct, found wrong" in out
    assert "1 file, 7 claims: 4 correct, 3 wrong (1 known slip confirmed); 2 claims not as expected" in out
    data = json.loads(runner.invoke(app, ["check", str(path), "--json"]).stdout)
    assert data["ok"] is False and len(data["files"]) == 1
    f = data["files"][0]
    assert f["file"] == str(path)
    claims = {c["id"]: c for c in f["claims"]}
    assert set(claims["dv/dw"]) >= {"id", "kind", "verdict", "expect", "ok", "detail"}
    assert claims["dv/dx as printed"] | {} == claims["dv/dx as printed"]
    assert (claims["dv/dx as printed"]["verdict"], claims["dv/dx as printed"]["ok"]) == ("wrong", True)
    assert claims["dv/dy sign slip"]["ok"] is False
    assert data["summary"]["known_slips_confirmed"] == 1


def test_every_verdict_matching_its_expect_exits_0(tmp_path):
    path = tmp_path / "g.yaml"
    text = textwrap.dedent(GRAPH)
    for slip in ("tol too tight", "f one digit off"):
        text = text.replace(f"  - id: {slip}\n", f"  - id: {slip}\n    expect: wrong\n")
    path.write_text(text)
    result = runner.invoke(app, ["check", str(path), "--format", "markdown"])
    assert result.exit_code == 0, result.stdout
    assert "| f | value | **correct** | correct |" in result.stdout


def test_load_text_problem_has_no_side_effects():
    """Checking a problem twice gives the same verdicts (caches are per check, constants untouched)."""
    problem = load_text(textwrap.dedent(QUADRATIC), "q.yaml")
    first = [(c.id, c.verdict, c.detail) for c in check_problem(problem).claims]
    second = [(c.id, c.verdict, c.detail) for c in check_problem(problem).claims]
    assert first == second
    assert all(not math.isnan(c.seconds) for c in check_problem(problem).claims)


def test_a_value_outside_the_domain_is_wrong_and_the_json_stays_valid(tmp_path):
    path = tmp_path / "ln.yaml"
    path.write_text("function: ln(x)\nclaims:\n  - id: ln(-1)\n    value: {at: {x: -1}}\n    claim: 0\n")
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 1
    claim = json.loads(result.stdout)["files"][0]["claims"][0]
    assert claim["verdict"] == "wrong" and "not defined at this point" in claim["detail"]
    assert claim["counterexample"]["right"] is None


def test_at_may_not_change_a_constant(tmp_path):
    text = """\
        function: a*x
        constants: {a: 2}
        claims:
          - id: same value is fine
            value: {at: {x: 3, a: 2}}
            claim: 6
          - id: another value is refused
            value: {at: {x: 3, a: 5}}
            claim: 15
    """
    err = spec_error(tmp_path, text)
    assert "'another value is refused'" in err.where and "constants" in err.message
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent(text).split("  - id: another")[0])
    assert check_problem_file(path).claims[0].verdict == "correct"


def test_every_claim_kind_of_the_schema_has_one_registered_check():
    from gradcli.checks.claims.kinds import CHECKS
    from gradcli.io.models import CLAIM_KINDS

    assert sorted(CHECKS) == sorted(CLAIM_KINDS)
    assert all(callable(check) for check in CHECKS.values())
