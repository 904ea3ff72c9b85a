"""Gradient descent (gradcli.train), its reports, and the `gradcli train` command."""

import io
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcli.io import spec as S

from gradcli.io import models
from gradcli.training import train as T
from gradcli.cli import app
from gradcli.errors import GradcliError, ShapeError, SpecError
from gradcli.language.expr import parse
from gradcli.render import train as R

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()

# A convex toy: least squares y ≈ w @ x + c over four examples (reduce mean); the features are orthogonal,
# so the Hessian is 2I and lr 0.2 shrinks the error by ρ = 0.6 a step. Exact fit: w = [1.5, 1], c = 0.5.
CONVEX = """\
name: least squares
data:
  x: [[1, 1], [1, -1], [-1, 1], [-1, -1]]
  y: [3.0, 1.0, 0.0, -2.0]
params:
  w: [[0.0, 0.0]]
  c: [0.0]
forward:
  yhat: w @ x + c
loss: (yhat - y)^2
train: {lr: 0.2, steps: 100}
"""


def net(text: str, file: str = "net.yaml") -> models.NetSpec:
    return S.load_text(textwrap.dedent(text), file)


def example(name: str) -> models.NetSpec:
    return S.load_net(EXAMPLES / name)


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> str:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


# ------------------------------------------------------------------------------------ loss and grads


def test_loss_and_grads_is_the_mean_over_examples_and_its_exact_gradient():
    spec = net(CONVEX)
    w, c = np.array([[0.5, -0.25]]), np.array([[0.1]])
    loss, grads = T.loss_and_grads(spec, {"w": w, "c": c})
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float)
    y = np.array([3.0, 1.0, 0.0, -2.0])
    r = X @ w.ravel() + c.item() - y
    assert loss == pytest.approx(np.mean(r ** 2), rel=1e-14)
    np.testing.assert_allclose(grads["w"], (2 * r @ X / 4).reshape(1, 2), rtol=1e-13)
    np.testing.assert_allclose(grads["c"], [[2 * r.mean()]], rtol=1e-13)
    assert grads["w"].shape == (1, 2) and grads["c"].shape == (1, 1)


def test_reduce_sum_is_n_times_reduce_mean():
    mean = net(CONVEX)
    summed = net(CONVEX.replace("  y: [3.0, 1.0, 0.0, -2.0]", "  y: [3.0, 1.0, 0.0, -2.0]\n  reduce: sum"))
    theta = {"w": np.array([[0.3, 0.7]]), "c": np.array([[-0.2]])}
    lm, gm = T.loss_and_grads(mean, theta)
    ls, gs = T.loss_and_grads(summed, theta)
    assert ls == pytest.approx(4 * lm, rel=1e-14)
    np.testing.assert_allclose(gs["w"], 4 * gm["w"], rtol=1e-14)


def test_grads_agree_with_central_differences_and_cover_inputs():
    spec = example("sheet000_tanh_layer.yaml")
    values = {n: np.array(spec.params[n] if n in spec.params else spec.inputs[n]) for n in spec.wrt}
    _, grads = T.loss_and_grads(spec, values)
    assert set(grads) == {"x", "W1", "W2", "b"}
    for name, value in values.items():
        for idx in np.ndindex(value.shape):
            h = 1e-6
            up, down = {k: v.copy() for k, v in values.items()}, {k: v.copy() for k, v in values.items()}
            up[name][idx] += h
            down[name][idx] -= h
            numeric = (T.loss_and_grads(spec, up)[0] - T.loss_and_grads(spec, down)[0]) / (2 * h)
            assert grads[name][idx] == pytest.approx(numeric, rel=1e-6, abs=1e-9), (name, idx)


def test_an_unused_param_gets_a_zero_gradient():
    spec = net("""\
        inputs: {x: 2.0}
        params: {w: 3.0, unused: [1.0, 2.0]}
        forward: {yhat: w * x}
        loss: yhat^2
        """)
    loss, grads = T.loss_and_grads(spec, {"w": spec.params["w"], "unused": spec.params["unused"]})
    assert loss == 36.0 and float(grads["w"]) == 24.0
    assert np.array_equal(grads["unused"], np.zeros((2, 1)))


def test_a_non_scalar_loss_is_a_shape_error_naming_the_loss():
    spec = net("""\
        inputs: {x: [1.0, 2.0]}
        params: {w: [[1.0, 0.0], [0.0, 1.0]]}
        forward: {yhat: w @ x}
        loss: yhat * 2
        train: {lr: 0.1, steps: 2}
        """)
    with pytest.raises(ShapeError) as info:
        T.train(spec)
    assert "scalar" in info.value.message and "(2, 1)" in info.value.message
    assert "loss" in info.value.where


def test_an_engine_error_names_the_definition_and_the_example():
    spec = net("""\
        data: {x: [[1, 2], [3, 4]], y: [1, 2]}
        params: {w: [[1.0, 2.0, 3.0]]}
        forward: {yhat: w @ x}
        loss: (yhat - y)^2
        train: {lr: 0.1, steps: 2}
        """)
    with pytest.raises(ShapeError) as info:
        T.train(spec)
    assert "forward.yhat" in info.value.where and "data example 0" in info.value.where


# --------------------------------------------------------------------------------------------- train


def test_training_reduces_the_loss_on_a_convex_toy_and_converges():
    r = T.train(net(CONVEX))
    assert len(r.loss_history) == 101 and r.steps_run == 100
    assert all(b <= a or b < 1e-28 for a, b in zip(r.loss_history, r.loss_history[1:]))  # lr < 1/λmax: monotone
    assert r.loss_history[1] == pytest.approx(0.36 * r.loss_history[0])  # the error shrinks by ρ = 0.6
    np.testing.assert_allclose(r.params["w"].ravel(), [1.5, 1.0], atol=1e-12)
    assert r.params["c"].item() == pytest.approx(0.5, abs=1e-12)
    assert r.final_loss < 1e-20 and r.converged and not r.diverged
    assert r.learns() and not r.fails_to_learn()
    assert r.trained == ["w", "c"] and r.reduce == "mean" and r.examples == 4


def test_lr_and_steps_override_the_train_section():
    r = T.train(net(CONVEX), lr=0.01, steps=7)
    assert (r.lr, r.steps, r.steps_run, len(r.loss_history)) == (0.01, 7, 7, 8)
    # one step by hand: θ1 = θ0 − lr ∇L(θ0)
    spec = net(CONVEX)
    _, g = T.loss_and_grads(spec, {"w": spec.params["w"], "c": spec.params["c"]})
    one = T.train(spec, lr=0.01, steps=1)
    np.testing.assert_allclose(one.params["w"], spec.params["w"] - 0.01 * g["w"], rtol=1e-15)
    assert one.last_step_norm == pytest.approx(0.01 * math.sqrt(np.sum(g["w"] ** 2) + np.sum(g["c"] ** 2)))


def test_train_does_not_change_the_spec():
    spec = net(CONVEX)
    before = {k: v.copy() for k, v in spec.params.items()}
    T.train(spec, steps=5)
    assert all(np.array_equal(spec.params[k], before[k]) for k in before)


def test_a_spec_without_train_needs_lr_and_steps():
    spec = net(CONVEX.replace("train: {lr: 0.2, steps: 100}\n", ""))
    with pytest.raises(SpecError) as info:
        T.train(spec, lr=0.1)
    assert "train" in info.value.where and "--steps" in info.value.message
    assert T.train(spec, lr=0.1, steps=3).steps_run == 3


@pytest.mark.parametrize("lr, steps, where", [(0.0, 3, "--lr"), (-1.0, 3, "--lr"), (math.inf, 3, "--lr"),
                                               (math.nan, 3, "--lr"), (0.1, 0, "--steps"),
                                               (0.1, models.MAX_STEPS + 1, "--steps")])
def test_bad_overrides_are_errors(lr, steps, where):
    with pytest.raises(GradcliError) as info:
        T.train(net(CONVEX), lr=lr, steps=steps)
    assert info.value.where == where


def test_diverges_for_a_too_large_learning_rate():
    r = T.train(example("sheet003_one_hidden_layer.yaml"), lr=40.0)
    assert r.diverged and not r.converged and not r.learns()
    assert r.steps_run < r.steps and "1e12" in r.divergence
    assert abs(r.final_loss) > 1e12 * max(r.initial_loss, 1)
    assert all(np.all(np.isfinite(v)) for v in r.params.values())


def test_overflow_in_the_engine_mid_run_is_divergence_not_an_error():
    spec = net("""\
        inputs: {x: 1.0}
        params: {w: 1.0}
        forward: {yhat: exp(w * x)}
        loss: -yhat
        train: {lr: 10.0, steps: 100}
        """)
    r = T.train(spec)
    assert r.diverged and r.steps_run < 100
    assert "overflow" in r.divergence or "1e12" in r.divergence
    assert all(math.isfinite(v) for v in r.loss_history)


def test_an_error_at_the_initial_parameters_is_bad_input():
    spec = net("""\
        inputs: {x: 1.0}
        params: {w: 800.0}
        forward: {yhat: exp(w * x)}
        loss: yhat
        train: {lr: 0.1, steps: 3}
        """)
    with pytest.raises(GradcliError):
        T.train(spec)


def test_progress_callable_gets_every_step():
    seen = []
    T.train(net(CONVEX), steps=5, progress=lambda done, total, label: seen.append((done, total)))
    assert seen == [(t, 5) for t in range(1, 6)]


def test_wrt_restricts_what_is_trained():
    spec = net(CONVEX.replace("train:", "wrt: [c]\ntrain:"))
    r = T.train(spec, steps=50)
    assert r.trained == ["c"] and list(r.params) == ["c"]
    assert r.params["c"].item() == pytest.approx(0.5, abs=1e-9)


# --------------------------------------------------------------------------------------- a function

QUADRATIC = parse("0.5*(a*w1^2 + b*w2^2)")


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.1, 10), b=st.floats(0.1, 10), eta=st.floats(0.01, 0.5), w1=st.floats(-3, 3),
       w2=st.floats(-3, 3), steps=st.integers(1, 30))
def test_gradient_descent_on_the_quadratic_scales_by_rho(a, b, eta, w1, w2, steps):
    """Sheet 002: w_i(t+1) = ρ_i w_i(t) with ρ1 = 1 − ηa, ρ2 = 1 − ηb."""
    r = T.train_function(QUADRATIC, {"w1": w1, "w2": w2}, {"a": a, "b": b}, eta, steps)
    if r.diverged:
        assert max(abs(1 - eta * a), abs(1 - eta * b)) > 1
        return
    assert float(r.params["w1"]) == pytest.approx((1 - eta * a) ** steps * w1, rel=1e-9, abs=1e-12)
    assert float(r.params["w2"]) == pytest.approx((1 - eta * b) ** steps * w2, rel=1e-9, abs=1e-12)
    assert r.loss_history[0] == pytest.approx(0.5 * (a * w1 ** 2 + b * w2 ** 2))


def test_quadratic_converges_below_two_over_max_and_diverges_above():
    ok = T.train_function(QUADRATIC, {"w1": 1, "w2": -1}, {"a": 10, "b": 1}, 0.19, 500)
    assert ok.converged and not ok.diverged and ok.holds("converges") and not ok.holds("diverges")
    bad = T.train_function(QUADRATIC, {"w1": 1, "w2": -1}, {"a": 10, "b": 1}, 0.25, 500)
    assert bad.diverged and bad.holds("diverges") and not bad.holds("converges")
    assert bad.steps_run < 500  # stopped early: |ρ1| = 1.5 passes 1e12× the start within ~70 steps
    slow = T.train_function(QUADRATIC, {"w1": 1, "w2": -1}, {"a": 1000, "b": 1}, 0.001, 500)
    assert not slow.converged and not slow.diverged  # ρ2 = 0.999: a/b large is slow (sheet 002)


def test_function_with_where_definitions_and_learns_needs_targets():
    r = T.train_function(parse("u^2"), {"w": 3.0}, {"c": 1.0}, 0.1, 200, where={"u": parse("w - c")})
    assert float(r.params["w"]) == pytest.approx(1.0, abs=1e-12) and r.converged
    assert r.kind == "function" and r.predictions == [] and r.symmetry == []
    with pytest.raises(GradcliError):
        r.learns()
    with pytest.raises(GradcliError):
        r.holds("flies")


# ------------------------------------------------------------------------------------ XOR and symmetry


def test_zero_init_xor_stays_symmetric_and_fails_to_learn():
    r = T.train(example("sheet001_xor_zero_init.yaml"))
    assert not r.diverged and r.symmetric and r.holds("symmetric")
    assert r.fails_to_learn() and r.holds("fails_to_learn") and not r.holds("learns")
    [group] = r.symmetric_units
    assert (group.weight, group.bias, group.next_weight, group.units) == ("W1", "b1", "W2", [0, 1])
    for name in ("W1", "b1", "W2"):
        assert np.array_equal(r.params[name], np.zeros_like(r.params[name]))  # only b2 moves (sheet 001 §4.3)
    assert r.params["b2"].item() == pytest.approx(0.5, abs=1e-9)
    assert [p.yhat.item() for p in r.predictions] == pytest.approx([0.5] * 4, abs=1e-9)
    [dead] = r.dead_relu_units
    assert dead.site == "h" and dead.units == [0, 1] and dead.hidden and dead.pre_activation == "W1 @ x + b1"


def test_random_init_xor_learns_and_breaks_symmetry():
    r = T.train(example("sheet001_xor_random_init.yaml"))
    assert r.learns() and r.holds("learns") and not r.diverged
    assert not r.symmetric and r.symmetric_units == []
    assert [round(p.yhat.item()) for p in r.predictions] == [0, 1, 1, 0]
    assert r.from_layers and r.forward == ["h1 = relu(W1 @ x + b1)", "yhat = W2 @ h1 + b2"]


def test_printed_xor_weights_fit_exactly():
    r = T.train(example("sheet001_xor_printed_weights.yaml"))
    assert r.loss_history == [0.0] * 101 and r.converged and r.learns(tol=1e-12)
    assert [p.yhat.item() for p in r.predictions] == [0, 1, 1, 0]
    assert r.dead_relu_units == []  # every unit is positive on some example


def test_zero_init_one_hidden_layer_keeps_all_four_units_identical():
    r = T.train(example("sheet003_zero_init.yaml"))
    assert r.symmetric
    [group] = r.symmetric_units
    assert group.weight == "W0" and group.bias == "b0" and group.next_weight == "W1" and group.units == [0, 1, 2, 3]
    w0 = r.params["W0"]
    assert np.abs(w0).max() > 1e-3  # the units moved, but together
    assert np.allclose(w0, w0[0], atol=1e-12, rtol=0)


def test_layer_structure_from_forward_and_from_layers():
    L = T.Layer
    assert T.layers(example("sheet002_two_layer_sigmoid.yaml")) == [L("W1", False, None, "W2", False, 4),
                                                                    L("W2", False, None, None, False, 2)]
    assert T.layers(example("sheet004_two_layer.yaml")) == [L("A", False, None, "b", True, 4),
                                                            L("b", True, None, None, False, 1)]
    assert T.layers(example("sheet000_sigmoid_sum.yaml")) == [L("W", False, "b", None, False, 3)]
    assert T.layers(example("sheet000_identity_layer.yaml")) == [L("W1", False, "b", "W2", False, 2),
                                                                 L("W2", False, None, None, False, 2)]
    assert T.layers(example("sheet001_xor_random_init.yaml")) == [L("W1", False, "b1", "W2", False, 8),
                                                                  L("W2", False, "b2", None, False, 1)]


def test_symmetry_needs_the_next_layers_columns_to_match_too():
    spec = net("""\
        inputs: {x: [1.0, 2.0], y: 1.0}
        params:
          W1: [[0.5, 0.5], [0.5, 0.5], [0.1, 0.2]]
          b1: [0.0, 0.0, 0.0]
          W2: [[1.0, 2.0, 1.0]]
        forward: {yhat: W2 @ tanh(W1 @ x + b1)}
        loss: (yhat - y)^2
        train: {lr: 0.1, steps: 20}
        """)
    r = T.train(spec)
    assert r.symmetry == [] and not r.symmetric  # rows 0 and 1 agree, but W2's columns 0 and 1 differ
    same = spec.params | {"W2": np.array([[1.0, 1.0, 3.0]])}
    assert [(g.units, g.still_identical) for g in T.symmetry_report(spec, same, same)] == [([0, 1], True)]


def test_symmetry_report_splits_groups_that_broke():
    spec = example("sheet003_zero_init.yaml")
    start = dict(spec.params)
    end = dict(spec.params)
    end["W0"] = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    report = T.symmetry_report(spec, start, end)
    assert [(g.units, g.still_identical) for g in report] == [([0, 1, 2, 3], False), ([0, 1, 3], True)]
    tiny = dict(end, W0=np.zeros((4, 2)) + np.array([[0.0], [1e-14], [0.0], [0.0]]))
    assert T.symmetry_report(spec, start, tiny)[0].still_identical  # identical to 1e-12


def test_dead_relu_units_are_those_non_positive_on_every_example():
    spec = net("""\
        data: {x: [[1, 0], [0, 1]], y: [0, 1]}
        params:
          W1: [[1, 1], [-1, -1], [1, -1]]
          b1: [0, 0, 0]
          W2: [[1, 1, 1]]
        forward:
          h: relu(W1 @ x + b1)
          yhat: relu(W2 @ h)
        loss: (yhat - y)^2
        train: {lr: 0.001, steps: 1}
        """)
    r = T.train(spec)
    by_site = {d.site: d for d in r.dead_relu}
    assert by_site["h"].units == [1] and by_site["h"].hidden  # unit 2 is −1 on x = (0, 1) but +1 on (1, 0)
    assert by_site["yhat"].units == [] and not by_site["yhat"].hidden


# ---------------------------------------------------------------------------------------- rendering


def test_loss_plot_and_sparkline_shapes():
    history = [10.0 * 0.9 ** t for t in range(300)]
    rows = R.loss_plot(history, width=40, height=6)
    assert len(rows) == 8 and "(log)" in rows[0] and rows[-1].rstrip().endswith("299  step")
    assert all(len(r.split("┤")[1]) == 40 for r in rows[:6])
    assert R.sparkline(history, width=40)[0] == "█" and R.sparkline(history, width=40)[-1] == "▁"
    flat = R.loss_plot([0.25] * 5, width=10, height=4)
    assert "(log)" not in flat[0]


def test_plain_values_follow_the_shape_convention():
    assert R.plain(np.array(2.5)) == 2.5
    assert R.plain(np.array([[1.0], [2.0]])) == [1.0, 2.0]
    assert R.plain(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]
    assert R.plain(np.array([[np.inf]])) == [None]


def test_table_says_diverged_loudly_and_shows_symmetry():
    from rich.console import Console

    def show(result) -> str:
        buf = io.StringIO()
        Console(file=buf, width=120, color_system=None).print(R.table(result))
        return buf.getvalue()

    out = show(T.train(example("sheet003_one_hidden_layer.yaml"), lr=40.0))
    assert "DIVERGED" in out and "try a smaller --lr" in out
    out = show(T.train(example("sheet001_xor_zero_init.yaml"), steps=50))
    assert "still identical after training: W1 rows 0, 1" in out and "dead" in out
    assert "fails to learn" in out and "first 0.5" in out


# --------------------------------------------------------------------------------------------- CLI

JSON_KEYS = {"file", "lr", "steps", "loss_history", "final_loss", "converged", "diverged", "params", "predictions",
             "symmetric_units", "dead_relu_units"}


def test_cli_json_has_the_contract_keys(tmp_path):
    result = runner.invoke(app, ["train", write(tmp_path, CONVEX), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert JSON_KEYS <= set(data)
    assert len(data["loss_history"]) == 101 and data["final_loss"] == data["loss_history"][-1]
    assert data["converged"] is True and data["diverged"] is False and data["learns"] is True
    assert data["params"]["c"] == [pytest.approx(0.5, abs=1e-9)] and data["params"]["w"] == [[pytest.approx(1.5),
                                                                                               pytest.approx(1.0)]]
    assert isinstance(data["params"]["w"][0], list) and len(data["predictions"]) == 4
    assert set(data["predictions"][0]) >= {"x", "y", "yhat", "error"}


def test_cli_overrides_lr_and_steps(tmp_path):
    result = runner.invoke(app, ["train", write(tmp_path, CONVEX), "--lr", "0.05", "--steps", "12", "--json"])
    data = json.loads(result.stdout)
    assert (data["lr"], data["steps"], len(data["loss_history"])) == (0.05, 12, 13)


def test_cli_diverging_run_is_exit_0_and_says_so(tmp_path):
    result = runner.invoke(app, ["train", str(EXAMPLES / "sheet003_one_hidden_layer.yaml"), "--lr", "40"])
    assert result.exit_code == 0 and "DIVERGED" in result.stdout
    result = runner.invoke(app, ["train", str(EXAMPLES / "sheet003_one_hidden_layer.yaml"), "--lr", "40", "--json"])
    data = json.loads(result.stdout)
    assert data["diverged"] is True and data["converged"] is False and data["divergence"]


def test_cli_zero_init_xor_json_reports_symmetry_and_dead_units():
    result = runner.invoke(app, ["train", str(EXAMPLES / "sheet001_xor_zero_init.yaml"), "--json", "--steps", "40"])
    data = json.loads(result.stdout)
    assert data["symmetric_units"] == [{"weight": "W1", "bias": "b1", "next": "W2", "units": [0, 1],
                                        "layer_size": 2, "transposed": False}]
    assert data["dead_relu_units"][0]["units"] == [0, 1] and data["learns"] is False


def test_cli_without_train_section_is_exit_2_naming_train(tmp_path):
    path = write(tmp_path, CONVEX.replace("train: {lr: 0.2, steps: 100}\n", ""))
    result = runner.invoke(app, ["train", path])
    assert result.exit_code == 2 and "train" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["train", path, "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "train" in error["where"] and "train:" in error["message"]
    assert runner.invoke(app, ["train", path, "--lr", "0.1", "--steps", "2"]).exit_code == 0


@pytest.mark.parametrize("args", [["--lr", "-1"], ["--steps", "0"], ["--lr", "nan"]])
def test_cli_bad_overrides_are_exit_2(tmp_path, args):
    result = runner.invoke(app, ["train", write(tmp_path, CONVEX), *args])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_cli_bad_files_are_exit_2(tmp_path):
    assert runner.invoke(app, ["train", str(tmp_path / "missing.yaml")]).exit_code == 2
    problem = write(tmp_path, "title: t\nfunction: x^2\nclaims: [{id: v, value: {at: {x: 1}}, claim: 1}]\n",
                    "problem.yaml")
    result = runner.invoke(app, ["train", problem, "--json"])
    assert result.exit_code == 2 and "problem file" in json.loads(result.stdout)["error"]["message"]


def test_cli_markdown_and_latex(tmp_path):
    path = write(tmp_path, CONVEX)
    md = runner.invoke(app, ["train", path, "--steps", "5", "--format", "markdown"])
    assert md.exit_code == 0 and "## Loss curve" in md.stdout and "| `w` |" in md.stdout
    tex = runner.invoke(app, ["train", path, "--steps", "5", "--format", "latex"])
    assert tex.exit_code == 0 and r"\begin{bmatrix}" in tex.stdout and r"\eta = 0.2" in tex.stdout


def test_cli_help_names_the_options():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for word in ("--lr", "--steps", "--json", "Example:"):
        assert word in result.stdout
