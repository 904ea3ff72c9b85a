"""`gradcli descent`: sheet 002 §2's quadratic against the closed form ρ_i = 1 − ηλ_i on both sides of
2/max(a, b), predicted against actual steps, local analysis of a non-quadratic, bindings, JSON, CLI."""

import json
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from gradcli.training import descent as D
from gradcli.cli import app
from gradcli.errors import BindingError, DomainError, GradcliError, ShapeError
from gradcli.render import descent as R

from tools import need_module

runner = CliRunner()
SHEET = "0.5*(a*w1^2 + b*w2^2)"


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def sheet(lr, a=10.0, b=1.0, steps=3000, tol=1e-8, start=(1.0, -1.0)):
    return D.descent(SHEET, {"w1": start[0], "w2": start[1]}, {"a": a, "b": b}, lr=lr, steps=steps, tol=tol)


# ------------------------------------------------------------------------------------- the closed form


@pytest.mark.parametrize("lr", [0.02, 0.1, 0.15, 2 / 11, 0.19, 0.199])
def test_below_two_over_max_it_converges_as_rho_predicts(lr):
    r = sheet(lr)
    a = r.analysis
    assert r.quadratic is True and r.local_start is None
    assert list(a.directions) == ["w1", "w2"]
    assert list(a.eigenvalues) == [10.0, 1.0]
    assert list(a.rho) == pytest.approx([1 - lr * 10, 1 - lr * 1], abs=1e-15)
    assert a.stable_lr_max == pytest.approx(2 / 10) and a.stable
    assert a.optimal_lr == pytest.approx(2 / 11) and a.optimal_rho == pytest.approx(9 / 11)
    assert r.converged and not r.diverged and r.prediction == "converges"
    assert abs(r.predicted_steps - r.actual_steps) <= 1
    assert r.prediction_agrees
    assert r.grad_norms[-1] <= 1e-8 < r.grad_norms[-2]


@pytest.mark.parametrize("lr", [0.201, 0.21, 0.25, 0.5, 1.5])
def test_above_two_over_max_it_diverges_as_rho_predicts(lr):
    r = sheet(lr)
    assert list(r.analysis.rho) == pytest.approx([1 - lr * 10, 1 - lr * 1], abs=1e-15)
    assert not r.analysis.stable and r.analysis.worst_rho == pytest.approx(abs(1 - 10 * lr))
    assert r.diverged and not r.converged and r.divergence
    assert r.prediction == "diverges" and r.predicted_steps is None and r.actual_steps is None
    assert r.prediction_agrees


def test_the_iterates_are_the_closed_form_rho_to_the_t():
    lr = 0.19
    r = sheet(lr, steps=150, tol=0)
    t = np.arange(r.steps_run + 1)
    assert np.allclose(r.points[:, 0], (1 - 10 * lr) ** t, rtol=1e-11, atol=0)
    assert np.allclose(r.points[:, 1], -(1 - lr) ** t, rtol=1e-11, atol=0)
    assert np.allclose(r.losses, 0.5 * (10 * r.points[:, 0] ** 2 + r.points[:, 1] ** 2), rtol=1e-14)


def test_the_sheets_example_takes_197_steps():
    r = sheet(0.19, steps=200)
    assert r.predicted_steps == r.actual_steps == 197  # 10·0.9^t ≤ 1e-8 first at t = 197


@settings(max_examples=12, deadline=None)
@given(a=st.floats(0.5, 20), b=st.floats(0.5, 20), fraction=st.floats(0.05, 0.97),
       w1=st.floats(-3, 3).filter(lambda v: abs(v) > 0.1), w2=st.floats(-3, 3).filter(lambda v: abs(v) > 0.1))
def test_any_stable_step_converges_within_one_step_of_the_prediction(a, b, fraction, w1, w2):
    lr = fraction * 2 / max(a, b)
    r = sheet(lr, a=a, b=b, steps=200_000, tol=1e-7, start=(w1, w2))
    assert list(r.analysis.rho) == pytest.approx([1 - lr * a, 1 - lr * b], abs=1e-14)
    assert r.converged and abs(r.predicted_steps - r.actual_steps) <= 1


@settings(max_examples=8, deadline=None)
@given(a=st.floats(0.5, 20), b=st.floats(0.5, 20), fraction=st.floats(1.05, 1.6))
def test_any_step_past_two_over_lambda_max_diverges(a, b, fraction):
    r = sheet(fraction * 2 / max(a, b), a=a, b=b, steps=20_000)
    assert r.diverged and r.prediction == "diverges"


def test_exactly_two_over_lambda_max_stalls():
    r = sheet(0.2, steps=500)
    assert r.analysis.rho[0] == pytest.approx(-1)
    assert r.prediction == "stalls" and not r.converged and not r.diverged and r.prediction_agrees
    assert np.allclose(np.abs(r.points[:, 0]), 1.0)  # w1 flips sign forever


def test_predicted_past_the_last_step_agrees_with_a_run_that_stops_short():
    r = sheet(0.199, steps=500)
    assert r.predicted_steps > 500 and not r.converged and not r.diverged and r.prediction_agrees


def test_uphill_over_the_whole_run_counts_as_diverged():
    r = D.descent("0.5*a*w^2", "w=1", "a=10", lr=0.21, steps=5)
    assert r.diverged and "grew" in r.divergence and r.steps_run == 5


def test_a_rotated_quadratic_uses_the_eigenvectors():
    r = D.descent("x^2 + y^2 + x*y - 3*x", "x=1,y=2", lr=0.1, steps=5000, tol=1e-9)
    a = r.analysis
    assert list(a.eigenvalues) == pytest.approx([1.0, 3.0])
    assert a.directions[0] in ("-0.7071*x + 0.7071*y", "0.7071*x - 0.7071*y")
    assert r.converged and abs(r.predicted_steps - r.actual_steps) <= 1
    assert r.final == pytest.approx({"x": 2.0, "y": -1.0}, abs=1e-8)  # the minimum of the shifted bowl
    assert r.hessian_formula == [["2", "1"], ["1", "2"]]


def test_a_non_quadratic_gets_the_local_hessian_at_start_and_end():
    r = D.descent("(w-2)^4 + exp(w)", "w=0", lr=0.01, steps=20000, tol=1e-10)
    assert r.quadratic is False and r.analysis is None and r.prediction is None
    assert r.local_start.eigenvalues[0] == pytest.approx(12 * 4 + 1)
    w = r.final["w"]
    assert r.local_end.eigenvalues[0] == pytest.approx(12 * (w - 2) ** 2 + math.exp(w))
    assert r.converged and abs(4 * (w - 2) ** 3 + math.exp(w)) <= 1e-10
    assert r.hessian is r.local_end


def test_relu_hessian_falls_back_to_finite_differences():
    r = D.descent("relu(w)^2 + 0.1*w^2", "w=1", lr=0.1, steps=3)
    assert r.local_start.source == "finite differences"
    assert r.local_start.eigenvalues[0] == pytest.approx(2.2, rel=1e-6)


def test_without_sympy_the_engine_computes_the_gradient(monkeypatch):
    from gradcli.symbolic import calculus as symbolic
    from gradcli.errors import TimeBoundError

    def too_slow(*args, **kwargs):
        raise TimeBoundError("too slow")

    monkeypatch.setattr(symbolic, "partial", too_slow)
    r = sheet(0.19, steps=200)
    assert r.gradient_source == "backprop" and r.quadratic is None and r.analysis is None
    assert r.converged and r.steps_run == 197  # the same run, step for step
    assert r.local_start.source == "finite differences"
    assert list(r.local_start.eigenvalues) == pytest.approx([10.0, 1.0], rel=1e-6)
    assert any("engine" in n for n in r.notes)


# ---------------------------------------------------------------------------------------- bindings


def test_named_start_makes_the_rest_constants_and_positional_at_binds_them():
    r = D.descent(SHEET, "w1=1,w2=-1", "10,1", lr=0.1, steps=2)
    assert r.constants == {"a": 10.0, "b": 1.0} and r.variables == ["w1", "w2"]
    assert "alphabetical" in r.binding_note


def test_named_at_makes_the_rest_trained():
    r = D.descent(SHEET, "1,-1", "a=10,b=1", lr=0.1, steps=2)
    assert r.start == {"w1": 1.0, "w2": -1.0}


@pytest.mark.parametrize("start, at", [("1,-1", "10,1"), ("w1=1,w2=-1", None), ("w1=1,q=2", "a=1,b=1"),
                                       ("w1=1,w2=-1", "a=1,b=2,c=3"), ("", "a=1"), ("1,2,3,4", "a=1,b=2,w1=0,w2=0")])
def test_bad_bindings(start, at):
    with pytest.raises(BindingError):
        D.descent(SHEET, start, at, lr=0.1, steps=2)


@pytest.mark.parametrize("kw", [{"lr": 0}, {"lr": -1}, {"lr": math.inf}, {"lr": 0.1, "steps": 0},
                                {"lr": 0.1, "tol": -1}, {"lr": 0.1, "steps": 10**9}])
def test_bad_settings(kw):
    with pytest.raises(GradcliError):
        D.descent("w^2", "w=1", **kw)


def test_start_outside_the_domain_and_non_scalar_functions():
    with pytest.raises(DomainError):
        D.descent("ln(w)", "w=-1", lr=0.1)
    with pytest.raises(ShapeError):
        D.descent("ones(2)*w", "w=1", lr=0.1)


# ---------------------------------------------------------------------------------------- output


def test_json_has_the_issue_keys_and_a_sampled_trajectory():
    r = sheet(0.05, steps=3000)
    data = json.loads(R.json_text(r))
    assert set(data) >= {"expression", "constants", "start", "lr", "steps", "trajectory", "final", "converged",
                         "diverged", "hessian_eigenvalues", "rho", "stable_lr_max", "optimal_lr", "predicted_steps",
                         "actual_steps"}
    assert data["constants"] == {"a": 10.0, "b": 1.0} and data["start"] == {"w1": 1.0, "w2": -1.0}
    assert data["rho"] == pytest.approx([0.5, 0.95]) and data["hessian_eigenvalues"] == [10.0, 1.0]
    traj = data["trajectory"]
    assert len(traj) <= R.JSON_POINTS and data["trajectory_sampled"]
    assert traj[0] == {"step": 0, "point": {"w1": 1.0, "w2": -1.0}, "loss": 5.5, "grad_norm": pytest.approx(101 ** 0.5)}
    assert traj[-1] == data["final"] and data["final"]["step"] == data["actual_steps"] == r.steps_run
    assert [t["step"] for t in traj] == sorted({t["step"] for t in traj})


def test_json_of_a_non_quadratic_keeps_start_and_end():
    data = json.loads(R.json_text(D.descent("w^4 + w^2", "w=1", lr=0.05, steps=100)))
    assert data["quadratic"] is False and data["predicted_steps"] is None
    assert data["local"]["start"]["eigenvalues"] == pytest.approx([14.0])
    assert data["hessian_eigenvalues"] == data["local"]["end"]["eigenvalues"]


def test_table_reports_rho_stability_and_the_prediction():
    text = R.table(sheet(0.19, steps=200))
    for piece in ("-0.9", "0.81", "2/λ_max = 0.2", "η* = 2/(λ_min + λ_max) = 0.18181818", "predicted steps",
                  "197", "prediction and run agree", "converged after 197 steps"):
        assert piece in text, piece
    assert R.table(sheet(0.25, steps=100)).count("diverged") >= 1


def test_markdown_report():
    md = R.markdown(sheet(0.19, steps=200))
    assert md.startswith("## Gradient descent on `0.5*(a*w1^2 + b*w2^2)`")
    assert "| `w1` | 10 | -0.9 |" in md


def test_landscape_is_the_function_on_a_grid_around_the_path():
    r = sheet(0.19, steps=50)
    land = D.landscape(r, resolution=21)
    assert land.kind == "contour" and land.z.shape == (21, 21)
    X, Y = np.meshgrid(land.x, land.y)
    assert np.allclose(land.z, 0.5 * (10 * X ** 2 + Y ** 2))
    assert land.x.min() < r.points[:, 0].min() and land.y.max() > r.points[:, 1].max()
    assert D.landscape(D.descent("w^2", "w=1", lr=0.1, steps=3)).kind == "curve"
    assert D.landscape(D.descent("x^2+y^2+z^2", "1,1,1", lr=0.1, steps=3)).kind == "loss"


# ------------------------------------------------------------------------------------------- CLI


def test_cli_sheet_example():
    r = invoke("descent", SHEET, "--at", "a=10,b=1", "--start", "w1=1,w2=-1", "--lr", "0.19", "--steps", "200")
    assert r.exit_code == 0, r.output
    assert "ρ = 1 − η·λ" in r.stdout and "-0.9" in r.stdout and "prediction and run agree" in r.stdout


def test_cli_json_equals_the_library():
    r = invoke("descent", SHEET, "--at", "a=10,b=1", "--start", "w1=1,w2=-1", "--lr", "0.21", "--steps", "300",
               "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data == json.loads(R.json_text(sheet(0.21, steps=300)))
    assert data["diverged"] and data["prediction"] == "diverges"


def test_cli_plot_writes_a_png_of_the_requested_size(tmp_path):
    need_module("matplotlib")
    path = tmp_path / "path.png"
    r = invoke("descent", SHEET, "--at", "a=10,b=1", "--start", "w1=1,w2=-1", "--lr", "0.19", "--plot", str(path),
               "--size", "600x450")
    assert r.exit_code == 0, r.output
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (600, 450)


def test_cli_missing_lr_is_a_usage_error():
    r = invoke("descent", SHEET, "--start", "w1=1,w2=-1", "--at", "a=10,b=1")
    assert r.exit_code == 2 and "--lr" in r.output


@pytest.mark.parametrize("args", [["--start", "w1=1,w2=-1", "--at", "a=10", "--lr", "0.1"],
                                  ["--start", "w1=1,w2=-1", "--at", "a=10,b=1", "--lr", "0.1", "--plot", "x.bmp"]])
def test_cli_bad_usage_exits_2(args, tmp_path):
    r = invoke("descent", SHEET, *args, "--json")
    assert r.exit_code == 2
    assert set(json.loads(r.stdout)) == {"error"}
